"""The decision path's shortcuts of the thirtieth session give what the longer ways gave.

- Fields read as a mapping (`decision`'s docstring): `_all_known`, `asks_discounts`,
  `scheme_facts` and `typed_lines` read a scenario's fields from its models' `__dict__`; each is
  checked against its former self (attribute reads, kept below) on the samples and on varied
  scenarios (lines typed or not, marked main or not, codes the rules lack, schemes' facts).
- `_copied` and `with_bill_applied`'s history entries are made by `_model` without validation, in
  one pydantic-core call (`_scenario_direct._instance`) or by setting the slots: the same type,
  fields, fields set, extra and private values as the former copy and `AppliedDiscount(...)`.
- A decision of a scenario not owned (copies made) is the text of one owned (changed in place)
  and of `to_json(decide(...))`, and the caller's scenario is left as it was.
"""

from __future__ import annotations

import copy
import importlib.util
import random
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine import load_rules
from engine.decide import decision
from engine.decide.decision import to_json
from engine.decide.scenarios import ScenarioError, ScenarioInvalid, checked_scenario
from engine.models.scenario import AppliedDiscount, Scenario
from engine.ruleset import RuleSet

REPO = Path(__file__).resolve().parent.parent


@cache
def _rules(brief: bool = True) -> RuleSet:
    rules = load_rules(REPO / "rules")
    return rules.brief() if brief else rules


