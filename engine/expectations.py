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

`reasons:` lists every reason of the decision (in any order), each one either

- a mapping `{code: product_missing, facts: {product: tv-premium}}`: a reason record with that
  code whose facts include the facts given (compared as above: only those written), so that
  rewording a message breaks no test; or
- words, `"expired on 2015-12-31"`: a reason whose words (`text`) are these; the words of a
  whole criteria section as they were before reasons named the failing condition,
  "criteria section `segments` does not hold" (or "criteria `when` does not hold"), stand for
  every failing condition of that section.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.load import Document, JsonPath

_KEYS = ("code", "line", "product", "request", "credit", "for", "term", "event", "owner", "user")


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
    if value is None:
        return "nothing"
    text = _text(value)  # `true`, as YAML and JSON write it, not Python's `True`
    return f"`{text if len(text) <= _SHOWN else text[: _SHOWN - 1] + '…'}`"


#: the most characters of a value a message shows (a whole term or list is thousands)
_SHOWN = 200


#: the decision's mappings keyed by currency (`total: {EUR: …}`), by their place under `expect:`:
#: there an empty mapping expects none, as `alerts: []` does in a list (until 2026-12-02 `total: {}`
#: checked nothing, and a test of a refused cancellation passed with a penalty charged)
PER_CURRENCY = frozenset({("discounts", "totals"), ("purchase", "price"), ("cancellation", "total")})


def compare(expected: Any, actual: Any, path: JsonPath = ("expect",)) -> Iterator[Mismatch]:
    if path == ("expect",) and not isinstance(expected, dict):
        yield Mismatch(
            path,
            expected,
            None,
            f"`expect:` is {_kind(expected)}; it holds the parts of the decision expected, as a mapping",
            f"write `expect:` as a mapping of the decision's parts: {', '.join(f'`{k}`' for k in actual) or 'none'}",
        )
        return
    if isinstance(actual, dict | list) and not isinstance(expected, dict | list):
        # (until 2026-12-02 the whole value was shown, thousands of characters of Python's repr)
        parts = ", ".join(f"`{k}`" for k in actual) if isinstance(actual, dict) else ""
        if actual == {}:  # (`total: null` against no total: it said "write the items to check, as a list")
            hint = f"write `{path[-1]}: {{}}` to expect none" if len(path) > 1 else "write `{}` to expect none"
        else:
            hint = f"write the {'keys to check: ' + parts if parts else 'items to check, as a list'}"
        yield Mismatch(
            path, expected, actual, f"expected {_show(expected)}, the decision has {_kind(actual)} here", hint
        )
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield Mismatch(
                path,
                expected,
                actual,
                f"expected a mapping, the decision has {_kind(actual)} here",
                "write the items expected as a list (`- {...}`)" if isinstance(actual, list) else "",
            )
            return
        if not expected and actual and path[1:] in PER_CURRENCY:
            shown = ", ".join(f"{k}: {_show(v)}" for k, v in actual.items())
            yield Mismatch(path, expected, actual, f"expected none, the decision has {shown}")
            return
        for key, value in expected.items():
            if key not in actual:
                from engine.diagnostics import did_you_mean

                hint = did_you_mean(str(key), [str(k) for k in actual]) or (
                    f"the decision has here: {', '.join(f'`{k}`' for k in actual) or 'nothing'}"
                )
                yield Mismatch((*path, key), value, None, f"the decision has no `{key}`", hint)
                continue
            if key in _EVERY and isinstance(value, list) and isinstance(actual[key], list) and value:
                found = list(_compare_reasons(value, actual[key], (*path, key), key))
            elif key in _ORDERED and isinstance(value, list) and isinstance(actual[key], list):
                found = list(_compare_list(value, actual[key], (*path, key), ordered=True))
            else:
                found = list(compare(value, actual[key], (*path, key)))
            if key == "status" and found and isinstance(actual.get("reasons"), list):
                reasons = tuple(f"  because: {_reason_text(r)}" for r in actual["reasons"])
                found = [Mismatch(m.path, m.expected, m.actual, m.note, m.hint, reasons) for m in found]
            yield from found
        return
    if isinstance(expected, list):
        if not isinstance(actual, list):
            yield Mismatch(
                path,
                expected,
                actual,
                f"expected a list, the decision has {_kind(actual)} here",
                "write the keys expected as a mapping" if isinstance(actual, dict) else "",
            )
            return
        yield from _compare_list(expected, actual, path)
        return
    if isinstance(expected, bool) != isinstance(actual, bool):  # `"true"` is text, not yes/no
        said = isinstance(expected, str) and expected.strip().lower() in ("true", "false")
        yield Mismatch(
            path,
            expected,
            actual,
            f"expected {_show(expected)}{' (text)' if isinstance(expected, str) else ''}, "
            f"the decision has {_show(actual)} here",
            f"write `{expected.strip().lower()}` without quotes" if said else "",
        )
        return
    if isinstance(expected, str) and (actual is None or isinstance(actual, int | float)):
        # quoted text is text: `"null"` is not the decision's null, nor `"1"` its number 1 (until
        # 2026-12-03 both passed, compared by their text, while `"true"` already failed)
        meant = _unquoted(expected, actual)
        yield Mismatch(
            path,
            expected,
            actual,
            f"expected {_show(expected)} (text), the decision has {_show(actual)} here",
            f"write `{meant}` without quotes" if meant else "",
        )
        return
    if expected is None and isinstance(actual, str):  # (YAML's null is not the text `"null"`)
        yield Mismatch(path, expected, actual)
        return
    if _text(expected) != _text(actual) and not _same_value(expected, actual):
        yield Mismatch(path, expected, actual, hint=_currency_hint(expected, actual))


