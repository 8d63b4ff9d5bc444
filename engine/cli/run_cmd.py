"""`billrules run --rules DIR --input FILE --output FILE`: a billing run over JSON Lines or Parquet.

Exit 0 every scenario decided, 1 some were not (each is an error record) or the rules have
errors, 2 usage errors, or counts that do not balance (an internal error; no file is written).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from engine.cli.exits import EXIT_BROKEN_PIPE, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, silence
from engine.cli.reporters import TextReporter, add_report_options
from engine.cli.safe_text import printable
from engine.diagnostics import Diagnostic

if TYPE_CHECKING:
    from engine.run.atomic import CommitFailed
    from engine.run.summary import Summary


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return value


#: The most lines a worker decides at a time: a chunk is held in memory whole, and a Parquet
#: reader takes it as a C integer (`--chunk-size 9223372036854775808` was an internal error).
MAX_CHUNK = 1_000_000


def _chunk_size(text: str) -> int:
    value = _positive(text)
    if value > MAX_CHUNK:
        raise argparse.ArgumentTypeError(f"at most {MAX_CHUNK:,} lines a chunk, got {text!r}")
    return value


def add_parser(commands: Any) -> argparse.ArgumentParser:
    from engine.run.formats import FORMATS

    parser: argparse.ArgumentParser = commands.add_parser(
        "run", help="a billing run: decide every scenario of a JSON Lines or Parquet file"
    )
    parser.add_argument(
        "--rules",
        default="rules",
        metavar="DIR",
        help="the rule set (its root folder; default: rules/, else the nearest ruleset.yaml above)",
    )
    parser.add_argument(
        "--detailed-reasons",
        action="store_true",
        help="name each failing condition with its values, as `decide` does (slower); by default a run "
        "names the failing criteria section only, as `decide --brief-reasons`",
    )
    parser.add_argument(
        "--applied-only",
        action="store_true",
        help="list only the discounts that apply or await an action; count the others by status "
        "(as `decide --applied-only`: decisions of a 400-definition rule set shrink from ~150 KB to ~1 KB)",
    )
    parser.add_argument(
        "--input", required=True, metavar="FILE", help="scenarios: .jsonl/.ndjson/.parquet, - for stdin"
    )
    parser.add_argument("--output", required=True, metavar="FILE", help="decisions, in input order; - for stdout")
    parser.add_argument("--format", choices=FORMATS, help="the input's and output's format (default: from extensions)")
    parser.add_argument(
        "--errors", metavar="FILE", help="JSON Lines: one record per scenario not decided (default: on stderr)"
    )
    parser.add_argument("--max-errors", type=_positive, metavar="N", help="stop after N scenarios not decided (exit 1)")
    parser.add_argument("--workers", type=_positive, metavar="N", help="local worker processes (default: every core)")
    parser.add_argument("--dask", metavar="ADDRESS", help="decide on this Dask cluster (scheduler address)")
    parser.add_argument("--summary", metavar="FILE", help="also write the summary as JSON")
    parser.add_argument(
        "--chunk-size",
        type=_chunk_size,
        metavar="N",
        help="lines a worker decides at a time (default: 200; at most 1,000,000)",
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, help="progress bar (default: on a terminal)"
    )
    add_report_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """`billrules run`; SIGTERM ends it as Ctrl-C does from its first instruction (until
    2026-12-02 only once the rules were loaded: a scheduler's SIGTERM before that killed it, exit
    143 and no word)."""
    stop = threading.current_thread() is threading.main_thread()
    # held while modules import and the rules load (an exception raised inside an import could
    # crash the interpreter: one in fifty such stops segfaulted in orjson's), acted on once loaded
    _HELD.clear()  # (before the handler: one held in between is kept)
    previous = signal.signal(signal.SIGTERM, _held) if stop else None
    try:
        return _run(args)
    finally:
        if stop:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    from concurrent.futures.process import BrokenProcessPool

    from engine.cli.decide_cmd import load_rules_or_report
    from engine.cli.html_output import not_over_scenarios
    from engine.run.atomic import AtomicFile, CommitFailed
    from engine.run.dask import CONNECT_TIMEOUT, ClusterLost
    from engine.run.formats import FormatError, format_of, is_stream
    from engine.run.runner import DEFAULT_CHUNK, LostScenarios, RunOptions
    from engine.run.runner import run as run_billing
    from engine.run.shares import WorkerDied

    if args.dask and args.workers:
        raise UsageError("--workers counts local processes; with --dask the cluster's workers decide")
    most = max_workers()
    if args.workers and args.workers > most:
        raise UsageError(f"--workers {args.workers:,}: at most {most} worker processes on this machine")
    if args.input != "-" and Path(args.input).is_dir():
        raise UsageError(f"the input {printable(args.input)} is a folder: name the file of scenarios it holds")
    try:
        format_of(args.input, args.format)
        format_of(args.output, args.format)
    except FormatError as exc:
        raise UsageError(str(exc)) from exc
    if args.input != "-" and not (Path(args.input).is_file() or is_stream(args.input)):
        raise UsageError(f"no such input file: {printable(args.input)}")
    for name in (args.output, args.errors, args.summary):
        if name not in (None, "-") and not Path(name).parent.resolve().is_dir():
            raise UsageError(f"no such folder for {printable(name)}")
    for option, name in (("--errors", args.errors), ("--summary", args.summary)):
        if name == "-":  # (it wrote a file named `-`, and the summary was renamed over the error records)
            # (the parenthesis is said of --errors only: until 2026-12-04 --summary got it too)
            unnamed = " (without --errors, error records go to stderr)" if option == "--errors" else ""
            raise UsageError(f"{option} - : {option} names a file{unnamed}; for standard output give /dev/stdout")
    _distinct_files(args)
    _not_over_the_rules(args, args.rules)
    _not_named_as_scenarios(args)
    for option, name, lines in (
        ("--output", args.output, True),
        ("--errors", args.errors, True),
        ("--summary", args.summary, False),
    ):
        if name not in (None, "-") and not is_stream(name):
            not_over_scenarios(name, option, lines)
    rules = load_rules_or_report(args.rules, args.max_diagnostics)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
        if _HELD:  # a SIGTERM came while loading: the run ends now, as Ctrl-C ends it
            raise KeyboardInterrupt
    if rules is None:
        return EXIT_FINDINGS
    _not_over_the_rules(args, rules.root)  # the rule set found (above `--rules` when it names none)
    if not args.detailed_reasons:  # a billing run wants throughput: the "why not" detail is opt-in
        rules = rules.brief()
    if args.applied_only:
        rules = rules.applied_only()
    stderr_errors = TextReporter(cast(TextIO, _CurrentStderr()), args.max_diagnostics)
    options = RunOptions(
        input=args.input,
        output=args.output,
        errors=args.errors,
        input_format=args.format,
        output_format=args.format,
        workers=args.workers,
        dask=args.dask,
        max_errors=args.max_errors or 0,
        chunk_size=args.chunk_size or DEFAULT_CHUNK,
        progress=args.progress,
    )
    source = "<stdin>" if args.input == "-" else args.input

    def report(items: list[tuple[int, str | None, str]]) -> None:
        stderr_errors.add(d for _, _, text in items for d in _diagnostics(source, text))

    if args.summary:  # tried first: a summary that cannot be written leaves the previous output and errors
        try:
            _writable(args.summary)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            sys.stderr.write(
                f"billrules: error: cannot write the summary {printable(args.summary)}: {printable(reason)}; "
                "no output was written\n"
            )
            return EXIT_USAGE
    summary_file: list[AtomicFile] = []

    def write_summary(summary: Summary) -> AtomicFile:
        """The summary file written whole before the run's files are renamed (a full disk fails
        the run with every previous file kept); returned: the file, renamed with them."""
        try:
            out = AtomicFile(args.summary)
            summary_file.append(out)
            out.file.write((json.dumps(summary.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
            out.prepare()
        except OSError as exc:
            raise _SummaryUnwritable(exc.strerror or str(exc)) from exc
        return out

    try:
        summary = run_billing(rules, options, on_errors=report, before_commit=write_summary if args.summary else None)
    except FormatError as exc:
        raise UsageError(str(exc)) from exc
    except CommitFailed as exc:  # (a rename: the files renamed before it put back, unless `exc.new`)
        sys.stderr.write(f"billrules: error: {_commit_failed(exc, args)}\n")
        return EXIT_USAGE
    except _SummaryUnwritable as exc:
        sys.stderr.write(
            f"billrules: error: cannot write the summary {printable(args.summary)}: {printable(str(exc))}; "
            "no output was written\n"
        )
        return EXIT_USAGE
    except (WorkerDied, BrokenProcessPool) as exc:  # (until 2026-12-02 "internal error … a bug in billrules")
        detail = str(exc) if isinstance(exc, WorkerDied) else "a worker process ended abruptly (killed, or crashed)"
        # (a process pool does not say how: killed from outside, most likely, or crashed)
        sys.stderr.write(
            f"billrules: error: {printable(detail)}; no output was written\n"
            "  hint: a worker killed from outside (the out-of-memory killer, an operator) ends the run; "
            "run it again, with fewer workers (--workers) or smaller chunks (--chunk-size) if memory ran short; "
            "if it ends so again with memory to spare, report it with the input\n"
        )
        return EXIT_USAGE
    except ClusterLost as exc:  # (until 2026-12-03 "cannot write the output …", or tracebacks and an internal error)
        if exc.workers_died:
            hint = (
                "a worker killed (out of memory, by an operator) ends the run; run it again, "
                "with smaller chunks (--chunk-size) if memory ran short"
            )
        elif exc.reached:
            hint = "the scheduler stopped, or the network to it failed; run again once the cluster is up"
        else:
            hint = (
                "check the address, and that a scheduler runs there (`dask scheduler`) and is reachable "
                f"from this machine (billrules waits {CONNECT_TIMEOUT} s for it)"
            )
        sys.stderr.write(f"billrules: error: {printable(str(exc))}; no output was written\n  hint: {hint}\n")
        return EXIT_USAGE
    except LostScenarios as exc:
        sys.stderr.write(
            f"billrules: internal error: scenarios lost: {exc}; no output was written\n"
            "  hint: this is a bug in billrules; please report it with the input that caused it\n"
        )
        return EXIT_USAGE
    except BrokenPipeError:  # `--output -` read by `head`: the reader stopped, as for any command
        silence(sys.stdout)
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        reason = printable(exc.strerror or str(exc))
        named = _target_of(exc.filename, args) if exc.filename is not None else None
        if named is not None:  # a temporary of a target: the target named (not `.out.jsonl.x1y2.partial`)
            what = f"cannot write {named}: {reason}"
        elif exc.filename is not None:
            what = f"{printable(str(exc.filename))}: {reason}"
        elif args.output == "-":  # standard output
            what = f"cannot write the output: {reason}"
        else:  # a flush or a sync, which names no file: the files it may be
            what = f"cannot write {_targets(args)}: {reason}"
        written = "" if args.output == "-" else "; no output was written"  # (stdout streams as it goes)
        sys.stderr.write(f"billrules: error: {what}{written}\n")
        return EXIT_USAGE
    finally:
        for out in summary_file:  # (written: nothing; failed: its temporary removed)
            if not out.done:
                out.discard()
    stderr_errors.close()
    sys.stderr.write(printable_summary(summary.text()))
    if summary.stopped:
        sys.stderr.write(f"billrules: error: the run stopped early: {printable(summary.stopped)}\n")
    if summary.scenarios == 0:  # (an export that failed upstream; `decide`, `test` and `diff` refuse it too)
        sys.stderr.write(
            f"billrules: error: no scenario found in {printable(source)}: nothing was decided\n"
            "  hint: the input holds no line with a scenario (or no row); check what produced it\n"
        )
        return EXIT_FINDINGS
    return EXIT_OK if summary.errors == 0 and not summary.stopped else EXIT_FINDINGS


class _CurrentStderr:
    """Standard error as it is when written to: while the progress bar is drawn, rich's stand-in,
    which prints each line above the bar (the diagnostics of a run without `--errors` were written
    to the stream itself, glued to the bar's line, until 2026-12-02)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.__stderr__.isatty() if sys.__stderr__ is not None else False


class _SummaryUnwritable(Exception):
    """The summary file could not be written at the end of a run (no file of the run is renamed)."""


def _target_of(filename: Any, args: argparse.Namespace) -> str | None:
    """Which of the run's files `filename` is being written for (the file, its temporary
    `.NAME.*.partial`, or its workers' parts `.NAME-parts.*`), as "the output out.jsonl", or None.
    Until 2026-12-02 a failure named the hidden temporary."""
    path = Path(os.fsdecode(filename))
    for what, target in (("the output", args.output), ("the errors file", args.errors), ("the summary", args.summary)):
        if not target or target == "-":
            continue
        for written in {Path(target), Path(os.path.realpath(target))}:  # (a link is written through)
            name, folder = written.name, os.path.abspath(written.parent)
            for part in (path, *path.parents):
                ours = part.name == name or part.name.startswith((f".{name}.", f".{name}-parts."))
                if ours and os.path.abspath(part.parent) == folder:
                    return f"{what} {printable(target)}"
    return None


def _commit_failed(exc: CommitFailed, args: argparse.Namespace) -> str:
    """A rename that failed as the run's files were renamed over their targets, told by target
    (until 2026-12-03 the summary's by its `.partial` temporary) and with what each target holds
    now: every previous file put back ("no output was written"), or which are new (until
    2026-12-03 "no output was written" when the decisions had been renamed already)."""
    named = {}
    for what, target in (("the output", args.output), ("the errors file", args.errors), ("the summary", args.summary)):
        if target and target != "-":
            named[os.path.realpath(target)] = f"{what} {printable(target)}"

    def name(path: Path) -> str:
        return named.get(os.path.realpath(path), printable(str(path)))

    reason = printable(exc.cause.strerror or str(exc.cause))
    said = f"cannot write {name(exc.failed)}: {reason}"
    if not exc.new:  # (decisions streamed to standard output, a pipe or a device went as they came)
        streamed = args.output == "-" or is_stream(args.output)
        return f"{said}; no {'file' if streamed else 'output'} was written (every previous file kept)"
    new = " and ".join(name(path) for path in exc.new)
    kept = " and ".join(name(path) for path in exc.kept)
    one = len(exc.new) == 1
    return (
        f"{said}; {new} {'is' if one else 'are'} this run's all the same (the previous "
        f"{'file' if one else 'files'} could not be put back), "
        f"{kept} {'is as it was' if len(exc.kept) == 1 else 'are as they were'}"
    )


def _targets(args: argparse.Namespace) -> str:
    """The files a run writes, named for a failure that names none (a full disk on a flush)."""
    names = [f"the output {printable(args.output)}"]
    if args.errors and args.errors != "-":
        names.append(f"the errors file {printable(args.errors)}")
    return " or ".join(names)


def _writable(name: str) -> None:
    """Raise OSError unless a file can be made beside `name` (a pipe or a device is written as it is)."""
    from engine.run.atomic import target

    if Path(name).is_dir():
        raise IsADirectoryError(21, "Is a directory")
    path, atomic = target(name)
    if atomic:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)


