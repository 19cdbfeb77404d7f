"""Retention on image tokens: the 2-D Manhattan-distance decay and RMT's token mixer (notebook 02, §5–6).

On an H×W grid, token (r, c) weighs token (r', c') by γ^(|r−r'| + |c−c'|): nearby pixels count
more, in every direction (no causality on an image). Two ways to apply it:

* **full**: one (HW × HW) mask γ^(|Δr|+|Δc|), O((HW)²) — RMT stages 3–4;
* **decomposed** (axial): first along each row with γ^|Δc|, then along each column with γ^|Δr|,
  the second pass applied to the first pass's output — O(HW·(H+W)), RMT stages 1–2.

:class:`VisionRetention` is the mixer of the RMT temporal branch (``models/rmt.py``). Two mixers:

* ``mixer="masa"`` (official TSFmicro/RMT code): softmax(q·kᵀ + log γ·distance)·v — attention
  with a distance penalty on the logits, not retention. Only the parallel form exists, because the
  softmax normalises over every key at once.
* ``mixer="retention"``: true retention, weights (q·kᵀ)·γ^distance with no softmax, **normalised by
  the total decay weight** of each query position, Σ_{keys} γ^distance. That divisor depends only on
  the position and γ (never on the data), so it is the same in every form; each output is a
  decay-weighted average of (q·k)·v, whatever the image size or γ. Forms:

  - decomposed: ``parallel`` (γ^|Δ| masks), ``recurrent`` and ``chunkwise``: a bidirectional decay
    is a forward (causal) scan + a backward scan − the diagonal term counted twice;
  - full: ``parallel`` and ``recurrent`` (a 2-D state scan: the d×e states k vᵀ are swept with
    γ^|Δc| along rows and then γ^|Δr| along columns, O(HW·d·e) memory); ``chunkwise`` is not
    defined for the full 2-D decay and raises.

Masks and rotary tables are cached per (H, W, γ, device, dtype), never rebuilt per forward; a
``VisionRetention`` built with ``size=(H, W)`` (as the RMT stages are, at the configured input size)
also holds them as non-persistent buffers, which ``torch.compile`` and CUDA graphs see as constants
and ``.to(device)`` moves; another size builds its tables at run time (cached).
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tsfmicro_lite.models.retention_forms import (
    DEFAULT_CHUNK_SIZE,
    GammaLike,
    check_head_split,
    gamma_tuple,
    precomputed,
    retention_chunkwise,
    retention_recurrent,
    rotary_tables,
    theta_shift,
)

MIXERS = ("masa", "retention")
MODES = ("parallel", "recurrent", "chunkwise")


def rmt_gammas(num_heads: int, gamma_init: float = 2.0, heads_range: float = 4.0) -> torch.Tensor:
    """RMT's per-head decays γ_h = 1 − 2^−(gamma_init + heads_range·h/num_heads), float64.

    With the official values (init 2, range 4 or 6, 2 heads): 0.75 and 0.9375 / 0.96875.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "6. MaSA (the official code) vs true retention".
    """
    h = torch.arange(num_heads, dtype=torch.float64)
    return 1.0 - 2.0 ** -(gamma_init + heads_range * h / num_heads)


# --------------------------------------------------------------------------------------------- masks
@functools.lru_cache(maxsize=64)
def _manhattan_cached(height: int, width: int, gammas: tuple[float, ...], log: bool, device: str,
                      dtype: torch.dtype) -> torch.Tensor:
    rows = torch.arange(height, dtype=torch.float64).repeat_interleave(width)   # raster order r·W + c
    cols = torch.arange(width, dtype=torch.float64).repeat(height)
    dist = (rows[:, None] - rows[None, :]).abs() + (cols[:, None] - cols[None, :]).abs()  # (HW, HW)
    out = torch.log(torch.tensor(gammas, dtype=torch.float64))[:, None, None] * dist   # (h, HW, HW)
    return (out if log else out.exp()).to(device=device, dtype=dtype)


def manhattan_decay_mask(height: int, width: int, gammas: GammaLike, *, log: bool = False,
                         device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Full 2-D decay γ_h^(|Δr|+|Δc|) over raster-ordered tokens, shape (heads, H·W, H·W).

    ``log=True`` gives log γ·(|Δr|+|Δc|), the additive logit mask of MaSA. Cached (see
    :func:`~tsfmicro_lite.models.retention_forms.decay_mask` for why); treat it as read-only.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "5. Images: the 2-D Manhattan decay".
    """
    return _manhattan_cached(int(height), int(width), gamma_tuple(gammas), log, str(torch.device(device)), dtype)


