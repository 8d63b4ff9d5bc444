"""Workers that read their own shares of a JSON Lines file and write their own parts.

The parent stays off the per-scenario path. It cuts the input into shares — byte ranges that
start and end at line boundaries, numbered by their first line — and hands them out as workers
ask; each worker reads its share itself, decides it, writes the decisions to a part file of its
own and sends back counts and its (usually few) error records. The parent merges the parts into
the output in input order by copying files (in the kernel: no decoding, no per-line work), so
the output is byte for byte the one of a single worker.

Shares are large at first and shrink toward the end (guided self-scheduling: a fraction of what
remains, between `MIN_SHARE` and `MAX_SHARE` bytes), so the workers finish together; at most
`AHEAD_PER_WORKER` shares per worker wait to be merged, so the parts on disk stay bounded when
one worker is slow.

Nothing lost, checked per share: the lines the worker read equal the lines the parent counted
in that byte range (newlines, and a last line without one), and its non-blank lines equal its
decisions plus its error records.

Workers are forked when this process has no other thread (Linux): a fork starts in a few
milliseconds with the rule set already in memory, where a spawned worker takes about half a
second to import the engine and receive the rules — a tenth of a 20,000-scenario run. With
another thread alive (whose locks a fork would copy held), they are spawned instead.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from engine.run.atomic import PARTIAL_SUFFIX
from engine.run.evaluate import MAX_LINE_BYTES, Chunk, Timings, decide_chunk, is_blank
from engine.run.io import lines_bytes
from engine.run.pool import workers_starting

#: Shares are cut between these sizes: 64 KiB is about 100 scenarios (tens of milliseconds of
#: work, so the last ones end together); 2 MiB about 3,000 (a second: progress moves, and a
#: part file stays a few MiB).
MIN_SHARE = 64 * 1024
MAX_SHARE = 2 * 1024 * 1024

#: A share is this fraction of what remains, per worker (guided self-scheduling).
SPREAD = 4

#: Shares handed to a worker before it asks again: one being decided, one waiting in its pipe.
QUEUED_PER_WORKER = 2

#: Shares decided ahead of the oldest one not yet merged, per worker (bounds the parts on disk).
AHEAD_PER_WORKER = 4

#: Lines decided together inside a share unless told otherwise (`--chunk-size`, as the parent-fed path).
LINES_PER_CHUNK = 200

_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Share:
    """Lines `first`.. of the input: bytes `start` to `end` (exclusive), `lines` of them as the parent counted."""

    index: int
    start: int
    end: int
    first: int
    lines: int


@dataclass(slots=True)
class ShareResult:
    """What a worker did with a share; its decisions are in its part file (`decision_bytes` long)."""

    index: int
    lines: int = 0  # lines read (blank ones included)
    scenarios: int = 0  # non-blank lines read
    decisions: int = 0
    decision_bytes: int = 0
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)
    #: per error record: the decisions before it in this share, and their bytes (to stop at `--max-errors`)
    cuts: list[tuple[int, int]] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    worker_peak_bytes: int = 0


class WorkerFailed(RuntimeError):
    """A worker died, or failed outside any one scenario (e.g. its part file could not be written)."""


#: signals a process dies of by its own fault: a crash, not a kill from outside
_CRASHES = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL})


class WorkerDied(WorkerFailed):
    """A worker process ended before its work was done: killed from outside (the out-of-memory
    killer, an operator), which the run reports as such, not as a bug of billrules."""


def start_method() -> str:
    """`fork` when this process runs no other thread (Linux), else `spawn`.

    Counted in /proc/self/task, so threads started by C libraries count too.
    """
    if sys.platform != "linux":
        return "spawn"
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:  # pragma: no cover - /proc not mounted
        return "spawn"
    return "fork" if threads == 1 else "spawn"


class Splitter:
    """Cuts a file into shares on demand, each ending just after a newline (or at the end of the file)."""

    def __init__(self, path: str, workers: int) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.size = os.fstat(self.file.fileno()).st_size  # the file as it is now; later growth is not read
        self.workers = workers
        self.offset, self.line, self.index = 0, 1, 0
        self.seconds = 0.0  # CPU time spent finding boundaries and counting lines

    def next(self) -> Share | None:
        if self.offset >= self.size:
            return None
        started = time.process_time()
        want = min(MAX_SHARE, max(MIN_SHARE, (self.size - self.offset) // (SPREAD * self.workers)))
        end = self._line_end(self.offset + want)
        lines = self._count_lines(self.offset, end)
        share = Share(self.index, self.offset, end, self.line, lines)
        self.offset, self.line, self.index = end, self.line + lines, self.index + 1
        self.seconds += time.process_time() - started
        return share

    def _line_end(self, at: int) -> int:
        """Just past the first newline at or after byte `at - 1`; the file's end if there is none."""
        position = at - 1
        while position < self.size:
            block = self._read(position, _BLOCK)
            found = block.find(b"\n")
            if found >= 0:
                return position + found + 1
            if not block:
                break
            position += len(block)
        return self.size

    def _count_lines(self, start: int, end: int) -> int:
        newlines, position, last = 0, start, b"\n"
        while position < end:
            block = self._read(position, min(_BLOCK, end - position))
            if not block:
                break
            newlines += block.count(b"\n")
            position += len(block)
            last = block[-1:]
        return newlines + (last != b"\n")  # a last line without a newline is a line

    def _read(self, position: int, size: int) -> bytes:
        try:
            self.file.seek(position)
            return self.file.read(size)
        except OSError as exc:  # named as the input's (until 2026-12-03 "cannot write the output …")
            raise OSError(exc.errno, f"cannot read the input: {exc.strerror or exc}", self.file.name) from exc

    def close(self) -> None:
        self.file.close()


