"""What ships: README commands, CI script, generated schemas, console script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from engine.codes import CODES
from engine.schemagen import all_schemas, render

REPO = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(python3\.11 -m venv .*)\n```", readme)


def test_readme_opens_with_two_setup_commands() -> None:
    commands = _readme_commands()
    assert len(commands) >= 2
    assert "billrules validate" in commands[0]
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()


def test_committed_schemas_equal_generated() -> None:
    generated = all_schemas()
    committed = {p.name for p in (REPO / "schemas").glob("*.json")}
    assert committed == set(generated), "run `billrules schema --write schemas/`"
    for name, schema in generated.items():
        assert (REPO / "schemas" / name).read_text(encoding="utf-8") == render(schema), (
            f"{name} drifted: run `billrules schema --write schemas/`"
        )


def _properties(node: object, path: str = "") -> list[tuple[str, dict[str, object]]]:
    found: list[tuple[str, dict[str, object]]] = []
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            found.append((f"{path}.{name}", prop))
        for key, value in node.items():
            found.extend(_properties(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(_properties(item, f"{path}[{i}]"))
    return found


def test_every_schema_property_has_a_description() -> None:
    for name, schema in all_schemas().items():
        for where, prop in _properties(schema):
            if isinstance(prop, dict) and set(prop) != {"$ref"}:
                assert prop.get("description"), f"{name}{where} has no description"


def test_schemas_are_draft_07() -> None:
    from jsonschema import Draft7Validator

    for name, schema in all_schemas().items():
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        Draft7Validator.check_schema(schema)
        assert "$defs" not in json.dumps(schema), name


def test_every_code_is_documented_in_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code, (name, _) in CODES.items():
        assert f"| {code} | {name} |" in readme


def test_installed_console_script_and_module_entry() -> None:
    script = shutil.which("billrules")
    assert script, "the console script `billrules` is not installed"
    result = subprocess.run([script, "validate", str(REPO / "rules")], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    result = subprocess.run([sys.executable, "-m", "engine", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "validate" in result.stdout
