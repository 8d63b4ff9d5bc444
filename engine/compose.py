"""Stage 1a — compose: YAML parser events to nodes, every limit enforced while parsing.

ruamel.yaml only scans and parses here (C parser when available, its pure parser otherwise);
this module composes the events itself instead of using ruamel's composer, for four reasons:

- limits hold *while* parsing: a 2 MiB flow sequence of a million numbers, an alias bomb or a
  100,000-deep nesting is refused at the value that crosses the limit, before the rest of the
  file is even parsed (ruamel composes everything first, and its C composer recurses);
- scalars are resolved by one resolver, the same whatever parser ran and whatever `%YAML`
  version a document declares (YAML 1.2 rules, as the YAML 1.2 spec asks of a 1.2 processor);
- explicit tags are checked against the value they tag (`!!int abc` is a diagnostic, not a
  ValueError), and integers too long for Python's integer-string limit are refused;
- anchors, aliases and directives are checked here, so ruamel never warns (a reused anchor is a
  diagnostic, not a warning text on standard error).

The resolver follows ruamel.yaml's YAML 1.2 resolver (so `1_000` and `0b101` stay integers, as
they were), minus its gaps: a plain `_` or `0x_` is text, not a crash; a timestamp or `=` is text.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine.diagnostics import Diagnostic
from engine.values import InexactNumber, exact_float

MAX_DEPTH = 64
MAX_NODES = 100_000
#: Values aliases may add in all the documents of one file, and in all the files of a rule set:
#: the limit per document alone let a 28 KB file of a hundred documents, each just under it,
#: expand to nine million values (14 s, 2.5 GB) until 2026-12-03.
MAX_ALIASED_PER_FILE = MAX_NODES
MAX_ALIASED_PER_RULESET = 10 * MAX_NODES
#: Python refuses to convert integers of more digits (its integer-string limit), and printing
#: one would fail the same way; billrules refuses them at load with a diagnostic.
MAX_INT_DIGITS = 4300

CORE = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (CORE + name for name in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = CORE + "map", CORE + "seq", CORE + "merge"
SCALAR_TAGS = (STR, INT, FLOAT, BOOL, NULL)
SUPPORTED_VERSIONS = ("1.1", "1.2")

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
#: Plain scalars `resolve_plain` may read as something other than text: the words above, `<<`, and
#: anything starting like a number (the empty text included); every other plain scalar is text.
SPECIAL_WORDS = _NULLS | _TRUE | _FALSE | {"<<"}
NUMBER_STARTS = "-+0123456789."
# No nested quantifiers: a 2 MiB scalar must not make a regex backtrack quadratically.
_INT = re.compile(r"[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9_]+)")
_DECIMAL = re.compile(r"[-+]?[0-9_]+")
_FLOAT = re.compile(
    r"""[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN)""",
    re.X,
)
_KINDS = {"scalar": "a single value", "seq": "a list", "map": "a mapping"}
_TAG_HINTS = {
    INT: "write a whole number (`12`, `-3`, `0x1F`), or remove the tag",
    FLOAT: "write a number (`1.5`, `-2e3`, `.inf`), or remove the tag",
    BOOL: "write `true` or `false`, or remove the tag",
    NULL: "write `null` or `~`, or remove the tag",
}
_TAG_NOUNS = {INT: "an integer", FLOAT: "a number", BOOL: "true or false", NULL: "null"}


class Refused(Exception):
    """Abandons a document (or, when `final`, the rest of the file): carries the diagnostic that says why.

    `defines` is what the abandoned document meant to define, as far as it was read: its `kind`
    and its `code` (None where unknown), so that references to it are not reported unknown."""

    def __init__(self, diagnostic: Diagnostic, *, final: bool = False) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.final = final
        self.defines: tuple[str | None, str | None] = (None, None)


class AliasBudget:
    """The values aliases may still add in the files of one rule set (`MAX_ALIASED_PER_RULESET`),
    shared by the files' composers."""

    def __init__(self, values: int = MAX_ALIASED_PER_RULESET) -> None:
        self.left = values


