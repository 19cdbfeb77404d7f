"""Which epoch's predictions count: the honest protocol and the paper's (notebook 07 compares them).

- ``honest`` (default): the epoch is fixed before the test subject is seen: the last epoch of a
  budget chosen in advance, or the best epoch on an *inner validation split of training subjects*.
- ``paper``: what the official code does: for each fold, the epoch with the most correct test
  predictions gives the accuracy and the epoch with the best test UF1 (``>=``, the latest tie wins)
  gives UF1, independently, stopping at the first epoch with 100 % test accuracy. It looks at the
  test subject to choose, so it is optimistic; every output carries that label.

Both read the same :class:`~tsfmicro_lite.train.trainer.FoldHistory`, so one training run with a
fixed budget yields both numbers, and their gap is pure selection bias.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import metrics as M
from .trainer import FoldHistory

__all__ = ["PROTOCOLS", "PAPER_WARNING", "Selection", "select", "protocol_label", "warn_if_paper",
           "OptimisticProtocolWarning"]

PROTOCOLS = ("honest", "paper")
PAPER_WARNING = ("protocol 'paper' picks the best epoch ON THE TEST SUBJECT (accuracy and UF1 "
                 "maximised separately, as the official code does): its scores are optimistic and "
                 "not a fair estimate; compare them with the 'honest' protocol.")


class OptimisticProtocolWarning(UserWarning):
    """Raised (as a warning) whenever results of the paper protocol are produced."""


@dataclass(frozen=True)
class Selection:
    """The predictions one protocol keeps for one fold, and the metric(s) they serve."""
    protocol: str
    criterion: str          # last_epoch | val_uf1 | test_accuracy | test_uf1
    epoch: int
    y_pred: tuple[int, ...]
    serves: tuple[str, ...]  # which reported metrics come from these predictions


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}: expected one of {PROTOCOLS} "
                         "(honest = epoch fixed in advance; paper = best epoch on the test subject).")


def select(history: FoldHistory, protocol: str) -> list[Selection]:
    """The selection(s) ``protocol`` makes from one fold's history (one for honest, two for paper).

    Taught in notebooks/07_reproduce_paper.ipynb, section "1 · What the two protocols mean".
    """
    _check_protocol(protocol)
    if not history.epochs:
        raise ValueError("the fold history has no epochs; was the fold trained?")
    if protocol == "honest":
        if history.best_val_epoch is not None:
            rec = history.epochs[history.best_val_epoch - 1]
            return [Selection("honest", "val_uf1", rec.epoch, tuple(rec.test_pred), ("accuracy", "uf1", "uar"))]
        rec = history.epochs[-1]
        return [Selection("honest", "last_epoch", rec.epoch, tuple(rec.test_pred), ("accuracy", "uf1", "uar"))]
    y = np.asarray(history.y_test)
    considered = []
    for rec in history.epochs:          # the official early stop: nothing after the first 100 % epoch
        considered.append(rec)
        if np.all(np.asarray(rec.test_pred) == y):
            break
    correct = [int(np.sum(np.asarray(r.test_pred) == y)) for r in considered]
    best_acc = considered[int(np.argmax(correct))]          # first epoch reaching the maximum
    best_uf1, best_score = considered[0], -1.0
    for rec in considered:
        s = M.uf1(y, rec.test_pred)
        if s >= best_score:                                 # '>=': the latest tie wins, as officially
            best_uf1, best_score = rec, s
    return [Selection("paper", "test_accuracy", best_acc.epoch, tuple(best_acc.test_pred), ("accuracy",)),
            Selection("paper", "test_uf1", best_uf1.epoch, tuple(best_uf1.test_pred), ("uf1", "uar"))]


def protocol_label(protocol: str, honest_mode: str = "fixed", epochs: int | None = None) -> str:
    """The label every table, plot and log line carries.

    Taught in notebooks/07_reproduce_paper.ipynb, section "1 · What the two protocols mean".
    """
    _check_protocol(protocol)
    if protocol == "paper":
        return "paper (best epoch on test subject; OPTIMISTIC)"
    if honest_mode == "inner_val":
        return "honest (early stop on inner validation subjects)"
    return f"honest (fixed budget{f', {epochs} epochs' if epochs else ''})"


def warn_if_paper(protocols) -> None:
    """Print and warn once per run when the paper protocol is among ``protocols``."""
    if "paper" in protocols:
        warnings.warn(PAPER_WARNING, OptimisticProtocolWarning, stacklevel=2)
