"""A copy of the kit whose reference answers for one assignment are switched off, for the sandbox.

While an assignment is graded, the submission's kernel imports this copy instead of the kit: the
functions listed in :data:`REFERENCES` keep their names and signatures but their bodies are
replaced (on the syntax tree, so their source is not in the copy either) by a ``raise`` carrying
:data:`.protocol.BLOCKED_MARKER`. Anything that wraps them — a one-line ``return metrics.uf1(a, b)``,
``metrics.score(...)["uf1"]``, a subclass calling ``S2TFusion.forward_features`` — fails with a
message, and the grader scores that exercise 0 and flags "called the reference".
"""
from __future__ import annotations

import ast
import compileall
import shutil
from pathlib import Path

from .catalog import get_assignment
from .protocol import BLOCKED_MARKER

__all__ = ["REFERENCES", "redacted_kit"]

_FUSIONS = ("LateFusion.forward_features", "EarlyFusion.forward_features", "T2SFusion.forward_features",
            "S2TFusion.forward_features")

# assignment id -> {module file (relative to the package) -> function or Class.method names}
REFERENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "A1": {"preprocess/inputs.py": ("difference", "optical_flow", "optical_strain")},
    "A2": {"models/retention_forms.py": ("decay_mask", "_decay_mask_cached", "retention_parallel",
                                         "retention_recurrent", "retention_chunkwise")},
    "A3": {"models/fusion.py": _FUSIONS},
    "A4": {"metrics.py": ("uf1", "uar"), "train/splits.py": ("loso_folds",),
           "assignments/checks/a4_evaluation.py": ("reference_honest_evaluate",)},
}


class _Redactor(ast.NodeTransformer):
    def __init__(self, names: tuple[str, ...], assignment: str):
        self.names, self.assignment, self.prefix, self.found = set(names), assignment, "", set()

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        outer, self.prefix = self.prefix, f"{self.prefix}{node.name}."
        self.generic_visit(node)
        self.prefix = outer
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        name = self.prefix + node.name
        if name in self.names:
            self.found.add(name)
            msg = (f"{BLOCKED_MARKER}: the kit's {name} is switched off while {self.assignment} is graded; "
                   "the grader compares your own code with it from outside.")
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name("RuntimeError", ast.Load()),
                                                args=[ast.Constant(msg)], keywords=[]), cause=None)]
            node.decorator_list = [d for d in node.decorator_list if "cache" not in ast.unparse(d)]
        return node


def redacted_kit(dst: Path, assignment: str, package: Path | None = None, compile: bool = True) -> Path:
    """Write ``dst/tsfmicro_lite`` (sources + bytecode) with ``assignment``'s references switched off."""
    a = get_assignment(assignment)
    package = Path(package or Path(__file__).resolve().parents[1])
    out = Path(dst) / "tsfmicro_lite"
    shutil.copytree(package, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel, names in REFERENCES[a.id].items():
        path = out / rel
        tree = ast.parse(path.read_text(encoding="utf-8"))
        redactor = _Redactor(names, a.id)
        tree = ast.fix_missing_locations(redactor.visit(tree))
        missing = set(names) - redactor.found
        if missing:
            raise ValueError(f"redact.REFERENCES names {sorted(missing)} in {rel}, which does not define them; "
                             "update tsfmicro_lite/assignments/redact.py.")
        path.write_text(ast.unparse(tree) + "\n", encoding="utf-8")
    if compile:                                   # the sandbox cannot write bytecode: ship it
        compileall.compile_dir(str(out), quiet=1)
    return out
