"""A billing run: read scenarios in chunks, decide them on the workers, write as results come.

With several local workers and a JSON Lines file in and out, the workers read their own shares
of the file and write their own parts, which this process merges in input order (`shares`);
otherwise (one worker, stdin, Parquet, Dask) this process reads the chunks and writes the results.

Nothing is lost: every chunk (or share) must come back with as many outcomes as it had scenarios
(a share also with as many lines as this process counted in its bytes), and at the end scenarios in = decisions out + errors out, or the run fails (`LostScenarios`) and its
files are not written. Output and errors files are committed atomically only when the run ends
normally (complete, or stopped by `max_errors`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from engine.run.atomic import AtomicFile, commit_together
from engine.run.evaluate import ChunkResult
from engine.run.formats import STDIO, format_of, is_stream
from engine.run.io import LinesSink, Sink, not_parquet_as_lines, open_sink, open_source
from engine.run.pool import Executor, InProcess, LocalPool, default_workers, peak_bytes
from engine.run.progress import progress_for
from engine.run.shares import Shares
from engine.run.summary import Summary

#: Records per chunk: about 0.1 s of work for one worker, small enough for an even spread.
DEFAULT_CHUNK = 200

#: Receives error records (line, scenario id, record JSON) when no errors file is given.
ErrorHandler = Callable[[list[tuple[int, str | None, str]]], None]


class LostScenarios(Exception):
    """The counts do not balance: a bug, reported as an internal error; no file is written."""


@dataclass
class RunOptions:
    input: str
    output: str
    errors: str | None = None  # a JSON Lines file of error records
    input_format: str | None = None  # jsonl | parquet; None: from the extension
    output_format: str | None = None
    workers: int | None = None  # None: every core; 1: in this process
    dask: str | None = None  # a scheduler address: decide on that Dask cluster
    max_errors: int = 0  # stop after this many error records (0: never)
    chunk_size: int = DEFAULT_CHUNK
    progress: bool | None = None  # None: a bar when stderr is a terminal


def make_executor(rules: Any, options: RunOptions, source: str) -> tuple[Executor, str]:
    if options.dask:
        from engine.run.dask import DaskCluster

        return DaskCluster(rules, source, options.dask), f"dask {options.dask}"
    workers = _workers(options)
    if workers == 1:
        return InProcess(rules, source), "in-process"
    return LocalPool(rules, source, workers), "processes"


def run(
    rules: Any,
    options: RunOptions,
    on_errors: ErrorHandler | None = None,
    before_commit: Callable[[Summary], AtomicFile | Callable[[], None]] | None = None,
) -> Summary:
    """Decide every scenario of `options.input` into `options.output`; the summary says what happened.

    Error records go to `options.errors` (a file) or, without one, to `on_errors`; one of them is
    required, so no error is ever dropped. Raises `FormatError` for unusable files (before anything
    is written) and `LostScenarios` if the counts do not balance.

    The files are written whole before any is renamed over its target: the decisions, the errors,
    and what `before_commit` prepares from the finished summary (the command line's summary file;
    it returns that file, renamed with the others, or what renames it after them). A failure on
    any of them (a full disk) leaves every previous file as it was; until 2026-12-02 the decisions
    were renamed before the errors file was written out, and a full disk left new decisions beside
    the previous run's errors. A rename that fails puts back the files already renamed
    (`commit_together`, raising `CommitFailed`); until 2026-12-03 it left the new decisions
    beside the previous errors and summary.
    """
    if options.errors is None and on_errors is None:
        raise ValueError("give an errors file or an error handler: errors are never dropped")
    in_format = format_of(options.input, options.input_format)
    if in_format == "jsonl":
        not_parquet_as_lines(options.input)
    out_format = format_of(options.output, options.output_format)
    started = time.perf_counter()
    split = _splits(options, in_format, out_format)
    source = None if split else open_source(options.input, in_format)
    summary = Summary(
        source.name if source else options.input, options.output, options.errors, rules.rules_version, "", 0
    )
    sink: Sink | None = None
    errors_sink: LinesSink | None = None
    executor: Executor | Shares | None = None
    committed = finished = False
    try:
        # the workers start before any output file is open: a forked worker inherits none
        if source is None:
            near = _parts_near(options.output)
            executor = Shares(rules, options.input, options.input, _workers(options), near, options.chunk_size)
            summary.executor = "processes"
        else:
            executor, summary.executor = make_executor(rules, options, source.name)
        summary.workers = executor.workers
        sink = open_sink(options.output, out_format, rules.rules_version)
        errors_sink = LinesSink(options.errors) if options.errors is not None else None
        write_errors: ErrorHandler = (
            (lambda items: errors_sink.write_texts([text for _, _, text in items]))
            if errors_sink is not None
            else on_errors  # type: ignore[assignment]
        )
        if isinstance(executor, Shares):
            assert isinstance(sink, LinesSink)  # _splits allows JSON Lines output only
            _drive_shares(executor, sink, write_errors, options, summary)
        else:
            assert source is not None  # every other executor is fed by this process
            _drive(executor, source, sink, write_errors, options, summary)
        if (errors_sink is not None and errors_sink.written != summary.errors) or sink.written != summary.decisions:
            raise LostScenarios("the files written do not hold every outcome counted")
        if not summary.balanced:
            raise LostScenarios(
                f"{summary.scenarios:,} scenarios in, but {summary.decisions:,} decisions + {summary.errors:,} errors out"
            )
        sink.prepare()
        if errors_sink is not None:
            errors_sink.prepare()
        _finish(summary, executor, source, started)
        executor = source = None
        finished = True  # (the figures the summary file holds: not measured again below)
        also = before_commit(summary) if before_commit is not None else None
        files = [kept.atomic for kept in (sink, errors_sink) if kept is not None and kept.atomic is not None]
        if isinstance(also, AtomicFile):  # (the summary file: renamed with the others, or none is)
            files.append(also)
            also = None
        with _stops_held():
            commit_together(files)  # (a rename that fails puts back the files renamed: CommitFailed)
            for streamed in (sink, errors_sink):  # (standard output: flushed)
                if streamed is not None and streamed.atomic is None:
                    streamed.commit()
            committed = True
            if also is not None:
                also()
    finally:
        # a second stop while cleaning up (`timeout` and `systemctl stop` send SIGTERM to the run and
        # again to its process group) left the workers' parts folder behind, until 2026-12-03: the
        # clean-up finishes first, and the run ends with the stop already under way
        with _stops_held() if not finished else contextlib.nullcontext():
            if not committed:
                for target in (sink, errors_sink):
                    if target is not None:
                        target.discard()
            if not finished:  # (until 2026-12-02 measured again after the summary file was written:
                # stderr said 11.14 s and 4,487 scenarios/s where the file said 11.127 s and 4,493.5)
                _finish(summary, executor, source, started)
    return summary


_STOPS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _stops_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held while the finished files are renamed over their targets, one after
    the other: a stop that comes then is too late to keep the previous files, and would leave the
    new decisions beside the previous errors or summary (until 2026-12-02 it did, and the run
    said "interrupted"). The renames finish and the run ends as it finished; a stop that came
    meanwhile is dropped (the run had done its work). Only the main thread sets handlers; one set
    from C is left alone."""
    if threading.current_thread() is not threading.main_thread() or any(signal.getsignal(n) is None for n in _STOPS):
        yield
        return
    handlers = {number: signal.signal(number, signal.SIG_IGN) for number in _STOPS}
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def _finish(summary: Summary, executor: Executor | Shares | None, source: Any, started: float) -> None:
    """Stop the workers and close the input (when still open), and count what that says."""
    if executor is not None:
        executor.close()
        summary.workers_peak_bytes = executor.workers_peak_bytes()
        if isinstance(executor, Shares):
            summary.timings.read += executor.read_seconds
    if source is not None:
        source.close()
        summary.timings.read += source.read_seconds
    summary.elapsed = time.perf_counter() - started
    summary.parent_peak_bytes = peak_bytes()


