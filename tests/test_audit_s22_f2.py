"""Findings of the twenty-second session's balance audit (2026-12-03), fixed: a scenario date-time
finer than a microsecond is refused at the field (it was cut, and events were applied out of time
order); a number written as text with white space around it is refused (it was read as the
number); a refused balance event's facts carry the amount it names, and the debit apart; the
decimal places of an unquoted number are documented (a float keeps no trailing zeros)."""

from __future__ import annotations

import copy
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.cli.main import main
from engine.decide.scenarios import ScenarioInvalid, read_scenarios, validate_scenario
from engine.load import dotted
from engine.models._scenario_direct import build_scenario
from engine.models.scenario import Scenario
from engine.run.batch import decide_records
from engine.values import parse_number_text

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
SHIPPED = load_rules(REPO / "rules")

#: a scenario with every kind of date-time a scenario holds
BASE: dict[str, Any] = {
    "id": "t",
    "as_of": "2015-07-31T10:00:00+02:00",
    "usage": [{"at": "2015-07-30T10:00:00+02:00", "service_type": "VOD", "quantity": 2, "amount": "4.99 EUR"}],
    "consumptions": [
        {"id": "R1", "organisation": "globex-de", "credit_type": "sms", "quantity": 1, "at": "2015-07-30T10:00:00Z"}
    ],
    "credit_purchases": [{"id": "P1", "user": "john", "credit_type": "mail", "quantity": 5, "at": "2015-07-01T09:00Z"}],
    "balance": {"policy": "p", "events": [{"id": "E1", "type": "grant", "amount": 5, "at": "2015-07-01T09:00:00Z"}]},
}

DATE_TIMES: list[tuple[str | int, ...]] = [
    ("as_of",),
    ("usage", 0, "at"),
    ("consumptions", 0, "at"),
    ("credit_purchases", 0, "at"),
    ("balance", "events", 0, "at"),
]

FINE = "2015-07-01T09:00:00.000000100Z"
FINE_MESSAGE = (
    "`{}` is finer than a microsecond: billrules keeps time to the microsecond (at most six decimals of the second)"
)
FINE_HINT = "write the time to the microsecond, with at most six decimals of the second"


def _with(path: tuple[str | int, ...], value: Any, base: dict[str, Any] = BASE) -> dict[str, Any]:
    data = copy.deepcopy(base)
    inner: Any = data
    for step in path[:-1]:
        inner = inner[step]
    inner[path[-1]] = value
    return data


def _problems(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    checked = validate_scenario(data, None)
    return [(d.code, str(getattr(d, "field_path", "")), d.message, d.hint) for d in checked.diagnostics]


def _cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = main(args)
    return code, out.getvalue()


# --- F1: a date-time finer than a microsecond is refused, on every path ------------------------------


@pytest.mark.parametrize("written", [FINE, "2015-07-01T09:00:00.9999999Z", "2015-07-01 09:00:00,0000001+02:00"])
@pytest.mark.parametrize("path", DATE_TIMES, ids=dotted)
def test_a_date_time_finer_than_a_microsecond_is_refused_at_the_field(
    path: tuple[str | int, ...], written: str
) -> None:
    """`.000000100Z` was cut to `.000000Z`: a debit 100 ns after a grant, written first, was applied
    first and refused for an overdraft; `.9999999Z` was read as `.999999Z`."""
    data = _with(path, written)
    assert build_scenario(data) is None  # the direct path does not vouch for it: pydantic refuses it
    where = dotted(path)
    assert _problems(data) == [("BR602", where, f"scenario field `{where}`: {FINE_MESSAGE.format(written)}", FINE_HINT)]
    with pytest.raises(ScenarioInvalid) as raised:
        SHIPPED.decide(data)
    assert (raised.value.code, raised.value.field) == ("BR602", where)
    with pytest.raises(ScenarioInvalid) as raised:
        SHIPPED.decide_json(json.dumps(data))
    assert (raised.value.code, raised.value.field) == ("BR602", where)


@pytest.mark.parametrize("written", ["2015-07-01T09:00:00.000000000Z", "2015-07-01T09:00:00.1234560+02:00"])
def test_zeros_past_the_sixth_decimal_stay_accepted_alike_on_both_paths(written: str) -> None:
    for path in DATE_TIMES:
        data = _with(path, written)
        assert _problems(data) == []
        built = build_scenario(data)
        assert built is not None and built == Scenario.model_validate(data)


#: the audit's case: G is 100 ns before D, written after it
NANOS = {
    "id": "nanos",
    "as_of": "2015-09-30T00:00:00Z",
    "balance": {
        "policy": "standard-balance",
        "opening": 0,
        "events": [
            {"id": "D", "type": "debit", "amount": 10, "request": "r1", "at": "2015-09-01T10:00:00.000000100Z"},
            {"id": "G", "type": "grant", "amount": 10, "at": "2015-09-01T10:00:00.000000000Z"},
        ],
    },
}


def test_a_billing_run_and_decide_records_refuse_it_too(tmp_path: Path) -> None:
    outcomes = list(decide_records(SHIPPED, [NANOS, json.dumps(NANOS)]))
    assert [o.kind for o in outcomes] == ["error", "error"]
    for outcome in outcomes:
        record = json.loads(outcome.text)
        assert [(d["code"], d["field"]) for d in record["diagnostics"]] == [("BR602", "balance.events[0].at")]
    source, output, errors = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    source.write_text(json.dumps(NANOS) + "\n", encoding="utf-8")
    files = ["--input", str(source), "--output", str(output), "--errors", str(errors), "--workers", "1"]
    assert main(["run", "--rules", RULES, *files]) == 1
    (record,) = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [(d["code"], d["field"]) for d in record["diagnostics"]] == [("BR602", "balance.events[0].at")]


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".jsonl"])
def test_validate_and_decide_refuse_it_in_a_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"nanos{suffix}"
    path.write_text(json.dumps(NANOS) + "\n", encoding="utf-8")
    for args in (["validate", RULES, "--scenarios", str(path)], ["decide", "--rules", RULES, str(path)]):
        code, out = _cli(args)
        assert code == 1, (args, out)
        assert (
            "error[BR602] scenario field `balance.events[0].at`: "
            + FINE_MESSAGE.format("2015-09-01T10:00:00.000000100Z")
            in out
        ), (args, out)


