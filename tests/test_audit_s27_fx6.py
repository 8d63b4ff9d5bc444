"""Renewal paths and loops named in full once (s27 fx6), as BR303's reference cycles: a plan or
bundle whose term renews into a long loop of terms charging in another currency got one BR415 per
such term, each naming its whole path (a loop of 3,000 terms: 45 MB of text for the 1,000
diagnostics shown), and each zero-period term of a renewal loop a BR410 naming the whole loop (a
loop of 1,000: 14 MB). A path or loop of up to 10 renewals is told as before; a longer one is
named in full once, and the other diagnostics name their own renewal, the length and where the
full listing is."""

from __future__ import annotations

from pathlib import Path

from engine.diagnostics import Diagnostic
from tests.test_money_checks import found, rules

__all__ = ["rules"]  # the fixture

FEE_HINT = "give it a term whose fee is in its currency, renewing into terms whose fees are too"
LOOP_HINT = "give the commitment a length greater than zero; a renewal would otherwise never end"


def _term(code: str, fee: str, renewal: str, period: int = 1) -> str:
    return (
        f"kind: term\ncode: {code}\nname: T {code}\nperiod: {period}\nunit: days\nbasis: calendar\n"
        f"early_cancellation: penalty\npenalty:\n  fee: {fee}\nrenewal_term: {renewal}\n"
    )


def _plan(code: str, term: str) -> str:
    return (
        f"kind: plan\ncode: {code}\nname: P {code}\nbundles: [tv-essentials-bundle]\n"
        f"validity: {{from: 2015-01-01}}\nterm: {term}\npayment_methods: [card]\n"
    )


def _usd_bundle(code: str, term: str) -> str:
    """A bundle of the shipped USD add-on (`additional-service`, 10.00 USD)."""
    return (
        f"kind: bundle\ncode: {code}\nname: U {code}\nvalidity: {{from: 2015-01-01}}\nproducts:\n"
        f"  - product: additional-service\nterm: {term}\n"
    )


def _add(root: Path, documents: list[str]) -> None:
    (root / "catalog" / "generated.yaml").write_text("---\n".join(documents), encoding="utf-8")


def _fee_loop(rules: Path, size: int) -> list[Diagnostic]:
    """A loop lp-00 → lp-01 → … → lp-00 whose every third term (lp-02, lp-05, …) charges USD, the
    others EUR, a EUR plan and a USD bundle carrying lp-00: BR415 at the plan for each USD term
    (and at the bundle for each EUR one)."""
    codes = [f"lp-{i:02d}" for i in range(size)]
    documents = [
        _term(code, "10.00 USD" if i % 3 == 2 else "10.00 EUR", codes[(i + 1) % size]) for i, code in enumerate(codes)
    ]
    _add(rules, [*documents, _plan("loop-plan", "lp-00"), _usd_bundle("loop-usd-bundle", "lp-00")])
    return [d for d in found(rules) if d.code == "BR415"]


def _path(last: int) -> str:
    return ", then ".join(f"`lp-{i:02d}`" for i in range(1, last + 1))


def test_a_carriers_path_of_up_to_10_renewals_is_named_in_each_of_its_br415(rules: Path) -> None:
    """A loop of 11 terms: the farthest USD term, lp-08, is 8 renewals on; with lp-03 and lp-10
    in USD instead, lp-10 is 10 renewals on: each path is still named in full."""
    at_plan = [d for d in _fee_loop(rules, 11) if d.message.startswith("plan")]
    assert [(d.message, d.hint) for d in at_plan] == [
        (
            f"plan `loop-plan` is priced in EUR, but its term `lp-00` renews into {_path(last)}, which charges "
            "10.00 USD",
            FEE_HINT,
        )
        for last in (8, 5, 2)  # (in the order of their text)
    ]
    codes = [f"lp-{i:02d}" for i in range(11)]
    documents = [
        _term(code, "10.00 USD" if i in (3, 10) else "10.00 EUR", codes[(i + 1) % 11]) for i, code in enumerate(codes)
    ]
    _add(rules, [*documents, _plan("loop-plan", "lp-00"), _usd_bundle("loop-usd-bundle", "lp-00")])
    assert [d.message for d in found(rules) if d.message.startswith("plan")] == [
        f"plan `loop-plan` is priced in EUR, but its term `lp-00` renews into {_path(last)}, which charges 10.00 USD"
        for last in (10, 3)  # (in the order of their text)
    ]


