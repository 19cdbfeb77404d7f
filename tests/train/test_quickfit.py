"""Notebook 05's short training loop (tsfmicro_lite.train.quickfit)."""
from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from tsfmicro_lite.models import build_model
from tsfmicro_lite.train.quickfit import quick_fit


def test_quick_fit_is_deterministic_and_reports_every_epoch():
    """Same seed, same curves; one entry per epoch in every series."""
    gen = torch.Generator().manual_seed(0)
    onset, motion = torch.randn(12, 3, 64, 64, generator=gen), torch.randn(12, 3, 64, 64, generator=gen)
    data = TensorDataset(onset, motion, torch.arange(12) % 3)
    runs = []
    for _ in range(2):
        torch.manual_seed(1)  # same initial weights; quick_fit seeds the shuffling and dropout itself
        runs.append(quick_fit(build_model("late", 3, preset="tiny"), data, data, epochs=2, seed=1))
    assert {k: len(v) for k, v in runs[0].items()} == {k: 2 for k in runs[0]}
    for key in ("train_loss", "val_loss", "val_acc", "val_uf1"):
        assert runs[0][key] == runs[1][key], f"quick_fit is not repeatable in {key}"
