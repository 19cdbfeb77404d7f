"""``prepare(df, PrepConfig(...))``: aligned onset/apex crops and motion inputs for every clip, cached.

Taught in notebook 01 ("4 · The prepared inputs: difference, optical flow, optical strain"). For each
clip (one row of ``load_dataset``):

1. locate the face on the **onset** frame (dlib, else the visible fallbacks of ``faces.py``);
2. estimate ONE similarity transform from it and warp the onset, the apex (and, when
   ``keep_candidates``, the few frames the training-time frame-pair search may pick) with it;
3. compute the motion inputs the config asks for (difference always derivable; flow / strain stored).

Cache, two levels under ``<cache>/prepared/v1/`` (``utils.paths.cache_dir()`` unless ``cache_dir=``), every
file written atomically with ``utils.io``:

- ``align/<key>.json`` — where the face is on the onset frame; the key covers the onset file (path, size,
  mtime), the ground-truth landmark file when it is a fallback, and the detector settings. Changing the
  crop size, margin or motion input reuses it, so the detector does not run again.
- ``clips/<key>.npz`` — the arrays of one clip; the key covers the alignment key, every frame file read and
  every parameter. A second run with the same config reads only these and never loads dlib.
Changing a parameter or touching a frame invalidates exactly the entries whose key includes it.

Nothing silent about the cache: an entry that cannot be read back (truncated, not an npz / JSON, arrays
missing) is named in the report (``cache["corrupt"]``), deleted and recomputed; a write that fails (read-only
folder, full disk, file-size limit) raises :class:`CacheError` naming the cache folder and the fix
(``--cache-dir`` / ``$TSFMICRO_CACHE``); ``.tmp`` files left by killed writers (older than
``STALE_TMP_S``) are removed and counted. Frames of one clip with different sizes (onset, apex, search
candidates, the K frames) are refused by the align path (one transform cannot align both); the dataset path
(``faces="dataset"``) resizes each frame on its own, as the official transform does, and names the clip and
sizes in ``report["resized"]``, the summary and a warning.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..data.datasets import find_spec
from ..data.errors import DatasetError
from ..data.layouts import in_cropped_copy
from ..utils.io import atomic_path, atomic_write_json
from ..utils.paths import cache_dir as default_cache_dir
from ..utils.progress import progress as progress_bar
from ..utils.progress import quiet
from .augment import search_radius
from .faces import FALLBACKS, FaceAligner, FaceLocation, apply_transform, read_frame
from .frames import check_sampler, sample_frames, warp_frames
from .inputs import FLOW_METHODS, optical_flow, optical_strain
from .official import official_resize

CACHE_VERSION = "v1"
STALE_TMP_S = 600  # a .tmp file older than this was left by a killed writer (a live one writes in seconds)
_CLIP_KEYS = ("onset_candidates", "apex_candidates", "transform")


class CacheError(RuntimeError):
    """The preprocessing cache cannot be written (read-only folder, full disk, file-size limit)."""


def _cache_write_error(path: Path, root: Path, exc: OSError) -> CacheError:
    return CacheError(
        f"cannot write the preprocessing cache entry {path} ({type(exc).__name__}: {exc.strerror or exc}); the "
        f"cache folder {root} is read-only, full or not a folder. Fix: free space there, or point the cache at a "
        f"writable folder with --cache-dir DIR (tsfmicro prepare), prepare(..., cache_dir=DIR) or "
        f"$TSFMICRO_CACHE=DIR.")
MOTIONS = ("diff", "flow", "strain", "all")
FACES = ("align", "dataset")  # the kit's dlib alignment, or the release's own crops as the official code (spec §1)


@dataclass(frozen=True)
class PrepConfig:
    """Every parameter of the preprocessing; each one is part of the cache key of the entries it affects.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section
    "4 · The prepared inputs: difference, optical flow, optical strain".
    """

    size: int = 224  # side of the aligned crops (the paper's input size; CPU presets use less)
    margin: float = 0.2  # free space around the face box, as a fraction of its width, on each side
    detector: str = "hog"  # dlib "hog" (fast) or "cnn" (MMOD, ~3 s an image on CPU)
    upsample: int = 1  # dlib's image pyramid upsampling (1 finds faces down to ~40 px)
    fallbacks: tuple[str, ...] = FALLBACKS  # tried in order when dlib finds no face; counted in the report
    motion: str = "diff"  # what to store besides onset/apex: "diff" (nothing more), "flow", "strain", "all"
    flow_method: str = "farneback"  # "farneback" | "dis" | "tvl1" (opencv-contrib only)
    keep_candidates: bool = False  # store aligned frames onset..onset+r and apex−r..apex for the frame-pair search
    faces: str = "align"  # "align": dlib + similarity warp; "dataset": the release's crops, PIL-resized (official.py)
    frames: int = 0  # K ≥ 2: also store K frames onset→offset, same transform (the sequence variant; frames.py)
    frame_sampler: str = "uniform"  # which K frames: "uniform" | "apex_centred" (preprocess/frames.py)

    def __post_init__(self) -> None:
        if self.motion not in MOTIONS:
            raise ValueError(f"PrepConfig.motion must be one of {list(MOTIONS)}, got {self.motion!r}")
        if self.flow_method not in FLOW_METHODS:
            raise ValueError(f"PrepConfig.flow_method must be one of {list(FLOW_METHODS)}, got {self.flow_method!r}")
        if self.size < 16:
            raise ValueError(f"PrepConfig.size must be at least 16 pixels, got {self.size}")
        if self.faces not in FACES:
            raise ValueError(f"PrepConfig.faces must be one of {list(FACES)}, got {self.faces!r} "
                             "(align = the kit's dlib path, dataset = the release's crops as the official code)")
        object.__setattr__(self, "fallbacks", tuple(self.fallbacks))
        FaceAligner(detector=self.detector, fallbacks=self.fallbacks)  # validates detector and fallbacks
        check_sampler(self.frames, self.frame_sampler)

    @property
    def wants_flow(self) -> bool:
        return self.motion in ("flow", "strain", "all")

    @property
    def wants_strain(self) -> bool:
        return self.motion in ("strain", "all")

    def detector_params(self) -> dict[str, Any]:
        """The parameters the face location depends on (the alignment cache key)."""
        return {"detector": self.detector, "upsample": self.upsample, "fallbacks": list(self.fallbacks)}

    def aligner(self) -> FaceAligner:
        return FaceAligner(size=self.size, margin=self.margin, detector=self.detector, upsample=self.upsample,
                           fallbacks=self.fallbacks)


@dataclass
class PreparedClips:
    """Aligned inputs of N clips, in the order of the DataFrame given to :func:`prepare`.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section
    "4 · The prepared inputs: difference, optical flow, optical strain".
    """

    onset: np.ndarray  # (N, S, S, 3) uint8
    apex: np.ndarray  # (N, S, S, 3) uint8
    labels: np.ndarray  # (N,) int64
    subjects: np.ndarray  # (N,) str
    clips: np.ndarray  # (N,) str
    report: dict[str, Any]
    config: PrepConfig
    classes: list[str] = field(default_factory=list)
    datasets: np.ndarray | None = None  # (N,) str
    sources: np.ndarray | None = None  # (N,) str: which method located each face (dlib, haar, ...)
    transforms: np.ndarray | None = None  # (N, 2, 3) onset-frame → crop
    flow: np.ndarray | None = None  # (N, S, S, 2) float32 pixels
    strain: np.ndarray | None = None  # (N, S, S, 1) float32
    onset_candidates: list[np.ndarray] | None = None  # per clip (r+1, S, S, 3): frames onset+0..r
    apex_candidates: list[np.ndarray] | None = None  # per clip (r+1, S, S, 3): frames apex−0..r
    frames: np.ndarray | None = None  # (N, K, S, S, 3) uint8 with PrepConfig(frames=K); frame 0 is the onset
    frame_positions: np.ndarray | None = None  # (N, K) int: each frame's position in the clip (0 = onset)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def size(self) -> int:
        return int(self.onset.shape[1])

    def subset(self, indices: Sequence[int]) -> "PreparedClips":
        """The same clips restricted to ``indices`` (e.g. one LOSO fold)."""
        idx = np.asarray(indices, dtype=np.int64)
        picked: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                picked[f.name] = value[idx]
            elif isinstance(value, list) and f.name.endswith("_candidates"):
                picked[f.name] = [value[i] for i in idx]
            else:
                picked[f.name] = value
        return PreparedClips(**picked)

    def summary(self) -> str:
        """One paragraph: clips, how each face was found (per dataset), cache use, time."""
        r = self.report
        lines = [f"prepared {len(self)} clips at {self.size}×{self.size} (motion={self.config.motion}) "
                 f"in {r.get('seconds', 0):.1f} s"]
        lines.append("  faces: " + ("the release's own crops, PIL bilinear resize (official, spec §1)"
                                    if self.config.faces == "dataset" else "aligned and cropped by the kit (dlib)"))
        for name, counts in r.get("sources", {}).items():
            used = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
            lines.append(f"  {name}: face located by {used}")
        for name, clips in r.get("fallback_clips", {}).items():
            if clips:
                shown = ", ".join(clips[:8]) + (" ..." if len(clips) > 8 else "")
                lines.append(f"  fallback {name}: {len(clips)} clips ({shown})")
        if r.get("resized"):
            shown = "; ".join(r["resized"][:3]) + (" ..." if len(r["resized"]) > 3 else "")
            lines.append(f"  frames of another size than the onset, each resized to {self.size}×{self.size} on its "
                         f"own (as the official transform): {len(r['resized'])} clips ({shown})")
        c = r.get("cache", {})
        lines.append(f"  cache: {c.get('clip_hits', 0)} clips read, {c.get('computed', 0)} computed "
                     f"({c.get('align_hits', 0)} reused a cached face location), dlib ran on "
                     f"{c.get('detector_runs', 0)} onset frames; {c.get('dir', '')}")
        if c.get("corrupt"):
            lines.append(f"  cache: {len(c['corrupt'])} corrupt entries deleted and recomputed: "
                         + "; ".join(c["corrupt"][:3]) + (" ..." if len(c["corrupt"]) > 3 else ""))
        if c.get("stale_tmp_removed"):
            lines.append(f"  cache: {c['stale_tmp_removed']} .tmp files left by killed writers removed")
        return "\n".join(lines)


# -- cache keys --------------------------------------------------------------------------------------
def file_identity(path: str | os.PathLike) -> list[Any]:
    """(path, size, mtime_ns) of a source file: cheap, and changes when the file is replaced or edited."""
    st = os.stat(path)
    return [str(Path(path).resolve()), st.st_size, st.st_mtime_ns]


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _clip_frames(row: dict, dataset: str, keep_candidates: bool) -> tuple[list[str], list[str]]:
    """Paths of frames onset+0..r and apex−0..r (just [onset], [apex] without the frame-pair search)."""
    onset_path, apex_path = str(row["onset_path"]), str(row["apex_path"])
    if not keep_candidates:
        return [onset_path], [apex_path]
    paths = [str(p) for p in row.get("frame_paths") or []]
    radius = search_radius(int(row["onset"]), int(row["apex"]), dataset)
    if onset_path not in paths or apex_path not in paths:
        return [onset_path], [apex_path]
    i0, j0 = paths.index(onset_path), paths.index(apex_path)
    radius = max(0, min(radius, (j0 - i0 - 1) // 2))  # candidates never cross
    return paths[i0:i0 + radius + 1], [paths[j0 - j] for j in range(radius + 1)]


def _gt_landmarks(row: dict) -> tuple[np.ndarray | None, list[Any] | None]:
    """Ground-truth onset landmarks of a synthetic clip (and the file identity for the key), if any."""
    path = row.get("landmarks_path")
    if path is None or (isinstance(path, float) and np.isnan(path)) or not Path(str(path)).is_file():
        return None, None
    marks = np.load(str(path), mmap_mode="r")
    numbers = list(row.get("frame_numbers") or [])
    k = numbers.index(int(row["onset"])) if int(row["onset"]) in numbers else 0
    return np.array(marks[k], dtype=np.float64), file_identity(path) + [k]


# -- work of one clip (runs in a worker thread) ------------------------------------------------------
def _process_clip(job: dict) -> dict:
    """Locate (or reuse the cached location), warp, compute motion, write the clip's cache entries."""
    config: PrepConfig = job["config"]
    if config.faces == "dataset":
        return _process_dataset_clip(job)
    aligner = config.aligner()  # cheap: the models behind it are loaded once (see faces._model)
    onset_frames = [read_frame(p) for p in job["onset_paths"]]
    apex_frames = [read_frame(p) for p in job["apex_paths"]]
    sizes = _FrameSizes(job, onset_frames[0], refuse=True)  # one transform cannot serve frames of other sizes
    sizes.check_all(list(job["onset_paths"]) + list(job["apex_paths"]), onset_frames + apex_frames)
    if job["location"] is not None:
        location = FaceLocation(**job["location"])
        detector_ran = False
    else:
        location = aligner.locate(onset_frames[0], gt_landmarks=job["gt_landmarks"],
                                  name=f"{job['onset_paths'][0]} (clip {job['name']})")
        detector_ran = True
        record = dataclasses.asdict(location)
        record["landmarks"] = None if location.landmarks is None else location.landmarks.tolist()
        try:
            atomic_write_json(job["align_file"], record)
        except OSError as exc:
            raise _cache_write_error(job["align_file"], job["cache_root"], exc) from None
    matrix = aligner.transform(location)
    size = config.size
    arrays: dict[str, np.ndarray] = {
        "onset_candidates": np.stack([apply_transform(f, matrix, size) for f in onset_frames]),
        "apex_candidates": np.stack([apply_transform(f, matrix, size) for f in apex_frames]),
        "transform": np.asarray(matrix, dtype=np.float64),
    }
    return _finish_clip(job, arrays, sizes.follow(lambda f: apply_transform(f, matrix, size)), location.source,
                        detector_ran)


