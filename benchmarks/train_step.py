"""Training throughput of a TSFmicro model: data time and step time per batch, each speed-up against the
faithful fp32 eager path measured in the same run.

    python benchmarks/train_step.py                                  # late / paper preset (224 px), CPU batch 2
    python benchmarks/train_step.py --preset tiny --cpu-batch 8 --allocator compare
    python benchmarks/train_step.py --skip-cpu --gpu-batch 32        # on a GPU machine: fp32 vs AMP vs compile
    python benchmarks/train_step.py --preset tiny --cpu-compile --buffers compare   # does compile pay on CPU?

Step time = forward + cross-entropy + backward + AdamW on a fixed batch (``trainer.optimization_step``,
the one the trainer runs). Settings (each a fresh model with the same seed, timed round-robin so machine
load hits them alike; the reported time is each setting's median over rounds):

* ``fp32 eager``: the faithful path (official precision, default allocator in this process);
* ``+channels_last``, ``+fused AdamW``, ``+both``: exact up to float rounding;
* ``bf16 autocast`` (CPU: opt-in; GPU: ``AMP``), ``AMP + compile`` (GPU, ``--compile``);
* GPU: ``fp32 eager`` runs with PyTorch's defaults, fp32 (IEEE) matmuls and TF32 convolutions (cuDNN's
  default); ``fp32 + TF32 matmul`` adds TF32 for the matmuls too (``allow_tf32``), labelled ``tf32``;
* ``+compile`` (CPU, opt-in ``--cpu-compile``): ``torch.compile`` of the fp32 eager model, the same
  numerics up to float rounding; its compile time (first steps minus the median step) is its own column,
  never part of the step time;
* ``--buffers off``: every row with the layers' precomputed decay masks and rotary tables switched off
  (``use_tables = False``: built through the cache, the model before issue 13); ``--buffers compare``:
  the fp32 eager (and ``+compile``) rows again without them, in the same run. A second compile in one
  process reuses the first one's compiled kernels, so compare compile times across two processes
  (``--buffers on`` / ``off``, each with a fresh ``TORCHINDUCTOR_CACHE_DIR``).

Data time = building one batch: the per-sample ``DataLoader`` path (normalise + joint augmentation per
clip, main process) against the device-side pipeline (``preprocess.batched``), on random uint8 crops.
``--allocator compare`` re-runs the fp32 rows (and, with ``--cpu-bf16``, the bf16 one) in two child processes,
glibc's default malloc against ``MALLOC_MMAP_MAX_=0`` / ``MALLOC_TRIM_THRESHOLD_`` (``utils.allocator``),
because glibc reads them at start-up.
Absolute numbers depend on the machine and its load; the ratios are what the kit keeps or drops a flag by.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsfmicro_lite.models import build_model, count_parameters  # noqa: E402
from tsfmicro_lite.models.retention import set_precomputed_tables  # noqa: E402
from tsfmicro_lite.preprocess.augment import JointAugment  # noqa: E402
from tsfmicro_lite.preprocess.batched import device_batches  # noqa: E402
from tsfmicro_lite.preprocess.dataset import MicroExpressionDataset  # noqa: E402
from tsfmicro_lite.train.trainer import (  # noqa: E402
    TrainConfig,
    autocast_dtype,
    make_loader,
    make_optimizer,
    optimization_step,
    precision_name,
)
from tsfmicro_lite.utils.allocator import ALLOCATOR_ENV  # noqa: E402
from tsfmicro_lite.utils.benchmark import benchmark_args, device_label, time_fn  # noqa: E402


class Setting(NamedTuple):
    amp: str                 # "off" | "bf16" | "fp16"
    channels_last: bool
    fused: bool              # fused AdamW
    compile: bool = False    # torch.compile of the model
    tables: bool = True      # the layers' precomputed masks / rotary tables (buffers); False: the cache only
    tf32: bool = False       # GPU: TF32 tensor cores for fp32 matmuls too (torch.backends.cuda.matmul.allow_tf32)


BASELINE = "fp32 eager"      # the faithful path every ratio is against
CPU_SETTINGS = {
    BASELINE: Setting("off", False, False),
    "+channels_last": Setting("off", True, False),
    "+fused AdamW": Setting("off", False, True),
    "+both": Setting("off", True, True),
    "bf16 autocast": Setting("bf16", True, True),
    "+compile": Setting("off", False, False, compile=True),                          # --cpu-compile
    "fp32 eager, no buffers": Setting("off", False, False, tables=False),            # --buffers compare
    "+compile, no buffers": Setting("off", False, False, compile=True, tables=False),
}
GPU_SETTINGS = {
    BASELINE: Setting("off", False, False),
    "fp32 + TF32 matmul": Setting("off", False, False, tf32=True),
    "+channels_last +fused": Setting("off", True, True),
    "AMP (bf16)": Setting("bf16", True, True),
    "AMP + compile": Setting("bf16", True, True, compile=True),
}


def cpu_settings(args) -> dict[str, Setting]:
    """The CPU rows this run asks for: compile rows with ``--cpu-compile``; ``--buffers off`` switches the
    precomputed tables off in every row, ``compare`` adds the no-buffer twins (bf16 is dropped later
    unless ``--cpu-bf16``)."""
    buffers = getattr(args, "buffers", "on")
    out = {}
    for name, s in CPU_SETTINGS.items():
        if s.compile and not getattr(args, "cpu_compile", False):
            continue
        if not s.tables and buffers != "compare":
            continue
        out[name] = s._replace(tables=False) if buffers == "off" else s
    return out


def tf32_flags() -> dict[str, bool]:
    """PyTorch's TF32 switches now: fp32 matmuls (cuBLAS; default off) and convolutions (cuDNN; default on)."""
    return {"matmul": bool(torch.backends.cuda.matmul.allow_tf32), "cudnn": bool(torch.backends.cudnn.allow_tf32)}


