"""SynthME's generator: the embedded synthetic micro-expression dataset, laid out like CASME II's raw release.

Why: CASME II, SAMM and CAS(ME)^3 are licence-gated, so every notebook, test and the main command
run on this generated stand-in. It is deterministic (same profile and seed -> byte-identical
files), cached under ``cache_dir()/synthme`` and written atomically. Results on it are synthetic.

Layout (``data`` reads it like any dataset, through ``data/datasets/synthme.py``, CASME II's reader)::

    <root>/CASME2-coding-synthme.csv       Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
                                           Action Units, Estimated Emotion
    <root>/subXX/EPyy_zz/img<N>.jpg        frames onset..offset, N not zero-padded
    <root>/landmarks/subXX/<Filename>.npy  float32 (n_frames, 68, 2) ground-truth (x, y)
    <root>/synthme.json                    profile, seed, version, per-clip metadata, provenance

Faces are real LFW identities (``synth.faces``); motion is AU-driven (``synth.motion``).
Two more profiles write other releases' layouts (``ReleaseProfile``): ``samm-quick`` (SAMM's sheet with title
rows, ``<root>/001/001_1_1/001_00123.jpg``, grey 160 px frames) and ``smic-quick`` (SMIC-HS's folders
``<root>/HS/s1/micro/positive/s1_po_01/reg_image000123.bmp``, no sheet, no apex), for the MEGC2019 composite and
cross-dataset runs (``train/megc2019.py``); the CASME II-layout profiles' bytes are unchanged.
Taught in notebooks/01_data_and_preprocessing.ipynb, section "1 · What a micro-expression clip is".

Measured (generator v4, seed 0, a 2-core machine shared with other jobs, load 4-6): ``quick``
(8 subjects, 64 clips, 1,035 frames of 128 px, 5.1 MB) 6 s wall / 3 s CPU; ``casme2-like``
(26 subjects, 255 clips, 8,211 frames of 160 px, 71 MB) 36 s wall / 30 s CPU with 2 workers.
dlib's HOG detector finds a face in the onset and apex frames: quick 128/128 (upsample 0 and 1);
casme2-like 464/510 (upsample 0) and 469/510 (upsample 1). The rest is what the ground-truth
landmark fallback of preprocessing is for.
"""
from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import shutil
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..utils.io import atomic_directory, atomic_write_json, atomic_write_text
from ..utils.names import unknown
from ..utils.paths import cache_dir
from .faces import Appearance, random_appearance, render_neutral, usable_identities
from .motion import (
    EMOTION_RECIPES,
    EMOTIONS,
    EYE_CORNERS,
    RbfWarp,
    au_shading,
    au_targets,
    blink_profile,
    blink_targets,
    expression_profile,
    face_axes,
    similarity,
    warp_frame,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; the atomic rename still protects readers
    fcntl = None

GENERATOR_VERSION = 4  # bump whenever the bytes written for a (profile, seed) change
SHEET_NAME = "CASME2-coding-synthme.csv"
MANIFEST_NAME = "synthme.json"
SHEET_COLUMNS = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"]


@dataclass(frozen=True)
class SynthProfile:
    """The knobs of one SynthME profile. Pixel amounts are for 128 px frames and scale with ``size``."""

    name: str
    n_subjects: int
    class_counts: tuple[tuple[str, int], ...]  # emotion -> number of clips (CASME II strings)
    frames: tuple[int, int] = (12, 20)  # min, max frames per clip (onset..offset inclusive)
    size: int = 128  # frame side in pixels (square frames)
    amplitude_px: tuple[float, float] = (2.5, 4.0)  # apex shift of the most-moved landmark
    head_pose_px: float = 2.0  # head translation at onset, uniform in +-this (per clip)
    head_pose_deg: float = 1.5  # head roll at onset, +-degrees (per clip)
    head_drift_px: float = 1.0  # extra translation from onset to offset, +-pixels
    head_drift_deg: float = 0.5  # extra roll from onset to offset, +-degrees
    texture: float = 1.0  # scale of AU creases/bulges (0 = pure geometric motion)
    blink_prob: float = 0.3  # chance of a blink in a clip, whatever its class
    noise_sigma: float = 2.0  # sensor noise, grey levels (0-255)
    flicker: float = 0.01  # illumination gain change over a clip (relative): slow wave + frame jitter
    subject_alpha: float = 30.0  # Dirichlet concentration of each subject's class mix (low = imbalanced)
    clips_alpha: float = 50.0  # Dirichlet concentration of clips per subject (low = imbalanced)
    min_clips: int = 3  # fewest clips any subject gets
    jpeg_quality: int = 92
    workers: int = 1  # processes (output is identical for any number)

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.class_counts)

    @property
    def n_clips(self) -> int:
        return sum(n for _, n in self.class_counts)


