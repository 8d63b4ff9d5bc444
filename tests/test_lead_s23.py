"""Session 23 (lead): rule-file checks found by the twenty-second session's audits and left then."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from engine import load_rules
from engine.diagnostics import Severity
from engine.validate import validate_paths
from tests.test_money_checks import edit, rules
from tests.test_why_not import _scenario

REPO = Path(__file__).resolve().parent.parent
__all__ = ["rules"]  # the fixture (a copy of the shipped rules)


def test_a_due_condition_given_both_ways_is_an_error(rules: Path) -> None:
    """Seed 002: "The due date can be specified in one of the following ways: 'Due in X days' or
    'Due X days ago'" — both in one `due` was read as either (until 2026-12-03)."""
    edit(
        rules / "discounts/customer_care.yaml",
        "      due_days_ago: 30\n",
        "      due_days_ago: 30\n      due_in_days: 5\n",
    )
    [found] = validate_paths([rules])
    assert (found.code, found.severity) == ("BR435", Severity.ERROR)
    assert found.message == (
        "give one of `due_in_days` and `due_days_ago` (seed 002: the due date is given in one of the two ways)"
    )
    assert found.hint == (
        "keep one; for either of the two write "
        "`when: account.due_in_days between 0 and 5 or account.due_days_ago >= 30`"
    )
    assert found.file.endswith("customer_care.yaml")
    text = (rules / "discounts/customer_care.yaml").read_text(encoding="utf-8").splitlines()
    assert text[found.line - 1].strip() == "due:"


def test_a_due_condition_given_one_way_is_no_error(rules: Path) -> None:
    edit(rules / "discounts/customer_care.yaml", "      due_days_ago: 30\n", "      due_in_days: 5\n")
    assert validate_paths([rules]) == []


# --- a value a quantifier's item lacks is named by the item's place (audit a7 of 2026-12-03, F1) -----


def _ppv_missing(records: list[dict[str, Any]]) -> list[str]:
    usage = [{"at": f"2015-06-{10 + i}T22:00:00+02:00", "amount": "14.99 EUR", **r} for i, r in enumerate(records)]
    decided = load_rules(REPO / "rules").decide(_scenario(usage=usage))
    return [
        r["text"]
        for d in decided["discounts"]["definitions"]
        if d["code"] == "sports-fan-ppv"
        for r in d["reasons"]
        if r["code"] == "value_missing"
    ]


def test_a_value_an_item_lacks_is_named_by_its_place_not_the_variable() -> None:
    """`u destination category is not known` named the quantifier's variable; the record is
    named by its place, as a missing element outside a quantifier is (`usage[1].device`)."""
    films = {"service_type": "PPV", "source_category": "films"}
    unknown = {"service_type": "PPV"}
    first = _ppv_missing([unknown, films])
    second = _ppv_missing([films, unknown])
    assert first and all(t.startswith("`usage[0].source_category` is not known, so `any u in usage") for t in first)
    assert second and all(t.startswith("`usage[1].source_category` is not known") for t in second)


def test_one_rule_set_names_each_scenarios_own_record() -> None:
    """Reasons are kept between decisions: the place named is this scenario's."""
    rules = load_rules(REPO / "rules")
    films = {"service_type": "PPV", "source_category": "films"}
    unknown = {"service_type": "PPV"}
    named = []
    for records in ([unknown, films], [films, unknown], [films, films, unknown], [unknown, films]):
        usage = [{"at": f"2015-06-{10 + i}T22:00:00+02:00", "amount": "14.99 EUR", **r} for i, r in enumerate(records)]
        decided = rules.decide(_scenario(usage=usage))
        [missing] = {
            r["facts"]["missing"]
            for d in decided["discounts"]["definitions"]
            if d["code"] == "sports-fan-ppv"
            for r in d["reasons"]
            if r["code"] == "value_missing"
        }
        named.append(missing)
    assert named == [f"usage[{i}].source_category" for i in (0, 1, 2, 0)]


def test_the_first_item_without_an_answer_is_named() -> None:
    unknown = {"service_type": "PPV"}
    assert all(t.startswith("`usage[0].source_category`") for t in _ppv_missing([unknown, unknown]))


