"""SMIC-HS (a release without a sheet), SMIC-E and the MEGC2019 composite: fake trees in the real releases' layouts.

SMIC-HS: ``<root>/HS/s<N>/micro/<positive|negative|surprise>/<clip>/reg_image<N>.bmp``, 16 of 20 subjects
with micro-expressions, 164 clips, no apex (the middle frame, counted). SMIC-E: ``HS_long/SMIC-HS-E/s01/s1_ne_01/
image<N>.jpg`` long clips with ``SMIC-HS-E_annotation`` (onset / offset, no apex). The composite pools CASME II,
SAMM and SMIC-HS trees holding the clips of the shipped MEGC2019 list (145 / 133 / 164 samples from 24 / 28 / 16
subjects) plus clips the list leaves out.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tsfmicro_lite.data import DatasetError, get_mapping, load_dataset
from tsfmicro_lite.data.composite import SAMPLES_FILE, composite_summary, megc2019_samples
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




# ------------------------------------------------------------------------------------------ SMIC-E
SMIC_E_HEADER = ["Subject", "Filename", "Emotion", "OnsetF", "OffsetF"]
SMIC_E_2019 = ["Subject", "Filename", "OnsetF", "OffsetF", "TotalMF1", "Onset2F", "Offset2F", "TotalMF2", "Onset3F",
               "Offset3F", "TotalMF3", "Emotion", "FirstF", "LastF", "TotalVL"]


def make_smic_e(hs_long: Path, header=SMIC_E_HEADER) -> Path:
    """``HS_long/SMIC-HS-E/s01/s1_ne_01/image559730.jpg`` ... (long clips) and ``HS_long/SMIC-HS-E_annotation.csv``."""
    rows = [header]
    clips = [(1, "s1_ne_01", "negative", 559740, 559750), (1, "s1_po_01", "positive", 701843, 701849),
             (20, "s20_sur_01", "surprise", 17597115, 17597121)]
    for subject, clip, emotion, onset, offset in clips:
        _frames(hs_long / "SMIC-HS-E" / f"s{subject:02d}" / clip,
                [f"image{f:06d}.jpg" for f in range(onset - 10, offset + 11)])  # the long clip around it
        values = {"Subject": subject, "Filename": clip, "Emotion": emotion, "OnsetF": onset, "OffsetF": offset}
        if header is SMIC_E_2019 and clip == "s1_ne_01":  # a second micro-expression in the same long clip
            values.update({"Onset2F": onset + 2, "Offset2F": offset + 8, "TotalMF1": offset - onset + 1})
        rows.append([values.get(h) for h in header])
    _write_csv(hs_long / "SMIC-HS-E_annotation.csv", rows)
    return hs_long


def test_smic_e_reads_its_sheet_long_clips_and_applies_the_middle_frame_rule(tmp_path):
    df = load_dataset("SMIC-E", make_smic_e(tmp_path / "HS_long"), classes=3)
    rep = df.attrs["report"]
    assert (len(df), sorted(df.subject.unique())) == (3, ["s1", "s20"])
    row = df.set_index("clip").loc["s1_ne_01"]
    assert (row.onset, row.apex, row.offset, row.class_name) == (559740, 559745, 559750, "negative")
    assert len(row.frame_paths) == 11 and Path(row.apex_path).name == "image559745.jpg"  # onset..offset only
    assert Path(row.clip_dir).parts[-3:] == ("SMIC-HS-E", "s01", "s1_ne_01")
    assert rep.fixes["apex missing ('/' or empty) → middle of onset..offset"] == 3
    assert Path(rep.sheet).name == "SMIC-HS-E_annotation.csv"
    assert "annotation sheet SMIC-HS-E_annotation.csv" in str(rep) and "no annotation sheet" not in str(rep)
    # the SMIC-HS-E folder as root (the sheet in its parent) reads the same rows
    assert len(load_dataset("smic", tmp_path / "HS_long" / "SMIC-HS-E")) == 3


def test_smic_e_2019_sheet_a_second_micro_expression_of_one_clip_is_one_more_sample(tmp_path):
    df = load_dataset("smic", make_smic_e(tmp_path / "HS_long", header=SMIC_E_2019), classes=3)
    same = df[df["clip"] == "s1_ne_01"]
    assert len(df) == 4 and [(r.onset, r.offset) for r in same.itertuples()] == [(559740, 559750),
                                                                                 (559742, 559758)]


def test_smic_e_sheet_without_its_columns_names_the_file(tmp_path):
    _frames(tmp_path / "SMIC-HS-E" / "s01" / "s1_ne_01", ["image000001.jpg"])
    _write_csv(tmp_path / "SMIC-HS-E_annotation.csv", [["Subject", "Filename", "Emotion"], [1, "s1_ne_01", "negative"]])
    with pytest.raises(DatasetError, match=r"SMIC-HS-E_annotation.csv: no header row with Subject, Filename, OnsetF"):
        load_dataset("smic", tmp_path)


# ------------------------------------------------------------------------------------------ MEGC2019
CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                 "Estimated Emotion"]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Type", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
# Sheet emotions for the list's classes (negative cycles through the member's negative emotions).
EMOTIONS_OF = {"casme2": {"positive": ["happiness"], "surprise": ["surprise"], "negative": ["disgust", "repression"]},
               "samm": {"positive": ["happiness"], "surprise": ["surprise"],
                        "negative": ["anger", "contempt", "disgust", "fear", "sadness"]}}
# Rows the MEGC2019 list does not hold: kept by CASME II's official 3-class mapping (fear, sadness: negative;
# subjects 10 and 18 have nothing else here) or dropped by every mapping (others / other).
CASME2_EXTRA = ([(10, "EP_fear_1", "fear"), (10, "EP_fear_2", "fear")]
                + [(18, f"EP_sad_{i}", "sadness") for i in range(4)] + [(5, f"EP_sad_{i}", "sadness") for i in range(3)]
                + [(s, f"EP_oth_{s}", "others") for s in range(1, 10)])
SAMM_EXTRA = [(s, f"{s:03d}_9_{s}", "other") for s in (6, 7, 9, 10, 11, 12, 13)]


def _write_csv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([["" if c is None else c for c in r] for r in rows])


def _listed(member: str):
    table = megc2019_samples()
    return table[table.dataset == member]


def make_casme2(root: Path, relabel: dict | None = None) -> Path:
    """The MEGC2019 list's CASME II clips in the release's Cropped layout, plus CASME2_EXTRA, one sheet."""
    rows, k = [CASME2_HEADER], 0
    clips = [(int(s[3:]), c, EMOTIONS_OF["casme2"][cls][(k := k + 1) % len(EMOTIONS_OF["casme2"][cls])])
             for s, c, cls in zip(*(_listed("casme2")[col] for col in ("subject", "clip", "class_name")))]
    for subject, clip, emotion in clips + CASME2_EXTRA:
        emotion = (relabel or {}).get(clip, emotion)
        rows.append([subject, clip, None, 10, 12, 14, None, "4", emotion])
        _frames(root / "Cropped" / f"sub{subject:02d}" / clip, [f"reg_img{f}.jpg" for f in range(10, 15)])
    _write_csv(root / "CASME2-coding-20190701.csv", rows)
    return root


def make_samm(root: Path) -> Path:
    """The MEGC2019 list's SAMM clips (title rows above the header, zero-padded frame names), plus SAMM_EXTRA."""
    rows, k = [["SAMM: FACS codes"], [None], SAMM_HEADER], 0
    clips = [(int(s), c, EMOTIONS_OF["samm"][cls][(k := k + 1) % len(EMOTIONS_OF["samm"][cls])])
             for s, c, cls in zip(*(_listed("samm")[col] for col in ("subject", "clip", "class_name")))]
    for subject, clip, emotion in clips + SAMM_EXTRA:
        rows.append([subject, clip, 1, 5560, 5563, 5566, 7, "Micro - 1/2", "R12", emotion, 1, None])
        _frames(root / f"{subject:03d}" / clip, [f"{subject:03d}_{f:05d}.jpg" for f in range(5560, 5567)])
    _write_csv(root / "SAMM_Micro_FACS_Codes_v2.csv", rows)
    return root


