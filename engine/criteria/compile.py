"""Compile typed criteria into one Python function for the whole rule set (split in several
functions above `CHUNK` conditions, with the facts and shared conditions computed once).

The generated source is built only from the typed AST: every literal value travels as a constant
in the function's globals (never spliced from rule text), and field names come from the
scenario model. `eval`/`exec` only ever see this generated source.

What makes it fast (compared with one hand-written function per rule):
- the rule set is compiled as a whole: each scenario field path used by any rule is loaded once
  per scenario into a local variable (a *fact*), and a condition that several rules share is
  evaluated once (hoisted);
- conditions are put into negation normal form, so missing data needs no three-valued logic: an
  atom over a missing value is false in either polarity, and plain `and`/`or` short-circuit;
- inside `and`/`or`, cheap conditions run first; sets are frozensets.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.criteria import ast, runtime
from engine.criteria import types as T
from engine.criteria.environment import (
    AGE,
    Environment,
    Tolerances,
    account_due_in_days,
    span_start,
    tolerance_days,
    uninterrupted_ordinals,
)
from engine.criteria.parse import typed_shape
from engine.values import Duration, Money

_FLIP = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_BUILTIN_CODE = {
    ("date", "year"): ".year",
    ("date", "month"): ".month",
    ("date", "day"): ".day",
    ("date", "weekday"): ".weekday()",
    ("datetime", "year"): ".year",
    ("datetime", "month"): ".month",
    ("datetime", "day"): ".day",
    ("datetime", "hour"): ".hour",
    ("datetime", "weekday"): ".weekday()",
    ("datetime", "date"): ".date()",
    ("datetime", "time"): ".time()",
    ("money", "amount"): ".amount",
    ("money", "currency"): ".currency",
    ("duration", "days"): ".days",
}

HELPERS: dict[str, Any] = {
    "_ms": runtime.money_sign,
    "_ds": runtime.duration_sign,
    "_add": runtime.add,
    "_mul": runtime.multiply,
    "_div": runtime.divide,
    "_neg": runtime.negate,
    "_win": runtime.in_window,
    "_tb": runtime.time_between,
    "_wb": runtime.window_bounds,
    "_cwb": runtime.cached_window_bounds,
    "_ord": runtime.ordinal,
    "_sps": span_start,
    "_uo": uninterrupted_ordinals,
    "_fam": runtime.duration_family,
    "_U": runtime.UNSET,
    "_NO": (None,),  # the extreme of no value: `max(values or _NO)` is None
}


def _aggregate(func: str, values: list[Any], empty: Any = 0) -> Any:
    """count/sum/min/max of the values present (a record without the value is left out, as SQL's
    aggregates leave out NULL); `empty` is the sum of no record (0, or zero money in the currency
    the checker found for the sum; None when no currency is known). Records none of which has
    the value have no sum: missing, not the sum of nothing."""
    if values and all(v is None for v in values):
        return None
    values = [v for v in values if v is not None]
    if func == "sum":
        if not values:
            return empty
        if isinstance(values[0], Money) or any(isinstance(v, Money) for v in values):
            currencies = {getattr(v, "currency", None) for v in values}
            if len(currencies) != 1 or None in currencies:
                return None
            return Money(sum(v.amount for v in values), values[0].currency)
        return sum(values)
    if not values:
        return None
    pick = min if func == "min" else max
    if isinstance(values[0], Money):  # by amount, in one currency (money has no order of its own)
        if any(getattr(v, "currency", None) != values[0].currency for v in values):
            return None
        return pick(values, key=_amount_of)
    try:  # date-times without a zone among zoned ones are UTC, as when compared
        return pick(values, key=runtime.as_utc) if isinstance(values[0], datetime) else pick(values)
    except TypeError:
        return None


def _amount_of(money: Money) -> Decimal:
    return money.amount


def _subset(small: Any, big: Any) -> bool:
    return small is not None and big is not None and frozenset(small) <= frozenset(big)


HELPERS.update(
    {
        "_dts": runtime.datetime_sign,
        "_agg": _aggregate,
        "_sub": _subset,
        "_fs": frozenset,
        "_in": runtime.member,
        "_ov": runtime.overlap,
        "_sb": runtime.subset,
        "_eqs": runtime.plain_sign,
    }
)
#: The helper that compares two values of a type as `==` does, where that is not Python's `==`.
_SIGN_HELPERS = {"money": "_ms", "duration": "_ds", "datetime": "_dts"}


#: Conditions per generated function. Python's `compile` spends time on every generator expression
#: in proportion to the size and the local names of the function around it, so one function for
#: thousands of conditions compiles in super-linear time; above this many conditions the rules are
#: split into functions of this many (facts and shared conditions are computed once and passed in).
CHUNK = 500

# (each of these patterns starts with its name's first letter, and looks behind it for what may not
# come before: `re` then scans the source for that letter, where a pattern starting with a look-behind
# is tried at every character; the matches are the same)
_NAME = re.compile(r"(?:[fa](?<![.\w].)[0-9]+|s(?<![.\w].))(?!\w)")
_NAME_LOCAL = re.compile(r"(?:v(?<![.\w].)_\w+|e(?<![.\w].)[0-9]+|x(?<![.\w].)[0-9]+)(?!\w)")  # bound by a generator
_LAZY = re.compile("\x01(f[0-9]+)\x01")  # a lazy fact, until `build` puts its code in
_CALL = re.compile(r"(?<!isdisjoint)(?<=[\w\]])\(")  # facts, hoisted atoms, the scenario
_FACT = re.compile(r"f(?<![.\w\x01].)[0-9]+(?!\w)")  # a fact read (not a lazy fact's placeholder)
_FACT_NAME = re.compile(r"f[0-9]+")
_ITERABLE = re.compile(r" for [\w]+ in (f[0-9]+)(?!\w)")
_CONSTANT = re.compile(r"K(?<![.\w].)[0-9]+(?!\w)")


#: A shared condition that calls nothing (`f12 in K3`, `f16 <= f17[4]`) is computed in the prologue
#: when more than this many conditions read it, else where each reads it: computed up front, every
#: scenario pays for it, where most of its readers stop at an earlier condition (40 rules: 0.4 µs
#: of 11 a scenario); a cheap test read in a few places costs little more than reading a local.
HOIST_USES = 3

#: A fact (a scenario field) read in at most this many places is read on first use (see `_defer_facts`).
DEFER_USES = 1

#: At most this many names (facts, shared conditions, constants) in one generated function:
#: Python's `compile` slows down with their number.
MAX_NAMES = 900


def _split(rules: list[str], chunk: int) -> list[tuple[list[str], list[str]]]:
    """The rules in parts of at most `chunk` conditions and about `MAX_NAMES` names each: each
    part with its `_locals` (sorted), which the part takes as arguments."""
    parts: list[tuple[list[str], list[str]]] = []
    part: list[str] = []
    local_names: set[str] = set()
    constants: set[str] = set()

    def done() -> None:
        parts.append((part, sorted(local_names)))

    for code in rules:
        new_locals, new_constants = set(_NAME.findall(code)), set(_CONSTANT.findall(code))
        # the size of `local_names | constants | new_locals | new_constants`, without making that
        # union per rule (the two kinds of names never meet: `f`, `a` and `s` against `K`)
        names = len(local_names) + len(new_locals - local_names) + len(constants) + len(new_constants - constants)
        if part and (len(part) >= chunk or names > MAX_NAMES):
            done()
            part, local_names, constants = [], set(), set()
        part.append(code)
        local_names |= new_locals
        constants |= new_constants
    if part:
        done()
    return parts


_CHILD = re.compile(r"(f[0-9]+) = \((f[0-9]+)\.(\w+) if \2 is not None else None\)")


def _grouped(head: list[str], mapping: Callable[[str], str | None] | None = None) -> list[str]:
    """The prologue with the fields of one optional record read under one test of the record:
    `if f0 is not None: f1 = f0.a; f2 = f0.b` (else all None) rather than a test per field. A
    group takes the place of its first field: the fields depend on the record alone. `mapping`
    names a fact for the `__dict__` of a record that is a pydantic model (None for another
    parent: a date's `year` and `month`); the group reads its fields as that mapping's keys
    (`f9 = f0.__dict__; f1 = f9["a"]`, the mapping None without the record: see `_roots_as_keys`)."""
    children: dict[str, list[tuple[str, str]]] = {}
    for line in head:
        match = _CHILD.fullmatch(line)
        if match:
            children.setdefault(match.group(2), []).append((match.group(1), match.group(3)))
    out: list[str] = []
    for line in head:
        match = _CHILD.fullmatch(line)
        group = children.get(match.group(2), []) if match else []
        if len(group) < 2:
            out.append(line)
        elif match and group[0][0] == match.group(1):
            parent = match.group(2)
            out.append(f"if {parent} is not None:")
            names = [name for name, _ in group]
            fields = mapping(parent) if mapping is not None else None
            if fields is not None:
                out.append(f"    {fields} = {parent}.__dict__")
                out += [f'    {name} = {fields}["{attribute}"]' for name, attribute in group]
                names.append(fields)
            else:
                out += [f"    {name} = {parent}.{attribute}" for name, attribute in group]
            out += ["else:", f"    {' = '.join(names)} = None"]
    return out


_ROOT = re.compile(r"(f[0-9]+) = s\.(\w+)")


def _roots_as_keys(head: list[str]) -> list[str]:
    """The prologue with the scenario's fields that it reads as facts (`f0 = s.account`) read as
    keys of the scenario's `__dict__` (`_s = s.__dict__`, then `f0 = _s["account"]`), where the
    records are pydantic models and it reads two or more (pydantic's hook on every attribute
    read: `engine.decide.decision`'s module docstring), the `__dict__` read once. (The
    prologue's reads only: the rules read the scenario's `as_of` alone, once per window at most.)"""
    roots = [k for k, line in enumerate(head) if _ROOT.fullmatch(line)]
    if len(roots) < 2:
        return head
    out = [_ROOT.sub(r'\1 = _s["\2"]', line) if k in roots else line for k, line in enumerate(head)]
    out.insert(roots[0], "_s = s.__dict__")
    return out


#: `as_of`'s day number, as the generated code reads it; the prologue's row of thresholds, read by it
_AS_OF_DAY = re.compile(r"(?<![\w.])s\.as_of\.toordinal\(\)")
_ROW = re.compile(r"f[0-9]+ = K[0-9]+\[s\.as_of\.toordinal\(\)\]")

_ASSIGNED = re.compile(r"^ *(f[0-9]+) = (?!_U$)")  # the fact a line of the prologue sets (or its first)
_STARTS = re.compile(r"((?:f[0-9]+, )+)= _uo\((f[0-9]+), (K[0-9]+), s\)")


def _spans_inline(head: list[str], starts: dict[str, str] | None = None) -> list[str]:
    """The prologue with a subscription's span starts (`uninterrupted_ordinals`) computed in place
    when its status history is empty, the common case: nothing interrupts, so every start is the
    subscription's start, or `as_of`'s day when that is earlier (what the function returns then,
    without its call and its tuple). `starts`: a subscription's fact → the fact of its `start`,
    read from it where the prologue has read it already (a field read the fewer)."""
    out: list[str] = []
    assigned: set[str] = set()
    for line in head:
        match = _STARTS.fullmatch(line)
        if match is None:
            out.append(line)
            assigned.update(_ASSIGNED.findall(line))
            continue
        names, subscription = match.group(1).rstrip(", ").split(", "), match.group(2)
        first = names[0]
        start = (starts or {}).get(subscription)
        out += [
            f"if {subscription} is not None and not {subscription}.status_history:",
            f"    {first} = {start if start in assigned else subscription + '.start'}.toordinal()",
            f"    if {first} > (_d := s.as_of.toordinal()):",
            f"        {first} = _d",
            *([f"    {' = '.join(names[1:])} = {first}"] if len(names) > 1 else []),
            "else:",
            f"    {line}",
        ]
    return out


#: Python builds a tuple display of more items than this in a list, an item appended at a time,
#: then copies it into the tuple; up to this many, in one step from the stack.
_TUPLE_AT_ONCE = 30

#: Up to this many items, the result is tuples of `_TUPLE_AT_ONCE` items added (each addition
#: copies the items before it: more tuples would copy more than the list costs).
_TUPLES_ADDED = 3 * _TUPLE_AT_ONCE


def _tuple(codes: list[str], display: Callable[[list[str]], str] | None = None) -> str:
    """The tuple of the codes' values, as a display (`display`: a code a line) or, above
    `_TUPLE_AT_ONCE` items (up to `_TUPLES_ADDED`), displays of `_TUPLE_AT_ONCE` added (40 rules:
    0.1 µs less a scenario)."""
    display = display or _lines
    if _TUPLE_AT_ONCE < len(codes) <= _TUPLES_ADDED:
        return " + ".join(display(codes[i : i + _TUPLE_AT_ONCE]) for i in range(0, len(codes), _TUPLE_AT_ONCE))
    return display(codes)


def _lines(codes: list[str]) -> str:
    return "(" + "".join(f"\n        {code}," for code in codes) + "\n    )"


def _names(names: list[str]) -> str:
    return "(" + "".join(f"{name}, " for name in names) + ")"


def _function(name: str, parameters: list[str], body: list[str], result: str) -> str:
    """A function reading its constants and helpers as globals (of its own namespace: see
    `CompiledRules._compiled`). Python 3.11 specialises those reads to about a local's cost, and
    a call copies nothing, where default arguments were copied into every call's frame (hundreds
    of them in a large rule set) and made the generator expressions that read them closures."""
    head = f"def {name}({', '.join(parameters)}):"
    return "\n".join([head, *(f"    {line}" for line in body), f"    return {result}"]) + "\n"


@dataclass
class _Ctx:
    """Variables visible while generating: bound names and the implicit element, if any, and how
    many generators (quantifiers, aggregates) the code is nested in."""

    variables: dict[str, str] = field(default_factory=dict)
    element: str | None = None  # Python name of the implicit element
    element_record: str | None = None
    depth: int = 0

    @property
    def local(self) -> bool:
        return bool(self.variables) or self.element is not None


#: the context of a condition's own atoms (`RuleSetCompiler._replay`: outside every generator)
_TOP = _Ctx()

#: the code of an operand merged into another's (`RuleSetCompiler._merged_lookups`): left out
_MERGED = "\x02"

#: Whether `and` merges its operands' lookups of one tuple each (`RuleSetCompiler._merged_lookups`);
#: tests switch it off to compare.
MERGE_LOOKUPS = True


class _Temps:
    """The `:=` temporaries of one condition (atom): `_t{depth}_{k}`, k counted from 0 per atom.

    A temporary is live from its binding to its last use inside its own atom, and everything
    evaluated meanwhile is code of the same atom: its own other temporaries (distinct k) and the
    values it compares. A value holds conditions only inside a generator (an aggregate's `where`),
    which is one level deeper, so their temporaries have other names. Two atoms at the same depth
    never interleave: `and`/`or`, the hoisted statements and the result tuple evaluate one atom to
    its end before the next, and a generator's body runs one element at a time. So the names can be
    reused by every atom, and the function has a few dozen locals instead of one per condition (a
    walrus inside a comprehension binds in the function: thousands of locals made Python's own
    `compile` super-linear).
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.count = 0

    def __call__(self) -> str:
        name = f"_t{self.depth}_{self.count}"
        self.count += 1
        return name


@dataclass
class _Starts:
    """The starts of one subscription's spans (`RuleSetCompiler._uninterrupted`): the constant
    holding their tolerances, and the prologue line unpacking them into `names`, once one is read
    outside a generator."""

    tolerances: Tolerances
    name: str  # of the `tolerances` constant
    names: list[str] = field(default_factory=list)
    line: int | None = None


def _spread(indices: list[int]) -> Callable[[Sequence[bool]], tuple[bool, ...]]:
    """The items at `indices`, as a tuple (`itemgetter` gives the bare item for one, `()` for none)."""
    if len(indices) == 1:
        (index,) = indices
        return lambda outcomes: (outcomes[index],)
    return operator.itemgetter(*indices) if indices else lambda outcomes: ()


class CompiledRules:
    """The generated source and the function it defines.

    Python compiles the source when the function is first needed (`function`), not when the
    rule set is built: `billrules validate` generates the evaluator (every criterion goes through
    the code generator) but does not pay Python's `compile` and `exec` (about a third of a second
    at 4,000 definitions), which only an engine bug could make fail, never a rule file."""

    def __init__(
        self,
        source: str,
        namespace: dict[str, Any],
        count: int,
        positions: list[int] | None = None,
        masked_source: Callable[[], str] | None = None,
    ) -> None:
        self.source = source
        #: makes the function of the distinct conditions with a mask of those to evaluate
        #: (`distinct_function`): generated only when first used, so `validate` does not pay for it
        self._masked_source = masked_source
        self.count = count
        self._namespace = namespace
        #: condition i is evaluated as distinct condition positions[i] (identical ones once)
        self.positions = positions if positions is not None else list(range(count))

    def mask(self, live: Iterable[int]) -> tuple[bool, ...]:
        """`masked_function`'s second argument evaluating only the conditions `live` (their
        indices; the others come out False, unevaluated): a question that needs only some
        criteria, such as the discounts still open once the billing dates have settled the rest,
        skips the others."""
        wanted = [False] * (max(self.positions) + 1 if self.positions else 0)
        for i in live:
            wanted[self.positions[i]] = True
        return tuple(wanted)

    @functools.cached_property
    def function(self) -> Callable[[Any], tuple[bool, ...]]:
        """`function(scenario)`: every condition's outcome."""
        return self._compiled(self.source)

    @functools.cached_property
    def distinct_function(self) -> Callable[..., tuple[bool, ...]]:
        """`distinct_function(scenario, mask(live))`: the outcome of each distinct condition (the
        conditions `live` are evaluated as `positions` say), the others False; a reader picks a
        condition's at its position. A second function, compiled on first use, so that `function`
        pays no mask test; it does not spread the outcomes into every condition's slot (400
        definitions: 882 conditions, 380 distinct, a sixth of the call)."""
        assert self._masked_source is not None
        return self._compiled(self._masked_source())

    @functools.cached_property
    def masked_function(self) -> Callable[..., tuple[bool, ...]]:
        """`masked_function(scenario, mask(live))`: the live conditions' outcomes, in every
        condition's slot (`distinct_function`'s, spread), the others False."""
        distinct = self.distinct_function
        if self.positions == list(range(self.count)):  # no condition shared: nothing to spread
            return distinct
        spread = _spread(self.positions)

        def masked(scenario: Any, mask: tuple[bool, ...]) -> tuple[bool, ...]:
            return spread(distinct(scenario, mask))

        return masked

    @functools.cached_property
    def distinct_of(self) -> Callable[[Sequence[bool]], tuple[bool, ...]]:
        """Every condition's outcomes (`function`'s) → the distinct conditions' (`distinct_function`'s)."""
        first: dict[int, int] = {}
        for i, k in enumerate(self.positions):
            first.setdefault(k, i)
        return _spread([first[k] for k in range(len(first))])

    def _compiled(self, source: str) -> Callable[..., tuple[bool, ...]]:
        namespace = dict(self._namespace)
        exec(compile(source, "<billrules criteria>", "exec"), namespace)  # generated from the typed AST only
        function: Callable[..., tuple[bool, ...]] = namespace["evaluate"]
        return function


class RuleSetCompiler:
    """Add typed criteria one by one, then `build()` one function returning a tuple of booleans."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.constants: list[Any] = []
        self._constant_index: dict[tuple[type, Any], int] = {}
        self.facts: dict[tuple[str, ...], str] = {}
        self._fact_names = itertools.count()
        self._set_names: set[str] = set()  # facts and constants that already are frozensets
        self.prologue: list[str] = []
        self.atoms: dict[str, int] = {}
        self.atom_uses: dict[int, int] = {}
        self.rules: list[str] = []
        self._names = itertools.count()
        self.thresholds = runtime.Thresholds()  # durations that spans are compared with
        self._thresholds_name = self._const(self.thresholds)
        #: per subscription (its code): the tolerances of its spans' starts (see `_uninterrupted`)
        self._starts: dict[str, _Starts] = {}
        self._lazy_code: dict[str, str] = {}
        self._lazy_atoms: set[int] = set()
        self._pinned: set[str] = set()
        self._by_text: dict[Any, str] = {}
        self._windows: dict[Duration, str] = {}
        self._costs: dict[
            int, tuple[ast.Node, float]
        ] = {}  # of the condition being added  # a condition's code by its source text (see `add`)
        #: recordings of conditions' code by shape (see `_ShapeRecorder`): False where there is none
        self._tapes: dict[tuple[int, Any], _Tape | bool] = {}

    # entry points --------------------------------------------------------------------------------

    def add(self, node: ast.Node) -> int:
        """Add one condition; its index in the result tuple is returned.

        The same text typed against the same environment is the same typed tree (the parser's and
        checker's caches rely on it too), so a condition written in many definitions (sections
        desugar to the same few texts) is generated once and evaluated once per scenario."""
        key = _text_key(node)
        code = self._by_text.get(key) if key is not None else None
        if code is None:
            code = self._shaped(node) if USE_SHAPES else None
            if code is None:
                self._costs = {}
                code = self.condition(node, True, _TOP)
                self._costs = {}
            if key is not None:
                self._by_text[key] = code
        self.rules.append(code)
        return len(self.rules) - 1

    def _shaped(self, node: ast.Node) -> str | None:
        """The code of a condition made from its shape's recording (see `_ShapeRecorder`), or None
        where there is none yet (the first two texts of a shape and signature are recorded)."""
        found = typed_shape(node)
        if found is None:
            return None
        template, literals = found
        values = [literal.value for literal in literals]  # type: ignore[attr-defined]
        signature = _signature(values)
        if signature is None:
            return None
        key = (id(template), signature)
        tape = self._tapes.get(key)
        if isinstance(tape, _Tape) and tape.template is not template:  # (an identity reused)
            tape = None
        if tape is None:
            recorded = _recorded(self.env, template, node, literals)
            if recorded is not None:
                recorded.first_values = tuple(values)
            self._tapes[key] = recorded or False
            return None
        if not isinstance(tape, _Tape):  # (False: no recording stands for this shape)
            return None
        differing = _differing(tape.first_values, values)
        if not differing <= tape.varied:
            # a literal that differs from the first text's where no text recorded alike has yet: its
            # recording must be the first's, so that a value the generator read outside the
            # recorded calls (and would copy from the first text) shows in the difference
            again = _recorded(self.env, template, node, literals)
            if again is None or not _same_tape(tape, again):
                self._tapes[key] = False
                return None
            tape.varied |= differing
            tape.confirmed = True
        return self._replay(tape, values)

    def _replay(self, tape: _Tape, values: list[Any]) -> str:
        """The recorded calls made on this compiler with these literals' values: the code they make.
        What a call returns gives the text of the placeholders that are new in the recorder's
        (`names`, by `_ShapeRecorder`'s `p` + placeholder), which fill the later calls' texts and
        the code (format strings: see `_steps`)."""
        if tape.known is None:  # the first time here: every call, and what the lasting ones give
            names: dict[str, str] = {}
            steps = tape.steps
        else:
            names = dict(tape.known)
            steps = tape.varying
        const = self.const
        for op, first, second, past, key, before, after in steps:
            if op == _OP_LCONST:
                made: Any = const(first([values[k] for k in second]))
            elif op == _OP_ATOM:
                made = self.atom(first.format_map(names), _TOP)
            elif op == _OP_CONST:
                made = const(first)
            elif op == _OP_FACT:
                made = self._fact(first, second)
            elif op == _OP_NAME:
                made = self._next_name()
            elif op == _OP_LAZY:
                made = self._lazy(tuple([part.format_map(names) for part in first]), second.format_map(names), past)
            elif op == _OP_THRESHOLD:
                made = self.thresholds.index(values[first])
                names[past] = str(made + 1)
            elif op == _OP_ROW:
                made = self._thresholds_row()
            elif op == _OP_UNINTERRUPTED:
                made = self._uninterrupted(first.format_map(names), second, _TOP)
            elif op == _OP_UNINTERRUPTED_LITERAL:
                made = self._uninterrupted(first.format_map(names), tolerance_days(values[second]), _TOP)
            else:
                assert op == _OP_WINDOW, op
                made = self._window_starts(values[first])
            if key is not None:
                if type(made) is int:
                    names[key] = str(made)
                else:
                    assert made.startswith(before) and made.endswith(after), (made, before, after)
                    names[key] = made[len(before) : len(made) - len(after)]
        if tape.known is None:
            tape.known = {key: names[key] for key in tape.lasting if key in names}
        return tape.code.format_map(names)

    def build(self, chunk: int = CHUNK) -> CompiledRules:
        """The evaluator; more than `chunk` conditions are split into functions of that many."""
        shared = {i for i, uses in self.atom_uses.items() if uses > 1}
        atom_code = {i: code for code, i in self.atoms.items()}
        # a shared condition that calls something is computed on first use (most rules stop early)
        self._lazy_atoms = {i for i in shared if _CALL.search(atom_code[i]) or "\x01" in atom_code[i]}
        # one that does not is computed up front only when many rules read it (`HOIST_USES`)
        hoisted = self._lazy_atoms | {i for i in shared if self.atom_uses[i] > HOIST_USES}
        head = [*self.prologue] + [
            f"a{i} = {'_U' if i in self._lazy_atoms else self._expand(atom_code[i], hoisted, atom_code)}"
            for i in sorted(hoisted)
        ]
        # identical conditions (the same code) are evaluated once; `_pick` spreads their outcomes
        distinct: dict[str, int] = {}
        positions = [distinct.setdefault(code, len(distinct)) for code in self.rules]
        rules = [self._expand(code, hoisted, atom_code) for code in distinct]
        head, rules = self._defer_facts(head, rules)
        head, rules = self._fill_lazy(head, rules)
        mappings: dict[str, str] = {}  # a record's fact → its `__dict__`'s, read in the prologue
        head = _grouped(head, functools.partial(self._mapping, mappings) if self.env.models else None)
        head = _spans_inline(head, self._start_facts())
        head, rules = self._as_of_day_once(head, rules)
        if self.env.models:
            head = _roots_as_keys(head)
            rules = self._fields_as_keys(rules, mappings)
        pick = len(distinct) < len(self.rules)
        spread = positions if pick else None
        source = self._assemble(head, rules, spread, chunk, [])

        def masked_source() -> str:  # `L`: which distinct conditions to evaluate (`CompiledRules.mask`)
            masked = [f"(L[{k}] and ({code}))" for k, code in enumerate(rules)]
            return self._assemble(head, masked, None, chunk, ["L"])  # (their outcomes, not spread)

        self.thresholds.clear()  # rows computed before every duration was registered
        namespace: dict[str, Any] = {f"K{i}": value for i, value in enumerate(self.constants)}
        namespace.update(HELPERS)
        if pick and len(rules) > chunk:  # parts' tuples spread (`_assemble`); at least two conditions
            namespace["_pick"] = operator.itemgetter(*positions)
        return CompiledRules(source, namespace, len(self.rules), positions, masked_source)

    def _mapping(self, mappings: dict[str, str], parent: str) -> str | None:
        """The name of a fact for the `__dict__` of the record fact `parent` (`_grouped`), kept in
        `mappings`; None where `parent` is not a record (a date, money: no pydantic model)."""
        path = next((path for path, name in self.facts.items() if name == parent), None)
        if path is None or _path_type(self.env, path).name != "record":
            return None
        return mappings.setdefault(parent, f"f{next(self._fact_names)}")

    def _fields_as_keys(self, rules: list[str], mappings: dict[str, str]) -> list[str]:
        """The rules with the fields of a record whose `__dict__` the prologue holds (`_grouped`)
        read as its keys: the fields read on first use (`binding_period` of a duration test,
        `due_date` of `due_in_days`). Each such read is under its record's test, where the
        mapping is set (it is None with the record)."""
        paths = {name: path for path, name in self.facts.items()}
        for record, fields in mappings.items():
            path = paths[record]
            found = self.env.fields(_path_type(self.env, path).record or "").values()
            attributes = "|".join(sorted({info.attribute for info in found if info.derived is None}))
            read = re.compile(rf"(?<![\w.]){record}\.({attributes})(?!\w)")
            rules = [read.sub(rf'{fields}["\1"]', code) for code in rules]
        return rules

    def _start_facts(self) -> dict[str, str]:
        """A record fact's name → the name of its `start` field's fact, read in the prologue (not
        on first use: `_lazy_code`), for `_spans_inline`."""
        found = {path: self.facts[(*path, "start")] for path in self.facts if (*path, "start") in self.facts}
        return {self.facts[path]: start for path, start in found.items() if start not in self._lazy_code}

    def _as_of_day_once(self, head: list[str], rules: list[str]) -> tuple[list[str], list[str]]:
        """`as_of`'s day number read once, at the prologue's top, where the prologue reads it
        anyway (the thresholds' row): then the spans' starts, `due_in_days` and the row read the
        fact (a field of the scenario's model costs more to read than a local; 40 rules: 0.1 µs)."""
        if not any(_ROW.fullmatch(line) for line in head):
            return head, rules
        day = f"f{next(self._fact_names)}"  # (a fact's name: `_split` passes it to the parts)
        return [f"{day} = s.as_of.toordinal()", *(_AS_OF_DAY.sub(day, line) for line in head)], [
            _AS_OF_DAY.sub(day, code) for code in rules
        ]

    @staticmethod
    def _assemble(
        head: list[str], rules: list[str], positions: list[int] | None, chunk: int, arguments: list[str]
    ) -> str:
        """The source of `evaluate(s, *arguments)`: one function, or parts of `chunk` rules.

        `positions` (identical conditions shared): the distinct outcome each rule takes. In one
        function, each distinct outcome is a local (`_rK`) and the result names them in the rules'
        order, quicker than a tuple of the distinct ones spread by `_pick`; parts return tuples of
        distinct outcomes, which `_pick` spreads."""
        pick = positions is not None
        if len(rules) <= chunk:
            if positions is None:
                return _function("evaluate", ["s", *arguments], head, _tuple(rules))
            outcomes = [f"_r{k} = {code}" for k, code in enumerate(rules)]
            result = _tuple([f"_r{k}" for k in positions], _names)
            return _function("evaluate", ["s", *arguments], [*head, *outcomes], result)
        parts, calls = [], []
        for n, (part, local_names) in enumerate(_split(rules, chunk)):
            names = [*arguments, *local_names]
            parts.append(_function(f"_part{n}", names, [], _tuple(part)))
            calls.append(f"_part{n}({', '.join(names)})")
        result = " + ".join(calls)
        parts.append(_function("evaluate", ["s", *arguments], head, f"_pick({result})" if pick else result))
        return "\n".join(parts)

    def _defer_facts(self, head: list[str], rules: list[str]) -> tuple[list[str], list[str]]:
        """Fields read in at most `DEFER_USES` places are read where they are used, on first use
        (lazy facts), rather than in the prologue: a scenario pays for the fields of the rules it
        reaches (with few rules, most stop at their first condition). Fields that many rules read
        stay in the prologue: there a read on first use would cost a check at every use."""
        uses: dict[str, int] = {}
        for code in [*(line.split(" = ", 1)[1] for line in head), *rules, *self._lazy_code.values()]:
            for name in _FACT.findall(code):
                uses[name] = uses.get(name, 0) + 1
        eager = [line.split(" = ", 1) for line in self.prologue if not line.endswith(" = _U")]
        # a generator's iterable cannot hold `:=`: lists iterated over stay in the prologue, and
        # so do the facts they are read from
        kept = {name for code in [*head, *rules, *self._lazy_code.values()] for name in _ITERABLE.findall(code)}
        for name, code in reversed(eager):  # a fact's parents come before it
            if name in kept:
                kept.update(_FACT.findall(code))
        deferred = {
            name for name, _ in eager if uses.get(name, 0) <= DEFER_USES and name not in kept and name.isidentifier()
        }
        if not deferred:
            return head, rules
        if all(_FACT_NAME.fullmatch(name) for name in deferred):  # (`f` first: see `_NAME`)
            digits = "|".join(name[1:] for name in sorted(deferred))
            pattern = re.compile(r"(f(?<![.\w\x01].)(?:" + digits + r"))(?!\w)")
        else:
            pattern = re.compile(r"(?<![.\w\x01])(" + "|".join(sorted(deferred)) + r")(?!\w)")

        def mark(code: str) -> str:
            return pattern.sub("\x01\\1\x01", code)

        for name, code in eager:
            if name in deferred:
                self._lazy_code[name] = mark(code)
        self._lazy_code = {name: mark(code) for name, code in self._lazy_code.items()}
        out = []
        for line in head:
            name, code = line.split(" = ", 1)
            out.append(f"{name} = _U" if name in deferred else f"{name} = {mark(code)}")
        return out, [mark(code) for code in rules]

    def _fill_lazy(self, head: list[str], rules: list[str]) -> tuple[list[str], list[str]]:
        """Put the lazy facts' code in: a fact read in one place is computed there (no local name:
        thousands of them would make Python's `compile` super-linear), one read in several places
        is computed at the first and kept (`_U` until then)."""
        uses: dict[str, int] = {}
        for code in [*head, *rules, *self._lazy_code.values()]:
            for name in _LAZY.findall(code):
                uses[name] = uses.get(name, 0) + 1
        inline = {name for name in self._lazy_code if uses.get(name, 0) <= 1 and name not in self._pinned}

        def fill(code: str) -> str:
            def read(match: re.Match[str]) -> str:
                name = match.group(1)
                inner = fill(self._lazy_code[name])
                return f"({inner})" if name in inline else f"({name} if {name} is not _U else ({name} := {inner}))"

            return _LAZY.sub(read, code)

        kept = [line for line in head if not (line.endswith(" = _U") and line.split(" ", 1)[0] in inline)]
        return [fill(line) for line in kept], [fill(code) for code in rules]

    def _expand(self, code: str, hoisted: set[int], atom_code: dict[int, str]) -> str:
        while "\x00" in code:
            before, ident, after = code.split("\x00", 2)
            i = int(ident)
            if i in self._lazy_atoms:
                inner = self._expand(atom_code[i], hoisted, atom_code)
                code = before + f"(a{i} if a{i} is not _U else (a{i} := {inner}))" + after
            else:
                code = before + (f"a{i}" if i in hoisted else f"({atom_code[i]})") + after
        return code

    # helpers ---------------------------------------------------------------------------------------

    def const(self, value: Any) -> str:
        name = self._const(value)
        if isinstance(value, frozenset):
            self._set_names.add(name)
        return name

    def _const(self, value: Any) -> str:
        key = (type(value), value)
        try:
            index = self._constant_index.get(key)
        except TypeError:  # unhashable: never shared
            index = None
        if index is None:
            self.constants.append(value)
            index = len(self.constants) - 1
            with contextlib.suppress(TypeError):
                self._constant_index[key] = index
        return f"K{index}"

    def atom(self, code: str, ctx: _Ctx) -> str:
        """Register a leaf condition; outside quantifiers, identical ones are shared across rules."""
        if ctx.local:
            return f"({code})"
        index = self.atoms.setdefault(code, len(self.atoms))
        self.atom_uses[index] = self.atom_uses.get(index, 0) + 1
        return f"\x00{index}\x00"

    def _lazy(self, key: tuple[str, ...], code: str, nested: bool = False) -> str:
        """A fact computed on its first use in a scenario, then kept (`_U` until then): the code
        that reads it. For facts that cost a call (derived facts, aggregates, calendar thresholds):
        most rules fail on a cheap condition before they need them."""
        name = self.facts.get(key)
        if name is None:
            name = f"f{next(self._fact_names)}"
            self.prologue.append(f"{name} = _U")
            self.facts[key] = name
            self._lazy_code[name] = code
        if nested:  # read inside a generator: kept even when read in one place only
            self._pinned.add(name)
        return self._read(name)

    def _shared(self, key: tuple[str, ...], code: str, ctx: _Ctx) -> str:
        """`_lazy`, unless the code reads a generator's variable (then it is computed in place)."""
        return f"({code})" if _NAME_LOCAL.search(code) else self._lazy(key, code, ctx.local)

    def _window_starts(self, window: Duration) -> str:
        """The constant holding the window's cached starts: one per window (a dict, which the
        constants could not share by value)."""
        name = self._windows.get(window)
        if name is None:
            name = self._windows[window] = self.const(runtime.WindowStarts(window))
        return name

    def _read(self, name: str) -> str:
        return f"\x01{name}\x01" if name in self._lazy_code else name

    # what the code of a condition takes from its literals' values, and the names it counts: one
    # method each, which `_ShapeRecorder` records (see `_Tape`) ---------------------------------

    def _lconst(self, derive: Callable[[list[Any]], Any], literals: Sequence[ast.Node]) -> str:
        """The constant `derive` makes of the literals' values (`_first`: the one literal's)."""
        return self.const(derive([literal.value for literal in literals]))  # type: ignore[attr-defined]

    def _next_name(self) -> int:
        """The number of a generator's variable (`v_p_3`, `x4`, `e5`)."""
        return next(self._names)

    def _threshold_index(self, literal: ast.Node) -> int:
        """The slot of a duration literal in the row of thresholds (the next slot is its "past")."""
        return self.thresholds.index(literal.value)  # type: ignore[attr-defined]

    def _thresholds_row(self) -> str:
        """The row of thresholds: one dict lookup, read by every span comparison a scenario reaches,
        so read up front (a fact; read in one place only, it is read there: `_defer_facts`)."""
        row = self.facts.get(("\x00thresholds",))
        if row is None:
            row = self.facts[("\x00thresholds",)] = f"f{next(self._fact_names)}"
            self.prologue.append(f"{row} = {self._thresholds_name}[s.as_of.toordinal()]")
        return row

    def _uninterrupted_literal(self, subscription: str, literal: ast.Node, ctx: _Ctx) -> str:
        """`_uninterrupted` with a tolerance written as a duration literal."""
        return self._uninterrupted(subscription, tolerance_days(literal.value), ctx)  # type: ignore[attr-defined]

    def _window_starts_of(self, literal: ast.Node) -> str:
        """`_window_starts` of a window written as a duration literal."""
        return self._window_starts(literal.value)  # type: ignore[attr-defined]

    def _unshaped(self) -> None:
        """What a condition's code cannot be made from its shape's recorded code (`_ShapeRecorder`)."""

    # conditions (negation normal form) ----------------------------------------------------------

    def condition(self, node: ast.Node, positive: bool, ctx: _Ctx) -> str:
        if isinstance(node, ast.Not):
            return self.condition(node.operand, not positive, ctx)
        if isinstance(node, ast.BoolOp):
            op = node.op if positive else ("or" if node.op == "and" else "and")
            parts = _order(node.operands, op, positive, self._costs)
            merged = self._merged_lookups(parts, ctx) if op == "and" and positive and MERGE_LOOKUPS else {}
            if positive and ctx is _TOP and USE_SHAPES:  # (a section's entries: conditions of their own)
                codes = [merged.get(k) or self._shaped(o) or self.condition(o, True, ctx) for k, o in enumerate(parts)]
            else:
                codes = [merged.get(k) or self.condition(o, positive, ctx) for k, o in enumerate(parts)]
            return "(" + f" {op} ".join(code for code in codes if code != _MERGED) + ")"
        if isinstance(node, ast.Literal):
            return "True" if bool(node.value) == positive else "False"
        if isinstance(node, ast.Compare):
            return self._compare(node.op if positive else _FLIP[node.op], node.left, node.right, ctx)
        if isinstance(node, ast.Membership):
            return self._membership(node, positive != node.negated, ctx)
        if isinstance(node, ast.SetRelation):
            return self._set_relation(node, positive, ctx)
        if isinstance(node, ast.Between):
            return self._between(node, positive, ctx)
        if isinstance(node, ast.Quantifier):
            return self._quantifier(node, positive, ctx)
        # a boolean field or bound variable
        value = self.value(node, ctx)
        return self.atom(f"{value} is {'True' if positive else 'False'}", ctx)

    def _compare(self, op: str, left: ast.Node, right: ast.Node, ctx: _Ctx) -> str:
        left, right = _folded(left), _folded(right)
        lt = _type(left)
        if lt.name == "duration":
            fast = self._span_compare(op, left, right, ctx)
            if fast is not None:
                return fast
        a, b = self.value(left, ctx), self.value(right, ctx)
        helper = _SIGN_HELPERS.get(lt.name)
        temps = _Temps(ctx.depth)
        if lt.name in ("money", "duration"):
            inline = self._inline_compare(op, left, right, ctx)
            if inline is not None:
                return inline
        if lt.name == "datetime":
            inline = self._datetime_compare(op, left, right, ctx)
            if inline is not None:
                return inline
        if helper:
            t = temps()
            return self.atom(f"({t} := {helper}({a}, {b})) is not None and {t} {op} 0", ctx)
        guards: list[str] = []
        if op == "==" and (isinstance(left, ast.Literal) or isinstance(right, ast.Literal)):
            # a missing value equals no literal (there is no literal for "missing"): no guard
            return self.atom(f"{a} == {b}", ctx)
        a, b = self._guard(a, left, guards, temps), self._guard(b, right, guards, temps)
        return self.atom(" and ".join([*guards, f"{a} {op} {b}"]), ctx)

    def _inline_compare(self, op: str, left: ast.Node, right: ast.Node, ctx: _Ctx) -> str | None:
        """Money or a duration field against a literal, without the sign helper's call:
        `p.price >= 20.00 EUR` → same currency and `amount >= 20.00`; `binding_period >= 12 months`
        → its (family, count), computed once per scenario, of the literal's family and `count >= 12`.
        Another currency or family has no answer, as in the helper: the atom is false both ways."""
        if isinstance(left, ast.Literal):
            left, right, op = right, left, _MIRROR[op]
        if not isinstance(right, ast.Literal) or isinstance(left, ast.Literal):
            return None
        inline = self._inline_operand(left, [right.value], ctx)
        if inline is None:
            return None
        comparable, number = inline
        return self.atom(f"{comparable} and {number} {op} {_inline_number(self, right)}", ctx)

    def _datetime_compare(self, op: str, left: ast.Node, right: ast.Node, ctx: _Ctx) -> str | None:
        """A date-time against a literal (`u.at >= 2024-03-01T00:00:00Z`) without `datetime_sign`'s
        call: a zoned value against the literal taken as UTC (`as_utc`), a value without a zone
        (UTC, as the helper takes it) against the literal's UTC wall time, both computed here."""
        if isinstance(left, ast.Literal):
            left, right, op = right, left, _MIRROR[op]
        if not isinstance(right, ast.Literal) or isinstance(left, ast.Literal) or not isinstance(right.value, datetime):
            return None
        zoned = runtime.as_utc(right.value)
        try:
            plain = zoned.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):  # an offset taking the literal past the calendar's ends
            return None
        t = _Temps(ctx.depth)()
        value = self.value(left, ctx)
        zoned_code, plain_code = self.const(zoned), self.const(plain)
        return self.atom(
            f"({t} := {value}) is not None and ({t} {op} {zoned_code} if {t}.tzinfo else {t} {op} {plain_code})", ctx
        )

    def _inline_operand(self, node: ast.Node, literals: list[Any], ctx: _Ctx) -> tuple[str, str] | None:
        """For money or a plain duration field compared with literals of its type (see
        `_inline_compare`, `_between`): code that holds when the value is present and of the
        literals' currency or family, and the number it compares with theirs (`_inline_number`);
        None for other values (spans, computed durations)."""
        t = _Temps(ctx.depth)()
        if all(isinstance(v, Money) for v in literals):
            scaled = _scaled_money(node)
            # `sum(…) * 10%`: the money's amount times the factor, as `runtime.multiply` computes
            # it, without its call and the Money it makes
            value = self.value(node if scaled is None else scaled[0], ctx)
            amount = f"{t}.amount" if scaled is None else f"{t}.amount * {self._lconst(scaled[2], (scaled[1],))}"
            same = [f"{t}.currency == {self.const(c)}" for c in dict.fromkeys(v.currency for v in literals)]
            return " and ".join([f"({t} := {value}) is not None", *same]), amount
        path = self._path(node, ctx)
        if not all(isinstance(v, Duration) for v in literals) or path is None or self._derived(node):
            return None
        value = self.value(node, ctx)
        known = self._lazy(("\x00family", *path), f"_fam({value})", ctx.local)
        families = dict.fromkeys(runtime.duration_family(v)[0] for v in literals)  # type: ignore[index]
        same = [f"{t}[0] == {self.const(family)}" for family in families]
        return " and ".join([f"({t} := {known}) is not None", *same]), f"{t}[1]"

    def _span_compare(self, op: str, left: ast.Node, right: ast.Node, ctx: _Ctx) -> str | None:
        """`subscription.maturity >= 6 months` → `start <= T[i]`: the span's start day (computed
        once per scenario, on first use) against the latest start that reaches the duration by
        `as_of` (computed once per rule set and billing date: `runtime.Thresholds`). Exact, month
        ends and leap days included (see `runtime.latest_start`)."""
        if isinstance(left, ast.Literal):
            left, right, op = right, left, _MIRROR[op]
        if not isinstance(right, ast.Literal) or not isinstance(right.value, Duration):
            return None
        start = self._span_start(left, ctx)
        if start is None:
            return None
        i = self._threshold_index(right)
        row = self._thresholds_row()
        t = start if start.isidentifier() else _Temps(ctx.depth)()  # a start unpacked up front
        bind = t if t == start else f"({t} := {start})"
        reach, past = f"{row}[{i}]", f"{row}[{i + 1}]"
        core = {
            ">=": f"{t} <= {reach}",
            ">": f"{t} <= {past}",
            "<": f"{t} > {reach}",
            "<=": f"{t} > {past}",
            "==": f"{past} < {t} <= {reach}",
            "!=": f"not ({past} < {t} <= {reach})",
        }[op]
        return self.atom(f"{bind} is not None and {core}", ctx)

    def _span_start(self, node: ast.Node, ctx: _Ctx) -> str | None:
        """Code for the start day (ordinal) of a span that ends on `as_of`'s date, or None for
        other durations: `subscription.maturity`, `.age`, `uninterrupted(x, N days)`, `as_of.date - d`."""
        from engine.criteria import environment

        if isinstance(node, ast.Attribute) and node.name in ("maturity", "age"):
            obj_type = _type(node.obj)
            info = self.env.fields(obj_type.record or "").get(node.name) if obj_type.name == "record" else None
            kinds = {environment.subscription_maturity: "maturity", environment.subscription_age: "age"}
            kind = kinds.get(info.derived) if info is not None else None
            if kind is None:
                return None
            return self._uninterrupted(self.value(node.obj, ctx), AGE if kind == "age" else 0, ctx)
        if isinstance(node, ast.Call) and node.func == "uninterrupted" and isinstance(node.args[1], ast.Literal):
            # maturity is `uninterrupted(…, 0 days)`: one start per subscription and days of tolerance
            return self._uninterrupted_literal(self.value(node.args[0], ctx), node.args[1], ctx)
        if (
            isinstance(node, ast.Arith)
            and node.op == "-"
            and _type(node.right).name == "date"
            and self._path(node.left, ctx) == ("as_of", "date")
        ):
            day = self.value(node.right, ctx)
            return self._shared(("\x00ordinal", day), f"_ord({day})", ctx)
        return None

    def _derived(self, node: ast.Node) -> bool:
        """Is `node` a derived fact (`subscription.maturity`: a span of time, not a duration)?"""
        if not isinstance(node, ast.Attribute) or _type(node.obj).name != "record":
            return False
        info = self.env.fields(_type(node.obj).record or "").get(node.name)
        return info is not None and info.derived is not None

    def _uninterrupted(self, subscription: str, allowed: int, ctx: _Ctx) -> str:
        """Code for the start (ordinal) of the subscription's span uninterrupted by pauses longer
        than `allowed` days (`AGE`: its age): one of the starts of every tolerance the rule set
        uses with this subscription, computed together (one walk of the status history)."""
        starts = self._starts.get(subscription)
        if starts is None:
            tolerances = Tolerances()
            starts = self._starts[subscription] = _Starts(tolerances, self._const(tolerances))
        call = f"_uo({subscription}, {starts.name}, s)"
        position = starts.tolerances.position(allowed)
        if _NAME_LOCAL.search(subscription):  # a generator's variable: computed in place
            return f"{call}[{position}]"
        # read by many rules, and most scenarios reach one: unpacked up front, a local per start
        while len(starts.names) < len(starts.tolerances):
            starts.names.append(f"f{next(self._fact_names)}")
        unpack = f"{', '.join(starts.names)}, = {call}"
        if starts.line is None:
            starts.line = len(self.prologue)
            self.prologue.append(unpack)
        self.prologue[starts.line] = unpack
        return starts.names[position]

    def _guard(self, code: str, node: ast.Node, guards: list[str], temps: _Temps) -> str:
        """Add a not-missing guard for a value that may be missing; bind complex code once."""
        if not _maybe(node):
            return code
        if code.isidentifier():
            guards.append(f"{code} is not None")
            return code
        t = temps()
        guards.append(f"({t} := {code}) is not None")
        return t

    def _holds_missing(self, node: ast.Node) -> bool:
        """May this collection hold a missing element: a set written with a field that may be
        missing (`{subscription.concurrent_usage}`), or a list's optional field (`usage.device`)?
        Then membership has no answer unless some known element matches (README "Missing values"),
        which the three-valued helpers decide (`_eqs`: Python's `==`)."""
        if isinstance(node, ast.SetLiteral):
            return any(not isinstance(i, ast.Literal) and _maybe(i) for i in node.items)
        if isinstance(node, ast.Attribute):
            outer = _type(node.obj)
            if outer.name == "list" and outer.elem is not None and outer.elem.name == "record":
                info = self.env.fields(outer.elem.record or "").get(node.name)
                return info is None or info.type.optional or info.derived is not None
            if outer.name == "list":  # a projection of a projection: `subscription.products.price.currency`
                return self._holds_missing(node.obj)
        return False

    def _membership(self, node: ast.Membership, positive: bool, ctx: _Ctx) -> str:
        helper = _SIGN_HELPERS.get(_type(node.item).name) or ("_eqs" if self._holds_missing(node.collection) else None)
        if helper:  # equal as `==` says (14 days and 2 weeks, a naive and a zoned date-time)
            item, collection = self.value(node.item, ctx), self.value(node.collection, ctx)
            return self.atom(f"_in({item}, {collection}, {helper}) is {positive}", ctx)
        guards: list[str] = []
        temps = _Temps(ctx.depth)
        item = self.value(node.item, ctx)
        literals = isinstance(node.collection, ast.SetLiteral) and all(
            isinstance(i, ast.Literal) for i in node.collection.items
        )
        if not (positive and literals):
            item = self._guard(item, node.item, guards, temps)
        # else a missing value is in no set of literals (there is no literal for "missing"): no guard
        collection = self._guard(self.value(node.collection, ctx, as_set=True), node.collection, guards, temps)
        return self.atom(" and ".join([*guards, f"{item} {'in' if positive else 'not in'} {collection}"]), ctx)

    def _set_relation(self, node: ast.SetRelation, positive: bool, ctx: _Ctx) -> str:
        helper = _SIGN_HELPERS.get(T.compared_elements(_type(node.left), _type(node.right)).name)
        if not helper and (
            self._holds_missing(node.left) or (T.is_collection(_type(node.right)) and self._holds_missing(node.right))
        ):
            helper = "_eqs"
        if helper:  # elements equal as `==` says
            left, right = self.value(node.left, ctx), self.value(node.right, ctx)
            if node.op == "overlaps":
                core = f"_ov({left}, {right}, {helper})"
            elif T.is_collection(_type(node.right)):
                core = f"_sb({right}, {left}, {helper})"
            else:
                core = f"_in({right}, {left}, {helper})"
            return self.atom(f"{core} is {positive}", ctx)
        guards: list[str] = []
        temps = _Temps(ctx.depth)
        left = self._guard(self.value(node.left, ctx, as_set=True), node.left, guards, temps)
        right = self._guard(self.value(node.right, ctx, as_set=True), node.right, guards, temps)
        if node.op == "overlaps":
            as_set = left if left in self._set_names else f"_fs({left})"
            core = f"{'not ' if positive else ''}{as_set}.isdisjoint({right})"
        elif T.is_collection(_type(node.right)):
            core = f"{'' if positive else 'not '}_sub({right}, {left})"
        else:
            core = f"{right} {'in' if positive else 'not in'} {left}"
        return self.atom(" and ".join([*guards, core]), ctx)

    def _between(self, node: ast.Between, positive: bool, ctx: _Ctx) -> str:
        folded = (_folded(node.value), _folded(node.low), _folded(node.high))
        if folded != (node.value, node.low, node.high):
            node = ast.Between(node.span, *folded, node.type)
        kind = _type(node.value).name
        if kind in ("money", "duration") and isinstance(node.low, ast.Literal) and isinstance(node.high, ast.Literal):
            # `buy_in_advance between 2 months and 9 months`: counts in the bounds' family, no helper
            inline = self._inline_operand(node.value, [node.low.value, node.high.value], ctx)
            if inline is not None:
                comparable, number = inline
                low, high = _inline_number(self, node.low), _inline_number(self, node.high)
                inside = f"{low} <= {number} <= {high}"
                return self.atom(f"{comparable} and {inside if positive else f'not ({inside})'}", ctx)
        guards: list[str] = []
        temps = _Temps(ctx.depth)
        v, lo, hi = (self._guard(self.value(n, ctx), n, guards, temps) for n in (node.value, node.low, node.high))
        if kind == "time":
            core = f"_tb({v}, {lo}, {hi})"
        elif kind in ("money", "duration", "datetime"):
            helper = _SIGN_HELPERS[kind]
            t1, t2 = temps(), temps()
            guards += [f"({t1} := {helper}({v}, {lo})) is not None", f"({t2} := {helper}({v}, {hi})) is not None"]
            core = f"{t1} >= 0 and {t2} <= 0"
        else:
            core = f"{lo} <= {v} <= {hi}"
        return self.atom(" and ".join([*guards, core if positive else f"not ({core})"]), ctx)

    def _quantifier(self, node: ast.Quantifier, positive: bool, ctx: _Ctx) -> str:
        hoisted = _split_any(node)
        # negated, a missing list must leave the whole quantifier unknown, which the split form
        # would not (it holds as soon as the pulled-out condition is false)
        if hoisted is not None and (positive or not _maybe(node.collection)):
            return self.condition(hoisted, positive, ctx)
        shared = self._tuple_lookup(node, positive, ctx) or self._extreme_lookup(node, positive, ctx)
        if shared is not None:
            return shared
        collection = self.value(node.collection, ctx)
        var = f"v_{node.var}_{self._next_name()}"
        inner = _Ctx({**ctx.variables, node.var: var}, ctx.element, ctx.element_record, ctx.depth + 1)
        body = self.condition(node.condition, positive, inner)
        func = node.kind if positive else ("all" if node.kind == "any" else "any")
        guard = f"{collection} is not None and " if _maybe(node.collection) else ""
        loop = f"{func}({body} for {var} in {collection})"
        if collection.isidentifier():
            loop = _small_lists(func, body, var, collection, ctx.depth)
        return f"({guard}{loop})"

    def _tuple_lookup(self, node: ast.Quantifier, positive: bool, ctx: _Ctx) -> str | None:
        """`any p in X where p.a == c and p.b in S` → one shared set of (a, b) tuples per scenario.

        Many rules ask this kind of question about the same list (the (type, code) pairs of a
        subscription's products): the tuples are built once per scenario and each rule is a
        set intersection test. Only for constant conditions on plain fields of the elements.
        """
        shape = self._any_over_elements(node, positive, ctx)
        if shape is None:
            return None
        path, record, parts = shape
        allowed = self._field_filters(parts, node.var, record)
        if allowed is None:
            return None
        fields = sorted(allowed)
        if math.prod(len(allowed[f]) for f in fields) > 10_000:
            return None  # counted before building: sets of 800 values on three fields are 512 million tuples
        self._unshaped()
        combinations = frozenset(itertools.product(*(allowed[f] for f in fields)))
        tuples = self._tuples(path, record, fields)
        t = _Temps(ctx.depth)()
        return self.atom(f"({t} := {tuples}) is not None and not {t}.isdisjoint({self.const(combinations)})", ctx)

    def _tuples(self, path: tuple[str, ...], record: str, fields: Sequence[str]) -> str:
        """The lazy fact shared per scenario: the set of the list's elements' `fields` tuples (None
        when the list is missing), read by `_tuple_lookup` and `_merged_lookups`."""
        key = (*path, "\x00tuples", *fields)
        source = self._fact(path)
        x = f"x{self._next_name()}"
        attributes = ", ".join(f"{x}.{self.env.fields(record)[f].attribute}" for f in fields)
        # a set comprehension: no list, no call (the fact is only tested, `isdisjoint` and `<=`)
        return self._lazy(key, f"{{({attributes},) for {x} in {source}}} if {source} is not None else None")

    def _merged_lookups(self, parts: list[ast.Node], ctx: _Ctx) -> dict[int, str]:
        """The operands of an un-negated `and` that are `_tuple_lookup`s of one tuple each over the
        same list and fields (`any p in subscription.products where p.product == "x"`, a `products`
        section's entries: every listed product present), as one test that the tuples they want
        are all among the list's: `K <= t`, the code of the group's first operand (by its place in
        `parts`); the others `_MERGED`. Groups of one keep their own code.

        The same outcome as the conjunction (each test: the list is there and holds its tuple), in
        one atom and one constant, where one atom per product made the code of a section of 10,000
        products 1.6 MB, which Python's `compile` took 7 s over (until 2026-12-04)."""
        if ctx.local:
            return {}
        groups: dict[tuple[Any, ...], list[tuple[int, tuple[Any, ...]]]] = {}
        for k, part in enumerate(parts):
            if not isinstance(part, ast.Quantifier):
                continue
            shape = self._any_over_elements(part, True, ctx)
            if shape is None:
                continue
            path, record, conditions = shape
            allowed = self._field_filters(conditions, part.var, record)
            if allowed is None or any(len(values) != 1 for values in allowed.values()):
                continue
            fields = tuple(sorted(allowed))
            wanted = tuple(next(iter(allowed[f])) for f in fields)
            groups.setdefault((path, record, fields), []).append((k, wanted))
        merged: dict[int, str] = {}
        for (path, record, fields), members in groups.items():
            if len(members) < 2:
                continue
            self._unshaped()
            tuples = self._tuples(path, record, fields)
            t = _Temps(ctx.depth)()
            every = self.const(frozenset(wanted for _, wanted in members))
            merged[members[0][0]] = self.atom(f"({t} := {tuples}) is not None and {every} <= {t}", ctx)
            merged.update((k, _MERGED) for k, _ in members[1:])
        return merged

    def _extreme_lookup(self, node: ast.Quantifier, positive: bool, ctx: _Ctx) -> str | None:
        """`any p in X where p.a == c and p.price >= 20.00 EUR` → `M >= 20.00`, with M the largest
        amount in EUR among the elements with `a == c` (the smallest for `<=` and `<`), one shared
        fact per scenario: some element's amount reaches the bound exactly when the largest does.
        Elements without a price, or priced in another currency, take no part, as in the generic
        code (where their comparison has no answer, so does not hold, un-negated)."""
        shape = self._any_over_elements(node, positive, ctx)
        if shape is None:
            return None
        path, record, parts = shape
        money = [p for p in parts if isinstance(p, ast.Compare) and _type(p.left).name == "money"]
        if len(money) != 1:
            return None
        compare = money[0]
        target, bound, op = compare.left, compare.right, compare.op
        if isinstance(target, ast.Literal):
            target, bound, op = bound, target, _MIRROR[op]
        if op not in ("<", "<=", ">", ">=") or not isinstance(bound, ast.Literal):
            return None
        field_name = self._element_field(target, node.var, record)
        literals: dict[str, tuple[ast.Node, ...]] = {}
        allowed = self._field_filters([p for p in parts if p is not compare], node.var, record, literals)
        if field_name is None or allowed is None:
            return None
        func = "max" if op in (">", ">=") else "min"
        currency = self.const(bound.value.currency)
        key = (
            *path,
            "\x00extreme",
            func,
            field_name,
            currency,
            *(f"{f} {self._lconst(frozenset, literals[f])}" for f in sorted(allowed)),
        )
        source = self._fact(path)
        x = f"x{self._next_name()}"
        # the price read once per element (`for p in [x.price]` is an assignment in a comprehension):
        # an attribute of a scenario's model costs more than a local's (40 rules: 0.2 µs a scenario)
        price = f"x{self._next_name()}"
        fields = self.env.fields(record)
        tests = [f"{price} is not None", f"{price}.currency == {currency}"]
        for name, values in sorted(allowed.items()):
            # (one value: the first of the literals, as the set keeps it)
            test = (
                f"== {self._lconst(_first, literals[name])}"
                if len(values) == 1
                else f"in {self._lconst(frozenset, literals[name])}"
            )
            tests.append(f"{x}.{fields[name].attribute} {test}")
        amounts = (
            f"[{price}.amount for {x} in {source} for {price} in [{x}.{fields[field_name].attribute}]"
            f" if {' and '.join(tests)}]"
        )
        # `max(list or _NO)`: None for no amount, as `default=None` gives, without a keyword call's cost
        extreme = self._lazy(key, f"{func}({amounts} or _NO) if {source} is not None else None")
        t = _Temps(ctx.depth)()
        return self.atom(f"({t} := {extreme}) is not None and {t} {op} {self._lconst(_amount, (bound,))}", ctx)

    def _any_over_elements(
        self, node: ast.Quantifier, positive: bool, ctx: _Ctx
    ) -> tuple[tuple[str, ...], str, tuple[ast.Node, ...]] | None:
        """For an un-negated `any` over a list of records read from the scenario, outside other
        quantifiers (what `_tuple_lookup` and `_extreme_lookup` share per scenario): the list's
        path, the elements' record and the conditions its `where` joins with `and`."""
        if node.kind != "any" or not positive or ctx.local:
            # negated, an element with a missing field is unknown rather than "no match": the
            # generic code keeps the three-valued meaning there
            return None
        path = self._path(node.collection, ctx)
        elem = _type(node.collection).elem
        if path is None or elem is None or elem.name != "record":
            return None
        parts = (
            node.condition.operands
            if isinstance(node.condition, ast.BoolOp) and node.condition.op == "and"
            else (node.condition,)
        )
        return path, elem.record or "", parts

    def _element_field(self, node: ast.Node, var: str, record: str) -> str | None:
        """The name of the plain (not derived) field of the element `var` that `node` reads."""
        if not (isinstance(node, ast.Attribute) and isinstance(node.obj, ast.Name) and node.obj.id == var):
            return None
        info = self.env.fields(record).get(node.name)
        return node.name if info is not None and info.derived is None else None

    def _field_filters(
        self,
        parts: Iterable[ast.Node],
        var: str,
        record: str,
        literals: dict[str, tuple[ast.Node, ...]] | None = None,
    ) -> dict[str, frozenset[Any]] | None:
        """`p.a == c` and `p.b in S` (constants, plain fields of the element `var`, each field
        once) as the values each field may take; None for any other condition. `literals` gets
        each field's literal nodes, in order."""
        allowed: dict[str, frozenset[Any]] = {}
        for part in parts:
            nodes: tuple[ast.Node, ...] = ()
            if isinstance(part, ast.Compare) and part.op == "==":
                target, values = part.left, (part.right.value,) if isinstance(part.right, ast.Literal) else None
                nodes = (part.right,)
            elif isinstance(part, ast.Membership) and not part.negated and isinstance(part.collection, ast.SetLiteral):
                target = part.item
                nodes = part.collection.items
                values = tuple(i.value for i in nodes if isinstance(i, ast.Literal))
                if len(values) != len(nodes):
                    values = None
            else:
                return None
            name = self._element_field(target, var, record)
            if values is None or name is None or name in allowed:
                return None
            if self.env.fields(record)[name].type.name in ("duration", "datetime", "money"):
                return None  # compared with Python's `==`: 2 weeks != 14 days, naive != zoned
            allowed[name] = frozenset(values)
            if literals is not None:
                literals[name] = nodes
        return allowed

    # values ---------------------------------------------------------------------------------------

    def value(self, node: ast.Node, ctx: _Ctx, as_set: bool = False) -> str:
        if isinstance(node, ast.Literal):
            return self._lconst(_first, (node,))
        if isinstance(node, ast.SetLiteral):
            if all(isinstance(i, ast.Literal) for i in node.items):
                return self._lconst(frozenset, node.items)
            return "_fs((" + "".join(self.value(i, ctx) + ", " for i in node.items) + "))"
        path = self._path(node, ctx)
        if path is not None:
            return self._fact(path, as_set)
        if isinstance(node, ast.Name):
            if node.id in ctx.variables:
                return ctx.variables[node.id]
            assert ctx.element is not None and ctx.element_record is not None
            return self._field(ctx.element, ctx.element_record, node.id, optional_parent=False)
        if isinstance(node, ast.Attribute):
            return self._attribute(node, ctx)
        if isinstance(node, ast.Arith):
            return self._arith(node, ctx)
        if isinstance(node, ast.Negate):
            folded = _folded(node)
            if isinstance(folded, ast.Literal):
                return self.const(folded.value)
            return f"_neg({self.value(node.operand, ctx)})"
        if isinstance(node, ast.Aggregate):
            return self._aggregate(node, ctx)
        if isinstance(node, ast.Call):
            from engine.criteria.environment import FUNCTIONS

            args = ", ".join(self.value(a, ctx) for a in node.args)
            return f"{self.const(FUNCTIONS[node.func][2])}({args}, s)"
        raise AssertionError(f"cannot compile {type(node).__name__}")  # pragma: no cover

    def _path(self, node: ast.Node, ctx: _Ctx) -> tuple[str, ...] | None:
        """A chain of plain field names from the scenario root (hoistable), or None."""
        names: list[str] = []
        while isinstance(node, ast.Attribute):
            names.append(node.name)
            node = node.obj
        if not isinstance(node, ast.Name) or node.id in ctx.variables:
            return None
        if ctx.element_record is not None and node.id in self.env.fields(ctx.element_record):
            return None
        names.append(node.id)
        return tuple(reversed(names))

    def _fact(self, path: tuple[str, ...], as_set: bool = False) -> str:
        key = (*path, "\x00set") if as_set else path
        if key in self.facts:
            return self._read(self.facts[key])
        if as_set:
            base = self._fact(path)
            t = _path_type(self.env, path)
            name = f"f{next(self._fact_names)}"
            if t.name == "list" and t.elem is not None and t.elem.name not in ("record", "set", "list"):
                self.prologue.append(f"{name} = _fs({base}) if {base} is not None else None")
                self.facts[key] = name
                self._set_names.add(name)
                return name
            self.facts[key] = base
            return base
        if len(path) == 1:
            name = f"f{next(self._fact_names)}"
            self.prologue.append(f"{name} = s.{self.env.roots[path[0]].attribute}")
        else:
            parent = self._fact(path[:-1])
            parent_type = _path_type(self.env, path[:-1])
            expr = self._step(parent, parent_type, path[-1])
            if parent_type.optional:
                expr = f"({expr} if {parent} is not None else None)"
            if parent_type.name == "record" and self.env.fields(parent_type.record or "")[path[-1]].derived is not None:
                return self._lazy(key, expr)  # a derived fact: computed when a rule needs it
            name = f"f{next(self._fact_names)}"
            self.prologue.append(f"{name} = {expr}")
        self.facts[key] = name
        return name

    def _step(self, parent: str, parent_type: T.Type, name: str) -> str:
        """Code for one field step; over a list it projects the field of every element."""
        if parent_type.name == "list" and parent_type.elem is not None:
            x = f"x{self._next_name()}"
            # a projected list holds None where a field is missing (a line without a price): its field is missing too
            return f"[({self._step(x, parent_type.elem, name)} if {x} is not None else None) for {x} in {parent}]"
        if parent_type.name == "record":
            return self._field(parent, parent_type.record or "", name, False)
        return parent + _BUILTIN_CODE[(parent_type.name, name)]

    def _field(self, obj: str, record: str, name: str, optional_parent: bool) -> str:
        info = self.env.fields(record)[name]
        if info.derived is account_due_in_days:
            # its function's arithmetic in day numbers, without its two calls
            due = f"{obj}.{self.env.fields(record)['due_date'].attribute}"
            return f"({due}.toordinal() - s.as_of.toordinal() if {due} is not None else None)"
        if info.derived is not None:
            return f"{self.const(info.derived)}({obj}, s)"
        return f"{obj}.{info.attribute}"

    def _attribute(self, node: ast.Attribute, ctx: _Ctx) -> str:
        obj = self.value(node.obj, ctx)
        t = _type(node.obj)
        code = self._step(obj, t, node.name)
        # date arithmetic that leaves the calendar is missing (`_add` gives None): so are its fields
        return f"({code} if {obj} is not None else None)" if t.optional or _maybe(node.obj) else code

    def _arith(self, node: ast.Arith, ctx: _Ctx) -> str:
        a, b = self.value(node.left, ctx), self.value(node.right, ctx)
        lt, rt = _type(node.left), _type(node.right)
        if node.op in "+-":
            return f"_add({a}, {b}, {node.op == '-'})"
        if node.op == "*":
            return f"_mul({a}, {b}, {lt.name == 'percent'}, {rt.name == 'percent'})"
        return f"_div({a}, {b})"

    def _aggregate(self, node: ast.Aggregate, ctx: _Ctx) -> str:
        source_node, value_field = node.collection, None
        prefix = ""
        values_only = False  # a projection of values (`subscription.products.price.amount`)
        if isinstance(node.collection, ast.Attribute) and _type(node.collection.obj).name == "list":
            elem_of = _type(node.collection.obj).elem
            if elem_of is not None and elem_of.name == "record":  # a field of each record
                source_node, value_field = node.collection.obj, node.collection.name
            else:  # its values: a line without a price has none (None), and it is left out
                values_only = True
        source = self.value(source_node, ctx)
        elem = _type(source_node).elem
        assert elem is not None
        var = f"e{self._next_name()}"
        if node.var:
            inner = _Ctx({**ctx.variables, node.var: var}, ctx.element, ctx.element_record, ctx.depth + 1)
        else:
            inner = _Ctx(dict(ctx.variables), var, elem.record if elem.name == "record" else None, ctx.depth + 1)
        filters = [f"{var} is not None"] if values_only else []  # (the values present, as SQL reads them)
        if node.where is not None:
            filters.append(self.condition(node.where, True, inner))
        if node.within is not None:
            record = elem.record or ""
            stamp = self.env.time_fields[record]
            window = self.value(node.within, ctx)  # a literal
            stamp_type = next((f.type for f in self.env.fields(record).values() if f.attribute == stamp), None)
            if stamp_type is not None and stamp_type.name == "datetime":
                # the window's bounds once per scenario; a stamp of the other zone-awareness (or a
                # window reaching past 0001-01-01) goes the general way
                bounds, t = f"_w{inner.depth}", f"_t{inner.depth}_0"
                assert isinstance(node.within, ast.Literal)
                starts = self._window_starts_of(node.within)
                shared = self._lazy(("\x00window", starts), f"_cwb(s.as_of, {starts})", ctx.local)
                prefix = f"({bounds} := {shared}) and "  # a non-empty tuple
                bind = (
                    f"({t} := {var}.{stamp}) is not None and "
                    if stamp_type.optional
                    else f"({t} := {var}.{stamp}) and "  # a date-time is never false
                )
                filters.append(
                    f"({bind}({bounds}[0] < {t} <= {bounds}[1]"
                    f" if ({t}.tzinfo is None) is {bounds}[2] else _win({t}, s.as_of, {window})))"
                )
            else:
                filters.append(f"_win({var}.{stamp}, s.as_of, {window})")
        condition = f" if {' and '.join(filters)}" if filters else ""
        item = self._field(var, elem.record or "", value_field, False) if value_field else var
        guard = f"None if {source} is None else " if _maybe(source_node) else ""
        if node.func == "count":
            # a list's length: faster than summing ones from a generator, which resumes per element
            code = f"{prefix}len([0 for {var} in {source}{condition}])"
            nothing = "0"
        elif (
            node.func == "sum"
            and _type(node).name != "money"
            and not (self.env.fields(elem.record or "")[value_field].type if value_field else elem).optional
            # (a projection of projections, `subscription.products.price.amount`, holds a missing
            # element for each line without a price, whatever its element type says)
            and not (value_field is None and isinstance(source_node, ast.Attribute))
        ):
            # what `_agg` does for numbers that are never missing, without its call: 0 for none
            code = f"{prefix}sum([{item} for {var} in {source}{condition}])"
            nothing = "0"
        else:
            values = f"[{item} for {var} in {source}{condition}]"
            empty = f", {self.const(empty_sum(_type(node)))}" if node.func == "sum" else ""
            code = f"{prefix}_agg({self.const(node.func)}, {values}{empty})"
            nothing = self.const(empty_sum(_type(node))) if node.func == "sum" else "None"
        # over an empty list (a scenario without usage: the common case), the aggregate of nothing
        # without the window's bounds and the comprehension's call
        code = f"{guard}({nothing} if not {source} else {code})" if source.isidentifier() else f"{guard}({code})"
        # the same aggregate in several rules is computed once per scenario, when first needed
        if ctx.local:  # it may read the variables of the generators around it
            return f"({code})"
        return self._lazy(("\x00aggregate", _NAME_LOCAL.sub("_", code)), code)


#: A word of generated code not preceded by `.` or another word character (`_small_lists`).
_WORD = re.compile(r"(?<![.\w])\w+")


def _small_lists(func: str, body: str, var: str, collection: str, depth: int) -> str:
    """`all(body for var in collection)` (or `any`) with the lists scenarios mostly hold taken
    without the generator (whose making and resuming cost more than a short body): an empty list
    gives `all`'s True or `any`'s False, one element the body with `var` bound to it (`_q{depth}`:
    a name per nesting depth, as the temporaries). Equal to the generator's outcome: conditions
    are booleans, so `all`/`any` of one is that one."""
    element = f"_q{depth}"
    # every word not after a `.`, kept unless it is `var` (one pattern: a pattern per variable
    # name was compiled anew for most quantifiers of a large rule set, past `re`'s cache)
    single = _WORD.sub(lambda word: element if word[0] == var else word[0], body)
    empty = "True" if func == "all" else "False"
    return (
        f"({empty} if not {collection} else ((({element} := {collection}[0]) is {element} and {single})"
        f" if len({collection}) == 1 else {func}({body} for {var} in {collection})))"
    )


def _inline_number(compiler: RuleSetCompiler, literal: ast.Node) -> str:
    """The number of a money or duration literal that `_inline_operand`'s number compares with:
    its amount, or its count in its family (weeks as days, years as months)."""
    money = isinstance(literal.value, Money)  # type: ignore[attr-defined]
    return compiler._lconst(_amount if money else _family_count, (literal,))


def _first(values: list[Any]) -> Any:
    return values[0]


def _amount(values: list[Any]) -> Any:
    return values[0].amount


def _family_count(values: list[Any]) -> Any:
    family = runtime.duration_family(values[0])
    assert family is not None  # a literal
    return family[1]


def _factor(values: list[Any]) -> Decimal:
    return Decimal(values[0])


def _percent_factor(values: list[Any]) -> Decimal:
    return Decimal(values[0]) / 100


def _scaled_money(node: ast.Node) -> tuple[ast.Node, ast.Node, Callable[[list[Any]], Decimal]] | None:
    """For money times a number or percentage literal (`sum(subscription.products.price) * 10%`):
    the money's node, the literal and how the factor its amount is multiplied by is made of the
    literal's value (`runtime.multiply`: a percentage as its fraction, computed here once); None
    for other values."""
    if not isinstance(node, ast.Arith) or node.op != "*":
        return None
    for money, factor in ((node.left, _folded(node.right)), (node.right, _folded(node.left))):
        if (
            _type(money).name == "money"
            and isinstance(factor, ast.Literal)
            and type(factor.value) in (int, Decimal)
            and _type(factor).name in ("number", "percent")
        ):
            return money, factor, _percent_factor if _type(factor).name == "percent" else _factor
    return None


def _text_key(node: ast.Node) -> Any:
    """What identifies a typed condition's tree, without walking it: its source text (the tree is
    the parse of that text, typed against the compiler's environment), or for a section that
    combines entries, `and`/`or` and its operands' keys. None for nodes without text (built in code)."""
    text = node.span.text
    if text:
        return (type(node), text)
    if type(node) is ast.BoolOp:
        keys = tuple(_text_key(o) for o in node.operands)
        return None if None in keys else (node.op, keys)
    return None


def empty_sum(t: T.Type) -> Any:
    """The sum of no values of type `t`: 0, zero money in the currency the type knows, else missing."""
    if t.name != "money":
        return 0
    return Money(Decimal(0), t.currency).quantized() if t.currency else None


def _type(node: ast.Node) -> T.Type:
    t = getattr(node, "type", None)
    assert t is not None, f"untyped node {node!r}"
    return t  # type: ignore[no-any-return]


#: node classes tested together (tuples: `A | B` in `isinstance` makes a union object at every call)
_CONSTANTS = (ast.Literal, ast.SetLiteral)
_COMPUTED = (ast.Arith, ast.Negate, ast.Aggregate, ast.Call)
_ARITHMETIC = (ast.Arith, ast.Negate)
_RANGES = (ast.Compare, ast.Between)


def _folded(node: ast.Node) -> ast.Node:
    """A negated number or money literal (`-30`, `-5 EUR`) as the literal it makes, negated once
    when compiling rather than at every evaluation (`runtime.negate` does it, so the value is the
    one the helper would give); any other node as it is."""
    if (
        type(node) is ast.Negate
        and type(node.operand) is ast.Literal
        and type(node.operand.value) in (int, Decimal, Money)
    ):
        return ast.Literal(node.span, runtime.negate(node.operand.value), node.type)
    return node


def _maybe(node: ast.Node) -> bool:
    """May this value be missing at run time (so comparisons must guard)?"""
    if isinstance(node, _CONSTANTS) or _folded(node) is not node:
        return False
    # helpers return None for missing operands or mixed currencies; aggregates may have no values;
    # a field of such a value is missing with it (`(as_of + 9000 years).year`)
    if isinstance(node, ast.Attribute) and _maybe(node.obj):
        return True
    return _type(node).optional or isinstance(node, _COMPUTED)


def _path_type(env: Environment, path: tuple[str, ...]) -> T.Type:
    t = env.roots[path[0]].type
    for name in path[1:]:
        optional = t.optional
        if t.name == "list" and t.elem is not None and t.elem.name == "record":
            t = T.list_of(env.fields(t.elem.record or "")[name].type)
        elif t.name == "list" and t.elem is not None:
            from engine.criteria.check import _BUILTIN_ATTRIBUTES

            each = _BUILTIN_ATTRIBUTES[t.elem.name][name]
            t = T.list_of(each.maybe() if t.elem.optional else each)  # (as the checker types it)
        elif t.name == "record":
            t = env.fields(t.record or "")[name].type
        else:
            from engine.criteria.check import _BUILTIN_ATTRIBUTES

            t = _BUILTIN_ATTRIBUTES[t.name][name]
        if optional:
            t = t.maybe()
    return t


def _split_any(node: ast.Quantifier) -> ast.Node | None:
    """`any p in L where A(p) and B` → `(any p in L where A(p)) and B` when B does not use `p`.

    A `where` clause extends as far as it can, so conditions written after it land inside; for
    `any` this rewrite is exact in three-valued logic (also for an empty list) and lets shared
    facts and tuple sets work — un-negated, or negated over a list that cannot be missing. Not
    for `all`: over an empty list `all … where A and B` holds while `B` alone may not.
    """
    if node.kind != "any" or not isinstance(node.condition, ast.BoolOp) or node.condition.op != "and":
        return None
    inside: list[ast.Node] = []
    outside: list[ast.Node] = []
    for operand in node.condition.operands:
        uses = any(isinstance(n, ast.Name) and n.id == node.var for n in ast.walk(operand))
        (inside if uses else outside).append(operand)
    if not outside or not inside:
        return None
    body = inside[0] if len(inside) == 1 else ast.BoolOp(node.condition.span, "and", tuple(inside), node.condition.type)
    narrowed = ast.Quantifier(node.span, node.kind, node.var, node.collection, body, node.type)
    return ast.BoolOp(node.span, "and", (narrowed, *outside), node.type)


#: Nanoseconds per operation of the generated code, measured with `timeit` on the project's 2-core
#: machine (Python 3.11): reading and comparing a fact 22, a frozenset membership 23, an `overlaps`
#: (isdisjoint) 36, a span against its precomputed threshold 39, a cached lazy fact 15, the money
#: helper 119, the duration helper 825, `uninterrupted`/maturity start ~700 (once per scenario),
#: a quantifier ~60 plus its body per element. Lists hold a few elements (`_ELEMENTS`).
_COST = {
    "compare": 25.0,
    "member": 25.0,
    "overlaps": 40.0,
    "span": 60.0,  # threshold comparison, plus the span's start shared by the rules that use it
    "money": 120.0,
    "duration": 825.0,
    "datetime": 250.0,
    "arith": 300.0,
    "call": 700.0,
    "quantifier": 60.0,
    "aggregate": 250.0,  # computed once per scenario and shared: its first use costs more
    "element": 40.0,
}
_ELEMENTS = 3.0


def _cost(node: ast.Node, memo: dict[int, tuple[ast.Node, float]] | None = None) -> float:
    """Expected nanoseconds to evaluate a condition or value (see `_COST`); `memo` keeps the costs
    of one condition's nodes (by identity, the node kept alive with its cost) while it is
    compiled: `and`/`or` inside `and`/`or` would otherwise cost their subtrees again."""
    if memo is not None:
        known = memo.get(id(node))
        if known is not None:
            return known[1]
    cost = _own_cost(node, memo)
    if memo is not None:
        memo[id(node)] = (node, cost)
    return cost


def _children_cost(node: ast.Node, memo: dict[int, tuple[ast.Node, float]] | None) -> float:
    return sum([_cost(c, memo) for c in node.children if not isinstance(c, _CONSTANTS)])


def _own_cost(node: ast.Node, memo: dict[int, tuple[ast.Node, float]] | None) -> float:
    cls = type(node)
    if cls is ast.Name or cls is ast.Literal:  # the most common nodes first: no children
        return 0
    if isinstance(node, ast.Attribute):
        if _type(node).name == "duration" and node.name in ("maturity", "age"):
            return _COST["call"] + _children_cost(node, memo)
        return _children_cost(node, memo)
    if isinstance(node, ast.Quantifier):
        return (
            _COST["quantifier"]
            + _cost(node.collection, memo)
            + _ELEMENTS * (_COST["element"] + _cost(node.condition, memo))
        )
    if isinstance(node, ast.Aggregate):
        return _COST["aggregate"]
    if isinstance(node, ast.Call):
        return _COST["span"] if _literal_duration_compare_target(node) else _COST["call"] + _children_cost(node, memo)
    if isinstance(node, _ARITHMETIC):
        return _COST["arith"] + _children_cost(node, memo)
    if isinstance(node, _RANGES):
        kind = _type(node.left if isinstance(node, ast.Compare) else node.value).name
        own = _COST.get(kind, _COST["compare"])
        if kind == "duration" and _is_span_compare(node):
            return _COST["span"]
        return own + _children_cost(node, memo)
    if isinstance(node, ast.Membership):
        return _COST["member"] * (4 if _type(node.item).name in _SIGN_HELPERS else 1) + _children_cost(node, memo)
    if isinstance(node, ast.SetRelation):
        return _COST["overlaps"] + _children_cost(node, memo)
    return _children_cost(node, memo)


def _literal_duration_compare_target(node: ast.Node) -> bool:
    return isinstance(node, ast.Call) and node.func == "uninterrupted" and isinstance(node.args[1], ast.Literal)


def _is_span_compare(node: ast.Node) -> bool:
    """A duration comparison that compiles to a threshold (see `_span_compare`)."""
    if not isinstance(node, ast.Compare):
        return False
    sides = (node.left, node.right)
    literal = [n for n in sides if isinstance(n, ast.Literal)]
    other = [n for n in sides if not isinstance(n, ast.Literal)]
    if len(literal) != 1 or len(other) != 1:
        return False
    x = other[0]
    return (
        (isinstance(x, ast.Attribute) and x.name in ("maturity", "age"))
        or _literal_duration_compare_target(x)
        or (isinstance(x, ast.Arith) and x.op == "-" and _type(x.right).name == "date")
    )


def _chance(node: ast.Node) -> float:
    """A rough chance that a condition holds (written as it is, before negation normal form)."""
    if isinstance(node, ast.Not):
        return 1 - _chance(node.operand)
    if isinstance(node, ast.BoolOp):
        chances = [_chance(o) for o in node.operands]
        return math.prod(chances) if node.op == "and" else 1 - math.prod(1 - c for c in chances)
    if isinstance(node, ast.Compare):
        return {"==": 0.25, "!=": 0.75}.get(node.op, 0.5)
    if isinstance(node, ast.Membership):
        return 0.6 if node.negated else 0.4
    if isinstance(node, ast.SetRelation):
        return 0.35
    if isinstance(node, ast.Quantifier):
        return 0.4 if node.kind == "any" else 0.6
    return 0.5


def _order(
    operands: tuple[ast.Node, ...], op: str, positive: bool, memo: dict[int, tuple[ast.Node, float]] | None = None
) -> list[ast.Node]:
    """Cheapest and most decisive first: for `and`, ascending cost / chance of being false (the
    order that minimises the expected cost of independent conditions); for `or`, cost / chance
    of being true. Stable: equal ranks keep the author's order."""

    def rank(node: ast.Node) -> float:
        holds = _chance(node) if positive else 1 - _chance(node)
        decides = (1 - holds) if op == "and" else holds
        return _cost(node, memo) / max(decides, 0.01)

    return sorted(operands, key=rank)


# conditions by shape -------------------------------------------------------------------------------
#
# Generated rule sets repeat a few conditions with other codes and numbers: texts of one shape
# (`engine.criteria.parse._Shape`), whose typed trees are one tree with other literals
# (`parse.typed_shape`). Their code is the same code with other constants, other names of the
# facts and variables it counts, other atoms and threshold slots. `_ShapeRecorder` generates a
# text's code once, in a compiler of its own, and records every call that reads or changes the
# compiler's state (constants, facts, atoms, lazy facts, counted names, thresholds, tolerances,
# windows), with what it takes from the literals; `_replay` makes those calls, in the same order,
# on the rule set's compiler with another text's literals, and puts what they return in the
# recorded code. The compiler's state then changes as generating that text's code would change
# it, and the code is the same text.
#
# What the code generator decides from a literal's value, other than through those calls, is its
# type, a money's currency, a duration's family, a boolean, and which literals are equal (sets,
# shared constants): texts share a recording only where these agree (`_signature`). A recording
# stands for its texts once a second text of the shape and signature recorded alike (no constant
# taken from a literal without saying so); until then, and for trees the recorder does not know
# (negated literals, tuple sets, date-times, spans' starts inside generators), the code is
# generated as before.

#: Placeholders of the recorder's names and numbers: ten digits from this on (the generated code
#: holds no other number this long).
_PLACEHOLDER_START = 7_000_000_000
_PLACEHOLDER = re.compile(r"7[0-9]{9}")

#: Whether conditions of a known shape are made from their shape's recording; tests switch it off to compare.
USE_SHAPES = True


def _signature(values: list[Any]) -> tuple[Any, ...] | None:
    """What the code generator may decide from the literals' values (see above); None where a
    literal's value is of a kind the recorder does not follow (date-times).

    The invariant the replay rests on: every value the generator takes from a literal goes through
    a recorded call (`_lconst`, `_threshold_index`, `_uninterrupted_literal`, `_window_starts_of`),
    and the only other things it decides from literals are in this signature. A change to the
    generator that reads `literal.value` directly breaks it; `_shaped` then catches it when a text
    differs at that place (a second recording compared), and tests/test_perf_s23_A.py compares the
    code with recordings on and off."""
    kinds: list[Any] = []
    for value in values:
        kind = type(value)
        if kind is Money:
            kinds.append((kind, value.currency, value.amount == 0))
        elif kind is Duration:
            family = runtime.duration_family(value)
            kinds.append((kind, family[0] if family is not None else None, value.count == 0))
        elif kind is bool:
            kinds.append((kind, value))
        elif kind is datetime:
            return None
        elif kind in (int, Decimal, str):  # (zero and the empty text: values a generator may single out)
            kinds.append((kind, not value))
        else:
            kinds.append(kind)
    # which literals are equal: each literal's first equal one (literals' values are hashable)
    first: dict[Any, int] = {}
    return (*kinds, tuple([first.setdefault(value, i) for i, value in enumerate(values)]))


def _differing(first: tuple[Any, ...], values: list[Any]) -> set[int]:
    """The places where a text's literals differ from the first recorded text's (booleans aside:
    the signature holds their values)."""
    return {
        i
        for i, (a, b) in enumerate(zip(first, values, strict=True))
        if type(a) is not bool and (type(a) is not type(b) or not _same(a, b))
    }


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover - literals compare
        return False


class _Unrecordable(Exception):
    """A condition whose code `_ShapeRecorder` cannot record."""


@dataclass
class _Tape:
    """A condition's code with placeholders, and the calls that make what they stand for."""

    template: ast.Node  # the typed tree the shape's texts copy (kept alive: its identity is the key)
    code: str  # a format string (`_format`)
    steps: list[tuple[Any, ...]]  # what `_replay` runs (`_steps`)
    recorded: str  # the code as recorded, with placeholders
    calls: list[tuple[Any, ...]]  # the calls as recorded
    confirmed: bool = False
    #: the literals' values of the text first recorded, and the places where a text recorded alike
    #: had another (`_shaped`: a text differing elsewhere is recorded again before it is replayed)
    first_values: tuple[Any, ...] = ()
    varied: set[int] = field(default_factory=set)
    #: the calls that change nothing once made (`_lasting`) left out, and what they give
    varying: list[tuple[Any, ...]] = field(default_factory=list)
    lasting: set[str] = field(default_factory=set)
    known: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.varying, self.lasting = _lasting(self.steps)


class _ShapeRecorder(RuleSetCompiler):
    """A compiler of its own that generates one condition's code with placeholders for every
    name and number the rule set's compiler would give, and records the calls that give them
    (see above). Its constants are never shared, so two literals equal in one text and not in
    another still make two calls."""

    def __init__(self, env: Environment, literals: list[ast.Node]) -> None:
        self._depth = 1  # (nothing recorded while the compiler is set up)
        self.calls: list[tuple[Any, ...]] = []
        super().__init__(env)
        self._names = self._fact_names = itertools.count(_PLACEHOLDER_START)
        self._literal_index = {id(node): k for k, node in enumerate(literals)}
        self._known: set[str] = set()  # placeholders met in what a recorded call returned
        self._depth = 0

    def _record(self, call: tuple[Any, ...], made: Any) -> Any:
        """Keep a call and what it returned; a placeholder it takes must come from an earlier call."""
        for part in call[1:]:
            if type(part) is str and not self._known.issuperset(_PLACEHOLDER.findall(part)):
                raise _Unrecordable
            if type(part) is tuple and not self._known.issuperset(
                p for item in part if type(item) is str for p in _PLACEHOLDER.findall(item)
            ):
                raise _Unrecordable
        if type(made) is int:
            self._known.add(str(made))
            self.calls.append((*call, made, ("", "")))
            return made
        found = [p for p in _PLACEHOLDER.findall(made) if p not in self._known]
        if len(found) > 1:
            raise _Unrecordable
        if found:  # the text around the new placeholder, which the rule set's compiler gives too
            before, _, after = made.partition(found[0])
            if _PLACEHOLDER.search(before) or _PLACEHOLDER.search(after):
                raise _Unrecordable
            self._known.add(found[0])
            self.calls.append((*call, found[0], (before, after)))
        else:
            self.calls.append((*call, None, made))
        return made

    def _index(self, literal: ast.Node) -> int:
        index = self._literal_index.get(id(literal))
        if index is None:  # a literal of the shape itself (see `_lconst`)
            raise _Unrecordable
        return index

    def _const(self, value: Any) -> str:
        self.constants.append(value)
        return f"K{next(self._names)}"

    def const(self, value: Any) -> str:
        if self._depth:
            return super().const(value)
        self._depth += 1
        made = super().const(value)
        self._depth -= 1
        return self._record(("const", value), made)  # type: ignore[no-any-return]

    def _lconst(self, derive: Callable[[list[Any]], Any], literals: Sequence[ast.Node]) -> str:
        if self._depth:
            return super()._lconst(derive, literals)
        if not all(id(literal) in self._literal_index for literal in literals):
            # a literal of the shape itself (`saturday`), the same in every text of it (a literal the
            # generator makes, a negated one, is not met: `_recorded`)
            return self.const(derive([literal.value for literal in literals]))  # type: ignore[attr-defined]
        indices = tuple(self._index(literal) for literal in literals)
        self._depth += 1
        made = super()._lconst(derive, literals)
        self._depth -= 1
        return self._record(("lconst", derive, indices), made)  # type: ignore[no-any-return]

    def atom(self, code: str, ctx: _Ctx) -> str:
        if ctx.local:
            return f"({code})"
        if self._depth:
            raise _Unrecordable
        made: str = self._record(("atom", code), f"\x00{next(self._names)}\x00")
        return made

    def _next_name(self) -> int:
        made = next(self._names)
        return made if self._depth else self._record(("name",), made)

    def _fact(self, path: tuple[str, ...], as_set: bool = False) -> str:
        if self._depth:
            return super()._fact(path, as_set)
        self._depth += 1
        made = super()._fact(path, as_set)
        self._depth -= 1
        return self._record(("fact", path, as_set), made)  # type: ignore[no-any-return]

    def _lazy(self, key: tuple[str, ...], code: str, nested: bool = False) -> str:
        if self._depth:
            return super()._lazy(key, code, nested)
        self._depth += 1
        made = super()._lazy(key, code, nested)
        self._depth -= 1
        return self._record(("lazy", key, code, nested), made)  # type: ignore[no-any-return]

    def _threshold_index(self, literal: ast.Node) -> int:
        if self._depth:
            raise _Unrecordable
        index = self._index(literal)
        made = next(self._names)
        self._known.add(str(next(self._names)))  # its "past" slot, `made + 1`
        self._record(("threshold", index), made)
        return made

    def _thresholds_row(self) -> str:
        if self._depth:
            return super()._thresholds_row()
        self._depth += 1
        made = super()._thresholds_row()
        self._depth -= 1
        return self._record(("row",), made)  # type: ignore[no-any-return]

    def _uninterrupted(self, subscription: str, allowed: int, ctx: _Ctx) -> str:
        if self._depth:
            return super()._uninterrupted(subscription, allowed, ctx)
        if _NAME_LOCAL.search(subscription):
            raise _Unrecordable  # (its code has a number the recorder does not follow)
        self._depth += 1
        made = super()._uninterrupted(subscription, allowed, ctx)
        self._depth -= 1
        return self._record(("uninterrupted", subscription, allowed), made)  # type: ignore[no-any-return]

    def _uninterrupted_literal(self, subscription: str, literal: ast.Node, ctx: _Ctx) -> str:
        if self._depth:
            raise _Unrecordable
        if _NAME_LOCAL.search(subscription):
            raise _Unrecordable
        index = self._index(literal)
        self._depth += 1
        made = super()._uninterrupted_literal(subscription, literal, ctx)
        self._depth -= 1
        return self._record(("uninterrupted_literal", subscription, index), made)  # type: ignore[no-any-return]

    def _window_starts_of(self, literal: ast.Node) -> str:
        if self._depth:
            raise _Unrecordable
        index = self._index(literal)
        self._depth += 1
        made = super()._window_starts_of(literal)
        self._depth -= 1
        return self._record(("window", index), made)  # type: ignore[no-any-return]

    def _unshaped(self) -> None:
        raise _Unrecordable

    def _shaped(self, node: ast.Node) -> str | None:
        return None  # (the recorder generates every part of the condition it records)


def _recorded(env: Environment, template: ast.Node, node: ast.Node, literals: list[ast.Node]) -> _Tape | None:
    """The recording of `node`'s code (see `_ShapeRecorder`), or None where it cannot be recorded."""
    if any(type(n) is ast.Negate for n in ast.walk(node)):
        return None  # (a negated literal is folded into a literal of the generator's own)
    recorder = _ShapeRecorder(env, literals)
    try:
        code = recorder.condition(node, True, _Ctx())
    except _Unrecordable:
        return None
    if not recorder._known.issuperset(_PLACEHOLDER.findall(code)):
        return None
    return _Tape(template, _format(code), _steps(recorder.calls), code, recorder.calls)


(
    _OP_CONST,
    _OP_LCONST,
    _OP_ATOM,
    _OP_NAME,
    _OP_FACT,
    _OP_LAZY,
    _OP_THRESHOLD,
    _OP_ROW,
    _OP_UNINTERRUPTED,
    _OP_UNINTERRUPTED_LITERAL,
    _OP_WINDOW,
) = range(11)
_OPS = {
    "const": _OP_CONST,
    "lconst": _OP_LCONST,
    "atom": _OP_ATOM,
    "name": _OP_NAME,
    "fact": _OP_FACT,
    "lazy": _OP_LAZY,
    "threshold": _OP_THRESHOLD,
    "row": _OP_ROW,
    "uninterrupted": _OP_UNINTERRUPTED,
    "uninterrupted_literal": _OP_UNINTERRUPTED_LITERAL,
    "window": _OP_WINDOW,
}


def _lasting(steps: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], set[str]]:
    """The steps that change the compiler's state every time (a new name, an atom's use, a lazy
    fact, a threshold, a window) and the placeholders of the others: a constant not taken from a
    literal, a fact, the thresholds' row, the start of a subscription's span for a tolerance not
    taken from a literal. Once made in a compiler, these give the same again and change nothing."""
    varying: list[tuple[Any, ...]] = []
    lasting: set[str] = set()
    for step in steps:
        op, first, _second, _past, key = step[:5]
        if op == _OP_CONST:
            try:
                hash(first)
            except TypeError:  # (a constant never shared: made anew every time)
                varying.append(step)
                continue
        elif op == _OP_UNINTERRUPTED:
            if not set(_FIELD.findall(first)) <= lasting:
                varying.append(step)
                continue
        elif op not in (_OP_FACT, _OP_ROW):
            varying.append(step)
            continue
        if key is not None:
            lasting.add(key)
    return varying, lasting


_FIELD = re.compile(r"\{(p7[0-9]{9})\}")


def _format(code: str) -> str:
    """Recorded code as a format string: each placeholder a field named `p` + placeholder."""
    return _PLACEHOLDER.sub(lambda match: "{p" + match.group() + "}", code.replace("{", "{{").replace("}", "}}"))


def _steps(calls: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Recorded calls as `RuleSetCompiler._replay` makes them: (operation, its arguments (texts as
    format strings), the name of the placeholder for what the call returns (None where nothing
    new), the text around the placeholder)."""
    steps: list[tuple[Any, ...]] = []
    for call in calls:
        op = _OPS[call[0]]
        *arguments, placeholder, around = call[1:]
        first = second = past = None
        before = after = ""
        key = None if placeholder is None else f"p{placeholder}"
        if type(placeholder) is not int and placeholder is not None:
            before, after = around
        if op in (_OP_CONST, _OP_LCONST, _OP_FACT):
            first, second = (*arguments, None)[:2]
        elif op == _OP_ATOM:
            first = _format(arguments[0])
        elif op == _OP_LAZY:
            first, second, past = tuple(_format(part) for part in arguments[0]), _format(arguments[1]), arguments[2]
        elif op == _OP_THRESHOLD:
            first, past = arguments[0], f"p{placeholder + 1}"
        elif op in (_OP_UNINTERRUPTED, _OP_UNINTERRUPTED_LITERAL):
            first, second = _format(arguments[0]), arguments[1]
        elif op == _OP_WINDOW:
            first = arguments[0]
        steps.append((op, first, second, past, key, before, after))
    return steps


def _same_tape(a: _Tape, b: _Tape) -> bool:
    """Two recordings alike: the same code, the same calls, the same values not taken from literals
    (of the same types: `1` and `1.0` are equal)."""
    if a.recorded != b.recorded or len(a.calls) != len(b.calls):
        return False
    for x, y in zip(a.calls, b.calls, strict=True):
        if x[0] != y[0] or len(x) != len(y):
            return False
        if x[0] == "const":
            if type(x[1]) is not type(y[1]) or not _same(x[1], y[1]) or x[2:] != y[2:]:
                return False
        elif x[1:] != y[1:]:
            return False
    return True
