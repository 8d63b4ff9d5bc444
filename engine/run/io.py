"""Readers and writers of a billing run: JSON Lines (`-` for stdin/stdout) and Parquet.

Readers hand out `Chunk`s of raw records, so the input is never held whole; writers write each
chunk's decisions as they come. Files are written through `AtomicFile` (appear whole or not at
all); standard output streams.

Parquet (the `parquet` extra, pyarrow) is read in record batches. A file with a text column
named `scenario` holds one scenario JSON per row in it (other columns are ignored) (parsed in the workers, exactly as a JSON Lines
line); any other file is read as columns, one row a scenario, a null meaning "field absent"
(SPEC: an optional field is omitted rather than null). Decisions are written as three text
columns — `scenario` (id), `rules_version` and `decision` (the canonical decision JSON, byte for
byte the line JSON Lines output holds) — in row groups as they come.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from engine.run.atomic import AtomicFile
from engine.run.evaluate import MAX_LINE_BYTES, Chunk, Record, UnreadableRow, is_blank
from engine.run.formats import STDIO, FormatError, is_stream

#: Rows per Parquet row group written (bounded memory: one group is buffered at a time).
ROW_GROUP = 10_000
#: ... or fewer when the decisions held reach this many characters (64 Mi): a row group of large
#: decisions (detailed reasons on a large rule set, ~100 KB each) held 1 GB before it was written,
#: until 2026-12-02; a run streams in constant memory whatever its decisions' size
ROW_GROUP_CHARS = 64 * 1024 * 1024


def require_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise FormatError("Parquet needs pyarrow: pip install 'billrules[parquet]'") from exc
    return pyarrow


class Source(Protocol):
    """Where scenarios come from: chunks, and how far through the input we are (for the ETA)."""

    name: str
    total: int | None  # size in `unit`s when known (bytes of a regular file, rows of a Parquet file)
    unit: str
    done: int  # `unit`s read so far
    read_seconds: float

    def chunks(self, size: int) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


class JsonLinesSource:
    """Raw lines of a JSON Lines file or stdin, in chunks; lines are not decoded here (workers parse)."""

    unit = "bytes"

    def __init__(self, name: str) -> None:
        self.name = "<stdin>" if name == STDIO else name
        self.file: IO[bytes] = sys.stdin.buffer if name == STDIO else open(name, "rb")  # noqa: SIM115
        info = os.fstat(self.file.fileno())
        self.total = info.st_size if stat.S_ISREG(info.st_mode) else None
        self.done = 0
        self.read_seconds = 0.0

    def chunks(self, size: int) -> Iterator[Chunk]:
        readline, number, limit = self.file.readline, 1, MAX_LINE_BYTES + 1
        while True:
            start = time.process_time()
            records: list[Record] = []
            scenarios = 0
            for _ in range(size):
                try:
                    line = readline(limit)
                except OSError as exc:  # named: a read error was told as the output's (until 2026-12-02)
                    raise OSError(exc.errno, f"cannot read the input: {exc.strerror or exc}", self.name) from exc
                if not line:
                    break
                self.done += len(line)
                if len(line) == limit and not line.endswith(b"\n"):
                    self._skip_rest()  # too long: kept cut at the limit, which the worker refuses (BR601)
                records.append(line)
                scenarios += not is_blank(line)
            self.read_seconds += time.process_time() - start
            if not records:
                return
            yield Chunk(number, records, scenarios)
            number += len(records)

    def _skip_rest(self) -> None:
        while True:
            piece = self.file.readline(1024 * 1024)
            self.done += len(piece)
            if not piece or piece.endswith(b"\n"):
                return

    def close(self) -> None:
        if self.file is not sys.stdin.buffer:
            self.file.close()


class ParquetSource:
    """Rows of a Parquet file in record batches: a `scenario` text column, or one column per field."""

    unit = "rows"

    def __init__(self, name: str) -> None:
        require_pyarrow()
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.name = name
        if name != STDIO and is_stream(name):  # (a pipe: "lseek failed" said nothing of why)
            raise FormatError(
                f"cannot read {name} as Parquet: Parquet is read from a file (its index is at its end), "
                "not from a pipe or a device; write it to a file first"
            )
        try:
            self.file = pq.ParquetFile(name)
        except (pa.ArrowException, OSError) as exc:  # truncated, not Parquet at all, ...
            raise FormatError(f"cannot read {name} as Parquet: {exc}") from exc
        self.total = self.file.metadata.num_rows
        self.done = 0
        self.read_seconds = 0.0
        schema = self.file.schema_arrow
        repeated = sorted({n for n in schema.names if schema.names.count(n) > 1})
        if repeated:  # a row would keep one of the columns' values in silence (JSON: a duplicate key, BR105)
            names = ", ".join(f"`{n}`" for n in repeated)
            raise FormatError(
                f"cannot read {name}: two columns share a name ({names}); one value of each row would be lost"
            )
        if {"scenario", "rules_version", "decision"} <= set(schema.names):  # (each row "not JSON" until 2026-12-03)
            raise FormatError(
                f"cannot read {name} as scenarios: it holds decisions, as `billrules run` writes them (columns "
                "`scenario`, `rules_version`, `decision`); give the file of scenarios the run decided"
            )
        kind = schema.field("scenario").type if "scenario" in schema.names else None
        self.text_column = kind is not None and _is_text(pa, kind)

    def chunks(self, size: int) -> Iterator[Chunk]:
        import pyarrow as pa

        number = 1
        batches = self.file.iter_batches(batch_size=size, columns=["scenario"] if self.text_column else None)
        while True:
            start = time.process_time()
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError) as exc:  # a page corrupt past the footer: the input's fault
                # (until 2026-12-02 "cannot write the output …: Corrupt snappy compressed data")
                raise FormatError(
                    f"cannot read {self.name} as Parquet: {exc} (after row {self.done:,}); no output was written"
                ) from exc
            if batch is None:
                self.read_seconds += time.process_time() - start
                return
            records: list[Record]
            if self.text_column:
                # a row is a scenario: a null or empty one is an error record (BR601), not a blank line
                records = [
                    text
                    if text is not None and not is_blank(text)  # (byte order marks alone are empty too)
                    else UnreadableRow("scenario", "null" if text is None else "empty", empty=True)
                    for text in batch.column(0).to_pylist()
                ]
            else:
                records = _rows(batch)
            self.done += len(records)
            self.read_seconds += time.process_time() - start
            yield Chunk(number, records, sum(not is_blank(r) for r in records))
            number += len(records)

    def close(self) -> None:
        self.file.close()


def _is_text(pa: Any, kind: Any) -> bool:
    """A text column, however stored: plain, large, a view, or dictionary-encoded text; or bytes
    (plain, large or a view), as Spark writes strings without `binaryAsString`, read as the bytes
    of a JSON Lines line are (UTF-8, each row told if it is not; until 2026-12-02 such a file was
    read column per field, and every row refused for its unknown field `scenario`)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    text_view = getattr(pa.types, "is_string_view", None)
    bytes_view = getattr(pa.types, "is_binary_view", None)
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or (text_view is not None and text_view(kind))
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or (bytes_view is not None and bytes_view(kind))
    )


