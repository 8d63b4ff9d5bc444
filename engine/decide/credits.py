"""Credit precedence (SPEC 3.6, seeds 000 and 001): which credits pay for each consumption.

A consumption asks for a credit type, or for a service (then credits of every type paying for
that service are one candidate list). Its candidates are the credits of those types, active on
the consumption's day, with something left, held by the consuming organisation (or by the
credit owner user), or by an ancestor that allocated them to all organisations (types shared on
issue need no allocation). A parent never uses a child's credits; siblings never share.

Candidates are ordered by the rule set's precedence keys (default: allocation, expiry, tree
distance, issue date, id — own-only before shared, closest expiry first and no expiry last,
nearer holder, earlier issue, id), the consumption spills over from one to the next, and a
consumption the candidates together cannot cover is refused whole unless the credit type's
overdraft policy allows overdraft (then the last candidate goes below zero).

Consumptions (and credit purchases) are applied in time order (ties: purchases first, then input
order); each sees what the earlier ones left. Every movement is a ledger entry; remaining
quantities are derived from the ledger.

The core (`Book`) works on plain `CreditFact`/`Request` records, so the property tests and the
benchmark drive it without rule files. Per (organisation, user, types) the candidate order does
not depend on time, so it is sorted once per scenario — once per rule set for the scenarios that
bring no credits of their own (`Shared`: the rule set's credits indexed once, lent to each book);
a purchase is inserted in that order, not sorted again. A request walks only the credits that
could still pay (`_Candidates.live`): a credit found used up or expired for good (requests come in
time order) is dropped from the walk, one found not started waits outside it until a request's
day reaches its start; so a stream costs about one pass over the candidates instead of a sort per
request, also when a credit that cannot serve yet ranks first (until 2026-12-04 such a credit
stopped the cursor, and every request walked again every credit used up behind it).

Fields read as a mapping: a consumption's fields (some fifteen per consumption) and the
scenario's are read from the model's `__dict__` (`fields["quantity"]`: pydantic keeps every field
there, the same values), as `decision` does and for the reason its module docstring gives.
"""

from __future__ import annotations

import functools
from bisect import insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from heapq import heappop, heappush
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from engine.decide.reasons import Reason, Source, register
from engine.decide.scenarios import ScenarioError
from engine.semantics import credit_holder_conflict, credit_type_conflicts, credit_unit, issued_after_period
from engine.values import plain

DEFAULT_ORDER = ("allocation", "expiry", "tree_distance", "issue_date", "id")

register(
    {
        "used": lambda f: (
            # a credit used up before, drawn for an overdraft, is no candidate: its draw's `rank`
            # is its place among the draws (until 2026-12-03 told as "rank 2", read as beaten by rank 1)
            f"used for the overdraft (used up before, not a candidate): {f['quantity']} drawn, {f['remaining']} left"
            if f.get("overdraft")
            else f"used: rank {f['rank']}, {f['quantity']} drawn, {f['remaining']} left" + _after_words(f)
        ),
        "not_needed": lambda f: (
            f"a candidate (rank {f['rank']}{_after_words(f, inside=True)}); not needed, earlier credits covered the "
            "consumption"
        ),
        "candidate_refused": lambda f: (
            f"a candidate (rank {f['rank']}{_after_words(f, inside=True)}); nothing drawn, the consumption was refused"
        ),
        "other_type": "another type: `{type}` (the consumption asks for {wanted})",
        "expired": "expired on {to}",
        "not_started": "not started: usable from {from}",
        "used_up": "used up",
        "this_organisation_only": "allocated to this organisation only and held by `{holder}`, {relation}",
        "child_credit": "a child's credit: held by `{holder}`, {relation}",
        "other_branch": "held by `{holder}`, {relation}: only the holder and its descendants may use it",
        "other_owner": "held by user `{holder}`, whose credits this consumer does not use",
        "owner_credits_only": lambda f: (
            f"held by `{f['holder']}`, {f['relation']}: `{f['user']}` draws on the credits of credit owner "
            f"`{f['owner']}` "
            # (an owner without an organisation: only the credits the owner holds)
            + (f"(organisation `{f['organisation']}`)" if f.get("organisation") else "(who has no organisation)")
            + ", not on their own organisation's"
        ),
        "outside_scope": lambda f: (
            (f"credit `{f['credit']}` is " if "credit" in f else "")
            # ("is for product X"; until 2026-12-03 "is product X")
            + f"outside its scope: only for {f['scope']}, the consumption is "
            + (f["actual"] if f["actual"].startswith("for ") else f"for {f['actual']}")
        ),
        "criteria_not_met": lambda f: (
            # a type's criterion is judged per credit: the credit is named, or two credits of the
            # type read as one line said twice (the criterion of a credit names it already)
            (f"credit `{f['credit']}`: " if f["of"].startswith("credit type") and "credit" in f else "")
            + _criteria_words(f)
        ),
        "not_enough_credit": lambda f: (
            f"refused whole: {f['requested']} asked, the candidates hold {f['available']}" + _unusable_words(f)
        ),
        "no_candidate": lambda f: "refused: no credit can pay for it" + _unusable_words(f),
        "overdraft": "overdraft: {shortfall} beyond the candidates, drawn from `{credit}` by policy `{policy}`",
        "credit_below_zero": "credit `{credit}` fell below zero ({before} → {remaining}) at request `{request}`",
        "credit_below_threshold": "credit `{credit}` fell below the alert threshold of {threshold} of policy "
        "`{policy}` ({before} → {remaining}) at request `{request}`",
    }
)


@dataclass(frozen=True)
class CreditFact:
    """One credit as the allocator sees it (from a rule file, the scenario or a purchase)."""

    code: str
    type: str
    quantity: Decimal
    start: date | None
    end: date | None  # inclusive; None never expires
    holder: str  # an organisation, or a user when `holder_user`
    issued: date
    own_only: bool = False  # allocated to the holder only (and its type is not shared on issue)
    holder_user: bool = False
    priority: int | None = None
    services: tuple[str, ...] = ()  # scope: empty means any
    products: tuple[str, ...] = ()
    source: Source | None = None
    criteria: tuple[int, ...] = ()  # credit criteria (its type's, then its own) in CriteriaProgram.credit_entries
    issued_at: datetime | None = None  # a purchase's instant: "earlier issue" between purchases of one day


class UsageAttributes(NamedTuple):
    """What a consumption says of the usage it pays for, as a usage record does."""

    method: str | None = None
    device: str | None = None
    source_category: str | None = None
    destination_category: str | None = None


_NO_USAGE = UsageAttributes()


@dataclass(frozen=True)
class Request:
    """One consumption, resolved: who consumes (organisation and/or credit owner), what, when."""

    id: str
    organisation: str | None
    user: str | None  # the user whose own credits are candidates (the credit owner, if any)
    types: frozenset[str]
    quantity: Decimal
    at: datetime  # comparable (aware)
    day: date  # the consumption's day as written (its local date)
    service: str | None = None
    product: str | None = None
    overdraft: Mapping[str, str] | None = None  # credit type → the balance policy allowing it to overdraw
    asked_by: str | None = None  # the consuming user as written
    wanted: str = ""  # what was asked, for reasons ("`network-offer`", "service `platform`")
    credit_type: str | None = None  # the credit type asked for, if one was (credit criteria see it)
    unit: str | None = None  # as written
    #: the usage attributes written with the consumption, which credit criteria may read (SPEC 3.6)
    usage: UsageAttributes = _NO_USAGE
    #: a credit user's own organisation, where they draw on their credit owner's (seed 001); else None
    own_organisation: str | None = None


@dataclass(frozen=True)
class Draw:
    credit: str
    quantity: Decimal
    rank: int


@dataclass(frozen=True)
class LedgerEntry:
    at: datetime
    credit: str
    request: str
    quantity: Decimal  # negative for a draw; an issue's quantity (a purchase's, or a scenario credit's left)
    remaining: Decimal
    issue: bool = False  # a credit issued (a draw otherwise): a scenario credit's quantity may be below zero


@dataclass(frozen=True)
class Outcome:
    request: Request
    draws: tuple[Draw, ...]
    refusal: Reason | None = None
    note: Reason | None = None  # overdraft
    verdicts: tuple[tuple[str, Reason], ...] = ()  # with explain: every credit of the tree
    excluded: tuple[Reason, ...] = ()  # refused: credits that were candidates but for their criteria
    alerts: tuple[Reason, ...] = ()  # lines of its credits' policies the draws crossed downwards


SortKey = Callable[[CreditFact, int], Any]


def _draw(credit: str, quantity: Decimal, rank: int) -> Draw:
    return Draw(credit, quantity, rank)


def _entry(at: datetime, credit: str, request: str, quantity: Decimal, remaining: Decimal) -> LedgerEntry:
    return LedgerEntry(at, credit, request, quantity, remaining, False)


def _outcome(
    request: Request,
    draws: tuple[Draw, ...],
    refusal: Reason | None,
    note: Reason | None,
    verdicts: tuple[tuple[str, Reason], ...],
    excluded: tuple[Reason, ...],
    alerts: tuple[Reason, ...] = (),
) -> Outcome:
    return Outcome(request, draws, refusal, note, verdicts, excluded, alerts)


def _allocation(c: CreditFact, distance: int) -> int:
    return 0 if c.own_only and distance == 0 else 1


def _issued_instant(c: CreditFact) -> datetime:
    """When a credit was issued: a purchase at the instant it was bought, a credit of the rules at
    the start of its `issued` day read as UTC (README), so a purchase at exactly midnight UTC ties
    with it and the id decides (until 2026-12-03 such a credit came first, "issued earlier")."""
    return c.issued_at if c.issued_at is not None else _day_start(c.issued)


@functools.lru_cache(maxsize=1024)
def _day_start(day: date) -> datetime:
    """The first instant of `day` in UTC (made once per day: a sort key asks it per comparison)."""
    return datetime.combine(day, time.min, UTC)


_KEYS: dict[str, SortKey] = {
    "allocation": _allocation,
    "priority": lambda c, d: (0, c.priority) if c.priority is not None else (1, 0),
    "expiry": lambda c, d: c.end or date.max,
    "tree_distance": lambda c, d: d,
    "issue_date": lambda c, d: _issued_instant(c),
    "id": lambda c, d: c.code,
}


