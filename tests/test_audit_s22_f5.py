"""A scenario part no decision reads is reported (BR604 at its field), never dropped with exit 0.

Audit s22 F2: an agent, its discount requests, approvals, usage records or a discount history in a
scenario with no `subscription` and no `job`, and scenario `credits` with no `consumptions` or
`credit_purchases`, were dropped in silence when the scenario asked another question (a balance,
a purchase): `decide`, `validate --scenarios` and `run` exited 0. SPEC 4: "the decision answers
exactly those [questions]".
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from engine import load_rules
from engine.cli.main import main
from engine.decide.scenarios import ScenarioError

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")

AS_OF = "2015-09-30T18:00:00+02:00"
BALANCE = {
    "policy": "standard-balance",
    "opening": 0,
    "events": [{"id": "EV-1", "type": "grant", "amount": 100, "at": "2015-09-01T09:00:00+02:00"}],
}
AGENT = {"user": "anna.agent", "units": ["customer-care"]}
REQUEST = {"discount": "complaint-discount", "value": 50, "added_on": "2015-06-18"}
APPROVAL = {"discount": "complaint-discount", "by": "sara.supervisor", "units": ["customer-centre-supervisors"]}
USAGE = {"at": "2015-09-02T10:00:00Z", "quantity": 1}
HISTORY = {"discount": "complaint-discount", "on": "2015-06-18"}
CREDIT = {
    "code": "extra-1",
    "type": "kaizen-enterprise",
    "quantity": 5,
    "holder": "globex",
    "usage_period": {"from": "2015-01-01", "to": "2015-12-31"},
    "allocation": "all_organisations",
}


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def balance_with(**parts: Any) -> dict[str, Any]:
    return {"id": "parts", "as_of": AS_OF, "balance": BALANCE, **parts}


def purchase_with(**parts: Any) -> dict[str, Any]:
    """The shipped sample `coupon_alphanumeric_with_plan` (a purchase, no subscription) with `parts`."""
    from engine.load import load_file

    [document] = load_file(REPO / "samples/purchase/coupon_alphanumeric_with_plan.yaml").documents
    data = {k: v for k, v in document.data.items() if k != "expect"}
    return {**json.loads(json.dumps(data, default=str)), **parts}


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


ALL_PARTS = {
    "agent": AGENT,
    "requested_discounts": [REQUEST],
    "approvals": [APPROVAL],
    "discount_history": [HISTORY],
    "usage": [USAGE],
}


def test_parts_beside_a_balance_are_refused_at_their_fields_by_decide(tmp_path: Path) -> None:
    path = write(tmp_path, "parts.json", balance_with(**ALL_PARTS))
    lines = path.read_text(encoding="utf-8").splitlines()
    for extra in ([], ["--json"]):
        code, out, err = run_cli(["decide", *extra, "--rules", RULES, str(path)])
        assert code == 1, err
        assert out == ""  # no decision of the balance alone, as though the rest had been read
        assert err.count("error[BR604]") == 5
        for field in ALL_PARTS:
            line = next(i for i, t in enumerate(lines, 1) if t.startswith(f' "{field}"'))
            assert f"parts.json:{line}:2: error[BR604]" in err, (field, err)
        assert "error[BR604] a discount request needs the `subscription` or `job` it is for" in err
        assert "hint: add the `subscription` or `job` the discount is requested for" in err
        assert "error[BR604] an approval needs the `subscription` or `job`" in err
        assert "error[BR604] usage records need the `subscription` or `job` billed" in err
        assert "error[BR604] a discount history needs the `subscription`, `job` or `purchase`" in err


def test_credits_without_consumptions_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "credits.json", balance_with(credits=[CREDIT]))
    code, out, err = run_cli(["decide", "--rules", RULES, str(path)])
    assert code == 1 and out == ""
    assert "error[BR604] scenario credits are read to pay `consumptions` or `credit_purchases`" in err
    assert "hint: add the `consumptions` the credits pay for, or remove `credits`" in err


def test_a_request_alone_says_what_it_lacks_not_that_nothing_is_asked(tmp_path: Path) -> None:
    path = write(
        tmp_path, "request.json", {"id": "r", "as_of": AS_OF, "agent": AGENT, "requested_discounts": [REQUEST]}
    )
    code, _, err = run_cli(["decide", "--rules", RULES, str(path)])
    assert code == 1
    assert "asks no question" not in err
    assert "a discount request needs the `subscription` or `job` it is for" in err


def test_validate_scenarios_reports_them_in_documents_and_json_lines(tmp_path: Path) -> None:
    write(tmp_path, "parts.json", balance_with(requested_discounts=[REQUEST]))
    record = balance_with(usage=[USAGE])
    (tmp_path / "run.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    code, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(tmp_path)])
    assert code == 1
    text = out + err
    assert "parts.json:" in text and "error[BR604] a discount request needs the `subscription` or `job`" in text
    assert "run.jsonl:1:1: error[BR604] `usage`: usage records need the `subscription` or `job` billed" in text


def test_a_billing_run_writes_an_error_record(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    records = [balance_with(agent=AGENT, requested_discounts=[REQUEST]), balance_with()]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    args = ["run", "--rules", RULES, "--input", str(source), "--output", str(output), "--errors", str(errors)]
    code, _, _ = run_cli([*args, "--workers", "1"])
    assert code == 1
    [error] = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert error["line"] == 1
    assert [(d["code"], d["field"]) for d in error["diagnostics"]] == [
        ("BR604", "agent"),
        ("BR604", "requested_discounts"),
    ]
    assert len(output.read_text(encoding="utf-8").splitlines()) == 1  # the plain balance is decided


def test_the_python_api_raises_scenario_error() -> None:
    rules = load_rules(RULES)
    for decide in (rules.decide, rules.decide_json):
        with pytest.raises(ScenarioError) as caught:
            decide(balance_with(approvals=[APPROVAL], credits=[CREDIT]))
        error = caught.value
        assert (error.code, error.field) == ("BR604", "approvals")
        assert [(e.code, e.field) for e in error.also] == [("BR604", "credits")]


def test_a_request_beside_a_purchase_no_bundle_grants_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "purchase.json", purchase_with(agent=AGENT, requested_discounts=[REQUEST]))
    code, out, err = run_cli(["decide", "--rules", RULES, str(path)])
    assert code == 1 and out == ""
    assert "error[BR604] a discount request needs the `subscription` or `job` it is for: a purchase reads" in err
    assert "no bundle grants `complaint-discount`" in err
    assert "error[BR604] an agent asks which ad hoc discounts to offer" in err
    with pytest.raises(ScenarioError) as caught:
        load_rules(RULES).decide(purchase_with(requested_discounts=[REQUEST]))
    assert (caught.value.code, caught.value.field) == ("BR604", "requested_discounts[0].discount")
    code, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(path)])
    assert code == 1 and "no bundle grants `complaint-discount`" in out + err


def test_parts_a_purchase_reads_are_not_refused(tmp_path: Path) -> None:
    """A purchase prices the discounts its bundles grant on the scenario (README "Purchases"):
    their history, and a request for an ad hoc one a bundle grants, are read."""
    rules = load_rules(RULES)
    decided = rules.decide(purchase_with(discount_history=[{"discount": "welcome-sports-half", "on": "2015-03-01"}]))
    assert "purchase" in decided
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    bundles = copy / "catalog/bundles.yaml"
    text = bundles.read_text(encoding="utf-8")
    granted = "discounts: [welcome-sports-half, complaint-discount]"
    bundles.write_text(text.replace("discounts: [welcome-sports-half]", granted), encoding="utf-8")
    decided = load_rules(str(copy)).decide(purchase_with(agent=AGENT, requested_discounts=[REQUEST]))
    assert "complaint-discount" in [d["code"] for d in decided["purchase"]["discounts"]]


def test_bills_and_the_shipped_samples_still_decide() -> None:
    """A subscription or a job reads every such part: nothing refused there."""
    code, out, err = run_cli(["test", "--rules", RULES, str(REPO / "samples")])
    assert code == 0, err
    assert out.rstrip().endswith(" 0 failed")


def test_credits_on_a_bill_are_refused_unless_criteria_read_them(tmp_path: Path) -> None:
    from engine.load import load_file

    [document] = load_file(REPO / "samples/discounts/complaint_cap.yaml").documents
    bill = {k: v for k, v in json.loads(json.dumps(document.data, default=str)).items() if k != "expect"}
    with pytest.raises(ScenarioError) as caught:
        load_rules(RULES).decide({**bill, "credits": [CREDIT]})
    assert (caught.value.code, caught.value.field) == ("BR604", "credits")
    assert "discounts" in load_rules(RULES).decide(bill)  # the bill itself decides
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    loyalty = copy / "discounts/loyalty.yaml"
    text = loyalty.read_text(encoding="utf-8")
    frequencies = "    billing_frequencies: [monthly, quarterly]\n---\nkind: discount\ncode: multiroom-half"
    assert frequencies in text
    reading = frequencies.replace("quarterly]\n", "quarterly]\n  when: count(credits) < 100\n")
    loyalty.write_text(text.replace(frequencies, reading, 1), encoding="utf-8")
    assert "discounts" in load_rules(str(copy)).decide({**bill, "credits": [CREDIT]})  # a criterion reads them
