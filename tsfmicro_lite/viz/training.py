"""Plots of LOSO runs: training curves, per-fold scores, pooled confusion, the reproduction bars.

Used by notebooks 06 (one variant) and 07 (all variants), by the training explorer
(``explore.training``) and by ``tsfmicro train`` (``scores.png``). Every title says which protocol
(and, for 07, that the numbers are synthetic) produced it. Which predictions a plot scores comes
from ``train.results.select_predictions``, the rule the results tables use too.
"""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import metrics as M
from ..train.results import select_predictions

__all__ = ["plot_curves", "plot_fold_scores", "plot_confusion", "plot_mistakes", "plot_run", "plot_reproduction"]


def plot_curves(histories: dict, ax=None, metrics: Sequence[str] = ("train_loss", "test_loss", "test_uf1")):
    """Mean (± spread over folds) of per-epoch curves; the test curves are what the paper protocol
    picks its epoch from, so their peak sits above their last value.

    Used in notebooks/06_training_loso.ipynb, section "4 · Curves: what the paper protocol sees".
    """
    if ax is None:
        _, ax = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3))
    axes = np.atleast_1d(ax)
    for a, name in zip(axes, metrics):
        curves = [h.curve(name) for h in histories.values()]
        n = min(len(c) for c in curves)
        arr = np.stack([c[:n] for c in curves])
        epochs = np.arange(1, n + 1)
        a.plot(epochs, arr.mean(0), color="C0", label="mean over folds")
        a.fill_between(epochs, arr.min(0), arr.max(0), color="C0", alpha=0.2, label="min-max")
        a.set_xlabel("epoch")
        a.set_title(name.replace("_", " "))
    axes[0].legend(fontsize=8)
    return axes


def plot_fold_scores(results: pd.DataFrame, metric: str = "uf1", ax=None):
    """One bar per held-out subject, per protocol; the dashed lines are the pooled scores.

    Used in notebooks/06_training_loso.ipynb, section "4 · Curves: what the paper protocol sees".
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    per = results[results["fold"] != "pooled"]
    protocols = list(dict.fromkeys(per["protocol"]))
    subjects = list(dict.fromkeys(per["subject"]))
    width = 0.8 / max(len(protocols), 1)
    for i, p in enumerate(protocols):
        rows = per[per["protocol"] == p].set_index("subject").reindex(subjects)
        ax.bar(np.arange(len(subjects)) + i * width, rows[metric], width, label=p, color=f"C{i}")
        pooled = results[(results["fold"] == "pooled") & (results["protocol"] == p)][metric]
        if len(pooled):
            ax.axhline(float(pooled.iloc[0]), color=f"C{i}", ls="--", lw=1)
    ax.set_xticks(np.arange(len(subjects)) + width * (len(protocols) - 1) / 2)
    ax.set_xticklabels(subjects, rotation=60, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(metric.upper())
    ax.set_title(f"per-subject {metric.upper()} (dashed: pooled)")
    ax.legend(fontsize=8)
    return ax


def plot_confusion(predictions: pd.DataFrame, class_names: Sequence[str] | None = None, protocol: str = "honest",
                   ax=None, normalise: bool = True, metric: str = "uf1", title: str | None = None):
    """Pooled confusion matrix (rows: true class) of the predictions ``protocol`` scores ``metric``
    on (:func:`~tsfmicro_lite.train.results.select_predictions`; for paper and the default
    ``metric="uf1"``: the UF1-selected epochs). Cells show counts, colours the row-normalised rate.

    Used in notebooks/06_training_loso.ipynb, section "4 · Curves: what the paper protocol sees", and
    by its training explorer (section "Explore: fold by fold", one fold at a time).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2))
    p = select_predictions(predictions, protocol, metric)
    k = len(class_names) if class_names else int(max(p["y_true"].max(), p["y_pred"].max())) + 1
    c = M.confusion(p["y_true"], p["y_pred"], num_classes=k).astype(float)
    shown = c / np.maximum(c.sum(1, keepdims=True), 1) if normalise else c
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(c[i, j])}", ha="center", va="center",
                    color="white" if shown[i, j] > 0.5 * shown.max() else "black", fontsize=8)
    names = list(class_names) if class_names else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45, fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"pooled confusion ({protocol})", fontsize=9)
    return ax


def plot_mistakes(mistakes: pd.DataFrame, images: Callable[[int], np.ndarray], class_names: Sequence[str],
                  axes=None):
    """A gallery of wrongly classified samples: ``images(sample)`` of each row of ``mistakes`` (a
    slice of a predictions table), titled "true → predicted". Returns the figure.

    Used by the training explorer of notebooks/06_training_loso.ipynb, section "Explore: fold by fold".
    """
    if axes is None:
        fig, axes = plt.subplots(1, max(len(mistakes), 1), figsize=(1.6 * max(len(mistakes), 1), 1.9),
                                 squeeze=False)
        axes = axes[0]
    axes = list(np.atleast_1d(axes))
    if len(axes) < len(mistakes):
        raise ValueError(f"plot_mistakes: {len(mistakes)} mistakes but only {len(axes)} axes to draw them on.")
    for a, (_, r) in zip(axes, mistakes.iterrows()):
        a.imshow(images(int(r["sample"])))
        a.set_title(f"{class_names[int(r['y_true'])]}\n→ {class_names[int(r['y_pred'])]}", fontsize=7)
        a.axis("off")
    for a in axes[len(mistakes):]:
        a.axis("off")
    return axes[0].figure


def plot_run(results: pd.DataFrame, predictions: pd.DataFrame, class_names: Sequence[str] | None = None):
    """The figure saved with every run: per-fold UF1 and the pooled confusion matrix.

    Drawn by ``tsfmicro train`` (``scores.png``); notebooks/06_training_loso.ipynb, section
    "4 · Curves: what the paper protocol sees", builds the same two panels step by step.
    """
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [2.2, 1]})
    plot_fold_scores(results, "uf1", ax=a)
    protocol = "honest" if "honest" in set(predictions["protocol"]) else str(predictions["protocol"].iloc[0])
    plot_confusion(predictions, class_names, protocol, ax=b)
    r = results.iloc[0]
    fig.suptitle(f"{r['variant']} on {r['dataset']} ({r['data_kind']}), {r['classes']} classes", fontsize=10)
    fig.tight_layout()
    return fig


def plot_reproduction(comparison: pd.DataFrame, metric: str = "uf1", ax=None):
    """Bars per variant: the kit's numbers per protocol (labelled SYNTHETIC/REAL) and the paper's
    QUOTED ones (absent where the source could not be checked).

    Used in notebooks/07_reproduce_paper.ipynb, section "3 · The kit's numbers next to the paper's".
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    t = comparison[comparison["metric"] == metric].set_index("variant")
    cols = [c for c in t.columns if c.startswith(("kit", "paper"))]
    width = 0.8 / max(len(cols), 1)
    x = np.arange(len(t))
    for i, col in enumerate(cols):
        values = pd.to_numeric(t[col], errors="coerce")
        ax.bar(x + i * width, values.fillna(0), width, label=col, color=f"C{i}",
               hatch="//" if col.startswith("paper") else None)
        for xi, v in zip(x, values):
            if np.isnan(v):
                ax.text(xi + i * width, 0.02, "n/a", rotation=90, fontsize=6, ha="center")
    ax.set_xticks(x + width * (len(cols) - 1) / 2, t.index, rotation=20, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(metric.upper())
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    ax.set_title(f"pooled {metric.upper()} per variant")
    return ax
