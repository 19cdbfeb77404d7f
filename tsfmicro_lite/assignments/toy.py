"""A toy LOSO problem that runs in milliseconds, for assignment A4 (notebook 06): find the leak.

Why a toy: the leak of the official protocol (choosing the best epoch on the held-out subject,
spec §6 and §9: ``docs/official-implementation.md``) inflates the score whatever the model is;
showing it with a softmax regression on a few features lets a student measure it in seconds on a
laptop, then recognise it in ``tsfmicro_lite.train`` where each epoch costs minutes.

The features mimic micro-expression data: a strong per-subject offset (identity), a weak class
signal and noise, three imbalanced classes. Everything is synthetic and labelled so.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import metrics
from ..train.splits import loso_folds

__all__ = ["make_features", "notebook_data", "fit_epochs", "fit", "predict", "leaky_evaluate", "NOTEBOOK_EPOCHS"]

NOTEBOOK_EPOCHS = 30  # the epoch budget notebook 06's assignment fixes in advance
_LR = 0.5
_BATCH = 8


def make_features(seed: int = 0, n_subjects: int = 8, per_subject: int = 15, dim: int = 16,
                  signal: float = 0.6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic features ``X`` (n, dim) float64, labels ``y`` (n,) in {0,1,2}, subject names (n,)."""
    rng = np.random.default_rng(seed)
    class_means = rng.normal(0, signal, size=(3, dim))
    X, y, s = [], [], []
    for i in range(n_subjects):
        offset = rng.normal(0, 2.0, size=dim)             # identity: larger than the expression signal
        labels = rng.choice(3, size=per_subject, p=[0.5, 0.3, 0.2])
        X.append(offset + class_means[labels] + rng.normal(0, 1.0, size=(per_subject, dim)))
        y.append(labels)
        s += [f"sub{i + 1:02d}"] * per_subject
    return np.concatenate(X), np.concatenate(y).astype(np.int64), np.array(s)


def notebook_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one data set the A4 notebook measures the inflation on (fixed seed, so answers are checkable)."""
    return make_features(seed=2026, n_subjects=8, per_subject=15)


def fit_epochs(X: np.ndarray, y: np.ndarray, epochs: int, num_classes: int = 3, seed: int = 0):
    """Softmax regression by mini-batch SGD; yields ``(mean, std, W)`` after every epoch.

    Features are standardised with the *training* statistics only. The generator lets a loop look
    at every epoch, which is what makes the leak possible.
    """
    rng = np.random.default_rng(seed)
    mean, std = X.mean(0), X.std(0) + 1e-8
    Z = np.c_[(X - mean) / std, np.ones(len(X))]             # (n, dim + 1), bias column
    W = np.zeros((Z.shape[1], num_classes))
    onehot = np.eye(num_classes)[y]
    for _ in range(epochs):
        order = rng.permutation(len(Z))
        for start in range(0, len(Z), _BATCH):
            b = order[start:start + _BATCH]
            logits = Z[b] @ W
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            W -= _LR * Z[b].T @ (p - onehot[b]) / len(b)
        yield mean, std, W.copy()


def fit(X: np.ndarray, y: np.ndarray, epochs: int, num_classes: int = 3, seed: int = 0):
    """The model after exactly ``epochs`` epochs (the last state of :func:`fit_epochs`)."""
    state = None
    for state in fit_epochs(X, y, epochs, num_classes, seed):
        pass
    if state is None:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    return state


def predict(model, X: np.ndarray) -> np.ndarray:
    """Class indices predicted by a model returned from :func:`fit` / :func:`fit_epochs`."""
    mean, std, W = model
    return (np.c_[(X - mean) / std, np.ones(len(X))] @ W).argmax(1)


def leaky_evaluate(X: np.ndarray, y: np.ndarray, subjects: np.ndarray, epochs: int,
                   metric: Callable[[np.ndarray, np.ndarray], float] | None = None,
                   split: Callable[[np.ndarray], list] | None = None) -> float:
    """LOSO, pooled UF1, as a colleague wrote it. Assignment A4 asks what is wrong with it.

    ``metric`` scores predictions and ``split`` makes the ``(subject, train_idx, test_idx)`` folds
    (defaults: the kit's UF1 and LOSO split; the A4 notebook passes the student's own ``uf1`` and
    ``loso_split``, because the kit's are switched off while the assignment is graded).
    """
    uf1 = metric or metrics.uf1
    folds = split(subjects) if split else [(f.subject, f.train_idx, f.test_idx) for f in loso_folds(subjects)]
    y_true, y_pred = [], []
    for subject, _, _ in folds:
        test = subjects == subject
        best, best_score = None, -1.0
        for model in fit_epochs(X[~test], y[~test], epochs):
            pred = predict(model, X[test])
            fold_score = uf1(y[test], pred)
            if fold_score >= best_score:
                best, best_score = pred, fold_score
        y_true.append(y[test])
        y_pred.append(best)
    return uf1(np.concatenate(y_true), np.concatenate(y_pred))