def _workers(options: RunOptions) -> int:
    return options.workers or default_workers()


def _splits(options: RunOptions, in_format: str, out_format: str) -> bool:
    """Whether the workers read their own shares: local processes, a JSON Lines file in, JSON Lines out.

    Standard input cannot be split by offset, and Parquet output cannot be merged by copying
    bytes: those (and Parquet input) are read and written by this process, as Dask runs are.
    """
    local = not options.dask and _workers(options) > 1
    stream = options.input == STDIO or is_stream(options.input)  # (a pipe, `<(zcat …)`: read once, in order)
    return local and not stream and in_format == "jsonl" and out_format == "jsonl" and _sized(options.input)


def _sized(name: str) -> bool:
    """Whether the input's size can be cut into shares: a file whose size reads 0 is read by this
    process, as standard input is — it may hold lines all the same (`/proc/…`, some FUSE and network
    mounts), or fail to read (`/proc/self/mem`); until 2026-12-03 the workers were given no share
    of it, and the run said "0 scenarios in" where `--workers 1` decided its lines."""
    try:
        return os.stat(name).st_size > 0
    except OSError:
        return True  # (the reader says what is wrong with it)


def _parts_near(output: str) -> str | None:
    """Where the workers' part files go: beside the output file, or in the temporary folder for stdout."""
    return None if output == STDIO else output


