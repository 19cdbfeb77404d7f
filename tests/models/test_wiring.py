"""Wiring traced from the models and their cost (tsfmicro_lite.models.wiring)."""
from __future__ import annotations

import pytest

from tsfmicro_lite.models import build_model, count_parameters
from tsfmicro_lite.models.wiring import model_cost, trace_wiring, variant_stages


def test_wiring_is_traced_from_the_model():
    late = trace_wiring(build_model("late", 3, preset="tiny"))
    assert ("temporal.stages.3", "fuse") in late.edges and ("spatial.norm", "fuse") in late.edges
    after = dict(variant_stages("t2s"))
    before = trace_wiring(build_model("t2s", 3, preset="tiny", t2s_position="before"))
    # before: the RMT tokens enter ahead of the first ViT block; after: ahead of the final LN
    assert any(b == "spatial.blocks.0" for a, b in before.edges if a.startswith("add"))
    assert after["fusion head (b)"] == (1, 5)
    s2t = dict(variant_stages("s2t", preset="paper"))
    assert s2t["3× ConvTranspose"] == (1, 64, 112, 112) and s2t["RMT stage 4"] == (1, 14, 14, 512)


def test_model_cost_counts_attention_flops_and_restores_fused_paths():
    model = build_model("spatial_only", 3, preset="tiny")
    cost = model_cost(model)
    assert cost["params"] == count_parameters(model)
    c, n = model.config, model.config.grid ** 2
    # ViT blocks: qkv, proj, MLP per token, plus q·kᵀ and attn·v (2 FLOPs per multiply-add)
    per_block = 2 * n * (4 * c.dim * c.dim + 2 * c.dim * int(c.dim * c.vit_mlp_ratio)) + 2 * 2 * n * n * c.dim
    head = 2 * n * c.dim * c.head_hidden + 2 * c.head_hidden * 3
    patch = 2 * n * 3 * c.dim
    assert cost["gflops_fwd"] * 1e9 == pytest.approx(c.vit_depth * per_block + head + patch, rel=0.01)
    assert all(b.attn.fused for b in model.spatial.blocks)
