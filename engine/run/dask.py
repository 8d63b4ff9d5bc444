"""Billing runs on a Dask cluster (the `dask` extra: `dask[distributed]`).

Two ways in:

- `billrules run --dask ADDRESS`: the local input is read in chunks, exactly as for a local run,
  and each chunk is decided on the cluster (`Client.submit`), with the RuleSet scattered to every
  worker once; results come back in input order, so the output is byte for byte the local one.
- The Python API, for data already on the cluster: `decide_bag(rules, bag)` and
  `decide_dataframe(rules, ddf)` decide every partition where it lives. The RuleSet enters the
  graph once, as one delayed object that every partition task depends on, so each worker
  receives it once. Records are numbered across partitions as a local run numbers lines (error
  records name the same line), which costs one counting pass over the partitions first.

Workers must be able to import billrules (install it in the workers' environment); give each
worker process one thread (`dask worker ADDRESS --nworkers N --nthreads 1`): deciding is Python
code, and threads of one process share one interpreter lock.

A scheduler that cannot be reached (within `CONNECT_TIMEOUT`), or that goes away during the run,
is `ClusterLost`: one error naming the scheduler, never distributed's tracebacks (its log is
silenced while the run's client lives; until 2026-12-03 an unreachable scheduler was reported as
"cannot write the output", and a lost one printed two or three tracebacks and an internal error).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import math
import re
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from engine.run.batch import Outcome, outcomes
from engine.run.evaluate import Chunk, ChunkResult, Record, UnreadableRow, decide_chunk, is_blank
from engine.run.io import _without_nulls
from engine.run.pool import IN_FLIGHT_PER_WORKER, ordered

#: Seconds to reach the scheduler at the start of a run, and to reach it again when the connection
#: drops during one, before the run ends with an error (distributed's default is 30 s).
CONNECT_TIMEOUT = 10

#: The loggers of distributed and of the libraries under it, silenced while a run's client lives.
_NOISY = ("distributed", "tornado", "asyncio", "bokeh")


class ClusterLost(Exception):
    """The Dask scheduler could not be reached, or was lost during the run (no file is written)."""

    def __init__(self, address: str, reached: bool, exc: BaseException) -> None:
        from distributed import KilledWorker

        detail = " ".join(str(exc).replace("\\n", " ").split()) or type(exc).__name__
        detail = re.sub(r"^in <[^>]*>: ", "", detail)  # (a closed stream's repr: `in <TCP (closed) …>: `)
        self.workers_died = isinstance(exc, KilledWorker)
        if self.workers_died:
            said = f"workers of the Dask cluster at {address} died deciding a chunk ({detail})"
        elif reached and isinstance(exc, concurrent.futures.CancelledError):  # (its tasks cancelled: no more to say)
            said = f"the connection to the Dask scheduler {address} was lost during the run"
        elif reached:
            said = f"the connection to the Dask scheduler {address} was lost during the run ({detail})"
        else:
            said = f"cannot reach the Dask scheduler {address} ({detail})"
        super().__init__(said)
        self.address, self.reached = address, reached


#: how long a scheduler that took the connection has to answer the client's handshake
ANSWER_TIMEOUT = 2 * CONNECT_TIMEOUT


def _connected(client: Any, address: str) -> Any:
    """`Client(address)`, or TimeoutError when nothing answers in `ANSWER_TIMEOUT` seconds.

    `Client`'s own `timeout` bounds the TCP connection only: a program that takes it and never
    speaks (a silent listener, an HTTP server such as the dashboard's port given by mistake) kept a
    run waiting for ever (until 2026-12-03). The client is made in a daemon thread, which a run
    that gives up leaves behind without keeping the process alive."""
    import threading

    made: list[Any] = []
    failed: list[BaseException] = []

    def connect() -> None:
        try:
            made.append(client(address, timeout=CONNECT_TIMEOUT, set_as_default=False))
        except BaseException as exc:  # (raised again in the caller's thread)
            failed.append(exc)

    thread = threading.Thread(target=connect, name="billrules-dask-connect", daemon=True)
    thread.start()
    thread.join(ANSWER_TIMEOUT)
    if failed:
        raise failed[0]
    if not made:
        raise TimeoutError(f"nothing answered as a Dask scheduler within {ANSWER_TIMEOUT} s")
    return made[0]


class DaskCluster:
    """The executor behind `billrules run --dask ADDRESS`."""

    def __init__(self, rules: Any, source: str, address: str) -> None:
        from distributed import Client

        from engine.run.formats import FormatError

        self.address = address
        self.source = source
        self.client: Any = None
        self._levels = _silence_logs()
        try:
            try:
                self.client = _connected(Client, address)
            except (ValueError, TypeError) as exc:  # not an address at all (`nonsense`, `tcp://[::1`)
                raise FormatError(f"--dask {address}: not a scheduler address ({exc})") from exc
            except Exception as exc:  # refused, timed out, no such host
                raise ClusterLost(address, False, exc) from exc
            try:
                self.rules = self.client.scatter(rules, broadcast=True, hash=False)
                self.workers = max(1, sum(self.client.nthreads().values()))
            except Exception as exc:
                if not _lost(self.client, exc):
                    raise
                raise ClusterLost(address, True, exc) from exc
        except BaseException:
            self.close()
            raise

    def results(self, chunks: Iterator[Chunk]) -> Generator[tuple[Chunk, ChunkResult]]:
        def submit(chunk: Chunk) -> Any:
            return self.client.submit(decide_chunk, self.rules, chunk, self.source, pure=False)

        decided = ordered(submit, chunks, self.workers * IN_FLIGHT_PER_WORKER)
        try:
            yield from decided
        except Exception as exc:  # (a worker's own exception, a bug, is raised as it came)
            if not _lost(self.client, exc):
                raise
            raise ClusterLost(self.address, True, exc) from exc

    def close(self) -> None:
        """Close the client (what a lost scheduler makes fail here is not the run's error), and
        let distributed log again."""
        try:
            if self.client is not None:
                with contextlib.suppress(Exception):
                    self.client.close(timeout=CONNECT_TIMEOUT)
        finally:
            self.client = None
            _restore_logs(self._levels)

    def workers_peak_bytes(self) -> int | None:
        return None  # the cluster's own dashboard shows its workers' memory


def _lost(client: Any, exc: BaseException) -> bool:
    """Whether `exc` says the cluster went away (the connection, a cancelled future, workers
    killed), rather than a worker's own exception (a bug, raised as it came)."""
    import asyncio

    from distributed import KilledWorker

    connection = (OSError, asyncio.CancelledError, concurrent.futures.CancelledError, KilledWorker)
    return isinstance(exc, connection) or getattr(client, "status", "running") != "running"


def _silence_logs() -> dict[str, int]:
    """Silence distributed's loggers (and tornado's, asyncio's): the levels they had, to restore."""
    names = [n for n in logging.Logger.manager.loggerDict if n.split(".")[0] in _NOISY]
    levels = {}
    for name in {*_NOISY, *names}:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.CRITICAL + 1)
    return levels


def _restore_logs(levels: dict[str, int]) -> None:
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _rules_delayed(rules: Any) -> Any:
    from dask.delayed import delayed

    return delayed(rules, name=f"billrules-rules-{rules.rules_version}", traverse=False)


def _count(partition: Iterable[Any]) -> list[int]:
    return [sum(1 for _ in partition)]


def _starts(counts: Iterable[int]) -> list[int]:
    """The 1-based number of each partition's first record."""
    starts, total = [], 1
    for count in counts:
        starts.append(total)
        total += int(count)
    return starts


def _decide_partition(rules: Any, records: Iterable[Record], first: int, source: str) -> list[Outcome]:
    items = list(records)
    chunk = Chunk(first, items, sum(not is_blank(r) for r in items))
    return outcomes(decide_chunk(rules, chunk, source))


def decide_bag(rules: Any, bag: Any, source: str = "<bag>") -> Any:
    """A bag of `Outcome`s, one per scenario, in the bag's order, decided where each partition lives.

    The bag's items are raw JSON lines (text or bytes, as `dask.bag.read_text` gives) or
    scenario mappings. Blank lines are skipped, as in a local run, but still numbered.
    """
    import dask.bag as db
    from dask.delayed import delayed

    counts = bag.map_partitions(_count).compute()
    rules_task = _rules_delayed(rules)
    parts = bag.to_delayed()
    decided = [
        delayed(_decide_partition)(rules_task, part, first, source)
        for part, first in zip(parts, _starts(counts), strict=True)
    ]
    return db.from_delayed(decided)


#: Columns of `decide_dataframe`'s result, as in Parquet output, plus the error record.
FRAME_COLUMNS = ("line", "scenario", "rules_version", "decision", "error")


def _frame_records(frame: Any, column: str | None) -> list[Record]:
    if column is not None:
        return [_cell(text, column) for text in frame[column].tolist()]
    return [_without_nulls({k: v for k, v in row.items() if not _missing(v)}) for row in frame.to_dict("records")]


def _cell(text: Any, column: str) -> Record:
    """A scenario column's cell: its text, or a row that holds no scenario (null, blank, not text),
    refused as a local run refuses it (BR601; until 2026-12-02 such rows were dropped here)."""
    if isinstance(text, str | bytes) and not is_blank(text):
        return text
    problem = "null" if _missing(text) else "empty" if isinstance(text, str | bytes) else "not text"
    return UnreadableRow(column, problem, empty=True)


def _missing(value: Any) -> bool:
    """A frame's null: None, NaN, or pandas' own (`pd.NA`, `pd.NaT`), without importing pandas."""
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or type(value).__name__ in ("NAType", "NaTType")
    )


