"""Parse criteria text into AST nodes; syntax errors become diagnostics in analyst language.

The parser is prebuilt: `_parser.py` is Lark's standalone LALR(1) parser generated from
`grammar.lark` (`python -m engine.criteria.generate_parser`), parse tables as Python literals. At
run time nothing is built, cached on disk or unpickled, and Lark itself is not imported. Its
tables run in `engine.criteria.lalr` (a lean driver giving the same trees); a text it does not
accept is parsed again by the generated parser, whose exception classes make the syntax errors.

Each distinct text is parsed once (`_syntax_tree`): the result is a template, an AST whose spans
hold offsets into the text, and every occurrence gets a copy placed by its locator (`anchor`).
Type-checking works the same way (`engine.criteria.check.check_parsed`), and the pipeline places
an occurrence's copy only when it is read (`engine.criteria.check.Placed`). A text of the same
shape as one parsed before (literals of the same kinds in the same text) is not parsed: it is the
first one's template with its literals and offsets changed (`_Shape`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, ClassVar

from engine.criteria import ast
from engine.criteria import types as T
from engine.currencies import MINOR_UNITS
from engine.diagnostics import Diagnostic
from engine.values import MAX_FRACTION_DIGITS, MAX_INTEGER_DIGITS, Duration, Money, currency_problem, number_problem

MAX_LENGTH = 10_000
MAX_DEPTH = 100
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: (start offset, end offset) in the expression text → a span in the rule file
Locator = Callable[[int, int], ast.Span]


#: the language's own words (written in capitals, they are not read): booleans, weekdays,
#: quantifiers, aggregates, operators, functions
_LOWER_WORDS = frozenset(
    {
        "true",
        "false",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "any",
        "all",
        "count",
        "sum",
        "min",
        "max",
        "and",
        "or",
        "not",
        "in",
        "where",
        "within",
        "between",
        "overlaps",
        "contains",
        "uninterrupted",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
    }
)

#: an escape in quoted text: a surrogate pair, a `\\uXXXX`, or a backslash and one character
_ESCAPE = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\(.)")

#: the escapes of quoted text besides `\\uXXXX`
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "'": "'", "\\": "\\"}


class CriteriaError(Exception):
    """Raised inside the parser front-end; carries the diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def error(span: ast.Span, code: str, message: str, hint: str = "") -> CriteriaError:
    return CriteriaError(Diagnostic(span.file, span.line, span.column, code, message, hint, end_column=span.end_column))


@cache
def parser() -> Any:
    """The criteria parser (built once per process from the prebuilt tables)."""
    from engine.criteria._parser import Lark_StandAlone

    return Lark_StandAlone()


@cache
def _driver() -> Any:
    """The lean driver (`engine.criteria.lalr`) over the parser's tables, shipped as plain data
    (`_lalr_tables.py`): the generated Lark module is imported only to word a syntax error."""
    from engine.criteria._lalr_tables import TABLES
    from engine.criteria.lalr import Driver

    return Driver(TABLES)


#: `Span.file` of a template's spans, whose `line` and `column` hold start and end offsets
OFFSETS = "\x00offsets"


def _offsets(begin: int, end: int) -> ast.Span:
    return ast.Span(OFFSETS, begin, end, 0)


@dataclass(frozen=True)
class Parsed:
    """An expression parsed once per text (`template`, whose spans hold offsets into `text`) and
    placed where this occurrence was written (`locate`)."""

    text: str
    template: ast.Node
    locate: Locator

    def node(self) -> ast.Node:
        """The AST of this occurrence, every span located in the rule file."""
        return anchor(self.template, self.locate)


def parse(text: str, locate: Locator) -> ast.Node:
    """Parse one expression; raises CriteriaError with a located diagnostic."""
    return parse_located(text, locate).node()


def parse_located(text: str, locate: Locator) -> Parsed:
    """Parse one expression (once per distinct text); raises CriteriaError with a located diagnostic."""
    if len(text) > MAX_LENGTH:
        raise error(
            locate(0, 1),
            "BR504",
            f"expression is too long ({len(text):,} characters; the limit is {MAX_LENGTH:,})",
            "split it into sections or several simpler conditions",
        )
    result = _syntax_tree(text)
    if isinstance(result, Diagnostic):
        raise CriteriaError(relocate(result, locate))
    return Parsed(text, result, locate)


@lru_cache(maxsize=16384)
def _syntax_tree(text: str) -> ast.Node | Diagnostic:
    """The AST of `text` with offsets for spans (a template), or its diagnostic at offsets.

    Cached by text: rule sets repeat the same conditions across definitions, and sections
    desugar to the same text (`not account.segments overlaps {"delinquent"}`). The template does
    not depend on where the text is: each occurrence gets a copy with its own spans (`anchor`),
    and a failure is reported at every occurrence. Nothing changes a template once built.

    A text of a shape met before (the same text around literals of the same terminals: generated
    rule sets repeat a few conditions with other codes and numbers) is made from the template of
    that shape's first text instead of being parsed (`_Shape`).
    """
    shape = _shape_key(text, _LITERAL.finditer(text)) if USE_SHAPES else ((), ())
    known = _SHAPES.get(shape[0]) if USE_SHAPES else None
    if known is not None:
        same = known.instance(text, shape[1])
        if same is not None:
            return same
    try:
        tree = _tree(text)
    except Exception as exc:  # only the parser's UnexpectedInput: the generated module is imported for errors only
        from engine.criteria._parser import UnexpectedInput

        if not isinstance(exc, UnexpectedInput):
            raise
        return _syntax_error(text, exc, _offsets).diagnostic
    too_deep = _too_deep(tree)
    if too_deep is not None:
        return error(
            _offsets(too_deep.start_pos, too_deep.end_pos),
            "BR504",
            f"expression is nested too deeply, or chains too many `and`, `or`, `+` (the limit is {MAX_DEPTH} "
            "levels; each operator of a chain is one)",
            "split it: alternatives of one field as a set (`x in {…}`), long lists as sections, the rest "
            "over several definitions",
        ).diagnostic
    try:
        template = _Builder(text, _offsets).build(tree)
    except CriteriaError as exc:
        return exc.diagnostic
    if USE_SHAPES and known is None and _literal_tokens(tree) == shape[1]:
        if len(_SHAPES) >= _SHAPES_LIMIT:
            forget_shapes()
        _SHAPES[shape[0]] = _FIRSTS[id(template)] = _Shape(template, shape[1])
    return template


