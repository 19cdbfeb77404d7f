"""Grade a folder of submitted notebooks (``tsfmicro assignments grade SUBMISSIONS_DIR``).

How a folder is graded:
1. Every submission is copied into a private staging folder (root-only when the grader is root)
   and hashed (the ``sha256`` column) before the first one runs; nothing a submission does later
   can change what the others are graded on.
2. Each submission runs in its own sandbox (:mod:`.sandbox`: bubblewrap namespaces, uid 65534,
   memory / CPU / process limits, a kit copy with the assignment's references switched off by
   :mod:`.redact`). The grader appends one cell that serves calls (:mod:`.kernel_side`).
3. **Judged outside.** For each exercise the grader runs the exercise's check *in its own process*
   with a fresh seed; the check's calls to the student's function go to the sandbox as requests
   and come back as plain data (:mod:`.protocol`). Comparison with the reference, score and hints
   are computed here. Nothing the student's code prints, patches or signs reaches the verdict.
4. Student cells get ``cell_timeout`` seconds each (then an interrupt, and the run goes on); each
   call from the grader gets ``cell_timeout`` too; the whole sandbox is killed at ``timeout``.
   Killing it ends every process it started (PID namespace).
5. ``grades.csv`` (one row per submission: ``status``, ``timed_out_cells``, ``isolation``, ``flags``,
   ``sandbox_flags``, one column per exercise) and a Markdown feedback file per submission are
   written atomically by this process, in a folder no sandbox can see.

Two kinds of flags, never part of a score. ``flags`` are **observed by the grader**: the static scan
of the submitted code in this process (:mod:`.scan`: references used, solutions read, processes
started or detached, signals, files written outside its folder, patches of the kit) and the
grader's own clocks (a call that took the whole time limit, the wall-clock kill).
``sandbox_flags`` are **reported by the sandbox**: read from what the submission's process wrote
(its cells' errors, its replies: "called the reference" when a redacted reference raised inside),
so a submission can suppress or fake them; they are extra evidence only.

Data: the SynthME profiles an assignment reads (``Assignment.synth_profiles``) are generated once per
grading run in this process (or taken from the grader's cache), copied into the staging folder and
shown read-only in every sandbox at the kit's cache path, so no submission spends its time (or its
CPU limit) regenerating them. The checks' inputs stay fresh: a new seed per exercise per submission.

Limits: where bwrap cannot run, the ``isolation`` column says so and the fallback (a separate uid,
limits) cannot hide files readable by everyone, nor the kit's sources; where uid 65534 cannot run the
interpreter either, submissions run as the grader's own uid. When that uid is root, grading is refused
(:class:`.sandbox.RootRefused`, one line naming why and the fixes) unless ``allow_root=True``
(``--allow-root``), and then the ``isolation`` column records the opt-in.
A student can still copy the kit's public code into the notebook: the README says to write
course-specific variants.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pickle
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import psutil
import torch

from ..synth import default_root, make_synthme
from ..utils.io import atomic_write_bytes, atomic_write_text
from .catalog import ASSIGNMENTS, Assignment, get_assignment
from .checks import get_check
from .checks.core import SANDBOX_ENV, Abort, CheckResult, Mismatch
from .kernel_side import DONE, READY, serve_source
from .protocol import MAX_REPLY_BYTES, decode, loads, reply_name, request_name
from .redact import redacted_kit
from .sandbox import NOBODY, Limits, Plan, admit, plan
from .scan import scan_notebook, summarise

# reported by the sandbox (what the submission's process wrote: its replies, its cells' errors)
FLAG_REFERENCE = "called the reference"
FLAG_KIT = "handed in the kit's code"
FLAG_OUTSIDE = "touched files outside its folder (blocked)"
FLAG_MEMORY = "hit the memory limit"
FLAG_TIMEOUT_REPORTED = "a call timed out (its own alarm)"
# observed by the grader (its own clocks; the static scan's flags are in .scan)
FLAG_CUT = "a call was cut off at the time limit"
FLAG_KILLED = "killed at the wall-clock limit"
SANDBOX_CACHE = "/tmp/cache"        # $TSFMICRO_CACHE inside a bwrap sandbox (its private /tmp)


@dataclass
class ExerciseGrade:
    exercise: str
    points: float
    max_points: float
    passed: bool
    message: str
    hints: list[str] = field(default_factory=list)


@dataclass
class SubmissionGrade:
    student: str
    assignment: str
    path: Path
    status: str                               # "ok", "timed out ...", "kernel died ...", "not a notebook ..."
    exercises: list[ExerciseGrade]
    timed_out_cells: list[int] = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""
    flags: list[str] = field(default_factory=list)            # observed by the grader
    sha256: str = ""
    sandbox_flags: list[str] = field(default_factory=list)    # reported by the sandbox (evidence only)

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_total(self) -> float:
        return sum(e.max_points for e in self.exercises)


# ------------------------------------------------------------------------------ discovery
def find_submissions(root: Path, assignment: str | None = None) -> list[tuple]:
    """``root/<student>/<file>.ipynb`` (student = folder) or ``root/<student>.ipynb`` (student = stem).

    The assignment comes from ``assignment`` if given, else from the notebook's metadata, else from
    an assignment slug or id in the file name. Entries are ``(student, assignment, path)``, or
    ``(student, None, path, reason)`` for a file whose assignment cannot be told.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"submissions folder {root} does not exist.")
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts or path.is_symlink():
            continue
        rel = path.relative_to(root)
        student = rel.parts[0] if len(rel.parts) > 1 else path.stem
        try:
            found.append((student, _which_assignment(path, assignment), path))
        except (ValueError, KeyError) as exc:            # one odd file must not stop the others' grading
            found.append((student, None, path, str(exc)))
    if not found:
        raise FileNotFoundError(f"no .ipynb files under {root}; expected <student>/<assignment>.ipynb "
                                "or <student>.ipynb.")
    return found


