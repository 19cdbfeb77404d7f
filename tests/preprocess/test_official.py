"""The official face path (``faces="dataset"``): the release's crops, transformed as the official code (spec §1).

The clips are written in CASME II's official crop layout (``<root>/Cropped/sub01/<clip>/reg_img<N>.jpg``) by
the test, from a real photo (scikit-image's astronaut) given a landmark-driven micro-expression; crops are
not square and not 224 px, as the release's are not.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from tsfmicro_lite.data import DatasetError
from tsfmicro_lite.data.layouts import in_cropped_copy
from tsfmicro_lite.preprocess.dataset import MicroExpressionDataset
from tsfmicro_lite.preprocess.demo import face_photo, micro_expression_frames, write_clip
from tsfmicro_lite.preprocess.faces import FaceAligner
from tsfmicro_lite.preprocess.official import crop_box, official_resize
from tsfmicro_lite.preprocess.pipeline import PrepConfig, prepare


def _clips(root: Path) -> pd.DataFrame:
    photo = face_photo("astronaut", 160)
    marks = FaceAligner().locate(photo).landmarks
    rows = []
    for k, (au, label) in enumerate([("6+12", 0), ("1+2", 1)]):
        frames, _ = micro_expression_frames(photo, marks, au=au, amplitude=1.5, n_frames=7, apex=4)
        x0, y0, x1, y1 = crop_box(marks, photo.shape, margin=0.1 + 0.05 * k)  # a release-like face crop
        frames = [f[y0:y1, x0:x1] for f in frames]
        row = write_clip(root / "Cropped", frames, subject="sub01", clip=f"EP0{k}_01", onset=10, apex=14, label=label,
                         dataset="casme2")
        for key in ("onset_path", "apex_path"):  # the official file names: reg_img<N>.jpg
            row[key] = row[key].replace("/img", "/reg_img")
        row["frame_paths"] = [p.replace("/img", "/reg_img") for p in row["frame_paths"]]
        for old in Path(row["clip_dir"]).glob("img*.jpg"):
            old.rename(old.with_name("reg_" + old.name))
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["classes"] = ["happy", "surprise"]
    return df


@pytest.fixture(scope="module")
def cropped(tmp_path_factory) -> pd.DataFrame:
    return _clips(tmp_path_factory.mktemp("official_layout"))


def _reference(path: str) -> torch.Tensor:
    """Spec §1 step by step: cv2.imread (BGR), BGR→RGB, PIL, Resize((224, 224)) = PIL bilinear, ToTensor, Normalize."""
    bgr = cv2.imread(path)
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    pil = Image.fromarray(rgb).resize((224, 224), Image.BILINEAR)   # torchvision Resize's default on a PIL image
    x = torch.from_numpy(np.asarray(pil).astype(np.float32) / 255.0).permute(2, 0, 1)  # ToTensor
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    return (x - mean) / std


def test_paper_preset_onset_and_motion_equal_the_official_transform(cropped, tmp_path):
    assert {Image.open(p).size for p in cropped["onset_path"]} != {(224, 224)}  # the crops really get resized
    prepared = prepare(cropped, PrepConfig(size=224, faces="dataset"), cache_dir=tmp_path, workers=1)
    assert set(prepared.sources) == {"dataset"} and prepared.report["cache"]["detector_runs"] == 0
    ds = MicroExpressionDataset(prepared, train=False)
    for k, row in enumerate(cropped.to_dict("records")):
        onset, motion, _ = ds[k]
        ref_onset = _reference(row["onset_path"])
        ref_motion = _reference(row["apex_path"]) - ref_onset
        assert onset.shape == motion.shape == (3, 224, 224)
        torch.testing.assert_close(onset, ref_onset, rtol=0, atol=1e-5)
        torch.testing.assert_close(motion, ref_motion, rtol=0, atol=1e-5)
        assert float(ref_motion.abs().max()) > 0.1  # the clip moves: the comparison is not of zeros


def test_official_resize_is_pil_bilinear_not_cv2_or_pil_default():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (151, 133, 3), dtype=np.uint8)
    ours = official_resize(image, 224)
    assert ours.dtype == np.uint8 and ours.shape == (224, 224, 3)
    assert np.array_equal(ours, np.asarray(Image.fromarray(image).resize((224, 224), Image.BILINEAR)))
    assert not np.array_equal(ours, np.asarray(Image.fromarray(image).resize((224, 224))))  # PIL's BICUBIC default
    assert not np.array_equal(ours, cv2.resize(image, (224, 224), interpolation=cv2.INTER_LINEAR))


def test_dataset_faces_on_a_raw_copy_names_the_folder_and_the_fix(cropped, tmp_path):
    raw = cropped.copy()
    raw.attrs = dict(cropped.attrs)
    raw_root = tmp_path / "CASME2_raw"
    for col, up in (("onset_path", 2), ("apex_path", 2), ("clip_dir", 1)):  # <root>/sub01/<clip>/...
        raw[col] = [str(raw_root / Path(p).relative_to(Path(p).parents[up])) for p in cropped[col]]
    assert not in_cropped_copy(raw["clip_dir"].iloc[0]) and in_cropped_copy(cropped["clip_dir"].iloc[0])
    with pytest.raises(DatasetError) as err:
        prepare(raw, PrepConfig(size=32, faces="dataset"), cache_dir=tmp_path / "cache")
    message = str(err.value)
    assert str(raw_root) in message and "Cropped" in message and "faces='align'" in message


def test_faces_is_validated_and_part_of_the_cache_key(cropped, tmp_path):
    with pytest.raises(ValueError, match="faces"):
        PrepConfig(faces="detect")
    a = prepare(cropped, PrepConfig(size=32, faces="dataset"), cache_dir=tmp_path, workers=1)
    b = prepare(cropped, PrepConfig(size=32, faces="align"), cache_dir=tmp_path, workers=1)
    assert b.report["cache"]["clip_hits"] == 0 and set(b.sources) != {"dataset"}
    assert not np.array_equal(a.onset, b.onset)
    assert "release's own crops" in a.summary()
