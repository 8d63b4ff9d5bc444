"""The twenty-second session's lead fixes: the published scenario schema agrees with the engine,
and the application limit's window is the billing day's (a decision a review reverted)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine import load_rules

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))


def _consumption(quantity: object) -> dict[str, object]:
    return {
        "id": "s",
        "as_of": "2015-05-01T10:00:00+02:00",
        "consumptions": [
            {
                "id": "r",
                "organisation": "o",
                "credit_type": "t",
                "quantity": quantity,
                "at": "2015-05-01T10:00:00+02:00",
            }
        ],
    }


@pytest.mark.parametrize("quantity", ["0", "0.00", "00", 0, 0.0])
def test_schema_refuses_a_consumption_of_nothing_as_the_engine_does(quantity: object) -> None:
    """Until 2026-12-03 the schema's pattern let the text "0" through, which `decide` refuses (BR602)."""
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(_consumption(quantity)))
    assert [error.path[-1] for error in errors] == ["quantity"]


@pytest.mark.parametrize("quantity", ["0.5", "1", "10", "000.01", 3, 0.25])
def test_schema_takes_every_positive_consumption(quantity: object) -> None:
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(_consumption(quantity))) == []


REPO = Path(__file__).resolve().parent.parent


def _december_bill(as_of: str, history: list[str]) -> dict[str, object]:
    """The shipped retention offer (at most 12 bills a calendar year) requested on December 2015's bill."""
    return {
        "id": "retention-dec",
        "as_of": as_of,
        "account": {
            "code": "A",
            "classification": "Residential",
            "payment_preference": "card",
            "presentment_preference": "paper",
        },
        "subscription": {
            "code": "S",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "billing_term_scheme": "monthly-12",
            "billing_frequency": "monthly",
            "binding_period": "12 months",
            "start": "2014-01-01",
            "status_history": [{"status": "active", "from": "2014-01-01"}],
            "products": [{"product": "tv-essentials", "main": True}],
            "billing_period": {"from": "2015-12-01", "to": "2015-12-31"},
        },
        "agent": {"user": "rita.retention"},
        "requested_discounts": [{"discount": "retention-offer", "value": "10.00 EUR", "added_on": "2015-12-01"}],
        "approvals": [{"discount": "retention-offer", "by": "max.manager"}],
        "discount_history": [{"discount": "retention-offer", "on": on} for on in history],
    }


#: bills run in arrears, each dated the day it ran: December 2014's on 1 January 2015, then
#: January's to November's on the first of the next month (12 dates in 2015)
RUN_DAYS = ["2015-01-01"] + [f"2015-{month:02d}-01" for month in range(2, 13)]


@pytest.fixture(scope="module")
def shipped() -> Any:
    return load_rules(REPO / "rules")


def _retention(decision: Any) -> dict[str, Any]:
    (found,) = [d for d in decision["discounts"]["definitions"] if d["code"] == "retention-offer"]
    return found  # type: ignore[no-any-return]


def test_a_bill_counts_in_the_calendar_year_of_the_day_it_runs(shipped: Any) -> None:
    """The history's `on` is the day a bill applied the discount, so this bill's application is its
    billing day's: run on 1 January 2016, December's bill is the first of 2016, as its own history
    entry will say (a change to the period billed's year was reverted by review on 2026-12-03: it
    counted the bill run on 1 January 2015 in 2015 and refused a twelfth application)."""
    found = _retention(shipped.decide(_december_bill("2016-01-01T10:00:00Z", RUN_DAYS)))
    assert (found["status"], found["amount"]) == ("applied", "10.00 EUR")


def test_the_same_bill_run_in_december_is_the_thirteenth_of_the_year(shipped: Any) -> None:
    found = _retention(shipped.decide(_december_bill("2015-12-31T10:00:00Z", RUN_DAYS)))
    assert found["status"] == "limit_reached"
    assert found["reasons"][0]["facts"]["used"] == 12
    assert found["reasons"][0]["facts"]["since"] == "2015-01-01"