@dataclass(frozen=True)
class ReleaseProfile(SynthProfile):
    """A SynthME profile written in another release's layout, so that release's reader reads it (issue 17).

    ``layout="samm"``: SAMM's sheet (title rows above the header, its column names and emotion names),
    ``<root>/001/001_1_1/001_00123.jpg`` (3-digit subjects, zero-padded frame numbers), grey frames.
    ``layout="smic"``: SMIC-HS's folders, no sheet and no apex annotation,
    ``<root>/HS/s1/micro/<positive|negative|surprise>/s1_po_01/reg_image000123.bmp``.
    The generator's emotions are CASME II's strings; :data:`RELEASE_EMOTIONS` writes them in the release's
    vocabulary (SAMM has no repression: those clips are written as Anger; SMIC has three folders).
    """

    layout: str = "casme2"


PROFILES: dict[str, SynthProfile] = {
    "quick": SynthProfile(
        name="quick",
        n_subjects=8,
        # Fewer "others" than CASME II: the 3-class task (which drops them) is what tests probe.
        class_counts=(("happiness", 16), ("surprise", 16), ("disgust", 12), ("repression", 10),
                      ("others", 6), ("fear", 2), ("sadness", 2)),
        frames=(12, 20),
        size=128,
    ),
    "casme2-like": SynthProfile(
        name="casme2-like",
        n_subjects=26,
        # CASME II (Yan et al. 2014), 255 samples as in the 2019 coding sheet.
        class_counts=(("happiness", 32), ("surprise", 25), ("disgust", 63), ("repression", 27),
                      ("others", 99), ("fear", 2), ("sadness", 7)),
        frames=(24, 40),
        size=160,
        subject_alpha=1.0,
        clips_alpha=2.0,
        min_clips=2,
        workers=2,
    ),
}


#: SynthME profiles in the layouts of SAMM and SMIC-HS: the composite (MEGC2019) and cross-dataset protocols
#: run end to end on them (``tsfmicro reproduce --task megc2019``). Results on them are SYNTHETIC.
PROFILES.update({
    "samm-quick": ReleaseProfile(
        name="samm-quick", layout="samm", n_subjects=6,
        class_counts=(("happiness", 10), ("surprise", 8), ("disgust", 6), ("repression", 6), ("others", 4),
                      ("fear", 2), ("sadness", 2)),
        frames=(14, 22), size=160, min_clips=4,
    ),
    "smic-quick": ReleaseProfile(
        name="smic-quick", layout="smic", n_subjects=6,
        class_counts=(("happiness", 10), ("surprise", 8), ("disgust", 8), ("repression", 6), ("fear", 2),
                      ("sadness", 2)),
        frames=(18, 30), size=96, min_clips=4,  # SMIC-HS: 100 fps, onset..offset clips of ~0.2-0.3 s
    ),
})

#: The generator's emotion (CASME II's strings) as each release writes it: SAMM's sheet, SMIC-HS's folders.
RELEASE_EMOTIONS = {
    "samm": {"happiness": "Happiness", "surprise": "Surprise", "disgust": "Disgust", "repression": "Anger",
             "others": "Other", "fear": "Fear", "sadness": "Sadness"},
    "smic": {"happiness": "positive", "surprise": "surprise", "disgust": "negative", "repression": "negative",
             "fear": "negative", "sadness": "negative"},
}
SAMM_SHEET_NAME = "SAMM_Micro_FACS_Codes_synthme.csv"
SAMM_SHEET_COLUMNS = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
                      "Duration", "Type", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
_SMIC_SHORT = {"positive": "po", "negative": "ne", "surprise": "sur"}


def _layout(p: SynthProfile) -> str:
    return getattr(p, "layout", "casme2")


