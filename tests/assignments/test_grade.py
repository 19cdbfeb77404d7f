"""assignments/grade.py: unreadable files, the wall-clock limit and discovery (the mixed folder: test_hostile.py)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import psutil
import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments import grade as B_grade
from tsfmicro_lite.assignments.catalog import get_assignment
from tsfmicro_lite.assignments.grade import grade_notebook


def _tiny(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


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


@pytest.mark.slow
def test_without_a_sandbox_the_grader_says_so_and_still_judges_outside(tmp_path: Path):
    import csv
    import os
    import subprocess
    import sys

    nb = _tiny("import numpy as np\nfrom tsfmicro_lite import metrics\n"
               "def uf1(a, b):\n    return metrics.uf1(a, b)\n"                 # a wrapper: still 0
               "def uar(y_true, y_pred):\n"
               "    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))")
    nb.metadata["tsfmicro_assignment"] = {"id": "A4"}
    (tmp_path / "subs").mkdir()
    nbformat.write(nb, tmp_path / "subs" / "ann.ipynb")
    env = {**os.environ, "TSFMICRO_NO_SANDBOX": "1"}
    r = subprocess.run([sys.executable, "-m", "tsfmicro_lite.cli", "assignments", "grade", str(tmp_path / "subs"),
                        "--timeout", "120", "--cell-timeout", "30"], capture_output=True, text=True, env=env,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning: NO SANDBOX (disabled by $TSFMICRO_NO_SANDBOX" in r.stdout      # then: uid 65534 or limits
    row = next(csv.DictReader((tmp_path / "subs" / "_grades" / "grades.csv").open()))
    assert row["isolation"].startswith("NO SANDBOX (disabled by $TSFMICRO_NO_SANDBOX")
    assert (float(row["A4.1"]), float(row["A4.2"])) == (0.0, 1.0), row
    assert "called the reference" in row["flags"]
