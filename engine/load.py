"""Stage 1 — load: find rule files, read them safely, keep a line/column for every node.

Files are read by `engine.files` (regular files only, bounded reads) and parsed by ruamel.yaml
down to parser events only; `engine.compose` builds the nodes (enforcing the limits while
parsing) and this module turns nodes into plain JSON-like data itself, so no YAML tag can ever
construct a Python object. Limits refuse hostile input with a diagnostic: file size, binary
content, invalid UTF-8, nesting depth, node count after alias expansion (alias bombs), integer
length, unknown tags, tags on values of another type, directives, reused anchors and duplicate
keys.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.compose import (
    MAX_DEPTH,
    MAX_NODES,
    MERGE,
    NUMBER_STARTS,
    SCALAR_TAGS,
    SPECIAL_WORDS,
    AliasBudget,
    Composer,
    Node,
    Refused,
    Span,
    _tagged,
    _TooLong,
    directive_problem,
    document_defines,
    joined_surrogates,
    resolve_plain,
    span_at,
    span_of,
)
from engine.diagnostics import Diagnostic
from engine.files import FileProblem, Walk, is_dir, is_file, outside_link, read_limited, walk, wide_encoding
from engine.values import InexactNumber

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "AliasBudget", "Document", "SourceFile", "Span", "load_file"]

MAX_FILE_BYTES = 2 * 1024 * 1024
RULESET_FILE_NAMES = ("ruleset.yaml", "ruleset.yml")
YAML_SUFFIXES = (".yaml", ".yml")

JsonPath = tuple[str | int, ...]


@dataclass
class Document:
    """One YAML document: plain data plus the source span of every value and key."""

    file: str
    index: int
    data: Any
    start: Span
    spans: dict[JsonPath, Span] = field(default_factory=dict)
    key_spans: dict[JsonPath, Span] = field(default_factory=dict)
    styles: dict[JsonPath, str] = field(default_factory=dict)  # scalar style of text values (`|`, `"`, ...)

    @property
    def kind(self) -> str | None:
        value = self.data.get("kind") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    @property
    def code(self) -> str | None:
        value = self.data.get("code") if isinstance(self.data, dict) else None
        return value if isinstance(value, str) else None

    def locate(self, path: JsonPath, *, key: bool = False) -> Span:
        """Span of the value at `path` (or of its key), else of the nearest enclosing node."""
        path = tuple(path)
        if key and path in self.key_spans:
            return self.key_spans[path]
        while path:
            if path in self.spans:
                return self.spans[path]
            path = path[:-1]
        return self.start

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
        span = self.locate(path, key=key)
        return Diagnostic(
            self.file, span.line, span.column, code, message, hint, end_column=span.end_column, detail=detail
        )


@dataclass
class SourceFile:
    path: Path
    display: str
    documents: list[Document] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    digest: bytes = b""  # SHA-256 of the bytes read (empty when the file could not be read)
    #: (kind, code) each refused document meant to define (None where it could not be told): the
    #: file's other documents are read and checked, and references to these are not unknown
    dropped: list[tuple[str | None, str | None]] = field(default_factory=list)
    #: False when the file could not be read to its end (bad bytes, a syntax error, a limit)
    whole: bool = True


def dotted(path: JsonPath) -> str:
    """`criteria.products[0].bundle`: how analysts name a place in a document."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


#: A rule file's display path (as loaded, relative to the working directory then) → its path from
#: the rule set's parent folder (`rules/discounts/loyalty.yaml`), for decisions: their reasons name
#: where a rule is written the same wherever billrules runs (SPEC 4: byte-identical decisions).
#: Diagnostics keep the display path, which a terminal or a CI annotation opens.
_RULE_FILES: dict[str, str] = {}


def register_rule_file(display: str, path: Path, root: Path) -> None:
    with contextlib.suppress(ValueError):  # another drive on Windows: the display path stays
        _RULE_FILES[display] = Path(os.path.relpath(path, root.parent)).as_posix()


def remember_rule_files(pairs: Iterable[tuple[str, str]]) -> None:
    """`register_rule_file`'s outcome, given again (a process that unpickled a RuleSet)."""
    _RULE_FILES.update(pairs)


def rule_file(display: str) -> str:
    """How a decision names a rule file (`register_rule_file`); the display path if not a rule file."""
    return _RULE_FILES.get(display, display)


def display_path(path: Path) -> str:
    """Paths relative to the working directory when possible: what a terminal user clicks."""
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def load_file(path: Path, budget: AliasBudget | None = None) -> SourceFile:
    """Read and parse one YAML file; never raises for bad content or an odd path. `budget`: what
    aliases may still add in the rule set the file belongs to (each file has its own limit too)."""
    source = SourceFile(path, display_path(path))
    text = _read_text(source)
    if text is None:
        source.whole = False
    else:
        _parse(source, text, budget)
    return source


