"""Device choice: CUDA when present, CPU otherwise; a clear error when a missing GPU is asked for."""
from __future__ import annotations

import torch


def resolve_device(name: str | None = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` into a ``torch.device``.

    Raises ``RuntimeError`` naming what was asked and what exists, rather than failing later inside a
    kernel launch.
    """
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"--device {name} was asked for, but this PyTorch ({torch.__version__}) sees no CUDA GPU. "
                "Use --device cpu (or auto), or install a CUDA build of PyTorch (environment.yml)."
            )
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise RuntimeError(
                f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible."
            )
        return torch.device(name)
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise RuntimeError("--device mps was asked for, but Apple MPS is not available here.")
        return torch.device("mps")
    if name == "cpu":
        return torch.device("cpu")
    raise ValueError(f"Unknown device {name!r}: expected auto, cpu, cuda, cuda:N or mps.")
