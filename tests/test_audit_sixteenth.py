"""Findings of the sixteenth session's audits (2026-12-02), each reduced to a reproduction with
the outcome SPEC or README requires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.test_line_charge import _bill, _rules_reading, _status

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")


# --- a value computed from known facts that has none is named whole, not its field -------------


@pytest.mark.parametrize(
    ("when", "usage", "missing"),
    [
        # a usage of 0 is known: the quotient is what has no value (it named the field "not known")
        ("10 / subscription.concurrent_usage > 1", 0, "10 / subscription.concurrent_usage"),
        ("subscription.start + 9000 years > 2016-01-01", 0, "subscription.start + 9000 years"),
        # the field itself absent: the field is named, in date arithmetic too
        ("10 / subscription.concurrent_usage > 1", None, "subscription.concurrent_usage"),
        ("as_of.date - subscription.billing_term_start > 1 day", None, "subscription.billing_term_start"),
    ],
)
def test_a_missing_value_names_what_lacks_one(tmp_path: Path, when: str, usage: Any, missing: str) -> None:
    from engine import load_rules

    rules = load_rules(_rules_reading(tmp_path, when))
    bill = _bill("monthly", {"product": "tv-essentials"})
    if usage is not None:
        bill["subscription"]["concurrent_usage"] = usage
    assert _status(rules.brief().decide(bill), "big-bill-5")["status"] == "not_eligible"
    definition = _status(rules.decide(bill), "big-bill-5")
    assert definition["status"] == "not_eligible"
    (reason,) = definition["reasons"]
    assert (reason["code"], reason["facts"]["missing"]) == ("value_missing", missing), reason
    if " " in missing:  # a computed value, named as written
        assert reason["text"].startswith(f"`{missing}` is not known"), reason["text"]


# --- validate --scenarios and decide give an unknown balance policy the same code ---------------


def test_an_unknown_balance_policy_is_br610_in_validate_as_in_decide(tmp_path: Path) -> None:
    from tests.test_questions import run_cli

    scenario = tmp_path / "balance.yaml"
    scenario.write_text(
        "id: b\nas_of: 2015-09-30T18:00:00+02:00\n"
        "balance:\n  policy: prepaid-strikt\n  opening: 20\n"
        "  events:\n    - {id: EV-1, type: debit, amount: 30, request: service-1, at: 2015-09-03T10:00:00+02:00}\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(scenario)])
    assert code == 1 and "BR610" in out + err and "BR603" not in out + err, out + err
    assert "prepaid-strict" in out + err  # did you mean
    code, out, err = run_cli(["decide", "--rules", RULES, str(scenario)])
    assert code == 1 and "BR610" in out + err, out + err


# --- billrules test: an empty mapping of money per currency expects none ------------------------


@pytest.mark.parametrize(
    ("expect", "passes"),
    [
        ("  cancellation:\n    total: {}\n", False),  # a penalty is charged: 166.60 EUR
        ("  cancellation:\n    allowed: true\n    total: {}\n", False),
        ("  cancellation:\n    total: {EUR: 166.60 EUR}\n", True),
        ("  discounts:\n    totals: {}\n", False),  # the bill has totals
    ],
)
def test_an_empty_total_expects_none(tmp_path: Path, expect: str, passes: bool) -> None:
    from tests.test_questions import run_cli

    sample = (REPO / "samples" / "cancellation" / "pro_rata_penalty.yaml").read_text(encoding="utf-8")
    scenario = sample.split("\nexpect:")[0]
    path = tmp_path / "t.yaml"
    path.write_text(f"{scenario}\nexpect:\n{expect}", encoding="utf-8")
    code, out, err = run_cli(["test", "--rules", RULES, str(path)])
    assert ("1 passed" in out + err, code) == ((True, 0) if passes else (False, 1)), out + err
    if not passes:
        assert "expected none, the decision has EUR:" in out + err, out + err


def test_an_empty_total_of_a_refused_cancellation_passes() -> None:
    """The shipped sample writes a refused cancellation's total as `total: {}`: it is checked, and holds."""
    from tests.test_questions import run_cli

    code, out, err = run_cli(
        ["test", "--rules", RULES, str(REPO / "samples" / "cancellation" / "add_on_not_allowed.yaml")]
    )
    assert code == 0 and "1 passed" in out + err, out + err


