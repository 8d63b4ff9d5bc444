"""The discount evaluator's shortcuts give what the long way gives.

`_LineBook.close` hands a line's only take the line's rounded discount instead of calling
`Rounder.split`; `_lines` skips the size check for a catalog price billed once. These tests
check the claims those shortcuts rest on, value and written form (exponent, sign) alike.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decide.money import ROUNDING_MODES, Rounder

RULES = Path(__file__).resolve().parent.parent / "rules"

amounts = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000000"), places=6)


@settings(max_examples=300, deadline=None)
@given(amount=amounts, mode=st.sampled_from(sorted(ROUNDING_MODES)), currency=st.sampled_from(["EUR", "JPY", "BHD"]))
def test_one_take_is_split_into_the_rounded_discount(amount: Decimal, mode: str, currency: str) -> None:
    rounder = Rounder(mode)
    discount = rounder.round(sum([amount], Decimal(0)), currency)
    split = rounder.split(discount, [amount], rounder.quantum(currency))
    assert [str(x) for x in split] == [str(discount)]


def test_one_take_on_exact_and_half_amounts() -> None:
    for mode in ROUNDING_MODES:
        rounder = Rounder(mode)
        for text in ("0.005", "0.01", "1.995", "2.5", "10", "0.0000001", "999999.999"):
            amount = Decimal(text)
            discount = rounder.round(amount, "EUR")
            assert [str(x) for x in rounder.split(discount, [amount], Decimal("0.01"))] == [str(discount)], (mode, text)


def test_catalog_price_times_one_keeps_its_digits() -> None:
    for text in ("19.99", "0.0000001", "123456789012.5", "100", "1E+2"):
        price = Decimal(text)
        assert str(price * 1) == str(price)


@settings(max_examples=500, deadline=None)
@given(
    amount=st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20)
    | st.sampled_from([Decimal(t) for t in ("0", "-0", "-0.00", "1E+2", "1E-7", "0.0000001", "1.5E+3", "-2E-8")])
)
def test_money_text_is_what_money_writes(amount: Decimal) -> None:
    from engine.values import Money, money_text

    assert money_text(amount, "EUR") == str(Money(amount, "EUR"))


def _written(result: Any) -> tuple[list[tuple[str, str]], str]:
    return [(code, str(amount)) for code, amount in result.takes], str(result.net)


_EVALUATOR: list[Any] = []


def _evaluator() -> Any:
    if not _EVALUATOR:
        from engine import load_rules
        from engine.decide.discounts import DiscountEvaluator

        _EVALUATOR.append(DiscountEvaluator(load_rules(RULES)))
    return _EVALUATOR[0]


gross_texts = st.sampled_from(["20", "20.00", "20.000", "19.99", "29.965", "0.01", "1E+2", "1000.5", "0"])
take_amounts = st.lists(
    st.decimals(min_value=0, max_value=200, places=4)
    | st.sampled_from([Decimal("1.5"), Decimal("1.50"), Decimal("-0")]),
    max_size=4,
)


@settings(max_examples=400, deadline=None)
@given(gross=gross_texts, first=take_amounts, second=take_amounts, currency=st.sampled_from(["EUR", "JPY"]))
def test_a_line_closed_from_the_memo_is_closed_as_it_would_be(
    gross: str, first: list[Decimal], second: list[Decimal], currency: str
) -> None:
    """`_closed` keeps a line's rounding per currency, gross and exact takes: a line met again, or
    one whose takes are equal in value but written differently, comes out as `close` makes it."""
    from engine.decide.discounts import Line, _Caps, _LineBook
    from engine.values import Money

    evaluator = _evaluator()
    line = Line(0, "subscription.products[0]", "p", "service", None, Money(Decimal(gross), currency), None)
    for takes in (first, second, first, [Decimal(str(a)) + 0 for a in first]):
        book, fresh = _LineBook(line, _Caps({})), _LineBook(line, _Caps({}))
        for i, amount in enumerate(takes):  # taken as the evaluator takes: never past the gross
            book.take(f"d{i}", amount)
            fresh.take(f"d{i}", amount)
        assert _written(evaluator._closed(book, evaluator.rounder)) == _written(fresh.close(evaluator.rounder))


# --- lines' amounts kept per line and applied discounts (`DiscountEvaluator._amounts_kept`) -------


def _kept_and_long() -> tuple[Any, Any]:
    """The shipped rules with brief and detailed reasons, as (lines kept, lines worked out anew)."""
    import copy

    from engine import load_rules
    from engine.decide.decision import _evaluator

    pairs = []
    for rules in (load_rules(RULES).brief(), load_rules(RULES)):
        long_way = copy.copy(rules)
        long_way.__dict__["_evaluators"] = {}
        _evaluator(long_way).keep_lines = False
        pairs.append((rules, long_way))
    return pairs


LINES_KEPT = _kept_and_long()


def _decided_text(rules: Any, scenario: Any) -> str:
    from engine.decide.scenarios import ScenarioError

    try:
        return str(rules.decide_json(scenario))
    except ScenarioError as exc:
        return f"{exc.code} {exc.field}: {exc.message}"


def test_kept_lines_are_used_and_match_on_the_samples() -> None:
    from engine.decide.decision import _evaluator
    from engine.decide.scenarios import validate_scenario
    from tests.test_decide_differential import SAMPLES

    for _ in range(2):  # the second pass reads every line from the memo
        for _, data in SAMPLES:
            checked = validate_scenario(dict(data), None)
            if not checked.diagnostics:
                for kept, long_way in LINES_KEPT:
                    assert _decided_text(kept, checked.scenario) == _decided_text(long_way, checked.scenario)
    assert _evaluator(LINES_KEPT[0][0])._lines_kept, "no line was kept: the shortcut is not exercised"
    assert not _evaluator(LINES_KEPT[0][1])._lines_kept


def _line_strategy() -> Any:
    from tests.test_decide_differential import mutated_samples, scenarios

    return st.lists(st.one_of(scenarios(), mutated_samples()), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(
    sequence=_line_strategy(),
    prices=st.lists(st.sampled_from(["9.99 EUR", "10 EUR", "0.005 EUR", "3 USD", "7.5 EUR"])),
    values=st.lists(
        st.sampled_from([5, 10, 20, 50, "7.5", "5.00 EUR", "7.50 EUR", "10 EUR", "6.25 EUR", "12.5 EUR"]),
        min_size=1,
        max_size=3,
    ),
    period=st.sampled_from(
        [None, ("2015-06-01", "2015-06-30"), ("2015-06-01", "2015-06-10"), ("2015-01-01", "2015-12-31")]
    ),
    frequency=st.sampled_from([None, "monthly", "quarterly", "yearly"]),
)
def test_kept_lines_decide_alike_in_sequence(
    sequence: list[dict[str, Any]],
    prices: list[str],
    values: list[Any],
    period: tuple[str, str] | None,
    frequency: str | None,
) -> None:
    """Scenarios decided one after another (lines met again with other prices, other applied
    discounts, other requested values, other periods billed and billing frequencies, which a free
    period's share reads) give what lines worked out anew give, errors included."""
    import copy

    from engine.decide.scenarios import validate_scenario

    for data in sequence:
        holder = data.get("subscription") or data.get("job")
        if isinstance(holder, dict) and isinstance(holder.get("products"), list):
            for line, price in zip(holder["products"], prices, strict=False):
                if isinstance(line, dict):
                    line["price"] = price
        if isinstance(data.get("subscription"), dict):
            if period is not None:
                data["subscription"]["billing_period"] = {"from": period[0], "to": period[1]}
            if frequency is not None:
                data["subscription"]["billing_frequency"] = frequency
        for value in values:  # the same lines, each requested discount asked with another value
            for request in data.get("requested_discounts") or []:
                if isinstance(request, dict):
                    request["value"] = value
            checked = validate_scenario(copy.deepcopy(data), None)
            if checked.diagnostics:
                continue
            for kept, long_way in LINES_KEPT:
                assert _decided_text(kept, checked.scenario) == _decided_text(long_way, checked.scenario)


def test_kept_lines_follow_the_requested_amount() -> None:
    """The same lines with an ad hoc amount asked at 5.00, then 7.50, then 5.00 EUR again: each
    decision takes what is asked (a line is kept per the values of the ad hoc discounts)."""
    from tests.test_decide_differential import SAMPLES

    data = next(d for name, d in SAMPLES if name.startswith("discounts/settle_now_credit"))
    amounts = []
    for value in ("5.00 EUR", "7.50 EUR", "5.00 EUR"):
        scenario = {**data, "requested_discounts": [{**data["requested_discounts"][0], "value": value}]}
        kept, long_way = LINES_KEPT[0]
        assert _decided_text(kept, scenario) == _decided_text(long_way, scenario)
        amounts.append(
            [
                d.get("amount")
                for d in kept.decide(scenario)["discounts"]["definitions"]
                if d["code"] == "settle-now-credit"
            ]
        )
    assert amounts == [["5.00 EUR"], ["7.50 EUR"], ["5.00 EUR"]]


@settings(max_examples=300, deadline=None)
@given(
    code=st.text(min_size=1, max_size=12),
    amounts=st.dictionaries(
        st.sampled_from(["EUR", "USD", "JPY", "BHD"]),
        st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12),
        max_size=3,
    ),
)
def test_an_auto_applied_item_is_written_as_orjson_writes_it(code: str, amounts: dict[str, Decimal]) -> None:
    """`_blocks_json` writes an auto-apply definition applied without reasons from its code's
    kept head and its amounts' text: the same bytes as the item written by orjson."""
    import orjson

    from engine.decide.decision import _auto_applied_text, _item, _records
    from engine.decide.discounts import DefinitionResult

    r = DefinitionResult(code, "auto_apply", "applied", value=Decimal(5), amounts=amounts)
    assert _auto_applied_text(r) == orjson.dumps(_item(r, _records))
    assert _auto_applied_text(r) == orjson.dumps(_item(r, _records))  # the kept head, again