def test_events_a_microsecond_apart_apply_in_time_order() -> None:
    data = copy.deepcopy(NANOS)
    data["balance"]["events"][0]["at"] = "2015-09-01T10:00:00.000001Z"
    balance = SHIPPED.decide(data)["balance"]
    assert [e["event"] for e in balance["ledger"]] == ["G", "D"]
    assert (balance["closing"], balance["refused"]) == ("0", [])


# --- F2: a number written as text with white space around it is refused -----------------------------


@pytest.mark.parametrize(
    ("written", "shown", "bare"), [(" 10 ", " 10 ", "10"), ("3\n", "3\\n", "3"), ("\t5", "\\t5", "5")]
)
@pytest.mark.parametrize(
    "path",
    [
        ("balance", "opening"),
        ("balance", "events", 0, "amount"),
        ("usage", 0, "quantity"),
        ("consumptions", 0, "quantity"),
    ],
    ids=dotted,
)
def test_a_number_written_with_white_space_around_it_is_refused(
    path: tuple[str | int, ...], written: str, shown: str, bare: str
) -> None:
    """The scenario schema's pattern refuses it (`validate --scenarios` with a JSON Schema tool);
    the engine read `" 10 "` as 10."""
    data = _with(path, written)
    assert build_scenario(data) is None
    where = dotted(path)
    message = f"scenario field `{where}`: `{shown}` is not a number: white space around the digits (write `{bare}`)"
    hint = "write the number alone, with no space, tab or line break around it"
    assert _problems(data) == [("BR602", where, message, hint)]
    assert _problems(_with(path, bare)) == []


def test_parse_number_text_takes_the_digits_alone() -> None:
    assert parse_number_text("12.50") == Decimal("12.50")
    for text in (" 10", "10 ", "1e1\n", "\u00a010"):
        with pytest.raises(ValueError, match="white space around the digits"):
            parse_number_text(text)


def test_a_number_of_a_str_subclass_is_read_as_text_is() -> None:
    """A `str` subclass (`numpy.str_`) was read by `Decimal` itself: `"1_000"` was a thousand."""

    class Text(str):
        pass

    for text in ("1_000", " 10"):
        data = _with(("balance", "opening"), Text(text))
        assert [p[0] for p in _problems(data)] == ["BR602"], text
    assert validate_scenario(_with(("balance", "opening"), Text("12.50")), None).scenario.balance.opening == Decimal(
        "12.50"
    )


def test_a_rule_file_discount_value_with_white_space_is_br405(tmp_path: Path) -> None:
    from engine.validate import validate_paths

    root = tmp_path / "rules"
    import shutil

    shutil.copytree(REPO / "rules", root)
    file = root / "discounts" / "customer_care.yaml"
    text = file.read_text(encoding="utf-8")
    assert "  range: [5, 50]\n" in text
    file.write_text(text.replace("  range: [5, 50]\n", '  range: [" 5", 50]\n', 1), encoding="utf-8")
    found = validate_paths([root])
    assert [d.code for d in found] == ["BR405"], found
    assert "white space around the digits" in found[0].message


