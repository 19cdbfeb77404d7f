"""Static scan of a submission's code, in the grader's own process: what it calls, imports, reads and writes.

The flags of ``grades.csv``'s ``flags`` column come from here and from the grader's own clocks (see
:mod:`.grade`), never from what the submission's process reports about itself. The notebook's code
cells are parsed with :mod:`ast` (IPython magics first turned into the calls they stand for); nothing
is executed. Names are resolved through the imports and assignments of the cells, in order, against
the kit's *real* modules (read with :func:`inspect.getattr_static`, so no property or module
``__getattr__`` runs), so ``from tsfmicro_lite.models import retention`` then ``retention.decay_mask``
is recognised as A2's reference even though it is a re-export. Strings that parse as Python (the
``-c`` code of a spawned process, an ``exec`` argument) are scanned too.

What it finds: uses of the assignment's references (:data:`.redact.REFERENCES`, also through
``getattr``, ``importlib``, a subclass or ``super()``); paths of the solutions; processes started,
detached or killed; signal handlers and timers; code built at run time; network use; writes and
deletes at literal paths outside the submission's folder; assignments into the kit, ``importlib``,
``builtins`` or ``sys.modules``. Limits: a static scan sees what the code says, not what it computes
(a path assembled at run time, a reference reached through another kit function); the sandbox's
own reports (``sandbox_flags``) cover some of that, and scores never depend on either.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterable

from .redact import REFERENCES

__all__ = ["Finding", "scan_notebook", "scan_sources", "summarise", "STATIC_FLAGS"]

FLAG_REFERENCE = "uses the kit's reference in its code"
FLAG_SOLUTIONS = "reads the solutions"
FLAG_WRITES = "writes or deletes files outside its folder"
FLAG_PROCESS = "starts processes"
FLAG_DETACH = "detaches processes from the grader (setsid / new session)"
FLAG_KILL = "stops or signals processes (os._exit / kill)"
FLAG_SIGNALS = "changes signal handlers or timers"
FLAG_DYNAMIC = "runs code built at run time (exec / eval)"
FLAG_NETWORK = "opens network connections"
FLAG_PATCH = "patches the kit or the grading machinery"
FLAG_UNPARSED = "a code cell is not valid Python (not scanned)"
STATIC_FLAGS = (FLAG_REFERENCE, FLAG_SOLUTIONS, FLAG_WRITES, FLAG_PROCESS, FLAG_DETACH, FLAG_KILL, FLAG_SIGNALS,
                FLAG_DYNAMIC, FLAG_NETWORK, FLAG_PATCH, FLAG_UNPARSED)

KIT = "tsfmicro_lite"
MACHINERY = tuple(f"{KIT}.assignments.{m}" for m in ("kernel_side", "protocol", "runner", "grade", "sandbox",
                                                    "redact", "scan"))
# stdlib modules whose names matter; ``from X import *`` of these is expanded
WATCHED = ("os", "subprocess", "signal", "shutil", "sys", "importlib", "builtins", "socket", "pty", "pathlib",
           "multiprocessing", "runpy", "io", "codecs", "ctypes")
PROCESS_CALLS = ("subprocess.", "os.system", "os.popen", "os.fork", "os.forkpty", "os.exec", "os.spawn",
                 "os.posix_spawn", "pty.spawn", "pty.fork", "multiprocessing.Process", "multiprocessing.Pool",
                 "multiprocessing.get_context", "multiprocessing.pool.", "asyncio.create_subprocess",
                 "concurrent.futures.ProcessPoolExecutor", "IPython.get_ipython().system",
                 "IPython.get_ipython().getoutput")
SHELL_MAGICS = ("bash", "sh", "script", "system", "sx", "perl", "ruby", "python", "python2", "python3", "pypy")
DETACH_CALLS = ("os.setsid", "os.setpgid", "os.setpgrp", "os.daemon")
KILL_CALLS = ("os._exit", "os.abort", "os.kill", "os.killpg", "signal.raise_signal", "signal.pthread_kill")
SIGNAL_CALLS = ("signal.signal", "signal.alarm", "signal.setitimer", "signal.pthread_sigmask", "signal.siginterrupt")
DYNAMIC_CALLS = ("builtins.exec", "builtins.eval", "builtins.compile", "runpy.", "ctypes.")
NETWORK_CALLS = ("socket.", "urllib.request.", "http.client.", "requests.", "ftplib.", "smtplib.")
PATCH_BASES = ("importlib", "builtins", "sys.modules", "nbclient", "jupyter_client", "ipykernel", "signal",
               "subprocess", "os")
NOT_PATCHES = ("os.environ",)                   # setting an environment variable is not patching
# call name -> which positional arguments are paths that are written or deleted
WRITE_CALLS = {"os.remove": (0,), "os.unlink": (0,), "os.rmdir": (0,), "os.removedirs": (0,), "os.rename": (0, 1),
               "os.replace": (0, 1), "os.renames": (0, 1), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,),
               "os.link": (1,), "os.symlink": (1,), "os.mkdir": (0,), "os.makedirs": (0,), "os.mkfifo": (0,),
               "shutil.rmtree": (0,), "shutil.move": (0, 1), "shutil.copy": (1,), "shutil.copy2": (1,),
               "shutil.copyfile": (1,), "shutil.copytree": (1,), "shutil.copymode": (1,), "shutil.copystat": (1,),
               "numpy.save": (0,), "numpy.savez": (0,), "numpy.savetxt": (0,), "torch.save": (1,)}
OPEN_CALLS = ("builtins.open", "io.open", "codecs.open", "os.open")
PATH_WRITE_METHODS = ("write_text", "write_bytes", "unlink", "rmdir", "touch", "mkdir", "rename", "replace",
                      "chmod", "symlink_to", "hardlink_to")
SOLUTION_MARKS = ("instructor/assignments", "instructor\\assignments", "assignments/solutions")
MAX_NESTED = 200          # code strings parsed per notebook
MAX_CELL_CHARS = 2_000_000


@dataclass(frozen=True)
class Finding:
    """One thing the scan saw: ``flag`` (one of :data:`STATIC_FLAGS`), where, and the code (shortened)."""

    flag: str
    cell: int
    line: int
    what: str


@dataclass(frozen=True)
class _Dotted:
    """A name outside the kit, by its dotted path (``os._exit``, ``subprocess.Popen``)."""

    name: str


@dataclass(frozen=True)
class _Instance:
    """An instance of a kit class (``K(...)``): its attributes are the class's."""

    cls: type


