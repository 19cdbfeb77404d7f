"""The checks students call from the assignment notebooks, one module per assignment, registered by exercise id.

``core.py`` holds the framework (:class:`CheckResult`, comparing answers, running cases, the
``@check("A2.3")`` decorator); ``a1_inputs.py`` ... ``a4_evaluation.py`` hold the checks of one
assignment each. Importing this package imports them all, so :func:`get_check` knows every exercise.
``tsfmicro_lite.check`` re-exports the check functions under the names the notebooks use.

Which notebook teaches what:
- ``difference_input``, ``optical_flow``, ``optical_strain``  -> notebook 01 / assignment A1
- ``decay_mask``, ``retention_parallel``, ``retention_recurrent`` -> notebook 02 / assignment A2
- ``fusion_variant``                                            -> notebook 05 / assignment A3
- ``uf1``, ``uar``, ``loso_split``, ``leak_inflation``           -> notebook 06 / assignment A4
"""
from __future__ import annotations

from .a1_inputs import difference_input, optical_flow, optical_strain
from .a2_retention import decay_mask, retention_parallel, retention_recurrent
from .a3_fusion import FUSION_VARIANTS, fusion_variant
from .a4_evaluation import leak_inflation, loso_split, uar, uf1
from .core import CheckResult, check, get_check, registered

__all__ = [
    "CheckResult", "check", "get_check", "registered", "FUSION_VARIANTS",
    "difference_input", "optical_flow", "optical_strain", "decay_mask", "retention_parallel",
    "retention_recurrent", "fusion_variant", "uf1", "uar", "loso_split", "leak_inflation",
]
