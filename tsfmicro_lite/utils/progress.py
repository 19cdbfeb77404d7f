"""The one quiet switch: progress bars on in a terminal, off when ``TSFMICRO_QUIET`` is set.

Tests and CI set ``TSFMICRO_QUIET=1``; every progress bar of the kit asks :func:`quiet` (never reads
the variable itself) so one switch silences them all.
"""
from __future__ import annotations

import os

__all__ = ["quiet", "QUIET_ENV"]

QUIET_ENV = "TSFMICRO_QUIET"


def quiet() -> bool:
    """True when ``$TSFMICRO_QUIET`` is set to anything but ``""``, ``0`` or ``false``."""
    return os.environ.get(QUIET_ENV, "0").strip().lower() not in ("", "0", "false", "no")