def read_share(file: IO[bytes], share: Share, chunk: int = LINES_PER_CHUNK) -> Iterator[list[bytes]]:
    """The share's lines, `chunk` at a time, exactly as the parent-fed reader reads them.

    A line longer than `MAX_LINE_BYTES` is kept cut just past the limit (the worker refuses it,
    BR601) and the rest of it skipped, so one hostile line never fills memory.
    """
    file.seek(share.start)
    position, limit = share.start, MAX_LINE_BYTES + 1
    records: list[bytes] = []
    while position < share.end:
        line = file.readline(min(limit, share.end - position))
        if not line:
            break  # the file shrank: the line counts will not balance
        position += len(line)
        if len(line) == limit and not line.endswith(b"\n"):
            position += _skip_rest(file, share.end - position)
        records.append(line)
        if len(records) == chunk:
            yield records
            records = []
    if records:
        yield records


def _skip_rest(file: IO[bytes], most: int) -> int:
    skipped = 0
    while skipped < most:
        piece = file.readline(min(_BLOCK, most - skipped))
        skipped += len(piece)
        if not piece or piece.endswith(b"\n"):
            break
    return skipped


def decide_share(
    rules: Any, path: str, share: Share, part: Path, source: str, chunk: int = LINES_PER_CHUNK
) -> ShareResult:
    """Read `share` of `path`, decide it, write its decisions to `part`; never raises for a bad record."""
    result = ShareResult(share.index)
    timings = result.timings
    with open(path, "rb") as file, open(part, "wb", buffering=_BLOCK) as out:
        lines = read_share(file, share, chunk)
        first = share.first
        while True:
            started = time.process_time()
            records = next(lines, None)
            timings.read += time.process_time() - started
            if records is None:
                break
            scenarios = sum(not is_blank(r) for r in records)
            decided = decide_chunk(rules, Chunk(first, records, scenarios), source)
            started = time.process_time()
            texts = [text for _, _, text in decided.decisions]
            if decided.errors:
                _cuts(result, decided.decisions, decided.errors)
            if texts:
                data = lines_bytes(texts)
                out.write(data)
                result.decision_bytes += len(data)
            result.lines += len(records)
            result.scenarios += scenarios
            result.decisions += len(texts)
            result.errors += decided.errors
            first += len(records)
            timings.add(decided.timings)
            timings.write += time.process_time() - started
    return result