def axial_decay_mask(length: int, gammas: GammaLike, *, log: bool = False, device: torch.device | str = "cpu",
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Bidirectional 1-D decay γ_h^|i−j|, shape (heads, length, length): one factor of the decomposed form.

    The full mask is the product of a row factor and a column factor:
    γ^(|Δr|+|Δc|) = γ^|Δr| · γ^|Δc| (a Kronecker product over raster order).

    Taught in notebooks/02_retention_from_scratch.ipynb, section "5. Images: the 2-D Manhattan decay".
    """
    return _manhattan_cached(1, int(length), gamma_tuple(gammas), log, str(torch.device(device)), dtype)


def decay_row_sums(length: int, gammas: GammaLike, *, device: torch.device | str = "cpu",
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Σ_j γ_h^|i−j| for every position i, shape (heads, length), in closed form (no L² mask).

    = (1 − γ^(i+1))/(1 − γ) + (1 − γ^(length−i))/(1 − γ) − 1. The normaliser of 2-D retention.
    """
    g = torch.tensor(gamma_tuple(gammas), dtype=torch.float64)[:, None]
    i = torch.arange(length, dtype=torch.float64)[None, :]
    sums = (1 - g ** (i + 1)) / (1 - g) + (1 - g ** (length - i)) / (1 - g) - 1
    return sums.to(device=device, dtype=dtype)


# ------------------------------------------------------------------------------------ the mixers
def masa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, log_mask: torch.Tensor, *,
                   fused: bool = True) -> torch.Tensor:
    """softmax(q·kᵀ + log_mask)·v on (…, n, d) tensors (any leading axes); k is already scaled.

    ``fused`` uses ``F.scaled_dot_product_attention`` with the additive float mask (the fast path on
    GPUs; on CPU the written-out version measured faster, see ``VisionRetention.use_sdpa``);
    otherwise the textbook version written out below. Tests check that both agree.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "6. MaSA (the official code) vs true retention".
    """
    if fused:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=log_mask, scale=1.0)
    weights = torch.softmax(q @ k.transpose(-2, -1) + log_mask, dim=-1)  # (…, n, m)
    return weights @ v


def bidirectional_retention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gammas: GammaLike,
                            mode: str = "parallel", chunk_size: int | None = None, *,
                            mask: torch.Tensor | None = None) -> torch.Tensor:
    """Σ_j γ^|i−j| (q_i·k_j) v_j on (b, h, n, d) tensors, unnormalised, in any of the three forms.

    Recurrent/chunkwise: a causal scan over the sequence, a causal scan over the reversed sequence,
    minus the diagonal (j = i), which both scans include. ``mask`` (parallel only): the (h, n, n)
    :func:`axial_decay_mask` when the caller holds it; by default built (cached).
    """
    if mode == "parallel":
        if mask is None:
            mask = axial_decay_mask(q.shape[2], gammas, device=q.device, dtype=q.dtype)
        return torch.einsum("bhnm,bhme->bhne", torch.einsum("bhnd,bhmd->bhnm", q, k) * mask, v)
    if mode == "recurrent":
        def form(a, b_, c):
            return retention_recurrent(a, b_, c, gammas)[0]
    elif mode == "chunkwise":
        def form(a, b_, c):
            return retention_chunkwise(a, b_, c, gammas, chunk_size=chunk_size or DEFAULT_CHUNK_SIZE)[0]
    else:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    forward = form(q, k, v)
    backward = form(q.flip(2), k.flip(2), v.flip(2)).flip(2)
    diagonal = (q * k).sum(-1, keepdim=True) * v
    return forward + backward - diagonal


