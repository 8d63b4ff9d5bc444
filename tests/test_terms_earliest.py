"""A refused cancellation's earliest date (SPEC 3.4: "`not_allowed` → cancellation refused, with
the earliest date it becomes possible"), worked out by hand by an audit of 2026-12-01 (seventh
session): exceptions that read the cancellation's date allow it before the commitment's end, a
plan that renews into itself allows it on its end days only, and terms whose end days meet after
many laps still meet. Each earliest date is checked by deciding the cancellation on that day
(allowed) and on the day before (refused)."""

from __future__ import annotations

import copy
import textwrap
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules

TERMS = {
    # not allowed, renews into itself: free on its end days only (2027-01-01, 2028-01-01, …)
    "self-12m": "period: 12\nunit: months\nearly_cancellation: not_allowed\nrenewal_term: self-12m",
    "self-100d": "period: 100\nunit: days\nearly_cancellation: not_allowed\nrenewal_term: self-100d",
    "self-101d": "period: 101\nunit: days\nearly_cancellation: not_allowed\nrenewal_term: self-101d",
    "from-june": (
        "period: 12\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date >= 2026-06-01\n    outcome: allowed"
    ),
    "in-may": (
        "period: 12\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date between 2026-05-01 and 2026-05-31\n    outcome: allowed"
    ),
    "notice-30d": (
        "period: 12\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date >= as_of.date + 30 days\n    outcome: allowed"
    ),
    "penalty-after-may": (
        "period: 12\nunit: months\nearly_cancellation: penalty\npenalty:\n  fee: 120.00 EUR\n  pro_rata: false\n"
        "exceptions:\n  - when: cancellation.date < 2026-06-01\n    outcome: not_allowed"
    ),
    "quantified": (  # compared inside a quantifier: the other side depends on each period
        "period: 12\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: any h in subscription.status_history where cancellation.date >= h.from + 100 days\n"
        "    outcome: allowed"
    ),
    "year-1999": (  # never holds: the commitment's end, after a while of days tried
        "period: 10\nunit: years\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date.month == 13\n    outcome: allowed"
    ),
    "from-2029": (
        "period: 5\nunit: years\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date.year >= 2029\n    outcome: allowed"
    ),
    "on-a-day": (
        "period: 5\nunit: years\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date in {2029-06-01, 2030-06-01}\n    outcome: allowed"
    ),
    "150-days-in": (
        "period: 12\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date - subscription.start >= 150 days\n    outcome: allowed"
    ),
    # spans of the cancellation's date solved for it, past the days tried one by one
    "500-days-in": (
        "period: 24\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date - subscription.start >= 500 days\n    outcome: allowed"
    ),
    "18-months-in": (
        "period: 24\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date - subscription.start >= 18 months\n    outcome: allowed"
    ),
    "near-2028": (
        "period: 24\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: 2027-12-31 - cancellation.date <= 200 days\n    outcome: allowed"
    ),
    "moved-45-days": (
        "period: 24\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date + 45 days >= 2027-09-01\n    outcome: allowed"
    ),
    "june-2027": (  # read by its month: tried day by day (900 days: 400 gave the commitment's end)
        "period: 24\nunit: months\nearly_cancellation: not_allowed\n"
        "exceptions:\n  - when: cancellation.date.year >= 2027 and cancellation.date.month >= 6\n"
        "    outcome: allowed"
    ),
    "window-or-900": (  # refused before 2026-07-31 and from 900 days in; a penalty between
        "period: 36\nunit: months\nearly_cancellation: penalty\npenalty:\n  fee: 100.00 EUR\n  pro_rata: false\n"
        "exceptions:\n  - when: cancellation.date < 2026-07-31 or cancellation.date - subscription.start >= 900 days\n"
        "    outcome: not_allowed"
    ),
}


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("earliest") / "rules"
    root.mkdir()
    (root / "ruleset.yaml").write_text(
        "kind: rule_set\ncode: earliest\nname: Earliest\nversion: '1'\ndefault_currency: EUR\n", encoding="utf-8"
    )
    docs = [
        "kind: product\ncode: svc\nname: Service\ntype: termed\nprice: 10.00 EUR\nbilling_frequency: monthly",
    ]
    for code, body in TERMS.items():
        docs.append(f"kind: term\ncode: {code}\nname: {code}\nbasis: calendar\n{body}")
        docs.append(
            f"kind: bundle\ncode: b-{code}\nname: b-{code}\nvalidity: {{from: 2000-01-01}}\n"
            f"products:\n  - product: svc\nterm: {code}"
        )
        docs.append(
            f"kind: plan\ncode: p-{code}\nname: p-{code}\nbundles: [b-main]\nvalidity: {{from: 2000-01-01}}\nterm: {code}"
        )
    docs.append("kind: bundle\ncode: b-main\nname: main\nvalidity: {from: 2000-01-01}\nproducts:\n  - product: svc")
    (root / "rules.yaml").write_text("\n---\n".join(textwrap.dedent(d) for d in docs) + "\n", encoding="utf-8")
    return load_rules(root)


