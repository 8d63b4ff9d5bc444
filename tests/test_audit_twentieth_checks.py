"""Findings of the twentieth session's audit of the semantic checks (2026-12-03): each reduced to
an edit of the shipped rules with the diagnostic (or the silence) SPEC and README require."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagnostics import Diagnostic, did_you_mean, typo_distance
from engine.validate import validate_paths
from tests.test_money_checks import edit, found, rules

REPO = Path(__file__).resolve().parent.parent
__all__ = ["rules"]  # the fixture, shared (tests of later sessions import it from here)


def underlined(diagnostic: Diagnostic, rules: Path) -> str:
    """The text a diagnostic's caret underlines."""
    path = Path(diagnostic.file)
    path = path if path.is_absolute() else Path.cwd() / path
    line = path.read_text(encoding="utf-8").splitlines()[diagnostic.line - 1]
    return line[diagnostic.column - 1 : diagnostic.end_column - 1]


# --- BR408 on the typed condition ------------------------------------------------------------------

_ANY_WHEN = "  when: uninterrupted(subscription, 14 days) >= 12 months\n"


def _retention_when(rules: Path, when: str) -> None:
    """`when` as the ad hoc `retention-offer`'s whole condition (a YAML block, as written)."""
    path = rules / "discounts" / "customer_care.yaml"
    text = path.read_text(encoding="utf-8").replace(_ANY_WHEN, "")
    at = text.index("criteria:", text.index("code: retention-offer"))
    block = f"criteria:\n  when: >-\n    {when}\n"
    path.write_text(text[:at] + block + text[at + len("criteria:\n") :], encoding="utf-8")


