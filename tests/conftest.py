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