def sort_key(order: Sequence[str]) -> Callable[[tuple[CreditFact, int]], tuple[Any, ...]]:
    """The total order on (credit, tree distance) declared by `order` (validated to end with id)."""
    keys = [_KEYS[k] for k in order]
    return lambda item: tuple(k(item[0], item[1]) for k in keys)


class Tree:
    """The organisation tree: parent per organisation, ancestors with their distance."""

    def __init__(self, parent: Mapping[str, str | None]) -> None:
        self.parent = dict(parent)
        self._chains: dict[str, tuple[tuple[str, int], ...]] = {}

    def chain(self, org: str) -> tuple[tuple[str, int], ...]:
        """The organisation and its ancestors, nearest first, with their distance."""
        found = self._chains.get(org)
        if found is None:
            out: list[tuple[str, int]] = []
            node: str | None = org
            while node is not None and len(out) <= len(self.parent):
                out.append((node, len(out)))
                node = self.parent.get(node)
            found = self._chains[org] = tuple(out)
        return found

    def relation(self, holder: str, org: str) -> str:
        """How `holder` stands to the consuming `org`, in words."""
        if holder == org:
            return "the consuming organisation"
        ancestors = dict(self.chain(org))
        if holder in ancestors:
            return "its parent" if ancestors[holder] == 1 else f"an ancestor ({ancestors[holder]} levels up)"
        below = dict(self.chain(holder))
        if org in below:
            return "its child" if below[org] == 1 else f"a descendant ({below[org]} levels down)"
        if self.parent.get(holder) is not None and self.parent.get(holder) == self.parent.get(org):
            return "a sibling"
        return "in another branch"

    def root(self, org: str) -> str:
        return self.chain(org)[-1][0]


class CreditCriteria:
    """The credit criteria of a rule set, bound to one scenario's tree and `as_of`.

    A credit's criteria depend only on the consumption and the consumer, so for a consumption the
    generated evaluator runs once (`results`: every credit criterion of the rule set, one call),
    on the first candidate that has criteria; every candidate then reads its outcomes. Why one
    does not hold is traced (the slow path) only for `--explain` and for refusals.
    """

    def __init__(self, program: Any, tree: Tree, as_of: datetime) -> None:
        self.program = program
        self.tree = tree
        self.as_of = as_of
        self._request: Request | None = None
        self._context: Any = None
        self._results: tuple[bool, ...] = ()

    def context(self, r: Request) -> Any:
        """What the criteria see: `consumption`, `consumer` and `as_of` (models.credit_context)."""
        if self._request is not r:
            consumption = _records()[1]
            self._context = _Context(
                self.as_of,
                consumption(
                    id=r.id,
                    service=r.service,
                    product=r.product,
                    credit_type=r.credit_type,
                    quantity=r.quantity,
                    unit=r.unit,
                    at=r.at,
                    method=r.usage.method,
                    device=r.usage.device,
                    source_category=r.usage.source_category,
                    destination_category=r.usage.destination_category,
                ),
                r,
                self.tree,
            )
            self._results = ()
            self._request = r
        return self._context

    def results(self, r: Request) -> tuple[bool, ...]:
        """Every credit criterion's outcome for `r`, computed once per consumption."""
        context = self.context(r)
        if not self._results:
            self._results = self.program.evaluate_credit(context)
        return self._results

    def hold(self, c: CreditFact, r: Request) -> bool:
        results = self.results(r)
        for i in c.criteria:  # noqa: SIM110 - a loop: `all()` of a generator costs more per candidate
            if not results[i]:
                return False
        return True

    def failing(self, c: CreditFact, r: Request) -> tuple[Reason, ...]:
        """Each of `c`'s criteria that does not hold for `r`, as a reason with its values (SPEC
        3.6: "the decision names the criterion"; a second failing section was left out)."""
        results = self.results(r)
        return tuple(self._failing_one(c, r, i) for i in c.criteria if not results[i])

    def _failing_one(self, c: CreditFact, r: Request, i: int) -> Reason:
        entry = self.program.credit_entries[i]
        _, steps = self.program.explain_credit(self.context(r), i)
        failed = [step for step in steps if step.outcome is not True]
        # a `not (…)` that fails names the values that made its group hold, as a discount's does
        # (until 2026-12-03 "`a or b` holds, so `not (a or b)` does not hold" alone)
        values = "; ".join(
            "; ".join(step.facts["values"])
            if step.facts.get("kind") == "not" and step.facts.get("values")
            else step.detail
            for step in failed
        )
        kind, _, code = entry.owner.partition(":")
        span = entry.node.span
        line, column = span.line, span.column
        places = {step.place[1:] for step in failed}
        if len(places) == 1:  # one place failed: its line (`max: 5` of a `quantity`, not its `min: 2`)
            line, column = places.pop()
        facts = {
            "credit": c.code,
            "of": f"{'credit type' if kind == 'credit_type' else 'credit'} `{code}`",
            "section": entry.section,
            # (a section of several entries has no text of its own: its name)
            "criterion": span.text or f"{entry.section} (a section of several entries)",
            "values": values or "it does not hold",
        }
        return Reason("criteria_not_met", facts, Source(span.file, line, column))


def _records() -> tuple[Any, Any, Any]:
    """`models.credit_context.records()`: (CreditContext, Consumption, Consumer) records, imported
    on first use (a decision that meets no credit criterion never loads them)."""
    global _RECORDS
    if _RECORDS is None:
        from engine.models.credit_context import records

        _RECORDS = records()
    return _RECORDS


_RECORDS: tuple[Any, Any, Any] | None = None


class _Context:
    """What a credit criterion sees, as `models.credit_context.records()`' CreditContext: `as_of`,
    the consumption, and the consumer, made when a criterion (or its trace) first reads it: a
    criterion of the consumption alone (`consumption.at.hour`) needs no organisation chain, and a
    context is made per consumption that meets a credit with criteria."""

    __slots__ = ("_consumer", "_request", "_tree", "as_of", "consumption")

    def __init__(self, as_of: datetime, consumption: Any, request: Request, tree: Tree) -> None:
        self.as_of, self.consumption = as_of, consumption
        self._request, self._tree = request, tree
        self._consumer: Any = None

    @property
    def consumer(self) -> Any:
        found = self._consumer
        if found is None:
            r = self._request
            chain = [org for org, _ in self._tree.chain(r.organisation)] if r.organisation is not None else []
            found = self._consumer = _records()[2](
                organisation=r.organisation,
                parent=chain[1] if len(chain) > 1 else None,
                organisations=chain,
                user=r.asked_by,
                owner=r.user,
            )
        return found


@dataclass
class _Candidates:
    """A request kind's candidates in precedence order (`items`: every one, as `candidates`
    lists them), and the walk over those that may still pay: `live[cursor:]`, in the same order
    (a copy of `items` at the first request, `Book._live`), without the credits a walk found used
    up or expired for good (dropped: remaining only goes down, requests come in time order) nor
    those it found not started (`waiting`: (start, number, item), a heap, moved back in order when
    a request's day reaches the start). `owned`: `items` is this book's own list (a list kept per
    rule set in `Shared` is copied before a purchase is inserted)."""

    items: list[tuple[CreditFact, int]]
    cursor: int = 0
    live: list[tuple[CreditFact, int]] | None = None
    waiting: list[tuple[date, int, tuple[CreditFact, int]]] = field(default_factory=list)
    owned: bool = True
    pushed: int = 0  # items put in `waiting` so far (the heap's tie-break)


Key = tuple[str | None, str | None, frozenset[str]]  # a request's (organisation, user, types)


@dataclass
class Shared:
    """A book's indexes over the rule set's own credits, built once per rule set (`setting`) and
    lent to the book of every scenario that brings no credits of its own: the credits by code,
    their quantities, the credits per holder and the candidate lists in precedence order (which
    depend on the credits and the order only; a book keeps its own cursor and remaining)."""

    credits: tuple[CreditFact, ...]
    remaining: Mapping[str, Decimal]
    by_holder: Mapping[tuple[bool, str], list[CreditFact]]
    key: Callable[[tuple[CreditFact, int]], tuple[Any, ...]]  # the precedence order (`sort_key`)
    candidates: dict[Key, list[tuple[CreditFact, int]]] = field(default_factory=dict)


