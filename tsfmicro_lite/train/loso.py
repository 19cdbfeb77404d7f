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
import tempfile
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from ..utils.device import resolve_device
from ..utils.io import atomic_write_json
from ..utils.progress import progress
from .checkpoints import RunFolder
from .parallel import ParallelPlan, run_folds_in_parallel
from .protocol import PROTOCOLS, protocol_label, select, warn_if_paper
from .results import RESULT_COLUMNS, fold_rows, git_commit, kit_version, pooled_rows, write_tables
from .splits import Fold, inner_validation_split, loso_folds
from .trainer import FoldHistory, TrainConfig, train_fold

__all__ = ["LosoData", "TensorLosoData", "LosoResult", "run_loso", "evaluate_run", "tables_from_histories", "fold_seed",
           "data_fingerprint", "fold_precision", "provenance_note", "PROVENANCE_KEYS", "SPEED_ONLY_FIELDS"]

# what is stored with each fold (FoldHistory.provenance) and compared across a run's folds
PROVENANCE_KEYS = ("device_name", "precision", "deterministic", "kit_version", "git_commit", "torch_version")
_AMP_NAMES = {"off": "fp32", "bfloat16": "bf16", "float16": "fp16"}   # FoldHistory.amp of older runs
# TrainConfig fields that decide how fast a run goes, not its result: left out of run.json, so a run
# resumed with other workers / pipeline / determinism continues (each fold's provenance records them)
SPEED_ONLY_FIELDS = ("device", "num_workers", "input_pipeline", "deterministic", "channels_last", "fused_adamw")


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


#: The largest run seed: a fold's seed (``seed * 1000 + fold``) must stay below 2**32 (NumPy's limit).
MAX_SEED = (2**32 - 1) // 1000 - 1


def fold_seed(seed: int, fold_index: int) -> int:
    """A fold's own seed, so its result does not depend on which folds ran before it.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED} (a fold's seed is seed * 1000 + fold, and NumPy "
                         f"takes seeds below 2**32), got {seed}.")
    return int(seed) * 1000 + int(fold_index)


def absent_classes_note(data: LosoData, folds: Sequence[Fold]) -> list[str]:
    """One line per fold whose training subjects hold no sample of some class (it cannot be predicted there)."""
    names = list(getattr(getattr(data, "prepared", None), "classes", None) or [])
    labels = np.asarray(data.labels)
    lines = []
    for fold in folds:
        missing = sorted(set(range(int(data.num_classes))) - set(labels[fold.train_idx].tolist()))
        if missing:
            shown = ", ".join(f"{c} ({names[c]})" if c < len(names) else str(c) for c in missing)
            lines.append(f"fold {fold.index} ({fold.subject}): no training sample of class {shown}; the model "
                         f"cannot learn to predict it in this fold")
    return lines


def _upgrade_fp32_auto(run: RunFolder, fingerprint: dict[str, Any]) -> None:
    """A run folder made when ``amp="auto"`` was the default, all of whose folds trained in fp32 (on CPU),
    is the same run as ``amp="off"``: say so in its ``run.json`` so that it resumes instead of refusing."""
    if not run.run_file.exists() or fingerprint.get("train", {}).get("amp") != "off":
        return
    saved = json.loads(run.run_file.read_text())
    if saved.get("train", {}).get("amp") != "auto":
        return
    folds = [json.loads(p.read_text()) for p in (run.path / "folds").glob("fold_*.json")]
    if all(f.get("history", {}).get("amp", "off") == "off" for f in folds):
        saved["train"]["amp"] = "off"
        atomic_write_json(run.run_file, saved)


def fold_precision(history: FoldHistory) -> str:
    """``fp32`` / ``bf16`` / ``fp16``: the precision a fold trained in (also for folds saved before it was stored)."""
    return history.provenance.get("precision") or _AMP_NAMES.get(history.amp, history.amp)


def provenance_note(histories: dict[int, FoldHistory]) -> str | None:
    """A line naming what differs between folds (e.g. a run resumed on another GPU or precision), or None."""
    parts = []
    for key in PROVENANCE_KEYS:
        values = {i: (fold_precision(h) if key == "precision" else h.provenance.get(key)) for i, h in histories.items()}
        values = {i: v for i, v in values.items() if v is not None}
        if len(set(map(str, values.values()))) > 1:
            groups: dict[str, list[int]] = {}
            for i, v in sorted(values.items()):
                groups.setdefault(str(v), []).append(i)
            parts.append(f"{key}: " + "; ".join(f"{v} (folds {', '.join(map(str, ix))})" for v, ix in groups.items()))
    return ("folds differ in provenance: " + " | ".join(parts)) if parts else None


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
        rows.extend(fold_rows({**base, "device": history.device, "precision": fold_precision(history)},
                              fold.index, fold.subject, history.y_test,
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
    precisions = sorted({fold_precision(histories[f.index]) for f in folds})
    rows.extend(pooled_rows({**base, "precision": "+".join(precisions)}, predictions, labels, wall))
    results = pd.DataFrame(rows)
    return results[[c for c in RESULT_COLUMNS if c in results.columns]], predictions


def evaluate_run(run_dir: str | Path, protocols: Sequence[str] = ("honest",), partial: bool = False) -> LosoResult:
    """Re-score a finished (or, with ``partial=True``, a partly finished) run folder under ``protocols``.

    A fixed-budget run can be scored under either protocol (test predictions of every epoch are
    saved); a paper-only run stopped at 100 % test accuracy cannot give honest numbers. A run with
    k of its n folds finished is refused unless ``partial``; then its summary rows say
    ``fold="partial"`` and ``subject="k of n folds"``, never "pooled".
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
    planned = [str(s) for s in info.get("folds") or []]
    finished = {f.subject for f in folds}
    unfinished = [s for s in planned if s not in finished]
    if unfinished and not partial:
        raise ValueError(f"{run.path}: only {len(folds)} of {len(planned)} folds finished (missing: "
                         f"{', '.join(unfinished[:8])}{' ...' if len(unfinished) > 8 else ''}); scores over them are "
                         "not pooled LOSO scores. Finish the run (re-run the same train command), or pass --partial "
                         "(partial=True) to score the finished folds, labelled as partial.")
    labels = {p: protocol_label(p, train.get("honest_mode", "fixed"), train.get("epochs")) for p in protocols}
    keys = ("dataset", "data_kind", "classes", "variant", "preset", "profile")
    base = {**{k: info.get(k) for k in keys}, "seed": train.get("seed"), "device": None,
            "kit_version": kit_version(), "git_commit": git_commit()}
    results, predictions = tables_from_histories(folds, histories, tuple(protocols), labels, base)
    if unfinished:
        summary = results["fold"] == "pooled"
        results.loc[summary, "fold"] = "partial"
        results.loc[summary, "subject"] = f"{len(folds)} of {len(planned)} folds"
    return LosoResult(results, predictions, histories, folds, run.path, [f.index for f in folds])


