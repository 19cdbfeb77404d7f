"""tsfmicro_lite.data: the datasets (licensed CASME II / SAMM / CAS(ME)^3 / SMIC-HS and the synthetic SynthME).

``load_dataset`` reads any registered dataset into one table of samples (notebook 01). Each dataset is
one spec file in ``data/datasets/`` (``get_spec``, ``list_datasets``); the readers are generic.
``make_synthme`` (from ``tsfmicro_lite.synth``, one layer down) generates the embedded synthetic dataset.
"""
from __future__ import annotations

from ..synth import make_synthme
from .composite import load_dataset  # readers.load_dataset, plus "megc2019" (roots=...)
from .datasets import find_spec, get_spec, list_datasets, register
from .errors import DatasetError
from .mappings import MAPPINGS, get_mapping, official_loso_subjects
from .readers import LoadReport, dataset_report
from .spec import ClassMapping, DatasetSpec, TaskSpec

__all__ = ["DatasetError", "LoadReport", "load_dataset", "dataset_report", "make_synthme",
           "DatasetSpec", "TaskSpec", "get_spec", "find_spec", "list_datasets", "register",
           "MAPPINGS", "ClassMapping", "get_mapping", "official_loso_subjects"]
