"""Pictures of the models: wiring diagrams traced from a variant, feature maps, attention, training curves.

Used by notebooks 03 (RMT stages), 04 (ViT attention) and 05 (fusion variants, and its fusion
explorer, ``explore.fusion``). Every function
draws on a given ``ax`` (or makes a figure) and returns the figure, so notebooks can save it with
``figures_dir()``.
"""
from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyBboxPatch

from ..models.wiring import Wiring

LANES = {"spatial": 2.0, "fusion": 1.0, "temporal": 0.0}
STEP = 1.2  # horizontal distance between two depths of a wiring diagram
LANE_COLOURS = {"spatial": "#cfe2f3", "fusion": "#fce5cd", "temporal": "#d9ead3"}


def _shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape[1:])  # drop the batch axis


def draw_wiring(wiring: Wiring, ax: plt.Axes | None = None, title: str | None = None,
                fontsize: float = 10, depth_span: int | None = None) -> plt.Figure:
    """Boxes (module, output shape) on three lanes — spatial, fusion, temporal — with the traced data flow.

    The x position is the node's depth in the graph (longest path from an input), so where the two
    streams meet is where arrows cross lanes: the "where" of the paper's "where-how" fusion. Box labels are
    set at ``fontsize`` points and wrapped to two short lines (lanes and title a little larger), so a figure
    of every variant about 17 in wide, saved at 110 dpi, has text about 15 px high. ``depth_span`` (the
    largest depth among the diagrams of one figure) puts every row on the same horizontal scale.
    Used in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models",
    and by its fusion explorer (section "Explore: pick a variant").
    """
    depth = max(max(n.depth for n in wiring.nodes) + 1, depth_span or 0)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.05 * depth + 1.5, 3.2))
    # several nodes can share (depth, lane): stack them a little
    seen: dict[tuple[int, str], int] = {}
    pos: dict[str, tuple[float, float]] = {}
    for n in wiring.nodes:
        k = seen.get((n.depth, n.lane), 0)
        seen[(n.depth, n.lane)] = k + 1
        pos[n.name] = (n.depth * STEP, LANES[n.lane] + 0.68 * k)
    half = {n.name: 0.19 if n.label in ("+", "×", "concat") else 0.56 for n in wiring.nodes}
    for a, b in wiring.edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate("", xy=(x1 - half[b], y1), xytext=(x0 + half[a], y0),
                    arrowprops=dict(arrowstyle="->", color="0.3", lw=1.1,
                                    connectionstyle="arc3,rad=0.0" if y0 == y1 else "arc3,rad=-0.15"))
    for n in wiring.nodes:
        x, y = pos[n.name]
        merge = n.label in ("+", "×", "concat")
        w, h = (0.38, 0.34) if merge else (1.12, 0.66)
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.06",
                                    fc="#f4cccc" if merge else LANE_COLOURS[n.lane], ec="0.35", lw=0.8))
        text = n.label if merge else f"{textwrap.fill(n.label, 13, break_long_words=False)}\n{_shape_text(n.shape)}"
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize if not merge else fontsize * 1.5,
                linespacing=1.05)
    for lane, y in LANES.items():
        ax.text(-0.7, y, lane, ha="right", va="center", fontsize=fontsize * 1.1, color="0.3", style="italic")
    ax.set_xlim(-1.9, (depth - 1) * STEP + 0.6)
    ax.set_ylim(-0.4, 3.1)
    ax.axis("off")
    ax.set_title(title or f"{wiring.variant}: traced wiring (shapes without the batch axis)", fontsize=fontsize * 1.25)
    return ax.figure


def channel_energy(fmap: torch.Tensor) -> np.ndarray:
    """(H, W, C) channels-last map → (H, W) L2 norm over channels: where the map is "active".

    Drawn by :func:`plot_feature_maps` (notebooks 03 and 05).
    """
    return fmap.detach().float().norm(dim=-1).cpu().numpy()


