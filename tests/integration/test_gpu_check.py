"""benchmarks/gpu_check.py runs end to end (``--cpu-smoke``) and, without CUDA, says why it skips the GPU."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where no GPU exists")
def test_without_cuda_it_says_why_it_skips():
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert "no CUDA GPU visible" in out.stdout and "not measured on a GPU yet" in out.stdout


@pytest.mark.slow
def test_cpu_smoke_runs_every_part():
    """Every part at toy sizes on CPU (micro preset, SynthME quick, 2 folds x 1 epoch): ~20 s idle."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--cpu-smoke"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for part in ("1. CPU smoke run", "2. train step", "fp32 eager", "3. data time per batch", "device pipeline",
                 "4. real run (SYNTHETIC", "26-fold x 174-epoch LOSO", "gpu_check done"):
        assert part in out.stdout, part
