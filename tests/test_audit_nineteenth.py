"""Findings of the nineteenth session's audits (2026-12-03), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.cli.main import main
from engine.ruleset import RuleSet
from tests.test_audit_thirteenth import _rules_with

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")


# --- a `.json` scenario file is JSON: what only YAML takes is refused where it is written ---


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{"id": "a",\n "as_of": "2026-01-01T00:00:00Z",}\n', 2, 33, "trailing comma"),
        ("{'id': 'a'}\n", 1, 2, "expected a string key"),
        ('# a comment\n{"id": "a"}\n', 1, 1, "expected a JSON value"),
        ('{id: "a"}\n', 1, 2, "expected a string key"),
        ('{"id": "a", "quantity": NaN}\n', 1, 25, "expected a JSON value"),
    ],
)
def test_a_json_scenario_file_that_is_not_json_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, column: int, words: str
) -> None:
    """SPEC 4: a scenario is "one document (YAML or JSON …)". A `.json` file was read by the YAML
    loader alone, so a trailing comma, single quotes or a comment passed, and the scenario was
    decided from a file that no JSON reader (a billing run's included) takes."""
    scenario = tmp_path / "s.json"
    scenario.write_text(text, encoding="utf-8")
    assert main(["decide", "--rules", RULES, str(scenario)]) == 1
    out = capsys.readouterr().err
    assert f"s.json:{line}:{column}: error[BR601] the file is not JSON: " in out
    assert words in out


def test_a_strict_json_scenario_file_is_decided_as_its_yaml_twin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check refuses only what is not JSON: a sample written as JSON (a byte order mark, tabs,
    several lines) gets the decision its YAML file gets."""
    from engine.load import load_file

    sample = REPO / "samples" / "balance" / "seed_004_example.yaml"
    data = load_file(sample).documents[0].data
    data.pop("expect", None)
    written = tmp_path / "seed.json"
    written.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, indent="\t", default=str).encode())
    assert main(["decide", "--rules", RULES, "--json", str(written)]) == 0
    from_json = capsys.readouterr().out
    twin = tmp_path / "seed.yaml"
    twin.write_text(json.dumps(data, default=str), encoding="utf-8")
    assert main(["decide", "--rules", RULES, "--json", str(twin)]) == 0
    assert from_json == capsys.readouterr().out


# --- a rule set keys a dict or a cache ---


def test_a_rule_set_is_hashable_and_compared_by_identity() -> None:
    """The Python API (SPEC 5) for a service: `hash(rules)` raised "unhashable type: 'dict'", so a
    rule set could not key a cache of its answers or sit in a set."""
    import functools
    import pickle

    from engine.ruleset import load_rules

    rules = load_rules(RULES)
    again = load_rules(RULES)
    assert hash(rules) == hash(rules) and rules == rules
    assert rules != again and len({rules, again, rules}) == 2
    assert again.rules_version == rules.rules_version  # the same files
    brief = rules.brief()
    assert brief != rules and hash(brief) != hash(rules)
    copied = pickle.loads(pickle.dumps(rules))
    assert copied != rules and copied.rules_version == rules.rules_version

    @functools.lru_cache(maxsize=4)
    def codes(of: object) -> int:
        return len(of.models("discount"))  # type: ignore[attr-defined]

    assert codes(rules) == codes(rules) == codes(again) > 0
    assert codes.cache_info().hits == 1


# --- discounts (SPEC 3.2): small rule sets written for each finding ---


def _discount_rules(tmp_path: Path, rounding: str, products: str, discounts: str) -> RuleSet:
    from engine.ruleset import load_rules

    root = tmp_path / "rules"
    root.mkdir()
    (root / "ruleset.yaml").write_text(
        f'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\nrounding: {rounding}\n',
        encoding="utf-8",
    )
    (root / "products.yaml").write_text(products, encoding="utf-8")
    (root / "discounts.yaml").write_text(discounts, encoding="utf-8")
    return load_rules(root)


def _discount(code: str, amount: str, products: str, extra: str = "") -> str:
    return (
        f"kind: discount\ncode: {code}\ntype: auto_apply\nclassification: subscription\n"
        f"applied_service_type: non_usage\nstate: effective\namount: {amount}\n"
        f"discounted_products: [{products}]\nvalidity: {{effective: 2015-01-01}}\n{extra}"
    )


_TV = "kind: product\ncode: tv\nname: TV\ntype: termed\nprice: 1.81 EUR\nbilling_frequency: monthly\n"
_TAKEN_WHOLE = "---\n".join(
    [
        _discount("a-free-10-days", "{type: free_period, value: 10, unit: days}", "{product: tv}"),
        _discount("b-half", "{type: percentage, value: 50, level: 1}", "{product: tv}"),
        _discount("c-5-eur-off", "{type: amount, value: 5.00 EUR}", "{product: tv}"),
    ]
)


def _bill(products: list[dict[str, Any]], start: str = "2015-07-01", **more: Any) -> dict[str, Any]:
    return {
        "id": "bill",
        "as_of": "2015-08-01T00:00:00Z",
        "account": {"code": "A1"},
        "subscription": {
            "code": "S1",
            "billing_frequency": "monthly",
            "start": start,
            "products": products,
            "billing_period": {"from": "2015-07-01", "to": "2015-07-31"},
        },
        **more,
    }


@pytest.mark.parametrize(
    ("rounding", "price", "shares", "gross"),
    [
        ("floor", None, ["0.59", "0.61", "0.61"], "1.81"),
        ("down", None, ["0.59", "0.61", "0.61"], "1.81"),
        ("half_up", None, ["0.59", "0.61", "0.61"], "1.81"),
        ("half_up", "0.253 EUR", ["0.081", "0.086", "0.086"], "0.253"),
        ("floor", "0.253 EUR", ["0.081", "0.086", "0.086"], "0.253"),
    ],
)
def test_a_line_the_discounts_take_whole_bills_nothing(
    tmp_path: Path, rounding: str, price: str | None, shares: list[str], gross: str
) -> None:
    """SPEC 3.2: "no line goes below zero"; README: a line taken whole has its gross as discount,
    "net zero, whatever the rounding mode". 10 free days of July's 31 are 10/31 of the line, no
    finite decimal: the three takes added up a hair under the gross, and rounded down (floor,
    down; and in every mode on a line priced finer than a cent) the line was billed 0.01 EUR
    (0.003 on the finer price), the last discount without its `line_floor` reason."""
    rules = _discount_rules(tmp_path, rounding, _TV, _TAKEN_WHOLE)
    line = {"product": "tv"} if price is None else {"product": "tv", "price": price}
    decided = rules.decide(_bill([line]))["discounts"]
    (only,) = decided["lines"]
    currency_zero = "0.000 EUR" if price else "0.00 EUR"
    assert only["net"] == currency_zero
    assert [d["amount"] for d in only["discounts"]] == [f"-{s} EUR" for s in shares]
    assert sum(Decimal(s) for s in shares) == Decimal(gross)
    last = next(d for d in decided["definitions"] if d["code"] == "c-5-eur-off")
    assert [r["code"] for r in last["reasons"]] == ["line_floor"]


def test_a_cap_exceeded_by_less_than_a_cent_leaves_a_line_in_whole_cents(tmp_path: Path) -> None:
    """SPEC 3.2: rounding to the minor unit "happens once per line", and the cap is a maximum. A
    line priced 14.995 EUR taken whole by a 100 % discount capped at 20.00 EUR left 5.005 of the
    cap to a 10.00 EUR line; rounded there to 5.01 the cap was exceeded by half a cent, which was
    taken back as it was: the whole-cent line was billed 3.995 EUR."""
    products = (
        "kind: product\ncode: pm\nname: pm\ntype: termed\nprice: 1.00 EUR\nbilling_frequency: monthly\n---\n"
        "kind: product\ncode: pm2\nname: pm2\ntype: termed\nprice: 1.00 EUR\nbilling_frequency: monthly\n"
    )
    discounts = "---\n".join(
        [
            _discount(
                "d1-all-capped",
                "{type: percentage, value: 100}",
                "{product: pm}, {product: pm2}",
                "cap: 20.00 EUR\n",
            ),
            _discount("d2-one-euro", "{type: amount, value: 1.00 EUR}", "{product: pm2}"),
        ]
    )
    rules = _discount_rules(tmp_path, "half_up", products, discounts)
    bill = _bill([{"product": "pm", "price": "14.995 EUR"}, {"product": "pm2", "price": "10.00 EUR"}])
    decided = rules.decide(bill)["discounts"]
    finer, whole = decided["lines"]
    assert (finer["net"], whole["net"]) == ("0.000 EUR", "4.00 EUR")
    assert [d["amount"] for d in whole["discounts"]] == ["-5.00 EUR", "-1.00 EUR"]
    capped = next(d for d in decided["definitions"] if d["code"] == "d1-all-capped")
    assert Decimal(capped["amount"].split()[0]) <= Decimal("20.00")


_WINTER = (
    "kind: product\ncode: tv\nname: TV\ntype: termed\nprice: 30.00 EUR\nbilling_frequency: monthly\n",
    "kind: discount\ncode: winter-promo\ntype: auto_apply\nclassification: subscription\n"
    "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 10}\n"
    "discounted_products: [{product: tv}]\nvalidity: {effective: 2016-01-06, expiration: 2016-02-16}\n",
)


@pytest.mark.parametrize("duration", ["{until: 2016-10-04}", "{billing_periods: 12}"])
@pytest.mark.parametrize(
    "history",
    [
        ["2016-02-29", "2016-03-31"],  # partial: February's and March's bills only
        ["2016-02-29", "2016-03-31", "2016-04-30", "2016-05-31", "2016-06-30", "2016-07-31"],
    ],
)
def test_an_auto_apply_discount_added_while_valid_runs_on_with_a_partial_history(
    tmp_path: Path, duration: str, history: list[str]
) -> None:
    """README: an auto-apply discount added while valid runs its duration past its expiration,
    added being "its first bill by the history (the period that bill covered)", validity judged
    on the start of the period billed; and "a history may be partial". Applied on the bill dated
    29 February (February's, whose period began on the 1st, within validity), it was applied on
    August's bill with the full history and `not_effective` "expired on 2016-02-16" with the
    first two entries only."""
    products, discount = _WINTER
    rules = _discount_rules(tmp_path, "half_up", products, discount + f"duration: {duration}\n")
    bill = {
        "id": "aug",
        "as_of": "2016-09-01T10:00:00Z",
        "account": {"code": "A1"},
        "subscription": {
            "code": "S1",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
            "products": [{"product": "tv"}],
            "billing_period": {"from": "2016-08-01", "to": "2016-08-31"},
        },
        "discount_history": [{"discount": "winter-promo", "on": day} for day in history],
    }
    (definition,) = rules.decide(bill)["discounts"]["definitions"]
    assert (definition["status"], definition["amount"]) == ("applied", "3.00 EUR")


# --- a reason's window is its own scenario's, whatever was decided before ---


def test_a_window_in_a_reason_is_the_scenario_s_own_after_another_scenario(tmp_path: Path) -> None:
    """SPEC 4: the same rules and scenario give byte-identical JSON; README: an aggregate with
    `within` "names its `window`". A section of two conditions (`total_quantity: {min, max}`)
    failing alike in two scenarios kept the first one's reasons by the values read, and told
    the second scenario the first one's window."""
    import shutil

    from engine.ruleset import load_rules

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "discounts" / "busy.yaml").write_text(
        "kind: discount\ncode: busy-month\nname: Busy month\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: usage\nstate: effective\namount: {type: percentage, value: 10, level: 1}\n"
        "discounted_products: [{product_type: usage}]\nvalidity: {effective: 2000-01-01}\n"
        "criteria:\n  quantitative:\n    total_quantity: {min: 2, max: 4, per: 1 month}\n",
        encoding="utf-8",
    )

    def bill(day: str) -> dict[str, Any]:
        return {
            "id": f"s-{day}",
            "as_of": f"{day}T12:00:00Z",
            "account": {"code": "A"},
            "subscription": {
                "code": "S",
                "plan": "tv-essentials-24",
                "billing_term_scheme": "monthly-24",
                "start": "2015-01-01",
                "products": [{"product": "tv-essentials", "main": True}, {"product": "vod-rental"}],
            },
            "usage": [{"at": f"{day}T10:00:00Z", "service_type": "VOD"}],
        }

    def window(rules: RuleSet, day: str) -> Any:
        decided = rules.decide(bill(day))["discounts"]["definitions"]
        (busy,) = [d for d in decided if d["code"] == "busy-month"]
        assert busy["status"] == "not_eligible"
        return busy["reasons"][0]["facts"]["window"]

    shared = load_rules(root)
    assert window(shared, "2015-03-31") == {"after": "2015-02-28T12:00:00+00:00", "until": "2015-03-31T12:00:00+00:00"}
    alone = window(load_rules(root), "2015-06-30")
    assert alone == {"after": "2015-05-30T12:00:00+00:00", "until": "2015-06-30T12:00:00+00:00"}
    assert window(shared, "2015-06-30") == alone
    # a negated count names its records' days in its words too (review: only its `window` was set)
    (root / "discounts" / "busy.yaml").write_text(
        (root / "discounts" / "busy.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "  quantitative:\n    total_quantity: {min: 2, max: 4, per: 1 month}\n",
            '  when: not (count(u in usage where u.service_type == "VOD" within 1 month) >= 1)\n',
        ),
        encoding="utf-8",
    )
    shared = load_rules(root)

    def told(rules: RuleSet, day: str) -> Any:
        decided = rules.decide(bill(day))["discounts"]["definitions"]
        (busy,) = [d for d in decided if d["code"] == "busy-month"]
        return busy["reasons"][0]

    told(shared, "2015-03-31")
    assert told(shared, "2015-06-30") == told(load_rules(root), "2015-06-30")
    assert "2015-05-30T12:00:00+00:00" in str(told(shared, "2015-06-30")["facts"])


# --- a tolerance of months or years forgives their longest span ---


@pytest.mark.parametrize(
    ("tolerance", "rested_to", "holds"),
    [
        ("2 months", "2015-08-31", True),  # July and August: 62 days
        ("2 months", "2015-09-01", False),  # 63 days
        ("3 months", "2015-09-30", True),  # July to September: 92 days
        ("3 months", "2015-10-01", False),
        ("1 month", "2015-07-31", True),  # 31 days
        ("1 month", "2015-08-01", False),
    ],
)
def test_a_tolerance_in_months_forgives_the_longest_months(
    tmp_path: Path, tolerance: str, rested_to: str, holds: bool
) -> None:
    """README: `uninterrupted(subscription, 1 month)` "forgives interruptions up to 31 days (a
    month of tolerance is its longest, a year 366 days)". Months were counted from 2000-01-01, so
    two months forgave 60 days (January and February of a leap year), not July and August's 62."""
    rules = _shipped_with_termed_discount(
        tmp_path, "forgive", f"when: uninterrupted(subscription, {tolerance}) >= 6 months"
    )
    after = (date.fromisoformat(rested_to) + timedelta(days=1)).isoformat()
    scenario = {
        "id": "rested",
        "as_of": "2015-12-15T12:00:00Z",
        "subscription": {
            "code": "S",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-24",
            "start": "2015-01-01",
            "status_history": [
                {"status": "active", "from": "2015-01-01", "to": "2015-06-30"},
                {"status": "rested", "from": "2015-07-01", "to": rested_to},
                {"status": "active", "from": after},
            ],
            "products": [{"product": "tv-essentials", "main": True}],
        },
    }
    decided = rules.decide(scenario)["discounts"]["definitions"]
    (forgive,) = [d for d in decided if d["code"] == "forgive"]
    assert forgive["status"] == ("applied" if holds else "not_eligible")


def test_the_longest_span_of_months_and_years() -> None:
    from engine.criteria.environment import tolerance_days
    from engine.values import Duration

    texts = ("1 month", "2 months", "6 months", "1 year", "4 years", "101 years", "9998 years")
    found = {text: tolerance_days(Duration.parse(text)) for text in texts}
    assert found == {
        "1 month": 31,
        "2 months": 62,
        "6 months": 184,
        "1 year": 366,
        "4 years": 1461,
        "101 years": 36891,  # across a century year that is a leap year (1903-03-01 to 2004-03-01)
        "9998 years": (date(9999, 1, 1) - date(1, 1, 1)).days,  # from the calendar's first day
    }


def _shipped_with_termed_discount(tmp_path: Path, code: str, criteria: str) -> RuleSet:
    """The shipped rules and one auto-apply discount `code` of 1 % on termed products, with `criteria`
    (YAML under `criteria:`, indented by two)."""
    import shutil

    from engine.ruleset import load_rules

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "discounts" / f"{code}.yaml").write_text(
        f"kind: discount\ncode: {code}\nname: {code}\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 1, level: 1}\n"
        f"discounted_products: [{{product_type: termed}}]\nvalidity: {{effective: 2000-01-01}}\ncriteria:\n  {criteria}\n",
        encoding="utf-8",
    )
    return load_rules(root)


