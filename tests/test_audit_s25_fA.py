"""Audit m3 of the twenty-fifth session (2026-12-04), findings F1 and F3: hostile rule files.

- F1: empty text was accepted where it names something to book or settle: a term's
  `penalty.ledger_account: ""`, `invoice_line_type`, `tax.code`, `tax_provider`; a credit type's
  `service` and `unit`; the rule set's `version`; an item of a list of values (`payment_methods`,
  a criteria list). A cancellation then booked its fee to the ledger account `""`. Each is BR206
  "`…` is empty" now, as `name: ""` and `provider: ""` were already.
- F3: a `kind:` that is not text was quoted as Python writes it ("unknown kind `['term']`",
  "`True`"); it is "`kind` must be text, not a list" now.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine.models._direct import validate as direct_validate
from engine.models.catalog import Penalty, Plan
from engine.models.credits import CreditType
from engine.models.ruleset import RuleSetSettings
from engine.pipeline import compile_ruleset

REPO = Path(__file__).resolve().parent.parent


def _rules(tmp_path: Path, file: str, old: str, new: str) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


def _errors(root: Path) -> list[tuple[str, int, int, str, str]]:
    return [
        (Path(d.file).name, d.line, d.column, d.code, d.message)
        for d in compile_ruleset(root).diagnostics
        if d.severity.value == "error"
    ]


def test_the_shipped_rules_stay_valid() -> None:
    assert _errors(REPO / "rules") == []


@pytest.mark.parametrize(
    ("field", "written", "column", "where"),
    [
        ("ledger_account", '  ledger_account: "4410-early-termination-fees"\n', 19, "penalty.ledger_account"),
        ("invoice_line_type", "  invoice_line_type: early_termination_fee\n", 22, "penalty.invoice_line_type"),
        ("tax.code", "    code: DE-VAT-STD\n", 11, "penalty.tax.code"),
        ("tax_provider", "  tax_provider: acme-tax-engine\n", 17, "penalty.tax_provider"),
    ],
)
def test_an_empty_penalty_text_is_br206(tmp_path: Path, field: str, written: str, column: int, where: str) -> None:
    key = written.split(":")[0]
    root = _rules(tmp_path, "catalog/terms.yaml", written, f'{key}: ""\n')
    line = (REPO / "rules/catalog/terms.yaml").read_text(encoding="utf-8").splitlines().index(written[:-1]) + 1
    assert _errors(root) == [("terms.yaml", line, column, "BR206", f"`{where}` is empty")]


def test_empty_penalty_texts_refuse_the_rules_that_booked_a_fee_to_no_account(tmp_path: Path) -> None:
    # the auditor's case: the four penalty texts of the first term empty; until 2026-12-04 a
    # cancellation decision booked its fee to `"ledger_account": ""`
    root = _rules(
        tmp_path,
        "catalog/terms.yaml",
        '  ledger_account: "4410-early-termination-fees"\n  invoice_line_type: early_termination_fee\n'
        "  tax:\n    rate: 19\n    code: DE-VAT-STD\n  tax_provider: acme-tax-engine\n",
        '  ledger_account: ""\n  invoice_line_type: ""\n  tax:\n    rate: 19\n    code: ""\n  tax_provider: ""\n',
    )
    found = _errors(root)
    assert [(code, message) for _, _, _, code, message in found] == [
        ("BR206", "`penalty.ledger_account` is empty"),
        ("BR206", "`penalty.invoice_line_type` is empty"),
        ("BR206", "`penalty.tax.code` is empty"),
        ("BR206", "`penalty.tax_provider` is empty"),
    ]


@pytest.mark.parametrize("field", ["service", "unit"])
def test_an_empty_service_or_unit_of_a_credit_type_is_br206(tmp_path: Path, field: str) -> None:
    written = {"service": "service: e-mail\nunit: e-mails\n", "unit": "unit: e-mails\nmeasure: amount\n"}[field]
    emptied = written.replace(written.split("\n")[0], f'{field}: ""', 1)
    root = _rules(tmp_path, "credits/credit_types.yaml", written, emptied)
    (found,) = _errors(root)
    assert found[0] == "credit_types.yaml" and found[3:] == ("BR206", f"`{field}` is empty")


def test_an_empty_version_of_the_rule_set_is_br206(tmp_path: Path) -> None:
    root = _rules(tmp_path, "ruleset.yaml", 'version: "2026.11"\n', 'version: ""\n')
    assert _errors(root) == [("ruleset.yaml", 10, 10, "BR206", "`version` is empty")]


@pytest.mark.parametrize(
    ("file", "written", "emptied", "where"),
    [
        ("catalog/plans.yaml", "payment_methods: [direct_debit]\n", 'payment_methods: [""]\n', "payment_methods[0]"),
        ("credits/credits.yaml", "services: [targeting-experience]", 'services: [""]', "scope.services[0]"),
        (
            "discounts/customer_care.yaml",
            "classifications: [Residential]",
            'classifications: [Residential, ""]',
            "criteria.accounts_receivable.classifications[1]",
        ),
    ],
)
def test_an_empty_item_of_a_list_of_values_is_br206(
    tmp_path: Path, file: str, written: str, emptied: str, where: str
) -> None:
    # (a credit's `services: [""]` was BR302 "unknown service ``"; the others were accepted)
    root = _rules(tmp_path, file, written, emptied)
    (found,) = _errors(root)
    assert found[3:] == ("BR206", f"`{where}` is empty")


def test_the_schemas_refuse_empty_text_too() -> None:
    # (the editor's schema and `billrules validate` read the same files)
    term = json.loads((REPO / "schemas/term.schema.json").read_text(encoding="utf-8"))
    penalty = term["definitions"]["Penalty"]["properties"]
    assert all(penalty[f]["minLength"] == 1 for f in ("ledger_account", "invoice_line_type", "tax_provider"))
    assert term["definitions"]["Tax"]["properties"]["code"]["minLength"] == 1
    credit_type = json.loads((REPO / "schemas/credit_type.schema.json").read_text(encoding="utf-8"))
    assert credit_type["properties"]["service"]["minLength"] == credit_type["properties"]["unit"]["minLength"] == 1
    rule_set = json.loads((REPO / "schemas/rule_set.schema.json").read_text(encoding="utf-8"))
    assert rule_set["properties"]["version"]["minLength"] == 1


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Penalty, {"fee": "10.00 EUR", "ledger_account": ""}),
        (Penalty, {"fee": "10.00 EUR", "tax": {"code": ""}}),
        (CreditType, {"kind": "credit_type", "code": "x", "service": ""}),
        (RuleSetSettings, {"kind": "rule_set", "code": "x", "version": "", "default_currency": "EUR"}),
        (
            Plan,
            {
                "kind": "plan",
                "code": "p",
                "name": "P",
                "bundles": ["b"],
                "validity": {"from": "2015-01-01"},
                "payment_methods": [""],
            },
        ),
    ],
)
def test_the_models_refuse_empty_text_on_both_paths(model: Any, data: dict[str, Any]) -> None:
    # pydantic's own validation, and the direct path that builds schema-checked documents
    with pytest.raises(ValidationError):
        model.model_validate(data)
    with pytest.raises(ValidationError):
        direct_validate(model, data)


@pytest.mark.parametrize(
    ("written", "message", "hint"),
    [
        ("kind: [term]", "`kind` must be text, not a list", "write the kind alone, without brackets: `kind: term`"),
        ("kind: [terms]", "`kind` must be text, not a list", "write the kind alone, without brackets: `kind: term`"),
        ("kind: {a: term}", "`kind` must be text, not a mapping", "use one of: rule_set, product"),
        ("kind: true", "`kind` must be text, not true/false", "use one of: rule_set, product"),
        ("kind: 5", "`kind` must be text, not a number", "use one of: rule_set, product"),
        ('kind: [[term, "x\'y"], {b: null}]', "`kind` must be text, not a list", "use one of: rule_set, product"),
    ],
)
def test_a_kind_that_is_not_text_says_so(tmp_path: Path, written: str, message: str, hint: str) -> None:
    # until 2026-12-04 "unknown kind `['term']`", `{'a': 'term'}`, `True`: Python's repr
    root = _rules(tmp_path, "catalog/terms.yaml", "kind: term\ncode: commit-12m\n", f"{written}\ncode: commit-12m\n")
    (found,) = [d for d in compile_ruleset(root).diagnostics if d.severity.value == "error"]
    assert (found.code, found.message) == ("BR111", message)
    assert found.hint.startswith(hint)
    assert found.column == len("kind: ") + 1


def test_a_text_kind_that_names_none_is_told_as_before(tmp_path: Path) -> None:
    root = _rules(tmp_path, "catalog/terms.yaml", "kind: term\ncode: commit-12m\n", "kind: terms\ncode: commit-12m\n")
    (found,) = [d for d in compile_ruleset(root).diagnostics if d.severity.value == "error"]
    assert (found.code, found.message, found.hint) == ("BR111", "unknown kind `terms`", "did you mean `term`?")
