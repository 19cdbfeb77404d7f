"""A real face photo given a synthetic micro-expression (notebook 01, "A real face through the same pipeline").

The photos ship inside installed packages (scikit-image's astronaut, matplotlib's grace_hopper), so no
download is needed. The motion reuses the synthetic generator's landmark-driven warp
(``synth.motion``: AU → landmark moves → Gaussian-RBF dense field → ``cv2.remap``), so the photo
moves exactly the way a SynthME face does. :func:`write_clip` stores such frames in CASME II's raw layout
with a one-row table shaped like ``load_dataset``'s, so the same ``prepare`` runs on it (tests use this too).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..synth.motion import RbfWarp, au_targets, expression_profile, similarity, warp_frame
from ..utils.io import atomic_path
from .faces import FaceAligner


def face_photo(name: str = "astronaut", size: int | None = None, crop: bool = True) -> np.ndarray:
    """A bundled real face photo as RGB uint8, square-cropped around the face (resized to ``size`` if given).

    The face fills about a third of the crop, so dlib's HOG detector (faces from ~40 px at upsample=1)
    still finds it down to ``size`` ≈ 96; ``crop=False`` gives the whole photo (the astronaut's then shows
    dlib's weak false hit on her chest at upsample=1).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "2 · Detection, landmarks, alignment".
    """
    if name == "astronaut":
        import skimage.data  # lazy: scikit-image loads only for this photo

        image = skimage.data.astronaut()
        image = image[0:256, 92:348] if crop else image  # 512×512 → the 256×256 around her face
    elif name == "grace_hopper":
        import matplotlib.cbook  # lazy: matplotlib loads only for this photo

        path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        image = image[0:512] if crop else image  # 600×512 → 512×512 with the face
    else:
        raise ValueError(f"unknown photo {name!r}; choose 'astronaut' or 'grace_hopper'")
    if size is not None:
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)


def micro_expression_frames(image: np.ndarray, landmarks: np.ndarray | None = None, au: str = "6+12",
                            amplitude: float = 2.0, n_frames: int = 9, apex: int = 5,
                            head_shift: Sequence[float] = (0.0, 0.0), head_angle: float = 0.0,
                            sigma: float | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Frames onset → apex → offset of a photo whose landmarks move by ``amplitude`` px at apex for ``au``.

    ``head_shift`` / ``head_angle`` (px, degrees at the last frame, linear over the clip) add rigid head
    motion, the distractor that per-clip alignment must not turn into a difference signal. Returns the
    frames and the moved landmarks (n_frames, 68, 2). Landmarks default to dlib's on the photo.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "3 · Why ONE transform per clip".
    """
    size = image.shape[0]
    if image.shape[1] != size:
        raise ValueError(f"micro_expression_frames needs a square image, got {image.shape[:2]}")
    if landmarks is None:
        landmarks = FaceAligner().locate(image, name="photo").landmarks
    landmarks = np.asarray(landmarks, dtype=np.float64)
    iod = float(np.linalg.norm(landmarks[45] - landmarks[36]))
    warp = RbfWarp(landmarks, size, sigma=sigma or 0.12 * iod)
    weights = warp.weights(au_targets(au, landmarks) * amplitude)
    field, at_marks = warp.field(weights), warp.at_landmarks(weights)
    profile = expression_profile(n_frames, apex, residual=0.2)
    centre = landmarks.mean(0)
    frames, marks = [], []
    for t, strength in enumerate(profile):
        frac = t / max(n_frames - 1, 1)
        head = similarity(head_angle * frac, np.asarray(head_shift, dtype=np.float64) * frac, centre)
        frames.append(warp_frame(image, (field * np.float32(strength)).astype(np.float32), head))
        moved = landmarks + strength * at_marks
        marks.append(moved @ head[:, :2].T + head[:, 2])
    return frames, np.stack(marks)


def write_clip(root: str | Path, frames: Sequence[np.ndarray], subject: str = "sub01", clip: str = "EP01_01",
               onset: int = 1, apex: int | None = None, label: int = 0, landmarks: np.ndarray | None = None,
               dataset: str = "photo") -> dict:
    """Write frames as ``<root>/<subject>/<clip>/img<N>.jpg`` and return a ``load_dataset``-shaped row.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "6 · A real face through the same pipeline".
    """
    clip_dir = Path(root) / subject / clip
    clip_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, frame in enumerate(frames):
        path = clip_dir / f"img{onset + k}.jpg"
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        with atomic_path(path) as tmp:
            tmp.write_bytes(data.tobytes())
        paths.append(str(path))
    apex = onset + len(frames) // 2 if apex is None else apex
    row = {"dataset": dataset, "subject": subject, "clip": clip, "onset": onset, "apex": apex,
           "offset": onset + len(frames) - 1, "label": label, "class_name": str(label), "clip_dir": str(clip_dir),
           "frame_paths": paths, "onset_path": paths[0], "apex_path": paths[apex - onset],
           "frame_numbers": list(range(onset, onset + len(frames)))}
    if landmarks is not None:
        lm_path = Path(root) / "landmarks" / subject / f"{clip}.npy"
        lm_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(lm_path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, np.asarray(landmarks, dtype=np.float32))
        row["landmarks_path"] = str(lm_path)
    return row
