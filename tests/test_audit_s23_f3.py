"""Audit s23, fixer f3: files `billrules run` would replace though they hold what billrules reads
(indented JSON, a first line that is blank or bad, Parquet read a column a field), and a rename
that fails while the run's files are committed (a2 findings F3-F6)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.cli.exits import UsageError
from engine.cli.html_output import not_over_scenarios
from engine.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"
EXPECTATION = REPO / "samples" / "cancellation" / "pro_rata_penalty.yaml"


def _lines(count: int) -> bytes:
    with NIGHTLY.open("rb") as src:
        return b"".join(next(src) for _ in range(count))


def _scenario() -> dict[str, object]:
    loaded = json.loads(_lines(1))
    assert isinstance(loaded, dict)
    return loaded


def _expectation() -> dict[str, object]:
    import yaml

    loaded = yaml.safe_load(EXPECTATION.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict) and "expect" in loaded
    return json.loads(json.dumps(loaded, default=str))  # type: ignore[no-any-return]


def _run(tmp_path: Path, *extra: str, lines: int = 5) -> int:
    source = tmp_path / "in.jsonl"
    source.write_bytes(_lines(lines) + b'{"id": oops}\n')  # (one error record)
    return main(["run", "--rules", RULES, "--input", str(source), "--workers", "1", "--no-progress", *extra])


# --- F3: indented JSON, and a one-line rule document, as --output / --errors ---------------


@pytest.mark.parametrize(
    ("content", "holds"),
    [
        (lambda: json.dumps(_expectation(), indent=1), "an expectation (`expect`)"),
        (lambda: json.dumps(_scenario(), indent=2), "a scenario (`id`, `as_of`)"),
        (lambda: json.dumps({"kind": "discount", "code": "x"}, indent=2), "a rule document (`kind`)"),
        (lambda: '{"kind":"discount","code":"x"}\n', "a rule document (`kind`)"),
    ],
    ids=["indented-expectation", "indented-scenario", "indented-rule", "one-line-rule"],
)
@pytest.mark.parametrize("option", ["--output", "--errors"])
def test_a_json_document_is_not_replaced_by_output_or_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, holds: str, option: str
) -> None:
    """An indented JSON expectation, scenario or rule document (and a one-line rule document)
    was replaced by `--errors X.json` and `--output X.json --format jsonl`, while `--summary`
    refused it (until 2026-12-03)."""
    text = content()  # type: ignore[operator]
    target = tmp_path / "kept.json"
    target.write_text(text, encoding="utf-8")
    if option == "--output":
        args = ["--output", str(target), "--format", "jsonl"]
    else:
        args = ["--output", str(tmp_path / "out.jsonl"), "--errors", str(target)]
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert f"{option} {target}: it holds {holds}, which it would replace" in err
    assert target.read_text(encoding="utf-8") == text
    assert not (tmp_path / "out.jsonl").exists()


# --- F4: JSON Lines of scenarios behind a blank or bad first line, or indented --------------


@pytest.mark.parametrize(
    ("front", "said"),
    [
        (b"\n", "its line 2 is a scenario"),
        (b"  \r\n\n", "its line 3 is a scenario"),
        (b'{"id": oops}\n', "its line 2 is a scenario"),
        (b"[1, 2]\n\n" + b"not json\n" * 3, "its line 6 is a scenario"),
    ],
    ids=["blank", "blanks", "bad", "several-bad"],
)
@pytest.mark.parametrize("option", ["--output", "--errors"])
def test_scenario_lines_behind_a_blank_or_bad_first_line_are_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], front: bytes, said: str, option: str
) -> None:
    """`billrules run` reads such a file (blank lines skipped, a bad line an error record), but
    `--output` and `--errors` replaced it: only the first line was looked at (until 2026-12-03)."""
    target = tmp_path / "night.jsonl"
    target.write_bytes(front + _lines(20))
    kept = target.read_bytes()
    if option == "--output":
        args = ["--output", str(target)]
    else:
        args = ["--output", str(tmp_path / "out.jsonl"), "--errors", str(target)]
    assert _run(tmp_path, *args) == 2
    assert f"{option} {target}: {said} (`id`, `as_of`), which it would replace" in capsys.readouterr().err
    assert target.read_bytes() == kept


def test_an_indented_scenario_in_a_jsonl_file_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "pretty.jsonl"
    target.write_text(json.dumps(_scenario(), indent=2) + "\n" + json.dumps(_scenario(), indent=2) + "\n")
    with pytest.raises(UsageError, match=r"it holds a scenario \(`id`, `as_of`\), which it would replace"):
        not_over_scenarios(str(target), "--output", True)


def test_a_large_jsonl_file_of_scenarios_is_looked_at_by_its_first_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file larger than what is read whole (16 MB) was not looked at at all (until 2026-12-03)."""
    from engine.cli import html_output

    target = tmp_path / "big.jsonl"
    target.write_bytes(b"\n" + _lines(50))
    monkeypatch.setattr(html_output, "_LOOKED_AT", 20_000)
    with pytest.raises(UsageError, match="its line 2 is a scenario"):
        not_over_scenarios(str(target), "--output", True)


