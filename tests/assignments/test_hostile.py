"""assignments/grade.py + sandbox.py through ``tsfmicro assignments grade``: honest, blank and hostile notebooks.

One folder, graded once with two workers (kernel starts dominate, so hostile behaviours share a few
notebooks): honest scores stay full, blank ones are 0, every cheat scores 0 or is capped, nothing
the submissions start outlives the grader, the decoy outside the folder and the classmate's file are
untouched, and the CSV flags what happened. Skipped only where bubblewrap cannot run.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments.grade import isolation_plan
from tsfmicro_lite.cli import main

DAEMON = "TSFMICRO-HOSTILE-DAEMON"


def _nb(assignment: str, *sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["tsfmicro_assignment"] = {"id": assignment}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def _variant(path: Path, old: str, new: str) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    hits = [c for c in nb.cells if old in c.source]
    assert hits, f"{old!r} not found in {path.name}; update the test"
    for c in hits:
        c.source = c.source.replace(old, new)
    return nb


HONEST_S2T = '''import torch
from torch import nn
VARIANT = "s2t"
class S2TFusion(nn.Module):
    def __init__(self, temporal, spatial, upsample, head):
        super().__init__()
        self.temporal, self.spatial, self.upsample, self.head = temporal, spatial, upsample, head
    def forward(self, onset, motion):
        x = self.temporal.stem(motion) + self.upsample(self.spatial(onset)).permute(0, 2, 3, 1)
        for stage in self.temporal.stages:
            x = stage(x)
        return self.head(x)
'''


def _daemon(grades: Path) -> str:
    """A detached process that keeps rewriting the grades file for a minute."""
    return (f"import time\nfor _ in range(600):\n    time.sleep(0.1)\n    try:\n"
            f"        open({str(grades)!r}, 'w').write('student,total\\nvandal,99\\n')\n"
            "    except OSError:\n        pass\n")


def _folder(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    subs, sol = tmp_path / "subs", B.solutions_dir()
    decoy = tmp_path / "decoy.txt"
    decoy.write_text("do not touch")
    classmate = subs / "honest" / "A4_evaluation.ipynb"
    grades = subs / "_grades" / "grades.csv"
    solution = sol / "A4_evaluation.ipynb"
    precision = "recalls = [np.mean(y_true[y_pred == c] == c) for c in np.unique(y_pred)]"
    recall = "recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]"
    notebooks = {
        "honest": nbformat.read(solution, as_version=4),
        "wrong": _variant(solution, recall, precision),
        "blank": nbformat.read(B.assignments_dir() / "A4_evaluation.ipynb", as_version=4),
        "honest_a3": _nb("A3", HONEST_S2T),
        # wrappers around the references, an endless loop in a graded function and in a cell, patched
        # checks and importlib, forged result lines, reading the solutions
        "cheater": _nb(
            "A4",
            "import numpy as np, importlib\nfrom tsfmicro_lite import metrics, check\n"
            "from tsfmicro_lite.train.splits import loso_folds\n"
            "def uf1(a, b):\n    return metrics.uf1(a, b)\n"
            "def uar(a, b):\n    while True:\n        pass\n"
            "def loso_split(s):\n    return [(f.subject, f.train_idx, f.test_idx) for f in loso_folds(s)]\n"
            "from tsfmicro_lite.assignments.checks.a4_evaluation import reference_honest_evaluate as honest_evaluate\n"
            "inflation = 0.0",
            "import tsfmicro_lite.assignments.checks.core as core\n"
            "core.run_cases = lambda *a, **k: core.CheckResult('x', True, 1.0, 'ok')\n"
            "check.uf1 = lambda fn, seed=None: core.CheckResult('uf1', True, 1.0, 'ok')\n"
            "_real = importlib.import_module\n"
            "importlib.import_module = lambda name, *a: _real('tsfmicro_lite.assignments.toy')\n"
            "for ex in ['A4.1', 'A4.2', 'A4.3', 'A4.4']:\n"
            "    print('TSFMICRO-GRADE {\"exercise\": \"%s\", \"passed\": true, \"score\": 1.0} deadbeef' % ex)",
            f"exec(open({str(solution)!r}).read())",
            "while True:\n    pass"),
        # a setsid daemon writing the grades file, deleting a decoy, overwriting a classmate, 8 GiB, then a
        # loop that ignores SIGINT (only the wall-clock limit ends it)
        "vandal": _nb(
            "A4",
            "import subprocess, sys\n"
            f"subprocess.Popen(['setsid', sys.executable, '-c', {_daemon(grades)!r}, {DAEMON!r}],\n"
            "                 start_new_session=True)",
            f"import os\nos.remove({str(decoy)!r})",
            f"open({str(classmate)!r}, 'w').write('{{}}')",
            "import numpy as np\nbig = np.ones(2**30)",
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)"),
        "crasher": _nb("A4", "def uf1(a, b):\n    return 1.0", "import os\nos._exit(3)"),
        "wrap_a1": _nb("A1", "from tsfmicro_lite.preprocess import inputs\n"
                             "difference_input = lambda o, a: inputs.difference(o, a)\n"
                             "def optical_flow(o, a):\n    return inputs.optical_flow(o, a)\n"
                             "def optical_strain(f):\n    return inputs.optical_strain(f)"),
        "wrap_a2": _nb("A2", "from tsfmicro_lite.models import retention\n"
                             "def decay_mask(n, g):\n    return retention.decay_mask(n, [g])[0]\n"
                             "def retention_parallel(q, k, v, g):\n"
                             "    out = retention.retention_parallel(q[:, None], k[:, None], v[:, None], [g])\n"
                             "    return out[0][:, 0]\n"
                             "def retention_recurrent(q, k, v, g, state=None):\n"
                             "    o, s = retention.retention_recurrent(q[:, None], k[:, None], v[:, None], [g])\n"
                             "    return o[:, 0], s[:, 0]"),
        "wrap_a3": _nb("A3", "import torch\nfrom torch import nn\n"
                             "from tsfmicro_lite.models.fusion import S2TFusion as K\n"
                             "VARIANT = 's2t'\n"
                             "class S2TFusion(nn.Module):\n"
                             "    def __init__(self, temporal, spatial, upsample, head):\n"
                             "        super().__init__()\n"
                             "        self.temporal, self.spatial, self.upsample, self.head = temporal, spatial, "
                             "upsample, head\n"
                             "    def forward(self, onset, motion):\n"
                             "        return self.head(K.forward_features(self, onset, motion)['fused'])"),
    }
    for name, nb in notebooks.items():
        (subs / name).mkdir(parents=True)
        nbformat.write(nb, subs / name / f"{name}.ipynb" if name != "honest" else classmate)
    return subs, {"decoy": decoy, "classmate": classmate, "grades": grades}


@pytest.mark.slow
def test_hostile_folder_through_the_cli(tmp_path: Path, capsys):
    plan = isolation_plan()
    if plan.kind != "bwrap":
        pytest.skip(f"bubblewrap cannot run here ({plan.isolation})")
    subs, paths = _folder(tmp_path)
    classmate_before = paths["classmate"].read_bytes()
    t0 = time.monotonic()
    rc = main(["assignments", "grade", str(subs), "--workers", "2", "--timeout", "100", "--cell-timeout", "20"])
    seconds = time.monotonic() - t0
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "isolation: bwrap sandbox" in out
    time.sleep(1.5)                                            # a surviving daemon would rewrite grades.csv now
    text = paths["grades"].read_text()
    rows = {r["student"]: r for r in csv.DictReader(text.splitlines())}
    text = "\n".join(f"{s}: {r['total']} | {r['status']} | {r['flags']} | {r['sandbox_flags']} | "
                     f"cells {r['timed_out_cells']}" for s, r in rows.items())   # what a failure shows
    total = {s: float(r["total"]) for s, r in rows.items()}
    flags = {s: r["flags"] for s, r in rows.items()}                  # observed by the grader
    reported = {s: r["sandbox_flags"] for s, r in rows.items()}       # reported by the sandbox
    assert total["honest"] == 5.0 and total["honest_a3"] == 2.0, text
    assert 4.0 <= total["wrong"] < 5.0 and float(rows["wrong"]["A4.2"]) < 1.0
    assert "macro precision" in (paths["grades"].parent / "feedback" / "wrong_A4.md").read_text()
    for s in ("blank", "cheater", "vandal", "crasher", "wrap_a1", "wrap_a2", "wrap_a3"):
        assert total[s] == 0.0, (s, text)
    for s in ("honest", "honest_a3", "wrong", "blank"):
        assert not flags[s] and not reported[s], (s, text)
    for s in ("cheater", "wrap_a1", "wrap_a2", "wrap_a3"):
        assert "uses the kit's reference in its code" in flags[s], (s, text)       # the grader's static scan
        assert "called the reference" in reported[s], (s, text)                    # the sandbox's reply
    for flag in ("reads the solutions", "patches the kit or the grading machinery", "runs code built at run time",
                 "a call was cut off at the time limit"):                           # the last: the grader's clock
        assert flag in flags["cheater"], (flag, text)
    assert rows["cheater"]["timed_out_cells"] and "touched files outside its folder" in reported["cheater"]
    for flag in ("starts processes", "detaches processes", "writes or deletes files outside its folder",
                 "changes signal handlers", "killed at the wall-clock limit"):
        assert flag in flags["vandal"], (flag, text)
    assert "touched files outside its folder" in reported["vandal"] and "hit the memory limit" in reported["vandal"]
    assert "timed out" in rows["vandal"]["status"]
    assert "kernel died" in rows["crasher"]["status"] and "stops or signals processes" in flags["crasher"]
    assert all(r["isolation"].startswith("bwrap sandbox") and len(r["sha256"]) == 64 for r in rows.values())
    assert paths["decoy"].read_text() == "do not touch"
    assert paths["classmate"].read_bytes() == classmate_before
    left = [p.info["pid"] for p in psutil.process_iter(["pid", "cmdline"])
            if DAEMON in " ".join(p.info["cmdline"] or [])]
    assert not left, f"processes started by a submission outlived the grader: {left}"
    print(f"hostile folder graded in {seconds:.0f} s (2 workers)")
