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


def _with_candidates(p: _Prepared, radius: int = 2, seed: int = 1) -> _Prepared:
    """Candidate frames onset+0..r / apex−0..r around each clip's pair (index 0 = the annotated frame)."""
    rng = np.random.default_rng(seed)

    def around(frames):
        noise = rng.integers(-20, 21, (len(frames), radius, *frames.shape[1:]))
        moved = np.clip(frames[:, None].astype(int) + noise, 0, 255).astype(np.uint8)
        return [np.concatenate([f[None], m]) for f, m in zip(frames, moved)]
    p.onset_candidates, p.apex_candidates = around(p.onset), around(p.apex)
    return p


@pytest.mark.parametrize("wraparound", [False, True])
def test_device_batches_with_the_frame_pair_search_equal_the_per_sample_path(wraparound):
    """The official training-time pair search (the paper preset) no longer drops to the per-sample loader:
    its pairs depend on the candidate frames only, so they are found once per fold; same batches, same draws."""
    p = _with_candidates(_prepared())
    idx = np.array([0, 1, 3, 4, 6, 8, 10])
    ds = MicroExpressionDataset(p, idx, train=True, augment=JointAugment(degrees=3.0, padding=4,
                                                                        interpolation="nearest"),
                                pair_search=True, wraparound=wraparound)
    picked = [ds.frames(k) for k in range(len(ds))]
    assert any(not np.array_equal(a, p.onset[i]) or not np.array_equal(b, p.apex[i])
               for (a, b), i in zip(picked, idx)), "the search should move some pair away from the annotated one"
    device = torch.device("cpu")
    torch.manual_seed(3)
    cpu = list(make_loader(ds, 3, shuffle=True, seed=2, device=device))
    torch.manual_seed(3)
    batches = device_batches(ds, 3, shuffle=True, seed=2, device=device)
    assert isinstance(batches, DeviceBatches)
    for (o1, m1, y1), (o2, m2, y2) in zip(cpu, list(batches), strict=True):
        assert torch.equal(y1, y2)
        torch.testing.assert_close(o2, o1, rtol=0, atol=1e-5)
        torch.testing.assert_close(m2, m1, rtol=0, atol=1e-5)


def test_device_batches_make_no_blocking_host_to_device_copy_per_batch(monkeypatch):
    """On CUDA a plain ``.to("cuda")`` of pageable memory waits for the GPU (the previous step): every
    host tensor a batch needs (the epoch's indices, the augmentation parameters) must come from pinned
    memory with ``non_blocking=True``. Checked on CPU by recording what the "CUDA" path is asked to do."""
    import tsfmicro_lite.preprocess.batched as batched

    calls = []

    def fake(t, device):
        calls.append(t.shape)
        return t
    monkeypatch.setattr(batched, "_host_to_device", fake)
    p = _prepared()
    ds = MicroExpressionDataset(p, None, train=True, augment=JointAugment(degrees=4.0, padding=4))
    batches = device_batches(ds, 4, shuffle=True, seed=0, device=torch.device("cpu"))
    calls.clear()
    n = len(list(batches))
    assert n == 3 and len(calls) == 1 + n     # one copy of the epoch's indices, one of each batch's parameters
    assert calls[0] == (len(p.labels),) and all(c == (4, 8) for c in calls[1:])

    pinned, moved = [], []

    class _T:   # what _host_to_device does on CUDA, recorded
        def pin_memory(self):
            pinned.append(True)
            return self

        def to(self, device, non_blocking=False):
            moved.append((str(device), non_blocking))
            return self
    monkeypatch.undo()
    batched._host_to_device(_T(), torch.device("cuda"))
    assert pinned == [True] and moved == [("cuda", True)]
