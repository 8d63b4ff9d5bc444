"""The twenty-seventh session's fixes of credit facts (fx3).

- A scenario credit's `quantity` is the quantity left: 0 (used up) is accepted for any credit, and
  below zero (overdrawn) where its type's `overdraft_policy` allows overdraft; it behaves exactly as
  a credit brought to that state by earlier draws of the same scenario (until 2026-12-04 both were
  BR602 "must be more than 0", so a next-day scenario could not carry the state forward). Below
  zero for a type that may not go there is BR420, naming the policy.
- BR413 on a credit purchase's usage period names the day compared (the earlier of the purchase's
  local date and its UTC date).
- The scenario schema takes what the engine reads (exponents) and refuses what it refuses (0 and
  below where a quantity or an amount is more than zero).
- A scenario credit's `priority` that orders nothing is a warning (BR421) of `validate --scenarios`.
"""

from __future__ import annotations

import copy
import json
import random
import textwrap
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine import load_rules
from engine.cli.main import main
from engine.decide.scenarios import ScenarioError, ScenarioInvalid

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


def _voice_credit(quantity: object) -> dict[str, Any]:
    """The shipped `globex-fr-voice` (100 minutes, policy standard-balance: overdraft, alerts below
    20), restated with what is left of it."""
    return {
        "code": "globex-fr-voice",
        "type": "voice-minutes",
        "quantity": quantity,
        "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
        "holder": "globex-fr",
        "allocation": "this_organisation",
        "issued": "2015-01-01",
    }


#: the sample's evening minutes (30), used up by its evening calls
EVENING_USED_UP = {
    "code": "globex-fr-voice-evening",
    "type": "voice-evening-minutes",
    "quantity": "0",
    "usage_period": {"from": "2015-01-01", "to": "2015-06-30"},
    "holder": "globex-fr",
    "allocation": "this_organisation",
    "issued": "2015-01-01",
}


def _call(id: str, minutes: object, at: str) -> dict[str, Any]:
    return {"id": id, "organisation": "globex-fr", "service": "voice", "quantity": minutes, "unit": "minutes", "at": at}


SAMPLE_CALLS = [  # samples/credits/voice_evening_minutes_then_overdraft.yaml: closes globex-fr-voice at -15
    _call("CALL-EVENING-1", 20, "2015-05-18T21:00:00+02:00"),
    _call("CALL-EVENING-2", 25, "2015-05-18T22:00:00+02:00"),
    _call("CALL-MORNING", 100, "2015-05-19T10:00:00+02:00"),
]
NEXT_DAY = _call("CALL-NEXT-DAY", 5, "2015-05-20T10:00:00+02:00")


def _decide(rules: Any, consumptions: list[dict[str, Any]], credits: list[dict[str, Any]] | None = None) -> Any:
    if not consumptions:  # (a scenario asking nothing is BR604: nothing drawn)
        return {"allocations": [], "refused": [], "alerts": [], "ledger": [], "remaining": [], "why": []}
    data: dict[str, Any] = {"id": "s", "as_of": "2015-12-31T23:00:00+01:00", "consumptions": consumptions}
    if credits:
        data["credits"] = credits
    return rules.decide(data, explain=True)["credits"]


def _after(part: dict[str, Any], requests: set[str]) -> dict[str, Any]:
    """What a decision's credits part says of `requests`."""
    return {
        "allocations": [a for a in part["allocations"] if a["request"] in requests],
        "refused": [r for r in part["refused"] if r["request"] in requests],
        "alerts": [a for a in part["alerts"] if a["facts"]["request"] in requests],
        "passed_over": [p for p in part.get("passed_over", []) if p["request"] in requests],
        "ledger": [e for e in part["ledger"] if e["request"] in requests],
        # `--explain`: every credit's verdict, in words (a restated credit has no rule file to point at)
        "why": [
            (w["request"], [(c["credit"], c["verdict"]["code"], c["verdict"]["text"]) for c in w["credits"]])
            for w in part["why"]
            if w["request"] in requests
        ],
    }


