"""BR415 along renewal chains without quadratic work (s27 fx1): a renewal loop of N terms stored N
chains of N terms (`engine.money_checks._renewal_chains`), and every plan or bundle walked the whole
chain of its term: 10,000 terms in one loop took 27 s and 912 MiB to validate, 10,000 plans each
carrying a term of such a loop 167 s and 1 GiB. The diagnostics are unchanged (byte-identical on the shipped
rules and generated loops, chains and shared tails): these tests pin them, and count the work."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine import money_checks
from engine.pipeline import compile_ruleset
from tests.test_money_checks import found, rules

__all__ = ["rules"]  # the fixture


def _term(code: str, fee: str | None, renewal: str | None) -> str:
    penalty = f"early_cancellation: penalty\npenalty:\n  fee: {fee}\n" if fee else "early_cancellation: not_allowed\n"
    renews = f"renewal_term: {renewal}\n" if renewal else ""
    return f"kind: term\ncode: {code}\nname: T {code}\nperiod: 1\nunit: days\nbasis: calendar\n{penalty}{renews}"


def _plan(code: str, bundle: str, term: str) -> str:
    return (
        f"kind: plan\ncode: {code}\nname: P {code}\nbundles: [{bundle}]\nvalidity: {{from: 2015-01-01}}\n"
        f"term: {term}\npayment_methods: [card]\n"
    )


def _usd_bundle(code: str, term: str) -> str:
    """A bundle of the shipped USD add-on (`additional-service`, 10.00 USD)."""
    return (
        f"kind: bundle\ncode: {code}\nname: U {code}\nvalidity: {{from: 2015-01-01}}\nproducts:\n"
        f"  - product: additional-service\nterm: {term}\n"
    )


def _add(root: Path, documents: list[str]) -> None:
    (root / "catalog" / "generated.yaml").write_text("---\n".join(documents), encoding="utf-8")


def _line(root: Path, text: str) -> int:
    """The line of the generated file that reads `text`."""
    lines = (root / "catalog" / "generated.yaml").read_text(encoding="utf-8").splitlines()
    return lines.index(text) + 1


def test_a_loop_whose_carriers_differ_in_currency_reports_each_carrier_along_the_loop(rules: Path) -> None:
    """lp-0 → lp-1 → lp-2 → lp-3 → lp-0, lp-2's fee in USD: the EUR plan on lp-0 renews into it;
    the USD bundle on lp-1 renews into every EUR fee, round the loop, each path named in order."""
    fees = ["10.00 EUR", "10.00 EUR", "10.00 USD", "10.00 EUR"]
    documents = [_term(f"lp-{i}", fee, f"lp-{(i + 1) % 4}") for i, fee in enumerate(fees)]
    documents += [_plan("loop-plan", "tv-essentials-bundle", "lp-0"), _usd_bundle("loop-usd-bundle", "lp-1")]
    _add(rules, documents)
    plan, bundle = _line(rules, "term: lp-0"), _line(rules, "term: lp-1")
    assert [(d.code, d.line, d.message, d.hint) for d in found(rules)] == [
        (
            "BR415",
            plan,
            "plan `loop-plan` is priced in EUR, but its term `lp-0` renews into `lp-1`, then `lp-2`, which "
            "charges 10.00 USD",
            "give it a term whose fee is in its currency, renewing into terms whose fees are too",
        ),
        (
            "BR415",
            bundle,
            "bundle `loop-usd-bundle` is priced in USD, but its term `lp-1` charges 10.00 EUR",
            "give it a term whose fee is in its currency",
        ),
        (
            "BR415",
            bundle,
            "bundle `loop-usd-bundle` is priced in USD, but its term `lp-1` renews into `lp-2`, then `lp-3`, "
            "then `lp-0`, which charges 10.00 EUR",
            "give it a term whose fee is in its currency, renewing into terms whose fees are too",
        ),
        (
            "BR415",
            bundle,
            "bundle `loop-usd-bundle` is priced in USD, but its term `lp-1` renews into `lp-2`, then `lp-3`, "
            "which charges 10.00 EUR",
            "give it a term whose fee is in its currency, renewing into terms whose fees are too",
        ),
    ]


def test_a_fee_at_the_end_of_chains_sharing_a_tail_names_the_first_term_of_each_product(rules: Path) -> None:
    """ch-0 → ch-1 → ch-2 (no renewal), and hb → ch-1: ch-2's USD fee comes under the EUR products
    of both plans; each product is named with the first term, in code order, that brings it."""
    documents = [_term("ch-0", None, "ch-1"), _term("ch-1", "10.00 EUR", "ch-2"), _term("ch-2", "10.00 USD", None)]
    documents += [_term("hb", None, "ch-1")]
    documents += [_plan("chain-plan", "tv-essentials-bundle", "ch-0"), _plan("head-plan", "tv-premium-bundle", "hb")]
    _add(rules, documents)
    assert [(d.code, d.message, d.hint) for d in found(rules)] == [
        (
            "BR415",
            "the fee 10.00 USD is in USD, but the products that come under this term when `ch-0`, `hb` renew "
            "into it are priced in EUR (`hd-option`, `set-top-box`, `smart-card` and 2 more)",
            "write the fee in EUR",
        )
    ]
    # carried by a USD bundle too: the term is right for it, the EUR plans are told, at their `term`
    _add(rules, [*documents, _usd_bundle("tail-usd-bundle", "ch-2")])
    assert [(d.code, d.message) for d in found(rules)] == [
        (
            "BR415",
            "plan `chain-plan` is priced in EUR, but its term `ch-0` renews into `ch-1`, then `ch-2`, which "
            "charges 10.00 USD",
        ),
        (
            "BR415",
            "plan `head-plan` is priced in EUR, but its term `hb` renews into `ch-1`, then `ch-2`, which charges "
            "10.00 USD",
        ),
    ]


class _Counting:
    """A term's model that counts the reads of its renewal and its penalty."""

    def __init__(self, model: Any, reads: Counter[str]) -> None:
        self._model, self._reads = model, reads

    def __getattr__(self, name: str) -> Any:
        if name in ("renewal_term", "penalty"):
            self._reads[name] += 1
        return getattr(self._model, name)


