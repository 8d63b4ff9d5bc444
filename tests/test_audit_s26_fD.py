"""Audit c2 of the twenty-sixth session (2026-12-04): decision rules no test guarded.

c2's mutation testing of the decision modules found 26 rules that could be changed without any
test failing (the engine decided each of them as SPEC.md / README say; the suite just did not
look). Each test below decides the scenario that tells the rule from its near miss and asserts
the decision SPEC/README give: statuses, amounts, reason codes. Where a rule needs a definition
the shipped rules lack (two free periods on one line, a calendar-month limit, a rule set without
`rounding:` ...), the test writes the shipped rule set to a temporary folder with that one change.
"""

from __future__ import annotations

import copy
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules

REPO = Path(__file__).resolve().parent.parent

# --- rule sets: the shipped one, or a copy with one change -------------------------------------

#: extra rule documents, each written to its own file in a copy of the shipped rules
FREE_MONTH_YEARLY = """\
    kind: discount
    code: fd-free-1m
    name: One more month free on the yearly bill
    type: auto_apply
    classification: subscription
    applied_service_type: non_usage
    state: effective
    amount: {type: free_period, value: 1, unit: months}
    discounted_products: [{product: tv-essentials-annual}]
    validity: {effective: 2015-01-01, expiration: 2015-12-31}
    duration: {billing_periods: 1}
    criteria:
      billing_term: {schemes: [yearly-12]}
"""

FREE_YEAR = """\
    kind: discount
    code: fd-free-1y
    name: One year free
    type: auto_apply
    classification: subscription
    applied_service_type: non_usage
    state: effective
    amount: {type: free_period, value: 1, unit: years}
    discounted_products: [{product: tv-essentials-annual}]
    validity: {effective: 2015-01-01}
    criteria:
      billing_term: {schemes: [yearly-12]}
"""

ONCE_A_CALENDAR_MONTH = """\
    kind: discount
    code: fd-cal-month
    name: One percent once a calendar month
    type: auto_apply
    classification: subscription
    applied_service_type: non_usage
    state: effective
    amount: {type: percentage, value: 1}
    discounted_products: [{product: tv-essentials}]
    validity: {effective: 2015-01-01}
    limit: {times: 1, per: 1 month, window: calendar}
"""

TEN_FREE_DAYS = """\
    kind: discount
    code: fd-free-days
    name: Ten free days an agent may give
    type: ad_hoc
    classification: subscription
    applied_service_type: non_usage
    state: effective
    amount: {type: free_period, range: [10, 10], unit: days}
    discounted_products: [{product: tv-premium}]
    validity: {effective: 2015-01-01}
    duration: {indefinite: true, flexible_start: true}
    allowed_units: [retention-team]
"""

NO_APPROVAL = """\
    kind: discount
    code: fd-no-approval
    name: Approval switched off
    type: ad_hoc
    classification: subscription
    applied_service_type: non_usage
    state: effective
    amount: {type: percentage, range: [1, 5]}
    discounted_products: [{product: tv-essentials}]
    validity: {effective: 2015-01-01}
    duration: {billing_periods: 1}
    approval: {required: false}
    allowed_units: [customer-care]
"""

UNTIL_JUNE = """\
    kind: discount
    code: fd-until
    name: Offer running up to a date
    type: ad_hoc
    classification: subscription
    applied_service_type: non_usage
    state: effective
    amount: {type: percentage, range: [1, 5]}
    discounted_products: [{product: tv-essentials}]
    validity: {effective: 2015-01-01}
    duration: {until: 2015-06-01}
    allowed_units: [customer-care]
"""

ALERTS_OFF = """\
    kind: balance_policy
    code: fd-alerts-off
    name: Alerts switched off, threshold kept for later
    overdraft: true
    alerts: {enabled: false, threshold: 50}
"""

#: 200 days, pro rata by days, a year's grace: 1.00 EUR x 1/200 = 0.005 EUR on the last day
TERM_200_DAYS = """\
    kind: term
    code: fd-200d
    name: 200 days, pro rata by days, a year's grace
    period: 200
    unit: days
    basis: calendar
    early_cancellation: penalty
    penalty:
      grace_period: 1
      grace_period_unit: years
      fee: 1.00 EUR
      pro_rata: true
      ledger_account: "4410-early-termination-fees"
      invoice_line_type: early_termination_fee
      tax: {rate: 10}
"""

#: a second add-on bundle granting the welcome sports discount
WELCOME_AGAIN = """\
    kind: bundle
    code: fd-welcome-again
    name: Welcome to sports, sold again
    validity: {from: 2015-01-01, to: 2015-12-31}
    products:
      - product: sports-pack
    discounts: [welcome-sports-half]
    term: no-commitment
"""

