"""Findings of the seventeenth session's audits (2026-12-02), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _with_type_criteria(tmp_path: Path, criteria: str) -> Path:
    """The shipped rules with `criteria` (YAML lines) on the credit type `sms-credits`."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "credits" / "credit_types.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("unit: text messages\nmeasure: amount\n", f"unit: text messages\nmeasure: amount\n{criteria}", 1),
        encoding="utf-8",
    )
    return root


# --- a list in an explanation is shown in its own order; a type's criterion names the credit ---


def test_a_credit_type_s_failing_criterion_names_the_credit_and_the_list_in_order(tmp_path: Path) -> None:
    """`consumer.organisations` is nearest first (README); it was shown sorted (`["globex",
    "globex-fr"]`), and a type's criterion failing for two credits read as one line said twice."""
    from engine import load_rules

    rules = load_rules(_with_type_criteria(tmp_path, "criteria:\n  organisations: [globex-de]\n"))
    scenario = {
        "id": "order",
        "as_of": "2015-05-12T16:00:00+02:00",
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-fr",
                "credit_type": "sms-credits",
                "quantity": 1,
                "at": "2015-05-12T10:00:00+02:00",
            }
        ],
    }
    (refused,) = rules.decide(scenario)["credits"]["refused"]
    (reason,) = [r for r in refused["reasons"] if r["code"] == "criteria_not_met"]
    assert reason["text"] == (
        "credit `globex-fr-sms`: criterion of credit type `sms-credits` does not hold: "
        '`consumer.organisations overlaps {"globex-de"}` '
        '(consumer.organisations = ["globex-fr", "globex"] does not overlap {"globex-de"})'
    ), reason["text"]
    assert reason["facts"]["credit"] == "globex-fr-sms"


def test_a_set_is_still_shown_sorted() -> None:
    from engine.criteria.explain import show

    assert show(frozenset({"b", "a"})) == '{"a", "b"}'
    assert show(["b", "a"]) == '["b", "a"]'
    assert show(("b", "a")) == '["b", "a"]'


# --- a coupon whose discount would not apply is rejected and kept, not spent for 0.00 -------------


def _minus_20(**changes: object) -> dict[str, object]:
    from tests.test_questions import _yaml

    scenario = dict(_yaml(REPO / "samples" / "purchase" / "coupon_minus_20.yaml"))  # type: ignore[call-overload]
    del scenario["expect"]
    scenario.update(changes)
    return scenario


def _coupon(decided: dict[str, object]) -> dict[str, object]:
    (coupon,) = decided["purchase"]["coupons"]  # type: ignore[index]
    return coupon  # type: ignore[no-any-return]


def test_a_coupon_whose_discount_s_criteria_fail_is_kept(tmp_path: Path) -> None:
    """SPEC 3.5 / seed 003: a coupon grants a discounted price; README: a code whose bundle grants
    nothing is rejected and kept. The MINUS 20 discount limited to business accounts, bought by a
    residential one: the single-use code was redeemed (spent) for a discount of 0.00."""
    from engine import load_rules

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "discounts" / "promotions.yaml"
    text = path.read_text(encoding="utf-8")
    marker = "duration:\n  billing_periods: 1\n---\nkind: discount\ncode: welcome-sports-half"
    assert marker in text
    path.write_text(
        text.replace(marker, 'criteria:\n  when: account.classification == "Business"\n' + marker, 1), encoding="utf-8"
    )
    rules = load_rules(root)
    for reasons in ("detailed", "brief"):
        decided = (rules if reasons == "detailed" else rules.brief()).decide(_minus_20())
        coupon = _coupon(decided)
        assert coupon["status"] == "rejected", coupon
        (reason,) = coupon["reasons"]  # type: ignore[misc]
        assert reason["code"] == "coupon_grants_nothing"
        assert reason["facts"]["statuses"] == {"coupon-minus-20": "not_eligible"}, reason
        assert (
            "none of its discounts takes anything from it (`coupon-minus-20`: not eligible): the code is kept"
            in reason["text"]
        )
        assert decided["purchase"]["price"] == {
            "USD": {"gross": "10.00 USD", "discount": "0.00 USD", "net": "10.00 USD"}
        }


