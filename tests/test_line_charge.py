"""A line's `charge` in the criteria (`p.charge`, `sum(subscription.products.charge)`): what it
charges before discounts, the price written on it or the rule set's catalog price times quantity
(times the product's periods in a longer bill), equal to the line's `gross` in the decision."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.criteria.environment import LINE_CHARGE, line_charge
from engine.decide.decision import typed_lines
from engine.decide.scenarios import checked_scenario
from engine.load import load_file
from engine.validate import validate_paths
from tests.test_audit_thirteenth import _rules_with
from tests.test_questions import run_cli

REPO = Path(__file__).resolve().parent.parent

#: a definition added to the shipped rules: 5 EUR off the main line of a bill of at least 100 EUR
_BIG_BILL = """
---
kind: discount
code: big-bill-5
name: 5 EUR off bills of 100 EUR or more
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount:
  type: amount
  value: 5.00 EUR
discounted_products:
  - main_service: true
validity:
  effective: 2015-01-01
criteria:
  when: WHEN
"""


def _rules_reading(tmp_path: Path, when: str = "sum(subscription.products.charge) >= 100.00 EUR") -> Path:
    root = tmp_path / "rules"
    if not root.exists():
        shutil.copytree(REPO / "rules", root)
    path = root / "discounts" / "promotions.yaml"
    path.write_text(path.read_text(encoding="utf-8") + _BIG_BILL.replace("WHEN", when), encoding="utf-8")
    return root


def _bill(frequency: str, *lines: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "bill",
        "as_of": "2015-06-15T10:00:00Z",
        "account": {"code": "A", "classification": "Residential"},
        "subscription": {
            "code": "S",
            "plan": "triple-play-24",
            "start": "2014-01-01",
            "billing_frequency": frequency,
            "products": list(lines),
        },
    }


def _status(decision: dict[str, Any], code: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [d for d in decision["discounts"]["definitions"] if d["code"] == code]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(
    ("frequency", "lines", "applied"),
    [
        # tv-essentials 29.99 + fibre-100 34.99 + mobile-sim 12.99 at their catalog prices: 77.97 a month
        ("monthly", [{"product": "tv-essentials"}, {"product": "fibre-100"}, {"product": "mobile-sim"}], False),
        # the same lines on a quarterly bill: each monthly price charged for 3 months, 233.91
        ("quarterly", [{"product": "tv-essentials"}, {"product": "fibre-100"}, {"product": "mobile-sim"}], True),
        # quantity: 5 SIMs at 12.99 and the TV, 94.94
        ("monthly", [{"product": "tv-essentials"}, {"product": "mobile-sim", "quantity": 5}], False),
        # quantity: 6 SIMs at 12.99 and the TV, 107.93
        ("monthly", [{"product": "tv-essentials"}, {"product": "mobile-sim", "quantity": 6}], True),
        # a price written on a line is its charge, whatever the catalog says
        ("monthly", [{"product": "tv-essentials", "price": "100.00 EUR"}], True),
        ("monthly", [{"product": "tv-essentials", "price": "99.99 EUR"}], False),
    ],
)
def test_a_bill_total_reads_the_catalog_price_of_lines_without_one(
    tmp_path: Path, frequency: str, lines: list[dict[str, Any]], applied: bool
) -> None:
    rules = load_rules(_rules_reading(tmp_path))
    decision = rules.decide(_bill(frequency, *lines))
    found = _status(decision, "big-bill-5")
    assert (found["status"] == "applied") is applied, found
    gross = sum(float(line["gross"].split()[0]) for line in decision["discounts"]["lines"])
    assert (gross >= 100) is applied  # the charge the criteria read is the gross the decision shows


def test_a_line_s_charge_is_the_gross_of_its_line_in_every_sample(tmp_path: Path) -> None:
    """Differential: for every sample billing lines, the `charge` `typed_lines` leaves on each line
    is the `gross` the discount decision gives the same line."""
    rules = load_rules(_rules_reading(tmp_path))
    compared = 0
    for path in sorted((REPO / "samples").rglob("*.yaml")):
        for document in load_file(path).documents:
            data = {k: v for k, v in document.data.items() if k != "expect"}
            try:
                decision = rules.decide(copy.deepcopy(data))
            except Exception:  # a sample of a refusal: no lines to compare
                continue
            if "discounts" not in decision:
                continue
            scenario = typed_lines(rules, checked_scenario(copy.deepcopy(data)))
            subject = scenario.subscription if scenario.subscription is not None else scenario.job
            for written in decision["discounts"]["lines"]:
                index = int(written["line"].rsplit("[", 1)[1].rstrip("]"))
                charge = line_charge(subject.products[index], scenario)
                assert f"{charge.amount} {charge.currency}" == written["gross"], (path.name, written)
                compared += 1
    assert compared > 50


def test_the_reason_names_the_total_it_read(tmp_path: Path) -> None:
    rules = load_rules(_rules_reading(tmp_path))
    decision = rules.decide(_bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100"}))
    found = _status(decision, "big-bill-5")
    assert found["status"] == "not_eligible"
    (reason,) = found["reasons"]
    assert reason["facts"]["subject"] == "sum(subscription.products.charge)"
    assert reason["facts"]["actual"] == "64.98 EUR"
    assert reason["facts"]["expected"] == "100.00 EUR"


def test_any_line_charging_at_least_reads_each_line(tmp_path: Path) -> None:
    rules = load_rules(_rules_reading(tmp_path, "any p in subscription.products where p.charge >= 30.00 EUR"))
    both = rules.decide(_bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100"}))  # 34.99
    assert _status(both, "big-bill-5")["status"] == "applied"
    tv = rules.decide(_bill("monthly", {"product": "tv-essentials", "quantity": 1}))
    assert _status(tv, "big-bill-5")["status"] == "not_eligible"
    two = rules.decide(_bill("monthly", {"product": "tv-essentials", "quantity": 2}))  # 59.98
    assert _status(two, "big-bill-5")["status"] == "applied"


def test_the_caller_s_scenario_is_not_changed_and_two_rule_sets_read_their_own_catalog(tmp_path: Path) -> None:
    """`diff` decides one scenario under two rule sets: each reads its own catalog price, and the
    scenario given stays as it was (the charge is on a copy of the lines)."""
    before = load_rules(_rules_reading(tmp_path / "a"))
    cheaper = _rules_with(tmp_path / "b", "catalog/products.yaml", "price: 34.99 EUR", "price: 74.99 EUR")
    after = load_rules(_rules_reading(tmp_path / "b"))
    scenario = checked_scenario(_bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100"}))
    assert _status(before.decide(scenario), "big-bill-5")["status"] == "not_eligible"  # 64.98
    assert _status(after.decide(scenario), "big-bill-5")["status"] == "applied"  # 104.98
    assert all(LINE_CHARGE not in line.__dict__ for line in scenario.subscription.products)
    assert cheaper.exists()


def test_a_rule_set_reading_no_charge_leaves_the_lines_alone() -> None:
    rules = load_rules(REPO / "rules")
    scenario = checked_scenario(_bill("monthly", {"product": "sports-pack", "type": "termed"}))  # (no main service)
    assert typed_lines(rules, scenario) is scenario


def test_a_line_no_decision_typed_has_the_price_written_on_it() -> None:
    scenario = checked_scenario(_bill("monthly", {"product": "tv-essentials", "price": "3.00 EUR"}, {"product": "x"}))
    priced, catalog = scenario.subscription.products
    assert str(line_charge(priced, scenario)) == "3.00 EUR"
    assert line_charge(catalog, scenario) is None


def test_a_billing_run_reads_the_same_charges_as_decide(tmp_path: Path) -> None:
    root = _rules_reading(tmp_path)
    bills = [
        _bill("quarterly", {"product": "tv-essentials"}, {"product": "fibre-100"}),
        _bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100"}),
    ]
    for i, bill in enumerate(bills):
        bill["id"] = f"bill-{i}"
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(b) + "\n" for b in bills), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(["run", "--rules", str(root), "--input", str(source), "--output", str(out)])
    assert code == 0, err
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    rules = load_rules(root)
    for bill, decision in zip(bills, written, strict=True):
        assert _status(decision, "big-bill-5")["status"] == _status(rules.decide(bill), "big-bill-5")["status"]
    assert [_status(d, "big-bill-5")["status"] for d in written] == ["applied", "not_eligible"]


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("sum(subscription.products.charge) >= 100", "money"),
        ("any p in subscription.products where p.charg >= 10.00 EUR", "did you mean `charge`"),
    ],
)
def test_a_charge_is_typed_as_money(tmp_path: Path, when: str, message: str) -> None:
    found = [d for d in validate_paths([_rules_reading(tmp_path, when)]) if d.severity == "error"]
    assert found, when
    assert any(message in f"{d.message} {d.hint}" for d in found), [(d.message, d.hint) for d in found]


def test_coverage_counts_a_charge_as_the_decision_read_it(tmp_path: Path) -> None:
    """`test --coverage` evaluates the judged conditions on the scenario as decided: its lines'
    charges from the catalog (and their catalog types), not the lines as written."""
    from engine.coverage import Coverage

    rules = load_rules(_rules_reading(tmp_path))
    coverage = Coverage.of(rules)
    data = _bill("quarterly", {"product": "tv-essentials"}, {"product": "fibre-100"})  # 194.94 EUR
    decision = rules.decide(data)
    assert _status(decision, "big-bill-5")["status"] == "applied"
    coverage.record(rules, checked_scenario(data), decision)
    (condition,) = [c for c in coverage.conditions if c.owner == "discount:big-bill-5"]
    assert (condition.held, condition.not_held) == (1, 0)


def test_a_bare_charge_in_an_aggregate_s_where_is_read(tmp_path: Path) -> None:
    """`count(subscription.products where charge >= …)` names the field bare (no variable): the
    rule set reads charges all the same (it read none, and the condition never held)."""
    rules = load_rules(_rules_reading(tmp_path, "count(subscription.products where charge >= 30.00 EUR) >= 1"))
    both = rules.decide(_bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100"}))  # 34.99
    assert _status(both, "big-bill-5")["status"] == "applied"
    alone = rules.decide(_bill("monthly", {"product": "tv-essentials"}))  # 29.99
    assert _status(alone, "big-bill-5")["status"] == "not_eligible"


def test_the_main_service_marked_is_the_line_that_charges_most_on_this_bill() -> None:
    """On a yearly bill a monthly main service charges 12 months: `tv-premium` (44.99 x 12 =
    539.88) over `tv-essentials-annual` (299.00); it compared 44.99 with 299.00."""
    rules = load_rules(REPO / "rules")
    data = _bill("yearly", {"product": "tv-essentials-annual"}, {"product": "tv-premium"})
    scenario = typed_lines(rules, checked_scenario(data))
    assert [line.main for line in scenario.subscription.products] == [False, True]
    monthly = typed_lines(
        rules, checked_scenario(_bill("monthly", {"product": "tv-essentials-annual"}, {"product": "tv-premium"}))
    )
    assert [line.main for line in monthly.subscription.products] == [True, False]  # 299.00 against 44.99


@pytest.mark.parametrize(
    ("when", "applied", "actual"),
    [
        ("sum(subscription.products.charge.amount) > 60", True, None),  # 29.99 + 34.99 = 64.98
        ("sum(subscription.products.charge.amount) > 70", False, "64.98"),
        ("sum(c in subscription.products.charge.amount where c > 30) > 30", True, None),  # 34.99
        ("count(subscription.products.charge.currency) == 2", True, None),
        # no line has a price written: the amounts are all missing, and so is their sum
        ("sum(subscription.products.price.amount) > 0", False, None),
    ],
)
def test_an_aggregate_over_a_field_of_money_values(
    tmp_path: Path, when: str, applied: bool, actual: str | None
) -> None:
    """`sum(subscription.products.charge.amount)`: a field of each value, not of each record (it
    was an internal error, KeyError, in `validate` and `decide`; `price.amount` over lines without
    a price, an AttributeError)."""
    rules = load_rules(_rules_reading(tmp_path, when))
    for decided in (rules, rules.brief()):
        found = _status(
            decided.decide(_bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100"})), "big-bill-5"
        )
        assert (found["status"] == "applied") is applied, found
    if actual is not None:
        detailed = _status(
            rules.decide(_bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100"})), "big-bill-5"
        )
        assert detailed["reasons"][0]["facts"]["actual"] == actual