def _unquoted(expected: str, actual: Any) -> str:
    """What quoted text would be written without quotes to mean the decision's number or null
    (`"1"` → `1`), or nothing when it means something else."""
    words = expected.strip()
    if actual is None:
        return "null" if words in ("null", "Null", "NULL", "~") else ""
    return _text(actual) if _same_value(actual, words) else ""


def _currency_hint(expected: Any, actual: Any) -> str:
    """An amount expected without the currency the decision's money has (`140` against `140.00
    EUR`): say to write it (the mismatch alone read as a wrong amount)."""
    from decimal import Decimal, InvalidOperation

    from engine.values import Money

    try:
        money = Money.written(_text(actual).strip())
    except (ValueError, InvalidOperation):
        return ""
    written = _text(expected).strip().split()
    if len(written) == 2 and written[1] != money.currency:  # `28.49 EUX` against `28.49 EUR`
        from engine.currencies import MINOR_UNITS
        from engine.values import nearest_currency

        code = written[1].upper()
        if code not in MINOR_UNITS:
            near = nearest_currency(code, list(MINOR_UNITS))
            meant = f"; did you mean `{near}`?" if near else ""
            return f"`{written[1]}` is no ISO 4217 currency code{meant}"
        return ""
    try:
        number = Decimal(_text(expected).strip())
    except (ValueError, InvalidOperation):
        return ""
    if isinstance(expected, bool) or not number.is_finite():
        return ""
    same = number == money.amount
    if same:  # written as the decision writes it (YAML reads `3.00` as the number 3.0)
        number = money.amount
    else:
        try:  # `2.5` → `2.50` beside `3.00` (a number too large to quantize is shown as it is)
            if number == number.quantize(money.amount, rounding="ROUND_DOWN"):
                number = number.quantize(money.amount)
        except InvalidOperation:
            pass
    kind = "the same amount" if same else "an amount"
    return f"money is written with its currency: {kind} in {money.currency} is `{number} {money.currency}`"


#: lists whose every item the expectation lists (as reasons are): alerts are reason records
_EVERY = ("reasons", "alerts")

#: lists whose order is the decision's meaning: credits drawn in precedence order, a ledger in
#: time order. An expectation may list some of their items, but in the decision's order.
_ORDERED = ("allocations", "ledger")


