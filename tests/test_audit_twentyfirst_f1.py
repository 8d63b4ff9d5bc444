"""Findings of the twenty-first session's audits (2026-12-03), scenario fields: a date alone where a
scenario wants a date-time (`as_of`, a usage record's `at`, …) is refused at the field (it was read
as midnight UTC), and a usage record's quantity or amount below zero is refused at the field (a
record of -3 took 3 off a `sum` of the usage). Both on every path: the direct builder and pydantic,
`validate --scenarios`, `decide`, `run` and `test`."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.cli.main import main
from engine.decide.scenarios import ScenarioInvalid, validate_scenario
from engine.load import dotted, load_file
from engine.models._scenario_direct import build_scenario
from engine.models.criteria import DateTimeRange
from engine.models.scenario import Scenario

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
SAMPLE = REPO / "samples" / "discounts" / "usage_vod_weekend_nights.yaml"

#: a scenario with every kind of date-time a scenario holds, and dates that are dates by design
BASE: dict[str, Any] = {
    "id": "t",
    "as_of": "2015-07-31T10:00:00+02:00",
    "usage": [{"at": "2015-07-30T10:00:00+02:00", "service_type": "VOD", "quantity": 2, "amount": "4.99 EUR"}],
    "consumptions": [
        {
            "id": "R1",
            "organisation": "globex-de",
            "credit_type": "sms",
            "quantity": 1,
            "at": "2015-07-30T10:00:00+02:00",
        }
    ],
    "credit_purchases": [{"id": "P1", "user": "john", "credit_type": "mail", "quantity": 5, "at": "2015-07-01T09:00Z"}],
    "balance": {"policy": "p", "events": [{"id": "E1", "type": "grant", "amount": 5, "at": "2015-07-01T09:00:00Z"}]},
    "discount_history": [{"discount": "loyalty-5", "on": "2015-07-01"}],
}

DATE_TIMES: list[tuple[str | int, ...]] = [
    ("as_of",),
    ("usage", 0, "at"),
    ("consumptions", 0, "at"),
    ("credit_purchases", 0, "at"),
    ("balance", "events", 0, "at"),
]


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    inner: Any = data
    for step in path[:-1]:
        inner = inner[step]
    inner[path[-1]] = value
    return data


def _problems(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(code, field, message, hint) of each diagnostic of `data`, validated as `decide` validates it."""
    checked = validate_scenario(data, None)
    return [(d.code, str(getattr(d, "field_path", "")), d.message, d.hint) for d in checked.diagnostics]


def _cli(args: list[str]) -> tuple[int, str]:
    """The exit code and what the command wrote (its output and its diagnostics)."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(args)
    return code, out.getvalue()


def test_the_scenario_holding_every_date_time_passes_both_paths_alike() -> None:
    assert _problems(BASE) == []
    assert build_scenario(BASE) == Scenario.model_validate(BASE)


# --- 1. a date alone in a date-time field is refused at the field -----------------------------------


@pytest.mark.parametrize("path", DATE_TIMES, ids=dotted)
def test_a_date_alone_in_a_date_time_field_is_refused_at_the_field(path: tuple[str | int, ...]) -> None:
    """`"2015-08-01"` was read as 2015-08-01T00:00 UTC: a usage record of the day after `as_of`
    (2015-07-31T23:00-05:00) was counted, and matched Friday's night window at "00:00:00"."""
    data = _with(path, "2015-08-01")
    assert build_scenario(data) is None  # the direct path does not vouch for it: pydantic refuses it
    where = dotted(path)
    assert _problems(data) == [
        (
            "BR602",
            where,
            f"scenario field `{where}`: `2015-08-01` is a date alone: a date-time needs its time of day",
            "write the time of day and the offset from UTC too, e.g. `2015-08-01T00:00:00+02:00`",
        )
    ]


@pytest.mark.parametrize("path", DATE_TIMES, ids=dotted)
def test_a_python_date_in_a_date_time_field_is_refused_too(path: tuple[str | int, ...]) -> None:
    """A caller's (or a Parquet date column's) `date` was midnight UTC as well."""
    with pytest.raises(ScenarioInvalid) as raised:
        load_rules(REPO / "rules").decide(_with(path, date(2015, 8, 1)))
    assert (raised.value.code, raised.value.field) == ("BR602", dotted(path))
    assert raised.value.hint == "write the time of day and the offset from UTC too, e.g. `2015-08-01T00:00:00+02:00`"


