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


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_card_peaks_match_the_whole_card_name():
    """The peak a TFLOP/s share is taken against: H100 PCIe / NVL are not the SXM part, GH200 is not H200,
    A10 is not A100, an RTX A4000 is no A40; TF32 has its own column (fp32 eager runs cuDNN convs in TF32)."""
    gc = _script()
    assert gc.card_peak("NVIDIA H100 80GB HBM3")["bf16"] == gc.PEAK_TFLOPS["H100"]["bf16"]
    assert gc.card_peak("NVIDIA H100 PCIe") is gc.PEAK_TFLOPS["H100 PCIe"]
    assert gc.card_peak("NVIDIA H100 NVL") is gc.PEAK_TFLOPS["H100 NVL"]
    assert gc.card_peak("NVIDIA H200") is gc.PEAK_TFLOPS["H200"]
    assert gc.card_peak("NVIDIA GH200 480GB") is gc.PEAK_TFLOPS["GH200"]
    assert gc.card_peak("NVIDIA A100-SXM4-80GB") is gc.PEAK_TFLOPS["A100"]
    assert gc.card_peak("NVIDIA A10") is gc.PEAK_TFLOPS["A10"]
    assert gc.card_peak("NVIDIA L40S") is gc.PEAK_TFLOPS["L40S"] and gc.card_peak("NVIDIA L4") is gc.PEAK_TFLOPS["L4"]
    assert gc.card_peak("NVIDIA RTX A4000") is None
    for peaks in gc.PEAK_TFLOPS.values():
        assert set(peaks) == {"fp32", "tf32", "bf16", "fp16"}
    h100 = gc.PEAK_TFLOPS["H100"]
    assert h100["fp32"] < h100["tf32"] < h100["bf16"]          # dense, no sparsity: 67 / 495 / 989
    row = {"setting": "fp32 + TF32 matmul", "precision": "tf32", "samples_s": 1000.0, "setup_s": 1.0}
    assert "40.0 TFLOP/s achieved" in gc.flops_line(row, h100) and "tf32 peak (495)" in gc.flops_line(row, h100)
    assert "no bf16 peak known" in gc.flops_line({**row, "precision": "bf16"}, gc.PEAK_TFLOPS["V100"])


def test_a_capped_section_is_interrupted():
    """The compile row runs under a cap, so the whole check stays inside its budget."""
    import time

    gc = _script()
    start = time.perf_counter()
    with pytest.raises(gc.SectionTimeout):
        with gc.time_limit(0.2):
            time.sleep(5)
    assert time.perf_counter() - start < 2
    with gc.time_limit(5):      # a section that ends in time is left alone, and the alarm is cleared
        pass
    time.sleep(0.01)