@pytest.mark.parametrize(
    ("when", "named"),
    [
        # the other order (was accepted), each quote
        ('"monthly-24" == subscription.billing_term_scheme', ["monthly-24"]),
        ("'monthly-24' == subscription.billing_term_scheme", ["monthly-24"]),
        ('subscription.billing_term_scheme == "monthly-24"', ["monthly-24"]),
        ('subscription.billing_term_scheme in {"monthly-flex", "monthly-24"}', ["monthly-24"]),
        ('{"monthly-24"} contains subscription.billing_term_scheme', ["monthly-24"]),
        # excluded, not named (the first two were refused)
        ('not subscription.billing_term_scheme == "monthly-24"', []),
        ('not (subscription.billing_term_scheme in {"monthly-24", "yearly-12"})', []),
        ('subscription.billing_term_scheme != "monthly-24"', []),
        ('"monthly-24" != subscription.billing_term_scheme', []),
        ('subscription.billing_term_scheme not in {"monthly-24"}', []),
        # `not (p and x == a)` is `not p or x != a`: it excludes `a`
        ('not (subscription.billing_frequency == "monthly" and subscription.billing_term_scheme == "monthly-24")', []),
        # a `not` of an exclusion names it
        ('not (subscription.billing_term_scheme != "monthly-24")', ["monthly-24"]),
        ('not not subscription.billing_term_scheme == "monthly-24"', ["monthly-24"]),
        # named among other conditions
        (
            'subscription.billing_term_scheme == "monthly-flex" or subscription.billing_term_scheme == "monthly-24"',
            ["monthly-24"],
        ),
        ('any p in subscription.products where subscription.billing_term_scheme == "monthly-24"', ["monthly-24"]),
        ('not (any p in subscription.products where subscription.billing_term_scheme == "monthly-24")', []),
        # where the truth of the whole cannot be told from the comparison's: named
        ('count(subscription.products where subscription.billing_term_scheme == "monthly-24") == 0', ["monthly-24"]),
        # a flexible scheme is fine
        ('subscription.billing_term_scheme == "monthly-flex"', []),
    ],
)
def test_br408_reads_the_typed_condition_and_points_at_the_scheme(
    rules: Path, when: str, named: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(rules)
    _retention_when(rules, when)
    diagnostics = validate_paths([Path(".")])
    assert [d.code for d in diagnostics] == ["BR408"] * len(named), diagnostics
    for diagnostic, scheme in zip(diagnostics, named, strict=True):
        assert underlined(diagnostic, rules) in (f'"{scheme}"', f"'{scheme}'")
        assert diagnostic.message.startswith(f"billing term scheme `{scheme}` does not offer flexible pricing")
        assert diagnostic.hint == f"set `flexible_pricing: true` on `{scheme}` or leave it out of `when`"


def test_br408_in_when_is_for_ad_hoc_discounts_only(rules: Path) -> None:
    _retention_when(rules, '"monthly-24" == subscription.billing_term_scheme')
    assert [d.code for d in found(rules)] == ["BR408"]
    path = rules / "discounts" / "customer_care.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("code: retention-offer")
    end = text.index("\n---", start)
    block = text[start:end]
    assert "type: ad_hoc" in block
    path.write_text(text[:start] + block.replace("type: ad_hoc", "type: auto_apply") + text[end:], encoding="utf-8")
    assert "BR408" not in [d.code for d in found(rules)]


# --- BR415: terms reached by renewal ---------------------------------------------------------------

_ROLLING_USD = """---
kind: term
code: rolling-usd
name: Rolling 1-year term (USD fee)
period: 1
unit: years
basis: calendar
early_cancellation: penalty
penalty:
  fee: 60.00 USD
  pro_rata: true
renewal_term: rolling-usd
"""


def test_a_fee_on_a_term_reached_only_by_renewal_is_checked_against_the_carriers_products(rules: Path) -> None:
    """`commit-24m` (carried by EUR plans) renews into a USD-fee term: a EUR subscription was
    charged `40.11 USD` on cancellation after the renewal. The renewal loops on itself."""
    terms = rules / "catalog" / "terms.yaml"
    edit(terms, "renewal_term: commit-12m", "renewal_term: rolling-usd")
    terms.write_text(terms.read_text(encoding="utf-8") + _ROLLING_USD, encoding="utf-8")
    (diagnostic,) = found(rules)
    assert diagnostic.code == "BR415" and diagnostic.file.endswith("terms.yaml")
    assert underlined(diagnostic, rules) == "60.00 USD"
    assert diagnostic.message.startswith(
        "the fee 60.00 USD is in USD, but the products that come under this term when `commit-24m` renews "
        "into it are priced in EUR ("
    )
    assert diagnostic.hint == "write the fee in EUR"


def test_a_carrier_whose_term_renews_into_a_fee_in_another_currency(rules: Path) -> None:
    """The USD term is carried directly by the USD add-on, so the term is right for it: the EUR
    plans whose term renews into it are reported, at their `term`."""
    terms = rules / "catalog" / "terms.yaml"
    edit(terms, "renewal_term: commit-12m", "renewal_term: rolling-usd")
    terms.write_text(terms.read_text(encoding="utf-8") + _ROLLING_USD, encoding="utf-8")
    bundles = rules / "catalog" / "bundles.yaml"
    edit(
        bundles,
        "  - product: additional-service\nterm: no-commitment",
        "  - product: additional-service\nterm: rolling-usd",
    )
    diagnostics = found(rules)
    assert diagnostics and {d.code for d in diagnostics} == {"BR415"}
    assert all(d.file.endswith(("plans.yaml", "bundles.yaml")) for d in diagnostics)
    first = next(d for d in diagnostics if "`tv-essentials-24`" in d.message)
    assert first.message == (
        "plan `tv-essentials-24` is priced in EUR, but its term `commit-24m` renews into `rolling-usd`, "
        "which charges 60.00 USD"
    )
    assert underlined(first, rules) == "commit-24m"


def test_a_renewal_into_a_fee_of_the_same_currency_passes(rules: Path) -> None:
    terms = rules / "catalog" / "terms.yaml"
    edit(terms, "renewal_term: commit-12m", "renewal_term: rolling-usd")
    terms.write_text(
        terms.read_text(encoding="utf-8") + _ROLLING_USD.replace("60.00 USD", "60.00 EUR"), encoding="utf-8"
    )
    assert found(rules) == []


# --- BR413: ranges in credit criteria --------------------------------------------------------------

_LYON_WHEN = "  when: consumption.at.weekday in {monday, tuesday, wednesday, thursday, friday}"


@pytest.mark.parametrize(
    ("section", "message", "at"),
    [
        ("  quantity: {min: 5, max: 1}", "`quantity` from 5 to 1: no consumption can meet it", "1"),
        (
            "  execution_dates: {from: 2015-12-31, to: 2015-01-01}",
            "execution dates that end before they start: no consumption can meet it",
            "2015-01-01",
        ),
    ],
)
def test_a_credit_s_criteria_range_no_consumption_can_meet(rules: Path, section: str, message: str, at: str) -> None:
    edit(rules / "credits" / "credits.yaml", _LYON_WHEN, section)
    (diagnostic,) = found(rules)
    assert (diagnostic.code, diagnostic.message) == ("BR413", message)
    assert underlined(diagnostic, rules) == at


def test_a_credit_type_s_criteria_ranges_no_consumption_can_meet(rules: Path) -> None:
    path = rules / "credits" / "credit_types.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").rstrip("\n")
        + "\ncriteria:\n  execution_dates: {from: 2015-12-31T00:00:00Z, to: 2015-01-01T00:00:00Z}\n"
        "  quantity: {min: 100, max: 10}\n",
        encoding="utf-8",
    )
    assert [(d.code, d.message) for d in found(rules)] == [
        ("BR413", "execution dates that end before they start: no consumption can meet it"),
        ("BR413", "`quantity` from 100 to 10: no consumption can meet it"),
    ]


