"""Audit c3 of the twenty-sixth session (2026-12-04), findings F6, F1 and F4: date-times.

- F6: date-times given typed in a named time zone (Python `datetime`s in `ZoneInfo`, a Parquet
  `timestamp[tz=Europe/Berlin]` column, `pandas.Timestamp`s) were compared and subtracted by their
  local time: Python does so for two date-times that share one `tzinfo` object. Around the autumn
  change of the clocks a debit at 02:40+02:00 was applied after a grant at 02:10+01:00 half an
  hour later, a consumption drew on a credit bought after it, and spans, windows and `max` were an
  hour off. Each is read at its fixed offset now, as ISO text is, and decided as the text is.
- F1: a date-time with an offset without its minutes (`+02`), a space before its zone, a zone's
  name (`UTC`), an offset with seconds or an hour without minutes was told pydantic's "Input
  should be a valid datetime or date, unexpected extra characters" ("or date" where a date is
  refused); it is "`…` is not a date-time: write it like `…`" now, with the text to write.
- F4: a span between two date-times in a trace was shown in whole days ("1 day" beside "`<= 1
  day` does not hold" for 1 day and 30 minutes); it is shown as compared ("1 day 30 minutes").
"""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine import load_rules
from engine.criteria.explain import show
from engine.criteria.runtime import Span
from engine.decide.scenarios import validate_scenario
from engine.models._direct import validate as direct_validate
from engine.models.common import fixed_offset
from engine.models.criteria import DateTimeRange
from engine.pipeline import compile_ruleset

REPO = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")

#: the autumn change of the clocks in Berlin: 02:40+02:00 (00:40Z) comes half an hour before
#: 02:10+01:00 (01:10Z), whose local time is earlier
FIRST = datetime(2015, 10, 25, 0, 40, tzinfo=UTC).astimezone(BERLIN)
LATER = datetime(2015, 10, 25, 1, 10, tzinfo=UTC).astimezone(BERLIN)

TIMED_RULES = """\
kind: discount
code: fa-span-1d
name: fa span of a day
type: auto_apply
classification: subscription
applied_service_type: both
state: effective
amount: {type: percentage, value: 1, level: 1}
discounted_products:
  - product: tv-essentials
validity:
  effective: 2000-01-01
criteria:
  when: 'any u in usage where as_of - u.at <= 1 day'
---
kind: discount
code: fa-within-1d
name: fa within a day
type: auto_apply
classification: subscription
applied_service_type: both
state: effective
amount: {type: percentage, value: 1, level: 1}
discounted_products:
  - product: tv-essentials
validity:
  effective: 2000-01-01
criteria:
  when: 'count(u in usage within 1 day) >= 1'
---
kind: discount
code: fa-max
name: fa latest usage
type: auto_apply
classification: subscription
applied_service_type: both
state: effective
amount: {type: percentage, value: 1, level: 1}
discounted_products:
  - product: tv-essentials
validity:
  effective: 2000-01-01
criteria:
  when: 'max(usage.at) == 2015-10-25T01:10:00Z'
"""


CREDIT_RULES = """\
kind: organisation
code: fa-org
name: fa org
---
kind: credit_type
code: fa-type
name: fa credits
service: fa-svc
measure: amount
---
kind: user
code: fa-owner
name: fa owner
organisation: fa-org
---
kind: user
code: fa-user
name: fa user
organisation: fa-org
credit_owner: fa-owner
"""


@pytest.fixture(scope="module")
def shipped() -> Any:
    return load_rules(REPO / "rules")


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("fa") / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "discounts" / "zz_fa.yaml").write_text(TIMED_RULES, encoding="utf-8")
    (root / "credits" / "zz_fa.yaml").write_text(CREDIT_RULES, encoding="utf-8")
    return load_rules(root)


def _as_text(value: Any) -> Any:
    """The scenario with every date-time written as ISO text (the reference)."""
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


# --- F6: a named zone's date-times are instants ------------------------------------------------


def _balance(grant: Any, debit: Any) -> dict[str, Any]:
    return {
        "id": "fold",
        "as_of": "2015-10-26T13:00:00+01:00",
        "balance": {
            "policy": "prepaid-strict",
            "opening": 0,
            "events": [
                {"id": "EV-GRANT", "type": "grant", "amount": 10, "at": grant},
                {"id": "EV-DEBIT", "type": "debit", "amount": 10, "request": "svc-1", "at": debit},
            ],
        },
    }


