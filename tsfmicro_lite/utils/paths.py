"""Where the kit keeps generated data, caches and figures (each overridable by an env variable)."""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "TSFMICRO_CACHE"
FIGURES_ENV = "TSFMICRO_FIGURES"


def repo_root() -> Path:
    """The checkout this package was imported from (the folder holding ``pyproject.toml``)."""
    return Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Root of generated datasets and preprocessing caches.

    ``$TSFMICRO_CACHE`` wins; otherwise ``$XDG_CACHE_HOME/tsfmicro-lite`` or ``~/.cache/tsfmicro-lite``.
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tsfmicro-lite"


def figures_dir() -> Path:
    """Where notebooks save the plots the README and docs show (``figures/`` unless overridden)."""
    path = Path(os.environ.get(FIGURES_ENV) or repo_root() / "figures")
    path.mkdir(parents=True, exist_ok=True)
    return path
