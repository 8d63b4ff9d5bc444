"""Findings of the twelfth session's audits (2026-12-02). Each test is a reduced reproduction of
what an audit found, with the outcome SPEC or README requires."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.decide.scenarios import ScenarioError

REPO = Path(__file__).resolve().parent.parent


def _rules_with(tmp_path: Path, file: str, extra: str) -> Path:
    """A copy of the shipped rules with `extra` appended to `file`."""
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / file
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return root


# --- credits: never drawn before they are issued ----------------------------------------------------

_LATE_ISSUED = """---
kind: credit
code: de-network-late
name: Network offer issued in June, usable in the first half year
type: network-offer
quantity: 2
holder: globex-de
usage_period: {from: 2015-01-01, to: 2015-06-30}
allocation: this_organisation
issued: ISSUED
"""


def _consume(at: str) -> dict[str, Any]:
    return {
        "id": "late-issue",
        "as_of": "2015-12-01T09:00:00+00:00",
        "consumptions": [
            {"id": "N1", "organisation": "globex-de", "credit_type": "network-offer", "quantity": 1, "at": at}
        ],
    }


@pytest.mark.parametrize(("at", "drawn"), [("2015-05-31T23:00:00+00:00", False), ("2015-06-01T00:00:00+00:00", True)])
def test_a_credit_is_not_drawn_before_its_issue_day(tmp_path: Path, at: str, drawn: bool) -> None:
    # (SPEC 3.6: candidates are credits "active at that time"; a credit issued on 2015-06-01 whose
    # usage period starts on 2015-01-01 was drawn in March; from its issue day it expires first)
    rules = load_rules(_rules_with(tmp_path, "credits/credits.yaml", _LATE_ISSUED.replace("ISSUED", "2015-06-01")))
    part = rules.decide(_consume(at))["credits"]
    credits = [a["credit"] for a in part["allocations"]]
    assert ("de-network-late" in credits) is drawn, part


def test_a_credit_issued_after_its_usage_period_is_refused(tmp_path: Path) -> None:
    from engine import RuleSetError

    root = _rules_with(tmp_path, "credits/credits.yaml", _LATE_ISSUED.replace("ISSUED", "2016-01-05"))
    with pytest.raises(RuleSetError) as raised:
        load_rules(root)
    [found] = [d for d in raised.value.diagnostics if d.code == "BR413"]
    assert "issued on 2016-01-05, after its usage period ends (2015-06-30)" in found.message
    assert found.file.endswith("credits.yaml") and found.line > 1


def test_a_scenario_credit_issued_after_its_usage_period_is_refused() -> None:
    scenario = _consume("2015-06-01T00:00:00+00:00")
    scenario["credits"] = [
        {
            "code": "x-late",
            "name": "x",
            "type": "network-offer",
            "quantity": 1,
            "holder": "globex-de",
            "usage_period": {"from": "2015-01-01", "to": "2015-03-31"},
            "allocation": "this_organisation",
            "issued": "2015-04-01",
        }
    ]
    with pytest.raises(ScenarioError) as raised:
        load_rules(REPO / "rules").decide(scenario)
    assert raised.value.code == "BR413"
    assert "credits[0].issued" in str(raised.value)


# --- billing runs: every file written whole before any is renamed -----------------------------------

_NIGHTLY = REPO / "samples/run/nightly.jsonl"


def _run_input(tmp_path: Path, good: int = 3) -> Path:
    """`good` scenarios of the nightly input and one line that is no scenario (an error record)."""
    lines = [*_NIGHTLY.read_text(encoding="utf-8").splitlines()[:good], '{"id": "broken"}']
    path = tmp_path / "in.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _fail_preparing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The disk fills up while `name` is written out (its `AtomicFile.prepare`)."""
    import errno

    from engine.run.atomic import AtomicFile

    prepare = AtomicFile.prepare

    def full(self: AtomicFile) -> None:
        if self.path.name == name:
            raise OSError(errno.ENOSPC, "No space left on device")
        prepare(self)

    monkeypatch.setattr(AtomicFile, "prepare", full)


@pytest.mark.parametrize("failing", ["errors.jsonl", "summary.json"])
def test_a_run_that_cannot_write_one_file_replaces_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], failing: str
) -> None:
    # (the decisions were renamed over the previous ones before the errors file was written out:
    # a full disk left new decisions beside the previous run's errors, and the run said "no output
    # was written"; the summary was written after both were renamed)
    from engine.cli.main import main

    source = _run_input(tmp_path)
    output, errors, summary = tmp_path / "out.jsonl", tmp_path / "errors.jsonl", tmp_path / "summary.json"
    for path in (output, errors, summary):
        path.write_text("PREVIOUS\n", encoding="utf-8")
    _fail_preparing(monkeypatch, failing)
    files = ["--output", str(output), "--errors", str(errors), "--summary", str(summary)]
    code = main(["run", "--rules", str(REPO / "rules"), "--input", str(source), "--workers", "1", *files])
    assert code == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "no output was written" in err
    if failing == "summary.json":
        assert "cannot write the summary" in err
    assert [p.read_text(encoding="utf-8") for p in (output, errors, summary)] == ["PREVIOUS\n"] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["errors.jsonl", "in.jsonl", "out.jsonl", "summary.json"]


