"""The package's layers only point down, and docs/architecture.md maps every module.

The order is written once, in ``docs/architecture.md`` ("## Layers"), and read from there, so the doc
and the test cannot disagree. Imports inside functions count too; they must also say why they are
lazy (a ``# lazy`` comment on the line: start-up time, an optional heavy dependency).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "tsfmicro_lite"
DOC = ROOT / "docs" / "architecture.md"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def layer_order() -> list[list[str]]:
    """Layers from the doc's "## Layers" section: ``a < b < c / d`` (c and d share a rank)."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"## Layers\s*\n.*?`([a-z_ <>/]+)`", text, flags=re.S)
    assert match, "docs/architecture.md needs a '## Layers' section with the order in backticks"
    return [[name.strip() for name in rank.split("/")] for rank in match.group(1).split("<")]


LAYERS = layer_order()
# Top-level modules that sit in a layer without a package of their own.
TOP_LEVEL = {"tsfmicro_lite": "utils", "tsfmicro_lite.metrics": "metrics", "tsfmicro_lite.check": "assignments",
             "tsfmicro_lite.widgets": "explore", "tsfmicro_lite.reference": "utils",
             "tsfmicro_lite.doctor": "cli"}


def layer_of(module: str) -> str:
    if module in TOP_LEVEL:
        return TOP_LEVEL[module]
    parts = module.split(".")
    assert len(parts) >= 2, module
    return parts[1]


def rank_of(layer: str) -> int:
    for i, rank in enumerate(LAYERS):
        if layer in rank:
            return i
    raise AssertionError(f"layer {layer!r} is not in docs/architecture.md's order {LAYERS}")


def resolve(module: str, path: Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The kit modules an import statement reaches (``from pkg import mod`` reaches ``pkg.mod``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "tsfmicro_lite"]
    if node.level:
        base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "tsfmicro_lite":
        return []
    subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
    return subs or [target]


def imports() -> list[tuple[str, int, str, bool, str]]:
    """(module, line, imported module, inside a function, source line) for every kit import."""
    found = []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                       for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in resolve(module, path, node) or [""]:
                    found.append((module, node.lineno, target, id(node) in in_function, lines[node.lineno - 1]))
    return found


def test_layer_order_names_every_package():
    packages = {layer_of(m) for m in MODULES}
    named = {name for rank in LAYERS for name in rank}
    assert packages <= named, f"packages missing from the layer order: {sorted(packages - named)}"


def test_imports_point_down():
    bad = []
    for module, line, target, _, _ in imports():
        if not target:
            continue
        src, dst = layer_of(module), layer_of(target)
        if src == dst:
            continue
        if rank_of(dst) >= rank_of(src):
            bad.append(f"{MODULES[module].relative_to(ROOT)}:{line}: {src} imports {dst} ({target})")
    assert not bad, "imports that point up or sideways:\n" + "\n".join(bad)


def test_function_level_imports_say_why():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line}: {src.strip()}"
           for m, line, _, inside, src in imports() if inside and "# lazy" not in src]
    # Only kit imports and third-party ones are read here; ``imports()`` yields third-party ones as ''.
    assert not bad, ("imports inside functions: lift them to the top, or mark them '# lazy: why' "
                     "(start-up time, an optional dependency):\n" + "\n".join(sorted(set(bad))))


def test_no_private_names_imported_from_another_module():
    # a name with a leading underscore is its module's own business: make it public where another module needs it
    bad = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and resolve(module, path, node):
                bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, "private names imported across modules:\n" + "\n".join(bad)


def test_no_import_cycles_between_modules():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, _, target, _, _ in imports():
        if target in MODULES and target != module and not module.startswith(target + "."):
            graph[module].add(target)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def first_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def test_package_map_lists_every_module():
    """Each module has a row ``| `pkg/mod.py` | <first line of its docstring> |``, so the map cannot drift."""
    text = DOC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z0-9_/.]+\.py)` \| (.*?) \|\s*$", text, flags=re.M))
    actual = {str(p.relative_to(PKG)): p for p in MODULES.values() if p.name != "__init__.py"}
    missing = sorted(set(actual) - set(rows))
    stale = sorted(set(rows) - set(actual) - {str(p.relative_to(PKG)) for p in MODULES.values()})
    wrong = [f"{name}: map says {rows[name]!r}, docstring says {first_line(p)!r}"
             for name, p in actual.items() if name in rows and rows[name].strip() != first_line(p)]
    fix = "\n".join(f"| `{n}` | {first_line(actual[n])} |" for n in missing)
    assert not missing, f"modules missing from docs/architecture.md's package map; add:\n{fix}"
    assert not stale, f"docs/architecture.md lists modules that do not exist: {stale}"
    assert not wrong, "package-map rows that differ from the module docstrings:\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_has_a_docstring(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{MODULES[module].relative_to(ROOT)} has no module docstring"
