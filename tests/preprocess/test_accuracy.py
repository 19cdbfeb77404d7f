"""Preprocessing on the synthetic dataset: dlib's measured accuracy against ground truth, and the CLI."""
from __future__ import annotations

import numpy as np
import pytest

from tsfmicro_lite.cli import main
from tsfmicro_lite.data import load_dataset, make_synthme
from tsfmicro_lite.preprocess.accuracy import landmark_accuracy, normalised_landmark_error
from tsfmicro_lite.preprocess.pipeline import PrepConfig, prepare


@pytest.fixture(scope="module")
def synth():
    return load_dataset("synthme", make_synthme(profile="quick"), classes=3)


def test_normalised_error_definition():
    truth = np.zeros((68, 2))
    truth[36], truth[45] = [0, 0], [40, 0]
    assert normalised_landmark_error(truth + [2.0, 0.0], truth) == pytest.approx(2.0 / 40)
    with pytest.raises(ValueError, match="68×2"):
        normalised_landmark_error(truth[:5], truth)


def test_dlib_accuracy_on_synthetic_faces(synth):
    """Measured on the quick profile (seed 0, 44 then 58 clips, 128 px frames): detection 100 %, mean NME 0.015.

    The thresholds leave room for generator changes; they fail if alignment inputs become wrong (e.g. the
    ground truth or dlib's landmarks were off by the ~2 px of a micro-expression: NME ≈ 0.05).
    Synthetic faces are LFW photos warped around dlib's own landmarks, so this is an optimistic bound
    for real data.
    """
    acc = landmark_accuracy(synth)
    assert len(acc.table) == len(synth)
    assert acc.detection_rate >= 0.9, acc
    assert acc.mean_nme < 0.03, acc


def test_prepare_synthme_uses_dlib_and_reports(synth, tmp_path):
    prepared = prepare(synth, PrepConfig(size=32), cache_dir=tmp_path, workers=1)
    counts = prepared.report["sources"]["synthme"]
    assert sum(counts.values()) == len(synth)
    assert counts["dlib"] >= 0.9 * len(synth), counts
    assert prepared.classes == ["positive", "surprise", "negative"]
    assert set(prepared.subjects) == set(synth["subject"])


def test_cli_prepare_prints_the_summary(synth, tmp_path, capsys):
    args = ["prepare", "--dataset", "synthme", "--size", "32", "--cache-dir", str(tmp_path), "--workers", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"prepared {len(synth)} clips at 32×32" in out and "face located by dlib" in out
    assert main(args) == 0
    assert f"{len(synth)} clips read, 0 computed" in capsys.readouterr().out
    assert main(["prepare", "--dataset", "casme2", "--root", str(tmp_path / "nowhere")]) == 1
    assert "error: casme2 root" in capsys.readouterr().out