def _cuts(
    result: ShareResult, decisions: list[tuple[int, str, str]], errors: list[tuple[int, str | None, str]]
) -> None:
    """Per error record of a chunk: the share's decisions before it, and their bytes."""
    count, size, i = result.decisions, result.decision_bytes, 0
    for line, _, _ in errors:
        while i < len(decisions) and decisions[i][0] < line:
            size += len(decisions[i][2].encode("utf-8")) + 1
            count += 1
            i += 1
        result.cuts.append((count, size))


def _serve(
    rules: Any, path: str, parts: Path, source: str, chunk: int, conn: multiprocessing.connection.Connection
) -> None:
    """A worker's life: decide the shares it is handed until told to stop (None) or its parent is gone."""
    from engine.run.pool import peak_bytes, worker_signals
    from engine.run.shipping import unwrapped

    worker_signals()
    rules = unwrapped(rules)
    parent = multiprocessing.parent_process()
    if parent is not None:  # a worker never outlives its run
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    while True:
        try:
            share = conn.recv()
        except EOFError:
            return
        if share is None:
            return
        try:
            result = decide_share(rules, path, share, part_path(parts, share.index), source, chunk)
        except Exception as exc:  # sent to the parent, which fails the run with it
            conn.send(_failure(share, exc))
            return
        result.worker_peak_bytes = peak_bytes()
        conn.send(result)


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _failure(share: Share, exc: Exception) -> Exception:
    message = f"the share from line {share.first:,}: {type(exc).__name__}: {exc}"
    return OSError(exc.errno, message) if isinstance(exc, OSError) else WorkerFailed(message)


def part_path(parts: Path, index: int) -> Path:
    return parts / f"{index}.jsonl"


