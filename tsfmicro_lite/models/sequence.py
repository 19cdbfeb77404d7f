"""The ``sequence`` variant: multi-scale retention over the K frames of a clip, then the late fusion and head.

The paper's temporal branch is called a RetNet but sees one image, apex − onset. Here retention runs
where its name promises, across time (notebook 05, section "7. Retention over the frames of a clip"):

1. **per frame, shared weights**: frame_k − onset (k = 0..K−1, frame 0 = the onset itself, so its
   motion is 0) goes through the RMT temporal branch's stem and first ``frame_stages`` stages
   (default 2: the early, high-resolution stages, where motion is still local);
2. **across frames**: :class:`~tsfmicro_lite.models.retention.MultiScaleRetention` over the K frame
   tokens, causal, read out at the last frame and added to that frame's map (a residual);
   ``frame_tokens="grid"`` (default) runs one sequence per spatial position, so every face region keeps
   its own motion history and the result stays token-aligned with the ViT map the late fusion adds it
   to; ``"pooled"`` averages each frame to one token first (a whole-face summary broadcast back over the
   grid; cheaper mixing, but the encoder dominates the cost either way);
3. the remaining RMT stages once, the spatial branch (ViT) on the onset, the late fusion op and the
   Fig. 1(b) head, exactly as in ``late``.

Forms: ``forward(..., mode="parallel" | "chunkwise" | "recurrent")`` gives the same logits (training
uses parallel); ``start`` / ``step`` / ``stream`` run the recurrent form frame by frame for inference:
a prediction after every new frame from an O(1) state (the spatial map and one retention state per
token), the same numbers as the parallel form on that prefix.

K = 2 reduction, precisely: with the frames (onset, apex) the model sees only the two frames every
other variant sees, and its temporal path is ``RMT(apex − onset) + retention term``; with the frame
mixer's output projection zeroed the retention term vanishes and the model computes ``late``'s function,
weight for weight (``late_state_dict_keys`` lists the shared names; tests/models/test_sequence.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .fusion import TSFModel, make_fuse_op, to_cl
from .layers import official_init
from .retention import MultiScaleRetention, retention_recurrent, rotary_tables, theta_shift
from .rmt import RMT
from .vit import ViT

__all__ = ["FrameRetention", "SequenceFusion", "SequenceState", "split_frames"]


def split_frames(motion: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, K, C, S, S) or channel-stacked (B, K·C, S, S) → (B, K, C, S, S); (B, C, S, S) is one frame."""
    return motion.flatten(1, -3).unflatten(1, (-1, channels))


