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
    np.testing.assert_array_equal(frame_ax.images[0].get_array(), apex)
    np.testing.assert_allclose(frame_ax.collections[0].get_offsets(), marks)
    diff = vp.signed_image(difference(onset, apex))
    np.testing.assert_allclose(diff_ax.images[0].get_array(), diff)
    assert diff.min() < 0 < diff.max() and diff_ax.images[0].get_clim() == pytest.approx((-np.abs(diff).max(),
                                                                                           np.abs(diff).max()))
    np.testing.assert_array_equal(flow_ax.images[0].get_array(), vp.flow_to_rgb(optical_flow(onset, apex)))
    assert [a.get_title() for a in fig.axes] == ["apex", "apex − onset", "optical flow (farneback)"]
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="draws 3 panels; got 2 axes"):
        vp.show_frame_motion(apex, onset, apex, axes=axes)


def test_motion_inputs_one_row_per_sample():
    onset, apex = pair()
    flow = optical_flow(onset, apex)
    fig = vp.show_motion_inputs([onset, apex], [apex, onset], [flow, -flow], [optical_strain(flow)] * 2, ["a", "b"])
    assert len(fig.axes) == 8
    assert [a.get_title() for a in fig.axes[:4]] == ["onset", "apex − onset", "optical flow", "optical strain"]
    assert [fig.axes[i].get_ylabel() for i in (0, 4)] == ["a", "b"]
    np.testing.assert_array_equal(fig.axes[4].images[0].get_array(), apex)          # row 2 starts with its onset
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), -fig.axes[5].images[0].get_array(), atol=1e-6)
