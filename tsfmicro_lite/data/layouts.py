"""Where a clip's frames are on disk, for the folder layouts people actually have.

Why: the official code hard-codes one layout per script (spec §8), but users hold different
releases and renamings of the same data (CASME II raw and ``Cropped/``, SAMM zero-padded or not,
CAS(ME)^3 with a ``color/`` folder). The kit accepts all of these without configuration. What differs
per dataset (subject folder names, example paths, frame sub-folders) comes from its
:class:`~tsfmicro_lite.data.spec.DatasetSpec` (``data/datasets/<name>.py``); this module is generic.

A frame's number is the run of digits at the end of its file name, so padding and prefixes do not
matter. When both a cropped and a raw copy exist, ``layout="auto"`` takes the cropped one, as the
official code does.

What is not a frame is ignored and counted (``FrameScan``, summed into the load report): dot-files,
including macOS AppleDouble sidecars (``._img12.jpg``), and OS junk (``Thumbs.db``, ``desktop.ini``);
images whose names end in no frame number; images with a minority name prefix. An unreadable folder
is reported as unreadable, with the OS error, never as "empty".
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DatasetError
from .spec import DatasetSpec

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
LAYOUTS = ("auto", "cropped", "raw")
_FRAME_STEM = re.compile(r"^(.*?)(\d+)$")
_SKIP_DIRS = {"landmarks", "__pycache__", "__macosx"}  # compared lower-cased; __MACOSX: a zip's AppleDouble tree
#: How deep under ``root`` the subject folders are looked for (CAS(ME)^3 part A: ``data/part_A_split/part_A``),
#: and how many folders at most are listed on the way (folders only, never a clip's frames).
MAX_BASE_DEPTH = 4
MAX_BASE_FOLDERS = 2000
#: OS junk that is never a frame (compared lower-cased); dot-files (AppleDouble ``._*``, ``.DS_Store``) too.
JUNK_NAMES = {"thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"}
IGNORED_DOTFILES = "dot-files (macOS AppleDouble '._*' sidecars, .DS_Store, ...)"
IGNORED_JUNK = "OS junk files (Thumbs.db, desktop.ini)"
IGNORED_UNNUMBERED = "images whose name ends in no frame number"
IGNORED_PREFIX = "images with a minority name prefix (the most common prefix is the clip's)"


def subject_folder_names(spec: DatasetSpec, subject: str) -> tuple[str, ...]:
    """Folder names a subject may have on disk, most usual first (CASME II ``sub01`` also as ``sub1``)."""
    return spec.subject_folder_names(subject)


@dataclass(frozen=True)
class FramesBase:
    """The folder holding the subject folders, and which kind of copy it is."""

    path: Path
    kind: str  # "cropped" | "raw"


def _dir_names(path: Path) -> dict[str, str]:
    """Lower-cased name → real name of the sub-folders of ``path`` (empty if unreadable)."""
    try:
        return {e.name.lower(): e.name for e in os.scandir(path) if e.is_dir()}
    except OSError:
        return {}


def _crop_below(root: Path, path: Path) -> bool:
    """Whether a folder between ``root`` (excluded) and ``path`` (included) has "crop" in its name."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        parts = Path(path).parts
    return any("crop" in part.lower() for part in parts)


def copy_kinds(root: Path, folders: list[Path]) -> list[str]:
    """``"cropped"`` or ``"raw"`` for each candidate frames folder under ``root``.

    A folder whose path below ``root`` has a folder named ``*crop*`` is a cropped copy (CASME II
    ``Cropped-updated/Cropped/``, SAMM ``SAMM_CROP/``). When no candidate has one, ``root``'s own name decides for
    all (``SMIC_all_cropped/`` holding ``HS/``; a ``Cropped/`` folder passed as root); with one, ``root``'s name
    does not count (a root named ``casme2_cropped_and_raw`` holding ``Cropped/`` and raw subject folders).
    """
    below = [_crop_below(root, f) for f in folders]
    if any(below):
        return ["cropped" if b else "raw" for b in below]
    kind = "cropped" if "crop" in Path(root).name.lower() else "raw"
    return [kind] * len(folders)


def _base_candidates(root: Path, subject_names: set[str], listed: dict[Path, dict[str, str]]) -> list[Path]:
    """``root`` and its folders down to ``MAX_BASE_DEPTH`` levels, breadth first, by path in each level.

    Subject folders (names in ``subject_names``), dot-folders and ``_SKIP_DIRS`` are not entered: the search
    lists folders only, never a clip's frames, and stops after ``MAX_BASE_FOLDERS`` folders.
    """
    found, frontier = [root], [root]
    for _ in range(MAX_BASE_DEPTH):
        deeper: list[Path] = []
        for folder in frontier:
            listed[folder] = listed.get(folder) or _dir_names(folder)
            deeper += sorted((folder / n for n in listed[folder].values()
                              if not n.startswith(".") and n.lower() not in _SKIP_DIRS
                              and n.lower() not in subject_names), key=str)
        deeper = deeper[:max(0, MAX_BASE_FOLDERS - len(found))]
        if not deeper:
            break
        found += deeper
        frontier = deeper
    return found


