"""Streaming a clip through the ``sequence`` variant: recurrent per-frame latency vs re-running the parallel form.

    python benchmarks/sequence_stream.py                          # tiny preset, K = 4..32 frames, CPU
    python benchmarks/sequence_stream.py --preset paper --device cuda --frames 8,16,32

A prediction after every new frame can be had two ways: keep the retention state and run one
recurrent ``model.step`` per frame (O(1) work and memory per frame: one frame through the per-frame
RMT stages, one retention step, the rest of the model), or re-run the parallel form on the whole
prefix each time (frame n costs n frames of encoding: O(n) per frame, O(K²) for the clip). Both give
the same logits (tests/models/test_sequence.py). Rows: per-frame latency of each, at the last frame
and averaged over the clip, and their ratio, all measured in this run with ``utils.benchmark.time_fn``
(eval mode, no grad, batch 1 = one clip arriving live). Read the ratios, not the milliseconds.
"""
from __future__ import annotations

import argparse
import sys

import torch

from tsfmicro_lite.models import build_model, list_presets
from tsfmicro_lite.utils.benchmark import benchmark_args, benchmark_device, device_label, time_fn
from tsfmicro_lite.utils.seed import seed_everything


def measure(model, k: int, device: torch.device, min_time_s: float) -> dict:
    s = model.config.img_size
    onset = torch.randn(1, 3, s, s, device=device)
    motion = torch.randn(1, k, 3, s, s, device=device)
    state0 = model.start(onset)
    _, state_last = model.step(state0, motion[:, 0])
    for n in range(1, k - 1):
        _, state_last = model.step(state_last, motion[:, n])

    def recurrent_last():                  # the k-th frame arrives: one step from the carried state
        model.step(state_last, motion[:, k - 1])

    def parallel_last():                   # the k-th frame arrives: the whole prefix again
        model(onset, motion[:, :k])

    def recurrent_clip():                  # a prediction after every frame, the whole clip
        state = model.start(onset)
        for n in range(k):
            _, state = model.step(state, motion[:, n])

    def parallel_clip():
        for n in range(1, k + 1):
            model(onset, motion[:, :n])

    t = {name: time_fn(fn, device=device, warmup=1, min_time_s=min_time_s, min_repeats=3)
         for name, fn in [("rec_last", recurrent_last), ("par_last", parallel_last),
                          ("rec_clip", recurrent_clip), ("par_clip", parallel_clip)]}
    return {"frames": k, "rec_last_ms": t["rec_last"].mean_s * 1e3, "par_last_ms": t["par_last"].mean_s * 1e3,
            "rec_frame_ms": t["rec_clip"].mean_s * 1e3 / k, "par_frame_ms": t["par_clip"].mean_s * 1e3 / k,
            "state_kb": state_last.memory.numel() * state_last.memory.element_size() / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="tiny", choices=list_presets())
    parser.add_argument("--frames", default="4,8,16,32", help="comma-separated clip lengths K")
    parser.add_argument("--frame-tokens", default="grid", choices=["grid", "pooled"])
    benchmark_args(parser, device="cpu", min_time=0.5, min_time_help="minimum seconds of timed repeats per cell")
    args = parser.parse_args(argv)
    device = benchmark_device(args)
    seed_everything(0)
    model = build_model("sequence", 5, preset=args.preset, frame_tokens=args.frame_tokens).to(device).eval()
    print(f"sequence streaming: preset={args.preset}, frame_tokens={args.frame_tokens}, batch 1, "
          f"{device_label(device)}, torch {torch.__version__}")
    print(f"{'K':>4}{'recurrent ms':>14}{'parallel ms':>13}{'par/rec':>9}   "
          f"{'per frame over the clip: rec':>29}{'par':>9}{'par/rec':>9}{'state KB':>10}")
    with torch.no_grad():
        for k in [int(x) for x in args.frames.split(",") if x]:
            r = measure(model, k, device, args.min_time)
            ratio = r['par_last_ms'] / r['rec_last_ms']
            print(f"{k:>4}{r['rec_last_ms']:>14.2f}{r['par_last_ms']:>13.2f}{ratio:>8.1f}×"
                  f"   {r['rec_frame_ms']:>29.2f}{r['par_frame_ms']:>9.2f}"
                  f"{r['par_frame_ms'] / r['rec_frame_ms']:>8.1f}×{r['state_kb']:>10.1f}")
    print("recurrent = one model.step from the carried state; parallel = model(onset, frames[:k]) on the prefix; "
          "the first columns are the k-th frame's latency, the next ones the mean per frame over a clip of K")
    return 0


if __name__ == "__main__":
    sys.exit(main())
