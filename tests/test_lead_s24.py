"""Session 24 (lead): what the twenty-third session's hostile-input campaign left, and the
twenty-fourth session's audit fixes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_audit_s23_f3 import _run, _scenario

# --- a JSON array of scenarios, and UTF-16/UTF-32 scenario files, are not run targets ----------


@pytest.mark.parametrize(
    ("encode", "holds"),
    [
        (lambda s: json.dumps([s, s]).encode(), "a JSON array with a scenario (`id`, `as_of`)"),
        (lambda s: json.dumps([{"note": 1}, s], indent=2).encode(), "a JSON array with a scenario (`id`, `as_of`)"),
        (lambda s: json.dumps(s).encode("utf-16"), "a scenario (`id`, `as_of`)"),
        (lambda s: (json.dumps(s) + "\n" + json.dumps(s) + "\n").encode("utf-16"), "a scenario (`id`, `as_of`)"),
        (lambda s: json.dumps(s, indent=2).encode("utf-32"), "a scenario (`id`, `as_of`)"),
    ],
    ids=["array", "array-second-item", "utf-16", "utf-16-lines", "utf-32"],
)
@pytest.mark.parametrize("option", ["--output", "--errors", "--summary"])
def test_scenarios_in_an_array_or_in_utf16_are_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], encode: object, holds: str, option: str
) -> None:
    """A JSON array of scenarios, or a scenario file an editor saved as UTF-16 or UTF-32 (with its
    byte-order mark), was replaced by a run's output, errors or summary (until 2026-12-03)."""
    data = encode(_scenario())  # type: ignore[operator]
    target = tmp_path / "kept.json"
    target.write_bytes(data)
    args = {
        "--output": ["--output", str(target), "--format", "jsonl"],
        "--errors": ["--output", str(tmp_path / "out.jsonl"), "--errors", str(target)],
        "--summary": ["--output", str(tmp_path / "out.jsonl"), "--summary", str(target)],
    }[option]
    assert _run(tmp_path, *args) == 2
    assert target.read_bytes() == data
    err = capsys.readouterr().err
    assert f"{option} {target}: it holds {holds}, which it would replace; give it a file of its own" in err


def test_an_array_of_decisions_is_still_a_target(tmp_path: Path) -> None:
    """An array without a scenario (a run's decisions kept as an array) may be replaced."""
    target = tmp_path / "old.json"
    target.write_text(json.dumps([{"scenario": "a", "rules_version": "b", "decision": {}}]), encoding="utf-8")
    assert _run(tmp_path, "--output", str(target), "--format", "jsonl") == 1  # (the one error record)
    assert target.read_text(encoding="utf-8").startswith('{"scenario"')


def test_a_utf16_file_that_is_no_json_is_still_a_target(tmp_path: Path) -> None:
    """Only what billrules reads is kept: UTF-16 notes are a report target like any other file."""
    target = tmp_path / "notes.json"
    target.write_bytes("just some notes".encode("utf-16"))
    assert _run(tmp_path, "--output", str(target), "--format", "jsonl") == 1  # (the one error record)
    assert target.read_text(encoding="utf-8").startswith('{"scenario"')


# --- a gzip file given to decide, test or validate --scenarios ---------------------------------


@pytest.mark.parametrize("command", ["decide", "test", "validate"])
@pytest.mark.parametrize("name", ["in.jsonl.gz", "in.json"])
def test_a_gzip_file_of_scenarios_points_at_zcat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, name: str
) -> None:
    """A gzip file of scenarios was "binary file: … give a scenario file" (until 2026-12-03): it
    now says what it is and how a billing run reads it."""
    import gzip

    from engine.cli.main import main

    source = tmp_path / name
    source.write_bytes(gzip.compress(json.dumps(_scenario()).encode() + b"\n"))
    rules = str(Path(__file__).resolve().parent.parent / "rules")
    args = [command, "--rules", rules, *(["--scenarios"] if command == "validate" else []), str(source)]
    assert main(args) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "error[BR102] gzip-compressed data: a scenario file must be YAML, JSON or JSON Lines text" in text
    # at the file as a whole (until 2026-12-04 at 1:9, the first NUL byte)
    assert re.search(rf"{re.escape(source.name)}:1:1: error\[BR102\]", text), text
    # The path is shown relative to the working directory, whatever that is where the suite runs.
    assert re.search(rf"`zcat \S*{re.escape(source.name)} \| billrules run", text), text
    assert "binary file" not in text


