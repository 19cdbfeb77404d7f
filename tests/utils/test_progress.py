"""The one quiet switch (tsfmicro_lite.utils.progress): how it reads, and that every progress bar obeys it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tsfmicro_lite.train.loso import run_loso
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig
from tsfmicro_lite.utils.names import UnknownNameError
from tsfmicro_lite.utils.progress import PROGRESS_ENV, QUIET_ENV, LineProgress, progress, progress_mode, quiet

PKG = Path(__file__).resolve().parents[2] / "tsfmicro_lite"


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("TRUE", True), (" 1 ", True),
                                             ("0", False), ("", False), ("false", False), ("False", False),
                                             ("no", False)])
def test_quiet_reads_the_variable(monkeypatch, value, expected):
    monkeypatch.setenv(QUIET_ENV, value)
    assert quiet() is expected


def test_unset_means_progress_bars_on(monkeypatch):
    monkeypatch.delenv(QUIET_ENV, raising=False)
    assert quiet() is False


def _train_a_little() -> None:
    data = toy_data(num_subjects=2, per_subject=4)
    run_loso(data, lambda: ToyFusion(3), TrainConfig(epochs=2, batch_size=8, device="cpu"), verbose=False)


@pytest.mark.parametrize("value, bars", [("0", True), ("1", False)])
def test_the_switch_turns_the_training_bars_on_and_off(monkeypatch, capsys, value, bars):
    monkeypatch.setenv(QUIET_ENV, value)
    monkeypatch.setenv(PROGRESS_ENV, "bar")             # a live bar, as in a terminal
    _train_a_little()
    err = capsys.readouterr().err
    assert ("LOSO custom" in err) is bars, err          # the fold bar (train/loso.py)
    assert ("fold 0 (s00)" in err) is bars, err         # the epoch bar (train/trainer.py)


def test_outside_a_terminal_each_loop_is_one_line(monkeypatch, capsys):
    """papermill / CI: no bar, one line for the LOSO loop, nothing for the epochs inside each fold."""
    monkeypatch.setenv(QUIET_ENV, "0")
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert progress_mode() == "line"                    # pytest's captured stderr is not a tty
    _train_a_little()
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("LOSO custom: 2/2 folds in "), err
    assert "%" not in err and "\r" not in err, err


def test_a_terminal_gets_a_bar(monkeypatch):
    class Tty:
        def isatty(self):
            return True
    monkeypatch.setenv(QUIET_ENV, "0")
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert progress_mode(Tty()) == "bar"
    monkeypatch.setenv(PROGRESS_ENV, "off")
    assert progress_mode(Tty()) == "off"


def test_line_progress_counts_updates_and_postfix(monkeypatch, capsys):
    monkeypatch.setenv(QUIET_ENV, "0")
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    bar = progress(total=5, desc="prepare", unit="clips", initial=2)
    assert isinstance(bar, LineProgress)
    bar.update(3 - bar.n)
    bar.update(2)
    bar.set_postfix(loss="0.123")
    bar.close()
    bar.close()                                         # closing twice prints once
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("prepare: 5/5 clips in ") and err[0].endswith("loss 0.123"), err


def test_a_misspelt_mode_names_the_variable(monkeypatch):
    monkeypatch.setenv(QUIET_ENV, "0")
    monkeypatch.setenv(PROGRESS_ENV, "lines")
    with pytest.raises(UnknownNameError, match="TSFMICRO_PROGRESS.*Did you mean 'line'"):
        progress_mode()


def test_no_module_reads_the_variable_itself():
    """Only utils/progress.py names ``TSFMICRO_QUIET`` in code; every other module asks ``quiet()``."""
    readers = []
    for path in PKG.rglob("*.py"):
        if path == PKG / "utils" / "progress.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Constant) and n.value == QUIET_ENV for n in ast.walk(tree)):
            readers.append(str(path.relative_to(PKG)))
    assert not readers, f"read TSFMICRO_QUIET through utils.progress.quiet(): {readers}"