#: a subscription and its billing term that start a month after the billing date
_STARTS_LATER = {
    "id": "later",
    "as_of": "2015-07-01T12:00:00Z",
    "subscription": {
        "code": "S",
        "plan": "tv-essentials-24",
        "billing_term_scheme": "monthly-24",
        "start": "2015-08-01",
        "billing_term_start": "2015-08-01",
        "products": [{"product": "tv-essentials", "main": True}],
    },
}


# --- time not begun is no time: "0 days (it starts on …)", never a negative count ---


@pytest.mark.parametrize(
    ("criteria", "actual"),
    [
        ("billing_term:\n    effectiveness: {effective_for_at_least: 30 days}", "0 days"),
        ("billing_term:\n    effectiveness: {effective_for_at_least: 2 weeks}", "0 weeks"),
        ("billing_term:\n    effectiveness: {effective_for_at_least: 3 months}", "0 months"),
        ("when: as_of.date - subscription.start >= 30 days", "0 days"),
    ],
)
def test_a_term_that_starts_later_has_had_no_time_yet(tmp_path: Path, criteria: str, actual: str) -> None:
    """README: a billing term that starts later is told as "0 months (it starts on 2015-08-01)";
    in days and weeks it was "-31 days" and "-5 weeks and 4 days"."""
    decided = _shipped_with_termed_discount(tmp_path, "later", criteria).decide(_STARTS_LATER)
    decided = decided["discounts"]["definitions"]
    (later,) = [d for d in decided if d["code"] == "later"]
    (reason,) = later["reasons"]
    assert (reason["facts"]["actual"], reason["facts"]["starts"]) == (actual, "2015-08-01")
    assert f"for {actual} (it starts on 2015-08-01)" in reason["text"]


