"""A seeded differential campaign against the discount evaluator's kept bills (`_billed`) and the
definitions put in as text (`decide_text`): long walks over the samples, one fact changed at a
time, each scenario decided again and again with warm memos, every decision compared with the
long way (`by_blocks` and `keep_lines` off, `to_json(decide(...))`)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_rules
from engine.decide import decision
from engine.decide.decision import _evaluator, to_json
from engine.decide.scenarios import ScenarioError, validate_scenario
from engine.ruleset import RuleSet


@pytest.fixture(autouse=True)
def _text_for_every_rule_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The definitions put in as text for the shipped rules' few definitions too
    (`decision.TEXT_FROM`: by default from 100 on), so that the splice is tested on every sample."""
    monkeypatch.setattr(decision, "TEXT_FROM", 0)


def long_way(rules: RuleSet) -> RuleSet:
    """The same rule set deciding every decision the long way: no blocks, no sheets, no bills,
    no kept lines."""
    found = copy.copy(rules)
    found.__dict__["_evaluators"] = {}
    evaluator = _evaluator(found)
    evaluator.by_blocks = False
    evaluator.keep_lines = False
    return found


def pairs_of(rules: RuleSet) -> list[tuple[RuleSet, RuleSet]]:
    """(fast, long way) for brief reasons, every definition listed and applied only."""
    return [(listed, long_way(listed)) for listed in (rules.brief(), rules.brief().applied_only())]


class Mismatch(AssertionError):
    pass


def _outcome(call: Callable[[], str]) -> str:
    try:
        return call()
    except ScenarioError as exc:
        return f"error {exc.code} {exc.field}: {exc.message} ({exc.hint})"


def first_difference(a: str, b: str) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at {n}: fast {a[max(0, n - 80) : n + 80]!r}\n long {b[max(0, n - 80) : n + 80]!r}"


class Comparer:
    """Decides scenarios both ways and counts the comparisons."""

    def __init__(self, pairs: list[tuple[RuleSet, RuleSet]], rng: random.Random) -> None:
        self.pairs = pairs
        self.rng = rng
        self.compared = 0
        self.bills_used = 0

    def same(self, data: dict[str, Any], explain: bool | None = None) -> bool:
        """Both ways decide `data` alike (False: the schema refuses it, nothing compared)."""
        checked = validate_scenario(copy.deepcopy(data), None)
        if checked.diagnostics:
            return False
        rng = self.rng
        for fast, slow in self.pairs:
            ex = rng.random() < 0.1 if explain is None else explain
            expected = _outcome(lambda: to_json(slow.decide(checked.scenario, explain=ex)))  # noqa: B023
            how = rng.randrange(3)
            if how == 0:  # a Scenario model
                got = _outcome(lambda: fast.decide_json(checked.scenario, explain=ex))  # noqa: B023
            elif how == 1:  # a mapping, validated for this decision (owned)
                got = _outcome(lambda: fast.decide_json(copy.deepcopy(data), explain=ex))  # noqa: B023
            elif not _surrogates(data):  # JSON text, as a billing run reads a line
                text = json.dumps(data, ensure_ascii=False, default=str)
                got = _outcome(lambda: fast.decide_json(text, explain=ex))  # noqa: B023
            else:
                got = _outcome(lambda: fast.decide_json(checked.scenario, explain=ex))  # noqa: B023
            self.compared += 1
            if got != expected:
                raise Mismatch(f"decide_json differs ({fast.listed}, explain={ex}):\n{first_difference(got, expected)}")
            if rng.random() < 0.25:
                kept: list[Any] = []
                dict_way = _outcome(lambda: to_json(_keep(kept, fast.decide(checked.scenario, explain=ex))))  # noqa: B023
                self.compared += 1
                if dict_way != expected:
                    raise Mismatch(f"to_json(decide) differs ({fast.listed}):\n{first_difference(dict_way, expected)}")
                for decision in kept:  # the caller changes what it got: the next decisions must not see it
                    _vandalized(decision)
        return True


