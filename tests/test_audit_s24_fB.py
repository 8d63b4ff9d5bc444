"""Audit a2 of the twenty-fourth session (2026-12-03), findings F8, F6 (its last item) and F1:
diagnostics of `when:` expressions.

- F8: texts compared with a scenario field of fixed choices other than the billing frequency and
  the product type (`s.status == "deactived"`, `e.type == "grnt"`, `e.reason == "canceled"`,
  `c.allocation == "all_organisation"`) and texts compared with a money's currency
  (`p.charge.currency == "EUX"`) were accepted and never held: BR302 / BR505 now, "did you mean".
- F6: messages named the model's classes with a wrong article ("a ApprovalRecord record has
  none", "found a Account record"): the scenario's words now.
- F1: `subscription.maturity >= 1.5 months` got the hint "did you mean `1.5 months`?", the text
  written: the hint now says a duration is a whole number of its unit and suggests one.
"""

from __future__ import annotations

import json
import shutil
import typing
from enum import Enum
from pathlib import Path

import pytest
from pydantic import BaseModel

from engine.criteria import catalog_codes
from engine.criteria.ast import Span
from engine.criteria.check import check_condition
from engine.criteria.environment import credit_environment, scenario_environment
from engine.criteria.parse import CriteriaError, parse
from engine.diagnostics import Diagnostic
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent

_HEAD = (
    "type: auto_apply\nclassification: subscription\napplied_service_type: both\nstate: effective\n"
    "amount: {type: percentage, value: 1, level: 1}\ndiscounted_products:\n  - product: tv-essentials\n"
    "validity: {effective: 2000-01-01}\n"
)


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fB") / "rules"
    shutil.copytree(REPO / "rules", target)
    return target


def _validated(rules: Path, whens: list[str]) -> list[tuple[Diagnostic, str]]:
    """The diagnostics of discounts with these `when:` expressions (one document each, `when:` on
    line 13 of each), with the text each one's caret underlines."""
    documents = [
        f"kind: discount\ncode: fb-{i}\nname: FB\n{_HEAD}criteria:\n  when: {json.dumps(when)}\n"
        for i, when in enumerate(whens)
    ]
    path = rules / "discounts" / "fb.yaml"
    path.write_text("---\n".join(documents), encoding="utf-8")
    try:
        found = validate_paths([rules])
    finally:
        path.unlink()
    text = "---\n".join(documents).splitlines()
    return [(d, text[d.line - 1][d.column - 1 : d.end_column - 1]) for d in found]


# --- F8: texts of fixed choices and currencies -----------------------------------------------------

_MISSPELT = [
    (
        'not any s in subscription.status_history where s.status == "deactived"',
        "BR302",
        "unknown status `deactived` (compared with `s.status`)",
        "did you mean `deactivated`?",
        '\\"deactived\\"',
    ),
    (
        'any s in subscription.status_history where s.status in {"rested", "deactivate"}',
        "BR302",
        "unknown status `deactivate` (compared with `s.status`)",
        "did you mean `deactivated`?",
        '\\"deactivate\\"',
    ),
    (
        'count(subscription.status_history where status == "xx") >= 1',
        "BR302",
        "unknown status `xx` (compared with `status`)",
        "use one of: active, rested, deactivated",
        '\\"xx\\"',
    ),
    (
        'any s in subscription.status_history.status where s != "activ"',
        "BR302",
        "unknown status `activ` (compared with `subscription.status_history.status`)",
        "did you mean `active`?",
        '\\"activ\\"',
    ),
    (
        'any e in balance.events where e.type == "grnt"',
        "BR302",
        "unknown balance event type `grnt` (compared with `e.type`)",
        "did you mean `grant`?",
        '\\"grnt\\"',
    ),
    (
        'any e in balance.events where e.reason == "canceled"',
        "BR302",
        "unknown refund reason `canceled` (compared with `e.reason`)",
        "did you mean `cancelled`?",
        '\\"canceled\\"',
    ),
    (
        'any c in credits where c.allocation == "all_organisation"',
        "BR302",
        "unknown allocation `all_organisation` (compared with `c.allocation`)",
        "did you mean `all_organisations`?",
        '\\"all_organisation\\"',
    ),
    (
        'any p in subscription.products where p.charge.currency == "EUX"',
        "BR505",
        "`EUX` is not an ISO 4217 currency (compared with `p.charge.currency`)",
        "did you mean `EUR`?",
        '\\"EUX\\"',
    ),
    (
        'all p in subscription.products where p.charge.currency not in {"USX"}',
        "BR505",
        "`USX` is not an ISO 4217 currency (compared with `p.charge.currency`)",
        "did you mean `USD`?",
        '\\"USX\\"',
    ),
    (
        'subscription.products.charge.currency contains {"eur"}',
        "BR505",
        "`eur` is not an ISO 4217 currency (compared with `subscription.products.charge.currency`)",
        "did you mean `EUR`?",
        '\\"eur\\"',
    ),
    (
        'any c in subscription.products.charge.currency where c == "QQQ"',
        "BR505",
        "`QQQ` is not an ISO 4217 currency (compared with `subscription.products.charge.currency`)",
        "write an ISO 4217 currency code, e.g. `EUR`",
        '\\"QQQ\\"',
    ),
]


