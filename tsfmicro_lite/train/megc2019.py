"""The field's standard benchmarks: the MEGC2019 composite (LOSO over CASME II + SAMM + SMIC-HS) and cross-dataset runs.

Behind ``tsfmicro reproduce --task megc2019`` and ``--train-on A --test-on B`` (notebook 07, section
"MEGC2019 composite and cross-dataset"). Three protocols, one table:

- **composite** (``megc2019``): the three datasets pooled (``data/composite.py``: on real copies the 442
  samples of the published MEGC2019 list, subject IDs kept distinct), leave-one-subject-out over the
  union; UF1 / UAR on the pooled predictions (``part == "all"``) and on each dataset's share of them
  (``part == "casme2"`` ...);
- **cross-dataset** (``casme2-to-samm``, ``samm-to-casme2``): train on every sample of one dataset,
  test on every sample of the other, with the 3-class mapping both share (MEGC2018's holdout-database
  task); a run is one "fold" whose held-out group is the test dataset;
- **within** (``within-samm`` ...): ordinary LOSO on the test dataset alone, the number a cross-dataset
  score is read against.

Without roots every member is a SynthME profile in that release's layout (``quick`` read as CASME II,
``samm-quick``, ``smic-quick``), read by the real readers with every sample their mappings keep
(``selection="mapping"``: the list names real clips), and every row says ``synthetic``. MEGC2019 has no
TSFmicro recipe: the runs take CASME II's 3-class recipe numbers (seed, epochs) through the profile.
Each run's ``results.csv`` holds its per-dataset rows next to the pooled ones.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import metrics as M
from ..data import DatasetError, load_dataset
from ..data.composite import COMPOSITE, MEMBERS
from ..models import build_model
from ..preprocess.pipeline import PrepConfig, prepare
from ..synth import make_synthme, read_manifest
from ..utils.io import atomic_write_text
from ..utils.names import unknown
from .loso import run_loso
from .profiles import TrainProfile, get_profile, train_config_for
from .reproduce import PreparedLosoData, model_input_size, resolve_variants
from .results import select_predictions
from .runs import run_dir

__all__ = ["SYNTH_STAND_INS", "CROSS_PAIRS", "BenchmarkData", "benchmark_roots", "prepare_benchmark",
           "run_benchmark", "reproduce_megc2019", "benchmark_table"]

#: The SynthME profile standing in for each member when no root is given (``None``: the training profile's own).
SYNTH_STAND_INS = {"casme2": None, "samm": "samm-quick", "smic": "smic-quick"}
#: The cross-dataset pairs ``--task megc2019`` runs (MEGC2018's holdout-database task: CASME II <-> SAMM).
CROSS_PAIRS = (("casme2", "samm"), ("samm", "casme2"))
#: The recipe numbers (seed, official epochs) the benchmark runs borrow: MEGC2019 has no TSFmicro script.
RECIPE_FROM = "casme2"
TABLE_COLUMNS = ["task", "protocol_kind", "part", "variant", "protocol", "n", "accuracy", "uf1", "uar", "data_kind"]


@dataclass
class BenchmarkData(PreparedLosoData):
    """Prepared clips of several datasets; ``groups`` (when set) replaces the subjects as LOSO's groups.

    Cross-dataset runs group by dataset, so "leave one group out" with the test dataset held out is
    "train on the other one, test on this one".
    """
    groups: np.ndarray | None = None
    selection: str = "megc2019"  # which samples the composite holds (data/composite.py, SELECTIONS)

    @property
    def subjects(self) -> np.ndarray:
        if self.groups is not None:
            return np.asarray(self.groups).astype(str)
        return np.asarray(self.prepared.subjects).astype(str)

    @property
    def datasets(self) -> np.ndarray:
        return np.asarray(self.prepared.datasets).astype(str)


def benchmark_roots(members: Sequence[str], roots: Mapping[str, str | Path | None] | None = None,
                    profile: str | TrainProfile = "quick") -> tuple[dict[str, Path], bool]:
    """Each member's folder and whether they are synthetic: all given (real), or none (SynthME stand-ins)."""
    prof = get_profile(profile) if isinstance(profile, str) else profile
    given = {m: r for m, r in (roots or {}).items() if r is not None}
    for m in given:
        if m not in MEMBERS:
            raise unknown(f"{COMPOSITE} member", m, list(MEMBERS), error=DatasetError)
    if not given:
        return {m: make_synthme(profile=SYNTH_STAND_INS[m] or prof.synth_profile) for m in members}, True
    missing = [m for m in members if m not in given]
    if missing:
        raise DatasetError(f"{', '.join('--root-' + m for m in missing)} missing: this benchmark reads "
                           f"{', '.join(members)}. Fix: pass every member's folder for real data, or none of them "
                           f"for the SYNTHETIC stand-ins (SynthME in each release's layout).")
    synthetic = all(read_manifest(given[m]) is not None for m in members)
    return {m: Path(given[m]) for m in members}, synthetic