class FrameRetention(nn.Module):
    """Pre-norm multi-scale retention over frame tokens (batch, K, dim) → (batch, K, dim), causal in K.

    ``forward`` is :class:`MultiScaleRetention` in any of its three forms; ``step`` is its recurrent
    form for one new token at position ``position`` given the state of the earlier ones.

    Taught in notebooks/05_fusion_variants.ipynb, section "7. Retention over the frames of a clip".
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.retention = MultiScaleRetention(dim, num_heads)  # RetNet's decays γ_h = 1 − 2^(−5−h)

    def forward(self, x: torch.Tensor, mode: str = "parallel", chunk_size: int | None = None) -> torch.Tensor:
        return self.retention(self.norm(x), mode=mode, chunk_size=chunk_size)

    def step(self, x: torch.Tensor, state: torch.Tensor | None, position: int
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """One token x (batch, 1, dim) at ``position`` → (output (batch, 1, dim), new state (batch, h, d, e))."""
        r = self.retention
        x = self.norm(x)
        b = x.shape[0]
        sin, cos = rotary_tables(position + 1, r.head_dim, device=x.device, dtype=x.dtype)
        sin, cos = sin[position:], cos[position:]                            # this token's rotation only

        def heads(t, d):                                                      # (b, 1, h·d) → (b, h, 1, d)
            return t.view(b, 1, r.num_heads, d).transpose(1, 2)
        q = theta_shift(heads(r.q_proj(x), r.head_dim), sin, cos)
        k = theta_shift(heads(r.k_proj(x) * r.head_dim ** -0.5, r.head_dim), sin, cos)
        v = heads(r.v_proj(x), r.value_dim // r.num_heads)
        out, state = retention_recurrent(q, k, v, r.gamma_values, state)
        out = r.group_norm(out.transpose(1, 2).reshape(b, r.value_dim)).view(b, 1, r.value_dim)
        return r.out_proj(F.silu(r.g_proj(x)) * out), state


@dataclass
class SequenceState:
    """What streaming carries from frame to frame: O(1) in the number of frames seen."""
    spatial: torch.Tensor             # (B, g, g, C) the ViT map of the onset, computed once
    memory: torch.Tensor | None       # (B·tokens, heads, d, e) retention state; None before the first frame
    frames: int = 0                   # frames seen so far (the next one's position)


class SequenceFusion(TSFModel):
    """Retention over a clip's K frames (per-frame RMT stages, shared) ⊕ ViT(onset), then the (b) head.

    ``model(onset, motion)``: onset (B, 3, S, S); motion = frame_k − onset for the K frames,
    (B, K, C, S, S) (or channel-stacked (B, K·C, S, S)); a plain (B, C, S, S) motion is one frame.

    Taught in notebooks/05_fusion_variants.ipynb, section "7. Retention over the frames of a clip".
    """

    takes_frames = True  # the data code gives it (B, K, C, S, S) frame − onset stacks (train/reproduce.py)

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        c = config
        self.temporal = RMT(c)                         # stages[:frame_stages] per frame, the rest once
        self.spatial = ViT(c)
        self.fuse = make_fuse_op(c)
        self.fuse.apply(official_init)
        k = min(c.frame_stages, len(c.embed_dims) - 1)  # width after stage `frame_stages` (its downsample included)
        self.temporal_mixer = FrameRetention(c.embed_dims[k], c.num_heads[k])

    # -- the pieces (shared by forward and step) --
    def check_inputs(self, onset: torch.Tensor, motion: torch.Tensor) -> None:
        c, S = self.config, self.config.img_size
        ok = (motion.ndim == 5 and motion.shape[2] == c.motion_channels) or (
            motion.ndim == 4 and motion.shape[1] % c.motion_channels == 0)
        if not ok or motion.shape[-1] != S or motion.shape[-2] != S:
            raise ValueError(f"SequenceFusion (sequence, img_size={S}): motion must be the frames minus the onset, "
                             f"(B, K, {c.motion_channels}, {S}, {S}), got {tuple(motion.shape)}. Prepare the "
                             f"clips with PrepConfig(frames=K) and MicroExpressionDataset(..., frames=True).")
        super().check_inputs(onset, motion.flatten(1, -3)[:, :c.motion_channels])

    def encode_frames(self, motion: torch.Tensor) -> torch.Tensor:
        """(B, K, C, S, S) → (B, K, h, w, d): stem + the first ``frame_stages`` RMT stages, on every frame."""
        b = motion.shape[0]
        x = self.temporal.stem(motion.flatten(0, 1))
        for stage in self.temporal.stages[:self.config.frame_stages]:
            x = stage(x)
        return x.unflatten(0, (b, -1))

    def tokens(self, f: torch.Tensor) -> torch.Tensor:
        """(B, K, h, w, d) → the retention's sequences: (B·h·w, K, d) (grid) or (B, K, d) (pooled)."""
        if self.config.frame_tokens == "pooled":
            return f.mean(dim=(2, 3))
        return f.permute(0, 2, 3, 1, 4).flatten(0, 2)

    def readout(self, last: torch.Tensor, mixed: torch.Tensor, spatial: torch.Tensor) -> dict[str, torch.Tensor]:
        """Last frame's map + the retention output at the last frame, the remaining stages, fusion."""
        b, h, w, d = last.shape
        mixed = mixed.view(b, 1, 1, d) if self.config.frame_tokens == "pooled" else mixed.view(b, h, w, d)
        x = last + mixed
        for stage in self.temporal.stages[self.config.frame_stages:]:
            x = stage(x)
        return {"temporal": x, "spatial": spatial, "fused": self.fuse(x, spatial)}

    # -- parallel / chunkwise / recurrent over the whole clip --
    def forward_features(self, onset: torch.Tensor, motion: torch.Tensor, mode: str = "parallel",
                         chunk_size: int | None = None) -> dict[str, torch.Tensor]:
        f = self.encode_frames(split_frames(motion, self.config.motion_channels))      # (B, K, h, w, d)
        mixed = self.temporal_mixer(self.tokens(f), mode=mode, chunk_size=chunk_size)  # (·, K, d)
        return self.readout(f[:, -1], mixed[:, -1], to_cl(self.spatial(onset)))

    def forward(self, onset: torch.Tensor, motion: torch.Tensor, mode: str = "parallel",
                chunk_size: int | None = None) -> torch.Tensor:
        self.check_inputs(onset, motion)
        return self.head(self.forward_features(onset, motion, mode=mode, chunk_size=chunk_size)["fused"])

    # -- streaming: one frame at a time --
    def start(self, onset: torch.Tensor) -> SequenceState:
        """The state before any frame: the onset's spatial map (computed once)."""
        return SequenceState(spatial=to_cl(self.spatial(onset)), memory=None, frames=0)

    def step(self, state: SequenceState, frame_motion: torch.Tensor) -> tuple[torch.Tensor, SequenceState]:
        """Next frame's motion (frame − onset, (B, C, S, S)) → (logits (B, classes) for the clip so far, new state)."""
        f = self.encode_frames(frame_motion[:, None])                                  # (B, 1, h, w, d)
        out, memory = self.temporal_mixer.step(self.tokens(f), state.memory, state.frames)
        logits = self.head(self.readout(f[:, 0], out[:, 0], state.spatial)["fused"])
        return logits, SequenceState(state.spatial, memory, state.frames + 1)

    def stream(self, onset: torch.Tensor, motion: torch.Tensor) -> Iterator[torch.Tensor]:
        """Logits after each of the K frames of ``motion`` (B, K, C, S, S), by the recurrent form.

        Use in ``eval()`` mode (training-mode batch norm would see one frame's statistics at a time).
        """
        self.check_inputs(onset, motion)
        state = self.start(onset)
        for frame in split_frames(motion, self.config.motion_channels).unbind(1):
            logits, state = self.step(state, frame)
            yield logits

    def late_state_dict_keys(self) -> list[str]:
        """The parameter names this model shares with ``late`` (everything but ``temporal_mixer``)."""
        return [k for k in self.state_dict() if not k.startswith("temporal_mixer.")]
