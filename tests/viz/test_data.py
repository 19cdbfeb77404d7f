"""tsfmicro_lite.viz.data: clip strips, motion curves, class balance and the onset/apex difference, on SynthME.

Matplotlib draws off-screen (``tests/conftest.py`` sets ``MPLBACKEND=Agg``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tsfmicro_lite.data import load_dataset
from tsfmicro_lite.preprocess.faces import FrameReadError
from tsfmicro_lite.synth import load_clip, make_synthme, manifest_table
from tsfmicro_lite.viz.data import (
    motion_magnitude,
    plot_class_balance,
    plot_clip_strip,
    plot_motion_curve,
    plot_onset_apex_difference,
)


@pytest.fixture(scope="module")
def quick_root() -> Path:
    return make_synthme(profile="quick", seed=0)


def test_viz_functions_draw_a_clip_its_motion_and_the_class_balance(quick_root: Path):
    table = manifest_table(quick_root)
    row = table.iloc[0]
    clip = load_clip(quick_root, row["subject"], row["clip"])
    keys = (clip["frame_numbers"], clip["onset"], clip["apex"], clip["offset"])
    fig = plot_clip_strip(clip["frame_paths"], *keys, landmarks=clip["landmarks"], max_frames=6)
    assert len(fig.axes) >= 2 * 6
    curve = motion_magnitude(clip["frame_paths"])
    assert curve[0] == 0 and curve.shape == (clip["n_frames"],)
    assert len(plot_motion_curve(clip["frame_paths"], *keys, landmarks=clip["landmarks"]).axes) == 2
    assert plot_class_balance(table).axes[0].get_ylabel() == "clips"
    with pytest.raises(KeyError, match=r"no column\(s\) \['label'\]"):
        plot_class_balance(table, column="label")


def test_onset_apex_difference_plot_shows_the_signed_motion(quick_root: Path, tmp_path: Path):
    df = load_dataset("casme2", quick_root, classes=3)
    examples = df.groupby("label").head(1)
    fig = plot_onset_apex_difference(examples, "t")
    assert len(fig.axes) == 3 * len(examples)
    diff_image = fig.axes[2].images[0].get_array()
    assert diff_image.min() < 0 < diff_image.max(), "the difference is signed, not wrapped or clipped at 0"
    broken = examples.head(1).assign(apex_path=str(tmp_path / "missing.jpg"))
    with pytest.raises(FrameReadError, match="missing.jpg: frame does not exist"):
        plot_onset_apex_difference(broken)
