"""The ``tsfmicro`` parser (tsfmicro_lite.cli): every subcommand is registered, parses, and has help."""
from __future__ import annotations

import argparse

import pytest

from tsfmicro_lite.cli import build_parser, main

# What the CLI should offer (README, docs), with the least arguments each needs to parse.
COMMANDS = {
    ("doctor",): [],
    ("data", "synth"): [],
    ("data", "check"): ["--dataset", "synthme"],
    ("prepare",): ["--dataset", "synthme"],
    ("models",): [],
    ("train",): [],
    ("evaluate",): ["--run", "runs/x"],
    ("reproduce",): [],
    ("assignments", "build"): [],
    ("assignments", "grade"): ["submissions/"],
    ("assignments", "release"): ["handout/"],
}


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def _leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Every runnable command path, with the help line its parent lists for it."""
    sub = _subparsers(parser)
    if sub is None:
        return {}
    helps = {a.dest: a.help for a in sub._choices_actions}
    found = {}
    for name, child in sub.choices.items():
        path = (*prefix, name)
        nested = _leaf_commands(child, path)
        found.update(nested or {path: helps.get(name)})
    return found


def test_the_cli_has_exactly_the_expected_commands_each_with_a_help_line():
    leaves = _leaf_commands(build_parser())
    assert set(leaves) == set(COMMANDS)
    assert all(help_line and help_line.strip() for help_line in leaves.values()), leaves


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_every_command_parses_to_its_own_handler(command):
    args = build_parser().parse_args([*command, *COMMANDS[command]])
    assert args.command == command[0]
    assert callable(args.func)
    assert args.func.__module__.startswith("tsfmicro_lite."), args.func
    assert args.func.__name__ != "<lambda>", f"{' '.join(command)} falls back to printing help instead of running"


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tsfmicro {' '.join(command)}"), out[:200]


def test_no_command_prints_help_and_fails():
    assert main([]) == 2
    with pytest.raises(SystemExit):
        main(["no-such-command"])