def test_an_alphanumeric_templates_last_code_is_said_in_base_36(rules: Path) -> None:
    """`too few for codes up to 100` read as a hundred where the code is base-36 text (an audit of
    2026-12-03): the alphanumeric case says its base; the numeric one is unchanged."""
    edit(rules / "catalog/coupons.yaml", 'template: "ACME-####"', 'template: "ACME-#"')
    [found] = validate_paths([rules])
    assert found.code == "BR409"
    assert found.message == (
        "template `ACME-#` has 1 position, too few for codes up to A0DV in base 36 (range start A000, quantity 500)"
    )


# --- a cancellation after the scenario's plan change is "not judged" in words and HTML too ----------


def _upgrade(cancelled: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """tv-essentials-24 from 2015-01-01, a change of plan to tv-premium-12 on 2015-10-01 and a
    cancellation on `cancelled`."""
    return {
        "id": "s23-upgrade",
        "as_of": "2015-10-01T10:00:00+00:00",
        "account": {"code": "A1", "classification": "Residential"},
        "subscription": {
            "code": "S1",
            "plan": "tv-essentials-24",
            "start": "2015-01-01",
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "status_history": history or [{"status": "active", "from": "2015-01-01"}],
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
        },
        "purchase": {"plan": "tv-premium-12", "payment_method": "direct_debit"},
        "cancellation": {"date": cancelled},
    }


def test_a_cancellation_after_a_change_of_plan_reads_not_judged() -> None:
    """The JSON says nothing is refused (`allowed: true`, no term, no total) with the reason
    `after_plan_change`; the text and the HTML report said "allowed" above that reason."""
    import io

    from engine.cli.render_cancellation import render_cancellation
    from engine.report.html import _cancellation

    scenario = _upgrade("2015-10-02")
    cancellation = load_rules(REPO / "rules").decide(scenario)["cancellation"]
    out = io.StringIO()
    render_cancellation(cancellation, out)
    assert out.getvalue().startswith(
        "\ncancellation on 2015-10-02: not judged\n  - the purchase of 2015-10-01 changes the plan to `tv-premium-12`"
    )
    html = _cancellation(cancellation)
    assert '<p>on 2015-10-02: <span class="verdict">not judged</span></p>' in html
    assert '<li title="after_plan_change">the purchase of 2015-10-01 changes the plan' in html


def test_a_cancellation_after_a_change_of_plan_of_a_deactivated_subscription_is_not_judged() -> None:
    """The plan changed (the purchase allowed) though no running contract was charged (the
    subscription deactivated that day): a later cancellation is of the new contract all the same
    (the review of 2026-12-03: it was judged on the old contract, 166.60 EUR charged)."""
    deactivated = [{"status": "active", "from": "2015-01-01"}, {"status": "deactivated", "from": "2015-09-01"}]
    scenario = _upgrade("2015-10-15", deactivated)
    decided = load_rules(REPO / "rules").decide(scenario)
    assert decided["purchase"]["allowed"] is True
    assert [r["code"] for r in decided["cancellation"]["reasons"]] == ["after_plan_change"]
    assert decided["cancellation"]["total"] == {}


def test_diff_counts_a_change_of_plans_penalties_as_penalties() -> None:
    """A change of plan's `plan_change_penalty` ends the old contract as a cancellation would (and
    a cancellation after it is not judged): `diff` counts it among the penalties (the review of
    2026-12-03: a change of plan the new rules allow read as penalties gone, -404.60 EUR)."""
    from engine.diff import money_measures

    allowed = {
        "purchase": {
            "allowed": True,
            "price": {"EUR": {"net": "10.00 EUR"}},
            "reasons": [
                {"code": "plan_change_penalty", "facts": {"total": "166.60 EUR"}},
                {"code": "plan_change_penalty", "facts": {"total": "119.00 EUR"}},
            ],
        },
        "cancellation": {"total": {}, "reasons": [{"code": "after_plan_change"}]},
    }
    assert money_measures(allowed)["cancellation_penalties"] == {"EUR": Decimal("285.60")}
    refused = {**allowed, "purchase": {**allowed["purchase"], "allowed": False}}
    assert money_measures(refused)["cancellation_penalties"] == {}


# --- the second review of 2026-12-03: the bill's applications price the purchase, nothing else ------


def test_a_change_of_plans_terms_read_the_history_as_written_not_the_bills_applications(rules: Path) -> None:
    """An exception reading `discount_history` judged the change of plan on the history with the
    bill's applications (decision.with_bill_applied), and the cancellation question without them:
    the terms read the scenario as written; only the purchase's price reads the bill."""
    edit(
        rules / "catalog/terms.yaml",
        '  - when: cancellation.reason in {"moved_abroad", "deceased"}\n    outcome: allowed\n',
        '  - when: cancellation.reason in {"moved_abroad", "deceased"}\n    outcome: allowed\n'
        '  - when: count(h in discount_history where h.discount == "loyalty-5" within 1 month) >= 1\n'
        "    outcome: allowed\n",
    )
    scenario: dict[str, Any] = {
        "id": "s23-loyal-change",
        "as_of": "2015-07-01T10:00:00+02:00",
        "account": {
            "code": "ACC-1",
            "classification": "Residential",
            "payment_preference": "direct_debit",
            "presentment_preference": "email",
        },
        "subscription": {
            "code": "SUB-1",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "start": "2015-02-01",
            "status_history": [{"status": "active", "from": "2015-02-01"}],
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
            "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
        },
        "purchase": {"plan": "tv-flex", "payment_method": "direct_debit"},
    }
    decided = load_rules(rules).decide(scenario)
    assert "loyalty-5" in [d["code"] for d in decided["discounts"]["definitions"] if d["status"] == "applied"]
    penalties = [r["facts"]["total"] for r in decided["purchase"]["reasons"] if r["code"] == "plan_change_penalty"]
    assert penalties == ["214.20 EUR"]  # (nothing with the bill's loyalty-5 read as history)


def test_a_cancellation_free_of_penalty_renewed_late_still_ends_the_subscription() -> None:
    """Renewed means renewed within a term's grace period (its penalty waived): a cancellation
    free of any penalty (moved abroad) with a renewal months later left the change of plan to
    charge the old contract's penalty (the second review of 2026-12-03)."""
    scenario = {
        "id": "s23-late-renewal",
        "as_of": "2015-07-01T10:00:00+02:00",
        "account": {"code": "ACC-1201", "classification": "Residential", "payment_preference": "card"},
        "subscription": {
            "code": "SUB-1201",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-24",
            "billing_frequency": "monthly",
            "start": "2015-02-01",
            "status_history": [{"status": "active", "from": "2015-02-01"}],
        },
        "purchase": {"plan": "tv-flex", "payment_method": "card"},
        "cancellation": {"date": "2015-03-02", "reason": "moved_abroad", "renewed_on": "2015-06-20"},
    }
    decided = load_rules(REPO / "rules").decide(scenario)
    assert [t["outcome"] for t in decided["cancellation"]["terms"]] == ["allowed"]
    assert decided["purchase"]["allowed"] is True
    assert [r["code"] for r in decided["purchase"]["reasons"]] == []


def test_a_cancellation_after_a_change_of_plan_of_a_contract_not_running_says_so() -> None:
    deactivated = [{"status": "active", "from": "2015-01-01"}, {"status": "deactivated", "from": "2015-09-01"}]
    [reason] = load_rules(REPO / "rules").decide(_upgrade("2015-10-15", deactivated))["cancellation"]["reasons"]
    assert reason["facts"]["running"] is False
    assert reason["text"].endswith(
        "nothing is charged here (the contract it describes was not running on the purchase day: deactivated or"
        " not started)"
    )
    assert ", ending this contract then" not in reason["text"]


# --- usage and a history beside a cancellation of a subscription with no line (audit a5, F5) -------


def _lineless_cancellation(**parts: Any) -> dict[str, Any]:
    scenario = _upgrade("2015-10-01")
    del scenario["purchase"]
    scenario["subscription"]["products"] = []
    return {**scenario, **parts}


def test_usage_no_decision_reads_beside_a_cancellation_is_br604() -> None:
    """A subscription with no line beside a cancellation asks no discount question, and the
    shipped terms' exceptions read the account and the cancellation only: its usage and history
    were dropped in silence (an audit of 2026-12-03)."""
    from engine import ScenarioProblem

    rules = load_rules(REPO / "rules")
    usage = [{"at": "2015-09-20T20:00:00+02:00", "service_type": "VOD", "quantity": 1}]
    history = [{"discount": "loyalty-5", "on": "2015-09-01"}]
    for name, part in (("usage", usage), ("discount_history", history)):
        try:
            rules.decide(_lineless_cancellation(**{name: part}))
        except ScenarioProblem as problem:
            assert (problem.code, problem.field) == ("BR604", name)
            assert "has no line to bill" in problem.message
        else:
            raise AssertionError(f"{name} beside a cancellation of a subscription with no line was decided")
    # with the subscription's lines, its bill's discounts read them: decided
    billed = _lineless_cancellation(usage=usage)
    billed["subscription"]["products"] = [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}]
    assert "discounts" in rules.decide(billed)


