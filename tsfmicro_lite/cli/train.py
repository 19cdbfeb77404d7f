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
Every bad value fails before any data loads, in one line naming the flag (``_check_values``).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

from ..data import DatasetError, get_mapping, list_datasets
from ..data.composite import COMPOSITE as MEGC2019
from ..data.composite import MEMBERS
from ..models import list_presets, list_variants
from ..preprocess.faces import FrameReadError
from ..train.checkpoints import RunMismatchError
from ..train.loso import MAX_SEED, evaluate_run, provenance_note
from ..train.megc2019 import CROSS_PAIRS, benchmark_table, reproduce_megc2019
from ..train.parallel import ENGINES, ParallelPlan, resolve_parallel
from ..train.profiles import get_profile, list_profiles
from ..train.protocol import PROTOCOLS
from ..train.reproduce import (
    comparison_table,
    model_input_size,
    prepare_task,
    reproduce,
    resolve_variants,
    train_variant,
)
from ..train.runs import run_dir
from ..train.trainer import AMP_CHOICES, INPUT_PIPELINES, autocast_dtype
from ..utils.allocator import tune_this_process
from ..utils.device import resolve_device
from ..utils.io import atomic_path, atomic_write_text
from ..viz.training import plot_run

__all__ = ["register", "PROTOCOL_CHOICES"]

PROTOCOL_CHOICES = (*PROTOCOLS, "both")


def _protocols(value: str) -> tuple[str, ...]:
    return tuple(PROTOCOLS) if value == "both" else (value,)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="synthme", choices=list_datasets())
    p.add_argument("--root", type=Path, default=None, help="dataset folder (synthme: optional, generated)")
    p.add_argument("--sheet", type=Path, default=None, help="annotation sheet, if not found by name (or several are)")
    p.add_argument("--classes", type=int, default=3, help="class set (CASME II/SAMM 3|5, CAS(ME)^3 4|7)")
    p.add_argument("--faces", default=None, choices=["align", "dataset"],
                   help="face path: dlib alignment, or the release's own crops as the official code reads them "
                        "(default: the preset decides; paper: the crops where the copy has them)")
    p.add_argument("--variant", default="late", help=" | ".join([*list_variants(), "all"]))
    p.add_argument("--protocol", default="honest", choices=PROTOCOL_CHOICES,
                   help="honest (default: epoch fixed in advance) | paper (best epoch on the test subject, "
                        "OPTIMISTIC) | both (one training run, both selections)")
    p.add_argument("--honest-mode", default=None, choices=["fixed", "inner_val"],
                   help="honest protocol: fixed epoch budget (default) or early stop on 2 inner validation "
                        "subjects drawn from the training side")
    p.add_argument("--profile", default="quick", choices=list_profiles(),
                   help="training recipe: " + "; ".join(f"{name} = {get_profile(name).model_preset} preset"
                                                       for name in list_profiles())
                        + " (quick: few epochs, CPU minutes; full: the official recipe, GPU)")
    p.add_argument("--preset", default=None, choices=list_presets(), help="model preset; default: the profile's")
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
    g.add_argument("--amp", default=None, choices=AMP_CHOICES,
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


def _check_values(args: argparse.Namespace) -> None:
    """Refuse a bad flag value before anything loads: one ValueError naming the flag and the allowed range."""
    checks = [("--epochs", args.epochs, lambda v: v >= 1, "at least 1"),
              ("--batch-size", args.batch_size, lambda v: v >= 1, "at least 1"),
              ("--lr", args.lr, lambda v: v > 0, "a positive number"),
              ("--weight-decay", args.weight_decay, lambda v: v >= 0, "zero or positive"),
              ("--seed", args.seed, lambda v: 0 <= v <= MAX_SEED,
               f"between 0 and {MAX_SEED} (each fold is seeded with seed * 1000 + fold, below 2**32)"),
              ("--max-folds", args.max_folds, lambda v: v >= 1, "at least 1 (leave it out for every fold)")]
    for flag, value, ok, allowed in checks:
        if value is not None and not ok(value):
            raise ValueError(f"{flag} must be {allowed}, got {value}.")
    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out} is a file, not a folder; pass a folder for the run folders.")


def _setup(args: argparse.Namespace):
    """Validate cheap things first (flag values, device, variant, class count), then load and prepare the data."""
    _check_values(args)
    if args.num_workers is not None and args.num_workers < 0:
        raise ValueError(f"--num-workers must be 0 or more, got {args.num_workers}.")
    _plan(args)
    _launcher(args)
    autocast_dtype(resolve_device(args.device), args.amp or "off")   # e.g. --amp fp16 without a GPU
    variants = resolve_variants(args.variant, args.profile)  # "all" leaves out the profile's optional ones
    get_mapping(args.dataset, args.classes)
    profile = get_profile(args.profile)
    size = model_input_size(profile, args.preset)
    data = prepare_task(args.dataset, args.root, args.classes, size=size, profile=profile, sheet=args.sheet,
                        faces=args.faces, preset=args.preset)
    return variants, profile, data


def _overrides(args: argparse.Namespace) -> dict:
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
            "weight_decay": args.weight_decay, "seed": args.seed, "device": args.device,
            "honest_mode": args.honest_mode, "amp": args.amp, "deterministic": args.deterministic,
            "num_workers": args.num_workers, "input_pipeline": args.input_pipeline,
            "fused_adamw": args.fused_adamw, "channels_last": args.channels_last,
            "parallel": _plan(args)}


