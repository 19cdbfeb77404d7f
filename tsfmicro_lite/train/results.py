"""Tidy result tables of a LOSO run: one row per (protocol, fold) plus a pooled row per protocol.

Every row carries its provenance (dataset, classes, variant, protocol label, seed, device, wall
time, kit version, git commit, and whether the data is synthetic), so a CSV found later says what
produced it. Written as ``results.csv`` / ``results.json`` and ``predictions.csv`` in the run folder.
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
from ..utils.paths import repo_root
from .protocol import Selection

__all__ = ["git_commit", "kit_version", "fold_rows", "pooled_rows", "write_tables", "RESULT_COLUMNS"]

RESULT_COLUMNS = ["dataset", "data_kind", "classes", "variant", "preset", "protocol", "protocol_label",
                  "fold", "subject", "n", "accuracy", "uf1", "uar", "epoch_accuracy", "epoch_uf1", "epochs",
                  "seed", "device", "wall_s", "kit_version", "git_commit"]


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


def pooled_rows(meta: dict[str, Any], predictions: pd.DataFrame, labels: dict[str, str],
                wall_s: float) -> list[dict[str, Any]]:
    """One pooled row per protocol: every metric scored on the predictions pooled over folds that
    serve it (paper: Σ best-correct / Σ n for accuracy, pooled UF1-best predictions for UF1 / UAR)."""
    rows = []
    for protocol, g in predictions.groupby("protocol", sort=False):
        row = {**meta, "protocol": protocol, "protocol_label": labels[protocol], "fold": "pooled",
               "subject": "all", "wall_s": round(wall_s, 3)}
        for criterion, h in g.groupby("criterion", sort=False):
            serves = h["serves"].iloc[0].split("+")
            s = M.score(h["y_true"].to_numpy(), h["y_pred"].to_numpy())
            row["n"] = s["n"]
            for metric in serves:
                row[metric] = s[metric]
        rows.append(row)
    return rows


def write_tables(run_dir, results: pd.DataFrame, predictions: pd.DataFrame, extra: dict[str, Any]) -> None:
    """``results.csv`` + ``results.json`` (rows and run facts) + ``predictions.csv``, atomically."""
    atomic_write_text(run_dir / "results.csv", results.to_csv(index=False))
    atomic_write_text(run_dir / "predictions.csv", predictions.to_csv(index=False))
    records = results.replace({np.nan: None}).to_dict(orient="records")
    atomic_write_json(run_dir / "results.json", {"run": extra, "rows": records})