# --- 1. the quantity left: 0 and below ------------------------------------------------------------


def test_an_overdrawn_credit_restated_the_next_day_is_drawn_as_the_replayed_stream_draws_it() -> None:
    """a1 F0: the sample closes `globex-fr-voice` at -15; the next day's scenario states -15 and
    gets what replaying the whole history gives: the call drawn as overdraft, -20 left, no alert
    (no event of this scenario crossed a line)."""
    replayed = _decide(RULES, [*SAMPLE_CALLS, NEXT_DAY])
    restated = _decide(RULES, [NEXT_DAY], [_voice_credit("-15"), EVENING_USED_UP])
    assert _after(restated, {"CALL-NEXT-DAY"}) == _after(replayed, {"CALL-NEXT-DAY"})
    assert restated["allocations"] == [
        {
            "request": "CALL-NEXT-DAY",
            "credit": "globex-fr-voice",
            "quantity": "5",
            "rank": 1,
            "reasons": [
                {
                    "code": "overdraft",
                    "text": "overdraft: 5 beyond the candidates, drawn from `globex-fr-voice` by policy "
                    "`standard-balance`",
                    "facts": {"shortfall": "5", "credit": "globex-fr-voice", "policy": "standard-balance"},
                }
            ],
        }
    ]
    assert restated["alerts"] == []
    assert [(r["credit"], r["remaining"]) for r in restated["remaining"]] == [("globex-fr-voice", "-20")]


def test_a_used_up_credit_is_no_candidate_but_still_the_overdraft_target() -> None:
    """Quantity 0: not drawn for an ordinary draw (SPEC 3.6, "with something left"), the overdraft
    target as a credit drawn down to 0 earlier in the scenario is; the draw from 0 to -5 crosses
    zero: `credit_below_zero`, as in the replay."""
    to_zero = _call("CALL-TO-ZERO", 100, "2015-05-19T10:00:00+02:00")
    replayed = _decide(RULES, [to_zero, NEXT_DAY])
    restated = _decide(RULES, [NEXT_DAY], [_voice_credit(0)])
    assert _after(restated, {"CALL-NEXT-DAY"}) == _after(replayed, {"CALL-NEXT-DAY"})
    assert [a["code"] for a in restated["alerts"]] == ["credit_below_zero"]
    assert restated["alerts"][0]["text"] == (
        "credit `globex-fr-voice` fell below zero (0 → -5) at request `CALL-NEXT-DAY`"
    )


def test_a_credit_restated_below_its_alert_threshold_raises_no_alert_for_a_draw_that_crosses_nothing() -> None:
    restated = _decide(RULES, [NEXT_DAY], [_voice_credit("10")])
    assert restated["alerts"] == []
    assert [(r["credit"], r["issued"], r["remaining"]) for r in restated["remaining"]] == [
        ("globex-fr-voice", "10", "5")
    ]


def test_a_rule_file_credit_stated_used_up_is_not_drawn_again() -> None:
    """a1 F0: `globex-de-network-q3` (2 offers in the rule file) stated used up: the next offer is
    drawn from the next credit in precedence, not from the rule file's quantity again."""
    used_up = {
        "code": "globex-de-network-q3",
        "type": "network-offer",
        "quantity": 0,
        "usage_period": {"from": "2015-01-01", "to": "2015-09-30"},
        "holder": "globex-de",
        "allocation": "this_organisation",
        "issued": "2015-03-01",
    }
    request = {
        "id": "REQ-1",
        "organisation": "globex-de",
        "credit_type": "network-offer",
        "quantity": 1,
        "at": "2015-08-10T10:00:00+02:00",
    }
    left_out = _decide(RULES, [request])
    assert [a["credit"] for a in left_out["allocations"]] == ["globex-de-network-q3"]  # the issued 2 again
    stated = _decide(RULES, [request], [used_up])
    assert [a["credit"] for a in stated["allocations"]] == ["globex-de-network-own"]
    assert stated["refused"] == []


