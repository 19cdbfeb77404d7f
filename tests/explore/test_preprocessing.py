"""The notebook-01 explorer, headless (tsfmicro_lite.explore.preprocessing): drive its sliders from
Python and check the picture (drawn by viz.preprocess.show_frame_motion), the status and the numbers."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tsfmicro_lite.explore.preprocessing import PreprocessingExplorer, preprocessing_explorer
from tsfmicro_lite.preprocess.faces import FrameReadError
from tsfmicro_lite.preprocess.inputs import difference
from tsfmicro_lite.viz.preprocess import signed_image


def clip(n: int = 6, size: int = 48, shift_at: int = 3) -> list[np.ndarray]:
    """A smooth random face-sized image that moves 2 px to the right from frame ``shift_at`` on."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((size, size, 3)).astype(np.float32), (0, 0), 2.0)
    base = ((base - base.min()) / np.ptp(base) * 255).astype(np.uint8)
    return [np.roll(base, shift=(0, 2 if i >= shift_at else 0), axis=(0, 1)) for i in range(n)]


def test_sliders_redraw_the_difference_the_flow_and_the_landmarks():
    frames = clip()
    landmarks = np.tile(np.linspace(5, 40, 68)[:, None], (6, 1, 2)).reshape(6, 68, 2)
    ex = PreprocessingExplorer(frames, onset=0, apex=4, landmarks=landmarks)
    png, moved = bytes(ex.image.value), ex.state
    assert png.startswith(b"\x89PNG") and moved["max_flow"] > 1.0 and moved["mean_abs_diff"] > 0
    frame_ax, diff_ax, flow_ax = ex.figure.axes
    assert frame_ax.get_title() == "frame 4 (apex)" and diff_ax.get_title() == "apex − onset (4 − 0)"
    np.testing.assert_array_equal(frame_ax.images[0].get_array(), frames[4])
    np.testing.assert_allclose(diff_ax.images[0].get_array(), signed_image(difference(frames[0], frames[4])))
    np.testing.assert_allclose(frame_ax.collections[0].get_offsets(), landmarks[4])
    assert flow_ax.get_title() == "optical flow (farneback)"

    ex.markers.value = (0, 2)                         # no motion between frames 0 and 2
    assert ex.state["mean_abs_diff"] == 0 and ex.state["max_flow"] < 0.5
    assert np.abs(ex.figure.axes[1].images[0].get_array()).max() == 0
    assert bytes(ex.image.value) != png and "mean |apex − onset|" in ex.status.value
    n = ex.redraws
    ex.frame.value = 1
    ex.show_landmarks.value = False
    assert ex.redraws == n + 2 and ex.state["frame"] == 1
    assert ex.figure.axes[0].get_title() == "frame 1" and not ex.figure.axes[0].collections


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"onset index 0 / apex index 9 are outside the clip's 6 frames"):
        PreprocessingExplorer(clip(), onset=0, apex=9)
    with pytest.raises(ValueError, match=r"landmarks has 2 entries for 6 frames"):
        PreprocessingExplorer(clip(), onset=0, apex=4, landmarks=np.zeros((2, 68, 2)))


def test_from_a_dataset_row(tmp_path):
    paths, numbers = [], list(range(100, 106))
    for n, f in zip(numbers, clip()):
        p = tmp_path / f"img{n}.jpg"
        cv2.imwrite(str(p), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        paths.append(str(p))
    lm = tmp_path / "lm.npy"
    np.save(lm, np.full((6, 68, 2), 20.0))
    row = {"frame_paths": paths, "frame_numbers": numbers, "onset": 100, "apex": 104, "landmarks_path": str(lm)}
    ex = preprocessing_explorer(row)
    assert (ex.state["onset"], ex.state["apex"]) == (0, 4) and ex.show_landmarks.value
    assert ex.figure.axes[0].get_title() == "frame 104 (apex)"
    row["frame_paths"] = paths[:-1] + [str(tmp_path / "missing.jpg")]
    with pytest.raises(FrameReadError, match="missing.jpg: frame does not exist"):
        preprocessing_explorer(row)
