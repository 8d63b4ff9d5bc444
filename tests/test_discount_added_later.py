"""An ad hoc discount added after the period billed reduces no earlier bill (an audit of
2026-12-01, eighth session): README, "Durations count from when the discount was added (the
request's start or `added_on`)", and `not_effective` when its duration "has not started for the
period billed". A discount added on 20 July reduced the May and June bills before, and with one
billing period of duration it reduced the July bill too (June's application predated its start);
a request's `start` was already judged so."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules

REPO = Path(__file__).resolve().parent.parent

EXTRA = """\
kind: discount
code: once
name: One bill
type: ad_hoc
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, range: [5, 50]}
discounted_products: [{product: tv-essentials}]
validity: {effective: 2015-01-01}
duration: {billing_periods: 1}
---
kind: discount
code: open-ended
name: Until further notice
type: ad_hoc
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, range: [5, 50]}
discounted_products: [{product: tv-essentials}]
validity: {effective: 2015-01-01}
"""


def _bill(month: int, history: list[dict[str, str]]) -> dict[str, Any]:
    last = {5: 31, 6: 30, 7: 31}[month]
    return {
        "id": f"bill-{month}",
        "as_of": f"2015-{month + 1:02d}-01T02:00:00+02:00",
        "subscription": {
            "code": "S1",
            "start": "2014-01-01",
            "billing_frequency": "monthly",
            "products": [{"product": "tv-essentials", "price": "100.00 EUR"}],
            "billing_period": {"from": f"2015-{month:02d}-01", "to": f"2015-{month:02d}-{last}"},
        },
        "requested_discounts": [
            {"discount": "once", "value": 10, "added_on": "2015-07-20"},
            {"discount": "open-ended", "value": 10, "added_on": "2015-07-20"},
        ],
        "discount_history": copy.deepcopy(history),
    }


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("added-later") / "rules"
    shutil.copytree(REPO / "rules", folder)
    (folder / "discounts" / "added_later.yaml").write_text(EXTRA, "utf-8")
    return load_rules(folder)


def _statuses(rules: Any, bill: dict[str, Any]) -> dict[str, tuple[str, list[Any]]]:
    decided = rules.decide(bill)["discounts"]["definitions"]
    return {d["code"]: (d["status"], d["reasons"]) for d in decided if d["code"] in ("once", "open-ended")}


@pytest.mark.parametrize("month", [5, 6])
def test_a_discount_added_after_the_period_billed_does_not_reduce_it(rules: Any, month: int) -> None:
    found = _statuses(rules, _bill(month, []))
    starts = [{"code": "starts_later", "facts": {"start": "2015-07-20"}}]
    for code in ("once", "open-ended"):
        status, reasons = found[code]
        assert status == "not_effective", (code, found[code])
        assert [{k: r[k] for k in ("code", "facts")} for r in reasons] == starts
    unrequested = _bill(month, [])
    unrequested["requested_discounts"] = []
    net = rules.decide(unrequested)["discounts"]["totals"]["EUR"]["net"]  # (a shipped auto discount may apply)
    assert rules.decide(_bill(month, []))["discounts"]["totals"]["EUR"]["net"] == net


def test_it_reduces_the_bill_of_the_period_it_was_added_in_once(rules: Any) -> None:
    july = _statuses(rules, _bill(7, []))
    assert july["once"][0] == "applied" and july["open-ended"][0] == "applied"
    august = _bill(7, [{"discount": "once", "on": "2015-08-01"}])
    august["as_of"] = "2015-09-01T02:00:00+02:00"
    august["subscription"]["billing_period"] = {"from": "2015-08-01", "to": "2015-08-31"}
    later = _statuses(rules, august)
    assert later["once"][0] == "not_effective" and later["open-ended"][0] == "applied"
