"""``MicroExpressionDataset``: the (onset, motion, label) tensors the models receive, from prepared clips.

It reads a :class:`~tsfmicro_lite.preprocess.pipeline.PreparedClips` (aligned uint8 crops, made once and
cached by ``prepare``), and per sample (it lives in ``preprocess`` because it applies ``augment``):

1. optionally (training only, ``pair_search=True``) re-selects the onset/apex pair among the aligned
   candidate frames that ``prepare(..., PrepConfig(keep_candidates=True))`` stored: the official
   training-time key-frame search (spec §1), done here on crops already in memory;
2. converts both frames to float, scales to [0, 1] and normalises with the ImageNet mean/std (spec §1);
3. applies the joint geometric augmentation (training only) with identical parameters to both frames;
4. returns the normalised onset and the temporal input: ``apex − onset`` of the *normalised, augmented*
   tensors (3 channels, = (apex − onset)/255/std per channel), or the stored optical flow (2 channels,
   pixels at the crop size) / optical strain (1 channel) when ``motion=`` asks, augmented with the frames.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .augment import JointAugment, select_frame_pair

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MOTION_CHANNELS = {"diff": 3, "flow": 2, "strain": 1}


def normalise(frame: np.ndarray) -> torch.Tensor:
    """uint8 (S, S, 3) RGB → float32 (3, S, S), ImageNet-normalised (as the official per-image transform).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def denormalise(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalise`, for plots: (3, S, S) → values in [0, 1] (clipped)."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(3, 1, 1)
    return (x * std + mean).clamp(0, 1)


class MicroExpressionDataset(Dataset):
    """(onset, motion, label) samples of prepared clips; ``train=True`` switches the augmentation on.

    ``augment``: None = the official settings for the task when training (``JointAugment.for_task``), off
    otherwise; False = never; a :class:`JointAugment` = that one. ``size``: resize both inputs (bilinear)
    when the model's ``img_size`` differs from the prepared crops. ``seed`` gives the augmentation its own
    ``torch.Generator`` (a reproducible sequence of draws with ``num_workers=0``, as the official loader);
    without it the global torch RNG is used, which ``seed_everything`` controls.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """

    def __init__(self, prepared, indices: Sequence[int] | None = None, train: bool = False,
                 augment: JointAugment | bool | None = None, motion: str = "diff", pair_search: bool = False,
                 wraparound: bool = False, size: int | None = None, seed: int | None = None, frames: bool = False):
        if motion not in MOTION_CHANNELS:
            raise ValueError(f"motion must be one of {list(MOTION_CHANNELS)}, got {motion!r}")
        if motion != "diff" and getattr(prepared, motion) is None:
            raise ValueError(f"motion={motion!r} needs prepared clips that store it; prepare them with "
                             f"PrepConfig(motion={motion!r}) (or 'all'), got motion={prepared.config.motion!r}")
        if pair_search and prepared.onset_candidates is None:
            raise ValueError("pair_search=True needs the candidate frames; prepare with "
                             "PrepConfig(keep_candidates=True)")
        if frames and (prepared.frames is None or motion != "diff" or pair_search):
            raise ValueError("frames=True (the sequence variant) needs clips prepared with PrepConfig(frames=K), "
                             f"motion='diff' and no pair_search; got frames={getattr(prepared.config, 'frames', 0)}, "
                             f"motion={motion!r}, pair_search={pair_search}")
        self.sequence = frames
        self.prepared = prepared
        self.indices = np.arange(len(prepared)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.train, self.motion, self.size = train, motion, size
        self.pair_search, self.wraparound = pair_search and train, wraparound
        if augment is None:
            dataset = str(prepared.datasets[0]) if prepared.datasets is not None and len(prepared) else "casme2"
            augment = JointAugment.for_task(dataset, max(len(prepared.classes), 3)) if train else False
        self.augment: JointAugment | None = augment or None
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    @property
    def motion_channels(self) -> int:
        return MOTION_CHANNELS[self.motion]

    def __len__(self) -> int:
        return len(self.indices)

    def frames(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The uint8 onset and apex crops of sample k (after the frame-pair search when it is on)."""
        i = int(self.indices[k])
        p = self.prepared
        if self.pair_search:
            a, b = select_frame_pair(p.onset_candidates[i], p.apex_candidates[i], self.wraparound)
            return p.onset_candidates[i][a], p.apex_candidates[i][b]
        return p.onset[i], p.apex[i]

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.sequence:
            return self._sequence_item(k)
        i = int(self.indices[k])
        onset_u8, apex_u8 = self.frames(k)
        onset, apex = normalise(onset_u8), normalise(apex_u8)
        extra: list[torch.Tensor] = []
        if self.motion == "flow":
            extra = [torch.from_numpy(self.prepared.flow[i]).permute(2, 0, 1).float()]
        elif self.motion == "strain":
            extra = [torch.from_numpy(self.prepared.strain[i]).permute(2, 0, 1).float()]
        if self.size is not None and self.size != onset.shape[-1]:
            scale = self.size / onset.shape[-1]
            resized = F.interpolate(torch.stack([onset, apex]), size=(self.size, self.size), mode="bilinear",
                                    align_corners=False, antialias=True)
            onset, apex = resized[0], resized[1]
            extra = [F.interpolate(e[None], size=(self.size, self.size), mode="bilinear", align_corners=False,
                                   antialias=True)[0] * (scale if self.motion == "flow" else 1.0) for e in extra]
        if self.augment is not None:
            vectors = (2,) if self.motion == "flow" else ()
            onset, apex, *extra = self.augment(onset, apex, *extra, generator=self.generator, vectors=vectors)
        motion = apex - onset if self.motion == "diff" else extra[0]
        return onset.contiguous(), motion.contiguous(), torch.tensor(int(self.prepared.labels[i]))

    def _sequence_item(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``frames=True``: (onset (3, S, S), motion (K, 3, S, S) = each frame − onset, label); the onset and the
        K frames are normalised, resized and augmented together (one set of augmentation parameters)."""
        i = int(self.indices[k])
        onset = normalise(self.prepared.onset[i])
        frames = torch.stack([normalise(f) for f in self.prepared.frames[i]])           # (K, 3, S, S)
        if self.size is not None and self.size != onset.shape[-1]:
            both = F.interpolate(torch.cat([onset[None], frames]), size=(self.size, self.size), mode="bilinear",
                                 align_corners=False, antialias=True)
            onset, frames = both[0], both[1:]
        if self.augment is not None:
            onset, *rest = self.augment(onset, *frames.unbind(0), generator=self.generator)
            frames = torch.stack(rest)
        return onset.contiguous(), (frames - onset).contiguous(), torch.tensor(int(self.prepared.labels[i]))