def _read_text(source: SourceFile) -> str | None:
    file = source.display
    try:
        raw = read_limited(source.path, MAX_FILE_BYTES)
    except FileProblem as problem:
        source.diagnostics.append(problem.diagnostic(file))
        return None
    source.digest = hashlib.sha256(raw).digest()
    if b"\x00" in raw or raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = wide_encoding(raw)
        if encoding is not None:  # (a PowerShell `>` writes UTF-16: it was told "binary file", "remove it")
            source.diagnostics.append(
                Diagnostic(
                    file,
                    1,
                    1,
                    "BR102",
                    f"the file is {encoding} text (a byte order mark, or NUL bytes between characters): "
                    "rule files are UTF-8",
                    f"save the file as UTF-8 (`iconv -f {encoding} -t UTF-8`)",
                )
            )
            return None
    if b"\x00" in raw:
        line, column = _position(raw, raw.index(b"\x00"))
        source.diagnostics.append(
            Diagnostic(
                file,
                line,
                column,
                "BR102",
                "binary file: rule files must be YAML text",
                "remove the file from the rule set",
            )
        )
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position(raw, exc.start)
        source.diagnostics.append(
            Diagnostic(
                file,
                line,
                column,
                "BR103",
                f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})",
                "save the file as UTF-8",
            )
        )
        return None


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return line, column


def _events(text: str, pure: bool) -> Iterator[Any]:
    """Parser events: libyaml (ruamel.yaml.clib) unless `pure`, else ruamel's YAML 1.2 parser."""
    if not pure:
        # libyaml's parser itself, as `YAML(typ="safe", pure=False).parse` drives it, without its
        # loader class made per call and its generator: `get_event` returns None after the stream
        from ruamel.yaml.main import CParser  # type: ignore[attr-defined]

        c_events: Iterator[Any] = iter(CParser(text).get_event, None)
        return c_events
    events: Iterator[Any] = _pure_yaml_class()(typ="safe", pure=True).parse(text)
    return events


@functools.cache
def _pure_yaml_class() -> Any:
    """ruamel's YAML with its pure parser reading every document by the YAML 1.2 rules, whatever its `%YAML` line says.

    ruamel switches its scanner to YAML 1.1 rules on `%YAML 1.1` and asserts on `%YAML 1.3`;
    the composer checks directives itself (BR115), so the parser is kept out of it.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.resolver import VersionedResolver

    class Resolver12(VersionedResolver):
        @property
        def processing_version(self) -> Any:
            return (1, 2)

    class Yaml12(YAML):
        @property
        def version(self) -> Any:
            return None

        @version.setter
        def version(self, value: Any) -> None:
            pass

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.Resolver = Resolver12

    return Yaml12


def c_parser_available() -> bool:
    import ruamel.yaml.main

    return getattr(ruamel.yaml.main, "CParser", None) is not None


#: Whether the C parser is tried first (tests switch it off to check that both parsers agree).
USE_C_PARSER = True


def _parse(source: SourceFile, text: str, budget: AliasBudget | None = None) -> None:
    """Compose and convert every document: with libyaml first, then with the pure parser from the
    first document libyaml fails on.

    libyaml is faster but stricter than YAML 1.2 in places (a plain `10:00` inside a flow
    mapping), so any error from it is checked by the pure parser, whose verdict (and message) is
    the one reported. Documents are independent, so the documents libyaml completed are kept and
    the pure parser (ten times slower) reads only the rest of the file (see `_rest`); the result
    is the one parsing the whole file with the pure parser gives. A refusal (a limit, a tag) is
    the same from both parsers: they give the same events up to it.

    A refused document (a tag, a duplicate key, a reused anchor, too deep, an inexact number) is
    left out and the file's other documents are read (until 2026-12-03 one such document left
    out the whole file); a final refusal (too many values, a directive), as a syntax error, leaves
    out the file.
    """
    from ruamel.yaml.error import YAMLError

    file = source.display
    if USE_C_PARSER and USE_ONE_PASS and c_parser_available():
        loaded = _one_pass(file, text)
        if loaded is not None:
            source.documents.extend(loaded[0])
            source.diagnostics.extend(loaded[1])
            return
    read = _Read(source)
    rest, first_index, aliased = text, 0, 0
    if USE_C_PARSER and c_parser_available():
        composer = Composer(file, text, budget=budget, resumable=True)
        try:
            for index, node in composer.documents(_events(text, False)):
                _document(file, index, node, read)
        except Refused as refused:
            read.stop(refused.diagnostic, composer)
            return
        except YAMLError:
            resumed = _rest(text, composer)
            if resumed is None:
                read, aliased = _Read(source), 0
            else:
                (rest, first_index), aliased = resumed, composer.aliased_completed
            if budget is not None:  # the pure parser counts again what aliases add in what it reads again
                budget.left += composer.aliased - aliased
        else:
            read.keep()
            return
    composer = Composer(file, rest, first_index, aliased, budget)
    try:
        for index, node in composer.documents(_events(rest, True)):
            _document(file, index, node, read)
    except Refused as refused:
        read.stop(refused.diagnostic, composer)
        return
    except YAMLError as exc:
        read.stop(_yaml_error(file, rest, exc), composer)
        return
    except (ValueError, OverflowError):  # the pure parser's `chr()` of an escape past U+10FFFF
        read.stop(_escape_error(file, text), composer)
        return
    read.keep()


class _Read:
    """What `_parse` has read of a file so far: its documents, its diagnostics, what the documents
    it refused meant to define."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.documents: list[Document] = []
        self.diagnostics: list[Diagnostic] = []
        self.dropped: list[tuple[str | None, str | None]] = []

    def keep(self) -> None:
        self.source.documents.extend(self.documents)
        self.source.diagnostics.extend(self.diagnostics)
        self.source.dropped.extend(self.dropped)

    def stop(self, diagnostic: Diagnostic, composer: Composer) -> None:
        """A final refusal or a syntax error: the file is left out, and what its aliases added is
        given back to the rule set's budget (a file left out adds nothing: until 2026-12-03 every
        later file with an alias was refused too, once one file had crossed the rule set's limit)."""
        self.source.diagnostics.append(diagnostic)
        self.source.whole = False
        if composer.budget is not None:
            composer.budget.left += composer.aliased


