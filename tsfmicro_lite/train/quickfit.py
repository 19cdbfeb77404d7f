"""A minimal training loop to compare variants in seconds (notebook 05), not the kit's LOSO trainer.

It reuses the trainer's ``optimization_step`` and ``predict``, and leaves out everything else.

The real LOSO trainer, with the official optimiser schedule, protocols and checkpoints, is
``tsfmicro_lite.train`` (notebook 06). This loop exists so notebook 05 can show every variant's
learning curve on one plot: AdamW, plain cross-entropy, fixed epochs, one held-out split.
"""
from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from .. import metrics
from ..utils.seed import seed_everything
from .trainer import optimization_step, predict, to_device

__all__ = ["evaluate", "quick_fit"]


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device | str = "cpu") -> dict[str, float]:
    """Loss, accuracy and UF1 of ``model`` on ``loader`` (eval mode), with the trainer's ``predict``.

    Taught in notebooks/05_fusion_variants.ipynb, section "4. A short training of every variant (SynthME, synthetic)".
    """
    y_true = [int(y) for _, _, labels in loader for y in labels]
    y_pred, loss = predict(model, loader, torch.device(device))
    return {"loss": loss, "acc": metrics.accuracy(y_true, y_pred), "uf1": metrics.uf1(y_true, y_pred)}


def quick_fit(model: nn.Module, train_set: Dataset, val_set: Dataset, epochs: int = 5, lr: float = 1e-3,
              weight_decay: float = 0.05, batch_size: int = 16, seed: int = 0,
              device: torch.device | str = "cpu") -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` and return per-epoch ``train_loss``, ``val_loss``, ``val_acc``, ``val_uf1``,
    ``seconds``. Deterministic on CPU for a given ``seed`` (shuffling uses its own generator).

    Taught in notebooks/05_fusion_variants.ipynb, section "4. A short training of every variant (SynthME, synthetic)".
    """
    seed_everything(seed)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=gen, drop_last=False)
    val_loader = DataLoader(val_set, batch_size=64)
    history: dict[str, list[float]] = {k: [] for k in ("train_loss", "val_loss", "val_acc", "val_uf1", "seconds")}
    for _ in range(epochs):
        start, total, n = time.perf_counter(), 0.0, 0
        model.train()
        for batch in train_loader:
            if len(batch[2]) < 2:  # BatchNorm needs two samples in training mode
                continue
            onset, motion, label = to_device(batch, torch.device(device))
            loss = optimization_step(model, opt, onset, motion, label, torch.device(device))
            total, n = total + loss.item() * len(label), n + len(label)
        scores = evaluate(model, val_loader, device)
        history["train_loss"].append(total / max(n, 1))
        history["val_loss"].append(scores["loss"])
        history["val_acc"].append(scores["acc"])
        history["val_uf1"].append(scores["uf1"])
        history["seconds"].append(time.perf_counter() - start)
    return history
