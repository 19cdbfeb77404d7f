"""tsfmicro_lite.viz.models: the numbers notebook 03's sentences are printed from."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from tsfmicro_lite.models import build_model
from tsfmicro_lite.models.wiring import rmt_part_cost, rmt_parts
from tsfmicro_lite.viz.models import map_motion_summary, map_motion_text, top_share


def test_top_share_is_the_fraction_for_a_flat_input_and_one_for_a_single_spike():
    assert abs(top_share(torch.ones(100), 0.1) - 0.1) < 1e-6
    spike = torch.zeros(100)
    spike[7] = -3.0                      # magnitudes count, not signs
    assert top_share(spike, 0.1) == 1.0


def test_map_motion_summary_follows_the_motion_and_measures_the_border():
    motion = torch.zeros(1, 8, 8)
    motion[0, 2:4, 4:6] = 1.0            # one moving patch
    energy = torch.nn.functional.adaptive_avg_pool2d(motion[None], (4, 4))[0, 0]
    follows = energy[..., None].expand(4, 4, 3)[None]        # (B, g, g, C): channel energy ∝ pooled motion
    ring = torch.ones(4, 4)
    ring[1:-1, 1:-1] = 0
    border = (ring + 0.1 * torch.rand(4, 4))[..., None].expand(4, 4, 3)[None]   # loud border, quiet face
    table = map_motion_summary({"follows": follows, "border": border}, motion)
    assert table.loc["follows", "corr_motion"] > 0.999
    assert table.loc["border", "border_ratio"] > 5 and table.loc["border", "border_z"] > 5
    text = map_motion_text(table)
    assert "(follows)" in text and "in border" in text


def test_rmt_part_cost_parts_add_up_to_the_branch():
    model = build_model("late", 3, preset="micro").eval()
    x = torch.zeros(1, 3, model.config.img_size, model.config.img_size)
    parts = rmt_part_cost(model.temporal, x)
    assert list(parts) == list(rmt_parts(model.temporal)) and all(v > 0 for v in parts.values())
    assert list(parts)[0] == "stem" and "stage 1 blocks" in parts and "downsample 1" in parts
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        h = model.temporal.stem(x)
        for stage in model.temporal.stages:
            h = stage.downsample(torch.nn.Sequential(*stage.blocks)(h))
    assert abs(sum(parts.values()) - counter.get_total_flops() / 1e9) < 1e-6 * max(1.0, sum(parts.values()))
