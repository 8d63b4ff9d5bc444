"""Findings of the nineteenth session's audits (2026-12-03), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")


# --- a `.json` scenario file is JSON: what only YAML takes is refused where it is written ---


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{"id": "a",\n "as_of": "2026-01-01T00:00:00Z",}\n', 2, 33, "trailing comma"),
        ("{'id': 'a'}\n", 1, 2, "expected a string key"),
        ('# a comment\n{"id": "a"}\n', 1, 1, "expected a JSON value"),
        ('{id: "a"}\n', 1, 2, "expected a string key"),
        ('{"id": "a", "quantity": NaN}\n', 1, 25, "expected a JSON value"),
    ],
)
def test_a_json_scenario_file_that_is_not_json_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, column: int, words: str
) -> None:
    """SPEC 4: a scenario is "one document (YAML or JSON …)". A `.json` file was read by the YAML
    loader alone, so a trailing comma, single quotes or a comment passed, and the scenario was
    decided from a file that no JSON reader (a billing run's included) takes."""
    scenario = tmp_path / "s.json"
    scenario.write_text(text, encoding="utf-8")
    assert main(["decide", "--rules", RULES, str(scenario)]) == 1
    out = capsys.readouterr().err
    assert f"s.json:{line}:{column}: error[BR601] the file is not JSON: " in out
    assert words in out


def test_a_strict_json_scenario_file_is_decided_as_its_yaml_twin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check refuses only what is not JSON: a sample written as JSON (a byte order mark, tabs,
    several lines) gets the decision its YAML file gets."""
    from engine.load import load_file

    sample = REPO / "samples" / "balance" / "seed_004_example.yaml"
    data = load_file(sample).documents[0].data
    data.pop("expect", None)
    written = tmp_path / "seed.json"
    written.write_bytes(b"\xef\xbb\xbf" + json.dumps(data, indent="\t", default=str).encode())
    assert main(["decide", "--rules", RULES, "--json", str(written)]) == 0
    from_json = capsys.readouterr().out
    twin = tmp_path / "seed.yaml"
    twin.write_text(json.dumps(data, default=str), encoding="utf-8")
    assert main(["decide", "--rules", RULES, "--json", str(twin)]) == 0
    assert from_json == capsys.readouterr().out


# --- a rule set keys a dict or a cache ---


def test_a_rule_set_is_hashable_and_compared_by_identity() -> None:
    """The Python API (SPEC 5) for a service: `hash(rules)` raised "unhashable type: 'dict'", so a
    rule set could not key a cache of its answers or sit in a set."""
    import functools
    import pickle

    from engine.ruleset import load_rules

    rules = load_rules(RULES)
    again = load_rules(RULES)
    assert hash(rules) == hash(rules) and rules == rules
    assert rules != again and len({rules, again, rules}) == 2
    assert again.rules_version == rules.rules_version  # the same files
    brief = rules.brief()
    assert brief != rules and hash(brief) != hash(rules)
    copied = pickle.loads(pickle.dumps(rules))
    assert copied != rules and copied.rules_version == rules.rules_version

    @functools.lru_cache(maxsize=4)
    def codes(of: object) -> int:
        return len(of.models("discount"))  # type: ignore[attr-defined]

    assert codes(rules) == codes(rules) == codes(again) > 0
    assert codes.cache_info().hits == 1
