"""assignments/checks/core.py: checks explain failures in words, draw fresh inputs, and register by exercise id."""
from __future__ import annotations

import numpy as np
import pytest

from tsfmicro_lite import check, metrics
from tsfmicro_lite.assignments import checks
from tsfmicro_lite.assignments.catalog import ASSIGNMENTS, exercise_ids
from tsfmicro_lite.assignments.checks import core
from tsfmicro_lite.utils.names import UnknownNameError


# ------------------------------------------------------------------ checks explain in words
def test_checks_explain_a_wrong_uar_without_showing_code():
    r = check.uar(lambda t, p: metrics.official_uar_macro_precision(t, p), seed=1)
    assert not r.passed and r.score < 1
    assert "expected value is" in r.message and "Recall divides by #true" in " ".join(r.hints)
    assert "def " not in str(r) and "Traceback" not in str(r)


def test_check_reports_shape_and_exception_location():
    r = check.decay_mask(lambda n, g: np.zeros((n, n + 1)), seed=2)
    assert "wrong shape" in r.message and "expected shape" in r.hints[0]

    def broken(n, g):
        return np.ones(n) @ np.ones(n + 1)                      # raises ValueError in the student's code
    r = check.decay_mask(broken, seed=2)
    assert "your code raised ValueError" in r.message and "line" in r.message


def test_check_fresh_inputs_each_call_and_reproducible_with_seed():
    seen = []

    def spy(y_true, y_pred):
        seen.append(np.asarray(y_true).tolist())
        return metrics.uf1(y_true, y_pred)
    check.uf1(spy), check.uf1(spy)
    n = len(seen) // 2
    assert seen[:n] != seen[n:]
    seen.clear()
    check.uf1(spy, seed=3), check.uf1(spy, seed=3)
    assert seen[:n] == seen[n:]


def test_handing_in_the_kits_own_function_scores_zero():
    r = check.uf1(metrics.uf1)
    assert not r.passed and r.score == 0 and "kit's own uf1" in r.message


def test_partial_credit_counts_cases():
    calls = {"n": 0}

    def flaky(y_true, y_pred):
        calls["n"] += 1
        return metrics.uf1(y_true, y_pred) if calls["n"] % 2 else 0.0
    r = check.uf1(flaky, seed=0)
    assert 0 < r.score < 1 and not r.passed


def test_not_implemented_scores_zero_with_the_stub_text():
    def stub(y_true, y_pred):
        raise NotImplementedError("A4.1: return the unweighted F1")
    r = check.uf1(stub, seed=0)
    assert not r.passed and r.score == 0.0 and r.message == "not implemented yet."
    assert r.hints == ["A4.1: return the unweighted F1"]


# ------------------------------------------------------------------ registration by exercise id
def test_every_exercise_has_exactly_one_check_and_every_check_an_exercise():
    reg = checks.registered()
    assert sorted(reg) == sorted(exercise_ids()), "catalog exercises and registered checks differ"
    assert len({id(fn) for fn in reg.values()}) == len(reg), "one function registered for two exercises"
    for ex_id, fn in reg.items():
        assert fn.exercise_id == ex_id
        assert checks.get_check(ex_id) is fn


def test_each_assignment_has_its_own_check_module():
    for a in ASSIGNMENTS:
        modules = {checks.get_check(e.id).__module__ for e in a.exercises}
        assert modules == {f"tsfmicro_lite.assignments.checks.{a.slug.lower()}"}, (a.id, modules)


def test_registering_an_unknown_exercise_fails_at_import():
    with pytest.raises(UnknownNameError, match=r"unknown exercise 'A2\.9'"):
        core.check("A2.9")
    with pytest.raises(UnknownNameError, match=r"unknown assignment 'A9'"):
        core.check("A9.1")


def test_a_second_check_for_the_same_exercise_is_refused():
    def uf1(fn, seed=None):
        return core.CheckResult("uf1", True, 1.0, "")
    with pytest.raises(ValueError, match="A4.1 already has a check"):
        core.check("A4.1")(uf1)
    assert checks.get_check("A4.1") is check.uf1


def test_get_check_of_an_unknown_exercise_uses_the_kits_wording():
    expected = r"unknown exercise 'A4\.7'\. Did you mean 'A4\.\d'\? Expected one of: A1\.1"
    with pytest.raises(UnknownNameError, match=expected):
        checks.get_check("A4.7")
