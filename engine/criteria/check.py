"""Type check: give every node a type, or raise a located diagnostic (have/want, did you mean).

Runs after parsing and before compiling; the compiler only accepts typed nodes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from engine.criteria import ast
from engine.criteria import types as T
from engine.criteria.environment import Environment
from engine.criteria.parse import (
    WEEKDAYS,
    CriteriaError,
    Locator,
    Parsed,
    anchor,
    error,
    relocate,
    remember_typed,
    typed_instance,
)
from engine.diagnostics import Diagnostic, did_you_mean
from engine.values import TimeUnit

_BUILTIN_ATTRIBUTES: dict[str, dict[str, T.Type]] = {
    "date": {"year": T.NUMBER, "month": T.NUMBER, "day": T.NUMBER, "weekday": T.WEEKDAY},
    "datetime": {
        "date": T.DATE,
        "time": T.TIME,
        "weekday": T.WEEKDAY,
        "year": T.NUMBER,
        "month": T.NUMBER,
        "day": T.NUMBER,
        "hour": T.NUMBER,
    },
    "money": {"amount": T.NUMBER, "currency": T.STRING},
    "duration": {"days": T.NUMBER.maybe()},  # missing for months and years: they have no fixed length
}

#: How deep quantifiers and aggregates (`any`, `all`, `count`, `sum`, `min`, `max`) may nest. Each
#: level runs once per element of the list around it, so the work grows as the list length to the
#: power of the depth: three levels over 100 usage records are already a million evaluations.
MAX_NESTING = 3


@dataclass
class Scope:
    """Names visible at a point: bound variables and, inside an aggregate, the element's fields."""

    variables: dict[str, T.Type] = field(default_factory=dict)
    element: str | None = None  # record whose fields are visible unqualified
    depth: int = 0  # quantifiers and aggregates around this point
    #: inside an aggregate's `where` without a bound name: its function and list as written (hints)
    aggregate: tuple[str, str] | None = None
    #: the bound names that hold catalog codes (`any s in account.segments`: `s`), by the kind of code
    codes: dict[str, str] = field(default_factory=dict)

    def bind(self, name: str, type_: T.Type, code: str | None = None) -> Scope:
        codes = self.codes  # (never changed in place: shared by the scopes within)
        if code or name in codes:  # a name bound to codes, or bound again to other values
            codes = {**{k: v for k, v in codes.items() if k != name}, **({name: code} if code else {})}
        return Scope({**self.variables, name: type_}, self.element, self.depth, self.aggregate, codes)

    def with_element(self, record: str | None, aggregate: tuple[str, str] | None = None) -> Scope:
        return Scope(dict(self.variables), record, self.depth, aggregate, self.codes)

    def loop(self, node: ast.Node, word: str) -> Scope:
        """The scope inside a quantifier or aggregate; refuses nesting deeper than MAX_NESTING."""
        if self.depth >= MAX_NESTING:
            raise error(
                node.span,
                "BR504",
                f"`{word}` inside {self.depth} other `any`/`all`/`count`/`sum`/`min`/`max`: "
                f"they nest at most {MAX_NESTING} levels deep",
                "each level repeats the work for every element of the list around it; "
                "split the criterion into separate conditions",
            )
        return Scope(dict(self.variables), self.element, self.depth + 1, self.aggregate, self.codes)


#: the nodes that are conditions (true, false or unknown), never values (`Checker._value`)
_CONDITIONS = (ast.Not, ast.BoolOp, ast.Compare, ast.Membership, ast.SetRelation, ast.Between, ast.Quantifier)

#: node class → the Checker method that checks it (`_compare` for Compare, ...), filled as met
_METHODS: dict[type, Any] = {}


_N = TypeVar("_N", bound=ast.Node)


def _replace(node: _N, **changes: Any) -> _N:
    """`dataclasses.replace` for AST nodes, without running `__init__` again (no node has a
    `__post_init__`): a copy of the node's fields with `changes`."""
    copy = object.__new__(type(node))
    copy.__dict__.update(node.__dict__)
    copy.__dict__.update(changes)
    return copy


def _unquoted(node: ast.Node, e: CriteriaError, other: T.Type, op: str) -> CriteriaError:
    """`e` for a bare word compared with text: the hint to quote it (in a set where a set goes:
    `overlaps military` → `{"military"}`; against a list with `==`, `contains`), keeping any "did
    you mean"."""
    d = e.diagnostic
    if not (isinstance(node, ast.Name) and d.code == "BR502" and d.message.startswith("unknown field")):
        return e
    listed = T.is_collection(other) and other.elem is not None and other.elem.name == "string"
    if not (other.name == "string" or listed):
        return e
    if op == "in":
        hint = f'text is written in quotes, and a set in braces: `{{"{node.id}"}}`'
    elif listed and op == "!=":  # (`segments != military`: that the list does not hold it)
        hint = f'text is written in quotes; that a list does not hold it is `not (… contains "{node.id}")`'
    elif listed and op != "item":  # (an item of a set: quoted alone)
        hint = f'text is written in quotes; a list holds it with `contains "{node.id}"`'
    else:
        hint = f'text is written in quotes: `"{node.id}"`'
    if d.hint.startswith("did you mean"):
        hint += f"; or, for a field, {d.hint}"
    return error(node.span, "BR502", f"unknown field `{node.id}` (text without quotes?)", hint)


def _unnamed_record(node: ast.Attribute, scope: Scope, env: Environment, e: CriteriaError) -> CriteriaError:
    """`e` for `u.service_type` inside `count(usage where …)`, which names no record: the hint to
    name it (`count(u in usage where …)`) or write the field alone (until 2026-12-02 it listed every
    name in scope)."""
    d = e.diagnostic
    if not (
        isinstance(node.obj, ast.Name)
        and scope.element is not None
        and d.code == "BR502"
        and d.message == f"unknown field `{node.obj.id}`"
        and node.name in env.fields(scope.element)
    ):
        return e
    name = node.obj.id
    func, listed = scope.aggregate or ("count", "usage")
    hint = (
        f"name the record before `where`, as in `{func}({name} in {listed} where {name}.{node.name} …)`, "
        f"or write the field alone: `{node.name}`"
    )
    return error(node.obj.span, "BR502", f"unknown name `{name}`: this `where` names no record", hint)