# --- a billing run: a stop that comes while the finished files are renamed ---------------------


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_a_stop_while_the_files_are_renamed_leaves_no_mix_of_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    """The decisions renamed, then Ctrl-C or SIGTERM: the errors file and the summary follow (the
    run had finished). Until 2026-12-02 the new decisions stayed beside the previous errors."""
    import signal

    from engine import load_rules
    from engine.run import RunOptions, run
    from engine.run.atomic import AtomicFile

    number = getattr(signal, stop)
    handler = signal.getsignal(number)

    def stopped(_number: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(number, stopped)  # as `billrules run` handles SIGTERM
    commit = AtomicFile.commit
    calls: list[str] = []

    def commit_then_stop(self: AtomicFile) -> None:
        commit(self)
        calls.append("commit")
        if len(calls) == 1:
            signal.raise_signal(number)

    monkeypatch.setattr(AtomicFile, "commit", commit_then_stop)
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    errors.write_text("PREVIOUS\n", encoding="utf-8")
    source = tmp_path / "in.jsonl"
    source.write_text((REPO / "samples" / "run" / "nightly.jsonl").read_text(encoding="utf-8")[:20000] + "\n{\n")
    try:
        summary = run(load_rules(RULES), RunOptions(str(source), str(output), errors=str(errors), workers=1))
    finally:
        signal.signal(number, handler)
    assert calls == ["commit", "commit"]
    assert errors.read_text(encoding="utf-8").count("\n") == summary.errors > 0
    assert "PREVIOUS" not in errors.read_text(encoding="utf-8")
    assert output.read_text(encoding="utf-8").count("\n") == summary.decisions > 0


# --- a billing run: a line's column counts what is written before its JSON ---------------------


@pytest.mark.parametrize(
    ("line", "code", "column"),
    [
        (b'{"a":1,,}', "BR601", 8),
        (b'    {"a":1,,}', "BR601", 12),  # (said 8: the column of the JSON, not the line's)
        (b'\t\t{"a":1,,}', "BR601", 10),
        # a byte order mark is one character (`NaN`: until 2026-12-03 `1e400`, which is JSON, read since)
        (b'  \xef\xbb\xbf {"id": NaN}', "BR601", 12),
        (b'   {"id":"\xff"}', "BR103", 11),
        (b'  {"id": "x", "n": 123456789012345678901234567890.5}', "BR120", 20),
    ],
)
def test_a_json_line_s_error_column_is_the_line_s(line: bytes, code: str, column: int) -> None:
    from engine.run.evaluate import parse_line

    _, problem = parse_line(line + b"\n", "in.jsonl", 1)
    assert problem is not None and (problem.code, problem.column) == (code, column), problem


# --- a billing run: a file replaced keeps its mode ---------------------------------------------


def test_a_file_a_run_replaces_keeps_its_mode(tmp_path: Path) -> None:
    import os

    from engine import load_rules
    from engine.run import RunOptions, run

    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    output.write_text("previous\n", encoding="utf-8")
    os.chmod(output, 0o600)  # a billing file kept to its owner
    nightly = REPO / "samples" / "run" / "nightly.jsonl"
    run(load_rules(RULES), RunOptions(str(nightly), str(output), errors=str(errors), workers=1, progress=False))
    assert output.read_text(encoding="utf-8") != "previous\n"
    assert output.stat().st_mode & 0o777 == 0o600
    mask = os.umask(0)
    os.umask(mask)
    assert errors.stat().st_mode & 0o777 == 0o666 & ~mask  # a new file: the umask's mode


@pytest.mark.parametrize(
    ("output", "said"),
    [
        ("/proc/billrules-out.jsonl", "cannot write the output /proc/billrules-out.jsonl: No such file or directory"),
        ("/dev/full", "cannot write the output /dev/full: No space left on device"),
    ],
)
def test_a_run_that_cannot_write_names_its_file_not_a_temporary(output: str, said: str) -> None:
    """(It named the hidden temporary, `/proc/.billrules-out.jsonl-parts.x1y2.partial`, or no file.)"""
    if not Path(output).parent.exists() or (output == "/dev/full" and not Path(output).exists()):
        pytest.skip("a Linux path")
    from tests.test_questions import run_cli

    nightly = str(REPO / "samples" / "run" / "nightly.jsonl")
    for workers in ("1", "2"):
        code, _out, err = run_cli(
            ["run", "--rules", RULES, "--input", nightly, "--output", output, "--workers", workers]
        )
        assert code == 2 and f"billrules: error: {said}; no output was written" in err, err
        assert ".partial" not in err


# --- a quantifier unknown names what an unknown item lacks, not what a failing item lacks ------


def test_an_unknown_quantifier_names_a_value_that_left_an_item_unknown() -> None:
    """usage[0], a Friday-evening rental, lacks its catalog, service type and termed service: the
    weekend window is unknown for it. usage[1], a Tuesday rental, lacks its device, but fails the
    window whatever its device: that was the value named."""
    from engine import load_rules

    scenario = {
        "id": "missing-cause",
        "as_of": "2015-07-01T02:00:00+02:00",
        "account": {"code": "A", "classification": "Residential"},
        "subscription": {
            "code": "S",
            "type": "residential-tv",
            "plan": "tv-essentials-24",
            "billing_frequency": "monthly",
            "start": "2015-02-01",
            "products": [
                {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True},
                {"product": "vod-rental", "bundle": "on-demand-bundle"},
            ],
            "billing_period": {"from": "2015-06-01", "to": "2015-06-30"},
        },
        "usage": [
            {"at": "2015-06-05T21:00:00+02:00", "product": "vod-rental", "method": "set-top-box", "device": "stb"},
            {
                "at": "2015-06-09T20:45:00+02:00",
                "product": "vod-rental",
                "catalog": "acme-on-demand",
                "service_type": "VOD",
                "termed_service": "tv-essentials",
            },
        ],
    }
    definition = _status(load_rules(REPO / "rules").decide(scenario), "vod-weekend-nights")
    windows = [
        r for r in definition["reasons"] if r["code"] == "value_missing" and r["facts"]["section"] == "quantitative"
    ]
    # (named by the record's place since 2026-12-03: `u.termed_service` before)
    assert [r["facts"]["missing"] for r in windows] == ["usage[0].termed_service"], windows


def test_not_all_match_counts_unknown_items_apart(tmp_path: Path) -> None:
    """Devices stb, phone and one missing: one record fails `all`, one is unknown (it said "2 of 3
    do not match")."""
    from engine import load_rules

    rules = load_rules(_rules_reading(tmp_path, 'all u in usage where u.device in {"stb", "smart-tv"}'))
    bill = _bill("monthly", {"product": "tv-essentials"})
    bill["usage"] = [
        {"at": "2015-06-01T10:00:00Z", "product": "vod-rental", "device": "stb"},
        {"at": "2015-06-01T11:00:00Z", "product": "vod-rental", "device": "phone"},
        {"at": "2015-06-01T12:00:00Z", "product": "vod-rental"},
    ]
    definition = _status(rules.decide(bill), "big-bill-5")
    (reason,) = definition["reasons"]
    assert reason["code"] == "not_all_match"
    assert (reason["facts"]["matched"], reason["facts"]["unknown"], reason["facts"]["count"]) == (1, 1, 3)
    assert reason["text"].startswith("usage: 1 of 3 does not match") and reason["text"].endswith("(1 unknown)")


# --- a section entry's part written under its own key is located at that key ------------------


def test_a_failing_less_than_points_at_its_own_line() -> None:
    """`concurrent_usage: {more_than: 1, less_than: 5}` with a usage of 5: the reason's source is
    the `less_than` line (it was the `more_than` line, the entry's first key)."""
    from engine import load_rules

    bill = _bill("monthly", {"product": "tv-essentials", "bundle": "tv-essentials-bundle", "main": True})
    bill["subscription"].update({"plan": "triple-play-24", "billing_term_scheme": "monthly-24", "concurrent_usage": 5})
    bill["subscription"]["products"].append({"product": "multiroom", "bundle": "multiroom-bundle"})
    definition = _status(load_rules(REPO / "rules").decide(bill), "multiroom-half")
    (usage,) = [r for r in definition["reasons"] if r["facts"].get("condition") == "subscription.concurrent_usage < 5"]
    lines = (REPO / "rules" / "discounts" / "loyalty.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[usage["source"]["line"] - 1].strip() == "less_than: 5", usage


# --- a span that has not begun says when it begins ---------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        ("2015-01-01", "2015-05-31", "150 days (since 2015-01-01)"),
        ("2015-05-30", "2015-05-31", "1 day (since 2015-05-30)"),
        ("2015-08-01", "2015-07-01", "none yet (2015-08-01 is 31 days later)"),  # (said "-31 days")
        # instants: a record 1 hour, and 4 days 1 hour, after `as_of` (said "-1 days", "-5 days")
        (
            "2015-07-01T03:00:00+02:00",
            "2015-07-01T02:00:00+02:00",
            "none yet (2015-07-01 03:00:00+02:00 is less than a day later)",
        ),
        (
            "2015-07-05T03:00:00+02:00",
            "2015-07-01T02:00:00+02:00",
            "none yet (2015-07-05 03:00:00+02:00 is 4 days later)",
        ),
    ],
)
def test_a_span_is_shown_in_whole_days_toward_zero(start: str, end: str, shown: str) -> None:
    from datetime import date, datetime

    from engine.criteria.runtime import Span

    read = datetime.fromisoformat if "T" in start else date.fromisoformat
    assert str(Span(read(start), read(end))) == shown