@dataclass
class Book:
    """Credits, what is left of each, and the ledger; `apply` allocates requests in order.

    `shared`: the same credits indexed once per rule set (then `credits` is `shared.credits`);
    read only here, until a credit is issued."""

    credits: list[CreditFact]
    tree: Tree
    order: Sequence[str] = DEFAULT_ORDER
    criteria: CreditCriteria | None = None  # needed when some credit has criteria
    remaining: dict[str, Decimal] = field(default_factory=dict)
    ledger: list[LedgerEntry] = field(default_factory=list)
    _by_holder: dict[tuple[bool, str], list[CreditFact]] = field(default_factory=dict)
    _cache: dict[Key, _Candidates] = field(default_factory=dict)
    shared: Shared | None = None
    #: (credit, service, product) → why the credit's scope leaves such a consumption out (`_passed`)
    _outside: dict[tuple[str, str | None, str | None], Reason] = field(default_factory=dict)
    #: credit type → the alert lines of its policy, highest first: (line, alert code, policy)
    alert_lines: Mapping[str, AlertLines] = field(default_factory=dict)
    #: credit type → the balance policy it names when that policy allows no overdraft (a refusal names it)
    strict: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shared is not None:
            self._key = self.shared.key
            self.remaining.update(self.shared.remaining)
            self._by_holder = self.shared.by_holder  # type: ignore[assignment]  # read only until `issue`
            return
        self._key = sort_key(self.order)
        for c in self.credits:
            self._index(c)

    @classmethod
    def lent(cls, shared: Shared, tree: Tree, order: Sequence[str], criteria: CreditCriteria | None) -> Book:
        """`Book(list(shared.credits), tree, order, criteria, shared=shared)`. (Until 2026-12-04 made
        without the dataclass `__init__`, by setting its `__dict__`, quicker in CPython; the
        decision modules are compiled now, where a book has no `__dict__`.)"""
        return cls(list(shared.credits), tree, order, criteria, shared=shared)

    def _index(self, c: CreditFact) -> None:
        self.remaining[c.code] = c.quantity
        self._by_holder.setdefault((c.holder_user, c.holder), []).append(c)

    def issue(self, credit: CreditFact, at: datetime, request: str) -> None:
        """A credit created during the stream (a purchase): indexed, inserted in precedence
        order into the candidate lists it belongs to (until 2026-12-04 every list was sorted again
        after each purchase: quadratic over purchases interleaved with consumptions), and a
        ledger entry."""
        if self.shared is not None:  # the book's own indexes from now on
            self._by_holder = {k: list(v) for k, v in self._by_holder.items()}
            self.shared = None
        if credit.code in self.remaining:  # (a code issued again: the lists are made anew, as before)
            self._cache.clear()
            self._outside.clear()
        self.credits.append(credit)
        self._index(credit)
        for key, listed in self._cache.items():
            for item in self._placed(credit, key):
                self._insert(listed, item)
        self.ledger.append(LedgerEntry(at, credit.code, request, credit.quantity, credit.quantity, issue=True))

    def _placed(self, c: CreditFact, key: Key) -> list[tuple[CreditFact, int]]:
        """`c` with its tree distance as `candidates` lists it for requests of `key`, if it does."""
        organisation, user, types = key
        if c.type not in types:
            return []
        if c.holder_user:
            return [(c, 0)] if user is not None and c.holder == user else []
        if organisation is None:
            return []
        return [(c, d) for org, d in self.tree.chain(organisation) if org == c.holder and (d == 0 or not c.own_only)]

    def _insert(self, listed: _Candidates, item: tuple[CreditFact, int]) -> None:
        """A new candidate, in precedence order (the order is total: the place is the one a sort
        of every candidate gives it)."""
        if not listed.owned:
            listed.items = list(listed.items)
            listed.owned = True
        insort(listed.items, item, key=self._key)
        if listed.live is None:  # (no request walked the list yet: `_live` copies it)
            return
        start = item[0].start
        if start is None:
            insort(listed.live, item, lo=listed.cursor, key=self._key)
        else:  # (moved in by the first request whose day reaches its start)
            _wait(listed, item)

    def _live(self, listed: _Candidates, day: date) -> list[tuple[CreditFact, int]]:
        """The walk over `listed` for a request on `day`: the credits waiting for a start the day
        reaches move in, in precedence order."""
        live = listed.live
        if live is None:
            live = listed.live = list(listed.items)
            return live
        waiting = listed.waiting
        while waiting and waiting[0][0] <= day:  # (a day written earlier than one before: still checked in the walk)
            insort(live, heappop(waiting)[2], lo=listed.cursor, key=self._key)
        return live

    def candidates(self, r: Request) -> _Candidates:
        """The request's possible credits in precedence order (time and what is left aside)."""
        key = (r.organisation, r.user, r.types)
        found = self._cache.get(key)
        if found is None:
            shared = self.shared.candidates if self.shared is not None else None
            kept = shared.get(key) if shared is not None else None
            if kept is not None:
                found = self._cache[key] = _Candidates(kept, owned=False)
                return found
            items: list[tuple[CreditFact, int]] = []
            if r.user is not None:
                items.extend((c, 0) for c in self._by_holder.get((True, r.user), ()) if c.type in r.types)
            if r.organisation is not None:
                for org, distance in self.tree.chain(r.organisation):
                    for c in self._by_holder.get((False, org), ()):
                        if c.type in r.types and (distance == 0 or not c.own_only):
                            items.append((c, distance))
            items.sort(key=self._key)
            owned = True
            if shared is not None and len(shared) < 4096:  # keys are the rule set's names: few
                shared[key] = items
                owned = False
            found = self._cache[key] = _Candidates(items, owned=owned)
        return found

    def apply(self, r: Request, explain: bool = False) -> Outcome:
        """Allocate one request: draws in precedence order, or a refusal with its reason."""
        before = dict(self.remaining) if explain else None
        listed = self.candidates(r)
        items, remaining, day = listed.items, self.remaining, r.day
        live = self._live(listed, day)
        # credits used up, or expired before every later request's day, stay so: dropped from the
        # walk for good. Requests come in time order, but a day is the local date as written: a
        # later instant written with another offset may fall up to two days earlier (offsets are
        # under 24 hours), so only a credit that ended before `day - 2` is gone for every later request
        gone = date.fromordinal(max(day.toordinal() - 2, 1))
        cursor, size = listed.cursor, len(live)
        while cursor < size:
            c = live[cursor][0]
            if remaining[c.code] > 0 and (c.end is None or c.end >= gone):
                break
            cursor += 1
        listed.cursor = cursor
        need = r.quantity
        picks: list[tuple[CreditFact, Decimal]] = []
        passed: list[CreditFact] = []  # credits walked past for their scope or criteria (SPEC 3.6: named)
        criteria = self.criteria
        stale = False  # the walk met a credit used up, expired for good or not started: `_tidy`
        last = cursor - 1  # the last place walked
        for last in range(cursor, size):
            c = live[last][0]
            left = remaining[c.code]
            if left <= 0:  # used up (`_active` and the rest inlined: this loop is hot)
                stale = True
                continue
            end = c.end
            if end is not None and end < day:  # expired on the day
                if end < gone:
                    stale = True
                continue
            if c.start is not None and c.start > day:  # not started on the day
                stale = True
                continue
            if (c.services or c.products) and not _in_scope(c, r):
                passed.append(c)  # (a scope is shorthand for criteria, SPEC 3.6: named as they are)
                continue
            if c.criteria and (criteria is None or not criteria.hold(c, r)):
                passed.append(c)
                continue
            take = need if need <= left else left  # (the request's own form when it fits: `1`, not the credit's `1.0`)
            picks.append((c, take))
            need -= take
            if need == 0:
                break
        refusal = note = None
        excluded: tuple[Reason, ...] = ()
        if need > 0:
            # what the candidates hold, added up as written (each pick took a credit whole): `0.2`,
            # not the request's digits, "0.200000000" for 0.200000001 asked (until 2026-12-03)
            available = sum((take for _, take in picks), Decimal(0))
            target = _overdrawn(self, r, items, picks) if r.overdraft is not None else None
            if target is not None:
                assert r.overdraft is not None
                at = next((k for k, (c, _) in enumerate(picks) if c is target), None)
                if at is None:
                    picks.append((target, need))
                else:
                    picks[at] = (target, picks[at][1] + need)
                policy = r.overdraft[target.type]
                note = Reason("overdraft", {"shortfall": plain(need), "credit": target.code, "policy": policy})
            else:
                unusable = _unusable(items, remaining, day)
                if self.strict and (strict := self._strict_for(r, items)):
                    unusable["no_overdraft"] = strict  # (SPEC 3.6: refused whole "unless the policy allows")
                if picks:
                    facts = {"requested": plain(r.quantity), "available": plain(available), **unusable}
                    refusal = Reason("not_enough_credit", facts)
                else:
                    refusal = Reason("no_candidate", {"requested": plain(r.quantity), **unusable})
                picks = []
                excluded = self._excluded(r, listed)
        if passed and not excluded:  # drawn from later credits: say why not these
            excluded = self._passed(passed, r)
        draws = []
        alerts: tuple[Reason, ...] = ()
        for rank, (c, take) in enumerate(picks, 1):
            was = remaining[c.code]
            left = remaining[c.code] = was - take
            draws.append(_draw(c.code, take, rank))
            self.ledger.append(_entry(r.at, c.code, r.id, -take, left))
            lines = self.alert_lines.get(c.type) if self.alert_lines else None
            if lines:
                alerts += _crossed(lines, c, r, was, left)
        if stale:
            _tidy(listed, last, remaining, gone, day)
        verdicts = self.verdicts(r, before, draws, refusal is not None) if before is not None else ()
        return _outcome(r, tuple(draws), refusal, note, verdicts, excluded, alerts)

    def _strict_for(self, r: Request, items: Sequence[tuple[CreditFact, int]]) -> dict[str, str]:
        """The strict policies (no overdraft) that refused what an overdraft would have drawn: of
        the types with an active candidate in scope whose criteria hold (with none, as before a
        credit starts, an overdraft would not help either, and no policy is named)."""
        found = {
            c.type
            for c, _ in items
            if c.type in self.strict and _active(c, r.day) and _in_scope(c, r) and self._hold(c, r)
        }
        return {t: self.strict[t] for t in sorted(found)}

    def _passed(self, passed: Sequence[CreditFact], r: Request) -> tuple[Reason, ...]:
        """For a served consumption: why the credits walked past before its draws were not used."""
        out: list[Reason] = []
        outside = self._outside
        for c in passed:
            if not _in_scope(c, r):
                # (one reason per credit and kind of consumption: the same record for each consumption)
                key = (c.code, r.service, r.product)
                reason = outside.get(key)
                if reason is None:
                    reason = outside[key] = _outside_scope(c, r, named=True)
                out.append(reason)
            elif self.criteria is not None:
                out.extend(self.criteria.failing(c, r))
        return tuple(out)

    def _excluded(self, r: Request, listed: _Candidates) -> tuple[Reason, ...]:
        """For a refusal: the credits that would have been candidates but for their criteria or
        their scope."""
        out: list[Reason] = []
        # (`live[cursor:]`: every candidate that may pay on the day, in order; `apply` made it)
        for c, _ in (listed.live or [])[listed.cursor :]:
            if self.remaining[c.code] <= 0 or not _active(c, r.day):
                continue
            if not _in_scope(c, r):  # (a scope is shorthand for criteria, SPEC 3.6: named as they are)
                out.append(_outside_scope(c, r, named=True))
            elif c.criteria and self.criteria is not None:
                out.extend(self.criteria.failing(c, r))
        return tuple(out)

    def verdicts(
        self, r: Request, before: Mapping[str, Decimal], draws: Sequence[Draw], refused: bool
    ) -> tuple[tuple[str, Reason], ...]:
        """For `--explain`: every credit of the consumer's tree (and owner), with why it was or was not used."""
        drawn = {d.credit: d for d in draws}
        orgs: set[str] = set()
        # the consuming organisation's tree, and a credit user's own organisation's (seed 001: they
        # draw on their credit owner's; until 2026-12-03 the user's own organisation's credits were
        # left out when the owner has no organisation, so nothing said why they were not used)
        for org in (r.organisation, r.own_organisation):
            if org is not None:
                root = self.tree.root(org)
                orgs |= {o for o in self.tree.parent if self.tree.root(o) == root} | {org}
        shown = [
            c
            for c in self.credits
            if (c.holder_user and c.holder == r.user) or (not c.holder_user and c.holder in orgs)
        ]
        ranked = self._ranks(r, before)
        out = []
        for c in sorted(shown, key=lambda c: c.code):
            if c.code in drawn:
                d = drawn[c.code]
                facts = {"rank": d.rank, "quantity": plain(d.quantity), "remaining": plain(self.remaining[c.code])}
                if c.code in ranked:
                    reason = Reason("used", {**facts, **ranked[c.code][1]})
                else:  # an overdraft drawing on a credit used up before: not among the candidates
                    reason = Reason("used", {**facts, "overdraft": True})
            elif c.code in ranked:
                code = "candidate_refused" if refused else "not_needed"
                rank, after = ranked[c.code]
                reason = Reason(code, {"rank": rank, **after})
            else:
                reason = self._why_not(c, r, before)
            out.append((c.code, Reason(reason.code, reason.facts, reason.source or c.source)))
        return tuple(out)

    def _hold(self, c: CreditFact, r: Request) -> bool:
        return not c.criteria or (self.criteria is not None and self.criteria.hold(c, r))

    def _ranks(self, r: Request, before: Mapping[str, Decimal]) -> dict[str, tuple[int, dict[str, Any]]]:
        """The consumption's candidates: credit → its rank and, from rank 2, what put it after the
        one ranked before it (`_after`)."""
        ranks: dict[str, tuple[int, dict[str, Any]]] = {}
        previous: tuple[CreditFact, int] | None = None
        for item in self.candidates(r).items:
            c = item[0]
            if before.get(c.code, Decimal(0)) > 0 and _active(c, r.day) and _in_scope(c, r) and self._hold(c, r):
                ranks[c.code] = (len(ranks) + 1, _after(self.order, previous, item) if previous else {})
                previous = item
        return ranks

    def _why_not(self, c: CreditFact, r: Request, before: Mapping[str, Decimal]) -> Reason:
        if c.type not in r.types:
            return Reason("other_type", {"type": c.type, "wanted": r.wanted})
        if c.holder_user:
            if c.holder != r.user:
                return Reason("other_owner", {"holder": c.holder})
        elif r.organisation is None or c.holder not in dict(self.tree.chain(r.organisation)):
            if r.own_organisation is not None and (own := _own_side(self.tree, c.holder, r)) is not None:
                return own
            # (told from the consuming organisation, or, when a credit owner has none, from the
            # credit user's own: a credit below it is still a child's credit)
            base = r.organisation if r.organisation is not None else r.own_organisation
            relation = self.tree.relation(c.holder, base) if base is not None else "another organisation"
            if base is not None and base in dict(self.tree.chain(c.holder)):
                return Reason("child_credit", {"holder": c.holder, "relation": relation})
            if c.own_only:
                return Reason("this_organisation_only", {"holder": c.holder, "relation": relation})
            return Reason("other_branch", {"holder": c.holder, "relation": relation})
        elif c.own_only and c.holder != r.organisation:
            relation = self.tree.relation(c.holder, r.organisation)
            return Reason("this_organisation_only", {"holder": c.holder, "relation": relation})
        if c.end is not None and c.end < r.day:
            return Reason("expired", {"to": c.end.isoformat()})
        if c.start is not None and c.start > r.day:
            return Reason("not_started", {"from": c.start.isoformat()})
        if before.get(c.code, Decimal(0)) <= 0:
            # used up, whatever its criteria say: as the refusal's facts name it (until 2026-12-03
            # `--explain` named the criterion that failed, the refusal the credit used up)
            return Reason("used_up", {})
        if not _in_scope(c, r):
            return _outside_scope(c, r)
        if c.criteria and self.criteria is not None and (failing := self.criteria.failing(c, r)):
            return _every_criterion(failing)
        return Reason("used_up", {})  # unreachable: every other credit is a candidate