def test_misspelt_fixed_choices_and_currencies_are_refused_at_the_text(rules: Path) -> None:
    """Each gave no diagnostic until 2026-12-03, and never held (or always did, under a `not`)."""
    found = _validated(rules, [when for when, *_ in _MISSPELT])
    assert len(found) == len(_MISSPELT)
    for index, ((diagnostic, underlined), (when, code, message, hint, text)) in enumerate(
        zip(found, _MISSPELT, strict=True)
    ):
        line = f"  when: {json.dumps(when)}"
        assert (diagnostic.code, diagnostic.message, diagnostic.hint) == (code, message, hint), when
        assert diagnostic.line == 13 + 14 * index, when  # 13 lines a document and its `---`
        assert diagnostic.column == line.index(text) + 1, when
        assert underlined == text, when


def test_the_right_texts_of_fixed_choices_and_currencies_pass(rules: Path) -> None:
    assert (
        _validated(
            rules,
            [
                'not any s in subscription.status_history where s.status == "deactivated"',
                'any s in subscription.status_history where s.status in {"rested", "active"}',
                'any e in balance.events where e.type == "grant" and e.reason != "cancelled"',
                'any c in credits where c.allocation in {"all_organisations", "this_organisation"}',
                'any p in subscription.products where p.charge.currency in {"EUR", "USD", "JPY"}',
                'subscription.billing_frequency == "monthly"',
            ],
        )
        == []
    )


def test_a_fixed_choice_has_no_order(rules: Path) -> None:
    """As a billing frequency already had none: `s.status < "rested"` compared spellings."""
    ((diagnostic, _),) = _validated(rules, ['any s in subscription.status_history where s.status < "rested"'])
    assert (diagnostic.code, diagnostic.message) == (
        "BR503",
        "`s.status` is a status code: codes have no order for `<`",
    )


def _enum_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[tuple[str, str, type[Enum]]]:
    """Every (record, field, enum) of the models reachable from `model`."""

    def inner(annotation: object, of: type) -> list[type]:
        if isinstance(annotation, type) and issubclass(annotation, of):
            return [annotation]
        return [found for arg in typing.get_args(annotation) for found in inner(arg, of)]

    if model in seen:
        return set()
    seen.add(model)
    found = set()
    for name, info in model.model_fields.items():
        found |= {(model.__name__, info.alias or name, enum) for enum in inner(info.annotation, Enum)}
        for child in inner(info.annotation, BaseModel):
            found |= _enum_fields(child, seen)
    return found


def test_every_field_of_fixed_choices_the_criteria_read_is_checked() -> None:
    """A new enum field of the scenario or credit context must be added to `CODE_FIELDS`."""
    from engine.models.credit_context import CreditContext
    from engine.models.scenario import Scenario

    seen: set[type[BaseModel]] = set()
    fields = _enum_fields(Scenario, seen) | _enum_fields(CreditContext, seen)
    assert {(record, name) for record, name, _ in fields} >= {
        ("StatusPeriod", "status"),
        ("ScenarioCredit", "allocation"),
    }
    known = catalog_codes.known_texts({})
    for record, name, enum in fields:
        kind = catalog_codes.CODE_FIELDS.get((record, name))
        assert kind is not None, (record, name)
        assert set(known[kind]) == {choice.value for choice in enum}, (record, name)
        assert kind in catalog_codes._CHOICES


