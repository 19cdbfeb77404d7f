"""Every Fig. 1 variant (tsfmicro_lite.models.fusion): official parameter counts, forward/backward, determinism."""
from __future__ import annotations

import pytest
import torch

from tsfmicro_lite.models import ModelConfig, build_model, count_parameters, list_variants

VARIANTS = list_variants()
HEAD_5 = 1024 * 512 + 1024 + 2 * 1024 + 1024 * 5 + 5        # Linear 512→1024, BN2d, Linear 1024→5
STEM = (3 * 32 * 9 + 32) + (32 * 32 * 9 + 32) + (32 * 64 * 9 + 64) + (64 * 64 * 9 + 64) + 2 * (32 + 32 + 64 + 64)

# (variant, classes, spec figure, what the official count holds that our model does not)
OFFICIAL = [
    ("late", 5, 12.79e6, 0),
    ("temporal_only", 5, 6.38e6, 0),        # "RMT plus head"
    ("early", 3, 6.51e6, STEM),             # official early keeps the RMT's own (unused) stem: +65,952
    ("t2s", 5, 13.32e6, HEAD_5),            # official T-to-S keeps an unused RMT head: +532,485
    ("s2t", 5, 15.54e6, 0),
    ("spatial_only", 5, 6.94e6, 0),         # ViT + the 1024-d head
]


@pytest.mark.parametrize("variant,classes,figure,unused", OFFICIAL, ids=[o[0] for o in OFFICIAL])
def test_paper_preset_parameter_counts_match_spec(variant, classes, figure, unused):
    n = count_parameters(build_model(variant, classes))
    assert abs((n + unused) / figure - 1) < 0.005, f"{variant}: {n:,} (+{unused:,} unused) vs spec {figure:,.0f}"


def _inputs(config: ModelConfig, batch: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    s = config.img_size
    return (torch.randn(batch, config.onset_channels, s, s, generator=g),
            torch.randn(batch, config.motion_channels, s, s, generator=g))


def _fwd_bwd(model, batch: int = 2):
    onset, motion = _inputs(model.config, batch)
    out = model(onset, motion)
    assert out.shape == (batch, model.config.num_classes)
    assert torch.isfinite(out).all(), "output contains NaN/inf"
    torch.nn.functional.cross_entropy(out, torch.arange(batch) % model.config.num_classes).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no finite gradient for {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_forward_backward_at_224(variant):
    torch.manual_seed(0)
    _fwd_bwd(build_model(variant, 3), batch=2)


TINY_CASES = [dict(variant=v) for v in VARIANTS] + [
    dict(variant="late", fusion_op="concat"), dict(variant="late", fusion_op="gate"),
    dict(variant="late", fusion_op="cross_attention"), dict(variant="t2s", t2s_position="before"),
    dict(variant="spatial_only", spatial_input="apex"), dict(variant="late", mixer="retention"),
    dict(variant="late", motion_channels=2), dict(variant="early", motion_channels=1),
    dict(variant="late", fused_attention=False, vit_antialias=False),
]


@pytest.mark.parametrize("case", TINY_CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_tiny_preset_forward_backward(case):
    case = dict(case)
    torch.manual_seed(0)
    _fwd_bwd(build_model(case.pop("variant"), 4, preset="tiny", **case), batch=2)


@pytest.mark.parametrize("variant", VARIANTS)
def test_deterministic_with_a_seed(variant):
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = build_model(variant, 3, preset="tiny")
        outs.append(model(*_inputs(model.config, 2)))  # train mode: drop path draws from the seed too
    assert torch.equal(outs[0], outs[1])


def test_t2s_position_changes_the_function_not_the_parameters():
    torch.manual_seed(0)
    after = build_model("t2s", 3, preset="tiny").eval()
    before = build_model("t2s", 3, preset="tiny", t2s_position="before").eval()
    before.load_state_dict(after.state_dict())
    x = _inputs(after.config, 2)
    assert not torch.allclose(after(*x), before(*x))


def test_forward_features_maps():
    model = build_model("late", 3, preset="tiny").eval()
    feats = model.forward_features(*_inputs(model.config, 2))
    assert set(feats) == {"temporal", "spatial", "fused"}
    assert all(v.shape == (2, 4, 4, 128) for v in feats.values())
    torch.testing.assert_close(feats["fused"], feats["temporal"] + feats["spatial"])
    assert set(build_model("early", 3, preset="tiny").forward_features(*_inputs(model.config, 1))) == {"fused"}


def test_spatial_only_apex_sees_onset_plus_motion():
    torch.manual_seed(0)
    onset_m = build_model("spatial_only", 3, preset="tiny").eval()
    apex_m = build_model("spatial_only", 3, preset="tiny", spatial_input="apex").eval()
    apex_m.load_state_dict(onset_m.state_dict())
    onset, motion = _inputs(onset_m.config, 2)
    torch.testing.assert_close(apex_m(onset, motion), onset_m(onset + motion, torch.zeros_like(motion)))


def test_wrong_input_shape_says_what_to_do():
    model = build_model("late", 3, preset="tiny")
    with pytest.raises(ValueError, match=r"motion must have shape \(B, 3, 64, 64\), got \(1, 2, 64, 64\).*"
                                         r"motion_channels=2"):
        model(torch.zeros(1, 3, 64, 64), torch.zeros(1, 2, 64, 64))
    with pytest.raises(ValueError, match=r"onset must have shape \(B, 3, 64, 64\), got \(1, 3, 224, 224\)"):
        model(torch.zeros(1, 3, 224, 224), torch.zeros(1, 3, 64, 64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch.compile / AMP checks need a CUDA GPU")
@pytest.mark.parametrize("variant", VARIANTS)
def test_compile_and_amp_on_gpu(variant):
    torch.manual_seed(0)
    model = build_model(variant, 3, preset="small").cuda()
    onset, motion = (t.cuda() for t in _inputs(model.config, 4))
    eager = model.eval()(onset, motion)
    compiled = torch.compile(model)
    torch.testing.assert_close(compiled(onset, motion), eager, rtol=1e-3, atol=1e-3)
    model.train()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = compiled(onset, motion)
    assert torch.isfinite(out).all()
    out.float().sum().backward()
    assert all(p.grad is not None for p in model.parameters())