#: The terminals whose text is a value (`grammar.lark`), as the parser's lexer matches them: in
#: the order of their priorities (a money amount before a number), each at a token's start (not
#: inside a name). The expression text around them is the shape of an expression (`_Shape`).
_LITERAL_TERMINALS = {
    "DATETIME": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?",
    "MONEY": r"[0-9]+(?:\.[0-9]+)?[ \t]+[A-Z]{3}\b",
    "PERCENT": r"[0-9]+(?:\.[0-9]+)?%",
    "DURATION": r"[0-9]+[ \t]+(?:days|day|weeks|week|months|month|years|year)\b",
    "DATE": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "TIME": r"[0-9]{2}:[0-9]{2}(?::[0-9]{2})?",
    "NUMBER": r"[0-9]+(?:\.[0-9]+)?",
    "STRING": r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
}
_LITERAL = re.compile(
    r"(?<![A-Za-z0-9_])(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in _LITERAL_TERMINALS.items()) + ")"
)
#: a literal terminal → the builder of its value (`_Builder._money`, ...)
_LITERAL_RULES = {name: name.lower() for name in _LITERAL_TERMINALS}

#: (type, start, end) of each literal token of an expression
Literals = tuple[tuple[str, int, int], ...]


def _shape_key(text: str, literals: Any) -> tuple[tuple[str, ...], Literals]:
    """An expression's shape (its text with each literal replaced by its terminal's name) and its literals."""
    parts: list[str] = []
    found: list[tuple[str, int, int]] = []
    last = 0
    for match in literals:
        start, end = match.span()
        kind = match.lastgroup
        parts.append(text[last:start])
        parts.append(kind)
        found.append((kind, start, end))
        last = end
    parts.append(text[last:])
    return tuple(parts), tuple(found)