class tf32_matmul:
    """``with tf32_matmul():`` fp32 matmuls on TF32 tensor cores (10-bit mantissa inputs), then as before."""

    def __enter__(self):
        self.saved = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True

    def __exit__(self, *exc):
        torch.backends.cuda.matmul.allow_tf32 = self.saved


def make_step(variant: str, preset: str, classes: int, batch: int, device: torch.device, amp: str,
              channels_last: bool, fused: bool, compile_model: bool = False, tables: bool = True,
              tf32: bool = False):
    """One optimisation step on a fixed random batch, set up as the trainer sets it up (``tf32``: with
    :class:`tf32_matmul` around it; the precision label is then ``tf32``)."""
    torch.manual_seed(0)
    model = build_model(variant, classes, preset).to(device)
    if not tables:
        set_precomputed_tables(model, False)
    size = model.config.img_size
    cfg = TrainConfig(amp=amp, channels_last=channels_last, fused_adamw=fused, device=str(device))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer, _ = make_optimizer(model, cfg)
    runner = torch.compile(model) if compile_model else model
    g = torch.Generator().manual_seed(1)
    onset = torch.randn(batch, 3, size, size, generator=g).to(device)
    motion = (0.05 * torch.randn(batch, 3, size, size, generator=g)).to(device)
    if channels_last:
        onset, motion = (t.contiguous(memory_format=torch.channels_last) for t in (onset, motion))
    label = torch.randint(0, classes, (batch,), generator=g).to(device)
    dtype = autocast_dtype(device, amp)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    model.train()

    def step():
        with tf32_matmul() if tf32 else contextlib.nullcontext():
            return optimization_step(runner, optimizer, onset, motion, label, device, dtype, scaler)

    return step, "tf32" if tf32 and dtype is None else precision_name(dtype), size