class Checker:
    def __init__(self, env: Environment) -> None:
        self.env = env

    def check_condition(self, node: ast.Node) -> ast.Node:
        typed = self.check(node, Scope())
        if _type(typed).name != "bool":
            raise _not_a_condition(node.span, _type(typed), self.env)
        return typed

    def check(self, node: ast.Node, scope: Scope) -> ast.Node:
        method = _METHODS.get(type(node))
        if method is None:
            method = _METHODS[type(node)] = getattr(Checker, "_" + type(node).__name__.lower())
        result: ast.Node = method(self, node, scope)
        return result

    # names and fields ----------------------------------------------------------------------

    def _literal(self, node: ast.Literal, scope: Scope) -> ast.Node:
        return node

    def _name(self, node: ast.Name, scope: Scope) -> ast.Node:
        if node.id in scope.variables:
            return _replace(node, type=scope.variables[node.id])
        if scope.element is not None and node.id in self.env.fields(scope.element):
            return _replace(node, type=self.env.fields(scope.element)[node.id].type)
        if node.id in self.env.roots:
            return _replace(node, type=self.env.roots[node.id].type)
        candidates = [*scope.variables, *self.env.roots, *(self.env.fields(scope.element) if scope.element else [])]
        hint = (
            _field_of_a_record(node.id, scope, self.env)
            or did_you_mean(node.id, candidates)
            or f"known names: {', '.join(sorted(candidates))}"
        )
        weekday = _weekday_abbreviated(node.id)  # `sat` (until 2026-12-04 "did you mean `u.at`?")
        if weekday is None and not did_you_mean(node.id, candidates):  # `wensday`: a weekday misspelt
            weekday = _close_weekday(node.id)
        if weekday:
            raise error(node.span, "BR502", f"unknown name `{node.id}` (not a weekday)", f"did you mean `{weekday}`?")
        if node.id in self.env.foreign:
            suggestion = did_you_mean(node.id, candidates)
            hint = self.env.foreign[node.id] + (f"; {suggestion}" if suggestion else "")
        raise error(node.span, "BR502", f"unknown field `{node.id}`", hint)

    def _attribute(self, node: ast.Attribute, scope: Scope) -> ast.Node:
        try:
            obj = self.check(node.obj, scope)
        except CriteriaError as e:
            raise _unnamed_record(node, scope, self.env, e) from None
        t = _type(obj)
        target = t.elem if t.name == "list" and t.elem is not None and t.elem.name == "record" else t
        if target.name == "record":
            fields = self.env.fields(target.record or "")
            if node.name not in fields:
                # a part of a date-time asked of the record (`consumption.weekday`): of its date-time field
                timed = [f for f, v in fields.items() if v.type.name == "datetime"]
                part = node.name in ("weekday", "time", "date", "year", "month", "day", "hour")
                hint = (
                    (f"did you mean `{node.obj.span.text}.{timed[0]}.{node.name}`?" if part and len(timed) == 1 else "")
                    or did_you_mean(node.name, fields)
                    or f"its fields: {', '.join(sorted(fields))}"
                )
                name = node.obj.id if isinstance(node.obj, ast.Name) else ""
                if name in self.env.roots and name in scope.variables:  # `any account in subscription.products`
                    hint = (
                        f"`{name}` here is the quantifier's item, not the scenario's `{name}`: "
                        f"name the item otherwise (`p`); {hint}"
                    )
                raise error(node.span, "BR502", f"`{node.obj.span.text}` has no field `{node.name}`", hint)
            ftype = fields[node.name].type
            if t.name == "list":
                result = T.list_of(ftype)
                return _replace(node, obj=obj, type=result.maybe() if t.optional else result)
            return _replace(node, obj=obj, type=ftype.maybe() if t.optional else ftype)
        if t.name == "list" and t.elem is not None and node.name in _BUILTIN_ATTRIBUTES.get(t.elem.name, {}):
            each = _BUILTIN_ATTRIBUTES[t.elem.name][node.name]
            # a missing element's field is missing too (`subscription.products.price.amount` over a
            # line without a price): typed so, a `where` over the values guards it
            result = T.list_of(each.maybe() if t.elem.optional else each)
            return _replace(node, obj=obj, type=result.maybe() if t.optional else result)
        builtin = _BUILTIN_ATTRIBUTES.get(t.name, {})
        if node.name in builtin:
            result = builtin[node.name]
            return _replace(node, obj=obj, type=result.maybe() if t.optional else result)
        hint = did_you_mean(node.name, builtin) or (
            f"it has: {', '.join(builtin)}" if builtin else f"{t} has no fields"
        )
        raise error(node.span, "BR502", f"`{node.obj.span.text}` is {t}; it has no field `{node.name}`", hint)

    # logic ---------------------------------------------------------------------------------------

    def _not(self, node: ast.Not, scope: Scope) -> ast.Node:
        operand = self._boolean(node.operand, scope, "`not`")
        return _replace(node, operand=operand, type=T.BOOL)

    def _boolop(self, node: ast.BoolOp, scope: Scope) -> ast.Node:
        operands = tuple(self._boolean(o, scope, f"`{node.op}`") for o in node.operands)
        return _replace(node, operands=operands, type=T.BOOL)

    def _value(self, node: ast.Node, scope: Scope) -> ast.Node:
        """`check` of an operand that must be a value: a condition (`a == b`, `x in S`, `any …`) is
        true or false, or unknown, never a value to compare or compute with (`(a == b) == true`)."""
        if isinstance(node, _CONDITIONS):
            raise error(
                node.span,
                "BR503",
                f"`{node.span.text}` is a condition, not a value to compare or compute with",
                "write the condition alone (`x == y`, not `(x == y) == true`), `not (…)` for its opposite, "
                "and `and`/`or` to combine conditions",
            )
        return self.check(node, scope)

    def _boolean(self, node: ast.Node, scope: Scope, where: str) -> ast.Node:
        typed = self.check(node, scope)
        if _type(typed).name != "bool":
            raise _needs_a_condition(node.span, where, _type(typed), self.env)
        return typed

    # comparisons --------------------------------------------------------------------------------

    def _text_operand(self, node: ast.Node, other: ast.Node, scope: Scope, op: str = "==") -> ast.Node:
        """`_value` of an operand compared with text (`other`, already checked): a bare word the
        scenario has no field of is most likely text left unquoted (`reason == moved_abroad`), and
        the hint says so (until 2026-12-02 it listed the scenario's top-level names)."""
        try:
            return self._value(node, scope)
        except CriteriaError as e:
            if ast.written_constant(other):  # (`devce == "stb"`: a field misspelt, told with its "did you mean")
                raise
            raise _unquoted(node, e, _type(other), op) from None

    def _set_operand(self, node: ast.Node, other: ast.Node, scope: Scope) -> ast.Node:
        """`_text_operand` of a set compared with text: a bare word among its items
        (`reason in {moved_abroad, "death"}`) gets the hint to quote it."""
        try:
            return self._value(node, scope)
        except CriteriaError as e:
            marked = (e.diagnostic.line, e.diagnostic.column)
            items = node.items if isinstance(node, ast.SetLiteral) else (node,)
            unquoted = next((i for i in items if (i.span.line, i.span.column) == marked), None)
            if unquoted is None:
                raise
            # a bare word where a set goes (`overlaps military`): written as a set of text
            raise _unquoted(unquoted, e, _type(other), "in" if unquoted is node else "item") from None

    def _compare(self, node: ast.Compare, scope: Scope) -> ast.Node:
        if isinstance(node.left, ast.Name):  # (`moved_abroad == cancellation.reason`)
            try:
                first = self._value(node.left, scope)
            except CriteriaError as e:
                try:
                    other = self._value(node.right, scope)
                except CriteriaError:
                    raise e from None  # (`foo == bar`: the first unknown name is told, as before)
                if ast.written_constant(node.right):  # (`reasn == "moved_abroad"`: a field misspelt)
                    raise e from None
                raise _unquoted(node.left, e, _type(other), node.op) from None
            left, right = _same_currency(first, self._text_operand(node.right, first, scope, node.op))
        else:
            first = self._value(node.left, scope)
            left, right = _same_currency(first, self._text_operand(node.right, first, scope, node.op))
        lt, rt = _type(left), _type(right)
        self._comparable(node, lt, rt, node.op)
        if node.op not in ("==", "!=") and lt.name not in T.ORDERED:
            raise error(
                node.span,
                "BR503",
                f"{_words(lt, self.env)} cannot be ordered with `{node.op}`",
                "use `==`, `!=` or `in`",
            )
        if node.op not in ("==", "!=") and lt.name == "string":
            self._unordered_codes(node, (left, right), node.op, scope)
        if lt.name == "duration" and isinstance(left, ast.Literal) and isinstance(right, ast.Literal):
            _same_duration_family(node, left.value, right.value)
        return _replace(node, left=left, right=right, type=T.BOOL)

    def _comparable(self, node: ast.Node, lt: T.Type, rt: T.Type, op: str) -> None:
        if T.compatible(lt, rt):
            return
        hint = "compare like with like"
        if {lt.name, rt.name} == {"string", "number"}:
            hint = 'quote both sides or neither: "5" is text, 5 is a number'
        elif lt.name == "money" and rt.name == "money":
            hint = "convert to one currency first; amounts in different currencies are never compared"
        elif "money" in (lt.name, rt.name) and {lt.name, rt.name} & {"percent", "number"}:
            hint = "write money with its currency, e.g. `20.00 EUR`"
        elif {lt.name, rt.name} == {"date", "datetime"}:
            hint = "use `.date` of the date-time, e.g. `as_of.date`"
        elif {lt.name, rt.name} & {"date", "datetime"}:
            hint = "write a date as YYYY-MM-DD"
        elif {lt.name, rt.name} == {"duration", "number"}:
            hint = "write the number with its unit, e.g. `6 months` or `14 days`"
        raise error(
            node.span, "BR503", f"cannot compare {_words(lt, self.env)} with {_words(rt, self.env)} using `{op}`", hint
        )

    def _membership(self, node: ast.Membership, scope: Scope) -> ast.Node:
        try:
            item = self._value(node.item, scope)
        except CriteriaError as e:  # `military in account.segments`: a bare word, the list of text it is in
            if ast.written_constant(node.collection):
                raise
            try:
                collection = self._value(node.collection, scope)
            except CriteriaError:
                raise e from None
            raise _unquoted(node.item, e, _type(collection), "item") from None
        collection = self._set_operand(node.collection, item, scope)
        it, ct = _type(item), _type(collection)
        if T.is_collection(it) or it.name == "record":
            raise error(
                node.item.span,
                "BR503",
                f"`in` tests one value, found {_words(it, self.env)}",
                "use `overlaps` (any in common) or `contains` (all of them) for a set or a list",
            )
        if not T.is_collection(ct):
            raise error(
                node.collection.span,
                "BR503",
                f"`in` needs a set or a list on its right, found {_words(ct, self.env)}",
                'write a set: {"a", "b"}',
            )
        if ct.elem is not None:
            self._comparable(node, _type(item), ct.elem, "in")
            item = _with_currency(item, ct.elem.currency)
            _same_duration_families(node, item, collection)
        return _replace(node, item=item, collection=collection, type=T.BOOL)

    def _setrelation(self, node: ast.SetRelation, scope: Scope) -> ast.Node:
        left = self._value(node.left, scope)
        right = self._set_operand(node.right, left, scope)
        lt, rt = _type(left), _type(right)
        if not T.is_collection(lt):
            raise error(
                node.left.span,
                "BR503",
                f"`{node.op}` needs a set or a list on its left, found {_words(lt, self.env)}",
                'e.g. `account.segments overlaps {"VIP"}`',
            )
        if node.op == "overlaps" and not T.is_collection(rt):
            raise error(
                node.right.span,
                "BR503",
                f"`overlaps` needs a set or a list on its right, found {_words(rt, self.env)}",
                'write a set: {"a", "b"}',
            )
        other = rt.elem if T.is_collection(rt) else rt
        if lt.elem is not None and other is not None:
            self._comparable(node, lt.elem, other, node.op)
            _same_duration_families(node, left, right)
        return _replace(node, left=left, right=right, type=T.BOOL)

    def _between(self, node: ast.Between, scope: Scope) -> ast.Node:
        value, low, high = (self._value(n, scope) for n in (node.value, node.low, node.high))
        value, low = _same_currency(value, low)
        value, high = _same_currency(value, high)
        value, low = _same_currency(value, low)
        for bound in (low, high):
            self._comparable(node, _type(value), _type(bound), "between")
        self._comparable(node, _type(low), _type(high), "between")  # (`between 5.00 USD and 10.00 EUR`)
        if _type(value).name not in T.ORDERED:
            raise error(
                node.span,
                "BR503",
                f"{_words(_type(value), self.env)} has no order for `between`",
                "use `in` with a set",
            )
        if _type(value).name == "string":
            self._unordered_codes(node, (value, low, high), "between", scope)
        return _replace(node, value=value, low=low, high=high, type=T.BOOL)

    def _unordered_codes(self, node: ast.Node, operands: Iterable[ast.Node], op: str, scope: Scope) -> None:
        """BR503 for an order (`<`, `>=`, `between`) on a field holding catalog codes: a code's
        spelling has no meaning to order by, and the code checks read `==` and `in` only, so
        `subscription.billing_term_scheme between "monthly-24" and "monthly-24"` let an ad hoc
        discount name a scheme without flexible pricing (BR408), and `>= "zzz"` a code that does
        not exist (BR302), in silence (until 2026-12-03)."""
        for operand in operands:
            kind = self._code_kind(operand, scope)
            if kind is not None:
                what = kind.replace("_", " ")
                article = "an" if what[0] in "aeio" else "a"
                raise error(
                    node.span,
                    "BR503",
                    f"`{operand.span.text}` is {article} {what} code: codes have no order for `{op}`",
                    "compare codes with `==` or `in {…}`",
                )

    def _code_kind(self, node: ast.Node, scope: Scope) -> str | None:
        """The kind of catalog code a typed value holds (`catalog_codes.CODE_FIELDS`): a record's
        field, a projection's (`subscription.products.product`), a bare field in an aggregate's
        `where`, a name bound to the items of one, a set of them; None for any other value."""
        from engine.criteria.catalog_codes import CODE_FIELDS

        if isinstance(node, ast.Attribute):
            owner = _type(node.obj)
            if owner.name == "list" and owner.elem is not None:
                owner = owner.elem
            return CODE_FIELDS.get((owner.record, node.name)) if owner.record else None
        if isinstance(node, ast.Name):
            if node.id in scope.variables:
                return scope.codes.get(node.id)
            element = scope.element
            return CODE_FIELDS.get((element, node.id)) if element else None
        if isinstance(node, ast.SetLiteral):
            return next((k for k in (self._code_kind(i, scope) for i in node.items) if k is not None), None)
        return None

    # arithmetic --------------------------------------------------------------------------------

    def _arith(self, node: ast.Arith, scope: Scope) -> ast.Node:
        left, right = self._value(node.left, scope), self._value(node.right, scope)
        if node.op in "+-":
            left, right = _same_currency(left, right)
        lt, rt = _type(left), _type(right)
        for operand in (left, right):
            if _span_valued(operand):
                raise error(
                    operand.span,
                    "BR503",
                    f"`{operand.span.text}` is a span of calendar time; it can only be compared with a duration",
                    "compare it, e.g. `subscription.maturity >= 6 months`, or add a duration to a date",
                )
        result = _arith_type(node.op, lt, rt)
        if result is None:
            offset = _offset_without_colon(node, lt, rt)
            if offset is not None:
                raise offset
            raise error(
                node.span,
                "BR503",
                f"cannot compute {_words(lt, self.env)} {node.op} {_words(rt, self.env)}",
                _arith_hint(lt, rt, node.op),
            )
        if lt.optional or rt.optional:
            result = result.maybe()
        typed = _replace(node, left=left, right=right, type=result)
        divisor = _folded_number(right) if node.op == "/" else None
        if divisor is not None and divisor == 0:  # never an answer: the criterion could never hold
            raise error(
                right.span,
                "BR505",
                f"`{node.span.text}` divides by zero",
                "divide by a number other than 0",
            )
        if result.name in ("date", "datetime") and _constant(typed) is None:
            raise error(
                node.span,
                "BR505",
                f"`{node.span.text}` falls outside the calendar (0001-01-01 to 9999-12-31)",
                "dates run from year 1 to year 9999; check the duration",
            )
        return typed

    def _negate(self, node: ast.Negate, scope: Scope) -> ast.Node:
        operand = self._value(node.operand, scope)
        t = _type(operand)
        if t.name not in ("number", "money", "percent"):
            raise error(node.span, "BR503", f"cannot negate {t}", "only numbers, money and percentages have a sign")
        return _replace(node, operand=operand, type=t)

    # collections --------------------------------------------------------------------------------

    def _setliteral(self, node: ast.SetLiteral, scope: Scope) -> ast.Node:
        items = tuple(self._value(i, scope) for i in node.items)
        if not items:
            return _replace(node, items=items, type=T.Type("set", elem=None))
        first = _type(items[0])
        for item in items[1:]:
            if not T.compatible(first, _type(item)):
                raise error(
                    item.span,
                    "BR503",
                    f"a set holds values of one type: {_words(first, self.env)} and {_words(_type(item), self.env)} are mixed",
                    "make every element the same kind of value",
                )
        if first.name in ("set", "list", "record"):
            raise error(node.span, "BR503", f"a set cannot hold {_words(first, self.env)}", "list plain values")
        return _replace(node, items=items, type=T.set_of(first))

    def _quantifier(self, node: ast.Quantifier, scope: Scope) -> ast.Node:
        collection = self.check(node.collection, scope)
        ct = _type(collection)
        if not T.is_collection(ct) or ct.elem is None:
            raise error(
                node.collection.span,
                "BR503",
                f"`{node.kind}` needs a list to look through, found {_words(ct, self.env)}",
                'e.g. `any p in subscription.products where p.type == "termed"`',
            )
        code = self._code_kind(collection, scope) if ct.elem.name == "string" else None
        inner = scope.loop(node, node.kind).bind(node.var, ct.elem, code)
        condition = self._boolean(node.condition, inner, "`where`")
        return _replace(node, collection=collection, condition=condition, type=T.BOOL)

    def _aggregate(self, node: ast.Aggregate, scope: Scope) -> ast.Node:
        collection = self.check(node.collection, scope)
        ct = _type(collection)
        if not T.is_collection(ct) or ct.elem is None:
            raise error(
                node.collection.span,
                "BR503",
                f"`{node.func}` needs a list, found {_words(ct, self.env)}",
                'e.g. `count(usage where device == "STB")`',
            )
        source = collection
        if isinstance(collection, ast.Attribute) and _type(collection.obj).name == "list":
            elem_of = _type(collection.obj).elem
            if elem_of is not None and elem_of.name == "record":
                source = collection.obj  # sum(usage.quantity where ...): filter usage records, sum a field
            # (else a field of values, `subscription.products.charge.amount`: the amounts are the list)
        elem = _type(source).elem
        assert elem is not None
        looped = scope.loop(node, node.func)
        code = self._code_kind(source, scope) if node.var and elem.name == "string" else None
        inner = (
            looped.bind(node.var, elem, code)
            if node.var
            else looped.with_element(
                elem.record if elem.name == "record" else None, (node.func, node.collection.span.text)
            )
        )
        where = self._boolean(node.where, inner, "`where`") if node.where is not None else None
        within = None
        if node.within is not None:
            within = self.check(node.within, scope)
            if not isinstance(within, ast.Literal) or _type(within).name != "duration":
                raise error(
                    node.within.span,
                    "BR503",
                    "`within` needs a duration such as `1 month`",
                    "write e.g. `within 30 days`",
                )
            if elem.name != "record" or elem.record not in self.env.time_fields:
                raise error(
                    node.within.span,
                    "BR503",
                    f"`within` needs records with a time stamp; {_words(elem, self.env)} has none",
                    "use `within` with `usage` or `discount_history`",
                )
            if getattr(within.value, "count", None) == 0:  # (the window (as_of, as_of] holds no record)
                raise error(
                    node.within.span,
                    "BR503",
                    f"`within {within.value}` is a window of no time: it holds no record",
                    "write a window of at least one day, e.g. `within 1 day`",
                )
        value = ct.elem
        if node.func == "count":
            result = T.NUMBER
        elif value.name not in ("number", "money", "percent", "date", "datetime", "time", "duration") or (
            node.func == "sum" and value.name not in ("number", "money")
        ):
            raise error(
                node.collection.span,
                "BR503",
                f"cannot {node.func} {_words(ct, self.env)}",
                "sum numbers or money; min/max need an order",
            )
        else:
            result = value.maybe()
        return _replace(node, collection=collection, where=where, within=within, type=result)

    def _call(self, node: ast.Call, scope: Scope) -> ast.Node:
        from engine.criteria.environment import FUNCTIONS

        params, result, _impl = FUNCTIONS[node.func]
        if len(node.args) != len(params):
            raise error(
                node.span,
                "BR503",
                f"`{node.func}` takes {len(params)} arguments, found {len(node.args)}",
                f"write `{node.func}(subscription, 5 days)`",
            )
        args = tuple(self._value(a, scope) for a in node.args)
        for arg, want in zip(args, params, strict=True):
            if not T.compatible(_type(arg).required(), want):
                raise error(
                    arg.span,
                    "BR503",
                    f"`{node.func}` needs {_words(want, self.env)} here, found {_words(_type(arg), self.env)}",
                    f"write `{node.func}(subscription, 5 days)`",
                )
        return _replace(node, args=args, type=result)


