"""The sandbox's command line: what a submission can see does not depend on where the kit is installed."""
from __future__ import annotations

from pathlib import Path

from tsfmicro_lite.assignments.sandbox import Limits, Plan


def test_private_tmp_is_mounted_before_the_read_only_binds(tmp_path):
    """CI may clone the kit under /tmp: binds listed after the tmpfs stay visible, binds before it vanish."""
    venv = "/tmp/some-clone/.venv"
    plan = Plan("bwrap", "", as_root=True, ro_paths=[venv])
    cmd = plan.command(["python", "-c", "pass"], tmp_path / "work", tmp_path / "kit", Limits(cpu_seconds=5), {})
    tmpfs = cmd.index("--tmpfs")
    assert cmd[tmpfs + 1] == "/tmp"
    binds = [i for i, a in enumerate(cmd) if a == "--ro-bind" and cmd[i + 1] in (venv, str(tmp_path / "kit"))]
    assert len(binds) == 2 and all(i > tmpfs for i in binds), cmd
    assert cmd[cmd.index("--bind") + 2] == "/sub" and Path(cmd[cmd.index("--bind") + 1]) == tmp_path / "work"
