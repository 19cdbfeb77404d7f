"""The notebook-05 explorer, headless (tsfmicro_lite.explore.fusion): each variant's traced stages,
drawn by viz.models.draw_wiring."""
from __future__ import annotations

import pytest

from tsfmicro_lite.explore.fusion import fusion_explorer


def test_each_variant_shows_its_stages():
    ex = fusion_explorer(preset="tiny", variant="late")
    late = dict(ex.state)
    assert any("fuse" in label for label, _ in late["stages"]) and "<table>" in ex.table.value
    (ax,) = ex.figure.axes
    assert ax.get_title() == f"late ({late['params']:,} parameters, preset tiny)"
    lines = [t.get_text().split("\n") for t in ax.texts]                  # a label wrapped over lines, then a shape
    boxes = [" ".join(ln[:-1]) if len(ln) > 1 else ln[0] for ln in lines]
    assert {label for label, _ in late["stages"]} <= set(boxes)          # every stage is a box
    ex.variant.value = "s2t"
    labels = [label for label, _ in ex.state["stages"]]
    assert ex.state["variant"] == "s2t" and "3× ConvTranspose" in labels
    assert ex.state["params"] > late["params"]        # the upsampling adds weights
    assert ex.figure.axes[0].get_title().startswith("s2t (")
    with pytest.raises(ValueError, match=r"unknown variant 'lat'. Did you mean 'late'\?"):
        fusion_explorer(variant="lat")
