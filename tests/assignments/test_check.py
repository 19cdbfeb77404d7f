"""tsfmicro_lite/check.py: the re-export keeps every name the notebooks call, and no registry copy."""
from __future__ import annotations

import re
from pathlib import Path

from tsfmicro_lite import check
from tsfmicro_lite.assignments import checks

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/assignments/**/*.ipynb")])


def test_every_name_the_notebooks_call_is_exported():
    used = {name for nb in NOTEBOOKS for name in re.findall(r"\bcheck\.([A-Za-z_]\w*)\(", nb.read_text("utf-8"))}
    assert {"uf1", "retention_recurrent", "fusion_variant"} <= used, "the notebooks' spelling changed; update"
    missing = sorted(n for n in used if not callable(getattr(check, n, None)))
    assert not missing, f"notebooks call check.{missing}, which tsfmicro_lite.check does not export"


def test_reexport_is_the_registered_checks():
    for ex_id, fn in checks.registered().items():
        assert getattr(check, fn.__name__) is fn, ex_id
    assert set(check.__all__) >= {fn.__name__ for fn in checks.registered().values()} | {"CheckResult"}
    assert not hasattr(check, "CHECKS")