#: SIGTERMs received while the run's modules import and its rules load (`_held`)
_HELD: list[int] = []


def _held(signum: int, frame: Any) -> None:
    _HELD.append(signum)


def _terminated(signum: int, frame: Any) -> None:
    """SIGTERM ends a run as Ctrl-C does: temporary files removed, previous files kept, workers stopped."""
    raise KeyboardInterrupt


def printable_summary(text: str) -> str:
    return "\n".join(printable(line) for line in text.split("\n"))


def _diagnostics(source: str, text: str) -> list[Diagnostic]:
    """An error record as diagnostics at the input's line (for stderr, without --errors)."""
    record = json.loads(text)
    found = []
    for d in record["diagnostics"]:
        where = f"scenario `{record['scenario']}`" if record["scenario"] is not None else "scenario"
        if d["field"]:
            where += f", field `{d['field']}`"
        column = d["column"] or 1  # (0 in a record: no column known; a diagnostic counts from 1, as `decide`'s)
        message = d["message"]
        said = f"scenario field `{d['field']}`: "
        if d["field"] and message.startswith(said):  # (the field named once: "field `x`: scenario field `x`: …")
            message = message[len(said) :]
        found.append(Diagnostic(source, record["line"], column, d["code"], f"{where}: {message}", d["hint"]))
    return found


