"""Audit fixes of the twenty-sixth session (2026-12-04), fixer fB.

- c3 F3 / c4 F2: a discount an add-on bundle grants, without a `duration`, reduced a bill whose
  period ended before the add-on's start (`subscription.add_on_starts`), where the same discount
  with `duration: {indefinite: true}` was `not_effective` (`starts_later`). Both are now
  `starts_later` "starts on <the add-on's start>", with detailed and with brief reasons (a brief
  result kept for one add-on start is not another's).
- c4 F1: money of a rule written with fewer digits than its currency's (`cap: 20 EUR`,
  `value: 20 EUR`, `range: ["5 EUR", "10 EUR"]`) was echoed as written in reasons' words and
  facts; it is shown with the currency's digits now (`20.00 EUR`), as a line's gross is.
- c1 F8: the "why not" of a `products` section over a bill's lines is linear in the lines.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import load_rules
from engine.criteria.explain import Explainer
from engine.decide.decision import to_json
from engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


def _rules(tmp_path: Path, *edits: tuple[str, str, str]) -> RuleSet:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    for file, old, new in edits:
        path = root / file
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_rules(root)


def _sample(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / "samples" / name).read_text(encoding="utf-8"))
    data.pop("expect", None)
    return dict(data)


def _definition(decision: dict[str, Any], code: str) -> dict[str, Any]:
    return next(x for x in decision["discounts"]["definitions"] if x["code"] == code)


def _comparable(decision: dict[str, Any]) -> str:
    """The decision's text without what names the rule set (its version, its files)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("rules_version", "source")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return str(to_json(strip(decision)))


# --- c3 F3 / c4 F2: a bundle's discount without a duration, before the add-on's start ------------


def _kids_bill(add_on_start: str | None) -> dict[str, Any]:
    """The June bill of samples/discounts/flexible_bundle_kids.yaml, its add-on bought on `add_on_start`."""
    data = _sample("discounts/flexible_bundle_kids.yaml")
    if add_on_start is not None:
        data["subscription"]["add_on_starts"] = {"entertainment-pick": add_on_start}
    return data


def test_a_bundle_discount_without_duration_does_not_reduce_a_bill_before_the_add_on() -> None:
    decision = RULES.decide(_kids_bill("2015-08-01"))
    kids = _definition(decision, "pick-kids-half")
    assert kids["status"] == "not_effective"
    assert [(r["code"], r["text"], r["facts"]) for r in kids["reasons"]] == [
        ("starts_later", "starts on 2015-08-01", {"start": "2015-08-01"})
    ]
    line = decision["discounts"]["lines"][1]
    assert line["product"] == "kids-pack"
    assert [d["code"] for d in line["discounts"]] == ["loyalty-5"]


def test_the_add_on_bought_within_or_before_the_period_billed_still_reduces_it() -> None:
    for start in (None, "2015-05-01", "2015-06-01", "2015-06-30"):
        kids = _definition(RULES.decide(_kids_bill(start)), "pick-kids-half")
        assert kids["status"] == "applied", start
        assert kids["amount"] == "2.49 EUR", start


def test_no_duration_and_indefinite_decide_alike(tmp_path: Path) -> None:
    indefinite = _rules(
        tmp_path,
        (
            "discounts/promotions.yaml",
            "validity:\n  effective: 2015-01-01\ncriteria:\n  products:\n    - product: kids-pack",
            "validity:\n  effective: 2015-01-01\nduration: {indefinite: true}\n"
            "criteria:\n  products:\n    - product: kids-pack",
        ),
    )
    assert indefinite.get("discount", "pick-kids-half").duration.indefinite
    for start in ("2015-07-15", "2015-08-01", "2015-06-15", None):
        scenario = _kids_bill(start)
        for ours, theirs in ((RULES, indefinite), (RULES.brief(), indefinite.brief())):
            assert _comparable(ours.decide(copy.deepcopy(scenario))) == _comparable(
                theirs.decide(copy.deepcopy(scenario))
            ), start


def test_brief_reasons_keep_no_result_of_one_add_on_start_for_another() -> None:
    """With brief reasons a result nothing asks for is kept and shared between scenarios: one
    kept for a bill after the add-on's start must not be given to a bill before it."""
    brief = RULES.brief()
    for _ in range(2):
        assert _definition(brief.decide(_kids_bill("2015-05-01")), "pick-kids-half")["status"] == "applied"
        late = _definition(brief.decide(_kids_bill("2015-08-01")), "pick-kids-half")
        assert late["status"] == "not_effective"
        assert [r["code"] for r in late["reasons"]] == ["starts_later"]


# --- c4 F1: money written with fewer digits, in reasons ---------------------------------------------


def test_a_cap_written_without_cents_is_shown_with_them(tmp_path: Path) -> None:
    rules = _rules(tmp_path, ("discounts/customer_care.yaml", "cap: 20.00 EUR", "cap: 20 EUR"))
    scenario = _sample("discounts/complaint_cap.yaml")
    capped = next(
        r for r in _definition(rules.decide(scenario), "complaint-discount")["reasons"] if r["code"] == "capped"
    )
    assert capped["text"] == "capped at 20.00 EUR a billing period: it would take 22.49 EUR"
    assert capped["facts"] == {"cap": "20.00 EUR", "uncapped": "22.49 EUR"}
    assert _comparable(rules.decide(scenario)) == _comparable(RULES.decide(scenario))


