"""Stage 1 — load: find rule files, read them safely, keep a line/column for every node.

YAML is parsed with ruamel.yaml down to its node graph only (the *composer*); this module turns
nodes into plain JSON-like data itself, so no YAML tag can ever construct a Python object. Limits
refuse hostile input with a diagnostic: file size, binary content, invalid UTF-8, nesting depth,
node count after alias expansion (alias bombs), unknown tags and duplicate keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000
RULESET_FILE_NAMES = ("ruleset.yaml", "ruleset.yml")
YAML_SUFFIXES = (".yaml", ".yml")

JsonPath = tuple[str | int, ...]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_COLLECTION_TAGS = {_CORE + "map", _CORE + "seq", _CORE + "omap"}


@dataclass(frozen=True)
class Span:
    """1-based line and column of a node, and the column just after it on its first line."""

    line: int
    column: int
    end_column: int


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


class _Refused(Exception):
    """Raised inside the converter to abandon a file; carries its diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def dotted(path: JsonPath) -> str:
    """`criteria.products[0].bundle`: how analysts name a place in a document."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def display_path(path: Path) -> str:
    """Paths relative to the working directory when possible: what a terminal user clicks."""
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)


def load_file(path: Path) -> SourceFile:
    """Read and parse one YAML file; never raises for bad content."""
    source = SourceFile(path, display_path(path))
    text = _read_text(source)
    if text is not None:
        _parse(source, text)
    return source


def _read_text(source: SourceFile) -> str | None:
    file = source.display
    try:
        size = source.path.stat().st_size
        if size > MAX_FILE_BYTES:
            source.diagnostics.append(
                Diagnostic(
                    file,
                    1,
                    1,
                    "BR101",
                    f"file is too large ({size:,} bytes; the limit is {MAX_FILE_BYTES:,})",
                    "split the rules into several files",
                )
            )
            return None
        raw = source.path.read_bytes()
    except OSError as exc:
        source.diagnostics.append(
            Diagnostic(
                file, 1, 1, "BR100", f"cannot read file: {exc.strerror or exc}", "check the path and its permissions"
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


#: Above this raw bracket depth the C parser is not used: libyaml composes recursively in C and
#: crashes the process on ~100,000 nested brackets; the pure parser refuses such input cleanly.
C_PARSER_MAX_BRACKETS = 1000


def _bracket_depth(text: str) -> int:
    """An upper bound of flow nesting (brackets inside strings count too: it is only a guard)."""
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]+", "", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _compose(text: str) -> list[Any]:
    """Compose every document: the C parser when safe, the pure YAML 1.2 parser otherwise.

    libyaml is faster but stricter than YAML 1.2 in places (a plain `10:00` inside a flow
    mapping), so any error from it is checked by re-parsing with the pure parser, whose verdict
    (and message) is the one reported.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if _bracket_depth(text) <= C_PARSER_MAX_BRACKETS:
        try:
            return list(YAML(typ="safe", pure=False).compose_all(text))
        except YAMLError:
            pass
    return list(YAML(typ="safe", pure=True).compose_all(text))


def _parse(source: SourceFile, text: str) -> None:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    file = source.display
    try:
        for index, node in enumerate(_compose(text)):
            if node is None:
                continue
            converter = _Converter(file)
            data = converter.convert(node, (), 0)
            if data is None:
                continue
            document = Document(
                file, index, data, converter.spans[()], converter.spans, converter.key_spans, converter.styles
            )
            if not isinstance(data, dict):
                source.diagnostics.append(
                    document.diagnostic(
                        (),
                        "BR109",
                        "a rule document must be a mapping with `kind:` and `code:`",
                        "start the document with `kind: <kind>`",
                    )
                )
                continue
            source.documents.append(document)
    except _Refused as refused:
        source.documents.clear()
        source.diagnostics.append(refused.diagnostic)
    except RecursionError:
        source.documents.clear()
        source.diagnostics.append(
            Diagnostic(
                file, 1, 1, "BR107", f"nesting is too deep (the limit is {MAX_DEPTH} levels)", "flatten the structure"
            )
        )
    except MarkedYAMLError as exc:
        source.documents.clear()
        source.diagnostics.append(_syntax_diagnostic(file, exc))
    except YAMLError as exc:
        source.documents.clear()
        source.diagnostics.append(
            Diagnostic(file, 1, 1, "BR104", f"YAML syntax error: {exc}", "check the file with a YAML linter")
        )


_SYNTAX_HINTS = (
    ("'\\t'", "indent with spaces, not tabs"),
    ("tab character", "indent with spaces, not tabs"),
    ("mapping values are not allowed", "put a space after `:` and quote text that contains `: `"),
    ("could not find expected ':'", "every key needs a `:` after it"),
    ("found undefined alias", "define the anchor (`&name`) before using `*name`"),
    ("expected <block end>", "check the indentation of this line against the lines above"),
    ("found unexpected end of stream", "close the quote or bracket that was opened"),
)


