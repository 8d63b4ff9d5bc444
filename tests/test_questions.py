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
    assert out == ""  # no empty decision: the scenario is refused
    assert err.count("BR604") == 1


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


def test_the_api_refuses_a_scenario_asking_nothing_as_the_command_line_does() -> None:
    from engine import load_rules
    from engine.decide.scenarios import ScenarioError

    rules = load_rules(RULES)
    for decide in (rules.decide, rules.decide_json):
        with pytest.raises(ScenarioError) as caught:
            decide({"id": "nothing", "as_of": "2026-01-01T00:00:00Z"})
        assert (caught.value.code, caught.value.message) == ("BR604", "the scenario asks no question")


def test_a_job_beside_a_subscription_is_reported_not_dropped(tmp_path: Path) -> None:
    """SPEC 4: a scenario bills a subscription or a job. With both, the job's discounts were
    silently left out and the command exited 0."""
    from engine import load_rules
    from engine.decide.scenarios import ScenarioError

    job = (REPO / "samples/discounts/installation_late_auto_20_off.yaml").read_text(encoding="utf-8")
    job = job.split("expect:\n")[0]
    subscription = "subscription:\n  code: SUB-1\n  plan: tv-essentials-24\n  start: 2015-01-01\n  products: []\n"
    path = tmp_path / "both.yaml"
    path.write_text(job + subscription, encoding="utf-8")
    job_line = next(i for i, t in enumerate(job.splitlines(), 1) if t.startswith("job:"))
    for command in (["decide"], ["validate", "--scenarios"]):
        code, out, err = run_cli([*command[:1], "--rules", RULES, *command[1:], str(path)])
        assert code == 1, (command, out, err)
        assert "error[BR604] a scenario bills a subscription or a job, not both" in out + err
        where = (out + err).split("BR604")[0].splitlines()[-1]
        assert f":{job_line}:" in where or f":{job_line + 1}:" in where  # at `job:` or its first field
    with pytest.raises(ScenarioError) as caught:
        load_rules(RULES).decide(_yaml(path))
    assert (caught.value.code, caught.value.field) == ("BR604", "job")


def _yaml(path: Path) -> object:
    from engine.load import load_file

    [document] = load_file(path).documents
    return document.data


def test_a_scenario_file_that_is_no_mapping_or_not_text_is_worded_for_a_scenario(tmp_path: Path) -> None:
    """The loader reads rule files too; for a scenario it says what a scenario must be."""
    listed, binary = tmp_path / "list.yaml", tmp_path / "binary.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    binary.write_bytes(b"\x00\x01\x02binary")
    code, _, err = run_cli(["decide", "--rules", RULES, str(listed), str(binary)])
    assert code == 1
    assert "list.yaml:1:1: error[BR601] a scenario must be a mapping with `id` and `as_of`" in err
    assert "binary.yaml:1:1: error[BR102] binary file: a scenario must be YAML or JSON text" in err
    assert "rule" not in err
