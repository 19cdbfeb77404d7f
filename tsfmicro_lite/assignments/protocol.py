"""What crosses the sandbox wall while grading: requests in, plain data (never pickles) out.

The grader writes one request file per call (``req-000001.pkl``: pickled by the grader, read by the
submission's kernel) and the kernel answers with ``rep-000001.json``. Replies come from untrusted
code, so they are JSON with arrays as base64 of numeric dtypes only: decoding one cannot run code.
A reply's value is whatever the student's function returned; every verdict is computed in the
grader's process from it (:mod:`.grade`).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

__all__ = ["BLOCKED_MARKER", "MAX_REPLY_BYTES", "Opaque", "decode", "encode", "request_name", "reply_name"]

BLOCKED_MARKER = "TSFMICRO-REFERENCE-BLOCKED"   # in the message of a redacted reference's exception
MAX_REPLY_BYTES = 256 * 2**20                   # a larger reply is refused (scores the case 0)
_NUMERIC = "biufc"


class Opaque:
    """Stands for a returned object that is not plain data (a module, a generator, ...)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def request_name(i: int) -> str:
    return f"req-{i:06d}.pkl"


def reply_name(i: int) -> str:
    return f"rep-{i:06d}.json"


def _array(x: Any) -> np.ndarray | None:
    if isinstance(x, np.ndarray | np.generic):
        return np.asarray(x)
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return None


def encode(x: Any, depth: int = 0) -> Any:
    """A JSON-able image of ``x``: numbers, strings, lists, tuples, dicts and numeric arrays."""
    if depth > 20:
        return {"__obj__": "nesting deeper than 20"}
    if x is None or isinstance(x, bool | int | float | str):
        return x
    arr = _array(x)
    if arr is not None:
        if arr.dtype.kind not in _NUMERIC:
            return {"__obj__": f"array of {arr.dtype}"}
        arr = np.array(arr, order="C")                 # (ascontiguousarray would make 0-d arrays 1-d)
        return {"__nd__": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}
    if isinstance(x, tuple):
        return {"__tuple__": [encode(v, depth + 1) for v in x]}
    if isinstance(x, list):
        return [encode(v, depth + 1) for v in x]
    if isinstance(x, dict):
        return {"__dict__": [[str(k), encode(v, depth + 1)] for k, v in x.items()]}
    return {"__obj__": type(x).__name__}


def decode(x: Any) -> Any:
    """Inverse of :func:`encode`; anything unexpected becomes an :class:`Opaque`, never code."""
    if x is None or isinstance(x, bool | int | float | str):
        return x
    if isinstance(x, list):
        return [decode(v) for v in x]
    if isinstance(x, dict):
        if "__nd__" in x:
            dtype, shape, data = x["__nd__"]
            dt = np.dtype(str(dtype))
            if dt.kind not in _NUMERIC:
                return Opaque(f"array of {dt}")
            return np.frombuffer(base64.b64decode(data), dtype=dt).reshape([int(s) for s in shape]).copy()
        if "__tuple__" in x:
            return tuple(decode(v) for v in x["__tuple__"])
        if "__dict__" in x:
            return {str(k): decode(v) for k, v in x["__dict__"]}
        return Opaque(str(x.get("__obj__", "object")))
    return Opaque(type(x).__name__)


def dumps(x: Any) -> str:
    return json.dumps(x)


def loads(text: str) -> Any:
    return json.loads(text)
