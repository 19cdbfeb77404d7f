"""The MEGC2019 composite: CASME II + SAMM + SMIC-HS pooled in one 3-class table with a ``dataset`` column.

The field's most-used benchmark (MEGC2019; HTNet, FRL-DGT, Micron-BERT and most papers since report
it): three datasets pooled, three classes, leave-one-subject-out over the union, UF1 / UAR on the
pooled predictions and per dataset. Which samples it holds is decided by a **published list**, not by
a rule: the 442 samples (SMIC-HS 164 / 16 subjects, CASME II 145 / 24, SAMM 133 / 28) of the
composite's ground-truth file ``combined_3class_gt.csv``, shipped as ``megc2019_samples.csv`` beside
this module with its source and cross-checks in its header (CapsuleNet's MEGC2019 code; the same list
in STSTNet's and HTNet's repositories).

Two selections (``selection=``):

- ``"megc2019"`` (default): each member is read with its own 3-class mapping and the rows are then
  matched to the list by subject and clip; the list's class is the label. Rows of a copy that the list
  does not hold are left out, counted by emotion and named (on a copy with the CASME II 2019 sheet the
  member's mapping keeps 156 samples from 26 subjects, the list 145 from 24: the report names the 11 it
  leaves out; MEGC2019 readers such as LuYi8/EDMDBN's drop CASME II's fear and sadness clips, which the
  official TSFmicro 3-class mapping counts as negative); listed samples the copy does not give (a clip
  missing on disk, an emotion the mapping drops) are named in the report too.
- ``"mapping"``: every sample each member's 3-class mapping keeps (spec §6 for CASME II and SAMM:
  negative = CASME II's repression, disgust, fear and sadness, SAMM's anger, contempt, disgust, fear
  and sadness; SMIC-HS's three folders; "others" / "other" dropped). The SynthME stand-ins use it,
  their clips not being the list's.

Subject IDs stay distinct across datasets: ``casme2_sub01``, ``samm_006``, ``smic_s1`` (the member's
own ID is kept in ``source_subject``). The same loader with two members is the cross-dataset protocol
(``--train-on casme2 --test-on samm``): train on every sample of one, test on every sample of the
other, with the 3-class mapping both share (``train/megc2019.py``).
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..utils.names import unknown
from . import readers
from .datasets import get_spec
from .errors import DatasetError
from .readers import LoadReport
from .spec import dataset_key

__all__ = ["COMPOSITE", "MEMBERS", "SELECTIONS", "SAMPLES_FILE", "CompositeReport", "load_dataset",
           "load_composite", "composite_summary", "megc2019_samples"]

COMPOSITE = "megc2019"
#: The members of the MEGC2019 composite, in the order tables show them.
MEMBERS = ("casme2", "samm", "smic")
CLASSES = 3
#: ``selection=``: the published MEGC2019 sample list (default), or every sample the members' mappings keep.
SELECTIONS = ("megc2019", "mapping")
#: The MEGC2019 list: one row per sample (dataset, subject, clip, class_name, source_subject, source_clip).
SAMPLES_FILE = Path(__file__).resolve().with_name("megc2019_samples.csv")
MAX_NAMED = 20  # sample names shown per member and reason in the report


@lru_cache(maxsize=1)
def _samples() -> pd.DataFrame:
    return pd.read_csv(SAMPLES_FILE, comment="#", dtype=str, keep_default_na=False)


def megc2019_samples() -> pd.DataFrame:
    """The MEGC2019 composite's 442 samples as shipped (``SAMPLES_FILE``; its header names the source).

    Columns ``dataset, subject, clip, class_name`` in the kit's IDs, and ``source_subject, source_clip``
    as the published list writes them.
    """
    return _samples().copy()


def _key(member: str, subject: object, clip: object) -> tuple[str, str]:
    """(subject, clip) compared case-insensitively; SMIC clip names with or without the zero (s01_ne_01 = s1_ne_01)."""
    clip = str(clip).strip().lower()
    if member == "smic":
        clip = re.sub(r"^s0*(\d+)_", r"s\1_", clip)
    return get_spec(member).subject(subject).lower(), clip


@dataclass
class CompositeReport:
    """The members' load reports, how many samples / subjects each gave, and what the selection left out."""

    members: dict[str, LoadReport] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, int] = field(default_factory=dict)
    selection: str = "megc2019"
    #: member → {emotion as in the sheet: n} of loaded rows the MEGC2019 list does not hold
    excluded: dict[str, Counter] = field(default_factory=dict)
    excluded_examples: dict[str, list[str]] = field(default_factory=dict)
    #: member → "subject/clip" of listed samples this copy did not give
    missing: dict[str, list[str]] = field(default_factory=dict)
    #: member → "subject/clip: sheet class → list class" where the list's label replaced the mapping's
    relabelled: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        return sum(self.samples.values())

    def expected(self, member: str) -> tuple[int, int]:
        """(samples, subjects) the MEGC2019 list holds for ``member``."""
        listed = _samples()[_samples()["dataset"] == member]
        return len(listed), listed["subject"].nunique()

    def __str__(self) -> str:
        how = ("the MEGC2019 sample list (data/megc2019_samples.csv)" if self.selection == "megc2019"
               else "every sample each member's 3-class mapping keeps (not the MEGC2019 list)")
        lines = [f"{COMPOSITE} composite ({CLASSES} classes): {self.rows_kept} samples from "
                 f"{sum(self.subjects.values())} subjects; selection: {how}"]
        for name in self.members:
            line = f"  {name:<7s} {self.samples[name]:4d} samples, {self.subjects[name]:3d} subjects"
            if self.selection == "megc2019":
                line += " (MEGC2019: {} / {})".format(*self.expected(name))
            lines.append(line)
        for name in self.members:
            excluded = self.excluded.get(name) or {}
            if excluded:
                counts = ", ".join(f"{e} {n}" for e, n in sorted(excluded.items()))
                lines.append(f"  {name}: {sum(excluded.values())} loaded samples are not in the MEGC2019 list, "
                             f"left out ({counts}): {', '.join(self.excluded_examples.get(name, []))}")
            if self.missing.get(name):
                lines.append(f"  {name}: {len(self.missing[name])} listed samples not in this copy's rows (missing "
                             f"on disk, skipped, or an emotion the mapping drops): "
                             f"{', '.join(self.missing[name][:MAX_NAMED])}")
            if self.relabelled.get(name):
                lines.append(f"  {name}: {len(self.relabelled[name])} labels taken from the list, not the sheet: "
                             f"{', '.join(self.relabelled[name][:MAX_NAMED])}")
        for name, report in self.members.items():
            lines += ["", f"-- {name}", str(report)]
        return "\n".join(lines)


