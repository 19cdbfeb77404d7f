"""(Re)make the shipped SynthME checkpoints in ``tsfmicro_lite/checkpoints/`` and their manifest.

    python tools/make_checkpoints.py            # every checkpoint (~2-3 min on 2 CPU cores)
    python tools/make_checkpoints.py --only 05-late-tiny

What it trains (all on SynthME quick, SYNTHETIC data, CPU, torch's default threads as the notebooks):

- the quick profile's LOSO run of every variant (``micro`` preset, both protocols), as notebooks 06/07
  run it: ``train_variant`` → a run folder in ``build/checkpoint-runs/`` (re-running resumes it), of which
  ``run.json`` and every fold's result ship, and for ``late`` the first fold's weights (a few MB in all);
- the same for the ``sequence`` variant (notebook 05 §7 compares it with ``late`` and ``temporal_only``),
  with the first two folds' weights (notebook 05 streams those folds' clips through them);
- notebook 05's ``late`` model at the larger ``tiny`` preset (its quick profile: 8 epochs of
  ``quick_fit`` on one subject split).

Run it after changing the quick profile, the models, the preprocessing or the SynthME generator:
``tests/train/test_pretrained.py`` fails until the checkpoints match the kit again.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tsfmicro_lite.data import load_dataset, make_synthme
from tsfmicro_lite.models import build_model
from tsfmicro_lite.preprocess.dataset import MicroExpressionDataset
from tsfmicro_lite.preprocess.pipeline import PrepConfig, prepare
from tsfmicro_lite.train.pretrained import (
    LOSO_WEIGHTS,
    dataset_fingerprint,
    loso_checkpoint_name,
    ship_loso_run,
    ship_quickfit,
)
from tsfmicro_lite.train.profiles import get_profile
from tsfmicro_lite.train.quickfit import quick_fit
from tsfmicro_lite.train.reproduce import model_input_size, prepare_task, train_variant
from tsfmicro_lite.train.runs import run_dir
from tsfmicro_lite.utils.seed import seed_everything

COMMAND = "python tools/make_checkpoints.py"
RUNS = Path(__file__).resolve().parents[1] / "build" / "checkpoint-runs"   # the full run folders (not shipped)
# Notebook 05's quick profile (notebooks/05_fusion_variants.ipynb, cell nb05-02): keep the two in step.
# The variants of the paper's Fig. 1 (notebook 07's table), and ``sequence`` (notebook 05 §7); others train.
FIG1 = ("late", "early", "t2s", "s2t", "temporal_only", "spatial_only")
LOSO_VARIANTS = (*FIG1, "sequence")
# Which fold weights ship per variant (none for the rest): late's first fold (notebook 06, the retrain test),
# sequence's first two folds (notebook 05 §7 streams their held-out clips frame by frame).
WEIGHTS = {"late": LOSO_WEIGHTS, "sequence": ("checkpoints/fold_00.pt", "checkpoints/fold_01.pt")}
NB05 = dict(preset="tiny", epochs=8, batch_size=8, lr=2e-3, weight_decay=0.05, seed=0)


def loso_checkpoints(names: set[str] | None) -> None:
    profile = get_profile("quick")
    data = prepare_task("synthme", None, 3, size=model_input_size(profile), profile=profile)
    for variant in LOSO_VARIANTS:
        name = loso_checkpoint_name("synthme", 3, variant, profile)
        if names and name not in names:
            continue
        folder = run_dir(RUNS, "synthme", 3, variant, profile, data)   # resumes what an earlier call trained
        result = train_variant(data, variant, dataset="synthme", classes=3, profile=profile,
                               protocols=("honest", "paper"), out_dir=folder, device="cpu", verbose=False)
        entry = ship_loso_run(folder, name, command=f"{COMMAND} --only {name}",
                              weights=WEIGHTS.get(variant, ()))
        print(f"{name}: {len(entry['files'])} files\n{result.summary()}", flush=True)


def notebook05_checkpoint(names: set[str] | None) -> None:
    name = f"05-late-{NB05['preset']}"
    if names and name not in names:
        return
    seed = NB05["seed"]
    fit = {k: NB05[k] for k in ("epochs", "lr", "weight_decay", "batch_size", "seed")}
    seed_everything(seed)
    model = build_model("late", 3, preset=NB05["preset"])
    df = load_dataset("synthme", root=make_synthme(profile="quick", seed=seed), classes=3)
    prepared = prepare(df, PrepConfig(size=model.config.img_size))
    subjects = np.unique(prepared.subjects)
    held_out = np.isin(prepared.subjects, subjects[-2:])
    train_set = MicroExpressionDataset(prepared, np.where(~held_out)[0], train=True, seed=seed)
    val_set = MicroExpressionDataset(prepared, np.where(held_out)[0])
    data_sha1 = dataset_fingerprint(train_set, val_set)       # before training advances the generator
    seed_everything(seed)
    model = build_model("late", 3, preset=NB05["preset"])     # as the notebook: seed, then build
    history = quick_fit(model, train_set, val_set, **fit)
    entry = ship_quickfit(name, model, history, data_sha1, command=f"{COMMAND} --only {name}",
                          preset=NB05["preset"], **fit)
    print(f"{name}: {len(entry['files'])} files, held-out acc {history['val_acc'][-1]:.2f} "
          f"UF1 {history['val_uf1'][-1]:.2f} (SynthME, synthetic)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="a checkpoint name (repeatable); default: all")
    args = parser.parse_args(argv)
    names = set(args.only) if args.only else None
    loso_checkpoints(names)
    notebook05_checkpoint(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
