"""``load_dataset`` / ``dataset_report``: one table of samples from any registered dataset (generic reader).

Why one table: every later step (preprocessing, LOSO splits, the notebooks' class-balance plots)
needs the same facts per sample — subject, clip, onset / apex / offset, label, frame paths — whatever
dataset they came from. The reader is generic: what differs per dataset is its
:class:`~tsfmicro_lite.data.spec.DatasetSpec` (``data/datasets/<name>.py``). Columns
(docs/architecture.md, "Data contracts"): ``dataset, subject, clip, onset, apex, offset, action_units,
emotion, label, class_name, clip_dir, frame_paths, frame_numbers, onset_path, apex_path`` (+
``landmarks_path`` for datasets with ground truth, i.e. synthme). ``df.attrs["classes"]`` holds the class
names by label and ``df.attrs["report"]`` a :class:`LoadReport`.

Rules applied to each sheet row, in order (each fix or skip is counted in the report):

1. The emotion is mapped with the official mapping (the spec's task, spec §6), case-insensitively.
   Emotions the official task leaves out (e.g. "others" in CASME II 3-class) are skipped and
   counted. An emotion the dataset does not have is an error.
2. A missing apex (``/``, empty, negative) is set to the middle of onset..offset, rounded down.
   A missing offset is set to the apex. An apex after the offset moves the offset to the apex.
   An apex before the onset, or a missing onset, is an error (the sheet is ambiguous).
3. An onset / apex / offset number with no image on disk is replaced by the nearest existing frame
   within ``frame_tolerance`` frames; farther than that is an error.
4. ``frame_paths`` lists every image on disk from onset to offset; numbers absent in between are
   counted as missing frames (not an error: several releases drop frames).
5. A clip listed in the sheet but absent on disk is an error naming the row and the paths tried.
6. A row repeating an earlier row's subject, clip, onset, apex and offset is a duplicate: with the
   same emotion it is skipped and counted; with another emotion it is an error (which one is right?).

Counted, never silent: files in clip folders that are not frames (``layouts.scan_frames``: dot-files
and AppleDouble ``._*`` sidecars, OS junk, unnumbered or minority-prefix images), clip folders on disk
that no sheet row names, and the rule that picked the sheet among several versions. A sheet with a
header but no sample rows is an error naming the sheet.

Errors are ``DatasetError`` with file, row, subject/clip, what is wrong and the fix.
``skip_bad_rows=True`` turns row errors (rules 1, 2, 3, 5) into counted skips.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .datasets import get_spec, list_datasets
from .errors import DatasetError
from .layouts import DiskIndex, FramesBase, find_clip_dir, find_frames_base, nearest_frame
from .sheets import Sheet, SheetRow, choose_sheet, clean_text, normalise_action_units, parse_frame, read_sheet
from .spec import ClassMapping, DatasetSpec, normalise_emotion

__all__ = ["DatasetError", "LoadReport", "load_dataset", "dataset_report", "ROOT_ENV"]

#: Environment variables read when ``root`` is None, e.g. ``TSFMICRO_CASME2=/data/CASME2`` (from the specs).
ROOT_ENV = {name: get_spec(name).root_env for name in list_datasets() if get_spec(name).root_env}
DEFAULT_FRAME_TOLERANCE = 3  # frames; 15 ms at CASME II's 200 fps
MAX_DETAILS = 200

COLUMNS = ["dataset", "subject", "clip", "onset", "apex", "offset", "action_units", "emotion",
           "label", "class_name", "clip_dir", "frame_paths", "frame_numbers", "onset_path",
           "apex_path"]


@dataclass
class LoadReport:
    """What ``load_dataset`` read, kept, skipped (and why) and fixed: the ``data check`` summary.

    Read attributes (``report.rows_kept``) or keys (``report["skipped"]``); ``to_dict()`` gives
    plain types. ``details`` holds one line per fixed or skipped row (row number, clip, what).
    """

    dataset: str
    num_classes: int
    root: str
    sheet: str
    frames_base: str = ""
    layout: str = ""
    rows_read: int = 0
    rows_kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    fixes: Counter = field(default_factory=Counter)
    missing_frames: int = 0
    clips_with_missing_frames: int = 0
    missing_clips: int = 0
    non_sample_rows: int = 0
    details: list[str] = field(default_factory=list)
    sheet_choice: str = ""  # which rule picked the sheet among several versions (empty: one candidate)
    duplicate_rows: int = 0  # rows repeating an earlier row (skipped, also counted in ``skipped``)
    ignored_files: Counter = field(default_factory=Counter)  # kind → files in used clip folders that are not frames
    ignored_examples: dict = field(default_factory=dict)  # kind → a few file paths
    unlisted_clips: int = 0  # clip folders on disk (under the sheet's subjects) that no sheet row names
    unlisted_examples: list[str] = field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["skipped"] = dict(self.skipped)
        out["fixes"] = dict(self.fixes)
        out["details"] = list(self.details)
        out["ignored_files"] = dict(self.ignored_files)
        out["ignored_examples"] = {k: list(v) for k, v in self.ignored_examples.items()}
        out["unlisted_examples"] = list(self.unlisted_examples)
        out["rows_skipped"] = self.rows_skipped
        return out

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def note(self, line: str) -> None:
        if len(self.details) < MAX_DETAILS:
            self.details.append(line)

    def __str__(self) -> str:
        lines = [f"{self.dataset} ({self.num_classes} classes): sheet {self.sheet}"]
        if self.sheet_choice:
            lines.append(f"  {self.sheet_choice}")
        lines += [f"frames under {self.frames_base} ({self.layout} layout)",
                 f"rows read {self.rows_read}, kept {self.rows_kept}, skipped {self.rows_skipped}"]
        lines += [f"  skipped {n:4d}  {why}" for why, n in self.skipped.most_common()]
        lines += [f"  fixed   {n:4d}  {what}" for what, n in self.fixes.most_common()]
        lines.append(f"missing frames inside onset..offset: {self.missing_frames} "
                     f"(in {self.clips_with_missing_frames} clips); missing clips skipped: "
                     f"{self.missing_clips}")
        if self.non_sample_rows:
            lines.append(f"rows without clip name or onset (notes, sub-titles) ignored: "
                         f"{self.non_sample_rows}")
        for kind, n in self.ignored_files.most_common():
            shown = ", ".join(self.ignored_examples.get(kind, []))
            lines.append(f"  ignored {n:4d}  {kind} in clip folders, e.g. {shown}")
        if self.unlisted_clips:
            lines.append(f"clip folders on disk with no sheet row (not loaded): {self.unlisted_clips}, e.g. "
                         f"{', '.join(self.unlisted_examples)}")
        return "\n".join(lines)


class _RowProblem(Exception):
    """A row the reader cannot use: ``reason`` is the report key, ``message`` and ``fix`` the text."""

    def __init__(self, reason: str, message: str, fix: str, missing_clip: bool = False):
        super().__init__(message)
        self.reason, self.message, self.fix, self.missing_clip = reason, message, fix, missing_clip


_SKIP_HINT = "or pass skip_bad_rows=True to skip such rows (they are counted in the report)"


def _resolve_root(spec: DatasetSpec, root: str | os.PathLike | None) -> Path:
    if root is None and spec.root_env and os.environ.get(spec.root_env):
        root = os.environ[spec.root_env]
    if root is None and spec.make_root is not None:
        root = spec.make_root()
    if root is None:
        raise DatasetError(f"{spec.name} is licence-gated and not bundled: pass root=<your copy> "
                           f"(CLI: --root PATH) or set ${spec.root_env}. docs/datasets.md lists the "
                           f"expected folders.")
    path = Path(root).expanduser().absolute()  # frame paths stay valid after a chdir
    if not path.is_dir():
        raise DatasetError(f"{spec.name} root {path} is not a folder. Fix: pass root= the folder that "
                           f"holds the annotation sheet and the frames.")
    return path


def _resolve_sheet(root: Path, spec: DatasetSpec, sheet: str | os.PathLike | None) -> tuple[Path, str]:
    if sheet is None:
        return choose_sheet(root, spec)
    path = Path(sheet).expanduser()
    if not path.exists() and not path.is_absolute() and (root / path).exists():
        path = root / path
    return path, ""


def _frames(row: SheetRow, report: LoadReport, where: str) -> tuple[int, int, int]:
    """Onset, apex, offset from the sheet, with rule 2 of the module docstring applied."""
    parsed: dict[str, int | None] = {}
    for key in ("onset", "apex", "offset"):
        try:
            parsed[key] = parse_frame(row.values[key])
        except ValueError as exc:
            raise _RowProblem(f"unreadable {key} frame", f"{key} {exc}",
                              f"write a whole frame number in the {key} column, {_SKIP_HINT}")
    onset, apex, offset = parsed["onset"], parsed["apex"], parsed["offset"]
    if onset is None:
        raise _RowProblem("onset missing", f"onset is missing ({row.values['onset']!r})",
                          f"fill in the onset frame, {_SKIP_HINT}")
    if offset is None:
        if apex is None:
            raise _RowProblem("onset only (apex and offset missing)",
                              "apex and offset are both missing",
                              f"fill in the apex or offset frame, {_SKIP_HINT}")
        offset = apex
        report.fixes["offset missing → set to the apex"] += 1
        report.note(f"{where}: offset {row.values['offset']!r} → {offset} (the apex)")
    if offset < onset:
        raise _RowProblem("offset before onset", f"offset {offset} is before onset {onset}",
                          f"correct the sheet, {_SKIP_HINT}")
    if apex is None:
        apex = (onset + offset) // 2
        report.fixes["apex missing ('/' or empty) → middle of onset..offset"] += 1
        report.note(f"{where}: apex {row.values['apex']!r} → {apex} (middle of {onset}..{offset})")
    if apex < onset:
        raise _RowProblem("apex before onset", f"apex {apex} is before onset {onset}",
                          f"correct the sheet, {_SKIP_HINT}")
    if apex > offset:
        report.fixes["apex after offset → offset moved to the apex"] += 1
        report.note(f"{where}: offset {offset} → {apex} (apex {apex} was after it)")
        offset = apex
    return onset, apex, offset


def _on_disk(frames: dict[int, str], number: int, key: str, tolerance: int, clip_dir: Path,
             report: LoadReport, where: str, disk: DiskIndex) -> int:
    """Rule 3: the frame itself, or the nearest existing one within ``tolerance``."""
    if number in frames:
        return number
    near = nearest_frame(frames, number)
    if near is None:
        scan = disk.scan(clip_dir)
        reason = "clip folder unreadable" if scan.error else "clip folder has no frames"
        raise _RowProblem(reason, scan.why_empty(), f"copy the clip's frames there, {_SKIP_HINT}")
    if abs(near - number) > tolerance:
        raise _RowProblem(
            f"{key} frame not on disk",
            f"{key} frame {number} has no image in {clip_dir} (frames on disk: "
            f"{min(frames)}..{max(frames)}; nearest {near} is {abs(near - number)} frames away, "
            f"more than frame_tolerance={tolerance})",
            f"correct the sheet, raise frame_tolerance, {_SKIP_HINT}")
    report.fixes[f"{key} frame not on disk → nearest frame within {tolerance}"] += 1
    report.note(f"{where}: {key} {number} → {near} (nearest image on disk)")
    return near


def _unreadable(path: Path) -> str:
    """The OS error listing an existing folder gives (permissions, ...), or "" when it lists fine or is absent."""
    if not path.is_dir():
        return ""
    try:
        with os.scandir(path):
            return ""
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"


def _row_key(row: SheetRow, subject: str, clip: str) -> tuple:
    frames = []
    for key in ("onset", "apex", "offset"):
        try:
            frames.append(parse_frame(row.values[key]))
        except ValueError:
            frames.append(str(row.values[key]))
    return (subject, clip.lower(), *frames)


def _count_disk(report: LoadReport, spec: DatasetSpec, base: FramesBase, disk: DiskIndex,
                subjects: list[tuple[SheetRow, str, str]], clip_dirs: set[str]) -> None:
    """Count the ignored files of the clip folders read, and the clip folders no sheet row names."""
    for scan in (disk.scan(Path(d)) for d in sorted(clip_dirs)):
        for kind, n in scan.ignored.items():
            report.ignored_files[kind] += n
            shown = report.ignored_examples.setdefault(kind, [])
            shown.extend(str(scan.path / name) for name in scan.examples.get(kind, [])[:3 - len(shown)])
    named: set[Path] = set()
    subject_dirs: set[Path] = set()
    for _, subject, clip in subjects:
        clip_dir, tried = find_clip_dir(base, spec, subject, clip, disk)
        subject_dirs.update(t.parent for t in tried if t.parent.is_dir())
        if clip_dir is not None:
            named.update({clip_dir, *clip_dir.parents})  # SMIC-HS nests clips in micro/<emotion>/
    for subject_dir in sorted(subject_dirs):
        for name in sorted(disk.dir_names(subject_dir).values()):
            if name.startswith(".") or (subject_dir / name) in named:
                continue
            report.unlisted_clips += 1
            if len(report.unlisted_examples) < 5:
                report.unlisted_examples.append(f"{subject_dir.name}/{name}")


def _build_record(spec: DatasetSpec, mapping: ClassMapping, row: SheetRow, subject: str,
                  clip: str, base: FramesBase, root: Path, tolerance: int,
                  report: LoadReport, where: str, disk: DiskIndex) -> dict[str, Any] | None:
    emotion = clean_text(row.values["emotion"])
    label = mapping.label_of(emotion)
    if label is None:
        key = normalise_emotion(emotion)
        key = mapping.aliases.get(key, key)
        if key in mapping.dropped:
            report.skipped[f"'{key}' is not in the {mapping.num_classes}-class task "
                           f"(official mapping)"] += 1
            return None
        known = sorted(set(mapping.labels) | set(mapping.dropped))
        raise _RowProblem("unknown emotion", f"emotion {emotion!r} is not one of {spec.name}'s "
                          f"labels {known}", f"correct the sheet, {_SKIP_HINT}")
    if normalise_emotion(emotion) in mapping.aliases:
        report.fixes[f"emotion spelled '{normalise_emotion(emotion)}' → read as "
                     f"'{mapping.aliases[normalise_emotion(emotion)]}'"] += 1
    onset, apex, offset = _frames(row, report, where)
    clip_dir, tried = find_clip_dir(base, spec, subject, clip, disk)
    if clip_dir is None:
        unreadable = [f"{d} ({err})" for d in dict.fromkeys(t.parent for t in tried)
                      if (err := _unreadable(d))]
        if unreadable:
            raise _RowProblem("subject folder unreadable",
                              f"cannot list {', '.join(unreadable)}", f"fix its permissions, {_SKIP_HINT}")
        raise _RowProblem("clip folder missing on disk",
                          f"clip folder not found; looked in {', '.join(map(str, tried))}",
                          f"check root= (and layout=), copy the clip there, {_SKIP_HINT}",
                          missing_clip=True)
    frames = disk.frames(clip_dir)
    onset = _on_disk(frames, onset, "onset", tolerance, clip_dir, report, where, disk)
    apex = _on_disk(frames, apex, "apex", tolerance, clip_dir, report, where, disk)
    offset = _on_disk(frames, offset, "offset", tolerance, clip_dir, report, where, disk)
    if apex < onset:  # only possible when both were moved to frames on disk
        raise _RowProblem("apex before onset", f"apex {apex} is before onset {onset} once matched "
                          f"to the images in {clip_dir}", f"correct the sheet, {_SKIP_HINT}")
    offset = max(offset, apex)
    numbers = [n for n in frames if onset <= n <= offset]
    gaps = (offset - onset + 1) - len(numbers)
    if gaps:
        report.missing_frames += gaps
        report.clips_with_missing_frames += 1
    record = {
        "dataset": spec.name, "subject": subject, "clip": clip, "onset": onset, "apex": apex,
        "offset": offset, "action_units": normalise_action_units(row.values.get("action_units")),
        "emotion": emotion, "label": label, "class_name": mapping.classes[label],
        "clip_dir": str(clip_dir), "frame_paths": [frames[n] for n in numbers],
        "frame_numbers": numbers, "onset_path": frames[onset], "apex_path": frames[apex],
    }
    if spec.landmarks_dir:
        landmarks = root / spec.landmarks_dir / subject / f"{clip}.npy"
        if not landmarks.is_file():
            raise _RowProblem("landmarks missing", f"ground-truth landmarks {landmarks} missing",
                              "regenerate the synthetic dataset (make_synthme(force=True))")
        record["landmarks_path"] = str(landmarks)
    return record


def load_dataset(name: str, root: str | os.PathLike | None = None, classes: int = 3,
                 sheet: str | os.PathLike | None = None, *, layout: str = "auto",
                 frame_tolerance: int = DEFAULT_FRAME_TOLERANCE,
                 skip_bad_rows: bool = False) -> pd.DataFrame:
    """Read a dataset's annotation sheet and frame folders into one table (one row per sample).

    Args:
        name: ``"casme2"`` (3 or 5 classes), ``"samm"`` (3 or 5), ``"casme3"`` (4 or 7) or
            ``"synthme"`` (3 or 5, CASME II's mappings; ``root=None`` generates the quick profile);
            any registered dataset or alias (``data/datasets/``, ``list_datasets()``).
        root: the dataset folder (sheet and frames, see docs/datasets.md); None reads the spec's
            environment variable (``$TSFMICRO_CASME2`` / ``$TSFMICRO_SAMM`` / ``$TSFMICRO_CASME3``).
        classes: the task, with the official mapping of spec §6.
        sheet: the annotation sheet, if it is not found by name under ``root``.
        layout: ``"auto"`` (the copy holding most subjects, the cropped one on a tie),
            ``"cropped"`` or ``"raw"``.
        frame_tolerance: how far (frames) a sheet frame number may be from an image on disk.
        skip_bad_rows: skip and count rows that would raise (missing clip, bad frames, unknown
            emotion) instead of raising.

    Example::

        df = load_dataset("casme2", "/data/CASME2", classes=5)
        print(df.attrs["report"])            # what was read, skipped, fixed
        df.groupby("class_name").size()

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "1 · What a micro-expression clip is"
    (a real dataset: "Pointing this notebook at a real dataset").
    """
    spec = get_spec(name)
    mapping = spec.mapping(classes)
    root_path = _resolve_root(spec, root)
    if spec.index_tree is not None and sheet is None:  # SMIC-HS: no sheet, its folders are the annotation
        table: Sheet = spec.index_tree(root_path)
        sheet_path = table.path
        sheet_choice = ("no annotation sheet in this release: rows read from its folders" if Path(table.path).is_dir()
                        else f"rows read from the release's annotation sheet {Path(table.path).name}")
    else:
        sheet_path, sheet_choice = _resolve_sheet(root_path, spec, sheet)
        table = read_sheet(sheet_path)
    report = LoadReport(spec.name, mapping.num_classes, str(root_path), str(sheet_path),
                        non_sample_rows=len(table.ignored_rows), sheet_choice=sheet_choice)
    if not table.rows:
        raise DatasetError(
            f"{sheet_path}: header found in row {table.header_row} but no sample rows below it "
            f"({len(table.ignored_rows)} rows without a clip name or onset). Fix: fill in the sheet, or "
            f"pass sheet= (CLI: --sheet) the sheet that holds the annotations.")
    if "action_units" not in table.columns:
        report.fixes["no Action Units column → action_units left empty"] += len(table.rows)

    subjects: list[tuple[SheetRow, str, str]] = []
    for row in table.rows:
        clip = clean_text(row.values["clip"])
        where = f"{table.name} row {row.number} ({row.values['subject']!r}/{clip})"
        try:
            subject = spec.subject(row.values["subject"])
            if not clip:
                raise ValueError("the Filename cell is empty")
        except ValueError as exc:
            if skip_bad_rows:
                report.rows_read += 1
                report.skipped["unreadable subject or empty Filename"] += 1
                report.note(f"{where}: skipped, {exc}")
                continue
            raise DatasetError(f"{where}: {exc}. Fix: write the subject as a number or as in the "
                               f"release (e.g. sub01, 006, spNO.1) and fill in the clip name, "
                               f"{_SKIP_HINT}.") from None
        subjects.append((row, subject, clip))
    base = find_frames_base(root_path, spec, [s for _, s, _ in subjects], layout)
    report.frames_base, report.layout = str(base.path), base.kind

    records: list[dict[str, Any]] = []
    disk = DiskIndex()
    seen: dict[tuple, tuple[int, str]] = {}
    clip_dirs: set[str] = set()
    for row, subject, clip in subjects:
        report.rows_read += 1
        where = f"{table.name} row {row.number} ({subject}/{clip})"
        key = _row_key(row, subject, clip)
        emotion = normalise_emotion(clean_text(row.values["emotion"]))
        if key in seen:
            first, first_emotion = seen[key]
            if first_emotion == emotion:
                report.duplicate_rows += 1
                report.skipped["duplicate row (same subject, clip, onset, apex, offset, emotion)"] += 1
                report.note(f"{where}: skipped, a duplicate of row {first}")
                continue
            message = (f"repeats row {first}'s subject, clip and frames with another emotion "
                       f"({row.values['emotion']!r}, row {first} says {first_emotion!r})")
            if not skip_bad_rows:
                raise DatasetError(f"{where}: {message}. Fix: delete the wrong row, {_SKIP_HINT}.")
            report.skipped["conflicting duplicate row"] += 1
            report.note(f"{where}: skipped, {message}")
            continue
        seen[key] = (row.number, emotion)
        try:
            record = _build_record(spec, mapping, row, subject, clip, base, root_path,
                                   int(frame_tolerance), report, where, disk)
        except _RowProblem as problem:
            if not skip_bad_rows:
                raise DatasetError(f"{where}: {problem.message}. Fix: {problem.fix}.") from None
            report.skipped[problem.reason] += 1
            report.missing_clips += problem.missing_clip
            report.note(f"{where}: skipped, {problem.message}")
            continue
        if record is not None:
            records.append(record)
            clip_dirs.add(record["clip_dir"])
    _count_disk(report, spec, base, disk, subjects, clip_dirs)
    report.rows_kept = len(records)
    if not records:
        raise DatasetError(f"{table.name}: no sample left for the {mapping.num_classes}-class "
                           f"task out of {report.rows_read} rows.\n{report}")
    columns = COLUMNS + (["landmarks_path"] if spec.landmarks_dir else [])
    df = pd.DataFrame.from_records(records, columns=columns)
    for col in ("onset", "apex", "offset", "label"):
        df[col] = df[col].astype("int64")
    df.attrs["classes"] = list(mapping.classes)
    df.attrs["report"] = report
    return df


def dataset_report(name: str, root: str | os.PathLike | None = None, classes: int = 3,
                   sheet: str | os.PathLike | None = None, **kwargs: Any) -> str:
    """The text ``tsfmicro data check`` prints: the load summary, samples per class and subject.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "Pointing this notebook at a real dataset".
    """
    df = load_dataset(name, root, classes=classes, sheet=sheet, **kwargs)
    report: LoadReport = df.attrs["report"]
    lines = [str(report), "", "samples per class:"]
    per_class = df.groupby("label").size()
    for label, class_name in enumerate(df.attrs["classes"]):
        lines.append(f"  {label} {class_name:<12s} {int(per_class.get(label, 0)):5d}")
    per_subject = df.groupby("subject", sort=True).size()
    lines.append(f"samples per subject ({len(per_subject)} subjects):")
    items = [f"{s} {n}" for s, n in per_subject.items()]
    lines += ["  " + ", ".join(items[i:i + 8]) for i in range(0, len(items), 8)]
    if report.details:
        lines.append("row by row (fixes and skips):")
        lines += [f"  {d}" for d in report.details[:20]]
        if len(report.details) > 20:
            lines.append(f"  ... {len(report.details) - 20} more in df.attrs['report'].details")
    return "\n".join(lines)