def test_a_json_or_hidden_rule_document_in_the_rule_set_is_told(tmp_path: Path) -> None:
    """BR119 for a `.json` file holding `kind:` and a hidden file holding a rule document, in the
    folder walk too (until 2026-12-03 only when named on the command line: left out in silence,
    `validate` and the pre-commit hook passed and the product did not exist)."""
    from engine.validate import validate_paths

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    (root / "catalog" / "extra.json").write_text('{"kind": "product", "code": "zz"}', encoding="utf-8")
    (root / "catalog" / ".hidden.yaml").write_text("kind: unit\ncode: h\nname: H\n", encoding="utf-8")
    (root / "catalog" / "notes.json").write_text('{"note": "no rule"}', encoding="utf-8")
    (root / "catalog" / "bom.json").write_bytes(b'\xef\xbb\xbf{"kind": "unit", "code": "b"}')  # (a BOM: told too)
    (root / "catalog" / ".yamllint.yaml").write_text("extends: default\n", encoding="utf-8")
    # a JSON Schema names `kind` among its properties, Drone's pipeline starts with `kind: pipeline`:
    # neither is a rule document (a first version told both, and refused the rule set)
    shutil.copy(REPO / "schemas" / "product.schema.json", root / "catalog" / "product.schema.json")
    (root / "catalog" / ".drone.yml").write_text("kind: pipeline\ntype: docker\nname: default\n", encoding="utf-8")
    found = sorted((Path(d.file).name, d.code, d.message) for d in validate_paths([root]))
    assert found == [
        (".hidden.yaml", "BR119", "not read as a rule file: a hidden file (its name starts with `.`)"),
        ("bom.json", "BR119", "not read as a rule file: a `.json` file holding a rule document (`kind:`)"),
        ("extra.json", "BR119", "not read as a rule file: a `.json` file holding a rule document (`kind:`)"),
    ]


def test_a_limit_of_one_error_is_said_in_the_singular() -> None:
    from engine.run.runner import _stopped

    assert _stopped(1, 7).startswith("1 error reached the limit (--max-errors) at line 7;")
    assert _stopped(2, 7).startswith("2 errors reached")