def test_a_run_writes_its_three_files_when_it_can(tmp_path: Path) -> None:
    import json

    from engine.cli.main import main

    source = _run_input(tmp_path)
    output, errors, summary = tmp_path / "out.jsonl", tmp_path / "errors.jsonl", tmp_path / "summary.json"
    files = ["--output", str(output), "--errors", str(errors), "--summary", str(summary)]
    assert main(["run", "--rules", str(REPO / "rules"), "--input", str(source), "--workers", "1", *files]) == 1
    assert len(output.read_text(encoding="utf-8").splitlines()) == 3
    assert len(errors.read_text(encoding="utf-8").splitlines()) == 1
    counted = json.loads(summary.read_text(encoding="utf-8"))
    assert (counted["scenarios"], counted["decisions"], counted["errors"]) == (4, 3, 1)


@pytest.mark.parametrize(
    ("option", "target"),
    [("--summary", "discounts/loyalty.yaml"), ("--errors", "ruleset.yaml"), ("--output", "catalog/products.yaml")],
)
def test_a_run_never_writes_over_or_among_its_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, target: str
) -> None:
    from engine.cli.main import main

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    before = (rules / target).read_bytes() if (rules / target).exists() else None
    source = _run_input(tmp_path)
    args = ["run", "--rules", str(rules), "--input", str(source), "--workers", "1"]
    args += ["--output", str(tmp_path / "out.jsonl")] if option != "--output" else []
    args += [option, str(rules / target), "--format", "jsonl"]
    assert main(args) == 2
    assert option in capsys.readouterr().err
    assert ((rules / target).read_bytes() if (rules / target).exists() else None) == before
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("size", ["9223372036854775808", "1000001"])
def test_a_chunk_size_beyond_reason_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str
) -> None:
    from engine.cli.main import main

    source = _run_input(tmp_path)
    args = ["run", "--rules", str(REPO / "rules"), "--input", str(source), "--output", str(tmp_path / "o.jsonl")]
    assert main([*args, "--chunk-size", size]) == 2
    assert "at most 1,000,000 lines a chunk" in capsys.readouterr().err


# --- validate --scenarios: nothing in a folder left out in silence ----------------------------------


def test_validate_scenarios_names_what_it_does_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli.main import main

    folder = tmp_path / "scenarios"
    folder.mkdir()
    good = (REPO / "samples/cancellation/pro_rata_penalty.yaml").read_text(encoding="utf-8")
    (folder / "good.yaml").write_text(good, encoding="utf-8")
    (folder / "B.YAML").write_text(good, encoding="utf-8")
    (tmp_path / "outside.yaml").write_text("id: x\n", encoding="utf-8")
    (folder / "linked.yaml").symlink_to(tmp_path / "outside.yaml")
    assert main(["validate", "--rules", str(REPO / "rules"), "--scenarios", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "B.YAML:1:1: error[BR119] not read as a scenario file" in out
    assert "linked.yaml:1:1: error[BR117] symbolic link leads outside the folder given" in out
    assert "good.yaml" not in out


# --- a file of several scenarios: one that is no mapping is reported in its place -------------------


def test_a_document_that_is_no_mapping_does_not_hide_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from engine.cli.main import main

    good = (REPO / "samples/cancellation/pro_rata_penalty.yaml").read_text(encoding="utf-8")
    second = good.replace("id: cancellation-pro-rata-penalty", "id: second")
    third = good.replace("id: cancellation-pro-rata-penalty", "id: third").replace("as_of:", "as_off:")
    path = tmp_path / "three.yaml"
    path.write_text(good + "---\njust text\n---\n" + second + "---\n" + third, encoding="utf-8")
    assert main(["decide", "--rules", str(REPO / "rules"), "--json", str(path)]) == 1
    captured = capsys.readouterr()
    decided = [json.loads(line)["scenario"] for line in captured.out.splitlines() if line.startswith("{")]
    assert decided == ["cancellation-pro-rata-penalty", "second"]
    assert "error[BR601] a scenario must be a mapping" in captured.err
    assert "error[BR602] scenario field `as_of` is required" in captured.err


# --- billrules test: yes/no is not text, values shown as YAML writes them ---------------------------


def _expectation(tmp_path: Path, expect: str) -> Path:
    good = (REPO / "samples/cancellation/pro_rata_penalty.yaml").read_text(encoding="utf-8")
    head = good[: good.index("expect:")]
    path = tmp_path / "case.yaml"
    path.write_text(head + "expect: " + expect + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("expect", "said"),
    [
        ('{cancellation: {allowed: "true"}}', "expected `true` (text), the decision has `true` here"),
        ("{cancellation: {allowed: 1}}", "expected `1`, the decision has `true` here"),
        ("{cancellation: {terms: [5]}}", "expected `[5]`, the decision has a list of 1 mapping here"),
        ("{discounts: {definitions: [{code: [loyalty-5]}]}}", 'no item with code `["loyalty-5"]`'),
    ],
)
def test_an_expectation_is_compared_strictly_and_shown_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], expect: str, said: str
) -> None:
    # (`allowed: "true"` passed against `true`; `[5]` was answered with a whole term in Python's repr)
    from engine.cli.main import main

    assert main(["test", "--rules", str(REPO / "rules"), str(_expectation(tmp_path, expect))]) == 1
    out = capsys.readouterr().out
    assert said in out, out
    assert "'" not in out.split("error[BR701]")[1].split("\n")[0]  # (no Python repr)


