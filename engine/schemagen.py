"""Generate the JSON Schemas in `schemas/` from the pydantic models (one source of truth).

Draft-07 is the newest draft the common YAML language server understands, so the generated
schemas are rewritten into draft-07 form: `definitions` instead of `$defs`, no sibling keywords
beside `$ref` (draft-07 ignores them), and optional fields that do not admit `null`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
COMBINED = "rules.schema.json"


def _rewrite(node: Any) -> Any:
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _rewrite(value) for key, value in node.items()}
    variants = node.get("anyOf")
    if isinstance(variants, list) and {"type": "null"} in variants and "default" in node and node["default"] is None:
        # An omitted optional field is the only way to say "none": YAML `null` is refused.
        rest = [v for v in variants if v != {"type": "null"}]
        del node["anyOf"]
        node.pop("default")
        if len(rest) == 1:
            node = {**rest[0], **node}
        else:
            node["anyOf"] = rest
    if "$ref" in node and len(node) > 1:
        ref = node.pop("$ref")
        node["allOf"] = [{"$ref": ref}]
    return node


def kind_schema(kind: str, model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(ref_template="#/definitions/{model}")
    definitions = raw.pop("$defs", {})
    schema: dict[str, Any] = {"$schema": DRAFT_07, "$id": f"{kind}.schema.json"}
    schema.update(_rewrite(raw))
    schema["properties"]["kind"] = {"const": kind, "description": "Document kind."}
    if definitions:
        schema["definitions"] = {name: _rewrite(d) for name, d in sorted(definitions.items())}
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name → schema, for every rule-file kind, the combined rule-file schema and scenarios."""
    from engine.models import KINDS
    from engine.models.scenario import Scenario

    files = {f"{kind}.schema.json": kind_schema(kind, model) for kind, model in KINDS.items()}
    scenario = kind_schema("scenario", Scenario)
    scenario["properties"].pop("kind")
    scenario["$id"] = "scenario.schema.json"
    files["scenario.schema.json"] = scenario
    from engine.decision_schema import expectation_schema

    files["expectation.schema.json"] = expectation_schema(scenario)
    files[COMBINED] = _combined(files, list(KINDS))
    return files


def _combined(files: dict[str, dict[str, Any]], kinds: list[str]) -> dict[str, Any]:
    """One self-contained schema for any rule document, dispatching on `kind` (for editors)."""
    definitions: dict[str, Any] = {}
    branches = []
    for kind in kinds:
        schema = dict(files[f"{kind}.schema.json"])
        definitions.update(schema.pop("definitions", {}))
        for key in ("$schema", "$id"):
            schema.pop(key)
        definitions[f"kind:{kind}"] = schema
        branches.append(
            {
                "if": {"properties": {"kind": {"const": kind, "description": "Document kind."}}, "required": ["kind"]},
                "then": {"$ref": f"#/definitions/kind:{kind}"},
            }
        )
    return {
        "$schema": DRAFT_07,
        "$id": COMBINED,
        "title": "billrules rule document",
        "description": "Any billrules rule document; `kind` selects which fields apply.",
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"enum": kinds, "description": "What this document is."}},
        "allOf": branches,
        "definitions": dict(sorted(definitions.items())),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
