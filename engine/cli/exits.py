"""Exit codes and the usage error: the small module every command depends on.

`main` depends on the commands and the commands depend on this module, never on `main`
(no import cycle). Exit codes: 0 clean, 1 findings, 2 usage error.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import errno
import io
import os
import sys
from typing import Any, TextIO, cast

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
#: The reader of standard output went away (`billrules decide … | head`): what a shell reports for
#: a program ended by SIGPIPE (128 + 13), as `yes | head` or `cat big | head` do. The output is
#: incomplete, so not 0; no message, as those tools give none.
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A command-line mistake: reported as `error: …` with exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so `main` reports it, and
    that refuses an option of one value given twice (`_once`)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if action.option_strings and type(action) in _ONCE:
            action.__class__ = _ONCE[type(action)]
        return action

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        self._given: dict[str, str] = {}
        return super().parse_known_args(args, namespace)


def _once(base: type[argparse.Action]) -> type[argparse.Action]:
    """`base`, refusing a second use of its option in one command line: argparse keeps the last
    value in silence, and `run --input A --input B` decided B alone, `--output A --output B` never
    wrote A, `decide --rules X --rules Y` ignored X, `--progress --no-progress` took the second
    (until 2026-12-03). Options meant to repeat (`diff --rules`) append instead."""

    class Once(base):  # type: ignore[misc, valid-type]
        def __call__(
            self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option_string: str | None = None
        ) -> None:
            given: dict[str, str] = parser.__dict__.setdefault("_given", {})
            first = given.get(self.dest)
            if first is not None and option_string is not None:
                if isinstance(self, argparse.BooleanOptionalAction):  # (a flag said twice is said once)
                    if first.startswith("--no-") != option_string.startswith("--no-"):
                        raise UsageError(f"`{first}` and `{option_string}` given together: give one of them")
                elif first == option_string:
                    raise UsageError(f"`{option_string}` given twice: give it once")
                else:
                    raise UsageError(f"`{first}` and `{option_string}` are one option, given twice: give it once")
            if option_string is not None:
                given[self.dest] = option_string
            super().__call__(parser, namespace, values, option_string)

    Once.__name__ = f"Once{base.__name__}"
    return Once


#: the actions of one value whose option may be given once (`_once`; a flag repeated, `--json
#: --json`, says the same thing twice and is taken)
_ONCE: dict[type[argparse.Action], type[argparse.Action]] = {
    base: _once(base) for base in (argparse._StoreAction, argparse.BooleanOptionalAction)
}


def silence(out: TextIO) -> None:
    """Point a closed stdout at /dev/null, so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    except (OSError, ValueError, AttributeError):
        pass


class InputUnreadable(OSError):
    """A scenario input whose read failed (an I/O error): `filename` names it, exit 2."""


def unreadable_input(exc: OSError, names: list[str]) -> OSError:
    """A read error that names no file, raised again naming the input (`names`, the inputs given):
    `validate --scenarios` and `diff --input` said "cannot read or write the output" of an input
    that could not be read (until 2026-12-03). An error that names its file is given back as it is."""
    if exc.filename is not None:
        return exc
    shown = names[0] if len(names) == 1 else "one of " + ", ".join(names)
    return InputUnreadable(exc.errno, exc.strerror or str(exc), shown)


class ClosedStream(OSError):
    """Standard output or input was closed when billrules started (`>&-`, `<&-`): reported as the
    output that cannot be written (or the input that cannot be read), exit 2."""