def _tidy(listed: _Candidates, last: int, remaining: Mapping[str, Decimal], gone: date, day: date) -> None:
    """Take out of the walk `live[cursor:last + 1]`'s credits used up or expired for good (for
    good) and those not started on `day` (to `waiting`): the others keep their order and move to
    the end of that stretch, where the walk now starts (the rest of the list is not moved). So a
    credit that cannot serve yet no longer makes every request walk again the credits used up
    behind it, nor do credits not started make every request walk them again."""
    live, cursor = listed.live, listed.cursor
    assert live is not None
    kept = []
    for item in live[cursor : last + 1]:
        c = item[0]
        if remaining[c.code] <= 0 or (c.end is not None and c.end < gone):
            continue
        if c.start is not None and c.start > day:
            _wait(listed, item)
        else:
            kept.append(item)
    start = last + 1 - len(kept)
    live[start : last + 1] = kept
    listed.cursor = start


def _wait(listed: _Candidates, item: tuple[CreditFact, int]) -> None:
    """`item` waits outside the walk until a request's day reaches its start."""
    start = item[0].start
    assert start is not None
    heappush(listed.waiting, (start, listed.pushed, item))
    listed.pushed += 1


def _every_criterion(failing: Sequence[Reason]) -> Reason:
    """A verdict (one reason per credit) naming every criterion that fails, as the refusal lists
    them: the first, and the others' owners, sections, criteria and values under `more` (until
    2026-12-03 `--explain` named the first alone; then, for a while, the others without their
    owner, so a credit's own criterion read as its type's)."""
    first = failing[0]
    if len(failing) == 1:
        return first
    more = [{k: r.facts[k] for k in ("of", "section", "criterion", "values")} for r in failing[1:]]
    return Reason(first.code, {**first.facts, "more": more}, first.source)


def _criteria_words(f: Mapping[str, Any]) -> str:
    """The failing criteria of a `criteria_not_met`, grouped by owner in order (its type's, then
    the credit's own): "criteria of credit type `T` do not hold: `a` (…); criterion of credit `c`
    does not hold: `b` (…)" (until 2026-12-03 every criterion under `more` was said to be of the
    first's owner)."""
    groups: list[tuple[str, list[Mapping[str, Any]]]] = []
    for item in (f, *f.get("more", ())):
        of = item.get("of", f["of"])
        if groups and groups[-1][0] == of:
            groups[-1][1].append(item)
        else:
            groups.append((of, [item]))
    return "; ".join(
        (f"criterion of {of} does not hold: " if len(items) == 1 else f"criteria of {of} do not hold: ")
        + "; ".join(f"`{m['criterion']}` ({m['values']})" for m in items)
        for of, items in groups
    )


def _precedence_value(key: str, c: CreditFact, distance: int) -> str:
    """A credit's value for one precedence key, as the reasons write it."""
    if key == "allocation":  # (a credit a user holds is the credit owner's own, no organisation's)
        if _allocation(c, distance) != 0:
            return "shared"
        return "the credit owner's own" if c.holder_user else "this organisation only"
    if key == "priority":
        return str(c.priority) if c.priority is not None else "none"
    if key == "expiry":
        return c.end.isoformat() if c.end is not None else "never"
    if key == "tree_distance":
        return str(distance)
    if key == "issue_date":
        return c.issued_at.isoformat() if c.issued_at is not None else c.issued.isoformat()
    return c.code


def _issues_alike(first: CreditFact, second: CreditFact) -> bool:
    """Are both issues written in one form (both days, or both instants at one UTC offset)? Else
    `_after` writes both as the instants compared, in UTC: a rule credit's day is its first
    instant in UTC, and until 2026-12-03 "issued earlier (2015-01-02 against
    2015-01-01T23:00:00-05:00)" named a day that read as later than the purchase it came before."""
    if first.issued_at is None or second.issued_at is None:
        return first.issued_at is None and second.issued_at is None
    return first.issued_at.utcoffset() == second.issued_at.utcoffset()


def _issued_later(
    scenario: Any,
    credits: Mapping[str, CreditFact],
    events: list[tuple[datetime, int, int, Any]],
    ids: set[str],
    problems: list[ScenarioError],
) -> set[str]:
    """The scenario credits issued at an instant after the stream's first event: each added to
    `events` as an issue at its instant, as a purchase's credit is (before the purchases of that
    instant, in code order). Its ledger entry names it by its code, so a consumption's or a
    purchase's id that is that code is BR605 (added to `problems`), as two events sharing an id are."""
    first = min(e[0] for e in events) if events else None
    later: set[str] = set()
    if first is None:
        return later
    where = {c.code: i for i, c in enumerate(scenario.credits)}
    for code, f in sorted(credits.items()):
        if f.issued_at is None or f.issued_at <= first or code not in where:
            continue
        if code in ids:
            problems.append(
                ScenarioError(
                    f"credits[{where[code]}].code",
                    f"the credit `{code}` is issued during the scenario (`issued_at`) and its ledger entry would "
                    "name it as a consumption's or a purchase's id",
                    "give the credit, or the consumption or purchase, another code",
                    code="BR605",
                )
            )
            continue
        later.add(code)
        events.append((f.issued_at, 0, -1, f))
    return later


def _utc_text(at: datetime) -> str:
    """An aware date-time as ISO text in UTC; as written where UTC leaves the calendar (the first
    or last hours of years 1 and 9999: until 2026-12-04 `--explain` failed there)."""
    try:
        return at.astimezone(UTC).isoformat()
    except OverflowError:
        return at.isoformat()


