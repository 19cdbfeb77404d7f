"""tsfmicro_lite.synth.motion: the AU-driven warp moves content exactly where the ground-truth landmarks say."""
from __future__ import annotations

import numpy as np

from tsfmicro_lite.synth.motion import RbfWarp, au_targets, face_axes, similarity, warp_frame


def test_warp_moves_content_where_the_ground_truth_landmarks_say():
    """Spots drawn at three landmarks end up at the recorded landmarks after AU + head motion."""
    size, tracked = 128, (20, 48, 54)
    base = np.array([[40.0 + 48 * (i % 8) / 7, 36.0 + 60 * (i // 8) / 8] for i in range(68)])
    base[36:48] = [[44 + 3 * k, 50] for k in range(6)] + [[72 + 3 * k, 50] for k in range(6)]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    image = sum(np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / 2.0) for x, y in base[list(tracked)]).astype(np.float32)
    _, _, iod = face_axes(base)
    warp = RbfWarp(base, size, sigma=0.18 * iod)
    weights = warp.weights(au_targets("1+12", base) * 4.0)
    head = similarity(1.0, np.array([1.5, -1.0]), base.mean(0))
    moved = warp_frame(image, warp.field(weights), head)
    truth = (base + warp.at_landmarks(weights)) @ head[:, :2].T + head[:, 2]
    for index in tracked:
        x, y = truth[index].round().astype(int)
        patch, (dy, dx) = moved[y - 5:y + 6, x - 5:x + 6], np.mgrid[-5:6, -5:6]
        centroid = np.array([(patch * dx).sum(), (patch * dy).sum()]) / patch.sum() + [x, y]
        assert np.linalg.norm(centroid - truth[index]) < 0.4, (index, centroid, truth[index])  # 10% of the move
    assert np.linalg.norm(warp.at_landmarks(weights)[[20, 48, 54]], axis=1).min() > 3.0  # they did move
