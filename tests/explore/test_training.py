"""The notebook-06 explorer, headless (tsfmicro_lite.explore.training), on a real LOSO run's table:
per-fold confusion matrix and mistakes (viz.training.plot_confusion / plot_mistakes). That its
numbers equal the results table's is tests/train/test_results.py."""
from __future__ import annotations

import numpy as np
import pytest

from tsfmicro_lite.explore.training import training_explorer
from tsfmicro_lite.train.results import select_predictions

CLASSES = ["negative", "positive", "surprise", "repression", "others"]


def test_per_fold_confusion_and_mistakes(loso_run):
    pred = loso_run.predictions
    n_test = sum(len(f.test_idx) for f in loso_run.folds)
    honest = select_predictions(pred, "honest", "uf1")
    wrong = honest[honest["y_true"] != honest["y_pred"]]
    seen = []
    ex = training_explorer(pred, CLASSES, images=lambda i: (seen.append(i), np.zeros((8, 8, 3)))[1])
    assert ex.protocol.value == "honest" and list(ex.protocol.options) == ["honest", "paper"]
    assert ex.state["n"] == n_test and ex.state["confusion"].sum() == n_test
    assert ex.state["mistakes"] == len(wrong) > 0
    confusion_ax, *gallery = ex.figure.axes
    assert confusion_ax.get_title() == "all folds (honest)" and len(gallery) == min(len(wrong), 8)
    first = wrong.iloc[0]
    assert gallery[0].get_title() == f"{CLASSES[first.y_true]}\n→ {CLASSES[first.y_pred]}"

    fold = loso_run.folds[1]
    ex.fold.value = fold.index
    fold_wrong = wrong[wrong["fold"] == fold.index]
    assert ex.state["n"] == len(fold.test_idx) and ex.state["confusion"].sum() == len(fold.test_idx)
    assert set(seen) >= set(fold_wrong["sample"].head(8))              # the fold's mistakes were drawn
    assert f"fold {fold.index}" in ex.status.value and ex.figure.axes[0].get_title() == f"fold {fold.index} (honest)"
    ex.protocol.value = "paper"                       # two criteria, yet no test sample counted twice
    assert ex.state["n"] == len(fold.test_idx) and "OPTIMISTIC" in ex.status.value
    with pytest.raises(ValueError, match=r"lacks columns \['y_pred'\]"):
        training_explorer(pred.drop(columns="y_pred"), CLASSES)
