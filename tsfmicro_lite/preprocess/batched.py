"""Batches built on the device: a fold's uint8 crops moved once, normalised and jointly augmented per batch.

The per-sample path (``MicroExpressionDataset`` in a ``DataLoader``) normalises and augments one clip
at a time in the main process: about 53 ms per batch of 32 at 224 px on an idle 2-core CPU, slower than
a GPU trains. Here a fold's onset/apex crops (uint8, ~110 MB for a CASME II task at 224 px) go to the
device once; each batch is gathered there, scaled, ImageNet-normalised, resized when the model's input
differs, and augmented by one ``affine_grid`` / ``grid_sample`` over the whole batch.

It is the same computation, not a look-alike: the batch order comes from a ``DataLoader`` over indices
with the trainer's seeded generator (the same permutation as the per-sample loader), the augmentation
parameters are drawn by the same :meth:`JointAugment.sample` calls, in the same order, from the same
generator, and each sample's affine matrix is built exactly as :func:`~.augment.apply_joint` builds it
(``tests/preprocess/test_batched.py`` checks equality with the CPU implementation on a fixed seed).
Only the ``diff`` motion input is built here (the official frame-pair search included: its pairs depend on
the candidate frames alone, so they are picked once per fold); any other dataset gets ``None`` from
:func:`device_batches` and the trainer falls back to the ``DataLoader``. No host sync per batch: the
epoch's indices and each batch's augmentation parameters reach the GPU in non-blocking copies from pinned memory.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .augment import JointAugment
from .dataset import IMAGENET_MEAN, IMAGENET_STD, MicroExpressionDataset

__all__ = ["DeviceBatches", "device_batches", "joint_thetas", "augment_batch"]


def joint_thetas(params: list[dict], padding: int, height: int, width: int) -> torch.Tensor:
    """(B, 2, 3) float32 affine matrices, each built as ``apply_joint`` builds its one matrix."""
    rows = []
    for p in params:
        angle = math.radians(p["angle"])
        cos, sin = math.cos(angle), math.sin(angle)
        tx = -2.0 * (padding - p["dx"]) / width
        ty = -2.0 * (padding - p["dy"]) / height
        rows.append(torch.tensor([[cos, -sin * height / width, tx], [sin * width / height, cos, ty]],
                                 dtype=torch.float32))
    return torch.stack(rows)


def _host_to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A small host tensor on ``device`` without a host sync: on CUDA from pinned memory, non-blocking
    (a plain ``.to("cuda")`` of pageable memory waits for the stream, i.e. for the previous step)."""
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


