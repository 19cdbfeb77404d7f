"""``DatasetSpec``: everything the kit knows about one dataset, as one frozen value (one file per dataset).

Why: what "CASME II" means used to be spread over six modules as dicts keyed by a format string. A
spec gathers it: how its sheet is named, how its folders are laid out and its subjects written, which
environment variable holds its root, the other names people give it, the official class mappings per
task (spec §6), the frame-pair search radius and augmentation rule (spec §1) and the official recipe's
per-task numbers (seed, epochs, weight decay, LOSO test list; spec §5, §6). The readers (``sheets.py``,
``layouts.py``, ``readers.py``) are generic and take a spec; each dataset's facts live in
``data/datasets/<name>.py``.

``ClassMapping`` (one task's labels) lives here too, so a spec file needs nothing but this module.
The official code compares exact strings; the kit compares them lower-cased and stripped, and counts
every label it drops (``readers.py``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .errors import DatasetError

__all__ = ["ClassMapping", "TaskSpec", "DatasetSpec", "class_mapping", "normalise_emotion", "dataset_key"]

# What sheets write for a subject: 1, 1.0, "01", "sub1", "006", "spNO.1" (the prefixes of every release).
_SUBJECT_NUMBER = re.compile(r"(?i)(?:sub|s|spno\.?|sp)?\s*0*(\d+)(?:\.0+)?")


def normalise_emotion(emotion: object) -> str:
    """``" Happiness "`` → ``"happiness"``: the form every mapping is keyed by."""
    return re.sub(r"\s+", " ", str(emotion)).strip().lower()


def dataset_key(name: object) -> str:
    """``"CASME II"`` → ``"casmeii"``, ``"CAS(ME)^3"`` → ``"casme3"``: how dataset names are compared."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


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


def class_mapping(dataset: str, classes: tuple[str, ...], groups: dict[str, int],
                  dropped: tuple[str, ...] = (), aliases: dict[str, str] | None = None) -> ClassMapping:
    """Build a read-only :class:`ClassMapping` (what a spec file writes for each task)."""
    return ClassMapping(dataset, len(classes), classes, MappingProxyType(dict(groups)), dropped,
                        MappingProxyType(dict(aliases or {})))


@dataclass(frozen=True)
class TaskSpec:
    """One classification task of a dataset: its class mapping and the official recipe's numbers for it.

    ``official_loso`` is the official script's hard-coded LOSO test list, subject IDs exactly as the
    script writes them and in its order (the seed is set once before the fold loop, so the order sets
    each fold's initialisation); None when the dataset has no official list (every subject is tested).
    """

    mapping: ClassMapping
    official_seed: int
    official_epochs: int
    official_weight_decay: float
    official_loso: tuple[str, ...] | None = None

    @property
    def num_classes(self) -> int:
        return self.mapping.num_classes


