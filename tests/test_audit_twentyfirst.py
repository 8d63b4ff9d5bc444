"""The twenty-first session's fixes (2026-12-03), each with the case that showed it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.cli.decide_cmd import step_words
from engine.decide.scenarios import ScenarioError, ScenarioInvalid
from tests.test_audit_twentieth_checks import _LYON_WHEN, rules, underlined
from tests.test_money_checks import edit, found

__all__ = ["rules"]  # the fixture, shared

REPO = Path(__file__).resolve().parent.parent


def _step(**facts: object) -> dict[str, object]:
    return {
        "kind": "between",
        "verdict": "does not hold",
        "source": {"file": "rules/d.yaml", "line": 3, "column": 9},
        **facts,
    }


def test_the_explain_line_of_a_between_two_fields_shows_both_bounds_values() -> None:
    step = _step(
        condition="as_of.date between subscription.start and subscription.billing_term_start",
        subject="as_of.date",
        actual="2016-04-01",
        low="2015-01-15",
        high="2014-06-01",
        low_other="subscription.start",
        high_other="subscription.billing_term_start",
    )
    assert step_words(step) == (
        "✗ as_of.date = 2016-04-01, subscription.start = 2015-01-15, subscription.billing_term_start = 2014-06-01: "
        "`as_of.date between subscription.start and subscription.billing_term_start` does not hold (rules/d.yaml:3:9)"
    )


def test_a_constant_between_a_field_and_a_constant_names_the_field_once() -> None:
    step = _step(
        condition="10 between account.due_days_ago and 20",
        subject="account.due_days_ago",
        actual="25",
        value="10",
        low="25",
        high="20",
        low_other="account.due_days_ago",
    )
    assert step_words(step).startswith("✗ account.due_days_ago = 25: `10 between")


# --- BR413: a credit's quantity range at or below zero -----------------------------------------------


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  quantity: {max: 0}", "`quantity` at most 0 (a consumption is more than 0): no consumption can meet it"),
        (
            "  quantity: {min: -5, max: -1}",
            "`quantity` at most -1 (a consumption is more than 0): no consumption can meet it",
        ),
    ],
)
def test_a_credit_s_quantity_range_at_or_below_zero_is_br413(rules: Path, section: str, message: str) -> None:
    edit(rules / "credits" / "credits.yaml", _LYON_WHEN, section)
    (diagnostic,) = found(rules)
    assert (diagnostic.code, diagnostic.message) == ("BR413", message)
    assert underlined(diagnostic, rules) == section.rsplit(" ", 1)[1].rstrip("}")


def test_a_credit_s_quantity_range_reaching_above_zero_passes(rules: Path) -> None:
    edit(rules / "credits" / "credits.yaml", _LYON_WHEN, "  quantity: {min: -5, max: 0.5}")
    assert found(rules) == []


# --- credits: the words and forms of a decision ---------------------------------------------------


@pytest.fixture
def scenario_credits_only(tmp_path: Path) -> Path:
    """The shipped rules without their credits, so that a scenario's credits are the only ones;
    network offers may overdraw (`standard-balance`), 7-token offers may not."""
    target = tmp_path / "rules"
    shutil.copytree(REPO / "rules", target)
    (target / "credits" / "credits.yaml").unlink()
    types = target / "credits" / "credit_types.yaml"
    docs = types.read_text(encoding="utf-8").split("\n---\n")
    for i, doc in enumerate(docs):
        if "\ncode: network-offer\n" in f"\n{doc}\n":
            docs[i] = doc.rstrip("\n") + "\noverdraft_policy: standard-balance"
    types.write_text("\n---\n".join(docs), encoding="utf-8")
    return target


def _credit(code: str, kind: str, quantity: str, to: str = "2015-12-31", **more: object) -> dict[str, object]:
    return {
        "code": code,
        "type": kind,
        "quantity": quantity,
        "holder": "globex-de",
        "allocation": "this_organisation",
        "usage_period": {"from": "2015-01-01", "to": to},
        "issued": "2015-01-01",
        **more,
    }


def _use(id_: str, quantity: str, at: str, **more: object) -> dict[str, object]:
    return {"id": id_, "organisation": "globex-de", "quantity": quantity, "at": at, **more}


def _credits_part(rules: Path, scenario: dict[str, object]) -> dict[str, Any]:
    decided: dict[str, Any] = json.loads(load_rules(rules).decide_json(scenario, explain=True))
    return decided["credits"]


def test_a_draw_that_a_credit_covers_whole_is_written_as_the_request_writes_it(scenario_credits_only: Path) -> None:
    scenario = {
        "id": "forms",
        "as_of": "2015-04-15T09:00:00+02:00",
        "credits": [_credit("a", "network-offer", "3.0"), _credit("b", "email-credits", "10.00")],
        "consumptions": [
            _use("R1", "2", "2015-04-15T09:00:00+02:00", credit_type="network-offer"),
            _use("R2", "1", "2015-04-15T10:00:00+02:00", credit_type="network-offer"),
            _use("R3", "2.5", "2015-04-15T10:00:00+02:00", credit_type="email-credits"),
            _use("R4", "7.5", "2015-04-15T11:00:00+02:00", credit_type="email-credits"),
        ],
    }
    part = _credits_part(scenario_credits_only, scenario)
    # until 2026-12-03 R2 read "1.0" (the credit's `3.0` left 1.0, taken whole) and R4 "7.50"
    assert [(a["request"], a["quantity"]) for a in part["allocations"]] == [
        ("R1", "2"),
        ("R2", "1"),
        ("R3", "2.5"),
        ("R4", "7.5"),
    ]


def test_an_issue_day_against_a_purchase_instant_is_told_as_the_instants_compared(
    scenario_credits_only: Path,
) -> None:
    scenario = {
        "id": "issued",
        "as_of": "2015-04-15T09:00:00+02:00",
        "credits": [
            {
                "code": "held",
                "type": "email-credits",
                "quantity": "10",
                "holder": "john",
                "usage_period": {"from": "2015-01-02", "to": "2015-12-31"},
                "issued": "2015-01-02",
            }
        ],
        "credit_purchases": [
            {
                "id": "PUR-1",
                "user": "john",
                "credit_type": "email-credits",
                "quantity": "10",
                "at": "2015-01-01T23:00:00-05:00",
                "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
            }
        ],
        "consumptions": [
            {
                "id": "R1",
                "user": "john",
                "credit_type": "email-credits",
                "quantity": "15",
                "at": "2015-04-15T09:00:00+02:00",
            }
        ],
    }
    part = _credits_part(scenario_credits_only, scenario)
    text = json.dumps(part)
    # until 2026-12-03: "issued earlier (2015-01-02 against 2015-01-01T23:00:00-05:00)"
    assert "which was issued earlier (2015-01-02T00:00:00+00:00 against 2015-01-02T04:00:00+00:00)" in text


def test_a_used_up_credit_drawn_for_an_overdraft_is_not_told_as_a_ranked_candidate(
    scenario_credits_only: Path,
) -> None:
    scenario = {
        "id": "overdraft",
        "as_of": "2015-04-15T09:00:00+02:00",
        "credits": [
            _credit("a", "network-offer", "1", to="2015-06-30"),
            _credit("b", "network-offer-7-tokens", "1"),
        ],
        "consumptions": [
            _use("R0", "1", "2015-04-15T09:00:00+02:00", service="network-offer"),
            _use("R1", "3", "2015-04-16T09:00:00+02:00", service="network-offer"),
        ],
    }
    part = _credits_part(scenario_credits_only, scenario)
    assert [(a["request"], a["credit"], a["quantity"]) for a in part["allocations"]] == [
        ("R0", "a", "1"),
        ("R1", "b", "1"),
        ("R1", "a", "2"),
    ]
    words = json.dumps(part)
    assert "used for the overdraft (used up before, not a candidate): 2 drawn, -2 left" in words
    assert "used: rank 2, 2 drawn" not in words  # (until 2026-12-03)


def test_a_consumption_outside_a_credit_s_product_scope_is_said_to_be_for_its_product(
    scenario_credits_only: Path,
) -> None:
    scenario = {
        "id": "scope",
        "as_of": "2015-03-01T09:00:00+00:00",
        "credits": [
            _credit("tv-only", "network-offer", "5", scope={"products": ["tv-essentials"]}),
            _credit("any", "network-offer", "5"),
        ],
        "consumptions": [
            _use("R1", "1", "2015-03-01T09:00:00+00:00", credit_type="network-offer", product="tv-premium"),
        ],
    }
    words = json.dumps(_credits_part(scenario_credits_only, scenario))
    # until 2026-12-03 "the consumption is product tv-premium"
    assert "outside its scope: only for products tv-essentials, the consumption is for product tv-premium" in words


# --- cancellations: weekly cycles at the calendar's end; exceptions reading `.month` and `.day` -----


def test_weekly_cycles_of_a_commitment_ending_on_the_calendar_s_last_day_are_counted(rules: Path) -> None:
    scenario = {
        "id": "weekly-calendar-end",
        "as_of": "9999-06-01T09:00:00+00:00",
        "account": {"code": "A"},
        "subscription": {"code": "S", "plan": "tv-essentials-24", "billing_frequency": "weekly", "start": "9997-12-31"},
        "cancellation": {"date": "9999-06-01"},
    }
    # until 2026-12-03 an internal error: "ValueError: year 10000 is out of range"
    (term,) = json.loads(load_rules(rules).decide_json(scenario))["cancellation"]["terms"]
    assert (term["commitment_end"], term["remaining"]) == (
        "9999-12-31",
        {"cycles": 31, "of": 105, "frequency": "weekly"},
    )


_DECADE = """---
kind: term
code: decade
name: Ten years, cancellable only as the exception says
period: 10
unit: years
basis: calendar
early_cancellation: not_allowed
exceptions:
  - when: WHEN
    outcome: allowed
