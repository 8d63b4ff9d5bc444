"""Stage 2 — schema: check each document against the JSON Schema of its kind.

These are the same files analysts' editors use (`schemas/`), so an editor and `billrules
validate` never disagree. jsonschema's errors are rewritten into analyst language and located
with the loader's spans.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, did_you_mean
from engine.load import Document, dotted
from engine.models.criteria import NON_USAGE_SECTIONS, USAGE_SECTIONS
from engine.values import CODE_PATTERN, DURATION_PATTERN, MONEY_PATTERN


def _duration_unit_meant(text: str) -> str | None:
    """ "did you mean `12 months`?" for a duration whose unit is misspelt (`12 monhts`), else None."""
    import difflib

    found = re.fullmatch(r"\s*([0-9]+)\s*([A-Za-z]+)\s*", text)
    if found is None:
        return None
    units = ("day", "days", "week", "weeks", "month", "months", "year", "years")
    # close, not merely alike: `monhts` is months, `mins` is not (a unit billrules does not take)
    meant = difflib.get_close_matches(found.group(2).lower(), units, n=1, cutoff=0.75)
    return f"did you mean `{found.group(1)} {meant[0]}`?" if meant else None


def _unlimited_meant(path: tuple[Any, ...], text: str) -> str | None:
    """The hint for `per: unlimited` (the seed's unit "Unlimited"): a total is unlimited without
    `per`, and a discount without `limit` (until 2026-12-03 the hint asked for a number and a unit)."""
    if text.strip().lower() != "unlimited" or path[-1:] != ("per",):
        return None
    if path[-2:-1] == ("limit",):
        return "a limit counts the applications within a window: write one, e.g. `1 year` (leave `limit` out for none)"
    return "leave `per` out for no window (unlimited)"


_PATTERN_MESSAGES = {
    MONEY_PATTERN: ("is not money", "write an amount and a currency code, e.g. `20.00 EUR`"),
    DURATION_PATTERN: ("is not a duration", "write a number and a unit, e.g. `6 months` or `14 days`"),
    CODE_PATTERN: (
        "is not a code",
        "a code is letters, digits, `_`, `.` and `-`, starting with a letter or a digit, e.g. `tv-premium-12`",
    ),
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
def _schema(kind: str) -> dict[str, Any]:
    """The schema of one kind, its references inlined, read once per process."""
    schema = json.loads((schema_dir() / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return inline_refs(schema)


@cache
def _validator(kind: str) -> Any:
    """The validator of one kind, built once per process (only for a document the fast path
    refuses: a clean rule set never imports jsonschema)."""
    from jsonschema import Draft7Validator

    return Draft7Validator(_schema(kind), format_checker=Draft7Validator.FORMAT_CHECKER)


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
    """Yield a diagnostic for every schema violation in one document of a known kind.

    A bound the schema states for an editor but the engine words itself (`_engine_worded`: a
    credit's quantity more than zero, BR207; a term's period more than zero, BR410) is left to the
    later stage that words it when it is the document's only problem here, and else worded as
    that stage words it, so `validate` says what it said before the schema stated the bound
    (until 2026-12-04 the schemas took a credit's quantity of 0 or below and a period of 0)."""
    accepts = _accepts(kind)
    if accepts is not None and accepts(document.data):
        return  # valid: jsonschema would find nothing (it runs, for its messages, on the others)
    validator = _validator(kind)
    errors = sorted(validator.iter_errors(document.data), key=lambda e: [str(p) for p in e.absolute_path])
    worded = [_engine_worded(kind, error) for error in errors]
    if all(words is not None for words in worded):
        return  # (only such bounds: the models or the semantics stage refuses them, in their words)
    for error, words in zip(errors, worded, strict=True):
        if words is not None:
            yield from words(document)
        else:
            yield from _diagnose(document, kind, error)


# --- bounds the engine words itself -------------------------------------------------------------

Worded = Callable[[Document], Iterator[Diagnostic]]

#: a number as a rule file writes it as text (no exponent: the rule-file schemas refuse one, BR205)
_RULE_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _engine_worded(kind: str, error: Any) -> Worded | None:
    """How the engine words this schema error, when it is one of the bounds the engine refused
    before the schema stated it; else None (`_diagnose` words it)."""
    path = tuple(error.absolute_path)
    instance = error.instance
    if kind == "credit" and path == ("quantity",):
        at_most_zero = error.validator == "exclusiveMinimum" or (
            error.validator == "pattern"
            and isinstance(instance, str)
            and _RULE_NUMBER.fullmatch(instance) is not None
            and Decimal(instance) <= 0
        )
        return (lambda document: _model_words(document, kind, path)) if at_most_zero else None
    zero = error.validator == "minimum" and _is_number(instance) and instance == 0
    return _zero_period if kind == "term" and path == ("period",) and zero else None


def _model_words(document: Document, kind: str, path: tuple[Any, ...]) -> Iterator[Diagnostic]:
    """The models stage's BR207 at `path` of `document` (engine.pipeline.stage_models' words: "`quantity`:
    must be more than 0"), for a document the schema stage refuses for another reason as well."""
    from pydantic import ValidationError

    from engine.models import KINDS
    from engine.models.errors import did_you_mean_of, field_errors

    try:
        KINDS[kind].model_validate(document.data)
    except ValidationError as exc:
        for found in field_errors(exc.errors(include_url=False), document.data):
            if found.path == path:
                message, hint = did_you_mean_of(found.message)
                yield document.diagnostic(
                    path,
                    "BR207",
                    f"`{dotted(path)}`: {message}",
                    hint or f"see `billrules schema --kind {kind}` for the expected form",
                )


def _zero_period(document: Document) -> Iterator[Diagnostic]:
    """BR410 at a term's period of 0, in the words of engine.semantics (`_RenewalLoops.zero_period`),
    for a term the schema stage refuses for another reason as well: the renewal loops through
    other terms are not known here, a term that renews into itself is."""
    data = document.data
    code, renewal = data.get("code"), data.get("renewal_term")
    hint = "give the commitment a length greater than zero; "
    if isinstance(renewal, str) and renewal == code:
        message = f"term `{code}` has a zero commitment period and it renews in a loop ({code} → {code})"
        hint += "a renewal would otherwise never end"
    elif isinstance(renewal, str):
        message = f"term `{code}` has a zero commitment period"
        hint += (
            f"one of zero length ends the day it starts and passes straight into `{renewal}` "
            f"(to commit to `{renewal}` alone, make it the plan's or bundle's `term`)"
        )
    else:
        message = f"term `{code}` has a zero commitment period"
        hint += (
            "one of zero length ends the day it starts and binds the customer to nothing "
            "(for no commitment, leave `term` out of the plan or bundle)"
        )
    yield document.diagnostic(("period",), "BR410", message, hint)


# --- the fast path: does a document pass? -------------------------------------------------------

Check = Callable[[Any], bool]


class _Unsupported(Exception):
    """A keyword the fast path does not model: the kind is always checked by jsonschema."""


@cache
def _accepts(kind: str) -> Check | None:
    """A function that says whether a document of `kind` is valid, exactly as jsonschema's
    Draft 7 validator (with its format checker) would, or None when the schema uses a keyword
    it does not model.

    jsonschema walks the schema generically for every document (a validator object per subschema
    visited, an error generator per keyword); a clean document, which is nearly every document,
    needs none of that. This compiles each subschema once into a closure of plain checks; a
    document it refuses is checked again by jsonschema, whose errors make the diagnostics, so
    messages never depend on this code.
    """
    schema = _schema(kind)
    try:
        return _Compiler(schema).compile(schema)
    except _Unsupported:
        return None


#: keywords that never make a document invalid (annotations, and the definitions `$ref` reads)
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "definitions",
        "readOnly",
        "writeOnly",
    }
)
_TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "integer": lambda x: (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer()),
    "number": lambda x: isinstance(x, int | float) and not isinstance(x, bool),
    "boolean": lambda x: isinstance(x, bool),
    "array": lambda x: isinstance(x, list),
    "object": lambda x: isinstance(x, dict),
    "null": lambda x: x is None,
}


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda x: True
    if len(checks) == 1:
        return checks[0]

    def check(x: Any) -> bool:
        for one in checks:  # noqa: SIM110 - a loop: `all()` of a generator costs twice as much here
            if not one(x):
                return False
        return True

    return check


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda x: True
        if schema is False:
            return lambda x: False
        if not isinstance(schema, dict):
            raise _Unsupported(schema)
        if "$ref" in schema:  # Draft 7: a `$ref` replaces its siblings
            return self._ref(schema["$ref"])
        checks: list[Check] = []
        for key, value in schema.items():
            if key in _ANNOTATIONS or key in ("additionalProperties", "patternProperties", "then", "else"):
                continue  # with `properties` (or below), and with `if` (ignored without it, as by jsonschema)
            method = getattr(self, "_" + key.replace("$", ""), None)
            if method is None:
                raise _Unsupported(key)
            checks.append(method(value, schema))
        if ("additionalProperties" in schema or "patternProperties" in schema) and "properties" not in schema:
            checks.append(self._properties({}, schema))
        return _all(checks)

    def _ref(self, ref: Any) -> Check:
        prefix = "#/definitions/"
        definitions = self.root.get("definitions", {})
        name = ref[len(prefix) :] if isinstance(ref, str) and ref.startswith(prefix) else None
        if name is None or "/" in name or "~" in name or "%" in name or name not in definitions:
            raise _Unsupported(ref)
        if name not in self.refs:
            cell: list[Check] = []
            self.refs[name] = lambda x: cell[0](x)  # recursive definitions refer to themselves
            cell.append(self.compile(definitions[name]))
        return self.refs[name]

    def _type(self, value: Any, schema: dict[str, Any]) -> Check:
        names = value if isinstance(value, list) else [value]
        if any(n not in _TYPES for n in names):
            raise _Unsupported(value)
        checks = [_TYPES[n] for n in names]
        if len(checks) == 1:
            return checks[0]
        return lambda x: any(c(x) for c in checks)

    def _properties(self, value: Any, schema: dict[str, Any]) -> Check:
        properties = {name: self.compile(sub) for name, sub in value.items()}
        patterns = [(re.compile(p), self.compile(sub)) for p, sub in schema.get("patternProperties", {}).items()]
        additional = schema.get("additionalProperties", True)
        extra = self.compile(additional)
        # jsonschema joins the patterns with `|` for additionalProperties: the same as any of them
        if not patterns and additional is False:

            def closed(x: Any) -> bool:
                if not isinstance(x, dict):
                    return True
                for key, item in x.items():
                    one = properties.get(key)
                    if one is None or not one(item):
                        return False
                return True

            return closed

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for key, item in x.items():
                one = properties.get(key)
                if one is not None and not one(item):
                    return False
                matched = False
                for pattern, sub in patterns:
                    if pattern.search(key):
                        matched = True
                        if not sub(item):
                            return False
                if one is None and not matched and not extra(item):
                    return False
            return True

        return check

    def _required(self, value: Any, schema: dict[str, Any]) -> Check:
        names = list(value)
        return lambda x: not isinstance(x, dict) or all(n in x for n in names)

    def _propertyNames(self, value: Any, schema: dict[str, Any]) -> Check:
        sub = self.compile(value)
        return lambda x: not isinstance(x, dict) or all(sub(k) for k in x)

    def _items(self, value: Any, schema: dict[str, Any]) -> Check:
        if isinstance(value, list):
            subs = [self.compile(v) for v in value]
            return lambda x: not isinstance(x, list) or all(s(i) for s, i in zip(subs, x, strict=False))
        sub = self.compile(value)
        return lambda x: not isinstance(x, list) or all(sub(i) for i in x)

    def _minItems(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) >= value

    def _maxItems(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) <= value

    def _minLength(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) >= value

    def _maxLength(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) <= value

    def _pattern(self, value: Any, schema: dict[str, Any]) -> Check:
        search = re.compile(value).search
        return lambda x: not isinstance(x, str) or search(x) is not None

    def _minimum(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x >= value

    def _maximum(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x <= value

    def _exclusiveMinimum(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x > value

    def _format(self, value: Any, schema: dict[str, Any]) -> Check:
        if value == "date":
            return _is_date
        if value in ("date-time", "time") and importlib.util.find_spec("rfc3339_validator") is None:
            return lambda x: True  # jsonschema checks these only with rfc3339-validator installed
        checker: list[Any] = []

        def conforms(x: Any) -> bool:  # any other format: jsonschema's own checker, imported when needed
            if not checker:
                checker.append(_format_checker())
            return bool(checker[0].conforms(x, value))

        return conforms

    def _enum(self, value: Any, schema: dict[str, Any]) -> Check:
        if all(isinstance(v, str) for v in value):  # jsonschema's `equal` with text is `==`
            options = frozenset(value)
            return lambda x: isinstance(x, str) and x in options
        return lambda x: any(_equal(x, v) for v in value)

    def _const(self, value: Any, schema: dict[str, Any]) -> Check:
        if isinstance(value, str):
            return lambda x: bool(x == value)
        return lambda x: _equal(x, value)

    def _allOf(self, value: Any, schema: dict[str, Any]) -> Check:
        return _all([self.compile(v) for v in value])

    def _anyOf(self, value: Any, schema: dict[str, Any]) -> Check:
        subs = [self.compile(v) for v in value]
        return lambda x: any(s(x) for s in subs)

    def _if(self, value: Any, schema: dict[str, Any]) -> Check:
        condition = self.compile(value)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda x: then(x) if condition(x) else otherwise(x)


def _format_checker() -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator.FORMAT_CHECKER


def _equal(one: Any, two: Any) -> bool:
    from jsonschema._utils import equal

    return bool(equal(one, two))


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _is_date(instance: Any) -> bool:
    """jsonschema's `date` format check (`jsonschema._format.is_date`, ValueError meaning no)."""
    if not isinstance(instance, str):
        return True
    try:
        return bool(_DATE.fullmatch(instance) and date.fromisoformat(instance))
    except ValueError:
        return False


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


#: YAML 1.1's words for true and false, text in YAML 1.2 (which billrules reads)
_YES_NO = {"yes": "true", "no": "false", "on": "true", "off": "false", "y": "true", "n": "false"}


def _count_and_unit(field: str, instance: Any, data: Any, path: tuple[Any, ...]) -> str:
    """A count written with its unit (`grace_period: 14 days`) where the unit has a field of its
    own beside it (`grace_period_unit`): say to split it (the field's description alone did not)."""
    found = re.fullmatch(r"([0-9]+) +(day|week|month|year)s?", instance) if isinstance(instance, str) else None
    if found is None:
        return ""
    parent = data
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    unit_field = f"{field}_unit"
    count, unit = found.group(1), f"{found.group(2)}s"  # (a unit as the schema's choices write it)
    if isinstance(parent, dict) and (unit_field in parent or field in ("grace_period", "period")):
        unit_field = "unit" if field == "period" else unit_field
        return f"write the number and its unit apart: `{field}: {count}` and `{unit_field}: {unit}`"
    return ""


#: the criteria sections, by name: a key of a discount's top level that is one was most likely
#: meant under `criteria:` (its indentation lost)
_CRITERIA_SECTIONS = frozenset({*NON_USAGE_SECTIONS, *USAGE_SECTIONS, "when"})


def _belongs_under(extra: str, path: tuple[Any, ...], kind: str) -> str:
    """The hint for a criteria section written at a discount's top level: indent it under `criteria:`."""
    if path or kind != "discount" or extra not in _CRITERIA_SECTIONS:  # (a discount's sections: a credit's differ)
        return ""
    return f"`{extra}` is a criteria section: indent it under `criteria:` (two spaces more)"


#: what other tools call a document's identifier, at its top level: billrules' `code`
_CODE_WORDS = frozenset({"id", "identifier", "key", "sku", "slug"})


def _code_meant(extra: str, path: tuple[Any, ...], known: list[str], instance: Any) -> str:
    """The hint for `id:` (or `identifier:`, `key:`...) at a document's top level without `code:`:
    `code` is meant (until 2026-12-03 `id:` was told "did you mean `kind`?", a rename that breaks the file)."""
    if path or extra.lower() not in _CODE_WORDS or "code" not in known or "code" in instance:
        return ""
    return f"did you mean `code`? a document's identifier is its `code:` (`code: {_shown_value(instance[extra])}`)"


def _shown_value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


#: (field, a word of the seeds, lower case) → the choice it stands for (seed 003's term basis:
#: "Abrechnungszyklus" and "Aktuell", the actual time since purchase)
_SEED_WORDS = {
    ("basis", "actual"): "calendar",
    ("basis", "aktuell"): "calendar",
    ("basis", "abrechnungszyklus"): "billing_cycles",
    ("basis", "billing_cycle"): "billing_cycles",
    ("basis", "cycles"): "billing_cycles",
}


def _diagnose(document: Document, kind: str, error: Any) -> Iterator[Diagnostic]:
    path = tuple(error.absolute_path)
    field = next((str(p) for p in reversed(path) if isinstance(p, str)), kind)
    where = dotted(path) or kind
    validator, instance, schema = error.validator, error.instance, error.schema
    if validator == "additionalProperties":
        known = list(schema.get("properties", {}))
        for extra in sorted(set(instance) - set(known)):
            hint = (
                _belongs_under(extra, path, kind)
                or _code_meant(extra, path, known, instance)
                or did_you_mean(extra, known)
                or f"allowed here: {', '.join(known)}"
            )
            yield document.diagnostic((*path, extra), "BR201", f"unknown property `{extra}` in {where}", hint, key=True)
        return
    if validator == "required":
        missing = error.message.split("'")[1]
        known = list(schema.get("properties", {}))
        if schema.get("additionalProperties") is False and isinstance(instance, dict):
            extras = [k for k in instance if k not in known]
            if any(did_you_mean(str(k), known) == f"did you mean `{missing}`?" for k in extras):
                return  # misspelt (`nmae:`): BR201 says so, with "did you mean"; one mistake, one diagnostic
            if missing == "code" and not path and any(str(k).lower() in _CODE_WORDS for k in extras):
                return  # `id:` for `code:` (`_code_meant`): one diagnostic too (until 2026-12-04 a BR202 as well)
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
        yes_no = isinstance(instance, str) and instance.lower() in _YES_NO and "boolean" in str(wanted)
        yield document.diagnostic(
            path,
            "BR203",
            f"`{where}` must be {wanted_names}, not {_type_name(instance)}",
            (f"write `{_YES_NO[instance.lower()]}` (YAML 1.2 reads `{instance}` as text)" if yes_no else "")
            or _count_and_unit(field, instance, document.data, path)
            or _number_as_text(field, instance, wanted, schema)
            or _whole_number_wanted(field, instance, wanted, schema)
            or pattern_hint
            or _describe(schema)
            or _shape_hint(schema, wanted),
        )
        return
    if validator in ("enum", "const"):
        options = error.validator_value if validator == "enum" else [error.validator_value]
        names = [str(o) for o in options]
        hint = did_you_mean(str(instance), names) if isinstance(instance, str) else ""
        started = [
            n for n in names if isinstance(instance, str) and len(instance) >= 3 and n.startswith(instance.lower())
        ]
        if not hint and len(started) == 1:  # `day: sat` (until 2026-12-04 the list alone)
            hint = f"did you mean `{started[0]}`?"
        seed_word = _SEED_WORDS.get((field, str(instance).lower()))
        if not hint and seed_word in names:
            hint = f"`{instance}` is the seed's word for `{seed_word}`: write `{field}: {seed_word}`"
        yield document.diagnostic(
            path,
            "BR204",
            f"`{instance if isinstance(instance, str) else json.dumps(instance, default=str)}` is not a valid "
            f"`{field}`: expected one of {', '.join(names)}",  # (JSON's `null`, `true`: not Python's `None`)
            hint or f"use one of: {', '.join(names)}",
        )
        return
    if validator == "pattern":
        what, hint = _PATTERN_MESSAGES.get(
            error.validator_value, ("does not have the expected form", _describe(schema))
        )
        number = (  # (a unit of words joined by `-` or `_`: `60 vcpu-hours` too)
            re.fullmatch(r"(-?[0-9]+(?:\.[0-9]+)?) +[A-Za-z][A-Za-z_-]*", instance)
            if isinstance(instance, str)
            else None
        )
        detail = ""
        numeric = not re.search(error.validator_value, "a")  # (a number's pattern, not a code's that takes digits)
        if number is not None and numeric and re.fullmatch(error.validator_value, number.group(1)):
            hint = f"write the number alone: `{field}: {number.group(1)}` (the unit is the field's own)"
            what = "is not a number" if _is_number_pattern(error.validator_value) else what
        elif error.validator_value == DURATION_PATTERN and isinstance(instance, str):
            hint = _duration_unit_meant(instance) or _unlimited_meant(path, instance) or hint
        elif error.validator_value == CODE_PATTERN and isinstance(instance, str) and not instance.isascii():
            detail, hint = _lookalike_code(path, instance, hint)
        elif error.validator_value == _CURRENCY_PATTERN and isinstance(instance, str):
            what, hint = _currency_wanted(path, instance)
        elif _is_number_pattern(error.validator_value):
            what, hint = _number_wanted(path, instance, error.validator_value, schema)
        yield document.diagnostic(path, "BR205", f"`{instance}` {what} (in `{where}`){detail}", hint)
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
    if validator in ("maxLength", "minLength") and isinstance(instance, str):
        limit = error.validator_value
        if validator == "minLength" and not instance:
            message = "is empty"
        else:
            bound = "at most" if validator == "maxLength" else "at least"
            message = f"is {len(instance):,} characters long; {bound} {limit:,} are allowed"
        hint = _describe(schema)
        if not instance and path and isinstance(path[-1], int):  # (an item: until 2026-12-04 no hint)
            hint = "write a value, or remove the empty item"
        yield document.diagnostic(path, "BR206", f"`{where}` {message}", hint)
        return
    message = error.message.replace("'", "`") if len(error.message) < 120 else f"invalid value ({validator})"
    yield document.diagnostic(path, "BR206", f"`{where}`: {message}", _bound_hint(validator, error, schema))


#: a currency code's form (`default_currency`)
_CURRENCY_PATTERN = r"^[A-Z]{3}$"


def _lookalike_code(path: tuple[Any, ...], instance: str, hint: str) -> tuple[str, str]:
    """A code with a character that is not ASCII: name it, where it is and what it looks like
    ("`\u0441` (U+0441 CYRILLIC SMALL LETTER ES) at character 1 looks like `c`"), and the code to write
    when its ASCII look-alike is one (until 2026-12-04 the message quoted the code alone, which
    renders as the correct text)."""
    from engine.lookalikes import lookalike_problems, skeleton

    detail = f": {lookalike_problems(instance)}"
    meant = skeleton(instance)
    if re.match(CODE_PATTERN, meant):
        return detail, f"write it in ASCII: {_written(path, meant)}"
    return detail, hint


def _written(path: tuple[Any, ...], value: str) -> str:
    """`field: value` for a value under a key, the value alone for a list's item."""
    return f"`{path[-1]}: {value}`" if path and isinstance(path[-1], str) else f"`{value}`"


def _is_number_pattern(pattern: Any) -> bool:
    """A pattern of numbers written as text (`^-?[0-9]+(\\.[0-9]+)?$`): it takes `20`, not a letter."""
    return (
        isinstance(pattern, str)
        and pattern not in (DURATION_PATTERN, MONEY_PATTERN)
        and re.search(pattern, "20") is not None
        and re.search(pattern, "a") is None
    )


def _number_wanted(path: tuple[Any, ...], instance: Any, pattern: str, schema: dict[str, Any]) -> tuple[str, str]:
    """A word where a number goes (`threshold: "twenty"`, `quantity: one`): say a number is
    expected, with an example and what the field means (until 2026-12-04 "does not have the
    expected form", with the field's description alone)."""
    meaning = _describe(schema).rstrip(".")
    text = instance if isinstance(instance, str) else ""
    plain = re.sub(r"(?<=[0-9])[,_ '](?=[0-9]{3})", "", text.strip())  # (`1,000`, `1 000`, `1_000`, ` 20`)
    if plain != text and re.search(pattern, plain):
        return "is not a number", f"write it as a plain number: {_written(path, plain)}"
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text.strip()):  # a number, not one the field takes
        return "is not a number this field takes", meaning or "see the field's description"
    example = next((e for e in ("20", "1", "0") if re.search(pattern, e)), "20")
    return "is not a number", f"write a number, e.g. {_written(path, example)}" + (f" ({meaning})" if meaning else "")


def _currency_wanted(path: tuple[Any, ...], instance: str) -> tuple[str, str]:
    """A currency that is not a 3-letter code (`default_currency: "x"`, `eur`, `euro`): say so, with
    the code meant when one is near (until 2026-12-04 "does not have the expected form")."""
    from engine.values import MINOR_UNITS, nearest_currency

    written = instance.strip().upper()
    near = written if written in MINOR_UNITS else nearest_currency(written, list(MINOR_UNITS))
    if near is not None:
        return "is not a currency code", f"did you mean {_written(path, near)}? (a 3-letter ISO 4217 code, in capitals)"
    return "is not a currency code", f"write a 3-letter ISO 4217 code, e.g. {_written(path, 'EUR')}"


def _bound_hint(validator: str, error: Any, schema: dict[str, Any]) -> str:
    """What to write for a number out of its bounds ("write 1 or more"), then what the field is
    (until 2026-12-02 the field's description alone: "How many codes to generate.")."""
    limit = error.validator_value
    words = {
        "minimum": f"write {limit} or more",
        "maximum": f"write {limit} or less",
        "exclusiveMinimum": f"write more than {limit}",
        "exclusiveMaximum": f"write less than {limit}",
    }.get(validator)
    described = _describe(schema)
    if words is None or re.search(r"\b(must|at least|at most|greater|less|more than)\b", described):
        return described  # (a description that states the bound says it best: a period "greater than zero")
    return f"{words} ({described.rstrip('.')})" if described else words


def _whole_number_wanted(field: str, instance: Any, wanted: Any, schema: dict[str, Any]) -> str:
    """A word where only a whole number goes (`priority: high`): an example of the form, with what
    the field means (until 2026-12-02 the meaning alone, which did not say to write a number)."""
    if not isinstance(instance, str) or wanted != "integer":
        return ""
    low = schema["minimum"] if "minimum" in schema else schema.get("exclusiveMinimum", 0) + 1
    example = 1 if low <= 1 <= schema.get("maximum", 1) else low  # (1 where the field takes it)
    meaning = schema.get("description", "")
    return f"write a whole number: `{field}: {example}`" + (f" ({meaning.rstrip('.')})" if meaning else "")


def _number_as_text(field: str, instance: Any, wanted: Any, schema: dict[str, Any] | None = None) -> str:
    """A number written as text (`rate: "21"`, `rate: 21%`) where a number goes: say to write the
    number alone, when that number is one the field takes (a whole number where one is wanted,
    within the field's bounds); else ""."""
    kinds = set(map(str, wanted if isinstance(wanted, list) else [wanted]))
    if not isinstance(instance, str) or not {"number", "integer"} & kinds:
        return ""
    found = re.fullmatch(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(%?)\s*", instance)
    if found is None:
        return ""
    number = Decimal(found.group(1))
    bounds = schema or {}
    if (
        ("number" not in kinds and number != number.to_integral_value())
        or ("minimum" in bounds and number < Decimal(str(bounds["minimum"])))
        or ("maximum" in bounds and number > Decimal(str(bounds["maximum"])))
        or ("exclusiveMinimum" in bounds and number <= Decimal(str(bounds["exclusiveMinimum"])))
    ):
        return ""  # (not a value the field takes: the field's own description says what is)
    percent = " (a percentage is written as its number: 21 for 21 %)" if found.group(2) else ""
    return f"write it as a number, not as text: `{field}: {found.group(1)}`{percent}"


def _shape_hint(schema: dict[str, Any], wanted: Any) -> str:
    """A hint for a value of the wrong shape where the schema says nothing more (SPEC 6: every
    diagnostic has one): the keys a mapping takes, or how a list is written."""
    kinds = wanted if isinstance(wanted, list) else [wanted]
    keys = list(schema.get("properties", {}))
    if "object" in kinds and keys:
        return f"write a mapping of {', '.join(f'`{k}:`' for k in keys[:8])}{', …' if len(keys) > 8 else ''}"
    if "array" in kinds:
        return "write a list: `[a, b]`, or one `- a` line per item"
    return f"write {' or '.join(_TYPE_NAMES.get(str(w), str(w)) for w in kinds)}"


def _describe(schema: dict[str, Any]) -> str:
    description = schema.get("description", "")
    return str(description)
