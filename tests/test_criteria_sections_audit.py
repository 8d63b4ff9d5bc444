"""Criteria sections against SPEC 3.3 and seed 002, as a hand-worked audit of 2026-12-01 (seventh
session) found them: a total without a window counting usage after the billing time, "effective
for at most" holding for a term not started yet, a subscription's frequency and binding not taken
from its billing term scheme, and ranges no scenario can meet accepted in silence (a `when:`
reading usage in a non-usage definition stays allowed)."""

from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent

DEFINITIONS = """\
kind: discount
code: total-unlimited
name: Two rentals ever
type: auto_apply
classification: subscription
applied_service_type: usage
state: effective
amount: {type: percentage, value: 10}
discounted_products:
  - product: vod-rental
validity: {effective: 2015-01-01}
criteria:
  quantitative:
    total_quantity: {min: 2}
---
kind: discount
code: new-term
name: Billing term of at most 3 months
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 10}
discounted_products:
  - product: tv-essentials
validity: {effective: 2015-01-01}
criteria:
  billing_term:
    effectiveness: {effective_for_at_most: 3 months}
---
kind: discount
code: quarterly-only
name: Quarterly billing
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 10}
discounted_products:
  - product: tv-essentials
validity: {effective: 2015-01-01}
criteria:
  billing_term:
    billing_frequencies: [quarterly]
---
kind: discount
code: bound-12
name: Twelve months bound
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 10}
discounted_products:
  - product: tv-essentials
validity: {effective: 2015-01-01}
criteria:
  billing_term:
    binding_periods: [12 months]
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("sections") / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "discounts" / "audit.yaml").write_text(DEFINITIONS, encoding="utf-8")
    return load_rules(root)


BILL: dict[str, Any] = {
    "id": "s",
    "as_of": "2015-06-15T10:00:00Z",
    "subscription": {
        "code": "S1",
        "plan": "tv-essentials-24",
        "billing_frequency": "monthly",
        "start": "2015-01-01",
        "billing_term_start": "2015-01-01",
        "products": [
            {"product": "tv-essentials", "bundle": "tv-essentials-bundle"},
            {"product": "vod-rental", "bundle": "on-demand-bundle"},
        ],
    },
}


def _status(rules: Any, data: dict[str, Any], code: str) -> str:
    return str(next(d["status"] for d in rules.decide(data)["discounts"]["definitions"] if d["code"] == code))


def test_a_total_without_a_window_counts_no_usage_after_the_billing_time(rules: Any) -> None:
    data = copy.deepcopy(BILL)
    data["usage"] = [{"at": "2015-06-01T20:00:00Z"}, {"at": "2015-06-20T20:00:00Z"}]  # the second after as_of
    assert _status(rules, data, "total-unlimited") == "not_eligible"
    data["usage"][1]["at"] = "2014-06-20T20:00:00Z"  # a year before: counted (no window)
    assert _status(rules, data, "total-unlimited") == "applied"


@pytest.mark.parametrize(
    ("start", "status"),
    [("2015-04-01", "applied"), ("2015-03-14", "not_eligible"), ("2015-07-01", "not_eligible")],
)
def test_effective_for_at_most_holds_only_once_started(rules: Any, start: str, status: str) -> None:
    data = copy.deepcopy(BILL)
    data["subscription"]["billing_term_start"] = start  # 2015-07-01: starts after the billing date
    assert _status(rules, data, "new-term") == status


def test_a_subscription_without_frequency_or_binding_has_its_schemes(rules: Any) -> None:
    # quarterly-12: quarterly billing, 12-month binding; the scenario names only the scheme
    data = copy.deepcopy(BILL)
    del data["subscription"]["billing_frequency"]
    data["subscription"]["billing_term_scheme"] = "quarterly-12"
    assert (_status(rules, data, "quarterly-only"), _status(rules, data, "bound-12")) == ("applied", "applied")
    data["subscription"]["billing_frequency"] = "monthly"  # what the scenario writes is its word
    data["subscription"]["binding_period"] = "24 months"
    assert (_status(rules, data, "quarterly-only"), _status(rules, data, "bound-12")) == (
        "not_eligible",
        "not_eligible",
    )


def _validated(tmp_path: Path, definition: str) -> list[Any]:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "discounts" / "bad.yaml").write_text(textwrap.dedent(definition), encoding="utf-8")
    return validate_paths([root])


HEAD = """\
kind: discount
code: bad
name: Bad
type: auto_apply
classification: subscription
applied_service_type: {service}
state: effective
amount: {{type: percentage, value: 10}}
discounted_products:
  - product: tv-essentials
