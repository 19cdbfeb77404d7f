"""The LOSO fold loop, resume after a crash, result tables (tsfmicro_lite.train.loso)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from tsfmicro_lite import metrics as M
from tsfmicro_lite.train.checkpoints import RunFolder, RunMismatchError
from tsfmicro_lite.train.loso import run_loso
from tsfmicro_lite.train.protocol import OptimisticProtocolWarning
from tsfmicro_lite.train.toy import ToyFusion, toy_data
from tsfmicro_lite.train.trainer import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
CFG = dict(epochs=3, batch_size=16, lr=2e-2, weight_decay=0.01, device="cpu", seed=3)
METRICS = ["fold", "subject", "protocol", "n", "accuracy", "uf1", "uar", "epoch_accuracy", "epoch_uf1"]


def test_run_both_protocols_tables_and_labels(tmp_path):
    data = toy_data(num_subjects=4, signal=1.5)
    with pytest.warns(OptimisticProtocolWarning):
        res = run_loso(data, lambda: ToyFusion(3), TrainConfig(**CFG), protocols=("honest", "paper"),
                       out_dir=tmp_path / "run", meta={"variant": "toy"}, verbose=False)
    r = res.results
    assert len(r) == 2 * 4 + 2
    assert set(r["protocol"]) == {"honest", "paper"}
    assert r[r.protocol == "paper"]["protocol_label"].str.contains("OPTIMISTIC").all()
    # pooled honest row = scores of the pooled last-epoch predictions
    p = res.predictions[res.predictions.protocol == "honest"]
    pooled = res.pooled("honest").iloc[0]
    assert pooled["uf1"] == pytest.approx(M.uf1(p.y_true, p.y_pred))
    assert (p.epoch == 3).all()
    # paper >= honest on every fold, by construction (it may pick the last epoch too)
    per = r[r.fold != "pooled"].pivot(index="fold", columns="protocol", values="accuracy")
    assert (per["paper"] >= per["honest"]).all()
    for name in ("results.csv", "results.json", "predictions.csv", "run.json"):
        assert (tmp_path / "run" / name).exists()
    disk = pd.read_csv(tmp_path / "run" / "results.csv")
    for col in ("dataset", "classes", "variant", "protocol", "fold", "seed", "device", "wall_s",
                "kit_version", "git_commit", "uf1", "uar", "accuracy"):
        assert col in disk.columns
    model = RunFolder(tmp_path / "run").load_model(0, lambda: ToyFusion(3))
    assert sum(p.numel() for p in model.parameters()) > 0


def test_two_runs_identical_and_resume_after_crash(tmp_path):
    data = toy_data(num_subjects=4)
    cfg = TrainConfig(**CFG)
    full = run_loso(data, lambda: ToyFusion(3), cfg, out_dir=tmp_path / "a", verbose=False)
    again = run_loso(data, lambda: ToyFusion(3), cfg, out_dir=None, verbose=False)
    pd.testing.assert_frame_equal(full.results[METRICS], again.results[METRICS])

    class Crash(RuntimeError):
        pass

    def crash_after_fold_1(fold, history):
        if fold.index == 1:
            raise Crash("simulated kill after fold 1")

    with pytest.raises(Crash):
        run_loso(data, lambda: ToyFusion(3), cfg, out_dir=tmp_path / "b", verbose=False,
                 on_fold_end=crash_after_fold_1)
    assert len(list((tmp_path / "b" / "folds").glob("*.json"))) == 2
    assert not (tmp_path / "b" / "results.csv").exists()
    resumed = run_loso(data, lambda: ToyFusion(3), cfg, out_dir=tmp_path / "b", verbose=False)
    assert resumed.resumed_folds == [0, 1]
    pd.testing.assert_frame_equal(full.results[METRICS], resumed.results[METRICS])


def test_resume_refuses_a_different_config(tmp_path):
    data = toy_data(num_subjects=3)
    run_loso(data, lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path, verbose=False, max_folds=1)
    only_lr = r"another configuration \(train\.lr: saved=0\.\d+ now=0\.5\)\. Use another --out folder"
    with pytest.raises(RunMismatchError, match=only_lr):
        run_loso(data, lambda: ToyFusion(3), TrainConfig(**{**CFG, "lr": 0.5}), out_dir=tmp_path,
                 verbose=False, max_folds=1)
    other_data = toy_data(num_subjects=3, seed=1)      # same shapes and labels, different inputs
    with pytest.raises(RunMismatchError, match=r"data_sha1: saved="):
        run_loso(other_data, lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path, verbose=False,
                 max_folds=1)


SCRIPT = textwrap.dedent("""
    import sys, time
    from tsfmicro_lite.train.loso import run_loso
    from tsfmicro_lite.train.toy import ToyFusion, toy_data
    from tsfmicro_lite.train.trainer import TrainConfig
    slow = sys.argv[2] == "slow"
    def pause(fold, history):
        if slow:
            time.sleep(30)   # gives the parent time to kill us after fold 0 is on disk
    run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3),
             TrainConfig(epochs=3, batch_size=16, lr=2e-2, weight_decay=0.01, device="cpu", seed=3),
             out_dir=sys.argv[1], on_fold_end=pause)
