"""``tsfmicro assignments build`` and ``grade``: student notebooks from solutions, and grading a folder."""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def _build(args: argparse.Namespace) -> int:
    from ..assignments.build import build  # lazy: nbformat and the checks cost ~3 s; `tsfmicro --help` stays fast

    results = build(args.assignment or None, check_only=args.check)
    for r in results:
        state = ("STALE" if args.check else "written") if r.changed else "up to date"
        print(f"{r.student.name}: {state} (from solutions/{r.solution.name})")
    if args.check and any(r.changed for r in results):
        print("Student notebooks are stale: run `tsfmicro assignments build`.")
        return 1
    return 0


def _grade(args: argparse.Namespace) -> int:
    from ..assignments.grade import grade_folder  # lazy: as in _build

    out = Path(args.out or Path(args.submissions) / "_grades")
    try:
        grades = grade_folder(Path(args.submissions), out, assignment=args.assignment, timeout=args.timeout,
                              cell_timeout=args.cell_timeout, workers=args.workers)
    except (FileNotFoundError, KeyError) as exc:
        print(f"error: {exc}")
        return 2
    for g in grades:
        print(f"{g.student:20s} {g.assignment} {g.total:5.2f}/{g.max_total:g}  {g.status}")
    print(f"scores: {out / 'grades.csv'}; feedback: {out / 'feedback'}/")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tsfmicro assignments build`` and ``tsfmicro assignments grade``."""
    p = subparsers.add_parser("assignments", help="build student notebooks, grade submissions")
    sub = p.add_subparsers(dest="assignments_command", metavar="ACTION")
    b = sub.add_parser("build", help="generate notebooks/assignments/*.ipynb from solutions/")
    b.add_argument("assignment", nargs="*", help="ids or slugs (default: all)")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 if a student version is stale")
    b.set_defaults(func=_build)
    g = sub.add_parser("grade", help="execute each submission in isolation and write grades.csv + feedback")
    g.add_argument("submissions", help="folder of <student>/<assignment>.ipynb or <student>.ipynb")
    g.add_argument("--assignment", help="force the assignment id (default: from each notebook's metadata)")
    g.add_argument("--out", help="output folder (default: SUBMISSIONS/_grades)")
    g.add_argument("--timeout", type=float, default=300.0, help="wall-clock limit per notebook, s")
    g.add_argument("--cell-timeout", type=float, default=60.0, help="limit per cell before interrupting, s")
    g.add_argument("--workers", type=int, default=1, help="notebooks graded at once (1 = safest)")
    g.set_defaults(func=_grade)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
