"""Findings of the fourteenth session (2026-12-02): audits' reproductions and the closing
note's open items, each with the outcome SPEC or README requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from tests.test_audit_thirteenth import _rules_with

REPO = Path(__file__).resolve().parent.parent


# --- credits: `why` names the precedence key that put a credit after the one before it -----------


def _credit(code: str, **changes: Any) -> dict[str, Any]:
    item = {
        "code": code,
        "type": "sms-credits",  # (no rule credit of the type in the consumer's chain)
        "quantity": 1,
        "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
        "holder": "globex-de",
        "issued": "2015-03-01",
        "allocation": "all_organisations",
    }
    item.update(changes)
    return item


def _why(rules: Any, credits: list[dict[str, Any]], quantity: int = 1) -> dict[str, dict[str, Any]]:
    data = {
        "id": "c",
        "as_of": "2015-04-15T09:00:00+02:00",
        "credits": credits,
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-de-berlin",
                "credit_type": "sms-credits",
                "quantity": quantity,
                "at": "2015-04-15T09:00:00+02:00",
            }
        ],
    }
    decision = rules.decide(data, explain=True)
    return {c["credit"]: c["verdict"] for w in decision["credits"]["why"] for c in w["credits"]}


def test_why_names_the_key_that_ranked_a_credit_after_the_previous_one(tmp_path: Path) -> None:
    order = "credit_precedence: [allocation, expiry, tree_distance, issue_date, id]"
    root = _rules_with(tmp_path, "ruleset.yaml", order, "credit_precedence: [priority, expiry, tree_distance, id]")
    rules = load_rules(root)
    why = _why(
        rules,
        [
            _credit("a-prio", priority=1, usage_period={"from": "2015-01-01", "to": "2015-12-31"}),
            _credit("b-no-prio-soon", usage_period={"from": "2015-01-01", "to": "2015-05-31"}),
            _credit("c-no-prio-never", usage_period={"from": "2015-01-01"}, holder="globex-de-berlin"),
            _credit("d-never-far", usage_period={"from": "2015-01-01"}, holder="globex-de"),
            _credit("e-never-far", usage_period={"from": "2015-01-01"}, holder="globex-de"),
        ],
        quantity=2,
    )
    assert why["a-prio"]["facts"] == {"rank": 1, "quantity": "1", "remaining": "0"}  # first: nothing before it
    assert why["a-prio"]["text"] == "used: rank 1, 1 drawn, 0 left"
    assert why["b-no-prio-soon"]["facts"] == {
        "rank": 2,
        "quantity": "1",
        "remaining": "0",
        "after": "a-prio",
        "decided_by": "priority",
        "before_value": "1",
        "value": "none",
    }
    assert why["b-no-prio-soon"]["text"] == (
        "used: rank 2, 1 drawn, 0 left; after `a-prio`, which has a priority (1) where this one has none"
    )
    assert why["c-no-prio-never"]["text"] == (
        "a candidate (rank 3, after `b-no-prio-soon`, which expires (2015-05-31) where this one never does); "
        "not needed, earlier credits covered the consumption"
    )
    assert why["d-never-far"]["facts"]["decided_by"] == "tree_distance"
    assert "whose holder is nearer (the consumer itself against its parent)" in why["d-never-far"]["text"]
    assert why["e-never-far"]["facts"]["decided_by"] == "id"
    assert "after `d-never-far`, whose id comes first (tied on every other key)" in why["e-never-far"]["text"]


def test_why_names_allocation_and_issue_date_under_the_default_order() -> None:
    rules = load_rules(REPO / "rules")
    own = _credit("own", holder="globex-de-berlin", allocation="this_organisation")
    why = _why(
        rules,
        [own, _credit("shared-late", issued="2015-03-02"), _credit("shared-early", issued="2015-02-01")],
        quantity=3,
    )
    assert why["shared-early"]["facts"]["decided_by"] == "allocation"
    assert why["shared-early"]["text"].endswith(
        "after `own`, which is allocated to this organisation only (shared credits come after)"
    )
    assert why["shared-late"]["text"].endswith(
        "after `shared-early`, which was issued earlier (2015-02-01 against 2015-03-02)"
    )


# --- credits: a refusal names the balance policy that allows no overdraft ------------------------


@pytest.mark.parametrize(("policy", "named"), [("prepaid-strict", True), ("standard-balance", False)])
def test_a_refusal_names_the_strict_policy_of_the_type_asked_for(tmp_path: Path, policy: str, named: bool) -> None:
    root = _rules_with(
        tmp_path,
        "credits/credit_types.yaml",
        "unit: text messages\n",
        f"unit: text messages\noverdraft_policy: {policy}\n",
    )
    data = {
        "id": "c",
        "as_of": "2015-04-15T09:00:00+02:00",
        "credits": [_credit("only", quantity=2)],
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-de-berlin",
                "credit_type": "sms-credits",
                "quantity": 3,
                "at": "2015-04-15T09:00:00+02:00",
            }
        ],
    }
    part = load_rules(root).decide(data)["credits"]
    if named:
        (refusal,) = part["refused"]
        reason = refusal["reasons"][0]
        assert reason["facts"]["no_overdraft"] == {"sms-credits": "prepaid-strict"}
        assert reason["text"] == (
            "refused whole: 3 asked, the candidates hold 2; policy `prepaid-strict` of `sms-credits` allows no overdraft"
        )
    else:  # an overdraft policy: drawn below zero, nothing refused
        assert part["refused"] == []
        assert [a["quantity"] for a in part["allocations"]] == ["3"]


# --- criteria: a bare word compared with text is told to be quoted ------------------------------

_MILITARY = 'account.segments overlaps {"military"}'


_QUOTED, _IN_A_SET, _CONTAINS = (
    'text is written in quotes: `"{}"`',
    'text is written in quotes, and a set in braces: `{{"{}"}}`',
    'text is written in quotes; a list holds it with `contains "{}"`',
)


@pytest.mark.parametrize(
    ("written", "word", "hint"),
    [
        ("account.segments overlaps {military}", "military", _QUOTED),
        ('account.segments overlaps {"military", army}', "army", _QUOTED),
        ("account.segments contains military", "military", _IN_A_SET),
        ("account.segments overlaps military", "military", _IN_A_SET),
        ("cancellation.reason in moved_abroad", "moved_abroad", _IN_A_SET),
        ("account.segments == military", "military", _CONTAINS),
        ('cancellation.reason in {moved_abroad, "deceased"}', "moved_abroad", _QUOTED),
        ("cancellation.reason == moved_abroad", "moved_abroad", _QUOTED),
        ("moved_abroad == cancellation.reason", "moved_abroad", _QUOTED),
    ],
)
def test_a_bare_word_compared_with_text_is_told_to_be_quoted(
    tmp_path: Path, written: str, word: str, hint: str
) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "catalog/terms.yaml", _MILITARY, written)
    (found,) = validate_paths([root])
    assert (found.code, found.message) == ("BR502", f"unknown field `{word}` (text without quotes?)")
    assert found.hint == hint.format(word)
    assert found.column == written.index(word) + len("  - when: ") + 1


@pytest.mark.parametrize(
    ("written", "message", "hint"),
    [  # not text on the other side, or a field misspelt: told as before
        ("cancellation.date > thirty", "unknown field `thirty`", "known names:"),
        ("cancellation.reasn == moved_abroad", "`cancellation` has no field `reasn`", "did you mean `reason`?"),
        ("cancellation.reason == cancelation.reason", "unknown field `cancelation`", "did you mean `cancellation`?"),
        ("foo == bar", "unknown field `foo`", "known names:"),  # the first unknown name (a review's finding)
        ("moved_abroad == cancelation.reason", "unknown field `moved_abroad`", "known names:"),
    ],
)
def test_a_bare_word_elsewhere_keeps_its_message(tmp_path: Path, written: str, message: str, hint: str) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "catalog/terms.yaml", _MILITARY, written)
    found = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert found and found[0].message == message, found
    assert found[0].hint.startswith(hint)


# --- scenarios: a misspelt choice gets a "did you mean" ------------------------------------------


@pytest.mark.parametrize(
    ("field", "written", "hint"),
    [
        ("billing_frequency", "montly", "did you mean `monthly`?"),
        ("billing_frequency", "Quarterly", "did you mean `quarterly`?"),
        ("billing_frequency", "fortnightly", "see schemas/scenario.schema.json for the expected form"),
    ],
)
def test_a_misspelt_choice_in_a_scenario_gets_did_you_mean(field: str, written: str, hint: str) -> None:
    from engine.decide.scenarios import ScenarioInvalid

    rules = load_rules(REPO / "rules")
    data = {
        "id": "s",
        "as_of": "2015-04-15T09:00:00+02:00",
        "subscription": {"code": "S", "plan": "internet-premium", "start": "2014-01-01", field: written},
        "cancellation": {"date": "2015-04-15"},
    }
    with pytest.raises(ScenarioInvalid) as raised:
        rules.decide(data)
    (found,) = raised.value.diagnostics
    assert found.code == "BR602" and found.message.startswith(f"scenario field `subscription.{field}`: Input should be")
    assert found.hint == hint


# --- criteria: hints an analyst can act on ------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "message", "hint"),
    [
        (
            "count(usage within 24 hours) >= 3",
            "unexpected `hours`",
            "durations are written in days, weeks, months or years, not hours (`1 day`); a usage quantity",
        ),
        (
            "count(usage within 48 hours) >= 3",
            "unexpected `hours`",
            "durations are written in days, weeks, months or years, not hours (`2 days`)",
        ),
        ("sum(usage.quantity within 30 days) >= 10 hours", "unexpected `hours`", "durations are written in days"),
        (
            'count(usage where u.service_type == "API" within 7 days) >= 5',
            "unknown name `u`: this `where` names no record",
            "name the record before `where`, as in `count(u in usage where u.service_type …)`, "
            "or write the field alone: `service_type`",
        ),
        (
            'sum(usage.quantity where u.device == "STB") > 3',
            "unknown name `u`: this `where` names no record",
            "name the record before `where`, as in `sum(u in usage.quantity where u.device …)`",
        ),
        (
            'count(discount_history where h.discount == "x" within 1 year) >= 1',
            "unknown name `h`: this `where` names no record",
            "name the record before `where`, as in `count(h in discount_history where h.discount …)`",
        ),
        (
            "as_of - account.start >= 2 years",
            "cannot compute a date-time - a date",
            "subtract dates from dates: use `.date` of the date-time, e.g. `as_of.date - account.start`",
        ),
    ],
)
def test_criteria_hints_say_how_to_write_it(tmp_path: Path, written: str, message: str, hint: str) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "catalog/terms.yaml", _MILITARY, written)
    found = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert found and found[0].message.startswith(message), found
    assert found[0].hint.startswith(hint), found[0].hint


# --- why: a sum over money in two currencies says so ---------------------------------------------


def test_a_sum_over_two_currencies_names_them(tmp_path: Path) -> None:
    decision = _two_currency_rules(tmp_path).decide(_priced("60.00 EUR", "50.00 USD", "50.00 USD"), explain=True)
    (found,) = [d for d in decision["discounts"]["definitions"] if d["code"] == "multi-service-10"]
    mixed = [r for r in found["reasons"] if r["code"] == "value_missing"]
    assert mixed and mixed[0]["facts"]["currencies"] == ["EUR", "USD"], found["reasons"]
    assert "reads money in EUR and USD, which is never added up or compared across currencies" in mixed[0]["text"]
    assert mixed[0]["text"].startswith("`sum(subscription.products.price)` is not known: ")


# --- runs: what an operator meets -----------------------------------------------------------------


def _run(argv: list[str]) -> int:
    from engine.cli.main import main

    return main(["run", "--rules", str(REPO / "rules"), *argv])


@pytest.mark.parametrize("line", [b"\xef\xbb\xbf\r\n", b"  \xef\xbb\xbf  \n", b"\xef\xbb\xbf\xef\xbb\xbf\n"])
def test_a_line_of_byte_order_marks_alone_is_blank(tmp_path: Path, line: bytes) -> None:
    from engine.run.evaluate import is_blank

    assert is_blank(line) and is_blank(line.decode("utf-8"))
    scenario = (REPO / "samples" / "run" / "nightly.jsonl").read_bytes().split(b"\n")[0]
    source = tmp_path / "in.jsonl"
    source.write_bytes(line + b"\xef\xbb\xbf\xef\xbb\xbf" + scenario + b"\n" + line)  # two marks: still the JSON
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    assert _run(["--input", str(source), "--output", str(out), "--errors", str(errors), "--workers", "1"]) == 0
    assert len(out.read_bytes().splitlines()) == 1 and errors.read_bytes() == b""


def test_an_empty_parquet_cell_is_told_as_empty_not_as_json_null(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    scenario = (REPO / "samples" / "run" / "nightly.jsonl").read_text(encoding="utf-8").split("\n")[0]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"scenario": pa.array([scenario, None, "", "  "], pa.string())}), source)
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    assert _run(["--input", str(source), "--output", str(out), "--errors", str(errors), "--workers", "1"]) == 1
    import json

    messages = [json.loads(line)["diagnostics"][0]["message"] for line in errors.read_text().splitlines()]
    assert messages == [
        "the row's `scenario` cell is null: the row holds no scenario",
        "the row's `scenario` cell is empty: the row holds no scenario",
        "the row's `scenario` cell is empty: the row holds no scenario",
    ]


def test_a_device_or_a_pipe_needs_no_extension(tmp_path: Path) -> None:
    import os

    nightly = REPO / "samples" / "run" / "nightly.jsonl"
    assert _run(["--input", str(nightly), "--output", "/dev/null", "--errors", "/dev/null"]) == 0
    fifo = tmp_path / "scenarios"
    os.mkfifo(fifo)
    import threading

    def feed() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(nightly.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    out = tmp_path / "out.jsonl"
    try:
        assert _run(["--input", str(fifo), "--output", str(out), "--workers", "2"]) == 0
    finally:
        writer.join(timeout=60)
    assert len(out.read_bytes().splitlines()) == len(nightly.read_bytes().splitlines())


def test_a_full_standard_output_is_told_as_the_output(capfd: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys

    nightly = REPO / "samples" / "run" / "nightly.jsonl"
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "engine", "run", "--rules", str(REPO / "rules"), "--input", str(nightly)),
                *("--output", "-", "--errors", "/dev/null"),
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=REPO,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "billrules: error: cannot write the output: No space left on device"


def test_sigterm_while_the_rules_load_ends_the_run_as_ctrl_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal

    import engine.cli.decide_cmd as decide_cmd

    loading = decide_cmd.load_rules_or_report

    def terminated_while_loading(*args: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)  # (a scheduler's stop, before any worker started)
        return loading(*args)

    monkeypatch.setattr(decide_cmd, "load_rules_or_report", terminated_while_loading)
    nightly = REPO / "samples" / "run" / "nightly.jsonl"
    before = signal.getsignal(signal.SIGTERM)
    assert _run(["--input", str(nightly), "--output", str(tmp_path / "out.jsonl")]) == 130
    assert "billrules: interrupted" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()
    assert signal.getsignal(signal.SIGTERM) is before  # restored


# --- `billrules test`: a reason code expected twice -------------------------------------------------


def test_a_reason_code_expected_more_often_than_given_says_so() -> None:
    from engine.expectations import compare

    actual = {"reasons": [{"code": "no_line", "text": "no line of `tv`", "facts": {}}]}
    expected = {"reasons": [{"code": "no_line"}, {"code": "no_line"}]}
    (found,) = list(compare(expected, actual))
    assert found.path == ("expect", "reasons", 1, "code")
    assert found.note == "reason code `no_line` is expected again, but the decision has only 1 with it (matched above)"
    nearest = {"reasons": [{"code": "no_line", "facts": {"targets": ["radio"]}}, {"code": "no_line"}]}
    again = list(compare(nearest, {"reasons": [{"code": "no_line", "text": "x", "facts": {"targets": ["tv"]}}]}))
    assert again[-1].note.endswith("has only 1 with it (compared above)")  # the first came nearest, unmatched
    other = next(iter(compare({"reasons": [{"code": "capped"}]}, actual)))
    assert other.note == "no reason with code `capped` in the decision (it has: no_line: no line of `tv`)"


# --- rule files: hints for a number written as text or out of its bounds --------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "hint"),
    [
        (
            "catalog/coupons.yaml",
            "redemption_quantity: 1\n",
            "redemption_quantity: 0\n",
            "write 1 or more (How many times each code may be redeemed)",
        ),
        (
            "catalog/coupons.yaml",
            "redemption_quantity: 1\n",
            'redemption_quantity: "2"\n',
            "write it as a number, not as text: `redemption_quantity: 2`",
        ),
    ],
)
def test_a_number_out_of_bounds_or_as_text_says_what_to_write(
    tmp_path: Path, file: str, old: str, new: str, hint: str
) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, file, old, new)
    found = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert [d.hint for d in found] == [hint], found


def test_a_percentage_written_as_text_is_told_to_be_its_number() -> None:
    from engine.schema import _number_as_text

    assert _number_as_text("rate", "21%", "number") == (
        "write it as a number, not as text: `rate: 21` (a percentage is written as its number: 21 for 21 %)"
    )
    assert _number_as_text("rate", "21.5 %", ["number", "null"]).startswith(
        "write it as a number, not as text: `rate: 21.5`"
    )
    assert _number_as_text("quantity", "2.5", "integer") == ""  # not a whole number: no such value
    assert _number_as_text("quantity", "-5", "integer", {"minimum": 1}) == ""  # below the minimum
    assert _number_as_text("rate", "twenty", "number") == ""
    assert _number_as_text("code", "21", "string") == ""


@pytest.mark.parametrize(
    ("written", "meant"), [("actual", "calendar"), ("Aktuell", "calendar"), ("Abrechnungszyklus", "billing_cycles")]
)
def test_a_term_basis_in_the_seed_s_words_names_the_choice(tmp_path: Path, written: str, meant: str) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "catalog/terms.yaml", "basis: calendar\n", f"basis: {written}\n")
    (found,) = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert found.code == "BR204"
    assert found.hint == f"`{written}` is the seed's word for `{meant}`: write `basis: {meant}`"


# --- why: the window a `within` aggregate read ------------------------------------------------------


def test_a_within_aggregate_names_its_window_and_each_scenario_gets_its_own() -> None:
    from engine.load import load_file

    rules = load_rules(REPO / "rules")
    (document,) = load_file(REPO / "samples" / "discounts" / "usage_vod_weekend_nights.yaml").documents
    data = {k: v for k, v in document.data.items() if k != "expect"}
    data["usage"] = []  # no record: the count is 0, the condition fails
    windows = []
    for as_of in ("2015-09-30T18:00:00+02:00", "2015-10-31T18:00:00+02:00"):
        decision = rules.decide({**data, "as_of": as_of}, explain=True)
        (found,) = [d for d in decision["discounts"]["definitions"] if d["code"] == "vod-weekend-nights"]
        counted = [r for r in found["reasons"] if "window" in r["facts"]]
        assert counted, found["reasons"]
        windows.append(counted[0]["facts"]["window"])
        steps = [s for sec in decision["trace"]["discount:vod-weekend-nights"] for s in sec["steps"] if "window" in s]
        assert steps and steps[0]["window"] == counted[0]["facts"]["window"]
    assert windows == [
        {"after": "2015-08-30T18:00:00+02:00", "until": "2015-09-30T18:00:00+02:00"},
        {"after": "2015-09-30T18:00:00+02:00", "until": "2015-10-31T18:00:00+02:00"},
    ]


def test_the_trace_text_names_the_window() -> None:
    from engine.cli.decide_cmd import step_words

    step = {
        "condition": "count(usage within 1 month) >= 3",
        "verdict": "does not hold",
        "kind": "compare",
        "subject": "count(usage within 1 month)",
        "actual": "0",
        "op": ">=",
        "expected": "3",
        "window": {"after": "2015-08-30T18:00:00+02:00", "until": "2015-09-30T18:00:00+02:00"},
        "source": {"file": "rules/discounts/usage.yaml", "line": 38, "column": 9},
    }
    assert step_words(step) == (
        "✗ count(usage within 1 month) = 0 (records after 2015-08-30T18:00:00+02:00 up to 2015-09-30T18:00:00+02:00): "
        "`count(usage within 1 month) >= 3` does not hold (rules/discounts/usage.yaml:38:9)"
    )


def test_a_term_exception_in_the_trace_is_counted_as_its_reasons_count_it() -> None:
    from engine.cli.decide_cmd import section_words

    assert section_words("exceptions[2]") == "exception 3 (`exceptions[2]`)"
    assert section_words("when") == "section when"
    assert section_words("billing_term") == "section billing_term"


# --- the session's own review: what its first changes broke ----------------------------------------


def test_explain_of_an_overdraft_on_a_used_up_credit_does_not_fail(tmp_path: Path) -> None:
    root = _rules_with(
        tmp_path,
        "credits/credit_types.yaml",
        "unit: text messages\n",
        "unit: text messages\noverdraft_policy: standard-balance\n",
    )
    consumptions = [
        {
            "id": "R1",
            "organisation": "globex-de-berlin",
            "credit_type": "sms-credits",
            "quantity": 2,
            "at": "2015-04-15T09:00:00+02:00",
        },
        {
            "id": "R2",
            "organisation": "globex-de-berlin",
            "credit_type": "sms-credits",
            "quantity": 3,
            "at": "2015-04-15T10:00:00+02:00",
        },
    ]
    data = {
        "id": "c",
        "as_of": "2015-04-15T11:00:00+02:00",
        "credits": [_credit("only", quantity=2)],
        "consumptions": consumptions,
    }
    decision = load_rules(root).decide(data, explain=True)
    why = {(w["request"], c["credit"]): c["verdict"] for w in decision["credits"]["why"] for c in w["credits"]}
    assert why[("R2", "only")]["code"] == "used"  # overdrawn: used up before, drawn below zero
    assert "after" not in why[("R2", "only")]["facts"]
    assert [a["quantity"] for a in decision["credits"]["allocations"]] == ["2", "3"]


def _with_when(tmp_path: Path, when: str) -> Any:
    """The shipped rules with `when: WHEN` added to `multi-service-10`'s criteria."""
    plans = "  price_plans: [triple-play-24]\n"
    return load_rules(_rules_with(tmp_path, "discounts/loyalty.yaml", plans, f"{plans}  when: {when}\n"))


