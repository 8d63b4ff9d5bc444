"""Read scenarios (YAML or JSON, one or several documents) into validated Scenario models.

Bad input never raises out of here: each problem is a Diagnostic naming the file, line, column
and the scenario field. An expectation file (`billrules test`) is a scenario with an `expect:`
section; `expect` is split off before the scenario is validated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from engine.diagnostics import Diagnostic, FieldDiagnostic, did_you_mean
from engine.load import Document, dotted, load_file


@dataclass
class ScenarioInput:
    """One scenario document: the validated model (or diagnostics) and its source."""

    document: Document | None
    scenario: Any = None
    expect: Any = None
    diagnostics: list[Diagnostic] = field(default_factory=list)


class ScenarioProblem(Exception):
    """A scenario that cannot be decided, for either reason below: what a caller of the Python API
    catches (until 2026-12-02 README named only `ScenarioError`, and a scenario without `as_of`
    raised the other, not exported). Both pickle and copy (a service deciding in a process pool
    gets the exception back, not a broken pool)."""

    code: str  # BR601, BR602, BR603, BR604, … (README "Diagnostic codes")
    field: str  # the scenario field, as analysts name it (`subscription.plan`), or ""
    message: str
    hint: str


class ScenarioInvalid(ScenarioProblem):
    """A scenario that breaks the scenario schema; `diagnostics` name every bad field (BR601,
    BR602, with their hints); `code`, `field`, `message` and `hint` are the first one's."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics
        first = diagnostics[0] if diagnostics else None
        self.code = first.code if first is not None else "BR602"
        self.field = str(getattr(first, "field_path", "") or "")
        self.message = first.message if first is not None else ""
        self.hint = first.hint if first is not None else ""

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.diagnostics,)