def test_the_true_expectation_still_passes(tmp_path: Path) -> None:
    from engine.cli.main import main

    path = _expectation(tmp_path, "{cancellation: {allowed: true}}")
    assert main(["test", "--rules", str(REPO / "rules"), str(path)]) == 0


def test_a_coverage_report_is_not_named_as_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli.main import main

    other = tmp_path / "other.jsonl"
    other.write_text("KEEP\n", encoding="utf-8")
    args = ["test", "--rules", str(REPO / "rules"), str(REPO / "samples/balance"), "--coverage-json", str(other)]
    assert main(args) == 2
    assert "named like a scenario or rule file" in capsys.readouterr().err
    assert other.read_text(encoding="utf-8") == "KEEP\n"


def test_a_runs_diagnostics_are_printed_above_its_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # (without --errors, a diagnostic was written to the stream itself and glued to the bar's line)
    from engine.cli.main import main

    source = _run_input(tmp_path)
    args = ["run", "--rules", str(REPO / "rules"), "--input", str(source), "--output", str(tmp_path / "o.jsonl")]
    assert main([*args, "--workers", "1", "--progress"]) == 1
    err = capsys.readouterr().err
    said = f"{source}:4:1: error[BR602]"  # (column 1 as `decide` says, not the record's 0; on one line)
    assert said in err, repr(err)
    at = err.index(said)
    assert err[:at].endswith(("\n", "\x1b[2K")), repr(err[max(0, at - 80) : at + 20])


# --- a job's segments: its own, and its account's when there is one ----------------------------------


def _late_job(account: dict[str, Any] | None) -> dict[str, Any]:
    scenario: dict[str, Any] = {
        "id": "late-job",
        "as_of": "2015-06-20T10:00:00+02:00",
        "job": {
            "code": "JOB-5",
            "type": "installation",
            "segments": ["late-installation"],
            "products": [{"product": "installation-fee"}],
        },
    }
    if account is not None:
        scenario["account"] = account
    return scenario


@pytest.mark.parametrize(
    ("account", "status"),
    [
        (None, "applied"),  # (seed 002, scenario 3, written without an account: was not_eligible)
        ({"code": "A1"}, "applied"),
        ({"code": "A1", "segments": ["delinquent"]}, "not_eligible"),
    ],
)
def test_a_late_installation_job_gets_its_20_eur_with_or_without_an_account(
    account: dict[str, Any] | None, status: str
) -> None:
    decision = load_rules(REPO / "rules").decide(_late_job(account))["discounts"]
    [late] = [d for d in decision["definitions"] if d["code"] == "installation-late-20-off"]
    assert late["status"] == status, late
    if status == "applied":
        assert decision["lines"][0]["net"] == "60.00 EUR"
    else:
        [reason] = late["reasons"]
        assert reason["code"] == "overlap_excluded"
        assert reason["facts"]["subject"] == "job.segments_with_account"


# --- a refund written with the amount seed 004 names ---------------------------------------------------


@pytest.mark.parametrize(("amount", "refused"), [(None, False), (40, False), ("40.00", False), (25, True)])
def test_a_refund_may_name_the_amount_it_returns(amount: Any, refused: bool) -> None:
    # (seed 004: "the amount ... equal to the service price is returned"; a refund written with its
    # amount refused the whole scenario, BR611, until 2026-12-02; one naming another amount is refused)
    refund: dict[str, Any] = {"id": "e2", "type": "refund", "at": "2015-07-01T09:30:00Z", "request": "r1"}
    refund["reason"] = "cancelled"
    if amount is not None:
        refund["amount"] = amount
    scenario = {
        "id": "refund",
        "as_of": "2015-07-01T10:00:00Z",
        "balance": {
            "policy": "standard-balance",
            "opening": 100,
            "events": [
                {"id": "e1", "type": "debit", "at": "2015-07-01T09:00:00Z", "amount": 40, "request": "r1"},
                refund,
            ],
        },
    }
    part = load_rules(REPO / "rules").decide(scenario)["balance"]
    # (written with the events' most decimals, since 2026-12-02: a refund naming `40.00` makes it `100.00`)
    assert part["closing"] == ("60" if refused else "100.00" if amount == "40.00" else "100"), part
    if refused:
        [reason] = part["refused"]
        assert reason["code"] == "refund_amount_differs"
        assert reason["facts"]["amount"] == "25" and reason["facts"]["debited"] == "40"


@pytest.mark.parametrize(
    ("path", "key", "hint"),
    [
        (("approvals", 0), "user", "did you mean `by`?"),
        (("approvals", 0), "approved_by", "did you mean `by`?"),
        (("consumptions", 0), "amount", "did you mean `quantity`?"),
        (("balance", "events", 0), "service", "did you mean `request`?"),
    ],
)
def test_a_field_written_with_the_seeds_or_a_crms_word_gets_its_hint(
    path: tuple[Any, ...], key: str, hint: str
) -> None:
    from engine.decide.scenarios import validate_scenario

    scenario: dict[str, Any] = {
        "id": "words",
        "as_of": "2015-07-01T10:00:00Z",
        "approvals": [{"discount": "complaint-discount", "by": "sara.supervisor"}],
        "consumptions": [{"id": "c", "organisation": "globex-de", "credit_type": "network-offer", "quantity": 1}],
        "balance": {"policy": "standard-balance", "opening": 1, "events": [{"id": "e", "type": "grant", "amount": 1}]},
    }
    target: Any = scenario
    for part in path:
        target = target[part]
    target[key] = "x"
    found = [d for d in validate_scenario(scenario, None).diagnostics if key in d.message]
    assert [d.hint for d in found] == [hint], found