def _release_names(p: SynthProfile, plan: "SubjectPlan") -> list[tuple[str, str, str]]:
    """(subject folder, clip folder relative to the root, frame name format) of each clip, in the release's layout."""
    layout, s = _layout(p), plan.subject
    if layout == "casme2":
        return [(f"sub{s:02d}", f"sub{s:02d}/{c.filename}", "img{n}.jpg") for c in plan.clips]
    if layout == "samm":
        return [(f"{s:03d}", f"{s:03d}/{s:03d}_{c.index % 7 + 1}_{c.index + 1}", f"{s:03d}_{{n:05d}}.jpg")
                for c in plan.clips]
    if layout == "smic":
        names, taken = [], {}
        for c in plan.clips:
            if c.emotion not in RELEASE_EMOTIONS["smic"]:
                raise SynthError(f"profile {p.name!r}: SMIC-HS has no {c.emotion!r} clips; drop it from class_counts")
            folder = RELEASE_EMOTIONS["smic"][c.emotion]
            taken[folder] = taken.get(folder, 0) + 1
            clip = f"s{s}_{_SMIC_SHORT[folder]}_{taken[folder]:02d}"
            names.append((f"s{s}", f"HS/s{s}/micro/{folder}/{clip}", "reg_image{n:06d}.bmp"))
        return names
    raise SynthError(f"profile {p.name!r}: unknown layout {layout!r}; expected casme2, samm or smic")


class SynthError(RuntimeError):
    """make_synthme was pointed at a folder it must not overwrite, or given a bad argument."""


def default_root(profile: str = "quick", seed: int = 0) -> Path:
    """Where ``make_synthme`` caches a profile/seed: ``cache_dir()/synthme/<profile>-seed<seed>-v<version>``."""
    return cache_dir() / "synthme" / f"{profile}-seed{seed}-v{GENERATOR_VERSION}"


def list_synth_profiles() -> list[str]:
    """The SynthME profile names: ``["quick", "casme2-like", "samm-quick", "smic-quick"]`` (the last two: SAMM's and
    SMIC-HS's layouts)."""
    return list(PROFILES)


def get_profile(profile: str | SynthProfile) -> SynthProfile:
    """Look a profile up by name; an unknown name raises ``SynthError`` listing the known ones."""
    if isinstance(profile, SynthProfile):
        return profile
    if profile not in PROFILES:
        raise unknown("SynthME profile", profile, list_synth_profiles(), error=SynthError)
    return PROFILES[profile]


# --------------------------------------------------------------------------------------- planning
@dataclass
class ClipPlan:
    """Everything random about one clip, drawn up front so rendering order cannot change the output."""

    subject: int
    index: int  # clip number within the subject (seeds its generator)
    filename: str
    emotion: str
    action_units: str
    onset: int
    n_frames: int
    apex_index: int
    amplitude_px: float
    residual: float
    pose_shift: tuple[float, float]
    pose_roll: float
    drift_shift: tuple[float, float]
    drift_roll: float
    blink: dict | None = None

    @property
    def apex(self) -> int:
        return self.onset + self.apex_index

    @property
    def offset(self) -> int:
        return self.onset + self.n_frames - 1


@dataclass
class SubjectPlan:
    subject: int
    look: Appearance
    clips: list[ClipPlan] = field(default_factory=list)


def _clips_per_subject(p: SynthProfile, rng: np.random.Generator) -> np.ndarray:
    spare = p.n_clips - p.min_clips * p.n_subjects
    if spare < 0:
        raise SynthError(f"profile {p.name!r}: {p.n_clips} clips cannot give {p.n_subjects} subjects "
                         f"{p.min_clips} each; lower min_clips or n_subjects")
    shares = rng.dirichlet(np.full(p.n_subjects, p.clips_alpha))
    return p.min_clips + rng.multinomial(spare, shares)


def _assign_emotions(p: SynthProfile, per_subject: np.ndarray, rng: np.random.Generator) -> list[list[str]]:
    """Deal the profile's class counts to subjects, each with its own (Dirichlet) taste for classes."""
    remaining = np.array([p.counts.get(e, 0) for e in EMOTIONS], dtype=np.float64)
    dealt = []
    for n in per_subject:
        taste = rng.dirichlet(np.full(len(EMOTIONS), p.subject_alpha)) + 1e-3
        mine = []
        for _ in range(n):
            weight = remaining * taste
            choice = int(rng.choice(len(EMOTIONS), p=weight / weight.sum()))
            remaining[choice] -= 1
            mine.append(EMOTIONS[choice])
        dealt.append(mine)
    return dealt