def test_a_debit_before_a_grant_across_the_change_of_the_clocks_is_refused(shipped: Any) -> None:
    # the debit (02:40+02:00) is half an hour before the grant (02:10+01:00): the strict policy
    # refuses it (until 2026-12-04, in ZoneInfo, the grant came first and the debit was taken)
    typed = shipped.decide(_balance(LATER, FIRST))["balance"]
    assert typed == shipped.decide(_as_text(_balance(LATER, FIRST)))["balance"]
    assert typed["closing"] == "10"
    assert [line["event"] for line in typed["ledger"]] == ["EV-GRANT"]
    assert [r["code"] for r in typed["refused"]] == ["overdraft_refused"]
    assert typed["refused"][0]["facts"]["at"] == "2015-10-25T02:40:00+02:00"


def test_a_consumption_before_the_purchase_of_its_credit_is_refused(timed: Any) -> None:
    # the consumption (02:40+02:00) is half an hour before the purchase (02:10+01:00): no credit
    # yet (until 2026-12-04, in ZoneInfo, it drew on the credit bought after it)
    scenario = {
        "id": "fold-credits",
        "as_of": "2015-10-26T13:00:00+01:00",
        "credit_purchases": [{"id": "P1", "user": "fa-user", "credit_type": "fa-type", "quantity": "5", "at": LATER}],
        "consumptions": [{"id": "R1", "user": "fa-user", "credit_type": "fa-type", "quantity": "1", "at": FIRST}],
    }
    typed = timed.decide(scenario)["credits"]
    assert typed == timed.decide(_as_text(scenario))["credits"]
    assert typed["allocations"] == []
    assert [r["request"] for r in typed["refused"]] == ["R1"]