def test_credit_ranges_that_can_be_met_pass(rules: Path) -> None:
    edit(
        rules / "credits" / "credits.yaml",
        _LYON_WHEN,
        "  quantity: {min: 1, max: 1}\n  execution_dates: {from: 2015-12-31, to: 2015-12-31}",
    )
    assert found(rules) == []


# --- BR402, BR417, BR407 ---------------------------------------------------------------------------


def test_termed_services_are_termed_products(rules: Path) -> None:
    edit(
        rules / "discounts" / "usage.yaml",
        "termed_services: [tv-essentials, tv-premium, tv-essentials-annual]",
        "termed_services: [tv-essentials, vod-rental, set-top-box, installation-fee]",
    )
    assert [(d.code, d.message, underlined(d, rules)) for d in found(rules)] == [
        (
            "BR402",
            f"product `{code}` is of type `{kind}`; only termed products may be listed as termed services",
            code,
        )
        for code, kind in (("vod-rental", "usage"), ("set-top-box", "one_time"), ("installation-fee", "expense"))
    ]


def test_a_product_type_within_a_bundle_that_has_none_of_it(rules: Path) -> None:
    path = rules / "discounts" / "promotions.yaml"
    edit(
        path,
        "  - product: kids-pack\n    bundle: entertainment-pick",
        "  - product_type: expense\n    bundle: entertainment-pick",
    )
    edit(
        path,
        "    - product: movies-pack\n      bundle: entertainment-pick",
        "    - product_type: expense\n      bundle: entertainment-pick",
    )
    diagnostics = found(rules)
    assert [(d.code, d.message, underlined(d, rules)) for d in diagnostics] == [
        ("BR417", "bundle `entertainment-pick` has no component of type `expense`", "entertainment-pick")
    ] * 2
    assert diagnostics[0].hint == "add a product of that type to the bundle or name the bundle that contains one"


def test_a_product_type_within_a_bundle_that_has_one_passes(rules: Path) -> None:
    path = rules / "discounts" / "promotions.yaml"
    edit(
        path,
        "  - product: kids-pack\n    bundle: entertainment-pick",
        "  - product_type: termed\n    bundle: entertainment-pick",
    )
    assert found(rules) == []