def plan_dataset(profile: str | SynthProfile = "quick", seed: int = 0) -> list[SubjectPlan]:
    """Draw subjects, their looks, clip counts, classes and every clip's parameters from ``seed``."""
    p = get_profile(profile)
    rng = np.random.default_rng([seed, 0])
    pool = usable_identities()
    if p.n_subjects > len(pool):
        raise SynthError(f"profile {p.name!r} asks for {p.n_subjects} subjects; only {len(pool)} LFW identities")
    identities = rng.permutation(pool)[: p.n_subjects]
    per_subject = _clips_per_subject(p, rng)
    emotions = _assign_emotions(p, per_subject, rng)
    scale = p.size / 128.0
    plans = []
    for s, (lfw_index, mine) in enumerate(zip(identities, emotions), start=1):
        srng = np.random.default_rng([seed, 1, s])
        plan = SubjectPlan(subject=s, look=random_appearance(int(lfw_index), p.size, srng))
        episodes = srng.choice(np.arange(1, 20), size=len(mine), replace=True)
        taken: dict[int, int] = {}
        for k, (emotion, episode) in enumerate(zip(mine, episodes)):
            crng = np.random.default_rng([seed, 2, s, k])
            taken[int(episode)] = taken.get(int(episode), 0) + 1
            suffix = "f" if crng.random() < 0.2 else ""
            n_frames = int(crng.integers(p.frames[0], p.frames[1] + 1))
            blink = None
            if crng.random() < p.blink_prob:
                blink = {"centre": float(crng.uniform(0, n_frames - 1)), "half_width": float(max(1.5, n_frames / 8)),
                         "depth": float(crng.uniform(0.6, 1.0))}
            plan.clips.append(ClipPlan(
                subject=s, index=k, filename=f"EP{int(episode):02d}_{taken[int(episode)]:02d}{suffix}",
                emotion=emotion, action_units=str(crng.choice(EMOTION_RECIPES[emotion])),
                onset=int(crng.integers(1, 300)), n_frames=n_frames,
                apex_index=int(round(crng.uniform(0.3, 0.6) * (n_frames - 1))),
                amplitude_px=float(crng.uniform(*p.amplitude_px) * scale), residual=float(crng.uniform(0.0, 0.25)),
                pose_shift=tuple(float(v) for v in crng.uniform(-1, 1, 2) * p.head_pose_px * scale),
                pose_roll=float(crng.uniform(-1, 1) * p.head_pose_deg),
                drift_shift=tuple(float(v) for v in crng.uniform(-1, 1, 2) * p.head_drift_px * scale),
                drift_roll=float(crng.uniform(-1, 1) * p.head_drift_deg),
                blink=blink,
            ))
        plans.append(plan)
    return plans


