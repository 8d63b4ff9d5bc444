"""The decision modules compiled by mypyc (`engine/native.py`, `hatch_build.py`).

CI installs billrules as README says (`pip install -e .`), which compiles them: the whole suite then
runs on the compiled modules, and this file checks that it did, that the compiled modules and
their Python source decide alike byte for byte (the source in a child process, with
`BILLRULES_PURE=1`), and that an edited source is run instead of its stale compiled module.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules, native
from tests.test_discount_bills_review_s29 import json_seeds, mutator_for
from tests.test_discount_speed_blocks import generated_rules

REPO = Path(__file__).resolve().parent.parent

#: what the child process and this one both run: every line decided by every variant of the rules
_DECIDE_ALL = """
import json, sys
from pathlib import Path
from engine import load_rules, native
from engine.decide.scenarios import ScenarioError, ScenarioInvalid

def outcomes(rules_dir, lines):
    loaded = load_rules(Path(rules_dir))
    variants = [loaded, loaded.brief(), loaded.brief().applied_only()]
    out = []
    for rules in variants:
        for i, line in enumerate(lines):
            try:
                out.append(rules.decide_json(line, explain=(i % 7 == 0)))
            except ScenarioError as exc:
                out.append(f"error {exc.code} {exc.field}: {exc.message} ({exc.hint})")
            except ScenarioInvalid as exc:
                out.append(f"invalid {[(d.code, d.message) for d in exc.diagnostics]}")
    return out

if __name__ == "__main__":
    lines = Path(sys.argv[2]).read_text(encoding="utf-8").splitlines()
    print(json.dumps({"state": native.state, "compiled": native.compiled(), "outcomes": outcomes(sys.argv[1], lines)}))
