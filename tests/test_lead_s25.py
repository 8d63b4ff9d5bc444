"""Diagnostics left by the criteria audit of 2026-12-03 (a2 F2, F6), fixed 2026-12-04: a comment's
last word is not the condition's, a percentage or currency written apart from the language's form,
a time of day with a fraction of a second, and an abbreviated weekday."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.environment import scenario_environment
from engine.criteria.parse import CriteriaError, parse


def _rules_edited(tmp_path: object, *where_old_new: str) -> Path:
    """A copy of the shipped rules in `tmp_path` with one edit: in the file at the path (its parts
    first), the first `old` replaced by `new` (which the file must hold)."""
    import shutil

    *parts, old, new = where_old_new
    rules = Path(str(tmp_path)) / "rules"
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", rules)
    edited = rules.joinpath(*parts)
    text = edited.read_text(encoding="utf-8")
    assert old in text
    edited.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rules


def _refused(text: str) -> tuple[str, int, str, str]:
    try:
        check_condition(parse(text, lambda a, b: Span("f", 1, a + 1, b + 1)), scenario_environment())
    except CriteriaError as exc:
        d = exc.diagnostic
        return d.code, d.column, d.message, d.hint
    raise AssertionError(f"accepted: {text}")


@pytest.mark.parametrize(
    ("text", "after"),
    [
        ('account.classification == "SME" and # todo', "and"),
        ("account.classification == # the segment\n", "=="),
        ('account.classification == "a # b" and', "and"),  # a `#` inside quotes is no comment
    ],
)
def test_an_expression_ending_in_a_comment_is_told_what_comes_before_it(text: str, after: str) -> None:
    code, column, message, _ = _refused(text)
    assert (code, message) == ("BR501", f"the expression ends too early: expected a value after `{after}`")
    assert column == text.rindex(after) + len(after)  # on the condition's last character, not in the comment


def test_a_condition_that_is_only_a_comment_names_no_word() -> None:
    assert _refused("# only a comment")[:3:2] == ("BR501", "the expression ends too early: expected a value")


@pytest.mark.parametrize(
    ("text", "column_of", "message", "hint"),
    [
        (
            "subscription.concurrent_usage_rate >= 40 %",
            "%",
            "unexpected character `%`",
            "write the percentage without a space: `40%`",
        ),
        (
            "any p in subscription.products where p.price >= 20.00 eur",
            "eur",
            None,
            "a currency is its ISO code in capitals: `20.00 EUR`",
        ),
        (
            "as_of.time > 22:00:00.5",
            ".5",
            "a time of day has no fraction of a second",
            "write whole seconds, e.g. `22:00:00`",
        ),
    ],
)
def test_a_literal_written_almost_right_is_told_the_form(
    text: str, column_of: str, message: str | None, hint: str
) -> None:
    code, column, said, told = _refused(text)
    assert code == "BR501"
    assert column == text.rindex(column_of) + 1
    if message is not None:
        assert said == message
    assert told == hint


def test_a_text_in_a_currency_s_place_keeps_its_own_words() -> None:
    """Only a currency's code in lower case gets the capitals hint: another word does not."""
    assert "currency" not in _refused("any p in subscription.products where p.price >= 20.00 abc")[3]


@pytest.mark.parametrize(("written", "day"), [("sat", "saturday"), ("thurs", "thursday"), ("wed", "wednesday")])
def test_an_abbreviated_weekday_is_told_the_weekday(written: str, day: str) -> None:
    code, _, message, hint = _refused(f"count(u in usage where u.at.weekday == {written}) >= 1")
    assert (code, message, hint) == ("BR502", f"unknown name `{written}` (not a weekday)", f"did you mean `{day}`?")


def test_a_field_name_is_not_taken_for_a_weekday() -> None:
    """`sun` starts `sunday` only; a known field is no weekday, whatever it starts."""
    assert _refused("count(u in usage where u.at.weekday == t) >= 1")[2] == "unknown field `t`"


# --- the purchase reads a same-day transition as `uninterrupted` does (left by 2026-12-03's fix) --


