"""prepare(): one transform per clip, visible fallbacks, the cache, and the torch Dataset built on it.

The clips are a real photo (scikit-image's astronaut) given a landmark-driven micro-expression, written in
CASME II's raw layout by the test, so these tests do not depend on the synthetic dataset.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch

from tsfmicro_lite.preprocess.augment import JointAugment
from tsfmicro_lite.preprocess.dataset import MicroExpressionDataset, normalise
from tsfmicro_lite.preprocess.demo import face_photo, micro_expression_frames, write_clip
from tsfmicro_lite.preprocess.faces import FaceAligner, apply_transform, read_frame
from tsfmicro_lite.preprocess.pipeline import PrepConfig, prepare

SIZE = 32


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("photo_clips")
    photo = face_photo("astronaut", 128)  # face ≈ 45 px: dlib finds it
    marks = FaceAligner().locate(photo).landmarks
    rows = []
    for k, (au, label) in enumerate([("6+12", 0), ("1+2", 1), ("6+12", 0), ("1+2", 1)]):
        frames, truth = micro_expression_frames(photo, marks, au=au, amplitude=1.5, n_frames=7, apex=4,
                                                head_shift=(k - 1.5, 0.5 * k), head_angle=0.5 * k)
        rows.append(write_clip(root, frames, subject=f"sub0{k // 2 + 1}", clip=f"EP0{k}", onset=10, apex=14,
                               label=label, landmarks=truth))
    # one clip whose onset frame shows no face: dlib and Haar fail, the ground-truth landmarks take over
    frames, truth = micro_expression_frames(photo, marks, au="6+12", amplitude=1.5, n_frames=7, apex=4)
    frames[0] = np.full_like(frames[0], 120)
    rows.append(write_clip(root, frames, subject="sub02", clip="EP09", onset=10, apex=14, label=0, landmarks=truth))
    df = pd.DataFrame(rows)
    df.attrs["classes"] = ["happy", "surprise"]
    return df


@pytest.fixture(scope="module")
def prepared(clips, tmp_path_factory):
    return prepare(clips, PrepConfig(size=SIZE, motion="all", keep_candidates=True),
                   cache_dir=tmp_path_factory.mktemp("prep_cache"), workers=1)


def _no_detector(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the detector ran although the clip was cached")
    monkeypatch.setattr(FaceAligner, "detect", boom)
    monkeypatch.setattr(FaceAligner, "landmarks", boom)


def test_prepare_shapes_and_report(prepared, clips):
    n = len(clips)
    assert prepared.onset.shape == prepared.apex.shape == (n, SIZE, SIZE, 3) and prepared.onset.dtype == np.uint8
    assert prepared.flow.shape == (n, SIZE, SIZE, 2) and prepared.strain.shape == (n, SIZE, SIZE, 1)
    assert list(prepared.labels) == list(clips["label"]) and prepared.labels.dtype == np.int64
    assert list(prepared.sources) == ["dlib"] * 4 + ["landmarks"]
    assert prepared.report["sources"]["photo"]["landmarks"] == 1
    assert prepared.report["fallback_clips"]["landmarks"] == ["sub02/EP09"]
    assert "fallback landmarks: 1 clips (sub02/EP09)" in prepared.summary()


def test_one_transform_per_clip_from_the_onset(prepared, clips):
    for i, row in enumerate(clips.to_dict("records")[:4]):
        m = prepared.transforms[i]
        assert np.array_equal(prepared.onset[i], apply_transform(read_frame(row["onset_path"]), m, SIZE))
        assert np.array_equal(prepared.apex[i], apply_transform(read_frame(row["apex_path"]), m, SIZE))


def test_second_run_reads_the_cache_and_never_detects(prepared, clips, monkeypatch):
    _no_detector(monkeypatch)
    again = prepare(clips, prepared.config, cache_dir=prepared.report["cache"]["dir"].rsplit("/v1", 1)[0], workers=1)
    assert again.report["cache"]["clip_hits"] == len(clips) and again.report["cache"]["detector_runs"] == 0
    assert np.array_equal(again.onset, prepared.onset) and np.array_equal(again.flow, prepared.flow)


def test_changed_parameter_reuses_the_face_location(prepared, clips, monkeypatch):
    _no_detector(monkeypatch)
    cache = prepared.report["cache"]["dir"].rsplit("/v1", 1)[0]
    bigger = prepare(clips, PrepConfig(size=SIZE + 8), cache_dir=cache, workers=1)
    c = bigger.report["cache"]
    assert (c["clip_hits"], c["computed"], c["align_hits"]) == (0, len(clips), len(clips))
    assert bigger.onset.shape[1] == SIZE + 8 and bigger.flow is None


def test_touching_a_frame_invalidates_only_its_clip(prepared, clips):
    cache = prepared.report["cache"]["dir"].rsplit("/v1", 1)[0]
    path = clips.iloc[2]["apex_path"]
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    redo = prepare(clips, prepared.config, cache_dir=cache, workers=1)
    assert redo.report["cache"]["computed"] == 1 and redo.report["cache"]["detector_runs"] == 0


def test_two_workers_give_the_same_arrays(prepared, clips, tmp_path):
    par = prepare(clips, prepared.config, cache_dir=tmp_path, workers=2)
    assert par.report["cache"]["computed"] == len(clips)
    assert np.array_equal(par.onset, prepared.onset) and np.array_equal(par.apex, prepared.apex)


def test_missing_frame_is_named(clips, tmp_path):
    broken = clips.iloc[:1].copy()
    broken.at[broken.index[0], "apex_path"] = str(tmp_path / "sub01" / "EP00" / "img99.jpg")
    with pytest.raises(FileNotFoundError, match=r"img99\.jpg: frame of clip sub01/EP00 \(row 0\) is missing"):
        prepare(broken, PrepConfig(size=SIZE), cache_dir=tmp_path, workers=1)
    with pytest.raises(ValueError, match="PrepConfig.motion must be one of"):
        PrepConfig(motion="magnified")


def test_dataset_tensors_follow_the_contract(prepared):
    ds = MicroExpressionDataset(prepared)
    onset, motion, label = ds[1]
    assert onset.shape == motion.shape == (3, SIZE, SIZE) and onset.dtype == motion.dtype == torch.float32
    assert label.dtype == torch.int64 and int(label) == 1
    assert torch.allclose(onset, normalise(prepared.onset[1]))
    assert torch.allclose(motion, normalise(prepared.apex[1]) - normalise(prepared.onset[1]), atol=1e-6)
    # ImageNet normalisation: (x/255 − mean)/std lies within [−2.2, 2.7]
    assert onset.min() >= -2.2 and onset.max() <= 2.7
    flow = MicroExpressionDataset(prepared, motion="flow", size=64)[0][1]
    assert flow.shape == (2, 64, 64)
    assert MicroExpressionDataset(prepared, motion="strain")[0][1].shape == (1, SIZE, SIZE)


def test_training_augmentation_is_joint(prepared):
    ds = MicroExpressionDataset(prepared, train=True, augment=JointAugment(degrees=5, padding=4), seed=0)
    plain = MicroExpressionDataset(prepared)
    onset, motion, _ = ds[0]
    assert not torch.allclose(onset, plain[0][0])
    # replaying the same draw on both frames by hand gives exactly the returned motion
    ds2 = MicroExpressionDataset(prepared, train=True, augment=JointAugment(degrees=5, padding=4), seed=0)
    params = ds2.augment.sample(ds2.generator)
    from tsfmicro_lite.preprocess.augment import apply_joint

    o, a = apply_joint([normalise(prepared.onset[0]), normalise(prepared.apex[0])], params, padding=4)
    assert torch.allclose(onset, o) and torch.allclose(motion, a - o, atol=1e-6)


def test_pair_search_needs_candidates(prepared, clips, tmp_path):
    searched = MicroExpressionDataset(prepared, train=True, augment=False, pair_search=True)
    assert searched[0][0].shape == (3, SIZE, SIZE)
    plain = prepare(clips.iloc[:1], PrepConfig(size=SIZE), cache_dir=tmp_path, workers=1)
    with pytest.raises(ValueError, match=r"PrepConfig\(keep_candidates=True\)"):
        MicroExpressionDataset(plain, train=True, pair_search=True)
    with pytest.raises(ValueError, match=r"PrepConfig\(motion='flow'\)"):
        MicroExpressionDataset(plain, motion="flow")
