"""The official class mappings and LOSO subject lists (spec ``official-implementation.md`` §6), as data.

Why data and not code: the mappings decide which samples exist at all (CASME II 3-class drops
"others", 5-class drops fear and sadness), so they are the first thing a reproduction must match.
Keeping them in one table lets ``tests/test_readers.py`` pin them against §6 and lets notebook 01
("the class balance per dataset") print them. The official code compares exact strings; the kit
compares them lower-cased and stripped, and counts every label it drops (see ``readers.py``).

The official LOSO lists (the ``paper`` preset) are kept in the order the official scripts hard-code,
because the seed is set once before the fold loop, so the order changes each fold's initialisation.
Subjects missing from a list are never tested but always trained on (spec §6, §9.8).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from .errors import DatasetError


@dataclass(frozen=True)
class ClassMapping:
    """One dataset/task: class names by label, and which sheet emotions map to which label.

    ``labels`` maps a normalised emotion (lower-case, stripped) to its label; ``dropped`` lists the
    emotions of that dataset the official code leaves out of this task (counted when skipped).
    ``aliases`` maps spellings the official code would silently drop to the spelling it matches.
    """

    dataset: str
    num_classes: int
    classes: tuple[str, ...]
    labels: Mapping[str, int]
    dropped: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)

    def label_of(self, emotion: str) -> int | None:
        """Label of a sheet emotion (any case, any surrounding spaces), or None if not in this task."""
        key = normalise_emotion(emotion)
        key = self.aliases.get(key, key)
        return self.labels.get(key)


def normalise_emotion(emotion: object) -> str:
    """``" Happiness "`` → ``"happiness"``: the form every mapping is keyed by."""
    return re.sub(r"\s+", " ", str(emotion)).strip().lower()


def _mapping(dataset: str, classes: tuple[str, ...], groups: dict[str, int],
             dropped: tuple[str, ...] = (), aliases: dict[str, str] | None = None) -> ClassMapping:
    return ClassMapping(dataset, len(classes), classes, MappingProxyType(dict(groups)), dropped,
                        MappingProxyType(dict(aliases or {})))


# Spellings seen across releases that the official string comparison would miss.
_CASME_ALIASES = {"other": "others", "happy": "happiness", "sad": "sadness"}
_SAMM_ALIASES = {"others": "other", "happy": "happiness", "sad": "sadness", "angry": "anger"}
_CASME3_ALIASES = {"other": "others", "happiness": "happy", "sadness": "sad", "angry": "anger"}

#: (dataset, number of classes) → mapping, exactly as §6 of the spec.
MAPPINGS: Mapping[tuple[str, int], ClassMapping] = MappingProxyType({
    ("casme2", 5): _mapping(
        "casme2", ("happiness", "repression", "disgust", "surprise", "others"),
        {"happiness": 0, "repression": 1, "disgust": 2, "surprise": 3, "others": 4},
        dropped=("fear", "sadness"), aliases=_CASME_ALIASES),
    ("casme2", 3): _mapping(
        "casme2", ("positive", "surprise", "negative"),
        {"happiness": 0, "surprise": 1, "disgust": 2, "repression": 2, "fear": 2, "sadness": 2},
        dropped=("others",), aliases=_CASME_ALIASES),
    ("samm", 5): _mapping(
        "samm", ("anger", "contempt", "happiness", "surprise", "other"),
        {"anger": 0, "contempt": 1, "happiness": 2, "surprise": 3, "other": 4},
        dropped=("disgust", "fear", "sadness"), aliases=_SAMM_ALIASES),
    ("samm", 3): _mapping(
        "samm", ("positive", "surprise", "negative"),
        {"happiness": 0, "surprise": 1, "anger": 2, "contempt": 2, "disgust": 2, "fear": 2,
         "sadness": 2},
        dropped=("other",), aliases=_SAMM_ALIASES),
    ("casme3", 7): _mapping(
        "casme3", ("anger", "disgust", "fear", "happy", "sad", "surprise", "others"),
        {"anger": 0, "disgust": 1, "fear": 2, "happy": 3, "sad": 4, "surprise": 5, "others": 6},
        aliases=_CASME3_ALIASES),
    ("casme3", 4): _mapping(
        "casme3", ("positive", "surprise", "others", "negative"),
        {"happy": 0, "surprise": 1, "others": 2, "anger": 3, "disgust": 3, "fear": 3, "sad": 3},
        aliases=_CASME3_ALIASES),
})

#: Datasets whose rows come from a CASME II-style sheet and folder (synthme is one, by design).
SHEET_FORMAT: Mapping[str, str] = MappingProxyType(
    {"casme2": "casme2", "samm": "samm", "casme3": "casme3", "synthme": "casme2"})

DATASETS: tuple[str, ...] = ("casme2", "samm", "casme3", "synthme")

_NAME_ALIASES = {"casmeii": "casme2", "casme2": "casme2", "samm": "samm", "casme3": "casme3",
                 "casmeiii": "casme3", "synthme": "synthme", "synthetic": "synthme"}


def normalise_dataset_name(name: str) -> str:
    """``"CASME II"`` / ``"cas(me)^3"`` → ``"casme2"`` / ``"casme3"``; unknown names raise.

    The error (``DatasetError``, a ``ValueError``, so the CLI prints it without a traceback) lists
    the valid names and the closest match (timm only says "Unknown model").
    """
    key = re.sub(r"[^a-z0-9]", "", str(name).lower())
    if key in _NAME_ALIASES:
        return _NAME_ALIASES[key]
    close = difflib.get_close_matches(key, list(_NAME_ALIASES), n=4, cutoff=0.5)
    names = list(dict.fromkeys(_NAME_ALIASES[c] for c in close))[:2]
    hint = f" Did you mean {' or '.join(repr(n) for n in names)}?" if names else ""
    raise DatasetError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}.{hint}")


def class_counts(dataset: str) -> tuple[int, ...]:
    """The class counts a dataset supports (synthme: those of CASME II, whose sheet it mimics)."""
    fmt = SHEET_FORMAT[normalise_dataset_name(dataset)]
    return tuple(sorted(n for (d, n) in MAPPINGS if d == fmt))


def get_mapping(dataset: str, classes: int) -> ClassMapping:
    """The §6 mapping for ``dataset`` with ``classes`` classes; other counts raise ``DatasetError``."""
    name = normalise_dataset_name(dataset)
    valid = class_counts(name)
    try:
        classes_int = int(classes)
    except (TypeError, ValueError):
        classes_int = -1
    if classes_int not in valid:
        raise DatasetError(f"{name} has no {classes!r}-class task; valid: "
                         f"{' or '.join(str(v) for v in valid)} (official mappings, spec §6).")
    return MAPPINGS[(SHEET_FORMAT[name], classes_int)]


# ---------------------------------------------------------------------------------------------
# Official LOSO lists, as hard-coded (and in the order used) by the official training scripts.
# CASME II 5: classes/cas2/train_c5.py; CASME II 3: fusion/cas2/train_c3.py (the classes/ one is
# empty, spec §9.3); SAMM: classes/samm/train_c{3,5}.py; CAS(ME)^3: classes/cas3/train_c{4,7}.py.
_CASME3_LOSO = (
    "spNO.1 spNO.10 spNO.11 spNO.12 spNO.13 spNO.138 spNO.139 spNO.14 spNO.142 spNO.143 spNO.144 "
    "spNO.145 spNO.146 spNO.147 spNO.148 spNO.149 spNO.15 spNO.150 spNO.152 spNO.153 spNO.154 "
    "spNO.155 spNO.156 spNO.157 spNO.158 spNO.159 spNO.160 spNO.161 spNO.162 spNO.163 spNO.165 "
    "spNO.166 spNO.167 spNO.168 spNO.169 spNO.17 spNO.170 spNO.171 spNO.172 spNO.173 spNO.174 "
    "spNO.175 spNO.176 spNO.177 spNO.178 spNO.179 spNO.180 spNO.181 spNO.182 spNO.183 spNO.184 "
    "spNO.185 spNO.186 spNO.187 spNO.188 spNO.189 spNO.190 spNO.192 spNO.193 spNO.194 spNO.195 "
    "spNO.196 spNO.197 spNO.198 spNO.2 spNO.200 spNO.201 spNO.202 spNO.203 spNO.204 spNO.206 "
    "spNO.207 spNO.208 spNO.209 spNO.210 spNO.211 spNO.212 spNO.213 spNO.214 spNO.215 spNO.216 "
    "spNO.217 spNO.3 spNO.39 spNO.4 spNO.40 spNO.41 spNO.42 spNO.5 spNO.6 spNO.7 spNO.77 spNO.8 "
    "spNO.9").split()

#: (dataset, classes) → subject IDs exactly as the official scripts write them.
OFFICIAL_LOSO_RAW: Mapping[tuple[str, int], tuple[str, ...]] = MappingProxyType({
    ("casme2", 5): tuple("17 26 16 9 5 24 2 13 4 23 11 12 8 14 3 19 1 18 10 20 21 22 15 6 25 7"
                         .split()),
    ("casme2", 3): tuple("26 17 16 9 5 24 2 13 4 23 11 12 8 14 3 19 1 10 20 21 22 15 6 25 7"
                         .split()),
    ("samm", 5): tuple("6 7 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 25 26 28 30 31 32 33 34 "
                       "35 37".split()),
    ("samm", 3): tuple("6 7 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 26 28 30 31 32 33 34 "
                       "35 36 37".split()),
    ("casme3", 7): tuple(_CASME3_LOSO),
    ("casme3", 4): tuple(_CASME3_LOSO),
})


def normalise_subject(dataset: str, value: object) -> str:
    """The kit's subject ID: ``"sub01"`` (CASME II, synthme), ``"006"`` (SAMM), ``"spNO.1"`` (CAS(ME)^3).

    Accepts what sheets hold: ``1``, ``1.0``, ``"01"``, ``"sub1"``, ``"006"``, ``"spno.1"``.
    Raises ValueError (the reader adds file and row) when no subject number can be read.
    """
    fmt = SHEET_FORMAT[normalise_dataset_name(dataset)]
    text = str(value).strip()
    match = re.fullmatch(r"(?i)(?:sub|s|spno\.?|sp)?\s*0*(\d+)(?:\.0+)?", text)
    if not match or text == "":
        raise ValueError(f"cannot read a subject number from {value!r}")
    number = int(match.group(1))
    if fmt == "casme2":
        return f"sub{number:02d}"
    if fmt == "samm":
        return f"{number:03d}"
    return f"spNO.{number}"


def official_loso_subjects(dataset: str, classes: int) -> list[str]:
    """The official LOSO test subjects (``paper`` preset), normalised like ``load_dataset``'s column.

    synthme has no official list: it raises ValueError (use every subject, the kit's default).
    """
    name = normalise_dataset_name(dataset)
    get_mapping(name, classes)  # validates the class count
    if name == "synthme":
        raise ValueError("synthme has no official LOSO list; the kit tests every subject present")
    return [normalise_subject(name, s) for s in OFFICIAL_LOSO_RAW[(name, int(classes))]]