def test_validate_ends_its_process_without_freeing_the_rule_set_and_loses_no_output(tmp_path: Path) -> None:
    """`billrules validate` leaves its compiled rule set to the operating system (`os._exit` once
    the streams are flushed): its report is whole, piped or in a file, and its exit status kept."""
    import subprocess
    import sys

    broken = tmp_path / "rules"
    shutil.copytree(REPO / "rules", broken)
    (broken / "catalog" / "extra.json").write_text('{"kind": "product"}', encoding="utf-8")
    for name in ("zz1.yaml", "zz2.yaml"):  # a long report: a SARIF file of several hundred KiB
        (broken / name).write_text("".join(f"---\nkind: nope\ncode: c{i}\n" for i in range(600)), encoding="utf-8")
    report = tmp_path / "report.sarif"
    command = [sys.executable, "-m", "engine", "validate", "--format", "sarif", str(broken)]
    with report.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, stdout=out, check=False)
    assert done.returncode == 1
    results = json.loads(report.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert len(results) == 1000 and report.stat().st_size > 200_000  # (at most 1,000 diagnostics by default)
    assert subprocess.run([*command[:-1], str(REPO / "rules")], capture_output=True, check=False).returncode == 0


def test_a_program_that_calls_entry_point_goes_on_after_it(tmp_path: Path) -> None:
    """Only `python -m engine` and the `billrules` script end without freeing: a wrapper that
    imports `entry_point` and catches its exit goes on (a first version ended it too)."""
    import subprocess
    import sys

    from engine.cli.main import _is_billrules_itself

    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(
        "import sys\nfrom engine.cli.main import entry_point\n"
        f"sys.argv = ['billrules', 'validate', {str(REPO / 'rules')!r}]\n"
        "try:\n    entry_point()\nexcept SystemExit as exc:\n    print('wrapper goes on after', exc.code)\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(wrapper)], capture_output=True, text=True, check=False)
    assert done.stdout == "wrapper goes on after 0\n"
    assert not _is_billrules_itself(sys.modules["__main__"])
    assert _is_billrules_itself(type("M", (), {"__spec__": None, "__file__": "/venv/bin/billrules"}))


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (True, "a date-time must be written as text, e.g. `2015-06-15T10:00:00+01:00`, not as `true`"),
        (None, "a date-time must be written as text, e.g. `2015-06-15T10:00:00+01:00`, not as null (no value)"),
        ([1], "a date-time must be written as text, e.g. `2015-06-15T10:00:00+01:00`, not as a list"),
        ("2015-06-15T25:00:00Z", "`2015-06-15T25:00:00Z` has the hour 25, past 23"),
        ("2015-06-15T10:61:00Z", "`2015-06-15T10:61:00Z` has the minute 61, past 59"),
        ("2015-06-15T10:00:61Z", "`2015-06-15T10:00:61Z` has the second 61, past 59"),
    ],
)
def test_a_bad_as_of_is_told_what_is_wrong(written: object, message: str) -> None:
    """Until 2026-12-03: `true` was "not as a number", hour 25 "unexpected extra characters at the
    end of the input", null or a list pydantic's "Input should be a valid datetime"."""
    from engine.decide.scenarios import ScenarioInvalid

    rules = load_rules(REPO / "rules")
    with pytest.raises(ScenarioInvalid) as raised:
        rules.decide({"id": "s", "as_of": written, "balance": {"policy": "standard-balance", "events": []}})
    assert f"scenario field `as_of`: {message}" in str(raised.value)


def test_the_rule_kinds_br119_looks_for_are_the_models_kinds() -> None:
    from engine.load import RULE_KINDS
    from engine.models import KINDS

    assert frozenset(KINDS) == RULE_KINDS


