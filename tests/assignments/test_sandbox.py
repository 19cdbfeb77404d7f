"""The sandbox's command line (what a submission can see does not depend on where the kit is installed); root
without a sandbox is refused unless allowed."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tsfmicro_lite.assignments.sandbox import Limits, Plan, RootRefused, admit


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


ROOT_NONE = Plan("none", "NO SANDBOX (bwrap not found (install Debian's bubblewrap); uid 65534 cannot run "
                 "/root/venv/bin/python: Permission denied): ROOT, refused unless allowed (--allow-root): "
                 "submissions would run as root + memory/CPU/process limits only", as_root=True,
                 reason="bwrap not found (install Debian's bubblewrap); uid 65534 cannot run /root/venv/bin/python: "
                        "Permission denied")


def test_root_without_a_sandbox_is_refused_in_one_line_naming_why_and_the_fixes():
    with pytest.raises(RootRefused) as err:
        admit(ROOT_NONE)
    message = str(err.value)
    assert "\n" not in message and message.startswith("refusing to grade as root without a sandbox (bwrap not found")
    for fix in ("install bubblewrap", "where uid 65534 can read them (not under /root)", "--allow-root",
                "allow_root=True"):
        assert fix in message, (fix, message)
    bare = Plan("bare", "", as_root=True, reason="disabled by $TSFMICRO_NO_SANDBOX")
    with pytest.raises(RootRefused, match=r"Fix: unset \$TSFMICRO_NO_SANDBOX;"):
        admit(bare)
    with pytest.raises(RootRefused, match="install util-linux"):
        admit(Plan("none", "", as_root=True, reason="setpriv/prlimit (util-linux) not found"))


def test_allow_root_keeps_the_plan_and_the_isolation_line_records_the_opt_in():
    allowed = admit(ROOT_NONE, allow_root=True)
    assert allowed.kind == "none" and allowed is not ROOT_NONE and "refused" in ROOT_NONE.isolation  # cache untouched
    assert allowed.isolation == (f"NO SANDBOX ({ROOT_NONE.reason}): ROOT, opted in with --allow-root: submissions run "
                                 "as root + memory/CPU/process limits only"), allowed.isolation
    bare = admit(Plan("bare", "", as_root=True, reason="x"), allow_root=True)
    assert bare.isolation == ("NO SANDBOX (x): ROOT, opted in with --allow-root: submissions run as root, "
                              "no limits either"), bare.isolation


@pytest.mark.parametrize("plan", [Plan("bwrap", "bwrap sandbox", as_root=True), Plan("uid", "uid 65534", reason="x"),
                                  Plan("none", "the grader's own uid", as_root=False, reason="x")],
                         ids=["bwrap-as-root", "uid-65534", "not-root"])
def test_plans_that_do_not_run_submissions_as_root_pass_unchanged(plan):
    assert admit(plan) is plan and admit(plan, allow_root=True) is plan
