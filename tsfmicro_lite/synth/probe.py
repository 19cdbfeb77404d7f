"""Linear probes on SynthME: is the class in the onset frame (it must not be) or in apex - onset?

Why: a synthetic dataset is only useful if it is learnable but not trivially so. The class must
live in the *motion* (apex - onset), never in what a face looks like at rest, otherwise a model
could score by recognising identities or poses. A logistic regression on downsampled grey pixels,
evaluated leave-one-subject-out, measures both. ``tests/synth/test_probe.py`` pins the numbers.
Scores on SynthME are synthetic.

The probe does not decide which emotion is which class: it takes a class mapping (anything with
``classes`` and ``label_of(emotion)``, e.g. ``tsfmicro_lite.data.get_mapping("synthme", 3)``), so the
official mappings stay in one place (``data/datasets/``), one layer above this package.

Measured (generator v4, 16x16 grey thumbnails, C=0.1, LOSO, balanced accuracy / UF1):
- quick, seed 0, 3 classes (58 clips, 8 subjects): onset 0.25 / 0.26, apex 0.36 / 0.35,
  apex - onset 0.61 / 0.63 (chance 0.33); over seeds 0-3 onset 0.19-0.41, diff 0.59-0.65.
- casme2-like, seed 0, 3 classes (156 clips, 26 subjects): onset 0.34 / 0.33, apex 0.43 / 0.42,
  diff 0.68 / 0.72; 5 classes (246 clips): onset 0.15 / 0.14, apex 0.26 / 0.25, diff 0.55 / 0.58
  (chance 0.20).
- A tiny 3-layer CNN on raw (unaligned) 64 px apex - onset, 20 epochs, quick seed 0, LOSO:
  0.75 / 0.74 (a throwaway check, not part of the kit).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .generator import MANIFEST_NAME

FEATURES = ("onset", "apex", "diff")


class LabelMapping(Protocol):
    """What the probe needs of a class mapping; ``tsfmicro_lite.data.ClassMapping`` is one."""

    classes: tuple[str, ...]

    def label_of(self, emotion: str) -> int | None:
        """The label of a sheet emotion, or None when the task leaves it out."""


@dataclass(frozen=True)
class ProbeResult:
    """Pooled LOSO scores of one probe; ``chance`` is 1 / number of classes (balanced accuracy)."""

    feature: str
    classes: tuple[str, ...]
    n_samples: int
    n_subjects: int
    balanced_accuracy: float
    uf1: float
    chance: float

    def __str__(self) -> str:
        return (f"{self.feature:>5}: balanced acc {self.balanced_accuracy:.3f}, UF1 {self.uf1:.3f} "
                f"(chance {self.chance:.3f}; {self.n_samples} clips, {self.n_subjects} subjects, LOSO, synthetic)")


def _grey(path: Path, size: int) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(f"{path}: frame missing or unreadable; regenerate with make_synthme(force=True)")
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def probe_features(root: str | os.PathLike, mapping: LabelMapping, size: int = 32) -> dict:
    """Onset and apex grey thumbnails (N, size*size), labels and subjects of a SynthME folder.

    ``mapping`` turns each clip's emotion into a label (clips it maps to None are left out).
    """
    root = Path(root)
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    onset, apex, labels, subjects = [], [], [], []
    for clip in manifest["clips"]:
        label = mapping.label_of(clip["emotion"])
        if label is None:
            continue
        folder = root / clip["subject"] / clip["filename"]
        onset.append(_grey(folder / f"img{clip['onset']}.jpg", size).ravel())
        apex.append(_grey(folder / f"img{clip['apex']}.jpg", size).ravel())
        labels.append(label)
        subjects.append(clip["subject"])
    return {"onset": np.array(onset), "apex": np.array(apex), "labels": np.array(labels),
            "subjects": np.array(subjects), "classes": mapping.classes}


def linear_probe(root: str | os.PathLike, feature: str = "diff", mapping: LabelMapping | None = None,
                 size: int = 32, C: float = 1.0, data: dict | None = None) -> ProbeResult:
    """LOSO logistic regression on ``feature`` ("onset", "apex" or "diff" = apex - onset) pixels.

    Pass ``mapping`` (features are computed) or ``data`` from :func:`probe_features` (reused).
    """
    from sklearn.linear_model import LogisticRegression  # lazy: scikit-learn is slow to import
    from sklearn.metrics import balanced_accuracy_score, f1_score  # lazy: scikit-learn
    from sklearn.model_selection import LeaveOneGroupOut  # lazy: scikit-learn
    from sklearn.pipeline import make_pipeline  # lazy: scikit-learn
    from sklearn.preprocessing import StandardScaler  # lazy: scikit-learn
    from threadpoolctl import threadpool_limits  # lazy: only the probe pins BLAS threads

    if feature not in FEATURES:
        raise ValueError(f"linear_probe feature {feature!r} unknown; choose one of {FEATURES}")
    if data is None and mapping is None:
        raise ValueError("linear_probe needs mapping= (e.g. tsfmicro_lite.data.get_mapping('synthme', 3)) "
                         "or data= from probe_features()")
    data = data or probe_features(root, mapping, size)
    x = data["apex"] - data["onset"] if feature == "diff" else data[feature]
    y, groups = data["labels"], data["subjects"]
    predictions = np.empty_like(y)
    with threadpool_limits(1):  # tiny problems: BLAS threads only fight over a busy CPU
        for train, test in LeaveOneGroupOut().split(x, y, groups):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
            model.fit(x[train], y[train])
            predictions[test] = model.predict(x[test])
    return ProbeResult(
        feature=feature, classes=tuple(data["classes"]), n_samples=len(y), n_subjects=len(set(groups)),
        balanced_accuracy=float(balanced_accuracy_score(y, predictions)),
        uf1=float(f1_score(y, predictions, average="macro")), chance=1.0 / len(data["classes"]),
    )
