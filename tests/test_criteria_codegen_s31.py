"""The code generator's reads of model fields as keys (issue 11, round s31) decide as before.

- Where the run-time records are the pydantic models (`Environment.models`: discount criteria),
  the prologue reads the scenario's fields it keeps as facts from `s.__dict__`, and each group of
  an optional record's fields from the record's `__dict__`, kept as a fact from which the rules
  read that record's other fields (`binding_period`, `due_date`); the credit criteria's records
  are slotted dataclasses without a `__dict__`, read by attribute as before.
- A subscription's span starts computed in place (an empty status history) read its `start` fact
  where the prologue has read it already.
- `uninterrupted_ordinals` reads each status period as a mapping.

Every outcome is checked against the same rules compiled with attribute reads only
(`models=False`), against the reference interpreter, and on the criteria benchmark's workload
against its hand-written Python.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import random
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria.check import check_condition
from engine.criteria.compile import CompiledRules, RuleSetCompiler
from engine.criteria.environment import Environment, credit_environment, scenario_environment
from engine.criteria.parse import parse
from engine.decide.scenarios import validate_scenario
from engine.models.scenario import Scenario
from tests.test_criteria_compile_sharing import locate
from tests.test_criteria_compiled_forms import _reference, scenarios

REPO = Path(__file__).resolve().parent.parent
ENV = scenario_environment()
PLAIN = dataclasses.replace(ENV, models=False)  # the same types, every field read by attribute


@cache
def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_criteria_s31", REPO / "benchmarks" / "criteria.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def _build(env: Environment, texts: list[str], chunk: int = 500) -> CompiledRules:
    compiler = RuleSetCompiler(env)
    for text in texts:
        compiler.add(check_condition(parse(text, locate), env))
    return compiler.build(chunk)


def test_the_workload_decides_alike_with_keys_and_with_attributes() -> None:
    bench = _bench()
    rng = random.Random(bench.SEED + 1)
    documents = [bench.make_scenario(i, rng) for i in range(300)]
    validated = [validate_scenario(d, None).scenario for d in documents]
    for count in (40, 400):
        rules = bench.make_rules(count, random.Random(bench.SEED))
        texts = [bench.billrules_text(rule) for rule in rules]
        keyed, plain = _build(ENV, texts), _build(PLAIN, texts)
        assert "s.__dict__" in keyed.source and re.search(r'f[0-9]+\["binding_period"\]', keyed.source)
        assert "__dict__" not in plain.source
        split = _build(ENV, texts, chunk=7)  # parts that take the facts as arguments
        hand = bench.build_hand_written(rules)
        for document, scenario in zip(documents, validated, strict=True):
            expected = plain.function(scenario)
            assert keyed.function(scenario) == expected, (count, document)
            assert split.function(scenario) == expected, (count, document)
            assert bench.normalise(hand(document)) == bench.normalise(expected), (count, document)


ATOMS = [
    "subscription.maturity >= 6 months",
    "subscription.age < 1 year",
    "uninterrupted(subscription, 14 days) >= 1 month",
    "subscription.start >= 2021-01-01",
    "subscription.binding_period >= 6 months",
    "subscription.buy_in_advance between 14 days and 1 year",
    "as_of.date - subscription.billing_term_start >= 2 months",
    "any p in subscription.products where p.price >= 2.00 EUR",
    'count(u in usage where u.device == "STB" within 1 month) >= 1',
    "count(usage) >= 2",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(ATOMS), min_size=1, max_size=6, unique=True),
    st.lists(scenarios(), min_size=1, max_size=3),
)
def test_keys_and_the_start_fact_agree_with_the_reference(texts: list[str], cases: list[Scenario]) -> None:
    """In any order: a span condition before or after `subscription.start` is read as a fact
    (its in-place start reads the fact only once the prologue has set it)."""
    keyed, plain = _build(ENV, texts), _build(PLAIN, texts)
    for scenario in cases:
        got = keyed.function(scenario)
        assert got == plain.function(scenario), (texts, scenario)
        for text, value in zip(texts, got, strict=True):
            assert value == (_reference(text, scenario) is True), (text, scenario)


def test_the_forms_generated() -> None:
    texts = [  # each field read in two places: kept in the prologue (`DEFER_USES`)
        "subscription.start >= 2021-01-01",
        "subscription.start < 2024-01-01",
        'subscription.type == "tv"',
        'subscription.type != "mobile"',
        'account.classification == "SME" and account.payment_preference == "card"',
        'account.classification != "Government" and account.payment_preference != "cash"',
        "subscription.maturity >= 6 months",
        "count(usage) >= 2",
    ]
    source = _build(ENV, texts).source
    assert re.search(r"^    _s = s\.__dict__$", source, re.M)
    assert re.search(r'^    f[0-9]+ = _s\["subscription"\]$', source, re.M)
    mappings = re.findall(r"^        (f[0-9]+) = f[0-9]+\.__dict__$", source, re.M)
    assert len(mappings) == 2  # account, subscription
    start = re.search(rf'^        (f[0-9]+) = (?:{"|".join(mappings)})\["start"\]$', source, re.M)
    assert start is not None and f"= {start.group(1)}.toordinal()" in source
    # the span first: its start computed before the prologue reads the start fact, read in place
    first = _build(ENV, [texts[-2], *texts[:-2]]).source
    assert re.search(r"^        f[0-9]+ = f[0-9]+\.start\.toordinal\(\)$", first, re.M)
    alone = _build(ENV, ["count(usage) >= 2"]).source  # one field of the scenario: read by attribute
    assert "__dict__" not in alone


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(scenarios(), min_size=1, max_size=3))
def test_a_date_s_fields_grouped_are_read_by_attribute(cases: list[Scenario]) -> None:
    """A group of fields of a parent that is not a record (a date's `year` and `month`) has no
    `__dict__` to read: its fields are read by attribute, as before."""
    texts = [
        "subscription.start.year >= 2021",
        "subscription.start.year < 2024",
        "subscription.start.month <= 6",
        "subscription.start.month > 2",
        'subscription.type != "tv"',
        'subscription.type != "mobile"',
    ]
    keyed, plain = _build(ENV, texts), _build(PLAIN, texts)
    assert re.search(r"^        f[0-9]+ = f[0-9]+\.year$", keyed.source, re.M)
    for scenario in cases:
        got = keyed.function(scenario)
        assert got == plain.function(scenario), scenario
        for text, value in zip(texts, got, strict=True):
            assert value == (_reference(text, scenario) is True), (text, scenario)


def test_credit_criteria_read_attributes() -> None:
    """Their records are slotted dataclasses (`models.credit_context.records`): no `__dict__`."""
    env = credit_environment()
    assert env.models is False and ENV.models is True
    texts = [
        'consumption.service == "voice" and consumption.device == "phone"',
        'consumer.organisation == "acme" and consumer.user == "bob"',
    ]
    compiler = RuleSetCompiler(env)
    for text in texts:
        compiler.add(check_condition(parse(text, locate), env))
    assert "__dict__" not in compiler.build().source