def _select(member: str, df: pd.DataFrame, report: CompositeReport) -> pd.DataFrame:
    """The rows of ``df`` that the MEGC2019 list holds, labelled as the list labels them; the rest counted."""
    listed = _samples()[_samples()["dataset"] == member]
    wanted = {_key(member, s, c): (f"{s}/{c}", cls) for s, c, cls in
              zip(listed["subject"], listed["clip"], listed["class_name"])}
    classes = list(df.attrs["classes"])
    keep, seen, relabelled = [], set(), []
    excluded, examples = Counter(), []
    for i, (subject, clip, emotion, name) in enumerate(zip(df["subject"], df["clip"], df["emotion"],
                                                           df["class_name"])):
        key = _key(member, subject, clip)
        if key in wanted and key not in seen:
            seen.add(key)
            keep.append(i)
            if wanted[key][1] != name:
                relabelled.append(f"{subject}/{clip}: {name} → {wanted[key][1]}")
            continue
        why = str(emotion).strip().lower() if key not in seen else f"{str(emotion).strip().lower()} (repeat)"
        excluded[why] += 1
        if len(examples) < MAX_NAMED:
            examples.append(f"{subject}/{clip}")
    if not keep:
        raise DatasetError(
            f"{member}: none of the {len(df)} samples read from {df.attrs['report'].root} is in the MEGC2019 list "
            f"({len(wanted)} samples, e.g. {next(iter(wanted.values()))[0]}). Fix: check the root= of {member}, or "
            f"pass selection='mapping' (`tsfmicro reproduce --selection mapping`: every sample its 3-class "
            f"mapping keeps).")
    out = df.iloc[keep].copy()
    names = [wanted[_key(member, s, c)][1] for s, c in zip(out["subject"], out["clip"])]
    out["class_name"] = names
    out["label"] = [classes.index(n) for n in names]
    report.excluded[member] = excluded
    report.excluded_examples[member] = examples
    report.missing[member] = [name for k, (name, _) in wanted.items() if k not in seen]
    report.relabelled[member] = relabelled
    return out.reset_index(drop=True)


