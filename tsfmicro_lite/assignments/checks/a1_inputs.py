"""Assignment A1 (notebook 01): the checks of the model's inputs (apex − onset, optical flow, strain).

Each check compares the student's function with :mod:`tsfmicro_lite.preprocess.inputs` on fresh
random frames (or, for the flow, frames with a known shift) and registers for its exercise id.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from ...preprocess import inputs
from .core import CheckResult, Mismatch, check, compare, fresh_rng, run_cases, to_numpy

__all__ = ["difference_input", "optical_flow", "optical_strain"]


def _smooth_texture(rng: np.random.Generator, size: int, channels: int = 3) -> np.ndarray:
    """A random blob texture (uint8): smooth enough for optical flow to lock on, random every call."""
    noise = rng.random((size, size, channels)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), sigmaX=2.0)
    blurred = (blurred - blurred.min()) / (np.ptp(blurred) + 1e-8)
    return (blurred * 255).astype(np.uint8)


@check("A1.1")
def difference_input(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``difference_input(onset, apex)`` against ``preprocess.inputs.difference``.

    Contract (assignment A1): uint8 (H, W, 3) frames in, float32 (apex − onset) / 255 in [-1, 1] out.
    """
    ref = inputs.difference
    rng = fresh_rng(seed)

    def make_case(h: int, w: int) -> Callable[[], None]:
        def case() -> None:
            onset = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            apex = np.clip(onset.astype(int) + rng.integers(-40, 41, size=onset.shape), 0, 255).astype(np.uint8)
            got = to_numpy(fn(onset.copy(), apex.copy()), "difference_input(onset, apex)")
            exp = ref(onset, apex)
            if got.shape == exp.shape and got.dtype == np.uint8:
                raise Mismatch("difference_input returns uint8: negative differences wrap around to large "
                               "positive values (255 - ...).",
                               "Convert both frames to float32 before subtracting (the official code has "
                               "this uint8 quirk in its frame search; spec §1).")
            if got.shape == exp.shape and np.allclose(got, exp * 255, atol=1e-3):
                raise Mismatch("the values are 255 times too large.", "Scale the difference to [-1, 1]: divide by 255.")
            if got.shape == exp.shape and np.allclose(got, -exp, atol=1e-5):
                raise Mismatch("the sign is flipped: you return onset - apex.", "The model input is apex − onset.")
            compare("difference_input(onset, apex)", got, exp, atol=1e-6, rtol=1e-5)
            if got.dtype != np.float32:
                raise Mismatch(f"values are right but the dtype is {got.dtype}, expected float32.",
                               "Use .astype(np.float32): the model runs in float32 and float64 doubles memory.")
        return case

    return run_cases("difference_input", [make_case(int(rng.integers(16, 64)), int(rng.integers(16, 64)))
                                     for _ in range(4)], fn)


@check("A1.2")
def optical_flow(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``optical_flow(onset, apex) -> (H, W, 2)`` on frames with a known shift.

    Any dense method is accepted (Farneback, DIS, your own): the apex is the onset texture moved by
    a random whole-pixel (dx, dy), so inside the frame the flow must be about (dx, dy) — channel 0 is
    x (columns, to the right), channel 1 is y (rows, down), pointing from onset to apex — within
    0.5 px of the true shift and of the package's Farneback flow on the same frames.
    """
    ref = inputs.optical_flow
    rng = fresh_rng(seed)

    def make_case() -> Callable[[], None]:
        def case() -> None:
            size = 64
            dx, dy = (int(v) for v in rng.integers(-3, 4, size=2))
            if dx == 0 and dy == 0:
                dx = 2
            onset = _smooth_texture(rng, size)
            apex = np.roll(onset, shift=(dy, dx), axis=(0, 1))       # content moves by +dx right, +dy down
            got = to_numpy(fn(onset.copy(), apex.copy()), "optical_flow(onset, apex)")
            if got.shape != (size, size, 2):
                raise Mismatch(f"optical_flow has shape {got.shape}, expected ({size}, {size}, 2) for "
                               f"{size}x{size} frames.", "One (u, v) vector per pixel, channels last.")
            inner = np.s_[12:-12, 12:-12]
            u, v = (float(np.median(got[inner][..., i])) for i in range(2))
            ru, rv = (float(np.median(ref(onset, apex)[inner][..., i])) for i in range(2))
            if abs(u - dx) <= 0.5 and abs(v - dy) <= 0.5 and abs(u - ru) <= 0.5 and abs(v - rv) <= 0.5:
                return
            hints = [f"the frame moved by (dx, dy) = ({dx}, {dy}) pixels; inside the frame your median flow is "
                     f"({u:.2f}, {v:.2f}), the reference's ({ru:.2f}, {rv:.2f})."]
            if abs(u + dx) <= 0.5 and abs(v + dy) <= 0.5:
                hints.append("Your flow points from apex to onset: pass the frames in the order (onset, apex).")
            elif abs(u - dy) <= 0.5 and abs(v - dx) <= 0.5:
                hints.append("x and y are swapped: channel 0 must be the horizontal (column) motion.")
            else:
                hints.append("Compute the flow on the grey frames with a dense method (cv2.calcOpticalFlowFarneback "
                             "or cv2.DISOpticalFlow_create) and return it as float32.")
            raise Mismatch("the flow does not recover a known shift.", *hints)
        return case

    return run_cases("optical_flow", [make_case() for _ in range(3)], fn)


@check("A1.3")
def optical_strain(fn: Callable, seed: int | None = None) -> CheckResult:
    """Check a student's ``optical_strain(flow) -> (H, W, 1)`` against ``preprocess.inputs.optical_strain``.

    Derivatives by central differences (``np.gradient``), magnitude sqrt(exx² + eyy² + 2 exy²).
    """
    ref = inputs.optical_strain
    rng = fresh_rng(seed)

    # Only non-rigid flows: a pure translation has zero strain under any formula built from
    # derivatives, so it would give credit for wrong answers.
    def make_case() -> Callable[[], None]:
        def case() -> None:
            h, w = (int(v) for v in rng.integers(12, 40, size=2))
            flow = cv2.GaussianBlur(rng.normal(0, 3, size=(h, w, 2)).astype(np.float32), (0, 0), 1.5)
            exp = ref(flow)
            got = fn(flow.copy())
            arr = to_numpy(got, "optical_strain(flow)")
            if arr.shape == exp.shape[:2]:
                raise Mismatch(f"optical_strain has shape {arr.shape}, expected {exp.shape}.",
                               "Keep a trailing channel axis: return strain[..., None].")
            compare("optical_strain(flow)", arr, exp, atol=1e-5, rtol=1e-4,
                    hint="Use np.gradient (central differences) for the four derivatives; the shear term "
                          "is exy = (du/dy + dv/dx) / 2 and counts twice in the magnitude.")
        return case

    return run_cases("optical_strain", [make_case() for _ in range(3)], fn)


