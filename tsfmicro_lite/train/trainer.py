"""The training loop of one LOSO fold: a fresh model and optimiser, the official recipe.

AdamW, ExponentialLR for the first 50 epochs, plain cross-entropy (notebook 06 writes this loop out
once, then calls :func:`train_fold`).

Faithful by default, fast by choice: the default is the official fp32 recipe on every device
(``amp="off"``); ``amp="bf16"`` / ``"fp16"`` (CUDA; bf16 also on CPU) is opt-in and recorded with each
fold (``FoldHistory.provenance``). ``deterministic=True`` turns cuDNN's autotuner off and asks PyTorch
for deterministic kernels, so a resumed GPU run gives the same table; on CPU runs are repeatable anyway.
``input_pipeline="device"`` (the default on CUDA) moves a fold's uint8 crops to the device once and
normalises / augments whole batches there (``preprocess.batched``); ``"loader"`` (the default on CPU) is
the per-sample DataLoader. Losses are summed on the device and read once per epoch (no host sync per batch).

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
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Callable, Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .. import __version__
from .. import metrics as M
from ..preprocess.batched import device_batches
from ..utils.device import resolve_device
from ..utils.progress import progress
from ..utils.seed import seed_everything

__all__ = ["TrainConfig", "EpochRecord", "FoldHistory", "train_fold", "predict", "make_loader",
           "make_optimizer", "autocast_dtype", "optimization_step", "to_device", "precision_name",
           "set_determinism", "fold_provenance", "AMP_CHOICES", "INPUT_PIPELINES"]

AMP_CHOICES = ("off", "bf16", "fp16")          # what --amp takes; "auto" (bf16/fp16 on CUDA) is kept for the API
INPUT_PIPELINES = ("auto", "loader", "device")


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
    amp: Literal["off", "bf16", "fp16", "auto"] = "off"    # off = fp32, the official; auto: bf16/fp16 on CUDA
    num_workers: int = 0               # DataLoader workers of the "loader" input pipeline
    deterministic: bool = False        # cuDNN deterministic, no autotuner, deterministic algorithms
    input_pipeline: Literal["auto", "loader", "device"] = "auto"   # auto: device on CUDA, loader on CPU
    fused_adamw: bool = False          # torch's fused AdamW kernel (same update within float rounding)
    channels_last: bool = False        # NHWC memory format for the convolutions (exact up to float rounding)
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
            raise ValueError(f"amp must be off, bf16, fp16 or auto; got {self.amp!r}.")
        if self.input_pipeline not in INPUT_PIPELINES:
            raise ValueError(f"input_pipeline must be one of {INPUT_PIPELINES}; got {self.input_pipeline!r}.")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers}.")
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
    provenance: dict = field(default_factory=dict)   # device, precision, kit / torch version, git commit

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
    """The autocast dtype for ``amp``, or None for fp32 (``"off"``, the official recipe).

    ``"bf16"`` works on CUDA and CPU (fast on CPUs with native bf16); ``"fp16"`` needs CUDA (with a grad
    scaler); ``"auto"`` is bf16 where the GPU supports it, else fp16, and fp32 off CUDA.
    """
    if amp == "off":
        return None
    if device.type != "cuda":
        if amp == "bf16" and device.type == "cpu":
            return torch.bfloat16
        if amp == "fp16":
            raise ValueError(f"amp='fp16' needs a CUDA device; this run is on {device}. "
                             "Use --amp off (fp32) or --amp bf16.")
        if amp == "bf16":
            raise ValueError(f"amp='bf16' is not supported on {device}; use --amp off.")
        return None
    if amp == "fp16":
        return torch.float16
    # native bf16 only (Ampere and later): the default check also says yes where bf16 is emulated (slowly)
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    if amp == "bf16" and not native:
        raise ValueError(f"amp='bf16' needs a GPU with native bfloat16 (Ampere or later); "
                         f"{torch.cuda.get_device_name(device)} has none. Use --amp fp16 or --amp off.")
    return torch.bfloat16 if native else torch.float16


def precision_name(dtype: torch.dtype | None) -> str:
    """``fp32`` / ``bf16`` / ``fp16``: the precision label every fold and results row carries."""
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


# cuBLAS workspace settings under which its kernels are deterministic (the two torch accepts)
CUBLAS_DETERMINISTIC = (":4096:8", ":16:8")
WARN_ONLY_ENV = "TSFMICRO_DETERMINISTIC_WARN_ONLY"   # "1": on CUDA, warn on a non-deterministic op instead of failing


def _cublas_workspace_for_determinism() -> None:
    """``CUBLAS_WORKSPACE_CONFIG`` set to a deterministic value (``:4096:8`` unless ``:16:8`` is set).

    It must be in the environment before cuBLAS starts in this process (torch reads it for the workspace at
    the first matmul, and checks it at every matmul under deterministic algorithms); child processes
    (``--parallel``) inherit it. Another value set by the user is replaced, with a warning: under
    ``torch.use_deterministic_algorithms(True)`` every CUDA matmul would raise with it.
    """
    current = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    if current in CUBLAS_DETERMINISTIC:
        return
    if current is not None:
        warnings.warn(f"CUBLAS_WORKSPACE_CONFIG={current!r} is not one of {CUBLAS_DETERMINISTIC}, the settings "
                      "under which cuBLAS is deterministic; using ':4096:8' for this deterministic run.", stacklevel=3)
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_DETERMINISTIC[0]


def set_determinism(device: torch.device, deterministic: bool) -> None:
    """cuDNN autotuner on (fast, not repeatable) or deterministic kernels (``deterministic=True``).

    With ``deterministic`` on CUDA: ``cudnn.benchmark=False``, ``cudnn.deterministic=True``,
    ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (the CLI launcher sets it before CUDA starts; it is set here too),
    and ``torch.use_deterministic_algorithms(True)`` *strict*: with ``warn_only=True`` PyTorch would keep
    the non-deterministic backward of ``scaled_dot_product_attention`` (memory-efficient and flash kernels
    only warn; the cuDNN one not even that), which the model uses on CUDA (MaSA, ViT attention). Every op
    the kit's models and input pipeline run in training has a deterministic CUDA kernel (convolutions and
    transposed convolutions through cuDNN, no adaptive pooling or scatter, resampling only on inputs,
    never differentiated), so strict mode costs speed, not a failure; set ``TSFMICRO_DETERMINISTIC_WARN_ONLY=1``
    to get warnings instead of an error from an op that has none. On CPU (repeatable anyway) it warns only.
    """
    cuda = device.type == "cuda"
    if deterministic and cuda:
        _cublas_workspace_for_determinism()
    torch.backends.cudnn.benchmark = cuda and not deterministic
    torch.backends.cudnn.deterministic = bool(deterministic)
    warn_only = not cuda or os.environ.get(WARN_ONLY_ENV, "") == "1"
    torch.use_deterministic_algorithms(bool(deterministic), warn_only=warn_only)


def _determinism_state() -> tuple[bool, bool, bool, bool]:
    return (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
            torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())


def _restore_determinism(state: tuple[bool, bool, bool, bool]) -> None:
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = state[0], state[1]
    torch.use_deterministic_algorithms(state[2], warn_only=state[3])


def fold_provenance(device: torch.device, dtype: torch.dtype | None, config: TrainConfig, pipeline: str) -> dict:
    """What produced a fold, stored with it: device (and GPU name), precision, determinism, versions
    (``run_loso`` adds the git commit)."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"device": str(device), "device_name": name, "precision": precision_name(dtype),
            "deterministic": bool(config.deterministic), "input_pipeline": pipeline,
            "kit_version": __version__, "torch_version": torch.__version__}