def _syntax_diagnostic(file: str, exc: Any) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    problem = str(exc.problem or exc.context or "invalid YAML").strip()
    hint = next((h for needle, h in _SYNTAX_HINTS if needle in problem), "check indentation, quotes and brackets")
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    return Diagnostic(file, line, column, "BR104", f"YAML syntax error: {problem}", hint)


class _Converter:
    """Turns a composed node graph into plain data, enforcing the safety limits."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.nodes = 0
        self.spans: dict[JsonPath, Span] = {}
        self.key_spans: dict[JsonPath, Span] = {}
        self.styles: dict[JsonPath, str] = {}

    def refuse(self, node: Any, code: str, message: str, hint: str) -> _Refused:
        span = _span(node)
        return _Refused(Diagnostic(self.file, span.line, span.column, code, message, hint, end_column=span.end_column))

    def convert(self, node: Any, path: JsonPath, depth: int) -> Any:
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.refuse(
                node,
                "BR108",
                f"the document expands to more than {MAX_NODES:,} values (aliases included)",
                "use fewer aliases; an alias bomb is refused",
            )
        if depth > MAX_DEPTH:
            raise self.refuse(
                node, "BR107", f"nesting is too deep (the limit is {MAX_DEPTH} levels)", "flatten the structure"
            )
        self.spans.setdefault(path, _span(node))
        tag = str(node.tag)
        if isinstance(node, ScalarNode):
            if tag not in _SCALAR_TAGS:
                raise self.refuse(
                    node,
                    "BR106",
                    f"YAML tag `{_short(tag)}` is not allowed in rule files",
                    "remove the tag; rule files hold plain data only",
                )
            if node.style:
                self.styles[path] = node.style
            text = node.value.replace("\a", "") if node.style == ">" else node.value  # ruamel marks folds with BEL
            return _scalar(tag, text)
        if tag not in _COLLECTION_TAGS:
            raise self.refuse(
                node,
                "BR106",
                f"YAML tag `{_short(tag)}` is not allowed in rule files",
                "remove the tag; rule files hold plain data only",
            )
        if isinstance(node, SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        return self._mapping(node, path, depth)

    def _mapping(self, node: Any, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if str(key_node.tag) == _CORE + "merge":
                merged.update({k: v for k, v in self._merge_sources(value_node, path, depth) if k not in merged})
                continue
            key = self.convert(key_node, (*path, "\x00key"), depth + 1)
            self.spans.pop((*path, "\x00key"), None)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            child = (*path, key)
            if key in result:
                first = self.key_spans[child]
                raise self.refuse(
                    key_node,
                    "BR105",
                    f"duplicate key `{key}` (first defined at line {first.line}, column {first.column})",
                    "remove one of the two entries; YAML keeps only one and the other would be lost",
                )
            self.key_spans[child] = _span(key_node)
            result[key] = self.convert(value_node, child, depth + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_sources(self, node: Any, path: JsonPath, depth: int) -> Iterator[tuple[str, Any]]:
        sources = node.value if str(node.tag) == _CORE + "seq" else [node]
        for source in sources:
            value = self.convert(source, (*path, "\x00merge"), depth + 1)
            if not isinstance(value, dict):
                raise self.refuse(
                    source,
                    "BR104",
                    "YAML syntax error: `<<` must merge a mapping",
                    "merge an anchored mapping: `<<: *defaults`",
                )
            yield from value.items()


def _span(node: Any) -> Span:
    start, end = node.start_mark, node.end_mark
    if end.line == start.line:
        end_column = end.column + 1
    elif isinstance(node.value, str) and "\n" not in node.value:
        # a plain scalar that ends its document: its end mark lies on a later line
        end_column = start.column + 1 + len(node.value)
    else:
        end_column = start.column + 2
    return Span(start.line + 1, start.column + 1, max(end_column, start.column + 2))


def _short(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def _scalar(tag: str, text: str) -> Any:
    kind = tag[len(_CORE) :]
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() == "true"
    if kind == "int":
        cleaned = text.replace("_", "")
        try:
            return int(cleaned)
        except ValueError:
            return int(cleaned, 0)
    if kind == "float":
        cleaned = text.replace("_", "").lower()
        if cleaned in (".inf", "+.inf"):
            return float("inf")
        if cleaned == "-.inf":
            return float("-inf")
        if cleaned == ".nan":
            return float("nan")
        return float(cleaned)
    return text  # str, and timestamps kept as written (the schema checks their format)


# --- discovery ---------------------------------------------------------------------------------


def find_ruleset_root(path: Path) -> Path | None:
    """The nearest directory at or above `path` holding a `ruleset.yaml`."""
    directory = path if path.is_dir() else path.parent
    for candidate in (directory, *directory.parents):
        if any((candidate / name).is_file() for name in RULESET_FILE_NAMES):
            return candidate
    return None


def rule_files(root: Path) -> list[Path]:
    """YAML files of the rule set at `root`, sorted; nested rule sets and hidden folders excluded."""
    found: list[Path] = []
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".") and not any((here / d / n).is_file() for n in RULESET_FILE_NAMES)
        )
        found.extend(here / f for f in sorted(files) if f.endswith(YAML_SUFFIXES) and not f.startswith("."))
    return sorted(found)
