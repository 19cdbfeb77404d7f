"""What the three retention forms cost: time and peak memory against length (notebook 02 §3, benchmarks/retention.py).

Theory: parallel is O(L²) in time and memory (the L×L score matrix and decay mask); recurrent is
O(L) time with O(1) extra memory but one small step per token (slow in Python); chunkwise is
O(L·C) time and O(C²) memory for chunk size C, i.e. linear in L with big, parallel steps.

Peak memory on CPU is measured by watching every tensor the call allocates (a
``TorchDispatchMode`` that adds up live storages; deterministic, unlike process RSS); on CUDA it is
``torch.cuda.max_memory_allocated``. The cached decay mask a form keeps between calls (h·L² for
parallel, h·C² for chunkwise) is added, because the form cannot run without it.
"""
from __future__ import annotations

import contextlib
import math
import weakref
from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from tsfmicro_lite.models import retention_2d, retention_forms
from tsfmicro_lite.models.retention_2d import VisionRetention
from tsfmicro_lite.models.retention_forms import (
    MASK_CACHE_LIMIT_BYTES,
    retention_chunkwise,
    retention_parallel,
    retention_recurrent,
    retnet_gammas,
)
from tsfmicro_lite.utils.benchmark import time_fn

FORMS = ("parallel", "recurrent", "chunkwise")


class _TensorMemoryWatcher(TorchDispatchMode):
    """Adds up the bytes of storages created by ops while active; tracks the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.current = self.peak = 0
        self._refs: dict[int, list[int]] = {}   # storage pointer → [live tensor count, nbytes]

    def _release(self, key: int) -> None:
        entry = self._refs.get(key)
        if entry is not None:
            entry[0] -= 1
            if entry[0] == 0:
                self.current -= entry[1]
                del self._refs[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.device.type == "cpu":
                storage = t.untyped_storage()
                key = storage.data_ptr()
                if key == 0:
                    continue
                if key not in self._refs:
                    self._refs[key] = [0, storage.nbytes()]
                    self.current += storage.nbytes()
                    self.peak = max(self.peak, self.current)
                self._refs[key][0] += 1
                weakref.finalize(t, self._release, key)
        return out


def peak_memory_bytes(fn: Callable[[], object], device: torch.device | str = "cpu") -> int:
    """Peak bytes of tensors allocated while ``fn()`` runs (inputs already allocated do not count)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    watcher = _TensorMemoryWatcher()
    with watcher:
        result = fn()
    del result
    return watcher.peak


@dataclass
class FormCost:
    form: str
    length: int
    time_ms: float | None
    std_ms: float | None
    peak_mb: float | None
    note: str = ""


def parallel_bytes_estimate(length: int, heads: int, itemsize: int = 4, batch: int = 1) -> int:
    """Rough peak of the parallel form: the cached mask plus scores and masked scores, each h·L²."""
    return (1 + 2 * batch) * heads * length * length * itemsize


def available_memory_bytes(device: torch.device | str = "cpu") -> int:
    """Free memory now: ``MemAvailable`` from /proc/meminfo on CPU (8 GB if unreadable), free CUDA memory on GPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


@contextlib.contextmanager
def cpu_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)`` (None: unchanged), restoring the old value after."""
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def measure_retention_forms(lengths: Iterable[int], *, heads: int = 4, head_dim: int = 32, batch: int = 1,
                            chunk_size: int = 64, device: torch.device | str = "cpu", min_time_s: float = 0.5,
                            memory_fraction: float = 0.4, forms: Iterable[str] = FORMS, threads: int | None = None,
                            progress: Callable[[str], None] | None = None) -> list[FormCost]:
    """Time (``utils.benchmark.time_fn``) and peak memory of each form at each length, float32, no grad.

    The parallel form is skipped, with the reason in ``note``, where its L² tensors would need more
    than ``memory_fraction`` of the memory available now. ``threads`` sets torch's CPU threads for
    the measurement only: on a busy shared machine 1 thread is far steadier for the recurrent form's
    tiny steps (idle OpenMP workers wait on descheduled ones), at some cost to the parallel form.
    """
    with cpu_threads(threads):
        return _measure(list(lengths), heads, head_dim, batch, chunk_size, torch.device(device), min_time_s,
                        memory_fraction, tuple(forms), progress)


