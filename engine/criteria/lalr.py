"""A lean driver for the prebuilt criteria parser: the same tables, lexers and tree, about 4 times faster.

`_parser.py` (Lark's standalone LALR(1) parser) spends most of each parse in generic machinery:
a generator per token stream, `Token` objects with line and column counters, a chain of wrapper
objects per reduction (position propagation, child filtering, single-child inlining), `Tree` and
`Meta` objects. This driver reads the same parse table, the same per-state (contextual) lexer
patterns and the same tree-shaping options out of a `Lark_StandAlone` instance and runs them in
one loop with slotted trees and tokens that keep only what the AST builder reads: rule name,
children, token type and text, and the start and end offsets that Lark's `propagate_positions`
gives (including its "container" positions: a parenthesised expression's parent starts at the
parenthesis).

It only ever accepts: on anything unexpected (no token matches, no action for a token, a tree
option it does not know) it raises `Fallback`, and the caller runs Lark's own parser, whose
exception (and error message) is the one reported. `tests/test_parser_generated.py` checks that
both give the same tree, offsets included, for every expression of the test corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class Fallback(Exception):
    """The input needs Lark's own parser (a syntax error, or something this driver does not model)."""


class Tree:
    """A parse tree node: `data` (the rule or alias), `children`, and Lark's propagated offsets."""

    __slots__ = ("cend", "children", "cstart", "data", "end_pos", "start_pos")

    def __init__(self, data: str, children: list[Any]) -> None:
        self.data = data
        self.children = children
        self.start_pos: int | None = None
        self.end_pos: int | None = None
        self.cstart: int | None = None  # Lark's container_start_pos (parentheses included)
        self.cend: int | None = None


class Token:
    """A token: its terminal's name, its text and its offsets."""

    __slots__ = ("end_pos", "start_pos", "type", "value")

    def __init__(self, type_: str, value: str, start: int, end: int) -> None:
        self.type = type_
        self.value = value
        self.start_pos = start
        self.end_pos = end

    def __str__(self) -> str:
        return self.value


#: (shift?, next state) or (reduce, (size, rule origin, reduction or None for "keep the child"))
Action = tuple[bool, Any]
Reduction = Callable[[list[Any]], Any]


class Driver:
    """Parses with the tables of a `Lark_StandAlone` instance; see the module docstring."""

    def __init__(self, lark: Any) -> None:
        from engine.criteria import _parser as L

        frontend = lark.parser
        parser = frontend.parser.parser
        table = parser.parse_table
        (self.start,) = table.start_states.values()
        (self.end,) = table.end_states.values()
        reductions: dict[Any, tuple[int, str, Reduction | None]] = {}
        for rule, callback in parser.callbacks.items():
            if not isinstance(rule, L.Rule):
                raise Fallback(f"terminal callback {rule!r}")
            reductions[rule] = (len(rule.expansion), rule.origin.name, _reduction(rule, callback, L))
        self.states: dict[int, dict[str, Action]] = {
            state: {
                symbol: (True, arg) if action is L.Shift else (False, reductions[arg])
                for symbol, (action, arg) in actions.items()
            }
            for state, actions in table.states.items()
        }
        lexer = frontend.lexer
        if not isinstance(lexer, L.ContextualLexer):
            raise Fallback(f"lexer {type(lexer).__name__}")
        self.lexers = _Lexers(lexer.lexers, L.UnlessCallback)

    def parse(self, text: str) -> Any:
        """The tree of `text`; raises Fallback instead of any syntax error."""
        states, lexers = self.states, self.lexers
        state_stack = [self.start]
        value_stack: list[Any] = []
        end_state = self.end
        pos, size_of_text = 0, len(text)
        while True:
            patterns, ignore, keywords = lexers[state_stack[-1]]
            token: Token | None = None
            kind = "$END"
            while pos < size_of_text:
                for pattern in patterns:  # Lark's alternations of terminals, tried in order
                    match = pattern(text, pos)
                    if match:
                        break
                else:
                    raise Fallback(pos)
                kind, end = match.lastgroup, match.end()
                if kind in ignore:
                    pos = end
                    kind = "$END"
                    continue
                value = match.group()
                if kind in keywords:
                    kind = keywords[kind](value) or kind
                token = Token(kind, value, pos, end)
                pos = end
                break
            while True:
                action = states[state_stack[-1]].get(kind)
                if action is None:
                    raise Fallback(kind)
                shift, arg = action
                if shift:
                    if token is None:
                        raise Fallback("$END shifted")
                    state_stack.append(arg)
                    value_stack.append(token)
                    break
                size, origin, reduce = arg
                if reduce is None:  # `?rule: child`: the child stays on the value stack as it is
                    goto = states[state_stack[-2]][origin][1]
                    state_stack[-1] = goto
                else:
                    value = reduce(value_stack[-size:])
                    del state_stack[-size:]
                    del value_stack[-size:]
                    goto = states[state_stack[-1]][origin][1]
                    state_stack.append(goto)
                    value_stack.append(value)
                if token is None and goto == end_state:
                    return value_stack[-1]


