"""Identities of the synthetic dataset: real LFW faces, their 68 landmarks, and per-subject looks.

Why real faces: the kit's preprocessing runs dlib (HOG detector + 68-point predictor); a cartoon
face would exercise nothing. scikit-image ships 100 public LFW face crops (``lfw_subset()``,
25x25 grey), so every machine has them without a download. Their neutral 68 landmarks were found
once with dlib on a 8x upscale (200 px face + 50 px replicate border) and are stored in
``identities.json`` beside this file, so generation needs no dlib and its bytes do not
depend on the dlib version. ``build_identity_table()`` recomputes that file.

Used by notebook 01 through ``make_synthme`` (section "1 · What a micro-expression clip is" shows the
faces); no notebook section takes this module apart.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..utils.io import atomic_write_text
from ..utils.model_files import landmark_model_path

IDENTITY_FILE = Path(__file__).with_name("identities.json")
LFW_SIDE = 25  # lfw_subset() crops are 25x25
_DETECT_SCALE = 8  # landmarks were found on an 8x upscale ...
_DETECT_BORDER = 50  # ... with this replicate border (pixels of the upscaled image)

# Indices of the iBUG 68-point scheme that lie on the image-left half, the midline and the right.
_MIDLINE = {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}
_LEFT = set(range(0, 8)) | set(range(17, 22)) | {31, 32} | set(range(36, 42)) | {48, 49, 50, 58, 59, 60, 61, 67}
SIDE = np.array([0.0 if i in _MIDLINE else (-1.0 if i in _LEFT else 1.0) for i in range(68)])


class IdentityError(RuntimeError):
    """The identity table is missing or does not cover the subjects asked for."""


@functools.lru_cache(maxsize=1)
def lfw_faces() -> np.ndarray:
    """The 100 LFW face crops of scikit-image as float32 in [0, 1], shape (100, 25, 25)."""
    from skimage.data import lfw_subset  # lazy: scikit-image loads only when a SynthME is rendered

    faces = np.asarray(lfw_subset()[:100], dtype=np.float64)
    if faces.max() > 1.5:  # older scikit-image returned uint8
        faces = faces / 255.0
    return faces.astype(np.float32)


@functools.lru_cache(maxsize=1)
def identity_table() -> dict:
    """The stored table: LFW index -> neutral 68 landmarks in 25x25 crop pixel coordinates."""
    if not IDENTITY_FILE.is_file():
        raise IdentityError(
            f"{IDENTITY_FILE}: missing. Rebuild it with "
            "`python -c 'from tsfmicro_lite.synth.faces import write_identity_table as w; w()'`."
        )
    return json.loads(IDENTITY_FILE.read_text())


def usable_identities() -> list[int]:
    """LFW indices (0-99) whose face dlib found, in order: the pool subjects are drawn from."""
    return [int(face["lfw_index"]) for face in identity_table()["faces"]]


def neutral_landmarks(lfw_index: int) -> np.ndarray:
    """(68, 2) float64 (x, y) landmarks of one LFW face in its 25x25 crop's pixel coordinates."""
    for face in identity_table()["faces"]:
        if int(face["lfw_index"]) == lfw_index:
            return np.asarray(face["landmarks"], dtype=np.float64)
    raise IdentityError(
        f"{IDENTITY_FILE}: LFW face {lfw_index} has no landmarks (dlib found no face in it); "
        f"use one of {usable_identities()[:10]}..."
    )


def build_identity_table() -> dict:
    """Run dlib on every LFW face (8x upscale) and return the table ``identities.json`` holds."""
    import dlib  # lazy: dlib is only needed to rebuild the stored table, never to generate

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(landmark_model_path()))
    side = LFW_SIDE * _DETECT_SCALE
    faces, missed = [], []
    for index, face in enumerate(lfw_faces()):
        grey = cv2.resize((face * 255).round().astype(np.uint8), (side, side), interpolation=cv2.INTER_CUBIC)
        grey = cv2.copyMakeBorder(grey, *[_DETECT_BORDER] * 4, cv2.BORDER_REPLICATE)
        boxes = detector(grey, 0)
        if not boxes:
            missed.append(index)
            continue
        box = max(boxes, key=lambda b: b.width() * b.height())
        shape = predictor(grey, box)
        big = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64) - _DETECT_BORDER
        small = (big + 0.5) / _DETECT_SCALE - 0.5  # pixel-centre convention of cv2.resize
        faces.append({"lfw_index": index, "landmarks": np.round(small, 3).tolist()})
    return {
        "source": "skimage.data.lfw_subset() faces 0-99 (Labeled Faces in the Wild, 25x25 grey crops)",
        "method": (
            f"dlib {dlib.__version__} HOG frontal detector (upsample 0) and 68-point shape predictor on a "
            f"{_DETECT_SCALE}x cubic upscale with a {_DETECT_BORDER} px replicate border; coordinates mapped "
            "back to the 25x25 crop (pixel centres)"
        ),
        "not_detected": missed,
        "faces": faces,
    }


