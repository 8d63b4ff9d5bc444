"""Findings of the tenth session's audits (2026-12-02). Each test is a reduced reproduction of
what an audit found, with the outcome SPEC or README requires."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    return root


def _append(rules: Path, name: str, text: str) -> None:
    path = rules / name
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# --- a discount's `when:` reading the other subject ------------------------------------------------


def test_a_job_discounts_when_reading_the_subscription_is_br403_at_the_name(rules: Path) -> None:
    # (was accepted, and the condition was unknown on every job: the discount never applied)
    _append(
        rules,
        "discounts/installation.yaml",
        '  when: >-\n    job.segments overlaps {"late-installation"} and\n'
        '    (subscription.maturity >= 6 months or account.classification == "Residential")\n',
    )
    found = validate_paths([rules])
    assert [(d.code, d.column) for d in found] == [("BR403", 6)], found
    assert "a job discount's `when` reads `subscription`" in found[0].message
    assert "classification: subscription" in (found[0].hint or "")


def test_a_subscription_discounts_when_reading_the_job_is_br403(rules: Path) -> None:
    text = (rules / "discounts/loyalty.yaml").read_text(encoding="utf-8")
    assert "criteria:\n" in text
    (rules / "discounts/loyalty.yaml").write_text(
        text.replace("criteria:\n", "criteria:\n  when: 'job.code != \"J-1\"'\n", 1), encoding="utf-8"
    )
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR403"], found
    assert "a subscription discount's `when` reads `job`" in found[0].message


def test_a_quantifier_variable_named_like_the_other_subject_is_no_finding(rules: Path) -> None:
    _append(
        rules,
        "discounts/installation.yaml",
        "  when: 'any subscription in job.products where subscription.product == \"installation-fee\"'\n",
    )
    assert validate_paths([rules]) == []