def _literal_tokens(tree: Any) -> Literals:
    """The literal tokens of a parse tree, in order: what `_shape_key` must have found for the
    shape to stand for the parse (not so when a literal-like text sits in a comment)."""
    from engine.criteria.lalr import Tree

    found: list[tuple[str, int, int]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if type(node) is Tree:
            stack.extend(reversed(node.children))
        elif node is not None and node.type in _LITERAL_RULES:
            found.append((node.type, node.start_pos, node.end_pos))
    return tuple(found)


class _Shape:
    """The template of an expression stands for every expression of the same shape: the same
    text around literals of the same terminals, so the same tokens, the same parse and the same
    tree, its literals' values and every offset after a literal aside.

    Lexing is the same because the literal terminals start with a digit or a quote, where no
    other terminal (nor whitespace or a comment) starts; the parser state before each token
    depends only on the tokens before it, and the text after a literal ends with a character of
    the same kind (a word character or not) for every text one literal terminal matches. The
    first text of a shape is parsed, and it stands for the shape only if the parser found its
    literals where `_LITERAL` did (`_literal_tokens`).

    Another text of the shape is the template copied with each offset moved by how much longer
    the literals before it are, and each literal built from its own text by the builder (a value
    the builder refuses sends the text to the parser, for the diagnostic it gives)."""

    def __init__(self, template: ast.Node, literals: Literals) -> None:
        self.template = template
        self.starts = {start: i for i, (_, start, _) in enumerate(literals)}
        self.ends = [end for _, _, end in literals]
        self.plan = self._plan(template)
        #: the types of the first text's literals, in order
        self.literal_types = [
            getattr(node, "type", None)
            for node in sorted(
                (n for n in ast.walk(template) if type(n) is ast.Literal and n.span.line in self.starts),
                key=lambda n: n.span.line,
            )
        ]
        #: by environment (identity): the environment and the first text's typed tree with its
        #: plan, or None where that tree does not stand for the shape's (see `typed_instance`)
        #: plan and the indices of the literals that must not be zero there (`check._nonzero_literals`)
        self.typed: dict[int, tuple[Any, ast.Node, _Plan, tuple[int, ...]] | None] = {}

    def _plan(self, tree: ast.Node) -> _Plan:
        """By node of `tree` (identity; the tree keeps them alive): its class, start and end, the
        number of literals ending at or before each, the literal it is (-1 if none), whether it
        holds no literal, its child fields. A node without literals after literals of unchanged
        lengths is shared, as it is, with another text's tree."""
        from bisect import bisect_right

        starts, ends = self.starts, self.ends
        plan: _Plan = {}
        for node in ast.walk(tree):
            begin, end = node.span.line, node.span.column
            cls = type(node)
            plan[id(node)] = (
                cls,
                begin,
                end,
                bisect_right(ends, begin),
                bisect_right(ends, end),
                starts.get(begin, -1) if cls is ast.Literal else -1,
                not any(begin <= start < end for start in starts),
                _CHILD_FIELDS[cls],
            )
        return plan

    def instance(self, text: str, literals: Literals) -> ast.Node | None:
        """The template of `text` (of this shape, its `literals`), or None where the builder
        refuses a literal's value."""
        builder = _Builder(text, _offsets)
        made: dict[int, ast.Node] = {}

        def literal(index: int) -> ast.Node:
            kind, start, stop = literals[index]
            written = text[start:stop]
            known = _LITERAL_VALUES.get((kind, written))
            if known is None:
                built = builder._literal_node(kind, start, stop)
                if len(_LITERAL_VALUES) >= _SHAPES_LIMIT * 16:
                    _LITERAL_VALUES.clear()
                _LITERAL_VALUES[kind, written] = dict(built.__dict__)
            else:
                values = dict(known)
                values["span"] = _offsets_span(start, stop, written)
                built = _new(ast.Literal)
                _setattr(built, "__dict__", values)
            made[index] = built
            return built

        spans: dict[int, ast.Span] = {}
        try:
            template = self._copy(self.template, self.plan, text, literals, literal, spans)
        except CriteriaError:
            return None
        if len(_INSTANCES) >= _SHAPES_LIMIT * 4:
            _INSTANCES.clear()
        _INSTANCES[id(template)] = (template, self, text, literals, [made[i] for i in range(len(literals))], spans)
        return template

    def _copy(
        self,
        tree: ast.Node,
        plan: _Plan,
        text: str,
        literals: Literals,
        literal: Callable[[int], ast.Node],
        spans: dict[int, ast.Span],
    ) -> ast.Node:
        """`tree` (the first text's template, or its typed tree) for `text`: offsets moved, each
        literal node made by `literal`. `spans` keeps the spans made, by start and end: the typed
        tree of a text shares its template's (spans are immutable), where the two trees' nodes
        cover the same text."""
        ends = self.ends
        shifts = [0, *(end - ends[i] for i, (_, _, end) in enumerate(literals))]  # after k literals
        new_span, span_class, offsets = _new, ast.Span, OFFSETS

        def copy(node: ast.Node) -> ast.Node:
            cls, begin, end, before_begin, before_end, index, plain, child_fields = plan[id(node)]
            shift = shifts[before_begin]
            if plain and not shift:
                return node  # the same text at the same offsets
            if index >= 0:
                return literal(index)
            begin += shift
            end += shifts[before_end]
            values = dict(node.__dict__)
            where = begin * 65536 + end  # (a text is at most `MAX_LENGTH` characters)
            span = spans.get(where)
            if span is None:  # `_offsets_span`, inline
                span = spans[where] = new_span(span_class)
                _setattr(
                    span,
                    "__dict__",
                    {"file": offsets, "line": begin, "column": end, "end_column": 0, "text": text[begin:end]},
                )
            values["span"] = span
            for name in child_fields:
                child = values[name]
                if type(child) is tuple:
                    values[name] = tuple([copy(c) for c in child])
                elif child is not None:
                    values[name] = copy(child)
            copied: ast.Node = _new(cls)
            _setattr(copied, "__dict__", values)
            return copied

        return copy(tree)


#: a tree's nodes by identity: (class, start, end, literals ended before start, before end,
#: the literal it is or -1, whether it holds no literal, child fields)
_Plan = dict[int, tuple[type[ast.Node], int, int, int, int, int, bool, tuple[str, ...]]]


def typed_instance(template: ast.Node, env: Any) -> ast.Node | None:
    """The typed tree of a template made from a shape (`_Shape.instance`), as the checker gives
    it, made from the typed tree of the shape's first text; None where that is not known.

    The checker's verdicts and types depend on the nodes' classes, names, operators and types,
    and on literals' values only where two literals meet (durations of one family compared, a
    date moved by a duration inside the calendar): `remember_typed` keeps a first text's typed
    tree for its shape only without those, and another text's literals must have the same types
    (the same currency) as the first text's."""
    found = _INSTANCES.get(id(template))
    if found is None or found[0] is not template:
        return None
    _, shape, text, literals, made, spans = found
    typed = shape.typed.get(id(env))
    if typed is None or typed[0] is not env:
        return None
    if [getattr(node, "type", None) for node in made] != shape.literal_types:
        return None
    if any(_zero(getattr(made[k], "value", None)) for k in typed[3]):  # (a divisor or a window of zero: checked again)
        return None
    result = shape._copy(typed[1], typed[2], text, literals, made.__getitem__, spans)
    if len(_TYPED_SHAPES) >= _SHAPES_LIMIT * 4:
        _TYPED_SHAPES.clear()
    _TYPED_SHAPES[id(result)] = (result, typed[1], made)
    return result


def typed_shape(typed: ast.Node) -> tuple[ast.Node, list[ast.Node]] | None:
    """For a typed tree made by `typed_instance`: the typed tree it was copied from (its shape's
    first text's, shared by every text of the shape typed against that environment) and its own
    literal nodes in the order of the text; None for any other tree. Every other node of the two
    trees is the same but for its span: the code generator makes a text's code from its shape's
    (`engine.criteria.compile`)."""
    found = _TYPED_SHAPES.get(id(typed))
    if found is None or found[0] is not typed:
        return None
    return found[1], found[2]


def _zero(value: Any) -> bool:
    """A zero number, or a duration of no time."""
    count = getattr(value, "count", value)
    return isinstance(count, int | Decimal) and not isinstance(count, bool) and count == 0


def remember_typed(template: ast.Node, env: Any, typed: ast.Node | None, nonzero: tuple[ast.Node, ...] = ()) -> None:
    """Keep the typed tree of a shape's first text (None: it does not stand for the shape's others),
    with the literals of it (`nonzero`) whose value the checker refuses at zero."""
    shape = _FIRSTS.get(id(template))
    if shape is not None and shape.template is template and len(shape.typed) < 8:
        if typed is None:
            shape.typed[id(env)] = None
            return
        plan = shape._plan(typed)
        indices = tuple(plan[id(node)][5] for node in nonzero)
        shape.typed[id(env)] = None if -1 in indices else (env, typed, plan, indices)


def _offsets_span(begin: int, end: int, text: str) -> ast.Span:
    """A template's span (`_offsets`, with its text), made without the frozen dataclass's `__init__`."""
    span = _new(ast.Span)
    _setattr(span, "__dict__", {"file": OFFSETS, "line": begin, "column": end, "end_column": 0, "text": text})
    return span


_setattr = object.__setattr__


#: Whether texts of a known shape are made from its template (`_Shape`); tests switch it off to compare.
USE_SHAPES = True
#: expression shapes met (`_syntax_tree`), forgotten with the parsed templates (`forget_texts`)
_SHAPES: dict[tuple[str, ...], _Shape] = {}
#: the shapes by their first text's template (identity)
_FIRSTS: dict[int, _Shape] = {}
#: templates made from shapes, by identity: (template, shape, text, literals, its literal nodes in order)
_INSTANCES: dict[int, tuple[ast.Node, _Shape, str, Literals, list[ast.Node], dict[int, ast.Span]]] = {}
#: (terminal, text) → the fields of the Literal built from it (values are immutable), forgotten with the shapes
_LITERAL_VALUES: dict[tuple[str, str], dict[str, Any]] = {}
#: typed trees made by `typed_instance`, by identity: (the tree, the typed tree it copies, its literal nodes in order)
_TYPED_SHAPES: dict[int, tuple[ast.Node, ast.Node, list[ast.Node]]] = {}


def forget_shapes() -> None:
    """Drop the shapes, the templates made from them and the literals' values."""
    _SHAPES.clear()
    _FIRSTS.clear()
    _INSTANCES.clear()
    _LITERAL_VALUES.clear()
    _TYPED_SHAPES.clear()


_SHAPES_LIMIT = 4096


def _tree(text: str) -> Any:
    """The parse tree (`engine.criteria.lalr.Tree`); raises the parser's UnexpectedInput."""
    from engine.criteria.lalr import Fallback

    driver = _driver()
    if driver is not None:
        try:
            return driver.parse(text)
        except Fallback:
            pass  # a syntax error: Lark's own parser says which, as it always has
    return _from_lark(parser().parse(text))


def _from_lark(node: Any) -> Any:
    """A Lark tree as the driver builds it (only if Lark accepts what the driver did not)."""
    from engine.criteria._parser import Token
    from engine.criteria.lalr import Token as LeanToken
    from engine.criteria.lalr import Tree as LeanTree

    if isinstance(node, Token):
        return LeanToken(node.type, str(node), node.start_pos, node.end_pos)
    if node is None:
        return None
    tree = LeanTree(node.data, [_from_lark(child) for child in node.children])
    tree.start_pos = tree.cstart = getattr(node.meta, "start_pos", None)
    tree.end_pos = tree.cend = getattr(node.meta, "end_pos", None)
    return tree


def relocate(diagnostic: Diagnostic, locate: Locator) -> Diagnostic:
    """A diagnostic of a template (at offsets) placed by `locate`; others are returned as they are."""
    if diagnostic.file != OFFSETS:
        return diagnostic
    span = locate(diagnostic.line, diagnostic.column)
    return replace(diagnostic, file=span.file, line=span.line, column=span.column, end_column=span.end_column)


def _node_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name != "span" and "Node" in str(f.type))