def _scenario(plan: str, add_on: str | None, on: str, add_on_start: str = "2026-03-01") -> dict[str, Any]:
    subscription: dict[str, Any] = {
        "code": "S1",
        "plan": f"p-{plan}",
        "billing_frequency": "monthly",
        "start": "2026-01-01",
    }
    if add_on is not None:
        subscription["add_ons"] = [f"b-{add_on}"]
        subscription["add_on_starts"] = {f"b-{add_on}": add_on_start}
    return {"id": "c", "as_of": f"{on}T09:00:00+00:00", "subscription": subscription, "cancellation": {"date": on}}


def _decided_on(rules: Any, data: dict[str, Any], day: str) -> dict[str, Any]:
    moved = copy.deepcopy(data)
    moved["cancellation"]["date"] = day
    return rules.decide(moved)["cancellation"]


def _earliest(rules: Any, data: dict[str, Any]) -> str:
    cancellation = rules.decide(data)["cancellation"]
    assert cancellation["allowed"] is False
    earliest = cancellation["earliest"]
    assert _decided_on(rules, data, earliest)["allowed"] is True
    before = (date.fromisoformat(earliest) - timedelta(days=1)).isoformat()
    if before >= data["cancellation"]["date"]:
        assert _decided_on(rules, data, before)["allowed"] is False
    return str(earliest)


@pytest.mark.parametrize(
    ("plan", "expected", "term_earliest"),
    [
        ("from-june", "2026-06-01", "2026-06-01"),  # before: the commitment's end, 2027-01-01
        ("in-may", "2026-05-01", "2026-05-01"),
        ("notice-30d", "2026-03-31", "2026-03-31"),  # 30 days after as_of (2026-03-01)
        ("penalty-after-may", "2026-06-01", "2026-06-01"),  # from June a penalty, but allowed
        ("150-days-in", "2026-05-31", "2026-05-31"),  # 150 days after 2026-01-01
        # solved for the date (the search tried 400 days one by one, then gave the commitment's
        # end, 2028-01-01, a year late: an audit of 2026-12-01, eighth session)
        ("500-days-in", "2027-05-16", "2027-05-16"),
        ("18-months-in", "2027-07-01", "2027-07-01"),
        ("near-2028", "2027-06-14", "2027-06-14"),  # 200 days before 2027-12-31
        ("moved-45-days", "2027-07-18", "2027-07-18"),
        ("window-or-900", "2026-07-31", "2026-07-31"),
        ("june-2027", "2027-06-01", "2027-06-01"),
        ("quantified", "2026-04-11", "2026-04-11"),  # 100 days after the status period from 2026-01-01
        ("year-1999", "2036-01-01", "2036-01-01"),  # never: its end, once 900 days are tried
        ("from-2029", "2029-01-01", "2029-01-01"),
        ("on-a-day", "2029-06-01", "2029-06-01"),
    ],
)
def test_an_exception_on_the_cancellation_date_allows_it_before_the_commitment_ends(
    rules: Any, plan: str, expected: str, term_earliest: str
) -> None:
    data = _scenario(plan, None, "2026-03-01")
    data["subscription"]["status_history"] = [{"status": "active", "from": "2026-01-01"}]
    assert _earliest(rules, data) == expected
    [term] = rules.decide(data)["cancellation"]["terms"]
    assert term["earliest"] == term_earliest
    if term_earliest != term["commitment_end"]:
        assert term["reasons"][-1]["code"] == "not_allowed_until"
        assert (
            f"possible from {term_earliest} (commitment ends {term['commitment_end']})" in term["reasons"][-1]["text"]
        )


