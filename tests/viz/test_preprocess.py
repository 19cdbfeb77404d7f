"""Notebook 01's preprocessing pictures (tsfmicro_lite.viz.preprocess): panels show their inputs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tsfmicro_lite.preprocess.inputs import difference, optical_flow, optical_strain
from tsfmicro_lite.viz import preprocess as vp


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def pair(size: int = 32):
    """A smooth image and the same image moved 2 px right."""
    y, x = np.mgrid[:size, :size]
    onset = (127 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0))[..., None].repeat(3, -1).astype(np.uint8)
    return onset, np.roll(onset, 2, axis=1)


def test_frame_motion_shows_the_frame_its_landmarks_the_signed_difference_and_the_flow():
    onset, apex = pair()
    marks = np.array([[3.0, 4.0], [10.0, 20.0]])
    fig = vp.show_frame_motion(apex, onset, apex, landmarks=marks, frame_title="apex")
    frame_ax, diff_ax, flow_ax = fig.axes
    (wheel_ax,) = flow_ax.child_axes                                                # the key to the colours
    np.testing.assert_array_equal(frame_ax.images[0].get_array(), apex)
    np.testing.assert_allclose(frame_ax.collections[0].get_offsets(), marks)
    diff = vp.signed_image(difference(onset, apex))
    np.testing.assert_allclose(diff_ax.images[0].get_array(), diff)
    assert diff.min() < 0 < diff.max() and diff_ax.images[0].get_clim() == pytest.approx((-np.abs(diff).max(),
                                                                                           np.abs(diff).max()))
    np.testing.assert_array_equal(flow_ax.images[0].get_array(), vp.flow_to_rgb(optical_flow(onset, apex)))
    assert [a.get_title() for a in fig.axes] == ["apex", "apex − onset", "optical flow (farneback)"]
    np.testing.assert_array_equal(wheel_ax.images[0].get_array(), vp.flow_wheel())
    assert wheel_ax.get_title() == "direction"
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="draws 3 panels; got 2 axes"):
        vp.show_frame_motion(apex, onset, apex, axes=axes)


def test_motion_inputs_one_row_per_sample():
    onset, apex = pair()
    flow = optical_flow(onset, apex)
    fig = vp.show_motion_inputs([onset, apex], [apex, onset], [flow, -flow], [optical_strain(flow)] * 2, ["a", "b"])
    assert len(fig.axes) == 8
    assert [len(a.child_axes) for a in fig.axes] == [0, 0, 1, 0, 0, 0, 0, 0]      # the flow's key, first row
    assert [a.get_title() for a in fig.axes[:4]] == ["onset", "apex − onset", "optical flow", "optical strain"]
    assert [fig.axes[i].get_ylabel() for i in (0, 4)] == ["a", "b"]
    np.testing.assert_array_equal(fig.axes[4].images[0].get_array(), apex)          # row 2 starts with its onset
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), -fig.axes[5].images[0].get_array(), atol=1e-6)


def test_flow_wheel_is_the_key_to_flow_to_rgb():
    """Each pixel of the wheel has the colour flow_to_rgb gives the flow from the centre to it (+x right, +y down)."""
    wheel = vp.flow_wheel(65)
    r = np.linspace(-1.0, 1.0, 65, dtype=np.float32)
    for row, col in [(32, 64), (64, 32), (32, 0), (0, 32), (10, 50)]:          # right, down, left, up, up-right
        flow = np.array([[[r[col], r[row]]]], np.float32)
        expected = vp.flow_to_rgb(flow, max_magnitude=1.0)[0, 0]
        np.testing.assert_allclose(wheel[row, col], expected, atol=2)            # OpenCV's atan: ±1 level
    assert (wheel[0, 0] == 255).all()                                           # outside the disc: white
    assert len(set(map(tuple, wheel[[32, 64, 32, 0], [64, 32, 0, 32]]))) == 4   # four directions, four colours
