"""Findings of the twenty-first session's audits (2026-12-03), coupons, purchases, `billrules test`
and `billrules diff` (fixer F3), each with the case that showed it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_rules
from engine.diff import GitRevisionError, extract_git_rules
from tests.test_diff import _copy_rules, _git
from tests.test_test_command import RULES, run_cli

REPO = Path(__file__).resolve().parent.parent


#: the seed's coupon example bought on its own, with no subscription (so no plan): coupon_87 takes
#: 20 % off the Additional Service add-on, 10.00 USD → 8.00 USD
ADD_ON_ALONE = """\
id: add-on-alone
as_of: 2015-07-10T10:00:00Z
purchase:
  add_ons: [additional-service-bundle]
  coupons: [coupon_87]
"""


def _expecting(tmp_path: Path, expect: str, name: str = "expect.yaml") -> Path:
    """The add-on bought on its own with coupon_87, and this `expect:`."""
    path = tmp_path / name
    path.write_text(f"{ADD_ON_ALONE}expect:\n{expect}", encoding="utf-8")
    return path


def test_quoted_text_does_not_match_the_decisions_null_or_number(tmp_path: Path) -> None:
    quoted = _expecting(
        tmp_path,
        '  purchase:\n    plan: "null"\n'
        '    coupons: [{code: coupon_87, reasons: [{code: coupon_redeemed, facts: {use: "1"}}]}]\n',
    )
    code, out = run_cli(["test", "--rules", RULES, str(quoted)])
    assert code == 1
    assert "expected `null` (text), the decision has nothing here" in out
    assert "hint: write `null` without quotes" in out
    assert "expected `1` (text), the decision has `1` here" in out
    assert '- expected: "1"' in out and "+ actual:   1" in out
    assert "hint: write `1` without quotes" in out
    assert "0 passed, 1 failed" in out
    # written as YAML writes the decision's values, they pass; money written as text still matches
    plain = _expecting(
        tmp_path,
        "  purchase:\n    plan: null\n"
        "    coupons: [{code: coupon_87, reasons: [{code: coupon_redeemed, facts: {use: 1}}]}]\n"
        '    price: {USD: {net: "8 USD", gross: 10.00 USD}}\n',
        "plain.yaml",
    )
    code, out = run_cli(["test", "--rules", RULES, str(plain)])
    assert (code, out.splitlines()[-1]) == (0, "1 passed, 0 failed"), out


def test_a_null_expected_does_not_match_the_text_null(tmp_path: Path) -> None:
    from engine.expectations import compare

    assert [m.render() for m in compare({"note": None}, {"note": "null"})] == ["expected nothing, got `null`"]
    assert list(compare({"note": None}, {"note": None})) == []
    assert list(compare({"n": "12.50 EUR", "m": 3.0}, {"n": "12.5 EUR", "m": 3})) == []


def test_lines_matched_by_a_key_they_lack_name_the_key_they_have(tmp_path: Path) -> None:
    lines = _expecting(tmp_path, "  purchase:\n    lines: [{line: 0, net: 8.00 USD}]\n")
    code, out = run_cli(["test", "--rules", RULES, str(lines)])
    assert code == 1
    assert "None" not in out
    assert (
        "no item with line `0` in the decision: its items here have no `line`, they are matched by "
        "`product` (it has: additional-service)"
    ) in out
    assert "hint: write `product:` instead of `line:`" in out
    by_product = _expecting(
        tmp_path, "  purchase:\n    lines: [{product: additional-service, net: 8.00 USD}]\n", "p.yaml"
    )
    assert run_cli(["test", "--rules", RULES, str(by_product)])[0] == 0


def test_items_that_lack_the_key_and_share_none_list_their_keys() -> None:
    from engine.expectations import compare

    found = list(compare({"xs": [{"code": "a"}]}, {"xs": [{"name": "b", "n": 1}, {"name": "c"}]}))
    assert [m.render() for m in found] == [
        "no item with code `a` in the decision: its items here have no `code` (their keys: `name`, `n`)"
    ]
    some = list(compare({"xs": [{"code": "a"}]}, {"xs": [{"code": "b"}, {"name": "c"}]}))
    assert [m.render() for m in some] == ["no item with code `a` in the decision (it has: b)"]
    none = list(compare({"xs": [{"code": "a"}]}, {"xs": []}))
    assert [m.render() for m in none] == ["no item with code `a` in the decision (it has: none)"]


def test_git_rules_tell_no_repository_an_unknown_revision_and_a_missing_folder_apart(tmp_path: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(GitRevisionError, match=r"`git:HEAD:rules`: `.*plain` is not in a git repository"):
        extract_git_rules("git:HEAD:rules", tmp_path / "x", cwd=outside)
    repo = tmp_path / "repo"
    repo.mkdir()
    _copy_rules(repo)
    _git(repo, "init", "-q")
    _git(repo, "add", "rules")
    _git(repo, "commit", "-q", "-m", "rules")
    for spec, says in (
        ("git:nonexistentrev:rules", "unknown revision `nonexistentrev` in this git repository (write a branch"),
        ("git:HEAD~1:rules", "unknown revision `HEAD~1`"),
        ("git:HEAD:nofolder", "no folder `nofolder` at revision `HEAD` in this git repository"),
    ):
        with pytest.raises(GitRevisionError) as raised:
            extract_git_rules(spec, tmp_path / "x", cwd=repo)
        assert says in str(raised.value), spec
    assert extract_git_rules("git:HEAD:rules", tmp_path / "x", cwd=repo) == tmp_path / "x"
    assert (tmp_path / "x" / "ruleset.yaml").is_file()


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ｃｏｕｐｏｎ＿８９", "coupon_89"),  # full-width: its NFKC form, a code (it named `coupon_91`)
        ("coupon_8٩", "coupon_89"),  # an Arabic-Indic 9 (it was read as 0: `coupon_87`)
        ("ＣＯＵＰＯＮ＿８８", "coupon_88"),  # full-width and upper case
        ("coupon_\u200b８８", "coupon_88"),  # a zero-width space too
        ("ｃｏｕｐｏｎ＿９９", None),  # it spells no code: no suggestion (not another customer's)
        ("coupon_9٩", None),
    ],
)
def test_a_code_in_full_width_or_other_digits_suggests_the_code_it_spells(typed: str, meant: str | None) -> None:
    from engine.coupons import index_of

    assert index_of(load_rules(REPO / "rules")).nearest(typed) == meant


def test_a_character_the_charset_lacks_is_not_read_as_zero() -> None:
    from engine.coupons import index_of

    space = index_of(load_rules(REPO / "rules")).spaces["minus-20"]
    assert space.near("coupon_8x") == {"coupon_87", "coupon_91"}  # (it added `coupon_87` as "80")
    assert space.near("coupon_9x") == {"coupon_87", "coupon_91"}
    assert space.near("coupon_89") == {"coupon_87", "coupon_89", "coupon_91"}


def test_a_full_width_code_stays_unknown_and_its_hint_names_the_code_it_spells() -> None:
    from engine.decide.decision import decide
    from engine.decide.scenarios import validate_scenario

    data = {
        "id": "full-width",
        "as_of": "2015-07-10T10:00:00Z",
        "purchase": {"add_ons": ["additional-service-bundle"], "coupons": ["ｃｏｕｐｏｎ＿８９", "coupon_8٩"]},
    }
    checked = validate_scenario(data, None, "full-width.json")
    assert checked.scenario is not None and not checked.diagnostics
    coupons = decide(load_rules(REPO / "rules"), checked.scenario)["purchase"]["coupons"]
    assert [(c["code"], c["status"], c["reasons"][0]["facts"]) for c in coupons] == [
        ("ｃｏｕｐｏｎ＿８９", "rejected", {"code": "ｃｏｕｐｏｎ＿８９", "nearest": "coupon_89"}),
        ("coupon_8٩", "rejected", {"code": "coupon_8٩", "nearest": "coupon_89"}),
    ]
