"""The paper preset's augmentation and frame-pair search behave as the official code (spec §1).

The official choices here are computed by a transcription of the official search (``base.py``: a dict filled
in its order, ``np.linalg.norm`` of the uint8 difference, ``max`` keeps the first of equal norms), not by the kit.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsfmicro_lite.data.datasets import get_spec
from tsfmicro_lite.preprocess.augment import (
    JointAugment,
    apply_joint,
    candidate_pairs,
    official_candidate_pairs,
    official_pair_search,
    select_frame_pair,
)


def _official_pick(onsets: list[np.ndarray], apexes: list[np.ndarray]) -> tuple[int, int]:
    """The official search on frames onset+i (onsets[i]) and apex−j (apexes[j]), as base.py writes it."""
    r = len(onsets) - 1
    diff = {(0, 0): np.linalg.norm(apexes[0] - onsets[0])}
    for i in range(1, r + 1):
        diff[(i, 0)] = np.linalg.norm(apexes[0] - onsets[i])
        for j in range(1, r + 1):
            diff[(i, j)] = np.linalg.norm(apexes[j] - onsets[i])
    for j in range(1, r + 1):
        diff[(0, j)] = np.linalg.norm(apexes[j] - onsets[0])
    return max(diff, key=diff.get)


def _frames(*values: int) -> list[np.ndarray]:
    return [np.full((2, 2, 3), v, dtype=np.uint8) for v in values]


def test_wraparound_changes_the_pick_and_matches_the_official_choice():
    # apex one level darker than the onset: uint8 subtraction wraps −1 to 255, the largest "motion"
    onsets, apexes = _frames(10, 12), _frames(9, 60)
    official = _official_pick(onsets, apexes)
    assert official == (0, 0)
    assert select_frame_pair(onsets, apexes, wraparound=True) == official
    assert select_frame_pair(onsets, apexes, wraparound=False) == (0, 1)  # the kit's corrected search


def test_official_order_decides_ties_like_the_official_dict():
    # a repeated onset frame: (0, 1) and (1, 1) tie; the official dict meets (1, 1) first
    onsets, apexes = _frames(10, 10), _frames(11, 40)
    assert _official_pick(onsets, apexes) == (1, 1) == select_frame_pair(onsets, apexes, wraparound=True)
    assert select_frame_pair(onsets, apexes, wraparound=False) == (0, 1)
    for r in range(4):
        assert sorted(official_candidate_pairs(r)) == sorted(candidate_pairs(r))


@pytest.mark.parametrize("seed", range(6))
def test_wraparound_search_equals_the_official_one_on_random_frames(seed):
    rng = np.random.default_rng(seed)
    onsets = [rng.integers(0, 256, (4, 4, 3), dtype=np.uint8) for _ in range(3)]
    apexes = [rng.integers(0, 256, (4, 4, 3), dtype=np.uint8) for _ in range(3)]
    assert select_frame_pair(onsets, apexes, wraparound=True) == _official_pick(onsets, apexes)


def test_nearest_rotation_keeps_a_one_pixel_motion_bilinear_shrinks_it():
    rng = np.random.default_rng(0)
    onset = torch.from_numpy(rng.normal(size=(3, 48, 48)).astype(np.float32))
    apex = onset.clone()
    apex[:, 12:40:4, 12:40:4] += 1.0  # 1-pixel "motions", one level each
    params = {"flip": False, "angle": 2.5, "dx": 3, "dy": 5}
    near_on, near_ap = apply_joint([onset, apex], params, padding=4, interpolation="nearest")
    bil_on, bil_ap = apply_joint([onset, apex], params, padding=4, interpolation="bilinear")
    values = set(onset.flatten().tolist()) | {0.0}
    assert set(near_on.flatten().tolist()) <= values  # nearest: every output pixel is an input pixel (or fill)
    near, bil = (near_ap - near_on), (bil_ap - bil_on)
    assert float(near.max()) == pytest.approx(1.0, abs=1e-5) and float(bil.max()) < 0.99
    assert float(bil.pow(2).sum() / near.pow(2).sum()) < 0.8  # bilinear spreads each one over 4 pixels
    assert JointAugment.for_task("casme2", 5, interpolation="nearest").interpolation == "nearest"
    assert JointAugment.for_task("casme2", 5).interpolation == "bilinear"  # the kit's default, by name
    with pytest.raises(ValueError, match="interpolation"):
        JointAugment(interpolation="bicubic")


def test_the_augmentation_follows_the_class_count_and_the_dataset_spec():
    """Spec §1: ±4° / padding 4 for 3-class tasks; ±3° / padding 15 for 5-class ones and for every CAS(ME)^3 task,
    which its spec says (``five_class_augment``), not a name test in augment.py."""
    def settings(dataset: str, classes: int) -> tuple[float, int]:
        augment = JointAugment.for_task(dataset, classes)
        return augment.degrees, augment.padding

    assert settings("casme2", 3) == settings("samm", 3) == settings("smic", 3) == (4.0, 4)
    assert settings("casme2", 5) == settings("samm", 5) == settings("casme3", 7) == (3.0, 15)
    assert settings("casme3", 3) == settings("CAS(ME)^3", 3) == (3.0, 15)  # any name the spec answers to
    assert settings("photo", 3) == (4.0, 4)  # not a registered dataset: the class count decides
    assert get_spec("casme3").five_class_augment and not get_spec("casme2").five_class_augment


def test_the_search_runs_where_the_official_scripts_run_it():
    """Spec §1's table: only classes/samm/dataset_c3.py (SAMM 3-class, late) trains on the annotated frames."""
    assert not official_pair_search("samm", 3, "late") and not official_pair_search("samm", 3)
    assert official_pair_search("samm", 3, "early") and official_pair_search("samm", 5, "late")
    assert official_pair_search("casme2", 5, "late") and official_pair_search("casme3", 7, "late")