def test_a_used_up_credit_of_a_type_without_overdraft_leaves_a_consumption_refused() -> None:
    request = {**NEXT_DAY, "id": "SMS-1", "service": "sms", "unit": "text messages", "quantity": 1}
    sms = {
        "code": "globex-fr-sms",
        "type": "sms-credits",
        "quantity": "0",
        "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
        "holder": "globex-fr",
        "allocation": "this_organisation",
        "issued": "2015-01-01",
    }
    d = _decide(RULES, [request], [sms])
    assert d["allocations"] == []
    [refused] = d["refused"]
    assert refused["reasons"][0]["text"] == "refused: no credit can pay for it (used up `globex-fr-sms`)"


STRICT_RULES = """\
kind: credit_type
code: texts
name: Texts
service: sms
overdraft_policy: strict
---
kind: credit_type
code: plain
name: Plain
service: net
---
kind: balance_policy
code: strict
name: Strict
overdraft: false
---
kind: organisation
code: org
name: Org
"""


def _credit(code: str, type: str, quantity: object, **more: Any) -> dict[str, Any]:
    return {"code": code, "type": type, "quantity": quantity, "holder": "org", "issued": "2015-01-01", **more}


@pytest.mark.parametrize(
    ("type", "words"),
    [
        ("texts", "quantity left -1 is below zero, but policy `strict` of credit type `texts` allows no overdraft: "),
        ("plain", "quantity left -1 is below zero, but credit type `plain` names no `overdraft_policy` that allows "),
    ],
)
def test_below_zero_is_refused_where_the_type_may_not_go_below_zero(
    ruleset: Any, tmp_path_factory: pytest.TempPathFactory, type: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ruleset({"c.yaml": STRICT_RULES})
    rules = load_rules(root)
    consumption = {"id": "R1", "organisation": "org", "credit_type": type, "quantity": 1, "at": "2015-05-01T10:00:00Z"}
    with pytest.raises(ScenarioError) as raised:
        _decide(rules, [consumption], [_credit("c1", type, -1)])
    assert (raised.value.code, raised.value.field) == ("BR420", "credits[0].quantity")
    assert raised.value.message.startswith(words), raised.value.message
    assert raised.value.message.endswith("its credits never go below zero")
    assert raised.value.hint == "write the quantity left, 0 or more (0: used up)"
    # 0 is any credit's state: used up
    assert _decide(rules, [consumption], [_credit("c1", type, 0)])["refused"][0]["request"] == "R1"
    # `validate --scenarios` says it too, at the field
    text = "id: s\nas_of: 2015-05-01T10:00:00Z\ncredits:\n"
    text += f"  - {{code: c1, type: {type}, quantity: -1, holder: org, issued: 2015-01-01}}\n"
    text += f"consumptions:\n  - {{id: R1, organisation: org, credit_type: {type}, quantity: 1, at: 2015-05-01T10:00:00Z}}\n"
    scenario = tmp_path_factory.mktemp("scenarios") / "s.yaml"
    scenario.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "--rules", str(root), "--scenarios", str(scenario)]) == 1
    err = "".join(capsys.readouterr())
    assert "s.yaml:4:39: error[BR420] " + words in err, err


def test_the_replacement_row_of_the_old_scenario_credit_check() -> None:
    """tests/test_credits.py's CREDIT_BAD row `quantity: 0` (BR602) describes the old refusal; a
    network offer (no overdraft policy) below zero is the refusal now, at the same place."""
    credit = {"code": "mine", "type": "network-offer", "quantity": -1, "holder": "globex-de", "issued": "2015-01-01"}
    consumption = {
        "id": "R1",
        "organisation": "globex-de",
        "credit_type": "network-offer",
        "quantity": 1,
        "at": "2015-04-15T09:00:00+02:00",
    }
    with pytest.raises(ScenarioError) as raised:
        _decide(RULES, [consumption], [credit])
    assert raised.value.code == "BR420" and "quantity left -1 is below zero" in raised.value.message
    assert _decide(RULES, [consumption], [{**credit, "quantity": 0}])["allocations"][0]["credit"] != "mine"


