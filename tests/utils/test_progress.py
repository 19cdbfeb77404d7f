"""The one quiet switch (tsfmicro_lite.utils.progress): how it reads, and that every progress bar obeys it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tsfmicro_lite.train.loso import run_loso
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig
from tsfmicro_lite.utils.progress import QUIET_ENV, quiet

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
    _train_a_little()
    err = capsys.readouterr().err
    assert ("LOSO custom" in err) is bars, err          # the fold bar (train/loso.py)
    assert ("fold 0 (s00)" in err) is bars, err         # the epoch bar (train/trainer.py)


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