def make_smic_megc(root: Path) -> Path:
    """The MEGC2019 list's SMIC-HS clips in SMIC_all_cropped's layout (HS/s1/micro/<emotion>/s1_ne_01/)."""
    for subject, clip, cls in zip(*(_listed("smic")[col] for col in ("subject", "clip", "class_name"))):
        _frames(root / "HS" / subject / "micro" / cls / clip, [f"reg_image{f:06d}.bmp" for f in range(100, 105)])
    return root


def megc_roots(tmp_path: Path, **casme2) -> dict:
    return {"casme2": make_casme2(tmp_path / "CASME2", **casme2), "samm": make_samm(tmp_path / "SAMM"),
            "SMIC-HS": make_smic_megc(tmp_path / "SMIC_all_cropped")}


def test_the_shipped_megc2019_list_holds_442_samples_from_68_subjects_with_its_source():
    table = megc2019_samples()
    counts = table.groupby("dataset").agg(samples=("clip", "size"), subjects=("subject", "nunique"))
    assert counts.to_dict("index") == {"casme2": {"samples": 145, "subjects": 24},
                                       "samm": {"samples": 133, "subjects": 28},
                                       "smic": {"samples": 164, "subjects": 16}}
    assert table.groupby(["dataset", "class_name"]).size().to_dict() == {
        ("casme2", "negative"): 88, ("casme2", "positive"): 32, ("casme2", "surprise"): 25,
        ("samm", "negative"): 92, ("samm", "positive"): 26, ("samm", "surprise"): 15,
        ("smic", "negative"): 70, ("smic", "positive"): 51, ("smic", "surprise"): 43}
    assert not table.duplicated(["dataset", "subject", "clip"]).any()
    assert {"sub10", "sub18"}.isdisjoint(table.subject) and "s1_ne_01" in set(table["clip"])
    header = SAMPLES_FILE.read_text().split("\ndataset,")[0]
    assert "davidnvq/me_recognition/blob/ec082961e9a17d6ad1905f4c85c56498e08e0adf" in header
    assert "STSTNet" in header and "HTNet" in header