def test_a_deactivation_superseded_the_same_day_is_not_in_force_after_the_period_that_superseded_it() -> None:
    """`deactivated from 02-01`, then `active from 02-01 to 02-10`, nothing after: the deactivation
    lasted no day (`uninterrupted` reads no interruption); until 2026-12-04 the purchase read it as
    in force again from 02-11 (its open end was no later start)."""
    from datetime import date, timedelta
    from types import SimpleNamespace

    from engine.criteria.environment import interruptions
    from engine.decide.purchases import _deactivated_on

    history = [
        SimpleNamespace(status="deactivated", from_=date(2015, 2, 1), to=None),
        SimpleNamespace(status="active", from_=date(2015, 2, 1), to=date(2015, 2, 10)),
    ]
    subscription = SimpleNamespace(status_history=history)
    assert interruptions(history, date(2015, 3, 1)) == []
    day = date(2015, 1, 25)
    while day <= date(2015, 3, 1):
        assert _deactivated_on(subscription, day) is False, day
        day += timedelta(days=1)
    # listed the other way round, the deactivation is the newest: in force from 02-01 on
    reversed_history = SimpleNamespace(status_history=history[::-1])
    assert _deactivated_on(reversed_history, date(2015, 2, 5)) is True


# --- a scenario credit restating a rule-file credit keeps its criteria (audit m1 F1, 2026-12-04) --


def _weekday_scenario(credit: dict[str, object] | None) -> dict[str, object]:
    def consumption(name: str, at: str) -> dict[str, object]:
        return {"id": name, "organisation": "globex-fr-lyon", "service": "network-offer", "quantity": 1, "at": at}

    scenario: dict[str, object] = {
        "id": "restated",
        "as_of": "2015-05-18T18:00:00+02:00",
        "consumptions": [
            consumption("REQ-LYON-SAT", "2015-05-16T10:00:00+02:00"),
            consumption("REQ-LYON-MON", "2015-05-18T10:00:00+02:00"),
        ],
    }
    if credit is not None:
        scenario["credits"] = [credit]
    return scenario


_RESTATED = {
    "code": "globex-fr-lyon-weekday-network",
    "type": "network-offer",
    "quantity": 4,
    "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
    "holder": "globex-fr-lyon",
    "allocation": "this_organisation",
    "issued": "2015-01-10",
}


@pytest.mark.parametrize("credit", [None, _RESTATED, {**_RESTATED, "code": "lyon-current-weekday"}])
def test_a_restated_weekday_credit_is_still_not_drawn_on_a_saturday(credit: dict[str, object] | None) -> None:
    """globex-fr-lyon-weekday-network holds `criteria: when: consumption.at.weekday in {monday …
    friday}` in the rule file. The scenario restating it (4 left) replaces its quantity, not its
    criteria, which a scenario cannot write: until 2026-12-04 the Saturday consumption drew on it.
    A scenario credit of another code restates nothing: it has its type's criteria only."""
    from pathlib import Path

    from engine import load_rules

    rules = load_rules(Path(__file__).resolve().parent.parent / "rules")
    decided = rules.decide(_weekday_scenario(credit))["credits"]
    drawn = {a["request"]: a["credit"] for a in decided["allocations"]}
    own = credit["code"] if credit is not None else "globex-fr-lyon-weekday-network"
    if credit is not None and credit["code"] != "globex-fr-lyon-weekday-network":
        assert drawn["REQ-LYON-SAT"] == own  # no criteria: any day
    else:
        assert drawn == {"REQ-LYON-SAT": "globex-network-shared", "REQ-LYON-MON": own}


# --- money written with zeros past its minor unit (audit m2 F1, 2026-12-04) -------------------------


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("3333.0 JPY", "3333 JPY"),
        ("10.000 EUR", "10.00 EUR"),
        ("1.2500 BHD", "1.250 BHD"),
        ("10.0000010 EUR", "10.000001 EUR"),  # finer than the cent: kept, its idle zero dropped
        ("29.965 EUR", "29.965 EUR"),
        ("80 EUR", "80 EUR"),  # fewer digits: the decision shows them with the net's (`80.00 EUR`)
    ],
)
def test_money_is_read_without_zeros_past_its_minor_unit(written: str, read: str) -> None:
    from decimal import Decimal

    from engine.values import Money

    money = Money.parse(written)
    assert str(money) == read
    assert money.amount == Decimal(written.split()[0])  # the value unchanged


