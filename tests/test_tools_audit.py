"""The analysts' and CI's tools, and the arithmetic under every decision, as audits of 2026-12-01
(seventh session) found them wanting: `billrules test` passing a credit order that is wrong and
comparing money as text, `validate` passing where there is no rule set, one YAML syntax error
drowning in reference errors it caused, an indentation mistake with the wrong hint, decisions
that depended on the caller's decimal context, and numbers Python reads but the schemas refuse."""

from __future__ import annotations

import copy
import decimal
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from shipped_bills import retention

from engine import load_rules
from engine.expectations import compare
from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")


def _billrules(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd, check=False)


# --- billrules test: lists in order, money by value, every alert ----------------------------------

ALLOCATIONS = [
    {"request": "R1", "credit": "own", "quantity": "3", "rank": 1},
    {"request": "R1", "credit": "shared", "quantity": "1", "rank": 2},
    {"request": "R1", "credit": "parent", "quantity": "2", "rank": 3},
]


def _mismatches(expected: Any, actual: Any) -> list[str]:
    return [m.render() for m in compare(expected, actual)]


def test_credit_allocations_expected_in_another_order_do_not_pass() -> None:
    actual = {"credits": {"allocations": ALLOCATIONS}}
    reverse = {"credits": {"allocations": [{"credit": c} for c in ("parent", "shared", "own")]}}
    [problem] = _mismatches(reverse, actual)
    assert problem.startswith("out of order")
    assert _mismatches({"credits": {"allocations": [{"credit": "own"}, {"credit": "parent"}]}}, actual) == []


def test_an_allocation_is_found_by_every_value_written_not_the_first_with_its_request() -> None:
    # all three share request R1: `{request: R1, credit: shared}` is the second, not a mismatch
    actual = {"credits": {"allocations": ALLOCATIONS}}
    assert (
        _mismatches({"credits": {"allocations": [{"request": "R1", "credit": "shared", "quantity": 1}]}}, actual) == []
    )
    [problem] = _mismatches(
        {"credits": {"allocations": [{"request": "R1", "credit": "shared", "quantity": 2}]}}, actual
    )
    assert problem == "expected `2`, got `1`"


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        ("20 EUR", "20.00 EUR", True),
        ("166.6 EUR", "166.60 EUR", True),
        (-15.0, "-15", True),
        ("2.0", "2", False),  # text stays text: "0042" is not 42
        ("0042", "42", False),
        (2.0, "2", True),
        ("20 EUR", "20.00 USD", False),
        ("20.01 EUR", "20.00 EUR", False),
        (True, "1", False),
    ],
)
def test_money_and_numbers_compare_by_value(expected: Any, actual: Any, same: bool) -> None:
    assert (_mismatches({"x": expected}, {"x": actual}) == []) is same


def test_every_alert_must_be_expected() -> None:
    actual = {
        "balance": {
            "alerts": [{"code": "balance_below_threshold", "text": "t"}, {"code": "balance_below_zero", "text": "z"}]
        }
    }
    [problem] = _mismatches({"balance": {"alerts": [{"code": "balance_below_zero"}]}}, actual)
    assert problem.startswith("the decision has 1 more alert than expected")


# --- validate: no rule set, consequential errors, indentation --------------------------------------