#: A `\U` escape of a double-quoted scalar: eight hexadecimal digits
_LONG_ESCAPE = re.compile(r"\\U([0-9A-Fa-f]{8})")


def _escape_error(file: str, text: str) -> Diagnostic:
    """BR104 at the first `\\U` escape beyond the last Unicode character (U+10FFFF), which libyaml
    refuses and ruamel's pure parser fails on with a ValueError instead of a YAML error."""
    for found in _LONG_ESCAPE.finditer(text):
        if int(found.group(1), 16) > 0x10FFFF:
            line = text.count("\n", 0, found.start()) + 1
            column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
            message = (
                f"YAML syntax error: the escape `{found.group(0)}` is beyond the last Unicode character (U+10FFFF)"
            )
            return Diagnostic(file, line, column, "BR104", message, "write a character up to `\\U0010FFFF`")
    return Diagnostic(file, 1, 1, "BR104", "YAML syntax error: an escape the parser cannot read", "check the escapes")


#: After an explicit document end (`...`): blanks and a comment up to the end of the line. Lines
#: as the pure parser counts them (YAML 1.2: `\n`, `\r\n`, `\r`); NEL, LS and PS, which end a
#: comment and which libyaml also counts as line breaks, are left to the pure parser.
_AFTER_END = re.compile(r"[ \t]*(?:#[^\r\n\x85\u2028\u2029]*)?(?:\r\n|\r|\n)")
#: What follows an implicit document end when the next document starts well: `---` or a directive.
_NEXT_DOCUMENT = re.compile(r"---(?:[ \t\r\n\x85\u2028\u2029]|\Z)|%")


def _rest(text: str, composer: Composer) -> tuple[str, int] | None:
    """The text after the last document libyaml completed, for the pure parser, and the index of
    the document it starts with; None when the pure parser must read the whole file.

    The rest starts at the beginning of a line and is preceded by as many empty lines as the pure
    parser counts before it, so every line and column it reports is the one it reports reading
    the whole file. The pure parser (YAML 1.2) reads a document after `...` as it reads the first
    one of a file, and a document after an implicit end must start with `---` or a directive
    either way; anything else after a document end (text after `...` on its line, a line that
    starts no document, a marker libyaml found after NEL, LS or PS) is left to the pure parser's
    reading of the whole file, which reports it.
    """
    ended = composer.ended
    if ended is None:
        return None
    if ended.explicit:  # `...`, then blanks or a comment: the rest starts on the next line
        marker = ended.start_mark.index
        after = _AFTER_END.match(text, ended.end_mark.index)
        if after is None or not _line_start(text, marker):
            return None
        start = after.end()
    else:  # at the next `---` (or directive), where libyaml ended the document
        start = ended.end_mark.index
        if not (_line_start(text, start) and _NEXT_DOCUMENT.match(text, start)):
            return None
    lines = text.count("\n", 0, start) + text.count("\r", 0, start) - text.count("\r\n", 0, start)
    return "\n" * lines + text[start:], composer.completed


def _line_start(text: str, index: int) -> bool:
    return index == 0 or text[index - 1] in "\r\n"


