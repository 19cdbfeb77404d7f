"""assignments/checks/a3_fusion.py: variant and preset names come from the model registry."""
from __future__ import annotations

from tsfmicro_lite import check
from tsfmicro_lite.assignments.checks import a3_fusion
from tsfmicro_lite.models import list_presets, list_variants


def test_variants_and_preset_are_registered_names():
    assert set(a3_fusion.WIRING_HINTS) <= set(list_variants()), "a hint names a variant the registry lacks"
    assert a3_fusion.FUSION_VARIANTS == tuple(v for v in list_variants() if v in a3_fusion.WIRING_HINTS)
    assert {"late", "s2t"} <= set(a3_fusion.FUSION_VARIANTS)
    assert a3_fusion.CHECK_PRESET in list_presets()


def test_an_unknown_variant_is_a_failed_result_in_the_kits_wording():
    r = check.fusion_variant(object, variant="s2tt")
    assert not r.passed and r.score == 0.0
    assert r.message.startswith("unknown fusion variant 's2tt'. Did you mean 's2t'? Expected one of: late")
    assert "VARIANT" in r.message


def test_a_swapped_h_and_w_gets_its_own_hint():
    from torch import nn

    class Swapped(nn.Module):
        def __init__(self, temporal, spatial, upsample, head):
            super().__init__()
            self.temporal, self.spatial, self.upsample, self.head = temporal, spatial, upsample, head

        def forward(self, onset, motion):
            x = self.temporal.stem(motion) + self.upsample(self.spatial(onset)).permute(0, 3, 2, 1)
            for stage in self.temporal.stages:
                x = stage(x)
            return self.head(x)

    r = check.fusion_variant(Swapped, variant="s2t", seed=0)
    assert not r.passed and r.score == 0.0 and "H and W of the upsampled ViT map are swapped" in r.message
