"""A customer's credit balance (SPEC 3.7, seed 004): grants, withdrawals, debits, refunds, alerts.

Events are applied in time order (events at the same instant keep the order they were written).

- `grant` adds credits; `withdraw` removes them (an administrator's correction);
- `debit` takes a service request's price; a request is debited once (a second debit of a
  request already debited is refused: `debit_repeated`);
- `refund` returns exactly what was debited for its request, once: the request was cancelled,
  failed or rejected (its `reason`, required). The debit decides the amount; a refund may name
  it, and one naming another is refused (`refund_amount_differs`); a second refund
  (`refund_repeated`) or a refund of a request with no debit before it (`refund_without_debit`)
  is refused with a reason, and the balance is unchanged;
- the balance may go below zero unless the policy sets `overdraft: false`: then a debit *or a
  withdrawal* whose balance after would be below zero is refused whole (`overdraft_refused`).
  A balance of exactly zero is allowed.
- `balance.debits` carries the requests debited before this scenario (already counted in the
  opening), each with its amount and whether it was refunded: a refund here returns such a debit
  once, a debit of such a request is `debit_repeated`, a refund of one refunded before is
  `refund_repeated`. The decision's `debits` (those carried in, in the order given, then this
  scenario's, in ledger order) are the next scenario's: a stream decided whole equals its first
  part decided, then the rest with the first part's `closing` and `debits` (tested on random streams).

Alerts fire when the balance *crosses* a line downwards — from at or above it to below it
(strictly: `balance < line`, so a balance of exactly 0 or exactly the threshold raises nothing):
`balance_below_zero` always, `balance_below_threshold` when the policy's alerts are enabled.
Each names the event that crossed. While the balance stays below, nothing more fires; an event
bringing it back to the line or above (a grant or refund) re-arms the alert. An opening balance
already below a line raises nothing (no event crossed it in this scenario) but the line is not
armed until the balance comes back up. One event crossing both lines raises both, the higher
line first.

Fields read as a mapping: an event's fields (some six per event, read by `_well_formed` and by
`_Book.apply`) are read from the model's `__dict__` (`fields["amount"]`: pydantic keeps every
field there, the same values), as `decision` does and for the reason its module docstring gives.

Every movement is a ledger entry; totals are derived from the ledger, so
`opening + grants - withdrawals - debits + refunds = closing` by construction, and the tests
check it on random event streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from engine.decide.reasons import Reason, Source, register
from engine.decide.scenarios import ScenarioError
from engine.models.credits import BalancePolicy
from engine.models.scenario import Balance, BalanceDebit, BalanceEvent, BalanceEventType, RefundReason
from engine.values import plain

register(
    {
        "overdraft_refused": (
            "{type} of {amount} credits refused: the balance would fall from {balance} to {would_be}, "
            "and policy `{policy}` allows no negative balance"
        ),
        # (a request debited, or refunded, before this scenario, `balance.debits`, is named so:
        # `debited_before_scenario` / `refunded_before_scenario`, since 2026-12-04)
        "debit_repeated": lambda f: (
            f"debit of {f['amount']} credits for request `{f['request']}` refused: the request was already debited "
            f"{f['debited']} credits "
            + (f"by event `{f['debited_by']}`" if "debited_by" in f else "before this scenario")
        ),
        "refund_repeated": lambda f: (
            f"refund of request `{f['request']}` refused: its {f['debited']} credits were already returned "
            + (f"by event `{f['refunded_by']}`" if "refunded_by" in f else "before this scenario")
        ),
        "refund_without_debit": lambda f: (
            # "before it": a debit for the request may come later in the stream (an audit of
            # 2026-12-03: "nothing was debited" read against a ledger that showed the debit)
            f"refund of request `{f['request']}` refused: nothing was debited for that request before it"
            + (f" (its debit `{f['refused_debit']}` was refused)" if "refused_debit" in f else "")
        ),
        "refund_amount_differs": (
            "refund of request `{request}` refused: it names {amount} credits, but {debited} were debited "
            "for that request (a refund returns exactly what was debited)"
        ),
        "balance_below_zero": "the balance fell below zero ({before} → {balance}) at event `{event}`",
        "balance_below_threshold": (
            "the balance fell below the alert threshold of {threshold} ({before} → {balance}) at event `{event}`"
        ),
    }
)

#: Scenario-fact diagnostic codes raised here (README "Diagnostic codes").
UNKNOWN_POLICY = "BR610"
BAD_EVENT = "BR611"
DUPLICATE_EVENT = "BR612"


@dataclass(frozen=True)
class LedgerEntry:
    """One movement of the balance: what moved it, by how much (always positive), and the balance after."""

    at: datetime
    event: str
    type: BalanceEventType
    request: str | None
    quantity: Decimal
    balance: Decimal
    reason: RefundReason | None = None  # refunds: cancelled, failed or rejected

    @property
    def change(self) -> Decimal:
        """The signed change: grants and refunds add, withdrawals and debits take."""
        adds = self.type in (BalanceEventType.GRANT, BalanceEventType.REFUND)
        return self.quantity if adds else -self.quantity


@dataclass(frozen=True)
class Totals:
    grants: Decimal
    withdrawals: Decimal
    debits: Decimal
    refunds: Decimal


@dataclass(frozen=True)
class Debit:
    """A request's debit as the next scenario carries it (`balance.debits`): the credits debited
    and whether a refund returned them."""

    request: str
    amount: Decimal
    refunded: bool


@dataclass(frozen=True)
class BalanceResult:
    """The balance decision: the ledger (every movement), what was refused and the alerts raised;
    `carried`, the debits carried in (`balance.debits`, as given)."""

    policy: str
    opening: Decimal
    ledger: tuple[LedgerEntry, ...]
    refused: tuple[Reason, ...]
    alerts: tuple[Reason, ...]
    carried: tuple[Debit, ...] = ()

    @property
    def closing(self) -> Decimal:
        return self.ledger[-1].balance if self.ledger else self.opening

    @property
    def debits(self) -> tuple[Debit, ...]:
        """The debits to carry into the next scenario, derived from those carried in and the
        ledger: those carried in, in the order given, then this scenario's, in ledger order; each
        refunded if it was before or a refund of the ledger returned it."""
        refunded = {e.request for e in self.ledger if e.type is REFUND}
        carried = (Debit(d.request, d.amount, d.refunded or d.request in refunded) for d in self.carried)
        own = (
            Debit(e.request, e.quantity, e.request in refunded)
            for e in self.ledger
            if e.type is DEBIT and e.request is not None  # (a debit's `request` is never None: checked)
        )
        return (*carried, *own)

    @property
    def totals(self) -> Totals:
        """Sums per movement type, derived from the ledger."""
        sums = {t: Decimal(0) for t in BalanceEventType}
        for entry in self.ledger:
            sums[entry.type] += entry.quantity
        return Totals(
            sums[BalanceEventType.GRANT],
            sums[BalanceEventType.WITHDRAW],
            sums[BalanceEventType.DEBIT],
            sums[BalanceEventType.REFUND],
        )


@dataclass(frozen=True)
class Step:
    """What one event did, handed to a tracer: the balance before and after, and its reasons."""

    event: str
    before: Decimal
    after: Decimal
    reasons: tuple[Reason, ...]


Tracer = Callable[[Step], None]


def evaluate(rules: Any, scenario: Any, trace: Tracer | None = None) -> BalanceResult:
    """Apply the scenario's balance events under its policy; ScenarioError for bad facts (all of them)."""
    balance: Balance = scenario.balance
    policy = _policies(rules).get(balance.policy)
    carried = getattr(balance, "debits", None)  # (a test's stand-in for the model may have none)
    if policy is None or not _well_formed(balance.events) or (carried and not _debits_well_formed(carried)):
        problems = list(check(rules, balance))  # (else `check` would find nothing)
        if problems:
            raise ScenarioError.of(problems)
        assert policy is not None  # an unknown policy is a problem
    return _Book(policy, balance.opening, trace, carried).run(_in_time_order(balance.events))