# --- the property: a stream decided whole, or split with its state carried forward ----------------

PROPERTY_RULES = """\
kind: balance_policy
code: loose
name: Loose
overdraft: true
alerts: {enabled: true, threshold: 5}
---
kind: balance_policy
code: strict
name: Strict
overdraft: false
alerts: {enabled: true, threshold: 2}
---
kind: credit_type
code: calls
name: Calls
service: voice
unit: minutes
measure: amount
overdraft_policy: loose
---
kind: credit_type
code: bonus
name: Bonus minutes
service: voice
unit: minutes
measure: amount
criteria:
  when: consumption.at.hour >= 20
---
kind: credit_type
code: texts
name: Texts
service: sms
overdraft_policy: strict
---
kind: credit_type
code: data
name: Data
service: net
---
kind: organisation
code: root
name: Root
---
kind: organisation
code: a
name: A
parent: root
---
kind: organisation
code: a1
name: A1
parent: a
---
kind: organisation
code: b
name: B
parent: root
"""

#: the rule file's credits (also restated by the second scenario of a split)
RULE_CREDITS: list[dict[str, Any]] = [
    {"code": "root-calls", "type": "calls", "quantity": "10", "holder": "root", "allocation": "all_organisations",
     "usage_period": {"from": "2015-01-01", "to": "2015-12-31"}, "issued": "2015-01-01", "priority": 2},
    {"code": "a-calls", "type": "calls", "quantity": "5.5", "holder": "a",
     "usage_period": {"from": "2015-01-01", "to": "2015-06-30"}, "issued": "2015-01-01"},
    {"code": "a1-calls", "type": "calls", "quantity": "3", "holder": "a1", "issued": "2015-02-01", "priority": 1},
    {"code": "a-bonus", "type": "bonus", "quantity": "4", "holder": "a", "allocation": "all_organisations",
     "issued": "2015-01-01"},
    {"code": "b-bonus", "type": "bonus", "quantity": "6", "holder": "b",
     "usage_period": {"from": "2015-01-01", "to": "2015-09-30"}, "issued": "2015-01-01",
     "criteria": {"quantity": {"max": 3}}},
    {"code": "root-texts", "type": "texts", "quantity": "5", "holder": "root", "allocation": "all_organisations",
     "usage_period": {"from": "2015-01-01", "to": "2015-12-31"}, "issued": "2015-01-01"},
    {"code": "a-texts", "type": "texts", "quantity": "2", "holder": "a", "issued": "2015-01-01", "priority": 3},
    {"code": "b-data", "type": "data", "quantity": "3", "holder": "b", "issued": "2015-01-01"},
    {"code": "root-data", "type": "data", "quantity": "4", "holder": "root", "allocation": "all_organisations",
     "usage_period": {"from": "2015-03-01", "to": "2015-12-31"}, "issued": "2015-01-01"},
]  # fmt: skip

ORGS = ("root", "a", "a1", "b")
ASKS = [("credit_type", "calls"), ("credit_type", "bonus"), ("service", "voice"), ("credit_type", "texts"),
        ("service", "sms"), ("credit_type", "data"), ("service", "net")]  # fmt: skip
AMOUNTS = {"calls", "bonus", "voice"}


