"""A balance's debits carried from one scenario to the next (`balance.debits`, SPEC 3.7: "the exact
amount debited for that request returns, once"): audit s27 a1, "A refund of a request debited in an
earlier scenario is refused" (repro/refund_of_earlier_debit.yaml).

A billing run decides one scenario per customer per night: a request debited yesterday and
refunded today is returned, and a second refund of a request refunded yesterday is refused. The
heart: a stream decided whole equals its first part decided, then the rest with the first part's
`closing` as `opening` and its `debits` as `debits`.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.cli.main import main
from engine.decide import balances
from engine.decide.scenarios import ScenarioError, validate_scenario
from engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent
SHIPPED = load_rules(REPO / "rules")

#: (code, overdraft, alert threshold or None for alerts disabled)
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
    root = tmp_path_factory.mktemp("carried-debits-rules")
    (root / "ruleset.yaml").write_text(
        'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\n', encoding="utf-8"
    )
    (root / "policies.yaml").write_text("---\n".join(_policy_yaml(*p) for p in POLICIES), encoding="utf-8")
    return load_rules(root)


def _scenario(policy: str, opening: Any, events: list[dict[str, Any]], debits: list[dict[str, Any]] | None) -> Any:
    part: dict[str, Any] = {"policy": policy, "opening": str(opening), "events": events}
    if debits is not None:
        part["debits"] = debits
    checked = validate_scenario({"id": "c", "as_of": "2015-09-30T00:00:00Z", "balance": part}, None)
    assert not checked.diagnostics, [d.message for d in checked.diagnostics]
    return checked.scenario


def decide(
    rules: RuleSet,
    policy: str,
    opening: Any,
    events: list[dict[str, Any]],
    debits: list[dict[str, Any]] | None = None,
) -> balances.BalanceResult:
    return balances.evaluate(rules, _scenario(policy, opening, events, debits))


def cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def ev(id: str, type: str, amount: Any = None, request: str | None = None, reason: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"id": id, "type": type, "at": "2015-09-13T09:00:00Z"}
    if amount is not None:
        event["amount"] = str(amount)
    if request is not None:
        event["request"] = request
    if reason is not None:
        event["reason"] = reason
    return event


def carried_json(result: balances.BalanceResult) -> list[dict[str, Any]]:
    return balances.balance_json(result).get("debits", [])


# --- the audit's repro ----------------------------------------------------------------------------

REPRO = """\
id: refund-of-earlier-debit
as_of: 2015-09-13T18:00:00+02:00
balance:
  policy: standard-balance
  opening: 0
{debits}  events:
    - {{id: EV-9, type: refund, request: service-3, amount: 60, reason: failed, at: 2015-09-13T09:00:00+02:00}}