"""


@pytest.mark.parametrize(
    ("when", "cancelled", "earliest"),
    [
        ("cancellation.date.month == 2 and cancellation.date.year >= 2028", "2025-01-01", "2028-02-01"),
        ("cancellation.date.month == 2 and cancellation.date.year >= 2028", "2026-01-01", "2028-02-01"),
        ("cancellation.date.month > 10 and cancellation.date.year >= 2029", "2025-01-01", "2029-11-01"),
        ("cancellation.date.day == 31 and cancellation.date.year == 2028", "2025-01-01", "2028-01-31"),
        ("cancellation.date.day >= 29 and cancellation.date.month == 2", "2025-01-01", "2028-02-29"),
        # `<` and `<=` turn where the day (month) starts again: each month's first day, 1 January
        ("cancellation.date.day <= 5", "2025-01-10", "2025-02-01"),
        ("cancellation.date.month < 4", "2025-06-15", "2026-01-01"),
        ('cancellation.date.day == 1 and account.classification == "SME"', "2025-01-10", "2035-01-01"),
        # a day past the 8 years `.day` lists, after another condition's turn
        ("cancellation.date.day == 15 and cancellation.date >= 2034-06-01", "2025-01-01", "2034-06-15"),
    ],
)
def test_the_earliest_date_of_an_exception_reading_the_month_or_day_is_found_years_ahead(
    rules: Path, when: str, cancelled: str, earliest: str
) -> None:
    terms = rules / "catalog" / "terms.yaml"
    terms.write_text(terms.read_text(encoding="utf-8") + _DECADE.replace("WHEN", when), encoding="utf-8")
    edit(rules / "catalog" / "bundles.yaml", "term: sports-season", "term: decade")
    scenario = {
        "id": "month",
        "as_of": f"{cancelled}T09:00:00+00:00",
        "account": {"code": "A"},
        "subscription": {
            "code": "S",
            "plan": "tv-flex",
            "billing_frequency": "monthly",
            "start": "2025-01-01",
            "add_ons": ["sports-bundle"],
        },
        "cancellation": {"date": cancelled, "add_ons": ["sports-bundle"]},
    }
    decided = json.loads(load_rules(rules).decide_json(scenario))["cancellation"]
    # until 2026-12-03 stepped a day at a time for 900 days, then the commitment's end (2035-01-01)
    assert (decided["allowed"], decided["earliest"]) == (False, earliest)


def test_a_renewal_dated_before_the_subscription_starts_is_br615(rules: Path) -> None:
    scenario = {
        "id": "renewed-early",
        "as_of": "2015-09-15T09:00:00+01:00",
        "account": {"code": "A"},
        "subscription": {
            "code": "S",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
        },
        "cancellation": {"date": "2015-09-15", "renewed_on": "2014-01-01"},
    }
    with pytest.raises(ScenarioError) as raised:
        load_rules(rules).decide_json(scenario)
    # until 2026-12-03 decided: "renewed on 2014-01-01, before the cancellation …: the penalty stands"
    assert (raised.value.code, raised.value.field) == ("BR615", "cancellation.renewed_on")


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("released", None),  # two edits from `deceased`, another first letter: another word
        ("deceasde", "deceased"),  # a typo: two edits, the same first letter
        ("deceaced", "deceased"),  # one edit
        ("moved_abrod", "moved_abroad"),
        ("omved_abroad", "moved_abroad"),  # two letters swapped: one edit, whatever the first letter
        ("edceased", "deceased"),
    ],
)
def test_a_reason_two_edits_from_a_named_one_is_its_typo_only_with_the_same_first_letter(
    written: str, meant: str | None
) -> None:
    from engine.decide.terms import _reason_meant

    # until 2026-12-03 `released` was BR603, "it reads as `deceased`"
    assert _reason_meant(written, frozenset({"moved_abroad", "deceased"})) == meant


# --- scenarios: a date written as a date-time at midnight -------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start", "2015-01-01T00:00:00+02:00"),
        ("start", "2015-01-01T00:00:00Z"),
        ("cancellation", "2015-10-01T00:00:00Z"),
    ],
)
def test_a_date_field_written_as_a_date_time_at_midnight_is_refused_as_at_any_other_time(
    rules: Path, field: str, value: str
) -> None:
    scenario: dict[str, Any] = {
        "id": "midnight",
        "as_of": "2015-10-01T09:00:00+00:00",
        "account": {"code": "A"},
        "subscription": {
            "code": "S",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
        },
        "cancellation": {"date": "2015-10-01"},
    }
    if field == "start":
        scenario["subscription"]["start"] = value
    else:
        scenario["cancellation"]["date"] = value
    # until 2026-12-03 a midnight date-time was read as its date (10:00 was refused already)
    with pytest.raises(ScenarioInvalid) as raised:
        load_rules(rules).decide_json(scenario)
    assert "a date, written with a time of day" in str(raised.value)


# --- the review's findings ---------------------------------------------------------------------------

_PROBE = """
---
kind: discount
code: probe-auto
name: Probe
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 5, level: 1}
discounted_products:
  - product: tv-essentials