# --- F3: a refused event's facts carry the amount it names ------------------------------------------


def _refused(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The refused events of a standard-balance scenario with these events, by event id."""
    data = {
        "id": "f",
        "as_of": "2015-09-30T00:00:00Z",
        "balance": {
            "policy": "standard-balance",
            "opening": 50,
            "events": [{**e, "at": f"2015-09-{i + 1:02d}T00:00:00Z"} for i, e in enumerate(events)],
        },
    }
    return {r["facts"]["event"]: r for r in SHIPPED.decide(data)["balance"]["refused"]}


EVENTS = [
    {"id": "W1", "type": "withdraw", "amount": 10},
    {"id": "R1", "type": "refund", "request": "W1", "reason": "cancelled", "amount": 10},
    {"id": "D1", "type": "debit", "request": "s", "amount": 10},
    {"id": "D2", "type": "debit", "request": "s", "amount": 12},
    {"id": "R2", "type": "refund", "request": "s", "reason": "failed"},
    {"id": "R3", "type": "refund", "request": "s", "reason": "failed", "amount": 7},
    {"id": "R4", "type": "refund", "request": "s", "reason": "failed"},
    {"id": "R5", "type": "refund", "request": "t", "reason": "failed"},
]


def test_every_refused_event_carries_the_amount_it_names() -> None:
    """`refund_repeated`'s `amount` was the debit's (R3 named 7, its facts said 10); `debit_repeated`
    and `refund_without_debit` left the event's own amount out."""
    refused = _refused(EVENTS)
    pick = {e: {k: refused[e]["facts"].get(k) for k in ("amount", "debited")} for e in refused}
    assert [(e, refused[e]["code"]) for e in refused] == [
        ("R1", "refund_without_debit"),
        ("D2", "debit_repeated"),
        ("R3", "refund_repeated"),
        ("R4", "refund_repeated"),
        ("R5", "refund_without_debit"),
    ]
    assert pick == {
        "R1": {"amount": "10", "debited": None},
        "D2": {"amount": "12", "debited": "10"},
        "R3": {"amount": "7", "debited": "10"},
        "R4": {"amount": "10", "debited": "10"},  # a refund naming none asks back the debit
        "R5": {"amount": None, "debited": None},  # nothing named, nothing debited
    }
    assert refused["D2"]["facts"]["debited_by"] == "D1" and refused["R3"]["facts"]["refunded_by"] == "R2"
    assert refused["D2"]["text"] == (
        "debit of 12 credits for request `s` refused: the request was already debited 10 credits by event `D1`"
    )
    assert refused["R3"]["text"] == "refund of request `s` refused: its 10 credits were already returned by event `R2`"
    assert refused["R1"]["text"] == "refund of request `W1` refused: nothing was debited for that request before it"


def test_the_amount_named_is_written_as_the_event_writes_it() -> None:
    events = [
        {"id": "D1", "type": "debit", "request": "s", "amount": "10"},
        {"id": "R1", "type": "refund", "request": "s", "reason": "failed", "amount": "10.000"},
        {"id": "R2", "type": "refund", "request": "s", "reason": "failed", "amount": "10.0"},
    ]
    facts = _refused(events)["R2"]["facts"]
    assert (facts["amount"], facts["debited"]) == ("10.0", "10.000")


# --- F4: the places of a number written unquoted ----------------------------------------------------


def test_a_quoted_amount_keeps_its_places_and_readme_says_to_quote_it(tmp_path: Path) -> None:
    """A YAML or JSON number is read as a float, which keeps no trailing zeros (`12.50` is 12.5):
    README says so and to quote the amount; quoted, its places are kept."""
    text = (
        "id: z\nas_of: 2015-09-30T00:00:00Z\nbalance:\n  policy: standard-balance\n  opening: 20\n"
        "  events:\n    - {id: E1, type: debit, amount: AMOUNT, request: r1, at: 2015-09-01T00:00:00Z}\n"
    )
    results = {}
    for written in ("12.50", '"12.50"'):
        path = tmp_path / "z.yaml"
        path.write_text(text.replace("AMOUNT", written), encoding="utf-8")
        (checked,) = read_scenarios(path)
        balance = SHIPPED.decide(checked.scenario)["balance"]
        results[written] = (balance["opening"], balance["ledger"][0]["quantity"], balance["closing"])
    assert results == {"12.50": ("20.0", "12.5", "7.5"), '"12.50"': ("20.00", "12.50", "7.50")}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Credit balance (SPEC 3.7, seed 004)")[1].split("\n### ")[0]
    assert 'write it in quotes, `amount: "12.50"`, to\n  keep its places' in section