class _TooLong(Exception):
    """An integer beyond MAX_INT_DIGITS (or the interpreter's own, lower, limit)."""


@dataclass(eq=False, slots=True)
class Node:
    """One value of a document as written: a scalar, a sequence (`seq`) or a mapping (`map`).

    `line`, `column`, `end_line` and `end_column` are 0-based, as the parsers count (plain
    integers rather than the parsers' mark objects: a document holds up to MAX_NODES nodes).
    `size` counts the values the node expands to, aliases included; `height` its nesting levels.
    """

    kind: str
    tag: str
    line: int
    column: int
    end_line: int
    end_column: int
    text: str = ""
    value: Any = None  # scalar: the resolved value; seq: [Node]; map: [(key Node, value Node)]
    style: str | None = None
    size: int = 1
    height: int = 1
    open: bool = False
    pending_key: Node | None = field(default=None, repr=False)


class Span(NamedTuple):
    """1-based line and column of a node, and the column just after it on its first line.

    A named tuple: a document holds one per value and key (up to MAX_NODES), and a tuple is made
    several times faster than a frozen dataclass."""

    line: int
    column: int
    end_column: int


def _node(kind: str, tag: str, event: Any, text: str = "", value: Any = None, style: str | None = None) -> Node:
    start, end = event.start_mark, event.end_mark
    return Node(kind, tag, start.line, start.column, end.line, end.column, text, value, style)


def span_of(node: Node) -> Span:
    return span_at(node.line, node.column, node.end_line, node.end_column, node.text if node.kind == "scalar" else None)


def span_at(line: int, column: int, end_line: int, end_column: int, text: str | None) -> Span:
    """The span of a node from its 0-based marks; `text` is a scalar's text (None for a collection)."""
    if end_line == line:
        end = end_column + 1
    elif text is not None and "\n" not in text:
        # a plain scalar that ends its document: its end mark lies on a later line
        end = column + 1 + len(text)
    else:
        end = column + 2
    return Span(line + 1, column + 1, end if end > column + 2 else column + 2)


def short_tag(tag: str) -> str:
    return "!!" + tag[len(CORE) :] if tag.startswith(CORE) else tag


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


# --- scalars -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _power_of_ten(digits: int) -> int:
    power: int = 10**digits
    return power


def int_digit_limit() -> int:
    """MAX_INT_DIGITS, or the interpreter's integer-string limit when that is set lower."""
    interpreter = sys.get_int_max_str_digits()
    return min(MAX_INT_DIGITS, interpreter) if interpreter else MAX_INT_DIGITS


def _to_int(text: str) -> int:
    """A YAML integer (`-1_000`, `0x1F`, `0o17`, `0b101`); _TooLong past the digit limit."""
    cleaned = text.replace("_", "")
    negative = cleaned.startswith("-")
    digits = cleaned.lstrip("+-")
    base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2], 10)
    if base != 10:
        digits = digits[2:]
    digits = digits.lstrip("0") or "0"
    limit = int_digit_limit()
    if base == 10 and len(digits) > limit:
        raise _TooLong
    value = int(digits, base)  # bases 2, 8 and 16 convert in linear time, whatever the length
    if value >= _power_of_ten(limit):
        raise _TooLong
    return -value if negative else value


def _to_float(text: str) -> float:
    cleaned = text.replace("_", "").lower()
    if cleaned.endswith(".nan"):
        return float("nan")
    if cleaned.endswith(".inf"):
        return float("-inf") if cleaned.startswith("-") else float("inf")
    return exact_float(cleaned)  # InexactNumber: BR120 at the scalar


def _is_int(text: str) -> bool:
    if not _INT.fullmatch(text):
        return False
    body = text.replace("_", "").lstrip("+-")
    return body not in ("", "0x", "0o", "0b")


def _is_float(text: str) -> bool:
    return bool(_FLOAT.fullmatch(text)) and any(c.isdigit() or c in "iInN" for c in text)


