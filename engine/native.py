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
- the build wrote no compiled modules (no C compiler: the install says so and goes on);
- a source changed since its compiled module was built (`SOURCES` records each source's sha256 at
  build time): an edited checkout runs the edit, and warns once that `pip install -e .` makes it
  fast again. Comparing hashes, not times, keeps a wheel's files, unpacked in any order, compiled.

This module imports nothing of billrules: the build hook reads `MODULES` from it.
"""

from __future__ import annotations

import hashlib
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
#: beside the modules: {module: sha256 of its source when compiled}, written by the build
SOURCES = "_native_sources.json"
#: the environment variable that keeps the decision modules on their Python source
PURE = "BILLRULES_PURE"

_DECIDE = Path(__file__).resolve().parent / "decide"


def source_file(module: str) -> Path:
    """The Python file of one of `MODULES`."""
    return _DECIDE / (module.rpartition(".")[2] + ".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compiled_file(module: str) -> Path | None:
    stem = module.rpartition(".")[2]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        found = _DECIDE / (stem + suffix)
        if found.is_file():
            return found
    return None


def stale_modules(directory: Path, recorded: dict[str, str], modules: Sequence[str] = MODULES) -> list[str]:
    """The modules whose source in `directory` is not the one compiled (`recorded`'s hash): quick
    when every source is older than what was built from it, hashed otherwise."""
    stale = []
    built = directory / SOURCES
    built_at = built.stat().st_mtime if built.is_file() else None
    for module in modules:
        source = directory / (module.rpartition(".")[2] + ".py")
        if module not in recorded:
            stale.append(module)
        elif built_at is not None and source.stat().st_mtime <= built_at:
            continue
        elif digest(source) != recorded[module]:
            stale.append(module)
    return stale


def _state() -> tuple[str, list[str]]:
    """("compiled" | "pure" | "not built" | "stale", the stale modules)."""
    if os.environ.get(PURE, "") not in ("", "0"):
        return "pure", []
    if any(_compiled_file(m) is None for m in MODULES):
        return "not built", []
    try:
        recorded = json.loads((_DECIDE / SOURCES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "stale", list(MODULES)
    stale = stale_modules(_DECIDE, recorded if isinstance(recorded, dict) else {})
    return ("stale", stale) if stale else ("compiled", [])


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
    the state ("compiled", "pure", "not built" or "stale")."""
    global state
    if state != "unknown":
        return state
    state, stale = _state()
    if state != "compiled":
        sys.meta_path.insert(0, _FromSource())
    if state == "stale":
        warnings.warn(
            f"{', '.join(stale)} changed since it was compiled; the decision modules run from "
            "their Python source (slower) until `pip install -e .` compiles them again",
            RuntimeWarning,
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