def _distinct_files(args: argparse.Namespace) -> None:
    """Each file a run writes is its own, and none is the input: `--errors` on the output's path
    kept only the error records while the summary counted the decisions as written, and
    `--output` on the input destroyed it (a usage error, before anything is read or written).
    Standard output counts as the file it is redirected to: `--output - --errors /dev/stdout
    > out.txt` renamed the error records over the decisions streamed there (until 2026-12-02)."""
    named = [("--input", args.input), ("--output", args.output), ("--errors", args.errors), ("--summary", args.summary)]
    seen: dict[Any, str] = {}
    for option, name in named:
        if name is None or (name == "-" and option == "--input"):
            continue
        key = _file_identity(name)
        if key is None:
            continue
        if key in seen:
            shown = "standard output" if name == "-" else printable(name)
            raise UsageError(f"{option} and {seen[key]} name the same file ({shown}); give each its own")
        if key[0] != "pipe" or option == "--input":  # outputs may share a pipe (cron's one output)
            seen[key] = option


def _not_named_as_scenarios(args: argparse.Namespace) -> None:
    """The errors file and the summary are not named as scenario, expectation or rule files are:
    `--summary ovr/a.yaml` replaced a scenario with the summary's JSON, `--errors ovr/b.yaml` an
    expectation with the error records (until 2026-12-02; `test --coverage-json` refused such
    names already). The error records are JSON lines (`.jsonl` is theirs); the summary is JSON."""
    named = (
        ("--output", args.output, (".yaml", ".yml"), "`.jsonl` or `.parquet`"),  # (accepted until 2026-12-03)
        ("--errors", args.errors, (".yaml", ".yml"), "`.jsonl`"),
        ("--summary", args.summary, (*_SCENARIO_NAMES, ".parquet", ".pq", ".gz"), "`.json`"),
    )
    for option, name, refused, own in named:
        if name not in (None, "-") and not is_stream(name):
            suffixes = {Path(name).suffix.lower(), Path(os.path.realpath(name)).suffix.lower()}
            if suffixes & set(refused):
                real = os.path.realpath(name)
                through = (
                    "" if Path(real).suffix.lower() == Path(name).suffix.lower() else f" leads to {printable(real)},"
                )
                raise UsageError(
                    f"{option} {printable(name)}:{through} named like a scenario or rule file, which it would "
                    f"replace; give it a file of its own, named ending in {own}"
                )
            if option == "--errors" and ".parquet" in suffixes:  # (JSON lines were written under that name)
                raise UsageError(
                    f"--errors {printable(name)}: the error records are JSON Lines, whatever the output's "
                    "format; give the errors file a name ending in `.jsonl`"
                )


