"""The twenty-seventh session's schema drift fixes (fx5; a3 F1, fx3's report items 3 and 4).

- Rule files: `credit.schema.json` says a credit's `quantity` is more than zero, `term.schema.json`
  a term's `period` at least 1 (until 2026-12-04 they took 0 and below, and 0, which `validate`
  refuses). `validate` still says what it said: BR207 "`quantity`: must be more than 0", BR410
  "term `T` has a zero commitment period", also beside another schema problem of the document
  (engine.schema words those bounds as the later stages do).
- Scenarios: whole numbers written as text with an exponent (`priority: "2e0"`,
  `concurrent_usage: "1e1"`, `"2.5e1"`) and a percentage as text (`concurrent_usage_rate: "15"`),
  which `decide` reads, are taken by the scenario schema; what `decide` refuses (`"2.5e0"`, not
  whole; `"1E-7"`; below the field's least) is not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine import load_rules
from engine.decide.scenarios import ScenarioError, ScenarioInvalid
from engine.load import load_file
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")
RULE_SET = 'kind: rule_set\ncode: test\nname: Test rules\nversion: "1"\ndefault_currency: EUR\n'


def _schema(kind: str) -> dict[str, Any]:
    return json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8"))


def _credit(quantity: str, more: str = "") -> str:
    return (
        "kind: credit_type\ncode: ct\nname: CT\nmeasure: amount\n---\n"
        "kind: organisation\ncode: org\nname: Org\n---\n"
        f"kind: credit\ncode: c1\ntype: ct\nholder: org\nquantity: {quantity}\n{more}"
    )


def _term(period: str, more: str = "", code: str = "T") -> str:
    return (
        f"kind: term\ncode: {code}\nname: {code}\nperiod: {period}\nunit: months\nbasis: calendar\n"
        f"early_cancellation: allowed\n{more}"
    )


def _validate(tmp_path: Path, text: str) -> tuple[list[Any], list[dict[str, Any]]]:
    """`validate`'s errors for a rule set of `text`, and the documents as billrules reads them."""
    (tmp_path / "ruleset.yaml").write_text(RULE_SET, encoding="utf-8")
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    found = [d for d in validate_paths([tmp_path]) if d.severity.value == "error"]
    return found, [d.data for d in load_file(tmp_path / "x.yaml").documents]


def _schema_takes(kind: str, documents: list[dict[str, Any]]) -> bool:
    [document] = [d for d in documents if d.get("kind") == kind]
    return not list(jsonschema.Draft7Validator(_schema(kind)).iter_errors(document))


# --- 1. rule files: the schema takes what `validate` takes -------------------------------------------

#: (YAML as written, quoted where text): numbers, text, exponents (YAML 1.2 reads `1e1` as a number)
RULE_VALUES = [
    "0", "-1", "0.01", "1", "2.5", "1e1", "1E-7", "0.0", "-0.5", "-.inf", '"1e1"', '"1E-7"', '"2.5e1"',
    '"0"', '"2e0"', '"0.00"', '"-1"', '"-0"', '"00"', '"0e5"', '"12.5"', '"abc"', '"1"',
]  # fmt: skip


@pytest.mark.parametrize("value", RULE_VALUES)
def test_the_credit_schema_takes_the_quantities_validate_takes(tmp_path: Path, value: str) -> None:
    """a3 F1: until 2026-12-04 credit.schema.json took `quantity: 0` and `-1`, which `validate` refuses."""
    found, documents = _validate(tmp_path, _credit(value))
    assert _schema_takes("credit", documents) == (found == []), (value, found)


@pytest.mark.parametrize("value", [*RULE_VALUES, "3", "0e0", "1.0"])
def test_the_term_schema_takes_the_periods_validate_takes(tmp_path: Path, value: str) -> None:
    """until 2026-12-04 term.schema.json said `minimum: 0`, and `validate` refuses 0 (BR410)."""
    found, documents = _validate(tmp_path, _term(value))
    assert _schema_takes("term", documents) == (found == []), (value, found)


def test_the_rule_schemas_state_the_bounds() -> None:
    quantity = _schema("credit")["properties"]["quantity"]
    assert quantity["exclusiveMinimum"] == 0 and not re.search(quantity["pattern"], "0.00")
    assert _schema("term")["properties"]["period"]["minimum"] == 1
    rules = _schema("rules")  # (the editor's schema of every kind says the same)
    for kind, field, bound in (("credit", "quantity", "exclusiveMinimum"), ("term", "period", "minimum")):
        found = _properties_of(rules, kind)[field]
        assert (bound, found[bound]) == (bound, _schema(kind)["properties"][field][bound])


def _properties_of(node: Any, kind: str) -> dict[str, Any]:
    """The `properties` of the subschema of `kind` somewhere in `node` (rules.schema.json)."""
    if isinstance(node, dict):
        properties = node.get("properties", {})
        if properties.get("kind", {}).get("const") == kind and len(properties) > 1:  # (not an `if`'s)
            return dict(properties)
        for value in node.values():
            found = _properties_of(value, kind)
            if found:
                return found
    if isinstance(node, list):
        for value in node:
            found = _properties_of(value, kind)
            if found:
                return found
    return {}


