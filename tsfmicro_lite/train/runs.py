"""Run-folder names, one rule: ``<dataset>-c<classes>-<variant>-<profile>-<preset>-<data hash>``.

``tsfmicro train``, ``tsfmicro reproduce``, :func:`~tsfmicro_lite.train.reproduce.reproduce` and notebooks
06/07 all name their run folders with :func:`run_dir`, so the same task on the same data resumes the same
folder, wherever it was started. The data's hash is in the name: regenerated or edited data starts a new
run instead of resuming an old one (``run_loso`` would refuse it anyway). Notebooks keep their runs under
:func:`runs_root` (the kit's cache), one subfolder per notebook.
"""
from __future__ import annotations

from pathlib import Path

from ..utils.paths import cache_dir
from .loso import LosoData, data_fingerprint
from .profiles import TrainProfile, get_profile

__all__ = ["run_dir", "runs_root", "HASH_CHARS"]

HASH_CHARS = 8  # hex digits of the data's SHA-1 in a folder name: 4 billion values, short enough to read


def runs_root(*parts: str) -> Path:
    """Where the notebooks keep run folders: ``cache_dir()/runs[/parts...]`` (e.g. ``runs_root("06")``).

    Taught in notebooks/06_training_loso.ipynb, section "3 · Every fold, with the package: checkpoint or train".
    """
    return cache_dir().joinpath("runs", *parts)


def run_dir(out: str | Path | None, dataset: str, classes: int, variant: str, profile: str | TrainProfile,
            data: LosoData | str, preset: str | None = None) -> Path:
    """The run folder of one LOSO run: ``<out>/<dataset>-c<classes>-<variant>-<profile>-<preset>-<hash>``.

    ``out`` is the folder that holds run folders (``None``: :func:`runs_root`). ``profile`` is the
    training profile (a name or a :class:`~tsfmicro_lite.train.profiles.TrainProfile`). ``data`` is the
    data trained on (anything :func:`~tsfmicro_lite.train.loso.run_loso` takes) or its SHA-1 hex digest;
    the first :data:`HASH_CHARS` digits go in the name. ``preset`` is the model preset trained
    (``None``: the profile's own), so ``--preset small`` never resumes a ``micro`` run.

    >>> run_dir("runs", "synthme", 3, "late", "quick", "0123456789abcdef")
    PosixPath('runs/synthme-c3-late-quick-micro-01234567')

    Taught in notebooks/06_training_loso.ipynb, section "3 · Every fold, with the package: checkpoint or train".
    """
    prof = profile if isinstance(profile, TrainProfile) else get_profile(profile)
    digest = data if isinstance(data, str) else data_fingerprint(data)
    parts = [dataset, f"c{classes}", variant, prof.name, preset or prof.model_preset, digest[:HASH_CHARS]]
    return (Path(out) if out is not None else runs_root()) / "-".join(parts)