def test_the_same_price_written_three_ways_is_one_decision_byte_for_byte() -> None:
    """A line priced `3333 JPY`, `3333.0 JPY` and `3333.00 JPY` (a sample's bill, its lines priced
    in yen): until 2026-12-04 the second gave a gross `3333.0 JPY`, a net `….0 JPY` and a bill total
    with a decimal place the yen has not."""
    import copy
    from pathlib import Path

    from engine import load_rules
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    rules = load_rules(repo / "rules")
    (document,) = load_file(repo / "samples" / "discounts" / "flexible_bundle_kids.yaml").documents
    texts = set()
    for price in ("3333 JPY", "3333.0 JPY", "3333.00 JPY"):
        scenario = copy.deepcopy(dict(document.data))
        scenario.pop("expect", None)
        for line in scenario["subscription"]["products"]:
            line["price"] = price
        texts.add(rules.decide_json(scenario))
    assert len(texts) == 1
    text = texts.pop()
    assert '"gross":"3333 JPY"' in text and ".0 JPY" not in text


# --- a total of usage below zero (audit m3 F7, 2026-12-04) ------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "said"),
    [("max: -1", "at most -1"), ('max: "-0.5"', "at most -0.5"), ("min: -5\n      max: -2", "from -5 to -2")],
)
def test_a_total_of_usage_below_zero_is_a_range_no_scenario_meets(tmp_path: object, bounds: str, said: str) -> None:
    import shutil
    from pathlib import Path

    from engine.validate import validate_paths

    rules = Path(str(tmp_path)) / "rules"
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", rules)
    usage = rules / "discounts" / "usage.yaml"
    text = usage.read_text(encoding="utf-8")
    assert "    total_usage:\n      max: 4\n" in text
    usage.write_text(
        text.replace("    total_usage:\n      max: 4\n", f"    total_usage:\n      {bounds}\n"), encoding="utf-8"
    )
    found = [d for d in validate_paths([rules]) if d.code == "BR413"]
    assert [d.message for d in found] == [
        f"`total_usage` (a total of usage, never below 0) {said}: no scenario can meet it"
    ]
    assert found[0].file.endswith("usage.yaml")


# --- a criterion with blank lines in it is located on the line written (audit m3 F5, 2026-12-04) ---


@pytest.mark.parametrize("blank", [1, 2, 3])
@pytest.mark.parametrize("style", ["plain", "double", "single"])
def test_a_criterion_with_blank_lines_is_located_on_the_line_written(tmp_path: object, blank: int, style: str) -> None:
    """Until 2026-12-04 a second blank line inside a `when:` put the caret on the expression's first
    line, past its end (31:42, where 34:11 is right)."""
    import shutil
    from pathlib import Path

    from engine.validate import validate_paths

    rules = Path(str(tmp_path)) / "rules"
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", rules)
    terms = rules / "catalog" / "terms.yaml"
    text = terms.read_text(encoding="utf-8")
    old = '  - when: cancellation.reason in {"moved_abroad", "deceased"}\n'
    assert old in text
    quote = {"plain": "", "double": '"', "single": "'"}[style]
    inner = "{'a'}" if style == "double" else '{"a"}'  # (criteria take either quote)
    written = f"  - when: {quote}cancellation.reason in {inner}\n" + "\n" * blank
    written += f"      and cancellation.reasn == 1{quote}\n"
    terms.write_text(text.replace(old, written, 1), encoding="utf-8")
    (found,) = [d for d in validate_paths([rules]) if d.code == "BR502"]
    lines = terms.read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines, 1) if "reasn" in line)
    assert (found.line, found.column) == (row, lines[row - 1].index("cancellation") + 1)


