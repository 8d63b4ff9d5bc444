"""Findings of the seventeenth session's audits (2026-12-02), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _with_type_criteria(tmp_path: Path, criteria: str) -> Path:
    """The shipped rules with `criteria` (YAML lines) on the credit type `sms-credits`."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "credits" / "credit_types.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("unit: text messages\nmeasure: amount\n", f"unit: text messages\nmeasure: amount\n{criteria}", 1),
        encoding="utf-8",
    )
    return root


# --- a list in an explanation is shown in its own order; a type's criterion names the credit ---


def test_a_credit_type_s_failing_criterion_names_the_credit_and_the_list_in_order(tmp_path: Path) -> None:
    """`consumer.organisations` is nearest first (README); it was shown sorted (`["globex",
    "globex-fr"]`), and a type's criterion failing for two credits read as one line said twice."""
    from engine import load_rules

    rules = load_rules(_with_type_criteria(tmp_path, "criteria:\n  organisations: [globex-de]\n"))
    scenario = {
        "id": "order",
        "as_of": "2015-05-12T16:00:00+02:00",
        "consumptions": [
            {
                "id": "R1",
                "organisation": "globex-fr",
                "credit_type": "sms-credits",
                "quantity": 1,
                "at": "2015-05-12T10:00:00+02:00",
            }
        ],
    }
    (refused,) = rules.decide(scenario)["credits"]["refused"]
    (reason,) = [r for r in refused["reasons"] if r["code"] == "criteria_not_met"]
    assert reason["text"] == (
        "credit `globex-fr-sms`: criterion of credit type `sms-credits` does not hold: "
        '`consumer.organisations overlaps {"globex-de"}` '
        '(consumer.organisations = ["globex-fr", "globex"] does not overlap {"globex-de"})'
    ), reason["text"]
    assert reason["facts"]["credit"] == "globex-fr-sms"


def test_a_set_is_still_shown_sorted() -> None:
    from engine.criteria.explain import show

    assert show(frozenset({"b", "a"})) == '{"a", "b"}'
    assert show(["b", "a"]) == '["b", "a"]'
    assert show(("b", "a")) == '["b", "a"]'
