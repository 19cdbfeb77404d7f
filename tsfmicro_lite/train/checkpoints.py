"""Per-fold checkpoints and results on disk, so a killed LOSO run resumes where it stopped.

Layout of one run folder (everything written atomically through ``utils.io``)::

    <run_dir>/run.json                   what decides the result (config, data, model); checked on resume
    <run_dir>/folds/fold_03_sub04.json   one finished fold: per-epoch history, labels, timing
    <run_dir>/checkpoints/fold_03.pt     its model weights + the config that rebuilds the model

A fold counts as finished only once its ``.json`` exists; it is written after the checkpoint, so a
crash between the two just re-trains that fold. Re-running the same command skips finished folds
(notebook 06, "Checkpoint or train"). Like nanoGPT's checkpoints, the architecture comes from the
saved config, not from the command line.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..models import build_from_config
from ..utils.io import atomic_torch_save, atomic_write_json

__all__ = ["RunFolder", "RunMismatchError"]


class RunMismatchError(ValueError):
    """The run folder holds results of a different configuration than the one asked for."""


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """``key.sub: saved=… now=…`` for every leaf that differs between two JSON values (dicts compared by key)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            out += _differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return out
    if old == new:
        return []
    if isinstance(old, list) and isinstance(new, list) and len(old) > 6:
        return [f"{prefix}: saved {len(old)} items, now {len(new)} (first difference at item "
                f"{next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))})"]
    return [f"{prefix}: saved={old!r} now={new!r}"]


class RunFolder:
    """Paths and read/write helpers of one run folder.

    Taught in notebooks/06_training_loso.ipynb, section "3 · Every fold, with the package: checkpoint or train".
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def run_file(self) -> Path:
        return self.path / "run.json"

    def fold_file(self, index: int, subject: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(subject))
        return self.path / "folds" / f"fold_{index:02d}_{safe}.json"

    def checkpoint_file(self, index: int) -> Path:
        return self.path / "checkpoints" / f"fold_{index:02d}.pt"

    def check_or_write_run(self, fingerprint: dict[str, Any]) -> bool:
        """Write ``run.json``, or check an existing one matches; returns True when resuming.

        A mismatch raises, listing only the fields that differ (``train.lr: saved=0.01 now=0.5``), rather
        than mixing two configurations' folds. Fold files without a ``run.json`` are refused: nothing says
        which configuration trained them.
        """
        fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
        if self.run_file.exists():
            try:
                old = json.loads(self.run_file.read_text())
            except json.JSONDecodeError as exc:
                raise RunMismatchError(f"{self.run_file} is not valid JSON ({exc}); the run's configuration is "
                                       f"unknown. Use another --out folder, or delete {self.path} to start "
                                       "over.") from None
            diff = _differences(old, fingerprint)
            if diff:
                shown = "; ".join(diff[:8]) + (f"; ... {len(diff) - 8} more" if len(diff) > 8 else "")
                raise RunMismatchError(
                    f"{self.path} holds a run with another configuration ({shown}). Use another --out folder, "
                    "or delete that folder to start over.")
            return True
        orphans = self.finished_fold_files()
        if orphans or self.checkpoint_files():
            found = orphans or self.checkpoint_files()
            raise RunMismatchError(
                f"{self.path} holds {len(orphans)} fold results and {len(self.checkpoint_files())} checkpoints "
                f"(e.g. {found[0].name}) but no run.json, so nothing says which configuration trained them; the "
                f"kit will not adopt them. Fix: use another --out folder, or delete {self.path / 'folds'} and "
                f"{self.path / 'checkpoints'} to start over.")
        atomic_write_json(self.run_file, fingerprint)
        return False

    def finished_fold_files(self) -> list[Path]:
        """The result files of the finished folds, by name."""
        return sorted((self.path / "folds").glob("fold_*.json"))

    def checkpoint_files(self) -> list[Path]:
        return sorted((self.path / "checkpoints").glob("fold_*.pt"))

    def save_fold(self, index: int, subject: str, result: dict[str, Any], model: nn.Module | None,
                  model_config: dict[str, Any] | None = None) -> Path:
        """Checkpoint first, then the result file that marks the fold as finished."""
        if model is not None:
            atomic_torch_save(self.checkpoint_file(index), {
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "model_config": model_config, "fold": index, "subject": subject})
        return atomic_write_json(self.fold_file(index, subject), result)

    def load_fold(self, index: int, subject: str) -> dict[str, Any] | None:
        """The saved result of a finished fold, or None if it has not finished."""
        path = self.fold_file(index, subject)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:  # cannot happen with atomic writes, but say what to do
            raise RuntimeError(f"{path} is not valid JSON ({exc}); delete it to re-train that fold.") from exc

    def load_model(self, index: int, model_factory: Callable[..., nn.Module] | None = None,
                   map_location: str = "cpu") -> nn.Module:
        """Rebuild a fold's model from its checkpoint (``build_from_config(model_config)`` by default)."""
        path = self.checkpoint_file(index)
        if not path.exists():
            raise FileNotFoundError(f"no checkpoint for fold {index} at {path}; was the run saved with checkpoints?")
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
        if model_factory is None:
            if not ckpt.get("model_config"):
                raise ValueError(f"{path} holds no model_config; pass model_factory= to rebuild the model.")
            model = build_from_config(ckpt["model_config"])
        else:
            model = model_factory()
        model.load_state_dict(ckpt["state_dict"])
        return model
