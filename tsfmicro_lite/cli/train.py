"""``tsfmicro train``, ``evaluate`` and ``reproduce``: LOSO from the shell, the same code as notebooks 06/07.

Examples::

    tsfmicro train --dataset synthme --classes 3 --variant late --profile quick --out runs/
    tsfmicro train --dataset casme2 --root ~/data/CASME2 --classes 5 --variant all --profile full \\
                   --protocol paper --device cuda --out runs/
    tsfmicro evaluate --run runs/synthme-c3-late-quick-micro-<hash> --protocol paper
    tsfmicro reproduce --dataset synthme --profile quick --out runs/
    tsfmicro reproduce --task megc2019 --variant late --profile quick --out runs/   # composite + cross-dataset
    tsfmicro reproduce --train-on casme2 --test-on samm --root-casme2 ~/CASME2 --root-samm ~/SAMM --variant late

``train`` prints each run folder (named by ``train.runs.run_dir``); re-running the command resumes it.
Every bad value fails before any data loads, in one line naming the flag. This file holds the flags, whose
names come from ``cli/choices.py``; what the commands do is in ``cli/train_run.py``, imported only when
one runs, so ``tsfmicro train --help`` loads no torch.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .choices import (
    AMP,
    DATASETS,
    ENGINES,
    FACES,
    INPUT_PIPELINES,
    MEGC2019,
    MEMBERS,
    PRESETS,
    PROFILES,
    PROTOCOLS,
    SELECTIONS,
    VARIANTS,
)

__all__ = ["register", "PROTOCOL_CHOICES"]

PROTOCOL_CHOICES = (*PROTOCOLS, "both")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="synthme", choices=DATASETS)
    p.add_argument("--root", type=Path, default=None, help="dataset folder (synthme: optional, generated)")
    p.add_argument("--sheet", type=Path, default=None, help="annotation sheet, if not found by name (or several are)")
    p.add_argument("--classes", type=int, default=3, help="class set (CASME II/SAMM 3|5, CAS(ME)^3 4|7)")
    p.add_argument("--faces", default=None, choices=FACES,
                   help="face path: dlib alignment, or the release's own crops as the official code reads them "
                        "(default: the preset decides; paper: the crops where the copy has them)")
    p.add_argument("--variant", default="late", help=" | ".join([*VARIANTS, "all"]))
    p.add_argument("--protocol", default="honest", choices=PROTOCOL_CHOICES,
                   help="honest (default: epoch fixed in advance) | paper (best epoch on the test subject, "
                        "OPTIMISTIC) | both (one training run, both selections)")
    p.add_argument("--honest-mode", default=None, choices=["fixed", "inner_val"],
                   help="honest protocol: fixed epoch budget (default) or early stop on 2 inner validation "
                        "subjects drawn from the training side")
    p.add_argument("--profile", default="quick", choices=list(PROFILES),
                   help="training recipe: " + "; ".join(f"{name} = {preset} preset"
                                                       for name, preset in PROFILES.items())
                        + " (quick: few epochs, CPU minutes; full: the official recipe, GPU)")
    p.add_argument("--preset", default=None, choices=PRESETS, help="model preset; default: the profile's")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--max-folds", type=int, default=None, help="run only the first N folds")
    p.add_argument("--paper-lists", action="store_true",
                   help="test only the subjects of the official hard-coded LOSO lists")
    p.add_argument("--out", type=Path, default=Path("runs"), help="folder for run folders (resumable)")
    g = p.add_argument_group("precision, speed and parallel folds (GPU; see README 'Full reproduction')")
    g.add_argument("--amp", default=None, choices=AMP,
                   help="off = fp32, the official recipe (default); bf16 / fp16 = mixed precision, opt-in "
                        "(CUDA; bf16 also on CPU); recorded in every results row")
    g.add_argument("--deterministic", action="store_true", default=None,
                   help="cuDNN deterministic kernels, no autotuner: a resumed GPU run gives the same table")
    g.add_argument("--num-workers", type=int, default=None,
                   help="DataLoader workers of the per-sample input pipeline (default 0)")
    g.add_argument("--input-pipeline", default=None, choices=INPUT_PIPELINES,
                   help="device = uint8 crops on the GPU once per fold, batches normalised/augmented there "
                        "(auto: on CUDA); loader = per-sample DataLoader (auto: on CPU)")
    g.add_argument("--fused-adamw", action="store_true", default=None, help="torch's fused AdamW kernel")
    g.add_argument("--channels-last", action="store_true", default=None, help="NHWC convolutions")
    g.add_argument("--parallel", default="auto",
                   help="folds at once: N local processes (spread over the visible GPUs; 2x GPUs = two per GPU) "
                        "or 'auto' = one per GPU on CUDA, serial on CPU")
    g.add_argument("--engine", default="local", choices=ENGINES,
                   help="local processes, or submitit (SLURM jobs, one per fold)")
    g.add_argument("--slurm-partition", default=None, help="--engine submitit: the SLURM partition")
    g.add_argument("--slurm-time", type=int, default=None, help="--engine submitit: minutes per fold job")
    g.add_argument("--slurm-gpus", type=int, default=None, help="--engine submitit: GPUs per fold job (default 1)")
    g.add_argument("--slurm-cpus", type=int, default=None, help="--engine submitit: CPUs per fold job")
    g.add_argument("--submitit-cluster", default=None, choices=["slurm", "local", "debug"],
                   help="--engine submitit: force submitit's executor (default: SLURM when sbatch exists, "
                        "else its local one; debug = in this process)")


def _train(args: argparse.Namespace) -> int:
    from .train_run import run_train  # lazy: torch and the data stack; not for --help

    return run_train(args)


def _evaluate(args: argparse.Namespace) -> int:
    from .train_run import run_evaluate  # lazy: as in _train

    return run_evaluate(args)


def _reproduce(args: argparse.Namespace) -> int:
    from .train_run import run_reproduce  # lazy: as in _train

    return run_reproduce(args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tsfmicro train``, ``tsfmicro evaluate`` and ``tsfmicro reproduce``."""
    train = subparsers.add_parser("train", help="LOSO training + evaluation of one variant (or all)")
    _common(train)
    train.set_defaults(func=_train)

    evaluate = subparsers.add_parser("evaluate", help="re-score a run folder under a protocol (no training)")
    evaluate.add_argument("--run", type=Path, required=True, help="a run folder written by `tsfmicro train`")
    evaluate.add_argument("--protocol", default="honest", choices=PROTOCOL_CHOICES)
    evaluate.add_argument("--partial", action="store_true",
                          help="score a run whose folds are not all finished (labelled 'k of n folds', not pooled)")
    evaluate.set_defaults(func=_evaluate)

    rep = subparsers.add_parser("reproduce", help="every variant, both protocols, next to the paper's numbers")
    _common(rep)
    rep.set_defaults(variant="all", protocol="both")
    bench = rep.add_argument_group("field benchmarks (MEGC2019 composite, cross-dataset; train/megc2019.py)")
    bench.add_argument("--task", default="paper", choices=["paper", MEGC2019],
                       help="paper: the paper's per-dataset tables (default); megc2019: the composite CASME II + "
                            "SAMM + SMIC-HS (LOSO over the union) and the cross-dataset runs CASME II <-> SAMM")
    bench.add_argument("--train-on", default=None, choices=MEMBERS, help="cross-dataset: train on A ...")
    bench.add_argument("--test-on", default=None, choices=MEMBERS, help="... and test on B (3 classes)")
    bench.add_argument("--selection", default=None, choices=SELECTIONS,
                       help="composite samples on real data: megc2019 = the published 442-sample list (default), "
                            "mapping = every sample the members' 3-class mappings keep (data/composite.py)")
    for member in MEMBERS:
        bench.add_argument(f"--root-{member}", type=Path, default=None,
                           help=f"{member} folder (none of the three: SYNTHETIC stand-ins in each release's layout)")
    rep.set_defaults(func=_reproduce)
