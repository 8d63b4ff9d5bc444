"""Cancellation decisions (SPEC 3.4): renewal chains, billing cycles, penalties, exceptions, errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cli.main import main
from engine.decide.scenarios import ScenarioError
from engine.decide.terms import commitment_end, current_term, cycle_start, cycles_before
from engine.models.catalog import BillingFrequency, Term
from engine.ruleset import RuleSet, load_rules

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES)


def term(code: str, period: int, unit: str = "months", renewal: str | None = None, **extra: Any) -> Term:
    data = {"kind": "term", "code": code, "name": code, "period": period, "unit": unit, "basis": "calendar"}
    data |= {"early_cancellation": "allowed", **({"renewal_term": renewal} if renewal else {}), **extra}
    return Term.model_validate(data)


def scenario(cancel: str, start: str = "2015-01-01", plan: str = "tv-essentials-24", **extra: Any) -> dict[str, Any]:
    subscription = {
        "code": "SUB-1",
        "plan": plan,
        "billing_frequency": "monthly",
        "start": start,
        **extra.pop("subscription", {}),
    }
    return {
        "id": "t",
        "as_of": f"{cancel}T09:00:00+01:00",
        "account": {"code": "ACC-1", **extra.pop("account", {})},
        "subscription": subscription,
        "cancellation": {"date": cancel, **extra},
    }


def plan_term(decision: dict[str, Any]) -> dict[str, Any]:
    terms = decision["cancellation"]["terms"]
    item: dict[str, Any] = next(t for t in terms if t["for"] == "plan")
    return item


def money(text: str) -> Decimal:
    return Decimal(text.split()[0])


# --- dates and chains ---------------------------------------------------------------------------


def test_a_commitment_ends_on_the_first_day_free_of_it_and_month_ends_stay_month_ends() -> None:
    assert commitment_end(term("T", 12), date(2026, 1, 1)) == date(2027, 1, 1)
    assert commitment_end(term("T", 1), date(2015, 1, 31)) == date(2015, 2, 28)
    assert commitment_end(term("T", 1), date(2016, 1, 31)) == date(2016, 2, 29)
    assert commitment_end(term("T", 30, "days"), date(2015, 2, 1)) == date(2015, 3, 3)
    # SPEC 3.4: a month-end start keeps to the month's last day, also from a short month
    assert commitment_end(term("T", 12), date(2015, 2, 28)) == date(2016, 2, 29)
    assert commitment_end(term("T", 1), date(2015, 4, 30)) == date(2015, 5, 31)
    assert commitment_end(term("T", 1, "years"), date(2016, 2, 29)) == date(2017, 2, 28)
    # not a month's last day: clamped only where the target month is shorter
    assert commitment_end(term("T", 12), date(2016, 2, 28)) == date(2017, 2, 28)
    assert commitment_end(term("T", 1), date(2015, 1, 30)) == date(2015, 2, 28)


def test_a_renewal_chain_from_a_month_end_keeps_to_month_ends() -> None:
    terms = {"M": term("M", 1, renewal="M")}
    chain, renewals = current_term(terms, "M", date(2015, 1, 31), date(2015, 5, 15))
    assert [(s.start, s.end) for s in chain][-2:] == [
        (date(2015, 3, 31), date(2015, 4, 30)),
        (date(2015, 4, 30), date(2015, 5, 31)),
    ]
    assert renewals == 3


def test_the_chain_is_followed_into_a_loop() -> None:
    terms = {t.code: t for t in (term("A", 24, renewal="B"), term("B", 12, renewal="C"), term("C", 1, "years", "C"))}
    chain, renewals = current_term(terms, "A", date(2015, 1, 1), date(2019, 3, 1))
    assert [(s.term, s.start, s.end) for s in chain] == [
        ("A", date(2015, 1, 1), date(2017, 1, 1)),
        ("B", date(2017, 1, 1), date(2018, 1, 1)),
        ("C", date(2018, 1, 1), date(2019, 1, 1)),
        ("C", date(2019, 1, 1), date(2020, 1, 1)),
    ]
    assert renewals == 3


def test_a_cancellation_on_the_end_date_stays_in_the_ending_term() -> None:
    terms = {"C": term("C", 1, "years", "C")}
    chain, renewals = current_term(terms, "C", date(2015, 1, 1), date(2016, 1, 1))
    assert (chain[-1].start, chain[-1].end, renewals) == (date(2015, 1, 1), date(2016, 1, 1), 0)
    chain, renewals = current_term(terms, "C", date(2015, 1, 1), date(2016, 1, 2))
    assert (chain[-1].start, renewals) == (date(2016, 1, 1), 1)


def naive_chain(terms: dict[str, Term], first: str, start: date, on: date) -> tuple[str, date, date, int]:
    code, renewals = first, 0
    while True:
        end = commitment_end(terms[code], start)
        if on <= end or terms[code].renewal_term is None:
            return code, start, end, renewals
        code, start, renewals = terms[code].renewal_term or "", end, renewals + 1


#: a start on any day, or on a month's last day (where the month-end rule keeps it)
STARTS = st.one_of(
    st.dates(date(2000, 1, 1), date(2030, 12, 31)),
    st.dates(date(2000, 1, 1), date(2030, 12, 1)).map(
        lambda d: commitment_end(term("M", 1), d.replace(day=1)) - timedelta(days=1)
    ),
    st.dates(date(2000, 1, 1), date(2030, 12, 31)).map(lambda d: d.replace(day=27 + d.day % 4) if d.month != 2 else d),
)


@settings(max_examples=300, deadline=None)
@given(
    periods=st.lists(
        st.tuples(st.integers(1, 40), st.sampled_from(["days", "weeks", "months", "months", "years"])),
        min_size=1,
        max_size=3,
    ),
    back=st.integers(0, 2),
    start=STARTS,
    offset=st.integers(0, 20000),
)
def test_skipping_laps_of_a_loop_gives_what_walking_gives(
    periods: list[tuple[int, str]], back: int, start: date, offset: int
) -> None:
    codes = [f"T{i}" for i in range(len(periods))]
    loop_to = codes[min(back, len(codes) - 1)]
    terms = {
        code: term(code, period, unit, codes[i + 1] if i + 1 < len(codes) else loop_to)
        for i, (code, (period, unit)) in enumerate(zip(codes, periods, strict=True))
    }
    on = start + timedelta(days=offset)
    chain, renewals = current_term(terms, codes[0], start, on)
    last = chain[-1]
    assert (last.term, last.start, last.end, renewals) == naive_chain(terms, codes[0], start, on)


@pytest.mark.parametrize(
    ("months", "start"),
    [
        (1, date(2015, 12, 30)),
        (1, date(2015, 11, 29)),
        (11, date(2015, 3, 30)),
        (1, date(2015, 1, 31)),
        (12, date(2016, 2, 28)),
        (1, date(2014, 3, 28)),
        (1, date(2016, 3, 28)),
        (1, date(2015, 3, 27)),
    ],
)
def test_a_loop_of_months_from_the_28th_to_the_30th_is_walked_until_its_day_settles(months: int, start: date) -> None:
    """A monthly loop from 30 December keeps the 30th once (30 January), then reaches 28 February,
    a month's last day, and keeps to month ends from then on; one from the 28th does the same in
    the next February that is not a leap year's. Laps are skipped only from a start whose day
    keeps (up to the 27th, or a month's last), as walking gives, centuries on."""
    terms = {"E": term("E", months, renewal="E")}
    for on in (date(2015, 8, 10), date(2019, 9, 18), date(2415, 6, 15)):
        chain, renewals = current_term(terms, "E", start, on)
        assert (chain[-1].term, chain[-1].start, chain[-1].end, renewals) == naive_chain(terms, "E", start, on)


@settings(max_examples=150, deadline=None)
@given(
    periods=st.lists(
        st.tuples(st.integers(1, 40), st.sampled_from(["days", "weeks", "months", "years"])), min_size=1, max_size=3
    ),
    start=STARTS,
    offset=st.integers(0, 20000),
)
def test_the_stretches_shown_are_those_walking_shows(periods: list[tuple[int, str]], start: date, offset: int) -> None:
    """Skipping laps changes nothing shown: the first stretches, the last ones and the count (a loop
    of days once showed its 12th stretch as the 2nd)."""
    import engine.decide.terms as terms_module

    codes = [f"T{i}" for i in range(len(periods))]
    terms = {
        code: term(code, period, unit, codes[i + 1] if i + 1 < len(codes) else codes[0])
        for i, (code, (period, unit)) in enumerate(zip(codes, periods, strict=True))
    }
    on = start + timedelta(days=offset)
    skipped = current_term(terms, codes[0], start, on)
    skip = terms_module._skip_laps
    terms_module._skip_laps = lambda *args, **options: (args[3], 0)  # walk every lap
    try:
        walked = current_term(terms, codes[0], start, on)
    finally:
        terms_module._skip_laps = skip
    assert skipped == walked


def test_a_one_day_term_renewing_into_itself_for_centuries_is_decided_at_once() -> None:
    terms = {"D": term("D", 1, "days", "D")}
    chain, renewals = current_term(terms, "D", date(1, 1, 1), date(9999, 12, 30))
    assert renewals == (date(9999, 12, 30) - date(1, 1, 1)).days - 1
    assert chain[-1].start == date(9999, 12, 29) and len(chain) <= 6


@settings(max_examples=80, deadline=None)
@given(
    start=st.dates(date(2000, 1, 1), date(2030, 12, 31)),
    frequency=st.sampled_from(list(BillingFrequency)),
    days=st.integers(0, 1500),
)
def test_counted_cycles_agree_with_walking_the_cycles(start: date, frequency: BillingFrequency, days: int) -> None:
    limit = start + timedelta(days=days)
    starts = [cycle_start(start, frequency, k) for k in range(400)]
    assert cycles_before(start, frequency, limit, inclusive=True) == sum(1 for s in starts if s <= limit)
    assert cycles_before(start, frequency, limit, inclusive=False) == sum(1 for s in starts if s < limit)


def test_cycles_of_a_month_end_start_keep_to_month_ends() -> None:
    assert [cycle_start(date(2015, 1, 31), BillingFrequency.MONTHLY, k) for k in range(4)] == [
        date(2015, 1, 31),
        date(2015, 2, 28),
        date(2015, 3, 31),
        date(2015, 4, 30),
    ]
    assert [cycle_start(date(2015, 2, 28), BillingFrequency.MONTHLY, k) for k in range(3)] == [
        date(2015, 2, 28),
        date(2015, 3, 31),
        date(2015, 4, 30),
    ]
    assert cycle_start(date(2015, 2, 28), BillingFrequency.QUARTERLY, 4) == date(2016, 2, 29)


# --- decisions ----------------------------------------------------------------------------------


def test_pro_rata_by_cycles_counts_the_cycle_holding_the_date_as_started(rules: RuleSet) -> None:
    # 2015-09-30 is in the September cycle: 9 started, 15 of 24 remain; on 2015-10-01 the October
    # cycle has started: 14 remain.
    before = plan_term(rules.decide(scenario("2015-09-30")))
    after = plan_term(rules.decide(scenario("2015-10-01")))
    assert before["remaining"] == {"cycles": 15, "of": 24, "frequency": "monthly"}
    assert before["penalty"]["fee"] == "150.00 EUR" and before["penalty"]["total"] == "178.50 EUR"
    assert after["remaining"]["cycles"] == 14 and after["penalty"]["total"] == "166.60 EUR"


def test_the_billing_frequency_comes_from_the_scheme_when_not_written(rules: RuleSet) -> None:
    data = scenario("2015-10-01", subscription={"billing_frequency": None, "billing_term_scheme": "monthly-24"})
    assert plan_term(rules.decide(data))["remaining"]["frequency"] == "monthly"


def test_a_rounding_half_way_penalty_uses_the_rule_sets_mode(rules: RuleSet) -> None:
    # tv-annual: rolling-12m, 60.00 EUR pro rata by days over 365; 2015-01-01 + 73 days leaves
    # 292/365 = 0.8 exactly -> 48.00 EUR; one day later 291/365 -> 47.835616... -> 47.84 EUR.
    exact = plan_term(rules.decide(scenario("2015-03-15", plan="tv-annual")))
    assert exact["remaining"] == {"days": 292, "of": 365} and exact["penalty"]["fee"] == "48.00 EUR"
    later = plan_term(rules.decide(scenario("2015-03-16", plan="tv-annual")))
    assert later["penalty"]["fee"] == "47.84 EUR"


def test_a_plan_without_commitment_left_and_no_renewal_is_free(rules: RuleSet) -> None:
    data = scenario("2016-01-01", subscription={"add_ons": ["sports-bundle"]})
    sports = next(t for t in rules.decide(data)["cancellation"]["terms"] if t["for"] == "sports-bundle")
    assert sports["outcome"] == "commitment_over" and sports["allowed"] is True
    assert sports["reasons"][0]["code"] == "commitment_over"


def test_the_first_exception_that_holds_decides(rules: RuleSet) -> None:
    both = scenario("2015-10-01", reason="moved_abroad", account={"segments": ["military"]})
    decided = plan_term(rules.decide(both))
    assert decided["outcome"] == "allowed"
    assert decided["reasons"][0]["facts"]["index"] == 1
    assert decided["reasons"][0]["source"]["file"].endswith("rules/catalog/terms.yaml")


def test_an_exception_is_not_consulted_once_the_commitment_is_over(rules: RuleSet) -> None:
    # commit-24m ends 2017-01-01 and renews into commit-12m, which has no exceptions
    data = scenario("2017-05-02", reason="moved_abroad")
    assert plan_term(rules.decide(data))["outcome"] == "penalty"


def test_the_explanation_gives_each_step_in_words(rules: RuleSet) -> None:
    term_decision = plan_term(rules.decide(scenario("2015-10-01"), explain=True))
    words = [step["text"] for step in term_decision["steps"]]
    assert words == [
        "1. `commit-24m` from 2015-01-01 to 2017-01-01",
        "the cancellation on 2015-10-01 falls in `commit-24m`, whose commitment ends on 2017-01-01",
        "14 of 24 monthly billing cycles remain (10 started by 2015-10-01, the one holding the cancellation date included)",
        "fee: 240.00 EUR × 14/24 = 140 EUR, rounded to 140.00 EUR",
        "tax: 140.00 EUR × 19 % = 26.6 EUR, rounded to 26.60 EUR",
        "total: 140.00 EUR + 26.60 EUR = 166.60 EUR",
        "due on 2015-10-15: the cancellation date 2015-10-01 + a grace period of 14 days",
        "charged as `early_termination_fee`, booked to ledger account `4410-early-termination-fees`",
    ]
    assert term_decision["steps"][3]["code"] == "step_fee"
    assert term_decision["steps"][3]["facts"]["share"] == "14/24"


def test_a_long_chain_is_shown_with_its_first_and_last_terms(rules: RuleSet) -> None:
    term_decision = plan_term(rules.decide(scenario("2015-12-20", start="2011-03-10", plan="tv-flex"), explain=True))
    assert term_decision["renewals"] == 57
    chain_steps = [s["text"] for s in term_decision["steps"] if s["code"].startswith("step_chain")]
    assert chain_steps[3] == "… 52 more renewals …"
    assert chain_steps[-1] == "58. `no-commitment` from 2015-12-10 to 2016-01-10"


def test_a_commitment_ending_after_the_calendar_is_still_in_force_on_its_last_day(rules: RuleSet) -> None:
    decided = plan_term(rules.decide(scenario("9999-12-31", start="9999-12-01")))
    assert (decided["outcome"], decided["commitment_end"]) == ("penalty", "after 9999-12-31")
    assert decided["penalty"]["fee"] == "240.00 EUR" and decided["penalty"]["due"] == "after 9999-12-31"


def test_a_refused_cancellation_charges_nothing(rules: RuleSet) -> None:
    data = scenario("2015-07-01", start="2015-02-01", subscription={"add_ons": ["sports-bundle"]})
    cancellation = rules.decide(data)["cancellation"]
    assert cancellation["allowed"] is False and cancellation["earliest"] == "2015-12-01"
    assert cancellation["total"] == {}


def test_decisions_are_deterministic(rules: RuleSet) -> None:
    data = scenario("2015-10-01", renewed_on="2015-10-10", subscription={"add_ons": ["sports-bundle"]})
    first = json.dumps(rules.decide(data, explain=True))
    assert all(json.dumps(load_rules(RULES).decide(data, explain=True)) == first for _ in range(2))


# --- properties ---------------------------------------------------------------------------------

PLANS = ("tv-essentials-24", "tv-annual", "tv-premium-12")


@settings(max_examples=120, deadline=None)
@given(
    plan=st.sampled_from(PLANS),
    start=st.dates(date(2013, 1, 1), date(2020, 12, 31)),
    days=st.integers(0, 3000),
    frequency=st.sampled_from(list(BillingFrequency)),
)
def test_a_penalty_is_never_negative_nor_above_the_maximum_fee_plus_its_tax(
    rules: RuleSet, plan: str, start: date, days: int, frequency: BillingFrequency
) -> None:
    cancel = start + timedelta(days=days)
    data = scenario(cancel.isoformat(), start=start.isoformat(), plan=plan)
    data["subscription"]["billing_frequency"] = frequency.value
    penalty = plan_term(rules.decide(data)).get("penalty")
    if penalty is None:
        return
    maximum = money(penalty["maximum"])
    rate = Decimal(penalty.get("tax_rate", "0")) / 100
    fee, total = money(penalty["fee"]), money(penalty["total"])
    assert Decimal(0) <= fee <= maximum
    assert Decimal(0) <= total <= (maximum + maximum * rate).quantize(Decimal("0.01"))


@settings(max_examples=60, deadline=None)
@given(plan=st.sampled_from(PLANS), start=st.dates(date(2013, 1, 1), date(2020, 12, 31)), data=st.data())
def test_a_pro_rata_penalty_never_increases_as_the_date_moves_later_within_a_commitment(
    rules: RuleSet, plan: str, start: date, data: st.DataObject
) -> None:
    first = plan_term(rules.decide(scenario(start.isoformat(), start=start.isoformat(), plan=plan)))
    end = date.fromisoformat(first["commitment_end"])
    a, b = sorted(data.draw(st.lists(st.integers(0, (end - start).days), min_size=2, max_size=2)))
    fees = []
    for offset in (a, b):
        decided = plan_term(
            rules.decide(scenario((start + timedelta(days=offset)).isoformat(), start=start.isoformat(), plan=plan))
        )
        fees.append(money(decided["penalty"]["total"]) if "penalty" in decided else Decimal(0))
    assert fees[1] <= fees[0]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "code", "words"),
    [
        (scenario("2014-12-31"), "cancellation.date", "BR615", "before the subscription starts (2015-01-01)"),
        (
            scenario("2015-10-01", plan="tv-essential-24"),
            "subscription.plan",
            "BR616",
            "did you mean `tv-essentials-24`?",
        ),
        (
            scenario("2015-10-01", subscription={"add_ons": ["sport-bundle"]}),
            "subscription.add_ons[0]",
            "BR616",
            "did you mean `sports-bundle`?",
        ),
        (
            scenario("2015-10-01", add_ons=["movies-bundle"], subscription={"add_ons": ["sports-bundle"]}),
            "cancellation.add_ons[0]",
            "BR616",
            "is not an add-on of the subscription",
        ),
        (  # (a frequency its products share would be read: here they are billed monthly and yearly)
            scenario(
                "2015-10-01",
                subscription={
                    "billing_frequency": None,
                    "products": [
                        {"product": "tv-essentials", "bundle": "tv-essentials-bundle"},
                        {"product": "tv-essentials-annual"},
                    ],
                },
            ),
            "subscription.billing_frequency",
            "BR616",
            "needs the subscription's billing frequency",
        ),
        (
            scenario(
                "2015-03-01",
                add_ons=["sports-bundle"],
                subscription={"add_ons": ["sports-bundle"], "add_on_starts": {"sports-bundle": "2015-04-01"}},
            ),
            "cancellation.date",
            "BR615",
            "before add-on `sports-bundle` starts (2015-04-01)",
        ),
    ],
)
def test_bad_cancellations_name_the_field(
    rules: RuleSet, data: dict[str, Any], field: str, code: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        rules.decide(data)
    assert (raised.value.field, raised.value.code) == (field, code)
    assert words in f"{raised.value.message} {raised.value.hint}"


def test_the_cli_reports_a_bad_cancellation_at_its_line(tmp_path: Path) -> None:
    sample = (REPO / "samples/cancellation/pro_rata_penalty.yaml").read_text(encoding="utf-8")
    path = tmp_path / "early.yaml"
    path.write_text(sample.replace("  date: 2015-10-01", "  date: 2014-10-01"), encoding="utf-8")
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t == "  date: 2014-10-01")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["decide", "--rules", str(RULES), str(path)])
    assert code == 1
    assert f"early.yaml:{line}:" in err.getvalue() and "error[BR615]" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_the_cli_explains_a_penalty_in_words() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(
            ["decide", "--explain", "--rules", str(RULES), str(REPO / "samples/cancellation/pro_rata_penalty.yaml")]
        )
    assert code == 0
    text = out.getvalue()
    assert "cancellation on 2015-10-01: allowed" in text
    assert "penalty 140.00 EUR + tax 26.60 EUR = 166.60 EUR, due 2015-10-15" in text
    assert "fee: 240.00 EUR × 14/24 = 140 EUR, rounded to 140.00 EUR" in text