""")


@pytest.mark.slow
def test_killed_subprocess_resumes(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(out), "slow"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline and not list((out / "folds").glob("fold_00_*.json")):
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    assert list((out / "folds").glob("fold_00_*.json")), "fold 0 never finished"
    assert not (out / "results.csv").exists()
    done = subprocess.run([sys.executable, str(script), str(out), "fast"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resumed from disk" in done.stdout
    run_loso(toy_data(num_subjects=3), lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path / "fresh",
             verbose=False)   # an uninterrupted run of the same command, in this process
    a = pd.read_csv(out / "results.csv")[METRICS]
    b = pd.read_csv(tmp_path / "fresh" / "results.csv")[METRICS]
    pd.testing.assert_frame_equal(a, b)


def test_inner_val_mode_never_uses_the_test_subject():
    data = toy_data(num_subjects=5)
    cfg = TrainConfig(**{**CFG, "epochs": 4, "honest_mode": "inner_val", "val_subjects": 2, "patience": 2})
    res = run_loso(data, lambda: ToyFusion(3), cfg, protocols=("honest",), verbose=False, max_folds=2)
    for fold in res.folds:
        h = res.histories[fold.index]
        assert h.best_val_epoch is not None and len(h.y_val) > 0
        assert len(h.y_val) + len(h.y_test) < len(data.labels)
    assert res.results["protocol_label"].str.contains("inner validation").all()


def test_a_run_made_under_the_old_auto_default_on_cpu_resumes_as_fp32(tmp_path):
    """Run folders written when ``amp="auto"`` was the default (fp32 on CPU) resume under ``amp="off"``."""
    import json

    data = toy_data(num_subjects=3)
    run_loso(data, lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path, verbose=False, max_folds=1)
    info = json.loads((tmp_path / "run.json").read_text())
    info["train"]["amp"] = "auto"
    (tmp_path / "run.json").write_text(json.dumps(info))
    res = run_loso(data, lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path, verbose=False, max_folds=1)
    assert res.resumed_folds == [0]
    assert json.loads((tmp_path / "run.json").read_text())["train"]["amp"] == "off"
    with pytest.raises(RunMismatchError, match="amp"):   # a real precision change is still refused
        run_loso(data, lambda: ToyFusion(3), TrainConfig(**{**CFG, "amp": "bf16"}), out_dir=tmp_path,
                 verbose=False, max_folds=1)


def test_each_fold_stores_its_provenance_and_differences_are_shown(tmp_path):
    import json

    from tsfmicro_lite.train.loso import evaluate_run, provenance_note

    data = toy_data(num_subjects=3)
    res = run_loso(data, lambda: ToyFusion(3), TrainConfig(**CFG), out_dir=tmp_path, verbose=False)
    assert provenance_note(res.histories) is None
    assert set(res.results["precision"]) == {"fp32"}
    saved = json.loads(sorted((tmp_path / "folds").glob("fold_01_*.json"))[0].read_text())
    prov = saved["history"]["provenance"]
    assert {"device", "device_name", "precision", "kit_version", "git_commit", "torch_version"} <= set(prov)
    prov.update(device_name="NVIDIA H200", precision="bf16")   # as if fold 1 had been resumed on a GPU in AMP
    path = sorted((tmp_path / "folds").glob("fold_01_*.json"))[0]
    path.write_text(json.dumps(saved))
    again = evaluate_run(tmp_path)
    note = provenance_note(again.histories)
    assert "device_name: cpu (folds 0, 2); NVIDIA H200 (folds 1)" in note and "precision" in note
    per_fold = again.results.set_index("fold")["precision"]
    assert per_fold[1] == "bf16" and per_fold[0] == "fp32" and per_fold["pooled"] == "bf16+fp32"
