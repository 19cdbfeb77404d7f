"""Grade a folder of submitted notebooks (``tsfmicro assignments grade SUBMISSIONS_DIR``).

How one submission is graded:
1. It is copied into its own temporary folder, and the grader appends one *grading cell* per
   exercise (see :mod:`.kernel_side`), each with a fresh random HMAC key, nonce and check seed.
2. A separate process (:mod:`.runner`) executes it headlessly with nbclient, working directory =
   that temp folder. Each cell has ``cell_timeout`` seconds, then the kernel is interrupted and the
   run continues; the whole process tree is killed at ``timeout`` seconds (loops that ignore
   interrupts, ``sleep`` in C code, a hung kernel).
3. The grader reads the executed copy and accepts, per exercise, only the line of *its own* grading
   cell that carries the expected nonce and a valid signature. Everything the student's cells print
   (fake "PASSED" lines, fake markers) is ignored. The score of an exercise = points x the fraction
   of the check's fresh random cases that passed.
4. A CSV (one row per submission, one column per exercise) and a Markdown feedback file per
   submission are written atomically once every submission is done, by this process only.

Limits (say them to students and colleagues; this is not a sandbox):
- Student code runs with the grader's user rights: it can read or write files elsewhere, use the
  network, or read the key from IPython's input history *while a grading cell runs* (e.g. from a
  background thread it left behind) and forge a signed line. Grade untrusted work inside a
  container or as an unprivileged user with no network; the signing defeats casual cheating
  (printing markers, patching ``tsfmicro_lite.check``), not a determined attacker.
- Checks run the student's function in the student's process; a function that monkeypatches numpy
  or torch can fool a comparison. The instructor should read code that scores suspiciously.
- Submissions run one after another by default (``workers=1``); with more workers a malicious
  notebook could interfere with the temp folder of another running at the same time.
"""
from __future__ import annotations

import csv
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

from ..utils.io import atomic_write_text
from .catalog import ASSIGNMENTS, Assignment, get_assignment
from .kernel_side import MARKER, grading_source, sign


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
    status: str                               # "ok", "timed out", "kernel died ...", "not a notebook ..."
    exercises: list[ExerciseGrade]
    timed_out_cells: list[int] = field(default_factory=list)
    seconds: float = 0.0

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
        if ".ipynb_checkpoints" in path.parts:
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
    except (ValueError, KeyError, OSError):
        pass
    for a in ASSIGNMENTS:
        if a.slug.lower() in path.stem.lower() or path.stem.upper().startswith(a.id + "_"):
            return a
    raise ValueError(f"{path}: cannot tell which assignment this is (no tsfmicro_assignment metadata, no "
                     f"assignment name in the file name); pass --assignment A1..A{len(ASSIGNMENTS)}.")


# ------------------------------------------------------------------------------ one submission
def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the runner and every process it started (the kernel lives in its own session)."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - already gone
        children = []
    for p in children:
        try:
            p.kill()
        except Exception:  # noqa: BLE001
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def grade_notebook(path: Path, assignment: Assignment, student: str, *, timeout: float = 300.0,
                   cell_timeout: float = 60.0) -> SubmissionGrade:
    """Execute one submission in isolation and score it from its signed grading-cell lines."""
    t0 = time.monotonic()
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - a broken file is a grade, not a crash
        return SubmissionGrade(student, assignment.id, path, f"not a readable notebook ({exc})",
                               [ExerciseGrade(e.id, 0.0, e.points, False, "the notebook could not be read.")
                                for e in assignment.exercises])
    expected: dict[str, tuple[str, str]] = {}
    for ex in assignment.exercises:
        key, nonce = secrets.token_hex(32), secrets.token_hex(8)
        seed = secrets.randbelow(2**31)
        cell = nbformat.v4.new_code_cell(grading_source(key, nonce, ex.id, seed))
        cell.metadata["tsfmicro_grading"] = ex.id
        nb.cells.append(cell)
        expected[ex.id] = (key, nonce)
    status, slow = "ok", []
    with tempfile.TemporaryDirectory(prefix=f"tsfmicro-grade-{student}-") as tmp:
        src, dst = Path(tmp) / "submission.ipynb", Path(tmp) / "executed.ipynb"
        src.write_text(nbformat.writes(nb), encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tsfmicro_lite.assignments.runner", str(src), str(dst),
             "--cell-timeout", str(cell_timeout)],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            status = f"timed out after {timeout:g} s (cut off; an endless loop that ignores interrupts?)"
        executed = None
        if dst.exists():
            try:
                executed = nbformat.read(dst, as_version=4)
            except Exception:  # noqa: BLE001
                executed = None
        if executed is not None:
            run = executed.metadata.get("tsfmicro_run", {})
            status = run.get("status", status) if status == "ok" else status
            slow = list(run.get("timed_out_cells", []))
        elif status == "ok":
            status = "the runner wrote no result (the kernel or the runner crashed)"
    grades = _read_grades(executed, assignment, expected)
    return SubmissionGrade(student, assignment.id, path, status, grades, slow, time.monotonic() - t0)


