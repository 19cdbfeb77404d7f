"""What ``tsfmicro train``, ``evaluate`` and ``reproduce`` do once parsed (the flags: ``cli/train.py``).

This module imports torch, pandas and the data stack at the top; ``cli/train.py`` imports it only when
one of its commands runs, so ``tsfmicro --help`` never pays for them. Cheap checks come first: every bad
value fails before any data loads, in one line naming the flag (``_check_values``, then ``_setup``).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

from ..data import DatasetError, get_mapping, load_dataset
from ..data.composite import COMPOSITE as MEGC2019
from ..data.composite import MEMBERS
from ..preprocess.faces import FrameReadError
from ..train.checkpoints import RunMismatchError
from ..train.loso import MAX_SEED, evaluate_run, provenance_note
from ..train.megc2019 import CROSS_PAIRS, benchmark_table, reproduce_megc2019
from ..train.parallel import ParallelPlan, resolve_parallel
from ..train.profiles import get_profile
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
from ..train.trainer import CUBLAS_DETERMINISTIC, autocast_dtype
from ..utils.allocator import tune_this_process
from ..utils.device import resolve_device
from ..utils.io import atomic_path, atomic_write_text
from ..viz.training import plot_run

__all__ = ["run_train", "run_evaluate", "run_reproduce"]


def _protocols(value: str) -> tuple[str, ...]:
    return tuple(PROTOCOLS) if value == "both" else (value,)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


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
    print(_data_summary(data))
    return variants, profile, data


def _data_summary(data) -> str:
    """What the run trains on, before it starts: the load report's counts (rows kept, skipped, fixed; the copy
    read) and the prepare summary (how each face was found: dlib or which counted fallback; the face path)."""
    lines = []
    report = getattr(data.table, "attrs", {}).get("report") if data.table is not None else None
    if report is not None and hasattr(report, "rows_read"):
        fixed = sum(report.fixes.values())
        lines.append(f"data: {report.dataset} ({report.num_classes} classes), {report.rows_kept} samples from "
                     f"{data.table['subject'].nunique()} subjects; sheet rows read {report.rows_read}, skipped "
                     f"{report.rows_skipped}, fixes {fixed}; frames under {report.frames_base} ({report.layout} "
                     f"layout). `tsfmicro data check` lists every skip and fix.")
    lines.append(data.prepared.summary())
    if data.faces_note:
        lines.append(f"  face path: {data.faces_note}")
    return "\n".join(lines)


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
    if args.deterministic:   # ":4096:8" unless ":16:8" is set; children (--parallel) inherit it
        if os.environ.get("CUBLAS_WORKSPACE_CONFIG") not in CUBLAS_DETERMINISTIC:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_DETERMINISTIC[0]


def run_train(args: argparse.Namespace) -> int:
    """``tsfmicro train``: LOSO of each variant into its run folder (resumed if it exists); the exit code."""
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


def run_evaluate(args: argparse.Namespace) -> int:
    """``tsfmicro evaluate``: re-score a run folder under a protocol, no training; the exit code."""
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
    ignored = _benchmark_ignores(args)
    if ignored:
        return _fail(ignored)
    pair = f"{args.train_on}-to-{args.test_on}" if args.train_on else MEGC2019
    roots = {"casme2": args.root_casme2, "samm": args.root_samm, "smic": args.root_smic}
    try:
        _launcher(args)   # the allocator, and cuBLAS's deterministic workspace before CUDA starts
        resolve_device(args.device)
        members = (args.train_on, args.test_on) if args.train_on else MEMBERS
        if all(roots[m] is not None for m in members):  # real copies: say which samples the runs will hold
            composite = load_dataset(MEGC2019, roots={m: roots[m] for m in members},
                                     selection=args.selection or "megc2019")
            print(str(composite.attrs["report"]).split("\n\n")[0])
        table = reproduce_megc2019(roots, args.variant, _protocols(args.protocol), args.profile, out_dir=args.out,
                                   preset=args.preset, cross=[(args.train_on, args.test_on)] if args.train_on
                                   else CROSS_PAIRS, composite=not args.train_on,
                                   subjects_per_dataset=args.max_folds, selection=args.selection,
                                   **_overrides(args))
    except (ValueError, RuntimeError, DatasetError, FileNotFoundError, FrameReadError, RunMismatchError) as exc:
        return _fail(str(exc))
    shown = benchmark_table(table)
    atomic_write_text(args.out / f"reproduce-{pair}-{args.profile}.csv", shown.to_csv(index=False))
    kinds = " / ".join(sorted(set(shown["data_kind"])))
    print(f"== {pair}: UF1 / UAR pooled (part = all) and per dataset, {kinds} data; per-dataset rows are in each "
          f"run's results.csv")
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


def _benchmark_ignores(args: argparse.Namespace) -> str:
    """The message for flags ``--task megc2019`` / ``--train-on`` would silently ignore, or ""."""
    given = [flag for flag, used in (("--root", args.root is not None), ("--sheet", args.sheet is not None),
                                     ("--dataset", args.dataset != "synthme"), ("--paper-lists", args.paper_lists))
             if used]
    if given:
        return (f"{', '.join(given)}: for one dataset's runs only; the MEGC2019 / cross-dataset runs read one "
                f"folder per member: pass --root-casme2, --root-samm and --root-smic (none of them: the SYNTHETIC "
                f"stand-ins), and leave {', '.join(given)} out.")
    if args.classes != 3:
        return f"--classes {args.classes}: the MEGC2019 and cross-dataset runs are 3-class (leave --classes out)."
    if args.faces == "dataset":
        return ("--faces dataset: the MEGC2019 and cross-dataset runs align every member's faces with dlib "
                "(--faces align); the release crops path is per dataset: tsfmicro reproduce --dataset X --root R "
                "--faces dataset.")
    return ""


def run_reproduce(args: argparse.Namespace) -> int:
    """``tsfmicro reproduce``: every variant next to the paper's numbers, or a field benchmark; the exit code."""
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