def _measure(lengths, heads, head_dim, batch, chunk_size, device, min_time_s, memory_fraction, forms,
             progress) -> list[FormCost]:
    gammas = retnet_gammas(heads)
    budget = memory_fraction * available_memory_bytes(device)
    results: list[FormCost] = []
    for n in lengths:
        g = torch.Generator().manual_seed(n)
        q, k, v = (torch.randn(batch, heads, n, head_dim, generator=g).to(device) for _ in range(3))
        calls = {
            "parallel": lambda: retention_parallel(q, k, v, gammas),
            "recurrent": lambda: retention_recurrent(q, k, v, gammas),
            "chunkwise": lambda: retention_chunkwise(q, k, v, gammas, chunk_size=chunk_size),
        }
        for form in forms:
            if form == "parallel" and parallel_bytes_estimate(n, heads, batch=batch) > budget:
                need = parallel_bytes_estimate(n, heads, batch=batch) / 2**30
                free = budget / memory_fraction / 2**30
                results.append(FormCost(form, n, None, None, None,
                                        f"skipped: needs ~{need:.1f} GiB (h·L² mask + scores), over "
                                        f"{memory_fraction:.0%} of the {free:.1f} GiB free"))
                continue
            with torch.no_grad():
                timing = time_fn(calls[form], device=device, warmup=1, min_time_s=min_time_s, min_repeats=2)
                peak = peak_memory_bytes(calls[form], device)
            held = {"parallel": heads * n * n, "chunkwise": heads * min(chunk_size, n) ** 2}.get(form, 0) * 4
            held = held if held <= MASK_CACHE_LIMIT_BYTES else 0  # an uncached mask is built inside the call
            results.append(FormCost(form, n, timing.mean_s * 1e3, timing.std_s * 1e3, (peak + held) / 2**20))
            if progress:
                progress(f"{form:>9} L={n:>6}: {timing}, peak {(peak + held) / 2**20:.1f} MB")
    return results


def loglog_slope(lengths: Iterable[float], values: Iterable[float]) -> float:
    """Least-squares slope of log(value) against log(length): 1 = linear, 2 = quadratic growth."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(lengths, values) if y is not None and y > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def cost_table(results: list[FormCost]):
    """One row per length: time and peak memory of each form and each form's time ratio to parallel."""
    import pandas as pd  # lazy: only this table needs pandas; `import tsfmicro_lite.models` stays light

    df = pd.DataFrame([asdict(r) for r in results])
    wide = df.pivot(index="length", columns="form", values=["time_ms", "peak_mb"])
    table = pd.DataFrame(index=wide.index)
    forms = [f for f in FORMS if f in set(df["form"])]
    for form in forms:
        table[f"{form} ms"] = wide["time_ms"][form]
    for form in forms:
        table[f"{form} MB"] = wide["peak_mb"][form]
    if "parallel" in forms:
        for form in forms:
            if form != "parallel":
                table[f"{form}/parallel time"] = wide["time_ms"][form] / wide["time_ms"]["parallel"]
    return table


#: the four RMT stages of the official temporal branch at 224 px (spec §2): (side, dim, decomposed, heads_range)
RMT_STAGES = ((112, 64, True, 4.0), (56, 128, True, 4.0), (28, 256, False, 6.0), (14, 512, False, 6.0))


def measure_masa_stages(*, batch: int = 1, stages=RMT_STAGES, scale: int = 1, device: torch.device | str = "cpu",
                        min_time_s: float = 0.5, threads: int | None = None,
                        progress: Callable[[str], None] | None = None) -> list[dict]:
    """Forward time of one ``VisionRetention(mixer="masa")`` per RMT stage, three ways, same weights and input.

    ``fused``: SDPA with cached masks; ``written``: the written-out softmax with cached masks;
    ``official_style``: written out, with masks and rotary tables rebuilt on every forward (as the
    official code does). ``scale`` divides the side (2 → 56/28/14/7) for a quick run. Outputs are
    checked equal (``max_abs_diff``).
    """
    device = torch.device(device)
    rows = []
    with cpu_threads(threads), torch.no_grad():
        for side, dim, decomposed, heads_range in stages:
            side = max(2, side // scale)
            layer = VisionRetention(dim, 2, decomposed=decomposed, heads_range=heads_range).to(device).eval()
            x = torch.randn(batch, side, side, dim, device=device)

            def run(fused: bool, rebuild: bool = False):
                if rebuild:
                    retention_2d._manhattan_cached.cache_clear()
                    retention_forms._rotary_cached.cache_clear()
                layer.use_sdpa = fused
                return layer(x)
            calls = {"fused": lambda: run(True), "written": lambda: run(False),
                     "official_style": lambda: run(False, rebuild=True)}
            diff = max((calls[name]() - calls["official_style"]()).abs().max().item() for name in ("fused", "written"))
            t = {name: time_fn(fn, device=device, min_time_s=min_time_s, min_repeats=2) for name, fn in calls.items()}
            layer.use_sdpa = None
            row = dict(stage=f"{side}x{side}x{dim} {'decomposed' if decomposed else 'full'}",
                       **{f"{name}_ms": tm.mean_s * 1e3 for name, tm in t.items()}, max_abs_diff=diff)
            base = t["official_style"].mean_s
            row.update(fused_ratio=t["fused"].mean_s / base, written_ratio=t["written"].mean_s / base)
            rows.append(row)
            if progress:
                progress(f"{row['stage']}: fused SDPA {t['fused']} | written-out {t['written']} | official-style "
                         f"{t['official_style']} | time / official-style: fused {row['fused_ratio']:.2f}×, "
                         f"written-out {row['written_ratio']:.2f}× (outputs differ by {diff:.1e})")
    return rows


__all__ = ["FORMS", "RMT_STAGES", "measure_masa_stages", "FormCost", "measure_retention_forms", "peak_memory_bytes",
           "loglog_slope", "cost_table", "parallel_bytes_estimate", "available_memory_bytes", "cpu_threads"]