def test_json_output_stays_json_when_the_output_encoding_is_ascii(tmp_path: Path) -> None:
    """What the encoding cannot hold is written as a JSON escape (`\\u00e9`, a surrogate pair for
    an emoji): `\\xe9`, Python's own escape, made the JSON unreadable (the review of 2026-12-03)."""
    import os
    import subprocess
    import sys

    sample = (REPO / "samples" / "discounts" / "installation_both.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(sample.replace("id: installation-both", 'id: "inst-\U0001f600-\u00e9"', 1), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    command = [sys.executable, "-m", "engine", "decide", "--json", "--rules", str(REPO / "rules"), str(scenario)]
    done = subprocess.run(command, capture_output=True, env=env, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith(b'{"scenario":"inst-\\ud83d\\ude00-\\u00e9"')
    assert json.loads(done.stdout)["scenario"] == "inst-\U0001f600-\u00e9"


def _scenario_lines(count: int) -> list[str]:
    lines = (REPO / "samples" / "run" / "nightly.jsonl").read_text(encoding="utf-8").splitlines()
    return lines[:count]


def test_run_and_reports_refuse_to_replace_parquet_or_gzip_scenarios(tmp_path: Path) -> None:
    """A Parquet file of scenarios (a `scenario` column, no `rules_version`) or a gzip file is what
    `run` reads: `--output`, `--summary`, `decide --html` and `test --coverage-json` replaced them
    until 2026-12-03, and `--output k.yaml` a YAML scenario."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.test_cli_defaults import run_cli

    lines = _scenario_lines(3)
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scenarios = tmp_path / "scen.parquet"
    pq.write_table(pa.table({"scenario": lines}), scenarios)
    packed = tmp_path / "scen.jsonl.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    before = scenarios.read_bytes()
    rules = str(REPO / "rules")
    sample = str(REPO / "samples" / "discounts" / "complaint_cap.yaml")
    for args in (
        ["run", "--rules", rules, "--input", str(source), "--output", str(scenarios)],
        ["run", "--rules", rules, "--input", str(source), "--output", str(packed), "--format", "jsonl"],
        [
            "run",
            "--rules",
            rules,
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.jsonl"),
            "--summary",
            str(scenarios),
        ],
        ["run", "--rules", rules, "--input", str(source), "--output", str(tmp_path / "k.yaml"), "--format", "jsonl"],
        ["decide", "--rules", rules, "--html", str(scenarios), sample],
    ):
        code, _, err = run_cli(args)
        assert code == 2, (args, err)
        assert "which it would replace" in err or "named like a scenario or rule file" in err
    assert scenarios.read_bytes() == before
    # a run's own Parquet decisions are replaced by the next run, as before
    decisions = tmp_path / "out.parquet"
    for _ in range(2):
        assert run_cli(["run", "--rules", rules, "--input", str(scenarios), "--output", str(decisions)])[0] == 0


def test_a_plan_bought_for_a_subscription_of_add_ons_alone_says_its_terms_are_not_judged(shipped: Any) -> None:
    """Until 2026-12-03 a subscription with no `plan` lost its add-ons' contracts in silence."""
    from engine.decide.purchases import _before, _changing

    scenario = {
        "id": "no-plan",
        "as_of": "2015-06-15T09:00:00+01:00",
        "account": {"code": "A", "classification": "Residential", "payment_preference": "direct_debit"},
        "subscription": {
            "code": "S",
            "type": "residential-tv",
            "billing_frequency": "monthly",
            "start": "2015-01-01",
            "products": [{"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True}],
            "add_ons": ["entertainment-pick"],
        },
        "purchase": {"plan": "tv-premium-12", "payment_method": "direct_debit"},
    }
    purchase = shipped.decide(scenario)["purchase"]
    assert purchase["allowed"] is True
    [reason] = [r for r in purchase["reasons"] if r["code"].startswith("plan_change")]
    assert reason["code"] == "plan_change_not_judged"
    assert reason["text"].startswith(
        "buying plan `tv-premium-12` for a subscription of add-ons alone ends its contract"
    )
    assert _changing({"plan": None, "to": "p"}) == "buying plan `p` for a subscription of add-ons alone"
    assert _changing({"plan": "a", "to": "b"}) == "changing from plan `a` to `b`"
    assert _before("after 9999-12-31") == "its end, after 9999-12-31"
    assert _before("2016-02-01") == "2016-02-01"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2015-02-29T09:00:00Z", "`2015-02-29T09:00:00Z` has the day 29, and February 2015 has 28 days"),
        ("0000-01-01T00:00:00Z", "`0000-01-01T00:00:00Z` has the year 0000; the calendar starts at 0001"),
        ("2015-13-01T00:00:00Z", "`2015-13-01T00:00:00Z` has the month 13, past 12"),
        ("2015-06-15T09:00:00Z\n", "`2015-06-15T09:00:00Z\\n` has white space around it"),
    ],
)
def test_a_date_the_calendar_does_not_have_is_told_so(shipped: Any, written: str, message: str) -> None:
    """Until 2026-12-03 pydantic's "day value is outside expected range", "year 0 is out of range",
    and "unexpected extra characters at the end of the input" for a trailing line break."""
    from engine.decide.scenarios import ScenarioInvalid

    with pytest.raises(ScenarioInvalid) as raised:
        shipped.decide({"id": "s", "as_of": written, "balance": {"policy": "standard-balance", "events": []}})
    assert f"scenario field `as_of`: {message}" in str(raised.value)


def test_a_coupon_code_pasted_with_a_space_suggests_the_code_it_holds(shipped: Any) -> None:
    from engine.coupons import index_of

    index = index_of(shipped)
    assert index.nearest(" coupon_90") == index.nearest("coupon_90 ") == "coupon_90"  # (was `coupon_91`)
