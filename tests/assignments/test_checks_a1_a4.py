"""assignments/checks/a1_inputs.py and a4_evaluation.py: no credit for formula-blind cases, precise hints."""
from __future__ import annotations

import numpy as np

from tsfmicro_lite import check


def test_optical_strain_gives_no_credit_to_a_constant_answer():
    r = check.optical_strain(lambda flow: np.zeros(flow.shape[:2] + (1,), np.float32), seed=0)
    assert r.score == 0.0, "a case that any formula passes (rigid flow: strain 0) is back"


def test_uar_computed_as_macro_precision_is_named():
    def precision(y_true, y_pred):
        return float(np.mean([np.mean(y_true[y_pred == c] == c) for c in np.unique(y_pred)]))
    r = check.uar(precision, seed=0)
    assert not r.passed and "macro precision" in r.hints[0]