def _is_kit(obj: Any) -> bool:
    if isinstance(obj, type(sys)):
        return obj.__name__ == KIT or obj.__name__.startswith(KIT + ".")
    module = getattr(obj, "__module__", None) if not isinstance(obj, (_Dotted, _Instance)) else None
    return isinstance(module, str) and (module == KIT or module.startswith(KIT + "."))


def _kit_module(name: str) -> Any:
    """The kit's module ``name`` (imported in the grader: the kit is trusted), or None."""
    if name in sys.modules:
        return sys.modules[name]
    if "__main__" in name.split("."):
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a name the kit does not have is simply unresolved
        return None


def _module(name: str) -> Any:
    if name == KIT or name.startswith(KIT + "."):
        return _kit_module(name)
    return _Dotted(name)


def _static(obj: Any, attr: str) -> Any:
    try:
        value = inspect.getattr_static(obj, attr)
    except AttributeError:
        return None
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    return value


def _attr(base: Any, attr: str) -> Any:
    """``base.attr`` resolved without running anything: kit objects statically, other names as dotted paths."""
    if isinstance(base, _Dotted):
        return _Dotted(f"{base.name}.{attr}")
    if isinstance(base, _Instance):
        return _static(base.cls, attr)
    if base is None or not _is_kit(base):
        return None
    if isinstance(base, type(sys)):
        value = base.__dict__.get(attr)
        return value if value is not None else _kit_module(f"{base.__name__}.{attr}")
    return _static(base, attr)


