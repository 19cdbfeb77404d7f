"""Retention: the three forms agree (1-D and 2-D), masks by hand, MaSA fused == written out, official sizes."""
from __future__ import annotations

import math

import pytest
import torch

from tsfmicro_lite.models import retention_2d as r2d
from tsfmicro_lite.models.retention import (
    MultiScaleRetention,
    VisionRetention,
    axial_decay_mask,
    decay_mask,
    decay_row_sums,
    manhattan_decay_mask,
    masa_attention,
    retention_2d,
    retention_chunkwise,
    retention_parallel,
    retention_recurrent,
    retnet_gammas,
    rmt_gammas,
    rotary_tables,
    theta_shift,
    vision_retention_param_count,
)

F64 = dict(rtol=1e-10, atol=1e-10)


def _qkv(b=2, h=3, n=11, d=4, e=6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, h, n, d, generator=g, dtype=dtype), torch.randn(b, h, n, d, generator=g, dtype=dtype),
            torch.randn(b, h, n, e, generator=g, dtype=dtype))


# ------------------------------------------------------------------------------------ 1-D masks
def test_decay_mask_values_by_hand_and_cached():
    mask = decay_mask(3, [0.5, 0.9], dtype=torch.float64)
    expected = torch.tensor([[[1, 0, 0], [0.5, 1, 0], [0.25, 0.5, 1]],
                             [[1, 0, 0], [0.9, 1, 0], [0.81, 0.9, 1]]], dtype=torch.float64)
    torch.testing.assert_close(mask, expected, **F64)
    assert decay_mask(3, torch.tensor([0.5, 0.9], dtype=torch.float64), dtype=torch.float64) is mask  # cached
    big = decay_mask(100, [0.5], dtype=torch.float64)
    with pytest.MonkeyPatch.context() as mp:  # over the cache limit: built per call, same values
        mp.setattr("tsfmicro_lite.models.retention_forms.MASK_CACHE_LIMIT_BYTES", 1000)
        uncached = decay_mask(100, [0.5], dtype=torch.float64)
        assert uncached is not big and decay_mask(100, [0.5], dtype=torch.float64) is not uncached
        torch.testing.assert_close(uncached, big, **F64)
    last = decay_mask(300, [0.5])[0, -1]  # float32: γ^299 underflows
    assert torch.isfinite(last).all() and last[0] == 0 and last[-1] == 1


def test_gamma_presets():
    torch.testing.assert_close(retnet_gammas(3), torch.tensor([1 - 2**-5, 1 - 2**-6, 1 - 2**-7], dtype=torch.float64))
    # official RMT stages (spec §2): init 2, heads_range 4 → 0.75, 0.9375; range 6 → 0.75, 0.96875
    assert rmt_gammas(2, 2.0, 4.0).tolist() == [0.75, 0.9375]
    assert rmt_gammas(2, 2.0, 6.0).tolist() == [0.75, 0.96875]


def test_rotary_makes_scores_depend_on_offset_only():
    sin, cos = rotary_tables(9, 8, dtype=torch.float64)
    q, k = torch.randn(8, dtype=torch.float64), torch.randn(8, dtype=torch.float64)
    rq, rk = theta_shift(q.expand(9, 8), sin, cos), theta_shift(k.expand(9, 8), sin, cos)
    scores = rq @ rk.T
    torch.testing.assert_close(torch.diagonal(scores, -2), torch.full((7,), scores[2, 0].item(), dtype=torch.float64))
    torch.testing.assert_close(rq.norm(dim=-1), q.norm().expand(9))  # a rotation keeps the norm


# ------------------------------------------------------------------------- 1-D forms agree
@pytest.mark.parametrize("n", [1, 7, 16, 33])
@pytest.mark.parametrize("chunk", [1, 3, 4, 16, "full"])
def test_three_forms_agree_float64(n, chunk):
    q, k, v = _qkv(n=n)
    gammas = [0.5, 0.9, 0.99]
    chunk_size = n if chunk == "full" else chunk
    ref, ref_state = retention_parallel(q, k, v, gammas)
    others = (retention_recurrent(q, k, v, gammas), retention_chunkwise(q, k, v, gammas, chunk_size=chunk_size))
    for out, state in others:
        torch.testing.assert_close(out, ref, **F64)
        torch.testing.assert_close(state, ref_state, **F64)


