"""Review follow-ups of the twenty-second session (2026-12-03), fixed:

- 6: a plan change's penalty under a term whose tax is a code only (left to the tax provider)
  read "33.86 EUR (fee 33.86 EUR)", as though the tax were in that total; it now says, as the
  cancellation decision does, that the provider's tax is to be added.
- 7: a plan change on a subscription no longer in effect on the purchase day (deactivated, or
  cancelled by the scenario's own allowed cancellation) was charged the penalty again, or refused.
- 8: subscription data that the cancellation refuses as BR616 (an add-on listed twice, a bundle
  of the plan as an add-on, odd `add_on_starts`, cycles without a frequency), which every other
  purchase accepts, made a purchase of another plan that error; it is decided, with a reason that
  refuses nothing (`plan_change_not_judged`).
- 10: a Parquet `timestamp[ns]` value (a `pandas.Timestamp` with nanoseconds) was kept to the
  nanosecond where the same instant written as text is BR602; it is BR602 too.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.decide.scenarios import ScenarioError, ScenarioInvalid
from engine.ruleset import RuleSet

RULESET = """\
kind: rule_set
code: audit-s22-f6
name: Audit s22 plan changes
version: "1"
default_currency: EUR
rounding: half_up
"""

CATALOG = """\
kind: product
code: pm
name: Main
type: termed
price: 30.00 EUR
billing_frequency: monthly
main_service: true
---
kind: product
code: pbox
name: Box
type: one_time
price: 49.99 EUR
---
kind: product
code: pb
name: B
type: termed
price: 5.00 EUR
billing_frequency: monthly
---
kind: product
code: pw
name: Weekly
type: termed
price: 2.00 EUR
billing_frequency: weekly
---
kind: bundle
code: bm
name: Main bundle
validity: {from: 2020-01-01}
products:
  - product: pm
  - product: pbox
---
kind: bundle
code: bbox
name: A box alone
validity: {from: 2020-01-01}
products:
  - product: pbox
---
kind: bundle
code: bb
name: B bundle
validity: {from: 2020-01-01}
products:
  - product: pb
---
kind: bundle
code: bw
name: Weekly bundle
validity: {from: 2020-01-01}
products:
  - product: pw
---
kind: bundle
code: bb-penalty
name: B bundle with a term of its own
validity: {from: 2020-01-01}
term: t-penalty
products:
  - product: pb
---
kind: term
code: t-code
name: 12 months, a penalty whose tax the provider computes
period: 12
unit: months
basis: calendar
early_cancellation: penalty
penalty:
  grace_period: 14
  grace_period_unit: days
  fee: 100.00 EUR
  pro_rata: false
  tax:
    code: DE-VAT-STD
  tax_provider: acme-tax-engine
---
kind: term
code: t-penalty
name: 12 months, a flat penalty
period: 12
unit: months
basis: calendar
early_cancellation: penalty
penalty:
  grace_period: 14
  grace_period_unit: days
  fee: 100.00 EUR
  pro_rata: false
  tax:
    rate: 19
---
kind: term
code: t-locked
name: 12 months, no early cancellation
period: 12
unit: months
basis: calendar
early_cancellation: not_allowed
---
kind: term
code: t-cycles
name: 12 billing cycles, a pro rata penalty
period: 12
unit: months
basis: billing_cycles
early_cancellation: penalty
penalty:
  fee: 120.00 EUR
  pro_rata: true
