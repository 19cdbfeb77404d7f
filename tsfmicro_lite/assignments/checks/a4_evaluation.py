"""Assignment A4 (notebook 06): the checks of the metrics, the LOSO split and the leak.

UF1 / UAR are compared with :mod:`tsfmicro_lite.metrics` on label vectors built to hit the traps,
the split with :func:`tsfmicro_lite.train.splits.loso_folds`, the fixed evaluation loop with
:mod:`tsfmicro_lite.assignments.toy`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ... import metrics
from ...train.splits import loso_folds
from .. import toy
from .core import CheckResult, Mismatch, check, fresh_rng, run_cases, seeds, to_numpy

__all__ = ["uf1", "uar", "loso_split", "leak_inflation"]


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
    ref = getattr(metrics, ref_name)
    rng = fresh_rng(seed)
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
                got_f = float(to_numpy(got, f"{exercise}(y_true, y_pred)"))
            except (TypeError, ValueError):
                raise Mismatch(f"{exercise} must return one number; it returned {type(got).__name__} "
                               f"{np.shape(got)}.", "Average the per-class scores into a single float.") from None
            exp = ref(y_true, y_pred)
            if not np.isfinite(got_f) or abs(got_f - exp) > 1e-6:
                counts = np.bincount(y_true, minlength=int(max(y_true.max(), y_pred.max())) + 1)
                hints = [trap_hint]
                c = metrics.confusion(y_true, y_pred)
                predicted = c.sum(0) > 0
                precisions = (metrics.official_uar_macro_precision(y_true, y_pred),
                              float(np.mean(np.diag(c)[predicted] / c.sum(0)[predicted])))
                if ref_name == "uar" and any(abs(got_f - p) <= 1e-6 for p in precisions):
                    hints.insert(0, "You computed macro precision (TP / #predicted per class), the official "
                                    "SAMM / CAS(ME)^3 scripts' bug: recall is TP / #true.")
                raise Mismatch(
                    f"on {len(y_true)} labels (true counts per class {counts.tolist()}) you return "
                    f"{got_f:.4f}, the expected value is {exp:.4f}.", *hints)
        return case

    return run_cases(exercise, [make_case(t, p) for t, p in _label_cases(rng)], fn)


@check("A4.1")
def uf1(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``uf1(y_true, y_pred) -> float`` (assignment A4, notebook 06)."""
    return _metric_check("uf1", "uf1", fn, seed)


@check("A4.2")
def uar(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``uar(y_true, y_pred) -> float`` (assignment A4, notebook 06)."""
    return _metric_check("uar", "uar", fn, seed)


@check("A4.3")
def loso_split(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``loso_split(subjects) -> list[(test_subject, train_idx, test_idx)]``.

    The contract (assignment A4): one fold per distinct subject, folds in sorted subject order, the
    test indices are exactly that subject's samples, the training indices every other sample, both
    sorted ascending. The properties are checked one by one so the message says which one fails.
    """
    rng = fresh_rng(seed)

    def make_case(subjects: np.ndarray) -> Callable[[], None]:
        def case() -> None:
            folds = fn(list(subjects))
            if folds is None:
                raise Mismatch("loso_split returned None.", "Return the list of folds.")
            folds = list(folds)
            uniq = sorted(set(subjects.tolist()))
            if len(folds) != len(uniq):
                raise Mismatch(f"{len(uniq)} distinct subjects but {len(folds)} folds.",
                               "Leave-one-subject-out has exactly one fold per subject, not per sample.")
            for i, (fold, subj) in enumerate(zip(folds, uniq)):
                if not (isinstance(fold, (tuple, list)) and len(fold) == 3):
                    raise Mismatch(f"fold {i} is a {type(fold).__name__}, expected a tuple "
                                   "(test_subject, train_idx, test_idx).")
                name, train, test = fold
                train = np.asarray(train)
                test = np.asarray(test)
                if str(name) != subj:
                    raise Mismatch(f"fold {i} holds out subject {name!r}, expected {subj!r}.",
                                   "Sort the distinct subjects and make one fold per subject in that order.")
                want_test = np.flatnonzero(subjects == subj)
                want_train = np.flatnonzero(subjects != subj)
                if np.intersect1d(train, test).size:
                    raise Mismatch(f"fold {i} ({subj}): indices {np.intersect1d(train, test)[:5].tolist()} "
                                   "are in both the training and the test set.")
                if set(np.asarray(subjects)[train.astype(int)].tolist()) & {subj}:
                    raise Mismatch(f"fold {i}: the training set contains samples of the held-out subject {subj}.",
                                   "That is exactly the leak LOSO exists to prevent.")
                if not np.array_equal(np.sort(test), want_test):
                    raise Mismatch(f"fold {i} ({subj}): the test set has {test.size} indices, the subject has "
                                   f"{want_test.size} samples.", "The test set is every sample of that subject.")
                if not np.array_equal(np.sort(train), want_train):
                    raise Mismatch(f"fold {i} ({subj}): the training set has {train.size} indices, expected "
                                   f"{want_train.size} (every sample of every other subject).")
                if not (np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)):
                    raise Mismatch(f"fold {i} ({subj}): indices are not sorted ascending.",
                                   "Use np.flatnonzero(mask), which returns them sorted.")
            ref = loso_folds(list(subjects))
            if [(f.subject, f.train_idx.tolist(), f.test_idx.tolist()) for f in ref] != \
                    [(str(a), np.asarray(b).tolist(), np.asarray(c).tolist()) for a, b, c in folds]:
                raise Mismatch("the folds differ from the package's LOSO split.")
        return case

    cases = []
    for _ in range(4):
        n_sub = int(rng.integers(3, 9))
        names = np.array([f"sub{int(i):02d}" for i in rng.choice(40, size=n_sub, replace=False)])
        subjects = rng.choice(names, size=int(rng.integers(n_sub * 2, n_sub * 6)))
        cases.append(make_case(subjects))
    return run_cases("loso_split", cases, fn)


