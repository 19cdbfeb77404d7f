"""The checks' framework: ``CheckResult``, comparing answers, running cases, registering a check.

A check runs the student's function on *fresh* random inputs (a new seed every call, unless one is
given), compares the answer with the package's own implementation, and explains a failure in
words: which shape, which element, what the two values were and what to look at. It never prints
the reference code and never dumps a bare assertion. Every check returns a :class:`CheckResult`,
which the notebook displays and which ``tsfmicro assignments grade`` counts.

Each assignment's checks live in their own module (``a1_inputs.py`` ... ``a4_evaluation.py``) and
register with ``@check("A2.3")``: the exercise id of :mod:`..catalog` they grade. The grader finds
the check of an exercise through that registry (:func:`get_check`).
"""
from __future__ import annotations

import html
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import torch

from ...utils.names import unknown
from ..catalog import get_exercise

__all__ = ["Abort", "CheckResult", "Mismatch", "check", "compare", "fresh_rng", "get_check", "is_package_code",
           "registered", "run_cases", "seeds", "to_numpy", "SANDBOX_ENV"]

SANDBOX_ENV = "TSFMICRO_SANDBOX"   # set inside the grading sandbox, where practice checks stand down

CheckFn = TypeVar("CheckFn", bound=Callable[..., "CheckResult"])


# --------------------------------------------------------------------------------------------
# Result object and comparison helpers
# --------------------------------------------------------------------------------------------
@dataclass
class CheckResult:
    """Outcome of one check: ``passed``, a ``score`` in [0, 1] (fraction of cases passed) and words.

    ``message`` is the one-line verdict; ``hints`` say what to look at. Truthy when passed, so
    ``assert check.uf1(my_uf1)`` also works in a script.
    """

    exercise: str
    passed: bool
    score: float
    message: str
    hints: list[str] = field(default_factory=list)
    cases: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mark = "PASSED" if self.passed else "NOT YET"
        lines = [f"[{mark}] {self.exercise}: {self.message} (score {self.score:.2f})"]
        lines += [f"  - {h}" for h in self.hints]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.passed else "#b3261e"
        mark = "&#10004; passed" if self.passed else "&#10008; not yet"
        hints = "".join(f"<li>{html.escape(h)}</li>" for h in self.hints)
        return (f"<div style='border-left:4px solid {colour};padding:4px 8px'>"
                f"<b style='color:{colour}'>{mark}</b> &mdash; <code>{html.escape(self.exercise)}</code>: "
                f"{html.escape(self.message)} <small>(score {self.score:.2f})</small>"
                f"{'<ul>' + hints + '</ul>' if hints else ''}</div>")

    def as_dict(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "passed": bool(self.passed), "score": float(self.score),
                "message": self.message, "hints": list(self.hints), "cases": int(self.cases)}


class Mismatch(Exception):
    """Raised inside a check with a sentence for the student (and hints)."""

    def __init__(self, message: str, *hints: str):
        super().__init__(message)
        self.hints = list(hints)


class Abort(Exception):
    """Raised inside a check when the exercise scores 0 outright (the reference was called, a time-out)."""

    def __init__(self, message: str, *hints: str):
        super().__init__(message)
        self.hints = list(hints)


def fresh_rng(seed: int | None) -> np.random.Generator:
    """A generator on ``seed``; ``None`` gives fresh inputs on every call."""
    return np.random.default_rng(seed)


def to_numpy(x: Any, what: str) -> np.ndarray:
    """Accept numpy arrays, torch tensors, lists and floats; say clearly when it is none of those."""
    if x is None:
        raise Mismatch(f"{what} returned None.", "Did you forget a `return` statement at the end of the function?")
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception:
        raise Mismatch(f"{what} returned a {type(x).__name__}, which is not an array.",
                       "Return a numpy array or a torch tensor.") from None


def compare(what: str, got: Any, expected: np.ndarray, *, atol: float = 1e-5, rtol: float = 1e-4,
            hint: str = "") -> None:
    """Compare shapes first, then values; on a mismatch name the worst element and both values."""
    got = to_numpy(got, what)
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        hints = [f"expected shape {expected.shape}, got {got.shape}."]
        if got.size == expected.size:
            hints.append("Same number of elements: a transpose or a reshape is in the wrong order.")
        elif got.ndim == expected.ndim - 1:
            hints.append("One axis is missing: did a sum or mean run over an axis it should keep?")
        raise Mismatch(f"{what} has the wrong shape.", *hints)
    if not np.issubdtype(got.dtype, np.number) and got.dtype != bool:
        raise Mismatch(f"{what} holds {got.dtype} values, not numbers.")
    got_f = got.astype(np.float64)
    exp_f = expected.astype(np.float64)
    if not np.all(np.isfinite(got_f)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(got_f))[0])
        raise Mismatch(f"{what} contains NaN or inf (first at index {idx}).",
                       "Look for a division by zero or a log of zero.")
    err = np.abs(got_f - exp_f)
    bad = err > atol + rtol * np.abs(exp_f)
    if bad.any():
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.where(bad, err, -1))), err.shape))
        n_bad = int(bad.sum())
        hints = [f"at index {idx} you return {got_f[idx]:.6g}, the expected value is {exp_f[idx]:.6g} "
                 f"({n_bad} of {bad.size} values differ; max |difference| {err.max():.3g}).",]
        if hint:
            hints.append(hint)
        raise Mismatch(f"{what} returns the right shape but wrong values.", *hints)