# --- a coupon's quantity and range start have at most 15 digits (audit m3 F6, 2026-12-04) -------


@pytest.mark.parametrize(
    ("field", "code", "message"),
    [
        ("quantity", "BR206", "`quantity`: 99999999999999999999999 is greater than the maximum of 999999999999999"),
        (
            "range_start",
            "BR207",
            "`range_start`: 99999999999999999999999 has more than 15 digits: write 999999999999999 or less",
        ),
    ],
)
def test_a_coupon_number_past_15_digits_is_refused(tmp_path: object, field: str, code: str, message: str) -> None:
    import re
    import shutil
    from pathlib import Path

    from engine.validate import validate_paths

    rules = Path(str(tmp_path)) / "rules"
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", rules)
    coupons = rules / "catalog" / "coupons.yaml"
    text = coupons.read_text(encoding="utf-8")
    changed = re.sub(rf"(?m)^{field}: .*$", f"{field}: 99999999999999999999999", text, count=1)
    changed = re.sub(
        r'(?m)^template: "?([^"\n]*?)"?$', lambda m: f'template: "{m.group(1)}{"#" * 30}"', changed, count=1
    )
    assert changed != text
    coupons.write_text(changed, encoding="utf-8")
    found = [(d.code, d.message) for d in validate_paths([rules]) if d.severity == "error"]
    assert found == [(code, message)]


# --- a duplicate `kind` in one `{…}` line is not told to start a document (audit m3 F8) --------------


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        (
            '{"kind": "segment", "code": "jseg", "kind": "segment"}\n',
            "remove one of the two entries; YAML keeps only one and the other would be lost",
        ),
        (
            "kind: segment\ncode: jseg\nkind: segment\ncode: other\n",
            "a new document starts here? separate it from the one above with a line `---`",
        ),
    ],
)
def test_a_duplicate_kind_is_told_the_fix_that_fits_its_form(tmp_path: object, written: str, hint: str) -> None:
    from pathlib import Path

    from engine.load import load_file

    path = Path(str(tmp_path)) / "s.yaml"
    path.write_text(written, encoding="utf-8")
    (found,) = load_file(path).diagnostics
    assert (found.code, found.hint) == ("BR105", hint)


def test_an_empty_item_of_a_scenario_list_is_told_to_be_removed() -> None:
    """Until 2026-12-04 the hint was "write the 0, or leave the field out …" (the item's index)."""
    from pathlib import Path

    from engine import load_rules
    from engine.decide.scenarios import ScenarioInvalid

    rules = load_rules(Path(__file__).resolve().parent.parent / "rules")
    scenario = {
        "id": "x",
        "as_of": "2015-07-10T12:00:00+02:00",
        "purchase": {"plan": "tv-premium-12", "add_ons": [""], "payment_method": "card"},
    }
    with pytest.raises(ScenarioInvalid) as caught:
        rules.decide(scenario)
    (found,) = caught.value.diagnostics
    assert (found.message, found.hint) == (
        "scenario field `purchase.add_ons[0]`: empty text",
        "write a value, or remove the empty item",
    )


# --- a reason one letter short of an 8-letter one is its typo (audit m4 F5, 2026-12-04) ----------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("deceasd", "deceased"),  # 7 letters: a typo of the 8-letter reason (until 2026-12-04 none)
        ("decease", "deceased"),
        ("dcsd", None),  # too far
        ("debt", None),  # a short word near a short reason is another word
        ("moved_abrod", "moved_abroad"),
    ],
)
def test_a_reason_is_a_typo_by_the_length_of_the_reason_it_misspells(written: str, meant: str | None) -> None:
    from engine.decide.terms import _reason_meant

    assert _reason_meant(written, frozenset({"moved_abroad", "deceased", "death"})) == meant


