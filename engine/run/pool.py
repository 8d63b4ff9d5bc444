"""Where chunks are decided: in this process, in a pool of local processes, or on a Dask cluster.

Every executor takes chunks in input order and gives their results back in the same order, with
a bounded number of chunks in flight (so memory does not grow with the input) and enough of them
to keep every worker busy. The RuleSet reaches each worker once: through the pool initializer
(local processes), or scattered to every Dask worker once (`client.scatter(..., broadcast=True)`).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from engine.run.evaluate import Chunk, ChunkResult, decide_chunk

#: Chunks in flight per worker: one being decided, one queued, one being returned.
IN_FLIGHT_PER_WORKER = 3


class Executor(Protocol):
    workers: int

    def results(self, chunks: Iterator[Chunk]) -> Generator[tuple[Chunk, ChunkResult]]: ...

    def close(self) -> None: ...

    def workers_peak_bytes(self) -> int | None: ...


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def ordered(submit: Callable[[Chunk], Any], chunks: Iterator[Chunk], in_flight: int) -> Generator[tuple[Chunk, Any]]:
    """Submit chunks, at most `in_flight` at once, and yield (chunk, result) in submission order.

    Leaving early (the consumer stops) cancels what is still pending.
    """
    pending: deque[tuple[Chunk, Any]] = deque()
    try:
        for chunk in chunks:
            pending.append((chunk, submit(chunk)))
            if len(pending) >= in_flight:
                chunk, future = pending.popleft()
                yield chunk, future.result()
        while pending:
            chunk, future = pending.popleft()
            yield chunk, future.result()
    finally:
        for _, future in pending:
            future.cancel()


class InProcess:
    """One worker: this process (no pool, nothing to ship)."""

    workers = 1

    def __init__(self, rules: Any, source: str) -> None:
        self.rules, self.source = rules, source

    def results(self, chunks: Iterator[Chunk]) -> Generator[tuple[Chunk, ChunkResult]]:
        for chunk in chunks:
            yield chunk, decide_chunk(self.rules, chunk, self.source)

    def close(self) -> None:
        pass

    def workers_peak_bytes(self) -> int | None:
        return None


# The RuleSet of this worker process, set once by the pool initializer.
_RULES: Any = None


def _initialise(rules: Any) -> None:
    global _RULES
    _RULES = rules


def _decide(chunk: Chunk, source: str) -> ChunkResult:
    return decide_chunk(_RULES, chunk, source)


class LocalPool:
    """`workers` processes (spawned: no inherited threads or locks); the RuleSet goes to each once."""

    def __init__(self, rules: Any, source: str, workers: int) -> None:
        self.workers, self.source = workers, source
        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_initialise, initargs=(rules,))

    def results(self, chunks: Iterator[Chunk]) -> Generator[tuple[Chunk, ChunkResult]]:
        def submit(chunk: Chunk) -> Any:
            return self.pool.submit(_decide, chunk, self.source)

        yield from ordered(submit, chunks, self.workers * IN_FLIGHT_PER_WORKER)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def workers_peak_bytes(self) -> int | None:
        """Largest resident set of any finished child process (Linux reports KiB)."""
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def peak_bytes() -> int:
    """This process's largest resident set so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
