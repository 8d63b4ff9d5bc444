"""Billing runs over Parquet (the `parquet` extra): the same decisions as JSON Lines, row for line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from engine.cli.main import main  # noqa: E402
from engine.ruleset import RuleSet, load_rules  # noqa: E402
from engine.run import RunOptions, run  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES).brief()  # as `billrules run` decides unless --detailed-reasons


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return NIGHTLY.read_text(encoding="utf-8").splitlines()[:300]


def jsonl_run(rules: RuleSet, lines: list[str], folder: Path) -> list[str]:
    source = folder / "in.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    output = folder / "out.jsonl"
    run(rules, RunOptions(str(source), str(output), errors=str(folder / "e.jsonl"), workers=1, progress=False))
    return output.read_text(encoding="utf-8").splitlines()


def test_parquet_in_and_out_round_trips_the_jsonl_decisions(rules: RuleSet, lines: list[str], tmp_path: Path) -> None:
    expected = jsonl_run(rules, lines, tmp_path)
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"scenario": lines}), source, row_group_size=64)
    output = tmp_path / "out.parquet"
    assert main(["run", "--rules", RULES, "--input", str(source), "--output", str(output), "--workers", "2"]) == 0
    table = pq.read_table(output)
    assert table.column_names == ["scenario", "rules_version", "decision"]
    assert table.column("decision").to_pylist() == expected  # byte for byte the JSON Lines output
    assert table.column("scenario").to_pylist() == [json.loads(line)["id"] for line in lines]
    assert set(table.column("rules_version").to_pylist()) == {rules.rules_version}
    back = tmp_path / "back.jsonl"  # and Parquet in, JSON Lines out
    assert main(["run", "--rules", RULES, "--input", str(source), "--output", str(back), "--workers", "1"]) == 0
    assert back.read_text(encoding="utf-8").splitlines() == expected


@pytest.mark.parametrize("question", ["job", "consumptions", "balance", "cancellation", "purchase"])
def test_parquet_with_a_column_per_field(rules: RuleSet, lines: list[str], tmp_path: Path, question: str) -> None:
    """A warehouse export, one table per question: nested columns, null where a scenario has no such field."""
    chosen = [line for line in lines if f'"{question}":' in line]
    expected = jsonl_run(rules, chosen, tmp_path)
    source = tmp_path / "columns.parquet"
    rows = pa.array([json.loads(line) for line in chosen])  # one struct type unifying every row
    pq.write_table(pa.Table.from_struct_array(rows), source)
    output = tmp_path / "out.jsonl"
    summary = run(rules, RunOptions(str(source), str(output), errors=str(tmp_path / "e.jsonl"), progress=False))
    assert (summary.scenarios, summary.decisions, summary.errors) == (len(chosen), len(chosen), 0)
    assert output.read_text(encoding="utf-8").splitlines() == expected


def test_bad_parquet_rows_are_error_records_numbered_by_row(rules: RuleSet, lines: list[str], tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"scenario": [lines[0], "{oops", None, '{"id": "y", "as_of": 1}', lines[1]]}), source)
    output, errors = tmp_path / "out.parquet", tmp_path / "errors.jsonl"
    summary = run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=1, progress=False))
    records = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["scenario"], r["diagnostics"][0]["code"]) for r in records] == [
        (2, None, "BR601"),
        (3, None, "BR601"),  # a null row is a scenario refused, counted: never dropped silently
        (4, "y", "BR602"),
    ]
    assert (summary.scenarios, summary.decisions, summary.errors) == (5, 2, 3)
    assert pq.read_table(output).num_rows == 2


def test_format_option_overrides_the_extension(rules: RuleSet, lines: list[str], tmp_path: Path) -> None:
    source = tmp_path / "scenarios.data"
    pq.write_table(pa.table({"scenario": lines[:3]}), source)
    output = tmp_path / "decisions.data"
    code = main(["run", "--rules", RULES, "--input", str(source), "--output", str(output), "--format", "parquet"])
    assert code == 0
    assert pq.read_table(output).num_rows == 3


def test_a_scenario_text_column_beside_other_columns(rules: RuleSet, lines: list[str], tmp_path: Path) -> None:
    expected = jsonl_run(rules, lines[:20], tmp_path)
    source = tmp_path / "in.parquet"
    ids = [json.loads(line)["id"] for line in lines[:20]]
    pq.write_table(pa.table({"id": ids, "scenario": lines[:20], "day": ["2015-07-01"] * 20}), source)
    output = tmp_path / "out.jsonl"
    run(rules, RunOptions(str(source), str(output), errors=str(tmp_path / "e.jsonl"), workers=1, progress=False))
    assert output.read_text(encoding="utf-8").splitlines() == expected


def test_a_row_python_cannot_hold_is_one_error_record_not_the_end_of_the_run(rules: RuleSet, tmp_path: Path) -> None:
    # a warehouse can hold a timestamp past year 9999; Python cannot: that row alone is refused
    seconds = [1_420_070_400, 1_420_156_800, 253_402_300_800 + 86_400]  # 2015-01-01, 2015-01-02, 10000-01-02
    table = pa.table({"id": ["a", "b", "far"], "as_of": pa.array(seconds, pa.timestamp("s"))})
    source = tmp_path / "far.parquet"
    pq.write_table(table, source)
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    summary = run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=1, progress=False))
    records = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert summary.scenarios == 3 and summary.balanced  # the run went on: every row accounted for
    assert [(r["line"], r["diagnostics"][0]["code"]) for r in records] == [(1, "BR604"), (2, "BR604"), (3, "BR602")]
    assert records[2]["diagnostics"][0]["field"] == "as_of"
    assert "cannot be read" in records[2]["diagnostics"][0]["message"]


def test_a_file_that_is_not_parquet_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "broken.parquet"
    source.write_bytes(b"PAR1" + b"\x00" * 100)
    assert main(["run", "--rules", RULES, "--input", str(source), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "as Parquet" in err and "internal error" not in err


def test_a_dictionary_encoded_scenario_column_is_text(rules: RuleSet, lines: list[str], tmp_path: Path) -> None:
    expected = jsonl_run(rules, lines[:10], tmp_path)
    source = tmp_path / "dict.parquet"
    pq.write_table(pa.table({"scenario": pa.array(lines[:10]).dictionary_encode()}), source)
    output = tmp_path / "out.jsonl"
    run(rules, RunOptions(str(source), str(output), errors=str(tmp_path / "e.jsonl"), workers=1, progress=False))
    assert output.read_text(encoding="utf-8").splitlines() == expected


def test_two_columns_of_one_name_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the row kept the last column's value in silence (a JSON object's duplicate key is BR105)
    source = tmp_path / "twice.parquet"
    table = pa.Table.from_arrays(
        [pa.array(["x"]), pa.array(["2015-05-01T00:00:00Z"]), pa.array(["y"])], names=["id", "as_of", "id"]
    )
    pq.write_table(table, source)
    assert main(["run", "--rules", RULES, "--input", str(source), "--output", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "two columns share a name (`id`)" in err and "internal error" not in err
    assert not (tmp_path / "o.jsonl").exists()


def test_a_timestamp_of_an_unknown_time_zone_is_named_so(tmp_path: Path) -> None:
    # pyarrow's words ("The zoneinfo module or pytz package must be installed") with a hint on years
    source = tmp_path / "zone.parquet"
    stamps = pa.array([1_430_000_000_000_000], type=pa.timestamp("us", tz="Bogus/Zone"))
    pq.write_table(pa.Table.from_arrays([pa.array(["z"]), stamps], names=["id", "as_of"]), source)
    errors = tmp_path / "e.jsonl"
    status = main(
        [
            "run",
            "--rules",
            RULES,
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.jsonl"),
            "--errors",
            str(errors),
        ]
    )
    assert status == 1
    [problem] = json.loads(errors.read_text(encoding="utf-8"))["diagnostics"]
    assert problem["message"] == "the row's `as_of` cannot be read: its time zone is not one Python knows"
