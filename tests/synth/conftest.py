"""The quick SynthME (profile quick, seed 0), generated once per session under build/ and shared by tests/synth."""
from __future__ import annotations

from pathlib import Path

import pytest

from tsfmicro_lite.synth import make_synthme


@pytest.fixture(scope="session")
def quick_root() -> Path:
    return make_synthme(profile="quick", seed=0)