def test_a_billing_term_that_starts_later_is_told_so(tmp_path: Path) -> None:
    from engine import load_rules

    rules = load_rules(_rules_reading(tmp_path, "as_of.date - subscription.billing_term_start >= 3 months"))
    bill = _bill("monthly", {"product": "tv-essentials"})
    bill["subscription"]["billing_term_start"] = "2015-07-15"  # a month after the bill of 2015-06-15
    (reason,) = _status(rules.decide(bill), "big-bill-5")["reasons"]
    assert (reason["code"], reason["facts"]["starts"]) == ("duration_not_met", "2015-07-15"), reason
    assert "(it starts on 2015-07-15)" in reason["text"], reason["text"]


# --- validate --scenarios tells every problem decide tells, beside unknown names ---------------


@pytest.mark.parametrize("suffix", [".yaml", ".jsonl"])
def test_validate_scenarios_tells_a_debit_without_request_beside_an_unknown_policy(tmp_path: Path, suffix: str) -> None:
    import json

    from tests.test_questions import run_cli

    data = {
        "id": "b",
        "as_of": "2015-09-30T18:00:00+02:00",
        "balance": {
            "policy": "prepaid-strikt",
            "opening": 20,
            "events": [{"id": "EV-1", "type": "debit", "amount": 30, "at": "2015-09-03T10:00:00+02:00"}],
        },
    }
    path = tmp_path / f"b{suffix}"
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    _, decided, decided_err = run_cli(["decide", "--rules", RULES, str(path)])
    code, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(path)])
    assert code == 1
    for said in (decided + decided_err, out + err):
        assert "BR610" in said and "BR611" in said, said
        assert "2 problems" in said, said