def _drive(
    executor: Executor, source: Any, sink: Sink, write_errors: ErrorHandler, options: RunOptions, summary: Summary
) -> None:
    progress = progress_for(sys.stderr, source.total, source.unit, options.progress)
    results = executor.results(source.chunks(options.chunk_size))
    try:
        for chunk, result in results:
            if result.first != chunk.first or len(result.decisions) + len(result.errors) != chunk.scenarios:
                raise LostScenarios(
                    f"the chunk from line {chunk.first:,} had {chunk.scenarios:,} scenarios; "
                    f"{len(result.decisions):,} decisions and {len(result.errors):,} errors came back"
                )
            scenarios = chunk.scenarios
            if options.max_errors and summary.errors + len(result.errors) >= options.max_errors:
                scenarios = _stop_at_max_errors(result, options.max_errors - summary.errors, summary)
            written = time.process_time()
            sink.write(result.decisions)
            if result.errors:
                write_errors(result.errors)
            summary.timings.write += time.process_time() - written
            summary.timings.add(result.timings)
            summary.scenarios += scenarios
            summary.decisions += len(result.decisions)
            summary.errors += len(result.errors)
            progress.update(summary.scenarios, summary.errors, source.done)
            if summary.stopped:
                break
    finally:
        results.close()  # cancels chunks still in flight when the run stops early
        progress.close()


def _drive_shares(
    executor: Shares, sink: LinesSink, write_errors: ErrorHandler, options: RunOptions, summary: Summary
) -> None:
    """Merge each share's part into the output in input order; this process touches no scenario."""
    progress = progress_for(sys.stderr, executor.total, "bytes", options.progress)
    results = executor.results()
    try:
        for share, result in results:
            part = executor.part(share.index)
            size = part.stat().st_size
            if (
                result.lines != share.lines
                or result.scenarios != result.decisions + len(result.errors)
                or size != result.decision_bytes
            ):
                raise LostScenarios(
                    f"the share from line {share.first:,} had {share.lines:,} lines; the worker read {result.lines:,} "
                    f"with {result.scenarios:,} scenarios, and {result.decisions:,} decisions "
                    f"({size:,} of {result.decision_bytes:,} bytes written) and {len(result.errors):,} errors came back"
                )
            scenarios, decisions, size, errors = (
                result.scenarios,
                result.decisions,
                result.decision_bytes,
                result.errors,
            )
            if options.max_errors and summary.errors + len(errors) >= options.max_errors:
                keep = options.max_errors - summary.errors
                decisions, size = result.cuts[keep - 1]
                errors = errors[:keep]
                scenarios = decisions + keep
                summary.stopped = _stopped(summary.errors + keep, errors[-1][0])
            written = time.process_time()
            sink.append_part(part, size, decisions)
            part.unlink()
            if errors:
                write_errors(errors)
            summary.timings.write += time.process_time() - written
            summary.timings.add(result.timings)
            summary.scenarios += scenarios
            summary.decisions += decisions
            summary.errors += len(errors)
            progress.update(summary.scenarios, summary.errors, share.end)
            if summary.stopped:
                break
    finally:
        results.close()
        progress.close()


def _stopped(errors: int, line: int) -> str:
    counted = "1 error" if errors == 1 else f"{errors:,} errors"  # (until 2026-12-03 "1 errors")
    return f"{counted} reached the limit (--max-errors) at line {line:,}; nothing after it was written"


def _stop_at_max_errors(result: ChunkResult, keep: int, summary: Summary) -> int:
    """Cut the chunk just after its `keep`-th error; the scenarios that remain in it."""
    last = result.errors[keep - 1][0]
    result.errors = result.errors[:keep]
    result.decisions = [d for d in result.decisions if d[0] < last]
    summary.stopped = _stopped(summary.errors + keep, last)
    return len(result.decisions) + len(result.errors)
