"""Tests for tsfmicro_lite.data readers: fake CASME II / SAMM / CAS(ME)^3 trees in every layout users
have (built by ``tests/data/fakes.py``), sheets with the real column names and quirks, and a reference
test pinning spec §6."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pytest

from tsfmicro_lite.data import DatasetError, load_dataset
from tsfmicro_lite.data.mappings import (
    MAPPINGS,
    OFFICIAL_LOSO_RAW,
    get_mapping,
    normalise_subject,
    official_loso_subjects,
)
from tsfmicro_lite.data.readers import dataset_report
from tsfmicro_lite.data.sheets import normalise_action_units, parse_frame

from .fakes import CASME2_HEADER, CASME2_ROWS, make_casme2, make_casme3, make_samm, write_sheet


# ----------------------------------------------------------------------------------- CASME II
@pytest.mark.parametrize("cropped", [False, True], ids=["raw", "cropped"])
def test_casme2_three_class_counts_fixes_and_paths(tmp_path, cropped):
    root = make_casme2(tmp_path, cropped=cropped)
    df = load_dataset("casme2", root, classes=3)
    rep = df.attrs["report"]
    assert df.attrs["classes"] == ["positive", "surprise", "negative"]
    assert list(df["clip"]) == ["EP02_01f", "EP03_02", "EP04_01", "EP06_01", "EP07_01", "EP08_01"]
    assert list(df.subject) == ["sub01", "sub02", "sub02", "sub03", "sub04", "sub04"]
    assert list(df.label) == [0, 1, 2, 2, 0, 2]
    assert (rep.rows_read, rep.rows_kept, rep.rows_skipped) == (7, 6, 1)
    assert rep.skipped == {"'others' is not in the 3-class task (official mapping)": 1}
    assert rep.layout == ("cropped" if cropped else "raw")
    row = df.set_index("clip")
    assert row.loc["EP03_02", "apex"] == 23  # '/' → middle of 20..26
    assert (row.loc["EP04_01", "apex"], row.loc["EP04_01", "offset"]) == (9, 9)
    assert row.loc["EP07_01", "onset"] == 31  # nearest frame on disk
    assert row.loc["EP08_01", "frame_numbers"] == [60, 61, 62, 64, 65, 66]
    assert rep.missing_frames == 1 and rep.clips_with_missing_frames == 1
    assert rep.fixes["apex missing ('/' or empty) → middle of onset..offset"] == 1
    assert rep.fixes["apex after offset → offset moved to the apex"] == 1
    assert rep.fixes["onset frame not on disk → nearest frame within 3"] == 1
    first = df.iloc[0]
    name = "reg_img" if cropped else "img"
    assert Path(first.onset_path).name == f"{name}10.jpg"
    assert Path(first.apex_path).name == f"{name}13.jpg"
    assert [Path(p).name for p in first.frame_paths] == [f"{name}{n}.jpg" for n in range(10, 17)]
    assert all(Path(p).is_file() for paths in df.frame_paths for p in paths)
    assert list(df.action_units[:3]) == ["4+7", "R12", "14"] and df.action_units[3] == "4"
    assert list(df.emotion[:2]) == ["happiness", "Surprise"]  # as in the sheet, stripped
    assert df.onset.dtype == np.int64 and df.label.dtype == np.int64


def test_casme2_five_class_drops_fear_and_keeps_others(tmp_path):
    df = load_dataset("casme2", make_casme2(tmp_path), classes=5)
    assert df.attrs["classes"] == ["happiness", "repression", "disgust", "surprise", "others"]
    assert dict(zip(df["clip"], df.label)) == {"EP02_01f": 0, "EP03_02": 3, "EP04_01": 2,
                                            "EP05_01": 4, "EP07_01": 0, "EP08_01": 1}
    assert df.attrs["report"].skipped == {"'fear' is not in the 5-class task (official mapping)": 1}


def test_cropped_preferred_when_both_copies_exist_and_layout_selects(tmp_path):
    make_casme2(tmp_path, cropped=True)
    make_casme2(tmp_path, cropped=False)
    assert "reg_img" in load_dataset("casme2", tmp_path).onset_path[0]
    assert "/img" in load_dataset("casme2", tmp_path, layout="raw").onset_path[0]


def test_csv_sheet_passed_explicitly_and_unpadded_subject_folders(tmp_path):
    rows = [("1", "EP01_01", 1, 2, 3, "12", "happiness", range(1, 4))]
    make_casme2(tmp_path / "data", rows)
    (tmp_path / "data" / "sub01").rename(tmp_path / "data" / "sub1")
    (tmp_path / "data" / "CASME2-coding-20190701.xlsx").unlink()
    sheet = write_sheet(tmp_path / "elsewhere" / "my labels.csv",
                        [CASME2_HEADER, [1, "EP01_01", "", 1, 2, 3, "", 12, "happiness"]])
    with pytest.raises(DatasetError, match=r"no annotation sheet found .*pass sheet="):
        load_dataset("casme2", tmp_path / "data")
    df = load_dataset("casme2", tmp_path / "data", sheet=sheet)
    assert list(df.subject) == ["sub01"] and df.clip_dir[0].endswith("sub1/EP01_01")


def test_sheet_found_in_subfolder_newest_wins_and_lock_files_ignored(tmp_path):
    make_casme2(tmp_path, sheet_name="annotations/CASME2-coding-20190701.xlsx")
    write_sheet(tmp_path / "annotations" / "CASME2-coding-20140508.xlsx", [CASME2_HEADER])
    (tmp_path / "annotations" / "~$CASME2-coding-20990101.xlsx").write_bytes(b"lock")
    rep = load_dataset("casme2", tmp_path).attrs["report"]
    assert rep.sheet.endswith("CASME2-coding-20190701.xlsx")


# ----------------------------------------------------------------------------------- errors
def error_case(tmp_path, row, **kwargs):
    root = make_casme2(tmp_path, CASME2_ROWS[:1] + [row])
    return lambda: load_dataset("casme2", root, **kwargs)


def test_missing_clip_is_an_error_naming_row_and_path_or_a_counted_skip(tmp_path):
    load = error_case(tmp_path, (5, "EP09_01", 1, 2, 3, "4", "disgust", None))
    with pytest.raises(DatasetError, match=r"CASME2-coding-20190701\.xlsx row 3 \(sub05/EP09_01\): "
                       r"clip folder not found; looked in .*sub05/EP09_01.*skip_bad_rows=True"):
        load()
    root = tmp_path
    df = load_dataset("casme2", root, skip_bad_rows=True)
    rep = df.attrs["report"]
    assert len(df) == 1 and rep.missing_clips == 1
    assert rep.skipped == {"clip folder missing on disk": 1}
    assert "row 3 (sub05/EP09_01): skipped" in rep.details[0]


@pytest.mark.parametrize("row, message", [
    ((2, "EP03_01", 1, 5, 9, "4", "disgust", range(10, 20)),
     r"row 3 \(sub02/EP03_01\): onset frame 1 has no image in .*frames on disk: 10\.\.19; nearest 10 "
     r"is 9 frames away, more than frame_tolerance=3\)\. Fix: correct the sheet, raise frame_tol"),
    ((2, "EP03_01", 15, 12, 18, "4", "disgust", range(10, 20)),
     r"row 3 \(sub02/EP03_01\): apex 12 is before onset 15\. Fix: correct the sheet"),
    ((2, "EP03_01", 15, 16, 11, "4", "disgust", range(10, 20)),
     r"row 3 \(sub02/EP03_01\): offset 11 is before onset 15"),
    ((2, "EP03_01", "/", 16, 18, "4", "disgust", range(10, 20)),
     r"row 3 \(sub02/EP03_01\): onset is missing \('/'\)\. Fix: fill in the onset frame"),
    ((2, "EP03_01", "ten", 16, 18, "4", "disgust", range(10, 20)),
     r"row 3 \(sub02/EP03_01\): onset 'ten' is not a frame number"),
    ((2, "EP03_01", 10, 12, 18, "4", "happpy", range(10, 20)),
     r"row 3 \(sub02/EP03_01\): emotion 'happpy' is not one of casme2's labels \['disgust', 'fear', "
     r"'happiness'"),
    (("abc", "EP03_01", 10, 12, 18, "4", "disgust", None),
     r"row 3 \('abc'/EP03_01\): cannot read a subject number from 'abc'\. Fix: write the subject"),
])
def test_row_errors_name_file_row_problem_and_fix(tmp_path, row, message):
    with pytest.raises(DatasetError, match=r"CASME2-coding-20190701\.xlsx " + message):
        error_case(tmp_path, row)()


def test_skip_bad_rows_counts_each_reason(tmp_path):
    rows = CASME2_ROWS[:1] + [(2, "EP03_01", 15, 12, 18, "4", "disgust", range(10, 20)),
                              (2, "EP03_02", 1, 12, 18, "4", "sorrow", range(10, 20)),
                              ("?", "EP03_03", 1, 12, 18, "4", "disgust", None)]
    df = load_dataset("casme2", make_casme2(tmp_path, rows), skip_bad_rows=True)
    rep = df.attrs["report"]
    assert len(df) == 1 and rep.rows_read == 4 and rep.rows_skipped == 3
    assert rep.skipped == {"apex before onset": 1, "unknown emotion": 1,
                           "unreadable subject or empty Filename": 1}


def test_sheet_and_root_errors(tmp_path, monkeypatch):
    write_sheet(tmp_path / "CASME2-coding-x.xlsx",
                [["Subject", "Filename", "Onset", "Apex", "Estimated Emotion"]])
    with pytest.raises(DatasetError, match=r"CASME2-coding-x\.xlsx row 1 \(header\): no column for "
                       r"offset: one of .*Columns found: \['Subject', 'Filename'"):
        load_dataset("casme2", tmp_path)
    write_sheet(tmp_path / "CASME2-coding-x.xlsx", [["title only"], ["Name", "Value"]])
    with pytest.raises(DatasetError, match=r"no header row with a Subject and a Filename column"):
        load_dataset("casme2", tmp_path)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf")
    with pytest.raises(DatasetError, match=r"old\.xls: the old \.xls format .*save it as \.xlsx"):
        load_dataset("casme2", tmp_path, sheet=tmp_path / "old.xls")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match=r"broken\.xlsx: cannot be read as an Excel workbook"):
        load_dataset("casme2", tmp_path, sheet="broken.xlsx")  # relative to root
    with pytest.raises(DatasetError, match=r"root .*nowhere is not a folder"):
        load_dataset("casme2", tmp_path / "nowhere")
    monkeypatch.delenv("TSFMICRO_SAMM", raising=False)
    with pytest.raises(DatasetError, match=r"samm is licence-gated .*\$TSFMICRO_SAMM"):
        load_dataset("samm", classes=5)


def test_no_subject_folders_error_shows_expected_layout(tmp_path):
    write_sheet(tmp_path / "CASME2-coding-1.xlsx", [CASME2_HEADER, [1, "EP1", "", 1, 2, 3, "", "4",
                                                                    "disgust"]])
    with pytest.raises(DatasetError, match=r"no subject folders \(sub01, sub1, \.\.\.\) found .*"
                       r"Expected frames like <root>/Cropped/sub01/EP02_01f/reg_img46\.jpg"):
        load_dataset("casme2", tmp_path)


def test_unknown_dataset_and_class_count_list_valid_ones():
    with pytest.raises(DatasetError, match=r"unknown dataset 'casmee2'\. Did you mean 'casme2'\? Expected one "
                       r"of: casme2, samm, casme3, synthme, smic\."):
        load_dataset("casmee2")
    with pytest.raises(ValueError, match=r"samm has no 7-class task; valid: 3 or 5"):
        load_dataset("samm", classes=7)
    with pytest.raises(ValueError, match=r"casme3 has no 3-class task; valid: 4 or 7"):
        load_dataset("CAS(ME)^3", classes=3)


def test_all_rows_dropped_is_an_error_with_the_report(tmp_path):
    rows = [(1, "EP1", 1, 2, 3, "4", "others", range(1, 4))]
    with pytest.raises(DatasetError, match=r"no sample left for the 3-class task out of 1 rows"
                       r"(.|\n)*'others' is not in the 3-class task"):
        load_dataset("casme2", make_casme2(tmp_path, rows), classes=3)


# ----------------------------------------------------------------------------------- SAMM
@pytest.mark.parametrize("padded", [True, False], ids=["zero-padded", "renamed"])
def test_samm_title_rows_padding_and_both_tasks(tmp_path, padded):
    root = make_samm(tmp_path, padded)
    df5 = load_dataset("samm", root, classes=5)
    assert df5.attrs["classes"] == ["anger", "contempt", "happiness", "surprise", "other"]
    assert list(df5.label) == [0, 1, 2, 3, 4]
    assert list(df5.subject) == ["006", "007", "008", "006", "007"]
    rep5 = df5.attrs["report"]
    assert rep5.rows_read == 8 and rep5.rows_skipped == 3 and rep5.non_sample_rows == 1
    assert rep5.skipped["'disgust' is not in the 5-class task (official mapping)"] == 1
    other = df5.iloc[4]
    assert other.apex == other.onset + 3  # '/' → middle of onset..onset+6
    assert Path(df5.onset_path[0]).name == ("006_05560.jpg" if padded else "006_5560.jpg")
    assert len(df5.frame_paths[0]) == 7
    df3 = load_dataset("samm", root, classes=3)
    assert list(df3.label) == [2, 2, 0, 1, 2, 2, 2]  # Anger, Contempt, Happy, Surprise, D, F, S
    assert df3.attrs["report"].skipped == {"'other' is not in the 3-class task (official mapping)": 1}


def test_samm_under_cropped_parent(tmp_path):
    make_samm(tmp_path / "Cropped", padded=False)
    (tmp_path / "Cropped" / "SAMM_Micro_FACS_Codes_v2.xlsx").rename(tmp_path / "SAMM_136.xlsx")
    df = load_dataset("samm", tmp_path, classes=5)
    assert df.attrs["report"].layout == "cropped" and len(df) == 5


# ----------------------------------------------------------------------------------- CAS(ME)^3
def test_casme3_part_a_seven_and_four_classes(tmp_path):
    root = make_casme3(tmp_path)
    df7 = load_dataset("casme3", root, classes=7)
    assert list(df7.label) == list(range(7))
    assert list(df7.subject[:3]) == ["spNO.1", "spNO.2", "spNO.138"]
    assert Path(df7.onset_path[0]).parent.name == "color"
    assert Path(df7.apex_path[1]).name == "104.jpg"
    df4 = load_dataset("casme3", root, classes=4)
    assert df4.attrs["classes"] == ["positive", "surprise", "others", "negative"]
    assert list(df4.label) == [3, 3, 3, 0, 3, 1, 2]
    assert df4.attrs["report"].rows_skipped == 0


def test_variant_emotion_spellings_are_read_and_counted(tmp_path):
    root = make_casme3(tmp_path)
    book = openpyxl.load_workbook(root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    book.active["H5"] = " Happiness"  # row 5 = the 4th sample, 'happy'
    book.active["H8"] = "Other"       # row 8 = the 7th sample, 'others'
    book.save(root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    df = load_dataset("casme3", root, classes=7)
    assert list(df.label) == list(range(7)) and df.emotion[3] == "Happiness"
    assert df.attrs["report"].fixes == {"emotion spelled 'happiness' → read as 'happy'": 1,
                                        "emotion spelled 'other' → read as 'others'": 1}


# ----------------------------------------------------------------------------------- synthme, CLI
def test_synthme_goes_through_the_casme2_path_with_landmarks(tmp_path):
    root = make_casme2(tmp_path, CASME2_ROWS[:3], sheet_name="CASME2-coding-synthme.csv",
                       landmarks=True)
    df = load_dataset("synthme", root, classes=5)
    assert set(df.dataset) == {"synthme"} and len(df) == 3
    assert all(Path(p).is_file() for p in df.landmarks_path)
    assert df.landmarks_path[0].endswith("landmarks/sub01/EP02_01f.npy")


def test_dataset_report_and_cli_check(tmp_path, capsys):
    from tsfmicro_lite.cli import main

    root = make_casme2(tmp_path)
    text = dataset_report("casme2", root, classes=3)
    assert "rows read 7, kept 6, skipped 1" in text
    assert "skipped    1  'others' is not in the 3-class task" in text
    assert "0 positive         2" in text and "2 negative         3" in text
    assert "samples per subject (4 subjects):" in text and "sub04 2" in text
    assert "missing frames inside onset..offset: 1 (in 1 clips)" in text
    assert main(["data", "check", "--dataset", "casme2", "--root", str(root), "--classes", "5"]) == 0
    assert "samples per class:" in capsys.readouterr().out
    assert main(["data", "check", "--dataset", "casme2", "--root", str(tmp_path / "no")]) == 1
    assert "error: casme2 root" in capsys.readouterr().out
    assert main(["data", "check", "--dataset", "casme2", "--root", str(root), "--classes", "4"]) == 1
    assert "error: casme2 has no 4-class task; valid: 3 or 5" in capsys.readouterr().out


# ----------------------------------------------------------------------------------- values
def test_value_parsers():
    assert [parse_frame(v) for v in (12, 12.0, " 12 ", "12.0", "/", None, "", -1, float("nan"))] \
        == [12, 12, 12, 12, None, None, None, None, None]
    with pytest.raises(ValueError, match="not a whole frame number"):
        parse_frame(12.5)
    assert [normalise_action_units(v) for v in ("4 + 7", 4, 4.0, "R12", " L4 ", None)] \
        == ["4+7", "4", "4", "R12", "L4", ""]
    assert [normalise_subject("casme2", v) for v in (1, "1", "01", "sub1", "sub01", 1.0)] \
        == ["sub01"] * 6
    assert [normalise_subject("samm", v) for v in (6, "006", "6", 6.0)] == ["006"] * 4
    assert [normalise_subject("casme3", v) for v in ("spNO.1", "spno.1", 1)] == ["spNO.1"] * 3


# ----------------------------------------------------------------------------------- reference
def test_reference_class_mappings_match_spec_section_6():
    """Every label of official-implementation.md §6, written out independently of mappings.py."""
    expected = {
        ("casme2", 5): {"happiness": 0, "repression": 1, "disgust": 2, "surprise": 3, "others": 4},
        ("casme2", 3): {"happiness": 0, "surprise": 1, "disgust": 2, "repression": 2, "fear": 2,
                        "sadness": 2},
        ("samm", 5): {"Anger": 0, "Contempt": 1, "Happiness": 2, "Surprise": 3, "Other": 4},
        ("samm", 3): {"Happiness": 0, "Surprise": 1, "Anger": 2, "Contempt": 2, "Disgust": 2,
                      "Fear": 2, "Sadness": 2},
        ("casme3", 7): {"anger": 0, "disgust": 1, "fear": 2, "happy": 3, "sad": 4, "surprise": 5,
                        "others": 6},
        ("casme3", 4): {"happy": 0, "surprise": 1, "others": 2, "anger": 3, "disgust": 3,
                        "fear": 3, "sad": 3},
    }
    dropped = {("casme2", 5): ["fear", "sadness"], ("casme2", 3): ["others"],
               ("samm", 3): ["Other"], ("samm", 5): ["Disgust", "Fear", "Sadness"]}
    assert set(MAPPINGS) - {("smic", 3)} == set(expected)  # SMIC-HS: not in §6, see test_smic_megc2019.py
    for (dataset, n), table in expected.items():
        mapping = get_mapping(dataset, n)
        assert mapping.num_classes == n == len(set(table.values()))
        assert {e: mapping.label_of(e) for e in table} == table
        assert all(mapping.label_of(e) is None for e in dropped.get((dataset, n), []))
    assert get_mapping("synthme", 5) is get_mapping("casme2", 5)


def test_reference_official_loso_lists():
    casme2_5 = official_loso_subjects("casme2", 5)
    assert sorted(casme2_5) == [f"sub{i:02d}" for i in range(1, 27)] and casme2_5[0] == "sub17"
    casme2_3 = official_loso_subjects("casme2", 3)
    assert sorted(casme2_3) == [f"sub{i:02d}" for i in range(1, 27) if i != 18]
    samm5 = [6, 7, *range(9, 24), 25, 26, 28, *range(30, 36), 37]
    samm3 = [6, 7, *range(9, 25), 26, 28, *range(30, 38)]
    assert official_loso_subjects("samm", 5) == [f"{i:03d}" for i in samm5] and len(samm5) == 27
    assert official_loso_subjects("samm", 3) == [f"{i:03d}" for i in samm3] and len(samm3) == 28
    casme3 = official_loso_subjects("casme3", 7)
    assert len(casme3) == len(set(casme3)) == 94 and casme3 == official_loso_subjects("casme3", 4)
    assert all(s.startswith("spNO.") for s in casme3) and casme3[:3] == ["spNO.1", "spNO.10",
                                                                         "spNO.11"]
    assert len(OFFICIAL_LOSO_RAW) == 6
    with pytest.raises(ValueError, match="synthme has no official LOSO list"):
        official_loso_subjects("synthme", 3)


def test_synthme_quick_profile_reads_with_every_clip_kept(tmp_path):
    """The generated dataset (quick profile, cached under build/) through the CASME II path."""
    df = load_dataset("synthme", classes=5)
    rep = df.attrs["report"]
    assert Path(rep.sheet).name == "CASME2-coding-synthme.csv" and rep.layout == "raw"
    assert rep.rows_kept + rep.rows_skipped == rep.rows_read > 0 and not rep.fixes
    assert set(rep.skipped) <= {"'fear' is not in the 5-class task (official mapping)",
                                "'sadness' is not in the 5-class task (official mapping)"}
    assert rep.missing_frames == 0 and Path(df.onset_path[0]).is_absolute()
    landmarks = np.load(df.landmarks_path[0])
    assert landmarks.shape == (len(df.frame_paths[0]), 68, 2)
    assert set(load_dataset("synthme", classes=3).label) == {0, 1, 2}


def test_partial_cropped_copy_does_not_hide_a_complete_raw_one(tmp_path):
    make_casme2(tmp_path, cropped=False)
    make_casme2(tmp_path, CASME2_ROWS[:1], cropped=True, sheet_name="other.xlsx")
    rep = load_dataset("casme2", tmp_path).attrs["report"]
    assert rep.layout == "raw" and rep.rows_kept == 6
