"""assignments/grade.py: unreadable files, time limits, discovery, the uid fallback, root without a sandbox refused
unless allowed (mixed folder: test_hostile.py)."""
from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import psutil
import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments import grade as B_grade
from tsfmicro_lite.assignments.catalog import get_assignment
from tsfmicro_lite.assignments.grade import grade_notebook
from tsfmicro_lite.assignments.sandbox import NOBODY, Limits, Plan, RootRefused
from tsfmicro_lite.cli import main
from tsfmicro_lite.utils.paths import repo_root

# our own notebooks, not students': where no sandbox (and no uid 65534) can run, grading them as root is fine
OURS = {"allow_root": True}


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
    g = grade_notebook(p, get_assignment("A4"), "carol", timeout=4, cell_timeout=60, **OURS)
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


FALLBACK_PROBE = '''import json, os, resource
limits = {n: resource.getrlimit(getattr(resource, n))[0]
          for n in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CORE")}
json.dump({"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
           "limits": limits}, open(PROBE, "w"))
'''


ROOT_NONE = Plan("none", "NO SANDBOX (bwrap not found): ROOT, refused unless allowed (--allow-root): submissions "
                 "would run as root + memory/CPU/process limits only", as_root=True, reason="bwrap not found")


def _one_submission(folder: Path) -> Path:
    nb = _tiny("def uf1(a, b):\n    return 1.0")
    nb.metadata["tsfmicro_assignment"] = {"id": "A4"}
    folder.mkdir()
    nbformat.write(nb, folder / "ann.ipynb")
    return folder