def time_settings(settings: dict, args, device: torch.device, batch: int, rounds: int) -> list[dict]:
    """Each setting timed ``rounds`` times, round-robin; the median step time per setting.

    ``setup_s``: building the model plus the warm-up steps (one; two with compile, whose first step
    compiles the forward and the backward); ``compile_s`` (compile rows): the warm-up steps minus as
    many median steps, i.e. the time compiling cost on top of running. ``peak_mb`` (CUDA): the setting's
    own peak (what it holds between steps + what a step adds), not the process peak, which would count
    the other settings' models kept alive for the round-robin.
    """
    steps, warm = {}, {}
    cuda = device.type == "cuda"
    held: dict[str, float] = {}   # CUDA MB a setting keeps between steps (weights, grads, optimizer state, batch)
    for name, setting in settings.items():
        amp, cl, fused, comp, tables, tf32 = Setting(*setting)
        if amp == "bf16" and device.type == "cpu" and not args.cpu_bf16:
            continue
        before = torch.cuda.memory_allocated(device) if cuda else 0
        t0 = time.perf_counter()
        step, precision, size = make_step(args.variant, args.preset, args.classes, batch, device, amp, cl, fused,
                                          comp, tables, tf32)
        t1 = time.perf_counter()
        warmups = 2 if comp else 1
        for _ in range(warmups):   # warm-up (and, with compile, the compilation)
            step()
        if cuda:
            torch.cuda.synchronize(device)
            held[name] = (torch.cuda.memory_allocated(device) - before) / 2**20
        warm[name] = (time.perf_counter() - t1, warmups, comp)
        steps[name] = (step, precision, size, time.perf_counter() - t0)
    times: dict[str, list[float]] = {name: [] for name in steps}
    peaks: dict[str, float | None] = {}
    for _ in range(rounds):
        for name, (step, *_rest) in steps.items():
            # every setting's model stays alive (round-robin), so the process peak counts the others too:
            # a row's peak is what its step adds on top of the memory in use, plus what the setting itself holds
            base = torch.cuda.memory_allocated(device) / 2**20 if cuda else 0.0
            t = time_fn(step, device=device, warmup=0, min_time_s=args.min_time / rounds, min_repeats=1)
            times[name].append(t.mean_s)
            if t.peak_mem_mb is not None:
                own = t.peak_mem_mb - base + held[name]
                peaks[name] = max(peaks.get(name) or 0.0, own)
            else:
                peaks[name] = None
    rows = []
    for name, (step, precision, size, setup_s) in steps.items():
        step_s = statistics.median(times[name])
        warm_s, warmups, comp = warm[name]
        rows.append({"setting": name, "device": device_label(device), "precision": precision, "batch": batch,
                     "size": size, "step_s": step_s, "rounds": len(times[name]),
                     "samples_s": batch / step_s, "peak_mb": peaks[name], "setup_s": setup_s,
                     "compile_s": max(0.0, warm_s - warmups * step_s) if comp else None})
    return rows


def fake_prepared(n: int, size: int, seed: int = 0) -> SimpleNamespace:
    """Random uint8 onset/apex crops with the fields ``MicroExpressionDataset`` reads (no faces needed)."""
    rng = np.random.default_rng(seed)
    onset = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    apex = np.clip(onset.astype(np.int16) + rng.integers(-3, 4, onset.shape), 0, 255).astype(np.uint8)

    class Prepared(SimpleNamespace):
        def __len__(self) -> int:
            return len(self.labels)

    return Prepared(onset=onset, apex=apex, labels=np.arange(n) % 5, classes=list("abcde"),
                    datasets=np.array(["casme2"] * n), flow=None, strain=None, onset_candidates=None, size=size)