@dataclass
class _Policy:
    """A balance policy as the book reads it, prepared once per rule set: its alert lines from
    the highest down (a line is armed while the balance is at or above it), and the places of
    the rules its reasons name (found when first needed)."""

    model: BalancePolicy
    document: Any
    lines: tuple[tuple[Decimal, str], ...]
    sources: dict[tuple[str, ...], Source | None]

    def source(self, path: tuple[str, ...]) -> Source | None:
        if path not in self.sources:
            document = self.document
            if document is None:
                self.sources[path] = None
            else:
                span = document.locate(path if path and path[0] in document.data else ())
                self.sources[path] = Source(document.file, span.line, span.column)
        return self.sources[path]


def _policies(rules: Any) -> dict[str, _Policy]:
    """code → `_Policy`, built once per rule set and kept beside it (as `decision.lookup` does)."""
    cache = rules.__dict__.setdefault("_evaluators", {})  # frozen dataclass: cache beside the fields
    found: dict[str, _Policy] | None = cache.get("balances")
    if found is None:
        found = {}
        for code, entry in rules.catalog.get("balance_policy", {}).items():
            policy: BalancePolicy = entry.model
            threshold = policy.alerts.threshold if policy.alerts.enabled else None
            lines = [(Decimal(0), "balance_below_zero")]
            if threshold is not None:
                lines.append((threshold, "balance_below_threshold"))
            found[code] = _Policy(policy, entry.document, tuple(sorted(lines, key=lambda line: -line[0])), {})
        cache["balances"] = found
    return found