# --- purchases: a coupon that grants nothing is not spent --------------------------------------------


@pytest.mark.parametrize(
    ("add_ons", "status"),
    [(["movies-bundle"], "rejected"), (["additional-service-bundle"], "redeemed")],
)
def test_a_coupon_that_grants_nothing_to_the_purchase_is_kept(add_ons: list[str], status: str) -> None:
    # (coupon_87 grants MINUS 20, 20 % off the Additional Service: entered with a purchase of the
    # movies pack it reduced nothing, and its one use was spent, until 2026-12-02)
    rules = load_rules(REPO / "rules")
    if rules.get("bundle", add_ons[0]) is None:
        pytest.skip(f"no bundle {add_ons[0]} in the shipped rules")
    scenario = {
        "id": "idle-coupon",
        "as_of": "2015-07-01T10:00:00Z",
        "purchase": {"add_ons": add_ons, "coupons": ["coupon_87"]},
    }
    part = rules.decide(scenario)["purchase"]
    [coupon] = part["coupons"]
    assert coupon["status"] == status, coupon
    if status == "rejected":
        assert [r["code"] for r in coupon["reasons"]] == ["coupon_grants_nothing"]
        assert part["allowed"] is True and part["price"]["EUR"]["net"] == "9.99 EUR"


# --- cancellations: a reason written otherwise than the terms name it ---------------------------------


@pytest.mark.parametrize(
    ("reason", "meant"),
    [("moved abroad", "moved_abroad"), ("Moved_Abroad", "moved_abroad"), ("moved_abrod", "moved_abroad")],
)
def test_a_misspelt_cancellation_reason_is_refused_with_the_one_meant(reason: str, meant: str) -> None:
    # (it matched no exception, and the full penalty was charged in silence, until 2026-12-02)
    scenario = _pro_rata_cancellation()
    scenario["cancellation"]["reason"] = reason
    with pytest.raises(ScenarioError) as raised:
        load_rules(REPO / "rules").decide(scenario)
    assert raised.value.code == "BR603"
    assert raised.value.field == "cancellation.reason"
    assert f"did you mean `{meant}`?" in raised.value.hint


@pytest.mark.parametrize(
    ("reason", "free"),
    [
        ("moved_abroad", True),
        ("moved_house", False),
        ("other", False),
        ("not_moved_abroad", False),  # (a phrase of its own, not a typo: was "did you mean `moved_abroad`?")
        ("moved_abroad_eu", False),
    ],
)
def test_a_reason_the_terms_do_not_name_is_the_scenarios_own(reason: str, free: bool) -> None:
    scenario = _pro_rata_cancellation()
    scenario["cancellation"]["reason"] = reason
    part = load_rules(REPO / "rules").decide(scenario)["cancellation"]
    [term] = part["terms"]
    assert (term["outcome"] != "penalty") is free, term


def _discount(code: str, *, when: str = "", more: str = "", service: str = "both") -> str:
    """A YAML document of an auto-applied 5 % subscription discount on `tv-essentials`, with a
    `when:` and further fields when given, to append to a rule file."""
    criteria = f"criteria:\n  when: '{when}'\n" if when else ""
    return (
        f"---\nkind: discount\ncode: {code}\nname: {code}\ntype: auto_apply\nclassification: subscription\n"
        f"applied_service_type: {service}\nstate: effective\namount: {{type: percentage, value: 5, level: 1}}\n"
        f"discounted_products:\n  - product: tv-essentials\nvalidity: {{effective: 2015-01-01}}\n{more}{criteria}"
    )


def _sample(name: str) -> dict[str, Any]:
    """A shipped sample scenario (under `samples/`), without its `expect:`."""
    from ruamel.yaml import YAML

    data = dict(YAML(typ="safe").load((REPO / "samples" / name).read_text(encoding="utf-8")))
    data.pop("expect", None)
    return data


def _pro_rata_cancellation() -> dict[str, Any]:
    return _sample("cancellation/pro_rata_penalty.yaml")


# --- a decision answers the questions asked ------------------------------------------------------------


@pytest.mark.parametrize(("products", "asked"), [(False, False), (True, True)])
def test_a_cancellation_of_a_bare_subscription_asks_no_discount_question(products: bool, asked: bool) -> None:
    # (SPEC 4: "the decision answers exactly those"; a cancellation written with a subscription of
    # no lines got every discount definition back, not eligible for want of a line)
    scenario = _pro_rata_cancellation()
    if not products:
        del scenario["subscription"]["products"]
    decision = load_rules(REPO / "rules").decide(scenario)
    assert ("discounts" in decision) is asked
    assert decision["cancellation"]["terms"][0]["penalty"]["total"] == "166.60 EUR"


