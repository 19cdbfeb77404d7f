"""``tsfmicro prepare``: align, crop and cache a dataset's onset/apex inputs from the shell (2 threads).

Same code as notebook 01 (``prepare(load_dataset(...), PrepConfig(...))``); a second run reads the cache.
``--faces dataset`` takes the release's own crops (CASME II ``Cropped/``) and resizes them as the official
code does (spec §1) instead of aligning with dlib.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .choices import DATASETS, FACES, SYNTH_PROFILES

__all__ = ["register"]


def _prepare(args: argparse.Namespace) -> int:
    from ..data import DatasetError, load_dataset  # lazy: pandas, cv2 and the pipeline; not for --help
    from ..preprocess.faces import FaceNotFoundError, FrameReadError  # lazy: as above
    from ..preprocess.pipeline import CacheError, PrepConfig, prepare  # lazy: as above
    from ..synth import make_synthme  # lazy: as above

    try:
        root = args.root
        if args.dataset == "synthme" and root is None:
            root = make_synthme(profile=args.synth_profile)
        layout = "cropped" if args.faces == "dataset" else "auto"
        df = load_dataset(args.dataset, root, classes=args.classes, sheet=args.sheet, layout=layout)
        config = PrepConfig(size=args.size, margin=args.margin, detector=args.detector, upsample=args.upsample,
                            motion=args.motion, flow_method=args.flow_method, keep_candidates=args.keep_candidates,
                            fallbacks=tuple(f for f in args.fallbacks.split(",") if f), faces=args.faces)
        prepared = prepare(df, config, cache_dir=args.cache_dir, workers=args.workers, progress=True)
    except (DatasetError, FaceNotFoundError, FrameReadError, FileNotFoundError, ValueError, CacheError) as exc:
        print(f"error: {exc}")
        if args.faces == "dataset" and isinstance(exc, DatasetError):
            print("hint: --faces dataset reads the release's own face crops (a folder named *Cropped* under --root); "
                  "without them use --faces align (the kit's dlib alignment).")
        return 1
    print(prepared.summary())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tsfmicro prepare``."""
    p = subparsers.add_parser("prepare", help="detect, align and crop every clip's onset/apex (cached)",
                              description=__doc__)
    p.add_argument("--dataset", required=True, help=" | ".join(DATASETS))
    p.add_argument("--root", type=Path, default=None, help="dataset folder (synthme: optional, generated)")
    p.add_argument("--synth-profile", "--profile", dest="synth_profile", default="quick",
                   choices=SYNTH_PROFILES, help="SynthME data size when --root is not given")
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--sheet", type=Path, default=None, help="annotation sheet, if not found by name")
    p.add_argument("--size", type=int, default=224, help="side of the aligned crops (paper: 224)")
    p.add_argument("--margin", type=float, default=0.2, help="space around the face box, fraction of its width")
    p.add_argument("--detector", default="hog", choices=["hog", "cnn"])
    p.add_argument("--upsample", type=int, default=1)
    p.add_argument("--motion", default="diff", choices=["diff", "flow", "strain", "all"])
    p.add_argument("--flow-method", default="farneback", choices=["farneback", "dis", "tvl1"])
    p.add_argument("--faces", default="align", choices=FACES,
                   help="align: detect and align with dlib (the kit's default); dataset: the release's own crops, "
                        "resized as the official code (PIL bilinear to --size)")
    p.add_argument("--keep-candidates", action="store_true",
                   help="also store the frames the training-time frame-pair search may pick")
    p.add_argument("--fallbacks", default="haar,landmarks,crop",
                   help="comma list tried in order when dlib finds no face (empty: none)")
    p.add_argument("--workers", type=int, default=None, help="worker threads (default: up to 2, one per core)")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: <TSFMICRO_CACHE>/prepared")
    p.set_defaults(func=_prepare)
