"""Files that appear whole or not at all.

`AtomicFile` writes to a temporary file in the target's folder (same file system, so the rename
is atomic), and on `commit` flushes, fsyncs, renames it over the target (`os.replace`) and fsyncs
the folder (`prepare` does all but the rename, so that several files are renamed only once each
is safely on disk). A run killed at any moment therefore leaves the previous file (or none) and perhaps a
stray `.NAME.*.partial` temporary, never a torn file under the target's name. `discard` (or leaving
the `with` block with an exception) removes the temporary and keeps the previous file.

`commit_together` renames several files as one: each previous file is kept under a hard link
(`.NAME.*.previous.partial`) until every rename has succeeded, and a rename that fails puts the
files already renamed back as they were (`CommitFailed` says which, if any, could not be).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from engine.run.formats import is_descriptor

PARTIAL_SUFFIX = ".partial"


def default_file_mode() -> int:
    """The mode a new file gets from `open` under the process's umask (0o666 less the mask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _mode_for(path: Path) -> int:
    """The mode of the file `path` replaces (a billing file kept to its owner stays so: until
    2026-12-02 a replaced file took the umask's mode, `0600` became `0644`), or a new file's."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777  # (not setuid, setgid or sticky bits)
    except OSError:
        return default_file_mode()


def target(path: str | Path) -> tuple[Path, bool]:
    """Where writing `path` goes, and whether it can be atomic: a symbolic link is written through
    (its target file is replaced, the link kept); a named pipe, a device or anything else that is
    not a regular file (`/dev/stdout`, `/dev/null`, a FIFO a reader waits on) is written to
    directly, never replaced by a rename (which would turn a device or a pipe into a plain file)."""
    path = Path(path)
    if is_descriptor(path):  # (standard output appended to a log: written in place, appended to)
        return path, False
    try:
        mode = os.stat(path).st_mode  # follows links
    except FileNotFoundError:
        return (
            Path(os.path.realpath(path)) if path.is_symlink() else path
        ), True  # a new file (a dangling link's target)
    if not stat.S_ISREG(mode):
        return path, False
    return Path(os.path.realpath(path)), True


class AtomicFile:
    """A binary file written under a temporary name and renamed over `path` on commit (written
    straight into `path` when that is a pipe or a device: `target`)."""

    def __init__(self, path: str | Path) -> None:
        self.path, atomic = target(path)
        self.temporary: Path | None = None
        if atomic:
            fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=PARTIAL_SUFFIX, dir=self.path.parent)
            self.temporary = Path(temporary)
            self.file: BinaryIO = os.fdopen(fd, "wb", buffering=1024 * 1024)
        else:
            # appended to: a descriptor's file keeps what was written before (`>> log`), and a pipe
            # or a device is the same either way (until 2026-12-03 opened anew, emptying a log)
            self.file = open(self.path, "ab", buffering=1024 * 1024)  # noqa: SIM115 - closed by commit/discard
        self.done = False
        self.prepared = False

    def prepare(self) -> None:
        """Everything of `commit` that can fail for want of space or rights (flush, fsync, close,
        mode), but the rename: a run prepares all its files before it renames any, so a disk that
        fills up on the errors file no longer leaves new decisions beside the old errors."""
        if self.done or self.prepared:
            return
        self.file.flush()
        if self.temporary is not None:
            os.fsync(self.file.fileno())
        self.file.close()
        if self.temporary is not None:
            os.chmod(self.temporary, _mode_for(self.path))  # (mkstemp makes it 0600)
        self.prepared = True

    def commit(self) -> None:
        if self.done:
            return
        self.prepare()
        if self.temporary is None:  # a pipe or a device: written as it went
            self.done = True
            return
        os.replace(self.temporary, self.path)  # (failing, `discard` still removes the temporary)
        self.done = True
        _fsync_folder(self.path.parent)

    def discard(self) -> None:
        if self.done:
            return
        with contextlib.suppress(OSError):  # (a reader of a pipe may have gone)
            self.file.close()
        if self.temporary is not None:
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


class CommitFailed(OSError):
    """A rename of `commit_together` failed: `failed` is the target not replaced, `new` the targets
    that hold the new files all the same (renamed, and neither put back nor removed), `kept` those
    that hold their previous file (or none, as before); a pipe or a device, written as it went, is
    in neither."""

    def __init__(self, cause: OSError, failed: Path, new: list[Path], kept: list[Path]) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(failed))
        self.cause = cause
        self.failed = failed
        self.new = new
        self.kept = kept


def commit_together(files: Sequence[AtomicFile]) -> None:
    """Rename every file over its target, or none: each is prepared first; a target that exists is
    kept under a hard link beside it while the others are renamed; a rename that fails (the target
    may not be replaced: another user's file in a sticky folder, an immutable file) puts the
    previous files back over the targets already renamed (a target that did not exist is removed
    again) and raises `CommitFailed`. Until 2026-12-03 the files were renamed one after the other,
    and a failing rename left the new decisions beside the previous errors and summary.

    A target that cannot be linked (a file system without hard links) cannot be put back: those
    are renamed last, so that only a failure after them leaves one new file (`CommitFailed.new`)."""
    for file in files:
        file.prepare()
    pending = [file for file in files if not file.done and file.temporary is not None]
    for file in files:  # (a pipe or a device: written as it went)
        if file not in pending:
            file.commit()
    backups: dict[int, Path | None] = {}  # id(file) -> the previous file's link (None: no previous file)
    unsaved: list[AtomicFile] = []  # a previous file that could not be linked
    for file in pending:
        try:
            backups[id(file)] = _link_previous(file.path)
        except OSError:
            unsaved.append(file)
    order = [file for file in pending if id(file) in backups] + unsaved
    renamed: list[AtomicFile] = []
    try:
        for file in order:
            try:
                file.commit()
            except OSError as exc:
                new = _put_back(renamed, backups)
                kept = [other.path for other in pending if other.path not in new]
                raise CommitFailed(exc, file.path, new, kept) from exc
            renamed.append(file)
    finally:
        for backup in backups.values():
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink()


def _link_previous(path: Path) -> Path | None:
    """A hard link to the file at `path` beside it (None when there is none): the previous file,
    kept while the new one is renamed over it."""
    if not os.path.lexists(path):
        return None
    for _ in range(100):
        link = path.parent / f".{path.name}.{secrets.token_hex(4)}.previous{PARTIAL_SUFFIX}"
        try:
            os.link(path, link)  # (`path` is a file, not a link: `target`)
        except FileExistsError:
            continue
        return link
    raise FileExistsError(17, "File exists", str(path))


def _put_back(renamed: list[AtomicFile], backups: dict[int, Path | None]) -> list[Path]:
    """Put the previous file back over each target renamed (or remove a target that was new);
    the targets that could not be, which hold the new file."""
    new: list[Path] = []
    for file in reversed(renamed):
        if id(file) not in backups:  # (its previous file could not be linked: it is gone)
            new.append(file.path)
            continue
        backup = backups[id(file)]
        try:
            if backup is None:
                file.path.unlink()
            else:
                os.replace(backup, file.path)
                backups[id(file)] = None  # (the link is the target again)
            _fsync_folder(file.path.parent)
        except OSError:
            new.append(file.path)
    return new[::-1]


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