def test_a_bare_subscription_asking_nothing_else_still_asks_for_its_discounts() -> None:
    scenario = _pro_rata_cancellation()
    del scenario["subscription"]["products"], scenario["cancellation"]
    decision = load_rules(REPO / "rules").decide(scenario)
    assert "discounts" in decision and decision["discounts"]["lines"] == []


@pytest.mark.parametrize("field", ["termed_service", "product"])
def test_a_usage_records_unknown_product_is_refused_by_decide_too(field: str) -> None:
    # (validate --scenarios refused it; decide and runs judged the usage sections on it in silence)
    scenario = _pro_rata_cancellation()
    del scenario["cancellation"]
    scenario["usage"] = [{"at": "2015-09-20T20:00:00+02:00", "service_type": "VOD", field: "tv-premum"}]
    with pytest.raises(ScenarioError) as raised:
        load_rules(REPO / "rules").decide(scenario)
    assert raised.value.code == "BR603"
    assert raised.value.field == f"usage[0].{field}"
    assert raised.value.hint == "did you mean `tv-premium`?"


def test_decide_names_a_json_lines_field_at_column_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # (decide said `2:0:` with no field where validate --scenarios said `2:1: `subscription.plan``)
    import json

    from engine.cli.main import main

    scenario = _pro_rata_cancellation()
    scenario["subscription"]["plan"] = "tv-essentials-42"
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(scenario, default=str) + "\n", encoding="utf-8")
    assert main(["decide", "--rules", str(REPO / "rules"), str(path)]) == 1
    err = capsys.readouterr().err
    assert "s.jsonl:1:1: error[BR616] `subscription.plan`: unknown plan `tv-essentials-42`" in err, err


def test_validate_says_when_the_scenarios_were_not_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli.main import main

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    care = rules / "discounts/customer_care.yaml"
    text = care.read_text(encoding="utf-8")
    assert "cap: 20.00 EUR" in text
    care.write_text(text.replace("cap: 20.00 EUR", "cap: 0.00 EUR", 1), encoding="utf-8")
    sample = REPO / "samples/cancellation/pro_rata_penalty.yaml"
    assert main(["validate", "--rules", str(rules), "--scenarios", str(sample)]) == 1
    assert "the scenarios were not checked: the rule set" in capsys.readouterr().err


def test_a_misspelt_settings_currency_gets_the_money_values_suggestion(tmp_path: Path) -> None:
    # (`EUX` in `minor_units` got "did you mean `XEU`?", the historic unit, which then validated)
    from engine import RuleSetError

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    settings = rules / "ruleset.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "minor_units: {EUX: 3}\n", encoding="utf-8")
    with pytest.raises(RuleSetError) as raised:
        load_rules(rules)
    [found] = [d for d in raised.value.diagnostics if d.code == "BR207"]
    assert found.hint == "did you mean `EUR`?"


def test_a_reason_is_checked_against_the_terms_in_force_only() -> None:
    # (a month-to-month plan's term names no reason: `Moved abroad` there is the scenario's own;
    # the check was global, and refused it as a misspelt `moved_abroad` of another term)
    data = _sample("cancellation/no_commitment_allowed.yaml")
    data["cancellation"]["reason"] = "Moved abroad"
    part = load_rules(REPO / "rules").decide(data)["cancellation"]
    assert part["allowed"] is True


# --- the review's findings ------------------------------------------------------------------------------


def test_a_run_without_rules_named_never_writes_among_the_rules_it_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.main import main

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    source = _run_input(tmp_path)
    monkeypatch.chdir(rules / "discounts")
    before = (rules / "discounts/loyalty.yaml").read_bytes()
    args = ["run", "--input", str(source), "--output", str(tmp_path / "o.jsonl"), "--summary", "loyalty.yaml"]
    assert main([*args, "--workers", "1"]) == 2
    assert "--summary" in capsys.readouterr().err
    assert (rules / "discounts/loyalty.yaml").read_bytes() == before