def test_a_history_beside_a_line_less_cancellation_names_the_missing_purchase() -> None:
    """BR604's words (audit m4 F8): until 2026-12-04 "no bundle grants a discount", false of the
    shipped rules, whose bundles grant three; what is missing is a purchase."""
    import copy
    from pathlib import Path

    from engine import load_rules
    from engine.decide.scenarios import ScenarioError
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    rules = load_rules(repo / "rules")
    (document,) = load_file(repo / "samples" / "cancellation" / "pro_rata_penalty.yaml").documents
    scenario = copy.deepcopy(dict(document.data))
    scenario.pop("expect", None)
    scenario["subscription"].pop("products", None)
    scenario["discount_history"] = [{"discount": "loyalty-5", "on": "2015-09-01"}]
    with pytest.raises(ScenarioError) as caught:
        rules.decide(scenario)
    said = str(caught.value)
    assert "no purchase is asked whose bundles' discounts it could limit" in said
    assert "no bundle grants a discount" not in said


def test_a_cap_below_zero_is_br405_alone(tmp_path: object) -> None:
    """Audit m4 F3: a negative cap also got a BR429 warning treating it as a real limit ("the range
    reaches 15.00 EUR, above the discount's cap -20.00 EUR") until 2026-12-04."""
    from engine.validate import validate_paths

    rules = _rules_edited(tmp_path, "discounts", "customer_care.yaml", "cap: 15.00 EUR\n", "cap: -20.00 EUR\n")
    assert [d.code for d in validate_paths([rules])] == ["BR405"]


@pytest.mark.parametrize(
    ("written", "hint"), [("sat", "did you mean `saturday`?"), ("thurs", "did you mean `thursday`?")]
)
def test_an_abbreviated_weekday_in_a_section_is_told_the_weekday(tmp_path: object, written: str, hint: str) -> None:
    """Audit m4 F6: `day: sat` in `execution_days` got the list of weekdays alone (a `when:` got
    "did you mean `saturday`?" since 2026-12-04)."""
    from engine.validate import validate_paths

    rules = _rules_edited(tmp_path, "discounts", "usage.yaml", "day: saturday", f"day: {written}")
    (found,) = [d for d in validate_paths([rules]) if d.code == "BR204"]
    assert found.hint == hint


def test_an_empty_item_of_a_rule_file_list_is_told_to_be_removed(tmp_path: object) -> None:
    """Left by fixer fA (2026-12-04): `payment_methods: [""]` was BR206 "is empty" with no hint."""
    from engine.validate import validate_paths

    rules = _rules_edited(
        tmp_path, "discounts", "usage.yaml", "source_categories: [live-sports]", 'source_categories: [""]'
    )
    (found,) = [d for d in validate_paths([rules]) if d.code == "BR206"]
    assert found.message.endswith("is empty")
    assert found.hint == "write a value, or remove the empty item"


def test_counts_in_words_are_singular_or_plural(capsys: pytest.CaptureFixture[str]) -> None:
    """Audit m5 F2: "after 1 renewal(s)" (and "redeemed 1 time(s)", "… 3 more renewal(s) …",
    "2 decimal place(s)") until 2026-12-04."""
    from pathlib import Path

    from engine.cli.main import main

    repo = Path(__file__).resolve().parent.parent
    samples = repo / "samples" / "cancellation"
    assert main(["decide", "--rules", str(repo / "rules"), str(samples / "flat_penalty_after_renewal.yaml")]) == 0
    assert main(["decide", "--rules", str(repo / "rules"), str(samples / "rolling_renewal_pro_rata_days.yaml")]) == 0
    out = capsys.readouterr().out
    assert "after 1 renewal\n" in out and "after 3 renewals\n" in out and "(s)" not in out


def test_a_request_at_its_limit_shows_what_was_requested() -> None:
    """Audit m5 F1: the shipped sample's fourth complaint discount (10 %, requested and approved)
    was `limit_reached` without `requested` until 2026-12-04."""
    import copy
    from pathlib import Path

    from engine import load_rules
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    (document,) = load_file(repo / "samples" / "discounts" / "complaint_fourth_time.yaml").documents
    scenario = copy.deepcopy(dict(document.data))
    scenario.pop("expect", None)
    decided = load_rules(repo / "rules").decide(scenario)
    (item,) = [d for d in decided["discounts"]["definitions"] if d["code"] == "complaint-discount"]
    assert (item["status"], item.get("requested")) == ("limit_reached", "10")


