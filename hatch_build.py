"""Build hook: compile the decision modules with mypyc (`engine/native.py` says which and why).

Hatchling runs it for every wheel, editable included (`pip install .`, `pip install -e .`). A
wheel gets the compiled modules beside their sources and is tagged for this platform; an editable
install compiles them in place, next to the sources it runs (and `engine/native.py` falls back to
a source edited since). Without a C compiler, or with `BILLRULES_PURE` set, nothing is compiled
and billrules runs as plain Python: the install says so (`pip install -v` shows it) and goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import shutil
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        native = runpy.run_path(str(root / "engine" / "native.py"))
        if os.environ.get(native["PURE"], "") not in ("", "0"):
            self.app.display_info(f"billrules: {native['PURE']} is set: the decision modules stay Python")
            return
        editable = version == "editable"
        try:
            built = _compile(root, native, editable)
        except Exception as exc:  # no C compiler, no headers: billrules works, slower
            self.app.display_warning(f"billrules: the decision modules stay Python (not compiled: {exc})")
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if not editable:
            for path, inside in built:
                build_data["force_include"][str(path)] = inside


def _compile(root: Path, native: dict[str, Any], inplace: bool) -> list[tuple[Path, str]]:
    """Compile `native["MODULES"]` as one group; returns each file made and its path in the wheel."""
    from mypyc.build import mypycify  # the build's own requirement (pyproject.toml)
    from setuptools import Distribution

    work = root / "build" / "native"
    shutil.rmtree(work, ignore_errors=True)
    modules: tuple[str, ...] = native["MODULES"]
    sources = [str(Path(*m.split(".")).with_suffix(".py")) for m in modules]
    cwd = os.getcwd()
    os.chdir(root)  # mypy reads its settings from pyproject.toml here
    try:
        extensions = mypycify(
            sources, opt_level="3", group_name=native["GROUP"], target_dir=str(work / "c"), multi_file=True
        )
        distribution = Distribution({"name": "billrules-native", "ext_modules": extensions})
        build = distribution.get_command_obj("build_ext")
        build.inplace = inplace  # type: ignore[attr-defined]
        build.build_lib = str(work / "lib")  # type: ignore[attr-defined]
        build.build_temp = str(work / "temp")  # type: ignore[attr-defined]
        build.parallel = os.cpu_count() or 1  # type: ignore[attr-defined]
        build.ensure_finalized()
        build.run()
        outputs = [Path(p) for p in build.get_outputs()]  # type: ignore[attr-defined]
    finally:
        os.chdir(cwd)
    recorded = {m: hashlib.sha256((root / s).read_bytes()).hexdigest() for m, s in zip(modules, sources, strict=True)}
    record = (root / "engine" / "decide" if inplace else work) / native["SOURCES"]
    record.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    built = []
    for path in [*outputs, record]:
        path = path if path.is_absolute() else root / path
        if inplace:
            continue
        lib = work / "lib"
        inside = path.relative_to(lib).as_posix() if path.is_relative_to(lib) else f"engine/decide/{path.name}"
        built.append((path, inside))
    print(f"billrules: compiled {len(modules)} decision modules with mypyc", file=sys.stderr)
    return built
