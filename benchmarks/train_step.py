"""Training throughput of a TSFmicro model: samples/s of forward + backward + AdamW step.

    python benchmarks/train_step.py                       # full model (late, paper preset, 224 px)
    python benchmarks/train_step.py --cpu-batch 4 --gpu-batch 32 --variant late --preset paper

On CPU: fp32 at a small batch (so it ends). On CUDA (when present): fp32 vs AMP (bf16 where
supported, else fp16 with a grad scaler) at the official batch of 32, with peak memory. Ratios are
between settings measured in this same run; absolute numbers depend on the machine and its load.
Notebook 06 ("Where CPU time goes") quotes the output.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsfmicro_lite.models import build_model, count_parameters  # noqa: E402
from tsfmicro_lite.train.trainer import autocast_dtype, optimization_step  # noqa: E402
from tsfmicro_lite.utils.benchmark import device_label, time_fn  # noqa: E402


def step_fn(model, batch: int, size: int, num_classes: int, device: torch.device, amp: str):
    """One optimisation step on a fixed random batch (the data loader is not part of the timing)."""
    onset = torch.randn(batch, 3, size, size, device=device)
    motion = 0.05 * torch.randn(batch, 3, size, size, device=device)
    label = torch.randint(0, num_classes, (batch,), device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=8e-4, weight_decay=0.6)
    dtype = autocast_dtype(device, amp)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    model.train()

    def step():
        optimization_step(model, optimizer, onset, motion, label, device, dtype, scaler)

    return step, (str(dtype).replace("torch.", "") if dtype else "fp32")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="late")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--cpu-batch", type=int, default=2)
    ap.add_argument("--gpu-batch", type=int, default=32)
    ap.add_argument("--min-time", type=float, default=3.0, help="seconds of timed steps per setting")
    ap.add_argument("--threads", default=str(torch.get_num_threads()),
                    help="comma-separated CPU thread counts to compare, e.g. 1,2 (default: torch's)")
    ap.add_argument("--skip-cpu", action="store_true")
    args = ap.parse_args(argv)

    rows = []
    settings = []
    if not args.skip_cpu:
        settings += [(torch.device("cpu"), "off", args.cpu_batch, int(n)) for n in args.threads.split(",")]
    if torch.cuda.is_available():
        settings += [(torch.device("cuda"), "off", args.gpu_batch, None),
                     (torch.device("cuda"), "auto", args.gpu_batch, None)]
    else:
        print("no CUDA GPU visible: GPU fp32 / AMP rows skipped (run this on a GPU machine for them).")
    default_threads = torch.get_num_threads()
    for device, amp, batch, threads in settings:
        torch.set_num_threads(threads or default_threads)
        torch.manual_seed(0)
        model = build_model(args.variant, args.classes, args.preset).to(device)
        size = model.config.img_size
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        step, precision = step_fn(model, batch, size, args.classes, device, amp)
        t = time_fn(step, device=device, warmup=1 if device.type == "cpu" else 3, min_time_s=args.min_time,
                    min_repeats=2)
        rows.append({"device": device_label(device), "precision": precision, "batch": batch, "size": size,
                     "step_s": t.mean_s, "std_s": t.std_s, "n": t.repeats, "samples_s": batch / t.mean_s,
                     "peak_mb": t.peak_mem_mb})
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    params = count_parameters(build_model(args.variant, args.classes, args.preset))
    print(f"\n{args.variant} / {args.preset} preset, {args.classes} classes, {params / 1e6:.2f} M parameters; "
          f"forward + backward + AdamW step, torch {torch.__version__}")
    base = rows[0]["samples_s"] if rows else 1.0
    print(f"{'device':<34} {'prec':<8} {'batch':>5} {'px':>4} {'step (s)':>14} {'samples/s':>10} "
          f"{'vs first':>8} {'peak MB':>8}")
    for r in rows:
        peak = f"{r['peak_mb']:.0f}" if r["peak_mb"] is not None else "n/a"
        print(f"{r['device']:<34} {r['precision']:<8} {r['batch']:>5} {r['size']:>4} "
              f"{r['step_s']:>7.3f}±{r['std_s']:<6.3f} {r['samples_s']:>10.2f} {r['samples_s'] / base:>7.1f}x "
              f"{peak:>8}")
    gpu = [r for r in rows if r["device"].startswith("GPU")]
    if len(gpu) == 2:
        print(f"AMP ({gpu[1]['precision']}) / fp32 on {gpu[0]['device']}: "
              f"{gpu[1]['samples_s'] / gpu[0]['samples_s']:.2f}x samples/s, "
              f"{gpu[1]['peak_mb'] / gpu[0]['peak_mb']:.2f}x peak memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
