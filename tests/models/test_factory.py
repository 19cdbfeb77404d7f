"""The variant registry and ``build_model`` (tsfmicro_lite.models.factory): names, errors, overrides, rebuilds."""
from __future__ import annotations

import json

import pytest

from tsfmicro_lite.models import build_from_config, build_model, list_variants
from tsfmicro_lite.utils.names import UnknownNameError

# The one place the expected variant set is written out: the paper's Fig. 1 (c)-(f) and two ablations.
FIG1_AND_ABLATIONS = ["late", "early", "t2s", "s2t", "temporal_only", "spatial_only"]


def test_registry_lists_every_variant_default_first():
    assert list_variants() == FIG1_AND_ABLATIONS + ["sequence"]  # + retention over a clip's frames (issue 18)


def test_unknown_variant_and_preset_list_valid_ones_and_closest():
    with pytest.raises(ValueError, match=r"unknown variant 'lat'\. Did you mean 'late'\?.*s2t"):
        build_model("lat", 3)
    with pytest.raises(ValueError, match=r"unknown preset 'tiney'\. Did you mean 'tiny'\?"):
        build_model("late", 3, preset="tiney")
    with pytest.raises(UnknownNameError, match=r"unknown variant 'sequencer'"):
        build_from_config({"variant": "sequencer"})


def test_overrides_are_printed_and_recorded(capsys):
    model = build_model("late", 3, preset="tiny", verbose=True, fusion_op="gate")
    assert "fusion_op='gate'" in capsys.readouterr().out
    assert model.config.fusion_op == "gate" and model.config.variant == "late" and model.overrides == {
        "fusion_op": "gate"}


def test_rebuild_from_saved_config():
    model = build_model("s2t", 4, preset="tiny", fusion_op="gate")
    saved = json.loads(json.dumps(model.config.to_dict()))  # as a checkpoint / results file stores it: lists
    clone = build_from_config(saved)
    assert clone.config == model.config
    clone.load_state_dict(model.state_dict())  # same architecture, key for key
    with pytest.raises(TypeError, match="unknown ModelConfig field 'fusion'"):
        build_from_config({**saved, "fusion": "add"})
