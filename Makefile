# tsfmicro-lite: two commands on a fresh machine.
#   make reproduce   set up .venv (CPU PyTorch) and run the main job on the embedded synthetic data
#   make test        set up .venv and run every test, notebooks included
# Re-running skips installs that are done: the stamp file is only rebuilt when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tsfmicro-installed
RUNS   := runs
PROFILE ?= quick

.PHONY: setup reproduce test lab doctor clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# CPU PyTorch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --disable-pip-version-check -q torch==2.13.0
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

# The main job: the paper-reproduction notebook, headless, on the embedded synthetic dataset.
reproduce: setup
	@mkdir -p $(RUNS)
	$(VENV)/bin/tsfmicro doctor
	$(VENV)/bin/papermill notebooks/07_reproduce_paper.ipynb $(RUNS)/07_reproduce_paper.ipynb -p PROFILE $(PROFILE) --cwd notebooks
	@echo "executed notebooks are in $(RUNS)/"

test: setup
	$(VENV)/bin/ruff check tsfmicro_lite tests benchmarks
	$(PY) -m pytest

lab: setup
	$(PY) -m ipykernel install --sys-prefix --name tsfmicro-lite --display-name "Python (tsfmicro-lite)"
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

doctor: setup
	$(VENV)/bin/tsfmicro doctor

clean-venv:
	rm -rf $(VENV)
