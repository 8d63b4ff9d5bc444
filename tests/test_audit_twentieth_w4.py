"""Findings of the twentieth session's audits (2026-12-03), on the command line and billing runs:
each reduced to a reproduction with the outcome SPEC or README requires."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"


def _previous(tmp_path: Path) -> tuple[Path, Path]:
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    output.write_text("PREVIOUS\n", encoding="utf-8")
    errors.write_text("PREVIOUS ERRORS\n", encoding="utf-8")
    return output, errors


def test_an_unreachable_dask_scheduler_is_named_not_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Until 2026-12-03: "cannot write the output x.jsonl: Timed out trying to connect …" after 30 s."""
    pytest.importorskip("distributed")
    import engine.run.dask

    monkeypatch.setattr(engine.run.dask, "CONNECT_TIMEOUT", 1, raising=False)
    output, errors = _previous(tmp_path)
    files = ["--input", str(NIGHTLY), "--output", str(output), "--errors", str(errors)]
    assert main(["run", "--rules", RULES, *files, "--dask", "tcp://127.0.0.1:1"]) == 2
    err = capfd.readouterr().err
    assert "billrules: error: cannot reach the Dask scheduler tcp://127.0.0.1:1 (" in err
    assert "no output was written" in err and "hint: check the address" in err
    assert "cannot write" not in err and "Traceback" not in err
    assert output.read_text(encoding="utf-8") == "PREVIOUS\n"
    assert errors.read_text(encoding="utf-8") == "PREVIOUS ERRORS\n"


def test_a_dask_scheduler_lost_during_the_run_is_one_error_without_tracebacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Until 2026-12-03 the scheduler's death printed distributed's tracebacks (CancelledError,
    CommClosedError), then an internal error (FutureCancelledError) or "cannot write the output …
    Stream is closed". Here the scheduler closes once the first chunk has come back."""
    distributed = pytest.importorskip("distributed")
    import engine.run.dask

    monkeypatch.setattr(engine.run.dask, "CONNECT_TIMEOUT", 2, raising=False)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    from engine.run.pool import ordered

    def dying(*args: Any) -> Iterator[Any]:
        results = ordered(*args)
        yield next(results)
        cluster.close()  # the scheduler and its worker go away
        yield from results

    monkeypatch.setattr(engine.run.dask, "ordered", dying)
    output, errors = _previous(tmp_path)
    files = ["--input", str(NIGHTLY), "--output", str(output), "--errors", str(errors), "--chunk-size", "20"]
    try:
        code = main(["run", "--rules", RULES, *files, "--dask", cluster.scheduler_address])
    finally:
        cluster.close()
    err = capfd.readouterr().err
    assert code == 2
    assert f"billrules: error: the connection to the Dask scheduler {cluster.scheduler_address} was lost" in err
    assert "no output was written" in err
    assert "Traceback" not in err and "internal error" not in err and "distributed." not in err
    assert output.read_text(encoding="utf-8") == "PREVIOUS\n"
    assert errors.read_text(encoding="utf-8") == "PREVIOUS ERRORS\n"


def test_workers_that_died_are_told_as_such_not_as_a_lost_scheduler() -> None:
    distributed = pytest.importorskip("distributed")
    from types import SimpleNamespace

    from engine.run.dask import ClusterLost

    worker = SimpleNamespace(address="tcp://10.0.0.6:40000")  # (a WorkerState, as far as its message reads it)
    died = ClusterLost("tcp://10.0.0.5:8786", True, distributed.KilledWorker("decide_chunk-1", worker, 3))
    assert died.workers_died
    assert str(died).startswith("workers of the Dask cluster at tcp://10.0.0.5:8786 died deciding a chunk (")


EXPECTATION = REPO / "samples" / "balance" / "refund_once.yaml"


