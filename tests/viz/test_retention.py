"""Notebook 02's pictures (tsfmicro_lite.viz.retention): each panel shows the numbers it was given."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from tsfmicro_lite.models.retention import (
    VisionRetention,
    axial_decay_mask,
    decay_mask,
    manhattan_decay_mask,
    retention_chunkwise,
    retention_parallel,
    retention_recurrent,
)
from tsfmicro_lite.models.retention_cost import FormCost
from tsfmicro_lite.viz import retention as vr


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images(fig):
    """The axes of a figure that show a picture (colour bars are axes too)."""
    return [ax for ax in fig.axes if ax.images]


def test_decay_mask_one_panel_per_head_showing_the_mask():
    mask = decay_mask(8, [0.5, 0.9], dtype=torch.float64)
    fig = vr.plot_decay_mask(mask, [0.5, 0.9])
    panels = images(fig)
    assert [ax.get_title() for ax in panels] == ["head 0: γ = 0.5", "head 1: γ = 0.9"]
    for h, ax in enumerate(panels):
        np.testing.assert_allclose(ax.images[0].get_array(), mask[h].numpy())
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("key position m", "query position n")
    assert "no future" in fig.get_suptitle()
    _, axes = plt.subplots(1, 2)                                      # on given axes: no suptitle of its own
    assert vr.plot_decay_mask(mask, [0.5, 0.9], axes=axes) is axes[0].figure and axes[0].figure.get_suptitle() == ""
    with pytest.raises(ValueError, match="2 matrices for 1 axes"):
        vr.plot_decay_mask(mask, [0.5, 0.9], axes=[axes[0]])


def test_form_outputs_draw_one_line_per_form():
    q, k, v = (torch.randn(1, 1, 12, 4, dtype=torch.float64) for _ in range(3))
    outs = {"parallel": retention_parallel(q, k, v, [0.8])[0][0, 0],
            "recurrent": retention_recurrent(q, k, v, [0.8])[0][0, 0],
            "chunkwise C=5": retention_chunkwise(q, k, v, [0.8], chunk_size=5)[0][0, 0]}
    fig = vr.plot_form_outputs(outs, channel=2, title="t")
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == list(outs)
    for line, out in zip(ax.get_lines(), outs.values()):
        np.testing.assert_allclose(line.get_xdata(), np.arange(12))
        np.testing.assert_allclose(line.get_ydata(), out[:, 2].numpy())
    assert (ax.get_title(), ax.get_ylabel()) == ("t", "output, channel 2")


def test_head_decays_plot_gamma_to_the_distance_and_the_memory():
    fig = vr.plot_head_decays([0.5, 0.9], length=30)
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 30]
    memory = [line for line in ax.get_lines() if len(line.get_xdata()) == 2]   # axvline at 1/(1−γ)
    for line, g in zip(curves, (0.5, 0.9)):
        np.testing.assert_allclose(line.get_ydata(), g ** np.arange(30))
    assert [line.get_xdata()[0] for line in memory] == pytest.approx([2.0, 10.0])
    assert "memory ≈ 10 tokens" in ax.get_legend().get_texts()[1].get_text()


def test_cost_curves_plot_the_measured_points_with_their_slope():
    costs = [FormCost(form, n, time_ms=n ** p, std_ms=0.0, peak_mb=float(n))
             for form, p in (("parallel", 2), ("recurrent", 1), ("chunkwise", 1)) for n in (8, 16, 32)]
    fig = vr.plot_cost_curves(costs, title="t")
    time_ax, mem_ax = fig.axes
    assert time_ax.get_xscale() == "log" and time_ax.get_yscale() == "log"
    labels = [text.get_text() for text in time_ax.get_legend().get_texts()]
    assert labels == ["parallel (slope 2.00)", "recurrent (slope 1.00)", "chunkwise (slope 1.00)"]
    parallel = mem_ax.get_lines()[0]
    np.testing.assert_allclose(parallel.get_xdata(), [8, 16, 32])
    np.testing.assert_allclose(parallel.get_ydata(), [8, 16, 32])
    assert fig.get_suptitle() == "t"


def test_manhattan_decay_panels_are_the_full_and_the_two_axial_factors():
    fig = vr.plot_manhattan_decay(5, 6, 0.75, (2, 3))
    full, row, col, product, whole = (ax.images[0].get_array() for ax in images(fig))
    expected = manhattan_decay_mask(5, 6, [0.75], dtype=torch.float64)[0].numpy()
    np.testing.assert_allclose(full, expected[2 * 6 + 3].reshape(5, 6))
    np.testing.assert_allclose(row[2], axial_decay_mask(6, [0.75], dtype=torch.float64)[0][3].numpy())
    np.testing.assert_allclose(col[:, 3], axial_decay_mask(5, [0.75], dtype=torch.float64)[0][2].numpy())
    np.testing.assert_allclose(product, full)                 # the decay alone factorises exactly
    assert whole.shape == (30, 30)


def test_mixing_maps_show_the_query_pixels_row():
    layer = VisionRetention(8, 2, decomposed=True)
    w = layer.mixing_weights(torch.randn(1, 5, 6, 8))[0, 0].detach()
    fig = vr.plot_mixing_maps({"masa": w}, 5, 6, (2, 3))
    (ax,) = images(fig)
    np.testing.assert_allclose(ax.images[0].get_array(), w[2 * 6 + 3].reshape(5, 6).double().numpy())
    assert ax.get_title() == "masa"


def test_cost_curves_error_bars_stay_above_zero_on_the_log_axis():
    """A noisy point (std larger than its mean) gets its lower bar clipped at 10 % of the mean, not at <= 0."""
    costs = [FormCost("parallel", n, time_ms=1.0, std_ms=std, peak_mb=1.0) for n, std in ((8, 5.0), (16, 0.1))]
    fig = vr.plot_cost_curves(costs)
    bars = next(c for c in fig.axes[0].collections if len(c.get_segments()) == 2)
    lows = [seg[:, 1].min() for seg in bars.get_segments()]
    highs = [seg[:, 1].max() for seg in bars.get_segments()]
    np.testing.assert_allclose(lows, [0.1, 0.9])
    np.testing.assert_allclose(highs, [6.0, 1.1])