def _which_assignment(path: Path, forced: str | None) -> Assignment:
    if forced:
        return get_assignment(forced)
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("tsfmicro_assignment", {})
        if meta.get("id"):
            return get_assignment(meta["id"])
    except (ValueError, KeyError, OSError, AttributeError):
        pass
    for a in ASSIGNMENTS:
        if a.slug.lower() in path.stem.lower() or path.stem.upper().startswith(a.id + "_"):
            return a
    raise ValueError(f"{path}: cannot tell which assignment this is (no tsfmicro_assignment metadata, no "
                     f"assignment name in the file name); pass --assignment A1..A{len(ASSIGNMENTS)}.")


# ------------------------------------------------------------------------------ the channel
def _read_untrusted(path: Path, limit: int) -> bytes | None:
    """Bytes of a regular file the sandbox wrote (no symlinks followed, size capped), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


class Channel:
    """The grader's end of the request/reply files shared with one sandbox."""

    def __init__(self, requests: Path, replies: Path, proc: subprocess.Popen, call_timeout: float, deadline: float):
        self.io, self.out, self.proc, self.call_timeout, self.deadline = requests, replies, proc, call_timeout, deadline
        self.i, self.dead = 0, ""
        self.flags: set[str] = set()          # observed here (clocks, kills)
        self.reported: set[str] = set()       # said by the sandbox's replies

    def wait_ready(self) -> bool:
        while time.monotonic() < self.deadline:
            if (self.out / READY).exists():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def request(self, req: dict) -> Any:
        if self.dead:
            raise Abort(self.dead)
        self.i += 1
        atomic_write_bytes(self.io / request_name(self.i), pickle.dumps(req, protocol=pickle.HIGHEST_PROTOCOL))
        sent = time.monotonic()
        limit = min(self.deadline, time.monotonic() + self.call_timeout + 10)
        path = self.out / reply_name(self.i)
        while True:
            data = _read_untrusted(path, MAX_REPLY_BYTES) if path.exists() else None
            if data is not None:
                break
            if self.proc.poll() is not None:
                self.dead = "the notebook's kernel stopped while computing (a crash, os._exit, or a limit)."
                raise Abort(self.dead)
            if time.monotonic() > limit:
                self.flags.add(FLAG_CUT)
                self.dead = "cut off at the time limit (an endless loop that ignores interrupts?)."
                raise Abort(self.dead)
            time.sleep(0.003)
        try:
            rep = loads(data.decode("utf-8"))
            ok, kind, message = bool(rep.get("ok")), str(rep.get("kind", "")), str(rep.get("message", ""))
        except (ValueError, AttributeError, UnicodeDecodeError):
            raise Mismatch("the notebook sent back something unreadable.") from None
        if ok:
            if "handle" in rep:
                return _remote_module(self, req.get("name", "module"), int(rep["handle"]))
            return decode(rep.get("value"))
        if kind == "notimpl":
            raise NotImplementedError(message)
        if kind == "blocked":
            self.reported.add(FLAG_REFERENCE)
            raise Abort(f"your code calls the kit's reference implementation ({message.split(': ', 1)[0]}), "
                        "which is switched off while this assignment is graded.",
                        "Write the computation yourself; wrapping the kit's function scores 0.")
        if kind == "kit":
            self.reported.add(FLAG_KIT)
            raise Abort(message, "Write the function yourself in the notebook; the check compares it with the kit's.")
        if kind == "timeout":
            self.reported.add(FLAG_TIMEOUT_REPORTED)
            if time.monotonic() - sent >= 0.95 * self.call_timeout:      # and it did take the whole limit
                self.flags.add(FLAG_CUT)
            raise Abort(f"cut off at the time limit: {message}")
        if kind == "missing":
            raise Abort(message, "Keep the names of the exercise cells; run every cell top to bottom.")
        raise Mismatch(f"your code raised {message}.", "Run your function by hand on a small input and print the "
                       "shapes of the intermediate arrays.")

    def function(self, name: str):
        def proxy(*args, **kwargs):
            return self.request({"op": "call", "name": name, "args": args, "kwargs": kwargs})
        proxy.__name__ = proxy.__qualname__ = name
        proxy.__module__ = "__submission__"
        return proxy


