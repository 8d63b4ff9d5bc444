"""Findings of the tenth session's audits (2026-12-02). Each test is a reduced reproduction of
what an audit found, with the outcome SPEC or README requires."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    return root


def _append(rules: Path, name: str, text: str) -> None:
    path = rules / name
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# --- a discount's `when:` reading the other subject ------------------------------------------------


def test_a_job_discounts_when_needing_the_subscription_is_br403_at_the_name(rules: Path) -> None:
    # (was accepted, and the condition was unknown on every job: the discount never applied)
    _append(
        rules,
        "discounts/installation.yaml",
        '  when: job.segments overlaps {"late-installation"} and subscription.maturity >= 6 months\n',
    )
    found = validate_paths([rules])
    assert [(d.code, d.severity.value, d.column) for d in found] == [("BR403", "error", 57)], found
    assert "a job discount's `when` reads `subscription`, which its bills have not: it never holds" in found[0].message
    assert "classification: subscription" in (found[0].hint or "")


def test_a_dead_branch_under_or_reading_the_other_subject_is_a_warning(rules: Path) -> None:
    # `a and (subscription.x or b)` may hold (by `b`): only that part is dead
    _append(
        rules,
        "discounts/installation.yaml",
        '  when: >-\n    job.segments overlaps {"late-installation"} and\n'
        '    (subscription.maturity >= 6 months or account.classification == "Residential")\n',
    )
    found = validate_paths([rules])
    assert [(d.code, d.severity.value, d.column) for d in found] == [("BR403", "warning", 6)], found
    assert "that part of it never holds" in found[0].message


def test_a_subscription_discounts_when_reading_the_job_is_br403(rules: Path) -> None:
    text = (rules / "discounts/loyalty.yaml").read_text(encoding="utf-8")
    assert "criteria:\n" in text
    (rules / "discounts/loyalty.yaml").write_text(
        text.replace("criteria:\n", "criteria:\n  when: 'job.code != \"J-1\"'\n", 1), encoding="utf-8"
    )
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR403"], found
    assert "a subscription discount's `when` reads `job`" in found[0].message


def test_a_quantifier_variable_named_like_the_other_subject_is_no_finding(rules: Path) -> None:
    _append(
        rules,
        "discounts/installation.yaml",
        "  when: 'any subscription in job.products where subscription.product == \"installation-fee\"'\n",
    )
    # not read as the other subject; only named as a fact of the scenario (BR509, a warning, since
    # the twelfth session)
    assert [(d.code, d.severity.value) for d in validate_paths([rules])] == [("BR509", "warning")]


# --- a commitment ending on the calendar's last day -----------------------------------------------

LAST_DAY_RULE_SET = """\
kind: rule_set
code: last-day
name: Last day
version: "1"
default_currency: EUR
"""

LAST_DAY_TERMS = """\
kind: product
code: svc
name: Service
type: termed
price: 10.00 EUR
billing_frequency: monthly
---
kind: bundle
code: b-main
name: Main
validity: {from: 2000-01-01}
products: [{product: svc}]
---
kind: term
code: cal-3w
name: Three weeks
period: 3
unit: weeks
basis: calendar
early_cancellation: penalty
penalty:
  fee: 1.00 EUR
  pro_rata: true
  grace_period: 0
  grace_period_unit: days
  ledger_account: L1
  invoice_line_type: ILT
  tax: {rate: 19}
