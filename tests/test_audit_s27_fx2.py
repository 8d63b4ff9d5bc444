"""Audit fixes of the twenty-seventh session (2026-12-04), fixer fx2.

- A `products` section listing N products (every one must be present, SPEC 3.3) compiled to one
  `any p in subscription.products where p.product == "x"` lookup per product, each its own atom
  and constant: 10,000 products made 1.6 MB of source that Python's `compile` took 7 s over on
  the first decision. An `and` of such lookups (one tuple each, the same list and fields) is now
  one test that every wanted tuple is among the list's (`K <= t`): the source no longer grows
  with the products listed, and every outcome is the same as before.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from engine import load_rules
from engine.criteria import compile as criteria_compile
from engine.criteria import explain
from engine.criteria.check import check_condition
from engine.criteria.compile import RuleSetCompiler
from engine.criteria.environment import scenario_environment
from engine.criteria.explain import Explainer
from engine.criteria.parse import parse
from engine.decide.decision import to_json
from engine.models.scenario import Scenario
from engine.ruleset import RuleSet
from tests.test_criteria_compiled_forms import scenarios
from tests.test_criteria_properties import locate

REPO = Path(__file__).resolve().parent.parent
ENV = scenario_environment()


def _any(*tests: str) -> str:
    """`(any p in subscription.products where …)`, its tests joined with `and`."""
    return "(any p in subscription.products where " + " and ".join(tests) + ")"


P, Q, X = 'p.product == "p"', 'p.product == "q"', 'p.product == "x"'
B = 'p.bundle == "b"'
IN_P, IN_PQ = 'p.product in {"p"}', 'p.product in {"p", "q"}'
RESIDENTIAL = 'account.classification == "Residential"'

#: `and`s of product lookups: merged (one tuple each, same fields), partly merged, and not merged
#: (a set of two values, a money test, negated, inside a quantifier), beside other conditions
TEXTS = [
    f"{_any(P)} and {_any(Q)}",
    f"{_any(P)} and {_any(P)}",
    f"{_any(P)} and {_any(IN_P)} and {_any(X)}",
    f"{_any(P)} and {_any(P, B)} and {_any(B, Q)} and {_any(Q)}",
    f"{_any(P)} and {_any(IN_PQ)} and {_any(Q)}",
    f"{_any(P)} and {RESIDENTIAL} and {_any(Q)}",
    f'{_any(P)} and {_any(Q)} or account.classification == "SME"',
    f"not ({_any(P)} or {_any(Q)})",
    f"not ({_any(P)} and {_any(Q)})",
    f"{_any('p.price >= 2.00 EUR')} and {_any(P)} and {_any(Q)}",
    f"any u in usage where {_any(P)} and {_any(Q)}",
]


def _compiled(texts: list[str]) -> Any:
    compiler = RuleSetCompiler(ENV)
    for text in texts:
        compiler.add(check_condition(parse(text, locate), ENV))
    return compiler.build()


def test_merged_lookups_change_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    merged = _compiled(TEXTS[:1]).source
    monkeypatch.setattr(criteria_compile, "MERGE_LOOKUPS", False)
    separate = _compiled(TEXTS[:1]).source
    assert merged.count(" <= _t0_0") == 1 and "isdisjoint" not in merged, merged
    assert separate.count("isdisjoint") == 2, separate
    assert _MERGED.source != _SEPARATE.source


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_merged_lookups_give_the_outcomes_of_separate_ones(scenario: Scenario) -> None:
    """Every text's outcome is the one its lookups give evaluated one by one (the products drawn
    are "p" alone: with "q" too, below, where each product may be there or not)."""
    assert _MERGED.function(scenario) == _SEPARATE.function(scenario)
    assert _MERGED.masked_function(scenario, _MERGED.mask([0, 3, 5])) == _SEPARATE.masked_function(
        scenario, _SEPARATE.mask([0, 3, 5])
    )


def test_merged_lookups_over_every_bill_of_products() -> None:
    """Bills of every combination of the products the texts name (with and without a bundle), an
    empty bill, a subscription without lines and none at all."""
    lines = [{"product": "p"}, {"product": "q"}, {"product": "p", "bundle": "b"}, {"product": "q", "bundle": "b"}]
    bills: list[list[dict[str, Any]] | None] = [None]
    for mask in range(1 << len(lines)):
        bills.append([line for k, line in enumerate(lines) if mask >> k & 1])
    checked = 0
    for bill in [*bills, "no subscription"]:
        data: dict[str, Any] = {"id": "c", "as_of": "2015-07-01T00:00:00+00:00", "account": {"code": "A"}}
        if bill != "no subscription":
            data["subscription"] = {"code": "S", "start": "2015-01-01"}
            if bill is not None:
                data["subscription"]["products"] = bill
        scenario = Scenario.model_validate(data)
        assert _MERGED.function(scenario) == _SEPARATE.function(scenario), data
        checked += 1
    assert checked == 18


def _both() -> tuple[Any, Any]:
    merged = _compiled(TEXTS)
    was, criteria_compile.MERGE_LOOKUPS = criteria_compile.MERGE_LOOKUPS, False
    try:
        separate = _compiled(TEXTS)
    finally:
        criteria_compile.MERGE_LOOKUPS = was
    return merged, separate


_MERGED, _SEPARATE = _both()


# --- a `products` section of many products, end to end ------------------------------------------------


def _sections_rules(tmp_path: Path, listed: int) -> RuleSet:
    """The shipped rules and `listed` products, with a discount whose `products` section lists them all."""
    root = tmp_path / f"rules_{listed}"
    shutil.copytree(REPO / "rules", root)
    docs = [
        f"kind: product\ncode: gp-{i:04d}\nname: P {i}\ntype: termed\nprice: 1.00 EUR\nbilling_frequency: monthly\n"
        for i in range(listed)
    ]
    products = "\n".join(f"    - product: gp-{i:04d}" for i in range(listed))
    docs.append(
        "kind: discount\ncode: all-products\nname: All products\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 1, level: 1}\n"
        "discounted_products:\n  - product_type: termed\nvalidity: {effective: 2015-01-01}\n"
        f"criteria:\n  products:\n{products}\n"
    )
    (root / "gen.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return load_rules(root)


def _bill(products: list[str]) -> dict[str, Any]:
    return {
        "id": "sections",
        "as_of": "2015-07-01T02:00:00+02:00",
        "account": {"code": "A", "classification": "Residential"},
        "subscription": {
            "code": "S",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
            "status_history": [{"status": "active", "from": "2015-01-01"}],
            "products": [{"product": p} for p in products],
            "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
        },
    }


def _definition(decision: dict[str, Any], code: str) -> dict[str, Any]:
    return next(x for x in decision["discounts"]["definitions"] if x["code"] == code)


def test_the_code_of_a_products_section_does_not_grow_with_its_products(tmp_path: Path) -> None:
    """40 and 400 products listed: the same source length (one constant holds the products); until
    2026-12-04 each product added its own lookup, about 150 characters (10,000: 1.6 MB)."""
    sizes = []
    for listed in (40, 400):
        rules = _sections_rules(tmp_path, listed)
        source = rules.criteria.compiled.source
        assert source.count(" <= _t0_0") >= 1
        sizes.append((len(source), source.count("isdisjoint"), len(rules.criteria.compiled._masked_source())))
    assert sizes[0] == sizes[1], sizes


@pytest.mark.parametrize("explain", [False, True])
def test_a_products_section_decides_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, explain: bool) -> None:
    """All listed products present: applied; one or two missing, or none: not eligible, the missing
    ones named; the same decisions (and traces) with the lookups merged and separate."""
    rules = _sections_rules(tmp_path, 40)
    listed = [f"gp-{i:04d}" for i in range(40)]
    bills = {
        "all": listed,
        "all, twice, and others": [*listed, "tv-essentials", *reversed(listed)],
        "the last missing": listed[:-1],
        "two missing": [*listed[1:-1], "kids-pack"],
        "none": ["tv-essentials"],
        "no lines": [],
    }
    merged = {name: rules.decide(_bill(bill), explain=explain) for name, bill in bills.items()}
    statuses = {name: _definition(d, "all-products")["status"] for name, d in merged.items()}
    assert statuses == {
        "all": "applied",
        "all, twice, and others": "applied",
        "the last missing": "not_eligible",
        "two missing": "not_eligible",
        "none": "not_eligible",
        "no lines": "not_eligible",
    }
    missing = [r["facts"]["product"] for r in _definition(merged["two missing"], "all-products")["reasons"]]
    assert missing == ["gp-0000", "gp-0039"]
    monkeypatch.setattr(criteria_compile, "MERGE_LOOKUPS", False)
    separate_rules = _sections_rules(tmp_path / "separate", 40)
    assert "isdisjoint" in separate_rules.criteria.compiled.source
    for name, bill in bills.items():
        separate = separate_rules.decide(_bill(bill), explain=explain)
        assert _comparable(separate) == _comparable(merged[name]), name


def _comparable(decision: dict[str, Any]) -> str:
    """The decision's text without what names the rule set (its version, its files)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("rules_version", "source")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return str(to_json(strip(decision)))


