"""Training-time augmentation of the onset/apex pair (notebook 01, "What the model receives").

Two ideas from the official code (spec §1), re-written here:

1. **Frame-pair search** (key-frame re-selection): at training time, among the pairs (onset+i, apex−j)
   with 0 ≤ i, j ≤ r near the annotated ones, use the pair whose apex − onset difference has the
   largest L2 norm. The official code subtracts uint8 arrays, so negative differences wrap around
   (−1 becomes 255); ``wraparound=True`` reproduces that quirk, the default computes the true signed
   difference. The kit runs the search on the aligned crops (the official code on its pre-cropped images).
2. **Joint geometric augmentation**: horizontal flip, a small rotation and a padded random crop with the
   *same* random parameters for both frames (the official code stacks them into one 6-channel tensor),
   so the augmentation never creates motion of its own. Padding/rotation fill is 0 in normalised space,
   i.e. the ImageNet mean colour, as in the official code. Flow vectors are flipped/rotated with the image.
   ``interpolation="nearest"`` resamples the rotation as torchvision's ``RandomRotation`` default does (the
   official code, spec §1; the ``paper`` preset); the kit's default ``"bilinear"`` is smoother but shrinks a
   1-pixel apex − onset motion to ~0.85 of its size on training batches only (the test set is not augmented).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..data.datasets import find_spec, get_spec

if TYPE_CHECKING:
    import torch

INTERPOLATIONS = ("bilinear", "nearest")  # rotation resampling of JointAugment (nearest = official, spec §1)


def search_radius(onset: int, apex: int, dataset: str = "casme2") -> int:
    """Radius r of the frame-pair search, from the dataset's spec (``DatasetSpec.search_radius``, spec §1).

    CASME II / CAS(ME)^3 / synthme: int(0.15·(apex−onset)/4); SAMM: int(0.1·(apex−onset)). A dataset the
    registry does not know (e.g. the photo demo's ``"photo"``) gets CASME II's rule.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    return (find_spec(dataset) or get_spec("casme2")).search_radius(onset, apex)


def official_pair_search(dataset: str, classes: int, variant: str | None = None) -> bool:
    """Whether the official script of that task and variant runs the training-time search (spec §1's table).

    Every script does except ``classes/samm/dataset_c3.py`` (SAMM 3-class, the main ``late`` model; its
    search is commented out); the fusion SAMM 3-class script (the other variants) does search.
    """
    key = (find_spec(dataset) or get_spec("casme2")).name
    return not (key == "samm" and classes == 3 and variant in (None, "late"))


def candidate_pairs(radius: int) -> list[tuple[int, int]]:
    """(i, j) offsets meaning the pair (onset + i, apex − j): the annotated pair first, then i-only, j-only, both.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    pairs = [(0, 0)]
    pairs += [(i, 0) for i in range(1, radius + 1)]
    pairs += [(0, j) for j in range(1, radius + 1)]
    pairs += [(i, j) for i in range(1, radius + 1) for j in range(1, radius + 1)]
    return pairs


def official_candidate_pairs(radius: int) -> list[tuple[int, int]]:
    """The same (i, j) offsets in the order the official ``base.py`` fills its dict (spec §1): annotated, then
    per i: (i, 0), (i, 1..r); then (0, j). ``max`` over that dict keeps the first of equal norms, so this
    order decides ties (repeated frames).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    pairs = [(0, 0)]
    for i in range(1, radius + 1):
        pairs += [(i, 0)] + [(i, j) for j in range(1, radius + 1)]
    return pairs + [(0, j) for j in range(1, radius + 1)]


def pair_norm(onset: np.ndarray, apex: np.ndarray, wraparound: bool = False) -> float:
    """L2 norm of apex − onset over uint8 frames; ``wraparound=True`` subtracts in uint8 like the official code.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    if wraparound:
        diff = (apex.astype(np.uint8) - onset.astype(np.uint8)).astype(np.float64)  # wraps modulo 256
    else:
        diff = apex.astype(np.float64) - onset.astype(np.float64)
    return float(np.sqrt((diff * diff).sum()))


def select_frame_pair(onset_frames: Sequence[np.ndarray], apex_frames: Sequence[np.ndarray],
                      wraparound: bool = False) -> tuple[int, int]:
    """Pick (i, j) maximising ‖apex_frames[j] − onset_frames[i]‖ where onset_frames[i] is frame onset+i
    and apex_frames[j] is frame apex−j; ties keep the earlier candidate (the annotated pair wins ties).

    ``wraparound=True`` is the official search (the ``paper`` preset): uint8 subtraction and the official
    candidate order (:func:`official_candidate_pairs`) for ties; the default is the kit's corrected one.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    radius = min(len(onset_frames), len(apex_frames)) - 1
    if radius < 0:
        raise ValueError("select_frame_pair needs at least the onset and the apex frame")
    pairs = official_candidate_pairs(radius) if wraparound else candidate_pairs(radius)
    norms = [pair_norm(onset_frames[i], apex_frames[j], wraparound) for i, j in pairs]
    return pairs[int(np.argmax(norms))]


@dataclass
class JointAugment:
    """Flip / rotation / padded random crop with identical parameters for every tensor of one sample.

    Official settings (spec §1): 3-class tasks ±4° and padding 4; 5-class and CAS(ME)^3 ±3° and
    padding 15; flip p = 0.5. Use :meth:`for_task`.

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """

    flip_p: float = 0.5
    degrees: float = 4.0
    padding: int = 4
    interpolation: str = "bilinear"  # "nearest" = torchvision RandomRotation's default, as the official code

    def __post_init__(self) -> None:
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"JointAugment.interpolation must be one of {list(INTERPOLATIONS)}, "
                             f"got {self.interpolation!r} (nearest = the official code, spec §1)")

    @classmethod
    def for_task(cls, dataset: str, classes: int, interpolation: str = "bilinear") -> "JointAugment":
        """The official settings of a task (spec §1): ±3° and padding 15 for 4 or more classes and for every
        task of a dataset whose spec says ``five_class_augment`` (CAS(ME)^3); ±4° and padding 4 otherwise."""
        spec = find_spec(dataset)
        if classes >= 4 or (spec is not None and spec.five_class_augment):
            return cls(degrees=3.0, padding=15, interpolation=interpolation)
        return cls(degrees=4.0, padding=4, interpolation=interpolation)

    def sample(self, generator: torch.Generator | None = None) -> dict[str, float | int | bool]:
        """Draw one set of parameters (flip, angle in degrees, crop offsets in [0, 2·padding])."""
        import torch  # lazy: the preprocessing pipeline imports this module without needing torch

        r = torch.rand(4, generator=generator)
        return {"flip": bool(r[0] < self.flip_p), "angle": float((2 * r[1] - 1) * self.degrees),
                "dx": int(r[2] * (2 * self.padding + 1)), "dy": int(r[3] * (2 * self.padding + 1))}

    def __call__(self, *tensors: torch.Tensor, generator: torch.Generator | None = None,
                 vectors: Sequence[int] = ()) -> tuple[torch.Tensor, ...]:
        """Augment (C, S, S) tensors jointly; indices in ``vectors`` are 2-channel flow fields (u, v)."""
        return apply_joint(tensors, self.sample(generator), self.padding, vectors, self.interpolation)


