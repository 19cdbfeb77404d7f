"""The ``sequence`` variant (tsfmicro_lite.models.sequence): shapes, forms equal, K = 2 reduction, fwd/bwd, resume."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tsfmicro_lite.models import build_model, count_parameters, list_presets, list_variants
from tsfmicro_lite.train.loso import TensorLosoData, run_loso
from tsfmicro_lite.train.trainer import TrainConfig


def _clip(config, batch: int = 2, frames: int = 5, seed: int = 0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    s = config.img_size
    onset = torch.randn(batch, 3, s, s, generator=g, dtype=dtype)
    motion = torch.randn(batch, frames, config.motion_channels, s, s, generator=g, dtype=dtype)
    motion[:, 0] = 0                                  # frame 0 is the onset: frame − onset = 0
    return onset, motion


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_builds_and_adds_only_the_frame_mixer(preset):
    assert "sequence" in list_variants()
    seq, late = build_model("sequence", 3, preset=preset), build_model("late", 3, preset=preset)
    mixer = count_parameters(seq.temporal_mixer)
    assert mixer > 0 and count_parameters(seq) == count_parameters(late) + mixer
    assert set(seq.late_state_dict_keys()) == set(late.state_dict())


@pytest.mark.parametrize("tokens", ["grid", "pooled"])
def test_shapes_and_the_input_layouts(tokens):
    model = build_model("sequence", 4, preset="micro", frame_tokens=tokens).eval()
    onset, motion = _clip(model.config, batch=3, frames=4)
    with torch.no_grad():
        out = model(onset, motion)
        stacked = model(onset, motion.flatten(1, 2))             # (B, K·C, S, S): the same clip
    assert out.shape == (3, 4)
    torch.testing.assert_close(out, stacked)
    maps = model.forward_features(onset, motion)
    g, c = model.config.grid, model.config.dim
    assert maps["fused"].shape == maps["temporal"].shape == maps["spatial"].shape == (3, g, g, c)
    with pytest.raises(ValueError, match=r"PrepConfig\(frames=K\)"):
        model(onset, motion[..., :16, :16])


@pytest.mark.parametrize("tokens,stages", [("grid", 2), ("pooled", 4)])
def test_three_forms_and_streaming_give_the_same_logits(tokens, stages):
    torch.manual_seed(0)
    model = build_model("sequence", 3, preset="micro", frame_tokens=tokens, frame_stages=stages).double().eval()
    onset, motion = _clip(model.config, frames=5, dtype=torch.float64)
    with torch.no_grad():
        parallel = model(onset, motion)
        recurrent = model(onset, motion, mode="recurrent")
        chunkwise = model(onset, motion, mode="chunkwise", chunk_size=3)   # 5 frames: chunks of 3 and 2
        streamed = list(model.stream(onset, motion))
        prefix = model(onset, motion[:, :3])
    for other in (recurrent, chunkwise, streamed[-1]):
        torch.testing.assert_close(other, parallel, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(streamed[2], prefix, rtol=1e-10, atol=1e-12)  # a prediction after every frame
    assert not torch.allclose(streamed[0], streamed[-1])                     # ... that changes as frames arrive


def test_streaming_state_does_not_grow_with_the_frames():
    model = build_model("sequence", 3, preset="micro").eval()
    onset, motion = _clip(model.config, frames=7)
    with torch.no_grad():
        state = model.start(onset)
        shapes = []
        for frame in motion.unbind(1):
            _, state = model.step(state, frame)
            shapes.append(tuple(state.memory.shape))
    assert len(set(shapes)) == 1 and state.frames == 7


def test_k2_is_late_plus_a_retention_term():
    """K = 2 frames (onset, apex): temporal input (0, apex − onset). With the frame mixer's output projection at
    zero, ``sequence`` loaded with a ``late`` model's weights gives ``late``'s logits exactly; with it, it differs."""
    torch.manual_seed(0)
    late = build_model("late", 3, preset="micro").double().eval()
    seq = build_model("sequence", 3, preset="micro").double().eval()
    missing, unexpected = seq.load_state_dict(late.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("temporal_mixer.") for k in missing)
    onset, motion = _clip(seq.config, frames=2, dtype=torch.float64)
    apex_minus_onset = motion[:, 1]
    with torch.no_grad():
        expected = late(onset, apex_minus_onset)
        with_mixer = seq(onset, motion)
        seq.temporal_mixer.retention.out_proj.weight.zero_()
        without_mixer = seq(onset, motion)
    torch.testing.assert_close(without_mixer, expected, rtol=1e-12, atol=1e-12)
    assert (with_mixer - expected).abs().max() > 1e-4


@pytest.mark.parametrize("preset,tokens", [("tiny", "grid"), ("micro", "pooled")])
def test_forward_backward_reaches_every_parameter(preset, tokens):
    torch.manual_seed(0)
    model = build_model("sequence", 3, preset=preset, frame_tokens=tokens)
    onset, motion = _clip(model.config, batch=2, frames=4)
    out = model(onset, motion)
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 2])).backward()
    bad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not bad, f"no finite gradient for {bad}"
    assert model.temporal_mixer.retention.q_proj.weight.grad.abs().sum() > 0


@pytest.mark.slow
def test_resume_through_the_loso_code(tmp_path):
    g = torch.Generator().manual_seed(0)
    n, frames = 12, 3
    labels = np.arange(n) % 3
    onset = torch.randn(n, 3, 32, 32, generator=g)
    motion = 0.3 * torch.randn(n, frames, 3, 32, 32, generator=g)
    motion[:, 0] = 0
    motion[torch.arange(n), 1:, torch.as_tensor(labels)] += 1.0      # the class is in one channel's motion
    data = TensorLosoData(onset, motion, labels, [f"s{i // 4}" for i in range(n)], 3)  # 3 subjects, every class
    cfg = TrainConfig(epochs=2, batch_size=6, lr=3e-3, weight_decay=0.05, device="cpu", seed=1)

    def factory():
        return build_model("sequence", 3, preset="micro", num_frames=frames)

    full = run_loso(data, factory, cfg, out_dir=tmp_path / "a", verbose=False)

    class Crash(RuntimeError):
        pass

    def crash_after_fold_0(fold, history):
        if fold.index == 0:
            raise Crash("simulated kill after fold 0")

    with pytest.raises(Crash):
        run_loso(data, factory, cfg, out_dir=tmp_path / "b", verbose=False, on_fold_end=crash_after_fold_0)
    resumed = run_loso(data, factory, cfg, out_dir=tmp_path / "b", verbose=False)
    assert resumed.resumed_folds == [0]
    cols = ["fold", "subject", "protocol", "n", "accuracy", "uf1", "uar"]
    pd.testing.assert_frame_equal(full.results[cols], resumed.results[cols])