@pytest.mark.parametrize(
    "command",
    [
        ["test", "--rules", RULES, str(EXPECTATION), "--coverage-json", "-"],
        ["decide", "--rules", RULES, "--html", "-", str(EXPECTATION)],
        ["diff", "--rules", RULES, "--rules", RULES, "--input", str(EXPECTATION), "--html", "-"],
    ],
)
def test_a_report_to_dash_is_a_usage_error_not_a_file_named_dash(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `run --errors -`: until 2026-12-03 a file named `-` was written."""
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "report to `-`: the option names a file; for standard output give /dev/stdout" in err
    assert not (tmp_path / "-").exists()


def test_a_folder_of_the_rules_that_cannot_be_read_is_the_finding_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Until 2026-12-03 an unreadable `catalog/` (BR100) was followed by 42 BR302 "unknown product/plan/…"."""
    import os
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    scandir = os.scandir

    def denied(path: Any = ".") -> Any:
        if os.fspath(path).endswith("catalog"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    assert main(["validate", str(rules)]) == 1
    out = capsys.readouterr().out
    assert "error[BR100] cannot read folder: permission denied" in out
    assert "BR302" not in out and "unknown" not in out
    assert "1 problem in 1 file" in out


def test_parquet_read_as_json_lines_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As JSON Lines read as Parquet: until 2026-12-03 `--format jsonl` on a Parquet file read its
    bytes as lines (35 error records, exit 1)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    lines = NIGHTLY.read_text(encoding="utf-8").splitlines()[:20]
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.table({"scenario": lines}), parquet)
    named = tmp_path / "in.jsonl"  # a Parquet file named as JSON Lines, read by workers in shares
    named.write_bytes(parquet.read_bytes())
    output, errors = _previous(tmp_path)
    for source, given in ((parquet, ["--format", "jsonl"]), (named, ["--workers", "2"])):
        files = ["--input", str(source), "--output", str(output), "--errors", str(errors), *given]
        assert main(["run", "--rules", RULES, *files]) == 2
        err = capsys.readouterr().err
        assert f"billrules: error: the input {source} is a Parquet file (it starts with `PAR1`), not JSON Lines" in err
        assert output.read_text(encoding="utf-8") == "PREVIOUS\n"


def _error_records(tmp_path: Path, source: Path) -> list[dict[str, Any]]:
    import json

    output, errors = tmp_path / "decided.jsonl", tmp_path / "refused.jsonl"
    main(["run", "--rules", RULES, "--input", str(source), "--output", str(output), "--errors", str(errors)])
    return [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]


def _consumption_line(scenario_id: str, quantity: str) -> str:
    return (
        f'{{"id":"{scenario_id}","as_of":"2015-05-18T18:00:00+02:00","consumptions":[{{"id":"REQ-1",'
        '"organisation":"globex-fr-lyon","service":"network-offer","quantity":' + quantity + ","
        '"at":"2015-05-16T10:00:00+02:00"}]}'
    )


def test_a_number_past_a_double_is_too_large_at_its_field_not_a_line_that_is_not_json(tmp_path: Path) -> None:
    """`1e400` is JSON: until 2026-12-03 BR601 "the line is not JSON: number is infinity when
    parsed as double", the scenario unnamed; now as `1e308` is told."""
    source = tmp_path / "nums.jsonl"
    lines = [
        _consumption_line("q=1e400", "1e400"),
        _consumption_line("q=-1e400", "-1e400"),
        _consumption_line("q=1e308", "1e308"),
        _consumption_line("q=nan", '1e400, "x": NaN'),  # (NaN is not JSON: still refused as the line)
    ]
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    records = _error_records(tmp_path, source)
    told = [(r["scenario"], d["code"], d["field"], d["message"]) for r in records for d in r["diagnostics"]]
    field = "consumptions[0].quantity"
    too_large = "is too large: at most 15 digits before the decimal point"
    assert told[:3] == [
        ("q=1e400", "BR602", field, f"scenario field `{field}`: `1E+400` {too_large}"),
        ("q=-1e400", "BR602", field, f"scenario field `{field}`: `-1E+400` {too_large}"),
        ("q=1e308", "BR602", field, f"scenario field `{field}`: `1e+308` {too_large}"),
    ]
    assert told[3][:2] == (None, "BR601")


def test_an_id_of_another_type_is_written_as_json_and_an_empty_text_in_words(tmp_path: Path) -> None:
    """Until 2026-12-03 "not `{'a': 1}`" (Python's repr) and pydantic's "String should have at least
    1 character" with the hint "see schemas/…"."""
    source = tmp_path / "ids.jsonl"
    source.write_text(
        '{"id":{"a":1},"as_of":"2016-02-01T02:00:00+01:00"}\n'
        '{"id":"","as_of":"2016-02-01T02:00:00+01:00"}\n'
        '{"id":"p","as_of":"2016-02-01T02:00:00+01:00","subscription":{"code":"S","type":"residential-tv",'
        '"plan":"","billing_term_scheme":"monthly-24","billing_frequency":"monthly","start":"2016-01-01"}}\n',
        encoding="utf-8",
    )
    records = _error_records(tmp_path, source)
    told = {r["line"]: r["diagnostics"] for r in records}
    assert told[1][0]["message"] == 'scenario field `id`: an id is text or a whole number, not `{"a": 1}`'
    assert (told[2][0]["message"], told[2][0]["hint"]) == (
        "scenario field `id`: empty text",
        'give the scenario an id (text or a whole number): `id: "..."`',
    )
    plan = [d for d in told[3] if d["field"] == "subscription.plan"]
    assert [(d["message"], d["hint"]) for d in plan] == [
        (
            "scenario field `subscription.plan`: empty text",
            "write the plan, or leave the field out where it is optional",
        )
    ]


def test_a_parquet_bytes_field_that_is_not_utf8_is_br103(tmp_path: Path) -> None:
    """Read a column a field: until 2026-12-03 "the text holds a lone surrogate (not Unicode)"."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    source = tmp_path / "binid.parquet"
    pq.write_table(pa.table({"id": pa.array([b"\xff\xfe"], pa.binary()), "as_of": ["2016-01-01T00:00:00Z"]}), source)
    [record] = _error_records(tmp_path, source)
    assert [(d["code"], d["field"], d["message"], d["hint"]) for d in record["diagnostics"]] == [
        ("BR103", "id", "scenario field `id`: the byte 0xff (byte 1 of 2) is not UTF-8", "write the text as UTF-8")
    ]


@pytest.mark.parametrize(
    "command",
    [
        ["validate", ""],
        ["validate", "--rules", ""],
        ["validate", "--scenarios", ""],
        ["decide", "--rules", RULES, ""],
        ["test", "--rules", ""],
        ["run", "--rules", RULES, "--input", str(NIGHTLY), "--output", "out.jsonl", "--dask", ""],
    ],
)
def test_an_empty_path_is_a_usage_error_not_the_current_folder(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Until 2026-12-03 `validate ""` validated the current folder (`Path("")` is `.`)."""
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    assert "billrules: error: an empty " in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()
