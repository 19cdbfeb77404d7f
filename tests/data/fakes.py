"""Fake dataset trees in the real releases' layouts, shared by the tests of tests/data (imported as ``.fakes``).

CASME II (raw ``<root>/sub01/EP02_01f/img10.jpg`` or ``<root>/Cropped/sub01/EP02_01f/reg_img10.jpg``; as
released, ``<root>/CASME2_RAW_selected/...`` and ``<root>/Cropped-updated/Cropped/...``), SAMM
(``<root>/006/006_1_2/006_05560.jpg``, title rows above the header), CAS(ME)^3 part A (``<root>/spNO.1/a/100.jpg``,
one clip's frames in ``color/``; as released, ``part_A/annotation/<sheet>`` beside
``part_A/data/part_A_split/part_A/spNO.1/a/{color,depth}/``) and SMIC-HS (``SMIC_all_cropped/HS/s1/micro/
negative/s1_ne_01/reg_image064503.bmp``, no sheet), each with its sheet's real column names and tiny grey
frames (JPEG, or BMP for SMIC).
"""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import openpyxl

from tsfmicro_lite.data.mappings import normalise_subject

JPEG = cv2.imencode(".jpg", np.full((8, 8, 3), 127, np.uint8))[1].tobytes()
BMP = cv2.imencode(".bmp", np.full((8, 8, 3), 127, np.uint8))[1].tobytes()

CASME2_HEADER = ["Subject", "Filename", None, "OnsetFrame ", "ApexFrame", "OffsetFrame", None,
                 "Action Units", "Estimated Emotion"]
SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
               "Duration", "Type", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
CASME3_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]


def write_frames(folder: Path, names: list[str]) -> None:
    """Decodable frames, JPEG or BMP by each name's suffix (any case)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(BMP if name.lower().endswith(".bmp") else JPEG)


def write_sheet(path: Path, rows: list[list], merges: tuple[str, ...] = (), title: str | None = None) -> Path:
    """An annotation sheet as .xlsx (one worksheet, named ``title``, with the cell ranges ``merges`` merged as Excel
    does: the value stays in the top-left cell) or, by the suffix, .csv; ``None`` cells are empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with path.open("w", newline="") as fh:
            csv.writer(fh).writerows([["" if c is None else c for c in r] for r in rows])
    else:
        book = openpyxl.Workbook()
        for r in rows:
            book.active.append(r)
        for cells in merges:
            book.active.merge_cells(cells)
        if title:
            book.active.title = title
        book.save(path)
    return path


# ----------------------------------------------------------------------------------- CASME II
# (subject cell, clip, onset, apex, offset, AUs, emotion, frames on disk or None for a missing clip)
CASME2_ROWS = [
    (1, "EP02_01f", 10, 13, 16, "4+7", "happiness", range(10, 17)),
    ("sub02", "EP03_02", 20, "/", 26, "R12", "Surprise ", range(20, 27)),   # apex '/' → 23
    (2, "EP04_01", 5, 9, 8, 14, "disgust", range(5, 10)),                   # apex > offset
    (3, "EP05_01", 40, 42, 44, "1+2", "others", range(40, 45)),             # dropped in 3-class
    ("3", "EP06_01", 50, 52, 54, 4.0, "fear", range(50, 55)),               # dropped in 5-class
    ("04", "EP07_01", 30, 33, 36, "6+12", "Happiness", range(31, 37)),      # onset 30 not on disk
    (4, "EP08_01", 60, 62, 66, "14", "repression", [60, 61, 62, 64, 65, 66]),  # frame 63 missing
]


def make_casme2(root: Path, rows=CASME2_ROWS, cropped: bool = False,
                sheet_name: str = "CASME2-coding-20190701.xlsx", landmarks: bool = False,
                base: str | None = None) -> Path:
    """A CASME II tree (raw, or ``cropped``: ``Cropped/`` and ``reg_img``) and its sheet ``sheet_name``.

    ``base``: the frames folder under ``root`` as the releases unzip (``"CASME2_RAW_selected"``,
    ``"Cropped-updated/Cropped"``; ``reg_img`` names when it holds "crop"), instead of ``Cropped/`` or ``root``.
    """
    sheet = [CASME2_HEADER] + [[s, c, "x", on, ap, off, None, au, emo]
                               for s, c, on, ap, off, au, emo, _ in rows]
    write_sheet(root / sheet_name, sheet)
    for s, clip, *_, frames in rows:
        if frames is None:
            continue
        subject = normalise_subject("casme2", s)
        folder = root / base if base else root / "Cropped" if cropped else root
        prefix = "reg_img" if cropped or "crop" in (base or "").lower() else "img"
        write_frames(folder / subject / clip, [f"{prefix}{n}.jpg" for n in frames])
        if landmarks:
            lm = root / "landmarks" / subject / f"{clip}.npy"
            lm.parent.mkdir(parents=True, exist_ok=True)
            np.save(lm, np.zeros((len(frames), 68, 2), np.float32))
    return root