PRECEDENCE = "credit_precedence: [allocation, expiry, tree_distance, issue_date, id]\n"

#: name -> (files to add, (file, old, new) replacements) on a copy of the shipped rules
VARIANTS: dict[str, tuple[dict[str, str], list[tuple[str, str, str]]]] = {
    "shipped": ({}, []),
    "free_month": ({"discounts/fd_free_1m.yaml": FREE_MONTH_YEARLY}, []),
    "free_year": ({"discounts/fd_free_1y.yaml": FREE_YEAR}, []),
    "calendar_month": ({"discounts/fd_cal_month.yaml": ONCE_A_CALENDAR_MONTH}, []),
    "free_days": ({"discounts/fd_free_days.yaml": TEN_FREE_DAYS}, []),
    "no_approval": ({"discounts/fd_no_approval.yaml": NO_APPROVAL}, []),
    "until": ({"discounts/fd_until.yaml": UNTIL_JUNE}, []),
    "alerts_off": ({"credits/fd_alerts_off.yaml": ALERTS_OFF}, []),
    "welcome_again": ({"catalog/fd_welcome_again.yaml": WELCOME_AGAIN}, []),
    "term_200_days": (
        {"catalog/fd_term.yaml": TERM_200_DAYS},
        [
            (
                "catalog/plans.yaml",
                "bundles: [tv-essentials-annual-bundle, on-demand-bundle]\nvalidity: {from: 2015-01-01}\nterm: rolling-12m\n",
                "bundles: [tv-essentials-annual-bundle, on-demand-bundle]\nvalidity: {from: 2015-01-01}\nterm: fd-200d\n",
            )
        ],
    ),
    "default_precedence": ({}, [("ruleset.yaml", PRECEDENCE, "")]),
    "priority_first": (
        {},
        [
            (
                "ruleset.yaml",
                PRECEDENCE,
                "credit_precedence: [priority, allocation, expiry, tree_distance, issue_date, id]\n",
            )
        ],
    ),
    "default_rounding": ({}, [("ruleset.yaml", "rounding: half_up\n", "")]),
}


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """The rule set of one variant, written and loaded once for the module."""
    loaded: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in loaded:
            if name == "shipped":
                loaded[name] = load_rules(REPO / "rules")
                return loaded[name]
            files, replacements = VARIANTS[name]
            root = tmp_path_factory.mktemp(name) / "rules"
            shutil.copytree(REPO / "rules", root)
            for file, text in files.items():
                (root / file).write_text(textwrap.dedent(text), encoding="utf-8")
            for file, old, new in replacements:
                path = root / file
                before = path.read_text(encoding="utf-8")
                assert before.count(old) == 1, (file, old)
                path.write_text(before.replace(old, new), encoding="utf-8")
            loaded[name] = load_rules(root)
        return loaded[name]

    return get


def _definition(decision: dict[str, Any], code: str) -> dict[str, Any]:
    (found,) = [d for d in decision["discounts"]["definitions"] if d["code"] == code]
    return found  # type: ignore[no-any-return]


def _outcome(decision: dict[str, Any], code: str) -> tuple[str, str | None, list[str]]:
    found = _definition(decision, code)
    return found["status"], found.get("amount"), [r["code"] for r in found.get("reasons", [])]


def _line(decision: dict[str, Any], index: int) -> tuple[str, list[tuple[str, str]]]:
    line = decision["discounts"]["lines"][index]
    return line["net"], [(d["code"], d["amount"]) for d in line["discounts"]]


# --- scenarios ----------------------------------------------------------------------------------

ACCOUNT = {
    "code": "ACC-1001",
    "classification": "Residential",
    "payment_preference": "card",
    "presentment_preference": "paper",
}

#: seed 002's subscription (scenario 1): TV Essentials with the sports add-on, June 2015 billed on 1 July
JUNE_BILL: dict[str, Any] = {
    "id": "fd-june",
    "as_of": "2015-07-01T02:00:00+02:00",
    "account": ACCOUNT,
    "subscription": {
        "code": "SUB-1001",
        "type": "residential-tv",
        "plan": "tv-essentials-24",
        "add_ons": ["sports-bundle"],
        "billing_term_scheme": "monthly-24",
        "billing_frequency": "monthly",
        "binding_period": "24 months",
        "start": "2015-02-01",
        "status_history": [{"status": "active", "from": "2015-02-01"}],
        "products": [
            {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True},
            {"product": "sports-pack", "bundle": "sports-bundle"},
        ],
        "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
    },
}

