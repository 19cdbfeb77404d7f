"""Clips per second of detection + alignment + inputs, cold and from cache (issue 5; notebook 01 shows the same).

    python benchmarks/preprocess.py                       # casme2-like SynthME (255 clips), 2 workers, 224 px
    python benchmarks/preprocess.py --synth-profile quick # 44 clips, a few seconds
    python benchmarks/preprocess.py --motion all --keep-candidates --size 112

Generates (or reuses) the synthetic dataset, then prepares it twice into a fresh temporary cache:
cold (every clip: read, dlib HOG detection + 68 landmarks on the onset frame, one warp per frame,
motion inputs, atomic cache write; the dlib model load, ~3 s, is included, timed once) and cached (read only,
timed with ``utils.benchmark.time_fn``). Prints both rates and the ratio cold / cached measured in this
run. Target (issue 5): casme2-like cold under 1 min on 2 cores, cached in a couple of seconds. Shared
machines give noisy times: read the ratio, and rerun before quoting numbers.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from tsfmicro_lite.data import load_dataset
from tsfmicro_lite.preprocess.pipeline import PrepConfig, prepare
from tsfmicro_lite.synth import list_synth_profiles, make_synthme
from tsfmicro_lite.utils.benchmark import benchmark_args, time_fn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synth-profile", "--profile", dest="synth_profile", default="casme2-like",
                        choices=list_synth_profiles(), help="SynthME data size")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--motion", default="diff", choices=["diff", "flow", "strain", "all"])
    parser.add_argument("--keep-candidates", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="worker threads (dlib and OpenCV release the GIL)")
    benchmark_args(parser, device=None, min_time=1.0, min_time_help="minimum seconds of timed cached runs",
                   threads=None)   # CPU only; --workers sets its parallelism
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    root = make_synthme(profile=args.synth_profile)
    df = load_dataset("synthme", root, classes=5)
    print(f"SynthME {args.synth_profile}: {len(df)} clips ({time.perf_counter() - t0:.1f} s to generate or find), "
          f"{os.cpu_count()} CPU cores visible, {args.workers} worker threads, "
          f"load average {os.getloadavg()[0]:.1f} (other processes share the cores)")
    config = PrepConfig(size=args.size, motion=args.motion, keep_candidates=args.keep_candidates)
    with tempfile.TemporaryDirectory(prefix="tsfmicro-bench-") as cache:
        t0 = time.perf_counter()
        cold = prepare(df, config, cache_dir=cache, workers=args.workers)
        cold_s = time.perf_counter() - t0
        assert cold.report["cache"]["computed"] == len(df)
        cached = time_fn(lambda: prepare(df, config, cache_dir=cache, workers=args.workers), warmup=1,
                         min_time_s=args.min_time, min_repeats=3)
        again = prepare(df, config, cache_dir=cache, workers=args.workers)
        assert again.report["cache"]["detector_runs"] == 0
    n = len(df)
    print(cold.summary())
    print(f"cold   : {cold_s:6.2f} s  = {n / cold_s:7.1f} clips/s  (size {args.size}, motion={args.motion}, "
          f"incl. dlib model load)")
    print(f"cached : {cached.mean_s:6.2f} s  = {n / cached.mean_s:7.1f} clips/s  ({cached})")
    print(f"ratio cold / cached: {cold_s / cached.mean_s:.1f}× (same run, same machine)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
