"""Scenarios decided in batches from Python, without files: `decide_records`.

A service or a notebook holding scenarios in memory (mappings, or JSON lines as text or bytes)
gets one `Outcome` per scenario, in input order, as a billing run would write it: a decision's
JSON text, or the error record of a scenario that cannot be decided (never an exception for a
bad scenario). The records are read lazily, a chunk at a time, so an endless source streams in
constant memory; with `workers` above 1 the chunks are decided by a pool of processes, as
`billrules run --workers N` decides them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, NamedTuple

from engine.run.evaluate import Chunk, ChunkResult, Record, is_blank

#: records per chunk: large enough that a pool's hand-over costs little, small enough to stream
DEFAULT_CHUNK = 500


class Outcome(NamedTuple):
    """One scenario's outcome: kind "decision" (text: the decision JSON) or "error" (text: the error record)."""

    kind: str
    line: int
    scenario: str | None
    text: str


def outcomes(result: ChunkResult) -> list[Outcome]:
    """A chunk's decisions and errors merged back into input order."""
    merged = [Outcome("decision", line, scenario, text) for line, scenario, text in result.decisions]
    merged += [Outcome("error", line, scenario, text) for line, scenario, text in result.errors]
    merged.sort(key=lambda o: o.line)
    return merged


def decide_records(
    rules: Any,
    records: Iterable[Record],
    *,
    workers: int = 1,
    chunk_size: int = DEFAULT_CHUNK,
) -> Iterator[Outcome]:
    """An `Outcome` for every record, in order: each a scenario mapping, or its JSON text (`str`
    or `bytes`, read as a billing run reads a line). Records are numbered from 1 (`Outcome.line`,
    and the `line` an error record names); blank text is numbered and skipped, as a run skips a
    blank line.

    `rules` decides as it is: `rules.brief()` for a run's brief reasons. With `workers` > 1 the
    chunks go to that many processes (started when the first outcome is asked for, ended when
    the iterator is exhausted or closed). Raises `LostScenarios` should a chunk not give back an
    outcome for each of its scenarios (a bug: nothing is skipped in silence)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a whole number of at least 1, not {chunk_size!r}")
    if isinstance(records, str | bytes):
        raise TypeError("records must be an iterable of scenarios (mappings, JSON text or bytes), not one text")
    return _outcomes(rules, iter(records), workers, chunk_size)


def _outcomes(rules: Any, records: Iterator[Any], workers: int, size: int) -> Iterator[Outcome]:
    from engine.run.pool import InProcess, LocalPool
    from engine.run.runner import LostScenarios

    source = "<records>"  # (a diagnostic's file, which an error record leaves out: it names the line)
    reader = _Reader(records)
    executor = InProcess(rules, source) if workers == 1 else LocalPool(rules, source, workers)
    try:
        chunks = reader.chunks(size)
        results: Iterator[tuple[Chunk, ChunkResult]] = (
            _pooled(executor, rules, source, chunks) if isinstance(executor, LocalPool) else executor.results(chunks)
        )
        for chunk, result in results:
            found = outcomes(result)
            if len(found) != chunk.scenarios or result.first != chunk.first:
                raise LostScenarios(
                    f"the chunk from record {chunk.first:,} had {chunk.scenarios:,} scenarios; "
                    f"{len(found):,} outcomes came back"
                )
            yield from found
    finally:
        executor.close()
    if reader.failure is not None:  # the source failed: after the outcomes of what it gave whole
        raise reader.failure


class _Reader:
    """The records in chunks, each record as the run's evaluator takes it; a source that raises
    ends the chunks (its exception kept, raised once the chunks read before it are decided: a pool
    had them in flight, and they were lost)."""

    def __init__(self, records: Iterator[Any]) -> None:
        self.records = records
        self.failure: BaseException | None = None

    def chunks(self, size: int) -> Iterator[Chunk]:
        first = 1
        while True:
            try:
                items = [_as_record(record) for record in islice(self.records, size)]
            except Exception as exc:
                self.failure = exc
                return
            if not items:
                return
            yield Chunk(first, items, sum(not is_blank(record) for record in items))
            first += len(items)


def _as_record(record: Any) -> Any:
    """A mapping of another class as a dict, a buffer as bytes: as `RuleSet.decide` takes them;
    anything else as it is (the evaluator refuses what is neither a mapping nor text, BR601)."""
    if isinstance(record, dict | str | bytes):
        return record
    if isinstance(record, Mapping):
        return dict(record)
    if isinstance(record, bytearray | memoryview):
        return bytes(record)
    return record


def _pooled(pool: Any, rules: Any, source: str, chunks: Iterator[Chunk]) -> Iterator[tuple[Chunk, ChunkResult]]:
    """`pool.results(chunks)`, where a chunk the pool cannot decide — one it cannot send a
    worker, a mapping holding a function — is decided in this process instead, as one worker
    decides it (until 2026-12-03 the pool's error ended the batch, every outcome in flight lost)."""
    from engine.run.pool import IN_FLIGHT_PER_WORKER, decide_in_worker, ordered

    def submit(chunk: Chunk) -> Any:
        return _HereIfNot(pool.pool.submit(decide_in_worker, chunk, source), rules, chunk, source)

    yield from ordered(submit, chunks, pool.workers * IN_FLIGHT_PER_WORKER)


class _HereIfNot:
    """A worker's future for a chunk; its result, or the chunk decided here if the pool failed it."""

    def __init__(self, future: Any, rules: Any, chunk: Chunk, source: str) -> None:
        self.future, self.rules, self.chunk, self.source = future, rules, chunk, source

    def result(self) -> ChunkResult:
        from concurrent.futures.process import BrokenProcessPool

        from engine.run.evaluate import decide_chunk

        try:
            found: ChunkResult = self.future.result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): the batch fails, told
            raise
        except Exception:  # (a bug of the engine's raises here again, and is not hidden)
            found = decide_chunk(self.rules, self.chunk, self.source)
        return found

    def cancel(self) -> bool:
        return bool(self.future.cancel())
