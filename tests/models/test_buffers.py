"""Precomputed decay masks and rotary tables (issue 13): non-persistent buffers at the configured size.

They change no value and no state-dict key: outputs with the buffers equal the function form (the
tables built through the cache, ``use_tables = False``) bit for bit, in float32 and float64, in
train and eval mode; ``.double()`` rebuilds them exactly; another input size falls back to the
cache; and a compiled layer at the configured size never reaches a mask builder.
"""
from __future__ import annotations

import pytest
import torch

from tsfmicro_lite.models import build_model
from tsfmicro_lite.models import retention_2d as r2d
from tsfmicro_lite.models.retention import (
    MultiScaleRetention,
    VisionRetention,
    axial_decay_mask,
    decay_mask,
    manhattan_decay_mask,
    rotary_tables,
    set_precomputed_tables,
)

TABLES = ("rotary_sin", "rotary_cos", "decay", "decay_h", "decay_w", "decay_norm_h", "decay_norm_w")


def _inputs(model, batch=2, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    s = model.config.img_size
    onset = torch.randn(batch, 3, s, s, generator=g, dtype=dtype)
    motion = 0.1 * torch.randn(batch, model.config.motion_channels, s, s, generator=g, dtype=dtype)
    return onset, motion


def _forward_backward(model, onset, motion):
    model.zero_grad(set_to_none=True)
    logits = model(onset, motion)
    (logits * torch.linspace(-1, 1, logits.numel(), dtype=logits.dtype).view_as(logits)).sum().backward()
    return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _table_buffers(model):
    """The qualified names of every table buffer of ``model``."""
    return [n for n, _ in model.named_buffers(remove_duplicate=False) if n.rsplit(".", 1)[-1] in TABLES]


@pytest.mark.parametrize("variant", ["late", "early", "t2s", "s2t", "temporal_only", "spatial_only", "sequence"])
def test_state_dict_keys_do_not_change(variant):
    torch.manual_seed(0)
    model = build_model(variant, 5, preset="micro")
    keys = set(model.state_dict())
    assert not [k for k in keys if k.rsplit(".", 1)[-1] in TABLES], "a table leaked into the state dict"
    other = build_model(variant, 5, preset="micro")
    other.load_state_dict(model.state_dict(), strict=True)                  # the official-weights path
    if variant != "spatial_only":
        assert _table_buffers(model), "the RMT stages should hold their tables as buffers"


@pytest.mark.parametrize("mixer", ["masa", "retention"])
def test_buffers_give_the_function_form_bit_for_bit(mixer):
    """Train mode, forward and every gradient: identical with the buffers and with the cache (float32)."""
    torch.manual_seed(0)
    model = build_model("late", 5, preset="micro", mixer=mixer).train()
    onset, motion = _inputs(model)
    torch.manual_seed(1)                                     # drop path draws the same coins both times
    with_tables = _forward_backward(model, onset, motion)
    assert set_precomputed_tables(model, False) == 5         # one VisionRetention per RMT block (1+1+2+1)
    torch.manual_seed(1)
    without = _forward_backward(model, onset, motion)
    assert torch.equal(with_tables[0], without[0])
    assert with_tables[1].keys() == without[1].keys()
    assert all(torch.equal(with_tables[1][n], without[1][n]) for n in without[1])


def test_double_rebuilds_the_tables_exactly_and_to_moves_them():
    torch.manual_seed(0)
    model = build_model("late", 5, preset="micro").double().eval()
    layers = [m for m in model.modules() if isinstance(m, VisionRetention)]
    for layer in layers:
        h, w = layer.size
        assert layer.rotary_sin.dtype == torch.float64
        sin, _ = rotary_tables(h * w, layer.head_dim, dtype=torch.float64)
        assert torch.equal(layer.rotary_sin, sin.view(h, w, -1))            # rebuilt, not cast from float32
        if layer.decomposed:
            assert torch.equal(layer.decay_w, axial_decay_mask(w, layer.gamma_values, log=True, dtype=torch.float64))
        else:
            assert torch.equal(layer.decay, manhattan_decay_mask(h, w, layer.gamma_values, log=True,
                                                                 dtype=torch.float64))
    onset, motion = _inputs(model, dtype=torch.float64)
    with torch.no_grad():
        ref = model(onset, motion)
        set_precomputed_tables(model, False)
        assert torch.equal(model(onset, motion), ref)
    model.float()
    assert all(layer.rotary_sin.dtype == torch.float32 for layer in layers)
    meta = build_model("late", 5, preset="micro").to("meta")               # .to(device) moves them too
    assert all(b.device.type == "meta" for n, b in meta.named_buffers() if n.rsplit(".", 1)[-1] in TABLES)


def test_cpu_autocast_matches_the_function_form():
    """bf16 autocast: q is bfloat16, the float32 buffers do not fit, the cache builds the tables as before."""
    torch.manual_seed(0)
    model = build_model("late", 5, preset="micro").eval()
    onset, motion = _inputs(model)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        ref = model(onset, motion)
        set_precomputed_tables(model, False)
        assert torch.equal(model(onset, motion), ref)


def _no_builders(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a mask or rotary builder was called")
    for name in ("rotary_tables", "manhattan_decay_mask", "axial_decay_mask", "decay_row_sums"):
        monkeypatch.setattr(r2d, name, refuse)


@pytest.mark.parametrize("decomposed", [True, False])
@pytest.mark.parametrize("mixer", ["masa", "retention"])
def test_configured_size_reads_the_buffers_other_sizes_fall_back(monkeypatch, decomposed, mixer):
    torch.manual_seed(0)
    layer = VisionRetention(16, 2, decomposed=decomposed, mixer=mixer, size=(3, 4))
    plain = VisionRetention(16, 2, decomposed=decomposed, mixer=mixer)
    plain.load_state_dict(layer.state_dict())
    x, other = torch.randn(2, 3, 4, 16), torch.randn(2, 5, 4, 16)
    with torch.no_grad():
        expected, expected_other = plain(x), plain(other)
        with monkeypatch.context() as mp:
            _no_builders(mp)
            assert torch.equal(layer(x), expected)                          # buffers only
            with pytest.raises(AssertionError, match="builder was called"):
                layer(other)                                                # 5×4 is not the configured 3×4
        assert torch.equal(layer(other), expected_other)                    # ... and builds its tables


def test_compiled_layer_sees_the_buffers(monkeypatch):
    """Dynamo traces the forward at the configured size without reaching any builder (fullgraph, no break)."""
    torch.manual_seed(0)
    layer = VisionRetention(16, 2, decomposed=False, size=(3, 4)).eval()
    x = torch.randn(1, 3, 4, 16)
    with torch.no_grad():
        expected = layer(x)
        _no_builders(monkeypatch)
        torch._dynamo.reset()
        compiled = torch.compile(layer, backend="eager", fullgraph=True)
        torch.testing.assert_close(compiled(x), expected, rtol=0, atol=0)
    torch._dynamo.reset()


@pytest.mark.parametrize("mode,chunk", [("parallel", None), ("recurrent", None), ("chunkwise", 3)])
@pytest.mark.parametrize("n", [8, 5, 11])          # = max_length, shorter (a corner of the buffers), longer (cache)
def test_multiscale_retention_max_length_changes_nothing(mode, chunk, n):
    torch.manual_seed(0)
    layer = MultiScaleRetention(16, 4, max_length=8)
    plain = MultiScaleRetention(16, 4)
    plain.load_state_dict(layer.state_dict())
    assert set(layer.state_dict()) == set(plain.state_dict())
    x = torch.randn(3, n, 16)
    with torch.no_grad():
        assert torch.equal(layer(x, mode, chunk), plain(x, mode, chunk))
    layer.double()
    assert torch.equal(layer.decay, decay_mask(8, layer.gamma_values, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"max_length must be >= 1"):
        MultiScaleRetention(16, 4, max_length=0)
