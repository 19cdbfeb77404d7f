"""The checks students call from the assignment notebooks (``notebooks/assignments/``).

Each check runs the student's function on *fresh* random inputs (a new seed every call, unless one
is given), compares the answer with the package's own implementation, and explains a failure in
words: which shape, which element, what the two values were and what to look at. It never prints
the reference code and never dumps a bare assertion. Every check returns a :class:`CheckResult`,
which the notebook displays and which ``tsfmicro assignments grade`` counts.

Which notebook teaches what:
- ``difference_input``, ``optical_flow``, ``optical_strain``  -> notebook 01 / assignment A1
- ``decay_mask``, ``retention_parallel``, ``retention_recurrent`` -> notebook 02 / assignment A2
- ``fusion_variant``                                            -> notebook 05 / assignment A3
- ``uf1``, ``uar``, ``loso_split``, ``leak_inflation``           -> notebook 06 / assignment A4
"""
from __future__ import annotations

import html
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "CheckResult", "difference_input", "optical_flow", "optical_strain", "decay_mask",
    "retention_parallel", "retention_recurrent", "fusion_variant", "uf1", "uar", "loso_split",
    "leak_inflation", "CHECKS",
]


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


class _Mismatch(Exception):
    """Raised inside a check with a sentence for the student (and hints)."""

    def __init__(self, message: str, *hints: str):
        super().__init__(message)
        self.hints = list(hints)


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def _to_numpy(x: Any, what: str) -> np.ndarray:
    """Accept numpy arrays, torch tensors, lists and floats; say clearly when it is none of those."""
    if x is None:
        raise _Mismatch(f"{what} returned None.", "Did you forget a `return` statement at the end of the function?")
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        return np.asarray(x)
    except Exception:
        raise _Mismatch(f"{what} returned a {type(x).__name__}, which is not an array.",
                        "Return a numpy array or a torch tensor.") from None