# --- rule-file hints: a quantity with a unit of joined words; a word where a whole number goes -


@pytest.mark.parametrize(
    ("field", "written", "hint"),
    [
        ("quantity", "60 vcpu-hours", "write the number alone: `quantity: 60` (the unit is the field's own)"),
        ("priority", "high", "write a whole number: `priority: 1` (Explicit priority (lower first)"),
    ],
)
def test_a_credit_field_written_as_words_is_told_its_form(tmp_path: Path, field: str, written: str, hint: str) -> None:
    import shutil

    from tests.test_questions import run_cli

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "credits" / "credits.yaml"
    text = path.read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line.startswith("quantity:"))
    changed = text.replace(first, f"{first}\n{field}: {written}" if field == "priority" else f"quantity: {written}", 1)
    path.write_text(changed, encoding="utf-8")
    code, out, err = run_cli(["validate", str(root)])
    assert code == 1 and f"hint: {hint}" in out + err, out + err


@pytest.mark.parametrize(
    ("encoding", "told"), [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32-le", "UTF-32")]
)
def test_a_utf16_or_utf32_line_is_told_so(encoding: str, told: str) -> None:
    from engine.run.evaluate import parse_line

    text = '{"id": "x", "as_of": "2015-06-01T00:00:00Z"}\n{"id": "y", "as_of": "2015-06-01T00:00:00Z"}\n'
    for number, line in enumerate(("\ufeff" + text).encode(encoding).split(b"\n"), 1):
        _, problem = parse_line(line, "in.jsonl", number)
        if len(line.strip(b"\x00")) > 2:  # (a line's end: the NULs of the last character)
            assert problem is not None and problem.code == "BR103" and told in problem.message, (line, problem)
            assert f"iconv -f {told} -t UTF-8" in problem.hint


@pytest.mark.parametrize(
    ("line", "code", "column"),
    [
        (b'{"id": "a\x00b"}', "BR601", 10),  # a NUL in UTF-8 text: told where it is, not "UTF-16"
        (b'{"id": "a"}\x00\x00\x00', "BR601", 12),  # a line padded with NULs after a crash
        (b'{"id": "' + b"\x00" * 72 + b'"}', "BR601", 9),  # a field padded with NULs: not UTF-32
    ],
)
def test_a_nul_in_utf8_text_is_told_at_its_column(line: bytes, code: str, column: int) -> None:
    from engine.run.evaluate import parse_line

    _, problem = parse_line(line, "in.jsonl", 1)
    assert problem is not None and (problem.code, problem.column) == (code, column), problem
    assert "UTF-16" not in problem.message


# --- a billing run whose worker is killed from outside: not called a bug -----------------------


@pytest.mark.parametrize(
    ("exitcode", "killed", "said"),
    [
        (-9, True, "killed by SIGKILL"),
        (-15, True, "killed by SIGTERM"),
        (-11, False, "signal SIGSEGV"),
        (1, False, "exit code 1"),
    ],
)
def test_a_worker_killed_is_told_by_its_signal_and_a_crash_is_not(exitcode: int, killed: bool, said: str) -> None:
    from engine.run.shares import Shares, WorkerDied

    class Ended:
        def __init__(self) -> None:
            self.exitcode = exitcode

        def join(self, timeout: float) -> None:
            return None

    died = Shares._died(Ended())
    assert isinstance(died, WorkerDied) == killed and said in str(died), died


@pytest.mark.parametrize("kind", ["died", "broken"])
def test_a_run_whose_worker_is_killed_says_so_not_a_bug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: str
) -> None:
    from concurrent.futures.process import BrokenProcessPool

    import engine.run.runner
    from engine.run.shares import WorkerDied
    from tests.test_questions import run_cli

    def killed(*_args: Any, **_kwargs: Any) -> Any:
        raise (
            WorkerDied("a worker process ended (killed by SIGKILL) with shares in hand")
            if kind == "died"
            else BrokenProcessPool("x")
        )

    monkeypatch.setattr(engine.run.runner, "run", killed)
    nightly = str(REPO / "samples" / "run" / "nightly.jsonl")
    code, _out, err = run_cli(["run", "--rules", RULES, "--input", nightly, "--output", str(tmp_path / "o.jsonl")])
    assert code == 2 and "no output was written" in err and "out-of-memory killer" in err, err
    assert "bug" not in err and "internal error" not in err