---
kind: term
code: na-10m
name: Ten months, no early cancellation
period: 10
unit: months
basis: calendar
early_cancellation: not_allowed
---
kind: plan
code: p-cal-3w
name: P
bundles: [b-main]
validity: {from: 2000-01-01}
term: cal-3w
---
kind: plan
code: p-na-10m
name: P
bundles: [b-main]
validity: {from: 2000-01-01}
term: na-10m
"""


def _cancel(tmp_path: Path, plan: str, start: str, on: str) -> dict:
    from engine import load_rules
    from engine.decide.decision import to_json

    root = tmp_path / "r"
    root.mkdir(exist_ok=True)
    (root / "ruleset.yaml").write_text(LAST_DAY_RULE_SET, encoding="utf-8")
    (root / "rules.yaml").write_text(LAST_DAY_TERMS, encoding="utf-8")
    scenario = {
        "id": "s",
        "as_of": f"{on}T09:00:00Z",
        "account": {"code": "A"},
        "subscription": {"code": "S", "plan": plan, "start": start, "billing_frequency": "monthly"},
        "cancellation": {"date": on},
    }
    return json.loads(to_json(load_rules(root).decide(scenario)))["cancellation"]


def test_a_commitment_ending_on_9999_12_31_ends_in_the_calendar_and_is_shared(tmp_path: Path) -> None:
    # 9999-12-10 + 21 days = 9999-12-31: one day of 21 remains (was "after 9999-12-31", the whole fee)
    (term,) = _cancel(tmp_path, "p-cal-3w", "9999-12-10", "9999-12-30")["terms"]
    assert term["commitment_end"] == "9999-12-31"
    assert term["remaining"] == {"days": 1, "of": 21}
    assert (term["penalty"]["share"], term["penalty"]["fee"], term["penalty"]["total"]) == (
        "1/21",
        "0.05 EUR",
        "0.06 EUR",
    )


def test_a_commitment_ending_after_the_calendar_still_charges_its_maximum(tmp_path: Path) -> None:
    (term,) = _cancel(tmp_path, "p-cal-3w", "9999-12-12", "9999-12-30")["terms"]
    assert term["commitment_end"] == "after 9999-12-31"
    assert (term["penalty"]["share"], term["penalty"]["fee"]) == ("1/1", "1.00 EUR")


def test_not_allowed_until_9999_12_31_names_that_day(tmp_path: Path) -> None:
    # 9999-02-28 + 10 months = 9999-12-28 (a month-end start keeps to the month's last day: 12-31)
    decided = _cancel(tmp_path, "p-na-10m", "9999-02-28", "9999-12-30")
    assert decided["allowed"] is False and decided["earliest"] == "9999-12-31"
    assert decided["terms"][0]["commitment_end"] == "9999-12-31"


# --- cancellations name what remains on every outcome before the commitment's end -----------------


def test_allowed_and_not_allowed_before_the_end_name_what_remains() -> None:
    from engine import load_rules
    from engine.decide.decision import to_json
    from engine.decide.scenarios import read_scenarios

    rules = load_rules(REPO / "rules")
    data = next(read_scenarios(REPO / "samples/cancellation/add_on_not_allowed.yaml")).scenario
    terms = json.loads(to_json(rules.decide(data)))["cancellation"]["terms"]
    sports = next(t for t in terms if t["for"] == "sports-bundle")
    assert sports["outcome"] == "not_allowed" and sports["remaining"] == {"days": 153, "of": 303}
    data = next(read_scenarios(REPO / "samples/cancellation/exception_moved_abroad.yaml")).scenario
    (plan,) = json.loads(to_json(rules.decide(data)))["cancellation"]["terms"]
    assert plan["outcome"] == "allowed" and plan["remaining"] == {"cycles": 14, "of": 24, "frequency": "monthly"}


# --- purchases: coupon facts -------------------------------------------------------------------------

A_PURCHASE = {
    "id": "p",
    "as_of": "2015-07-10T12:00:00Z",
    "account": {"code": "A1", "classification": "Residential"},
}


def _purchase(purchase: dict, **more: object) -> dict:
    from engine import load_rules
    from engine.decide.decision import to_json

    scenario = {**A_PURCHASE, **more, "purchase": purchase}
    return json.loads(to_json(load_rules(REPO / "rules").decide(scenario)))["purchase"]


def test_an_earlier_redemption_of_a_code_no_coupon_generates_is_br624() -> None:
    # (was ignored: `acme-a00f: 2` left the used-up code ACME-A00F redeemable)
    from engine import load_rules
    from engine.decide.scenarios import ScenarioError

    scenario = {
        **A_PURCHASE,
        "purchase": {
            "plan": "tv-essentials-24",
            "coupons": ["ACME-A00F"],
            "coupon_redemptions": {"acme-a00f": 2, "ACME-A00G": 1},
            "payment_method": "card",
        },
    }
    with pytest.raises(ScenarioError) as caught:
        load_rules(REPO / "rules").decide(scenario)
    assert caught.value.code == "BR624" and caught.value.field == "purchase.coupon_redemptions.acme-a00f"
    assert "did you mean `ACME-A00F`?" in caught.value.hint


def test_a_coupon_granting_a_bundle_already_held_is_rejected_and_charges_nothing_twice() -> None:
    subscription = {
        "code": "S1",
        "plan": "tv-essentials-24",
        "start": "2015-02-01",
        "add_ons": ["welcome-sports-bundle"],
        "products": [{"product": "sports-pack", "bundle": "welcome-sports-bundle"}],
    }
    decided = _purchase(
        {"add_ons": ["movies-bundle"], "coupons": ["ACME-A001"], "payment_method": "card"}, subscription=subscription
    )
    (coupon,) = decided["coupons"]
    assert coupon["status"] == "rejected" and [r["code"] for r in coupon["reasons"]] == ["coupon_bundle_held"]
    assert coupon["reasons"][0]["facts"] == {
        "bundle": "welcome-sports-bundle",
        "by": "subscription",
        "holder": "S1",
    }
    assert decided["allowed"] is True
    assert [line["product"] for line in decided["lines"]] == ["movies-pack"]


def test_an_empty_coupon_code_is_unknown_without_a_meaningless_hint() -> None:
    decided = _purchase({"plan": "tv-essentials-24", "coupons": [""], "payment_method": "card"})
    (coupon,) = decided["coupons"]
    assert coupon["reasons"][0]["code"] == "coupon_unknown" and "nearest" not in coupon["reasons"][0]["facts"]
    assert coupon["reasons"][0]["text"] == "no coupon generates the code ``"


# --- an ad hoc discount with one value ----------------------------------------------------------------


def _sample(name: str) -> dict:
    """A sample scenario as the JSON a billing run reads (dates as text), without its expectation."""
    from ruamel.yaml import YAML

    data = json.loads(json.dumps(YAML(typ="safe").load(REPO / "samples" / name), default=str))
    data.pop("expect", None)
    return data


def test_a_request_on_a_range_of_one_value_needs_no_value(tmp_path: Path) -> None:
    # seed 002 scenario 2 as an agent enters it: "adds the 50 % discount" (was rejected: no value)
    from engine import load_rules
    from engine.decide.decision import to_json

    data = _sample("discounts/installation_half_requested_approved.yaml")
    data["requested_discounts"][0].pop("value")
    decided = json.loads(to_json(load_rules(REPO / "rules").decide(data)))["discounts"]
    half = next(d for d in decided["definitions"] if d["code"] == "installation-complaint-half")
    assert (half["status"], half["amount"]) == ("applied", "40.00 EUR")


def test_an_ad_hoc_discount_with_a_fixed_value_is_br404(rules: Path) -> None:
    # SPEC 3.2: "for ad hoc a `range: [min, max]` instead of a value"; the hint names the range of one value
    path = rules / "discounts/installation.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  range: [50, 50]\n", "  value: 50\n"), encoding="utf-8")
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR404"], found
    assert "[50, 50]" in (found[0].hint or "")


# --- scenario credits: their scope checked as a rule file's ------------------------------------------


@pytest.mark.parametrize(
    ("scope", "code", "where", "words"),
    [
        ({"services": ["network-ofer"]}, "BR302", "credits[0].scope.services[0]", "unknown service `network-ofer`"),
        ({"services": ["e-mail"]}, "BR413", "credits[0].scope.services", "which these services leave out"),
        ({"products": ["tv-premum"]}, "BR302", "credits[0].scope.products[0]", "unknown product `tv-premum`"),
    ],
)
def test_a_scenario_credits_scope_is_checked_as_a_rule_files(scope: dict, code: str, where: str, words: str) -> None:
    # (each was accepted, and the credit was never drawn, or drawn for a product that does not exist)
    from engine import load_rules
    from engine.decide.scenarios import ScenarioError

    scenario = {
        "id": "c",
        "as_of": "2015-04-15T09:00:00+02:00",
        "credits": [
            {
                "code": "extra",
                "type": "network-offer",
                "quantity": 5,
                "holder": "globex-de",
                "issued": "2015-01-01",
                "allocation": "this_organisation",
                "scope": scope,
            }
        ],
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-de",
                "credit_type": "network-offer",
                "quantity": 1,
                "at": "2015-04-15T09:00:00+02:00",
            }
        ],
    }
    with pytest.raises(ScenarioError) as caught:
        load_rules(REPO / "rules").decide(scenario)
    assert (caught.value.code, caught.value.field) == (code, where)
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("option", "restriction"), [("flexible_start: true", "latest_start"), ("flexible_end: true", "max_length")]
)
def test_a_duration_restriction_without_its_flexible_option_is_br418(
    rules: Path, option: str, restriction: str
) -> None:
    path = rules / "discounts/customer_care.yaml"
    text = path.read_text(encoding="utf-8")
    assert f"  {option}\n" in text
    path.write_text(text.replace(f"  {option}\n", "", 1), encoding="utf-8")
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR418"], found
    assert f"`{restriction}` restricts the date an agent chooses" in found[0].message


def test_explain_says_so_when_no_credit_is_held_in_the_consumers_tree(
    rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.main import main

    _append(rules, "credits/organisations.yaml", "---\nkind: organisation\ncode: initech\nname: Initech\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "id: why-empty\nas_of: 2015-04-15T09:00:00+02:00\nconsumptions:\n"
        "  - {id: R1, organisation: initech, credit_type: network-offer, quantity: 1, at: 2015-04-15T09:00:00+02:00}\n",
        encoding="utf-8",
    )
    main(["decide", "--rules", str(rules), "--explain", str(scenario)])
    out = capsys.readouterr().out
    assert "why, for R1:\n  no credit is held in the consumer's organisation tree (or by the consumer)\n" in out


def test_a_coupon_granting_a_bundle_the_purchase_buys_grants_nothing_and_keeps_its_use() -> None:
    decided = _purchase(
        {"plan": "tv-essentials-24", "add_ons": ["welcome-sports-bundle"], "coupons": ["ACME-A001"]},
    )
    (coupon,) = decided["coupons"]
    # the code sells the add-on only a code sells (until 2026-12-03 rejected, coupon_bundle_held: s24 fC)
    assert decided["allowed"] is True and coupon["status"] == "redeemed"
    assert [line["product"] for line in decided["lines"]].count("sports-pack") == 1


# --- a review of the session's changes -----------------------------------------------------------------


def test_an_allowed_outcome_in_billing_cycles_needs_no_billing_frequency() -> None:
    # naming what remains must not ask for the frequency only a penalty needs (was BR616)
    from engine import load_rules
    from engine.decide.decision import to_json

    data = _sample("cancellation/exception_moved_abroad.yaml")
    data["subscription"].pop("billing_frequency")
    data["subscription"].pop("billing_term_scheme")
    # (a frequency its products share is read since 2026-12-02: here one line monthly, one yearly)
    data["subscription"]["products"].append({"product": "tv-essentials-annual"})
    (plan,) = json.loads(to_json(load_rules(REPO / "rules").decide(data)))["cancellation"]["terms"]
    assert plan["outcome"] == "allowed" and "remaining" not in plan


def test_a_range_of_one_value_written_two_ways_needs_no_value(rules: Path) -> None:
    from engine import load_rules
    from engine.decide.decision import to_json

    path = rules / "discounts/installation.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("range: [50, 50]", "range: [50, 50.0]"), encoding="utf-8")
    data = _sample("discounts/installation_half_requested_approved.yaml")
    data["requested_discounts"][0].pop("value")
    decided = json.loads(to_json(load_rules(rules).decide(data)))["discounts"]
    half = next(d for d in decided["definitions"] if d["code"] == "installation-complaint-half")
    assert (half["status"], half["amount"]) == ("applied", "40.00 EUR")


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("MINUS 20", "`MINUS 20` names coupon `minus-20`; list its codes (coupon_87 … coupon_91)"),
        ("", "list the codes as the coupons generate them"),
        (" coupon_88", "did you mean `coupon_88`?"),
    ],
)
def test_br624_hints_name_what_was_meant(key: str, hint: str) -> None:
    from engine import load_rules
    from engine.decide.scenarios import ScenarioError

    scenario = {**A_PURCHASE, "purchase": {"plan": "tv-essentials-24", "coupon_redemptions": {key: 1}}}
    with pytest.raises(ScenarioError) as caught:
        load_rules(REPO / "rules").decide(scenario)
    assert caught.value.code == "BR624" and caught.value.hint == hint


def test_br418_on_auto_apply_does_not_ask_for_a_flexible_option(rules: Path) -> None:
    path = rules / "discounts/installation.yaml"
    text = path.read_text(encoding="utf-8")
    marker = "code: installation-late-20-off\n"
    assert marker in text and "duration:" not in text.split(marker)[1]
    path.write_text(text + "duration: {indefinite: true, latest_start: 1 month}\n", encoding="utf-8")
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR418"] and found[0].hint == "remove `latest_start`", found


# --- checks that depend on a literal's value, for texts of one shape -----------------------------------


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        ("count(usage within 2 days) >= 1", "count(usage within 0 days) >= 1", "BR503"),
        ("sum(usage.quantity) / 2 > 1", "sum(usage.quantity) / 0 > 1", "BR505"),
    ],
)
def test_a_value_error_is_found_after_a_text_of_the_same_shape(rules: Path, first: str, second: str, code: str) -> None:
    # (the second text was made from the first's typed tree, and passed)
    path = rules / "discounts/installation.yaml"
    text = path.read_text(encoding="utf-8")
    head = "criteria:\n  products:\n    - product: installation-fee\n---"
    assert head in text
    text = text.replace(head, f"criteria:\n  when: '{first}'\n  products:\n    - product: installation-fee\n---", 1)
    path.write_text(text + f"  when: '{second}'\n", encoding="utf-8")
    found = validate_paths([rules])
    assert [d.code for d in found] == [code], found


# --- a free period's share is exact ----------------------------------------------------------------------

FIVE_DAYS_FREE = """\
---
kind: discount
code: five-days-free
name: Five days free
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: free_period, value: 5, unit: days}
discounted_products: [{product: docs-pack}]
validity: {effective: 2015-01-01}
"""


def test_a_free_share_on_a_rounding_boundary_rounds_as_the_exact_amount(rules: Path) -> None:
    # 5 days of February's 28: 0.14 EUR x 5/28 = 0.025 exactly, half up 0.03 (was 0.02: 5/28 was
    # divided out first, and 0.14 x 0.178571... fell short of 0.025); 418.404 x 5/28 = 74.715 -> 74.72
    from engine import load_rules
    from engine.decide.decision import to_json

    _append(rules, "discounts/promotions.yaml", FIVE_DAYS_FREE)
    scenario = {
        "id": "feb",
        "as_of": "2015-03-01T02:00:00Z",
        "subscription": {
            "code": "S1",
            "start": "2015-02-01",
            "billing_frequency": "monthly",
            "billing_period": {"from": "2015-02-01", "to": "2015-02-28"},
            "products": [
                {"product": "docs-pack", "price": "0.028 EUR"},
                {"product": "docs-pack", "price": "0.14 EUR"},
                {"product": "docs-pack", "price": "418.404 EUR"},
            ],
        },
    }
    lines = json.loads(to_json(load_rules(rules).decide(scenario)))["discounts"]["lines"]
    taken = [next(d["amount"] for d in line["discounts"] if d["code"] == "five-days-free") for line in lines]
    assert taken == ["-0.01 EUR", "-0.03 EUR", "-74.72 EUR"]


def test_a_day_window_time_with_a_fraction_of_a_second_is_br207(rules: Path) -> None:
    # (was cut to the second: a window from 19:00:00.5 let in usage at 19:00:00.2)
    path = rules / "discounts/usage.yaml"
    text = path.read_text(encoding="utf-8")
    old = '{day: friday, from: "19:00:00", to: "23:59:59"}'
    assert old in text
    path.write_text(text.replace(old, '{day: friday, from: "19:00:00.5", to: "23:59:59"}'), encoding="utf-8")
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR207"], found
    assert "a day window's times are whole seconds" in found[0].message


def test_a_comment_inside_a_folded_when_block_is_br501(rules: Path) -> None:
    # YAML folds `>` lines into one: the comment swallowed the lines after it, typo and all
    _append(
        rules,
        "discounts/installation.yaml",
        "  when: >\n"
        '    account.classification == "Residential"   # residential customers only\n'
        '    and account.clasification == "SME"\n',
    )
    found = validate_paths([rules])
    assert [(d.code, d.line) for d in found] == [("BR501", found[0].line)] and "YAML folds into one line" in found[
        0
    ].message
    assert "`when: |`" in (found[0].hint or "")


def test_a_comment_on_the_last_line_of_a_folded_block_or_in_a_literal_block_is_fine(rules: Path) -> None:
    _append(
        rules,
        "discounts/installation.yaml",
        '  when: >\n    account.classification == "Residential"\n    or job.code == "x#1"   # the last line\n',
    )
    assert validate_paths([rules]) == []


@pytest.mark.parametrize(
    ("first", "second", "found"),
    [
        ("account.due_in_days between 10 and 30", "account.due_in_days between 30 and 10", ["BR413"]),
        ("account.due_in_days between -3 and -1", "account.due_in_days between -1 and -3", ["BR413"]),
        ("as_of.date between 2015-01-01 and 2015-12-31", "as_of.date between 2016-01-01 and 2015-01-01", ["BR413"]),
        # a window across midnight is no inverted range
        ("account.due_in_days >= 0", "any u in usage where u.at.time between 22:00 and 06:00", []),
    ],
)
def test_a_between_written_upside_down_in_a_when_is_br413(rules: Path, first: str, second: str, found: list) -> None:
    # (was accepted: it never holds, where the same range in a section is BR413)
    path = rules / "discounts/installation.yaml"
    text = path.read_text(encoding="utf-8")
    head = "criteria:\n  products:\n    - product: installation-fee\n---"
    text = text.replace(head, f"criteria:\n  when: '{first}'\n  products:\n    - product: installation-fee\n---", 1)
    path.write_text(text + f"  when: '{second}'\n", encoding="utf-8")
    assert [d.code for d in validate_paths([rules])] == found


@pytest.mark.parametrize(
    "when",
    [
        # a literal block keeps its line ends: each comment ends with its line
        '  when: |\n    account.classification == "Residential"   # residential only\n    or job.code == "x"   # or x\n',
        # only comment lines after the comment: nothing of the expression is lost
        '  when: >\n    account.classification == "Residential"   # note:\n    # more of the note\n',
    ],
)
def test_comments_that_lose_no_expression_are_fine(rules: Path, when: str) -> None:
    _append(rules, "discounts/installation.yaml", when)
    assert validate_paths([rules]) == []


def test_a_comment_in_a_quoted_when_over_several_lines_is_br501(rules: Path) -> None:
    _append(
        rules,
        "discounts/installation.yaml",
        "  when: \"account.classification == 'Residential'  # c\n    and account.clasification == 'SME'\"\n",
    )
    assert [d.code for d in validate_paths([rules])] == ["BR501"]


@pytest.mark.parametrize(
    ("when", "severity"),
    [
        # a `count … where` skips the items it cannot answer: the count is known, the when may hold
        ("count(p in job.products where p.quantity > 3 and subscription.maturity < 6 months) <= 1", "warning"),
        # a list that is missing has no count, and a `not` of an unknown is unknown
        ("count(p in subscription.products) == 0", "error"),
        ("not subscription.maturity >= 6 months", "error"),
        # a `not` of a conjunction that another operand makes false may hold
        ('not (subscription.maturity >= 6 months and account.classification == "Business")', "warning"),
    ],
)
def test_br403_is_an_error_only_where_the_when_can_never_hold(rules: Path, when: str, severity: str) -> None:
    _append(rules, "discounts/installation.yaml", f"  when: '{when}'\n")
    found = [d for d in validate_paths([rules]) if d.code != "BR508"]  # (a condition in a `where` not reading it)
    assert [(d.code, d.severity.value) for d in found] == [("BR403", severity)], found


def test_a_coupon_granting_a_bundle_of_the_subscriptions_plan_grants_nothing(rules: Path) -> None:
    # a purchase without `plan` adds to the subscription: its plan's bundles are held, for coupons
    # as for add-ons (was: the code redeemed, its use spent, and the bundle charged again)
    from engine import load_rules
    from engine.decide.decision import to_json

    _append(
        rules,
        "catalog/coupons.yaml",
        "---\nkind: coupon\ncode: es-coupon\nname: ES\nprovider: ACME\ncharset: numeric\n"
        'template: "ES-###"\nquantity: 5\nredemption_quantity: 1\nrange_start: 1\n'
        "bundle: tv-essentials-bundle\nvalidity: {from: 2015-01-01}\n",
    )
    subscription = {"code": "S1", "plan": "tv-essentials-24", "start": "2015-02-01"}
    scenario = {
        **A_PURCHASE,
        "subscription": subscription,
        "purchase": {"add_ons": ["movies-bundle"], "coupons": ["ES-001"], "payment_method": "card"},
    }
    decided = json.loads(to_json(load_rules(rules).decide(scenario)))["purchase"]
    (coupon,) = decided["coupons"]
    assert coupon["status"] == "rejected" and coupon["reasons"][0]["facts"] == {
        "bundle": "tv-essentials-bundle",
        "by": "plan",
        "holder": "tv-essentials-24",
    }
    assert [line["product"] for line in decided["lines"]] == ["movies-pack"]


def test_a_sentence_about_a_day_past_the_calendar_reads_right(tmp_path: Path) -> None:
    (term,) = _cancel(tmp_path, "p-cal-3w", "9999-12-12", "9999-12-30")["terms"]
    texts = [r["text"] for r in term["reasons"]]
    assert "`cal-3w` charges a penalty for cancelling before its end, after 9999-12-31" in texts
    assert not any("before after" in t or "on after" in t or "from after" in t for t in texts)