def _two_currency_rules(tmp_path: Path) -> Any:
    return _with_when(tmp_path, "sum(subscription.products.price) >= 100.00 EUR")


def _priced(*prices: str) -> dict[str, Any]:
    products = ("tv-essentials", "fibre-100", "mobile-sim")
    return {
        "id": "s",
        "as_of": "2015-06-15T10:00:00Z",
        "subscription": {
            "code": "S",
            "plan": "triple-play-24",
            "start": "2014-01-01",
            "billing_frequency": "monthly",
            "products": [{"product": p, "price": price} for p, price in zip(products, prices, strict=True)],
        },
    }


def test_one_scenario_s_currencies_are_not_another_s_reason(tmp_path: Path) -> None:
    rules = _two_currency_rules(tmp_path)

    def currencies(data: dict[str, Any]) -> list[str]:
        (found,) = [d for d in rules.decide(data)["discounts"]["definitions"] if d["code"] == "multi-service-10"]
        return next(r["facts"]["currencies"] for r in found["reasons"] if r["code"] == "value_missing")

    first = _priced("60.00 EUR", "50.00 USD", "50.00 USD")
    second = _priced("60.00 GBP", "50.00 CHF", "50.00 CHF")
    assert [currencies(first), currencies(second), currencies(first)] == [
        ["EUR", "USD"],
        ["CHF", "GBP"],
        ["EUR", "USD"],
    ]