_CHILD_FIELDS: dict[type, tuple[str, ...]] = {
    cls: _node_fields(cls) for cls in vars(ast).values() if isinstance(cls, type) and issubclass(cls, ast.Node)
}


def anchor(template: ast.Node, locate: Locator) -> ast.Node:
    """A copy of `template` (parsed or typed) whose spans `locate` places in the rule file.

    Nodes and spans are copied attribute by attribute (they are frozen dataclasses, whose
    `__init__` sets each field through `object.__setattr__`): each occurrence of a cached
    expression pays a walk of its nodes, about a microsecond each, not a parse and a check.
    """
    return _anchor(template, locate, getattr(locate, "fresh", False))


def _anchor(template: ast.Node, locate: Locator, fresh: bool) -> ast.Node:
    """`anchor`; `fresh`: the locator returns a new span at every call (`locate.fresh`), whose
    text is filled in rather than copied into another span."""
    span = template.span
    if fresh:
        located = locate(span.line, span.column)
    else:
        located = _new(ast.Span)
        located.__dict__.update(locate(span.line, span.column).__dict__)
    located.__dict__["text"] = span.text
    node = _new(type(template))
    values = node.__dict__
    values.update(template.__dict__)
    values["span"] = located
    for name in _CHILD_FIELDS[type(template)]:
        child = values[name]
        if type(child) is tuple:
            values[name] = tuple([_anchor(c, locate, fresh) for c in child])
        elif child is not None:
            values[name] = _anchor(child, locate, fresh)
    return node