def make_loader(dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int, device: torch.device,
                num_workers: int = 0) -> DataLoader:
    """A DataLoader whose shuffling depends only on ``seed`` (so a resumed fold replays exactly);
    pinned memory on CUDA so host-to-device copies overlap compute.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      num_workers=num_workers, pin_memory=device.type == "cuda",
                      persistent_workers=num_workers > 0, worker_init_fn=_seed_worker if num_workers else None)


def _seed_worker(worker_id: int) -> None:
    """A DataLoader worker's own augmentation stream. torch seeds each worker's global RNGs from the
    loader's generator (``base_seed + worker_id``), but a dataset holding its own ``torch.Generator``
    (``MicroExpressionDataset(seed=...)``) is copied into every worker in the same state, so all workers
    would draw the same augmentations; it is reseeded here with the worker's seed (reproducible too)."""
    info = torch.utils.data.get_worker_info()
    generator = getattr(info.dataset, "generator", None) if info is not None else None
    if isinstance(generator, torch.Generator):
        generator.manual_seed(info.seed % 2**63)


def make_optimizer(model: nn.Module, config: TrainConfig
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW on every parameter (the official code applies weight decay to all, norms included)
    and ExponentialLR(gamma), which :func:`train_fold` steps only for epochs 1..lr_decay_epochs.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                  **({"fused": True} if config.fused_adamw else {}))
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_gamma)
    return optimizer, scheduler


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device, dtype: torch.dtype | None = None
            ) -> tuple[list[int], float]:
    """Arg-max predictions and mean cross-entropy of ``model`` over ``loader`` (eval mode).

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    model.eval()
    preds: list[torch.Tensor] = []
    total, n = _zero(device), 0
    for batch in loader:
        onset, motion, label = to_device(batch, device)
        with _autocast(device, dtype):
            logits = model(onset, motion)
        total += nn.functional.cross_entropy(logits.float(), label, reduction="sum").to(total.dtype)
        n += int(label.numel())
        preds.append(logits.argmax(1))
    # one host sync per call: the summed loss and the predictions are read here, not per batch
    flat = torch.cat(preds).tolist() if preds else []
    return flat, float(total) / max(n, 1)


def _zero(device: torch.device) -> torch.Tensor:
    """A device-side float64 accumulator (float32 on MPS): the same sums as Python floats, no per-batch sync."""
    return torch.zeros((), dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)


def to_device(batch: Sequence[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, ...]:
    """Move an (onset, motion, label) batch to ``device`` (non-blocking: loaders pin memory on CUDA)."""
    return tuple(t.to(device, non_blocking=True) for t in batch)


def _channels_last(batch: tuple[torch.Tensor, ...], on: bool) -> tuple[torch.Tensor, ...]:
    if not on:
        return batch
    return tuple(t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t for t in batch)


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

    The global determinism switches (cuDNN autotuner, deterministic algorithms) are set for the fold and
    put back as they were when it returns.

    Taught in notebooks/06_training_loso.ipynb, section "2 · One fold's training loop, written out".
    """
    state = _determinism_state()
    try:
        return _train_fold(model_factory, train_set, test_set, config, val_set=val_set, fold_seed=fold_seed,
                           on_epoch_end=on_epoch_end, progress_desc=progress_desc)
    finally:
        _restore_determinism(state)


