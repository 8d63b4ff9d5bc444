"""Read files and walk folders without trusting what is on the disk.

A path handed to billrules may be anything: a device (`/dev/zero` never ends), a named pipe (a
read waits for a writer forever), a socket, a symbolic link loop, a folder the user cannot
read, a file that is deleted while the rule set is being read, or a link that leads out of the
rule set to a file nobody meant to publish in a CI log. Each becomes a `FileProblem` (a
diagnostic's code, message and hint) instead of a hang, an unbounded read or a traceback:

- `read_limited` reads regular files only: the kind is checked with `stat` before opening (so
  no device is ever opened: opening some has side effects) and again with `fstat` on the open
  descriptor (the path may have been swapped in between); the descriptor is opened with
  O_NONBLOCK (a pipe swapped in cannot block the open) and at most `limit + 1` bytes are read.
- `walk` lists a folder tree without following links to folders (no loop can make it endless),
  reports folders it cannot read, and refuses links that lead outside the tree it walks.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.diagnostics import Diagnostic

_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)
_READ_CHUNK = 1 << 20


class FileProblem(Exception):
    """A path that cannot be read as a rule or scenario file: the diagnostic's code, message and hint."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def diagnostic(self, file: str) -> Diagnostic:
        return Diagnostic(file, 1, 1, self.code, self.message, self.hint)


def kind_of(mode: int) -> str:
    """`a named pipe (FIFO)`: what a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_limited(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, refusing anything else and anything over `limit` bytes."""
    try:
        _check_regular(os.stat(path).st_mode)
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _os_problem(exc, path) from None
    try:
        status = os.fstat(descriptor)
        _check_regular(status.st_mode)
        if status.st_size > limit:
            raise _too_large(f"{status.st_size:,} bytes", limit)
        return _read_at_most(descriptor, limit)
    except OSError as exc:
        raise _os_problem(exc, path) from None
    finally:
        os.close(descriptor)


def _read_at_most(descriptor: int, limit: int) -> bytes:
    """Read to the end, or refuse as soon as more than `limit` bytes came (the file grew)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(descriptor, min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {limit:,} bytes", limit)


def _check_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise FileProblem(
            "BR100",
            f"cannot read file: it is {kind_of(mode)}, not a regular file",
            "rule and scenario files must be regular files; remove it or point to the file meant",
        )


def _too_large(size: str, limit: int) -> FileProblem:
    return FileProblem(
        "BR101", f"file is too large ({size}; the limit is {limit:,})", "split the rules into several files"
    )


def _os_problem(exc: OSError, path: Path) -> FileProblem:
    """An OSError in analysts' words: what happened to the path, and what to do."""
    if exc.errno == errno.ELOOP:
        return FileProblem(
            "BR100",
            "cannot read file: it is a symbolic link loop (the link leads back to itself)",
            "point the link to a real file, or remove it",
        )
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return FileProblem(
            "BR100",
            "cannot read file: it is a symbolic link to a missing file",
            "point the link to a real file, or remove it",
        )
    if exc.errno == errno.ENOENT:
        return FileProblem(
            "BR100",
            "cannot read file: it no longer exists (moved or deleted while billrules was running)",
            "run billrules again once the files are in place",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return FileProblem("BR100", "cannot read file: permission denied", "check the path and its permissions")
    return FileProblem("BR100", f"cannot read file: {exc.strerror or exc}", "check the path and its permissions")


# --- walking folders ---------------------------------------------------------------------------


@dataclass
class Walk:
    """What a walk found: files and folders (links that stay inside included), links that lead out, problems."""

    top: Path
    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    outside: list[Path] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    hidden: list[Path] = field(default_factory=list)  # hidden files (`.x.yaml`) of the folders walked


def walk(top: Path, display: Callable[[Path], str], *, prune: Callable[[Path], bool] = lambda _: False) -> Walk:
    """Every non-hidden file and folder under `top`, sorted; `prune(folder)` skips a folder's contents.

    Links to folders are never followed: a loop cannot make the walk endless, and a linked folder
    inside `top` is walked under its own path anyway. A link (to a file or a folder) that leads
    outside `top` is left out and listed in `outside` (see `outside_link`): a rule set cannot pull
    in, and a report cannot quote, a file from elsewhere on the machine. Folders that cannot be
    read are reported (BR100).
    """
    result = Walk(top)
    real_top = os.path.realpath(top)

    def unreadable(exc: OSError) -> None:
        result.diagnostics.append(_folder_problem(exc, display(Path(exc.filename or top))))

    for directory, subdirs, names in os.walk(top, onerror=unreadable):
        here = Path(directory)
        kept = []
        for name in sorted(subdirs):
            path = here / name
            if name.startswith(".") or not _stays_inside(path, real_top, result):
                continue
            if not os.path.islink(path) and not prune(path):
                kept.append(name)
        subdirs[:] = kept
        result.folders.extend(here / name for name in kept)
        for name in sorted(names):
            path = here / name
            if name.startswith("."):
                result.hidden.append(path)
            elif _stays_inside(path, real_top, result):
                result.files.append(path)
    result.files.sort()
    result.folders.sort()
    return result


def _stays_inside(path: Path, real_top: str, result: Walk) -> bool:
    """True for anything but a link whose target lies outside the walked tree (that one is listed)."""
    if not os.path.islink(path):
        return True
    try:
        target = os.path.realpath(path)
    except OSError:  # a link that cannot be followed (`/proc/1/cwd`): not read, said so
        result.outside.append(path)
        return False
    if target == real_top or target.startswith(real_top.rstrip(os.sep) + os.sep):
        return True
    result.outside.append(path)
    return False


def _target(path: Path) -> str:
    try:
        return os.path.realpath(path)
    except OSError:
        return "a place that cannot be read"


def outside_link(path: Path, display: str, scope: str = "the rule set") -> Diagnostic:
    """BR117: a symbolic link at `path` leads outside `scope`; it is not read."""
    return Diagnostic(
        display,
        1,
        1,
        "BR117",
        f"symbolic link leads outside {scope} (to {_target(path)}); it is not read",
        f"copy what it points to into {scope}, or remove the link",
    )


def _folder_problem(exc: OSError, folder: str) -> Diagnostic:
    reason = "permission denied" if exc.errno in (errno.EACCES, errno.EPERM) else (exc.strerror or str(exc))
    return Diagnostic(
        folder,
        1,
        1,
        "BR100",
        f"cannot read folder: {reason}; the files in it were not checked",
        "check the folder's permissions",
    )


def is_file(path: Path) -> bool:
    """`Path.is_file` that answers False instead of raising (permission denied on a parent, ...)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    """`Path.is_dir` that answers False instead of raising."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def may_exist(path: Path) -> bool:
    """False only when nothing is at `path`; True when something is, or may be (permission denied).

    `Path.exists` raises PermissionError under a folder the user cannot search, and says False
    for a link loop; a command checks its arguments with this instead and lets the loader name
    the problem (BR100) with the path.
    """
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError):
        return True
    return True