def test_a_read_error_names_the_input_not_the_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.run.io import JsonLinesSource

    class Failing:
        def readline(self, limit: int) -> bytes:
            raise OSError(5, "Input/output error")

    source = JsonLinesSource.__new__(JsonLinesSource)
    source.__dict__.update(name="in.jsonl", file=Failing(), done=0, read_seconds=0.0, total=None)
    with pytest.raises(OSError) as raised:
        next(source.chunks(10))
    assert (raised.value.filename, raised.value.strerror) == ("in.jsonl", "cannot read the input: Input/output error")


# --- the session's hostile-input campaign -----------------------------------------------------------


def test_hours_with_a_number_past_python_s_digit_limit_is_a_diagnostic(tmp_path: Path) -> None:
    from engine.validate import validate_paths

    written = f"count(usage within {'9' * 5000} hours) >= 3"
    root = _rules_with(tmp_path, "catalog/terms.yaml", _MILITARY, written)
    found = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert [d.code for d in found] == ["BR501"] and found[0].hint.startswith("durations are written in days")


def test_a_line_of_many_byte_order_marks_is_read_in_linear_time() -> None:
    import time

    from engine.run.evaluate import is_blank, parse_line

    marks = b"\xef\xbb\xbf" * 400_000  # 1.2 MB (until the mend, 14 s)
    started = time.process_time()
    assert is_blank(marks + b"\n")
    data, problem = parse_line(marks + b'{"id": "x"}\n', "<in>", 1)
    assert problem is None and data == {"id": "x"}
    assert time.process_time() - started < 5  # (a bound far above linear, far below quadratic)


