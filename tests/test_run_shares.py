"""Workers that read their own shares of the input: nothing lost at the cuts, parts merged in input order.

A run with more than one local worker over a JSON Lines file hands each worker byte ranges of the
file (shares) and merges the part files they write. These tests cut inputs into many small shares
(so that cuts fall everywhere: mid-line targets, blank lines, CRLF, a last line without newline)
and compare with the one-worker run, which reads and writes in one process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.run.shares as shares
from engine.cli.main import main
from engine.ruleset import RuleSet, load_rules
from engine.run import RunOptions, run
from engine.run.evaluate import MAX_LINE_BYTES
from engine.run.io import LinesSink, copy_bytes, lines_bytes
from engine.run.shares import Share, Splitter, read_share

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"
LINUX = sys.platform == "linux"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES).brief()


@pytest.fixture(scope="module")
def sample_lines() -> list[str]:
    return NIGHTLY.read_text(encoding="utf-8").splitlines()[:120]


@pytest.fixture
def tiny_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shares of a few hundred bytes: a 120-line input is cut into dozens of them, most targets mid-line."""
    monkeypatch.setattr(shares, "MIN_SHARE", 700)
    monkeypatch.setattr(shares, "MAX_SHARE", 1500)


def all_shares(path: Path, workers: int = 2) -> list[Share]:
    splitter = Splitter(str(path), workers)
    try:
        return list(iter(splitter.next, None))
    finally:
        splitter.close()


def lines_read(path: Path, cut: list[Share]) -> list[bytes]:
    with path.open("rb") as file:
        return [line for share in cut for chunk in read_share(file, share, 7) for line in chunk]


INPUTS = {
    "lines": b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * (i * 37 % 500)) for i in range(60)),
    "crlf": b"".join(b'{"n": %d, "pad": "%s"}\r\n' % (i, b"y" * (i * 53 % 400)) for i in range(40)),
    "no final newline": b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"z" * 300) for i in range(20)) + b'{"last": 1}',
    "blank lines": b"\n\n" + b"\n".join(b'{"n": %d}' % i + (b"\n" * (i % 3)) for i in range(50)) + b"\n\n",
    "one line": b'{"only": true}\n',
    "one line without newline": b'{"only": true}',
    "one long line": b'{"pad": "' + b"w" * 5000 + b'"}\n{"after": 1}\n',
    "empty": b"",
}


@pytest.mark.parametrize("name", INPUTS)
@pytest.mark.usefixtures("tiny_shares")
def test_shares_cover_the_file_at_line_boundaries_and_lose_no_line(name: str, tmp_path: Path) -> None:
    data = INPUTS[name]
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    cut = all_shares(path)
    assert [s.index for s in cut] == list(range(len(cut)))
    assert [s.start for s in cut] == [0] + [s.end for s in cut[:-1]] if cut else data == b""  # contiguous
    assert (cut[-1].end if cut else 0) == len(data)
    for share in cut:  # every share starts a line and ends one
        assert share.start == 0 or data[share.start - 1 : share.start] == b"\n"
        assert share.end == len(data) or data[share.end - 1 : share.end] == b"\n"
    expected = data.splitlines(keepends=True)
    assert sum(s.lines for s in cut) == len(expected)
    assert [s.first for s in cut] == [1 + sum(s.lines for s in cut[:i]) for i in range(len(cut))]
    assert lines_read(path, cut) == expected  # the workers read every line once, in order


