"""Static types of the criteria language."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Type:
    """A type: a scalar name, a set/list with an element type, or a record.

    `optional` marks a value that may be missing at run time; `currency` is known for money
    literals (and compared statically when both sides know theirs).
    """

    name: str
    elem: Type | None = None
    record: str | None = None
    currency: str | None = None
    optional: bool = False

    def __str__(self) -> str:
        return describe(self)

    def required(self) -> Type:
        return Type(self.name, self.elem, self.record, self.currency, False)

    def maybe(self) -> Type:
        return Type(self.name, self.elem, self.record, self.currency, True)


BOOL = Type("bool")
NUMBER = Type("number")
STRING = Type("string")
MONEY = Type("money")
PERCENT = Type("percent")
DATE = Type("date")
DATETIME = Type("datetime")
TIME = Type("time")
DURATION = Type("duration")
WEEKDAY = Type("weekday")

_NAMES = {
    "bool": "true/false",
    "number": "a number",
    "string": "text",
    "money": "money",
    "percent": "a percentage",
    "date": "a date",
    "datetime": "a date-time",
    "time": "a time of day",
    "duration": "a duration",
    "weekday": "a weekday",
    "empty": "an empty set",
}

ORDERED = {"number", "money", "percent", "date", "datetime", "time", "duration", "string"}


def describe(t: Type) -> str:
    if t.name == "money" and t.currency:
        return f"money in {t.currency}"
    if t.name == "set":
        return f"a set of {_plural(t.elem)}"
    if t.name == "list":
        return f"a list of {_plural(t.elem)}"
    if t.name == "record":
        return f"a {t.record} record"
    return _NAMES.get(t.name, t.name)


def _plural(t: Type | None) -> str:
    if t is None:
        return "values"
    text = describe(t)
    for article in ("a ", "an "):
        if text.startswith(article):
            text = text[len(article) :]
    if t.name == "record":
        return f"{t.record} records"
    return {"text": "texts", "money": "money amounts", "true/false": "true/false values"}.get(text, text + "s")


def set_of(elem: Type) -> Type:
    return Type("set", elem=elem.required())


def list_of(elem: Type) -> Type:
    return Type("list", elem=elem.required())


def record(name: str, optional: bool = False) -> Type:
    return Type("record", record=name, optional=optional)


def is_collection(t: Type) -> bool:
    return t.name in ("set", "list")


def compared_elements(left: Type, right: Type) -> Type:
    """The type of the values a set relation compares (`left` a collection; `right` one too, or an
    element), from whichever side knows it (an empty set does not)."""
    for side in (left, right):
        t = side.elem if is_collection(side) else side
        if t is not None and t.name != "empty":
            return t
    return Type("empty")


def compatible(a: Type, b: Type) -> bool:
    """Can values of these types be compared for equality / membership?"""
    if a.name == "empty" or b.name == "empty":
        return True
    if a.name != b.name:
        return False
    if a.name == "money":
        return a.currency is None or b.currency is None or a.currency == b.currency
    if a.name in ("set", "list"):
        return a.elem is None or b.elem is None or compatible(a.elem, b.elem)
    if a.name == "record":
        return a.record == b.record
    return True
