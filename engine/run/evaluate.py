"""One scenario record in, one decision or one error record out: the work every worker does.

A record is a raw JSON Lines line (bytes or text, parsed here, in the worker) or a row mapping
(Parquet). The outcome is the canonical decision text (`engine.decide.decision.to_json`, escaped
like `billrules decide --json`) or an error record: the scenario could not be decided, and the
diagnostics say why, as data. Nothing here raises for bad input; a scenario is never dropped.

Parsing is orjson: 4 µs for a typical 600-byte scenario against 14 µs for the standard library,
and stricter (invalid UTF-8, lone surrogates, NaN/Infinity and integers beyond 64 bits are
refused). orjson keeps the last of two equal keys silently, so a line that does not read back
byte for byte as orjson writes it (any non-compact input) is re-read with the standard library to
refuse duplicate keys (BR105), as rule files do; compact input pays nothing for that check.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from engine.cli.decide_cmd import scenario_error_diagnostics, unanswered_diagnostics
from engine.cli.safe_text import json_safe
from engine.compose import Span
from engine.decide import decision as decisions
from engine.decide.decision import unanswered
from engine.decide.scenarios import DEEPEST_NESTING, ScenarioError, validate_scenario
from engine.diagnostics import Diagnostic, FieldDiagnostic
from engine.files import wide_encoding
from engine.load import Document, JsonPath, dotted
from engine.values import InexactNumber, exact_float, in_engine_context

#: A longer line is refused whole (BR601) rather than parsed: one hostile line must not exhaust memory.
MAX_LINE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class UnreadableRow:
    """A Parquet row whose values Python cannot hold (a date past 9999-12-31): an error record."""

    column: str
    problem: str
    id: Any = None  # the row's `id`, when that column reads (named by its error record)
    empty: bool = False  # a scenario text column's cell null or blank: no scenario in the row (BR601)


#: What a record may be: a raw line, or a row already read as a mapping (Parquet).
Record = bytes | str | dict[str, Any] | UnreadableRow


class RecordDocument(Document):
    """A scenario record as a `Document`: diagnostics name the record's line and the scenario field."""

    def __init__(self, source: str, number: int, data: Any) -> None:
        super().__init__(source, 0, data, Span(number, 0, 0))

    def diagnostic(
        self,
        path: JsonPath,
        code: str,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        detail: tuple[str, ...] = (),
    ) -> Diagnostic:
        return FieldDiagnostic(
            self.file, self.start.line, 0, code, message, hint, detail=detail, field_path=dotted(path)
        )


