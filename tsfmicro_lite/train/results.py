"""Tidy result tables of a LOSO run: one row per (protocol, fold) plus a pooled row per protocol.

Every row carries its provenance (dataset, classes, variant, protocol label, seed, device, precision
(fp32 = the official; bf16 / fp16 = opt-in AMP), wall time, kit version, git commit, and whether the data
is synthetic, and the data path: ``faces`` = align | dataset, ``frame_search`` = off | corrected | official,
``rotation`` = the augmentation's resampling), so a CSV found later says what produced it. Written as
``results.csv`` / ``results.json`` and ``predictions.csv`` in the run folder.
"""
from __future__ import annotations

import functools
import subprocess
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from .. import metrics as M
from ..utils.io import atomic_write_json, atomic_write_text
from ..utils.names import unknown
from ..utils.paths import repo_root
from .protocol import PROTOCOLS, Selection

__all__ = ["git_commit", "kit_version", "fold_rows", "pooled_rows", "protocol_gaps", "select_predictions",
           "write_tables", "RESULT_COLUMNS", "METRICS"]

RESULT_COLUMNS = ["dataset", "data_kind", "classes", "variant", "preset", "profile", "faces", "frame_search",
                  "rotation", "protocol", "protocol_label",
                  "fold", "subject", "n", "accuracy", "uf1", "uar", "epoch_accuracy", "epoch_uf1", "epochs",
                  "seed", "device", "precision", "wall_s", "kit_version", "git_commit"]
METRICS = ("accuracy", "uf1", "uar")   # the reported metrics, in the tables' order


def kit_version() -> str:
    return __version__


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The checkout's commit (with ``+dirty`` when it has local changes), or ``unknown``."""
    try:
        root = str(repo_root())
        sha = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _metric_values(y_true: Sequence[int], selections: list[Selection]) -> dict[str, Any]:
    """Each reported metric from the selection that serves it (paper: acc and UF1 from two epochs)."""
    out: dict[str, Any] = {}
    for sel in selections:
        s = M.score(y_true, sel.y_pred)
        for metric in sel.serves:
            out[metric] = s[metric]
        if "accuracy" in sel.serves:
            out["epoch_accuracy"] = sel.epoch
        if "uf1" in sel.serves:
            out["epoch_uf1"] = sel.epoch
    return out


def fold_rows(meta: dict[str, Any], fold: int, subject: str, y_true: Sequence[int],
              selections_by_protocol: dict[str, list[Selection]], labels: dict[str, str],
              wall_s: float, epochs_run: int) -> list[dict[str, Any]]:
    """The per-fold rows (one per protocol) of the results table."""
    rows = []
    for protocol, selections in selections_by_protocol.items():
        row = {**meta, "protocol": protocol, "protocol_label": labels[protocol], "fold": fold,
               "subject": subject, "n": len(y_true), "epochs": epochs_run, "wall_s": round(wall_s, 3)}
        row.update(_metric_values(y_true, selections))
        rows.append(row)
    return rows


def select_predictions(predictions: pd.DataFrame, protocol: str, metric: str) -> pd.DataFrame:
    """The rows of a run's predictions table on which ``protocol`` reports ``metric``.

    ``predictions`` is ``LosoResult.predictions`` (or a run's ``predictions.csv``): one row per test
    sample per (protocol, criterion), its ``serves`` column naming the metrics that criterion's epoch
    gives (``protocol.select``). ``honest`` has one criterion for all three metrics; ``paper`` scores
    accuracy on the epochs of most correct test predictions and UF1 / UAR on the epochs of best test
    UF1. The results tables, the plots (``viz.training``) and the training explorer all pick their
    rows here, so no copy can score the paper protocol's UF1 on its accuracy-selected epochs.
    Returns one row per test sample (all folds present in ``predictions``).
    """
    if metric not in METRICS:
        raise unknown("metric", metric, METRICS)
    if protocol not in PROTOCOLS:
        raise unknown("protocol", protocol, PROTOCOLS,
                      hint="honest = epoch fixed in advance; paper = best epoch on the test subject.")
    missing = sorted({"protocol", "serves", "y_true", "y_pred"} - set(predictions.columns))
    if missing:
        raise ValueError(f"the predictions table lacks columns {missing}; it has {list(predictions.columns)} "
                         "(pass LosoResult.predictions or a run's predictions.csv).")
    rows = predictions[predictions["protocol"] == protocol]
    if rows.empty:
        raise ValueError(f"the predictions table holds no {protocol!r} rows; its protocols are "
                         f"{sorted(set(predictions['protocol']))}.")
    chosen = rows[rows["serves"].astype(str).str.split("+").apply(lambda serves: metric in serves)]
    if chosen.empty:
        raise ValueError(f"no criterion of protocol {protocol!r} serves {metric!r} "
                         f"(criteria: {sorted(set(rows['serves']))}).")
    keys = [c for c in ("fold", "sample") if c in chosen.columns]
    if len(keys) == 2 and chosen.duplicated(keys).any():
        raise ValueError(f"two criteria of protocol {protocol!r} serve {metric!r} for the same sample; "
                         "each metric must come from one selection per fold.")
    return chosen


def protocol_gaps(results: pd.DataFrame, metrics: Sequence[str] = ("accuracy", "uf1")) -> pd.DataFrame:
    """Per fold (and variant, where the table has several), paper − honest of each metric, from a results table.

    The paper protocol picks its epoch on the test subject, the honest one fixes it in advance: each value is
    >= 0 by construction, which notebooks 06 and 07 assert. The majority baseline (one protocol) is left out.
    """
    folds = results[(results["fold"] != "pooled") & (results["variant"] != "majority_class")]
    index = ["variant", "fold"] if folds["variant"].nunique() > 1 else ["fold"]
    wide = folds.pivot_table(index=index, columns="protocol", values=list(metrics))
    return pd.DataFrame({m: wide[m]["paper"] - wide[m]["honest"] for m in metrics})


def pooled_rows(meta: dict[str, Any], predictions: pd.DataFrame, labels: dict[str, str],
                wall_s: float) -> list[dict[str, Any]]:
    """One pooled row per protocol: every metric scored on the predictions, pooled over folds, that
    :func:`select_predictions` picks for it (paper: Σ best-correct / Σ n for accuracy, pooled
    UF1-best predictions for UF1 / UAR)."""
    rows = []
    for protocol in dict.fromkeys(predictions["protocol"]):
        row = {**meta, "protocol": protocol, "protocol_label": labels[protocol], "fold": "pooled",
               "subject": "all", "wall_s": round(wall_s, 3)}
        for metric in METRICS:
            h = select_predictions(predictions, protocol, metric)
            s = M.score(h["y_true"].to_numpy(), h["y_pred"].to_numpy())
            row["n"] = s["n"]
            row[metric] = s[metric]
        rows.append(row)
    return rows


def write_tables(run_dir, results: pd.DataFrame, predictions: pd.DataFrame, extra: dict[str, Any]) -> None:
    """``results.csv`` + ``results.json`` (rows and run facts) + ``predictions.csv``, atomically."""
    atomic_write_text(run_dir / "results.csv", results.to_csv(index=False))
    atomic_write_text(run_dir / "predictions.csv", predictions.to_csv(index=False))
    records = results.replace({np.nan: None}).to_dict(orient="records")
    atomic_write_json(run_dir / "results.json", {"run": extra, "rows": records})
