"""A readable field reference from a kind's JSON Schema: one row per field, references resolved.

`billrules schema --kind KIND` prints it (`--json` prints the raw schema): every field's dotted
path (`limit.per`, `products[].product`), its type as an analyst writes it (text, number,
money, a choice of values, a list of ...), whether it is required, its default, an example and
the description. Nested objects (a `$ref` to a definition, possibly behind `allOf`/`anyOf`) are
expanded in place so that the reader never has to chase a reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_MAX_DEPTH = 6  # definitions may refer to themselves (a criteria tree): stop expanding there


@dataclass(frozen=True)
class FieldRow:
    path: str
    type: str
    required: bool
    default: str
    example: str
    description: str


def field_rows(schema: dict[str, Any]) -> list[FieldRow]:
    """Every field of the schema, depth first, in the schema's order."""
    definitions = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    return list(_rows(schema, "", definitions, 0, ()))


def _resolve(node: dict[str, Any], definitions: dict[str, Any]) -> tuple[dict[str, Any], bool, str | None]:
    """(the node with `$ref`/`allOf` of one reference resolved, whether null is allowed, ref name)."""
    nullable = False
    name = None
    for _ in range(8):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**definitions.get(name, {}), **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        if "allOf" in node and len(node["allOf"]) == 1:
            node = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
            continue
        options = node.get("anyOf") or node.get("oneOf")
        if options:
            kept = [o for o in options if o.get("type") != "null"]
            nullable = nullable or len(kept) < len(options)
            if len(kept) == 1:
                node = {**kept[0], **{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}}
                continue
        break
    return node, nullable, name


def _type(node: dict[str, Any], definitions: dict[str, Any]) -> str:
    node, _, name = _resolve(node, definitions)
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        return _either(_type(o, definitions) for o in options if o.get("type") != "null")
    kind = node.get("type")
    if isinstance(kind, list):
        return _either(_plain_type({**node, "type": k}) for k in kind if k != "null")
    if kind == "array":
        return f"list of {_type(node.get('items', {}), definitions)}"
    if kind == "object" or "properties" in node:
        return f"mapping ({name})" if name else "mapping"
    return _plain_type(node)


def _either(types: Iterator[str]) -> str:
    # each once, in order, an option that is itself a choice split ("text or number" and "text")
    return " or ".join(dict.fromkeys(part for t in types for part in t.split(" or ")))


def _plain_type(node: dict[str, Any]) -> str:
    kind = node.get("type")
    pattern = node.get("pattern", "")
    if kind == "string":
        if pattern.strip("^$") == "[A-Z]{3}":
            return "currency code"
        if "[A-Z]{3}" in pattern:
            return "money"
        if "day" in pattern and "month" in pattern:
            return "duration"
        if node.get("format") in ("date", "date-time", "time"):
            return str(node["format"])
        if pattern.startswith("^[A-Za-z0-9][A-Za-z0-9_"):
            return "code"
        return "text"
    if kind == "integer":
        return "whole number"
    if kind == "number":
        return "number"
    if kind == "boolean":
        return "true/false"
    return str(kind or "any")


def _show(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _rows(
    node: dict[str, Any], prefix: str, definitions: dict[str, Any], depth: int, seen: tuple[str, ...]
) -> Iterator[FieldRow]:
    node, _, _ = _resolve(node, definitions)
    required = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        resolved, _, ref = _resolve(child, definitions)
        examples = child.get("examples") or resolved.get("examples") or []
        default = child.get("default", resolved.get("default"))
        yield FieldRow(
            path,
            _type(child, definitions),
            name in required,
            _show(default),
            _show(examples[0]) if examples else "",
            " ".join(str(child.get("description") or resolved.get("description") or "").split()),
        )
        if depth >= _MAX_DEPTH or (ref is not None and ref in seen):
            continue
        inner = {*seen, *([ref] if ref else [])}
        if resolved.get("type") == "array" or "items" in resolved:
            items, _, item_ref = _resolve(resolved.get("items", {}), definitions)
            if "properties" in items and (item_ref is None or item_ref not in seen):
                yield from _rows(
                    items, f"{path}[].", definitions, depth + 1, (*inner, *([item_ref] if item_ref else []))
                )
        elif "properties" in resolved:
            yield from _rows(resolved, f"{path}.", definitions, depth + 1, tuple(inner))


def render_table(kind: str, schema: dict[str, Any]) -> str:
    """The rows as a Markdown table (readable in a terminal, pasteable into a pull request)."""
    rows = field_rows(schema)
    header = ("field", "type", "required", "default", "example", "description")
    table = [
        header,
        *((r.path, r.type, "yes" if r.required else "", r.default, r.example, r.description) for r in rows),
    ]
    lines = [f"# {kind}", ""]
    description = " ".join(str(schema.get("description", "")).split())
    if description:
        lines += [description, ""]
    for i, row in enumerate(table):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        if i == 0:
            lines.append("|" + "|".join("---" for _ in row) + "|")
    return "\n".join(lines) + "\n"
