"""The notebook-05 explorer: pick a fusion variant, see its traced wiring and every stage's shape.

The picture is :func:`tsfmicro_lite.viz.models.draw_wiring`, the diagram notebook 05 draws in
section "2. Wiring diagrams, traced from the models"; the table lists ``Wiring.stages()``.
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..models import build_model, count_parameters, list_variants
from ..models.wiring import Wiring, trace_wiring
from ..utils.names import unknown
from ..viz.models import draw_wiring
from .base import Explorer, figure

__all__ = ["FusionExplorer", "fusion_explorer"]


class FusionExplorer(Explorer):
    """Pick a variant: its wiring diagram and the tensor shape at each stage, traced from the model.

    ``state`` holds the variant, its parameter count and its (stage, shape) list.
    Used in notebooks/05_fusion_variants.ipynb, section "Explore: pick a variant".
    """

    def __init__(self, preset: str = "tiny", variant: str = "late", num_classes: int = 3) -> None:
        variants = list_variants()
        if variant not in variants:
            raise unknown("variant", variant, variants)
        self.preset, self.num_classes = preset, num_classes
        self._cache: dict[str, tuple[Wiring, int]] = {}
        self.variant = W.ToggleButtons(options=variants, value=variant, description="variant")
        self.table = W.HTML()
        super().__init__([self.variant], f"Fusion explorer: wiring and shapes (preset {preset})")
        self.widget.children = (*self.widget.children, self.table)
        self.redraw()

    def wiring(self, variant: str) -> tuple[Wiring, int]:
        """The traced wiring and parameter count of ``variant`` (built once per variant)."""
        if variant not in self._cache:
            model = build_model(variant, self.num_classes, preset=self.preset)
            self._cache[variant] = (trace_wiring(model), count_parameters(model))
        return self._cache[variant]

    def draw(self):
        variant = self.variant.value
        wiring, params = self.wiring(variant)
        fig = figure(figsize=(15, 4.5))
        draw_wiring(wiring, ax=fig.subplots(), title=f"{variant} ({params:,} parameters, preset {self.preset})")
        stages = wiring.stages()
        rows = "".join(f"<tr><td>{html.escape(label)}</td><td><code>{'×'.join(map(str, shape))}</code></td></tr>"
                       for label, shape in stages)
        self.table.value = f"<table><tr><th>stage</th><th>output shape (batch first)</th></tr>{rows}</table>"
        self.state = {"variant": variant, "params": params, "stages": stages}
        return fig, f"<b>{variant}</b>: {len(stages)} stages, {params:,} parameters."


def fusion_explorer(preset: str = "tiny", variant: str = "late") -> FusionExplorer:
    """The notebook-05 explorer (see :class:`FusionExplorer`).

    Used in notebooks/05_fusion_variants.ipynb, section "Explore: pick a variant".
    """
    return FusionExplorer(preset=preset, variant=variant)
