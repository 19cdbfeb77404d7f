"""The ``tsfmicro`` command: the same pipeline as the notebooks, for people who prefer a shell.

Each subsystem registers its own subcommands through a ``register(subparsers)`` function, so this
file only lists them.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

COMMAND_MODULES = [
    "tsfmicro_lite.doctor",
    "tsfmicro_lite.data.commands",
    "tsfmicro_lite.preprocess.commands",
    "tsfmicro_lite.models.commands",
    "tsfmicro_lite.train.commands",
    "tsfmicro_lite.assignments.commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsfmicro", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tsfmicro-lite {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
