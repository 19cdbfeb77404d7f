"""The training loop of one LOSO fold: a fresh model and optimiser, the official recipe.

AdamW, ExponentialLR for the first 50 epochs, plain cross-entropy (notebook 06 writes this loop out
once, then calls :func:`train_fold`).

The loop is generic: it takes a model factory and torch datasets yielding ``(onset, motion, label)``
and knows nothing about faces, so tests run it on a tiny stand-in model and random tensors.

What it records per epoch (``EpochRecord``): training loss, learning rate, and the predictions on
the test subject and (honest protocol) on the inner validation subjects. Recording test predictions
every epoch is what lets the *paper* protocol pick its best epoch afterwards; the *honest* protocol
never reads them to choose (see ``protocol.py``).
"""
from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .. import metrics as M
from ..utils.device import resolve_device
from ..utils.progress import quiet
from ..utils.seed import seed_everything

__all__ = ["TrainConfig", "EpochRecord", "FoldHistory", "train_fold", "predict", "make_loader",
           "make_optimizer", "autocast_dtype", "optimization_step", "to_device"]


@dataclass
class TrainConfig:
    """Everything that decides a fold's result, besides the data and the model.

    Defaults are the official values (AdamW lr 8e-4, ExponentialLR 0.987 stepped for epochs 1-50,
    batch 32); ``weight_decay`` is 0.7 for 3-class and 0.6 for 5-class / CAS(ME)^3 there (see
    ``profiles.official_train_config``). Quick CPU profiles override them (``profiles.py``).

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    epochs: int = 199
    batch_size: int = 32
    lr: float = 8e-4
    weight_decay: float = 0.7
    lr_gamma: float = 0.987
    lr_decay_epochs: int = 50          # the official schedule stops decaying after epoch 50
    seed: int = 0
    device: str = "auto"
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"   # auto: bf16/fp16 on CUDA, off on CPU
    num_workers: int = 0
    honest_mode: Literal["fixed", "inner_val"] = "fixed"   # fixed epoch budget, or early stop on val
    val_subjects: int = 2              # inner validation subjects (honest_mode="inner_val")
    patience: int = 10                 # epochs without val-UF1 improvement before stopping
    stop_at_perfect_test: bool = False # the official early stop at 100 % test accuracy (paper only)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}.")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"amp must be auto, off, bf16 or fp16; got {self.amp!r}.")
        if self.honest_mode not in ("fixed", "inner_val"):
            raise ValueError(f"honest_mode must be 'fixed' or 'inner_val'; got {self.honest_mode!r}.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EpochRecord:
    epoch: int                       # 1-based, as in the official logs
    lr: float
    train_loss: float
    test_loss: float | None = None
    test_pred: list[int] | None = None
    val_pred: list[int] | None = None
    val_loss: float | None = None
    seconds: float = 0.0


@dataclass
class FoldHistory:
    """Per-epoch records of one fold, the labels they are scored against, and timing.

    Taught in notebooks/06_training_loso.ipynb, section "4 · Curves: what the paper protocol sees".
    """
    y_test: list[int]
    y_val: list[int] | None = None
    epochs: list[EpochRecord] = field(default_factory=list)
    stopped_early: str | None = None
    best_val_epoch: int | None = None
    wall_s: float = 0.0
    device: str = "cpu"
    amp: str = "off"

    def curve(self, name: str) -> np.ndarray:
        """One per-epoch series: ``train_loss``, ``test_loss``, ``val_loss``, ``lr``, or
        ``test_accuracy`` / ``test_uf1`` / ``val_uf1`` ... (scored from the stored predictions)."""
        if name.startswith(("test_", "val_")) and not name.endswith("_loss"):
            split, metric = name.split("_", 1)
            y = self.y_test if split == "test" else self.y_val
            fn = {"accuracy": M.accuracy, "uf1": M.uf1, "uar": M.uar}[metric]
            return np.array([fn(y, getattr(r, f"{split}_pred")) for r in self.epochs])
        return np.array([getattr(r, name) for r in self.epochs], dtype=float)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FoldHistory":
        d = dict(d)
        d["epochs"] = [EpochRecord(**r) for r in d.get("epochs", [])]
        return cls(**d)


def autocast_dtype(device: torch.device, amp: str) -> torch.dtype | None:
    """The mixed-precision dtype to use, or None for fp32: bf16 where the GPU supports it, else fp16."""
    if device.type != "cuda" or amp == "off":
        if amp in ("bf16", "fp16") and device.type != "cuda":
            raise ValueError(f"amp={amp!r} needs a CUDA device; this run is on {device}. Use amp='off' or 'auto'.")
        return None
    if amp == "fp16":
        return torch.float16
    if amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def make_loader(dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int, device: torch.device,
                num_workers: int = 0) -> DataLoader:
    """A DataLoader whose shuffling depends only on ``seed`` (so a resumed fold replays exactly);
    pinned memory on CUDA so host-to-device copies overlap compute.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      num_workers=num_workers, pin_memory=device.type == "cuda",
                      persistent_workers=num_workers > 0)