def _not_a_condition(span: ast.Span, found: T.Type, env: Environment) -> CriteriaError:
    return error(
        span,
        "BR507",
        f"a criterion must be true or false, but this is {_words(found, env)}",
        'compare it with something, e.g. `== "Residential"` or `>= 6 months`',
    )


def _needs_a_condition(span: ast.Span, where: str, found: T.Type, env: Environment) -> CriteriaError:
    return error(
        span,
        "BR503",
        f"{where} needs a condition (true/false), found {_words(found, env)}",
        'write a comparison here, e.g. `account.classification == "SME"`',
    )


def _words(t: T.Type, env: Environment) -> str:
    """`t` as a message names it (`types.describe`), a record in the scenario's words: "the
    `account` record", "a record of `approvals`", "a list of records of `subscription.products`"
    (until 2026-12-03 the model's class, with a wrong article: "a ApprovalRecord record")."""
    record = t.elem if t.name in ("list", "set") and t.elem is not None else t
    if record.name != "record" or record.record is None:
        return str(t)
    path, items = _record_paths(env).get(record.record, (None, False))
    if path is None:
        one, many = "a record", "records"
    elif items:
        one, many = f"a record of `{path}`", f"records of `{path}`"
    else:
        one, many = f"the `{path}` record", f"`{path}` records"
    return one if record is t else f"a {t.name} of {many}"