def test_a_when_naming_a_code_written_with_a_look_alike_letter_is_not_unknown(tmp_path: object) -> None:
    """Left by fixer fB (2026-12-04): `code: military` written with a Cyrillic `a` (U+0430) is BR205 alone; the
    term exception's `account.segments overlaps {"military"}` was also BR302 "unknown segment"."""
    from engine.validate import validate_paths

    rules = _rules_edited(tmp_path, "organisation", "segments.yaml", "\ncode: military\n", "\ncode: milit\u0430ry\n")
    assert [d.code for d in validate_paths([rules])] == ["BR205"]


def test_an_aggregate_of_two_usage_sections_names_what_it_keeps() -> None:
    """Audit m5 F3: a `where` over 60 characters (two usage sections' conditions) was said "(the
    records its `where` keeps)" until 2026-12-04, hiding which records the 5 counted."""
    from engine.decide.why import _name

    where = '(u.service_type in {"PPV"}) and (u.source_category in {"live-sports"})'
    assert _name(f"sum(u in usage.quantity where {where} within 1 month)") == (
        f"sum of usage quantity where `{where}` within 1 month"
    )


# --- an agent of many or long units is in no memo (audit m6 F1, 2026-12-04) --------------------------


@pytest.mark.parametrize("brief", [False, True])
def test_agents_of_many_units_decide_as_alone_and_leave_no_memo_entry(brief: bool) -> None:
    """Each memo entry naming an agent holds its units, and the memos are bounded by count: a billing
    run meeting thousands of agents of 300 units grew to 2 GiB. Such an agent is decided afresh
    each time, as a fresh rule set decides it."""
    import copy

    from engine import load_rules
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent

    def rules_of() -> object:
        loaded = load_rules(repo / "rules")
        return loaded.brief() if brief else loaded

    (document,) = load_file(repo / "samples" / "discounts" / "complaint_offered.yaml").documents
    base = copy.deepcopy(dict(document.data))
    base.pop("expect", None)
    shared = rules_of()
    for n in range(12):
        scenario = copy.deepcopy(base)
        units = ["customer-care"] if n % 3 == 0 else [f"unit-{n}-{k}" for k in range(12)]
        scenario["agent"] = {"user": f"agent-{n}", "units": units}
        assert shared.decide_json(scenario) == rules_of().decide_json(scenario)  # type: ignore[attr-defined]
    evaluator = shared.__dict__["_evaluators"]["discounts"]
    names = ("_failing", "_unasked_memo", "_blocks", "_contexts_unasked")
    kept = repr([getattr(evaluator, name) for name in names if hasattr(evaluator, name)])
    assert "unit-1-0" not in kept and "agent-1" not in kept
    assert "agent-0" in kept or "agent-3" in kept or not brief  # a usual agent is kept as before


def test_a_huge_value_is_cut_in_what_is_said_of_it() -> None:
    """Audit m6 F3: a price of "1", 10 MB of spaces and "EUR" was quoted whole in BR602 (10 MB, twice
    in a run's error record), and a requested value of 10 MB in the decision, until 2026-12-04."""
    import copy

    from engine import load_rules
    from engine.decide.scenarios import ScenarioInvalid
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    rules = load_rules(repo / "rules")
    (document,) = load_file(repo / "samples" / "discounts" / "complaint_cap.yaml").documents
    base = copy.deepcopy(dict(document.data))
    base.pop("expect", None)
    priced = copy.deepcopy(base)
    priced["subscription"]["products"][0]["price"] = "1" + " " * 1_000_000 + "EUR"
    with pytest.raises(ScenarioInvalid) as caught:
        rules.decide(priced)
    (found,) = caught.value.diagnostics
    assert found.code == "BR602" and len(found.message) <= 1001 and "…" in found.message
    requested = copy.deepcopy(base)
    requested["requested_discounts"] = [{"discount": "complaint-discount", "value": "1" + "0" * 1_000_000}]
    assert len(rules.decide_json(requested)) < 50_000


