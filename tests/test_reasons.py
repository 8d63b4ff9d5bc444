"""Reason records: words from registered templates, facts kept as data."""

from __future__ import annotations

import pytest

from engine.decide.reasons import Reason, Source, register


def test_a_reason_is_worded_from_its_template_and_keeps_its_facts() -> None:
    register({"test_expired": "expired on {to}"})
    reason = Reason("test_expired", {"to": "2026-03-31"}, Source("rules/credits.yaml", 4, 3))
    assert reason.words() == "expired on 2026-03-31"
    assert reason.to_json() == {
        "code": "test_expired",
        "text": "expired on 2026-03-31",
        "facts": {"to": "2026-03-31"},
        "source": {"file": "rules/credits.yaml", "line": 4, "column": 3},
    }


def test_a_reason_without_template_or_with_missing_facts_still_says_what_it_is() -> None:
    assert Reason("used_up_nowhere", {"left": "0"}).words() == "used up nowhere: left 0"
    register({"test_needs": "needs {missing}"})
    assert Reason("test_needs", {"other": 1}).words() == "test needs: other 1"


def test_a_code_cannot_change_its_words() -> None:
    register({"test_once": "once"})
    register({"test_once": "once"})
    with pytest.raises(ValueError, match="registered twice"):
        register({"test_once": "twice"})
