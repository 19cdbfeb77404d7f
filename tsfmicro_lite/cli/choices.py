"""The names the CLI's flags take (datasets, variants, presets, profiles, ...), written out so ``--help`` skips torch.

The registries are the source of truth (``list_datasets()``, ``list_variants()``, ...), but reaching them
imports torch and pandas (about 3 s), and argparse needs the names while it builds the parser, i.e. on
every ``tsfmicro --help``. So the CLI reads them here, and ``tests/cli/test_choices.py`` checks each one
against its registry: a variant registered in ``models/factory.py`` without its name here fails that test,
which says what to add.
"""
from __future__ import annotations

__all__ = ["AMP", "DATASETS", "ENGINES", "FACES", "INPUT_PIPELINES", "MEGC2019", "MEMBERS", "PRESETS", "PROFILES",
           "PROTOCOLS", "SELECTIONS", "SYNTH_PROFILES", "VARIANTS"]

DATASETS = ("casme2", "samm", "casme3", "synthme", "smic")                  # data.list_datasets()
VARIANTS = ("late", "early", "t2s", "s2t", "temporal_only", "spatial_only", "sequence")  # models.list_variants()
PRESETS = ("paper", "small", "tiny", "micro")                               # models.list_presets()
PROFILES = {"quick": "micro", "full": "paper"}        # train.profiles: each profile's model_preset
SYNTH_PROFILES = ("quick", "casme2-like", "samm-quick", "smic-quick")        # synth.list_synth_profiles()
PROTOCOLS = ("honest", "paper")                                             # train.protocol.PROTOCOLS
AMP = ("off", "bf16", "fp16")                                               # train.trainer.AMP_CHOICES
INPUT_PIPELINES = ("auto", "loader", "device")                              # train.trainer.INPUT_PIPELINES
ENGINES = ("local", "submitit")                                             # train.parallel.ENGINES
FACES = ("align", "dataset")                                                # preprocess.pipeline.FACES
MEGC2019 = "megc2019"                                                       # data.composite.COMPOSITE
MEMBERS = ("casme2", "samm", "smic")                                        # data.composite.MEMBERS
SELECTIONS = ("megc2019", "mapping")                                        # data.composite.SELECTIONS
