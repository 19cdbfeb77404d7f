"""``tsfmicro doctor``: is this machine ready to run the kit? One line per check, non-zero exit if not.

It sits in the CLI layer (``run_doctor`` is also called by notebook 00). Each check imports its
library inside the check, so a missing or broken one is reported as a failed line, not a crash.
"""
from __future__ import annotations

import argparse
import platform
import sys
from typing import Callable

from .utils.model_files import landmark_model_path
from .utils.paths import cache_dir


def _check_torch() -> str:
    import torch  # lazy: a broken torch install must fail this check only

    line = f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    if torch.cuda.is_available():
        line += f", CUDA {torch.version.cuda}, GPU: {torch.cuda.get_device_name(0)}"
    else:
        line += ", no CUDA GPU (CPU training; use the quick profiles)"
    return line


def _check_dlib() -> str:
    import dlib  # lazy: optional heavy library, checked here

    dlib.get_frontal_face_detector()
    return f"dlib {dlib.__version__} (HOG face detector ok)"


def _check_opencv() -> str:
    import cv2  # lazy: optional heavy library, checked here

    if not hasattr(cv2, "CascadeClassifier"):
        raise RuntimeError(f"OpenCV {cv2.__version__} has no CascadeClassifier (OpenCV 5?): pin opencv<5")
    return f"opencv {cv2.__version__}"


def _check_landmarks() -> str:
    import dlib  # lazy: optional heavy library, checked here

    path = landmark_model_path()
    dlib.shape_predictor(str(path))
    return f"68-point landmark model loads ({path})"


def _check_cache() -> str:
    path = cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    probe = path / ".doctor-write-test"
    probe.write_text("ok")
    probe.unlink()
    return f"data cache {path} (writable; set $TSFMICRO_CACHE to move it)"


def _check_notebooks() -> str:
    import ipywidgets  # lazy: notebook-only dependency, checked here
    import papermill  # lazy: notebook-only dependency, checked here

    return f"papermill {papermill.__version__}, ipywidgets {ipywidgets.__version__}"


CHECKS: list[tuple[str, Callable[[], str]]] = [
    ("torch", _check_torch),
    ("dlib", _check_dlib),
    ("opencv", _check_opencv),
    ("landmarks", _check_landmarks),
    ("cache", _check_cache),
    ("notebooks", _check_notebooks),
]


def run_doctor(out=sys.stdout) -> int:
    """Run every check, print one line each, return the number that failed."""
    print(f"python {platform.python_version()} ({sys.executable})", file=out)
    failed = 0
    for name, check in CHECKS:
        try:
            print(f"  ok    {name:10s} {check()}", file=out)
        except Exception as exc:  # report every broken piece, not just the first
            failed += 1
            print(f"  FAIL  {name:10s} {type(exc).__name__}: {exc}", file=out)
    print("all checks passed" if not failed else f"{failed} check(s) failed", file=out)
    return failed


def _run(args: argparse.Namespace) -> int:
    return 1 if run_doctor() else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tsfmicro doctor``."""
    parser = subparsers.add_parser("doctor", help="check versions, models, GPU and cache")
    parser.set_defaults(func=_run)
