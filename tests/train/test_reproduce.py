"""The paper-number table, comparisons, and the quick profile's measured margin (tsfmicro_lite.train.reproduce)."""
from __future__ import annotations

import pytest

from tsfmicro_lite.data import load_dataset
from tsfmicro_lite.models import list_variants
from tsfmicro_lite.preprocess.official import write_cropped_copy
from tsfmicro_lite.synth import make_synthme
from tsfmicro_lite.train.loso import evaluate_run, run_loso
from tsfmicro_lite.train.profiles import get_profile
from tsfmicro_lite.train.reproduce import (
    comparison_table,
    majority_rows,
    model_input_size,
    paper_results,
    prepare_task,
    reproduce,
    resolve_variants,
    train_variant,
)
from tsfmicro_lite.train.runs import run_dir
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig


def test_paper_results_are_empty_or_sourced():
    table = paper_results()
    assert {"dataset", "classes", "variant", "metric", "value", "source"} <= set(table.columns)
    filled = table[table["value"].notna()]
    peer = filled["variant"].str.startswith("peer:")
    assert filled.loc[~peer, "source"].str.contains("arXiv 2505.16372").all(), "every quoted value needs its table/page"
    # a peer's figure names its own paper or README, with the table (or page) it was read from
    assert filled.loc[peer, "source"].str.contains(r"[Tt]able|p\. \d|README", regex=True).all()
    assert table.loc[table["value"].isna(), "source"].str.contains("NOT RETRIEVED").all()


def test_comparison_labels_synthetic_and_quoted(tmp_path):
    res = run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3), TrainConfig(epochs=2, device="cpu"),
                   protocols=("honest",), meta={"dataset": "synthme", "variant": "late", "classes": 3},
                   verbose=False)
    table = comparison_table(res.results)
    assert "kit honest (SYNTHETIC)" in table.columns
    assert "paper casme2 (QUOTED)" in table.columns
    assert table["paper casme2 (QUOTED)"].isna().all()   # nothing quoted that was not checked


def test_evaluate_rescoring_a_run(tmp_path):
    run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3), TrainConfig(epochs=3, device="cpu"),
             out_dir=tmp_path / "r", verbose=False)
    res = evaluate_run(tmp_path / "r", ("honest", "paper"))
    pooled = res.pooled()
    assert set(pooled["protocol"]) == {"honest", "paper"}
    assert (pooled.set_index("protocol").loc["paper", "accuracy"]
            >= pooled.set_index("protocol").loc["honest", "accuracy"])
    with pytest.raises(FileNotFoundError, match="not a tsfmicro run folder"):
        evaluate_run(tmp_path / "nothing")


@pytest.mark.slow
def test_quick_profile_full_model_beats_majority_and_spatial_only():
    """The acceptance check: on SynthME quick, the full (late) model's honest pooled UF1 clearly
    beats the majority-class baseline and the spatial-only ablation (measured, see the report)."""
    prof = get_profile("quick")
    data = prepare_task("synthme", classes=3, size=model_input_size(prof), profile=prof)
    late = train_variant(data, "late", profile=prof, verbose=False).pooled("honest").iloc[0]
    spatial = train_variant(data, "spatial_only", profile=prof, verbose=False).pooled("honest").iloc[0]
    majority = majority_rows(data, "synthme")
    print(f"SYNTHETIC quick: late UF1 {late.uf1:.3f}, spatial_only {spatial.uf1:.3f}, majority {majority['uf1']:.3f}")
    assert late.uf1 - majority["uf1"] >= 0.12, (late.uf1, majority["uf1"])
    assert late.uf1 - spatial.uf1 >= 0.10, (late.uf1, spatial.uf1)


def test_synthme_read_through_the_casme2_reader_is_still_labelled_synthetic():
    """Honest labels: a SynthME folder passed as --dataset casme2 --root ... must not be reported as real."""
    prof = get_profile("quick")
    data = prepare_task("casme2", make_synthme(profile=prof.synth_profile), classes=3,
                        size=model_input_size(prof), profile=prof)
    assert data.data_kind("casme2") == "synthetic"
    assert majority_rows(data, "casme2")["data_kind"] == "synthetic"


def test_all_means_every_registered_variant_and_names_are_checked():
    assert resolve_variants("all") == list_variants()
    assert resolve_variants(["late", "spatial_only"]) == ["late", "spatial_only"]
    with pytest.raises(ValueError, match=r"unknown variant 'latte'\. Did you mean 'late'\?.*Or 'all'"):
        resolve_variants("latte")
    with pytest.raises(ValueError, match=r"unknown dataset 'cosme2'\. Did you mean 'casme2'\?"):
        prepare_task("cosme2", "/nowhere")


def test_reproduce_writes_each_variant_to_its_run_dir(tmp_path):
    """``reproduce`` names its run folders with ``run_dir``, so a notebook finds them by the same call."""
    prof = get_profile("quick")
    data = prepare_task("synthme", classes=3, size=model_input_size(prof), profile=prof)
    table = reproduce("synthme", None, 3, ["late"], ("honest",), "quick", out_dir=tmp_path, data=data,
                      max_folds=1, epochs=1, device="cpu", verbose=False)
    folder = run_dir(tmp_path, "synthme", 3, "late", "quick", data)
    assert (folder / "predictions.csv").exists(), sorted(p.name for p in tmp_path.iterdir())
    assert set(table["preset"].dropna()) == {"micro"}
    assert set(table["faces"]) == {"align"} and set(table["frame_search"]) == {"off"}  # every row: its data path



def test_paper_preset_switches_on_the_official_data_path_and_every_row_records_it():
    """Under the paper preset the training folds get the official frame-pair search (uint8 wrap-around, on
    cached candidates) and nearest rotation; the kit's defaults elsewhere; each results row says which."""
    prof = get_profile("quick")
    quick = prepare_task("synthme", classes=3, size=model_input_size(prof), profile=prof)
    faithful = prepare_task("synthme", classes=3, size=model_input_size(prof), profile=prof, preset="paper")
    assert quick.data_path() == {"faces": "align", "frame_search": "off", "rotation": "none (no augmentation)"}
    assert faithful.data_path() == {"faces": "align", "frame_search": "official", "rotation": "none (no augmentation)"}
    assert "not cropped" in faithful.faces_note and faithful.prepared.onset_candidates is not None
    faithful.augment = True
    train = faithful.dataset(faithful.labels.nonzero()[0][:4], train=True)
    assert train.pair_search and train.wraparound and train.augment.interpolation == "nearest"
    assert not faithful.dataset([0, 1], train=False).pair_search  # test folds: the annotated frames
    assert quick.dataset([0, 1], train=True).pair_search is False
    row = majority_rows(faithful, "synthme")
    assert (row["faces"], row["frame_search"]) == ("align", "official")


@pytest.mark.slow
def test_paper_preset_reads_the_release_crops_where_the_copy_has_them(tmp_path):
    """A SynthME copy in the official crop layout: the paper preset takes faces='dataset' and says so."""
    prof = get_profile("quick")
    df = load_dataset("synthme", make_synthme(profile=prof.synth_profile), classes=3)
    root = write_cropped_copy(df[df["subject"].isin(["sub01", "sub02"])], tmp_path / "synthme_official")
    data = prepare_task("synthme", root, classes=3, size=32, profile=prof, preset="paper")
    assert data.faces == "dataset" and "release's own crops" in data.faces_note
    assert set(data.prepared.sources) == {"dataset"} and data.data_kind("synthme") == "synthetic"
    assert prepare_task("synthme", root, classes=3, size=32, profile=prof).faces == "align"  # the kit's default
