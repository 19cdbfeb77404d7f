"""instructor/answer_keys/: one key per questionnaire (course notebooks and assignments), as many answers as
questions, never shipped."""
from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

import pytest

from tsfmicro_lite.assignments import build as B
from tsfmicro_lite.utils.paths import repo_root

ROOT = repo_root()
KEYS = ROOT / "instructor" / "answer_keys"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = sorted(B.solutions_dir().glob("A*.ipynb"))        # the solution notebooks; students get built copies
HEADING = re.compile(r"^(#+)\s*(questionnaire|questions)\s*$", re.I)
ITEM = re.compile(r"^(\d+)\.\s")


def questions(nb_path: Path) -> list[int]:
    """The numbers of the questionnaire's items (top-level ``N. `` lines of its section), [] if it has none."""
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = source.splitlines()
        for i, line in enumerate(lines):
            m = HEADING.match(line.strip())
            if not m:
                continue
            numbers = []
            for rest in lines[i + 1:]:
                h = re.match(r"^(#+)\s", rest)
                if h and len(h.group(1)) <= len(m.group(1)):
                    break
                item = ITEM.match(rest)
                if item:
                    numbers.append(int(item.group(1)))
            return numbers
    return []


def answers(key: Path) -> list[int]:
    return [int(m.group(1)) for m in map(ITEM.match, key.read_text(encoding="utf-8").splitlines()) if m]


WITH_QUESTIONS = [p for p in [*NOTEBOOKS, *ASSIGNMENTS] if questions(p)]


def test_the_course_notebooks_have_questionnaires():
    assert len(NOTEBOOKS) >= 8 and all(p in WITH_QUESTIONS for p in NOTEBOOKS), \
        [p.name for p in NOTEBOOKS if p not in WITH_QUESTIONS]


def test_the_assignments_end_with_a_questionnaire_their_student_copies_ask_too():
    assert len(ASSIGNMENTS) >= 4 and all(p in WITH_QUESTIONS for p in ASSIGNMENTS), \
        [p.name for p in ASSIGNMENTS if p not in WITH_QUESTIONS]
    for solution in ASSIGNMENTS:
        student = B.assignments_dir() / solution.name
        assert questions(student) == questions(solution), f"{student.name}: stale? run `tsfmicro assignments build`"


@pytest.mark.parametrize("notebook", WITH_QUESTIONS, ids=lambda p: p.stem)
def test_every_questionnaire_has_a_key_with_one_answer_per_question(notebook: Path):
    asked = questions(notebook)
    assert asked == list(range(1, len(asked) + 1)), f"{notebook.name}: questions numbered {asked}"
    key = KEYS / f"{notebook.stem}.md"
    assert key.is_file(), f"no answer key for {notebook.name}: write {key.relative_to(ROOT)}"
    got = answers(key)
    assert got == asked, f"{key.name} answers {got}, {notebook.name} asks {asked}"
    text = key.read_text(encoding="utf-8")
    assert text.startswith("# Answer key") and "Instructor side" in text, key.name


def test_no_key_without_a_notebook():
    stems = {p.stem for p in [*NOTEBOOKS, *ASSIGNMENTS]}
    orphans = [k.name for k in KEYS.glob("*.md") if k.stem not in stems]
    assert not orphans, f"answer keys for notebooks that do not exist: {orphans}"


def _key_lines() -> list[str]:
    """Distinctive lines of the keys (long answer lines), to look for in what students get."""
    lines = []
    for key in KEYS.glob("*.md"):
        lines += [ln.strip() for ln in key.read_text(encoding="utf-8").splitlines() if len(ln.strip()) > 60][:5]
    return lines


def test_keys_are_not_installed_with_the_package():
    package = Path(B.__file__).resolve().parents[1]
    assert package not in KEYS.resolve().parents, "answer keys inside the package would be installed"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found = config["tool"]["setuptools"]["packages"]["find"]
    assert found.get("include") == ["tsfmicro_lite*"] and not found.get("where"), found
    data = config["tool"]["setuptools"].get("package-data", {})
    assert set(data) <= {"tsfmicro_lite"} and not any(".." in p for p in data.get("tsfmicro_lite", [])), data
    assert not list(package.rglob("*answer_key*")) and not list(package.rglob("instructor"))


def test_keys_are_not_in_the_student_release_nor_the_student_folders(tmp_path: Path):
    written = B.release(tmp_path / "handout")
    handout = "".join(p.read_text(encoding="utf-8") for p in written)
    built = [r.student for r in B.build(dst=tmp_path / "built")]        # `tsfmicro assignments build --dst`
    assert {p.name for p in built} == {p.name for p in ASSIGNMENTS}
    student_files = [*(ROOT / "notebooks").rglob("*.md"), *(ROOT / "notebooks").rglob("*.ipynb")]
    assert not [p for p in [*student_files, *written, *built] if "answer_key" in str(p)]
    students = handout + "".join(p.read_text(encoding="utf-8") for p in [*student_files, *built])
    for line in _key_lines():
        assert line not in students, f"an answer-key line is in what students receive: {line!r}"


def test_keys_are_not_staged_for_the_course_website(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "tools" / "build_site.py")
    site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site)
    site.stage([], tmp_path / "site-src")
    staged = [p for p in (tmp_path / "site-src").rglob("*") if p.is_file()]
    assert staged and not [p for p in staged if "answer_key" in str(p) or "instructor" in p.parts]
    text = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in staged if p.suffix in (".md", ".ipynb"))
    for line in _key_lines():
        assert line not in text, f"an answer-key line is staged for the website: {line!r}"
