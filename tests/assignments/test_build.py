"""assignments/build.py: student notebooks are up to date and generated from the solutions' markers."""
from __future__ import annotations

from pathlib import Path

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


def test_solutions_are_outside_the_student_folder_and_the_package():
    sol, stu = B.solutions_dir().resolve(), B.assignments_dir().resolve()
    pkg = Path(B.__file__).resolve().parents[1]
    assert stu not in sol.parents and sol != stu and pkg not in sol.parents
    assert not list(stu.rglob("*solution*")), "a solutions folder is back in the student folder"


def test_release_writes_only_what_students_get(tmp_path: Path):
    from tsfmicro_lite.cli import main

    assert main(["assignments", "release", str(tmp_path / "handout")]) == 0
    files = sorted(p.name for p in (tmp_path / "handout").iterdir())
    assert files == sorted([a.filename for a in ASSIGNMENTS] + ["README.md"])
    text = "".join((tmp_path / "handout" / f).read_text() for f in files)
    assert "BEGIN SOLUTION" not in text and "For instructors" not in text and "For students" in text


def test_build_from_an_instructors_own_variants(tmp_path: Path):
    src, dst = tmp_path / "mine", tmp_path / "out"
    src.mkdir()
    sol = nbformat.read(B.solutions_dir() / "A4_evaluation.ipynb", as_version=4)
    sol.cells[0].source += "\n\nCourse variant 2026."
    nbformat.write(sol, src / "A4_evaluation.ipynb")
    results = B.build(src=src, dst=dst)
    assert [r.student for r in results] == [dst / "A4_evaluation.ipynb"]
    assert "Course variant 2026." in (dst / "A4_evaluation.ipynb").read_text()