def _bidirectional_scan(x: torch.Tensor, gamma: torch.Tensor, dim: int) -> torch.Tensor:
    """y_i = Σ_j γ^|i−j| x_j along ``dim`` by two recurrences; ``gamma`` has x's ndim, size 1 along ``dim``."""
    g = gamma.select(dim, 0)
    steps = [x.select(dim, i) for i in range(x.shape[dim])]
    fwd, acc = [], torch.zeros_like(steps[0])
    for s in steps:                                                           # left → right
        acc = g * acc + s
        fwd.append(acc)
    bwd, acc = [], torch.zeros_like(steps[0])
    for s in reversed(steps):                                                 # right → left
        acc = g * acc + s
        bwd.append(acc)
    return torch.stack(fwd, dim) + torch.stack(bwd[::-1], dim) - x


def retention_2d(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gammas: GammaLike, *, decomposed: bool,
                 mode: str = "parallel", chunk_size: int | None = None,
                 tables: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """Normalised 2-D retention on (b, h, H, W, d) tensors → (b, h, H, W, e).

    See the module docstring for the normaliser and which forms exist. ``tables``: precomputed
    tensors for this (H, W) when the caller holds them (``VisionRetention``'s buffers), any of
    ``decay_norm_h`` (h, H) and ``decay_norm_w`` (h, W) (:func:`decay_row_sums`), ``decay``
    (h, HW, HW) (:func:`manhattan_decay_mask`), ``decay_h`` / ``decay_w`` (:func:`axial_decay_mask`);
    the rest are built (cached).
    """
    b, h, height, width, _ = q.shape
    e = v.shape[-1]
    tables = tables or {}
    norm_h = tables.get("decay_norm_h")
    norm_w = tables.get("decay_norm_w")
    norm_h = decay_row_sums(height, gammas, device=q.device, dtype=q.dtype) if norm_h is None else norm_h  # (h, H)
    norm_w = decay_row_sums(width, gammas, device=q.device, dtype=q.dtype) if norm_w is None else norm_w   # (h, W)
    if decomposed:
        # rows: sequences along W, one per (b, r) → (b·H, h, W, ·)
        def rows(t):
            return t.permute(0, 2, 1, 3, 4).reshape(b * height, h, width, t.shape[-1])
        y = bidirectional_retention(rows(q), rows(k), rows(v), gammas, mode, chunk_size, mask=tables.get("decay_w"))
        y = y / norm_w[None, :, :, None]
        y = y.reshape(b, height, h, width, e).permute(0, 3, 2, 1, 4).reshape(b * width, h, height, e)

        # columns: sequences along H, one per (b, c) → (b·W, h, H, ·); v is the row pass's output
        def cols(t):
            return t.permute(0, 3, 1, 2, 4).reshape(b * width, h, height, t.shape[-1])
        z = bidirectional_retention(cols(q), cols(k), y, gammas, mode, chunk_size, mask=tables.get("decay_h"))
        z = z / norm_h[None, :, :, None]
        return z.reshape(b, width, h, height, e).permute(0, 2, 3, 1, 4)
    norm = (norm_h[:, :, None] * norm_w[:, None, :])[None, :, :, :, None]    # (1, h, H, W, 1)
    if mode == "parallel":
        mask = tables.get("decay")
        if mask is None:
            mask = manhattan_decay_mask(height, width, gammas, device=q.device, dtype=q.dtype)  # (h, HW, HW)
        qf, kf, vf = (t.flatten(2, 3) for t in (q, k, v))                     # (b, h, HW, ·) raster order
        out = torch.einsum("bhnm,bhme->bhne", torch.einsum("bhnd,bhmd->bhnm", qf, kf) * mask, vf)
        return out.reshape(b, h, height, width, e) / norm
    if mode == "recurrent":
        gamma = torch.tensor(gamma_tuple(gammas), dtype=q.dtype, device=q.device)[None, :, None, None, None, None]
        states = torch.einsum("bhrcd,bhrce->bhrcde", k, v)                   # (b, h, H, W, d, e)
        states = _bidirectional_scan(states, gamma, dim=3)                    # along each row (W)
        states = _bidirectional_scan(states, gamma, dim=2)                    # along each column (H)
        return torch.einsum("bhrcd,bhrcde->bhrce", q, states) / norm
    if mode == "chunkwise":
        raise ValueError("mode='chunkwise' is not defined for the full 2-D decay (decomposed=False): a chunk of "
                         "raster tokens is not a rectangle, so no chunk-to-chunk state exists. Use mode='parallel' "
                         "or 'recurrent' (the 2-D state scan), or decomposed=True.")
    raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")


class VisionRetention(nn.Module):
    """RMT's 2-D token mixer on channels-last maps (B, H, W, C) → (B, H, W, C) (notebook 02 §6, 03).

    Learned: q, k, v, out_proj (Linear(dim, dim) with bias) and LePE, a depthwise 5×5 conv on v added
    before out_proj: 4(d² + d) + 26d parameters, as in the official code. γ is a fixed buffer.
    ``mixer="masa"`` is the official softmax variant (parallel form only); ``mixer="retention"`` is
    true retention with the normalisation described in the module docstring.

    ``size=(H, W)`` (or one int for a square map): the map this layer will see at the configured
    input size. Its tables (rotary ``rotary_sin`` / ``rotary_cos`` (H, W, head_dim); the decay
    ``decay`` (h, HW, HW), or ``decay_h`` / ``decay_w`` when decomposed: log γ·distance for MaSA,
    γ^distance for retention; retention's normalisers ``decay_norm_h`` / ``decay_norm_w``) are then
    non-persistent buffers: not in the state dict, moved by ``.to()``, rebuilt exactly by
    ``.double()`` / ``.half()``, seen by ``torch.compile``. A map of another size, or another dtype
    (autocast), builds its tables through the cache, as does ``use_tables = False``.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "6. MaSA (the official code) vs true retention".
    """

    def __init__(self, dim: int, num_heads: int, *, decomposed: bool, mixer: str = "masa",
                 gamma_init: float = 2.0, heads_range: float = 4.0, size: int | tuple[int, int] | None = None):
        super().__init__()
        check_head_split("VisionRetention", dim, num_heads)
        if mixer not in MIXERS:
            raise ValueError(f"VisionRetention: unknown mixer {mixer!r}; expected one of {MIXERS}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.decomposed, self.mixer = decomposed, mixer
        # MaSA through F.scaled_dot_product_attention (True) or the written-out softmax (False); None = SDPA
        # on CUDA only: on CPU (torch 2.13, float mask, these head sizes) SDPA measured 1.2–2× slower.
        self.use_sdpa: bool | None = None
        self.q_proj = nn.Linear(dim, dim, bias=True)
        self.k_proj = nn.Linear(dim, dim, bias=True)
        self.v_proj = nn.Linear(dim, dim, bias=True)
        self.lepe = nn.Conv2d(dim, dim, 5, padding=2, groups=dim)
        self.out_proj = nn.Linear(dim, dim, bias=True)
        self.register_buffer("gammas", rmt_gammas(num_heads, gamma_init, heads_range), persistent=False)
        # the values used by forward: Python floats, so .half()/.to(dtype) on the module cannot round them
        self.gamma_values = tuple(self.gammas.tolist())
        self.size = (size, size) if isinstance(size, int) else (tuple(size) if size is not None else None)
        self.use_tables = True   # False: ignore the buffers and build through the cache (benchmarks, tests)
        if self.size is not None:
            self._register_tables(torch.get_default_device(), torch.get_default_dtype())

    def extra_repr(self) -> str:
        g = ", ".join(f"{x:.4g}" for x in self.gamma_values)
        size = f", size={self.size}" if self.size is not None else ""
        return (f"dim={self.dim}, num_heads={self.num_heads}, decomposed={self.decomposed}, mixer={self.mixer!r}, "
                f"γ=({g}){size}")

    def _table_builders(self) -> dict[str, Callable[..., torch.Tensor]]:
        """Every table that depends only on the map size and γ: name → build(height, width, device=, dtype=)."""
        g, hd, log = self.gamma_values, self.head_dim, self.mixer == "masa"
        builders = {
            "rotary_sin": lambda h, w, **kw: rotary_tables(h * w, hd, **kw)[0].view(h, w, hd),  # raster r·W + c
            "rotary_cos": lambda h, w, **kw: rotary_tables(h * w, hd, **kw)[1].view(h, w, hd),
        }
        if self.decomposed:
            builders["decay_h"] = lambda h, w, **kw: axial_decay_mask(h, g, log=log, **kw)        # (heads, H, H)
            builders["decay_w"] = lambda h, w, **kw: axial_decay_mask(w, g, log=log, **kw)        # (heads, W, W)
        else:
            builders["decay"] = lambda h, w, **kw: manhattan_decay_mask(h, w, g, log=log, **kw)   # (heads, HW, HW)
        if self.mixer == "retention":
            builders["decay_norm_h"] = lambda h, w, **kw: decay_row_sums(h, g, **kw)              # (heads, H)
            builders["decay_norm_w"] = lambda h, w, **kw: decay_row_sums(w, g, **kw)              # (heads, W)
        return builders

    def _register_tables(self, device: torch.device, dtype: torch.dtype) -> None:
        # the cached tensors themselves: blocks of one stage share them (read-only, like the cache)
        for name, build in self._table_builders().items():
            self.register_buffer(name, build(*self.size, device=device, dtype=dtype), persistent=False)

    def _apply(self, fn, recurse=True):
        # .to() / .half() / .double(): rebuild the tables at the new device and dtype (a cast of float32
        # values to float64 would not be the float64 tables)
        super()._apply(fn, recurse)
        if self.size is not None and self.rotary_sin.device.type != "meta":
            self._register_tables(self.rotary_sin.device, self.rotary_sin.dtype)
        return self

    def table(self, name: str, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """The table ``name`` for an (height, width) map on ``like``'s device and dtype: the buffer at the
        configured size, else built (cached). Names: see the class docstring."""
        held = getattr(self, name) if self.use_tables and (height, width) == self.size else None
        return precomputed(held, like, lambda: self._table_builders()[name](height, width, device=like.device,
                                                                              dtype=like.dtype))

    def forward(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None) -> torch.Tensor:
        self._check(x, mode, chunk_size)
        b, height, width, _ = x.shape
        q, k, v, lepe = self.project(x)
        out = self.mix(q, k, v, mode, chunk_size)
        out = out.permute(0, 2, 3, 1, 4).reshape(b, height, width, self.dim)   # (B, H, W, h·d)
        return self.out_proj(out + lepe)

    def _check(self, x: torch.Tensor, mode: str, chunk_size: int | None) -> None:
        if x.dim() != 4 or x.shape[-1] != self.dim:
            raise ValueError(f"VisionRetention expects channels-last (B, H, W, C={self.dim}); got {tuple(x.shape)}")
        if mode not in MODES:
            raise ValueError(f"VisionRetention: unknown mode {mode!r}; expected one of {MODES}")
        if self.mixer == "masa" and mode != "parallel":
            raise ValueError(f"VisionRetention(mixer='masa') has only mode='parallel' (got {mode!r}): the softmax "
                             "normalises over all keys at once, so there is no recurrent state. Use "
                             "mixer='retention' for the recurrent and chunkwise forms.")
        if chunk_size is not None and mode != "chunkwise":
            raise ValueError(f"chunk_size={chunk_size} only applies to mode='chunkwise' (got mode={mode!r})")

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, H, W, C) → rotated q, scaled-and-rotated k, v, each (B, h, H, W, d), and LePE (B, H, W, C)."""
        b, height, width, _ = x.shape
        nh, hd = self.num_heads, self.head_dim
        v = self.v_proj(x)
        lepe = self.lepe(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)            # depthwise conv on (B, C, H, W)
        sin = self.table("rotary_sin", height, width, v)                      # (H, W, d): raster index r·W + c
        cos = self.table("rotary_cos", height, width, v)

        def heads(t):                                                         # (B, H, W, C) → (B, h, H, W, d)
            return t.view(b, height, width, nh, hd).permute(0, 3, 1, 2, 4)
        q = theta_shift(heads(self.q_proj(x)), sin, cos)
        k = theta_shift(heads(self.k_proj(x) * hd ** -0.5), sin, cos)
        return q, k, heads(v), lepe

    def mix(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mode: str = "parallel",
            chunk_size: int | None = None) -> torch.Tensor:
        """The token mixing alone, (B, h, H, W, d) → (B, h, H, W, e): MaSA or normalised retention."""
        if self.mixer == "retention":
            height, width = q.shape[2:4]
            names = ["decay_norm_h", "decay_norm_w"]
            if mode == "parallel":       # the other forms need no mask (the full recurrent one avoids it on purpose)
                names += ["decay_h", "decay_w"] if self.decomposed else ["decay"]
            tables = {name: self.table(name, height, width, q) for name in names}
            return retention_2d(q, k, v, self.gamma_values, decomposed=self.decomposed, mode=mode,
                                chunk_size=chunk_size, tables=tables)
        return self._masa(q, k, v)

    @torch.no_grad()
    def mixing_weights(self, x: torch.Tensor) -> torch.Tensor:
        """How much each token takes from every other: (B, h, H·W, H·W), rows = queries (raster order).

        Both mixers are linear in v for fixed q, k, so feeding the one-hot basis as v reads the
        weights off, including the composed row-then-column weights of the decomposed form. For the
        pictures in notebooks 02 and 03 (small maps only: it builds an H·W × H·W tensor).
        """
        self._check(x, "parallel", None)
        b, height, width, _ = x.shape
        q, k, _, _ = self.project(x)
        n = height * width
        basis = torch.eye(n, dtype=q.dtype, device=q.device).view(1, 1, height, width, n)
        out = self.mix(q, k, basis.expand(b, self.num_heads, height, width, n))   # (B, h, H, W, HW)
        return out.reshape(b, self.num_heads, n, n)

    def _masa(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Official MaSA, full or decomposed, on (B, h, H, W, d) → (B, h, H, W, d)."""
        b, nh, height, width, _ = q.shape
        fused = q.is_cuda if self.use_sdpa is None else self.use_sdpa
        if not self.decomposed:
            mask = self.table("decay", height, width, q)                          # (h, HW, HW): log γ·distance
            out = masa_attention(q.flatten(2, 3), k.flatten(2, 3), v.flatten(2, 3), mask, fused=fused)
            return out.view(b, nh, height, width, v.shape[-1])
        mask_w = self.table("decay_w", height, width, q)                         # (h, W, W): log γ·|Δc|
        mask_h = self.table("decay_h", height, width, q)                         # (h, H, H): log γ·|Δr|
        e = v.shape[-1]

        # 4-D (batch, heads, length, d) layouts, so the fused SDPA kernels apply (they take 4-D inputs only)
        def rows(t):                                                          # (B, h, H, W, ·) → (B·H, h, W, ·)
            return t.transpose(1, 2).reshape(b * height, nh, width, t.shape[-1])

        def cols(t):                                                          # (B, h, H, W, ·) → (B·W, h, H, ·)
            return t.permute(0, 3, 1, 2, 4).reshape(b * width, nh, height, t.shape[-1])
        # pass 1, along each row: softmax(q·kᵀ + log γ·|Δc|)·v
        y = masa_attention(rows(q), rows(k), rows(v), mask_w, fused=fused)
        y = y.view(b, height, nh, width, e).transpose(1, 2)                    # back to (B, h, H, W, e)
        # pass 2, along each column with |Δr|: same q and k, applied to pass 1's output
        z = masa_attention(cols(q), cols(k), cols(y), mask_h, fused=fused)
        return z.view(b, width, nh, height, e).permute(0, 2, 3, 1, 4)         # (B·W, h, H, e) → (B, h, H, W, e)


def vision_retention_param_count(dim: int) -> int:
    """Learned parameters of one :class:`VisionRetention`: 4(d² + d) + 26d (official layout)."""
    return 4 * (dim * dim + dim) + 26 * dim


__all__ = ["VisionRetention", "rmt_gammas", "manhattan_decay_mask", "axial_decay_mask", "decay_row_sums",
           "masa_attention", "bidirectional_retention", "retention_2d", "vision_retention_param_count",
           "MIXERS", "MODES"]