def test_other_binary_scenario_files_keep_their_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli.main import main

    source = tmp_path / "in.json"
    source.write_bytes(b"\x00\x01\x02binary")
    assert main(["decide", "--rules", str(Path(__file__).resolve().parent.parent / "rules"), str(source)]) == 1
    out = capsys.readouterr()
    assert "binary file: a scenario must be YAML or JSON text" in out.out + out.err


# --- a rule document whose `kind` key is quoted counts as one ------------------------------------


@pytest.mark.parametrize("key", ['"kind"', "'kind'", "kind"])
def test_a_quoted_kind_key_is_a_rule_document(tmp_path: Path, key: str) -> None:
    """`"kind": product` (YAML with its key quoted, as a JSON-minded author writes it) was not
    counted as a rule document by the pre-commit hook (until 2026-12-03)."""
    from engine.load import _holds_rule_document
    from engine.pipeline import _KIND_LINE

    path = tmp_path / "p.yaml"
    path.write_text(f'{key}: product\ncode: x\nname: "X"\n', encoding="utf-8")
    assert _holds_rule_document(path)
    assert _KIND_LINE.findall(path.read_text(encoding="utf-8")) == ["product"]
    nested = tmp_path / "n.yaml"
    nested.write_text(f'spec:\n  {key}: product\n"kinds": product\n', encoding="utf-8")
    assert not _holds_rule_document(nested)


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="needs git")
def test_a_deleted_ruleset_beside_quoted_kind_documents_fails_the_hook(tmp_path: Path) -> None:
    from tests.test_audit_s23_f4 import _billrules, _git, _repository

    repo = _repository(tmp_path)
    rules = repo / "config" / "rules"
    for path in rules.rglob("*.yaml"):  # every document's key quoted
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nkind:", '\n"kind":').replace("kind:", '"kind":', text.startswith("kind:")))
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", "quoted", cwd=repo)
    _git("rm", "-q", "config/rules/ruleset.yaml", cwd=repo)
    done = _billrules("validate", "--ignore-outside", cwd=repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("config/rules:1:1: error[BR110] `config/rules/ruleset.yaml` is deleted")


# --- the earliest cancellation date past the years a `.day` exception's days were listed for ---

_LATE_TERMS = """\
kind: product
code: t-prod
name: audit product
type: termed
price: 10.00 EUR
billing_frequency: monthly
---
kind: bundle
code: t-base
name: base
validity: {from: 2000-01-01}
products:
  - product: t-prod
---
kind: term
code: on-the-31st
name: yearly, cancelled on a 31st only
period: 12
unit: months
basis: calendar
early_cancellation: not_allowed
renewal_term: on-the-31st
exceptions:
  - when: 'cancellation.date.day == 31'
    outcome: allowed
---
kind: plan
code: plan-31st
name: plan
bundles: [t-base]
validity: {from: 2000-01-01}
term: on-the-31st
payment_methods: [card]
---
kind: term
code: thirty-years
name: 30 years not allowed
period: 30
unit: years
basis: calendar
early_cancellation: not_allowed
---
kind: bundle
code: addon-30y
name: add-on for 30 years
validity: {from: 2000-01-01}
products:
  - product: t-prod
term: thirty-years
"""


@pytest.mark.parametrize(("cancelled", "earliest"), [("2015-02-19", "2045-03-31"), ("2045-03-31", None)])
def test_the_earliest_date_past_the_listed_years_of_a_day_exception(
    tmp_path: Path, cancelled: str, earliest: str | None
) -> None:
    """A plan term that renews into itself and allows a cancellation on a 31st only, beside a
    30-year add-on term: the 31sts were listed for 8 years from the cancellation's year, so the
    search, moved 30 years on by the add-on, tried the plan term on its commitment ends only and
    named 2046-02-11 (until 2026-12-03, audit a1 of that day). The 31st of March 2045 is allowed,
    as the engine itself says of a cancellation on that day."""
    import shutil

    from engine import load_rules

    rules = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", rules)
    (rules / "catalog" / "late_terms.yaml").write_text(_LATE_TERMS, encoding="utf-8")
    decision = load_rules(rules).decide(
        {
            "id": "late",
            "as_of": f"{cancelled}T08:00:00+00:00",
            "subscription": {
                "code": "S",
                "plan": "plan-31st",
                "billing_frequency": "monthly",
                "start": "2015-02-11",
                "add_ons": ["addon-30y"],
                "add_on_starts": {"addon-30y": "2015-02-16"},
            },
            "cancellation": {"date": cancelled},
        }
    )
    cancellation = decision["cancellation"]
    assert cancellation["allowed"] is (earliest is None)
    if earliest is not None:
        assert cancellation["earliest"] == earliest