def _batch_params(params: list[dict], padding: int, height: int, width: int, device: torch.device
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(flip (B,) bool, theta (B, 2, 3) float32, moved (B,) bool) on ``device``, in one host-to-device copy."""
    theta = joint_thetas(params, padding, height, width)
    flags = torch.tensor([[float(bool(p["flip"])),
                           float(p["angle"] != 0.0 or p["dx"] != padding or p["dy"] != padding)] for p in params],
                         dtype=torch.float32)
    packed = _host_to_device(torch.cat([flags, theta.flatten(1)], dim=1), device)   # (B, 2 + 6)
    return packed[:, 0] > 0.5, packed[:, 2:].view(-1, 2, 3), packed[:, 1] > 0.5


def augment_batch(x: torch.Tensor, params: list[dict], padding: int, interpolation: str = "bilinear"
                  ) -> torch.Tensor:
    """Apply each sample's drawn parameters to ``x`` (B, C, S, S): flip, then one batched grid_sample
    (``interpolation`` as ``JointAugment.interpolation``: bilinear, or nearest as the official code).

    Samples whose draw is the identity (no angle, no shift) are left untouched, as ``apply_joint`` does.
    The parameters reach the device in one non-blocking copy (no host sync per batch on CUDA).
    """
    _, _, h, w = x.shape
    flip, theta, keep = _batch_params(params, padding, h, w, x.device)
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    if any(p["angle"] != 0.0 or p["dx"] != padding or p["dy"] != padding for p in params):
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        warped = F.grid_sample(x, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
        x = torch.where(keep.view(-1, 1, 1, 1), warped, x)
    return x


class DeviceBatches:
    """An iterable of ``(onset, motion, label)`` batches on ``device``, one fold's data moved there once.

    ``len()`` and iteration behave like the ``DataLoader`` the trainer would otherwise build (same
    batch size, same order for the same ``seed``).
    """

    def __init__(self, onset_u8: torch.Tensor | None, apex_u8: torch.Tensor | None, labels: torch.Tensor,
                 batch_size: int, *, shuffle: bool, seed: int, device: torch.device,
                 augment: JointAugment | None = None, generator: torch.Generator | None = None,
                 size: int | None = None, onset: torch.Tensor | None = None, motion: torch.Tensor | None = None):
        self.device = device
        self.labels = labels.to(device)
        self.raw = onset_u8 is not None
        if self.raw:   # (N, S, S, 3) uint8 → (N, 3, S, S) uint8 on the device: 4× smaller than float
            self.onset_u8 = onset_u8.permute(0, 3, 1, 2).contiguous().to(device)
            self.apex_u8 = apex_u8.permute(0, 3, 1, 2).contiguous().to(device)
        else:          # ready float tensors (TensorDataset): moved once, indexed per batch
            self.onset, self.motion = onset.to(device), motion.to(device)
        self.augment, self.generator, self.size = augment, generator, size
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
        order = TensorDataset(torch.arange(len(labels)))
        self.order = DataLoader(order, batch_size=batch_size, shuffle=shuffle,
                                generator=torch.Generator().manual_seed(seed))

    def __len__(self) -> int:
        return len(self.order)

    def _normalise(self, u8: torch.Tensor) -> torch.Tensor:
        return (u8.float() / 255.0 - self.mean) / self.std

    def _epoch_indices(self) -> list[tuple[int, torch.Tensor]]:
        """This epoch's batches as (size, indices on the device): the permutation drawn on the host as the
        loader draws it, moved in one non-blocking copy (no host sync per batch)."""
        batches = [idx for (idx,) in self.order]
        if not batches:
            return []
        flat = _host_to_device(torch.cat(batches), self.device)
        return list(zip((len(b) for b in batches), flat.split([len(b) for b in batches])))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for n, i in self._epoch_indices():
            label = self.labels[i]
            if not self.raw:
                yield self.onset[i], self.motion[i], label
                continue
            # the draws first, sample by sample, as the per-sample loader makes them
            params = [self.augment.sample(self.generator) for _ in range(n)] if self.augment else None
            onset, apex = self._normalise(self.onset_u8[i]), self._normalise(self.apex_u8[i])
            if self.size is not None and self.size != onset.shape[-1]:
                both = F.interpolate(torch.cat([onset, apex]), size=(self.size, self.size), mode="bilinear",
                                     align_corners=False, antialias=True)
                onset, apex = both[:n], both[n:]
            if params is not None:
                both = augment_batch(torch.cat([onset, apex], dim=1), params, self.augment.padding,
                                     getattr(self.augment, "interpolation", "bilinear"))
                onset, apex = both[:, :3], both[:, 3:]
            yield onset.contiguous(), (apex - onset).contiguous(), label


def device_batches(dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int,
                   device: torch.device) -> DeviceBatches | None:
    """Device-side batches for ``dataset`` when this module can build them exactly, else ``None``.

    Handles a ``MicroExpressionDataset`` with the ``diff`` motion input (with or without the frame-pair
    search: it picks a clip's pair from its candidate frames alone, so the pairs are found once per fold,
    exactly as the per-sample path finds them every epoch), and a ``TensorDataset`` of ``(onset, motion, label)``.
    """
    if isinstance(dataset, MicroExpressionDataset):
        if dataset.motion != "diff" or getattr(dataset, "sequence", False):
            return None  # (K-frame stacks of the sequence variant: the DataLoader path)
        p, idx = dataset.prepared, torch.as_tensor(dataset.indices, dtype=torch.long)
        if dataset.pair_search:   # the search depends on the candidate frames only: the same pair every epoch
            pairs = [dataset.frames(k) for k in range(len(dataset))]
            onset = torch.from_numpy(np.stack([a for a, _ in pairs]))
            apex = torch.from_numpy(np.stack([b for _, b in pairs]))
        else:
            onset = torch.from_numpy(p.onset)[idx]
            apex = torch.from_numpy(p.apex)[idx]
        labels = torch.as_tensor(p.labels, dtype=torch.long)[idx]
        return DeviceBatches(onset, apex, labels, batch_size, shuffle=shuffle, seed=seed, device=device,
                             augment=dataset.augment, generator=dataset.generator, size=dataset.size)
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) == 3:
        onset, motion, labels = dataset.tensors
        return DeviceBatches(None, None, labels, batch_size, shuffle=shuffle, seed=seed, device=device,
                             onset=onset, motion=motion)
    return None
