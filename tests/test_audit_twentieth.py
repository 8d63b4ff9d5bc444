"""Findings of the twentieth session's audits (2026-12-03), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import load_rules
from engine.load import load_file

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")

#: SPEC 3.2: "Decision statuses for each definition"
SPEC_STATUSES = {
    "applied",
    "offered",
    "pending_approval",
    "rejected",
    "not_eligible",
    "not_effective",
    "limit_reached",
}


def _samples() -> list[dict[str, Any]]:
    found = []
    for path in sorted((REPO / "samples").rglob("*.yaml")):
        for document in load_file(path).documents:
            data = dict(document.data)
            data.pop("expect", None)
            found.append(data)
    return found


def test_every_discount_status_of_every_sample_is_one_of_spec_s() -> None:
    """An ad hoc definition nothing requests, in a scenario without an agent, was `not_requested`:
    a status SPEC 3.2 does not list. It is `not_eligible` (nobody to offer it to: `offered` needs
    an allowed agent), its reason saying why."""
    seen: set[str] = set()
    for rules in (RULES, RULES.brief()):
        for scenario in _samples():
            part = rules.decide(scenario).get("discounts")
            if part is not None:
                seen |= {d["status"] for d in part["definitions"]}
    assert seen <= SPEC_STATUSES
    assert {"applied", "offered", "not_eligible", "not_effective"} <= seen


def test_an_ad_hoc_discount_without_an_agent_is_not_eligible_with_its_reason() -> None:
    scenario = next(s for s in _samples() if s["id"] == "installation-late-auto-20-off")
    for rules in (RULES, RULES.brief()):
        definitions = {d["code"]: d for d in rules.decide(scenario)["discounts"]["definitions"]}
        half = definitions["installation-complaint-half"]
        assert half["status"] == "not_eligible"
        assert [r["code"] for r in half["reasons"]] == ["not_requested"]
        assert definitions["installation-late-20-off"]["status"] == "applied"
    omitted = RULES.applied_only().decide(scenario)["discounts"]["omitted"]
    assert set(omitted) == {"not_effective", "not_eligible"}