def prepare_benchmark(members: Sequence[str] = MEMBERS, roots: Mapping[str, str | Path | None] | None = None,
                      profile: str | TrainProfile = "quick", size: int | None = None, preset: str | None = None,
                      group_by_dataset: bool = False, progress: bool | None = None,
                      selection: str | None = None) -> BenchmarkData:
    """Load ``members`` as one composite table (``load_dataset("megc2019", roots=...)``) and prepare every clip.

    ``group_by_dataset=True`` makes the datasets LOSO's groups (the cross-dataset protocol). ``selection``
    (``data/composite.py``): None takes the published MEGC2019 sample list for real roots and every
    sample of the mappings for the SynthME stand-ins (whose clips are not the list's).
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    folders, synthetic = benchmark_roots(members, roots, prof)
    selection = selection or ("mapping" if synthetic else "megc2019")
    df = load_dataset(COMPOSITE, roots=folders, selection=selection)
    size = size or model_input_size(prof, preset)
    prepared = prepare(df, PrepConfig(size=size, motion="diff"), progress=progress)
    data = BenchmarkData(prepared, motion="diff", augment=prof.augment, synthetic=synthetic, selection=selection)
    if group_by_dataset:
        data.groups = data.datasets
    return data


def _per_dataset_rows(predictions: pd.DataFrame, datasets: np.ndarray, base: dict[str, Any]) -> list[dict]:
    """One pooled row per (protocol, dataset): the metrics on that dataset's share of the pooled predictions."""
    rows = []
    for protocol in dict.fromkeys(predictions["protocol"]):
        parts: dict[str, dict[str, Any]] = {}
        for metric in ("accuracy", "uf1", "uar"):
            chosen = select_predictions(predictions, protocol, metric)
            owner = datasets[chosen["sample"].to_numpy(dtype=np.int64)]
            for part in dict.fromkeys(owner.tolist()):
                mine = chosen[owner == part]
                s = M.score(mine["y_true"].to_numpy(), mine["y_pred"].to_numpy())
                parts.setdefault(part, {"n": s["n"]})[metric] = s[metric]
        rows += [{**base, "protocol": protocol, "part": part, "fold": "pooled", "subject": "all", **values}
                 for part, values in parts.items()]
    return rows