def top_share(values: torch.Tensor, fraction: float = 0.1) -> float:
    """Share of ``values.abs().sum()`` carried by the ``fraction`` of entries with the largest magnitude.

    ``fraction`` itself for a perfectly spread-out input, close to 1 for a few sharp patches.
    Used in notebooks/03_temporal_branch.ipynb, section "1. The input: apex − onset".
    """
    v = values.detach().float().abs().flatten().sort(descending=True).values
    return float(v[: max(1, int(fraction * v.numel()))].sum() / v.sum().clamp_min(1e-12))


def map_motion_summary(maps: Mapping[str, torch.Tensor], motion: torch.Tensor, index: int = 0):
    """Per map: how its channel energy follows the input motion, and how much sits on the grid's border.

    ``maps`` are channels-last batched maps (as :func:`plot_feature_maps` draws them), ``motion`` the (C, S, S)
    input. Returns a pandas DataFrame, one row per map: ``corr_motion``, the Pearson correlation of the map's
    channel energy with |motion| (summed over channels, average-pooled to the map's grid), and ``border_ratio``,
    the mean energy of the outermost ring of tokens over the mean energy of the interior (> 1: the border is
    louder than the face), and ``border_z``, the same difference in units of the interior's spatial standard
    deviation (how far the border stands out from the variation inside the face).
    Used in notebooks/03_temporal_branch.ipynb, section "3. Four stages, by hand".
    """
    import pandas as pd  # lazy: pandas is only needed for this table, not for the figures of this module

    target = motion.detach().float().abs().sum(0)[None, None]
    rows = {}
    for name, fmap in maps.items():
        energy = channel_energy(fmap[index])
        h, w = energy.shape
        pooled = torch.nn.functional.adaptive_avg_pool2d(target, (h, w))[0, 0].cpu().numpy()
        ring = np.ones((h, w), bool)
        ring[1:-1, 1:-1] = False
        inner = energy[~ring]
        rows[name] = {"corr_motion": float(np.corrcoef(energy.ravel(), pooled.ravel())[0, 1]),
                      "border_ratio": float(energy[ring].mean() / inner.mean()),
                      "border_z": float((energy[ring].mean() - inner.mean()) / (inner.std() or 1.0))}
    return pd.DataFrame.from_dict(rows, orient="index")


def map_motion_text(summary) -> str:
    """One line that reads a :func:`map_motion_summary` table: the range of ``corr_motion`` and of the border's
    standing out, with the maps they come from, so the notebook's words follow this run's numbers.
    Used in notebooks/03_temporal_branch.ipynb, section "3. Four stages, by hand".
    """
    corr, z, ratio = summary["corr_motion"], summary["border_z"].abs(), summary["border_ratio"]
    return (f"energy vs |motion|: r from {corr.min():+.2f} ({corr.idxmin()}) to {corr.max():+.2f} ({corr.idxmax()}); "
            f"the border ring's mean energy is within {100 * (ratio - 1).abs().max():.0f} % of the interior's, "
            f"yet {z.max():.1f} interior standard deviations away from it in {z.idxmax()} "
            f"(least: {z.min():.1f} in {z.idxmin()})")