def run_loso(data: LosoData, model_factory: Callable[[], nn.Module], config: TrainConfig, *,
             protocols: Sequence[str] = ("honest",), out_dir: str | Path | None = None,
             meta: dict[str, Any] | None = None, test_subjects: Sequence[str] | None = None,
             max_folds: int | None = None, model_config: dict[str, Any] | None = None,
             save_checkpoints: bool = True, on_fold_end: Callable[[Fold, FoldHistory], None] | None = None,
             verbose: bool = True, parallel: int | ParallelPlan = 1) -> LosoResult:
    """Train and evaluate ``model_factory()`` under LOSO on ``data``; see the module docstring.

    ``out_dir``: run folder for checkpoints, fold results and tables (None: keep in memory only).
    ``meta``: provenance columns (dataset, data_kind, classes, variant, preset) for the tables.
    ``max_folds``: run only the first N folds (quick profiles); pooled scores then cover those.
    ``model_config``: saved in each checkpoint so ``RunFolder.load_model`` can rebuild the model.
    ``parallel``: folds at once (a number: local processes) or a ``parallel.ParallelPlan`` (engine
    ``local`` or ``submitit``); the folds train with the same seeds, so the table equals the serial one.

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
        if int(max_folds) < 1:
            raise ValueError(f"max_folds (--max-folds) must be at least 1, got {max_folds}; leave it out to run "
                             f"every fold ({len(folds)}).")
        folds = folds[:max_folds]
    fold_seed(config.seed, 0)  # checks the seed's range before any fold trains
    for line in absent_classes_note(data, folds):
        warnings.warn(line, stacklevel=2)
    labels = {p: protocol_label(p, config.honest_mode, config.epochs) for p in protocols}
    device = str(resolve_device(config.device))
    base = {**meta, "seed": config.seed, "device": device, "kit_version": kit_version(),
            "git_commit": git_commit()}
    run = RunFolder(out_dir) if out_dir is not None else None
    if run is not None:
        fingerprint = {**meta, "train": {k: v for k, v in config.to_dict().items() if k not in SPEED_ONLY_FIELDS},
                       "protocols": sorted(protocols), "folds": [f.subject for f in folds],
                       "n_samples": int(len(data.labels)), "data_sha1": data_fingerprint(data),
                       "model_config": model_config}
        _upgrade_fp32_auto(run, fingerprint)
        run.check_or_write_run(fingerprint)

    plan = parallel if isinstance(parallel, ParallelPlan) else ParallelPlan(parallel=int(parallel))
    scratch = None
    if plan.dispatches and run is None:   # jobs hand their folds back through a run folder
        scratch = tempfile.TemporaryDirectory(prefix="tsfmicro-loso-")
        run = RunFolder(scratch.name)
        save_checkpoints = False

    def train_one(fold: Fold, job_config: TrainConfig = config) -> FoldHistory:
        """Train one fold with its own seed; save it into the run folder when there is one."""
        seed = fold_seed(job_config.seed, fold.index)
        val_set = None
        train_idx = fold.train_idx
        if "honest" in protocols and job_config.honest_mode == "inner_val":
            train_idx, val_idx = inner_validation_split(fold.train_idx, data.subjects,
                                                        job_config.val_subjects, seed=seed)
            val_set = data.dataset(val_idx, train=False)
        model, history = train_fold(model_factory, data.dataset(train_idx, train=True),
                                    data.dataset(fold.test_idx, train=False), job_config, val_set=val_set,
                                    fold_seed=seed, progress_desc=f"fold {fold.index} ({fold.subject})")
        history.provenance.setdefault("git_commit", git_commit())
        if run is not None:
            run.save_fold(fold.index, fold.subject,
                          {"fold": fold.index, "subject": fold.subject, "history": history.to_dict(),
                           "test_idx": fold.test_idx.tolist()},
                          model if save_checkpoints else None, model_config)
        return history

    histories: dict[int, FoldHistory] = {}
    resumed: list[int] = []
    start = time.perf_counter()
    dispatched: set[int] = set()
    if plan.dispatches:
        pending = [f for f in folds if run.load_fold(f.index, f.subject) is None]
        uses_cuda = resolve_device(config.device).type == "cuda"
        # a worker sees only its own GPU (CUDA_VISIBLE_DEVICES), so it asks for "cuda", not "cuda:N"
        job_config = replace(config, device="cuda") if uses_cuda and plan.engine == "local" else config
        if verbose:
            print(f"{len(pending)} of {len(folds)} folds to train, {plan.parallel} at once ({plan.engine})",
                  flush=True)
        dispatched = set(run_folds_in_parallel(run, pending, lambda f: train_one(f, job_config), plan,
                                               uses_cuda=uses_cuda, device=config.device))
    for fold in progress(folds, desc=f"LOSO {meta['variant']}", unit="folds"):
        saved = run.load_fold(fold.index, fold.subject) if run is not None else None
        if saved is not None:
            history = FoldHistory.from_dict(saved["history"])
            if fold.index not in dispatched:
                resumed.append(fold.index)
        else:
            history = train_one(fold)
        histories[fold.index] = history
        if verbose:
            rows = fold_rows(base, fold.index, fold.subject, history.y_test, _selections_for(history, protocols),
                             labels, history.wall_s, len(history.epochs))
            parts = [f"{r['protocol']} acc {r['accuracy']:.2f} UF1 {r['uf1']:.2f}" for r in rows]
            tag = " (resumed from disk)" if fold.index in resumed else ""
            print(f"fold {fold.index:2d} {fold.subject:>8}: n={len(history.y_test):3d} "
                  f"epochs={len(history.epochs):3d} {history.wall_s:6.1f}s | " + " | ".join(parts) + tag,
                  flush=True)
        if on_fold_end is not None:
            on_fold_end(fold, history)
    results, predictions = tables_from_histories(folds, histories, protocols, labels, base)
    note = provenance_note(histories)
    if note and verbose:
        print(note, flush=True)
    if scratch is not None:
        scratch.cleanup()
        run = None
    if run is not None:
        write_tables(run.path, results, predictions,
                     {**base, "protocols": list(protocols), "labels": labels, "train": config.to_dict(),
                      "elapsed_s": time.perf_counter() - start, "parallel": plan.parallel, "engine": plan.engine,
                      "provenance_note": note})
    return LosoResult(results, predictions, histories, folds, run.path if run else None, resumed)