def _reference_objects(assignment: str) -> dict[int, str]:
    """id(object) -> "module.name" for the assignment's references (the kit's real objects)."""
    out: dict[int, str] = {}
    for rel, names in REFERENCES.get(assignment, {}).items():
        module = _kit_module(f"{KIT}." + rel[:-3].replace("/", "."))
        for name in names:
            obj: Any = module
            for part in name.split("."):
                obj = _static(obj, part) if obj is not None else None
            if obj is not None:
                out[id(obj)] = f"{rel[:-3].replace('/', '.')}.{name}"
                wrapped = getattr(obj, "__wrapped__", None)
                if wrapped is not None:
                    out[id(wrapped)] = out[id(obj)]
    return out


def _solution_objects() -> set[int]:
    build = _kit_module(f"{KIT}.assignments.build")
    return {id(f) for f in (getattr(build, "solutions_dir", None),) if f is not None}


def _solution_paths() -> tuple[str, ...]:
    """The kit's own solutions folder, as a path a submission might name."""
    build = _kit_module(f"{KIT}.assignments.build")
    try:
        return (str(build.solutions_dir()),) if build is not None else ()
    except Exception:  # noqa: BLE001 - no solutions folder (an installed kit): nothing to look for
        return ()


class _Scanner(ast.NodeVisitor):
    def __init__(self, assignment: str, allowed: tuple[str, ...]):
        self.refs = _reference_objects(assignment)
        self.solutions = _solution_objects()
        self.solution_marks = (*SOLUTION_MARKS, *_solution_paths())
        self.allowed = allowed
        self.env: dict[str, Any] = {}
        self.paths: dict[str, str] = {}                # name -> constant path prefix assigned to it
        self.classes: list[list[type]] = []             # kit bases of the classes being visited
        self.findings: list[Finding] = []
        self.cell, self.outer_line, self.nested, self.depth = 0, 0, 0, 0

    # ------------------------------------------------------------------ bookkeeping
    def add(self, flag: str, node: ast.AST | None, what: str) -> None:
        """Record a finding; inside a code string, at the line of the string in the cell."""
        line = self.outer_line if self.depth else getattr(node, "lineno", 0)
        what = " ".join(what.replace(";", ",").split())              # ';' separates flags in the CSV
        self.findings.append(Finding(flag, self.cell, line, what if len(what) <= 80 else what[:77] + "..."))

    def scan(self, tree: ast.AST) -> None:
        self.visit(tree)

    # ------------------------------------------------------------------ resolution
    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            if node.id == "get_ipython":
                return _Dotted("IPython.get_ipython")
            return _Dotted(f"builtins.{node.id}") if hasattr(builtins, node.id) else None
        if isinstance(node, ast.Attribute):
            return _attr(self.value(node.value), node.attr)
        if isinstance(node, ast.Call):
            func = self.value(node.func)
            name = func.name if isinstance(func, _Dotted) else ""
            arg0 = node.args[0] if node.args else None
            const = arg0.value if isinstance(arg0, ast.Constant) and isinstance(arg0.value, str) else None
            if name in ("importlib.import_module", "builtins.__import__") and const:
                top = name == "builtins.__import__" and not any(k.arg == "fromlist" for k in node.keywords) \
                    and len(node.args) < 4
                return _module(const.split(".")[0] if top else const)
            if name == "builtins.getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and isinstance(node.args[1].value, str):
                return _attr(self.value(node.args[0]), node.args[1].value)
            if name == "IPython.get_ipython":
                return _Dotted("IPython.get_ipython()")
            if isinstance(func, type) and _is_kit(func):
                return _Instance(func)
            return None
        return None

    def qualname(self, node: ast.AST) -> str:
        v = self.value(node)
        if isinstance(v, _Dotted):
            return v.name
        if v is not None and _is_kit(v):
            return f"{getattr(v, '__module__', '')}.{getattr(v, '__qualname__', '')}"
        return ""

    def check_reference(self, node: ast.AST, obj: Any, code: str | None = None) -> None:
        if obj is None or isinstance(obj, _Dotted):
            return
        if isinstance(obj, _Instance):
            obj = obj.cls
        code = code or ast.unparse(node)
        if id(obj) in self.refs:
            self.add(FLAG_REFERENCE, node, f"{code} is {self.refs[id(obj)]}")
        elif isinstance(obj, type) and _is_kit(obj):
            hits = [self.refs[id(f)] for f in self._class_functions(obj) if id(f) in self.refs]
            if hits:
                self.add(FLAG_REFERENCE, node, f"{code}: its {hits[0]}")
        if id(obj) in self.solutions:
            self.add(FLAG_SOLUTIONS, node, code)

    @staticmethod
    def _class_functions(cls: type) -> list[Any]:
        out = []
        for klass in cls.__mro__:
            for value in vars(klass).values():
                out.append(value.__func__ if isinstance(value, (staticmethod, classmethod)) else value)
        return out

    # ------------------------------------------------------------------ names and imports
    def bind(self, target: ast.AST, value: Any, path: str | None = None) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = value
            if path is not None:
                self.paths[target.id] = path
            else:
                self.paths.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self.bind(t, None)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.startswith(MACHINERY):
                self.add(FLAG_PATCH, node, f"import {alias.name}")
            if alias.asname:
                self.env[alias.asname] = _module(alias.name)
            else:
                top = alias.name.split(".")[0]
                self.env[top] = _module(top)
                _module(alias.name)                       # importing a.b.c makes a.b.c reachable from a

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        module = _module(node.module)
        if node.module.startswith(MACHINERY) or any(f"{node.module}.{a.name}".startswith(MACHINERY)
                                                    for a in node.names):
            self.add(FLAG_PATCH, node, f"from {node.module} import ...")
        for alias in node.names:
            if alias.name == "*":
                self.star(module)
                continue
            obj = _attr(module, alias.name)
            self.env[alias.asname or alias.name] = obj
            self.check_reference(node, obj, f"import {alias.name}")

    def star(self, module: Any) -> None:
        if isinstance(module, _Dotted):
            if module.name in WATCHED:
                real = importlib.import_module(module.name)
                names = getattr(real, "__all__", None) or [n for n in dir(real) if not n.startswith("_")]
                self.env.update({n: _Dotted(f"{module.name}.{n}") for n in names})
            return
        if module is None:
            return
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for n in names:
            self.env[n] = _attr(module, n)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for d in node.decorator_list:
            self.visit(d)
        self.visit(node.args)
        saved = dict(self.env)
        for stmt in node.body:
            self.visit(stmt)
        self.env = saved
        self.env[node.name] = None                        # the student's own function

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = []
        for b in node.bases:
            self.visit(b)
            v = self.value(b)
            if isinstance(v, type) and _is_kit(v):
                bases.append(v)
        own = {s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for base in bases:                                # a reference inherited and not overridden is used
            for klass in base.__mro__:
                for name, value in vars(klass).items():
                    if name not in own and id(value) in self.refs:
                        self.add(FLAG_REFERENCE, node, f"class {node.name} inherits {self.refs[id(value)]}")
        self.classes.append(bases)
        saved = dict(self.env)
        for stmt in node.body:
            self.visit(stmt)
        self.env = saved
        self.classes.pop()
        self.env[node.name] = None

    # ------------------------------------------------------------------ assignments (and patches)
    def patched(self, target: ast.AST, node: ast.AST) -> None:
        base_node = target.value if isinstance(target, (ast.Attribute, ast.Subscript)) else None
        if base_node is None:
            return
        base = self.value(base_node)
        if isinstance(base, _Dotted):
            name = base.name
            hit = name not in NOT_PATCHES and not name.startswith("builtins.") and (
                name == "builtins" or any(name == b or name.startswith(b + ".") for b in PATCH_BASES))
        else:                                     # a kit module, class or function (not an instance of one)
            hit = base is not None and not isinstance(base, _Instance) and _is_kit(base)
        if hit:
            self.add(FLAG_PATCH, node, ast.unparse(target))

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        value, path = self.value(node.value), self.path_prefix(node.value)
        for t in node.targets:
            self.patched(t, node)
            if not isinstance(t, ast.Name):
                self.visit(t)
            self.bind(t, value, path)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.patched(node.target, node)
            self.bind(node.target, self.value(node.value), self.path_prefix(node.value))

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self.patched(node.target, node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for t in node.targets:
            self.patched(t, node)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.bind(node.target, None)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.bind(item.optional_vars, None)
        for stmt in node.body:
            self.visit(stmt)

    # ------------------------------------------------------------------ expressions
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.check_reference(node, self.env.get(node.id))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name) and node.value.func.id == \
                "super" and self.classes:
            for base in self.classes[-1]:
                self.check_reference(node, _static(base, node.attr))
        elif isinstance(node.ctx, ast.Load):
            self.check_reference(node, self.value(node))
        self.visit(node.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, str):
            return
        text = node.value
        if any(m in text for m in self.solution_marks) or text.strip("/\\") == "instructor":
            self.add(FLAG_SOLUTIONS, node, repr(text[:60]))
        if self.nested >= MAX_NESTED or self.depth >= 3 or len(text) < 6 or not any(c in text for c in "\n(;"):
            return
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        if not any(isinstance(n, (ast.Call, ast.Import, ast.ImportFrom)) for n in ast.walk(tree)):
            return
        self.nested += 1                          # code in a string: a `python -c` argument, an exec'd text
        env, paths, line = dict(self.env), dict(self.paths), self.outer_line
        if not self.depth:
            self.outer_line = getattr(node, "lineno", 0)
        self.depth += 1
        try:
            self.visit(tree)
        except RecursionError:
            pass
        finally:
            self.depth -= 1
            self.env, self.paths, self.outer_line = env, paths, line

    def visit_Call(self, node: ast.Call) -> None:
        self.visit(node.func)
        for a in node.args:
            self.visit(a)
        for k in node.keywords:
            self.visit(k.value)
        self.check_reference(node, self.value(node) if isinstance(self.value(node.func), _Dotted) else None)
        name = self.qualname(node.func)
        text = ast.unparse(node)
        if not name:
            if isinstance(node.func, ast.Attribute) and node.func.attr in PATH_WRITE_METHODS:
                self.write_path(node, self.path_prefix(node.func.value), text)
            elif isinstance(node.func, ast.Attribute) and node.func.attr == "open" and self._writes(node, 0):
                self.write_path(node, self.path_prefix(node.func.value), text)
            return
        if name.startswith(PROCESS_CALLS):
            self.add(FLAG_PROCESS, node, text)
            if any(k.arg in ("start_new_session", "preexec_fn", "process_group") for k in node.keywords) or \
                    "setsid" in text or "nohup" in text or "disown" in text:
                self.add(FLAG_DETACH, node, text)
        if name in ("IPython.get_ipython().run_cell_magic", "IPython.get_ipython().run_line_magic") and node.args:
            magic = node.args[0].value if isinstance(node.args[0], ast.Constant) else ""
            if magic in SHELL_MAGICS:
                self.add(FLAG_PROCESS, node, text)
            elif magic in ("run", "load", "loadpy"):
                self.add(FLAG_DYNAMIC, node, text)
            elif magic == "writefile" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                self.write_path(node, str(node.args[1].value).split()[-1] if node.args[1].value else None, text)
        if name.startswith(DETACH_CALLS):
            self.add(FLAG_DETACH, node, text)
        if name in KILL_CALLS:
            self.add(FLAG_KILL, node, text)
        if name in SIGNAL_CALLS:
            self.add(FLAG_SIGNALS, node, text)
        if name.startswith(DYNAMIC_CALLS) and not (name in ("builtins.exec", "builtins.eval", "builtins.compile")
                                                   and node.args and isinstance(node.args[0], ast.Constant)):
            self.add(FLAG_DYNAMIC, node, text)
        if name.startswith(NETWORK_CALLS):
            self.add(FLAG_NETWORK, node, text)
        if name == "builtins.setattr" and node.args:
            self.patched(ast.Attribute(value=node.args[0], attr="x", ctx=ast.Store()), node)
        if name in WRITE_CALLS or name.startswith("numpy.save") or name == "torch.save":
            for i in WRITE_CALLS.get(name, (0,)):
                if i < len(node.args):
                    self.write_path(node, self.path_prefix(node.args[i]), text)
        if name in OPEN_CALLS and node.args and self._writes(node, 1):
            self.write_path(node, self.path_prefix(node.args[0]), text)

    @staticmethod
    def _writes(node: ast.Call, position: int) -> bool:
        mode = node.args[position] if len(node.args) > position else next(
            (k.value for k in node.keywords if k.arg in ("mode", "flags")), None)
        if mode is None:
            return False
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
            return any(c in mode.value for c in "wax+")
        return "O_WR" in ast.unparse(mode) or "O_RDWR" in ast.unparse(mode) or "O_CREAT" in ast.unparse(mode) \
            or not isinstance(mode, ast.Constant)

    # ------------------------------------------------------------------ paths
    def path_prefix(self, node: ast.AST) -> str | None:
        """The literal start of a path expression ("/etc/x", "../y"), or None when it is computed."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            v = node.value
            return v.decode(errors="replace") if isinstance(v, bytes) else v
        if isinstance(node, ast.JoinedStr):
            head = node.values[0] if node.values else None
            return head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else None
        if isinstance(node, ast.Name):
            return self.paths.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
            left = self.path_prefix(node.left)
            if left is not None and isinstance(node.op, ast.Div):
                right = self.path_prefix(node.right)
                return f"{left.rstrip('/')}/{right}" if right is not None else left.rstrip("/") + "/?"
            return left
        if isinstance(node, ast.Call):
            name = self.qualname(node.func)
            if name.endswith(".home") and name.startswith("pathlib."):
                return "~"
            if name.startswith(("pathlib.", "os.path.")) and node.args:
                return self.path_prefix(node.args[0])
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("joinpath", "with_name", "with_suffix",
                                                                            "resolve", "absolute", "expanduser"):
                return self.path_prefix(node.func.value)
        return None

    def outside(self, path: str) -> bool:
        p = path.strip()
        if not p:
            return False
        if p.startswith("~"):
            return True
        norm = os.path.normpath(p)
        if os.path.isabs(norm):
            return not any(norm == a or norm.startswith(a.rstrip("/") + "/") for a in self.allowed)
        return norm == ".." or norm.startswith("../")

    def write_path(self, node: ast.AST, path: str | None, text: str) -> None:
        if path is not None and self.outside(path):
            self.add(FLAG_WRITES, node, text)


def _python_source(source: str) -> str:
    """The cell as plain Python: IPython's magics and ``!cmd`` become the calls they stand for."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager  # lazy: IPython only for notebooks' magics
    except ImportError:
        return "\n".join("pass" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())
    return TransformerManager().transform_cell(source)


def scan_sources(sources: Iterable[tuple[int, str]], assignment: str,
                 allowed: tuple[str, ...] = ("/sub", "/dev/null", "/dev/stdout", "/dev/stderr")
                 ) -> list[Finding]:
    """Scan ``(cell index, source)`` pairs in order; ``allowed`` are the absolute paths it may write under."""
    scanner = _Scanner(assignment, tuple(allowed))
    for cell, source in sources:
        scanner.cell, scanner.base_line = cell, 0
        if len(source) > MAX_CELL_CHARS:
            scanner.add(FLAG_UNPARSED, None, f"cell of {len(source):,} characters")
            continue
        try:
            tree = ast.parse(_python_source(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            scanner.add(FLAG_UNPARSED, None, f"{type(exc).__name__}: {exc}")
            continue
        try:
            scanner.scan(tree)
        except RecursionError:
            scanner.add(FLAG_UNPARSED, None, "nested too deeply to scan")
    return scanner.findings


def scan_notebook(nb: Any, assignment: str, allowed: tuple[str, ...] | None = None) -> list[Finding]:
    """Scan the code cells of a (parsed) notebook for ``assignment`` (``"A1"``..); see :func:`scan_sources`."""
    cells = [(i, c.get("source", "")) for i, c in enumerate(getattr(nb, "cells", []) or [])
             if c.get("cell_type") == "code" and isinstance(c.get("source", ""), str)]
    return scan_sources(cells, assignment) if allowed is None else scan_sources(cells, assignment, allowed)


def summarise(findings: list[Finding]) -> list[str]:
    """One line per flag with its first piece of evidence: ``flag (code, cell N, +2 more)``."""
    by_flag: dict[str, list[Finding]] = {}
    for f in findings:
        by_flag.setdefault(f.flag, []).append(f)
    out = []
    for flag in STATIC_FLAGS:
        if flag in by_flag:
            first, more = by_flag[flag][0], len(by_flag[flag]) - 1
            out.append(f"{flag} ({first.what}, cell {first.cell}{f', +{more} more' if more else ''})")
    return out
