"""The notebook-01 explorer: scrub a clip, move onset/apex, see the frame, apex − onset and the flow.

The picture is :func:`tsfmicro_lite.viz.preprocess.show_frame_motion`, the figure notebook 01 draws
in section "1 · What a micro-expression clip is", redrawn for the frame and the pair you pick.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import ipywidgets as W
import numpy as np

from ..preprocess.faces import read_frame
from ..preprocess.inputs import difference, optical_flow
from ..viz.preprocess import show_frame_motion
from .base import Explorer, figure

__all__ = ["PreprocessingExplorer", "preprocessing_explorer"]


class PreprocessingExplorer(Explorer):
    """Scrub frames, move onset/apex, see the difference image, the optical flow and the landmarks.

    ``frames``: the clip's frames (RGB arrays); ``onset`` / ``apex``: positions in ``frames``;
    ``landmarks``: one (68, 2) array per frame, or None. ``state`` holds the drawn frame, the pair,
    the mean |apex − onset| and the largest flow.
    Used in notebooks/01_data_and_preprocessing.ipynb, section "Explore: scrub a clip".
    """

    def __init__(self, frames: Sequence[np.ndarray], onset: int, apex: int,
                 landmarks: np.ndarray | None = None, frame_numbers: Sequence[int] | None = None,
                 flow_method: str = "farneback") -> None:
        if len(frames) < 2:
            raise ValueError(f"preprocessing explorer: a clip needs at least 2 frames, got {len(frames)}.")
        if not (0 <= onset < len(frames) and 0 <= apex < len(frames)):
            raise ValueError(f"onset index {onset} / apex index {apex} are outside the clip's {len(frames)} frames "
                             "(they are positions in `frames`, not frame numbers).")
        if landmarks is not None and len(landmarks) != len(frames):
            raise ValueError(f"landmarks has {len(landmarks)} entries for {len(frames)} frames; pass one (68, 2) "
                             "array per frame.")
        self.frames = [np.asarray(f) for f in frames]
        self.landmarks = landmarks
        self.numbers = list(frame_numbers) if frame_numbers is not None else list(range(len(frames)))
        self.flow_method = flow_method
        self._flow_cache: dict[tuple[int, int], np.ndarray] = {}
        n = len(frames) - 1
        self.frame = W.IntSlider(value=apex, min=0, max=n, description="frame", continuous_update=False)
        self.markers = W.IntRangeSlider(value=(min(onset, apex), max(onset, apex)), min=0, max=n,
                                        description="onset→apex", continuous_update=False)
        self.show_landmarks = W.Checkbox(value=landmarks is not None, description="landmarks",
                                         disabled=landmarks is None)
        super().__init__([self.frame, self.markers, self.show_landmarks],
                         "Preprocessing explorer: frame, apex − onset, optical flow")
        self.redraw()

    def flow(self, onset: int, apex: int) -> np.ndarray:
        """Optical flow between two positions of the clip (cached: sliding the frame does not recompute it)."""
        key = (onset, apex)
        if key not in self._flow_cache:
            self._flow_cache[key] = optical_flow(self.frames[onset], self.frames[apex], self.flow_method)
        return self._flow_cache[key]

    def draw(self):
        i = self.frame.value
        onset, apex = self.markers.value
        diff = difference(self.frames[onset], self.frames[apex])
        flow = self.flow(onset, apex)
        marks = self.landmarks[i] if self.show_landmarks.value and self.landmarks is not None else None
        role = " (onset)" if i == onset else " (apex)" if i == apex else ""
        fig = figure(figsize=(10, 3.2))
        show_frame_motion(self.frames[i], self.frames[onset], self.frames[apex], flow, landmarks=marks,
                          frame_title=f"frame {self.numbers[i]}{role}",
                          pair_title=f"apex − onset ({self.numbers[apex]} − {self.numbers[onset]})",
                          flow_method=self.flow_method, axes=fig.subplots(1, 3))
        self.state = {"frame": i, "onset": onset, "apex": apex, "mean_abs_diff": float(np.abs(diff).mean()),
                      "max_flow": float(np.linalg.norm(flow, axis=-1).max())}
        status = (f"mean |apex − onset| = {self.state['mean_abs_diff']:.4f} (of 1), largest flow "
                  f"{self.state['max_flow']:.2f} px. Move the apex marker away from the true apex and watch "
                  "both shrink.")
        return fig, status


def preprocessing_explorer(sample: Mapping[str, Any], max_frames: int = 40,
                           flow_method: str = "farneback") -> PreprocessingExplorer:
    """Explorer for one row of ``load_dataset(...)`` (its ``frame_paths``, onset/apex, and the
    ground-truth ``landmarks_path`` when the data set has one, as SynthME does). Long clips are
    subsampled to ``max_frames`` frames, always keeping the onset and the apex.

    Used in notebooks/01_data_and_preprocessing.ipynb, section "Explore: scrub a clip".
    """
    paths = list(sample["frame_paths"])
    given = sample.get("frame_numbers")
    numbers = (list(given) if isinstance(given, (list, tuple, np.ndarray)) and len(given) == len(paths)
               else list(range(int(sample["onset"]), int(sample["onset"]) + len(paths))))
    onset_i = numbers.index(int(sample["onset"])) if int(sample["onset"]) in numbers else 0
    apex_i = numbers.index(int(sample["apex"])) if int(sample["apex"]) in numbers else len(paths) // 2
    keep = sorted(set(np.linspace(0, len(paths) - 1, min(max_frames, len(paths))).round().astype(int).tolist())
                  | {onset_i, apex_i})
    landmarks = None
    lm_path = sample.get("landmarks_path")
    if isinstance(lm_path, str) and lm_path:
        landmarks = np.load(lm_path)[keep]
    frames = [read_frame(paths[k]) for k in keep]
    return PreprocessingExplorer(frames, keep.index(onset_i), keep.index(apex_i), landmarks,
                                 [numbers[k] for k in keep], flow_method)