def run_benchmark(data: BenchmarkData, variant: str, task: str, *, protocol_kind: str,
                  test_groups: Sequence[str] | None = None, profile: str | TrainProfile = "quick",
                  protocols: Sequence[str] = ("honest",), out_dir: str | Path | None = None,
                  preset: str | None = None, max_folds: int | None = None, verbose: bool = True,
                  parallel: Any = 1, **train_overrides) -> pd.DataFrame:
    """One variant on one benchmark: the run's results rows (``part == "all"``) plus its per-dataset rows.

    ``task`` names the run (``megc2019``, ``casme2-to-samm``, ``within-samm``); its run folder is
    ``run_dir(out_dir, task, 3, variant, profile, data, preset)`` and its ``results.csv`` gets the
    per-dataset rows too.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    preset = preset or prof.model_preset
    cfg = train_config_for(prof, RECIPE_FROM, 3, variant=variant, **train_overrides)
    overrides = {"img_size": int(data.size or data.prepared.size)}
    model_config = build_model(variant, data.num_classes, preset, **overrides).config.to_dict()
    meta = {"dataset": task, "data_kind": data.data_kind(task), "classes": data.num_classes, "variant": variant,
            "preset": preset, "profile": prof.name, "selection": data.selection, **data.data_path()}
    folder = run_dir(out_dir, task, 3, variant, prof, data, preset) if out_dir is not None else None
    res = run_loso(data, lambda: build_model(variant, data.num_classes, preset, **overrides), cfg,
                   protocols=protocols, out_dir=folder, meta=meta, test_subjects=test_groups,
                   max_folds=max_folds if max_folds is not None else prof.max_folds,
                   model_config=model_config, verbose=verbose, parallel=parallel)
    table = res.results.assign(part="all")
    base = res.pooled().drop(columns=[c for c in ("n", "accuracy", "uf1", "uar", "protocol", "fold", "subject")
                                      if c in res.results.columns]).iloc[0].to_dict()
    labels = dict(zip(res.pooled()["protocol"], res.pooled()["protocol_label"]))
    parts = pd.DataFrame(_per_dataset_rows(res.predictions, data.datasets, base))
    parts["protocol_label"] = parts["protocol"].map(labels)
    table = pd.concat([table, parts], ignore_index=True).assign(task=task, protocol_kind=protocol_kind)
    if folder is not None:
        atomic_write_text(folder / "results.csv", table.to_csv(index=False))
    return table


def reproduce_megc2019(roots: Mapping[str, str | Path | None] | None = None, variants: str | Sequence[str] = "late",
                       protocols: Sequence[str] = ("honest",), profile: str = "quick",
                       out_dir: str | Path | None = None, preset: str | None = None,
                       cross: Sequence[tuple[str, str]] = CROSS_PAIRS, composite: bool = True, within: bool = True,
                       subjects_per_dataset: int | None = None, verbose: bool = True, selection: str | None = None,
                       **train_overrides) -> pd.DataFrame:
    """The composite (LOSO over the union) and the cross-dataset runs (``cross`` pairs, each next to LOSO
    within its test dataset), for every variant: the rows of every run (see :func:`benchmark_table`).

    ``subjects_per_dataset`` (quick checks, CLI ``--max-folds``): test only the first N subjects of each
    dataset in the LOSO runs (every sample is still trained on), so each dataset keeps its own rows.
    ``selection``: which samples (``data/composite.py``); None takes the MEGC2019 list for real roots and
    the members' mappings for the SynthME stand-ins (:func:`prepare_benchmark`).

    Taught in notebooks/07_reproduce_paper.ipynb, section "MEGC2019 composite and cross-dataset".
    """
    names = resolve_variants(variants)
    prof = get_profile(profile)
    for a, b in cross:
        if a == b or a not in MEMBERS or b not in MEMBERS:
            raise ValueError(f"--train-on {a} --test-on {b}: expected two different datasets of {', '.join(MEMBERS)}.")
    common = {"profile": prof, "protocols": protocols, "out_dir": out_dir, "preset": preset, "verbose": verbose,
              **train_overrides}
    tables = []
    plans: list[tuple[str, str, BenchmarkData, list[str] | None, int | None]] = []
    if composite:
        data = prepare_benchmark(MEMBERS, roots, prof, preset=preset, selection=selection)
        plans.append((COMPOSITE, "composite LOSO", data, _first_subjects(data, subjects_per_dataset), None))
    if cross:
        pair_members = [m for m in MEMBERS if any(m in pair for pair in cross)]
        data = prepare_benchmark(pair_members, roots, prof, preset=preset, group_by_dataset=True,
                                 selection=selection)
        for a, b in cross:
            mine = data if len(pair_members) == 2 else _restrict(data, (a, b))
            plans.append((f"{a}-to-{b}", "cross-dataset", mine, [b], None))
        if within:
            for b in dict.fromkeys(b for _, b in cross):
                alone = _restrict(data, (b,))
                alone.groups = None
                plans.append((f"within-{b}", "within-dataset LOSO", alone, None, subjects_per_dataset))
    for name in names:
        for task, kind, data, test_groups, folds in plans:
            t0 = time.perf_counter()
            tables.append(run_benchmark(data, name, task, protocol_kind=kind, test_groups=test_groups,
                                        max_folds=folds, **common))
            if verbose:
                print(f"{task} {name}: {time.perf_counter() - t0:.1f}s", flush=True)
    return pd.concat(tables, ignore_index=True)


def _first_subjects(data: BenchmarkData, k: int | None) -> list[str] | None:
    """The first ``k`` subjects (sorted) of each dataset, or None (every subject) when ``k`` is None."""
    if k is None:
        return None
    subjects, datasets = data.subjects, data.datasets
    return [s for d in dict.fromkeys(datasets.tolist()) for s in sorted(set(subjects[datasets == d]))[:k]]


def _restrict(data: BenchmarkData, members: Sequence[str]) -> BenchmarkData:
    idx = np.flatnonzero(np.isin(data.datasets, list(members)))
    groups = None if data.groups is None else np.asarray(data.groups)[idx]
    return BenchmarkData(data.prepared.subset(idx), size=data.size, motion=data.motion, augment=data.augment,
                         synthetic=data.synthetic, groups=groups, selection=data.selection)


def benchmark_table(table: pd.DataFrame) -> pd.DataFrame:
    """The pooled rows (overall, ``part == "all"``, and per dataset), in the order the notebook and the CLI print
    them; a run that tests one dataset only (cross-dataset, within) shows its one per-dataset row."""
    pooled = table[table["fold"] == "pooled"].copy()
    parts = pooled[pooled["part"] != "all"].groupby(["task", "variant", "protocol"])["part"].transform("count")
    single = set(pooled.loc[parts[parts == 1].index, "task"])
    pooled = pooled[~((pooled["part"] == "all") & pooled["task"].isin(single))]
    pooled["data_kind"] = pooled["data_kind"].str.upper()
    order = {"composite LOSO": 0, "cross-dataset": 1, "within-dataset LOSO": 2}
    pooled["_k"] = pooled["protocol_kind"].map(order)
    pooled["_p"] = pooled["part"].map(lambda p: -1 if p == "all" else list(MEMBERS).index(p))
    pooled = pooled.sort_values(["_k", "task", "variant", "protocol", "_p"], kind="stable")
    return pooled[TABLE_COLUMNS].reset_index(drop=True)
