"""Checkpoint or train: load a shipped SynthME checkpoint when its manifest matches the request, train otherwise.

The pattern of the UvA deep-learning tutorials (uvadlc): *if a pretrained file for exactly this
setting exists, load it; otherwise train, and say which happened*. The kit ships small checkpoints
trained on SynthME (synthetic) in ``tsfmicro_lite/checkpoints/``, one folder per checkpoint, described
by ``manifest.json`` (config, data fingerprint, kit version, seed, the command that made it, and the
SHA-256 of every file). ``tools/make_checkpoints.py`` (re)makes them.

Two kinds:

- ``loso``: a finished LOSO run folder of the quick profile (``run.json``, every fold's result with
  its per-epoch test predictions, and the first fold's weights). :func:`load_or_train` copies it into
  the requested run folder when it matches, and ``run_loso`` then resumes every fold from disk
  (notebooks 06 and 07); :func:`install_checkpoint` does only the copy (for ``reproduce``).
- ``quickfit``: one model trained by ``quick_fit`` (notebook 05's ``late`` at the ``tiny`` preset):
  :func:`fit_or_load` loads its weights and history, or trains.

A checkpoint matches only if the kit version, the data's SHA-1, the training recipe and model config,
and every file's hash are those in the manifest; anything else trains, printing why.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ..models import build_model
from ..utils.io import atomic_directory, atomic_write_json
from .checkpoints import RunMismatchError
from .loso import SPEED_ONLY_FIELDS, LosoResult, data_fingerprint
from .profiles import TrainProfile, get_profile, train_config_for
from .quickfit import quick_fit
from .reproduce import PreparedLosoData, train_variant
from .results import kit_version
from .runs import run_dir
from .splits import loso_folds

__all__ = ["CheckpointMatch", "checkpoints_dir", "read_manifest", "list_checkpoints", "loso_checkpoint_name",
           "match_loso", "install_checkpoint", "load_or_train", "fit_or_load", "dataset_fingerprint",
           "file_sha256", "ship_loso_run", "ship_quickfit", "LOSO_WEIGHTS"]

MANIFEST = "manifest.json"
LOSO_WEIGHTS = ("checkpoints/fold_00.pt",)   # a run's weights that ship: the first fold's (a few MB in all)
_SKIP_TRAIN_KEYS = SPEED_ONLY_FIELDS  # TrainConfig fields run_loso leaves out of run.json (no effect on results)


def checkpoints_dir() -> Path:
    """The folder of shipped checkpoints: ``tsfmicro_lite/checkpoints/`` (package data)."""
    return Path(__file__).resolve().parents[1] / "checkpoints"


def read_manifest(root: str | Path | None = None) -> dict[str, Any]:
    """The manifest's ``checkpoints`` table (name → entry); empty when the folder has no manifest."""
    path = Path(root or checkpoints_dir()) / MANIFEST
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["checkpoints"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise ValueError(f"{path} is not a checkpoint manifest ({exc}); re-make it with "
                         "`python tools/make_checkpoints.py`.") from exc


def list_checkpoints(root: str | Path | None = None) -> list[str]:
    """Names of the shipped checkpoints, sorted."""
    return sorted(read_manifest(root))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


@dataclass
class CheckpointMatch:
    """Whether the shipped checkpoint ``name`` fits a request, and if not, why (``reasons``)."""
    name: str
    path: Path | None
    reasons: list[str] = field(default_factory=list)
    action: str = ""          # what was done: "loaded", "trained", "resumed", or "" before acting

    @property
    def ok(self) -> bool:
        return self.path is not None and not self.reasons

    def __str__(self) -> str:
        if self.action == "resumed":
            return f"checkpoint-or-train: {self.name}: a run folder for this request is already on disk; it resumes"
        if self.ok:
            return (f"checkpoint-or-train: loaded the shipped checkpoint {self.name} (its manifest matches the "
                    "config, the data fingerprint and the kit version; trained on SynthME, synthetic); no training")
        return f"checkpoint-or-train: training {self.name}: " + "; ".join(self.reasons)


def _common_checks(match: CheckpointMatch, entry: dict[str, Any], data_sha1: str) -> None:
    if entry.get("kit_version") != kit_version():
        match.reasons.append(f"made by kit {entry.get('kit_version')}, this is kit {kit_version()}")
    if entry.get("data_sha1") != data_sha1:
        match.reasons.append(f"the data differ (checkpoint {str(entry.get('data_sha1'))[:8]}, yours {data_sha1[:8]})")
    for rel, digest in entry.get("files", {}).items():
        path = match.path / rel
        if not path.exists() or file_sha256(path) != digest:
            match.reasons.append(f"{path} is missing or differs from its manifest; re-make the checkpoints with "
                                 "`python tools/make_checkpoints.py`")


def _diff(kind: str, saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    saved, wanted = _jsonable(saved), _jsonable(wanted)
    keys = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
    return [f"{kind} {k}: checkpoint {saved.get(k)!r}, asked {wanted.get(k)!r}" for k in keys]


def loso_checkpoint_name(dataset: str, classes: int, variant: str, profile: str | TrainProfile,
                         preset: str | None = None) -> str:
    """``<dataset>-c<classes>-<variant>-<profile>-<preset>``: the run folder's name without the data hash."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    return f"{dataset}-c{classes}-{variant}-{prof.name}-{preset or prof.model_preset}"


def _loso_request(data: PreparedLosoData, variant: str, dataset: str, classes: int, prof: TrainProfile,
                  protocols: Sequence[str], preset: str | None, max_folds: int | None,
                  train_overrides: dict[str, Any]) -> dict[str, Any]:
    """The parts of ``run.json`` that ``train_variant`` → ``run_loso`` would write for this request."""
    preset = preset or prof.model_preset
    cfg = train_config_for(prof, dataset, classes, variant=variant, **train_overrides)
    model = build_model(variant, data.num_classes, preset, img_size=int(data.size or data.prepared.size))
    folds = loso_folds(data.subjects)
    max_folds = max_folds if max_folds is not None else prof.max_folds
    folds = folds[:max_folds] if max_folds is not None else folds
    return {"train": {k: v for k, v in cfg.to_dict().items() if k not in _SKIP_TRAIN_KEYS},
            "model_config": model.config.to_dict(), "protocols": sorted(dict.fromkeys(protocols)),
            "folds": [f.subject for f in folds], "preset": preset, "profile": prof.name, "variant": variant,
            **data.data_path()}


def _as_trained(data: PreparedLosoData, variant: str, preset: str) -> PreparedLosoData:
    """The data as ``train_variant`` trains ``variant`` on it: K frames per clip for the ``sequence`` variant."""
    probe = build_model(variant, data.num_classes, preset, img_size=int(data.size or data.prepared.size))
    return data.with_frames(probe.config.num_frames) if getattr(probe, "takes_frames", False) else data


def match_loso(data: PreparedLosoData, variant: str, *, dataset: str = "synthme", classes: int = 3,
               profile: str | TrainProfile = "quick", protocols: Sequence[str] = ("honest", "paper"),
               preset: str | None = None, max_folds: int | None = None, root: str | Path | None = None,
               **train_overrides) -> CheckpointMatch:
    """Does a shipped LOSO checkpoint fit this ``train_variant`` request? Reads only; trains nothing."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    name = loso_checkpoint_name(dataset, classes, variant, prof, preset)
    root = Path(root or checkpoints_dir())
    entry = read_manifest(root).get(name)
    if entry is None or entry.get("kind") != "loso":
        return CheckpointMatch(name, None, ["none of that name ships with the kit" if root == checkpoints_dir()
                                            else f"no checkpoint of that name in {root}"])
    match = CheckpointMatch(name, root / name)
    data = _as_trained(data, variant, preset or prof.model_preset)
    _common_checks(match, entry, data_fingerprint(data))
    wanted = _loso_request(data, variant, dataset, classes, prof, protocols, preset, max_folds,
                           {k: v for k, v in train_overrides.items() if v is not None})
    saved = {k: entry["config"].get(k) for k in wanted if k != "train"}
    match.reasons += _diff("recipe", entry["config"].get("train", {}), wanted.pop("train"))
    match.reasons += _diff("run", saved, wanted)
    return match


def install_checkpoint(data: PreparedLosoData, variant: str, *, out_dir: str | Path | None = None,
                       dataset: str = "synthme", classes: int = 3, profile: str | TrainProfile = "quick",
                       protocols: Sequence[str] = ("honest", "paper"), preset: str | None = None,
                       max_folds: int | None = None, root: str | Path | None = None,
                       **train_overrides) -> CheckpointMatch:
    """Copy the matching shipped run into its run folder under ``out_dir`` (``run_dir``'s rule), so that
    ``train_variant`` / ``reproduce`` with the same ``out_dir`` resume it instead of training.

    Does nothing when that run folder already exists (it resumes as usual) or nothing matches; the
    returned :class:`CheckpointMatch` says which (print it).

    Taught in notebooks/07_reproduce_paper.ipynb, section "2 · Data, then every variant under LOSO".
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    folder = run_dir(out_dir, dataset, classes, variant, prof, data, preset)
    return _install(folder, data, variant, dataset, classes, prof, protocols, preset, max_folds, root,
                    train_overrides)


def _install(folder: Path, data, variant, dataset, classes, prof, protocols, preset, max_folds, root,
             train_overrides) -> CheckpointMatch:
    match = match_loso(data, variant, dataset=dataset, classes=classes, profile=prof, protocols=protocols,
                       preset=preset, max_folds=max_folds, root=root, **train_overrides)
    if (Path(folder) / "run.json").exists():
        match.action = "resumed"
        return match
    if not match.ok:
        match.action = "trained"
        return match
    files = read_manifest(root)[match.name]["files"]
    with atomic_directory(folder) as tmp:       # all or nothing: a half-copied run is never resumed
        for rel in files:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(match.path / rel, tmp / rel)
    match.action = "loaded"
    return match


def load_or_train(data: PreparedLosoData, variant: str, *, out_dir: str | Path | None = None,
                  dataset: str = "synthme", classes: int = 3, profile: str | TrainProfile = "quick",
                  protocols: Sequence[str] = ("honest",), preset: str | None = None, max_folds: int | None = None,
                  root: str | Path | None = None, verbose: bool = True, **train_overrides) -> LosoResult:
    """``train_variant`` with the shipped checkpoint first: load it when its manifest matches, else train.

    ``out_dir`` is the run folder (as for ``train_variant``; ``None``: ``run_dir(None, ...)``). Prints
    which it did; ``result.checkpoint`` is the :class:`CheckpointMatch` (``.action``: loaded / trained /
    resumed).

    Taught in notebooks/06_training_loso.ipynb, section "3 · Every fold, with the package: checkpoint or train".
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    folder = Path(out_dir) if out_dir is not None else run_dir(None, dataset, classes, variant, prof, data, preset)
    overrides = {k: v for k, v in train_overrides.items() if k not in _SKIP_TRAIN_KEYS}
    match = _install(folder, data, variant, dataset, classes, prof, protocols, preset, max_folds, root, overrides)
    print(match, flush=True)
    kwargs = dict(dataset=dataset, classes=classes, profile=prof, protocols=protocols, out_dir=folder, preset=preset,
                  max_folds=max_folds, verbose=verbose, **train_overrides)
    try:
        result = train_variant(data, variant, **kwargs)
    except RunMismatchError as exc:      # run.json holds something the manifest check does not compare
        if match.action != "loaded":
            raise
        shutil.rmtree(folder)            # the copy made just above, nothing else
        match.action, match.reasons = "trained", [f"its run.json differs ({exc})"]
        print(match, flush=True)
        result = train_variant(data, variant, **kwargs)
    result.checkpoint = match
    return result


# --- quick_fit models (notebook 05) ----------------------------------------------------------------
def dataset_fingerprint(*datasets) -> str:
    """SHA-1 of ``MicroExpressionDataset`` views: the prepared clips, which indices, and how they are read."""
    h = hashlib.sha1()
    for ds in datasets:
        h.update(PreparedLosoData(ds.prepared, augment=False).fingerprint().encode())
        h.update(np.asarray(ds.indices, dtype=np.int64).tobytes())
        h.update(f"{ds.train}|{ds.motion}|{ds.size}|{ds.augment!r}|{ds.pair_search}|{ds.wraparound}".encode())
        if ds.generator is not None:
            h.update(ds.generator.get_state().numpy().tobytes())
    return h.hexdigest()


def _quickfit_config(model: nn.Module, fit: dict[str, Any]) -> dict[str, Any]:
    return _jsonable({"model_config": model.config.to_dict(), "fit": fit})


def fit_or_load(name: str, model: nn.Module, train_set, val_set, *, root: str | Path | None = None,
                **fit_kwargs) -> dict[str, list[float]]:
    """``quick_fit(model, train_set, val_set, **fit_kwargs)``, or the shipped checkpoint ``name`` when its
    manifest matches (same model config, fit arguments, data fingerprint, kit version): the weights are
    loaded into ``model`` and its training history returned (``seconds`` zero: nothing trained here; the
    training's own per-epoch times in ``trained_seconds``). Prints which it did.

    Taught in notebooks/05_fusion_variants.ipynb, section "4. A short training of every variant (SynthME, synthetic)".
    """
    root = Path(root or checkpoints_dir())
    entry = read_manifest(root).get(name)
    match = CheckpointMatch(name, None, ["none of that name ships with the kit" if root == checkpoints_dir()
                                         else f"no checkpoint of that name in {root}"])
    if entry is not None and entry.get("kind") == "quickfit":
        match = CheckpointMatch(name, root / name)
        _common_checks(match, entry, dataset_fingerprint(train_set, val_set))
        match.reasons += _diff("config", entry["config"], _quickfit_config(model, fit_kwargs))
    if match.ok:
        saved = torch.load(match.path / "model.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(saved)
        history = json.loads((match.path / "history.json").read_text())
        # "seconds" is the time this call spent per epoch (none: nothing trained); the training's own is kept
        history["trained_seconds"] = history.get("seconds", [])
        history["seconds"] = [0.0] * len(history["trained_seconds"])
        match.action = "loaded"
    else:
        history = quick_fit(model, train_set, val_set, **fit_kwargs)
        match.action = "trained"
    print(match, flush=True)
    return history


# --- making checkpoints (tools/make_checkpoints.py) --------------------------------------------------
def _entry(kind: str, folder: Path, config: dict[str, Any], data_sha1: str, seed: int, command: str,
           **extra) -> dict[str, Any]:
    files = {str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    return {"kind": kind, "config": _jsonable(config), "data_sha1": data_sha1, "kit_version": kit_version(),
            "seed": int(seed), "command": command, "torch": torch.__version__, "files": files, **extra}


def _write_manifest_entry(root: Path, name: str, entry: dict[str, Any]) -> None:
    path = root / MANIFEST
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc.setdefault("about", "Checkpoints trained on SynthME (SYNTHETIC data) by tools/make_checkpoints.py; "
                            "see tsfmicro_lite/train/pretrained.py")
    doc.setdefault("checkpoints", {})[name] = entry
    atomic_write_json(path, doc)


def ship_loso_run(run_folder: str | Path, name: str, *, command: str, root: str | Path | None = None,
                  weights: Sequence[str] = LOSO_WEIGHTS) -> dict[str, Any]:
    """Copy a finished run folder's ``run.json``, fold results and ``weights`` into ``root/name`` and
    record it in the manifest (used by ``tools/make_checkpoints.py``)."""
    src, root = Path(run_folder), Path(root or checkpoints_dir())
    run = json.loads((src / "run.json").read_text())
    with atomic_directory(root / name) as tmp:
        for rel in ["run.json", *[str(p.relative_to(src)) for p in sorted((src / "folds").glob("*.json"))],
                    *weights]:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, tmp / rel)
    entry = _entry("loso", root / name, run, run["data_sha1"], run["train"]["seed"], command)
    _write_manifest_entry(root, name, entry)
    return entry


def ship_quickfit(name: str, model: nn.Module, history: dict[str, list[float]], data_sha1: str, *,
                  command: str, preset: str, root: str | Path | None = None, **fit_kwargs) -> dict[str, Any]:
    """Save a ``quick_fit`` model (weights + history; model ``preset``) as checkpoint ``name``, in the manifest.

    ``data_sha1`` is :func:`dataset_fingerprint` of the training and validation sets taken *before* training
    (training advances the augmentation's generator)."""
    root = Path(root or checkpoints_dir())
    with atomic_directory(root / name) as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / "model.pt")
        (tmp / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    entry = _entry("quickfit", root / name, _quickfit_config(model, fit_kwargs),
                   data_sha1, fit_kwargs.get("seed", 0), command, preset=preset)
    _write_manifest_entry(root, name, entry)
    return entry
