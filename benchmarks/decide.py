"""Decisions per second through `RuleSet.decide`, from a JSON text line to the decision's JSON text.

    python benchmarks/decide.py            # shipped rules and a generated 400-definition rule set
    python benchmarks/decide.py --quick    # CI smoke run: a few seconds (40 definitions, 2 rounds)

Workload: every sample in `samples/` (discounts, credits, balance, cancellation and purchase
questions; `expect:` removed, dates as ISO text) written as one JSON line each, the lines repeated.
One decision is `rules.decide_json(orjson.loads(line))`, what a billing run does with a line:
parse, validate the scenario, evaluate the criteria, decide every part, serialise. The same lines are decided on the shipped rules and on
a rule set of N generated discount definitions (`benchmarks/validate.py`'s generator: variants of
the shipped ones with `when:` expressions; the lines it refuses are left out and counted).

In the same process, rounds interleaved:

- **baseline**: `json.dumps(json.loads(line))` of the same lines (bare I/O), so the ratio
  billrules / baseline is the engine's cost over reading and writing the text;
- **billrules**: the engine as it is, JSON text in and out (`RuleSet.decide_json`);
- **billrules, distinct scenarios**: the same engine over as many lines, every one a distinct
  scenario (each line's dates moved by a seeded random number of days, ids made unique), so that
  what the engine keeps per date, per value or per failure pattern is not reused merely because
  the lines repeat: the figure for a real run, where no two scenarios are the same;
- **data**: `to_json(rules.decide(orjson.loads(line)))`, the dict API (fresh data a caller may
  change, so nothing the rule set keeps is shared), for what that costs;
- **reference**: the same engine deciding discounts with the frozen pre-issue-11 evaluator
  (`engine/decide/discounts_reference.py`) and writing with `json.dumps`, for the speed-up.

Reported: medians and the range over rounds; per question kind (the sample's folder); the time
split by stage in one more instrumented pass (JSON parse, validate, criteria, discounts, the other
parts: credits/terms/purchases/balance, serialise); peak memory of one pass (tracemalloc) and the
process's maximum resident size.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import decimal
import json
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from validate import generate_rules  # noqa: E402  (benchmarks/validate.py: the rule-set generator)

from engine import load_rules, native  # noqa: E402
from engine.decide.decision import (  # noqa: E402
    _evaluator,
    criteria_outcomes,
    decide,
    discounts_json,
    to_json,
    written_text,
)
from engine.decide.discounts import CriteriaOutcomes  # noqa: E402
from engine.decide.discounts_reference import ReferenceEvaluator  # noqa: E402
from engine.decide.scenarios import ScenarioError, checked_scenario  # noqa: E402
from engine.load import load_file  # noqa: E402


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def sample_lines() -> list[tuple[str, str]]:
    """(question kind, JSON text line) for every sample document."""
    lines = []
    for path in sorted((REPO / "samples").rglob("*.yaml")):
        for document in load_file(path).documents:
            data = dict(document.data)
            data.pop("expect", None)
            lines.append((path.parent.name, json.dumps(_jsonable(data), ensure_ascii=False)))
    return lines


def reference_rules(rules: Any) -> Any:
    """The same rule set, deciding discounts with the frozen pre-issue-11 evaluator."""
    clone = copy.copy(rules)
    clone.__dict__["_evaluators"] = {"discounts": ReferenceEvaluator(rules)}
    return clone


def baseline(line: str) -> str:
    return json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))


def engine(rules: Any) -> Callable[[str], str]:
    """What a billing run does with a line: parse (orjson), validate, decide, write the text."""

    def run(line: str) -> str:
        return rules.decide_json(orjson.loads(line))

    return run


def engine_data(rules: Any) -> Callable[[str], str]:
    """`RuleSet.decide` returning fresh data (a caller may change it), then written."""

    def run(line: str) -> str:
        return to_json(rules.decide(orjson.loads(line)))

    return run


def old_engine(rules: Any) -> Callable[[str], str]:
    def run(line: str) -> str:
        return json.dumps(rules.decide(json.loads(line)), ensure_ascii=False, separators=(",", ":"))

    return run


_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")


def _shifted(value: Any, days: int) -> Any:
    """`value` with every ISO date and date-time moved by `days` (everything else as it is)."""
    if isinstance(value, dict):
        return {k: _shifted(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_shifted(v, days) for v in value]
    if isinstance(value, str) and (found := _DATE.match(value)):
        try:
            moved = datetime.date.fromisoformat(found.group(1)) + datetime.timedelta(days=days)
        except (ValueError, OverflowError):
            return value
        return moved.isoformat() + (found.group(2) or "")
    return value


def varied(lines: Sequence[tuple[str, str]], copies: int, seed: int = 11) -> list[tuple[str, str]]:
    """`copies` of every line, each copy a distinct scenario: its dates moved by a random number of
    days (seeded, up to 45 either way, the same for every date of the scenario, so the rules'
    validity windows still cover most of them) and its id made unique, so that nothing kept per
    date, per value or per failure pattern is reused only because a line repeats."""
    rnd = random.Random(seed)
    out = []
    for n in range(copies):
        for kind, line in lines:
            data = _shifted(json.loads(line), rnd.randint(-45, 45))
            data["id"] = f"{data.get('id')}/{n}"
            out.append((kind, json.dumps(data, ensure_ascii=False)))
    return out


def decidable(rules: Any, lines: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    kept = []
    for kind, line in lines:
        try:
            engine(rules)(line)
        except (ScenarioError, ValueError):
            continue
        kept.append((kind, line))
    return kept, len(lines) - len(kept)


def _spread(values: Sequence[float], fmt: str = ",.1f") -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def timed_rounds(
    runners: dict[str, Callable[[str], str]],
    lines: Sequence[tuple[str, str]],
    rounds: int,
    repeat: int,
    distinct: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """µs per line of each runner per round (interleaved), and the billrules µs per kind per round.
    A runner whose name ends in "varied" decides the `distinct` lines instead (each once)."""
    per_round: dict[str, list[float]] = defaultdict(list)
    per_kind: dict[str, list[float]] = defaultdict(list)
    texts = [line for _, line in lines] * repeat
    others = [line for _, line in distinct]
    kinds = sorted({kind for kind, _ in lines})
    clock = time.perf_counter
    for _ in range(rounds):
        for name, run in runners.items():
            mine = others if name.endswith("varied") else texts
            t0 = clock()
            for text in mine:
                run(text)
            per_round[name].append((clock() - t0) / len(mine) * 1e6)
        run = runners["billrules"]
        spent: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        for kind, text in lines * repeat:
            t0 = clock()
            run(text)
            spent[kind] += clock() - t0
            count[kind] += 1
        for kind in kinds:
            per_kind[kind].append(spent[kind] / count[kind] * 1e6)
    return per_round, per_kind


STAGES = ("JSON parse", "validate", "criteria", "discounts", "credits/terms/purchases/balance", "serialise")


class _TimedOutcomes(CriteriaOutcomes):
    """The criteria's outcomes, the time of their evaluation added up (`stage_split`): the
    discount evaluator evaluates them when it first reads them, inside its own call."""

    spent = 0.0

    def masked(self, mask: tuple[bool, ...]) -> tuple[bool, ...]:
        t0 = time.perf_counter()
        found = super().masked(mask)
        _TimedOutcomes.spent += time.perf_counter() - t0
        return found


def stage_split(rules: Any, lines: Sequence[tuple[str, str]], rounds: int) -> dict[str, list[float]]:
    """µs per decision in each stage (per round): each stage timed on its own for every line; the
    other parts are the whole `decide` less its criteria and discounts. The criteria are
    evaluated inside the discount evaluator's call (only those it reads): that time is counted
    as the criteria's, not the discounts'. The JSON is read and written as the timed runner does
    (orjson; the decision as `RuleSet.decide_json` writes it: `written_text`)."""
    clock = time.perf_counter
    evaluator = _evaluator(rules)
    out: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        spent: dict[str, float] = defaultdict(float)
        for _, text in lines:
            t0 = clock()
            data = orjson.loads(text)
            t1 = clock()
            scenario = checked_scenario(data)
            t2 = clock()
            outcomes = _TimedOutcomes(criteria_outcomes(rules, scenario).program, scenario)
            _TimedOutcomes.spent = 0.0
            t3 = clock()
            if scenario.subscription is not None or scenario.job is not None:
                decided = evaluator.decide(scenario, outcomes, why=rules.reasons != "brief")
                discounts_json(decided, True, rules.listed == "applied", lines_written=True, text=True)
            t4 = clock()
            decision = decide(rules, scenario, shared=True, text=True)
            t5 = clock()
            written_text(decision)
            t6 = clock()
            criteria = (t3 - t2) + _TimedOutcomes.spent
            spent["JSON parse"] += t1 - t0
            spent["validate"] += t2 - t1
            spent["criteria"] += criteria
            spent["discounts"] += t4 - t2 - criteria
            spent["credits/terms/purchases/balance"] += max((t5 - t4) - (t4 - t2), 0.0)
            spent["serialise"] += t6 - t5
        for stage in STAGES:
            out[stage].append(spent[stage] / len(lines) * 1e6)
    return out


def peak_memory(run: Callable[[str], str], lines: Sequence[tuple[str, str]]) -> float:
    """Peak traced memory (KiB) of one pass over the lines, after a warm-up pass."""
    for _, text in lines:
        run(text)
    tracemalloc.start()
    for _, text in lines:
        run(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024


def report(title: str, rules: Any, lines: list[tuple[str, str]], refused: int, rounds: int, repeat: int) -> None:
    runners = {
        "baseline": baseline,
        "billrules": engine(rules),
        "billrules varied": engine(rules),
        "data": engine_data(rules),
        "reference": old_engine(reference_rules(rules)),
    }
    distinct, _ = decidable(rules, varied(lines, repeat))
    per_round, per_kind = timed_rounds(runners, lines, rounds, repeat, distinct)
    base, ours, ref = per_round["baseline"], per_round["billrules"], per_round["reference"]
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    speedups = [r / o for r, o in zip(ref, ours, strict=True)]
    print(f"## {title}: {len(lines)} sample lines × {repeat} per round, {rounds} rounds interleaved", end="")
    print(f" ({refused} refused by this rule set, left out)\n" if refused else "\n")
    print("| runner | µs per decision | decisions/s | ratio to baseline |")
    print("|---|---:|---:|---:|")
    print(f"| baseline (json.loads + json.dumps) | {_spread(base)} | {1e6 / statistics.median(base):,.0f} | 1 |")
    print(
        f"| **billrules** | {_spread(ours)} | **{1e6 / statistics.median(ours):,.0f}** "
        f"({1e6 / max(ours):,.0f}–{1e6 / min(ours):,.0f}) | {_spread(ratios)}× |"
    )
    other = per_round["billrules varied"]
    print(
        f"| billrules, {len(distinct):,} distinct scenarios (dates moved) | {_spread(other)} "
        f"| {1e6 / statistics.median(other):,.0f} | {statistics.median(other) / statistics.median(base):,.1f}× |"
    )
    data = per_round["data"]
    print(
        f"| `RuleSet.decide` (fresh data) + `to_json` | {_spread(data)} | {1e6 / statistics.median(data):,.0f} "
        f"| {statistics.median(data) / statistics.median(base):,.1f}× |"
    )
    print(
        f"| reference (pre-issue-11 discount evaluator, json) | {_spread(ref)} | {1e6 / statistics.median(ref):,.0f} "
        f"| {statistics.median(ref) / statistics.median(base):,.1f}× |"
    )
    print(f"\nbillrules is {_spread(speedups, '.2f')}× faster than the reference (per-round ratios).\n")
    print("| question kind | lines | billrules µs per decision | decisions/s |")
    print("|---|---:|---:|---:|")
    counts: dict[str, int] = defaultdict(int)
    for kind, _ in lines:
        counts[kind] += 1
    for kind, values in sorted(per_kind.items()):
        print(f"| {kind} | {counts[kind]} | {_spread(values)} | {1e6 / statistics.median(values):,.0f} |")
    stages = stage_split(rules, lines, rounds)
    total = sum(statistics.median(v) for v in stages.values())
    print("\n| stage | µs per decision | share |")
    print("|---|---:|---:|")
    for stage in STAGES:
        median = statistics.median(stages[stage])
        print(f"| {stage} | {_spread(stages[stage])} | {median / total:.0%} |")
    peak = peak_memory(engine(rules), lines)
    print(f"\npeak traced memory of one pass over the lines: {peak:,.0f} KiB\n")


def _as_asked(rules: Any, args: argparse.Namespace) -> Any:
    """The rule set deciding with the reasons and listing the options ask for."""
    if args.brief_reasons:
        rules = rules.brief()
    if args.applied_only:
        rules = rules.applied_only()
    return rules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the lines per round (default 5)")
    parser.add_argument("--definitions", type=int, default=400, help="generated discount definitions (default 400)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds, 1 pass, 40 definitions")
    parser.add_argument(
        "--brief-reasons", action="store_true", help="decide as `billrules run` does by default (RuleSet.brief())"
    )
    parser.add_argument(
        "--applied-only",
        action="store_true",
        help="list only the discounts that apply or await an action (RuleSet.applied_only())",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.repeat, args.definitions = 2, 1, 40
    started = time.perf_counter()
    lines = sample_lines()
    shipped = _as_asked(load_rules(REPO / "rules"), args)
    kept, refused = decidable(shipped, lines)
    if refused:
        print(f"{refused} samples are refused by the shipped rules", file=sys.stderr)
        return 1
    report("Shipped rules", shipped, kept, 0, args.rounds, args.repeat)
    with tempfile.TemporaryDirectory(prefix="billrules-decide-") as tmp:
        target = Path(tmp) / "rules"
        generate_rules(REPO / "rules", target, args.definitions)
        generated = _as_asked(load_rules(target), args)
    kept, refused = decidable(generated, lines)
    count = len(generated.models("discount"))
    report(f"Generated rule set, {count:,} discount definitions", generated, kept, refused, args.rounds, args.repeat)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"max resident size of the process: {rss:,.0f} MiB "
        f"({time.perf_counter() - started:.0f} s wall; python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"decision modules: {native.describe()})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
