"""The ``tsfmicro`` command: the same pipeline as the notebooks, for people who prefer a shell.

One module per subsystem (``cli/data.py``, ``prepare.py``, ``models.py``, ``train.py``,
``assignments.py``, and ``doctor.py`` at the top of the package) adds its subcommands through a
``register(subparsers)`` function; this file only lists them. The CLI is the top layer: it may import
every other part of the kit, and nothing imports it. Building the parser imports no torch: the flags take
their names from ``choices.py``, and each command imports the kit only when it runs (``--help`` ~0.1 s).
"""
from __future__ import annotations

import argparse
import os
import sys

from .. import __version__, doctor
from . import assignments, data, models, prepare, train

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES = [doctor, data, prepare, models, train, assignments]


def build_parser() -> argparse.ArgumentParser:
    """The ``tsfmicro`` parser with every subsystem's subcommands registered."""
    parser = argparse.ArgumentParser(prog="tsfmicro", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tsfmicro-lite {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``tsfmicro`` with ``argv`` (default: the command line); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `tsfmicro data check ... | head`: the reader left; no traceback, as other tools
        if sys.stdout is sys.__stdout__ and sys.__stdout__ is not None:  # the process's own stdout (not a capture)
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), sys.stdout.fileno())  # Python's flush at exit would raise again
        return 141  # 128 + SIGPIPE, what a shell reports for such a pipe

