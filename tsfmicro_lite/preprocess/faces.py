"""Face detection, 68 landmarks and similarity alignment (taught in notebook 01, "Detection, landmarks, alignment").

Why this exists: the official TSFmicro code reads faces that were cropped beforehand by an unspecified
method (spec §1). Here every step is code: dlib's frontal detector (HOG; the MMOD CNN on request), dlib's
68-point shape predictor, then a similarity transform that puts the eyes on a horizontal line at a fixed
inter-ocular distance, crops with a margin and resizes, in one ``cv2.warpAffine``.

Why the transform is estimated once per clip (on the onset frame, see ``pipeline.py``): detector and
landmark jitter between two frames is about a pixel, which is as large as a micro-expression; aligning
every frame on its own would put that jitter into the apex − onset difference.

Fallbacks, always counted by the caller and never silent: dlib finds no face → OpenCV Haar cascade box
(landmarks still from dlib's shape predictor) → ground-truth landmarks (synthetic data) → the dataset's
own crop (the frame itself, resized, e.g. CASME II ``Cropped``) → :class:`FaceNotFoundError`.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import cv2
import numpy as np

from ..utils.model_files import cnn_detector_path, landmark_model_path

# dlib's 68-point scheme: points 36-41 are the eye on the image's left, 42-47 the one on its right.
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)
# Face geometry in units of the eye-centre distance, measured on the two bundled photos (astronaut,
# grace_hopper): jaw width (points 0-16) 2.14 / 2.17; brow-to-chin box centred 0.68 below the eye line.
FACE_WIDTH_IOD = 2.15
FACE_CENTRE_BELOW_EYES_IOD = 0.68

SOURCES = ("dlib", "dlib-cnn", "haar", "landmarks", "crop")
FALLBACKS = ("haar", "landmarks", "crop")


class FaceNotFoundError(RuntimeError):
    """No detector and no allowed fallback produced a face for an image."""


class FrameReadError(OSError):
    """A frame file is missing or cannot be decoded."""


_FIX = "re-copy the dataset or fix the annotation row that names it"

# libjpeg's warnings that mean the compressed pixel data is damaged (jerror.h: JWRN_EXTRANEOUS_DATA,
# JWRN_HIT_MARKER, JWRN_HUFF_BAD_CODE, JWRN_ARITH_BAD_CODE, JWRN_MUST_RESYNC (all "Corrupt JPEG data: ..."),
# JWRN_JPEG_EOF, JWRN_NOT_SEQUENTIAL, JWRN_BOGUS_PROGRESSION). Other lines (OpenCV's own log, a harmless
# "unknown JFIF revision number") are passed on to stderr unchanged.
_CORRUPT_JPEG = re.compile(r"Corrupt JPEG data|Premature end of JPEG file|Invalid SOS parameters|"
                           r"Inconsistent progression sequence")
_STDERR_LOCK = threading.Lock()  # fd 2 is process-wide: one decode at a time redirects it
_SINK: dict[int, Any] = {}  # pid → the unnamed temporary file that receives fd 2 while a JPEG decodes


def _after_fork() -> None:  # a forked child gets its own lock and sink (the parent's offset is shared)
    global _STDERR_LOCK
    _STDERR_LOCK = threading.Lock()
    _SINK.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _check_complete(path: str | Path, data: bytes) -> None:
    """Raise FrameReadError when a JPEG / PNG is truncated or its compressed data is corrupt (before decoding).

    A JPEG must end in its end-of-image marker (a file cut short and zero-padded decodes in both libraries),
    and the file is fully decoded by Pillow with ``LOAD_TRUNCATED_IMAGES`` off, which raises for a truncated
    file and for a data stream libjpeg gives up on ("broken data stream"). What libjpeg only *warns* about
    is caught by :func:`_imdecode_strict`.
    """
    from PIL import Image, ImageFile  # lazy: only frame reading needs Pillow

    if not (data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"):
        return  # BMP and others: OpenCV's own checks
    if data[:3] == b"\xff\xd8\xff" and b"\xff\xd9" not in data.rstrip(b"\x00")[-4096:]:
        # no end-of-image marker at the end (zero padding allowed): cut short, e.g. a copy into a preallocated file
        raise FrameReadError(f"{path}: frame is truncated or corrupt (JPEG end-of-image marker missing; "
                             f"{len(data)} bytes); {_FIX}")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        ImageFile.LOAD_TRUNCATED_IMAGES = False  # a process-wide switch someone turned on; truncation must raise
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError or ValueError for broken data
        raise FrameReadError(f"{path}: frame is truncated or corrupt ({exc}; {len(data)} bytes); {_FIX}") from None


@contextlib.contextmanager
def _stderr_captured() -> Iterator[list[str]]:
    """Collect what C code prints to the process's stderr (fd 2) inside the block; yields the list of lines.

    libjpeg (inside OpenCV) reports damaged data only by printing a warning to stderr, and decodes on; neither
    OpenCV nor Pillow exposes the warning. So fd 2 is pointed at a temporary file for the decode (under a lock:
    fd 2 is process-wide) and restored; what other threads printed meanwhile is written back to stderr by the
    caller. Where fd 2 cannot be duplicated (closed), nothing is captured.
    """
    lines: list[str] = []
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:
            yield lines
            return
        if os.getpid() not in _SINK:
            _SINK[os.getpid()] = tempfile.TemporaryFile(buffering=0)
        sink = _SINK[os.getpid()].fileno()
        with contextlib.suppress(Exception):
            sys.stderr.flush()  # Python's buffered text goes where it was headed
        os.dup2(sink, 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            size = os.lseek(sink, 0, os.SEEK_CUR)
            if size:
                os.lseek(sink, 0, os.SEEK_SET)
                lines += os.read(sink, size).decode("utf-8", "replace").splitlines()
                os.ftruncate(sink, 0)
                os.lseek(sink, 0, os.SEEK_SET)


def _imdecode_strict(path: str | Path, data: bytes) -> np.ndarray | None:
    """``cv2.imdecode`` (BGR), raising FrameReadError naming ``path`` when libjpeg warns that the data is corrupt.

    Flipped bits in a JPEG's entropy-coded data make libjpeg print "Corrupt JPEG data: N extraneous bytes
    before marker 0xd9", "... premature end of data segment", "... bad Huffman code" or "... found marker
    0xNN instead of RSTn" and return an image with damaged blocks; Pillow's decoder ignores the same warnings.
    """
    array = np.frombuffer(data, np.uint8)
    if data[:3] != b"\xff\xd8\xff":
        return cv2.imdecode(array, cv2.IMREAD_COLOR)
    with _stderr_captured() as lines:
        image = cv2.imdecode(array, cv2.IMREAD_COLOR)
    corrupt = [line.strip() for line in lines if _CORRUPT_JPEG.search(line)]
    others = [line for line in lines if not _CORRUPT_JPEG.search(line)]
    if others:  # not ours to swallow: OpenCV's own log, another thread's output
        with contextlib.suppress(OSError):
            os.write(2, ("\n".join(others) + "\n").encode())
    if corrupt:
        raise FrameReadError(f"{path}: frame is corrupt (libjpeg: {corrupt[0]}; it would decode with damaged "
                             f"blocks; {len(data)} bytes); {_FIX}")
    return image


def read_frame(path: str | Path) -> np.ndarray:
    """Read one frame as RGB uint8 (H, W, 3); grey files become three equal channels.

    Strict: a missing, unreadable (permissions), truncated or corrupt file raises :class:`FrameReadError`
    naming it, and so does a JPEG whose decoder warns that its data is corrupt (flipped bits); it never
    returns a partly grey or garbled image that a decoder noticed.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "2 · Detection, landmarks, alignment".
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FrameReadError(f"{path}: frame does not exist; {_FIX}") from None
    except OSError as exc:
        raise FrameReadError(f"{path}: frame cannot be read ({type(exc).__name__}: {exc.strerror or exc}); "
                             f"check its permissions, or {_FIX}") from None
    _check_complete(path, data)
    image = _imdecode_strict(path, data) if data else None
    if image is None:
        raise FrameReadError(f"{path}: frame cannot be decoded as an image (empty or corrupt?); {_FIX}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the image-left and image-right eyes from 68 landmarks."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    return landmarks[LEFT_EYE].mean(0), landmarks[RIGHT_EYE].mean(0)


def similarity_from_landmarks(landmarks: np.ndarray, size: int, margin: float = 0.2) -> np.ndarray:
    """2×3 similarity (rotation + uniform scale + shift) mapping the source image to the aligned crop.

    The eyes end up level, ``size / (FACE_WIDTH_IOD * (1 + 2 * margin))`` pixels apart, and the face box
    (jaw width × brow-to-chin) centred with ``margin`` of its width free on each side.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "2 · Detection, landmarks, alignment".
    """
    if np.asarray(landmarks).shape != (68, 2):
        raise ValueError(f"expected 68×2 landmarks, got shape {np.asarray(landmarks).shape}")
    left, right = eye_centres(landmarks)
    dx, dy = right - left
    iod = float(np.hypot(dx, dy))
    if iod < 1e-3:
        raise ValueError(f"eye centres coincide ({left} vs {right}); the landmarks cannot define an alignment")
    target_iod = size / (FACE_WIDTH_IOD * (1.0 + 2.0 * margin))
    scale = target_iod / iod
    angle = np.arctan2(dy, dx)
    cos, sin = scale * np.cos(-angle), scale * np.sin(-angle)
    rot = np.array([[cos, -sin], [sin, cos]])
    mid = (left + right) / 2.0
    target_mid = np.array([size / 2.0, size / 2.0 - FACE_CENTRE_BELOW_EYES_IOD * target_iod])
    shift = target_mid - rot @ mid
    return np.hstack([rot, shift[:, None]])


def crop_transform(shape: Sequence[int], size: int) -> np.ndarray:
    """2×3 affine resizing the whole frame to size×size: the 'dataset's own crop' fallback (as the official code)."""
    h, w = shape[:2]
    return np.array([[size / w, 0.0, 0.0], [0.0, size / h, 0.0]])


def apply_transform(image: np.ndarray, transform: np.ndarray, size: int) -> np.ndarray:
    """Warp ``image`` with a 2×3 transform into a size×size crop (bilinear, border replicated)."""
    return cv2.warpAffine(image, np.asarray(transform, dtype=np.float64), (size, size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def transform_points(points: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Map (N, 2) points with a 2×3 affine."""
    points = np.asarray(points, dtype=np.float64)
    return points @ np.asarray(transform)[:, :2].T + np.asarray(transform)[:, 2]


@dataclass
class FaceLocation:
    """Where the face is in a source image: which method found it, its box and its 68 landmarks."""

    source: str  # one of SOURCES
    box: tuple[int, int, int, int] | None  # x0, y0, x1, y1 in the source image
    score: float | None  # detector score (dlib), None for fallbacks
    landmarks: np.ndarray | None  # (68, 2) in the source image; None for the "crop" fallback
    image_shape: tuple[int, int]  # (H, W) of the source image


@dataclass
class AlignedFace:
    """One aligned face: the crop, its landmarks in crop coordinates, the source box and the transform.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "2 · Detection, landmarks, alignment".
    """

    image: np.ndarray  # (S, S, 3) uint8
    landmarks: np.ndarray | None  # (68, 2) float in the aligned image
    box: tuple[int, int, int, int] | None
    transform: np.ndarray  # (2, 3) source → aligned
    source: str
    score: float | None = None


class FaceAligner:
    """Detector + shape predictor + similarity alignment, with visible fallbacks.

    ``FaceAligner().align(image)`` handles one image; the pipeline calls :meth:`locate` on a clip's
    onset frame and :meth:`transform` once, then :func:`apply_transform` on every frame of that clip.
    Models load lazily (about 3 s: the 100 MB shape predictor once per process, the HOG detector once
    per thread).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "2 · Detection, landmarks, alignment".
    """

    def __init__(self, size: int = 224, margin: float = 0.2, detector: str = "hog", upsample: int = 1,
                 fallbacks: Sequence[str] = FALLBACKS, min_score: float = 0.0):
        if detector not in ("hog", "cnn"):
            raise ValueError(f"detector must be 'hog' or 'cnn', got {detector!r}")
        unknown = [f for f in fallbacks if f not in FALLBACKS]
        if unknown:
            raise ValueError(f"unknown fallbacks {unknown}; choose from {list(FALLBACKS)}")
        self.size, self.margin, self.detector, self.upsample = size, margin, detector, upsample
        self.fallbacks, self.min_score = tuple(fallbacks), min_score

    # -- models, loaded on first use and shared by every FaceAligner of the process ------------
    @property
    def shape_predictor(self):
        return _shape_predictor()

    def load_models(self) -> None:
        """Load the detector and shape predictor now (else on first use)."""
        with _borrow("cnn" if self.detector == "cnn" else "hog"):
            pass
        _shape_predictor()

    # -- steps ------------------------------------------------------------------------------------
    def detect(self, image: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        """dlib detections as (box, score), best score first (the astronaut's weak chest hit comes last)."""
        image = np.ascontiguousarray(image)
        if self.detector == "cnn":
            with _borrow("cnn") as cnn:
                found = cnn(image, self.upsample)
            hits = [((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), float(d.confidence))
                    for d in found]
        else:
            with _borrow("hog") as hog:
                rects, scores, _ = hog.run(image, self.upsample, self.min_score)
            hits = [((r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]
        return sorted(hits, key=lambda h: (-h[1], -(h[0][2] - h[0][0])))

    def detect_haar(self, image: np.ndarray) -> tuple[int, int, int, int] | None:
        """Largest OpenCV Haar-cascade face box, or None."""
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        with _borrow("haar") as cascade:
            found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5)
        if len(found) == 0:
            return None
        x, y, w, h = max(found, key=lambda b: b[2] * b[3])
        return int(x), int(y), int(x + w), int(y + h)

    def landmarks(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """dlib's 68 landmarks (x, y) inside ``box``."""
        import dlib  # lazy: dlib (and its 100 MB model) loads only when a face is detected

        shape = self.shape_predictor(np.ascontiguousarray(image), dlib.rectangle(*map(int, box)))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def locate(self, image: np.ndarray, gt_landmarks: np.ndarray | None = None, name: str = "image",
               use_detector: bool = True) -> FaceLocation:
        """Find the face with the detector, else with each allowed fallback in order; raise naming ``name``."""
        image = _as_rgb(image)
        shape = image.shape[:2]
        if use_detector:
            hits = self.detect(image)
            if hits:
                box, score = hits[0]
                source = "dlib-cnn" if self.detector == "cnn" else "dlib"
                return FaceLocation(source, box, score, self.landmarks(image, box), shape)
        for fallback in self.fallbacks:
            if fallback == "haar":
                box = self.detect_haar(image)
                if box is not None:
                    return FaceLocation("haar", box, None, self.landmarks(image, box), shape)
            elif fallback == "landmarks" and gt_landmarks is not None:
                gt = np.asarray(gt_landmarks, dtype=np.float64)
                x0, y0 = gt.min(0)
                x1, y1 = gt.max(0)
                return FaceLocation("landmarks", (int(x0), int(y0), int(x1), int(y1)), None, gt, shape)
            elif fallback == "crop":
                return FaceLocation("crop", None, None, None, shape)
        raise FaceNotFoundError(
            f"{name}: no face found by dlib ({self.detector}, upsample={self.upsample}) nor by the fallbacks "
            f"{list(self.fallbacks)}; allow fallbacks=('haar', 'landmarks', 'crop') or pass pre-cropped frames")

    def transform(self, location: FaceLocation) -> np.ndarray:
        """The 2×3 source → aligned transform for a located face."""
        if location.landmarks is None:
            return crop_transform(location.image_shape, self.size)
        return similarity_from_landmarks(location.landmarks, self.size, self.margin)

    def align(self, image: np.ndarray, gt_landmarks: np.ndarray | None = None, name: str = "image") -> AlignedFace:
        """Detect, find landmarks, align and crop one image (a clip uses this on its onset frame only)."""
        image = _as_rgb(image)
        location = self.locate(image, gt_landmarks=gt_landmarks, name=name)
        matrix = self.transform(location)
        landmarks = None if location.landmarks is None else transform_points(location.landmarks, matrix)
        return AlignedFace(apply_transform(image, matrix, self.size), landmarks, location.box, matrix,
                           location.source, location.score)


def align_clip(frames: Sequence[np.ndarray], aligner: FaceAligner, per_frame: bool = False,
               gt_landmarks: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
    """Aligned crops of a clip's frames: ONE transform from the first frame (default), or, to show why
    not (notebook 01), a separate detection and transform for every frame (``per_frame=True``).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "3 · Why ONE transform per clip".
    """
    gt = list(gt_landmarks) if gt_landmarks is not None else [None] * len(frames)
    if per_frame:
        return [aligner.align(f, gt_landmarks=g, name=f"frame {k}").image for k, (f, g) in enumerate(zip(frames, gt))]
    face = aligner.align(frames[0], gt_landmarks=gt[0], name="frame 0")
    return [apply_transform(_as_rgb(f), face.transform, aligner.size) for f in frames]


_LOCK = threading.Lock()
_SHAPE: list = []  # dlib's shape predictor is safe to share between threads: one per process
_FREE: dict[str, list] = {}  # dlib's detectors and OpenCV's cascade are not: each call borrows its own


def _shape_predictor():
    """dlib's 68-point shape predictor (100 MB), loaded once per process."""
    with _LOCK:
        if not _SHAPE:
            import dlib  # lazy: dlib (and its 100 MB model) loads only when a face is detected

            _SHAPE.append(dlib.shape_predictor(str(landmark_model_path())))
        return _SHAPE[0]


def _build(kind: str):
    import dlib  # lazy: dlib (and its 100 MB model) loads only when a face is detected

    if kind == "hog":
        return dlib.get_frontal_face_detector()  # ~2 s to build
    if kind == "cnn":
        return dlib.cnn_face_detection_model_v1(str(cnn_detector_path()))
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise FileNotFoundError(f"{path}: OpenCV Haar cascade missing (opencv-python-headless < 5 ships it)")
    return cascade


@contextlib.contextmanager
def _borrow(kind: str) -> Iterator:
    """A detector for this call only: reused across calls, built anew only while all are in use.

    dlib documents its object detectors as unsafe for concurrent use, so the pipeline's two worker
    threads each hold their own; a process ends up with as many as threads ran at once (usually 2).
    """
    with _LOCK:
        free = _FREE.setdefault(kind, [])
        model = free.pop() if free else None
    if model is None:
        model = _build(kind)
    try:
        yield model
    finally:
        with _LOCK:
            _FREE[kind].append(model)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {image.dtype}; convert with skimage.util.img_as_ubyte")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {image.shape}")
    return image