# --- 1b. ... and `validate` words those bounds as it did --------------------------------------------

QUANTITY = ("BR207", "`quantity`: must be more than 0", "see `billrules schema --kind credit` for the expected form")
ALONE = (
    "give the commitment a length greater than zero; one of zero length ends the day it starts and binds the "
    "customer to nothing (for no commitment, leave `term` out of the plan or bundle)"
)


@pytest.mark.parametrize("value", ["0", "-10", "0.0", '"0"', '"-1"', '"0.00"'])
def test_a_quantity_of_zero_or_below_is_still_br207_in_the_engines_words(tmp_path: Path, value: str) -> None:
    """tests/test_audit_eleventh.py::test_a_bound_is_worded_for_an_analyst: not jsonschema's
    "-10 is less than or equal to the minimum of 0" (BR206)."""
    [found], _ = _validate(tmp_path, _credit(value))
    assert (found.code, found.message, found.hint) == QUANTITY
    assert (found.line, found.column) == (14, 11)


def test_a_quantity_of_zero_beside_another_schema_problem_is_told_in_the_same_words(tmp_path: Path) -> None:
    """A document the schema refuses for another reason as well: both are told (the quantity in the
    models' words, not jsonschema's)."""
    found, _ = _validate(tmp_path, _credit("0", "colour: red\n"))
    assert sorted((d.code, d.message) for d in found) == [
        ("BR201", "unknown property `colour` in credit"),
        QUANTITY[:2],
    ]


def test_a_period_of_zero_is_still_br410(tmp_path: Path) -> None:
    """tests/cases/BR410-zero-commitment: not jsonschema's "0 is less than the minimum of 1" (BR206)."""
    [found], _ = _validate(tmp_path, _term("0"))
    assert (found.code, found.message, found.hint) == ("BR410", "term `T` has a zero commitment period", ALONE)
    assert (found.line, found.column) == (4, 9)


def test_a_period_of_zero_in_a_renewal_loop_still_names_the_loop(tmp_path: Path) -> None:
    """tests/cases/BR410-zero-commitment-loop: the semantics stage, which knows the other terms, words it."""
    text = _term("12", "renewal_term: B\n", code="A") + "---\n" + _term("0", "renewal_term: A\n", code="B")
    [found], _ = _validate(tmp_path, text)
    assert (found.code, found.message) == (
        "BR410",
        "term `B` has a zero commitment period and it renews in a loop (B → A → B)",
    )


@pytest.mark.parametrize(
    ("more", "message", "hint"),
    [
        ("", "term `T` has a zero commitment period", ALONE),
        (
            "renewal_term: N\n",
            "term `T` has a zero commitment period",
            "give the commitment a length greater than zero; one of zero length ends the day it starts and "
            "passes straight into `N` (to commit to `N` alone, make it the plan's or bundle's `term`)",
        ),
        (
            "renewal_term: T\n",
            "term `T` has a zero commitment period and it renews in a loop (T → T)",
            "give the commitment a length greater than zero; a renewal would otherwise never end",
        ),
    ],
)
def test_a_period_of_zero_beside_another_schema_problem_is_br410_as_the_semantics_words_it(
    tmp_path: Path, more: str, message: str, hint: str
) -> None:
    """Until 2026-12-04 such a term was dropped at the schema stage and its zero period not told at
    all; now BR410 beside the other problem, in the words the semantics stage gives the term alone."""
    extra = "---\n" + _term("6", code="N") if "N" in more else ""
    alone, _ = _validate(tmp_path, _term("0", more) + extra)
    assert [(d.code, d.message, d.hint) for d in alone] == [("BR410", message, hint)]
    found, _ = _validate(tmp_path, _term("0", more + "colour: red\n") + extra)
    assert sorted((d.code, d.message, d.hint) for d in found)[1:] == [("BR410", message, hint)]
    assert found[0].code == "BR201" or found[1].code == "BR201"


def test_a_negative_period_is_below_the_schemas_minimum(tmp_path: Path) -> None:
    """(tests/cases/BR206-range: "minimum of 0" until 2026-12-04, the schema's minimum then)"""
    [found], _ = _validate(tmp_path, _term("-1"))
    assert (found.code, found.message) == ("BR206", "`period`: -1 is less than the minimum of 1")


# --- 2. scenarios: the schema takes the whole numbers and percentages `decide` reads -----------------

SCENARIO = _schema("scenario")
AT = "2015-05-20T10:00:00+02:00"
CREDIT = {
    "code": "globex-fr-voice",
    "type": "voice-minutes",
    "quantity": 50,
    "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
    "holder": "globex-fr",
}


def _scenario(field: str, value: object) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "s", "as_of": "2015-05-20T18:00:00+02:00"}
    subscription: dict[str, Any] = {"code": "S1", "start": "2015-01-01", "plan": "tv-essentials-24"}
    if field == "credits[0].priority":
        data["credits"] = [{**CREDIT, "priority": value}]
    elif field == "subscription.products[0].quantity":
        data["subscription"] = {
            **subscription,
            "products": [{"product": "tv-essentials", "price": "0.01 EUR", "quantity": value}],
        }
    elif field == "purchase.coupon_redemptions.coupon_88":
        data["purchase"] = {"plan": "tv-essentials-24", "coupon_redemptions": {"coupon_88": value}}
    else:
        data["subscription"] = {**subscription, field.split(".")[1]: value}
    return data


