"""Folds in parallel give the serial run's table, and resume after a kill (tsfmicro_lite.train.parallel)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from tsfmicro_lite.train.loso import run_loso
from tsfmicro_lite.train.parallel import ParallelPlan, resolve_parallel
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
CFG = dict(epochs=3, batch_size=8, lr=2e-2, weight_decay=0.01, device="cpu", seed=3)
DATA = dict(num_subjects=3, per_subject=8, signal=0.7, seed=4)


def _serial(out: Path | None):
    return run_loso(toy_data(**DATA), lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=out, verbose=False)


def _same_tables(a: Path, b: Path) -> None:
    """results.csv equal in every column but the wall time; predictions.csv equal byte for byte."""
    ra, rb = pd.read_csv(a / "results.csv"), pd.read_csv(b / "results.csv")
    pd.testing.assert_frame_equal(ra.drop(columns="wall_s"), rb.drop(columns="wall_s"))
    assert (a / "predictions.csv").read_text() == (b / "predictions.csv").read_text()


def test_plan_and_parallel_values_are_checked():
    assert resolve_parallel(3) == 3
    assert resolve_parallel("auto", "cpu") == 1
    with pytest.raises(ValueError, match="--parallel"):
        resolve_parallel("many")
    with pytest.raises(ValueError, match="engine"):
        ParallelPlan(2, "ray")


def test_submitit_debug_executor_gives_the_serial_table(tmp_path):
    _serial(tmp_path / "serial")
    run_loso(toy_data(**DATA), lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path / "debug", verbose=False,
             parallel=ParallelPlan(2, "submitit", cluster="debug"))
    _same_tables(tmp_path / "serial", tmp_path / "debug")
    serial = pd.read_csv(tmp_path / "serial" / "predictions.csv")
    assert serial["y_pred"].nunique() > 1, "a table of one constant prediction would prove little"


@pytest.mark.slow
def test_submitit_local_executor_gives_the_serial_table(tmp_path):
    """submitit's LocalExecutor: each fold a separate process, as on a SLURM node (~20 s: imports torch)."""
    _serial(tmp_path / "serial")
    res = run_loso(toy_data(**DATA), lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path / "local",
                   verbose=False, parallel=ParallelPlan(2, "submitit", cluster="local"))
    assert res.resumed_folds == []
    _same_tables(tmp_path / "serial", tmp_path / "local")


SCRIPT = textwrap.dedent("""
    import os, sys, time
    from tsfmicro_lite.train.loso import run_loso
    from tsfmicro_lite.train.toy import ToyFusion, toy_data
    from tsfmicro_lite.train.trainer import TrainConfig

    class Slow(ToyFusion):          # each fold takes seconds, so the parent can be killed mid-run
        def forward(self, onset, motion):
            time.sleep(float(os.environ.get("TOY_SLEEP", "0")))
            return super().forward(onset, motion)

    if __name__ == "__main__":
        run_loso(toy_data(**{data}), lambda: Slow(3), TrainConfig(**{cfg}), out_dir=sys.argv[1], parallel=2)
""").replace("{data}", repr(DATA)).replace("{cfg}", repr(CFG))