def _document(file: str, index: int, node: Node | Refused | None, read: _Read) -> None:
    """Convert one composed document; empty documents are skipped, non-mappings reported, a
    refused one (by the composer, or by the converter: a duplicate key) reported and left out."""
    if node is None:
        return
    if isinstance(node, Node):
        converter = _Converter(file)
        try:
            data = converter.convert(node, ())
        except Refused as refused:
            refused.defines = document_defines(node, "")
            node = refused
        else:
            spans = converter.spans
            document = Document(file, index, data, spans[()], spans, converter.key_spans, converter.styles)
            _converted(document, read.documents, read.diagnostics)
            return
    read.diagnostics.append(node.diagnostic)
    read.dropped.append(node.defines)


def _converted(document: Document, documents: list[Document], diagnostics: list[Diagnostic]) -> None:
    """Keep a converted document: a null one is skipped (as an empty one), a non-mapping reported."""
    data = document.data
    if data is None:
        return
    if not isinstance(data, dict):
        diagnostics.append(
            document.diagnostic(
                (),
                "BR109",
                "a rule document must be a mapping with `kind:` and `code:`",
                "start the document with `kind: <kind>`",
            )
        )
        return
    documents.append(document)


#: Whether plain files are read in one pass (`_one_pass`); tests switch it off to compare.
USE_ONE_PASS = True


class _Unusual(Exception):
    """Something `_one_pass` leaves to the composer and the converter."""


def _one_pass(file: str, text: str) -> tuple[list[Document], list[Diagnostic]] | None:
    """The documents of `text`, read from libyaml's events into data and spans in one pass, or
    None for a file that needs the composer (then `_parse` reads it as before).

    Composing nodes and then converting them costs two passes and a `Node` per value (about
    0.5 s of the 0.8 s loading 4,000 discount definitions). Most rule files hold plain mappings,
    lists and scalars; for them this pass makes the very data, spans, key spans and styles the
    two passes make, in the same order. Anything else — an anchor, an alias, a merge key, a tag
    other than a core scalar tag, a key that is not a scalar, a duplicate key, a limit nearly
    reached, a directive it would refuse, a syntax error — returns None, and the composer and
    the converter read the whole file, with their checks and their diagnostics.
    """
    from ruamel.yaml import events
    from ruamel.yaml.error import YAMLError

    try:
        return _OnePass(file, text).read(_events(text, False), events)
    except (_Unusual, Refused, YAMLError, ValueError, _TooLong, InexactNumber):  # ValueError: a tag on the wrong text
        return None


