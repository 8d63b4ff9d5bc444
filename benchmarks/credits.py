"""Credit allocation time per consumption as candidates grow, against a naive reference.

    python benchmarks/credits.py           # candidates 10 → 10,000 per organisation, trees 1 → 6 deep
    python benchmarks/credits.py --quick   # CI smoke run: tiny sizes, one round

Workload (seeded): a chain of organisations `depth` deep; each holds `n` credits of one type
(mixed allocations, expiries, issue dates, priorities); a stream of consumptions by the deepest
organisation, each of 1, in time order. billrules' `Book` (candidates sorted once per consumer,
a walk without the used-up, expired and not-started) runs against `credits_reference.allocate` (every credit
examined and every candidate sorted, per request) in the same process. One credit in 50 carries
credit criteria (weekdays only, or a quantity limit): billrules evaluates the criteria once per
consumption, the reference per (credit, consumption). Results are checked equal before timing;
rounds alternate the two; the table shows medians and the spread.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.criteria.program import credit_program
from engine.decide.credits import Book, CreditCriteria, CreditFact, Request, Tree, run
from engine.decide.credits_reference import allocate

AS_OF = datetime(2015, 6, 1, tzinfo=UTC)
PROGRAM = credit_program(
    [
        ("t:weekdays", "consumption.at.weekday in {monday, tuesday, wednesday, thursday, friday}"),
        ("t:small", "consumption.quantity <= 5"),
    ]
)


def workload(
    n: int, depth: int, requests: int, seed: int = 7
) -> tuple[dict[str, str | None], list[CreditFact], list[Request]]:
    rnd = random.Random(seed)
    parent: dict[str, str | None] = {f"o{i}": (f"o{i - 1}" if i else None) for i in range(depth)}
    credits = []
    for level in range(depth):
        for i in range(n):
            end = None if rnd.random() < 0.2 else date(2015, 1, 1) + timedelta(days=rnd.randrange(30, 400))
            credits.append(
                CreditFact(
                    code=f"o{level}-c{i:05d}",
                    type="t",
                    quantity=Decimal(rnd.randrange(1, 4)),
                    start=date(2015, 1, 1),
                    end=end,
                    holder=f"o{level}",
                    issued=date(2014, 12, 1) + timedelta(days=rnd.randrange(0, 30)),
                    own_only=rnd.random() < 0.3,
                    priority=rnd.randrange(0, 5) if rnd.random() < 0.5 else None,
                    criteria=rnd.choice([(0,), (1,), (0, 1)]) if rnd.random() < 0.02 else (),
                )
            )
    leaf = f"o{depth - 1}"
    start = datetime(2015, 2, 1, tzinfo=UTC)
    stream = [
        Request(
            f"r{i:05d}",
            leaf,
            None,
            frozenset(["t"]),
            Decimal(1),
            start + timedelta(hours=i),
            (start + timedelta(hours=i)).date(),
        )
        for i in range(requests)
    ]
    return parent, credits, stream


def fast(
    parent: dict[str, str | None], credits: list[CreditFact], stream: list[Request]
) -> list[tuple[str, list[tuple[str, Decimal]], bool]]:
    book = Book(list(credits), Tree(parent), criteria=CreditCriteria(PROGRAM, Tree(parent), AS_OF))
    return [(o.request.id, [(d.credit, d.quantity) for d in o.draws], o.refusal is not None) for o in run(book, stream)]


def naive(
    parent: dict[str, str | None], credits: list[CreditFact], stream: list[Request]
) -> list[tuple[str, list[tuple[str, Decimal]], bool]]:
    tree = Tree(parent)
    return allocate(credits, parent, stream, holds=lambda c, r: CreditCriteria(PROGRAM, tree, AS_OF).hold(c, r))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (CI smoke run)")
    args = parser.parse_args(argv)
    sizes = (10, 100) if args.quick else (10, 100, 1000, 10000)
    depths = (1, 3) if args.quick else (1, 3, 6)
    rounds = 1 if args.quick else 5
    requests = 20 if args.quick else 100
    print(f"{requests} consumptions per stream, {rounds} rounds alternating, medians (min–max) per consumption")
    print("| depth | candidates per org | billrules µs | naive µs | naive / billrules |")
    print("|---:|---:|---:|---:|---:|")
    for depth in depths:
        for n in sizes:
            parent, credits, stream = workload(n, depth, requests)
            if fast(parent, credits, stream) != naive(parent, credits, stream):
                print(f"results differ at depth {depth}, n {n}", file=sys.stderr)
                return 1
            times: dict[str, list[float]] = {"fast": [], "naive": []}
            for _ in range(rounds):
                for name, fn in (("fast", fast), ("naive", naive)):
                    t0 = time.perf_counter()
                    fn(parent, credits, stream)
                    times[name].append((time.perf_counter() - t0) / requests * 1e6)
            f, v = times["fast"], times["naive"]
            print(
                f"| {depth} | {n:,} | {statistics.median(f):,.1f} ({min(f):,.1f}–{max(f):,.1f}) "
                f"| {statistics.median(v):,.1f} ({min(v):,.1f}–{max(v):,.1f}) "
                f"| {statistics.median(v) / statistics.median(f):,.1f}× |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
