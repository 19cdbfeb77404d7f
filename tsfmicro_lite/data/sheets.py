"""Finding and parsing annotation sheets (CASME II, SAMM, CAS(ME)^3 and any other) as users have them.

Why a module of its own: real sheets are messy, and every quirk handled here is one that stops a
first reproduction (notebook 01, "pointing the kit at a real dataset", shows the result):

- the sheet is found by the name patterns of the dataset's spec (``DatasetSpec.sheet_patterns``,
  e.g. ``CASME2-coding-*``; xlsx or csv) or passed explicitly;
- the header row is searched for, because SAMM's released workbook has title rows above it;
- column names are matched after lower-casing and removing spaces and punctuation, so
  ``"Onset Frame "``, ``"OnsetFrame"`` and ``"Onset"`` are the same column; unnamed extra columns
  (CASME II's columns 2 and 6) are ignored;
- row numbers are the ones Excel shows (1-based, header included), so error messages point at the
  cell a user has to fix.

Value parsing (frame numbers, action units) lives here too; the decisions about what to do with a
bad value (fix and count, or raise) are in ``readers.py``.
"""
from __future__ import annotations

import csv
import fnmatch
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DatasetError
from .spec import DatasetSpec

SHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".xls")

#: Canonical field → accepted header spellings, normalised (lower-case, alphanumerics only); the union
#: of what the releases write, so one table serves every dataset.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "subject": ("subject", "subjects", "sub", "subjectid", "participant"),
    "clip": ("filename", "filenames", "file", "clip", "video", "videoname", "episode"),
    "onset": ("onsetframe", "onset", "onsetf"),
    "apex": ("apexframe", "apex", "apexf"),
    "offset": ("offsetframe", "offset", "offsetf"),
    "action_units": ("actionunits", "actionunit", "au", "aus"),
    "emotion": ("estimatedemotion", "emotion", "emotions", "estimatedemotions"),
}
REQUIRED_COLUMNS = ("subject", "clip", "onset", "apex", "offset", "emotion")
HEADER_SEARCH_ROWS = 40  # SAMM's release has ~13 title rows; search well past that
MISSING_TOKENS = {"", "/", "-", "--", "n/a", "na", "nan", "none", "null", "?"}


@dataclass
class SheetRow:
    """One sample row, values as read (parsed later, so errors can name the row)."""

    number: int  # the row number Excel shows
    values: dict[str, Any]


@dataclass
class Sheet:
    """A parsed annotation sheet: where its header was, which columns matched, its sample rows."""

    path: Path
    worksheet: str | None
    header_row: int
    columns: dict[str, str]  # canonical field → header text as in the sheet
    rows: list[SheetRow]
    ignored_rows: list[int] = field(default_factory=list)  # rows with text but no clip/onset

    @property
    def name(self) -> str:
        return self.path.name


def norm_header(text: object) -> str:
    """A header cell as the aliases are written: ``" Onset Frame "`` → ``"onsetframe"`` (None → ``""``)."""
    return re.sub(r"[^a-z0-9]", "", str(text).lower()) if text is not None else ""


def is_missing(value: object) -> bool:
    """True for empty cells and the placeholders sheets use for "not coded" (``/``, ``-``, NaN)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in MISSING_TOKENS


def parse_frame(value: object) -> int | None:
    """A frame number from a cell: ``123``, ``123.0``, ``" 123 "`` → 123; missing/negative → None.

    Negative values count as missing: some sheets write ``-1`` for "not coded". Anything else that
    is not a whole number raises ValueError (the reader adds the file and row).
    """
    if is_missing(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a frame number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            raise ValueError(f"{value!r} is not a frame number")
        number = float(text)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole frame number")
    return int(number) if number >= 0 else None


def normalise_action_units(value: object) -> str:
    """Action units as one string: ``4`` / ``4.0`` → ``"4"``, ``" 4 + 7 "`` → ``"4+7"``, ``"R12"`` kept."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = re.sub(r"\s*([+,;/])\s*", r"\1", str(value).strip())
    return re.sub(r"\s+", " ", text)


