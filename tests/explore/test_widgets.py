"""``tsfmicro_lite.widgets`` is a re-export of ``tsfmicro_lite.explore``: old imports give the same objects."""
from __future__ import annotations

import tsfmicro_lite.explore as explore
import tsfmicro_lite.widgets as widgets


def test_widgets_re_exports_every_explorer():
    assert list(widgets.__all__) == list(explore.__all__)
    for name in explore.__all__:
        assert getattr(widgets, name) is getattr(explore, name), name
