"""glibc malloc settings for training: keep large activations on the heap instead of mmap + zero-fill.

glibc serves every allocation above its mmap threshold (128 KiB at start, adapting up to 32 MiB) with a
fresh ``mmap``: the kernel zero-fills those pages on first touch, every step, for every large activation
and gradient. ``MALLOC_MMAP_MAX_=0`` keeps them on the heap and a high ``MALLOC_TRIM_THRESHOLD_`` stops
glibc from handing the top of the heap back after each step, so the next step reuses the same pages.
Measured in ``benchmarks/train_step.py`` (issue #13: −19 to −24 % CPU step time at batch 8). Exact: the
numbers computed do not change, only where memory comes from; the cost is that the process keeps its
peak heap. The variables act when a process starts, so launchers set them for the processes they start
(``ALLOCATOR_ENV``); :func:`tune_this_process` sets the same two options with ``mallopt`` in a running one.
``TSFMICRO_ALLOCATOR=default`` turns both off. Other C libraries (macOS, musl) ignore them.
"""
from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["ALLOCATOR_ENV", "allocator_env", "tune_this_process"]

ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4      # glibc's mallopt parameter numbers (malloc.h)


def _enabled() -> bool:
    return os.environ.get("TSFMICRO_ALLOCATOR", "tuned").lower() != "default"


def allocator_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's environment) plus the allocator settings it does not set itself."""
    env = dict(os.environ if env is None else env)
    if _enabled():
        for key, value in ALLOCATOR_ENV.items():
            env.setdefault(key, value)
    return env


def tune_this_process() -> bool:
    """Apply the settings to this (already running) process with glibc's ``mallopt``; False where
    it cannot (not glibc, or ``TSFMICRO_ALLOCATOR=default``)."""
    if not _enabled() or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(_M_MMAP_MAX, int(os.environ.get("MALLOC_MMAP_MAX_", ALLOCATOR_ENV["MALLOC_MMAP_MAX_"])))
        ok &= libc.mallopt(_M_TRIM_THRESHOLD, int(os.environ.get("MALLOC_TRIM_THRESHOLD_",
                                                                   ALLOCATOR_ENV["MALLOC_TRIM_THRESHOLD_"])))
        return bool(ok)
    except (OSError, AttributeError, ValueError):
        return False