class WrittenInt(int):
    """A YAML integer not written as Python writes it (`0042`, `0x1F`, `1_000`, `+5`), with its
    text: a field that wants text (an id) refuses it by name rather than take `42` for `0042`."""

    text: str

    def __new__(cls, value: int, text: str) -> WrittenInt:
        made = super().__new__(cls, value)
        made.text = text
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (WrittenInt, (int(self), self.text))


def _int_as_written(value: int, text: str) -> int:
    return value if str(value) == text else WrittenInt(value, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def joined_surrogates(text: str) -> str:
    """A double-quoted scalar's `\\ud83d\\ude00` (JSON's escape of one character past U+FFFF, as
    `json.dumps` writes an emoji) read by YAML as two lone surrogates, joined into the character;
    a lone surrogate stays (and is refused where it is read)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:  # a lone one among them: each pair alone
        return re.sub(
            "[\ud800-\udbff][\udc00-\udfff]",
            lambda m: m.group().encode("utf-16", "surrogatepass").decode("utf-16"),
            text,
        )


def resolve_plain(text: str) -> tuple[str, Any]:
    """(tag, value) of an untagged plain scalar, by the YAML 1.2 rules (`yes` is text)."""
    if len(text) <= 18 and text.isdigit() and text.isascii():  # the commonest: a short decimal integer
        return INT, int(text) if text[0] != "0" or len(text) == 1 else WrittenInt(int(text), text)
    if text in _NULLS:
        return NULL, None
    if text in _TRUE:
        return BOOL, True
    if text in _FALSE:
        return BOOL, False
    if text[:1] in NUMBER_STARTS:
        if _is_int(text):
            return INT, _int_as_written(_to_int(text), text)
        if _is_float(text):
            return FLOAT, _to_float(text)
    if text == "<<":
        return MERGE, text
    return STR, text


def _tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit core tag; ValueError when the text is not of that type."""
    if tag == STR:
        return text
    if tag == INT and _is_int(text):
        return _int_as_written(_to_int(text), text)
    if tag == FLOAT and (_is_float(text) or (_DECIMAL.fullmatch(text) and _is_int(text))):
        return _to_float(text)
    if tag == BOOL and (text in _TRUE or text in _FALSE):
        return text in _TRUE
    if tag == NULL and text in _NULLS:
        return None
    raise ValueError(text)


# --- composing ---------------------------------------------------------------------------------


class Composer:
    """Builds the nodes of each document from parser events, refusing what breaks a limit."""

    def __init__(
        self,
        file: str,
        text: str,
        first_index: int = 0,
        aliased: int = 0,
        budget: AliasBudget | None = None,
        *,
        resumable: bool = False,
    ) -> None:
        self.file = file
        self.text = text
        #: libyaml's events: a syntax error after a refused document is the pure parser's to read
        #: again (libyaml refuses some texts the pure parser reads, `{at: 10:00}`)
        self.resumable = resumable
        self.first_index = first_index  # the index of the first document in `text`
        self.ended: Any = None  # the DocumentEndEvent of the last complete document
        self.completed = first_index  # the index after it
        self.aliased = aliased  # values aliases added in the file so far (documents before `text` included)
        self.aliased_completed = aliased  # ... up to the end of the last complete document
        self.budget = budget
        self._start_document()

    def refuse(self, node: Node, code: str, message: str, hint: str, *, final: bool = False) -> Refused:
        span = span_of(node)
        return Refused(
            Diagnostic(self.file, span.line, span.column, code, message, hint, end_column=span.end_column), final=final
        )

    def documents(self, events: Iterable[Any]) -> Iterator[tuple[int, Node | Refused | None]]:
        """(index, root node) of every document, as soon as it is complete; for a document refused
        (a tag, a reused anchor, too deep), the refusal instead, once the parser has read the
        document to its end: the file's other documents are read on. A refusal that is `final`
        (too many values, a directive) is raised, and the rest of the file is not read."""
        from ruamel.yaml import events as ev
        from ruamel.yaml.error import YAMLError

        handlers: dict[type, Callable[[Any], None]] = {
            ev.ScalarEvent: self._scalar,
            ev.SequenceStartEvent: self._sequence,
            ev.MappingStartEvent: self._mapping,
            ev.SequenceEndEvent: self._end,
            ev.MappingEndEvent: self._end,
            ev.AliasEvent: self._alias,
        }
        self.refused: Refused | None = None  # the current document's refusal: its other events are passed over
        try:
            yield from self._read(events, handlers, ev)
        except YAMLError:
            if self.refused is not None and not self.resumable:  # a document refused, then broken: the
                # refusal is told, as before (from libyaml, the error is raised: `_parse` has the pure
                # parser read on from the last complete document, which refuses it again and reads on;
                # until 2026-12-03 libyaml's stricter reading left out the file's other documents)
                self.refused.final = True
                raise self.refused from None
            raise

    def _read(
        self, events: Iterable[Any], handlers: dict[type, Callable[[Any], None]], ev: Any
    ) -> Iterator[tuple[int, Node | Refused | None]]:
        index = self.first_index - 1
        previous_end = (0, 0, 0)  # index, line, column where the previous document ended
        depth = 0  # the nesting of the events passed over
        for event in events:
            if isinstance(event, ev.DocumentEndEvent):
                mark = event.end_mark
                refused = self.refused
                if refused is not None:
                    refused.defines = document_defines(self.root, self.text[previous_end[0] : mark.index])
                previous_end = (mark.index, mark.line, mark.column)
                self.ended, self.completed = event, index + 1
                self.aliased_completed = self.aliased
                self.refused = None
                yield index, refused or self.root
                continue
            if self.refused is not None:  # passed over, not so deep that the parser slows down (quadratic in depth)
                kind = type(event)
                if kind is ev.SequenceStartEvent or kind is ev.MappingStartEvent:
                    depth += 1
                    if depth > 2 * MAX_DEPTH:
                        self.refused.final = True
                        raise self.refused
                elif kind is ev.SequenceEndEvent or kind is ev.MappingEndEvent:
                    depth -= 1
                continue
            try:
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
                elif isinstance(event, ev.DocumentStartEvent):
                    index += 1
                    self._check_directives(previous_end, event)
                    self._start_document()
            except Refused as refusal:
                if refusal.final:
                    raise
                self.refused, depth = refusal, len(self.stack)

    # document state

    def _start_document(self) -> None:
        self.root: Node | None = None
        self.stack: list[Node] = []
        self.anchors: dict[str, Node] = {}
        self.count = 0

    def _add(self, node: Node, anchor: str | None, at: Node | None = None) -> None:
        """Count the node, check depth and size, register its anchor, attach it to its parent.

        An alias adds the node it refers to (`at` is the alias itself, where a refusal points):
        it counts all the values that node expands to, and its nesting adds to the alias's depth.
        """
        at = at or node
        if len(self.stack) + node.height - 1 > MAX_DEPTH:
            raise self.refuse(
                at, "BR107", f"nesting is too deep (the limit is {MAX_DEPTH} levels)", "flatten the structure"
            )
        self.count += node.size
        if self.count > MAX_NODES:
            raise self.refuse(
                at,
                "BR108",
                f"the document expands to more than {MAX_NODES:,} values (aliases included)",
                "split the document or use fewer aliases; an alias bomb is refused",
                final=True,
            )
        if anchor is not None:
            self._anchor(anchor, node)
        if not self.stack:
            self.root = node
            return
        parent = self.stack[-1]
        parent.size += node.size
        if node.height >= parent.height:
            parent.height = node.height + 1
        if parent.kind == "seq":
            parent.value.append(node)
        elif parent.pending_key is None:
            parent.pending_key = node
        else:
            parent.value.append((parent.pending_key, node))
            parent.pending_key = None

    def _anchor(self, name: str, node: Node) -> None:
        first = self.anchors.get(name)
        if first is not None:
            span = span_of(first)
            raise self.refuse(
                node,
                "BR118",
                f"anchor `&{_shown(name)}` is defined twice (first at line {span.line}, column {span.column})",
                f"rename one of them; an alias `*{_shown(name)}` would silently use the second",
            )
        self.anchors[name] = node

    # events

    def _scalar(self, event: Any) -> None:
        style = event.style or None  # the C parser says '' for plain, the pure one None
        text = event.value.replace("\a", "") if style == ">" else event.value  # ruamel marks folds with BEL
        if style == '"':
            text = joined_surrogates(text)
        start, end = event.start_mark, event.end_mark
        node = Node("scalar", STR, start.line, start.column, end.line, end.column, text, text, style)
        try:
            if event.tag is None:
                node.tag, node.value = resolve_plain(text) if style is None else (STR, text)
            elif event.tag in SCALAR_TAGS:
                node.tag, node.value = event.tag, _tagged(event.tag, text)
            else:
                raise self._wrong_tag(node, event.tag)
        except InexactNumber as exc:
            raise self.refuse(node, "BR120", *exc.words(_shown(text))) from None
        except _TooLong:
            raise self.refuse(
                node,
                "BR116",
                f"integer `{_shown(text)}` is too long (the limit is {int_digit_limit():,} digits)",
                "quote it if it is a reference or an identifier, not a number",
            ) from None
        except ValueError:
            tag = event.tag
            what = f"`{_shown(text)}`" if text else "an empty value"
            written = f"{short_tag(tag)} {_shown(text)}".rstrip()
            raise self.refuse(node, "BR114", f"`{written}`: {what} is not {_TAG_NOUNS[tag]}", _TAG_HINTS[tag]) from None
        self._add(node, event.anchor)

    def _collection(self, event: Any, kind: str, default: str) -> None:
        node = _node(kind, default, event, value=[])
        node.open = True
        if event.tag is not None and event.tag != default:
            raise self._wrong_tag(node, event.tag)
        self._add(node, event.anchor)
        self.stack.append(node)

    def _sequence(self, event: Any) -> None:
        self._collection(event, "seq", SEQ)

    def _mapping(self, event: Any) -> None:
        self._collection(event, "map", MAP)

    def _wrong_tag(self, node: Node, tag: str) -> Refused:
        """A tag the node cannot carry: a core tag of another kind of node (BR114), or any other tag (BR106)."""
        if tag in (*SCALAR_TAGS, MAP, SEQ):
            wanted = "scalar" if tag in SCALAR_TAGS else ("map" if tag == MAP else "seq")
            return self.refuse(
                node,
                "BR114",
                f"`{short_tag(tag)}` is on {_KINDS[node.kind]}: it tags {_KINDS[wanted]} only",
                "remove the tag",
            )
        return self.refuse(
            node,
            "BR106",
            f"YAML tag `{_shown(short_tag(tag))}` is not allowed in rule files",
            "remove the tag; rule files hold plain data only",
        )

    def _end(self, event: Any) -> None:
        """Close a collection; its parent, which counted it as one value when it opened, takes its full size."""
        node = self.stack.pop()
        node.end_line, node.end_column = event.end_mark.line, event.end_mark.column
        node.open = False
        if self.stack:
            parent = self.stack[-1]
            parent.size += node.size - 1
            parent.height = max(parent.height, node.height + 1)

    def _alias(self, event: Any) -> None:
        name = event.anchor
        target = self.anchors.get(name)
        where = _node("scalar", STR, event, "*" + name)
        if target is None:
            raise self.refuse(
                where,
                "BR104",
                f"YAML syntax error: found undefined alias `*{_shown(name)}`",
                "define the anchor (`&name`) before using `*name`",
            )
        if target.open:
            raise self.refuse(
                where,
                "BR107",
                f"alias `*{_shown(name)}` is inside the value it refers to: that value would be infinitely deep",
                "refer to the anchor from outside its own value",
            )
        self._add(target, None, at=where)  # (the document's own limit first: its refusal says more)
        self._spend(target.size, where)

    def _spend(self, values: int, where: Node) -> None:
        """Count the values an alias adds against the file's budget and the rule set's (charged to
        the rule set's as they are counted: a file left out gives back its `aliased`)."""
        self.aliased += values
        if self.budget is not None:
            self.budget.left -= values
        if self.aliased > MAX_ALIASED_PER_FILE:
            raise self.refuse(
                where,
                "BR108",
                f"the aliases of this file expand to more than {MAX_ALIASED_PER_FILE:,} values "
                "(all its documents together)",
                "use fewer aliases, or split the file; an alias bomb is refused",
                final=True,
            )
        if self.budget is not None and self.budget.left < 0:
            raise self.refuse(
                where,
                "BR108",
                f"the aliases of the rule set's files expand to more than {MAX_ALIASED_PER_RULESET:,} values "
                "(all its files together)",
                "use fewer aliases; an alias bomb is refused",
                final=True,
            )

    # directives

    def _check_directives(self, start: tuple[int, int, int], event: Any) -> None:
        """`%YAML 1.1` and `%YAML 1.2` are accepted; another version, `%TAG` or any other directive is refused.

        Directives sit between the previous document's end (`start`: index, line, column) and
        this one's `---`; the parsers do not say where, so the lines are found in that stretch of
        text (the stretches of all documents add up to the file at most: linear).
        """
        index, line, column = start
        stretch = self.text[index : event.end_mark.index]
        if "%" not in stretch:
            return
        for number, text in enumerate(stretch.split("\n")):
            if text.startswith("%") and not (number == 0 and column):
                self._check_directive(text, line + number)

    def _check_directive(self, text: str, line: int) -> None:
        written = text.split("#")[0].rstrip()
        words = written.split()
        where = Node("scalar", STR, line, 0, line, len(written), written)
        if words[0] == "%YAML" and len(words) == 2 and words[1] in SUPPORTED_VERSIONS:
            return
        raise self.refuse(where, "BR115", *directive_problem(words), final=True)


#: a document's own `kind:` and `code:` lines, when its values could not be read to them
_DEFINES_LINE = re.compile(
    r"""^(kind|code):[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([A-Za-z0-9_][^#\n]*?))[ \t]*(?:#.*)?$""", re.M
)


def document_defines(root: Node | None, text: str) -> tuple[str | None, str | None]:
    """(kind, code) that a refused document meant to define, as far as it was read (a mapping's
    `kind:` and `code:` read before the refusal), else as its own top-level lines say; None for
    what neither tells."""
    found: dict[str, str] = {}
    if root is not None and root.kind == "map":
        for key, value in root.value:
            read = value.value if value.kind == "scalar" else None
            if key.kind == "scalar" and key.value in ("kind", "code") and isinstance(read, str | int):
                found.setdefault(key.value, read if isinstance(read, str) else value.text)  # (`code: 123`: its text)
    for line in _DEFINES_LINE.finditer(text):
        found.setdefault(line.group(1), next(g for g in line.groups()[1:] if g is not None))
    return found.get("kind"), found.get("code")


def directive_problem(words: list[str]) -> tuple[str, str]:
    """(message, hint) for a directive billrules refuses."""
    if words[0] == "%YAML":
        version = " ".join(words[1:])
        return (
            f"YAML version `{_shown(version)}` is not supported: rule files are YAML 1.2",
            "remove the `%YAML` line, or write `%YAML 1.2`",
        )
    if words[0] == "%TAG":
        return (
            "`%TAG` directives are not supported: they only serve custom tags, which rule files cannot hold",
            "remove the `%TAG` line and the tags that use it",
        )
    return (
        f"unknown directive `{_shown(words[0])}`: only `%YAML 1.2` (or 1.1) is supported",
        "remove the line (a comment starts with `#`, not `%`)",
    )
