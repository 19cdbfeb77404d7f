"""``tsfmicro data synth`` and ``tsfmicro data check``: generate SynthME, or check a dataset folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from .choices import DATASETS, SYNTH_PROFILES

__all__ = ["register"]


def _synth(args: argparse.Namespace) -> int:
    from ..synth import make_synthme  # lazy: numpy, cv2 and the generator; not for --help

    root = make_synthme(root=args.out, profile=args.synth_profile, seed=args.seed, force=args.force)
    print(f"synthetic dataset ({args.synth_profile}, seed {args.seed}) at {root}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..data import DatasetError, dataset_report  # lazy: pandas and the readers; not for --help

    try:
        print(dataset_report(args.dataset, args.root, classes=args.classes, sheet=args.sheet,
                             skip_bad_rows=args.skip_bad_rows, layout=args.layout,
                             frame_tolerance=args.frame_tolerance))
    except DatasetError as exc:
        print(f"error: {exc}")
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tsfmicro data synth`` and ``tsfmicro data check``."""
    data = subparsers.add_parser("data", help="generate the synthetic dataset or check a dataset folder")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    synth = sub.add_parser("synth", help="generate the embedded synthetic dataset (SynthME)")
    synth.add_argument("--synth-profile", "--profile", dest="synth_profile", default="quick",
                       choices=SYNTH_PROFILES, help="SynthME data size")
    synth.add_argument("--out", type=Path, default=None, help="output folder (default: the kit's cache)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--force", action="store_true", help="regenerate even if a complete copy exists")
    synth.set_defaults(func=_synth)

    check = sub.add_parser("check", help="load a dataset and print samples per class/subject, skips, missing frames")
    check.add_argument("--dataset", required=True, help=" | ".join(DATASETS))
    check.add_argument("--root", type=Path, default=None, help="dataset folder (synthme: optional)")
    check.add_argument("--classes", type=int, default=3)
    check.add_argument("--sheet", type=Path, default=None, help="annotation sheet, if not found by name")
    check.add_argument("--layout", choices=["auto", "cropped", "raw"], default="auto",
                       help="which frame folders to read (auto prefers a complete Cropped release)")
    check.add_argument("--frame-tolerance", type=int, default=3,
                       help="use the nearest existing frame within this many frames of an annotated one")
    check.add_argument("--skip-bad-rows", action="store_true",
                       help="skip (and count) invalid sheet rows instead of stopping at the first")
    check.set_defaults(func=_check)