class _CountingSteps(dict[str, Any]):
    """`_Renewals.next`, counting the steps taken along the renewals."""

    def __init__(self, steps: dict[str, Any], reads: Counter[str]) -> None:
        super().__init__(steps)
        self._reads = reads

    def __getitem__(self, code: str) -> Any:
        self._reads["step"] += 1
        return super().__getitem__(code)

    def get(self, code: str, default: Any = None) -> Any:
        self._reads["step"] += 1
        return super().get(code, default)


def _checked_counting(rules: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], Counter[str], int]:
    """The money checks of the rule set, with the reads of each term's renewal and penalty and the
    steps along the renewals counted; and the number of terms."""
    compilation = compile_ruleset(rules)
    reads: Counter[str] = Counter()
    catalog = dict(compilation.catalog)
    catalog["term"] = {
        code: SimpleNamespace(model=_Counting(entry.model, reads), document=entry.document)
        for code, entry in catalog["term"].items()
    }
    renewals = getattr(money_checks, "_Renewals", None)  # (none before: the counts of reads tell)
    if renewals is not None:
        laid_out = renewals.__init__

        def counting(self: Any, terms: dict[str, Any]) -> None:
            laid_out(self, terms)
            self.next = _CountingSteps(self.next, reads)

        monkeypatch.setattr(renewals, "__init__", counting)
    return list(money_checks.check_money(catalog, compilation.settings)), reads, len(catalog["term"])


