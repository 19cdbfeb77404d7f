"""Re-export of the explorers in ``tsfmicro_lite.explore``, so ``tsfmicro_lite.widgets`` imports keep working.

New code and the notebooks import from :mod:`tsfmicro_lite.explore` (one module per explorer, each
drawing with ``viz/``); this module only keeps the older import path alive.
"""
from __future__ import annotations

from .explore import (
    Explorer,
    FusionExplorer,
    PreprocessingExplorer,
    RetentionExplorer,
    TrainingExplorer,
    fusion_explorer,
    preprocessing_explorer,
    retention_explorer,
    training_explorer,
)

__all__ = ["Explorer", "PreprocessingExplorer", "RetentionExplorer", "FusionExplorer", "TrainingExplorer",
           "preprocessing_explorer", "retention_explorer", "fusion_explorer", "training_explorer"]
