"""Build hook: compile the decision modules with mypyc (`engine/native.py` says which and why).

Hatchling runs it for every wheel, editable included (`pip install .`, `pip install -e .`). A
wheel gets the compiled modules beside their sources and is tagged for this platform; an editable
install compiles them in place, next to the sources it runs (and `engine/native.py` falls back to
the source of a checkout edited since). Without a C compiler, when mypy refuses the code, or with
`BILLRULES_PURE` set, nothing is compiled and billrules runs as plain Python: the install says so
(`pip install -v` shows it) and goes on.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._work: Path | None = None
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        native = runpy.run_path(str(root / "engine" / "native.py"))
        if os.environ.get(native["PURE"], "") not in ("", "0"):
            self.app.display_info(f"billrules: {native['PURE']} is set: the decision modules stay Python")
            return
        editable = version == "editable"
        (root / "build").mkdir(exist_ok=True)
        self._work = Path(tempfile.mkdtemp(prefix="native-", dir=root / "build"))  # (one per build)
        try:
            built = _compile(root, native, self._work, editable)
        except (Exception, SystemExit) as exc:  # no C compiler, mypy's errors (it exits): billrules works, slower
            self.app.display_warning(f"billrules: the decision modules stay Python (not compiled: {exc!r})")
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        for path, inside in built:
            build_data["force_include"][str(path)] = inside

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)


def _compile(root: Path, native: dict[str, Any], work: Path, inplace: bool) -> list[tuple[Path, str]]:
    """Compile `native["MODULES"]` as one group; returns the files a wheel adds and their paths in it
    (none in place: they are written beside the sources)."""
    from mypyc.build import mypycify  # the build's own requirement (pyproject.toml)
    from setuptools import Distribution

    modules: tuple[str, ...] = native["MODULES"]
    sources = [str(Path(*m.split(".")).with_suffix(".py")) for m in modules]
    # what is compiled, taken before compiling: a file edited during the build is then stale
    made_from = native["record"](root, native["watched"](root), inplace)
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
    finally:
        os.chdir(cwd)
    record = (root / "engine" / "decide" if inplace else work) / native["SOURCES"]
    record.write_text(json.dumps(made_from, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"billrules: compiled {len(modules)} decision modules with mypyc", file=sys.stderr)
    if inplace:
        return []
    lib = work / "lib"
    built = [(path, path.relative_to(lib).as_posix()) for path in sorted(lib.rglob("*")) if path.is_file()]
    return [*built, (record, f"engine/decide/{record.name}")]