def apply_joint(tensors: Sequence[torch.Tensor], params: dict, padding: int,
                vectors: Sequence[int] = (), interpolation: str = "bilinear") -> tuple[torch.Tensor, ...]:
    """Apply one drawn parameter set to several (C, S, S) tensors at once (one grid_sample for all).

    ``interpolation``: ``"bilinear"`` (the kit's default) or ``"nearest"`` (torchvision's ``RandomRotation``
    default, as the official code: every output pixel is one input pixel, so a motion keeps its size).

    Taught in notebooks/01_data_and_preprocessing.ipynb, section "5 · What the model receives".
    """
    import torch  # lazy: the preprocessing pipeline imports this module without needing torch
    import torch.nn.functional as F  # lazy: as above

    sizes = [t.shape[0] for t in tensors]
    x = torch.cat(list(tensors), dim=0)[None]  # (1, sum C, S, S)
    _, _, h, w = x.shape
    if params["flip"]:
        x = x.flip(-1)
    angle = math.radians(params["angle"])
    cos, sin = math.cos(angle), math.sin(angle)
    # Output pixel q samples the input at A·q (normalised coords); content moves by A⁻¹ = Aᵀ.
    # The padded crop is a shift by (padding − dx, padding − dy) pixels with zero fill.
    tx = -2.0 * (padding - params["dx"]) / w
    ty = -2.0 * (padding - params["dy"]) / h
    theta = torch.tensor([[cos, -sin * h / w, tx], [sin * w / h, cos, ty]], dtype=x.dtype)[None]
    if angle != 0.0 or tx != 0.0 or ty != 0.0:
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    out = list(torch.split(x[0], sizes, dim=0))
    for k in vectors:
        u, v = out[k][0], out[k][1]
        if params["flip"]:
            u = -u
        # vectors rotate with the content: new = Aᵀ · (u, v)
        out[k] = torch.stack([cos * u + sin * v, -sin * u + cos * v])
    return tuple(out)
