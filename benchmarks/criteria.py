"""Criteria evaluation speed: billrules against hand-written Python and general rule engines.

One process, one seeded workload per size, every engine side by side, reported as ratios against
a baseline timed in the same round (SPEC §6 "Speed"):

    python benchmarks/criteria.py [--sizes 40,400,4000] [--rounds 7] [--quick] [--show-source]

Workload (`random.Random(2026)`): discount rules of 3-8 conditions, each condition drawn by weight
from every kind the shipped rules, their sections and SPEC 3.3 use (`KINDS` lists them with their
weights, the output states the share each got): text sets and equalities (accounts receivable,
billing term, price plans, types), segment include/exclude (`overlaps`), numbers, date ranges,
`account.due_in_days`, durations (`binding_period`, buy-in-advance `between` two durations),
maturity, age and `uninterrupted(subscription, N days)` thresholds, billing-term effectiveness
(`as_of.date - billing_term_start >= N months`), money (`any p in subscription.products where
p.price >= 20.00 EUR`), product quantifiers, usage counts and sums in a `within` window. A rule
never tests one field twice; its conditions are in a careful author's order (plain fields, then
calendar facts, then lists), the same order for every engine. Scenarios are JSON objects with
status histories (interruptions), 1-4 priced products, 0-8 usage records, optional fields left out
at realistic rates (missing data is unknown: a condition on it does not hold), and `as_of` on one
of six billing dates (month ends, a leap day).

Two tables per size:
- **from the parsed JSON object**: every engine is handed the scenario as a billing run receives it
  (a dict) and pays its own conversion inside the timed region: billrules validates it into the
  `Scenario` model (`checked_scenario`, as `RuleSet.decide` does) then evaluates (a second row
  validates with pydantic's `Scenario.model_validate` alone, the path of a scenario the direct
  builder gives up on, so the direct path's gain is measured in the same rounds); zen-engine and
  the CEL engines get a converted dict (dates as day numbers, money as minor units, and the facts
  they cannot express computed by the conversion in Python: maturity, age, uninterrupted time and
  effectiveness as whole months/days, `due_in_days`, `within` window bounds; CEL has no `sum`,
  so the usage sums too). The baseline is hand-written Python reading the dict directly: one
  plain function per rule, nothing shared between rules (see `hand_written_source`).
- **evaluation only**: billrules' generated evaluator on already-validated scenarios against the
  same hand-written baseline (which still reads the dict: it has no other input).

Method: each engine's answers are checked equal to the baseline's on every scenario it runs before
anything is timed (a difference aborts). Then `--rounds` rounds; in each round every engine is
timed right after the baseline on the same scenarios (engine order rotating), garbage collector
off, `time.perf_counter`; the ratio of that pair is the round's figure. Reported: the median of the
per-round ratios and their range (min-max), and µs per scenario (median). "billrules is" divides
billrules' ratio by the engine's, round by round. Slow engines run on fewer scenarios (the
"scenarios" column); ratios are rates. `--quick` is the smoke run the tests make (40 rules, 200
scenarios, 2 rounds, billrules and hand-written only). rule-engine gets zen-engine's converted
dict and one rule whose value is the array of the rules' outcomes (its language: `$any`, `$sum`
and comprehensions over lists, `[...]` for a dict's keys); it runs on 5 % of the scenarios.
cel-python (pure Python) is not in this workload (more than 100x slower on the simpler workload
this one replaced).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

SEED = 2026

# --- the workload ----------------------------------------------------------------------------------

CLASSIFICATIONS = {"Residential": 50, "SME": 25, "Business": 15, "Government": 5, "Wholesale": 5}
PAYMENT_PREFERENCES = {"direct_debit": 55, "card": 25, "invoice": 15, "cash": 5}
PRESENTMENT_PREFERENCES = {"email": 60, "paper": 25, "portal": 15}
SUBSCRIPTION_TYPES = {"tv": 35, "broadband": 30, "mobile": 25, "landline": 10}
PLANS = {
    "tv": ("tv-basic", "tv-family", "tv-max"),
    "broadband": ("bb-100", "bb-500", "bb-1000"),
    "mobile": ("mob-s", "mob-m", "mob-l"),
    "landline": ("fix-basic", "fix-unlimited"),
}
ALL_PLANS = {p: 1 for ps in PLANS.values() for p in ps}
FREQUENCIES = {"monthly": 60, "quarterly": 15, "yearly": 15, "bimonthly": 5, "semi_annual": 5}
SEGMENTS = {
    "VIP": 0.15,
    "loyalty": 0.30,
    "staff": 0.05,
    "student": 0.10,
    "senior": 0.10,
    "delinquent": 0.08,
    "churn-risk": 0.10,
    "new": 0.15,
}
PRODUCTS = {
    "termed": ("tv-essentials", "tv-premium", "tv-sports", "bb-100", "bb-500", "phone-line"),
    "usage": ("mob-data", "mob-voice", "roaming"),
    "one_time": ("installation", "router"),
    "expense": ("router-rental",),
}
PRODUCT_TYPE_WEIGHTS = {"termed": 60, "usage": 20, "one_time": 12, "expense": 8}
DEVICES = {"STB": 40, "phone": 40, "tablet": 20}
SERVICES = {"data": 50, "voice": 30, "sms": 20}
AS_OF = (
    "2024-01-31T23:00:00Z",
    "2024-02-29T12:00:00Z",
    "2024-03-15T00:00:00Z",
    "2024-04-30T08:30:00Z",
    "2024-06-01T00:00:00Z",
    "2024-08-31T18:00:00Z",
)
BINDINGS = {"12 months": 40, "24 months": 30, "6 months": 15, "1 year": 10, "90 days": 5}
ADVANCES = {"1 months": 30, "3 months": 30, "6 months": 20, "12 months": 10, "30 days": 10}
TEXT_FIELDS = {
    "account.classification": CLASSIFICATIONS,
    "account.payment_preference": PAYMENT_PREFERENCES,
    "account.presentment_preference": PRESENTMENT_PREFERENCES,
    "subscription.type": SUBSCRIPTION_TYPES,
    "subscription.plan": ALL_PLANS,
    "subscription.billing_frequency": FREQUENCIES,
}

#: condition kind → (weight, group): the group is the careful author's order (0 first)
KINDS: dict[str, tuple[int, int]] = {
    "text": (24, 0),  # sections: accounts receivable, billing term, price plans, types
    "segments": (10, 0),
    "number": (4, 0),
    "date": (5, 0),
    "due": (3, 0),
    "binding": (5, 0),
    "advance": (3, 0),
    "maturity": (8, 1),
    "age": (3, 1),
    "uninterrupted": (5, 1),
    "effective": (3, 1),
    "money": (7, 2),
    "product": (10, 2),
    "count": (6, 2),
    "sum": (4, 2),
}


@dataclass(frozen=True)
class Condition:
    kind: str
    field: str = ""  # the dotted field (text), include/exclude (segments), the product type
    op: str = ""
    values: tuple[Any, ...] = ()


Rule = tuple[Condition, ...]


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _months_text(n: int, unit: str) -> str:
    return f"{n} {unit}"


def _condition(rng: random.Random, kind: str, used: set[str]) -> Condition | None:
    """One condition of `kind`, or None when the rule already tests what it would (one field once)."""
    if kind == "text":
        free = [f for f in TEXT_FIELDS if f not in used]
        if not free:
            return None
        field = rng.choice(free)
        used.add(field)
        weights = TEXT_FIELDS[field]
        if rng.random() < 0.3:
            return Condition("text", field, "==", (_weighted(rng, weights),))
        pool = list(weights)
        size = rng.randint(min(2, len(pool)), max(2, len(pool) - 1))
        chosen: set[str] = set()
        popular = max(weights.values())
        while len(chosen) < size:
            chosen.add(rng.choices(pool, [w + popular for w in weights.values()])[0])
        return Condition("text", field, "in", tuple(sorted(chosen)))
    if kind in used:
        return None
    used.add(kind)
    if kind == "segments":
        if rng.random() < 0.5:
            return Condition(
                "segments",
                "include",
                values=tuple(sorted(rng.sample(["VIP", "loyalty", "student", "senior", "new"], rng.choice([1, 2, 3])))),
            )
        return Condition(
            "segments",
            "exclude",
            values=tuple(sorted(rng.choice([["delinquent"], ["delinquent", "churn-risk"], ["staff"]]))),
        )
    if kind == "number":
        op, n = rng.choice([(">=", 2), (">=", 3), (">", 1), ("<=", 4), ("<", 5)])
        return Condition("number", op=op, values=(n,))
    if kind == "date":
        first = date(2012, 1, 1) + timedelta(days=rng.randint(0, 2500))
        if rng.random() < 0.5:
            return Condition("date", op="between", values=(first, first + timedelta(days=rng.randint(900, 3000))))
        return Condition("date", op=">=", values=(first,))
    if kind == "due":
        if rng.random() < 0.6:
            return Condition("due", op="between", values=(0, rng.choice([7, 10, 14, 30])))
        return Condition("due", op="<=", values=(-rng.choice([10, 30, 60]),))
    if kind == "binding":
        op = rng.choice([">=", ">=", "==", "<"])
        return Condition("binding", op=op, values=(rng.choice([6, 12, 24]), "months"))
    if kind == "advance":
        low = rng.choice([1, 2, 3])
        return Condition("advance", op="between", values=(low, rng.choice([6, 9, 12])))
    if kind in ("maturity", "age"):
        op = rng.choice([">=", ">=", ">=", "<"])
        n, unit = rng.choice(
            [(3, "months"), (6, "months"), (12, "months"), (18, "months"), (2, "years"), (1, "years"), (90, "days")]
        )
        return Condition(kind, op=op, values=(n, unit))
    if kind == "uninterrupted":
        n, unit = rng.choice([(6, "months"), (12, "months"), (1, "years"), (2, "years")])
        return Condition(kind, op=">=", values=(rng.choice([7, 14, 30]), n, unit))
    if kind == "effective":
        return Condition(kind, op=rng.choice([">=", ">=", "<"]), values=(rng.choice([1, 3, 6, 12]), "months"))
    if kind == "money":
        amount = rng.choice(["10.00", "15.00", "20.00", "25.00", "30.00"])
        return Condition("money", "termed" if rng.random() < 0.4 else "", ">=", (Decimal(amount), "EUR"))
    if kind == "product":
        ptype = "termed" if rng.random() < 0.6 else rng.choice(["usage", "one_time", "expense"])
        codes = PRODUCTS[ptype]
        size = rng.randint(2, len(codes) - 1) if ptype == "termed" else rng.randint(max(1, len(codes) - 1), len(codes))
        return Condition("product", ptype, values=tuple(sorted(rng.sample(codes, size))))
    if kind == "count":
        return Condition(
            "count", _weighted(rng, DEVICES), ">=", (rng.choice([1, 2, 3]), rng.choice([(1, "months"), (14, "days")]))
        )
    assert kind == "sum"
    return Condition("sum", _weighted(rng, SERVICES), ">=", (rng.choice([3, 5, 10]), (1, "months")))


def make_rules(count: int, rng: random.Random) -> list[Rule]:
    kinds, weights = list(KINDS), [w for w, _ in KINDS.values()]
    rules = []
    for _ in range(count):
        size = rng.randint(3, 8)
        used: set[str] = set()
        conditions: list[Condition] = []
        while len(conditions) < size:
            c = _condition(rng, rng.choices(kinds, weights)[0], used)
            if c is not None:
                conditions.append(c)
        rng.shuffle(conditions)
        conditions.sort(key=lambda c: KINDS[c.kind][1])
        rules.append(tuple(conditions))
    return rules


def make_scenario(index: int, rng: random.Random) -> dict[str, Any]:
    """One scenario as the JSON object a billing run reads."""
    as_of = rng.choice(AS_OF)
    end = date.fromisoformat(as_of[:10])
    sub_type = _weighted(rng, SUBSCRIPTION_TYPES)
    start = end - timedelta(days=rng.randint(0, 12 * 365))
    account: dict[str, Any] = {"code": f"A{index}", "segments": [s for s, p in SEGMENTS.items() if rng.random() < p]}
    for name, weights, share in (
        ("classification", CLASSIFICATIONS, 0.95),
        ("payment_preference", PAYMENT_PREFERENCES, 0.9),
        ("presentment_preference", PRESENTMENT_PREFERENCES, 0.9),
    ):
        if rng.random() < share:
            account[name] = _weighted(rng, weights)
    if rng.random() < 0.6:
        account["due_date"] = (end + timedelta(days=rng.randint(-90, 30))).isoformat()
    subscription: dict[str, Any] = {
        "code": f"S{index}",
        "type": sub_type,
        "plan": rng.choice(PLANS[sub_type]),
        "start": start.isoformat(),
    }
    if rng.random() < 0.95:
        subscription["billing_frequency"] = _weighted(rng, FREQUENCIES)
    if rng.random() < 0.7:
        subscription["binding_period"] = _weighted(rng, BINDINGS)
    if rng.random() < 0.8:
        subscription["concurrent_usage"] = rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5, 6])
    if rng.random() < 0.7:
        subscription["billing_term_start"] = (start + timedelta(days=rng.randint(0, (end - start).days))).isoformat()
    if rng.random() < 0.2:
        subscription["buy_in_advance"] = _weighted(rng, ADVANCES)
    if rng.random() < 0.4 and (end - start).days > 200:
        history, day = [], start
        for _ in range(rng.randint(1, 3)):
            active_to = day + timedelta(days=rng.randint(30, max(31, (end - day).days // 2)))
            if active_to >= end:
                break
            history.append({"status": "active", "from": day.isoformat(), "to": active_to.isoformat()})
            pause = active_to + timedelta(days=rng.choice([3, 10, 20, 45]))
            if pause >= end:
                break
            history.append(
                {
                    "status": rng.choice(["rested", "deactivated"]),
                    "from": (active_to + timedelta(days=1)).isoformat(),
                    "to": pause.isoformat(),
                }
            )
            day = pause + timedelta(days=1)
        history.append({"status": "active", "from": day.isoformat()})
        subscription["status_history"] = history
    products = []
    for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
        kind = _weighted(rng, PRODUCT_TYPE_WEIGHTS)
        line: dict[str, Any] = {"product": rng.choice(PRODUCTS[kind])}
        if rng.random() < 0.95:
            line["type"] = kind
        if rng.random() < 0.85:
            line["price"] = (
                f"{rng.randint(1, 40)}.{rng.choice(['00', '50', '99'])} {'EUR' if rng.random() < 0.95 else 'USD'}"
            )
        products.append(line)
    subscription["products"] = products
    moment = datetime.fromisoformat(as_of)
    usage = [
        {
            "at": (moment - timedelta(minutes=rng.randint(0, 60 * 24 * 50))).isoformat().replace("+00:00", "Z"),
            "device": _weighted(rng, DEVICES),
            "service": _weighted(rng, SERVICES),
            "quantity": rng.randint(1, 5),
        }
        for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 6, 8]))
    ]
    return {"id": f"s{index}", "as_of": as_of, "account": account, "subscription": subscription, "usage": usage}


# --- billrules' text ------------------------------------------------------------------------------------


def _quoted(values: Sequence[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def _duration(n: int, unit: str) -> str:
    return f"{n} {unit}"


def billrules_condition(c: Condition) -> str:
    v = c.values
    if c.kind == "text":
        return f"{c.field} == {json.dumps(v[0])}" if c.op == "==" else f"{c.field} in {{{_quoted(v)}}}"
    if c.kind == "segments":
        return f"{'not ' if c.field == 'exclude' else ''}account.segments overlaps {{{_quoted(v)}}}"
    if c.kind == "number":
        return f"subscription.concurrent_usage {c.op} {v[0]}"
    if c.kind == "date":
        return f"subscription.start between {v[0]} and {v[1]}" if c.op == "between" else f"subscription.start >= {v[0]}"
    if c.kind == "due":
        return (
            f"account.due_in_days between {v[0]} and {v[1]}" if c.op == "between" else f"account.due_in_days <= {v[0]}"
        )
    if c.kind == "binding":
        return f"subscription.binding_period {c.op} {_duration(*v)}"
    if c.kind == "advance":
        return f"subscription.buy_in_advance between {v[0]} months and {v[1]} months"
    if c.kind in ("maturity", "age"):
        return f"subscription.{c.kind} {c.op} {_duration(*v)}"
    if c.kind == "uninterrupted":
        return f"uninterrupted(subscription, {v[0]} days) {c.op} {_duration(v[1], v[2])}"
    if c.kind == "effective":
        return f"as_of.date - subscription.billing_term_start {c.op} {_duration(*v)}"
    if c.kind == "money":
        typed = f'p.type == "{c.field}" and ' if c.field else ""
        return f"(any p in subscription.products where {typed}p.price >= {v[0]} {v[1]})"
    if c.kind == "product":
        return f'(any p in subscription.products where p.type == "{c.field}" and p.product in {{{_quoted(v)}}})'
    if c.kind == "count":
        return f'count(u in usage where u.device == "{c.field}" within {_duration(*v[1])}) >= {v[0]}'
    return f'sum(u in usage.quantity where u.service == "{c.field}" within {_duration(*v[1])}) >= {v[0]}'


def billrules_text(rule: Rule) -> str:
    return " and ".join(billrules_condition(c) for c in rule)


# --- hand-written Python over the JSON object -------------------------------------------------------------

HAND_HELPERS = '''
from calendar import monthrange
from datetime import date, datetime, timedelta
from decimal import Decimal


def shift(day, n, unit):
    """day + n days/months/years, a month end clamped (Jan 31 + 1 month = Feb 29)."""
    if unit == "days":
        return day + timedelta(days=n)
    months = n * 12 if unit == "years" else n
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(y, m + 1, min(day.day, monthrange(y, m + 1)[1]))


def uninterrupted_start(sub, end, tolerance):
    """Start of the uninterrupted time at `end`: after the last pause longer than `tolerance` days."""
    start = date.fromisoformat(sub["start"])
    for period in sub.get("status_history", ()):
        if period["status"] != "active":
            first = date.fromisoformat(period["from"])
            if first <= end:
                stop = min(date.fromisoformat(period["to"]), end) if period.get("to") else end
                if (stop - first).days + 1 > tolerance:
                    start = max(start, stop + timedelta(days=1))
    return min(start, end)


def months_of(text):
    """A duration's months, None for days/weeks (they do not compare with months)."""
    if text is None:
        return None
    n, unit = text.split(" ")
    if unit.startswith("month"):
        return int(n)
    if unit.startswith("year"):
        return 12 * int(n)
    return None