def test_a_parquet_cell_of_byte_order_marks_is_an_empty_row(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    scenario = (REPO / "samples" / "run" / "nightly.jsonl").read_text(encoding="utf-8").split("\n")[0]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"scenario": pa.array([scenario, "\ufeff", "\ufeff \ufeff"], pa.string())}), source)
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    assert _run(["--input", str(source), "--output", str(out), "--errors", str(errors), "--workers", "1"]) == 1
    assert len(errors.read_text().splitlines()) == 2 and len(out.read_text().splitlines()) == 1  # 3 in, 3 out


def test_decide_skips_a_line_of_a_byte_order_mark_as_run_does(tmp_path: Path) -> None:
    from engine.decide.scenarios import json_line_records

    scenario = (REPO / "samples" / "run" / "nightly.jsonl").read_bytes().split(b"\n")[0]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf\n" + scenario + b"\n")
    assert [(number, problem) for number, _, problem in json_line_records(path, "in.jsonl")] == [(2, None)]


def test_one_pipe_as_input_and_output_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _run(["--input", str(fifo), "--output", str(fifo)]) == 2
    assert "name the same file" in capsys.readouterr().err


def test_parquet_from_a_pipe_says_it_needs_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    pytest.importorskip("pyarrow")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _run(["--input", str(fifo), "--format", "parquet", "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "Parquet is read from a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("military in account.segments", 'text is written in quotes: `"military"`'),
        ('cancellation.reasn == "moved_abroad"', "did you mean `reason`?"),  # a field misspelt: as before
        ('count(usage where devce == "stb") > 1', "did you mean `device`?"),
    ],
)
def test_a_bare_word_hint_only_where_it_is_text(tmp_path: Path, written: str, hint: str) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "catalog/terms.yaml", _MILITARY, written)
    (found,) = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert found.hint == hint


