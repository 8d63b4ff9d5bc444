"""Session 22, fixer f3: credits' words (audit a1, F1-F3) and two rule-file checks (audit a5, F5
and F6), each with the outcome SPEC and README require."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import load_rules
from engine.diagnostics import Severity
from engine.validate import validate_paths
from tests.test_money_checks import edit, rules

REPO = Path(__file__).resolve().parent.parent
__all__ = ["rules"]  # the fixture (a copy of the shipped rules)

_RULESET = """kind: rule_set
code: audit
name: Audit
version: "1"
default_currency: EUR
rounding: half_up
"""

_ORGS = """kind: organisation
code: root
---
kind: organisation
code: a
parent: root
---
kind: organisation
code: a1
parent: a
---
kind: organisation
code: b
parent: root
"""

_TYPES = """kind: credit_type
code: net
name: Network
service: network
---
kind: credit_type
code: amt
name: Amount
service: mail
unit: e-mails
measure: amount
"""

_USERS = """kind: user
code: nobody
---
kind: user
code: kid
organisation: a1
credit_owner: nobody
---
kind: user
code: john
organisation: a
---
kind: user
code: peter
organisation: a1
credit_owner: john
"""


def _mini(tmp_path: Path, precedence: str = "") -> Any:
    root = tmp_path / "mini"
    root.mkdir()
    (root / "ruleset.yaml").write_text(_RULESET + precedence, encoding="utf-8")
    (root / "orgs.yaml").write_text(_ORGS, encoding="utf-8")
    (root / "types.yaml").write_text(_TYPES, encoding="utf-8")
    (root / "users.yaml").write_text(_USERS, encoding="utf-8")
    assert validate_paths([root]) == []
    return load_rules(root)


def _credit(code: str, holder: str, **changes: Any) -> dict[str, Any]:
    item = {"code": code, "type": "net", "quantity": 5, "holder": holder, "issued": "2015-01-01"}
    item.update(changes)
    return item


def _consumption(id: str, quantity: Any, credit_type: str = "net", **who: str) -> dict[str, Any]:
    return {"id": id, "credit_type": credit_type, "quantity": quantity, "at": "2015-01-02T01:00:00+00:00", **who}


def _decide(rules: Any, credits: list[dict[str, Any]], consumptions: list[dict[str, Any]]) -> dict[str, Any]:
    data = {"id": "s", "as_of": "2015-04-15T09:00:00+00:00", "credits": credits, "consumptions": consumptions}
    decision: dict[str, Any] = rules.decide(data, explain=True)
    return decision


def _why(decision: dict[str, Any], request: str) -> dict[str, dict[str, Any]]:
    [entry] = [w for w in decision["credits"]["why"] if w["request"] == request]
    return {c["credit"]: c["verdict"] for c in entry["credits"]}


# --- F1: `why` lists a credit user's own organisation's credits when the owner has none ---------


def test_why_lists_the_credit_users_own_organisations_credits_when_the_owner_has_no_organisation(
    tmp_path: Path,
) -> None:
    rules = _mini(tmp_path)
    decision = _decide(
        rules,
        [
            _credit("nb", "nobody", quantity=2),
            _credit("a1-own", "a1", allocation="this_organisation"),
            _credit("root-sh", "root", allocation="all_organisations"),
            _credit("b-own", "b", allocation="this_organisation"),
        ],
        [_consumption("K1", 3, user="kid")],
    )
    [refused] = decision["credits"]["refused"]
    assert refused["request"] == "K1"  # (the decision itself: only the owner's credit is a candidate)
    why = _why(decision, "K1")
    assert set(why) == {"nb", "a1-own", "root-sh", "b-own"}  # (until 2026-12-03: `nb` alone)
    own = why["a1-own"]
    assert own["code"] == "owner_credits_only"
    assert own["facts"] == {
        "holder": "a1",
        "relation": "user `kid`'s organisation",
        "user": "kid",
        "owner": "nobody",
        "organisation": None,
    }
    assert own["text"] == (
        "held by `a1`, user `kid`'s organisation: `kid` draws on the credits of credit owner `nobody` "
        "(who has no organisation), not on their own organisation's"
    )
    assert why["root-sh"]["code"] == "owner_credits_only"
    assert why["root-sh"]["facts"]["relation"] == "an ancestor of user `kid`'s organisation `a1` (2 levels up)"
    # a credit off the user's own chain is told from the user's own organisation
    assert why["b-own"]["code"] == "this_organisation_only"
    assert why["b-own"]["text"] == "allocated to this organisation only and held by `b`, in another branch"


def test_why_for_a_credit_user_whose_owner_has_an_organisation_is_unchanged(tmp_path: Path) -> None:
    rules = _mini(tmp_path)
    decision = _decide(
        rules,
        [
            _credit("a1-own", "a1", allocation="this_organisation"),
            _credit("a-own", "a", allocation="this_organisation"),
        ],
        [_consumption("P1", 1, user="peter")],
    )
    why = _why(decision, "P1")
    assert why["a-own"]["code"] == "used"
    assert why["a1-own"]["text"] == (
        "held by `a1`, user `peter`'s organisation: `peter` draws on the credits of credit owner `john` "
        "(organisation `a`), not on their own organisation's"
    )


# --- F2: a refusal writes what the candidates hold as the credits write it ------------------------


def test_a_refusal_writes_what_the_candidates_hold_without_the_requests_digits(tmp_path: Path) -> None:
    rules = _mini(tmp_path)
    credits = [
        _credit("c1", "b", type="amt", quantity="0.1", allocation="this_organisation"),
        _credit("c2", "b", type="amt", quantity="0.2", allocation="this_organisation"),
    ]
    decision = _decide(rules, credits, [_consumption("B", "0.300000001", credit_type="amt", organisation="b")])
    [refused] = decision["credits"]["refused"]
    [reason] = refused["reasons"]
    assert reason["facts"]["available"] == "0.3"  # (until 2026-12-03 "0.300000000")
    assert reason["text"] == "refused whole: 0.300000001 asked, the candidates hold 0.3"
    assert decision["credits"]["allocations"] == []  # refused whole: nothing drawn


# --- F3: "tied on every other key" only when the two credits are -----------------------------------


def _ties(tmp_path: Path, precedence: str) -> dict[str, dict[str, Any]]:
    rules = _mini(tmp_path, precedence)
    period = {"from": "2015-01-01", "to": "2015-12-31"}
    shared = {"allocation": "all_organisations", "usage_period": period, "quantity": 1}
    decision = _decide(
        rules,
        [
            _credit("c-root-A", "root", **shared),
            _credit("c-root-B", "root", **shared),
            _credit("c-root-early", "root", **{**shared, "issued": "2014-12-01"}),
        ],
        [_consumption("R1", 3, organisation="a1")],
    )
    return _why(decision, "R1")


def test_an_id_decided_tie_under_a_declared_order_names_the_keys_it_compared(tmp_path: Path) -> None:
    why = _ties(tmp_path, "credit_precedence: [expiry, tree_distance, id]\n")
    early = why["c-root-early"]
    assert early["facts"]["after"] == "c-root-B" and early["facts"]["decided_by"] == "id"
    # c-root-early was issued a month before c-root-B: not tied on issue date, a key left out
    assert early["facts"]["tied_on"] == ["expiry", "tree_distance"]
    assert early["text"] == (
        "used: rank 3, 1 drawn, 0 left; after `c-root-B`, whose id comes first "
        "(tied on every other key of the precedence order: expiry, tree_distance)"
    )
    # two credits alike in every key are tied on every other key
    assert "tied_on" not in why["c-root-B"]["facts"]
    assert why["c-root-B"]["text"].endswith("after `c-root-A`, whose id comes first (tied on every other key)")


def test_an_order_of_ids_alone_says_so(tmp_path: Path) -> None:
    why = _ties(tmp_path, "credit_precedence: [id]\n")
    assert why["c-root-early"]["facts"]["tied_on"] == []
    assert why["c-root-early"]["text"].endswith(
        "after `c-root-B`, whose id comes first (the precedence order compares ids alone)"
    )


def test_the_default_order_still_says_tied_on_every_other_key(tmp_path: Path) -> None:
    why = _ties(tmp_path, "")
    # (the issue date puts c-root-early first; A and B are alike in every key)
    assert why["c-root-early"]["facts"]["rank"] == 1
    assert why["c-root-A"]["facts"]["decided_by"] == "issue_date"
    assert why["c-root-B"]["text"].endswith("whose id comes first (tied on every other key)")


# --- F6: a coupon whose bundle grants no discount (BR433, a warning) --------------------------------


def test_a_coupon_whose_bundle_grants_no_discount_is_a_warning(rules: Path) -> None:
    assert validate_paths([rules]) == []  # the shipped rules stay clean
    edit(rules / "catalog/bundles.yaml", "discounts: [welcome-sports-half]\n", "")
    found = [d for d in validate_paths([rules]) if d.code == "BR433"]
    assert [(d.severity, d.message, d.hint) for d in found] == [
        (
            Severity.WARNING,
            "coupon `welcome-sports` grants bundle `welcome-sports-bundle`, which has no discounts: a redeemed "
            "code sells the bundle's products at full price",
            "list the discounts the coupon gives under `discounts:` of bundle `welcome-sports-bundle`, "
            "or grant a bundle that has them",
        )
    ]
    assert found[0].file.endswith("coupons.yaml")


# --- F5: a billing frequency on a product that is not termed (BR434, a warning) ---------------------


def test_a_billing_frequency_on_a_one_time_product_is_a_warning(rules: Path) -> None:
    edit(
        rules / "catalog/products.yaml",
        "type: one_time\nprice: 149.00 EUR\n",
        "type: one_time\nprice: 149.00 EUR\nbilling_frequency: monthly\n",
    )
    [found] = validate_paths([rules])
    assert (found.code, found.severity) == ("BR434", Severity.WARNING)
    assert found.message == (
        "product `set-top-box` is `one_time` but names `billing_frequency: monthly`: only termed products are "
        "billed at a frequency, and no discount reduces a one-time product, so it is never used"
    )
    assert found.hint == "remove `billing_frequency`, or make the product `type: termed` if it is billed every period"
    assert found.file.endswith("products.yaml")


def test_a_billing_frequency_on_a_usage_product_is_no_warning(rules: Path) -> None:
    """A usage or expense product's frequency is the period its line charges (a free period's
    share reads it): BR434 is for one-time products only (the review of 2026-12-03)."""
    text = (rules / "catalog/products.yaml").read_text(encoding="utf-8")
    assert "type: usage\n" in text
    edit(rules / "catalog/products.yaml", "type: usage\n", "type: usage\nbilling_frequency: monthly\n")
    assert [d.code for d in validate_paths([rules])] == []
