"""Findings of the twelfth session's audits (2026-12-02). Each test is a reduced reproduction of
what an audit found, with the outcome SPEC or README requires."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.decide.scenarios import ScenarioError

REPO = Path(__file__).resolve().parent.parent


def _rules_with(tmp_path: Path, file: str, extra: str) -> Path:
    """A copy of the shipped rules with `extra` appended to `file`."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / file
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return root


# --- credits: never drawn before they are issued ----------------------------------------------------

_LATE_ISSUED = """---
kind: credit
code: de-network-late
name: Network offer issued in June, usable in the first half year
type: network-offer
quantity: 2
holder: globex-de
usage_period: {from: 2015-01-01, to: 2015-06-30}
allocation: this_organisation
issued: ISSUED
"""


def _consume(at: str) -> dict[str, Any]:
    return {
        "id": "late-issue",
        "as_of": "2015-12-01T09:00:00+00:00",
        "consumptions": [
            {"id": "N1", "organisation": "globex-de", "credit_type": "network-offer", "quantity": 1, "at": at}
        ],
    }


@pytest.mark.parametrize(("at", "drawn"), [("2015-05-31T23:00:00+00:00", False), ("2015-06-01T00:00:00+00:00", True)])
def test_a_credit_is_not_drawn_before_its_issue_day(tmp_path: Path, at: str, drawn: bool) -> None:
    # (SPEC 3.6: candidates are credits "active at that time"; a credit issued on 2015-06-01 whose
    # usage period starts on 2015-01-01 was drawn in March; from its issue day it expires first)
    rules = load_rules(_rules_with(tmp_path, "credits/credits.yaml", _LATE_ISSUED.replace("ISSUED", "2015-06-01")))
    part = rules.decide(_consume(at))["credits"]
    credits = [a["credit"] for a in part["allocations"]]
    assert ("de-network-late" in credits) is drawn, part


def test_a_credit_issued_after_its_usage_period_is_refused(tmp_path: Path) -> None:
    from engine import RuleSetError

    root = _rules_with(tmp_path, "credits/credits.yaml", _LATE_ISSUED.replace("ISSUED", "2016-01-05"))
    with pytest.raises(RuleSetError) as raised:
        load_rules(root)
    [found] = [d for d in raised.value.diagnostics if d.code == "BR413"]
    assert "issued on 2016-01-05, after its usage period ends (2015-06-30)" in found.message
    assert found.file.endswith("credits.yaml") and found.line > 1


def test_a_scenario_credit_issued_after_its_usage_period_is_refused() -> None:
    scenario = _consume("2015-06-01T00:00:00+00:00")
    scenario["credits"] = [
        {
            "code": "x-late",
            "name": "x",
            "type": "network-offer",
            "quantity": 1,
            "holder": "globex-de",
            "usage_period": {"from": "2015-01-01", "to": "2015-03-31"},
            "allocation": "this_organisation",
            "issued": "2015-04-01",
        }
    ]
    with pytest.raises(ScenarioError) as raised:
        load_rules(REPO / "rules").decide(scenario)
    assert raised.value.code == "BR413"
    assert "credits[0].issued" in str(raised.value)
