"""The two set-up paths stay in step, and the set-up files say what the README promises."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _name(req: str) -> str:
    return re.split(r"[=<>!~\[ ]", req, maxsplit=1)[0].lower().replace("_", "-")


def test_conda_env_covers_pyproject_dependencies():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = [], []
    for item in env["dependencies"]:
        (pip.extend(item["pip"]) if isinstance(item, dict) else conda.append(item))
    have = {_name(x) for x in conda + pip}
    # The conda path swaps the CPU torch wheel for CUDA PyTorch, and the dlib-bin wheel for conda-forge's dlib.
    swaps = {"torch": "pytorch-gpu", "dlib-bin": "dlib"}
    missing = [d for d in map(_name, deps) if swaps.get(d, d) not in have and d not in {"nbclient", "nbformat"}]
    assert not missing, f"environment.yml lacks {missing} that pyproject.toml installs"


def test_cpu_torch_is_pinned_everywhere_pip_installs_it():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in deps, "an unpinned torch pulls a multi-GB CUDA build on the pip path"
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()
    assert not any(_name(d) == "torchvision" for d in deps), "torchvision fails to import beside torch 2.13.0"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make reproduce" in readme
    assert readme.index("make reproduce") < readme.index("make test"), "the main job comes first in the README"


def test_requires_python_agrees_with_the_tests_and_the_conda_path():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    minimum = re.fullmatch(r">=(\d+\.\d+)", meta["project"]["requires-python"].strip())
    assert minimum, "requires-python should state a minimum version"
    # The tests import tomllib (3.11+); the pins were measured on Python 3.11, which environment.yml installs.
    assert minimum.group(1) == "3.11" == conda_python.split("=", 1)[1]
    assert meta["tool"]["ruff"]["target-version"] == "py311"


def test_make_test_runs_ruff_before_pytest():
    make = (ROOT / "Makefile").read_text()
    recipe = make.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check" in recipe and recipe.index("ruff check") < recipe.index("pytest")