def test_a_plan_renewing_into_itself_and_an_add_on_allowed_from_june_meet_on_the_plans_end_day(rules: Any) -> None:
    # the plan is free on 2027-01-01 only (then 2028-01-01); the add-on from 2026-06-01: both on
    # 2027-01-01 (the search used to jump to the add-on's commitment end, 2027-03-01, past it)
    for add_on in ("from-june", "penalty-after-may"):
        data = _scenario("self-12m", add_on, "2026-04-01")
        assert _earliest(rules, data) == "2027-01-01"
        terms = rules.decide(data)["cancellation"]["terms"]
        assert [t["earliest"] for t in terms] == ["2027-01-01", "2026-06-01"]


def test_terms_whose_end_days_meet_after_a_hundred_laps_still_meet(rules: Any) -> None:
    # 100-day laps from 2026-01-01 and 101-day laps from 2026-01-02 both end on 2026-01-01 +
    # 10,000 days (100 * 100 = 1 + 99 * 101): 2053-05-19; the search gave up after 100 candidates
    data = _scenario("self-100d", "self-101d", "2026-02-01", add_on_start="2026-01-02")
    assert date(2026, 1, 1) + timedelta(days=10_000) == date(2053, 5, 19)
    assert _earliest(rules, data) == "2053-05-19"


def test_terms_whose_end_days_never_meet_say_so(rules: Any) -> None:
    # both renew into themselves every 12 months, one a day after the other: never on one day
    data = _scenario("self-12m", "self-12m", "2026-02-01", add_on_start="2026-01-02")
    data["subscription"]["add_ons"] = ["b-self-12m"]
    cancellation = rules.decide(data)["cancellation"]
    assert (cancellation["allowed"], cancellation["earliest"]) == (False, None)
    [reason] = cancellation["reasons"]
    assert reason["code"] == "no_common_date"
    assert reason["facts"]["terms"] == {"plan": "2027-01-01", "b-self-12m": "2027-01-02"}


def test_the_readable_output_says_no_date_was_found_not_none(rules: Any, tmp_path: Path) -> None:
    import io

    from engine.cli.render_cancellation import render_cancellation

    data = _scenario("self-12m", "self-12m", "2026-02-01", add_on_start="2026-01-02")
    out = io.StringIO()
    render_cancellation(rules.decide(data)["cancellation"], out)
    assert "refused (no date found on which every term allows it)" in out.getvalue()
    assert "None" not in out.getvalue()


def test_a_grace_period_of_months_keeps_to_month_ends_as_a_commitment_does(tmp_path: Path) -> None:
    # SPEC 3.4: "a month-end start keeps to the month's last day"; the grace period counts months
    # the same way: cancelled on 30 June (a month's last day), a month's grace ends on 31 July
    root = tmp_path / "rules"
    root.mkdir()
    (root / "ruleset.yaml").write_text("kind: rule_set\ncode: g\nname: G\nversion: '1'\ndefault_currency: EUR\n")
    (root / "rules.yaml").write_text(
        "kind: product\ncode: svc\nname: S\ntype: termed\nprice: 10.00 EUR\nbilling_frequency: monthly\n---\n"
        "kind: bundle\ncode: b\nname: b\nvalidity: {from: 2000-01-01}\nproducts:\n  - product: svc\n---\n"
        "kind: term\ncode: t\nname: t\nperiod: 12\nunit: months\nbasis: calendar\nearly_cancellation: penalty\n"
        "penalty:\n  fee: 100.00 EUR\n  pro_rata: false\n  grace_period: 1\n  grace_period_unit: months\n---\n"
        "kind: plan\ncode: p\nname: p\nbundles: [b]\nvalidity: {from: 2000-01-01}\nterm: t\n"
    )
    rules = load_rules(root)
    dues = {}
    for on in ("2026-06-30", "2026-06-15", "2026-01-31", "2026-02-28"):
        data = {
            "id": "g",
            "as_of": f"{on}T09:00:00+00:00",
            "subscription": {"code": "S", "plan": "p", "start": "2026-01-01"},
            "cancellation": {"date": on},
        }
        [term] = rules.decide(data)["cancellation"]["terms"]
        dues[on] = term["penalty"]["due"]
    assert dues == {
        "2026-06-30": "2026-07-31",
        "2026-06-15": "2026-07-15",
        "2026-01-31": "2026-02-28",
        "2026-02-28": "2026-03-31",
    }