def amount_in(text, currency):
    if text is None or not text.endswith(currency):
        return None
    return Decimal(text[: -len(currency) - 1])
'''


def _hand_test(c: Condition, n: int, constants: list[str]) -> str:
    v = c.values
    if c.kind == "text":
        obj, name = c.field.split(".")
        getter = f"{'a' if obj == 'account' else 's'}.get({name!r})"
        if c.op == "==":
            return f"{getter} == {json.dumps(v[0])}"
        constants.append(f"SET_{n}_{len(constants)} = frozenset({{{_quoted(v)}}})")
        return f"{getter} in SET_{n}_{len(constants) - 1}"
    if c.kind == "segments":
        constants.append(f"SEG_{n} = frozenset({{{_quoted(v)}}})")
        test = f"SEG_{n}.isdisjoint(a.get('segments', ()))"
        return test if c.field == "exclude" else f"not {test}"
    if c.kind == "number":
        return f"(x := s.get('concurrent_usage')) is not None and x {c.op} {v[0]}"
    if c.kind == "date":
        if c.op == "between":  # ISO dates order as text
            return f"{str(v[0])!r} <= s['start'] <= {str(v[1])!r}"
        return f"s['start'] >= {str(v[0])!r}"
    if c.kind == "due":
        days = "(date.fromisoformat(x) - date.fromisoformat(d['as_of'][:10])).days"
        if c.op == "between":
            return f"(x := a.get('due_date')) is not None and {v[0]} <= {days} <= {v[1]}"
        return f"(x := a.get('due_date')) is not None and {days} <= {v[0]}"
    if c.kind == "binding":
        return f"(x := months_of(s.get('binding_period'))) is not None and x {c.op} {v[0]}"
    if c.kind == "advance":
        return f"(x := months_of(s.get('buy_in_advance'))) is not None and {v[0]} <= x <= {v[1]}"
    if c.kind in ("maturity", "age", "uninterrupted", "effective"):
        end = "(end := date.fromisoformat(d['as_of'][:10]))"
        count, unit = v[-2:]
        if c.kind == "effective":  # the end is bound after the start here
            shifted = f"shift(date.fromisoformat(x), {count}, {unit!r})"
            return f"(x := s.get('billing_term_start')) is not None and {shifted} {'<=' if c.op == '>=' else '>'} {end}"
        since = {
            "maturity": f"uninterrupted_start(s, {end}, 0)",
            "uninterrupted": f"uninterrupted_start(s, {end}, {v[0]})",
            "age": f"min(date.fromisoformat(s['start']), {end})",
        }[c.kind]
        return f"shift({since}, {count}, {unit!r}) {'<=' if c.op == '>=' else '>'} end"
    if c.kind == "money":
        typed = f"p.get('type') == {c.field!r} and " if c.field else ""
        constants.append(f"AMOUNT_{n} = Decimal({str(v[0])!r})")
        return f"any({typed}(x := amount_in(p.get('price'), {v[1]!r})) is not None and x >= AMOUNT_{n} for p in s['products'])"
    if c.kind == "product":
        constants.append(f"PRODUCTS_{n} = frozenset({{{_quoted(v)}}})")
        return f"any(p.get('type') == {c.field!r} and p.get('product') in PRODUCTS_{n} for p in s['products'])"
    (count, unit) = v[1]
    window = f"(now := datetime.fromisoformat(d['as_of'])).replace(year=(w := shift(now.date(), -{count}, {unit!r})).year, month=w.month, day=w.day)"
    inside = "(low < datetime.fromisoformat(u['at']) <= now)"
    if c.kind == "count":
        return f"((low := {window}) and sum(1 for u in d['usage'] if u.get('device') == {c.field!r} and {inside})) >= {v[0]}"
    return f"((low := {window}) and sum(u.get('quantity', 1) for u in d['usage'] if u.get('service') == {c.field!r} and {inside})) >= {v[0]}"


def hand_written_source(rules: Sequence[Rule]) -> str:
    """Python as a competent developer writes it over the JSON object: one function per rule, the
    conditions in the author's order, dates parsed where a rule needs them, nothing shared."""
    out = [HAND_HELPERS]
    for n, rule in enumerate(rules):
        constants: list[str] = []
        tests = [_hand_test(c, n, constants) for c in rule]
        out += [
            "",
            *constants,
            "",
            f"def rule_{n}(d):",
            "    a, s = d['account'], d['subscription']",
            "    return bool(",
        ]
        out += [f"        {'and ' if i else ''}({t})" for i, t in enumerate(tests)]
        out += ["    )", ""]
    out += ["", "def evaluate(d):", "    return (", *(f"        rule_{n}(d)," for n in range(len(rules))), "    )"]
    return "\n".join(out) + "\n"


# --- zen-engine and CEL: a converted input, computed facts ------------------------------------------------


def _shift(day: date, n: int, unit: str) -> date:
    from engine.values import Duration, TimeUnit

    return Duration(n, TimeUnit(unit)).add_to(day)


def whole(start: date, end: date) -> dict[str, int]:
    """Whole months and days from `start` to `end` (months: the most m with start + m months <= end)."""
    if start > end:
        return {"months": -1, "days": (end - start).days}
    months = (end.year - start.year) * 12 + end.month - start.month
    while months > 0 and _shift(start, months, "months") > end:
        months -= 1
    return {"months": months, "days": (end - start).days}


class Converter:
    """What zen-engine and CEL are given: the facts their rules read, computed from the JSON object."""

    def __init__(self, rules: Sequence[Rule], sums: bool) -> None:
        conditions = [c for r in rules for c in r]
        self.tolerances = sorted({c.values[0] for c in conditions if c.kind == "uninterrupted"})
        self.windows = sorted({c.values[1] for c in conditions if c.kind in ("count", "sum")})
        self.sums = sorted({(c.field, c.values[1]) for c in conditions if c.kind == "sum"}) if sums else []

    def __call__(self, d: dict[str, Any]) -> dict[str, Any]:
        from engine.values import parse_number

        hand = _hand_namespace()
        a, s = d["account"], d["subscription"]
        now = datetime.fromisoformat(d["as_of"])
        end = now.date()
        due = a.get("due_date")
        account = {
            "classification": a.get("classification"),
            "payment_preference": a.get("payment_preference"),
            "presentment_preference": a.get("presentment_preference"),
            "segments": a.get("segments", []),
            "due_in_days": (date.fromisoformat(due) - end).days if due else None,
        }
        start = date.fromisoformat(s["start"])
        term = s.get("billing_term_start")
        products = []
        for p in s.get("products", []):
            price = p.get("price")
            amount, currency = price.split(" ") if price else (None, None)
            products.append(
                {
                    "product": p["product"],
                    "type": p.get("type"),
                    "currency": currency,
                    "cents": int(parse_number(amount) * 100) if amount else None,
                }
            )
        subscription = {
            "type": s.get("type"),
            "plan": s.get("plan"),
            "billing_frequency": s.get("billing_frequency"),
            "concurrent_usage": s.get("concurrent_usage"),
            "start": start.toordinal(),
            "binding_months": hand["months_of"](s.get("binding_period")),
            "advance_months": hand["months_of"](s.get("buy_in_advance")),
            "maturity": whole(hand["uninterrupted_start"](s, end, 0), end),
            "age": whole(min(start, end), end),
            "effective": whole(date.fromisoformat(term), end) if term else None,
            "products": products,
        }
        for t in self.tolerances:
            subscription[f"uninterrupted_{t}"] = whole(hand["uninterrupted_start"](s, end, t), end)
        stamp = now.timestamp()
        usage = [
            {
                "device": u.get("device"),
                "service": u.get("service"),
                "quantity": u.get("quantity", 1),
                "at": datetime.fromisoformat(u["at"]).timestamp(),
            }
            for u in d.get("usage", [])
        ]
        windows = {}
        for count, unit in self.windows:
            day = _shift(end, -count, unit)
            windows[f"{count}_{unit}"] = now.replace(year=day.year, month=day.month, day=day.day).timestamp()
        facts: dict[str, Any] = {
            "account": account,
            "subscription": subscription,
            "usage": usage,
            "now": stamp,
            "windows": windows,
        }
        if self.sums:
            facts["sums"] = {
                f"{service}_{count}_{unit}": sum(
                    u["quantity"]
                    for u in usage
                    if u["service"] == service and windows[f"{count}_{unit}"] < u["at"] <= stamp
                )
                for service, (count, unit) in self.sums
            }
        return facts


def _in_months(n: int, unit: str) -> tuple[str, int]:
    """The whole-time fact and the count a duration is compared with: days, or months (years x 12)."""
    return ("days", n) if unit == "days" else ("months", n * 12 if unit == "years" else n)


def _item(path: str) -> str:
    """`account.due_in_days` as rule-engine reads a dict's key: `account["due_in_days"]`."""
    head, *keys = path.split(".")
    return head + "".join(f"[{json.dumps(k)}]" for k in keys)


def engine_condition(c: Condition, dialect: str) -> str:
    """One condition over the converted facts in zen-engine's expression language (`zen`), CEL's
    (`cel`) or rule-engine's (`rule-engine`: a dict's keys read with `[...]`; `$any`, `$sum` and
    comprehensions over lists). Plain facts are written alike; lists each engine's way."""
    cel, items = dialect == "cel", dialect == "rule-engine"
    AND, NOT = (" && ", "!") if cel else (" and ", "not ")
    ref = _item if items else str
    v = c.values

    def guarded(x: str, test: str) -> str:
        return f"({x} != null{AND}{test})"

    if c.kind == "text":
        x = ref(c.field)
        return f"{x} == {json.dumps(v[0])}" if c.op == "==" else f"{x} in [{_quoted(v)}]"
    if c.kind == "segments":
        if cel:
            test = f"account.segments.exists(x, x in [{_quoted(v)}])"
        elif items:
            test = f'$any([s in [{_quoted(v)}] for s in account["segments"]])'
        else:
            test = f"some(account.segments, # in [{_quoted(v)}])"
        return f"{NOT}{test}" if c.field == "exclude" else test
    if c.kind == "number":
        x = ref("subscription.concurrent_usage")
        return guarded(x, f"{x} {c.op} {v[0]}")
    if c.kind == "date":
        x = ref("subscription.start")
        if c.op == "between":
            return f"({x} >= {v[0].toordinal()}{AND}{x} <= {v[1].toordinal()})"
        return f"{x} >= {v[0].toordinal()}"
    if c.kind == "due":
        x = ref("account.due_in_days")
        return guarded(x, f"{x} >= {v[0]}{AND}{x} <= {v[1]}" if c.op == "between" else f"{x} <= {v[0]}")
    if c.kind == "binding":
        x = ref("subscription.binding_months")
        return guarded(x, f"{x} {c.op} {v[0]}")
    if c.kind == "advance":
        x = ref("subscription.advance_months")
        return guarded(x, f"{x} >= {v[0]}{AND}{x} <= {v[1]}")
    if c.kind in ("maturity", "age", "effective", "uninterrupted"):
        fact = {"maturity": "maturity", "age": "age", "effective": "effective"}.get(c.kind, f"uninterrupted_{v[0]}")
        what, count = _in_months(*(v[1:] if c.kind == "uninterrupted" else v))
        test = f"{ref(f'subscription.{fact}.{what}')} {c.op} {count}"
        return guarded(ref(f"subscription.{fact}"), test) if c.kind == "effective" else test
    if c.kind == "money":
        cents = int(v[0] * 100)
        typed = f'p.type == "{c.field}"{AND}' if c.field else ""
        if cel:
            return f'subscription.products.exists(p, {typed}p.currency == "{v[1]}"{AND}p.cents >= {cents})'
        if items:
            typed = f'p["type"] == "{c.field}" and ' if c.field else ""
            test = f'{typed}p["currency"] == "{v[1]}" and p["cents"] != null and p["cents"] >= {cents}'
            return f'$any([{test} for p in subscription["products"]])'
        return f'some(subscription.products, {typed.replace("p.", "#.")}#.currency == "{v[1]}" and #.cents >= {cents})'
    if c.kind == "product":
        if cel:
            return f'subscription.products.exists(p, p.type == "{c.field}" && p.product in [{_quoted(v)}])'
        if items:
            test = f'p["type"] == "{c.field}" and p["product"] in [{_quoted(v)}]'
            return f'$any([{test} for p in subscription["products"]])'
        return f'some(subscription.products, #.type == "{c.field}" and #.product in [{_quoted(v)}])'
    window = f'windows["{v[1][0]}_{v[1][1]}"]'
    if c.kind == "count":
        if cel:
            return f'size(usage.filter(u, u.device == "{c.field}" && u.at > {window} && u.at <= now)) >= {v[0]}'
        if items:
            return f'[u for u in usage if u["device"] == "{c.field}" and u["at"] > {window} and u["at"] <= now].length >= {v[0]}'
        return f'count(usage, #.device == "{c.field}" and #.at > {window} and #.at <= now) >= {v[0]}'
    if cel:
        return f'sums["{c.field}_{v[1][0]}_{v[1][1]}"] >= {v[0]}'
    if items:
        kept = f'u["service"] == "{c.field}" and u["at"] > {window} and u["at"] <= now'
        return f'$sum([u["quantity"] for u in usage if {kept}]) >= {v[0]}'
    return (
        f'sum(map(filter(usage, #.service == "{c.field}" and #.at > {window} and #.at <= now), #.quantity)) >= {v[0]}'
    )


def engine_expression(rules: Sequence[Rule], dialect: str) -> str:
    joiner = " && " if dialect == "cel" else " and "
    return "[" + ", ".join(joiner.join(f"({engine_condition(c, dialect)})" for c in r) for r in rules) + "]"


# --- engines -------------------------------------------------------------------------------------------------

_HAND: dict[str, Any] = {}


def _hand_namespace() -> dict[str, Any]:
    if not _HAND:
        exec(compile(HAND_HELPERS, "<hand-written helpers>", "exec"), _HAND)
    return _HAND


def build_hand_written(rules: list[Rule]) -> Callable[[Any], Any]:
    namespace: dict[str, Any] = {}
    exec(compile(hand_written_source(rules), "<hand-written rules>", "exec"), namespace)
    evaluate: Callable[[Any], Any] = namespace["evaluate"]
    return evaluate


def compile_billrules(rules: list[Rule]) -> Any:
    from engine.criteria.ast import Span
    from engine.criteria.check import check_condition
    from engine.criteria.compile import RuleSetCompiler
    from engine.criteria.environment import scenario_environment
    from engine.criteria.parse import parse

    env = scenario_environment()
    compiler = RuleSetCompiler(env)
    for rule in rules:
        compiler.add(check_condition(parse(billrules_text(rule), lambda b, e: Span("bench", 1, b + 1, e + 1)), env))
    return compiler.build()


def build_billrules_from_json(rules: list[Rule]) -> Callable[[Any], Any]:
    """What a billing run does per scenario: validate the JSON object, then evaluate."""
    from engine.decide.scenarios import checked_scenario

    return _validated_then_evaluated(rules, checked_scenario)


def build_billrules_pydantic(rules: list[Rule]) -> Callable[[Any], Any]:
    """The same with every scenario validated by pydantic's `Scenario.model_validate` (what
    `validate_scenario` does when its direct path gives up): the direct path's gain, same rounds."""
    from engine.decide.scenarios import _validate

    def validate(d: dict[str, Any]) -> Any:
        checked = _validate(d, None, "<scenario>")
        if checked.scenario is None:
            raise ValueError(checked.diagnostics)
        return checked.scenario

    return _validated_then_evaluated(rules, validate)


def _validated_then_evaluated(rules: list[Rule], validate: Callable[[Any], Any]) -> Callable[[Any], Any]:
    evaluate = compile_billrules(rules).function

    def run(d: dict[str, Any]) -> Any:
        return evaluate(validate(d))

    return run


def build_zen(rules: list[Rule]) -> Callable[[Any], Any]:
    import zen

    convert = Converter(rules, sums=False)
    evaluate = zen.compile_expression(engine_expression(rules, "zen")).evaluate
    return lambda d: evaluate(convert(d))


def build_rust_cel(rules: list[Rule]) -> Callable[[Any], Any]:
    import cel

    convert = Converter(rules, sums=True)
    execute = cel.compile(engine_expression(rules, "cel")).execute
    Context = cel.Context
    return lambda d: execute(Context(variables=convert(d)))


def build_cpp_cel(rules: list[Rule]) -> Callable[[Any], Any]:
    from cel_expr_python import cel

    names = ("account", "subscription", "usage", "now", "windows", "sums")
    env = cel.NewEnv(variables={name: cel.Type.DYN for name in names})
    evaluate = env.compile(engine_expression(rules, "cel")).eval
    activation = env.Activation
    convert = Converter(rules, sums=True)
    return lambda d: evaluate(activation(convert(d)))


def build_rule_engine(rules: list[Rule]) -> Callable[[Any], Any]:
    import rule_engine

    convert = Converter(rules, sums=False)
    text = engine_expression(rules, "rule-engine")
    evaluate = rule_engine.Rule(text, context=rule_engine.Context(resolver=rule_engine.resolve_item)).evaluate
    return lambda d: evaluate(convert(d))


@dataclass
class Engine:
    name: str
    package: str | None
    module: str | None
    conversion: str
    share: float  # of the workload's scenarios it runs (the slow ones run fewer)
    build: Callable[[list[Rule]], Callable[[Any], Any]]


ENGINES = [
    Engine("billrules (generated)", None, None, "validation into `Scenario`", 1.0, build_billrules_from_json),
    Engine(
        "billrules (generated), pydantic validation",
        None,
        None,
        "`Scenario.model_validate`",
        1.0,
        build_billrules_pydantic,
    ),
    Engine(
        "zen-engine {v} (one compiled expression)", "zen-engine", "zen", "Python: facts computed, dict", 1.0, build_zen
    ),
    Engine(
        "rule-engine {v} (one rule, an array)",
        "rule-engine",
        "rule_engine",
        "Python: facts computed, dict",
        0.05,
        build_rule_engine,
    ),
    Engine(
        "CEL, Rust (common-expression-language {v})",
        "common-expression-language",
        "cel",
        "Python + `cel.Context`",
        0.5,
        build_rust_cel,
    ),
    Engine(
        "CEL, C++ (cel-expr-python {v})",
        "cel-expr-python",
        "cel_expr_python",
        "Python + `Activation`",
        0.5,
        build_cpp_cel,
    ),
]


def normalise(result: Any) -> tuple[bool, ...]:
    if hasattr(result, "plain_value"):
        result = result.plain_value()
    return tuple(bool(x) for x in result)


def installed(engine: Engine) -> str | None:
    if engine.module is None:
        return ""
    try:
        __import__(engine.module)
    except ImportError:
        return None
    return importlib.metadata.version(engine.package or engine.module)


def timed(evaluate: Callable[[Any], Any], inputs: Sequence[Any]) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for x in inputs:
            evaluate(x)
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def check(
    label: str,
    evaluate: Callable[[Any], Any],
    inputs: Sequence[Any],
    reference: list[tuple[bool, ...]],
    rules: list[Rule],
    documents: Sequence[dict[str, Any]],
) -> None:
    for i, x in enumerate(inputs):
        got = normalise(evaluate(x))
        if got != reference[i]:
            wrong = [k for k in range(len(got)) if got[k] != reference[i][k]] if len(got) == len(reference[i]) else []
            print(
                f"error: {label} disagrees with the hand-written baseline on scenario {documents[i]['id']} (rules {wrong or 'count differs'})",
                file=sys.stderr,
            )
            print(f"  scenario: {json.dumps(documents[i])}", file=sys.stderr)
            for k in wrong[:3]:
                print(
                    f"  rule {k}: {billrules_text(rules[k])} -> {got[k]}, baseline {reference[i][k]}", file=sys.stderr
                )
            raise SystemExit(1)


@dataclass
class Row:
    label: str
    conversion: str
    n: int
    ratios: list[float]  # per round: the engine's rate over the baseline's
    seconds: list[float]  # per round: the engine's time


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}× ({min(values):.2f}–{max(values):.2f})"


def run_size(n_rules: int, n_scenarios: int, rounds: int, quick: bool) -> int:
    from engine.decide.scenarios import validate_scenario

    rules = make_rules(n_rules, random.Random(SEED))
    rng = random.Random(SEED + 1)
    documents = [make_scenario(i, rng) for i in range(n_scenarios)]
    validated = [validate_scenario(d, None).scenario for d in documents]
    baseline = build_hand_written(rules)
    reference = [normalise(baseline(d)) for d in documents]
    billrules = compile_billrules(rules).function
    check("billrules (validated)", billrules, validated, reference, rules, documents)

    kinds = Counter(c.kind for r in rules for c in r)
    total = sum(kinds.values())
    matches = sum(map(sum, reference))
    print(f"### {n_rules:,} rules, {n_scenarios:,} scenarios")
    print()
    print(
        f"{total:,} conditions ({total / n_rules:.1f} a rule): "
        + ", ".join(f"{k} {kinds[k] / total:.0%}" for k in KINDS if kinds[k])
        + f". {matches / (len(reference) * n_rules):.1%} of rule×scenario pairs hold; "
        f"{sum(1 for r in reference if any(r)) / len(reference):.0%} of scenarios match a rule."
    )
    print()

    contenders: list[tuple[Engine, str, Callable[[Any], Any], int]] = []
    for engine in ENGINES:
        if quick and engine.module is not None:
            continue
        version = installed(engine)
        if version is None:
            print(f"note: {engine.package} skipped: not installed (pip install -e '.[bench]')")
            continue
        label = engine.name.format(v=version)
        n = max(1, int(n_scenarios * engine.share))
        try:
            evaluate = engine.build(rules)
        except RuntimeError as exc:  # e.g. the C++ CEL's limit of 100,000 characters an expression
            print(f"note: {label} skipped: {str(exc).splitlines()[0][:120]}")
            print()
            continue
        check(label, evaluate, documents[:n], reference, rules, documents)
        contenders.append((engine, label, evaluate, n))

    rows = {label: Row(label, e.conversion, n, [], []) for e, label, _, n in contenders}
    eval_row = Row("billrules, evaluation only", "(validated before timing)", n_scenarios, [], [])
    base_seconds: list[float] = []
    for r in range(rounds):
        jobs: list[tuple[Row, Callable[[Any], Any], Sequence[Any], Sequence[Any]]] = [
            (rows[label], evaluate, documents[:n], documents[:n]) for _, label, evaluate, n in contenders
        ]
        jobs.append((eval_row, billrules, validated, documents))
        jobs = jobs[r % len(jobs) :] + jobs[: r % len(jobs)]
        for row, evaluate, inputs, baseline_inputs in jobs:
            base = timed(baseline, baseline_inputs)
            if row.n == n_scenarios:
                base_seconds.append(base)
            seconds = timed(evaluate, inputs)
            row.ratios.append(base / seconds)
            row.seconds.append(seconds)

    ours = rows.get("billrules (generated)")
    print("From the parsed JSON object (each engine's input conversion timed):")
    print()
    print("| engine | its conversion | scenarios | µs/scenario | vs hand-written (range) | billrules is (range) |")
    print("|---|---|---:|---:|---:|---:|")
    print(
        f"| hand-written Python (baseline) | reads the dict | {n_scenarios:,} | {statistics.median(base_seconds) / n_scenarios * 1e6:,.1f} | 1 | |"
    )
    for row in rows.values():
        us = statistics.median(row.seconds) / row.n * 1e6
        versus = (
            ""
            if ours is None or row is ours
            else _spread([a / b for a, b in zip(ours.ratios, row.ratios, strict=True)])
        )
        print(f"| {row.label} | {row.conversion} | {row.n:,} | {us:,.1f} | {_spread(row.ratios)} | {versus} |")
    print()
    print("Evaluation of validated scenarios:")
    print()
    print("| engine | scenarios | µs/scenario | vs hand-written (range) |")
    print("|---|---:|---:|---:|")
    print(
        f"| {eval_row.label} | {n_scenarios:,} | {statistics.median(eval_row.seconds) / n_scenarios * 1e6:,.1f} | {_spread(eval_row.ratios)} |"
    )
    print()
    return 0


SCENARIOS = {40: 10_000, 400: 2_000, 4_000: 200}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,400,4000", help="rule counts, comma-separated")
    parser.add_argument("--scenarios", type=int, default=0, help="scenarios per size (default: 10,000 / 2,000 / 200)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 40 rules, 200 scenarios, 2 rounds, billrules only"
    )
    parser.add_argument(
        "--show-source", action="store_true", help="print billrules' generated source (first size) and exit"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes, args.scenarios, args.rounds = [40], 200, 2
    if args.rounds < 1 or any(s < 1 for s in sizes) or args.scenarios < 0:
        parser.error("--rounds and --sizes must be at least 1")
    if args.show_source:
        print(compile_billrules(make_rules(sizes[0], random.Random(SEED))).source, end="")
        return 0
    from engine import native

    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; seed {SEED}; {args.rounds} rounds; "
        f"decision modules (scenario validation): {native.describe()}"
    )
    print()
    for size in sizes:
        run_size(size, args.scenarios or SCENARIOS.get(size, 1_000), args.rounds, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
