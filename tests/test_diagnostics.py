"""Every diagnostic code has a bad rule set under tests/cases/ and a golden report.

Each case folder is a rule set (or, for BR110, files outside any rule set). `expected.txt` is
the exact text report: message, line, column, caret and hint are behaviour analysts read.
Regenerate after an intended wording change with `UPDATE_GOLDEN=1 pytest tests/test_diagnostics.py`
and review the diff.
"""

from __future__ import annotations

import io
import json
import os
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.codes import CODES

CASES = Path(__file__).parent / "cases"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def run_cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_report_matches_golden(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(case)
    monkeypatch.setenv("NO_COLOR", "1")
    code, output = run_cli(["validate", "."])
    golden = case / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(output, encoding="utf-8")
    warning_only = "error[" not in output  # a warning alone does not fail validate (without --strict)
    assert code == (0 if warning_only else 1)
    assert output == golden.read_text(encoding="utf-8")
    assert re.match(r"[\w./-]+:\d+:\d+: (error|warning)\[BR\d{3}\]", output)
    wanted = case.name.split("-")[0]
    assert f"[{wanted}]" in output, f"case {case.name} does not produce {wanted}"


def test_every_code_has_a_case() -> None:
    generated = {"BR100", "BR101", "BR107", "BR108"}  # built at test time in test_hostile_yaml.py
    generated |= {"BR117"}  # symbolic links, built at test time in tests/test_files.py
    generated |= {"BR601", "BR602", "BR603", "BR604", "BR701"}  # scenarios and expectations: tests/test_decide.py
    generated |= {"BR620", "BR621", "BR622", "BR623"}  # purchase facts in scenarios: tests/test_purchases.py
    generated |= {"BR624"}  # earlier coupon redemptions in scenarios: tests/test_audit_tenth.py
    generated |= {"BR610", "BR611", "BR612"}  # balance facts in scenarios: tests/test_balances.py
    generated |= {"BR605", "BR606"}  # credit scenario facts: tests/test_credits.py
    generated |= {"BR607"}  # a bill without its period: tests/test_audit_fifteenth.py
    generated |= {"BR615", "BR616"}  # cancellation facts: tests/test_terms.py
    covered = {p.name.split("-")[0] for p in CASE_DIRS} | generated
    assert covered >= set(CODES), f"codes without a bad rule file: {sorted(set(CODES) - covered)}"


def test_json_format_carries_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "BR201-unknown-property")
    code, output = run_cli(["validate", "--format", "json", "."])
    report = json.loads(output)
    assert code == 1 and report["count"] == 1
    assert report["diagnostics"][0] == {
        "file": "bad.yaml",
        "line": 5,
        "column": 1,
        "end_column": 6,
        "code": "BR201",
        "severity": "error",
        "message": "unknown property `pirce` in product",
        "hint": "did you mean `price`?",
        "detail": [],
    }


def test_github_format_is_a_workflow_annotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "BR201-unknown-property")
    code, output = run_cli(["validate", "--format", "github", "."])
    assert code == 1
    assert (
        output
        == "::error file=bad.yaml,line=5,col=1,endColumn=6,title=BR201::unknown property `pirce` in product (did you mean `price`?)\n"
    )


def test_sarif_format_uses_codes_as_rule_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "BR302-unknown-reference")
    code, output = run_cli(["validate", "--format", "sarif", "."])
    sarif = json.loads(output)
    assert code == 1 and sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["BR302"]
    result = run["results"][0]
    assert result["ruleId"] == "BR302"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 6, "startColumn": 14, "endColumn": 17}


def test_clean_run_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(repo)
    assert run_cli(["validate", "rules"]) == (0, "")
    assert run_cli(["validate", "--verbose", "rules"]) == (0, "no problems found\n")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "/no/such/path"]) == 2
    assert "no such file or directory: /no/such/path" in capsys.readouterr().err
    assert main(["validate", "--format", "xml", "."]) == 2
    assert main([]) == 2
    assert main(["frobnicate"]) == 2


def test_single_file_is_checked_in_its_rule_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "BR302-unknown-reference")
    code, output = run_cli(["validate", "bundle.yaml"])
    assert code == 1 and "unknown product `TVV`" in output
    code, output = run_cli(["validate", "p.yaml"])  # the broken reference is reported too: same rule set
    assert code == 1 and "[BR302]" in output


def test_a_warning_fails_validate_only_with_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "BR423-percentage-fraction")
    monkeypatch.setenv("NO_COLOR", "1")
    assert run_cli(["validate", "."])[0] == 0
    code, output = run_cli(["validate", "--strict", "."])
    assert code == 1 and "warning[BR423]" in output
    code, output = run_cli(["validate", "--format", "json", "."])
    assert code == 0 and json.loads(output)["diagnostics"][0]["severity"] == "warning"
