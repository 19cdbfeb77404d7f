"""The course's interactive explorers (ipywidgets), one module per notebook, each drawing with ``viz/``.

- :func:`preprocessing_explorer` (notebook 01, :mod:`.preprocessing`): scrub a clip, move the onset
  and apex markers; the frame, apex − onset and the optical flow follow.
- :func:`retention_explorer` (notebook 02, :mod:`.retention`): γ and length sliders over the decay
  mask and the parallel / recurrent outputs.
- :func:`fusion_explorer` (notebook 05, :mod:`.fusion`): a variant's traced wiring and shapes.
- :func:`training_explorer` (notebook 06, :mod:`.training`): a fold's confusion matrix and mistakes,
  scored on the predictions the results tables use.

``tsfmicro_lite.widgets`` re-exports these names for older notebooks.
"""
from __future__ import annotations

from .base import Explorer
from .fusion import FusionExplorer, fusion_explorer
from .preprocessing import PreprocessingExplorer, preprocessing_explorer
from .retention import RetentionExplorer, retention_explorer
from .training import TrainingExplorer, training_explorer

__all__ = ["Explorer", "PreprocessingExplorer", "RetentionExplorer", "FusionExplorer", "TrainingExplorer",
           "preprocessing_explorer", "retention_explorer", "fusion_explorer", "training_explorer"]
