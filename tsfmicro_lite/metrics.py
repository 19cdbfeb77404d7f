"""Micro-expression metrics: accuracy, UF1, UAR and the confusion matrix, pooled over LOSO folds.

Why a module of its own: the field reports *unweighted* scores because the classes are badly
imbalanced (CASME II has ~100 "others" and ~30 "happiness" clips), and the official TSFmicro code
gets one of them wrong (its SAMM / CAS(ME)^3 "UAR" is macro *precision*, two variable names are
swapped). Here each score is written once, tested against scikit-learn and by hand
(``tests/test_metrics.py``), and the official bug is kept under its real name,
:func:`official_uar_macro_precision`, so notebook 07 can show the difference.

Conventions (the composite / pooled protocol of MEGC and of the official code):
- ``accuracy``  = correct / total.
- ``uf1``       = mean over classes of F1_c = 2 TP_c / (#pred_c + #true_c), over the classes that
  appear in the labels *or* the predictions (scikit-learn's ``f1_score(average="macro")``
  default, and what the official code does).
- ``uar``       = mean over classes of recall_c = TP_c / #true_c, over the classes that appear in
  the labels (scikit-learn's ``balanced_accuracy_score``); a class nobody has cannot have a recall.
- Pooled scores concatenate the predictions of every fold *before* scoring, so a fold whose
  subject lacks a class does not drag that class's F1 to zero. Per-fold scores are given too
  (``per_fold_table``) because they show how much subjects differ, but they are not what papers
  report. Notebook 06 shows both.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "paired_bootstrap_interval",
    "accuracy", "uf1", "uar", "confusion", "official_uar_macro_precision",
    "score", "pooled_scores", "per_fold_table", "majority_baseline",
]


def _as_labels(y_true: Iterable[int], y_pred: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """Validate two label vectors: same length, 1-D, non-negative integers."""
    t = np.asarray(list(y_true) if not hasattr(y_true, "__len__") else y_true)
    p = np.asarray(list(y_pred) if not hasattr(y_pred, "__len__") else y_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D label vectors; got shapes {t.shape} and {p.shape}. "
                         "Pass class indices, not logits (use logits.argmax(1)).")
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}; they must match.")
    if t.size == 0:
        raise ValueError("y_true and y_pred are empty: there is nothing to score.")
    for name, a in (("y_true", t), ("y_pred", p)):
        if not np.issubdtype(a.dtype, np.integer):
            if np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a)):
                continue
            raise ValueError(f"{name} must hold integer class indices; got dtype {a.dtype} "
                             f"(first values {a[:3].tolist()}).")
        if a.min() < 0:
            raise ValueError(f"{name} holds a negative class index ({int(a.min())}); labels start at 0.")
    return t.astype(np.int64), p.astype(np.int64)


def confusion(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int | None = None) -> np.ndarray:
    """Confusion matrix ``C[i, j]`` = number of samples of true class ``i`` predicted as ``j``.

    ``num_classes`` fixes the size (so folds can be summed); default: 1 + the largest label seen.

    Taught in notebooks/06_training_loso.ipynb, section "4 · Curves: what the paper protocol sees".
    """
    t, p = _as_labels(y_true, y_pred)
    k = int(max(t.max(), p.max())) + 1
    if num_classes is not None:
        if k > num_classes:
            raise ValueError(f"a label {k - 1} is outside num_classes={num_classes} (labels must be < {num_classes}).")
        k = num_classes
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Fraction of correct predictions."""
    t, p = _as_labels(y_true, y_pred)
    return float(np.mean(t == p))


