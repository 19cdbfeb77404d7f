"""Retention, taught properly: RetNet's multi-scale retention and RMT's 2-D variant (notebook 02).

This is the public module; the pieces live in two files that read top to bottom:

* :mod:`~tsfmicro_lite.models.retention_forms`: the three forms on 1-D sequences
  (``retention_parallel / retention_recurrent / retention_chunkwise``), ``decay_mask``, rotary;
* :mod:`~tsfmicro_lite.models.retention_2d`: the 2-D Manhattan decay and ``VisionRetention``
  (the token mixer of the RMT temporal branch, ``mixer="masa"`` or ``"retention"``).

:class:`MultiScaleRetention` below is the RetNet layer on (batch, length, dim).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tsfmicro_lite.models.retention_2d import (  # noqa: F401  (re-exported)
    MIXERS,
    MODES,
    VisionRetention,
    axial_decay_mask,
    bidirectional_retention,
    decay_row_sums,
    manhattan_decay_mask,
    masa_attention,
    retention_2d,
    rmt_gammas,
    vision_retention_param_count,
)
from tsfmicro_lite.models.retention_forms import (  # noqa: F401  (re-exported)
    DEFAULT_CHUNK_SIZE,
    RETENTION_FORMS,
    _gamma_tuple,
    check_head_split,
    decay_mask,
    retention_chunkwise,
    retention_parallel,
    retention_recurrent,
    retnet_gammas,
    rotary_tables,
    theta_shift,
)


class MultiScaleRetention(nn.Module):
    """RetNet's multi-scale retention on (batch, length, dim) → (batch, length, dim) (notebook 02, §4).

    Per head h: rotary-positioned q, k (k scaled by head_dim^−0.5), decay γ_h (``gammas``; default
    RetNet's 1 − 2^(−5−h)), then retention in the chosen form. The heads are concatenated and
    normalised by a per-head GroupNorm, which is what makes different decays comparable (a head
    with γ → 1 sums ~1/(1−γ) terms) and makes RetNet's own mask normalisations unnecessary (see
    :mod:`~tsfmicro_lite.models.retention_forms`); then a swish gate and the output projection:

        out = W_o (swish(W_g x) ⊙ GroupNorm(retention(x)))

    ``forward(x, mode, chunk_size)``: ``mode`` is "parallel", "recurrent" or "chunkwise"; every
    mode gives the same output for the same weights (float32: ~1e-5 relative; float64: ~1e-12).
    ``chunk_size`` (chunkwise only; default 64) need not divide the length: the last chunk is
    shorter, nothing is padded.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "4. Multi-scale decay, group norm and the gate".
    """

    def __init__(self, dim: int, num_heads: int, *, gammas: Sequence[float] | torch.Tensor | None = None,
                 value_factor: int = 1, bias: bool = False, norm_eps: float = 1e-6):
        super().__init__()
        check_head_split("MultiScaleRetention", dim, num_heads)
        g = retnet_gammas(num_heads) if gammas is None else torch.as_tensor(gammas, dtype=torch.float64).reshape(-1)
        if g.numel() != num_heads:
            raise ValueError(f"MultiScaleRetention: {g.numel()} gammas for num_heads={num_heads}; give one per head")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.value_dim = dim * value_factor
        self.q_proj = nn.Linear(dim, dim, bias=bias)
        self.k_proj = nn.Linear(dim, dim, bias=bias)
        self.v_proj = nn.Linear(dim, self.value_dim, bias=bias)
        self.g_proj = nn.Linear(dim, self.value_dim, bias=bias)
        self.group_norm = nn.GroupNorm(num_heads, self.value_dim, eps=norm_eps)
        self.out_proj = nn.Linear(self.value_dim, dim, bias=bias)
        self.register_buffer("gammas", g, persistent=False)
        # the values used by forward: Python floats, so .half()/.to(dtype) on the module cannot round them
        self.gamma_values = _gamma_tuple(g)  # raises unless every γ is in (0, 1)

    def extra_repr(self) -> str:
        g = ", ".join(f"{x:.4g}" for x in self.gamma_values)
        return f"dim={self.dim}, num_heads={self.num_heads}, γ=({g})"

    def forward(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"MultiScaleRetention expects (batch, length, dim={self.dim}); got {tuple(x.shape)}")
        if mode not in RETENTION_FORMS:
            raise ValueError(f"MultiScaleRetention: unknown mode {mode!r}; expected one of {tuple(RETENTION_FORMS)}")
        if chunk_size is not None and mode != "chunkwise":
            raise ValueError(f"chunk_size={chunk_size} only applies to mode='chunkwise' (got mode={mode!r})")
        b, n, _ = x.shape
        sin, cos = rotary_tables(n, self.head_dim, device=x.device, dtype=x.dtype)

        def heads(t, d):                                                      # (b, n, h·d) → (b, h, n, d)
            return t.view(b, n, self.num_heads, d).transpose(1, 2)
        q = theta_shift(heads(self.q_proj(x), self.head_dim), sin, cos)
        k = theta_shift(heads(self.k_proj(x) * self.head_dim ** -0.5, self.head_dim), sin, cos)
        v = heads(self.v_proj(x), self.value_dim // self.num_heads)
        if mode == "chunkwise":
            out, _ = retention_chunkwise(q, k, v, self.gamma_values, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE)
        else:
            out, _ = RETENTION_FORMS[mode](q, k, v, self.gamma_values)
        out = out.transpose(1, 2).reshape(b * n, self.value_dim)             # (b·n, h·e): heads side by side
        out = self.group_norm(out).view(b, n, self.value_dim)                # each head normalised on its own
        return self.out_proj(F.silu(self.g_proj(x)) * out)


__all__ = [
    # 1-D retention (retention_forms.py)
    "MultiScaleRetention", "retention_parallel", "retention_recurrent", "retention_chunkwise", "RETENTION_FORMS",
    "decay_mask", "retnet_gammas", "rotary_tables", "theta_shift", "DEFAULT_CHUNK_SIZE",
    # 2-D retention and MaSA (retention_2d.py)
    "VisionRetention", "rmt_gammas", "manhattan_decay_mask", "axial_decay_mask", "decay_row_sums", "masa_attention",
    "bidirectional_retention", "retention_2d", "vision_retention_param_count", "MIXERS", "MODES",
]
