"""SMIC-HS (Li et al. 2013, 100 fps): its folder layout (no sheet), subject naming, the 3-class mapping and apex rule.

SMIC's high-speed part (HS) ships **without an annotation sheet**: the folders are the annotation.
Every micro-expression clip is a folder ``<HS>/s<N>/micro/<emotion>/<clip>/`` of frames, the emotion
is one of ``positive`` / ``negative`` / ``surprise``, and each clip holds the micro-expression only,
from its onset (the first frame) to its offset (the last). There is **no apex annotation**; the kit
applies the rule the MEGC2019 composite protocol and the field's SMIC readers use — the apex is the
middle frame, ``(onset + offset) // 2`` (e.g. tvaranka/meb ``datasets.Smic``: "Set apex at the
halfway of onset and offset") — and counts it in the load report as the reader's rule 2
("apex missing → middle of onset..offset"), so every load says it happened.

Releases and layouts (checked against public readers of SMIC: meb's ``/{subject}/micro/{emotion}/
{material}/``, MEGC2019 / HTNet-style ``SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_*.bmp``):

- ``SMIC_all_cropped/HS/s1/micro/positive/s1_po_01/reg_image<N>.bmp`` (cropped) and
  ``SMIC_all_raw/HS/s1/micro/positive/s1_po_01/image<N>.bmp`` (raw); ``root`` is the ``HS`` folder or
  the folder holding it (NIR / VIS beside it are not read);
- 20 subjects ``s1`` … ``s20``, of which 16 have micro-expressions in HS: 164 clips (the subjects
  without any have no ``micro/`` folder and are simply absent); ``non_micro/`` clips are not read.

**SMIC-E** (the extended release, HS part) is read by the same spec when ``root`` has no ``HS`` micro
folders but an annotation sheet ``SMIC-HS-E_annotation*.xlsx`` (or ``.csv``): its clip folders are
*long* (the video around the micro-expression), so onset and offset come from the sheet. Layout and
sheet, from two public readers of the release (davidnvq/me_recognition ``smic_processing.py`` and
``datasets/smic_apex.csv``; LuYi8/EDMDBN ``merlib/data/base.py`` and ``clean_doc.py``):

- ``SMIC-E_raw_image/HS_long/SMIC-HS-E/s01/s1_ne_01/image559740.jpg``: zero-padded subject folders
  ``s01`` … ``s20``, clip folders named like SMIC-HS's (``s1_ne_01``), frames ``image<N>.jpg`` with
  ``N`` zero-padded to six digits (more when larger); the sheet sits in ``HS_long``, so ``root`` is
  ``HS_long`` (or ``SMIC-HS-E`` with the sheet beside it);
- the sheet's columns ``Subject`` (a number), ``Filename`` (the clip folder), ``Emotion``
  (positive / negative / surprise), ``OnsetF``, ``OffsetF``; the 2019 version
  (``SMIC-HS-E_annotation_2019.xlsx``) adds ``TotalMF1``, ``Onset2F`` / ``Offset2F`` / ``TotalMF2``,
  ``Onset3F`` / ``Offset3F`` / ``TotalMF3`` (a second and third micro-expression in the same long
  clip, each read as one more sample of that clip) and ``FirstF`` / ``LastF`` / ``TotalVL`` (the long
  clip's span, not read). No apex column: the middle-frame rule applies, counted as for SMIC-HS.

TSFmicro's official code has no SMIC script, so SMIC has no official LOSO list (every subject is
tested) and its recipe numbers are those of the other datasets' 3-class task (seed 2, 199 epochs,
weight decay 0.7), not official ones.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import DatasetError
from ..layouts import DiskIndex

# match_header, norm_header, raw_rows: the generic sheet parsing, used without its apex column (SMIC-E has none)
from ..sheets import (
    HEADER_SEARCH_ROWS,
    Sheet,
    SheetRow,
    choose_sheet,
    is_missing,
    match_header,
    norm_header,
    raw_rows,
)
from ..spec import DatasetSpec, TaskSpec, class_mapping

#: The emotion folders under ``micro/``, as the release names them.
EMOTIONS = ("positive", "negative", "surprise")
#: The apex rule, stated once (the reader's rule 2 applies it to a missing apex): the middle frame.
APEX_RULE = "middle frame of onset..offset, (onset + offset) // 2 (MEGC2019; SMIC has no apex annotation)"

THREE_CLASS = class_mapping("smic", ("positive", "surprise", "negative"),
                            {"positive": 0, "surprise": 1, "negative": 2})

_SUBJECT_DIR = re.compile(r"(?i)s0*(\d+)")
EXAMPLE = "<root>/HS/s1/micro/positive/s1_po_01/reg_image<N>.bmp"
EXAMPLE_E = "<root>/SMIC-HS-E/s01/s1_ne_01/image559740.jpg"
#: SMIC-E's sheet: the columns a row needs, and the later micro-expressions of the same long clip (2019 sheet).
E_REQUIRED = ("subject", "clip", "onset", "offset", "emotion")
E_MORE_INTERVALS = (("onset2f", "offset2f"), ("onset3f", "offset3f"))


def _hs_folder(root: Path, disk: DiskIndex) -> Path | None:
    """The folder holding the subject folders: ``root/HS`` (any case), or ``root`` itself."""
    names = disk.dir_names(root)
    for candidate in ([root / names["hs"]] if "hs" in names else []) + [root]:
        if any(_SUBJECT_DIR.fullmatch(n) and "micro" in disk.dir_names(candidate / n)
               for n in disk.dir_names(candidate).values()):
            return candidate
    return None


def index_tree(root: Path) -> Sheet:
    """SMIC-HS's folders as the rows of a sheet (subject, clip, first / last frame, emotion; no apex), or
    SMIC-E's annotation sheet when ``root`` has no HS micro folders but that sheet.

    Raises ``DatasetError`` naming ``root`` when neither is found.
    """
    disk = DiskIndex()
    base = _hs_folder(root, disk)
    if base is None:
        try:
            sheet_path, _ = choose_sheet(root, SPEC)
        except DatasetError as exc:
            if "candidate annotation sheets" in str(exc):  # several SMIC-E sheets: sheet= cannot pick (no apex)
                raise DatasetError(f"{exc}\n(SMIC-E: the SMIC reader finds its sheet itself; keep one "
                                   f"SMIC-HS-E_annotation sheet in {root}.)") from None
            raise DatasetError(
                f"no SMIC-HS subject folders (s1 ... s20, each with micro/positive|negative|surprise/<clip>/) "
                f"found in {root} nor in {root / 'HS'}, and no SMIC-E annotation sheet (SMIC-HS-E_annotation"
                f"*.xlsx) in it, its subfolders or its parent. Expected frames like {EXAMPLE} (SMIC-HS) or "
                f"{EXAMPLE_E} (SMIC-E). Fix: pass root= the HS folder of SMIC_all_cropped (or SMIC_all_raw), or "
                f"the folder that holds HS/; for SMIC-E, its HS_long folder.") from None
        return read_smic_e_sheet(sheet_path)
    rows: list[SheetRow] = []
    subjects = sorted((n for n in disk.dir_names(base).values() if _SUBJECT_DIR.fullmatch(n)),
                      key=lambda n: int(_SUBJECT_DIR.fullmatch(n).group(1)))
    for subject in subjects:
        micro_name = disk.dir_names(base / subject).get("micro")
        if micro_name is None:
            continue  # a subject without micro-expressions in HS
        micro = base / subject / micro_name
        for emotion in sorted(disk.dir_names(micro).values(), key=str.lower):
            for clip in sorted(disk.dir_names(micro / emotion).values(), key=str.lower):
                frames = disk.frames(micro / emotion / clip)
                first, last = (min(frames), max(frames)) if frames else (0, 0)  # empty: the reader says so
                rows.append(SheetRow(len(rows) + 1, {
                    "subject": subject, "clip": clip, "onset": first, "apex": "/", "offset": last,
                    "emotion": emotion, "action_units": None}))
    columns = {"subject": "subject folder", "clip": "clip folder", "onset": "first frame", "apex": "(none)",
               "offset": "last frame", "emotion": "micro/<emotion> folder"}
    return Sheet(base, None, 0, columns, rows)


def read_smic_e_sheet(path: str | Path) -> Sheet:
    """SMIC-E's annotation sheet as sample rows: one per micro-expression (``OnsetF``..``OffsetF``, and the
    2019 sheet's ``Onset2F``..``Offset2F`` / ``Onset3F``..``Offset3F`` of the same clip), apex ``/``.

    Raises ``DatasetError`` naming the file when no header with Subject, Filename, OnsetF, OffsetF and
    Emotion columns is found in its first rows.
    """
    path = Path(path)
    for title, rows in raw_rows(path):
        for number, cells in rows[:HEADER_SEARCH_ROWS]:
            found = match_header(cells)
            if all(f in found for f in E_REQUIRED):
                break
        else:
            continue
        normed = [norm_header(c) for c in cells]
        more = [(normed.index(a), normed.index(b)) for a, b in E_MORE_INTERVALS if a in normed and b in normed]
        columns = {f: str(cells[i]).strip() for f, i in found.items()}
        columns.setdefault("apex", "(none: the middle frame)")
        samples: list[SheetRow] = []
        ignored: list[int] = []
        for row_number, row in rows:
            if row_number <= number or all(is_missing(c) for c in row):
                continue
            cell = {f: (row[i] if i < len(row) else None) for f, i in found.items()}
            if is_missing(cell["clip"]) and is_missing(cell["onset"]):
                ignored.append(row_number)
                continue
            values = {"subject": cell["subject"], "clip": cell["clip"], "emotion": cell["emotion"],
                      "action_units": cell.get("action_units"), "apex": cell.get("apex", "/")}
            samples.append(SheetRow(row_number, {**values, "onset": cell["onset"], "offset": cell["offset"]}))
            for on, off in more:
                onset, offset = (row[on] if on < len(row) else None), (row[off] if off < len(row) else None)
                if not is_missing(onset):
                    samples.append(SheetRow(row_number, {**values, "onset": onset, "offset": offset, "apex": "/"}))
        return Sheet(path, title, number, columns, samples, ignored)
    raise DatasetError(
        f"{path.name}: no header row with Subject, Filename, OnsetF, OffsetF and Emotion columns in the first "
        f"{HEADER_SEARCH_ROWS} rows of any worksheet (SMIC-E's annotation sheet). Fix: pass root= the folder "
        f"whose SMIC-HS-E_annotation sheet has that header.")


SPEC = DatasetSpec(
    name="smic",
    title="SMIC-HS",
    aliases=("SMIC-HS", "SMIC", "SMIC-E", "SMIC-HS-E"),
    root_env="TSFMICRO_SMIC",
    sheet_patterns=("smic-hs-e_annotation*", "smic-hs*"),
    layouts=(EXAMPLE, "<root>/s1/micro/negative/s1_ne_01/image<N>.bmp (raw, root = the HS folder)",
             f"{EXAMPLE_E} (SMIC-E: root = HS_long, with SMIC-HS-E_annotation.xlsx)"),
    subject_id="s{n}",
    subject_folders=("{subject}", "s{n:02d}"),
    cropped_layout=f"{EXAMPLE} (root = SMIC_all_cropped: the release's own face crops, reg_ prefix)",
    clip_parents=tuple(f"micro/{e}" for e in EMOTIONS),
    index_tree=index_tree,
    tasks={3: TaskSpec(THREE_CLASS, official_seed=2, official_epochs=199, official_weight_decay=0.7)},
    search_scale=0.15,
    search_divisor=2,  # CASME II's radius (0.15 / 4 at 200 fps) for half the frame rate
)
