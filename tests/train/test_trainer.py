"""The fold trainer on a stand-in model (tsfmicro_lite.train.trainer)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsfmicro_lite.train.protocol import select
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig, autocast_dtype, train_fold


def _fold_sets(data, test_subject="s00"):
    test = np.flatnonzero(data.subjects == test_subject)
    train = np.flatnonzero(data.subjects != test_subject)
    return data.dataset(train, True), data.dataset(test, False)


def test_trainer_learns_and_schedules_lr():
    data = toy_data(signal=2.0)
    train_set, test_set = _fold_sets(data)
    cfg = TrainConfig(epochs=8, batch_size=16, lr=1e-2, weight_decay=0.0, lr_gamma=0.5, lr_decay_epochs=3,
                      device="cpu")
    _, h = train_fold(lambda: ToyFusion(3), train_set, test_set, cfg, fold_seed=1)
    assert len(h.epochs) == 8
    # ExponentialLR stepped after epochs 1..3 only: lr of epochs 1..8 = lr * gamma^min(e-1, 3)
    np.testing.assert_allclose(h.curve("lr"), [1e-2 * 0.5 ** min(e, 3) for e in range(8)])
    assert h.curve("train_loss")[-1] < h.curve("train_loss")[0]
    assert h.curve("test_accuracy")[-1] > 0.8


def test_official_schedule_decays_for_50_epochs_then_holds():
    """With TrainConfig's official defaults, the learning rate train_fold uses falls every epoch from
    8e-4 to 8e-4 * 0.987^50 = 4.16e-4 at epoch 51, and stays there."""
    data = toy_data(num_subjects=2, per_subject=3)
    train_set, test_set = _fold_sets(data)
    cfg = TrainConfig(epochs=53, batch_size=8, device="cpu")   # official lr, gamma and decay epochs
    _, h = train_fold(lambda: ToyFusion(3), train_set, test_set, cfg, fold_seed=0)
    lr = h.curve("lr")
    assert lr[0] == 8e-4
    assert np.all(np.diff(lr[:51]) < 0)                        # epochs 1..51: one decay after each of 1..50
    assert lr[50] == pytest.approx(4.16e-4, abs=5e-7)
    assert lr[50] == lr[51] == lr[52]                          # no decay after epoch 50


def test_same_seed_bit_identical_on_cpu():
    data = toy_data()
    train_set, test_set = _fold_sets(data)
    cfg = TrainConfig(epochs=3, batch_size=8, lr=1e-2, weight_decay=0.1, device="cpu")
    m1, h1 = train_fold(lambda: ToyFusion(3), train_set, test_set, cfg, fold_seed=7)
    m2, h2 = train_fold(lambda: ToyFusion(3), train_set, test_set, cfg, fold_seed=7)
    assert h1.curve("train_loss").tolist() == h2.curve("train_loss").tolist()
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    _, h3 = train_fold(lambda: ToyFusion(3), train_set, test_set, cfg, fold_seed=8)
    assert h3.curve("train_loss").tolist() != h1.curve("train_loss").tolist()


def test_inner_val_early_stop_restores_best():
    data = toy_data()
    train_set, test_set = _fold_sets(data)
    val_set = data.dataset(np.flatnonzero(data.subjects == "s01"), False)
    cfg = TrainConfig(epochs=30, batch_size=16, lr=5e-2, weight_decay=0.0, honest_mode="inner_val",
                      patience=2, device="cpu")
    _, h = train_fold(lambda: ToyFusion(3), train_set, test_set, cfg, val_set=val_set, fold_seed=0)
    assert h.best_val_epoch is not None and h.best_val_epoch <= len(h.epochs)
    val_uf1 = h.curve("val_uf1")
    assert val_uf1[h.best_val_epoch - 1] == val_uf1.max()
    sel = select(h, "honest")[0]
    assert sel.criterion == "val_uf1" and sel.epoch == h.best_val_epoch


def test_config_and_amp_errors():
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        autocast_dtype(torch.device("cpu"), "bf16")
    assert autocast_dtype(torch.device("cpu"), "auto") is None
