"""What every explorer shares: controls, a picture redrawn as PNG bytes, a status line, ``state``.

Why pictures are PNG bytes in an ``ipywidgets.Image`` (not ``plt.show()`` in an ``Output``): the same
code then works in JupyterLab, in a headless papermill run and in tests, which drive the callbacks
from Python and check that the picture and the text changed. Each explorer keeps its last drawn
numbers in ``.state`` for that reason. Figures are ``matplotlib.figure.Figure`` objects made without
pyplot, so a redraw never opens a window or leaves a figure behind; the panels are drawn by the
``viz`` function the notebook uses, on the explorer's axes.
"""
from __future__ import annotations

import html
import io
from typing import Any, Mapping, Sequence

import ipywidgets as W
from matplotlib.figure import Figure

__all__ = ["Explorer", "figure", "png_bytes"]


def figure(*args, **kwargs) -> Figure:
    """A figure outside pyplot (nothing to close, no GUI window whatever the backend), laid out
    with matplotlib's constrained layout so colour bars and labels of neighbouring panels never overlap.
    Every explorer draws on one (the "Explore: …" sections of notebooks 01, 02, 05 and 06)."""
    kwargs.setdefault("layout", "constrained")
    return Figure(*args, **kwargs)


def png_bytes(fig: Figure, dpi: int = 90) -> bytes:
    """Render a figure to PNG bytes (what ``Explorer.image`` shows in every "Explore: …" section of
    notebooks 01, 02, 05 and 06)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


class Explorer:
    """Base: a ``widget`` (VBox of title, controls, picture and status line), ``redraw()``, ``state``.

    A subclass builds its controls, calls ``super().__init__(controls, title)`` and defines
    ``draw() -> (figure, status_html)``; every change of a control's value redraws.
    Behind the "Explore: …" sections of notebooks 01, 02, 05 and 06.
    """

    def __init__(self, controls: Sequence[W.Widget], title: str) -> None:
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.status = W.HTML()
        self.state: dict[str, Any] = {}
        self.figure: Figure | None = None
        self.redraws = 0
        header = W.HTML(f"<b>{html.escape(title)}</b>")
        self.widget = W.VBox([header, W.HBox(list(controls), layout=W.Layout(flex_flow="row wrap")),
                              self.image, self.status])
        self.widget.add_class("tsfmicro-explorer")
        for c in controls:
            if hasattr(c, "value"):
                c.observe(self._on_change, names="value")

    def _on_change(self, change: Mapping[str, Any]) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Draw, then show the picture and the status line (the last figure stays in ``.figure``)."""
        fig, status = self.draw()
        self.figure = fig
        self.image.value = png_bytes(fig)
        self.status.value = status
        self.redraws += 1

    def draw(self) -> tuple[Figure, str]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
