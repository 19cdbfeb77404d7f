"""assignments/build.py: student notebooks are up to date and generated from the solutions' markers."""
from __future__ import annotations

import nbformat
import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments.catalog import ASSIGNMENTS

SOLUTIONS = sorted(B.solutions_dir().glob("A*.ipynb"))


def test_every_catalog_assignment_has_a_solution_notebook():
    have = {p.stem for p in SOLUTIONS}
    missing = [a.slug for a in ASSIGNMENTS if a.slug not in have]
    assert len(have) >= 4 and not missing, f"solution notebooks missing for {missing}"


def test_committed_student_versions_are_not_stale():
    stale = [r.student.name for r in B.build(check_only=True) if r.changed]
    assert not stale, f"{stale} differ from what their solutions generate: run `tsfmicro assignments build`"


def test_strip_code_replaces_blocks_with_task_stub():
    src = "def f(x):\n    ### BEGIN SOLUTION A4.1\n    return x + 1\n    ### END SOLUTION\n\nprint(f)"
    out = B.strip_code(src, "nb cell 3")
    assert "return x + 1" not in out
    assert '    raise NotImplementedError("A4.1: return the unweighted F1' in out
    assert out.endswith("print(f)")


@pytest.mark.parametrize("src, match", [
    ("### BEGIN SOLUTION A4.1\nx = 1\n", r"nb cell 3: solution block A4.1 is never closed"),
    ("x = 1\n### END SOLUTION\n", r"nb cell 3 line 2: END SOLUTION without a BEGIN"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", r"needs an exercise id"),
    ("### BEGIN SOLUTION A9.9\n### END SOLUTION\n", r"unknown assignment 'A9'"),
])
def test_strip_code_errors_name_the_cell_and_line(src, match):
    with pytest.raises((B.SolutionMarkerError, KeyError), match=match):
        B.strip_code(src, "nb cell 3")


def test_student_version_clears_markdown_answers_and_records_source():
    sol = nbformat.read(B.solutions_dir() / "A4_evaluation.ipynb", as_version=4)
    stu = B.student_version(sol, "A4_evaluation", "A4_evaluation.ipynb")
    text = nbformat.writes(stu)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert B.MD_ANSWER in text
    assert stu.metadata["tsfmicro_assignment"]["id"] == "A4"