# --- the earliest cancellation date, past an exception that moves the date by months ---


@pytest.mark.parametrize(
    ("condition", "cancelled", "earliest"),
    [
        ("cancellation.date + 1 month > 2027-02-28", "2027-01-31", "2027-02-01"),
        ("cancellation.date + 1 month > 2027-02-28", "2026-06-01", "2027-02-01"),
        ("cancellation.date - 1 month > 2027-02-28", "2027-03-01", "2027-04-01"),
        ("cancellation.date + 6 months > 2027-02-28", "2026-06-01", "2026-09-01"),
        ("cancellation.date - 13 months > 2027-02-28", "2027-06-01", "2028-04-01"),
        ("2027-02-28 - cancellation.date < 1 month", "2026-06-01", "2027-02-01"),
        ("cancellation.date + 30 days > 2027-02-28", "2026-06-01", "2027-01-30"),  # days: as before
        # a span's `.days` (tried day by day: past 900 days, the commitment's end)
        ("(cancellation.date - subscription.start).days >= 1000", "2026-01-10", "2028-09-27"),
        ("(2029-01-01 - cancellation.date).days < 100", "2026-01-10", "2028-09-24"),
    ],
)
def test_the_earliest_date_past_an_exception_moved_by_months(
    tmp_path: Path, condition: str, cancelled: str, earliest: str
) -> None:
    """SPEC 3.4: `not_allowed` → refused, "with the earliest date it becomes possible". With the
    date moved by months, the turn may lie four days from the date solved (28 to 31 January plus
    a month are all 28 February): the search tried three and named the commitment's end,
    2031-01-01, for a cancellation its own decision allowed on 2027-02-01."""
    from engine.ruleset import load_rules

    term = (
        "\n---\nkind: term\ncode: notice-1m\nname: Notice\nperiod: 5\nunit: years\nbasis: calendar\n"
        f"early_cancellation: not_allowed\nexceptions:\n  - when: {condition}\n    outcome: allowed\n"
        "---\nkind: plan\ncode: repro-plan\nname: Repro\nbundles: [tv-essentials-bundle]\n"
        "validity: {from: 2000-01-01}\nterm: notice-1m\n"
    )
    root = _rules_with(tmp_path, "catalog/terms.yaml", "kind: term", "kind: term")
    with (root / "catalog" / "terms.yaml").open("a", encoding="utf-8") as rules_file:
        rules_file.write(term)
    rules = load_rules(root)

    def decided(day: str) -> dict[str, Any]:
        scenario = {
            "id": "c",
            "as_of": f"{day}T09:00:00+00:00",
            "subscription": {"code": "S1", "plan": "repro-plan", "start": "2026-01-01", "billing_frequency": "monthly"},
            "cancellation": {"date": day},
        }
        found: dict[str, Any] = rules.decide(scenario)["cancellation"]
        return found

    refused = decided(cancelled)
    assert refused["allowed"] is False
    assert refused["earliest"] == earliest
    assert decided(earliest)["allowed"] is True
    before = (date.fromisoformat(earliest) - timedelta(days=1)).isoformat()
    assert decided(before)["allowed"] is False


