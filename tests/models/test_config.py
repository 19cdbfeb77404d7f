"""``ModelConfig`` and its presets (tsfmicro_lite.models.config): names, checks, documented sizes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tsfmicro_lite.models import build_model, count_parameters, get_preset, list_presets
from tsfmicro_lite.models import config as config_module
from tsfmicro_lite.train.profiles import get_profile, list_profiles


def test_presets_paper_first_then_cpu_sized():
    assert list_presets()[0] == "paper" and {"small", "tiny", "micro"} <= set(list_presets())
    sizes = [get_preset(p).img_size for p in list_presets()]
    assert sizes == sorted(sizes, reverse=True), "presets are listed from the largest down"


def test_config_errors_name_the_field_and_the_fix():
    with pytest.raises(TypeError, match=r"unknown ModelConfig field 'fusion_opp'\. Did you mean 'fusion_op'\?"):
        build_model("late", 3, fusion_opp="gate")
    with pytest.raises(ValueError, match=r"unknown ModelConfig\.fusion_op 'sum'\. .*Expected one of: add, concat"):
        build_model("late", 3, preset="tiny", fusion_op="sum")
    with pytest.raises(ValueError, match=r"img_size=100 must be a multiple of 16"):
        build_model("late", 3, preset="tiny", img_size=100)
    with pytest.raises(ValueError, match=r"unknown preset 'mikro'\. Did you mean 'micro'\?"):
        get_preset("mikro")


def _documented_counts() -> dict[str, int]:
    """``preset -> late/5-class parameter count`` read from the comments above each entry of ``PRESETS``."""
    source = Path(config_module.__file__).read_text(encoding="utf-8")
    body = source[source.index("PRESETS: dict"):]
    found, comment = {}, ""
    for line in body.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            comment += " " + stripped
        elif m := re.match(r'"(\w+)": ModelConfig\(', stripped):
            count = re.search(r"late/5-class ([\d,]+) param", comment)
            found[m.group(1)] = int(count.group(1).replace(",", "")) if count else -1
            comment = ""
        elif stripped == "}":
            break
    return found


def test_every_preset_documents_its_parameter_count():
    documented = _documented_counts()
    assert set(documented) == set(list_presets())
    for name, count in documented.items():
        assert count == count_parameters(build_model("late", 5, preset=name)), name


def test_micro_is_the_model_the_quick_profile_used_to_hide():
    # the quick profile trained tiny + (img_size 32, embed_dims 8/16/32/64, head_hidden 64): same values,
    # so the same numbers, now under a name
    assert get_preset("micro") == get_preset("tiny").replace(img_size=32, embed_dims=(8, 16, 32, 64),
                                                              head_hidden=64)
    assert get_profile("quick").model_preset == "micro"
    assert all(get_profile(p).model_preset in list_presets() for p in list_profiles())
