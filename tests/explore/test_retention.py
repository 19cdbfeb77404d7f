"""The notebook-02 explorer, headless (tsfmicro_lite.explore.retention): its sliders redraw the decay
mask and the two forms' outputs (viz.retention.plot_decay_mask / plot_form_outputs), which agree."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsfmicro_lite.explore.retention import retention_explorer
from tsfmicro_lite.models.retention import decay_mask


def panels(ex):
    """(mask axes, outputs axes) of the explorer's figure (the colour bar is an axes too)."""
    axes = {ax.get_title().split(":")[0]: ax for ax in ex.figure.axes}
    return axes["head 0"], next(ax for ax in ex.figure.axes if ax.get_title().startswith("memory"))


def test_sliders_redraw_and_the_forms_agree():
    ex = retention_explorer(gamma=0.9, length=16)
    first = bytes(ex.image.value)
    assert ex.state["max_rel_diff"] < 1e-12
    mask_ax, out_ax = panels(ex)
    np.testing.assert_allclose(mask_ax.images[0].get_array(), decay_mask(16, [0.9], dtype=torch.float64)[0].numpy())
    parallel, recurrent = (line.get_ydata() for line in out_ax.get_lines())
    assert len(parallel) == 16 and np.allclose(parallel, recurrent, atol=1e-12)
    assert out_ax.get_title() == "memory ≈ 1/(1−γ) = 10 tokens"

    ex.gamma.value = 0.6
    ex.length.value = 40
    assert ex.state["gamma"] == pytest.approx(0.6) and ex.state["length"] == 40 and bytes(ex.image.value) != first
    mask_ax, out_ax = panels(ex)
    assert mask_ax.images[0].get_array().shape == (40, 40) and mask_ax.get_title() == "head 0: γ = 0.6"
    assert all(len(line.get_ydata()) == 40 for line in out_ax.get_lines())
    ex.precision.value = "float32"                    # the click the browser test makes
    assert 1e-12 < ex.state["max_rel_diff"] < 1e-4 and "float32" in ex.status.value
