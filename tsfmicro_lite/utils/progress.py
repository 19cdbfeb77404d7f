"""The one quiet switch: progress bars on in a terminal, off when ``TSFMICRO_QUIET`` is set.

Tests and CI set ``TSFMICRO_QUIET=1``; every progress bar of the kit asks :func:`quiet` (never reads
the variable itself) so one switch silences them all. Every bar is made by :func:`progress`, which picks
how it shows from where the output goes (``$TSFMICRO_PROGRESS`` overrides the choice):

- ``bar``: a live tqdm bar, the default in a terminal (stderr is a tty);
- ``line``: the default elsewhere (a notebook kernel, papermill, a CI log): no bar, one line per loop
  when it ends (``LOSO late: 8/8 folds in 41.2 s``); loops marked ``leave=False`` (the epochs inside a
  fold) print nothing. An executed notebook then carries no walls of ``0%`` bars;
- ``off``: nothing (also what ``TSFMICRO_QUIET=1`` gives).
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Iterable, Iterator

from tqdm.auto import tqdm

from .names import unknown

__all__ = ["quiet", "QUIET_ENV", "PROGRESS_ENV", "PROGRESS_MODES", "progress_mode", "progress", "LineProgress"]

QUIET_ENV = "TSFMICRO_QUIET"
PROGRESS_ENV = "TSFMICRO_PROGRESS"
PROGRESS_MODES = ("auto", "bar", "line", "off")


def quiet() -> bool:
    """True when ``$TSFMICRO_QUIET`` is set to anything but ``""``, ``0`` or ``false``."""
    return os.environ.get(QUIET_ENV, "0").strip().lower() not in ("", "0", "false", "no")


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_mode(stream=None) -> str:
    """``"bar"``, ``"line"`` or ``"off"``: how :func:`progress` shows a loop now (see the module docstring)."""
    if quiet():
        return "off"
    mode = os.environ.get(PROGRESS_ENV, "auto").strip().lower() or "auto"
    if mode not in PROGRESS_MODES:
        raise unknown(f"progress mode (${PROGRESS_ENV})", mode, PROGRESS_MODES,
                      hint=f"Set {PROGRESS_ENV} to one of them, or unset it.")
    if mode == "auto":
        return "bar" if _isatty(stream if stream is not None else sys.stderr) else "line"
    return mode


class LineProgress:
    """A tqdm stand-in that prints one line when the loop ends (or nothing, when ``silent``).

    Supports what the kit's loops use: iteration, ``update``, ``set_postfix``, ``close`` and ``n``.
    """

    def __init__(self, iterable: Iterable | None = None, desc: str = "", total: int | None = None,
                 initial: int = 0, unit: str = "it", silent: bool = False, file=None) -> None:
        self.iterable, self.desc, self.unit, self.silent = iterable, desc, unit, silent
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n, self.initial = total, initial, initial
        self.postfix: dict[str, Any] = {}
        self.file = file
        self._start = time.perf_counter()
        self._closed = False

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.n += 1
        finally:
            self.close()

    def __len__(self) -> int:
        return self.total or 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        self.postfix.update(ordered_dict or {}, **kwargs)

    def line(self) -> str:
        total = f"/{self.total}" if self.total is not None else ""
        extra = "".join(f", {k} {v}" for k, v in self.postfix.items())
        return f"{self.desc}: {self.n}{total} {self.unit} in {time.perf_counter() - self._start:.1f} s{extra}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.silent and self.n > self.initial:
            print(self.line(), file=self.file if self.file is not None else sys.stderr, flush=True)


def progress(iterable: Iterable | None = None, desc: str = "", total: int | None = None, *, leave: bool = True,
             unit: str = "it", initial: int = 0, file=None):
    """A progress bar for a loop, shown the way :func:`progress_mode` says (tqdm's calling convention).

    ``leave=False`` marks an inner loop: a bar that disappears in a terminal, nothing in ``line`` mode.
    """
    mode = progress_mode(file)
    if mode == "bar":
        return tqdm(iterable, desc=desc, total=total, leave=leave, unit=unit, initial=initial, file=file)
    return LineProgress(iterable, desc=desc, total=total, initial=initial, unit=unit, file=file,
                        silent=mode == "off" or not leave)
