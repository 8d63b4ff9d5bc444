"""Findings of the fifteenth session's audits (2026-12-02), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_questions import run_cli

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")

# --- validate --scenarios: a later bill without its period (BR607, a warning) --------------------


def _bill(period: bool) -> dict[str, Any]:
    subscription: dict[str, Any] = {
        "code": "S1",
        "plan": "tv-flex",
        "billing_frequency": "monthly",
        "start": "2015-06-01",
        "products": [{"product": "tv-essentials", "main": True}],
    }
    if period:
        subscription["billing_period"] = {"from": "2015-07-01", "to": "2015-07-31"}
    return {
        "id": "bill",
        "as_of": "2015-08-01T06:00:00Z",
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": subscription,
        "discount_history": [{"discount": "loyalty-5", "on": "2015-07-01"}],
    }


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_bill_without_its_period_is_a_warning(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bill{suffix}"
    path.write_text(json.dumps(_bill(False)) + "\n", encoding="utf-8")
    code, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(path)])
    assert code == 0, err  # a warning: `decide` answers it
    assert "warning[BR607]" in out + err and "billing_period" in out + err
    code, out, err = run_cli(["validate", "--strict", "--rules", RULES, "--scenarios", str(path)])
    assert code == 1
    path.write_text(json.dumps(_bill(True)) + "\n", encoding="utf-8")
    code, out, err = run_cli(["validate", "--strict", "--rules", RULES, "--scenarios", str(path)])
    assert (code, "BR607" in out + err) == (0, False)


def test_a_first_bill_without_its_period_is_no_warning(tmp_path: Path) -> None:
    """No history: nothing counts earlier bills (the samples' cancellations and purchases, and a
    run's lines, are bills of a day)."""
    data = _bill(False)
    data["discount_history"] = []
    path = tmp_path / "cancel.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    _, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(path)])
    assert "BR607" not in out + err, out + err


# --- hints: a number written with its unit in a scenario; a misspelt duration unit --------------


@pytest.mark.parametrize(
    ("field", "written", "hint"),
    [
        ("quantity", "25 GB", "write the number alone: `quantity: 25` (the unit is the field's own)"),
        ("quantity", "3 times", "write the number alone: `quantity: 3` (the unit is the field's own)"),
        ("quantity", "abc", "see schemas/scenario.schema.json for the expected form"),
        ("amount", "20 EURO", "see schemas/scenario.schema.json for the expected form"),  # (money: its own words)
    ],
)
def test_a_scenario_number_written_with_a_unit_is_told_to_be_written_alone(field: str, written: str, hint: str) -> None:
    from engine.decide.scenarios import validate_scenario

    data = {
        "id": "x",
        "as_of": "2015-01-01T00:00:00Z",
        "usage": [{"at": "2015-01-01T00:00:00Z", "product": "vod-rental", field: written}],
    }
    (found,) = validate_scenario(data, None).diagnostics
    assert (found.code, found.hint) == ("BR602", hint)


@pytest.mark.parametrize(
    ("written", "meant"), [("12 monhts", "12 months"), ("12months", "12 months"), ("2 Weeks", "2 weeks")]
)
def test_a_misspelt_duration_unit_gets_did_you_mean(tmp_path: Path, written: str, meant: str) -> None:
    from engine.validate import validate_paths
    from tests.test_audit_thirteenth import _rules_with

    root = _rules_with(tmp_path, "discounts/customer_care.yaml", "  per: 1 year\n", f"  per: {written}\n")
    (found,) = [d for d in validate_paths([root]) if d.code == "BR205"]
    assert found.hint == f"did you mean `{meant}`?"


# --- diff: a bill's total past an input's 15 digits ----------------------------------------------


def test_diff_reads_a_total_past_an_input_s_digits(tmp_path: Path) -> None:
    """Each line within 15 digits, their sum past them: `diff` read the decision's totals back as
    an input, and stopped on an internal error (as did `--html`)."""
    from tests.test_audit_thirteenth import _rules_with

    new = _rules_with(tmp_path, "catalog/products.yaml", "price: 44.99 EUR", "price: 39.00 EUR")  # tv-premium
    scenario = tmp_path / "big.json"
    scenario.write_text(
        json.dumps(
            {
                "id": "big",
                "as_of": "2016-02-01T02:00:00+01:00",
                "account": {"code": "A1", "classification": "Residential"},
                "subscription": {
                    "code": "S1",
                    "plan": "triple-play-24",
                    "billing_frequency": "monthly",
                    "start": "2015-01-05",
                    "products": [
                        {"product": "tv-premium"},
                        {"product": "fibre-100", "price": "999999999999999.99 EUR"},
                    ],
                    "billing_period": {"from": "2016-01-01", "to": "2016-01-31"},
                },
            }
        ),
        encoding="utf-8",
    )
    html = tmp_path / "report.html"
    code, out, err = run_cli(
        ["diff", "--rules", RULES, "--rules", str(new), "--input", str(scenario), "--html", str(html)]
    )
    assert code == 1, err  # (something changed: README, "Exit codes")
    assert "gross 1000000000000044.98 EUR → 1000000000000038.99 EUR" in out
    assert "internal error" not in err and html.exists()


# --- diff: groups and causes --------------------------------------------------------------------


def _diff_json(tmp_path: Path, file: str, old: str, new: str, inputs: str) -> dict[str, Any]:
    from tests.test_audit_thirteenth import _rules_with

    changed = _rules_with(tmp_path, file, old, new)
    code, out, err = run_cli(["diff", "--rules", RULES, "--rules", str(changed), "--input", inputs, "--json"])
    assert code == 1, err
    found: dict[str, Any] = json.loads(out)
    return found


def test_a_price_rise_with_no_discount_changed_is_in_the_gross_group(tmp_path: Path) -> None:
    """README: the definitions' groups and the gross group add up to the total. A bill whose gross
    moved with no definition's amount changed was in `discounts: lines changed`, and they did not."""
    from decimal import Decimal

    report = _diff_json(
        tmp_path, "catalog/products.yaml", "price: 29.99 EUR", "price: 32.49 EUR", str(REPO / "samples")
    )
    labels = [g["label"] for g in report["groups"]]
    assert "discounts: lines changed" not in labels
    total = Decimal(report["money"]["discounts_net"]["EUR"].split()[0])
    groups = sum(
        Decimal(g["money"]["discounts_net"]["EUR"].split()[0])
        for g in report["groups"]
        if g["label"].split(":")[0] != "purchase" and "discounts_net" in (g.get("money") or {})
    )
    assert groups == total, (groups, total, labels)


def test_a_purchase_refused_by_a_rule_change_names_the_reason(tmp_path: Path) -> None:
    report = _diff_json(
        tmp_path,
        "catalog/plans.yaml",
        "payment_methods: [card, direct_debit]\n",  # tv-essentials-24's
        "payment_methods: [direct_debit]\n",
        str(REPO / "samples/purchase"),
    )
    refused = [g for g in report["groups"] if g["label"].startswith("purchase: allowed → refused")]
    assert refused, [g["label"] for g in report["groups"]]
    details = [s["detail"] for g in refused for s in g["scenarios"]]
    assert details and all("does not accept payment by `card`" in d for d in details), details


def test_the_html_report_marks_a_penalty_not_charged() -> None:
    from engine import load_rules
    from engine.load import load_file
    from engine.report.html import decision_section

    rules = load_rules(REPO / "rules")
    data = {
        k: v
        for k, v in load_file(REPO / "samples/cancellation/add_on_not_allowed.yaml").documents[0].data.items()
        if k != "expect"
    }
    decision = rules.decide(data)
    charged = [t for t in decision["cancellation"]["terms"] if any(r["code"] == "not_charged" for r in t["reasons"])]
    assert charged, decision["cancellation"]["terms"]
    html = decision_section(decision)
    assert "(not charged: the cancellation is refused)" in html


def test_diff_counts_the_changed_scenarios_that_move_money(tmp_path: Path) -> None:
    """`money_changed`: of the changed scenarios, those whose bill, penalty or price moved (a new
    definition changes every bill's list of definitions, a few bills' money)."""
    from engine import load_rules
    from engine.diff import money_measures
    from engine.load import load_file

    report = _diff_json(
        tmp_path, "catalog/products.yaml", "price: 29.99 EUR", "price: 32.49 EUR", str(REPO / "samples")
    )
    old, new = load_rules(REPO / "rules"), load_rules(tmp_path / "rules")
    moved = 0
    for path in sorted((REPO / "samples").rglob("*.yaml")):
        for document in load_file(path).documents:
            data = {k: v for k, v in document.data.items() if k != "expect"}
            try:
                before, after = old.decide(dict(data)), new.decide(dict(data))
            except Exception:  # (a refused sample: in neither count)
                continue
            moved += money_measures(before) != money_measures(after)
    assert 0 < report["money_changed"] == moved < report["changed"] + 1


# --- a review of the session's fixes --------------------------------------------------------------


def _ghost(units: list[str]) -> dict[str, Any]:
    from engine.load import load_file

    data = {
        k: v
        for k, v in load_file(REPO / "samples/discounts/complaint_offered.yaml").documents[0].data.items()
        if k != "expect"
    }
    data["agent"] = {"user": "ghost.agent", "units": units}
    return data


def _agent_units(rules: Any, data: dict[str, Any]) -> list[Any]:
    (found,) = [d for d in rules.decide(data)["discounts"]["definitions"] if d["code"] == "complaint-discount"]
    return [r["facts"].get("agent_units") for r in found["reasons"] if r["code"] == "agent_not_allowed"]


def test_an_undefined_agent_s_units_are_each_scenario_s_own() -> None:
    """A user the rules do not define is told by the units the scenario gives: a not-eligible result
    kept for one scenario's units served the next one's (the user alone keyed it)."""
    from engine import load_rules

    rules = load_rules(REPO / "rules")
    brief = rules.brief()
    first, second = _ghost(["field-services"]), _ghost(["contact-centre"])
    for decided in (rules, brief):
        assert _agent_units(decided, first) != _agent_units(decided, second)
        assert _agent_units(decided, second) == _agent_units(load_rules(REPO / "rules"), second)


def test_an_aggregate_with_an_item_over_values_some_missing(tmp_path: Path) -> None:
    """`count(a in subscription.products.price.amount where a > 10)`: a line without a price has
    no amount, left out (it stopped on an internal error, TypeError)."""
    from engine import load_rules
    from tests.test_line_charge import _bill, _rules_reading, _status

    rules = load_rules(_rules_reading(tmp_path, "count(a in subscription.products.price.amount where a > 10) >= 1"))
    priced = _bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100", "price": "20.00 EUR"})
    unpriced = _bill("monthly", {"product": "tv-essentials"}, {"product": "fibre-100", "price": "5.00 EUR"})
    for decided in (rules, rules.brief()):
        assert _status(decided.decide(priced), "big-bill-5")["status"] == "applied"
        assert _status(decided.decide(unpriced), "big-bill-5")["status"] == "not_eligible"


def test_a_large_expected_amount_without_its_currency_is_a_mismatch_not_an_error() -> None:
    from engine.expectations import compare

    [mismatch] = list(compare({"net": "1e80"}, {"net": "8.00 USD"}, ("expect",)))
    assert "USD" in mismatch.hint


def test_a_duration_unit_billrules_does_not_take_is_not_guessed(tmp_path: Path) -> None:
    from engine.validate import validate_paths
    from tests.test_audit_thirteenth import _rules_with

    root = _rules_with(tmp_path, "discounts/customer_care.yaml", "  per: 1 year\n", "  per: 30 mins\n")
    (found,) = [d for d in validate_paths([root]) if d.code == "BR205"]
    assert "did you mean" not in found.hint


@pytest.mark.parametrize("written", ["2.5 boxes", "-2 boxes"])
def test_the_number_alone_is_suggested_only_when_the_field_takes_it(written: str) -> None:
    from engine.decide.scenarios import validate_scenario

    data = {
        "id": "x",
        "as_of": "2015-01-01T00:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "products": [{"product": "tv-essentials", "quantity": written}],
        },
    }
    (found,) = validate_scenario(data, None).diagnostics
    assert "write the number alone" not in found.hint
