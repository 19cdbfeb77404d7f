"""Folds in parallel: N local processes (one or more per GPU), or SLURM jobs through submitit.

A LOSO fold is an independent job: its own seed (``loso.fold_seed``), a new model, and a result
written atomically into the run folder (``checkpoints.RunFolder``). So running folds at once changes
nothing but the wall time: each job trains exactly what the serial loop would, the parent then reads
every fold back from disk and writes the one results table, and a killed run resumes like a serial
one (finished folds are on disk; the others are trained again).

Engines (no home-made scheduler):

* ``local``: ``concurrent.futures.ProcessPoolExecutor`` with ``spawn``, ``parallel`` workers. On a GPU
  machine worker k sees only GPU ``k % n_gpus`` of the parent's visible ones (``CUDA_VISIBLE_DEVICES``,
  set before the worker starts CUDA; ``--device cuda:N``: every worker on GPU N), so ``parallel = n_gpus``
  is one fold per GPU and ``2 * n_gpus`` two per GPU; the cores are shared out (``torch.set_num_threads``).
* ``submitit``: one job per fold through ``submitit.AutoExecutor`` (SLURM when ``sbatch`` exists, else
  its local executor; ``cluster="debug"`` runs in this process), at most ``parallel`` at once.

The job payload (data, model factory, config) is written once per run with cloudpickle (it pickles
closures), into ``<run_dir>/parallel/payload.pkl``; the run folder must be on a filesystem every job
sees (on a cluster, a shared one).
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import cloudpickle
import torch

from ..utils.allocator import allocator_env
from ..utils.io import atomic_write_bytes
from ..utils.names import unknown
from .checkpoints import RunFolder
from .splits import Fold

__all__ = ["ENGINES", "ParallelPlan", "resolve_parallel", "run_folds_in_parallel", "visible_gpus"]

ENGINES = ("local", "submitit")


@dataclass
class ParallelPlan:
    """How to spread a run's folds: how many at once, on which engine, with which cluster settings.

    ``slurm``: submitit parameters (e.g. ``{"slurm_partition": "gpu", "timeout_min": 60,
    "gpus_per_node": 1}``); ``cluster``: submitit's ``cluster`` (None = auto, ``"local"``, ``"debug"``).
    """
    parallel: int = 1
    engine: str = "local"
    cluster: str | None = None
    slurm: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise unknown("engine", self.engine, ENGINES, hint="local = processes on this machine; "
                          "submitit = SLURM jobs (or submitit's local executor).")
        if int(self.parallel) < 1:
            raise ValueError(f"--parallel must be >= 1 (folds at once), got {self.parallel}.")

    @property
    def dispatches(self) -> bool:
        """True when folds leave this process (more than one at once, or any submitit engine)."""
        return self.engine == "submitit" or self.parallel > 1


def resolve_parallel(value: int | str | None, device: str = "auto") -> int:
    """``--parallel`` as a number: ``auto`` = one fold per visible GPU on a CUDA run, else 1 (serial)."""
    if value in (None, "auto"):
        on_cuda = str(device).startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        return max(torch.cuda.device_count(), 1) if on_cuda else 1
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"--parallel takes a number of folds at once or 'auto'; got {value!r}.") from None
    if n < 1:
        raise ValueError(f"--parallel must be >= 1 (folds at once), got {n}.")
    return n


# --- the job: runs in a worker process (or a SLURM job) ------------------------------------------------
_PAYLOADS: dict[str, dict[str, Any]] = {}


def _payload(path: str) -> dict[str, Any]:
    if path not in _PAYLOADS:
        _PAYLOADS[path] = cloudpickle.loads(Path(path).read_bytes())
    return _PAYLOADS[path]


def fold_job(payload_path: str, fold: Fold) -> int:
    """Train one fold from the run's payload and save it into the run folder; returns the fold index."""
    job = _payload(payload_path)
    job["train_one"](fold)
    return fold.index