"""


def _lines(count_per_seed: int) -> list[str]:
    """The samples as JSON lines, and each changed one fact at a time (seeded)."""
    rng = random.Random(32)
    seeds = json_seeds()
    mutator = mutator_for(load_rules(REPO / "rules"), rng)
    lines = []
    for seed in seeds:
        data = {k: v for k, v in seed.items() if k != "expect"}
        lines.append(json.dumps(data, default=str))
        for _ in range(count_per_seed):
            lines.append(json.dumps(mutator.changed(data), default=str))
    return lines


def _run_child(script: Path, rules: Path, lines: Path, pure: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != native.PURE}
    if pure:
        env[native.PURE] = "1"
    done = subprocess.run(
        [sys.executable, str(script), str(rules), str(lines)],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _require_compiled() -> None:
    """Skip where the modules are not compiled (`BILLRULES_PURE` set, or a machine that compiled
    nothing); in CI they must be."""
    if native.state != "compiled" and not os.environ.get("CI"):
        pytest.skip(f"the decision modules run from source here ({native.state})")
    assert native.state == "compiled", native.state


def test_the_decision_modules_run_compiled() -> None:
    """Installed as README says, the decision modules are the compiled ones (on a machine without a
    C compiler the install leaves them Python: skipped there, never in CI)."""
    _require_compiled()
    assert native.compiled()
    import engine.decide.discounts as discounts

    assert not (discounts.__file__ or "").endswith(".py")


@pytest.mark.parametrize("rules_dir", ["rules", "generated"])
def test_compiled_and_source_decide_alike(tmp_path: Path, rules_dir: str) -> None:
    """Every sample and five of its neighbours (one fact changed), decided with every variant of the
    rules (detailed, brief, applied only; some explained), by the compiled modules and by their
    Python source: the same text, byte for byte. On the shipped rules and on a generated rule set
    of 40 definitions (every kind of condition analysts write)."""
    _require_compiled()
    rules = generated_rules(tmp_path, 40) if rules_dir == "generated" else REPO / "rules"
    lines = tmp_path / "lines.jsonl"
    lines.write_text("\n".join(_lines(5 if rules_dir == "rules" else 1)), encoding="utf-8")
    script = tmp_path / "decide_all.py"
    script.write_text(_DECIDE_ALL, encoding="utf-8")
    compiled = _run_child(script, rules, lines, pure=False)
    source = _run_child(script, rules, lines, pure=True)
    assert source["state"] == "pure" and not source["compiled"]
    assert compiled["state"] == "compiled" and compiled["compiled"]
    assert len(compiled["outcomes"]) == len(source["outcomes"]) > 300
    assert sum(o.startswith("{") for o in compiled["outcomes"]) > len(compiled["outcomes"]) // 2
    for got, expected in zip(compiled["outcomes"], source["outcomes"], strict=True):
        assert got == expected


def _package(root: Path) -> list[str]:
    (root / "pkg").mkdir()
    for name in ("a", "b"):
        (root / "pkg" / f"{name}.py").write_text(f"VALUE = {name!r}\n", encoding="utf-8")
    return ["pkg.a", "pkg.b"]


def test_an_edited_source_is_stale_and_an_unchanged_one_is_not(tmp_path: Path) -> None:
    modules = _package(tmp_path)
    recorded = native.record(tmp_path, modules, checked=True)
    assert native.stale_modules(tmp_path, recorded) == []
    # touched but not changed (a checkout, files copied): its hash decides
    os.utime(tmp_path / "pkg" / "a.py", (1, 1))
    assert native.stale_modules(tmp_path, recorded) == []
    # changed, its time set back before the build (`cp -p`, `rsync -a`, `tar x`): its size differs
    b = tmp_path / "pkg" / "b.py"
    b.write_text("VALUE = 'edited'\n", encoding="utf-8")
    os.utime(b, (1, 1))
    assert native.stale_modules(tmp_path, recorded) == ["pkg.b"]
    b.unlink()
    assert native.stale_modules(tmp_path, recorded) == ["pkg.b"]


def test_what_the_build_watches_is_the_modules_and_what_they_import() -> None:
    watched = native.watched()
    assert watched[: len(native.MODULES)] == list(native.MODULES)
    assert {"engine.values", "engine.models.scenario", "engine.criteria.explain"} <= set(watched)
    assert "engine.native" not in watched and all(native.source_file(m).is_file() for m in watched)


def test_a_stale_build_runs_the_source_and_says_so() -> None:
    """What `choose` does with a checkout edited since its build (the state faked: a real one needs
    a second compiled tree): every decision module from its Python file, and a `StaleBuildWarning`."""
    code = (
        "import warnings, engine.native as n\n"
        "n._state = lambda: ('stale', 'engine.decide.money changed since they were compiled')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    import engine.decide.decision as d, engine.decide.money as m\n"
        "print(n.state, d.__file__.endswith('.py'), m.__file__.endswith('.py'))\n"
        "print([(w.category.__name__, str(w.message)) for w in caught])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.split() == ["stale", "True", "True"]
    assert "StaleBuildWarning" in second and "engine.decide.money changed" in second and "pip install -e ." in second


def test_billrules_pure_runs_the_python_source() -> None:
    code = (
        "import engine.decide.decision as d, engine.native as n;"
        "print(n.state, n.compiled(), d.__file__.endswith('.py'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, native.PURE: "1", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pure", "False", "True"]


def test_a_wheel_holds_the_compiled_modules_and_runs_them(tmp_path: Path) -> None:
    """`pip install .` (README's first command) builds a wheel for this platform holding the compiled
    modules, their group's library and the sources' hashes beside the Python files; unpacked, it
    decides every sample as expected with the modules compiled."""
    _require_compiled()
    env = {k: v for k, v in os.environ.items() if k != native.PURE}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("billrules-*.whl")
    assert not wheel.name.endswith("-py3-none-any.whl")  # tagged for this platform
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    for module in native.MODULES:
        stem = module.replace(".", "/")
        assert f"{stem}.py" in names
        assert any(n.startswith(f"{stem}.") and n.endswith(".so") for n in names), module
    assert any(n.startswith(f"{native.GROUP}__mypyc.") for n in names)
    assert f"engine/decide/{native.SOURCES}" in names
    done = subprocess.run(
        [sys.executable, "-m", "engine", "test", "--rules", str(REPO / "rules"), str(REPO / "samples")],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 failed" in done.stdout
    state = subprocess.run(
        [sys.executable, "-c", "import engine, engine.native as n; print(engine.__file__, n.describe())"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert state.stdout.split(maxsplit=1) == [str(tmp_path / "site" / "engine" / "__init__.py"), "compiled (mypyc)\n"]
