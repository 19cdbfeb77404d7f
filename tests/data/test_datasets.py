"""tsfmicro_lite.data.datasets: every registered ``DatasetSpec`` is complete and sane, its names resolve, and
adding a dataset takes one spec (the readers need nothing else)."""
from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from tsfmicro_lite.data import DatasetError, load_dataset
from tsfmicro_lite.data import datasets as registry
from tsfmicro_lite.data.datasets import find_spec, get_spec, list_datasets, register
from tsfmicro_lite.data.spec import DatasetSpec, TaskSpec, dataset_key, normalise_emotion

SPECS = [get_spec(name) for name in list_datasets()]
IDS = [spec.name for spec in SPECS]
# Fields that may be empty, and when: a generated dataset needs no environment variable, a real one
# has no ground-truth landmarks and no generator, and only CAS(ME)^3 keeps frames in a clip sub-folder.
OPTIONAL = {"aliases", "root_env", "clip_subfolders", "landmarks_dir", "make_root", "synthetic", "clip_parents",
            "index_tree"}


def test_the_registry_holds_the_four_datasets_one_file_each():
    assert list_datasets()[:4] == ["casme2", "samm", "casme3", "synthme"]
    for name in list_datasets():
        module = importlib.import_module(f"tsfmicro_lite.data.datasets.{name}")
        assert module.SPEC is get_spec(name), f"data/datasets/{name}.py must hold the spec called {name!r}"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_field_is_set(spec: DatasetSpec):
    for f in dataclasses.fields(spec):
        value = getattr(spec, f.name)
        if f.name not in OPTIONAL:
            assert value not in (None, "", (), {}), f"{spec.name}: {f.name} is not set"
    assert spec.name == dataset_key(spec.name) and spec.title
    assert spec.root_env or spec.make_root, f"{spec.name}: no way to find a root (root_env or make_root)"
    if spec.root_env:
        assert spec.root_env == f"TSFMICRO_{spec.name.upper()}"
    if not spec.synthetic:
        assert spec.root_env and spec.make_root is None and spec.landmarks_dir is None
    else:
        assert spec.make_root and spec.landmarks_dir, "generated data comes with its generator and ground truth"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_names_and_aliases_resolve(spec: DatasetSpec):
    for name in (spec.name, spec.title, spec.name.upper(), f" {spec.title} ", *spec.aliases):
        assert get_spec(name) is spec and find_spec(name) is spec, name
    assert spec.keys[0] == spec.name
    others = {k for s in SPECS if s is not spec for k in s.keys}
    assert not set(spec.keys) & others, f"{spec.name}: an alias also names another dataset"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_sheet_and_folder_facts_are_usable(spec: DatasetSpec):
    assert all(p == p.lower() and p.strip() for p in spec.sheet_patterns), "patterns match lower-cased names"
    assert all(layout.startswith("<root>/") for layout in spec.layouts)
    ids = [spec.subject(v) for v in (1, "1", 7.0, "07")]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert spec.subject(ids[2]) == ids[2], "a subject ID reads back as itself"
    folders = spec.subject_folder_names(ids[0])
    assert folders[0] == ids[0] and len(folders) == len(set(folders)), "the ID itself is tried first"
    with pytest.raises(ValueError, match="cannot read a subject number"):
        spec.subject("x")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_task_is_complete(spec: DatasetSpec):
    # SMIC-HS is labelled with three classes only (positive / negative / surprise folders)
    assert spec.class_counts == tuple(sorted(spec.tasks)) and len(spec.tasks) >= (1 if spec.name == "smic" else 2)
    vocabularies = []
    for n, task in spec.tasks.items():
        assert isinstance(task, TaskSpec) and task.num_classes == n
        m = task.mapping
        assert len(m.classes) == len(set(m.classes)) == n
        assert sorted(set(m.labels.values())) == list(range(n)), f"{spec.name} {n}: a class has no emotion"
        assert all(e == normalise_emotion(e) for e in (*m.labels, *m.dropped, *m.aliases, *m.aliases.values()))
        assert not set(m.labels) & set(m.dropped)
        assert all(target in m.labels or target in m.dropped for target in m.aliases.values())
        assert not set(m.aliases) & set(m.labels), "an alias must not shadow a spelling the task reads"
        for emotion, label in m.labels.items():
            assert m.label_of(f"  {emotion.upper()} ") == label
        vocabularies.append(set(m.labels) | set(m.dropped))
        assert isinstance(task.official_seed, int) and task.official_seed >= 0
        assert isinstance(task.official_epochs, int) and 0 < task.official_epochs <= 500
        assert 0 < task.official_weight_decay < 1
        if task.official_loso is None:
            # SMIC: the official TSFmicro code has no SMIC script, hence no list (every subject is tested)
            assert spec.synthetic or spec.name == "smic", f"{spec.name} {n}: a real dataset needs an official LOSO list"
        else:
            subjects = [spec.subject(s) for s in task.official_loso]
            assert len(subjects) == len(set(subjects)) >= 10
    # every task knows the same emotions, so no sheet row is an error in one task and fine in another
    assert all(v == vocabularies[0] for v in vocabularies)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_frame_search_radius_grows_with_the_clip(spec: DatasetSpec):
    assert spec.search_scale > 0 and spec.search_divisor >= 1
    radii = [spec.search_radius(10, 10 + span) for span in range(0, 400, 7)]
    assert radii[0] == 0 and radii == sorted(radii) and radii[-1] >= 1
    assert spec.search_radius(40, 10) == 0, "apex before onset: no search"


