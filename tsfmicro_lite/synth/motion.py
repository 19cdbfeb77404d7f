"""Facial motion of the synthetic dataset: action units -> landmark moves -> a dense warp.

Why this way: a micro-expression is a few pixels of localised motion (brows, lids, lip corners)
under a much larger identity and head-pose signal. Each action unit (AU) moves a handful of the
68 landmarks by a small vector; a Gaussian RBF interpolates those moves into a smooth
displacement field over the whole frame, and ``cv2.remap`` applies it (one dense warp per frame,
not a piecewise-affine mesh). Head motion is a similarity transform applied on top, to the
image and to the ground-truth landmarks alike.

Used in notebook 01, sections "3 · Why ONE transform per clip" and "6 · A real face through the same
pipeline", through ``preprocess.demo.micro_expression_frames`` (the astronaut's synthetic smile).
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from .faces import SIDE

# AU -> list of (landmark indices, outward, upward) in units of the clip's apex amplitude.
# "outward" points away from the face midline (mirrored per side), "upward" is towards the brows.
AU_MOVES: dict[int, list[tuple[tuple[int, ...], float, float]]] = {
    1: [((20, 21, 22, 23), 0.0, 1.0), ((19, 24), 0.0, 0.6)],  # inner brow raiser
    2: [((17, 18, 25, 26), 0.0, 1.0), ((19, 24), 0.0, 0.5)],  # outer brow raiser
    4: [((19, 20, 21, 22, 23, 24), -0.55, -0.75), ((17, 18, 25, 26), 0.0, -0.3)],  # brow lowerer
    5: [((37, 38, 43, 44), 0.0, 0.55)],  # upper lid raiser
    6: [((40, 41, 46, 47), 0.0, 0.5), ((1, 2, 3, 13, 14, 15), 0.0, 0.6)],  # cheek raiser
    7: [((40, 41, 46, 47), 0.0, 0.55)],  # lid tightener (lower lids up)
    9: [((31, 32, 34, 35), 0.0, 0.8), ((33,), 0.0, 0.5), ((21, 22), -0.2, -0.4)],  # nose wrinkler
    10: [((49, 50, 51, 52, 53), 0.0, 0.8), ((61, 62, 63), 0.0, 0.7)],  # upper lip raiser
    12: [((48, 54), 0.75, 0.75), ((60, 64), 0.5, 0.5), ((49, 53, 55, 59), 0.2, 0.35)],  # lip corner puller
    14: [((48, 54), 0.7, 0.0), ((60, 64), 0.5, 0.0), ((49, 53, 55, 59), 0.2, 0.0)],  # dimpler
    15: [((48, 54), 0.0, -0.8), ((60, 64), 0.0, -0.55), ((55, 59), 0.0, -0.35)],  # lip corner depressor
    17: [((56, 57, 58, 65, 66, 67), 0.0, 0.6), ((7, 8, 9), 0.0, 0.7)],  # chin raiser
    20: [((48, 54), 0.8, -0.2), ((60, 64), 0.55, -0.1)],  # lip stretcher
    24: [((55, 56, 57, 58, 59), 0.0, 0.6), ((48, 54), -0.35, 0.0)],  # lip pressor (lower lip pushes up)
    25: [((55, 56, 57, 58, 59, 65, 66, 67), 0.0, -0.6)],  # lips part
    26: [((55, 56, 57, 58, 59, 65, 66, 67), 0.0, -0.7), ((5, 6, 7, 8, 9, 10, 11), 0.0, -0.6)],  # jaw drop
    38: [((31, 35), 0.6, 0.0), ((32, 34), 0.3, 0.0)],  # nostril dilator
}

# AU -> texture change: (anchor landmarks, outward, upward, sigma, strength), offsets and sigma in
# inter-ocular distances, strength = relative brightness change at apex (negative = a crease).
AU_SHADING: dict[int, list[tuple[tuple[int, ...], float, float, float, float]]] = {
    1: [((21, 22), 0.0, 0.3, 0.14, -0.05)],  # forehead lines above the inner brows
    2: [((18,), 0.0, 0.22, 0.1, -0.04), ((25,), 0.0, 0.22, 0.1, -0.04)],
    4: [((21, 22), 0.0, 0.02, 0.07, -0.07)],  # vertical furrows between the brows
    6: [((36,), 0.14, 0.0, 0.07, -0.06), ((45,), 0.14, 0.0, 0.07, -0.06),  # crow's feet
        ((41,), 0.0, -0.28, 0.12, 0.04), ((46,), 0.0, -0.28, 0.12, 0.04)],  # cheek bulge
    7: [((40, 41), 0.0, -0.05, 0.06, -0.03), ((46, 47), 0.0, -0.05, 0.06, -0.03)],
    9: [((27, 28), 0.0, 0.0, 0.08, -0.07)],  # wrinkles over the nose bridge
    10: [((31,), 0.1, -0.1, 0.07, -0.05), ((35,), 0.1, -0.1, 0.07, -0.05)],
    12: [((48,), 0.06, 0.2, 0.08, -0.06), ((54,), 0.06, 0.2, 0.08, -0.06)],  # nasolabial folds
    14: [((48,), 0.08, 0.0, 0.05, -0.06), ((54,), 0.08, 0.0, 0.05, -0.06)],  # dimples
    15: [((48,), 0.02, -0.12, 0.07, -0.05), ((54,), 0.02, -0.12, 0.07, -0.05)],
    17: [((8,), 0.0, 0.12, 0.1, -0.05)],  # chin dimpling
    20: [((48,), 0.1, 0.0, 0.06, -0.04), ((54,), 0.1, 0.0, 0.06, -0.04)],
    24: [((62, 66), 0.0, 0.0, 0.08, -0.04)],
    25: [((62, 66), 0.0, 0.0, 0.05, -0.08)],  # dark gap between the lips
    26: [((62, 66), 0.0, -0.02, 0.06, -0.1)],
    38: [((31,), 0.02, 0.0, 0.04, -0.05), ((35,), 0.02, 0.0, 0.04, -0.05)],
}

# Emotion -> AU recipes as CASME II codes them (strings as the sheet's "Action Units" column).
# "R"/"L" prefixes: the subject's right / left side only, as in the real sheet.
EMOTION_RECIPES: dict[str, list[str]] = {
    "happiness": ["6+12", "12", "6+12", "R12", "6+7+12"],
    "surprise": ["1+2", "1+2", "1+2+5", "1+2+26", "1+2+25"],
    "disgust": ["4+9", "4+10", "4+7", "4+9+10", "4+7+10"],
    "repression": ["14", "15", "17", "15+17", "14+17", "L14"],
    "fear": ["1+4+20", "1+4+5"],
    "sadness": ["1+4+15", "1+15"],
    "others": ["7", "24", "25", "26", "38", "R24"],
}
EMOTIONS = tuple(EMOTION_RECIPES)


def parse_aus(code: str) -> list[tuple[int, str]]:
    """'6+R12' -> [(6, ''), (12, 'R')]; raises naming the code if an AU is unknown."""
    parsed = []
    for part in code.split("+"):
        side = part[0] if part[0] in "LR" else ""
        number = int(part[len(side):])
        if number not in AU_MOVES:
            raise ValueError(f"action unit {number} in {code!r} has no motion defined; known: {sorted(AU_MOVES)}")
        parsed.append((number, side))
    return parsed


def face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit 'right' and 'down' vectors of the face (from the eye corners) and the inter-ocular distance."""
    right_eye, left_eye = landmarks[36:42].mean(0), landmarks[42:48].mean(0)
    across = left_eye - right_eye
    iod = float(np.linalg.norm(landmarks[45] - landmarks[36]))
    x_axis = across / np.linalg.norm(across)
    return x_axis, np.array([-x_axis[1], x_axis[0]]), iod


