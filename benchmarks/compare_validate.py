"""CPU time of a fresh `billrules validate` in two checkouts, rounds interleaved (before/after).

On a shared machine the CPU time of one process moves by a third from one minute to the next;
running the two checkouts alternately, and comparing per round, is what makes a before/after
figure. Each checkout runs with its own `engine` package (`PYTHONPATH` and working directory).

    git archive <commit> | tar -x -C /tmp/before          # the code before a change
    python benchmarks/validate.py --runs 1 --sizes 4000 --scale-runs 1 --keep /tmp/bench
    python benchmarks/compare_validate.py /tmp/before . /tmp/bench/rules-4000 --rounds 7
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
from pathlib import Path


def cpu_seconds(checkout: Path, rules: Path) -> float:
    """User + system CPU of one `python -m engine validate rules` run in `checkout` (exit 0 or 1)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-m", "engine", "validate", str(rules)]
    process = subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"validate failed in {checkout}")
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="checkout of the code before")
    parser.add_argument("after", type=Path, help="checkout of the code after")
    parser.add_argument("rules", type=Path, help="rule set to validate")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    for checkout in checkouts.values():
        compileall.compile_dir(checkout / "engine", quiet=1)
        cpu_seconds(checkout, args.rules.resolve())  # the file cache
    times: dict[str, list[float]] = {name: [] for name in checkouts}
    for r in range(args.rounds):
        order = list(checkouts) if r % 2 == 0 else list(reversed(checkouts))
        for name in order:
            times[name].append(cpu_seconds(checkouts[name], args.rules.resolve()))
    for name, values in times.items():
        print(
            f"{name:6}  median {statistics.median(values):.2f} s  range {min(values):.2f}-{max(values):.2f}  "
            + " ".join(f"{v:.2f}" for v in values)
        )
    ratios = [b / a for b, a in zip(times["before"], times["after"], strict=True)]
    print(f"before/after per round: median {statistics.median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f}")
    # other work on the machine only ever adds CPU time (cache misses, a shared core): the
    # fastest round of each is the figure least disturbed by it
    print(f"before/after of the fastest rounds: {min(times['before']) / min(times['after']):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
