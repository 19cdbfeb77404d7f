"""The releases as a researcher unzips them, read through the CLI with no code change (``tests/data/fakes.py``).

CASME II ``CASME2_RAW_selected/`` beside ``Cropped-updated/Cropped/`` (the crops one level deeper, as public readers
of the release write it: ``os.path.join(root, 'Cropped-updated/Cropped/', sub, clip, 'reg_img46.jpg')``); CAS(ME)^3
part A with its sheet in ``annotation/`` and its frames in ``data/part_A_split/part_A/``; SMIC-HS as
``SMIC_all_cropped/HS/...bmp``; the frame names and sheet quirks those releases have; and what ``tsfmicro train``
and ``reproduce --task megc2019`` say before they train.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tsfmicro_lite.cli import main
from tsfmicro_lite.data import DatasetError, load_dataset
from tsfmicro_lite.data.layouts import scan_frames
from tsfmicro_lite.preprocess.pipeline import check_dataset_crops

from .fakes import SAMM_HEADER, make_casme2, make_casme3, make_samm, make_smic_hs, write_frames, write_sheet


def casme2_release(root: Path) -> Path:
    """``<root>/CASME2-coding-20190701.xlsx``, ``CASME2_RAW_selected/`` and ``Cropped-updated/Cropped/``."""
    make_casme2(root, base="CASME2_RAW_selected")
    make_casme2(root, base="Cropped-updated/Cropped")
    # a zip unpacked on a Mac: the same tree of AppleDouble sidecars under __MACOSX/, never the frames
    write_frames(root / "__MACOSX" / "Cropped-updated" / "Cropped" / "sub01" / "EP02_01f", ["._reg_img10.jpg"])
    return root


def test_casme2_release_crops_one_level_down_are_found_and_preferred(tmp_path):
    root = casme2_release(tmp_path / "CASME2")
    df = load_dataset("casme2", root, classes=5)
    rep = df.attrs["report"]
    assert (rep.layout, Path(rep.frames_base)) == ("cropped", root / "Cropped-updated" / "Cropped")
    assert Path(df.onset_path[0]).name == "reg_img10.jpg" and "__MACOSX" not in rep.frames_base
    raw = load_dataset("casme2", root, classes=5, layout="raw").attrs["report"]
    assert (raw.layout, Path(raw.frames_base).name) == ("raw", "CASME2_RAW_selected")
    # the Cropped-updated folder itself as root: its Cropped/ child, the sheet in the parent
    assert load_dataset("casme2", root / "Cropped-updated", classes=5).attrs["report"].layout == "cropped"


def test_casme3_part_a_release_root_holds_annotation_and_data(tmp_path):
    root = make_casme3(tmp_path / "part_A", release=True)
    df = load_dataset("casme3", root, classes=7)
    rep = df.attrs["report"]
    assert Path(rep.sheet).parent.name == "annotation" and len(df) == 7
    assert Path(rep.frames_base) == root / "data" / "part_A_split" / "part_A"
    assert {Path(p).parent.name for p in df.onset_path} == {"color"}  # never depth/


def test_smic_all_cropped_is_the_cropped_copy_and_all_raw_the_raw_one(tmp_path):
    cropped = make_smic_hs(tmp_path / "SMIC_all_cropped")
    df = load_dataset("smic", cropped)
    rep = df.attrs["report"]
    assert (rep.layout, Path(rep.frames_base)) == ("cropped", cropped / "HS") and len(df) == 5
    assert Path(df.onset_path[0]).name == "reg_image064503.bmp"
    assert load_dataset("smic", cropped, layout="cropped").attrs["report"].layout == "cropped"
    raw = make_smic_hs(tmp_path / "SMIC_all_raw", cropped=False)
    assert load_dataset("smic", raw).attrs["report"].layout == "raw"
    with pytest.raises(DatasetError, match=r"none named \*crop\*"):
        load_dataset("smic", raw, layout="cropped")


@pytest.mark.parametrize("name, number", [
    ("img46.jpg", 46), ("reg_img46.jpg", 46), ("img_0046.JPG", 46), ("Img00046.PNG", 46), ("46.jpg", 46),
    ("006_05562.jpg", 5562), ("image064503.bmp", 64503), ("reg_image064503.BMP", 64503), ("image559740.jpeg", 559740),
])
def test_frame_names_of_the_releases_give_their_number(tmp_path, name, number):
    write_frames(tmp_path / "clip", [name])
    scan = scan_frames(tmp_path / "clip")
    assert scan.frames == {number: str(tmp_path / "clip" / name)} and not scan.ignored


def test_samm_sheet_with_merged_title_and_header_cells(tmp_path):
    make_samm(tmp_path, padded=True)
    sheet = tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx"
    rows = [["SAMM Micro-Expression Database - FACS Codes"], [None], ["Version 2"]] + [[None]] * 10
    header = list(SAMM_HEADER)
    header[SAMM_HEADER.index("Objective Classes")] = None  # "Estimated Emotion" spans two columns, merged
    body = load_dataset("samm", tmp_path, classes=5).attrs["report"].rows_read
    samples = [[6 + i % 3, f"{6 + i % 3:03d}_{i + 1}_2", i + 1, 5560 + 10 * i, 5563 + 10 * i, 5566 + 10 * i, 7,
                "Micro - 1/2", "R12", emotion, None, None]
               for i, emotion in enumerate(["Anger", "Contempt", "Happiness", "Surprise", "Other"])]
    write_sheet(sheet, rows + [header] + samples, merges=("A1:L1", "A3:L3", "J14:K14"), title="FACS_Codes")
    df = load_dataset("samm", tmp_path, classes=5)
    assert df.attrs["report"].rows_read == 5 < body and list(df.class_name) == ["anger", "contempt", "happiness",
                                                                               "surprise", "other"]


def test_dataset_faces_on_the_composite_checks_each_members_copy(tmp_path):
    roots = {"casme2": casme2_release(tmp_path / "CASME2"), "smic": make_smic_hs(tmp_path / "SMIC_all_cropped")}
    make_samm(tmp_path / "SAMM" / "SAMM", padded=True)  # the raw release: SAMM/SAMM/006/...
    df = load_dataset("megc2019", roots={**roots, "samm": tmp_path / "SAMM"}, selection="mapping")
    with pytest.raises(DatasetError, match=r"clips were read from .*SAMM/SAMM, which is not a cropped copy"):
        check_dataset_crops(df)
    make_samm(tmp_path / "SAMM_crops" / "SAMM_CROP", padded=False)
    check_dataset_crops(load_dataset("megc2019", roots={**roots, "samm": tmp_path / "SAMM_crops"},
                                     selection="mapping"))


def test_prepare_faces_dataset_reads_the_release_crops(tmp_path, capsys):
    cache = ["--size", "16", "--cache-dir", str(tmp_path / "cache")]
    smic = make_smic_hs(tmp_path / "SMIC_all_cropped")
    assert main(["prepare", "--dataset", "smic", "--root", str(smic), "--faces", "dataset", *cache]) == 0
    out = capsys.readouterr().out
    assert "prepared 5 clips" in out and "smic: face located by dataset 5" in out
    casme2 = casme2_release(tmp_path / "CASME2")
    assert main(["prepare", "--dataset", "casme2", "--root", str(casme2), "--faces", "dataset", *cache]) == 0
    assert "the release's own crops" in capsys.readouterr().out


@pytest.mark.parametrize("extra, match", [
    (["--root", "/data/CASME2"], r"--root: for one dataset's runs only.*--root-casme2, --root-samm and --root-smic"),
    (["--dataset", "casme2"], r"--dataset: for one dataset's runs only"),
    (["--classes", "5"], r"--classes 5: the MEGC2019 and cross-dataset runs are 3-class"),
    (["--faces", "dataset"], r"--faces dataset: the MEGC2019 and cross-dataset runs align every member's faces"),
])
def test_benchmark_refuses_the_flags_it_would_ignore(tmp_path, capsys, extra, match):
    assert main(["reproduce", "--task", "megc2019", "--out", str(tmp_path), *extra]) == 2
    assert capsys.readouterr().err.startswith("error: ") and not list(tmp_path.iterdir())
    assert main(["reproduce", "--train-on", "casme2", "--test-on", "samm", "--out", str(tmp_path), *extra]) == 2
    assert re.search(match, capsys.readouterr().err)


def test_a_broken_pipe_ends_the_command_quietly(tmp_path, monkeypatch):
    def closed_reader(args):  # `tsfmicro data check ... | head -1`: the reader has gone
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("tsfmicro_lite.cli.data._check", closed_reader)
    assert main(["data", "check", "--dataset", "casme2", "--root", str(tmp_path)]) == 141


@pytest.mark.slow  # ~9 s: torch, one fold, one epoch
def test_train_says_what_it_read_and_how_the_faces_were_found(tmp_path, capsys):
    root = casme2_release(tmp_path / "CASME2")
    assert main(["train", "--dataset", "casme2", "--root", str(root), "--epochs", "1", "--max-folds", "1",
                 "--protocol", "honest", "--device", "cpu", "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    data = next(line for line in out.splitlines() if line.startswith("data: "))
    assert "casme2 (3 classes), 6 samples from 4 subjects; sheet rows read 7, skipped 1, fixes 3" in data
    assert f"frames under {root / 'Cropped-updated' / 'Cropped'} (cropped layout)" in data
    assert "casme2: face located by" in out and "face path: the kit's dlib alignment" in out
    assert out.index("data: ") < out.index("run folder")
