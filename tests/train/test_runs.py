"""Run-folder names, one rule for the CLI, ``reproduce`` and the notebooks (tsfmicro_lite.train.runs)."""
from __future__ import annotations

import json
from pathlib import Path

from tsfmicro_lite.train.loso import data_fingerprint
from tsfmicro_lite.train.profiles import get_profile
from tsfmicro_lite.train.runs import HASH_CHARS, run_dir, runs_root
from tsfmicro_lite.train.toy import toy_data
from tsfmicro_lite.utils.paths import cache_dir

ROOT = Path(__file__).resolve().parents[2]


def test_the_name_says_task_recipe_model_and_data():
    data = toy_data(num_subjects=3)
    folder = run_dir("runs", "synthme", 3, "late", "quick", data)
    assert folder == Path("runs") / f"synthme-c3-late-quick-micro-{data_fingerprint(data)[:HASH_CHARS]}"
    assert run_dir("runs", "synthme", 3, "late", get_profile("quick"), data) == folder   # name or profile
    assert run_dir("runs", "synthme", 3, "late", "quick", data_fingerprint(data)) == folder  # or the hash
    assert run_dir("runs", "synthme", 3, "late", "quick", data, preset="micro") == folder


def test_anything_that_changes_the_result_changes_the_folder():
    data = toy_data(num_subjects=3)
    base = run_dir("runs", "synthme", 3, "late", "quick", data)
    others = [run_dir("runs", "synthme", 5, "late", "quick", data),
              run_dir("runs", "casme2", 3, "late", "quick", data),
              run_dir("runs", "synthme", 3, "early", "quick", data),
              run_dir("runs", "synthme", 3, "late", "full", data),
              run_dir("runs", "synthme", 3, "late", "quick", data, preset="tiny"),
              run_dir("runs", "synthme", 3, "late", "quick", toy_data(num_subjects=3, seed=1))]
    assert len({base, *others}) == 1 + len(others)


def test_notebook_runs_live_in_the_cache():
    assert runs_root() == cache_dir() / "runs"
    assert run_dir(None, "synthme", 3, "late", "quick", "ab" * 20).parent == runs_root()
    assert runs_root("06") == cache_dir() / "runs" / "06"


def test_notebooks_never_build_run_paths_by_hand():
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for needle in ('/ "runs"', "fingerprint()[:", "-c{CLASSES}-"):
            assert needle not in code, f"{path.name} builds a run path by hand ({needle!r}); use train.runs.run_dir"