# --- BR511: the amounts of money added as plain numbers ----------------------------------------


@pytest.mark.parametrize(
    ("when", "warned"),
    [
        ("sum(subscription.products.charge.amount) >= 100", True),
        ("max(usage.amount.amount) > 3", True),
        ("sum(a in subscription.products.charge.amount where a > 10) >= 100", True),
        ("sum(subscription.products.charge . amount) >= 100", True),  # (the same field, spaced)
        ("|-\n    sum(subscription.products.charge. # its amount\n    amount) >= 100", True),  # (a comment between)
        ('sum(subscription.products.charge where charge.currency == "EUR") >= 100.00 EUR', False),
        ("count(a in subscription.products.price.amount where a > 10) >= 1", False),  # counts, adds nothing
    ],
)
def test_amounts_of_money_added_as_numbers_are_a_warning(tmp_path: Path, when: str, warned: bool) -> None:
    from tests.test_questions import run_cli

    root = _rules_reading(tmp_path, when)
    code, out, err = run_cli(["validate", str(root)])
    assert code == 0, out + err  # a warning
    assert ("warning[BR511]" in out + err) == warned, out + err
    if warned:
        assert '.currency == "EUR")`' in out + err  # the money's own form, one currency kept


# --- a set written first, containing the scenario's list: told from the scenario's side --------