validity: {{effective: 2015-01-01}}
criteria:
"""


def test_a_when_may_read_usage_in_a_non_usage_definition(tmp_path: Path) -> None:
    # "5 % off the subscription after 3 rentals": applied_service_type decides the sections only
    found = _validated(tmp_path, HEAD.format(service="non_usage") + "  when: count(u in usage within 1 month) >= 3\n")
    assert found == []


@pytest.mark.parametrize(
    "section",
    [
        "  buy_in_advance:\n    - {from: 6, to: 3, unit: months}\n",
        "  billing_term:\n    concurrent_usage: {more_than: 5, less_than: 5}\n",
        "  billing_term:\n    concurrent_usage: {less_than: 0}\n",
        "  subscription:\n    effectiveness: {effective_from: 2015-06-01, effective_until: 2015-01-01}\n",
    ],
)
def test_a_range_no_scenario_can_meet_is_br413(tmp_path: Path, section: str) -> None:
    found = _validated(tmp_path, HEAD.format(service="non_usage") + section)
    assert [d.code for d in found] == ["BR413"], found
    assert found[0].message.endswith("no scenario can meet it")


def test_a_total_from_more_to_less_is_br413(tmp_path: Path) -> None:
    section = "  quantitative:\n    total_usage: {min: 10, max: 2, per: 1 month}\n"
    found = _validated(tmp_path, HEAD.format(service="usage").replace("tv-essentials", "vod-rental") + section)
    assert [d.code for d in found] == ["BR413"], found


# --- execution dates: a bound written as a date, fractions of a second (eighth session) -----------

_USAGE_HEAD = HEAD.format(service="usage").replace("tv-essentials", "vod-rental")


@pytest.mark.parametrize(
    ("bounds", "refused"),
    [
        # a date bound covers its whole local day: met by a record at 2015-12-31T20:00+01:00
        ('{from: "2015-12-31T18:00:00+01:00", to: 2015-12-31}', False),
        # met by a record at 2015-09-01T00:30+05:00
        ('{from: 2015-09-01, to: "2015-09-01T01:00:00+05:00"}', False),
        # no local date 2015-12-31 is two days before an instant on 2016-01-02
        ('{from: "2016-01-02T00:00:00Z", to: 2015-12-31}', True),
        ('{from: 2015-12-31, to: "2015-12-29T23:00:00Z"}', True),
        ("{from: 2015-12-31, to: 2015-12-30}", True),
        ('{from: "2015-06-01T10:00:01.500Z", to: "2015-06-01T10:00:01.400Z"}', True),
    ],
)
def test_execution_dates_are_br413_only_when_no_record_can_meet_them(
    tmp_path: Path, bounds: str, refused: bool
) -> None:
    # the check compared a date bound as midnight UTC: a range a record meets was refused, the
    # whole rule set with it (an audit of 2026-12-01, eighth session)
    found = _validated(tmp_path, _USAGE_HEAD + f"  quantitative:\n    execution_dates: {bounds}\n")
    assert [d.code for d in found] == (["BR413"] if refused else []), found


def test_execution_dates_keep_fractions_of_a_second(tmp_path: Path) -> None:
    # `10:00:00.500` was written into the condition as `10:00:00`: a record at 10:00:00.200 met
    # it, and one exactly on the end (10:00:01.500) did not
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    bounds = '{from: "2015-06-01T10:00:00.500Z", to: "2015-06-01T10:00:01.500Z"}'
    definition = _USAGE_HEAD.replace("code: bad", "code: flash") + f"  quantitative:\n    execution_dates: {bounds}\n"
    (root / "discounts" / "flash.yaml").write_text(definition, encoding="utf-8")
    rules = load_rules(root)
    for at, status in [
        ("2015-06-01T10:00:00.200Z", "not_eligible"),
        ("2015-06-01T10:00:00.500Z", "applied"),
        ("2015-06-01T10:00:01.500Z", "applied"),
        ("2015-06-01T10:00:01.500001Z", "not_eligible"),
    ]:
        data = copy.deepcopy(BILL)
        data["usage"] = [{"at": at, "product": "vod-rental", "service": "vod", "quantity": 1}]
        assert _status(rules, data, "flash") == status, at
