"""Partial runs, orphaned fold files, bad fold caps and seeds, absent classes and the official LOSO lists
(issue 14): each is refused with the folder / value named, labelled as partial, or warned about."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tsfmicro_lite.preprocess.pipeline import PreparedClips, PrepConfig
from tsfmicro_lite.train.checkpoints import RunMismatchError
from tsfmicro_lite.train.loso import MAX_SEED, evaluate_run, fold_seed, run_loso
from tsfmicro_lite.train.reproduce import PreparedLosoData, reproduce
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig

CFG = dict(epochs=2, batch_size=16, lr=2e-2, weight_decay=0.01, device="cpu", seed=3)


class Stop(RuntimeError):
    pass


def _half_run(folder, num_subjects: int = 3):
    """A run killed after its first fold: 1 of ``num_subjects`` folds on disk."""
    def stop(fold, history):
        raise Stop("killed after fold 0")

    with pytest.raises(Stop):
        run_loso(toy_data(num_subjects=num_subjects), lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=folder,
                 verbose=False, on_fold_end=stop)


def test_evaluate_refuses_a_half_finished_run_unless_partial(tmp_path):
    _half_run(tmp_path / "run")
    with pytest.raises(ValueError, match=r"run: only 1 of 3 folds finished \(missing: s01, s02\); .*--partial"):
        evaluate_run(tmp_path / "run")
    res = evaluate_run(tmp_path / "run", partial=True)
    summary = res.results[res.results["fold"] == "partial"]
    assert len(summary) == 1 and summary["subject"].iloc[0] == "1 of 3 folds"
    assert not (res.results["fold"] == "pooled").any() and res.pooled().empty


def test_fold_files_without_run_json_are_not_adopted(tmp_path):
    folder = tmp_path / "run"
    run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=folder, verbose=False,
             max_folds=1)
    (folder / "run.json").unlink()
    with pytest.raises(RunMismatchError, match=rf"{folder} holds 1 fold results and 1 checkpoints \(e\.g\. "
                                               r"fold_00_s00\.json\) but no run\.json.*delete .*folds"):
        run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3), TrainConfig(**{**CFG, "lr": 0.5}),
                 out_dir=folder, verbose=False, max_folds=1)


@pytest.mark.parametrize("cap", [0, -1])
def test_max_folds_below_one_is_refused(cap):
    with pytest.raises(ValueError, match=rf"max_folds \(--max-folds\) must be at least 1, got {cap}"):
        run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3), TrainConfig(**CFG), verbose=False, max_folds=cap)


def test_seed_range_follows_the_per_fold_seeding():
    assert fold_seed(MAX_SEED, 999) < 2**32
    for bad in (-1, MAX_SEED + 1):
        with pytest.raises(ValueError, match=rf"seed must be between 0 and {MAX_SEED}.*got {bad}"):
            fold_seed(bad, 0)


def test_a_class_absent_from_a_folds_training_subjects_is_warned_about():
    data = toy_data(num_subjects=3)
    data.labels = np.where(data.subjects == "s01", 2, data.labels % 2)  # class 2 only in subject s01
    with pytest.warns(UserWarning, match=r"fold 1 \(s01\): no training sample of class 2; the model cannot learn"):
        run_loso(data, lambda: ToyFusion(3), TrainConfig(**{**CFG, "epochs": 1}), verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every class in every fold's training side: no warning
        run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3), TrainConfig(**{**CFG, "epochs": 1}), verbose=False,
                 max_folds=1)


def _casme2_like(subjects: list[str], per_subject: int = 3, size: int = 32) -> PreparedLosoData:
    """Prepared clips of fake CASME II subjects (random pixels): enough to drive the LOSO machinery."""
    n = len(subjects) * per_subject
    rng = np.random.default_rng(0)
    clips = PreparedClips(
        onset=rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
        apex=rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
        labels=np.arange(n, dtype=np.int64) % 3, subjects=np.repeat(subjects, per_subject),
        clips=np.array([f"EP{i:02d}" for i in range(n)]), report={}, config=PrepConfig(size=size),
        classes=["positive", "surprise", "negative"], datasets=np.array(["casme2"] * n))
    return PreparedLosoData(clips, augment=False, synthetic=True)


def test_reproduce_paper_lists_drops_the_subject_the_official_casme2_3class_list_never_tests(monkeypatch):
    # CASME II 3-class: the official list skips sub18, so with --paper-lists it is trained on, never tested.
    # Training is replaced by a recorder (the folds, not the model, are under test), so this runs in a second.
    from tsfmicro_lite.train import reproduce as rep  # lazy: the module itself, to patch its run_loso

    data = _casme2_like([f"sub{i:02d}" for i in range(1, 27)], per_subject=1)
    seen: dict[bool, list[str]] = {}

    def record(data, factory, config, *, test_subjects=None, **kwargs):
        folds = rep.loso_folds(data.subjects, test_subjects)
        seen[test_subjects is not None] = [f.subject for f in folds]
        return type("R", (), {"results": rep.pd.DataFrame(), "summary": lambda self: ""})()

    monkeypatch.setattr(rep, "run_loso", record)
    kw = dict(dataset="casme2", classes=3, variants=["late"], protocols=("honest",), profile="quick", data=data,
              verbose=False)
    every = reproduce(**kw)
    official = reproduce(**kw, paper_lists=True)
    assert "sub18" in seen[False] and len(seen[False]) == 26
    assert "sub18" not in seen[True] and len(seen[True]) == 25
    n = lambda t: int(t[t["variant"] == "majority_class"]["n"].iloc[0])  # noqa: E731
    assert (n(every), n(official)) == (26, 25)  # the baseline is scored on the same test subjects


def test_run_json_records_the_folds_evaluate_counts(tmp_path):
    _half_run(tmp_path / "run", num_subjects=4)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["folds"] == ["s00", "s01", "s02", "s03"]
    with pytest.raises(ValueError, match=r"only 1 of 4 folds finished"):
        evaluate_run(tmp_path / "run")
