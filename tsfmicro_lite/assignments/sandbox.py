"""The sandbox one submission runs in: bubblewrap namespaces, an unprivileged uid, resource limits.

With Debian's ``bubblewrap`` (``bwrap``) each submission gets new PID, network, IPC and UTS
namespaces and a mount namespace that shows only the system's read-only folders, the Python
installation, the virtual environment and a kit copy whose references are switched off
(:mod:`.redact`), all read-only, plus its own work folder at ``/sub`` and a private ``/tmp``.
Solutions, other submissions and the grades folder are simply not in it. When the grader runs as
root the process inside drops to uid/gid 65534 (``setpriv``); without root bwrap maps the user's
own uid in a user namespace. ``prlimit`` caps address space, CPU seconds, processes and file size.
``--die-with-parent`` plus the PID namespace end everything it started (a ``setsid`` daemon too)
when the grader stops it.

Where bwrap cannot start (not installed, no namespaces allowed) :func:`plan` falls back to a
separate uid with the same limits, or limits only, and says so in one line (the ``isolation``
column of ``grades.csv``). Limits only *as root* means student code running as root: :func:`admit`
refuses that plan (:class:`RootRefused`, one line naming why and the fixes) unless the instructor
opts in (``allow_root``, ``--allow-root``), and then the ``isolation`` line says so.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

__all__ = ["Limits", "Plan", "RootRefused", "admit", "plan", "NOBODY"]

NOBODY = 65534
SYSTEM_DIRS = ("/usr", "/etc", "/opt")
LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64", "/lib32": "usr/lib32"}


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 4 * 2**30      # address space per process
    cpu_seconds: int = 600
    processes: int = 1024              # per uid, threads count too: sandboxes running at once share it
    file_bytes: int = 512 * 2**20
    tmp_bytes: int = 1024 * 2**20     # the private /tmp is RAM: capped

    def prlimit(self) -> list[str]:
        return ["prlimit", f"--as={self.memory_bytes}", f"--cpu={self.cpu_seconds}",
                f"--nproc={self.processes}", f"--fsize={self.file_bytes}", "--core=0"]


@dataclass
class Plan:
    """How submissions run on this machine: ``kind`` is ``bwrap``, ``uid`` or ``none``."""

    kind: str
    isolation: str                       # one line for the CSV and the console
    as_root: bool = False
    ro_paths: list[str] = field(default_factory=list)
    reason: str = ""                     # why there is no bwrap sandbox ("" for bwrap)

    def command(self, argv: list[str], work: Path, kit: Path, limits: Limits, env: dict[str, str],
                requests: Path | None = None, data: Sequence[tuple[Path, str]] = ()) -> list[str]:
        """The command line that runs ``argv`` under this plan (inside: ``/sub`` and ``requests`` at ``/io``).

        ``data``: (folder, path under ``/tmp``) pairs shown read-only inside, e.g. the SynthME copy the grader
        generated once for the run at ``/tmp/cache/synthme/...``; their parent folders are writable (01777) so
        the kit can put its lock files next to them. bwrap only: other plans get copies in the work folder.
        """
        if self.kind != "bwrap":
            drop = _setpriv() if self.kind == "uid" else []
            caps = limits.prlimit() if self.kind != "bare" else []
            return [*drop, *caps, "env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv]
        cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--clearenv"]
        if not self.as_root:
            cmd += ["--unshare-user"]
        for d in SYSTEM_DIRS:
            if os.path.isdir(d):
                cmd += ["--ro-bind", d, d]
        for link, target in LINKS.items():
            if os.path.islink(link):
                cmd += ["--symlink", target, link]
            elif os.path.isdir(link):
                cmd += ["--ro-bind", link, link]
        # the private /tmp first: binds listed after it stay visible even when the venv or the kit lives under /tmp
        cmd += ["--perms", "01777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
        shown: set[Path] = set()
        for src, dst in data:
            inside = Path(dst)
            if inside.parts[:2] != ("/", "tmp") or ".." in inside.parts:
                raise ValueError(f"data folders are shown under /tmp only, got {dst!r}")
            for parent in reversed(inside.parents[:-2]):
                if parent not in shown:
                    shown.add(parent)
                    cmd += ["--perms", "01777", "--dir", str(parent)]
            cmd += ["--ro-bind", str(src), str(inside)]
        made: set[str] = set()
        kit_dst = str(Path(_kit_location()))
        for p in [*self.ro_paths, kit_dst]:
            for parent in reversed(Path(p).parents):
                s = str(parent)
                if s != "/" and s not in made and not any(s == d or s.startswith(d + "/") for d in SYSTEM_DIRS):
                    made.add(s)
                    cmd += ["--perms", "0755", "--dir", s]
        for p in self.ro_paths:
            cmd += ["--ro-bind", p, p]
        cmd += ["--ro-bind", str(kit), kit_dst, "--bind", str(work), "/sub",
                "--proc", "/proc", "--dev", "/dev", "--chdir", "/sub"]
        if requests is not None:
            cmd += ["--ro-bind", str(requests), "/io"]
        for k, v in env.items():
            cmd += ["--setenv", k, v]
        drop = _setpriv() if self.as_root else []
        return [*cmd, *drop, *limits.prlimit(), *argv]


def _setpriv() -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs"]


def _kit_location() -> Path:
    """Where the kit's package is imported from (the editable install points here)."""
    return Path(__file__).resolve().parents[1]


