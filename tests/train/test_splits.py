"""Leave-one-subject-out folds and the inner validation split (tsfmicro_lite.train.splits)."""
from __future__ import annotations

import numpy as np
import pytest

from tsfmicro_lite.train.splits import inner_validation_split, loso_folds


def test_no_subject_on_both_sides():
    rng = np.random.default_rng(0)
    subjects = rng.choice([f"sub{i:02d}" for i in range(1, 9)], size=120)
    folds = loso_folds(subjects)
    assert [f.subject for f in folds] == sorted(set(subjects))
    covered = np.concatenate([f.test_idx for f in folds])
    assert sorted(covered.tolist()) == list(range(120))     # every sample tested exactly once
    for f in folds:
        assert set(subjects[f.test_idx]) == {f.subject}
        assert f.subject not in set(subjects[f.train_idx])
        assert len(f.train_idx) + len(f.test_idx) == 120
        fit, val = inner_validation_split(f.train_idx, subjects, 2, seed=f.index)
        assert not set(subjects[fit]) & set(subjects[val])
        assert f.subject not in set(subjects[val]) | set(subjects[fit])
        assert len(set(subjects[val])) == 2


def test_official_list_tests_only_listed_but_trains_on_all():
    subjects = np.array(["a", "a", "b", "c", "c", "d"])
    folds = loso_folds(subjects, test_subjects=["a", "c"])
    assert [f.subject for f in folds] == ["a", "c"]
    assert "b" in set(subjects[folds[0].train_idx])          # skipped subject still trained on
    with pytest.raises(ValueError, match=r"test_subjects \['z'\] are not in the data"):
        loso_folds(subjects, test_subjects=["a", "z"])
    with pytest.raises(ValueError, match="at least 2 subjects"):
        loso_folds(["a", "a"])