_new = object.__new__


def _too_deep(tree: Any) -> Any:
    from engine.criteria.lalr import Tree

    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in node.children if type(child) is Tree)
    return None


_TOKEN_WORDS = {
    "NAME": "a field name",
    "NUMBER": "a number",
    "STRING": "text in quotes",
    "MONEY": "money",
    "PERCENT": "a percentage",
    "DURATION": "a duration",
    "DATE": "a date",
    "DATETIME": "a date-time",
    "TIME": "a time",
    "WEEKDAY": "a weekday",
    "BOOLEAN": "true or false",
    "COMPARE": "a comparison (==, !=, <, <=, >, >=)",
    "AND": "`and`",
    "OR": "`or`",
    "IN": "`in`",
    "NOT": "`not`",
    "RPAR": "`)`",
    "LPAR": "`(`",
    "RBRACE": "`}`",
    "LBRACE": "`{`",
    "COMMA": "`,`",
    "WHERE": "`where`",
    "WITHIN": "`within`",
    "DOT": "`.`",
    "ADD": "`+` or `-`",
    "MUL": "`*` or `/`",
    "$END": "the end",
    "BETWEEN": "`between`",
    "OVERLAPS": "`overlaps`",
    "CONTAINS": "`contains`",
    "QUANTIFIER": "`any` or `all`",
    "AGGREGATE": "count/sum/min/max",
    "FUNCTION": "a function",
    "MINUS": "`-`",
}
_VALUE_TOKENS = {
    "NAME",
    "NUMBER",
    "STRING",
    "MONEY",
    "PERCENT",
    "DURATION",
    "DATE",
    "DATETIME",
    "TIME",
    "WEEKDAY",
    "BOOLEAN",
    "LPAR",
    "LBRACE",
}
_CHAR_HINTS = {
    "=": "compare with `==` (a single `=` is not an operator)",
    "&": "write `and`",
    "|": "write `or`",
    "!": "write `not`, or `!=` for not equal",
    '"': "close the text with a matching quote",
    "'": "close the text with a matching quote",
    "[": 'write a set with braces: {"a", "b"}',
}


def _syntax_error(text: str, exc: Any, locate: Locator) -> CriteriaError:
    from engine.criteria._parser import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    pos = getattr(exc, "pos_in_stream", None)
    if pos is None:
        pos = len(text)
    if isinstance(exc, UnexpectedCharacters):
        char = text[pos] if pos < len(text) else ""
        if char.isupper():
            word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[pos:])
            found = word.group(0) if word else char
            lower = found.lower()
            if lower in _LOWER_WORDS:  # `True`, `Saturday`, `COUNT`: the language's own words, in lower case
                hint = f"write `{lower}` in lower case, as the language's words are"
            elif pos > 0 and text[pos - 1].isdigit() and re.fullmatch(r"[A-Z]{3}", found):
                amount = re.search(r"[0-9.]+$", text[:pos])
                hint = f"put a space between the amount and its currency: `{amount.group(0) if amount else ''} {found}`"
            else:
                hint = 'field names are lower case, e.g. `account.classification`; quote text: "' + found + '"'
            return error(locate(pos, pos + len(found)), "BR501", f"unexpected `{found}`", hint)
        hint = _CHAR_HINTS.get(char, "remove it or quote the text it belongs to")
        if char == "%" and (number := re.search(r"[0-9][0-9.]*(?=\s+$)", text[:pos])) is not None:
            hint = f"write the percentage without a space: `{number.group(0)}%`"  # `40 %`
        return error(locate(pos, pos + 1), "BR501", f"unexpected character `{char}`", hint)
    expected = set(getattr(exc, "expected", set()) or getattr(exc, "accepts", set()) or set())
    token = getattr(exc, "token", None)
    previous = _previous_token(text, pos)
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and token is not None and token.type == "$END"
    ):
        last = _previous_piece(text, len(text))
        end = last.end() if last is not None else len(text.rstrip())
        previous = last.group(0) if last is not None else ""
        what = "a value" if expected & _VALUE_TOKENS else _words(expected)
        after = f" after `{previous}`" if previous else ""
        return error(
            locate(max(end - 1, 0), max(end, 1)),
            "BR501",
            f"the expression ends too early: expected {what}{after}",
            "complete the condition",
        )
    found = str(token) if token is not None else text[pos : pos + 1]
    if _TIME_FRACTION.search(text[:pos]):  # `22:00:00.5`: split at its point, say what it is
        start = text.rfind(".", 0, pos)
        return error(
            locate(start, pos + len(found)),
            "BR501",
            "a time of day has no fraction of a second",
            "write whole seconds, e.g. `22:00:00`",
        )
    if expected & _VALUE_TOKENS and not expected & {"AND", "OR", "$END", "RPAR"}:
        after = f" after `{previous}`" if previous else ""
        message = f"expected a value{after}, found `{found}`"
    else:
        message = f"unexpected `{found}`: expected {_words(expected)}"
    hint = "check for a missing operator, value or parenthesis"
    meant = _function_meant(previous) if found == "(" else None
    if meant is not None:  # `cont(usage)`: a function misspelt
        start = text.rfind(previous, 0, pos)
        return error(
            locate(start, start + len(previous)), "BR501", f"unknown function `{previous}`", f"did you mean `{meant}`?"
        )
    if found == "=":
        hint = _CHAR_HINTS["="]
    elif (keyword := _keyword_meant(found, expected, text[:pos])) is not None:
        hint = f"did you mean `{keyword}`?"  # `overlap`, `betwen`: an operator misspelt
    elif (
        previous.replace(".", "", 1).isdigit()
        and found.upper() in MINOR_UNITS
        and found != found.upper()
        and found.lower() not in _CLOCK_UNITS
        and _unit_meant(found) is None  # (`2 yer` is `2 year` misspelt, not Yemen's rial)
    ):
        hint = f"a currency is its ISO code in capitals: `{previous} {found.upper()}`"  # `20.00 eur`
    elif previous.replace(".", "", 1).isdigit() and found.lower() in _CLOCK_UNITS:
        hint = _clock_hint(previous, found)  # `within 24 hours`: no duration is counted in hours
    elif previous.replace(".", "", 1).isdigit() and (unit := _unit_meant(found)) is not None:
        # `6 monhts`: a duration's unit misspelt; `1.5 months`: a fraction (until 2026-12-03 "did
        # you mean `1.5 months`?", the text written)
        hint = _fraction_hint(previous, unit) if "." in previous else f"did you mean `{previous} {unit}`?"
    return error(locate(pos, pos + max(len(found), 1)), "BR501", message, hint)


