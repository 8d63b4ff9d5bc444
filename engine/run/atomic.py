"""Files that appear whole or not at all.

`AtomicFile` writes to a temporary file in the target's folder (same file system, so the rename
is atomic), and on `commit` flushes, fsyncs, renames it over the target (`os.replace`) and fsyncs
the folder. A run killed at any moment therefore leaves the previous file (or none) and perhaps a
stray `.NAME.*.partial` temporary, never a torn file under the target's name. `discard` (or leaving
the `with` block with an exception) removes the temporary and keeps the previous file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

PARTIAL_SUFFIX = ".partial"


def default_file_mode() -> int:
    """The mode a new file gets from `open` under the process's umask (0o666 less the mask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class AtomicFile:
    """A binary file written under a temporary name and renamed over `path` on commit."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        folder = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=PARTIAL_SUFFIX, dir=folder)
        self.temporary = Path(temporary)
        self.file: BinaryIO = os.fdopen(fd, "wb", buffering=1024 * 1024)
        self.done = False

    def commit(self) -> None:
        if self.done:
            return
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.chmod(self.temporary, default_file_mode())  # (mkstemp makes it 0600)
        os.replace(self.temporary, self.path)
        self.done = True
        _fsync_folder(self.path.parent)

    def discard(self) -> None:
        if self.done:
            return
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.temporary.unlink()
        self.done = True

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on folders
        pass
    finally:
        os.close(fd)