def au_targets(code: str, landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) landmark displacement of an AU code, in image axes, scaled so the largest move is 1.

    Subject's right (R) = image left, landmarks with SIDE == -1. Scaling per code keeps the clip's
    amplitude the apex shift of its most-moved landmark, however many AUs the code combines.
    """
    x_axis, y_axis, _ = face_axes(landmarks)
    moves = np.zeros((68, 2))
    for number, side in parse_aus(code):
        for indices, outward, upward in AU_MOVES[number]:
            for i in indices:
                if side == "R" and SIDE[i] > 0 or side == "L" and SIDE[i] < 0:
                    continue
                moves[i] += outward * SIDE[i] * x_axis - upward * y_axis
    return moves / max(float(np.linalg.norm(moves, axis=1).max()), 1e-12)


def au_shading(code: str, landmarks: np.ndarray, size: int) -> np.ndarray:
    """(size, size) float32 relative brightness change of an AU code at apex (creases, bulges)."""
    x_axis, y_axis, iod = face_axes(landmarks)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    out = np.zeros((size, size), dtype=np.float64)
    for number, side in parse_aus(code):
        for indices, outward, upward, sigma, strength in AU_SHADING.get(number, []):
            where = SIDE[indices[0]]
            if side == "R" and where > 0 or side == "L" and where < 0:
                continue
            centre = landmarks[list(indices)].mean(0) + iod * (outward * where * x_axis - upward * y_axis)
            out += strength * np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * (sigma * iod) ** 2))
    return out.astype(np.float32)


EYE_CORNERS = (36, 39, 42, 45)  # pinned during blinks: lids close, corners stay


def blink_targets(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) displacement closing both eyes: upper lids travel most of the way to the lower lids."""
    moves = np.zeros((68, 2))
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        gap = landmarks[lower] - landmarks[upper]
        moves[upper] = 0.8 * gap
        moves[lower] = -0.15 * gap
    return moves


