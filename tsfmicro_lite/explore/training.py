"""The notebook-06 explorer: pick a fold and a protocol, see its confusion matrix and its mistakes.

Every number comes from the rows :func:`tsfmicro_lite.train.results.select_predictions` picks, the
rule ``results.csv`` and the plots use: for the ``paper`` protocol, accuracy is scored on the
test-accuracy-selected epochs and UF1 / UAR (and the confusion matrix and mistakes shown) on the
test-UF1-selected ones. The panels are :func:`tsfmicro_lite.viz.training.plot_confusion` (the
notebook's section "4 · Curves: what the paper protocol sees") and
:func:`~tsfmicro_lite.viz.training.plot_mistakes`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import ipywidgets as W
import numpy as np
import pandas as pd

from .. import metrics as M
from ..train.results import METRICS, select_predictions
from ..viz.training import plot_confusion, plot_mistakes
from .base import Explorer, figure

__all__ = ["TrainingExplorer", "training_explorer"]

NEEDED = ("protocol", "serves", "fold", "sample", "y_true", "y_pred")


class TrainingExplorer(Explorer):
    """Pick a fold (and protocol): its confusion matrix and the samples the model got wrong.

    ``predictions`` is the tidy table of a LOSO run (``LosoResult.predictions`` or a run's
    ``predictions.csv``: one row per test sample per protocol and criterion); ``images(sample) ->
    array`` returns a picture of a sample (e.g. its onset crop) for the gallery of mistakes.
    ``state`` holds the fold, the protocol, the confusion counts, n, the number of mistakes and the
    three metrics, each scored on the predictions the results table scores it on.
    Used in notebooks/06_training_loso.ipynb, section "Explore: fold by fold".
    """

    def __init__(self, predictions: pd.DataFrame, class_names: Sequence[str],
                 images: Callable[[int], np.ndarray] | None = None, max_mistakes: int = 8) -> None:
        missing = [c for c in NEEDED if c not in predictions.columns]
        if missing:
            raise ValueError(f"training explorer: predictions lacks columns {missing}; it has "
                             f"{list(predictions.columns)} (use LosoResult.predictions or a run's predictions.csv).")
        self.predictions = predictions
        self.class_names = list(class_names)
        self.images, self.max_mistakes = images, max_mistakes
        folds = sorted(predictions["fold"].unique().tolist())
        subjects = predictions.groupby("fold")["subject"].first().to_dict() if "subject" in predictions else {}
        options = [("all folds (pooled)", "all")] + [(f"fold {f}: {subjects.get(f, '')}".strip(": "), f) for f in folds]
        self.fold = W.Dropdown(options=options, value="all", description="fold")
        protocols = list(dict.fromkeys(predictions["protocol"]))
        self.protocol = W.Dropdown(options=protocols, value="honest" if "honest" in protocols else protocols[0],
                                   description="protocol", disabled=len(protocols) < 2)
        super().__init__([self.fold, self.protocol], "Training explorer: confusion matrix and mistakes per fold")
        self.redraw()

    def rows(self, metric: str = "uf1") -> pd.DataFrame:
        """The predictions of the chosen fold that the chosen protocol scores ``metric`` on."""
        p = self.predictions
        if self.fold.value != "all":
            p = p[p["fold"] == self.fold.value]
        return select_predictions(p, self.protocol.value, metric)

    def draw(self):
        protocol = self.protocol.value
        shown = self.rows("uf1")                     # the confusion matrix and the mistakes: as plot_confusion
        scores = {}
        for metric in METRICS:
            r = self.rows(metric)
            scores[metric] = M.score(r["y_true"].to_numpy(), r["y_pred"].to_numpy())[metric]
        k = len(self.class_names)
        wrong = shown[shown["y_true"] != shown["y_pred"]]
        gallery = wrong.head(self.max_mistakes) if self.images is not None else wrong.iloc[:0]
        cols = max(1, len(gallery))
        fig = figure(figsize=(4 + 1.6 * cols, 3.6))
        grid = fig.add_gridspec(2, 1 + cols, width_ratios=[2.5] + [1] * cols)
        label = "all folds" if self.fold.value == "all" else f"fold {self.fold.value}"
        plot_confusion(shown, self.class_names, protocol, ax=fig.add_subplot(grid[:, 0]),
                       title=f"{label} ({protocol})")
        if len(gallery):
            plot_mistakes(gallery, self.images, self.class_names,
                          axes=[fig.add_subplot(grid[0, 1 + n]) for n in range(len(gallery))])
        cm = M.confusion(shown["y_true"].to_numpy(), shown["y_pred"].to_numpy(), num_classes=k)
        self.state = {"fold": self.fold.value, "protocol": protocol, "confusion": cm, "n": int(len(shown)),
                      "mistakes": int(len(wrong)), **scores}
        note = (" Paper protocol: accuracy from each fold's best-accuracy test epoch, UF1 / UAR and the matrix "
                "from its best-UF1 test epoch (OPTIMISTIC)." if protocol == "paper" else "")
        status = (f"{label}: {len(shown)} test samples, {len(wrong)} wrong; accuracy {scores['accuracy']:.3f}, "
                  f"UF1 {scores['uf1']:.3f}, UAR {scores['uar']:.3f}.{note} "
                  + ("" if self.images is not None else "(pass images=... to see the mistakes)"))
        return fig, status


def training_explorer(predictions: pd.DataFrame, class_names: Sequence[str],
                      images: Callable[[int], np.ndarray] | None = None) -> TrainingExplorer:
    """The notebook-06 explorer (see :class:`TrainingExplorer`).

    Used in notebooks/06_training_loso.ipynb, section "Explore: fold by fold".
    """
    return TrainingExplorer(predictions, class_names, images)
