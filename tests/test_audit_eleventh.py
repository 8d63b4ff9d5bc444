"""Findings of the eleventh session's audits (2026-12-02). Each test is a reduced reproduction of
what an audit found, with the outcome SPEC or README requires."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from engine.decide.scenarios import validate_scenario

REPO = Path(__file__).resolve().parent.parent


def _sample(name: str) -> dict[str, Any]:
    data = YAML(typ="safe").load((REPO / "samples" / name).read_text(encoding="utf-8"))
    data.pop("expect", None)
    return dict(data)


# --- scenarios: a count written as yes/no -------------------------------------------------------


@pytest.mark.parametrize("flag", [True, False])
def test_a_quantity_written_as_yes_or_no_is_refused(flag: bool) -> None:
    # (pydantic's lax int read `true` as 1 and `false` as 0: a line billed once by a typo)
    data = copy.deepcopy(_sample("discounts/complaint_cap.yaml"))
    data["subscription"]["products"][3]["quantity"] = flag
    checked = validate_scenario(data, None)
    assert checked.scenario is None
    [found] = checked.diagnostics
    assert found.code == "BR602"
    assert "subscription.products[3].quantity" in found.message
    assert f"`{str(flag).lower()}` is a yes/no value, not a number" in found.message


def test_a_coupon_redemption_count_written_as_yes_is_refused() -> None:
    data = copy.deepcopy(_sample("discounts/complaint_cap.yaml"))
    data["purchase"] = {"add_ons": ["sports-bundle"], "coupon_redemptions": {"WELCOME-1": True}}
    checked = validate_scenario(data, None)
    assert checked.scenario is None
    assert any("yes/no value" in d.message for d in checked.diagnostics), checked.diagnostics


# --- BR624 at the key it names --------------------------------------------------------------------


def test_an_unknown_redemption_code_is_located_at_its_key(tmp_path: Path) -> None:
    # (was located at the value, and a code holding `.` at the first code of the mapping)
    import subprocess
    import sys

    text = (REPO / "samples/purchase/coupon_alphanumeric_with_plan.yaml").read_text(encoding="utf-8")
    text = text.split("\nexpect:")[0] + '\n    ACME.9: 2\n    "123": 1\n'
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    done = subprocess.run(
        [sys.executable, "-m", "engine", "decide", "--rules", str(REPO / "rules"), str(scenario)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 1, done
    heads = [line for line in done.stderr.splitlines() if "error[BR624]" in line]
    assert len(heads) == 2, done.stderr
    where = [tuple(int(n) for n in head.split(": error")[0].rsplit(":", 2)[1:]) for head in heads]
    assert where == [(lines.index("    ACME.9: 2") + 1, 5), (lines.index('    "123": 1') + 1, 5)]
    assert "`ACME.9`" in heads[0] and "`123`" in heads[1]


# --- credits: a served consumption names the credits passed for their scope -------------------------

_SCOPED = """
---
kind: credit
code: de-network-scoped
name: Network offer for TV Essentials only
type: network-offer
quantity: 10
usage_period: {from: 2015-10-01, to: 2015-10-20}
holder: globex-de
allocation: this_organisation
issued: 2015-10-01
"""


@pytest.mark.parametrize(
    ("restriction", "code"),
    [
        ("scope:\n  products: [tv-essentials]\n", "outside_scope"),
        ("criteria:\n  products: [tv-essentials]\n", "criteria_not_met"),
    ],
)
def test_a_served_consumption_names_the_credits_it_passed(tmp_path: Path, restriction: str, code: str) -> None:
    # (a credit passed for its `scope` was not named, one passed for the same `criteria` was:
    # SPEC 3.6 calls a scope shorthand for criteria)
    import shutil

    from engine import load_rules

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    credits = root / "credits/credits.yaml"
    credits.write_text(credits.read_text(encoding="utf-8") + _SCOPED + restriction, encoding="utf-8")
    scenario = {
        "id": "passed-for-scope",
        "as_of": "2015-10-15T09:00:00+02:00",
        "consumptions": [
            {
                "id": "W1",
                "organisation": "globex-de",
                "credit_type": "network-offer",
                "quantity": 1,
                "at": "2015-10-15T09:00:00+02:00",
            }
        ],
    }
    part = load_rules(root).decide(scenario)["credits"]
    [allocation] = part["allocations"]
    assert allocation["credit"] != "de-network-scoped"
    [passed] = part["passed_over"]
    assert passed["request"] == "W1"
    assert [(r["code"], r["facts"]["credit"]) for r in passed["reasons"]] == [(code, "de-network-scoped")]