def _keep(kept: list[Any], decision: Any) -> Any:
    kept.append(decision)
    return decision


def _vandalized(data: Any) -> None:
    """Every list and mapping in `data` changed in place (as a careless caller might)."""
    if isinstance(data, dict):
        for key, value in list(data.items()):
            if isinstance(value, dict | list):
                _vandalized(value)
            else:
                data[key] = "changed"
        data["changed"] = True
    elif isinstance(data, list):
        for i, value in enumerate(data):
            if isinstance(value, dict | list):
                _vandalized(value)
            else:
                data[i] = "changed"
        data.append("changed")


def _surrogates(data: Any) -> bool:
    """Whether `data` holds a lone surrogate (refused as JSON text by a run's line reader)."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


class _CountedBills(dict[Any, Any]):
    """An evaluator's bills (`DiscountEvaluator._bills`), counting the bills kept. (Not the look-ups:
    compiled, the evaluator reads a dictionary past a subclass's `get`.)"""

    def __init__(self, counted: Counted) -> None:
        super().__init__()
        self.counted = counted

    def __setitem__(self, key: Any, value: Any) -> None:
        self.counted.made += 1
        super().__setitem__(key, value)


class Counted:
    """How many bills the fast rule sets' discount evaluators made: their bills' dictionaries
    replaced by counting ones (compiled, the evaluator's methods call each other directly, so a
    method patched on the class, as until 2026-12-04, would count nothing)."""

    def __init__(self, pairs: list[tuple[RuleSet, RuleSet]]) -> None:
        self.made = 0
        evaluators = [_evaluator(fast) for fast, _ in pairs]
        kept = [e._bills for e in evaluators]
        for e in evaluators:
            e._bills = _CountedBills(self)

        def undo() -> None:
            for e, bills in zip(evaluators, kept, strict=True):
                e._bills = bills

        self.undo = undo


# --- one fact changed at a time -----------------------------------------------------------------------


def _holder(data: dict[str, Any]) -> dict[str, Any] | None:
    found = data.get("subscription") or data.get("job")
    return found if isinstance(found, dict) else None


def _day(text: Any) -> date:
    return date.fromisoformat(str(text)[:10])


