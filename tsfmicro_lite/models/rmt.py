"""The temporal branch: a cut-down RMT ("Retentive Networks Meet Vision Transformers") on apex − onset.

Spec §2: a 4-conv stem to /2 (112×112×64 at 224 px), four stages of dims 64/128/256/512 and depths
1/1/2/1 with 2 heads, decomposed (row then column) decay in stages 1–2 and full 2-D decay in
stages 3–4, a conv3×3-s2 + BN downsampling between stages; output B×14×14×512 (channels last).
The token mixer is ``VisionRetention`` from ``retention.py`` (MaSA = the official softmax form, or
true retention). Taught stage by stage in notebook 03.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .layers import DropPath, official_init
from .retention import VisionRetention


def _to_cf(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def _to_cl(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)  # (B, C, H, W) -> (B, H, W, C)


class ConvStem(nn.Module):
    """Four 3×3 conv+BN layers, GELU between them (none after the last); only the first has stride 2.

    in_chans → dim/2 (s2) → dim/2 → dim → dim, so 3×224×224 becomes 112×112×64 (channels last).
    Official RMT downsamples by 4 here; TSFmicro by 2, which is why stage 1 runs on 12,544 tokens.

    Taught in notebooks/03_temporal_branch.ipynb, section "2. The stem: four 3×3 convs, one stride".
    """

    def __init__(self, in_chans: int, dim: int) -> None:
        super().__init__()
        hidden = dim // 2
        chans = [in_chans, hidden, hidden, dim, dim]
        layers: list[nn.Module] = []
        for i in range(4):
            layers += [nn.Conv2d(chans[i], chans[i + 1], 3, stride=2 if i == 0 else 1, padding=1),
                       nn.BatchNorm2d(chans[i + 1])]
            if i < 3:
                layers.append(nn.GELU())
        self.proj = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_cl(self.proj(x))  # (B, C, H, W) -> (B, H/2, W/2, dim)


class ConvFFN(nn.Module):
    """Linear d→3d, GELU, h + DWConv3×3(h) on the hidden tensor, Linear 3d→d (the RMT FFN)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, H, W, C)
        h = self.act(self.fc1(x))
        h = h + _to_cl(self.dwconv(_to_cf(h)))  # local mixing inside the FFN
        return self.fc2(h)


class RetBlock(nn.Module):
    """Pre-norm RMT block, no layer scale: x += CPE(x); x += DP(Retention(LN x)); x += DP(FFN(LN x)).

    Taught in notebooks/03_temporal_branch.ipynb, section "3. Four stages, by hand".
    """

    def __init__(self, dim: int, num_heads: int, *, decomposed: bool, heads_range: float, gamma_init: float,
                 mlp_ratio: float, drop_path: float, mixer: str, size: int | None = None) -> None:
        super().__init__()
        self.cpe = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)  # conditional position encoding
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.retention = VisionRetention(dim, num_heads, decomposed=decomposed, mixer=mixer,
                                         gamma_init=gamma_init, heads_range=heads_range, size=size)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.ffn = ConvFFN(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None) -> torch.Tensor:
        x = x + _to_cl(self.cpe(_to_cf(x)))                                            # (B, H, W, C)
        x = x + self.drop_path(self.retention(self.norm1(x), mode=mode, chunk_size=chunk_size))
        return x + self.drop_path(self.ffn(self.norm2(x)))


class Downsample(nn.Module):
    """Conv3×3 stride 2 + BN between stages: halves the grid, widens the channels (channels last in/out).

    Taught in notebooks/03_temporal_branch.ipynb, section "3. Four stages, by hand".
    """

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, out_dim, 3, stride=2, padding=1)
        self.norm = nn.BatchNorm2d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_cl(self.norm(self.conv(_to_cf(x))))


class RMTStage(nn.Module):
    """``depth`` RetBlocks at one resolution, then (except in the last stage) a Downsample.

    Taught in notebooks/03_temporal_branch.ipynb, section "3. Four stages, by hand".
    """

    def __init__(self, blocks: list[RetBlock], downsample: Downsample | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.downsample = downsample if downsample is not None else nn.Identity()

    def forward(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mode=mode, chunk_size=chunk_size)
        return self.downsample(x)


class RMT(nn.Module):
    """Temporal branch: ``motion`` (B, motion_channels, S, S) → (B, S/16, S/16, dim) channels last.

    ``with_stem=False`` builds the stages only (the ``early`` variant brings its own two stems).
    ``mode``/``chunk_size`` are passed to every retention layer (only ``mixer="retention"`` has
    recurrent and chunkwise forms; MaSA is parallel only, as in the official code). Each block's
    retention holds its decay masks and rotary tables as non-persistent buffers at the map size of
    ``config.img_size`` (S/2 in stage 1, halved per stage); another input size builds them at run time.

    Taught in notebooks/03_temporal_branch.ipynb, section "3. Four stages, by hand".
    """

    def __init__(self, config: ModelConfig, with_stem: bool = True) -> None:
        super().__init__()
        c = config
        self.stem = ConvStem(c.motion_channels, c.embed_dims[0]) if with_stem else None
        rates = torch.linspace(0, c.drop_path_rate, sum(c.depths)).tolist()  # 0, .025, .05, .075, .1
        stages, k = [], 0
        for i, (dim, depth) in enumerate(zip(c.embed_dims, c.depths)):
            side = c.img_size // 2 // 2**i                                   # 112, 56, 28, 14 at 224 px
            blocks = [RetBlock(dim, c.num_heads[i], decomposed=c.decomposed[i], heads_range=c.heads_ranges[i],
                               gamma_init=c.gamma_init, mlp_ratio=c.mlp_ratio, drop_path=rates[k + j],
                               mixer=c.mixer, size=side) for j in range(depth)]
            k += depth
            last = i == len(c.embed_dims) - 1
            stages.append(RMTStage(blocks, None if last else Downsample(dim, c.embed_dims[i + 1])))
        self.stages = nn.ModuleList(stages)
        self.apply(official_init)  # overrides the retention module's own init, as the official code does

    def forward_stages(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None,
                       ) -> dict[str, torch.Tensor]:
        """Every intermediate map, channels last, in order: ``stem``, ``stage1`` (blocks output, 112²×64 at
        224 px), ``down1`` (56²×128), ``stage2``, ``down2``, ``stage3``, ``down3``, ``stage4`` (14²×512).

        With ``with_stem=False``, ``x`` must already be the (B, S/2, S/2, embed_dims[0]) stem output.
        """
        out: dict[str, torch.Tensor] = {}
        if self.stem is not None:
            x = out["stem"] = self.stem(x)
        for i, stage in enumerate(self.stages):
            for block in stage.blocks:
                x = block(x, mode=mode, chunk_size=chunk_size)
            out[f"stage{i + 1}"] = x
            if isinstance(stage.downsample, Downsample):
                x = out[f"down{i + 1}"] = stage.downsample(x)
        return out

    def forward(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None) -> torch.Tensor:
        if self.stem is not None:
            x = self.stem(x)
        for stage in self.stages:
            x = stage(x, mode=mode, chunk_size=chunk_size)
        return x  # (B, S/16, S/16, dim)