@pytest.fixture(scope="module", params=["default", "priority first"])
def property_rules(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("rules")
    precedence = (
        "[allocation, expiry, tree_distance, issue_date, id]"
        if request.param == "default"
        else "[priority, allocation, expiry, tree_distance, issue_date, id]"
    )
    ruleset = "kind: rule_set\ncode: t\nname: T\nversion: '1'\ndefault_currency: EUR\n"
    (root / "ruleset.yaml").write_text(ruleset + f"credit_precedence: {precedence}\n", encoding="utf-8")
    credits = "".join("---\n" + json.dumps({"kind": "credit", "name": c["code"], **c}) + "\n" for c in RULE_CREDITS)
    (root / "c.yaml").write_text(PROPERTY_RULES + credits, encoding="utf-8")
    return load_rules(root)


def _stream(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Random consumptions at distinct instants, in random input order, and 0 to 2 scenario credits
    of their own (a quantity left of 0 or below among them, for the type that may be overdrawn)."""
    minutes = sorted(rng.sample(range(365 * 24 * 60), rng.randint(1, 30)))
    consumptions = []
    for i, minute in enumerate(minutes):
        key, wanted = rng.choice(ASKS)
        amount = wanted in AMOUNTS
        quantity = str(rng.randint(1, 40) / 10) if amount else rng.randint(1, 4)
        day, rest = divmod(minute, 24 * 60)
        when = date(2015, 1, 1) + timedelta(days=day)
        at = f"{when}T{rest // 60:02d}:{rest % 60:02d}:00+00:00"
        item = {"id": f"R{i:02d}", "organisation": rng.choice(ORGS), key: wanted, "quantity": quantity, "at": at}
        consumptions.append(item)
    rng.shuffle(consumptions)
    own = []
    for j in range(rng.randint(0, 2)):
        kind = rng.choice(["calls", "texts", "data", "bonus"])
        low = -3 if kind == "calls" else 0
        quantity: object = rng.randint(low, 4) if kind != "calls" else str(rng.randint(low * 10, 40) / 10)
        credit = {"code": f"own-{j}", "type": kind, "quantity": quantity, "holder": rng.choice(ORGS),
                  "issued": "2015-01-01"}  # fmt: skip
        if rng.random() < 0.5:
            credit["usage_period"] = {"from": "2015-01-01", "to": rng.choice(["2015-04-30", "2015-10-31"])}
        if rng.random() < 0.5:
            credit["priority"] = rng.randint(0, 3)
        if rng.random() < 0.3 and kind != "bonus":
            credit["allocation"] = "all_organisations"
        own.append(credit)
    return consumptions, own


def _closing(part: dict[str, Any], credits: list[dict[str, Any]]) -> dict[str, str]:
    """Every credit's quantity left after a decision: its `remaining` row, or as it was stated."""
    left = {c["code"]: str(c["quantity"]) for c in credits}
    left.update({r["credit"]: r["remaining"] for r in part["remaining"]})
    return left


@pytest.mark.parametrize("seed", range(40))
def test_a_stream_decided_whole_equals_its_parts_with_the_state_carried_forward(property_rules: Any, seed: int) -> None:
    """For random streams: deciding the whole stream equals deciding its first part, restating
    every credit (the rule file's and the scenario's) with its closing `remaining`, and deciding
    the rest: the allocations, refusals, alerts, passed-over credits and ledger after the split, and
    what is left of each credit at the end."""
    rng = random.Random(seed)
    for _ in range(10):
        consumptions, own = _stream(rng)
        ordered = sorted(consumptions, key=lambda c: c["at"])
        cut = rng.randint(0, len(ordered))
        first, rest = ordered[:cut], ordered[cut:]
        whole = _decide(property_rules, consumptions, own)
        before = _decide(property_rules, first, own)
        every = [*(copy.deepcopy({k: v for k, v in c.items() if k != "criteria"}) for c in RULE_CREDITS), *own]
        closing = _closing(before, every)
        restated = [{**c, "quantity": closing[c["code"]]} for c in every]
        after = _decide(property_rules, rest, restated)
        later = {c["id"] for c in rest}
        assert _after(after, later) == _after(whole, later), (seed, consumptions, own, cut)
        assert _closing(after, restated) == _closing(whole, every), (seed, consumptions, own, cut)


# --- 2. BR413 names the day compared ----------------------------------------------------------------


def _purchase(at: str, to: str) -> dict[str, Any]:
    return {
        "id": "p",
        "as_of": "2015-06-01T12:00:00+02:00",
        "credit_purchases": [
            {
                "id": "PUR-1",
                "user": "peter",
                "credit_type": "email-credits",
                "quantity": 2000,
                "at": at,
                "usage_period": {"from": to, "to": to},
            }
        ],
    }


def test_a_purchase_period_ending_before_the_purchase_names_the_day_compared() -> None:
    """a1 F1: the purchase at 01:00+02:00 on 1 June is 31 May in UTC, the day compared; until
    2026-12-04 the message named 1 June, and by its words a period ending on 31 May (accepted) was
    "before" it too."""
    with pytest.raises(ScenarioError) as raised:
        RULES.decide(_purchase("2015-06-01T01:00:00+02:00", "2015-05-30"))
    assert raised.value.code == "BR413"
    assert raised.value.message == (
        "usage period ends (2015-05-30) before the purchase's day (2015-05-31 in UTC; 2015-06-01 where it was "
        "made): the credits bought could never be used"
    )
    assert raised.value.hint == "end the usage period on 2015-05-31 or later, or fix the purchase's date"
    RULES.decide(_purchase("2015-06-01T01:00:00+02:00", "2015-05-31"))  # the day compared itself: accepted
    with pytest.raises(ScenarioError) as raised:  # the local date is the earlier one: named alone
        RULES.decide(_purchase("2015-06-01T22:00:00-05:00", "2015-05-31"))
    assert "before the purchase's day (2015-06-01): " in raised.value.message
    assert raised.value.hint.startswith("end the usage period on 2015-06-01 or later")


# --- 3. the scenario schema and the engine agree ----------------------------------------------------

SCHEMA = json.loads((REPO / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))
AT = "2015-05-20T10:00:00+02:00"


def _with(field: str, value: object) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "s", "as_of": "2015-05-20T18:00:00+02:00"}
    consumption = _call("C1", 1, AT)
    if field == "consumptions[0].quantity":
        data["consumptions"] = [{**consumption, "quantity": value}]
    elif field == "credits[0].quantity":  # a type whose policy allows overdraft: below zero is a fact
        data.update(credits=[_voice_credit(value)], consumptions=[consumption])
    elif field == "credit_purchases[0].quantity":
        purchase = {"id": "PUR-1", "user": "peter", "credit_type": "email-credits", "quantity": value, "at": AT}
        data["credit_purchases"] = [purchase]
    elif field == "balance.events[0].amount":
        data["balance"] = {
            "policy": "standard-balance",
            "events": [{"id": "E1", "type": "grant", "amount": value, "at": AT}],
        }
    elif field == "balance.opening":
        data["balance"] = {
            "policy": "standard-balance",
            "opening": value,
            "events": [{"id": "E1", "type": "grant", "amount": 1, "at": AT}],
        }
    elif field == "usage[0].quantity":
        data.update(usage=[{"at": AT, "quantity": value}], consumptions=[consumption])
    return data


def _refused_fields(data: dict[str, Any]) -> set[str]:
    try:
        RULES.decide(data)
    except ScenarioInvalid as exc:
        return {str(getattr(d, "field_path", "")) for d in exc.diagnostics}
    except ScenarioError as exc:
        return {e.field for e in (exc, *exc.also)}
    return set()


FIELDS = [
    "consumptions[0].quantity",
    "credits[0].quantity",
    "credit_purchases[0].quantity",
    "balance.events[0].amount",
    "balance.opening",
    "usage[0].quantity",
]
VALUES = [0, -1, 0.01, "1e1", "1E-7", "2.5e1", "0", "-1", "0.00", "0e5", "-2.5E1"]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v) for v in VALUES])
@pytest.mark.parametrize("field", FIELDS)
def test_the_scenario_schema_takes_what_the_engine_takes(field: str, value: object) -> None:
    """a3 F1: until 2026-12-04 the schema took a purchase's quantity, an event's amount and a
    credit's quantity of 0 or below, which the engine refused, and refused `"1e1"`, which the
    engine reads; an editor now marks exactly what `decide` refuses."""
    data = _with(field, value)
    schema_ok = not any(
        ".".join(map(str, e.absolute_path)).replace(".0", "[0]") == field
        for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(data)
    )
    engine_ok = field not in _refused_fields(data)
    assert schema_ok == engine_ok, (field, value, schema_ok, engine_ok)