def _finish_clip(job: dict, arrays: dict[str, np.ndarray], to_input: Callable[[np.ndarray], np.ndarray],
                 source: str, detector_ran: bool, sizes: _FrameSizes | None = None) -> dict:
    """Both face paths end alike: motion inputs from the onset/apex crops, the K frames, one atomic cache write.

    ``sizes`` (the dataset path) has seen every frame read, the K frames included, when its note is written.
    """
    config: PrepConfig = job["config"]
    onset, apex = arrays["onset_candidates"][0], arrays["apex_candidates"][0]
    if config.wants_flow:
        arrays["flow"] = optical_flow(onset, apex, config.flow_method)
    if config.wants_strain:
        arrays["strain"] = optical_strain(arrays["flow"])
    if job.get("frame_paths"):
        arrays.update(warp_frames(job["frame_paths"], job["frame_positions"], to_input))
    meta: dict[str, Any] = {"source": source}
    if sizes is not None:
        meta["size_note"] = sizes.note()
    try:
        with atomic_path(job["clip_file"]) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
    except OSError as exc:
        raise _cache_write_error(job["clip_file"], job["cache_root"], exc) from None
    return {"index": job["index"], "arrays": arrays, "source": source, "detector_ran": detector_ran,
            "size_note": meta.get("size_note", "")}