@dataclass(frozen=True)
class DatasetSpec:
    """The facts of one dataset; the generic readers take one instead of branching on its name.

    Fields:
        name: the kit's key (``"casme2"``), used in tables, folders and ``load_dataset(name)``.
        title: how people write it (``"CASME II"``).
        aliases: other names that resolve to it, compared as :func:`dataset_key` does (``"casmeii"``).
        root_env: environment variable read when ``root`` is None; None only with ``make_root``.
        sheet_patterns: annotation-sheet file name patterns, case-insensitive, most specific first.
        layouts: example frame paths of the folder layouts the releases have, most usual first.
        subject_id: format of the kit's subject ID from the subject number ``n`` (``"sub{n:02d}"``).
        subject_folders: formats of the folder names a subject may have on disk (``subject``: the ID,
            ``n``: the number), most usual first.
        clip_subfolders: folders inside a clip folder that may hold its frames (CAS(ME)^3 ``color``).
        tasks: class count → :class:`TaskSpec` (the official mapping and recipe numbers of that task).
        search_scale, search_divisor: the frame-pair search radius is
            ``int(search_scale · (apex − onset) / search_divisor)`` (spec §1).
        synthetic: True for generated data (results on it are labelled synthetic).
        landmarks_dir: folder under the root with ground-truth landmarks ``<subject>/<clip>.npy``.
        make_root: returns a root when none is given (SynthME generates one); None for real datasets.
        cropped_layout: where the release's own face crops are (what the official code reads, spec §1 / §8;
            ``prepare(..., PrepConfig(faces="dataset"))`` uses them); empty when the release has none.
        clip_parents: folders between a subject folder and its clip folders, tried in order when the clip is
            not directly under the subject (SMIC-HS: ``micro/positive``, ``micro/negative``, ``micro/surprise``).
        index_tree: for a release without an annotation sheet (SMIC-HS), ``index_tree(root) -> sheets.Sheet``
            builds the sheet rows from its folders; None for the datasets that ship a sheet.
        five_class_augment: True when the official scripts augment every task of the dataset as they do the
            5-class ones (±3°, padding 15), whatever its class count (CAS(ME)^3, spec §1); False: only tasks of
            4 or more classes do, 3-class tasks get ±4° and padding 4 (``JointAugment.for_task``).
    """

    name: str
    title: str
    aliases: tuple[str, ...]
    root_env: str | None
    sheet_patterns: tuple[str, ...]
    layouts: tuple[str, ...]
    subject_id: str
    subject_folders: tuple[str, ...]
    tasks: Mapping[int, TaskSpec]
    search_scale: float
    search_divisor: int = 1
    clip_subfolders: tuple[str, ...] = ()
    synthetic: bool = False
    landmarks_dir: str | None = None
    make_root: Callable[[], Path] | None = None
    cropped_layout: str = ""
    clip_parents: tuple[str, ...] = ()
    index_tree: Callable[[Path], Any] | None = None
    five_class_augment: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """Every normalised name that resolves to this dataset (its name first)."""
        return tuple(dict.fromkeys(dataset_key(n) for n in (self.name, *self.aliases)))

    @property
    def class_counts(self) -> tuple[int, ...]:
        """The class counts of its tasks, ascending (CASME II: ``(3, 5)``)."""
        return tuple(sorted(self.tasks))

    @property
    def example_frames(self) -> str:
        """The example frame paths as one phrase, for error messages."""
        return " or ".join(self.layouts)

    def task(self, classes: int) -> TaskSpec:
        """The task with ``classes`` classes; other counts raise ``DatasetError`` listing the valid ones."""
        try:
            classes_int = int(classes)
        except (TypeError, ValueError):
            classes_int = -1
        if classes_int not in self.tasks:
            raise DatasetError(f"{self.name} has no {classes!r}-class task; valid: "
                               f"{' or '.join(str(v) for v in self.class_counts)} (official mappings, spec §6).")
        return self.tasks[classes_int]

    def mapping(self, classes: int) -> ClassMapping:
        """The official class mapping of the ``classes``-class task (spec §6)."""
        return self.task(classes).mapping

    def subject(self, value: object) -> str:
        """The kit's subject ID from a sheet cell: ``1``, ``1.0``, ``"01"``, ``"sub1"`` → e.g. ``"sub01"``.

        Raises ValueError (the reader adds file and row) when no subject number can be read.
        """
        text = str(value).strip()
        match = _SUBJECT_NUMBER.fullmatch(text)
        if not match or text == "":
            raise ValueError(f"cannot read a subject number from {value!r}")
        return self.subject_id.format(n=int(match.group(1)))

    def subject_folder_names(self, subject: str) -> tuple[str, ...]:
        """Folder names a subject may have on disk, most usual first (``sub01`` also as ``sub1``)."""
        digits = re.sub(r"\D", "", subject)
        if not digits:
            return (subject,)
        names = (fmt.format(subject=subject, n=int(digits)) for fmt in self.subject_folders)
        return tuple(dict.fromkeys(names)) or (subject,)

    def search_radius(self, onset: int, apex: int) -> int:
        """Radius r of the training-time frame-pair search for a clip (spec §1)."""
        span = max(int(apex) - int(onset), 0)
        return int(self.search_scale * span / self.search_divisor)
