"""Every notebook runs headlessly with papermill in its quick profile, and is committed clean."""
from __future__ import annotations

import json
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
def test_notebook_runs_quick_profile(path: Path):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    out = EXECUTED_DIR / path.name
    try:
        pm.execute_notebook(str(path), str(out), parameters={"PROFILE": "quick"}, cwd=str(NOTEBOOK_DIR),
                            kernel_name="python3", progress_bar=False, execution_timeout=900)
    except PapermillExecutionError as exc:
        pytest.fail(f"{path.name} failed in its quick profile ({exc.ename}: {exc.evalue})\n{_failing_cell(out)}",
                    pytrace=False)
