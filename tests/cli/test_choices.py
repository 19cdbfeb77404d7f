"""The CLI's names (tsfmicro_lite.cli.choices) are the registries' names, and ``--help`` loads no torch."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tsfmicro_lite.cli import choices
from tsfmicro_lite.data import list_datasets
from tsfmicro_lite.data.composite import COMPOSITE, MEMBERS, SELECTIONS
from tsfmicro_lite.models import list_presets, list_variants
from tsfmicro_lite.preprocess.pipeline import FACES
from tsfmicro_lite.synth import list_synth_profiles
from tsfmicro_lite.train.parallel import ENGINES
from tsfmicro_lite.train.profiles import get_profile, list_profiles
from tsfmicro_lite.train.protocol import PROTOCOLS
from tsfmicro_lite.train.trainer import AMP_CHOICES, INPUT_PIPELINES

# cli/choices.py name -> what its registry holds now
REGISTRIES = {
    "DATASETS": lambda: list_datasets(),
    "VARIANTS": lambda: list_variants(),
    "PRESETS": lambda: list_presets(),
    "PROFILES": lambda: {name: get_profile(name).model_preset for name in list_profiles()},
    "SYNTH_PROFILES": lambda: list_synth_profiles(),
    "PROTOCOLS": lambda: PROTOCOLS,
    "AMP": lambda: AMP_CHOICES,
    "INPUT_PIPELINES": lambda: INPUT_PIPELINES,
    "ENGINES": lambda: ENGINES,
    "FACES": lambda: FACES,
    "MEGC2019": lambda: COMPOSITE,
    "MEMBERS": lambda: MEMBERS,
    "SELECTIONS": lambda: SELECTIONS,
}


def test_every_name_list_is_checked_here():
    assert set(REGISTRIES) == set(choices.__all__)


@pytest.mark.parametrize("name", sorted(REGISTRIES))
def test_each_name_list_equals_its_registry(name):
    held, registry = getattr(choices, name), REGISTRIES[name]()
    if isinstance(registry, (list, tuple)):
        held, registry = list(held), list(registry)
    assert held == registry, (f"tsfmicro_lite/cli/choices.py {name} = {held!r} but the registry holds {registry!r}: "
                              f"write the registry's names there, in its order")


# What a `tsfmicro ... --help` process has imported when it exits (run in a fresh interpreter).
_PROBE = """
import json, sys
from tsfmicro_lite.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = ("torch", "pandas", "numpy", "matplotlib", "cv2", "nbformat")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["reproduce", "--help"], ["prepare", "--help"],
                                  ["models", "--help"], ["data", "synth", "--help"], ["train", "--preset", "huge"]],
                         ids=" ".join)
def test_help_and_a_bad_name_import_no_heavy_library(argv):
    """Building the parser reads cli/choices.py only: no torch (~2 s), pandas or numpy before a command runs."""
    run = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == [], run.stdout
