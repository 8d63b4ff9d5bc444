"""Scenarios built directly from well-formed JSON objects, without pydantic's validator.

Every decision and every line of a billing run validates its scenario. `build_scenario(data)`
checks the common, well-formed shape in plain Python and builds the instances as
`Scenario.model_validate` does: the same values of the same types, the same `model_fields_set`,
each model's after-validators run. Its code is generated once, from the models' own field
declarations (the models stay the single source of the format): one straight-line function for
the whole scenario, nested models inlined, as the criteria compiler does for rules.

It accepts only what it can vouch for: a plain `dict` with the fields' aliases as keys; exact
`str`, `int`, `bool`, `list` and `dict` values; text that passes the field's own before-validator
and then the pydantic-core validator of the leaf type. Anything else — a missing or unknown key, a
value that fails a check, a type or shape it was not written for, a validator that raises — makes
it return None, and the caller runs `model_validate`, so every error is still pydantic's own,
worded as before.

Date-times, money, durations and decimals are immutable and depend on their text alone, so they
are kept per text (a billing run reads the same prices over and over), but for date-times in lists
(usage times: seldom the same twice). A date is read by `date.fromisoformat`, which is quicker than
a look-up among a billing run's many dates, when its text is in the one form both read alike.

An instance's `__dict__` starts as a copy of its model's defaults, in the fields' order, and each
given field's value replaces its default: quicker than a mapping of every field, and an omitted
optional field costs one look-up. The instance itself is made by pydantic-core, as its own model
validator makes one, from the values, the fields set and no extra (`_instance`).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from pydantic import BaseModel, BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic import Strict as StrictMode
from pydantic.fields import FieldInfo
from pydantic_core import SchemaValidator, core_schema

from engine.models import _direct
from engine.models.common import (
    CALENDAR_TEXT,
    TOO_FINE,
    TOO_FINE_FROM,
    too_fine,
    whole_number_as_text,
    whole_number_text,
)
from engine.values import CODE_PATTERN

__all__ = ["build_scenario", "scenario_builder"]

Convert = Callable[[Any], Any]


def build_scenario(data: dict[str, Any]) -> Any:
    """The `Scenario` that `Scenario.model_validate(data)` gives, or None when pydantic must decide."""
    try:
        return (_scenario or _scenario_builder())(data)
    except Exception:  # _Unsure, a missing key, a before-validator's ValueError, a leaf's ValidationError
        return None


def scenario_builder() -> Convert:
    """`build_scenario`'s function itself, one call fewer: it raises (any `Exception`) where
    `build_scenario` gives None."""
    return _scenario or _scenario_builder()


_scenario: Convert | None = None


def _scenario_builder() -> Convert:
    global _scenario
    from engine.models.scenario import Scenario

    _scenario = _builder(Scenario)
    return _scenario


class _Unsure(Exception):
    """The direct path cannot vouch for the outcome (raised by the generated code)."""


class _Never(Exception):
    """A field type the generator was not written for: when given, the field goes to pydantic."""


#: Kept parsed leaves per text, at most this many per leaf type (then the cache starts over).
_CACHE_SIZE = 16384

#: Per leaf type (its annotation, before-validator and constraints): its parse, and the values kept.
_leaves: dict[tuple[Any, Any, str], tuple[Convert, dict[Any, Any]]] = {}


class _Source:
    """The generated function of one model class: the names its code uses, its variables, and the
    models being inlined (a model that contains itself calls its own builder instead)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.names: dict[str, Any] = {"U": _Unsure}
        self.inlining: list[type[BaseModel]] = []
        self.variables: list[int] = [0]  # per nesting level: variables taken
        self.lists = 0  # lists around the code being generated

    def name(self, value: Any, prefix: str) -> str:
        for key, known in self.names.items():
            if known is value and key.startswith(prefix):
                return key
        key = f"{prefix}{len(self.names)}"
        self.names[key] = value
        return key

    def variable(self) -> str:
        """A new local variable. A nested model's (or list's) variables are dead once its value is
        built, so the next one at that level reuses them: a function's frame clears every local
        variable on return, and a scenario's function would otherwise have hundreds."""
        self.variables[-1] += 1
        return f"v{len(self.variables)}_{self.variables[-1]}"

    def nested(self) -> None:
        self.variables.append(0)

    def done(self) -> None:
        self.variables.pop()

    def function(self, body: list[str], value: str, result: str, what: str) -> Convert:
        lines = [f"def build({value}):", *_indent(body), f"    return {result}"]
        namespace = dict(self.names)
        # generated from the models' field declarations only, never from data
        exec(compile("\n".join(lines), f"<direct {what} of {self.model.__name__}>", "exec"), namespace)
        built: Convert = namespace["build"]
        return built