def clean_text(value: object) -> str:
    """A text cell as a stripped string (``1.0`` → ``"1"``; missing → ``""``)."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# ----------------------------------------------------------------------------- finding the sheet
def find_sheet(root: Path, spec: DatasetSpec) -> Path:
    """The annotation sheet under ``root`` (then its subfolders, then its parent), by ``spec.sheet_patterns``.

    See :func:`choose_sheet` for the rule when several files match.
    """
    return choose_sheet(root, spec)[0]


def _version_key(path: Path) -> str:
    """A sheet name with its digit runs (dates, versions) blanked: equal keys are versions of one sheet."""
    return re.sub(r"\d+", "#", path.stem.lower())


def choose_sheet(root: Path, spec: DatasetSpec) -> tuple[Path, str]:
    """The annotation sheet and, when other candidates were passed over, a sentence saying which and why.

    Rule (documented in docs/datasets.md): the candidates are the files matching *any* of the spec's
    patterns in the first place that has one (root, then its subfolders, then its parent). Names that
    differ only in their digits are versions of one sheet and the latest (largest number) wins (CASME
    II's ``-20190701`` over ``-20140508``; the official code reads the 2019 sheet), xlsx before csv.
    Candidates whose names differ otherwise (``… - old draft.xlsx``, or ``CASME2_coding_old.xlsx`` beside
    ``CASME2-coding-20190701.xlsx``, matched by different patterns) are refused with the list: pass
    ``sheet=`` (CLI: ``--sheet``) to pick one. Before refusing, a file without an annotation header (a
    subject, clip, onset, apex, offset and emotion column; e.g. a notes workbook caught by a broad
    pattern such as ``*casme2*``) is passed over, and the note says so.
    """
    patterns = spec.sheet_patterns
    tiers = [[root], sorted(p for p in _safe_iterdir(root) if p.is_dir()), [root.parent]]
    for tier in tiers:
        files = [f for d in tier for f in _safe_iterdir(d)
                 if f.is_file() and f.suffix.lower() in SHEET_SUFFIXES
                 and not f.name.startswith(("~$", "."))]
        hits = [f for f in files if any(_matches(f, p) for p in patterns)]
        if not hits:
            continue
        passed_over: list[str] = []
        if len({_version_key(f) for f in hits}) > 1:
            not_sheets = {f: why for f in hits if (why := _not_a_sheet(f))}
            if len(not_sheets) < len(hits):  # when none has a header, which was meant is unclear: list them all
                passed_over = [f"{f.name} ({why})" for f, why in sorted(not_sheets.items())]
                hits = [f for f in hits if f not in not_sheets]
        if len({_version_key(f) for f in hits}) > 1:
            matched = [p + ".*" for p in patterns if any(_matches(f, p) for f in hits)]
            listed = "\n  ".join(str(f) for f in sorted(hits))
            raise DatasetError(
                f"{len(hits)} candidate annotation sheets match {', '.join(matched)} and the kit will not "
                f"guess which is right:\n  {listed}\nFix: pass sheet=<one of them> (CLI: --sheet "
                f"PATH), or move the others out of {root}.")
        ext_rank = {s: i for i, s in enumerate(SHEET_SUFFIXES)}
        chosen = max(hits, key=lambda f: (_numbers(f), f.stem.lower(), -ext_rank[f.suffix.lower()]))
        others = sorted(f.name for f in hits if f != chosen)
        note = (f"sheet {chosen.name} chosen over {', '.join(others)} (the latest version by the number in "
                f"its name, xlsx before csv; pass sheet= to pick another)") if others else ""
        if passed_over:
            note = f"{note or 'sheet ' + chosen.name + ' chosen'}; passed over, not annotation sheets: " \
                   f"{'; '.join(passed_over)}"
        return chosen, note
    raise DatasetError(
        f"no annotation sheet found in {root} (nor its subfolders or parent): looked for "
        f"{', '.join(p + '.xlsx/.csv' for p in patterns)}. Fix: pass sheet=<path to the sheet> "
        f"(CLI: --sheet PATH).")


def _matches(path: Path, pattern: str) -> bool:
    """``pattern`` (lower-case, no extension) names ``path``: ``casme2-coding-*`` matches ``CASME2-coding-1.xlsx``."""
    return fnmatch.fnmatchcase(path.name.lower(), pattern + ".*") or fnmatch.fnmatchcase(path.stem.lower(), pattern)


def _not_a_sheet(path: Path) -> str:
    """Why ``path`` is not an annotation sheet: "" when it has an annotation header, or cannot be read to tell.

    A file that cannot be read (an ``.xls``, a corrupt workbook) stays a candidate: the kit cannot tell what
    it holds, so it is listed rather than passed over.
    """
    if path.suffix.lower() == ".xls":
        return ""
    try:
        worksheets = raw_rows(path)
    except Exception:  # DatasetError, OSError, zip or XML errors of a broken workbook: cannot tell
        return ""
    for _title, rows in worksheets:
        for _number, cells in rows[:HEADER_SEARCH_ROWS]:
            found = match_header(cells)
            if all(f in found for f in REQUIRED_COLUMNS):
                return ""
    return (f"no header row with {'/'.join(REQUIRED_COLUMNS)} columns in its first {HEADER_SEARCH_ROWS} "
            f"rows")


def _numbers(path: Path) -> tuple[int, ...]:
    return tuple(int(d) for d in re.findall(r"\d+", path.stem))


def _safe_iterdir(path: Path) -> list[Path]:
    try:
        return list(path.iterdir())
    except OSError:
        return []


# ----------------------------------------------------------------------------- reading the sheet
def raw_rows(path: Path) -> list[tuple[str | None, list[tuple[int, list[Any]]]]]:
    """Every worksheet as (name, [(excel row number, cells)])."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DatasetError(f"{path}: the old .xls format needs the xlrd package, which the kit "
                           f"does not install. Fix: open it and save it as .xlsx or .csv.")
    if suffix == ".csv":
        return [(None, _csv_rows(path))]
    if suffix not in (".xlsx", ".xlsm"):
        raise DatasetError(f"{path}: unsupported sheet type {suffix!r}; expected .xlsx or .csv.")
    import openpyxl  # lazy: only .xlsx sheets need it (SynthME's is a csv)

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a corrupt or non-xlsx file
        raise DatasetError(f"{path}: cannot be read as an Excel workbook ({exc}). Fix: re-save "
                           f"it from Excel as .xlsx, or export it as .csv.") from None
    try:
        return [(ws.title, [(i, list(r)) for i, r in
                            enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)])
                for ws in book.worksheets]
    finally:
        book.close()


