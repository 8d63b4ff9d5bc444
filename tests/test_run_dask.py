"""Billing runs on Dask (the `dask` extra): the same bytes as a local run, decided on a LocalCluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")
db = pytest.importorskip("dask.bag")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

from engine.cli.main import main  # noqa: E402
from engine.ruleset import RuleSet, load_rules  # noqa: E402
from engine.run import RunOptions, decide_bag, decide_dataframe, run  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES).brief()  # a run decides with brief reasons unless --detailed-reasons


@pytest.fixture(scope="module")
def lines() -> list[str]:
    """120 scenarios of the shipped input with bad lines among them (and a blank one)."""
    good = NIGHTLY.read_text(encoding="utf-8").splitlines()[:120]
    good[7] = "not json"
    good[30] = '{"id": "z", "as_of": "2015-07-01T00:00:00Z"}'  # asks nothing: BR604
    good[61] = ""
    return good


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A small in-process cluster, fast to start. Its scheduler's HTTP server takes a free port
    (`:0`): with `dashboard_address=None` it still took 8787, and another program on the machine
    holding that port (a user's own Dask dashboard) failed the suite with a warning."""
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def local(rules: RuleSet, lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The local run (two processes) every Dask result must equal."""
    folder = tmp_path_factory.mktemp("local")
    source = folder / "in.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    output, errors = folder / "out.jsonl", folder / "errors.jsonl"
    run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=2, chunk_size=16, progress=False))
    return {
        "source": source,
        "decisions": output.read_text(encoding="utf-8").splitlines(),
        "errors": errors.read_text(encoding="utf-8").splitlines(),
    }


def test_decide_bag_equals_the_local_run(client: Any, rules: RuleSet, lines: list[str], local: dict[str, Any]) -> None:
    bag = db.from_sequence(lines, npartitions=5)
    outcomes = decide_bag(rules, bag).compute()
    assert [o.text for o in outcomes if o.kind == "decision"] == local["decisions"]
    assert [o.text for o in outcomes if o.kind == "error"] == local["errors"]
    assert [o.line for o in outcomes if o.kind == "error"] == [8, 31]  # numbered across partitions
    assert len(outcomes) == len(lines) - 1  # every scenario; the blank line is none


def test_decide_bag_from_text_files_where_they_live(client: Any, rules: RuleSet, local: dict[str, Any]) -> None:
    bag = db.read_text(str(local["source"]), blocksize=20_000)
    assert bag.npartitions > 1
    outcomes = decide_bag(rules, bag).compute()
    assert [o.text for o in outcomes if o.kind == "decision"] == local["decisions"]
    assert [o.text for o in outcomes if o.kind == "error"] == local["errors"]


def test_the_rule_set_enters_the_graph_once(rules: RuleSet, lines: list[str]) -> None:
    graph = dict(decide_bag(rules, db.from_sequence(lines, npartitions=5)).__dask_graph__())
    assert [key for key in graph if "billrules-rules" in str(key)] == [f"billrules-rules-{rules.rules_version}"]


def test_decide_dataframe_equals_the_local_run(
    client: Any, rules: RuleSet, lines: list[str], local: dict[str, Any], tmp_path: Path
) -> None:
    """A frame's `scenario` column is read as a local run reads a Parquet `scenario` column: a
    null, blank or not-text cell is a row refused (BR601), never dropped (until 2026-12-02 the
    frame dropped such rows)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    cells: list[Any] = [*lines[:100], None, "   ", "\ufeff", *lines[100:]]
    ddf = dd.from_pandas(pd.DataFrame({"scenario": cells}), npartitions=3)
    frame = decide_dataframe(rules, ddf).compute()
    assert list(frame.columns) == ["line", "scenario", "rules_version", "decision", "error"]
    source = tmp_path / "in.parquet"
    pq.write_table(pa.table({"scenario": pa.array(cells, pa.string())}), source)
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=1, progress=False))
    decided = frame[frame["decision"].notna()]
    assert decided["decision"].tolist() == output.read_text(encoding="utf-8").splitlines() == local["decisions"]
    assert set(decided["rules_version"]) == {rules.rules_version}
    assert frame[frame["error"].notna()]["error"].tolist() == errors.read_text(encoding="utf-8").splitlines()
    assert frame["line"].tolist() == list(range(1, len(cells) + 1))  # every row: the blank one too
    refused = [json.loads(e) for e in frame[frame["error"].notna()]["error"]]
    assert [(r["line"], r["diagnostics"][0]["code"]) for r in refused if r["line"] in (62, 101, 102, 103)] == [
        (62, "BR601"),
        (101, "BR601"),
        (102, "BR601"),
        (103, "BR601"),
    ]


def test_run_command_on_a_cluster_equals_the_local_run(
    client: Any, local: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    address = client.scheduler.address
    files = ["--input", str(local["source"]), "--output", str(output), "--errors", str(errors)]
    code = main(["run", "--rules", RULES, *files, "--dask", address, "--chunk-size", "16"])
    assert code == 1  # two scenarios were not decided
    assert output.read_text(encoding="utf-8").splitlines() == local["decisions"]
    assert errors.read_text(encoding="utf-8").splitlines() == local["errors"]
    assert f"2 workers (dask {address})" in capsys.readouterr().err


def test_decision_text_is_json(local: dict[str, Any]) -> None:
    assert all(json.loads(line)["rules_version"] for line in local["decisions"])
