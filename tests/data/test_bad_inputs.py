"""Bad inputs the readers must name, count or refuse (issue 14): fake CASME II / SAMM / CAS(ME)^3 trees in their
real layouts (``tests/data/fakes.py``) with AppleDouble sidecars, OS junk, rival sheets, duplicate rows,
unlisted clip folders, header-only sheets, unreadable folders and unparseable frame names."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tsfmicro_lite.data import DatasetError, layouts, load_dataset
from tsfmicro_lite.data.readers import dataset_report

from .fakes import CASME2_HEADER, CASME3_HEADER, make_casme2, make_casme3, make_samm, write_frames, write_sheet

ROWS = [(1, "EP02_01f", 10, 13, 16, "4", "happiness", range(10, 17)),
        (2, "EP03_02", 20, 23, 26, "12", "surprise", range(20, 27))]


def test_appledouble_dotfiles_and_os_junk_are_ignored_and_counted(tmp_path):
    root = make_casme2(tmp_path, ROWS)
    clip = root / "sub01" / "EP02_01f"
    (clip / "._img12.jpg").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (clip / ".DS_Store").write_bytes(b"junk")
    (clip / "Thumbs.db").write_bytes(b"junk")
    df = load_dataset("casme2", root)
    first = df.iloc[0]
    assert all("._" not in p for p in first.frame_paths) and len(first.frame_paths) == 7
    rep = df.attrs["report"]
    assert rep.ignored_files[layouts.IGNORED_DOTFILES] == 2
    assert rep.ignored_files[layouts.IGNORED_JUNK] == 1
    assert "._img12.jpg" in str(rep) and "Thumbs.db" in str(rep)


def test_appledouble_sidecars_do_not_win_the_casme3_prefix_tie_break(tmp_path):
    # CAS(ME)^3 frames are bare numbers (123.jpg): a full set of ._123.jpg sidecars used to tie and win.
    write_sheet(tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
                [CASME3_HEADER, ["spNO.1", "a", 1, 2, 3, "4", "", "happy"]])
    clip = tmp_path / "spNO.1" / "a"
    write_frames(clip, [f"{n}.jpg" for n in (1, 2, 3)])
    for n in (1, 2, 3):
        (clip / f"._{n}.jpg").write_bytes(b"\x00\x05\x16\x07")
    df = load_dataset("casme3", tmp_path, classes=4)
    assert [Path(p).name for p in df.frame_paths[0]] == ["1.jpg", "2.jpg", "3.jpg"]
    assert df.attrs["report"].ignored_files[layouts.IGNORED_DOTFILES] == 3


def test_two_candidate_sheets_are_refused_with_the_list_and_sheet_picks_one(tmp_path):
    root = make_casme2(tmp_path, ROWS)
    make_casme2(tmp_path, ROWS, sheet_name="CASME2-coding-20190701 - old draft.xlsx")
    with pytest.raises(DatasetError, match=r"2 candidate annotation sheets") as err:
        load_dataset("casme2", root)
    assert "CASME2-coding-20190701.xlsx" in str(err.value)
    assert "old draft.xlsx" in str(err.value) and "--sheet" in str(err.value)
    df = load_dataset("casme2", root, sheet="CASME2-coding-20190701.xlsx")
    assert len(df) == 2


def test_dated_versions_of_one_sheet_take_the_latest_and_say_so(tmp_path):
    root = make_casme2(tmp_path, ROWS)
    write_sheet(tmp_path / "CASME2-coding-20140508.xlsx", [CASME2_HEADER])
    rep = load_dataset("casme2", root).attrs["report"]
    assert rep.sheet.endswith("CASME2-coding-20190701.xlsx")
    assert "chosen over CASME2-coding-20140508.xlsx" in rep.sheet_choice
    assert "chosen over" in str(rep)


@pytest.mark.parametrize("dataset, make, rival, classes", [
    # matched by the second pattern (casme2*coding*) only, beside the first pattern's CASME2-coding-*
    ("casme2", lambda root: make_casme2(root, ROWS), "CASME2_coding_old.xlsx", 3),
    # the official scripts' SAMM_136.xlsx (pattern samm_136*) beside the release's SAMM_Micro_FACS_Codes_v2.xlsx
    ("samm", lambda root: make_samm(root, padded=True), "SAMM_136.xlsx", 5),
    # the official script's casme3.xlsx (pattern casme3*) beside the release's cas(me)3_part_A_ME_label_*.xlsx
    ("casme3", make_casme3, "casme3.xlsx", 7),
], ids=["casme2", "samm", "casme3"])
def test_rival_sheets_matched_by_different_patterns_are_refused(tmp_path, dataset, make, rival, classes):
    root = make(tmp_path)
    (first,) = [p for p in root.iterdir() if p.suffix == ".xlsx"]
    (root / rival).write_bytes(first.read_bytes())
    with pytest.raises(DatasetError, match=r"2 candidate annotation sheets match .*\*\.\* and the kit will not "
                                           r"guess") as err:
        load_dataset(dataset, root, classes=classes)
    assert first.name in str(err.value) and rival in str(err.value) and "--sheet" in str(err.value)
    assert len(load_dataset(dataset, root, classes=classes, sheet=rival)) > 0


def test_a_workbook_without_an_annotation_header_is_passed_over_and_said(tmp_path):
    # "*casme2*" (CASME II's broadest pattern) also names a notes workbook: not a rival, but the report says so
    root = make_casme2(tmp_path, ROWS)
    write_sheet(root / "CASME2 notes.xlsx", [["Subject", "Filename", "Comment"], [1, "EP02_01f", "blurry"]])
    rep = load_dataset("casme2", root).attrs["report"]
    assert rep.sheet.endswith("CASME2-coding-20190701.xlsx")
    assert "passed over, not annotation sheets: CASME2 notes.xlsx (no header row with" in rep.sheet_choice
    assert "CASME2 notes.xlsx" in str(rep)


def test_duplicate_rows_are_skipped_and_counted_and_conflicting_ones_refused(tmp_path):
    rows = ROWS + [ROWS[0]]
    root = make_casme2(tmp_path, rows)
    df = load_dataset("casme2", root)
    rep = df.attrs["report"]
    assert len(df) == 2 and rep.duplicate_rows == 1
    assert any("row 4" in d and "duplicate of row 2" in d for d in rep.details)
    conflicting = ROWS + [(1, "EP02_01f", 10, 13, 16, "4", "surprise", range(10, 17))]
    make_casme2(tmp_path, conflicting)
    with pytest.raises(DatasetError, match=r"row 4 \(sub01/EP02_01f\): repeats row 2's .* another emotion"):
        load_dataset("casme2", root)


def test_clip_folders_with_no_sheet_row_are_reported(tmp_path):
    root = make_casme2(tmp_path, ROWS)
    write_frames(root / "sub01" / "EP09_09", ["img1.jpg", "img2.jpg"])
    rep = load_dataset("casme2", root).attrs["report"]
    assert rep.unlisted_clips == 1 and rep.unlisted_examples == ["sub01/EP09_09"]
    assert "clip folders on disk with no sheet row (not loaded): 1, e.g. sub01/EP09_09" in str(rep)


def test_header_only_sheet_is_blamed_on_the_sheet_not_the_folders(tmp_path):
    root = make_casme2(tmp_path, ROWS)
    write_sheet(root / "CASME2-coding-20190701.xlsx", [CASME2_HEADER])
    with pytest.raises(DatasetError, match=r"CASME2-coding-20190701\.xlsx: header found in row 1 but no "
                                           r"sample rows"):
        load_dataset("casme2", root)


def test_unparseable_frame_names_are_named_with_examples(tmp_path):
    root = make_casme2(tmp_path, ROWS)
    clip = root / "sub01" / "EP02_01f"
    for p in clip.iterdir():
        p.rename(clip / p.name.replace("img", "frame_").replace(".jpg", "_left.jpg"))
    with pytest.raises(DatasetError, match=r"row 2 \(sub01/EP02_01f\): .*EP02_01f holds no frame images, only "
                                           r"ignored files: 7 images whose name ends in no frame number, "
                                           r"e.g. frame_10_left.jpg"):
        load_dataset("casme2", root)


def test_unreadable_clip_and_subject_folders_are_said_to_be_unreadable(tmp_path, monkeypatch):
    # Tests run as root (here and in CI), where chmod 000 does not stop reading: the folders are chmod-ed
    # and os.scandir is also made to raise PermissionError for them, as it does for a normal user.
    root = make_casme2(tmp_path, ROWS)
    clip, subject = root / "sub01" / "EP02_01f", root / "sub02"
    real_scandir = os.scandir
    blocked = {str(clip), str(subject)}

    def scandir(path="."):
        if str(path) in blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(DatasetError, match=r"row 2 \(sub01/EP02_01f\): .*EP02_01f cannot be read "
                                           r"\(PermissionError: Permission denied\); fix its permissions"):
        load_dataset("casme2", root)
    blocked.discard(str(clip))
    with pytest.raises(DatasetError, match=r"row 3 \(sub02/EP03_02\): cannot list .*sub02 \(PermissionError"):
        load_dataset("casme2", root)


def test_data_check_text_lists_what_was_ignored(tmp_path):
    root = make_casme2(tmp_path, ROWS)
    (root / "sub02" / "EP03_02" / "._img21.jpg").write_bytes(b"\x00")
    text = dataset_report("casme2", root)
    assert "ignored    1  dot-files" in text and "._img21.jpg" in text