def test_a_strict_policy_is_named_only_where_an_overdraft_would_have_drawn(tmp_path: Path) -> None:
    root = _rules_with(
        tmp_path,
        "credits/credit_types.yaml",
        "unit: text messages\n",
        "unit: text messages\noverdraft_policy: prepaid-strict\n",
    )
    later = _credit("later", quantity=2, usage_period={"from": "2015-05-01", "to": "2015-12-31"})  # not started
    data = {
        "id": "c",
        "as_of": "2015-04-15T09:00:00+02:00",
        "credits": [later],
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-de-berlin",
                "credit_type": "sms-credits",
                "quantity": 1,
                "at": "2015-04-15T09:00:00+02:00",
            }
        ],
    }
    (refusal,) = load_rules(root).decide(data)["credits"]["refused"]
    assert "no_overdraft" not in refusal["reasons"][0]["facts"]


@pytest.mark.parametrize(
    "when",
    [
        "not (sum(subscription.products.price) <= 10.00 EUR)",
        "sum(subscription.products.price) + 1.00 EUR > 10.00 EUR",
    ],
)
def test_a_sum_s_currencies_are_named_under_not_and_in_arithmetic(tmp_path: Path, when: str) -> None:
    rules = _with_when(tmp_path, when)
    for prices, currencies in (
        (("60.00 EUR", "50.00 USD", "50.00 USD"), ["EUR", "USD"]),
        (("1.00 GBP", "1.00 CHF", "1.00 CHF"), ["CHF", "GBP"]),
    ):
        (found,) = [
            d for d in rules.decide(_priced(*prices))["discounts"]["definitions"] if d["code"] == "multi-service-10"
        ]
        missing = [r for r in found["reasons"] if r["code"] == "value_missing"]
        assert missing and missing[0]["facts"]["currencies"] == currencies, found["reasons"]


