"""The official class mappings and LOSO subject lists (spec §6), looked up in the dataset specs.

Why the mappings matter: they decide which samples exist at all (CASME II 3-class drops "others",
5-class drops fear and sadness), so they are the first thing a reproduction must match;
``tests/data/test_readers.py`` pins them against §6. The facts live in one file per dataset
(``data/datasets/<name>.py``); this module only looks them up, under the names the rest of the kit
and the notebooks have always used.

The official LOSO lists (the ``paper`` preset) keep the order the official scripts hard-code, because
the seed is set once before the fold loop, so the order changes each fold's initialisation. Subjects
missing from a list are never tested but always trained on (spec §6, §9.8).
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .datasets import get_spec, list_datasets
from .spec import ClassMapping, normalise_emotion

__all__ = ["ClassMapping", "MAPPINGS", "OFFICIAL_LOSO_RAW", "normalise_emotion", "normalise_dataset_name",
           "class_counts", "get_mapping", "normalise_subject", "official_loso_subjects"]


def normalise_dataset_name(name: str) -> str:
    """``"CASME II"`` / ``"cas(me)^3"`` → ``"casme2"`` / ``"casme3"``; unknown names raise ``DatasetError``."""
    return get_spec(name).name


def class_counts(dataset: str) -> tuple[int, ...]:
    """The class counts a dataset supports (synthme: those of CASME II, whose sheet it mimics)."""
    return get_spec(dataset).class_counts


def get_mapping(dataset: str, classes: int) -> ClassMapping:
    """The §6 mapping for ``dataset`` with ``classes`` classes; other counts raise ``DatasetError``."""
    return get_spec(dataset).mapping(classes)


def normalise_subject(dataset: str, value: object) -> str:
    """The kit's subject ID: ``"sub01"`` (CASME II, synthme), ``"006"`` (SAMM), ``"spNO.1"`` (CAS(ME)^3).

    Accepts what sheets hold: ``1``, ``1.0``, ``"01"``, ``"sub1"``, ``"006"``, ``"spno.1"``.
    Raises ValueError (the reader adds file and row) when no subject number can be read.
    """
    return get_spec(dataset).subject(value)


def official_loso_subjects(dataset: str, classes: int) -> list[str]:
    """The official LOSO test subjects (``paper`` preset), normalised like ``load_dataset``'s column.

    A dataset without an official list (synthme) raises ValueError: use every subject, the kit's default.
    """
    spec = get_spec(dataset)
    task = spec.task(classes)
    if task.official_loso is None:
        raise ValueError(f"{spec.name} has no official LOSO list; the kit tests every subject present")
    return [spec.subject(s) for s in task.official_loso]


#: (dataset, number of classes) → mapping, exactly as §6 of the spec, for the datasets that define their
#: own (synthme borrows CASME II's, so ``get_mapping("synthme", 5) is get_mapping("casme2", 5)``).
MAPPINGS: Mapping[tuple[str, int], ClassMapping] = MappingProxyType({
    (name, n): task.mapping for name in list_datasets() for n, task in get_spec(name).tasks.items()
    if task.mapping.dataset == name})

#: (dataset, classes) → subject IDs exactly as the official scripts write them (and in their order).
OFFICIAL_LOSO_RAW: Mapping[tuple[str, int], tuple[str, ...]] = MappingProxyType({
    (name, n): task.official_loso for name in list_datasets() for n, task in get_spec(name).tasks.items()
    if task.official_loso is not None})
