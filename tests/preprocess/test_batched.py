"""Device-side batches equal the per-sample CPU path (tsfmicro_lite.preprocess.batched)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tsfmicro_lite.preprocess.augment import JointAugment
from tsfmicro_lite.preprocess.batched import DeviceBatches, device_batches
from tsfmicro_lite.preprocess.dataset import MicroExpressionDataset
from tsfmicro_lite.train.trainer import make_loader


class _Prepared(SimpleNamespace):
    """The fields of ``PreparedClips`` that ``MicroExpressionDataset`` reads."""

    def __len__(self) -> int:
        return len(self.labels)


def _prepared(n: int = 12, size: int = 24, seed: int = 0) -> _Prepared:
    rng = np.random.default_rng(seed)
    onset = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    apex = np.clip(onset.astype(int) + rng.integers(-3, 4, onset.shape), 0, 255).astype(np.uint8)
    return _Prepared(onset=onset, apex=apex, labels=np.arange(n) % 3, classes=["a", "b", "c"],
                     datasets=np.array(["casme2"] * n), flow=None, strain=None, onset_candidates=None, size=size)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("resize", [None, 16])
def test_device_batches_equal_the_per_sample_cpu_path_on_a_fixed_seed(interpolation, resize):
    p = _prepared()
    idx = np.array([0, 2, 3, 5, 6, 7, 9, 11])
    try:
        aug = JointAugment(degrees=4.0, padding=4, interpolation=interpolation)
    except TypeError:   # an augment.py without the interpolation option: bilinear only
        if interpolation != "bilinear":
            pytest.skip("JointAugment has no interpolation option")
        aug = JointAugment(degrees=4.0, padding=4)
    ds = MicroExpressionDataset(p, idx, train=True, augment=aug, size=resize)
    device = torch.device("cpu")
    torch.manual_seed(7)
    cpu = list(make_loader(ds, 3, shuffle=True, seed=5, device=device))
    torch.manual_seed(7)
    batches = device_batches(ds, 3, shuffle=True, seed=5, device=device)
    assert isinstance(batches, DeviceBatches) and len(batches) == len(cpu) == 3
    dev = list(batches)
    for (o1, m1, y1), (o2, m2, y2) in zip(cpu, dev):
        assert torch.equal(y1, y2)
        torch.testing.assert_close(o2, o1, rtol=0, atol=1e-5)
        torch.testing.assert_close(m2, m1, rtol=0, atol=1e-5)
    # the augmentation did something on this seed (so the check is not of two identities)
    plain = MicroExpressionDataset(p, idx, train=False, augment=False, size=resize)
    torch.manual_seed(7)
    unaug = list(make_loader(plain, 3, shuffle=True, seed=5, device=device))
    assert not torch.allclose(unaug[0][0], cpu[0][0])
    # and the global RNG is left where the per-sample path leaves it (model-side draws stay in step)
    torch.manual_seed(7)
    list(make_loader(ds, 3, shuffle=True, seed=5, device=device))
    a = torch.rand(1)
    torch.manual_seed(7)
    list(device_batches(ds, 3, shuffle=True, seed=5, device=device))
    assert torch.equal(a, torch.rand(1))


def test_other_inputs_fall_back_to_the_loader():
    p = _prepared()
    ds = MicroExpressionDataset(p, None, train=False, augment=False)
    ds.motion = "flow"
    assert device_batches(ds, 4, shuffle=False, seed=0, device=torch.device("cpu")) is None
    assert device_batches(list(range(3)), 4, shuffle=False, seed=0, device=torch.device("cpu")) is None
