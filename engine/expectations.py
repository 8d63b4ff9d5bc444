"""Analysts' expected outcomes: compare the parts of a decision they care about.

An expectation file is a scenario with an `expect:` section holding part of the decision:

    expect:
      discounts:
        definitions:
          - {code: complaint-discount, status: pending_approval}
        lines:
          - {product: tv-essentials, net: 29.99 EUR}

Mappings match when every expected key matches; lists of definitions match by `code` and lines
by `line` (or `product`) — only the expected items are checked; other values compare as text.
Every mismatch names the place in the expectation file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.load import Document, JsonPath

_KEYS = ("code", "line", "product", "request", "credit", "for", "term")


@dataclass(frozen=True)
class Mismatch:
    path: JsonPath  # in the expectation file (starting at `expect`)
    expected: Any
    actual: Any
    note: str = ""
    hint: str = ""
    context: tuple[str, ...] = ()  # lines that help read it, e.g. the decision's reasons for a status

    def render(self) -> str:
        if self.note:
            return self.note
        return f"expected {_show(self.expected)}, got {_show(self.actual)}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"`{value}`"
    if value is None:
        return "nothing"
    return f"`{value}`"


def compare(expected: Any, actual: Any, path: JsonPath = ("expect",)) -> Iterator[Mismatch]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield Mismatch(path, expected, actual, f"expected a mapping, got {_show(actual)}")
            return
        for key, value in expected.items():
            if key not in actual:
                from engine.diagnostics import did_you_mean

                hint = did_you_mean(str(key), [str(k) for k in actual]) or (
                    f"the decision has here: {', '.join(f'`{k}`' for k in actual) or 'nothing'}"
                )
                yield Mismatch((*path, key), value, None, f"the decision has no `{key}`", hint)
                continue
            found = list(compare(value, actual[key], (*path, key)))
            if key == "status" and found and isinstance(actual.get("reasons"), list):
                reasons = tuple(f"  because: {_reason_text(r)}" for r in actual["reasons"])
                found = [Mismatch(m.path, m.expected, m.actual, m.note, m.hint, reasons) for m in found]
            yield from found
        return
    if isinstance(expected, list):
        if not isinstance(actual, list):
            yield Mismatch(path, expected, actual, f"expected a list, got {_show(actual)}")
            return
        yield from _compare_list(expected, actual, path)
        return
    if _text(expected) != _text(actual):
        yield Mismatch(path, expected, actual)


def _compare_list(expected: list[Any], actual: list[Any], path: JsonPath) -> Iterator[Mismatch]:
    if not expected:  # `alerts: []` means "none": an empty expectation is not "anything"
        if actual:
            yield Mismatch(path, expected, actual, f"expected none, the decision has {len(actual)}")
        return
    key = next((k for k in _KEYS if expected and all(isinstance(e, dict) and k in e for e in expected)), None)
    if key is None:
        if [_text(e) for e in expected] != [_text(a) for a in actual] and not all(
            isinstance(e, dict) for e in expected
        ):
            yield Mismatch(path, expected, actual)
            return
        for i, item in enumerate(expected):
            if i >= len(actual):
                yield Mismatch(
                    (*path, i), item, None, f"expected an item #{i + 1}, the decision has only {len(actual)}"
                )
            else:
                yield from compare(item, actual[i], (*path, i))
        return
    used: set[int] = set()
    for i, item in enumerate(expected):
        match = next(
            (
                j
                for j, a in enumerate(actual)
                if j not in used and isinstance(a, dict) and _text(a.get(key)) == _text(item[key])
            ),
            None,
        )
        if match is None:
            known = ", ".join(str(a.get(key)) for a in actual if isinstance(a, dict))
            yield Mismatch(
                (*path, i, key),
                item[key],
                None,
                f"no item with {key} `{item[key]}` in the decision (it has: {known or 'none'})",
            )
            continue
        used.add(match)
        yield from compare(item, actual[match], (*path, i))


def _reason_text(reason: Any) -> str:
    """A reason of the decision, as words: a reason record's `text`, or the reason itself."""
    if isinstance(reason, dict) and "text" in reason:
        return str(reason["text"])
    return str(reason)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mismatch_location(document: Document | None, mismatch: Mismatch) -> tuple[int, int]:
    if document is None:
        return 1, 1
    span = document.locate(mismatch.path)
    return span.line, span.column
