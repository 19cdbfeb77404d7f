# tsfmicro-lite: two commands on a fresh machine.
#   make reproduce   set up .venv (CPU PyTorch) and run the main job on the embedded synthetic data
#                    (its executed notebook, figures and tables go under runs/: git status stays clean)
#   make figures     regenerate the figures the README shows, into the tracked figures/ folder
#   make test        set up .venv and run every test, notebooks included
# Re-running skips installs that are done: the stamp file is only rebuilt when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.tsfmicro-installed
RUNS   := runs
PROFILE ?= quick

.PHONY: setup reproduce figures site test lab doctor clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# CPU PyTorch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --disable-pip-version-check -q torch==2.13.0
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $(STAMP)

# The main job: the paper-reproduction notebook, headless, on the embedded synthetic dataset. Its figures go to
# runs/figures (not the tracked figures/), so a run leaves the checkout clean and later results are not +dirty.
reproduce: export TSFMICRO_FIGURES := $(CURDIR)/$(RUNS)/figures
reproduce: setup
	@mkdir -p $(RUNS)
	$(VENV)/bin/tsfmicro doctor
	$(VENV)/bin/papermill notebooks/07_reproduce_paper.ipynb $(RUNS)/07_reproduce_paper.ipynb -p PROFILE $(PROFILE) --cwd notebooks
	@echo "executed notebook in $(RUNS)/, figures in $(RUNS)/figures/"

# The figures the README shows, regenerated on purpose into figures/ (then review and commit them):
# the notebooks that draw them (quick profile; executed copies in runs/figures-notebooks/) and the
# JupyterLab screenshot taken by the browser test. FIGURE_NOTEBOOKS="00_tour 01_data_and_preprocessing" picks others.
FIGURE_NOTEBOOKS ?= 00_tour 05_fusion_variants
figures: export TSFMICRO_FIGURES := $(CURDIR)/figures
figures: setup
	@mkdir -p $(RUNS)/figures-notebooks
	@for nb in $(FIGURE_NOTEBOOKS); do \
	  echo "figures: $$nb"; \
	  $(VENV)/bin/papermill notebooks/$$nb.ipynb $(RUNS)/figures-notebooks/$$nb.ipynb -p PROFILE $(PROFILE) \
	    --cwd notebooks --no-progress-bar || exit 1; \
	done
	$(PY) -m pytest tests/integration/test_browser.py -q -k jupyterlab_renders
	@echo "figures/ regenerated: review with git diff --stat figures/ and commit"

# The course website: Sphinx + MyST-NB over the executed notebooks (build/executed, as the notebook tests leave
# them; missing or stale ones are executed in the quick profile) and the assignments' student copies.
site: setup
	$(PY) tools/build_site.py
	@echo "open build/site/index.html"

test: setup
	$(VENV)/bin/ruff check tsfmicro_lite tests benchmarks tools
	$(PY) -m pytest

lab: setup
	$(PY) -m ipykernel install --sys-prefix --name tsfmicro-lite --display-name "Python (tsfmicro-lite)"
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

doctor: setup
	$(VENV)/bin/tsfmicro doctor

clean-venv:
	rm -rf $(VENV)
