"""tsfmicro_lite.synth.generator: SynthME's layout, counts, determinism, atomic caching and ground truth."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from tsfmicro_lite.cli import main
from tsfmicro_lite.synth import generator
from tsfmicro_lite.synth.generator import (
    MANIFEST_NAME,
    PROFILES,
    SHEET_COLUMNS,
    SHEET_NAME,
    SynthError,
    default_root,
    is_complete,
    list_synth_profiles,
    make_synthme,
    manifest_table,
)

# A small profile for the byte-level tests: same code paths, a fraction of the frames.
TINY = dataclasses.replace(
    PROFILES["quick"], name="tiny", n_subjects=2, min_clips=2, frames=(6, 8), size=96,
    class_counts=(("happiness", 2), ("surprise", 1), ("disgust", 1)),
)


def tree_hash(root: Path) -> str:
    """SHA-256 over every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def manifest(quick_root: Path) -> dict:
    return json.loads((quick_root / MANIFEST_NAME).read_text())


def test_default_root_is_in_the_cache(quick_root: Path):
    assert quick_root == default_root("quick", 0)
    assert quick_root.name == f"quick-seed0-v{generator.GENERATOR_VERSION}"
    assert is_complete(quick_root, "quick", 0)


def test_sheet_has_casme2_columns_and_profile_counts(quick_root: Path):
    sheet = pd.read_csv(quick_root / SHEET_NAME, dtype={"Action Units": str})
    assert list(sheet.columns) == SHEET_COLUMNS
    assert pd.api.types.is_integer_dtype(sheet["Subject"])
    assert sheet["Subject"].nunique() == PROFILES["quick"].n_subjects
    assert sheet["Estimated Emotion"].value_counts().to_dict() == PROFILES["quick"].counts
    assert (sheet["OnsetFrame"] < sheet["ApexFrame"]).all() and (sheet["ApexFrame"] < sheet["OffsetFrame"]).all()
    # every 3-class class (positive, surprise, negative) appears in several subjects
    negative = {"disgust", "repression", "fear", "sadness"}
    groups = sheet["Estimated Emotion"].map(lambda e: "negative" if e in negative else e)
    per_class = sheet.groupby(groups)["Subject"].nunique()
    assert per_class[["happiness", "surprise", "negative"]].min() >= 3, per_class.to_dict()


def test_frames_and_landmarks_match_the_sheet(quick_root: Path, manifest: dict):
    size = PROFILES["quick"].size
    sheet = pd.read_csv(quick_root / SHEET_NAME, dtype={"Action Units": str})
    for row in sheet.itertuples(index=False):
        clip_dir = quick_root / f"sub{row.Subject:02d}" / row.Filename
        names = sorted(os.listdir(clip_dir), key=lambda n: int(n[3:-4]))
        assert names == [f"img{n}.jpg" for n in range(row.OnsetFrame, row.OffsetFrame + 1)]
        marks = np.load(quick_root / "landmarks" / f"sub{row.Subject:02d}" / f"{row.Filename}.npy")
        assert marks.dtype == np.float32 and marks.shape == (len(names), 68, 2)
        assert marks.min() > 0 and marks.max() < size
    frame = cv2.imread(str(clip_dir / names[0]))
    assert frame.shape == (size, size, 3)
    assert manifest["n_clips"] == len(sheet) and manifest["synthetic"] is True
    assert {c["emotion"] for c in manifest["clips"]} == set(PROFILES["quick"].counts)


def test_motion_is_small_and_distractors_cut_across_classes(quick_root: Path):
    table = manifest_table(quick_root)
    shift = table["apex_max_landmark_shift_px"]
    assert shift.between(1.5, 5.5).all(), shift.describe()  # a few pixels at 128 px
    assert (shift / table["amplitude_px"]).between(0.8, 1.4).all()  # the field follows the AU targets
    assert table.loc[table["blink_frame"].notna(), "emotion"].nunique() >= 3  # blinks in any class
    assert (table["head_shift_px"] > 0.1).mean() > 0.8 and table["head_roll_deg"].abs().max() > 0.2
    for clip in table.itertuples():  # the ground-truth landmarks move most at the apex
        marks = np.load(quick_root / "landmarks" / clip.subject / f"{clip.clip}.npy")
        face = marks - marks.mean(axis=1, keepdims=True)  # remove head translation
        assert np.abs(face[clip.apex - clip.onset] - face[0]).max() > 0.5 * clip.apex_max_landmark_shift_px