def _record_paths(env: Environment) -> dict[str, tuple[str, bool]]:
    """Each record of `env` → the shortest path from its roots that reaches it, and whether the
    record is an item of the list there (`approvals`) or the field itself (`account`). (Asked
    only for a message: a walk over a few dozen fields.)"""
    found: dict[str, tuple[str, bool]] = {}
    queue = [(name, info.type) for name, info in env.roots.items()]
    while queue:
        path, t = queue.pop(0)
        items = t.name == "list" and t.elem is not None
        record = t.elem if items else t
        if record is None or record.name != "record" or record.record is None or record.record in found:
            continue
        found[record.record] = (path, items)
        queue.extend((f"{path}.{name}", info.type) for name, info in env.fields(record.record).items())
    return found


def _type(node: ast.Node) -> T.Type:
    t: Any = getattr(node, "type", None)
    assert t is not None, f"untyped node {node!r}"
    return t  # type: ignore[no-any-return]


_NOT_CONSTANT = object()


def _folded_number(node: ast.Node) -> Any:
    """A number literal, perhaps negated (`0`, `-0`), or None."""
    if isinstance(node, ast.Negate):
        node = node.operand
    if isinstance(node, ast.Literal) and isinstance(node.value, (int, Decimal)) and not isinstance(node.value, bool):
        return node.value
    return None