def test_the_scenario_schema_takes_a_credit_used_up_or_overdrawn() -> None:
    data = _with("credits[0].quantity", "-15")
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(data)) == []
    quantity = SCHEMA["definitions"]["ScenarioCredit"]["properties"]["quantity"]
    assert "0 for a credit used up" in quantity["description"]


# --- 4. a scenario credit's priority that orders nothing ---------------------------------------------


def test_a_scenario_credits_priority_that_orders_nothing_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """a3 F2: the shipped precedence has no `priority` key; a rule-file credit's priority is BR421
    (a warning); a scenario credit's passed in silence until 2026-12-04."""
    credit = json.dumps({**_voice_credit(50), "priority": 1})
    text = f"id: s\nas_of: 2015-05-20T18:00:00+02:00\ncredits:\n  - {credit}\nconsumptions:\n"
    text += f"  - {json.dumps(NEXT_DAY)}\n"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text, encoding="utf-8")
    assert main(["validate", "--rules", str(REPO / "rules"), "--scenarios", str(scenario)]) == 0  # a warning
    err = "".join(capsys.readouterr())
    column = 5 + credit.index('"priority": 1') + len('"priority": ')
    assert (
        f"s.yaml:4:{column}: warning[BR421] `priority` orders nothing: the rule set's `credit_precedence` has no "
        "`priority` key" in err
    ), err
    assert "hint: add `priority` to `credit_precedence` in ruleset.yaml, or remove it from the scenario's credit" in err
    assert main(["validate", "--strict", "--rules", str(REPO / "rules"), "--scenarios", str(scenario)]) == 1
    capsys.readouterr()
    lines = tmp_path / "s.jsonl"
    lines.write_text(json.dumps({"id": "s", "as_of": "2015-05-20T18:00:00+02:00", "credits": [json.loads(credit)],
                                 "consumptions": [NEXT_DAY]}) + "\n", encoding="utf-8")  # fmt: skip
    assert main(["validate", "--rules", str(REPO / "rules"), "--scenarios", str(lines)]) == 0
    assert "s.jsonl:1:1: warning[BR421] `credits[0].priority`: `priority` orders nothing" in "".join(
        capsys.readouterr()
    )


def test_a_priority_the_precedence_orders_by_is_no_warning(
    ruleset: Any, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ruleset({"c.yaml": STRICT_RULES})
    ruleset_file = root / "ruleset.yaml"
    ruleset_file.write_text(
        ruleset_file.read_text(encoding="utf-8") + "credit_precedence: [priority, allocation, expiry, id]\n",
        encoding="utf-8",
    )
    text = textwrap.dedent(
        """\
        id: s
        as_of: 2015-05-01T10:00:00Z
        credits:
          - {code: c1, type: plain, quantity: 2, holder: org, issued: 2015-01-01, priority: 1}
        consumptions:
          - {id: R1, organisation: org, credit_type: plain, quantity: 1, at: 2015-05-01T10:00:00Z}
        """
    )
    scenario = tmp_path_factory.mktemp("scenarios") / "s.yaml"
    scenario.write_text(text, encoding="utf-8")
    assert main(["validate", "--strict", "--rules", str(root), "--scenarios", str(scenario)]) == 0
    assert "BR421" not in "".join(capsys.readouterr())
