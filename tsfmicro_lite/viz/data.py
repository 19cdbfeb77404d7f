"""Plots of the data itself: a clip as a strip of frames, motion over a clip, class balance.

Why: a micro-expression is invisible at a glance (a few pixels for a fraction of a second), so
notebook 01 (``01_data_and_preprocessing``) shows it three ways: the frames next to their
difference from the onset, the motion magnitude over the clip with onset / apex / offset marked,
and how unevenly classes spread over subjects (which is what makes LOSO scores noisy).
Each function takes plain paths / tables, so it works on SynthME and on real datasets alike.
"""
from __future__ import annotations

import os
from typing import Sequence

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..preprocess.faces import read_frame
from ..preprocess.inputs import difference


def _frame_numbers(n: int, frame_numbers: Sequence[int] | None, onset: int | None) -> list[int]:
    """The given numbers, else onset, onset+1, ... (readers list frames onset..offset), else 0..n-1."""
    if frame_numbers is not None:
        numbers = [int(v) for v in frame_numbers]
        if len(numbers) != n:
            raise ValueError(f"{len(numbers)} frame_numbers for {n} frame_paths; pass one number per frame")
        return numbers
    start = int(onset) if onset is not None else 0
    return list(range(start, start + n))


def _pick(n: int, max_frames: int, keep: Sequence[int]) -> list[int]:
    """Evenly spaced frame indices, always including the ones in ``keep`` (onset, apex, offset)."""
    chosen = set(np.linspace(0, n - 1, min(n, max_frames)).round().astype(int).tolist())
    chosen |= {k for k in keep if 0 <= k < n}
    return sorted(chosen)