def make_optimizer(model: nn.Module, config: TrainConfig
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW on every parameter (the official code applies weight decay to all, norms included)
    and ExponentialLR(gamma), which :func:`train_fold` steps only for epochs 1..lr_decay_epochs.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_gamma)
    return optimizer, scheduler


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device, dtype: torch.dtype | None = None
            ) -> tuple[list[int], float]:
    """Arg-max predictions and mean cross-entropy of ``model`` over ``loader`` (eval mode).

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    model.eval()
    preds: list[int] = []
    total, n = 0.0, 0
    for batch in loader:
        onset, motion, label = to_device(batch, device)
        with _autocast(device, dtype):
            logits = model(onset, motion)
        total += float(nn.functional.cross_entropy(logits.float(), label, reduction="sum"))
        n += int(label.numel())
        preds.extend(logits.argmax(1).tolist())
    return preds, total / max(n, 1)


def to_device(batch: Sequence[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, ...]:
    """Move an (onset, motion, label) batch to ``device`` (non-blocking: loaders pin memory on CUDA)."""
    return tuple(t.to(device, non_blocking=True) for t in batch)


def optimization_step(model: nn.Module, optimizer: torch.optim.Optimizer, onset: torch.Tensor,
                      motion: torch.Tensor, label: torch.Tensor, device: torch.device,
                      dtype: torch.dtype | None = None, scaler: torch.amp.GradScaler | None = None
                      ) -> torch.Tensor:
    """One forward + cross-entropy + backward + optimiser step, under AMP when ``dtype`` is set.

    The one implementation of a training step: the trainer and ``benchmarks/train_step.py`` share it,
    so the benchmark times exactly what training runs. Returns the detached loss.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    with _autocast(device, dtype):
        logits = model(onset, motion)
    loss = nn.functional.cross_entropy(logits.float(), label)
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    return loss.detach()


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _labels(dataset: Dataset) -> list[int]:
    labels = getattr(dataset, "labels", None)
    if labels is not None:
        return [int(x) for x in np.asarray(labels)]
    return [int(dataset[i][2]) for i in range(len(dataset))]


def train_fold(model_factory: Callable[[], nn.Module], train_set: Dataset, test_set: Dataset,
               config: TrainConfig, *, val_set: Dataset | None = None, fold_seed: int | None = None,
               on_epoch_end: Callable[[EpochRecord], None] | None = None,
               progress_desc: str | None = None) -> tuple[nn.Module, FoldHistory]:
    """Train a new model on ``train_set`` for ``config.epochs`` epochs; score ``test_set`` (and
    ``val_set``) after every epoch. Returns the model (the val-best one in ``inner_val`` mode) and
    its :class:`FoldHistory`.

    ``fold_seed`` seeds model initialisation, shuffling and augmentation for this fold alone, so a
    fold gives the same result whether it runs first or after a resume (the official code seeds once
    before the fold loop instead, which ties each fold to the fold order).

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    device = resolve_device(config.device)
    dtype = autocast_dtype(device, config.amp)
    seed = config.seed if fold_seed is None else fold_seed
    seed_everything(seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    model = model_factory().to(device)
    optimizer, scheduler = make_optimizer(model, config)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    train_loader = make_loader(train_set, config.batch_size, shuffle=True, seed=seed, device=device,
                               num_workers=config.num_workers)
    test_loader = make_loader(test_set, config.batch_size, shuffle=False, seed=seed, device=device)
    val_loader = (make_loader(val_set, config.batch_size, shuffle=False, seed=seed, device=device)
                  if val_set is not None else None)
    history = FoldHistory(y_test=_labels(test_set), y_val=_labels(val_set) if val_set is not None else None,
                          device=str(device), amp=str(dtype).replace("torch.", "") if dtype else "off")
    best_state, best_val, since_best = None, -1.0, 0
    start = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc=progress_desc or "epochs", leave=False, disable=quiet())
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        loss_sum, count = 0.0, 0
        for batch in train_loader:
            onset, motion, label = to_device(batch, device)
            loss = optimization_step(model, optimizer, onset, motion, label, device, dtype, scaler)
            loss_sum += float(loss) * label.numel()
            count += int(label.numel())
        if epoch <= config.lr_decay_epochs:
            scheduler.step()
        record = EpochRecord(epoch=epoch, lr=lr, train_loss=loss_sum / max(count, 1))
        record.test_pred, record.test_loss = predict(model, test_loader, device, dtype)
        if val_loader is not None:
            record.val_pred, record.val_loss = predict(model, val_loader, device, dtype)
        record.seconds = time.perf_counter() - t0
        history.epochs.append(record)
        bar.set_postfix(loss=f"{record.train_loss:.3f}")
        if on_epoch_end is not None:
            on_epoch_end(record)
        if val_loader is not None and config.honest_mode == "inner_val":
            val_uf1 = M.uf1(history.y_val, record.val_pred)
            if val_uf1 > best_val:
                best_val, since_best, history.best_val_epoch = val_uf1, 0, epoch
                best_state = copy.deepcopy(model.state_dict())
            else:
                since_best += 1
                if since_best >= config.patience:
                    history.stopped_early = f"no val-UF1 gain for {config.patience} epochs"
                    break
        if config.stop_at_perfect_test and M.accuracy(history.y_test, record.test_pred) == 1.0:
            history.stopped_early = "100% test accuracy (official early stop; paper protocol)"
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    history.wall_s = time.perf_counter() - start
    return model, history