def _after(order: Sequence[str], previous: tuple[CreditFact, int], item: tuple[CreditFact, int]) -> dict[str, Any]:
    """Why a candidate ranks after the one before it: the first precedence key that tells them
    apart, with both credits' values (SPEC 3.6: the order is total, so some key does). For
    `--explain`'s `why`: a rank alone did not say which key of the rule set's order decided."""
    for key in order:
        before_key, this_key = _KEYS[key](*previous), _KEYS[key](*item)
        if before_key != this_key:
            if key == "issue_date" and not _issues_alike(previous[0], item[0]):
                values = tuple(_utc_text(_issued_instant(c)) for c in (previous[0], item[0]))
            else:
                values = (_precedence_value(key, *previous), _precedence_value(key, *item))
            facts: dict[str, Any] = {
                "after": previous[0].code,
                "decided_by": key,
                "before_value": values[0],
                "value": values[1],
            }
            if key == "id" and any(k(*previous) != k(*item) for name, k in _KEYS.items() if name not in order):
                # tied on the keys compared only: a declared order that leaves out a key the two
                # differ on names those it compared (until 2026-12-03 "tied on every other key",
                # of two credits issued a month apart under `[expiry, tree_distance, id]`)
                facts["tied_on"] = [k for k in order if k != "id"]
            return facts
    return {}  # (unreachable: id is last and codes are unique)


#: why the credit ranked before comes first, said of that credit (", after `X`, which expires
#: sooner"; until 2026-12-02 "after `X`: it expires sooner", whose "it" read as the credit explained)
_AFTER_WORDS: dict[str, str] = {
    "allocation": "which is allocated to this organisation only (shared credits come after)",
    "priority": "whose priority comes first ({before_value} against {value})",
    "expiry": "which expires sooner ({before_value} against {value})",
    "tree_distance": "whose holder is nearer ({before_levels} against {levels})",
    "issue_date": "which was issued earlier ({before_value} against {value})",
    "id": "whose id comes first (tied on every other key)",
}


def _levels(distance: Any) -> str:
    """A holder's tree distance from the consumer in words."""
    return {"0": "the consumer itself", "1": "its parent"}.get(str(distance), f"{distance} levels up")


def _after_words(f: Mapping[str, Any], inside: bool = False) -> str:
    """ "; after `X`, which expires sooner (…)" for a ranked credit's reason, or "" at rank 1."""
    if "after" not in f:
        return ""
    levels = {"before_levels": _levels(f.get("before_value")), "levels": _levels(f.get("value"))}
    why = _AFTER_WORDS.get(f.get("decided_by", ""), "by the rule set's precedence").format_map({**f, **levels})
    if "tied_on" in f:  # (the two differ on a key the precedence order leaves out)
        why = "whose id comes first (" + (
            f"tied on every other key of the precedence order: {', '.join(f['tied_on'])})"
            if f["tied_on"]
            else "the precedence order compares ids alone)"
        )
    if f.get("decided_by") == "priority" and f.get("value") == "none":
        why = f"which has a priority ({f['before_value']}) where this one has none"
    elif f.get("decided_by") == "allocation" and f.get("before_value") == "the credit owner's own":
        # (it said "allocated to this organisation only" of a credit a user holds, until 2026-12-02)
        why = "which is the credit owner's own (held by a user; shared credits come after)"
    elif f.get("decided_by") == "expiry" and f.get("value") == "never":
        why = f"which expires ({f['before_value']}) where this one never does"
    return f"{',' if inside else ';'} after `{f['after']}`, {why}"


def _own_side(tree: Any, holder: str, r: Request) -> Reason | None:
    """Why a credit of a credit user's own organisation (or one above it) is not theirs: they draw
    on their credit owner's credits (seed 001), so the walk starts at the owner's organisation and
    a relation told from there ("a sibling") would not name the cause. None for any other credit."""
    assert r.own_organisation is not None
    levels = dict(tree.chain(r.own_organisation)).get(holder)
    if levels is None:
        return None
    mine = f"user `{r.asked_by}`'s organisation"
    relation = (
        mine
        if levels == 0
        else f"the parent of {mine} `{r.own_organisation}`"
        if levels == 1
        else f"an ancestor of {mine} `{r.own_organisation}` ({levels} levels up)"
    )
    facts = {"holder": holder, "relation": relation, "user": r.asked_by, "owner": r.user}
    return Reason("owner_credits_only", {**facts, "organisation": r.organisation})


def _unusable(items: Sequence[tuple[CreditFact, int]], remaining: Mapping[str, Decimal], day: date) -> dict[str, Any]:
    """For a refusal: the candidates (of its type, its tree, in precedence order) that could not pay
    on `day`, used up or not active, as facts of the refusal (`used_up`, `expired`, `not_started`;
    those passed for their criteria or scope are named by `_excluded`). Until 2026-12-02 a refusal
    said only "no credit can pay for it"; the credits' states were told by `--explain` alone."""
    used_up: list[str] = []
    expired: dict[str, str] = {}
    not_started: dict[str, str] = {}
    for c, _ in items:
        if c.end is not None and c.end < day:
            expired[c.code] = c.end.isoformat()
        elif c.start is not None and c.start > day:
            not_started[c.code] = c.start.isoformat()
        elif remaining[c.code] <= 0:
            used_up.append(c.code)
    facts: dict[str, Any] = {}
    if used_up:
        facts["used_up"] = used_up
    if expired:
        facts["expired"] = expired
    if not_started:
        facts["not_started"] = not_started
    return facts


def _unusable_words(facts: Mapping[str, Any]) -> str:
    """A refusal's `_unusable` facts in words: ` (used up `a`; expired `b` on 2015-06-30)`, or nothing."""
    parts = []
    if "used_up" in facts:
        parts.append("used up " + ", ".join(f"`{c}`" for c in facts["used_up"]))
    if "expired" in facts:
        parts.append("expired " + ", ".join(f"`{c}` on {d}" for c, d in facts["expired"].items()))
    if "not_started" in facts:
        parts.append("not started " + ", ".join(f"`{c}` (from {d})" for c, d in facts["not_started"].items()))
    words = f" ({'; '.join(parts)})" if parts else ""
    if "no_overdraft" in facts:
        policies = facts["no_overdraft"]
        words += "; " + ", ".join(f"policy `{p}` of `{t}`" for t, p in policies.items())
        words += " allows no overdraft" if len(policies) == 1 else " allow no overdraft"
    return words


AlertLines = tuple[tuple[Decimal, str, str, Source | None], ...]  # (line, alert code, policy, its rule)


def _crossed(lines: AlertLines, c: CreditFact, r: Request, was: Decimal, left: Decimal) -> tuple[Reason, ...]:
    """An alert for every line a draw took the credit across downwards: at or above it before,
    below it after (as a balance's alerts, SPEC 3.7). A credit's own remaining is its balance."""
    found: tuple[Reason, ...] = ()
    for line, code, policy, source in lines:
        if was >= line > left:
            facts = {
                "credit": c.code,
                "request": r.id,
                "before": plain(was),
                "remaining": plain(left),
                "policy": policy,
            }
            if code == "credit_below_threshold":
                facts["threshold"] = plain(line)
            found += (Reason(code, facts, source),)
    return found


def _overdrawn(
    book: Book, r: Request, items: Sequence[tuple[CreditFact, int]], picks: Sequence[tuple[CreditFact, Decimal]]
) -> CreditFact | None:
    """The credit a consumption the candidates cannot cover overdraws, if its policy allows: the
    last credit drawn whose type's policy allows overdraft; when none is, the last candidate in
    precedence order of such a type that is active, in scope and whose criteria hold, even used
    up (a balance at zero may still go below it, as in seed 004). A credit of a type without
    such a policy never goes below zero."""
    allows = r.overdraft or {}
    for c, _ in reversed(picks):
        if c.type in allows:
            return c
    for c, _ in reversed(items):
        if c.type in allows and _active(c, r.day) and _in_scope(c, r) and book._hold(c, r):
            return c
    return None


def _active(c: CreditFact, day: date) -> bool:
    return (c.start is None or c.start <= day) and (c.end is None or c.end >= day)


def _outside_scope(c: CreditFact, r: Request, named: bool = False) -> Reason:
    """Why `c`'s scope leaves `r` out; `named`: the reason names the credit (in a refusal's list)."""
    scope = " and ".join(
        part
        for part in (
            f"services {', '.join(c.services)}" if c.services else "",
            f"products {', '.join(c.products)}" if c.products else "",
        )
        if part
    )
    # the part of the consumption that is out of scope (a service inside it, a product outside it:
    # the product; until 2026-12-02 the service was named whenever the scope had services)
    service_out = bool(c.services) and r.service not in c.services
    actual = (
        (f"service {r.service}" if r.service else "for no service named")
        if service_out
        else (f"product {r.product}" if r.product else "for no product named")
    )
    facts = {"credit": c.code, "scope": scope, "actual": actual} if named else {"scope": scope, "actual": actual}
    return Reason("outside_scope", facts)


def _in_scope(c: CreditFact, r: Request) -> bool:
    if c.services and r.service not in c.services:
        return False
    return not (c.products and r.product not in c.products)


def _utc_day(at: datetime) -> date:
    """The UTC date of an aware date-time; its own date where UTC leaves the calendar (the first
    or last hours of years 1 and 9999)."""
    try:
        return at.astimezone(UTC).date()
    except OverflowError:
        return at.date()


