"""``ModelConfig``: every architecture knob of every variant, with named presets.

``paper`` is the official configuration (spec §2–§4); ``small``, ``tiny`` and ``micro`` keep the
structure (4-conv stem at /2, four stages of depths 1/1/2/1, 2 heads, decomposed then full decay, a
2-block ViT on a (img_size/16)² thumbnail, the 2×-wide head) at CPU-sized input and widths.
Notebook 05 prints this table; ``build_model`` takes a preset name plus overrides. A *preset* is
always a model configuration (a training recipe is a *profile*, ``train/profiles.py``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..utils.names import unknown


@dataclass
class ModelConfig:
    """Architecture of a TSFmicro variant. Field names are the kit's vocabulary (style.md).

    Taught in notebooks/05_fusion_variants.ipynb, section "3. Size and cost".
    """

    variant: str = "late"                 # which Fig. 1 panel (see ``list_variants()``)
    num_classes: int = 5
    img_size: int = 224                   # input side; the RMT output and the ViT thumbnail are img_size/16
    onset_channels: int = 3               # RGB onset frame (spatial input)
    motion_channels: int = 3              # temporal input: 3 = apex − onset, 2 = optical flow, 1 = strain
    # --- temporal branch (RMT, spec §2) ---
    embed_dims: tuple[int, ...] = (64, 128, 256, 512)
    depths: tuple[int, ...] = (1, 1, 2, 1)
    num_heads: tuple[int, ...] = (2, 2, 2, 2)
    decomposed: tuple[bool, ...] = (True, True, False, False)  # axial (row, column) decay in stages 1–2
    heads_ranges: tuple[float, ...] = (4.0, 4.0, 6.0, 6.0)     # spread of per-head decays γ_h
    gamma_init: float = 2.0               # γ_h = 1 − 2^−(gamma_init + heads_range·h/num_heads)
    mlp_ratio: float = 3.0                # FFN hidden = 3·dim in the RMT
    drop_path_rate: float = 0.1           # linear 0 → 0.1 over all RMT blocks
    mixer: str = "masa"                   # "masa" (official softmax + decay) | "retention" (true RetNet)
    # --- spatial branch (shallow ViT, spec §3) ---
    vit_depth: int = 2
    vit_heads: int = 4
    vit_mlp_ratio: float = 4.0
    vit_antialias: bool = True            # bilinear resize to the thumbnail with antialias (torchvision ≥ 0.17 default)
    fused_attention: bool = True          # F.scaled_dot_product_attention; False = the written-out softmax
    # --- fusion (spec §4) ---
    head_hidden: int = 1024               # width of the (b) "fusion module" projection
    fusion_op: str = "add"                # late only: add (paper) | concat | gate | cross_attention
    t2s_position: str = "after"           # t2s only: "after" the ViT blocks (official code) | "before" (Fig. 1(d))
    spatial_input: str = "onset"          # spatial_only: "onset" (ablation of late) | "apex" (official script)
    # --- sequence only: retention over a clip's frames (models/sequence.py) ---
    num_frames: int = 8                   # K frames onset→offset the data is prepared with (PrepConfig(frames=K))
    frame_stages: int = 2                 # RMT stem + this many stages run on every frame (shared); the rest once
    frame_tokens: str = "grid"            # "grid": retention over frames at each position | "pooled": 1 token a frame

    # ---- derived sizes ----
    @property
    def grid(self) -> int:
        """Side of the final token grid (14 at 224 px): stem /2, then three stride-2 downsamplings."""
        return self.img_size // 16

    @property
    def dim(self) -> int:
        """Width of both branch outputs (512 in the paper); the ViT dim equals the last RMT dim."""
        return self.embed_dims[-1]

    @property
    def stem_dim(self) -> int:
        """Width of the stem's first two convs (32 in the paper: 3→32→32→64→64)."""
        return self.embed_dims[0] // 2

    def validate(self) -> "ModelConfig":
        """Check that the numbers fit together; errors say which field, what it is, what is expected."""
        n = len(self.embed_dims)
        for name in ("depths", "num_heads", "decomposed", "heads_ranges"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ModelConfig.{name} has {len(getattr(self, name))} entries but embed_dims has "
                                 f"{n}; give one value per stage")
        if n != 4:
            raise ValueError(f"ModelConfig.embed_dims must have 4 stages (the RMT output is img_size/16), got {n}")
        if self.img_size % 16:
            raise ValueError(f"ModelConfig.img_size={self.img_size} must be a multiple of 16 "
                             f"(stem /2 and three /2 downsamplings); try {16 * round(self.img_size / 16) or 16}")
        for i, (d, h) in enumerate(zip(self.embed_dims, self.num_heads)):
            if d % h:
                raise ValueError(f"ModelConfig: stage {i + 1} dim {d} is not divisible by num_heads {h}")
        if self.dim % self.vit_heads:
            raise ValueError(f"ModelConfig: ViT dim {self.dim} (= last embed_dim) is not divisible by "
                             f"vit_heads {self.vit_heads}")
        choices = {"mixer": ("masa", "retention"), "fusion_op": ("add", "concat", "gate", "cross_attention"),
                   "t2s_position": ("before", "after"), "spatial_input": ("onset", "apex"),
                   "frame_tokens": ("grid", "pooled")}
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise unknown(f"ModelConfig.{name}", value, allowed)
        if self.spatial_input == "apex" and self.motion_channels != self.onset_channels:
            raise ValueError("ModelConfig.spatial_input='apex' rebuilds apex = onset + motion, which needs the "
                             f"motion input to be apex − onset ({self.onset_channels} channels); got "
                             f"motion_channels={self.motion_channels}. Use spatial_input='onset' with flow/strain.")
        if self.num_frames < 2:
            raise ValueError(f"ModelConfig.num_frames must be ≥ 2 (the onset and at least one later frame), "
                             f"got {self.num_frames}")
        if not 1 <= self.frame_stages <= n:
            raise ValueError(f"ModelConfig.frame_stages must be 1..{n} (RMT stages run per frame), "
                             f"got {self.frame_stages}")
        if self.num_classes < 1:
            raise ValueError(f"ModelConfig.num_classes must be ≥ 1, got {self.num_classes}")
        return self

    def replace(self, **overrides) -> "ModelConfig":
        """A copy with ``overrides``; an unknown key raises, naming the valid ones and the closest match."""
        names = [f.name for f in dataclasses.fields(self)]
        for key in overrides:
            if key not in names:
                raise unknown("ModelConfig field", key, names, error=TypeError)
        tuples = {f.name for f in dataclasses.fields(self) if str(f.type).startswith("tuple")}
        overrides = {k: tuple(v) if k in tuples else v for k, v in overrides.items()}
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        """Plain dict (for checkpoints and result files)."""
        return dataclasses.asdict(self)


