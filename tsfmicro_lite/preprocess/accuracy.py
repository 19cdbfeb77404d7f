"""How good is dlib on our frames? Detection rate and landmark error against ground truth (notebook 01).

Measured, not assumed: the synthetic dataset stores the true 68 landmarks of every frame, so the
detector and shape predictor can be scored on it. The error is the 300-W convention: mean point-to-point
distance divided by the *outer* eye-corner distance (points 36 and 45), "NME". Only dlib is scored here
(fallbacks off), so a miss counts as a miss.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .faces import FaceAligner, read_frame


def normalised_landmark_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean ‖pred − truth‖ over the 68 points divided by the outer inter-ocular distance of ``truth``."""
    pred, truth = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if pred.shape != (68, 2) or truth.shape != (68, 2):
        raise ValueError(f"expected two 68×2 landmark arrays, got {pred.shape} and {truth.shape}")
    iod = float(np.linalg.norm(truth[45] - truth[36]))
    return float(np.linalg.norm(pred - truth, axis=1).mean() / iod)


@dataclass
class LandmarkAccuracy:
    detection_rate: float  # fraction of onset frames where dlib found a face
    mean_nme: float  # over detected frames
    median_nme: float
    table: pd.DataFrame  # one row per clip: subject, clip, detected, score, nme

    def __str__(self) -> str:
        n = len(self.table)
        return (f"dlib on {n} onset frames: detected {self.detection_rate:.1%}, landmark error (NME, outer "
                f"inter-ocular) mean {self.mean_nme:.3f}, median {self.median_nme:.3f}")


def landmark_accuracy(df: pd.DataFrame, aligner: FaceAligner | None = None,
                      limit: int | None = None) -> LandmarkAccuracy:
    """Score dlib on the onset frame of each clip of a table with ``landmarks_path`` (synthme)."""
    if "landmarks_path" not in df.columns:
        raise ValueError("landmark_accuracy needs ground-truth landmarks (column 'landmarks_path'); "
                         "only the synthetic dataset has them: load_dataset('synthme', ...)")
    aligner = aligner or FaceAligner(fallbacks=())
    rows = []
    for row in df.head(limit).to_dict("records") if limit else df.to_dict("records"):
        marks = np.load(row["landmarks_path"], mmap_mode="r")
        numbers = list(row.get("frame_numbers") or [])
        truth = np.array(marks[numbers.index(int(row["onset"])) if int(row["onset"]) in numbers else 0])
        image = read_frame(row["onset_path"])
        hits = aligner.detect(image)
        entry = {"subject": row["subject"], "clip": row["clip"], "detected": bool(hits),
                 "score": hits[0][1] if hits else np.nan, "nme": np.nan}
        if hits:
            entry["nme"] = normalised_landmark_error(aligner.landmarks(image, hits[0][0]), truth)
        rows.append(entry)
    table = pd.DataFrame(rows)
    found = table[table["detected"]]
    return LandmarkAccuracy(float(table["detected"].mean()) if len(table) else 0.0,
                            float(found["nme"].mean()) if len(found) else float("nan"),
                            float(found["nme"].median()) if len(found) else float("nan"), table)
