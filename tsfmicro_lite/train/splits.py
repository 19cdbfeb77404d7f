"""Leave-one-subject-out (LOSO) folds, and the inner validation split of the honest protocol.

Why LOSO: micro-expression datasets have a few dozen subjects and identity differences far larger
than the expression signal; a random split would put the same face on both sides and measure face
recognition. Each fold holds out every clip of one subject (notebook 06, "The split").

The official code tests only the subjects of its hard-coded lists (CASME II 3-class skips sub18,
SAMM lists differ), while still training on the skipped ones. ``test_subjects`` reproduces that;
the default tests every subject present.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from sklearn.model_selection import LeaveOneGroupOut

from ..data.datasets import get_spec

__all__ = ["Fold", "loso_folds", "inner_validation_split", "paper_test_subjects"]


@dataclass(frozen=True)
class Fold:
    """One LOSO fold: ``index`` in run order, the held-out ``subject``, and sample indices.

    Taught in notebooks/06_training_loso.ipynb, section "1 · The split: one fold per subject".
    """
    index: int
    subject: str
    train_idx: np.ndarray
    test_idx: np.ndarray

    def __repr__(self) -> str:
        return (f"Fold({self.index}, subject={self.subject!r}, train={len(self.train_idx)}, "
                f"test={len(self.test_idx)})")


def loso_folds(subjects: Sequence[str], test_subjects: Sequence[str] | None = None) -> list[Fold]:
    """One fold per subject (scikit-learn's ``LeaveOneGroupOut``), in sorted subject order.

    ``test_subjects`` restricts which subjects are *tested* (the official lists); every sample whose
    subject is not the held-out one is trained on, as in the official code. A listed subject absent
    from the data raises, naming it, since it would silently shrink the evaluation.

    Taught in notebooks/06_training_loso.ipynb, section "1 · The split: one fold per subject".
    """
    groups = np.asarray([str(s) for s in subjects])
    if groups.size == 0:
        raise ValueError("loso_folds: no samples; load a dataset first.")
    present = sorted(set(groups.tolist()))
    if len(present) < 2:
        raise ValueError(f"LOSO needs at least 2 subjects; the data has only {present}.")
    if test_subjects is not None:
        wanted = [str(s) for s in test_subjects]
        missing = [s for s in wanted if s not in present]
        if missing:
            raise ValueError(f"test_subjects {missing} are not in the data (subjects present: {present}); "
                             "check the subject naming (e.g. 'sub01', '006', 'spNO.1') or the class filter.")
        keep = set(wanted)
    else:
        keep = set(present)
    folds: list[Fold] = []
    x = np.zeros((groups.size, 1))
    by_subject = {}
    for train_idx, test_idx in LeaveOneGroupOut().split(x, groups=groups):
        subject = str(groups[test_idx[0]])
        by_subject[subject] = (train_idx, test_idx)
    for subject in sorted(keep):
        train_idx, test_idx = by_subject[subject]
        folds.append(Fold(len(folds), subject, train_idx, test_idx))
    return folds


def inner_validation_split(train_idx: np.ndarray, subjects: Sequence[str], num_val_subjects: int = 2,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split a fold's *training* samples into (fit, validation) by whole subjects.

    Used by the honest protocol's early stopping: the validation subjects are drawn from the
    training side only, so the held-out test subject is never looked at to choose an epoch.
    """
    groups = np.asarray([str(s) for s in subjects])[train_idx]
    train_subjects = sorted(set(groups.tolist()))
    if num_val_subjects < 1 or num_val_subjects >= len(train_subjects):
        raise ValueError(f"num_val_subjects={num_val_subjects} must be between 1 and "
                         f"{len(train_subjects) - 1} (the fold has {len(train_subjects)} training subjects).")
    rng = np.random.default_rng(seed)
    val_subjects = set(rng.choice(train_subjects, size=num_val_subjects, replace=False).tolist())
    is_val = np.isin(groups, list(val_subjects))
    return train_idx[~is_val], train_idx[is_val]


def paper_test_subjects(dataset: str, classes: int) -> list[str] | None:
    """The official code's hard-coded LOSO test list for ``dataset``/``classes``, normalised like the
    ``subject`` column, in the scripts' order; None for a dataset without one (synthme: every subject is
    tested). The lists are data, in each dataset's spec (``data/datasets/<name>.py``, ``official_loso``)."""
    spec = get_spec(dataset)
    raw = spec.task(classes).official_loso
    return None if raw is None else [spec.subject(s) for s in raw]