def test_forms_continue_from_a_state():
    q, k, v = _qkv(n=20)
    g = [0.8, 0.95, 0.7]
    full, _ = retention_parallel(q, k, v, g)
    _, state = retention_recurrent(q[:, :, :9], k[:, :, :9], v[:, :, :9], g)
    for form in (retention_parallel, retention_recurrent):
        rest, _ = form(q[:, :, 9:], k[:, :, 9:], v[:, :, 9:], g, state)
        torch.testing.assert_close(rest, full[:, :, 9:], **F64)


def test_forms_take_a_precomputed_mask():
    """A layer's buffer as ``mask=``: the same numbers; chunkwise takes each chunk's top-left corner."""
    q, k, v = _qkv(n=10)
    g = [0.5, 0.9, 0.99]
    mask = decay_mask(10, g, dtype=torch.float64)
    ref, ref_state = retention_parallel(q, k, v, g)
    out, state = retention_parallel(q, k, v, g, mask=mask)
    assert torch.equal(out, ref) and torch.equal(state, ref_state)
    out, state = retention_chunkwise(q, k, v, g, chunk_size=4, mask=mask)
    plain, plain_state = retention_chunkwise(q, k, v, g, chunk_size=4)
    assert torch.equal(out, plain) and torch.equal(state, plain_state)
    torch.testing.assert_close(out, ref, **F64)
    with pytest.raises(ValueError, match=r"mask must be \(heads, length, length\) = \(3, 10, 10\); got \(3, 9, 9\)"):
        retention_parallel(q, k, v, g, mask=mask[:, :9, :9])
    with pytest.raises(ValueError, match=r"shorter than a chunk \(4 tokens\)"):
        retention_chunkwise(q, k, v, g, chunk_size=4, mask=mask[:, :3, :3])


def test_parallel_matches_written_out_sum():
    q, k, v = _qkv(b=1, h=1, n=5)
    out, _ = retention_parallel(q, k, v, [0.6])
    n = 3
    by_hand = sum(0.6 ** (n - m) * (q[0, 0, n] @ k[0, 0, m]) * v[0, 0, m] for m in range(n + 1))
    torch.testing.assert_close(out[0, 0, n], by_hand, **F64)


@pytest.mark.parametrize("n,chunk", [(13, 4), (16, 16), (9, 1)])
def test_multiscale_retention_forms_agree_with_gradients(n, chunk):
    torch.manual_seed(0)
    layer = MultiScaleRetention(16, 4, value_factor=2).double()
    x = torch.randn(3, n, 16, dtype=torch.float64, requires_grad=True)
    results = []
    for mode, cs in (("parallel", None), ("recurrent", None), ("chunkwise", chunk)):
        layer.zero_grad()
        x.grad = None
        y = layer(x, mode=mode, chunk_size=cs)
        (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).view_as(y)).sum().backward()
        results.append((y.detach(), x.grad.clone(), [p.grad.clone() for p in layer.parameters()]))
    for y, gx, gp in results[1:]:
        torch.testing.assert_close(y, results[0][0], **F64)
        torch.testing.assert_close(gx, results[0][1], **F64)
        for a, b in zip(gp, results[0][2]):
            torch.testing.assert_close(a, b, **F64)


