"""Exit codes and the usage error: the small module every command depends on.

`main` depends on the commands and the commands depend on this module, never on `main`
(no import cycle). Exit codes: 0 clean, 1 findings, 2 usage error.
"""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command-line mistake: reported as `error: …` with exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so `main` reports it."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)
