"""Entry point: parse arguments, dispatch to a command, and keep tracebacks from analysts.

Each command module owns its arguments (`add_parser`) and its execution (`run`); exit codes
and the usage error live in `exits`, so the commands never import this module.
Exit codes: 0 clean, 1 findings, 2 usage error (or an internal error, reported as such).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from engine.cli.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ArgumentParser,
    ClosedStream,
    InputUnreadable,
    UsageError,
    silence,
    standard_streams,
)
from engine.cli.safe_text import printable

#: The commands (name → module), in the order `--help` lists them.
COMMANDS = {
    name: f"engine.cli.{name}_cmd" for name in ("validate", "decide", "run", "test", "diff", "coupons", "schema")
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. Given the arguments, it holds only the command they name when
    they name one (a pre-commit hook's `billrules validate` does not import the other commands,
    about 10 ms); without one, or with `--help` or a mistyped command, every command."""
    parser = ArgumentParser(
        prog="billrules", description="Billing rules engine: validate rule files and decide billing scenarios."
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the version and the hash of the rule set in rules/"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    named = next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), None)
    for name in [named] if named in COMMANDS else COMMANDS:
        command = importlib.import_module(COMMANDS[name])
        command.add_parser(commands).set_defaults(run=command.run)
    return parser


class _Version(argparse.Action):
    """`billrules --version`: the package version, and the content hash of the rule set in `rules/`
    (or the nearest `ruleset.yaml`) — the `rules_version` its decisions carry. Only the files are
    read (no compile), so it answers at once."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("billrules")
        except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
            number = "unknown"
        sys.stdout.write(f"billrules {number}\n")
        sys.stdout.write(rules_hash_line() + "\n")
        parser.exit(0)


def rules_hash_line() -> str:
    from pathlib import Path

    from engine.cli.validate_cmd import default_rules
    from engine.load import display_path, holds_ruleset
    from engine.pipeline import Compilation, stage_load

    root = default_rules()
    if root is None or not holds_ruleset(root):
        return "rules: no rule set here (no rules/ruleset.yaml, no ruleset.yaml above this folder)"
    compilation = Compilation(Path(root).resolve())
    stage_load(compilation)
    return f"rules: {printable(display_path(root))} {compilation.version_hash()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; any warning a library still emits becomes one escaped line, never raw text."""
    from engine.values import in_engine_context

    with in_engine_context(), warnings.catch_warnings():  # every command in the engine's arithmetic
        warnings.showwarning = _report_warning
        return _run(argv)


def _report_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    sys.stderr.write(f"billrules: warning: {printable(str(message))} ({category.__name__})\n")


def _run(argv: Sequence[str] | None) -> int:
    try:
        argv = _files_named_like_options(list(sys.argv[1:] if argv is None else argv))
        args = build_parser(argv).parse_args(argv)
        if args.command is None:
            raise UsageError(
                "a command is required (validate, decide, run, test, diff, coupons, schema); see `billrules --help`"
            )
        _no_empty_names(args)
        status: int = args.run(args)
        sys.stdout.flush()  # a full disk or a dead device fails here, where it is reported, not at exit
        return status
    except UsageError as exc:
        sys.stderr.write(f"billrules: error: {printable(str(exc))}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("billrules: interrupted\n")
        return EXIT_INTERRUPTED
    except InputUnreadable as exc:
        where = printable(str(exc.filename))
        sys.stderr.write(f"billrules: error: cannot read the input {where}: {printable(exc.strerror or str(exc))}\n")
        return EXIT_USAGE
    except ClosedStream as exc:  # `>&-`, `<&-` (an internal error until 2026-12-03)
        where = f"{exc.filename}: {exc.strerror}" if exc.filename else f"cannot write the output: {exc.strerror}"
        sys.stderr.write(f"billrules: error: {where}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of stdout stopped early (`… | head`): not a bug to report
        silence(sys.stdout)
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if exc.errno not in _OUTPUT_FAILURES:
            return _internal_error(exc)
        silence(sys.stdout)  # what is still buffered cannot be written either
        where = printable(str(exc.filename)) if exc.filename is not None else "the output"
        verb = "cannot write" if exc.errno in _WRITE_FAILURES else "cannot read or write"
        sys.stderr.write(f"billrules: error: {verb} {where}: {printable(exc.strerror or str(exc))}\n")
        return EXIT_USAGE
    except Exception as exc:  # the one boundary: never show an analyst a traceback
        return _internal_error(exc)


#: the arguments that name a file or a folder (`--dask` a scheduler), as a message names them
_NAMES = {
    "paths": "PATH",
    "scenarios": "scenario path",
    "rules": "--rules",
    "input": "--input",
    "output": "--output",
    "errors": "--errors",
    "summary": "--summary",
    "html": "--html",
    "coverage_json": "--coverage-json",
    "dask": "--dask",
}


def _no_empty_names(args: argparse.Namespace) -> None:
    """An empty argument where a file, a folder or an address is named is a usage error: the
    operating system reads `""` as the current folder (`validate ""` validated it, `run --rules ""`
    looked for a rule set there, `--dask ""` ran locally: until 2026-12-03)."""
    for dest, shown in _NAMES.items():
        given = getattr(args, dest, None)
        if given == "" or (isinstance(given, list) and "" in given):
            folder = "" if dest == "dask" else "; the current folder is `.`"
            raise UsageError(f'an empty {shown} ("") names nothing{folder}')


def _files_named_like_options(argv: list[str]) -> list[str]:
    """`validate`'s arguments with an existing YAML file whose name starts with `-` written as a
    path (`./-notes.yaml`): the pre-commit hook passes a commit's file names after its options,
    and argparse took `-notes.yaml` for an option, a usage error that blocked the commit (until
    2026-12-02). Nothing else changes: after `--` every argument is a path already."""
    if not argv or argv[0] != "validate":
        return argv
    out = argv[:1]
    for i, arg in enumerate(argv[1:], 1):
        if arg == "--":
            return out + argv[i:]
        named_like_option = arg.startswith("-") and arg.lower().endswith((".yaml", ".yml"))
        value = argv[i - 1] in _ONE_VALUE  # (an option's value is the option's to judge: `--format -x.yaml`)
        out.append(f"./{arg}" if named_like_option and not value and os.path.lexists(arg) else arg)
    return out


#: `validate`'s options that take one value
_ONE_VALUE = frozenset({"--format", "--rules", "--max-diagnostics"})


#: write failures of the machine, not of billrules: a full disk, a quota, an I/O error
_OUTPUT_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG, errno.EROFS})
#: those only a write meets (an I/O error may come from reading an input too)
_WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def _internal_error(exc: BaseException) -> int:
    with contextlib.suppress(Exception):  # (the report never raises: without stderr, the exit code tells)
        sys.stderr.write(
            f"billrules: internal error: {type(exc).__name__}: {printable(str(exc))}\n"
            "  hint: this is a bug in billrules; please report it with the input that caused it\n"
        )
    return EXIT_USAGE


def entry_point() -> None:
    from engine.cli import exits

    standard_streams()  # closed, full or non-UTF-8 standard streams: see `exits.standard_streams`
    exits.KEPT = []  # (a process of its own: see `_nothing_left_to_do`)
    status = main()
    # Leave the objects still alive out of the collection the interpreter runs while it shuts
    # down: it walks every one of them (the loaded modules' classes, pydantic's schemas, the rule
    # set) to find no garbage, about 40 ms of CPU of a 250 ms `billrules validate`. Files and
    # buffers are flushed and closed at exit as before; only that traversal is skipped.
    gc.freeze()
    if exits.KEPT and _nothing_left_to_do():
        # what the command kept alive (`keep_until_exit`) is left to the operating system with
        # the rest of the process, instead of being freed object by object
        os._exit(status)
    sys.exit(status)


def _is_billrules_itself(program: Any) -> bool:
    """Whether the `__main__` module is `python -m engine` or the `billrules` script pip wrote, not
    a program of someone else's that imports `entry_point` (and may go on after it: a first version
    ended such a wrapper too, the review of 2026-12-03)."""
    spec = getattr(program, "__spec__", None)
    if spec is not None and spec.name == "engine.__main__":
        return True
    script = getattr(program, "__file__", None) or ""
    return os.path.basename(script) in ("billrules", "billrules.exe", "billrules-script.py")


def _nothing_left_to_do() -> bool:
    """Whether the interpreter's shutdown would only free memory: this is the program itself (the
    `billrules` script or `python -m engine`, not a program calling `entry_point`, nor one that
    profiles or traces it and reports at the end), no function is registered to run at exit (a
    coverage tool's, logging's), no other thread is to be waited for, and the standard streams
    are flushed (a failure is left to `sys.exit`, as before)."""
    import atexit
    import threading

    if not _is_billrules_itself(sys.modules.get("__main__")):
        return False
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return False
    count = getattr(atexit, "_ncallbacks", None)
    if count is None or count() != 0 or threading.active_count() != 1:
        return False
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except Exception:  # (a stream that cannot be flushed: the usual exit says so)
        return False
    return True
