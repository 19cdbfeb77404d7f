"""LOSO training and evaluation (notebooks 06 and 07; ``tsfmicro train``, ``evaluate``, ``reproduce``).

- ``splits``: LOSO folds over subjects, the honest protocol's inner validation split;
- ``trainer``: one fold's loop (``TrainConfig``, ``train_fold``);
- ``protocol``: which epoch counts (``honest`` / ``paper``);
- ``loso``: all folds, resumable (``run_loso``, ``evaluate_run``);
- ``checkpoints`` / ``results``: the run folder and its tidy tables;
- ``runs``: the run folder's name (``run_dir``), one rule for the CLI, ``reproduce`` and the notebooks;
- ``profiles``: training recipes, the official one and the quick CPU one (``get_profile``, ``list_profiles``);
- ``reproduce``: dataset name → prepared data → every variant → comparison with the paper;
- ``quickfit``: notebook 05's minimal loop to compare variants in seconds.
"""
from .loso import LosoResult, TensorLosoData, evaluate_run, run_loso
from .profiles import get_profile, list_profiles, official_train_config
from .protocol import PROTOCOLS, protocol_label
from .runs import run_dir, runs_root
from .splits import Fold, inner_validation_split, loso_folds
from .trainer import FoldHistory, TrainConfig, train_fold

__all__ = ["Fold", "FoldHistory", "LosoResult", "PROTOCOLS", "TensorLosoData", "TrainConfig", "evaluate_run",
           "get_profile", "inner_validation_split", "list_profiles", "loso_folds", "official_train_config",
           "protocol_label", "run_dir", "run_loso", "runs_root", "train_fold"]