@pytest.mark.slow
def test_parallel_two_equals_serial_and_resumes_after_a_kill(tmp_path):
    """``parallel=2`` (local processes): kill the whole run once a fold is on disk, run it again; the
    finished folds are kept, the rest trained, and the tables equal an uninterrupted serial run's."""
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TOY_SLEEP": "0.15"}
    proc = subprocess.Popen([sys.executable, str(script), str(out)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "folds").glob("fold_*.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)      # the launcher and its workers: this test's own process group
    proc.wait()
    finished = sorted(p.name for p in (out / "folds").glob("fold_*.json"))
    assert finished, "no fold finished before the kill"
    assert len(finished) < 3 and not (out / "results.csv").exists()
    # the same run again (here in this process, dispatching the missing folds through submitit's debug
    # executor, to keep the test short): finished folds are read back, the others trained
    res = run_loso(toy_data(**DATA), lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=out, verbose=False,
                   parallel=ParallelPlan(2, "submitit", cluster="debug"))
    assert len(res.resumed_folds) == len(finished)
    _serial(tmp_path / "serial")
    _same_tables(tmp_path / "serial", out)


# --- GPU placement, checked on CPU --------------------------------------------------------------------
def test_visible_gpus_are_the_parents_entries_not_physical_indices():
    from tsfmicro_lite.train.parallel import visible_gpus

    assert visible_gpus(2, {}) == ["0", "1"]
    assert visible_gpus(2, {"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]        # GPU 1 here is physical 3
    assert visible_gpus(1, {"CUDA_VISIBLE_DEVICES": "GPU-8f1e, GPU-a2b4"}) == ["GPU-8f1e"]
    assert visible_gpus(2, {"CUDA_VISIBLE_DEVICES": ""}) == ["0", "1"]


@pytest.mark.parametrize("device, expected", [("cuda", ["5", "7", "5"]), ("cuda:1", ["7", "7", "7"])])
def test_local_workers_are_pinned_round_robin_over_the_visible_gpus(monkeypatch, tmp_path, device, expected):
    """Three workers on a 2-GPU machine whose launcher sees CUDA_VISIBLE_DEVICES=5,7: the workers get 5, 7, 5
    (``--device cuda:1``: all on 7), each as its only GPU, before they start CUDA; cores shared out."""
    import queue

    from tsfmicro_lite.train import parallel
    from tsfmicro_lite.train.checkpoints import RunFolder
    from tsfmicro_lite.train.splits import loso_folds

    seen = {}

    class FakePool:   # runs the initializer once per worker, here, and records what each would see
        def __init__(self, max_workers, mp_context, initializer, initargs):
            slots, gpus, threads = initargs
            q = queue.Queue()
            for _ in range(max_workers):
                q.put(slots.get(timeout=30))
            seen["threads"] = threads
            seen["visible"] = []
            for _ in range(max_workers):
                initializer(q, gpus, threads)
                seen["visible"].append(os.environ["CUDA_VISIBLE_DEVICES"])
                os.environ["CUDA_VISIBLE_DEVICES"] = "5,7"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, payload, fold):
            return SimpleNamespace(result=lambda: fold.index)

    from types import SimpleNamespace
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(parallel.torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(parallel.torch, "set_num_threads", lambda n: None)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 12)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")
    folds = loso_folds(toy_data(**DATA).subjects)
    done = parallel.run_folds_in_parallel(RunFolder(tmp_path), folds, lambda f: None, ParallelPlan(3),
                                          uses_cuda=True, device=device)
    assert done == [f.index for f in folds]
    assert seen["visible"] == expected and seen["threads"] == 4


WORKER_IMPORTS = textwrap.dedent("""
    import os, runpy, sys, queue
    import torch
    calls = []
    def record(name, result):
        def f(*a, **k):
            calls.append(name)
            return result
        return f
    torch.cuda.is_available = record("is_available", True)
    torch.cuda.device_count = record("device_count", 2)
    torch.cuda._lazy_init = record("_lazy_init", None)
    torch.cuda.init = record("init", None)
    # what a spawned worker imports before its initializer runs: the parent's __main__ (the CLI, or the
    # gpu_check script as __mp_main__) and the initializer's module
    import tsfmicro_lite.cli, tsfmicro_lite.cli.train_run, tsfmicro_lite.train.parallel
    runpy.run_path(sys.argv[1], run_name="__mp_main__")
    from tsfmicro_lite.train.parallel import _worker_init
    q = queue.Queue(); q.put(3)
    os.environ["CUDA_VISIBLE_DEVICES"] = "4,6"
    _worker_init(q, ["4", "6"], 1)
    print("CALLS", calls, "VISIBLE", os.environ["CUDA_VISIBLE_DEVICES"])
""")


def test_a_spawned_worker_starts_cuda_only_after_it_is_pinned(tmp_path):
    """``CUDA_VISIBLE_DEVICES`` acts only if set before CUDA starts in the process (cuInit reads it once,
    and ``torch.cuda.is_available()`` already calls it): nothing a spawned worker imports may touch CUDA
    (~5 s: imports the CLI and the gpu_check script)."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER_IMPORTS)
    out = subprocess.run([sys.executable, str(script), str(ROOT / "benchmarks" / "gpu_check.py")],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "CALLS [] VISIBLE 6" in out.stdout, out.stdout
