"""K frames of a clip (tsfmicro_lite.preprocess.frames): the samplers, the cache and the (K, 3, S, S) motion stack."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tsfmicro_lite.preprocess.dataset import MicroExpressionDataset, normalise
from tsfmicro_lite.preprocess.demo import face_photo, micro_expression_frames, write_clip
from tsfmicro_lite.preprocess.faces import FaceAligner, apply_transform, read_frame
from tsfmicro_lite.preprocess.frames import sample_frames, sample_positions
from tsfmicro_lite.preprocess.pipeline import PrepConfig, prepare

SIZE, K = 32, 4


def test_uniform_runs_onset_to_offset():
    assert sample_positions(21, 8, 5, "uniform") == [0, 5, 10, 15, 20]
    assert sample_positions(21, 8, 2, "uniform") == [0, 20]
    assert sample_positions(3, 1, 5, "uniform") == [0, 1, 1, 2, 2]       # a short clip repeats frames


@pytest.mark.parametrize("k", [2, 3, 4, 7, 12])
@pytest.mark.parametrize("n,apex", [(21, 8), (10, 0), (10, 9), (40, 30)])
def test_apex_centred_starts_at_the_onset_and_contains_the_apex(k, n, apex):
    pos = sample_positions(n, apex, k, "apex_centred")
    assert len(pos) == k and pos[0] == 0 and apex in pos and pos == sorted(pos)
    assert min(pos[1:]) >= apex // 2 and max(pos) <= (apex + n - 1 + 1) // 2


def test_k2_apex_centred_is_the_two_frame_input():
    assert sample_positions(21, 8, 2, "apex_centred") == [0, 8]
    row = {"frame_paths": [f"f{i}.jpg" for i in range(5, 15)], "onset_path": "f5.jpg", "apex_path": "f9.jpg",
           "onset": 5, "apex": 9}
    assert sample_frames(row, 2, "apex_centred") == (["f5.jpg", "f9.jpg"], [0, 4])


def test_bad_sampler_or_k_is_refused():
    with pytest.raises(ValueError, match=r"unknown frame sampler 'apex'.*apex_centred"):
        PrepConfig(frames=4, frame_sampler="apex")
    with pytest.raises(ValueError, match=r"frames=1"):
        PrepConfig(frames=1)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("frame_clips")
    photo = face_photo("astronaut", 128)
    marks = FaceAligner().locate(photo).landmarks
    rows = []
    for k, (au, label) in enumerate([("6+12", 0), ("1+2", 1)]):
        frames, truth = micro_expression_frames(photo, marks, au=au, amplitude=1.5, n_frames=9, apex=4,
                                                head_shift=(k, 0.5 * k))
        rows.append(write_clip(root, frames, subject=f"sub0{k + 1}", clip=f"EP0{k}", onset=10, apex=14,
                               label=label, landmarks=truth))
    df = pd.DataFrame(rows)
    df.attrs["classes"] = ["happy", "surprise"]
    return df


def test_prepared_frames_share_the_clip_transform_and_are_cached(clips, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    prepared = prepare(clips, PrepConfig(size=SIZE, frames=K), cache_dir=cache, workers=1)
    assert prepared.frames.shape == (2, K, SIZE, SIZE, 3) and prepared.frames.dtype == np.uint8
    assert prepared.frame_positions.tolist() == [[0, 3, 5, 8]] * 2              # uniform over 9 frames
    np.testing.assert_array_equal(prepared.frames[:, 0], prepared.onset)       # frame 0 is the onset crop
    row = clips.iloc[1]
    expected = apply_transform(read_frame(row["frame_paths"][5]), prepared.transforms[1], SIZE)
    np.testing.assert_array_equal(prepared.frames[1, 2], expected)             # the onset's transform
    sub = prepared.subset([1])
    assert sub.frames.shape == (1, K, SIZE, SIZE, 3)

    def boom(*args, **kwargs):
        raise AssertionError("re-computed although cached")
    monkeypatch.setattr(FaceAligner, "detect", boom)
    monkeypatch.setattr("tsfmicro_lite.preprocess.pipeline.warp_frames", boom)
    again = prepare(clips, PrepConfig(size=SIZE, frames=K), cache_dir=cache, workers=1)
    np.testing.assert_array_equal(again.frames, prepared.frames)
    assert again.report["cache"]["clip_hits"] == 2

    ds = MicroExpressionDataset(prepared, frames=True)
    onset, motion, label = ds[1]
    assert onset.shape == (3, SIZE, SIZE) and motion.shape == (K, 3, SIZE, SIZE) and int(label) == 1
    assert torch.equal(motion[0], torch.zeros_like(motion[0]))
    torch.testing.assert_close(motion[2], normalise(prepared.frames[1, 2]) - normalise(prepared.onset[1]))
    train = MicroExpressionDataset(prepared, train=True, frames=True, seed=0, size=2 * SIZE)
    onset, motion, _ = train[0]
    assert motion.shape == (K, 3, 2 * SIZE, 2 * SIZE)
    assert motion[0].abs().max() < 1e-6                # augmented with the frames: frame 0 − onset stays 0
    with pytest.raises(ValueError, match=r"PrepConfig\(frames=K\)"):
        MicroExpressionDataset(prepare(clips, PrepConfig(size=SIZE), cache_dir=cache, workers=1), frames=True)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:fold 0")  # two subjects, one clip each: a fold lacks a class
def test_train_variant_gives_sequence_its_frames_through_the_loso_code(clips, tmp_path):
    from tsfmicro_lite.train.reproduce import PreparedLosoData, resolve_variants, train_variant

    two_frame = prepare(clips, PrepConfig(size=SIZE), cache_dir=tmp_path, workers=1)
    data = PreparedLosoData(two_frame, augment=False, synthetic=True, table=clips)
    seq = data.with_frames(3)
    assert seq.frames and seq.prepared.frames.shape == (2, 3, SIZE, SIZE, 3)
    assert seq.dataset([0], train=False)[0][1].shape == (3, 3, SIZE, SIZE)
    assert seq.fingerprint() != data.fingerprint()
    with pytest.raises(ValueError, match=r"PrepConfig\(frames=5\)"):
        PreparedLosoData(two_frame).with_frames(5)            # no table to add frames from
    res = train_variant(data, "sequence", profile="quick", max_folds=1, verbose=False, epochs=1,
                        model_overrides={"num_frames": 3})
    assert len(res.pooled("honest")) == 1 and res.results["variant"].eq("sequence").all()
    assert "sequence" not in resolve_variants("all", "quick") and "sequence" in resolve_variants("all", "full")
    assert resolve_variants("sequence", "quick") == ["sequence"]
