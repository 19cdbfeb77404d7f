"""Run leave-one-subject-out training and evaluation, resumably, under one or both protocols.

:func:`run_loso` is the one loop behind ``tsfmicro train``, notebook 06 and notebook 07:

1. split by subject (``splits.loso_folds``);
2. for each fold not already on disk: seed the fold, build a *new* model and optimiser, train
   (``trainer.train_fold``), save checkpoint + fold result atomically, print a one-line summary;
3. let each protocol pick its epochs (``protocol.select``), pool predictions over folds, score,
   and write ``results.csv`` / ``results.json`` / ``predictions.csv``.

With ``protocols=("honest", "paper")`` one training run with a fixed budget gives both numbers,
so their difference is exactly the effect of choosing the epoch on the test subject.

The data side is an object with ``labels``, ``subjects`` and ``dataset(indices, train)`` (see
:class:`LosoData`), so tests drive the loop with random tensors (:class:`TensorLosoData`) and real
runs with prepared face crops (``reproduce.PreparedLosoData``).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset
from tqdm.auto import tqdm

from ..utils.device import resolve_device
from ..utils.progress import quiet
from .checkpoints import RunFolder
from .protocol import PROTOCOLS, protocol_label, select, warn_if_paper
from .results import RESULT_COLUMNS, fold_rows, git_commit, kit_version, pooled_rows, write_tables
from .splits import Fold, inner_validation_split, loso_folds
from .trainer import FoldHistory, TrainConfig, train_fold

__all__ = ["LosoData", "TensorLosoData", "LosoResult", "run_loso", "evaluate_run", "tables_from_histories", "fold_seed",
           "data_fingerprint"]


class LosoData(Protocol):
    """What :func:`run_loso` needs from a dataset."""
    labels: np.ndarray       # (N,) int
    subjects: np.ndarray     # (N,) str
    num_classes: int

    def dataset(self, indices: np.ndarray, train: bool) -> Dataset: ...


@dataclass
class TensorLosoData:
    """In-memory ``(onset, motion, label)`` tensors with a subject per sample: for tests and toys."""
    onset: torch.Tensor
    motion: torch.Tensor
    labels: np.ndarray
    subjects: np.ndarray
    num_classes: int = 0

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.subjects = np.asarray([str(s) for s in self.subjects])
        if not (len(self.onset) == len(self.motion) == len(self.labels) == len(self.subjects)):
            raise ValueError(f"onset ({len(self.onset)}), motion ({len(self.motion)}), labels "
                             f"({len(self.labels)}) and subjects ({len(self.subjects)}) must have equal length.")
        self.num_classes = self.num_classes or int(self.labels.max()) + 1

    def dataset(self, indices: np.ndarray, train: bool) -> Dataset:
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        ds = TensorDataset(self.onset[idx], self.motion[idx], torch.as_tensor(self.labels)[idx])
        ds.labels = self.labels[np.asarray(indices)]  # lets the trainer read labels without iterating
        return ds


@dataclass
class LosoResult:
    """Everything a run produced: tidy tables, per-fold histories, and where they are on disk.

    Taught in notebooks/06_training_loso.ipynb, section "3 · Every fold, with the package: checkpoint or train".
    """
    results: pd.DataFrame          # per-fold + pooled rows, one set per protocol
    predictions: pd.DataFrame      # one row per test sample per (protocol, criterion)
    histories: dict[int, FoldHistory]
    folds: list[Fold]
    run_dir: Path | None
    resumed_folds: list[int] = field(default_factory=list)

    def pooled(self, protocol: str | None = None) -> pd.DataFrame:
        rows = self.results[self.results["fold"] == "pooled"]
        return rows if protocol is None else rows[rows["protocol"] == protocol]

    def summary(self) -> str:
        lines = []
        for _, r in self.pooled().iterrows():
            lines.append(f"{r['variant']:>14} {r['protocol_label']:<48} acc {r['accuracy']:.3f}  "
                         f"UF1 {r['uf1']:.3f}  UAR {r['uar']:.3f}  (n={int(r['n'])}, {r['data_kind']})")
        return "\n".join(lines)


def data_fingerprint(data: LosoData) -> str:
    """A hash of what the run trains on (labels, subjects and, where the object offers it, the
    inputs), so a run folder is never resumed on different data."""
    custom = getattr(data, "fingerprint", None)
    if callable(custom):
        return str(custom())
    h = hashlib.sha1()
    h.update(np.asarray(data.labels, dtype=np.int64).tobytes())
    h.update("|".join(map(str, data.subjects)).encode())
    for name in ("onset", "motion"):
        t = getattr(data, name, None)
        if isinstance(t, torch.Tensor):
            h.update(t.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def fold_seed(seed: int, fold_index: int) -> int:
    """A fold's own seed, so its result does not depend on which folds ran before it.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    return int(seed) * 1000 + int(fold_index)