validity:
  effective: 2015-01-01
criteria:
  when: 'WHEN'
"""


@pytest.mark.parametrize(
    ("when", "codes"),
    [
        ('any s in {subscription.plan, subscription.billing_term_scheme} where s == "monthly-24"', []),
        ('any s in {subscription.billing_term_scheme, subscription.plan} where s == "tv-essentials-24"', []),
        ('any s in {subscription.billing_term_scheme} where s == "monthly-42"', ["BR302"]),
        ('any s in {subscription.plan, account.classification} where s == "Residential"', []),
    ],
)
def test_a_name_bound_to_codes_of_two_kinds_is_not_checked_as_the_first_kind(
    rules: Path, when: str, codes: list[str]
) -> None:
    path = rules / "discounts" / "customer_care.yaml"
    path.write_text(path.read_text(encoding="utf-8") + _PROBE.replace("WHEN", when), encoding="utf-8")
    # until 2026-12-03 (the first day of the check) `monthly-24` was "unknown plan"
    assert [d.code for d in found(rules)] == codes


@pytest.mark.parametrize("start", ["2015-01-01_00:00:00+02:00", "2015-01-01 00:00:00"])
def test_a_date_field_given_a_midnight_in_any_form_pydantic_reads_is_refused(rules: Path, start: object) -> None:
    scenario: dict[str, Any] = {
        "id": "midnight",
        "as_of": "2015-10-01T09:00:00+00:00",
        "account": {"code": "A"},
        "subscription": {"code": "S", "plan": "tv-essentials-24", "billing_frequency": "monthly", "start": start},
        "cancellation": {"date": "2015-10-01"},
    }
    with pytest.raises(ScenarioInvalid) as raised:
        load_rules(rules).decide(scenario)
    assert "a date, written with a time of day" in str(raised.value)


def test_the_scenario_schema_refuses_a_usage_quantity_below_zero_as_the_engine_does() -> None:
    import jsonschema

    schema = json.loads((REPO / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))
    record = {**schema["definitions"]["UsageRecord"], "definitions": schema["definitions"]}
    validator = jsonschema.Draft7Validator(record)
    at = "2015-06-10T10:00:00+02:00"
    assert [bool(list(validator.iter_errors({"at": at, "quantity": q}))) for q in ("-3", -3, "0", 0, "2.5")] == [
        True,
        True,
        False,
        False,
        False,
    ]


# --- billing runs on Dask --------------------------------------------------------------------------


def test_a_dask_address_that_takes_the_connection_and_never_answers_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import engine.run.dask as dask_run
    from engine.run.dask import ClusterLost, DaskCluster

    monkeypatch.setattr(dask_run, "ANSWER_TIMEOUT", 1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # takes connections (the kernel's backlog) and never speaks
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with pytest.raises(ClusterLost) as raised:  # until 2026-12-03 it waited for ever
            DaskCluster(load_rules(REPO / "rules"), "nightly.jsonl", address)
    finally:
        listener.close()
    assert "nothing answered as a Dask scheduler within 1 s" in str(raised.value)


def test_records_of_other_space_than_json_s_are_error_records_not_blanks() -> None:
    from engine.run import decide_records

    good = (REPO / "samples" / "run" / "nightly.jsonl").read_text(encoding="utf-8").splitlines()[0]
    records = [good, "\u00a0", "\u2028", "\x85", "\x0c" + good + "\x0b", "  \t", good]
    kinds = [o.kind for o in decide_records(load_rules(REPO / "rules").brief(), records)]
    # until 2026-12-03 the first three were dropped (no outcome) and the form feed's line decided
    assert kinds == ["decision", "error", "error", "error", "error", "decision"]


@pytest.mark.parametrize("start", [datetime(2015, 1, 1), datetime(2015, 1, 1, tzinfo=UTC)])
def test_a_typed_date_time_value_at_midnight_is_its_date_in_a_date_field(rules: Path, start: datetime) -> None:
    """A Parquet timestamp column, or a Python `datetime`, has no other way to give a date: at
    midnight it is that date (text must be the date alone)."""
    scenario: dict[str, Any] = {
        "id": "midnight",
        "as_of": "2015-10-01T09:00:00+00:00",
        "account": {"code": "A"},
        "subscription": {"code": "S", "plan": "tv-essentials-24", "billing_frequency": "monthly", "start": start},
        "cancellation": {"date": "2015-10-01"},
    }
    (term,) = load_rules(rules).decide(scenario)["cancellation"]["terms"]
    assert term["start"] == "2015-01-01"


def test_a_bom_does_not_hide_a_form_feed_before_the_object() -> None:
    from engine.run import decide_records

    good = (REPO / "samples" / "run" / "nightly.jsonl").read_text(encoding="utf-8").splitlines()[0]
    kinds = [o.kind for o in decide_records(load_rules(REPO / "rules").brief(), ["\ufeff\x0c" + good, "\ufeff\x0c"])]
    assert kinds == ["error", "error"]  # (until 2026-12-03 decided, and a blank)


def test_a_day_window_with_a_bound_left_out_is_no_window_of_no_time(rules: Path) -> None:
    edit(
        rules / "discounts" / "usage.yaml",
        '{day: sunday, from: "13:00:00", to: "18:00:00"}',
        '{day: sunday, from: "23:59:59"}',
    )
    assert found(rules) == []
