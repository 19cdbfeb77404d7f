"""SMIC-HS (a release without a sheet) and the MEGC2019 composite: fake trees in the real releases' layouts.

SMIC-HS: ``<root>/HS/s<N>/micro/<positive|negative|surprise>/<clip>/reg_image<N>.bmp``, 16 of 20 subjects
with micro-expressions, 164 clips, no apex (the middle frame, counted). The composite pools CASME II, SAMM
and SMIC-HS trees shaped like the MEGC2019 release (145 / 133 / 164 samples from 24 / 28 / 16 subjects).
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tsfmicro_lite.data import DatasetError, get_mapping, load_dataset
from tsfmicro_lite.data.composite import composite_summary
from tsfmicro_lite.data.datasets.smic import APEX_RULE

# SMIC-HS: 16 subjects with micro-expressions (s7, s10, s16, s17 have none here), 164 clips.
SMIC_SUBJECTS = [s for s in range(1, 21) if s not in (7, 10, 16, 17)]
SMIC_COUNTS = {"positive": 51, "negative": 70, "surprise": 43}
SHORT = {"positive": "po", "negative": "ne", "surprise": "sur"}


def _frames(folder: Path, names) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def make_smic(root: Path, counts=SMIC_COUNTS, subjects=SMIC_SUBJECTS, frames=range(60698, 60703)) -> Path:
    hs = root / "HS"
    k = 0
    for emotion, n in counts.items():
        for i in range(n):
            s = subjects[k % len(subjects)]
            k += 1
            _frames(hs / f"s{s}" / "micro" / emotion / f"s{s}_{SHORT[emotion]}_{i + 1:02d}",
                    [f"reg_image{f:06d}.bmp" for f in frames])
    for s in range(1, 21):  # every subject has non-micro clips; those without micro-expressions only those
        _frames(hs / f"s{s}" / "non_micro" / f"s{s}_no_01", ["reg_image000001.bmp"])
    _frames(root / "VIS" / "s1" / "micro" / "positive" / "s1_po_01", ["image000001.bmp"])  # not read
    return root


def test_smic_hs_tree_loads_164_clips_of_16_subjects_with_the_middle_frame_as_apex(tmp_path):
    df = load_dataset("smic", make_smic(tmp_path), classes=3)
    rep = df.attrs["report"]
    assert (len(df), df.subject.nunique()) == (164, 16)
    assert df.attrs["classes"] == ["positive", "surprise", "negative"]
    assert df.groupby("class_name").size().to_dict() == SMIC_COUNTS
    assert sorted(df.subject.unique(), key=lambda s: int(s[1:])) == [f"s{s}" for s in SMIC_SUBJECTS]
    row = df.set_index("clip").loc["s1_po_01"]
    assert (row.onset, row.apex, row.offset) == (60698, 60700, 60702)
    assert Path(row.apex_path).name == "reg_image060700.bmp" and len(row.frame_paths) == 5
    assert Path(row.clip_dir).parts[-4:] == ("s1", "micro", "positive", "s1_po_01")
    assert rep.fixes["apex missing ('/' or empty) → middle of onset..offset"] == 164
    assert rep.layout == "raw" and Path(rep.frames_base).name == "HS" and "middle frame" in APEX_RULE
    # the HS folder itself works as root too; SMIC-E's zero-padded subject folders (s01) resolve
    assert len(load_dataset("SMIC-HS", tmp_path / "HS")) == 164
    (tmp_path / "HS" / "s1").rename(tmp_path / "HS" / "s01")
    assert "s1" in set(load_dataset("smic", tmp_path).subject)


def test_smic_errors_name_the_folder_and_the_fix(tmp_path):
    with pytest.raises(DatasetError, match=r"no SMIC-HS subject folders .* found in .*Fix: pass root= the HS folder"):
        load_dataset("smic", tmp_path)
    make_smic(tmp_path, counts={"positive": 2}, subjects=[1])
    (tmp_path / "HS" / "s1" / "micro" / "happy" / "s1_ha_01").mkdir(parents=True)
    _frames(tmp_path / "HS" / "s1" / "micro" / "happy" / "s1_ha_01", ["reg_image000001.bmp"])
    with pytest.raises(DatasetError, match=r"\(s1/s1_ha_01\): emotion 'happy' is not one of smic's labels "
                       r"\['negative', 'positive', 'surprise'\].*skip_bad_rows=True"):
        load_dataset("smic", tmp_path)
    (tmp_path / "HS" / "s1" / "micro" / "negative" / "s1_ne_09").mkdir(parents=True)
    df = load_dataset("smic", tmp_path, skip_bad_rows=True)
    assert len(df) == 2
    assert df.attrs["report"].skipped == {"unknown emotion": 1, "clip folder has no frames": 1}
    with pytest.raises(DatasetError, match=r"smic has no 5-class task; valid: 3"):
        load_dataset("smic", tmp_path, classes=5)


# ------------------------------------------------------------------------------------------ MEGC2019
CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                 "Estimated Emotion"]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Type", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
# MEGC2019's members (emotion -> clips kept), plus clips of the emotions the composite drops.
CASME2_CLIPS = {"happiness": 32, "surprise": 25, "disgust": 60, "repression": 27, "fear": 1, "others": 9}
SAMM_CLIPS = {"happiness": 26, "surprise": 15, "anger": 57, "contempt": 12, "disgust": 9, "fear": 8,
              "sadness": 6, "other": 7}


def _write_csv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([["" if c is None else c for c in r] for r in rows])


def make_casme2(root: Path, n_subjects: int = 24) -> Path:
    rows, k = [CASME2_HEADER], 0
    for emotion, n in CASME2_CLIPS.items():
        for i in range(n):
            s = k % n_subjects + 1
            k += 1
            clip = f"EP{k:02d}_{i:02d}"
            rows.append([s, clip, None, 10, 12, 14, None, "4", emotion])
            _frames(root / "Cropped" / f"sub{s:02d}" / clip, [f"reg_img{f}.jpg" for f in range(10, 15)])
    _write_csv(root / "CASME2-coding-20190701.csv", rows)
    return root


def make_samm(root: Path, n_subjects: int = 28) -> Path:
    rows, k = [["SAMM: FACS codes"], [None], SAMM_HEADER], 0
    for emotion, n in SAMM_CLIPS.items():
        for i in range(n):
            s = k % n_subjects + 6
            k += 1
            clip = f"{s:03d}_{k}_{i}"
            rows.append([s, clip, 1, 5560, 5563, 5566, 7, "Micro - 1/2", "R12", emotion, 1, None])
            _frames(root / f"{s:03d}" / clip, [f"{s:03d}_{f:05d}.jpg" for f in range(5560, 5567)])
    _write_csv(root / "SAMM_Micro_FACS_Codes_v2.csv", rows)
    return root


def test_megc2019_composite_reports_442_samples_from_68_subjects(tmp_path):
    roots = {"casme2": make_casme2(tmp_path / "CASME2"), "samm": make_samm(tmp_path / "SAMM"),
             "SMIC-HS": make_smic(tmp_path / "SMIC_all_cropped")}
    df = load_dataset("megc2019", roots=roots)
    assert (len(df), df.subject.nunique()) == (442, 68)
    summary = composite_summary(df).set_index("dataset")
    assert summary[["samples", "subjects"]].to_dict("index") == {
        "casme2": {"samples": 145, "subjects": 24}, "samm": {"samples": 133, "subjects": 28},
        "smic": {"samples": 164, "subjects": 16}, "all": {"samples": 442, "subjects": 68}}
    assert df.attrs["classes"] == ["positive", "surprise", "negative"]
    assert summary.loc["casme2", "negative"] == 88 and summary.loc["samm", "negative"] == 92
    assert set(df.subject) & {"casme2_sub01", "samm_006", "smic_s1"} == {"casme2_sub01", "samm_006", "smic_s1"}
    assert df.groupby("subject")["dataset"].nunique().max() == 1, "no subject spans two datasets"
    report = df.attrs["report"]
    assert "442 samples from 68 subjects" in str(report)
    assert report.members["casme2"].skipped == {"'others' is not in the 3-class task (official mapping)": 9}
    assert report.members["samm"].skipped == {"'other' is not in the 3-class task (official mapping)": 7}


def test_megc2019_mapping_is_each_members_three_class_mapping():
    """MEGC2019: positive = happiness; negative = every negative emotion (repression too); others dropped."""
    casme2, samm, smic = (get_mapping(d, 3) for d in ("casme2", "samm", "smic"))
    negative = casme2.classes.index("negative")
    assert casme2.classes == samm.classes == smic.classes == ("positive", "surprise", "negative")
    assert {e for e, label in casme2.labels.items() if label == negative} == {"repression", "disgust", "fear",
                                                                               "sadness"}
    assert {e for e, label in samm.labels.items() if label == negative} == {"anger", "contempt", "disgust",
                                                                             "fear", "sadness"}
    assert casme2.dropped == ("others",) and samm.dropped == ("other",) and not smic.dropped


def test_megc2019_errors_say_what_is_missing(tmp_path):
    with pytest.raises(DatasetError, match=r"megc2019 needs roots=\{'casme2'"):
        load_dataset("megc2019")
    with pytest.raises(DatasetError, match=r"unknown megc2019 member 'casme3'.*casme2, samm, smic"):
        load_dataset("megc2019", roots={"casme3": tmp_path})
    with pytest.raises(DatasetError, match="3-class task"):
        load_dataset("megc2019", roots={"smic": tmp_path}, classes=5)