def data_times(batch: int, size: int, device: torch.device, batches: int = 3) -> dict[str, float]:
    """Seconds per batch to build ``(onset, motion, label)`` on ``device``: per-sample loader vs device pipeline."""
    prepared = fake_prepared(batch * batches, size)
    ds = MicroExpressionDataset(prepared, None, train=True, augment=JointAugment.for_task("casme2", 5))
    out = {}
    loader = make_loader(ds, batch, shuffle=True, seed=0, device=device)
    t0 = time.perf_counter()
    for b in loader:
        tuple(t.to(device) for t in b)
    if device.type == "cuda":
        torch.cuda.synchronize()
    out["loader (per sample, main process)"] = (time.perf_counter() - t0) / len(loader)
    t0 = time.perf_counter()
    dev = device_batches(ds, batch, shuffle=True, seed=0, device=device)   # includes the one-off upload
    for _ in dev:
        pass
    if device.type == "cuda":
        torch.cuda.synchronize()
    out["device pipeline (batched)"] = (time.perf_counter() - t0) / len(dev)
    return out


def baseline_row(rows: list[dict]) -> dict | None:
    """The faithful fp32 eager row of this run (the first row if none has that name)."""
    return next((r for r in rows if r["setting"] == BASELINE), rows[0] if rows else None)


def print_rows(rows: list[dict], data: dict[str, float] | None) -> None:
    base_row = baseline_row(rows)
    base = base_row["step_s"] if base_row else 1.0
    print(f"{'setting':<24} {'device':<30} {'prec':<5} {'batch':>5} {'px':>4} {'step (s)':>9} {'samples/s':>10} "
          f"{'vs fp32 eager':>13} {'peak MB':>8} {'compile (s)':>11}")
    for r in rows:
        peak = f"{r['peak_mb']:.0f}" if r["peak_mb"] is not None else "n/a"
        comp = f"{r['compile_s']:.1f}" if r.get("compile_s") is not None else ""
        print(f"{r['setting']:<24} {r['device']:<30} {r['precision']:<5} {r['batch']:>5} {r['size']:>4} "
              f"{r['step_s']:>9.3f} {r['samples_s']:>10.2f} {base / r['step_s']:>12.2f}x {peak:>8} {comp:>11}")
    for r in rows:
        if r.get("compile_s") is not None and base > r["step_s"]:
            steps = r["compile_s"] / (base - r["step_s"])
            print(f"{r['setting']}: compiling pays for itself after ~{steps:.0f} steps ({r['compile_s']:.1f} s of "
                  f"compile / {base - r['step_s']:.3f} s saved per step against fp32 eager)")
        elif r.get("compile_s") is not None:
            print(f"{r['setting']}: no faster than fp32 eager per step here, so its {r['compile_s']:.1f} s of "
                  "compile never pay")
    if data:
        step = base if rows else float("nan")
        for name, seconds in data.items():
            print(f"data time per batch, {name:<36} {seconds * 1e3:8.1f} ms  "
                  f"({seconds / (seconds + step):.0%} of data + fp32 step)")


