"""Stage 2 — schema: check each document against the JSON Schema of its kind.

These are the same files analysts' editors use (`schemas/`), so an editor and `billrules
validate` never disagree. jsonschema's errors are rewritten into analyst language and located
with the loader's spans.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, did_you_mean
from engine.load import Document, dotted
from engine.values import DURATION_PATTERN, MONEY_PATTERN

_PATTERN_MESSAGES = {
    MONEY_PATTERN: ("is not money", "write an amount and a currency code, e.g. `20.00 EUR`"),
    DURATION_PATTERN: ("is not a duration", "write a number and a unit, e.g. `6 months` or `14 days`"),
}
_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "nothing",
}


def schema_dir() -> Path:
    """The packaged schemas of an installed wheel, else `schemas/` of the source checkout."""
    packaged = Path(__file__).parent / "_schemas"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "schemas"


@cache
def _validator(kind: str) -> Any:
    """The validator of one kind, built once per process."""
    from jsonschema import Draft7Validator

    schema = json.loads((schema_dir() / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return Draft7Validator(inline_refs(schema), format_checker=Draft7Validator.FORMAT_CHECKER)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `{"$ref": "#/definitions/X"}` replaced by the definition itself.

    The same schema, validated a third faster: jsonschema resolves a `$ref` through its
    `referencing` registry on every use (every document, every list item). Draft-07 ignores the
    siblings of `$ref`, so a `$ref` object is replaced whole. A schema with another kind of
    reference, or a recursive definition, is returned unchanged.
    """
    definitions = schema.get("definitions", {})
    prefix = "#/definitions/"

    class _Keep(Exception):
        pass

    def inline(node: Any, expanding: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, expanding) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if ref is not None:
            name = ref[len(prefix) :] if isinstance(ref, str) and ref.startswith(prefix) else None
            if name is None or name not in definitions or name in expanding:
                raise _Keep
            return inline(definitions[name], (*expanding, name))
        return {key: value if key in _DATA_KEYWORDS else inline(value, expanding) for key, value in node.items()}

    try:
        inlined: dict[str, Any] = inline({k: v for k, v in schema.items() if k != "definitions"}, ())
    except _Keep:
        return schema
    if "definitions" in schema:
        inlined["definitions"] = definitions
    return inlined


#: keywords whose values are instance data, not subschemas (a `$ref` inside them is not a reference;
#: one left there, e.g. under a property named `default`, still resolves: `definitions` stays)
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})


def check_document(document: Document, kind: str) -> Iterator[Diagnostic]:
    """Yield a diagnostic for every schema violation in one document of a known kind."""
    validator = _validator(kind)
    for error in sorted(validator.iter_errors(document.data), key=lambda e: [str(p) for p in e.absolute_path]):
        yield from _diagnose(document, kind, error)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing"


def _diagnose(document: Document, kind: str, error: Any) -> Iterator[Diagnostic]:
    path = tuple(error.absolute_path)
    field = next((str(p) for p in reversed(path) if isinstance(p, str)), kind)
    where = dotted(path) or kind
    validator, instance, schema = error.validator, error.instance, error.schema
    if validator == "additionalProperties":
        known = list(schema.get("properties", {}))
        for extra in sorted(set(instance) - set(known)):
            hint = did_you_mean(extra, known) or f"allowed here: {', '.join(known)}"
            yield document.diagnostic((*path, extra), "BR201", f"unknown property `{extra}` in {where}", hint, key=True)
        return
    if validator == "required":
        missing = error.message.split("'")[1]
        yield document.diagnostic(
            path, "BR202", f"{where} is missing the required property `{missing}`", f"add `{missing}:`", key=True
        )
        return
    if validator == "type":
        wanted = error.validator_value
        wanted_names = " or ".join(
            _TYPE_NAMES.get(str(w), str(w)) for w in (wanted if isinstance(wanted, list) else [wanted])
        )
        pattern_hint = _PATTERN_MESSAGES.get(schema.get("pattern", ""), ("", ""))[1]
        yield document.diagnostic(
            path,
            "BR203",
            f"`{where}` must be {wanted_names}, not {_type_name(instance)}",
            pattern_hint or _describe(schema),
        )
        return
    if validator in ("enum", "const"):
        options = error.validator_value if validator == "enum" else [error.validator_value]
        names = [str(o) for o in options]
        hint = did_you_mean(str(instance), names) if isinstance(instance, str) else ""
        yield document.diagnostic(
            path,
            "BR204",
            f"`{instance}` is not a valid `{field}`: expected one of {', '.join(names)}",
            hint or f"use one of: {', '.join(names)}",
        )
        return
    if validator == "pattern":
        what, hint = _PATTERN_MESSAGES.get(
            error.validator_value, ("does not have the expected form", _describe(schema))
        )
        yield document.diagnostic(path, "BR205", f"`{instance}` {what} (in `{where}`)", hint)
        return
    if validator == "format":
        yield document.diagnostic(
            path,
            "BR205",
            f"`{instance}` is not a valid {error.validator_value} (in `{where}`)",
            "write dates as YYYY-MM-DD and date-times as YYYY-MM-DDTHH:MM:SS+00:00",
        )
        return
    if validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        yield from _diagnose(document, kind, best_match(error.context))
        return
    message = error.message.replace("'", "`") if len(error.message) < 120 else f"invalid value ({validator})"
    yield document.diagnostic(path, "BR206", f"`{where}`: {message}", _describe(schema))


def _describe(schema: dict[str, Any]) -> str:
    description = schema.get("description", "")
    return str(description)
