"""SynthME, the embedded synthetic dataset: read like CASME II's raw release, with ground-truth landmarks.

The generator (``tsfmicro_lite.synth``) writes CASME II's sheet columns and raw layout and uses CASME
II's emotion strings, so this spec borrows CASME II's class mappings (the very same objects) and its
frame-pair search. It differs where it must: no environment variable (``root=None`` generates the
quick profile), ground-truth landmarks, labelled synthetic, and no official LOSO list (every subject
is tested). Its "official" seeds and epochs are those the kit's runs on it have always used (seed 2,
as the official scripts other than CASME II 3-class), so measured numbers stay comparable.
"""
from __future__ import annotations

from pathlib import Path

from ...synth import SHEET_NAME, make_synthme
from ..spec import DatasetSpec, TaskSpec
from . import casme2


def quick_root() -> Path:
    """The quick profile's folder, generated on first use (what ``load_dataset("synthme")`` reads)."""
    return make_synthme(profile="quick")


SPEC = DatasetSpec(
    name="synthme",
    title="SynthME",
    aliases=("synthetic",),
    root_env=None,
    sheet_patterns=(Path(SHEET_NAME).stem.lower() + "*",),
    layouts=("<root>/sub01/EP02_01/img46.jpg (plus <root>/landmarks/sub01/EP02_01.npy)",),
    cropped_layout="<root>/Cropped/sub01/EP02_01/reg_img46.jpg (preprocess.official.write_cropped_copy writes it)",
    subject_id=casme2.SPEC.subject_id,
    subject_folders=casme2.SPEC.subject_folders,
    tasks={
        5: TaskSpec(casme2.FIVE_CLASS, official_seed=2, official_epochs=174, official_weight_decay=0.6),
        3: TaskSpec(casme2.THREE_CLASS, official_seed=2, official_epochs=199, official_weight_decay=0.7),
    },
    search_scale=casme2.SPEC.search_scale,
    search_divisor=casme2.SPEC.search_divisor,
    synthetic=True,
    landmarks_dir="landmarks",
    make_root=quick_root,
)