RENEWING_BUNDLE = """\
kind: term
code: yearly-locked
name: Locked year, renewing
period: 1
unit: years
basis: calendar
early_cancellation: not_allowed
renewal_term: yearly-locked
---
kind: bundle
code: locked-bundle
name: Bundle with a locked year
validity: {from: 2013-01-01}
products:
  - product: tv-essentials
term: yearly-locked
---
kind: plan
code: locked-plan
name: Plan whose bundle locks a year at a time
bundles: [locked-bundle]
validity: {from: 2013-01-01}
term: commit-12m
payment_methods: [card]
"""


def test_the_whole_cancellation_is_possible_first_when_every_term_allows_it(tmp_path: Path) -> None:
    """The bundle's year renews into itself: cancelling is possible on 1 January only. The sports
    season, bought 1 June, is locked until 1 April. On 1 April the bundle has renewed and refuses
    again, so the whole cancellation is first possible on 1 January 2017, not on the later of the
    two terms' own dates."""
    import shutil

    shutil.copytree(RULES, tmp_path / "rules")
    (tmp_path / "rules" / "catalog" / "locked.yaml").write_text(RENEWING_BUNDLE, encoding="utf-8")
    rules = load_rules(tmp_path / "rules")
    subscription = {"add_ons": ["sports-bundle"], "add_on_starts": {"sports-bundle": "2015-06-01"}}
    decided = rules.decide(scenario("2015-09-01", plan="locked-plan", subscription=subscription))["cancellation"]
    refused = {t["for"]: t["earliest"] for t in decided["terms"] if not t["allowed"]}
    assert refused == {"locked-bundle": "2016-01-01", "sports-bundle": "2016-04-01"}
    assert (decided["allowed"], decided["earliest"]) == (False, "2017-01-01")
    on_that_day = rules.decide(scenario("2017-01-01", plan="locked-plan", subscription=subscription))
    assert on_that_day["cancellation"]["allowed"] is True
    day_before = rules.decide(scenario("2016-12-31", plan="locked-plan", subscription=subscription))
    assert day_before["cancellation"]["earliest"] == "2017-01-01"


