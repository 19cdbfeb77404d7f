"""utils/benchmark.py: the timer and the options every script in benchmarks/ shares (``benchmark_args``)."""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from tsfmicro_lite.utils.benchmark import benchmark_args, benchmark_device, time_fn, time_round_robin

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("models", "sequence_stream", "retention", "preprocess", "train_step", "gpu_check")


def test_benchmark_args_defaults_and_parsing():
    args = benchmark_args(argparse.ArgumentParser()).parse_args([])
    assert (args.device, args.min_time, args.threads) == ("auto", 1.0, None)
    args = benchmark_args(argparse.ArgumentParser(), device="cpu", min_time=0.5).parse_args(["--threads", "2"])
    assert (args.device, args.min_time, args.threads) == ("cpu", 0.5, 2)
    many = benchmark_args(argparse.ArgumentParser(), threads="list").parse_args(["--threads", "1,2"])
    assert many.threads == [1, 2]
    bare = benchmark_args(argparse.ArgumentParser(), device=None, threads=None).parse_args([])
    assert not hasattr(bare, "device") and not hasattr(bare, "threads") and bare.min_time == 1.0


@pytest.mark.parametrize("threads,given", [("one", "1,2"), ("one", "x"), ("list", "0")])
def test_benchmark_args_rejects_bad_thread_counts(threads, given, capsys):
    parser = benchmark_args(argparse.ArgumentParser(), threads=threads)
    with pytest.raises(SystemExit):
        parser.parse_args(["--threads", given])
    assert "thread count" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"threads must be one of \('one', 'list'\)"):
        benchmark_args(argparse.ArgumentParser(), threads="two")


def test_benchmark_device_applies_threads_and_resolves_the_device():
    before = torch.get_num_threads()
    try:
        args = benchmark_args(argparse.ArgumentParser(), device="cpu").parse_args(["--threads", "1"])
        assert benchmark_device(args) == torch.device("cpu") and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert benchmark_device(argparse.Namespace(min_time=1.0)) is None


def test_time_fn_repeats_to_the_minimum():
    calls = []
    t = time_fn(lambda: calls.append(1), warmup=2, min_time_s=0.0, min_repeats=3)
    assert t.repeats == 3 and len(calls) == 5 and t.peak_mem_mb is None



def test_time_round_robin_interleaves_the_rounds_and_keeps_the_median():
    order = []
    out = time_round_robin({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=3,
                           min_time_s=0.0, warmup=1)
    assert order == ["a", "b"] * 4, "warm-up once each, then one call per function per round, interleaved"
    assert [len(r.round_s) for r in out.values()] == [3, 3]
    assert out["a"].median_s == sorted(out["a"].round_s)[1] and "median of 3 rounds" in str(out["a"])

@pytest.mark.parametrize("name", SCRIPTS)
def test_every_benchmark_takes_the_shared_options(name, capsys, monkeypatch):
    """Each script's --help lists the shared options (imports the script, runs nothing)."""
    monkeypatch.setattr(sys, "path", list(sys.path))    # the scripts put benchmarks/ on sys.path: undo it after
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(SystemExit) as stop:
        module.main(["--help"])
    assert stop.value.code == 0
    assert "--min-time" in capsys.readouterr().out
