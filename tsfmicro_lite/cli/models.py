"""``tsfmicro models``: the variants and presets with their parameter counts, or one variant's traced wiring."""
from __future__ import annotations

import argparse

from .choices import PRESETS, VARIANTS

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from ..models import build_model, count_parameters, list_presets, list_variants  # lazy: torch; not for --help
    from ..models.wiring import variant_stages  # lazy: as above

    if args.trace:
        print(f"{args.trace} ({args.preset} preset, {args.classes} classes): stage → output shape")
        for name, shape in variant_stages(args.trace, preset=args.preset, num_classes=args.classes):
            print(f"  {name:<26} {tuple(shape)}")
        return 0
    presets = list_presets()
    print(f"parameters by variant and preset ({args.classes} classes)")
    print(f"{'variant':<16}" + "".join(f"{p:>14}" for p in presets))
    for variant in list_variants():
        counts = [count_parameters(build_model(variant, args.classes, preset=p)) for p in presets]
        print(f"{variant:<16}" + "".join(f"{n:>14,}" for n in counts))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tsfmicro models``."""
    parser = subparsers.add_parser("models", help="list model variants and presets with parameter counts",
                                   description=__doc__)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--trace", metavar="VARIANT", choices=VARIANTS,
                        help="print one variant's stages and tensor shapes: " + " | ".join(VARIANTS))
    parser.add_argument("--preset", default="tiny", choices=PRESETS, help="preset for --trace (default tiny)")
    parser.set_defaults(func=_run)