def _compare(what: str, got: Any, expected: np.ndarray, *, atol: float = 1e-5, rtol: float = 1e-4,
             hint: str = "") -> None:
    """Compare shapes first, then values; on a mismatch name the worst element and both values."""
    got = _to_numpy(got, what)
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        hints = [f"expected shape {expected.shape}, got {got.shape}."]
        if got.size == expected.size:
            hints.append("Same number of elements: a transpose or a reshape is in the wrong order.")
        elif got.ndim == expected.ndim - 1:
            hints.append("One axis is missing: did a sum or mean run over an axis it should keep?")
        raise _Mismatch(f"{what} has the wrong shape.", *hints)
    if not np.issubdtype(got.dtype, np.number) and got.dtype != bool:
        raise _Mismatch(f"{what} holds {got.dtype} values, not numbers.")
    got_f = got.astype(np.float64)
    exp_f = expected.astype(np.float64)
    if not np.all(np.isfinite(got_f)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(got_f))[0])
        raise _Mismatch(f"{what} contains NaN or inf (first at index {idx}).",
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
        raise _Mismatch(f"{what} returns the right shape but wrong values.", *hints)


def _is_package_code(obj: Any) -> bool:
    """True for the kit's own functions/classes handed in as an answer (``from tsfmicro_lite... import``)."""
    module = getattr(obj, "__module__", "") or ""
    return module == "tsfmicro_lite" or module.startswith("tsfmicro_lite.")


def _run(exercise: str, cases: Sequence[Callable[[], None]], answer: Any = None) -> CheckResult:
    """Run each case; the score is the fraction that passed, the message comes from the first failure."""
    if answer is not None and _is_package_code(answer):
        return CheckResult(exercise, False, 0.0, f"this is the kit's own {getattr(answer, '__name__', 'code')} "
                           f"(from {answer.__module__}), not your implementation.",
                           ["Write the function yourself in the notebook; the check compares it with the kit's."])
    passed = 0
    first: tuple[str, list[str]] | None = None
    for case in cases:
        try:
            case()
            passed += 1
        except _Mismatch as exc:
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


def _unavailable(exercise: str, what: str, exc: Exception) -> CheckResult:
    return CheckResult(exercise, False, 0.0, f"the reference ({what}) could not be loaded: {exc}",
                       ["This is a problem with the kit installation, not with your answer: "
                        "run `tsfmicro doctor` and tell your instructor."])


def _seeds(seed: int | None, n: int) -> list[int]:
    base = np.random.SeedSequence(seed)
    return [int(s.generate_state(1)[0]) for s in base.spawn(n)]


# --------------------------------------------------------------------------------------------
# A4 (notebook 06): metrics, LOSO split, the leak
# --------------------------------------------------------------------------------------------
def _label_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Label vectors that exercise the traps: imbalance, a class never predicted, a class never true."""
    out = []
    for _ in range(4):
        k = int(rng.integers(3, 6))
        n = int(rng.integers(20, 80))
        p = rng.dirichlet(np.ones(k) * 0.7)
        y_true = rng.choice(k, size=n, p=p)
        y_pred = np.where(rng.random(n) < 0.55, y_true, rng.integers(0, k, size=n))
        out.append((y_true, y_pred))
    y_true = rng.integers(0, 3, size=30)
    out.append((y_true, np.where(y_true == 2, 0, y_true)))         # class 2 never predicted
    y_pred = rng.integers(0, 4, size=30)
    out.append((np.minimum(y_pred, 2) * (rng.random(30) < 0.5), y_pred))  # class 3 predicted, never true
    return out


def _metric_check(exercise: str, ref_name: str, fn: Callable, seed: int | None) -> CheckResult:
    try:
        from . import metrics

        ref = getattr(metrics, ref_name)
    except Exception as exc:
        return _unavailable(exercise, f"tsfmicro_lite.metrics.{ref_name}", exc)
    rng = _rng(seed)
    trap_hint = {
        "uf1": "UF1 averages the per-class F1 = 2TP / (#predicted + #true) over every class that appears in the "
               "labels or the predictions, without weighting by class size.",
        "uar": "UAR averages the per-class recall TP / #true over the classes present in the labels: a class "
               "nobody has cannot have a recall. Recall divides by #true, precision by #predicted.",
    }[ref_name]

    def make_case(y_true: np.ndarray, y_pred: np.ndarray) -> Callable[[], None]:
        def case() -> None:
            got = fn(y_true.copy(), y_pred.copy())
            try:
                got_f = float(_to_numpy(got, f"{exercise}(y_true, y_pred)"))
            except (TypeError, ValueError):
                raise _Mismatch(f"{exercise} must return one number; it returned {type(got).__name__} "
                                f"{np.shape(got)}.", "Average the per-class scores into a single float.") from None
            exp = ref(y_true, y_pred)
            if not np.isfinite(got_f) or abs(got_f - exp) > 1e-6:
                counts = np.bincount(y_true, minlength=int(max(y_true.max(), y_pred.max())) + 1)
                raise _Mismatch(
                    f"on {len(y_true)} labels (true counts per class {counts.tolist()}) you return "
                    f"{got_f:.4f}, the expected value is {exp:.4f}.", trap_hint)
        return case

    return _run(exercise, [make_case(t, p) for t, p in _label_cases(rng)], fn)


def uf1(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``uf1(y_true, y_pred) -> float`` (assignment A4, notebook 06)."""
    return _metric_check("uf1", "uf1", fn, seed)


def uar(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``uar(y_true, y_pred) -> float`` (assignment A4, notebook 06)."""
    return _metric_check("uar", "uar", fn, seed)


def loso_split(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``loso_split(subjects) -> list[(test_subject, train_idx, test_idx)]``.

    The contract (assignment A4): one fold per distinct subject, folds in sorted subject order, the
    test indices are exactly that subject's samples, the training indices every other sample, both
    sorted ascending. The properties are checked one by one so the message says which one fails.
    """
    try:
        from .train.splits import loso_folds
    except Exception as exc:
        return _unavailable("loso_split", "tsfmicro_lite.train.splits.loso_folds", exc)
    rng = _rng(seed)

    def make_case(subjects: np.ndarray) -> Callable[[], None]:
        def case() -> None:
            folds = fn(list(subjects))
            if folds is None:
                raise _Mismatch("loso_split returned None.", "Return the list of folds.")
            folds = list(folds)
            uniq = sorted(set(subjects.tolist()))
            if len(folds) != len(uniq):
                raise _Mismatch(f"{len(uniq)} distinct subjects but {len(folds)} folds.",
                                "Leave-one-subject-out has exactly one fold per subject, not per sample.")
            for i, (fold, subj) in enumerate(zip(folds, uniq)):
                if not (isinstance(fold, (tuple, list)) and len(fold) == 3):
                    raise _Mismatch(f"fold {i} is a {type(fold).__name__}, expected a tuple "
                                    "(test_subject, train_idx, test_idx).")
                name, train, test = fold
                train = np.asarray(train)
                test = np.asarray(test)
                if str(name) != subj:
                    raise _Mismatch(f"fold {i} holds out subject {name!r}, expected {subj!r}.",
                                    "Sort the distinct subjects and make one fold per subject in that order.")
                want_test = np.flatnonzero(subjects == subj)
                want_train = np.flatnonzero(subjects != subj)
                if np.intersect1d(train, test).size:
                    raise _Mismatch(f"fold {i} ({subj}): indices {np.intersect1d(train, test)[:5].tolist()} "
                                    "are in both the training and the test set.")
                if set(np.asarray(subjects)[train.astype(int)].tolist()) & {subj}:
                    raise _Mismatch(f"fold {i}: the training set contains samples of the held-out subject {subj}.",
                                    "That is exactly the leak LOSO exists to prevent.")
                if not np.array_equal(np.sort(test), want_test):
                    raise _Mismatch(f"fold {i} ({subj}): the test set has {test.size} indices, the subject has "
                                    f"{want_test.size} samples.", "The test set is every sample of that subject.")
                if not np.array_equal(np.sort(train), want_train):
                    raise _Mismatch(f"fold {i} ({subj}): the training set has {train.size} indices, expected "
                                    f"{want_train.size} (every sample of every other subject).")
                if not (np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)):
                    raise _Mismatch(f"fold {i} ({subj}): indices are not sorted ascending.",
                                    "Use np.flatnonzero(mask), which returns them sorted.")
            ref = loso_folds(list(subjects))
            if [(f.subject, f.train_idx.tolist(), f.test_idx.tolist()) for f in ref] != \
                    [(str(a), np.asarray(b).tolist(), np.asarray(c).tolist()) for a, b, c in folds]:
                raise _Mismatch("the folds differ from the package's LOSO split.")
        return case

    cases = []
    for _ in range(4):
        n_sub = int(rng.integers(3, 9))
        names = np.array([f"sub{int(i):02d}" for i in rng.choice(40, size=n_sub, replace=False)])
        subjects = rng.choice(names, size=int(rng.integers(n_sub * 2, n_sub * 6)))
        cases.append(make_case(subjects))
    return _run("loso_split", cases, fn)


def leak_inflation(honest_fn: Callable, reported_inflation: float | None = None,
                   seed: int | None = None) -> CheckResult:
    """Check a student's fixed evaluation loop and (optionally) the inflation they measured.

    ``honest_fn(X, y, subjects, epochs)`` must return the pooled UF1 of LOSO when the number of
    epochs is fixed in advance (no choice made on the test subject). It is compared with the
    package's honest loop on fresh toy data. ``reported_inflation`` is the student's number for
    ``leaky - honest`` on the notebook's data set (``assignments.toy.notebook_data()``).
    """
    try:
        from .assignments import toy
    except Exception as exc:
        return _unavailable("leak_inflation", "tsfmicro_lite.assignments.toy", exc)
    rng = _rng(seed)

    def make_case(data_seed: int) -> Callable[[], None]:
        def case() -> None:
            X, y, subjects = toy.make_features(seed=data_seed, n_subjects=5, per_subject=12)
            got = honest_fn(X.copy(), y.copy(), subjects.copy(), 6)
            got_f = float(_to_numpy(got, "honest_evaluate(...)"))
            exp = toy.honest_evaluate(X, y, subjects, 6)
            if abs(got_f - exp) > 1e-6:
                leaky = toy.leaky_evaluate(X, y, subjects, 6)
                hints = ["Train for exactly `epochs` epochs on the training subjects and predict the held-out "
                         "subject once; pool the predictions of all folds before computing UF1."]
                if abs(got_f - leaky) < 1e-9:
                    hints.insert(0, "Your number equals the leaky loop's: the test subject still decides something.")
                raise _Mismatch(f"on fresh toy data your honest UF1 is {got_f:.4f}, expected {exp:.4f}.", *hints)
        return case

    cases = [make_case(s) for s in _seeds(int(rng.integers(2**31)), 2)]
    if reported_inflation is not None:
        def inflation_case() -> None:
            X, y, subjects = toy.notebook_data()
            exp = toy.leaky_evaluate(X, y, subjects, toy.NOTEBOOK_EPOCHS) - toy.honest_evaluate(
                X, y, subjects, toy.NOTEBOOK_EPOCHS)
            got = float(_to_numpy(reported_inflation, "reported_inflation"))
            if abs(got - exp) > 1e-6:
                raise _Mismatch(f"the inflation you report is {got:+.4f} UF1 points, the measured one on "
                                f"the notebook's data is {exp:+.4f}.",
                                "inflation = leaky UF1 - honest UF1, both on toy.notebook_data() with "
                                "toy.NOTEBOOK_EPOCHS epochs.")
        cases.append(inflation_case)
    return _run("leak_inflation", cases, honest_fn)


# --------------------------------------------------------------------------------------------
# A1 (notebook 01): the model's inputs
# --------------------------------------------------------------------------------------------
def _smooth_texture(rng: np.random.Generator, size: int, channels: int = 3) -> np.ndarray:
    """A random blob texture (uint8): smooth enough for optical flow to lock on, random every call."""
    import cv2

    noise = rng.random((size, size, channels)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), sigmaX=2.0)
    blurred = (blurred - blurred.min()) / (np.ptp(blurred) + 1e-8)
    return (blurred * 255).astype(np.uint8)