@pytest.mark.parametrize(
    ("when", "code", "text"),
    [
        (
            '{"vip"} contains account.segments',
            "not_within",
            # (the scenario's list in its own order, since 2026-12-02: it was shown sorted)
            "account segments: `vip`, `acme-staff`; the rule needs each to be one of `vip`",
        ),
        (
            'not {"vip", "acme-staff"} contains account.segments',
            "within_excluded",
            "account segments: `vip`, `acme-staff`; the rule needs one of them outside `acme-staff`, `vip`",
        ),
    ],
)
def test_a_set_containing_the_scenario_s_list_is_told_from_the_list(
    tmp_path: Path, when: str, code: str, text: str
) -> None:
    from engine import load_rules

    rules = load_rules(_rules_reading(tmp_path, f"'{when}'"))  # (quoted: YAML reads `{` as a mapping)
    bill = _bill("monthly", {"product": "tv-essentials"})
    bill["account"]["segments"] = ["vip", "acme-staff"]
    (reason,) = _status(rules.decide(bill), "big-bill-5")["reasons"]
    assert (reason["code"], reason["facts"]["subject"], reason["text"]) == (code, "account.segments", text), reason


def test_what_a_computed_value_lacks_is_not_carried_from_scenario_to_scenario(tmp_path: Path) -> None:
    """A usage left out and a usage of 0 leave the same quotient without a value; one RuleSet
    deciding both, in either order, names for each what it lacks (the first one's was kept)."""
    from engine import load_rules

    root = _rules_reading(tmp_path, "10 / subscription.concurrent_usage > 1")
    left_out = _bill("monthly", {"product": "tv-essentials"})
    zero = _bill("monthly", {"product": "tv-essentials"})
    zero["subscription"]["concurrent_usage"] = 0
    expected = {"left_out": "subscription.concurrent_usage", "zero": "10 / subscription.concurrent_usage"}
    for order in (("left_out", "zero"), ("zero", "left_out")):
        rules = load_rules(root)
        for name in order:
            (reason,) = _status(rules.decide({"left_out": left_out, "zero": zero}[name]), "big-bill-5")["reasons"]
            assert reason["facts"]["missing"] == expected[name], (order, name, reason)


@pytest.mark.parametrize("suffix", [".yaml", ".jsonl"])
def test_validate_scenarios_tells_an_unknown_purchase_plan_once_as_decide_does(tmp_path: Path, suffix: str) -> None:
    import json

    from tests.test_questions import run_cli

    data = {
        "id": "p",
        "as_of": "2015-03-20T16:00:00+01:00",
        "account": {"code": "A", "classification": "Residential"},
        "purchase": {"plan": "tv-premum-12", "add_ons": ["movies-bundle", "movies-bundle"], "payment_method": "card"},
    }
    path = tmp_path / f"p{suffix}"
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    code, out, err = run_cli(["validate", "--rules", RULES, "--scenarios", str(path)])
    said = out + err
    assert code == 1 and "BR603" not in said, said  # (BR603 and BR620 both named the plan)
    assert said.count("BR620") == 1 and said.count("BR621") == 1 and "2 problems" in said, said


