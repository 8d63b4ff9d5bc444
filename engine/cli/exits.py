"""Exit codes and the usage error: the small module every command depends on.

`main` depends on the commands and the commands depend on this module, never on `main`
(no import cycle). Exit codes: 0 clean, 1 findings, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
#: The reader of standard output went away (`billrules decide … | head`): what a shell reports for
#: a program ended by SIGPIPE (128 + 13), as `yes | head` or `cat big | head` do. The output is
#: incomplete, so not 0; no message, as those tools give none.
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A command-line mistake: reported as `error: …` with exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so `main` reports it."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def silence(out: TextIO) -> None:
    """Point a closed stdout at /dev/null, so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    except (OSError, ValueError, AttributeError):
        pass