def test_the_lines_looked_at_are_bounded(tmp_path: Path) -> None:
    """Ten non-blank lines are looked at: a scenario after ten bad lines is not looked for."""
    target = tmp_path / "odd.jsonl"
    target.write_bytes(b"x\n\n" * 10 + _lines(3))
    not_over_scenarios(str(target), "--output", True)
    target.write_bytes(b"x\n\n" * 9 + _lines(3))
    with pytest.raises(UsageError, match="its line 19 is a scenario"):
        not_over_scenarios(str(target), "--output", True)


def test_the_first_line_is_still_told_as_the_first_line(tmp_path: Path) -> None:
    target = tmp_path / "night.jsonl"
    target.write_bytes(_lines(3))
    with pytest.raises(UsageError, match=r"its first line is a scenario \(`id`, `as_of`\), which it would replace"):
        not_over_scenarios(str(target), "--errors", True)


def test_a_runs_own_files_are_still_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Decisions, error records and a summary (even one decision, or a blank first line) are not
    what billrules reads: the next run replaces them."""
    out, errors, summary = tmp_path / "out.jsonl", tmp_path / "e.jsonl", tmp_path / "s.json"
    args = ["--output", str(out), "--errors", str(errors), "--summary", str(summary)]
    assert _run(tmp_path, *args) == 1
    decision = out.read_bytes().splitlines()[0]
    out.write_bytes(b"\n" + decision + b"\n")  # (one decision, after a blank line)
    errors.write_bytes(b"\n" + errors.read_bytes())
    summary.write_text(json.dumps(json.loads(summary.read_text()), indent=4))
    for name, lines in ((out, True), (errors, True), (summary, False)):
        not_over_scenarios(str(name), "--x", lines)
    assert _run(tmp_path, *args, lines=3) == 1
    capsys.readouterr()
    assert len(out.read_bytes().splitlines()) == 3
    assert json.loads(summary.read_text())["scenarios"] == 4


# --- F5: a Parquet file of scenarios read a column a field -----------------------------------


def test_output_does_not_replace_a_parquet_file_of_scenarios_a_column_a_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    target = tmp_path / "fields.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "as_of": ["2016-01-01T00:00:00Z"] * 2}), target)
    kept = target.read_bytes()
    assert _run(tmp_path, "--output", str(target)) == 2
    err = capsys.readouterr().err
    assert f"--output {target}: it holds Parquet scenarios (a column a field: `id`, `as_of`)" in err
    assert target.read_bytes() == kept
    # a run's own decisions (and a table with a `decision` column) are replaced
    pq.write_table(pa.table({"id": ["a"], "as_of": ["x"], "decision": ["{}"]}), target)
    not_over_scenarios(str(target), "--output", True)
    assert _run(tmp_path, "--output", str(target)) == 1
    assert _run(tmp_path, "--output", str(target)) == 1
    assert pq.read_schema(target).names == ["scenario", "rules_version", "decision"]


# --- F6: a rename that fails while the run's files are committed -----------------------------


def _failing_rename(monkeypatch: pytest.MonkeyPatch, *failing: Path) -> list[tuple[str, str]]:
    """`os.replace` fails (EPERM, as over another user's file in a sticky folder) onto `failing`."""
    real = os.replace
    done: list[tuple[str, str]] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if any(os.path.realpath(dst) == os.path.realpath(name) for name in failing):
            raise PermissionError(1, "Operation not permitted", str(src), None, str(dst))
        real(src, dst)
        done.append((os.fspath(src), os.fspath(dst)))

    monkeypatch.setattr(os, "replace", replace)
    return done


def _previous(tmp_path: Path, output: str = "out.jsonl") -> tuple[Path, Path, Path]:
    out, errors, summary = tmp_path / output, tmp_path / "e.jsonl", tmp_path / "s.json"
    out.write_text("PREVIOUS OUTPUT\n")
    errors.write_text("PREVIOUS ERRORS\n")
    summary.write_text('{"previous": 1}\n')
    return out, errors, summary


@pytest.mark.parametrize("failing", ["errors", "summary"])
@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_a_failing_rename_puts_the_renamed_files_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, failing: str, kind: str
) -> None:
    """The decisions were renamed, the errors (or summary) rename failed: new decisions beside the
    previous errors and summary, and "no output was written"; the summary's failure named its
    `.partial` temporary (until 2026-12-03)."""
    if kind == "parquet":
        pytest.importorskip("pyarrow")
    out, errors, summary = _previous(tmp_path, f"out.{kind}")
    target = errors if failing == "errors" else summary
    _failing_rename(monkeypatch, target)
    assert _run(tmp_path, "--output", str(out), "--errors", str(errors), "--summary", str(summary)) == 2
    err = capsys.readouterr().err
    what = "the errors file" if failing == "errors" else "the summary"
    assert f"billrules: error: cannot write {what} {target}: Operation not permitted; no output was written" in err
    assert ".partial" not in err
    assert out.read_text() == "PREVIOUS OUTPUT\n"
    assert errors.read_text() == "PREVIOUS ERRORS\n"
    assert summary.read_text() == '{"previous": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.jsonl", out.name, "e.jsonl", "s.json"])


