"""A stand-in model and random data with the kit's shapes, for testing the LOSO machinery in seconds.

Not a model of micro-expressions: the label is planted in the *motion* input (its mean per channel)
plus per-subject offsets, so a model that reads motion learns it and one that reads only the onset
does not; that is all the trainer, protocol and resume tests need.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .loso import TensorLosoData

__all__ = ["ToyFusion", "toy_data"]


class ToyFusion(nn.Module):
    """``model(onset, motion) -> logits``: pooled features of both inputs, one hidden layer."""

    def __init__(self, num_classes: int = 3, channels: int = 3, hidden: int = 16, use_motion: bool = True,
                 use_onset: bool = True):
        super().__init__()
        self.use_motion, self.use_onset = use_motion, use_onset
        self.net = nn.Sequential(nn.Linear(2 * channels, hidden), nn.GELU(), nn.Linear(hidden, num_classes))

    def forward(self, onset: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        m = motion.mean(dim=(2, 3)) * self.use_motion      # (B, C)
        o = onset.mean(dim=(2, 3)) * self.use_onset        # (B, C)
        return self.net(torch.cat([o, m], dim=1))


def toy_data(num_subjects: int = 5, per_subject: int = 12, num_classes: int = 3, size: int = 8,
             signal: float = 1.0, seed: int = 0) -> TensorLosoData:
    """Random ``(onset, motion)`` pairs; the class shifts one motion channel by ``signal``."""
    g = torch.Generator().manual_seed(seed)
    n = num_subjects * per_subject
    subjects = np.repeat([f"s{i:02d}" for i in range(num_subjects)], per_subject)
    labels = np.arange(n) % num_classes
    onset = torch.randn(n, 3, size, size, generator=g)
    onset += torch.randn(num_subjects, 3, 1, 1, generator=g).repeat_interleave(per_subject, 0)  # identity
    motion = 0.5 * torch.randn(n, 3, size, size, generator=g)
    for c in range(num_classes):
        motion[labels == c, c % 3] += signal
    return TensorLosoData(onset, motion, labels, subjects, num_classes)
