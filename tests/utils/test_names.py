"""One way to say "that name is not known" (tsfmicro_lite.utils.names), used by every registry."""
from __future__ import annotations

import re

import pytest

from tsfmicro_lite.data import DatasetError, get_spec
from tsfmicro_lite.models import build_model, get_preset
from tsfmicro_lite.synth import SynthError
from tsfmicro_lite.synth import get_profile as get_synth_profile
from tsfmicro_lite.train.profiles import get_profile
from tsfmicro_lite.train.reproduce import resolve_variants
from tsfmicro_lite.utils.names import UnknownNameError, unknown


def test_message_says_expected_got_closest_and_fix():
    err = unknown("colour", "gren", ["red", "green", "blue"], hint="Colours are lower case.")
    assert isinstance(err, UnknownNameError) and isinstance(err, ValueError) and isinstance(err, KeyError)
    assert str(err) == ("unknown colour 'gren'. Did you mean 'green'? Expected one of: red, green, blue. "
                        "Colours are lower case.")
    assert str(unknown("colour", "zzz", ["red"])) == "unknown colour 'zzz'. Expected one of: red."
    assert isinstance(unknown("x", "y", ["z"], error=DatasetError), DatasetError)


# Every registry of names, looked up with a misspelt name: (lookup, kind, misspelt, closest, error type).
REGISTRIES = [
    (lambda n: build_model(n, 3), "variant", "lat", "late", ValueError),
    (resolve_variants, "variant", "spatial", "spatial_only", ValueError),
    (get_preset, "preset", "tiney", "tiny", ValueError),
    (lambda n: build_model("late", 3, preset=n), "preset", "mikro", "micro", ValueError),
    (get_profile, "training profile", "quik", "quick", ValueError),
    (get_synth_profile, "SynthME profile", "quikc", "quick", SynthError),
    (get_spec, "dataset", "cosme2", "casme2", DatasetError),
]


@pytest.mark.parametrize("lookup, kind, name, closest, error", REGISTRIES, ids=[r[1] + ":" + r[2] for r in REGISTRIES])
def test_every_registry_raises_in_the_one_style(lookup, kind, name, closest, error):
    with pytest.raises(error) as info:
        lookup(name)
    pattern = rf"^unknown {re.escape(kind)} '{name}'\. Did you mean '{closest}'\? Expected one of: .*{closest}"
    assert re.match(pattern, str(info.value)), str(info.value)