def test_megc2019_composite_selects_the_listed_442_samples_from_68_subjects(tmp_path):
    df = load_dataset("megc2019", roots=megc_roots(tmp_path))
    assert (len(df), df.subject.nunique()) == (442, 68)
    summary = composite_summary(df).set_index("dataset")
    assert summary[["samples", "subjects"]].to_dict("index") == {
        "casme2": {"samples": 145, "subjects": 24}, "samm": {"samples": 133, "subjects": 28},
        "smic": {"samples": 164, "subjects": 16}, "all": {"samples": 442, "subjects": 68}}
    assert df.attrs["classes"] == ["positive", "surprise", "negative"] and df.attrs["selection"] == "megc2019"
    assert summary.loc["casme2", "negative"] == 88 and summary.loc["samm", "negative"] == 92
    assert set(df.subject) >= {"casme2_sub01", "samm_006", "smic_s1"}
    assert df.groupby("subject")["dataset"].nunique().max() == 1, "no subject spans two datasets"
    report = df.attrs["report"]
    text = str(report)
    assert "442 samples from 68 subjects; selection: the MEGC2019 sample list" in text
    assert "casme2   145 samples,  24 subjects (MEGC2019: 145 / 24)" in text
    # what the list leaves out is counted by emotion and named; the mappings' own drops stay in the members' reports
    assert report.excluded["casme2"] == {"fear": 2, "sadness": 7} and "sub10/EP_fear_1" in text
    assert not report.excluded["samm"] and not report.excluded["smic"] and not any(report.missing.values())
    assert report.members["casme2"].skipped == {"'others' is not in the 3-class task (official mapping)": 9}
    assert report.members["samm"].skipped == {"'other' is not in the 3-class task (official mapping)": 7}


def test_megc2019_mapping_selection_keeps_what_the_members_mappings_keep(tmp_path):
    df = load_dataset("megc2019", roots=megc_roots(tmp_path), selection="mapping")
    summary = composite_summary(df).set_index("dataset")
    assert summary.loc["casme2", ["samples", "subjects"]].tolist() == [154, 26]  # + fear / sadness, sub10, sub18
    assert (len(df), df.attrs["selection"]) == (451, "mapping")
    assert "not the MEGC2019 list" in str(df.attrs["report"])


def test_megc2019_names_listed_samples_missing_and_takes_the_lists_label(tmp_path):
    roots = megc_roots(tmp_path, relabel={"EP02_01f": "surprise"})  # listed positive (sub01 and sub09)
    shutil.rmtree(tmp_path / "SMIC_all_cropped" / "HS" / "s18" / "micro" / "surprise" / "s18_sur_03")
    df = load_dataset("megc2019", roots=roots)
    report = df.attrs["report"]
    assert (len(df), report.samples["smic"]) == (441, 163)
    assert report.missing["smic"] == ["s18/s18_sur_03"] and "1 listed samples not in this copy" in str(report)
    assert df.set_index(["subject", "clip"]).loc[("casme2_sub01", "EP02_01f"), "class_name"] == "positive"
    assert report.relabelled["casme2"] == [f"sub{s}/EP02_01f: surprise → positive" for s in ("01", "09")]


def test_megc2019_mapping_is_each_members_three_class_mapping():
    """selection='mapping': positive = happiness; negative = every negative emotion (repression too); others dropped."""
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
    with pytest.raises(DatasetError, match=r"unknown megc2019 selection 'all'.*megc2019, mapping"):
        load_dataset("megc2019", roots={"smic": tmp_path}, selection="all")
    with pytest.raises(DatasetError, match=r"selection= picks the samples of the megc2019 composite"):
        load_dataset("smic", tmp_path, selection="mapping")
    make_smic(tmp_path / "other", counts={"positive": 2}, subjects=[1])  # clips named like SMIC's, none listed
    shutil.rmtree(tmp_path / "other" / "HS" / "s1" / "micro" / "positive" / "s1_po_01")
    (tmp_path / "other" / "HS" / "s1" / "micro" / "positive" / "s1_po_02").rename(
        tmp_path / "other" / "HS" / "s1" / "micro" / "positive" / "s1_po_99")
    with pytest.raises(DatasetError, match=r"smic: none of the 1 samples .* is in the MEGC2019 list .*"
                                           r"selection='mapping'"):
        load_dataset("megc2019", roots={"smic": tmp_path / "other"})