# --- the trace of such a section: each item's step made at once ----------------------------------------


def _traces(rules: RuleSet, bills: dict[str, list[dict[str, Any]] | None]) -> dict[str, str]:
    out = {}
    for name, lines in bills.items():
        data = _bill([])
        if lines is None:
            del data["subscription"]["products"]
        else:
            data["subscription"]["products"] = lines
        decision = rules.decide(data, explain=True)
        out[name] = to_json({"trace": decision["trace"], "definitions": decision["discounts"]["definitions"]})
    return out


def test_the_trace_of_text_comparisons_is_as_the_generic_walk_made_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item steps made at once (`p.product == "x"`, `!=`, a bundle missing on some lines) are the
    steps the generic walk records, in the same order, beside the items it still explains (a line
    without a bundle, a `where` of two tests); the trace's text and data alike."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "extra.yaml").write_text(
        "kind: discount\ncode: texts\nname: Texts\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 1, level: 1}\n"
        "discounted_products:\n  - product_type: termed\nvalidity: {effective: 2015-01-01}\n"
        "criteria:\n"
        "  products:\n    - product: tv-essentials\n    - product: kids-pack\n      bundle: entertainment-pick\n"
        '  when: >-\n    (any p in subscription.products where p.product != "kids-pack")\n'
        '    and (any p in subscription.products where p.bundle == "entertainment-pick")\n'
        '    and not (any p in subscription.products where "movies-pack" == p.product)\n',
        encoding="utf-8",
    )
    rules = load_rules(root)
    bills: dict[str, list[dict[str, Any]] | None] = {
        "both": [{"product": "tv-essentials"}, {"product": "kids-pack", "bundle": "entertainment-pick"}],
        "other bundle": [
            {"product": "kids-pack", "bundle": "tv-premium-bundle"},
            {"product": "tv-essentials", "bundle": "entertainment-pick"},
        ],
        "none": [],
        "missing list": None,
    }
    fast = _traces(rules, bills)
    assert '"subject":"p.product","actual":"kids-pack","op":"!=","expected":"\\"kids-pack\\""' in fast["both"]
    assert '"missing":"subscription.products[0].bundle"' in fast["both"]
    monkeypatch.setattr(explain, "FAST_TEXT_ITEMS", False)
    assert _traces(rules, bills) == fast