def _train_fold(model_factory: Callable[[], nn.Module], train_set: Dataset, test_set: Dataset,
                config: TrainConfig, *, val_set: Dataset | None, fold_seed: int | None,
                on_epoch_end: Callable[[EpochRecord], None] | None,
                progress_desc: str | None) -> tuple[nn.Module, FoldHistory]:
    device = resolve_device(config.device)
    dtype = autocast_dtype(device, config.amp)
    seed = config.seed if fold_seed is None else fold_seed
    seed_everything(seed)
    set_determinism(device, config.deterministic)
    model = model_factory().to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer, scheduler = make_optimizer(model, config)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    pipeline = config.input_pipeline
    if pipeline == "auto":
        pipeline = "device" if device.type == "cuda" else "loader"

    def loader(dataset: Dataset, shuffle: bool, workers: int = 0):
        batches = device_batches(dataset, config.batch_size, shuffle=shuffle, seed=seed, device=device) \
            if pipeline == "device" else None
        return batches if batches is not None else make_loader(dataset, config.batch_size, shuffle=shuffle,
                                                               seed=seed, device=device, num_workers=workers)

    train_loader = loader(train_set, True, config.num_workers)
    test_loader = loader(test_set, False)
    val_loader = loader(val_set, False) if val_set is not None else None
    used = "device" if not isinstance(train_loader, DataLoader) else "loader"
    history = FoldHistory(y_test=_labels(test_set), y_val=_labels(val_set) if val_set is not None else None,
                          device=str(device), amp=str(dtype).replace("torch.", "") if dtype else "off",
                          provenance=fold_provenance(device, dtype, config, used))
    best_state, best_val, since_best = None, -1.0, 0
    start = time.perf_counter()
    bar = progress(range(1, config.epochs + 1), desc=progress_desc or "epochs", leave=False, unit="epochs")
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        loss_sum, count = _zero(device), 0
        for batch in train_loader:
            onset, motion, label = _channels_last(to_device(batch, device), config.channels_last)
            loss = optimization_step(model, optimizer, onset, motion, label, device, dtype, scaler)
            loss_sum += loss.to(loss_sum.dtype) * label.numel()   # stays on the device: no sync per batch
            count += int(label.numel())
        if epoch <= config.lr_decay_epochs:
            scheduler.step()
        record = EpochRecord(epoch=epoch, lr=lr, train_loss=float(loss_sum) / max(count, 1))
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