#: a time of day followed by a point (`22:00:00.5`: the parser stops at the digits after it)
_TIME_FRACTION = re.compile(r"(?<![0-9:])[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?\.$")

_UNITS = ("day", "days", "week", "weeks", "month", "months", "year", "years")
_CLOCK_UNITS = (
    "hour",
    "hours",
    "h",
    "hrs",
    "minute",
    "minutes",
    "min",
    "mins",
    "second",
    "seconds",
    "sec",
    "secs",
    "s",
)


def _clock_hint(number: str, unit: str) -> str:
    """The hint for a duration written in hours, minutes or seconds (`within 24 hours`): durations
    count days, weeks, months and years; a usage quantity is a plain number in its own unit."""
    hint = f"durations are written in days, weeks, months or years, not {unit}"
    if (
        unit.lower().startswith("h")
        and number.isdigit()
        and len(number) < 20
        and int(number) % 24 == 0
        and int(number) > 0
    ):
        days = int(number) // 24
        hint += f" (`{days} day{'' if days == 1 else 's'}`)"
    return hint + "; a usage quantity is a plain number in its unit (`>= 10`), a time of day is written `22:00`"


_FUNCTIONS = ("count", "sum", "min", "max", "uninterrupted")
#: the text before a quantifier's condition: `any p in subscription.products ` (for `where`)
_QUANTIFIED = re.compile(r"\b(?:any|all)\s+[A-Za-z_]\w*\s+in\s+[A-Za-z_][\w.]*\s*$")
_KEYWORDS = ("overlaps", "contains", "between", "within", "where", "and", "or", "not", "in", "any", "all")


def _function_meant(word: str) -> str | None:
    """The function a name written before `(` misspells (`cont` → `count`), or None."""
    import difflib

    if not word.isidentifier() or word in _FUNCTIONS:
        return None
    close = difflib.get_close_matches(word.lower(), _FUNCTIONS, n=1, cutoff=0.6)
    return close[0] if close else None


def _keyword_meant(word: str, expected: set[str], before: str = "") -> str | None:
    """The operator word `word` misspells (`overlap` → `overlaps`, `betwen` → `between`) among
    those the parser could take there, or None; only words of four letters or more (a short field
    name is not taken for `and`). After `any p in LIST` or `all p in LIST` the word is `where`'s
    place (`within` belongs to count and sum)."""
    import difflib

    if len(word) < 4 or not word.isidentifier() or word in _KEYWORDS:
        return None
    words = [k for k in _KEYWORDS if len(k) >= 4 and (not expected or k.upper() in expected)]
    if _QUANTIFIED.search(before):  # a quantifier's condition comes next: `with`, `wher` mean `where`
        close = difflib.get_close_matches(word.lower(), ["where"], n=1, cutoff=0.4)
        return close[0] if close else None
    close = difflib.get_close_matches(word.lower(), words, n=1, cutoff=0.75)
    return close[0] if close else None


#: a unit of time → the smaller unit a fraction of it may be counted in, and how many of those it holds
#: (a month has no fixed number of days: `30` gives an example only, said as such)
_SMALLER = {"year": ("month", 12), "month": ("day", 30), "week": ("day", 7)}


def _counted(count: int, unit: str) -> str:
    return f"`{count} {unit}{'' if count == 1 else 's'}`"