def _well_formed(events: list[BalanceEvent]) -> bool:
    """True when `check` finds nothing wrong with the events (ids unique, each event's fields
    fit its type): the common case, tested without building the diagnostics."""
    ids = set()
    for event in events:
        fields = event.__dict__  # (read as a mapping: the module's docstring)
        ids.add(fields["id"])
        kind, amount, reason, request = fields["type"], fields["amount"], fields["reason"], fields["request"]
        if kind is REFUND:
            if reason is None or request is None or (amount is not None and amount <= 0):
                return False
        elif amount is None or amount <= 0 or reason is not None or (request is None) is (kind is DEBIT):
            return False
    return len(ids) == len(events)


def _debits_well_formed(debits: list[BalanceDebit]) -> bool:
    """True when `check` finds nothing wrong with the carried debits: each request once, each
    amount more than zero."""
    return all(d.amount > 0 for d in debits) and len({d.request for d in debits}) == len(debits)


def check(rules: Any, balance: Balance) -> Iterable[ScenarioError]:
    """Every problem with the balance facts, each at its field: BR610 policy, BR611 event or carried
    debit (`balance.debits`), BR612 id."""
    from engine.diagnostics import did_you_mean

    policies = rules.models("balance_policy")
    if balance.policy not in policies:
        hint = did_you_mean(balance.policy, policies) or (
            f"name one of the rule set's balance policies: {', '.join(policies) or 'none defined'}"
        )
        yield ScenarioError("balance.policy", f"unknown balance policy `{balance.policy}`", hint, code=UNKNOWN_POLICY)
    yield from _check_debits(balance.debits)
    seen: dict[str, int] = {}
    for i, event in enumerate(balance.events):
        where = f"balance.events[{i}]"
        if event.id in seen:
            yield ScenarioError(
                f"{where}.id",
                f"event id `{event.id}` is used twice (first at balance.events[{seen[event.id]}])",
                "give every balance event its own id",
                code=DUPLICATE_EVENT,
            )
        seen.setdefault(event.id, i)
        yield from _check_event(event, where)


def _check_debits(debits: list[BalanceDebit]) -> Iterable[ScenarioError]:
    """The debits carried in (`balance.debits`): a request once, an amount more than zero (BR611)."""
    listed: dict[str, int] = {}
    for i, debit in enumerate(debits):
        where = f"balance.debits[{i}]"
        if debit.request in listed:
            yield ScenarioError(
                f"{where}.request",
                f"request `{debit.request}` is listed twice (first at balance.debits[{listed[debit.request]}])",
                "list each request debited before this scenario once, with its amount and whether it was refunded",
                code=BAD_EVENT,
            )
        listed.setdefault(debit.request, i)
        if debit.amount <= 0:
            yield ScenarioError(
                f"{where}.amount",
                f"the amount debited before this scenario must be greater than zero (found {plain(debit.amount)})",
                "write the credits debited for the request as a positive number",
                code=BAD_EVENT,
            )