def test_a_credit_s_failing_quantity_bound_points_at_its_own_line(tmp_path: Path) -> None:
    import shutil

    from engine import load_rules

    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    path = root / "credits" / "credit_types.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "unit: text messages\nmeasure: amount\n",
            "unit: text messages\nmeasure: amount\ncriteria:\n  quantity:\n    min: 2\n    max: 5\n",
            1,
        ),
        encoding="utf-8",
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    at = "2015-05-12T10:00:00+02:00"
    scenario = {
        "id": "scc",
        "as_of": "2015-05-12T16:00:00+02:00",
        "consumptions": [
            {"id": "R1", "organisation": "globex-fr", "credit_type": "sms-credits", "quantity": 10, "at": at},
            {"id": "R2", "organisation": "globex-fr", "credit_type": "sms-credits", "quantity": 1, "at": at},
        ],
    }
    refused = load_rules(root).decide(scenario)["credits"]["refused"]
    written = {
        r["request"]: lines[x["source"]["line"] - 1].strip()
        for r in refused
        for x in r["reasons"]
        if x["code"] == "criteria_not_met"
    }
    assert written == {"R1": "max: 5", "R2": "min: 2"}, written


def test_an_aggregate_over_a_list_the_scenario_lacks_names_the_list() -> None:
    """A job's bill has no subscription: `count(subscription.products)` lacks the products, as the
    quantifier over them says (it was named whole, as if computed from known facts)."""
    from engine.criteria.ast import Span
    from engine.criteria.check import check_condition
    from engine.criteria.environment import scenario_environment
    from engine.criteria.explain import Explainer
    from engine.criteria.parse import parse
    from engine.models.scenario import Scenario

    env = scenario_environment()
    job = Scenario.model_validate(
        {"id": "j", "as_of": "2015-06-15T10:00:00Z", "job": {"code": "J", "products": [{"product": "install"}]}}
    )
    for text in ("count(subscription.products) > 1", "max(subscription.products.quantity) > 1"):
        node = check_condition(parse(text, lambda b, e: Span("d.yaml", 1, 1 + b, 1 + e)), env)
        explainer = Explainer(env, job)
        assert explainer.explain(node) is None
        assert explainer.steps[-1].facts["missing"] == text.split("(")[1].split(")")[0]


def test_a_null_total_against_none_is_told_to_write_an_empty_mapping() -> None:
    from engine.expectations import compare

    (mismatch,) = compare({"cancellation": {"total": None}}, {"cancellation": {"total": {}}})
    assert "the decision has an empty mapping here" in mismatch.render()
    assert mismatch.hint == "write `total: {}` to expect none"


def test_billrules_test_on_json_lines_says_column_1_and_the_skipped_line(tmp_path: Path) -> None:
    import json

    from tests.test_questions import run_cli

    sample = (REPO / "samples" / "cancellation" / "pro_rata_penalty.yaml").read_text(encoding="utf-8")
    from engine.load import load_file

    path = tmp_path / "s.yaml"
    path.write_text(sample, encoding="utf-8")
    data = load_file(path).documents[0].data
    wrong = {**data, "expect": {"cancellation": {"total": {}}}}
    nothing = {**data, "expect": {}}
    lines = tmp_path / "t.jsonl"
    lines.write_text("\n".join(json.dumps(d, default=str) for d in (data, wrong, nothing)) + "\n", encoding="utf-8")
    code, out, err = run_cli(["test", "--rules", RULES, str(lines)])
    assert code == 1
    assert "t.jsonl:2:1: error[BR701]" in out + err, out + err
    assert "t.jsonl:3: nothing in `expect:` to check" in out + err, out + err


# --- one rule set shared by threads: memos read once, layouts numbered atomically --------------