# -------------------------------------------------------------------------------------- rendering
def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def render_clip(clip: ClipPlan, neutral: np.ndarray, landmarks: np.ndarray, warp: RbfWarp,
                p: SynthProfile, seed: int) -> tuple[list[np.ndarray], np.ndarray, dict]:
    """Frames (uint8 BGR), ground-truth landmarks (n, 68, 2) and metadata of one clip."""
    rng = np.random.default_rng([seed, 3, clip.subject, clip.index])
    n = clip.n_frames
    w_expr = warp.weights(au_targets(clip.action_units, landmarks) * clip.amplitude_px)
    w_blink = warp.weights(blink_targets(landmarks), pinned=EYE_CORNERS)
    field_expr, field_blink = warp.field(w_expr), warp.field(w_blink)
    shading = au_shading(clip.action_units, landmarks, p.size)[..., None] * np.float32(p.texture)
    move_expr, move_blink = warp.at_landmarks(w_expr), warp.at_landmarks(w_blink)
    intensity = expression_profile(n, clip.apex_index, clip.residual)
    closure = (blink_profile(n, clip.blink["centre"], clip.blink["half_width"], clip.blink["depth"])
               if clip.blink else np.zeros(n))
    centre = landmarks.mean(0)
    progress = np.sin(0.5 * np.pi * np.arange(n) / max(n - 1, 1)) ** 2  # smooth head drift
    wobble_phase = rng.uniform(0, 2 * np.pi)
    gain_phase, gain_freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.02, 0.1)
    frames, truth = [], np.zeros((n, 68, 2), dtype=np.float32)
    for t in range(n):
        wobble = 0.15 * np.sin(wobble_phase + 0.7 * t)
        shift = np.asarray(clip.pose_shift) + np.asarray(clip.drift_shift) * (progress[t] + wobble)
        head = similarity(clip.pose_roll + clip.drift_roll * progress[t], shift, centre)
        field_t, face = None, neutral
        if intensity[t] > 0:
            field_t = np.float32(intensity[t]) * field_expr
            face = neutral * (1 + np.float32(intensity[t]) * shading)
        if closure[t] > 0:
            field_t = np.float32(closure[t]) * field_blink + (0 if field_t is None else field_t)
        image = warp_frame(face, field_t, head)
        gain = 1.0 + p.flicker * (np.sin(gain_phase + 2 * np.pi * gain_freq * t) + 0.3 * rng.standard_normal())
        noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(p.noise_sigma / 255.0)
        image = image * np.float32(gain) + noise
        frames.append(np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8))
        points = landmarks + intensity[t] * move_expr + closure[t] * move_blink
        truth[t] = points @ head[:, :2].T + head[:, 2]
    apex_shift = float(np.linalg.norm(move_expr, axis=1).max() * intensity[clip.apex_index])
    meta = {
        "subject": f"sub{clip.subject:02d}", "filename": clip.filename, "emotion": clip.emotion,
        "action_units": clip.action_units, "onset": clip.onset, "apex": clip.apex, "offset": clip.offset,
        "n_frames": n, "amplitude_px": round(clip.amplitude_px, 4),
        "apex_max_landmark_shift_px": round(apex_shift, 4),
        "head_motion": {"onset_shift_px": [round(v, 4) for v in clip.pose_shift],
                        "onset_roll_deg": round(clip.pose_roll, 4),
                        "drift_shift_px": [round(v, 4) for v in clip.drift_shift],
                        "drift_roll_deg": round(clip.drift_roll, 4)},
        "blink": None if clip.blink is None else {
            "frame": clip.onset + int(round(clip.blink["centre"])), "depth": round(clip.blink["depth"], 4)},
    }
    return frames, truth, meta


def _render_subject(args: tuple[SubjectPlan, SynthProfile, int, str]) -> list[dict]:
    """Render and write every clip of one subject (runs in a worker process when workers > 1)."""
    plan, p, seed, out = args
    cv2.setNumThreads(1)
    neutral, landmarks = render_neutral(plan.look, p.size)
    _, _, iod = face_axes(landmarks)
    warp = RbfWarp(landmarks, p.size, sigma=0.18 * iod)
    layout = _layout(p)
    metas = []
    for clip, (subject, relative, frame_name) in zip(plan.clips, _release_names(p, plan)):
        frames, truth, meta = render_clip(clip, neutral, landmarks, warp, p, seed)
        clip_dir = Path(out) / relative
        clip_dir.mkdir(parents=True, exist_ok=True)
        for number, frame in zip(range(clip.onset, clip.offset + 1), frames):
            name = frame_name.format(n=number)
            if layout == "samm":
                frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # SAMM's frames are grey
            params = [] if name.endswith(".bmp") else [cv2.IMWRITE_JPEG_QUALITY, p.jpeg_quality,
                                                       cv2.IMWRITE_JPEG_OPTIMIZE, 0]
            ok, encoded = cv2.imencode(Path(name).suffix, frame, params)
            if not ok:
                raise SynthError(f"{clip_dir}/{name}: OpenCV could not encode the frame")
            # Plain writes are safe here: the whole tree is built inside atomic_directory().
            (clip_dir / name).write_bytes(encoded.tobytes())
        marks = Path(out) / "landmarks" / subject
        marks.mkdir(parents=True, exist_ok=True)
        (marks / f"{clip_dir.name}.npy").write_bytes(_npy_bytes(truth))
        if layout != "casme2":
            meta.update(release_subject=subject, release_clip=clip_dir.name, release_path=relative)
        metas.append(meta)
    return metas