def _usage(as_of: Any, *ats: Any) -> dict[str, Any]:
    return {
        "id": "span",
        "as_of": as_of,
        "subscription": {
            "code": "S1",
            "plan": "tv-flex",
            "billing_frequency": "monthly",
            "start": "2010-01-01",
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
        "usage": [{"at": at, "product": "vod-rental", "service_type": "VOD"} for at in ats],
    }


def _statuses(rules: Any, scenario: dict[str, Any]) -> dict[str, str]:
    return {
        d["code"]: d["status"]
        for d in rules.decide(scenario)["discounts"]["definitions"]
        if d["code"].startswith("fa-")
    }


@pytest.mark.parametrize(
    ("as_of", "at", "holds"),
    [
        # spring: 23.5 hours apart, the local times 24.5 (until 2026-12-04 "more than a day")
        (datetime(2015, 3, 29, 10, 0, tzinfo=UTC), datetime(2015, 3, 28, 10, 30, tzinfo=UTC), "applied"),
        # autumn: 24.5 hours apart, the local times 23.5 (until 2026-12-04 "within a day")
        (datetime(2015, 10, 25, 11, 0, tzinfo=UTC), datetime(2015, 10, 24, 10, 30, tzinfo=UTC), "not_eligible"),
    ],
)
def test_spans_and_windows_across_the_change_of_the_clocks(
    timed: Any, as_of: datetime, at: datetime, holds: str
) -> None:
    typed = _usage(as_of.astimezone(BERLIN), at.astimezone(BERLIN))
    statuses = _statuses(timed, typed)
    assert statuses == _statuses(timed, _as_text(typed))
    assert statuses["fa-span-1d"] == statuses["fa-within-1d"] == holds


def test_max_of_date_times_is_the_latest_instant(timed: Any) -> None:
    # 02:10+01:00 is later than 02:40+02:00 (until 2026-12-04 `max` took the local time 02:40)
    typed = _usage("2015-10-26T12:00:00+01:00", FIRST, LATER)
    assert _statuses(timed, typed)["fa-max"] == "applied"
    assert _statuses(timed, _as_text(typed))["fa-max"] == "applied"


def test_a_named_zone_is_read_at_its_fixed_offset() -> None:
    scenario = validate_scenario(_balance(LATER, FIRST), None).scenario
    first, later = (event.at for event in scenario.balance.events[::-1])
    assert first < later and later - first == timedelta(minutes=30)
    assert (first.isoformat(), later.isoformat()) == ("2015-10-25T02:40:00+02:00", "2015-10-25T02:10:00+01:00")
    assert type(first) is datetime and first.tzinfo is not BERLIN
    # as the same text gives it
    text = validate_scenario(_as_text(_balance(LATER, FIRST)), None).scenario
    assert [e.at.tzinfo for e in text.balance.events] == [e.at.tzinfo for e in scenario.balance.events]


def test_fixed_offset_keeps_the_instant_and_the_local_time() -> None:
    naive = datetime(2015, 6, 1, 10, 0)
    assert fixed_offset(naive) is naive  # (read as UTC later, as text without an offset)
    plain = datetime(2015, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert fixed_offset(plain) is plain
    lmt = datetime(1890, 1, 1, 12, 0, tzinfo=BERLIN)  # local mean time: +00:53:28
    fixed = fixed_offset(lmt)
    assert fixed == lmt and fixed.utcoffset() == timedelta(minutes=53, seconds=28)
    assert (fixed.hour, fixed.minute) == (12, 0)


def test_a_pandas_timestamp_in_a_named_zone_is_a_plain_date_time() -> None:
    pd = pytest.importorskip("pandas")
    stamp = pd.Timestamp("2015-10-25T02:10:00+01:00").tz_convert("Europe/Berlin")
    scenario = validate_scenario(_balance(stamp, FIRST), None).scenario
    grant = scenario.balance.events[0].at
    assert type(grant) is datetime and grant.isoformat() == "2015-10-25T02:10:00+01:00"


def test_a_rule_files_date_time_given_typed_is_at_its_fixed_offset() -> None:
    bounds = direct_validate(DateTimeRange, {"from": FIRST, "to": LATER})
    assert bounds.from_ < bounds.to  # type: ignore[operator]
    assert bounds.to.isoformat() == "2015-10-25T02:10:00+01:00"  # type: ignore[union-attr]


def test_a_parquet_column_in_a_named_zone_is_decided_as_its_text(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import json

    from engine.cli.main import main

    event = pa.struct(
        [
            ("id", pa.string()),
            ("type", pa.string()),
            ("amount", pa.string()),
            ("request", pa.string()),
            ("at", pa.timestamp("us", tz="Europe/Berlin")),
        ]
    )
    events = [
        {"id": "EV-GRANT", "type": "grant", "amount": "10", "request": None, "at": LATER},
        {"id": "EV-DEBIT", "type": "debit", "amount": "10", "request": "svc-1", "at": FIRST},
    ]
    balance = pa.struct([("policy", pa.string()), ("opening", pa.string()), ("events", pa.list_(event))])
    table = pa.table(
        {
            "id": ["fold"],
            "as_of": pa.array([datetime(2015, 10, 26, 12, 0, tzinfo=UTC)], type=pa.timestamp("us", tz="Europe/Berlin")),
            "balance": pa.array([{"policy": "prepaid-strict", "opening": "0", "events": events}], type=balance),
        }
    )
    source, output = tmp_path / "in.parquet", tmp_path / "out.jsonl"
    pq.write_table(table, source)
    rules = str(REPO / "rules")
    assert main(["run", "--rules", rules, "--input", str(source), "--output", str(output), "--workers", "1"]) == 0
    (decision,) = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert decision["balance"]["closing"] == "10"
    assert [r["code"] for r in decision["balance"]["refused"]] == ["overdraft_refused"]
    assert [line["event"] for line in decision["balance"]["ledger"]] == ["EV-GRANT"]


# --- F1: a date-time's zone written loosely is told in billrules' words -----------------------


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "2015-03-29T02:30:00+02",
            "`2015-03-29T02:30:00+02` is not a date-time: write it like `2015-03-29T02:30:00+02:00` "
            "(an offset is written with its minutes, `+02:00`)",
        ),
        (
            "2015-03-29T02:30:00 +02:00",
            "`2015-03-29T02:30:00 +02:00` is not a date-time: write it like `2015-03-29T02:30:00+02:00` "
            "(no space before the zone)",
        ),
        (
            "2015-03-29T02:30:00UTC",
            "`2015-03-29T02:30:00UTC` is not a date-time: write it like `2015-03-29T02:30:00Z` "
            "(UTC is written `Z` or `+00:00`)",
        ),
        (
            "2015-03-29T02:30:00+00:00:30",
            "`2015-03-29T02:30:00+00:00:30` is not a date-time: write it like `2015-06-15T10:00:00+01:00` "
            "(an offset is written in hours and minutes, `±HH:MM`, without seconds)",
        ),
        (
            "2015-03-29T00Z",
            "`2015-03-29T00Z` is not a date-time: write it like `2015-03-29T00:00Z` "
            "(a time of day has its minutes, `00:00`)",
        ),
        (
            "2015-03-29T02:30:00+2:00",
            "`2015-03-29T02:30:00+2:00` is not a date-time: write it like `2015-03-29T02:30:00+02:00` "
            "(an offset is written `±HH:MM`, its hours in two digits: `+02:00`)",
        ),
        (
            "2015-03-29T02:30:00 CET",
            "`2015-03-29T02:30:00 CET` is not a date-time: write it like `2015-06-15T10:00:00+01:00` "
            "(a time zone is written as its offset from UTC, such as `+01:00`, not by its name `CET`; "
            "no space before the zone)",
        ),
    ],
)
@pytest.mark.parametrize("where", ["as_of", "usage.0.at"])
def test_a_loosely_written_zone_is_told_how_to_write_it(written: str, message: str, where: str) -> None:
    scenario = _usage("2015-03-29T12:00:00+02:00", "2015-03-29T10:00:00+02:00")
    if where == "as_of":
        scenario["as_of"] = written
    else:
        scenario["usage"][0]["at"] = written
    shown = "as_of" if where == "as_of" else "usage[0].at"
    diagnostics = validate_scenario(copy.deepcopy(scenario), None).diagnostics
    assert [(d.code, d.message) for d in diagnostics] == [("BR602", f"scenario field `{shown}`: {message}")]
    assert "valid datetime or date" not in diagnostics[0].message


