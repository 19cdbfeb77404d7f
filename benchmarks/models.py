"""Forward+backward throughput and peak memory of every fusion variant, with ratios to `late` (issue 7).

    python benchmarks/models.py                                   # paper preset, batch 32, 224 px
                                                                  # (GPU; ~1 min/variant on CPU)
    python benchmarks/models.py --preset tiny --batch-size 8      # finishes in seconds on a 2-core CPU
    python benchmarks/models.py --device cuda                     # fp32 and AMP (bf16) columns on a GPU

One training step = forward, cross-entropy, backward (no optimiser step), in train mode. Time with
``utils.benchmark.time_fn`` (warm-up, synchronise, repeat to a minimum time); peak memory with
``retention_cost.peak_memory_bytes`` (tensor storages on CPU, ``max_memory_allocated`` on CUDA),
inputs and weights excluded. Ratios are each variant's time and memory over `late` measured in the
same run. Shared machines give noisy times: read the ratios, not the milliseconds.
"""
from __future__ import annotations

import argparse
import contextlib
import sys

import torch
import torch.nn.functional as F

from tsfmicro_lite.models import build_model, count_parameters, list_presets, list_variants
from tsfmicro_lite.models.retention_cost import peak_memory_bytes
from tsfmicro_lite.utils.benchmark import benchmark_args, benchmark_device, device_label, time_fn
from tsfmicro_lite.utils.seed import seed_everything


def step_fn(model, onset, motion, labels, amp: bool):
    def step():
        model.zero_grad(set_to_none=True)
        ctx = torch.autocast(onset.device.type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()
        with ctx:
            loss = F.cross_entropy(model(onset, motion), labels)
        loss.backward()
    return step


def measure(variant: str, preset: str, batch_size: int, device: torch.device, amp: bool, min_time_s: float,
            **overrides) -> dict:
    seed_everything(0)
    model = build_model(variant, 5, preset=preset, **overrides).to(device).train()
    s = model.config.img_size
    onset = torch.randn(batch_size, 3, s, s, device=device)
    motion = torch.randn(batch_size, model.config.motion_channels, s, s, device=device)
    labels = torch.arange(batch_size, device=device) % 5
    step = step_fn(model, onset, motion, labels, amp)
    timing = time_fn(step, device=device, warmup=1, min_time_s=min_time_s, min_repeats=2)
    peak = peak_memory_bytes(step, device)
    return {"variant": variant, "params": count_parameters(model), "ms": timing.mean_s * 1e3,
            "std_ms": timing.std_s * 1e3, "samples_s": batch_size / timing.mean_s, "peak_mb": peak / 2**20}


def print_table(rows: list[dict], title: str) -> None:
    base = next((r for r in rows if r["variant"] == "late"), rows[0])
    print(f"\n{title}")
    print(f"{'variant':<22}{'params':>11}{'ms/step':>12}{'± std':>9}{'samples/s':>11}{'peak MB':>10}"
          f"{'time/late':>11}{'mem/late':>10}")
    for r in rows:
        print(f"{r['variant']:<22}{r['params']:>11,}{r['ms']:>12.1f}{r['std_ms']:>9.1f}{r['samples_s']:>11.2f}"
              f"{r['peak_mb']:>10.0f}{r['ms'] / base['ms']:>10.2f}×{r['peak_mb'] / base['peak_mb']:>9.2f}×")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper", choices=list_presets())
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--variants", default=",".join(list_variants()),
                        help="comma-separated; add late:gate etc. for fusion ops")
    benchmark_args(parser, device="auto", min_time=1.0)
    args = parser.parse_args(argv)
    device = benchmark_device(args)
    names = [v for v in args.variants.split(",") if v]
    modes = [False, True] if device.type == "cuda" else [False]
    print(f"models benchmark: preset={args.preset}, batch {args.batch_size}, {device_label(device)}, "
          f"torch {torch.__version__}; one step = forward + cross-entropy + backward, train mode")
    if device.type != "cuda":
        print("AMP columns skipped: no CUDA GPU here (bf16 autocast on CPU is not what the GPU runs).")
    for amp in modes:
        rows = []
        for name in names:
            variant, _, op = name.partition(":")
            row = measure(variant, args.preset, args.batch_size, device, amp, args.min_time,
                          **({"fusion_op": op} if op else {}))
            row["variant"] = name
            rows.append(row)
            print(f"  measured {name}: {row['ms']:.1f} ms", file=sys.stderr, flush=True)
        print_table(rows, f"{'AMP bf16' if amp else 'fp32'} — {device_label(device)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
