"""tsfmicro_lite.data: the datasets (licensed CASME II / SAMM / CAS(ME)^3 and the synthetic SynthME).

``load_dataset`` reads any of them into one table of samples (notebook 01); ``make_synthme``
generates the embedded synthetic dataset. ``make_synthme`` is imported on first use, so reading a
real dataset does not load the synthetic renderer.
"""
from __future__ import annotations

from typing import Any

from .errors import DatasetError
from .mappings import MAPPINGS, ClassMapping, get_mapping, official_loso_subjects
from .readers import LoadReport, dataset_report, load_dataset

__all__ = ["DatasetError", "LoadReport", "load_dataset", "dataset_report", "make_synthme",
           "MAPPINGS", "ClassMapping", "get_mapping", "official_loso_subjects"]


def __getattr__(name: str) -> Any:
    if name == "make_synthme":
        from .synthetic import make_synthme

        return make_synthme
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
