"""Pydantic validation errors in terms of the data the analyst wrote.

Pydantic names the member of a union that failed in an error's location (`value.str`,
`value.function-before[_parse_decimal(), decimal]`) and reports one error per member. Analysts
wrote `value:`; they get one error at that field, preferring the message billrules' own
validators wrote (`` `1e30` is too large: ... ``) over pydantic's generic ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    path: tuple[str | int, ...]
    type: str
    message: str


def field_errors(errors: list[Any], data: Any) -> list[FieldError]:
    """`ValidationError.errors()` with union tags removed from each path, one error per field."""
    found: dict[tuple[str | int, ...], list[FieldError]] = {}
    for error in errors:
        path = _data_path(tuple(error["loc"]), data, missing=error["type"] == "missing")
        message = _words(error) or str(error["msg"]).removeprefix("Value error, ")
        found.setdefault(path, []).append(FieldError(path, error["type"], message))
    out: list[FieldError] = []
    for items in found.values():
        own = [e for e in items if e.type == "value_error"]
        chosen = own or items
        out.extend(chosen if len(chosen) == 1 or own else chosen[:1])
    return out


#: pydantic's bounds in an analyst's words (its own: "Input should be greater than 0")
_BOUNDS = {
    "greater_than": ("gt", "must be more than {}"),
    "greater_than_equal": ("ge", "must be at least {}"),
    "less_than": ("lt", "must be less than {}"),
    "less_than_equal": ("le", "must be at most {}"),
}


def _words(error: Any) -> str | None:
    """pydantic's message for a bound or a time of day, in the words the rest of billrules uses."""
    kind, context = error["type"], error.get("ctx") or {}
    if kind in _BOUNDS and _BOUNDS[kind][0] in context:
        key, words = _BOUNDS[kind]
        return words.format(context[key])
    if kind in ("time_parsing", "time_type"):
        return "is not a time of day: write it like `22:00` or `22:00:00`, hours from 00 to 23"
    return None


def did_you_mean_of(message: str) -> tuple[str, str | None]:
    """A message carrying its own "did you mean" (a validator's), as (message, that hint)."""
    head, found, tail = message.partition("; did you mean ")
    return (head, f"did you mean {tail}") if found else (message, None)


def _data_path(loc: tuple[Any, ...], data: Any, missing: bool) -> tuple[str | int, ...]:
    """The steps of `loc` that exist in `data` (a missing field keeps its last step)."""
    path: list[str | int] = []
    current = data
    for i, step in enumerate(loc):
        if _has(current, step):
            current = current[step]
        elif (missing or not isinstance(current, dict | list)) and i == len(loc) - 1 and not _is_tag(step):
            pass  # a missing field, or a step into a value that is not a container
        else:
            continue  # a union member's tag, e.g. `str` or `function-before[...]`
        path.append(step)
    return tuple(path)


def _has(container: Any, step: Any) -> bool:
    if isinstance(container, dict):
        return step in container
    return isinstance(container, list) and isinstance(step, int) and 0 <= step < len(container)


def _is_tag(step: Any) -> bool:
    return isinstance(step, str) and ("[" in step or step in {"str", "int", "float", "decimal", "bool"})