class Shares:
    """`workers` local processes, each reading its own shares of a JSON Lines file and writing its own parts."""

    def __init__(
        self,
        rules: Any,
        path: str,
        source: str,
        workers: int,
        parts_near: str | None,
        chunk: int = LINES_PER_CHUNK,
    ) -> None:
        # a forked worker must not write the parent's pending output again (flushed before the
        # input is opened and the parts folder made: a stdout that fails here left that folder behind, until 2026-12-03)
        sys.stdout.flush()
        sys.stderr.flush()
        self.workers = workers
        self.splitter = Splitter(path, workers)
        self.total = self.splitter.size
        folder = Path(parts_near).parent if parts_near is not None else None
        name = Path(parts_near).name if parts_near is not None else "billrules-run"
        # beside the output (same file system: the kernel copies, or shares, the blocks)
        try:
            self.parts = Path(tempfile.mkdtemp(prefix=f".{name}-parts.", suffix=PARTIAL_SUFFIX, dir=folder))
        except BaseException:  # (a folder that cannot be written: the input was left open)
            self.splitter.close()
            raise
        self.peak = 0
        self.finished = False
        self.processes: list[Any] = []
        self.conns: list[multiprocessing.connection.Connection] = []
        self.shipped: Any = None
        self.method = start_method()
        context: Any = multiprocessing.get_context(self.method)
        gc.freeze()  # keep the collector from touching (and so copying) the parent's objects in a fork
        try:  # (a stop while the rules were shipped left the parts folder, until 2026-12-03)
            from engine.run.shipping import ShippedRules

            self.shipped = ShippedRules(rules)  # (spawned workers read it from a file: `shipping`)
            with workers_starting():
                self._start(context, self.shipped, path, source, chunk)
        except BaseException:
            self.close()
            raise
        finally:
            gc.unfreeze()

    def _start(self, context: Any, rules: Any, path: str, source: str, chunk: int) -> None:
        for _ in range(self.workers):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(rules, path, self.parts, source, chunk, theirs),
                name="billrules-run",
                daemon=True,
            )
            self.conns.append(ours)
            process.start()
            theirs.close()
            self.processes.append(process)

    @property
    def read_seconds(self) -> float:
        return self.splitter.seconds

    def part(self, index: int) -> Path:
        return part_path(self.parts, index)

    def results(self) -> Generator[tuple[Share, ShareResult]]:
        """Every share with its result, in input order, as soon as it and all before it are decided."""
        handed: dict[int, Share] = {}
        done: dict[int, ShareResult] = {}
        queued = dict.fromkeys(self.conns, 0)
        merged = 0  # the index of the next share to yield
        ahead = AHEAD_PER_WORKER * self.workers
        more = True
        while True:
            for conn in self.conns:  # top every worker up
                while more and queued[conn] < QUEUED_PER_WORKER and self.splitter.index < merged + ahead:
                    share = self.splitter.next()
                    if share is None:
                        more = False
                        break
                    handed[share.index] = share
                    self._send(conn, share)
                    queued[conn] += 1
            if merged in done:
                yield handed.pop(merged), done.pop(merged)
                merged += 1
                continue
            if not handed:
                self.finished = True
                return
            for conn, result in self._wait(queued):
                queued[conn] -= 1
                self.peak = max(self.peak, result.worker_peak_bytes)
                done[result.index] = result

    def _send(self, conn: multiprocessing.connection.Connection, share: Share) -> None:
        try:
            conn.send(share)
        except OSError as exc:  # its end of the pipe is closed: it died
            raise self._died(self.processes[self.conns.index(conn)]) from exc

    @staticmethod
    def _died(process: Any) -> WorkerFailed:
        """A worker that ended with shares in hand: killed from outside (SIGKILL, SIGTERM, …), told
        as such (`WorkerDied`); a crash (SIGSEGV, SIGABRT, SIGBUS) or an exit code, a failure of
        billrules (`WorkerFailed`, an internal error)."""
        process.join(timeout=5)
        code = process.exitcode
        if code is not None and code < 0 and -code not in _CRASHES:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
            return WorkerDied(f"a worker process ended ({how}) with shares in hand")
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        return WorkerFailed(f"a worker died ({how}) with shares in hand")

    def _wait(
        self, queued: dict[multiprocessing.connection.Connection, int]
    ) -> list[tuple[multiprocessing.connection.Connection, ShareResult]]:
        busy = [conn for conn in self.conns if queued[conn]]
        sentinels = {p.sentinel: p for p, conn in zip(self.processes, self.conns, strict=True) if queued[conn]}
        ready = multiprocessing.connection.wait([*busy, *sentinels])
        received = []
        for item in ready:
            if isinstance(item, multiprocessing.connection.Connection):
                try:
                    message = item.recv()
                except (EOFError, OSError) as exc:  # its end of the pipe closed (or reset): it died
                    raise self._died(self.processes[self.conns.index(item)]) from exc
                if isinstance(message, Exception):
                    raise message
                received.append((item, message))
        if not received:  # only sentinels: a worker died with shares in hand
            raise self._died(sentinels[next(iter(ready))])
        return received

    def close(self) -> None:
        """Stop the workers (at once, if the run did not finish) and remove the parts."""
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process in self.processes:
            if not self.finished:
                process.terminate()
            process.join(timeout=30)
            if process.is_alive():  # pragma: no cover - a worker deaf to SIGTERM
                process.kill()
                process.join()
        for conn in self.conns:
            conn.close()
        self.splitter.close()
        shutil.rmtree(self.parts, ignore_errors=True)
        if self.shipped is not None:
            self.shipped.remove()

    def workers_peak_bytes(self) -> int | None:
        return self.peak