def test_a_window_reaching_past_the_calendar_names_no_start() -> None:
    from engine.criteria.explain import window_words

    assert window_words({"until": "0001-01-10T00:00:00+00:00"}) == "records up to 0001-01-10T00:00:00+00:00"
    assert window_words({"after": "a", "until": "b"}) == "records after a up to b"


def test_a_choice_written_as_null_is_quoted_as_json_writes_it(tmp_path: Path) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "catalog/terms.yaml", "basis: calendar\n", "basis: true\n")
    messages = [d.message for d in validate_paths([root]) if d.severity.value == "error"]
    assert not any("True" in m for m in messages), messages


def test_a_folder_as_a_run_s_input_is_named_as_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--input", str(tmp_path), "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "is a folder: name the file of scenarios it holds" in capsys.readouterr().err


# --- the second review's findings -------------------------------------------------------------------


def test_a_sum_with_an_inner_aggregate_keys_its_currencies_too(tmp_path: Path) -> None:
    when = (
        "sum(p in subscription.products.price where p.price >= "
        "min(q in subscription.products.price where q.product == p.product)) >= 100.00 EUR"
    )
    rules = _with_when(tmp_path, when)
    seen = []
    for prices in (("60.00 EUR", "50.00 USD", "50.00 USD"), ("1.00 GBP", "1.00 CHF", "1.00 CHF")):
        (found,) = [
            d for d in rules.decide(_priced(*prices))["discounts"]["definitions"] if d["code"] == "multi-service-10"
        ]
        seen.append([r["facts"].get("currencies") for r in found["reasons"] if r["code"] == "value_missing"])
    assert seen == [[["EUR", "USD"]], [["CHF", "GBP"]]]  # each scenario's own, never the other's


