"""Criteria evaluation speed: billrules' compiled rule set against hand-written Python and other engines.

One process, one seeded workload, every engine side by side, reported as ratios (SPEC §6 "Speed").

    python benchmarks/criteria.py [--scenarios 50000] [--rules 40] [--repeat 3] [--quick] [--show-source]

Workload (`random.Random(2026)`): 40 discount rules of 3-8 conditions each — set membership,
equality, numeric thresholds, date windows (`between` or two comparisons), segment include and
exclude (`overlaps`), and "any product of type T with code in S" — over 50,000 scenarios. Every
engine gets the same rules with their conditions in the same order: cheap tests first, the product
quantifiers last, as a careful author writes them by hand. Every scenario has an account and a
subscription with every field the rules read, so that each engine's own handling of missing data
does not matter here (tests/ covers billrules' missing-data semantics). The line above the table
says how often rules match.

Fairness:
- inputs are built before any timing, each engine getting its natural pre-built input: billrules
  and the hand-written baseline get `Scenario` objects (pydantic, validated once); zen-engine and
  rule-engine plain dicts; the Rust CEL a `cel.Context` per scenario, the C++ CEL an `Activation`,
  cel-python its `json_to_cel` activation. The CEL engines and rule-engine compare ISO date text
  (cheaper than their timestamp types); zen-engine cannot order text and its `d("…")` parses the
  date on every evaluation (40 % of its time here), so it gets dates as day numbers;
- each competitor runs its fastest path measured on this workload: one compiled
  expression/program that returns the list of all rule results per scenario. It beats one call per
  rule for every engine (zen 4x, Rust CEL equal with a `Context` and 25x without, C++ CEL 2.5x),
  and zen's decision graph (even a 1-column, 2-row decision table) runs at ~5,000/s;
- the hand-written baseline is one plain function per rule (see `hand_written_source`), called
  from one function returning the tuple of all results, as billrules' generated function does;
- the slow engines run only the first `cap` scenarios (the "scenarios" column) and are compared by
  rate: scenarios per second, one scenario meaning every rule evaluated on it;
- before timing, each engine's results are checked against billrules' on the scenarios it runs; a
  difference aborts the run with the scenario and the rules that differ;
- time: `time.perf_counter`, best of `--repeat` runs, garbage collector off while timing (as
  `timeit` does).

The competitors are the `bench` extra (`pip install -e '.[bench]'`); one that is not installed is
skipped with a note. `--quick` is the smoke run the tests make: 300 scenarios, one repeat,
billrules and hand-written only. `--show-source` prints the code billrules generates.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

SEED = 2026
#: the result table, in Markdown: (column, width); the first column is left-aligned
COLUMNS = (
    ("engine", 50),
    ("scenarios", 9),
    ("seconds", 7),
    ("scenarios/s", 11),
    ("vs hand-written", 15),
    ("billrules is", 12),
)


def table_row(cells: Sequence[str]) -> str:
    aligned = [f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS, strict=True))]
    return "| " + " | ".join(aligned) + " |"


def ratio(x: float) -> str:
    return f"{x:,.0f}x" if x >= 100 else f"{x:.2f}x" if x >= 0.1 else f"{x:.2g}x"


HEADER = table_row([name for name, _ in COLUMNS])
RULER = "|" + "|".join("-" * (w + 2) for _, w in COLUMNS) + "|"

# --- the workload ----------------------------------------------------------------------------------

#: value → weight: how often a scenario has it (rules pick among the same values)
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
FREQUENCIES = {"monthly": 60, "quarterly": 15, "yearly": 15, "bimonthly": 5, "semi_annual": 5}
#: segment → probability that an account is in it
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
FIRST_START, LAST_START = date(2010, 1, 1), date(2020, 12, 31)

#: the fields a rule can test (one condition per field, so that a rule never contradicts itself)
SLOTS = (
    "account.classification",
    "account.payment_preference",
    "account.presentment_preference",
    "subscription.type",
    "subscription.plan",
    "subscription.billing_frequency",
    "subscription.concurrent_usage",
    "subscription.start",
    "segments.include",
    "segments.exclude",
    "product.termed",
    "product.other",
)
TEXT_SLOTS = {
    "account.classification": CLASSIFICATIONS,
    "account.payment_preference": PAYMENT_PREFERENCES,
    "account.presentment_preference": PRESENTMENT_PREFERENCES,
    "subscription.type": SUBSCRIPTION_TYPES,
    "subscription.billing_frequency": FREQUENCIES,
}


@dataclass(frozen=True)
class Condition:
    """One condition of a rule, rendered by each engine in its own language."""

    kind: str  # member | equals | threshold | window | include | exclude | product
    field: str  # dotted scenario path; for `product`, the product type
    op: str = ""  # threshold operator; window style: "between" or "range"
    values: tuple[Any, ...] = ()  # sorted set members, the threshold, or the window's two dates

    @property
    def dear(self) -> bool:
        """A quantifier over a list: written last by a careful author (every engine gets that order)."""
        return self.kind == "product"


Rule = tuple[Condition, ...]


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _text_condition(rng: random.Random, field: str) -> Condition:
    pool = list(TEXT_SLOTS[field])
    popular = max(TEXT_SLOTS[field].values())
    if rng.random() < 0.3:
        # equality mostly on a common value, so that the rule can match
        value = _weighted(rng, TEXT_SLOTS[field])
        return Condition("equals", field, values=(value,))
    size = rng.randint(2, max(2, len(pool) - 1))
    # sets tend to hold the popular values: an analyst targets the bulk of the customers
    chosen: set[str] = set()
    while len(chosen) < size:
        chosen.add(rng.choices(pool, [w + popular for w in TEXT_SLOTS[field].values()])[0])
    return Condition("member", field, values=tuple(sorted(chosen)))


def _condition(rng: random.Random, slot: str, rule_type: str | None) -> Condition:
    if slot in TEXT_SLOTS:
        return _text_condition(rng, slot)
    if slot == "subscription.plan":
        plans = PLANS[rule_type] if rule_type else tuple(p for ps in PLANS.values() for p in ps)
        size = rng.randint(max(1, len(plans) // 2), len(plans))
        return Condition("member", slot, values=tuple(sorted(rng.sample(plans, size))))
    if slot == "subscription.concurrent_usage":
        op, threshold = rng.choice([(">=", 2), (">=", 3), (">", 1), ("<=", 4), ("<", 5), ("<=", 3)])
        return Condition("threshold", slot, op, (threshold,))
    if slot == "subscription.start":
        span = (LAST_START - FIRST_START).days
        length = rng.randint(span * 2 // 5, span * 4 // 5)
        first = FIRST_START + timedelta(days=rng.randint(0, span - length))
        last = first + timedelta(days=length)
        return Condition("window", slot, rng.choice(["between", "range"]), (first, last))
    if slot == "segments.include":
        size = rng.choice([1, 2, 2, 3])
        chosen = rng.sample(["VIP", "loyalty", "student", "senior", "new", "staff"], size)
        return Condition("include", "account.segments", values=tuple(sorted(chosen)))
    if slot == "segments.exclude":
        chosen = rng.choice([["delinquent"], ["delinquent"], ["delinquent", "churn-risk"], ["staff"]])
        return Condition("exclude", "account.segments", values=tuple(sorted(chosen)))
    kind = "termed" if slot == "product.termed" else rng.choice(["usage", "one_time", "expense"])
    codes = PRODUCTS[kind]
    size = rng.randint(2, len(codes) - 1) if kind == "termed" else rng.randint(max(1, len(codes) - 1), len(codes))
    return Condition("product", kind, values=tuple(sorted(rng.sample(codes, size))))


def make_rules(count: int, rng: random.Random) -> list[Rule]:
    rules = []
    for _ in range(count):
        size = rng.randint(3, 8)
        slots = rng.sample(SLOTS, size)
        rule_type = None
        conditions = []
        if "subscription.type" in slots:  # a plan condition then lists plans of that type
            slots.remove("subscription.type")
            rule_type = _weighted(rng, SUBSCRIPTION_TYPES)
            conditions.append(Condition("equals", "subscription.type", values=(rule_type,)))
        conditions += [_condition(rng, slot, rule_type) for slot in slots]
        rng.shuffle(conditions)
        conditions.sort(key=lambda c: c.dear)  # stable: cheap conditions in random order, then quantifiers
        rules.append(tuple(conditions))
    return rules


def make_scenario(index: int, rng: random.Random) -> dict[str, Any]:
    """One scenario as the JSON a billing run reads (dates as ISO text)."""
    sub_type = _weighted(rng, SUBSCRIPTION_TYPES)
    products = []
    for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
        kind = _weighted(rng, PRODUCT_TYPE_WEIGHTS)
        products.append({"product": rng.choice(PRODUCTS[kind]), "type": kind})
    start = FIRST_START + timedelta(days=rng.randint(0, (LAST_START - FIRST_START).days))
    return {
        "id": f"s{index}",
        "as_of": "2021-01-15T00:00:00Z",
        "account": {
            "code": f"A{index}",
            "classification": _weighted(rng, CLASSIFICATIONS),
            "payment_preference": _weighted(rng, PAYMENT_PREFERENCES),
            "presentment_preference": _weighted(rng, PRESENTMENT_PREFERENCES),
            "segments": [s for s, p in SEGMENTS.items() if rng.random() < p],
        },
        "subscription": {
            "code": f"S{index}",
            "type": sub_type,
            "plan": rng.choice(PLANS[sub_type]),
            "billing_frequency": _weighted(rng, FREQUENCIES),
            "concurrent_usage": rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 5, 6]),
            "start": start.isoformat(),
            "products": products,
        },
    }


def facts(scenario: dict[str, Any]) -> dict[str, Any]:
    """The part of a scenario the rules read: what the other engines are given."""
    return {"account": scenario["account"], "subscription": scenario["subscription"]}


# --- renderers: one rule in each engine's language ----------------------------------------------------


def _quoted(values: Sequence[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def billrules_text(rule: Rule) -> str:
    parts = []
    for c in rule:
        if c.kind == "member":
            parts.append(f"{c.field} in {{{_quoted(c.values)}}}")
        elif c.kind == "equals":
            parts.append(f"{c.field} == {json.dumps(c.values[0])}")
        elif c.kind == "threshold":
            parts.append(f"{c.field} {c.op} {c.values[0]}")
        elif c.kind == "window" and c.op == "between":
            parts.append(f"{c.field} between {c.values[0]} and {c.values[1]}")
        elif c.kind == "window":
            parts.append(f"{c.field} >= {c.values[0]} and {c.field} <= {c.values[1]}")
        elif c.kind == "include":
            parts.append(f"account.segments overlaps {{{_quoted(c.values)}}}")
        elif c.kind == "exclude":
            parts.append(f"not account.segments overlaps {{{_quoted(c.values)}}}")
        else:
            parts.append(
                f"(any p in subscription.products where p.type == {json.dumps(c.field)}"
                f" and p.product in {{{_quoted(c.values)}}})"
            )
    return " and ".join(parts)


def hand_written_source(rules: Sequence[Rule]) -> str:
    """Python as a competent developer writes it by hand: one plain function per rule.

    Attribute access with the None checks the model's optional fields need, frozensets and dates
    as module constants, the cheap tests first and `any(...)` over the products last. Nothing is
    shared between rules.
    """
    out = ["from datetime import date", ""]
    for n, rule in enumerate(rules):
        constants: list[str] = []
        tests: list[str] = []
        for c in rule:
            obj, _, attribute = c.field.partition(".")
            if c.kind in ("member", "equals", "threshold", "window"):
                name = f"{attribute.upper()}_{n}"
                value = f"{obj}.{attribute}"
                if c.kind == "member":
                    constants.append(f"{name} = frozenset({{{_quoted(c.values)}}})")
                    tests.append(f"{value} in {name}")
                elif c.kind == "equals":
                    tests.append(f"{value} == {json.dumps(c.values[0])}")
                elif c.kind == "threshold":
                    tests.append(f"(usage := {value}) is not None and usage {c.op} {c.values[0]}")
                else:
                    first, last = c.values
                    constants.append(f"{name}_FROM = date({first.year}, {first.month}, {first.day})")
                    constants.append(f"{name}_TO = date({last.year}, {last.month}, {last.day})")
                    tests.append(f"{name}_FROM <= {value} <= {name}_TO")
            elif c.kind in ("include", "exclude"):
                name = f"SEGMENTS_{c.kind.upper()}_{n}"
                constants.append(f"{name} = frozenset({{{_quoted(c.values)}}})")
                tests.append(f"{'not ' if c.kind == 'include' else ''}{name}.isdisjoint(account.segments)")
            else:
                name = f"{c.field.upper()}_PRODUCTS_{n}"
                constants.append(f"{name} = frozenset({{{_quoted(c.values)}}})")
                # the StrEnum compared with its text: `ProductType.TERMED` would cost a slow enum
                # attribute lookup (~110 ns on 3.11) per product
                test = f"p.type == {json.dumps(c.field)} and p.product in {name}"
                tests.append(f"any({test} for p in subscription.products)")
        used = [o for o in ("account", "subscription") if any(o + "." in t for t in tests)]
        out += ["", *constants, "", "", f"def rule_{n}(s):"]
        out += [f"    {o} = s.{o}" for o in used]
        out.append(f"    if {' or '.join(f'{o} is None' for o in used)}:")
        out.append("        return False")
        out.append("    return (")
        out += [f"        {'and ' if i else ''}{t}" for i, t in enumerate(tests)]
        out.append("    )")
        out.append("")
    out += ["", "def evaluate(s):", "    return (", *(f"        rule_{n}(s)," for n in range(len(rules))), "    )"]
    return "\n".join(out) + "\n"


def zen_expression(rule: Rule) -> str:
    parts = []
    for c in rule:
        if c.kind == "member":
            parts.append(f"{c.field} in [{_quoted(c.values)}]")
        elif c.kind == "equals":
            parts.append(f"{c.field} == {json.dumps(c.values[0])}")
        elif c.kind == "threshold":
            parts.append(f"{c.field} {c.op} {c.values[0]}")
        elif c.kind == "window":  # dates arrive as day numbers (see _zen_contexts)
            parts.append(f"{c.field} >= {c.values[0].toordinal()} and {c.field} <= {c.values[1].toordinal()}")
        elif c.kind in ("include", "exclude"):
            test = f"some(account.segments, # in [{_quoted(c.values)}])"
            parts.append(f"not {test}" if c.kind == "exclude" else test)
        else:
            parts.append(
                f"some(subscription.products, #.type == {json.dumps(c.field)} and #.product in [{_quoted(c.values)}])"
            )
    return " and ".join(f"({p})" for p in parts)


def cel_expression(rule: Rule) -> str:
    parts = []
    for c in rule:
        if c.kind == "member":
            parts.append(f"{c.field} in [{_quoted(c.values)}]")
        elif c.kind == "equals":
            parts.append(f"{c.field} == {json.dumps(c.values[0])}")
        elif c.kind == "threshold":
            parts.append(f"{c.field} {c.op} {c.values[0]}")
        elif c.kind == "window":
            parts.append(f'{c.field} >= "{c.values[0]}" && {c.field} <= "{c.values[1]}"')
        elif c.kind in ("include", "exclude"):
            test = f"account.segments.exists(x, x in [{_quoted(c.values)}])"
            parts.append(f"!{test}" if c.kind == "exclude" else test)
        else:
            parts.append(
                f"subscription.products.exists(p, p.type == {json.dumps(c.field)} && p.product in [{_quoted(c.values)}])"
            )
    return " && ".join(parts)


def rule_engine_expression(rule: Rule) -> str:
    parts = []
    for c in rule:
        if c.kind == "member":
            parts.append(f"{c.field} in {{{_quoted(c.values)}}}")
        elif c.kind == "equals":
            parts.append(f"{c.field} == {json.dumps(c.values[0])}")
        elif c.kind == "threshold":
            parts.append(f"{c.field} {c.op} {c.values[0]}")
        elif c.kind == "window":
            parts.append(f'{c.field} >= "{c.values[0]}" and {c.field} <= "{c.values[1]}"')
        elif c.kind in ("include", "exclude"):
            test = f"$any([segment in {{{_quoted(c.values)}}} for segment in account.segments])"
            parts.append(f"not {test}" if c.kind == "exclude" else test)
        else:
            parts.append(
                f"$any([p.type == {json.dumps(c.field)} and p.product in {{{_quoted(c.values)}}}"
                " for p in subscription.products])"
            )
    return " and ".join(f"({p})" for p in parts)


# --- engines -------------------------------------------------------------------------------------------


@dataclass
class Workload:
    rules: list[Rule]
    documents: list[dict[str, Any]]  # the scenarios as JSON documents
    scenarios: list[Any]  # the same, validated once into billrules' `Scenario`


@dataclass
class Engine:
    """A contender: how to compile the rules, how to prepare its input, how many scenarios it runs."""

    name: str
    package: str | None  # distribution whose version is reported; None for the project itself
    cap: int  # at most this many scenarios (the slow engines): rates stay comparable
    build: Callable[[list[Rule]], Callable[[Any], Any]]  # rules → evaluate(input) → all rule results
    prepare: Callable[[Workload, int], list[Any]]  # the first n inputs, built before any timing
    module: str | None = None  # import name, to skip an engine that is not installed


def build_billrules(rules: list[Rule]) -> Callable[[Any], Any]:
    return compile_billrules(rules).function


def compile_billrules(rules: list[Rule]) -> Any:
    from engine.criteria.ast import Span
    from engine.criteria.check import check_condition
    from engine.criteria.compile import RuleSetCompiler
    from engine.criteria.environment import scenario_environment
    from engine.criteria.parse import parse

    env = scenario_environment()
    compiler = RuleSetCompiler(env)
    for rule in rules:
        text = billrules_text(rule)
        compiler.add(check_condition(parse(text, lambda b, e: Span("bench", 1, b + 1, e + 1)), env))
    return compiler.build()


def build_hand_written(rules: list[Rule]) -> Callable[[Any], Any]:
    namespace: dict[str, Any] = {}
    exec(compile(hand_written_source(rules), "<hand-written rules>", "exec"), namespace)
    evaluate: Callable[[Any], Any] = namespace["evaluate"]
    return evaluate


def build_zen(rules: list[Rule]) -> Callable[[Any], Any]:
    import zen

    expression = zen.compile_expression("[" + ", ".join(zen_expression(r) for r in rules) + "]")
    evaluate: Callable[[Any], Any] = expression.evaluate
    return evaluate


def build_rust_cel(rules: list[Rule]) -> Callable[[Any], Any]:
    import cel

    program = cel.compile("[" + ", ".join(cel_expression(r) for r in rules) + "]")
    evaluate: Callable[[Any], Any] = program.execute
    return evaluate


@cache
def _cpp_cel_env() -> Any:
    from cel_expr_python import cel

    return cel.NewEnv(variables={"account": cel.Type.DYN, "subscription": cel.Type.DYN})


def build_cpp_cel(rules: list[Rule]) -> Callable[[Any], Any]:
    expression = _cpp_cel_env().compile("[" + ", ".join(cel_expression(r) for r in rules) + "]")
    evaluate: Callable[[Any], Any] = expression.eval
    return evaluate


def build_celpy(rules: list[Rule]) -> Callable[[Any], Any]:
    import celpy

    # celpy's CompiledRunner (its transpiler) fails on this lark version; the interpreter is what works
    env = celpy.Environment()
    program = env.program(env.compile("[" + ", ".join(cel_expression(r) for r in rules) + "]"))
    evaluate: Callable[[Any], Any] = program.evaluate
    return evaluate


def build_rule_engine(rules: list[Rule]) -> Callable[[Any], Any]:
    import rule_engine

    rule = rule_engine.Rule("[" + ", ".join(rule_engine_expression(r) for r in rules) + "]")
    evaluate: Callable[[Any], Any] = rule.evaluate
    return evaluate


def _objects(w: Workload, n: int) -> list[Any]:
    return w.scenarios[:n]


def _dicts(w: Workload, n: int) -> list[Any]:
    return [facts(d) for d in w.documents[:n]]


def _zen_contexts(w: Workload, n: int) -> list[Any]:
    """Plain dicts, the start date as a day number: zen cannot order strings, and its `d("…")`
    parses the date on every evaluation, which costs it 40 % of its speed on this workload."""
    contexts = []
    for d in w.documents[:n]:
        subscription = {**d["subscription"], "start": date.fromisoformat(d["subscription"]["start"]).toordinal()}
        contexts.append({"account": d["account"], "subscription": subscription})
    return contexts


def _rust_cel_contexts(w: Workload, n: int) -> list[Any]:
    import cel

    return [cel.Context(variables=facts(d)) for d in w.documents[:n]]


def _cpp_cel_activations(w: Workload, n: int) -> list[Any]:
    env = _cpp_cel_env()
    return [env.Activation(facts(d)) for d in w.documents[:n]]


def _celpy_activations(w: Workload, n: int) -> list[Any]:
    import celpy

    return [{k: celpy.json_to_cel(v) for k, v in facts(d).items()} for d in w.documents[:n]]


#: `cap`: the slow engines' rates are steady over this many scenarios (the C++ CEL's drops by a
#: third from 5,000 to 20,000 prepared activations, so it gets the smaller set)
ENGINES = [
    Engine("billrules (generated)", None, 10**9, build_billrules, _objects),
    Engine("hand-written Python", None, 10**9, build_hand_written, _objects),
    Engine("zen-engine {v} (compiled expression)", "zen-engine", 50_000, build_zen, _zen_contexts, "zen"),
    Engine(
        "CEL, Rust (common-expression-language {v})",
        "common-expression-language",
        10_000,
        build_rust_cel,
        _rust_cel_contexts,
        "cel",
    ),
    Engine(
        "CEL, C++ (cel-expr-python {v})",
        "cel-expr-python",
        5_000,
        build_cpp_cel,
        _cpp_cel_activations,
        "cel_expr_python",
    ),
    Engine("rule-engine {v}", "rule-engine", 300, build_rule_engine, _dicts, "rule_engine"),
    Engine("CEL, pure Python (cel-python {v})", "cel-python", 60, build_celpy, _celpy_activations, "celpy"),
]
QUICK = ("billrules (generated)", "hand-written Python")


def normalise(result: Any) -> tuple[bool, ...]:
    """Any engine's answer for one scenario → a tuple of Python booleans."""
    if hasattr(result, "plain_value"):  # the C++ CEL's Value
        result = result.plain_value()
    return tuple(bool(x) for x in result)


