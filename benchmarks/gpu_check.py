"""A GPU check a person can run in minutes (at most ~8 on one H100/H200-class GPU); prints all it measures.

    python benchmarks/gpu_check.py                 # on a GPU machine
    python benchmarks/gpu_check.py --cpu-smoke     # anywhere: tiny sizes, checks the script runs (tests do this)

1. The GPU: name, memory, and the peak throughput assumed for it (``PEAK_TFLOPS``, dense, no sparsity).
2. Train-step samples/s of the paper model (late, 224 px) at batch 32: fp32 eager (the faithful path),
   AMP (bf16), AMP + ``torch.compile``; peak memory of each; achieved TFLOP/s from the corrected count
   (13.4 GFLOP forward, ~40 GFLOP forward + backward per sample; ``FlopCounterMode`` says 99 because
   it ignores ``groups`` in convolution backward) against the card's peak for that precision.
3. Data time: building a batch with the per-sample loader vs the device-side pipeline, as a share of a step.
4. A real run: 2 folds x a few epochs of the full recipe (fp32, the official hyper-parameters) on the
   casme2-like SynthME profile (SYNTHETIC data), with both folds at once when 2+ GPUs are visible;
   extrapolated to a full 26-fold LOSO (174 epochs: CASME II 5-class) and to the 6 variants.

Without CUDA it says so and skips the GPU parts (nothing is faked); ``--cpu-smoke`` runs every part on
CPU at toy sizes (micro preset, SynthME quick, 1 epoch) so a test can check the script end to end.
It is a benchmark to read, never a timed test.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train_step import GPU_SETTINGS, data_times, print_rows, time_settings  # noqa: E402

from tsfmicro_lite.train.parallel import ParallelPlan  # noqa: E402
from tsfmicro_lite.train.profiles import get_profile  # noqa: E402
from tsfmicro_lite.train.reproduce import model_input_size, prepare_task, train_variant  # noqa: E402
from tsfmicro_lite.utils.benchmark import benchmark_args  # noqa: E402

GFLOP_FWD_BWD = 40.0      # per sample at 224 px, forward + backward (13.4 forward); see the module docstring
# Dense peak TFLOP/s by precision (vendor datasheets, SXM parts; fp32 = non-tensor-core FP32).
PEAK_TFLOPS = {
    "H200": {"fp32": 67.0, "bf16": 989.0, "fp16": 989.0},
    "H100": {"fp32": 67.0, "bf16": 989.0, "fp16": 989.0},
    "A100": {"fp32": 19.5, "bf16": 312.0, "fp16": 312.0},
    "L40S": {"fp32": 91.6, "bf16": 362.0, "fp16": 362.0},
    "A10": {"fp32": 31.2, "bf16": 125.0, "fp16": 125.0},
    "T4": {"fp32": 8.1, "bf16": 0.0, "fp16": 65.0},
}
OFFICIAL_EPOCHS = 174     # CASME II 5-class, the task the extrapolation is for (spec §5)
VARIANTS = 6


def card_peak(name: str) -> dict[str, float] | None:
    for key, peaks in PEAK_TFLOPS.items():
        if key in name:
            return peaks
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu-smoke", action="store_true", help="every part on CPU at toy sizes (for tests)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per fold of the real run")
    benchmark_args(ap, device=None, min_time=10.0, min_time_help="seconds of timed steps per setting", threads=None)
    ap.add_argument("--no-compile", action="store_true", help="skip the AMP + torch.compile row")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
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
        print(f"1. GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB, {torch.cuda.device_count()} visible; "
              f"assumed dense peak TFLOP/s: {peaks or 'unknown card (add it to PEAK_TFLOPS)'}")
    else:
        print("1. CPU smoke run (--cpu-smoke): toy sizes, the numbers say nothing about a GPU")

    # 2. train-step throughput
    preset, batch = ("micro", 4) if smoke else ("paper", 32)
    step_args = argparse.Namespace(variant="late", preset=preset, classes=5, min_time=0.3 if smoke else args.min_time,
                                   cpu_bf16=True)
    settings = {k: v for k, v in GPU_SETTINGS.items() if not (v.compile and (args.no_compile or smoke))}
    rows = time_settings(settings, step_args, device, batch, rounds=1 if smoke else 3)
    print(f"\n2. train step, late / {preset} preset, batch {batch}:")
    print_rows(rows, None)
    if peaks and not smoke:
        for r in rows:
            achieved = r["samples_s"] * GFLOP_FWD_BWD / 1e3
            peak = peaks.get(r["precision"]) or float("nan")
            print(f"   {r['setting']:<24} {achieved:7.1f} TFLOP/s achieved = {achieved / peak:5.1%} of the "
                  f"{r['precision']} peak ({peak:.0f}); compile/warm-up {r['setup_s']:.1f} s")
    fp32 = rows[0]["step_s"]
    fast = min(r["step_s"] for r in rows)
    print(f"   fastest / fp32 eager: {fp32 / fast:.2f}x samples/s")

    # 3. data time
    data = data_times(batch, rows[0]["size"], device)
    print("\n3. data time per batch:")
    for name, seconds in data.items():
        print(f"   {name:<36} {seconds * 1e3:8.1f} ms = {seconds / (seconds + fp32):5.1%} of data + fp32 step")

    # 4. a real run, extrapolated
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
    print(f"\n4. real run (SYNTHETIC SynthME {profile.synth_profile} data, {len(task.labels)} clips; "
          f"prepare {prep_s:.0f} s): "
          f"2 folds x {epochs} epochs of the {profile.name} recipe in {wall:.1f} s on {gpus_used} device(s); "
          f"{fold_epoch_s:.2f} s per fold-epoch (precision {sorted(set(res.results['precision']))})")
    for n in sorted({1, n_gpus}):
        loso = 26 * OFFICIAL_EPOCHS * fold_epoch_s / n
        print(f"   extrapolated, {n} GPU(s) with one fold per GPU: one 26-fold x {OFFICIAL_EPOCHS}-epoch LOSO "
              f"{loso / 60:.1f} min; {VARIANTS} variants {VARIANTS * loso / 3600:.2f} h "
              "(linear in folds and epochs; several folds per GPU may do better when one fold cannot fill it)")
    print(f"\ngpu_check done in {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
