"""Seed 002, scenario 1: the complaint discount "should only apply to the customer's main service
and not to any additional services". A `discounted_products` target `main_service: true` reduces
the line the bill marks `main: true`; on a bill that marks none, the lines of the catalog's main
services (`main_service: true` on the product). Worked out by hand from the shipped prices."""

from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.decide.decision import typed_lines
from engine.decide.scenarios import validate_scenario
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")
MODES = (RULES, RULES.brief(), RULES.brief().applied_only())

# complaint-discount 20 % requested and approved on the June 2015 bill (sample
# complaint_requested_approved.yaml), with the lines each test gives
BILL: dict[str, Any] = {
    "id": "main-service",
    "as_of": "2015-07-01T02:00:00+02:00",
    "account": {
        "code": "ACC-1001",
        "classification": "Residential",
        "payment_preference": "card",
        "presentment_preference": "paper",
    },
    "subscription": {
        "code": "SUB-1001",
        "type": "residential-tv",
        "plan": "tv-essentials-24",
        "billing_term_scheme": "monthly-24",
        "billing_frequency": "monthly",
        "binding_period": "24 months",
        "start": "2015-02-01",
        "status_history": [{"status": "active", "from": "2015-02-01"}],
        "products": [],
        "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
    },
    "agent": {"user": "anna.agent", "units": ["customer-care"]},
    "requested_discounts": [{"discount": "complaint-discount", "value": 20, "added_on": "2015-06-20"}],
    "approvals": [
        {"discount": "complaint-discount", "by": "sara.supervisor", "units": ["customer-centre-supervisors"]}
    ],
}


def _bill(*lines: dict[str, Any]) -> dict[str, Any]:
    bill = copy.deepcopy(BILL)
    bill["subscription"]["products"] = list(lines)
    return bill


def _complaint_takes(decision: dict[str, Any]) -> dict[str, str]:
    """Line field → the complaint discount's take on it."""
    return {
        line["line"]: d["amount"]
        for line in decision["discounts"]["lines"]
        for d in line["discounts"]
        if d["code"] == "complaint-discount"
    }


def test_the_line_marked_main_takes_the_discount_whatever_its_product() -> None:
    # fibre-100 is the main service here (20 % of its 34.99 EUR: 6.998 -> 7.00); the TV line is not
    bill = _bill(
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle"},
        {"product": "fibre-100", "main": True},
    )
    for rules in MODES:
        decision = rules.decide(bill)
        assert _complaint_takes(decision) == {"subscription.products[1]": "-7.00 EUR"}
        assert (
            next(d for d in decision["discounts"]["definitions"] if d["code"] == "complaint-discount")["status"]
            == "applied"
        )


def test_of_two_main_tv_services_only_the_marked_one_is_reduced() -> None:
    # tv-premium 44.99 marked main: 20 % = 8.998 -> 9.00; tv-essentials gets none
    bill = _bill(
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle"},
        {"product": "tv-premium", "bundle": "tv-premium-bundle", "main": True},
    )
    assert _complaint_takes(RULES.decide(bill)) == {"subscription.products[1]": "-9.00 EUR"}


def test_a_bill_that_marks_no_line_takes_the_catalogs_main_services() -> None:
    # no `main` anywhere: tv-essentials is a main service of the catalog, sports-pack is not
    # (20 % of 29.99 = 5.998 -> 6.00, as in the sample that marks the TV line main)
    bill = _bill(
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle"},
        {"product": "sports-pack", "bundle": "sports-bundle"},
    )
    for rules in MODES:
        assert _complaint_takes(rules.decide(bill)) == {"subscription.products[0]": "-6.00 EUR"}


def test_a_bill_that_marks_a_line_main_is_not_overruled_by_the_catalog() -> None:
    bill = _bill(
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": False},
        {"product": "sports-pack", "bundle": "sports-bundle", "main": True},
    )
    assert list(_complaint_takes(RULES.decide(bill))) == ["subscription.products[1]"]


def test_no_main_service_on_the_bill_is_no_line_with_a_reason_that_says_so() -> None:
    bill = _bill({"product": "sports-pack", "bundle": "sports-bundle"})
    decision = RULES.decide(bill)
    complaint = next(d for d in decision["discounts"]["definitions"] if d["code"] == "complaint-discount")
    assert complaint["status"] == "not_eligible"
    assert complaint["reasons"][0]["code"] == "no_line"
    assert complaint["reasons"][0]["text"] == "no line of the customer's main service"
    assert complaint["reasons"][0]["facts"] == {"targets": [{"main_service": True}]}


