"""Generate a billing-run input (JSON Lines) from the YAML samples: every question the engine answers.

    python samples/run/generate.py                      # rewrites samples/run/nightly.jsonl (2,000 scenarios)
    python samples/run/generate.py --count 200000 --output /tmp/big.jsonl

Each line is one sample scenario (discounts, credits, balance, cancellation, purchase) with its
`expect:` part removed and a unique id (`<sample id>/<n>`), drawn in a seeded order so the mix
is the samples' mix and the file is the same on every machine. Lines are compact JSON, as a
billing system exports them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent
sys.path.insert(0, str(SAMPLES.parent))


def sample_scenarios() -> list[dict[str, Any]]:
    """Every scenario of samples/ (without `expect:`), in file order."""
    from engine.decide.scenarios import read_scenarios

    found = []
    for path in sorted(SAMPLES.rglob("*.yaml")):
        for item in read_scenarios(path):
            if item.document is not None and isinstance(item.document.data, dict):
                data = dict(item.document.data)
                data.pop("expect", None)
                found.append(data)
    return found


def lines(count: int, seed: int = 12) -> Iterator[str]:
    """`count` scenario lines: samples drawn at random (seeded), each with a unique id."""
    pool = sample_scenarios()
    rnd = random.Random(seed)
    for n in range(1, count + 1):
        scenario = dict(rnd.choice(pool))
        scenario["id"] = f"{scenario['id']}/{n}"
        yield json.dumps(scenario, ensure_ascii=False, separators=(",", ":"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--output", type=Path, default=HERE / "nightly.jsonl")
    args = parser.parse_args()
    with args.output.open("w", encoding="utf-8") as out:
        for line in lines(args.count, args.seed):
            out.write(line + "\n")


if __name__ == "__main__":
    main()