def _plan(args: argparse.Namespace) -> ParallelPlan:
    """--parallel / --engine / --slurm-* as one plan (checked before any data loads)."""
    slurm = {"slurm_partition": args.slurm_partition, "timeout_min": args.slurm_time,
             "gpus_per_node": args.slurm_gpus if args.slurm_gpus is not None else
             (1 if args.engine == "submitit" and args.device != "cpu" else None),
             "cpus_per_task": args.slurm_cpus}
    return ParallelPlan(resolve_parallel(args.parallel, args.device), args.engine, cluster=args.submitit_cluster,
                        slurm={k: v for k, v in slurm.items() if v is not None})


def _launcher(args: argparse.Namespace) -> None:
    """What the launcher sets before training: the allocator (exact, on by default) and cuBLAS's
    workspace for --deterministic (it must be set before CUDA starts)."""
    tune_this_process()
    if args.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def _train(args: argparse.Namespace) -> int:
    try:
        variants, profile, data = _setup(args)
    except (ValueError, RuntimeError, DatasetError, FileNotFoundError, FrameReadError) as exc:
        return _fail(str(exc))
    protocols = _protocols(args.protocol)
    for variant in variants:
        folder = run_dir(args.out, args.dataset, args.classes, variant, profile, data, args.preset)
        print(f"== {variant}: run folder {folder}")
        try:
            res = train_variant(data, variant, dataset=args.dataset, classes=args.classes, profile=profile,
                                protocols=protocols, out_dir=folder, preset=args.preset,
                                paper_lists=args.paper_lists, max_folds=args.max_folds, **_overrides(args))
        except (RunMismatchError, ValueError) as exc:  # resuming cannot help: the folder or a value is wrong
            return _fail(str(exc))
        except KeyboardInterrupt:
            print(f"interrupted: finished folds are saved in {folder}; re-run the same command to resume.",
                  file=sys.stderr)
            return 130
        _save_plot(res, folder)
        print(res.summary())
    return 0


def _save_plot(res, folder: Path) -> None:
    matplotlib.use("Agg")  # a file, never a window
    fig = plot_run(res.results, res.predictions)
    with atomic_path(folder / "scores.png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    print(f"plot: {folder / 'scores.png'}")


def _evaluate(args: argparse.Namespace) -> int:
    try:
        res = evaluate_run(args.run, _protocols(args.protocol), partial=args.partial)
    except (ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    partial = res.results[res.results["fold"] == "partial"]
    if len(partial):
        print(f"PARTIAL: {partial['subject'].iloc[0]} finished; the summary rows (fold 'partial') are not "
              "pooled LOSO scores.")
    cols = ["variant", "protocol", "fold", "subject", "n", "accuracy", "uf1", "uar", "precision"]
    print(res.results[[c for c in cols if c in res.results]].to_string(index=False,
                                                                       float_format=lambda x: f"{x:.3f}"))
    note = provenance_note(res.histories)
    if note:
        print(note)
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    """``reproduce --task megc2019`` (composite + cross-dataset) or ``--train-on A --test-on B`` (one pair)."""
    if bool(args.train_on) != bool(args.test_on):
        return _fail("--train-on and --test-on go together, e.g. --train-on casme2 --test-on samm.")
    pair = f"{args.train_on}-to-{args.test_on}" if args.train_on else MEGC2019
    roots = {"casme2": args.root_casme2, "samm": args.root_samm, "smic": args.root_smic}
    try:
        resolve_device(args.device)
        table = reproduce_megc2019(roots, args.variant, _protocols(args.protocol), args.profile, out_dir=args.out,
                                   preset=args.preset, cross=[(args.train_on, args.test_on)] if args.train_on
                                   else CROSS_PAIRS, composite=not args.train_on,
                                   subjects_per_dataset=args.max_folds, **_overrides(args))
    except (ValueError, RuntimeError, DatasetError, FileNotFoundError, FrameReadError, RunMismatchError) as exc:
        return _fail(str(exc))
    shown = benchmark_table(table)
    atomic_write_text(args.out / f"reproduce-{pair}-{args.profile}.csv", shown.to_csv(index=False))
    kinds = " / ".join(sorted(set(shown["data_kind"])))
    print(f"== {pair}: UF1 / UAR pooled (part = all) and per dataset, {kinds} data; per-dataset rows are in each "
          f"run's results.csv")
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    if args.task == MEGC2019 or args.train_on or args.test_on:
        return _benchmark(args)
    try:
        variants, profile, data = _setup(args)
    except (ValueError, RuntimeError, DatasetError, FileNotFoundError, FrameReadError) as exc:
        return _fail(str(exc))
    try:
        table = reproduce(args.dataset, args.root, args.classes, variants, _protocols(args.protocol), profile.name,
                          out_dir=args.out, data=data, preset=args.preset, max_folds=args.max_folds,
                          paper_lists=args.paper_lists, **_overrides(args))
    except (RunMismatchError, ValueError) as exc:  # resuming cannot help: the folder or a value is wrong
        return _fail(str(exc))
    comparison = comparison_table(table)
    atomic_write_text(args.out / f"reproduce-{args.dataset}-c{args.classes}-{profile.name}.csv",
                      comparison.to_csv(index=False))
    print(comparison.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


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
    bench.add_argument("--train-on", default=None, choices=list(MEMBERS), help="cross-dataset: train on A ...")
    bench.add_argument("--test-on", default=None, choices=list(MEMBERS), help="... and test on B (3 classes)")
    for member in MEMBERS:
        bench.add_argument(f"--root-{member}", type=Path, default=None,
                           help=f"{member} folder (none of the three: SYNTHETIC stand-ins in each release's layout)")
    rep.set_defaults(func=_reproduce)
