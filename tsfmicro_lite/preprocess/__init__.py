"""tsfmicro_lite.preprocess: from a clip's frames to the aligned onset / apex inputs (notebook 01).

``FaceAligner`` (faces.py) detects, landmarks and aligns; ``prepare`` (pipeline.py) does it once per clip
for a whole ``load_dataset`` table, with motion inputs (inputs.py) and a per-clip cache; augment.py holds
the training-time frame-pair search and the joint geometric augmentation; official.py the official per-image
transform of the release's own crops (``PrepConfig(faces="dataset")``).
"""
from __future__ import annotations

from .faces import AlignedFace, FaceAligner, FaceNotFoundError, FrameReadError
from .pipeline import PreparedClips, PrepConfig, prepare

__all__ = ["AlignedFace", "FaceAligner", "FaceNotFoundError", "FrameReadError", "PrepConfig", "PreparedClips",
           "prepare"]