def _constant(node: ast.Node) -> Any:
    """The value of a literal or of date arithmetic on literals (None: it leaves the calendar);
    `_NOT_CONSTANT` for anything that depends on the scenario."""
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.Arith) and node.op in "+-" and _type(node).name in ("date", "datetime"):
        left, right = _constant(node.left), _constant(node.right)
        if left is _NOT_CONSTANT or right is _NOT_CONSTANT:
            return _NOT_CONSTANT
        if left is None or right is None:
            return None
        from engine.criteria.runtime import add

        return add(left, right, node.op == "-")
    return _NOT_CONSTANT


def _with_currency(node: ast.Node, currency: str | None) -> ast.Node:
    """Give money computed in the criterion (sums, arithmetic) the currency it meets.

    Scenario money carries its currency in the data; a `sum` over no values has none, so the
    checker hands it the currency of the money it is compared or combined with, and the sum of
    nothing is zero in that currency.
    """
    t = getattr(node, "type", None)
    if currency is None or t is None or t.name != "money" or t.currency is not None:
        return node
    given = T.Type("money", currency=currency, optional=t.optional)
    if isinstance(node, ast.Aggregate):
        return _replace(node, type=given)
    if isinstance(node, ast.Arith):
        return _replace(
            node, left=_with_currency(node.left, currency), right=_with_currency(node.right, currency), type=given
        )
    if isinstance(node, ast.Negate):
        return _replace(node, operand=_with_currency(node.operand, currency), type=given)
    return node


