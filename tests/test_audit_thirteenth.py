"""Findings of the thirteenth session's audits (2026-12-02). Each test is a reduced reproduction of
what an audit found, with the outcome SPEC or README requires."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent


def _rules_with(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the shipped rules with `old` replaced by `new` (once) in `file`."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


# --- criteria: a set written empty decides the condition alone (BR510) ----------------------------


@pytest.mark.parametrize(
    ("written", "outcome"),
    [
        ("account.segments overlaps {}", "never holds"),
        ("account.classification in {}", "never holds"),
        ("account.classification not in { }", "always holds"),
        ("account.segments contains {}", "always holds"),
        ('{} contains "military"', "never holds"),
        ("{} contains account.segments", "holds only when `account.segments` is empty"),
    ],
)
def test_a_set_written_empty_is_a_warning_saying_what_the_condition_always_is(
    tmp_path: Path, written: str, outcome: str
) -> None:
    yaml_text = f"'{written}'" if written.startswith("{") else written  # (a YAML flow mapping otherwise)
    root = _rules_with(tmp_path, "catalog/terms.yaml", 'account.segments overlaps {"military"}', yaml_text)
    found = [d for d in validate_paths([root]) if d.code == "BR510"]
    assert [(d.severity.value, d.file.endswith("terms.yaml")) for d in found] == [("warning", True)], found
    assert f"`{written}` {outcome}" in found[0].message
    assert ("whatever the scenario says" in found[0].message) is outcome.endswith("holds")


def test_a_set_with_values_is_not_warned(tmp_path: Path) -> None:
    root = _rules_with(tmp_path, "catalog/terms.yaml", '{"military"}', '{"military", "police"}')
    assert [d for d in validate_paths([root]) if d.code == "BR510"] == []


# --- runs: an input with no scenario is not a quiet night ------------------------------------------


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_a_run_over_an_input_with_no_scenario_exits_1_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    from engine.cli.main import main

    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text(content, encoding="utf-8")
    rules = str(REPO / "rules")
    code = main(["run", "--rules", rules, "--input", "in.jsonl", "--output", "out.jsonl", "--errors", "e.jsonl"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "0 scenarios in, 0 decisions out, 0 errors" in err
    assert "no scenario found in in.jsonl: nothing was decided" in err
    assert Path("out.jsonl").read_text(encoding="utf-8") == ""  # written, empty


# --- credits: why a credit user's own organisation's credit is not used ------------------------------


def test_why_names_the_credit_owner_for_a_credit_users_own_organisations_credit() -> None:
    # (seed 001: Peter draws on John's credits, not on globex-fr-paris's; the reason was told from
    # John's organisation, "a child's credit: held by `globex-fr-paris`, its child")
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("credits/credit_owner_shares_with_users.yaml")
    decision = load_rules(REPO / "rules").decide(scenario, explain=True)
    why = {entry["request"]: entry for entry in decision["credits"]["why"]}["REQ-PETER-MAIL"]
    [reason] = [c["verdict"] for c in why["credits"] if c["credit"] == "globex-fr-paris-email"]
    assert reason["code"] == "owner_credits_only", reason
    assert reason["facts"] == {
        "holder": "globex-fr-paris",
        "relation": "user `peter`'s organisation",
        "user": "peter",
        "owner": "john",
        "organisation": "globex-fr",
    }
    assert "`peter` draws on the credits of credit owner `john` (organisation `globex-fr`)" in reason["text"]


# --- cancellations: what a refused cancellation does not charge, and a provider's tax ----------------


def _decided_text(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    from engine.cli.main import main

    assert main(["decide", "--rules", str(REPO / "rules"), str(path)]) == 0
    return capsys.readouterr().out


def test_a_refused_cancellation_says_on_each_penalty_that_it_is_not_charged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # (SPEC 3.4: a term refusing refuses the cancellation; the plan's penalty, its figures kept,
    # read "due 2015-07-15" under "refused")
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    decision = load_rules(REPO / "rules").decide(_sample("cancellation/add_on_not_allowed.yaml"))
    plan, sports = decision["cancellation"]["terms"]
    assert decision["cancellation"]["total"] == {}
    assert plan["penalty"]["total"] == "214.20 EUR"  # what it would be: kept
    [record] = [r for r in plan["reasons"] if r["code"] == "not_charged"]
    assert record["facts"] == {"term": "commit-24m", "refused_by": {"sports-bundle": "sports-season"}}
    assert record["text"] == "not charged: the cancellation is refused (by `sports-season` for sports-bundle)"
    assert not [r for r in sports["reasons"] if r["code"] == "not_charged"]
    text = _decided_text(REPO / "samples/cancellation/add_on_not_allowed.yaml", capsys)
    assert "= 214.20 EUR, not charged (the cancellation is refused)\n" in text
    assert "due 2015-07-15" not in text


def test_an_allowed_cancellation_charges_its_penalty_with_no_not_charged_reason() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    decision = load_rules(REPO / "rules").decide(_sample("cancellation/pro_rata_penalty.yaml"))
    assert decision["cancellation"]["allowed"] is True
    assert all(r["code"] != "not_charged" for t in decision["cancellation"]["terms"] for r in t["reasons"])


def test_a_tax_the_provider_computes_is_not_written_as_a_sum(capsys: pytest.CaptureFixture[str]) -> None:
    # ("penalty 0.16 EUR + tax DE-VAT-STD by acme-tax-engine = 0.16 EUR" read as a tax of zero)
    text = _decided_text(REPO / "samples/cancellation/rolling_renewal_pro_rata_days.yaml", capsys)
    [line] = [x for x in text.splitlines() if x.strip().startswith("penalty ")]
    assert "(tax DE-VAT-STD to be added by acme-tax-engine), due " in line, line
    assert "=" not in line


def test_the_outcome_an_exception_decides_is_worded_as_the_exceptions() -> None:
    # (the term's own rule is a penalty; exception 1 allows: "`commit-24m` allows cancelling …"
    # read as the term's own rule)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    decision = load_rules(REPO / "rules").decide(_sample("cancellation/exception_moved_abroad.yaml"))
    [term] = decision["cancellation"]["terms"]
    held, said = term["reasons"]
    assert held["code"] == "exception_holds" and held["facts"]["index"] == 1
    assert said["code"] == "early_cancellation_allowed"
    assert said["facts"] == {"term": "commit-24m", "end": "2017-01-01", "exception": 1}
    assert said["text"].startswith("exception 1 of `commit-24m` allows cancelling before its commitment ends")
    own = load_rules(REPO / "rules").decide(_sample("cancellation/pro_rata_penalty.yaml"))
    [plain] = [r for t in own["cancellation"]["terms"] for r in t["reasons"] if r["code"].startswith("early_")]
    assert "exception" not in plain["facts"] and plain["text"].startswith("`commit-24m` charges a penalty")


# --- discounts: what a cap or the zero floor cut is said ------------------------------------------


def _applied(decision: dict[str, Any], code: str) -> dict[str, Any]:
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == code]
    assert found["status"] == "applied", found
    return found


def test_a_discount_cut_by_its_cap_says_what_it_would_take() -> None:
    # (seed 002: 50 % off a 44.99 EUR main service, at most 20.00 EUR a month: "amount 20.00 EUR"
    # beside "requested 50" and only "approved by" as reason)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    rules = load_rules(REPO / "rules")
    found = _applied(rules.decide(_sample("discounts/complaint_cap.yaml")), "complaint-discount")
    [capped] = [r for r in found["reasons"] if r["code"] == "capped"]
    assert found["amount"] == capped["facts"]["cap"] == "20.00 EUR"
    assert Decimal(capped["facts"]["uncapped"].split()[0]) > Decimal("20.00")
    assert capped["text"].startswith("capped at 20.00 EUR a billing period: it would take ")
    assert capped["source"]["file"].endswith("customer_care.yaml")
    across = _applied(rules.decide(_sample("discounts/retention_offer_cap_across_lines.yaml")), "retention-offer")
    [capped] = [r for r in across["reasons"] if r["code"] == "capped"]
    assert capped["facts"] == {"cap": "15.00 EUR", "uncapped": "24.00 EUR"}  # 12.00 from each of 2 lines


def test_a_discount_under_its_cap_says_nothing_of_it() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/complaint_cap.yaml")
    decision = load_rules(REPO / "rules").decide(scenario)
    scenario["requested_discounts"][0]["value"] = 10
    found = _applied(load_rules(REPO / "rules").decide(scenario), "complaint-discount")
    assert [r["code"] for r in found["reasons"] if r["code"] == "capped"] == [], found
    assert _applied(decision, "complaint-discount")["amount"] == "20.00 EUR"


def test_a_money_amount_cut_by_the_zero_floor_names_the_line() -> None:
    # (seed 002: 20 EUR off an installation fee of 15.00 EUR takes 15.00, and said nothing)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    decision = load_rules(REPO / "rules").decide(_sample("discounts/installation_late_not_below_zero.yaml"))
    found = _applied(decision, "installation-late-20-off")
    [floor] = [r for r in found["reasons"] if r["code"] == "line_floor"]
    assert floor["facts"] == {"value": "20.00 EUR", "lines": ["job.products[0]"]}
    assert floor["text"] == "takes less than 20.00 EUR from job.products[0]: no line goes below zero"
    whole = load_rules(REPO / "rules").decide(_sample("discounts/installation_late_auto_20_off.yaml"))
    assert not [r for r in _applied(whole, "installation-late-20-off")["reasons"] if r["code"] == "line_floor"]


# --- reasons' sources ---------------------------------------------------------------------------


def test_a_reason_about_a_block_list_names_its_keys_line_and_a_commitment_over_its_period() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    rules = load_rules(REPO / "rules")
    scenario = _sample("purchase/product_not_in_bundle.yaml")
    [reason] = [r for r in rules.decide(scenario)["purchase"]["reasons"] if r["code"] == "product_not_in_bundle"]
    lines = (REPO / "rules/catalog/bundles.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[reason["source"]["line"] - 1] == "products:", reason["source"]
    over = rules.decide(_sample("cancellation/commitment_end_day.yaml"))["cancellation"]["terms"][0]["reasons"][0]
    assert over["code"] == "commitment_over"
    terms = (REPO / "rules/catalog/terms.yaml").read_text(encoding="utf-8").splitlines()
    assert terms[over["source"]["line"] - 1].startswith("period: "), over["source"]


def test_a_renewal_before_the_cancellation_date_is_said_not_to_waive_the_penalty() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("cancellation/renewed_within_grace.yaml")
    on = scenario["cancellation"]["date"]
    scenario["cancellation"]["renewed_on"] = on - timedelta(days=1)
    [term] = load_rules(REPO / "rules").decide(scenario)["cancellation"]["terms"]
    assert term["penalty"]["waived"] is False
    [said] = [r for r in term["reasons"] if r["code"].startswith("renewed_")]
    assert said["code"] == "renewed_before_cancellation"
    assert said["facts"]["renewed_on"] == (on - timedelta(days=1)).isoformat()
    assert said["facts"]["date"] == on.isoformat()
    assert "the penalty stands" in said["text"]


# --- credits: a refusal names the candidates that could not pay --------------------------------


def test_a_refused_consumption_names_the_candidates_used_up_or_expired() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    decision = load_rules(REPO / "rules").decide(_sample("credits/jumpstart_never_expires.yaml"))
    refused = {r["request"]: r["reasons"][0] for r in decision["credits"]["refused"]}
    ent = refused["REQ-LAB-ENT"]
    assert ent["code"] == "no_candidate"
    assert ent["facts"]["expired"] == {"globex-enterprise-2015": "2015-12-31"}
    assert ent["text"] == "refused: no credit can pay for it (expired `globex-enterprise-2015` on 2015-12-31)"
    # (an expectation listing the code alone, or the facts it knew, still holds: facts compare as a subset)


# --- discounts: what reset a span of uninterrupted time ---------------------------------------------


def _interrupted(status: str, start: str, end: str | None) -> dict[str, Any]:
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/retention_offer_approved.yaml")
    history: list[dict[str, Any]] = [{"status": "active", "from": scenario["subscription"]["start"]}]
    history.append({"status": status, "from": start, **({"to": end} if end else {})})
    if end:
        history.append({"status": "active", "from": (date.fromisoformat(end) + timedelta(days=1)).isoformat()})
    scenario["subscription"]["status_history"] = history
    return scenario


def _uninterrupted_reason(rules: Any, scenario: dict[str, Any]) -> dict[str, Any]:
    decision = rules.decide(scenario)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "retention-offer"]
    [reason] = [r for r in found["reasons"] if r["code"] == "duration_not_met"]
    return reason  # type: ignore[no-any-return]


def test_a_maturity_reset_by_an_interruption_names_it_and_no_other() -> None:
    # (the reasons are kept by the values a condition reads: the span alone, 2015-06-21 to
    # 2016-04-01, keyed a reason whose interruption was another scenario's)
    from engine import load_rules

    rules = load_rules(REPO / "rules")
    rested = _uninterrupted_reason(rules, _interrupted("rested", "2015-06-01", "2015-06-20"))
    assert rested["facts"]["since"] == "2015-06-21"
    assert rested["facts"]["after_interruption"] == {"from": "2015-06-01", "to": "2015-06-20", "days": 20}
    assert "(since 2015-06-21, after 20 days interrupted from 2015-06-01 to 2015-06-20)" in rested["text"]
    longer = _uninterrupted_reason(rules, _interrupted("deactivated", "2015-03-01", "2015-06-20"))
    assert longer["facts"]["since"] == "2015-06-21"  # the same span, after another interruption
    assert longer["facts"]["after_interruption"] == {"from": "2015-03-01", "to": "2015-06-20", "days": 112}


def test_an_interruption_still_going_on_is_named_as_such() -> None:
    from engine import load_rules

    reason = _uninterrupted_reason(load_rules(REPO / "rules"), _interrupted("rested", "2016-03-01", None))
    assert reason["facts"]["after_interruption"] == {
        "from": "2016-03-01",
        "to": "2016-04-01",
        "days": 32,
        "ongoing": True,
    }
    # (until 2026-12-03 "since 2016-04-01", the billing day, before it: nothing counts from that day)
    assert "(interrupted since 2016-03-01: 32 days so far)" in reason["text"]
    assert "since 2016-04-01" not in reason["text"]


# --- discounts: which part of a usage condition each record fails -----------------------------------


def test_a_usage_condition_no_record_meets_names_the_part_each_record_fails() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/usage_sports_fan_ppv.yaml")
    for record in scenario["usage"]:
        record["source_category"] = "movies"  # every PPV record now fails the category, none the type
    decision = load_rules(REPO / "rules").decide(scenario)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "sports-fan-ppv"]
    [reason] = [r for r in found["reasons"] if r["code"] == "none_match" and "source_category" in r["facts"]["where"]]
    count = reason["facts"]["count"]
    misses = reason["facts"]["misses"]
    assert len(misses) == min(count, 5)
    ppv = [i for i, u in enumerate(scenario["usage"][:5]) if u.get("service_type") == "PPV"]
    assert ppv, scenario["usage"]
    for m in misses:
        index = int(m["item"][len("usage[") : -1])
        expected = 'u.source_category in {"live-sports"}' if index in ppv else 'u.service_type in {"PPV"}'
        assert m["fails"] == expected, m
    assert f"; {misses[0]['item']} fails `{misses[0]['fails']}`" in reason["text"]


def test_date_arithmetic_is_told_by_the_field_it_reads() -> None:
    # ("`as_of.date - subscription.billing_term_start` is not known" and "… for 0 months")
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    rules = load_rules(REPO / "rules")
    scenario = _sample("discounts/free_period_yearly.yaml")
    [found] = [d for d in rules.decide(scenario)["discounts"]["definitions"] if d["code"] == "multiroom-half"]
    [short] = [r for r in found["reasons"] if "billing_term_start" in r["facts"].get("condition", "")]
    assert short["text"].startswith("time since subscription billing term start for 0 months"), short
    del scenario["subscription"]["billing_term_start"]
    [found] = [d for d in rules.decide(scenario)["discounts"]["definitions"] if d["code"] == "multiroom-half"]
    [unknown] = [r for r in found["reasons"] if "billing_term_start" in r["facts"].get("condition", "")]
    assert unknown["facts"]["missing"] == "subscription.billing_term_start"
    assert unknown["text"].startswith("subscription billing term start is not known, so `as_of.date - ")


@pytest.mark.parametrize(
    ("field", "value", "code", "fact", "day"),
    [
        ("start", "2016-03-26", "start_too_late", "latest_day", "2016-03-25"),
        ("end", "2017-03-01", "end_too_late", "latest_end", "2017-02-28"),
    ],
)
def test_a_start_or_end_too_late_names_the_last_day_allowed(
    field: str, value: str, code: str, fact: str, day: str
) -> None:
    # (retention offer: at most 1 month after it is added, at most 12 months long)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/retention_offer_approved.yaml")
    [request] = scenario["requested_discounts"]
    request.update({"added_on": "2016-02-25", "start": "2016-03-01"})
    request[field] = value
    decision = load_rules(REPO / "rules").decide(scenario)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "retention-offer"]
    [reason] = [r for r in found["reasons"] if r["code"] == code]
    assert reason["facts"][fact] == day
    assert reason["text"].endswith(f" {day} at the latest)")


def test_an_agent_not_allowed_names_their_own_units_as_a_fact_keeping_the_words() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    decision = load_rules(REPO / "rules").decide(_sample("discounts/complaint_agent_not_allowed.yaml"))
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "complaint-discount"]
    [reason] = [r for r in found["reasons"] if r["code"] == "agent_not_allowed"]
    assert reason["facts"] == {"agent": "tom.technician", "units": ["customer-care"], "agent_units": ["field-services"]}
    assert reason["text"] == "agent `tom.technician` is not in an allowed unit (customer-care)"


def test_a_capped_money_amount_cut_by_the_zero_floor_says_so() -> None:
    # (retention offer: 12.00 EUR requested, capped at 15.00 EUR; a TV line of 8.00 EUR after the
    # percentages runs out: the floor, not the cap, cut it, and the `capped`-or-floor check skipped it)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/retention_offer_approved.yaml")
    [line] = [p for p in scenario["subscription"]["products"] if p["product"] == "tv-premium"]
    line["price"] = "8.00 EUR"
    scenario["requested_discounts"][0]["value"] = "12.00 EUR"
    decision = load_rules(REPO / "rules").decide(scenario)
    found = _applied(decision, "retention-offer")
    assert [r["code"] for r in found["reasons"] if r["code"] in ("capped", "line_floor")] == ["line_floor"], found


def test_a_money_amount_cut_by_its_cap_alone_is_not_said_floored() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    decision = load_rules(REPO / "rules").decide(_sample("discounts/retention_offer_cap_across_lines.yaml"))
    found = _applied(decision, "retention-offer")
    assert [r["code"] for r in found["reasons"] if r["code"] in ("capped", "line_floor")] == ["capped"]


def test_a_record_is_said_to_fail_the_part_it_fails_not_one_it_has_no_value_for() -> None:
    # (a record without `service_type` and of another category: "fails `u.service_type in {…}`",
    # which it has no value for; the category is what it fails)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/usage_sports_fan_ppv.yaml")
    scenario["usage"] = scenario["usage"][:1]
    scenario["usage"][0]["source_category"] = "movies"
    del scenario["usage"][0]["service_type"]
    decision = load_rules(REPO / "rules").decide(scenario)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "sports-fan-ppv"]
    [reason] = [r for r in found["reasons"] if r["code"] == "none_match" and "source_category" in r["facts"]["where"]]
    assert reason["facts"]["misses"] == [{"item": "usage[0]", "fails": 'u.source_category in {"live-sports"}'}]


# --- purchases: a coupon's discount for the main service ----------------------------------------------


def test_a_coupons_discount_for_the_main_service_reduces_the_main_service_a_purchase_brings(
    tmp_path: Path,
) -> None:
    # (a purchase's lines were priced without the catalog's main service marked: "no line of the
    # customer's main service", and the single-use code spent for nothing)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    old = "discounted_products:\n  - product: sports-pack\nvalidity:\n  effective: 2015-03-01"
    root = _rules_with(
        tmp_path, "discounts/promotions.yaml", old, old.replace("product: sports-pack", "main_service: true")
    )
    decision = load_rules(root).decide(_sample("purchase/coupon_alphanumeric_with_plan.yaml"))
    purchase = decision["purchase"]
    assert [c["status"] for c in purchase["coupons"]] == ["redeemed"]
    [main] = [line for line in purchase["lines"] if line["product"] == "tv-essentials"]
    assert [d["code"] for d in main["discounts"]] == ["welcome-sports-half"], main
    assert Decimal(main["net"].split()[0]) < Decimal(main["gross"].split()[0])


# --- diff: a penalty not charged is grouped apart ----------------------------------------------------


def test_diff_groups_a_penalty_under_a_refused_cancellation_apart_from_penalties_charged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from engine.cli.main import main

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    terms = root / "catalog/terms.yaml"
    text = terms.read_text(encoding="utf-8")
    at = text.index("code: commit-24m")
    at = text.index("fee: 240.00 EUR", at)
    terms.write_text(text[:at] + "fee: 200.00 EUR" + text[at + len("fee: 240.00 EUR") :], encoding="utf-8")
    main(["diff", "--rules", str(REPO / "rules"), "--rules", str(root), "--input", str(REPO / "samples"), "--json"])
    report = json.loads(capsys.readouterr().out)
    groups = {g["label"]: g for g in report["groups"] if g["label"].startswith("term commit-24m (plan)")}
    refused = groups["term commit-24m (plan): penalty (not charged), penalty changed"]
    assert {s["scenario"] for s in refused["scenarios"]} == {"cancellation-add-on-not-allowed"}
    assert not refused.get("money", {}).get("cancellation_penalties")
    charged = groups["term commit-24m (plan): penalty changed"]
    assert "cancellation-add-on-not-allowed" not in {s["scenario"] for s in charged["scenarios"]}
    rows = sum(
        (Decimal(s["detail"].split(" → ")[1].split()[0]) - Decimal(s["detail"].split(" → ")[0].split()[0]))
        for s in charged["scenarios"]
    )
    assert rows == Decimal(charged["money"]["cancellation_penalties"]["EUR"].split()[0])  # its rows add up


# --- text output of a purchase -------------------------------------------------------------------


def test_a_purchase_in_words_names_its_plan_in_force_its_credit_user_and_a_refused_price(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from engine.cli.main import main
    from tests.test_audit_twelfth import _sample

    scenario = _sample("purchase/coupon_minus_20.yaml")
    scenario["purchase"]["user"] = "peter"
    path = tmp_path / "by_peter.json"
    path.write_text(json.dumps(scenario, default=str), encoding="utf-8")
    assert main(["decide", "--rules", str(REPO / "rules"), str(path)]) == 0
    text = capsys.readouterr().out
    assert "purchase (under plan " in text
    assert "  by peter: assigned to john, billed to peter\n" in text
    refused = _sample("purchase/refused_every_reason.yaml")
    path = tmp_path / "refused.json"
    path.write_text(json.dumps(refused, default=str), encoding="utf-8")
    main(["decide", "--rules", str(REPO / "rules"), str(path)])
    text = capsys.readouterr().out
    assert "(what it would cost: the purchase is refused)\n" in text


def test_a_pending_request_in_words_shows_what_was_requested(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli.main import main

    main(["decide", "--rules", str(REPO / "rules"), str(REPO / "samples/discounts/complaint_requested_pending.yaml")])
    [row] = [x for x in capsys.readouterr().out.splitlines() if "complaint-discount" in x and "pending" in x]
    assert row.split()[-2:] == ["requested", "20"], row


# --- discounts: a bundle's discount counts its duration from when the add-on was added -------------------


@pytest.mark.parametrize(("added", "applied"), [("2015-11-01", True), ("2015-09-01", True), ("2015-08-01", False)])
def test_an_add_on_discounts_duration_counts_from_the_add_on_start(added: str, applied: bool) -> None:
    # (welcome-sports-half: half the sports pack for 3 billing periods, granted by the welcome
    # sports bundle; with no history every bill was its first, and it applied for ever)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/levels_stacked.yaml")
    scenario["as_of"] = "2015-12-01T02:00:00+01:00"  # the November 2015 bill (the discount expires with 2015)
    subscription = scenario["subscription"]
    subscription["billing_period"] = {"from": "2015-11-01", "to": "2015-11-30"}
    subscription["add_ons"] = ["welcome-sports-bundle"]
    subscription["add_on_starts"] = {"welcome-sports-bundle": added}
    subscription["products"].append({"product": "sports-pack", "bundle": "welcome-sports-bundle"})
    decision = load_rules(REPO / "rules").decide(scenario)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "welcome-sports-half"]
    assert (found["status"] == "applied") is applied, found
    if not applied:
        assert [r["code"] for r in found["reasons"]] == ["periods_used"]
        assert found["reasons"][0]["facts"]["from"] == added


# --- diagnostics that say how to fix the mistake ------------------------------------------------------


def _hints(root: Path, code: str) -> list[str]:
    return [d.hint for d in validate_paths([root]) if d.code == code]


def test_a_count_written_with_its_unit_is_told_to_split(tmp_path: Path) -> None:
    root = _rules_with(tmp_path, "catalog/terms.yaml", "  grace_period: 14\n", "  grace_period: 14 days\n")
    assert "write the number and its unit apart: `grace_period: 14` and `grace_period_unit: days`" in _hints(
        root, "BR203"
    )


def test_a_missing_document_separator_is_named(tmp_path: Path) -> None:
    root = _rules_with(tmp_path, "organisation/segments.yaml", "\n---\n", "\n\n")
    [hint] = _hints(root, "BR105")
    assert hint == "a new document starts here? separate it from the one above with a line `---`"


def test_a_criteria_section_that_lost_its_indentation_is_told_to_indent(tmp_path: Path) -> None:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "discounts/extra.yaml").write_text(
        "kind: discount\ncode: extra\nname: Extra\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 5}\n"
        "discounted_products: [{product: tv-essentials}]\nvalidity: {effective: 2015-01-01}\n"
        "criteria:\nsubscription:\n  types: [residential-tv]\n",
        encoding="utf-8",
    )
    assert "`subscription` is a criteria section: indent it under `criteria:` (two spaces more)" in _hints(
        root, "BR201"
    )


def test_an_expected_amount_without_its_currency_is_told_to_write_it() -> None:
    from engine.expectations import compare

    [mismatch] = list(compare({"fee": 140}, {"fee": "140.00 EUR"}, ("expect",)))
    assert mismatch.hint == "money is written with its currency: the same amount in EUR is `140.00 EUR`"
    [other] = list(compare({"fee": 150}, {"fee": "140.00 EUR"}, ("expect",)))
    assert other.hint == "money is written with its currency: an amount in EUR is `150.00 EUR`"
    [yaml_number] = list(compare({"fee": 3.0}, {"fee": "3.00 EUR"}, ("expect",)))  # YAML's `3.00`
    assert yaml_number.hint == "money is written with its currency: the same amount in EUR is `3.00 EUR`"
    [text] = list(compare({"code": "x"}, {"code": "y"}, ("expect",)))
    assert text.hint == ""


def test_a_reason_near_a_rules_own_reason_points_at_the_rule_too() -> None:
    # (a rule misspelt `moved_abrod`: the correct scenario was told to write the typo, the rule unnamed)
    from engine import load_rules
    from engine.decide.scenarios import ScenarioError
    from tests.test_audit_twelfth import _pro_rata_cancellation

    scenario = _pro_rata_cancellation()
    scenario["cancellation"]["reason"] = "moved abroad"
    with pytest.raises(ScenarioError) as raised:
        load_rules(REPO / "rules").decide(scenario)
    assert "if the rule is what is misspelt, fix term `commit-24m`'s exceptions at rules/catalog/terms.yaml:" in (
        raised.value.hint
    )


def test_the_field_table_names_a_currency_code_and_each_type_once() -> None:
    from engine.schema_fields import _either, _plain_type

    assert _plain_type({"type": "string", "pattern": "^[A-Z]{3}$"}) == "currency code"
    assert _either(iter(["text or number", "text"])) == "text or number"


def test_a_runs_error_on_stderr_names_the_field_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from engine.cli.main import main

    line = {
        "id": "bad-3",
        "as_of": "2026-03-01T06:00:00Z",
        "subscription": {
            "code": "X",
            "start": "2026-01-01",
            "products": [{"product": "tv-essentials", "price": "39.99"}],
        },
    }
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    main(["run", "--rules", str(REPO / "rules"), "--input", str(source), "--output", str(tmp_path / "out.jsonl")])
    err = capsys.readouterr().err
    assert "field `subscription.products[0].price`: `39.99` is not money" in err, err
    assert err.count("subscription.products[0].price") == 1


def test_diff_says_what_changed_in_a_balance() -> None:
    from engine.diff import changes

    old = {"balance": {"closing": "60", "alerts": [], "refused": []}}
    new = {
        "balance": {
            "closing": "10",
            "alerts": [{"code": "balance_below_threshold", "facts": {"event": "EV-3"}}],
            "refused": [],
        }
    }
    [change] = changes(old, new)
    assert change.detail == "closing 60 → 10; alerts: +balance_below_threshold at EV-3"


# --- review mend (second review of the session's diffs) ---------------------------------------------


def test_an_add_on_added_after_the_period_billed_does_not_reduce_it() -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("discounts/levels_stacked.yaml")
    scenario["as_of"] = "2015-12-01T02:00:00+01:00"
    subscription = scenario["subscription"]
    subscription["billing_period"] = {"from": "2015-11-01", "to": "2015-11-30"}
    subscription["add_ons"] = ["welcome-sports-bundle"]
    subscription["add_on_starts"] = {"welcome-sports-bundle": "2015-12-05"}
    subscription["products"].append({"product": "sports-pack", "bundle": "welcome-sports-bundle"})
    decision = load_rules(REPO / "rules").decide(scenario)
    [found] = [d for d in decision["discounts"]["definitions"] if d["code"] == "welcome-sports-half"]
    assert (found["status"], [r["code"] for r in found["reasons"]]) == ("not_effective", ["starts_later"])


def test_an_undated_granting_add_on_counts_from_the_subscription_s_start() -> None:
    # (since the fifteenth session: an add-on without a date came with the subscription; it left
    # the start to the history, and with none every bill was its first)
    from engine import load_rules
    from engine.decide.discounts import DiscountEvaluator
    from engine.decide.scenarios import validate_scenario
    from tests.test_audit_twelfth import _sample

    rules = load_rules(REPO / "rules")
    scenario = _sample("discounts/levels_stacked.yaml")
    scenario["subscription"]["add_ons"] = ["welcome-sports-bundle", "movies-bundle"]
    scenario["subscription"]["add_on_starts"] = {"movies-bundle": "2015-03-01"}
    model = validate_scenario(scenario, None).scenario
    evaluator = DiscountEvaluator(rules)
    assert evaluator._granted_on(rules.get("discount", "welcome-sports-half"), model) == model.subscription.start
    scenario["subscription"]["add_on_starts"]["welcome-sports-bundle"] = "2015-06-01"
    model = validate_scenario(scenario, None).scenario
    assert str(evaluator._granted_on(rules.get("discount", "welcome-sports-half"), model)) == "2015-06-01"


def test_an_expected_value_that_is_no_finite_number_gets_no_currency_hint() -> None:
    from engine.expectations import compare

    for value in ("sNaN", "NaN", "Infinity"):
        [mismatch] = list(compare({"fee": value}, {"fee": "140.00 EUR"}, ("expect",)))
        assert mismatch.hint == ""


@pytest.mark.parametrize(
    ("written", "hint"), [("14 day", "`grace_period_unit: days`"), ("² days", None), ("14 fortnights", None)]
)
def test_the_split_hint_names_only_a_unit_the_schema_takes(tmp_path: Path, written: str, hint: str | None) -> None:
    root = _rules_with(tmp_path, "catalog/terms.yaml", "  grace_period: 14\n", f"  grace_period: {written}\n")
    hints = " ".join(_hints(root, "BR203"))
    assert ("write the number and its unit apart" in hints) is (hint is not None)
    if hint is not None:
        assert hint in hints


# --- balances and credits: wording ----------------------------------------------------------------


def test_a_refund_of_a_request_whose_debit_was_refused_names_that_debit() -> None:
    from engine import load_rules
    from engine.load import load_file

    [document] = load_file(REPO / "samples/balance/no_overdraft.yaml").documents  # (flow mappings with `:`)
    scenario = {k: v for k, v in document.data.items() if k != "expect"}
    scenario["balance"]["events"].append(
        {
            "id": "EV-3",
            "type": "refund",
            "request": "service-1",
            "reason": "cancelled",
            "at": "2015-09-05T10:00:00+02:00",
        }
    )
    refused = load_rules(REPO / "rules").decide(scenario)["balance"]["refused"]
    [refund] = [r for r in refused if r["code"] == "refund_without_debit"]
    assert refund["facts"]["refused_debit"] == "EV-1"
    assert refund["text"].endswith("nothing was debited for that request before it (its debit `EV-1` was refused)")


# --- purchases: services the subscription holds by its bundles; main-service coupons --------------------


def _add_on_purchase(subscription: dict[str, Any], product: str) -> dict[str, Any]:
    """The purchase part of a scenario whose `subscription` buys `entertainment-pick` choosing `product`."""
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    scenario = _sample("purchase/coupon_already_redeemed.yaml")
    scenario["subscription"] = {"code": "S", "plan": "tv-essentials-24", "start": "2015-02-01", **subscription}
    scenario["purchase"] = {
        "add_ons": ["entertainment-pick"],
        "products": [{"product": product, "bundle": "entertainment-pick"}],
    }
    return load_rules(REPO / "rules").decide(scenario)["purchase"]  # type: ignore[no-any-return]


_MAIN_LINE = {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}


def test_an_add_on_bringing_a_service_a_subscriptions_add_on_holds_is_refused() -> None:
    # (an add-on in `add_ons` only, no line written: its movies pack was sold again)
    part = _add_on_purchase({"add_ons": ["movies-bundle"], "products": [_MAIN_LINE]}, "movies-pack")
    assert part["allowed"] is False
    assert [r["code"] for r in part["reasons"]] == ["add_on_products_had"], part["reasons"]


def test_a_main_service_coupon_entered_with_no_main_service_bought_is_kept(tmp_path: Path) -> None:
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    old = "discounted_products:\n  - product: additional-service"
    root = _rules_with(tmp_path, "discounts/promotions.yaml", old, "discounted_products:\n  - main_service: true")
    scenario = _sample("purchase/coupon_minus_20.yaml")  # buys the additional service alone
    part = load_rules(root).decide(scenario)["purchase"]
    [coupon] = part["coupons"]
    assert (coupon["status"], [r["code"] for r in coupon["reasons"]]) == ("rejected", ["coupon_grants_nothing"])


def test_a_coupon_code_written_as_a_number_is_told_to_quote_it(tmp_path: Path) -> None:
    from engine.decide.scenarios import read_scenarios

    path = tmp_path / "s.yaml"
    path.write_text("id: s\nas_of: 2015-06-01T00:00:00Z\npurchase:\n  add_ons: [movies-bundle]\n  coupons: [0042]\n")
    [item] = read_scenarios(path)
    [found] = item.diagnostics
    assert found.code == "BR602" and 'write it in quotes, as text: "0042"' in found.hint, found


@pytest.mark.parametrize(
    ("old", "new", "code", "hint"),
    [
        ("overdraft: true", "overdraft: yes", "BR203", "write `true` (YAML 1.2 reads `yes` as text)"),
        ("threshold: 20", "threshold: 20 credits", "BR205", "write the number alone: `threshold: 20`"),
    ],
)
def test_a_yaml_11_word_or_a_number_with_its_unit_is_told_how_to_write_it(
    tmp_path: Path, old: str, new: str, code: str, hint: str
) -> None:
    root = _rules_with(tmp_path, "credits/balance_policies.yaml", old, new)
    assert any(hint in h for h in _hints(root, code)), _hints(root, code)


@pytest.mark.parametrize(
    ("organisations", "unreachable"), [("[globex-fr]", True), ("[globex-de-berlin]", False), ("[globex]", False)]
)
def test_a_shared_credit_whose_organisations_no_consumer_has_is_br413(
    tmp_path: Path, organisations: str, unreachable: bool
) -> None:
    # (globex-de's shared credit: globex-de and below draw on it; a consumer's organisations are its own
    # and those above it: globex-fr is none of them)
    marker = "code: globex-de-network-shared"
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "credits/credits.yaml"
    text = path.read_text(encoding="utf-8")
    at = text.index("allocation: all_organisations", text.index(marker))
    end = text.index("\n", at)
    path.write_text(
        text[: end + 1] + f"criteria: {{organisations: {organisations}}}\n" + text[end + 1 :], encoding="utf-8"
    )
    found = [d for d in validate_paths([root]) if d.code == "BR413"]
    assert bool(found) is unreachable, found


def test_a_date_time_part_asked_of_a_record_suggests_its_date_time_field(tmp_path: Path) -> None:
    old = 'when: count(u in usage where u.service_type == "VOD" within 1 month) >= 3'
    new = "when: count(u in usage where u.weekday == friday within 1 month) >= 3"
    root = _rules_with(tmp_path, "discounts/usage.yaml", old, new)
    assert "did you mean `u.at.weekday`?" in _hints(root, "BR502")


# --- review mend (third review of the session's diffs) ---------------------------------------------


def test_a_bundle_held_through_a_line_counts_its_required_services_as_had() -> None:
    lines = [_MAIN_LINE, {"product": "kids-pack", "bundle": "family-bundle"}]
    part = _add_on_purchase({"products": lines}, "docs-pack")
    assert [r["code"] for r in part["reasons"]] == ["add_on_products_had"], part["reasons"]


def test_a_main_service_coupon_counts_only_the_line_priced_as_the_main_service(tmp_path: Path) -> None:
    # (two main services bought: the one charging most is the main service, as the price marks it)
    from engine import load_rules
    from tests.test_audit_twelfth import _sample

    old = "discounted_products:\n  - product: additional-service"
    root = _rules_with(
        tmp_path,
        "discounts/promotions.yaml",
        old,
        "discounted_products:\n  - {product: tv-essentials, main_service: true}",
    )
    scenario = _sample("purchase/coupon_minus_20.yaml")
    scenario["purchase"] = {"plan": "tv-essentials-24", "add_ons": ["tv-premium-bundle"], "coupons": ["coupon_87"]}
    scenario.pop("subscription", None)
    part = load_rules(root).decide(scenario)["purchase"]
    [coupon] = part["coupons"]
    assert (coupon["status"], [r["code"] for r in coupon["reasons"]]) == ("rejected", ["coupon_grants_nothing"])


def test_no_number_alone_hint_for_a_code_field(tmp_path: Path) -> None:
    root = _rules_with(tmp_path, "catalog/plans.yaml", "term: commit-24m", "term: 24 months")
    assert not any("write the number alone" in h for h in _hints(root, "BR205"))


def test_the_scope_reason_names_the_part_out_of_scope() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from engine.decide.credits import CreditFact, Request, _outside_scope

    day = date(2026, 1, 1)
    credit = CreditFact(
        "c", "t", Decimal(1), None, None, "o", day, services=("kaizen-platform",), products=("vod-rental",)
    )
    asked = Request(
        "r", "o", None, frozenset({"t"}), Decimal(1), datetime(2026, 1, 1, tzinfo=UTC), day,
        service="kaizen-platform", product="ppv-event",
    )  # fmt: skip
    reason = _outside_scope(credit, asked)
    assert reason.facts["actual"] == "product ppv-event"