# --- F6: the scenario's words for records -----------------------------------------------------------


def _refused(text: str, credit: bool = False) -> tuple[str, int, str, str]:
    env = credit_environment() if credit else scenario_environment()
    try:
        check_condition(parse(text, lambda a, b: Span("f", 1, a + 1, b + 1)), env)
    except CriteriaError as exc:
        d = exc.diagnostic
        return d.code, d.column, d.message, d.hint
    raise AssertionError(f"accepted: {text}")


@pytest.mark.parametrize(
    ("text", "operand", "message", "credit"),
    [
        (
            "count(approvals within 1 month) >= 1",
            "1 month",
            "`within` needs records with a time stamp; a record of `approvals` has none",
            False,
        ),
        (
            "count(subscription.products within 1 month) >= 1",
            "1 month",
            "`within` needs records with a time stamp; a record of `subscription.products` has none",
            False,
        ),
        (
            "uninterrupted(account, 5 days) >= 1 month",
            "account",
            "`uninterrupted` needs the `subscription` record here, found the `account` record",
            False,
        ),
        (
            "any p in subscription.products where uninterrupted(p, 1 day) >= 1 month",
            "p, 1",
            "`uninterrupted` needs the `subscription` record here, found a record of `subscription.products`",
            False,
        ),
        (
            'subscription.products in {"tv"}',
            "subscription.products",
            "`in` tests one value, found a list of records of `subscription.products`",
            False,
        ),
        ("account", "account", "a criterion must be true or false, but this is the `account` record", False),
        (
            "sum(subscription.status_history) > 1",
            "subscription.status_history",
            "cannot sum a list of records of `subscription.status_history`",
            False,
        ),
        # a credit criterion's `consumption` is one record, not the scenario's list `consumptions`
        ("consumption", "consumption", "a criterion must be true or false, but this is the `consumption` record", True),
    ],
)
def test_records_are_named_in_the_scenario_s_words(text: str, operand: str, message: str, credit: bool) -> None:
    code, column, said, _ = _refused(text, credit)
    assert (code, said) == ("BR503" if text not in ("account", "consumption") else "BR507", message)
    assert column == text.index(operand) + 1
    assert "Record" not in said and "Account" not in said and "ProductLine" not in said


# --- F1: a duration with a fraction ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "hint"),
    [
        (
            "subscription.maturity >= 1.5 months",
            "months",
            "a duration is a whole number of months: write `1 month` or `2 months`, or count days instead, "
            "e.g. `45 days` (a month has no fixed number of days)",
        ),
        (
            "subscription.start + 0.5 months < as_of.date",
            "months",
            "a duration is a whole number of months: write `1 month`, or count days instead, e.g. `15 days` "
            "(a month has no fixed number of days)",
        ),
        (
            "subscription.maturity >= 1.5 years",
            "years",
            "a duration is a whole number of years: write `1 year` or `2 years`, or `18 months`",
        ),
        (
            "subscription.maturity >= 0.25 years",
            "years",
            "a duration is a whole number of years: write `1 year`, or `3 months`",
        ),
        (
            "subscription.maturity >= 2.0 weeks",
            "weeks",
            "a duration is a whole number of weeks: write `2 weeks`, or `14 days`",
        ),
        (
            "subscription.maturity >= 1.5 weeks",
            "weeks",
            "a duration is a whole number of weeks: write `1 week` or `2 weeks`",
        ),
        (
            "count(usage within 1.5 days) >= 1",
            "days",
            "a duration is a whole number of days: write `1 day` or `2 days`",
        ),
        # a misspelt unit after a whole number keeps its "did you mean"
        ("subscription.maturity >= 6 monhts", "monhts", "did you mean `6 months`?"),
    ],
)
def test_a_duration_with_a_fraction_is_told_to_be_whole(text: str, unit: str, hint: str) -> None:
    code, column, message, said = _refused(text)
    assert code == "BR501"
    assert message.startswith(f"unexpected `{unit}`")
    assert column == text.index(unit) + 1
    assert said == hint
