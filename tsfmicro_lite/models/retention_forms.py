"""Retention on 1-D sequences in its three forms: parallel, recurrent, chunkwise (notebook 02, §3).

Retention (Sun et al., RetNet, 2023) is linear attention with a fixed exponential decay:

    out_n = Σ_{m ≤ n} γ^(n−m) (q_n · k_m) v_m

There is no softmax, so the sum can be computed three ways with the same result:

* **parallel**: build the (n × m) decay mask D[n, m] = γ^(n−m) (0 for m > n), multiply it into
  q·kᵀ and apply to v. O(L²) time and memory, fully parallel (training).
* **recurrent**: carry a (d_k × d_v) state S_n = γ S_{n−1} + k_n v_nᵀ and read out q_n S_n.
  O(L) time, O(1) memory per step (decoding).
* **chunkwise**: parallel inside chunks of ``chunk_size`` tokens, recurrent across chunks
  (the state carries everything before the chunk). O(L · chunk_size) time: linear in L.

**Normalisation choice (decides whether the forms agree).** These functions compute the raw
sum above, with no data-dependent normalisation. RetNet's reference code also divides the decay
mask by the square root of its row sum and the decayed scores by their clamped absolute row sum;
both are per-(token, head) scale factors, which the per-head group norm in
:class:`~tsfmicro_lite.models.retention.MultiScaleRetention` removes again (up to its eps). Leaving
them out makes the three forms equal in exact arithmetic, so the tests can demand it.

**Lengths that are not a multiple of the chunk size:** the last chunk is simply shorter. Nothing
is padded, so no padded token can leak into the state or the output.

**Masks and rotary tables.** They depend on nothing learned, so they are built once: the functions
below cache them per (length, γ, device, dtype), and the layers hold them as non-persistent buffers
at their configured length (:func:`precomputed`), which ``torch.compile`` and CUDA graphs see as
constants and ``.to(device)`` moves. Neither changes a value: a buffer holds the cached tensor.

**Tolerances.** In float64 the forms agree to ~1e-12 relative; in float32 to ~1e-5 relative
(the recurrent form accumulates rounding error over the sequence, as RetNet's authors note).

Axis letters used in every ``einsum`` below:
    b batch · h head · n query position · m key position · d key/query channel · e value channel
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import torch

#: chunk size used by ``mode="chunkwise"`` when none is given
DEFAULT_CHUNK_SIZE = 64
#: masks larger than this are built per call instead of cached: a few long lengths would pin GBs
MASK_CACHE_LIMIT_BYTES = 256 * 2**20

GammaLike = torch.Tensor | Sequence[float]


def retnet_gammas(num_heads: int) -> torch.Tensor:
    """RetNet's per-head decays γ_h = 1 − 2^(−5−h): head 0 forgets fastest (γ=0.969, ~32 tokens),
    head 7 remembers ~4096 tokens. Multi-scale decay lets different heads see different ranges.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "4. Multi-scale decay, group norm and the gate".
    """
    if num_heads < 1:
        raise ValueError(f"num_heads must be >= 1, got {num_heads}")
    return 1.0 - 2.0 ** (-5.0 - torch.arange(num_heads, dtype=torch.float64))


def gamma_tuple(gammas: GammaLike) -> tuple[float, ...]:
    """The decay rates γ (a tensor or a sequence) as Python floats, each checked to lie in (0, 1)."""
    values = gammas.detach().reshape(-1).tolist() if isinstance(gammas, torch.Tensor) else [float(g) for g in gammas]
    bad = [g for g in values if not 0.0 < g < 1.0]
    if bad:
        raise ValueError(f"every decay γ must lie in (0, 1); got {bad} in gammas={values}")
    return tuple(values)


def _log_gammas(gammas: GammaLike, like: torch.Tensor) -> torch.Tensor:
    """log γ as a (h,) tensor on ``like``'s device and dtype."""
    return torch.log(torch.tensor(gamma_tuple(gammas), dtype=torch.float64)).to(like.device, like.dtype)


@functools.lru_cache(maxsize=64)
def _decay_mask_cached(length: int, gammas: tuple[float, ...], device: str, dtype: torch.dtype) -> torch.Tensor:
    work = torch.float64 if dtype == torch.float64 else torch.float32        # float32 is exact enough below
    pos = torch.arange(length, dtype=work, device=device)
    expo = pos[:, None] - pos[None, :]                                       # (n, m): n − m
    expo.masked_fill_(expo < 0, math.inf)                                    # future keys → γ^∞ = 0
    log_g = torch.log(torch.tensor(gammas, dtype=torch.float64)).to(device, work)
    mask = torch.empty(len(gammas), length, length, dtype=dtype, device=device)
    for h, lg in enumerate(log_g):                                           # one head at a time: few L² temps
        mask[h] = torch.exp(lg * expo)
    return mask