def test_a_trace_of_a_products_section_judges_no_item_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section of 40 products over a bill of 40 lines: the trace has every item's step (1,600 of
    them, as before), but judges none through the generic walk (until 2026-12-04 each of the 1,600
    went through `_judge`, `_facts` and `_sentence`)."""
    rules = _sections_rules(tmp_path, 40)
    listed = [f"gp-{i:04d}" for i in range(40)]
    bill = _bill([*listed[:-1], "kids-pack"])
    rules.decide(bill, explain=True)
    judged = 0
    judge = Explainer._judge

    def counted(self: Explainer, node: Any, scope: dict[str, Any]) -> Any:
        nonlocal judged
        judged += 1
        return judge(self, node, scope)

    monkeypatch.setattr(Explainer, "_judge", counted)
    fast = rules.decide(bill, explain=True)
    steps = fast["trace"]["discount:all-products"][0]["steps"]
    assert len(steps) == 40 * 40 + 40
    assert steps[-1]["condition"] == 'any p in subscription.products where p.product == "gp-0039"'
    assert (steps[-1]["verdict"], steps[-1]["matched"], steps[-1]["count"]) == ("does not hold", 0, 40)
    assert steps[0] == {
        "condition": 'p.product == "gp-0000"',
        "verdict": "holds",
        "subject": "p.product",
        "actual": "gp-0000",
        "op": "==",
        "expected": '"gp-0000"',
        "kind": "compare",
        "source": steps[0]["source"],
    }
    # the other definitions' conditions only (about 50 here); 1,600 and more until 2026-12-04
    assert judged < 200, judged
    monkeypatch.setattr(explain, "FAST_TEXT_ITEMS", False)
    assert _comparable(rules.decide(bill, explain=True)) == _comparable(fast)
    assert judged > 40 * 40