class ScenarioError(ScenarioProblem):
    """A scenario that cannot be decided (unknown product, wrong currency, ...)."""

    def __init__(
        self,
        field: str,
        message: str,
        hint: str = "",
        code: str = "BR603",
        *,
        also: Sequence[ScenarioError] = (),
        path: tuple[str | int, ...] | None = None,
        key: bool = False,
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.hint = hint
        self.code = code  # BR603 unless a more precise code applies (scenario credits: the rule-file codes)
        self.also = tuple(also)  # further problems found in the same check, reported with this one
        # the field's path when its text cannot say it (a mapping key holding `.` or digits), and
        # whether the problem is the key itself (located at the key, not its value)
        self.path = path
        self.key = key

    def __reduce__(self) -> tuple[Any, ...]:
        return _scenario_error, (
            type(self),
            self.field,
            self.message,
            self.hint,
            self.code,
            self.also,
            self.path,
            self.key,
        )

    @classmethod
    def of(cls, problems: Sequence[ScenarioError]) -> ScenarioError:
        """The first of several problems found in one check, carrying the others (`also`)."""
        first, *others = problems
        first.also = (*first.also, *others)
        return first


def _scenario_error(kind: type[ScenarioError], *args: Any) -> ScenarioError:
    """A `ScenarioError` rebuilt from its pickle (its keyword-only arguments given by name)."""
    field, message, hint, code, also, path, key = args
    return kind(field, message, hint, code, also=also, path=path, key=key)


def validate_scenario(data: Any, document: Document | None, file: str = "<scenario>") -> ScenarioInput:
    if type(data) is dict:  # the common case first: a well-formed JSON object, built directly
        facts, expect = data, None
        if "expect" in data:
            facts = dict(data)
            expect = facts.pop("expect")
        try:
            scenario = (_build or _builder())(facts)
        except Exception:  # the direct path cannot vouch for it: pydantic decides, and words the errors
            scenario = None
        if scenario is not None:
            return ScenarioInput(document, scenario, expect, [])
    return _validate(data, document, file)


def checked_scenario(data: Any) -> Any:
    """The `Scenario` of a mapping, what `RuleSet.decide` validates (`validate_scenario` without a
    document and without the record around its result: a billing run's or an API caller's hot
    path); raises `ScenarioInvalid` naming every bad field."""
    if type(data) is dict and "expect" not in data:
        try:
            return (_build or _builder())(data)
        except Exception:  # the direct path cannot vouch for it: pydantic decides, and words the errors
            checked = _validate(data, None, "<scenario>")
    else:
        checked = validate_scenario(data, None)
    if checked.diagnostics:
        raise ScenarioInvalid(checked.diagnostics)
    return checked.scenario


#: `engine.models._scenario_direct.scenario_builder()`, made on first use (it imports pydantic).
_build: Callable[[dict[str, Any]], Any] | None = None


def _builder() -> Callable[[dict[str, Any]], Any]:
    global _build
    from engine.models._scenario_direct import scenario_builder

    _build = scenario_builder()
    return _build


def _validate(data: Any, document: Document | None, file: str) -> ScenarioInput:
    """Pydantic's validation, and its errors as diagnostics (when the direct path could not vouch)."""
    from pydantic import ValidationError

    from engine.models.errors import field_errors
    from engine.models.scenario import Scenario

    result = ScenarioInput(document)
    if isinstance(data, Mapping) and not isinstance(data, dict):  # read as a dict, as its nested mappings are
        data = dict(data)
    if not isinstance(data, dict):
        result.diagnostics.append(
            _diagnostic(
                document,
                file,
                (),
                "BR601",
                "a scenario must be a mapping with `id` and `as_of`",
                "start it with `id:` and `as_of:`",
            )
        )
        return result
    data = dict(data)
    result.expect = data.pop("expect", None)
    try:
        result.scenario = Scenario.model_validate(data)
    except RecursionError:  # a Python value nested ~1,000 deep (until 2026-12-03 raised out of `decide`)
        for path in _too_deep_at(data):
            where = dotted(path) or "scenario"
            message = (
                f"scenario field `{where}`: nesting is too deep (over {DEEPEST_NESTING} levels of objects and arrays)"
            )
            result.diagnostics.append(_diagnostic(document, file, path, "BR107", message, "flatten the structure"))
    except UnicodeError:  # a text no encoder takes (an unpaired surrogate): at each place it is written
        for path in _not_unicode(data, ()):
            result.diagnostics.append(
                _diagnostic(
                    document,
                    file,
                    path,
                    "BR602",
                    f"scenario field `{dotted(path) or 'scenario'}`: the text holds a lone surrogate (not Unicode)",
                    "write the text as valid Unicode (UTF-8)",
                )
            )
        if not result.diagnostics:
            raise
    except ValidationError as exc:
        for error in field_errors(exc.errors(include_url=False), data):
            path = error.path
            where = dotted(path) or "scenario"
            code = "BR602"
            if error.type == "extra_forbidden" and path[-1] == "":
                inside = f"`{dotted(path[:-1])}`" if path[:-1] else "the scenario"
                message, hint = f"a field with an empty name in {inside}", "remove it"
            elif error.type == "extra_forbidden":
                siblings = _siblings(path) + (["expect"] if len(path) == 1 else [])  # (an expectation file's)
                # the other word first (`amount` on a consumption is its `quantity`, not `unit`,
                # which spelling alone suggests), then spelling, then what the other word says
                meant, otherwise = _other_word(str(path[-1]), siblings)
                hint = meant or did_you_mean(str(path[-1]), siblings) or otherwise or "remove it"
                message = f"unknown scenario field `{where}`"
            elif error.type == "missing":
                message, hint = f"scenario field `{where}` is required", f"add `{path[-1]}:`"
            elif error.type == "string_unicode" and isinstance(written := _written_at(data, path), bytes):
                # bytes that are not UTF-8 (a Parquet binary column, read a column a field): BR103, as
                # for a line or a `scenario` cell (until 2026-12-03 "a lone surrogate (not Unicode)")
                code, message = "BR103", f"scenario field `{where}`: {_not_utf8(written)}"
                hint = "write the text as UTF-8"
            elif error.type == "string_unicode":  # a lone surrogate in a text field: as in any other field
                message = f"scenario field `{where}`: the text holds a lone surrogate (not Unicode)"
                hint = "write the text as valid Unicode (UTF-8)"
            elif error.type == "date_from_datetime_inexact":
                message = f"scenario field `{where}`: a date, written with a time of day"
                hint = "write the date alone, like `2015-12-31`"
            elif error.type == "date_time_date_alone":
                # (until 2026-12-03 read as midnight UTC: a record of the day after `as_of` was counted)
                message = f"scenario field `{where}`: {error.message}"
                day = str(_written_at(data, path))  # (`2015-08-01`, or a Python date's)
                hint = f"write the time of day and the offset from UTC too, e.g. `{day}T00:00:00+02:00`"
            elif error.type == "date_time_too_fine":
                # (until 2026-12-03 cut to the microsecond: `…00.000000100Z` tied with `…00Z`, and
                # events at those times were applied in the order written, not in time order)
                message = f"scenario field `{where}`: {error.message}"
                hint = "write the time to the microsecond, with at most six decimals of the second"
            elif error.type in ("greater_than_equal", "money_below_zero") and path[:1] == ("usage",):
                # (until 2026-12-03 read: a record of -3 took 3 off a `sum` of the usage)
                shown = _shorten(str(_written_at(data, path)))
                message = f"scenario field `{where}`: `{shown}` is below zero (usage is what was used: 0 or more)"
                what = "the quantity used" if path[-1] == "quantity" else "the rated charge"
                hint = f"write {what}, 0 or more; leave a refund or a correction out of `usage`"
            elif error.type in ("string_too_long", "too_long") and isinstance(written := _written_at(data, path), str):
                # (pydantic's "Value should have at most 100 items after validation" for a code
                # of 101 characters, until 2026-12-04: an own id reads text after a before-validator)
                most = re.search(r"at most ([0-9]+)", error.message)
                limit = f"; at most {most.group(1)} are allowed" if most is not None else ""
                message = f"scenario field `{where}`: is {len(written):,} characters long{limit}"
                hint = "shorten it: a code or an id names a record, it does not describe it"
            elif error.type == "string_type" and _number_written(data, path):
                # a code of digits written as a YAML or JSON number (`coupons: [1042]`): say to quote it
                message = f"scenario field `{where}`: {error.message}"
                hint = f'write it in quotes, as text: "{_number_written(data, path)}" (a number loses leading zeros)'
            elif error.type in ("enum", "literal_error") and (meant := _choice_meant(data, path, error.message)):
                message, hint = f"scenario field `{where}`: {error.message}", meant
            elif "is not a number" in error.message and (alone := _number_with_unit(data, path)) is not None:
                # `quantity: 25 GB`: the unit is the field's own (as a rule file's hint says, BR205)
                message = f"scenario field `{where}`: {error.message}"
                hint = f"write the number alone: `{path[-1]}: {alone}` (the unit is the field's own)"
            elif path == ("id",) and error.type == "string_type":  # (pydantic: "a valid string")
                # the value as JSON writes it (until 2026-12-03 a mapping was Python's `{'a': 1}`)
                written = _written_at(data, path)
                try:
                    shown = f"`{_shorten(json.dumps(written, ensure_ascii=False, default=str))}`"
                except (TypeError, ValueError, RecursionError):  # a key JSON has no word for, deep nesting
                    # (until 2026-12-03 raised out of `decide`: TypeError, RecursionError)
                    shown = "a mapping" if isinstance(written, Mapping) else f"a {type(written).__name__}"
                message = f"scenario field `id`: an id is text or a whole number, not {shown}"
                hint = 'write it in quotes, as text: `id: "..."`'
            elif error.type in ("string_too_short", "too_short") and _written_at(data, path) == "":
                # (until 2026-12-03 pydantic's "String should have at least 1 character", or "Value
                # should have at least 1 item after validation, not 0", and "see schemas/…")
                message = f"scenario field `{where}`: empty text"
                hint = (
                    'give the scenario an id (text or a whole number): `id: "..."`'
                    if path == ("id",)
                    # an item of a list: remove it (until 2026-12-04 "write the 0, …", its index)
                    else "write a value, or remove the empty item"
                    if isinstance(path[-1], int)
                    else f"write the {path[-1]}, or leave the field out where it is optional"
                )
            elif (
                error.type in ("bool_type", "bool_parsing") and (yes_no := _yes_no(_written_at(data, path))) is not None
            ):
                # (a rule file's BR203 says it; a scenario's said "see schemas/…" until 2026-12-02)
                message = f"scenario field `{where}`: {error.message}"
                hint = f"write `{yes_no}` (YAML 1.2 reads `{_written_at(data, path)}` as text)"
            elif "white space around the digits" in error.message:  # (until 2026-12-03 taken: ` 10 ` read as 10)
                message = f"scenario field `{where}`: {error.message}"
                hint = "write the number alone, with no space, tab or line break around it"
            elif (clock := _clock_problem(_written_at(data, path))) is not None:
                message, hint = f"scenario field `{where}`: {clock[0]}", clock[1]
            else:
                message = f"scenario field `{where}`: {error.message}"
                hint = "see schemas/scenario.schema.json for the expected form"
            result.diagnostics.append(
                _diagnostic(document, file, path, code, message, hint, key=error.type == "extra_forbidden")
            )
    return result


#: the nesting a scenario's value may have: orjson's, which reads and writes a JSON line's
#: (`engine.run.evaluate`); a Python mapping is held to it too
DEEPEST_NESTING = 254


def _too_deep_at(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The fields of `data` holding a value nested past `DEEPEST_NESTING` levels: the scenario validated
    again with each such value cut at that depth, the fields that refuse the cut value."""
    from pydantic import ValidationError

    from engine.models.errors import field_errors
    from engine.models.scenario import Scenario

    cuts: list[tuple[Any, ...]] = []
    marker = object()  # (no field takes it)

    def cut(value: Any, path: tuple[Any, ...]) -> Any:
        if not isinstance(value, Mapping | list | tuple):
            return value
        if len(path) >= DEEPEST_NESTING:
            cuts.append(path)
            return marker
        if isinstance(value, Mapping):
            return {key: cut(item, (*path, key)) for key, item in value.items()}
        return [cut(item, (*path, i)) for i, item in enumerate(value)]

    shallow = cut(data, ())
    try:
        Scenario.model_validate(shallow)
    except ValidationError as exc:
        found = [e.path for e in field_errors(exc.errors(include_url=False), shallow)]
        at = [path for path in found if any(c[: len(path)] == path for c in cuts)]
        return at or [()]
    except Exception:  # (a model validator that cannot make sense of it)
        pass
    return [()]


def _not_utf8(written: bytes) -> str:
    """What in `written` is not UTF-8: its first such byte and where it is."""
    try:
        written.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the byte 0x{written[exc.start]:02x} (byte {exc.start + 1} of {len(written)}) is not UTF-8"
    return "the bytes are not UTF-8"  # (pydantic refused them: not expected)


def _shorten(text: str, most: int = 60) -> str:
    """`text` cut to `most` characters, the cut marked."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _yes_no(written: Any) -> str | None:
    """`true` or `false` for YAML 1.1's words (`yes`, `off`, …), else None."""
    from engine.schema import _YES_NO

    return _YES_NO.get(written.lower()) if isinstance(written, str) else None


#: a date-time's second and offset as written (`…T23:59:60+25:00`)
_CLOCK = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?(?:\.[0-9]+)?([+-][0-9]{2}:?[0-9]{2}|[Zz])?"
)


#: a date at the start of a value (`2015-02-29`, `2015-02-29T10:00:00Z`)
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _day_problem(written: str, year: int, month: int, day: int) -> tuple[str, str] | None:
    """(message, hint) for a date that is not in the calendar: year 0, a month past 12, a day its
    month does not have (`2015-02-29`); until 2026-12-03 pydantic's "day value is outside expected
    range" or "year 0 is out of range"."""
    import calendar

    if year == 0:
        return f"`{written}` has the year 0000; the calendar starts at 0001", "write a year from 0001 to 9999"
    if not 1 <= month <= 12:
        return f"`{written}` has the month {month:02d}, past 12", "write a month from 01 to 12"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        name = calendar.month_name[month]
        return f"`{written}` has the day {day:02d}, and {name} {year:04d} has {days} days", "write a day its month has"
    return None


def _clock_problem(written: Any) -> tuple[str, str] | None:
    """(message, hint) for a date-time pydantic refuses with "unexpected extra characters": a leap
    second (`23:59:60`), an offset past ±23:59 (`+25:00`), or an hour, minute or second past the
    clock's (`25:00`, `10:61`); None for anything else. Until 2026-12-02 (the clock's until
    2026-12-03) each was told "Input should be a valid datetime or date, unexpected extra
    characters at the end of the input"."""
    if not isinstance(written, str):
        return None
    day = _DAY.fullmatch(written.strip()) or _DAY.match(written.strip())
    if day is not None and (problem := _day_problem(written, *(int(part) for part in day.groups()))):
        return problem
    if written != written.strip() and (_CLOCK.fullmatch(written.strip()) or _DAY.fullmatch(written.strip())):
        return (  # (a trailing line break: until 2026-12-03 "unexpected extra characters")
            f"`{written.encode('unicode_escape').decode('ascii')}` has white space around it",
            f"write `{written.strip()}` alone",
        )
    found = _CLOCK.fullmatch(written.strip())
    if found is None:
        return None
    hour, minute, second, offset = found.group(1), found.group(2), found.group(3), found.group(4)
    for value, name, top in ((hour, "hour", 23), (minute, "minute", 59), (second, "second", 59)):
        if value is not None and int(value) > top and not (name == "second" and value == "60"):
            return (
                f"`{written}` has the {name} {value}, past {top}",
                "write a time of day from 00:00:00 to 23:59:59, e.g. `2015-06-15T10:00:00+01:00`",
            )
    if second == "60":
        return f"`{written}` has a second of 60 (a leap second), which no date-time here holds", "write `:59`"
    if offset is not None and offset[0] in "+-" and (int(offset[1:3]) > 23 or int(offset[-2:]) > 59):
        return f"`{written}` has the offset `{offset}`, past ±23:59", "write the offset from UTC, e.g. `+02:00`"
    return None


#: what `_written_at` gives for a path the data does not hold
_ABSENT = object()


def _written_at(data: Any, path: tuple[Any, ...]) -> Any:
    """The value at `path` of the data as written, or `_ABSENT` where it holds none."""
    value: Any = data
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return _ABSENT
    return value


def _number_with_unit(data: Any, path: tuple[Any, ...]) -> str | None:
    """The number of a value written as a number and a word (`25 GB`, `3 times`), when the field
    takes a number alone (its value as written, read from `data`), else None."""
    value = _written_at(data, path)
    if not isinstance(value, str) or not isinstance(path[-1], str):
        return None
    found = _NUMBER_AND_WORD.fullmatch(value.strip())
    if found is None:
        return None
    number = found.group(1)
    # the number alone must be what the field takes (not `2.5` for a whole number, nor `-2` for a
    # quantity of at least 1): the scenario validated again with it in place
    return number if _accepted_at(data, path, number) else None


def _accepted_at(data: Any, path: tuple[Any, ...], value: Any) -> bool:
    """Whether the scenario validates with `value` at `path` without an error there."""
    import copy

    from pydantic import ValidationError

    from engine.models.scenario import Scenario

    changed = copy.deepcopy(data)
    holder: Any = changed
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = value
    try:
        Scenario.model_validate(changed)
    except ValidationError as exc:
        return not any(tuple(e["loc"])[: len(path)] == tuple(path) for e in exc.errors(include_url=False))
    except Exception:  # (a model validator that cannot make sense of it)
        return False
    return True


#: a number followed by a word (`25 GB`, `2 boxes`)
_NUMBER_AND_WORD = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?) *[A-Za-z]+")


