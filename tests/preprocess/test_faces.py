"""Face detection, landmarks and alignment on real bundled photos, plus the visible fallbacks."""
from __future__ import annotations

import numpy as np
import pytest

from tsfmicro_lite.preprocess.demo import face_photo
from tsfmicro_lite.preprocess.faces import (
    FaceAligner,
    FaceNotFoundError,
    FrameReadError,
    eye_centres,
    read_frame,
    similarity_from_landmarks,
    transform_points,
)


@pytest.fixture(scope="module")
def aligner() -> FaceAligner:
    return FaceAligner(size=128)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return face_photo("astronaut", crop=False)  # the whole 512×512 photo


def test_astronaut_detection_picks_the_face_not_the_chest(aligner, astronaut):
    hits = aligner.detect(astronaut)  # upsample=1: the face plus a weak false hit on the chest
    assert len(hits) == 2, f"expected the face and the weak chest hit at upsample=1, got {hits}"
    (x0, y0, x1, y1), score = hits[0]
    assert score > 0.8, f"the best hit should be the face with a high score, got {score:.2f}"
    # The face of the 512×512 astronaut lies around x 180-265, y 80-170 (checked by eye in notebook 01).
    assert 150 < (x0 + x1) / 2 < 260 and 90 < (y0 + y1) / 2 < 160, hits[0]
    assert all(s <= score for _, s in hits)


def test_astronaut_alignment_levels_the_eyes_at_fixed_distance(aligner, astronaut):
    face = aligner.align(astronaut)
    assert face.source == "dlib" and face.image.shape == (128, 128, 3) and face.image.dtype == np.uint8
    assert face.landmarks.shape == (68, 2)
    left, right = eye_centres(face.landmarks)
    assert abs(left[1] - right[1]) < 0.5, "eyes must be level after alignment"
    expected_iod = 128 / (2.15 * (1 + 2 * 0.2))
    assert np.linalg.norm(right - left) == pytest.approx(expected_iod, rel=1e-6)
    # every landmark of the aligned face lies inside the crop (the margin leaves room around the face)
    assert face.landmarks.min() > 0 and face.landmarks.max() < 128
    # the crop really shows the face: it is the warp of the photo, not something else
    assert np.allclose(transform_points(aligner.landmarks(astronaut, face.box), face.transform),
                       face.landmarks, atol=1e-6)


def test_grace_hopper_one_face_68_landmarks(aligner):
    photo = face_photo("grace_hopper")
    hits = aligner.detect(photo)
    assert len(hits) == 1
    face = aligner.align(photo)
    assert face.landmarks.shape == (68, 2) and face.source == "dlib"


def test_similarity_is_rotation_invariant():
    rng = np.random.default_rng(0)
    marks = rng.uniform(30, 90, size=(68, 2))
    marks[36:42] = [40, 50] + rng.normal(0, 1, (6, 2))
    marks[42:48] = [80, 50] + rng.normal(0, 1, (6, 2))
    angle = np.deg2rad(17.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    turned = (marks - 60) @ rot.T * 1.7 + [100, 80]
    a = transform_points(marks, similarity_from_landmarks(marks, 64))
    b = transform_points(turned, similarity_from_landmarks(turned, 64))
    assert np.allclose(a, b, atol=1e-6), "aligning a rotated, scaled, shifted face must give the same crop"


def test_fallbacks_are_used_in_order_and_named():
    blank = np.full((96, 96, 3), 127, np.uint8)
    gt = np.zeros((68, 2))
    gt[:, 0], gt[:, 1] = np.linspace(20, 70, 68), np.linspace(30, 80, 68)
    gt[36:42], gt[42:48] = [35, 40], [60, 40]
    assert FaceAligner(size=32).align(blank, gt_landmarks=gt).source == "landmarks"
    crop = FaceAligner(size=32).align(blank)  # no ground truth: the dataset's own crop (resize)
    assert crop.source == "crop" and crop.landmarks is None and crop.image.shape == (32, 32, 3)
    with pytest.raises(FaceNotFoundError, match=r"sub01/img1\.jpg: no face found by dlib"):
        FaceAligner(fallbacks=()).align(blank, name="sub01/img1.jpg")


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(FrameReadError, match=r"img7\.jpg: frame does not exist"):
        read_frame(tmp_path / "img7.jpg")
    (tmp_path / "img8.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(FrameReadError, match=r"img8\.jpg: frame cannot be decoded"):
        read_frame(tmp_path / "img8.jpg")
    with pytest.raises(ValueError, match="unknown fallbacks"):
        FaceAligner(fallbacks=("magic",))
    with pytest.raises(ValueError, match="expected a uint8 image"):
        FaceAligner().align(np.zeros((10, 10, 3), np.float32))


def test_haar_cascade_takes_over_when_dlib_misses_a_small_face():
    small = face_photo("astronaut", 128, crop=False)  # her face is ~22 px wide: below HOG's ~40 px at upsample=1
    aligner = FaceAligner(size=64)
    assert aligner.detect(small) == []
    location = aligner.locate(small)
    assert location.source == "haar" and location.landmarks.shape == (68, 2)


def test_one_transform_per_clip_beats_per_frame_alignment():
    """Measured on the astronaut with a 1.5 px smile and a still head: per-frame alignment adds jitter
    (mean |apex − onset| ≈ 0.020 in notebook 01 at 112 px) about 3× the expression alone (≈ 0.006)."""
    from tsfmicro_lite.preprocess.demo import micro_expression_frames
    from tsfmicro_lite.preprocess.faces import align_clip

    photo = face_photo("astronaut", 160)
    frames, _ = micro_expression_frames(photo, au="6+12", amplitude=1.5, n_frames=6, apex=3)
    aligner = FaceAligner(size=96)
    per_frame, per_clip = align_clip(frames, aligner, per_frame=True), align_clip(frames, aligner)

    def change(crops):
        return np.abs(crops[3].astype(float) - crops[0].astype(float)).mean() / 255

    assert change(per_clip) < 0.6 * change(per_frame), (change(per_clip), change(per_frame))


def test_cnn_detector_on_request():
    """dlib's MMOD CNN detector (optional, slow on CPU: ~0.5 s on this 256 px photo, ~3 s on full frames)."""
    photo = face_photo("grace_hopper", 256)
    face = FaceAligner(size=64, detector="cnn", upsample=0, fallbacks=()).align(photo)
    assert face.source == "dlib-cnn" and face.landmarks.shape == (68, 2)
    with pytest.raises(ValueError, match="detector must be 'hog' or 'cnn'"):
        FaceAligner(detector="mtcnn")
