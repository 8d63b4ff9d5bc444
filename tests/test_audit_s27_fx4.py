"""Audit of 2026-12-04 (session 27, fixer fx4): `billrules test`'s messages and "(s)" plurals.

- an empty expected list the decision does not match (`refused: []`, `alerts: []`,
  `allocations: []`, a balance's `ledger: []`) said "expected none, the decision has 1" without
  naming what it has; it now names it as the other messages do (request, credit, event; an alert
  by its words), the first few and how many more;
- an item of `alerts:` the decision lacks was called a "reason" ("no reason with code …");
- messages wrote "(s)" plurals: "1 more alert(s)", "a list of 1 mapping(s)", BR409's "2
  position(s)", coverage's "expectation scenario(s)", BR110's "YAML file(s)" and "rule
  document(s)", the HTML reports' "problem(s)" and "scenario(s)".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.coupons import template_problem
from engine.coverage import Coverage
from engine.diagnostics import Diagnostic
from engine.expectations import compare
from engine.models.catalog import Charset
from engine.report import html

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def _billrules(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def _with_expect(tmp_path: Path, sample: str, expect: str) -> Path:
    """A shipped sample with its `expect:` replaced."""
    text = (SAMPLES / sample).read_text(encoding="utf-8")
    scenario = text[: text.index("\nexpect:")]
    path = tmp_path / Path(sample).name
    path.write_text(f"{scenario}\nexpect:\n{expect}", encoding="utf-8")
    return path


def _test(tmp_path: Path, path: Path) -> list[str]:
    done = _billrules("test", "--rules", str(REPO / "rules"), str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    return re.findall(r"error\[BR701\] scenario `[^`]*`: (.*)", done.stdout + done.stderr)


def _notes(expected: Any, actual: Any) -> list[str]:
    return [m.render() for m in compare(expected, actual)]


# --- F4: an empty expected list names what the decision has -------------------------------------


def test_refused_none_names_the_refused_request(tmp_path: Path) -> None:
    path = _with_expect(tmp_path, "credits/parent_never_uses_child_credit.yaml", "  credits:\n    refused: []\n")
    # (until 2026-12-04 "expected none, the decision has 1")
    assert _test(tmp_path, path) == ["expected none, the decision has 1: request `REQ-GRP-0420` quantity `16`"]


def test_alerts_and_allocations_none_name_the_alerts_and_the_allocations(tmp_path: Path) -> None:
    path = _with_expect(
        tmp_path,
        "credits/voice_evening_minutes_then_overdraft.yaml",
        "  credits:\n    allocations: []\n    alerts: []\n",
    )
    allocations, alerts = _test(tmp_path, path)
    assert allocations == (
        "expected none, the decision has 4: "
        "request `CALL-EVENING-1` credit `globex-fr-voice-evening` quantity `20`; "
        "request `CALL-EVENING-2` credit `globex-fr-voice-evening` quantity `10`; "
        "request `CALL-EVENING-2` credit `globex-fr-voice` quantity `15`; "
        "request `CALL-MORNING` credit `globex-fr-voice` quantity `100`"
    )
    # an alert by its words, as "the decision has 1 more alert than expected: `…`" names it
    assert alerts.startswith("expected none, the decision has 2: `credit `globex-fr-voice` fell below"), alerts
    assert alerts.count("at request `CALL-MORNING``") == 2, alerts


def test_a_balance_ledger_none_names_its_events(tmp_path: Path) -> None:
    path = _with_expect(tmp_path, "balance/seed_004_example.yaml", "  balance:\n    ledger: []\n")
    [ledger] = _test(tmp_path, path)
    assert ledger == (
        "expected none, the decision has 5: event `EV-1` type `grant` quantity `100`; "
        "event `EV-2` type `debit` request `service-1` quantity `25`; "
        "event `EV-3` type `debit` request `service-2` quantity `15`; "
        "event `EV-4` type `debit` request `service-3` quantity `60`; "
        "event `EV-5` type `debit` request `service-4` quantity `15`"
    )


def test_a_long_list_names_the_first_five_and_counts_the_rest() -> None:
    actual = {"credits": {"refused": [{"request": f"R{i}", "quantity": "1", "reasons": []} for i in range(8)]}}
    [note] = _notes({"credits": {"refused": []}}, actual)
    assert note == (
        "expected none, the decision has 8: request `R0` quantity `1`; request `R1` quantity `1`; "
        "request `R2` quantity `1`; request `R3` quantity `1`; request `R4` quantity `1`; and 3 more"
    )


def test_items_that_name_nothing_are_shown_as_written() -> None:
    [note] = _notes({"x": []}, {"x": [5, {"a": 1}]})
    assert note == 'expected none, the decision has 2: `5`; `{"a": 1}`'


# --- F4: an alert is called an alert -------------------------------------------------------------


_ALERTS = {
    "credits": {
        "alerts": [
            {"code": "credit_below_threshold", "text": "credit `o1` fell below 20", "facts": {"credit": "o1"}},
        ]
    }
}


def test_an_alert_the_decision_lacks_is_called_an_alert() -> None:
    notes = _notes({"credits": {"alerts": [{"code": "credit_below_zero"}]}}, _ALERTS)
    # (until 2026-12-04 "no reason with code …" and "1 more alert(s) than expected")
    assert notes == [
        "no alert with code `credit_below_zero` in the decision "
        "(it has: credit_below_threshold: credit `o1` fell below 20)",
        "the decision has 1 more alert than expected: `credit `o1` fell below 20`",
    ]
    [words] = _notes({"credits": {"alerts": ["went below zero"]}}, _ALERTS)[:1]
    assert words.startswith("no alert `went below zero` in the decision (it has: credit_below_threshold:")


def test_an_alert_expected_twice_is_called_an_alert() -> None:
    twice = [{"code": "credit_below_threshold"}, {"code": "credit_below_threshold"}]
    [note] = _notes({"credits": {"alerts": twice}}, _ALERTS)
    assert note == (
        "alert code `credit_below_threshold` is expected again, but the decision has only 1 with it (matched above)"
    )


def test_reasons_are_still_reasons_and_plurals_are_words() -> None:
    reasons = [{"code": "a", "text": "one"}, {"code": "b", "text": "two"}, {"code": "c", "text": "three"}]
    actual = {"d": {"status": "x", "reasons": reasons}}
    [note] = _notes({"d": {"reasons": [{"code": "a"}]}}, actual)
    assert note == "the decision has 2 more reasons than expected: `two`; `three`"
    [note] = _notes({"d": {"reasons": [{"code": "a"}, {"code": "b"}]}}, actual)
    assert note == "the decision has 1 more reason than expected: `three`"
    [note] = _notes({"d": {"reasons": [{"code": "z"}, "one", "two", "three"]}}, actual)
    assert note.startswith("no reason with code `z` in the decision")


# --- F2: no "(s)" plurals --------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "words"), [(1, "a list of 1 mapping here"), (2, "a list of 2 mappings here")])
def test_a_plain_value_against_mappings_counts_them_in_words(count: int, words: str) -> None:
    [note] = _notes({"cancellation": {"terms": [5]}}, {"cancellation": {"terms": [{"code": "t"}] * count}})
    assert note == f"expected `[5]`, the decision has {words}"


@pytest.mark.parametrize(
    ("template", "quantity", "positions"), [("S-#", 11, "1 position,"), ("coupon_##", 20, "2 positions,")]
)
def test_br409_counts_the_template_positions_in_words(template: str, quantity: int, positions: str) -> None:
    model = SimpleNamespace(template=template, charset=Charset.NUMERIC, quantity=quantity, range_start="87")
    problem = template_problem(model)
    assert problem is not None
    assert f"template `{template}` has {positions} too few for codes up to" in problem.message


@pytest.mark.parametrize(("count", "words"), [(1, "1 expectation scenario"), (3, "3 expectation scenarios")])
def test_coverage_counts_its_scenarios_in_words(count: int, words: str) -> None:
    assert Coverage(scenarios=count).render().splitlines()[0] == f"rule coverage ({words}):"


def test_br110_counts_files_and_documents_in_words(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yaml").write_text("kind: product\ncode: p\nname: P\n", encoding="utf-8")
    done = _billrules("validate", "--ignore-outside", cwd=tmp_path)
    assert "folder `rules/` holds 1 YAML file but no ruleset.yaml" in done.stdout, done.stdout + done.stderr
    (tmp_path / "rules" / "b.yaml").write_text("kind: product\ncode: q\nname: Q\n", encoding="utf-8")
    done = _billrules("validate", "--ignore-outside", cwd=tmp_path)
    assert "folder `rules/` holds 2 YAML files but no ruleset.yaml" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize(("count", "words"), [(1, "1 problem"), (2, "2 problems")])
def test_the_decisions_page_counts_its_problems_in_words(count: int, words: str) -> None:
    refused = [Diagnostic("x.yaml", 1, 1, "BR602", "bad", "")] * count
    assert f"<h2>Not decided: {words}</h2>" in html.decisions_page([], refused)


@pytest.mark.parametrize(("count", "words"), [(1, "1</span> scenario</p>"), (2, "2</span> scenarios</p>")])
def test_the_diff_page_counts_a_groups_scenarios_in_words(count: int, words: str) -> None:
    group = {"kind": "changed", "label": "l", "count": count, "scenarios": [], "money": {}}
    assert words in html._group(group)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=n", *args], cwd=cwd, check=True, capture_output=True
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize(("files", "words"), [(1, "1 rule document:"), (2, "2 rule documents:")])
def test_br110_counts_a_deleted_rule_sets_documents_in_words(tmp_path: Path, files: int, words: str) -> None:
    rules = tmp_path / "config" / "rules"
    rules.mkdir(parents=True)
    (rules / "ruleset.yaml").write_text(
        (REPO / "tests" / "cases" / "BR409-coupon-template" / "ruleset.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    for i in range(files):
        (rules / f"p{i}.yaml").write_text(f"kind: product\ncode: p{i}\nname: P\n", encoding="utf-8")
    _git("init", "-q", cwd=tmp_path)
    _git("add", "-A", cwd=tmp_path)
    _git("commit", "-qm", "rules", cwd=tmp_path)
    _git("rm", "-q", "config/rules/ruleset.yaml", cwd=tmp_path)
    done = _billrules("validate", "--ignore-outside", cwd=tmp_path)
    assert f"folder `config/rules` still holds {words} they are in no rule set" in done.stdout, (
        done.stdout + done.stderr
    )


@pytest.mark.parametrize(
    ("more", "words"), [(1, "1 more changed scenario not shown"), (3, "3 more changed scenarios not shown")]
)
def test_the_diff_page_counts_the_changed_scenarios_not_shown_in_words(more: int, words: str) -> None:
    data = {
        "old": {"rules": "a", "rules_version": "1"},
        "new": {"rules": "b", "rules_version": "2"},
        "scenarios": more,
        "changed": more,
        "unchanged": 0,
        "undecided": 0,
        "money": {},
        "groups": [],
        "skipped": [],
    }
    report = SimpleNamespace(to_json=lambda: data, changed=more, pairs=[])
    assert f"<p>{words}: " in html.diff_page(report)