def _weekday_abbreviated(name: str) -> str | None:
    """The weekday `name` abbreviates (`sat`, `thurs`: the start of one weekday, three letters or
    more), or None."""
    if len(name) < 3:
        return None
    days = [day for day in WEEKDAYS if day.startswith(name.lower()) and day != name.lower()]
    return days[0] if len(days) == 1 else None


def _close_weekday(name: str) -> str | None:
    """The weekday `name` misspells, when it is close (`wensday`; not `today`, nearer `monday`
    than to anything else but no weekday misspelt)."""
    from difflib import SequenceMatcher

    best = max(WEEKDAYS, key=lambda day: SequenceMatcher(None, name.lower(), day).ratio())
    return best if SequenceMatcher(None, name.lower(), best).ratio() >= 0.8 else None


def _field_of_a_record(name: str, scope: Scope, env: Environment) -> str | None:
    """ "did you mean `account.classification`?" for a field written without its record
    (`classification`, `maturity`): every quantifier's item and top-level record that has the
    field; failing that, a field of a quantifier's item close to it (`prise` in `any p in
    subscription.products where prise > 2 EUR`: `p.price`); or None. Until 2026-12-02 the hint
    was the nearest top-level name (`classification`: "did you mean `cancellation`?", `prise`:
    "`purchase`?") or the list of them."""
    items = [(var, t.record) for var, t in scope.variables.items() if t.name == "record" and t.record]
    roots = [
        (root, known.type.record)
        for root, known in env.roots.items()
        if known.type.name == "record" and root not in scope.variables  # (not a name a quantifier took)
    ]
    paths = [f"`{owner}.{name}`" for owner, record in [*items, *roots] if name in env.fields(record or "")]
    if paths:
        return f"did you mean {' or '.join(paths)}?"
    for var, record in reversed(items):  # the innermost item first
        close = did_you_mean(name, env.fields(record or ""))
        if close:
            return close.replace("`", f"`{var}.", 1)
    return None


def _same_currency(left: ast.Node, right: ast.Node) -> tuple[ast.Node, ast.Node]:
    lt, rt = _type(left), _type(right)
    if lt.name != "money" or rt.name != "money":
        return left, right
    currency = lt.currency or rt.currency
    return _with_currency(left, currency), _with_currency(right, currency)


def _same_duration_family(node: ast.Node, a: Any, b: Any) -> None:
    short = {TimeUnit.DAYS, TimeUnit.WEEKS}
    if (a.unit in short) != (b.unit in short):
        raise error(
            node.span,
            "BR503",
            f"cannot compare {a} with {b}: months and years have no fixed number of days",
            "compare durations of the same kind of unit",
        )


def _same_duration_families(node: ast.Node, left: ast.Node, right: ast.Node) -> None:
    """`_same_duration_family` for membership and set relations, whose elements compare as `==`
    does, where the durations written could never be compared: `6 months in {180 days}` (no
    element of the set compares with the item), `{6 months} overlaps {180 days}` (no pair
    compares), `{6 months} contains {180 days}` (an element of the right that none of the left
    compares with). Until 2026-12-02 these passed validation and never held, negated or not; a
    set mixing the two kinds, `6 months in {6 months, 180 days}`, holds and passes."""
    items = _written_durations(left)
    others = _written_durations(right)
    if not items or not others:
        return
    if isinstance(node, ast.SetRelation) and node.op == "contains":
        if _all_written(left):  # each on the right needs one on the left to compare with
            for b in others:
                if not any(_comparable_durations(a, b) for a in items):
                    _same_duration_family(node, items[0], b)
        return
    if (
        _all_written(left)
        and _all_written(right)
        and not any(_comparable_durations(a, b) for a in items for b in others)
    ):
        _same_duration_family(node, items[0], others[0])


