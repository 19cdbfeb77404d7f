"""Assignment A2 (notebook 02): the checks of retention (decay mask, parallel and recurrent forms).

Compared with :mod:`tsfmicro_lite.models.retention` on fresh float64 tensors. Notebook 02 uses
``retention_recurrent`` as its practice check too (``check.retention_recurrent(...)``), the same
function that grades A2.3.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ...models import retention
from .core import CheckResult, Mismatch, check, compare, fresh_rng, run_cases, to_numpy

__all__ = ["decay_mask", "retention_parallel", "retention_recurrent"]


def _qkv(rng: np.random.Generator, b: int, n: int, d: int, e: int):
    t = lambda *s: torch.from_numpy(rng.normal(0, 1, size=s))         # noqa: E731 - float64 on purpose
    return t(b, n, d), t(b, n, d), t(b, n, e)


def _ref_retention(q, k, v, gamma: float, state=None):
    """The package's multi-head form on one head: (B, N, d) -> (out (B, N, e), state (B, d, e))."""
    ref = retention.retention_parallel
    out, s = ref(q[:, None], k[:, None], v[:, None], [gamma], None if state is None else state[:, None])
    return out[:, 0], s[:, 0]


@check("A2.1")
def decay_mask(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``decay_mask(length, gamma) -> (length, length)`` (assignment A2.1)."""
    ref = retention.decay_mask
    rng = fresh_rng(seed)

    def make_case(length: int, gamma: float) -> Callable[[], None]:
        def case() -> None:
            exp = ref(length, [gamma], dtype=torch.float64)[0].numpy()
            got = to_numpy(fn(length, gamma), f"decay_mask({length}, {gamma:.3f})")
            if got.shape == exp.shape and np.allclose(got, exp.T, atol=1e-9):
                raise Mismatch("your mask is the transpose of the expected one.",
                               "Row n is the query position, column m the key: D[n, m] = gamma**(n - m) "
                               "for m <= n (the past), 0 for the future.")
            compare(f"decay_mask({length}, {gamma:.3f})", got, exp, atol=1e-9, rtol=1e-7,
                    hint="Future positions (m > n) must be exactly 0, and the diagonal 1.")
        return case

    cases = [make_case(int(rng.integers(2, 40)), float(rng.uniform(0.5, 0.99))) for _ in range(4)]
    return run_cases("decay_mask", cases, fn)


def _random_case(rng, min_length: int):
    """A fresh retention case: length n, decay gamma and float64 (q, k, v) of random small shapes."""
    b, n, d, e = (int(x) for x in (rng.integers(1, 4), rng.integers(min_length, 30), rng.integers(2, 9),
                                   rng.integers(2, 9)))
    gamma = float(rng.uniform(0.6, 0.99))
    return n, gamma, _qkv(rng, b, n, d, e)


@check("A2.2")
def retention_parallel(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``retention_parallel(q, k, v, gamma) -> (B, N, e)`` (assignment A2.2).

    q, k: (B, N, d), v: (B, N, e), float64 torch tensors; one head, scalar gamma, no normalisation.
    """
    rng = fresh_rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            n, gamma, (q, k, v) = _random_case(rng, min_length=2)
            exp, _ = _ref_retention(q, k, v, gamma)
            got = fn(q.clone(), k.clone(), v.clone(), gamma)
            if isinstance(got, tuple):
                got = got[0]
            compare(f"retention_parallel(q {tuple(q.shape)}, k, v {tuple(v.shape)}, gamma={gamma:.3f})", got,
                    exp.numpy(), atol=1e-8, rtol=1e-7,
                    hint="out = (q @ k^T * D) @ v with the causal decay mask D; no softmax, no scaling. "
                          "If only the first row is right, check the mask orientation.")
        return case

    return run_cases("retention_parallel", [make_case() for _ in range(4)], fn)


@check("A2.3")
def retention_recurrent(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``retention_recurrent(q, k, v, gamma, state=None) -> (out, state)`` (A2.3).

    Three things are checked on fresh inputs: the output equals the parallel form, the final state
    equals S_N = sum_m gamma^(N-1-m) k_m^T v_m, and running two halves one after the other (the
    second starting from the first's state) equals one run over the whole sequence — which only a
    true recurrence gets right.
    """
    rng = fresh_rng(seed)

    def unpack(got: Any, what: str):
        if not (isinstance(got, tuple) and len(got) == 2):
            raise Mismatch(f"{what} must return a pair (out, state); it returned {type(got).__name__}.",
                           "Return the outputs stacked over time AND the last state S_N.")
        return got

    def make_case() -> Callable[[], None]:
        def case() -> None:
            n, gamma, (q, k, v) = _random_case(rng, min_length=4)
            exp_out, exp_state = _ref_retention(q, k, v, gamma)
            out, state = unpack(fn(q.clone(), k.clone(), v.clone(), gamma), "retention_recurrent")
            compare("retention_recurrent output", out, exp_out.numpy(), atol=1e-8, rtol=1e-7,
                    hint="Per step: S = gamma * S + outer(k_n, v_n), then out_n = q_n @ S.")
            compare("retention_recurrent final state", state, exp_state.numpy(), atol=1e-8, rtol=1e-7,
                    hint="The state is (B, d, e): decay the old state, then add k_n^T v_n.")
            cut = n // 2
            _, s1 = unpack(fn(q[:, :cut].clone(), k[:, :cut].clone(), v[:, :cut].clone(), gamma), "retention_recurrent")
            s1 = torch.as_tensor(to_numpy(s1, "state"))
            out2, _ = unpack(fn(q[:, cut:].clone(), k[:, cut:].clone(), v[:, cut:].clone(), gamma, s1),
                             "retention_recurrent(..., state)")
            compare("retention_recurrent second half, started from the first half's state", out2,
                    exp_out[:, cut:].numpy(), atol=1e-8, rtol=1e-7,
                    hint="When a state is passed in, start the recurrence from it instead of zeros.")
        return case

    return run_cases("retention_recurrent", [make_case() for _ in range(3)], fn)


