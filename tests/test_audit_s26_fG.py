"""Audit s26 fG (c1 F7): `billrules diff` reads its input a scenario at a time and keeps only what
its report prints.

Until 2026-12-04 `scenario_inputs` read a whole JSON Lines file into a list before the first
decision, and the report held every changed scenario with both its decisions (used only by the
first 100 the HTML page shows): 50,000 lines took 2.4 GiB. Now the input is read as it is decided,
each group keeps the scenarios the report lists (all for --json and --html, --per-group for text)
and the report keeps both decisions of the changed scenarios the HTML page shows.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.cli.diff_cmd import render
from engine.cli.main import main
from engine.diff import decide_input, diff, scenario_inputs
from engine.load import load_file
from engine.report.html import MAX_DECISION_PAIRS, diff_page
from engine.ruleset import load_rules

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"
SAMPLES = REPO / "samples"


@pytest.fixture(scope="module")
def new_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped rules with loyalty-5 at 6 % (c1's `rules_new`)."""
    target = tmp_path_factory.mktemp("fG") / "rules"
    shutil.copytree(RULES, target)
    loyalty = target / "discounts" / "loyalty.yaml"
    text = loyalty.read_text(encoding="utf-8")
    at = text.index("value: 5", text.index("code: loyalty-5"))
    loyalty.write_text(text[:at] + "value: 6" + text[at + len("value: 5") :], encoding="utf-8")
    return target


def _sample_lines() -> list[str]:
    lines = []
    for path in sorted(SAMPLES.rglob("*.yaml")):
        for document in load_file(path).documents:
            data = dict(document.data)
            data.pop("expect", None)
            lines.append(json.dumps(data, default=str))
    return lines