#: a state's lexer: its terminals' alternations (matchers, tried in order), the ignored terminals,
#: and for a terminal that also matches keywords (NAME and `and`), the keyword test
Lexer = tuple[tuple[Callable[[str, int], Any], ...], frozenset[str], dict[str, Callable[[str], str | None]]]


class _Lexers(dict[int, Lexer]):
    """The lexer of each parser state, built when the state is first met (Lark's are lazy too:
    building all of them compiles every state's regular expressions, a cost at every start)."""

    def __init__(self, basics: dict[int, Any], unless: Any) -> None:
        super().__init__()
        self.basics = basics
        self.unless = unless
        self.built: dict[int, Lexer] = {}

    def __missing__(self, state: int) -> Lexer:
        basic = self.basics[state]
        lexer = self.built.get(id(basic))
        if lexer is None:
            scanner = basic.scanner  # built on first use, with the keyword callbacks
            keywords = {}
            for name, callback in basic.callback.items():
                if type(callback) is not self.unless:
                    raise Fallback(f"lexer callback {callback!r}")
                keywords[name] = callback.scanner.fullmatch
            matchers = tuple(m.match for m in scanner._mres)
            lexer = self.built[id(basic)] = (matchers, frozenset(basic.ignore_types), keywords)
        self[state] = lexer
        return lexer


def _reduction(rule: Any, callback: Any, L: Any) -> Reduction | None:
    """What Lark's wrapper chain for `rule` does (see `ParseTreeBuilder._init_builders`), as one function."""
    if type(callback) is not L.PropagatePositions or callback.node_filter is not None:
        raise Fallback(f"callback {callback!r}")
    inner = callback.node_builder
    include: list[tuple[int, bool, int]] | None = None
    append_none = 0
    if type(inner) is L.ChildFilterLALR_NoPlaceholders:
        include = [(i, expand, 0) for i, expand in inner.to_include]
        inner = inner.node_builder
    elif type(inner) is L.ChildFilterLALR:
        include = list(inner.to_include)
        append_none = inner.append_none
        inner = inner.node_builder
    expand1 = type(inner) is L.ExpandSingleChild
    if expand1:
        inner = inner.node_builder
    if not (
        hasattr(inner, "func") and inner.func is L.Tree and len(inner.args) == 1 and not inner.keywords
    ):  # partial(Tree, name)
        raise Fallback(f"node builder {inner!r}")
    name: str = inner.args[0]
    if expand1 and include is None and len(rule.expansion) == 1:
        return None  # the child itself, and its container positions are its own: nothing changes

    def reduce(children: list[Any]) -> Any:
        kept = children
        if include is not None:
            kept = []
            for i, expand, add_none in include:
                if add_none:
                    kept += [None] * add_none
                if expand:
                    kept += children[i].children
                else:
                    kept.append(children[i])
            if append_none:
                kept += [None] * append_none
        if expand1 and len(kept) == 1:
            result = kept[0]
            if type(result) is not Tree:
                return result
        else:
            result = Tree(name, kept)
        _propagate(result, children)
        return result

    return reduce


def _propagate(tree: Tree, children: list[Any]) -> None:
    """Lark's PropagatePositions: offsets from the first and last child that has any."""
    first = _edge(children, last=False)
    if first is None:
        return
    last = _edge(reversed(children), last=True)
    if tree.start_pos is None:
        tree.start_pos = first
    tree.cstart = first
    if tree.end_pos is None:
        tree.end_pos = last
    tree.cend = last


def _edge(children: Iterable[Any], last: bool) -> int | None:
    """The first child's start offset (`last`: the end offset) that is known, as Lark takes it:
    a token's own, a tree's container offsets (its parentheses included)."""
    for child in children:
        if type(child) is Token:
            return child.end_pos if last else child.start_pos
        if type(child) is Tree and child.start_pos is not None:
            return child.cend if last else child.cstart
    return None
