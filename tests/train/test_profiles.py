"""Training profiles and the official recipe (tsfmicro_lite.train.profiles)."""
from __future__ import annotations

import dataclasses

import pytest

from tsfmicro_lite.models import list_presets
from tsfmicro_lite.synth import list_synth_profiles
from tsfmicro_lite.train.profiles import (
    TrainProfile,
    get_profile,
    list_profiles,
    official_train_config,
    train_config_for,
)


@pytest.mark.parametrize("dataset, classes, epochs, wd, seed", [
    ("casme2", 5, 174, 0.6, 2), ("casme2", 3, 199, 0.7, 112), ("samm", 5, 199, 0.6, 0),
    ("samm", 3, 199, 0.7, 0), ("casme3", 7, 199, 0.6, 2), ("casme3", 4, 199, 0.6, 2)])
def test_official_recipe(dataset, classes, epochs, wd, seed):
    cfg = official_train_config(dataset, classes)
    assert (cfg.epochs, cfg.weight_decay, cfg.seed) == (epochs, wd, seed)
    assert (cfg.lr, cfg.lr_gamma, cfg.lr_decay_epochs, cfg.batch_size) == (8e-4, 0.987, 50, 32)


def test_profiles_name_a_preset_and_a_synth_profile_and_hide_no_model():
    assert list_profiles() == ["quick", "full"]
    for name in list_profiles():
        prof = get_profile(name)
        assert prof.name == name
        assert prof.model_preset in list_presets() and prof.synth_profile in list_synth_profiles()
    # a profile is a training recipe: the model it trains is a named preset, never a hidden override
    assert not any("override" in f.name for f in dataclasses.fields(TrainProfile))
    assert get_profile("quick").model_preset == "micro"


def test_unknown_profile_reads_like_every_unknown_name():
    with pytest.raises(ValueError, match=r"unknown training profile 'quik'\. Did you mean 'quick'\? "
                                         r"Expected one of: quick, full\. quick = CPU minutes"):
        get_profile("quik")


def test_cli_flags_win_over_the_profile():
    cfg = train_config_for(get_profile("quick"), "synthme", 3, epochs=2, lr=None)
    assert (cfg.epochs, cfg.lr, cfg.batch_size) == (2, 3e-3, 16)
    full = train_config_for(get_profile("full"), "casme2", 5)
    assert full == official_train_config("casme2", 5)


@pytest.mark.parametrize("dataset, classes, variant, epochs", [
    ("casme2", 5, "late", 174), ("casme2", 5, "early", 199), ("casme2", 5, "t2s", 199), ("casme2", 5, "s2t", 199),
    ("casme2", 5, "temporal_only", 199), ("casme2", 3, "late", 199), ("samm", 5, "late", 199),
    ("casme3", 7, "late", 199)])
def test_official_epochs_are_those_of_the_script_that_trains_the_variant(dataset, classes, variant, epochs):
    """Spec §5: 174 only in classes/cas2/train_c5.py (late, CASME II 5-class); 199 in every other script."""
    cfg = official_train_config(dataset, classes, variant)
    assert cfg.epochs == epochs
    assert (cfg.weight_decay, cfg.seed) == (official_train_config(dataset, classes).weight_decay,
                                            official_train_config(dataset, classes).seed)
    assert train_config_for(get_profile("full"), dataset, classes, variant=variant).epochs == epochs
    assert train_config_for(get_profile("quick"), dataset, classes, variant=variant).epochs == 10  # its own budget
    with pytest.raises(ValueError, match=r"unknown variant 'latte'"):
        official_train_config(dataset, classes, "latte")