class _FrameSizes:
    """The sizes of one clip's frames against its onset frame's, as they are read.

    ``refuse=True`` (the align path: one transform cannot serve frames of different sizes) raises
    ``DatasetError`` naming the clip, both files and sizes; ``refuse=False`` (the dataset path, where each
    frame is resized to the input size on its own, as the official transform does) records them for
    :meth:`note`. ``follow(to_input)`` checks the K frames of ``PrepConfig(frames=K)``, read in
    ``job["frame_paths"]`` order, before mapping them.
    """

    def __init__(self, job: dict, onset: np.ndarray, refuse: bool):
        self.job, self.refuse, self.onset = job, refuse, onset.shape[:2]
        self.others: dict[str, tuple[int, int]] = {}
        self._k = 0

    def check(self, path: str, frame: np.ndarray) -> None:
        shape = frame.shape[:2]
        if shape == self.onset:
            return
        if self.refuse:
            h0, w0 = self.onset
            raise DatasetError(
                f"clip {self.job['name']}: frame {path} is {shape[1]}x{shape[0]} px but the onset frame "
                f"{self.job['onset_paths'][0]} is {w0}x{h0} px; one alignment cannot serve frames of different "
                f"sizes. Fix: re-export the clip's frames at one size (or drop the clip from the sheet).")
        self.others[str(path)] = shape

    def check_all(self, paths: Sequence[str], frames: Sequence[np.ndarray]) -> None:
        for path, frame in zip(paths, frames):
            self.check(path, frame)

    def follow(self, to_input: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        def checked(frame: np.ndarray) -> np.ndarray:
            self.check(self.job["frame_paths"][self._k], frame)
            self._k += 1
            return to_input(frame)
        return checked

    def note(self) -> str:
        """"" when every frame has the onset's size, else the clip, the onset's size and the others'."""
        if not self.others:
            return ""
        h0, w0 = self.onset
        shown = ", ".join(f"{Path(p).name} {w}x{h}" for p, (h, w) in list(self.others.items())[:4])
        more = f" and {len(self.others) - 4} more" if len(self.others) > 4 else ""
        return f"{self.job['name']} (onset {Path(self.job['onset_paths'][0]).name} {w0}x{h0} px; {shown}{more})"


def _process_dataset_clip(job: dict) -> dict:
    """``faces="dataset"``: the release's crops, read and resized as the official transform (``official.py``).

    Frames of another size than the onset's are resized to the input size each on its own, as the official
    transform does; the clip is named in the report (``report["resized"]``), not refused.
    """
    config: PrepConfig = job["config"]
    size = config.size
    onset_frames = [read_frame(p) for p in job["onset_paths"]]
    apex_frames = [read_frame(p) for p in job["apex_paths"]]
    sizes = _FrameSizes(job, onset_frames[0], refuse=False)
    sizes.check_all(list(job["onset_paths"]) + list(job["apex_paths"]), onset_frames + apex_frames)
    h, w = onset_frames[0].shape[:2]
    arrays: dict[str, np.ndarray] = {
        "onset_candidates": np.stack([official_resize(f, size) for f in onset_frames]),
        "apex_candidates": np.stack([official_resize(f, size) for f in apex_frames]),
        "transform": np.array([[size / w, 0.0, 0.0], [0.0, size / h, 0.0]]),  # the onset crop's frame → the input
    }
    return _finish_clip(job, arrays, sizes.follow(lambda f: official_resize(f, size)), "dataset", False, sizes)


def check_dataset_crops(df) -> None:
    """Raise ``DatasetError`` unless every clip of ``df`` comes from a cropped copy (``faces="dataset"``).

    The load report says which copy was read (``layout``; the MEGC2019 composite's report, one per member in
    ``members``); without one, each clip folder must lie under a folder whose name contains "crop"
    (``data.layouts.in_cropped_copy``).
    """
    report = df.attrs.get("report")
    layout = getattr(report, "layout", "") if report is not None else ""
    base = getattr(report, "frames_base", "") if report is not None else ""
    if layout == "cropped":
        return
    members = getattr(report, "members", None) or {}  # the MEGC2019 composite: one load report per member
    rows = df.to_dict("records")

    def cropped(row: dict) -> bool:
        member = members.get(str(row.get("dataset", "")))
        if member is not None and getattr(member, "layout", ""):
            return member.layout == "cropped"
        return layout != "raw" and in_cropped_copy(str(row.get("clip_dir") or Path(str(row["onset_path"])).parent))

    bad = [row for row in rows if not cropped(row)]
    if bad and members:
        member = members.get(str(bad[0].get("dataset", "")))
        base = getattr(member, "frames_base", "") or base
    if not bad:
        return
    row = bad[0]
    folder = base or str(Path(str(row.get("clip_dir") or Path(str(row["onset_path"])).parent)).parent.parent)
    dataset = str(row.get("dataset", "unknown"))
    spec = find_spec(dataset)
    where = spec.cropped_layout if spec is not None and spec.cropped_layout else "<root>/Cropped/<subject>/<clip>/"
    raise DatasetError(
        f"faces='dataset' needs the release's own face crops, but {len(bad)} of {len(rows)} clips were read from "
        f"{folder}, which is not a cropped copy (clip {row['subject']}/{row['clip']}). Fix: copy the release's "
        f"cropped frames to {where} and load with layout='cropped' (or pass the folder that holds Cropped/ as "
        f"root), or use faces='align' (tsfmicro prepare --faces align) to align and crop with dlib.")


def _load_clip(path: Path) -> dict:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != "meta"}
        meta = json.loads(str(z["meta"]))
    missing = [k for k in _CLIP_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"arrays {missing} missing")
    return {"arrays": arrays, "source": meta["source"], "size_note": meta.get("size_note")}


