"""The ipywidgets explorers, headless: build each one, drive its controls from Python, and check that
the picture, the status line and the numbers behind them change as they should."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from tsfmicro_lite import widgets as W


def _clip(n: int = 6, size: int = 48, shift_at: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((size, size, 3)).astype(np.float32), (0, 0), 2.0)
    base = ((base - base.min()) / np.ptp(base) * 255).astype(np.uint8)
    return [np.roll(base, shift=(0, 2 if i >= shift_at else 0), axis=(0, 1)) for i in range(n)]


def test_preprocessing_explorer_updates_difference_flow_and_landmarks():
    frames = _clip()
    landmarks = np.tile(np.linspace(5, 40, 68)[:, None], (6, 1, 2)).reshape(6, 68, 2)
    ex = W.PreprocessingExplorer(frames, onset=0, apex=4, landmarks=landmarks)
    png, moved = bytes(ex.image.value), ex.state
    assert png.startswith(b"\x89PNG") and moved["max_flow"] > 1.0 and moved["mean_abs_diff"] > 0
    ex.markers.value = (0, 2)                         # no motion between frames 0 and 2
    assert ex.state["mean_abs_diff"] == 0 and ex.state["max_flow"] < 0.5
    assert bytes(ex.image.value) != png and "mean |apex − onset|" in ex.status.value
    n = ex.redraws
    ex.frame.value = 1
    ex.show_landmarks.value = False
    assert ex.redraws == n + 2 and ex.state["frame"] == 1


def test_preprocessing_explorer_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"onset index 0 / apex index 9 are outside the clip's 6 frames"):
        W.PreprocessingExplorer(_clip(), onset=0, apex=9)
    with pytest.raises(ValueError, match=r"landmarks has 2 entries for 6 frames"):
        W.PreprocessingExplorer(_clip(), onset=0, apex=4, landmarks=np.zeros((2, 68, 2)))


def test_preprocessing_explorer_from_a_dataset_row(tmp_path):
    paths, numbers = [], list(range(100, 106))
    for n, f in zip(numbers, _clip()):
        p = tmp_path / f"img{n}.jpg"
        cv2.imwrite(str(p), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        paths.append(str(p))
    lm = tmp_path / "lm.npy"
    np.save(lm, np.full((6, 68, 2), 20.0))
    row = {"frame_paths": paths, "frame_numbers": numbers, "onset": 100, "apex": 104, "landmarks_path": str(lm)}
    ex = W.preprocessing_explorer(row)
    assert (ex.state["onset"], ex.state["apex"]) == (0, 4) and ex.show_landmarks.value
    row["frame_paths"] = paths[:-1] + [str(tmp_path / "missing.jpg")]
    from tsfmicro_lite.preprocess.faces import FrameReadError  # the kit's one frame reader names the file

    with pytest.raises(FrameReadError, match="missing.jpg: frame does not exist"):
        W.preprocessing_explorer(row)


def test_retention_explorer_sliders_redraw_and_forms_agree():
    ex = W.retention_explorer(gamma=0.9, length=16)
    first = bytes(ex.image.value)
    assert ex.state["max_rel_diff"] < 1e-12
    ex.gamma.value = 0.6
    ex.length.value = 40
    assert ex.state["gamma"] == pytest.approx(0.6) and ex.state["length"] == 40 and bytes(ex.image.value) != first
    ex.precision.value = "float32"                    # the click the browser test makes
    assert 1e-12 < ex.state["max_rel_diff"] < 1e-4 and "float32" in ex.status.value


def test_fusion_explorer_shows_each_variants_stages():
    ex = W.fusion_explorer(preset="tiny", variant="late")
    late = dict(ex.state)
    assert any("fuse" in label for label, _ in late["stages"]) and "<table>" in ex.table.value
    ex.variant.value = "s2t"
    labels = [label for label, _ in ex.state["stages"]]
    assert ex.state["variant"] == "s2t" and "3× ConvTranspose" in labels
    assert ex.state["params"] > late["params"]        # the upsampling adds weights
    with pytest.raises(ValueError, match=r"unknown variant 'lat'"):
        W.fusion_explorer(variant="lat")


def test_training_explorer_per_fold_confusion_and_mistakes():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 30)
    honest = pd.DataFrame({"protocol": "honest", "criterion": "fixed", "fold": np.repeat([0, 1, 2], 10),
                           "subject": np.repeat(["a", "b", "c"], 10), "sample": np.arange(30), "y_true": y,
                           "y_pred": np.where(np.arange(30) % 3 == 0, (y + 1) % 3, y)})
    paper = pd.concat([honest.assign(protocol="paper", criterion=c, y_pred=y) for c in ("best_acc", "best_uf1")])
    pred = pd.concat([honest, paper])                     # the tidy table of a LOSO run with both protocols
    seen = []
    ex = W.training_explorer(pred, ["negative", "positive", "surprise"],
                             images=lambda i: (seen.append(i), np.zeros((8, 8, 3)))[1])
    assert ex.state["n"] == 30 and ex.state["confusion"].sum() == 30 and ex.state["mistakes"] == 10
    ex.fold.value = 1
    assert ex.state["n"] == 10 and ex.state["confusion"].sum() == 10
    assert set(seen) >= {i for i in range(10, 20) if i % 3 == 0}   # the fold's mistakes were drawn
    assert "fold 1" in ex.status.value
    ex.protocol.value = "paper"                       # one criterion at a time: no sample counted twice
    assert ex.state["n"] == 10 and ex.state["mistakes"] == 0
    with pytest.raises(ValueError, match=r"lacks columns \['y_pred'\]"):
        W.training_explorer(pred.drop(columns="y_pred"), ["a", "b", "c"])