def _same_value(expected: Any, actual: Any) -> bool:
    """Money written differently (`20 EUR` and `20.00 EUR`), or a number the expectation writes as
    a YAML number (`-15.00` for `-15`); text of digits stays text (`"0042"` is not `42`)."""
    from decimal import Decimal, InvalidOperation

    from engine.values import Money

    if isinstance(expected, bool) or isinstance(actual, bool):
        return False
    a, b = _text(expected).strip(), _text(actual).strip()
    if isinstance(expected, int | float | Decimal):
        try:
            return Decimal(a) == Decimal(b)
        except (InvalidOperation, ValueError):
            return False
    try:
        x, y = Money.written(a), Money.written(b)
    except ValueError:
        return False
    return x.currency == y.currency and x.amount == y.amount


def _compare_list(expected: list[Any], actual: list[Any], path: JsonPath, ordered: bool = False) -> Iterator[Mismatch]:
    if not expected:  # `alerts: []` means "none": an empty expectation is not "anything"
        if actual:  # (what it has, named: until 2026-12-04 only "the decision has 1")
            yield Mismatch(path, expected, actual, f"expected none, the decision has {len(actual)}: {_listed(actual)}")
        return
    key = next((k for k in _KEYS if expected and all(isinstance(e, dict) and k in e for e in expected)), None)
    # (an ordered list, allocations or a ledger, is compared in order when its items name no key)
    keys = (key,) if key is not None else () if ordered else _identifying(actual)
    if key is None and keys and all(isinstance(e, dict) for e in expected):
        # items matched by what names them, each by the key it gives (`line` or `product`); one
        # that names none is a mistake, not a place in the list (until 2026-12-02 such a list was
        # compared item by item: `[{status: applied}]` passed when the first definition was applied)
        key = keys[0]
    else:
        keys = (key,) if key is not None else ()
    if key is None:
        if [_text(e) for e in expected] != [_text(a) for a in actual] and not all(
            isinstance(e, dict) for e in expected
        ):
            if actual and all(isinstance(a, dict) for a in actual):  # (a whole term is no `5`)
                yield Mismatch(
                    path,
                    expected,
                    actual,
                    f"expected {_show(expected)}, the decision has a list of {_counted(len(actual), 'mapping')} here",
                    "write each item expected as a mapping of the keys to check",
                )
                return
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
    last = -1  # an ordered list's last matched item
    indexes: dict[str, dict[str, list[int]]] = {}  # per key, the decision's items by its text, in order
    for i, item in enumerate(expected):
        key = next((k for k in keys if k in item), "")
        if not key:
            listed = ", ".join(dict.fromkeys(str(a.get(keys[0])) for a in actual if isinstance(a, dict))) or "none"
            named = " or ".join(f"`{k}`" for k in keys)
            yield Mismatch(
                (*path, i),
                item,
                None,
                f"this item names no {named}: the decision's items here are matched by it",
                f"add `{keys[0]}:` (the decision has: {listed})",
            )
            continue
        by_key = indexes.get(key)
        if by_key is None:
            by_key = indexes[key] = {}
            for j, a in enumerate(actual):
                if isinstance(a, dict):
                    by_key.setdefault(_text(a.get(key)), []).append(j)
        # the items with that key (several may share it: a request's allocations), the one every
        # written value matches first; an ordered list's items after the last one matched
        same = [j for j in by_key.get(_text(item[key]), ()) if j not in used]
        later = [j for j in same if j > last] if ordered else same
        match = next((j for j in later if not list(compare(item, actual[j], (*path, i)))), None)
        if match is None and ordered and any(not list(compare(item, actual[j], (*path, i))) for j in same):
            order = ", ".join(_item_words(a) for a in actual)
            yield Mismatch(
                (*path, i),
                item,
                None,
                f"out of order: the decision has this item before the one expected above it (its order: {order})",
                "list the items in the decision's order",
            )
            return
        if match is None and ordered and same and not later:  # its item is before the one matched above
            order = ", ".join(_item_words(a) for a in actual)
            yield Mismatch(
                (*path, i, key),
                item[key],
                None,
                f"the decision's item with {key} `{item[key]}` comes before the item expected above it "
                f"(its order: {order})",
                "list the items in the decision's order",
            )
            continue
        if match is None and later:  # the nearest: the one with that key differing least, and what differs
            match = min(later, key=lambda j: len(list(compare(item, actual[j], (*path, i)))))
        if match is None and not same and by_key.get(_text(item[key])):  # every item with that key matched above
            count = len(by_key[_text(item[key])])
            items = "one item" if count == 1 else f"{count} items"
            yield Mismatch(
                (*path, i, key),
                item[key],
                None,
                f"{key} `{item[key]}` is expected again, but the decision has only {items} with it (matched above)",
                "expect each item once",
            )
            continue
        if match is None and actual and not any(isinstance(a, dict) and key in a for a in actual):
            yield _no_such_key(item[key], actual, (*path, i, key), key)
            continue
        if match is None:
            from engine.diagnostics import did_you_mean

            names = [_text(a[key]) for a in actual if isinstance(a, dict) and key in a]
            yield Mismatch(
                (*path, i, key),
                item[key],
                None,
                f"no item with {key} {_show(item[key])} in the decision (it has: {', '.join(names) or 'none'})",
                did_you_mean(str(item[key]), names) or "",
            )
            continue
        used.add(match)
        last = match
        yield from compare(item, actual[match], (*path, i))


