"""assignments/catalog.py: lookups by id or slug, and unknown ids in the kit's one wording."""
from __future__ import annotations

import pytest

from tsfmicro_lite.assignments.catalog import ASSIGNMENTS, exercise_ids, get_assignment, get_exercise
from tsfmicro_lite.utils.names import UnknownNameError


def test_lookup_by_id_slug_and_filename():
    a = ASSIGNMENTS[1]
    assert get_assignment(a.id) is get_assignment(a.slug) is get_assignment(a.filename) is a
    assert get_exercise("A2.3").symbols == ("retention_recurrent",)
    assert exercise_ids() == [e.id for a in ASSIGNMENTS for e in a.exercises]
    assert len(set(exercise_ids())) == len(exercise_ids())


@pytest.mark.parametrize("call, kind, name", [
    (lambda: get_assignment("A9"), "assignment", "A9"),
    (lambda: get_assignment("A2_retentoin"), "assignment", "A2_retentoin"),
    (lambda: get_exercise("A2.9"), "exercise", "A2.9"),
])
def test_unknown_ids_use_the_kits_wording(call, kind, name):
    with pytest.raises(UnknownNameError, match=rf"unknown {kind} '{name}'\. .*Expected one of: A"):
        call()


def test_a_misspelt_slug_gets_the_closest_name():
    with pytest.raises(KeyError, match="Did you mean 'A2_retention'"):
        get_assignment("A2_retentoin")