def _allocator_compare(argv: list[str]) -> None:
    """The fp32 rows in two fresh processes: glibc's default malloc, then the kit's settings."""
    results = {}
    for label, extra in (("default glibc malloc", {}), ("MALLOC_MMAP_MAX_=0 + TRIM_THRESHOLD", ALLOCATOR_ENV)):
        env = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENV}
        env.update(extra)
        env["TSFMICRO_ALLOCATOR"] = "tuned" if extra else "default"
        out = subprocess.run([sys.executable, __file__, *argv, "--allocator", "child", "--json"], env=env,
                             capture_output=True, text=True, check=True).stdout
        results[label] = json.loads(out.strip().splitlines()[-1])
    print("\nallocator (fresh process each; same settings):")
    base = None
    for label, rows in results.items():
        for r in rows:
            base = base or r["step_s"]   # the first row: fp32 eager under the default malloc
            print(f"  {label:<38} {r['setting']:<16} step {r['step_s']:.3f} s  ({base / r['step_s']:.2f}x the default "
                  "malloc fp32 eager)")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="late")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--cpu-batch", type=int, default=2)
    ap.add_argument("--gpu-batch", type=int, default=32)
    benchmark_args(ap, device=None, min_time=6.0, min_time_help="seconds of timed steps per setting",
                   threads="list", threads_help="comma-separated CPU thread counts, e.g. 1,2: the fp32 eager row "
                   "at each (default: torch's)")
    ap.add_argument("--rounds", type=int, default=3, help="round-robin passes over the settings")
    ap.add_argument("--cpu-bf16", action="store_true", help="add the opt-in bf16 autocast row on CPU")
    ap.add_argument("--cpu-compile", action="store_true",
                    help="CPU: add the +compile row (torch.compile of the fp32 eager model; compile time apart)")
    ap.add_argument("--buffers", default="on", choices=["on", "off", "compare"],
                    help="CPU: the precomputed mask/rotary buffers on (default) or off in every row, or compare: the "
                    "fp32 eager (and +compile) rows both ways")
    ap.add_argument("--compile", action="store_true", help="GPU: add the AMP + torch.compile row")
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--allocator", default="default", choices=["default", "tuned", "compare", "child"],
                    help="compare: the fp32 rows in two child processes, default malloc vs the kit's settings")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.allocator == "compare":
        child = [a for a in argv if a != "--allocator" and a != "compare"]
        _allocator_compare(child)
        return 0
    if args.allocator == "tuned":
        from tsfmicro_lite.utils.allocator import tune_this_process  # lazy: only this option changes malloc

        print(f"allocator tuned in this process (mallopt): {tune_this_process()}")
    rows, data = [], None
    if not args.skip_cpu:
        cpu = torch.device("cpu")
        is_child = args.allocator == "child"
        child_rows = (BASELINE, "+both", *(("bf16 autocast",) if args.cpu_bf16 else ()))
        settings = {k: CPU_SETTINGS[k] for k in child_rows} if is_child else cpu_settings(args)
        if args.threads and args.allocator != "child":
            default_threads = torch.get_num_threads()
            for n in args.threads:
                torch.set_num_threads(n)
                for r in time_settings({BASELINE: CPU_SETTINGS[BASELINE]}, args, cpu, args.cpu_batch, args.rounds):
                    rows.append({**r, "setting": f"fp32 eager, {n} thread{'s' * (n > 1)}"})
            torch.set_num_threads(default_threads)
        rows += time_settings(settings, args, cpu, args.cpu_batch, args.rounds)
        if args.allocator != "child":
            data = data_times(args.cpu_batch, baseline_row(rows)["size"], cpu)
    if args.json:
        print(json.dumps(rows))
        return 0
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        settings = {k: v for k, v in GPU_SETTINGS.items() if args.compile or not v.compile}
        flags = tf32_flags()
        print(f"GPU {torch.cuda.get_device_name(gpu)}; TF32 for fp32 matmuls {'on' if flags['matmul'] else 'off'}, "
              f"for convolutions {'on' if flags['cudnn'] else 'off'} (PyTorch's defaults: off, on)")
        gpu_rows = time_settings(settings, args, gpu, args.gpu_batch, args.rounds)
        print_rows(gpu_rows, data_times(args.gpu_batch, gpu_rows[0]["size"], gpu))
    else:
        print("no CUDA GPU visible: GPU rows skipped (not measured on a GPU yet; run this on a GPU machine).")
    params = count_parameters(build_model(args.variant, args.classes, args.preset))
    print(f"\n{args.variant} / {args.preset} preset, {args.classes} classes, {params / 1e6:.2f} M parameters; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; medians of {args.rounds} "
          "round-robin rounds")
    if rows:
        if args.buffers == "off":
            print("--buffers off: every CPU row builds its masks and rotary tables through the cache "
                  "(the model before issue 13)")
        print_rows(rows, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