def _nightly(count: int) -> list[dict[str, Any]]:
    import json

    lines = (REPO / "samples" / "run" / "nightly.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines[:count]]


def test_threads_numbering_date_layouts_at_once_give_each_its_own() -> None:
    """`len(self._shapes)` read, then `setdefault`: two threads could give two layouts one number,
    and one date's block was served for another's. The memo is slowed on purpose between the two."""
    import threading
    import time

    from engine import load_rules
    from engine.decide.decision import _evaluator

    class SlowLen(dict):  # type: ignore[type-arg]
        def __len__(self) -> int:
            n = super().__len__()
            time.sleep(0.0005)  # a thread switch between reading the length and storing it
            return n

    scenarios = _nightly(240)
    alone = load_rules(REPO / "rules").brief()
    expected = [alone.decide_json(s) for s in scenarios]
    shared = load_rules(REPO / "rules").brief()
    _evaluator(shared)._shapes = SlowLen()
    got: dict[int, Any] = {}

    def work(k: int) -> None:
        for i in range(k, len(scenarios), 8):
            got[i] = shared.decide_json(scenarios[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = list(_evaluator(shared)._shapes.values())
    assert len(numbers) == len(set(numbers))
    assert [got[i] for i in range(len(scenarios))] == expected


def test_a_coupon_memo_cleared_between_a_test_and_a_read_is_no_key_error() -> None:
    from engine import load_rules
    from engine.decide.purchases import _kept

    class ClearedOnRead(dict):  # type: ignore[type-arg]
        """Another thread clears the memo at its bound right after this one tested it."""

        def __contains__(self, key: object) -> bool:
            found = super().__contains__(key)
            self.clear()
            return found

    from engine.decide.scenarios import read_scenarios

    rules = load_rules(REPO / "rules")
    (item,) = list(read_scenarios(REPO / "samples" / "purchase" / "coupon_minus_20.yaml"))
    first = rules.decide(item.scenario)
    _kept(rules).coupons = ClearedOnRead(_kept(rules).coupons)
    _kept(rules).nearest = ClearedOnRead(_kept(rules).nearest)
    assert rules.decide(item.scenario) == first


def test_a_scenario_problem_of_either_kind_is_caught_as_one() -> None:
    from engine import ScenarioError, ScenarioInvalid, ScenarioProblem, load_rules

    rules = load_rules(REPO / "rules")
    with pytest.raises(ScenarioProblem) as invalid:
        rules.decide({"id": "x"})  # no `as_of`
    assert isinstance(invalid.value, ScenarioInvalid)
    assert invalid.value.code == "BR602" and "as_of" in invalid.value.message + invalid.value.field
    with pytest.raises(ScenarioProblem) as refused:
        rules.decide({"id": "x", "as_of": "2015-06-15T10:00:00Z"})  # asks nothing: BR604
    assert isinstance(refused.value, ScenarioError) and refused.value.code == "BR604"


def test_a_scenario_problem_pickles_and_names_its_field() -> None:
    """A service deciding in a process pool gets the exception back (it broke the pool: neither
    class unpickled); `field` is the scenario field for both kinds (it was empty for the schema's)."""
    import copy
    import pickle

    from engine import ScenarioError, ScenarioInvalid, ScenarioProblem, load_rules

    rules = load_rules(REPO / "rules")
    problems: list[ScenarioProblem] = []
    for data in ({"id": "x"}, {"id": "x", "as_of": "2015-06-15T10:00:00Z"}):
        try:
            rules.decide(data)
        except ScenarioProblem as exc:
            problems.append(exc)
    invalid, refused = problems
    assert isinstance(invalid, ScenarioInvalid) and invalid.field == "as_of"
    assert isinstance(refused, ScenarioError)
    for exc in problems:
        for again in (pickle.loads(pickle.dumps(exc)), copy.deepcopy(exc)):
            assert type(again) is type(exc)
            assert (again.code, again.field, again.message, again.hint) == (exc.code, exc.field, exc.message, exc.hint)
