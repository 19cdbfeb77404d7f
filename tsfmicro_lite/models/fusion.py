"""Where and how the two streams meet: the shared fusion head and every variant of the paper's Fig. 1.

Spec §4. Every variant takes ``(onset, motion)`` — the ImageNet-normalised onset frame and the
temporal input (apex − onset by default) — and returns logits. ``forward_features`` returns the
maps a plot needs, all channels last (B, g, g, C): ``temporal``, ``spatial`` (when the variant has
them separately) and ``fused``, the map the head turns into a prediction. The names of the
variants are registered in ``factory.py``; notebook 05 compares them.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .layers import Swish, official_init
from .rmt import RMT, ConvStem
from .vit import Attention, ViT


class FusionHead(nn.Module):
    """Fig. 1(b) "fusion module": Linear dim→1024 per token, BN2d, Swish, global average pool, classifier.

    Taught in notebooks/05_fusion_variants.ipynb, section "1. "Where" and "how"".
    """

    def __init__(self, dim: int, hidden: int, num_classes: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, hidden)
        self.norm = nn.BatchNorm2d(hidden)
        self.act = Swish()
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:        # (B, g, g, C)
        x = self.proj(x).permute(0, 3, 1, 2)                    # -> (B, hidden, g, g)
        x = self.act(self.norm(x)).mean(dim=(2, 3))             # -> (B, hidden)
        return self.fc(x)                                       # -> (B, num_classes)


# ---- fusion operators of the late variant (all: two (B, g, g, C) maps -> one) ----
class AddFuse(nn.Module):
    """T + S, the paper's parallel fusion: no parameters.

    Taught in notebooks/05_fusion_variants.ipynb, section "1. "Where" and "how"".
    """

    def forward(self, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return t + s


class ConcatFuse(nn.Module):
    """Linear(2C → C) on [T, S]: a learned mix, per channel, shared by all tokens.

    Taught in notebooks/05_fusion_variants.ipynb, section "1. "Where" and "how"".
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(2 * dim, dim)

    def forward(self, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.proj(torch.cat([t, s], dim=-1))


class GateFuse(nn.Module):
    """g·T + (1 − g)·S with g = sigmoid(Linear[T, S]): each token and channel chooses its stream.

    Taught in notebooks/05_fusion_variants.ipynb, section "1. "Where" and "how"".
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gate = nn.Linear(2 * dim, dim)

    def forward(self, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.gate(torch.cat([t, s], dim=-1)))
        return g * t + (1 - g) * s


class CrossAttentionFuse(nn.Module):
    """T + CrossAttn(q = LN T, k = v = LN S): each temporal token looks up the spatial tokens it needs.

    Taught in notebooks/05_fusion_variants.ipynb, section "1. "Where" and "how"".
    """

    def __init__(self, dim: int, num_heads: int, fused: bool = True) -> None:
        super().__init__()
        self.norm_t = nn.LayerNorm(dim, eps=1e-6)
        self.norm_s = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, fused=fused)

    def forward(self, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        tt, ss = t.flatten(1, 2), s.flatten(1, 2)               # (B, g, g, C) -> (B, N, C)
        out = tt + self.attn(self.norm_t(tt), self.norm_s(ss))
        return out.view_as(t)                                   # -> (B, g, g, C)


def make_fuse_op(config: ModelConfig) -> nn.Module:
    op = config.fusion_op
    if op == "add":
        return AddFuse()
    if op == "concat":
        return ConcatFuse(config.dim)
    if op == "gate":
        return GateFuse(config.dim)
    if op == "cross_attention":
        return CrossAttentionFuse(config.dim, config.vit_heads, config.fused_attention)
    raise ValueError(f"fusion_op={op!r} is not one of ['add', 'concat', 'gate', 'cross_attention']")


def to_cl(x: torch.Tensor) -> torch.Tensor:
    """A feature map in the channels-last layout the fusion works in (a view; ``sequence.py`` uses it too)."""
    return x.permute(0, 2, 3, 1)  # (B, C, g, g) -> (B, g, g, C)


# ---- the variants ----
class TSFModel(nn.Module):
    """Common skeleton: check the inputs, compute the fused map, apply the shared head.

    Taught in notebooks/05_fusion_variants.ipynb, section "5. The fused map of one clip, per variant".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.head = FusionHead(config.dim, config.head_hidden, config.num_classes)
        self.head.apply(official_init)

    def forward_features(self, onset: torch.Tensor, motion: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def check_inputs(self, onset: torch.Tensor, motion: torch.Tensor) -> None:
        """Shapes must be (B, onset_channels, S, S) and (B, motion_channels, S, S) with S = img_size."""
        c, S = self.config, self.config.img_size
        for name, x, ch in (("onset", onset, c.onset_channels), ("motion", motion, c.motion_channels)):
            if x.ndim != 4 or x.shape[1] != ch or x.shape[2] != S or x.shape[3] != S:
                raise ValueError(
                    f"{type(self).__name__} ({c.variant}, img_size={S}): {name} must have shape "
                    f"(B, {ch}, {S}, {S}), got {tuple(x.shape)}. Prepare inputs at the model's size "
                    f"(model.config.img_size) or build with img_size={x.shape[-1]}"
                    + (f", motion_channels={x.shape[1]}" if name == "motion" and x.ndim == 4 else "") + ".")
        if onset.shape[0] != motion.shape[0]:
            raise ValueError(f"onset and motion batch sizes differ: {onset.shape[0]} vs {motion.shape[0]}")

    def forward(self, onset: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        self.check_inputs(onset, motion)
        return self.head(self.forward_features(onset, motion)["fused"])


class LateFusion(TSFModel):
    """(f) T-S (late), the proposed parallel fusion: RMT(motion) ⊕ ViT(onset) at g×g×C, then the head.

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.temporal = RMT(config)
        self.spatial = ViT(config)
        self.fuse = make_fuse_op(config)
        self.fuse.apply(official_init)

    def forward_features(self, onset, motion):
        t = self.temporal(motion)                   # (B, g, g, C)
        s = to_cl(self.spatial(onset))              # (B, C, g, g) -> (B, g, g, C)
        return {"temporal": t, "spatial": s, "fused": self.fuse(t, s)}


class EarlyFusion(TSFModel):
    """(c) early: two conv stems (onset, motion) summed at (S/2)²×C₀, then the RMT stages.

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.stem_onset = ConvStem(config.onset_channels, config.embed_dims[0])
        self.stem_motion = ConvStem(config.motion_channels, config.embed_dims[0])
        self.temporal = RMT(config, with_stem=False)

    def forward_features(self, onset, motion):
        x = self.stem_onset(onset) + self.stem_motion(motion)   # (B, S/2, S/2, C0)
        return {"fused": self.temporal(x)}


class T2SFusion(TSFModel):
    """(d) T to S: RMT tokens added into the ViT, before its blocks (Fig. 1(d)) or after them (official code).

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.temporal = RMT(config)
        self.spatial = ViT(config)

    def forward_features(self, onset, motion):
        t = self.temporal(motion)                   # (B, g, g, C)
        x = self.spatial.embed(onset)               # (B, N, C) tokens + position
        if self.config.t2s_position == "before":
            x = x + t.flatten(1, 2)                 # (B, g, g, C) -> (B, N, C)
        for block in self.spatial.blocks:
            x = block(x)
        if self.config.t2s_position == "after":
            x = x + t.flatten(1, 2)
        fused = self.spatial.norm(x).unflatten(1, (self.config.grid, self.config.grid))  # -> (B, g, g, C)
        return {"temporal": t, "fused": fused}


class Upsample(nn.Module):
    """Three ConvTranspose2d(k4, s2, p1), no norm or activation: (B, C, g, g) → (B, C₀, 8g, 8g)."""

    def __init__(self, dims: tuple[int, ...]) -> None:  # e.g. (512, 256, 128, 64)
        super().__init__()
        self.layers = nn.Sequential(*(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)
                                      for a, b in zip(dims[:-1], dims[1:])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class S2TFusion(TSFModel):
    """(e) S to T: the ViT map, upsampled ×8, added to the RMT stem output before stage 1.

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        d = config.embed_dims
        self.temporal = RMT(config)
        self.spatial = ViT(config)
        self.upsample = Upsample((d[3], d[2], d[1], d[0]))

    def forward_features(self, onset, motion):
        s = self.spatial(onset)                     # (B, C, g, g)
        up = self.upsample(s)                       # (B, C0, S/2, S/2)
        x = self.temporal.stem(motion) + to_cl(up)  # (B, S/2, S/2, C0)
        for stage in self.temporal.stages:
            x = stage(x)
        return {"spatial": to_cl(s), "fused": x}


class TemporalOnly(TSFModel):
    """Ablation: the RMT branch alone on the motion input, then the same head.

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.temporal = RMT(config)

    def forward_features(self, onset, motion):
        t = self.temporal(motion)
        return {"temporal": t, "fused": t}


class SpatialOnly(TSFModel):
    """Ablation: the ViT alone, then the same head; on the onset (default) or the apex (official script).

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.spatial = ViT(config)

    def forward_features(self, onset, motion):
        frame = onset if self.config.spatial_input == "onset" else onset + motion  # apex = onset + (apex − onset)
        s = to_cl(self.spatial(frame))
        return {"spatial": s, "fused": s}