def _load_location(path: Path) -> dict:
    location = json.loads(path.read_text())
    location["landmarks"] = None if location["landmarks"] is None else np.array(location["landmarks"])
    location["box"] = None if location["box"] is None else tuple(location["box"])
    location["image_shape"] = tuple(location["image_shape"])
    return location


def _read_entry(path: Path, reader: Callable[[Path], dict], corrupt: list[str]) -> dict | None:
    """A cache entry, or None when it is absent or cannot be read back (then named in ``corrupt`` and deleted)."""
    if not path.is_file():
        return None
    try:
        return reader(path)
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError, KeyError, JSONDecodeError, OSError...
        corrupt.append(f"{path} ({type(exc).__name__}: {exc})")
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def _remove_stale_tmp(root: Path) -> int:
    """Delete ``.tmp`` files that killed writers left in the cache (older than ``STALE_TMP_S``); their count."""
    removed, now = 0, time.time()
    for sub in ("clips", "align"):
        for tmp in (root / sub).glob(".*.tmp") if (root / sub).is_dir() else ():
            with contextlib.suppress(OSError):
                if now - tmp.stat().st_mtime > STALE_TMP_S:
                    tmp.unlink()
                    removed += 1
    return removed


# -- public entry point ----------------------------------------------------------------------------------
def prepare(df, config: PrepConfig | None = None, cache_dir: str | os.PathLike | None = None,
            workers: int | None = None, progress: bool | Callable[[int, int], None] | None = None) -> PreparedClips:
    """Aligned onset/apex crops (+ flow/strain, candidates) for every row of a ``load_dataset`` table.

    ``workers`` threads (default: up to 2, one per core) run the clips that are not cached; ``progress=True`` shows a
    ``utils.progress`` bar (one line outside a terminal, silent when ``TSFMICRO_QUIET=1``), a callable gets
    ``(done, total)``.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section
    "4 · The prepared inputs: difference, optical flow, optical strain".
    """
    config = config or PrepConfig()
    start = time.perf_counter()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "prepared"
    root = root / CACHE_VERSION
    rows = df.to_dict("records")
    n = len(rows)
    if n == 0:
        raise ValueError("prepare() got an empty table; check the dataset root and classes (tsfmicro data check)")
    missing = [c for c in ("onset_path", "apex_path", "label", "subject", "clip") if c not in df.columns]
    if missing:
        raise ValueError(f"prepare() needs the load_dataset columns {missing}; got columns {list(df.columns)}")
    if config.faces == "dataset":
        check_dataset_crops(df)

    results: list[dict | None] = [None] * n
    jobs: list[dict] = []
    align_hits = 0
    corrupt: list[str] = []
    stale_tmp = _remove_stale_tmp(root)
    for i, row in enumerate(rows):
        dataset = str(row.get("dataset", "unknown"))
        onset_paths, apex_paths = _clip_frames(row, dataset, config.keep_candidates)
        try:
            identities = [file_identity(p) for p in onset_paths + apex_paths]
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{exc.filename}: frame of clip {row['subject']}/{row['clip']} "
                                    f"(row {i}) is missing; re-copy the dataset or fix its sheet") from None
        frame_paths, positions = sample_frames(row, config.frames, config.frame_sampler) if config.frames else ([], [])
        identities += [file_identity(p) for p in frame_paths]
        gt, gt_id = _gt_landmarks(row) if "landmarks" in config.fallbacks else (None, None)
        align_key = _hash([CACHE_VERSION, identities[0], gt_id, config.detector_params()])
        clip_key = _hash([CACHE_VERSION, align_key, identities, dataclasses.asdict(config)])
        clip_file = root / "clips" / f"{clip_key}.npz"
        align_file = root / "align" / f"{align_key}.json"
        cached = _read_entry(clip_file, _load_clip, corrupt)
        if cached is not None and config.faces == "dataset" and cached["size_note"] is None:
            cached = None  # written before the frame sizes were recorded: recomputed (no detector on this path)
        if cached is not None:
            results[i] = cached
            continue
        location = None
        if config.faces == "align":
            location = _read_entry(align_file, _load_location, corrupt)
            align_hits += location is not None
        jobs.append({"index": i, "name": f"{row['subject']}/{row['clip']}", "config": config,
                     "onset_paths": onset_paths, "apex_paths": apex_paths, "gt_landmarks": gt,
                     "location": location, "align_file": align_file, "clip_file": clip_file, "cache_root": root})
        jobs[-1].update(frame_paths=frame_paths, frame_positions=positions)  # PrepConfig(frames=K)

    detector_runs = 0
    done = n - len(jobs)
    bar = _progress_bar(progress, n, done)
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = max(1, min(int(workers), len(jobs) or 1))
    if workers == 1:
        for job in jobs:
            out = _process_clip(job)
            results[out["index"]], detector_runs = out, detector_runs + out["detector_ran"]
            done = bar(done + 1)
    else:
        # Threads, not processes: dlib's HOG detector and OpenCV release the GIL while they compute (measured:
        # a pure-Python thread keeps ~80 % of its speed while another detects), so two threads use both cores
        # without a process start-up (imports + 100 MB model load each) and without the deadlocks that
        # forking a process whose torch/OpenMP threads already ran can cause (seen under pytest).
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prepare") as pool:
            futures = [pool.submit(_process_clip, job) for job in jobs]
            for fut in as_completed(futures):
                out = fut.result()
                results[out["index"]], detector_runs = out, detector_runs + out["detector_ran"]
                done = bar(done + 1)
    bar(None)

    return _assemble(df, rows, results, config, {
        "clip_hits": n - len(jobs), "computed": len(jobs), "align_hits": align_hits,
        "detector_runs": detector_runs, "dir": str(root), "corrupt": corrupt, "stale_tmp_removed": stale_tmp},
        time.perf_counter() - start)


