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
Only the ``diff`` motion input without the frame-pair search is built here; any other dataset gets
``None`` from :func:`device_batches` and the trainer falls back to the ``DataLoader``.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

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


def augment_batch(x: torch.Tensor, params: list[dict], padding: int, interpolation: str = "bilinear"
                  ) -> torch.Tensor:
    """Apply each sample's drawn parameters to ``x`` (B, C, S, S): flip, then one batched grid_sample
    (``interpolation`` as ``JointAugment.interpolation``: bilinear, or nearest as the official code).

    Samples whose draw is the identity (no angle, no shift) are left untouched, as ``apply_joint`` does.
    """
    _, _, h, w = x.shape
    flip = torch.tensor([bool(p["flip"]) for p in params], device=x.device)
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
    theta = joint_thetas(params, padding, h, w)
    moved = [p["angle"] != 0.0 or p["dx"] != padding or p["dy"] != padding for p in params]
    if any(moved):
        grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
        warped = F.grid_sample(x, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
        keep = torch.tensor(moved, device=x.device).view(-1, 1, 1, 1)
        x = torch.where(keep, warped, x)
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

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for (idx,) in self.order:
            label = self.labels[idx.to(self.device)]
            if not self.raw:
                yield self.onset[idx.to(self.device)], self.motion[idx.to(self.device)], label
                continue
            # the draws first, sample by sample, as the per-sample loader makes them
            params = [self.augment.sample(self.generator) for _ in range(len(idx))] if self.augment else None
            i = idx.to(self.device)
            onset, apex = self._normalise(self.onset_u8[i]), self._normalise(self.apex_u8[i])
            if self.size is not None and self.size != onset.shape[-1]:
                both = F.interpolate(torch.cat([onset, apex]), size=(self.size, self.size), mode="bilinear",
                                     align_corners=False, antialias=True)
                onset, apex = both[: len(idx)], both[len(idx):]
            if params is not None:
                both = augment_batch(torch.cat([onset, apex], dim=1), params, self.augment.padding,
                                     getattr(self.augment, "interpolation", "bilinear"))
                onset, apex = both[:, :3], both[:, 3:]
            yield onset.contiguous(), (apex - onset).contiguous(), label


def device_batches(dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int,
                   device: torch.device) -> DeviceBatches | None:
    """Device-side batches for ``dataset`` when this module can build them exactly, else ``None``.

    Handles a ``MicroExpressionDataset`` with the ``diff`` motion input and no frame-pair search, and
    a ``TensorDataset`` of ``(onset, motion, label)``.
    """
    if isinstance(dataset, MicroExpressionDataset):
        if dataset.motion != "diff" or dataset.pair_search or getattr(dataset, "sequence", False):
            return None  # (K-frame stacks of the sequence variant: the DataLoader path)
        p, idx = dataset.prepared, torch.as_tensor(dataset.indices, dtype=torch.long)
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
