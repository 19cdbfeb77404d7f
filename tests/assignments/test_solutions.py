"""assignments/checks/a*_*.py on the real notebooks: every solution passes its checks, every student stub fails."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import matplotlib
import nbformat
import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments.catalog import get_assignment
from tsfmicro_lite.assignments.checks import CheckResult, get_check

SOLUTIONS = sorted(B.solutions_dir().glob("A*.ipynb"))


def _exec_notebook(path: Path) -> dict:
    """Run a notebook's code cells in one namespace, in process; a cell that raises is skipped."""
    matplotlib.use("Agg")
    nb = nbformat.read(path, as_version=4)
    ns: dict = {"__name__": "__assignment__"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(cell.source, str(path), "exec"), ns)
            except Exception:  # noqa: BLE001 - a student's stub raises NotImplementedError here
                pass
    return ns


def _run_checks(slug: str, ns: dict) -> dict[str, CheckResult]:
    out = {}
    for ex in get_assignment(slug).exercises:
        fn = get_check(ex.id)
        missing = [n for n in (*ex.symbols, *ex.kwargs.values()) if n not in ns]
        if missing:
            out[ex.id] = CheckResult(fn.__name__, False, 0.0, f"{missing} undefined")
            continue
        out[ex.id] = fn(*[ns[n] for n in ex.symbols], **{k: ns[v] for k, v in ex.kwargs.items()}, seed=7)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_and_student_version_fails(path: Path):
    solved = _run_checks(path.stem, _exec_notebook(path))
    assert all(r.passed for r in solved.values()), {k: str(r) for k, r in solved.items() if not r.passed}
    student = _run_checks(path.stem, _exec_notebook(B.assignments_dir() / path.name))
    assert not any(r.passed for r in student.values()), {k: str(r) for k, r in student.items() if r.passed}
    assert all(r.score == 0.0 for r in student.values())
