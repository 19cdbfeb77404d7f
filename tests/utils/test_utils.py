"""Atomic writes, cache/figure locations and device resolution."""
from __future__ import annotations

import json

import pytest
import torch

from tsfmicro_lite.utils import io, paths
from tsfmicro_lite.utils.device import resolve_device


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "result.json"
    io.atomic_write_json(target, {"b": 1, "a": 2})
    assert json.loads(target.read_text()) == {"a": 2, "b": 1}
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half a file")
            raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"a": 2, "b": 1}, "a failed write must leave the old file intact"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"], "temporary files must be cleaned up"


def test_atomic_json_is_byte_stable(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    io.atomic_write_json(a, {"x": [1, 2], "y": "z"})
    io.atomic_write_json(b, {"y": "z", "x": [1, 2]})
    assert a.read_bytes() == b.read_bytes()


def test_atomic_directory_never_leaves_partial(tmp_path):
    target = tmp_path / "dataset"
    with pytest.raises(KeyboardInterrupt):
        with io.atomic_directory(target) as tmp:
            (tmp / "frame.jpg").write_bytes(b"x")
            raise KeyboardInterrupt
    assert not target.exists()
    assert not any(tmp_path.iterdir())
    with io.atomic_directory(target) as tmp:
        (tmp / "frame.jpg").write_bytes(b"y")
    assert (target / "frame.jpg").read_bytes() == b"y"


def test_atomic_torch_save_roundtrip(tmp_path):
    path = io.atomic_torch_save(tmp_path / "ckpt.pt", {"w": torch.arange(3)})
    assert torch.equal(torch.load(path)["w"], torch.arange(3))


def test_cache_and_figures_dirs_follow_env(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(paths.FIGURES_ENV, str(tmp_path / "figs"))
    assert paths.cache_dir() == tmp_path / "cache"
    assert paths.figures_dir() == tmp_path / "figs" and (tmp_path / "figs").is_dir()


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="sees no CUDA GPU"):
            resolve_device("cuda")


def test_atomic_files_follow_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        f = io.atomic_write_text(tmp_path / "sheet.csv", "a,b\n")
        with io.atomic_directory(tmp_path / "ds") as d:
            (d / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "ds").stat().st_mode) == 0o755