@cache
def _builder(model: type[BaseModel]) -> Convert:
    """The function that builds `model` from a mapping (or raises), nested models inlined."""
    source = _Source(model)
    return source.function(_model(source, model, "d", "o"), "d", "o", "builder")


def _indent(lines: list[str]) -> list[str]:
    return [f"    {line}" for line in lines]


def _model(source: _Source, model: type[BaseModel], value: str, target: str) -> list[str]:
    """Statements that set `target` to the instance of `model` built from `value`, or raise."""
    if not _plain_model(model):
        return ["raise U"]
    if model in source.inlining:
        return [f"{target} = {source.name(_lazy(model), 'model')}({value})"]
    source.inlining.append(model)
    source.nested()
    try:
        return _model_lines(source, model, value, target)
    except (_Never, _direct.Unsure):  # a default it cannot give
        return ["raise U"]
    finally:
        source.done()
        source.inlining.pop()


def _lazy(model: type[BaseModel]) -> Convert:
    def build(data: Any) -> Any:
        return _builder(model)(data)

    return build


def _model_lines(source: _Source, model: type[BaseModel], value: str, target: str) -> list[str]:
    """Statements that build `model`'s instance from the dict `value` into `target`, or raise: a
    copy of the fields' defaults, each given field's value in place of its default.

    Its fields set starts as the required fields' names (each read, or a KeyError), and each
    optional field found is added to it, as pydantic-core adds the fields it finds: the names
    themselves, not their keys (aliases), and fewer calls than a set of the keys checked against
    the model's. Every key is one field's, so a key of no field shows as more keys than names."""
    fields = list(model.model_fields.items())
    fields_set, values = source.variable(), source.variable()
    given = source.variable()  # each field's value in turn
    defaults = {name: _default(info)[0] for name, info in fields}
    required = ", ".join(repr(name) for name, info in fields if info.is_required())
    lines = [
        f"if {value}.__class__ is not dict:",
        "    raise U",
        f"{fields_set} = {{{required}}}" if required else f"{fields_set} = set()",
        f"{values} = {source.name(defaults, 'D')}.copy()",
    ]
    for name, info in fields:
        key = info.alias or name
        result = source.variable()
        try:
            convert = _convert(source, info.annotation, list(info.metadata), given, result)
        except (_Never, _direct.Unsure):
            convert = ["raise U"]  # a type the generator was not written for: when given, pydantic decides
        optional = _none_when_omitted(info)
        if optional:
            convert = _not_none(convert, given, result)
        if convert[-1] == f"{result} = {given}":  # checked, not converted: kept as given
            convert[-1] = f"{values}[{name!r}] = {given}"
        else:
            convert.append(f"{values}[{name!r}] = {result}")
        if info.is_required():  # a missing key raises KeyError, and pydantic reports it
            lines += [f"{given} = {value}[{key!r}]", *convert]
        elif optional:  # omitted or null: the default (`model_fields_set` tells them apart)
            # tested with `in` first: most optional fields are omitted, and `in` costs less than `get`
            lines += [
                f"if {key!r} in {value}:",
                f"    {fields_set}.add({name!r})",
                f"    {given} = {value}[{key!r}]",
                f"    if {given} is not None:",
                *_indent(_indent(convert)),
            ]
        else:
            lines += [
                f"if {key!r} in {value}:",
                f"    {fields_set}.add({name!r})",
                f"    {given} = {value}[{key!r}]",
                *_indent(convert),
            ]
            fresh = _default(info)[1]
            if fresh is not None:  # a new list or dict for each instance
                lines += ["else:", f"    {values}[{name!r}] = {fresh}"]
    lines += [f"if len({fields_set}) != len({value}):", "    raise U"]  # a key of no field
    make = _instance(model)
    if make is not None:
        lines.append(f"{target} = {source.name(make, 'new')}(({values}, None, {fields_set}))")
    else:
        lines += [
            f"{target} = {source.name(model.__new__, 'new')}({source.name(model, 'C')})",
            f"{source.name(_setter(model, '__dict__'), 'set')}({target}, {values})",
            f"{source.name(_setter(model, '__pydantic_fields_set__'), 'set')}({target}, {fields_set})",
            f"{source.name(_setter(model, '__pydantic_extra__'), 'set')}({target}, None)",
            f"{source.name(_setter(model, '__pydantic_private__'), 'set')}({target}, None)",
        ]
    for decorator in model.__pydantic_decorators__.model_validators.values():
        lines.append(f"{target} = {source.name(decorator.func, 'after')}({target})")
    return lines