def test_standard_output_redirected_to_a_file_is_that_file(tmp_path: Path) -> None:
    # (`--output - --errors /dev/stdout > out.txt` renamed the error records over the decisions)
    import subprocess
    import sys

    source = _run_input(tmp_path)
    out = tmp_path / "out.txt"
    command = [sys.executable, "-m", "engine", "run", "--rules", str(REPO / "rules"), "--input", str(source)]
    with out.open("wb") as stdout:
        done = subprocess.run(
            [*command, "--output", "-", "--errors", "/dev/stdout", "--workers", "1"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            check=False,
        )
    assert done.returncode == 2
    assert b"--errors and --output name the same file" in done.stderr
    assert out.read_bytes() == b""


def test_a_coupon_counts_what_another_codes_bundle_brings(tmp_path: Path) -> None:
    # (a coupon taking 10 % off the sports pack, entered with the welcome code whose bundle brings
    # the pack, was rejected as granting nothing)
    extra = """---
kind: bundle
code: sports-extra-bundle
name: Sports extra
validity: {from: 2015-01-01, to: 2015-12-31}
discounts: [sports-extra-10]
---
kind: discount
code: sports-extra-10
name: Sports extra 10 %
type: auto_apply
classification: subscription
applied_service_type: non_usage
state: effective
amount: {type: percentage, value: 10, level: 1}
discounted_products:
  - product: sports-pack
validity: {effective: 2015-01-01}
---
kind: coupon
code: sports-extra
name: Sports extra
provider: ACME
charset: alphanumeric
template: "SX##"
quantity: 5
redemption_quantity: 1
range_start: "10"
bundle: sports-extra-bundle
validity: {from: 2015-01-01, to: 2015-12-31}
"""
    root = _rules_with(tmp_path, "catalog/bundles.yaml", extra)
    scenario = {
        "id": "two-coupons",
        "as_of": "2015-07-10T14:30:00+02:00",
        "purchase": {"plan": "tv-essentials-24", "coupons": ["ACME-A00F", "SX10"], "payment_method": "direct_debit"},
    }
    part = load_rules(root).decide(scenario)["purchase"]
    assert [c["status"] for c in part["coupons"]] == ["redeemed", "redeemed"], part["coupons"]


# --- a used-up auto-applied discount says when it ran ---------------------------------------------------


def _one_bill(bills: int) -> str:
    return _discount("one-bill-10", more=f"duration: {{billing_periods: {bills}}}\n", service="non_usage")


@pytest.mark.parametrize(
    ("bills", "frequency", "period", "history", "said"),
    [
        # (said "from 2015-06-25 (until 2015-06-25)": the history's date, not the bill it was on)
        (1, "monthly", ("2015-06-01", "2015-06-30"), ["2015-06-25"], "from 2015-05-01 (until 2015-06-01)"),
        # (said "from 2015-03-31": the first quarter's bill began on 1 January)
        (
            2,
            "quarterly",
            ("2015-07-01", "2015-09-30"),
            ["2015-03-31", "2015-06-30"],
            "from 2015-01-01 (until 2015-07-01)",
        ),
    ],
)
def test_a_used_up_auto_applied_discount_says_from_its_first_bills_first_day(
    tmp_path: Path, bills: int, frequency: str, period: tuple[str, str], history: list[str], said: str
) -> None:
    rules = load_rules(_rules_with(tmp_path, "discounts/loyalty.yaml", _one_bill(bills)))
    scenario = _pro_rata_cancellation()
    del scenario["cancellation"]
    scenario["as_of"] = period[1] + "T10:00:00Z"
    scenario["subscription"]["billing_frequency"] = frequency
    scenario["subscription"]["billing_period"] = {"from": period[0], "to": period[1]}
    scenario["discount_history"] = [{"discount": "one-bill-10", "on": on} for on in history]
    part = rules.decide(scenario)["discounts"]
    [found] = [d for d in part["definitions"] if d["code"] == "one-bill-10"]
    assert found["status"] == "not_effective"
    [reason] = found["reasons"]
    assert reason["code"] == "periods_used" and said in reason["text"], reason


def test_a_coupon_whose_discount_has_expired_is_kept(tmp_path: Path) -> None:
    # (the coupon and its bundle valid, its discount expired: the single-use code was spent for nothing)
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    for file in ("catalog/coupons.yaml", "catalog/bundles.yaml"):
        path = root / file
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("validity: {from: 2015-06-01, to: 2015-12-31}", "validity: {from: 2015-06-01}"), "utf-8"
        )
    scenario = {
        "id": "late-coupon",
        "as_of": "2016-02-01T10:00:00Z",
        "purchase": {"add_ons": ["additional-service-bundle"], "coupons": ["coupon_90"]},
    }
    part = load_rules(root).decide(scenario)["purchase"]
    [coupon] = part["coupons"]
    assert (coupon["status"], [r["code"] for r in coupon["reasons"]]) == ("rejected", ["coupon_grants_nothing"])
    assert part["price"]["USD"]["net"] == "10.00 USD"


def test_a_plan_and_its_bundle_each_with_a_term_is_a_warning(tmp_path: Path) -> None:
    # (seed 003: a term is assigned to a plan or to a bundle; both were charged in silence)
    from engine.validate import validate_paths

    extra = """---
kind: plan
code: p-two-terms
name: Two terms
bundles: [tv-essentials-bundle, entertainment-pick]
term: commit-24m
validity: {from: 2015-01-01}
"""
    root = _rules_with(tmp_path, "catalog/plans.yaml", extra)  # (entertainment-pick has its own term)
    found = [d for d in validate_paths([root]) if d.code == "BR432"]
    assert [(d.severity.value, "charges both commitments" in d.message) for d in found] == [("warning", True)]


# --- criteria: a `where` swallowing a condition meant beside it -------------------------------------------


@pytest.mark.parametrize(
    ("when", "warned"),
    [
        ('not any u in usage where u.service_type == "PPV" and account.classification == "SME"', True),
        ('count(u in usage where u.service_type == "VOD" or account.segments overlaps {"vip"}) > 0', False),
        ('any u in usage where u.service_type == "VOD" or account.segments overlaps {"vip"}', True),
        ('all u in usage where u.device == "STB" and account.classification == "SME"', True),
        # (the same meaning inside or beside: no warning)
        ('any s in account.segments where s == "vip" and subscription.maturity >= 6 months', False),
        ('all u in usage where u.amount <= 10.00 EUR or account.classification == "Business"', False),
        ('(not any u in usage where u.service_type == "PPV") and account.classification == "SME"', False),
        ('any u in usage where u.service_type == "PPV" and u.device == "STB"', False),
    ],
)
def test_a_condition_swallowed_by_a_where_is_a_warning(tmp_path: Path, when: str, warned: bool) -> None:
    from engine.validate import validate_paths

    root = _rules_with(tmp_path, "discounts/loyalty.yaml", _discount("where-check", when=when))
    found = [d for d in validate_paths([root]) if d.code == "BR508"]
    assert bool(found) is warned, found
    assert all(d.severity.value == "warning" for d in found)


