"""Build the static course website (``make site``): Sphinx + MyST-NB over the executed notebooks.

    python tools/build_site.py                 # execute stale/missing notebooks (quick profile), then build
    python tools/build_site.py --no-execute    # only build; fails naming the notebook that is not executed
    python tools/build_site.py --keep-stale    # reuse executed copies even if older than their source (tests)

1. every course notebook ``notebooks/NN_*.ipynb`` must have an executed copy in ``--executed``
   (default ``build/executed``, where ``tests/integration/test_notebooks.py`` leaves them); a missing copy
   or one older than its source is executed with papermill in the quick profile (figures go to
   ``build/figures``, so the tracked ``figures/`` stay untouched);
2. ``docs/site/conf.py`` and ``docs/site/index.md``, the README and ``figures/``, the executed notebooks and the
   assignments' student copies (``notebooks/assignments/``) are staged in ``build/site-src``;
3. ``sphinx-build -b html`` writes the site to ``--out`` (default ``build/site``; open ``index.html``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def course_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def ensure_executed(executed: Path, execute: bool, keep_stale: bool = False) -> list[Path]:
    """The executed copy of every course notebook, executing (papermill, quick profile) those missing or
    stale (older than the source; ``keep_stale``: only the missing ones)."""
    out = []
    for src in course_notebooks():
        dst = executed / src.name
        stale = not dst.exists() or (not keep_stale and dst.stat().st_mtime < src.stat().st_mtime)
        if stale and not execute:
            raise SystemExit(f"{dst} is missing or older than {src}: run the notebook tests "
                             "(pytest tests/integration/test_notebooks.py) or drop --no-execute.")
        if stale:
            import papermill as pm  # lazy: only needed when a notebook has to be executed

            os.environ.setdefault("TSFMICRO_FIGURES", str(ROOT / "build" / "figures"))
            os.environ.setdefault("TSFMICRO_QUIET", "1")
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"   # figures inline in the copy
            print(f"executing {src.name} (quick profile) -> {dst}", flush=True)
            executed.mkdir(parents=True, exist_ok=True)
            pm.execute_notebook(str(src), str(dst), parameters={"PROFILE": "quick"}, cwd=str(NOTEBOOKS),
                                kernel_name="python3", progress_bar=False, execution_timeout=900)
        out.append(dst)
    return out


def stage(executed: list[Path], src_dir: Path) -> None:
    """Lay out the Sphinx source tree: config, index, README + figures, notebooks, student copies."""
    if src_dir.exists():
        shutil.rmtree(src_dir)
    (src_dir / "notebooks" / "assignments").mkdir(parents=True)
    for name in ("conf.py", "index.md"):
        shutil.copyfile(ROOT / "docs" / "site" / name, src_dir / name)
    shutil.copyfile(ROOT / "README.md", src_dir / "README.md")
    shutil.copytree(ROOT / "figures", src_dir / "figures")
    for nb in executed:
        shutil.copyfile(nb, src_dir / "notebooks" / nb.name)
    student = NOTEBOOKS / "assignments"
    for path in [student / "README.md", *sorted(student.glob("*.ipynb"))]:   # not solutions/
        shutil.copyfile(path, src_dir / "notebooks" / "assignments" / path.name)


def build(src_dir: Path, out: Path) -> Path:
    """``sphinx-build -b html`` into a temporary sibling of ``out``, moved into place when it succeeds."""
    sys.path.insert(0, str(ROOT))
    from tsfmicro_lite.utils.io import atomic_directory  # lazy: the kit is importable only once installed

    with atomic_directory(out) as tmp:
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(src_dir.parent / "site-doctrees"),
               str(src_dir), str(tmp)]
        done = subprocess.run(cmd, cwd=src_dir, text=True, capture_output=True)
        (src_dir.parent / "site-warnings.txt").write_text(done.stderr)
        if done.returncode:
            raise SystemExit(f"sphinx-build failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, default=ROOT / "build" / "executed")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--no-execute", dest="execute", action="store_false",
                        help="fail instead of executing a missing or stale notebook")
    parser.add_argument("--keep-stale", action="store_true",
                        help="use executed copies older than their source (execute only the missing ones)")
    args = parser.parse_args(argv)
    executed = ensure_executed(args.executed.resolve(), args.execute, args.keep_stale)
    src_dir = ROOT / "build" / "site-src"
    stage(executed, src_dir)
    index = build(src_dir, args.out.resolve())
    print(f"course website: {index} ({len(executed)} notebooks; Sphinx warnings in "
          f"{src_dir.parent / 'site-warnings.txt'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