def _selections_for(history: FoldHistory, protocols: Sequence[str]):
    return {p: select(history, p) for p in protocols}


def tables_from_histories(folds: Sequence[Fold], histories: dict[int, FoldHistory], protocols: Sequence[str],
                          labels: dict[str, str], base: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The results table (per-fold + pooled rows per protocol) and the predictions table."""
    rows: list[dict[str, Any]] = []
    pred_rows: list[dict[str, Any]] = []
    for fold in folds:
        history = histories[fold.index]
        selections = _selections_for(history, protocols)
        rows.extend(fold_rows({**base, "device": history.device}, fold.index, fold.subject, history.y_test,
                              selections, labels, history.wall_s, len(history.epochs)))
        for protocol, sels in selections.items():
            for sel in sels:
                for i, (yt, yp) in enumerate(zip(history.y_test, sel.y_pred)):
                    pred_rows.append({"protocol": protocol, "criterion": sel.criterion,
                                      "serves": "+".join(sel.serves), "fold": fold.index,
                                      "subject": fold.subject, "sample": int(fold.test_idx[i]),
                                      "epoch": sel.epoch, "y_true": int(yt), "y_pred": int(yp)})
    predictions = pd.DataFrame(pred_rows)
    wall = sum(histories[f.index].wall_s for f in folds)
    rows.extend(pooled_rows(dict(base), predictions, labels, wall))
    results = pd.DataFrame(rows)
    return results[[c for c in RESULT_COLUMNS if c in results.columns]], predictions


def evaluate_run(run_dir: str | Path, protocols: Sequence[str] = ("honest",)) -> LosoResult:
    """Re-score a finished (or partly finished) run folder under ``protocols`` without training.

    A fixed-budget run can be scored under either protocol (test predictions of every epoch are
    saved); a paper-only run stopped at 100 % test accuracy cannot give honest numbers.
    """
    warn_if_paper(protocols)
    run = RunFolder(run_dir)
    if not run.run_file.exists():
        raise FileNotFoundError(f"{run.run_file} not found: {run_dir} is not a tsfmicro run folder "
                                "(made by `tsfmicro train --out DIR`).")
    info = json.loads(run.run_file.read_text())
    train = info.get("train", {})
    if "honest" in protocols and train.get("stop_at_perfect_test"):
        raise ValueError(f"{run_dir} was trained with the paper protocol's early stop at 100 % test accuracy; "
                         "its honest (fixed-budget) scores cannot be computed. Evaluate with --protocol paper.")
    folds, histories = [], {}
    for path in sorted((run.path / "folds").glob("fold_*.json")):
        saved = json.loads(path.read_text())
        f = Fold(int(saved["fold"]), str(saved["subject"]), np.array([], dtype=np.int64),
                 np.asarray(saved["test_idx"], dtype=np.int64))
        folds.append(f)
        histories[f.index] = FoldHistory.from_dict(saved["history"])
    if not folds:
        raise FileNotFoundError(f"{run.path / 'folds'} holds no finished fold; train first.")
    labels = {p: protocol_label(p, train.get("honest_mode", "fixed"), train.get("epochs")) for p in protocols}
    keys = ("dataset", "data_kind", "classes", "variant", "preset", "profile")
    base = {**{k: info.get(k) for k in keys}, "seed": train.get("seed"), "device": None,
            "kit_version": kit_version(), "git_commit": git_commit()}
    results, predictions = tables_from_histories(folds, histories, tuple(protocols), labels, base)
    return LosoResult(results, predictions, histories, folds, run.path, [f.index for f in folds])


def run_loso(data: LosoData, model_factory: Callable[[], nn.Module], config: TrainConfig, *,
             protocols: Sequence[str] = ("honest",), out_dir: str | Path | None = None,
             meta: dict[str, Any] | None = None, test_subjects: Sequence[str] | None = None,
             max_folds: int | None = None, model_config: dict[str, Any] | None = None,
             save_checkpoints: bool = True, on_fold_end: Callable[[Fold, FoldHistory], None] | None = None,
             verbose: bool = True) -> LosoResult:
    """Train and evaluate ``model_factory()`` under LOSO on ``data``; see the module docstring.

    ``out_dir``: run folder for checkpoints, fold results and tables (None: keep in memory only).
    ``meta``: provenance columns (dataset, data_kind, classes, variant, preset) for the tables.
    ``max_folds``: run only the first N folds (quick profiles); pooled scores then cover those.
    ``model_config``: saved in each checkpoint so ``RunFolder.load_model`` can rebuild the model.

    Taught in notebooks/06_training_loso.ipynb, section "3 · Every fold, with the package: checkpoint or train".
    """
    protocols = tuple(dict.fromkeys(protocols))
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"unknown protocol {p!r}: expected some of {PROTOCOLS}.")
    warn_if_paper(protocols)
    if "honest" in protocols and config.stop_at_perfect_test:
        raise ValueError("stop_at_perfect_test=True looks at the test subject; it cannot be used when the "
                         "'honest' protocol is requested. Set it to False (run_loso turns it on for paper-only runs).")
    if protocols == ("paper",) and not config.stop_at_perfect_test:
        config = TrainConfig(**{**config.to_dict(), "stop_at_perfect_test": True})
    meta = {"dataset": "tensors", "data_kind": "synthetic", "classes": data.num_classes, "variant": "custom",
            "preset": "custom", **(meta or {})}
    folds = loso_folds(data.subjects, test_subjects)
    if max_folds is not None:
        folds = folds[:max_folds]
    labels = {p: protocol_label(p, config.honest_mode, config.epochs) for p in protocols}
    device = str(resolve_device(config.device))
    base = {**meta, "seed": config.seed, "device": device, "kit_version": kit_version(),
            "git_commit": git_commit()}
    run = RunFolder(out_dir) if out_dir is not None else None
    if run is not None:
        fingerprint = {**meta, "train": {k: v for k, v in config.to_dict().items()
                                         if k not in ("device", "num_workers")},
                       "protocols": sorted(protocols), "folds": [f.subject for f in folds],
                       "n_samples": int(len(data.labels)), "data_sha1": data_fingerprint(data),
                       "model_config": model_config}
        run.check_or_write_run(fingerprint)

    histories: dict[int, FoldHistory] = {}
    resumed: list[int] = []
    start = time.perf_counter()
    for fold in tqdm(folds, desc=f"LOSO {meta['variant']}", disable=quiet()):
        saved = run.load_fold(fold.index, fold.subject) if run is not None else None
        if saved is not None:
            history = FoldHistory.from_dict(saved["history"])
            resumed.append(fold.index)
        else:
            seed = fold_seed(config.seed, fold.index)
            val_set = None
            train_idx = fold.train_idx
            if "honest" in protocols and config.honest_mode == "inner_val":
                train_idx, val_idx = inner_validation_split(fold.train_idx, data.subjects,
                                                            config.val_subjects, seed=seed)
                val_set = data.dataset(val_idx, train=False)
            model, history = train_fold(model_factory, data.dataset(train_idx, train=True),
                                        data.dataset(fold.test_idx, train=False), config, val_set=val_set,
                                        fold_seed=seed, progress_desc=f"fold {fold.index} ({fold.subject})")
            if run is not None:
                run.save_fold(fold.index, fold.subject,
                              {"fold": fold.index, "subject": fold.subject, "history": history.to_dict(),
                               "test_idx": fold.test_idx.tolist()},
                              model if save_checkpoints else None, model_config)
        histories[fold.index] = history
        if verbose:
            rows = fold_rows(base, fold.index, fold.subject, history.y_test, _selections_for(history, protocols),
                             labels, history.wall_s, len(history.epochs))
            parts = [f"{r['protocol']} acc {r['accuracy']:.2f} UF1 {r['uf1']:.2f}" for r in rows]
            tag = " (resumed from disk)" if saved is not None else ""
            print(f"fold {fold.index:2d} {fold.subject:>8}: n={len(history.y_test):3d} "
                  f"epochs={len(history.epochs):3d} {history.wall_s:6.1f}s | " + " | ".join(parts) + tag,
                  flush=True)
        if on_fold_end is not None:
            on_fold_end(fold, history)
    results, predictions = tables_from_histories(folds, histories, protocols, labels, base)
    if run is not None:
        write_tables(run.path, results, predictions,
                     {**base, "protocols": list(protocols), "labels": labels, "train": config.to_dict(),
                      "elapsed_s": time.perf_counter() - start})
    return LosoResult(results, predictions, histories, folds, run.path if run else None, resumed)