@pytest.mark.parametrize(
    "written", ["2015-08-01T10:00:00", "2015-08-01t10:00", "2015-08-01 10:00:00Z", "2015-08-01_10:00"]
)
def test_a_date_time_with_its_time_stays_accepted_alike_on_both_paths(written: str) -> None:
    """A zone-less date-time stays accepted (read as UTC); every separator pydantic reads is kept."""
    for path in DATE_TIMES:
        data = _with(path, written)
        assert _problems(data) == []
        assert build_scenario(data) == Scenario.model_validate(data)


def test_a_rule_files_execution_dates_bound_may_still_be_a_date() -> None:
    """A date bound of `execution_dates` covers its whole day (README): not a scenario's date-time."""
    assert DateTimeRange.model_validate({"from": "2015-08-01"}).from_.isoformat() == "2015-08-01T00:00:00"


def _sample_with_usage_on(day: str, tmp_path: Path) -> Path:
    text = SAMPLE.read_text(encoding="utf-8").replace("  - at: 2015-06-05T21:10:00+02:00", f"  - at: {day}", 1)
    assert f"  - at: {day}   # Friday evening\n" in text
    path = tmp_path / "date_alone.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_decide_and_test_refuse_a_date_alone_with_exit_1(tmp_path: Path) -> None:
    path = _sample_with_usage_on("2015-06-05", tmp_path)
    for args in (
        ["validate", RULES, "--scenarios", str(path)],
        ["decide", "--rules", RULES, str(path)],
        ["test", "--rules", RULES, str(path)],
    ):
        code, out = _cli(args)
        assert code == 1, args
        assert "error[BR602] scenario field `usage[0].at`: `2015-06-05` is a date alone" in out, (args, out)
        assert "e.g. `2015-06-05T00:00:00+02:00`" in out, (args, out)


def test_a_billing_run_gives_an_error_record_for_a_date_alone(tmp_path: Path) -> None:
    (document,) = load_file(_sample_with_usage_on("2015-06-05", tmp_path)).documents
    data = {k: v for k, v in document.data.items() if k != "expect"}
    good = {**data, "id": "good", "usage": data["usage"][1:]}
    source, output, errors = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    source.write_text(f"{json.dumps(good)}\n{json.dumps(data)}\n", encoding="utf-8")
    files = ["--input", str(source), "--output", str(output), "--errors", str(errors), "--workers", "1"]
    assert main(["run", "--rules", RULES, *files]) == 1
    (record,) = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert (record["line"], record["scenario"]) == (2, data["id"])
    assert [(d["code"], d["field"]) for d in record["diagnostics"]] == [("BR602", "usage[0].at")]
    assert len(output.read_text(encoding="utf-8").splitlines()) == 1


# --- 5. a usage record's quantity or amount below zero is refused at the field ---------------------


@pytest.mark.parametrize(
    ("field", "value", "shown", "what"),
    [
        ("quantity", -3, "-3", "the quantity used"),
        ("quantity", "-0.5", "-0.5", "the quantity used"),
        ("quantity", -0.001, "-0.001", "the quantity used"),
        ("amount", "-4.99 EUR", "-4.99 EUR", "the rated charge"),
    ],
)
def test_a_usage_quantity_or_amount_below_zero_is_refused_at_the_field(
    field: str, value: Any, shown: str, what: str
) -> None:
    """Accepted until 2026-12-03: records of 6 and -3 summed to 3, below a `sum … >= 5` threshold."""
    data = _with(("usage", 0, field), value)
    assert build_scenario(data) is None
    assert _problems(data) == [
        (
            "BR602",
            f"usage[0].{field}",
            f"scenario field `usage[0].{field}`: `{shown}` is below zero (usage is what was used: 0 or more)",
            f"write {what}, 0 or more; leave a refund or a correction out of `usage`",
        )
    ]


@pytest.mark.parametrize(("field", "value"), [("quantity", 0), ("quantity", "0.0"), ("amount", "0.00 EUR")])
def test_a_usage_quantity_or_amount_of_zero_stays_accepted_alike_on_both_paths(field: str, value: Any) -> None:
    data = _with(("usage", 0, field), value)
    assert _problems(data) == []
    built = build_scenario(data)
    assert built is not None and built == Scenario.model_validate(data)


def test_negative_usage_is_refused_by_decide_with_exit_1(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace("    amount: 4.99 EUR\n", "    amount: -4.99 EUR\n", 1)
    path = tmp_path / "negative.yaml"
    path.write_text(text, encoding="utf-8")
    code, out = _cli(["decide", "--rules", RULES, str(path)])
    assert code == 1
    assert "error[BR602] scenario field `usage[0].amount`: `-4.99 EUR` is below zero" in out