def test_the_specs_hold_the_official_numbers():
    """Spot checks against spec §1 / §5 / §6, written out independently of the spec files."""
    casme2, samm, casme3, synthme = (get_spec(n) for n in ("casme2", "samm", "casme3", "synthme"))
    assert casme2.search_radius(10, 40) == 1 and samm.search_radius(10, 40) == 3
    assert (casme2.task(5).official_epochs, casme2.task(3).official_seed) == (174, 112)
    assert synthme.mapping(5) is casme2.mapping(5) and synthme.task(3).official_loso is None
    assert casme3.class_counts == (4, 7) and casme3.clip_subfolders == ("color",)
    assert samm.subject(6) == "006" and casme3.subject("spno.1") == "spNO.1"


def test_an_unknown_name_lists_the_valid_ones():
    with pytest.raises(DatasetError, match=r"unknown dataset 'sam'\. Did you mean 'samm'\? Expected one of: "
                       r"casme2, samm, casme3, synthme, smic\."):
        get_spec("sam")
    assert find_spec("photo") is None


def test_adding_a_dataset_is_one_spec(tmp_path: Path, monkeypatch):
    """A new dataset registered at run time is read by the generic readers with no other change."""
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    monkeypatch.setattr(registry, "_KEYS", dict(registry._KEYS))
    casme2 = get_spec("casme2")
    toy = dataclasses.replace(casme2, name="toyme", title="ToyME", aliases=("toy-me",), root_env="TSFMICRO_TOYME",
                              sheet_patterns=("toyme_labels*",), layouts=("<root>/p3/clipA/f7.png",),
                              subject_id="p{n}", subject_folders=("{subject}",))
    register(toy)
    (tmp_path / "toyme_labels.csv").write_text("Subject,Filename,Onset,Apex,Offset,AU,Emotion\n"
                                               "3,clipA,7,8,9,12,happiness\n")
    (tmp_path / "p3" / "clipA").mkdir(parents=True)
    for n in (7, 8, 9):
        (tmp_path / "p3" / "clipA" / f"f{n}.png").write_bytes(b"")
    df = load_dataset("Toy-ME", tmp_path, classes=3)
    assert list(df.subject) == ["p3"] and list(df.dataset) == ["toyme"] and list(df.class_name) == ["positive"]
    assert "toyme" in list_datasets()
    with pytest.raises(ValueError, match="already belong to other datasets"):
        register(dataclasses.replace(toy, name="toyme2", aliases=("CASME II",)))