@pytest.mark.parametrize(
    ("text", "value", "error"),
    [
        (r'"caf\u00e9"', "café", None),
        (r'"a\"b"', 'a"b', None),
        (r"'it\'s'", "it's", None),
        (r'"a\\b"', "a\\b", None),
        (r'"\d"', None, r"unknown escape `\d`"),  # (was read as `d`)
        (r'"\uD800"', None, r"unknown escape `\uD800`"),  # (no lone surrogate in a rule)
        (r'"\ud83d\ude00"', "\U0001f600", None),  # (a pair: the one character)
    ],
)
def test_escapes_in_criteria_text_are_read_or_refused(text: str, value: str | None, error: str | None) -> None:
    from engine.criteria import ast
    from engine.criteria.parse import CriteriaError, parse

    def located(begin: int, end: int) -> ast.Span:
        return ast.Span("x", 1, begin + 1, end + 1)

    if error is None:
        node = parse(f"account.classification == {text}", located)
        assert [n.value for n in ast.walk(node) if isinstance(n, ast.Literal)] == [value]
    else:
        with pytest.raises(CriteriaError) as raised:
            parse(f"account.classification == {text}", located)
        assert raised.value.diagnostic.code == "BR501" and error in raised.value.diagnostic.message


def test_an_explanation_names_the_value_of_a_field_on_the_other_side(tmp_path: Path) -> None:
    # (`u.amount = 1.00 EUR: \`u.amount > p.price\` does not hold` never showed p.price)
    from engine.cli.decide_cmd import step_words

    extra = _discount("dearer-usage", when="any p in subscription.products where p.price < p.price")
    rules = load_rules(_rules_with(tmp_path, "discounts/loyalty.yaml", extra))
    scenario = _pro_rata_cancellation()
    del scenario["cancellation"]
    scenario["subscription"]["products"][0]["price"] = "29.99 EUR"
    trace = rules.decide(scenario, explain=True)["trace"]["discount:dearer-usage"]
    [step] = [s for section in trace for s in section["steps"] if s.get("kind") == "compare"]
    assert step["other"] == "p.price" and step["expected"] == "29.99 EUR"
    assert step_words(step).startswith("✗ p.price = 29.99 EUR, p.price = 29.99 EUR:")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("subscription.billing_frequency == True", "write `true` in lower case"),
        ("COUNT(usage) > 1", "write `count` in lower case"),
        ("sum(usage.amount) > (20.00EUR)", "put a space between the amount and its currency: `20.00 EUR`"),
        ("account.classification == Business", 'quote text: "Business"'),
    ],
)
def test_capitalised_words_get_the_right_advice(text: str, hint: str) -> None:
    # (`True`, `Saturday`, `COUNT` and `20.00EUR` were told to quote the word as text)
    from engine.criteria import ast
    from engine.criteria.parse import CriteriaError, parse

    with pytest.raises(CriteriaError) as raised:
        parse(text, lambda begin, end: ast.Span("x", 1, begin + 1, end + 1))
    assert hint in raised.value.diagnostic.hint


def test_an_item_named_as_a_fact_of_the_scenario_is_explained() -> None:
    # (`any account in subscription.products where account.classification …` said only that
    # `account` has no field `classification`)
    from engine.criteria import ast
    from engine.criteria.check import check_condition
    from engine.criteria.environment import scenario_environment
    from engine.criteria.parse import CriteriaError, parse

    text = 'any account in subscription.products where account.classification == "SME"'
    with pytest.raises(CriteriaError) as raised:
        check_condition(parse(text, lambda b, e: ast.Span("x", 1, b + 1, e + 1)), scenario_environment())
    assert "`account` here is the quantifier's item, not the scenario's `account`" in raised.value.diagnostic.hint


def test_validate_in_a_rule_sets_subfolder_finds_its_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # (`validate .` in `discounts/` reported every file as in no rule set, BR110, and no real error)
    from engine.cli.main import main

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    care = rules / "discounts/customer_care.yaml"
    care.write_text(care.read_text(encoding="utf-8").replace("cap: 20.00 EUR", "cap: 0.00 EUR", 1), encoding="utf-8")
    monkeypatch.chdir(rules / "discounts")
    for target in (".", "customer_care.yaml"):
        assert main(["validate", target]) == 1
        out = capsys.readouterr().out
        assert "BR110" not in out and "error[BR405]" in out, out


def test_parquet_row_groups_are_bounded_by_size_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # (10,000 decisions of ~100 KB each were held before a row group was written: 1 GB)
    pq = pytest.importorskip("pyarrow.parquet")
    from engine.run import io

    monkeypatch.setattr(io, "ROW_GROUP_CHARS", 10_000)
    sink = io.ParquetSink(str(tmp_path / "o.parquet"), "v1")
    for i in range(10):  # (a chunk at a time, as a run writes)
        sink.write([(i, f"s{i}", "x" * 4_000)])
    sink.commit()
    meta = pq.ParquetFile(tmp_path / "o.parquet").metadata
    assert meta.num_rows == 10 and meta.num_row_groups >= 3