def plot_clip_strip(frame_paths: Sequence[str | os.PathLike], frame_numbers: Sequence[int] | None = None,
                    onset: int | None = None, apex: int | None = None, offset: int | None = None,
                    landmarks: np.ndarray | None = None, max_frames: int = 8, diff_gain: float = 4.0,
                    title: str | None = None):
    """A clip as a strip: frames on top, (frame - onset) x ``diff_gain`` below, key frames labelled.

    ``frame_numbers`` default to onset, onset+1, ... (or 0..n-1); ``landmarks`` (n, 68, 2), if given, are drawn as dots.
    Returns the matplotlib Figure.
    Used in notebooks/01_data_and_preprocessing.ipynb, section "1 · What a micro-expression clip is".
    """
    n = len(frame_paths)
    if n == 0:
        raise ValueError("plot_clip_strip: frame_paths is empty; pass the clip's frames in order")
    numbers = _frame_numbers(n, frame_numbers, onset)
    keys = {onset: "onset", apex: "apex", offset: "offset"}
    shown = _pick(n, max_frames, [numbers.index(k) for k in keys if k in numbers])
    first = read_frame(frame_paths[0]).astype(np.float32)
    fig, axes = plt.subplots(2, len(shown), figsize=(1.6 * len(shown), 3.6), squeeze=False)
    for col, i in enumerate(shown):
        image = read_frame(frame_paths[i])
        axes[0, col].imshow(image)
        if landmarks is not None:
            axes[0, col].scatter(landmarks[i, :, 0], landmarks[i, :, 1], s=1.5, c="red")
        grey = (image.astype(np.float32) - first).mean(axis=2) * diff_gain
        axes[1, col].imshow(np.clip(grey + 128, 0, 255), cmap="gray", vmin=0, vmax=255)
        label = keys.get(numbers[i])
        axes[0, col].set_title(f"{numbers[i]}" + (f"\n{label}" if label else ""), fontsize=8,
                               color="crimson" if label == "apex" else "black")
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("frame", fontsize=8)
    axes[1, 0].set_ylabel(f"- onset, x{diff_gain:g}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def motion_magnitude(frame_paths: Sequence[str | os.PathLike]) -> np.ndarray:
    """Mean absolute grey-level difference of each frame from the first (onset) frame.

    Drawn by :func:`plot_motion_curve`; used in notebooks/assignments/A1_inputs.ipynb, part "Part 4 — Look at them".
    """
    first = cv2.cvtColor(read_frame(frame_paths[0]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.array([np.abs(cv2.cvtColor(read_frame(p), cv2.COLOR_RGB2GRAY).astype(np.float32) - first).mean()
                     for p in frame_paths])


def plot_motion_curve(frame_paths: Sequence[str | os.PathLike], frame_numbers: Sequence[int] | None = None,
                      onset: int | None = None, apex: int | None = None, offset: int | None = None,
                      landmarks: np.ndarray | None = None, ax=None, title: str | None = None):
    """Motion over a clip (mean |frame - onset|) with onset / apex / offset marked.

    With ground-truth ``landmarks`` (n, 68, 2) a second axis shows the largest landmark shift from
    the onset, in pixels: the expression's own profile, which head motion and blinks blur in the
    pixel curve. Returns the Figure.
    Used in notebooks/01_data_and_preprocessing.ipynb, section "1 · What a micro-expression clip is".
    """
    numbers = np.asarray(_frame_numbers(len(frame_paths), frame_numbers, onset))
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3))
    else:
        fig = ax.figure
    ax.plot(numbers, motion_magnitude(frame_paths), "o-", ms=3, label="mean |frame - onset| (grey levels)")
    ax.set_xlabel("frame number")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_ylabel("pixel change")
    if landmarks is not None:
        shift = np.linalg.norm(landmarks - landmarks[:1], axis=2).max(axis=1)
        twin = ax.twinx()
        twin.plot(numbers, shift, "s--", ms=3, color="tab:orange", label="max landmark shift (px)")
        twin.set_ylabel("landmark shift (px)", color="tab:orange")
    marks = ((onset, "onset", "tab:green"), (apex, "apex", "crimson"), (offset, "offset", "tab:gray"))
    for value, name, colour in marks:
        if value is not None:
            ax.axvline(value, color=colour, ls=":", lw=1.5)
            ax.text(value, ax.get_ylim()[1], name, color=colour, ha="center", va="bottom", fontsize=8)
    ax.legend(loc="upper left", fontsize=7)
    if title:
        ax.set_title(title, fontsize=10, pad=14)
    fig.tight_layout()
    return fig


def plot_class_balance(table, column: str = "emotion", by: str | None = "subject", ax=None,
                       title: str | None = None):
    """Clips per class, stacked per ``by`` (e.g. subject); ``by=None`` gives one bar per class.

    ``table`` is a pandas DataFrame with ``column`` (and ``by``), e.g. ``load_dataset(...)`` or
    ``synthme_table(root)``. Returns the Figure.
    Used in notebooks/01_data_and_preprocessing.ipynb, section "1 · What a micro-expression clip is".
    """
    missing = [c for c in (column, by) if c is not None and c not in table.columns]
    if missing:
        raise KeyError(f"plot_class_balance: table has no column(s) {missing}; it has {list(table.columns)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(8 if by else 5, 3.2))
    else:
        fig = ax.figure
    if by is None:
        counts = table[column].value_counts()
        ax.bar(counts.index.astype(str), counts.values, color="tab:blue")
        for i, v in enumerate(counts.values):
            ax.text(i, v, str(v), ha="center", va="bottom", fontsize=8)
        ax.set_xlabel(column)
    else:
        counts = pd.crosstab(table[by], table[column])
        counts.plot(kind="bar", stacked=True, ax=ax, width=0.8, colormap="tab10")
        ax.set_xlabel(by)
        ax.legend(fontsize=7, title=column, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_ylabel("clips")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_onset_apex_difference(clips, suptitle: str = "") -> "plt.Figure":
    """One row per clip: onset, apex and the signed apex − onset (each row on its own colour scale).

    ``clips`` is a table with ``onset_path``, ``apex_path``, ``apex`` and ``class_name`` columns (the
    reader's contract). Shows that the class lives in the faint difference image.
    Used in notebooks/00_tour.ipynb, section "1. A micro-expression in three frames".
    """
    fig, axes = plt.subplots(len(clips), 3, figsize=(7.5, 2.6 * len(clips)), squeeze=False)
    for row_axes, (_, clip) in zip(axes, clips.iterrows()):
        onset = cv2.cvtColor(read_frame(clip.onset_path), cv2.COLOR_RGB2GRAY)
        apex = cv2.cvtColor(read_frame(clip.apex_path), cv2.COLOR_RGB2GRAY)
        diff = 255.0 * difference(onset, apex)
        lim = max(float(np.abs(diff).max()), 1.0)
        row_axes[0].imshow(onset, cmap="gray")
        row_axes[0].set_title(f"onset · {clip.class_name}")
        row_axes[1].imshow(apex, cmap="gray")
        row_axes[1].set_title(f"apex (frame {clip.apex})")
        row_axes[2].imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
        row_axes[2].set_title(f"apex − onset (±{lim:.0f})")
        for ax in row_axes:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