SEASON = """\
kind: term
code: cycles-12
name: 12 billing cycles, pro rata
period: 12
unit: months
basis: billing_cycles
early_cancellation: penalty
penalty: {fee: 100.00 EUR, pro_rata: true}
renewal_term: cycles-12
---
kind: term
code: season-10
name: A season of 10 months
period: 10
unit: months
basis: calendar
early_cancellation: not_allowed
---
kind: bundle
code: season-bundle
name: Season
validity: {from: 2013-01-01}
products:
  - product: sports-pack
term: season-10
---
kind: plan
code: cycles-plan
name: Plan of billing cycles
bundles: [tv-essentials-bundle]
validity: {from: 2013-01-01}
term: cycles-12
payment_methods: [card]
"""


def test_the_earliest_date_is_found_without_pricing_the_penalties_on_it(tmp_path: Path) -> None:
    """Cancelled on the plan's end day (free), the season refuses until 1 April 2016; on that date
    the plan's renewed term would charge a pro-rata penalty, which needs a billing frequency the
    scenario does not give. Whether the date is allowed does not: the decision names it (it was an
    error, BR616)."""
    import shutil

    shutil.copytree(RULES, tmp_path / "rules")
    (tmp_path / "rules" / "catalog" / "season.yaml").write_text(SEASON, encoding="utf-8")
    rules = load_rules(tmp_path / "rules")
    data = scenario("2016-01-01", plan="cycles-plan")
    data["subscription"].pop("billing_frequency")
    data["subscription"] |= {"add_ons": ["season-bundle"], "add_on_starts": {"season-bundle": "2015-06-01"}}
    decided = rules.decide(data)["cancellation"]
    assert (decided["allowed"], decided["earliest"]) == (False, "2016-04-01")
    assert [(t["for"], t["outcome"]) for t in decided["terms"]] == [
        ("plan", "commitment_over"),
        ("season-bundle", "not_allowed"),
    ]


def test_a_penalty_names_its_ledger_account_and_invoice_line_type_even_when_unset(tmp_path: Path) -> None:
    """SPEC 3.4: the decision names ... ledger account and invoice line type: null when the term
    leaves them out, never a missing key."""
    import shutil

    from engine import load_rules
    from engine.load import load_file

    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", tmp_path / "rules")
    terms = tmp_path / "rules" / "catalog" / "terms.yaml"
    text = terms.read_text(encoding="utf-8")
    text = text.replace('  ledger_account: "4410-early-termination-fees"\n', "").replace(
        "  invoice_line_type: early_termination_fee\n", ""
    )
    terms.write_text(text, encoding="utf-8")
    sample = Path(__file__).resolve().parent.parent / "samples" / "cancellation" / "flat_penalty_after_renewal.yaml"
    [document] = load_file(sample).documents
    data = {k: v for k, v in document.data.items() if k != "expect"}
    penalty = load_rules(tmp_path / "rules").decide(data)["cancellation"]["terms"][0]["penalty"]
    assert (penalty["ledger_account"], penalty["invoice_line_type"]) == (None, None)
    assert penalty["total"] == "119.00 EUR"