def _not_none(convert: list[str], value: str, target: str) -> list[str]:
    """An optional field's conversion for a value known not to be None: `_union`'s branch for None dropped."""
    if convert[:3] == [f"if {value} is None:", f"    {target} = None", "else:"]:
        return [line.removeprefix("    ") for line in convert[3:]]
    return convert


def _none_when_omitted(info: FieldInfo) -> bool:
    """A field of an optional type whose default is None (its conversion passes None through)."""
    annotation, _ = _direct._split(info.annotation, [])
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )
    return optional and info.default is None and info.default_factory is None


def _plain_model(model: type[BaseModel]) -> bool:
    """A model whose validation is its fields and after-validators (nothing the generator cannot see).

    The same conditions as `engine.models._direct`'s, but for after-validators, which this path runs."""
    config = model.model_config
    decorators = model.__pydantic_decorators__
    unseen = (model.__pydantic_root_model__, model.__pydantic_post_init__, model.__private_attributes__)
    if config.get("extra") != "forbid" or config.get("strict") or any(unseen):
        return False
    if decorators.validators or decorators.field_validators or decorators.root_validators:
        return False
    for decorator in decorators.model_validators.values():
        if decorator.info.mode != "after" or len(inspect.signature(decorator.func).parameters) != 1:
            return False
    return all(
        info.validation_alias in (None, info.alias) and not info.validate_default
        for info in model.model_fields.values()
    )


@cache
def _instance(model: type[BaseModel]) -> Convert | None:
    """The function that makes `model`'s instance of `(values, None, fields_set)` (those objects
    themselves as its `__dict__`, `__pydantic_fields_set__` and `__pydantic_extra__`, and
    `__pydantic_private__` None), or None: pydantic-core's model validator with an inner schema that
    takes the triple as it is, one call that sets the four as pydantic-core sets them past a frozen
    model's `__setattr__` (quicker than `__new__` and four setters, each a call that packs its
    arguments into a tuple). None when pydantic-core builds its validator from the model's own,
    which it does for a model that has validated before this one is built: the setters then."""
    make: Convert = SchemaValidator(core_schema.model_schema(model, core_schema.any_schema())).validate_python
    values: dict[str, Any] = {}
    fields_set: set[str] = set()
    try:
        probe = make((values, None, fields_set))
    except ValueError:  # pydantic_core.ValidationError: the model's own validator, not given a mapping
        return None
    made = (probe.__dict__, probe.__pydantic_fields_set__, probe.__pydantic_extra__, probe.__pydantic_private__)
    if type(probe) is not model or any(a is not b for a, b in zip(made, (values, fields_set, None, None), strict=True)):
        return None
    return make


def _setter(model: type[BaseModel], attribute: str) -> Callable[[Any, Any], None]:
    """`object.__setattr__(instance, attribute, value)` (what pydantic does past a frozen model's
    `__setattr__`), as the slot's or `__dict__`'s own descriptor, which is quicker to call."""
    for klass in model.__mro__:
        found = vars(klass).get(attribute)
        if isinstance(found, types.MemberDescriptorType | types.GetSetDescriptorType):
            setter: Callable[[Any, Any], None] = found.__set__
            return setter
        if found is not None:
            break
    return lambda instance, value: object.__setattr__(instance, attribute, value)


def _default(info: FieldInfo) -> tuple[Any, str | None]:
    """An omitted field's value as pydantic gives it: a value to share, or (for a list or a dict)
    the expression of a new one. A required field's placeholder is None."""
    factory = info.default_factory
    if info.is_required():
        return None, None
    if factory is list:
        return None, "[]"
    if factory is dict:
        return None, "{}"
    if factory is not None:
        raise _Never
    if isinstance(info.default, _direct._IMMUTABLE):  # pydantic hands these out as they are
        return info.default, None
    raise _Never