def _csv_rows(path: Path) -> list[tuple[int, list[Any]]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [(i, row) for i, row in enumerate(csv.reader(text.splitlines(), dialect), start=1)]


def match_header(cells: list[Any]) -> dict[str, int]:
    """Canonical field → column index for a candidate header row (first alias that matches wins)."""
    normed = [norm_header(c) for c in cells]
    found: dict[str, int] = {}
    for fieldname, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in normed:
                found[fieldname] = normed.index(alias)
                break
    return found


def read_sheet(path: str | Path) -> Sheet:
    """Parse an annotation sheet into sample rows with canonical field names.

    Raises ``DatasetError`` naming the file when no header row is found or a column is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"annotation sheet {path} does not exist. Fix: check the path passed as "
                           f"sheet= (CLI: --sheet), or leave it out to search by name.")
    best: tuple[str | None, int, dict[str, int], list] | None = None
    for title, rows in raw_rows(path):
        for number, cells in rows[:HEADER_SEARCH_ROWS]:
            found = match_header(cells)
            if "subject" in found and "clip" in found:
                if best is None or len(found) > len(best[2]):
                    best = (title, number, found, [cells, rows])
                break
    if best is None:
        raise DatasetError(
            f"{path.name}: no header row with a Subject and a Filename column in the first "
            f"{HEADER_SEARCH_ROWS} rows of any worksheet. Fix: make sure the sheet has a header "
            f"row such as 'Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, "
            f"Estimated Emotion'.")
    title, header_row, found, (header_cells, rows) = best
    missing = [f for f in REQUIRED_COLUMNS if f not in found]
    if missing:
        wanted = "; ".join(f"{f}: one of {COLUMN_ALIASES[f]}" for f in missing)
        present = [str(c).strip() for c in header_cells if c is not None and str(c).strip()]
        raise DatasetError(
            f"{path.name} row {header_row} (header): no column for {wanted}. Columns found: "
            f"{present}. Fix: rename the column in the sheet (spacing and case do not matter).")
    columns = {f: str(header_cells[i]).strip() for f, i in found.items()}
    sample_rows: list[SheetRow] = []
    ignored: list[int] = []
    for number, cells in rows:
        if number <= header_row:
            continue
        values = {f: (cells[i] if i < len(cells) else None) for f, i in found.items()}
        if all(is_missing(c) for c in cells):
            continue  # blank line
        if is_missing(values["clip"]) and is_missing(values["onset"]):
            ignored.append(number)  # a note or sub-title, not a sample
            continue
        sample_rows.append(SheetRow(number, values))
    return Sheet(path, title, header_row, columns, sample_rows, ignored)
