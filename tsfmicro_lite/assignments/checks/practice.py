"""Practice checks for the course notebooks' exercises (01, 03, 05, 06): feedback only, never graded.

Same framework as the assignments' checks (fresh random inputs, answers compared with the kit's own
functions, failures explained in words), but not registered for an exercise id: the grader does not
use them. Notebook 02's exercise uses the A2.3 check (``check.retention_recurrent``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ... import metrics
from ...models.retention_2d import manhattan_decay_mask
from .core import CheckResult, Mismatch, compare, fresh_rng, run_cases, to_numpy

__all__ = ["flow_magnitude", "manhattan_decay", "channels_last", "pooled_uf1"]


def flow_magnitude(fn: Callable, seed: int | None = None) -> CheckResult:
    """Notebook 01: ``fn(flow (H, W, 2)) -> (H, W)`` motion magnitude sqrt(u² + v²) in pixels."""
    rng = fresh_rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            h, w = (int(v) for v in rng.integers(8, 40, size=2))
            flow = rng.normal(0, 2, size=(h, w, 2)).astype(np.float32)
            got = to_numpy(fn(flow.copy()), "flow_magnitude(flow)")
            exp = np.linalg.norm(flow, axis=-1)
            if got.shape == (h, w, 1):
                raise Mismatch("flow_magnitude keeps a channel axis.", "Return (H, W): reduce over the last axis.")
            if got.shape == (h, w) and np.allclose(got, exp ** 2, rtol=1e-4, atol=1e-5):
                raise Mismatch("you return u² + v², the squared magnitude.", "Take the square root.")
            compare("flow_magnitude(flow)", got, exp, atol=1e-4, rtol=1e-4,
                    hint="Channel 0 is u (x), channel 1 is v (y): sqrt(u**2 + v**2) per pixel.")
        return case

    return run_cases("flow_magnitude", [make_case() for _ in range(3)], fn)


def manhattan_decay(fn: Callable, seed: int | None = None) -> CheckResult:
    """Notebook 03: ``fn(height, width, gamma) -> (H·W, H·W)`` with gamma ** (|Δr| + |Δc|), raster order."""
    rng = fresh_rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            h, w = (int(v) for v in rng.integers(2, 7, size=2))
            if h == w:
                w += 1                                     # a non-square grid tells rows from columns
            gamma = float(rng.uniform(0.5, 0.95))
            exp = manhattan_decay_mask(h, w, [gamma], dtype=torch.float64)[0].numpy()
            got = to_numpy(fn(h, w, gamma), f"manhattan_decay({h}, {w}, {gamma:.3f})")
            if got.shape == exp.shape:
                swapped = manhattan_decay_mask(w, h, [gamma], dtype=torch.float64)[0].numpy()
                if np.allclose(got, swapped, atol=1e-9) and not np.allclose(got, exp, atol=1e-9):
                    raise Mismatch("your tokens are in column-major order (or H and W are swapped).",
                                   "Raster order: token index = r * W + c.")
            compare(f"manhattan_decay({h}, {w}, {gamma:.3f})", got, exp, atol=1e-9, rtol=1e-7,
                    hint="Distance between tokens (r, c) and (r', c') is |r - r'| + |c - c'|; the diagonal is 1.")
        return case

    return run_cases("manhattan_decay", [make_case() for _ in range(3)], fn)


def channels_last(fn: Callable, seed: int | None = None) -> CheckResult:
    """Notebook 05: ``fn(x (B, C, H, W)) -> (B, H, W, C)``, the layout change between the ViT and the RMT."""
    rng = fresh_rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            b, c, h = (int(v) for v in rng.integers(1, 5, size=3))
            x = torch.from_numpy(rng.normal(size=(b, c + 1, h + 2, h + 3)))
            got = to_numpy(fn(x.clone()), "channels_last(x)")
            exp = x.permute(0, 2, 3, 1).numpy()
            if got.shape == exp.shape[:1] + exp.shape[2:0:-1] + exp.shape[3:]:
                raise Mismatch("H and W are swapped: you return (B, W, H, C).",
                               "permute(0, 2, 3, 1) keeps H before W; permute(0, 3, 2, 1) swaps them.")
            if got.shape == exp.shape and not np.allclose(got, exp):
                raise Mismatch("the shape is right but the values are not: a reshape instead of a permute?",
                               "reshape keeps the memory order; permute moves the axes.")
            compare("channels_last(x)", got, exp, atol=0, rtol=0)
        return case

    return run_cases("channels_last", [make_case() for _ in range(3)], fn)


def pooled_uf1(fn: Callable, seed: int | None = None) -> CheckResult:
    """Notebook 06: ``fn(y_true_per_fold, y_pred_per_fold) -> float``, the pooled (composite) UF1 of LOSO."""
    rng = fresh_rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            folds = int(rng.integers(3, 8))
            sizes = rng.integers(2, 9, size=folds)
            y_true = [rng.integers(0, 3, size=int(n)) for n in sizes]
            y_pred = [np.where(rng.random(len(t)) < 0.6, t, rng.integers(0, 3, size=len(t))) for t in y_true]
            got = float(to_numpy(fn([t.copy() for t in y_true], [p.copy() for p in y_pred]), "pooled_uf1(...)"))
            exp = metrics.pooled_scores(y_true, y_pred)["uf1"]
            mean_of_folds = float(np.mean([metrics.uf1(t, p) for t, p in zip(y_true, y_pred)]))
            if abs(got - exp) > 1e-6:
                hints = ["Concatenate every fold's labels and predictions, then compute UF1 once."]
                if abs(got - mean_of_folds) < 1e-6:
                    hints.insert(0, "You averaged the per-fold UF1s: that is not the pooled score.")
                raise Mismatch(f"on {folds} folds you return {got:.4f}, the pooled UF1 is {exp:.4f}.", *hints)
        return case

    return run_cases("pooled_uf1", [make_case() for _ in range(4)], fn)
