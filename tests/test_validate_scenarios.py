"""`billrules validate --scenarios`: scenarios checked against the rules without deciding them."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from engine.cli.main import main
from engine.scenario_check import OWN_IDS, REFERENCES
from engine.values import CODE_PATTERN

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")


def run_cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


def test_the_shipped_samples_check_clean() -> None:
    assert run_cli(["validate", RULES, "-v", "--rules", RULES, "--scenarios", str(REPO / "samples")]) == (
        0,
        "no problems found\n",
    )


def test_unknown_codes_are_named_at_their_field_with_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: bad\nas_of: 2015-01-01T00:00:00Z\naccount: {code: A, segments: [militray]}\n"
        "subscription:\n  code: S\n  plan: tv-essential-24\n  start: 2015-01-01\n"
        "  products:\n    - {product: tv-essentails}\nagent: {user: nobody}\n",
        encoding="utf-8",
    )
    code, out = run_cli(["validate", RULES, "--rules", RULES, "--scenarios", str(path)])
    assert code == 1
    lines = [line for line in out.splitlines() if "error[" in line]
    assert [line.split(": error")[0].rsplit(":", 2)[1] for line in lines] == ["3", "6", "9"]  # in line order
    assert "error[BR603] unknown segment `militray`" in out and "hint: did you mean `military`?" in out
    assert "error[BR603] unknown plan `tv-essential-24`" in out and "did you mean `tv-essentials-24`?" in out
    assert "error[BR603] unknown product `tv-essentails`" in out
    # an agent the rules do not define: `decide` takes them (a CRM's own staff): a warning (since 2026-12-02)
    assert ":10:15: warning[BR603] unknown user `nobody`" in out


def test_json_lines_are_checked_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    good = {"id": "a", "as_of": "2015-01-01T00:00:00Z", "purchase": {"plan": "tv-premium-12"}}
    bad_period = {
        "id": "b",
        "as_of": "2015-01-01T00:00:00Z",
        "subscription": {
            "code": "S",
            "start": "2015-01-01",
            "billing_period": {"from": "2015-02-01", "to": "2015-01-01"},
        },
    }
    path.write_text(
        "\n".join(
            [
                json.dumps(good),
                json.dumps({**good, "purchase": {"plan": "tv-premium-1"}}),
                "not json",
                json.dumps(bad_period),
                json.dumps({"id": "c", "as_of": "2015-01-01T00:00:00Z"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    code, out = run_cli(["validate", RULES, "--rules", RULES, "--scenarios", str(path)])
    assert code == 1
    # the code `decide` gives it (BR620; until 2026-12-02 BR603 here)
    assert "run.jsonl:2:1: error[BR620] `purchase.plan`: unknown plan `tv-premium-1`" in out
    assert "run.jsonl:3:1: error[BR601] the line is not JSON" in out
    assert (
        "run.jsonl:4:1: error[BR602] scenario field `subscription.billing_period`: the period ends on 2015-01-01, before it starts on 2015-02-01"
        in out
    )
    assert "run.jsonl:5:1: error[BR604] the scenario asks no question" in out
    assert ":1:1:" not in out


def test_json_lines_are_read_as_a_run_reads_them(tmp_path: Path) -> None:
    """`validate --scenarios` predicts `run`: the same lines refused with the same codes, and
    none of its own (a deep line was a RecursionError, U+2028 in a string split a line in two)."""
    good = {"id": "a", "as_of": "2015-01-01T00:00:00Z", "purchase": {"plan": "tv-premium-12"}}
    lines = [
        json.dumps({**good, "id": "line\u2028separator"}, ensure_ascii=False),  # one line, decided by `run`
        '{"id": "x", "z": ' + "[" * 2000 + "]" * 2000 + "}",
        '{"id": "d", "id": "e", "as_of": "2015-01-01T00:00:00Z"}',
        '{"id": "big", "n": ' + "9" * 5000 + "}",
    ]
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run_cli(["validate", RULES, "--rules", RULES, "--scenarios", str(path)])
    assert code == 1
    assert "odd.jsonl:1:" not in out
    assert "odd.jsonl:2:1: error[BR107] nesting is too deep" in out
    assert "odd.jsonl:3:1: error[BR105] the key `id` appears twice" in out
    assert "odd.jsonl:4:" in out and "error[BR601]" in out
    assert "internal error" not in out and "odd.jsonl:5" not in out


def _code_fields(
    node: Any, definitions: dict[str, Any], path: tuple[str, ...] = (), depth: int = 0
) -> set[tuple[str, ...]]:
    while "$ref" in node or ("allOf" in node and len(node["allOf"]) == 1):
        inner = definitions[node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else node["allOf"][0]
        node = {**inner, **{k: v for k, v in node.items() if k not in ("$ref", "allOf")}}
    found = {path} if node.get("pattern") == CODE_PATTERN else set()
    if depth < 8:
        if "items" in node:
            found |= _code_fields(node["items"], definitions, (*path, "*"), depth + 1)
        for name, child in node.get("properties", {}).items():
            found |= _code_fields(child, definitions, (*path, name), depth + 1)
        for option in node.get("anyOf", []):
            found |= _code_fields(option, definitions, path, depth + 1)
    return found


def test_every_code_field_of_the_scenario_is_checked_or_is_the_scenarios_own_id() -> None:
    schema = json.loads((REPO / "schemas/scenario.schema.json").read_text(encoding="utf-8"))
    fields = _code_fields(schema, schema.get("definitions", {}))
    checked = {pattern for pattern, _ in REFERENCES} | {("credits", "*", "holder")}
    assert fields - checked - OWN_IDS == set()
    assert checked - fields == set()


def test_a_rule_file_among_the_scenarios_is_one_line() -> None:
    code, out = run_cli(["validate", RULES, "--scenarios", str(REPO / "rules/catalog/terms.yaml")])
    assert code == 1 and out.count("error[") == 1
    assert "error[BR601] this is a rule file (`kind: term`), not a scenario" in out


def test_rules_named_with_rules_are_the_ones_validated_from_any_folder(tmp_path: Path, monkeypatch: Any) -> None:
    """`validate --rules DIR --scenarios F` from a folder without `rules/` validated the current
    folder as rule files (the scenarios themselves then were BR110) instead of DIR."""
    sample = tmp_path / "s.yaml"
    sample.write_text((REPO / "samples/discounts/complaint_cap.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run_cli(["validate", "-v", "--rules", RULES, "--scenarios", str(sample)]) == (0, "no problems found\n")
    assert run_cli(["validate", "-v", "--rules", RULES]) == (0, "no problems found\n")