CARE_AGENT = {"user": "anna.agent", "units": ["customer-care"]}
SUPERVISOR = [{"discount": "complaint-discount", "by": "sara.supervisor", "units": ["customer-centre-supervisors"]}]


def _june(main_price: str | None = None, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(JUNE_BILL)
    if main_price is not None:
        data["subscription"]["products"][0]["price"] = main_price
    data.update(changes)
    return data


def _complaint(request: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The June bill with an approved complaint-discount request of the customer-care agent."""
    wanted = {"discount": "complaint-discount", "value": 10, "added_on": "2015-06-20"} | request
    return _june(agent=CARE_AGENT, requested_discounts=[wanted], approvals=SUPERVISOR, **changes)


#: a new yearly TV Essentials subscription's first bill (299.00 EUR, March 2015 to February 2016)
YEARLY_BILL: dict[str, Any] = {
    "id": "fd-yearly",
    "as_of": "2015-03-01T02:00:00+01:00",
    "account": {
        "code": "ACC-5005",
        "classification": "Residential",
        "payment_preference": "bank_transfer",
        "presentment_preference": "paper",
    },
    "subscription": {
        "code": "SUB-5005",
        "type": "residential-tv",
        "plan": "tv-annual",
        "billing_term_scheme": "yearly-12",
        "billing_frequency": "yearly",
        "binding_period": "12 months",
        "start": "2015-03-01",
        "billing_term_start": "2015-03-01",
        "status_history": [{"status": "active", "from": "2015-03-01"}],
        "products": [{"product": "tv-essentials-annual", "bundle": "tv-essentials-annual-bundle", "main": True}],
        "billing_period": {"from": "2015-03-01", "to": "2016-02-29"},
    },
}


def _premium(
    billing_period: dict[str, str], *, as_of: str, start: str = "2015-01-15", **changes: Any
) -> dict[str, Any]:
    """TV Premium with the HD option (monthly-12) and the retention agent at the desk."""
    return {
        "id": "fd-premium",
        "as_of": as_of,
        "account": {
            "code": "ACC-9009",
            "classification": "Residential",
            "payment_preference": "direct_debit",
            "presentment_preference": "paper",
        },
        "subscription": {
            "code": "SUB-9009",
            "type": "residential-tv",
            "plan": "tv-premium-12",
            "billing_term_scheme": "monthly-12",
            "billing_frequency": "monthly",
            "binding_period": "12 months",
            "start": start,
            "status_history": [{"status": "active", "from": start}],
            "products": [
                {"product": "tv-premium", "bundle": "tv-premium-bundle", "main": True},
                {"product": "hd-option", "bundle": "tv-premium-bundle"},
            ],
            "billing_period": billing_period,
        },
        "agent": {"user": "rita.retention", "units": ["retention-team"]},
        **changes,
    }


RETENTION_APPROVAL = [{"discount": "retention-offer", "by": "max.manager", "units": ["retention-team"]}]


# --- discounts: free periods --------------------------------------------------------------------


def test_two_free_periods_on_one_yearly_line_both_take_their_months(rules: Callable[[str], Any]) -> None:
    """SPEC 3.2 step 1 "free periods first (they remove whole periods from the charge)"; README:
    several free periods on one line are taken in code order. 2 months + 1 month free of a yearly
    299.00 EUR: 49.83 + 24.92 off, net 224.25 (= 299.00 x 9/12), not only the first one."""
    decision = rules("free_month").decide(YEARLY_BILL)
    assert _outcome(decision, "annual-2-months-free") == ("applied", "49.83 EUR", [])
    assert _outcome(decision, "fd-free-1m") == ("applied", "24.92 EUR", [])
    assert _line(decision, 0) == ("224.25 EUR", [("annual-2-months-free", "-49.83 EUR"), ("fd-free-1m", "-24.92 EUR")])


def test_a_free_period_in_years_frees_a_whole_yearly_bill(rules: Callable[[str], Any]) -> None:
    """A free period of 1 year on a yearly bill is all 12 months of it: after the 2 shipped free
    months (49.83) it takes the remaining 249.17 EUR, not 1/12 of the bill."""
    decision = rules("free_year").decide(YEARLY_BILL)
    assert _outcome(decision, "fd-free-1y") == ("applied", "249.17 EUR", [])
    assert _line(decision, 0) == ("0.00 EUR", [("annual-2-months-free", "-49.83 EUR"), ("fd-free-1y", "-249.17 EUR")])


def test_free_days_used_up_on_the_last_free_day_leave_the_next_bill_alone(rules: Callable[[str], Any]) -> None:
    """10 free days from 2016-02-20 run to 2016-02-29: on the March bill they are used up
    (`not_effective`, `free_period_used`), not `applied` at 0.00 EUR."""
    scenario = _premium(
        {"from": "2016-03-01", "to": "2016-03-31"},
        as_of="2016-04-01T02:00:00+02:00",
        requested_discounts=[
            {"discount": "fd-free-days", "value": 10, "start": "2016-02-20", "added_on": "2016-02-20"}
        ],
    )
    decision = rules("free_days").decide(scenario)
    found = _definition(decision, "fd-free-days")
    assert (found["status"], found.get("amount")) == ("not_effective", None)
    assert [(r["code"], r["facts"]) for r in found["reasons"]] == [
        ("free_period_used", {"free": "10 days", "from": "2016-02-20", "until": "2016-02-29"})
    ]
    assert all(d["code"] != "fd-free-days" for d in decision["discounts"]["lines"][0]["discounts"])


# --- discounts: application limits --------------------------------------------------------------


def test_an_application_dated_after_as_of_is_not_counted_against_the_limit(rules: Callable[[str], Any]) -> None:
    """The complaint discount's limit (3 a rolling year) counts the applications up to `as_of`:
    one dated 2015-07-05 has not happened on 2015-07-01, so 2 are used and the request applies."""
    history = [{"discount": "complaint-discount", "on": on} for on in ("2015-02-28", "2015-03-31", "2015-07-05")]
    decision = rules("shipped").decide(_complaint({}, discount_history=history))
    assert _outcome(decision, "complaint-discount") == ("applied", "3.00 EUR", ["approved"])


def test_a_calendar_month_limit_counts_from_the_first_of_the_month(rules: Callable[[str], Any]) -> None:
    """SPEC 3.2 "rolling window by default, calendar year if stated" (README: calendar months as
    well): once a calendar month, used on 2015-05-20, applies again on 2015-06-15 (the window is
    June from its 1st), neither counted back a month to 2015-05-01 nor read as a rolling month."""
    scenario = _june(as_of="2015-06-15T12:00:00Z", discount_history=[{"discount": "fd-cal-month", "on": "2015-05-20"}])
    decision = rules("calendar_month").decide(scenario)
    assert _outcome(decision, "fd-cal-month") == ("applied", "0.30 EUR", [])
    # a second application in the same calendar month is refused, counted from 06-01
    scenario["discount_history"].append({"discount": "fd-cal-month", "on": "2015-06-01"})
    found = _definition(rules("calendar_month").decide(scenario), "fd-cal-month")
    assert found["status"] == "limit_reached"
    assert {k: found["reasons"][0]["facts"][k] for k in ("used", "since", "window")} == {
        "used": 1,
        "since": "2015-06-01",
        "window": "calendar",
    }


# --- discounts: requests, dates, approval ---------------------------------------------------------


def test_a_requested_start_on_the_latest_start_day_is_allowed(rules: Callable[[str], Any]) -> None:
    """retention-offer: `latest_start: 1 month` after the request (added 2016-02-25): a start on
    2016-03-25 is the latest allowed day, not `start_too_late`."""
    scenario = _premium(
        {"from": "2016-03-01", "to": "2016-03-31"},
        as_of="2016-04-01T02:00:00+02:00",
        requested_discounts=[
            {
                "discount": "retention-offer",
                "value": "10.00 EUR",
                "start": "2016-03-25",
                "end": "2016-08-31",
                "added_on": "2016-02-25",
            }
        ],
        approvals=RETENTION_APPROVAL,
    )
    assert _outcome(rules("shipped").decide(scenario), "retention-offer") == ("applied", "10.00 EUR", ["approved"])


@pytest.mark.parametrize(
    ("request_dates", "reason"),
    [({"start": "2015-06-20"}, "start_not_flexible"), ({"end": "2015-06-30"}, "end_not_flexible")],
    ids=["start", "end"],
)
def test_an_agents_dates_need_the_definitions_flexible_option(
    rules: Callable[[str], Any], request_dates: dict[str, str], reason: str
) -> None:
    """Seed 002: start/end restrictions apply "if the Flexible ... options are enabled"; the
    complaint discount has neither, so a request naming a start or an end is rejected."""
    decision = rules("shipped").decide(_complaint(request_dates))
    assert _outcome(decision, "complaint-discount") == ("rejected", None, [reason])


def test_a_discount_with_approval_not_required_applies_without_one(rules: Callable[[str], Any]) -> None:
    """`approval: {required: false}` needs no approval: applied (`no_approval_needed`), not
    `pending_approval` waiting for nobody."""
    scenario = _june(
        agent=CARE_AGENT,
        requested_discounts=[{"discount": "fd-no-approval", "value": 2, "added_on": "2015-06-20"}],
    )
    assert _outcome(rules("no_approval").decide(scenario), "fd-no-approval") == (
        "applied",
        "0.60 EUR",
        ["no_approval_needed"],
    )


def test_an_ad_hoc_offer_is_still_offered_on_a_bill_starting_on_its_until_day(rules: Callable[[str], Any]) -> None:
    """`duration: {until: 2015-06-01}`: the June bill starts on that day, so the offer is still
    `offered` to the agent (it ends after 06-01, not before it), not `duration_ended`."""
    decision = rules("until").decide(_june(agent=CARE_AGENT))
    found = _definition(decision, "fd-until")
    assert found["status"] == "offered"
    assert [(r["code"], r["facts"]) for r in found["reasons"]] == [("offered", {"low": "1 %", "high": "5 %"})]


def test_billing_periods_counted_back_from_a_month_end_keep_to_month_ends(rules: Callable[[str], Any]) -> None:
    """README: a month's last day keeps to month ends as billing cycles do. Cycles from
    2015-01-31; retention-offer (6 billing periods) added 2015-12-29: the bill of
    2016-05-31..06-29 is the 7th, so the offer's periods are used (not applied a 7th time)."""
    scenario = _premium(
        {"from": "2016-05-31", "to": "2016-06-29"},
        as_of="2016-06-30T12:00:00Z",
        start="2015-01-31",
        requested_discounts=[{"discount": "retention-offer", "value": "10.00 EUR", "added_on": "2015-12-29"}],
        approvals=RETENTION_APPROVAL,
    )
    found = _definition(rules("shipped").decide(scenario), "retention-offer")
    assert (found["status"], found.get("amount")) == ("not_effective", None)
    assert [(r["code"], r["facts"]) for r in found["reasons"]] == [
        ("periods_used", {"periods": 6, "from": "2015-12-29", "until": "2016-05-31"})
    ]


def test_an_auto_apply_discount_added_on_its_expiration_day_runs_past_it(rules: Callable[[str], Any]) -> None:
    """README: an auto-apply discount added while valid runs to its end past its expiration. The
    welcome sports bundle added on 2015-12-31 (the half-price offer's last valid day) halves the
    January 2016 bill's sports pack: 7.49 EUR, not `expired`."""
    scenario = _june(as_of="2016-02-01T12:00:00Z")
    subscription = scenario["subscription"]
    subscription["add_ons"] = ["welcome-sports-bundle"]
    subscription["add_on_starts"] = {"welcome-sports-bundle": "2015-12-31"}
    subscription["products"][1]["bundle"] = "welcome-sports-bundle"
    subscription["billing_period"] = {"from": "2016-01-01", "to": "2016-01-31"}
    decision = rules("shipped").decide(scenario)
    assert _outcome(decision, "welcome-sports-half") == ("applied", "7.49 EUR", [])
    assert _line(decision, 1) == ("6.75 EUR", [("loyalty-5", "-0.75 EUR"), ("welcome-sports-half", "-7.49 EUR")])


def test_a_discount_two_add_ons_grant_counts_from_the_earlier_add_on(rules: Callable[[str], Any]) -> None:
    """README: an auto-apply discount add-on bundles grant counts its duration from the add-ons'
    date in `add_on_starts`. Two add-ons grant the 3-month welcome half price, bought on
    2015-06-01 and 2015-10-15: it was added on 06-01, so its 3 periods are used by November's
    bill (not counted from the later add-on, which would halve November's sports pack)."""
    scenario = _june(as_of="2015-12-01T12:00:00Z")
    subscription = scenario["subscription"]
    subscription["add_ons"] = ["welcome-sports-bundle", "fd-welcome-again"]
    subscription["add_on_starts"] = {"welcome-sports-bundle": "2015-06-01", "fd-welcome-again": "2015-10-15"}
    subscription["products"][1]["bundle"] = "welcome-sports-bundle"
    subscription["billing_period"] = {"from": "2015-11-01", "to": "2015-11-30"}
    found = _definition(rules("welcome_again").decide(scenario), "welcome-sports-half")
    assert (found["status"], found.get("amount")) == ("not_effective", None)
    assert [(r["code"], r["facts"]) for r in found["reasons"]] == [
        ("periods_used", {"periods": 3, "from": "2015-06-01", "until": "2015-09-01"})
    ]


# --- discounts: what a decision says about caps and floors ----------------------------------------


def test_a_discount_taking_exactly_its_cap_is_not_said_to_be_capped(rules: Callable[[str], Any]) -> None:
    """README: `capped` when a discount took its whole cap *and would take more without it*. 20 %
    of a 100.00 EUR line is 20.00 EUR, the complaint discount's cap: applied, no `capped`."""
    decision = rules("shipped").decide(_complaint({"value": 20}, main_price="100.00 EUR"))
    assert _outcome(decision, "complaint-discount") == ("applied", "20.00 EUR", ["approved"])


def test_a_money_amount_taking_its_whole_value_has_no_line_floor_reason(rules: Callable[[str], Any]) -> None:
    """README: `line_floor` when a money amount took less than its value. The late-installation
    20.00 EUR off a 20.00 EUR fee takes all 20.00: applied, no reason, net 0.00."""
    scenario = {
        "id": "fd-installation",
        "as_of": "2015-05-22T16:00:00+02:00",
        "account": {**ACCOUNT, "code": "ACC-3014"},
        "job": {
            "code": "JOB-77010",
            "type": "installation",
            "segments": ["late-installation"],
            "products": [{"product": "installation-fee", "price": "20.00 EUR"}],
        },
    }
    decision = rules("shipped").decide(scenario)
    assert _outcome(decision, "installation-late-20-off") == ("applied", "20.00 EUR", [])
    assert _line(decision, 0) == ("0.00 EUR", [("installation-late-20-off", "-20.00 EUR")])


def test_money_is_rounded_half_up_when_the_rule_set_names_no_rounding(rules: Callable[[str], Any]) -> None:
    """SPEC 3.2 step 5: rounded "half-up by default". Without `rounding:` in ruleset.yaml,
    loyalty-5 on a 0.50 EUR line takes 0.025 -> 0.03 EUR (half-even would give 0.02)."""
    decision = rules("default_rounding").decide(_june(main_price="0.50 EUR"))
    assert _outcome(decision, "loyalty-5") == ("applied", "0.78 EUR", [])
    assert _line(decision, 0) == ("0.47 EUR", [("loyalty-5", "-0.03 EUR")])


def test_a_time_window_includes_its_end(rules: Callable[[str], Any]) -> None:
    """A criteria time window is inclusive at both ends: the Sunday window 13:00-18:00 holds a VOD
    rental at exactly 18:00:00, so vod-weekend-nights applies (the other rentals fall outside
    every window)."""
    vod = {
        "product": "vod-rental",
        "service": "film-rental",
        "catalog": "acme-on-demand",
        "service_type": "VOD",
        "termed_service": "tv-essentials",
        "method": "set-top-box",
        "amount": "4.99 EUR",
    }
    usage = [
        {**vod, "at": "2015-06-10T21:10:00+02:00", "device": "stb"},  # Wednesday
        {**vod, "at": "2015-06-11T01:30:00+02:00", "device": "smart-tv"},  # Thursday
        {**vod, "at": "2015-06-09T20:45:00+02:00", "device": "stb"},  # Tuesday
        {**vod, "at": "2015-06-21T18:00:00+02:00", "device": "stb"},  # Sunday, the window's last instant
    ]
    scenario = _june(usage=usage)
    scenario["account"] = {**ACCOUNT, "code": "ACC-7007"}
    scenario["subscription"]["add_ons"] = []
    scenario["subscription"]["products"][1] = {"product": "vod-rental", "bundle": "on-demand-bundle"}
    decision = rules("shipped").decide(scenario)
    assert _outcome(decision, "vod-weekend-nights") == ("applied", "1.50 EUR", [])
    # without the 18:00:00 rental no window holds any
    scenario["usage"] = usage[:3]
    assert _definition(rules("shipped").decide(scenario), "vod-weekend-nights")["status"] == "not_eligible"


# --- purchases ----------------------------------------------------------------------------------


def test_a_coupons_discount_is_in_effect_on_its_expiration_day(rules: Callable[[str], Any]) -> None:
    """coupon_87 (minus-20) on 2015-12-31, the last day of its discount's validity: redeemed,
    10.00 USD less 20 % = 8.00 USD, not `coupon_grants_nothing`."""
    scenario = {
        "id": "fd-coupon",
        "as_of": "2015-12-31T12:00:00+02:00",
        "account": {**ACCOUNT, "code": "ACC-1201", "presentment_preference": "email"},
        "subscription": {
            "code": "SUB-1201",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "binding_period": "24 months",
            "start": "2015-02-01",
            "status_history": [{"status": "active", "from": "2015-02-01"}],
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
        "purchase": {"add_ons": ["additional-service-bundle"], "coupons": ["coupon_87"], "payment_method": "card"},
    }
    purchase = rules("shipped").decide(scenario)["purchase"]
    assert [(c["code"], c["status"], [r["code"] for r in c["reasons"]]) for c in purchase["coupons"]] == [
        ("coupon_87", "redeemed", ["coupon_redeemed"])
    ]
    assert [(line["product"], line["net"]) for line in purchase["lines"]] == [("additional-service", "8.00 USD")]


# --- credits ------------------------------------------------------------------------------------


def _draws(decision: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(a["request"], a["credit"], a["quantity"]) for a in decision["credits"]["allocations"]]


def _network_credit(code: str, priority: int | None) -> dict[str, Any]:
    credit: dict[str, Any] = {
        "code": code,
        "type": "network-offer",
        "quantity": 1,
        "holder": "globex-de",
        "allocation": "this_organisation",
        "issued": "2015-01-01",
        "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
    }
    if priority is not None:
        credit["priority"] = priority
    return credit


def test_a_lower_priority_number_is_drawn_first(rules: Callable[[str], Any]) -> None:
    """README (Order): `priority` lower first, none last. Priority 1 is drawn before priority 2,
    both before the credits without one."""
    scenario = {
        "id": "fd-priority",
        "as_of": "2015-04-15T09:00:00Z",
        "credits": [_network_credit("cp-none", None), _network_credit("cp-two", 2), _network_credit("cp-one", 1)],
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-de",
                "credit_type": "network-offer",
                "quantity": 1,
                "at": "2015-04-15T09:00:00Z",
            },
            {
                "id": "R2",
                "organisation": "globex-de",
                "credit_type": "network-offer",
                "quantity": 1,
                "at": "2015-04-15T09:01:00Z",
            },
        ],
    }
    decision = rules("priority_first").decide(scenario)
    assert _draws(decision) == [("R1", "cp-one", "1"), ("R2", "cp-two", "1")]


def test_the_default_precedence_draws_own_credits_before_shared_ones(rules: Callable[[str], Any]) -> None:
    """SPEC 3.6's order when ruleset.yaml names none: (1) allocation, (2) expiry, (3) tree distance.
    globex-de's 6 network offers: its own Q3 credit (2) and own credit (3), then shared (1)."""
    scenario = {
        "id": "fd-default-order",
        "as_of": "2015-04-15T09:00:00+02:00",
        "consumptions": [
            {
                "id": "REQ-DE-0416",
                "organisation": "globex-de",
                "credit_type": "network-offer",
                "quantity": 6,
                "at": "2015-04-15T09:00:00+02:00",
            }
        ],
    }
    assert _draws(rules("default_precedence").decide(scenario)) == [
        ("REQ-DE-0416", "globex-de-network-q3", "2"),
        ("REQ-DE-0416", "globex-de-network-own", "3"),
        ("REQ-DE-0416", "globex-de-network-shared", "1"),
    ]


def test_the_default_precedence_puts_expiry_before_tree_distance(rules: Callable[[str], Any]) -> None:
    """SPEC 3.6 (2) expiry before (3) tree distance: the parent's shared credit ending 06-30 is drawn
    before the consumer's own shared one ending 12-31."""

    def credit(code: str, holder: str, to: str) -> dict[str, Any]:
        return {
            "code": code,
            "type": "targeting-offer",
            "quantity": 1,
            "holder": holder,
            "allocation": "all_organisations",
            "issued": "2015-01-01",
            "usage_period": {"from": "2015-01-01", "to": to},
        }

    scenario = {
        "id": "fd-expiry-first",
        "as_of": "2015-04-15T09:00:00Z",
        "credits": [
            credit("zz-parent-soon", "globex", "2015-06-30"),
            credit("aa-own-later", "globex-de", "2015-12-31"),
        ],
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-de",
                "credit_type": "targeting-offer",
                "quantity": 1,
                "at": "2015-04-15T09:00:00Z",
            }
        ],
    }
    assert _draws(rules("default_precedence").decide(scenario)) == [("R1", "zz-parent-soon", "1")]


