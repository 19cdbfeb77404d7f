"""Training profiles: the official recipe (for GPUs) and the quick CPU one (notebooks 06/07, tests).

A *profile* is a training recipe: which model *preset* it trains (``models/config.py``), which
SynthME size (*synth_profile*) stands in for a dataset, and the optimiser's hyper-parameters.

``official_train_config(dataset, classes, variant)`` is the paper's recipe exactly (spec §5): AdamW lr 8e-4,
weight decay 0.6 (5-class, CAS(ME)^3) or 0.7 (3-class), ExponentialLR 0.987 for epochs 1-50, the epochs of
the script that trains that variant (174 only for ``late`` on CASME II 5-class, ``classes/cas2/train_c5.py``;
199 in every other script, the fusion variants' included), batch 32, and the official seed per task.

The ``quick`` profile is NOT the paper's recipe: the official lr / weight decay are tuned for ~200
epochs of a 12.8 M-parameter model at 224 px on a GPU; the 32 px ``micro`` preset (207 k parameters)
trained for a few epochs on CPU needs its own values, measured on SynthME (see ``QUICK_NOTES``).
Every table says which profile produced it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..data.datasets import get_spec
from ..models import list_variants
from ..utils.names import unknown
from .trainer import TrainConfig

__all__ = ["TrainProfile", "PROFILES", "get_profile", "list_profiles", "official_train_config", "official_seed",
           "official_epochs", "train_config_for"]


@dataclass(frozen=True)
class TrainProfile:
    """A named training recipe: model preset, SynthME size (``synth_profile``), hyper-parameters, fold cap.

    Taught in notebooks/07_reproduce_paper.ipynb, section "7 · The full profile (GPU)".
    """
    name: str
    model_preset: str
    synth_profile: str
    epochs: int | None        # None: the official count for the task
    batch_size: int
    lr: float
    weight_decay: float | None  # None: the official value for the task
    lr_gamma: float = 0.987
    lr_decay_epochs: int = 50
    max_folds: int | None = None
    augment: bool = True
    notes: str = ""


QUICK_NOTES = ("quick CPU profile: micro preset (RMT widths 8/16/32/64 at 32 px), 10 epochs, "
               "AdamW lr 3e-3 / wd 0.05, lr x0.9 per epoch, batch 16, no augmentation: chosen on SynthME "
               "quick for a CPU run of ~1 min per variant; NOT the paper's recipe")

# Measured on SynthME quick, 3 classes, 58 clips / 8 subjects, honest pooled UF1, seed 2 (2-core CPU, shared):
#   earlier generator, 10 epochs, lr 3e-3: late 0.45, temporal_only 0.46, spatial_only 0.23, majority 0.21
#   earlier generator,  6 epochs, lr 5e-3: late 0.33, spatial_only 0.24  (too short to learn the motion signal)
#   generator v4, 10 epochs, lr 3e-3: late 0.50, spatial_only 0.25, majority 0.21 (tests/test_reproduce.py)
PROFILES: dict[str, TrainProfile] = {
    "quick": TrainProfile("quick", model_preset="micro", synth_profile="quick", epochs=10, batch_size=16,
                          lr=3e-3, weight_decay=0.05, lr_gamma=0.9, lr_decay_epochs=10, augment=False,
                          notes=QUICK_NOTES),
    "full": TrainProfile("full", model_preset="paper", synth_profile="casme2-like", epochs=None, batch_size=32,
                         lr=8e-4, weight_decay=None, notes="official recipe (spec §5); for a GPU"),
}


def get_profile(name: str) -> TrainProfile:
    """The training profile called ``name``; an unknown name raises naming the closest and every valid one."""
    if name not in PROFILES:
        raise unknown("training profile", name, list_profiles(),
                      hint="quick = CPU minutes, full = the official recipe for a GPU.")
    return PROFILES[name]


def list_profiles() -> list[str]:
    """Names of the training profiles (``quick`` first), the registry every list reads."""
    return list(PROFILES)


def official_seed(dataset: str, classes: int) -> int:
    """The seed the official script of that task sets (spec §5), from the dataset's spec."""
    return get_spec(dataset).task(classes).official_seed


OTHER_SCRIPTS_EPOCHS = 199  # range(1, 200): every official script but classes/cas2/train_c5.py (spec §5)


def official_epochs(dataset: str, classes: int, variant: str | None = None) -> int:
    """Epochs of the official script that trains ``variant`` on that task (spec §5).

    The task's ``official_epochs`` (the main, ``late`` model's script: 174 for CASME II 5-class) for ``late``
    or ``variant=None``; 199 for every other variant (the fusion scripts and the kit's ablations).
    """
    task = get_spec(dataset).task(classes)
    if variant is not None and variant not in list_variants():
        raise unknown("variant", variant, list_variants(), hint="None = the paper's main (late) model.")
    return task.official_epochs if variant in (None, "late") else OTHER_SCRIPTS_EPOCHS


def official_train_config(dataset: str, classes: int, variant: str | None = None, **overrides) -> TrainConfig:
    """The paper's training recipe for ``dataset`` / ``classes`` / ``variant`` (spec §5), with ``overrides``.

    The per-task numbers (epochs, weight decay, seed) come from the dataset's spec (``data/datasets/``); the
    epochs are those of the script that trains ``variant`` (:func:`official_epochs`: 174 only for ``late``
    on CASME II 5-class, 199 otherwise). ``variant=None`` (the old two-argument call) is the main ``late`` model.

    Taught in notebooks/07_reproduce_paper.ipynb, section "7 · The full profile (GPU)".
    """
    task = get_spec(dataset).task(classes)
    cfg = TrainConfig(epochs=official_epochs(dataset, classes, variant), batch_size=32, lr=8e-4,
                      weight_decay=task.official_weight_decay, lr_gamma=0.987, lr_decay_epochs=50,
                      seed=task.official_seed)
    return replace(cfg, **overrides) if overrides else cfg


def train_config_for(profile: TrainProfile, dataset: str, classes: int, variant: str | None = None,
                     **overrides) -> TrainConfig:
    """The ``TrainConfig`` a profile gives for a task (and ``variant``: the official epochs differ per
    script, spec §5); explicit overrides (CLI flags) win."""
    official = official_train_config(dataset, classes, variant)
    cfg = replace(official, epochs=profile.epochs or official.epochs, batch_size=profile.batch_size,
                  lr=profile.lr, weight_decay=official.weight_decay if profile.weight_decay is None
                  else profile.weight_decay, lr_gamma=profile.lr_gamma, lr_decay_epochs=profile.lr_decay_epochs)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(cfg, **overrides) if overrides else cfg
