"""Pictures for notebook 02 (retention from scratch) and 03 (MaSA vs retention in the RMT branch).

Each function draws one idea and returns the matplotlib ``Figure``; the notebooks save the ones the
README shows with ``figures_dir()``, and the retention explorer (``explore.retention``) draws its
panels with the same functions on its own axes. Nothing here computes model results: the numbers
come from ``tsfmicro_lite.models.retention`` and ``retention_cost``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from tsfmicro_lite.models.retention_2d import axial_decay_mask, manhattan_decay_mask
from tsfmicro_lite.models.retention_cost import FORMS, loglog_slope


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=float)


def plot_matrices(matrices: Mapping[str, torch.Tensor], *, cmap: str = "viridis", suptitle: str | None = None,
                  symmetric: bool = False, size: float = 3.0, axes=None):
    """Side-by-side heatmaps of 2-D matrices (weights, masks), one panel per entry, rows = queries.

    ``axes``: one matplotlib axes per matrix to draw on (default: a new figure).
    Used in notebooks/02_retention_from_scratch.ipynb, section "1. Attention → linear attention → retention".
    """
    own = axes is None
    if own:
        fig, grid = plt.subplots(1, len(matrices), figsize=(size * len(matrices), size + 0.4), squeeze=False)
        axes = grid[0]
    else:
        axes = list(np.atleast_1d(axes))
        if len(axes) != len(matrices):
            raise ValueError(f"plot_matrices: {len(matrices)} matrices for {len(axes)} axes; pass one axes per matrix.")
        fig = axes[0].figure
    for ax, (title, m) in zip(axes, matrices.items()):
        m = _np(m)
        if symmetric:
            lim = np.abs(m).max() or 1.0
            im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            im = ax.imshow(m, cmap=cmap)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("key position m")
        ax.set_ylabel("query position n")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if suptitle:
        fig.suptitle(suptitle)
    if own:
        fig.tight_layout()
    return fig


def plot_decay_mask(mask: torch.Tensor, gammas: Sequence[float], axes=None):
    """The causal decay mask D[h, n, m] = γ_h^(n−m), one panel per head (on ``axes`` if given).

    Used in notebooks/02_retention_from_scratch.ipynb, section "2. The decay mask", and by its
    retention explorer (section "Explore: decay and the two forms").
    """
    suptitle = "decay mask D = γ^(n−m) below the diagonal, 0 above (no future)"
    return plot_matrices({f"head {h}: γ = {g:.4g}": mask[h] for h, g in enumerate(gammas)},
                         suptitle=suptitle if axes is None else None, axes=axes)


def plot_form_outputs(outputs: Mapping[str, torch.Tensor], channel: int = 0, ax=None, title: str | None = None):
    """One channel of each form's output against the position: forms that compute the same sum draw
    one curve. ``outputs``: name → (length, e) output of one batch element and head, e.g.
    ``retention_parallel(q, k, v, gammas)[0][0, 0]``.

    Used in notebooks/02_retention_from_scratch.ipynb, section "3. Three forms of the same
    computation", and by its retention explorer (section "Explore: decay and the two forms").
    """
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(6, 3.2))
    styles = ("o-", "x--", "s:", "d-.")
    for i, (name, out) in enumerate(outputs.items()):
        values = _np(out)
        values = values[:, channel] if values.ndim == 2 else values
        ax.plot(np.arange(len(values)), values, styles[i % len(styles)], ms=3 + (i % 2), label=name)
    ax.set_xlabel("position n")
    ax.set_ylabel(f"output, channel {channel}")
    ax.legend(fontsize=8)
    ax.set_title(title or "the forms, one curve")
    if own:
        ax.figure.tight_layout()
    return ax.figure


def plot_head_decays(gammas: Sequence[float], length: int = 256, ax=None):
    """γ_h^t against distance t for each head, with each head's effective memory 1/(1−γ_h).

    Used in notebooks/02_retention_from_scratch.ipynb, section "4. Multi-scale decay, group norm and the gate".
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    t = np.arange(length)
    for h, g in enumerate(gammas):
        line, = ax.plot(t, g ** t, label=f"head {h}: γ={g:.5g}, memory ≈ {1 / (1 - g):.0f} tokens")
        ax.axvline(1 / (1 - g), color=line.get_color(), ls=":", lw=1)
    ax.set_xlabel("distance n − m (tokens)")
    ax.set_ylabel("weight γ^(n−m)")
    ax.set_title("multi-scale decay: every head forgets at its own rate")
    ax.legend(fontsize=7)
    ax.figure.tight_layout()
    return ax.figure