def moment(at: datetime) -> datetime:
    """A comparable instant: date-times without a zone are taken as UTC (README, Time)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def run(book: Book, requests: Iterable[Request], explain: bool = False) -> list[Outcome]:
    """Apply requests in time order (ties: input order); each sees what the earlier ones left."""
    ordered = sorted(enumerate(requests), key=lambda item: (item[1].at, item[0]))
    return [book.apply(r, explain) for _, r in ordered]


# --- from rules and a scenario ---------------------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    """A credit purchase: made by `user`, billed to them, the credit assigned to `owner`."""

    id: str
    user: str
    owner: str
    credit: str


@dataclass(frozen=True)
class CreditsResult:
    """The credits part of a decision: outcomes in the order applied, purchases, the book."""

    outcomes: tuple[Outcome, ...]
    purchases: tuple[Purchase, ...]
    credits: tuple[CreditFact, ...]
    remaining: Mapping[str, Decimal]
    ledger: tuple[LedgerEntry, ...]
    owners: tuple[tuple[str, tuple[str, ...]], ...]  # owner → credit users (the owner's usage view)


class _Kind(NamedTuple):
    """What the requests for one set of credit types read of the types, worked out once per rule
    set: the types sorted, {type: the balance policy letting it overdraw} or None when none may,
    (type, unit its quantities count) of each, and whether any counts offers (whole numbers)."""

    ordered: tuple[str, ...]
    overdraft: Mapping[str, str] | None
    units: tuple[tuple[str, str], ...]
    offers: bool


@dataclass(frozen=True)
class _Setting:
    """What depends on the rule set only: computed once per RuleSet."""

    tree: Tree
    types: Mapping[str, Any]
    by_service: Mapping[str, frozenset[str]]
    users: Mapping[str, Any]
    credits: Mapping[str, CreditFact]
    order: tuple[str, ...]
    overdraft: Mapping[str, str]  # credit type → policy allowing overdraft
    type_criteria: Mapping[str, tuple[int, ...]]  # credit type → its criteria (credit_entries indices)
    book: Shared  # the rule set's credits indexed for a book
    singles: Mapping[str, frozenset[str]]  # credit type → the set of it alone (a request's `types`)
    #: types → what a request asking for them reads of them (`_Kind`)
    kinds: dict[frozenset[str], _Kind]
    alert_lines: Mapping[str, AlertLines]  # credit type → its policy's alert lines
    strict: Mapping[str, str]  # credit type → the policy it names, when that policy allows no overdraft
    #: credit owner → the owner and the users whose credits they own, in order (the usage view)
    views: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: the rule set's products (a scenario credit's `scope.products` names them)
    products: frozenset[str] = frozenset()


def setting(rules: Any) -> _Setting:
    cache = rules.__dict__.setdefault("_evaluators", {})  # frozen dataclass: cache beside the fields
    if "credits" not in cache:
        types = rules.models("credit_type")
        by_service: dict[str, set[str]] = {}
        for code, t in types.items():
            if t.service:
                by_service.setdefault(t.service, set()).add(code)
        users = rules.models("user")
        policies = rules.models("balance_policy")
        overdraft = {
            code: t.overdraft_policy
            for code, t in types.items()
            if t.overdraft_policy and policies.get(t.overdraft_policy) and policies[t.overdraft_policy].overdraft
        }
        strict = {
            code: t.overdraft_policy
            for code, t in types.items()
            if t.overdraft_policy and policies.get(t.overdraft_policy) and not policies[t.overdraft_policy].overdraft
        }
        alert_lines: dict[str, AlertLines] = {}
        for code, t in types.items():
            policy = policies.get(t.overdraft_policy) if t.overdraft_policy else None
            if policy is not None:
                rule = rules.catalog["credit_type"][code].document  # where the type names its policy
                at = rule.locate(("overdraft_policy",))
                lines: list[tuple[Decimal, str, str, Source | None]] = [
                    (Decimal(0), "credit_below_zero", policy.code, Source(rule.file, at.line, at.column))
                ]
                if policy.alerts.enabled and policy.alerts.threshold is not None:
                    doc = rules.catalog["balance_policy"][policy.code].document
                    at = doc.locate(("alerts", "threshold"))
                    lines.append(
                        (
                            policy.alerts.threshold,
                            "credit_below_threshold",
                            policy.code,
                            Source(doc.file, at.line, at.column),
                        )
                    )
                alert_lines[code] = tuple(sorted(lines, key=lambda line: -line[0]))
        program = rules.criteria
        by_owner: Mapping[str, list[int]] = program.credit_by_owner if program is not None else {}
        type_criteria = {code: tuple(by_owner.get(f"credit_type:{code}", ())) for code in types}
        credits = {}
        for code, entry in sorted(rules.catalog.get("credit", {}).items()):
            doc = entry.document
            span = doc.locate(())
            own = tuple(by_owner.get(f"credit:{code}", ()))
            credits[code] = fact(
                entry.model,
                types,
                users,
                Source(doc.file, span.line, span.column),
                type_criteria[entry.model.type] + own,
            )
        settings = rules.settings
        order = tuple(k.value for k in settings.credit_precedence) if settings is not None else DEFAULT_ORDER
        tree = Tree({code: o.parent for code, o in rules.models("organisation").items()})
        indexed = Book(list(credits.values()), tree, order)  # `credits` is in code order
        cache["credits"] = _Setting(
            tree,
            types,
            {s: frozenset(c) for s, c in by_service.items()},
            users,
            credits,
            order,
            overdraft,
            type_criteria,
            Shared(tuple(indexed.credits), indexed.remaining, indexed._by_holder, indexed._key),
            {code: frozenset([code]) for code in types},
            {},
            alert_lines,
            strict,
            products=frozenset(rules.models("product")),
        )
    found: _Setting = cache["credits"]
    return found


def fact(
    model: Any,
    types: Mapping[str, Any],
    users: Mapping[str, Any],
    source: Source | None,
    criteria: tuple[int, ...] = (),
) -> CreditFact:
    """A rule-file or scenario credit as the allocator sees it (references already checked);
    `criteria`: its type's and its own credit criteria."""
    credit_type = types[model.type]
    period = model.usage_period
    shared = credit_type.shared_on_issue or model.allocation.value == "all_organisations"
    scope = model.scope
    written = model.issued
    if getattr(model, "issued_at", None) is not None:  # a scenario credit issued at an instant: as a purchase's
        at = moment(model.issued_at)
        issued, issued_at = _utc_day(at), at
        # usable from its usage period's start and from the instant itself (`evaluate` issues it
        # then when the scenario's stream starts earlier), so no day gates it
        start = period.from_ if period else None
    else:
        # no issue date written (SPEC 3.6 lists none): issued when its usage period starts, else at
        # the calendar's first day (usable from then on, and first among credits tied on what comes
        # before); usable from its usage period's start, never before it is issued
        issued, issued_at = written or (period.from_ if period else date.min), None
        start = max(period.from_, issued) if period else issued
    return CreditFact(
        code=model.code,
        type=model.type,
        quantity=model.quantity,
        start=start,
        end=period.to if period and credit_type.expires else None,
        holder=model.holder,
        issued=issued,
        own_only=not shared,
        holder_user=model.holder in users,
        priority=model.priority,
        services=tuple(scope.services) if scope else (),
        products=tuple(scope.products) if scope else (),
        source=source,
        criteria=criteria,
        issued_at=issued_at,
    )


def owner_of(users: Mapping[str, Any], code: str) -> str:
    """The user whose credits `code` consumes: their credit owner, or themselves."""
    owner = users[code].credit_owner
    return owner if owner not in (None, code) and owner in users else code


def _unknown(field: str, what: str, code: str, known: Iterable[str], code_id: str = "BR605") -> ScenarioError:
    from engine.diagnostics import did_you_mean

    hint = did_you_mean(code, known) or f"use {'an' if what[0] in 'aeio' else 'a'} {what} of the rule set"  # ("a user")
    return ScenarioError(field, f"unknown {what} `{code}`", hint, code=code_id)


def scenario_credits(s: _Setting, scenario: Any, problems: list[ScenarioError]) -> dict[str, CreditFact]:
    """The rule set's credits with the scenario's current credits on top (same code: replaced).
    A scenario credit restating a rule-file credit keeps that credit's own `criteria`, which a
    scenario cannot write (until 2026-12-04 they were dropped: a weekday-only credit restated
    with its quantity left was drawn on a Saturday).

    Scenario credits get the rule-file checks and codes: BR301, BR302, BR413, BR420. Every
    problem is added to `problems` (all of them, not only the first); a credit with a problem is
    left out."""
    credits = dict(s.credits)
    seen: set[str] = set()
    for i, c in enumerate(scenario.credits):
        found = list(_credit_problems(s, c, f"credits[{i}]", seen))
        seen.add(c.code)
        problems.extend(found)
        if not found:
            restated = s.credits.get(c.code)
            # a rule credit's criteria are its type's, then its own (`_setting`)
            own = restated.criteria[len(s.type_criteria[restated.type]) :] if restated is not None else ()
            credits[c.code] = fact(c, s.types, s.users, None, s.type_criteria[c.type] + own)
    return credits


def _issued_at_after_period(at: datetime, to: date, where: str) -> Iterator[ScenarioError]:
    """BR413 for a scenario credit issued at an instant after its usage period ends, worded as a
    purchase's period is checked: the day compared is the instant's day as written, or its UTC day
    when that is earlier, and the message names it."""
    local, utc = at.date(), _utc_day(moment(at))
    day = min(local, utc)
    if to < day:
        named = f"{utc} in UTC; {local} where it was issued" if utc < local else f"{local}"
        yield ScenarioError(
            where,
            f"the credit is issued at {at.isoformat()} ({named}), after its usage period ends ({to}): it could "
            "never be drawn",
            f"end the usage period on {day} or later, or fix `issued_at`",
            code="BR413",
        )


def _credit_problems(s: _Setting, c: Any, where: str, seen: set[str]) -> Iterator[ScenarioError]:
    if c.code in seen:
        yield ScenarioError(
            f"{where}.code",
            f"two scenario credits share the code `{c.code}`",
            "give one another code",
            code="BR301",
        )
    if c.type not in s.types:
        yield _unknown(f"{where}.type", "credit_type", c.type, s.types, "BR302")
    if c.holder not in s.tree.parent and c.holder not in s.users:
        yield _unknown(f"{where}.holder", "organisation or user", c.holder, [*s.tree.parent, *s.users], "BR302")
    elif c.holder in s.tree.parent and c.holder in s.users:
        yield ScenarioError(
            f"{where}.holder",
            f"holder `{c.holder}` is both an organisation and a user of the rule set: the credit's holder is unclear",
            "give the organisation or the user another code, and name the one that holds the credit",
            code="BR304",
        )
    p = c.usage_period
    if p is not None and p.to is not None and p.to < p.from_:
        yield ScenarioError(
            f"{where}.usage_period.to",
            f"usage period ends ({p.to}) before it starts ({p.from_})",
            "swap the dates or fix the year",
            code="BR413",
        )
    if p is not None and p.to is not None and c.issued is not None and c.issued > p.to:
        yield ScenarioError(f"{where}.issued", *issued_after_period(c.issued, p.to), code="BR413")
    if c.issued is not None and c.issued_at is not None:
        yield ScenarioError(
            f"{where}.issued_at",
            "a credit is issued on a day (`issued`) or at an instant (`issued_at`), not both",
            "keep `issued_at` for a credit bought by a purchase (its purchase's `at`), `issued` otherwise",
            code="BR413",
        )
    elif p is not None and p.to is not None and c.issued_at is not None:
        yield from _issued_at_after_period(c.issued_at, p.to, f"{where}.issued_at")
    if c.type in s.types:
        for field, message, hint in credit_type_conflicts(c, s.types[c.type]):
            yield ScenarioError(f"{where}.{field}", message, hint, code="BR420")
        if c.quantity < 0 and c.type not in s.overdraft:
            yield _overdrawn_without_policy(s, c, f"{where}.quantity")
    if c.scope is not None:
        yield from _scope_problems(s, c, where)
    held = None if c.holder in s.tree.parent else credit_holder_conflict(c, s.users)  # (an organisation: BR304 above)
    if held is not None:
        yield ScenarioError(f"{where}.holder", *held, code="BR412")


