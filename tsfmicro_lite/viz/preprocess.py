"""Plots of the preprocessing (notebook 01): alignment, jitter, motion inputs, what the model receives.

Each function draws on new axes (or the ones given) and returns the figure, so notebooks can save it
with ``fig.savefig(figures_dir() / ...)``; the preprocessing explorer (``explore.preprocessing``)
draws its picture with :func:`show_frame_motion`, on its own axes.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import matplotlib.pyplot as plt
import numpy as np

from ..preprocess.dataset import denormalise
from ..preprocess.faces import AlignedFace
from ..preprocess.inputs import difference, optical_flow


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code a flow field (H, W, 2): hue = direction, brightness = magnitude (uint8 RGB).

    Used in notebooks/assignments/A1_inputs.ipynb, part "Part 4 — Look at them", and by
    :func:`show_motion_inputs` / :func:`show_frame_motion`.
    """
    mag, ang = cv2.cartToPolar(flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32))
    top = max_magnitude or float(np.percentile(mag, 99)) or 1.0
    hsv = np.zeros(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = (ang * 90 / np.pi).astype(np.uint8)  # OpenCV hue runs 0..180
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(mag / top * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def flow_wheel(size: int = 65) -> np.ndarray:
    """The key to :func:`flow_to_rgb`: a disc whose pixel at (dx, dy) from the centre has that flow's colour
    (image axes: +x right, +y down; the rim is the brightest, largest magnitude). Uint8 RGB, black outside."""
    r = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    dx, dy = np.meshgrid(r, r)
    rgb = flow_to_rgb(np.stack([dx, dy], -1), max_magnitude=1.0)
    rgb[np.hypot(dx, dy) > 1.0] = 255
    return rgb


def add_flow_wheel(ax: plt.Axes, size: float = 0.3) -> plt.Axes:
    """Draw the :func:`flow_wheel` key in the lower-right corner of ``ax`` (an inset of ``size`` × its width)."""
    inset = ax.inset_axes([1 - size, 0.0, size, size])
    inset.imshow(flow_wheel())
    inset.set_xticks([])
    inset.set_yticks([])
    for spine in inset.spines.values():
        spine.set_visible(False)
    inset.set_title("direction", fontsize=6, pad=1)
    return inset


def signed_image(diff: np.ndarray) -> np.ndarray:
    """Channel mean of a signed image, for a diverging colour map (0 = no change).

    Used in notebooks/assignments/A1_inputs.ipynb, part "Part 4 — Look at them".
    """
    return diff.mean(-1) if diff.ndim == 3 else diff


def show_alignment(image: np.ndarray, face: AlignedFace, title: str = "") -> plt.Figure:
    """Source photo with the detector box and 68 landmarks, next to the aligned crop with its landmarks.

    Used in notebooks/01_data_and_preprocessing.ipynb, section "2 · Detection, landmarks, alignment".
    """
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    axes[0].imshow(image)
    if face.box is not None:
        x0, y0, x1, y1 = face.box
        axes[0].add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="lime", lw=1.5))
    if face.landmarks is not None:
        src = cv2.invertAffineTransform(face.transform)
        marks = face.landmarks @ src[:, :2].T + src[:, 2]
        axes[0].scatter(marks[:, 0], marks[:, 1], s=4, c="red")
        axes[1].scatter(face.landmarks[:, 0], face.landmarks[:, 1], s=6, c="red")
        eyes = np.stack([face.landmarks[36:42].mean(0), face.landmarks[42:48].mean(0)])
        axes[1].plot(eyes[:, 0], eyes[:, 1], "y-", lw=1)
    score = f", score {face.score:.2f}" if face.score is not None else ""
    axes[0].set_title(f"{title} found by {face.source}{score}")
    axes[1].imshow(face.image)
    axes[1].set_title(f"aligned {face.image.shape[0]}×{face.image.shape[1]}: eyes level")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_jitter(per_frame: Sequence[np.ndarray], per_clip: Sequence[np.ndarray], apex: int,
                scale: float = 0.25) -> plt.Figure:
    """apex − onset with a transform per frame (jitter) vs one transform per clip (the micro-expression).

    Used in notebooks/01_data_and_preprocessing.ipynb, section "3 · Why ONE transform per clip".
    """
    fig, axes = plt.subplots(1, 3, figsize=(11, 4))
    d_frame = signed_image(per_frame[apex].astype(np.float32) - per_frame[0].astype(np.float32)) / 255
    d_clip = signed_image(per_clip[apex].astype(np.float32) - per_clip[0].astype(np.float32)) / 255
    axes[0].imshow(per_clip[apex])
    axes[0].set_title("apex (aligned once per clip)")
    for ax, d, name in ((axes[1], d_frame, "a transform per FRAME"), (axes[2], d_clip, "ONE transform per clip")):
        ax.imshow(d, cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_title(f"apex − onset,\n{name}\nmean |d| = {np.abs(d).mean():.4f}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_motion_inputs(onsets: Sequence[np.ndarray], apexes: Sequence[np.ndarray], flows: Sequence[np.ndarray],
                       strains: Sequence[np.ndarray], labels: Sequence[str]) -> plt.Figure:
    """One row per sample: onset | apex − onset | optical flow (colour wheel key in the first row) | optical strain.

    Used in notebooks/01_data_and_preprocessing.ipynb, sections "4 · The prepared inputs: difference,
    optical flow, optical strain" and "6 · A real face through the same pipeline".
    """
    n = len(onsets)
    fig, axes = plt.subplots(n, 4, figsize=(9, 2.3 * n), squeeze=False)
    for r in range(n):
        diff = signed_image(apexes[r].astype(np.float32) - onsets[r].astype(np.float32)) / 255
        lim = max(float(np.percentile(np.abs(diff), 99.5)), 1e-3)
        panels = [(onsets[r], None, {}), (diff, "RdBu_r", {"vmin": -lim, "vmax": lim}),
                  (flow_to_rgb(flows[r]), None, {}), (strains[r][..., 0], "magma", {})]
        for c, (img, cmap, kw) in enumerate(panels):
            axes[r, c].imshow(img, cmap=cmap, **kw)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(labels[r])
    for c, name in enumerate(["onset", "apex − onset", "optical flow", "optical strain"]):
        axes[0, c].set_title(name)
    fig.tight_layout()
    add_flow_wheel(axes[0, 2])   # after the layout, so the key stays inside its panel
    return fig


def show_model_inputs(onset, motion, title: str = "") -> plt.Figure:
    """The tensors a model receives: de-normalised onset, the temporal input, and their value histograms.

    Used in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    axes[0].imshow(denormalise(onset).permute(1, 2, 0).numpy())
    axes[0].set_title(f"onset {tuple(onset.shape)}")
    m = motion.mean(0).numpy() if motion.shape[0] != 2 else np.hypot(motion[0].numpy(), motion[1].numpy())
    lim = max(float(np.abs(m).max()), 1e-6)
    axes[1].imshow(m, cmap="RdBu_r" if motion.shape[0] != 2 else "magma", vmin=-lim if motion.shape[0] != 2 else 0,
                   vmax=lim)
    axes[1].set_title(f"temporal input {tuple(motion.shape)}")
    for ax in axes[:2]:
        ax.axis("off")
    axes[2].hist(onset.flatten().numpy(), bins=60, alpha=0.6, label="onset (normalised)")
    axes[2].hist(motion.flatten().numpy(), bins=60, alpha=0.6, label="temporal input")
    axes[2].set_yscale("log")
    axes[2].legend(fontsize=8)
    axes[2].set_title("value ranges")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_frame_motion(frame: np.ndarray, onset: np.ndarray, apex: np.ndarray, flow: np.ndarray | None = None, *,
                      landmarks: np.ndarray | None = None, frame_title: str = "frame",
                      pair_title: str = "apex − onset", flow_method: str = "farneback", axes=None) -> plt.Figure:
    """One clip's raw motion: a ``frame`` with its (68, 2) ``landmarks``, the signed apex − onset
    difference and the optical flow onset → apex (computed with ``flow_method`` unless ``flow`` is
    given). ``axes``: three axes to draw on (default: a new figure). Returns the figure.

    Used in notebooks/01_data_and_preprocessing.ipynb, section "1 · What a micro-expression clip is",
    and by its preprocessing explorer (section "Explore: scrub a clip"), which redraws it for the
    frame and the onset/apex pair you pick.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    else:
        axes = list(np.atleast_1d(axes))
        if len(axes) != 3:
            raise ValueError(f"show_frame_motion draws 3 panels; got {len(axes)} axes.")
        fig = axes[0].figure
    flow = optical_flow(onset, apex, flow_method) if flow is None else flow
    diff = signed_image(difference(onset, apex))
    lim = float(np.abs(diff).max()) or 1e-6
    axes[0].imshow(frame, cmap="gray")
    if landmarks is not None:
        axes[0].scatter(landmarks[:, 0], landmarks[:, 1], s=4, c="lime")
    axes[0].set_title(frame_title)
    axes[1].imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[1].set_title(pair_title)
    axes[2].imshow(flow_to_rgb(flow))
    axes[2].set_title(f"optical flow ({flow_method})" if flow_method else "optical flow")
    for ax in axes:
        ax.axis("off")
    add_flow_wheel(axes[2])
    return fig