# Parameter counts are for the `late` variant with 5 classes (`tsfmicro models` prints them; notebook 05).
PRESETS: dict[str, ModelConfig] = {
    # Official widths at 224 px: late/5-class 12,789,413 params (spec: 12.79 M). For GPUs.
    "paper": ModelConfig(),
    # 112 px, half widths: RMT 32/64/128/256, ViT dim 256 on a 7×7 thumbnail; late/5-class 3,215,701 params.
    "small": ModelConfig(img_size=112, embed_dims=(32, 64, 128, 256), head_hidden=512),
    # 64 px, quarter widths: RMT 16/32/64/128, ViT dim 128 on a 4×4 thumbnail; late/5-class 818,285 params.
    # Forward+backward of a batch of 8 takes well under a second on a laptop CPU.
    "tiny": ModelConfig(img_size=64, embed_dims=(16, 32, 64, 128), head_hidden=256),
    # 32 px, eighth widths: RMT 8/16/32/64, ViT dim 64 on a 2×2 thumbnail; late/5-class 207,433 params
    # (late/3-class 207,303). The model of the `quick` training profile: a LOSO run of SynthME quick in
    # about a minute per variant on a 2-core CPU (notebooks 06/07).
    "micro": ModelConfig(img_size=32, embed_dims=(8, 16, 32, 64), head_hidden=64),
}


def get_preset(name: str) -> ModelConfig:
    """The preset called ``name`` (a fresh copy); an unknown name raises naming the closest and every valid one.

    Taught in notebooks/05_fusion_variants.ipynb, section "3. Size and cost".
    """
    if name not in PRESETS:
        raise unknown("preset", name, PRESETS)
    return dataclasses.replace(PRESETS[name])


def list_presets() -> list[str]:
    """Names of the model presets (``paper`` first, then smaller ones), the registry every list reads."""
    return list(PRESETS)
