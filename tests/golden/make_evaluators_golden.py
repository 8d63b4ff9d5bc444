"""Write tests/golden/evaluators.jsonl.xz: scenarios asking the balance, credits, cancellation and
purchase questions, with the decision text the engine wrote for them at commit 32e263a (before
the evaluators for those questions were made faster).

    python tests/golden/make_evaluators_golden.py     # only to re-record, on purpose

Each line: {"input": scenario JSON text, "outputs": [text per mode]} where the modes are
(detailed reasons, explain off), (detailed, explain on), (brief, explain off); an output is the
decision's JSON text, or `error: ...` for a scenario the engine refuses. Inputs are every sample
of those kinds and seeded mutations of them: dates moved (all together or one at a time),
amounts and quantities changed (zero, negative, fractions, large), list items dropped,
duplicated or reordered, and values swapped for other values seen under the same key in any
sample (event types, policies, plans, add-ons, coupons, users, organisations, ...). The inputs
are stored, so the test does not depend on this generator staying the same.
"""

from __future__ import annotations

import copy
import datetime
import json
import lzma
import random
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from decide import sample_lines  # noqa: E402  (benchmarks/decide.py: every sample as a JSON line)

KINDS = ("balance", "cancellation", "credits", "purchase")
GOLDEN = Path(__file__).with_name("evaluators.jsonl.xz")  # xz: 80 MB of repetitive JSON in 0.25 MB
MUTANTS_PER_SAMPLE = 60
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def outputs(rules: Any, brief: Any, line: str) -> list[str]:
    """The decision texts of one input line in every mode (or the error the engine raised)."""
    import orjson

    from engine.decide.scenarios import ScenarioError, ScenarioInvalid

    found = []
    for ruleset, explain in ((rules, False), (rules, True), (brief, False)):
        try:
            found.append(ruleset.decide_json(orjson.loads(line), explain=explain))
        except ScenarioError as exc:
            also = [f"{e.code} {e.field}: {e.message} ({e.hint})" for e in exc.also]
            found.append(f"error: {exc.code} {exc.field}: {exc.message} ({exc.hint}) {also}")
        except ScenarioInvalid as exc:
            found.append(f"invalid: {exc}")
    return found


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [(path, value)] + [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [(path, value)]


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _key(path: tuple[Any, ...]) -> str:
    return next((str(k) for k in reversed(path) if isinstance(k, str)), "")


def _shift(text: str, days: int) -> str:
    def moved(match: re.Match[str]) -> str:
        try:
            return (datetime.date.fromisoformat(match.group()) + datetime.timedelta(days=days)).isoformat()
        except (ValueError, OverflowError):
            return match.group()

    return _DATE.sub(moved, text)


def _number(rng: random.Random, value: Any) -> Any:
    return rng.choice(
        [0, -5, 1, 7, 10, 15, 20, 25, 60, 100, 1000, 100000, "0.5", "12.345", "99.99", "1E+2", value * 2, value + 1]
    )


def mutate(rng: random.Random, data: dict[str, Any], seen: dict[str, list[Any]]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for _ in range(rng.choice((1, 1, 2, 3))):
        leaves = [(p, v) for p, v in _leaves(out) if p and p[0] not in ("id",)]
        path, value = rng.choice(leaves)
        move = rng.random()
        if isinstance(value, list):
            if value and move < 0.3:
                del value[rng.randrange(len(value))]
            elif value and move < 0.55:
                value.insert(rng.randrange(len(value) + 1), copy.deepcopy(rng.choice(value)))
            elif move < 0.8:
                rng.shuffle(value)
            elif seen.get(_key(path)):
                _set(out, path, copy.deepcopy(rng.choice(seen[_key(path)])))
        elif isinstance(value, bool):
            _set(out, path, not value)
        elif isinstance(value, int | float):
            number = _number(rng, value)
            _set(out, path, float(number) if isinstance(number, str) and "E" not in number else number)
        elif isinstance(value, str) and _DATE.match(value) and move < 0.6:
            _set(out, path, _shift(value, rng.choice((-400, -40, -31, -1, 1, 2, 29, 30, 91, 365, 3000))))
        elif seen.get(_key(path)):
            _set(out, path, copy.deepcopy(rng.choice(seen[_key(path)])))
    if rng.random() < 0.2:  # the whole scenario moved in time
        out = json.loads(_shift(json.dumps(out), rng.randrange(-800, 800)))
    return out


def inputs() -> list[str]:
    samples = [(kind, json.loads(line)) for kind, line in sample_lines() if kind in KINDS]
    seen: dict[str, list[Any]] = {}
    for _, data in samples:
        for path, value in _leaves(data):
            if path and value not in seen.setdefault(_key(path), []):
                seen[_key(path)].append(value)
    rng = random.Random(20261201)
    lines = [json.dumps(data, ensure_ascii=False) for _, data in samples]
    for _, data in samples:
        for _ in range(MUTANTS_PER_SAMPLE):
            lines.append(json.dumps(mutate(rng, data, seen), ensure_ascii=False))
    return list(dict.fromkeys(lines))


def main() -> None:
    from engine import load_rules

    rules = load_rules(REPO / "rules")
    brief = rules.brief()
    with lzma.open(GOLDEN, "wt", encoding="utf-8", preset=9) as out:
        for line in inputs():
            out.write(json.dumps({"input": line, "outputs": outputs(rules, brief, line)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
