"""Findings of the fifteenth session's audits (2026-12-02), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_questions import run_cli

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")

# --- validate --scenarios: a later bill without its period (BR607, a warning) --------------------


def _bill(period: bool) -> dict[str, Any]:
    subscription: dict[str, Any] = {
        "code": "S1",
        "plan": "tv-flex",
        "billing_frequency": "monthly",
        "start": "2015-06-01",
        "products": [{"product": "tv-essentials", "main": True}],
    }
    if period:
        subscription["billing_period"] = {"from": "2015-07-01", "to": "2015-07-31"}
    return {
        "id": "bill",
        "as_of": "2015-08-01T06:00:00Z",
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": subscription,
        "discount_history": [{"discount": "loyalty-5", "on": "2015-07-01"}],
    }


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_a_bill_without_its_period_is_a_warning(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bill{suffix}"
    path.write_text(json.dumps(_bill(False)) + "\n", encoding="utf-8")
    code, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(path)])
    assert code == 0, err  # a warning: `decide` answers it
    assert "warning[BR607]" in out + err and "billing_period" in out + err
    code, out, err = run_cli(["validate", "--strict", "--rules", RULES, "--scenarios", str(path)])
    assert code == 1
    path.write_text(json.dumps(_bill(True)) + "\n", encoding="utf-8")
    code, out, err = run_cli(["validate", "--strict", "--rules", RULES, "--scenarios", str(path)])
    assert (code, "BR607" in out + err) == (0, False)


def test_a_first_bill_without_its_period_is_no_warning(tmp_path: Path) -> None:
    """No history: nothing counts earlier bills (the samples' cancellations and purchases, and a
    run's lines, are bills of a day)."""
    data = _bill(False)
    data["discount_history"] = []
    path = tmp_path / "cancel.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    _, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(path)])
    assert "BR607" not in out + err, out + err