def plot_cost_curves(results, *, title: str = ""):
    """Time and peak memory against length, log-log, one line per form, with the fitted slope in the legend.

    ``results``: the ``FormCost`` list from ``measure_retention_forms``. Error bars are ± one standard
    deviation of the repeats; on the log axis a lower bar that would reach zero or below (a noisy point on a
    shared machine) is clipped at 10 % of the mean, so every bar stays drawable above zero.
    Used in notebooks/02_retention_from_scratch.ipynb, section "3. Three forms of the same computation"
    (its part "What each form costs").
    """
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 3.8))
    for form in FORMS:
        pts = [r for r in results if r.form == form and r.time_ms is not None]
        if not pts:
            continue
        lengths = [r.length for r in pts]
        times = [r.time_ms for r in pts]
        std = np.array([r.std_ms or 0.0 for r in pts])
        lower = np.minimum(std, 0.9 * np.asarray(times))       # log scale: stay above zero
        ax_t.errorbar(lengths, times, yerr=[lower, std], marker="o", capsize=3,
                      label=f"{form} (slope {loglog_slope(lengths, times):.2f})")
        ax_m.plot(lengths, [r.peak_mb for r in pts], marker="o",
                  label=f"{form} (slope {loglog_slope(lengths, [r.peak_mb for r in pts]):.2f})")
    for ax, label in ((ax_t, "time per call (ms)"), (ax_m, "peak memory (MB)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length L")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax_t.set_title("time (slope 1 = linear, 2 = quadratic)")
    ax_m.set_title("memory")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_manhattan_decay(height: int, width: int, gamma: float, query: tuple[int, int]):
    """The 2-D decay seen from one query pixel, full vs decomposed, and the full (HW × HW) mask.

    Panels: γ^(|Δr|+|Δc|) around ``query``; the row factor γ^|Δc| and the column factor γ^|Δr| the
    decomposed form applies one after the other (their product is the full map); the whole mask.
    Used in notebooks/02_retention_from_scratch.ipynb, section "5. Images: the 2-D Manhattan decay".
    """
    r, c = query
    full = _np(manhattan_decay_mask(height, width, [gamma], dtype=torch.float64)[0])
    row = _np(axial_decay_mask(width, [gamma], dtype=torch.float64)[0])[c]           # (W,)
    col = _np(axial_decay_mask(height, [gamma], dtype=torch.float64)[0])[r]          # (H,)
    row_map = np.zeros((height, width))
    row_map[r] = row
    col_map = np.zeros((height, width))
    col_map[:, c] = col
    panels = {
        f"full: γ^(|Δr|+|Δc|) from {query}": full[r * width + c].reshape(height, width),
        "decomposed, pass 1: along the row, γ^|Δc|": row_map,
        "pass 2: along each column, γ^|Δr|": col_map,
        "pass 2 ∘ pass 1 (decay only)": np.outer(col, row),
    }
    fig, axes = plt.subplots(1, 5, figsize=(18, 3.9), layout="constrained")
    for ax, (title, m) in zip(axes, panels.items()):
        im = ax.imshow(m, cmap="magma", vmin=0, vmax=1)
        ax.plot(c, r, "c+", ms=10)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[3], fraction=0.046, pad=0.04)
    axes[4].imshow(full, cmap="magma", vmin=0, vmax=1)
    axes[4].set_title(f"full mask, {height * width}×{height * width}\n(raster order r·W + c)", fontsize=8)
    axes[4].set_xlabel("key")
    axes[4].set_ylabel("query")
    fig.suptitle(f"Manhattan decay on a {height}×{width} grid, γ = {gamma}", fontsize=10)
    return fig


def plot_mixing_maps(weights: Mapping[str, torch.Tensor], height: int, width: int, query: tuple[int, int]):
    """Where one query pixel takes its information from, per mixer/form: rows of ``mixing_weights``.

    ``weights``: name → (H·W, H·W) matrix of one head (e.g. ``layer.mixing_weights(x)[0, h]``).
    Each panel is scaled to its own maximum so the shapes compare, not the magnitudes.
    Used in notebooks/02_retention_from_scratch.ipynb, section "6. MaSA (the official code) vs true retention".
    """
    r, c = query
    fig, axes = plt.subplots(1, len(weights), figsize=(3.3 * len(weights), 3.4), squeeze=False)
    for ax, (title, w) in zip(axes[0], weights.items()):
        m = _np(w)[r * width + c].reshape(height, width)
        lim = np.abs(m).max() or 1.0
        im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.plot(c, r, "k+", ms=10)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


__all__ = ["plot_matrices", "plot_decay_mask", "plot_form_outputs", "plot_head_decays", "plot_cost_curves",
           "plot_manhattan_decay", "plot_mixing_maps"]