def _no_such_key(value: Any, actual: list[Any], path: JsonPath, key: str) -> Mismatch:
    """An item matched by a key the decision's items here do not have (a purchase's lines by `line`):
    say so, and name what they are matched by (until 2026-12-03 "(it has: None)", Python's `None`
    for each)."""
    by = _identifying(actual)
    if by:
        names = ", ".join(dict.fromkeys(_text(a[by[0]]) for a in actual))
        return Mismatch(
            path,
            value,
            None,
            f"no item with {key} {_show(value)} in the decision: its items here have no `{key}`, "
            f"they are matched by `{by[0]}` (it has: {names})",
            f"write `{by[0]}:` instead of `{key}:`",
        )
    keys = ", ".join(f"`{k}`" for k in dict.fromkeys(k for a in actual if isinstance(a, dict) for k in a))
    return Mismatch(
        path,
        value,
        None,
        f"no item with {key} {_show(value)} in the decision: its items here have no `{key}` "
        f"(their keys: {keys or 'none'})",
    )


def _kind(value: Any) -> str:
    """What a value is, in a few words (`a mapping`, `a list of 3 items`, `` `applied` ``)."""
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    return _show(value)


def _identifying(actual: list[Any]) -> tuple[str, ...]:
    """The keys (of `_KEYS`) every item of a decision's list carries: what its items are matched by."""
    if not actual or not all(isinstance(a, dict) for a in actual):
        return ()
    return tuple(k for k in _KEYS if all(k in a for a in actual))


#: the keys that name an item of a decision's list when a message lists what the decision has
_NAMING = (*_KEYS, "type", "status", "quantity")

#: the most items of a decision's list a message names (the rest are counted)
_LISTED = 5


def _listed(items: list[Any]) -> str:
    """A decision's items, named as the other messages name them: a reason or an alert by its
    words, another item by its request, credit, event (…) and quantity: `request `R2` quantity `2``;
    the first `_LISTED`, and how many more."""
    shown = "; ".join(_item_named(a) for a in items[:_LISTED])
    rest = len(items) - _LISTED
    return shown + (f"; and {rest} more" if rest > 0 else "")


def _item_named(item: Any) -> str:
    if isinstance(item, dict) and "text" in item:
        return _show(_reason_text(item))
    if isinstance(item, dict) and any(k in item for k in _NAMING):
        words = " ".join(f"{k} `{_text(item[k])}`" for k in item if k in _NAMING)
        return words if len(words) <= _SHOWN else words[: _SHOWN - 1] + "…"
    return _show(item)