def wide_encoding(raw: bytes) -> str | None:
    """ "UTF-16" or "UTF-32" for a line of a file in that encoding (its byte order mark, or text
    whose every second, or three of every four, bytes are NUL), else None: a NUL inside UTF-8
    text is told as orjson tells it, at its column."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    if len(raw) < 8:
        return None
    nul = raw.count(0) / len(raw)
    quarter = len(raw) // 4
    # ASCII text in UTF-32: three NULs a character, in the same three places of every four bytes
    # (a UTF-8 line with a field padded with NULs has as many, in one run: not UTF-32)
    if 0.7 <= nul <= 0.8 and any(
        sum(raw[k::4].count(0) for k in range(4) if k != o) >= 0.9 * 3 * quarter for o in range(4)
    ):
        return "UTF-32"
    if 0.4 <= nul <= 0.6 and max(raw[0::2].count(0), raw[1::2].count(0)) >= 0.9 * (len(raw) // 2):
        return "UTF-16"
    return None


#: the first (and last) bytes of every Parquet file
PARQUET_MAGIC = b"PAR1"


def is_parquet(path: Path) -> bool:
    """Whether `path` is a regular file starting with `PAR1`: a Parquet file (no pipe or device is
    opened; a file that cannot be read is not one: its reader says why)."""
    if not is_file(path):
        return False
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
        try:
            return os.read(descriptor, len(PARQUET_MAGIC)) == PARQUET_MAGIC
        finally:
            os.close(descriptor)
    except (OSError, ValueError):
        return False


def parquet_scenarios(path: Path, display: str) -> Diagnostic:
    """BR102 for a Parquet file given as a scenario file (`decide`, `test`, `validate --scenarios`):
    until 2026-12-03 it was read as one scenario, "binary file: a scenario must be YAML or JSON
    text" at line 1, column 20, with the hint "give a scenario file", although `run` decides it."""
    return Diagnostic(
        display,
        1,
        1,
        "BR102",
        "a Parquet file (it starts with `PAR1`), not a scenario file: scenario files are YAML, JSON or JSON Lines text",
        f"Parquet scenarios are decided by `{parquet_run(display)}`",
    )


def parquet_run(name: str) -> str:
    """The `billrules run` that decides the Parquet scenarios of `name`, its decisions to a Parquet
    file (`--output` is required; `--format parquet` when the input's extension does not say
    Parquet: a run reads a `.json` as JSON Lines, and the format is the output's too)."""
    told = Path(name).suffix.lower() in (".parquet", ".pq")
    return f"billrules run --input {name}{'' if told else ' --format parquet'} --output decisions.parquet"
