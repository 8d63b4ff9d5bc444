"""Reasons are data: why a decision came out as it did, as a record, worded only at the boundary.

An evaluator returns `Reason(code, facts, source)`: a stable code (`expired`, `used_up`, ...),
the facts it compared (actual and expected values, as plain JSON-ready data: text, numbers,
money and dates already rendered as text), and where the rule that decided lives. `--json`
carries the record; `billrules test` compares codes and facts; text and HTML word it with the
template registered for its code (`register`). A code without a template is still rendered
(its code and facts), so a forgotten template never hides a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.load import rule_file

#: A reason's words: a `str.format` template over its facts ("expired on {to}"), or a function of
#: the facts for words that depend on them (a list written out, an optional part).
Template = str | Callable[[Mapping[str, Any]], str]

#: code -> its template
_TEMPLATES: dict[str, Template] = {}


@dataclass(frozen=True)
class Source:
    """Where the deciding rule was written: file, 1-based line and column."""

    file: str
    line: int
    column: int

    def __post_init__(self) -> None:  # the rule file as decisions name it, wherever billrules runs
        file = rule_file(self.file)
        if file is not self.file:
            object.__setattr__(self, "file", file)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column}


def rule_source(rules: Any, kind: str, code: str, *path: str | int) -> Source | None:
    """Where a rule of the rule set is written (`kind`'s `code`, at `path` in its document), or
    None for a code it lacks; found once per rule set and kept beside it."""
    kept: dict[tuple[str | int, ...], Source | None] | None = rules.__dict__.get("_rule_sources")
    if kept is None:
        kept = rules.__dict__["_rule_sources"] = {}
    key = (kind, code, *path)
    if key not in kept:
        entry = rules.catalog.get(kind, {}).get(code)
        if entry is None:
            kept[key] = None
        else:
            document = entry.document
            span = document.locate(path)
            named = document.key_spans.get(tuple(path))
            if named is not None and named.line != span.line:  # a block list or mapping: its key's line
                span = named  # (its first entry is one rule among several, not the one that decided)
            kept[key] = Source(document.file, span.line, span.column)
    return kept[key]


@dataclass(frozen=True)
class Reason:
    """One reason: a stable code, the facts compared, and the rule's location (when one decided)."""

    code: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    source: Source | None = None
    #: the record (`record`), worked out when first written
    _json: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def words(self) -> str:
        """The reason in an analyst's words (the registered template, filled with the facts)."""
        template = _TEMPLATES.get(self.code)
        if template is not None:
            try:
                return template(self.facts) if callable(template) else template.format_map(self.facts)
            except (KeyError, IndexError, ValueError, TypeError):
                pass
        facts = ", ".join(f"{k} {v}" for k, v in self.facts.items())
        return f"{self.code.replace('_', ' ')}{': ' + facts if facts else ''}"

    def to_json(self) -> dict[str, Any]:
        """The record as data, with its words: deterministic key order, facts in insertion order.

        Worked out once per record (a record shared by decisions, e.g. a definition not effective
        on a date, is written many times); every call returns a fresh copy."""
        data = self.record()
        facts = {k: v if type(v) is str else _copy(v) for k, v in data["facts"].items()}
        return {**data, "facts": facts, **({"source": dict(data["source"])} if "source" in data else {})}

    def record(self) -> dict[str, Any]:
        """`to_json` without the copy: the one record kept on this reason, for a writer that
        serialises it at once and never changes it (`decision.decide_text`)."""
        try:
            data = self._json
        except AttributeError:  # (compiled, a field made by no `__init__` is unset until written)
            data = None
        if data is None:
            data = self.once()
            object.__setattr__(self, "_json", data)
        return data

    def once(self) -> dict[str, Any]:
        """`to_json` for a reason written once (made for one decision and dropped after it): the
        same fresh data, worked out without keeping a record on the reason to copy from."""
        data = {"code": self.code, "text": self.words(), "facts": _copy(self.facts)}
        if self.source is not None:
            data["source"] = self.source.to_json()
        return data


def _copy(value: Any) -> Any:
    """Facts as fresh JSON-ready data (a tuple becomes a list): a caller may change what it got."""
    kind = type(value)
    if kind is str or kind is int or value is None:
        return value
    if kind is dict:  # the usual facts: a dict of text (tested before the slower Mapping check)
        return {k: v if type(v) is str else _copy(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) is str else _copy(v) for v in value]
    return value


def listed(items: Any, none: str = "none") -> str:
    """Codes written out for words: "`a`, `b`", or `none` for no item."""
    return ", ".join(f"`{item}`" for item in items) if items else none


def register(templates: Mapping[str, Template]) -> None:
    """Add an evaluator's templates; a code may be registered once (codes are an interface)."""
    for code, template in templates.items():
        if _TEMPLATES.get(code, template) != template:
            raise ValueError(f"reason code `{code}` is registered twice with different words")
        _TEMPLATES[code] = template