def test_criteria_see_the_catalogs_main_service_and_the_callers_scenario_is_not_changed() -> None:
    bill = _bill(
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle"},
        {"product": "sports-pack", "bundle": "sports-bundle"},
    )
    scenario = validate_scenario(bill, None).scenario
    typed = typed_lines(RULES, scenario)
    assert [line.main for line in typed.subscription.products] == [True, False]
    assert [line.main for line in scenario.subscription.products] == [False, False]  # a copy
    marked = _bill({"product": "sports-pack", "bundle": "sports-bundle", "main": True}, {"product": "tv-essentials"})
    scenario = validate_scenario(marked, None).scenario
    assert [line.main for line in typed_lines(RULES, scenario).subscription.products] == [True, False]


def _rules_with(tmp_path: Path, discount: str) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO / "rules", target)
    (target / "discounts" / "extra.yaml").write_text(textwrap.dedent(discount), encoding="utf-8")
    return target


MAIN_ONLY = """\
    kind: discount
    code: main-10
    name: Ten percent off the main service
    type: auto_apply
    classification: subscription
    applied_service_type: non_usage
    state: effective
    amount: {type: percentage, value: 10}
    discounted_products:
      - {TARGET}
    validity: {effective: 2015-01-01}
"""


def test_main_service_alone_is_a_valid_target_and_bundle_alone_is_not(tmp_path: Path) -> None:
    rules = _rules_with(tmp_path, MAIN_ONLY.replace("{TARGET}", "main_service: true"))
    assert [d.code for d in validate_paths([rules])] == []
    bad = _rules_with(tmp_path / "bad", MAIN_ONLY.replace("{TARGET}", "bundle: kids-bundle"))
    [diagnostic] = [d for d in validate_paths([bad]) if d.code == "BR419"]
    assert "(or `main_service: true` alone)" in diagnostic.message


def test_main_service_alone_never_reduces_a_one_time_line(tmp_path: Path) -> None:
    # SPEC 3.2: only termed, usage and expense products are discounted; a set-top box marked
    # main is not the main service a discount may reduce
    rules = load_rules(_rules_with(tmp_path, MAIN_ONLY.replace("{TARGET}", "main_service: true")))
    bill = _bill({"product": "set-top-box", "main": True, "price": "99.00 EUR"})
    del bill["requested_discounts"], bill["approvals"]
    main10 = next(d for d in rules.decide(bill)["discounts"]["definitions"] if d["code"] == "main-10")
    assert (main10["status"], main10["reasons"][0]["code"]) == ("not_eligible", "no_line")


@pytest.mark.parametrize("target", ["{product: tv-premium, main_service: true}"])
def test_a_product_as_main_service_needs_both(tmp_path: Path, target: str) -> None:
    rules = load_rules(_rules_with(tmp_path, MAIN_ONLY.replace("{TARGET}", target)))
    bill = _bill(
        {"product": "tv-premium", "bundle": "tv-premium-bundle"},
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True},
    )
    del bill["requested_discounts"], bill["approvals"]
    main10 = next(d for d in rules.decide(bill)["discounts"]["definitions"] if d["code"] == "main-10")
    assert main10["status"] == "not_eligible"
    assert main10["reasons"][0]["text"] == "no line of product `tv-premium` as the customer's main service"
    bill["subscription"]["products"][0]["main"] = True
    main10 = next(d for d in rules.decide(bill)["discounts"]["definitions"] if d["code"] == "main-10")
    assert (main10["status"], main10["amount"]) == ("applied", "4.50 EUR")  # 10 % of 44.99 = 4.499


def test_of_two_unmarked_catalog_main_services_the_one_charging_most_is_the_main_service() -> None:
    # tv-essentials 29.99 and tv-premium 44.99, neither marked: tv-premium is the main service,
    # whichever comes first on the bill (20 % of 44.99 = 8.998 -> 9.00)
    lines = [
        {"product": "tv-essentials", "bundle": "tv-essentials-bundle"},
        {"product": "tv-premium", "bundle": "tv-premium-bundle"},
    ]
    assert _complaint_takes(RULES.decide(_bill(*lines))) == {"subscription.products[1]": "-9.00 EUR"}
    assert _complaint_takes(RULES.decide(_bill(*reversed(lines)))) == {"subscription.products[0]": "-9.00 EUR"}