@pytest.mark.slow  # starts two worker processes
def test_same_seed_same_bytes_any_worker_count_and_other_seed_differs(tmp_path: Path):
    a = make_synthme(tmp_path / "a", profile=TINY, seed=3, workers=1)
    b = make_synthme(tmp_path / "b", profile=TINY, seed=3, workers=2)
    c = make_synthme(tmp_path / "c", profile=TINY, seed=4, workers=1)
    assert tree_hash(a) == tree_hash(b)
    assert tree_hash(a) != tree_hash(c)


def test_complete_copy_is_reused_and_force_regenerates(tmp_path: Path):
    root = make_synthme(tmp_path / "d", profile=TINY, seed=0)
    stamp = (root / MANIFEST_NAME).stat().st_mtime_ns
    assert make_synthme(root, profile=TINY, seed=0) == root
    assert (root / MANIFEST_NAME).stat().st_mtime_ns == stamp
    make_synthme(root, profile=TINY, seed=0, force=True)
    assert (root / MANIFEST_NAME).stat().st_mtime_ns != stamp


def test_interrupted_generation_is_not_mistaken_for_complete(tmp_path: Path, monkeypatch):
    root = tmp_path / "e"
    real = generator._write_dataset

    def crash(out, *args, **kwargs):
        (out / "sub01").mkdir()
        (out / "sub01" / "img1.jpg").write_bytes(b"half")
        raise KeyboardInterrupt("simulated Ctrl-C")

    monkeypatch.setattr(generator, "_write_dataset", crash)
    with pytest.raises(KeyboardInterrupt):
        make_synthme(root, profile=TINY, seed=0)
    assert not root.exists() and not is_complete(root, TINY, 0)
    # a leftover .partial folder from a killed run (no cleanup) is ignored as well
    (tmp_path / ".e.partial-dead").mkdir()
    monkeypatch.setattr(generator, "_write_dataset", real)
    assert is_complete(make_synthme(root, profile=TINY, seed=0), TINY, 0)
    assert not (tmp_path / ".e.partial-dead").exists()  # cleaned up under the lock
    # a finished tree that lost a frame is detected and rebuilt
    next(root.glob("sub*/*/img*.jpg")).unlink()
    assert not is_complete(root, TINY, 0)
    assert is_complete(make_synthme(root, profile=TINY, seed=0), TINY, 0)


def test_refuses_to_overwrite_foreign_or_other_seed_folders(tmp_path: Path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep me")
    with pytest.raises(SynthError, match="not empty and holds no synthme.json"):
        make_synthme(foreign, profile=TINY)
    assert (foreign / "thesis.tex").exists()
    root = make_synthme(tmp_path / "f", profile=TINY, seed=0)
    with pytest.raises(SynthError, match=r"seed 0, not 'tiny' seed 1; pass force=True"):
        make_synthme(root, profile=TINY, seed=1)
    assert list_synth_profiles() == ["quick", "casme2-like", "samm-quick", "smic-quick"]
    with pytest.raises(SynthError, match=r"unknown SynthME profile 'huge'\. Expected one of: quick, casme2-like, "
                       r"samm-quick, smic-quick\."):
        make_synthme(tmp_path / "g", profile="huge")


def test_cli_synth_reuses_a_complete_copy(quick_root: Path, capsys):
    assert main(["data", "synth", "--profile", "quick", "--seed", "0", "--out", str(quick_root)]) == 0
    assert str(quick_root) in capsys.readouterr().out
    with pytest.raises(SystemExit) as stopped:  # the CLI offers the registry's profiles as choices
        main(["data", "synth", "--profile", "nope", "--out", str(quick_root.parent / "nope")])
    assert stopped.value.code == 2
    assert "invalid choice: 'nope' (choose from 'quick', 'casme2-like', 'samm-quick', 'smic-quick')" in \
        capsys.readouterr().err
