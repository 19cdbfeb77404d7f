"""Runs inside a submission's kernel, in the cells the grader appends after the student's cells.

Why the ceremony: the student's code ran in this same process before these cells, so nothing it
printed can be trusted, and it may have replaced ``tsfmicro_lite.check`` functions. Each grading
cell therefore (1) drops every ``tsfmicro_lite`` module from ``sys.modules`` and imports the checks
afresh from disk, (2) runs one check on the student's objects with a seed chosen by the grader,
and (3) prints one line signed with HMAC-SHA256 under a key that did not exist in this process
until the grading cell arrived. The grader accepts only correctly signed lines carrying the
nonce it expects, from its own cells. Limits are listed in ``grade.py``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .catalog import get_exercise
from .checks import CheckResult, get_check

MARKER = "TSFMICRO-GRADE"


def sign(key: str, payload: str) -> str:
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()


def grading_source(key: str, nonce: str, exercise_id: str, seed: int) -> str:
    """Source of one grading cell (the key appears only here, never before)."""
    return (
        "import sys as _tsf_sys, importlib as _tsf_il\n"
        "for _tsf_m in [m for m in list(_tsf_sys.modules) if m == 'tsfmicro_lite' or m.startswith('tsfmicro_lite.')]:\n"
        "    del _tsf_sys.modules[_tsf_m]\n"
        f"_tsf_il.import_module('tsfmicro_lite.assignments.kernel_side').report({key!r}, {nonce!r}, "
        f"{exercise_id!r}, {seed}, globals())\n"
    )


def report(key: str, nonce: str, exercise_id: str, seed: int, namespace: dict[str, Any]) -> None:
    """Run one exercise's check on the student's objects and print the signed result line."""
    ex = get_exercise(exercise_id)
    fn = get_check(ex.id)
    name = fn.__name__
    missing = [n for n in (*ex.symbols, *ex.kwargs.values()) if n not in namespace]
    if missing:
        result = CheckResult(name, False, 0.0, f"{', '.join(missing)} is not defined in the notebook.",
                             ["Keep the names of the exercise cells; run every cell top to bottom."])
    else:
        try:
            result = fn(*[namespace[n] for n in ex.symbols],
                        **{k: namespace[v] for k, v in ex.kwargs.items()}, seed=seed)
        except BaseException as exc:  # noqa: BLE001 - a KeyboardInterrupt here is a timeout
            result = CheckResult(name, False, 0.0, f"the check stopped: {type(exc).__name__}: {exc}")
            if isinstance(exc, KeyboardInterrupt):
                result.message = "cut off at the time limit (an endless loop?)."
    payload = json.dumps({**result.as_dict(), "check": name, "nonce": nonce, "exercise": exercise_id},
                         sort_keys=True)
    print(f"{MARKER} {payload} {sign(key, payload)}", flush=True)
