"""`--applied-only` (`RuleSet.applied_only`): a decision lists only the discount definitions that
apply or await an action, and counts the others by status, so that nothing is dropped unsaid.

The listed part is exactly the full decision's, less the omitted statuses; the counts are the
full decision's counts of those statuses; everything else in the decision is unchanged."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.decide.decision import OMITTED
from engine.load import load_file
from tests.test_questions import run_cli

REPO = Path(__file__).resolve().parent.parent
RULES = load_rules(REPO / "rules")
COMPACT = RULES.applied_only()


def _samples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((REPO / "samples").rglob("*.yaml")):
        for i, document in enumerate(load_file(path).documents):
            data = {k: v for k, v in document.data.items() if k != "expect"}
            found.append((f"{path.relative_to(REPO / 'samples')}#{i}", data))
    return found


SAMPLES = _samples()


def _expected(full: dict[str, Any]) -> dict[str, Any]:
    """The full decision as `--applied-only` writes it: omitted statuses counted, not listed."""
    out = copy.deepcopy(full)
    part = out.get("discounts")
    if part is None:
        return out
    counts = Counter(item["status"] for item in part["definitions"] if item["status"] in OMITTED)
    compact = {"lines": part["lines"], "definitions": [i for i in part["definitions"] if i["status"] not in OMITTED]}
    compact["omitted"] = {status: counts[status] for status in OMITTED}
    compact["totals"] = part["totals"]
    out["discounts"] = compact
    return out


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[name for name, _ in SAMPLES])
def test_applied_only_lists_the_full_decision_less_what_it_counts(name: str, data: dict[str, Any]) -> None:
    for full_rules, compact_rules in ((RULES, COMPACT), (RULES.brief(), COMPACT.brief())):
        full = json.loads(full_rules.decide_json(data))
        compact = compact_rules.decide_json(data)
        assert json.loads(compact) == _expected(full), name
        assert compact_rules.decide(data) == json.loads(compact)  # the dict API agrees


def test_the_samples_omit_something_and_keep_something() -> None:
    """The comparison above means something: some definitions are omitted, some kept."""
    kept = omitted = 0
    for _, data in SAMPLES:
        part = COMPACT.decide(data).get("discounts")
        if part is not None:
            kept += len(part["definitions"])
            omitted += sum(part["omitted"].values())
    assert kept > 10
    assert omitted > kept


def test_decide_applied_only_on_the_command_line() -> None:
    sample = REPO / "samples" / "discounts" / "complaint_offered.yaml"
    assert sample.exists()
    code, out, err = run_cli(["decide", "--json", "--applied-only", "--rules", str(REPO / "rules"), str(sample)])
    assert code == 0, err
    first = json.loads(out.splitlines()[0])
    assert set(first["discounts"]["omitted"]) == set(OMITTED)
    assert all(item["status"] not in OMITTED for item in first["discounts"]["definitions"])
    code, text, err = run_cli(["decide", "--applied-only", "--rules", str(REPO / "rules"), str(sample)])
    assert code == 0, err
    assert "(not listed)     2 not effective, 15 not eligible" in text


def test_the_html_report_says_what_it_did_not_list(tmp_path: Path) -> None:
    sample = REPO / "samples" / "discounts" / "complaint_offered.yaml"
    page = tmp_path / "decisions.html"
    code, _, err = run_cli(
        ["decide", "--applied-only", "--html", str(page), "--rules", str(REPO / "rules"), str(sample)]
    )
    assert code == 0, err
    assert '<p class="omitted">not listed: 2 not effective, 15 not eligible</p>' in page.read_text(encoding="utf-8")


def test_only_shows_the_definition_named_even_when_applied_only_would_count_it() -> None:
    sample = REPO / "samples" / "discounts" / "complaint_after_expiry.yaml"
    args = ["decide", "--json", "--applied-only", "--only", "complaint-discount"]
    code, out, err = run_cli([*args, "--rules", str(REPO / "rules"), str(sample)])
    assert code == 0, err
    definitions = json.loads(out.splitlines()[0])["discounts"]["definitions"]
    assert [(d["code"], d["status"]) for d in definitions] == [("complaint-discount", "not_effective")]