def _free_period_rules(tmp: Path, unit: str, value: int) -> tuple[Any, Any]:
    """The shipped rules with the yearly free period given in `unit`s, and its product an expense
    billed at the subscription's frequency (none of its own): (lines kept, lines worked out anew)."""
    import copy
    import shutil

    from engine import load_rules
    from engine.decide.decision import _evaluator

    shutil.copytree(RULES, tmp / "rules")
    promotions = tmp / "rules" / "discounts" / "promotions.yaml"
    text = promotions.read_text(encoding="utf-8")
    old = "  type: free_period\n  value: 2\n  unit: months\n"
    assert old in text
    promotions.write_text(
        text.replace(old, f"  type: free_period\n  value: {value}\n  unit: {unit}\n"), encoding="utf-8"
    )
    products = tmp / "rules" / "catalog" / "products.yaml"
    text = products.read_text(encoding="utf-8")
    old = "type: termed\nprice: 299.00 EUR\nbilling_frequency: yearly\n"
    assert old in text
    products.write_text(text.replace(old, "type: expense\nprice: 299.00 EUR\n"), encoding="utf-8")
    usage = tmp / "rules" / "discounts" / "usage.yaml"  # (an expense product is no termed service: BR402)
    text = usage.read_text(encoding="utf-8")
    old = "termed_services: [tv-essentials, tv-premium, tv-essentials-annual]"
    assert old in text
    usage.write_text(text.replace(old, "termed_services: [tv-essentials, tv-premium]"), encoding="utf-8")
    rules = load_rules(tmp / "rules").brief()
    long_way = copy.copy(rules)
    long_way.__dict__["_evaluators"] = {}
    _evaluator(long_way).keep_lines = False
    return rules, long_way


def test_a_kept_free_period_follows_the_period_billed_and_the_frequency(tmp_path: Path) -> None:
    """A free period in days or weeks removes its share of the period billed, one in months its
    share of the billing cycle: the same line met again with another period or frequency is
    worked out for them, not read back from the line met first."""
    from tests.test_decide_differential import SAMPLES

    data = next(d for name, d in SAMPLES if name.startswith("discounts/free_period_yearly"))
    periods = [("2015-03-01", "2016-02-29"), ("2015-03-01", "2015-03-31"), ("2015-03-01", "2015-03-07")]
    for n, (unit, value) in enumerate([("days", 10), ("weeks", 2), ("months", 2)]):
        kept, long_way = _free_period_rules(tmp_path / str(n), unit, value)
        amounts = set()
        for frequency in ("yearly", "monthly", "quarterly", "yearly"):
            for start, end in periods:
                subscription = {**data["subscription"], "billing_frequency": frequency}
                subscription["billing_period"] = {"from": start, "to": end}
                scenario = {**data, "subscription": subscription}
                text = _decided_text(kept, scenario)
                assert text == _decided_text(long_way, scenario), (unit, frequency, start, end)
                amounts.add(text)
        assert len(amounts) > 1, unit  # the share did change with the period or the frequency
