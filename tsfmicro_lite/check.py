"""The checks students call from the assignment notebooks: a re-export of ``assignments/checks/``.

``from tsfmicro_lite import check`` then ``check.uf1(my_uf1)`` is the notebooks' spelling; the
checks themselves live in :mod:`tsfmicro_lite.assignments.checks`, one module per assignment
(``a1_inputs.py`` ... ``a4_evaluation.py``), each registered with the exercise id it grades.
"""
from __future__ import annotations

from .assignments.checks import (
    CheckResult,
    decay_mask,
    difference_input,
    fusion_variant,
    get_check,
    leak_inflation,
    loso_split,
    optical_flow,
    optical_strain,
    retention_parallel,
    retention_recurrent,
    uar,
    uf1,
)

__all__ = [
    "CheckResult", "difference_input", "optical_flow", "optical_strain", "decay_mask",
    "retention_parallel", "retention_recurrent", "fusion_variant", "uf1", "uar", "loso_split",
    "leak_inflation", "get_check",
]