def _python_paths() -> list[str]:
    """The interpreter's installation and the virtual environment (bound read-only)."""
    paths = {str(Path(sys.prefix).resolve()), str(Path(sys.base_prefix).resolve()),
             str(Path(sys.executable).resolve().parents[1])}
    return sorted(p for p in paths if not any(p == d or p.startswith(d + "/") for d in SYSTEM_DIRS))


def _probe(cmd: list[str]) -> str:
    """'' when ``cmd`` imports the kit and exits 0, else the reason in a few words."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if r.returncode == 0 and r.stdout.strip() == "ok":
        return ""
    return ((r.stderr or r.stdout).strip().splitlines() or [f"exit {r.returncode}"])[-1][:200]


_PLAN: Plan | None = None


def plan(probe_dir: Path, kit: Path) -> Plan:
    """Decide (once per process) how to isolate submissions; ``kit`` is a redacted kit to test with."""
    global _PLAN
    if _PLAN is not None:
        return _PLAN
    as_root = os.geteuid() == 0
    test = [sys.executable, "-c", "import tsfmicro_lite.assignments.kernel_side; print('ok')"]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    reason = ""
    if os.environ.get("TSFMICRO_NO_SANDBOX"):
        reason = "disabled by $TSFMICRO_NO_SANDBOX"
    elif not shutil.which("bwrap"):
        reason = "bwrap not found (install Debian's bubblewrap)"
    elif as_root and not (shutil.which("setpriv") and shutil.which("prlimit")):
        reason = "setpriv/prlimit (util-linux) not found"
    else:
        probe_dir.mkdir(parents=True, exist_ok=True)
        if as_root:
            os.chown(probe_dir, NOBODY, NOBODY)
        candidate = Plan("bwrap", "", as_root, _python_paths())
        reason = _probe(candidate.command(test, probe_dir, kit, Limits(cpu_seconds=60), env))
        if not reason:
            who = f"uid {NOBODY}" if as_root else "own uid in a user namespace"
            candidate.isolation = (f"bwrap sandbox (pid/net/ipc/mount namespaces, {who}, read-only kit with "
                                   "references off, memory/CPU/process limits)")
            _PLAN = candidate
            return _PLAN
    if as_root and shutil.which("setpriv") and shutil.which("prlimit"):
        fallback = Plan("uid", "")
        why = _probe(fallback.command(test, probe_dir, kit, Limits(cpu_seconds=60), env))
        if not why:
            fallback.isolation = (f"NO SANDBOX ({reason}): uid {NOBODY} + memory/CPU/process limits; files "
                                  "readable by everyone stay readable")
            fallback.reason = reason
            _PLAN = fallback
            return _PLAN
        reason += f"; uid {NOBODY} cannot run {sys.executable}: {why}"
    kind = "none" if shutil.which("prlimit") else "bare"
    who = ("ROOT, refused unless allowed (--allow-root): submissions would run as root" if as_root
           else "the grader's own uid")
    _PLAN = Plan(kind, f"NO SANDBOX ({reason}): {who}{_LIMITS_NOTE[kind]}", as_root, reason=reason)
    return _PLAN


_LIMITS_NOTE = {"none": " + memory/CPU/process limits only", "bare": ", no limits either"}


class RootRefused(RuntimeError):
    """A root grader with no sandbox and no uid to drop to: student code would run as root."""


def admit(p: Plan, allow_root: bool = False) -> Plan:
    """The plan to grade with: ``p`` itself, unless it runs submissions as root.

    Root with limits only (kind ``none`` or ``bare`` as root) raises :class:`RootRefused`, one line naming why
    and the fixes; with ``allow_root`` it is kept, as a copy whose ``isolation`` records the opt-in.
    """
    if p.kind not in _LIMITS_NOTE or not p.as_root:
        return p
    if not allow_root:
        if p.reason.startswith("disabled by"):
            sandbox = "unset $TSFMICRO_NO_SANDBOX"
        elif "util-linux" in p.reason:
            sandbox = "install util-linux (setpriv, prlimit)"
        else:
            sandbox = "install bubblewrap (Debian's bubblewrap) and let it create namespaces"
        raise RootRefused(f"refusing to grade as root without a sandbox ({p.reason}): submissions would run as "
                          f"root. Fix: {sandbox}; or put the kit, its virtual environment and its Python where uid "
                          f"{NOBODY} can read them (not under /root); or pass --allow-root (Python: "
                          "allow_root=True) to run them as root anyway.")
    return replace(p, isolation=f"NO SANDBOX ({p.reason}): ROOT, opted in with --allow-root: submissions run as "
                                f"root{_LIMITS_NOTE[p.kind]}")