def _convert(source: _Source, annotation: Any, metadata: list[Any], value: str, target: str) -> list[str]:
    """Statements that set `target` to the validated `value`, or raise.

    A check that converts nothing ends with `target = value` (lists of such items are copied)."""
    annotation, metadata = _direct._split(annotation, metadata)
    before = [m.func for m in metadata if isinstance(m, BeforeValidator)]
    constraints = [m for m in metadata if not isinstance(m, BeforeValidator | PlainSerializer | WithJsonSchema)]
    if before == [whole_number_text] and annotation is int:
        before = []  # an int is taken as it is below; its text (checked by the validator) is pydantic's
    if before:
        if len(before) > 1 or len(inspect.signature(before[0]).parameters) != 1:
            raise _Never
        if before[0] is whole_number_as_text and annotation is str:  # an own id: a whole number is its digits
            return [
                f"if {value}.__class__ is int:",
                f"    {value} = str({value})",
                *_text(source, constraints, value, target),
            ]
        return _leaf(source, annotation, constraints, typing.cast(Convert, before[0]), value, target)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _union(source, typing.get_args(annotation), constraints, value, target)
    if origin is list:
        return _list(source, typing.get_args(annotation)[0], constraints, value, target)
    if origin is dict:
        return _dict(source, typing.get_args(annotation), constraints, value, target)
    if origin is not None:
        raise _Never
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if constraints:
            raise _Never
        return _model(source, annotation, value, target)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        if constraints or not all(type(member.value) is str for member in annotation):
            raise _Never
        members = source.name(annotation._value2member_map_, "E")  # text no member has raises KeyError
        return [f"if {value}.__class__ is not str:", "    raise U", f"{target} = {members}[{value}]"]
    if annotation is bool:  # the check below is of the exact class: strict already
        constraints = [c for c in constraints if not isinstance(c, StrictMode)]
    if annotation is bool and not constraints:
        return [f"if {value}.__class__ is not bool:", "    raise U", f"{target} = {value}"]
    if annotation is int:
        bounds = _direct._options(constraints, ("ge", "le", "gt", "lt"))
        tests = [f"{value}.__class__ is not int"]
        tests += [f"not {value} {op} {bounds[k]!r}" for k, op in _BOUNDS.items() if k in bounds]
        return [f"if {' or '.join(tests)}:", "    raise U", f"{target} = {value}"]
    if annotation is str:
        return _text(source, constraints, value, target)
    if annotation in (date, datetime, time, Decimal):
        return _leaf(source, annotation, constraints, None, value, target)
    raise _Never


_BOUNDS = {"ge": ">=", "le": "<=", "gt": ">", "lt": "<"}

#: The before-validator pattern of a date (`engine.models.common`).
_ISO_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"

#: ... and of a scenario's date-time, a date and its time of day (`TimestampField`: a date alone is refused).
_ISO_TIMESTAMP = "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt _]"

#: pydantic-core's date-time, alone (without the before-validator's pattern).
_date_time: Convert = SchemaValidator(core_schema.datetime_schema()).validate_python


def _text(source: _Source, constraints: list[Any], value: str, target: str) -> list[str]:
    """Text; constrained text is checked by pydantic-core's own string validator (quicker than
    Python's `re` for a short code, and its rules: its regex, lengths in characters, no lone
    surrogate), once per text: the texts that passed are kept (codes repeat from line to line).
    Text with lengths but no pattern goes to it only when not ASCII or out of range."""
    lines = [f"if {value}.__class__ is not str:", "    raise U"]
    if constraints:
        options = _direct._options(constraints, ("min_length", "max_length", "pattern"))
        check, passed = _text_check(**options)
        if "pattern" not in options:  # lengths only (an id: seldom the same twice, not worth keeping)
            return [
                *lines,
                f"if not ({value}.isascii() and {_length(options, value)}):",  # ASCII text: its length in characters is len()
                f"    {source.name(check, 'text')}({value})",  # other lengths, other text (a lone surrogate fails)
                f"{target} = {value}",
            ]
        known = source.name(passed, "P")
        test = f"{value} not in {known}"
        if options["pattern"] == CODE_PATTERN:  # letters and digits alone are a code (ids: seldom the same twice)
            test += f" and not ({value}.isalnum() and {value}.isascii() and {_length(options, value)})"
        lines += [
            f"if {test}:",
            f"    {source.name(check, 'text')}({value})",
            f"    if len({known}) >= {_CACHE_SIZE}:",
            f"        {known}.clear()",
            f"    {known}.add({value})",
        ]
    return [*lines, f"{target} = {value}"]


