"""The precomputed discount evaluator against its frozen reference, and orjson against json.

`engine.decide.discounts_reference.ReferenceEvaluator` is the evaluator as it stood before
issue 11. A rule set whose evaluator cache holds the reference decides with it everywhere the
engine decides discounts (the `discounts` part and a purchase's price); the whole decision is
then written with today's encoder (`json.dumps(ensure_ascii=False, compact separators)`) and
compared, byte for byte, with `to_json` of the engine's own decision: over every sample (with and
without `explain`) and over generated scenarios (lines from the shipped catalog with quantities,
prices and bundles; plans and add-ons; billing frequencies and periods; dates; segments and
classifications; agents; ad hoc requests with values and dates; approvals; discount history;
usage; jobs; purchases). A scenario the engine refuses must be refused the same way by both.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide.decision import _evaluator, criteria_outcomes, decide, discounts_json, to_json
from engine.decide.discounts_reference import ReferenceEvaluator, in_old_words
from engine.decide.scenarios import ScenarioError, validate_scenario
from engine.load import load_file

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


def _reference_rules(rules: Any) -> Any:
    """The same rule set, deciding discounts with the frozen reference evaluator."""
    clone = copy.copy(rules)
    clone.__dict__["_evaluators"] = {"discounts": ReferenceEvaluator(rules)}
    return clone


REFERENCE = _reference_rules(RULES)


def _old_json(decision: dict[str, Any]) -> str:
    return json.dumps(decision, ensure_ascii=False, separators=(",", ":"))


def _outcome(rules: Any, scenario: Any, explain: bool) -> tuple[str, str]:
    """('ok', the decision's JSON, discount reasons in words) or ('error', the ScenarioError)."""
    try:
        decision = in_old_words(decide(rules, scenario, explain=explain))
        return "ok", (to_json if rules is RULES else _old_json)(decision)
    except ScenarioError as exc:
        return "error", f"{exc.code} {exc.field}: {exc.message} ({exc.hint}) {[str(e) for e in exc.also]}"


def _same(scenario: Any, explain: bool = False) -> str:
    new, old = _outcome(RULES, scenario, explain), _outcome(REFERENCE, scenario, explain)
    assert new == old
    if new[0] == "ok":
        _written_alike(scenario, explain)
    return new[1]


BRIEF = RULES.brief()


def _written_alike(scenario: Any, explain: bool) -> None:
    """`RuleSet.decide_json` (shared records, results written once) writes the very text of
    `to_json(decide(...))`, with detailed and with brief reasons, and twice in a row."""
    for rules in (RULES, BRIEF):
        expected = to_json(decide(rules, scenario, explain=explain))
        assert rules.decide_json(scenario, explain=explain) == expected
        assert rules.decide_json(scenario, explain=explain) == expected


def _samples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((REPO / "samples").rglob("*.yaml")):
        for i, document in enumerate(load_file(path).documents):
            found.append((f"{path.relative_to(REPO / 'samples')}#{i}", document.data))
    return found


SAMPLES = _samples()


def test_the_samples_are_all_there() -> None:
    assert len(SAMPLES) >= 80
    assert {name.split("/")[0] for name, _ in SAMPLES} == {
        "balance",
        "cancellation",
        "credits",
        "discounts",
        "purchase",
    }


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_every_sample_decides_the_same_and_writes_the_same_bytes(name: str, data: dict[str, Any]) -> None:
    checked = validate_scenario(data, None)
    assert not checked.diagnostics, name
    for explain in (False, True):
        text = _same(checked.scenario, explain)
        assert text.startswith('{"scenario":')  # every sample is decided, none refused


def test_the_samples_exercise_non_ascii_and_escapes() -> None:
    """The byte comparison above means something: the samples' decisions hold non-ASCII text
    (such as …) and characters JSON escapes (quotes in reasons)."""
    texts = [to_json(RULES.decide(data, explain=True)) for _, data in SAMPLES]
    assert any(any(ord(c) > 127 for c in text) for text in texts)
    assert any('\\"' in text for text in texts)


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "é à ü ß 中文 ✓ 🎉 …",
        'quote " backslash \\ slash /',
        "controls \x00 \x01 \x08 \t \n \x0b \x0c \r \x1f \x7f",
        "separators \u2028 \u2029 and \ufeff bom",
        "lone surrogate \ud800 here",  # orjson refuses it: json writes it as before
    ],
)
def test_to_json_writes_what_json_dumps_writes(text: str) -> None:
    decision = {"scenario": text, "n": [0, -1, 2**63 - 1, 2**70], "ok": True, "none": None, text: {"k": [text]}}
    assert to_json(decision) == _old_json(decision)


