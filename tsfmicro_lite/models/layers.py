"""Small layers both branches share: drop path, Swish, the official weight init.

One implementation of each idea, imported by ``rmt.py``, ``vit.py`` and ``fusion.py``
(taught in notebooks 03 and 04).
"""
from __future__ import annotations

import torch
from torch import nn


class DropPath(nn.Module):
    """Stochastic depth: during training, drop a whole residual branch per sample with probability ``p``.

    Surviving samples are scaled by 1/(1-p) so the expected output is unchanged; in eval mode it is
    the identity. The official RMT ramps ``p`` linearly from 0 to 0.1 over its 5 blocks.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"DropPath probability must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # one coin per sample
        mask = x.new_empty(mask_shape).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Swish(nn.Module):
    """x·sigmoid(x) (= SiLU), the activation of the official 1024-d fusion head."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def official_init(module: nn.Module) -> None:
    """The official ``apply`` init: trunc-normal(std .02) Linear weights, zero biases, LayerNorm (1, 0).

    Use as ``model.apply(official_init)``. It runs after the sub-modules' own inits (the retention
    module's xavier init included), so it overrides them, as in the official code. Convolutions and
    BatchNorm keep PyTorch's defaults. Note ``trunc_normal_`` cuts at ±2 in absolute value (the
    PyTorch/timm default), i.e. at 100 std: in practice a plain normal.
    """
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
