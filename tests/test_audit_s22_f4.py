"""Audit s22, fixer f4: command line and billing-run I/O (closed, full and non-UTF-8 standard
streams, repeated options, unreadable inputs, targets that read as scenarios, rule documents
the folder walk skipped)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
SAMPLE = str(REPO / "samples" / "discounts" / "complaint_cap.yaml")
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"


def cli(
    args: list[str], *, env: dict[str, str] | None = None, shell: str = "", **kw: object
) -> subprocess.CompletedProcess[str]:
    """`python -m engine ARGS`, with `shell` redirections (`2>&-`) applied by a shell when given."""
    full_env = {**os.environ, **(env or {})}
    if shell:
        command = " ".join(_quote(a) for a in [sys.executable, "-m", "engine", *args]) + " " + shell
        return subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, cwd=REPO, env=full_env, timeout=120, **kw
        )  # type: ignore[call-overload]
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=full_env,
        timeout=120,
        **kw,  # type: ignore[arg-type]
    )


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _lines(path: Path, count: int) -> Path:
    with NIGHTLY.open("rb") as src:
        path.write_bytes(b"".join(next(src) for _ in range(count)))
    return path


# F4: closed or full standard streams


def test_run_with_stderr_closed_commits_and_exits_0(tmp_path: Path) -> None:
    src = _lines(tmp_path / "in.jsonl", 30)
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        done = cli(
            ["run", "--rules", RULES, "--input", str(src), "--output", str(out), "--workers", workers], shell="2>&-"
        )
        assert done.returncode == 0, done
        assert len(out.read_bytes().splitlines()) == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out1.jsonl", "out2.jsonl"]  # no parts folder


def test_run_with_stderr_full_commits_and_exits_0(tmp_path: Path) -> None:
    src = _lines(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.jsonl"
    done = cli(
        ["run", "--rules", RULES, "--input", str(src), "--output", str(out), "--workers", "2"], shell="2>/dev/full"
    )
    assert done.returncode == 0, done
    assert len(out.read_bytes().splitlines()) == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_run_to_a_file_with_stdout_closed_exits_0(tmp_path: Path) -> None:
    src = _lines(tmp_path / "in.jsonl", 10)
    out = tmp_path / "out.jsonl"
    done = cli(["run", "--rules", RULES, "--input", str(src), "--output", str(out)], shell=">&-")
    assert done.returncode == 0, done.stderr
    assert "10 scenarios in, 10 decisions out" in done.stderr
    assert len(out.read_bytes().splitlines()) == 10


def test_decide_with_stdout_closed_cannot_write_the_output() -> None:
    done = cli(["decide", "--rules", RULES, SAMPLE], shell=">&-")
    assert done.returncode == 2
    assert done.stderr == "billrules: error: cannot write the output: standard output is closed\n"
    for args in (["schema"], ["run", "--rules", RULES, "--input", str(NIGHTLY), "--output", "-"]):
        done = cli(args, shell=">&-")
        assert done.returncode == 2
        assert "cannot write the output: standard output is closed" in done.stderr
        assert "internal error" not in done.stderr


def test_decide_with_both_closed_exits_2_without_a_traceback() -> None:
    done = cli(["decide", "--rules", RULES, SAMPLE], shell=">&- 2>&-")
    assert done.returncode == 2
    assert done.stdout == ""


def test_run_from_closed_stdin_cannot_read_the_input(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    done = cli(["run", "--rules", RULES, "--input", "-", "--output", str(out)], shell="<&-")
    assert done.returncode == 2
    assert "cannot read the input: standard input is closed; no output was written" in done.stderr
    assert out.read_text() == "previous\n"


# F8: an output encoding that is not UTF-8


def test_decide_and_diff_text_with_an_ascii_encoding(tmp_path: Path) -> None:
    import shutil

    changed = tmp_path / "rules"
    shutil.copytree(RULES, changed)
    care = changed / "discounts" / "customer_care.yaml"
    care.write_text(care.read_text().replace("cap: 20.00 EUR", "cap: 25.00 EUR"))
    env = {"PYTHONIOENCODING": "ascii"}
    done = cli(["decide", "--rules", RULES, "--explain", SAMPLE], env=env)
    assert done.returncode == 0, done.stderr
    assert "\\u2717" in done.stdout or "\\u2713" in done.stdout
    assert "internal error" not in done.stderr
    done = cli(["decide", "--rules", RULES, SAMPLE], env={"PYTHONIOENCODING": "latin-1"})
    assert done.returncode == 0, done.stderr
    done = cli(
        ["diff", "--rules", RULES, "--rules", str(changed), "--input", str(REPO / "samples" / "discounts")], env=env
    )
    assert "internal error" not in done.stderr
    assert done.returncode in (0, 1), done.stderr
    assert "\\u2192" in done.stdout


# F1: an option of one value given twice


def test_an_option_given_twice_is_a_usage_error(tmp_path: Path) -> None:
    a = _lines(tmp_path / "a.jsonl", 3)
    b = tmp_path / "b.jsonl"
    b.write_bytes(a.read_bytes())
    out, other = tmp_path / "o1.jsonl", tmp_path / "o2.jsonl"
    run = ["run", "--rules", RULES]
    cases = [
        ([*run, "--input", str(a), "--input", str(b), "--output", str(out)], "`--input` given twice"),
        ([*run, "--input", str(a), "--output", str(out), "--output", str(other)], "`--output` given twice"),
        ([*run, "--input", str(a), "--output", str(out), "--errors", "e1.jsonl", "--errors", "e2.jsonl"], "`--errors`"),
        ([*run, "--input", str(a), "--output=" + str(out), "--output", str(other)], "`--output` given twice"),
        (["decide", "--rules", "/nonexistent", "--rules", RULES, SAMPLE], "`--rules` given twice"),
        (
            [*run, "--input", str(a), "--output", str(out), "--progress", "--no-progress"],
            "`--progress` and `--no-progress` given together",
        ),
        (["schema", "--write", str(tmp_path / "s"), "--kind", "term"], "--kind chooses what to print"),
        (["schema", "--write", str(tmp_path / "s"), "--json"], "--json chooses what to print"),
    ]
    for args, said in cases:
        done = cli(args)
        assert done.returncode == 2, (args, done.stderr)
        assert said in done.stderr, (args, done.stderr)
    assert not out.exists() and not other.exists() and not (tmp_path / "s").exists()


def test_options_meant_to_repeat_still_do(tmp_path: Path) -> None:
    done = cli(["diff", "--rules", RULES, "--rules", RULES, "--input", SAMPLE])
    assert done.returncode == 0, done.stderr
    assert cli(["decide", "--json", "--json", "--rules", RULES, SAMPLE]).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(SAMPLE).read_text().replace("as_of:", "as_of_typo:", 1))
    done = cli(["validate", "--rules", RULES, "--scenarios", str(bad), "--scenarios", SAMPLE])
    assert done.returncode == 1, done  # both lists checked: the first was dropped until 2026-12-03
    assert "bad.yaml" in done.stdout


# F11: an input whose size reads 0, or whose read fails


def test_an_input_whose_read_fails_keeps_the_previous_output(tmp_path: Path) -> None:
    mem = tmp_path / "mem.jsonl"
    mem.symlink_to("/proc/self/mem")  # its size reads 0 and its read fails (EIO)
    out = tmp_path / "out.jsonl"
    for workers in ("1", "2"):
        out.write_text("previous\n")
        done = cli(["run", "--rules", RULES, "--input", str(mem), "--output", str(out), "--workers", workers])
        assert done.returncode == 2, (workers, done.stderr)
        assert "cannot read the input: Input/output error; no output was written" in done.stderr
        assert out.read_text() == "previous\n"


def test_an_input_whose_size_reads_0_is_read_whole_by_every_worker_count(tmp_path: Path) -> None:
    status = tmp_path / "status.jsonl"
    status.symlink_to("/proc/self/status")  # lines of text (each an error record), size 0
    outputs = []
    for workers in ("1", "2"):
        out, errors = tmp_path / f"o{workers}.jsonl", tmp_path / f"e{workers}.jsonl"
        run = ["run", "--rules", RULES, "--input", str(status), "--output", str(out), "--errors", str(errors)]
        done = cli([*run, "--workers", workers])
        assert done.returncode == 1, done.stderr
        assert "0 scenarios in" not in done.stderr
        outputs.append(len(errors.read_bytes().splitlines()))
    assert outputs[0] > 10 and outputs[0] == outputs[1]


def test_a_share_boundary_read_error_names_the_input(tmp_path: Path) -> None:
    import errno

    import pytest

    from engine.run.shares import Splitter

    src = _lines(tmp_path / "in.jsonl", 5)
    splitter = Splitter(str(src), 2)

    def fail(size: int = -1) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    splitter.file.read = fail  # type: ignore[method-assign]
    try:
        with pytest.raises(OSError, match="cannot read the input: Input/output error") as caught:
            splitter.next()
        assert caught.value.filename == str(src)
    finally:
        splitter.close()


# F12: a report written over a file that holds scenarios, expectations or rules


def test_reports_do_not_replace_scenarios_expectations_or_rules(tmp_path: Path) -> None:
    import json

    src = _lines(tmp_path / "in.jsonl", 3)
    scenario = json.loads(src.read_bytes().splitlines()[0])
    files = {
        "scenario.json": (json.dumps(scenario), "a scenario (`id`, `as_of`)"),
        "expect.json": (json.dumps({**scenario, "expect": {"balance": []}}), "an expectation (`expect`)"),
        "rule.json": (json.dumps({"kind": "product", "code": "zz"}), "a rule document (`kind`)"),
    }
    out = tmp_path / "out.jsonl"
    for name, (text, holds) in files.items():
        target = tmp_path / name
        target.write_text(text)
        commands = (
            ["run", "--rules", RULES, "--input", str(src), "--output", str(out), "--summary", str(target)],
            ["test", "--rules", RULES, str(REPO / "samples" / "credits"), "--coverage-json", str(target)],
        )
        for args in commands:
            done = cli(args)
            assert done.returncode == 2, (args, done.stderr)
            assert f"holds {holds}, which it would replace" in done.stderr
            assert target.read_text() == text
    scenarios = tmp_path / "other.jsonl"
    scenarios.write_bytes(NIGHTLY.read_bytes()[:20000])
    kept = scenarios.read_bytes()
    for option in ("--output", "--errors"):
        args = ["run", "--rules", RULES, "--input", str(src), "--output", str(out), option, str(scenarios)]
        if option == "--output":
            args = ["run", "--rules", RULES, "--input", str(src), "--output", str(scenarios)]
        done = cli(args)
        assert done.returncode == 2, done.stderr
        assert "its first line is a scenario (`id`, `as_of`), which it would replace" in done.stderr
        assert scenarios.read_bytes() == kept


def test_reports_still_replace_their_own_files(tmp_path: Path) -> None:
    src = _lines(tmp_path / "in.jsonl", 3)
    out, errors, summary = tmp_path / "out.jsonl", tmp_path / "e.jsonl", tmp_path / "s.json"
    run = ["run", "--rules", RULES, "--input", str(src), "--output", str(out), "--errors", str(errors)]
    for _ in range(2):
        done = cli([*run, "--summary", str(summary)])
        assert done.returncode == 0, done.stderr
    coverage = tmp_path / "cov.json"
    for _ in range(2):
        done = cli(["test", "--rules", RULES, str(REPO / "samples" / "credits"), "--coverage-json", str(coverage)])
        assert done.returncode == 0, done.stderr


# F5: `decide --only CODE` on a scenario that asks no discount question


def test_only_on_a_scenario_without_a_discount_question_says_so() -> None:
    balance = str(REPO / "samples" / "balance" / "seed_004_example.yaml")
    for extra in ([], ["--json"]):
        done = cli(["decide", *extra, "--rules", RULES, "--only", "loyalty-5", balance])
        assert done.returncode == 1, done.stderr
        assert "asks no discount question (of a subscription or a job): `--only loyalty-5` has nothing to show" in (
            done.stderr
        )
    done = cli(["decide", "--rules", RULES, "--only", "loyalty-5", SAMPLE])
    assert done.returncode == 0, done.stderr
    assert "loyalty-5" in done.stdout and done.stderr == ""


# F6: CR-only line ends


def test_cr_only_line_ends_are_named(tmp_path: Path) -> None:
    src = tmp_path / "cr.jsonl"
    src.write_bytes(b"\r".join(NIGHTLY.read_bytes().splitlines()[:3]) + b"\r")
    out, errors = tmp_path / "out.jsonl", tmp_path / "e.jsonl"
    done = cli(["run", "--rules", RULES, "--input", str(src), "--output", str(out), "--errors", str(errors)])
    assert done.returncode == 1
    import json

    (record,) = [json.loads(line) for line in errors.read_text().splitlines()]
    (diagnostic,) = record["diagnostics"]
    assert diagnostic["code"] == "BR601"
    assert "carriage returns (`\\r`) between its parts: lines end at `\\n` only" in diagnostic["message"]
    assert "old Mac line ends" in diagnostic["hint"]


# F9: wording


def test_a_rules_file_and_stdin_are_named_for_what_they_are() -> None:
    done = cli(["decide", "--rules", str(REPO / "rules" / "ruleset.yaml"), SAMPLE])
    assert done.returncode == 2
    assert "ruleset.yaml is a file: give the rule set's folder" in done.stderr
    done = cli(["decide", "--rules", RULES, "-"])
    assert done.returncode == 2
    assert "not standard input (`-`)" in done.stderr
    done = cli(["diff", "--rules", RULES, "--rules", RULES, "--input", "-"])
    assert done.returncode == 2
    assert "not standard input (`-`)" in done.stderr


# F7: SIGTERM while the errors file (a FIFO with no reader) is opened


def test_sigterm_while_opening_a_fifo_leaves_no_parts_folder(tmp_path: Path) -> None:
    src = _lines(tmp_path / "in.jsonl", 20)
    fifo = tmp_path / "errors.jsonl"
    os.mkfifo(fifo)
    out = tmp_path / "out.jsonl"
    args = ["run", "--rules", RULES, "--input", str(src), "--output", str(out), "--errors", str(fifo), "--workers", "2"]
    done = subprocess.run(
        ["timeout", "4", sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 124  # (timeout's code for a command it stopped by SIGTERM)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["errors.jsonl", "in.jsonl"]


def test_a_second_stop_during_the_clean_up_leaves_no_parts_folder(tmp_path: Path) -> None:
    """`timeout` sends SIGTERM to the run and then to its process group: the second came while the
    first was cleaned up, and the parts folder stayed (made deterministic here: the first stop
    while the errors file opens, the second sent as the workers are closed)."""
    import signal

    import pytest

    from engine.ruleset import load_rules
    from engine.run import runner
    from engine.run.shares import Shares

    patch = pytest.MonkeyPatch()
    src = _lines(tmp_path / "in.jsonl", 20)
    errors = tmp_path / "errors.jsonl"
    real_sink, real_close = runner.LinesSink, Shares.close

    def sink(name: str, *args: object) -> object:
        if name == str(errors):
            raise KeyboardInterrupt  # the first stop, as an open of a FIFO with no reader takes it
        return real_sink(name, *args)  # type: ignore[arg-type]

    def close(self: Shares) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # the second stop, while the run cleans up
        real_close(self)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    patch.setattr(runner, "LinesSink", sink)
    patch.setattr(Shares, "close", close)
    try:
        options = runner.RunOptions(input=str(src), output=str(tmp_path / "out.jsonl"), errors=str(errors), workers=2)
        with pytest.raises(KeyboardInterrupt):
            runner.run(load_rules(RULES), options)
    finally:
        patch.undo()
        signal.signal(signal.SIGTERM, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_validate_and_diff_name_an_unreadable_input_as_the_input(tmp_path: Path) -> None:
    mem = tmp_path / "mem.jsonl"
    mem.symlink_to("/proc/self/mem")
    for args in (
        ["validate", "--rules", RULES, "--scenarios", str(mem)],
        ["diff", "--rules", RULES, "--rules", RULES, "--input", str(mem)],
    ):
        done = cli(args)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"billrules: error: cannot read the input {mem}: Input/output error\n"


def test_a_parquet_file_of_decisions_is_not_read_as_scenarios(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("pyarrow")
    src = _lines(tmp_path / "in.jsonl", 5)
    decisions = tmp_path / "decisions.parquet"
    assert cli(["run", "--rules", RULES, "--input", str(src), "--output", str(decisions)]).returncode == 0
    done = cli(["run", "--rules", RULES, "--input", str(decisions), "--output", str(tmp_path / "x.jsonl")])
    assert done.returncode == 2
    assert "it holds decisions, as `billrules run` writes them" in done.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_a_gzip_input_is_named_as_compressed(tmp_path: Path) -> None:
    import gzip

    data = gzip.compress(_lines(tmp_path / "in.jsonl", 5).read_bytes())
    (tmp_path / "gz.jsonl").write_bytes(data)
    (tmp_path / "in.jsonl.gz").write_bytes(data)
    for name, said in (("gz.jsonl", "is gzip-compressed, not JSON Lines"), ("in.jsonl.gz", "is compressed (.gz)")):
        for workers in ("1", "2"):
            args = ["run", "--rules", RULES, "--input", str(tmp_path / name), "--output", str(tmp_path / "o.jsonl")]
            done = cli([*args, "--workers", workers])
            assert done.returncode == 2, done.stderr
            assert said in done.stderr and "zcat" in done.stderr
    assert not (tmp_path / "o.jsonl").exists()
