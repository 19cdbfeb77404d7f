"""The Makefile's promises: `make reproduce` keeps its figures under runs/, `make figures` writes figures/."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def _figures_dir_of(target: str) -> str:
    """TSFMICRO_FIGURES as ``make <target>`` sets it, read from make's own database (nothing is run)."""
    out = subprocess.run(["make", "-pn", target], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    found = re.findall(rf"^{target}: (?:export )?TSFMICRO_FIGURES :?= (.+)$", out, flags=re.M)
    assert found, f"Makefile: target {target!r} sets no TSFMICRO_FIGURES"
    return found[0].strip()


def test_reproduce_writes_its_figures_under_runs_so_the_tree_stays_clean():
    figures = Path(_figures_dir_of("reproduce"))
    assert figures.is_relative_to(ROOT / "runs"), (
        f"make reproduce writes figures to {figures}; it must stay under runs/ (ignored by git), not figures/")
    assert "runs/" in (ROOT / ".gitignore").read_text()


def test_figures_regenerates_the_tracked_figures_folder():
    assert Path(_figures_dir_of("figures")) == ROOT / "figures"
