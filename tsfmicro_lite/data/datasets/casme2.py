"""CASME II (Yan et al. 2014, 200 fps): its sheet, folders, subject naming, class mappings and official recipe.

Everything the kit knows about CASME II is this one spec; the readers are generic. Sources: the
official code's scripts (``classes/cas2/train_c5.py``, and ``fusion/cas2/train_c3.py`` for the
3-class list: the ``classes/`` one is empty, spec §9.3), the class mappings of spec §6, the recipe of
spec §5 and the frame-pair search of spec §1.
"""
from __future__ import annotations

from ..spec import DatasetSpec, TaskSpec, class_mapping

#: Spellings seen across releases that the official string comparison would miss.
EMOTION_ALIASES = {"other": "others", "happy": "happiness", "sad": "sadness"}

FIVE_CLASS = class_mapping(
    "casme2", ("happiness", "repression", "disgust", "surprise", "others"),
    {"happiness": 0, "repression": 1, "disgust": 2, "surprise": 3, "others": 4},
    dropped=("fear", "sadness"), aliases=EMOTION_ALIASES)
THREE_CLASS = class_mapping(
    "casme2", ("positive", "surprise", "negative"),
    {"happiness": 0, "surprise": 1, "disgust": 2, "repression": 2, "fear": 2, "sadness": 2},
    dropped=("others",), aliases=EMOTION_ALIASES)

SPEC = DatasetSpec(
    name="casme2",
    title="CASME II",
    aliases=("CASME II",),
    root_env="TSFMICRO_CASME2",
    sheet_patterns=("casme2-coding-*", "casme2*coding*", "*casme2*", "*casme*ii*"),
    layouts=("<root>/Cropped/sub01/EP02_01f/reg_img46.jpg", "<root>/sub01/EP02_01f/img46.jpg"),
    cropped_layout="<root>/Cropped/sub01/EP02_01f/reg_img46.jpg (the release's Cropped folder)",
    subject_id="sub{n:02d}",
    subject_folders=("{subject}", "sub{n}"),
    tasks={
        5: TaskSpec(FIVE_CLASS, official_seed=2, official_epochs=174, official_weight_decay=0.6,
                    official_loso=tuple("17 26 16 9 5 24 2 13 4 23 11 12 8 14 3 19 1 18 10 20 21 22 15 6 25 7"
                                        .split())),
        3: TaskSpec(THREE_CLASS, official_seed=112, official_epochs=199, official_weight_decay=0.7,
                    official_loso=tuple("26 17 16 9 5 24 2 13 4 23 11 12 8 14 3 19 1 10 20 21 22 15 6 25 7"
                                        .split())),
    },
    search_scale=0.15,
    search_divisor=4,
)
