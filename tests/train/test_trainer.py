"""The fold trainer on a stand-in model (tsfmicro_lite.train.trainer)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from tsfmicro_lite.models import build_model
from tsfmicro_lite.train.loso import run_loso
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
        autocast_dtype(torch.device("cpu"), "fp16")
    assert autocast_dtype(torch.device("cpu"), "bf16") == torch.bfloat16   # opt-in CPU autocast
    assert autocast_dtype(torch.device("cpu"), "auto") is None
    assert autocast_dtype(torch.device("cpu"), "off") is None
    assert TrainConfig().amp == "off", "the default must be the official fp32 recipe"
    with pytest.raises(ValueError, match="input_pipeline"):
        TrainConfig(input_pipeline="gpu")


def _golden(name: str) -> dict:
    return json.loads((Path(__file__).parent / "data" / "amp_off_reference.json").read_text())[name]


@pytest.mark.parametrize("name", ["toy", "micro"])
def test_amp_off_reproduces_the_tables_of_the_previous_code_bit_for_bit(name):
    """tests/train/data/amp_off_reference.json was written by the trainer as it was before the
    precision / input-pipeline / no-sync changes (toy LOSO, and the micro preset on 32 px tensors);
    ``amp="off"`` (the default) must give the same table and the same per-epoch losses, exactly."""
    ref = _golden(name)
    cols = ["protocol", "fold", "subject", "n", "accuracy", "uf1", "uar", "epoch_accuracy", "epoch_uf1", "epochs"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the optimistic-protocol warning
        if name == "toy":
            res = run_loso(toy_data(num_subjects=4, signal=1.5), lambda: ToyFusion(3),
                           TrainConfig(epochs=3, batch_size=16, lr=2e-2, weight_decay=0.01, device="cpu", seed=3),
                           protocols=("honest", "paper"), meta={"variant": "toy"}, verbose=False)
        else:
            res = run_loso(toy_data(num_subjects=3, per_subject=6, size=32, signal=1.0, seed=2),
                           lambda: build_model("late", 3, "micro"),
                           TrainConfig(epochs=2, batch_size=8, lr=3e-3, weight_decay=0.05, device="cpu", seed=1),
                           protocols=("honest",), meta={"variant": "late"}, verbose=False)
    def cells(rows):   # NaN (the pooled rows' epochs) compares equal to itself here
        return [["nan" if isinstance(v, float) and v != v else str(v) for v in row] for row in rows]

    assert cells(res.results[cols].astype(str).values.tolist()) == cells(ref["results"])
    assert {str(k): [r.train_loss for r in h.epochs] for k, h in res.histories.items()} == ref["train_loss"]
    assert {str(k): [r.test_loss for r in h.epochs] for k, h in res.histories.items()} == ref["test_loss"]
    assert set(res.results["precision"]) == {"fp32"}


def test_device_pipeline_and_speed_flags_match_the_loader_path_on_cpu():
    """The device-side input pipeline gives the loader path's losses on CPU (same batches, same draws);
    fused AdamW and channels_last change the numbers only by float rounding."""
    data = toy_data(signal=1.0)
    train_set, test_set = _fold_sets(data)
    base = dict(epochs=3, batch_size=8, lr=1e-2, weight_decay=0.1, device="cpu")
    _, ref = train_fold(lambda: ToyFusion(3), train_set, test_set, TrainConfig(**base), fold_seed=4)
    _, dev = train_fold(lambda: ToyFusion(3), train_set, test_set, TrainConfig(**base, input_pipeline="device"),
                        fold_seed=4)
    assert ref.provenance["input_pipeline"] == "loader" and dev.provenance["input_pipeline"] == "device"
    assert dev.curve("train_loss").tolist() == ref.curve("train_loss").tolist()
    assert [r.test_pred for r in dev.epochs] == [r.test_pred for r in ref.epochs]
    _, fast = train_fold(lambda: ToyFusion(3), train_set, test_set,
                         TrainConfig(**base, fused_adamw=True, channels_last=True), fold_seed=4)
    np.testing.assert_allclose(fast.curve("train_loss"), ref.curve("train_loss"), rtol=1e-5)
    for key in ("device", "precision", "kit_version", "torch_version", "deterministic"):
        assert key in ref.provenance
    assert ref.provenance["precision"] == "fp32"
