"""From a dataset name to a results table: load, prepare (cached), LOSO per variant, compare with the paper.

Behind ``tsfmicro train/reproduce`` and notebooks 06 and 07: load → prepare (cached) → LOSO per
variant → the paper's quoted numbers next to the kit's.

Results on SynthME are labelled ``synthetic`` (``data_kind``) and the paper's numbers ``quoted``;
nothing here mixes them up or fills in a number the kit did not measure.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import metrics as M
from ..data import list_datasets, load_dataset
from ..models import build_model, get_preset, list_variants
from ..preprocess.augment import JointAugment, official_pair_search
from ..preprocess.dataset import MicroExpressionDataset
from ..preprocess.pipeline import PrepConfig, prepare
from ..synth import make_synthme, read_manifest
from ..utils.names import unknown
from .loso import LosoResult, run_loso
from .parallel import ParallelPlan
from .profiles import TrainProfile, get_profile, train_config_for
from .runs import run_dir
from .splits import loso_folds, paper_test_subjects
from .trainer import TrainConfig

__all__ = ["PreparedLosoData", "prepare_task", "train_variant", "reproduce", "majority_rows", "model_input_size",
           "paper_results", "comparison_table", "resolve_variants"]


@dataclass
class PreparedLosoData:
    """Prepared clips seen through :class:`~tsfmicro_lite.preprocess.dataset.MicroExpressionDataset`:
    what :func:`~tsfmicro_lite.train.loso.run_loso` needs (labels, subjects, per-fold datasets)."""
    prepared: Any                      # preprocess.pipeline.PreparedClips
    size: int | None = None            # model input side when it differs from the crops
    motion: str = "diff"
    augment: bool = True               # the official joint augmentation on training folds
    synthetic: bool | None = None      # True for SynthME, even when read through the casme2 reader
    pair_search: bool = False          # the training-time frame-pair search (spec §1), on candidate frames
    wraparound: bool = False           # its official uint8 wrap-around (and tie order); False = corrected
    interpolation: str = "bilinear"    # rotation resampling of the augmentation; "nearest" = official
    faces_note: str = ""               # which face path prepared the clips, and why (the load report says it)
    table: Any = None                  # the load_dataset table, so with_frames() can add K frames (cached)
    frames: bool = False               # yield (K, 3, S, S) frame − onset stacks: the sequence variant

    @property
    def faces(self) -> str:
        """``"dataset"`` (the release's crops, as the official code) or ``"align"`` (the kit's dlib path)."""
        return str(getattr(self.prepared.config, "faces", "align"))

    def data_path(self) -> dict[str, str]:
        """The data-path columns of every results row: faces, frame_search (off | corrected | official), rotation."""
        search = ("official" if self.wraparound else "corrected") if self.pair_search else "off"
        return {"faces": self.faces, "frame_search": search,
                "rotation": self.interpolation if self.augment else "none (no augmentation)"}

    def with_frames(self, k: int) -> "PreparedLosoData":
        """The same clips yielding K frames each (``PrepConfig(frames=K)``, the clip's one transform, cached;
        the face location is reused, so only the K frames are read and warped). The frame-pair search is a
        two-frame idea and is off."""
        p = self.prepared
        if p.frames is None or p.frames.shape[1] != k:
            if self.table is None:
                raise ValueError(f"the sequence variant needs {k} frames per clip, and these clips were prepared "
                                 f"without them; prepare with PrepConfig(frames={k}) (or use prepare_task)")
            p = prepare(self.table, dataclasses.replace(p.config, frames=k))
        return dataclasses.replace(self, prepared=p, frames=True, pair_search=False)

    def data_kind(self, dataset: str) -> str:
        """``"synthetic"`` or ``"real"``: the label every result row carries (honest-results rule)."""
        synthetic = self.synthetic if self.synthetic is not None else dataset == "synthme"
        return "synthetic" if synthetic else "real"

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.prepared.labels, dtype=np.int64)

    @property
    def subjects(self) -> np.ndarray:
        return np.asarray(self.prepared.subjects).astype(str)

    @property
    def num_classes(self) -> int:
        return len(self.prepared.classes) or int(self.labels.max()) + 1

    def fingerprint(self) -> str:
        """SHA-1 of labels, subjects, clip names and the aligned crops: the identity of the data."""
        if getattr(self, "_sha1", None) is None:
            h = hashlib.sha1()
            p = self.prepared
            h.update(self.labels.tobytes())
            h.update("|".join(map(str, self.subjects)).encode())
            h.update("|".join(map(str, p.clips)).encode())
            h.update(np.ascontiguousarray(p.onset).tobytes())
            h.update(np.ascontiguousarray(p.apex).tobytes())
            if self.frames:
                h.update(np.ascontiguousarray(p.frames).tobytes())
            h.update(f"{self.size}|{self.motion}|{self.augment}".encode())
            if self.pair_search or self.interpolation != "bilinear":  # the kit's defaults keep old fingerprints
                h.update(f"|{self.pair_search}|{self.wraparound}|{self.interpolation}".encode())
            self._sha1 = h.hexdigest()
        return self._sha1

    def dataset(self, indices: np.ndarray, train: bool):
        augment: JointAugment | bool = False
        if train and self.augment:
            p = self.prepared
            name = str(p.datasets[0]) if p.datasets is not None and len(p) else "casme2"
            augment = JointAugment.for_task(name, max(len(p.classes), 3), interpolation=self.interpolation)
        ds = MicroExpressionDataset(self.prepared, indices, train=train, motion=self.motion, size=self.size,
                                    augment=augment, pair_search=self.pair_search, wraparound=self.wraparound,
                                    frames=self.frames)
        ds.labels = self.labels[np.asarray(indices)]
        return ds


def _check_dataset(dataset: str) -> None:
    if dataset not in list_datasets():
        raise unknown("dataset", dataset, list_datasets(),
                      hint="synthme is the embedded synthetic data; the others need --root.")


# Variants that "all" leaves out of a profile because they cost more than a minute more there (name them to run
# them). quick: `sequence` with 8 frames took 2.2x the CPU time of `late` over 2 LOSO folds of SynthME quick
# (13.1 s vs 6.0 s, 1 thread, shared 2-core machine), i.e. over a minute more for the 8 folds of notebook 07.
OPTIONAL_VARIANTS: dict[str, tuple[str, ...]] = {"quick": ("sequence",)}


def resolve_variants(variant: str | Sequence[str], profile: str | TrainProfile | None = None) -> list[str]:
    """``"all"`` → every registered variant (``list_variants()``) but, under ``profile``, those it lists as optional
    (``OPTIONAL_VARIANTS``: ``sequence`` in ``quick``); a name or list is checked against the registry.

    Taught in notebooks/07_reproduce_paper.ipynb, section "2 · Data, then every variant under LOSO".
    """
    known = list_variants()
    name = profile.name if isinstance(profile, TrainProfile) else profile
    optional = OPTIONAL_VARIANTS.get(name, ()) if name else ()
    names = ([v for v in known if v not in optional] if variant == "all"
             else ([variant] if isinstance(variant, str) else list(variant)))
    for name in names:
        if name not in known:
            raise unknown("variant", name, known, hint="Or 'all' for every one.")
    return names


def model_input_size(profile: TrainProfile, preset: str | None = None) -> int:
    """The input side of the model a profile trains: its preset's (or ``preset``'s) ``img_size``."""
    return get_preset(preset or profile.model_preset).img_size


def faithful_data(profile: TrainProfile, preset: str | None = None) -> bool:
    """Whether a run takes the official data path: the ``paper`` model preset (the ``full`` profile's)."""
    return (preset or profile.model_preset) == "paper"


def prepare_task(dataset: str = "synthme", root: str | Path | None = None, classes: int = 3,
                 size: int = 64, profile: str | TrainProfile = "quick", motion: str = "diff",
                 progress: bool | None = None, faces: str | None = None, preset: str | None = None,
                 sheet: str | Path | None = None) -> PreparedLosoData:
    """Load a dataset and prepare (align, crop, cache) every clip at ``size`` px.

    ``synthme`` without ``root`` generates (or reuses) the profile's synthetic dataset. Real datasets
    need ``root``; missing or malformed folders raise the reader's ``DatasetError`` naming the file.

    Under the ``paper`` preset (the ``full`` profile; :func:`faithful_data`) the data path is the official
    one (spec §1): ``faces="dataset"`` where the copy holds the release's crops (else ``"align"``, said in
    ``faces_note``), the training-time frame-pair search with its uint8 wrap-around on cached candidate
    frames, and nearest-neighbour rotation. Otherwise the kit's defaults: ``faces="align"``, no search,
    bilinear rotation. ``faces=`` forces a face path (``"dataset"`` without crops raises ``DatasetError``).

    Taught in notebooks/07_reproduce_paper.ipynb, section "2 · Data, then every variant under LOSO".
    """
    _check_dataset(dataset)
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if dataset == "synthme" and root is None:
        root = make_synthme(profile=prof.synth_profile)
    elif root is None:
        raise ValueError(f"--dataset {dataset} needs --root pointing at your licensed copy "
                         "(the kit never downloads it); or use --dataset synthme.")
    df = load_dataset(dataset, root, classes=classes, sheet=sheet)  # sheet: when several candidates match
    faithful = faithful_data(prof, preset)
    layout = getattr(df.attrs.get("report"), "layout", "")
    if faces is None:
        faces = "dataset" if faithful and layout == "cropped" else "align"
        note = ("paper preset: the release's own crops, resized as the official transform (faces='dataset')"
                if faces == "dataset" else
                f"paper preset, but the copy read is not cropped ({layout or 'unknown'} layout): faces='align' "
                "(the kit's dlib path, not the official crops)" if faithful else
                "the kit's dlib alignment (faces='align'); the paper preset reads the release's crops")
    else:
        note = f"faces={faces!r} as asked"
    prepared = prepare(df, PrepConfig(size=size, motion="diff" if motion == "diff" else "all", faces=faces,
                                      keep_candidates=faithful), progress=progress)
    prepared.report["faces_note"] = note
    # A SynthME folder read as "casme2" is still synthetic: its generator manifest says so.
    synthetic = dataset == "synthme" or read_manifest(root) is not None
    return PreparedLosoData(prepared, size=None, motion=motion, augment=prof.augment, synthetic=synthetic,
                            pair_search=faithful, wraparound=faithful,
                            interpolation="nearest" if faithful else "bilinear", faces_note=note, table=df)


def train_variant(data: PreparedLosoData, variant: str, *, dataset: str = "synthme", classes: int = 3,
                  profile: str | TrainProfile = "quick", protocols: Sequence[str] = ("honest",),
                  out_dir: str | Path | None = None, preset: str | None = None,
                  config: TrainConfig | None = None, paper_lists: bool = False, max_folds: int | None = None,
                  model_overrides: dict[str, Any] | None = None, verbose: bool = True,
                  parallel: int | ParallelPlan = 1, **train_overrides) -> LosoResult:
    """LOSO of one variant on prepared data, with the profile's recipe (``train_overrides`` win).

    The model is ``build_model(variant, classes, preset)`` (default: the profile's preset) at the
    data's input size, plus ``model_overrides`` if given; ``out_dir`` is the run folder (see
    :func:`~tsfmicro_lite.train.runs.run_dir`).

    Taught in notebooks/06_training_loso.ipynb, section "3 · Every fold, with the package: checkpoint or train".
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    preset = preset or prof.model_preset
    cfg = config or train_config_for(prof, dataset, classes, variant=variant, **train_overrides)
    overrides = dict(model_overrides or {})
    overrides["img_size"] = int(data.size or data.prepared.size)
    probe = build_model(variant, data.num_classes, preset, **overrides)
    if getattr(probe, "takes_frames", False):  # the sequence variant: K frames per clip, cached with the clip
        data = data.with_frames(probe.config.num_frames)
    model_config = probe.config.to_dict()
    test_subjects = paper_test_subjects(dataset, classes) if paper_lists else None
    if data.wraparound and data.pair_search and not official_pair_search(dataset, classes, variant):
        data = dataclasses.replace(data, pair_search=False)  # that official script trains on the annotated frames
    meta = {"dataset": dataset, "data_kind": data.data_kind(dataset),
            "classes": data.num_classes, "variant": variant, "preset": preset, "profile": prof.name,
            **data.data_path()}
    return run_loso(data, lambda: build_model(variant, data.num_classes, preset, **overrides), cfg,
                    protocols=protocols, out_dir=out_dir, meta=meta, test_subjects=test_subjects,
                    max_folds=max_folds if max_folds is not None else prof.max_folds,
                    model_config=model_config, verbose=verbose, parallel=parallel)


def majority_rows(data: PreparedLosoData, dataset: str, folds=None) -> dict[str, Any]:
    """The majority-class baseline under the same folds (pooled), as one results-table row.

    Taught in notebooks/07_reproduce_paper.ipynb, section "2 · Data, then every variant under LOSO".
    """
    folds = folds or loso_folds(data.subjects)
    y = data.labels
    s = M.majority_baseline([y[f.train_idx] for f in folds], [y[f.test_idx] for f in folds])
    return {"dataset": dataset, "data_kind": data.data_kind(dataset),
            "classes": data.num_classes, "variant": "majority_class", **data.data_path(), "protocol": "honest",
            "protocol_label": "baseline (most frequent training class)", "fold": "pooled", "subject": "all",
            **s}


def reproduce(dataset: str = "synthme", root: str | Path | None = None, classes: int = 3,
              variants: str | Sequence[str] = "all", protocols: Sequence[str] = ("honest", "paper"),
              profile: str = "quick", out_dir: str | Path | None = None, size: int | None = None,
              data: PreparedLosoData | None = None, preset: str | None = None, max_folds: int | None = None,
              verbose: bool = True, paper_lists: bool = False, faces: str | None = None,
              **train_overrides) -> pd.DataFrame:
    """Every requested variant under LOSO, both protocols from the same training runs, plus the
    majority baseline: one pooled table (``fold == "pooled"`` rows), labelled synthetic/real.

    ``paper_lists=True`` tests only the subjects of the official hard-coded LOSO list (e.g. CASME II
    3-class never tests sub18), for the variants and the baseline alike. ``faces`` forces a face path
    (``"align"`` | ``"dataset"``) when ``data`` is not given; by default the preset decides (:func:`prepare_task`).

    Taught in notebooks/07_reproduce_paper.ipynb, section "2 · Data, then every variant under LOSO".
    """
    names = resolve_variants(variants, profile)
    prof = get_profile(profile)
    if data is None:
        size = size or model_input_size(prof, preset)
        data = prepare_task(dataset, root, classes, size=size, profile=prof, preset=preset, faces=faces)
    folds = loso_folds(data.subjects, paper_test_subjects(dataset, classes) if paper_lists else None)
    cap = max_folds if max_folds is not None else prof.max_folds  # the cap train_variant applies
    rows = [majority_rows(data, dataset, folds[:cap] if cap else folds)]
    tables = []
    for name in names:
        t0 = time.perf_counter()
        folder = run_dir(out_dir, dataset, classes, name, prof, data, preset) if out_dir else None
        res = train_variant(data, name, dataset=dataset, classes=classes, profile=prof, protocols=protocols,
                            out_dir=folder, preset=preset, max_folds=max_folds, verbose=verbose,
                            paper_lists=paper_lists, **train_overrides)
        tables.append(res.results)
        if verbose:
            print(f"{name}: {time.perf_counter() - t0:.1f}s\n{res.summary()}", flush=True)
    table = pd.concat([pd.DataFrame(rows)] + tables, ignore_index=True)
    return table


# ---------------------------------------------------------------------------------------------
def paper_results(path: str | Path | None = None) -> pd.DataFrame:
    """The paper's quoted numbers (``tsfmicro_lite/paper_results.csv``), one row per figure.

    A figure whose source could not be checked is empty (NaN), never guessed; the ``source`` column
    says where each non-empty one was read.

    Taught in notebooks/07_reproduce_paper.ipynb, section "3 · The kit's numbers next to the paper's".
    """
    path = Path(path) if path else Path(__file__).resolve().parents[1] / "paper_results.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; it ships with the package (tsfmicro_lite/paper_results.csv).")
    table = pd.read_csv(path, comment="#")
    needed = {"dataset", "classes", "variant", "metric", "value", "source"}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(f"{path}: columns {sorted(missing)} are missing; expected {sorted(needed)}.")
    return table


def comparison_table(kit: pd.DataFrame, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Kit pooled numbers (SYNTHETIC or REAL, per protocol) next to the paper's (QUOTED, may be empty).

    One row per (variant, metric); columns: ``kit <protocol> (<kind>)`` and ``paper (quoted)``.

    Taught in notebooks/07_reproduce_paper.ipynb, section "3 · The kit's numbers next to the paper's".
    """
    paper = paper_results() if paper is None else paper
    pooled = kit[kit["fold"] == "pooled"]
    long = pooled.melt(id_vars=["dataset", "data_kind", "classes", "variant", "protocol"],
                       value_vars=["accuracy", "uf1", "uar"], var_name="metric", value_name="value")
    long["column"] = "kit " + long["protocol"] + " (" + long["data_kind"].str.upper() + ")"
    wide = long.pivot_table(index=["variant", "metric"], columns="column", values="value", aggfunc="first")
    classes = int(pooled["classes"].iloc[0])
    real = pooled["dataset"].iloc[0]
    # the paper's numbers belong to real datasets; on synthme, show the CASME II figures for orientation
    target = "casme2" if real == "synthme" else real
    quoted = paper[(paper["dataset"] == target) & (paper["classes"] == classes)]
    q = quoted.set_index(["variant", "metric"])["value"]
    wide[f"paper {target} (QUOTED)"] = [q.get(idx, np.nan) if idx in q.index else np.nan for idx in wide.index]
    order = {v: i for i, v in enumerate(["majority_class", *list_variants()])}
    wide = wide.reset_index()
    if "precision" in pooled.columns:   # fp32 = the official precision; bf16 / fp16 = opt-in AMP (baseline: none)
        precision = pooled.dropna(subset=["precision"]).groupby("variant")["precision"].first()
        wide["precision"] = wide["variant"].map(precision).fillna("")
    wide["_o"] = wide["variant"].map(lambda v: order.get(v, 99))
    return wide.sort_values(["_o", "metric"]).drop(columns="_o").reset_index(drop=True)
