"""Time and peak memory of the three retention forms, 64 … 16k tokens (issue 6; notebook 02 plots the same).

    python benchmarks/retention.py            # full: lengths 64 … 16384, CPU (or --device cuda)
    python benchmarks/retention.py --quick    # lengths 64 … 1024, short timing loops (~1 min on 2 cores)

Prints one row per length: each form's mean time and peak memory, and each form's time as a
ratio to the parallel form at that length; then the log-log slope of time against length for each
form (1 = linear, 2 = quadratic). Chunkwise should be ~1, parallel should approach 2 once its L²
work dominates. Shared machines give noisy times: read the ratios and slopes, not the milliseconds.
Measured: float32, no grad, batch 1; see ``tsfmicro_lite.models.retention_cost`` for how memory is counted.
"""
from __future__ import annotations

import argparse
import sys

import torch

from tsfmicro_lite.models.retention_cost import (
    FORMS,
    cost_table,
    cpu_threads,
    loglog_slope,
    measure_masa_stages,
    measure_retention_forms,
)
from tsfmicro_lite.utils.benchmark import benchmark_args, benchmark_device, device_label
from tsfmicro_lite.utils.io import atomic_write_text
from tsfmicro_lite.utils.paths import repo_root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="lengths 64 … 1024 and short timing loops")
    parser.add_argument("--max-length", type=int, default=None, help="longest length (default 16384, quick 1024)")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--chunk-size", type=int, default=64)
    benchmark_args(parser, device="auto", min_time=None, min_time_help="seconds of repeats per point (default 0.5, "
                   "quick 0.1)", threads_help="torch CPU threads while measuring (default: torch's own; 1 is "
                   "steadier when busy)")
    parser.add_argument("--skip-masa", action="store_true",
                        help="skip the MaSA section (kit vs official-style forward at the four RMT stage sizes)")
    parser.add_argument("--csv", default=None,
                        help="also write the table here (default build/benchmarks/retention.csv)")
    args = parser.parse_args(argv)

    device = benchmark_device(args)
    max_length = args.max_length or (1024 if args.quick else 16384)
    lengths = [64 * 2**i for i in range(20) if 64 * 2**i <= max_length]
    min_time = args.min_time if args.min_time is not None else (0.1 if args.quick else 0.5)
    with cpu_threads(args.threads):
        label = device_label(device)
    print(f"retention forms on {label}, torch {torch.__version__}, float32, batch 1, "
          f"{args.heads} heads × head_dim {args.head_dim}, chunk_size {args.chunk_size}, lengths {lengths}")
    results = measure_retention_forms(lengths, heads=args.heads, head_dim=args.head_dim, chunk_size=args.chunk_size,
                                      device=device, min_time_s=min_time, threads=args.threads,
                                      progress=lambda s: print("  " + s, flush=True))
    table = cost_table(results)
    print()
    print(table.to_string(float_format=lambda x: f"{x:.3g}"))
    for r in results:
        if r.note:
            print(f"L={r.length} {r.form}: {r.note}")
    print("\nlog-log slope of time vs length (1 = linear, 2 = quadratic):")
    for form in FORMS:
        pts = [(r.length, r.time_ms) for r in results if r.form == form and r.time_ms is not None]
        tail = [p for p in pts if p[0] >= 512] or pts   # short lengths are dominated by per-call overhead
        print(f"  {form:>9}: {loglog_slope(*zip(*pts)):.2f} over all lengths, "
              f"{loglog_slope(*zip(*tail)):.2f} for L >= {tail[0][0]}")
    if not args.skip_masa:
        scale = 2 if args.quick else 1
        print(f"\nMaSA (VisionRetention, official mixer), batch 1, forward, at the RMT stage sizes"
              f"{' halved (--quick)' if scale > 1 else ''}: fused SDPA and written-out softmax "
              "with cached masks vs official-style (written out, masks and rotary rebuilt every forward)")
        measure_masa_stages(scale=scale, device=device, min_time_s=min_time, threads=args.threads,
                            progress=lambda s: print("  " + s, flush=True))
    out = args.csv or str(repo_root() / "build" / "benchmarks" / "retention.csv")
    atomic_write_text(out, table.to_csv())
    print(f"\ntable written to {out} (times are noisy on a shared machine; compare ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
