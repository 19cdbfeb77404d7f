"""Which epoch counts under each protocol (tsfmicro_lite.train.protocol)."""
from __future__ import annotations

import pytest

from tsfmicro_lite.train.protocol import protocol_label, select
from tsfmicro_lite.train.trainer import EpochRecord, FoldHistory


def _history(preds, y):
    return FoldHistory(y_test=y, epochs=[EpochRecord(epoch=i + 1, lr=1e-3, train_loss=0.0, test_pred=p)
                                         for i, p in enumerate(preds)])


def test_paper_selection_separate_epochs_latest_uf1_tie_and_perfect_stop():
    y = [0, 0, 0, 1]
    preds = [[0, 0, 0, 0],   # e1: acc .75 (3 correct), UF1 (6/7+0)/2 = .43
             [0, 0, 1, 1],   # e2: acc .75, UF1 (0.8 + 2/3)/2 = .73
             [0, 1, 1, 1],   # e3: acc .5,  UF1 (2/3.. ) lower
             [0, 0, 1, 1],   # e4: same as e2 -> tie on UF1, latest wins
             [0, 0, 0, 1],   # e5: 100 % -> official early stop
             [1, 1, 1, 1]]   # e6: never considered
    acc_sel, uf1_sel = select(_history(preds, y), "paper")
    assert acc_sel.epoch == 5 and uf1_sel.epoch == 5
    acc_sel, uf1_sel = select(_history(preds[:4], y), "paper")
    assert acc_sel.epoch == 1          # first epoch with the max number correct
    assert uf1_sel.epoch == 4          # '>=' tie -> latest
    honest = select(_history(preds, y), "honest")
    assert honest[0].epoch == 6 and honest[0].criterion == "last_epoch"


def test_labels_and_errors():
    assert "OPTIMISTIC" in protocol_label("paper")
    assert "fixed budget, 40 epochs" in protocol_label("honest", epochs=40)
    with pytest.raises(ValueError, match="unknown protocol 'oracle'"):
        protocol_label("oracle")