def _write_dataset(out: Path, p: SynthProfile, seed: int, workers: int) -> None:
    plans = plan_dataset(p, seed)
    jobs = [(plan, p, seed, str(out)) for plan in plans]
    per_subject = None
    if workers > 1:
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                per_subject = list(pool.map(_render_subject, jobs))
        except BrokenProcessPool as exc:  # e.g. a script without `if __name__ == "__main__":`
            warnings.warn(f"make_synthme: worker processes failed ({exc}); generating in this process instead "
                          "(same bytes, slower). Guard your script with `if __name__ == \"__main__\":`.", stacklevel=3)
    if per_subject is None:
        per_subject = [_render_subject(job) for job in jobs]
    clips = sorted((meta for metas in per_subject for meta in metas), key=lambda m: (m["subject"], m["filename"]))
    sheet = _sheet_name(p)
    if _layout(p) == "casme2":
        rows = [",".join(SHEET_COLUMNS)]
        rows += [f"{int(m['subject'][3:])},{m['filename']},{m['onset']},{m['apex']},{m['offset']},"
                 f"{m['action_units']},{m['emotion']}" for m in clips]
        atomic_write_text(out / SHEET_NAME, "\n".join(rows) + "\n")
    elif _layout(p) == "samm":  # SAMM's workbook: title rows above the header, its own column and emotion names
        rows = ["SAMM-shaped SynthME (SYNTHETIC data): Micro-FACS codes", "", ",".join(SAMM_SHEET_COLUMNS)]
        rows += [f"{int(m['release_subject'])},{m['release_clip']},1,{m['onset']},{m['apex']},{m['offset']},"
                 f"{m['n_frames']},Micro - 1/2,{m['action_units']},{RELEASE_EMOTIONS['samm'][m['emotion']]},,"
                 for m in clips]
        atomic_write_text(out / sheet, "\n".join(rows) + "\n")
    # SMIC-HS ships no sheet: its folders are the annotation
    manifest = {
        "name": "SynthME", "synthetic": True, "generator_version": GENERATOR_VERSION,
        "profile": asdict(p), "seed": seed, "n_subjects": len(plans), "n_clips": len(clips),
        "n_frames": sum(m["n_frames"] for m in clips), "frame_size": [p.size, p.size], "sheet": sheet,
        "identities": [{"subject": f"sub{plan.subject:02d}", **asdict(plan.look)} for plan in plans],
        "provenance": (
            "Faces: scikit-image lfw_subset() (Labeled Faces in the Wild crops, 25x25 grey), placed, tinted and lit "
            "per subject; neutral landmarks from dlib (tsfmicro_lite/synth/identities.json). Motion: AU-coded "
            "landmark moves interpolated by a Gaussian RBF and applied with cv2.remap, plus head translation/roll, "
            "blinks, sensor noise and illumination flicker. Synthetic data: not a stand-in for published results."
        ),
        "clips": clips,
    }
    atomic_write_json(out / MANIFEST_NAME, manifest)  # written last: its presence marks a finished tree


# ---------------------------------------------------------------------------------------- caching
def _sheet_name(p: SynthProfile) -> str | None:
    """The annotation sheet a profile writes (None for SMIC-HS's layout, which has none)."""
    return {"casme2": SHEET_NAME, "samm": SAMM_SHEET_NAME}.get(_layout(p))