def best_time(evaluate: Callable[[Any], Any], inputs: list[Any], repeat: int) -> float:
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            [evaluate(x) for x in inputs]
            best = min(best, time.perf_counter() - start)
    finally:
        if enabled:
            gc.enable()
    return best


def installed(engine: Engine) -> str | None:
    """The engine's version, "" for the project itself, None when it cannot be imported."""
    if engine.module is None:
        return ""
    try:
        __import__(engine.module)
    except ImportError:
        return None
    return importlib.metadata.version(engine.package or engine.module)


# --- main --------------------------------------------------------------------------------------------------


def make_workload(n_rules: int, n_scenarios: int) -> Workload:
    from engine.models.scenario import Scenario

    rules = make_rules(n_rules, random.Random(SEED))
    rng = random.Random(SEED + 1)  # its own stream: the scenarios do not change with --rules
    documents = [make_scenario(i, rng) for i in range(n_scenarios)]
    return Workload(rules, documents, [Scenario.model_validate(d) for d in documents])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=50_000)
    parser.add_argument("--rules", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 300 scenarios, 1 repeat, billrules and hand-written"
    )
    parser.add_argument("--show-source", action="store_true", help="print the generated billrules source and exit")
    args = parser.parse_args(argv)
    if args.quick:
        args.scenarios, args.repeat = min(args.scenarios, 300), 1
    if args.scenarios < 1 or args.rules < 1 or args.repeat < 1:
        parser.error("--scenarios, --rules and --repeat must be at least 1")

    workload = make_workload(args.rules, args.scenarios)
    if args.show_source:
        print(compile_billrules(workload.rules).source, end="")
        return 0

    engines = [e for e in ENGINES if not args.quick or e.name in QUICK]
    reference = [normalise(r) for r in map(build_billrules(workload.rules), workload.scenarios)]
    matches = sum(map(sum, reference))
    conditions = sum(len(r) for r in workload.rules)
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; seed {SEED}")
    print(
        f"workload: {len(workload.rules)} rules, {conditions} conditions ({conditions / len(workload.rules):.1f} a rule), "
        f"{len(workload.scenarios)} scenarios; {matches / (len(reference) * len(workload.rules)):.1%} of rule×scenario pairs match, "
        f"{sum(1 for r in reference if any(r)) / len(reference):.1%} of scenarios match a rule, "
        f"{sum(1 for i in range(len(workload.rules)) if any(r[i] for r in reference))}/{len(workload.rules)} rules match some scenario"
    )
    print(f"timing: best of {args.repeat}, perf_counter, gc off while timing; inputs prepared before timing")
    print()

    rows: list[tuple[str, int, float]] = []
    for engine in engines:
        version = installed(engine)
        if version is None:
            print(f"note: {engine.package} skipped: it is not installed (pip install -e '.[bench]')")
            continue
        label = engine.name.format(v=version)
        n = min(engine.cap, len(workload.scenarios))
        evaluate = engine.build(workload.rules)
        inputs = engine.prepare(workload, n)
        for i, x in enumerate(inputs):
            got = normalise(evaluate(x))
            if got != reference[i]:
                wrong = (
                    [k for k in range(len(got)) if got[k] != reference[i][k]] if len(got) == len(reference[i]) else []
                )
                print(
                    f"error: {label} disagrees with billrules on scenario {workload.documents[i]['id']}"
                    f" (rules {wrong or 'count differs'}): got {got}, billrules {reference[i]}\n"
                    f"  scenario: {json.dumps(facts(workload.documents[i]))}",
                    file=sys.stderr,
                )
                for k in wrong[:3]:
                    print(f"  rule {k}: {billrules_text(workload.rules[k])}", file=sys.stderr)
                return 1
        rows.append((label, n, best_time(evaluate, inputs, args.repeat)))

    rates = {label: n / seconds for label, n, seconds in rows}
    hand = next((rate for label, rate in rates.items() if label.startswith("hand-written")), None)
    ours = next((rate for label, rate in rates.items() if label.startswith("billrules")), None)
    print(HEADER)
    print(RULER)
    for label, n, seconds in rows:
        rate = rates[label]
        vs_hand = ratio(rate / hand) if hand else "-"
        ours_vs = ratio(ours / rate) if ours else "-"
        print(table_row([label, f"{n:,}", f"{seconds:.3f}", f"{rate:,.0f}", vs_hand, ours_vs]))
    print()
    print(
        "vs hand-written: the engine's rate over the hand-written baseline's; billrules is: billrules' rate over the engine's"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