def test_a_carriers_path_of_30_renewals_is_named_in_full_once(rules: Path) -> None:
    """A loop of 30 terms, USD at lp-02, lp-05, …, lp-29: the path to lp-29 is named in full once;
    each other BR415 names the renewal into its term, its number and the path's length."""
    everything = _fee_loop(rules, 30)
    diagnostics = [d for d in everything if d.message.startswith("plan")]
    assert len(diagnostics) == 10
    assert len({(d.file, d.line, d.column) for d in diagnostics}) == 1  # (all at the plan's `term`)
    full = [d for d in diagnostics if ", then " in d.message]
    assert [d.message for d in full] == [
        f"plan `loop-plan` is priced in EUR, but its term `lp-00` renews into {_path(29)}, which charges 10.00 USD"
    ]
    assert sorted((d.message, d.hint) for d in diagnostics if d not in full) == [
        (
            f"plan `loop-plan` is priced in EUR, but its term `lp-00` renews into `lp-{i:02d}`, which charges "
            f"10.00 USD (`lp-{i - 1:02d}` → `lp-{i:02d}` is renewal {i} of the 29 named in full in this plan's "
            "BR415 for `lp-29`)",
            FEE_HINT,
        )
        for i in range(2, 29, 3)
    ]
    at_bundle = [d for d in everything if d.message.startswith("bundle")]  # its 20 EUR terms, to lp-28
    assert len(at_bundle) == 20
    assert [d.message.count(", then ") for d in at_bundle if ", then " in d.message] == [27]
    assert sum("of the 28 named in full in this bundle's BR415 for `lp-28`" in d.message for d in at_bundle) == 18


def _zero_loop(rules: Path, size: int, zero: set[int]) -> list[Diagnostic]:
    """A loop zl-00 → zl-01 → … → zl-00 whose terms of `zero` have a zero period: BR410 at each."""
    codes = [f"zl-{i:02d}" for i in range(size)]
    documents = [_term(code, "10.00 EUR", codes[(i + 1) % size], 0 if i in zero else 1) for i, code in enumerate(codes)]
    _add(rules, documents)
    return [d for d in found(rules) if d.code == "BR410"]


def test_a_renewal_loop_of_up_to_10_terms_is_named_at_each_zero_period_term(rules: Path) -> None:
    diagnostics = _zero_loop(rules, 10, set(range(10)))
    assert [(d.message, d.hint) for d in diagnostics] == [
        (
            f"term `zl-{i:02d}` has a zero commitment period and it renews in a loop "
            f"({' → '.join(f'zl-{(i + k) % 10:02d}' for k in range(11))})",
            LOOP_HINT,
        )
        for i in range(10)
    ]


def test_a_renewal_loop_of_30_terms_is_named_in_full_once(rules: Path) -> None:
    """Every term of a 30-term loop of zero period: the loop is named in full at zl-00 (the
    smallest code), and each other BR410 names its term's own link, the loop's length and where
    it is named in full."""
    diagnostics = _zero_loop(rules, 30, set(range(30)))
    assert len(diagnostics) == 30
    full = [d for d in diagnostics if "(zl-" in d.message]
    assert [(d.message, d.hint) for d in full] == [
        (
            "term `zl-00` has a zero commitment period and it renews in a loop "
            f"({' → '.join(f'zl-{k % 30:02d}' for k in range(31))})",
            LOOP_HINT,
        )
    ]
    where = f"{full[0].file}:{full[0].line}:{full[0].column}"
    assert [(d.message, d.hint) for d in diagnostics if d not in full] == [
        (
            f"term `zl-{i:02d}` has a zero commitment period and it renews in a loop: `zl-{i:02d}` → "
            f"`zl-{(i + 1) % 30:02d}` is one of the 30 links of the loop through `zl-00` (named in full at {where})",
            LOOP_HINT,
        )
        for i in range(1, 30)
    ]


def test_a_long_loop_is_named_in_full_at_its_first_zero_period_term(rules: Path) -> None:
    """Only zl-07, zl-12 and zl-25 of a 30-term loop have a zero period: it is named in full at
    zl-07 (its own term zl-00 has no BR410), starting there, and the other two point to it."""
    diagnostics = _zero_loop(rules, 30, {7, 12, 25})
    assert diagnostics[0].message == (
        "term `zl-07` has a zero commitment period and it renews in a loop "
        f"({' → '.join(f'zl-{(7 + k) % 30:02d}' for k in range(31))})"
    )
    where = f"{diagnostics[0].file}:{diagnostics[0].line}:{diagnostics[0].column}"
    assert [d.message for d in diagnostics][1:] == [
        f"term `zl-{i}` has a zero commitment period and it renews in a loop: `zl-{i}` → `zl-{i + 1}` is one of "
        f"the 30 links of the loop through `zl-07` (named in full at {where})"
        for i in (12, 25)
    ]