def reference_honest_evaluate(X: np.ndarray, y: np.ndarray, subjects: np.ndarray, epochs: int) -> float:
    """LOSO with the epoch budget fixed in advance (the A4.4 reference; switched off in the sandbox)."""
    y_true, y_pred = [], []
    for fold in loso_folds(subjects):
        model = toy.fit(X[fold.train_idx], y[fold.train_idx], epochs)
        y_true.append(y[fold.test_idx])
        y_pred.append(toy.predict(model, X[fold.test_idx]))
    return metrics.uf1(np.concatenate(y_true), np.concatenate(y_pred))


@check("A4.4")
def leak_inflation(honest_fn: Callable, reported_inflation: float | None = None,
                   seed: int | None = None) -> CheckResult:
    """Check a student's fixed evaluation loop and (optionally) the inflation they measured.

    ``honest_fn(X, y, subjects, epochs)`` must return the pooled UF1 of LOSO when the number of
    epochs is fixed in advance (no choice made on the test subject). It is compared with the
    package's honest loop on fresh toy data. ``reported_inflation`` is the student's number for
    ``leaky - honest`` on the notebook's data set (``assignments.toy.notebook_data()``).
    """
    rng = fresh_rng(seed)

    def make_case(data_seed: int) -> Callable[[], None]:
        def case() -> None:
            X, y, subjects = toy.make_features(seed=data_seed, n_subjects=5, per_subject=12)
            got = honest_fn(X.copy(), y.copy(), subjects.copy(), 6)
            got_f = float(to_numpy(got, "honest_evaluate(...)"))
            exp = reference_honest_evaluate(X, y, subjects, 6)
            if abs(got_f - exp) > 1e-6:
                leaky = toy.leaky_evaluate(X, y, subjects, 6)
                hints = ["Train for exactly `epochs` epochs on the training subjects and predict the held-out "
                         "subject once; pool the predictions of all folds before computing UF1."]
                if abs(got_f - leaky) < 1e-9:
                    hints.insert(0, "Your number equals the leaky loop's: the test subject still decides something.")
                raise Mismatch(f"on fresh toy data your honest UF1 is {got_f:.4f}, expected {exp:.4f}.", *hints)
        return case

    cases = [make_case(s) for s in seeds(int(rng.integers(2**31)), 2)]
    if reported_inflation is not None:
        def inflation_case() -> None:
            X, y, subjects = toy.notebook_data()
            exp = toy.leaky_evaluate(X, y, subjects, toy.NOTEBOOK_EPOCHS) - reference_honest_evaluate(
                X, y, subjects, toy.NOTEBOOK_EPOCHS)
            got = float(to_numpy(reported_inflation, "reported_inflation"))
            if abs(got - exp) > 1e-6:
                raise Mismatch(f"the inflation you report is {got:+.4f} UF1 points, the measured one on "
                               f"the notebook's data is {exp:+.4f}.",
                               "inflation = leaky UF1 - honest UF1, both on toy.notebook_data() with "
                               "toy.NOTEBOOK_EPOCHS epochs.")
        cases.append(inflation_case)
    return run_cases("leak_inflation", cases, honest_fn)


