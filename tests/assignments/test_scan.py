"""assignments/scan.py: the grader's static scan of submitted code (the grader-observed flags)."""
from __future__ import annotations

import nbformat
import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.assignments import scan as S
from tsfmicro_lite.assignments.catalog import ASSIGNMENTS


def _flags(assignment: str, *cells: str) -> set[str]:
    return {f.flag for f in S.scan_sources(list(enumerate(cells)), assignment)}


@pytest.mark.parametrize("folder", ["solutions", "students"])
def test_honest_and_blank_notebooks_raise_no_flag(folder):
    root = B.solutions_dir() if folder == "solutions" else B.assignments_dir()
    for a in ASSIGNMENTS:
        findings = S.scan_notebook(nbformat.read(root / a.filename, as_version=4), a.id)
        assert not findings, f"{folder}/{a.filename}: {findings}"


@pytest.mark.parametrize("assignment, code", [
    ("A4", "from tsfmicro_lite import metrics\ndef uf1(a, b):\n    return metrics.uf1(a, b)"),
    ("A4", "from tsfmicro_lite.metrics import uar as uar"),
    ("A4", "import tsfmicro_lite.metrics as m\nf = lambda a, b: m.uf1(a, b)"),
    ("A4", "import tsfmicro_lite\nx = tsfmicro_lite.metrics.uar"),
    ("A4", "import importlib\nm = importlib.import_module('tsfmicro_lite.train.splits')\nm.loso_folds"),
    ("A4", "from tsfmicro_lite import metrics\nuf1 = getattr(metrics, 'uf1')"),
    ("A4", "from tsfmicro_lite.assignments.checks.a4_evaluation import reference_honest_evaluate as h"),
    ("A2", "from tsfmicro_lite.models import retention\nretention.decay_mask(4, [0.9])"),   # a re-export
    ("A1", "from tsfmicro_lite.preprocess import inputs\ndifference_input = lambda o, a: inputs.difference(o, a)"),
    ("A3", "from tsfmicro_lite.models.fusion import S2TFusion as K\nclass S2TFusion(K):\n    pass"),
    ("A3", "from tsfmicro_lite.models import fusion\nclass S(fusion.LateFusion):\n"
           "    def forward_features(self, o, m):\n"
           "        return super().forward_features(o, m)"),
    ("A4", "exec('from tsfmicro_lite import metrics\\nuf1 = metrics.uf1')"),          # inside a code string
])
def test_uses_of_the_reference_are_found(assignment, code):
    assert S.FLAG_REFERENCE in _flags(assignment, code), code


def test_other_assignments_references_and_building_blocks_are_not_flagged():
    assert not _flags("A1", "from tsfmicro_lite import metrics\nmetrics.uf1([0], [0])")     # A4's, not A1's
    assert not _flags("A4", "from tsfmicro_lite import metrics\nmetrics.confusion_matrix([0], [0])\n"
                            "from tsfmicro_lite.assignments import toy\ntoy.fit")


@pytest.mark.parametrize("code, flag", [
    ("exec(open('/work/x/instructor/assignments/A4_evaluation.ipynb').read())", S.FLAG_SOLUTIONS),
    ("from tsfmicro_lite.assignments import build\nbuild.solutions_dir()", S.FLAG_SOLUTIONS),
    ("exec(open(p).read())", S.FLAG_DYNAMIC),
    ("import subprocess, sys\nsubprocess.Popen(['setsid', sys.executable], start_new_session=True)", S.FLAG_DETACH),
    ("import os\nos.setsid()", S.FLAG_DETACH),
    ("!ls /", S.FLAG_PROCESS),
    ("%%bash\necho hi", S.FLAG_PROCESS),
    ("from os import *\nsystem('ls')", S.FLAG_PROCESS),
    ("import os\nos._exit(3)", S.FLAG_KILL),
    ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)", S.FLAG_SIGNALS),
    ("import socket\nsocket.create_connection(('example.org', 80))", S.FLAG_NETWORK),
    ("import os\nos.remove('/tmp/decoy.txt')", S.FLAG_WRITES),
    ("open('/home/ann/A4_evaluation.ipynb', 'w').write('{}')", S.FLAG_WRITES),
    ("from pathlib import Path\nPath('/etc') .joinpath('x').write_text('1')", S.FLAG_WRITES),
    ("import shutil\nshutil.rmtree('../classmate')", S.FLAG_WRITES),
    ("p = '/srv/grades.csv'\nwith open(p, 'a') as f:\n    f.write('x')", S.FLAG_WRITES),
    ("import subprocess\nsubprocess.run(['python', '-c', \"open('/srv/grades.csv', 'w').write('99')\"])",
     S.FLAG_WRITES),
    ("import importlib\nimportlib.import_module = lambda n: None", S.FLAG_PATCH),
    ("import tsfmicro_lite.assignments.checks.core as core\ncore.run_cases = lambda *a: None", S.FLAG_PATCH),
    ("from tsfmicro_lite import check\ncheck.uf1 = print", S.FLAG_PATCH),
    ("import sys\nsys.modules['numpy'] = None", S.FLAG_PATCH),
    ("import tsfmicro_lite.assignments.kernel_side", S.FLAG_PATCH),
    ("def f(:\n    pass", S.FLAG_UNPARSED),
])
def test_hostile_code_is_flagged(code, flag):
    assert flag in _flags("A4", code), code


@pytest.mark.parametrize("code", [
    "open('out.txt', 'w').write('x')",                       # its own folder
    "open('/sub/out.txt', 'w').write('x')",
    "open('/etc/hostname').read()",                          # reading is not writing
    "import os\nos.environ['OMP_NUM_THREADS'] = '1'",
    "import numpy as np\nnp.save('mine.npy', np.zeros(3))",
    "import torch\nfrom torch import nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc = nn.Linear(2, 2)",
    "def describe(x):\n    '''A docstring with (parentheses); and a semicolon.'''\n    return x",
])
def test_ordinary_code_is_not_flagged(code):
    assert not _flags("A4", code), code


def test_summary_names_the_evidence_and_keeps_semicolons_out():
    findings = S.scan_sources([(3, "import os\nos.remove('/a;b')\nos.remove('/c')")], "A4")
    (line,) = S.summarise(findings)
    assert line.startswith(S.FLAG_WRITES) and "cell 3" in line and "+1 more" in line and ";" not in line