def _decide_frame(
    frame: Any, rules: Any, starts: list[int], column: str | None, source: str, partition_info: Any = None
) -> Any:
    import pandas as pd

    number = partition_info["number"] if partition_info else 0
    rows = []
    for o in _decide_partition(rules, _frame_records(frame, column), starts[number], source):
        decided = o.kind == "decision"
        version = rules.rules_version if decided else None
        rows.append((o.line, o.scenario, version, o.text if decided else None, None if decided else o.text))
    result = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    return result.astype({"line": "int64"})


def decide_dataframe(rules: Any, ddf: Any, column: str | None = "scenario", source: str = "<dataframe>") -> Any:
    """A dask DataFrame with one row per scenario: line, scenario, rules_version, decision, error.

    `column` names a text column holding one scenario JSON per row (as a Parquet `scenario`
    column); with `column=None` each row's columns are the scenario's fields (null = absent).
    A decided row has `decision` (the decision JSON) and no `error`; an undecided one the reverse.
    A row whose `column` cell is null, blank or not text is an error row (BR601), as a local run
    reads a Parquet `scenario` column: every row is accounted for.
    """
    import pandas as pd

    counts = ddf.map_partitions(len).compute()
    meta = pd.DataFrame({name: pd.Series([], dtype="int64" if name == "line" else object) for name in FRAME_COLUMNS})
    return ddf.map_partitions(
        _decide_frame, _rules_delayed(rules), _starts(counts), column, source, meta=meta, align_dataframes=False
    )