def _schema_refuses(data: dict[str, Any], field: str) -> bool:
    for error in jsonschema.Draft7Validator(SCENARIO).iter_errors(data):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        if path == field:
            return True
    return False


def _decide_refuses(data: dict[str, Any], field: str) -> bool:
    try:
        RULES.decide(data)
    except ScenarioInvalid as exc:
        return field in {str(getattr(d, "field_path", "")) for d in exc.diagnostics}
    except ScenarioError as exc:
        return field in {e.field for e in (exc, *exc.also)}
    return False


WHOLE_FIELDS = [
    "credits[0].priority",
    "subscription.concurrent_usage",
    "subscription.products[0].quantity",
    "purchase.coupon_redemptions.coupon_88",
]
WHOLE_VALUES: list[object] = [
    0, -1, 0.01, 1, 2.0, 2.5, 10**15 - 1, 10**15, -(10**15),
    "1e1", "1E-7", "2.5e1", "2.5e0", "0", "2e0", "-0", "-1", "-2e0", "12", "12.0", "1e+1", "1E1",
    "100e-2", "120e-1", "125e-1", "0.5e1", "1.25e2", "1.255e2", "10.50e1", "0e5", "-0e5", "0.0", "-0.0",
    "999999999999999", "1000000000000000", "1e14", "1e15", "9.9e14", "99e14", "1.e1", ".5e1", "1e",
    "1_000", "+2", " 7", "7 ", "12.5", "abc", "", "0x10", "1e-0", "5e-1", "50e-1", "-3E+2",
]  # fmt: skip


@pytest.mark.parametrize("value", WHOLE_VALUES, ids=[repr(v) for v in WHOLE_VALUES])
@pytest.mark.parametrize("field", WHOLE_FIELDS)
def test_the_scenario_schema_takes_the_whole_numbers_decide_reads(field: str, value: object) -> None:
    """fx3's report item 4: until 2026-12-04 these fields were `type: integer`, and an editor marked
    `priority: "2e0"` or `concurrent_usage: "1e1"`, which `decide` reads; `"2.5e0"` (not whole)
    and `"1E-7"` it refuses, and so does the schema."""
    data = _scenario(field, value)
    assert _schema_refuses(data, field) == _decide_refuses(data, field), (field, value)


RATE_VALUES: list[object] = [
    0, -1, 0.01, 1, 15, 100, 100.5, 101, "15", "1e1", "1E-7", "2.5e1", "0", "2e0", "-0", "-1", "100", "100.0",
    "100.5", "101", "1e2", "1.001e2", "1E2", "0.1e3", "0.2e3", "0.05e3", "0.10001e3", "1000e-1", "1001e-1",
    "1000.5e-1", "12.5", "99.999", "15%", "abc", "1e3", "10.0e1", "10.5e1", "9.99e1", "0e9", "-0.0e1", ".5",
]  # fmt: skip


@pytest.mark.parametrize("value", RATE_VALUES, ids=[repr(v) for v in RATE_VALUES])
def test_the_scenario_schema_takes_the_percentages_decide_reads(value: object) -> None:
    """until 2026-12-04 `concurrent_usage_rate` was `type: number`: `"15"`, read, was marked."""
    field = "subscription.concurrent_usage_rate"
    data = _scenario(field, value)
    assert _schema_refuses(data, field) == _decide_refuses(data, field), value


def test_the_examples_of_the_brief_are_read_and_taken() -> None:
    """The cases named: `priority: "2e0"`, `concurrent_usage: "1e1"`, `concurrent_usage_rate: "15"`."""
    data = _scenario("credits[0].priority", "2e0")
    data["subscription"] = {
        "code": "S1",
        "start": "2015-01-01",
        "plan": "tv-essentials-24",
        "concurrent_usage": "1e1",
        "concurrent_usage_rate": "15",
    }
    assert list(jsonschema.Draft7Validator(SCENARIO).iter_errors(data)) == []
    for field in ("credits[0].priority", "subscription.concurrent_usage", "subscription.concurrent_usage_rate"):
        assert not _decide_refuses(data, field)


@pytest.mark.parametrize("value", [0, -1, 0.5, 1, "0", "0.5", "-1"])
def test_the_fast_path_still_models_the_credit_schema(value: object) -> None:
    """engine.schema's fast path takes `exclusiveMinimum` (else every credit document would be
    checked by jsonschema, a third slower), and agrees with jsonschema."""
    from engine.schema import _accepts

    accepts = _accepts("credit")
    assert accepts is not None
    document = {"kind": "credit", "code": "c1", "type": "ct", "holder": "org", "quantity": value}
    assert accepts(document) == (not list(jsonschema.Draft7Validator(_schema("credit")).iter_errors(document)))
