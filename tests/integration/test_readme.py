"""The README's shell blocks, run as written (issue 14), so its commands stay right.

Every ```bash block runs in bash (``set -e``) from a scratch folder holding a link to the repository's
``.venv``, so relative paths such as ``runs/late`` land there, with the tests' cache (``$TSFMICRO_CACHE``).
Blocks that cannot run in a test are skipped for a stated reason, and the quick-start block must be among
those that ran.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: why a block is not run here (matched against its text)
SKIP = {
    "make ": "sets up .venv and runs the whole suite (it is what CI runs)",
    "papermill": "executes a notebook; tests/integration/test_notebooks.py runs every notebook",
    "/data/": "needs a licensed dataset copy that CI does not have",
}


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.slow
def test_readme_shell_blocks_run_as_written(tmp_path):
    blocks = shell_blocks((REPO / "README.md").read_text())
    assert blocks, "README.md has no ```bash block"
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    ran = []
    for block in blocks:
        if any(marker in block for marker in SKIP):
            continue
        out = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, capture_output=True, text=True,
                             timeout=600, env={**os.environ, "TSFMICRO_QUIET": "1"})
        assert out.returncode == 0, f"README block failed:\n{block}\n--- stdout\n{out.stdout[-3000:]}\n" \
                                    f"--- stderr\n{out.stderr[-3000:]}"
        ran.append(block)
    assert any("tsfmicro train" in b and "tsfmicro evaluate" in b for b in ran), "the quick-start block did not run"
