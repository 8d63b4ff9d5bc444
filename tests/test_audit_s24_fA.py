"""Audit a2 of the twenty-fourth session (2026-12-03), findings F3, F4 and F5: how a subscription's
status history reads as interruptions.

- F3: two open periods that start the same day (`rested from 2015-02-01`, then `active from
  2015-02-01`): the rest ran for ever (only a period starting strictly later ended it), while the
  purchase of the same decision read the subscription as in effect. Of periods starting the same
  day the one listed last is in force from that day; the others last no day.
- F4: days of a rest before `subscription.start` counted against the tolerance. Interruptions are
  cut at the subscription's start now.
- F5: "1 days so far", "after 1 days interrupted": "1 day".
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine import load_rules
from engine.criteria.environment import (
    Tolerances,
    interruptions,
    uninterrupted_ordinal,
    uninterrupted_ordinals,
    uninterrupted_start,
)
from engine.decide.purchases import _deactivated_on

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped() -> Any:
    return load_rules(REPO / "rules")


#: hd-loyal-half (`subscription.maturity >= 6 months`), loyalty-5 and retention-offer
#: (`uninterrupted(subscription, 14 days) >= 12 months`) read this subscription's history.
_TV: dict[str, Any] = {
    "id": "s24-fa",
    "as_of": "2015-08-02T02:00:00+02:00",
    "account": {
        "code": "ACC-8008",
        "classification": "Residential",
        "payment_preference": "card",
        "presentment_preference": "paper",
    },
    "subscription": {
        "code": "SUB-8008",
        "type": "residential-tv",
        "plan": "tv-premium-12",
        "billing_term_scheme": "monthly-12",
        "billing_frequency": "monthly",
        "binding_period": "12 months",
        "start": "2015-01-10",
        "status_history": [],
        "products": [
            {"product": "tv-premium", "bundle": "tv-premium-bundle", "main": True},
            {"product": "hd-option", "bundle": "tv-premium-bundle"},
        ],
        "billing_period": {"from": "2015-07-01", "to": "2015-07-31"},
    },
}

#: An add-on bought on a subscription (the auditor's f3b_purchase_same_day.yaml).
_PURCHASE: dict[str, Any] = {
    "id": "s24-fa-purchase",
    "as_of": "2015-05-04T11:00:00+02:00",
    "account": {"code": "ACC-1203", "classification": "Residential", "payment_preference": "direct_debit"},
    "subscription": {
        "code": "SUB-1203",
        "plan": "tv-essentials-24",
        "billing_term_scheme": "monthly-24",
        "billing_frequency": "monthly",
        "start": "2015-01-10",
        "status_history": [],
        "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
    },
    "purchase": {"add_ons": ["sports-bundle"], "payment_method": "direct_debit"},
}


def _scenario(base: dict[str, Any], history: list[dict[str, str]], **subscription: Any) -> dict[str, Any]:
    scenario = copy.deepcopy(base)
    scenario["subscription"]["status_history"] = history
    scenario["subscription"].update(subscription)
    return scenario


def _definition(decision: Any, code: str) -> Any:
    return next(d for d in decision["discounts"]["definitions"] if d["code"] == code)


def _texts(decision: Any, code: str) -> list[str]:
    return [reason["text"] for reason in _definition(decision, code)["reasons"]]


def _period(status: str, since: str, until: str | None = None) -> dict[str, str]:
    return {"status": status, "from": since} | ({"to": until} if until else {})


# --- F3: periods that start the same day ---------------------------------------------------------


@pytest.mark.parametrize("status", ["rested", "deactivated"])
def test_a_rest_taken_back_the_same_day_is_no_interruption(shipped: Any, status: str) -> None:
    """`rested from 2015-02-01`, then `active from 2015-02-01`: active from that day, so the
    subscription has been uninterrupted since it started (until 2026-12-03 the rest never ended:
    "interrupted since 2015-02-01: 183 days so far")."""
    history = [_period("active", "2015-01-10"), _period(status, "2015-02-01"), _period("active", "2015-02-01")]
    decision = shipped.decide(_scenario(_TV, history))
    assert _definition(decision, "hd-loyal-half")["status"] == "applied"
    assert _texts(decision, "retention-offer") == [
        "subscription uninterrupted for 6 months and 23 days (since 2015-01-10); the rule needs at least 12 months"
    ]


@pytest.mark.parametrize("status", ["rested", "deactivated"])
def test_listed_the_other_way_round_the_rest_is_in_force(shipped: Any, status: str) -> None:
    """`active from 2015-02-01`, then `rested from 2015-02-01` (oldest first: the rest is the newer
    transition): the rest is in force from that day and still going on."""
    history = [_period("active", "2015-01-10"), _period("active", "2015-02-01"), _period(status, "2015-02-01")]
    decision = shipped.decide(_scenario(_TV, history))
    assert _definition(decision, "hd-loyal-half")["status"] == "not_eligible"
    assert _texts(decision, "hd-loyal-half") == [
        "subscription uninterrupted for 0 months (interrupted since 2015-02-01: 183 days so far); "
        "the rule needs at least 6 months"
    ]


def test_a_subscription_created_inactive_and_activated_on_its_first_day_matures(shipped: Any) -> None:
    """`deactivated from 2015-01-10`, `active from 2015-01-10` (start 2015-01-10): a common way of
    provisioning; until 2026-12-03 such a subscription never got any maturity."""
    history = [_period("deactivated", "2015-01-10"), _period("active", "2015-01-10")]
    decision = shipped.decide(_scenario(_TV, history))
    assert _definition(decision, "hd-loyal-half")["status"] == "applied"
    assert _definition(decision, "loyalty-5")["status"] == "applied"


def test_a_same_day_rest_ends_before_a_later_one_joins_it(shipped: Any) -> None:
    """The auditor's h_7d: a 0-day rest on 2015-02-01 is not joined with a later one-day rest; the
    span counts from the day after that one (until 2026-12-03 both made one rest of 52 days)."""
    history = [
        _period("active", "2015-01-10"),
        _period("rested", "2015-02-01"),
        _period("active", "2015-02-01"),
        _period("rested", "2015-03-01", "2015-03-02"),
    ]
    decision = shipped.decide(_scenario(_TV, history))
    assert _texts(decision, "hd-loyal-half") == [
        "subscription uninterrupted for 4 months and 30 days (since 2015-03-03, after 2 days interrupted "
        "from 2015-03-01 to 2015-03-02); the rule needs at least 6 months"
    ]


@pytest.mark.parametrize("active_last", [True, False])
def test_purchase_and_uninterrupted_read_the_same_day_alike(shipped: Any, active_last: bool) -> None:
    """The auditor's f3b: deactivated and active again on 2015-02-01. The purchase (in effect
    when the active period is the last listed) and the discounts (uninterrupted since the start)
    agree, in either order (until 2026-12-03 the purchase was allowed while the discounts said
    "interrupted since 2015-02-01: 93 days so far")."""
    same_day = [_period("deactivated", "2015-02-01"), _period("active", "2015-02-01")]
    history = [_period("active", "2015-01-10"), *(same_day if active_last else same_day[::-1])]
    decision = shipped.decide(_scenario(_PURCHASE, history))
    assert decision["purchase"]["allowed"] is active_last
    measured = _texts(decision, "hd-loyal-half")[1]
    if active_last:
        assert measured == (
            "subscription uninterrupted for 3 months and 24 days (since 2015-01-10); the rule needs at least 6 months"
        )
    else:
        assert [r["code"] for r in decision["purchase"]["reasons"]] == ["subscription_not_in_effect"]
        assert decision["purchase"]["reasons"][0]["facts"]["since"] == "2015-02-01"
        assert measured == (
            "subscription uninterrupted for 0 months (interrupted since 2015-02-01: 93 days so far); "
            "the rule needs at least 6 months"
        )


# --- F4: days before the subscription's start ---------------------------------------------------


def test_a_rest_before_the_start_counts_from_the_start(shipped: Any) -> None:
    """The auditor's f4: started 2014-07-01, rested 2014-06-01..2014-07-10: 10 days while the
    subscription existed, which loyalty-5's 30 days forgive (until 2026-12-03 40 days, refused)."""
    scenario = _scenario(
        _TV,
        [_period("rested", "2014-06-01", "2014-07-10"), _period("active", "2014-07-11")],
        type="business-tv",
        plan="tv-essentials-24",
        billing_term_scheme="monthly-24",
        binding_period="24 months",
        start="2014-07-01",
        products=[{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
    )
    scenario["as_of"] = "2015-07-05T10:00:00+02:00"
    scenario["subscription"]["billing_period"] = {"from": "2015-06-01", "to": "2015-06-30"}
    decision = shipped.decide(scenario)
    assert _definition(decision, "loyalty-5")["status"] == "applied"


def test_the_tolerance_reads_the_days_since_the_start(shipped: Any) -> None:
    """retention-offer (`uninterrupted(subscription, 14 days) >= 12 months`): a rest of 51 days of
    which 11 after the start (2015-01-10) is forgiven; the reason says since the start (until
    2026-12-03 "since 2015-01-21, after 51 days interrupted from 2014-12-01 to 2015-01-20")."""
    history = [_period("rested", "2014-12-01", "2015-01-20"), _period("active", "2015-01-21")]
    decision = shipped.decide(_scenario(_TV, history))
    assert _texts(decision, "retention-offer") == [
        "subscription uninterrupted for 6 months and 23 days (since 2015-01-10); the rule needs at least 12 months"
    ]


def test_a_rest_over_before_the_start_interrupts_nothing(shipped: Any) -> None:
    """A rest that ended before the subscription started is no interruption of it at all."""
    history = [_period("rested", "2014-11-01"), _period("active", "2014-12-01")]
    decision = shipped.decide(_scenario(_TV, history, start="2015-01-10"))
    assert _texts(decision, "retention-offer") == [
        "subscription uninterrupted for 6 months and 23 days (since 2015-01-10); the rule needs at least 12 months"
    ]


def test_the_reset_told_is_the_part_after_the_start(shipped: Any) -> None:
    """maturity (no tolerance): the 11 days after the start reset it, and the reason names them."""
    history = [_period("rested", "2014-12-01", "2015-01-20"), _period("active", "2015-01-21")]
    scenario = _scenario(_TV, history)
    scenario["as_of"] = "2015-07-15T02:00:00+02:00"
    decision = shipped.decide(scenario)
    assert _texts(decision, "hd-loyal-half") == [
        "subscription uninterrupted for 5 months and 24 days (since 2015-01-21, after 11 days interrupted "
        "from 2015-01-10 to 2015-01-20); the rule needs at least 6 months"
    ]


# --- F5: one day ---------------------------------------------------------------------------------


def test_one_day_is_said_in_the_singular(shipped: Any) -> None:
    """The auditor's f5_one_day(_b): "1 day so far", "after 1 day interrupted"."""
    history = [_period("active", "2015-01-10"), _period("rested", "2015-02-01"), _period("active", "2015-02-02")]
    scenario = _scenario(_TV, history)
    scenario["as_of"] = "2015-08-01T02:00:00+02:00"
    assert _texts(shipped.decide(scenario), "hd-loyal-half") == [
        "subscription uninterrupted for 5 months and 30 days (since 2015-02-02, after 1 day interrupted "
        "from 2015-02-01 to 2015-02-01); the rule needs at least 6 months"
    ]
    scenario["subscription"]["status_history"].append(_period("rested", "2015-08-01"))
    assert _texts(shipped.decide(scenario), "hd-loyal-half") == [
        "subscription uninterrupted for 0 months (interrupted since 2015-08-01: 1 day so far); "
        "the rule needs at least 6 months"
    ]


# --- properties: every reader, against a day-by-day reading ---------------------------------------

_DAY0 = date(2015, 1, 1)


def _random_history(rng: random.Random) -> tuple[date, list[SimpleNamespace], date]:
    """A subscription start, a history (oldest first, same-day transitions and periods before the
    start included, some with `to`) and an `as_of` day."""
    start = _DAY0 + timedelta(days=rng.randrange(0, 30))
    day = _DAY0 - timedelta(days=rng.randrange(0, 20))
    history = []
    for _ in range(rng.randrange(0, 7)):
        day += timedelta(days=rng.choice([0, 0, 1, 2, 5, 12, 30]))
        status = rng.choice(["active", "active", "rested", "deactivated"])
        until = day + timedelta(days=rng.randrange(0, 20)) if rng.random() < 0.25 else None
        history.append(SimpleNamespace(status=status, from_=day, to=until))
    return start, history, _DAY0 + timedelta(days=rng.randrange(0, 150))


def _in_force_until(history: list[SimpleNamespace], index: int) -> date | None:
    """The rule, read on its own: a period with `to` ends then; an open one the day before a
    later period starts, or, when one listed after it starts the same day, before it began."""
    period = history[index]
    if period.to is not None:
        return period.to  # type: ignore[no-any-return]
    if any(later.from_ == period.from_ for later in history[index + 1 :]):
        return period.from_ - timedelta(days=1)  # type: ignore[no-any-return]
    later = [p.from_ for p in history if p.from_ > period.from_]
    return min(later) - timedelta(days=1) if later else None


def _oracle_start(start: date, history: list[SimpleNamespace], end: date, allowed: int) -> date:
    """The first day of the uninterrupted time ending on `end`, counted day by day from `start`.

    Each day reads the one status in force (README: the period begun latest by then that has not
    ended; of those begun the same day, the one listed last), as the purchase does."""
    interrupted = []
    day = start
    while day <= end:
        covering = [
            (p.from_, i, p)
            for i, p in enumerate(history)
            if p.from_ <= day and (_in_force_until(history, i) or date.max) >= day
        ]
        interrupted.append(bool(covering) and max(covering, key=lambda c: (c[0], c[1]))[2].status != "active")
        day += timedelta(days=1)
    begins, run = start, 0
    for offset, off in enumerate([*interrupted, False]):
        if off:
            run += 1
            continue
        if run > allowed:
            begins = start + timedelta(days=offset)
        run = 0
    return min(begins, end)


def test_every_reader_agrees_with_a_day_by_day_reading() -> None:
    rng = random.Random(20261203)
    tolerances = Tolerances([0, 3, 14, 30])
    for _ in range(3000):
        start, history, end = _random_history(rng)
        subscription = SimpleNamespace(start=start, status_history=history)
        scenario = SimpleNamespace(as_of=datetime(end.year, end.month, end.day, 12, tzinfo=UTC))
        expected = [_oracle_start(start, history, end, allowed).toordinal() for allowed in tolerances]
        assert list(uninterrupted_ordinals(subscription, tolerances, scenario)) == expected, (start, history, end)
        for allowed, ordinal in zip(tolerances, expected, strict=True):
            assert uninterrupted_ordinal(subscription, allowed, scenario) == ordinal
            tolerance = SimpleNamespace(days=allowed) if allowed else None
            assert uninterrupted_start(subscription, tolerance, end).toordinal() == ordinal
        for first, _stop in interruptions(history, end, start):
            assert first >= start


def test_the_purchase_reads_deactivation_as_the_interruptions_do() -> None:
    """For a history of transitions (no `to`), a day is one the purchase reads as `deactivated`
    exactly when a deactivated period is in force that day as `interruptions` reads the history."""
    rng = random.Random(3)
    for _ in range(1500):
        _start, history, end = _random_history(rng)
        history = [SimpleNamespace(status=p.status, from_=p.from_, to=None) for p in history]
        if not history:
            continue
        only_deactivated = [
            p if p.status != "rested" else SimpleNamespace(**{**vars(p), "status": "active"}) for p in history
        ]
        spans = interruptions(only_deactivated, end)
        subscription = SimpleNamespace(status_history=only_deactivated)
        day = history[0].from_
        while day <= end:
            inside = any(first <= day <= stop for first, stop in spans)
            assert _deactivated_on(subscription, day) is inside, (history, day)
            day += timedelta(days=1)
