"""The decision modules compiled to C by mypyc when billrules is installed (`hatch_build.py`), and
the way back to their Python source.

A decision runs through `engine/decide/`'s modules once per scenario, and in CPython most of its
time is the interpreter's own work on their plain Python (attribute reads, calls, small dicts):
compiled by mypyc, the same code makes a decision in about two thirds of the time (README, "Speed
of decisions"). The Python files stay the source of truth: mypyc compiles them as they are, the
type hints they already carry become checks, and they are shipped beside the compiled modules.

The modules are compiled as one group (`GROUP`: one shared library, their calls to each other
direct C calls), so they run either all compiled or all from source. From source when:

- `BILLRULES_PURE` is set to anything but `0` (the tests compare both ways' decisions byte for
  byte; a build with it set compiles nothing);
- the build wrote no compiled modules (no C compiler: the install says so and goes on), or their
  shared library does not load;
- in a checkout compiled in place (`pip install -e .`), a file they were compiled from changed
  since: the modules themselves and the billrules modules they import (`watched`), whose size,
  time and sha256 the build recorded before compiling (`SOURCES`). A file whose size or time
  differs is hashed; a changed one makes the checkout run its edit, with a `StaleBuildWarning`
  saying that `pip install -e .` makes it fast again. An installed wheel is not checked: nobody
  edits it, and hashing its files would cost every process a few milliseconds.

This module imports nothing of billrules: the build hook reads `MODULES` and `watched` from it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

#: the modules compiled, in import order of their dependencies (money and reasons first)
MODULES = (
    "engine.decide.money",
    "engine.decide.reasons",
    "engine.decide.scenarios",
    "engine.decide.terms",
    "engine.decide.why",
    "engine.decide.discounts",
    "engine.decide.credits",
    "engine.decide.balances",
    "engine.decide.purchases",
    "engine.decide.decision",
)
#: their shared library's group (`billrules_native__mypyc.*.so`, beside the `engine` package: mypyc puts a
#: dotted group's headers where its split C files do not look)
GROUP = "billrules_native"
#: beside the modules: what the build compiled from (`record`), written by the build
SOURCES = "_native_sources.json"
#: the environment variable that keeps the decision modules on their Python source
PURE = "BILLRULES_PURE"

_ROOT = Path(__file__).resolve().parent.parent  # the folder holding the `engine` package
_DECIDE = _ROOT / "engine" / "decide"


class StaleBuildWarning(RuntimeWarning):
    """A checkout's compiled decision modules are older than their source: the source runs."""


def source_file(module: str, root: Path = _ROOT) -> Path:
    """The Python file of a module of the `engine` package (a package's `__init__.py`)."""
    path = root.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def watched(root: Path = _ROOT) -> list[str]:
    """The modules the compiled code was made from: `MODULES` and every billrules module they
    import (compiled code calls them with the types it was compiled against), as dotted names."""
    found = dict.fromkeys(MODULES)
    for module in MODULES:
        tree = ast.parse(source_file(module, root).read_bytes())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.split(".")[0] == "engine" and _is_module(root, name):
                    found.setdefault(name)
    return list(found)


def _is_module(root: Path, name: str) -> bool:
    path = root.joinpath(*name.split("."))
    return (path.is_dir() and (path / "__init__.py").is_file()) or path.with_suffix(".py").is_file()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(root: Path, modules: Sequence[str], checked: bool) -> dict[str, Any]:
    """What a build compiles from (taken before it compiles: an edit during the build is stale):
    each watched module's size, modification time (ns) and sha256; `checked`, whether a process
    compares them (a checkout compiled in place) or not (a wheel)."""
    files = {}
    for module in modules:
        path = source_file(module, root)
        stat = path.stat()
        files[module] = [stat.st_size, stat.st_mtime_ns, digest(path)]
    return {"checked": checked, "files": files}


def stale_modules(root: Path, recorded: dict[str, Any]) -> list[str]:
    """The modules in `recorded` whose file under `root` is not the one compiled from: a file of
    the same size and time is taken as it was, another is hashed; a missing one is stale."""
    stale = []
    for module, (size, mtime_ns, sha256) in recorded["files"].items():
        path = source_file(module, root)
        try:
            stat = path.stat()
            if (stat.st_size, stat.st_mtime_ns) == (size, mtime_ns) or digest(path) == sha256:
                continue
        except OSError:
            pass
        stale.append(module)
    return stale


def _compiled_file(module: str) -> Path | None:
    stem = module.rpartition(".")[2]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        found = _DECIDE / (stem + suffix)
        if found.is_file():
            return found
    return None


def _state() -> tuple[str, str]:
    """("compiled" | "pure" | "not built" | "stale" | "broken", why when the source runs for a
    reason to warn of)."""
    if os.environ.get(PURE, "") not in ("", "0"):
        return "pure", ""
    if any(_compiled_file(m) is None for m in MODULES):
        return "not built", ""
    try:
        recorded = json.loads((_DECIDE / SOURCES).read_text(encoding="utf-8"))
        stale = stale_modules(_ROOT, recorded) if recorded["checked"] else []
    except (OSError, ValueError, KeyError, TypeError):
        return "stale", f"{SOURCES} beside them is missing or unreadable"
    if stale:
        return "stale", f"{', '.join(stale)} changed since they were compiled"
    try:
        importlib.import_module(f"{GROUP}__mypyc")
    except ImportError as exc:
        return "broken", f"their shared library does not load ({exc})"
    return "compiled", ""


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the decision modules' Python files ahead of their compiled modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_file(fullname))


#: how the decision modules run in this process: set by `choose` (`engine/decide/__init__.py`)
state = "unknown"


def choose() -> str:
    """Decide, before the first decision module is imported, whether they run compiled; returns
    the state ("compiled", "pure", "not built", "stale" or "broken")."""
    global state
    if state != "unknown":
        return state
    state, why = _state()
    if state != "compiled":
        sys.meta_path.insert(0, _FromSource())
    if why:
        warnings.warn(
            f"the decision modules run from their Python source (slower): {why}; "
            "`pip install -e .` (or installing billrules again) compiles them again",
            StaleBuildWarning,
            stacklevel=2,
        )
    return state


def compiled() -> bool:
    """Whether the decision modules imported are the compiled ones."""
    import engine.decide.decision as module  # (here: this module imports nothing of billrules at import)

    return not (module.__file__ or "").endswith(".py")


def describe() -> str:
    """How the decision modules run, for a benchmark's report."""
    return "compiled (mypyc)" if compiled() else f"Python source ({state})"