def _progress_bar(progress, total: int, initial: int) -> Callable[[int | None], int]:
    """A function ``update(done)``; ``update(None)`` closes the bar."""
    if callable(progress):
        progress(initial, total)
        return lambda d: (progress(d, total) if d is not None else None) or (d or 0)
    if progress and not quiet():
        bar = progress_bar(total=total, initial=initial, desc="prepare", unit="clips")

        def update(d: int | None) -> int:
            if d is None:
                bar.close()
                return 0
            bar.update(d - bar.n)
            return d
        return update
    return lambda d: d or 0


def _assemble(df, rows: list[dict], results: list[dict], config: PrepConfig, cache: dict,
              seconds: float) -> PreparedClips:
    arrays = [r["arrays"] for r in results]
    sources = np.array([r["source"] for r in results])
    datasets = np.array([str(row.get("dataset", "unknown")) for row in rows])
    counts: dict[str, dict[str, int]] = {}
    fallback_clips: dict[str, list[str]] = {}
    for row, src, ds in zip(rows, sources, datasets):
        counts.setdefault(ds, {s: 0 for s in ("dlib", "dlib-cnn", "haar", "landmarks", "crop", "dataset")})[src] += 1
        if src not in ("dlib", "dlib-cnn", "dataset"):  # "dataset": the release's crops were asked for
            fallback_clips.setdefault(src, []).append(f"{row['subject']}/{row['clip']}")
    resized = [r["size_note"] for r in results if r.get("size_note")]  # faces="dataset" only (align refuses)
    report = {"sources": counts, "fallback_clips": fallback_clips, "cache": cache, "seconds": seconds,
              "config": dataclasses.asdict(config), "resized": resized}
    if resized:
        warnings.warn(f"{len(resized)} clips have frames of another size than their onset frame; each frame was "
                      f"resized to {config.size}x{config.size} on its own (as the official transform does), so "
                      f"apex - onset compares differently scaled crops: {'; '.join(resized[:3])}"
                      f"{' ...' if len(resized) > 3 else ''} (report['resized'] lists them)", stacklevel=3)
    keep = config.keep_candidates
    return PreparedClips(
        onset=np.stack([a["onset_candidates"][0] for a in arrays]),
        apex=np.stack([a["apex_candidates"][0] for a in arrays]),
        labels=np.array([int(row["label"]) for row in rows], dtype=np.int64),
        subjects=np.array([str(row["subject"]) for row in rows]),
        clips=np.array([str(row["clip"]) for row in rows]),
        report=report, config=config, classes=list(df.attrs.get("classes", [])), datasets=datasets,
        sources=sources, transforms=np.stack([a["transform"] for a in arrays]),
        flow=np.stack([a["flow"] for a in arrays]) if config.wants_flow else None,
        strain=np.stack([a["strain"] for a in arrays]) if config.wants_strain else None,
        onset_candidates=[a["onset_candidates"] for a in arrays] if keep else None,
        apex_candidates=[a["apex_candidates"] for a in arrays] if keep else None,
        frames=np.stack([a["frames"] for a in arrays]) if config.frames else None,
        frame_positions=np.stack([a["frame_positions"] for a in arrays]) if config.frames else None,
    )
