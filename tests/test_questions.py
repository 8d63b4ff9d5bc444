"""Every question a scenario asks is answered or reported (BR604), never dropped with exit 0."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.decide import decision
from engine.decide.decision import QUESTIONS, unanswered

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


UNANSWERED = [(name, answered) for name, _, answered in QUESTIONS if not answered]


@pytest.mark.parametrize(
    ("sample", "field"),
    [
        ("samples/cancellation/pro_rata_penalty.yaml", "cancellation"),
        ("samples/purchase/coupon_minus_20.yaml", "purchase"),
    ]
    + ([("samples/credits/closest_expiry_first.yaml", "consumptions")] if ("consumptions", False) in UNANSWERED else [])
    + ([("samples/balance/seed_004_example.yaml", "balance")] if ("balance", False) in UNANSWERED else []),
)
def test_a_question_no_decision_answers_is_reported_at_its_field(
    sample: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unanswer(field, monkeypatch)
    text = (REPO / sample).read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.startswith(f"{field}:"))
    for extra in ([], ["--json"]):
        code, _, err = run_cli(["decide", *extra, "--rules", RULES, str(REPO / sample)])
        assert code == 1
        assert f"{sample}:{line}:1: error[BR604] `{field}`: this engine does not decide" in err.replace(
            str(REPO) + "/", ""
        )


def test_a_scenario_asking_nothing_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("id: nothing\nas_of: 2026-01-01T00:00:00Z\n", encoding="utf-8")
    code, out, err = run_cli(["decide", "--rules", RULES, str(path)])
    assert code == 1
    assert ":1:1: error[BR604] the scenario asks no question" in err
    assert "hint: add one of: subscription, job, consumptions" in err
    assert out.startswith("scenario nothing")


def _unanswer(field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the engine does not answer `field` yet (the check must not depend on which it does)."""
    monkeypatch.setattr(decision, "QUESTIONS", tuple((n, a, ok and n != field) for n, a, ok in QUESTIONS))


def test_an_expectation_on_an_unanswered_question_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _unanswer("purchase", monkeypatch)
    sample = (REPO / "samples/purchase/coupon_minus_20.yaml").read_text(encoding="utf-8").split("expect:\n")[0]
    path = tmp_path / "expects.yaml"
    path.write_text(sample + "expect:\n  purchase:\n    allowed: true\n", encoding="utf-8")
    code, out, _ = run_cli(["test", "--rules", RULES, str(path)])
    assert code == 1
    assert "error[BR604] `purchase`" in out and out.endswith("0 passed, 1 failed\n")


def test_a_discount_question_is_answered() -> None:
    code, _, err = run_cli(["decide", "--rules", RULES, str(REPO / "samples/discounts/complaint_cap.yaml")])
    assert (code, err) == (0, "")


def test_unanswered_names_only_the_parts_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.decide.scenarios import read_scenarios

    _unanswer("cancellation", monkeypatch)
    item = next(read_scenarios(REPO / "samples/cancellation/pro_rata_penalty.yaml"))
    assert [u.field for u in unanswered(item.scenario)] == ["cancellation"]


def test_every_question_is_answered_today() -> None:
    assert [name for name, _, answered in QUESTIONS if not answered] == []