def test_compatible_bundles_only_with_only_the_plan_s_own_bundles(rules: Path) -> None:
    """A holder of the plan holds its own bundles: bought as add-ons they are refused
    (`add_on_already_held`), so no add-on could ever be bought."""
    edit(
        rules / "catalog" / "plans.yaml",
        "compatible_bundles:\n  - sports-bundle\n  - entertainment-pick\n  - multiroom-bundle\n"
        "  - additional-service-bundle\ncompatible_bundles_only: true",
        "compatible_bundles: [tv-premium-bundle, on-demand-bundle]\ncompatible_bundles_only: true",
    )
    (diagnostic,) = found(rules)
    assert diagnostic.code == "BR407"
    assert diagnostic.message == (
        "`compatible_bundles_only` is true but `compatible_bundles` lists only the plan's own bundles "
        "(`tv-premium-bundle`, `on-demand-bundle`), which come with the plan and are never bought as add-ons"
    )
    assert underlined(diagnostic, rules) == "true"


# --- hints and an empty tax ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["users", "units"])
def test_no_far_fetched_did_you_mean_for_a_credit_criteria_key(rules: Path, key: str) -> None:
    edit(rules / "credits" / "credits.yaml", _LYON_WHEN, f"  {key}: [customer-care]")
    (diagnostic,) = found(rules)
    assert diagnostic.code == "BR201"
    assert diagnostic.hint == (
        "allowed here: services, products, organisations, execution_days, execution_dates, quantity, when"
    )


def test_a_close_misspelling_is_still_suggested(rules: Path) -> None:
    edit(rules / "credits" / "credits.yaml", _LYON_WHEN, "  quantiy: {min: 1}")
    (diagnostic,) = found(rules)
    assert (diagnostic.code, diagnostic.hint) == ("BR201", "did you mean `quantity`?")


def test_did_you_mean_needs_a_close_candidate() -> None:
    assert did_you_mean("users", ["services", "quantity"]) == ""
    assert did_you_mean("units", ["quantity", "services"]) == ""
    for typo, meant in (("pirce", "price"), ("nmae", "name"), ("EUX", "EUR"), ("tv-premuim", "tv-premium")):
        assert did_you_mean(typo, [meant, "something-else"]) == f"did you mean `{meant}`?"
    # a closer candidate that difflib ranks lower is still found
    assert did_you_mean("montly", ["monthly", "mostly-on"]) == "did you mean `monthly`?"
    assert [typo_distance(*pair) for pair in (("ab", "ba"), ("kitten", "sitting"), ("", "abc"))] == [1, 3, 3]


@pytest.mark.parametrize(("rounding", "shown"), [("half_up", "50.01 EUR"), ("half_even", "50.00 EUR")])
def test_the_br422_hint_rounds_as_the_rule_set(rules: Path, rounding: str, shown: str) -> None:
    edit(rules / "ruleset.yaml", "rounding: half_up", f"rounding: {rounding}")
    edit(rules / "catalog" / "terms.yaml", "  fee: 100.00 EUR", "  fee: 50.005 EUR")
    (diagnostic,) = found(rules)
    assert diagnostic.code == "BR422"
    assert diagnostic.hint.startswith(f"write it to the EUR minor unit, e.g. `{shown}`")


def test_an_empty_penalty_tax(rules: Path) -> None:
    edit(rules / "catalog" / "terms.yaml", "  tax:\n    code: DE-VAT-STD", "  tax: {}")
    (diagnostic,) = found(rules)
    assert (diagnostic.code, diagnostic.message, diagnostic.hint) == (
        "BR206",
        "`penalty.tax` is an empty section: it names neither a rate nor a code, so no tax would be charged",
        "give the tax's `rate` (or its `code`, for the tax provider), or remove the key",
    )
    assert underlined(diagnostic, rules) == "{}"