@cache
def _seeds() -> tuple[tuple[str, bytes], ...]:
    """The samples as JSON text (benchmarks/decide.py `sample_lines`: the form a billing run reads)."""
    path = REPO / "benchmarks" / "decide.py"
    spec = importlib.util.spec_from_file_location("bench_decide_s30", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple((kind, line.encode()) for kind, line in module.sample_lines())


def _data() -> list[dict[str, Any]]:
    return [orjson.loads(line) for _, line in _seeds()]


def _model(data: dict[str, Any]) -> Any:
    return checked_scenario(copy.deepcopy(data))


# --- the former code, attribute reads (as of the first wave of the thirtieth session) ---


def _old_copied(model: Any, **changes: Any) -> Any:
    made = object.__new__(type(model))
    object.__setattr__(made, "__dict__", {**model.__dict__, **changes})
    object.__setattr__(made, "__pydantic_fields_set__", model.__pydantic_fields_set__)
    object.__setattr__(made, "__pydantic_extra__", model.__pydantic_extra__)
    object.__setattr__(made, "__pydantic_private__", model.__pydantic_private__)
    return made


def _old_all_known(scenario: Any, known: dict[str, frozenset[str]]) -> bool:
    subscription = scenario.subscription
    bundles = known["bundle"]
    if subscription is not None:
        scheme = subscription.billing_term_scheme
        if scheme is not None and scheme not in known["billing_term_scheme"]:
            return False
        if scenario.cancellation is None and (
            (subscription.plan is not None and subscription.plan not in known["plan"])
            or not bundles.issuperset(subscription.add_ons)
        ):
            return False
        subject = subscription
    else:
        subject = scenario.job
        if subject is not None and not known["segment"].issuperset(subject.segments):
            return False
    if subject is not None:
        for line in subject.products:
            if line.bundle is not None and line.bundle not in bundles:
                return False
    account = scenario.account
    if account is not None and account.segments and not known["segment"].issuperset(account.segments):
        return False
    history = scenario.discount_history
    if history and not all(h.discount in known["discount"] for h in history):
        return False
    products = known["product"]
    return all(
        (u.termed_service is None or u.termed_service in products) and (u.product is None or u.product in products)
        for u in scenario.usage
    )


def _old_asks_discounts(scenario: Any) -> bool:
    subject = scenario.subscription if scenario.subscription is not None else scenario.job
    if subject is None:
        return False
    if subject.products or scenario.agent is not None or scenario.requested_discounts or scenario.approvals:
        return True
    return scenario.cancellation is None and scenario.purchase is None


def _old_scheme_facts(rules: Any, scenario: Any) -> Any:
    subscription = scenario.subscription
    if subscription is None or subscription.billing_term_scheme is None:
        return scenario
    if subscription.billing_frequency is not None and subscription.binding_period is not None:
        return scenario
    scheme = rules.get("billing_term_scheme", subscription.billing_term_scheme)
    if scheme is None:
        return scenario
    changes = {}
    if subscription.billing_frequency is None:
        changes["billing_frequency"] = scheme.billing_frequency
    if subscription.binding_period is None and scheme.binding_period is not None:
        changes["binding_period"] = scheme.binding_period
    if not changes:
        return scenario
    return _old_copied(scenario, subscription=_old_copied(subscription, **changes))


def _old_typed_lines(rules: Any, scenario: Any) -> Any:
    subject = scenario.subscription if scenario.subscription is not None else scenario.job
    if subject is None:
        return scenario
    types = decision._product_types(rules)
    mains = decision._main_services(rules)
    chosen: int | None = None
    lines: list[Any] | None = None
    catalog = decision.lookup(rules, "product") if decision._reads_charge(rules) else None
    billed = scenario.subscription.billing_frequency if scenario.subscription is not None else None
    for i, line in enumerate(subject.products):
        main = False
        if mains and not line.main and line.product in mains:
            if chosen is None:
                marked = any(other.main for other in subject.products)
                chosen = -1 if marked else decision._main_line(rules, billed, subject.products, mains)
            main = i == chosen
        if line.type is not None and not main and catalog is None:
            continue
        changes: dict[str, Any] = {"main": True} if main else {}
        if catalog is not None:
            changes[decision.LINE_CHARGE] = decision.line_charge(line, catalog.get(line.product), billed)
        if line.type is None:
            found = types.get(line.product)
            if found is not None:
                changes["type"] = found
        if changes:
            if lines is None:
                lines = list(subject.products)
            lines[i] = _old_copied(line, **changes)
    if lines is None:
        return scenario
    field = "subscription" if scenario.subscription is not None else "job"
    return _old_copied(scenario, **{field: _old_copied(subject, products=lines)})


# --- varied scenarios ---

_TYPES = ["termed", "one_off", "usage", "bogus-type"]
_CODES = {
    "plan": ["tv-essentials-24", "tv-premium-12", "no-such-plan"],
    "bundle": ["sports-bundle", "movies-bundle", "no-such-bundle"],
    "segment": ["residential", "business", "no-such-segment"],
    "discount": ["loyalty-5", "complaint-discount", "no-such-discount"],
    "product": ["tv-premium", "tv-essentials", "sports-pack", "no-such-product"],
    "scheme": ["monthly-24", "annual-12", "no-such-scheme"],
}


def _varied(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """`data` with a few facts changed at random: lines' types and main flags, codes (some the
    rules lack), a subscription's scheme, frequency and binding period."""
    data = copy.deepcopy(data)
    holder = data.get("subscription") or data.get("job")
    if holder is not None:
        for line in holder.get("products", []):
            roll = rng.random()
            if roll < 0.3:
                line.pop("type", None)
            elif roll < 0.45:
                line["type"] = rng.choice(_TYPES)
            if rng.random() < 0.2:
                line["main"] = rng.random() < 0.5
            if rng.random() < 0.15:
                line["bundle"] = rng.choice(_CODES["bundle"])
            if rng.random() < 0.2:
                line["product"] = rng.choice(_CODES["product"])
        if rng.random() < 0.2:
            holder.setdefault("products", []).append({"product": rng.choice(_CODES["product"][:2]), "quantity": 1})
    subscription = data.get("subscription")
    if subscription is not None:
        if rng.random() < 0.3:
            subscription["billing_term_scheme"] = rng.choice(_CODES["scheme"])
        for key in ("billing_frequency", "binding_period", "plan"):
            if rng.random() < 0.25:
                subscription.pop(key, None)
        if rng.random() < 0.15:
            subscription["plan"] = rng.choice(_CODES["plan"])
        if rng.random() < 0.15:
            subscription["add_ons"] = [rng.choice(_CODES["bundle"])]
    if rng.random() < 0.15:
        data.setdefault("account", {"code": "a"})["segments"] = [rng.choice(_CODES["segment"])]
    if rng.random() < 0.15:
        data["discount_history"] = [{"discount": rng.choice(_CODES["discount"]), "on": "2024-01-01"}]
    return data


def _scenarios(draws: int = 3, seed: int = 30) -> list[Any]:
    """The samples' scenarios and `draws` varied ones of each (those that validate)."""
    rng = random.Random(seed)
    found = []
    for data in _data():
        for variant in [data, *(_varied(data, rng) for _ in range(draws))]:
            try:
                found.append(_model(variant))
            except (ScenarioError, ScenarioInvalid, ValueError):
                continue
    assert len(found) > 70 * (1 + draws), "too few scenarios validate: the variations test little"
    return found


def _same_model(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a.__dict__ == b.__dict__
    assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__
    assert a.__pydantic_extra__ == b.__pydantic_extra__
    assert a.__pydantic_private__ == b.__pydantic_private__


def _same_scenario(a: Any, b: Any) -> None:
    """The same scenario model, its subject and lines field for field."""
    _same_model(a, b)
    for field in ("subscription", "job"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None)
        if x is not None:
            _same_model(x, y)
            for p, q in zip(x.products, y.products, strict=True):
                _same_model(p, q)


# --- the tests ---


def test_reads_as_mappings_match_attribute_reads() -> None:
    """`_all_known`, `asks_discounts`, `scheme_facts` and `typed_lines` (a copy, and in place when
    owned) give what they gave reading attributes; the caller's scenario is not changed."""
    rules = _rules()
    known = decision._known_codes(rules)
    unknown = typed = marked = copied = 0
    for scenario in _scenarios():
        before = copy.deepcopy(scenario.__dict__)
        old_known = _old_all_known(scenario, known)
        assert decision._all_known(scenario.__dict__, known) is old_known
        unknown += not old_known
        assert decision.asks_discounts(scenario) is _old_asks_discounts(scenario)
        expected = _old_typed_lines(rules, _old_scheme_facts(rules, scenario))
        found = decision.as_decided(rules, scenario)
        _same_scenario(found, expected)
        assert (found is scenario) == (expected is scenario)
        copied += found is not scenario
        assert scenario.__dict__ == before  # (not owned: copies, the caller's scenario as it was)
        owned = copy.deepcopy(scenario)
        in_place = decision.as_decided(rules, owned, owned=True)
        assert in_place is owned
        _same_scenario(in_place, _old_copied(expected))  # (the same fields, changed in place)
        subject = expected.subscription or expected.job
        if subject is not None:
            typed += sum(line.type is not None for line in subject.products)
            marked += sum(bool(line.main) for line in subject.products)
    assert unknown > 10 and copied > 50 and typed > 50 and marked > 5, (unknown, copied, typed, marked)


@pytest.mark.parametrize("fallback", [False, True])
def test_copies_match_the_former_copies(monkeypatch: pytest.MonkeyPatch, fallback: bool) -> None:
    """`_copied` (one pydantic-core call, or the slots set one by one) copies as it copied."""
    if fallback:
        monkeypatch.setattr(decision, "_maker", lambda cls: None)
    count = 0
    for scenario in _scenarios(draws=1):
        models = [scenario, scenario.subscription or scenario.job]
        if models[1] is not None:
            models += list(models[1].products)
        for model in filter(None, models):
            fields = list(type(model).model_fields)
            changes = {fields[0]: model.__dict__[fields[-1]]}
            made = decision._copied(model, **changes)
            _same_model(made, _old_copied(model, **changes))
            assert made.__dict__ is not model.__dict__ and made.__dict__[fields[0]] is changes[fields[0]]
            count += 1
    assert count > 200


@pytest.mark.parametrize("fallback", [False, True])
def test_history_entries_match_validated_ones(monkeypatch: pytest.MonkeyPatch, fallback: bool) -> None:
    """`with_bill_applied`: the bill's applications as `AppliedDiscount(discount=..., on=...)`
    would make them, after the history given; the scenario's own history left as it was."""
    if fallback:
        monkeypatch.setattr(decision, "_maker", lambda cls: None)
    rules = _rules()
    evaluator = decision._evaluator(rules)
    checked = 0
    for scenario in _scenarios(draws=2):
        if scenario.purchase is None or not decision.asks_discounts(scenario):
            continue
        try:
            scenario = decision.as_decided(rules, scenario)
            decided = evaluator.decide(scenario, decision.criteria_outcomes(rules, scenario), why=False)
        except ScenarioError:
            continue
        history = list(scenario.discount_history)
        bought = decision.with_bill_applied(scenario, decided)
        day = scenario.as_of.date()
        applied = [r.code for r in decided.applied()]
        expected = [*history, *(AppliedDiscount(discount=code, on=day) for code in applied)]
        assert list(scenario.discount_history) == history
        if not applied:
            assert bought is scenario
            continue
        _same_model(bought, _old_copied(scenario, discount_history=expected))
        for made, validated in zip(bought.discount_history, expected, strict=True):
            _same_model(made, validated)
        checked += 1
    assert checked >= 5


def test_not_owned_decides_as_owned() -> None:
    """A scenario not owned (copied where typed) is decided as one owned (typed in place), in
    both writers, and the caller's scenario is left as it was."""
    for brief in (True, False):
        rules = _rules(brief)
        for scenario in _scenarios(draws=1, seed=31):
            before = copy.deepcopy(scenario.__dict__)
            try:
                owned = decision.decide_text(rules, copy.deepcopy(scenario), owned=True)
            except ScenarioError as problem:
                with pytest.raises(ScenarioError) as again:
                    decision.decide_text(rules, scenario)
                assert str(again.value) == str(problem)
                continue
            assert decision.decide_text(rules, scenario) == owned
            assert to_json(decision.decide(rules, scenario)) == owned
            assert scenario.__dict__ == before


def test_samples_as_a_billing_run_reads_them() -> None:
    """Every sample decided from its JSON text (owned) is the text of the model decided not owned."""
    rules = _rules()
    for _, line in _seeds():
        try:
            text = rules.decide_json(line)
        except (ScenarioError, ValueError):
            continue
        assert text == decision.decide_text(rules, Scenario.model_validate_json(line))