def _json_lines(folder: Path, lines: list[str]) -> Path:
    target = folder / "night.jsonl"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_a_json_lines_file_is_decided_as_it_is_read_and_a_bad_line_mid_file_is_reported_at_its_line(
    tmp_path: Path, new_rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.run.evaluate as evaluate

    good = _sample_lines()[:4]
    source = _json_lines(tmp_path, [good[0], good[1], '{"id": "broken", ', good[2], "", good[3]])
    events: list[tuple[str, int]] = []
    parse_line = evaluate.parse_line

    def reading(line: bytes, display: str, number: int) -> Any:
        events.append(("read", number))
        return parse_line(line, display, number)

    def deciding(rules: Any, item: Any) -> Any:
        events.append(("decide", item.line))
        return decide_input(rules, item)

    monkeypatch.setattr(evaluate, "parse_line", reading)
    report = diff(load_rules(RULES), load_rules(new_rules), scenario_inputs(source), ("old", "new"), deciding)

    # each line is decided (under both rule sets) before the next is read: the input is streamed
    # (until 2026-12-04 all six lines were read before the first decision)
    assert events == [
        ("read", 1),
        ("decide", 1),
        ("decide", 1),
        ("read", 2),
        ("decide", 2),
        ("decide", 2),
        ("read", 3),
        ("read", 4),
        ("decide", 4),
        ("decide", 4),
        ("read", 6),
        ("decide", 6),
        ("decide", 6),
    ]
    assert (report.scenarios, report.undecided) == (5, 1)
    assert report.scenarios == report.changed + report.unchanged + report.undecided
    data = report.to_json()
    unread = [g for g in data["groups"] if g["kind"] == "undecided"]
    assert [g["label"] for g in unread] == ["cannot be read as a scenario (decided under neither rule set)"]
    [entry] = unread[0]["scenarios"]
    assert (entry["scenario"], entry["file"].endswith("night.jsonl"), entry["line"]) == (None, True, 3)
    assert [(p["rules"], p["code"], p["line"]) for p in entry["problems"]] == [("input", "BR601", 3)]


def test_the_text_report_keeps_only_the_scenarios_it_lists_and_says_the_same(
    tmp_path: Path, new_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _json_lines(tmp_path, [*_sample_lines(), '{"id": "no-date"}', "[1, 2]"])
    args = ["diff", "--rules", str(RULES), "--rules", str(new_rules), "--input", str(source)]

    assert main([*args, "--json"]) == 1
    full = json.loads(capsys.readouterr().out)
    assert main([*args, "--per-group", "2"]) == 1
    text = capsys.readouterr().out

    expected = io.StringIO()
    render(full, expected, 2)
    assert text == expected.getvalue()  # the same words as the full report, cut at 2 a group
    biggest = full["groups"][0]
    assert biggest["count"] > 2 and len(biggest["scenarios"]) == biggest["count"]
    assert f"    … {biggest['count'] - 2:,} more (--per-group 0, --json or --html list all)\n" in text
    assert "    (no id)  " in text and "      input: BR601 the line holds a JSON array" in text

    # the report behind the text keeps 2 scenarios a group, and no decision (until 2026-12-04 every
    # changed scenario, with both its decisions)
    report = diff(load_rules(RULES), load_rules(new_rules), scenario_inputs(source), ("a", "b"), listed=2, pairs=0)
    assert [(g.label, g.count) for g in report.groups()] == [(g["label"], g["count"]) for g in full["groups"]]
    assert all(len(g.scenarios) == min(g.count, 2) for g in report.groups())
    assert report.pairs == []
    assert (report.changed, report.money_changed, report.undecided) == (
        full["changed"],
        full["money_changed"],
        full["undecided"],
    )


def test_the_html_page_shows_the_first_changed_scenarios_decisions_and_counts_the_rest(
    tmp_path: Path, new_rules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _sample_lines()
    source = _json_lines(tmp_path, lines * 3)  # more changed scenarios than the page shows
    page = tmp_path / "impact.html"
    args = ["diff", "--rules", str(RULES), "--rules", str(new_rules), "--input", str(source)]

    assert main([*args, "--json"]) == 1
    full = json.loads(capsys.readouterr().out)
    assert main([*args, "--html", str(page)]) == 1
    capsys.readouterr()

    changed = full["changed"]
    assert changed > MAX_DECISION_PAIRS
    html = page.read_text(encoding="utf-8")
    assert f"<h2>Changed scenarios: old and new decisions ({MAX_DECISION_PAIRS})</h2>" in html
    assert (
        f"<p>{changed - MAX_DECISION_PAIRS} more changed scenario{'' if changed - MAX_DECISION_PAIRS == 1 else 's'} not shown"
        in html
    )
    # the decisions shown are the first changed scenarios' (in input order), each with both sides
    shown = re.findall(
        r'<details class="decisions" data-scenario="([^"]*)"><summary><code>[^<]*</code> [^:]*:(\d+)', html
    )
    lines_changed = sorted({s["line"] for g in full["groups"] if g["kind"] == "changed" for s in g["scenarios"]})
    assert [int(line) for _, line in shown] == lines_changed[:MAX_DECISION_PAIRS]
    assert html.count("<h3>old</h3>") == html.count("<h3>new</h3>") == MAX_DECISION_PAIRS

    # the report keeps both decisions of those only; the page lists every scenario of each group
    report = diff(load_rules(RULES), load_rules(new_rules), scenario_inputs(source), ("a", "b"))
    assert len(report.pairs) == MAX_DECISION_PAIRS and all(p.old and p.new for p in report.pairs)
    assert sum(g.count for g in report.groups()) == sum(len(g.scenarios) for g in report.groups())
    assert diff_page(report).count('<details class="decisions"') == MAX_DECISION_PAIRS


def test_a_folders_rule_file_is_still_listed_as_skipped(tmp_path: Path, new_rules: Path) -> None:
    folder = tmp_path / "scenarios"
    shutil.copytree(SAMPLES / "balance", folder)
    shutil.copy(RULES / "ruleset.yaml", folder / "ruleset.yaml")
    inputs = scenario_inputs(folder)
    assert not isinstance(inputs.items, list)  # read as it is decided

    report = diff(load_rules(RULES), load_rules(new_rules), inputs, ("a", "b"))

    assert report.scenarios > 0
    assert [s.split(": ", 1)[1] for s in report.skipped] == ["a rule file (`kind: rule_set`)"]
