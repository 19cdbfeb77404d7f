"""``tsfmicro assignments build`` and ``grade``: student notebooks from solutions, and grading a folder.

``release DST`` writes the folder an instructor hands out (student notebooks + the students' README).
"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def _build(args: argparse.Namespace) -> int:
    from ..assignments.build import build  # lazy: nbformat and the checks cost ~3 s; `tsfmicro --help` stays fast

    try:
        results = build(args.assignment or None, src=args.src, dst=args.dst, check_only=args.check)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    for r in results:
        state = ("STALE" if args.check else "written") if r.changed else "up to date"
        print(f"{r.student}: {state} (from {r.solution})")
    if args.check and any(r.changed for r in results):
        print("Student notebooks are stale: run `tsfmicro assignments build`.")
        return 1
    return 0


def _release(args: argparse.Namespace) -> int:
    from ..assignments.build import release  # lazy: as in _build

    try:
        written = release(Path(args.dst), src=args.src, slugs=args.assignment or None)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    print(f"{len(written)} files written to {args.dst} (hand out this folder; no solutions in it)")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from ..assignments.grade import grade_folder  # lazy: as in _build
    from ..assignments.sandbox import RootRefused  # lazy: as in _build

    out = Path(args.out or Path(args.submissions) / "_grades")
    try:
        grades = grade_folder(Path(args.submissions), out, assignment=args.assignment, timeout=args.timeout,
                              cell_timeout=args.cell_timeout, workers=args.workers, allow_root=args.allow_root)
    except (FileNotFoundError, KeyError, RootRefused) as exc:
        print(f"error: {exc}")
        return 2
    isolation = sorted({g.isolation for g in grades if g.isolation})
    for line in isolation:
        print(("warning: " if line.startswith("NO SANDBOX") else "isolation: ") + line)
    for g in grades:
        flags = f"  [{'; '.join(g.flags)}]" if g.flags else ""
        if g.sandbox_flags:
            flags += f"  [reported by the sandbox: {'; '.join(g.sandbox_flags)}]"
        print(f"{g.student:20s} {g.assignment} {g.total:5.2f}/{g.max_total:g}  {g.status}{flags}")
    print(f"scores: {out / 'grades.csv'}; feedback: {out / 'feedback'}/")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tsfmicro assignments build`` and ``tsfmicro assignments grade``."""
    p = subparsers.add_parser("assignments", help="build student notebooks, grade submissions")
    sub = p.add_subparsers(dest="assignments_command", metavar="ACTION")
    b = sub.add_parser("build", help="generate student notebooks from solution notebooks")
    b.add_argument("assignment", nargs="*", help="ids or slugs (default: all)")
    b.add_argument("--src", type=Path, help="solution notebooks (default: the kit's instructor/assignments/)")
    b.add_argument("--dst", type=Path, help="where student copies go (default: the kit's notebooks/assignments/)")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 if a student version is stale")
    b.set_defaults(func=_build)
    r = sub.add_parser("release", help="write the folder students receive (notebooks + README, no solutions)")
    r.add_argument("dst", help="new folder to hand out")
    r.add_argument("assignment", nargs="*", help="ids or slugs (default: all)")
    r.add_argument("--src", type=Path, help="solution notebooks (default: the kit's instructor/assignments/)")
    r.set_defaults(func=_release)
    g = sub.add_parser("grade", help="run each submission in a sandbox, judge it outside, write grades.csv")
    g.add_argument("submissions", help="folder of <student>/<assignment>.ipynb or <student>.ipynb")
    g.add_argument("--assignment", help="force the assignment id (default: from each notebook's metadata)")
    g.add_argument("--out", help="output folder (default: SUBMISSIONS/_grades)")
    g.add_argument("--timeout", type=float, default=300.0, help="wall-clock limit per notebook, s")
    g.add_argument("--cell-timeout", type=float, default=60.0, help="limit per cell before interrupting, s")
    g.add_argument("--workers", type=int, default=1, help="notebooks graded at once (each in its own sandbox)")
    g.add_argument("--allow-root", action="store_true",
                   help="where no sandbox and no uid 65534 can run, run submissions as root anyway (else refused)")
    g.set_defaults(func=_grade)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