---
kind: plan
code: plan-code
name: Penalty with a provider's tax
bundles: [bm]
validity: {from: 2020-01-01}
term: t-code
---
kind: plan
code: plan-penalty
name: Penalty
bundles: [bm]
validity: {from: 2020-01-01}
term: t-penalty
---
kind: plan
code: plan-locked
name: Locked
bundles: [bm]
validity: {from: 2020-01-01}
term: t-locked
---
kind: plan
code: plan-cycles
name: Cycles of a box and a mixed add-on
bundles: [bbox]
validity: {from: 2020-01-01}
term: t-cycles
---
kind: plan
code: plan-none
name: No term
bundles: [bm]
validity: {from: 2020-01-01}
---
kind: plan
code: plan-flex
name: Flex
bundles: [bm]
validity: {from: 2020-01-01}
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    folder = tmp_path_factory.mktemp("s22f6")
    (folder / "ruleset.yaml").write_text(RULESET, encoding="utf-8")
    (folder / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    return load_rules(folder)


ACCOUNT = {"code": "ACC-1", "classification": "Residential"}
DAY = "2026-05-01T10:00:00+00:00"


def _subscription(plan: str, **more: Any) -> dict[str, Any]:
    return {"code": "SUB-9", "plan": plan, "billing_frequency": "monthly", "start": "2026-03-01", **more}


def _decide(rules: RuleSet, subscription: dict[str, Any], plan: str = "plan-flex", **more: Any) -> Any:
    data = {"id": "f6", "as_of": DAY, "account": ACCOUNT, "purchase": {"plan": plan}, **more}
    data["subscription"] = copy.deepcopy(subscription)
    return rules.decide(data)


# 6: a tax left to the provider is not in the penalty's total -------------------------------------


def test_a_penalty_whose_tax_the_provider_adds_says_so_as_the_cancellation_does(rules: RuleSet) -> None:
    decided = _decide(rules, _subscription("plan-code"))["purchase"]
    assert decided["allowed"] is True
    [reason] = decided["reasons"]
    assert reason["code"] == "plan_change_penalty"
    facts = reason["facts"]
    assert (facts["fee"], facts["total"]) == ("100.00 EUR", "100.00 EUR")
    assert (facts["tax_code"], facts["tax_provider"]) == ("DE-VAT-STD", "acme-tax-engine")
    assert reason["text"].endswith(
        "`t-code` charges a penalty for cancelling before 2027-03-01: "
        "100.00 EUR (tax DE-VAT-STD to be added by acme-tax-engine), due 2026-05-15"
    )
    assert "(fee " not in reason["text"]


def test_a_penalty_with_its_tax_computed_keeps_its_total_and_fee(rules: RuleSet) -> None:
    [reason] = _decide(rules, _subscription("plan-penalty"))["purchase"]["reasons"]
    assert "tax_code" not in reason["facts"]
    assert reason["text"].endswith(": 119.00 EUR (fee 100.00 EUR), due 2026-05-15")


# 7: a subscription no longer in effect has no contract to end ------------------------------------

ENDED = [{"status": "active", "from": "2026-03-01"}, {"status": "deactivated", "from": "2026-04-01"}]


@pytest.mark.parametrize("plan", ["plan-penalty", "plan-locked"])
def test_a_subscription_deactivated_on_the_purchase_day_ends_no_contract(rules: RuleSet, plan: str) -> None:
    decided = _decide(rules, _subscription(plan, status_history=ENDED))["purchase"]
    assert decided["allowed"] is True
    assert decided["reasons"] == []


def test_a_deactivation_that_ended_before_the_purchase_day_leaves_the_contract_running(rules: RuleSet) -> None:
    history = [*ENDED, {"status": "active", "from": "2026-04-20"}]
    decided = _decide(rules, _subscription("plan-locked", status_history=history))["purchase"]
    assert decided["allowed"] is False
    assert [r["code"] for r in decided["reasons"]] == ["plan_change_not_allowed"]
    rested = [{"status": "rested", "from": "2026-04-01"}]  # a rest is no end
    decided = _decide(rules, _subscription("plan-penalty", status_history=rested))["purchase"]
    assert [r["code"] for r in decided["reasons"]] == ["plan_change_penalty"]


def test_a_deactivation_with_its_last_day_before_the_purchase_day_is_over(rules: RuleSet) -> None:
    history = [{"status": "deactivated", "from": "2026-04-01", "to": "2026-04-30"}]
    decided = _decide(rules, _subscription("plan-penalty", status_history=history))["purchase"]
    assert [r["code"] for r in decided["reasons"]] == ["plan_change_penalty"]


def test_the_scenarios_own_earlier_cancellation_charges_the_penalty_once(rules: RuleSet) -> None:
    decided = _decide(rules, _subscription("plan-penalty"), cancellation={"date": "2026-04-01"})
    assert decided["cancellation"]["allowed"] is True
    assert decided["cancellation"]["total"] == {"EUR": "119.00 EUR"}
    assert decided["purchase"]["allowed"] is True
    assert decided["purchase"]["reasons"] == []


def test_a_cancellation_on_the_purchase_day_itself_is_the_change_and_says_it_once(rules: RuleSet) -> None:
    decided = _decide(rules, _subscription("plan-penalty"), cancellation={"date": "2026-05-01"})
    assert decided["cancellation"]["total"] == {"EUR": "119.00 EUR"}
    assert decided["purchase"]["reasons"] == []


def test_a_refused_earlier_cancellation_leaves_the_contract_running(rules: RuleSet) -> None:
    decided = _decide(rules, _subscription("plan-locked"), cancellation={"date": "2026-04-01"})
    assert decided["cancellation"]["allowed"] is False
    assert decided["purchase"]["allowed"] is False
    assert [r["code"] for r in decided["purchase"]["reasons"]] == ["plan_change_not_allowed"]


def test_an_earlier_cancellation_of_an_add_on_ends_that_add_on_only(rules: RuleSet) -> None:
    subscription = _subscription("plan-none", add_ons=["bb-penalty"])
    [reason] = _decide(rules, subscription)["purchase"]["reasons"]
    assert (reason["code"], reason["facts"]["for"]) == ("plan_change_penalty", "bb-penalty")
    decided = _decide(rules, subscription, cancellation={"date": "2026-04-01", "add_ons": ["bb-penalty"]})
    assert decided["cancellation"]["allowed"] is True
    assert decided["purchase"]["reasons"] == []  # the add-on ended; the plan, which runs on, has no term


# 8: subscription data a cancellation refuses leave the purchase decidable ------------------------


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"add_ons": ["bb", "bb"]}, "subscription.add_ons[1]"),
        ({"add_ons": ["bm"]}, "subscription.add_ons[0]"),
        ({"add_on_starts": {"bb": "2026-04-01"}}, "subscription.add_on_starts.bb"),
        ({"add_ons": ["bb"], "add_on_starts": {"bb": "2026-01-01"}}, "subscription.add_on_starts.bb"),
    ],
)
def test_subscription_data_a_cancellation_refuses_leave_the_terms_unjudged(
    rules: RuleSet, more: dict[str, Any], field: str
) -> None:
    decided = _decide(rules, _subscription("plan-locked", **more))["purchase"]
    assert decided["allowed"] is True  # as before the plan change was judged: no refusal, no error
    [reason] = decided["reasons"]
    assert reason["code"] == "plan_change_not_judged"
    assert (reason["facts"]["error"], reason["facts"]["field"]) == ("BR616", field)
    assert reason["text"].startswith(
        "changing from plan `plan-locked` to `plan-flex` ends its contract, but its terms could not be judged: "
        f"`{field}`: "
    )
    assert reason["text"].endswith("which a cancellation refuses (BR616); the purchase is decided without them")