@pytest.mark.usefixtures("tiny_shares")
def test_shares_shrink_toward_the_end_so_workers_finish_together(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(INPUTS["lines"] * 20)
    sizes = [s.end - s.start for s in all_shares(path)]
    assert sizes[0] >= sizes[-1] and max(sizes) <= 1500 + 600  # a share ends at the first newline past its size
    assert sizes[-2] < 700 + 600


def test_a_line_longer_than_the_limit_is_cut_in_one_share(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b"x" * (MAX_LINE_BYTES + 10) + b"\n" + b'{"b": 2}\n')
    cut = all_shares(path)
    assert sum(s.lines for s in cut) == 3
    read = lines_read(path, cut)
    assert [len(line) for line in read] == [9, MAX_LINE_BYTES + 1, 9]


def run_both(rules: RuleSet, data: bytes, folder: Path, **options: Any) -> tuple[Any, Any]:
    """The same input run with 1 worker and with 2; ((output, errors, summary) for each)."""
    source = folder / "in.jsonl"
    source.write_bytes(data)
    found = []
    for workers in (1, 2):
        output, errors = folder / f"out-{workers}.jsonl", folder / f"errors-{workers}.jsonl"
        summary = run(
            rules, RunOptions(str(source), str(output), str(errors), workers=workers, progress=False, **options)
        )
        found.append((output.read_bytes(), errors.read_bytes(), summary))
    return found[0], found[1]


def mixed_input(sample_lines: list[str]) -> bytes:
    """Good scenarios with bad ones interleaved, blank lines, CRLF endings and no final newline."""
    lines = []
    for n, line in enumerate(sample_lines):
        lines.append(line.encode())
        if n % 9 == 4:
            lines.append(b'{"id": "broken", "as_of": ')
        if n % 13 == 7:
            lines.append(b"")
        if n % 17 == 3:
            lines.append(b'{"id": "nothing-asked", "as_of": "2015-07-01T00:00:00Z"}')
    ends = [b"\r\n" if n % 5 == 0 else b"\n" for n in range(len(lines))]
    return b"".join(line + end for line, end in zip(lines, ends, strict=True)).rstrip(b"\r\n")


@pytest.mark.parametrize("method", ["fork", "spawn"] if LINUX else ["spawn"])
@pytest.mark.usefixtures("tiny_shares")
def test_two_workers_write_what_one_writes_byte_for_byte(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setattr(shares, "start_method", lambda: method)
    one, two = run_both(rules, mixed_input(sample_lines), tmp_path)
    assert two[0] == one[0] and two[1] == one[1]  # decisions, then error records: in input order, same bytes
    assert two[2].executor == "processes" and two[2].workers == 2
    errors = [json.loads(line) for line in two[1].splitlines()]
    assert len(errors) > 10 and [e["line"] for e in errors] == sorted(e["line"] for e in errors)
    assert {e["diagnostics"][0]["code"] for e in errors} == {"BR601", "BR604"}
    counts = [(s.scenarios, s.decisions, s.errors, s.balanced) for s in (one[2], two[2])]
    assert counts[0] == counts[1] == (len(sample_lines) + len(errors), len(sample_lines), len(errors), True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # the parts are gone
        "errors-1.jsonl",
        "errors-2.jsonl",
        "in.jsonl",
        "out-1.jsonl",
        "out-2.jsonl",
    ]


@pytest.mark.parametrize("name", ["empty", "one line", "one line without newline", "blank lines"])
def test_tiny_inputs_with_more_workers_than_shares(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path, name: str
) -> None:
    data = {
        "empty": b"",
        "one line": sample_lines[0].encode() + b"\n",
        "one line without newline": sample_lines[0].encode(),
        "blank lines": b"\n\r\n\n",
    }[name]
    one, two = run_both(rules, data, tmp_path)
    assert two[:2] == one[:2]
    assert (two[2].scenarios, two[2].decisions) == (one[2].scenarios, one[2].decisions)
    assert two[2].balanced and two[2].scenarios == (1 if "one line" in name else 0)


@pytest.mark.parametrize("limit", [1, 3, 7])
@pytest.mark.usefixtures("tiny_shares")
def test_max_errors_stops_at_the_same_line_as_one_worker(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path, limit: int
) -> None:
    one, two = run_both(rules, mixed_input(sample_lines), tmp_path, max_errors=limit)
    assert two[:2] == one[:2]
    assert len(two[1].splitlines()) == limit
    assert (two[2].scenarios, two[2].decisions, two[2].errors) == (one[2].scenarios, one[2].decisions, limit)
    assert (
        two[2].stopped == one[2].stopped
        and f"{limit:,} error{'' if limit == 1 else 's'} reached the limit" in two[2].stopped
    )


@pytest.mark.usefixtures("tiny_shares")
def test_without_an_errors_file_the_handler_gets_every_error_in_order(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(mixed_input(sample_lines))
    got: list[tuple[int, str | None, str]] = []
    summary = run(rules, RunOptions(str(source), str(tmp_path / "out.jsonl"), workers=2, progress=False), got.extend)
    assert [line for line, _, _ in got] == sorted(line for line, _, _ in got)
    assert len(got) == summary.errors > 10 and summary.balanced
    assert all(json.loads(text)["line"] == line for line, _, text in got)


def run_with_broken_workers(folder: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch, decide: Any) -> int:
    """A 2-worker run whose forked workers decide chunks with `decide`; its exit code. out.jsonl held "previous"."""
    monkeypatch.setattr(shares, "start_method", lambda: "fork")
    monkeypatch.setattr(shares, "decide_chunk", decide)
    source = folder / "in.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (folder / "out.jsonl").write_bytes(b"previous\n")
    files = ["--input", str(source), "--output", str(folder / "out.jsonl"), "--errors", str(folder / "errors.jsonl")]
    return main(["run", "--rules", RULES, *files, "--workers", "2"])


@pytest.mark.skipif(not LINUX, reason="the broken worker is forked with the patch")
@pytest.mark.usefixtures("tiny_shares")
def test_a_worker_losing_a_decision_fails_the_run_and_writes_nothing(
    sample_lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.run.evaluate import decide_chunk

    def dropping(rules: Any, chunk: Any, source: str = "<input>") -> Any:
        result = decide_chunk(rules, chunk, source)
        if chunk.first > 50 and result.decisions:
            result.decisions.pop()  # a bug that loses one decision
        return result

    assert run_with_broken_workers(tmp_path, sample_lines, monkeypatch, dropping) == 2
    assert "internal error: scenarios lost: the share from line" in capsys.readouterr().err
    assert (tmp_path / "out.jsonl").read_bytes() == b"previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no errors file, no parts


@pytest.mark.skipif(not LINUX, reason="the dying worker is forked with the patch")
@pytest.mark.usefixtures("tiny_shares")
def test_a_worker_that_dies_fails_the_run_and_writes_nothing(
    sample_lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def dying(rules: Any, chunk: Any, source: str = "<input>") -> Any:
        os._exit(3)

    assert run_with_broken_workers(tmp_path, sample_lines, monkeypatch, dying) == 2
    assert "WorkerFailed: a worker died (exit code 3) with shares in hand" in capsys.readouterr().err
    assert (tmp_path / "out.jsonl").read_bytes() == b"previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_stdout_receives_the_merged_parts(sample_lines: list[str], tmp_path: Path) -> None:
    """Standard output a pipe: parts are sent to it (sendfile), in order, as one worker writes them."""
    source = tmp_path / "in.jsonl"
    source.write_text("".join(line + "\n" for line in sample_lines), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outputs = []
    for workers in ("1", "2"):
        command = [sys.executable, "-m", "engine", "run", "--rules", RULES, "--input", str(source), "--output", "-"]
        result = subprocess.run([*command, "--workers", workers], capture_output=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] and len(outputs[1].splitlines()) == len(sample_lines)
    assert list(tmp_path.iterdir()) == [source]


@pytest.mark.parametrize("target", ["file", "stream without a descriptor"])
def test_copy_bytes_appends_the_first_bytes_of_a_part(tmp_path: Path, target: str) -> None:
    part = tmp_path / "part"
    part.write_bytes(b"one\ntwo\nthree\n")
    out: Any = (tmp_path / "out").open("wb") if target == "file" else io.BytesIO()
    out.write(b"start\n")
    with part.open("rb") as source:
        copy_bytes(source, out, 8)
        copy_bytes(source, out, 0)
        copy_bytes(source, out, 14)
    out.write(b"end\n")
    if target == "file":
        out.close()
        written = (tmp_path / "out").read_bytes()
    else:
        written = out.getvalue()
    assert written == b"start\none\ntwo\none\ntwo\nthree\nend\n"


def test_start_method_forks_only_a_process_without_other_threads() -> None:
    import threading

    expected = "fork" if LINUX and threading.active_count() == 1 else "spawn"
    if LINUX and len(os.listdir("/proc/self/task")) > 1:
        expected = "spawn"
    assert shares.start_method() == expected
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert shares.start_method() == "spawn"
    finally:
        stop.set()
        thread.join()


@pytest.mark.parametrize("method", ["fork", "spawn"] if LINUX else ["spawn"])
def test_stdin_is_fed_to_the_workers_by_the_parent_in_order(
    rules: RuleSet, sample_lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """Standard input cannot be cut by offset: the parent reads it in chunks for the pool, as before shares."""
    one, _ = run_both(rules, mixed_input(sample_lines), tmp_path, chunk_size=9)
    monkeypatch.setattr(shares, "start_method", lambda: method)
    with (tmp_path / "in.jsonl").open("rb") as raw:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(raw))
        output, errors = tmp_path / "stdin-out.jsonl", tmp_path / "stdin-errors.jsonl"
        summary = run(rules, RunOptions("-", str(output), str(errors), workers=2, chunk_size=9, progress=False))
    assert (output.read_bytes(), errors.read_bytes()) == one[:2]
    assert summary.executor == "processes" and summary.balanced and summary.scenarios == one[2].scenarios


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=8))
def test_lines_are_written_as_the_joined_text_encoded(texts: list[str]) -> None:
    """Each decision is encoded on its own (one wide text must not widen the chunk): the bytes are
    those of the lines joined and encoded, and nothing at all for no lines."""
    expected = ("\n".join(texts) + "\n").encode("utf-8") if texts else b""
    assert lines_bytes(texts) == expected


def test_a_chunk_with_one_wide_decision_is_written_whole(tmp_path: Path) -> None:
    sink = LinesSink(str(tmp_path / "out.jsonl"))
    sink.write([(1, "a", '{"x":"plain"}'), (2, "b", '{"x":"5 €, Zoë"}'), (3, "c", '{"x":"\\u2028"}')])
    sink.commit()
    assert (tmp_path / "out.jsonl").read_bytes() == '{"x":"plain"}\n{"x":"5 €, Zoë"}\n{"x":"\\u2028"}\n'.encode()
    assert sink.written == 3