class _OnePass:
    """See `_one_pass`. The open collections are a stack of (container, path, start mark, pending
    key); a mapping's pending key is the key whose value comes next (`_NO_KEY` when a key comes next)."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.composer = Composer(file, text)  # its directive checks, the same as the two passes'

    def read(self, stream: Iterator[Any], ev: Any) -> tuple[list[Document], list[Diagnostic]]:
        scalar_event, mapping_start, sequence_start = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
        ends = (ev.MappingEndEvent, ev.SequenceEndEvent)
        document_start, document_end, alias = ev.DocumentStartEvent, ev.DocumentEndEvent, ev.AliasEvent
        make_span = tuple.__new__  # a Span without its generated `__new__`
        file = self.file
        documents: list[Document] = []
        diagnostics: list[Diagnostic] = []
        stack: list[list[Any]] = []
        spans: dict[JsonPath, Span] = {}
        key_spans: dict[JsonPath, Span] = {}
        styles: dict[JsonPath, str] = {}
        root: Any = _NO_KEY
        index, count = -1, 0
        previous_end = (0, 0, 0)
        for event in stream:
            kind = type(event)
            if kind is scalar_event:
                if event.anchor is not None:
                    raise _Unusual
                style = event.style or None  # the C parser says '' for plain
                text = event.value.replace("\a", "") if style == ">" else event.value  # ruamel marks folds with BEL
                if style == '"':
                    text = joined_surrogates(text)
                if event.ctag is None:  # (`tag` is a property making a text of `ctag`)
                    if style is not None or not (text[:1] in NUMBER_STARTS or text in SPECIAL_WORDS):
                        value = text
                    else:
                        resolved, value = resolve_plain(text)
                        if resolved == MERGE:
                            raise _Unusual  # `<<`: a merge key, the converter's rules
                elif event.tag in SCALAR_TAGS:
                    value = _tagged(event.tag, text)  # ValueError: the composer's BR114
                else:
                    raise _Unusual
                start, end = event.start_mark, event.end_mark
                line, column = start.line, start.column
                if end.line == line:  # `span_at`, inline for the common case
                    after = end.column + 1
                    span = make_span(Span, (line + 1, column + 1, after if after > column + 2 else column + 2))
                else:
                    span = span_at(line, column, end.line, end.column, text)
                count += 1
                if not stack:
                    path: JsonPath = ()
                    root = value
                else:  # `_place`, inline for the most common event
                    parent = stack[-1]
                    container = parent[0]
                    if type(container) is list:
                        container.append(value)
                        path = (*parent[1], len(container) - 1)
                    elif parent[3] is _NO_KEY:  # a key
                        if style:
                            styles[(*parent[1], "\x00key")] = style
                        if type(value) is not str:
                            value = _key_text(value)
                        if value in container:
                            raise _Unusual  # a duplicate key: the converter's diagnostic
                        key_spans[(*parent[1], value)] = span
                        parent[3] = value
                        continue
                    else:
                        container[parent[3]] = value
                        path = (*parent[1], parent[3])
                        parent[3] = _NO_KEY
                spans[path] = span
                if style:
                    styles[path] = style
            elif kind is mapping_start or kind is sequence_start:
                if event.anchor is not None or event.ctag is not None or len(stack) >= MAX_DEPTH:
                    raise _Unusual
                count += 1
                new: Any = {} if kind is mapping_start else []
                if not stack:
                    path = ()
                    root = new
                else:  # `_place`, inline
                    parent = stack[-1]
                    container = parent[0]
                    if type(container) is list:
                        container.append(new)
                        path = (*parent[1], len(container) - 1)
                    elif parent[3] is _NO_KEY:
                        raise _Unusual  # a key that is a mapping or a list
                    else:
                        container[parent[3]] = new
                        path = (*parent[1], parent[3])
                        parent[3] = _NO_KEY
                spans[path] = _NO_SPAN  # its place in the order; the span when it ends
                stack.append([new, path, event.start_mark, _NO_KEY])
            elif kind in ends:
                _container, path, start, _key = stack.pop()
                end = event.end_mark
                # `span_at(start.line, start.column, end.line, end.column, None)`, inline
                line, column = start.line, start.column
                after = end.column + 1 if end.line == line else column + 2
                spans[path] = make_span(Span, (line + 1, column + 1, after if after > column + 2 else column + 2))
            elif kind is document_start:
                index += 1
                self.composer._check_directives(previous_end, event)
                spans, key_spans, styles, root, count = {}, {}, {}, _NO_KEY, 0
            elif kind is document_end:
                mark = event.end_mark
                previous_end = (mark.index, mark.line, mark.column)
                if root is not _NO_KEY:
                    _converted(Document(file, index, root, spans[()], spans, key_spans, styles), documents, diagnostics)
            elif kind is alias:
                raise _Unusual
            if count >= MAX_NODES:
                raise _Unusual
        return documents, diagnostics


def _key_text(key: Any) -> str:
    """A key that is not text, as the key of the data: YAML's words for null and booleans (`~:` is
    the key `null`; until 2026-12-02 it was `None`, told as "unknown property `None`"), a number's
    digits, a list or a mapping in YAML's flow form."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return str(key).lower()
    if isinstance(key, list):
        return "[" + ", ".join(_key_text(k) if not isinstance(k, str) else k for k in key) + "]"
    if isinstance(key, dict):
        return (
            "{"
            + ", ".join(f"{_key_text(k)}: {_key_text(v) if not isinstance(v, str) else v}" for k, v in key.items())
            + "}"
        )
    return str(key)


_NO_KEY: Any = object()
_NO_SPAN = Span(0, 0, 0)


def _place(parent: list[Any], value: Any) -> JsonPath:
    """Attach a value to the open collection `parent` (a list, or a mapping whose key was read); its path."""
    container, path, _start, key = parent
    if type(container) is list:
        container.append(value)
        return (*path, len(container) - 1)
    if key is _NO_KEY:
        raise _Unusual  # a key that is a mapping or a list
    container[key] = value
    parent[3] = _NO_KEY
    return (*path, key)


def _yaml_error(file: str, text: str, exc: Exception) -> Diagnostic:
    from ruamel.yaml.error import MarkedYAMLError

    if isinstance(exc, MarkedYAMLError):
        return _syntax_diagnostic(file, text, exc)
    from ruamel.yaml.reader import ReaderError

    if isinstance(exc, ReaderError) and isinstance(exc.character, int) and 0 <= exc.position <= len(text):
        return _unacceptable_character(file, text, exc.position, exc.character)
    return Diagnostic(file, 1, 1, "BR104", f"YAML syntax error: {exc}", "check the file with a YAML linter")