def test_diff_groups_add_up_when_a_price_and_its_discounts_move(tmp_path: Path) -> None:
    # (a list price raised: the net moved +86.44 EUR over the samples, the groups held -3.56 EUR)
    from decimal import Decimal

    from engine.diff import diff, scenario_inputs

    new = tmp_path / "rules"
    shutil.copytree(REPO / "rules", new)
    products = new / "catalog/products.yaml"
    text = products.read_text(encoding="utf-8")
    assert "price: 29.99 EUR" in text
    products.write_text(text.replace("price: 29.99 EUR", "price: 31.99 EUR"), encoding="utf-8")
    old_rules, new_rules = load_rules(REPO / "rules"), load_rules(new)
    report = diff(old_rules, new_rules, scenario_inputs(REPO / "samples"), ("old", "new"))
    total = report.money["discounts_net"]["EUR"]
    grouped = sum(
        (g.money.get("discounts_net", {}).get("EUR", Decimal(0)) for g in report.groups() if g.part == "discounts"),
        Decimal(0),
    )
    assert total == Decimal("86.44") and grouped == total


@pytest.mark.parametrize("option", ["--html", "--coverage-json"])
def test_a_report_through_a_link_to_a_scenario_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    from engine.cli.main import main

    other = tmp_path / "other"
    other.mkdir()
    (other / "night.jsonl").write_text("KEEP\n", encoding="utf-8")
    link = tmp_path / ("report.html" if option == "--html" else "coverage.json")
    link.symlink_to(other / "night.jsonl")
    samples = str(REPO / "samples/balance")
    if option == "--html":
        args = ["diff", "--rules", str(REPO / "rules"), "--rules", str(REPO / "rules"), "--input", samples]
    else:
        args = ["test", "--rules", str(REPO / "rules"), samples]
    assert main([*args, option, str(link)]) == 2
    assert "named like a scenario or rule file" in capsys.readouterr().err
    assert (other / "night.jsonl").read_text(encoding="utf-8") == "KEEP\n"


def test_coverage_counts_only_the_conditions_a_decision_judged() -> None:
    # (a credits scenario "saw" a term's exception not hold; a purchase's statuses were not counted)
    from engine.coverage import Coverage

    rules = load_rules(REPO / "rules")
    coverage = Coverage.of(rules)
    from engine.decide.scenarios import validate_scenario

    for name in ("credits/closest_expiry_first.yaml", "purchase/coupon_minus_20.yaml"):
        data = _sample(name)
        scenario = validate_scenario(data, None).scenario
        coverage.record(rules, scenario, rules.decide(data))
    assert all(c.held == c.not_held == 0 for c in coverage.conditions if c.owner.startswith("term:"))
    assert coverage.statuses["coupon-minus-20"].get("applied") == 1


def test_an_add_on_bringing_a_product_already_bought_or_held_is_refused() -> None:
    # (the family bundle and the pick bundle each brought the kids pack, both charged; coupons were
    # checked for that, add-ons not)
    rules = load_rules(REPO / "rules")
    scenario = {
        "id": "twice",
        "as_of": "2015-08-03T10:00:00+02:00",
        "purchase": {
            "plan": "tv-essentials-24",
            "add_ons": ["family-bundle", "entertainment-pick"],
            "products": [{"product": "kids-pack", "bundle": "entertainment-pick"}],
            "payment_method": "card",
        },
    }
    part = rules.decide(scenario)["purchase"]
    assert part["allowed"] is False
    [reason] = [r for r in part["reasons"] if r["code"] == "add_on_products_had"]
    assert reason["facts"] == {"bundle": "entertainment-pick", "products": ["kids-pack"], "where": "purchase"}


@pytest.mark.parametrize("reason", ["debt", "health", "dead"])
def test_a_short_reason_near_a_named_one_is_the_scenarios_own(tmp_path: Path, reason: str) -> None:
    # (the review: `debt`, `health`, `dead` were refused as misspelt `death`)
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    terms = root / "catalog/terms.yaml"
    text = terms.read_text(encoding="utf-8")
    assert '{"moved_abroad", "deceased"}' in text
    terms.write_text(text.replace('{"moved_abroad", "deceased"}', '{"moved_abroad", "death"}'), encoding="utf-8")
    scenario = _pro_rata_cancellation()
    scenario["cancellation"]["reason"] = reason
    [term] = load_rules(root).decide(scenario)["cancellation"]["terms"]
    assert term["outcome"] == "penalty"


def test_a_relative_path_with_dots_is_walked_as_the_folders_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (from inside one rule set, `../../loose` found that rule set: `..` taken as a name's parent)
    from engine.load import find_ruleset_root

    shutil.copytree(REPO / "rules", tmp_path / "A/rs1")
    (tmp_path / "A/loose").mkdir()
    (tmp_path / "A/loose/x.yaml").write_text("kind: segment\ncode: s\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "A/rs1/discounts")
    assert find_ruleset_root(Path("../../loose/x.yaml")) is None
    assert find_ruleset_root(Path(".")) == Path("..")
    assert find_ruleset_root(Path("../catalog/products.yaml")) == Path("..")