def find_frames_base(root: Path, spec: DatasetSpec, subjects: list[str], layout: str = "auto") -> FramesBase:
    """Pick the folder under ``root`` that holds most of the sheet's subject folders.

    Candidates: ``root`` and its folders down to ``MAX_BASE_DEPTH`` levels (the releases nest their frames:
    CASME II ``Cropped-updated/Cropped/``, CAS(ME)^3 ``data/part_A_split/part_A/``); a candidate is a cropped
    copy when its path below ``root`` has a folder named ``*crop*`` (or, when none has, ``root``'s own name does;
    :func:`copy_kinds`), a raw copy otherwise. ``layout`` restricts the kind. ``auto`` takes the candidate with
    most subjects and, on a tie, a cropped copy, then the shallowest (a partial ``Cropped/`` copy does not
    hide a complete raw one).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    wanted = [tuple(n.lower() for n in subject_folder_names(spec, s)) for s in sorted(set(subjects))]
    listed: dict[Path, dict[str, str]] = {}
    folders = _base_candidates(root, {n for options in wanted for n in options}, listed)
    bases = [FramesBase(f, kind) for f, kind in zip(folders, copy_kinds(root, folders))]
    candidates = [b for b in bases if b.kind == "cropped"] + [b for b in bases if b.kind == "raw"]

    def score(base: FramesBase) -> int:
        names = listed.get(base.path)
        names = _dir_names(base.path) if names is None else names
        return sum(any(n in names for n in options) for options in wanted)

    scored = [(score(c), c) for c in candidates if layout in ("auto", c.kind)]
    best = max((s for s, _ in scored), default=0)
    if best > 0:  # most subjects wins; on a tie the first candidate, i.e. a cropped copy, the shallowest
        return next(c for s, c in scored if s == best)
    shown = [str(c.path) for _, c in scored[:8]]
    looked = (", ".join(shown) + (f" and {len(scored) - 8} more folders below it" if len(scored) > 8 else "")
              if scored else f"{root} (no folder of the {layout!r} kind: none named *crop*)")
    example = ", ".join(subject_folder_names(spec, sorted(set(subjects))[0])) if subjects else "?"
    raise DatasetError(
        f"no subject folders ({example}, ...) found in {looked} (layout={layout!r}; searched {MAX_BASE_DEPTH} "
        f"folder levels below root). Expected frames like {spec.example_frames}. Fix: pass root= the folder "
        f"that holds the subject folders or a folder above them (e.g. their Cropped/ parent).")


class DiskIndex:
    """Folder listings and frame indexes, each read once per ``load_dataset`` call.

    CAS(ME)^3 lists several micro-expressions per (long) clip folder; listing it once keeps a load
    of ~1,000 rows to one scan per folder.
    """

    def __init__(self) -> None:
        self._dirs: dict[Path, dict[str, str]] = {}
        self._scans: dict[Path, FrameScan] = {}

    def dir_names(self, path: Path) -> dict[str, str]:
        if path not in self._dirs:
            self._dirs[path] = _dir_names(path)
        return self._dirs[path]

    def scan(self, path: Path) -> FrameScan:
        if path not in self._scans:
            self._scans[path] = scan_frames(path)
        return self._scans[path]

    def frames(self, path: Path) -> dict[int, str]:
        return self.scan(path).frames


def find_clip_dir(base: FramesBase, spec: DatasetSpec, subject: str, clip: str,
                  disk: DiskIndex | None = None) -> tuple[Path | None, list[Path]]:
    """The clip's frame folder (or None) and the paths that were tried, for the error message.

    A clip folder without images of its own but with one of ``spec.clip_subfolders`` (CAS(ME)^3's
    ``color/``) gives that sub-folder.
    """
    disk = disk or DiskIndex()
    tried: list[Path] = []
    for name in subject_folder_names(spec, subject):
        real = disk.dir_names(base.path).get(name.lower())
        subject_dir = base.path / (real or name)
        tried.append(subject_dir / clip)
        if real is None:
            continue
        parent, clip_real = subject_dir, disk.dir_names(subject_dir).get(clip.lower())
        for middle in spec.clip_parents:  # SMIC-HS: <subject>/micro/<emotion>/<clip>
            if clip_real is not None:
                break
            parent = subject_dir / middle
            clip_real = disk.dir_names(parent).get(clip.lower())
        if clip_real is None:
            continue
        clip_dir = parent / clip_real
        inner = disk.dir_names(clip_dir)
        for sub in spec.clip_subfolders:
            if sub.lower() in inner and not disk.frames(clip_dir):
                return clip_dir / inner[sub.lower()], tried  # e.g. CAS(ME)^3 part A's color/
        return clip_dir, tried
    return None, tried


@dataclass
class FrameScan:
    """What one clip folder holds: its frames, what was ignored (by kind, with example names), errors."""

    path: Path
    frames: dict[int, str] = field(default_factory=dict)
    ignored: Counter = field(default_factory=Counter)  # kind (IGNORED_*) → count
    examples: dict[str, list[str]] = field(default_factory=dict)  # kind → up to 3 file names
    other_files: list[str] = field(default_factory=list)  # up to 5 names of non-image files
    error: str = ""  # the OS error when the folder cannot be listed (permissions, ...)

    def _ignore(self, kind: str, name: str) -> None:
        self.ignored[kind] += 1
        names = self.examples.setdefault(kind, [])
        if len(names) < 3:
            names.append(name)

    def why_empty(self) -> str:
        """Why no frame was found, in words (for the reader's error message)."""
        if self.error:
            return f"{self.path} cannot be read ({self.error}); fix its permissions"
        if self.ignored:
            parts = [f"{n} {kind}, e.g. {', '.join(self.examples.get(kind, []))}"
                     for kind, n in self.ignored.most_common()]
            return f"{self.path} holds no frame images, only ignored files: {'; '.join(parts)}"
        if self.other_files:
            return (f"{self.path} holds no images ({', '.join(IMAGE_SUFFIXES)}); files found: "
                    f"{', '.join(self.other_files)}")
        return f"{self.path} holds no images"


def scan_frames(clip_dir: Path) -> FrameScan:
    """Index ``clip_dir``'s frames and count what is not one (see the module docstring).

    The number is the digits ending the file stem (``reg_img46`` → 46, ``006_05562`` → 5562). If
    images with different prefixes share a folder, the most common prefix wins; the others are counted.
    """
    scan = FrameScan(Path(clip_dir))
    groups: dict[str, dict[int, str]] = {}
    try:
        entries = list(os.scandir(clip_dir))
    except OSError as exc:
        scan.error = f"{type(exc).__name__}: {exc.strerror or exc}"
        return scan
    for entry in sorted(entries, key=lambda e: e.name):
        name = entry.name
        if name.startswith("."):
            if not entry.is_dir():
                scan._ignore(IGNORED_DOTFILES, name)
            continue
        if name.lower() in JUNK_NAMES:
            scan._ignore(IGNORED_JUNK, name)
            continue
        stem, suffix = os.path.splitext(name)
        try:
            is_file = entry.is_file()
        except OSError:
            is_file = False
        if not is_file:
            continue
        if suffix.lower() not in IMAGE_SUFFIXES:
            if len(scan.other_files) < 5:
                scan.other_files.append(name)
            continue
        match = _FRAME_STEM.match(stem)
        if match:
            groups.setdefault(match.group(1), {})[int(match.group(2))] = entry.path
        else:
            scan._ignore(IGNORED_UNNUMBERED, name)
    if groups:
        prefix = max(groups, key=lambda p: (len(groups[p]), p))
        scan.frames = dict(sorted(groups[prefix].items()))
        for other, frames in sorted(groups.items()):
            if other != prefix:
                for path in frames.values():
                    scan._ignore(IGNORED_PREFIX, os.path.basename(path))
    return scan


def index_frames(clip_dir: Path) -> dict[int, str]:
    """Frame number → image path for every image in ``clip_dir``, sorted by number (see :func:`scan_frames`)."""
    return scan_frames(clip_dir).frames


def in_cropped_copy(clip_dir: str | os.PathLike) -> bool:
    """Whether a clip folder lies in a cropped copy: the folder holding its subject folder (or, for a frame
    sub-folder such as CAS(ME)^3's ``color/``, the one above) has "crop" in its name, the rule
    :func:`find_frames_base` uses to call a copy ``cropped`` (CASME II's ``Cropped/``)."""
    parents = Path(clip_dir).parents
    return any("crop" in parents[k].name.lower() for k in (1, 2) if k < len(parents))


def nearest_frame(frames: dict[int, str], number: int) -> int | None:
    """The existing frame number closest to ``number`` (the earlier one on a tie), or None."""
    if not frames:
        return None
    return min(frames, key=lambda f: (abs(f - number), f))
