"""Assignment A3 (notebook 05): the check of a fusion variant the student wires from the paper.

The variants it accepts are read from the model registry (:func:`tsfmicro_lite.models.list_variants`):
every registered variant for which this module has a wiring hint, i.e. the four fusions of Fig. 1.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ...models import build_model, list_variants
from ...utils.names import unknown
from .core import CheckResult, Mismatch, check, compare, fresh_rng, run_cases, to_numpy

__all__ = ["fusion_variant", "FUSION_VARIANTS", "CHECK_PRESET"]

CHECK_PRESET = "tiny"  # the CPU-sized model preset the check builds (a name of models.list_presets())

# What to look at when the logits differ, per variant; the wording of the figure's wiring.
WIRING_HINTS = {
    "late": "T = temporal(motion) is (B, g, g, C); S = spatial(onset) is (B, C, g, g): permute S to channels "
            "last, fuse, then head.",
    "t2s": "Add the temporal tokens (flattened to (B, N, C)) to spatial.embed(onset) BEFORE the ViT blocks, "
           "then spatial.norm, reshape to (B, g, g, C) and apply the head.",
    "s2t": "Upsample the ViT map (B, C, g, g) to (B, C0, S/2, S/2), make it channels last, add it to "
           "temporal.stem(motion), then run temporal.stages and the head.",
    "early": "Sum stem_onset(onset) and stem_motion(motion) (both channels last), run the temporal stages, "
             "then the head.",
}

# The fusion variants of the registry, in its order (``temporal_only`` / ``spatial_only`` fuse nothing).
FUSION_VARIANTS = tuple(v for v in list_variants() if v in WIRING_HINTS)


def _swapped_hw(model: torch.nn.Module, onset: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """The s2t logits with H and W of the upsampled map exchanged (the classic permute mistake)."""
    up = model.upsample(model.spatial(onset)).permute(0, 3, 2, 1)
    x = model.temporal.stem(motion) + up
    for stage in model.temporal.stages:
        x = stage(x)
    return model.head(x)


@check("A3.1")
def fusion_variant(module_cls: Callable, variant: str = "s2t", seed: int | None = None) -> CheckResult:
    """Check a student's fusion module against the package's variant (assignment A3).

    The check builds ``build_model(variant, 3, preset="tiny")`` with random weights, hands its parts
    to the student's class as keywords (``module_cls(**dict(model.named_children()))``: e.g.
    ``temporal``, ``spatial``, ``head`` and ``upsample`` or ``fuse``), and compares the logits of
    both on fresh random inputs in eval mode. For ``t2s`` the figure's wiring is expected (the RMT
    tokens are added *before* the ViT blocks).
    """
    if variant not in FUSION_VARIANTS:
        return CheckResult("fusion_variant", False, 0.0,
                           str(unknown("fusion variant", variant, FUSION_VARIANTS,
                                       hint=f"Set VARIANT to one of them (the check got VARIANT={variant!r}).")))
    rng = fresh_rng(seed)
    hints = WIRING_HINTS[variant]

    def make_case(batch: int) -> Callable[[], None]:
        def case() -> None:
            torch.manual_seed(int(rng.integers(2**31)))
            overrides = {"t2s_position": "before"} if variant == "t2s" else {}
            model = build_model(variant, 3, preset=CHECK_PRESET, **overrides).eval()
            parts = dict(model.named_children())
            student = module_cls(**parts)
            if not isinstance(student, torch.nn.Module):
                raise Mismatch(f"{getattr(module_cls, '__name__', module_cls)} does not build an nn.Module.")
            student.eval()
            S = model.config.img_size
            onset = torch.from_numpy(rng.normal(size=(batch, 3, S, S)).astype(np.float32))
            motion = torch.from_numpy(rng.normal(0, 0.3, size=(batch, 3, S, S)).astype(np.float32))
            with torch.no_grad():
                exp = model(onset, motion)
                got = student(onset, motion)
                swapped = _swapped_hw(model, onset, motion) if variant == "s2t" else None
            what = f"{type(student).__name__}(onset, motion) logits"
            # The logits of a random tiny model are ~1e-2: the tolerance scales with them, so a swapped
            # H/W (a ~20 % change on square maps, same shapes) cannot pass as rounding error.
            atol = 1e-3 * float(exp.abs().max()) + 1e-7
            got_np = to_numpy(got, what)
            if swapped is not None and got_np.shape == tuple(exp.shape) and \
                    np.allclose(got_np, swapped.numpy(), atol=atol, rtol=1e-3):
                raise Mismatch(f"{what}: H and W of the upsampled ViT map are swapped.",
                               "permute(0, 2, 3, 1) turns (B, C, H, W) into (B, H, W, C); permute(0, 3, 2, 1) gives "
                               "(B, W, H, C), the same shape on square maps, so only the values show it.")
            compare(what, got_np, exp.numpy(), atol=atol, rtol=1e-3, hint=hints)
        return case

    return run_cases("fusion_variant", [make_case(2), make_case(3)], module_cls)