def test_multiscale_retention_float32_tolerance():
    torch.manual_seed(1)
    layer = MultiScaleRetention(32, 4)
    x = torch.randn(2, 200, 32)
    ref = layer(x)
    torch.testing.assert_close(layer(x, "recurrent"), ref, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(layer(x, "chunkwise", 48), ref, rtol=1e-4, atol=1e-4)


def test_gammas_survive_dtype_casts_of_the_module():
    layer = MultiScaleRetention(16, 2).to(torch.bfloat16)  # 1 − 2^−6 would round to 1.0 in bfloat16
    assert layer.gamma_values == tuple(retnet_gammas(2).tolist())
    assert VisionRetention(16, 2, decomposed=True).half().gamma_values == (0.75, 0.9375)


def test_multiscale_retention_errors():
    with pytest.raises(ValueError, match=r"dim \(30\) must be divisible by num_heads \(4\)"):
        MultiScaleRetention(30, 4)
    with pytest.raises(ValueError, match=r"head dim .* = 3 must be even"):
        MultiScaleRetention(6, 2)
    with pytest.raises(ValueError, match=r"3 gammas for num_heads=2"):
        MultiScaleRetention(8, 2, gammas=[0.9, 0.8, 0.7])
    with pytest.raises(ValueError, match=r"γ must lie in \(0, 1\).*1\.0"):
        MultiScaleRetention(8, 2, gammas=[0.9, 1.0])
    layer = MultiScaleRetention(8, 2)
    with pytest.raises(ValueError, match=r"unknown mode 'sequential'"):
        layer(torch.randn(1, 4, 8), mode="sequential")
    with pytest.raises(ValueError, match=r"chunk_size=4 only applies to mode='chunkwise'"):
        layer(torch.randn(1, 4, 8), mode="parallel", chunk_size=4)
    with pytest.raises(ValueError, match=r"expects \(batch, length, dim=8\); got \(1, 4, 6\)"):
        layer(torch.randn(1, 4, 6))
    with pytest.raises(ValueError, match=r"chunk_size must be a positive int, got 0"):
        retention_chunkwise(*_qkv(h=1), [0.5], chunk_size=0)
    with pytest.raises(ValueError, match=r"2 gammas for 3 heads"):
        retention_parallel(*_qkv(), [0.5, 0.6])


# ------------------------------------------------------------------------------------ 2-D decay
def test_manhattan_mask_by_hand_and_decomposition():
    mask = manhattan_decay_mask(2, 2, [0.5], dtype=torch.float64)[0]
    # raster order (0,0) (0,1) (1,0) (1,1): distances 0 1 1 2 from the first token
    torch.testing.assert_close(mask[0], torch.tensor([1, 0.5, 0.5, 0.25], dtype=torch.float64), **F64)
    full = manhattan_decay_mask(3, 4, [0.7, 0.9], dtype=torch.float64)
    rows = axial_decay_mask(3, [0.7, 0.9], dtype=torch.float64)
    cols = axial_decay_mask(4, [0.7, 0.9], dtype=torch.float64)
    for h in range(2):
        torch.testing.assert_close(full[h], torch.kron(rows[h], cols[h]), **F64)  # γ^|Δr|·γ^|Δc|
    log = manhattan_decay_mask(3, 4, [0.7, 0.9], log=True, dtype=torch.float64)
    torch.testing.assert_close(log.exp(), full, **F64)
    torch.testing.assert_close(decay_row_sums(7, [0.7, 0.9], dtype=torch.float64),
                               axial_decay_mask(7, [0.7, 0.9], dtype=torch.float64).sum(-1), **F64)


@pytest.mark.parametrize("decomposed", [True, False])
def test_retention_2d_normaliser_makes_a_weighted_average(decomposed):
    """With q·k = 1 everywhere, normalised retention returns v unchanged when v is constant."""
    q = torch.zeros(1, 2, 3, 5, 4, dtype=torch.float64)
    q[..., 0] = 1
    v = torch.full((1, 2, 3, 5, 6), 2.5, dtype=torch.float64)
    out = retention_2d(q, q.clone(), v, [0.75, 0.9375], decomposed=decomposed)
    torch.testing.assert_close(out, v, **F64)


@pytest.mark.parametrize("hw", [(5, 7), (4, 4), (1, 6)])
def test_vision_retention_forms_agree_with_gradients(hw):
    torch.manual_seed(0)
    x = torch.randn(2, *hw, 16, dtype=torch.float64, requires_grad=True)
    for decomposed in (True, False):
        layer = VisionRetention(16, 2, decomposed=decomposed, mixer="retention").double()
        runs = [("parallel", None), ("recurrent", None)]
        if decomposed:
            runs += [("chunkwise", c) for c in (1, 2, 3, max(hw))]
        results = []
        for mode, cs in runs:
            x.grad = None
            layer.zero_grad()
            y = layer(x, mode=mode, chunk_size=cs)
            (y * y.detach()).sum().backward()
            results.append((y.detach(), x.grad.clone(), layer.q_proj.weight.grad.clone()))
        for (mode, cs), res in zip(runs[1:], results[1:]):
            for got, want in zip(res, results[0]):
                where = f"{mode} chunk={cs} decomposed={decomposed}"
                torch.testing.assert_close(got, want, **F64, msg=lambda m: f"{where}: {m}")


def _naive_masa(layer: VisionRetention, x: torch.Tensor) -> torch.Tensor:
    """Spec §2 written out per pixel with loops: an independent reference for the official MaSA."""
    b, height, width, dim = x.shape
    nh, hd = layer.num_heads, layer.head_dim
    q, k, v = layer.q_proj(x), layer.k_proj(x) * hd**-0.5, layer.v_proj(x)
    freq = (1.0 / 10000 ** torch.linspace(0, 1, hd // 2, dtype=x.dtype))

    def rotate(t, pos):  # explicit 2×2 rotation of each (even, odd) channel pair
        t = t.clone()
        for i in range(hd // 2):
            a, c = t[..., 2 * i].clone(), t[..., 2 * i + 1].clone()
            ang = pos * freq[i]
            t[..., 2 * i] = a * math.cos(ang) - c * math.sin(ang)
            t[..., 2 * i + 1] = c * math.cos(ang) + a * math.sin(ang)
        return t
    out = torch.zeros_like(v)
    for h in range(nh):
        sl = slice(h * hd, (h + 1) * hd)
        lg = math.log(layer.gammas[h].item())
        qs = torch.stack([torch.stack([rotate(q[:, r, c, sl], r * width + c) for c in range(width)], 1)
                          for r in range(height)], 1)
        ks = torch.stack([torch.stack([rotate(k[:, r, c, sl], r * width + c) for c in range(width)], 1)
                          for r in range(height)], 1)
        vs = v[..., sl]
        if layer.decomposed:
            y = torch.zeros_like(vs)
            for r in range(height):
                for c in range(width):
                    logits = torch.stack([qs[:, r, c] @ ks[:, r, j].T for j in range(width)], -1).diagonal().T
                    logits = logits + lg * torch.tensor([abs(c - j) for j in range(width)], dtype=x.dtype)
                    y[:, r, c] = (logits.softmax(-1)[..., None] * vs[:, r]).sum(1)
            z = torch.zeros_like(vs)
            for r in range(height):
                for c in range(width):
                    logits = torch.stack([(qs[:, r, c] * ks[:, i, c]).sum(-1) for i in range(height)], -1)
                    logits = logits + lg * torch.tensor([abs(r - i) for i in range(height)], dtype=x.dtype)
                    z[:, r, c] = (logits.softmax(-1)[..., None] * y[:, :, c]).sum(1)
        else:
            z = torch.zeros_like(vs)
            for r in range(height):
                for c in range(width):
                    logits = torch.einsum("bd,bijd->bij", qs[:, r, c], ks)
                    dist = torch.tensor([[abs(r - i) + abs(c - j) for j in range(width)] for i in range(height)],
                                        dtype=x.dtype)
                    w = (logits + lg * dist).flatten(1).softmax(-1).view(b, height, width)
                    z[:, r, c] = torch.einsum("bij,bije->be", w, vs)
        out[..., sl] = z
    lepe = layer.lepe(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    return layer.out_proj(out + lepe)


@pytest.mark.parametrize("decomposed", [True, False])
def test_masa_matches_spec_written_out_and_fused_equals_unfused(decomposed):
    torch.manual_seed(0)
    layer = VisionRetention(8, 2, decomposed=decomposed, heads_range=6.0).double()
    x = torch.randn(2, 3, 4, 8, dtype=torch.float64, requires_grad=True)
    assert layer.use_sdpa is None  # auto: SDPA on CUDA, written out on CPU (measured faster there)
    layer.use_sdpa = True
    fused = layer(x)
    torch.testing.assert_close(fused, _naive_masa(layer, x), **F64)
    layer.use_sdpa = False
    unfused = layer(x)
    torch.testing.assert_close(unfused, fused, **F64)
    g_unfused = torch.autograd.grad(unfused.square().sum(), x)[0]
    layer.use_sdpa = True
    g_fused = torch.autograd.grad(layer(x).square().sum(), x)[0]
    torch.testing.assert_close(g_fused, g_unfused, **F64)


def test_masa_attention_function_fused_vs_written_out_float32():
    q, k, v = _qkv(b=2, h=2, n=12, d=8, e=8, dtype=torch.float32)
    mask = manhattan_decay_mask(3, 4, [0.75, 0.96875], log=True)
    torch.testing.assert_close(masa_attention(q, k, v, mask), masa_attention(q, k, v, mask, fused=False),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim,heads", [(64, 2), (128, 2), (256, 2), (512, 2), (48, 3)])
def test_vision_retention_parameters_match_official_layout(dim, heads):
    layer = VisionRetention(dim, heads, decomposed=dim < 256)
    assert sum(p.numel() for p in layer.parameters()) == 4 * (dim * dim + dim) + 26 * dim
    assert vision_retention_param_count(dim) == 4 * (dim * dim + dim) + 26 * dim
    assert sorted(n for n, _ in layer.named_parameters()) == sorted(
        f"{m}.{p}" for m in ("q_proj", "k_proj", "v_proj", "out_proj", "lepe") for p in ("weight", "bias"))
    assert not layer.gammas.requires_grad


def test_vision_retention_caches_masks_and_keeps_shape():
    layer = VisionRetention(16, 2, decomposed=False)
    x = torch.randn(1, 6, 5, 16)
    layer(x)
    before = r2d._manhattan_cached.cache_info()
    y = layer(x)
    after = r2d._manhattan_cached.cache_info()
    assert y.shape == x.shape
    assert after.hits == before.hits + 1 and after.misses == before.misses  # reused, not rebuilt


def test_vision_retention_errors():
    with pytest.raises(ValueError, match=r"dim \(30\) must be divisible by num_heads \(4\)"):
        VisionRetention(30, 4, decomposed=True)
    with pytest.raises(ValueError, match=r"unknown mixer 'softmax'"):
        VisionRetention(8, 2, decomposed=True, mixer="softmax")
    x = torch.randn(1, 3, 3, 8)
    with pytest.raises(ValueError, match=r"mixer='masa'\) has only mode='parallel' \(got 'recurrent'\)"):
        VisionRetention(8, 2, decomposed=True)(x, mode="recurrent")
    with pytest.raises(ValueError, match=r"chunkwise' is not defined for the full 2-D decay"):
        VisionRetention(8, 2, decomposed=False, mixer="retention")(x, mode="chunkwise", chunk_size=2)
    with pytest.raises(ValueError, match=r"channels-last \(B, H, W, C=8\); got \(1, 8, 3, 3\)"):
        VisionRetention(8, 2, decomposed=True)(x.permute(0, 3, 1, 2))


@pytest.mark.parametrize("mixer", ["masa", "retention"])
@pytest.mark.parametrize("decomposed", [True, False])
def test_mixing_weights_reproduce_the_mixer(mixer, decomposed):
    torch.manual_seed(0)
    layer = VisionRetention(8, 2, decomposed=decomposed, mixer=mixer).double()
    x = torch.randn(2, 3, 4, 8, dtype=torch.float64)
    weights = layer.mixing_weights(x)                                  # (B, h, HW, HW)
    q, k, v, _ = layer.project(x)
    mixed = layer.mix(q, k, v)
    torch.testing.assert_close(torch.einsum("bhnm,bhme->bhne", weights, v.flatten(2, 3)), mixed.flatten(2, 3), **F64)
    if mixer == "masa":
        torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]), **F64)


def test_peak_memory_counts_live_tensors_only():
    from tsfmicro_lite.models.retention_cost import peak_memory_bytes

    def fn():
        a = torch.ones(1000)          # 4000 B
        b = torch.ones(1000)          # 8000 B live
        del a
        c = torch.ones(1000)          # still 8000 B live: a was freed
        return b + c                  # 12000 B at the peak
    assert peak_memory_bytes(fn) == 12000


def test_cost_measurement():
    """The numbers behind notebook 02's cost curves (the pictures are tests/viz/test_retention.py)."""
    from tsfmicro_lite.models.retention_cost import (
        cost_table,
        loglog_slope,
        measure_masa_stages,
        measure_retention_forms,
    )

    costs = measure_retention_forms([8, 16], heads=2, head_dim=4, chunk_size=8, min_time_s=0.0, threads=1)
    forms = ("parallel", "recurrent", "chunkwise")
    assert [(c.form, c.length) for c in costs] == [(f, n) for n in (8, 16) for f in forms]
    assert all(c.time_ms > 0 and c.peak_mb > 0 for c in costs)
    assert list(cost_table(costs).columns)[-2:] == ["recurrent/parallel time", "chunkwise/parallel time"]
    assert loglog_slope([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0)
    stages = measure_masa_stages(stages=((4, 8, True, 4.0), (3, 8, False, 6.0)), min_time_s=0.0, threads=1)
    assert [r["stage"] for r in stages] == ["4x4x8 decomposed", "3x3x8 full"]
    assert all(r["max_abs_diff"] < 1e-5 and r["fused_ms"] > 0 and r["official_style_ms"] > 0 for r in stages)
