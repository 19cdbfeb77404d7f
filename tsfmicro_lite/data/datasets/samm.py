"""SAMM (Davison et al. 2018, 200 fps): its sheet, folders, subject naming, class mappings and official recipe.

Everything the kit knows about SAMM is this one spec; the readers are generic. The released workbook
has title rows above its header (the sheet reader searches for the header). Sources: the official
scripts ``classes/samm/train_c{3,5}.py``, spec §6 (mappings), §5 (recipe), §1 (frame-pair search).
"""
from __future__ import annotations

from ..spec import DatasetSpec, TaskSpec, class_mapping

#: Spellings seen across releases that the official string comparison would miss.
EMOTION_ALIASES = {"others": "other", "happy": "happiness", "sad": "sadness", "angry": "anger"}

FIVE_CLASS = class_mapping(
    "samm", ("anger", "contempt", "happiness", "surprise", "other"),
    {"anger": 0, "contempt": 1, "happiness": 2, "surprise": 3, "other": 4},
    dropped=("disgust", "fear", "sadness"), aliases=EMOTION_ALIASES)
THREE_CLASS = class_mapping(
    "samm", ("positive", "surprise", "negative"),
    {"happiness": 0, "surprise": 1, "anger": 2, "contempt": 2, "disgust": 2, "fear": 2, "sadness": 2},
    dropped=("other",), aliases=EMOTION_ALIASES)

SPEC = DatasetSpec(
    name="samm",
    title="SAMM",
    aliases=(),
    root_env="TSFMICRO_SAMM",
    sheet_patterns=("samm_micro_facs_codes*", "samm_136*", "samm*"),
    layouts=("<root>/006/006_1_2/006_05562.jpg (or 006_5562.jpg, optionally under <root>/Cropped/)",),
    cropped_layout="<root>/Cropped/006/006_1_2/006_5562.jpg (SAMM's cropped faces, frame numbers unpadded)",
    subject_id="{n:03d}",
    subject_folders=("{subject}", "{n}"),
    tasks={
        5: TaskSpec(FIVE_CLASS, official_seed=0, official_epochs=199, official_weight_decay=0.6,
                    official_loso=tuple("6 7 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 25 26 28 30 31 32 33 34 "
                                        "35 37".split())),
        3: TaskSpec(THREE_CLASS, official_seed=0, official_epochs=199, official_weight_decay=0.7,
                    official_loso=tuple("6 7 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 26 28 30 31 32 33 34 "
                                        "35 36 37".split())),
    },
    search_scale=0.1,
)