# --- a purchase at midnight UTC and a credit issued that day tie on issue; the id decides ---


@pytest.mark.parametrize(
    ("bought", "first"),
    [
        ("2020-03-29T00:00:00Z", "P1"),  # the same instant: `P1` < `a-plan` by code point
        ("2020-03-29T01:00:00+01:00", "P1"),  # the same instant, written at +01:00
        ("2020-03-29T00:00:01Z", "a-plan"),  # a second later: the credit was issued earlier
        ("2020-03-28T23:59:59Z", "P1"),
    ],
)
def test_a_purchase_at_midnight_ties_with_a_credit_issued_that_day(tmp_path: Path, bought: str, first: str) -> None:
    """README: "earlier issue (a purchase is issued at the instant it was bought, a credit of the
    rules at the start of its `issued` day, read as UTC …); id". A credit dated 2020-03-29 came
    before a purchase at 2020-03-29T00:00:00Z, "issued earlier", the two instants being equal."""
    from engine.ruleset import load_rules

    root = tmp_path / "rules"
    root.mkdir()
    (root / "ruleset.yaml").write_text(
        'kind: rule_set\ncode: t\nname: T\nversion: "1"\ndefault_currency: EUR\n'
        "credit_precedence: [allocation, expiry, tree_distance, issue_date, id]\n",
        encoding="utf-8",
    )
    (root / "credits.yaml").write_text(
        "kind: organisation\ncode: A\nname: A\n---\n"
        "kind: credit_type\ncode: mail\nname: mail\nservice: e-mail\nmeasure: amount\n---\n"
        "kind: user\ncode: john\nname: john\norganisation: A\n---\n"
        "kind: credit\ncode: a-plan\nname: plan credit\ntype: mail\nquantity: 5\nholder: A\n"
        "allocation: this_organisation\nissued: 2020-03-29\n",
        encoding="utf-8",
    )
    scenario = {
        "id": "midnight",
        "as_of": "2020-04-01T00:00:00Z",
        "credit_purchases": [{"id": "P1", "user": "john", "credit_type": "mail", "quantity": 5, "at": bought}],
        "consumptions": [
            {"id": "q1", "user": "john", "credit_type": "mail", "quantity": 1, "at": "2020-03-30T10:00:00Z"}
        ],
    }
    (allocation,) = load_rules(root).decide(scenario)["credits"]["allocations"]
    assert allocation["credit"] == first


