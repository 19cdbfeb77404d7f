"""The MEGC2019 composite: CASME II + SAMM + SMIC-HS pooled in one 3-class table with a ``dataset`` column.

The field's most-used benchmark (MEGC2019; HTNet, FRL-DGT, Micron-BERT and most papers since report
it): three datasets pooled, three classes, leave-one-subject-out over the union, UF1 / UAR on the
pooled predictions and per dataset. Its class mapping is each member's 3-class mapping, which the
dataset specs already hold (spec §6 for CASME II and SAMM): positive = happiness; surprise =
surprise; negative = CASME II's repression, disgust, fear and sadness, SAMM's anger, contempt,
disgust, fear and sadness; SMIC-HS's own three folders as they are; "others" / "other" dropped.
The same grouping is stated in HTNet's README ("the 'negative' emotion category includes 'sadness',
'disgust', 'contempt', 'fear' and 'anger'"; repression is CASME II's negative class in MEGC2019).

On the MEGC2019 release the union is 442 samples from 68 subjects (SMIC-HS 164 / 16, CASME II 145 /
24, SAMM 133 / 28); a real copy read here gives the counts its own sheets give (CASME II's 2019
sheet keeps more negative clips than the 2019 challenge list did), and the report shows them.

Subject IDs stay distinct across datasets: ``casme2_sub01``, ``samm_006``, ``smic_s1`` (the member's
own ID is kept in ``source_subject``). The same loader with two members is the cross-dataset protocol
(``--train-on casme2 --test-on samm``): train on every sample of one, test on every sample of the
other, with the 3-class mapping both share (``train/megc2019.py``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from ..utils.names import unknown
from . import readers
from .datasets import get_spec
from .errors import DatasetError
from .readers import LoadReport
from .spec import dataset_key

__all__ = ["COMPOSITE", "MEMBERS", "CompositeReport", "load_dataset", "load_composite", "composite_summary"]

COMPOSITE = "megc2019"
#: The members of the MEGC2019 composite, in the order tables show them.
MEMBERS = ("casme2", "samm", "smic")
CLASSES = 3


@dataclass
class CompositeReport:
    """The members' load reports, and how many samples / subjects each gave to the union."""

    members: dict[str, LoadReport] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, int] = field(default_factory=dict)

    @property
    def rows_kept(self) -> int:
        return sum(self.samples.values())

    def __str__(self) -> str:
        lines = [f"{COMPOSITE} composite ({CLASSES} classes): {self.rows_kept} samples from "
                 f"{sum(self.subjects.values())} subjects"]
        lines += [f"  {name:<7s} {self.samples[name]:4d} samples, {self.subjects[name]:3d} subjects"
                  for name in self.members]
        for name, report in self.members.items():
            lines += ["", f"-- {name}", str(report)]
        return "\n".join(lines)


def load_composite(roots: Mapping[str, str | os.PathLike], classes: int = CLASSES, **kwargs: Any) -> pd.DataFrame:
    """One table of every member's samples (``load_dataset`` columns + ``source_subject``), 3 classes.

    ``roots`` maps member names (any alias: ``"CASME II"``, ``"SMIC-HS"``) to their folders; the full
    composite needs ``casme2``, ``samm`` and ``smic``, and a subset (two members: the cross-dataset
    protocol) is read the same way. ``kwargs`` go to each member's ``load_dataset`` (``skip_bad_rows``, ...).
    """
    if int(classes) != CLASSES:
        raise DatasetError(f"{COMPOSITE} is a {CLASSES}-class task (positive / surprise / negative), "
                           f"not {classes!r}. Fix: pass classes=3 (CLI: --classes 3).")
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
    frames, report, classes_seen = [], CompositeReport(), None
    for member in (m for m in MEMBERS if m in chosen):
        df = readers.load_dataset(member, chosen[member], classes=CLASSES, **kwargs)
        if classes_seen is not None and df.attrs["classes"] != classes_seen:
            raise DatasetError(f"{member}'s 3-class names {df.attrs['classes']} differ from {classes_seen}; the "
                               f"composite needs one class order (data/datasets/{member}.py).")
        classes_seen = df.attrs["classes"]
        df = df.copy()
        df.insert(2, "source_subject", df["subject"])
        df["dataset"] = member
        df["subject"] = member + "_" + df["source_subject"].astype(str)
        report.members[member] = df.attrs["report"]
        report.samples[member] = len(df)
        report.subjects[member] = df["subject"].nunique()
        frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    table.attrs["classes"] = list(classes_seen)
    table.attrs["report"] = report
    table.attrs["members"] = list(report.members)
    return table


def load_dataset(name: str, root: str | os.PathLike | None = None, classes: int = 3,
                 sheet: str | os.PathLike | None = None, *, roots: Mapping[str, str | os.PathLike] | None = None,
                 **kwargs: Any) -> pd.DataFrame:
    """``readers.load_dataset`` (any registered dataset), plus ``"megc2019"``: the composite of ``roots``.

    ``tsfmicro_lite.data.load_dataset`` is this function, so ``load_dataset("megc2019", roots={"casme2": ...,
    "samm": ..., "smic": ...})`` and ``load_dataset("casme2", root)`` are one call; ``kwargs`` (``layout``,
    ``frame_tolerance``, ``skip_bad_rows``) go to every dataset read.
    """
    if dataset_key(name) == COMPOSITE:
        if root is not None or sheet is not None:
            raise DatasetError(f"{COMPOSITE} reads several folders: pass roots={{'casme2': ..., 'samm': ..., "
                               f"'smic': ...}}, not root= / sheet=.")
        return load_composite(roots or {}, classes=classes, **kwargs)
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