def _length(options: dict[str, Any], value: str) -> str:
    """The test of a text's length in characters (its `len()`, for ASCII text)."""
    low, high = options.get("min_length", 0), options.get("max_length")
    return f"{low!r} <= len({value})" + ("" if high is None else f" <= {high!r}")


@cache
def _text_check(**options: Any) -> tuple[Convert, set[str]]:
    check: Convert = SchemaValidator(core_schema.str_schema(strict=True, **options)).validate_python
    return check, set()


def _union(source: _Source, members: tuple[Any, ...], constraints: list[Any], value: str, target: str) -> list[str]:
    """`X | None`, and `str | <decimal>` (pydantic's smart union keeps text as text, makes a number a decimal)."""
    optional = type(None) in members
    rest = [m for m in members if m is not type(None)]
    if len(rest) == 1:
        inner = _convert(source, rest[0], constraints, value, target)
        if not optional:
            return inner
        return [f"if {value} is None:", f"    {target} = None", "else:", *_indent(inner)]
    if constraints or len(rest) != 2 or str not in rest:
        raise _Never
    number = next(m for m in rest if m is not str)
    if _direct._split(number, [])[0] is not Decimal:
        raise _Never
    lines = [f"if {value}.__class__ is str:", f"    {target} = {value}"]
    if optional:
        lines += [f"elif {value} is None:", f"    {target} = None"]
    lines += [
        f"elif {value}.__class__ is int or {value}.__class__ is float:",
        *_indent(_convert(source, number, [], value, target)),
        "else:",
        "    raise U",
    ]
    return lines


def _list(source: _Source, item: Any, constraints: list[Any], value: str, target: str) -> list[str]:
    options = _direct._options(constraints, ("min_length", "max_length"))
    tests = [f"{value}.__class__ is not list"]
    if "min_length" in options:
        tests.append(f"len({value}) < {options['min_length']!r}")
    if "max_length" in options:
        tests.append(f"len({value}) > {options['max_length']!r}")
    lines = [f"if {' or '.join(tests)}:", "    raise U"]
    source.nested()
    given, result = source.variable(), source.variable()
    source.lists += 1
    convert = _convert(source, item, [], given, result)
    source.lists -= 1
    source.done()
    if convert[-1] == f"{result} = {given}":  # the items are checked, not converted: check them, copy the list
        return [*lines, f"for {given} in {value}:", *_indent(convert[:-1]), f"{target} = {value}[:]"]
    return [*lines, f"{target} = []", f"for {given} in {value}:", *_indent(convert), f"    {target}.append({result})"]


def _dict(source: _Source, types_: tuple[Any, ...], constraints: list[Any], value: str, target: str) -> list[str]:
    if constraints:
        raise _Never
    source.nested()
    key, item, result = source.variable(), source.variable(), source.variable()
    keys = source.function(_convert(source, types_[0], [], key, result), key, result, "key")
    items = source.function(_convert(source, types_[1], [], item, result), item, result, "item")
    source.done()
    return [
        f"if {value}.__class__ is not dict:",
        "    raise U",
        f"{target} = {{{source.name(keys, 'key')}(k): {source.name(items, 'item')}(x) for k, x in {value}.items()}}",
    ]