def test_the_search_asks_only_the_terms_it_decides_and_stays_bounded(tmp_path: Path) -> None:
    # 200 terms the subscription does not hold, each counting 2,000 usage records in an exception:
    # the search evaluated every term's exceptions on every candidate date (26 s); now only those
    # of the terms it decides (timings: README, not a test)
    root = tmp_path / "rules"
    root.mkdir()
    (root / "ruleset.yaml").write_text("kind: rule_set\ncode: b\nname: B\nversion: '1'\ndefault_currency: EUR\n")
    docs = ["kind: product\ncode: svc\nname: S\ntype: termed\nprice: 10.00 EUR\nbilling_frequency: monthly"]
    docs.append("kind: bundle\ncode: b\nname: b\nvalidity: {from: 2000-01-01}\nproducts:\n  - product: svc")
    for n in range(200):
        docs.append(
            f"kind: term\ncode: heavy-{n}\nname: h\nperiod: 12\nunit: months\nbasis: calendar\n"
            f"early_cancellation: not_allowed\nexceptions:\n"
            f'  - when: count(u in usage where u.device == "stb-{n}") > 3\n    outcome: allowed'
        )
    for code, days in (("a", 997), ("c", 998)):
        docs.append(
            f"kind: term\ncode: self-{code}\nname: s\nperiod: {days}\nunit: days\nbasis: calendar\n"
            f"early_cancellation: not_allowed\nrenewal_term: self-{code}\n"
            "exceptions:\n  - when: cancellation.date.month == 13\n    outcome: allowed"
        )
        docs.append(
            f"kind: bundle\ncode: b-{code}\nname: b\nvalidity: {{from: 2000-01-01}}\nproducts:\n  - product: svc\nterm: self-{code}"
        )
    docs.append("kind: plan\ncode: p\nname: p\nbundles: [b]\nvalidity: {from: 2000-01-01}")
    (root / "rules.yaml").write_text("\n---\n".join(docs) + "\n", encoding="utf-8")
    rules = load_rules(root)
    data = {
        "id": "x",
        "as_of": "2026-02-01T00:00:00Z",
        "subscription": {
            "code": "S",
            "plan": "p",
            "start": "2026-01-01",
            "add_ons": ["b-a", "b-c"],
            "add_on_starts": {"b-a": "2026-01-01", "b-c": "2026-01-02"},
        },
        "usage": [{"at": "2026-01-15T10:00:00Z", "device": f"stb-{i % 50}"} for i in range(2000)],
        "cancellation": {"date": "2026-02-01"},
    }
    cancellation = rules.decide(data)["cancellation"]
    assert cancellation["allowed"] is False
    asked = [key for key in rules.criteria._groups if key.startswith("=")]  # owners evaluated one by one
    assert asked and all(key in ("=term:self-a", "=term:self-c") for key in asked), asked


def test_a_cancellation_naming_no_add_on_is_refused(rules: Any) -> None:
    # `add_ons: []` cancels nothing: it was answered "allowed", with no term decided
    from engine.decide.scenarios import ScenarioError

    data = _scenario("self-12m", "from-june", "2026-04-01")
    data["cancellation"]["add_ons"] = []
    with pytest.raises(ScenarioError) as refused:
        rules.decide(data)
    assert (refused.value.code, refused.value.field) == ("BR616", "cancellation.add_ons")
    assert "cancels nothing" in refused.value.message


def test_the_outcome_an_exception_decides_is_located_at_the_exception() -> None:
    # commit-24m charges a penalty (`early_cancellation: penalty`); its first exception waives it
    # for a customer moving abroad: the "allowed" reason pointed at the term's penalty line
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    shipped = load_rules(repo / "rules")
    [document] = load_file(repo / "samples" / "cancellation" / "exception_moved_abroad.yaml").documents
    data = {k: v for k, v in document.data.items() if k != "expect"}
    reasons = {r["code"]: r for t in shipped.decide(data)["cancellation"]["terms"] for r in t["reasons"]}
    lines = (repo / "rules" / "catalog" / "terms.yaml").read_text("utf-8").splitlines()
    held, outcome = reasons["exception_holds"]["source"], reasons["early_cancellation_allowed"]["source"]
    assert lines[held["line"] - 1].strip().startswith("- when: cancellation.reason in")
    assert lines[outcome["line"] - 1].strip() == "outcome: allowed" and outcome["line"] == held["line"] + 1
