"""One way to say "that name is not known": expected / got / closest / valid list.

Every registry of the kit (model variants and presets, training profiles, SynthME profiles, datasets,
assignments, exercises) raises through :func:`unknown`, so a misspelt name reads the same everywhere
(scikit-learn's "expected / got / fix" rule, and better than timm's bare "Unknown model").
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["unknown", "UnknownNameError"]


class UnknownNameError(ValueError, KeyError):
    """A name that no registry holds; a ``ValueError`` (and a ``KeyError``, for dict-like lookups)."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


def unknown(kind: str, name: object, valid: Iterable[str], *, error: type[Exception] = UnknownNameError,
            hint: str = "") -> Exception:
    """The exception to raise for an unknown ``name`` of ``kind``: ``raise unknown("variant", v, names)``.

    The message says what was expected, what was got, the closest valid name (if any is close) and
    every valid name. ``error`` picks the exception class (e.g. ``DatasetError``) so each subsystem
    keeps its own type; ``hint`` adds a sentence on how to fix it.
    """
    valid = list(valid)
    close = difflib.get_close_matches(str(name), valid, n=1)
    parts = [f"unknown {kind} {name!r}."]
    if close:
        parts.append(f"Did you mean {close[0]!r}?")
    parts.append(f"Expected one of: {', '.join(valid)}.")
    if hint:
        parts.append(hint)
    return error(" ".join(parts))
