"""The credit balance decision (SPEC 3.7, seed 004): ledger, refunds, overdraft, crossing alerts."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.cli.main import main
from engine.decide import balances
from engine.decide.decision import to_json
from engine.decide.scenarios import ScenarioError, read_scenarios, validate_scenario
from engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent
SHIPPED = load_rules(REPO / "rules")

#: Policies for the tests: (code, overdraft, threshold or None for alerts disabled).
POLICIES = [
    ("open", True, None),
    ("open-20", True, Decimal(20)),
    ("open-minus-50", True, Decimal(-50)),
    ("strict", False, None),
    ("strict-5", False, Decimal(5)),
]


def _policy_yaml(code: str, overdraft: bool, threshold: Decimal | None) -> str:
    alerts = f"alerts: {{enabled: true, threshold: {threshold}}}\n" if threshold is not None else ""
    return f"kind: balance_policy\ncode: {code}\nname: {code}\noverdraft: {str(overdraft).lower()}\n{alerts}"


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    root = tmp_path_factory.mktemp("balance-rules")
    (root / "ruleset.yaml").write_text(
        'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\n', encoding="utf-8"
    )
    (root / "policies.yaml").write_text("---\n".join(_policy_yaml(*p) for p in POLICIES), encoding="utf-8")
    return load_rules(root)


def scenario(policy: str, events: list[dict[str, Any]], opening: Any = 0) -> Any:
    data = {"id": "b", "as_of": "2015-09-30T18:00:00Z", "balance": {"policy": policy, "opening": opening}}
    data["balance"]["events"] = [
        {"at": f"2015-09-01T{i // 60:02d}:{i % 60:02d}:00Z", **e} for i, e in enumerate(events)
    ]
    checked = validate_scenario(data, None)
    assert not checked.diagnostics, [d.message for d in checked.diagnostics]
    return checked.scenario


def run(rules: RuleSet, policy: str, events: list[dict[str, Any]], opening: Any = 0) -> balances.BalanceResult:
    return balances.evaluate(rules, scenario(policy, events, opening))


def grant(n: Any, id: str = "") -> dict[str, Any]:
    return {"id": id or f"g{n}", "type": "grant", "amount": n}


def withdraw(n: Any, id: str = "") -> dict[str, Any]:
    return {"id": id or f"w{n}", "type": "withdraw", "amount": n}


def debit(n: Any, request: str, id: str = "") -> dict[str, Any]:
    return {"id": id or f"d-{request}", "type": "debit", "amount": n, "request": request}


def refund(request: str, id: str, reason: str = "cancelled") -> dict[str, Any]:
    return {"id": id, "type": "refund", "request": request, "reason": reason}


def balances_of(result: balances.BalanceResult) -> list[str]:
    return [str(e.balance) for e in result.ledger]


def alerts_of(result: balances.BalanceResult) -> list[tuple[str, str]]:
    return [(a.facts["event"], a.code) for a in result.alerts]


def refused_of(result: balances.BalanceResult) -> list[tuple[str, str]]:
    return [(r.facts["event"], r.code) for r in result.refused]


# --- the seed's worked example ------------------------------------------------------------------


def test_seed_004_example_100_60_0_minus_15_with_both_alerts() -> None:
    item = next(read_scenarios(REPO / "samples/balance/seed_004_example.yaml"))
    result = balances.evaluate(SHIPPED, item.scenario)
    assert balances_of(result) == ["100", "75", "60", "0", "-15"]
    assert result.closing == Decimal(-15)
    assert alerts_of(result) == [("EV-4", "balance_below_threshold"), ("EV-5", "balance_below_zero")]
    threshold = result.alerts[0]
    assert (
        threshold.facts["before"] == "60" and threshold.facts["balance"] == "0" and threshold.facts["threshold"] == "20"
    )
    assert threshold.source is not None and threshold.source.file.endswith("rules/credits/balance_policies.yaml")
    assert threshold.words() == "the balance fell below the alert threshold of 20 (60 → 0) at event `EV-4`"
    assert result.alerts[1].words() == "the balance fell below zero (0 → -15) at event `EV-5`"


def test_seed_example_in_the_decision_json_and_text() -> None:
    code, out, err = cli(
        ["decide", "--rules", str(REPO / "rules"), str(REPO / "samples/balance/seed_004_example.yaml")]
    )
    assert (code, err) == (0, "")
    assert "balance (policy standard-balance):" in out
    assert "EV-5 debit service-4" in out and "-15" in out
    assert "alerts:\n  EV-4: the balance fell below the alert threshold of 20 (60 → 0) at event `EV-4`\n" in out
    code, out, _ = cli(
        ["decide", "--json", "--rules", str(REPO / "rules"), str(REPO / "samples/balance/seed_004_example.yaml")]
    )
    part = json.loads(out)["balance"]
    assert (part["opening"], part["closing"]) == ("0", "-15")
    assert part["totals"] == {"grants": "100", "withdrawals": "0", "debits": "115", "refunds": "0"}
    assert [a["code"] for a in part["alerts"]] == ["balance_below_threshold", "balance_below_zero"]


def test_balance_samples_pass_with_none_skipped() -> None:
    code, out, _ = cli(["test", "--rules", str(REPO / "rules"), str(REPO / "samples/balance")])
    assert (code, out.splitlines()[-1]) == (0, "3 passed, 0 failed")


def test_readme_example_is_what_the_engine_decides(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Credit balance (SPEC 3.7, seed 004)")[1]
    yaml_text = section.split("```yaml\n")[1].split("```")[0]
    json_text = section.split("```json\n")[1].split("```")[0]
    path = tmp_path / "readme.yaml"
    path.write_text("id: readme\nas_of: 2015-09-30T18:00:00+02:00\n" + yaml_text, encoding="utf-8")
    code, out, err = cli(["decide", "--json", "--rules", str(REPO / "rules"), str(path)])
    assert (code, err) == (0, "")
    actual = json.loads(out)["balance"]
    actual["alerts"][0]["source"]["file"] = "rules/credits/balance_policies.yaml"  # relative to where the test runs
    assert actual == json.loads(json_text)


# --- refunds ------------------------------------------------------------------------------------


def test_refund_returns_exactly_the_debit_once(rules: RuleSet) -> None:
    result = run(
        rules,
        "open",
        [debit(30, "r1"), refund("r1", "x1", "failed"), refund("r1", "x2", "rejected")],
        opening=100,
    )
    assert balances_of(result) == ["70", "100"]
    assert result.ledger[1].quantity == Decimal(30) and result.ledger[1].reason is not None
    assert refused_of(result) == [("x2", "refund_repeated")]
    assert result.refused[0].facts["refunded_by"] == "x1" and result.refused[0].facts["amount"] == "30"


def test_refund_of_a_request_never_debited_is_refused_not_raised(rules: RuleSet) -> None:
    result = run(rules, "open", [debit(5, "r1"), refund("nope", "x1")], opening=10)
    assert refused_of(result) == [("x1", "refund_without_debit")]
    assert result.closing == Decimal(5)
    assert (
        result.refused[0].words() == "refund of request `nope` refused: nothing was debited for that request before it"
    )


def test_refund_written_before_its_debit_in_time_is_refused(rules: RuleSet) -> None:
    events = [{**debit(5, "r1"), "at": "2015-09-02T00:00:00Z"}, {**refund("r1", "x1"), "at": "2015-09-01T00:00:00Z"}]
    data = {"id": "b", "as_of": "2015-09-30T00:00:00Z", "balance": {"policy": "open", "events": events}}
    result = balances.evaluate(rules, validate_scenario(data, None).scenario)
    assert refused_of(result) == [("x1", "refund_without_debit")]
    assert [e.event for e in result.ledger] == ["d-r1"]


def test_refund_of_a_refused_debit_returns_nothing(rules: RuleSet) -> None:
    result = run(rules, "strict", [debit(50, "r1"), refund("r1", "x1")], opening=10)
    assert refused_of(result) == [("d-r1", "overdraft_refused"), ("x1", "refund_without_debit")]
    assert result.closing == Decimal(10) and result.ledger == ()


def test_a_request_is_debited_once_but_a_refused_debit_may_be_retried(rules: RuleSet) -> None:
    result = run(
        rules,
        "strict",
        [debit(50, "r1", "a"), grant(60, "g"), debit(50, "r1", "b"), debit(50, "r1", "c")],
        opening=10,
    )
    assert refused_of(result) == [("a", "overdraft_refused"), ("c", "debit_repeated")]
    assert balances_of(result) == ["70", "20"]
    assert result.refused[1].facts["debited_by"] == "b"


# --- overdraft ----------------------------------------------------------------------------------


def test_overdraft_forbidden_refuses_a_debit_whole_and_allows_exactly_zero(rules: RuleSet) -> None:
    result = run(rules, "strict", [debit(30, "r1"), debit(20, "r2")], opening=20)
    assert refused_of(result) == [("d-r1", "overdraft_refused")]
    assert balances_of(result) == ["0"]
    facts = result.refused[0].facts
    assert (facts["balance"], facts["would_be"], facts["amount"], facts["policy"]) == ("20", "-10", "30", "strict")
    assert result.alerts == ()  # exactly zero is not below zero


def test_overdraft_forbidden_refuses_a_withdrawal_too(rules: RuleSet) -> None:
    result = run(rules, "strict", [withdraw(11), withdraw(10)], opening=10)
    assert refused_of(result) == [("w11", "overdraft_refused")]
    assert result.closing == Decimal(0)


def test_overdraft_allowed_lets_debits_and_withdrawals_go_negative(rules: RuleSet) -> None:
    result = run(rules, "open", [withdraw(15), debit(10, "r1")], opening=10)
    assert balances_of(result) == ["-5", "-15"]
    assert alerts_of(result) == [("w15", "balance_below_zero")]


def test_negative_opening_under_strict_policy_only_grants_and_refunds_move_it(rules: RuleSet) -> None:
    result = run(rules, "strict", [debit(1, "r1"), grant(5), debit(1, "r2")], opening=-3)
    assert refused_of(result) == [("d-r1", "overdraft_refused")]
    assert balances_of(result) == ["2", "1"]


# --- alerts -------------------------------------------------------------------------------------


def test_reaching_the_threshold_exactly_is_not_below_it(rules: RuleSet) -> None:
    result = run(rules, "open-20", [debit(80, "r1"), debit(1, "r2")], opening=100)
    assert balances_of(result) == ["20", "19"]
    assert alerts_of(result) == [("d-r2", "balance_below_threshold")]


def test_alerts_fire_on_crossing_not_while_below_and_rearm_when_back_up(rules: RuleSet) -> None:
    events = [
        debit(90, "r1"),  # 100 -> 10: below 20
        debit(5, "r2"),  # 5: still below, nothing
        refund("r2", "x2"),  # 10: still below
        grant(10, "g1"),  # 20: back at the line, re-armed
        debit(1, "r3"),  # 19: crosses again
        debit(20, "r4"),  # -1: below zero
        debit(1, "r5"),  # -2: nothing new
        grant(2, "g2"),  # 0: zero line re-armed (0 is not below zero)
        withdraw(1, "w1"),  # -1: below zero again
    ]
    result = run(rules, "open-20", events, opening=100)
    assert balances_of(result) == ["10", "5", "10", "20", "19", "-1", "-2", "0", "-1"]
    assert alerts_of(result) == [
        ("d-r1", "balance_below_threshold"),
        ("d-r3", "balance_below_threshold"),
        ("d-r4", "balance_below_zero"),
        ("w1", "balance_below_zero"),
    ]


def test_one_event_crossing_both_lines_raises_both_highest_first(rules: RuleSet) -> None:
    assert alerts_of(run(rules, "open-20", [debit(130, "r")], opening=100)) == [
        ("d-r", "balance_below_threshold"),
        ("d-r", "balance_below_zero"),
    ]
    assert alerts_of(run(rules, "open-minus-50", [debit(200, "r")], opening=100)) == [
        ("d-r", "balance_below_zero"),
        ("d-r", "balance_below_threshold"),
    ]


def test_disabled_threshold_alerts_leave_only_the_zero_alert(rules: RuleSet) -> None:
    assert alerts_of(run(rules, "open", [debit(95, "r1"), debit(10, "r2")], opening=100)) == [
        ("d-r2", "balance_below_zero")
    ]


def test_an_opening_balance_already_below_raises_nothing_until_it_comes_back(rules: RuleSet) -> None:
    result = run(rules, "open-20", [debit(1, "r1"), grant(30), debit(20, "r2")], opening=-5)
    assert balances_of(result) == ["-6", "24", "4"]
    assert alerts_of(result) == [("d-r2", "balance_below_threshold")]


def test_events_apply_in_time_order_ties_in_written_order(rules: RuleSet) -> None:
    events = [
        {**debit(10, "late"), "at": "2015-09-03T00:00:00+02:00"},
        {**grant(5, "tie-1"), "at": "2015-09-01T22:00:00Z"},  # same instant as the next, written first
        {**debit(7, "tie"), "at": "2015-09-02T00:00:00+02:00"},
        {**grant(1, "naive"), "at": "2015-09-01T00:00:00"},  # no zone: taken as UTC
    ]
    data = {"id": "b", "as_of": "2015-09-30T00:00:00Z", "balance": {"policy": "open", "events": events}}
    result = balances.evaluate(rules, validate_scenario(data, None).scenario)
    assert [e.event for e in result.ledger] == ["naive", "tie-1", "d-tie", "d-late"]
    assert balances_of(result) == ["1", "6", "-1", "-11"]


def test_tracer_sees_every_event_with_its_reasons(rules: RuleSet) -> None:
    steps: list[balances.Step] = []
    balances.evaluate(rules, scenario("strict-5", [debit(8, "r1"), debit(5, "r2")], 10), steps.append)
    assert [(s.event, str(s.before), str(s.after), [r.code for r in s.reasons]) for s in steps] == [
        ("d-r1", "10", "2", ["balance_below_threshold"]),
        ("d-r2", "2", "2", ["overdraft_refused"]),
    ]


def test_numbers_are_written_in_full() -> None:
    assert balances._entry_json(
        balances.LedgerEntry(
            datetime(2015, 1, 1),
            "e",
            balances.BalanceEventType.GRANT,
            None,
            Decimal("1E-9"),
            Decimal("1E+3"),
        )
    ) == {"at": "2015-01-01T00:00:00", "event": "e", "type": "grant", "quantity": "0.000000001", "balance": "1000"}


# --- bad input: diagnostics at file, line and column ----------------------------------------------


def cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def decide_file(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["decide", "--rules", str(REPO / "rules"), "bad.yaml"])
    assert "Traceback" not in err
    return code, err


def column(line: str, needle: str) -> int:
    return line.index(needle) + 1


HEAD = "id: x\nas_of: 2015-09-30T18:00:00Z\nbalance:\n  policy: standard-balance\n  events:\n"
AT = "at: 2015-09-01T10:00:00Z"


def test_unknown_policy_is_br610_with_did_you_mean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = decide_file(tmp_path, HEAD.replace("standard-balance", "standard-balanse") + "    []\n", monkeypatch)
    assert code == 1
    assert "bad.yaml:4:11: error[BR610] unknown balance policy `standard-balanse`" in err
    assert "hint: did you mean `standard-balance`?" in err


@pytest.mark.parametrize(
    ("event", "needle", "message"),
    [
        (f"{{id: E, type: grant, amount: 0, {AT}}}", "0,", "a grant amount must be greater than zero (found 0)"),
        (f"{{id: E, type: debit, amount: -5, request: r, {AT}}}", "-5", "a debit amount must be greater than zero"),
        (f"{{id: E, type: withdraw, {AT}}}", "{", "a withdraw needs an `amount` in credits"),
        (f"{{id: E, type: debit, amount: 5, {AT}}}", "{", "a debit belongs to a service request and needs `request`"),
        (
            f"{{id: E, type: refund, request: r, reason: failed, amount: 0, {AT}}}",
            "0,",
            "a refund amount must be greater than zero (found 0)",
        ),
        (f"{{id: E, type: refund, request: r, {AT}}}", "{", "a refund needs a `reason`"),
        (f"{{id: E, type: grant, amount: 5, request: r, {AT}}}", "r,", "a grant is an administrator's movement"),
        (f"{{id: E, type: grant, amount: 5, reason: failed, {AT}}}", "failed", "only a refund has a `reason`"),
    ],
)
def test_bad_event_is_br611_at_its_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, event: str, needle: str, message: str
) -> None:
    line = f"    - {event}"
    code, err = decide_file(tmp_path, HEAD + line + "\n", monkeypatch)
    assert code == 1
    assert f"bad.yaml:6:{column(line, needle)}: error[BR611] {message}" in err


def test_duplicate_event_id_is_br612_at_the_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = decide_file(
        tmp_path,
        HEAD + f"    - {{id: E1, type: grant, amount: 5, {AT}}}\n    - {{id: E1, type: grant, amount: 6, {AT}}}\n",
        monkeypatch,
    )
    assert code == 1
    assert "bad.yaml:7:12: error[BR612] event id `E1` is used twice (first at balance.events[0])" in err


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = decide_file(
        tmp_path,
        HEAD.replace("standard-balance", "nope")
        + f"    - {{id: E1, type: grant, amount: 0, {AT}}}\n    - {{id: E1, type: debit, amount: 1, {AT}}}\n",
        monkeypatch,
    )
    assert code == 1
    assert [line.split(" error[")[1][:5] for line in err.splitlines() if " error[" in line] == [
        "BR610",
        "BR611",
        "BR612",
        "BR611",
    ]


def test_an_event_without_time_is_a_schema_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = decide_file(tmp_path, HEAD + "    - {id: E, type: grant, amount: 5}\n", monkeypatch)
    assert code == 1
    assert "bad.yaml:6:7: error[BR602] scenario field `balance.events[0].at` is required" in err


def test_evaluate_raises_scenario_error_with_every_problem(rules: RuleSet) -> None:
    data = {
        "id": "b",
        "as_of": "2015-09-30T00:00:00Z",
        "balance": {"policy": "opn", "events": [{"id": "e", "type": "debit", "at": "2015-09-01T00:00:00Z"}]},
    }
    with pytest.raises(ScenarioError) as caught:
        balances.evaluate(rules, validate_scenario(data, None).scenario)
    assert (caught.value.code, caught.value.field, caught.value.hint) == (
        "BR610",
        "balance.policy",
        "did you mean `open`?",
    )
    assert [(e.code, e.field) for e in caught.value.also] == [("BR611", "balance.events[0]")] * 2


# --- properties on random event streams -----------------------------------------------------------

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(200), places=2)
REQUESTS = [f"r{i}" for i in range(6)]


@st.composite
def streams(draw: st.DrawFn) -> tuple[str, Decimal, list[dict[str, Any]]]:
    policy = draw(st.sampled_from([p[0] for p in POLICIES]))
    opening = draw(st.decimals(min_value=Decimal(-50), max_value=Decimal(300), places=2))
    events = []
    for i in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(["grant", "withdraw", "debit", "debit", "refund", "refund"]))
        event: dict[str, Any] = {"id": f"e{i}", "type": kind}
        if kind != "refund":
            event["amount"] = str(draw(AMOUNTS))
        if kind in ("debit", "refund"):
            event["request"] = draw(st.sampled_from(REQUESTS))
        if kind == "refund":
            event["reason"] = draw(st.sampled_from(["cancelled", "failed", "rejected"]))
        event["at"] = f"2015-09-{draw(st.integers(1, 3)):02d}T10:00:00Z"  # many ties
        events.append(event)
    return policy, opening, events


def _decide(rules: RuleSet, policy: str, opening: Decimal, events: list[dict[str, Any]]) -> balances.BalanceResult:
    data = {"id": "p", "as_of": "2015-09-30T00:00:00Z", "balance": {"policy": policy, "opening": str(opening)}}
    data["balance"]["events"] = events
    return balances.evaluate(rules, validate_scenario(data, None).scenario)


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(streams())
def test_conservation(rules: RuleSet, stream: tuple[str, Decimal, list[dict[str, Any]]]) -> None:
    result = _decide(rules, *stream)
    t = result.totals
    assert result.opening + t.grants - t.withdrawals - t.debits + t.refunds == result.closing
    assert result.closing == (result.ledger[-1].balance if result.ledger else result.opening)
    running = result.opening
    for entry in result.ledger:
        running += entry.change
        assert entry.balance == running
    assert len(result.ledger) + len(result.refused) == len(stream[2])  # every event moved or was refused


@PROPERTY
@given(streams())
def test_no_balance_below_zero_when_overdraft_is_forbidden(
    rules: RuleSet, stream: tuple[str, Decimal, list[dict[str, Any]]]
) -> None:
    policy, opening, events = stream
    result = _decide(rules, policy, abs(opening), events)
    if policy.startswith("strict"):
        assert all(entry.balance >= 0 for entry in result.ledger)
        assert all(a.code != "balance_below_zero" for a in result.alerts)


@PROPERTY
@given(streams())
def test_at_most_one_refund_per_request_and_exactly_what_was_debited(
    rules: RuleSet, stream: tuple[str, Decimal, list[dict[str, Any]]]
) -> None:
    result = _decide(rules, *stream)
    debits = {e.request: e for e in result.ledger if e.type == "debit"}
    refunds = [e for e in result.ledger if e.type == "refund"]
    assert len({e.request for e in refunds}) == len(refunds)
    assert len(debits) == sum(1 for e in result.ledger if e.type == "debit")  # one debit per request
    for entry in refunds:
        debit_entry = debits[entry.request]
        assert entry.quantity == debit_entry.quantity
        assert result.ledger.index(debit_entry) < result.ledger.index(entry)


@PROPERTY
@given(streams())
def test_replay_gives_byte_identical_json(rules: RuleSet, stream: tuple[str, Decimal, list[dict[str, Any]]]) -> None:
    first = to_json(balances.balance_json(_decide(rules, *stream)))
    again = to_json(
        balances.balance_json(_decide(rules, *json.loads(json.dumps([stream[0], str(stream[1]), stream[2]]))))
    )
    assert first == again


@PROPERTY
@given(streams())
def test_alerts_fire_exactly_on_crossings(rules: RuleSet, stream: tuple[str, Decimal, list[dict[str, Any]]]) -> None:
    """Against a reference: walk the ledger's balances and list every downward crossing of each line."""
    result = _decide(rules, *stream)
    threshold = {code: t for code, _, t in POLICIES}[stream[0]]
    lines = [(Decimal(0), "balance_below_zero")] + ([(threshold, "balance_below_threshold")] if threshold else [])
    expected = []
    previous = result.opening
    for entry in result.ledger:
        crossed = [(line, code) for line, code in lines if previous >= line and entry.balance < line]
        expected += [(entry.event, code) for _, code in sorted(crossed, reverse=True)]
        previous = entry.balance
    assert alerts_of(result) == expected
