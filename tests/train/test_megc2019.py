"""The MEGC2019 composite and cross-dataset runs (tsfmicro_lite.train.megc2019, ``tsfmicro reproduce --task megc2019``):
per-dataset rows, root errors, and both protocols end to end on the SYNTHETIC stand-ins (SAMM / SMIC-HS layouts)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsfmicro_lite import metrics as M
from tsfmicro_lite.cli import main as cli
from tsfmicro_lite.data import DatasetError
from tsfmicro_lite.train.megc2019 import _per_dataset_rows, benchmark_roots


def test_per_dataset_rows_score_each_datasets_share_of_the_pooled_predictions():
    rng = np.random.default_rng(0)
    n = 30
    y_true, y_pred = rng.integers(0, 3, n), rng.integers(0, 3, n)
    datasets = np.array(["casme2"] * 12 + ["samm"] * 10 + ["smic"] * 8)
    predictions = pd.DataFrame({"protocol": "honest", "serves": "accuracy+uf1+uar", "fold": np.arange(n) // 5,
                                "sample": np.arange(n), "y_true": y_true, "y_pred": y_pred})
    rows = {r["part"]: r for r in _per_dataset_rows(predictions, datasets, {"variant": "late"})}
    assert list(rows) == ["casme2", "samm", "smic"]
    for part, row in rows.items():
        mine = datasets == part
        expected = M.score(y_true[mine], y_pred[mine])
        assert row["n"] == mine.sum() and row["variant"] == "late" and row["fold"] == "pooled"
        assert (row["uf1"], row["uar"], row["accuracy"]) == (expected["uf1"], expected["uar"], expected["accuracy"])


def test_roots_are_all_given_or_none(tmp_path):
    with pytest.raises(DatasetError, match=r"--root-samm, --root-smic missing.*or none of them for the SYNTHETIC"):
        benchmark_roots(("casme2", "samm", "smic"), {"casme2": tmp_path, "samm": None})
    with pytest.raises(DatasetError, match=r"unknown megc2019 member 'casme3'"):
        benchmark_roots(("casme2",), {"casme3": tmp_path})


def test_train_on_needs_test_on(capsys):
    assert cli(["reproduce", "--train-on", "casme2"]) == 2
    assert "--train-on and --test-on go together" in capsys.readouterr().err


def test_selection_flag_reaches_the_composite_and_its_error_names_the_flag(tmp_path, capsys):
    # the stand-ins' clip names are not in the published list: asking for it fails before training, naming the fix
    args = ["reproduce", "--task", "megc2019", "--selection", "megc2019", "--profile", "quick", "--max-folds", "1",
            "--device", "cpu", "--out", str(tmp_path)]
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert "is in the MEGC2019 list" in err and "--selection mapping" in err
    assert not list(tmp_path.glob("megc2019-*"))


@pytest.mark.slow
def test_reproduce_megc2019_and_a_cross_dataset_run_on_the_synthetic_stand_ins(tmp_path, capsys):
    quick = ["--variant", "late", "--profile", "quick", "--protocol", "honest", "--epochs", "1", "--max-folds", "1",
             "--device", "cpu", "--out", str(tmp_path)]
    assert cli(["reproduce", "--task", "megc2019", *quick]) == 0
    out = capsys.readouterr().out
    assert "megc2019: UF1 / UAR pooled" in out and "SYNTHETIC data" in out
    shown = pd.read_csv(tmp_path / "reproduce-megc2019-quick.csv")
    assert set(shown["task"]) == {"megc2019", "casme2-to-samm", "samm-to-casme2", "within-samm", "within-casme2"}
    assert set(shown["data_kind"]) == {"SYNTHETIC"}
    composite = shown[shown["task"] == "megc2019"]
    assert list(composite["part"]) == ["all", "casme2", "samm", "smic"]
    assert composite.set_index("part")["n"].drop("all").sum() == composite.set_index("part").loc["all", "n"]
    assert shown.loc[shown["task"] == "casme2-to-samm", "part"].tolist() == ["samm"]  # one dataset tested
    assert shown[["uf1", "uar"]].notna().all().all()
    # each run's results.csv holds its per-dataset rows next to the pooled one
    run = next(p for p in tmp_path.iterdir() if p.name.startswith("megc2019-c3-late-quick-"))
    results = pd.read_csv(run / "results.csv")
    assert set(results.loc[results["fold"] == "pooled", "part"]) == {"all", "casme2", "samm", "smic"}

    assert cli(["reproduce", "--train-on", "samm", "--test-on", "casme2", *quick]) == 0
    one = pd.read_csv(tmp_path / "reproduce-samm-to-casme2-quick.csv")
    assert set(one["task"]) == {"samm-to-casme2", "within-casme2"}