def _overdrawn_without_policy(s: _Setting, c: Any, field: str) -> ScenarioError:
    """BR420 for a scenario credit whose quantity left is below zero while its type may not go
    there: its type names no `overdraft_policy`, or one that allows no overdraft (SPEC 3.7: "the
    balance may go negative unless the policy forbids it"). A quantity left of 0 (used up) is any
    credit's state, and one below zero a fact where the type's policy allows overdraft, as an
    opening balance below zero is (until 2026-12-04 both were BR602 "must be more than 0")."""
    policy = s.strict.get(c.type)
    why = (
        f"policy `{policy}` of credit type `{c.type}` allows no overdraft"
        if policy is not None
        else f"credit type `{c.type}` names no `overdraft_policy` that allows overdraft"
    )
    return ScenarioError(
        field,
        f"quantity left {plain(c.quantity)} is below zero, but {why}: its credits never go below zero",
        "write the quantity left, 0 or more (0: used up)",
        code="BR420",
    )


def _scope_problems(s: _Setting, c: Any, where: str) -> Iterator[ScenarioError]:
    """A scenario credit's `scope` checked as a rule file's is (`semantics.check_credit_service_names`,
    the reference stage): BR302 for a service no credit type pays for or an unknown product, BR413
    for services that leave out the one its type pays for (the credit could never be drawn)."""
    services = sorted({t.service for t in s.types.values() if t.service})
    open_services = any(t.service is None for t in s.types.values())  # a type naming none: any service
    named = c.scope.services
    own_type = s.types.get(c.type)
    paid = own_type.service if own_type is not None else None
    if paid is not None and named and paid not in named and all(x in services for x in named):
        yield ScenarioError(
            f"{where}.scope.services",
            f"the credit's type `{c.type}` pays for `{paid}`, which these services leave out: no consumption can meet it",
            f"list `{paid}`, or give the credit a type that pays for the service",
            code="BR413",
        )
    for i, service in enumerate(named):
        if service not in services and not open_services:
            yield _unknown(f"{where}.scope.services[{i}]", "service", service, services, "BR302")
    for i, product in enumerate(c.scope.products):
        if product not in s.products:
            yield _unknown(f"{where}.scope.products[{i}]", "product", product, s.products, "BR302")


#: the fields of a consumption `request` reads
_CONSUMPTION_FIELDS = (
    "id",
    "organisation",
    "user",
    "credit_type",
    "service",
    "product",
    "quantity",
    "unit",
    "at",
    "method",
    "device",
    "source_category",
    "destination_category",
)


def request(s: _Setting, c: Any, i: int) -> Request:
    """A scenario consumption resolved against the rules (BR605 unknown names, BR606 unit): `c`
    is any object with a consumption's fields as attributes (`evaluate` hands a scenario model's
    own mapping to `resolved`)."""
    return resolved(s, {name: getattr(c, name) for name in _CONSUMPTION_FIELDS}, i)


def resolved(s: _Setting, fields: Mapping[str, Any], i: int) -> Request:
    """`request` of a consumption's `fields`, read as a mapping (the module's docstring): each once."""
    credit_type, asked, unit = fields["credit_type"], fields["service"], fields["unit"]
    quantity, product = fields["quantity"], fields["product"]
    if credit_type is not None:
        if credit_type not in s.types:
            raise _unknown(f"consumptions[{i}].credit_type", "credit type", credit_type, s.types)
        types = s.singles[credit_type]
        wanted = f"`{credit_type}`"
        service = s.types[credit_type].service
        if asked is not None and service is not None and asked != service:
            raise ScenarioError(
                f"consumptions[{i}].service",
                f"credit type `{credit_type}` pays for `{service}`, not `{asked}`",
                "ask for the credit type or for the service, not for both",
                code="BR605",
            )
        service = asked or service
    else:
        if asked not in s.by_service:
            raise _unknown(f"consumptions[{i}].service", "service", asked, s.by_service)
        types = s.by_service[asked]
        wanted = f"service `{asked}`"
        service = asked
    kind = s.kinds.get(types)
    if kind is None:
        kind = _kind(s, types)
        if len(s.kinds) < 4096:  # the rule set's types and services: few
            s.kinds[types] = kind
    if unit is not None:
        for t, counted in kind.units:
            if counted != unit:
                raise ScenarioError(
                    f"consumptions[{i}].unit",
                    f"the consumption is in `{unit}`, credits of type `{t}` count `{counted}`",
                    f"write the quantity in `{counted}`",
                    code="BR606",
                )
    if kind.offers and quantity != quantity.to_integral_value():
        raise _not_whole(f"consumptions[{i}].quantity", quantity)
    organisation, user, asked_by, own = fields["organisation"], None, fields["user"], None
    if organisation is not None and organisation not in s.tree.parent:
        raise _unknown(f"consumptions[{i}].organisation", "organisation", organisation, s.tree.parent)
    if product is not None and product not in s.products:  # (until 2026-12-02 read as some other
        # product: a credit scoped to the product was passed over, another one drawn, in silence)
        raise _unknown(f"consumptions[{i}].product", "product", product, s.products)
    if asked_by is not None:
        if asked_by not in s.users:
            raise _unknown(f"consumptions[{i}].user", "user", asked_by, s.users)
        user = owner_of(s.users, asked_by)
        home = s.users[user].organisation
        own = s.users[asked_by].organisation  # a credit user's own organisation (their owner's may differ)
        if organisation is not None and own is not None and own != organisation:
            raise ScenarioError(
                f"consumptions[{i}].organisation",
                f"user `{asked_by}` belongs to `{own}`, not `{organisation}`",
                "give the user or the organisation, or fix one of them",
                code="BR605",
            )
        organisation = home if user != asked_by or organisation is None else organisation
    at = fields["at"]
    return Request(
        id=fields["id"],
        organisation=organisation,
        user=user,
        types=types,
        quantity=quantity,
        at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),  # `moment`
        day=at.date(),
        service=service,
        product=product,
        overdraft=kind.overdraft,
        asked_by=asked_by,
        wanted=wanted,
        credit_type=credit_type,
        unit=unit,
        usage=_usage(fields),
        own_organisation=own if user != asked_by and own != organisation else None,
    )


def _kind(s: _Setting, types: frozenset[str]) -> _Kind:
    ordered = tuple(sorted(types))
    return _Kind(
        ordered,
        {t: s.overdraft[t] for t in ordered if t in s.overdraft} or None,
        tuple((t, credit_unit(s.types[t])) for t in ordered),
        any(_counts_offers(s.types[t]) for t in ordered),
    )


def _usage(fields: Mapping[str, Any]) -> UsageAttributes:
    """The usage attributes written with a consumption (its `fields`, read as a mapping: the one
    empty record when it writes none)."""
    method, device = fields["method"], fields["device"]
    source, destination = fields["source_category"], fields["destination_category"]
    if method is None and device is None and source is None and destination is None:
        return _NO_USAGE
    return UsageAttributes(method, device, source, destination)


def evaluate(rules: Any, scenario: Any, explain: bool = False) -> CreditsResult:
    """Allocate the scenario's consumptions (and purchases) with the rule set's credits."""
    s = setting(rules)
    problems: list[ScenarioError] = []  # every problem of the scenario's credit facts, reported together
    fields = scenario.__dict__  # (read as a mapping: the module's docstring)
    given, bought = fields["credits"], fields["credit_purchases"]
    credits = scenario_credits(s, scenario, problems) if given else s.credits  # (only read)
    seen: set[str] = set()
    requests: list[Request] = []
    for i, c in enumerate(fields["consumptions"]):
        code = c.id
        if code in seen:
            problems.append(
                ScenarioError(
                    f"consumptions[{i}].id",
                    f"two consumptions share the id `{code}`",
                    "give each request its own id",
                    code="BR605",
                )
            )
        seen.add(code)
        try:
            requests.append(resolved(s, c.__dict__, i))
        except ScenarioError as exc:  # one problem per consumption: its later checks depend on it
            problems.append(exc)
    # (the stream as events, when purchases or scenario credits join the consumptions: else the
    # consumptions alone, listed as events only when they must be sorted)
    events: list[tuple[datetime, int, int, Any]] | None = None
    if bought or given:
        events = _events(requests)
    for i, p in enumerate(bought):
        found = list(_purchase_problems(s, p, f"credit_purchases[{i}]", credits))
        if p.id in seen:  # the ledger names purchases and consumptions alike: one id, one event
            found.append(
                ScenarioError(
                    f"credit_purchases[{i}].id",
                    f"the id `{p.id}` is already another purchase's or a consumption's",
                    "give each purchase and each consumption its own id",
                    code="BR605",
                )
            )
        seen.add(p.id)
        problems.extend(found)
        if not found:
            assert events is not None
            events.append((moment(p.at), 0, i, p))
    program = rules.criteria
    checker = (
        CreditCriteria(program, s.tree, fields["as_of"]) if program is not None and program.credit_entries else None
    )
    later = _issued_later(scenario, credits, events, seen, problems) if events is not None and given else set()
    if problems:
        raise ScenarioError.of(problems)
    if given:
        book = Book([credits[c] for c in sorted(credits) if c not in later], s.tree, s.order, checker)
    else:  # the rule set's credits alone: indexed once per rule set
        book = Book.lent(s.book, s.tree, s.order, checker)
    book.alert_lines = s.alert_lines
    book.strict = s.strict
    outcomes: list[Outcome] = []
    purchases: list[Purchase] = []
    if (events is None or len(events) == len(requests)) and _in_time_order(requests):
        # consumptions alone, written in order: the order `_event_order` gives them (input order)
        events = []
        outcomes = [book.apply(r, explain) for r in requests]
    elif events is None:
        events = _events(requests)
    for at, kind, _, item in sorted(events, key=_event_order):
        if kind == 1:
            outcomes.append(book.apply(item, explain))
            continue
        if isinstance(item, CreditFact):  # a scenario credit issued after the stream starts
            book.issue(item, at, item.code)
            continue
        owner = owner_of(s.users, item.user)
        t = s.types[item.credit_type]
        period = item.usage_period
        credit = CreditFact(
            code=item.id,
            type=item.credit_type,
            quantity=item.quantity,
            # usable from the purchase itself: issued at its instant, in time order with the
            # consumptions, so no day (a local date, which another offset may put later) gates it
            start=period.from_ if period else None,
            end=period.to if period and t.expires else None,
            holder=owner,
            # "earlier issue": a purchase is issued at its instant, a credit of the rules at the start
            # of its `issued` day (UTC, as a date-time without an offset is read): by the instant's UTC
            # day, then the instant, so purchases rank in the order they were bought whatever the
            # offsets they are written in (the local date put 01:00+09:00 after 22:00-05:00 the day before)
            issued=_utc_day(at),
            issued_at=at,  # (`moment`: aware)
            own_only=not t.shared_on_issue,  # the owner's own, as a credit the owner holds is
            holder_user=True,
            criteria=s.type_criteria[item.credit_type],
        )
        book.issue(credit, at, item.id)
        purchases.append(Purchase(item.id, item.user, owner, item.id))
    views = _views(s, scenario)
    return CreditsResult(
        outcomes=tuple(outcomes),
        purchases=tuple(purchases),
        # (the book is this decision's alone and dropped here: its own mapping, not a copy)
        credits=book.shared.credits if book.shared is not None else tuple(book.credits),
        remaining=book.remaining,
        ledger=tuple(book.ledger),
        owners=views,
    )