def _fraction_hint(number: str, unit: str) -> str:
    """The hint for a duration with a fraction (`1.5 months`): a duration is a whole number of its
    unit; the whole numbers around it, and the count in a smaller unit where there is one (`18
    months` for `1.5 years`, `10 days` for `1.5 weeks`... only when whole; a month's days are an
    example, a month having no fixed length)."""
    from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

    single = unit.removesuffix("s")
    try:
        value = Decimal(number)
    except InvalidOperation:  # (`1.2.3`: not a number at all)
        return f"a duration is a whole number of {single}s, e.g. `2 {single}s`"
    low, high = int(value.to_integral_value(ROUND_FLOOR)), int(value.to_integral_value(ROUND_CEILING))
    options = " or ".join(_counted(n, single) for n in sorted({low, high}) if n > 0 or low == high)
    hint = f"a duration is a whole number of {single}s: write {options}"
    if single in _SMALLER:
        smaller, size = _SMALLER[single]
        exact = value * size
        if single == "month":
            days = int(exact.to_integral_value(ROUND_HALF_UP))
            if days > 0:
                hint += f", or count days instead, e.g. {_counted(days, smaller)} (a month has no fixed number of days)"
        elif exact == exact.to_integral_value() and exact > 0:
            hint += f", or {_counted(int(exact), smaller)}"
    return hint


def _unit_meant(word: str) -> str | None:
    """The unit of time `word` is a misspelling of (`monhts` → `months`), or None."""
    import difflib

    close = difflib.get_close_matches(word.lower(), _UNITS, n=1, cutoff=0.6)
    return close[0] if close else None


#: the pieces `_previous_token` tells apart: a comment (skipped, as the grammar's `%ignore`), a
#: quoted text (one piece), a name, a number, an operator, any other character
_PIECES = re.compile(
    r"""(?P<comment>#[^\n]*)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?"""
    r"|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9.]*|==|!=|<=|>=|[^\sA-Za-z0-9_]"
)


def _previous_piece(text: str, pos: int) -> re.Match[str] | None:
    """The last piece of `text[:pos]` that is not a comment (the words in a comment are none of
    the condition's: until 2026-12-04 `… and # todo` was "expected a value after `todo`")."""
    last = None
    for found in _PIECES.finditer(text, 0, pos):
        if found.group("comment") is None:
            last = found
    return last


def _previous_token(text: str, pos: int) -> str:
    found = _previous_piece(text, pos)
    return found.group(0) if found is not None else ""


def _words(expected: set[str]) -> str:
    names = sorted({_TOKEN_WORDS.get(e, e.lower()) for e in expected if not e.startswith("__")})
    if len(names) > 6:
        names = [*names[:6], "…"]
    return ", ".join(names) if names else "something else"