def test_usage_a_terms_exception_reads_beside_a_cancellation_is_decided(rules: Path) -> None:
    edit(
        rules / "catalog/terms.yaml",
        '  - when: cancellation.reason in {"moved_abroad", "deceased"}\n    outcome: allowed\n',
        '  - when: cancellation.reason in {"moved_abroad", "deceased"}\n    outcome: allowed\n'
        "  - when: count(u in usage) > 100\n    outcome: allowed\n",
    )
    usage = [{"at": "2015-09-20T20:00:00+02:00", "service_type": "VOD", "quantity": 1}]
    decided = load_rules(rules).decide(_lineless_cancellation(usage=usage))
    assert set(decided) == {"scenario", "rules_version", "cancellation"}


# --- /dev/stdout appended to a log is a stream: written in place, appended to -----------------------


def test_dev_stdout_appended_to_a_log_keeps_the_logs_lines(tmp_path: Path) -> None:
    """`run … --summary /dev/stdout >> log` replaced the log by the summary (renamed over the
    file standard output led to), and `--output /dev/stdout` was "cannot tell the format" (a
    hostile-input campaign of 2026-12-03)."""
    import subprocess
    import sys

    lines = (REPO / "samples/run/nightly.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rules = str(REPO / "rules")
    for options in (
        ["--output", "o.jsonl", "--summary", "/dev/stdout"],
        ["--output", "/dev/stdout"],
        ["--output", "o.jsonl", "--errors", "/dev/stdout"],
    ):
        log = tmp_path / "log.txt"
        log.write_text("OLD LINE 1\nOLD LINE 2\n", encoding="utf-8")
        with open(log, "ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", "engine", "run", "--rules", rules, "--input", "in.jsonl", *options],
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.PIPE,
                check=False,
            )
        assert done.returncode == 0, done.stderr
        text = log.read_text(encoding="utf-8")
        assert text.startswith("OLD LINE 1\nOLD LINE 2\n"), (options, text[:200])
        if options == ["--output", "/dev/stdout"]:
            assert text.count('"rules_version"') == 3
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_parquet_scenarios_with_a_rules_version_column_are_not_replaced(tmp_path: Path) -> None:
    """A Parquet file with `scenario` and `rules_version` columns but no `decision` is scenarios to
    `run`; `--output` replaced it as though it were a run's decisions (a hostile-input campaign of
    2026-12-03). A run's own decisions (all three columns) are still replaced by the next run."""
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = (REPO / "samples/run/nightly.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    pq.write_table(pa.table({"scenario": lines, "rules_version": ["x"] * 3}), tmp_path / "keep.parquet")
    before = (tmp_path / "keep.parquet").read_bytes()
    command = [sys.executable, "-m", "engine", "run", "--rules", str(REPO / "rules"), "--input", "keep.parquet"]
    done = subprocess.run([*command, "--output", "keep.parquet"], cwd=tmp_path, capture_output=True, check=False)
    assert done.returncode == 2, done.stderr
    assert (tmp_path / "keep.parquet").read_bytes() == before
    for _ in range(2):  # the run's own decisions, replaced by the next run
        done = subprocess.run([*command, "--output", "out.parquet"], cwd=tmp_path, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