class _RemoteModule(torch.nn.Module):
    """A module the student's class built inside the sandbox; calls go there."""

    def __init__(self, channel: Channel, handle: int):
        super().__init__()
        self._channel, self._handle = channel, handle

    def _call(self, method: str, *args):
        return self._channel.request({"op": "method", "obj": self._handle, "method": method, "args": args})

    def train(self, mode: bool = True):
        self._call("train", mode)
        return self

    def forward(self, *args):
        return self._call("__call__", *args)


def _remote_module(channel: Channel, name: str, handle: int) -> _RemoteModule:
    cls = type(name, (_RemoteModule,), {"__module__": "__submission__"})
    return cls(channel, handle)


# ------------------------------------------------------------------------------ one submission
def _kill(proc: subprocess.Popen, token: str) -> None:
    """Kill the sandbox's process group, then any process carrying this submission's token."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    for p in psutil.process_iter(["pid"]):
        try:
            if p.pid != os.getpid() and p.environ().get("TSFMICRO_GRADING_TOKEN") == token:
                p.kill()
        except (psutil.Error, OSError):
            continue


def _grade_exercise(channel: Channel, ex, seed: int) -> ExerciseGrade:
    try:
        missing = channel.request({"op": "missing", "names": [*ex.symbols, *ex.kwargs.values()]})
        if missing:
            return ExerciseGrade(ex.id, 0.0, ex.points, False,
                                 f"{', '.join(map(str, missing))} is not defined in the notebook.",
                                 ["Keep the names of the exercise cells; run every cell top to bottom."])
        kwargs = {k: channel.request({"op": "get", "name": v}) for k, v in ex.kwargs.items()}
        result: CheckResult = get_check(ex.id)(*[channel.function(n) for n in ex.symbols], **kwargs, seed=seed)
    except Abort as exc:
        result = CheckResult(ex.id, False, 0.0, str(exc), exc.hints)
    except Exception as exc:  # noqa: BLE001 - a check that trips over odd outputs is a 0, not a crash
        result = CheckResult(ex.id, False, 0.0, f"the check could not use your outputs: {type(exc).__name__}: {exc}")
    score = min(max(float(result.score), 0.0), 1.0)
    return ExerciseGrade(ex.id, round(ex.points * score, 3), ex.points, bool(result.passed), result.message,
                         list(result.hints))


def _zero(assignment: Assignment, message: str) -> list[ExerciseGrade]:
    return [ExerciseGrade(e.id, 0.0, e.points, False, message) for e in assignment.exercises]


def _run_flags(executed: Any, inside: str) -> list[str]:
    """Flags read from the cells' errors: reported by the sandbox (it wrote them), evidence only, never a score."""
    flags = set()
    for cell in getattr(executed, "cells", []) if executed is not None else []:
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            ename, evalue = str(out.get("ename", "")), str(out.get("evalue", ""))
            if ename == "MemoryError" or "Unable to allocate" in evalue:
                flags.add(FLAG_MEMORY)
            # its own files are in its folder; anything else it names by absolute path is outside it
            if ename in ("PermissionError", "FileNotFoundError", "OSError", "IsADirectoryError") and "'/" in evalue \
                    and not any(f"'{p}" in evalue for p in (f"{inside}/", f"{inside}'")):
                flags.add(FLAG_OUTSIDE)
    return sorted(flags)