def test_a_term_in_cycles_without_a_billing_frequency_leaves_the_terms_unjudged(rules: RuleSet) -> None:
    subscription = _subscription("plan-cycles", add_ons=["bb", "bw"])
    del subscription["billing_frequency"]
    with pytest.raises(ScenarioError) as raised:  # the cancellation question: BR616, as before
        _decide(rules, subscription, plan="plan-cycles", cancellation={"date": "2026-05-01"})
    assert raised.value.code == "BR616"
    [reason] = _decide(rules, subscription)["purchase"]["reasons"]
    assert (reason["code"], reason["facts"]["field"]) == ("plan_change_not_judged", "subscription.billing_frequency")


def test_a_code_no_rule_names_is_still_the_error_every_purchase_gives(rules: RuleSet) -> None:
    with pytest.raises(ScenarioError) as raised:
        _decide(rules, _subscription("plan-locked", add_ons=["zz"]))
    assert raised.value.field == "subscription.add_ons[0]"


# 10: a typed date-time finer than a microsecond -------------------------------------------------


def test_a_pandas_timestamp_with_nanoseconds_is_refused_as_its_text_is(rules: RuleSet) -> None:
    pandas = pytest.importorskip("pandas")
    from engine.decide.scenarios import checked_scenario

    def scenario(at: Any) -> dict[str, Any]:
        event = {"id": "E1", "type": "grant", "amount": "5", "at": at}
        balance = {"policy": "prepaid-strict", "opening": "0", "events": [event]}
        return {"id": "ns", "as_of": "2015-09-02T10:00:00+00:00", "balance": balance}

    fine = pandas.Timestamp("2015-09-01T00:00:00.000000100+00:00")
    assert fine.nanosecond == 100
    with pytest.raises(ScenarioInvalid) as typed:
        checked_scenario(scenario(fine))
    with pytest.raises(ScenarioInvalid) as written:
        checked_scenario(scenario("2015-09-01T00:00:00.000000100+00:00"))
    message = "`2015-09-01T00:00:00.000000100+00:00` is finer than a microsecond"
    [diagnostic] = typed.value.diagnostics
    assert (diagnostic.code, diagnostic.field_path) == ("BR602", "balance.events[0].at")
    assert message in diagnostic.message
    assert [(d.code, d.message) for d in written.value.diagnostics] == [(diagnostic.code, diagnostic.message)]
    # to the microsecond, a Timestamp is read as before
    kept = checked_scenario(scenario(pandas.Timestamp("2015-09-01T00:00:00.000001+00:00")))
    assert kept.balance.events[0].at.microsecond == 1


