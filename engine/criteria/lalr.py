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

import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
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
    """Parses with the tables `describe` takes from a `Lark_StandAlone` instance; see the module docstring.

    The engine builds it from the tables shipped in `_lalr_tables.py` (`describe`'s output,
    written by `python -m engine.criteria.lalr`): importing the generated Lark module and
    building its parser cost a cold `billrules validate` about 11 ms; the tables are plain data.
    """

    def __init__(self, tables: dict[str, Any]) -> None:
        self.start: int = tables["start"]
        self.end: int = tables["end"]
        rules = [(size, origin, _reduction(spec)) for size, origin, spec in tables["rules"]]
        self.states: dict[int, dict[str, Action]] = {
            state: {symbol: (True, arg) if shift else (False, rules[arg]) for symbol, (shift, arg) in actions.items()}
            for state, actions in tables["states"].items()
        }
        self.lexers = _Lexers(tables["lexers"], tables["scanners"])

    @classmethod
    def from_lark(cls, lark: Any) -> Driver:
        """The driver of a `Lark_StandAlone` instance (what the shipped tables are checked against)."""
        return cls(describe(lark))

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

    def __init__(self, lexers: dict[int, int], scanners: list[Any]) -> None:
        super().__init__()
        self.lexers = lexers
        self.scanners = scanners
        self.built: dict[int, Lexer] = {}

    def __missing__(self, state: int) -> Lexer:
        index = self.lexers[state]
        lexer = self.built.get(index)
        if lexer is None:
            patterns, ignore, keywords = self.scanners[index]
            matchers = tuple(re.compile(pattern, flags).match for pattern, flags in patterns)
            tests = {
                name: _fullmatch([re.compile(p, f) for p, f in alternations]) for name, alternations in keywords.items()
            }
            lexer = self.built[index] = (matchers, frozenset(ignore), tests)
        self[state] = lexer
        return lexer


def _fullmatch(alternations: list[re.Pattern[str]]) -> Callable[[str], str | None]:
    """Lark's `Scanner.fullmatch`: the terminal whose alternation matches the whole text, if any."""

    def test(text: str) -> str | None:
        for alternation in alternations:
            match = alternation.fullmatch(text)
            if match:
                return match.lastgroup
        return None

    return test


def _scanner(scanner: Any) -> list[tuple[str, int]]:
    """A compiled Lark `Scanner` as (pattern, flags) of its alternations, in order."""
    return [(m.pattern, m.flags) for m in scanner._mres]


def describe(lark: Any) -> dict[str, Any]:
    """What the driver needs of a `Lark_StandAlone` instance, as plain data: start and end
    states, each rule's size, origin and tree shaping, each state's actions, and each state's
    lexer (its terminals' alternations, ignored terminals, keyword tests). Raises Fallback for a
    shape of parser this driver does not model."""
    from engine.criteria import _parser as L

    frontend = lark.parser
    parser = frontend.parser.parser
    table = parser.parse_table
    (start,) = table.start_states.values()
    (end,) = table.end_states.values()
    rules: list[tuple[int, str, Any]] = []
    index: dict[Any, int] = {}
    for rule, callback in parser.callbacks.items():
        if not isinstance(rule, L.Rule):
            raise Fallback(f"terminal callback {rule!r}")
        index[rule] = len(rules)
        rules.append((len(rule.expansion), rule.origin.name, _shaping(rule, callback, L)))
    states = {
        state: {
            symbol: (True, arg) if action is L.Shift else (False, index[arg])
            for symbol, (action, arg) in actions.items()
        }
        for state, actions in sorted(table.states.items())
    }
    lexer = frontend.lexer
    if not isinstance(lexer, L.ContextualLexer):
        raise Fallback(f"lexer {type(lexer).__name__}")
    scanners: list[Any] = []
    lexers: dict[int, int] = {}
    seen: dict[int, int] = {}
    for state, basic in sorted(lexer.lexers.items()):
        if id(basic) not in seen:
            scanner = basic.scanner  # built with the keyword callbacks
            keywords = {}
            for name, callback in sorted(basic.callback.items()):
                if type(callback) is not L.UnlessCallback:
                    raise Fallback(f"lexer callback {callback!r}")
                keywords[name] = _scanner(callback.scanner)
            seen[id(basic)] = len(scanners)
            scanners.append((_scanner(scanner), sorted(basic.ignore_types), keywords))
        lexers[state] = seen[id(basic)]
    return {"start": start, "end": end, "rules": rules, "states": states, "lexers": lexers, "scanners": scanners}


def _shaping(rule: Any, callback: Any, L: Any) -> tuple[str, list[tuple[int, bool, int]] | None, int, bool] | None:
    """What Lark's wrapper chain for `rule` does (see `ParseTreeBuilder._init_builders`), as data:
    (tree name, children kept or None for all, placeholders appended, single child inlined), or
    None when the reduction keeps its only child as it is."""
    if type(callback) is not L.PropagatePositions or callback.node_filter is not None:
        raise Fallback(f"callback {callback!r}")
    inner = callback.node_builder
    include: list[tuple[int, bool, int]] | None = None
    append_none = 0
    if type(inner) is L.ChildFilterLALR_NoPlaceholders:
        include = [(i, expand, 0) for i, expand in inner.to_include]
        inner = inner.node_builder
    elif type(inner) is L.ChildFilterLALR:
        include = [(i, expand, add_none) for i, expand, add_none in inner.to_include]
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
    return name, include, append_none, expand1


def _reduction(shaping: tuple[str, list[tuple[int, bool, int]] | None, int, bool] | None) -> Reduction | None:
    """The reduction `_shaping` describes, as one function (None: keep the child)."""
    if shaping is None:
        return None
    name, include, append_none, expand1 = shaping

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


def _write(target: Path, check: bool) -> int:
    """Write the shipped tables (`describe` of the generated parser), formatted as the repository's
    code is; with `check`, exit 1 when the shipped ones differ from them."""
    import pprint
    import subprocess

    from engine.criteria._parser import Lark_StandAlone

    tables = describe(Lark_StandAlone())
    if check:
        from engine.criteria._lalr_tables import TABLES

        if tables != TABLES:
            print(f"{target} is out of date: run python -m engine.criteria.lalr", file=sys.stderr)
            return 1
        return 0
    target.write_text(
        '"""The criteria parser\'s tables for `engine.criteria.lalr.Driver`: `describe(Lark_StandAlone())`.\n\n'
        "Generated by `python -m engine.criteria.lalr` from `_parser.py` (itself generated from `grammar.lark`);\n"
        "tests/test_validate_speed_parser.py checks that they match. Do not edit.\n"
        '"""\n\n'
        "from typing import Any\n\n"
        f"TABLES: dict[str, Any] = {pprint.pformat(tables, width=120, sort_dicts=False)}\n",
        encoding="utf-8",
    )
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(target)], check=False)
    return 0


if __name__ == "__main__":
    import argparse

    options = argparse.ArgumentParser(
        description="Write the criteria parser's tables (engine/criteria/_lalr_tables.py)."
    )
    options.add_argument("--check", action="store_true", help="exit 1 when the shipped tables are out of date")
    sys.exit(_write(Path(__file__).with_name("_lalr_tables.py"), options.parse_args().check))