def _choice_meant(data: Any, path: tuple[Any, ...], message: str) -> str | None:
    """ "did you mean `monthly`?" for a misspelt choice (`billing_frequency: montly`), from the
    choices pydantic's message lists; None when the value written is not text or nothing is close
    (until 2026-12-02 a scenario's misspelt choice got no "did you mean", a rule file's did)."""
    value = _written_at(data, path)
    if not isinstance(value, str):
        return None
    choices = re.findall(r"'([^']*)'", message)
    return did_you_mean(value, choices) or did_you_mean(value.lower(), choices)


def _number_written(data: Any, path: tuple[Any, ...]) -> str:
    """The number at `path` of the data as written (its text, when the reader kept it), or ""."""
    value = _written_at(data, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    written = getattr(value, "text", None)
    if isinstance(written, str):
        return written
    if not isinstance(value, int):
        return ""  # (a float's text is not kept: not guessed)
    try:
        return str(value)
    except ValueError:  # past Python's 4,300 digits (until 2026-12-03 raised out of `decide`): no quoting hint
        return ""


def _not_unicode(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """The paths of the texts (keys or values) in `value` that UTF-8 cannot encode."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode()
            except UnicodeError:
                yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and next(_not_unicode(key, ()), None) is not None:
                yield (*path, key)
            else:
                yield from _not_unicode(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _not_unicode(item, (*path, i))


#: a field written with another word a tester may reach for (the rule files' word, another
#: record's word) → the fields it may mean, and the hint when none of them is a sibling
_OTHER_WORDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "main_service": (("main",), None),  # the catalog's and `discounted_products`' word
    "type": (("credit_type",), None),  # a scenario credit's `type`, a consumption's `credit_type`
    "date": (("on", "at", "from"), None),
    "applied_on": (("on",), None),
    "approved_by": (("by",), "an approval is a record of its own: `approvals: [{discount: CODE, by: USER}]`"),
    "approver": (("by",), "an approval is a record of its own: `approvals: [{discount: CODE, by: USER}]`"),
    "user": (("by",), None),  # an approval's approver
    "service": (("request",), None),  # seed 004's word for what a debit pays for
    "amount": (("quantity",), None),  # a consumption's count of offers or its amount
}


def _other_word(name: str, siblings: list[str]) -> tuple[str | None, str | None]:
    """For a field named with another word: "did you mean" the sibling it stands for, or else the
    word's own hint (each None when there is none)."""
    found = _OTHER_WORDS.get(name)
    if found is None:
        return None, None
    meant, otherwise = found
    field = next((f for f in meant if f in siblings), None)
    return (f"did you mean `{field}`?", None) if field is not None else (None, otherwise)


def _siblings(path: tuple[Any, ...]) -> list[str]:
    """Field names allowed next to an unknown one, for "did you mean"."""
    from pydantic import BaseModel

    from engine.models.scenario import Scenario

    model: Any = Scenario
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if info is None:
            return []
        annotation = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            inner = getattr(candidate, "__args__", (candidate,))
            found = next((t for t in (candidate, *inner) if isinstance(t, type) and issubclass(t, BaseModel)), None)
            if found is not None:
                model = found
                break
        else:
            return []
    return [info.alias or name for name, info in model.model_fields.items()]


#: the most characters of a scenario diagnostic's message or hint: a value it quotes is cut in the
#: middle past that (a 10 MB price was quoted whole, twice in a run's error record, until 2026-12-04)
_MOST_SAID = 1000


def _said(text: str) -> str:
    return text if len(text) <= _MOST_SAID else f"{text[: _MOST_SAID // 2]}…{text[-_MOST_SAID // 4 :]}"


def _diagnostic(
    document: Document | None, file: str, path: tuple[Any, ...], code: str, message: str, hint: str, key: bool = False
) -> Diagnostic:
    message, hint = _said(message), _said(hint)
    if document is not None:
        return document.diagnostic(path, code, message, hint, key=key)
    return FieldDiagnostic(file, 1, 1, code, message, hint, field_path=dotted(path))  # (the field: for the API)


def read_scenarios(path: Path) -> Iterator[ScenarioInput]:
    """Every scenario document in a YAML/JSON file (JSON is YAML, so one safe loader reads both),
    or every line of a JSON Lines file (`.jsonl`, `.ndjson`: SPEC 4), read as `billrules run`
    reads its lines."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):  # (`.JSONL` too, as `run` and `diff` read it)
        yield from _json_lines(path)
        return
    source = load_file(path)
    if suffix == ".json" and not any(d.code in _UNREAD for d in source.diagnostics):
        yield from _json_file(path, source)
        return
    if source.diagnostics and any(d.code != "BR109" for d in source.diagnostics):
        yield ScenarioInput(None, diagnostics=[_as_scenario_file(d, path) for d in source.diagnostics])
        return
    if source.diagnostics:  # documents that are no mapping: each reported in its place, the others read
        # (until 2026-12-02 one such document among several left every other one undecided and
        # unchecked)
        found = [(d.start.line, _file_scenario(d, source.display)) for d in source.documents]
        found += [(d.line, ScenarioInput(None, diagnostics=[_as_scenario_file(d, path)])) for d in source.diagnostics]
        for _, item in sorted(found, key=lambda pair: pair[0]):
            yield item
        return
    if not source.documents:
        yield ScenarioInput(
            None,
            diagnostics=[
                Diagnostic(
                    source.display,
                    1,
                    1,
                    "BR601",
                    "the file holds no scenario",
                    "write one scenario document with `id` and `as_of`",
                )
            ],
        )
        return
    for document in source.documents:
        yield _file_scenario(document, source.display)


#: the loader's findings on a file it could not read, or read past a limit (its size, its encoding, a
#: NUL, nesting, digits):
#: the same for a `.json` file, before any JSON is looked for
_UNREAD = {"BR100", "BR101", "BR102", "BR103", "BR107", "BR108", "BR116", "BR117"}
#: the loader's findings a JSON reader makes too, at their places: kept for a `.json` file
_ALSO_JSON = {"BR105", "BR120"}


def _json_file(path: Path, source: Any) -> Iterator[ScenarioInput]:
    """`read_scenarios` of a `.json` file: strict JSON (`_not_strict_json`), decided from the data
    JSON gives. The YAML loader's reading (with every value's line and column) is used when it is
    the same data; where YAML reads JSON otherwise — a raw NEL (U+0085) in a text is a line break
    to YAML, a tab before the first brace or a raw control character in a text is refused — the
    JSON's data is decided, its diagnostics at line 1, as a JSON line's are (until 2026-12-03 such
    a file was decided on YAML's values, or refused with YAML's words)."""
    from engine.files import FileProblem, read_limited
    from engine.load import MAX_FILE_BYTES
    from engine.run.evaluate import RecordDocument, parse_line

    try:
        raw = read_limited(path, MAX_FILE_BYTES)  # (the bytes once, for every reading below)
    except FileProblem as failure:  # (gone or changed since the loader read it)
        yield ScenarioInput(None, diagnostics=[failure.diagnostic(source.display)])
        return
    not_json = _not_strict_json(raw, source.display)
    if not_json is not None:
        yield ScenarioInput(None, diagnostics=[not_json])
        return
    if not source.diagnostics and not source.documents:  # (blank: no JSON value, and no scenario)
        message, hint = "the file holds no scenario", "write one scenario object with `id` and `as_of`"
        yield ScenarioInput(None, diagnostics=[Diagnostic(source.display, 1, 1, "BR601", message, hint)])
        return
    data, problem = parse_line(raw, source.display, 1)  # as a billing run reads it (numbers exact)
    if not source.diagnostics and len(source.documents) == 1:
        document = source.documents[0]
        if problem is not None or data == document.data:
            yield _file_scenario(document, source.display)
            return
    elif source.diagnostics and all(d.code in _ALSO_JSON for d in source.diagnostics):
        yield ScenarioInput(None, diagnostics=[_as_scenario_file(d, path) for d in source.diagnostics])
        return
    if problem is not None:  # (a file, not a line: "the file holds a JSON array, not a scenario object")
        message = problem.message.replace("the line holds", "the file holds")
        yield ScenarioInput(None, diagnostics=[replace(problem, message=message, column=max(problem.column, 1))])
        return
    checked = validate_scenario(data, RecordDocument(source.display, 1, data), source.display)
    checked.diagnostics = [replace(d, column=max(d.column, 1)) for d in checked.diagnostics]
    yield checked


def _not_strict_json(raw: bytes, display: str) -> Diagnostic | None:
    """Why a `.json` scenario file's bytes are not JSON (RFC 8259), or None. The YAML loader reads
    the file (JSON is YAML, and it keeps every value's line and column for the scenario's
    diagnostics), but YAML takes more than JSON: a trailing comma, single quotes, a `#` comment, a
    key without quotes. Such a file would be refused by every other JSON reader the scenario meets
    (a billing run reads its lines strictly); until 2026-12-03 `decide` read it as if it were JSON."""
    text = raw.decode("utf-8-sig", "replace")  # (the loader refused text that is not UTF-8)
    if not text.strip(" \t\r\n"):
        return None  # blank: no scenario (`_json_file`), rather than "not JSON"
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth" in exc.msg or _json_with_lone_surrogates(text):
            return None  # nesting: the loader's own limit; a lone surrogate: refused at its field
        return Diagnostic(
            display,
            max(exc.lineno, 1),
            max(exc.colno, 1),
            "BR601",
            f"the file is not JSON: {exc.msg}",
            "write strict JSON (no trailing comma, comment or single quote), or name the file `.yaml` to write YAML",
        )
    return None


def _json_with_lone_surrogates(text: str) -> bool:
    """Whether `text`, which orjson refuses, is JSON all the same: an escaped lone surrogate
    (`"\\ud800"`) is JSON's syntax, refused by orjson and by `_file_scenario` at its field."""
    try:
        json.loads(text, parse_constant=_refused)  # (`NaN` and `Infinity`, which it takes, are not JSON)
    except (ValueError, RecursionError):
        return False
    return True


def _refused(word: str) -> None:
    raise ValueError(word)


def _file_scenario(document: Document, display: str) -> ScenarioInput:
    """`validate_scenario` of a YAML or JSON file's document, whose double-quoted text may hold an
    escaped lone surrogate (`"\\ud800"`): refused at each place, BR602, as a field whose check
    meets it is (until 2026-12-02 a free text field kept it, and the decision's JSON held text no
    strict reader takes; a JSON Lines line is refused whole by its reader)."""
    checked = validate_scenario(document.data, document, display)
    if checked.scenario is None or not document.styles:  # (no quoted text: no escapes)
        return checked
    bad = list(_not_unicode(document.data, ()))
    if not bad:
        return checked
    return ScenarioInput(
        document,
        None,
        checked.expect,
        [
            _diagnostic(
                document,
                display,
                path,
                "BR602",
                f"scenario field `{dotted(path) or 'scenario'}`: the text holds a lone surrogate (not Unicode)",
                "write the text as valid Unicode (UTF-8)",
            )
            for path in bad
        ],
    )


def json_line_records(path: Path, display: str) -> Iterator[tuple[int, Any, Diagnostic | None]]:
    """(line number, its JSON value, or None and the diagnostic saying why) for each non-blank line
    of a JSON Lines file, read as `billrules run` reads them: streamed (no file-size limit; a line
    past the run's limit refused alone), each through the run's own line reader, so `decide`,
    `diff` and `validate --scenarios` refuse what `run` refuses, in the same words. A file that
    cannot be opened: one record, line 1, with the reader's diagnostic."""
    from engine.files import FileProblem, read_limited
    from engine.load import MAX_FILE_BYTES
    from engine.run.evaluate import MAX_LINE_BYTES, is_blank, parse_line

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        try:  # let the shared reader name the problem (permission denied, a folder, ...)
            read_limited(path, MAX_FILE_BYTES)
        except FileProblem as failure:
            yield 1, None, failure.diagnostic(display)
        return
    with handle:
        number = 0
        while line := handle.readline(MAX_LINE_BYTES + 2):
            number += 1
            rest = line
            while len(rest) > MAX_LINE_BYTES + 1 and not rest.endswith(b"\n"):  # skip an overlong line's rest
                rest = handle.readline(MAX_LINE_BYTES + 2)  # (its first piece is refused below)
            if is_blank(line):  # (byte order marks alone too, as `run` skips them)
                continue
            data, problem = parse_line(line, display, number)
            if problem is None:
                yield number, data, None
            else:
                column = max(problem.column, 1)
                yield number, None, Diagnostic(display, number, column, problem.code, problem.message, problem.hint)


def _json_lines(path: Path) -> Iterator[ScenarioInput]:
    """`read_scenarios` of a JSON Lines file: a scenario a line (`json_line_records`)."""
    from engine.load import display_path
    from engine.run.evaluate import RecordDocument

    display = display_path(path)
    found = False
    for number, data, problem in json_line_records(path, display):
        found = True
        if problem is not None:
            yield ScenarioInput(None, diagnostics=[problem])
            continue
        checked = validate_scenario(data, RecordDocument(display, number, data), display)
        # a line's field problems have no column of their own: 1, where an editor puts the cursor
        checked.diagnostics = [replace(d, column=max(d.column, 1)) for d in checked.diagnostics]
        yield checked
    if not found:
        yield ScenarioInput(
            None,
            diagnostics=[
                Diagnostic(display, 1, 1, "BR601", "the file holds no scenario", "write one scenario per line")
            ],
        )


def _as_scenario_file(d: Diagnostic, path: Path) -> Diagnostic:
    """A loader's diagnostic worded for a scenario file: the loader reads rule files too, and words
    a document that is no mapping (BR109) and a binary file (BR102) for them."""
    if d.code == "BR102" and d.message.startswith("binary file") and _gzipped(path):
        # (until 2026-12-03 "binary file … give a scenario file", though a billing run reads it
        # decompressed from a pipe: a hostile-input campaign of that day)
        return replace(
            d,
            line=1,  # the file as a whole, as a Parquet file's (until 2026-12-04 1:9, its first NUL)
            column=1,
            end_column=0,
            message="gzip-compressed data: a scenario file must be YAML, JSON or JSON Lines text",
            hint=f"decompress it (`zcat {d.file} > scenarios.jsonl`), or decide it in a billing run: "
            f"`zcat {d.file} | billrules run --input - --output decisions.jsonl`",
        )
    if d.code == "BR109":
        return replace(
            d,
            code="BR601",
            message="a scenario must be a mapping with `id` and `as_of`",
            hint="start it with `id:` and `as_of:`",
        )
    if d.code == "BR102" and d.message.startswith("binary file"):
        return replace(d, message="binary file: a scenario must be YAML or JSON text", hint="give a scenario file")
    if d.code == "BR102":  # UTF-16 or UTF-32 text: what it is and how to make it UTF-8, as for a rule file
        return replace(d, message=d.message.replace("rule files are UTF-8", "scenario files are UTF-8"))
    if d.code == "BR101" and d.hint == "split the rules into several files":
        return replace(
            d, hint="split the scenarios into several files, or write them one a line (JSON Lines, `.jsonl`)"
        )
    # the loader's words for rule files, said of a scenario file (until 2026-12-02 a tag in a
    # scenario was "not allowed in rule files")
    return replace(
        d,
        message=d.message.replace("rule files", "scenario files"),
        hint=d.hint.replace("rule files", "scenario files"),
    )


def _gzipped(path: Path) -> bool:
    """Whether the file starts with gzip's magic number."""
    try:
        with path.open("rb") as file:
            return file.read(2) == b"\x1f\x8b"
    except OSError:
        return False
