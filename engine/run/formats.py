"""The formats of a billing run's files, told from `--format` or the extension.

Kept apart from the readers and writers so that building the command line imports nothing of the
decision code (`billrules validate` starts without it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

FORMATS = ("jsonl", "parquet")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
STDIO = "-"
#: the extensions of compressed files, which a run reads and writes through pipes only
_COMPRESSED = (".gz", ".gzip", ".bz2", ".xz", ".zst", ".zip")


class FormatError(ValueError):
    """A file whose format cannot be told or used (a usage error on the command line)."""


#: A name for one of this process's own descriptors (`/dev/stdout`, `/dev/fd/3`): a stream, written
#: in place and appended to, whatever it leads to. With standard output appended to a log (`>> log`)
#: it leads to that regular file, which a rename replaced and opening it anew emptied, the log's
#: earlier lines lost (a hostile-input campaign of 2026-12-03).
_DESCRIPTOR = re.compile(r"/dev/(?:std(?:out|err)|fd/\d+)|/proc/(?:self|thread-self|\d+)/fd/\d+")


def is_descriptor(name: str | Path) -> bool:
    """Whether `name` names one of this process's descriptors (`_DESCRIPTOR`)."""
    return _DESCRIPTOR.fullmatch(os.path.normpath(os.path.abspath(name))) is not None


def is_stream(name: str) -> bool:
    """A path naming a character device or a named pipe, or one of this process's descriptors
    (until 2026-12-02 `--output /dev/null` was refused for its lack of an extension; until
    2026-12-03 `/dev/stdout` appended to a log was a regular file, "cannot tell the format")."""
    import stat

    if is_descriptor(name):
        return True

    try:
        mode = Path(name).stat().st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def format_of(name: str, given: str | None) -> str:
    """The format `--format` gives, else the one the file's extension says (stdio: JSON Lines)."""
    if given is not None:
        if given not in FORMATS:
            raise FormatError(f"unknown format `{given}`; use one of: {', '.join(FORMATS)}")
        found = given
    elif name == STDIO or is_stream(name):
        found = "jsonl"  # (a device or a pipe, `/dev/null`, `/dev/stdout`, `<(zcat …)`: no extension to read)
    else:
        suffix = Path(name).suffix.lower()
        if suffix in _COMPRESSED:  # ("cannot tell the format" alone until 2026-12-03)
            raise FormatError(
                f"`{name}` is compressed ({suffix}); a run reads and writes compressed files through pipes: "
                "`zcat in.jsonl.gz | billrules run --input - --output - … | gzip > out.jsonl.gz`"
            )
        if suffix not in _SUFFIXES:
            raise FormatError(
                f"cannot tell the format of `{name}` from its extension; "
                "name it .jsonl, .ndjson or .parquet, or pass --format jsonl|parquet"
            )
        found = _SUFFIXES[suffix]
    if found == "parquet" and name == STDIO:
        raise FormatError("Parquet cannot stream through standard input/output (its index is at the end); name a file")
    return found
