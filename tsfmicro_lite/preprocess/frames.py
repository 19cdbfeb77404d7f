"""K frames of a clip for the ``sequence`` variant: a named sampler, aligned with the clip's one transform.

A clip's frames run from the onset to the offset (``load_dataset``'s ``frame_paths``). A sampler picks
K of them by position in that list (0 = the onset, always first, so that frame − onset starts at 0):

- ``uniform``: K positions evenly spaced from the onset to the offset, both included;
- ``apex_centred``: the onset, then K − 1 frames around the apex: the apex itself, (K − 1) // 2 frames
  evenly spaced before it from midway onset→apex, and the rest evenly spaced after it up to midway
  apex→offset (K = 2 gives exactly (onset, apex): the two-frame input).

A clip shorter than K frames repeats frames (positions are rounded, never invented). ``prepare`` with
``PrepConfig(frames=K, frame_sampler=...)`` warps the K frames with the same similarity transform as
the onset and apex (one transform per clip, estimated on the onset) and caches them with the clip
(notebook 05, section "7. Retention over the frames of a clip").
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..utils.names import unknown
from .faces import read_frame

__all__ = ["SAMPLERS", "sample_positions", "apex_position", "sample_frames", "warp_frames", "check_sampler"]

SAMPLERS = ("uniform", "apex_centred")


def check_sampler(k: int, method: str) -> None:
    """Raise unless ``method`` is a known sampler and ``k`` is 0 (no frames) or ≥ 2."""
    if method not in SAMPLERS:
        raise unknown("frame sampler", method, SAMPLERS)
    if k != 0 and k < 2:
        raise ValueError(f"frames={k}: give 0 (no frame sequence) or K ≥ 2 (the onset and K − 1 later frames)")


def _spaced(lo: float, hi: float, n: int) -> list[float]:
    return list(np.linspace(lo, hi, n)) if n > 0 else []


def sample_positions(n_frames: int, apex: int, k: int, method: str = "uniform") -> list[int]:
    """K positions in 0..n_frames−1 (0 = onset, n_frames−1 = offset, ``apex`` = the apex's position), ascending.

    Taught in notebooks/05_fusion_variants.ipynb, section "7. Retention over the frames of a clip".
    """
    check_sampler(k, method)
    if n_frames < 1:
        raise ValueError(f"sample_positions: a clip needs at least one frame, got n_frames={n_frames}")
    last = n_frames - 1
    apex = min(max(int(apex), 0), last)
    if method == "uniform":
        picks = _spaced(0, last, k)
    else:  # apex_centred: onset, then K − 1 frames around the apex
        n = k - 1
        left, right = n // 2, n - 1 - n // 2
        lo, hi = apex / 2, (apex + last) / 2
        picks = [0.0] + _spaced(lo, apex, left + 1)[:-1] + [float(apex)] + _spaced(apex, hi, right + 1)[1:]
    return [int(p) for p in np.floor(np.asarray(picks) + 0.5)]      # round half up, the same on every platform


def apex_position(row: dict) -> int:
    """Position of the apex in the clip's ``frame_paths`` (its path, else its frame number, else onset-relative)."""
    paths = [str(p) for p in row.get("frame_paths") or []]
    apex_path = str(row.get("apex_path", ""))
    if apex_path in paths:
        return paths.index(apex_path)
    numbers = list(row.get("frame_numbers") or [])
    if int(row["apex"]) in numbers:
        return numbers.index(int(row["apex"]))
    return min(max(int(row["apex"]) - int(row["onset"]), 0), max(len(paths) - 1, 0))


def sample_frames(row: dict, k: int, method: str = "uniform") -> tuple[list[str], list[int]]:
    """(paths, positions) of the K frames a sampler picks from one ``load_dataset`` row.

    Without ``frame_paths`` (a table made by hand) the clip is its onset and apex frames only.

    Taught in notebooks/05_fusion_variants.ipynb, section "7. Retention over the frames of a clip".
    """
    paths = [str(p) for p in row.get("frame_paths") or []]
    if not paths:
        paths = [str(row["onset_path"]), str(row["apex_path"])]
    if str(row["onset_path"]) in paths:                    # the sequence starts at the onset
        paths = paths[paths.index(str(row["onset_path"])):]
    positions = sample_positions(len(paths), apex_position({**row, "frame_paths": paths}), k, method)
    return [paths[p] for p in positions], positions


def warp_frames(paths: Sequence[str], positions: Sequence[int], warp: Callable[[np.ndarray], np.ndarray]
                ) -> dict[str, np.ndarray]:
    """``frames`` (K, S, S, 3) uint8, each frame read and mapped by ``warp`` (the clip's one transform), and
    ``frame_positions`` (K,) int64: the arrays ``prepare`` caches for ``PrepConfig(frames=K)``."""
    return {"frames": np.stack([warp(read_frame(p)) for p in paths]),
            "frame_positions": np.asarray(positions, dtype=np.int64)}