def _comparable_durations(a: Any, b: Any) -> bool:
    short = {TimeUnit.DAYS, TimeUnit.WEEKS}
    return (a.unit in short) == (b.unit in short)


def _all_written(node: ast.Node) -> bool:
    """Whether every element of `node` (a set literal's items, or the value) is a duration literal."""
    items = node.items if isinstance(node, ast.SetLiteral) else (node,)
    return all(isinstance(i, ast.Literal) and _type(i).name == "duration" for i in items)


def _written_durations(node: ast.Node) -> list[Any]:
    """The durations written as literals in `node`: the literal itself, or a set literal's items."""
    items = node.items if isinstance(node, ast.SetLiteral) else (node,)
    return [i.value for i in items if isinstance(i, ast.Literal) and _type(i).name == "duration"]


def _span_valued(node: ast.Node) -> bool:
    """A duration that is a span of calendar time at run time (from a start day to `as_of`):
    `uninterrupted(…)`, a subscription's `maturity` or `age`, a date minus a date. Comparing it
    with a duration counts the calendar; it has no value to add or subtract."""
    if isinstance(node, ast.Call):
        return node.func == "uninterrupted"
    if isinstance(node, ast.Attribute):
        return node.name in ("maturity", "age") and _type(node.obj).record == "Subscription"
    if isinstance(node, ast.Arith):
        return node.op == "-" and {_type(node.left).name, _type(node.right).name} <= {"date", "datetime"}
    return False


def _arith_type(op: str, lt: T.Type, rt: T.Type) -> T.Type | None:
    a, b = lt.name, rt.name
    if op in "+-":
        if a == b and a in ("number", "percent"):
            return T.Type(a)
        if a == b == "money":
            return T.Type("money", currency=lt.currency or rt.currency) if T.compatible(lt, rt) else None
        if a in ("date", "datetime") and b == "duration":
            return T.Type(a)
        if op == "-" and a == b and a in ("date", "datetime"):
            return T.DURATION
        return None
    if op == "*":
        if {a, b} <= {"number", "percent"}:
            return T.NUMBER if "number" in (a, b) else T.PERCENT
        if "money" in (a, b) and {a, b} - {"money"} <= {"number", "percent"} and not (a == b == "money"):
            return T.Type("money", currency=lt.currency or rt.currency)
        return None
    if a == "money" and b in ("number",):
        return T.Type("money", currency=lt.currency)
    if a == b == "number":
        return T.NUMBER
    return None


#: A date-time literal followed, with no space, by an offset without its colon (`+02`, `+0200`,
#: `-0530`): the lexer reads a date-time and a number added to it.
_BARE_OFFSET = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)([+-])([0-9]{1,2})([0-9]{2})?"
)


def _offset_without_colon(node: ast.Arith, lt: T.Type, rt: T.Type) -> CriteriaError | None:
    """BR505 for a date-time literal written with an offset without its colon
    (`2015-03-29T02:30:00+02`, `…+0200`), which reads as a date-time plus a number: the error names
    the offset as it is written (`+02:00`), where until 2026-12-04 it said "cannot compute a
    date-time + a number" with a hint to add a duration. None for anything else (an offset past
    ±23:59, or with a space around the sign, is arithmetic, and its error is the usual one)."""
    if lt.name != "datetime" or rt.name != "number" or not isinstance(node.left, ast.Literal):
        return None
    written = _BARE_OFFSET.fullmatch(node.span.text or "")
    if written is None:
        return None
    moment, sign, hours, minutes = written.groups()
    if int(hours) > 23 or (minutes is not None and int(minutes) > 59):
        return None
    offset = f"{sign}{int(hours):02d}:{minutes or '00'}"
    return error(
        node.span,
        "BR505",
        f"`{node.span.text}` is not a date-time: write the offset as {offset}",
        f"an offset is written with a colon between its hours and minutes: `{moment}{offset}`",
    )


def _arith_hint(lt: T.Type, rt: T.Type, op: str = "+") -> str:
    if lt.name == rt.name == "money":
        if op in "*/":
            return "money multiplies and divides by numbers and percentages, not by money (`p.price * 2`)"
        return "amounts in different currencies cannot be added"
    if lt.name == rt.name == "duration":
        return (
            "durations are added to dates, one after the other: `subscription.start + 1 year + 6 months`, "
            "not `subscription.start + (1 year + 6 months)`"
        )
    if "duration" in (lt.name, rt.name) and op in "*/":
        return "write the duration itself, e.g. `12 months`, rather than a duration times a number"
    if "money" in (lt.name, rt.name):
        return "money combines with money (+, -) or with numbers and percentages (*, /)"
    if op == "-" and {lt.name, rt.name} == {"date", "datetime"}:  # `as_of - account.start`
        return "subtract dates from dates: use `.date` of the date-time, e.g. `as_of.date - account.start`"
    if {lt.name, rt.name} & {"date", "datetime"}:
        return "add or subtract a duration, e.g. `subscription.start + 6 months`"
    return "check the types of both sides"


def check_condition(node: ast.Node, env: Environment) -> ast.Node:
    """Type-check a criterion; raises CriteriaError."""
    return Checker(env).check_condition(node)


def check_parsed(parsed: Parsed, env: Environment, within: str | None = None) -> ast.Node:
    """Type-check a parsed expression (once per text and environment) and place it where it was written.

    Alone (`within` None) it must be a condition (BR507, as `check_condition` says); as an operand
    of a section's `and`/`or` (`within` is "`and`" or "`or`") it must be one too (BR503, as the
    checker says of any operand). Raises CriteriaError located at this occurrence.
    """
    return check_placed(parsed, env, within).node()