def test_a_root_grader_without_a_sandbox_refuses_in_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """No bwrap, no uid 65534 and root: one `error:` line naming why and the fixes, exit 2, nothing run or written."""
    monkeypatch.setattr(B_grade, "plan", lambda probe_dir, kit: ROOT_NONE)
    monkeypatch.setattr(B_grade, "_grade", lambda *a, **k: pytest.fail("a refused run graded a submission"))
    monkeypatch.setattr(B_grade, "_shared_data", lambda *a, **k: pytest.fail("a refused run generated data"))
    subs = _one_submission(tmp_path / "subs")
    assert main(["assignments", "grade", str(subs)]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("error: refusing to grade as root without a sandbox (bwrap not "
                                                    "found)"), out
    assert "install bubblewrap" in out and "uid 65534 can read them" in out and "--allow-root" in out, out
    assert not (subs / "_grades").exists()


def test_allow_root_grades_and_the_isolation_column_records_the_opt_in(tmp_path, monkeypatch, capsys):
    seen = []

    def fake_grade(path, assignment, student, timeout, cell_timeout, ctx):
        seen.append(ctx.plan)
        return B_grade.SubmissionGrade(student, assignment.id, path, "ok", B_grade._zero(assignment, "stub"),
                                       isolation=ctx.plan.isolation)

    monkeypatch.setattr(B_grade, "plan", lambda probe_dir, kit: ROOT_NONE)
    monkeypatch.setattr(B_grade, "_grade", fake_grade)
    subs = _one_submission(tmp_path / "subs")
    assert main(["assignments", "grade", str(subs), "--allow-root"]) == 0
    out = capsys.readouterr().out
    opted = "NO SANDBOX (bwrap not found): ROOT, opted in with --allow-root: submissions run as root"
    assert f"warning: {opted} + memory/CPU/process limits only" in out.splitlines(), out
    row = next(csv.DictReader((subs / "_grades" / "grades.csv").open()))
    assert row["isolation"].startswith(opted) and seen[0].kind == "none" and "refused" in ROOT_NONE.isolation, row
    with pytest.raises(RootRefused, match="--allow-root"):       # the Python API refuses the same way
        B_grade.grade_folder(subs, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _grade_cli(subs: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tsfmicro_lite.cli", "assignments", "grade", str(subs),
                           "--timeout", "120", "--cell-timeout", "30", *flags], capture_output=True, text=True,
                          env={**os.environ, "TSFMICRO_NO_SANDBOX": "1"}, timeout=300, cwd=subs.parent)


@pytest.fixture(scope="module")
def fallback_run(tmp_path_factory) -> dict:
    """One `tsfmicro assignments grade` with bwrap disabled ($TSFMICRO_NO_SANDBOX): what it printed, wrote, saw.

    Where that leaves a root grader with no uid 65534 (an interpreter under /root), the first run is refused
    (kept in ``refused``) and the grading is the second run, with ``--allow-root``.
    """
    tmp = tmp_path_factory.mktemp("fallback")
    probe_dir = repo_root() / "build" / f"fallback-probe-{secrets.token_hex(4)}"   # uid 65534 must write here
    probe_dir.mkdir(parents=True)
    os.chmod(probe_dir, 0o777)
    probe = probe_dir / "probe.json"
    nb = _tiny("import numpy as np\nfrom tsfmicro_lite import metrics\n"
               "def uf1(a, b):\n    return metrics.uf1(a, b)\n"                 # a wrapper: still 0
               "def uar(y_true, y_pred):\n"
               "    return float(np.mean([np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]))",
               f"PROBE = {str(probe)!r}\n" + FALLBACK_PROBE)
    nb.metadata["tsfmicro_assignment"] = {"id": "A4"}
    (tmp / "subs").mkdir()
    nbformat.write(nb, tmp / "subs" / "ann.ipynb")
    refused = None
    try:
        r = _grade_cli(tmp / "subs")
        if r.returncode == 2 and "refusing to grade as root" in r.stdout:
            refused = r.stdout
            assert not (tmp / "subs" / "_grades").exists() and not probe.exists(), "a refused run ran or wrote"
            r = _grade_cli(tmp / "subs", "--allow-root")
        assert r.returncode == 0, r.stdout + r.stderr
        row = next(csv.DictReader((tmp / "subs" / "_grades" / "grades.csv").open()))
        seen = json.loads(probe.read_text()) if probe.exists() else None
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    return {"stdout": r.stdout, "row": row, "seen": seen, "refused": refused}


@pytest.mark.slow
def test_without_bwrap_the_grader_warns_once_limits_the_run_and_still_judges_outside(fallback_run):
    out, row, seen = fallback_run["stdout"], fallback_run["row"], fallback_run["seen"]
    warnings = [ln for ln in out.splitlines() if ln.startswith("warning: NO SANDBOX")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: NO SANDBOX (disabled by $TSFMICRO_NO_SANDBOX"), out
    assert row["isolation"] == warnings[0].removeprefix("warning: "), row["isolation"]
    assert (float(row["A4.1"]), float(row["A4.2"])) == (0.0, 1.0), row
    assert "uses the kit's reference in its code (metrics.uf1" in row["flags"], row       # grader: static scan
    assert "called the reference" in row["sandbox_flags"], row                           # the sandbox's reply
    if "no limits either" in row["isolation"]:
        pytest.skip(f"prlimit (util-linux) is missing: {row['isolation']}")
    limits = Limits(cpu_seconds=120 + 30)
    assert seen is not None and seen["limits"] == {
        "RLIMIT_AS": limits.memory_bytes, "RLIMIT_CPU": limits.cpu_seconds, "RLIMIT_NPROC": limits.processes,
        "RLIMIT_FSIZE": limits.file_bytes, "RLIMIT_CORE": 0}, seen


@pytest.mark.slow
def test_the_fallback_runs_submissions_as_uid_65534(fallback_run):
    """Where bwrap cannot run, a grader running as root drops the submission to uid/gid 65534, no groups."""
    isolation, seen = fallback_run["row"]["isolation"], fallback_run["seen"]
    if f"uid {NOBODY} +" not in isolation:
        pytest.skip("the uid-65534 fallback cannot run here (it needs a root grader, setpriv and prlimit, and an "
                    f"interpreter uid 65534 can read; e.g. not under /root): {isolation}")
    assert isolation.startswith("NO SANDBOX (disabled by $TSFMICRO_NO_SANDBOX): uid 65534 + memory/CPU/process "
                                "limits"), isolation
    assert (seen["uid"], seen["euid"], seen["gid"], seen["groups"]) == (NOBODY, NOBODY, NOBODY, []), seen


@pytest.mark.slow
def test_a1_reads_the_synthme_the_grader_generated_once(tmp_path: Path):
    """The sandbox finds a finished SynthME at the kit's cache path: its make_synthme generates nothing."""
    nb = _tiny("import numpy as np\nfrom tsfmicro_lite.synth import default_root, is_complete\n"
               "READY = is_complete(default_root('quick'), 'quick', 0)      # before the notebook's own call\n"
               "from tsfmicro_lite.data import load_dataset, make_synthme\n"
               "table = load_dataset('synthme', make_synthme(profile='quick'))\n"
               "def difference_input(onset, apex):\n"
               "    d = (apex.astype(np.float32) - onset.astype(np.float32)) / 255\n"
               "    return d if READY and len(table) else d + 1")
    p = tmp_path / "A1_inputs.ipynb"
    nbformat.write(nb, p)
    g = grade_notebook(p, get_assignment("A1"), "ann", timeout=120, cell_timeout=60, **OURS)
    assert g.exercises[0].points == 1.0, (g.status, g.exercises[0].message, g.sandbox_flags)


@pytest.mark.slow
def test_a_root_grader_that_cannot_drop_to_65534_refuses_unless_allowed(fallback_run):
    """The real thing: root, bwrap disabled, uid 65534 cannot run the interpreter: refused, then run as root."""
    refused, isolation, seen = fallback_run["refused"], fallback_run["row"]["isolation"], fallback_run["seen"]
    if refused is None:
        pytest.skip(f"nothing to refuse here (not root, or uid 65534 can run the interpreter): {isolation}")
    assert refused.count("\n") == 1 and refused.startswith(
        "error: refusing to grade as root without a sandbox (disabled by $TSFMICRO_NO_SANDBOX; uid 65534 cannot "
        "run "), refused
    assert "unset $TSFMICRO_NO_SANDBOX" in refused and "--allow-root" in refused, refused
    assert isolation.startswith("NO SANDBOX (disabled by $TSFMICRO_NO_SANDBOX; uid 65534 cannot run ") and (
        "): ROOT, opted in with --allow-root: submissions run as root" in isolation), isolation
    assert seen is not None and (seen["uid"], seen["euid"]) == (0, 0), seen