# --- a status history written as transitions: an open period ends where the next one starts ---


@pytest.mark.parametrize(
    ("history", "since"),
    [
        # transitions: rested nine days (forgiven by 30 days), then active again
        (
            [("active", "2015-01-01", None), ("rested", "2015-03-01", None), ("active", "2015-03-10", None)],
            "2015-01-01",
        ),
        # transitions out of order in the list: the same history
        (
            [("active", "2015-03-10", None), ("rested", "2015-03-01", None), ("active", "2015-01-01", None)],
            "2015-01-01",
        ),
        # rested 40 days by transitions: not forgiven, uninterrupted since the day after
        (
            [("active", "2015-01-01", None), ("rested", "2015-03-01", None), ("active", "2015-04-10", None)],
            "2015-04-10",
        ),
        # written with its end: as before
        ([("active", "2015-01-01", None), ("rested", "2015-03-01", "2015-04-09")], "2015-04-10"),
    ],
)
def test_a_status_history_of_transitions_ends_each_open_period_at_the_next(
    history: list[tuple[str, str, str | None]], since: str
) -> None:
    """Seed 002: maturity with a maximum interruption; the scenario schema: `to` "ongoing when
    omitted". A history written as transitions (rested from 1 March, active from 10 March) was
    read as a rest still going on in December, "interrupted since 2015-03-01: 276 days so far"."""
    from engine.criteria import ast
    from engine.criteria.ast import Span
    from engine.criteria.check import check_condition
    from engine.criteria.compile import RuleSetCompiler
    from engine.criteria.environment import scenario_environment
    from engine.criteria.explain import Explainer
    from engine.criteria.parse import parse
    from engine.models.scenario import Scenario

    env = scenario_environment()
    periods = [{"status": s, "from": f, **({"to": t} if t else {})} for s, f, t in history]
    scenario = Scenario.model_validate(
        {
            "id": "h",
            "as_of": "2015-12-01T12:00:00Z",
            "subscription": {"code": "S", "start": "2015-01-01", "status_history": periods},
        }
    )
    text = "uninterrupted(subscription, 30 days) >= 6 months"
    node = check_condition(parse(text, lambda b, e: Span("t", 1, b + 1, e + 1)), env)
    assert isinstance(node, ast.Compare)
    assert str(Explainer(env, scenario).value(node.left, {}).start) == since
    compiler = RuleSetCompiler(env)
    compiler.add(node)
    assert compiler.build().function(scenario)[0] is (date.fromisoformat(since) <= date(2015, 6, 1))


