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
    check_head_split,
    decay_mask,
    gamma_tuple,
    precomputed,
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

    ``max_length`` (e.g. the configured number of frames): the rotary tables and the decay mask are
    precomputed at that length as non-persistent buffers (``rotary_sin``, ``rotary_cos``, ``decay``),
    so ``torch.compile`` sees constants and the state dict is unchanged; a shorter input uses their
    top-left corner (the same values), a longer one builds its tables (cached). ``use_tables = False``
    ignores the buffers (the path before issue 13, for benchmarks and tests).

    Taught in notebooks/02_retention_from_scratch.ipynb, section "4. Multi-scale decay, group norm and the gate".
    """

    def __init__(self, dim: int, num_heads: int, *, gammas: Sequence[float] | torch.Tensor | None = None,
                 value_factor: int = 1, bias: bool = False, norm_eps: float = 1e-6, max_length: int | None = None):
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
        self.gamma_values = gamma_tuple(g)  # raises unless every γ is in (0, 1)
        if max_length is not None and max_length < 1:
            raise ValueError(f"MultiScaleRetention: max_length must be >= 1 (or None), got {max_length}")
        self.max_length = max_length
        self.use_tables = True
        if max_length is not None:
            self._register_tables(torch.get_default_device(), torch.get_default_dtype())

    def _register_tables(self, device: torch.device, dtype: torch.dtype) -> None:
        """Rotary (sin, cos) (L, head_dim) and the causal decay mask (heads, L, L) at ``max_length``."""
        sin, cos = rotary_tables(self.max_length, self.head_dim, device=device, dtype=dtype)
        self.register_buffer("rotary_sin", sin, persistent=False)
        self.register_buffer("rotary_cos", cos, persistent=False)
        self.register_buffer("decay", decay_mask(self.max_length, self.gamma_values, device=device, dtype=dtype),
                             persistent=False)

    def _apply(self, fn, recurse=True):
        # .to() / .half() / .double(): rebuild the tables at the new device and dtype (a cast of float32
        # values to float64 would not be the float64 tables)
        super()._apply(fn, recurse)
        if self.max_length is not None and self.rotary_sin.device.type != "meta":
            self._register_tables(self.rotary_sin.device, self.rotary_sin.dtype)
        return self

    def extra_repr(self) -> str:
        g = ", ".join(f"{x:.4g}" for x in self.gamma_values)
        length = f", max_length={self.max_length}" if self.max_length is not None else ""
        return f"dim={self.dim}, num_heads={self.num_heads}, γ=({g}){length}"

    def tables(self, n: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(sin, cos, decay mask) for length ``n`` on ``like``'s device and dtype: the buffers' top-left
        corner when ``n <= max_length``, else built (the mask then ``None``: the form builds it, cached)."""
        def build() -> tuple[torch.Tensor, torch.Tensor]:
            return rotary_tables(n, self.head_dim, device=like.device, dtype=like.dtype)
        if not (self.use_tables and self.max_length is not None and n <= self.max_length):
            return (*build(), None)
        sin = precomputed(self.rotary_sin[:n], like, lambda: build()[0])
        cos = precomputed(self.rotary_cos[:n], like, lambda: build()[1])
        mask = precomputed(self.decay[:, :n, :n], like, lambda: None)        # None: the form builds it
        return sin, cos, mask

    def forward(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(f"MultiScaleRetention expects (batch, length, dim={self.dim}); got {tuple(x.shape)}")
        if mode not in RETENTION_FORMS:
            raise ValueError(f"MultiScaleRetention: unknown mode {mode!r}; expected one of {tuple(RETENTION_FORMS)}")
        if chunk_size is not None and mode != "chunkwise":
            raise ValueError(f"chunk_size={chunk_size} only applies to mode='chunkwise' (got mode={mode!r})")
        b, n, _ = x.shape
        sin, cos, mask = self.tables(n, x)

        def heads(t, d):                                                      # (b, n, h·d) → (b, h, n, d)
            return t.view(b, n, self.num_heads, d).transpose(1, 2)
        q = theta_shift(heads(self.q_proj(x), self.head_dim), sin, cos)
        k = theta_shift(heads(self.k_proj(x) * self.head_dim ** -0.5, self.head_dim), sin, cos)
        v = heads(self.v_proj(x), self.value_dim // self.num_heads)
        if mode == "chunkwise":
            out, _ = retention_chunkwise(q, k, v, self.gamma_values, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE,
                                         mask=mask)
        elif mode == "parallel":
            out, _ = retention_parallel(q, k, v, self.gamma_values, mask=mask)
        else:
            out, _ = retention_recurrent(q, k, v, self.gamma_values)
        out = out.transpose(1, 2).reshape(b * n, self.value_dim)             # (b·n, h·e): heads side by side
        out = self.group_norm(out).view(b, n, self.value_dim)                # each head normalised on its own
        return self.out_proj(F.silu(self.g_proj(x)) * out)


def set_precomputed_tables(model: nn.Module, enabled: bool) -> int:
    """Switch every retention layer's precomputed tables (buffers) on or off; returns how many layers.

    Off, each forward builds its masks and rotary tables through the cache, as before issue 13:
    the same values (tests/models/test_buffers.py), for benchmarks that measure what the buffers change.
    """
    layers = [m for m in model.modules() if isinstance(m, (VisionRetention, MultiScaleRetention))]
    for layer in layers:
        layer.use_tables = bool(enabled)
    return len(layers)


__all__ = [
    # 1-D retention (retention_forms.py)
    "MultiScaleRetention", "retention_parallel", "retention_recurrent", "retention_chunkwise", "RETENTION_FORMS",
    "decay_mask", "retnet_gammas", "rotary_tables", "theta_shift", "DEFAULT_CHUNK_SIZE", "precomputed",
    "set_precomputed_tables",
    # 2-D retention and MaSA (retention_2d.py)
    "VisionRetention", "rmt_gammas", "manhattan_decay_mask", "axial_decay_mask", "decay_row_sums", "masa_attention",
    "bidirectional_retention", "retention_2d", "vision_retention_param_count", "MIXERS", "MODES",
]