def test_a_purchase_is_usable_by_a_consumption_at_the_same_instant(rules: Callable[[str], Any]) -> None:
    """README: a purchased credit is usable from the purchase itself. 20000 e-mails consumed at
    the instant 20000 are bought: 10000 from the organisation's credit, 10000 from the purchase."""
    at = "2015-05-12T09:00:00+02:00"
    scenario = {
        "id": "fd-same-instant",
        "as_of": "2015-05-12T16:00:00+02:00",
        "consumptions": [
            {"id": "REQ-SAME", "user": "peter", "credit_type": "email-credits", "quantity": 20000, "at": at}
        ],
        "credit_purchases": [
            {"id": "PUR-SAME", "user": "peter", "credit_type": "email-credits", "quantity": 20000, "at": at}
        ],
    }
    credits = rules("shipped").decide(scenario)["credits"]
    assert credits["refused"] == []
    assert [(a["request"], a["credit"], a["quantity"]) for a in credits["allocations"]] == [
        ("REQ-SAME", "globex-fr-email", "10000"),
        ("REQ-SAME", "PUR-SAME", "10000"),
    ]


def test_a_credit_expired_for_a_consumption_two_local_days_later_still_pays_an_earlier_local_day(
    rules: Callable[[str], Any],
) -> None:
    """README: offsets reach +-14 h, so consumptions in time order can be two local days apart. A
    credit ending 2015-04-10 refuses B (2015-04-12 at +14:00) but still pays A, later in time
    yet on 2015-04-10 at -14:00."""
    scenario = {
        "id": "fd-local-days",
        "as_of": "2015-04-20T09:00:00Z",
        "credits": [
            {
                "code": "ends-x",
                "type": "email-credits",
                "quantity": 10,
                "holder": "globex-de",
                "allocation": "this_organisation",
                "issued": "2015-01-01",
                "usage_period": {"from": "2015-01-01", "to": "2015-04-10"},
            }
        ],
        "consumptions": [
            {
                "id": "B-EARLIER",
                "organisation": "globex-de",
                "credit_type": "email-credits",
                "quantity": 1,
                "at": "2015-04-12T00:30:00+14:00",
            },
            {
                "id": "A-LATER",
                "organisation": "globex-de",
                "credit_type": "email-credits",
                "quantity": 1,
                "at": "2015-04-10T21:00:00-14:00",
            },
        ],
    }
    credits = rules("shipped").decide(scenario)["credits"]
    assert [(a["request"], a["credit"], a["quantity"]) for a in credits["allocations"]] == [("A-LATER", "ends-x", "1")]
    assert [(r["request"], [x["code"] for x in r["reasons"]]) for r in credits["refused"]] == [
        ("B-EARLIER", ["no_candidate"])
    ]


