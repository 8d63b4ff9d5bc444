"""A naive reference allocator for credit precedence: SPEC 3.6 read literally, no caching.

For every request it looks at every credit, decides from the definitions whether the consumer
may use it, sorts all candidates, and draws. The property tests compare `Book` against it on
random trees and streams, and `benchmarks/credits.py` times both (results checked equal first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.decide.credits import DEFAULT_ORDER, CreditCriteria, CreditFact, Request, Tree, sort_key


def may_use(c: CreditFact, r: Request, parent: Mapping[str, str | None]) -> int | None:
    """The tree distance at which `r`'s consumer may use `c`, or None when it may not."""
    if c.holder_user:
        return 0 if c.holder == r.user else None
    distance, node = 0, r.organisation
    while node is not None:
        if node == c.holder:
            return distance if distance == 0 or not c.own_only else None
        node, distance = parent.get(node), distance + 1
    return None


def allocate(
    credits: Sequence[CreditFact],
    parent: Mapping[str, str | None],
    requests: Sequence[Request],
    order: Sequence[str] = DEFAULT_ORDER,
    holds: Callable[[CreditFact, Request], bool] | None = None,
) -> tuple[list[tuple[str, list[tuple[str, Decimal]], bool]], dict[str, Decimal]]:
    """(request id, [(credit, quantity)], refused) per request in time order, and what is left.

    `holds(credit, request)`: do the credit's criteria hold (asked per credit and request, no
    caching; `interpreted` answers it with the explaining interpreter, not the generated code)."""
    left = {c.code: c.quantity for c in credits}
    key = sort_key(order)
    out = []
    for _, r in sorted(enumerate(requests), key=lambda item: (item[1].at, item[0])):
        candidates, usable = [], []
        for c in credits:
            distance = may_use(c, r, parent)
            if distance is None or c.type not in r.types:
                continue
            if not (c.start or date.min) <= r.day <= (c.end or date.max):
                continue
            if (c.services and r.service not in c.services) or (c.products and r.product not in c.products):
                continue
            if c.criteria and (holds is None or not holds(c, r)):
                continue
            usable.append((c, distance))  # active, in scope, criteria hold: used up or not
            if left[c.code] > 0:
                candidates.append((c, distance))
        candidates.sort(key=key)
        usable.sort(key=key)
        need, picks = r.quantity, []
        for c, _ in candidates:
            take = min(left[c.code], need)
            picks.append((c.code, take))
            need -= take
            if need == 0:
                break
        refused = False
        if need > 0:
            # overdraft: the last credit drawn of a type whose policy allows it, else the last
            # usable one of such a type (even used up); a type without that policy never overdraws
            allows = r.overdraft or {}
            types = {c.code: c.type for c, _ in usable}
            drawn = [code for code, _ in picks if types[code] in allows]
            spare = [c.code for c, _ in usable if c.type in allows]
            target = drawn[-1] if drawn else (spare[-1] if spare else None)
            if target is None:
                picks, refused = [], True
            elif target in dict(picks):
                picks = [(code, take + need if code == target else take) for code, take in picks]
            else:
                picks.append((target, need))
        for code, take in picks:
            left[code] -= take
        out.append((r.id, picks, refused))
    return out, left


def interpreted(
    program: Any, parent: Mapping[str, str | None], as_of: datetime
) -> Callable[[CreditFact, Request], bool]:
    """Credit criteria evaluated by the explaining interpreter (three-valued, unknown fails), one
    criterion at a time: the reference the generated evaluator is compared against."""
    tree = Tree(parent)

    def holds(c: CreditFact, r: Request) -> bool:
        context = CreditCriteria(program, tree, as_of).context(r)
        return all(program.explain_credit(context, i)[0] is True for i in c.criteria)

    return holds
