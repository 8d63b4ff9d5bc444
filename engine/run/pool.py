"""Where chunks are decided: in this process, in a pool of local processes, or on a Dask cluster.

Every executor takes chunks in input order and gives their results back in the same order, with
a bounded number of chunks in flight (so memory does not grow with the input) and enough of them
to keep every worker busy. The RuleSet reaches each worker once: through the pool initializer
(local processes), or scattered to every Dask worker once (`client.scatter(..., broadcast=True)`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

from engine.run.evaluate import Chunk, ChunkResult, decide_chunk
from engine.run.shipping import ShippedRules, unwrapped

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
    _RULES = unwrapped(rules)
    worker_signals()
    parent = multiprocessing.parent_process()
    if parent is not None:  # a worker never outlives its run (killed parent: no orphans left deciding)
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


_HELD = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def workers_starting() -> Iterator[None]:
    """Ctrl-C and SIGTERM held while worker processes start, and acted on once they have started.

    A worker starts with this thread's signal mask, these two blocked: Ctrl-C sent to the whole
    process group does not interrupt a spawned worker while it imports and unpickles the rule set
    (a `KeyboardInterrupt` traceback), and this process does not stop in the middle of handing a
    worker its start-up data (a worker reading half of it printed an `UnpicklingError` traceback:
    both until 2026-12-02, on Parquet runs, whose workers are spawned). Here such a signal is
    noted, by this thread's handlers, whichever thread it reaches; afterwards it is raised again,
    for the handler it would have met (a run's: `KeyboardInterrupt`; an ignored one stays
    ignored). `worker_signals` sets a worker's own."""
    if (
        threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "pthread_sigmask")
        or any(signal.getsignal(number) is None for number in _HELD)  # (a handler set from C: not restorable)
    ):
        yield
        return
    caught: list[int] = []
    handlers = {number: signal.signal(number, lambda n, _frame: caught.append(n)) for number in _HELD}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # (one held meanwhile is noted now)
        for number, handler in handlers.items():
            signal.signal(number, handler)
        for held in dict.fromkeys(caught):  # each as it came, to the handler it would have met
            signal.raise_signal(held)


def worker_signals() -> None:
    """A worker's own signals: Ctrl-C is the parent's to handle (one message, no worker
    tracebacks), SIGTERM ends it (a forked worker inherits the parent's handler); both were held
    while it started (`workers_starting`)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


def decide_in_worker(chunk: Chunk, source: str) -> ChunkResult:
    """A pool worker's decision of one chunk, with its peak memory."""
    result = decide_chunk(_RULES, chunk, source)
    result.worker_peak_bytes = peak_bytes()
    return result


class LocalPool:
    """`workers` processes fed by this process; the RuleSet goes to each once.

    Forked when this process runs no other thread (they start at once, here, before any output
    file is open or a progress bar's thread runs), else spawned (`shares.start_method`).
    """

    def __init__(self, rules: Any, source: str, workers: int) -> None:
        from engine.run.shares import start_method

        self.workers, self.source = workers, source
        method = start_method()
        context = multiprocessing.get_context(method)
        sys.stdout.flush()  # a forked worker must not write the parent's pending output again
        sys.stderr.flush()
        self.shipped = ShippedRules(rules)  # (spawned workers read it from a file: `shipping`)
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_initialise, initargs=(self.shipped,))
        try:
            with workers_starting():
                if method == "fork":
                    self.pool.submit(int)  # forks every worker now, while this process still runs no other thread
                else:  # one spawned a task while none is idle: every worker now, as they start slowly
                    for _ in range(workers):  # (a pool starts workers as it needs them: the rules'
                        self.pool.submit(int)  # file stays until `close`)
        except BaseException:
            self._kill_workers()
            self.pool.shutdown(wait=True, cancel_futures=True)  # (its thread done before the interpreter's exit)
            self.shipped.remove()
            raise
        self.peak = 0  # the largest worker's peak resident set, as the workers report it

    def _kill_workers(self) -> None:
        """End every worker the pool started, at once (SIGKILL: nothing of theirs is kept). A stop
        while workers start (SIGTERM to the process group, as `systemctl stop` sends it) killed a
        worker as it unblocked the signal, and the pool, broken, terminated the workers it knew
        of while this thread was still starting the next one: the run and that worker then
        waited for each other for ever (until 2026-12-02). This thread is the only one that
        starts workers, and it is done starting them here."""
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, ValueError, AttributeError):  # (ended already, or never started)
                process.kill()

    def results(self, chunks: Iterator[Chunk]) -> Generator[tuple[Chunk, ChunkResult]]:
        def submit(chunk: Chunk) -> Any:
            return self.pool.submit(decide_in_worker, chunk, self.source)

        for chunk, result in ordered(submit, chunks, self.workers * IN_FLIGHT_PER_WORKER):
            self.peak = max(self.peak, result.worker_peak_bytes)
            yield chunk, result

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.shipped.remove()

    def workers_peak_bytes(self) -> int | None:
        return self.peak


def peak_bytes() -> int:
    """This process's largest resident set so far.

    Linux: `VmHWM`, the high-water mark of this process's own memory. (`ru_maxrss` would carry
    over the size of the process that forked it, across `exec`.) Elsewhere: `ru_maxrss`.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