def plot_feature_maps(maps: Mapping[str, torch.Tensor], n_channels: int = 4, index: int = 0,
                      cmap: str = "magma") -> plt.Figure:
    """One row per map (channels last, batched): its channel energy and its first ``n_channels`` channels.

    Each row has two colour bars: the energy's (‖·‖ over channels, ≥ 0) and one shared by its channel maps
    (a symmetric scale around 0, so blue is negative and red positive in every panel of the row). Axes are
    the map's token grid (row, column), tick-labelled.
    Used in notebooks/03_temporal_branch.ipynb, section "3. Four stages, by hand", and
    notebooks/05_fusion_variants.ipynb, section "5. The fused map of one clip, per variant".
    """
    fig, axes = plt.subplots(len(maps), n_channels + 1, figsize=(2.3 * (n_channels + 1) + 0.8, 2.0 * len(maps)),
                             squeeze=False, layout="constrained")
    for i, (row, (name, fmap)) in enumerate(zip(axes, maps.items())):
        f = fmap[index].detach().float().cpu()
        energy = row[0].imshow(channel_energy(f), cmap=cmap, vmin=0)
        fig.colorbar(energy, ax=row[0], fraction=0.05, pad=0.02).ax.tick_params(labelsize=7)
        row[0].set_ylabel(f"{name}\n{_shape_text(fmap.shape)}\ntoken row", fontsize=8)
        row[0].set_title("‖·‖ over channels" if i == 0 else "", fontsize=8)
        top = float(f[..., :n_channels].abs().max()) or 1.0
        for c in range(n_channels):
            im = row[c + 1].imshow(f[..., c].numpy(), cmap="coolwarm", vmin=-top, vmax=top)
            if i == 0:
                row[c + 1].set_title(f"channel {c}", fontsize=8)
        if n_channels:
            fig.colorbar(im, ax=list(row[1:]), fraction=0.02, pad=0.02, label="value").ax.tick_params(labelsize=7)
        h, w = f.shape[:2]
        for a in row:
            a.set_xticks(range(0, w, max(1, w // 4)))
            a.set_yticks(range(0, h, max(1, h // 4)))
            a.tick_params(labelsize=6, length=2)
        if i == len(maps) - 1:
            for a in row:
                a.set_xlabel("token column", fontsize=8)
    return fig


def plot_attention(image: np.ndarray, attention: torch.Tensor, queries: Sequence[int], grid: int,
                   thumbnail: np.ndarray | None = None) -> plt.Figure:
    """Where chosen query tokens look: ``attention`` (heads, N, N) of one image, N = grid², one row per head.

    ``image`` (H, W, 3) in [0, 1] is the onset shown under the heat map; ``thumbnail`` (grid, grid, 3)
    is what the ViT actually sees.
    Used in notebooks/04_spatial_branch.ipynb, section "6. Attention maps on the onset frame".
    """
    heads = attention.shape[0]
    cols = len(queries) + (2 if thumbnail is not None else 1)
    fig, axes = plt.subplots(heads, cols, figsize=(1.8 * cols, 1.8 * heads), squeeze=False)
    for h in range(heads):
        axes[h, 0].imshow(image)
        axes[h, 0].set_ylabel(f"head {h}", fontsize=8)
        start = 1
        if thumbnail is not None:
            axes[h, 1].imshow(thumbnail, interpolation="nearest")
            start = 2
        for j, q in enumerate(queries):
            a = attention[h, q].reshape(grid, grid).cpu().numpy()
            ax = axes[h, start + j]
            ax.imshow(image)
            ax.imshow(a, cmap="inferno", alpha=0.6, extent=(0, image.shape[1], image.shape[0], 0),
                      interpolation="nearest")
            r, c = divmod(q, grid)
            cell = image.shape[0] / grid
            ax.scatter([(c + 0.5) * cell], [(r + 0.5) * cell], marker="x", color="cyan", s=30)
            if h == 0:
                ax.set_title(f"query token {q} (row {r}, col {c})", fontsize=7)
    if thumbnail is not None:
        axes[0, 1].set_title(f"what the ViT sees ({grid}×{grid})", fontsize=7)
    axes[0, 0].set_title("onset", fontsize=7)
    for a in axes.flat:
        a.set_xticks([])
        a.set_yticks([])
    fig.tight_layout()
    return fig


def plot_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], keys: Sequence[str] = ("train_loss", "val_acc"),
                title: str = "") -> plt.Figure:
    """All variants' curves on one plot per metric: ``histories[variant][key]`` is a per-epoch list.

    Used in notebooks/05_fusion_variants.ipynb, section "4. A short training of every variant (SynthME, synthetic)".
    """
    fig, axes = plt.subplots(1, len(keys), figsize=(4.6 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for name, hist in histories.items():
            values = hist.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
