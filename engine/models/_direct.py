"""Rule-file models built directly from schema-checked data, without pydantic's validator.

Pydantic builds a model's validator (its core schema, generated in Python) the first time the
model validates anything: about 45 ms for the rule-file models, a sixth of a cold `billrules
validate`. Data that reaches the models stage has already passed the kind's JSON Schema, and for
such data the models' work is a handful of conversions: text to enum members, money, durations
and dates; nested mappings to nested models; defaults for what is omitted.

`validate(model, data)` does those conversions from the model's own field declarations (the
models stay the single source of the format) and builds the instance as `model_validate` would:
same values, same `model_fields_set`. It knows only the shapes the rule-file models use, and only
the inputs whose outcome is certain (a `str` where text is wanted, an `int` where a whole number
is wanted, ...). Anything else — an unknown key, a missing field, a value that fails a check, a
type it was not written for — makes it give up, and the caller runs pydantic's `model_validate`,
so every error is still pydantic's own (and worded by `engine.models.errors` as before).

Leaves whose parsing pydantic does in Rust (dates, date-times, times, constrained text, decimals)
go through validators built directly from pydantic-core's schemas for those leaf types: the same
code as a model's, at a cost of microseconds instead of a model's schema generation.
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
from typing import Annotated, Any, Literal, TypeVar

import annotated_types
from pydantic import BaseModel, BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, SchemaValidator, core_schema

__all__ = ["Unsure", "validate"]

M = TypeVar("M", bound=BaseModel)
Convert = Callable[[Any], Any]


class Unsure(Exception):
    """The direct path cannot vouch for the outcome: pydantic must validate the document."""


def validate(model: type[M], data: Any) -> M:
    """`model.model_validate(data)` for schema-checked rule-file data, without building the model's
    validator when the data is plainly valid. Raises pydantic's ValidationError as model_validate does."""
    try:
        built: M = _model(model)(data)
    except Unsure:
        return model.model_validate(data)
    return built


_setattr = object.__setattr__


@cache
def _model(model: type[BaseModel]) -> Convert:
    """The converter of one model class: mapping in, instance out (or Unsure)."""
    config = model.model_config
    if (
        config.get("extra") != "forbid"
        or config.get("strict")
        or model.__pydantic_root_model__
        or model.__pydantic_post_init__
        or model.__private_attributes__
        or any(
            getattr(model.__pydantic_decorators__, kind)
            for kind in ("validators", "field_validators", "root_validators", "model_validators")
        )
    ):
        return _never
    fields = []
    for name, info in model.model_fields.items():
        if info.validation_alias not in (None, info.alias) or info.validate_default:
            return _never
        try:
            fields.append((info.alias or name, name, _field(info), _default(info), _constant(info)))
        except Unsure:
            return _never
    keys = frozenset(key for key, *_ in fields)
    names = {key: name for key, name, *_ in fields}
    same = all(key == name for key, name in names.items())  # (no alias: the keys given are the names)
    new = model.__new__

    def build(data: Any) -> Any:
        if type(data) is not dict or not keys.issuperset(data):
            raise Unsure
        values: dict[str, Any] = {}
        for key, name, convert, default, constant in fields:
            if key in data:
                values[name] = convert(data[key])
            elif constant is not _NO_CONSTANT:  # (an immutable default, as `_default` gives it)
                values[name] = constant
            elif default is None:  # required
                raise Unsure
            else:
                values[name] = default()
        given = set(data) if same else {names[key] for key in data}  # (every key is a field's)
        instance = new(model)
        _setattr(instance, "__dict__", values)
        _setattr(instance, "__pydantic_fields_set__", given)
        _setattr(instance, "__pydantic_extra__", None)
        _setattr(instance, "__pydantic_private__", None)
        return instance

    return build


def _never(data: Any) -> Any:
    raise Unsure


#: Defaults shared safely: pydantic hands these out as they are (it copies only mutable ones).
_IMMUTABLE = (type(None), bool, int, str, Enum, Decimal, date, time)


def _default(info: FieldInfo) -> Callable[[], Any] | None:
    """What an omitted field gets, as pydantic gives it; None for a required field."""
    if info.is_required():
        return None
    factory = info.default_factory
    if factory is not None:
        # pydantic reads a factory's signature to know whether it takes the data validated so far;
        # for a builtin type that means parsing its text signature (and importing `tokenize`)
        if factory not in (list, dict) and info.default_factory_takes_validated_data:
            raise Unsure
        return factory  # type: ignore[return-value]
    value = info.default
    if isinstance(value, _IMMUTABLE):
        return lambda: value
    return lambda: info.get_default(call_default_factory=False)