def check_placed(parsed: Parsed, env: Environment, within: str | None = None) -> Placed:
    """`check_parsed`, its typed tree placed only when first asked for (`Placed.node`)."""
    typed = _typed(parsed.text, parsed.template, env)
    if isinstance(typed, Diagnostic):
        raise CriteriaError(relocate(typed, parsed.locate))
    if _type(typed).name != "bool":
        node = anchor(typed, parsed.locate)
        if within is None:
            raise _not_a_condition(node.span, _type(node), env)
        raise _needs_a_condition(node.span, within, _type(node), env)
    return Placed(typed, ((typed, parsed.locate),))


@dataclass(frozen=True, eq=False)
class Placed:
    """A typed condition whose spans are placed in the rule file when first asked for (`node`).

    `tree` is the typed tree with the spans of its parts still at offsets into their texts (the
    templates the caches share): the compiler reads no position, only node types, values and
    texts, so it compiles `tree`; `node()` is the tree `check_parsed` gives, each part anchored
    by its locator. `parts` are the (template, locator) pairs of `tree`: `tree` itself, or the
    operands of a section's `and`/`or`, whose own span is already in the rule file. Anchoring is
    a copy of every node (a microsecond each), which a clean `validate` never needs.
    """

    tree: ast.Node
    parts: tuple[tuple[ast.Node, Locator], ...]

    def node(self) -> ast.Node:
        located = tuple(anchor(template, locate) for template, locate in self.parts)
        if len(self.parts) == 1 and self.parts[0][0] is self.tree:
            return located[0]
        return _replace(self.tree, operands=located)

    def findings(self, find: Callable[[ast.Node], Iterable[Diagnostic]]) -> list[Diagnostic]:
        """What `find` reports over `node()`, found over the templates and then placed: `find`
        must report at the spans of nodes (a template's spans are offsets)."""
        if len(self.parts) == 1 and self.parts[0][0] is self.tree:
            template, locate = self.parts[0]
            return [relocate(d, locate) for d in find(template)]
        return list(find(self.node()))

    @staticmethod
    def combined(span: ast.Span, op: str, parts: Sequence[Placed]) -> Placed:
        """The `and`/`or` of a section's entries (each one part)."""
        pairs = tuple(pair for part in parts for pair in part.parts)
        return Placed(ast.BoolOp(span, op, tuple(template for template, _ in pairs), T.BOOL), pairs)


#: typed templates: (id of the environment, text) → (the environment, typed template or its diagnostic)
_TYPED: dict[tuple[int, str], tuple[Environment, ast.Node | Diagnostic]] = {}
_TYPED_LIMIT = 16384


def _typed(text: str, template: ast.Node, env: Environment) -> ast.Node | Diagnostic:
    """The template typed against `env` (spans at offsets, as the template's), cached by text.

    Environments are told apart by identity (discount criteria and term exceptions are typed
    against the scenario, credit criteria against a consumption); each cached entry keeps its
    environment alive, so an identity is never reused while its entries exist.
    """
    key = (id(env), text)
    cached = _TYPED.get(key)
    if cached is not None and cached[0] is env:
        return cached[1]
    result: ast.Node | Diagnostic | None = typed_instance(template, env)
    if result is None:
        try:
            result = Checker(env).check(template, Scope())
        except CriteriaError as exc:
            result = exc.diagnostic
        if isinstance(result, ast.Node) and _literal_free(result):
            remember_typed(template, env, result, _nonzero_literals(result))
        else:
            remember_typed(template, env, None)
    if len(_TYPED) >= _TYPED_LIMIT:
        _TYPED.clear()
    _TYPED[key] = (env, result)
    return result


def _literal_free(typed: ast.Node) -> bool:
    """Whether the checker's verdict on `typed` depends on no literal's value (see
    `engine.criteria.parse.typed_instance`): no two literals compared (durations of one family), no
    date or date-time computed (it must stay inside the calendar). A divisor and a `within` window
    written as values matter only when zero: `_nonzero_literals` names them, and another text of the
    shape with a zero there is checked again (until 2026-12-02 `x / 0` and `within 0 days` passed
    when a text of their shape with another number came first)."""
    for node in ast.walk(typed):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Literal) and isinstance(node.right, ast.Literal):
            return False  # `_same_duration_family`
        if isinstance(node, ast.Arith) and _type(node).name in ("date", "datetime"):
            return False  # `_constant`
    return True


def _nonzero_literals(typed: ast.Node) -> tuple[ast.Node, ...]:
    """The literals of `typed` whose value the checker refuses at zero: a divisor written as a
    number (BR505) and a `within` window (BR503)."""
    found: list[ast.Node] = []
    for node in ast.walk(typed):
        if isinstance(node, ast.Arith) and node.op == "/" and _folded_number(node.right) is not None:
            found.append(node.right.operand if isinstance(node.right, ast.Negate) else node.right)
        within = getattr(node, "within", None)
        if isinstance(within, ast.Literal):
            found.append(within)
    return tuple(found)


def forget_texts(keep: Callable[[Any], None] | None = None) -> None:
    """Drop the parsed and typed templates (what `parse_located` and `check_parsed` cache by text).

    The pipeline calls it when a rule set's criteria are done: the caches serve the repetitions
    inside one rule set, and tens of thousands of cached nodes left alive would cost every later
    garbage collection a walk over them (the one at interpreter exit included: measured, half a
    second after validating 4,000 definitions).

    `keep`, if given, is handed what the caches held before they are emptied (the command line
    keeps it until the process exits, rather than free it: `engine.cli.exits.keep_until_exit`).
    """
    from engine.criteria.locate import _STAGE_LINES
    from engine.criteria.parse import _FIRSTS, _INSTANCES, _LITERAL_VALUES, _SHAPES, _syntax_tree, forget_shapes

    if keep is not None:
        keep([dict(cache) for cache in (_STAGE_LINES, _TYPED, _SHAPES, _FIRSTS, _INSTANCES, _LITERAL_VALUES)])
    _STAGE_LINES.clear()
    _TYPED.clear()
    _syntax_tree.cache_clear()
    forget_shapes()


__all__ = ["CriteriaError", "Placed", "check_condition", "check_parsed", "check_placed", "forget_texts"]
