"""``tsfmicro prepare --faces {align,dataset}``: the release's crops as the official code, or a clear error."""
from __future__ import annotations

from tsfmicro_lite.cli import main
from tsfmicro_lite.data import load_dataset
from tsfmicro_lite.preprocess.official import write_cropped_copy
from tsfmicro_lite.synth import make_synthme


def test_faces_dataset_reads_the_crops_and_fails_clearly_without_them(tmp_path, capsys):
    raw = make_synthme(profile="quick")
    assert main(["prepare", "--dataset", "synthme", "--root", str(raw), "--faces", "dataset", "--size", "32",
                 "--cache-dir", str(tmp_path / "cache")]) == 1
    out = capsys.readouterr().out
    assert str(raw) in out and "--faces align" in out and "Cropped" in out
    df = load_dataset("synthme", raw, classes=3)
    copy = write_cropped_copy(df[df["subject"] == "sub01"].head(3), tmp_path / "official")
    assert main(["prepare", "--dataset", "synthme", "--root", str(copy), "--faces", "dataset", "--size", "32",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "the release's own crops" in capsys.readouterr().out