def test_decide_json_falls_back_when_orjson_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where orjson refuses the shared decision (it holds what orjson cannot write: a lone
    surrogate, an integer past 64 bits), `decide_json` writes the plain decision, as `to_json` does."""
    from engine.decide import decision

    data = SAMPLES[0][1]
    expected = RULES.decide_json(data)
    real, refused = decision.orjson.dumps, []

    def refusing(value: Any, *args: Any) -> bytes:
        if isinstance(value, dict) and "rules_version" in value and not refused:
            refused.append(value)
            raise TypeError("refused")
        return real(value, *args)

    monkeypatch.setattr(decision.orjson, "dumps", refusing)
    assert RULES.decide_json(data) == expected
    assert refused  # the shared decision was refused, and written again the plain way


def test_decisions_are_fresh_data_the_caller_may_change() -> None:
    """Records the rule set keeps are shared only on the way to text: a caller that changes the
    data `decide` returned changes nothing in the next decision."""
    name, data = next((n, d) for n, d in SAMPLES if n.startswith("discounts/"))
    expected = RULES.decide_json(data)
    first = RULES.decide(data)
    for item in first["discounts"]["definitions"]:
        item["status"] = "changed"
        for reason in item["reasons"]:
            reason["facts"]["changed"] = True
            reason.get("source", {})["line"] = -1
    assert to_json(RULES.decide(data)) == expected == RULES.decide_json(data), name


def test_criteria_outcomes_equal_the_programs_dict() -> None:
    for _, data in SAMPLES:
        scenario = validate_scenario(data, None).scenario
        assert dict(criteria_outcomes(RULES, scenario)) == RULES.criteria.outcomes(scenario)


# --- generated scenarios ------------------------------------------------------------------------------

PRODUCTS = sorted(RULES.models("product"))
BUNDLES = sorted(RULES.models("bundle"))
PLANS = sorted(RULES.models("plan"))
DISCOUNTS = sorted(RULES.models("discount"))
AD_HOC = sorted(code for code, d in RULES.models("discount").items() if d.type.value == "ad_hoc")
USERS = sorted(RULES.models("user"))
UNITS = sorted(RULES.models("unit"))
SEGMENTS = sorted(RULES.models("segment"))
CLASSIFICATIONS = ["Residential", "SME", "Business"]
FREQUENCIES = ["monthly", "bimonthly", "quarterly", "semi_annual", "yearly"]
DAY0 = date(2015, 6, 15)  # the shipped definitions' validities are around 2014-2016

days = st.integers(-600, 900).map(lambda n: DAY0 + timedelta(days=n))


def iso(day: date) -> str:
    return day.isoformat()


prices = st.one_of(
    st.none(),
    st.builds(
        lambda c, cur: f"{c // 100}.{c % 100:02d} {cur}", st.integers(0, 20_000), st.sampled_from(["EUR", "EUR", "USD"])
    ),
    st.builds(lambda c: f"{c // 1000}.{c % 1000:03d} EUR", st.integers(0, 50_000)),  # finer than the minor unit
)

product_lines = st.builds(
    lambda product, bundle, quantity, price, main, ptype: {
        "product": product,
        **({"bundle": bundle} if bundle else {}),
        **({"quantity": quantity} if quantity != 1 else {}),
        **({"price": price} if price else {}),
        **({"main": True} if main else {}),
        **({"type": ptype} if ptype else {}),
    },
    st.sampled_from(PRODUCTS),
    st.one_of(st.none(), st.sampled_from(BUNDLES)),
    st.integers(1, 4),
    prices,
    st.booleans(),
    st.one_of(st.none(), st.none(), st.sampled_from(["termed", "usage", "expense"])),
)

values = st.one_of(
    st.none(),
    st.integers(0, 120),
    st.sampled_from(["12.5", "5.00 EUR", "20.00 EUR", "1.00 USD", "abc"]),
)


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    as_of = draw(days)
    data: dict[str, Any] = {"id": "gen", "as_of": f"{iso(as_of)}T{draw(st.integers(0, 23)):02d}:00:00Z"}
    data["account"] = {
        "code": "A1",
        "classification": draw(st.sampled_from(CLASSIFICATIONS)),
        "payment_preference": draw(st.sampled_from(["card", "direct_debit"])),
        "presentment_preference": draw(st.sampled_from(["paper", "email"])),
        "segments": draw(st.lists(st.sampled_from(SEGMENTS), max_size=3, unique=True)),
    }
    lines = draw(st.lists(product_lines, max_size=4))
    if draw(st.integers(0, 4)) == 0:
        data["job"] = {
            "code": "J1",
            "type": draw(st.sampled_from(["installation", "repair"])),
            "segments": draw(st.lists(st.sampled_from(SEGMENTS), max_size=2, unique=True)),
            "products": lines,
        }
    else:
        start = as_of - timedelta(days=draw(st.integers(0, 3 * 365)))
        subscription: dict[str, Any] = {
            "code": "S1",
            "start": iso(start),
            "status_history": [{"status": "active", "from": iso(start)}],
            "products": lines,
            "billing_frequency": draw(st.sampled_from(FREQUENCIES)),
            "add_ons": draw(st.lists(st.sampled_from(BUNDLES), max_size=3, unique=True)),
        }
        plan = draw(st.one_of(st.none(), st.sampled_from(PLANS)))
        if plan:
            subscription["plan"] = plan
        if draw(st.booleans()):
            first = date(as_of.year, as_of.month, 1) - timedelta(days=draw(st.sampled_from([0, 0, 40])))
            first = date(first.year, first.month, 1)
            subscription["billing_period"] = {"from": iso(first), "to": iso(first + timedelta(days=29))}
        if draw(st.booleans()):
            subscription["binding_period"] = draw(st.sampled_from(["12 months", "24 months"]))
        if subscription["add_ons"] and draw(st.booleans()):  # a granting add-on's start counts a run
            subscription["add_on_starts"] = {
                bundle: iso(max(start, as_of - timedelta(days=draw(st.integers(-20, 400)))))
                for bundle in subscription["add_ons"]
            }
        data["subscription"] = subscription
    if draw(st.booleans()):
        data["agent"] = {
            "user": draw(st.sampled_from(USERS)),
            "units": draw(st.lists(st.sampled_from(UNITS), max_size=2, unique=True)),
        }
    requests = []
    for code in draw(st.lists(st.sampled_from(AD_HOC), max_size=3)):
        request: dict[str, Any] = {"discount": code}
        value = draw(values)
        if value is not None:
            request["value"] = value
        for key in ("added_on", "start", "end"):
            if draw(st.integers(0, 2)) == 0:
                request[key] = iso(as_of + timedelta(days=draw(st.integers(-400, 200))))
        requests.append(request)
    if requests:
        data["requested_discounts"] = requests
    approvals = [
        {
            "discount": code,
            "by": draw(st.sampled_from(USERS)),
            "units": draw(st.lists(st.sampled_from(UNITS), max_size=1)),
        }
        for code in draw(st.lists(st.sampled_from(AD_HOC), max_size=2))
    ]
    if approvals:
        data["approvals"] = approvals
    history = [
        {"discount": code, "on": iso(as_of - timedelta(days=draw(st.integers(0, 800))))}
        for code in draw(st.lists(st.sampled_from(DISCOUNTS), max_size=5))
    ]
    if history:
        data["discount_history"] = history
    if draw(st.booleans()):
        data["usage"] = [
            {
                "at": f"{iso(as_of - timedelta(days=draw(st.integers(0, 60))))}T{draw(st.integers(0, 23)):02d}:30:00Z",
                "product": draw(st.sampled_from(["vod-rental", "ppv-event"])),
                "quantity": draw(st.integers(1, 3)),
                "amount": draw(st.sampled_from(["4.99 EUR", "12.00 EUR"])),
            }
            for _ in range(draw(st.integers(1, 4)))
        ]
    if "subscription" in data and draw(st.integers(0, 3)) == 0:
        data["purchase"] = {"add_ons": draw(st.lists(st.sampled_from(BUNDLES), max_size=2, unique=True))}
    return data


SEEDS = [data for name, data in SAMPLES if name.split("/")[0] in ("discounts", "purchase", "cancellation")]


@st.composite
def mutated_samples(draw: st.DrawFn) -> dict[str, Any]:
    """A sample (discounts, purchase or cancellation) with some facts changed: the billing date,
    lines (added, dropped, quantities, prices), the agent, requests, approvals, history."""
    data = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    data.pop("expect", None)
    as_of = str(data["as_of"])
    shifted = date.fromisoformat(as_of[:10]) + timedelta(days=draw(st.integers(-90, 90)))
    data["as_of"] = iso(shifted) + as_of[10:]
    holder = data.get("subscription") or data.get("job")
    if holder is not None and draw(st.booleans()):
        lines = list(holder.get("products", []))
        for line in lines:
            if draw(st.integers(0, 3)) == 0:
                line["quantity"] = draw(st.integers(1, 5))
            if draw(st.integers(0, 5)) == 0:
                line["price"] = draw(prices.filter(lambda p: p is not None))
        if lines and draw(st.booleans()):
            lines.pop(draw(st.integers(0, len(lines) - 1)))
        lines += draw(st.lists(product_lines, max_size=2))
        holder["products"] = lines
    if draw(st.integers(0, 3)) == 0:
        data["agent"] = {
            "user": draw(st.sampled_from(USERS)),
            "units": draw(st.lists(st.sampled_from(UNITS), max_size=2, unique=True)),
        }
    elif draw(st.integers(0, 5)) == 0:
        data.pop("agent", None)
    for request in data.get("requested_discounts", []):
        if draw(st.integers(0, 3)) == 0:
            request["value"] = draw(values)
    if draw(st.integers(0, 3)) == 0:
        data["requested_discounts"] = [
            *data.get("requested_discounts", []),
            {"discount": draw(st.sampled_from(AD_HOC)), "value": draw(st.integers(0, 60))},
        ]
    if draw(st.integers(0, 3)) == 0:
        data["approvals"] = [{"discount": draw(st.sampled_from(AD_HOC)), "by": draw(st.sampled_from(USERS))}]
    if draw(st.integers(0, 3)) == 0:
        data["discount_history"] = [
            *data.get("discount_history", []),
            *(
                {"discount": code, "on": iso(shifted - timedelta(days=draw(st.integers(0, 500))))}
                for code in draw(st.lists(st.sampled_from(DISCOUNTS), max_size=4))
            ),
        ]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(scenarios(), mutated_samples()))
def test_generated_scenarios_decide_the_same(data: dict[str, Any]) -> None:
    checked = validate_scenario(data, None)
    if checked.diagnostics:  # a generated combination the schema refuses: nothing to compare
        return
    _same(checked.scenario)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(scenarios(), mutated_samples()), st.lists(st.sampled_from([*DISCOUNTS, "not-a-discount"]), max_size=6))
def test_only_some_definitions_decide_the_same(data: dict[str, Any], only: list[str]) -> None:
    """`decide(..., only=...)` (a purchase's price) against the reference, on any subset."""
    checked = validate_scenario(data, None)
    if checked.diagnostics:
        return
    scenario = checked.scenario
    results = []
    for evaluator, outcomes in (
        (_evaluator(RULES), criteria_outcomes(RULES, scenario)),
        (ReferenceEvaluator(RULES), RULES.criteria.outcomes(scenario)),
    ):
        try:
            decided = {"discounts": discounts_json(evaluator.decide(scenario, outcomes, set(only)))}
            results.append(("ok", in_old_words(decided)))
        except ScenarioError as exc:
            results.append(("error", f"{exc.field}: {exc.message}"))
    assert results[0] == results[1]


def test_generated_scenarios_reach_every_status() -> None:
    """The generator is not stuck on refusals: over a fixed sample it reaches every status. (800
    examples: which ones hypothesis draws moves with what the process ran before it, and 400 missed
    `pending_approval` after the applied-only tests; every example's decision was the same.)"""
    seen: set[str] = set()

    @settings(max_examples=800, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.one_of(scenarios(), mutated_samples()))
    def collect(data: dict[str, Any]) -> None:
        checked = validate_scenario(data, None)
        if checked.diagnostics:
            return
        try:
            decision = RULES.decide(checked.scenario)
        except ScenarioError:
            return
        seen.update(d["status"] for d in decision.get("discounts", {}).get("definitions", []))

    collect()
    assert {"applied", "not_eligible", "not_effective", "offered", "rejected", "pending_approval"} <= seen, seen
