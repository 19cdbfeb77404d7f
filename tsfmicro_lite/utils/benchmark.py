"""One timer for every script in ``benchmarks/``: warm up, synchronise, repeat to a minimum time.

Benchmarks print ratios against a baseline measured in the same run, never absolute promises.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Timing:
    mean_s: float
    std_s: float
    repeats: int
    peak_mem_mb: float | None = None  # CUDA peak allocated during the timed runs; None on CPU (not measured)

    def __str__(self) -> str:
        mem = f", peak {self.peak_mem_mb:.0f} MB" if self.peak_mem_mb is not None else ""
        return f"{self.mean_s * 1e3:.2f} ± {self.std_s * 1e3:.2f} ms (n={self.repeats}{mem})"


def _sync(device: torch.device | str | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_fn(fn: Callable[[], object], *, device: torch.device | str | None = None, warmup: int = 2,
            min_time_s: float = 1.0, min_repeats: int = 3, max_repeats: int = 1000) -> Timing:
    """Mean ± std wall time of ``fn()``; on CUDA, also the peak allocated memory during the timed runs."""
    for _ in range(warmup):
        fn()
    _sync(device)
    cuda = device is not None and torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_repeats or (time.perf_counter() - start < min_time_s and len(times) < max_repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None
    std = statistics.stdev(times) if len(times) > 1 else 0.0
    return Timing(statistics.fmean(times), std, len(times), peak)


def device_label(device: torch.device | str) -> str:
    """Human name of the device a number was measured on, for benchmark tables and notes."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    return f"CPU, {torch.get_num_threads()} threads"
