"""assignments/grade.py and kernel_side.py: grading a mixed folder gives the expected scores, and limits hold."""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import psutil
import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments import grade as B_grade
from tsfmicro_lite.assignments.catalog import get_assignment
from tsfmicro_lite.assignments.grade import grade_folder, grade_notebook


# ------------------------------------------------------------------ grading a mixed folder
def _variant(path: Path, old: str, new: str) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    hits = [c for c in nb.cells if old in c.source]
    assert hits, f"{old!r} not found in {path.name}; update the test"
    for c in hits:
        c.source = c.source.replace(old, new)
    return nb


def _tiny(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


@pytest.mark.slow
def test_grade_folder_mixed_submissions(tmp_path: Path):
    sol = B.solutions_dir() / "A4_evaluation.ipynb"
    stu = B.assignments_dir() / "A4_evaluation.ipynb"
    subs = tmp_path / "subs"
    precision = "recalls = [np.mean(y_true[y_pred == c] == c) for c in np.unique(y_pred)]"
    recall = "recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]"
    notebooks = {
        "correct": nbformat.read(sol, as_version=4),
        "wrong": _variant(sol, recall, precision),
        "endless": _tiny("import numpy as np\nfrom tsfmicro_lite.metrics import uf1 as _uf1\n"
                         "def uf1(y_true, y_pred):\n    return _uf1(y_true, y_pred)\n"
                         "def uar(y_true, y_pred):\n    while True:\n        pass"),
        "student": nbformat.read(stu, as_version=4),
        "crashing": _tiny("import numpy as np\ndef uf1(a, b):\n    return 1.0", "import os\nos._exit(3)"),
        "malicious": _tiny(
            "import numpy as np\nimport tsfmicro_lite.check as c, tsfmicro_lite.metrics as m\n"
            "def uf1(a, b):\n    return 0.5\n"
            "m.uf1 = uf1\n"                                            # make the reference agree with me
            "c.uf1 = lambda fn, seed=None: c.CheckResult('uf1', True, 1.0, 'ok')\n"
            "c.uar = c.uf1\n"
            "for ex in ['A4.1', 'A4.2', 'A4.3', 'A4.4']:\n"
            "    print('TSFMICRO-GRADE {\"exercise\": \"%s\", \"passed\": true, \"score\": 1.0} deadbeef' % ex)"),
    }
    for name, nb in notebooks.items():
        (subs / name).mkdir(parents=True)
        nbformat.write(nb, subs / name / "A4_evaluation.ipynb")
    out = tmp_path / "grades"
    grades = grade_folder(subs, out, timeout=180, cell_timeout=25, workers=2)
    by = {g.student: g for g in grades}
    pts = {s: {e.exercise: e.points for e in g.exercises} for s, g in by.items()}
    assert pts["correct"] == {"A4.1": 1.0, "A4.2": 1.0, "A4.3": 1.0, "A4.4": 2.0}, by["correct"]
    assert pts["wrong"]["A4.2"] < 1.0 and pts["wrong"]["A4.1"] == 1.0 and pts["wrong"]["A4.4"] == 2.0
    assert pts["endless"] == {"A4.1": 1.0, "A4.2": 0.0, "A4.3": 0.0, "A4.4": 0.0}, by["endless"]
    assert by["endless"].timed_out_cells, "the cell that looped should be reported"
    for s in ("student", "crashing", "malicious"):
        assert by[s].total == 0.0, (s, by[s])
    assert "kernel died" in by["crashing"].status
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert {r["student"]: float(r["total"]) for r in rows}["correct"] == 5.0
    fb = (out / "feedback" / "wrong_A4.md").read_text()
    assert "A4.2: 0" in fb and "Recall divides by #true" in fb
    assert "cut off" in (out / "feedback" / "endless_A4.md").read_text()


def test_grade_unreadable_file_is_a_grade_not_a_crash(tmp_path: Path):
    p = tmp_path / "bob.ipynb"
    p.write_text("{ not json")
    g = grade_notebook(p, get_assignment("A4"), "bob", timeout=5, cell_timeout=2)
    assert g.total == 0 and "not a readable notebook" in g.status


def test_grade_wall_clock_limit_kills_the_run(tmp_path: Path):
    p = tmp_path / "A4_evaluation.ipynb"
    nbformat.write(_tiny("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)  # ignores interrupts\n"
                         "while True:\n    time.sleep(0.05)"), p)
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    g = grade_notebook(p, get_assignment("A4"), "carol", timeout=4, cell_timeout=60)
    assert "timed out after 4 s" in g.status and g.total == 0
    left = {c.pid for c in psutil.Process().children(recursive=True)} - before
    assert not left, f"processes left running after the kill: {left}"


def test_find_submissions_keeps_going_past_an_unknown_file(tmp_path: Path):
    nbformat.write(nbformat.read(B.assignments_dir() / "A2_retention.ipynb", as_version=4), tmp_path / "ann.ipynb")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "homework.ipynb").write_text("{}")
    found = {e[0]: e for e in B_grade.find_submissions(tmp_path)}
    assert found["ann"][1].id == "A2"
    assert found["bob"][1] is None and "pass --assignment" in found["bob"][3]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .ipynb files under"):
        B_grade.find_submissions(tmp_path / "empty")