#: names of files that hold scenarios, expectations or rules
_SCENARIO_NAMES = (".yaml", ".yml", ".jsonl", ".ndjson")


def _file_identity(name: str) -> Any:
    """What makes two names one file: its device and inode when it exists (standard output's for
    `-`), else its real path; None for a device, written as it comes."""
    try:
        if name == "-":
            found = os.fstat(sys.stdout.fileno())
            return ("file", found.st_dev, found.st_ino) if stat.S_ISREG(found.st_mode) else None
        found = os.stat(name)
        if stat.S_ISCHR(found.st_mode):  # a device (`/dev/null` for both output and errors): written as it comes
            return None
        if stat.S_ISFIFO(found.st_mode):  # keyed against the input only: reading and writing one hung the run
            return ("pipe", found.st_dev, found.st_ino)
        return ("file", found.st_dev, found.st_ino)
    except FileNotFoundError:
        return ("file", os.path.realpath(name))
    except (OSError, ValueError, AttributeError):  # (no real standard output: a test's capture)
        return None


def _not_over_the_rules(args: argparse.Namespace, rules: str) -> None:
    """No file a run writes replaces a rule file or is written among the rules as one would be read
    (`--summary rules/discounts/loyalty.yaml` replaced a discount definition, `--errors
    rules/ruleset.yaml` emptied the rule set's settings, until 2026-12-02; `not_an_input`)."""
    from engine.cli.html_output import not_an_input

    for option, name in (("--output", args.output), ("--errors", args.errors), ("--summary", args.summary)):
        if name not in (None, "-") and not is_stream(name):
            not_an_input(Path(name), option, [rules])


def is_stream(name: str) -> bool:
    """A pipe or a device (`/dev/stdout`, `/dev/null`): written to as it comes (`atomic.target`),
    so two options may share one (`--output /dev/null --errors /dev/null`)."""
    from engine.run.atomic import target

    try:
        return not target(name)[1]
    except OSError:
        return False


def max_workers() -> int:
    """The most local worker processes a run starts: 4 a core (deciding is CPU work; more only
    costs memory), at least 16. `--workers 1000000` once started processes until the machine gave out."""
    return max(16, 4 * (os.cpu_count() or 1))
