"""`billrules diff`: the shipped samples decided under the shipped rules and a changed copy.

The expected outcome of every test is computed independently of engine/diff.py: each sample is
decided under both rule sets with the public API, the decisions compared without
`rules_version` and without the rule-file locations of reasons, and the net totals summed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.cli.main import main
from engine.decide.scenarios import read_scenarios
from engine.ruleset import load_rules
from engine.values import Money

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"
SAMPLES = REPO / "samples"


def _copy_rules(tmp_path: Path, name: str = "rules") -> Path:
    target = tmp_path / name
    shutil.copytree(RULES, target)
    return target


def _edit(path: Path, old: str, new: str, after: str = "") -> None:
    """Replace the first `old` after `after` in a rule file (the edit must exist)."""
    text = path.read_text(encoding="utf-8")
    start = text.index(after) if after else 0
    at = text.index(old, start)
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("rules_version", "source")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _decisions(rules_dir: Path) -> dict[str, dict[str, Any]]:
    rules = load_rules(rules_dir)
    found = {}
    for path in sorted(SAMPLES.rglob("*.yaml")):
        for item in read_scenarios(path):
            found[item.scenario.id] = rules.decide(item.scenario)
    return found


def _expected(new_rules: Path) -> tuple[set[str], dict[str, Decimal], dict[str, dict[str, Any]], dict[str, Any]]:
    old, new = _decisions(RULES), _decisions(new_rules)
    changed = {k for k in old if _strip(old[k]) != _strip(new[k])}
    net: dict[str, Decimal] = {}
    for k in changed:
        for decision, sign in ((old[k], -1), (new[k], 1)):
            for currency, total in decision.get("discounts", {}).get("totals", {}).items():
                net[currency] = net.get(currency, Decimal(0)) + sign * Money.parse(total["net"]).amount
    return changed, {c: v for c, v in net.items() if v}, old, new


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status = main(["diff", *args, "--json"])
    out = capsys.readouterr().out
    return status, json.loads(out)


def _scenarios(group: dict[str, Any]) -> set[str]:
    return {s["scenario"] for s in group["scenarios"]}


def _money(text: str) -> Decimal:
    return Money.parse(text.removeprefix("+")).amount  # money moved is signed: `+0.27 EUR`


def test_a_raised_percentage_reports_exactly_the_changed_scenarios_and_the_money(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = _copy_rules(tmp_path)
    _edit(new / "discounts" / "loyalty.yaml", "value: 5", "value: 6", after="code: loyalty-5")
    changed, net, old_decisions, _ = _expected(new)
    assert len(changed) > 10  # the change matters to many samples

    status, report = _run_json(capsys, "--rules", str(RULES), "--rules", str(new), "--input", str(SAMPLES))

    assert status == 1
    assert report["scenarios"] == len(old_decisions)
    assert report["changed"] == len(changed) and report["undecided"] == 0
    assert report["unchanged"] == len(old_decisions) - len(changed)
    assert {_money(v) for v in report["money"]["discounts_net"].values()} == set(net.values())
    assert net["EUR"] < 0  # a bigger discount: customers pay less
    listed = set().union(*(_scenarios(g) for g in report["groups"]))
    assert listed == changed
    loyalty = next(g for g in report["groups"] if g["label"] == "loyalty-5: applied, amount changed")
    applied = {k for k, d in old_decisions.items() if _status(d, "loyalty-5") == "applied"}
    assert _scenarios(loyalty) == applied & changed
    # the definitions' groups split the money moved exactly: their sums add up to the total
    total = sum((_money(g["money"]["discounts_net"]["EUR"]) for g in report["groups"]), Decimal(0))
    assert total == net["EUR"]
    assert all(" → " in s["detail"] for s in loyalty["scenarios"])  # old and new amount per scenario


def _status(decision: dict[str, Any], code: str) -> str | None:
    for definition in decision.get("discounts", {}).get("definitions", []):
        if definition["code"] == code:
            return str(definition["status"])
    return None


def test_a_tightened_condition_groups_by_status_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _copy_rules(tmp_path)
    _edit(
        new / "discounts" / "loyalty.yaml",
        "billing_frequencies: [monthly, quarterly]",
        "billing_frequencies: [quarterly]",
        after="code: loyalty-5",
    )
    changed, net, old, new_decisions = _expected(new)
    lost = {k for k in old if _status(old[k], "loyalty-5") == "applied" != _status(new_decisions[k], "loyalty-5")}
    assert lost and lost <= changed

    status = main(["diff", "--rules", str(RULES), "--rules", str(new), "--input", str(SAMPLES), "--per-group", "0"])
    text = capsys.readouterr().out

    assert status == 1
    assert f"{len(old)} scenarios: {len(changed)} changed (" in text
    assert f" of them moving money), {len(old) - len(changed)} unchanged" in text
    assert f"loyalty-5: applied → not_eligible — {len(lost)} scenarios" in text
    for scenario in changed:
        assert f"    {scenario}  samples/" in text
    assert f"+{net['EUR']} EUR" in text  # customers pay more

    status, report = _run_json(capsys, "--rules", str(RULES), "--rules", str(new), "--input", str(SAMPLES))
    group = next(g for g in report["groups"] if g["label"] == "loyalty-5: applied → not_eligible")
    assert _scenarios(group) == lost
    assert report["money"]["discounts_net"]["EUR"] == f"+{net['EUR']} EUR"


def test_an_identical_copy_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = _copy_rules(tmp_path)
    status = main(["diff", "--rules", str(RULES), "--rules", str(same), "--input", str(SAMPLES)])
    text = capsys.readouterr().out
    assert status == 0
    assert "0 changed" in text and "nothing changed" in text
    status, report = _run_json(capsys, "--rules", str(RULES), "--rules", str(same), "--input", str(SAMPLES))
    assert (status, report["changed"], report["undecided"], report["groups"], report["money"]) == (0, 0, 0, [], {})
    assert report["unchanged"] == report["scenarios"] == len(_decisions(RULES))


def _json_lines(tmp_path: Path, extra: list[str]) -> Path:
    from engine.load import load_file

    lines = []
    for path in sorted(SAMPLES.rglob("*.yaml")):
        for document in load_file(path).documents:
            data = dict(document.data)
            data.pop("expect", None)
            lines.append(json.dumps(data))
    target = tmp_path / "scenarios.jsonl"
    target.write_text("\n".join([*lines, "", *extra]) + "\n", encoding="utf-8")
    return target


def test_json_lines_input_and_unreadable_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = _copy_rules(tmp_path)
    _edit(new / "discounts" / "loyalty.yaml", "value: 5", "value: 6", after="code: loyalty-5")
    changed, net, old, _ = _expected(new)
    source = _json_lines(tmp_path, ['{"id": "broken"', '{"id": "no-date"}', '{"id": "a", "id": "b"}'])
    first_bad = len(old) + 2  # after the samples and one blank line

    status, report = _run_json(capsys, "--rules", str(RULES), "--rules", str(new), "--input", str(source))

    assert status == 1
    assert report["scenarios"] == len(old) + 3
    assert report["changed"] == len(changed) and report["undecided"] == 3
    assert set().union(*(_scenarios(g) for g in report["groups"] if g["kind"] == "changed")) == changed
    assert {_money(v) for v in report["money"]["discounts_net"].values()} == set(net.values())
    unread = next(g for g in report["groups"] if g["kind"] == "undecided")
    assert unread["label"].startswith("cannot be read")
    codes = [(s["line"], [p["code"] for p in s["problems"]]) for s in unread["scenarios"]]
    assert codes == [
        (first_bad, ["BR601"]),
        (first_bad + 1, ["BR602"]),
        (first_bad + 2, ["BR105"]),
    ]  # as `run` words them


def test_a_scenario_that_cannot_be_decided_under_one_rule_set_has_its_own_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = _copy_rules(tmp_path)
    care = new / "discounts" / "customer_care.yaml"
    text = care.read_text(encoding="utf-8")
    care.write_text(text[text.index("---\nkind: discount\ncode: retention-offer") + 4 :], encoding="utf-8")
    requesting = set()
    for path in sorted(SAMPLES.rglob("*.yaml")):
        for item in read_scenarios(path):
            named = [r.discount for r in item.scenario.requested_discounts] + [
                a.discount for a in item.scenario.approvals
            ]
            if "complaint-discount" in named:
                requesting.add(item.scenario.id)
    assert requesting

    status, report = _run_json(capsys, "--rules", str(RULES), "--rules", str(new), "--input", str(SAMPLES))

    assert status == 1
    group = next(g for g in report["groups"] if g["kind"] == "undecided")
    assert group["label"] == "cannot be decided under the new rules only"
    assert _scenarios(group) == requesting
    assert all(p["rules"] == "new" and p["code"] == "BR603" for s in group["scenarios"] for p in s["problems"])
    gone = [g for g in report["groups"] if g["label"].startswith("complaint-discount: ") and "→ (absent)" in g["label"]]
    assert gone and not _scenarios(gone[0]) & requesting
    assert report["scenarios"] == report["changed"] + report["unchanged"] + report["undecided"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_the_old_rules_from_a_git_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    rules = _copy_rules(repo)
    _git(repo, "init", "-q")
    _git(repo, "add", "rules")
    _git(repo, "commit", "-q", "-m", "shipped rules")
    _edit(rules / "discounts" / "loyalty.yaml", "value: 5", "value: 6", after="code: loyalty-5")
    _git(repo, "commit", "-q", "-am", "loyalty 6 %")
    changed, net, _, _ = _expected(rules)
    monkeypatch.chdir(repo)

    status, report = _run_json(capsys, "--rules", "git:HEAD~1:rules", "--rules", "rules", "--input", str(SAMPLES))
    assert status == 1
    assert report["old"]["rules"] == "git:HEAD~1:rules"
    assert report["old"]["rules_version"] == load_rules(RULES).rules_version  # the same content, the same hash
    assert set().union(*(_scenarios(g) for g in report["groups"])) == changed
    assert {_money(v) for v in report["money"]["discounts_net"].values()} == set(net.values())

    status, report = _run_json(capsys, "--rules", "git:HEAD:rules", "--rules", "rules", "--input", str(SAMPLES))
    assert (status, report["changed"]) == (0, 0)

    for spec, says in (
        ("git:HEAD~5:rules", "unknown revision `HEAD~5`"),  # (until 2026-12-03 "no folder `rules` at …")
        ("git:--output=x:rules", "unknown revision `--output=x`"),
        ("git:HEAD:nowhere", "no folder `nowhere` at revision `HEAD`"),
        ("git:HEAD:rules/ruleset.yaml", "is a file, not the rules folder"),
        ("git:HEAD", "write `git:REVISION:FOLDER`"),
    ):
        status = main(["diff", "--rules", spec, "--rules", "rules", "--input", str(SAMPLES)])
        captured = capsys.readouterr()
        assert status == 2, spec
        assert says in captured.err and "Traceback" not in captured.err
    assert not (repo / "x").exists()

    # from a subfolder of the repository, both forms (from the top, and `./` from here)
    for here, spec in ((repo / "rules" / "catalog", "git:HEAD:rules"), (repo / "rules", "git:HEAD:./")):
        monkeypatch.chdir(here)
        status, report = _run_json(capsys, "--rules", spec, "--rules", str(rules), "--input", str(SAMPLES))
        assert (status, report["changed"]) == (0, 0), spec


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--rules", "rules", "--input", "samples"], "give --rules twice"),
        (["--rules", "rules", "--rules", "rules", "--input", "nowhere"], "no such scenario file or folder"),
        (["--rules", "rules", "--rules", "nowhere", "--input", "samples"], "no such rules folder"),
        (
            ["--rules", "rules", "--rules", "rules", "--input", "samples", "--html", "no/such/dir/x.html"],
            "cannot write",
        ),
    ],
)
def test_usage_errors(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["diff", *args]) == 2
    assert says in capsys.readouterr().err


def test_text_output_escapes_what_came_from_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.load import load_file

    scenario = dict(load_file(SAMPLES / "discounts" / "complaint_offered.yaml").documents[0].data)
    scenario.pop("expect")
    scenario["id"] = "evil\x1b[31m\nerror[BR000] forged"
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps(scenario) + "\n", encoding="utf-8")
    new = _copy_rules(tmp_path)
    _edit(new / "discounts" / "loyalty.yaml", "value: 5", "value: 6", after="code: loyalty-5")
    status = main(["diff", "--rules", str(RULES), "--rules", str(new), "--input", str(source)])
    out = capsys.readouterr().out
    assert status == 1
    assert "evil\\x1b[31m\\nerror[BR000] forged" in out and "\x1b" not in out