def _unacceptable_character(file: str, text: str, position: int, character: int) -> Diagnostic:
    """A character YAML does not allow in a file (a control character, U+FFFE), at its own line
    and column (lines numbered as the parsers number them, and the reporter quotes them). Until
    2026-12-02 it was told at 1:1 with the parser's message, "in "<unicode string>", position 40"."""
    import unicodedata

    start = max(text.rfind(c, 0, position) for c in "\n\r\x85\u2028\u2029") + 1
    before = text[:start]  # (lines as the parsers count them, NEL, LS and PS too: as every diagnostic)
    line = sum(before.count(c) for c in "\n\r\x85\u2028\u2029") - before.count("\r\n") + 1
    name = unicodedata.name(
        chr(character), "a noncharacter" if character in (0xFFFE, 0xFFFF) else "a control character"
    )
    name = name.lower()
    return Diagnostic(
        file,
        line,
        position - start + 1,
        "BR104",
        f"YAML syntax error: the character U+{character:04X} ({name}) is not allowed in a YAML file",
        f"remove it; to mean it in text, write it as an escape in double quotes (`\\x{character:02x}`)"
        if character < 0x100
        else f"remove it; to mean it in text, write it as an escape in double quotes (`\\u{character:04x}`)",
    )


_SYNTAX_HINTS = (
    ("'\\t'", "indent with spaces, not tabs"),
    ("tab character", "indent with spaces, not tabs"),
    ("mapping values are not allowed", "put a space after `:` and quote text that contains `: `"),
    ("could not find expected ':'", "every key needs a `:` after it"),
    ("expected <block end>", "check the indentation of this line against the lines above"),
    ("found unexpected end of stream", "close the quote or bracket that was opened"),
    ("expected '<document start>'", "start each further document with a line `---`"),
)
#: Parser errors about directives: reported as BR115 with billrules' own wording.
_DIRECTIVE_ERRORS = ("found incompatible YAML document", "found duplicate YAML directive", "duplicate tag handle")


_TOKEN_TUPLE = re.compile(r"\('(.{1,3})',\)")


def _syntax_diagnostic(file: str, text: str, exc: Any) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    problem = str(exc.problem or exc.context or "invalid YAML").strip()
    # libyaml names some tokens as a Python tuple: "but found ('{',)" said "but found '{'"
    problem = _TOKEN_TUPLE.sub(r"'\1'", problem)
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    directive = "directive" in str(exc.context or "") or problem.startswith(_DIRECTIVE_ERRORS)
    if directive and mark is not None:
        return _directive_diagnostic(file, text, mark, problem)
    hint = next((h for needle, h in _SYNTAX_HINTS if needle in problem), "check indentation, quotes and brackets")
    if problem.startswith("mapping values are not allowed") and mark is not None:
        hint = _indented_more(text, mark.line) or _colon_in_text(text, mark.line, mark.column) or hint
    return Diagnostic(file, line, column, "BR104", f"YAML syntax error: {problem}", hint)


def _colon_in_text(text: str, index: int, column: int) -> str | None:
    """The other usual cause: text holding `: ` (`description: Main service: 80 channels`), which
    YAML reads as a key inside a value. A hint that says so (until 2026-12-02 the hint began "put a
    space after `:`", for a colon with its space), or None."""
    lines = text.splitlines()
    if not 0 <= index < len(lines) or lines[index][column : column + 2] not in (": ", ":"):
        return None
    key, _, value = lines[index].strip().removeprefix("- ").partition(": ")
    if not key or not value or value[:1] in "\"'" or ('"' in value and "'" in value):
        return None
    quoted = f"'{value}'" if '"' in value else f'"{value}"'
    return f"the text after `{key}:` holds `: `, which YAML reads as another key: quote the text, `{key}: {quoted}`"


def _indented_more(text: str, index: int) -> str | None:
    """The usual cause of "mapping values are not allowed here": the line is indented more than the
    line above, which holds a `key: value` (YAML reads the line as that value going on), e.g.
    `   value: 10` under `  type: percentage`. A hint that says so, or None."""
    lines = text.splitlines()
    if not 0 < index < len(lines):
        return None
    here = lines[index]
    above = next((x for x in reversed(lines[:index]) if x.strip() and not x.lstrip().startswith("#")), None)
    if above is None:
        return None
    indent, above_indent = len(here) - len(here.lstrip(" ")), len(above) - len(above.lstrip(" "))
    key, _, value = above.strip().removeprefix("- ").partition(":")
    if indent > above_indent and key and value.strip():
        return (
            f"this line is indented {indent} spaces, the line above {above_indent}: a key under "
            f"`{key.strip()}: {value.strip()}` is read as part of its value; align it with the keys beside it"
        )
    return None


