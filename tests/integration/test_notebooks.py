"""Every notebook runs headlessly with papermill in its quick profile, and is committed clean."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "build" / "executed"
COURSE = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
ALL = sorted(p for p in NOTEBOOK_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _failing_cell(nb_path: Path) -> str:
    """Source and traceback of the first cell whose output is an error, from an executed copy."""
    nb = json.loads(nb_path.read_text())
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                tb = "\n".join(out.get("traceback", []))
                return f"cell {i}:\n{''.join(cell['source'])}\n--- traceback ---\n{tb}"
    return "(no error output found in the executed notebook)"


def test_course_notebooks_exist():
    assert COURSE, f"no numbered notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOK_DIR)))
def test_committed_without_outputs(path: Path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; clear them before committing"
    first_code = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
    assert first_code is not None and "parameters" in first_code.get("metadata", {}).get("tags", []), (
        f"{path.name}: the first code cell must be tagged 'parameters' (papermill injects the quick profile there)"
    )


@pytest.mark.notebook
@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_notebook_runs_quick_profile(path: Path, monkeypatch):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # the kernel draws figures inline (conftest's Agg is for in-process tests), so the executed copies
    # carry them: tools/build_site.py builds the course website from these copies
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # progress as a student's papermill run shows it (conftest's quiet switch would hide a wall of bars)
    monkeypatch.setenv("TSFMICRO_QUIET", "0")
    monkeypatch.delenv("TSFMICRO_PROGRESS", raising=False)

    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    out = EXECUTED_DIR / path.name
    try:
        pm.execute_notebook(str(path), str(out), parameters={"PROFILE": "quick"}, cwd=str(NOTEBOOK_DIR),
                            kernel_name="python3", progress_bar=False, execution_timeout=900)
    except PapermillExecutionError as exc:
        pytest.fail(f"{path.name} failed in its quick profile ({exc.ename}: {exc.evalue})\n{_failing_cell(out)}",
                    pytrace=False)
    check_executed(path.name, json.loads(out.read_text()))


# -- what the notebooks teach, checked in the executed copies and in the committed sources ------------------
# Each notebook asserts its key invariant in a cell (so a failing one stops papermill); the executed copy
# must also show the sentence that reports it, so a cell that was deleted or skipped is noticed here.
TAUGHT = {
    "02_retention_from_scratch.ipynb": ["all forms agree within"],
    "04_spatial_branch.ipynb": ["motion: the 14×14 thumbnail is"],
    "05_fusion_variants.ipynb": ["parameters: every variant within"],
    "06_training_loso.ipynb": ["notebook loop vs train_fold: exact=True",
                               "paper >= honest on every fold, accuracy and UF1"],
    "07_reproduce_paper.ipynb": ["paper >= honest accuracy on every fold", "late - temporal_only: UF1"],
}
PROGRESS_BAR = re.compile(r"\d+%\|")         # tqdm's "  0%|" / "100%|" text, in a stream or a widget's text
WRONG_CITATIONS = ("Z. Liu", "Y. Nan", "Y. Qian", "Y. Fu", "temporal-spatial fusion for micro-expression")


def _outputs_text(nb: dict) -> list[str]:
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append("".join(out.get("text", "")))
            elif "data" in out:
                texts.append("".join(out["data"].get("text/plain", "")))
    return texts


def check_executed(name: str, nb: dict) -> None:
    """An executed notebook shows the lines of what it teaches, and no progress-bar walls."""
    texts = _outputs_text(nb)
    joined = "\n".join(texts)
    missing = [line for line in TAUGHT.get(name, []) if line not in joined]
    assert not missing, f"{name}: the executed copy lacks {missing}; the cell that checks it did not run or changed"
    bars = [t for t in texts if PROGRESS_BAR.search(t)]
    assert not bars, (f"{name}: {len(bars)} outputs hold tqdm progress bars (e.g. {bars[0][:80]!r}); loops in a "
                      "notebook should print one line each (tsfmicro_lite.utils.progress)")


def test_check_executed_catches_a_wall_of_bars_and_a_missing_check():
    wall = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {"text/plain": "fold 0 (s00):   0%|          | 0/10"}}]}]}
    with pytest.raises(AssertionError, match="progress bars"):
        check_executed("00_tour.ipynb", wall)
    with pytest.raises(AssertionError, match="lacks"):
        check_executed("06_training_loso.ipynb", {"cells": []})
    line = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stderr", "text": "LOSO late: 8/8 folds in 12.0 s\n"}]}]}
    check_executed("00_tour.ipynb", line)


def _markdown(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text())
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_cites_the_paper_from_the_one_reference_entry(path: Path):
    from tsfmicro_lite.reference import CITATION

    text = "\n".join(src for _, src in _markdown(path))
    wrong = [w for w in WRONG_CITATIONS if w in text]
    assert not wrong, f"{path.name}: wrong author list or title {wrong}; cite tsfmicro_lite.reference.CITATION"
    refs = text.split("## References", 1)
    assert len(refs) == 2 and CITATION in refs[1], (
        f"{path.name}: its References must hold the paper's entry verbatim (tsfmicro_lite.reference.CITATION):\n"
        f"{CITATION}")


@pytest.mark.parametrize("doc", ["README.md", "docs/architecture.md", "docs/official-implementation.md"])
def test_docs_use_the_right_authors(doc: str):
    text = (ROOT / doc).read_text(encoding="utf-8")
    wrong = [w for w in WRONG_CITATIONS if w in text]
    assert not wrong, f"{doc}: wrong author list or title {wrong}; see tsfmicro_lite/reference.py"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_objectives_first_explorers_before_the_summary_no_placeholders(path: Path):
    cells = json.loads(path.read_text())["cells"]
    md = _markdown(path)
    assert md and md[0][0] == 0 and ("**You will**" in md[0][1] or "**Objectives.**" in md[0][1]), (
        f"{path.name}: the first cell must state the objectives ('**You will**' followed by a list)")
    placeholders = [i for i, src in md if "Reserved for" in src]
    assert not placeholders, f"{path.name}: cells {placeholders} are placeholders; fill or delete them"
    summary = next((i for i, src in md if src.lstrip().startswith("## Summary") or "\n## Summary" in src), None)
    assert summary is not None, f"{path.name}: no '## Summary' section"
    late = [i for i, c in enumerate(cells) if "explore-widget" in c.get("metadata", {}).get("tags", []) and i > summary]
    assert not late, f"{path.name}: explorer cells {late} come after the Summary (cell {summary}); move them before it"