def test_a_failing_rename_removes_a_target_that_was_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, errors = tmp_path / "out.jsonl", tmp_path / "e.jsonl"
    _failing_rename(monkeypatch, errors)
    assert _run(tmp_path, "--output", str(out), "--errors", str(errors)) == 2
    assert "no output was written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_a_file_that_cannot_be_put_back_is_named_as_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The previous decisions cannot be put back (their rename fails too): the message says the
    output is this run's, and the errors file and summary as they were, not "no output was written"."""
    out, errors, summary = _previous(tmp_path)
    real = os.replace

    def replace(src: str, dst: str) -> None:
        if os.fspath(dst) == str(errors) or ".previous" in os.fspath(src):
            raise PermissionError(1, "Operation not permitted", str(src), None, str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert _run(tmp_path, "--output", str(out), "--errors", str(errors), "--summary", str(summary)) == 2
    err = capsys.readouterr().err
    assert "no output was written" not in err
    assert (
        f"cannot write the errors file {errors}: Operation not permitted; the output {out} is this run's all the "
        f"same (the previous file could not be put back), the errors file {errors} and the summary {summary} "
        "are as they were"
    ) in err
    assert out.read_text().count("\n") == 5 and "PREVIOUS" not in out.read_text()
    assert errors.read_text() == "PREVIOUS ERRORS\n" and summary.read_text() == '{"previous": 1}\n'


def test_commit_together_renames_all_or_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.run.atomic import AtomicFile, CommitFailed, commit_together

    names = [tmp_path / f"{n}.txt" for n in "abc"]
    names[0].write_text("old a")
    names[2].write_text("old c")
    files = []
    for name in names:
        file = AtomicFile(name)
        file.file.write(b"new " + name.stem.encode())
        files.append(file)
    _failing_rename(monkeypatch, names[2])
    with pytest.raises(CommitFailed) as caught:
        commit_together(files)
    assert caught.value.failed == names[2] and caught.value.new == []
    for file in files:
        file.discard()
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["a.txt", "c.txt"]
    assert names[0].read_text() == "old a" and names[2].read_text() == "old c"
    monkeypatch.undo()
    files = [AtomicFile(name) for name in names]
    for file in files:
        file.file.write(b"new")
    commit_together(files)
    assert [p.read_text() for p in sorted(tmp_path.iterdir())] == ["new"] * 3


def test_a_failing_rename_with_the_decisions_streamed_says_no_file_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, errors, summary = _previous(tmp_path)
    _failing_rename(monkeypatch, summary)
    assert _run(tmp_path, "--output", os.devnull, "--errors", str(errors), "--summary", str(summary)) == 2
    err = capsys.readouterr().err
    assert f"cannot write the summary {summary}: Operation not permitted; no file was written" in err
    assert errors.read_text() == "PREVIOUS ERRORS\n" and summary.read_text() == '{"previous": 1}\n'
