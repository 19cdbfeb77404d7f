"""Motion inputs (difference, flow, strain) and the training-time augmentation of the onset/apex pair."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from tsfmicro_lite.preprocess.augment import (
    JointAugment,
    apply_joint,
    candidate_pairs,
    pair_norm,
    search_radius,
    select_frame_pair,
)
from tsfmicro_lite.preprocess.inputs import difference, optical_flow, optical_strain


def _texture(size: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size // 4, size // 4)).astype(np.float32)
    img = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    return np.repeat(np.clip(img, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _shift(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, img.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_difference_is_signed_and_scaled():
    a = np.full((4, 4, 3), 100, np.uint8)
    b = np.full((4, 4, 3), 90, np.uint8)
    d = difference(a, b)
    assert d.dtype == np.float32 and np.allclose(d, -10 / 255), "apex darker than onset must be negative, no wrap"
    with pytest.raises(ValueError, match="same shape"):
        difference(a, b[:2])


@pytest.mark.parametrize("method", ["farneback", "dis"])
def test_flow_recovers_a_known_shift(method):
    img = _texture()
    flow = optical_flow(img, _shift(img, 1.5, -1.0), method)
    centre = flow[16:48, 16:48].reshape(-1, 2).mean(0)
    assert flow.shape == (64, 64, 2) and flow.dtype == np.float32
    assert centre == pytest.approx([1.5, -1.0], abs=0.25), centre


def test_tvl1_without_contrib_says_what_to_install():
    if hasattr(cv2, "optflow"):
        pytest.skip("opencv-contrib is installed here")
    with pytest.raises(ImportError, match="opencv-contrib-python"):
        optical_flow(_texture(), _texture(), "tvl1")
    with pytest.raises(ValueError, match="unknown optical flow method 'lk'"):
        optical_flow(_texture(), _texture(), "lk")


def test_strain_ignores_translation_and_sees_stretch():
    ys, xs = np.mgrid[0:32, 0:32].astype(np.float32)
    translation = np.stack([np.full_like(xs, 2.0), np.full_like(ys, -1.0)], -1)
    stretch = np.stack([0.05 * xs, np.zeros_like(ys)], -1)  # ε_xx = 0.05 everywhere
    assert np.abs(optical_strain(translation)).max() < 1e-6
    assert optical_strain(stretch)[..., 0] == pytest.approx(np.full((32, 32), 0.05), abs=1e-5)


def test_search_radius_and_candidates_follow_the_official_rule():
    assert search_radius(10, 40, "casme2") == int(0.15 * 30 / 4) == 1
    assert search_radius(10, 40, "samm") == 3
    assert search_radius(1, 60, "synthme") == 2
    assert candidate_pairs(0) == [(0, 0)]
    pairs = candidate_pairs(2)
    assert pairs[0] == (0, 0) and len(pairs) == 1 + 2 + 2 + 4 and len(set(pairs)) == len(pairs)


def test_frame_pair_search_picks_largest_motion_and_the_uint8_quirk():
    base = np.full((8, 8, 3), 100, np.uint8)
    onsets = [base, base + 0, base]
    apexes = [base + 5, base + 20, base + 1]  # apex−1 moved the most
    assert select_frame_pair(onsets, apexes) == (0, 1)
    # with uint8 wrap-around a small negative difference (−1 → 255) beats a larger positive one
    darker = base - 1
    assert pair_norm(base, darker, wraparound=True) > pair_norm(base, base + 20, wraparound=True)
    assert select_frame_pair([base], [base + 20]) == (0, 0)
    # onsets differ, so no tie decides it (the official tie order is tested in tests/preprocess/test_augment.py)
    assert select_frame_pair([base, base + 1], [base + 20, darker], wraparound=True) == (0, 1)
    assert select_frame_pair([base, base + 1], [base + 20, darker], wraparound=False) == (0, 0)


def test_joint_augment_moves_both_frames_identically():
    g = torch.Generator().manual_seed(3)
    onset = torch.randn(3, 32, 32)
    out_a, out_b = JointAugment(degrees=10, padding=4)(onset, onset.clone(), generator=g)
    assert torch.equal(out_a, out_b), "identical frames must stay identical: the augmentation adds no motion"
    assert not torch.equal(out_a, onset)
    assert JointAugment.for_task("casme2", 5) == JointAugment(degrees=3.0, padding=15)
    assert JointAugment.for_task("samm", 3) == JointAugment(degrees=4.0, padding=4)


def test_flow_vectors_turn_with_the_image():
    """A blob moved by +3 px in x; after a 30° rotation the measured move must equal the rotated flow."""
    size = 64
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)

    def blob(cx: float, cy: float) -> torch.Tensor:
        return torch.from_numpy(np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 20.0))[None]

    onset, apex = blob(32, 32), blob(35, 32)
    flow = torch.zeros(2, size, size)
    flow[0] = 3.0
    params = {"flip": True, "angle": 30.0, "dx": 4, "dy": 4}
    o, a, f = apply_joint([onset, apex, flow], params, padding=4, vectors=(2,))

    def centroid(t: torch.Tensor) -> np.ndarray:
        w = t[0].numpy()
        return np.array([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()])

    moved = centroid(a) - centroid(o)
    assert f[:, 32, 32].numpy() == pytest.approx(moved, abs=0.15), (f[:, 32, 32], moved)
