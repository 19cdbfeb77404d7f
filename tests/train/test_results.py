"""Result tables of a LOSO run and the one rule that picks their predictions (tsfmicro_lite.train.results).

The agreement test is the reason ``select_predictions`` exists: the results table, the plots and the
training explorer must report the same number for every protocol and metric, on a real run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsfmicro_lite import metrics as M
from tsfmicro_lite.explore import training_explorer
from tsfmicro_lite.train.results import METRICS, protocol_gaps, select_predictions
from tsfmicro_lite.viz.training import plot_confusion

PROTOCOLS = ("honest", "paper")


def drawn_confusion(ax, k: int) -> np.ndarray:
    """The counts a confusion plot writes in its cells (row i = true class i)."""
    return np.array([int(t.get_text()) for t in ax.texts]).reshape(k, k)


def score_counts(counts: np.ndarray, metric: str) -> float:
    """``metric`` of the predictions a confusion matrix counts."""
    true, pred = np.nonzero(counts)
    reps = counts[true, pred]
    return M.score(np.repeat(true, reps), np.repeat(pred, reps))[metric]


def test_the_run_chooses_different_epochs_for_paper_accuracy_and_uf1(loso_run):
    """The premise: on this run, scoring UF1 on the accuracy-selected epochs gives another number."""
    folds = loso_run.results[(loso_run.results["fold"] != "pooled") & (loso_run.results["protocol"] == "paper")]
    assert (folds["epoch_accuracy"] != folds["epoch_uf1"]).any()
    p = loso_run.predictions[loso_run.predictions["protocol"] == "paper"]
    by_acc, by_uf1 = p[p["criterion"] == "test_accuracy"], p[p["criterion"] == "test_uf1"]
    assert M.uf1(by_acc["y_true"], by_acc["y_pred"]) != pytest.approx(M.uf1(by_uf1["y_true"], by_uf1["y_pred"]))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_results_table_plot_and_explorer_agree(loso_run, protocol, metric):
    import matplotlib.pyplot as plt

    pred, results = loso_run.predictions, loso_run.results
    k = 5
    chosen = select_predictions(pred, protocol, metric)
    n_test = sum(len(f.test_idx) for f in loso_run.folds)
    assert len(chosen) == n_test and not chosen.duplicated(["fold", "sample"]).any()
    table = M.score(chosen["y_true"], chosen["y_pred"])[metric]

    # 1. the results table: pooled row and every fold's row
    assert loso_run.pooled(protocol).iloc[0][metric] == pytest.approx(table)
    per_fold = results[(results["fold"] != "pooled") & (results["protocol"] == protocol)].set_index("fold")
    for fold, rows in chosen.groupby("fold"):
        assert per_fold.loc[fold, metric] == pytest.approx(M.score(rows["y_true"], rows["y_pred"])[metric])

    # 2. the plot: the counts drawn in the pooled confusion matrix
    _, ax = plt.subplots()
    plot_confusion(pred, [f"c{i}" for i in range(k)], protocol, ax=ax, metric=metric)
    assert score_counts(drawn_confusion(ax, k), metric) == pytest.approx(table)
    plt.close(ax.figure)

    # 3. the explorer: its numbers, pooled and per fold, and the matrix it draws
    ex = training_explorer(pred, [f"c{i}" for i in range(k)])
    ex.protocol.value = protocol
    assert ex.state[metric] == pytest.approx(table)
    for fold in per_fold.index:
        ex.fold.value = fold
        assert ex.state[metric] == pytest.approx(per_fold.loc[fold, metric])
        drawn = drawn_confusion(ex.figure.axes[0], k)
        np.testing.assert_array_equal(drawn, ex.state["confusion"])
        uf1_rows = select_predictions(pred[pred["fold"] == fold], protocol, "uf1")
        np.testing.assert_array_equal(drawn, M.confusion(uf1_rows["y_true"], uf1_rows["y_pred"], num_classes=k))


def test_select_predictions_reads_a_saved_table_and_names_bad_requests(loso_run, tmp_path):
    pred = loso_run.predictions
    pred.to_csv(tmp_path / "predictions.csv", index=False)      # as write_tables saves it
    disk = pd.read_csv(tmp_path / "predictions.csv")
    for protocol in PROTOCOLS:
        for metric in METRICS:
            a, b = select_predictions(pred, protocol, metric), select_predictions(disk, protocol, metric)
            np.testing.assert_array_equal(a[["fold", "sample", "epoch", "y_pred"]].to_numpy(),
                                          b[["fold", "sample", "epoch", "y_pred"]].to_numpy())
    paper = {m: set(select_predictions(pred, "paper", m)["criterion"]) for m in METRICS}
    assert paper == {"accuracy": {"test_accuracy"}, "uf1": {"test_uf1"}, "uar": {"test_uf1"}}
    with pytest.raises(ValueError, match=r"unknown metric 'f1'.*Expected one of: accuracy, uf1, uar"):
        select_predictions(pred, "paper", "f1")
    with pytest.raises(ValueError, match=r"unknown protocol 'papers'. Did you mean 'paper'\?"):
        select_predictions(pred, "papers", "uf1")
    with pytest.raises(ValueError, match=r"lacks columns \['serves'\]"):
        select_predictions(pred.drop(columns="serves"), "paper", "uf1")
    with pytest.raises(ValueError, match=r"no 'paper' rows; its protocols are \['honest'\]"):
        select_predictions(pred[pred["protocol"] == "honest"], "paper", "uf1")


def test_protocol_gaps_are_paper_minus_honest_per_fold(loso_run):
    results = loso_run.results
    gaps = protocol_gaps(results, ("accuracy", "uf1"))
    folds = results[results.fold != "pooled"]
    assert len(gaps) == folds.fold.nunique() and (gaps >= -1e-9).all().all()
    first = folds[folds.fold == folds.fold.iloc[0]].set_index("protocol")
    assert gaps["uf1"].iloc[0] == pytest.approx(first.loc["paper", "uf1"] - first.loc["honest", "uf1"])
    # two variants: one row per (variant, fold)
    both = pd.concat([results, results.assign(variant="other")])
    assert protocol_gaps(both, ("accuracy",)).index.names == ["variant", "fold"]
    assert len(protocol_gaps(both, ("accuracy",))) == 2 * len(gaps)