def test_validate_where_there_is_no_rule_set_is_a_usage_error_not_a_pass(tmp_path: Path) -> None:
    done = _billrules("validate", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no rule set found" in done.stderr
    hook = _billrules("validate", "--ignore-outside", cwd=tmp_path)  # a hook's commit without rule files
    assert hook.returncode == 0, hook.stdout + hook.stderr
    (tmp_path / "empty").mkdir()
    empty = _billrules("validate", "empty", cwd=tmp_path)
    assert empty.returncode == 1 and "BR110" in empty.stdout, empty.stdout + empty.stderr


def test_a_yaml_syntax_error_is_not_drowned_in_the_unknown_references_it_causes(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    products = rules / "catalog" / "products.yaml"
    products.write_text(
        products.read_text(encoding="utf-8") + "\n---\nkind: product\n  bad: [unclosed\n", encoding="utf-8"
    )
    codes = [d.code for d in validate_paths([rules])]
    assert codes == ["BR104"], codes  # not 60 "unknown product" errors in bundles and discounts
    # a reference of another kind is still checked
    plans = rules / "catalog" / "plans.yaml"
    plans.write_text(
        plans.read_text(encoding="utf-8").replace("term: commit-24m", "term: commit-24", 1), encoding="utf-8"
    )
    codes = [d.code for d in validate_paths([rules])]
    assert sorted(codes) == ["BR104", "BR302"], codes


def test_a_key_indented_deeper_than_its_siblings_gets_a_hint_about_indentation(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    path = rules / "discounts" / "extra.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            kind: discount
            code: extra
            name: Extra
            type: auto_apply
            classification: subscription
            applied_service_type: non_usage
            state: effective
            amount:
              type: percentage
               value: 10
            """
        ),
        encoding="utf-8",
    )
    [diagnostic] = validate_paths([rules])
    assert diagnostic.code == "BR104"
    assert diagnostic.hint.startswith("this line is indented 3 spaces, the line above 2")


# --- the arithmetic of decisions -------------------------------------------------------------------

BALANCE = {
    "id": "b",
    "as_of": "2015-09-30T18:00:00+02:00",
    "balance": {
        "policy": "standard-balance",
        "opening": "12345.5",
        "events": [
            {"id": "E1", "type": "debit", "amount": "0.25", "request": "s1", "at": "2015-09-03T10:00:00+02:00"},
            {"id": "E2", "type": "grant", "amount": "1000000", "at": "2015-09-04T10:00:00+02:00"},
            {"id": "E3", "type": "debit", "amount": "1", "request": "s2", "at": "2015-09-05T10:00:00+02:00"},
        ],
    },
}


@pytest.mark.parametrize("precision", [6, 12, 28, 50])
def test_a_decision_does_not_depend_on_the_callers_decimal_context(precision: int) -> None:
    # a service that works with 6 digits got 1012350 for 1012344.25, totals that no longer added up
    with decimal.localcontext() as context:
        context.prec = precision
        balance = RULES.decide(copy.deepcopy(BALANCE))["balance"]
        assert decimal.getcontext().prec == precision  # the caller's context, set back
    assert balance["closing"] == "1012344.25"
    assert [e["balance"] for e in balance["ledger"]] == ["12345.25", "1012345.25", "1012344.25"]


def test_a_percentage_of_an_amount_at_the_limits_is_rounded_from_its_exact_value(tmp_path: Path) -> None:
    # 300000500000300.000000003 * 33.333333333 % = 100000166665766.66499999999999999999 exactly:
    # half-up gives …766.66; 28-digit arithmetic rounded the product up to …766.665 first, then .67
    root = tmp_path / "rules"
    root.mkdir()
    (root / "ruleset.yaml").write_text("kind: rule_set\ncode: p\nname: P\nversion: '1'\ndefault_currency: EUR\n")
    (root / "rules.yaml").write_text(
        "kind: product\ncode: svc\nname: S\ntype: termed\nprice: 10.00 EUR\nbilling_frequency: monthly\n---\n"
        "kind: discount\ncode: pa\nname: A third\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 33.333333333}\n"
        "discounted_products:\n  - product: svc\nvalidity: {effective: 2015-01-01}\n"
    )
    rules = load_rules(root)
    data = {
        "id": "x",
        "as_of": "2015-07-01T00:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "products": [{"product": "svc", "price": "300000500000300.000000003 EUR"}],
        },
    }
    [line] = rules.decide(data)["discounts"]["lines"]
    assert line["discounts"] == [{"code": "pa", "amount": "-100000166665766.66 EUR"}]


@pytest.mark.parametrize("text", ["1_000", "٣", "１０", "+2", "2.", ".5", "0x10"])
def test_a_scenario_number_in_a_form_the_schema_refuses_is_refused(text: str) -> None:
    data = copy.deepcopy(BALANCE)
    data["balance"]["opening"] = text
    with pytest.raises(Exception) as caught:
        RULES.decide(data)
    assert "balance.opening" in str(caught.value)


def test_an_ad_hoc_amount_finer_than_the_minor_unit_is_rejected_not_rounded() -> None:
    data = retention()
    data["requested_discounts"] = [{"discount": "retention-offer", "value": "7.505 EUR", "added_on": "2015-06-10"}]
    data["approvals"] = [{"discount": "retention-offer", "by": "max.manager"}]
    found = next(d for d in RULES.decide(data)["discounts"]["definitions"] if d["code"] == "retention-offer")
    assert found["status"] == "rejected"
    assert found["reasons"][0]["text"] == "requested value 7.505 EUR is finer than the minor unit of EUR (0.01)"
    data["requested_discounts"][0]["value"] = "7.50 EUR"
    found = next(d for d in RULES.decide(data)["discounts"]["definitions"] if d["code"] == "retention-offer")
    assert (found["status"], found["amount"]) == ("applied", "7.50 EUR")


# --- diff, duplicates and cycles at every place, bidi controls ---------------------------------------


def test_diff_names_the_credits_each_request_drew_and_lists_ten_a_group(tmp_path: Path) -> None:
    new = tmp_path / "new"
    shutil.copytree(REPO / "rules", new)
    ruleset = new / "ruleset.yaml"
    text = ruleset.read_text(encoding="utf-8")
    old_order = "credit_precedence: [allocation, expiry, tree_distance, issue_date, id]"
    assert old_order in text
    ruleset.write_text(
        text.replace(old_order, "credit_precedence: [expiry, allocation, tree_distance, issue_date, id]"),
        encoding="utf-8",
    )
    done = _billrules(
        "diff", "--rules", str(REPO / "rules"), "--rules", str(new), "--input", str(REPO / "samples"), cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "credits: allocations changed" in out
    assert "REQ-DE-0416: globex-de-network-q3 2, globex-de-network-own 3, globex-de-network-shared 1 → " in out


def test_diff_text_lists_at_most_the_scenarios_asked_for_a_group() -> None:
    import io

    from engine.cli.diff_cmd import render

    scenarios = [{"scenario": f"s{i}", "file": "f.yaml", "line": i} for i in range(25)]
    report = {
        "old": {"rules": "a", "rules_version": "1"},
        "new": {"rules": "b", "rules_version": "2"},
        "scenarios": 25,
        "changed": 25,
        "unchanged": 0,
        "undecided": 0,
        "skipped": [],
        "money": {},
        "groups": [{"label": "x: changed", "count": 25, "money": {}, "scenarios": scenarios}],
    }
    out = io.StringIO()
    render(report, out, 10)
    assert "s9  f.yaml:9" in out.getvalue() and "s10 " not in out.getvalue()
    assert "… 15 more (--per-group 0, --json or --html list all)" in out.getvalue()
    everything = io.StringIO()
    render(report, everything, 0)
    assert "s24  f.yaml:24" in everything.getvalue()


def test_a_duplicate_code_and_a_cycle_are_reported_at_every_place(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (rules / "catalog" / "more.yaml").write_text(
        "kind: segment\ncode: military\nname: Again\n---\n"
        "kind: unit\ncode: loop-a\nname: A\nparent: loop-b\n---\n"
        "kind: unit\ncode: loop-b\nname: B\nparent: loop-a\n",
        encoding="utf-8",
    )
    found = validate_paths([rules])
    duplicates = [d for d in found if d.code == "BR301"]
    assert len({d.file for d in duplicates}) == 2, duplicates  # the segments file and more.yaml
    cycles = [d for d in found if d.code == "BR303"]
    assert [d.line for d in cycles] == [8, 13] and {d.file for d in cycles} == {cycles[0].file}


def test_bidirectional_controls_are_made_visible_in_reports() -> None:
    from engine.cli.safe_text import printable

    assert printable("odd\u202eid") == "odd\\u202eid"
    assert printable("a\u2066b\u2069c\u200fd") == "a\\u2066b\\u2069c\\u200fd"


def test_a_misspelt_item_code_gets_did_you_mean_and_booleans_read_as_yaml_writes_them() -> None:
    actual = {"d": [{"code": "complaint-discount"}, {"code": "loyalty-5"}]}
    [missing] = list(compare({"d": [{"code": "complaint-discont"}]}, actual))
    assert missing.hint == "did you mean `complaint-discount`?"
    [flag] = list(compare({"allowed": True}, {"allowed": False}))
    assert flag.render() == "expected `true`, got `false`"


def test_a_line_priced_below_zero_is_refused_at_its_price() -> None:
    from engine.decide.scenarios import ScenarioError

    data = {
        "id": "neg",
        "as_of": "2015-07-01T00:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "products": [{"product": "tv-essentials", "price": "-10.00 EUR"}],
        },
    }
    with pytest.raises(ScenarioError) as caught:
        RULES.decide(data)
    assert caught.value.field == "subscription.products[0].price"
    data["subscription"]["products"][0]["price"] = "0.00 EUR"  # a free line is a line
    assert RULES.decide(data)["discounts"]["lines"][0]["net"] == "0.00 EUR"


def test_a_json_lines_file_named_to_validate_points_to_validate_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "as_of": "2015-01-01T00:00:00Z"}\n', encoding="utf-8")
    [diagnostic] = validate_paths([path])
    assert (diagnostic.code, diagnostic.message) == ("BR110", "a JSON Lines file holds scenarios, not rules")
    assert "validate --scenarios" in diagnostic.hint


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("subscription.maturity >= 6 monhts", "did you mean `6 months`?"),
        ("subscription.maturity >= 6", "write the number with its unit, e.g. `6 months` or `14 days`"),
    ],
)
def test_a_duration_written_wrong_gets_a_hint_in_its_words(text: str, hint: str) -> None:
    from engine.criteria import ast
    from engine.criteria.check import check_condition
    from engine.criteria.environment import scenario_environment
    from engine.criteria.parse import CriteriaError, parse

    with pytest.raises(CriteriaError) as caught:
        check_condition(parse(text, lambda b, e: ast.Span("x", 1, b + 1, e + 1)), scenario_environment())
    assert caught.value.diagnostic.hint == hint


def test_the_engines_context_is_never_the_callers_to_change(tmp_path: Path) -> None:
    # the command line installs a copy and sets the caller's back; a caller changing its own
    # context afterwards changes nothing the engine uses, in this thread or another
    import threading

    from engine.cli.main import main
    from engine.values import ARITHMETIC

    caller = decimal.getcontext()
    assert main(["validate", str(REPO / "rules")]) == 0
    assert decimal.getcontext() is caller
    with decimal.localcontext() as mine:
        mine.prec = 6
        assert ARITHMETIC.prec == 60
        found: list[str] = []
        worker = threading.Thread(
            target=lambda: found.append(RULES.decide(copy.deepcopy(BALANCE))["balance"]["closing"])
        )
        worker.start()
        worker.join()
        assert found == ["1012344.25"]
        assert RULES.decide(copy.deepcopy(BALANCE))["balance"]["closing"] == "1012344.25"


def test_rules_loaded_in_a_low_precision_decide_as_loaded_in_any_other(tmp_path: Path) -> None:
    # a percentage's factor and a negated amount are folded when compiling, and kept
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (rules / "discounts" / "folded.yaml").write_text(
        "kind: discount\ncode: folded\nname: Folded\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 1}\n"
        "discounted_products:\n  - product: tv-essentials\nvalidity: {effective: 2015-01-01}\n"
        "criteria:\n  when: 'sum(subscription.products.price) * 33.333333333% > 9.996661 EUR'\n",
        encoding="utf-8",
    )
    with decimal.localcontext() as low:
        low.prec = 6
        loaded_low = load_rules(rules)
    loaded = load_rules(rules)
    data = {
        "id": "f",
        "as_of": "2015-07-01T00:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "products": [{"product": "tv-essentials", "price": "29.99 EUR"}],
        },
    }
    # 29.99 * 0.33333333333 = 9.99666666656… > 9.996661: holds; with the factor folded at 6 digits
    # (0.333333) it was 9.99665667, and did not
    statuses = [
        next(d["status"] for d in r.decide(data)["discounts"]["definitions"] if d["code"] == "folded")
        for r in (loaded, loaded_low)
    ]
    assert statuses == ["applied", "applied"]


def test_an_id_yaml_reads_as_a_number_not_written_as_its_digits_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "id: 0123\nas_of: 2015-09-30T18:00:00+02:00\nbalance:\n  policy: standard-balance\n  opening: 100\n"
        "  events:\n    - {id: EV-1, type: debit, amount: 30, request: 0042, at: 2015-09-04T10:00:00+02:00}\n",
        encoding="utf-8",
    )
    done = _billrules("decide", "--rules", str(REPO / "rules"), str(path), cwd=tmp_path)
    assert done.returncode == 1
    assert "`0123` reads as the number 123; write the id in quotes" in done.stderr
    assert "`0042` reads as the number 42" in done.stderr
    path.write_text(path.read_text(encoding="utf-8").replace("0123", "123").replace("0042", "42"), encoding="utf-8")
    assert _billrules("decide", "--rules", str(REPO / "rules"), str(path), cwd=tmp_path).returncode == 0


def test_the_hook_validates_the_rule_set_beside_a_config_file_it_is_given(tmp_path: Path) -> None:
    # a commit that deletes products.yaml and stages a CI config: `validate --ignore-outside ci.yml`
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "catalog" / "products.yaml").unlink()
    (tmp_path / "ci.yml").write_text("on: push\n", encoding="utf-8")
    done = _billrules("validate", "--ignore-outside", "ci.yml", cwd=tmp_path)
    assert done.returncode == 1 and "BR302" in done.stdout, done.stdout + done.stderr


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_hook_validates_the_tracked_rule_sets_of_a_repository_without_rules(tmp_path: Path) -> None:
    # rule sets in config/rules (no `rules/`, no hook args): a commit deleting a rule file, or
    # staging only a CI file, validated nothing and passed (an audit of 2026-12-01, eighth session)
    shutil.copytree(REPO / "rules", tmp_path / "config" / "rules")
    (tmp_path / "ci.yml").write_text("on: push\n", encoding="utf-8")
    _git("init", "-q", cwd=tmp_path)
    _git("add", "-A", cwd=tmp_path)
    _git("-c", "user.email=a@b", "-c", "user.name=n", "commit", "-qm", "rules", cwd=tmp_path)
    assert _billrules("validate", "--ignore-outside", cwd=tmp_path).returncode == 0
    _git("rm", "-q", "config/rules/catalog/terms.yaml", cwd=tmp_path)
    for given in ((), ("ci.yml",)):
        done = _billrules("validate", "--ignore-outside", *given, cwd=tmp_path)
        assert done.returncode == 1 and "unknown term `commit-24m`" in done.stdout, done.stdout + done.stderr
    # a rule set named in the hook's args is what is validated, not every one git tracks
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "ruleset.yaml").write_text("kind: rule_set\n", encoding="utf-8")
    _git("add", "-A", cwd=tmp_path)
    done = _billrules("validate", "--ignore-outside", "config/rules", cwd=tmp_path)
    assert "other/ruleset.yaml" not in done.stdout


# --- a hostile campaign on the day's new surfaces ----------------------------------------------------


def test_execution_dates_mixing_a_zoned_and_a_plain_bound_validate(tmp_path: Path) -> None:
    # README: `to: 2015-06-30` beside a zoned `from`; the range check compared them and crashed
    section = "  quantitative:\n    execution_dates: {from: 2015-01-01T00:00:00+01:00, to: 2015-12-31}\n"
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (rules / "discounts" / "dates.yaml").write_text(
        "kind: discount\ncode: dates\nname: Dates\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: usage\nstate: effective\namount: {type: percentage, value: 10}\n"
        "discounted_products:\n  - product: vod-rental\nvalidity: {effective: 2015-01-01}\ncriteria:\n" + section,
        encoding="utf-8",
    )
    assert validate_paths([rules]) == []
    inverted = section.replace("to: 2015-12-31", "to: 2014-12-31T22:00:00")  # an hour before the start
    (rules / "discounts" / "dates.yaml").write_text(
        (rules / "discounts" / "dates.yaml").read_text(encoding="utf-8").replace(section, inverted), encoding="utf-8"
    )
    assert [d.code for d in validate_paths([rules])] == ["BR413"]


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("price: 29.99 EUR\n", "price: 29.99 EUR\nprice: 29.99 EUR\n", "BR105"),  # a duplicate key
        ("period: 24\n", "period: !!int abc\n", "BR114"),
    ],
)
def test_a_file_read_only_in_part_is_the_one_finding(tmp_path: Path, old: str, new: str, code: str) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    path = next(p for p in (rules / "catalog").glob("*.yaml") if old in p.read_text(encoding="utf-8"))
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    assert [d.code for d in validate_paths([rules])] == [code]


def test_an_id_tagged_as_an_integer_is_refused_as_written(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text('id: !!int "0042"\nas_of: 2015-07-01T00:00:00Z\nbalance: {policy: standard-balance, opening: 1}\n')
    done = _billrules("decide", "--rules", str(REPO / "rules"), str(path), cwd=tmp_path)
    assert done.returncode == 1 and "`0042` reads as the number 42" in done.stderr


def test_validate_scenarios_on_a_folder_without_scenarios_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = _billrules("validate", "--rules", str(REPO / "rules"), "--scenarios", "empty", cwd=tmp_path)
    assert done.returncode == 1 and "BR601" in done.stdout


def test_a_link_that_cannot_be_followed_is_reported_not_a_crash(tmp_path: Path) -> None:
    import os

    folder = tmp_path / "rules"
    shutil.copytree(REPO / "rules", folder)
    loop = folder / "loop"
    os.symlink(loop, loop)  # a link to itself: realpath gives up
    done = _billrules("validate", "rules", cwd=tmp_path)
    assert "internal error" not in done.stderr and done.returncode in (0, 1), done.stderr


def test_a_negative_per_group_is_refused_before_anything_is_loaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.exits import EXIT_USAGE
    from engine.cli.main import main

    absent = str(tmp_path / "no-rules")  # were the rule sets loaded first, this would be the error
    args = ["diff", "--rules", absent, "--rules", absent, "--input", str(REPO / "samples"), "--per-group", "-1"]
    assert main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--per-group must be 0 (all) or more" in err and "no-rules" not in err