def _leaf(
    source: _Source, annotation: Any, constraints: list[Any], before: Convert | None, value: str, target: str
) -> list[str]:
    """A date, date-time, time, decimal, money or duration: the field's before-validator, then the
    check pydantic makes of its result; kept per text (and per whole number, for a decimal), but for
    a date-time in a list (a scenario's `as_of` is kept: a billing run asks as of a few times) and a
    date written `YYYY-MM-DD`."""
    calendar = CALENDAR_TEXT.get(before) if before is not None else None
    if annotation is date and not constraints and calendar is not None and calendar.pattern == _ISO_DATE:
        # not kept: `date.fromisoformat` is quicker than a look-up in a large table (a billing run's
        # dates are many). The text the before-validator passes is `YYYY-MM-DD` at its start, and
        # then pydantic reads it as `date.fromisoformat` does when it is all of the text; text with
        # `-` at 7 is read by `date.fromisoformat` only in that form (a week date has a digit there).
        # Other text (shorter text raises IndexError), an invalid date, another type: pydantic decides.
        return [
            f"if {value}.__class__ is not str or {value}[7] != '-':",
            "    raise U",
            f"{target} = {source.name(date.fromisoformat, 'iso')}({value})",
        ]
    key = (annotation, before, repr(constraints))
    if key not in _leaves:
        _leaves[key] = (_parse(annotation, constraints, before), {})
    parse, texts = (source.name(_leaves[key][0], "parse"), source.name(_leaves[key][1], "T"))
    if annotation is datetime and source.lists and calendar is not None and calendar.pattern == _ISO_TIMESTAMP:
        # a time in a list (of usage, events): seldom the same twice, not kept. What the
        # before-validator passes, `YYYY-MM-DD` and the time's separator (`T`, `t`, ` ` or `_`) at
        # the start, is what pydantic-core reads as a date-time when `-` is at 4 and 7 and the
        # separator at 10 (a number it would read as a timestamp, such as `12.E-5678`, has no two
        # `-` there); a quicker call than its check of the pattern. A date alone (shorter text
        # raises IndexError) goes to pydantic, whose before-validator refuses it; so does a time
        # finer than a microsecond (which pydantic-core would cut), only possible in longer text.
        return [
            f"if {value}.__class__ is not str or {value}[4] != '-' or {value}[7] != '-' or {value}[10] not in 'Tt _':",
            "    raise U",
            f"if len({value}) > {TOO_FINE_FROM} and {source.name(TOO_FINE.search, 'fine')}({value}, 19) is not None:",
            "    raise U",
            f"{target} = {source.name(_date_time, 'time')}({value})",
        ]
    kept = (str, int) if annotation is Decimal else (str,)
    test = " or ".join(f"{value}.__class__ is {source.name(kind, 'kind')}" for kind in kept)
    return [
        f"if {test}:",
        f"    {target} = {texts}.get({value})",
        f"    if {target} is None:",
        f"        {target} = {parse}({value})",
        f"        if len({texts}) >= {_CACHE_SIZE}:",
        f"            {texts}.clear()",
        f"        {texts}[{value}] = {target}",
        "else:",
        f"    {target} = {parse}({value})",
    ]


def _parse(annotation: Any, constraints: list[Any], before: Convert | None) -> Convert:
    if annotation is Decimal:
        ge, le, gt, lt = _direct._bounds(constraints)
        check: Convert = SchemaValidator(core_schema.decimal_schema(ge=ge, le=le, gt=gt, lt=lt)).validate_python
    elif annotation in (date, datetime, time):
        if constraints:
            raise _Never
        schemas: dict[Any, Callable[[], Any]] = {
            date: core_schema.date_schema,
            datetime: core_schema.datetime_schema,
            time: core_schema.time_schema,
        }
        calendar = CALENDAR_TEXT.get(before) if before is not None else None
        if calendar is not None:
            # what the before-validator lets through (an exact `str` that starts like a date) and
            # the parse, in one call of pydantic-core (quicker than Python's `re`); pydantic itself
            # refuses the rest
            only = core_schema.str_schema(strict=True, pattern=f"^{calendar.pattern}")
            parse: Convert = SchemaValidator(core_schema.chain_schema([only, schemas[annotation]()])).validate_python
            if annotation is datetime and calendar.pattern == _ISO_TIMESTAMP:
                return _to_the_microsecond(parse)  # (a scenario's date-time: its before-validator's check)
            return parse
        check = SchemaValidator(schemas[annotation]()).validate_python
    elif isinstance(annotation, type) and hasattr(annotation, "__dataclass_fields__") and before is not None:
        if constraints:
            raise _Never
        check = _exactly(annotation)  # Money, Duration: the before-validator made the instance; pydantic keeps it
    else:
        raise _Never
    return check if before is None else _then(before, check)


def _to_the_microsecond(parse: Convert) -> Convert:
    """`parse` of a scenario's date-time, but text finer than a microsecond, which pydantic-core
    would cut, raises `_Unsure`: pydantic's before-validator refuses it, in its words."""

    def convert(value: Any) -> Any:
        if value.__class__ is str and too_fine(value):
            raise _Unsure
        return parse(value)

    return convert


def _then(first: Convert, second: Convert) -> Convert:
    def convert(value: Any) -> Any:
        return second(first(value))

    return convert


def _exactly(kind: type) -> Convert:
    def convert(value: Any) -> Any:
        if value.__class__ is not kind:
            raise _Unsure
        return value

    return convert
