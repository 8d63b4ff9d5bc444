"""Typed AST of the criteria language: frozen dataclasses that carry their source span.

The checker returns the same nodes with `type` filled in (`dataclasses.replace`); the compiler
only accepts typed nodes. A `Span` is already mapped to the rule file (file, line, column), so
every diagnostic and explanation points at the YAML the analyst wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.criteria.types import Type


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    column: int
    end_column: int
    text: str = field(default="", compare=False)  # the source text of the node, for explanations


@dataclass(frozen=True, eq=False)
class Node:
    span: Span

    @property
    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, eq=False)
class Literal(Node):
    value: Any
    type: Type | None = None


@dataclass(frozen=True, eq=False)
class Name(Node):
    id: str
    type: Type | None = None


@dataclass(frozen=True, eq=False)
class Attribute(Node):
    obj: Node
    name: str
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.obj,)


@dataclass(frozen=True, eq=False)
class SetLiteral(Node):
    items: tuple[Node, ...]
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, eq=False)
class Not(Node):
    operand: Node
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class BoolOp(Node):
    op: str  # "and" | "or"
    operands: tuple[Node, ...]
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, eq=False)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Node
    right: Node
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Membership(Node):
    """`item in collection` (negated: `not in`)."""

    item: Node
    collection: Node
    negated: bool = False
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.item, self.collection)


@dataclass(frozen=True, eq=False)
class SetRelation(Node):
    """`a overlaps b` (share an element) or `a contains b` (b, an element or a set, is inside a)."""

    op: str  # "overlaps" | "contains"
    left: Node
    right: Node
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Between(Node):
    """Inclusive range; for times of day a range whose start is later than its end spans midnight."""

    value: Node
    low: Node
    high: Node
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.value, self.low, self.high)


@dataclass(frozen=True, eq=False)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Negate(Node):
    operand: Node
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Quantifier(Node):
    kind: str  # "any" | "all"
    var: str
    collection: Node
    condition: Node
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.collection, self.condition)


@dataclass(frozen=True, eq=False)
class Aggregate(Node):
    """count/sum/min/max over a list; `where` filters, `within` keeps the last window before as_of.

    Without a bound variable, names inside `where` resolve to the element's fields first.
    """

    func: str
    var: str | None
    collection: Node
    where: Node | None
    within: Node | None
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return tuple(n for n in (self.collection, self.where, self.within) if n is not None)


@dataclass(frozen=True, eq=False)
class Call(Node):
    """A built-in function, e.g. `uninterrupted(subscription, 5 days)`."""

    func: str
    args: tuple[Node, ...]
    type: Type | None = None

    @property
    def children(self) -> tuple[Node, ...]:
        return self.args


def written_constant(node: Node) -> bool:
    """A literal, or a set of literals only: what the rule writes, the same in every scenario
    (`{account.code, "x"}` is not)."""
    if isinstance(node, SetLiteral):
        return all(isinstance(item, Literal) for item in node.items)
    return isinstance(node, Literal)


def walk(node: Node) -> list[Node]:
    """All nodes, parents before children (iterative: safe on deep trees)."""
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(current.children))
    return out
