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

The extended release SMIC-E (``HS_long/SMIC-HS-E/s01/<clip>/image<NNNNNN>.jpg`` with
``SMIC-HS-E_annotation.xlsx``: Subject, Filename, Emotion, OnsetF, OffsetF) is not read by this spec:
its sheet has no apex column. TSFmicro's official code has no SMIC script, so SMIC has no official
LOSO list (every subject is tested) and its recipe numbers are those of the other datasets' 3-class
task (seed 2, 199 epochs, weight decay 0.7), not official ones.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import DatasetError
from ..layouts import DiskIndex
from ..sheets import Sheet, SheetRow
from ..spec import DatasetSpec, TaskSpec, class_mapping

#: The emotion folders under ``micro/``, as the release names them.
EMOTIONS = ("positive", "negative", "surprise")
#: The apex rule, stated once (the reader's rule 2 applies it to a missing apex): the middle frame.
APEX_RULE = "middle frame of onset..offset, (onset + offset) // 2 (MEGC2019; SMIC has no apex annotation)"

THREE_CLASS = class_mapping("smic", ("positive", "surprise", "negative"),
                            {"positive": 0, "surprise": 1, "negative": 2})

_SUBJECT_DIR = re.compile(r"(?i)s0*(\d+)")
EXAMPLE = "<root>/HS/s1/micro/positive/s1_po_01/reg_image<N>.bmp"


def _hs_folder(root: Path, disk: DiskIndex) -> Path | None:
    """The folder holding the subject folders: ``root/HS`` (any case), or ``root`` itself."""
    names = disk.dir_names(root)
    for candidate in ([root / names["hs"]] if "hs" in names else []) + [root]:
        if any(_SUBJECT_DIR.fullmatch(n) and "micro" in disk.dir_names(candidate / n)
               for n in disk.dir_names(candidate).values()):
            return candidate
    return None


def index_tree(root: Path) -> Sheet:
    """SMIC-HS's folders as the rows of a sheet: subject, clip, first / last frame, emotion; no apex.

    Raises ``DatasetError`` naming ``root`` when no ``s<N>/micro/<emotion>/<clip>/`` folder is found.
    """
    disk = DiskIndex()
    base = _hs_folder(root, disk)
    if base is None:
        raise DatasetError(
            f"no SMIC-HS subject folders (s1 ... s20, each with micro/positive|negative|surprise/<clip>/) found "
            f"in {root} nor in {root / 'HS'}. Expected frames like {EXAMPLE}. Fix: pass root= the HS folder of "
            f"SMIC_all_cropped (or SMIC_all_raw), or the folder that holds HS/.")
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


SPEC = DatasetSpec(
    name="smic",
    title="SMIC-HS",
    aliases=("SMIC-HS", "SMIC"),
    root_env="TSFMICRO_SMIC",
    sheet_patterns=("smic-hs*",),
    layouts=(EXAMPLE, "<root>/s1/micro/negative/s1_ne_01/image<N>.bmp (raw, root = the HS folder)"),
    subject_id="s{n}",
    subject_folders=("{subject}", "s{n:02d}"),
    cropped_layout=f"{EXAMPLE} (root = SMIC_all_cropped: the release's own face crops, reg_ prefix)",
    clip_parents=tuple(f"micro/{e}" for e in EMOTIONS),
    index_tree=index_tree,
    tasks={3: TaskSpec(THREE_CLASS, official_seed=2, official_epochs=199, official_weight_decay=0.7)},
    search_scale=0.15,
    search_divisor=2,  # CASME II's radius (0.15 / 4 at 200 fps) for half the frame rate
)