def test_a_line_of_marks_is_read_in_little_memory() -> None:
    import tracemalloc

    from engine.run.evaluate import is_blank

    line = b"\xef\xbb\xbf" * 1_000_000 + b"\n"  # 3 MB
    tracemalloc.start()
    try:
        assert is_blank(line)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(line)  # (a backtracking pattern kept about 45 bytes per byte)


@pytest.mark.parametrize(
    ("outputs", "code"),
    [
        (["--output", "{fifo}", "--errors", "{fifo}"], 0),  # outputs may share a pipe
        (["--output", "{out}", "--errors", "{fifo}", "--input-is-fifo"], 2),
    ],
)
def test_outputs_may_share_a_pipe_the_input_may_not(tmp_path: Path, outputs: list[str], code: int) -> None:
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    nightly = REPO / "samples" / "run" / "nightly.jsonl"
    input_is_fifo = "--input-is-fifo" in outputs
    argv = [a.format(fifo=fifo, out=tmp_path / "o.jsonl") for a in outputs if a != "--input-is-fifo"]
    if input_is_fifo:
        assert _run(["--input", str(fifo), *argv]) == code
        return
    drained: list[bytes] = []
    reader = threading.Thread(target=lambda: drained.append(fifo.read_bytes()))
    reader.start()
    try:
        assert _run(["--input", str(nightly), "--format", "jsonl", *argv, "--workers", "1"]) == code
    finally:
        reader.join(timeout=60)
    assert drained and drained[0].count(b"\n") == len(nightly.read_bytes().splitlines())


