"""Runs inside a submission's kernel, in the one cell the grader appends: answers the grader's calls.

The student's process only computes. The appended cell calls :func:`serve`, which waits for
request files from the grader (fresh, seeded inputs it drew), calls the student's function or class
named in each, and writes back what it returned as plain data (:mod:`.protocol`). It never sees a
reference answer, a score or a hint: those are computed in the grader's own process. Whatever the
student's cells patched or printed can only change the student's own outputs, which the grader
then compares with the kit's reference outside the sandbox.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .protocol import BLOCKED_MARKER, dumps, encode, reply_name, request_name

__all__ = ["serve", "serve_source"]

READY = "ready"
DONE = "done"


class _CallTimeout(BaseException):
    """Raised in the student's function by the per-call alarm."""


def serve_source(requests_dir: str, replies_dir: str, call_timeout: float) -> str:
    """Source of the grading cell appended after the student's cells."""
    return ("import tsfmicro_lite.assignments.kernel_side as _tsf_k\n"
            f"_tsf_k.serve(globals(), {requests_dir!r}, {replies_dir!r}, {float(call_timeout)!r})\n")


def _is_kit(obj: Any) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return module == "tsfmicro_lite" or module.startswith("tsfmicro_lite.")


def _blocked(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 20:
        if BLOCKED_MARKER in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _where(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "tsfmicro_lite" not in f.filename]
    return f" (line {frames[-1].lineno}: `{(frames[-1].line or '').strip()}`)" if frames else ""


def _answer(req: dict, ns: dict, objects: dict) -> dict:
    op = req["op"]
    if op == "missing":
        return {"ok": True, "value": [n for n in req["names"] if n not in ns]}
    if op == "get":
        return {"ok": True, "value": encode(ns.get(req["name"]))}
    if op == "call":
        target = ns.get(req["name"])
        if target is None:
            return {"ok": False, "kind": "missing", "message": f"{req['name']} is not defined in the notebook."}
        if _is_kit(target):
            return {"ok": False, "kind": "kit",
                    "message": f"{req['name']} is the kit's own code (from {target.__module__}), not yours."}
    else:                                                       # "method" of a module a call returned
        target = getattr(objects[req["obj"]], req["method"])
    value = target(*req.get("args", ()), **req.get("kwargs", {}))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):     # a built module stays here; the grader
        objects[len(objects)] = value                                  # gets a handle and calls its methods
        return {"ok": True, "handle": len(objects) - 1}
    return {"ok": True, "value": encode(value)}


def serve(ns: dict, requests_dir: str, replies_dir: str, call_timeout: float) -> None:
    """Answer the request files of ``requests_dir`` (read-only here) in ``replies_dir`` until ``done``."""
    io, out = Path(requests_dir), Path(replies_dir)

    def on_alarm(signum, frame):
        raise _CallTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    (out / READY).write_text("1")
    objects: dict[int, Any] = {}
    i, idle_since = 1, time.monotonic()
    while not (io / DONE).exists():
        path = io / request_name(i)
        if not path.exists():
            if time.monotonic() - idle_since > 3600:
                return
            time.sleep(0.005)
            continue
        req = pickle.loads(path.read_bytes())
        try:
            signal.setitimer(signal.ITIMER_REAL, max(0.1, call_timeout))
            reply = _answer(req, ns, objects)
        except _CallTimeout:
            reply = {"ok": False, "kind": "timeout", "message": f"cut off after {call_timeout:g} s (an endless loop?)."}
        except NotImplementedError as exc:
            reply = {"ok": False, "kind": "notimpl", "message": str(exc)}
        except BaseException as exc:  # noqa: BLE001 - everything the student's code raises is reported
            kind = "blocked" if _blocked(exc) else "raised"
            reply = {"ok": False, "kind": kind, "message": f"{type(exc).__name__}: {exc}{_where(exc)}"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            text = dumps(reply)
        except (TypeError, ValueError) as exc:
            text = dumps({"ok": False, "kind": "raised", "message": f"the result could not be sent: {exc}"})
        tmp = out / f".{reply_name(i)}.tmp"
        tmp.write_text(text)
        os.replace(tmp, out / reply_name(i))
        i, idle_since = i + 1, time.monotonic()