class _Closed(io.TextIOBase):
    """The stand-in for a standard stream closed at start (Python leaves `sys.stdout` None, and
    every write was an internal error until 2026-12-03): writing or reading it raises
    `ClosedStream`; flushing it does nothing (nothing was written)."""

    def __init__(self, reason: str, filename: str | None) -> None:
        super().__init__()
        self._reason, self._filename = reason, filename

    def _closed(self) -> ClosedStream:
        return ClosedStream(errno.EBADF, self._reason, self._filename)

    def write(self, text: str) -> int:
        raise self._closed()

    def read(self, size: int | None = -1) -> str:
        raise self._closed()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise self._closed()

    @property
    def buffer(self) -> Any:
        raise self._closed()

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _Tolerant:
    """Standard error that never fails a command: a full (`2>/dev/full`) or broken one loses the
    messages, not the run (a run that had committed its files exited 1, and the internal-error
    report itself raised, until 2026-12-03). Once a write fails, the rest is dropped."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._failed = False

    def write(self, text: str) -> int:
        if not self._failed:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                self._give_up()
        return len(text)

    def flush(self) -> None:
        if not self._failed:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._give_up()

    def _give_up(self) -> None:
        self._failed = True
        silence(self._stream)  # (what is still buffered goes nowhere at exit, without a second failure)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _escaped(error: UnicodeError) -> tuple[str, int]:
    """What an output encoding cannot hold, as JSON escapes (`\\u00e9`, a surrogate pair past the
    Basic Multilingual Plane): readable in a text report as Python's `\\xe9` is, and still JSON in
    a JSON one (`decide --json`, `validate --format json` under `PYTHONIOENCODING=ascii`; Python's
    own `backslashreplace` wrote `\\xe9` and `\\U0001f600`, which no JSON reader takes: the review
    of 2026-12-03)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escapes = []
    for character in error.object[error.start : error.end]:
        point = ord(character)
        if point > 0xFFFF:
            point -= 0x10000
            escapes.append(f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}")
        else:
            escapes.append(f"\\u{point:04x}")
    return "".join(escapes), error.end


#: the error handler of the standard streams (`standard_streams`)
ESCAPE = "billrules-json-escape"
codecs.register_error(ESCAPE, _escaped)


def standard_streams() -> None:
    """Make the three standard streams safe to use, once, at the entry point.

    A stream closed at start (`2>&-`, `>&-`, `<&-`) is None in Python: its descriptor is given
    /dev/null (so no file the command opens takes it, and worker processes inherit a valid one);
    closed standard output and input become stand-ins that fail as "cannot write the output" and
    "cannot read the input"; standard error writes nowhere. Standard error never fails a command
    (`_Tolerant`), and text the output's encoding cannot hold (`PYTHONIOENCODING=ascii`, a
    Latin-1 locale) is escaped as `\\u2192` instead of ending the report with an internal error
    (both until 2026-12-03)."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            try:
                devnull = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
                if devnull != fd:
                    os.dup2(devnull, fd)
                    os.close(devnull)
            except OSError:
                pass
    if sys.stdin is None:
        sys.stdin = _Closed("cannot read the input: standard input is closed", "<stdin>")
    if sys.stdout is None:
        sys.stdout = _Closed("standard output is closed", None)
    if sys.stderr is None:
        try:
            sys.stderr = open(2, "w", encoding="utf-8", errors=ESCAPE, closefd=False)  # noqa: SIM115
        except OSError:
            sys.stderr = io.StringIO()
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(OSError, ValueError):
                reconfigure(errors=ESCAPE)
    sys.stderr = cast(TextIO, _Tolerant(sys.stderr))


#: What commands leave alive until the process exits (`keep_until_exit`): a list only in a process
#: of the command line's own (`main.entry_point`), never when `main` is called in another program
KEPT: list[object] | None = None


def keep_until_exit(value: object) -> None:
    """Keep `value` alive until the process ends, and let it end without freeing it.

    `billrules validate` builds a compiled rule set of about a million objects and needs none of
    them once its diagnostics are out: freeing them one by one, when the last reference goes or
    when the interpreter clears its modules at exit, cost about 0.12 s of CPU at 4,000 discount
    definitions. A command that calls this has written everything through `sys.stdout` and
    `sys.stderr`, opened no file it leaves to be closed at exit and started no thread or worker;
    `entry_point` then ends the process once those are flushed, when nothing is registered to run
    at exit (`os._exit`, as mypy ends its own runs), and otherwise exits as before. Outside
    `entry_point` it does nothing."""
    if KEPT is not None:
        KEPT.append(value)