@pytest.mark.parametrize(
    "written",
    ["2015-03-29T02:30:00+0200", "2015-03-29T02:30:00-00:00", "2015-03-29T02:30:00,5Z", "2015-03-29 02:30Z"],
)
def test_the_forms_read_before_are_read_still(written: str) -> None:
    result = validate_scenario(_usage(written, "2015-03-29T00:00:00Z"), None)
    assert result.diagnostics == [] and result.scenario is not None


def test_a_rule_files_loosely_written_zone_is_br207_in_the_same_words(tmp_path: Path) -> None:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "credits" / "zz_fa.yaml"
    path.write_text(
        "kind: credit_type\ncode: fa-dates\nname: fa dates\nservice: fa-svc\nmeasure: amount\ncriteria:\n"
        '  execution_dates: {from: "2015-03-29T02:30:00+02", to: "2015-10-25T02:30:00 +01:00"}\n',
        encoding="utf-8",
    )
    found = [(d.code, d.message) for d in compile_ruleset(root).diagnostics if d.severity.value == "error"]
    assert found == [
        (
            "BR207",
            "`criteria.execution_dates.from`: `2015-03-29T02:30:00+02` is not a date-time: write it like "
            "`2015-03-29T02:30:00+02:00` (an offset is written with its minutes, `+02:00`)",
        ),
        (
            "BR207",
            "`criteria.execution_dates.to`: `2015-10-25T02:30:00 +01:00` is not a date-time: write it like "
            "`2015-10-25T02:30:00+01:00` (no space before the zone)",
        ),
    ]


# --- F4: a span of date-times is shown as compared ---------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (
            "2015-06-01T09:30:00+00:00",
            "2015-06-02T10:00:00+00:00",
            "1 day 30 minutes (since 2015-06-01 09:30:00+00:00)",
        ),
        (
            "2015-06-01T10:00:00+00:00",
            "2015-06-02T10:00:00.500000+00:00",
            "1 day 0.5 seconds (since 2015-06-01 10:00:00+00:00)",
        ),
        ("2015-06-01T10:00:00+00:00", "2015-06-02T10:00:00+00:00", "1 day (since 2015-06-01 10:00:00+00:00)"),
        ("2015-06-01T10:00:00+02:00", "2015-06-01T10:00:00+02:00", "0 seconds (since 2015-06-01 10:00:00+02:00)"),
        (
            "2015-07-01T03:00:00+02:00",
            "2015-07-01T02:00:00+02:00",
            "none yet (2015-07-01 03:00:00+02:00 is 1 hour later)",
        ),
    ],
)
def test_a_span_of_date_times_is_shown_to_the_microsecond(start: str, end: str, shown: str) -> None:
    assert show(Span(datetime.fromisoformat(start), datetime.fromisoformat(end))) == shown


def test_a_span_of_dates_is_shown_in_days_still() -> None:
    from datetime import date

    assert show(Span(date(2015, 5, 1), date(2015, 6, 9))) == "39 days (since 2015-05-01)"


def test_the_trace_shows_the_span_it_compared(timed: Any) -> None:
    scenario = _usage("2015-06-02T10:00:00Z", "2015-06-01T09:30:00Z")
    trace = timed.decide(scenario, explain=True)["trace"]["discount:fa-span-1d"]
    (step,) = [s for step in trace for s in step["steps"] if s["condition"] == "as_of - u.at <= 1 day"]
    assert step["actual"] == "1 day 30 minutes (since 2015-06-01 09:30:00+00:00)"
    assert step["verdict"] == "does not hold"
