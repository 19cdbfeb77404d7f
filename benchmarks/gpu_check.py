"""A GPU check a person can run in minutes (at most ~8 on one H100/H200-class GPU); prints all it measures.

    python benchmarks/gpu_check.py                 # on a GPU machine
    python benchmarks/gpu_check.py --cpu-smoke     # anywhere: tiny sizes, checks the script runs (tests do this)

1. The GPU: name, memory, the peak throughput assumed for it (``PEAK_TFLOPS``, dense, no sparsity), and
   the TF32 switches: PyTorch runs fp32 matmuls in full fp32 by default
   (``torch.backends.cuda.matmul.allow_tf32 = False``) and convolutions in TF32 (``cudnn.allow_tf32 = True``).
2. Train-step samples/s of the paper model (late, 224 px) at batch 32: fp32 eager (the faithful path, with
   those defaults), fp32 + TF32 matmuls (labelled ``tf32``; ``--no-tf32`` drops the row), AMP (bf16),
   AMP + ``torch.compile`` (its compile time apart, capped by ``--compile-timeout``); each setting's own peak
   memory; achieved TFLOP/s from the corrected count (13.4 GFLOP forward, ~40 GFLOP forward + backward per
   sample; ``FlopCounterMode`` says 99 because it ignores ``groups`` in convolution backward) against the
   card's peak for that precision.
3. Data time: building a batch with the per-sample loader vs the device-side pipeline, as a share of a step.
4. A real run: 2 folds x a few epochs of the full recipe (fp32, the official hyper-parameters) on the
   casme2-like SynthME profile (SYNTHETIC data), with both folds at once when 2+ GPUs are visible;
   extrapolated to a full 26-fold LOSO (174 epochs: CASME II 5-class) and to the 6 variants.

Without CUDA it says so and skips the GPU parts (nothing is faked); ``--cpu-smoke`` runs every part on
CPU at toy sizes (micro preset, SynthME quick, 1 epoch) so a test can check the script end to end.
Bounded: the whole check keeps to ``--budget`` seconds (default 450, under the 8 minutes promised): the
compile row is skipped (and says so) when its cap no longer fits, a section that fails prints its error
and the next one runs. It is a benchmark to read, never a timed test.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train_step import GPU_SETTINGS, data_times, print_rows, tf32_flags, time_settings  # noqa: E402

from tsfmicro_lite.train.parallel import ParallelPlan  # noqa: E402
from tsfmicro_lite.train.profiles import get_profile  # noqa: E402
from tsfmicro_lite.train.reproduce import model_input_size, prepare_task, train_variant  # noqa: E402
from tsfmicro_lite.utils.benchmark import benchmark_args  # noqa: E402

GFLOP_FWD_BWD = 40.0      # per sample at 224 px, forward + backward (13.4 forward); see the module docstring
# Dense peak TFLOP/s by precision (vendor datasheets, no sparsity; fp32 = non-tensor-core FP32, tf32 = TF32
# tensor cores; None: the card has no such tensor-core path). Matched on the device name as a whole word, the
# longest name first ("H100 PCIe" before "H100", "GH200" is not "H200").
PEAK_TFLOPS: dict[str, dict[str, float | None]] = {
    "H200 NVL": {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "fp16": 835.5},
    "H200": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4},          # SXM
    "GH200": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4},
    "H100 NVL": {"fp32": 60.0, "tf32": 417.5, "bf16": 835.5, "fp16": 835.5},
    "H100 PCIe": {"fp32": 51.2, "tf32": 378.0, "bf16": 756.0, "fp16": 756.0},
    "H100": {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4},          # SXM (HBM3)
    "A100": {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0},
    "L40S": {"fp32": 91.6, "tf32": 183.0, "bf16": 362.0, "fp16": 362.0},
    "L40": {"fp32": 90.5, "tf32": 90.5, "bf16": 181.0, "fp16": 181.0},
    "L4": {"fp32": 30.3, "tf32": 60.0, "bf16": 121.0, "fp16": 121.0},
    "A40": {"fp32": 37.4, "tf32": 74.8, "bf16": 149.7, "fp16": 149.7},
    "A10": {"fp32": 31.2, "tf32": 62.5, "bf16": 125.0, "fp16": 125.0},
    "RTX A6000": {"fp32": 38.7, "tf32": 77.4, "bf16": 154.8, "fp16": 154.8},
    "V100": {"fp32": 15.7, "tf32": None, "bf16": None, "fp16": 125.0},
    "T4": {"fp32": 8.1, "tf32": None, "bf16": None, "fp16": 65.0},
}
OFFICIAL_EPOCHS = 174     # CASME II 5-class, the task the extrapolation is for (spec §5)
VARIANTS = 6
SECTION4_RESERVE_S = 150.0   # kept for the real run (data preparation + 2 folds) when deciding on the compile row


class SectionTimeout(Exception):
    """A capped section ran past its limit."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`SectionTimeout` in this (main) thread after ``seconds``; a no-op where SIGALRM is missing."""
    if seconds is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise SectionTimeout(f"over its {seconds:.0f} s cap")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def card_peak(name: str) -> dict[str, float | None] | None:
    """The card's dense peaks (``PEAK_TFLOPS``) from a device name such as ``NVIDIA H100 80GB HBM3``, or None."""
    for key in sorted(PEAK_TFLOPS, key=len, reverse=True):
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", name):
            return PEAK_TFLOPS[key]
    return None


