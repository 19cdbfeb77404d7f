"""tsfmicro_lite.synth.faces: the stored LFW identities cover every profile; a face is placed with its landmarks."""
from __future__ import annotations

import numpy as np
import pytest

from tsfmicro_lite.synth.faces import (
    IDENTITY_FILE,
    LFW_SIDE,
    IdentityError,
    lfw_faces,
    neutral_landmarks,
    random_appearance,
    render_neutral,
    usable_identities,
)
from tsfmicro_lite.synth.generator import PROFILES


def test_identity_table_ships_beside_the_module_and_covers_every_profile():
    assert IDENTITY_FILE.name == "identities.json" and IDENTITY_FILE.parent.name == "synth"
    pool = usable_identities()
    assert len(pool) == len(set(pool)) and set(pool) <= set(range(100))
    assert len(pool) >= max(p.n_subjects for p in PROFILES.values())
    marks = np.stack([neutral_landmarks(i) for i in pool])
    # crop coordinates; the jaw may reach a few pixels past the tight 25 px crop (measured: -1.7 .. 27.3)
    assert marks.shape == (len(pool), 68, 2) and (marks > -3).all() and (marks < LFW_SIDE + 3).all()
    missing = next(i for i in range(100) if i not in pool) if len(pool) < 100 else None
    if missing is not None:
        with pytest.raises(IdentityError, match=f"LFW face {missing} has no landmarks"):
            neutral_landmarks(missing)


def test_neutral_face_is_placed_with_its_landmarks():
    faces = lfw_faces()
    assert faces.shape == (100, LFW_SIDE, LFW_SIDE) and faces.dtype == np.float32
    assert 0 <= faces.min() < faces.max() <= 1
    look = random_appearance(usable_identities()[0], 128, np.random.default_rng(0))
    image, marks = render_neutral(look, 128)
    assert image.shape == (128, 128, 3) and image.dtype == np.float32 and 0 <= image.min() < image.max() <= 1
    assert marks.shape == (68, 2) and (marks > 0).all() and (marks < 128).all()
    centre = marks.mean(axis=0)  # the face sits where its appearance says (its crop centre, within a few px)
    assert np.linalg.norm(centre - np.asarray(look.center)) < 0.15 * look.face_px