def load_composite(roots: Mapping[str, str | os.PathLike], classes: int = CLASSES, *, selection: str = "megc2019",
                   **kwargs: Any) -> pd.DataFrame:
    """One table of every member's samples (``load_dataset`` columns + ``source_subject``), 3 classes.

    ``roots`` maps member names (any alias: ``"CASME II"``, ``"SMIC-HS"``) to their folders; the full
    composite needs ``casme2``, ``samm`` and ``smic``, and a subset (two members: the cross-dataset
    protocol) is read the same way. ``selection``: ``"megc2019"`` keeps the samples of the published
    MEGC2019 list (442 on complete copies), ``"mapping"`` every sample each member's 3-class mapping
    keeps; ``df.attrs["report"]`` says what was left out and why. ``kwargs`` go to each member's
    ``load_dataset`` (``skip_bad_rows``, ...).
    """
    if int(classes) != CLASSES:
        raise DatasetError(f"{COMPOSITE} is a {CLASSES}-class task (positive / surprise / negative), "
                           f"not {classes!r}. Fix: pass classes=3 (CLI: --classes 3).")
    if selection not in SELECTIONS:
        raise unknown(f"{COMPOSITE} selection", selection, list(SELECTIONS), error=DatasetError)
    if not roots:
        raise DatasetError(f"{COMPOSITE} needs roots={{'casme2': ..., 'samm': ..., 'smic': ...}}: the folder of "
                           f"each member (CLI: --root-casme2 / --root-samm / --root-smic). docs/datasets.md lists "
                           f"the expected folders.")
    chosen: dict[str, Any] = {}
    for name, root in roots.items():
        key = dataset_key(name)
        member = next((m for m in MEMBERS if key in get_spec(m).keys), None)
        if member is None:
            raise unknown(f"{COMPOSITE} member", name, list(MEMBERS), error=DatasetError)
        chosen[member] = root
    frames, report, classes_seen = [], CompositeReport(selection=selection), None
    for member in (m for m in MEMBERS if m in chosen):
        df = readers.load_dataset(member, chosen[member], classes=CLASSES, **kwargs)
        if classes_seen is not None and df.attrs["classes"] != classes_seen:
            raise DatasetError(f"{member}'s 3-class names {df.attrs['classes']} differ from {classes_seen}; the "
                               f"composite needs one class order (data/datasets/{member}.py).")
        classes_seen = df.attrs["classes"]
        report.members[member] = df.attrs["report"]
        df = _select(member, df, report) if selection == "megc2019" else df.copy()
        df.insert(2, "source_subject", df["subject"])
        df["dataset"] = member
        df["subject"] = member + "_" + df["source_subject"].astype(str)
        report.samples[member] = len(df)
        report.subjects[member] = df["subject"].nunique()
        frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    table.attrs["classes"] = list(classes_seen)
    table.attrs["report"] = report
    table.attrs["members"] = list(report.members)
    table.attrs["selection"] = selection
    return table


def load_dataset(name: str, root: str | os.PathLike | None = None, classes: int = 3,
                 sheet: str | os.PathLike | None = None, *, roots: Mapping[str, str | os.PathLike] | None = None,
                 selection: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """``readers.load_dataset`` (any registered dataset), plus ``"megc2019"``: the composite of ``roots``.

    ``tsfmicro_lite.data.load_dataset`` is this function, so ``load_dataset("megc2019", roots={"casme2": ...,
    "samm": ..., "smic": ...})`` and ``load_dataset("casme2", root)`` are one call; ``selection``
    (``"megc2019"``, the default: the published sample list; ``"mapping"``: the members' 3-class mappings)
    is the composite's only; ``kwargs`` (``layout``, ``frame_tolerance``, ``skip_bad_rows``) go to every
    dataset read.
    """
    if dataset_key(name) == COMPOSITE:
        if root is not None or sheet is not None:
            raise DatasetError(f"{COMPOSITE} reads several folders: pass roots={{'casme2': ..., 'samm': ..., "
                               f"'smic': ...}}, not root= / sheet=.")
        return load_composite(roots or {}, classes=classes, selection=selection or "megc2019", **kwargs)
    if selection is not None:
        raise DatasetError(f"selection= picks the samples of the {COMPOSITE} composite; {name!r} is one dataset "
                           f"(every sample its {classes}-class mapping keeps). Fix: leave selection= out.")
    return readers.load_dataset(name, root, classes=classes, sheet=sheet, **kwargs)


load_dataset.__doc__ = f"{load_dataset.__doc__}\n{readers.load_dataset.__doc__}"


def composite_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Samples and subjects per member and class, plus the union: the composite's one-screen check."""
    rows = []
    groups = [(name, part) for name, part in df.groupby("dataset", sort=False)] + [("all", df)]
    for name, part in groups:
        row = {"dataset": name, "samples": len(part), "subjects": part["subject"].nunique()}
        row.update({c: int((part["class_name"] == c).sum()) for c in df.attrs.get("classes", [])})
        rows.append(row)
    return pd.DataFrame(rows)
