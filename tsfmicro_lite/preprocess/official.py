"""The official per-image transform of the release's own face crops (``PrepConfig(faces="dataset")``, spec §1).

The official code runs no face detector: it reads the release's crops (CASME II
``Cropped/subXX/<clip>/reg_img<N>.jpg``, SAMM's and CAS(ME)^3's cropped folders) with ``cv2.imread``,
turns BGR into RGB, and applies ``transforms.Compose([ToPILImage(), Resize((224, 224)), ToTensor(),
Normalize(ImageNet mean, std)])`` to the onset and the apex separately. Here:

1. :func:`read_frame` (``faces.py``) is ``cv2.imread`` + BGR→RGB, as the official code;
2. :func:`official_resize` is torchvision's ``Resize((224, 224))`` on a PIL image, i.e.
   ``PIL.Image.resize(size, resample=BILINEAR)``: torchvision passes ``InterpolationMode.BILINEAR`` (its
   default) to PIL, and PIL's bilinear filter widens its support when it shrinks (PIL always antialiases).
   Note that PIL's *own* ``Image.resize`` default is BICUBIC (Pillow ≥ 7): the official path is bilinear;
3. ToTensor (÷255) and the ImageNet normalisation are :func:`~tsfmicro_lite.preprocess.dataset.normalise`,
   applied when a sample is read, so the cache keeps uint8 frames exactly as PIL returned them.

:func:`write_cropped_copy` writes a SynthME table in the official crop layout (``<out>/Cropped/<subject>/
<clip>/reg_img<N>.jpg``, one fixed face box per clip around its ground-truth landmarks), so notebook 01 and
the tests can run both face paths on the same synthetic clip.
"""
from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..synth.generator import MANIFEST_NAME
from ..utils.io import atomic_path, atomic_write_bytes, atomic_write_text
from .faces import read_frame

OFFICIAL_SIZE = 224  # every official script resizes its crops to 224×224 (spec §1)
RESIZE_FILTER = "bilinear"  # torchvision Resize's default, which it hands to PIL (not PIL's own BICUBIC default)


def official_resize(rgb: np.ndarray, size: int = OFFICIAL_SIZE) -> np.ndarray:
    """uint8 RGB (H, W, 3) → uint8 (size, size, 3), as torchvision ``Resize((size, size))`` on a PIL image.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "7 · The official face path: the release's crops".
    """
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    return np.asarray(image.resize((size, size), resample=Image.Resampling.BILINEAR), dtype=np.uint8)


def official_frame(path: str | Path, size: int = OFFICIAL_SIZE) -> np.ndarray:
    """One crop file → the uint8 frame the official transform normalises (read, BGR→RGB, PIL bilinear resize)."""
    return official_resize(read_frame(path), size)


def crop_box(landmarks: np.ndarray, shape: tuple[int, ...], margin: float = 0.15) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the landmarks' bounding box widened by ``margin`` of its size, inside the image."""
    marks = np.asarray(landmarks, dtype=np.float64)
    (x0, y0), (x1, y1) = marks.min(0), marks.max(0)
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    h, w = shape[:2]
    return (max(0, int(np.floor(x0 - dx))), max(0, int(np.floor(y0 - dy))),
            min(w, int(np.ceil(x1 + dx))), min(h, int(np.ceil(y1 + dy))))


def write_cropped_copy(df, out: str | Path, margin: float = 0.15, quality: int = 95) -> Path:
    """Write the clips of a SynthME ``load_dataset`` table as a release would crop them; returns ``out``.

    Per clip, one box (the onset frame's ground-truth landmarks, widened by ``margin``) crops every frame,
    written as ``<out>/Cropped/<subject>/<clip>/reg_img<N>.jpg`` (JPEG ``quality``); the sheet and the
    landmarks (shifted into the crop) are copied, so ``load_dataset("synthme", out)`` reads the crops
    (``layout="cropped"``). Every file is written atomically; existing files are overwritten.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "7 · The official face path: the release's crops".
    """
    out = Path(out)
    if "landmarks_path" not in df.columns:
        raise ValueError("write_cropped_copy needs ground-truth landmarks (a SynthME table, column landmarks_path); "
                         "for a real dataset use the release's own Cropped/ folder")
    sheets = {Path(str(p)).parents[2] for p in df["landmarks_path"]}  # <root>/landmarks/<subject>/<clip>.npy
    kept = {(int(re.sub(r"\D", "", str(s)) or -1), str(c)) for s, c in zip(df["subject"], df["clip"])}
    for root in sheets:
        for sheet in root.glob("*.csv"):  # only the rows of the clips copied, so the copy loads without gaps
            lines = sheet.read_text().splitlines()
            rows = [ln for ln in lines[1:] if (int(ln.split(",")[0]), ln.split(",")[1]) in kept]
            atomic_write_text(out / sheet.name, "\n".join([lines[0], *rows]) + "\n")
    for row in df.to_dict("records"):
        marks = np.load(str(row["landmarks_path"]))
        numbers = list(row["frame_numbers"])
        onset_k = numbers.index(int(row["onset"])) if int(row["onset"]) in numbers else 0
        first = read_frame(row["frame_paths"][0])
        x0, y0, x1, y1 = crop_box(marks[onset_k], first.shape, margin)
        clip_dir = out / "Cropped" / str(row["subject"]) / str(row["clip"])
        for number, path in zip(numbers, row["frame_paths"]):
            crop = read_frame(path)[y0:y1, x0:x1]
            ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise OSError(f"could not encode {path} as JPEG for {clip_dir}")
            atomic_write_bytes(clip_dir / f"reg_img{number}.jpg", data.tobytes())
        shifted = (marks - np.array([x0, y0], dtype=marks.dtype)).astype(np.float32)
        with atomic_path(out / "landmarks" / str(row["subject"]) / f"{row['clip']}.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, shifted)
    for manifest in (r / MANIFEST_NAME for r in sheets):
        if manifest.is_file():  # keeps the copy labelled synthetic (read_manifest)
            atomic_write_bytes(out / manifest.name, manifest.read_bytes())
    return out
