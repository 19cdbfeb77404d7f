"""CAS(ME)^3 part A (Li et al. 2022): its sheet, folders, subject naming, class mappings and official recipe.

Everything the kit knows about CAS(ME)^3 is this one spec; the readers are generic. One clip folder
holds several micro-expressions (the reader lists each folder once), and some releases put the frames
in a ``color/`` folder inside the clip. Sources: the official scripts ``classes/cas3/train_c{4,7}.py``
(one LOSO list for both tasks), spec §6 (mappings), §5 (recipe), §1 (frame-pair search).
"""
from __future__ import annotations

from ..spec import DatasetSpec, TaskSpec, class_mapping

#: Spellings seen across releases that the official string comparison would miss.
EMOTION_ALIASES = {"other": "others", "happiness": "happy", "sadness": "sad", "angry": "anger"}

SEVEN_CLASS = class_mapping(
    "casme3", ("anger", "disgust", "fear", "happy", "sad", "surprise", "others"),
    {"anger": 0, "disgust": 1, "fear": 2, "happy": 3, "sad": 4, "surprise": 5, "others": 6},
    aliases=EMOTION_ALIASES)
FOUR_CLASS = class_mapping(
    "casme3", ("positive", "surprise", "others", "negative"),
    {"happy": 0, "surprise": 1, "others": 2, "anger": 3, "disgust": 3, "fear": 3, "sad": 3},
    aliases=EMOTION_ALIASES)

#: The official LOSO list, as the scripts write it (sorted as strings: spNO.1, spNO.10, ...).
OFFICIAL_LOSO = tuple((
    "spNO.1 spNO.10 spNO.11 spNO.12 spNO.13 spNO.138 spNO.139 spNO.14 spNO.142 spNO.143 spNO.144 "
    "spNO.145 spNO.146 spNO.147 spNO.148 spNO.149 spNO.15 spNO.150 spNO.152 spNO.153 spNO.154 "
    "spNO.155 spNO.156 spNO.157 spNO.158 spNO.159 spNO.160 spNO.161 spNO.162 spNO.163 spNO.165 "
    "spNO.166 spNO.167 spNO.168 spNO.169 spNO.17 spNO.170 spNO.171 spNO.172 spNO.173 spNO.174 "
    "spNO.175 spNO.176 spNO.177 spNO.178 spNO.179 spNO.180 spNO.181 spNO.182 spNO.183 spNO.184 "
    "spNO.185 spNO.186 spNO.187 spNO.188 spNO.189 spNO.190 spNO.192 spNO.193 spNO.194 spNO.195 "
    "spNO.196 spNO.197 spNO.198 spNO.2 spNO.200 spNO.201 spNO.202 spNO.203 spNO.204 spNO.206 "
    "spNO.207 spNO.208 spNO.209 spNO.210 spNO.211 spNO.212 spNO.213 spNO.214 spNO.215 spNO.216 "
    "spNO.217 spNO.3 spNO.39 spNO.4 spNO.40 spNO.41 spNO.42 spNO.5 spNO.6 spNO.7 spNO.77 spNO.8 "
    "spNO.9").split())

SPEC = DatasetSpec(
    name="casme3",
    title="CAS(ME)^3",
    aliases=("CAS(ME)^3", "casmeiii"),
    root_env="TSFMICRO_CASME3",
    sheet_patterns=("cas(me)3_part_a_me_label*", "cas(me)3*label*", "cas(me)3*", "casme3*", "*part_a*label*"),
    layouts=("<root>/spNO.1/a/123.jpg", "<root>/spNO.1/a/color/123.jpg"),
    cropped_layout="<root>/Cropped/spNO.1/a/123.jpg (part A's pre-cropped faces, in a folder named *crop*)",
    subject_id="spNO.{n}",
    subject_folders=("{subject}",),
    clip_subfolders=("color",),
    tasks={
        7: TaskSpec(SEVEN_CLASS, official_seed=2, official_epochs=199, official_weight_decay=0.6,
                    official_loso=OFFICIAL_LOSO),
        4: TaskSpec(FOUR_CLASS, official_seed=2, official_epochs=199, official_weight_decay=0.6,
                    official_loso=OFFICIAL_LOSO),
    },
    search_scale=0.15,
    search_divisor=4,
    five_class_augment=True,  # the CAS(ME)^3 scripts rotate ±3° and pad 15 for both tasks (spec §1)
)