def flops_line(row: dict, peaks: dict[str, float | None]) -> str:
    """Achieved TFLOP/s of a train-step row (corrected count) and its share of the card's peak."""
    achieved = row["samples_s"] * GFLOP_FWD_BWD / 1e3
    peak = peaks.get(row["precision"])
    share = f"{achieved / peak:5.1%} of the {row['precision']} peak ({peak:.0f})" if peak else \
        f"no {row['precision']} peak known for this card"
    note = " (convolutions in TF32: cuDNN's default)" if row["precision"] == "fp32" and tf32_flags()["cudnn"] else ""
    return f"   {row['setting']:<24} {achieved:7.1f} TFLOP/s achieved = {share}{note}; setup {row['setup_s']:.1f} s"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu-smoke", action="store_true", help="every part on CPU at toy sizes (for tests)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per fold of the real run")
    benchmark_args(ap, device=None, min_time=10.0, min_time_help="seconds of timed steps per setting", threads=None)
    ap.add_argument("--no-compile", action="store_true", help="skip the AMP + torch.compile row")
    ap.add_argument("--no-tf32", action="store_true", help="skip the fp32 + TF32 matmul row")
    ap.add_argument("--budget", type=float, default=450.0, help="seconds the whole check keeps to (default 450)")
    ap.add_argument("--compile-timeout", type=float, default=240.0,
                    help="cap in seconds on compiling + timing the AMP + compile row (default 240)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    def left() -> float:
        return args.budget - (time.perf_counter() - t_start)
    smoke = args.cpu_smoke
    cuda = torch.cuda.is_available() and not smoke
    print(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")
    if not cuda and not smoke:
        print("no CUDA GPU visible to this PyTorch: the GPU parts are skipped (nothing measured; "
              "the kit's GPU figures stay 'not measured on a GPU yet'). Run with --cpu-smoke to check the script.")
        return 0
    device = torch.device("cuda" if cuda else "cpu")
    peaks = None
    if cuda:
        props = torch.cuda.get_device_properties(0)
        peaks = card_peak(props.name)
        flags = tf32_flags()
        print(f"1. GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB, {torch.cuda.device_count()} visible; "
              f"assumed dense peak TFLOP/s: {peaks or 'unknown card (add it to PEAK_TFLOPS)'}")
        print(f"   TF32: fp32 matmuls {'on' if flags['matmul'] else 'off'} (torch.backends.cuda.matmul.allow_tf32, "
              f"PyTorch's default off), convolutions {'on' if flags['cudnn'] else 'off'} "
              "(torch.backends.cudnn.allow_tf32, default on); 'fp32 eager' runs with these, the "
              "'fp32 + TF32 matmul' row turns TF32 on for the matmuls too (faster, not the official fp32)")
    else:
        print("1. CPU smoke run (--cpu-smoke): toy sizes, the numbers say nothing about a GPU")

    # 2. train-step throughput
    preset, batch = ("micro", 4) if smoke else ("paper", 32)
    step_args = argparse.Namespace(variant="late", preset=preset, classes=5, min_time=0.3 if smoke else args.min_time,
                                   cpu_bf16=True)
    eager = {k: v for k, v in GPU_SETTINGS.items() if not v.compile and not (v.tf32 and (args.no_tf32 or smoke))}
    rows = time_settings(eager, step_args, device, batch, rounds=1 if smoke else 3)
    compiled = {k: v for k, v in GPU_SETTINGS.items() if v.compile}
    if compiled and not (args.no_compile or smoke):
        cap = min(args.compile_timeout, left() - SECTION4_RESERVE_S)
        if cap < 30:
            print(f"\n   AMP + compile skipped: {left():.0f} s of the {args.budget:.0f} s budget left, "
                  f"{SECTION4_RESERVE_S:.0f} s of it kept for the real run")
        else:
            try:
                with time_limit(cap):
                    rows += time_settings(compiled, step_args, device, batch, rounds=3)
            except SectionTimeout as exc:
                print(f"\n   AMP + compile skipped: compiling + timing went {exc} (--compile-timeout); "
                      "the eager rows stand")
            except Exception as exc:   # triton / inductor missing or failing: say so, keep the other rows
                print(f"\n   AMP + compile failed ({type(exc).__name__}: {str(exc)[:300]}); the eager rows stand")
            finally:
                torch._dynamo.reset()
    print(f"\n2. train step, late / {preset} preset, batch {batch}:")
    print_rows(rows, None)
    if peaks and not smoke:
        for r in rows:
            print(flops_line(r, peaks))
    fp32 = rows[0]["step_s"]
    fast = min(r["step_s"] for r in rows)
    print(f"   fastest / fp32 eager: {fp32 / fast:.2f}x samples/s")

    # 3. data time
    try:
        data = data_times(batch, rows[0]["size"], device)
        print("\n3. data time per batch:")
        for name, seconds in data.items():
            print(f"   {name:<36} {seconds * 1e3:8.1f} ms = {seconds / (seconds + fp32):5.1%} of data + fp32 step")
    except Exception as exc:
        print(f"\n3. data time failed ({type(exc).__name__}: {exc})")
    if cuda:
        torch.cuda.empty_cache()   # the step benchmarks' cached blocks: the real run's fold on GPU 0 gets them

    # 4. a real run, extrapolated
    if left() < 60 and not smoke:
        print(f"\n4. real run skipped: {left():.0f} s of the {args.budget:.0f} s budget left")
    else:
        try:
            real_run(args, smoke, cuda, device)
        except Exception as exc:   # e.g. dlib missing on this machine: the measured sections above stand
            print(f"\n4. real run failed ({type(exc).__name__}: {str(exc)[:500]})")
    print(f"\ngpu_check done in {time.perf_counter() - t_start:.0f} s")
    return 0


def real_run(args, smoke: bool, cuda: bool, device: torch.device) -> None:
    """2 folds x a few epochs of the full recipe on SynthME casme2-like, extrapolated to a full LOSO."""
    profile = get_profile("quick" if smoke else "full")
    epochs = 1 if smoke else args.epochs
    t0 = time.perf_counter()
    task = prepare_task("synthme", classes=5, size=model_input_size(profile), profile=profile)
    prep_s = time.perf_counter() - t0
    n_gpus = torch.cuda.device_count() if cuda else 1
    plan = ParallelPlan(parallel=min(2, n_gpus)) if n_gpus > 1 else 1
    t0 = time.perf_counter()
    res = train_variant(task, "late", dataset="synthme", classes=5, profile=profile, max_folds=2, epochs=epochs,
                        device=str(device), verbose=True, parallel=plan)
    wall = time.perf_counter() - t0
    fold_epoch_s = sum(h.wall_s for h in res.histories.values()) / (2 * epochs)
    gpus_used = min(2, n_gpus)
    pipelines = sorted({h.provenance.get("input_pipeline", "?") for h in res.histories.values()})
    print(f"\n4. real run (SYNTHETIC SynthME {profile.synth_profile} data, {len(task.labels)} clips; "
          f"prepare {prep_s:.0f} s): "
          f"2 folds x {epochs} epochs of the {profile.name} recipe in {wall:.1f} s on {gpus_used} device(s); "
          f"{fold_epoch_s:.2f} s per fold-epoch (precision {sorted(set(res.results['precision']))}, "
          f"input pipeline {'+'.join(pipelines)})")
    for n in sorted({1, n_gpus}):
        loso = 26 * OFFICIAL_EPOCHS * fold_epoch_s / n
        print(f"   extrapolated, {n} GPU(s) with one fold per GPU: one 26-fold x {OFFICIAL_EPOCHS}-epoch LOSO "
              f"{loso / 60:.1f} min; {VARIANTS} variants {VARIANTS * loso / 3600:.2f} h "
              "(linear in folds and epochs; several folds per GPU may do better when one fold cannot fill it)")


if __name__ == "__main__":
    sys.exit(main())
