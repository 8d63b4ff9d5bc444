"""`billrules run`: a billing run decides every scenario, in order, loses none, and writes atomically."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine.cli.main import main
from engine.cli.safe_text import json_safe
from engine.decide.decision import decide, to_json
from engine.decide.scenarios import validate_scenario
from engine.ruleset import RuleSet, load_rules
from engine.run import RunOptions, run
from engine.run.atomic import AtomicFile

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"
sys.path.insert(0, str(REPO / "samples" / "run"))

from generate import lines as generated_lines  # noqa: E402


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES).brief()  # a run decides with brief reasons unless --detailed-reasons


@pytest.fixture(scope="module")
def sample_lines() -> list[str]:
    """300 scenarios of the shipped nightly input: every question kind."""
    return NIGHTLY.read_text(encoding="utf-8").splitlines()[:300]


def one_by_one(rules: RuleSet, lines: list[str]) -> str:
    """The expected output: each line decided on its own with `decide`, canonical JSON, one a line."""
    out = []
    for line in lines:
        checked = validate_scenario(json.loads(line), None)
        assert not checked.diagnostics
        out.append(json_safe(to_json(decide(rules, checked.scenario))) + "\n")
    return "".join(out)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def summary_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_shipped_nightly_input_is_every_question_and_clean(rules: RuleSet, tmp_path: Path) -> None:
    asked = set()
    for line in NIGHTLY.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        asked |= {
            k for k in ("subscription", "job", "consumptions", "balance", "cancellation", "purchase") if k in data
        }
    assert asked == {"subscription", "job", "consumptions", "balance", "cancellation", "purchase"}
    assert NIGHTLY.read_text(encoding="utf-8") == "".join(line + "\n" for line in generated_lines(2000))


@pytest.mark.parametrize("workers", [1, 2])
def test_run_equals_decide_one_by_one(rules: RuleSet, sample_lines: list[str], tmp_path: Path, workers: int) -> None:
    source = write(tmp_path / "in.jsonl", sample_lines)
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    summary = run(
        rules,
        RunOptions(str(source), str(output), errors=str(errors), workers=workers, chunk_size=16, progress=False),
    )
    assert output.read_text(encoding="utf-8") == one_by_one(rules, sample_lines)  # byte for byte, in order
    assert errors.read_text(encoding="utf-8") == ""
    assert (summary.scenarios, summary.decisions, summary.errors) == (300, 300, 0)
    assert summary.workers == workers and summary.balanced
    assert all(
        json.loads(line)["rules_version"] == rules.rules_version
        for line in output.read_text(encoding="utf-8").splitlines()
    )


BAD = {
    "not json": '{"id": "x", "as_of": ',
    "not an object": '["id", "as_of"]',
    "invalid": '{"id": "bad-field", "as_of": "2015-07-01T00:00:00Z", "subscriptoin": {}}',
    "unknown product": None,  # built from a sample below
    "asks nothing": '{"id": "nothing-asked", "as_of": "2015-07-01T00:00:00Z"}',
    "duplicate key": '{"id": "dup", "id": "dup2", "as_of": "2015-07-01T00:00:00Z"}',
    "nested duplicate": '{"id": "dup3", "as_of": "2015-07-01T00:00:00Z", "account": {"code": "A", "code": "B"}}',
    "id twice after another": '{"id": "x", "as_of": "2015-07-01T00:00:00Z", "as_of": "2015-07-02T00:00:00Z", "id": "y"}',
    "too deep": '{"id": "deep", "as_of": "2015-07-01T00:00:00Z", "z": ' + "[" * 300 + "]" * 300 + "}",
}


def bad_input(sample_lines: list[str]) -> tuple[list[str], dict[int, str]]:
    """Good lines with one bad line of each kind (and a blank line) mixed in; {line number: kind}."""
    with_product = next(line for line in sample_lines if '"products":[{"product":"tv-essentials"' in line)
    unknown = json.loads(with_product)
    unknown["id"] = "unknown-product"
    unknown["subscription"]["products"][0]["product"] = "tv-essentails"
    lines, where = list(sample_lines[:60]), {}
    for i, (kind, text) in enumerate(BAD.items()):
        lines.insert(3 + 6 * i, text if text is not None else json.dumps(unknown))
        where[3 + 6 * i + 1] = kind
    lines.insert(20, "")  # a blank line: not a scenario, but lines keep their numbers
    return lines, {(n + 1 if n > 20 else n): kind for n, kind in where.items()}


@pytest.mark.parametrize("workers", [1, 2])
def test_each_bad_scenario_is_an_error_record_and_the_rest_are_decided(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path, workers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, where = bad_input(sample_lines)
    source = write(tmp_path / "in.jsonl", lines)
    output, errors, summary = tmp_path / "out.jsonl", tmp_path / "errors.jsonl", tmp_path / "summary.json"
    files = ["--input", str(source), "--output", str(output), "--errors", str(errors), "--summary", str(summary)]
    code = main(["run", "--rules", RULES, *files, "--workers", str(workers), "--chunk-size", "7"])
    assert code == 1
    records = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert {r["line"]: r for r in records}.keys() == where.keys()
    by_kind = {where[r["line"]]: r for r in records}
    assert by_kind["not json"]["scenario"] is None
    assert by_kind["not json"]["diagnostics"][0]["code"] == "BR601"
    assert "not JSON" in by_kind["not json"]["diagnostics"][0]["message"]
    assert by_kind["not an object"]["diagnostics"][0]["code"] == "BR601"
    assert "array" in by_kind["not an object"]["diagnostics"][0]["message"]
    invalid = by_kind["invalid"]
    assert invalid["scenario"] == "bad-field"
    assert invalid["diagnostics"][0] | {"message": ""} == {
        "code": "BR602",
        "field": "subscriptoin",
        "column": 0,
        "message": "",
        "hint": "did you mean `subscription`?",
    }
    unknown = by_kind["unknown product"]
    assert unknown["scenario"] == "unknown-product"
    assert unknown["diagnostics"][0]["code"] == "BR603"
    assert unknown["diagnostics"][0]["field"] == "subscription.products[0].product"
    assert by_kind["asks nothing"]["diagnostics"][0]["code"] == "BR604"
    assert by_kind["duplicate key"]["diagnostics"][0]["code"] == "BR105"
    assert by_kind["duplicate key"]["scenario"] is None  # which of the two ids?
    nested = by_kind["nested duplicate"]
    assert (nested["scenario"], nested["diagnostics"][0]["code"]) == ("dup3", "BR105")
    assert nested["diagnostics"][0]["field"] == "account.code"
    assert (by_kind["too deep"]["scenario"], by_kind["too deep"]["diagnostics"][0]["code"]) == ("deep", "BR107")
    twice = by_kind["id twice after another"]  # `as_of` is reported, and still no id is guessed
    assert (twice["scenario"], twice["diagnostics"][0]["field"]) == (None, "as_of")
    good = [line for n, line in enumerate(lines, 1) if n not in where and line]
    assert output.read_text(encoding="utf-8") == one_by_one(rules, good)
    stats = summary_of(summary)
    assert stats["scenarios"] == len(good) + len(where) == stats["decisions"] + stats["errors"]
    assert stats["errors"] == len(where) and stats["balanced"] and stats["complete"]
    err = capsys.readouterr().err
    assert f"{len(good) + len(where):,} scenarios in, {len(good):,} decisions out, {len(where)} errors" in err
    assert "every scenario accounted for" in err and rules.rules_version in err


def test_without_an_errors_file_errors_are_diagnostics_on_stderr(
    sample_lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "in.jsonl", [sample_lines[0], '{"id": "x\\u001b[2J", "as_of": 5}', sample_lines[1]])
    code = main(["run", "--rules", RULES, "--input", str(source), "--output", "-", "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 1
    assert len(captured.out.splitlines()) == 2  # stdout streams the two decisions
    assert f"{source}:2:1: error[BR602] scenario `x\\x1b[2J`, field `as_of`:" in captured.err
    assert "\x1b" not in captured.err  # the scenario id is escaped: no input drives the terminal
    assert "3 scenarios in, 2 decisions out, 1 error;" in captured.err


@pytest.mark.parametrize("workers", [1, 2])  # 2: the long line is cut by a worker reading its own share
def test_invalid_utf8_and_a_line_too_long(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path, workers: int
) -> None:
    from engine.run import evaluate

    source = tmp_path / "in.jsonl"
    too_long = b'{"id": "' + b"x" * evaluate.MAX_LINE_BYTES + b'", "as_of": "2015-07-01T00:00:00Z"}'
    source.write_bytes(b'{"id": "caf\xe9"}\n' + too_long + b"\n" + sample_lines[0].encode() + b"\n")
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    summary = run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=workers, progress=False))
    records = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["diagnostics"][0]["code"]) for r in records] == [(1, "BR103"), (2, "BR601")]
    assert "longer than the limit" in records[1]["diagnostics"][0]["message"]
    assert (summary.scenarios, summary.decisions, summary.errors) == (3, 1, 2)
    assert json.loads(output.read_text(encoding="utf-8"))["scenario"] == json.loads(sample_lines[0])["id"]


def test_max_errors_stops_the_run_with_a_message(
    sample_lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(sample_lines[:30])
    for n in (5, 10, 15, 20):
        lines[n - 1] = "not json"
    source = write(tmp_path / "in.jsonl", lines)
    output, errors, summary = tmp_path / "out.jsonl", tmp_path / "errors.jsonl", tmp_path / "summary.json"
    files = ["--input", str(source), "--output", str(output), "--errors", str(errors), "--summary", str(summary)]
    code = main(["run", "--rules", RULES, *files, "--max-errors", "2", "--workers", "2", "--chunk-size", "4"])
    assert code == 1
    assert "the run stopped early: 2 errors reached the limit (--max-errors) at line 10" in capsys.readouterr().err
    assert [json.loads(r)["line"] for r in errors.read_text(encoding="utf-8").splitlines()] == [5, 10]
    assert len(output.read_text(encoding="utf-8").splitlines()) == 8  # lines 1-9 but 5
    stats = summary_of(summary)
    assert (stats["scenarios"], stats["decisions"], stats["errors"], stats["complete"]) == (10, 8, 2, False)


def test_stdin_to_stdout_streams(sample_lines: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--rules", RULES, "--input", "-", "--output", "-", "--workers", "1"],
        input="\n".join(sample_lines[:5]) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["scenario"] for line in result.stdout.splitlines()] == [
        json.loads(line)["id"] for line in sample_lines[:5]
    ]
    assert "5 scenarios in, 5 decisions out, 0 errors" in result.stderr
    assert "\x1b" not in result.stderr  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "in.txt", "--output", "out.jsonl"], "cannot tell the format of `in.txt`"),
        (["--input", "missing.jsonl", "--output", "out.jsonl"], "no such input file"),
        (["--input", "in.jsonl", "--output", "-", "--format", "parquet"], "Parquet cannot stream"),
        (["--input", "in.jsonl", "--output", "out.jsonl", "--workers", "0"], "expected a whole number ≥ 1"),
        (["--input", "in.jsonl", "--output", "nowhere/out.jsonl"], "no such folder"),
        (["--input", "in.jsonl", "--output", "o.jsonl", "--workers", "2", "--dask", "x:1"], "with --dask"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "in.txt").write_text("{}\n", encoding="utf-8")
    assert main(["run", "--rules", RULES, *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_rules_with_errors_exit_1_with_diagnostics(
    ruleset: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ruleset({"products.yaml": "kind: product\ncode: p\nname: P\ntype: termed\npirce: 1.00 EUR\n"})
    (tmp_path / "in.jsonl").write_text("{}\n", encoding="utf-8")
    assert main(["run", "--rules", str(root), "--input", "in.jsonl", "--output", "out.jsonl"]) == 1
    assert "error[BR201]" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_atomic_file_keeps_the_previous_file_until_commit(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"previous\n")
    with pytest.raises(RuntimeError), AtomicFile(target) as out:
        out.file.write(b"half")
        assert target.read_bytes() == b"previous\n"
        raise RuntimeError("killed")
    assert target.read_bytes() == b"previous\n"
    assert list(tmp_path.iterdir()) == [target]  # the temporary is gone
    with AtomicFile(target) as out:
        out.file.write(b"new\n")
    assert target.read_bytes() == b"new\n" and list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("previous", [False, True])
def test_a_run_killed_midway_leaves_no_torn_output(tmp_path: Path, previous: bool) -> None:
    source = tmp_path / "big.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for line in generated_lines(30_000):
            out.write(line + "\n")
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    if previous:
        output.write_bytes(b'{"previous": "complete"}\n')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "engine", "run", "--rules", RULES, "--input", str(source)]
    command += ["--output", str(output), "--errors", str(errors), "--workers", "2", "--chunk-size", "50"]
    process = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".out.jsonl.") for p in tmp_path.iterdir()):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        partial = next(p for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl."))
        while partial.stat().st_size < 200_000:  # midway: decisions are being written
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the run and its workers, at once
        process.wait()
    if previous:
        assert output.read_bytes() == b'{"previous": "complete"}\n'
    else:
        assert not output.exists()
    assert not errors.exists()


@pytest.mark.parametrize("workers", ["1", "2"])  # 2: the workers read their own shares and report per share
def test_a_progress_bar_on_a_terminal_only(tmp_path: Path, workers: str) -> None:
    """stderr a terminal (a pseudo-terminal here): the bar shows scenarios/s, errors and the ETA."""
    import pty
    import select

    master, terminal = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    command = [sys.executable, "-m", "engine", "run", "--rules", RULES, "--input", str(NIGHTLY)]
    command += ["--output", str(tmp_path / "out.jsonl"), "--workers", workers, "--chunk-size", "20"]
    process = subprocess.Popen(command, stderr=terminal, stdout=subprocess.DEVNULL, env=env)
    os.close(terminal)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the run is over
                break
            if not data:
                break
            shown += data
        elif process.poll() is not None:
            break
    os.close(master)
    assert process.wait(timeout=60) == 0
    text = shown.decode("utf-8", "replace")
    assert "scenarios" in text and "/s" in text and "0 errors" in text and "ETA" in text
    assert "2,000 scenarios in, 2,000 decisions out, 0 errors" in text


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8")
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_big_run(tmp_path: Path, stderr: int = subprocess.DEVNULL) -> tuple[subprocess.Popen[bytes], Path]:
    source = tmp_path / "big.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for line in generated_lines(20_000):
            out.write(line + "\n")
    output = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "engine", "run", "--rules", RULES, "--input", str(source)]
    command += ["--output", str(output), "--workers", "2", "--chunk-size", "50"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, env=env, start_new_session=True, stderr=stderr)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".out.jsonl.") and p.stat().st_size for p in tmp_path.iterdir()):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    return process, output


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_workers_do_not_outlive_a_killed_run(tmp_path: Path) -> None:
    process, _ = _start_big_run(tmp_path)
    workers = _children(process.pid)
    try:
        assert len(workers) >= 2
        process.kill()  # the run only, not its workers
        process.wait()
        deadline = time.monotonic() + 30
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(w) for w in workers)
    finally:
        os.killpg(process.pid, signal.SIGKILL) if any(_running(w) for w in workers) else None


def test_sigterm_ends_a_run_cleanly(tmp_path: Path) -> None:
    process, output = _start_big_run(tmp_path, subprocess.PIPE)
    try:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert b"billrules: interrupted" in stderr and b"Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl"]  # no output, no temporary left
    assert not output.exists()


def test_a_lost_scenario_is_an_internal_error_and_nothing_is_written(
    sample_lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import engine.run.pool as pool

    def dropping(rules: Any, chunk: Any, source: str = "<input>") -> Any:
        result = decide_chunk(rules, chunk, source)
        result.decisions.pop()  # a bug that loses one decision
        return result

    from engine.run.evaluate import decide_chunk

    monkeypatch.setattr(pool, "decide_chunk", dropping)
    source = write(tmp_path / "in.jsonl", sample_lines[:10])
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    output.write_bytes(b"previous\n")
    files = ["--input", str(source), "--output", str(output), "--errors", str(errors)]
    assert main(["run", "--rules", RULES, *files, "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "internal error: scenarios lost: the chunk from line 1 had 10 scenarios; 9 decisions and 0 errors" in err
    assert output.read_bytes() == b"previous\n" and not errors.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


@pytest.mark.parametrize("workers", [1, 2])
def test_run_applied_only_writes_what_decide_applied_only_writes(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path, workers: int
) -> None:
    """`run --applied-only`: each line is `decide --json --brief-reasons --applied-only`'s, and
    much smaller than the full decision."""
    source = write(tmp_path / "in.jsonl", sample_lines[:60])
    full, compact = tmp_path / "full.jsonl", tmp_path / "compact.jsonl"
    for output, extra in ((full, []), (compact, ["--applied-only"])):
        args = ["run", "--rules", RULES, "--input", str(source), "--output", str(output), "--workers", str(workers)]
        assert main([*args, *extra]) == 0
    assert compact.read_text(encoding="utf-8") == one_by_one(rules.applied_only(), sample_lines[:60])
    assert compact.stat().st_size < full.stat().st_size / 2
    assert any('"omitted":{"not_effective":' in line for line in compact.read_text(encoding="utf-8").splitlines())


def test_progress_forces_the_bar_where_stderr_is_no_terminal() -> None:
    """README: `--progress` forces it (into a log, say); without it a pipe gets nothing of it."""
    import io

    from engine.run.progress import progress_for

    forced, plain = io.StringIO(), io.StringIO()
    for stream, wanted in ((forced, True), (plain, None)):
        bar = progress_for(stream, 100, "bytes", wanted=wanted)
        bar.update(5, 1, 50)
        bar.close()
    assert "5 scenarios" in forced.getvalue() and "1 errors" in forced.getvalue()
    assert plain.getvalue() == ""


def test_a_null_or_empty_parquet_scenario_is_an_error_record_not_dropped(tmp_path: Path) -> None:
    """Scenarios in = decisions out + errors out: a row of the `scenario` column that is null or
    empty was skipped like a blank line and counted nowhere."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    lines = NIGHTLY.read_text(encoding="utf-8").splitlines()
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"scenario": pa.array([lines[0], None, "", lines[1]], pa.string())}), source)
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    summary = run(
        load_rules(RULES), RunOptions(str(source), str(output), errors=str(errors), workers=1, progress=False)
    )
    assert (summary.scenarios, summary.decisions, summary.errors) == (4, 2, 2)
    records = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["diagnostics"][0]["code"]) for r in records] == [(2, "BR601"), (3, "BR601")]


