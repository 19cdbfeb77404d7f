"""Where a clip's frames are on disk, for the folder layouts people actually have.

Why: the official code hard-codes one layout per script (spec §8), but users hold different
releases and renamings of the same data (CASME II raw and ``Cropped/``, SAMM zero-padded or not,
CAS(ME)^3 with a ``color/`` folder). The kit accepts all of these without configuration. What differs
per dataset (subject folder names, example paths, frame sub-folders) comes from its
:class:`~tsfmicro_lite.data.spec.DatasetSpec` (``data/datasets/<name>.py``); this module is generic.

A frame's number is the run of digits at the end of its file name, so padding and prefixes do not
matter. When both a cropped and a raw copy exist, ``layout="auto"`` takes the cropped one, as the
official code does.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DatasetError
from .spec import DatasetSpec

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
LAYOUTS = ("auto", "cropped", "raw")
_FRAME_STEM = re.compile(r"^(.*?)(\d+)$")
_SKIP_DIRS = {"landmarks", "__pycache__"}


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


def find_frames_base(root: Path, spec: DatasetSpec, subjects: list[str], layout: str = "auto") -> FramesBase:
    """Pick the folder under ``root`` that holds most of the sheet's subject folders.

    Candidates: ``root``'s sub-folders whose name contains "crop" (cropped copies), ``root`` itself
    and its other sub-folders (raw copies). ``layout`` restricts the kind. ``auto`` takes the
    candidate with most subjects and, on a tie, the cropped copy (a partial ``Cropped/`` copy
    does not hide a complete raw one).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    children = sorted((root / n for n in _dir_names(root).values()
                       if n.lower() not in _SKIP_DIRS and not n.startswith(".")), key=str)
    candidates = [FramesBase(c, "cropped") for c in children if "crop" in c.name.lower()]
    candidates += [FramesBase(root, "raw")]
    candidates += [FramesBase(c, "raw") for c in children if "crop" not in c.name.lower()]
    wanted = [tuple(n.lower() for n in subject_folder_names(spec, s)) for s in sorted(set(subjects))]

    def score(base: FramesBase) -> int:
        names = _dir_names(base.path)
        return sum(any(n in names for n in options) for options in wanted)

    scored = [(score(c), c) for c in candidates if layout in ("auto", c.kind)]
    best = max((s for s, _ in scored), default=0)
    if best > 0:  # most subjects wins; on a tie the first candidate, i.e. a cropped copy
        return next(c for s, c in scored if s == best)
    looked = ", ".join(str(c.path) for _, c in scored) or str(root)
    example = ", ".join(subject_folder_names(spec, sorted(set(subjects))[0])) if subjects else "?"
    raise DatasetError(
        f"no subject folders ({example}, ...) found in {looked} (layout={layout!r}). Expected "
        f"frames like {spec.example_frames}. Fix: pass root= the folder that holds the subject "
        f"folders or their Cropped/ parent.")


class DiskIndex:
    """Folder listings and frame indexes, each read once per ``load_dataset`` call.

    CAS(ME)^3 lists several micro-expressions per (long) clip folder; listing it once keeps a load
    of ~1,000 rows to one scan per folder.
    """

    def __init__(self) -> None:
        self._dirs: dict[Path, dict[str, str]] = {}
        self._frames: dict[Path, dict[int, str]] = {}

    def dir_names(self, path: Path) -> dict[str, str]:
        if path not in self._dirs:
            self._dirs[path] = _dir_names(path)
        return self._dirs[path]

    def frames(self, path: Path) -> dict[int, str]:
        if path not in self._frames:
            self._frames[path] = index_frames(path)
        return self._frames[path]


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
        clip_real = disk.dir_names(subject_dir).get(clip.lower())
        if clip_real is None:
            continue
        clip_dir = subject_dir / clip_real
        inner = disk.dir_names(clip_dir)
        for sub in spec.clip_subfolders:
            if sub.lower() in inner and not disk.frames(clip_dir):
                return clip_dir / inner[sub.lower()], tried  # e.g. CAS(ME)^3 part A's color/
        return clip_dir, tried
    return None, tried


def index_frames(clip_dir: Path) -> dict[int, str]:
    """Frame number → image path for every image in ``clip_dir``, sorted by number.

    The number is the digits ending the file stem (``reg_img46`` → 46, ``006_05562`` → 5562). If
    images with different prefixes share a folder, the most common prefix wins.
    """
    groups: dict[str, dict[int, str]] = {}
    try:
        entries = list(os.scandir(clip_dir))
    except OSError:
        return {}
    for entry in entries:
        stem, suffix = os.path.splitext(entry.name)
        if suffix.lower() not in IMAGE_SUFFIXES or not entry.is_file():
            continue
        match = _FRAME_STEM.match(stem)
        if match:
            groups.setdefault(match.group(1), {})[int(match.group(2))] = entry.path
    if not groups:
        return {}
    prefix = max(groups, key=lambda p: (len(groups[p]), p))
    return dict(sorted(groups[prefix].items()))


def nearest_frame(frames: dict[int, str], number: int) -> int | None:
    """The existing frame number closest to ``number`` (the earlier one on a tie), or None."""
    if not frames:
        return None
    return min(frames, key=lambda f: (abs(f - number), f))
