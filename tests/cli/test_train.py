"""``tsfmicro train | evaluate | reproduce`` (tsfmicro_lite.cli.train): errors, choices, a run and its re-score."""
from __future__ import annotations

import re

import pandas as pd
import pytest
import torch

from tsfmicro_lite.cli import build_parser
from tsfmicro_lite.cli import main as cli
from tsfmicro_lite.data import list_datasets
from tsfmicro_lite.models import list_presets, list_variants
from tsfmicro_lite.train.profiles import get_profile, list_profiles
from tsfmicro_lite.train.reproduce import model_input_size, prepare_task
from tsfmicro_lite.train.runs import run_dir


@pytest.mark.parametrize("argv, match", [
    (["train", "--variant", "latte"], "unknown variant 'latte'\\. Did you mean 'late'\\?"),
    (["train", "--classes", "4"], "has no 4-class task; valid: 3 or 5"),
    (["train", "--dataset", "casme2"], "needs --root"),
    (["train", "--dataset", "casme2", "--root", "/nonexistent/casme2"], "/nonexistent/casme2"),
    (["evaluate", "--run", "/nonexistent/run"], "not a tsfmicro run folder"),
    (["train", "--amp", "fp16", "--device", "cpu"], "amp='fp16' needs a CUDA device.*--amp off"),
    (["train", "--parallel", "0"], "--parallel must be >= 1"),
    (["reproduce", "--parallel", "many"], "--parallel takes a number"),
])
def test_cli_errors(argv, match, capsys):
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert re.search(match, err), err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where no GPU exists")
def test_cli_gpu_where_none(capsys):
    assert cli(["train", "--device", "cuda"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err


def _option(command: str, option: str):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return next(a for a in sub.choices[command]._actions if option in a.option_strings)


@pytest.mark.parametrize("command", ["train", "reproduce"])
def test_choices_come_from_the_registries(command):
    assert list(_option(command, "--dataset").choices) == list_datasets()
    assert list(_option(command, "--profile").choices) == list_profiles()
    assert list(_option(command, "--preset").choices) == list_presets()
    assert _option(command, "--variant").help == " | ".join([*list_variants(), "all"])
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--profile", "quik"])


@pytest.mark.slow
def test_cli_train_then_evaluate_on_synthme(tmp_path, capsys):
    out = tmp_path / "runs"
    assert cli(["train", "--variant", "late", "--max-folds", "1", "--epochs", "1", "--protocol", "both",
                "--device", "cpu", "--out", str(out)]) == 0
    prof = get_profile("quick")
    run = run_dir(out, "synthme", 3, "late", prof,
                  prepare_task("synthme", classes=3, size=model_input_size(prof), profile=prof))
    assert f"run folder {run}" in capsys.readouterr().out
    table = pd.read_csv(run / "results.csv")
    assert set(table["protocol"]) == {"honest", "paper"} and (table["data_kind"] == "synthetic").all()
    assert (table["precision"] == "fp32").all(), "the default is the official fp32 recipe, and it is recorded"
    assert (run / "scores.png").exists() and (run / "checkpoints" / "fold_00.pt").exists()
    assert cli(["train", "--variant", "late", "--max-folds", "1", "--epochs", "1", "--protocol", "both",
                "--device", "cpu", "--out", str(out)]) == 0
    assert "resumed from disk" in capsys.readouterr().out
    assert cli(["evaluate", "--run", str(run), "--protocol", "paper"]) == 0


@pytest.mark.parametrize("command", ["train", "reproduce"])
def test_faces_dataset_on_a_copy_without_crops_fails_before_training(command, tmp_path, capsys):
    """``--faces dataset`` asks for the release's own crops; SynthME's raw layout has none: one clear error."""
    code = cli([command, "--faces", "dataset", "--epochs", "1", "--max-folds", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "faces" in err and "crop" in err.lower(), err
    assert not any(tmp_path.iterdir()), "nothing is trained or written when the face path cannot be had"


def test_faces_is_a_choice_on_train_and_reproduce():
    parser = build_parser()
    for command in ("train", "reproduce"):
        assert parser.parse_args([command, "--faces", "align"]).faces == "align"
        assert parser.parse_args([command]).faces is None   # the preset decides
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--faces", "detect"])


def test_deterministic_launcher_sets_a_deterministic_cublas_workspace(monkeypatch):
    """``--deterministic``: CUBLAS_WORKSPACE_CONFIG before CUDA starts (inherited by --parallel workers); a
    value under which cuBLAS is not deterministic is replaced (strict mode would raise at the first matmul)."""
    import argparse
    import os

    from tsfmicro_lite.cli import train_run

    monkeypatch.setattr(train_run, "tune_this_process", lambda: False)
    for before, after in ((None, ":4096:8"), (":16:8", ":16:8"), (":4096:2:16:8", ":4096:8")):
        if before is None:
            monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
        else:
            monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", before)
        train_run._launcher(argparse.Namespace(deterministic=True))
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == after
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG")
    train_run._launcher(argparse.Namespace(deterministic=None))
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