def test_a_parquet_nanosecond_column_is_br602_in_a_run(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    pyarrow = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    import json

    from engine.cli.main import main

    rules = Path(__file__).resolve().parent.parent / "rules"
    instant = pyarrow.timestamp("ns", tz="UTC")
    event = pyarrow.struct(
        [
            ("id", pyarrow.string()),
            ("type", pyarrow.string()),
            ("amount", pyarrow.string()),
            ("request", pyarrow.string()),
            ("at", instant),
        ]
    )
    balance = pyarrow.struct(
        [("policy", pyarrow.string()), ("opening", pyarrow.string()), ("events", pyarrow.list_(event))]
    )
    midnight = 1441065600 * 10**9  # 2015-09-01T00:00:00Z in nanoseconds
    events = [
        {"id": "E1", "type": "grant", "amount": "5", "request": None, "at": midnight},
        {"id": "E2", "type": "debit", "amount": "5", "request": "r1", "at": midnight + 100},
    ]
    table = pyarrow.table(
        {
            "id": pyarrow.array(["ns"]),
            "as_of": pyarrow.array([midnight + 36 * 3600 * 10**9], instant),
            "balance": pyarrow.array([{"policy": "prepaid-strict", "opening": "0", "events": events}], balance),
        }
    )
    source = tmp_path / "ns.parquet"
    parquet.write_table(table, source)
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    args = ["run", "--rules", str(rules), "--input", str(source), "--output", str(out), "--errors", str(errors)]
    main([*args, "--workers", "1"])
    [record] = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    [diagnostic] = record["diagnostics"]
    assert diagnostic["code"] == "BR602"
    assert diagnostic["field"] == "balance.events[1].at"
    assert "finer than a microsecond" in diagnostic["message"]