def is_package_code(obj: Any) -> bool:
    """True for the kit's own functions/classes handed in as an answer (``from tsfmicro_lite... import``)."""
    module = getattr(obj, "__module__", "") or ""
    return module == "tsfmicro_lite" or module.startswith("tsfmicro_lite.")


def run_cases(exercise: str, cases: Sequence[Callable[[], None]], answer: Any = None) -> CheckResult:
    """Run each case; the score is the fraction that passed, the message comes from the first failure."""
    if answer is not None and is_package_code(answer):
        return CheckResult(exercise, False, 0.0, f"this is the kit's own {getattr(answer, '__name__', 'code')} "
                           f"(from {answer.__module__}), not your implementation.",
                           ["Write the function yourself in the notebook; the check compares it with the kit's."])
    if os.environ.get(SANDBOX_ENV):
        return CheckResult(exercise, False, 0.0, "practice checks are off while the notebook is graded; the grader "
                           "checks your functions from outside.", [], 0)
    passed = 0
    first: tuple[str, list[str]] | None = None
    for case in cases:
        try:
            case()
            passed += 1
        except Abort as exc:
            return CheckResult(exercise, False, 0.0, str(exc), exc.hints, len(cases))
        except Mismatch as exc:
            first = first or (str(exc), exc.hints)
        except NotImplementedError as exc:
            return CheckResult(exercise, False, 0.0, "not implemented yet.",
                               [str(exc) or "Replace the `raise NotImplementedError` line with your code."],
                               len(cases))
        except Exception as exc:  # the student's code raised: say where, without our internals
            tb = traceback.extract_tb(exc.__traceback__)
            user = [f for f in tb if "tsfmicro_lite" not in f.filename.replace("\\", "/")]
            where = f" (line {user[-1].lineno}: `{(user[-1].line or '').strip()}`)" if user else ""
            first = first or (f"your code raised {type(exc).__name__}: {exc}{where}.",
                              ["Run your function by hand on a small input and print the shapes of "
                               "the intermediate arrays."])
    score = passed / len(cases) if cases else 0.0
    if passed == len(cases):
        return CheckResult(exercise, True, 1.0, f"all {len(cases)} test cases on fresh random inputs agree "
                           "with the reference.", [], len(cases))
    assert first is not None
    msg, hints = first
    return CheckResult(exercise, False, score, f"{passed}/{len(cases)} cases pass. {msg}", hints, len(cases))


def seeds(seed: int | None, n: int) -> list[int]:
    """``n`` independent seeds spawned from ``seed``."""
    base = np.random.SeedSequence(seed)
    return [int(s.generate_state(1)[0]) for s in base.spawn(n)]


# --------------------------------------------------------------------------------------------
# Registry: exercise id -> the one check that grades it
# --------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Callable[..., CheckResult]] = {}


def check(exercise_id: str) -> Callable[[CheckFn], CheckFn]:
    """Decorator: register ``fn`` as the check that grades ``exercise_id`` (an id of ``catalog.py``).

    ``@check("A2.3")`` above ``def retention_recurrent(fn, seed=None)`` is all the wiring there is:
    the grader calls the registered function with the student's symbols of that exercise. An id the
    catalog does not know raises at import; so does a second, different check for the same id.
    """
    get_exercise(exercise_id)                               # unknown ids raise here, not at grading time

    def deco(fn: CheckFn) -> CheckFn:
        old = _REGISTRY.get(exercise_id)
        same = old is not None and (old.__module__, old.__qualname__) == (fn.__module__, fn.__qualname__)
        if old is not None and not same:                    # a reload of the same module may re-register
            raise ValueError(f"exercise {exercise_id} already has a check: {old.__module__}.{old.__qualname__}; "
                             f"{fn.__module__}.{fn.__qualname__} cannot register for it too.")
        fn.exercise_id = exercise_id                        # type: ignore[attr-defined]
        _REGISTRY[exercise_id] = fn
        return fn

    return deco


def registered() -> dict[str, Callable[..., CheckResult]]:
    """Exercise id -> check, for the checks imported so far (``checks/__init__.py`` imports them all)."""
    return dict(_REGISTRY)


def get_check(exercise_id: str) -> Callable[..., CheckResult]:
    """The registered check of ``exercise_id``; an unknown id raises the kit's "unknown exercise" error."""
    if exercise_id not in _REGISTRY:
        raise unknown("exercise", exercise_id, sorted(_REGISTRY))
    return _REGISTRY[exercise_id]