class RbfWarp:
    """Gaussian RBF interpolation of landmark displacements into a dense field (one per subject).

    Only the landmarks an action moves, the ones it pins (``pinned``) and those farther than
    ``free_radius`` from every moved one are constrained: unmoved neighbours of a moving point
    follow the skin instead of tearing it. The field's value at all 68 landmarks is what the ground
    truth records. It is a sum of Gaussians accumulated in a fixed order (no BLAS), so the output
    is bit-identical across processes and thread counts.
    """

    def __init__(self, landmarks: np.ndarray, size: int, sigma: float, free_radius: float | None = None):
        self.centres = np.asarray(landmarks, dtype=np.float64)
        self.size, self.sigma = size, float(sigma)
        self.free_radius = 2.0 * self.sigma if free_radius is None else float(free_radius)
        diff = self.centres[:, None, :] - self.centres[None, :, :]
        self.distance = np.sqrt((diff**2).sum(-1))
        self.kernel = np.exp(-(self.distance**2) / (2 * self.sigma**2))

    def weights(self, targets: np.ndarray, pinned: tuple[int, ...] = (), ridge: float = 0.05) -> np.ndarray:
        """RBF weights (68, 2) whose field approximates ``targets`` at the constrained landmarks.

        The ridge keeps nearly coincident landmarks (closed lips, lids) from blowing the weights up;
        the field then misses targets by a few percent, and the ground truth records the field.
        """
        targets = np.asarray(targets, dtype=np.float64)
        moved = np.linalg.norm(targets, axis=1) > 0
        weights = np.zeros_like(targets)
        if not moved.any():
            return weights
        far = self.distance[:, moved].min(axis=1) > self.free_radius
        active = np.flatnonzero(moved | far | np.isin(np.arange(len(targets)), pinned))
        system = self.kernel[np.ix_(active, active)] + ridge * np.eye(len(active))
        weights[active] = np.linalg.solve(system, targets[active])
        return np.round(weights, 9)

    def at_landmarks(self, weights: np.ndarray) -> np.ndarray:
        """The field's value at the 68 landmarks: the moves the ground truth records."""
        return self.kernel @ weights

    def field(self, weights: np.ndarray) -> np.ndarray:
        """Dense float32 displacement field (size, size, 2) in pixels."""
        out = np.zeros((self.size, self.size, 2), dtype=np.float32)
        reach = int(np.ceil(4 * self.sigma))
        for (cx, cy), w in zip(self.centres, weights):
            if not np.any(w):
                continue
            x0, x1 = max(int(cx) - reach, 0), min(int(cx) + reach + 1, self.size)
            y0, y1 = max(int(cy) - reach, 0), min(int(cy) + reach + 1, self.size)
            if x0 >= x1 or y0 >= y1:
                continue
            gx = np.exp(-((np.arange(x0, x1) - cx) ** 2) / (2 * self.sigma**2))
            gy = np.exp(-((np.arange(y0, y1) - cy) ** 2) / (2 * self.sigma**2))
            bump = (gy[:, None] * gx[None, :]).astype(np.float32)
            out[y0:y1, x0:x1, 0] += np.float32(w[0]) * bump
            out[y0:y1, x0:x1, 1] += np.float32(w[1]) * bump
        return out


def expression_profile(n_frames: int, apex: int, residual: float) -> np.ndarray:
    """Intensity 0 at onset, 1 at apex, easing back to ``residual`` at offset (raised-cosine ramps)."""
    t = np.arange(n_frames, dtype=np.float64)
    rise = np.sin(0.5 * np.pi * np.clip(t / max(apex, 1), 0, 1)) ** 2
    fall_t = np.clip((t - apex) / max(n_frames - 1 - apex, 1), 0, 1)
    fall = residual + (1 - residual) * np.cos(0.5 * np.pi * fall_t) ** 2
    return np.where(t <= apex, rise, fall)


def blink_profile(n_frames: int, centre: float, half_width: float, depth: float) -> np.ndarray:
    """Eyelid closure over the clip: a smooth bump of ``depth`` around frame ``centre`` (zeros if no blink)."""
    t = np.arange(n_frames, dtype=np.float64)
    u = np.clip(np.abs(t - centre) / max(half_width, 0.5), 0, 1)
    return depth * np.cos(0.5 * np.pi * u) ** 2


def similarity(angle_deg: float, shift: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """2x3 rotation about ``centre`` followed by a shift (head roll + translation)."""
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([rot, (centre - rot @ centre + shift)[:, None]])


@functools.lru_cache(maxsize=4)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return ys, xs


def warp_frame(image: np.ndarray, field: np.ndarray | None, head: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Render one frame: move content by ``field`` (forward, in face coordinates) then by ``head``.

    ``cv2.remap`` needs the inverse map: for output pixel y, z = head^-1(y), then x solves
    x + field(x) = z, found by fixed-point steps (they converge because fields are a few pixels
    and smooth: the error shrinks by the field's gradient, well under 1, at each step).
    ``field=None`` means no expression motion (head motion only).
    """
    size = image.shape[0]
    inverse = cv2.invertAffineTransform(head).astype(np.float32)
    ys, xs = _pixel_grid(size)
    zx = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    zy = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    x, y = zx, zy
    for _ in range(iterations if field is not None else 0):
        moved = cv2.remap(field, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        x, y = zx - moved[..., 0], zy - moved[..., 1]
    return cv2.remap(image, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