# ----------------------------------------------------------------------------------- SAMM
SAMM_EMOTIONS = ["Anger", "Contempt", "Happiness", "Surprise", "Other", "Disgust", "Fear", "Sadness"]


def make_samm(root: Path, padded: bool, sheet_name: str = "SAMM_Micro_FACS_Codes_v2.xlsx") -> Path:
    """A SAMM tree (subjects 006-008, frames zero-padded as released or renamed) and its titled sheet."""
    title = [["SAMM Micro-Expression Database: FACS codes"], [None], ["Key: Onset/Apex/Offset in "
             "frames"], [None, "Inducement code: the stimulus video"], [None]]
    rows = []
    for i, emotion in enumerate(SAMM_EMOTIONS):
        subject = 6 + i % 3  # 6, 7, 8
        clip = f"{subject:03d}_{i + 1}_2"
        onset = 5560 + 10 * i
        apex = "/" if i == 4 else onset + 3
        rows.append([subject, clip, i + 1, onset, apex, onset + 6, 7, "Micro - 1/2", "R12",
                     emotion, 1, None])
        names = [f"{subject:03d}_{n:05d}.jpg" if padded else f"{subject:03d}_{n}.jpg"
                 for n in range(onset, onset + 7)]
        write_frames(root / f"{subject:03d}" / clip, names)
    footnote = [[None], ["* frame numbers at 200 fps"]]  # not a sample: ignored, counted
    write_sheet(root / sheet_name, title + [SAMM_HEADER] + rows + footnote)
    return root


# ----------------------------------------------------------------------------------- CAS(ME)^3
CASME3_EMOTIONS = ["anger", "disgust", "fear", "happy", "sad", "surprise", "others"]


def make_casme3(root: Path, sheet_name: str = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
                release: bool = False) -> Path:
    """A CAS(ME)^3 part A tree (spNO.1, spNO.2, spNO.138; the first clip under ``color/``) and its sheet.

    ``release``: ``root`` is the release's ``part_A`` folder: the sheet (worksheet ``label``) in
    ``annotation/``, every clip's frames in ``data/part_A_split/part_A/<subject>/<clip>/color/`` beside
    ``depth/`` (PNG depth maps, not read).
    """
    rows = []
    frames_root = root / "data" / "part_A_split" / "part_A" if release else root
    for i, emotion in enumerate(CASME3_EMOTIONS):
        subject, clip = f"spNO.{[1, 2, 138][i % 3]}", "abc"[i % 3] + str(i)
        rows.append([subject, clip, 100 + i, 103 + i, 106 + i, "4+7", "negative", emotion])
        folder = frames_root / subject / clip / ("color" if i == 0 or release else "")
        write_frames(folder, [f"{n}.jpg" for n in range(100 + i, 107 + i)])
        if release:
            write_frames(folder.parent / "depth", [f"{n}.png" for n in range(100 + i, 107 + i)])
    sheet = root / "annotation" / sheet_name if release else root / sheet_name
    write_sheet(sheet, [CASME3_HEADER] + rows, title="label" if release else None)
    return root


# ----------------------------------------------------------------------------------- SMIC-HS
SMIC_CLIPS = [(1, "negative", "s1_ne_01", 64503), (1, "positive", "s1_po_01", 70010),
              (2, "surprise", "s2_sur_01", 5100), (3, "negative", "s3_ne_01", 9900), (3, "positive", "s3_po_01", 12000)]


def make_smic_hs(root: Path, cropped: bool = True, clips=SMIC_CLIPS) -> Path:
    """SMIC-HS as ``SMIC_all_cropped`` (``reg_image<N>.bmp``) or ``SMIC_all_raw`` (``image<N>.bmp``): ``root`` is that
    folder, holding ``HS/`` (``s<N>/micro/<emotion>/<clip>/``, 7 frames each, plus ``non_micro/``) and ``NIR/``."""
    prefix = "reg_image" if cropped else "image"
    for s, emotion, clip, first in clips:
        write_frames(root / "HS" / f"s{s}" / "micro" / emotion / clip,
                     [f"{prefix}{n:06d}.bmp" for n in range(first, first + 7)])
        write_frames(root / "HS" / f"s{s}" / "non_micro" / f"s{s}_no_01", [f"{prefix}000001.bmp"])
    write_frames(root / "NIR" / "s1" / "micro" / "positive" / "s1_po_01", [f"{prefix}000001.bmp"])  # not read
    return root