def difference_input(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``difference_input(onset, apex)`` against ``preprocess.inputs.difference``.

    Contract (assignment A1): uint8 (H, W, 3) frames in, float32 (apex − onset) / 255 in [-1, 1] out.
    """
    try:
        from .preprocess.inputs import difference as ref
    except Exception as exc:
        return _unavailable("difference_input", "tsfmicro_lite.preprocess.inputs.difference", exc)
    rng = _rng(seed)

    def make_case(h: int, w: int) -> Callable[[], None]:
        def case() -> None:
            onset = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            apex = np.clip(onset.astype(int) + rng.integers(-40, 41, size=onset.shape), 0, 255).astype(np.uint8)
            got = _to_numpy(fn(onset.copy(), apex.copy()), "difference_input(onset, apex)")
            exp = ref(onset, apex)
            if got.shape == exp.shape and got.dtype == np.uint8:
                raise _Mismatch("difference_input returns uint8: negative differences wrap around to large "
                                "positive values (255 - ...).",
                                "Convert both frames to float32 before subtracting (the official code has "
                                "this uint8 quirk in its frame search; spec §1).")
            if got.shape == exp.shape and np.allclose(got, exp * 255, atol=1e-3):
                raise _Mismatch("the values are 255 times too large.", "Scale the difference to [-1, 1]: divide by 255.")
            if got.shape == exp.shape and np.allclose(got, -exp, atol=1e-5):
                raise _Mismatch("the sign is flipped: you return onset - apex.", "The model input is apex − onset.")
            _compare("difference_input(onset, apex)", got, exp, atol=1e-6, rtol=1e-5)
            if got.dtype != np.float32:
                raise _Mismatch(f"values are right but the dtype is {got.dtype}, expected float32.",
                                "Use .astype(np.float32): the model runs in float32 and float64 doubles memory.")
        return case

    return _run("difference_input", [make_case(int(rng.integers(16, 64)), int(rng.integers(16, 64)))
                                     for _ in range(4)], fn)


def optical_flow(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``optical_flow(onset, apex) -> (H, W, 2)`` on frames with a known shift.

    Any dense method is accepted (Farneback, DIS, your own): the apex is the onset texture moved by
    a random whole-pixel (dx, dy), so inside the frame the flow must be about (dx, dy) — channel 0 is
    x (columns, to the right), channel 1 is y (rows, down), pointing from onset to apex — within
    0.5 px of the true shift and of the package's Farneback flow on the same frames.
    """
    try:
        from .preprocess.inputs import optical_flow as ref
    except Exception as exc:
        return _unavailable("optical_flow", "tsfmicro_lite.preprocess.inputs.optical_flow", exc)
    rng = _rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            size = 64
            dx, dy = (int(v) for v in rng.integers(-3, 4, size=2))
            if dx == 0 and dy == 0:
                dx = 2
            onset = _smooth_texture(rng, size)
            apex = np.roll(onset, shift=(dy, dx), axis=(0, 1))       # content moves by +dx right, +dy down
            got = _to_numpy(fn(onset.copy(), apex.copy()), "optical_flow(onset, apex)")
            if got.shape != (size, size, 2):
                raise _Mismatch(f"optical_flow has shape {got.shape}, expected ({size}, {size}, 2) for "
                                f"{size}x{size} frames.", "One (u, v) vector per pixel, channels last.")
            inner = np.s_[12:-12, 12:-12]
            u, v = (float(np.median(got[inner][..., i])) for i in range(2))
            ru, rv = (float(np.median(ref(onset, apex)[inner][..., i])) for i in range(2))
            if abs(u - dx) <= 0.5 and abs(v - dy) <= 0.5 and abs(u - ru) <= 0.5 and abs(v - rv) <= 0.5:
                return
            hints = [f"the frame moved by (dx, dy) = ({dx}, {dy}) pixels; inside the frame your median flow is "
                     f"({u:.2f}, {v:.2f}), the reference's ({ru:.2f}, {rv:.2f})."]
            if abs(u + dx) <= 0.5 and abs(v + dy) <= 0.5:
                hints.append("Your flow points from apex to onset: pass the frames in the order (onset, apex).")
            elif abs(u - dy) <= 0.5 and abs(v - dx) <= 0.5:
                hints.append("x and y are swapped: channel 0 must be the horizontal (column) motion.")
            else:
                hints.append("Compute the flow on the grey frames with a dense method (cv2.calcOpticalFlowFarneback "
                             "or cv2.DISOpticalFlow_create) and return it as float32.")
            raise _Mismatch("the flow does not recover a known shift.", *hints)
        return case

    return _run("optical_flow", [make_case() for _ in range(3)], fn)


def optical_strain(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``optical_strain(flow) -> (H, W, 1)`` against ``preprocess.inputs.optical_strain``.

    Derivatives by central differences (``np.gradient``), magnitude sqrt(exx² + eyy² + 2 exy²).
    """
    try:
        from .preprocess.inputs import optical_strain as ref
    except Exception as exc:
        return _unavailable("optical_strain", "tsfmicro_lite.preprocess.inputs.optical_strain", exc)
    rng = _rng(seed)

    def make_case(kind: str) -> Callable[[], None]:
        def case() -> None:
            h, w = (int(v) for v in rng.integers(12, 40, size=2))
            if kind == "rigid":                                        # pure translation: strain 0
                flow = np.broadcast_to(rng.normal(0, 2, size=2), (h, w, 2)).astype(np.float32).copy()
            else:
                import cv2

                flow = cv2.GaussianBlur(rng.normal(0, 3, size=(h, w, 2)).astype(np.float32), (0, 0), 1.5)
            exp = ref(flow)
            got = fn(flow.copy())
            arr = _to_numpy(got, "optical_strain(flow)")
            if arr.shape == exp.shape[:2]:
                raise _Mismatch(f"optical_strain has shape {arr.shape}, expected {exp.shape}.",
                                "Keep a trailing channel axis: return strain[..., None].")
            _compare("optical_strain(flow)", arr, exp, atol=1e-5, rtol=1e-4,
                     hint="Use np.gradient (central differences) for the four derivatives; the shear term "
                          "is exy = (du/dy + dv/dx) / 2 and counts twice in the magnitude.")
        return case

    return _run("optical_strain", [make_case("rigid"), make_case("smooth"), make_case("smooth")], fn)


# --------------------------------------------------------------------------------------------
# A2 (notebook 02): retention
# --------------------------------------------------------------------------------------------
def _qkv(rng: np.random.Generator, b: int, n: int, d: int, e: int):
    import torch

    t = lambda *s: torch.from_numpy(rng.normal(0, 1, size=s))         # noqa: E731 - float64 on purpose
    return t(b, n, d), t(b, n, d), t(b, n, e)


def _ref_retention(q, k, v, gamma: float, state=None):
    """The package's multi-head form on one head: (B, N, d) -> (out (B, N, e), state (B, d, e))."""
    from .models.retention import retention_parallel as ref

    out, s = ref(q[:, None], k[:, None], v[:, None], [gamma], None if state is None else state[:, None])
    return out[:, 0], s[:, 0]


def decay_mask(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``decay_mask(length, gamma) -> (length, length)`` (assignment A2.1)."""
    try:
        from .models.retention import decay_mask as ref
    except Exception as exc:
        return _unavailable("decay_mask", "tsfmicro_lite.models.retention.decay_mask", exc)
    import torch

    rng = _rng(seed)

    def make_case(length: int, gamma: float) -> Callable[[], None]:
        def case() -> None:
            exp = ref(length, [gamma], dtype=torch.float64)[0].numpy()
            got = _to_numpy(fn(length, gamma), f"decay_mask({length}, {gamma:.3f})")
            if got.shape == exp.shape and np.allclose(got, exp.T, atol=1e-9):
                raise _Mismatch("your mask is the transpose of the expected one.",
                                "Row n is the query position, column m the key: D[n, m] = gamma**(n - m) "
                                "for m <= n (the past), 0 for the future.")
            _compare(f"decay_mask({length}, {gamma:.3f})", got, exp, atol=1e-9, rtol=1e-7,
                     hint="Future positions (m > n) must be exactly 0, and the diagonal 1.")
        return case

    cases = [make_case(int(rng.integers(2, 40)), float(rng.uniform(0.5, 0.99))) for _ in range(4)]
    return _run("decay_mask", cases, fn)


def retention_parallel(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``retention_parallel(q, k, v, gamma) -> (B, N, e)`` (assignment A2.2).

    q, k: (B, N, d), v: (B, N, e), float64 torch tensors; one head, scalar gamma, no normalisation.
    """
    rng = _rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            b, n, d, e = (int(x) for x in (rng.integers(1, 4), rng.integers(2, 30), rng.integers(2, 9),
                                           rng.integers(2, 9)))
            gamma = float(rng.uniform(0.6, 0.99))
            q, k, v = _qkv(rng, b, n, d, e)
            exp, _ = _ref_retention(q, k, v, gamma)
            got = fn(q.clone(), k.clone(), v.clone(), gamma)
            if isinstance(got, tuple):
                got = got[0]
            _compare(f"retention_parallel(q {tuple(q.shape)}, k, v {tuple(v.shape)}, gamma={gamma:.3f})", got,
                     exp.numpy(), atol=1e-8, rtol=1e-7,
                     hint="out = (q @ k^T * D) @ v with the causal decay mask D; no softmax, no scaling. "
                          "If only the first row is right, check the mask orientation.")
        return case

    return _run("retention_parallel", [make_case() for _ in range(4)], fn)


def retention_recurrent(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``retention_recurrent(q, k, v, gamma, state=None) -> (out, state)`` (A2.3).

    Three things are checked on fresh inputs: the output equals the parallel form, the final state
    equals S_N = sum_m gamma^(N-1-m) k_m^T v_m, and running two halves one after the other (the
    second starting from the first's state) equals one run over the whole sequence — which only a
    true recurrence gets right.
    """
    rng = _rng(seed)

    def unpack(got: Any, what: str):
        if not (isinstance(got, tuple) and len(got) == 2):
            raise _Mismatch(f"{what} must return a pair (out, state); it returned {type(got).__name__}.",
                            "Return the outputs stacked over time AND the last state S_N.")
        return got

    def make_case() -> Callable[[], None]:
        def case() -> None:
            import torch

            b, n, d, e = (int(x) for x in (rng.integers(1, 4), rng.integers(4, 30), rng.integers(2, 9),
                                           rng.integers(2, 9)))
            gamma = float(rng.uniform(0.6, 0.99))
            q, k, v = _qkv(rng, b, n, d, e)
            exp_out, exp_state = _ref_retention(q, k, v, gamma)
            out, state = unpack(fn(q.clone(), k.clone(), v.clone(), gamma), "retention_recurrent")
            _compare("retention_recurrent output", out, exp_out.numpy(), atol=1e-8, rtol=1e-7,
                     hint="Per step: S = gamma * S + outer(k_n, v_n), then out_n = q_n @ S.")
            _compare("retention_recurrent final state", state, exp_state.numpy(), atol=1e-8, rtol=1e-7,
                     hint="The state is (B, d, e): decay the old state, then add k_n^T v_n.")
            cut = n // 2
            _, s1 = unpack(fn(q[:, :cut].clone(), k[:, :cut].clone(), v[:, :cut].clone(), gamma), "retention_recurrent")
            s1 = torch.as_tensor(_to_numpy(s1, "state"))
            out2, _ = unpack(fn(q[:, cut:].clone(), k[:, cut:].clone(), v[:, cut:].clone(), gamma, s1),
                             "retention_recurrent(..., state)")
            _compare("retention_recurrent second half, started from the first half's state", out2,
                     exp_out[:, cut:].numpy(), atol=1e-8, rtol=1e-7,
                     hint="When a state is passed in, start the recurrence from it instead of zeros.")
        return case

    return _run("retention_recurrent", [make_case() for _ in range(3)], fn)


# --------------------------------------------------------------------------------------------
# A3 (notebook 05): wire a fusion variant
# --------------------------------------------------------------------------------------------
FUSION_VARIANTS = ("late", "t2s", "s2t", "early")


def fusion_variant(module_cls: Callable, variant: str = "s2t", seed: int | None = None) -> CheckResult:
    """Check a student's fusion module against the package's variant (assignment A3).

    The check builds ``build_model(variant, 3, preset="tiny")`` with random weights, hands its parts
    to the student's class as keywords (``module_cls(**dict(model.named_children()))``: e.g.
    ``temporal``, ``spatial``, ``head`` and ``upsample`` or ``fuse``), and compares the logits of
    both on fresh random inputs in eval mode. For ``t2s`` the figure's wiring is expected (the RMT
    tokens are added *before* the ViT blocks).
    """
    if variant not in FUSION_VARIANTS:
        return CheckResult("fusion_variant", False, 0.0,
                           f"VARIANT={variant!r} is not one this check knows; choose one of {list(FUSION_VARIANTS)}.")
    try:
        import torch

        from .models import build_model
    except Exception as exc:
        return _unavailable("fusion_variant", "tsfmicro_lite.models.build_model", exc)
    rng = _rng(seed)
    hints = {
        "late": "T = temporal(motion) is (B, g, g, C); S = spatial(onset) is (B, C, g, g): permute S to channels "
                "last, fuse, then head.",
        "t2s": "Add the temporal tokens (flattened to (B, N, C)) to spatial.embed(onset) BEFORE the ViT blocks, "
               "then spatial.norm, reshape to (B, g, g, C) and apply the head.",
        "s2t": "Upsample the ViT map (B, C, g, g) to (B, C0, S/2, S/2), make it channels last, add it to "
               "temporal.stem(motion), then run temporal.stages and the head.",
        "early": "Sum stem_onset(onset) and stem_motion(motion) (both channels last), run the temporal stages, "
                 "then the head.",
    }[variant]

    def make_case(batch: int) -> Callable[[], None]:
        def case() -> None:
            torch.manual_seed(int(rng.integers(2**31)))
            overrides = {"t2s_position": "before"} if variant == "t2s" else {}
            model = build_model(variant, 3, preset="tiny", **overrides).eval()
            parts = dict(model.named_children())
            student = module_cls(**parts)
            if not isinstance(student, torch.nn.Module):
                raise _Mismatch(f"{getattr(module_cls, '__name__', module_cls)} does not build an nn.Module.")
            student.eval()
            S = model.config.img_size
            onset = torch.from_numpy(rng.normal(size=(batch, 3, S, S)).astype(np.float32))
            motion = torch.from_numpy(rng.normal(0, 0.3, size=(batch, 3, S, S)).astype(np.float32))
            with torch.no_grad():
                exp = model(onset, motion)
                got = student(onset, motion)
            _compare(f"{type(student).__name__}(onset, motion) logits", got, exp.numpy(), atol=1e-4, rtol=1e-3,
                     hint=hints)
        return case

    return _run("fusion_variant", [make_case(2), make_case(3)], module_cls)


# --------------------------------------------------------------------------------------------
# Registry: the grader looks checks up by name
# --------------------------------------------------------------------------------------------
CHECKS: dict[str, Callable[..., CheckResult]] = {}


def _register_all() -> None:
    for name in __all__:
        obj = globals().get(name)
        if callable(obj) and name not in ("CheckResult",) and name != "CHECKS":
            CHECKS[name] = obj


_register_all()
