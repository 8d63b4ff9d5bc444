"""A RuleSet handed to spawned worker processes through a file, not through their start-up pipe.

A spawned worker gets its start-up data (the process object, with its arguments) through a pipe
the parent writes to, holding the pipe's read end open until the write ends (CPython's
`popen_spawn_posix`). A pickled RuleSet is some 200 KB, more than a pipe holds: a worker that died
while starting (killed, or failing its imports) left the parent writing for ever, deaf to Ctrl-C
and SIGTERM, which it holds while workers start (until 2026-12-02). Pickled, a `ShippedRules` is
a file name: the RuleSet is written to a private temporary file once, read by each worker as it
unpickles its arguments (a pool may start a worker late, so the file stays), and removed when
the run's workers are stopped. A forked worker pickles
nothing: it finds the `ShippedRules` itself, and takes its RuleSet (`unwrapped`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from typing import Any


class ShippedRules:
    """A RuleSet that pickles as the name of a file holding it (written on first pickling)."""

    def __init__(self, rules: Any) -> None:
        self.rules = rules
        self.path: str | None = None

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        if self.path is None:
            handle, self.path = tempfile.mkstemp(prefix="billrules-rules.", suffix=".pickle")  # (mode 0600)
            try:
                with os.fdopen(handle, "wb") as file:
                    pickle.dump(self.rules, file, protocol=pickle.HIGHEST_PROTOCOL)
            except OSError as exc:  # (a full temporary folder: named, not taken for the output's)
                self.remove()
                raise OSError(exc.errno, exc.strerror, tempfile.gettempdir()) from exc
        return _load, (self.path,)

    def remove(self) -> None:
        """Remove the file (once every worker has read it, or the run ended)."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None


def _load(path: str) -> Any:
    with open(path, "rb") as file:
        return pickle.load(file)


def unwrapped(rules: Any) -> Any:
    """The RuleSet a worker was given: itself (spawned: unpickled from the file) or a forked
    worker's copy of the `ShippedRules`."""
    return rules.rules if isinstance(rules, ShippedRules) else rules