class _Builder:
    """Parse tree → AST nodes (recursion bounded by MAX_DEPTH)."""

    def __init__(self, text: str, locate: Locator) -> None:
        self.text = text
        self.locate = locate

    #: rule name → builder method (`or_` → `_or`), filled as rules are met
    _methods: ClassVar[dict[str, Callable[..., ast.Node]]] = {}

    def span(self, item: Any) -> ast.Span:
        start, end = item.start_pos, item.end_pos
        if self.locate is _offsets:  # a template's span, made as `_offsets` would, text added
            return _offsets_span(start, end, self.text[start:end])
        base = self.locate(start, end)
        return ast.Span(base.file, base.line, base.column, base.end_column, self.text[start:end])

    def build(self, tree: Any) -> ast.Node:
        method = self._methods.get(tree.data)
        if method is None:
            method = getattr(_Builder, "_" + tree.data.rstrip("_"), None)
            if method is None:  # pragma: no cover - every grammar alias has a builder
                raise AssertionError(f"no builder for {tree.data}")
            self._methods[tree.data] = method
        return method(self, tree, tree.children)

    def _or(self, tree: Any, kids: list[Any]) -> ast.Node:
        return self._bool("or", tree, kids)

    def _and(self, tree: Any, kids: list[Any]) -> ast.Node:
        return self._bool("and", tree, kids)

    def _bool(self, op: str, tree: Any, kids: list[Any]) -> ast.Node:
        operands: list[ast.Node] = []
        for kid in kids:
            node = self.build(kid)
            if isinstance(node, ast.BoolOp) and node.op == op:
                operands.extend(node.operands)  # flatten a and b and c
            else:
                operands.append(node)
        return ast.BoolOp(self.span(tree), op, tuple(operands))

    def _not(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Not(self.span(tree), self.build(kids[0]))

    def _compare(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Compare(self.span(tree), str(kids[1]), self.build(kids[0]), self.build(kids[2]))

    def _in(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Membership(self.span(tree), self.build(kids[0]), self.build(kids[1]))

    def _not_in(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Membership(self.span(tree), self.build(kids[0]), self.build(kids[1]), negated=True)

    def _overlaps(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.SetRelation(self.span(tree), "overlaps", self.build(kids[0]), self.build(kids[1]))

    def _contains(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.SetRelation(self.span(tree), "contains", self.build(kids[0]), self.build(kids[1]))

    def _between(self, tree: Any, kids: list[Any]) -> ast.Node:
        value, low, high = (self.build(k) for k in kids)
        return ast.Between(self.span(tree), value, low, high)

    def _arith(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Arith(self.span(tree), str(kids[1]), self.build(kids[0]), self.build(kids[2]))

    def _negate(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Negate(self.span(tree), self.build(kids[0]))

    def _attribute(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Attribute(self.span(tree), self.build(kids[0]), str(kids[1]))

    def _name(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Name(self.span(tree), str(kids[0]))

    def _set(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.SetLiteral(self.span(tree), tuple(self.build(k) for k in kids if k is not None))

    def _quantifier(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Quantifier(self.span(tree), str(kids[0]), str(kids[1]), self.build(kids[2]), self.build(kids[3]))

    def _aggregate(self, tree: Any, kids: list[Any]) -> ast.Node:
        func, var, collection, where, within = kids
        return ast.Aggregate(
            self.span(tree),
            str(func),
            str(var) if var is not None else None,
            self.build(collection),
            self.build(where) if where is not None else None,
            self.build(within) if within is not None else None,
        )

    def _call(self, tree: Any, kids: list[Any]) -> ast.Node:
        return ast.Call(self.span(tree), str(kids[0]), tuple(self.build(k) for k in kids[1:]))

    # literals -------------------------------------------------------------------------------

    def _literal_node(self, kind: str, start: int, end: int) -> ast.Node:
        """The Literal of a literal token (`_Shape`): what building its tree gives."""
        from engine.criteria.lalr import Token, Tree

        tree = Tree(_LITERAL_RULES[kind], [Token(kind, self.text[start:end], start, end)])
        tree.start_pos, tree.end_pos = start, end
        return self.build(tree)

    def _literal(self, tree: Any, value: Any, type_: T.Type) -> ast.Node:
        return ast.Literal(self.span(tree), value, type_)

    def _money(self, tree: Any, kids: list[Any]) -> ast.Node:
        amount, currency = str(kids[0]).split()
        problem = currency_problem(currency)
        if problem is not None:
            raise error(self.span(tree), "BR505", problem, "write an ISO 4217 currency code, e.g. `EUR`")
        return self._literal(tree, Money(self._decimal(tree, amount), currency), T.Type("money", currency=currency))

    def _percent(self, tree: Any, kids: list[Any]) -> ast.Node:
        return self._literal(tree, self._decimal(tree, str(kids[0])[:-1]), T.PERCENT)

    def _duration(self, tree: Any, kids: list[Any]) -> ast.Node:
        text = " ".join(str(kids[0]).split())
        try:
            duration = Duration.parse(text)
        except ValueError as exc:
            raise error(
                self.span(tree), "BR505", str(exc), "a duration cannot reach past the calendar's first or last day"
            ) from None
        return self._literal(tree, duration, T.DURATION)

    def _date(self, tree: Any, kids: list[Any]) -> ast.Node:
        return self._literal(tree, self._convert(tree, date.fromisoformat, kids[0], "date"), T.DATE)

    def _datetime(self, tree: Any, kids: list[Any]) -> ast.Node:
        text = str(kids[0]).replace("Z", "+00:00")
        return self._literal(tree, self._convert(tree, datetime.fromisoformat, text, "date-time"), T.DATETIME)

    def _time(self, tree: Any, kids: list[Any]) -> ast.Node:
        return self._literal(tree, self._convert(tree, time.fromisoformat, kids[0], "time of day"), T.TIME)

    def _number(self, tree: Any, kids: list[Any]) -> ast.Node:
        text = str(kids[0])
        number = self._decimal(tree, text)
        return self._literal(tree, int(number) if "." not in text else number, T.NUMBER)

    def _decimal(self, tree: Any, text: str) -> Decimal:
        """A number as written (digits, maybe a point), within the limits of engine.values."""
        number = Decimal(text)  # the grammar admits only digits and a point; no length limit here
        problem = number_problem(number)
        if problem is not None:
            shown = text if len(text) <= 40 else f"{text[:18]}…{text[-18:]}"
            raise error(
                self.span(tree),
                "BR505",
                f"`{shown}` {problem}",
                f"numbers and amounts have at most {MAX_INTEGER_DIGITS} digits before the decimal point "
                f"and {MAX_FRACTION_DIGITS} after it",
            )
        return number

    def _string(self, tree: Any, kids: list[Any]) -> ast.Node:
        """Text in quotes; escapes: `\\"`, `\\'`, `\\\\`, `\\n`, `\\t` and `\\uXXXX` (a surrogate pair
        as two: `\\ud83d\\ude00`). Any other, and a lone surrogate, is BR501 (until 2026-12-02 an
        unknown escape was dropped in silence: `"\\u00e9"` read as `u00e9`)."""
        raw = str(kids[0])[1:-1]

        def unescaped(m: re.Match[str]) -> str:
            high, low, code, other = m.groups()
            if high is not None:
                return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00)
            if code is not None and not 0xD800 <= int(code, 16) <= 0xDFFF:
                return chr(int(code, 16))
            found = _ESCAPES.get(other) if other is not None else None
            if found is None:
                raise error(
                    self.span(tree),
                    "BR501",
                    f"unknown escape `{m.group(0)}` in text",
                    "write `\\\\` for a backslash; escapes are `\\\"`, `\\'`, `\\\\`, `\\n`, `\\t` and `\\uXXXX`",
                )
            return found

        value = re.sub(_ESCAPE, unescaped, raw)
        return self._literal(tree, value, T.STRING)

    def _weekday(self, tree: Any, kids: list[Any]) -> ast.Node:
        return self._literal(tree, WEEKDAYS.index(str(kids[0])), T.WEEKDAY)

    def _boolean(self, tree: Any, kids: list[Any]) -> ast.Node:
        return self._literal(tree, str(kids[0]) == "true", T.BOOL)

    def _convert(self, tree: Any, convert: Callable[[str], Any], text: Any, what: str) -> Any:
        try:
            return convert(str(text))
        except ValueError:
            raise error(
                self.span(tree), "BR505", f"`{text}` is not a valid {what}", "check the month, day and time ranges"
            ) from None
