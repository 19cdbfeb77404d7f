"""Names → models: the variant registry and ``build_model`` (timm-style, with helpful errors).

Each variant is a ~5-line builder registered with ``@register_variant``; its docstring names the
panel of the paper's Fig. 1. ``build_model("late", 5)`` is the proposed TSFmicro (notebook 05).
"""
from __future__ import annotations

import warnings
from typing import Callable

from torch import nn

from ..utils.names import unknown
from .config import PRESETS, ModelConfig, get_preset, list_presets  # noqa: F401  (list_presets re-exported)
from .fusion import EarlyFusion, LateFusion, S2TFusion, SpatialOnly, T2SFusion, TemporalOnly, TSFModel
from .sequence import SequenceFusion

_VARIANTS: dict[str, Callable[[ModelConfig], TSFModel]] = {}


def register_variant(name: str) -> Callable:
    """Decorator: make ``fn(config) -> model`` buildable as ``build_model(name, ...)``."""

    def deco(fn: Callable[[ModelConfig], TSFModel]) -> Callable[[ModelConfig], TSFModel]:
        if name in _VARIANTS:
            warnings.warn(f"variant {name!r} re-registered: {_VARIANTS[name].__module__}.{_VARIANTS[name].__name__}"
                          f" replaced by {fn.__module__}.{fn.__name__}", stacklevel=2)
        _VARIANTS[name] = fn
        return fn

    return deco


@register_variant("late")
def late(config: ModelConfig) -> TSFModel:
    """Fig. 1(f) T-S (late): the proposed parallel "where-how" fusion (official ``ts_micro.py``); the default."""
    return LateFusion(config)


@register_variant("early")
def early(config: ModelConfig) -> TSFModel:
    """Fig. 1(c) T-S (early): onset and motion stems summed at 112×112×64, then RMT stages (``ts_fusion.py``)."""
    return EarlyFusion(config)


@register_variant("t2s")
def t2s(config: ModelConfig) -> TSFModel:
    """Fig. 1(d) T to S: RMT tokens added into the ViT, ``t2s_position`` before/after its blocks."""
    return T2SFusion(config)


@register_variant("s2t")
def s2t(config: ModelConfig) -> TSFModel:
    """Fig. 1(e) S to T: ViT map upsampled ×8 and added to the RMT stem output (``TS_micro_before``)."""
    return S2TFusion(config)


@register_variant("temporal_only")
def temporal_only(config: ModelConfig) -> TSFModel:
    """Ablation (no Fig. 1 panel): the RMT temporal branch and the (b) fusion head only."""
    return TemporalOnly(config)


@register_variant("spatial_only")
def spatial_only(config: ModelConfig) -> TSFModel:
    """Ablation (no Fig. 1 panel): the ViT spatial branch and the (b) head; ``spatial_input`` onset|apex."""
    return SpatialOnly(config)


@register_variant("sequence")
def sequence(config: ModelConfig) -> TSFModel:
    """Beyond Fig. 1: retention over a clip's ``num_frames`` frames (per-frame RMT stages), late fusion, (b) head."""
    return SequenceFusion(config)


def list_variants() -> list[str]:
    """Registered variant names (``late`` first: the default).

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """
    return list(_VARIANTS)


def build_model(variant: str = "late", num_classes: int = 5, preset: str = "paper", verbose: bool = False,
                **overrides) -> TSFModel:
    """Build a TSFmicro variant from a preset plus field overrides; ``model.config`` records the result.

    >>> model = build_model("late", 5)                                    # the official model, 12.79 M
    >>> model = build_model("late", 3, preset="tiny", fusion_op="gate")   # CPU-sized, gated fusion
    >>> logits = model(onset, motion)                                     # (B, 3, S, S) each → (B, 3)

    Unknown variants, presets or override keys raise ``ValueError``/``TypeError`` listing the valid
    names and the closest match. Overrides are printed when ``verbose`` (and always logged in
    ``model.overrides``).

    Taught in notebooks/05_fusion_variants.ipynb, section "2. Wiring diagrams, traced from the models".
    """
    if variant not in _VARIANTS:
        raise unknown("variant", variant, list_variants())
    if preset not in PRESETS:
        raise unknown("preset", preset, list_presets())
    config = get_preset(preset).replace(variant=variant, num_classes=num_classes, **overrides).validate()
    if verbose and overrides:
        print(f"build_model({variant!r}, preset={preset!r}) overrides: "
              + ", ".join(f"{k}={v!r}" for k, v in overrides.items()))
    model = _VARIANTS[variant](config)
    model.overrides = dict(overrides)
    return model


def build_from_config(config: ModelConfig | dict) -> TSFModel:
    """Rebuild a model from a saved ``model.config`` (a ``ModelConfig`` or its ``to_dict()``), e.g. a checkpoint."""
    if isinstance(config, dict):
        config = ModelConfig().replace(**config)  # checks the keys and turns JSON lists back into tuples
    config.validate()
    if config.variant not in _VARIANTS:
        raise unknown("variant", config.variant, list_variants())
    return _VARIANTS[config.variant](config)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``.

    Taught in notebooks/03_temporal_branch.ipynb, section "4. The parameter budget".
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
