"""What analysts lacked on the command line: `--rules` defaults to rules/, several scenarios per
`decide`, `validate` with no path checks the rule set, `--version` names the rules hash."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from engine.cli.main import main

REPO = Path(__file__).resolve().parent.parent


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's --version exits
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_version_names_the_rules_hash_that_decisions_carry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run_cli(["--version"])
    assert code == 0
    version_line, rules_line = out.splitlines()
    assert version_line.startswith("billrules ")
    _, decision, _ = run_cli(["decide", "--json", "samples/cancellation/pro_rata_penalty.yaml"])
    assert rules_line == f"rules: rules {json.loads(decision)['rules_version']}"


def test_version_outside_a_rule_set_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(["--version"])
    assert code == 0 and "rules: no rule set here" in out


def test_decide_takes_several_files_and_defaults_to_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    files = ["samples/cancellation/pro_rata_penalty.yaml", "samples/purchase/coupon_minus_20.yaml"]
    code, out, err = run_cli(["decide", "--json", *files])
    assert (code, err) == (0, "")
    assert [json.loads(line)["scenario"] for line in out.splitlines()] == [
        "cancellation-pro-rata-penalty",
        "coupon-minus-20",
    ]


def test_decide_says_in_one_line_that_a_rule_file_is_not_a_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, _, err = run_cli(["decide", "rules/catalog/terms.yaml"])
    assert code == 1
    assert err.count("error[") == 1 and "this is a rule file (`kind: term`), not a scenario" in err


def test_validate_without_a_path_checks_the_rules_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "rules", project / "rules")
    (project / "samples").mkdir()
    (project / "samples" / "scenario.yaml").write_text("id: x\nas_of: 2015-01-01T00:00:00Z\n")  # not a rule file
    monkeypatch.chdir(project)
    assert run_cli(["validate", "-v"])[:2] == (0, "no problems found\n")
    (project / "rules" / "catalog" / "terms.yaml").write_text("kind: term\ncode: T\n")
    code, out, _ = run_cli(["validate"])
    assert code == 1 and "rules/catalog/terms.yaml:1:1: error[BR202]" in out


def test_validate_without_a_path_finds_the_nearest_ruleset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(REPO / "rules", tmp_path / "acme")
    monkeypatch.chdir(tmp_path / "acme" / "discounts")
    assert run_cli(["validate", "-v"])[:2] == (0, "no problems found\n")


def test_test_and_decide_find_the_rule_set_they_run_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `rules/`, `test` and `decide` use the nearest `ruleset.yaml` at or above the path
    given or the current folder, as `validate` does (they looked for `rules/` only)."""
    shutil.copytree(REPO / "rules", tmp_path / "billing")
    (tmp_path / "expectations").mkdir()
    shutil.copy(REPO / "samples" / "discounts" / "complaint_cap.yaml", tmp_path / "expectations")
    monkeypatch.chdir(tmp_path / "billing")
    assert main(["test", "../expectations"]) == 0
    assert main(["decide", "../expectations/complaint_cap.yaml"]) == 0
    monkeypatch.chdir(tmp_path)  # no rule set here or above, none in `rules/`: a usage error
    assert main(["test", "expectations"]) == 2