def _rows(batch: Any) -> list[Record]:
    """A batch's rows as scenario mappings; a row Python cannot hold (a date past year 9999, a
    timestamp out of range) becomes an `UnreadableRow`, an error record of its own, instead of
    stopping the run."""
    try:
        return [_without_nulls(row) for row in batch.to_pylist()]
    except (OverflowError, ValueError, ArithmeticError):
        pass
    rows: list[Record] = []
    for i in range(batch.num_rows):
        row = batch.slice(i, 1)
        try:
            rows.append(_without_nulls(row.to_pylist()[0]))
        except (OverflowError, ValueError, ArithmeticError) as exc:
            rows.append(UnreadableRow(_bad_column(row) or "", str(exc), _row_id(row)))
    return rows


def _row_id(row: Any) -> Any:
    """The `id` of a row that cannot be read whole, when that column reads (for its error record)."""
    if "id" not in row.schema.names:
        return None
    try:
        return row.column("id").to_pylist()[0]
    except (OverflowError, ValueError, ArithmeticError):
        return None


def _bad_column(row: Any) -> str | None:
    for name, column in zip(row.schema.names, row.columns, strict=True):
        try:
            column.to_pylist()
        except (OverflowError, ValueError, ArithmeticError):
            return str(name)
    return None


def _without_nulls(value: Any) -> Any:
    """A Parquet row as a scenario mapping: a null struct field is an absent field."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def open_source(name: str, kind: str) -> Source:
    if name != STDIO and not (Path(name).is_file() or is_stream(name)):
        raise FormatError(f"no such input file: {name}")
    return ParquetSource(name) if kind == "parquet" else JsonLinesSource(name)


#: the first (and last) bytes of every Parquet file
PARQUET_MAGIC = b"PAR1"


def not_parquet_as_lines(name: str) -> None:
    """A FormatError when the regular file `name`, to be read as JSON Lines, is a Parquet file (it
    starts with `PAR1`): until 2026-12-03 `--format jsonl` on one read its bytes as lines, each an
    error record (35 of them, exit 1). A pipe or stdin is not looked at (its bytes are read once)."""
    if name == STDIO or is_stream(name):
        return
    try:
        with open(name, "rb") as file:
            start = file.read(len(PARQUET_MAGIC))
    except OSError:
        return  # (its reader says why)
    if start == PARQUET_MAGIC:
        raise FormatError(
            f"the input {name} is a Parquet file (it starts with `PAR1`), not JSON Lines; "
            "read it with --format parquet (or name it .parquet and leave --format out)"
        )
    if start.startswith(b"\x1f\x8b"):  # (each binary "line" an error record, BR103, until 2026-12-03)
        raise FormatError(
            f"the input {name} is gzip-compressed, not JSON Lines; read it through a pipe: "
            f"`zcat {name} | billrules run --input - …`"
        )


def lines_bytes(texts: list[str]) -> bytes:
    """`texts` as UTF-8 JSON Lines, each followed by a newline: each text encoded on its own.

    Joining the texts first would be one copy fewer, but one text with a character past ASCII (a
    `€`, a name) makes the joined string wide, and the whole chunk then goes through the slow
    path twice (widening and encoding): 5.9 µs a 5 KB decision against 1.8 for this, in chunks of
    200 (the default) of the run benchmark's decisions, of which about 1 in 100 holds such a
    character."""
    return b"\n".join([text.encode("utf-8") for text in texts]) + b"\n" if texts else b""


class Sink(Protocol):
    """Where decisions go: (line, scenario id, decision text) in input order."""

    written: int

    @property
    def atomic(self) -> AtomicFile | None:
        """The file renamed over the target on commit (None: a stream, written as it goes)."""
        ...

    def write(self, decisions: list[tuple[int, str, str]]) -> None: ...

    def prepare(self) -> None: ...

    def commit(self) -> None: ...

    def discard(self) -> None: ...


class LinesSink:
    """JSON Lines text, one record a line: to a file (atomically) or to a stream such as stdout."""

    def __init__(self, name: str, stream: IO[bytes] | None = None) -> None:
        self.atomic = AtomicFile(name) if stream is None else None
        self.file: IO[bytes] = self.atomic.file if self.atomic is not None else stream  # type: ignore[assignment]
        self.written = 0

    def write_texts(self, texts: list[str]) -> None:
        if texts:
            self.file.write(lines_bytes(texts))
            self.written += len(texts)

    def write(self, decisions: list[tuple[int, str, str]]) -> None:
        self.write_texts([text for _, _, text in decisions])

    def append_part(self, part: Path, size: int, count: int) -> None:
        """Append the first `size` bytes of a part file a worker wrote, holding `count` records."""
        with part.open("rb") as source:
            copy_bytes(source, self.file, size)
        self.written += count

    def prepare(self) -> None:
        """Written and on disk, not yet renamed (`AtomicFile.prepare`)."""
        if self.atomic is not None:
            self.atomic.prepare()
        else:
            self.file.flush()

    def commit(self) -> None:
        if self.atomic is not None:
            self.atomic.commit()
        else:
            self.file.flush()

    def discard(self) -> None:
        if self.atomic is not None:
            self.atomic.discard()
        else:
            self.file.flush()


class ParquetSink:
    """Decisions as Parquet rows (`scenario`, `rules_version`, `decision`), a row group at a time."""

    def __init__(self, name: str, rules_version: str) -> None:
        pa = require_pyarrow()
        import pyarrow.parquet as pq

        self.pa = pa
        self.schema = pa.schema([("scenario", pa.string()), ("rules_version", pa.string()), ("decision", pa.string())])
        self.atomic = AtomicFile(name)
        self.writer = pq.ParquetWriter(self.atomic.file, self.schema)
        self.rules_version = rules_version
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.held = 0  # characters of the decisions held for the next row group
        self.written = 0

    def write(self, decisions: list[tuple[int, str, str]]) -> None:
        for _, scenario, text in decisions:
            self.ids.append(scenario)
            self.texts.append(text)
            self.held += len(text)
        self.written += len(decisions)
        if len(self.ids) >= ROW_GROUP or self.held >= ROW_GROUP_CHARS:
            self._flush()

    def _flush(self) -> None:
        if self.ids:
            versions = [self.rules_version] * len(self.ids)
            self.writer.write_batch(self.pa.record_batch([self.ids, versions, self.texts], schema=self.schema))
            self.ids, self.texts, self.held = [], [], 0

    def prepare(self) -> None:
        if not self.atomic.prepared:
            self._flush()
            self.writer.close()
            self.atomic.prepare()

    def commit(self) -> None:
        self.prepare()
        self.atomic.commit()

    def discard(self) -> None:
        self.writer.close()
        self.atomic.discard()


#: Errors after which the kernel's copy is not tried again, and plain reads and writes are used.
_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF, errno.ESPIPE}


def copy_bytes(source: IO[bytes], target: IO[bytes], size: int) -> None:
    """Append the first `size` bytes of `source` to `target` (flushed), in the kernel when it can.

    `copy_file_range` between files (same file system: shared or copied blocks, never through
    this process), `sendfile` to anything else with a descriptor (a pipe: standard output), else
    reads and writes, as for a stream without a descriptor.
    """
    target.flush()  # what it buffered goes first
    if size <= 0:
        return
    try:
        source_fd, target_fd = source.fileno(), target.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        source_fd = target_fd = -1
    offset = 0
    if target_fd >= 0 and sys.platform == "linux":  # elsewhere sendfile wants a socket, copy_file_range is missing
        for kernel_copy in (_copy_file_range, os.sendfile):
            try:
                while offset < size:
                    copied = kernel_copy(target_fd, source_fd, offset, size - offset)
                    if copied == 0:
                        raise EOFError(f"the part file ended {size - offset:,} bytes short")
                    offset += copied
                return
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY:
                    raise
    source.seek(offset)
    while offset < size:
        block = source.read(min(1024 * 1024, size - offset))
        if not block:
            raise EOFError(f"the part file ended {size - offset:,} bytes short")
        target.write(block)
        offset += len(block)
    target.flush()


def _copy_file_range(target: int, source: int, offset: int, count: int) -> int:
    return os.copy_file_range(source, target, count, offset)


def open_sink(name: str, kind: str, rules_version: str) -> Sink:
    if name == STDIO:
        return LinesSink(name, sys.stdout.buffer)
    return ParquetSink(name, rules_version) if kind == "parquet" else LinesSink(name)
