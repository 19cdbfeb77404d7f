"""tsfmicro_lite.models: retention, the RMT temporal branch, the ViT spatial branch, every fusion variant.

``build_model(variant, num_classes, preset="paper", **overrides)`` is the entry point (notebook 05).
"""
from .config import ModelConfig, get_preset, list_presets
from .factory import build_from_config, build_model, count_parameters, list_variants, register_variant

__all__ = ["ModelConfig", "build_model", "build_from_config", "count_parameters", "get_preset", "list_presets",
           "list_variants", "register_variant"]