def test_the_files_a_run_writes_get_the_modes_new_files_get(tmp_path: Path) -> None:
    """Written under a temporary name (mkstemp: 0600) and renamed: the umask's mode, as `open` gives."""
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    run(load_rules(RULES), RunOptions(str(NIGHTLY), str(output), errors=str(errors), workers=1, progress=False))
    mask = os.umask(0)
    os.umask(mask)
    assert (output.stat().st_mode & 0o777, errors.stat().st_mode & 0o777) == (0o666 & ~mask, 0o666 & ~mask)


# --- where a run writes: links written through, pipes and devices not replaced, no file twice ------


def test_an_output_link_is_written_through_and_a_pipe_is_fed_not_replaced(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path
) -> None:
    import os
    import threading

    source = write(tmp_path / "in.jsonl", sample_lines[:5])
    real = tmp_path / "real.jsonl"
    real.write_text("old\n", encoding="utf-8")
    (tmp_path / "link.jsonl").symlink_to(real)
    pipe = tmp_path / "errors.jsonl"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    args = ["run", "--rules", RULES, "--input", str(source), "--output", str(tmp_path / "link.jsonl")]
    assert main([*args, "--errors", str(pipe), "--workers", "1"]) == 0
    reader.join(timeout=30)
    assert (tmp_path / "link.jsonl").is_symlink() and pipe.is_fifo()  # neither replaced by a plain file
    assert real.read_text(encoding="utf-8") == one_by_one(rules, sample_lines[:5])
    assert got == [b""]  # the pipe's reader got the (empty) errors and its end of file


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--output", "out.jsonl", "--errors", "out.jsonl"], "--errors and --output name the same file"),
        (["--output", "out.jsonl", "--summary", "./out.jsonl"], "--summary and --output name the same file"),
        (["--output", "in.jsonl"], "--output and --input name the same file"),
    ],
)
def test_two_files_of_a_run_on_one_path_are_a_usage_error(
    sample_lines: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    before = write(tmp_path / "in.jsonl", sample_lines[:3]).read_bytes()
    assert main(["run", "--rules", RULES, "--input", "in.jsonl", *extra]) == 2
    assert words in capsys.readouterr().err
    assert (tmp_path / "in.jsonl").read_bytes() == before and not (tmp_path / "out.jsonl").exists()


def test_workers_beyond_what_the_machine_can_run_are_a_usage_error(
    sample_lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.cli.run_cmd import max_workers

    source = write(tmp_path / "in.jsonl", sample_lines[:2])
    args = ["run", "--rules", RULES, "--input", str(source), "--output", str(tmp_path / "o.jsonl")]
    assert main([*args, "--workers", str(max_workers() + 1)]) == 2
    assert f"at most {max_workers()} worker processes" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


# --- an audit of billing runs (2026-12-01, eighth session) --------------------------------------


@pytest.mark.parametrize("option", ["--errors", "--summary"])
def test_errors_or_summary_on_dash_is_a_usage_error_and_writes_nothing(
    sample_lines: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
) -> None:
    # `-` made a file named `-`; with both, the summary was renamed over the error records
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "in.jsonl", sample_lines[:3])
    assert main(["run", "--rules", RULES, "--input", "in.jsonl", "--output", "out.jsonl", option, "-"]) == 2
    err = capsys.readouterr().err
    assert f"{option} names a file" in err
    # the words about error records are --errors' own (until 2026-12-04 --summary's message had them)
    assert ("error records go to stderr" in err) is (option == "--errors")
    assert not (tmp_path / "-").exists() and not (tmp_path / "out.jsonl").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_summary_that_cannot_be_written_leaves_the_previous_output_and_errors(
    sample_lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "in.jsonl", sample_lines[:3])
    output, errors, locked = tmp_path / "out.jsonl", tmp_path / "errors.jsonl", tmp_path / "locked"
    output.write_text("PREVIOUS\n", encoding="utf-8")
    errors.write_text("PREVIOUS ERRORS\n", encoding="utf-8")
    locked.mkdir()
    locked.chmod(0o555)
    try:
        files = ["--output", str(output), "--errors", str(errors), "--summary", str(locked / "summary.json")]
        assert main(["run", "--rules", RULES, "--input", str(source), *files]) == 2
    finally:
        locked.chmod(0o755)
    assert "cannot write the summary" in capsys.readouterr().err
    assert output.read_text(encoding="utf-8") == "PREVIOUS\n"
    assert errors.read_text(encoding="utf-8") == "PREVIOUS ERRORS\n"


def test_a_summary_in_an_unwritable_folder_is_refused_before_the_run(
    sample_lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (as any user, root too: the probe of the summary's folder fails before anything is written)
    from engine.cli import run_cmd

    def refused(name: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(run_cmd, "_writable", refused)
    source = write(tmp_path / "in.jsonl", sample_lines[:3])
    output = tmp_path / "out.jsonl"
    output.write_text("PREVIOUS\n", encoding="utf-8")
    code = main(["run", "--rules", RULES, "--input", str(source), "--output", str(output), "--summary", "s.json"])
    assert code == 2
    assert "cannot write the summary s.json: Permission denied; no output was written" in capsys.readouterr().err
    assert output.read_text(encoding="utf-8") == "PREVIOUS\n"


def test_a_byte_order_mark_starting_a_line_is_not_part_of_its_json(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path
) -> None:
    # a file exported on Windows: its first scenario was refused as "not UTF-8" (BR103)
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + sample_lines[0].encode() + b"\r\n" + sample_lines[1].encode() + b"\r\n")
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    summary = run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=1, progress=False))
    assert (summary.decisions, summary.errors) == (2, 0)
    assert output.read_text(encoding="utf-8") == one_by_one(rules, sample_lines[:2])


def test_an_error_record_names_a_scenario_id_given_as_a_whole_number(rules: RuleSet, tmp_path: Path) -> None:
    # a decided `"id": 5` is scenario "5"; its error record said null
    source = write(tmp_path / "in.jsonl", ['{"id": 5}', '{"id": true}'])
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=1, progress=False))
    records = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [r["scenario"] for r in records] == ["5", None]


def test_a_summary_that_is_a_folder_is_refused_before_the_run(
    sample_lines: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "in.jsonl", sample_lines[:2])
    output = tmp_path / "out.jsonl"
    output.write_text("PREVIOUS\n", encoding="utf-8")
    (tmp_path / "summary").mkdir()
    files = ["--output", str(output), "--summary", str(tmp_path / "summary")]
    assert main(["run", "--rules", RULES, "--input", str(source), *files]) == 2
    assert "Is a directory; no output was written" in capsys.readouterr().err
    assert output.read_text(encoding="utf-8") == "PREVIOUS\n"