def _scan(nb: Any, assignment: str, inside: str) -> list[str]:
    """The static scan's flags (observed by the grader); a scan that fails says so instead of crashing."""
    try:
        return summarise(scan_notebook(nb, assignment, allowed=(inside, "/dev/null", "/dev/stdout", "/dev/stderr")))
    except Exception as exc:  # noqa: BLE001 - the scan is evidence; grading goes on without it
        return [f"the static scan failed ({type(exc).__name__}: {exc})"]


@dataclass
class _Context:
    """What one grading run shares: the staging folder, the sandbox plan, the redacted kits, the data."""

    staging: Path
    plan: Plan
    kits: dict[str, Path]
    limits: Limits
    data: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)  # id -> (copy, path under the cache)


def grade_notebook(path: Path, assignment: Assignment, student: str, *, timeout: float = 300.0,
                   cell_timeout: float = 60.0, context: _Context | None = None,
                   allow_root: bool = False) -> SubmissionGrade:
    """Run one (already staged) submission in its sandbox and judge its outputs from outside.

    ``allow_root``: run it as root where no sandbox and no uid 65534 can (else :class:`.sandbox.RootRefused`).
    """
    raw = Path(path).read_bytes()
    try:
        nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - a broken file is a grade, not a crash
        return SubmissionGrade(student, assignment.id, path, f"not a readable notebook ({exc})",
                               _zero(assignment, "the notebook could not be read."),
                               sha256=hashlib.sha256(raw).hexdigest())
    own = context is None
    ctx = context
    if ctx is None:
        staging = Path(tempfile.mkdtemp(prefix="tsfmicro-grading-"))
        try:
            ctx = _context(staging, {assignment.id}, timeout, allow_root=allow_root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    try:
        return _grade(path, assignment, student, timeout, cell_timeout, ctx)
    finally:
        if own:
            shutil.rmtree(ctx.staging, ignore_errors=True)


def isolation_plan() -> Plan:
    """How this machine would isolate submissions (builds a throw-away redacted kit to probe with).

    A probe, so never refused: a root plan without a sandbox comes back as it is (its ``isolation`` says
    it is refused unless allowed); grading with it raises :class:`.sandbox.RootRefused`.
    """
    staging = Path(tempfile.mkdtemp(prefix="tsfmicro-probe-"))
    try:
        return _context(staging, {ASSIGNMENTS[0].id}, 60, with_data=False, allow_root=None).plan
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _grade(path: Path, assignment: Assignment, student: str, timeout: float, cell_timeout: float,
           ctx: _Context) -> SubmissionGrade:
    t0 = time.monotonic()
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - a broken file is a grade, not a crash
        return SubmissionGrade(student, assignment.id, path, f"not a readable notebook ({exc})",
                               _zero(assignment, "the notebook could not be read."), sha256=sha,
                               isolation=ctx.plan.isolation)
    # requests: written by the grader only, in a root-owned folder outside the submission's (which the
    # submission could fill with symlinks); replies: in the submission's folder, read without following links
    work = Path(tempfile.mkdtemp(prefix="sub-", dir=ctx.staging / "work"))
    requests = Path(f"{work}-requests")
    requests.mkdir(mode=0o755)
    (work / "out").mkdir()
    inside = Path("/sub") if ctx.plan.kind == "bwrap" else work
    inside_requests = Path("/io") if ctx.plan.kind == "bwrap" else requests
    # the static scan runs here, in the grader, on the staged copy, before the grading cell is added
    static = _scan(nb, assignment.id, str(inside))
    cell = nbformat.v4.new_code_cell(serve_source(str(inside_requests), str(inside / "out"), cell_timeout))
    cell.metadata["tsfmicro_grading"] = assignment.id
    nb.cells.append(cell)
    atomic_write_text(work / "submission.ipynb", nbformat.writes(nb))
    (work / "tmp").mkdir()
    data = [(src, f"{SANDBOX_CACHE}/{rel}") for src, rel in ctx.data.get(assignment.id, [])]
    if ctx.plan.kind != "bwrap":          # no read-only binds: each gets its own copy (still generated only once)
        for src, rel in ctx.data.get(assignment.id, []):
            shutil.copytree(src, work / "tmp" / "cache" / rel)
        data = []
    if os.geteuid() == 0 and (ctx.plan.kind == "uid" or (ctx.plan.kind == "bwrap" and ctx.plan.as_root)):
        for p in [work, *work.rglob("*")]:
            os.chown(p, NOBODY, NOBODY)
    token = secrets.token_hex(16)
    tmp_inside = "/tmp" if ctx.plan.kind == "bwrap" else str(work / "tmp")
    env = {"PATH": "/usr/bin:/bin", "HOME": tmp_inside, "LANG": "C.UTF-8", SANDBOX_ENV: "1",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{tmp_inside}/mpl", "TSFMICRO_CACHE": f"{tmp_inside}/cache",
           "TSFMICRO_FIGURES": f"{tmp_inside}/figures", "IPYTHONDIR": f"{tmp_inside}/ipython",
           "JUPYTER_RUNTIME_DIR": f"{tmp_inside}/jupyter", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "TSFMICRO_GRADING_TOKEN": token}
    kit = ctx.kits[assignment.id]
    if ctx.plan.kind != "bwrap":
        env["PYTHONPATH"] = str(kit.parent)
    argv = [sys.executable, "-m", "tsfmicro_lite.assignments.runner", str(inside / "submission.ipynb"),
            str(inside / "executed.ipynb"), "--cell-timeout", str(cell_timeout), "--serve-timeout", str(timeout)]
    cmd = ctx.plan.command(argv, work, kit, ctx.limits, env, requests, data)
    deadline = t0 + timeout
    proc = subprocess.Popen(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    channel = Channel(requests, work / "out", proc, cell_timeout, deadline)
    status, grades = "ok", None
    try:
        if channel.wait_ready():
            seeds = {ex.id: secrets.randbelow(2**31) for ex in assignment.exercises}
            grades = [_grade_exercise(channel, ex, seeds[ex.id]) for ex in assignment.exercises]
            atomic_write_text(requests / DONE, "1")
            try:
                proc.wait(timeout=max(1.0, min(15.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                pass
        elif proc.poll() is None:
            status = f"timed out after {timeout:g} s (cut off; an endless loop that ignores interrupts?)"
            channel.flags.add(FLAG_KILLED)
    finally:
        _kill(proc, token)
    executed = None
    data = _read_untrusted(work / "executed.ipynb", 64 * 2**20)
    if data is not None:
        try:
            executed = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception:  # noqa: BLE001 - written by the sandbox: informational only
            executed = None
    slow: list[int] = []
    if executed is not None:
        run = executed.metadata.get("tsfmicro_run", {})
        if status == "ok":
            status = str(run.get("status", "ok"))
        slow = [int(i) for i in run.get("timed_out_cells", []) if isinstance(i, int)]
    elif status == "ok" and grades is None:
        status = "the notebook stopped before the grader could call it (the kernel or the runner crashed)"
    if grades is None:
        grades = _zero(assignment, "no result: the notebook never reached the grading cell (time limit, crash, "
                       "or the notebook stopped the kernel).")
    flags = [*static, *sorted(channel.flags)]
    reported = sorted(channel.reported | set(_run_flags(executed, str(inside))))
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(requests, ignore_errors=True)
    return SubmissionGrade(student, assignment.id, path, status, grades, slow, time.monotonic() - t0,
                           ctx.plan.isolation, flags, sha, reported)


def _context(staging: Path, assignments: set[str], timeout: float, with_data: bool = True,
             allow_root: bool | None = False) -> _Context:
    """Kits, plan and data of one grading run; ``allow_root=None`` probes only (no refusal, see :func:`admit`)."""
    os.chmod(staging, 0o711)
    (staging / "work").mkdir()
    os.chmod(staging / "work", 0o711)
    kits = {}
    for a in sorted(assignments):
        kits[a] = redacted_kit(staging / f"kit-{a}", a)
        for p in [staging / f"kit-{a}", *kits[a].rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=staging / "work"))
    sandbox_plan = plan(probe, kits[sorted(assignments)[0]])
    shutil.rmtree(probe, ignore_errors=True)
    if allow_root is not None:
        sandbox_plan = admit(sandbox_plan, allow_root)       # before the data: a refused run generates nothing
    return _Context(staging, sandbox_plan, kits, Limits(cpu_seconds=int(timeout) + 30),
                    _shared_data(staging, assignments) if with_data else {})


def _shared_data(staging: Path, assignments: set[str]) -> dict[str, list[tuple[Path, str]]]:
    """Generate (or reuse from the grader's cache) each SynthME profile the assignments read, once.

    The copy in the staging folder is readable by uid 65534 and never written to while grading; its
    path under the kit's cache (``synthme/quick-seed0-v4``) is where the notebook's ``make_synthme``
    looks, so it finds a finished dataset instead of generating one.
    """
    copies: dict[str, Path] = {}
    out: dict[str, list[tuple[Path, str]]] = {}
    for a in sorted(assignments):
        for profile in get_assignment(a).synth_profiles:
            if profile not in copies:
                source = make_synthme(profile=profile)          # the notebooks' default seed; cached after the first
                rel = default_root(profile).relative_to(default_root(profile).parents[1]).as_posix()
                copies[profile] = staging / "data" / rel
                shutil.copytree(source, copies[profile])
                for p in [staging / "data", *(staging / "data").rglob("*")]:
                    os.chmod(p, 0o755 if p.is_dir() else 0o644)
            rel = copies[profile].relative_to(staging / "data").as_posix()
            out.setdefault(a, []).append((copies[profile], rel))
    return out


# ------------------------------------------------------------------------------ a folder
def grade_folder(root: Path, out_dir: Path, *, assignment: str | None = None, timeout: float = 300.0,
                 cell_timeout: float = 60.0, workers: int = 1, allow_root: bool = False) -> list[SubmissionGrade]:
    """Grade every submission under ``root``; write ``out_dir/grades.csv`` and ``out_dir/feedback/``.

    A root grader with no sandbox and no uid 65534 raises :class:`.sandbox.RootRefused` before anything runs
    or is written, unless ``allow_root`` (then the ``isolation`` column says so).
    """
    subs = find_submissions(Path(root), assignment)
    staging = Path(tempfile.mkdtemp(prefix="tsfmicro-grading-"))
    try:
        (staging / "subs").mkdir(mode=0o700)
        staged = []
        for i, entry in enumerate(subs):                    # copy (and hash) everything before anything runs
            copy = staging / "subs" / f"{i:04d}.ipynb"
            shutil.copyfile(entry[2], copy)
            staged.append((entry, copy))
        ctx = _context(staging, {e[1].id for e in subs if e[1] is not None}, timeout, allow_root=allow_root) if any(
            e[1] is not None for e in subs) else None

        def one(item: tuple) -> SubmissionGrade:
            entry, copy = item
            if entry[1] is None:
                return SubmissionGrade(entry[0], "?", entry[2], f"not graded: {entry[3]}", [],
                                       sha256=hashlib.sha256(copy.read_bytes()).hexdigest())
            g = _grade(copy, entry[1], entry[0], timeout, cell_timeout, ctx)
            g.path = entry[2]
            return g

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            grades = list(pool.map(one, staged))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "grades.csv", to_csv(grades))
    for g in grades:
        atomic_write_text(out_dir / "feedback" / f"{_safe(g.student)}_{g.assignment}.md", feedback(g))
    return grades


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def to_csv(grades: list[SubmissionGrade]) -> str:
    columns = [e.id for a in ASSIGNMENTS for e in a.exercises if any(g.assignment == a.id for g in grades)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "assignment", "file", "sha256", "status", "timed_out_cells", "isolation", "flags",
                "sandbox_flags", *columns, "total", "max", "seconds"])
    for g in grades:
        pts = {e.exercise: e.points for e in g.exercises}
        w.writerow([g.student, g.assignment, g.path.name, g.sha256, g.status,
                    " ".join(map(str, g.timed_out_cells)), g.isolation, "; ".join(g.flags),
                    "; ".join(g.sandbox_flags), *[pts.get(c, "") for c in columns], round(g.total, 3),
                    g.max_total, round(g.seconds, 1)])
    return buf.getvalue()


def feedback(g: SubmissionGrade) -> str:
    title = get_assignment(g.assignment).title if g.assignment != "?" else "unknown assignment"
    lines = [f"# {g.assignment}: {title}", "", f"Student: {g.student}  ", f"File: {g.path.name}  ",
             f"Score: **{g.total:g} / {g.max_total:g}**  ", f"Run: {g.status}", ""]
    if g.flags:
        lines += [f"Flags (observed by the grader): {'; '.join(g.flags)}", ""]
    if g.sandbox_flags:
        lines += [f"Reported by the sandbox (evidence only): {'; '.join(g.sandbox_flags)}", ""]
    if g.timed_out_cells:
        lines += [f"Cells {g.timed_out_cells} hit the per-cell time limit and were interrupted.", ""]
    for e in g.exercises:
        mark = "passed" if e.passed else "not yet"
        lines.append(f"## {e.exercise}: {e.points:g} / {e.max_points:g} ({mark})")
        lines.append("")
        lines.append(e.message)
        lines += [f"- {h}" for h in e.hints]
        lines.append("")
    lines.append("Checks run your functions on fresh random inputs each time; run the check cells in the "
                 "notebook to see the same messages while you work.")
    return "\n".join(lines) + "\n"
