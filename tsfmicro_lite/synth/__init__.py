"""tsfmicro_lite.synth: SynthME, the embedded synthetic micro-expression dataset (faces, motion, generator, probe).

``make_synthme`` writes a folder laid out like CASME II's raw release (sheet, frames, ground-truth
landmarks, a ``synthme.json`` manifest that marks it synthetic); ``tsfmicro_lite.data`` then reads it
like any dataset (``load_dataset("synthme")``). This package sits below ``data`` and never imports it:
which emotion is which class is the datasets' business (``data/datasets/``), not the generator's.

- ``faces``: real LFW identities, their stored 68 landmarks, per-subject looks;
- ``motion``: action units → landmark moves → a dense RBF warp, head motion, blinks;
- ``generator``: profiles, planning, rendering, atomic caching, the manifest;
- ``probe``: linear probes showing the class lives in the motion, not in the face.
"""
from __future__ import annotations

from .generator import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    PROFILES,
    SHEET_COLUMNS,
    SHEET_NAME,
    SynthError,
    SynthProfile,
    default_root,
    get_profile,
    is_complete,
    list_synth_profiles,
    load_clip,
    make_synthme,
    manifest_table,
    read_manifest,
)
from .probe import ProbeResult, linear_probe, probe_features

__all__ = ["GENERATOR_VERSION", "MANIFEST_NAME", "PROFILES", "SHEET_COLUMNS", "SHEET_NAME", "SynthError",
           "SynthProfile", "default_root", "get_profile", "is_complete", "list_synth_profiles", "load_clip",
           "make_synthme", "manifest_table", "read_manifest", "ProbeResult", "linear_probe", "probe_features"]
