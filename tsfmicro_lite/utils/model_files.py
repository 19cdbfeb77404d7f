"""Locate dlib's model files shipped by the ``face_recognition_models`` package (never downloaded).

``import face_recognition_models`` fails with setuptools >= 81 (it needs ``pkg_resources``), so the
package folder is found with ``importlib.util.find_spec`` and the ``.dat`` files are read from disk.
The 68-point model was trained on iBUG 300-W, whose licence restricts commercial use (see README).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"


class ModelFileError(FileNotFoundError):
    """A dlib model file the kit needs is not installed."""


def model_file(name: str) -> Path:
    """Absolute path of one of dlib's model files inside ``face_recognition_models``."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"{name}: the package face_recognition_models is not installed; "
            "run `make setup` (or `pip install face_recognition_models==0.3.0`)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise ModelFileError(f"{path}: dlib model file missing from face_recognition_models.")
    return path


def landmark_model_path() -> Path:
    """dlib's 68-point shape predictor."""
    return model_file(LANDMARKS_68)


def cnn_detector_path() -> Path:
    """dlib's MMOD CNN face detector (optional, about 3 s an image on CPU)."""
    return model_file(CNN_DETECTOR)