@dataclass(slots=True)
class Timings:
    """CPU seconds spent per stage (summed over records and workers): where a run's time goes.

    CPU time, not wall time: on a busy machine a worker waiting for a core is not working.
    """

    read: float = 0.0  # reading and splitting the input: the parent, or each worker its shares
    parse: float = 0.0  # worker: JSON text → data
    validate: float = 0.0  # worker: data → Scenario model
    decide: float = 0.0  # worker: RuleSet decision
    serialise: float = 0.0  # worker: decision → canonical JSON text
    write: float = 0.0  # writing decisions and errors: the parent, or workers their parts and the parent merging

    def add(self, other: Timings) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, float]:
        return {name: round(getattr(self, name), 6) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive records of the input; `first` is the 1-based line (or row) number of the first.

    Blank lines stay in (so numbers stay right) and are skipped; `scenarios` counts the others,
    as the reader saw them, so the run can check that every one came back.
    """

    first: int
    records: Sequence[Record]
    scenarios: int


@dataclass(slots=True)
class ChunkResult:
    """Per chunk, in input order: decisions and error records, each (line, scenario id, JSON text).

    An error record's scenario id is None when the record has no readable `id`.
    """

    first: int
    decisions: list[tuple[int, str, str]] = field(default_factory=list)
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    worker_peak_bytes: int = 0  # set by a pool worker: its peak resident set so far


def is_blank(record: Record) -> bool:
    """A line with nothing but white space (and a byte order mark, which is not part of a line's
    JSON: until 2026-12-02 a line holding one alone was an error record)."""
    if not isinstance(record, bytes | str):
        return False
    # JSON's white space only: a line of other space (`\u00a0`, `\u2028`, a form feed) is no
    # scenario and no blank either, an error record (until 2026-12-03 `decide_records` dropped it)
    kept = record.strip(" \t\r\n") if isinstance(record, str) else record.strip(b" \t\r\n")
    if kept[:1] in _BOM_STARTS:
        kept = _without_boms(kept.encode("utf-8", "surrogatepass") if isinstance(kept, str) else kept)
    return not kept


def _without_boms(raw: bytes) -> bytes:
    """`raw` stripped, without the byte order marks that start it (each whole, white space between
    them too), in one slice (a 16 MiB line of marks took minutes cut one at a time)."""
    return raw[_LEADING_BOMS.match(raw).end() :].strip(b" \t\r\n")  # type: ignore[union-attr]  # (matches the empty text)


def decide_chunk(rules: Any, chunk: Chunk, source: str = "<input>") -> ChunkResult:
    """Decide every record of `chunk` with `rules`; never raises for a bad record."""
    result = ChunkResult(chunk.first)
    timings = result.timings
    with in_engine_context():  # once per chunk, not per decision (`decide` finds it set)
        for offset, record in enumerate(chunk.records):
            if is_blank(record):
                continue
            number = chunk.first + offset
            decided, scenario_id, text = _evaluate(rules, source, number, record, timings)
            if decided:
                result.decisions.append((number, scenario_id or "", text))
            else:
                result.errors.append((number, scenario_id, text))
    return result


def _evaluate(rules: Any, source: str, number: int, record: Record, timings: Timings) -> tuple[bool, str | None, str]:
    """(decided, scenario id, the decision's text or the error record's)."""
    start = time.process_time()
    if isinstance(record, UnreadableRow) and record.empty:  # (until 2026-12-02 told as "a JSON null")
        message = f"the row's `{record.column}` cell is {record.problem}: the row holds no scenario"
        hint = 'write one scenario object per row: {"id": ..., "as_of": ...}'
        return _error(number, None, [FieldDiagnostic(source, number, 1, "BR601", message, hint)])
    if isinstance(record, UnreadableRow):
        message = f"the row's `{record.column}` cannot be read: {record.problem}"
        if "zoneinfo" in record.problem or "time zone" in record.problem.lower():  # pyarrow's words for an unknown zone
            message = f"the row's `{record.column}` cannot be read: its time zone is not one Python knows"
            hint = "store timestamps in UTC or with an offset (+02:00), or with an IANA zone name (Europe/Berlin)"
        else:
            hint = "write dates and times between years 1 and 9999"
        return _error(
            number,
            readable_id({"id": record.id}),  # (until 2026-12-02 `null`, though the row's id reads)
            [FieldDiagnostic(source, number, 0, "BR602", message, hint, field_path=record.column)],
        )
    if isinstance(record, dict):
        data, problem = record, None
    elif isinstance(record, bytes | str):
        data, problem = parse_line(record, source, number)
    else:  # (`engine.run.decide_records` is given what a caller holds: never an exception for it)
        message = f"the record is {_what(record)}, not a scenario"
        hint = "give each scenario as a mapping, or as its JSON text (str or bytes)"
        return _error(number, None, [FieldDiagnostic(source, number, 1, "BR601", message, hint)])
    parsed = time.process_time()
    timings.parse += parsed - start
    scenario_id = readable_id(data)
    if problem is not None:
        return _error(number, scenario_id, [problem])
    document = RecordDocument(source, number, data)
    try:
        checked = validate_scenario(data, document, source)
    except Exception as exc:  # (until 2026-12-03 raised out of the batch: its other records lost)
        timings.validate += time.process_time() - parsed
        message = f"internal error while validating the scenario: {type(exc).__name__}: {exc}"
        hint = "this is a bug in billrules; please report it with this scenario"
        return _error(number, scenario_id, [FieldDiagnostic(source, number, 0, "internal", message, hint)])
    validated = time.process_time()
    timings.validate += validated - parsed
    if checked.diagnostics:
        return _error(number, scenario_id, checked.diagnostics)
    scenario = checked.scenario
    if unanswered(scenario):
        return _error(number, scenario.id, unanswered_diagnostics(document, source, scenario))
    try:
        text = decisions.decide_text(rules, scenario, owned=True)  # validated from this line alone
    except ScenarioError as exc:
        timings.decide += time.process_time() - validated
        return _error(number, scenario.id, scenario_error_diagnostics(document, source, exc))
    except Exception as exc:  # a bug must cost one scenario, reported, never the run
        timings.decide += time.process_time() - validated
        message = f"internal error while deciding: {type(exc).__name__}: {exc}"
        hint = "this is a bug in billrules; please report it with this scenario"
        return _error(number, scenario.id, [FieldDiagnostic(source, number, 0, "internal", message, hint)])
    decided = time.process_time()
    timings.decide += decided - validated
    text = json_safe(text)
    timings.serialise += time.process_time() - decided
    return True, scenario.id, text


def readable_id(data: Any) -> str | None:
    """The scenario id an error record names: its text, or a whole number's digits (as a decided
    scenario's id reads it: `"id": 5` is `"5"`); None when the record has no readable id."""
    found = data.get("id") if isinstance(data, dict) else None
    if isinstance(found, int) and not isinstance(found, bool):
        return str(found)
    if not isinstance(found, str):
        return None
    try:  # (a mapping's id may hold a lone surrogate, which no JSON reader takes: no id named)
        found.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return found


def _error(number: int, scenario_id: str | None, diagnostics: Iterable[Diagnostic]) -> tuple[bool, str | None, str]:
    return False, scenario_id, error_record(number, scenario_id, diagnostics)


def parse_line(line: bytes | str, source: str, number: int) -> tuple[Any, FieldDiagnostic | None]:
    """The JSON value of one line, or the diagnostic saying why it has none. A line that is JSON but
    is refused (a duplicate key, nesting too deep) gives its value too (the last of equal keys, as
    orjson reads it), so its error record can name the scenario, unless `id` is the key given twice."""
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:  # the reader cuts longer lines just past the limit
        message = f"the line is longer than the limit of {MAX_LINE_BYTES:,} bytes"
        return None, FieldDiagnostic(source, number, 1, "BR601", message, "split the scenario or drop the line")
    written = raw
    raw = raw.strip(b" \t\r\n")  # (JSON's white space: a form feed around the object is not JSON, BR601)
    if raw.startswith(_BOM):  # a UTF-8 byte order mark (a file exported on Windows): not part of the JSON
        raw = _without_boms(raw)  # (every one: two were told "not UTF-8" until 2026-12-02)
    try:
        data = orjson.loads(raw)
        compact = orjson.dumps(data)
    except orjson.JSONDecodeError as exc:
        data = _past_a_double(raw) if "infinity" in exc.msg else None
        if data is not None:  # read again as written: the number is refused at its field ("too large")
            checked, problem = _read_exactly(data, raw, written, source, number)
            return (checked, problem) if problem is not None else _scenario_object(data, source, number)
        if "depth" in exc.msg:  # past orjson's 1,024 levels
            return None, _too_deep(source, number)
        if b"\x00" in raw or raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # (told "0xff", or "not JSON")
            encoding = wide_encoding(raw)
            if encoding is not None:
                return None, _wide(source, number, encoding)
        if "UTF-8" in exc.msg:
            return None, _not_utf8(source, number, raw, _lead(written, raw))
        hint = "write one JSON object per line"
        column = exc.colno + _lead(written, raw)
        message = f"the line is not JSON: {exc.msg}"
        if b"\r" in raw:  # (a file of CR-only line ends read as one line: told as a JSON error until 2026-12-03)
            message += "; it holds carriage returns (`\\r`) between its parts: lines end at `\\n` only"
            hint = "the file's lines end in CR alone (old Mac line ends): convert them (`tr '\\r' '\\n'`)"
        return None, FieldDiagnostic(source, number, column, "BR601", message, hint)
    except orjson.JSONEncodeError:  # past the 254 levels orjson writes: no scenario nests a tenth of that
        return data, _too_deep(source, number)
    if compact != raw:  # not orjson's own compact form: may hide a duplicate key, or a number read inexactly
        data, problem = _read_exactly(data, raw, written, source, number)
        if problem is not None:
            return data, problem
    if not isinstance(data, dict):
        return None, _not_an_object(data, source, number)
    return data, None


def _read_exactly(
    data: Any, raw: bytes, written: bytes, source: str, number: int
) -> tuple[Any, FieldDiagnostic | None]:
    """`parse_line` of a line that is not orjson's compact form, read again by the standard library:
    a duplicate key (BR105), a number read inexactly (BR120), an integer past 64 bits read whole."""
    wide: list[int] = []  # integers past 64 bits, which orjson reads as floats (a 30-digit id)
    try:
        tree = json.loads(raw, object_pairs_hook=_Pairs, parse_float=exact_float, parse_int=_int_noting(wide))
    except InexactNumber as exc:
        column = _number_column(raw, exc.text) + _lead(written, raw)
        return data, FieldDiagnostic(source, number, column, "BR120", *exc.words())
    duplicate = _first_duplicate(tree, ())
    if duplicate is not None:
        message = f"the key `{duplicate[-1]}` appears twice in one object; one value would be lost"
        problem = FieldDiagnostic(
            source, number, 0, "BR105", message, "keep one of the two", field_path=dotted(duplicate)
        )
        ids = sum(1 for key, _ in tree if key == "id") if isinstance(tree, _Pairs) else 0
        return (None if ids > 1 else data), problem  # which of two ids would the record name?
    if wide:  # read again, every integer as written (the stdlib reads them whole)
        data = json.loads(raw, parse_float=exact_float)
    return data, None


def _past_a_double(raw: bytes) -> Any:
    """The value of a line orjson refused for a number past a double (`1e400`, which is JSON), as
    the standard library reads it (that number refused at its field as too large:
    until 2026-12-03 the line was "not JSON", its scenario unnamed); None when the standard library
    cannot read it either (another fault after that number), or it holds `NaN` or `Infinity`. That
    number is a Decimal, as written; the others floats, as orjson reads them."""

    def constant(name: str) -> Any:
        raise ValueError(name)

    def number(text: str) -> float | Decimal:  # (past a double: the number as written, not `inf`)
        value = float(text)
        return value if value - value == 0 else Decimal(text)

    try:
        return json.loads(raw, parse_constant=constant, parse_float=number)
    except (ValueError, RecursionError, ArithmeticError):
        return None


def _scenario_object(data: Any, source: str, number: int) -> tuple[Any, FieldDiagnostic | None]:
    return (data, None) if isinstance(data, dict) else (None, _not_an_object(data, source, number))


def _not_an_object(data: Any, source: str, number: int) -> FieldDiagnostic:
    message = f"the line holds a JSON {_TYPES.get(type(data).__name__, 'null')}, not a scenario object"
    hint = 'write one scenario object per line: {"id": ..., "as_of": ...}'
    return FieldDiagnostic(source, number, 1, "BR601", message, hint)


def _lead(written: bytes, raw: bytes) -> int:
    """The characters of a line before its JSON (`raw`, the line stripped and without byte order
    marks): white space and marks, which a column counts as the line is written (until 2026-12-02
    a syntax error's column was counted from the JSON, two tabs before it two columns short)."""
    start = written.find(raw) if raw else 0
    return len(written[: max(start, 0)].decode("utf-8", "replace"))


def _wide(source: str, number: int, encoding: str) -> FieldDiagnostic:
    """BR103 for a line of a UTF-16 or UTF-32 file: what the file is, and how to make it UTF-8."""
    message = f"the line is not JSON: it looks {encoding} (a byte order mark, or NUL bytes between characters)"
    hint = f"save the file as UTF-8 (`iconv -f {encoding} -t UTF-8`)"
    return FieldDiagnostic(source, number, 1, "BR103", message, hint)


def _not_utf8(source: str, number: int, raw: bytes, lead: int = 0) -> FieldDiagnostic:
    """BR103 at the first byte that is not UTF-8 (orjson says column 1, and words a lone surrogate
    and a stray byte alike: "surrogates not allowed"); `lead`: the characters before `raw`."""
    column, what = 1, "text that is not UTF-8"  # (should Python read what orjson refuses)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[: exc.start].decode("utf-8")) + 1 + lead
        what = f"the byte 0x{raw[exc.start]:02x}, which is not UTF-8"
    message = f"the line is not JSON: it holds {what}"
    return FieldDiagnostic(source, number, column, "BR103", message, "write the line as UTF-8")


def _number_column(raw: bytes, text: str) -> int:
    """The column of the number `text` as a value of the line, from 1: the first place it is
    written outside a string (strings are skipped whole), else 1."""
    number = re.escape(text.encode())
    for found in re.finditer(rb'"(?:[^"\\]|\\.)*"|(?<![\w.+-])(' + number + rb")(?![\w.])", raw):
        if found.group(1) is not None:
            return found.start(1) + 1
    return 1


def _int_noting(wide: list[int]) -> Callable[[str], int]:
    """`json.loads`' `parse_int`: the integer, noted in `wide` when it is past 64 bits."""

    def read(text: str) -> int:
        value = int(text)
        if not -(2**63) <= value < 2**64:
            wide.append(value)
        return value

    return read


#: UTF-8's byte order mark, which a line may start with (RFC 8259: a parser may ignore it)
_BOM = b"\xef\xbb\xbf"
#: how a line starting with a byte order mark starts, read or not
_BOM_STARTS = (b"\xef", "\ufeff")
#: marks and white space before a line's JSON (possessive: no backtracking state kept per mark)
_LEADING_BOMS = re.compile(rb"(?:\xef\xbb\xbf|[ \t\r\n])*+")  # (JSON's white space: not \f, \v)


def _too_deep(source: str, number: int) -> FieldDiagnostic:
    message = f"nesting is too deep (over {DEEPEST_NESTING} levels of objects and arrays)"
    return FieldDiagnostic(source, number, 0, "BR107", message, "flatten the structure")


class _Pairs(list[tuple[str, Any]]):
    """A JSON object read as its pairs, in order: equal keys kept apart."""


def _first_duplicate(value: Any, path: JsonPath) -> JsonPath | None:
    """Where the first key given twice in an object is (`account.code`), or None: the place an
    analyst must look, not only the key's name. Only lines that are not compact pay for this."""
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for name, _ in value:
            if name in seen:
                return (*path, name)
            seen.add(name)
        items: Iterable[tuple[str | int, Any]] = value
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for step, item in items:
        found = _first_duplicate(item, (*path, step))
        if found is not None:
            return found
    return None


_TYPES = {"list": "array", "str": "string", "int": "number", "float": "number", "bool": "boolean"}


def error_record(number: int, scenario_id: str | None, diagnostics: Iterable[Diagnostic]) -> str:
    """One error record (JSON text): the record's line, its scenario id when readable, the diagnostics as data."""
    items = []
    for d in diagnostics:
        where = d.field_path if isinstance(d, FieldDiagnostic) else ""
        items.append({"code": d.code, "field": where, "column": d.column, "message": d.message, "hint": d.hint})
    return json_safe(decisions.to_json({"line": number, "scenario": scenario_id, "diagnostics": items}))


def _what(record: Any) -> str:
    """A record that is no scenario, in a caller's words (until 2026-12-04 Python's type names:
    "a int", "a object")."""
    if record is None:
        return "nothing (None)"
    if isinstance(record, bool):
        return "a yes/no value"
    if isinstance(record, int | float | Decimal):
        return "a number"
    if isinstance(record, list | tuple):
        return "a list"
    name = type(record).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} `{name}` object"