class Mutator:
    def __init__(
        self,
        rng: random.Random,
        ad_hoc: list[str],
        codes: list[str],
        users: list[str],
        units: list[str],
        bundles: list[str],
        products: list[str],
        prices: dict[str, str],
    ) -> None:
        self.rng = rng
        self.ad_hoc = ad_hoc
        self.codes = codes
        self.users = users
        self.units = units
        self.bundles = bundles
        self.products = products
        self.prices = prices  # product → catalog price text

    def changed(self, data: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(data)
        out.pop("expect", None)
        fn = self.rng.choice(self.MUTATIONS)
        fn(self, out)
        return out

    # lines
    def reorder(self, d: dict[str, Any]) -> None:
        h = _holder(d)
        if h and len(h.get("products", [])) > 1:
            ps = h["products"]
            i, j = self.rng.sample(range(len(ps)), 2)
            ps[i], ps[j] = ps[j], ps[i]

    def _line(self, d: dict[str, Any]) -> dict[str, Any] | None:
        h = _holder(d)
        if h and h.get("products"):
            return self.rng.choice(h["products"])
        return None

    def price_written(self, d: dict[str, Any]) -> None:
        line = self._line(d)
        if line is None:
            return
        catalog = self.prices.get(line["product"])
        base = line.get("price") or catalog or "80.00 EUR"
        amount, currency = base.split()
        whole, _, frac = amount.partition(".")
        choice = self.rng.randrange(6)
        if choice == 0:
            line["price"] = f"{amount} {currency}"  # the catalog price, written
        elif choice == 1 and frac.strip("0") == "":
            line["price"] = f"{whole} {currency}"  # 80 vs 80.00
        elif choice == 2:
            line["price"] = f"{amount}0 {currency}"  # 80.000
        elif choice == 3:
            line["price"] = f"{whole}.{(frac + '00')[:2]} {currency}"
        elif choice == 4:
            line.pop("price", None)
        else:
            line["price"] = (
                f"{self.rng.choice(['0', '0.00', '-5.00', '-0.01', '0.004', '1', '15.00', '299.00', '80', '80.00'])} {currency}"
            )

    def currency(self, d: dict[str, Any]) -> None:
        line = self._line(d)
        if line is None:
            return
        base = line.get("price") or self.prices.get(line["product"]) or "10.00 EUR"
        amount, currency = base.split()
        line["price"] = f"{amount} {self.rng.choice([c for c in ('EUR', 'USD', 'GBP') if c != currency])}"

    def quantity(self, d: dict[str, Any]) -> None:
        line = self._line(d)
        if line is not None:
            line["quantity"] = self.rng.choice([1, 2, 3, 12])

    def line_facts(self, d: dict[str, Any]) -> None:
        line = self._line(d)
        if line is None:
            return
        what = self.rng.randrange(5)
        if what == 0:
            line["main"] = not line.get("main", False)
        elif what == 1:
            line.pop("bundle", None) if line.get("bundle") and self.rng.random() < 0.5 else line.__setitem__(
                "bundle", self.rng.choice(self.bundles)
            )
        elif what == 2:
            line["type"] = self.rng.choice(["termed", "usage", "expense", "one_time"])
        elif what == 3:
            line["product"] = self.rng.choice(self.products)
        else:
            h = _holder(d)
            assert h is not None
            h["products"].append(copy.deepcopy(line))  # the same line twice

    def drop_or_add_line(self, d: dict[str, Any]) -> None:
        h = _holder(d)
        if h is None:
            return
        ps = h.setdefault("products", [])
        if ps and self.rng.random() < 0.5:
            ps.pop(self.rng.randrange(len(ps)))
        else:
            line: dict[str, Any] = {"product": self.rng.choice(self.products)}
            if self.rng.random() < 0.5:
                line["bundle"] = self.rng.choice(self.bundles)
            if self.rng.random() < 0.3:
                line["price"] = self.rng.choice(["9.99 EUR", "10 EUR", "10.00 USD", "0.00 EUR", "-3.00 EUR"])
            ps.insert(self.rng.randrange(len(ps) + 1), line)

    # periods and dates
    def period(self, d: dict[str, Any]) -> None:
        s = d.get("subscription")
        if not isinstance(s, dict):
            return
        p = s.get("billing_period")
        if not p:
            first = _day(d["as_of"]).replace(day=1) - timedelta(days=1)
            first = first.replace(day=1)
            s["billing_period"] = {"from": first.isoformat(), "to": (first + timedelta(days=30)).isoformat()}
            return
        what = self.rng.randrange(4)
        if what == 0:
            p["to"] = (_day(p["to"]) + timedelta(days=self.rng.choice([-1, 1, 27, -20]))).isoformat()
        elif what == 1:
            p["from"] = (_day(p["from"]) + timedelta(days=self.rng.choice([-1, 1, -31]))).isoformat()
        elif what == 2:
            shift = timedelta(days=self.rng.choice([-365, -31, 31, 366]))
            p["from"] = (_day(p["from"]) + shift).isoformat()
            p["to"] = (_day(p["to"]) + shift).isoformat()
        else:
            del s["billing_period"]

    def frequency(self, d: dict[str, Any]) -> None:
        s = d.get("subscription")
        if isinstance(s, dict):
            s["billing_frequency"] = self.rng.choice(
                ["monthly", "bimonthly", "quarterly", "semi_annual", "yearly", "weekly"]
            )

    def as_of(self, d: dict[str, Any]) -> None:
        text = str(d["as_of"])
        day = _day(text) + timedelta(days=self.rng.choice([-1, 1, -30, 30, 200, -400]))
        rest = (
            text[10:]
            if self.rng.random() < 0.8
            else self.rng.choice(["T00:00:00Z", "T23:59:59+14:00", "T12:00:00-12:00"])
        )
        d["as_of"] = day.isoformat() + rest

    # requests, agents, history
    def request(self, d: dict[str, Any]) -> None:
        rs = d.setdefault("requested_discounts", [])
        what = self.rng.randrange(5)
        if rs and what == 0:
            rs.pop(self.rng.randrange(len(rs)))
        elif rs and what in (1, 2):
            r = self.rng.choice(rs)
            r["value"] = self.rng.choice(
                [5, 10, 12, 20, 20.0, "20", "12.00 EUR", "12 EUR", "12.0 EUR", "5.00 USD", 50, 0, 100]
            )
        elif rs and what == 3:
            r = self.rng.choice(rs)
            key = self.rng.choice(["added_on", "start", "end"])
            r[key] = (_day(d["as_of"]) - timedelta(days=self.rng.choice([-20, 0, 10, 40, 400]))).isoformat()
        else:
            rs.append(
                {
                    "discount": self.rng.choice(self.ad_hoc),
                    "value": self.rng.choice([5, 10, 20, "5.00 EUR", "15.00 EUR"]),
                }
            )
        if not rs:
            del d["requested_discounts"]

    def agent(self, d: dict[str, Any]) -> None:
        if "agent" in d and self.rng.random() < 0.3:
            del d["agent"]
        else:
            d["agent"] = {
                "user": self.rng.choice(self.users),
                "units": self.rng.sample(self.units, self.rng.randrange(3)),
            }

    def approvals(self, d: dict[str, Any]) -> None:
        if d.get("approvals") and self.rng.random() < 0.4:
            del d["approvals"]
        else:
            d["approvals"] = [{"discount": self.rng.choice(self.ad_hoc), "by": self.rng.choice(self.users)}]

    def history(self, d: dict[str, Any]) -> None:
        hs = d.setdefault("discount_history", [])
        if hs and self.rng.random() < 0.3:
            hs.pop(self.rng.randrange(len(hs)))
        else:
            code = self.rng.choice(self.codes)
            on = _day(d["as_of"]) - timedelta(days=self.rng.choice([0, 1, 20, 40, 100, 365, 800]))
            for _ in range(self.rng.choice([1, 1, 3])):  # a limit reached, a run spent
                hs.append({"discount": code, "on": on.isoformat()})
        if not hs:
            del d["discount_history"]

    def add_ons(self, d: dict[str, Any]) -> None:
        s = d.get("subscription")
        if not isinstance(s, dict):
            return
        ons = s.setdefault("add_ons", [])
        what = self.rng.randrange(3)
        if ons and what == 0:
            gone = ons.pop(self.rng.randrange(len(ons)))
            (s.get("add_on_starts") or {}).pop(gone, None)
        elif ons and what == 1:
            starts = s.setdefault("add_on_starts", {})
            b = self.rng.choice(ons)
            starts[b] = (_day(d["as_of"]) - timedelta(days=self.rng.choice([0, 10, 40, 400]))).isoformat()
        else:
            b = self.rng.choice(self.bundles)
            if b not in ons:
                ons.append(b)
        if s.get("add_on_starts") == {}:
            del s["add_on_starts"]
        if not ons:
            del s["add_ons"]
            s.pop("add_on_starts", None)

    def plan(self, d: dict[str, Any]) -> None:
        s = d.get("subscription")
        if isinstance(s, dict):
            s["plan"] = self.rng.choice(["tv-essentials-24", "triple-play-24", "tv-classic-2014", "tv-flex"])

    def purchase(self, d: dict[str, Any]) -> None:
        if "subscription" not in d:
            return
        if "purchase" in d and self.rng.random() < 0.3:
            del d["purchase"]
            return
        p = d.setdefault("purchase", {})
        p["add_ons"] = self.rng.sample(self.bundles, self.rng.randrange(1, 3))
        if self.rng.random() < 0.4:
            p["coupons"] = [self.rng.choice(["coupon_87", "coupon_88", "coupon_90", "nope_1"])]
        else:
            p.pop("coupons", None)

    def cancellation(self, d: dict[str, Any]) -> None:
        if "subscription" not in d:
            return
        if "cancellation" in d and self.rng.random() < 0.4:
            del d["cancellation"]
            return
        day = _day(d["as_of"]) + timedelta(days=self.rng.choice([0, 10, 60]))
        d["cancellation"] = {"date": day.isoformat()}

    def ident(self, d: dict[str, Any]) -> None:
        d["id"] = self.rng.choice(
            [
                "nul\x00id",
                "\x00",
                "line\u2028sep\u2029",
                'quote"\\back',
                "\x00\x00[",
                "é\U0001f600\x7f\x1f",
                "plain",
                "lone\ud800",
                "\udfff\x00",
            ]
        )

    MUTATIONS: ClassVar[list[Callable[[Mutator, dict[str, Any]], None]]] = [
        reorder,
        price_written,
        price_written,
        currency,
        quantity,
        line_facts,
        drop_or_add_line,
        period,
        period,
        frequency,
        as_of,
        request,
        request,
        agent,
        approvals,
        history,
        history,
        add_ons,
        plan,
        purchase,
        cancellation,
        ident,
    ]


def mutator_for(rules: RuleSet, rng: random.Random) -> Mutator:
    discounts = rules.models("discount")
    ad_hoc = sorted(c for c, d in discounts.items() if d.type.value == "ad_hoc")
    products = rules.models("product")
    prices = {c: str(p.price) for c, p in products.items() if getattr(p, "price", None) is not None}
    return Mutator(
        rng,
        ad_hoc,
        sorted(discounts),
        sorted(rules.models("user")),
        sorted(rules.models("unit")),
        sorted(rules.models("bundle")),
        sorted(products),
        prices,
    )


def walk(comparer: Comparer, mutator: Mutator, seeds: list[dict[str, Any]], steps: int) -> None:
    """A walk: a scenario changed one fact at a time, each decided 1-3 times, sometimes a recent
    one decided again (its sheet and bill made, then met by its neighbours)."""
    rng = comparer.rng
    recent: list[dict[str, Any]] = []
    current = copy.deepcopy(rng.choice(seeds))
    current.pop("expect", None)
    for _ in range(steps):
        r = rng.random()
        if r < 0.08:
            current = copy.deepcopy(rng.choice(seeds))
            current.pop("expect", None)
        elif r < 0.3 and recent:
            current = rng.choice(recent)
        else:
            candidate = mutator.changed(current)
            if rng.random() < 0.3:
                candidate = mutator.changed(candidate)
            if validate_scenario(copy.deepcopy(candidate), None).diagnostics:
                continue
            current = candidate
        for _ in range(rng.choice([1, 2, 3, 3])):
            comparer.same(current)
        recent.append(current)
        del recent[:-12]


def json_seeds() -> list[dict[str, Any]]:
    """The samples as JSON data (benchmarks/decide.py `sample_lines`: the form a billing run reads)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "decide.py"
    spec = importlib.util.spec_from_file_location("bench_decide_review", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [orjson.loads(line) for _, line in module.sample_lines()]


def neighbours(comparer: Comparer, mutator: Mutator, seeds: list[dict[str, Any]], draws: int = 2) -> None:
    """Every seed and each of its neighbours (one fact changed, every kind of change): A three
    times (its sheet, then its bill), B three times, A, B again."""
    for seed in seeds:
        a = copy.deepcopy(seed)
        a.pop("expect", None)
        if not comparer.same(a):
            continue
        for fn in dict.fromkeys(Mutator.MUTATIONS):
            for _ in range(draws):
                b = copy.deepcopy(a)
                fn(mutator, b)
                if validate_scenario(copy.deepcopy(b), None).diagnostics:
                    continue
                for x in (a, a, a, b, b, b, a, b):
                    comparer.same(x)


# --- the tests: short seeded walks (the big campaign: /tmp/s29/h3/run_campaign.py) ----------------

REPO = Path(__file__).resolve().parent.parent
SHIPPED_PAIRS = pairs_of(load_rules(REPO / "rules"))
SEEDS = json_seeds()
BILLED = [s for s in SEEDS if "subscription" in s or "job" in s]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.integers(0, 2**32))
def test_walks_over_the_samples_decide_alike_with_warm_bills(seed: int) -> None:
    """A walk of one fact changed at a time (lines, prices as written, currencies, quantities,
    periods, frequencies, dates, requests, agents, history, add-ons, purchases, cancellations,
    ids with NULs), each scenario decided again and again: the memos of the walks before stay
    warm (the rule sets are the module's)."""
    rng = random.Random(seed)
    comparer = Comparer(SHIPPED_PAIRS, rng)
    walk(comparer, mutator_for(SHIPPED_PAIRS[0][0], rng), SEEDS, 40)
    assert comparer.compared


def test_neighbours_of_every_sample_decide_alike_with_their_bills() -> None:
    """Each sample decided three times (its sheet, then its bill), then each kind of one-fact
    change three times, then both again; bills are made and found (not vacuous)."""
    counted = Counted(SHIPPED_PAIRS)
    try:
        rng = random.Random(29)
        comparer = Comparer(SHIPPED_PAIRS, rng)
        neighbours(comparer, mutator_for(SHIPPED_PAIRS[0][0], rng), BILLED[::3], draws=1)
    finally:
        counted.undo()
    # every scenario is decided at least three times in a row: most decisions find their bill
    assert 0 < counted.made < comparer.compared // 2


@pytest.mark.parametrize("nasty", ["nul\x00", "\x00\x00[", "\u2028\u2029", "lone\ud800", "\udfff\x00", '"\\\x00'])
def test_texts_with_nuls_and_separators_are_put_in_alike(nasty: str) -> None:
    """The definitions are put in at the first raw NUL of the decision's text: NULs, line
    separators and lone surrogates in the id, the agent, the requests' values and the approvers
    (texts a bill's results and reasons carry) change nothing, explained or not; a decision with
    no discounts part (balance, credits) too."""
    comparer = Comparer(SHIPPED_PAIRS, random.Random(3))
    for seed in SEEDS[::2]:
        variants = []
        for path in (("id",), ("agent", "user"), ("requested_discounts", 0, "value"), ("approvals", 0, "by")):
            changed = copy.deepcopy(seed)
            holder: Any = changed
            try:
                for step in path[:-1]:
                    holder = holder[step]
                holder[path[-1]] = nasty
            except (KeyError, IndexError):
                continue
            variants.append(changed)
        for changed in variants:
            for explain in (False, True, False):
                comparer.same(changed, explain=explain)
    assert comparer.compared


@pytest.fixture(scope="module")
def generated_pairs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[RuleSet, RuleSet]]:
    from tests.test_discount_speed_blocks import _generated

    return pairs_of(_generated(tmp_path_factory.mktemp("review"), 100))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.integers(0, 2**32))
def test_walks_on_many_definitions_decide_alike_with_warm_bills(
    generated_pairs: list[tuple[RuleSet, RuleSet]], seed: int
) -> None:
    rng = random.Random(seed)
    comparer = Comparer(generated_pairs, rng)
    walk(comparer, mutator_for(generated_pairs[0][0], rng), SEEDS, 40)
    assert comparer.compared