@pytest.mark.parametrize(
    ("where", "value", "said"),
    [
        (
            ("account", "code"),
            "A" * 101,
            "scenario field `account.code`: is 101 characters long; at most 100 are allowed",
        ),
        (
            ("id",),
            10**5000,
            "scenario field `id`: a whole number of more than 100 digits is no id: an id has at most 100 characters",
        ),
    ],
    ids=["long-code", "huge-id"],
)
def test_a_value_a_caller_holds_is_told_in_billrules_words(where: tuple[str, ...], value: object, said: str) -> None:
    """Audit m6 F2: "Value should have at most 100 items after validation, not 101" for a code of 101
    characters, and Python's "Exceeds the limit (4300 digits) for integer string conversion; use
    sys.set_int_max_str_digits()" for an id of 5,001 digits, until 2026-12-04."""
    import copy

    from engine import load_rules
    from engine.decide.scenarios import ScenarioInvalid
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    (document,) = load_file(repo / "samples" / "discounts" / "complaint_cap.yaml").documents
    scenario = copy.deepcopy(dict(document.data))
    scenario.pop("expect", None)
    target = scenario
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    with pytest.raises(ScenarioInvalid) as caught:
        load_rules(repo / "rules").decide(scenario)
    assert [d.message for d in caught.value.diagnostics] == [said]


def test_a_number_too_long_to_read_is_too_large_not_no_number() -> None:
    from engine.values import parse_number

    with pytest.raises(ValueError, match="is too large: at most 15 digits before the decimal point"):
        parse_number("1" + "0" * 400)
    with pytest.raises(ValueError, match="is too precise: at most 9 digits after the decimal point"):
        parse_number("0." + "1" * 400)
    with pytest.raises(ValueError, match="is not a number"):
        parse_number("x" * 400)


def test_a_memoryview_of_json_text_is_decided_as_its_bytes() -> None:
    """Audit m6 F2: `decide_records` read a memoryview as bytes, `RuleSet.decide` refused it as "a
    scenario must be a mapping" until 2026-12-04."""
    import copy
    import json

    from engine import load_rules
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    (document,) = load_file(repo / "samples" / "discounts" / "complaint_cap.yaml").documents
    scenario = copy.deepcopy(dict(document.data))
    scenario.pop("expect", None)
    text = json.dumps(scenario, default=str).encode()
    rules = load_rules(repo / "rules")
    assert rules.decide_json(memoryview(text)) == rules.decide_json(text) == rules.decide_json(bytearray(text))


def test_a_trace_of_exceptions_a_finished_commitment_never_consulted_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Audit m5: on the day a commitment ends the cancellation is free, and the trace showed the
    military exception "holds" as if it had decided (until 2026-12-04)."""
    import copy
    import json

    from engine.cli.main import main
    from engine.load import load_file

    repo = Path(__file__).resolve().parent.parent
    (document,) = load_file(repo / "samples" / "cancellation" / "exception_military_flat_fee.yaml").documents
    scenario = copy.deepcopy(dict(document.data))
    scenario.pop("expect", None)
    scenario["cancellation"]["date"] = "2017-01-01"  # the commitment's end (started 2015-01-01, 24 months)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.json"
        path.write_text(json.dumps(scenario, default=str), encoding="utf-8")
        assert main(["decide", "--rules", str(repo / "rules"), "--explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "commitment over" in out
    assert "why term:commit-24m:\n  (not consulted: the commitment ended on " in out


@pytest.mark.parametrize(("written", "unit"), [("yer", "year"), ("eek", "week")])
def test_a_unit_misspelt_as_a_currency_code_keeps_its_did_you_mean(written: str, unit: str) -> None:
    """The second review of 2026-12-04: `2 yer` (YER is Yemen's rial) was told "a currency is its
    ISO code in capitals: `2 YER`" once that hint came; it is `2 year` misspelt."""
    code, _, _, hint = _refused(f"subscription.maturity >= 2 {written}")
    assert code == "BR501" and hint.startswith(f"did you mean `2 {unit}")
