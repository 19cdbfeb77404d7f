"""The spatial branch: a shallow ViT on a (img_size/16)² onset thumbnail (MMNet's "Position Calibration Module").

Spec §3: resize the onset to 14×14 inside the model, patch size 1 (Conv2d k1, 3→512), a learned
196×512 position embedding, 2 pre-norm blocks with 4 heads, MLP ratio 4, qkv bias, LN eps 1e-6,
GELU, a final LN; output B×512×14×14. The attention is written here (no timm), with the fused
``F.scaled_dot_product_attention`` path and the written-out softmax path side by side.
Taught from the patch embedding up in notebook 04.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .layers import DropPath, official_init


class Attention(nn.Module):
    """Multi-head softmax attention with one fused qkv Linear (bias on, as in the official ViT).

    ``forward(x)`` is self-attention; ``forward(x, context)`` takes queries from ``x`` and keys/values
    from ``context`` (the ``cross_attention`` fusion op reuses this). ``fused=True`` calls
    ``F.scaled_dot_product_attention``; ``fused=False`` writes softmax(q·kᵀ/√d)·v out. Both give the
    same numbers (tests/test_vit.py). Set ``keep_attention=True`` to store the last attention
    weights in ``self.attention`` (B, heads, N_q, N_k); that forces the written-out path.

    Taught in notebooks/04_spatial_branch.ipynb, section "4. Attention, written out and fused".
    """

    def __init__(self, dim: int, num_heads: int, fused: bool = True) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"Attention: dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads, self.head_dim, self.fused = num_heads, dim // num_heads, fused
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.keep_attention = False
        self.attention: torch.Tensor | None = None

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        B, N, C = t.shape
        return t.view(B, N, self.num_heads, self.head_dim).transpose(1, 2)  # (B, N, C) -> (B, h, N, d)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        B, N, C = x.shape
        if context is None:
            q, k, v = self.qkv(x).chunk(3, dim=-1)                       # 3 × (B, N, C)
        else:
            w_q, w_kv = self.qkv.weight.split([C, 2 * C])
            b_q, b_kv = self.qkv.bias.split([C, 2 * C])
            q = F.linear(x, w_q, b_q)                                    # (B, N, C)
            k, v = F.linear(context, w_kv, b_kv).chunk(2, dim=-1)        # 2 × (B, M, C)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)        # (B, h, N|M, d)
        if self.fused and not self.keep_attention:
            out = F.scaled_dot_product_attention(q, k, v)                # (B, h, N, d)
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1)                # (B, h, N, M)
            attn = attn.softmax(dim=-1)
            if self.keep_attention:
                self.attention = attn.detach()
            out = attn @ v                                               # (B, h, N, d)
        out = out.transpose(1, 2).reshape(B, N, C)                       # (B, h, N, d) -> (B, N, C)
        return self.proj(out)


class Mlp(nn.Module):
    """Linear d→4d, GELU, Linear 4d→d."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x += DP(Attn(LN x)); x += DP(MLP(LN x)); LN eps 1e-6."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0,
                 fused: bool = True) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, fused=fused)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, C)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class Thumbnail(nn.Module):
    """Resize the onset to grid×grid inside the model: bilinear, antialias on by default.

    This matches torchvision ``Resize([14, 14])`` on a tensor in torchvision ≥ 0.17 (antialias
    default True); which version the authors ran is unverified, so ``antialias`` is a config field.

    Taught in notebooks/04_spatial_branch.ipynb, section "1. Why a 14×14 thumbnail — what it keeps and what it loses".
    """

    def __init__(self, grid: int, antialias: bool = True) -> None:
        super().__init__()
        self.grid, self.antialias = grid, antialias

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) -> (B, 3, grid, grid)
        return F.interpolate(x, size=(self.grid, self.grid), mode="bilinear", align_corners=False,
                             antialias=self.antialias)

    def extra_repr(self) -> str:
        return f"grid={self.grid}, antialias={self.antialias}"


class PatchEmbed(nn.Module):
    """Patch size 1: a Conv2d k1 (= a Linear per pixel) from 3 colours to ``dim``; tokens in raster order.

    Taught in notebooks/04_spatial_branch.ipynb, section "2. Patch embedding: a 1×1 conv is a Linear per pixel".
    """

    def __init__(self, in_chans: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, C, g, g) -> (B, g·g, C)


class ViT(nn.Module):
    """Spatial branch: onset (B, 3, S, S) → (B, dim, S/16, S/16), as the official module returns it.

    The pieces are exposed for the ``t2s`` variant and for notebook 04: ``embed`` (thumbnail, patch
    embedding, + position embedding → tokens), ``blocks``, ``norm``, and ``tokens_to_map``.
    The official cls token and classification head are never used there and are left out.

    Taught in notebooks/04_spatial_branch.ipynb, section "5. The whole branch".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config
        self.grid = c.grid
        self.thumbnail = Thumbnail(c.grid, c.vit_antialias)
        self.patch_embed = PatchEmbed(c.onset_channels, c.dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, c.grid * c.grid, c.dim))
        self.blocks = nn.ModuleList(Block(c.dim, c.vit_heads, c.vit_mlp_ratio, fused=c.fused_attention)
                                    for _ in range(c.vit_depth))
        self.norm = nn.LayerNorm(c.dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.apply(official_init)

    def embed(self, onset: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) → (B, g·g, dim) tokens: thumbnail, patch embedding, plus the learned position."""
        return self.patch_embed(self.thumbnail(onset)) + self.pos_embed

    def tokens_to_map(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens.transpose(1, 2).unflatten(2, (self.grid, self.grid))  # (B, N, C) -> (B, C, g, g)

    def forward(self, onset: torch.Tensor) -> torch.Tensor:
        x = self.embed(onset)
        for block in self.blocks:
            x = block(x)
        return self.tokens_to_map(self.norm(x))

    @torch.no_grad()
    def attention_maps(self, onset: torch.Tensor) -> list[torch.Tensor]:
        """Softmax weights of every block, each (B, heads, N, N), from one forward pass (notebook 04)."""
        attns = [b.attn for b in self.blocks]
        for a in attns:
            a.keep_attention = True
        try:
            self(onset)
            return [a.attention for a in attns]
        finally:
            for a in attns:
                a.keep_attention, a.attention = False, None