def test_an_amount_written_without_cents_is_shown_with_them_where_no_line_goes_below_zero(tmp_path: Path) -> None:
    rules = _rules(tmp_path, ("discounts/installation.yaml", "value: 20.00 EUR", "value: 20 EUR"))
    scenario = _sample("discounts/installation_late_not_below_zero.yaml")
    late = _definition(rules.decide(scenario), "installation-late-20-off")
    assert [(r["code"], r["text"], r["facts"]["value"]) for r in late["reasons"]] == [
        ("line_floor", "takes less than 20.00 EUR from job.products[0]: no line goes below zero", "20.00 EUR")
    ]
    assert _comparable(rules.decide(scenario)) == _comparable(RULES.decide(scenario))


def test_an_ad_hoc_range_written_without_cents_is_shown_with_them(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path, ("discounts/customer_care.yaml", 'range: ["5.00 EUR", "10.00 EUR"]', 'range: ["5 EUR", "10 EUR"]')
    )
    scenario = _sample("discounts/settle_now_credit.yaml")
    scenario.pop("requested_discounts", None)
    scenario.pop("approvals", None)
    offered = _definition(rules.decide(scenario), "settle-now-credit")
    assert offered["status"] == "offered"
    assert [(r["code"], r["text"], r["facts"]) for r in offered["reasons"]] == [
        ("offered", "may be requested between 5.00 EUR and 10.00 EUR", {"low": "5.00 EUR", "high": "10.00 EUR"})
    ]
    scenario["requested_discounts"] = [{"discount": "settle-now-credit", "value": "12 EUR", "added_on": "2015-06-20"}]
    outside = _definition(rules.decide(scenario), "settle-now-credit")
    assert outside["status"] == "rejected"
    assert outside["reasons"][0]["text"] == "requested 12.00 EUR is outside the range 5.00 EUR to 10.00 EUR"
    assert outside["requested"] == "12 EUR"  # the request itself is shown as written (README)
    assert _comparable(rules.decide(scenario)) == _comparable(RULES.decide(scenario))


# --- c1 F8: the "why not" of a `products` section, linear in the bill's lines ---------------------------

_LISTED = 40


def _sections_rules(tmp_path: Path) -> RuleSet:
    """The shipped rules and `_LISTED` products, with a discount whose `products` section lists them all."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    docs = [
        f"kind: product\ncode: gp-{i:03d}\nname: P {i}\ntype: termed\nprice: 1.00 EUR\nbilling_frequency: monthly\n"
        for i in range(_LISTED)
    ]
    listed = "\n".join(f"    - product: gp-{i:03d}" for i in range(_LISTED))
    docs.append(
        "kind: discount\ncode: all-products\nname: All products\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 1, level: 1}\n"
        "discounted_products:\n  - product_type: termed\nvalidity: {effective: 2015-01-01}\n"
        f"criteria:\n  products:\n{listed}\n"
    )
    (root / "gen.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return load_rules(root)


def _lines_bill(products: list[str]) -> dict[str, Any]:
    return {
        "id": "sections",
        "as_of": "2015-07-01T02:00:00+02:00",
        "account": {"code": "A", "classification": "Residential"},
        "subscription": {
            "code": "S",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
            "status_history": [{"status": "active", "from": "2015-01-01"}],
            "products": [{"product": p} for p in products],
            "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
        },
    }


def test_a_products_section_is_explained_by_its_missing_products_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The products on the bill are looked up, not walked once per listed product: the lines an
    explanation judges grow with the products missing, not with the products listed (until
    2026-12-04 N listed products over L lines judged N x L items, 1,000 x 1,000: 3.6 s)."""
    rules = _sections_rules(tmp_path)
    present = [f"gp-{i:03d}" for i in range(_LISTED)]
    judged = 0
    judge = Explainer._judge

    def counted(self: Explainer, node: Any, scope: dict[str, Any]) -> Any:
        nonlocal judged
        judged += 1
        return judge(self, node, scope)

    rules.decide(_lines_bill(present))  # (compiled and placed once, before counting)
    monkeypatch.setattr(Explainer, "_judge", counted)
    bill = [*present[:-2], "tv-essentials", "kids-pack"]  # the last two listed are missing
    result = _definition(rules.decide(_lines_bill(bill)), "all-products")
    assert result["status"] == "not_eligible"
    missing = [r for r in result["reasons"] if r["code"] == "product_missing"]
    assert [(r["facts"]["product"], r["text"].split(" (")[0]) for r in missing] == [
        ("gp-038", "products: no line of `gp-038`"),
        ("gp-039", "products: no line of `gp-039`"),
    ]
    assert missing[0]["facts"]["actual"] == bill
    assert len(result["reasons"]) == 2
    # 322 here (the missing products' lines, and the other definitions' conditions); 1,882 until
    # 2026-12-04, more than the products listed times the lines
    assert judged < _LISTED * _LISTED // 2, judged
