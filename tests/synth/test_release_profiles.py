"""SynthME in SAMM's and SMIC-HS's layouts (``samm-quick``, ``smic-quick``): each release's reader reads them as it
reads the release, they are reused once complete, and they are marked synthetic (issue 17)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2

from tsfmicro_lite.data import load_dataset
from tsfmicro_lite.synth import PROFILES, is_complete, make_synthme, read_manifest
from tsfmicro_lite.synth.generator import SAMM_SHEET_NAME

SMALL = {"n_subjects": 2, "min_clips": 2, "frames": (6, 8)}
SAMM_TINY = dataclasses.replace(PROFILES["samm-quick"], name="samm-tiny", **SMALL,
                                class_counts=(("happiness", 2), ("surprise", 1), ("repression", 1), ("others", 1)))
SMIC_TINY = dataclasses.replace(PROFILES["smic-quick"], name="smic-tiny", **SMALL,
                                class_counts=(("happiness", 2), ("surprise", 1), ("disgust", 2)))


def test_samm_layout_sheet_grey_padded_frames(tmp_path: Path):
    root = make_synthme(tmp_path / "samm", profile=SAMM_TINY)
    lines = (root / SAMM_SHEET_NAME).read_text().splitlines()
    assert lines[0].startswith("SAMM-shaped SynthME (SYNTHETIC") and lines[2].startswith("Subject,Filename,Inducement")
    df = load_dataset("samm", root, classes=3)
    assert len(df) == 4 and set(df.subject) == {"001", "002"}  # "Other" dropped, as SAMM's 3-class task does
    assert df.attrs["report"].skipped == {"'other' is not in the 3-class task (official mapping)": 1}
    assert set(df.emotion) <= {"Happiness", "Surprise", "Anger"}
    first = Path(df.onset_path[0])
    assert first.parent.parent.name == df.subject[0] and first.stem == f"{df.subject[0]}_{df.onset[0]:05d}"
    image = cv2.imread(str(first), cv2.IMREAD_UNCHANGED)
    assert image.ndim == 2 and image.shape == (SAMM_TINY.size, SAMM_TINY.size)  # grey, SAMM-sized
    assert read_manifest(root)["synthetic"] and is_complete(root, SAMM_TINY)
    stamp = os.stat(root / SAMM_SHEET_NAME).st_mtime_ns
    assert make_synthme(tmp_path / "samm", profile=SAMM_TINY) == root  # reused, not regenerated
    assert os.stat(root / SAMM_SHEET_NAME).st_mtime_ns == stamp


def test_smic_layout_folders_without_sheet_or_apex(tmp_path: Path):
    root = make_synthme(tmp_path / "smic", profile=SMIC_TINY)
    assert not [p for p in root.iterdir() if p.suffix in (".csv", ".xlsx")], "SMIC-HS ships no sheet"
    df = load_dataset("smic", root, classes=3)
    assert len(df) == 5 and set(df.subject) == {"s1", "s2"} and set(df.emotion) <= {"positive", "negative",
                                                                                      "surprise"}
    assert df.attrs["report"].fixes["apex missing ('/' or empty) → middle of onset..offset"] == 5
    assert (df.apex == (df.onset + df.offset) // 2).all()
    clip = Path(df.clip_dir[0])
    assert clip.parts[-5:-2] == ("HS", df.subject[0], "micro") and clip.name.startswith(f"{df.subject[0]}_")
    assert all(Path(p).suffix == ".bmp" and Path(p).name.startswith("reg_image") for p in df.frame_paths[0])
    assert is_complete(root, SMIC_TINY) and read_manifest(root)["sheet"] is None
