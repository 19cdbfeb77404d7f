"""`tsfmicro` subcommands of tsfmicro_lite.train."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this subsystem's subcommands (none yet)."""
