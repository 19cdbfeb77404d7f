"""Assignments: student notebooks are up to date, solutions pass their checks, students' stubs fail,
checks explain failures in words, and grading a mixed folder gives the expected scores."""
from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import nbformat
import numpy as np
import pytest

from tsfmicro_lite import check, metrics
from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments.catalog import ASSIGNMENTS, get_assignment
from tsfmicro_lite.assignments import grade as B_grade
from tsfmicro_lite.assignments.grade import grade_folder, grade_notebook

SOLUTIONS = sorted(B.solutions_dir().glob("A*.ipynb"))


# ------------------------------------------------------------------ build
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


# ------------------------------------------------------------------ solutions pass, students fail
def _exec_notebook(path: Path) -> dict:
    """Run a notebook's code cells in one namespace, in process; a cell that raises is skipped."""
    import matplotlib

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


def _run_checks(slug: str, ns: dict) -> dict[str, check.CheckResult]:
    out = {}
    for ex in get_assignment(slug).exercises:
        missing = [n for n in (*ex.symbols, *ex.kwargs.values()) if n not in ns]
        if missing:
            out[ex.id] = check.CheckResult(ex.check, False, 0.0, f"{missing} undefined")
            continue
        fn = getattr(check, ex.check)
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


# ------------------------------------------------------------------ checks explain in words
def test_checks_explain_a_wrong_uar_without_showing_code():
    r = check.uar(lambda t, p: metrics.official_uar_macro_precision(t, p), seed=1)
    assert not r.passed and r.score < 1
    assert "expected value is" in r.message and "Recall divides by #true" in " ".join(r.hints)
    assert "def " not in str(r) and "Traceback" not in str(r)


def test_check_reports_shape_and_exception_location():
    r = check.decay_mask(lambda n, g: np.zeros((n, n + 1)), seed=2)
    assert "wrong shape" in r.message and "expected shape" in r.hints[0]

    def broken(n, g):
        return np.ones(n) @ np.ones(n + 1)                      # raises ValueError in the student's code
    r = check.decay_mask(broken, seed=2)
    assert "your code raised ValueError" in r.message and "line" in r.message


def test_check_fresh_inputs_each_call_and_reproducible_with_seed():
    seen = []

    def spy(y_true, y_pred):
        seen.append(np.asarray(y_true).tolist())
        return metrics.uf1(y_true, y_pred)
    check.uf1(spy), check.uf1(spy)
    n = len(seen) // 2
    assert seen[:n] != seen[n:]
    seen.clear()
    check.uf1(spy, seed=3), check.uf1(spy, seed=3)
    assert seen[:n] == seen[n:]


def test_handing_in_the_kits_own_function_scores_zero():
    r = check.uf1(metrics.uf1)
    assert not r.passed and r.score == 0 and "kit's own uf1" in r.message


def test_partial_credit_counts_cases():
    calls = {"n": 0}

    def flaky(y_true, y_pred):
        calls["n"] += 1
        return metrics.uf1(y_true, y_pred) if calls["n"] % 2 else 0.0
    r = check.uf1(flaky, seed=0)
    assert 0 < r.score < 1 and not r.passed


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
    import psutil

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
