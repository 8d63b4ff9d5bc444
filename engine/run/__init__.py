"""Billing runs: the compiled rules asked about many scenarios, streamed, on every core or a cluster.

    from engine.ruleset import load_rules
    from engine.run import RunOptions, run

    summary = run(load_rules("rules/"), RunOptions(input="in.jsonl", output="out.jsonl", errors="errors.jsonl"))

Modules: `evaluate` (one record → decision or error record; the workers' job), `io` (JSON Lines
and Parquet readers and writers), `atomic` (files that appear whole), `shares` (local workers
that read their own shares of a JSON Lines file and write their own parts), `batch` (`decide_records`: scenarios
in memory, decided in order), `pool` (in-process
and a local process pool fed by this process: stdin, Parquet), `dask` (`--dask` and
`decide_bag` / `decide_dataframe`), `summary`, `progress`, `runner` (the run itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.run.batch import Outcome, decide_records
    from engine.run.dask import decide_bag, decide_dataframe
    from engine.run.runner import LostScenarios, RunOptions, run
    from engine.run.summary import Summary

__all__ = [
    "LostScenarios",
    "Outcome",
    "RunOptions",
    "Summary",
    "decide_bag",
    "decide_dataframe",
    "decide_records",
    "run",
]

#: Imported on first use: the command line loads this package, and neither `validate` nor a run
#: without Dask should pay for the decision code or for dask (an optional extra).
_HOMES = {
    "LostScenarios": "runner",
    "RunOptions": "runner",
    "run": "runner",
    "Summary": "summary",
    "Outcome": "batch",
    "decide_records": "batch",
    "decide_bag": "dask",
    "decide_dataframe": "dask",
}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"engine.run.{_HOMES[name]}"), name)