def test_not_equal_against_a_list_is_told_its_negation(tmp_path: Path) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "catalog/terms.yaml", _MILITARY, "account.segments != military")
    (found,) = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert found.hint == 'text is written in quotes; that a list does not hold it is `not (… contains "military")`'


def test_the_unnamed_record_hint_keeps_its_aggregate_inside_a_quantifier(tmp_path: Path) -> None:
    from engine.validate import validate_paths

    written = 'count(discount_history where any p in subscription.products where h.discount == "x") >= 1'
    root = _rules_with(tmp_path, "catalog/terms.yaml", _MILITARY, written)
    (found,) = [d for d in validate_paths([root]) if d.severity.value == "error"]
    assert "as in `count(h in discount_history where h.discount …)`" in found.hint


def test_an_expected_amount_in_a_misspelt_currency_is_told_so() -> None:
    from engine.expectations import compare

    (found,) = list(compare({"net": "28.49 EUX"}, {"net": "28.49 EUR"}))
    assert found.hint == "`EUX` is no ISO 4217 currency code; did you mean `EUR`?"
    (other,) = list(compare({"net": "28.49 USD"}, {"net": "28.49 EUR"}))
    assert other.hint == ""  # a real currency, another one: the values say it
    (bare,) = list(compare({"net": "28.49"}, {"net": "28.49 EUR"}))
    assert bare.hint == "money is written with its currency: the same amount in EUR is `28.49 EUR`"


def test_validate_scenarios_gives_a_consumption_s_unknown_codes_the_code_decide_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from engine.cli.main import main

    consumption = {"id": "R1", "organisation": "globex-xx", "credit_type": "email-credits", "quantity": 1}
    data = {
        "id": "u",
        "as_of": "2015-04-15T09:00:00+02:00",
        "consumptions": [{**consumption, "at": "2015-04-15T09:00:00+02:00"}],
    }
    path = tmp_path / "u.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    rules = str(REPO / "rules")
    for argv in (["validate", "--rules", rules, "--scenarios", str(path)], ["decide", "--rules", rules, str(path)]):
        assert main(argv) == 1
        captured = capsys.readouterr()
        assert "error[BR605] unknown organisation `globex-xx`" in captured.out + captured.err, argv


def test_validate_scenarios_checks_a_consumption_s_service_and_a_scenario_credit_s_type(tmp_path: Path) -> None:
    from engine.scenario_check import unknown_references

    rules = load_rules(REPO / "rules")
    data = {
        "credits": [{"code": "c1", "type": "email-creditz", "scope": {"services": ["emial"]}}],
        "consumptions": [{"id": "R1", "organisation": "globex", "service": "email"}],
    }
    found = {(u.path, u.code, u.message, u.hint) for u in unknown_references(rules, data)}
    assert found == {
        (("credits", 0, "type"), "BR302", "unknown credit type `email-creditz`", "did you mean `email-credits`?"),
        (("credits", 0, "scope", "services", 0), "BR302", "unknown service `emial`", "did you mean `e-mail`?"),
        (("consumptions", 0, "service"), "BR605", "unknown service `email`", "did you mean `e-mail`?"),
    }


def test_a_purchase_discount_s_line_floor_names_the_product_not_a_synthetic_line(tmp_path: Path) -> None:
    from tests.test_acceptance_friction import PURCHASE

    percentage = (
        "amount:\n  type: percentage\n  value: 20\n  level: 1\ndiscounted_products:\n  - product: additional-service"
    )
    amount = "amount:\n  type: amount\n  value: 50.00 USD\ndiscounted_products:\n  - product: additional-service"
    rules = load_rules(_rules_with(tmp_path, "discounts/promotions.yaml", percentage, amount))
    data = {**PURCHASE, "purchase": {**PURCHASE["purchase"], "coupons": ["coupon_87"]}}
    part = rules.decide(data)["purchase"]
    (found,) = [d for d in part["discounts"] if d["code"] == "coupon-minus-20"]
    (floor,) = [r for r in found["reasons"] if r["code"] == "line_floor"]
    assert floor["facts"]["lines"] == ["`additional-service`"]
    assert floor["text"] == "takes less than 50.00 USD from `additional-service`: no line goes below zero"