def _count_frames(root: Path, p: SynthProfile | None = None) -> int:
    if p is None or _layout(p) == "casme2":
        return sum(1 for sub in root.glob("sub*") for clip in sub.iterdir() if clip.is_dir()
                   for f in os.scandir(clip) if f.name.endswith(".jpg"))
    suffix = ".bmp" if _layout(p) == "smic" else ".jpg"
    return sum(1 for d, _, files in os.walk(root) if "landmarks" not in Path(d).relative_to(root).parts
               for f in files if f.endswith(suffix))


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The ``synthme.json`` of a folder, or None when there is none or it is unreadable."""
    path = Path(root) / MANIFEST_NAME
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_complete(root: str | os.PathLike, profile: str | SynthProfile = "quick", seed: int = 0) -> bool:
    """True when ``root`` holds a finished SynthME of this profile, seed and generator version."""
    root = Path(root)
    manifest = read_manifest(root)
    if not manifest or manifest.get("generator_version") != GENERATOR_VERSION:
        return False
    if manifest.get("seed") != seed or manifest.get("profile") != json.loads(json.dumps(asdict(get_profile(profile)))):
        return False
    p = get_profile(profile)
    sheet = _sheet_name(p)
    return (sheet is None or (root / sheet).is_file()) and _count_frames(root, p) == manifest.get("n_frames")


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[None]:
    """Serialise generators of the same folder (two notebooks or test runs starting at once)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # Windows
        yield
        return
    with open(root.parent / f".{root.name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"make_synthme: waiting for another process that is generating {root} ...", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_dead_partials(root: Path) -> None:
    """Delete ``.<name>.partial-*`` folders left by killed runs (safe: we hold this root's lock)."""
    if os.name != "posix":
        return
    for stale in root.parent.glob(f".{root.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


def make_synthme(root: str | os.PathLike | None = None, profile: str = "quick", seed: int = 0,
                 force: bool = False, workers: int | None = None) -> Path:
    """Generate SynthME (or reuse a finished copy) and return its root folder.

    ``root`` defaults to ``default_root(profile, seed)`` under the kit's cache (``$TSFMICRO_CACHE``).
    A complete copy (manifest present, right profile/seed/version, every frame on disk) is reused
    unless ``force``. The tree is built in a hidden ``.partial`` sibling and renamed into place,
    so an interrupted run never looks finished. ``workers`` overrides the profile's process count;
    the bytes written do not depend on it.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "1 · What a micro-expression clip is".
    """
    p = get_profile(profile)
    root = Path(root).expanduser() if root is not None else default_root(p.name, seed)
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SynthError(
            "make_synthme() was called while a worker process was importing your script (multiprocessing "
            "'spawn' re-runs the main module). Put the call under `if __name__ == \"__main__\":`."
        )
    with _lock(root):
        if not force and is_complete(root, p, seed):
            return root
        if root.exists() and any(root.iterdir()):
            manifest = read_manifest(root)
            if manifest is None:
                raise SynthError(
                    f"{root}: folder exists, is not empty and holds no {MANIFEST_NAME}; refusing to overwrite it. "
                    "Pass an empty or new folder as --out / root."
                )
            if not force and (manifest.get("seed") != seed or manifest.get("profile", {}).get("name") != p.name):
                raise SynthError(
                    f"{root}: holds SynthME profile {manifest.get('profile', {}).get('name')!r} seed "
                    f"{manifest.get('seed')}, not {p.name!r} seed {seed}; pass force=True (--force) to replace it "
                    "or choose another folder."
                )
        _remove_dead_partials(root)
        with atomic_directory(root) as tmp:
            _write_dataset(tmp, p, seed, p.workers if workers is None else workers)
    return root


# ------------------------------------------------------------------------------------- inspection
def manifest_table(root: str | os.PathLike):
    """Per-clip generation metadata of a SynthME folder as a DataFrame (class, AUs, amplitude, blink...).

    This is the generator's own record (ground truth for plots); for training use
    ``load_dataset("synthme")``, which reads the folder as a CASME II release.
    """
    import pandas as pd  # lazy: generating SynthME does not need pandas, only this table does

    manifest = read_manifest(root)
    if manifest is None:
        raise SynthError(f"{Path(root) / MANIFEST_NAME}: missing or unreadable; generate with make_synthme()")
    rows = []
    for m in manifest["clips"]:
        head, blink = m["head_motion"], m["blink"] or {}
        rows.append({
            "subject": m["subject"], "clip": m["filename"], "emotion": m["emotion"], "action_units": m["action_units"],
            "onset": m["onset"], "apex": m["apex"], "offset": m["offset"], "n_frames": m["n_frames"],
            "amplitude_px": m["amplitude_px"], "apex_max_landmark_shift_px": m["apex_max_landmark_shift_px"],
            "head_shift_px": float(np.hypot(*head["drift_shift_px"])), "head_roll_deg": head["drift_roll_deg"],
            "blink_frame": blink.get("frame"), "blink_depth": blink.get("depth"),
        })
    return pd.DataFrame(rows)


def load_clip(root: str | os.PathLike, subject: str, clip: str) -> dict:
    """One SynthME clip: frame paths and numbers, onset/apex/offset, landmarks (n, 68, 2) and metadata."""
    root = Path(root)
    meta = next((m for m in (read_manifest(root) or {}).get("clips", [])
                 if m["subject"] == subject and m["filename"] == clip), None)
    if meta is None:
        raise SynthError(f"{root / MANIFEST_NAME}: no clip {subject}/{clip}; see manifest_table(root) for the clips")
    numbers = list(range(meta["onset"], meta["offset"] + 1))
    return {**meta, "frame_numbers": numbers,
            "frame_paths": [str(root / subject / clip / f"img{n}.jpg") for n in numbers],
            "landmarks": np.load(root / "landmarks" / subject / f"{clip}.npy")}
