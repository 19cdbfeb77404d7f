"""Metrics against scikit-learn and against cases worked out by hand (tsfmicro_lite.metrics)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, precision_score

from tsfmicro_lite import metrics as M


@pytest.mark.parametrize("seed", range(8))
def test_against_sklearn_random(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    t = rng.integers(0, k, size=int(rng.integers(5, 80)))
    p = np.where(rng.random(t.size) < 0.5, t, rng.integers(0, k, size=t.size))
    assert M.accuracy(t, p) == pytest.approx(np.mean(t == p))
    assert M.uf1(t, p) == pytest.approx(f1_score(t, p, average="macro", zero_division=0))
    assert M.uar(t, p) == pytest.approx(balanced_accuracy_score(t, p))
    labels = np.union1d(t, p)
    assert M.official_uar_macro_precision(t, p) == pytest.approx(
        precision_score(t, p, labels=labels, average="macro", zero_division=0))
    np.testing.assert_array_equal(M.confusion(t, p, num_classes=k), confusion_matrix(t, p, labels=range(k)))


def test_hand_worked_case():
    # 3 classes; true 0,0,0,1,1,2 ; pred 0,0,1,1,2,2
    t = [0, 0, 0, 1, 1, 2]
    p = [0, 0, 1, 1, 2, 2]
    # class 0: TP 2, pred 2, true 3 -> F1 = 4/5 ; recall 2/3 ; precision 1
    # class 1: TP 1, pred 2, true 2 -> F1 = 2/4 ; recall 1/2 ; precision 1/2
    # class 2: TP 1, pred 2, true 1 -> F1 = 2/3 ; recall 1   ; precision 1/2
    assert M.accuracy(t, p) == pytest.approx(4 / 6)
    assert M.uf1(t, p) == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
    assert M.uar(t, p) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert M.official_uar_macro_precision(t, p) == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)
    np.testing.assert_array_equal(M.confusion(t, p), [[2, 1, 0], [0, 1, 1], [0, 0, 1]])


def test_fold_whose_subject_lacks_classes_pooled_vs_per_fold():
    # fold A has only class 0 and 1, fold B only class 2; perfect except one miss in A
    folds_t = [[0, 0, 1, 1], [2, 2]]
    folds_p = [[0, 0, 1, 0], [2, 2]]
    pooled = M.pooled_scores(folds_t, folds_p)
    # pooled: class0 TP2 pred3 true2 -> 4/5 ; class1 TP1 pred1 true2 -> 2/3 ; class2 -> 1
    assert pooled["uf1"] == pytest.approx((4 / 5 + 2 / 3 + 1) / 3)
    assert pooled["uar"] == pytest.approx((1 + 1 / 2 + 1) / 3)
    assert pooled["accuracy"] == pytest.approx(5 / 6)
    # fold B alone: only class 2 is present -> UF1 1.0, not dragged down by absent classes 0 and 1
    assert M.uf1(folds_t[1], folds_p[1]) == 1.0
    assert M.uar(folds_t[1], folds_p[1]) == 1.0
    # a class predicted but never true counts in UF1 (F1 = 0) but not in UAR
    assert M.uf1([2, 2], [2, 0]) == pytest.approx((0 + 2 / 3) / 2)
    assert M.uar([2, 2], [2, 0]) == pytest.approx(0.5)


def test_per_fold_table_and_pooled_row():
    df = pd.DataFrame({"fold": [0, 0, 0, 1, 1], "subject": ["s1"] * 3 + ["s2"] * 2,
                       "y_true": [0, 1, 1, 2, 2], "y_pred": [0, 1, 0, 2, 1]})
    table = M.per_fold_table(df)
    assert list(table["fold"]) == [0, 1, "pooled"]
    assert list(table["subject"]) == ["s1", "s2", "all"]
    assert table["n"].tolist() == [3, 2, 5]
    assert table.iloc[-1]["uf1"] == pytest.approx(f1_score(df.y_true, df.y_pred, average="macro"))
    # pooled is not the mean of the per-fold values
    assert table.iloc[-1]["uf1"] != pytest.approx(table.iloc[:2]["uf1"].mean())


def test_majority_baseline():
    res = M.majority_baseline([[0, 0, 1], [1, 1, 0]], [[1, 0], [0, 0]])
    # fold 0 predicts 0, fold 1 predicts 1: preds [0,0,1,1] vs true [1,0,0,0]
    assert res["accuracy"] == pytest.approx(0.25)


@pytest.mark.parametrize("t, p, match", [
    ([0, 1], [0], "2 labels but y_pred has 1"),
    ([[0, 1]], [[0, 1]], "1-D label vectors"),
    ([0, -1], [0, 1], "negative class index"),
    ([0.5, 1], [0, 1], "integer class indices"),
    ([], [], "empty"),
])
def test_errors(t, p, match):
    with pytest.raises(ValueError, match=match):
        M.accuracy(t, p)


def test_confusion_num_classes_too_small():
    with pytest.raises(ValueError, match="outside num_classes=2"):
        M.confusion([0, 2], [0, 1], num_classes=2)


def test_paired_bootstrap_interval_is_zero_for_the_same_model_and_positive_for_a_clear_winner():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 60)
    noisy = np.where(rng.random(60) < 0.6, rng.integers(0, 3, 60), y)
    assert M.paired_bootstrap_interval(y, noisy, noisy) == (0.0, 0.0)
    lo, hi = M.paired_bootstrap_interval(y, y, noisy, n_boot=300)
    assert 0 < lo <= hi <= 1
    # the same seed gives the same interval; a wider level contains a narrower one
    assert M.paired_bootstrap_interval(y, y, noisy, n_boot=300) == (lo, hi)
    lo80, hi80 = M.paired_bootstrap_interval(y, y, noisy, n_boot=300, level=80)
    assert lo <= lo80 <= hi80 <= hi
    with pytest.raises(ValueError, match="differ in length"):
        M.paired_bootstrap_interval(y, y[:-1], noisy)
