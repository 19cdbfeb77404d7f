"""The shipped SynthME checkpoints (``tsfmicro_lite/checkpoints/``) and checkpoint-or-train (``train/pretrained.py``).

If a test here fails after a change to the quick profile, the models, the preprocessing or the SynthME
generator, the checkpoints no longer match the kit: re-make them with ``python tools/make_checkpoints.py``.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from tsfmicro_lite.models import build_model
from tsfmicro_lite.train.checkpoints import RunFolder
from tsfmicro_lite.train.loso import SPEED_ONLY_FIELDS, data_fingerprint, fold_seed
from tsfmicro_lite.train.pretrained import (
    checkpoints_dir,
    file_sha256,
    install_checkpoint,
    load_or_train,
    loso_checkpoint_name,
    match_loso,
    read_manifest,
)
from tsfmicro_lite.train.profiles import get_profile, train_config_for
from tsfmicro_lite.train.reproduce import model_input_size, prepare_task
from tsfmicro_lite.train.results import kit_version
from tsfmicro_lite.train.splits import loso_folds
from tsfmicro_lite.train.trainer import FoldHistory, make_loader, predict, train_fold

REMAKE = "re-make the checkpoints: python tools/make_checkpoints.py"
MANIFEST = read_manifest()
LOSO = {k: v for k, v in MANIFEST.items() if v["kind"] == "loso"}


def test_the_quick_profile_of_every_variant_and_one_larger_late_model_ship():
    quick = get_profile("quick")
    fig1 = ("late", "early", "t2s", "s2t", "temporal_only", "spatial_only")   # the paper's Fig. 1 variants
    shipped = (*fig1, "sequence")                                            # + notebook 05 §7's sequence run
    assert set(LOSO) == {loso_checkpoint_name("synthme", 3, v, quick) for v in shipped}, REMAKE
    larger = [k for k, v in MANIFEST.items() if v["config"].get("model_config", {}).get("variant") == "late"
              and v["config"]["model_config"]["img_size"] > model_input_size(quick)]
    assert larger, "no late model at a larger preset than the quick profile's ships"
    total = sum(p.stat().st_size for p in checkpoints_dir().rglob("*") if p.is_file())
    assert total < 8e6, f"the shipped checkpoints weigh {total / 1e6:.1f} MB; keep them to a few MB"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_shipped_checkpoint_matches_its_manifest(name):
    entry, folder = MANIFEST[name], checkpoints_dir() / name
    assert entry["kit_version"] == kit_version(), f"{name} was made by kit {entry['kit_version']}; {REMAKE}"
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(entry["files"]), f"{folder}: files {sorted(on_disk ^ set(entry['files']))} differ; {REMAKE}"
    for rel, digest in entry["files"].items():
        assert file_sha256(folder / rel) == digest, f"{folder / rel} differs from its manifest; {REMAKE}"
    assert entry["command"].startswith("python tools/make_checkpoints.py") and isinstance(entry["seed"], int)
    cfg = entry["config"]
    model_cfg = cfg["model_config"]
    preset = cfg.get("preset") or entry["preset"]      # loso: in run.json; quickfit: beside the config
    now = build_model(model_cfg["variant"], model_cfg["num_classes"], preset, img_size=model_cfg["img_size"])
    assert json.loads(json.dumps(now.config.to_dict())) == model_cfg, f"{name}: the model config changed; {REMAKE}"
    if entry["kind"] == "loso":
        assert json.loads((folder / "run.json").read_text()) == cfg, f"{folder}/run.json is not the manifest's"
        recipe = train_config_for(get_profile(cfg["profile"]), cfg["dataset"], cfg["classes"],
                                  variant=cfg["variant"]).to_dict()
        recipe = {k: v for k, v in recipe.items() if k not in SPEED_ONLY_FIELDS}
        assert recipe == cfg["train"], f"{name}: the {cfg['profile']} profile's recipe changed; {REMAKE}"


@pytest.fixture(scope="module")
def quick_data():
    profile = get_profile("quick")
    return prepare_task("synthme", None, 3, size=model_input_size(profile), profile=profile)


@pytest.mark.slow
def test_the_shipped_runs_were_trained_on_the_kits_synthme(quick_data):
    for name, entry in LOSO.items():
        frames = entry["config"]["model_config"]["num_frames"] if entry["config"]["variant"] == "sequence" else None
        data = quick_data.with_frames(frames) if frames else quick_data     # sequence trains on K frames per clip
        sha1 = data_fingerprint(data)
        assert entry["data_sha1"] == sha1, f"{name}: SynthME quick is not the data it was trained on; {REMAKE}"
    for name, entry in LOSO.items():
        match = match_loso(quick_data, entry["config"]["variant"])
        assert match.ok, f"{match}; {REMAKE}"
    other = match_loso(quick_data, "late", lr=1e-3)
    assert not other.ok and any("lr" in r for r in other.reasons), other.reasons
    assert "training" in str(other)


@pytest.mark.slow
def test_load_or_train_loads_a_matching_checkpoint_and_trains_nothing(quick_data, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # the optimistic-protocol warning
        result = load_or_train(quick_data, "temporal_only", out_dir=tmp_path / "run", protocols=("honest", "paper"),
                               verbose=False)
    assert result.checkpoint.action == "loaded" and "loaded the shipped checkpoint" in capsys.readouterr().out
    assert sorted(result.resumed_folds) == [f.index for f in result.folds], "some folds were trained"
    again = install_checkpoint(quick_data, "temporal_only", out_dir=tmp_path / "other-root")
    assert again.action == "loaded"
    assert install_checkpoint(quick_data, "temporal_only", out_dir=tmp_path / "other-root").action == "resumed"


@pytest.mark.slow
def test_retraining_a_checkpoint_gives_its_predictions(quick_data):
    """Fold 0 of the shipped quick ``late`` run, retrained from scratch: the same test predictions every epoch,
    and the shipped weights predict what the retrained model predicts."""
    name = loso_checkpoint_name("synthme", 3, "late", "quick")
    shipped = RunFolder(checkpoints_dir() / name)
    run = json.loads(shipped.run_file.read_text())
    fold = loso_folds(quick_data.subjects)[0]
    saved = FoldHistory.from_dict(shipped.load_fold(fold.index, fold.subject)["history"])
    cfg = train_config_for(get_profile("quick"), "synthme", 3, variant="late", device="cpu")
    size = run["model_config"]["img_size"]
    factory = lambda: build_model("late", quick_data.num_classes, run["preset"], img_size=size)  # noqa: E731
    test_set = quick_data.dataset(fold.test_idx, train=False)
    model, history = train_fold(factory, quick_data.dataset(fold.train_idx, train=True), test_set, cfg,
                                fold_seed=fold_seed(cfg.seed, fold.index))
    for mine, theirs in zip(history.epochs, saved.epochs, strict=True):
        assert mine.test_pred == theirs.test_pred, f"epoch {mine.epoch}: retrained predictions differ from {name}"
        assert mine.train_loss == pytest.approx(theirs.train_loss, rel=1e-4, abs=1e-5)
    cpu = torch.device("cpu")
    loader = make_loader(test_set, 64, shuffle=False, seed=0, device=cpu)
    retrained, _ = predict(model.to(cpu), loader, cpu)
    loaded, _ = predict(shipped.load_model(0), loader, cpu)
    np.testing.assert_array_equal(np.asarray(retrained), np.asarray(loaded))


@pytest.mark.slow
def test_fit_or_load_loads_a_matching_quickfit_checkpoint_and_trains_a_different_request(quick_data, tmp_path,
                                                                                        capsys):
    from tsfmicro_lite.preprocess.dataset import MicroExpressionDataset
    from tsfmicro_lite.train.pretrained import dataset_fingerprint, fit_or_load, ship_quickfit
    from tsfmicro_lite.train.quickfit import quick_fit

    prepared = quick_data.prepared

    def sets():
        return (MicroExpressionDataset(prepared, np.arange(0, 40), train=True, seed=0),
                MicroExpressionDataset(prepared, np.arange(40, len(prepared))))

    fit = dict(epochs=1, lr=1e-3, weight_decay=0.05, batch_size=8, seed=0)
    train_set, val_set = sets()
    sha1 = dataset_fingerprint(train_set, val_set)
    model = build_model("late", 3, "micro")
    history = quick_fit(model, train_set, val_set, **fit)
    ship_quickfit("toy-late-micro", model, history, sha1, command="python tools/make_checkpoints.py (test)",
                  preset="micro", root=tmp_path, **fit)

    loaded = build_model("late", 3, "micro")
    got = fit_or_load("toy-late-micro", loaded, *sets(), root=tmp_path, **fit)
    assert "loaded" in capsys.readouterr().out and got.pop("trained_seconds") == history["seconds"]
    assert got == {**json.loads(json.dumps(history)), "seconds": [0.0] * fit["epochs"]}
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), f"{k} was not loaded"
    fit_or_load("toy-late-micro", build_model("late", 3, "micro"), *sets(), root=tmp_path, **{**fit, "lr": 2e-3})
    out = capsys.readouterr().out
    assert "training toy-late-micro" in out and "lr" in out
