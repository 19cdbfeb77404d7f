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


# --- GPU paths, checked on CPU: what the trainer asks torch to do on a CUDA device -----------------------
def test_deterministic_on_cuda_is_strict_and_sets_the_cublas_workspace(monkeypatch):
    """``--deterministic`` on CUDA: no autotuner, cuDNN deterministic, CUBLAS_WORKSPACE_CONFIG set (without it
    every matmul raises), and deterministic algorithms *strict*: with warn_only=True PyTorch keeps the
    non-deterministic backward of scaled_dot_product_attention (the model's MaSA and ViT attention on CUDA)."""
    from tsfmicro_lite.train import trainer

    calls = []
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda mode, warn_only=False: calls.append(
        (mode, warn_only)))
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", torch.backends.cudnn.deterministic)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.delenv(trainer.WARN_ONLY_ENV, raising=False)
    cuda = torch.device("cuda")
    trainer.set_determinism(cuda, True)
    assert calls[-1] == (True, False)
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert trainer.os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")          # the other deterministic value is kept
    trainer.set_determinism(cuda, True)
    assert trainer.os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:2:16:8")   # not deterministic: replaced, with a warning
    with pytest.warns(UserWarning, match="CUBLAS_WORKSPACE_CONFIG"):
        trainer.set_determinism(cuda, True)
    assert trainer.os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    monkeypatch.setenv(trainer.WARN_ONLY_ENV, "1")                   # the escape hatch: warnings instead
    trainer.set_determinism(cuda, True)
    assert calls[-1] == (True, True)
    trainer.set_determinism(cuda, False)                             # the default: autotuner on, nothing forced
    assert calls[-1][0] is False and torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
    trainer.set_determinism(torch.device("cpu"), True)               # CPU: repeatable anyway, warn only
    assert calls[-1] == (True, True) and not torch.backends.cudnn.benchmark


def test_train_fold_puts_the_determinism_switches_back():
    """A deterministic fold (strict on CUDA) must not leave the notebook's later cells in deterministic mode."""
    data = toy_data(num_subjects=3, per_subject=4)
    train_set, test_set = _fold_sets(data)
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    train_fold(lambda: ToyFusion(3), train_set, test_set,
               TrainConfig(epochs=1, batch_size=8, device="cpu", deterministic=True), fold_seed=0)
    assert (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark) == before


def test_bf16_on_cuda_needs_native_support(monkeypatch):
    """``is_bf16_supported()`` says yes on pre-Ampere GPUs too (emulated, slow): --amp bf16 and "auto" ask for
    native support; fp16 (with a GradScaler) is what such a GPU gets."""
    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100-SXM2-16GB")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    with pytest.raises(ValueError, match="native bfloat16.*--amp fp16"):
        autocast_dtype(cuda, "bf16")
    assert autocast_dtype(cuda, "auto") == torch.float16
    assert autocast_dtype(cuda, "fp16") == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)   # H100
    assert autocast_dtype(cuda, "bf16") == torch.bfloat16 and autocast_dtype(cuda, "auto") == torch.bfloat16
    assert autocast_dtype(cuda, "off") is None


class _OwnGenerator(torch.utils.data.Dataset):
    """A dataset drawing from its own torch.Generator, as MicroExpressionDataset(seed=...) does."""

    def __init__(self):
        self.generator = torch.Generator().manual_seed(0)

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return torch.rand(1, generator=self.generator)


def test_loader_workers_do_not_share_one_augmentation_stream():
    """With --num-workers N every worker gets a copy of the dataset, its generator in the same state:
    without reseeding, worker 0's first sample and worker 1's first sample get the same draw."""
    from tsfmicro_lite.train.trainer import make_loader

    def draws():
        loader = make_loader(_OwnGenerator(), 1, shuffle=False, seed=3, device=torch.device("cpu"), num_workers=2)
        return [float(b) for b in loader]
    first = draws()
    assert len(set(first)) == len(first), first
    assert draws() == first                   # still reproducible: seeded from the loader's generator
