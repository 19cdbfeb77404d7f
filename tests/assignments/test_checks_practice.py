"""assignments/checks/practice.py: practice checks pass right answers and name the usual mistakes."""
from __future__ import annotations

import numpy as np
import torch

from tsfmicro_lite import metrics
from tsfmicro_lite.assignments.checks import practice


def _manhattan(h, w, g):
    r, c = np.divmod(np.arange(h * w), w)
    return torch.from_numpy(g ** (np.abs(r[:, None] - r[None]) + np.abs(c[:, None] - c[None])).astype(float))


def test_right_answers_pass():
    assert practice.flow_magnitude(lambda f: np.sqrt((f ** 2).sum(-1)), seed=0).passed
    assert practice.manhattan_decay(_manhattan, seed=0).passed
    assert practice.channels_last(lambda x: x.permute(0, 2, 3, 1), seed=0).passed
    assert practice.pooled_uf1(lambda t, p: metrics.uf1(np.concatenate(t), np.concatenate(p)), seed=0).passed


def test_usual_mistakes_get_their_hint():
    r = practice.flow_magnitude(lambda f: (f ** 2).sum(-1), seed=1)
    assert not r.passed and "squared magnitude" in r.message
    r = practice.manhattan_decay(lambda h, w, g: _manhattan(w, h, g), seed=1)
    assert not r.passed and "column-major" in r.message
    r = practice.channels_last(lambda x: x.permute(0, 3, 2, 1), seed=1)
    assert not r.passed and "H and W are swapped" in r.message
    r = practice.pooled_uf1(lambda t, p: float(np.mean([metrics.uf1(a, b) for a, b in zip(t, p)])), seed=1)
    assert not r.passed and "averaged the per-fold" in " ".join(r.hints)