def uf1(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Unweighted F1: mean per-class F1 over the classes present in labels or predictions.

    Taught in notebooks/06_training_loso.ipynb, section "4 · Curves: what the paper protocol sees".
    """
    c = confusion(y_true, y_pred)
    tp, n_pred, n_true = np.diag(c), c.sum(0), c.sum(1)
    present = (n_pred + n_true) > 0
    return float(np.mean(2 * tp[present] / (n_pred[present] + n_true[present])))


def uar(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Unweighted average recall: mean per-class recall over the classes present in the labels.

    Taught in notebooks/07_reproduce_paper.ipynb, section "5 · The official "UAR" is macro precision".
    """
    c = confusion(y_true, y_pred)
    tp, n_true = np.diag(c), c.sum(1)
    present = n_true > 0
    return float(np.mean(tp[present] / n_true[present]))


def official_uar_macro_precision(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """What the official SAMM / CAS(ME)^3 scripts print as "UAR": mean TP / #predicted.

    That is macro *precision*, not recall (two variable names are swapped), divided by the number
    of classes present in labels or predictions; a class never predicted contributes 0. Kept only
    so notebook 07 can compare it with the real :func:`uar`; never report it as UAR.

    Taught in notebooks/07_reproduce_paper.ipynb, section "5 · The official "UAR" is macro precision".
    """
    c = confusion(y_true, y_pred)
    tp, n_pred, n_true = np.diag(c), c.sum(0), c.sum(1)
    present = (n_pred + n_true) > 0
    prec = np.divide(tp, n_pred, out=np.zeros(len(tp), dtype=float), where=n_pred > 0)
    return float(prec[present].sum() / present.sum())


def score(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """All three reported scores (plus n) for one set of predictions."""
    t, p = _as_labels(y_true, y_pred)
    return {"n": int(t.size), "accuracy": accuracy(t, p), "uf1": uf1(t, p), "uar": uar(t, p)}


def pooled_scores(y_true_per_fold: Sequence[Sequence[int]], y_pred_per_fold: Sequence[Sequence[int]]
                  ) -> dict[str, float]:
    """Composite (pooled) scores: concatenate every fold's predictions, then score once."""
    if len(y_true_per_fold) != len(y_pred_per_fold):
        raise ValueError(f"{len(y_true_per_fold)} folds of labels but {len(y_pred_per_fold)} of predictions.")
    return score(np.concatenate([np.asarray(a) for a in y_true_per_fold]),
                 np.concatenate([np.asarray(a) for a in y_pred_per_fold]))


def per_fold_table(predictions: pd.DataFrame, fold_col: str = "fold", true_col: str = "y_true",
                   pred_col: str = "y_pred") -> pd.DataFrame:
    """One row per fold (accuracy, UF1, UAR, n, and the fold's subject when present) from a tidy
    predictions table, plus a final ``pooled`` row computed on all predictions together."""
    missing = [c for c in (fold_col, true_col, pred_col) if c not in predictions.columns]
    if missing:
        raise KeyError(f"per_fold_table: columns {missing} are missing; the table has {list(predictions.columns)}.")
    rows = []
    for fold, g in predictions.groupby(fold_col, sort=True):
        row = {fold_col: fold}
        if "subject" in g.columns:
            row["subject"] = str(g["subject"].iloc[0])
        row.update(score(g[true_col].to_numpy(), g[pred_col].to_numpy()))
        rows.append(row)
    pooled = {fold_col: "pooled", **score(predictions[true_col].to_numpy(), predictions[pred_col].to_numpy())}
    if "subject" in predictions.columns:
        pooled["subject"] = "all"
    return pd.DataFrame(rows + [pooled])


def majority_baseline(y_train_per_fold: Sequence[Sequence[int]], y_test_per_fold: Sequence[Sequence[int]]
                      ) -> dict[str, float]:
    """Pooled scores of predicting, in every fold, the most frequent class of that fold's training set.

    The floor every model must clear: on imbalanced data it has a decent accuracy but UF1 near 1/K·(…).

    Taught in notebooks/07_reproduce_paper.ipynb, section "2 · Data, then every variant under LOSO".
    """
    preds = []
    for y_train, y_test in zip(y_train_per_fold, y_test_per_fold):
        majority = int(np.bincount(np.asarray(y_train, dtype=np.int64)).argmax())
        preds.append(np.full(len(y_test), majority, dtype=np.int64))
    return pooled_scores(list(y_test_per_fold), preds)


def paired_bootstrap_interval(y_true: Sequence[int], pred_a: Sequence[int], pred_b: Sequence[int], metric=uf1,
                              n_boot: int = 1000, seed: int = 0, level: float = 95.0) -> tuple[float, float]:
    """``level`` % bootstrap interval of ``metric(a) - metric(b)`` for two models predicting the same clips.

    Resampling clips (with replacement, the same resample for both models) keeps the pairing, so the interval
    measures whether one model beats the other beyond the noise of which clips a dataset happens to hold; it
    says nothing about seeds or other datasets. Used by notebook 07 ("How to read it").
    """
    y, a, b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    if not (len(y) == len(a) == len(b)):
        raise ValueError(f"y_true, pred_a and pred_b differ in length: {len(y)}, {len(a)}, {len(b)}")
    idx = np.random.default_rng(seed).integers(0, len(y), (n_boot, len(y)))
    diffs = [metric(y[i], a[i]) - metric(y[i], b[i]) for i in idx]
    lo, hi = np.percentile(diffs, [(100 - level) / 2, 100 - (100 - level) / 2])
    return float(lo), float(hi)