def _check_event(event: BalanceEvent, where: str) -> Iterable[ScenarioError]:
    kind = event.type.value
    # (a refund's amount, when written, is checked against its debit: `refund_amount_differs`)
    if event.type is not BalanceEventType.REFUND and event.amount is None:
        yield ScenarioError(where, f"a {kind} needs an `amount` in credits", "add `amount:`", code=BAD_EVENT)
    if event.amount is not None and event.amount <= 0:
        yield ScenarioError(
            f"{where}.amount",
            f"a {kind} amount must be greater than zero (found {plain(event.amount)})",
            "write the credits moved as a positive number; the event type gives the direction",
            code=BAD_EVENT,
        )
    if event.type is BalanceEventType.REFUND and event.reason is None:
        yield ScenarioError(
            where,
            "a refund needs a `reason`: the request was cancelled, failed or rejected",
            "add `reason: cancelled` (or failed, rejected)",
            code=BAD_EVENT,
        )
    if event.type is not BalanceEventType.REFUND and event.reason is not None:
        yield ScenarioError(
            f"{where}.reason",
            f"only a refund has a `reason`; a {kind} has none",
            "remove `reason:`",
            code=BAD_EVENT,
        )
    needs_request = event.type in (BalanceEventType.DEBIT, BalanceEventType.REFUND)
    if needs_request and event.request is None:
        yield ScenarioError(
            where,
            f"a {kind} belongs to a service request and needs `request`",
            "add `request:` with the service request id",
            code=BAD_EVENT,
        )
    if not needs_request and event.request is not None:
        yield ScenarioError(
            f"{where}.request",
            f"a {kind} is an administrator's movement and belongs to no service request",
            "remove `request:`, or make the event a debit",
            code=BAD_EVENT,
        )