def visible_gpus(n_gpus: int, env: dict[str, str] | None = None) -> list[str]:
    """The parent's GPUs as ``CUDA_VISIBLE_DEVICES`` entries, by the index this process knows them by.

    GPU k here is the k-th entry of the parent's ``CUDA_VISIBLE_DEVICES`` (indices, ``GPU-…`` UUIDs or
    ``MIG-…`` ids), not physical GPU k: with ``CUDA_VISIBLE_DEVICES=2,3`` a worker meant for GPU 1 must
    get ``3``. Unset or empty: ``0 .. n_gpus-1``.
    """
    value = (os.environ if env is None else env).get("CUDA_VISIBLE_DEVICES")
    entries = [e.strip() for e in value.split(",")] if value is not None and value.strip() else []
    if not entries:
        return [str(i) for i in range(n_gpus)]
    return entries[:n_gpus] if len(entries) >= n_gpus else entries


def _worker_init(slot_queue, gpus: Sequence[str], threads: int) -> None:
    slot = slot_queue.get()
    if gpus:
        # before this process touches CUDA: nothing the spawned worker imported has initialised it
        # (tests/train/test_parallel.py checks), so CUDA starts here seeing this one GPU as "cuda"
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
    torch.set_num_threads(max(threads, 1))


def _gpu_slots(device: str | None) -> list[str]:
    """The GPUs local workers take round-robin: every visible one, or the one ``device="cuda:N"`` names."""
    gpus = visible_gpus(torch.cuda.device_count())
    device = str(device or "")
    if device.startswith("cuda:"):
        index = int(device.split(":", 1)[1])
        return [gpus[index]] if index < len(gpus) else [str(index)]
    return gpus


# --- the launcher -------------------------------------------------------------------------------------
def run_folds_in_parallel(run: RunFolder, folds: Sequence[Fold], train_one: Callable[[Fold], None],
                          plan: ParallelPlan, *, uses_cuda: bool, device: str | None = None) -> list[int]:
    """Train ``folds`` (none of them on disk yet) with ``plan``; each job calls ``train_one(fold)``,
    which must save the fold into ``run``. Returns the fold indices trained; raises if a job failed.

    ``uses_cuda``: local workers are spread round-robin over the visible GPUs (``device="cuda:N"``: all on
    GPU N), each seeing only its own as ``cuda``; the CPU cores are shared out between the workers either way
    (a GPU worker still builds batches and runs its DataLoader on them)."""
    if not folds:
        return []
    payload = run.path / "parallel" / "payload.pkl"
    atomic_write_bytes(payload, cloudpickle.dumps({"train_one": train_one}))
    if plan.engine == "submitit":
        return _submitit(run, folds, str(payload), plan)
    import multiprocessing as mp  # lazy: only the local engine starts processes

    ctx = mp.get_context("spawn")
    gpus = _gpu_slots(device) if uses_cuda else []
    workers = min(plan.parallel, len(folds))
    threads = max((os.cpu_count() or 1) // workers, 1)
    slots = ctx.Queue()
    for k in range(workers):
        slots.put(k)
    # children start with the allocator settings the launcher chose (glibc reads them at start-up)
    added = {k: v for k, v in allocator_env().items() if k not in os.environ}
    os.environ.update(added)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(slots, gpus, threads)) as pool:
            futures = [pool.submit(fold_job, str(payload), f) for f in folds]
            done = [fut.result() for fut in futures]   # re-raises a fold's exception, naming it below
    finally:
        for k in added:
            os.environ.pop(k, None)
    return done


def _submitit(run: RunFolder, folds: Sequence[Fold], payload: str, plan: ParallelPlan) -> list[int]:
    import submitit  # lazy: only the cluster engine needs it

    executor = submitit.AutoExecutor(folder=run.path / "parallel" / "submitit", cluster=plan.cluster)
    params = {"slurm_array_parallelism": plan.parallel, "name": f"tsfmicro-{run.path.name}"[:60], **plan.slurm}
    if executor.cluster != "slurm":
        params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
    if executor.cluster == "local":
        params.setdefault("timeout_min", 60 * 24)
    executor.update_parameters(**params)
    os.environ.update(allocator_env())   # submitit's local executor and sbatch pass the environment on
    jobs = executor.map_array(fold_job, [payload] * len(folds), list(folds))
    done = []
    for fold, job in zip(folds, jobs):
        try:
            done.append(job.result())
        except Exception as exc:   # submitit wraps the job's traceback; say which fold and where its log is
            raise RuntimeError(f"fold {fold.index} ({fold.subject}) failed in submitit job {job.job_id}; "
                               f"its log: {run.path / 'parallel' / 'submitit'}\n{exc}") from exc
    print(f"{len(done)} folds done through submitit ({executor.cluster})", file=sys.stderr, flush=True)
    return done