_NO_CONSTANT: Any = object()


def _constant(info: FieldInfo) -> Any:
    """The default `_default` hands out as it is (an immutable value), or `_NO_CONSTANT`."""
    if info.is_required() or info.default_factory is not None or not isinstance(info.default, _IMMUTABLE):
        return _NO_CONSTANT
    return info.default


def _field(info: FieldInfo) -> Convert:
    return _converter(info.annotation, list(info.metadata))


def _split(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The bare type and every constraint on it (nested `Annotated` and `Field(...)` flattened)."""
    while typing.get_origin(annotation) is Annotated:
        annotation, *extra = typing.get_args(annotation)
        metadata = [*_flat(extra), *metadata]
    return annotation, _flat(metadata)


def _flat(metadata: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            if item.default is not PydanticUndefined or item.default_factory is not None:
                raise Unsure
            flat.extend(_flat(list(item.metadata)))
        else:
            flat.append(item)
    return flat


def _converter(annotation: Any, metadata: list[Any]) -> Convert:
    annotation, metadata = _split(annotation, metadata)
    before = [m.func for m in metadata if isinstance(m, BeforeValidator)]
    constraints = [m for m in metadata if not isinstance(m, BeforeValidator | PlainSerializer | WithJsonSchema)]
    if len(before) > 1:
        raise Unsure
    inner = _plain(annotation, constraints)
    if not before:
        return inner
    if len(inspect.signature(before[0]).parameters) != 1:  # a validator that takes pydantic's `info` too
        raise Unsure
    func = typing.cast(Convert, before[0])

    def convert(value: Any) -> Any:
        try:
            value = func(value)
        except (ValueError, AssertionError):  # what pydantic turns into a validation error
            raise Unsure from None
        return inner(value)

    return convert


def _plain(annotation: Any, constraints: list[Any]) -> Convert:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(annotation), constraints)
    if origin is list:
        (item_type,) = typing.get_args(annotation)
        return _list(_converter(item_type, []), constraints)
    if origin is dict:
        key_type, value_type = typing.get_args(annotation)
        if key_type is not str or constraints:
            raise Unsure
        return _dict(_converter(value_type, []))
    if origin is Literal:
        return _literal(typing.get_args(annotation), constraints)
    if origin is not None:
        raise Unsure
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if constraints:
            raise Unsure
        return _nested(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        if constraints:
            raise Unsure
        return _enum(annotation)
    if annotation is bool:
        if constraints:
            raise Unsure
        return _exactly(bool)
    if annotation is int:
        return _int(constraints)
    if annotation is str:
        return _str(constraints) if constraints else _exactly(str)
    if annotation in (date, datetime, time, Decimal):
        return _core(annotation, constraints)
    if isinstance(annotation, type) and hasattr(annotation, "__dataclass_fields__"):
        return _dataclass_instance(annotation, constraints)
    raise Unsure


def _nested(model: type[BaseModel]) -> Convert:
    built: list[Convert] = []  # the model's converter, made on first use (models refer to each other)

    def convert(value: Any) -> Any:
        if not built:
            built.append(_model(model))
        return built[0](value)

    return convert


def _exactly(kind: type) -> Convert:
    def convert(value: Any) -> Any:
        if type(value) is not kind:
            raise Unsure
        return value

    return convert


def _enum(enum: type[Enum]) -> Convert:
    members = enum._value2member_map_

    def convert(value: Any) -> Any:
        if type(value) is not str:
            raise Unsure
        member = members.get(value)
        if member is None:
            raise Unsure
        return member

    return convert


def _literal(choices: tuple[Any, ...], constraints: list[Any]) -> Convert:
    if constraints or not all(type(c) is str for c in choices):
        raise Unsure
    allowed = frozenset(choices)

    def convert(value: Any) -> Any:
        if type(value) is not str or value not in allowed:
            raise Unsure
        return value

    return convert


#: annotated-types constraints, by the name pydantic-core's schemas give them
_CONSTRAINTS = {
    annotated_types.Ge: "ge",
    annotated_types.Le: "le",
    annotated_types.Gt: "gt",
    annotated_types.Lt: "lt",
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
}


def _options(constraints: list[Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """The constraints as pydantic-core schema options; Unsure for any other (or one not `allowed`)."""
    options: dict[str, Any] = {}
    for c in constraints:
        name = _CONSTRAINTS.get(type(c))
        if name is None and type(c).__name__ == "_PydanticGeneralMetadata" and set(vars(c)) == {"pattern"}:
            name = "pattern"  # `Field(pattern=...)`
        if name not in allowed:
            raise Unsure
        options[name] = getattr(c, name)
    return options


def _bounds(constraints: list[Any]) -> tuple[Any, Any, Any, Any]:
    options = _options(constraints, ("ge", "le", "gt", "lt"))
    return options.get("ge"), options.get("le"), options.get("gt"), options.get("lt")


def _int(constraints: list[Any]) -> Convert:
    ge, le, gt, lt = _bounds(constraints)

    def convert(value: Any) -> Any:
        if (
            type(value) is not int
            or (ge is not None and value < ge)
            or (le is not None and value > le)
            or (gt is not None and value <= gt)
            or (lt is not None and value >= lt)
        ):
            raise Unsure
        return value

    return convert


def _str(constraints: list[Any]) -> Convert:
    """Constrained text, checked by pydantic-core's own string validator (its regex engine)."""
    options = _options(constraints, ("min_length", "max_length", "pattern"))
    check = _leaf(core_schema.str_schema(**options))

    def convert(value: Any) -> Any:
        if type(value) is not str:
            raise Unsure
        return check(value)

    return convert


def _core(annotation: type, constraints: list[Any]) -> Convert:
    """A date, date-time, time or decimal, parsed by pydantic-core's validator for that type."""
    if annotation is Decimal:
        ge, le, gt, lt = _bounds(constraints)
        schema: Any = core_schema.decimal_schema(ge=ge, le=le, gt=gt, lt=lt)
    elif constraints:
        raise Unsure
    else:
        parse: dict[type, Callable[[], Any]] = {
            date: core_schema.date_schema,
            datetime: core_schema.datetime_schema,
            time: core_schema.time_schema,
        }
        schema = parse[annotation]()
    return _leaf(schema)


def _leaf(schema: Any) -> Convert:
    validate_python = SchemaValidator(schema).validate_python

    def convert(value: Any) -> Any:
        try:
            return validate_python(value)
        except ValueError:  # pydantic_core.ValidationError
            raise Unsure from None

    return convert


def _dataclass_instance(kind: type, constraints: list[Any]) -> Convert:
    """Money and Duration: their before-validator already made the instance; pydantic keeps it."""
    if constraints:
        raise Unsure

    def convert(value: Any) -> Any:
        if type(value) is not kind:
            raise Unsure
        return value

    return convert


def _union(members: tuple[Any, ...], constraints: list[Any]) -> Convert:
    """`X | None`, `str | X` and `int | str`: the shapes whose outcome depends on the input's type alone."""
    optional = type(None) in members
    rest = [m for m in members if m is not type(None)]
    if len(rest) == 1:
        only = _converter(rest[0], constraints)
        if not optional:
            return only

        def maybe(value: Any) -> Any:
            return None if value is None else only(value)

        return maybe
    if constraints or len(rest) != 2 or str not in rest:
        raise Unsure
    other = next(m for m in rest if m is not str)
    other_type, _ = _split(other, [])
    # `int | str`: each input type has one exact match; `str | DecimalField`: text stays text, a
    # YAML number becomes a decimal (pydantic's smart union picks the member the input's type fits)
    numbers = {int: (int,), Decimal: (int, float)}.get(other_type)
    if numbers is None:
        raise Unsure
    number = _converter(other, [])

    def text_or_number(value: Any) -> Any:
        if value is None and optional:
            return None
        if type(value) is str:
            return value
        if type(value) in numbers:
            return number(value)
        raise Unsure

    return text_or_number


def _list(item: Convert, constraints: list[Any]) -> Convert:
    options = _options(constraints, ("min_length", "max_length"))
    low, high = options.get("min_length", 0), options.get("max_length")

    def convert(value: Any) -> Any:
        if type(value) is not list or len(value) < low or (high is not None and len(value) > high):
            raise Unsure
        return [item(v) for v in value]

    return convert


def _dict(item: Convert) -> Convert:
    def convert(value: Any) -> Any:
        if type(value) is not dict or not all(type(k) is str for k in value):
            raise Unsure
        return {k: item(v) for k, v in value.items()}

    return convert
