"""One timer for every script in ``benchmarks/``: warm up, synchronise, repeat to a minimum time.

Benchmarks print ratios against a baseline measured in the same run, never absolute promises. The
options every script shares (``--device``, ``--min-time``, ``--threads``) come from
:func:`benchmark_args`, so they are spelled and explained the same way everywhere.
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch

from tsfmicro_lite.utils.device import resolve_device

THREADS_CHOICES = ("one", "list")


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


@dataclass
class Rounds:
    """One function's mean time in each round of :func:`time_round_robin`; ``median_s`` is the figure to quote."""
    round_s: list[float]

    @property
    def median_s(self) -> float:
        return statistics.median(self.round_s)

    def __str__(self) -> str:
        return (f"{self.median_s * 1e3:.2f} ms median of {len(self.round_s)} rounds "
                f"({min(self.round_s) * 1e3:.2f}-{max(self.round_s) * 1e3:.2f})")


def time_round_robin(fns: dict[str, Callable[[], object]], *, rounds: int = 5, min_time_s: float = 0.1,
                     warmup: int = 1, device: torch.device | str | None = None) -> dict[str, Rounds]:
    """Time several functions in interleaved rounds: each round times every function once (:func:`time_fn`
    for ``min_time_s``), so a load that comes and goes on a shared machine hits all of them alike; the
    median over rounds (``Rounds.median_s``) then drops the rounds a burst of load spoilt."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(time_fn(fn, device=device, warmup=0, min_time_s=min_time_s, min_repeats=1).mean_s)
    return {name: Rounds(t) for name, t in times.items()}


def device_label(device: torch.device | str) -> str:
    """Human name of the device a number was measured on, for benchmark tables and notes."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    return f"CPU, {torch.get_num_threads()} threads"


def _thread_counts(text: str) -> list[int]:
    try:
        counts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected thread counts such as 2 or 1,2; got {text!r}")
    return counts


def _thread_count(text: str) -> int:
    counts = _thread_counts(text)
    if len(counts) != 1:
        raise argparse.ArgumentTypeError(f"expected one thread count such as 2; got {text!r}")
    return counts[0]


def benchmark_args(parser: argparse.ArgumentParser, *, device: str | None = "auto", min_time: float | None = 1.0,
                   min_time_help: str = "minimum seconds of timed repeats per row",
                   threads: str | None = "one", threads_help: str | None = None) -> argparse.ArgumentParser:
    """Add the options the benchmarks share to ``parser`` and return it.

    ``--device`` (default ``device``; ``None``: no such option, the script picks its devices);
    ``--min-time`` seconds (default ``min_time``; ``None`` means the script decides, say so in
    ``min_time_help``); ``--threads``: ``"one"`` takes one torch CPU thread count, ``"list"`` a
    comma-separated list (``1,2``: a row per count), ``None`` no such option.
    """
    if device is not None:
        parser.add_argument("--device", default=device, help=f"auto | cpu | cuda | cuda:N (default {device})")
    parser.add_argument("--min-time", type=float, default=min_time, help=min_time_help)
    if threads is not None:
        if threads not in THREADS_CHOICES:
            raise ValueError(f"benchmark_args: threads must be one of {THREADS_CHOICES} or None, got {threads!r}")
        default_help = ("torch CPU threads (default: torch's choice; 1 is steadier on a busy machine)"
                        if threads == "one" else "comma-separated torch CPU thread counts, e.g. 1,2")
        parser.add_argument("--threads", type=_thread_count if threads == "one" else _thread_counts, default=None,
                            help=threads_help or default_help)
    return parser


def benchmark_device(args: argparse.Namespace) -> torch.device | None:
    """Apply ``--threads`` (one count) to torch and resolve ``--device``; ``None`` without a ``--device`` option."""
    threads = getattr(args, "threads", None)
    if isinstance(threads, int):
        torch.set_num_threads(threads)
    return resolve_device(args.device) if hasattr(args, "device") else None