def decay_mask(length: int, gammas: GammaLike, *, device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The causal decay mask D[h, n, m] = γ_h^(n−m) for m ≤ n, else 0; shape (heads, length, length).

    Built once per (length, gammas, device, dtype) and cached, because it depends on nothing
    learned: rebuilding an L×L tensor on every forward (as the official RMT code does) costs time
    and allocations for nothing. The returned tensor is shared: treat it as read-only. Masks over
    ``MASK_CACHE_LIMIT_BYTES`` (256 MiB) are built per call instead, so the cache cannot pin GBs.
    Future positions get exponent +∞, so γ^∞ = 0 exactly (never NaN); exponents are formed in float64
    for a float64 mask and in float32 otherwise (relative error < 1e-5 wherever the mask is not ~0).
    Taught in notebook 02, "The decay mask".

    Taught in notebooks/02_retention_from_scratch.ipynb, section "2. The decay mask".
    """
    if length < 1:
        raise ValueError(f"decay_mask: length must be >= 1, got {length}")
    gammas = gamma_tuple(gammas)
    key = (int(length), gammas, str(torch.device(device)), dtype)
    if len(gammas) * length * length * dtype.itemsize > MASK_CACHE_LIMIT_BYTES:
        return _decay_mask_cached.__wrapped__(*key)
    return _decay_mask_cached(*key)


@functools.lru_cache(maxsize=64)
def _rotary_cached(length: int, head_dim: int, device: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    freq = 1.0 / 10000 ** torch.linspace(0, 1, head_dim // 2, dtype=torch.float64)
    freq = freq.repeat_interleave(2)                                      # (d,): each pair shares a frequency
    angle = torch.arange(length, dtype=torch.float64)[:, None] * freq[None, :]  # (n, d)
    return angle.sin().to(device=device, dtype=dtype), angle.cos().to(device=device, dtype=dtype)


def rotary_tables(length: int, head_dim: int, *, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """(sin, cos), each (length, head_dim), for the rotary "theta shift" of RetNet/RMT.

    Frequencies are 1/10000^linspace(0, 1, head_dim/2), each repeated twice, so channels (2i, 2i+1)
    rotate together. Cached per (length, head_dim, device, dtype) like :func:`decay_mask`.
    """
    if head_dim % 2:
        raise ValueError(f"rotary position needs an even head_dim to rotate channel pairs; got head_dim={head_dim}")
    return _rotary_cached(int(length), int(head_dim), str(torch.device(device)), dtype)


def precomputed(table: torch.Tensor | None, like: torch.Tensor, build: Callable[[], torch.Tensor]) -> torch.Tensor:
    """A layer's precomputed table (a non-persistent buffer) when it fits ``like``, else ``build()``.

    Layers register their decay masks and rotary tables as buffers at the configured input size, so
    ``torch.compile`` and CUDA graphs see constants (dynamo ignores ``functools.lru_cache`` and would
    trace the builder into every graph) and ``.to(device)`` moves them. ``table=None`` (another size)
    or another dtype (autocast) builds through the cache, bit for bit as before; while compiling, a
    dtype mismatch casts the buffer instead, within float rounding (as compiled code already is).
    """
    if table is not None:
        if table.dtype == like.dtype and table.device == like.device:
            return table
        if torch.compiler.is_compiling():
            return table.to(device=like.device, dtype=like.dtype)
    return build()


def theta_shift(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """Rotate interleaved (even, odd) channel pairs of ``x`` (..., n, d) by position-dependent angles.

    After the rotation q_n·k_m depends on positions only through n − m: relative position for free.
    """
    x1, x2 = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack((-x2, x1), dim=-1).flatten(-2)                  # (…, d): (−x_odd, x_even) pairs
    return x * cos + rotated * sin


def check_head_split(where: str, dim: int, num_heads: int) -> None:
    """Heads must split ``dim`` evenly into an even head dim (the rotary position rotates channel pairs)."""
    if dim % num_heads:
        raise ValueError(f"{where}: dim ({dim}) must be divisible by num_heads ({num_heads})")
    if (dim // num_heads) % 2:
        raise ValueError(f"{where}: head dim dim/num_heads = {dim}/{num_heads} = {dim // num_heads} "
                         "must be even for the rotary position (it rotates channel pairs)")


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gammas: GammaLike, where: str) -> None:
    if q.dim() != 4 or k.shape != q.shape or v.dim() != 4 or v.shape[:3] != q.shape[:3]:
        raise ValueError(f"{where}: expected q, k of shape (batch, heads, length, d) and v of shape "
                         f"(batch, heads, length, e); got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    n_g = len(gamma_tuple(gammas))
    if n_g != q.shape[1]:
        raise ValueError(f"{where}: {n_g} gammas for {q.shape[1]} heads; give one decay per head")


def _powers(log_g: torch.Tensor, exponents: torch.Tensor) -> torch.Tensor:
    """γ_h^e as an (h, len(e)) tensor."""
    return torch.exp(log_g[:, None] * exponents[None, :])


def retention_parallel(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gammas: GammaLike,
                       state: torch.Tensor | None = None, *,
                       mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Parallel form: (q·kᵀ ⊙ D) v. Returns (output (b,h,n,e), final state (b,h,d,e)).

    ``state`` (from earlier tokens) adds γ^(n+1) q_n S; this is what lets the chunkwise form reuse
    this function for each chunk. ``mask``: the decay mask D (h, n, n) when the caller holds it (a
    layer's buffer); by default :func:`decay_mask` (cached).

    Taught in notebooks/02_retention_from_scratch.ipynb, section "3. Three forms of the same computation".
    """
    _check_qkv(q, k, v, gammas, "retention_parallel")
    n = q.shape[2]
    if mask is None:
        mask = decay_mask(n, gammas, device=q.device, dtype=q.dtype)           # (h, n, m)
    elif mask.shape != (q.shape[1], n, n):
        raise ValueError(f"retention_parallel: mask must be (heads, length, length) = {(q.shape[1], n, n)}; "
                         f"got {tuple(mask.shape)}")
    scores = torch.einsum("bhnd,bhmd->bhnm", q, k) * mask
    out = torch.einsum("bhnm,bhme->bhne", scores, v)
    log_g = _log_gammas(gammas, q)
    pos = torch.arange(n, device=q.device, dtype=q.dtype)
    tail = _powers(log_g, n - 1 - pos)                                          # (h, m): γ^(n−1−m)
    new_state = torch.einsum("bhmd,bhme->bhde", k * tail[None, :, :, None], v)
    if state is not None:
        inner = _powers(log_g, pos + 1)                                         # (h, n): γ^(n+1)
        out = out + torch.einsum("bhnd,bhde->bhne", q, state) * inner[None, :, :, None]
        new_state = new_state + state * torch.exp(log_g * n)[None, :, None, None]
    return out, new_state


def retention_recurrent(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gammas: GammaLike,
                        state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Recurrent form: S_n = γ S_{n−1} + k_n v_nᵀ, out_n = q_n S_n, one token at a time.

    Same signature and result as :func:`retention_parallel`; O(d·e) memory per step.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "3. Three forms of the same computation".
    """
    _check_qkv(q, k, v, gammas, "retention_recurrent")
    b, h, n, d = q.shape
    gamma = torch.exp(_log_gammas(gammas, q))[None, :, None, None]             # (1, h, 1, 1)
    s = state if state is not None else q.new_zeros(b, h, d, v.shape[-1])
    outs = []
    # per token: S ← γ S + k vᵀ ("bhd,bhe->bhde") then q S ("bhd,bhde->bhe"); written with addcmul and
    # matmul on (…, d, 1)/(…, 1, e) views because einsum's per-call overhead dominates these tiny steps
    for q_i, k_i, v_i in zip(q.unbind(2), k.unbind(2), v.unbind(2)):
        s = torch.addcmul(gamma * s, k_i[..., :, None], v_i[..., None, :])
        outs.append(q_i[..., None, :] @ s)                                    # (b, h, 1, e)
    return torch.cat(outs, dim=2), s


def retention_chunkwise(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gammas: GammaLike,
                        state: torch.Tensor | None = None, *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                        mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Chunkwise form: parallel inside each chunk, the recurrent state across chunks.

    Same signature as the other two plus ``chunk_size`` (>= 1). A length that is not a multiple of
    ``chunk_size`` ends with one shorter chunk (no padding); ``chunk_size >= length`` is one chunk,
    i.e. the parallel form. ``mask``: a decay mask (h, L, L) with L >= the longest chunk, of which each
    chunk takes its top-left corner (the mask depends only on n − m); by default built per chunk length.

    Taught in notebooks/02_retention_from_scratch.ipynb, section "3. Three forms of the same computation".
    """
    _check_qkv(q, k, v, gammas, "retention_chunkwise")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"retention_chunkwise: chunk_size must be a positive int, got {chunk_size!r}")
    if mask is not None and mask.shape[-1] < min(chunk_size, q.shape[2]):
        raise ValueError(f"retention_chunkwise: mask {tuple(mask.shape)} is shorter than a chunk "
                         f"({min(chunk_size, q.shape[2])} tokens)")
    outs = []
    for start in range(0, q.shape[2], chunk_size):
        sl = slice(start, start + chunk_size)
        n = min(chunk_size, q.shape[2] - start)
        # intra-chunk: the parallel form; cross-chunk: the carried state (inside retention_parallel)
        out, state = retention_parallel(q[:, :, sl], k[:, :, sl], v[:, :, sl], gammas, state,
                                        mask=None if mask is None else mask[:, :n, :n])
        outs.append(out)
    return torch.cat(outs, dim=2), state


#: the forms by name, so callers can loop over them
RETENTION_FORMS = {"parallel": retention_parallel, "recurrent": retention_recurrent, "chunkwise": retention_chunkwise}
