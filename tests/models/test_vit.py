"""The shallow ViT spatial branch (spec §3): shapes, parameter count, attention paths that agree."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tsfmicro_lite.models import count_parameters, get_preset
from tsfmicro_lite.models.vit import Attention, Thumbnail, ViT


@pytest.fixture(scope="module")
def paper_vit() -> ViT:
    torch.manual_seed(0)
    return ViT(get_preset("paper")).eval()


def test_output_is_512_by_14_by_14_at_224(paper_vit):
    with torch.no_grad():
        out = paper_vit(torch.randn(2, 3, 224, 224))
    assert out.shape == (2, 512, 14, 14)
    tokens = paper_vit.embed(torch.randn(2, 3, 224, 224))
    assert tokens.shape == (2, 196, 512)


def test_parameter_count_matches_official(paper_vit):
    # spec §3: ViT 6.41 M. Ours omits the official unused cls token (512) and head (Linear 512→5, 2,565):
    # with them it would be 6,411,269; both round to 6.41 M.
    n = count_parameters(paper_vit)
    assert n == 6_408_192
    assert abs(n / 6.41e6 - 1) < 0.005 and abs((n + 512 + 2565) / 6.41e6 - 1) < 0.005


def test_official_structure(paper_vit):
    assert paper_vit.patch_embed.proj.kernel_size == (1, 1)
    assert paper_vit.pos_embed.shape == (1, 196, 512)
    assert paper_vit.pos_embed.std().item() == pytest.approx(0.02, rel=0.1)
    assert len(paper_vit.blocks) == 2
    b = paper_vit.blocks[0]
    assert b.attn.num_heads == 4 and b.attn.head_dim == 128 and b.attn.qkv.bias is not None
    assert b.mlp.fc1.out_features == 2048 and b.norm1.eps == 1e-6 and paper_vit.norm.eps == 1e-6


@pytest.mark.parametrize("cross", [False, True])
def test_fused_and_written_out_attention_agree(cross):
    torch.manual_seed(0)
    attn = Attention(64, 4, fused=True).double()
    x = torch.randn(3, 10, 64, dtype=torch.float64)
    ctx = torch.randn(3, 7, 64, dtype=torch.float64) if cross else None
    fused = attn(x, ctx)
    attn.fused = False
    torch.testing.assert_close(attn(x, ctx), fused, rtol=1e-10, atol=1e-10)


def test_written_out_attention_is_textbook_softmax():
    torch.manual_seed(0)
    attn = Attention(8, 1, fused=False).double()
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    q, k, v = attn.qkv(x).chunk(3, dim=-1)
    expected = attn.proj(torch.softmax(q @ k.transpose(1, 2) / 8 ** 0.5, dim=-1) @ v)
    torch.testing.assert_close(attn(x), expected)


def test_attention_maps_are_row_stochastic_and_leave_no_state(paper_vit):
    maps = paper_vit.attention_maps(torch.randn(1, 3, 224, 224))
    assert len(maps) == 2 and maps[0].shape == (1, 4, 196, 196)
    torch.testing.assert_close(maps[1].sum(-1), torch.ones(1, 4, 196))
    assert all(not b.attn.keep_attention and b.attn.attention is None for b in paper_vit.blocks)


def test_thumbnail_is_antialiased_bilinear():
    x = torch.randn(1, 3, 224, 224)
    small = Thumbnail(14, antialias=True)(x)
    torch.testing.assert_close(small, F.interpolate(x, size=(14, 14), mode="bilinear", antialias=True))
    assert not torch.allclose(small, Thumbnail(14, antialias=False)(x))
    # antialias averages ~16×16 pixels per output: noise shrinks far more than with plain bilinear
    assert small.std() < 0.5 * Thumbnail(14, antialias=False)(x).std()


def test_head_count_must_divide_dim():
    with pytest.raises(ValueError, match=r"dim \(10\) must be divisible by num_heads \(4\)"):
        Attention(10, 4)


def test_gradient_reaches_position_embedding():
    vit = ViT(get_preset("tiny"))
    vit(torch.randn(2, 3, 64, 64)).sum().backward()
    missing = [n for n, p in vit.named_parameters() if p.grad is None]
    assert not missing and vit.pos_embed.grad.abs().sum() > 0