"""


def test_a1_repro_refund_of_a_debit_carried_in_returns_its_amount(tmp_path: Path) -> None:
    path = tmp_path / "repro.yaml"
    path.write_text(REPRO.format(debits="  debits:\n    - {request: service-3, amount: 60}\n"), encoding="utf-8")
    code, out, err = cli(["decide", "--json", "--rules", str(REPO / "rules"), str(path)])
    assert (code, err) == (0, "")
    part = json.loads(out)["balance"]
    assert (part["opening"], part["closing"], part["refused"]) == ("0", "60", [])
    assert [(e["event"], e["type"], e["request"], e["quantity"], e["balance"]) for e in part["ledger"]] == [
        ("EV-9", "refund", "service-3", "60", "60")
    ]
    assert part["totals"]["refunds"] == "60"
    assert part["debits"] == [{"request": "service-3", "amount": "60", "refunded": True}]
    code, out, _ = cli(["decide", "--rules", str(REPO / "rules"), str(path)])
    assert "  debits to carry: service-3 60 (refunded)\n" in out


def test_a1_repro_without_debits_is_still_refund_without_debit(tmp_path: Path) -> None:
    path = tmp_path / "repro.yaml"
    path.write_text(REPRO.format(debits=""), encoding="utf-8")
    _, out, _ = cli(["decide", "--json", "--rules", str(REPO / "rules"), str(path)])
    part = json.loads(out)["balance"]
    assert [r["code"] for r in part["refused"]] == ["refund_without_debit"]
    assert "debits" not in part  # nothing debited, nothing carried: the key is not written


# --- the rules, one by one ------------------------------------------------------------------------


def test_refund_of_a_carried_refunded_request_is_refund_repeated(rules: RuleSet) -> None:
    result = decide(
        rules,
        "open",
        "40",
        [ev("e1", "refund", None, "r1", "cancelled")],
        [{"request": "r1", "amount": "60", "refunded": True}],
    )
    assert result.ledger == () and result.closing == Decimal(40)
    (refusal,) = result.refused
    assert refusal.code == "refund_repeated"
    assert refusal.facts["refunded_before_scenario"] is True and "refunded_by" not in refusal.facts
    assert (refusal.facts["amount"], refusal.facts["debited"]) == ("60", "60")
    assert (
        refusal.words() == "refund of request `r1` refused: its 60 credits were already returned before this scenario"
    )
    assert carried_json(result) == [{"request": "r1", "amount": "60", "refunded": True}]


def test_refund_of_a_carried_request_naming_another_amount_is_refused(rules: RuleSet) -> None:
    result = decide(rules, "open", "0", [ev("e1", "refund", 50, "r1", "failed")], [{"request": "r1", "amount": "60"}])
    (refusal,) = result.refused
    assert refusal.code == "refund_amount_differs"
    assert (refusal.facts["amount"], refusal.facts["debited"]) == ("50", "60")
    assert result.ledger == () and carried_json(result) == [{"request": "r1", "amount": "60", "refunded": False}]


def test_second_refund_of_a_carried_request_in_one_scenario_names_the_first(rules: RuleSet) -> None:
    events = [ev("e1", "refund", None, "r1", "failed"), ev("e2", "refund", 60, "r1", "cancelled")]
    result = decide(rules, "open", "0", events, [{"request": "r1", "amount": "60"}])
    assert [(e.event, e.quantity, e.balance) for e in result.ledger] == [("e1", Decimal(60), Decimal(60))]
    (refusal,) = result.refused
    assert (refusal.code, refusal.facts["refunded_by"]) == ("refund_repeated", "e1")


def test_debit_of_a_carried_request_is_debit_repeated(rules: RuleSet) -> None:
    debits = [{"request": "r1", "amount": "60", "refunded": True}]
    result = decide(rules, "strict", "100", [ev("e1", "debit", 25, "r1")], debits)
    assert result.ledger == () and result.closing == Decimal(100)
    (refusal,) = result.refused
    assert refusal.code == "debit_repeated"
    assert refusal.facts["debited_before_scenario"] is True and "debited_by" not in refusal.facts
    assert (refusal.facts["amount"], refusal.facts["debited"]) == ("25", "60")
    assert refusal.words() == (
        "debit of 25 credits for request `r1` refused: the request was already debited 60 credits before this scenario"
    )
    # a debit within the scenario keeps its words, naming the event
    again = decide(rules, "open", "100", [ev("e1", "debit", 25, "r2"), ev("e2", "debit", 25, "r2")])
    assert again.refused[0].words().endswith("already debited 25 credits by event `e1`")


def test_debits_to_carry_carried_first_in_order_given_then_this_scenarios_in_ledger_order(rules: RuleSet) -> None:
    events = [
        {**ev("e1", "debit", 5, "r9"), "at": "2015-09-13T11:00:00Z"},
        {**ev("e2", "debit", 7, "r8"), "at": "2015-09-13T10:00:00Z"},  # earlier: first in the ledger
        {**ev("e3", "refund", None, "r2", "rejected"), "at": "2015-09-13T12:00:00Z"},
        {**ev("e4", "refund", None, "r9", "rejected"), "at": "2015-09-13T12:00:00Z"},
    ]
    debits = [{"request": "r5", "amount": "1.5", "refunded": True}, {"request": "r2", "amount": "3"}]
    result = decide(rules, "open", "10", events, debits)
    assert carried_json(result) == [  # (written with the stream's most decimals, as the ledger is)
        {"request": "r5", "amount": "1.5", "refunded": True},
        {"request": "r2", "amount": "3.0", "refunded": True},
        {"request": "r8", "amount": "7.0", "refunded": False},
        {"request": "r9", "amount": "5.0", "refunded": True},
    ]
    assert result.closing == Decimal("6.0")  # 10 - 7 - 5 + 3 + 5


def test_no_debit_no_debits_key(rules: RuleSet) -> None:
    part = balances.balance_json(decide(rules, "open", "10", [ev("g", "grant", 5), ev("w", "withdraw", 1)]))
    assert "debits" not in part
    _, out, _ = cli(["decide", "--rules", str(REPO / "rules"), str(REPO / "samples/balance/seed_004_example.yaml")])
    assert "debits to carry: service-1 25, service-2 15, service-3 60, service-4 15\n" in out


@pytest.mark.parametrize(
    ("debits", "field", "message"),
    [
        (
            [{"request": "r1", "amount": "60"}, {"request": "r1", "amount": "60"}],
            "balance.debits[1].request",
            "request `r1` is listed twice (first at balance.debits[0])",
        ),
        (
            [{"request": "r1", "amount": "0"}],
            "balance.debits[0].amount",
            "the amount debited before this scenario must be greater than zero (found 0)",
        ),
        (
            [{"request": "r1", "amount": "-3"}],
            "balance.debits[0].amount",
            "the amount debited before this scenario must be greater than zero (found -3)",
        ),
    ],
)
def test_bad_carried_debits_are_br611_at_their_field(
    rules: RuleSet, debits: list[dict[str, Any]], field: str, message: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        decide(rules, "open", "0", [], debits)
    assert (caught.value.code, caught.value.field, caught.value.message) == ("BR611", field, message)


def test_bad_carried_debit_in_a_file_is_br611_at_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.yaml").write_text(
        REPRO.format(
            debits="  debits:\n    - {request: service-3, amount: 60}\n    - {request: service-3, amount: 0}\n"
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["decide", "--rules", str(REPO / "rules"), "bad.yaml"])
    assert code == 1 and "Traceback" not in err
    assert "bad.yaml:8:17: error[BR611] request `service-3` is listed twice (first at balance.debits[0])" in err
    assert "bad.yaml:8:36: error[BR611] the amount debited before this scenario must be greater than zero" in err


def test_billrules_test_expects_debits_keyed_by_request(tmp_path: Path) -> None:
    text = REPRO.format(
        debits="  debits:\n    - {request: service-1, amount: 40}\n    - {request: service-3, amount: 60}\n"
    )
    good = text + "expect:\n  balance:\n    debits:\n      - {request: service-3, amount: 60, refunded: true}\n"
    (tmp_path / "good.yaml").write_text(good, encoding="utf-8")
    code, out, _ = cli(["test", "--rules", str(REPO / "rules"), str(tmp_path / "good.yaml")])
    assert (code, out.splitlines()[-1]) == (0, "1 passed, 0 failed")
    (tmp_path / "good.yaml").unlink()
    bad = text + "expect:\n  balance:\n    debits:\n      - {request: service-1, refunded: true}\n"
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    code, out, _ = cli(["test", "--rules", str(REPO / "rules"), str(tmp_path / "bad.yaml")])
    assert code == 1 and "expected `true`, got `false`" in out


def test_schemas_admit_the_carried_debits() -> None:
    import jsonschema

    scenario_schema = json.loads((REPO / "schemas/scenario.schema.json").read_text(encoding="utf-8"))
    expectation_schema = json.loads((REPO / "schemas/expectation.schema.json").read_text(encoding="utf-8"))
    carried = {"request": "service-3", "amount": 60, "refunded": True}
    scenario = {"id": "s", "as_of": "2015-09-13T18:00:00Z", "balance": {"policy": "p", "debits": [carried]}}
    jsonschema.validate(scenario, scenario_schema)
    jsonschema.validate({**scenario, "expect": {"balance": {"debits": [carried]}}}, expectation_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**scenario, "expect": {"balance": {"debits": [{"requests": "x"}]}}}, expectation_schema)


# --- the property: whole = first part, then the rest with the state carried -----------------------

AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(120), places=2)
REQUESTS = [f"r{i}" for i in range(6)]


@st.composite
def streams(draw: st.DrawFn) -> tuple[str, Decimal, list[dict[str, Any]], list[dict[str, Any]], int]:
    """A policy, an opening, debits carried into the whole stream, the events (in time order, with
    ties), and where to split them."""
    policy = draw(st.sampled_from([p[0] for p in POLICIES]))
    opening = draw(st.decimals(min_value=Decimal(-60), max_value=Decimal(200), places=2))
    carried = [
        {"request": request, "amount": str(draw(AMOUNTS)), "refunded": draw(st.booleans())}
        for request in draw(st.lists(st.sampled_from(REQUESTS), unique=True, max_size=3))
    ]
    events = []
    minute = 0
    for i in range(draw(st.integers(0, 24))):
        kind = draw(st.sampled_from(["grant", "withdraw", "debit", "debit", "refund", "refund", "refund"]))
        event: dict[str, Any] = {"id": f"e{i}", "type": kind}
        if kind != "refund" or draw(st.booleans()):  # a refund may name an amount, right or wrong
            event["amount"] = str(draw(AMOUNTS))
        if kind in ("debit", "refund"):
            event["request"] = draw(st.sampled_from(REQUESTS))
        if kind == "refund":
            event["reason"] = draw(st.sampled_from(["cancelled", "failed", "rejected"]))
        minute += draw(st.sampled_from([0, 0, 1, 7]))  # ties keep the written order
        event["at"] = f"2015-09-01T{minute // 60:02d}:{minute % 60:02d}:00Z"
        events.append(event)
    # a refund naming the amount its request's debit took (so `refund_amount_differs` is not all)
    debited = {c["request"]: c["amount"] for c in carried}
    for event in events:
        if event["type"] == "debit":
            debited.setdefault(event["request"], event["amount"])
        elif event["type"] == "refund" and "amount" in event and event["request"] in debited and draw(st.booleans()):
            event["amount"] = debited[event["request"]]
    split = draw(st.integers(0, len(events)))
    return policy, opening, carried, events, split


def _value(text: Any) -> Any:
    """A fact as its value: numbers compared as numbers (a part's decimals follow its own events)."""
    if isinstance(text, str):
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    return text


#: facts naming the earlier event, compared on their own (`_attributed`)
_NAMING = ("debited_by", "refunded_by", "debited_before_scenario", "refunded_before_scenario", "refused_debit")


def _reason(reason: Any) -> tuple[str, str, dict[str, Any]]:
    facts = {k: _value(v) for k, v in reason.facts.items() if k not in _NAMING}
    return reason.facts["event"], reason.code, facts


def _entry(entry: balances.LedgerEntry) -> tuple[Any, ...]:
    return entry.event, entry.type, entry.request, entry.quantity, entry.balance, entry.reason


def _attributed(whole: Any, part: Any, first_part: set[str], second_part: bool) -> None:
    """The earlier event a refusal names: the same one, or — for one in the first part, seen from
    the second — "before this scenario". `refused_debit` (a refund's debit that was refused) is no
    state carried: the second part names it only when refused there, and then the whole does too."""
    for named, before in (("debited_by", "debited_before_scenario"), ("refunded_by", "refunded_before_scenario")):
        if named in whole.facts:
            if second_part and whole.facts[named] in first_part:
                assert part.facts.get(before) is True and named not in part.facts
            else:
                assert part.facts[named] == whole.facts[named]
        elif before in whole.facts:  # carried into the whole stream: carried into both parts
            assert part.facts[before] is True
        else:
            assert named not in part.facts and before not in part.facts
    if "refused_debit" in part.facts:
        assert "refused_debit" in whole.facts


PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(streams())
def test_a_stream_decided_whole_equals_it_decided_in_two_parts_with_the_state_carried(
    rules: RuleSet, stream: tuple[str, Decimal, list[dict[str, Any]], list[dict[str, Any]], int]
) -> None:
    policy, opening, carried, events, split = stream
    whole = decide(rules, policy, opening, events, carried)
    first = decide(rules, policy, opening, events[:split], carried)
    state = balances.balance_json(first)  # what a billing run carries: the decision as written
    rest = decide(rules, policy, state["closing"], events[split:], state.get("debits", []))

    assert [_entry(e) for e in whole.ledger] == [_entry(e) for e in first.ledger + rest.ledger]
    assert whole.closing == rest.closing
    for name in ("grants", "withdrawals", "debits", "refunds"):  # totals are per scenario: their sums
        assert getattr(whole.totals, name) == getattr(first.totals, name) + getattr(rest.totals, name)
    # refusals and alerts, in order, with the same facts (numbers as values)
    assert [_reason(r) for r in whole.refused] == [_reason(r) for r in first.refused + rest.refused]
    # alerts: a line is crossed from at or above it to below it; the rest's opening is the
    # balance the whole had there, so an opening already below a line raises nothing, as in the whole
    assert [_reason(a) for a in whole.alerts] == [_reason(a) for a in first.alerts + rest.alerts]
    in_first = {e["id"] for e in events[:split]}
    for w, p in zip(whole.refused, first.refused + rest.refused, strict=True):
        _attributed(w, p, in_first, second_part=w.facts["event"] not in in_first)
    # the state carried on: the same debits, in the same order
    assert [(d.request, d.amount, d.refunded) for d in whole.debits] == [
        (d.request, d.amount, d.refunded) for d in rest.debits
    ]
    assert [(d["request"], Decimal(d["amount"]), d["refunded"]) for d in carried_json(whole)] == [
        (d["request"], Decimal(d["amount"]), d["refunded"]) for d in carried_json(rest)
    ]
