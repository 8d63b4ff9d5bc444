"""`--brief-reasons`: the same decisions, with the failing section instead of each condition's values."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from engine.cli.main import main
from engine.decide.scenarios import read_scenarios
from engine.ruleset import load_rules

REPO = Path(__file__).resolve().parent.parent
SAMPLES = sorted((REPO / "samples" / "discounts").glob("*.yaml"))


def _without_reasons(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_reasons(v) for k, v in value.items() if k != "reasons"}
    if isinstance(value, list):
        return [_without_reasons(v) for v in value]
    return value


def test_brief_reasons_change_only_the_reasons() -> None:
    rules = load_rules(REPO / "rules")
    brief = rules.brief()
    sections_named = 0
    for path in SAMPLES:
        for item in read_scenarios(path):
            detailed, short = rules.decide(item.scenario), brief.decide(item.scenario)
            assert _without_reasons(short) == _without_reasons(detailed), path.name
            for definition in short["discounts"]["definitions"]:
                codes = {r["code"] for r in definition["reasons"] if isinstance(r, dict)}
                assert not codes & {"threshold_not_met", "duration_not_met", "value_not_listed"}
                sections_named += bool(codes & {"section_not_met", "when_not_met"})
    assert sections_named > 20


def test_purchases_price_with_brief_reasons_too() -> None:
    """A purchase's discounts are decided as the rule set decides (brief here), amounts unchanged."""
    rules = load_rules(REPO / "rules")
    brief = rules.brief()
    codes: set[str] = set()
    for path in sorted((REPO / "samples" / "purchase").glob("*.yaml")):
        for item in read_scenarios(path):
            detailed, short = rules.decide(item.scenario), brief.decide(item.scenario)
            assert _without_reasons(short) == _without_reasons(detailed), path.name
            for definition in short["purchase"]["discounts"]:
                codes |= {r["code"] for r in definition["reasons"] if isinstance(r, dict)}
    assert not codes & {"threshold_not_met", "duration_not_met", "value_not_listed"}
    assert codes & {"section_not_met", "when_not_met"}


def _run(tmp_path: Path, line: str, *flags: str) -> str:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(line + "\n", encoding="utf-8")
    command = ["run", *flags, "--workers", "1", "--rules", str(REPO / "rules"), "--input", str(source)]
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert main([*command, "--output", str(target)]) == 0
    return target.read_text(encoding="utf-8")


def _decide(*flags: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(["decide", "--json", *flags, "--rules", str(REPO / "rules"), str(SAMPLE)]) == 0
    return out.getvalue()


SAMPLE = REPO / "samples/discounts/sections_exclude_segment.yaml"


def test_a_run_decides_as_decide_with_brief_reasons_and_as_decide_with_detailed_ones(tmp_path: Path) -> None:
    (item,) = list(read_scenarios(SAMPLE))
    line = json.dumps({k: v for k, v in item.document.data.items() if k != "expect"}) if item.document else ""
    brief, detailed = _decide("--brief-reasons"), _decide()
    assert "criteria section `billing_term` does not hold" in brief and brief != detailed
    assert _run(tmp_path, line) == brief
    assert _run(tmp_path, line, "--detailed-reasons") == detailed