def _utc(moment: datetime) -> datetime:
    """Date-times without a zone are taken as UTC (README "Time"), so any two compare."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _in_time_order(events: list[BalanceEvent]) -> list[BalanceEvent]:
    """The events by time; ties keep the written order. Most are written in order already:
    then they are returned as they are, without sorting."""
    keys = [at if (at := e.at).tzinfo is not None else _utc(at) for e in events]
    for a, b in pairwise(keys):  # (a loop, not `all` over a generator: most streams are short)
        if not a <= b:
            break
    else:
        return events
    return [events[i] for i in sorted(range(len(events)), key=keys.__getitem__)]  # stable


GRANT, WITHDRAW, DEBIT, REFUND = (
    BalanceEventType.GRANT,
    BalanceEventType.WITHDRAW,
    BalanceEventType.DEBIT,
    BalanceEventType.REFUND,
)
#: the types that add to the balance
_ADDS = (GRANT, REFUND)


class _Book:
    """The running balance of one scenario; used once."""

    def __init__(
        self, policy: _Policy, opening: Decimal, trace: Tracer | None, carried: list[BalanceDebit] | None = None
    ) -> None:
        self.prepared = policy
        self.policy = policy.model
        self.overdraft = policy.model.overdraft  # (read per event: a model's field read once)
        self.balance = opening
        self.opening = opening
        self.trace = trace
        self.ledger: list[LedgerEntry] = []
        self.refused: list[Reason] = []
        self.alerts: list[Reason] = []
        self.debited: dict[str, LedgerEntry] = {}  # request -> its debit
        self.refused_debits: dict[str, str] = {}  # request -> the event of its debit that was refused
        self.refunded: dict[str, LedgerEntry] = {}  # request -> its refund
        # request -> its debit before this scenario (`balance.debits`): the credits, and whether refunded then
        self.carried: dict[str, Debit] = {d.request: Debit(d.request, d.amount, d.refunded) for d in carried or ()}
        self.zero: Decimal | None = None  # a zero with the stream's most decimals (`run`)

    def run(self, events: list[BalanceEvent]) -> BalanceResult:
        # every balance and quantity with the most decimals the stream writes (an opening of `20`
        # and a refund of `10.00`: balances `-34.00`, not `-34` then `-34.00`; until 2026-12-02 the
        # ledger mixed the two), values unchanged: what is added or taken is written with fewer
        amounts = [self.opening]
        for e in events:
            if (amount := e.amount) is not None:  # (read once: a model's field)
                amounts.append(amount)
        amounts += [d.amount for d in self.carried.values()]
        zero = _zero_of(*amounts)
        if zero is not None:
            self.zero = zero
            self.balance = self.opening = self.opening + zero
            for request, debit in self.carried.items():
                self.carried[request] = Debit(request, debit.amount + zero, debit.refunded)
        for event in events:
            before = self.balance
            reasons = self.apply(event)
            if self.trace is not None:
                self.trace(Step(event.id, before, self.balance, reasons))
        return BalanceResult(
            policy=self.policy.code,
            opening=self.opening,
            ledger=tuple(self.ledger),
            refused=tuple(self.refused),
            alerts=tuple(self.alerts),
            carried=tuple(self.carried.values()),
        )

    def apply(self, event: BalanceEvent) -> tuple[Reason, ...]:
        fields = event.__dict__  # (read as a mapping: the module's docstring)
        kind = fields["type"]
        request = fields["request"]
        # only a refund, a repeated debit or a fall under a policy without overdraft can be refused
        if kind is REFUND or request in self.debited or request in self.carried or not self.overdraft:
            refusal = self.refusal(event)
            if refusal is not None:
                self.refused.append(refusal)
                if kind is DEBIT and request is not None and request not in self.debited:
                    self.refused_debits.setdefault(request, event.id)
                return (refusal,)
        before = self.balance
        if kind is REFUND:
            assert request is not None  # checked
            debit = self.debited.get(request)
            quantity = self.carried[request].amount if debit is None else debit.quantity
        else:
            amount = fields["amount"]
            assert amount is not None  # checked
            quantity = amount if self.zero is None else amount + self.zero
        after = before + quantity if kind in _ADDS else before - quantity
        entry = LedgerEntry(fields["at"], fields["id"], kind, request, quantity, after, fields["reason"])
        self.balance = after
        self.ledger.append(entry)
        if request is not None:
            if kind is DEBIT:
                self.debited[request] = entry
            elif kind is REFUND:
                self.refunded[request] = entry
        if after < before:  # only a fall crosses a line
            return self.crossings(event, before)
        return ()

    def refusal(self, event: BalanceEvent) -> Reason | None:
        kind = event.type
        request = event.request
        if kind is REFUND:
            assert request is not None  # checked
            debit = self.debited.get(request)
            carried = self.carried.get(request) if debit is None else None
            if debit is None and carried is None:  # (its debit refused, if it was: named, since 2026-12-02)
                refused = self.refused_debits.get(request)
                facts = _facts(event)
                if event.amount is not None:  # the amount it names (until 2026-12-03 left out)
                    facts["amount"] = plain(event.amount)
                if refused is not None:
                    facts["refused_debit"] = refused
                return Reason("refund_without_debit", facts)
            if debit is not None:
                debited = debit.quantity
            else:
                assert carried is not None
                debited = carried.amount
            refund = self.refunded.get(request)
            if refund is not None or (carried is not None and carried.refunded):
                # `amount`: the amount it names, else what it asks back, the debit's
                # (until 2026-12-03 always the debit's: a refund naming 7 of a debit of 10 said "10")
                named = debited if event.amount is None else event.amount
                facts = {**_facts(event), "amount": plain(named), "debited": plain(debited)}
                if refund is not None:
                    facts["refunded_by"] = refund.event
                else:  # refunded before this scenario (`balance.debits`, since 2026-12-04)
                    facts["refunded_before_scenario"] = True
                return Reason("refund_repeated", facts)
            if event.amount is not None and event.amount != debited:  # (the seed's own wording
                # gives the amount: "equal to the service price is returned"; one that is not is refused)
                return Reason(
                    "refund_amount_differs",
                    {**_facts(event), "amount": plain(event.amount), "debited": plain(debited)},
                )
            return None
        if kind is GRANT:
            return None
        if kind is DEBIT:
            assert request is not None  # checked
            debit = self.debited.get(request)
            carried = self.carried.get(request)
            if debit is not None or carried is not None:
                assert event.amount is not None  # checked
                # (until 2026-12-03 without the amount of the debit refused)
                facts = {**_facts(event), "amount": plain(event.amount)}
                if debit is not None:
                    facts["debited"] = plain(debit.quantity)
                    facts["debited_by"] = debit.event
                else:  # debited before this scenario (`balance.debits`, since 2026-12-04)
                    assert carried is not None
                    facts["debited"] = plain(carried.amount)
                    facts["debited_before_scenario"] = True
                return Reason("debit_repeated", facts)
        if not self.policy.overdraft:  # a debit or a withdrawal
            assert event.amount is not None  # checked
            after = self.balance - event.amount
            if after < 0:
                return Reason(
                    "overdraft_refused",
                    {
                        **_facts(event),
                        "amount": plain(event.amount),
                        "balance": plain(self.balance),
                        "would_be": plain(after),
                        "policy": self.policy.code,
                    },
                    self.prepared.source(("overdraft",)),
                )
        return None

    def crossings(self, event: BalanceEvent, before: Decimal) -> tuple[Reason, ...]:
        """An alert for every line the balance crossed downwards: at or above it before, below it now."""
        after = self.balance
        found: tuple[Reason, ...] = ()
        for line, code in self.prepared.lines:
            if before >= line > after:
                alert_facts = {**_facts(event), "before": plain(before), "balance": plain(after)}
                source = None  # the below-zero alert is always raised: no rule decides it
                if code == "balance_below_threshold":
                    alert_facts["threshold"] = plain(line)
                    source = self.prepared.source(("alerts", "threshold"))
                reason = Reason(code, alert_facts, source)
                self.alerts.append(reason)
                found += (reason,)
        return found


def _zero_of(*values: Decimal) -> Decimal | None:
    """A zero with the most decimals of `values` (`0.00`), or None when none has any."""
    exponent = 0
    for v in values:
        # (a whole number's exponent is 0: told without `as_tuple`, which builds a named tuple)
        if not v.same_quantum(_ONE) and (found := int(v.as_tuple().exponent)) < exponent:
            exponent = found
    return Decimal(0).scaleb(exponent) if exponent < 0 else None


_ONE = Decimal(1)


def _facts(event: BalanceEvent) -> dict[str, Any]:
    """What a reason about `event` says of it (built only when a reason is made)."""
    facts: dict[str, Any] = {"event": event.id, "at": event.at.isoformat(), "type": event.type._value_}
    if event.request is not None:
        facts["request"] = event.request
    if event.reason is not None:
        facts["reason"] = event.reason._value_
    return facts


def balance_json(result: BalanceResult) -> dict[str, Any]:
    """The decision's `balance` part: plain data, numbers as text written out in full.

    One pass over the ledger writes its entries, adds up `totals` and collects what `debits`
    (the property) derives, each amount written once: the closing balance is the last entry's
    text, a debit's amount its entry's quantity."""
    # `totals`, in the same pass, from a zero with the opening's decimals (`0.00`, as the ledger's)
    sums = dict.fromkeys(("grant", "withdraw", "debit", "refund"), abs(result.opening) * 0)
    ledger = []
    own: list[tuple[str, str]] = []  # this scenario's debits, in ledger order: (request, amount)
    refunded: set[str | None] = set()
    closing = opening = plain(result.opening)
    for entry in result.ledger:
        item = _entry_json(entry)
        closing = item["balance"]
        sums[item["type"]] += entry.quantity
        ledger.append(item)
        kind, request = entry.type, entry.request
        if kind is DEBIT:
            if request is not None:  # (never None: checked)
                own.append((request, item["quantity"]))
        elif kind is REFUND:
            refunded.add(request)
    out: dict[str, Any] = {
        "policy": result.policy,
        "opening": opening,
        "closing": closing,
        "totals": {
            "grants": plain(sums["grant"]),
            "withdrawals": plain(sums["withdraw"]),
            "debits": plain(sums["debit"]),
            "refunds": plain(sums["refund"]),
        },
        "ledger": ledger,
        "refused": [reason.once() for reason in result.refused],  # made for this decision: no record kept
        "alerts": [reason.once() for reason in result.alerts],
    }
    # the debits to carry into the next scenario, as its `balance.debits` (`BalanceResult.debits`):
    # written when there are any (since 2026-12-04; a decision without a debit reads as before)
    if result.carried or own:
        out["debits"] = [
            *(
                {"request": d.request, "amount": plain(d.amount), "refunded": d.refunded or d.request in refunded}
                for d in result.carried
            ),
            *({"request": r, "amount": amount, "refunded": r in refunded} for r, amount in own),
        ]
    return out


def _entry_json(entry: LedgerEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"at": entry.at.isoformat(), "event": entry.event, "type": entry.type._value_}
    if entry.request is not None:
        item["request"] = entry.request
    if entry.reason is not None:
        item["reason"] = entry.reason._value_
    item["quantity"] = plain(entry.quantity)
    item["balance"] = plain(entry.balance)
    return item
