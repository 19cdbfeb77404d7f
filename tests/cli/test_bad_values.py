"""``tsfmicro train | reproduce | evaluate`` with bad values (issue 14): each fails before any data loads, in one
line naming the flag (a bad name: argparse's error line, at parse); a half-finished run is scored only with
``--partial``."""
from __future__ import annotations

import pytest

from tsfmicro_lite.cli import main as cli
from tsfmicro_lite.cli import train_run
from tsfmicro_lite.train.loso import MAX_SEED, run_loso
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if any data is loaded or prepared."""
    def boom(*args, **kwargs):
        raise AssertionError("data was loaded before the bad value was refused")
    monkeypatch.setattr(train_run, "prepare_task", boom)


@pytest.mark.parametrize("command", ["train", "reproduce"])
@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs must be at least 1, got 0."),
    (["--epochs", "-3"], "--epochs must be at least 1, got -3."),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0."),
    (["--lr", "-0.01"], "--lr must be a positive number, got -0.01."),
    (["--weight-decay", "-1"], "--weight-decay must be zero or positive, got -1.0."),
    (["--seed", "-1"], f"--seed must be between 0 and {MAX_SEED}"),
    (["--seed", str(MAX_SEED + 1)], f"--seed must be between 0 and {MAX_SEED}"),
    (["--max-folds", "0"], "--max-folds must be at least 1 (leave it out for every fold), got 0."),
    (["--max-folds", "-1"], "--max-folds must be at least 1 (leave it out for every fold), got -1."),
])
def test_bad_values_fail_first_in_one_line_naming_the_flag(command, flags, message, no_data, capsys):
    assert cli([command, *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err


@pytest.mark.parametrize("command", ["train", "reproduce"])
@pytest.mark.parametrize("flag, value", [("--dataset", "casme22"), ("--profile", "quik"), ("--preset", "huge"),
                                         ("--amp", "fp8"), ("--faces", "detect"), ("--engine", "slurm")])
def test_bad_names_fail_at_parse_naming_the_flag(command, flag, value, no_data, capsys):
    """Names come from cli/choices.py (no torch to build the parser); argparse refuses a bad one at once."""
    with pytest.raises(SystemExit) as exit_info:
        cli([command, flag, value])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.rstrip("\n").splitlines()[-1]
    assert f"argument {flag}: invalid choice: '{value}'" in last, last


def test_bad_variant_fails_before_data_loads_in_one_line(no_data, capsys):
    assert cli(["train", "--variant", "latte"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown variant 'latte'. Did you mean 'late'?" in err, err


def test_out_that_is_a_file_is_refused(tmp_path, no_data, capsys):
    out = tmp_path / "runs"
    out.write_text("not a folder")
    assert cli(["train", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --out {out} is a file, not a folder; pass a folder for the run folders.\n"


def test_evaluate_half_finished_run_needs_partial(tmp_path, capsys):
    class Stop(RuntimeError):
        pass

    def stop(fold, history):
        raise Stop

    with pytest.raises(Stop):
        run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3),
                 TrainConfig(epochs=1, batch_size=16, lr=0.02, device="cpu", seed=1), out_dir=tmp_path / "run",
                 verbose=False, on_fold_end=stop)
    assert cli(["evaluate", "--run", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "only 1 of 3 folds finished" in err and "--partial" in err and err.count("\n") == 1
    assert cli(["evaluate", "--run", str(tmp_path / "run"), "--partial"]) == 0
    out = capsys.readouterr().out
    assert "PARTIAL: 1 of 3 folds finished" in out and "pooled" not in out.split("\n", 1)[1]


@pytest.mark.slow
def test_config_mismatch_names_only_the_differing_field_and_no_resume_hint(tmp_path, monkeypatch, capsys):
    import numpy as np  # lazy: only this test builds fake prepared clips

    from tsfmicro_lite.preprocess.pipeline import PreparedClips, PrepConfig
    from tsfmicro_lite.train.reproduce import PreparedLosoData

    n, size = 12, 32
    rng = np.random.default_rng(0)
    clips = PreparedClips(onset=rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
                          apex=rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
                          labels=np.arange(n) % 3, subjects=np.repeat(["sub01", "sub02", "sub03", "sub04"], 3),
                          clips=np.array([f"EP{i}" for i in range(n)]), report={}, config=PrepConfig(size=size),
                          classes=["positive", "surprise", "negative"], datasets=np.array(["synthme"] * n))
    monkeypatch.setattr(train_run, "prepare_task", lambda *a, **k: PreparedLosoData(clips, augment=False))
    argv = ["train", "--epochs", "1", "--max-folds", "1", "--out", str(tmp_path), "--lr", "0.01"]
    assert cli(argv) == 0
    capsys.readouterr()
    assert cli(argv[:-1] + ["0.02"]) == 2
    captured = capsys.readouterr()
    assert "re-run" not in captured.out + captured.err
    assert captured.err.count("\n") == 1 and "(train.lr: saved=0.01 now=0.02)" in captured.err, captured.err