_event_order = itemgetter(0, 1, 2)  # time, purchases before consumptions, input order


def _events(requests: Sequence[Request]) -> list[tuple[datetime, int, int, Any]]:
    """The consumptions as events of the stream (`_event_order`)."""
    return [(r.at, 1, i, r) for i, r in enumerate(requests)]


def _in_time_order(requests: Sequence[Request]) -> bool:
    """True when no request is earlier than one before it: then `_event_order` keeps them as
    they are (ties in input order), and sorting them is skipped."""
    at = None
    for r in requests:
        if at is not None and r.at < at:
            return False
        at = r.at
    return True


def _views(s: _Setting, scenario: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The owners of the consumers named (users of consumptions, buyers of purchases), each with
    the users whose credits they own, by owner."""
    consumers = {c.user for c in scenario.consumptions if c.user}
    for p in scenario.credit_purchases:
        consumers.add(p.user)
    if not consumers:
        return ()
    owners = sorted({owner_of(s.users, u) for u in consumers})
    return tuple((o, s.views.get(o) or _view(s, o)) for o in owners)


def _view(s: _Setting, owner: str) -> tuple[str, ...]:
    """The owner and the users whose credits `owner` owns, in order: kept per rule set (users
    are the rule set's)."""
    found = s.views[owner] = tuple(sorted({owner} | {u for u in s.users if owner_of(s.users, u) == owner}))
    return found


def _counts_offers(t: Any) -> bool:
    return bool(t.measure.value == "offers")


def _not_whole(field: str, quantity: Decimal) -> ScenarioError:
    return ScenarioError(
        field, f"{quantity} offers: offers are counted in whole numbers", "write a whole number", code="BR606"
    )


def _purchase_problems(s: _Setting, p: Any, where: str, credits: Mapping[str, Any]) -> Iterator[ScenarioError]:
    if p.user not in s.users:
        yield _unknown(f"{where}.user", "user", p.user, s.users)
    if p.credit_type not in s.types:
        yield _unknown(f"{where}.credit_type", "credit type", p.credit_type, s.types)
    elif _counts_offers(s.types[p.credit_type]) and p.quantity != p.quantity.to_integral_value():
        yield _not_whole(f"{where}.quantity", p.quantity)
    yield from _purchase_period_problems(s, p, where)
    if p.id in credits:
        yield ScenarioError(
            f"{where}.id",
            f"the purchase id `{p.id}` is already a credit's code",
            "give the purchase another id",
            code="BR605",
        )


def _purchase_period_problems(s: _Setting, p: Any, where: str) -> Iterator[ScenarioError]:
    """A purchase's `usage_period` checked as a credit's is (BR413, BR420), and one that ends
    before the purchase (BR413): the user would be billed for credits nobody can ever draw."""
    period = p.usage_period
    if period is None or period.to is None:
        return
    credit_type = s.types.get(p.credit_type)
    if credit_type is not None and not credit_type.expires:
        yield ScenarioError(
            f"{where}.usage_period.to",
            f"credits of type `{credit_type.code}` never expire; remove the end of the usage period",
            "remove `to:`",
            code="BR420",
        )
    elif period.from_ is not None and period.to < period.from_:
        yield ScenarioError(
            f"{where}.usage_period.to",
            f"usage period ends ({period.to}) before it starts ({period.from_})",
            "swap the dates or fix the year",
            code="BR413",
        )
    elif period.to < min(local := p.at.date(), utc := _utc_day(moment(p.at))):  # (its day as written, or in UTC)
        # the day compared is named (until 2026-12-04 "before the purchase (2015-06-01)" for a
        # purchase whose UTC date, the day compared, is 2015-05-31)
        day = min(local, utc)
        named = f"{utc} in UTC; {local} where it was made" if utc < local else f"{local}"
        yield ScenarioError(
            f"{where}.usage_period.to",
            f"usage period ends ({period.to}) before the purchase's day ({named}): the credits bought could "
            "never be used",
            f"end the usage period on {day} or later, or fix the purchase's date",
            code="BR413",
        )


def credits_json(result: CreditsResult, explain: bool = False) -> dict[str, Any]:
    """The decision's `credits` part: deterministic, quantities as plain text (README "Credits")."""
    allocations = []
    refused = []
    alerts: list[dict[str, Any]] = []
    passed_over: list[dict[str, Any]] = []
    for o in result.outcomes:
        r = o.request
        if o.excluded and o.refusal is None:  # credits ranked before those drawn, but for their criteria
            passed_over.append({"request": r.id, "reasons": [reason.once() for reason in o.excluded]})
        if o.alerts:
            alerts.extend(reason.once() for reason in o.alerts)
        for d in o.draws:
            allocations.append({"request": r.id, "credit": d.credit, "quantity": plain(d.quantity), "rank": d.rank})
        if o.refusal is not None:  # reasons made for this decision: written once, no record kept
            reasons = [o.refusal.once(), *(reason.once() for reason in o.excluded)]
            refused.append({"request": r.id, "quantity": plain(r.quantity), "reasons": reasons})
        if o.note is not None:  # on the draw of the credit overdrawn (`_overdrawn`)
            overdrawn = o.note.facts["credit"]
            next(a for a in reversed(allocations) if a["credit"] == overdrawn)["reasons"] = [o.note.once()]
    drawn: dict[str, Decimal] = {}
    ledger = []
    at: Any = None
    at_text = ""
    #: credit → its last entry's `remaining`, as written: what is left of it (every change of what is
    #: left is an entry, `Book`), so the credits the ledger touches and their texts at once
    left: dict[str, str] = {}
    for e in result.ledger:
        if e.quantity < 0 and not e.issue:  # (a scenario credit overdrawn, issued during the stream: not drawn)
            drawn[e.credit] = drawn.get(e.credit, _ZERO) - e.quantity
        if e.at is not at:  # a request's draws share its time: written once
            at, at_text = e.at, e.at.isoformat()
        left[e.credit] = text = plain(e.remaining)
        ledger.append(
            {"at": at_text, "credit": e.credit, "request": e.request, "quantity": plain(e.quantity), "remaining": text}
        )
    touched = [c for c in result.credits if c.code in left]
    touched.sort(key=_CODE)  # (stable: as sorting all)
    remaining = [
        {
            "credit": c.code,
            "type": c.type,
            "issued": plain(c.quantity),
            "drawn": plain(drawn.get(c.code, _ZERO)),
            "remaining": left[c.code],
        }
        for c in touched
    ]
    part: dict[str, Any] = {
        "allocations": allocations,
        "refused": refused,
        "remaining": remaining,
        "ledger": ledger,
        "alerts": alerts,
    }
    if passed_over:
        part["passed_over"] = passed_over
    if result.purchases:
        part["purchases"] = [
            {"purchase": p.id, "user": p.user, "assigned_to": p.owner, "billed_to": p.user, "credit": p.credit}
            for p in result.purchases
        ]
    if result.owners:
        by_user = sorted(_drawn_by(result, touched).items())
        part["owners"] = [
            {
                "owner": owner,
                "users": [
                    {
                        "user": u,
                        "drawn": [{"credit_type": t, "quantity": plain(q)} for (who, t), q in by_user if who == u],
                    }
                    for u in users
                ],
            }
            for owner, users in result.owners
        ]
    if explain:
        part["why"] = [
            {
                "request": o.request.id,
                "credits": [{"credit": code, "verdict": reason.once()} for code, reason in o.verdicts],
            }
            for o in result.outcomes
        ]
    return part


_ZERO = Decimal(0)


_CODE = attrgetter("code")  # a credit's code (a sort key)


def _drawn_by(result: CreditsResult, touched: Sequence[CreditFact]) -> dict[tuple[str, str], Decimal]:
    """(consuming user as written, or "", credit type) → quantity drawn, for the owners' view.
    `touched`: the credits with a ledger entry (every credit drawn), in code order and, for a
    code issued twice, in the book's order (`credits_json`)."""
    type_of: dict[str, str] = {}
    for c in touched:
        type_of.setdefault(c.code, c.type)  # the first credit of a code, as a search in order finds
    drawn_by: dict[tuple[str, str], Decimal] = {}
    for o in result.outcomes:
        who = o.request.asked_by or ""
        for d in o.draws:
            key = (who, type_of[d.credit])
            drawn_by[key] = drawn_by.get(key, Decimal(0)) + d.quantity
    return drawn_by
