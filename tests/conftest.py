"""Test-wide settings: a cache and a figures folder inside build/, so tests never touch ~/.cache or figures/."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"

# Set before any test imports the package, so subprocesses (papermill kernels, the CLI) inherit them.
os.environ.setdefault("TSFMICRO_CACHE", str(BUILD / "test-cache"))
os.environ.setdefault("TSFMICRO_FIGURES", str(BUILD / "figures"))
os.environ.setdefault("TSFMICRO_QUIET", "1")  # progress bars off in CI logs
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def loso_run():
    """A real LOSO run (kit's run_loso, toy model and data, both protocols, in memory; about a second).

    Chosen so that on some folds the paper protocol's best-accuracy and best-UF1 test epochs differ
    and the pooled scores of the two selections differ: a copy that scores one metric on the other's
    epochs gets another number (tests/train/test_results.py checks that premise).
    """
    import warnings

    from tsfmicro_lite.train.loso import run_loso
    from tsfmicro_lite.train.toy import ToyFusion, toy_data
    from tsfmicro_lite.train.trainer import TrainConfig

    data = toy_data(num_subjects=4, per_subject=10, num_classes=5, signal=0.2, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # the optimistic-protocol warning
        return run_loso(data, lambda: ToyFusion(5), TrainConfig(epochs=6, batch_size=8, lr=0.1, device="cpu", seed=1),
                        protocols=("honest", "paper"), meta={"variant": "toy", "dataset": "toy"}, verbose=False)