def _counted(count: int, noun: str) -> str:
    """`1 mapping`, `2 mappings` (until 2026-12-04 "1 mapping(s)")."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _item_words(item: Any) -> str:
    """An item of an ordered list in a few words: `credit-a 3`."""
    if not isinstance(item, dict):
        return _text(item)
    return " ".join(_text(v) for k, v in item.items() if k in ("credit", "event", "request", "quantity", "type"))


_SECTION_WORDS = re.compile(r"criteria (?:section `(\w+)`|`(when)`) does not hold")


def _compare_reasons(
    expected: list[Any], actual: list[Any], path: JsonPath, what: str = "reasons"
) -> Iterator[Mismatch]:
    """Every expected reason (or alert) matches its own of the decision, and the decision has no other."""
    from engine.decide.why import CONDITION_CODES

    noun = what[:-1]  # a reason, an alert (until 2026-12-04 an alert was called a "reason" here)
    used: set[int] = set()
    matched: set[int] = set()  # of `used`, those an expectation matched (not only came nearest to)
    for i, item in enumerate(expected):
        free = [j for j in range(len(actual)) if j not in used]
        if isinstance(item, dict):
            same_code = [
                j
                for j in free
                if isinstance(actual[j], dict) and _text(actual[j].get("code")) == _text(item.get("code"))
            ]
            match = next((j for j in same_code if not list(compare(item, actual[j], (*path, i)))), None)
            if match is None:
                if same_code:  # the nearest: the first with that code, and what differs
                    yield from compare(item, actual[same_code[0]], (*path, i))
                    used.add(same_code[0])
                else:
                    code = _text(item.get("code"))
                    taken = [j for j in used if isinstance(actual[j], dict) and _text(actual[j].get("code")) == code]
                    how = "matched" if all(j in matched for j in taken) else "compared"
                    message = (  # (until 2026-12-02 "no reason with code X (it has: X: …)")
                        f"{noun} code {_show(item.get('code'))} is expected again, but the decision has only "
                        f"{len(taken)} with it ({how} above)"
                        if taken
                        else f"no {noun} with code {_show(item.get('code'))} in the decision (it has: {_codes(actual)})"
                    )
                    yield Mismatch(
                        (*path, i, "code") if "code" in item else (*path, i), item.get("code"), None, message
                    )
                continue
            used.add(match)
            matched.add(match)
            continue
        words = _text(item)
        match = next((j for j in free if _reason_text(actual[j]) == words), None)
        if match is not None:
            used.add(match)
            continue
        section = _SECTION_WORDS.fullmatch(words)
        group = [
            j
            for j in free
            if section is not None
            and isinstance(actual[j], dict)
            and actual[j].get("code") in CONDITION_CODES
            and actual[j].get("facts", {}).get("section") == (section.group(1) or section.group(2))
        ]
        if group:
            used.update(group)
            continue
        yield Mismatch((*path, i), item, None, f"no {noun} `{words}` in the decision (it has: {_codes(actual)})")
    extra = [actual[j] for j in range(len(actual)) if j not in used]
    if extra:
        yield Mismatch(
            path,
            expected,
            actual,
            f"the decision has {len(extra)} more {noun if len(extra) == 1 else what} than expected: "
            + "; ".join(f"`{_reason_text(r)}`" for r in extra),
            f"list every {noun}, as words or as `{{code: ..., facts: {{...}}}}`",
        )


def _codes(reasons: list[Any]) -> str:
    shown = [f"{r.get('code')}: {_reason_text(r)}" if isinstance(r, dict) else _reason_text(r) for r in reasons]
    return "; ".join(shown) or "none"


def _reason_text(reason: Any) -> str:
    """A reason of the decision, as words: a reason record's `text`, or the reason itself."""
    if isinstance(reason, dict) and "text" in reason:
        return str(reason["text"])
    return str(reason)


def _text(value: Any) -> str:
    """A value as YAML and JSON write it (`true`, `null`, `["a"]`), never Python's `True`, `None`
    or `['a']` (until 2026-12-02 `null` read as `None`, and a mapping in Python's repr)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def mismatch_location(document: Document | None, mismatch: Mismatch) -> tuple[int, int]:
    if document is None:
        return 1, 1
    # a key the decision does not have is marked at the key (`cancelation:`), not at its value,
    # which a block mapping writes on the lines below (until 2026-12-02 the caret sat under them)
    missing = mismatch.actual is None and mismatch.note.startswith("the decision has no ")
    span = document.locate(mismatch.path, key=missing)
    return span.line, span.column