def write_identity_table(path: Path = IDENTITY_FILE) -> Path:
    """Recompute and store the identity table (needs dlib and its 68-point model file)."""
    table = build_identity_table()
    faces = table.pop("faces")
    head = json.dumps(table, indent=1, sort_keys=True)[:-2]  # one face a line keeps the file small
    lines = ",\n  ".join(json.dumps(face, separators=(",", ":")) for face in faces)
    return atomic_write_text(path, f'{head},\n "faces": [\n  {lines}\n ]\n}}\n')


@dataclass(frozen=True)
class Appearance:
    """How one subject looks in its frames: identity, placement and lighting (fixed for the subject)."""

    lfw_index: int
    face_px: float  # side of the 25x25 crop once placed in the frame
    center: tuple[float, float]  # crop centre in the frame (x, y)
    roll_deg: float  # in-plane head roll of the subject's resting pose
    tint: tuple[float, float, float]  # BGR gain: skin tone
    brightness: float  # additive, in [0, 1] units
    contrast: float
    shading: float  # strength of a left-right lighting ramp
    shading_angle: float  # direction of that ramp (radians)


def random_appearance(lfw_index: int, size: int, rng: np.random.Generator) -> Appearance:
    """Draw one subject's look; identities differ far more than any micro-expression does."""
    tones = np.array([[0.78, 0.88, 1.00], [0.70, 0.82, 0.98], [0.85, 0.92, 1.00], [0.62, 0.72, 0.86]])
    tone = tones[rng.integers(len(tones))] * rng.uniform(0.95, 1.05, 3)
    return Appearance(
        lfw_index=lfw_index,
        face_px=float(size * rng.uniform(0.66, 0.74)),
        center=(float(size / 2 + rng.uniform(-0.02, 0.02) * size), float(size / 2 + rng.uniform(-0.02, 0.02) * size)),
        roll_deg=float(rng.uniform(-3.0, 3.0)),
        tint=tuple(float(t) for t in np.clip(tone, 0.4, 1.0)),
        brightness=float(rng.uniform(-0.06, 0.06)),
        contrast=float(rng.uniform(0.85, 1.15)),
        shading=float(rng.uniform(0.0, 0.18)),
        shading_angle=float(rng.uniform(0, 2 * np.pi)),
    )


def placement_matrix(look: Appearance) -> np.ndarray:
    """2x3 affine taking 25x25 crop pixel coordinates to frame coordinates (scale, roll, shift)."""
    scale = look.face_px / LFW_SIDE
    centre_src = (LFW_SIDE - 1) / 2.0
    angle = np.deg2rad(look.roll_deg)
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shift = np.asarray(look.center) - rot @ np.array([centre_src, centre_src])
    return np.hstack([rot, shift[:, None]])


def render_neutral(look: Appearance, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The subject's neutral face as a float32 BGR frame in [0, 1] and its (68, 2) landmarks."""
    matrix = placement_matrix(look)
    face = lfw_faces()[look.lfw_index]
    grey = cv2.warpAffine(face, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    grey = (grey - 0.5) * look.contrast + 0.5 + look.brightness
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    ramp = np.cos(look.shading_angle) * xx + np.sin(look.shading_angle) * yy
    grey = grey * (1.0 + look.shading * ramp * 2.0)
    image = np.clip(grey[..., None] * np.asarray(look.tint, dtype=np.float32), 0.0, 1.0).astype(np.float32)
    points = neutral_landmarks(look.lfw_index)
    landmarks = points @ matrix[:, :2].T + matrix[:, 2]
    return image, landmarks
