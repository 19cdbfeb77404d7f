"""The sandbox's command line: what a submission can see does not depend on where the kit is installed."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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


def test_shared_data_is_shown_read_only_under_the_private_tmp(tmp_path):
    """The SynthME copy generated once per run: read-only inside, its parents writable for the kit's lock files."""
    plan = Plan("bwrap", "", as_root=True)
    data = [(tmp_path / "data" / "synthme" / "quick-seed0-v4", "/tmp/cache/synthme/quick-seed0-v4")]
    cmd = plan.command(["python"], tmp_path / "work", tmp_path / "kit", Limits(cpu_seconds=5), {}, None, data)
    tmpfs, bind = cmd.index("--tmpfs"), cmd.index(str(data[0][0]))
    assert tmpfs < bind and cmd[bind - 1] == "--ro-bind" and cmd[bind + 1] == data[0][1], cmd
    dirs = [cmd[i + 1] for i in range(tmpfs, bind) if cmd[i] == "--dir"]
    assert dirs == ["/tmp/cache", "/tmp/cache/synthme"], dirs
    assert all(cmd[cmd.index(d) - 2:cmd.index(d)] == ["01777", "--dir"] for d in dirs)
    with pytest.raises(ValueError, match="under /tmp only"):
        plan.command(["python"], tmp_path, tmp_path, Limits(), {}, None, [(tmp_path, "/etc/synthme")])
    assert str(data[0][0]) not in Plan("uid", "").command(["python"], tmp_path, tmp_path, Limits(), {}, None, data)


def test_uid_fallback_command_drops_to_65534_with_the_limits(tmp_path):
    """The fallback's own mechanism (setpriv + prlimit), on a program any uid can run (no interpreter needed)."""
    if os.geteuid() != 0 or not (shutil.which("setpriv") and shutil.which("prlimit")):
        pytest.skip("the uid-65534 fallback needs root and util-linux's setpriv and prlimit")
    limits = Limits(cpu_seconds=77)
    cmd = Plan("uid", "").command(["/bin/cat", "/proc/self/status", "/proc/self/limits"], tmp_path, tmp_path,
                                  limits, {"PATH": "/usr/bin:/bin"})
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd="/").stdout
    status = dict(line.split(":", 1) for line in out.splitlines() if line[:4] in ("Uid:", "Gid:", "Grou"))
    assert status["Uid"].split() == ["65534"] * 4 and status["Gid"].split() == ["65534"] * 4, out
    assert status["Groups"].split() == [], out
    rows = {line[:26].strip(): line[26:].split() for line in out.splitlines() if line.startswith("Max ")}
    assert rows["Max address space"][0] == str(limits.memory_bytes) and rows["Max cpu time"][0] == "77", rows
    assert rows["Max processes"][0] == str(limits.processes) and rows["Max core file size"][0] == "0", rows
    assert rows["Max file size"][0] == str(limits.file_bytes), rows
