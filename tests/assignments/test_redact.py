"""assignments/redact.py and protocol.py: references are switched off in the sandbox's kit copy; replies are data."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tsfmicro_lite.assignments import protocol
from tsfmicro_lite.assignments.catalog import ASSIGNMENTS
from tsfmicro_lite.assignments.redact import REFERENCES, redacted_kit


@pytest.mark.parametrize("assignment", [a.id for a in ASSIGNMENTS])
def test_every_listed_reference_exists_and_loses_its_body(tmp_path: Path, assignment: str):
    kit = redacted_kit(tmp_path, assignment, compile=False)     # raises if a listed name is not defined
    for rel, names in REFERENCES[assignment].items():
        text = (kit / rel).read_text()
        assert text.count(protocol.BLOCKED_MARKER) >= len(names), rel


def test_a_wrapper_around_a_redacted_reference_fails_with_the_marker(tmp_path: Path):
    kit = redacted_kit(tmp_path, "A4", compile=False)
    code = ("from tsfmicro_lite import metrics\nimport numpy as np\nprint(metrics.accuracy([0, 1], [0, 1]))\n"
            "try:\n    metrics.score([0, 1], [0, 1])\nexcept RuntimeError as e:\n    print(e)")
    env = {**os.environ, "PYTHONPATH": str(kit.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         cwd=tmp_path).stdout
    assert out.splitlines()[0] == "1.0", out                    # the rest of the module still works
    assert protocol.BLOCKED_MARKER in out and "uf1" in out


def test_replies_round_trip_as_data_and_refuse_objects():
    value = (np.arange(6, dtype=np.float32).reshape(2, 3), [1, 2.5, "s", None], {"k": np.int64(3)})
    back = protocol.decode(protocol.loads(protocol.dumps(protocol.encode(value))))
    assert isinstance(back, tuple) and back[0].dtype == np.float32 and np.array_equal(back[0], value[0])
    assert back[1] == [1, 2.5, "s", None] and int(back[2]["k"]) == 3
    assert isinstance(protocol.decode(protocol.encode(object())), protocol.Opaque)
    assert isinstance(protocol.decode(protocol.encode(np.array([object()]))), protocol.Opaque)
    forged = {"__nd__": ["|O", [1], ""]}                        # an object dtype from a hostile reply
    assert isinstance(protocol.decode(forged), protocol.Opaque)