def test_a_coupon_whose_discount_ran_already_is_kept(tmp_path: Path) -> None:
    """The MINUS 20 discount runs one billing period; a history says it ran from June: a new
    code cannot start it again, so it is kept (it was redeemed for 0.00)."""
    from engine import load_rules

    scenario = _minus_20(discount_history=[{"discount": "coupon-minus-20", "on": "2015-06-01"}])
    coupon = _coupon(load_rules(REPO / "rules").decide(scenario))
    assert coupon["status"] == "rejected", coupon
    assert coupon["reasons"][0]["facts"]["statuses"] == {"coupon-minus-20": "not_effective"}  # type: ignore[index]


def test_a_coupon_whose_discount_applies_is_still_redeemed() -> None:
    from engine import load_rules

    coupon = _coupon(load_rules(REPO / "rules").decide(_minus_20()))
    assert (coupon["status"], coupon["bundle"]) == ("redeemed", "minus-20-bundle"), coupon


# --- a currency's "did you mean" names the currency people mean, one in use today -----------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("YEN", "JPY"),  # was the Yemeni rial, YER
        ("SFR", "CHF"),  # was the Soviet rouble, SUR, which then validated
        ("RMB", "CNY"),  # was RUB
        ("RUX", "RUB"),  # one letter from the rouble in use and from the historic RUR: the one in use
        ("UAX", "UAH"),  # not the historic karbovanets, UAK
        ("EUX", "EUR"),  # (as before)
        ("GPB", "GBP"),  # (as before)
    ],
)
def test_a_currency_s_suggestion_is_the_one_meant(tmp_path: Path, written: str, meant: str) -> None:
    from engine.values import MINOR_UNITS, nearest_currency
    from tests.test_questions import run_cli

    assert nearest_currency(written, list(MINOR_UNITS)) == meant
    (tmp_path / "ruleset.yaml").write_text(
        "kind: rule_set\ncode: t\nname: T\nversion: '1'\ndefault_currency: CHF\n", encoding="utf-8"
    )
    (tmp_path / "p.yaml").write_text(
        f"kind: product\ncode: p\nname: P\ntype: termed\nprice: 19.90 {written}\nbilling_frequency: monthly\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(["validate", str(tmp_path)])
    assert code == 1 and f"did you mean `{meant}`?" in out + err, out + err


# --- coverage counts a condition a purchase's price judged ------------------------------------


def test_coverage_counts_what_a_purchase_s_price_judged(tmp_path: Path) -> None:
    """`pick-kids-half` applies to the purchase of flexible_pick_kids_half.yaml (its `products`
    section holds there): coverage said its condition "never held" beside "applied 1"."""
    import json

    from tests.test_questions import run_cli

    out_file = tmp_path / "coverage.json"
    sample = REPO / "samples" / "purchase" / "flexible_pick_kids_half.yaml"
    code, out, err = run_cli(["test", "--rules", str(REPO / "rules"), str(sample), "--coverage-json", str(out_file)])
    assert code == 0, out + err
    coverage = json.loads(out_file.read_text(encoding="utf-8"))
    (statuses,) = [d["statuses"] for d in coverage["definitions"] if d["code"] == "pick-kids-half"]
    assert statuses.get("applied") == 1, statuses
    (condition,) = [c for c in coverage["conditions"] if c["owner"] == "discount:pick-kids-half"]
    assert condition["held"] == 1, condition


# --- a bare number requested of a money range is told in the range's currency -------------------


def _retention_offer_refused(value: object) -> list[str]:
    """The reason texts of `retention-offer` requested with `value`, which it rejects."""
    from engine import load_rules
    from tests.test_questions import _yaml

    scenario = dict(_yaml(REPO / "samples" / "discounts" / "retention_offer_approved.yaml"))  # type: ignore[call-overload]
    del scenario["expect"]
    scenario["requested_discounts"] = [{**scenario["requested_discounts"][0], "value": value}]
    decided = load_rules(REPO / "rules").decide(scenario)
    (result,) = [d for d in decided["discounts"]["definitions"] if d["code"] == "retention-offer"]
    assert result["status"] == "rejected", result
    return [r["text"] for r in result["reasons"]]


@pytest.mark.parametrize("value", [10, "10", "10.5"])
def test_a_bare_number_requested_of_a_money_range_is_told_its_currency(value: object) -> None:
    texts = _retention_offer_refused(value)
    assert f"requested value `{value}` is not money: write it with the range's currency, `{value} EUR`" in texts, texts


# --- BR607's hint gives the month of the scenario's as_of ------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_bill_without_its_period_is_hinted_in_its_own_month(tmp_path: Path, suffix: str) -> None:
    """The hint's example was June 2015 whatever the bill's date (a 2026 bill was shown a 2015 period)."""
    import json

    from tests.test_audit_fifteenth import _bill
    from tests.test_questions import run_cli

    bill = _bill(False)
    bill["as_of"] = "2026-02-10T06:00:00Z"
    path = tmp_path / f"bill{suffix}"
    path.write_text(json.dumps(bill) + "\n", encoding="utf-8")
    code, out, err = run_cli(["validate", "--rules", str(REPO / "rules"), "--scenarios", str(path)])
    assert code == 0 and "warning[BR607]" in out + err, out + err
    assert "`billing_period: {from: 2026-02-01, to: 2026-02-28}`" in out + err, out + err


# --- a credit a user holds is not said to be "allocated to this organisation only" ---------------


def test_a_credit_a_user_holds_is_the_credit_owner_s_own_in_the_why() -> None:
    from engine import load_rules

    at = "2015-05-12T10:00:00+02:00"
    period = {"from": "2015-01-01", "to": "2015-12-31"}
    scenario = {
        "id": "owner-why",
        "as_of": "2015-05-12T16:00:00+02:00",
        "credits": [
            # John's own, expiring after Globex France's: ranked second, before the shared one
            {
                "code": "john-own",
                "type": "email-credits",
                "quantity": 5,
                "holder": "john",
                "issued": "2015-01-01",
                "usage_period": {"from": "2015-01-01", "to": "2016-06-30"},
            },
            {
                "code": "globex-shared",
                "type": "email-credits",
                "quantity": 50,
                "holder": "globex",
                "allocation": "all_organisations",
                "usage_period": period,
                "issued": "2015-01-01",
            },
        ],
        "consumptions": [{"id": "R1", "user": "peter", "credit_type": "email-credits", "quantity": 10020, "at": at}],
    }
    decided = load_rules(REPO / "rules").decide(scenario, explain=True)
    (why,) = decided["credits"]["why"]
    (shared,) = [c["verdict"] for c in why["credits"] if c["credit"] == "globex-shared"]
    facts = shared["facts"]
    assert (facts["after"], facts["decided_by"], facts["before_value"]) == (
        "john-own",
        "allocation",
        "the credit owner's own",
    )
    assert (
        "after `john-own`, which is the credit owner's own (held by a user; shared credits come after)"
        in shared["text"]
    )


# --- an amount written with fewer digits than its currency's is shown with them ----------------------


def test_a_price_written_without_its_minor_digits_is_shown_with_them() -> None:
    """A job's lines priced `80 EUR` and `7.5 EUR`: their gross read `80 EUR` and `7.5 EUR` (the
    totals `87.5 EUR`) beside nets of `80.00 EUR` and `7.50 EUR`."""
    from engine import load_rules

    scenario = {
        "id": "coarse",
        "as_of": "2015-06-10T10:00:00+02:00",
        "account": {"code": "A1", "classification": "Residential"},
        "job": {
            "code": "J1",
            "products": [
                {"product": "technician-visit", "price": "80 EUR"},
                {"product": "technician-visit", "price": "7.5 EUR"},
                {"product": "technician-visit", "price": "0.125 EUR"},  # finer: kept as written
            ],
        },
    }
    part = load_rules(REPO / "rules").decide(scenario)["discounts"]
    assert [(x["gross"], x["net"]) for x in part["lines"]] == [
        ("80.00 EUR", "80.00 EUR"),
        ("7.50 EUR", "7.50 EUR"),
        ("0.125 EUR", "0.125 EUR"),
    ], part["lines"]
    assert part["totals"]["EUR"]["gross"] == "87.625 EUR", part["totals"]


def test_a_penalty_s_maximum_written_without_its_minor_digits_is_shown_with_them(tmp_path: Path) -> None:
    from engine import load_rules
    from tests.test_questions import _yaml

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    terms = root / "catalog" / "terms.yaml"
    terms.write_text(
        terms.read_text(encoding="utf-8").replace("  fee: 240.00 EUR", "  fee: 240 EUR", 1), encoding="utf-8"
    )
    scenario = dict(_yaml(REPO / "samples" / "cancellation" / "pro_rata_penalty.yaml"))  # type: ignore[call-overload]
    del scenario["expect"]
    terms_decided = load_rules(root).decide(scenario)["cancellation"]["terms"]
    maxima = {t["penalty"]["maximum"] for t in terms_decided if t.get("term") == "commit-24m" and t.get("penalty")}
    assert maxima == {"240.00 EUR"}, terms_decided


# --- a coupon granting nothing: every entry kept, later codes judged without it ---------------------


def _rules_copy(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("codes", [["coupon_87", "coupon_87"], ["coupon_87", "coupon_88"]])
def test_every_entry_of_codes_granting_nothing_is_kept_for_that_reason(codes: list[str]) -> None:
    """The discount's run spent: the first entry was kept as granting nothing, the later ones
    rejected as "granted already by coupon_87" or "used up", an earlier redemption that never was."""
    from engine import load_rules

    scenario = _minus_20(discount_history=[{"discount": "coupon-minus-20", "on": "2015-06-01"}])
    scenario["purchase"] = {**scenario["purchase"], "coupons": codes}  # type: ignore[dict-item]
    coupons = load_rules(REPO / "rules").decide(scenario)["purchase"]["coupons"]
    assert [(c["status"], [r["code"] for r in c["reasons"]]) for c in coupons] == [
        ("rejected", ["coupon_grants_nothing"])
    ] * 2, coupons


@pytest.mark.parametrize(
    ("value", "status", "redeemed"),
    [(20, "pending_approval", True), (50, "rejected", False), (None, "not_eligible", False)],
)
def test_a_coupon_whose_discount_waits_for_approval_is_redeemed(
    tmp_path: Path, value: int | None, status: str, redeemed: bool
) -> None:
    """An ad hoc discount the coupon grants, requested, pending approval: the code stays redeemed
    and the pending discount is in the decision (it was rejected as granting nothing); a request
    rejected (a value outside the range) or none at all: the code is kept, not spent for 0.00."""
    from engine import load_rules

    root = _rules_copy(tmp_path)
    promotions = root / "discounts" / "promotions.yaml"
    text = promotions.read_text(encoding="utf-8")
    start = text.index("code: coupon-minus-20")
    head, tail = text[:start], text[start:]
    tail = tail.replace("type: auto_apply", "type: ad_hoc", 1)
    tail = tail.replace("  value: 20\n  level: 1\n", "  range: [10, 20]\n", 1)
    tail = tail.replace(
        "duration:\n  billing_periods: 1\n",
        "duration:\n  billing_periods: 1\napproval:\n  required: true\n  users: [max.manager]\n",
        1,
    )
    promotions.write_text(head + tail, encoding="utf-8")
    requests = [] if value is None else [{"discount": "coupon-minus-20", "value": value, "added_on": "2015-07-10"}]
    # (no request and no agent: `not_eligible`, reason `not_requested`; an agent and no request is `offered`, still open)
    agent = {"agent": {"user": "rita.retention", "units": ["retention-team"]}} if value is not None else {}
    scenario = _minus_20(requested_discounts=requests, **agent)
    decided = load_rules(root).decide(scenario)["purchase"]
    coupon = _coupon({"purchase": decided})
    if redeemed:
        assert coupon["status"] == "redeemed", decided["coupons"]
        assert [(d["code"], d["status"]) for d in decided["discounts"]] == [("coupon-minus-20", status)]
    else:
        assert coupon["status"] == "rejected", coupon
        assert coupon["reasons"][0]["facts"]["statuses"] == {"coupon-minus-20": status}  # type: ignore[index]


def test_a_coupon_whose_discount_applies_for_nothing_is_kept(tmp_path: Path) -> None:
    """Another discount takes the add-on whole first: the coupon's applies for 0.00, and its
    single-use code was spent for it."""
    from engine import load_rules

    root = _rules_copy(tmp_path)
    bundles = root / "catalog" / "bundles.yaml"
    text = bundles.read_text(encoding="utf-8")
    start = text.index("code: additional-service-bundle")
    end = text.find("\n---", start)
    block = text[start:end] + "\ndiscounts: [as-free]"
    bundles.write_text(text[:start] + block + text[end:], encoding="utf-8")
    _edit(root / "discounts" / "promotions.yaml", "  value: 20\n  level: 1\n", "  value: 20\n  level: 2\n")
    (root / "discounts" / "as_free.yaml").write_text(
        "kind: discount\ncode: as-free\nname: AS free\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount:\n  type: percentage\n  value: 100\n  level: 1\n"
        "discounted_products:\n  - product: additional-service\nvalidity:\n  effective: 2015-01-01\n",
        encoding="utf-8",
    )
    coupon = _coupon(load_rules(root).decide(_minus_20()))
    assert coupon["status"] == "rejected", coupon
    (reason,) = coupon["reasons"]  # type: ignore[misc]
    assert reason["facts"]["statuses"] == {"coupon-minus-20": "applied_for_nothing"}, reason
    assert "(`coupon-minus-20`: applied, taking nothing)" in reason["text"]


# --- a bundle a plan lists twice is cancelled once -----------------------------------------------


def test_a_bundle_listed_twice_in_a_plan_is_cancelled_once(tmp_path: Path) -> None:
    from engine import load_rules
    from tests.test_questions import _yaml

    root = _rules_copy(tmp_path)
    plans = root / "catalog" / "plans.yaml"
    _edit(
        plans,
        "bundles: [tv-essentials-bundle, on-demand-bundle]\n",
        "bundles: [tv-essentials-bundle, on-demand-bundle, entertainment-pick, entertainment-pick]\n",
    )
    scenario = dict(_yaml(REPO / "samples" / "cancellation" / "pro_rata_penalty.yaml"))  # type: ignore[call-overload]
    del scenario["expect"]
    terms = load_rules(root).decide(scenario)["cancellation"]["terms"]
    assert [t["for"] for t in terms] == ["plan", "entertainment-pick"], terms  # (it was charged twice)


@pytest.mark.parametrize(
    "value", ["+10", "-10", "10.555", "9" * 65, "1234567890123456", "10.50000000000", "\u0661\u0660"]
)
def test_no_money_is_suggested_that_a_request_may_not_give(value: str) -> None:
    texts = _retention_offer_refused(value)
    assert not any("range's currency" in text for text in texts), texts


# --- the pre-commit hook: a deleted ruleset.yaml, a file named like an option, two rule sets ------


@pytest.mark.parametrize("given", [(), ("rules/discounts/customer_care.yaml",)])
def test_a_hook_in_a_rules_folder_without_its_ruleset_fails(tmp_path: Path, given: tuple[str, ...]) -> None:
    """A commit deleting rules/ruleset.yaml made every rule file "outside" a rule set, which the
    hook leaves alone: it passed, and every commit after it, with errors in the rule files."""
    from tests.test_tools_audit import _billrules

    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "ruleset.yaml").unlink()
    done = _billrules("validate", "--ignore-outside", *given, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error[BR110] folder `rules/` holds" in done.stdout and "no ruleset.yaml" in done.stdout, done.stdout
    # a repository without any rule folder still passes a hook's commit (nothing to check)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _billrules("validate", "--ignore-outside", cwd=empty).returncode == 0


def test_a_hook_given_a_yaml_file_named_like_an_option_leaves_it_alone(tmp_path: Path) -> None:
    from tests.test_tools_audit import _billrules

    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "-notes.yaml").write_text("a: 1\n", encoding="utf-8")
    (tmp_path / "--help.yaml").write_text("a: 1\n", encoding="utf-8")
    done = _billrules("validate", "--ignore-outside", "-notes.yaml", "--help.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr  # (was 2: unrecognized arguments)
    done = _billrules("validate", "-notes.yaml", cwd=tmp_path)  # by hand: a file in no rule set
    assert done.returncode == 1 and "-notes.yaml:1:1: error[BR110]" in done.stdout, done.stdout + done.stderr
    assert _billrules("validate", "--no-such-option", cwd=tmp_path).returncode == 2  # options are still options


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_hook_sees_a_deletion_in_one_rule_set_beside_a_change_in_another(tmp_path: Path) -> None:
    from tests.test_tools_audit import _billrules, _git

    shutil.copytree(REPO / "rules", tmp_path / "config" / "rules")
    shutil.copytree(REPO / "rules", tmp_path / "other")
    _git("init", "-q", cwd=tmp_path)
    _git("add", "-A", cwd=tmp_path)
    _git("-c", "user.email=a@b", "-c", "user.name=n", "commit", "-qm", "rules", cwd=tmp_path)
    _git("rm", "-q", "config/rules/catalog/terms.yaml", cwd=tmp_path)
    done = _billrules("validate", "--ignore-outside", "other/catalog/products.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "unknown term `commit-24m`" in done.stdout, done.stdout + done.stderr


def test_sarif_uris_are_percent_encoded(tmp_path: Path) -> None:
    import json
    from urllib.parse import unquote

    from tests.test_tools_audit import _billrules

    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "my segs%.yaml").write_text("kind: product\ncode: x\n", encoding="utf-8")
    done = _billrules("validate", "--format", "sarif", "rules", cwd=tmp_path)
    report = json.loads(done.stdout)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in report["runs"][0]["results"]]
    assert "rules/my%20segs%25.yaml" in uris, uris
    assert all(" " not in u for u in uris) and unquote("rules/my%20segs%25.yaml") == "rules/my segs%.yaml"


# --- a refusal until an earlier date is located where the refusal is written -----------------------


def test_a_refusal_until_an_exception_s_date_is_located(tmp_path: Path) -> None:
    """A term refusing early cancellation whose exception allows it 100 days after the start: the
    refusal names 2015-11-09, and had no `source` (the one it replaces has the term's
    `early_cancellation:`)."""
    from engine import load_rules

    root = _rules_copy(tmp_path)
    (root / "catalog" / "xterms.yaml").write_text(
        "kind: term\ncode: x-na-exc\nname: Not allowed with exceptions\nperiod: 6\nunit: months\nbasis: calendar\n"
        "early_cancellation: not_allowed\nexceptions:\n"
        "  - when: cancellation.date - subscription.start >= 100 days\n    outcome: allowed\n"
        "---\nkind: bundle\ncode: xb-1\nname: X1\nvalidity: {from: 2013-01-01}\nproducts:\n  - product: docs-pack\n"
        "term: x-na-exc\n",
        encoding="utf-8",
    )
    scenario = {
        "id": "na-until",
        "as_of": "2015-09-01T09:00:00+00:00",
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": {
            "code": "S1",
            "plan": "tv-flex",
            "start": "2015-08-01",
            "billing_frequency": "monthly",
            "add_ons": ["xb-1"],
        },
        "cancellation": {"date": "2015-09-01"},
    }
    terms = load_rules(root).decide(scenario)["cancellation"]["terms"]
    (reason,) = [r for t in terms for r in t["reasons"] if r["code"] == "not_allowed_until"]
    assert reason["facts"]["earliest"] == "2015-11-09", reason
    lines = (root / "catalog" / "xterms.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[reason["source"]["line"] - 1].strip() == "early_cancellation: not_allowed", reason


def test_a_product_chosen_outside_a_coupon_s_bundle_is_not_what_it_brings() -> None:
    """A choice of `kids-pack` in the welcome-sports bundle (which holds only sports-pack): the
    coupon was rejected as bringing kids-pack twice, a product it does not have."""
    from engine import load_rules

    scenario = {
        "id": "foreign",
        "as_of": "2015-08-03T10:00:00+02:00",
        "account": {"code": "A1", "classification": "Residential", "payment_preference": "card"},
        "subscription": {
            "code": "S1",
            "plan": "tv-essentials-24",
            "start": "2015-02-01",
            "billing_frequency": "monthly",
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
        "purchase": {
            "add_ons": ["family-bundle"],
            "coupons": ["ACME-A000"],
            "products": [
                {"product": "kids-pack", "bundle": "family-bundle"},
                {"product": "kids-pack", "bundle": "welcome-sports-bundle"},
            ],
            "payment_method": "card",
        },
    }
    decided = load_rules(REPO / "rules").decide(scenario)["purchase"]
    reasons = [r["code"] for c in decided["coupons"] for r in c["reasons"]]
    assert "coupon_products_had" not in reasons, decided["coupons"]


# --- a balance's ledger is written with one number of decimals ------------------------------------


def test_a_balance_ledger_writes_every_value_with_the_stream_s_decimals() -> None:
    """An opening of `20` and a refund of `12.25`: the ledger read `-34` then `-34.00`."""
    from engine import load_rules

    at = "2015-09-0{}T09:00:00+02:00"
    scenario = {
        "id": "scale",
        "as_of": "2015-09-30T18:00:00+02:00",
        "balance": {
            "policy": "standard-balance",
            "opening": 20,
            "events": [
                {"id": "EV-1", "type": "withdraw", "amount": 54, "at": at.format(1)},
                {"id": "EV-2", "type": "debit", "amount": "12.25", "request": "s1", "at": at.format(2)},
                {"id": "EV-3", "type": "refund", "request": "s1", "reason": "failed", "at": at.format(3)},
            ],
        },
    }
    part = load_rules(REPO / "rules").decide(scenario)["balance"]
    assert [(e["quantity"], e["balance"]) for e in part["ledger"]] == [
        ("54.00", "-34.00"),
        ("12.25", "-46.25"),
        ("12.25", "-34.00"),
    ], part["ledger"]
    assert (part["opening"], part["closing"], part["totals"]["grants"]) == ("20.00", "-34.00", "0.00"), part


@pytest.mark.parametrize("args", [("config/rules", "config/rules/catalog/products.yaml"), ("--rules", "config/rules")])
def test_a_hook_naming_its_rule_set_is_not_told_of_another_rules_folder(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`args: [config/rules]`, and a `rules/` folder holding another tool's YAML: BR110 on every commit."""
    from tests.test_tools_audit import _billrules

    shutil.copytree(REPO / "rules", tmp_path / "config" / "rules")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "semgrep.yaml").write_text("rules: []\n", encoding="utf-8")
    done = _billrules("validate", "--ignore-outside", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


# --- diff: a JSON line that cannot be decided is told at its line, with its hint ---------------------


def test_diff_tells_an_undecided_json_line_at_its_line_with_its_hint(tmp_path: Path) -> None:
    import json

    from tests.test_tools_audit import _billrules

    good = {
        "id": "ok",
        "as_of": "2015-06-10T10:00:00+02:00",
        "job": {"code": "J1", "products": [{"product": "technician-visit"}]},
    }
    bad = {
        "id": "bad",
        "as_of": "2015-06-10T10:00:00+02:00",
        "job": {"code": "J2", "products": [{"product": "technician-visti"}]},
    }
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    rules = str(REPO / "rules")
    done = _billrules("diff", "--rules", rules, "--rules", rules, "--input", str(path), "--json", cwd=tmp_path)
    report = json.loads(done.stdout)
    problems = [p for g in report["groups"] for s in g["scenarios"] for p in s.get("problems", [])]
    assert problems and all(p["line"] == 2 for p in problems), problems  # (they said line 1)
    assert all("did you mean `technician-visit`" in p.get("hint", "") for p in problems), problems
    text = _billrules("diff", "--rules", rules, "--rules", rules, "--input", str(path), cwd=tmp_path).stdout
    assert "hint: did you mean `technician-visit`" in text, text


# --- diff: money of refused purchases, a coupon's group, details -------------------------------------


def _purchase_decision(allowed: bool, net: str, coupons: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {
        "scenario": "p",
        "purchase": {
            "allowed": allowed,
            "reasons": [] if allowed else [{"code": "plan_withdrawn"}],
            "coupons": coupons or [],
            "lines": [],
            "discounts": [],
            "price": {"EUR": {"gross": net, "discount": "0.00 EUR", "net": net}},
        },
    }


def test_diff_counts_no_price_of_a_purchase_refused_under_both_and_a_sale_lost() -> None:
    from engine.diff import money_moved

    both_refused = money_moved(_purchase_decision(False, "10.00 EUR"), _purchase_decision(False, "11.50 EUR"))
    assert both_refused == {}, both_refused  # (was +1.50 EUR)
    lost = money_moved(_purchase_decision(True, "193.99 EUR"), _purchase_decision(False, "193.99 EUR"))
    assert lost == {"purchase_price": {"EUR": Decimal("-193.99")}}, lost  # (was nothing)


def test_diff_puts_a_price_raised_beside_a_coupon_s_change_in_the_gross_group() -> None:
    from engine.diff import changes

    old = _purchase_decision(True, "193.99 EUR", [{"code": "c1", "status": "redeemed", "reasons": []}])
    new = _purchase_decision(True, "195.49 EUR", [{"code": "c1", "status": "rejected", "reasons": [{"code": "x"}]}])
    found = {(c.subject, c.what): c.money for c in changes(old, new)}
    assert found[("purchase", "gross")] == {"purchase_price": {"EUR": Decimal("1.50")}}, found
    assert found[("coupon c1", "status")] == {}, found


def test_diff_groups_of_a_purchase_refused_under_both_move_nothing() -> None:
    from engine.diff import changes

    def refused(net: str, amount: str) -> dict[str, object]:
        decision = _purchase_decision(False, net)
        decision["purchase"]["discounts"] = [{"code": "d", "status": "applied", "amount": amount, "reasons": []}]  # type: ignore[index]
        return decision

    found = changes(refused("10.00 USD", "2.00 USD"), refused("12.00 USD", "2.40 USD"))
    assert found and all(c.money == {} for c in found), [(c.subject, c.what, c.money) for c in found]


def test_a_bare_number_with_more_zeros_than_the_cent_is_still_told_its_currency() -> None:
    texts = _retention_offer_refused("10.000")
    assert "requested value `10.000` is not money: write it with the range's currency, `10.000 EUR`" in texts, texts
