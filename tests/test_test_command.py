"""`billrules test` cannot pass by accident, says why a status differs, and reports rule coverage."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from engine.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
SAMPLE = REPO / "samples/cancellation/pro_rata_penalty.yaml"


def run_cli(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue() + err.getvalue()


def scenario_only(tmp_path: Path, name: str = "plain.yaml") -> Path:
    path = tmp_path / name
    path.write_text(SAMPLE.read_text(encoding="utf-8").split("\nexpect:")[0] + "\n", encoding="utf-8")
    return path


def test_files_without_expectations_are_counted_and_listed_as_skipped(tmp_path: Path) -> None:
    plain = scenario_only(tmp_path)
    code, out = run_cli(["test", "--rules", RULES, str(SAMPLE), str(plain)])
    assert code == 0
    assert f"skipped {plain}: no `expect:`" in out
    assert out.endswith("1 passed, 0 failed, 1 skipped\n")


def test_a_run_that_tests_nothing_fails(tmp_path: Path) -> None:
    code, out = run_cli(["test", "--rules", RULES, str(scenario_only(tmp_path))])
    assert code == 1
    assert "0 passed, 0 failed, 1 skipped\n" in out
    assert "no expectation was tested" in out


@pytest.mark.parametrize("expect", ["{}", "{discounts: {}}", "{discounts: {}, cancellation: {}}"])
def test_an_expectation_with_nothing_to_check_is_skipped_not_passed(tmp_path: Path, expect: str) -> None:
    """`expect: {}` compared nothing and passed: a file that cannot fail."""
    path = scenario_only(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + f"expect: {expect}\n", encoding="utf-8")
    code, out = run_cli(["test", "--rules", RULES, str(path)])
    assert code == 1
    assert f"skipped {path}: nothing in `expect:` to check" in out
    assert "0 passed, 0 failed, 1 skipped\n" in out


def test_a_file_named_twice_is_tested_once() -> None:
    code, out = run_cli(["test", "--rules", RULES, str(SAMPLE), str(SAMPLE), str(SAMPLE.parent)])
    assert code == 0
    assert out.endswith(f"{len(list(SAMPLE.parent.glob('*.yaml')))} passed, 0 failed\n")


def test_a_rule_file_given_as_a_scenario_says_so_in_one_line() -> None:
    rule_file = REPO / "rules/catalog/terms.yaml"
    code, out = run_cli(["test", "--rules", RULES, str(rule_file)])
    assert code == 1
    assert out.count("error[") == 1
    assert "error[BR601] this is a rule file (`kind: term`), not a scenario" in out


def test_rule_files_met_in_a_folder_are_skipped_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "terms.yaml").write_text((REPO / "rules/catalog/terms.yaml").read_text(encoding="utf-8"))
    (tmp_path / "case.yaml").write_text(SAMPLE.read_text(encoding="utf-8"))
    code, out = run_cli(["test", "--rules", RULES, str(tmp_path)])
    assert code == 0
    assert f"skipped {tmp_path / 'terms.yaml'}: a rule file (`kind: term`)" in out
    assert out.endswith("1 passed, 0 failed, 1 skipped\n")


def test_an_unknown_key_in_an_expectation_gets_did_you_mean(tmp_path: Path) -> None:
    path = scenario_only(tmp_path)
    path.write_text(path.read_text() + "expect:\n  cancelation:\n    allowed: true\n", encoding="utf-8")
    code, out = run_cli(["test", "--rules", RULES, str(path)])
    assert code == 1
    assert "the decision has no `cancelation`" in out
    assert "hint: did you mean `cancellation`?" in out
    lines = path.read_text(encoding="utf-8").splitlines()
    at = lines.index("  cancelation:") + 1
    assert f"{path.name}:{at}:3: error[BR701]" in out  # at the key, not its value's line below (since 2026-12-02)


def test_a_status_mismatch_shows_the_decisions_reasons(tmp_path: Path) -> None:
    path = tmp_path / "status.yaml"
    sample = (REPO / "samples/discounts/complaint_out_of_range.yaml").read_text(encoding="utf-8")
    scenario = sample.split("\nexpect:")[0]
    path.write_text(
        scenario + "\nexpect:\n  discounts:\n    definitions:\n      - {code: complaint-discount, status: applied}\n",
        encoding="utf-8",
    )
    code, out = run_cli(["test", "--rules", RULES, str(path)])
    assert code == 1
    assert "expected `applied`, got `rejected`" in out
    assert "because: requested 60 % is outside the range 5 % to 50 %" in out


def test_coverage_reports_both_sides_of_every_condition(tmp_path: Path) -> None:
    report = tmp_path / "coverage.json"
    code, out = run_cli(["test", "--rules", RULES, "--coverage", "--coverage-json", str(report), "samples/"])
    assert code == 0
    assert "rule coverage (" in out
    lines = out.splitlines()
    multiroom = lines.index(next(line for line in lines if line.startswith("  discount:multiroom-half")))
    assert lines[multiroom + 1].split() == [
        "billing_term",
        "held",
        "-",
        "not",
        "held",
        lines[multiroom + 1].split()[5],
        "<-",
        "never",
        "held",
    ]
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["scenarios"] == int(out.split("rule coverage (")[1].split(" ")[0])
    conditions = {(c["owner"], c["section"]): c for c in data["conditions"]}
    exception = conditions[("term:commit-24m", "exceptions[0]")]
    assert exception["held"] == 1 and exception["not_held"] >= 1  # samples/cancellation/exception_moved_abroad.yaml
    assert data["totals"]["conditions"] == len(data["conditions"])
