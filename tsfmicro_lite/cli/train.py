"""``tsfmicro train``, ``evaluate`` and ``reproduce``: LOSO from the shell, the same code as notebooks 06/07.

Examples::

    tsfmicro train --dataset synthme --classes 3 --variant late --profile quick --out runs/
    tsfmicro train --dataset casme2 --root ~/data/CASME2 --classes 5 --variant all --profile full \\
                   --protocol paper --device cuda --out runs/
    tsfmicro evaluate --run runs/synthme-c3-late-quick-micro-<hash> --protocol paper
    tsfmicro reproduce --dataset synthme --profile quick --out runs/

``train`` prints each run folder (named by ``train.runs.run_dir``); re-running the command resumes it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

from ..data import DatasetError, get_mapping, list_datasets
from ..models import list_presets, list_variants
from ..train.loso import evaluate_run
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
    p.add_argument("--classes", type=int, default=3, help="class set (CASME II/SAMM 3|5, CAS(ME)^3 4|7)")
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


def _setup(args: argparse.Namespace):
    """Validate cheap things first (device, variant, class count), then load and prepare the data."""
    resolve_device(args.device)
    variants = resolve_variants(args.variant)
    get_mapping(args.dataset, args.classes)
    profile = get_profile(args.profile)
    size = model_input_size(profile, args.preset)
    data = prepare_task(args.dataset, args.root, args.classes, size=size, profile=profile)
    return variants, profile, data


def _overrides(args: argparse.Namespace) -> dict:
    return {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
            "weight_decay": args.weight_decay, "seed": args.seed, "device": args.device,
            "honest_mode": args.honest_mode}


def _train(args: argparse.Namespace) -> int:
    try:
        variants, profile, data = _setup(args)
    except (ValueError, RuntimeError, DatasetError, FileNotFoundError) as exc:
        return _fail(str(exc))
    protocols = _protocols(args.protocol)
    for variant in variants:
        folder = run_dir(args.out, args.dataset, args.classes, variant, profile, data, args.preset)
        print(f"== {variant}: run folder {folder} (re-run the same command to resume)")
        res = train_variant(data, variant, dataset=args.dataset, classes=args.classes, profile=profile,
                            protocols=protocols, out_dir=folder, preset=args.preset,
                            paper_lists=args.paper_lists, max_folds=args.max_folds, **_overrides(args))
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
        res = evaluate_run(args.run, _protocols(args.protocol))
    except (ValueError, FileNotFoundError) as exc:
        return _fail(str(exc))
    cols = ["variant", "protocol", "fold", "subject", "n", "accuracy", "uf1", "uar"]
    print(res.results[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    try:
        variants, profile, data = _setup(args)
    except (ValueError, RuntimeError, DatasetError, FileNotFoundError) as exc:
        return _fail(str(exc))
    table = reproduce(args.dataset, args.root, args.classes, variants, _protocols(args.protocol), profile.name,
                      out_dir=args.out, data=data, preset=args.preset, max_folds=args.max_folds,
                      **_overrides(args))
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
    evaluate.set_defaults(func=_evaluate)

    rep = subparsers.add_parser("reproduce", help="every variant, both protocols, next to the paper's numbers")
    _common(rep)
    rep.set_defaults(variant="all", protocol="both")
    rep.set_defaults(func=_reproduce)
