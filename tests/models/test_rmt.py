"""The RMT temporal branch against the official configuration (spec §2)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from tsfmicro_lite.models import build_model, count_parameters, get_preset
from tsfmicro_lite.models.layers import DropPath
from tsfmicro_lite.models.rmt import RMT, ConvStem, RetBlock


@pytest.fixture(scope="module")
def paper_rmt() -> RMT:
    torch.manual_seed(0)
    return RMT(get_preset("paper")).eval()


def test_every_stage_shape_at_224(paper_rmt):
    with torch.no_grad():
        maps = paper_rmt.forward_stages(torch.randn(1, 3, 224, 224))
    shapes = {k: tuple(v.shape) for k, v in maps.items()}
    assert shapes == {
        "stem": (1, 112, 112, 64),
        "stage1": (1, 112, 112, 64), "down1": (1, 56, 56, 128),
        "stage2": (1, 56, 56, 128), "down2": (1, 28, 28, 256),
        "stage3": (1, 28, 28, 256), "down3": (1, 14, 14, 512),
        "stage4": (1, 14, 14, 512),
    }
    with torch.no_grad():
        assert torch.equal(paper_rmt(torch.zeros(1, 3, 224, 224)),
                           paper_rmt.forward_stages(torch.zeros(1, 3, 224, 224))["stage4"])


def test_stem_only_first_conv_strided_and_gelu_between():
    stem = ConvStem(3, 64)
    convs = [m for m in stem.proj if isinstance(m, nn.Conv2d)]
    assert [c.stride for c in convs] == [(2, 2), (1, 1), (1, 1), (1, 1)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 32), (32, 32), (32, 64), (64, 64)]
    assert [type(m).__name__ for m in stem.proj][-1] == "BatchNorm2d"  # no activation after the last conv
    assert sum(isinstance(m, nn.GELU) for m in stem.proj) == 3


def test_official_structure(paper_rmt):
    blocks = [b for s in paper_rmt.stages for b in s.blocks]
    assert len(blocks) == 5
    assert [b.drop_path.p for b in blocks] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1])
    assert [b.retention.decomposed for b in blocks] == [True, True, False, False, False]
    assert [b.retention.num_heads for b in blocks] == [2] * 5
    gammas = [b.retention.gammas.tolist() for b in blocks]
    assert gammas[0] == pytest.approx([0.75, 0.9375]) and gammas[1] == pytest.approx([0.75, 0.9375])
    assert gammas[2] == pytest.approx([0.75, 0.96875]) and gammas[4] == pytest.approx([0.75, 0.96875])
    assert [b.ffn.fc1.out_features for b in blocks] == [192, 384, 768, 768, 1536]  # MLP ratio 3
    assert all(b.norm1.eps == 1e-6 and b.norm2.eps == 1e-6 for b in blocks)
    assert all(b.cpe.groups == b.cpe.in_channels and b.cpe.kernel_size == (3, 3) for b in blocks)


def test_official_init_overrides_every_linear(paper_rmt):
    linears = [m for m in paper_rmt.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 5 * 6  # q, k, v, out_proj, fc1, fc2 per block
    w = torch.cat([m.weight.flatten() for m in linears])
    assert w.std().item() == pytest.approx(0.02, rel=0.05)
    assert w.mean().item() == pytest.approx(0.0, abs=1e-3)  # (truncation is at ±2 absolute: ~100 std)
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)
    norms = [m for m in paper_rmt.modules() if isinstance(m, nn.LayerNorm)]
    assert all(torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in norms)


def test_parameter_count_matches_official_rmt_plus_head():
    # spec §3: "RMT plus head: 6.38 M" (5 classes) = temporal branch + the 1024-d fusion head.
    n = count_parameters(build_model("temporal_only", 5))
    assert n == 6_381_221
    assert abs(n / 6.38e6 - 1) < 0.005


def test_retention_mixer_forms_agree_through_the_whole_branch():
    torch.manual_seed(0)
    rmt = RMT(get_preset("tiny").replace(mixer="retention", img_size=32)).double().eval()
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(rmt(x, mode="recurrent"), rmt(x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("chunk_size", [3, 8])
def test_decomposed_block_chunkwise_equals_parallel(chunk_size):
    torch.manual_seed(0)
    block = RetBlock(32, 2, decomposed=True, heads_range=4.0, gamma_init=2.0, mlp_ratio=3.0, drop_path=0.0,
                     mixer="retention").double().eval()
    x = torch.randn(2, 10, 12, 32, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(block(x, mode="chunkwise", chunk_size=chunk_size), block(x),
                                   rtol=1e-9, atol=1e-9)


def test_masa_has_no_recurrent_form():
    rmt = RMT(get_preset("tiny"))
    with pytest.raises(ValueError, match="only mode='parallel'"):
        rmt(torch.randn(1, 3, 64, 64), mode="recurrent")


def test_rmt_gradients_reach_every_parameter():
    torch.manual_seed(0)
    rmt = RMT(get_preset("tiny"))
    rmt(torch.randn(2, 3, 64, 64)).square().mean().backward()
    missing = [n for n, p in rmt.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"no finite gradient for {missing}"


def test_drop_path_is_per_sample_and_unbiased():
    dp = DropPath(0.5)
    x = torch.ones(4000, 3)
    y = dp.train()(x)
    rows = y[:, 0]
    assert set(rows.unique().tolist()) <= {0.0, 2.0}            # whole samples dropped, survivors scaled
    assert torch.all(y == y[:, :1])
    assert rows.mean().item() == pytest.approx(1.0, abs=0.1)    # expectation kept
    assert torch.equal(dp.eval()(x), x)
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        DropPath(1.0)