def _read_grades(executed, assignment: Assignment, expected: dict[str, tuple[str, str]]) -> list[ExerciseGrade]:
    results: dict[str, dict] = {}
    if executed is not None:
        for cell in executed.cells:
            ex_id = cell.get("metadata", {}).get("tsfmicro_grading")
            if ex_id not in expected:
                continue                                   # student cells can print anything: ignored
            key, nonce = expected[ex_id]
            for out in cell.get("outputs", []):
                text = out.get("text", "") if out.get("output_type") == "stream" else ""
                for line in text.splitlines():
                    if not line.startswith(MARKER + " "):
                        continue
                    payload, _, sig = line[len(MARKER) + 1:].rpartition(" ")
                    if not secrets.compare_digest(sig, sign(key, payload)):
                        continue
                    data = json.loads(payload)
                    if data.get("nonce") == nonce and data.get("exercise") == ex_id:
                        results[ex_id] = data
    grades = []
    for ex in assignment.exercises:
        r = results.get(ex.id)
        if r is None:
            grades.append(ExerciseGrade(ex.id, 0.0, ex.points, False,
                                        "no valid result: the grading cell did not finish (time limit, crash, "
                                        "or the notebook stopped the kernel)."))
        else:
            score = min(max(float(r["score"]), 0.0), 1.0)
            grades.append(ExerciseGrade(ex.id, round(ex.points * score, 3), ex.points, bool(r["passed"]),
                                        r["message"], list(r.get("hints", []))))
    return grades


# ------------------------------------------------------------------------------ a folder
def grade_folder(root: Path, out_dir: Path, *, assignment: str | None = None, timeout: float = 300.0,
                 cell_timeout: float = 60.0, workers: int = 1) -> list[SubmissionGrade]:
    """Grade every submission under ``root``; write ``out_dir/grades.csv`` and ``out_dir/feedback/``."""
    subs = find_submissions(Path(root), assignment)
    def one(entry: tuple) -> SubmissionGrade:
        if entry[1] is None:
            return SubmissionGrade(entry[0], "?", entry[2], f"not graded: {entry[3]}", [])
        return grade_notebook(entry[2], entry[1], entry[0], timeout=timeout, cell_timeout=cell_timeout)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        grades = list(pool.map(one, subs))
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
    w.writerow(["student", "assignment", "file", "status", *columns, "total", "max", "seconds"])
    for g in grades:
        pts = {e.exercise: e.points for e in g.exercises}
        w.writerow([g.student, g.assignment, g.path.name, g.status, *[pts.get(c, "") for c in columns],
                    round(g.total, 3), g.max_total, round(g.seconds, 1)])
    return buf.getvalue()


def feedback(g: SubmissionGrade) -> str:
    title = get_assignment(g.assignment).title if g.assignment != "?" else "unknown assignment"
    lines = [f"# {g.assignment}: {title}", "", f"Student: {g.student}  ", f"File: {g.path.name}  ",
             f"Score: **{g.total:g} / {g.max_total:g}**  ", f"Run: {g.status}", ""]
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