# --- a `.json` scenario is decided on JSON's values, whatever YAML would make of the text ---


def _sample_json(**changes: Any) -> dict[str, Any]:
    from engine.load import load_file

    data = load_file(REPO / "samples" / "balance" / "seed_004_example.yaml").documents[0].data
    data.pop("expect", None)
    data.update(changes)
    found: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return found


@pytest.mark.parametrize(
    ("text", "decided_id"),
    [
        (lambda d: json.dumps(d, ensure_ascii=False), "a\x85b"),  # a raw NEL: a line break to YAML
        (lambda d: "\t" + json.dumps(d), "a\x85b"),  # a tab before the brace: YAML refused it
        (lambda d: json.dumps(d, indent="\t") + "\n\t\n", "a\x85b"),  # a last line of a tab
        (lambda d: json.dumps(d, ensure_ascii=False).replace("a\x85b", "a\x7fb"), "a\x7fb"),  # raw DEL
    ],
)
def test_a_json_file_is_decided_on_json_s_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: Any, decided_id: str
) -> None:
    """README: a `.json` file is strict JSON, read as `run` reads the same JSON. Through the YAML
    loader a raw NEL in a text became a space (the scenario decided on other values than its line
    gets), and a tab before the first brace or a raw DEL were refused with YAML's words."""
    path = tmp_path / "s.json"
    path.write_text(text(_sample_json(id="a\x85b")), encoding="utf-8")
    assert main(["decide", "--rules", RULES, "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"] == decided_id


def test_a_json_file_with_a_document_that_is_not_a_mapping_is_not_read_as_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `.json` file of `0`, `---` and a YAML mapping: the mapping was decided from text that
    is not JSON (the strict check ran only when the loader had said nothing)."""
    path = tmp_path / "s.json"
    path.write_text('0\n---\n{id: sneaky, as_of: "2015-09-30T18:00:00Z"}\n', encoding="utf-8")
    assert main(["decide", "--rules", RULES, "--json", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "s.json:2:1: error[BR601] the file is not JSON: " in captured.err


@pytest.mark.parametrize("command", ["decide", "validate"])
def test_a_json_lines_file_named_in_capitals_is_read_as_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`run` and `diff` read `x.JSONL` as JSON Lines; `decide`, `validate --scenarios` and `test`
    read it as YAML (three good lines: "expected '<document start>'")."""
    line = json.dumps(_sample_json())
    path = tmp_path / "three.JSONL"
    path.write_text(
        "\n".join([line, line.replace("balance-seed-004", "b2"), line.replace("balance-seed-004", "b3")]) + "\n"
    )
    argv = (
        ["decide", "--rules", RULES, str(path)]
        if command == "decide"
        else ["validate", "--rules", RULES, "--scenarios", str(path)]
    )
    assert main(argv) == 0, capsys.readouterr()


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_validate_refuses_a_json_lines_file_without_a_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """`decide` says "the file holds no scenario" and `run` exits 1; `validate --scenarios` passed
    it in silence."""
    path = tmp_path / "empty.jsonl"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", "--rules", RULES, "--scenarios", str(path)]) == 1
    assert "empty.jsonl:1:1: error[BR601] the file holds no scenario" in capsys.readouterr().out


def test_the_period_holding_an_application_is_counted_from_the_period_billed(tmp_path: Path) -> None:
    """Periods of 29 August to 28 September: the one holding an application of 31 January began
    on 29 January, within a validity to 30 January. Stepped back one period at a time, the
    periods drifted to month ends (29 February, 31 January) and the discount was "expired"."""
    products, discount = _WINTER
    discount = discount.replace(
        "validity: {effective: 2016-01-06, expiration: 2016-02-16}",
        "validity: {effective: 2015-06-01, expiration: 2016-01-30}",
    )
    rules = _discount_rules(tmp_path, "half_up", products, discount + "duration: {billing_periods: 12}\n")
    bill = {
        "id": "aug",
        "as_of": "2016-09-01T10:00:00Z",
        "account": {"code": "A1"},
        "subscription": {
            "code": "S1",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
            "products": [{"product": "tv"}],
            "billing_period": {"from": "2016-08-29", "to": "2016-09-28"},
        },
        "discount_history": [{"discount": "winter-promo", "on": "2016-01-31"}],
    }
    (definition,) = rules.decide(bill)["discounts"]["definitions"]
    assert (definition["status"], definition["amount"]) == ("applied", "3.00 EUR")


def test_a_span_not_begun_compared_for_equality_is_told_as_compared(tmp_path: Path) -> None:
    """`… == 0 days` does not hold for a term starting a month later (its span is -31 days):
    told "for 0 days …; the rule needs 0 days" it contradicted itself (review)."""
    rules = _shipped_with_termed_discount(
        tmp_path, "later", "when: as_of.date - subscription.billing_term_start == 0 days"
    )
    decided = rules.decide(_STARTS_LATER)["discounts"]["definitions"]
    (later,) = [d for d in decided if d["code"] == "later"]
    assert later["status"] == "not_eligible"
    assert later["reasons"][0]["facts"]["actual"] == "-31 days"


# --- a refused purchase rejects a code that grants nothing, as an allowed one does ---


@pytest.mark.parametrize(("method", "allowed"), [("card", True), ("paypal", False)])
def test_a_code_granting_nothing_is_rejected_whether_or_not_the_purchase_is_allowed(method: str, allowed: bool) -> None:
    """README: a code whose every discount the pricing settles as taking nothing (a history shows
    its run spent) is rejected and kept, `coupon_grants_nothing`; "a refused purchase redeems
    nothing: a code it would have redeemed is `not_redeemed`". Refused (PayPal is not a method of
    the plan), the code came out `not_redeemed`, "the price shows what its bundle would give",
    its spent discount listed in the purchase's discounts."""
    from engine.ruleset import load_rules

    scenario = {
        "id": "spent",
        "as_of": "2015-07-10T14:30:00+02:00",
        "subscription": {
            "code": "SUB-1201",
            "plan": "tv-essentials-24",
            "start": "2015-02-01",
            "billing_frequency": "monthly",
        },
        "discount_history": [{"discount": "coupon-minus-20", "on": "2015-06-15"}],
        "purchase": {"add_ons": ["additional-service-bundle"], "coupons": ["coupon_87"], "payment_method": method},
    }
    purchase = load_rules(RULES).decide(scenario)["purchase"]
    assert purchase["allowed"] is allowed
    (coupon,) = purchase["coupons"]
    assert (coupon["status"], [r["code"] for r in coupon["reasons"]]) == ("rejected", ["coupon_grants_nothing"])
    assert purchase["discounts"] == []


def test_a_second_document_without_its_separator_is_told_in_words(tmp_path: Path) -> None:
    """libyaml names the token it found as a Python tuple: "expected '<document start>', but
    found ('{',)", with the hint "check indentation, quotes and brackets"."""
    from engine.load import load_file

    path = tmp_path / "two.yaml"
    path.write_text('{"id": "x"}\n{"id": "y"}\n', encoding="utf-8")
    (found,) = load_file(path).diagnostics
    assert (found.code, found.line, found.column) == ("BR104", 2, 1)
    assert found.message == "YAML syntax error: expected '<document start>', but found '{'"
    assert found.hint == "start each further document with a line `---`"


def test_a_scenario_file_named_twice_is_checked_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`billrules test` tests a file named twice once; `validate --scenarios f f` told its problem
    twice ("2 problems in 1 file")."""
    path = tmp_path / "one.jsonl"
    path.write_text('{"id": "x"}\n', encoding="utf-8")
    folder = str(tmp_path)
    assert main(["validate", "--rules", RULES, "--scenarios", str(path), str(path), folder]) == 1
    out = capsys.readouterr().out
    assert out.count("error[BR602] scenario field `as_of` is required") == 1
    assert out.rstrip().endswith("1 problem in 1 file")