def _directive_diagnostic(file: str, text: str, mark: Any, problem: str) -> Diagnostic:
    """A directive the parser refused (`%YAML 2.0`, `%YAML x`, a repeated one), at the directive's line."""
    start = text.rfind("\n", 0, mark.index) + 1
    end = text.find("\n", mark.index)
    written = text[start : end if end >= 0 else len(text)].split("#")[0].rstrip()
    words = written.split() or ["%"]
    if problem.startswith("found duplicate YAML directive"):
        message, hint = "`%YAML` is given twice for one document", "keep one `%YAML 1.2` line"
    elif words[0] in ("%YAML", "%TAG") and not problem.startswith(_DIRECTIVE_ERRORS):
        message, hint = f"malformed `{words[0]}` directive: {problem}", "write `%YAML 1.2`, or remove the line"
    else:
        message, hint = directive_problem(words)
    return Diagnostic(file, mark.line + 1, 1, "BR115", message, hint, end_column=len(written) + 1)


class _Converter:
    """Turns a composed node graph into plain data with the span of every value and key.

    The composer has already enforced the limits (size, depth, tags), so conversion is bounded.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.spans: dict[JsonPath, Span] = {}
        self.key_spans: dict[JsonPath, Span] = {}
        self.styles: dict[JsonPath, str] = {}

    def refuse(self, node: Node, code: str, message: str, hint: str) -> Refused:
        span = span_of(node)
        return Refused(Diagnostic(self.file, span.line, span.column, code, message, hint, end_column=span.end_column))

    def convert(self, node: Node, path: JsonPath) -> Any:
        if path not in self.spans:
            self.spans[path] = span_of(node)
        if node.kind == "scalar":
            if node.style:
                self.styles[path] = node.style
            return node.value
        if node.kind == "seq":
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._mapping(node, path)

    def _mapping(self, node: Node, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                merged.update({k: v for k, v in self._merge_sources(value_node, path) if k not in merged})
                continue
            if key_node.kind == "scalar":  # what `convert` does for it, and its span removed
                if key_node.style:
                    self.styles[(*path, "\x00key")] = key_node.style
                self.spans.pop((*path, "\x00key"), None)
                key = key_node.value
            else:
                key = self.convert(key_node, (*path, "\x00key"))
                self.spans.pop((*path, "\x00key"), None)
            if not isinstance(key, str):
                key = _key_text(key)
            child = (*path, key)
            if key in result:
                first = self.key_spans[child]
                raise self.refuse(
                    key_node,
                    "BR105",
                    f"duplicate key `{key}` (first defined at line {first.line}, column {first.column})",
                    "a new document starts here? separate it from the one above with a line `---`"
                    # (a key of its own line, as the first: in one `{…}` line no `---` can go,
                    # which until 2026-12-04 was hinted there too)
                    if key == "kind"
                    and not path
                    and key_node.line + 1 > first.line
                    and key_node.column + 1 == first.column
                    else "remove one of the two entries; YAML keeps only one and the other would be lost",
                )
            self.key_spans[child] = span_of(key_node)
            result[key] = self.convert(value_node, child)
        taken = [key for key in merged if key not in result]
        for key, value in merged.items():
            result.setdefault(key, value)
        if taken:
            self._merged_places(path, set(taken))
        return result

    def _merged_places(self, path: JsonPath, taken: set[str]) -> None:
        """The spans, key spans and styles of merged values, under their place in this mapping: a
        mistake in a value `<<: *defaults` brought is located where it is written (until 2026-12-02
        at the mapping that merged it)."""
        prefix = (*path, "\x00merge")
        depth = len(prefix)

        def moved(places: dict[JsonPath, Any]) -> None:
            for where in [w for w in places if w[:depth] == prefix and len(w) > depth and w[depth] in taken]:
                places.setdefault((*path, *where[depth:]), places[where])

        moved(self.spans)
        moved(self.key_spans)
        moved(self.styles)

    def _merge_sources(self, node: Node, path: JsonPath) -> Iterator[tuple[str, Any]]:
        sources = node.value if node.kind == "seq" else [node]
        for source in sources:
            value = self.convert(source, (*path, "\x00merge"))
            if not isinstance(value, dict):
                raise self.refuse(
                    source,
                    "BR104",
                    "YAML syntax error: `<<` must merge a mapping",
                    "merge an anchored mapping: `<<: *defaults`",
                )
            yield from value.items()


# --- discovery ---------------------------------------------------------------------------------


def find_ruleset_root(path: Path) -> Path | None:
    """The nearest directory at or above `path` holding a `ruleset.yaml`, found on the absolute
    path (`..` taken as the folder above, not as a relative name's parent) and given back relative
    to the working folder when `path` is relative. Until 2026-12-02 a relative path was walked by
    its own parts: `validate .` in `rules/discounts` stopped at `.` (every file in no rule set,
    BR110), and `../../loose` from inside another rule set found that rule set."""
    directory = path if is_dir(path) else path.parent
    absolute = Path(os.path.abspath(directory))
    for candidate in (absolute, *absolute.parents):
        if holds_ruleset(candidate):
            return candidate if directory.is_absolute() else Path(os.path.relpath(candidate))
    return None


def holds_ruleset(directory: Path) -> bool:
    """Whether `directory` is the root of a rule set (holds a `ruleset.yaml`)."""
    return any(is_file(directory / name) for name in RULESET_FILE_NAMES)


def discover(root: Path) -> Walk:
    """The YAML files of the rule set at `root`, sorted; nested rule sets and hidden folders excluded.

    Folders that cannot be read and links leading outside `root` (BR117) are reported in the
    walk's diagnostics; links to folders are not followed (see `engine.files.walk`).
    """
    found = walk(root, display_path, prune=holds_ruleset)
    found.diagnostics.extend(not_read(f) for f in found.files if _looks_like_yaml(f.name))
    found.diagnostics.extend(
        not_read(
            f,
            "a `.json` file holding a rule document (`kind:`)",
            "rename it to end in `.yaml` (YAML reads JSON), or move it out of the rule set",
        )
        for f in found.files
        if f.name.lower().endswith(".json") and _holds_rule_document(f)
    )
    found.diagnostics.extend(
        not_read(
            f,
            "a hidden file (its name starts with `.`)",
            "rename it without the leading `.`, or move it out of the rule set",
        )
        for f in found.hidden
        if f.name.lower().endswith((*YAML_SUFFIXES, ".json")) and _holds_rule_document(f)
    )
    found.files = [f for f in found.files if f.name.endswith(YAML_SUFFIXES)]
    found.diagnostics.extend(outside_link(link, display_path(link)) for link in found.outside)
    return found


def _holds_rule_document(path: Path) -> bool:
    """Whether the file at `path` holds a rule document: a JSON object whose own `kind` is one of
    billrules' kinds, or YAML with a top-level `kind: <one of them>` line, in its first MiB; a file
    that cannot be read is not. Other files that carry a `kind` are left alone: a JSON Schema
    (`"kind"` among its properties), a CI pipeline's `.drone.yml` (`kind: pipeline`; both told
    BR119 by a first version, the review of 2026-12-03)."""
    if os.path.islink(path) or not is_file(path):  # (no pipe or device is opened; a link is not followed)
        return False
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            head = os.read(descriptor, 1 << 20).decode("utf-8", "replace").removeprefix("\ufeff")
        finally:
            os.close(descriptor)
    except OSError:
        return False
    if path.name.lower().endswith(".json"):
        try:
            data = json.loads(head)
        except ValueError:  # (past its first MiB, or near-JSON: a first `"kind": "product"` tells)
            found = _JSON_KIND_FIRST.match(head)
            return found is not None and found.group(1) in RULE_KINDS
        return isinstance(data, dict) and data.get("kind") in RULE_KINDS
    return any(found.group(1) in RULE_KINDS for found in _KIND_LINE.finditer(head))


#: the `kind:` of every rule document (`engine.models.KINDS`' names, which a test holds them to)
RULE_KINDS = frozenset(
    {
        "rule_set", "product", "bundle", "plan", "billing_term_scheme", "term", "coupon", "segment", "unit",
        "user", "discount", "organisation", "credit_type", "credit", "balance_policy",
    }
)  # fmt: skip

#: a JSON rule document whose first key is its kind (`{"kind": "product", …`)
_JSON_KIND_FIRST = re.compile(r'\s*\{\s*"kind"\s*:\s*"([a-z_]+)"')

#: a YAML document's top-level `kind: product` line (at the line's start: not a nested key), its
#: key quoted or not (`"kind": product` was not counted until 2026-12-03: a hostile-input campaign)
_KIND_LINE = re.compile(r"""(?m)^(?:kind|"kind"|'kind')[ \t]*:[ \t]*["']?([a-z_]+)["']?[ \t]*(?:#.*)?\r?$""")


def _looks_like_yaml(name: str) -> bool:
    """A YAML suffix in other letters (`rules.YAML`, `x.Yml`): meant as a rule file, but not read."""
    return name.lower().endswith(YAML_SUFFIXES) and not name.endswith(YAML_SUFFIXES)


def not_read(path: Path, why: str | None = None, hint: str | None = None) -> Diagnostic:
    """BR119: a file in a rule set, meant as a rule file or named as one, that the rule set does not
    read (it was left out in silence: its rules did not exist)."""
    return Diagnostic(
        display_path(path),
        1,
        1,
        "BR119",
        f"not read as a rule file: {why or 'rule files end in `.yaml` or `.yml` (in lower case)'}",
        hint or "rename it to end in `.yaml`, or move it out of the rule set",
    )


def rule_files(root: Path) -> list[Path]:
    """The YAML files of the rule set at `root` (see `discover`)."""
    return discover(root).files
