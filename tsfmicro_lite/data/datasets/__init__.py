"""The dataset registry: one spec file per dataset (``casme2.py``, ``samm.py``, ``casme3.py``, ``synthme.py``, ...).

Adding a dataset is one new file and one registry entry: write ``data/datasets/<name>.py`` holding a
``SPEC = DatasetSpec(...)`` (copy the closest existing file), then add ``<name>`` to the import line
and its ``SPEC`` to ``_BUILT_IN`` below. ``tests/data/test_datasets.py`` checks that every registered
spec is complete. At run time, :func:`register` adds a spec without editing the package.

``get_spec("CASME II")`` resolves any alias (case, spaces and punctuation ignored); an unknown name
raises ``DatasetError`` listing the valid ones (``utils.names.unknown``).
"""
from __future__ import annotations

from ...utils.names import unknown
from ..errors import DatasetError
from ..spec import DatasetSpec, dataset_key
from . import casme2, casme3, samm, smic, synthme

__all__ = ["DatasetSpec", "get_spec", "find_spec", "list_datasets", "register"]

_SPECS: dict[str, DatasetSpec] = {}
_KEYS: dict[str, str] = {}  # normalised name or alias → dataset name


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add a dataset; its name and aliases must not resolve to another dataset already registered."""
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"register() takes a DatasetSpec, got {type(spec).__name__}")
    if spec.name != dataset_key(spec.name):
        raise ValueError(f"dataset name {spec.name!r} must be lower-case letters and digits only")
    taken = {k: _KEYS[k] for k in spec.keys if k in _KEYS and _KEYS[k] != spec.name}
    if taken:
        raise ValueError(f"dataset {spec.name!r}: names {taken} already belong to other datasets")
    _SPECS[spec.name] = spec
    _KEYS.update({k: spec.name for k in spec.keys})
    return spec


def list_datasets() -> list[str]:
    """The registered dataset names, in registry order: ``["casme2", "samm", "casme3", "synthme", "smic"]``."""
    return list(_SPECS)


def find_spec(name: str | DatasetSpec) -> DatasetSpec | None:
    """The spec a name or alias resolves to, or None (e.g. a photo demo's ``"photo"``)."""
    if isinstance(name, DatasetSpec):
        return name
    key = _KEYS.get(dataset_key(name))
    return _SPECS[key] if key else None


def get_spec(name: str | DatasetSpec) -> DatasetSpec:
    """The spec of ``name`` (``"casme2"``, ``"CASME II"``, ``"cas(me)^3"``, ...); unknown names raise."""
    spec = find_spec(name)
    if spec is None:
        raise unknown("dataset", name, list_datasets(), error=DatasetError,
                      hint="SynthME is the embedded synthetic dataset; the others need root= (docs/datasets.md).")
    return spec


#: The registry: every built-in dataset, in the order lists and error messages show them.
_BUILT_IN = (casme2.SPEC, samm.SPEC, casme3.SPEC, synthme.SPEC, smic.SPEC)
for _spec in _BUILT_IN:
    register(_spec)
