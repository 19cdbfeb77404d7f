"""Notebook 06/07's plots of a LOSO run (tsfmicro_lite.viz.training), on a real run's tables: each
bar, line and cell shows the number the results table holds."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tsfmicro_lite import metrics as M
from tsfmicro_lite.train.reproduce import comparison_table
from tsfmicro_lite.train.results import select_predictions
from tsfmicro_lite.viz import training as vt

CLASSES = ["negative", "positive", "surprise", "repression", "others"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_curves_are_the_mean_and_range_over_folds(loso_run):
    axes = vt.plot_curves(loso_run.histories, metrics=("train_loss", "test_uf1"))
    curves = np.stack([h.curve("test_uf1") for h in loso_run.histories.values()])
    (mean,) = axes[1].get_lines()
    np.testing.assert_allclose(mean.get_xdata(), np.arange(1, curves.shape[1] + 1))
    np.testing.assert_allclose(mean.get_ydata(), curves.mean(0))
    band = axes[1].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(curves.min()) and band.max() == pytest.approx(curves.max())
    assert [a.get_title() for a in axes] == ["train loss", "test uf1"]


@pytest.mark.parametrize("metric", ["uf1", "accuracy"])
def test_fold_scores_bars_are_the_per_fold_rows_and_lines_the_pooled(loso_run, metric):
    r = loso_run.results
    ax = vt.plot_fold_scores(r, metric)
    for i, protocol in enumerate(["honest", "paper"]):
        rows = r[(r["protocol"] == protocol) & (r["fold"] != "pooled")]
        bars = ax.containers[i]
        assert bars.get_label() == protocol
        np.testing.assert_allclose([b.get_height() for b in bars], rows[metric].to_numpy())
        pooled_line = [line for line in ax.get_lines() if line.get_linestyle() == "--"][i]
        assert pooled_line.get_ydata()[0] == pytest.approx(loso_run.pooled(protocol).iloc[0][metric])
    assert [t.get_text() for t in ax.get_xticklabels()] == [f.subject for f in loso_run.folds]
    assert ax.get_ylabel() == metric.upper()


@pytest.mark.parametrize("protocol", ["honest", "paper"])
def test_confusion_counts_are_the_selected_predictions(loso_run, protocol):
    ax = vt.plot_confusion(loso_run.predictions, CLASSES, protocol)
    drawn = np.array([int(t.get_text()) for t in ax.texts]).reshape(5, 5)
    rows = select_predictions(loso_run.predictions, protocol, "uf1")     # paper: the UF1-selected epochs
    np.testing.assert_array_equal(drawn, M.confusion(rows["y_true"], rows["y_pred"], num_classes=5))
    rates = ax.images[0].get_array()
    np.testing.assert_allclose(rates, drawn / drawn.sum(1, keepdims=True))
    assert ax.get_title() == f"pooled confusion ({protocol})"
    assert [t.get_text() for t in ax.get_yticklabels()] == CLASSES


def test_mistakes_gallery_shows_each_sample_titled_true_to_predicted(loso_run):
    rows = select_predictions(loso_run.predictions, "honest", "uf1")
    wrong = rows[rows["y_true"] != rows["y_pred"]].head(3)
    fig = vt.plot_mistakes(wrong, lambda i: np.full((4, 4, 3), i / 100), CLASSES)
    assert len(fig.axes) == len(wrong)
    for ax, (_, r) in zip(fig.axes, wrong.iterrows()):
        assert ax.get_title() == f"{CLASSES[r.y_true]}\n→ {CLASSES[r.y_pred]}"
        assert ax.images[0].get_array()[0, 0, 0] == pytest.approx(r["sample"] / 100)
    with pytest.raises(ValueError, match="3 mistakes but only 1 axes"):
        vt.plot_mistakes(wrong, lambda i: np.zeros((4, 4, 3)), CLASSES, axes=[fig.axes[0]])


def test_run_figure_says_what_produced_it(loso_run):
    fig = vt.plot_run(loso_run.results, loso_run.predictions, CLASSES)
    scores, confusion = fig.axes
    assert scores.get_title() == "per-subject UF1 (dashed: pooled)"
    assert confusion.get_title() == "pooled confusion (honest)"
    assert fig.get_suptitle() == "toy on toy (synthetic), 5 classes"


def test_reproduction_bars_are_the_comparison_table(loso_run):
    table = comparison_table(loso_run.results)
    ax = vt.plot_reproduction(table, "uf1")
    row = table[table["metric"] == "uf1"].set_index("variant").loc["toy"]
    kit = [c for c in table.columns if c.startswith("kit")]
    for bars, col in zip(ax.containers, kit):
        assert bars.get_label() == col and bars[0].get_height() == pytest.approx(row[col])
    assert ax.get_title() == "pooled UF1 per variant"
