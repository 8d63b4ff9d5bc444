"""The code generator's cheaper forms (issue 11, round s28) decide as before.

- A shared condition that calls nothing is computed in the prologue only when more than
  `HOIST_USES` conditions read it; read by fewer, it is evaluated where each reads it. Either way
  every outcome equals the reference interpreter's.
- The largest or smallest amount of a list (`_extreme_lookup`) is `max(amounts or _NO)`: None for
  no amount (no element, none priced, another currency), as `max(…, default=None)` was.
- A list's set of field tuples (`_tuple_lookup`, `_merged_lookups`) is a set comprehension.
- `duration_family` scales every unit as before (weeks to days, years to months).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.criteria import runtime
from engine.criteria.compile import HOIST_USES
from engine.criteria.environment import scenario_environment
from engine.models.scenario import Scenario
from engine.values import Duration, TimeUnit
from tests.test_criteria_compile_sharing import _compiled
from tests.test_criteria_compiled_forms import _reference, scenarios

ENV = scenario_environment()

SHARED = "subscription.binding_period >= 6 months"  # calls `_fam`: lazy, whatever its readers
CHEAP = "subscription.maturity >= 6 months"  # a threshold test: no call

ATOMS = [
    CHEAP,
    "subscription.age < 1 year",
    SHARED,
    "any p in subscription.products where p.price >= 2.00 EUR",
    "any p in subscription.products where p.price < 2.00 EUR",
    "any p in subscription.products where p.price > 1 USD",
    'any p in subscription.products where p.product == "p"',
    'any p in subscription.products where p.product == "q"',
    'count(u in usage where u.device == "STB" within 1 month) >= 1',
]


def _check(texts: list[str], cases: list[Scenario]) -> str:
    source, evaluate = _compiled(texts)
    for scenario in cases:
        got = evaluate(scenario)  # type: ignore[operator]
        for text, value in zip(texts, got, strict=True):
            assert value == (_reference(text, scenario) is True), (text, scenario)
    return source


conjunctions = st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3, unique=True).map(
    lambda parts: " and ".join(f"({p})" for p in parts)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conjunctions, min_size=1, max_size=8), st.lists(scenarios(), min_size=1, max_size=3))
def test_shared_conditions_inline_or_hoisted_agree_with_the_reference(texts: list[str], cases: list[Scenario]) -> None:
    _check(texts, cases)


def _hoisted(source: str) -> list[str]:
    """The prologue's eagerly computed shared conditions (`aN = <code>`, not `_U`)."""
    return re.findall(r"^    a[0-9]+ = (?!_U$)(.+)$", source, re.M)


def test_a_cheap_condition_is_hoisted_only_when_many_rules_read_it() -> None:
    few = [f'({CHEAP}) and account.classification == "R{k}"' for k in range(HOIST_USES)]
    many = [f'({CHEAP}) and account.classification == "R{k}"' for k in range(HOIST_USES + 1)]
    assert _hoisted(_compiled(few)[0]) == []
    assert len(_hoisted(_compiled(many)[0])) == 1
    # a shared condition that calls something stays lazy, read by two rules or by many
    for count in (2, HOIST_USES + 2):
        source = _compiled([f'({SHARED}) and account.classification == "R{k}"' for k in range(count)])[0]
        assert _hoisted(source) == [] and re.search(r"^    a[0-9]+ = _U$", source, re.M)


def _scenario(products: list[dict[str, str]]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "x",
            "as_of": "2024-02-29T10:00:00Z",
            "subscription": {"code": "S", "start": "2020-01-01", "products": products},
        }
    )


def test_the_extreme_amount_of_no_amount_is_missing() -> None:
    texts = [
        "any p in subscription.products where p.price >= 0.00 EUR",
        "any p in subscription.products where p.price <= 100.00 EUR",
        "not (any p in subscription.products where p.price >= 0.00 EUR)",
    ]
    source = _check(
        texts,
        [
            _scenario([]),
            _scenario([{"product": "p"}]),
            _scenario([{"product": "p", "price": "3 USD"}]),
            _scenario([{"product": "p", "price": "3 EUR"}, {"product": "q", "price": "5.50 EUR"}]),
        ],
    )
    assert "default=None" not in source and " or _NO)" in source
    _, evaluate = _compiled(texts)
    assert evaluate(_scenario([{"product": "p", "price": "3 USD"}]))[:2] == (False, False)  # type: ignore[operator]
    assert evaluate(_scenario([{"product": "p", "price": "3 EUR"}]))[:2] == (True, True)  # type: ignore[operator]


def test_merged_and_single_tuple_lookups_read_one_set() -> None:
    texts = [
        'any p in subscription.products where p.product == "p"',
        '(any p in subscription.products where p.product == "p") and '
        '(any p in subscription.products where p.product == "q")',
        'not (any p in subscription.products where p.product == "q")',
    ]
    source = _check(
        texts,
        [
            _scenario([]),
            _scenario([{"product": "p"}]),
            _scenario([{"product": "q"}, {"product": "p"}]),
            Scenario.model_validate({"id": "x", "as_of": "2024-02-29T10:00:00Z"}),
        ],
    )
    assert "_fs([" not in source


def test_duration_family_scales_every_unit() -> None:
    expected = {
        TimeUnit.DAYS: ("days", 3),
        TimeUnit.WEEKS: ("days", 21),
        TimeUnit.MONTHS: ("months", 3),
        TimeUnit.YEARS: ("months", 36),
    }
    for unit, family in expected.items():
        assert runtime.duration_family(Duration(3, unit)) == family
    assert runtime.duration_family(None) is None
    assert {unit for unit in TimeUnit} == set(expected)  # a new unit needs its family