def _loop_of_plans(n: int) -> list[str]:
    """n terms in one renewal loop, fees in EUR, each the term of its own EUR plan."""
    documents = [_term(f"lp-{i:03d}", "10.00 EUR", f"lp-{(i + 1) % n:03d}") for i in range(n)]
    return documents + [_plan(f"loop-plan-{i:03d}", "tv-essentials-bundle", f"lp-{i:03d}") for i in range(n)]


def test_a_loop_of_terms_each_carried_by_a_plan_reads_each_term_a_few_times(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """150 terms in one renewal loop, each the term of its own EUR plan, fees in EUR: no diagnostic,
    and each term's renewal and penalty are read a few times, not once per chain that passes
    through it (before: every term's chain was stored and every plan walked its whole chain,
    150 by 150 reads of each)."""
    _add(rules, _loop_of_plans(150))
    assert found(rules) == []
    diagnostics, reads, terms = _checked_counting(rules, monkeypatch)
    assert diagnostics == [] and terms >= 150
    assert reads["renewal_term"] <= 2 * terms, reads
    assert reads["penalty"] <= 10 * terms, reads  # (the fee checks of each term read it some 6 times)
    assert 0 < reads["step"] <= 4 * terms, reads


def test_a_carrier_of_another_currency_on_such_a_loop_costs_what_it_reports(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same loop, and a USD bundle on its first term: it comes under each of the 150 EUR fees
    (told once each, with its path round the loop); the EUR plans under none, and are not walked."""
    _add(rules, [*_loop_of_plans(150), _usd_bundle("loop-usd-bundle", "lp-000")])
    diagnostics, reads, terms = _checked_counting(rules, monkeypatch)
    assert len(diagnostics) == 150 and {d.code for d in diagnostics} == {"BR415"}
    assert (
        diagnostics[0].message == "bundle `loop-usd-bundle` is priced in USD, but its term `lp-000` charges 10.00 EUR"
    )
    assert diagnostics[-1].message.endswith(", then `lp-148`, then `lp-149`, which charges 10.00 EUR")
    assert reads["renewal_term"] <= 2 * terms, reads
    assert reads["penalty"] <= 12 * terms, reads
    assert 0 < reads["step"] <= 6 * terms, reads


def test_a_chain_running_into_a_loop_is_told_once_round_the_loop(rules: Path) -> None:
    """in-a → in-b → rl-0 → rl-1 → rl-2 → rl-0: the EUR plan on in-a comes under rl-2's USD fee
    (a USD bundle on rl-1 is under it too) and under in-b's (no USD carrier: told at the term); the
    USD bundle, on the loop, comes under its EUR fees once round, not in-b's (not in its chain)."""
    documents = [
        _term("in-a", None, "in-b"),
        _term("in-b", "20.00 USD", "rl-0"),
        _term("rl-0", "10.00 EUR", "rl-1"),
        _term("rl-1", "10.00 EUR", "rl-2"),
        _term("rl-2", "10.00 USD", "rl-0"),
        _plan("tail-plan", "tv-essentials-bundle", "in-a"),
        _usd_bundle("ring-usd-bundle", "rl-1"),
    ]
    _add(rules, documents)
    assert [(d.code, d.message) for d in found(rules)] == [
        (
            "BR415",
            "the fee 20.00 USD is in USD, but the products that come under this term when `in-a` renews into it "
            "are priced in EUR (`set-top-box`, `smart-card`, `tv-essentials`)",
        ),
        (
            "BR415",
            "plan `tail-plan` is priced in EUR, but its term `in-a` renews into `in-b`, then `rl-0`, then `rl-1`, "
            "then `rl-2`, which charges 10.00 USD",
        ),
        ("BR415", "bundle `ring-usd-bundle` is priced in USD, but its term `rl-1` charges 10.00 EUR"),
        (
            "BR415",
            "bundle `ring-usd-bundle` is priced in USD, but its term `rl-1` renews into `rl-2`, then `rl-0`, which "
            "charges 10.00 EUR",
        ),
    ]
