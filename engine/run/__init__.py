"""Billing runs: the compiled rules asked about many scenarios, streamed, on every core or a cluster.

    from engine.ruleset import load_rules
    from engine.run import RunOptions, run

    summary = run(load_rules("rules/"), RunOptions(input="in.jsonl", output="out.jsonl", errors="errors.jsonl"))

Modules: `evaluate` (one record → decision or error record; the workers' job), `io` (JSON Lines
and Parquet readers and writers), `atomic` (files that appear whole), `pool` (in-process and
local process pool), `dask` (`--dask` and `decide_bag` / `decide_dataframe`), `summary`,
`progress`, `runner` (the run itself).
"""

from __future__ import annotations

from engine.run.runner import LostScenarios, RunOptions, run
from engine.run.summary import Summary

__all__ = ["LostScenarios", "RunOptions", "Summary", "decide_bag", "decide_dataframe", "run"]


def __getattr__(name: str) -> object:
    if name in ("decide_bag", "decide_dataframe"):  # dask is an optional extra: imported on use
        from engine.run import dask

        return getattr(dask, name)
    raise AttributeError(name)
