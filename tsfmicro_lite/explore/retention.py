"""The notebook-02 explorer: γ and length sliders redraw the decay mask and the two forms' outputs.

Both panels are the notebook's own pictures, on the explorer's axes:
:func:`tsfmicro_lite.viz.retention.plot_decay_mask` (section "2. The decay mask") and
:func:`tsfmicro_lite.viz.retention.plot_form_outputs` (section "3. Three forms of the same computation").
"""
from __future__ import annotations

import ipywidgets as W
import torch

from ..models.retention import decay_mask, retention_parallel, retention_recurrent
from ..viz.retention import plot_decay_mask, plot_form_outputs
from .base import Explorer, figure

__all__ = ["RetentionExplorer", "retention_explorer"]


class RetentionExplorer(Explorer):
    """γ and length sliders: the decay mask and the parallel vs recurrent outputs of one head.

    ``state`` holds γ, the length, the dtype and max |parallel − recurrent| / max |parallel|.
    Used in notebooks/02_retention_from_scratch.ipynb, section "Explore: decay and the two forms".
    """

    def __init__(self, gamma: float = 0.9, length: int = 32, dim: int = 8, seed: int = 0) -> None:
        self.gamma = W.FloatSlider(value=gamma, min=0.5, max=0.995, step=0.005, description="γ",
                                   readout_format=".3f", continuous_update=False)
        self.length = W.IntSlider(value=length, min=4, max=128, description="length", continuous_update=False)
        self.precision = W.ToggleButtons(options=["float64", "float32"], value="float64", description="dtype")
        self.dim, self.seed = dim, seed
        super().__init__([self.gamma, self.length, self.precision],
                         "Retention explorer: decay mask, parallel = recurrent")
        self.redraw()

    def draw(self):
        n, g = self.length.value, self.gamma.value
        dtype = torch.float64 if self.precision.value == "float64" else torch.float32
        gen = torch.Generator().manual_seed(self.seed)
        q, k, v = (torch.randn(1, 1, n, self.dim, generator=gen, dtype=torch.float64).to(dtype) for _ in range(3))
        par, _ = retention_parallel(q, k, v, [g])
        rec, _ = retention_recurrent(q, k, v, [g])
        diff = float((par - rec).abs().max() / par.abs().max())
        fig = figure(figsize=(10, 3.2))
        ax_mask, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
        plot_decay_mask(decay_mask(n, [g], dtype=torch.float64), [g], axes=[ax_mask])
        plot_form_outputs({"parallel (QKᵀ ⊙ D) V": par[0, 0], "recurrent: S ← γ S + kᵀ v, out = q S": rec[0, 0]},
                          ax=ax_out, title=f"memory ≈ 1/(1−γ) = {1 / (1 - g):.0f} tokens")
        self.state = {"gamma": g, "length": n, "dtype": self.precision.value, "max_rel_diff": diff}
        status = (f"max |parallel − recurrent| / max |parallel| = <b>{diff:.1e}</b> in {self.precision.value} "
                  f"(length {n}): the two forms compute the same sum.")
        return fig, status


def retention_explorer(gamma: float = 0.9, length: int = 32) -> RetentionExplorer:
    """The notebook-02 explorer (see :class:`RetentionExplorer`).

    Used in notebooks/02_retention_from_scratch.ipynb, section "Explore: decay and the two forms".
    """
    return RetentionExplorer(gamma=gamma, length=length)
