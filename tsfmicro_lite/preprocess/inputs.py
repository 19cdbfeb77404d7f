"""The motion inputs computed from two aligned frames (notebook 01, "Difference vs optical flow vs strain").

TSFmicro's temporal branch receives the signed apex − onset difference (spec §1); peers use dense optical
flow or optical strain instead, so the kit computes all three from the same aligned onset/apex pair and
students compare them.

Scaling of the difference, documented once here: :func:`difference` returns ``(apex - onset) / 255`` as
float32 in [-1, 1]. The model input built by ``MicroExpressionDataset`` is the difference of the
ImageNet-normalised frames, i.e. ``(apex - onset) / 255 / std_c`` per channel (the mean cancels), as the
official code computes it on normalised tensors.
"""
from __future__ import annotations

import cv2
import numpy as np

FLOW_METHODS = ("farneback", "dis", "tvl1")


def difference(onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """Signed apex − onset of two uint8 frames, as float32 in [-1, 1] (no uint8 wrap-around).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section
    "4 · The prepared inputs: difference, optical flow, optical strain".
    """
    if onset.shape != apex.shape:
        raise ValueError(f"onset {onset.shape} and apex {apex.shape} must have the same shape; align them first")
    return (apex.astype(np.float32) - onset.astype(np.float32)) / 255.0


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def optical_flow(onset: np.ndarray, apex: np.ndarray, method: str = "farneback") -> np.ndarray:
    """Dense optical flow onset → apex, (H, W, 2) float32 in pixels (u = x, v = y), on the grey frames.

    ``farneback`` and ``dis`` come with core OpenCV; ``tvl1`` needs ``opencv-contrib`` (``cv2.optflow``).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section
    "4 · The prepared inputs: difference, optical flow, optical strain".
    """
    a, b = _grey(onset), _grey(apex)
    if method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(a, b, None, pyr_scale=0.5, levels=3, winsize=9, iterations=5,
                                            poly_n=5, poly_sigma=1.1, flags=0)
    elif method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flow = dis.calc(a, b, None)
    elif method == "tvl1":
        if not hasattr(cv2, "optflow"):
            raise ImportError("TV-L1 optical flow needs opencv-contrib-python (cv2.optflow); "
                              "use method='farneback' or 'dis', which core OpenCV ships")
        flow = cv2.optflow.DualTVL1OpticalFlow_create().calc(a, b, None)
    else:
        raise ValueError(f"unknown optical flow method {method!r}; choose from {list(FLOW_METHODS)}")
    return flow.astype(np.float32)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude of a flow field, (H, W, 1) float32.

    Strain is the symmetric part of the flow's spatial gradient: ε = ½(∇u + ∇uᵀ). Its magnitude
    √(εxx² + εyy² + 2εxy²) is large where the skin stretches or compresses and ~0 under rigid
    translation, so small head motion that survives alignment drops out.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section
    "4 · The prepared inputs: difference, optical flow, optical strain".
    """
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    du_dy, du_dx = np.gradient(u)
    dv_dy, dv_dx = np.gradient(v)
    exy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx**2 + dv_dy**2 + 2.0 * exy**2).astype(np.float32)[..., None]