# --- balances -----------------------------------------------------------------------------------


def test_a_threshold_alerts_only_when_alerts_are_enabled(rules: Callable[[str], Any]) -> None:
    """SPEC 3.7: a threshold alert "if alerts are enabled". A policy with `enabled: false` and a
    threshold of 50 kept for later: 100 -> 40 raises no alert."""
    scenario = {
        "id": "fd-alerts-off",
        "as_of": "2015-09-30T18:00:00+02:00",
        "balance": {
            "policy": "fd-alerts-off",
            "opening": 100,
            "events": [
                {"id": "EV-1", "type": "debit", "amount": 60, "request": "service-1", "at": "2015-09-03T10:00:00+02:00"}
            ],
        },
    }
    balance = rules("alerts_off").decide(scenario)["balance"]
    assert (balance["closing"], balance["refused"], balance["alerts"]) == ("40", [], [])


# --- cancellation terms -------------------------------------------------------------------------


def _cancel_yearly_on(day: str) -> dict[str, Any]:
    return {
        "id": "fd-cancel",
        "as_of": "2016-03-01T09:00:00+01:00",
        "account": {
            "code": "ACC-C100",
            "classification": "Residential",
            "payment_preference": "direct_debit",
            "presentment_preference": "email",
        },
        "subscription": {
            "code": "SUB-C600",
            "type": "residential-tv",
            "plan": "tv-annual",
            "billing_term_scheme": "yearly-12",
            "billing_frequency": "yearly",
            "start": "2016-01-01",
            "status_history": [{"status": "active", "from": "2016-01-01"}],
            "products": [{"product": "tv-essentials-annual", "bundle": "tv-essentials-annual-bundle", "main": True}],
        },
        "cancellation": {"date": day},
    }


def _penalty(rules: Callable[[str], Any]) -> dict[str, Any]:
    (term,) = rules("term_200_days").decide(_cancel_yearly_on("2016-07-18"))["cancellation"]["terms"]
    assert (term["term"], term["outcome"], term["commitment_end"]) == ("fd-200d", "penalty", "2016-07-19")
    return term["penalty"]  # type: ignore[no-any-return]


def test_a_pro_rata_fee_half_a_cent_is_rounded_up(rules: Callable[[str], Any]) -> None:
    """SPEC 3.2 step 5's default half-up, as the rule set's rounder: 1.00 EUR x 1/200 = 0.005 EUR
    is a fee of 0.01 EUR, not 0.00."""
    penalty = _penalty(rules)
    assert (penalty["share"], penalty["fee"], penalty["total"]) == ("1/200", "0.01 EUR", "0.01 EUR")


def test_a_grace_period_in_years_is_due_a_year_later(rules: Callable[[str], Any]) -> None:
    """A penalty's grace period of 1 year from a cancellation on 2016-07-18 is due 2017-07-18."""
    penalty = _penalty(rules)
    assert (penalty["grace_period"], penalty["due"]) == ("1 year", "2017-07-18")
