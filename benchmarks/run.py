"""A billing run end to end: throughput on 1 and 2 workers, where the time goes, and peak memory.

    python benchmarks/run.py                          # 200,000 and 1,000,000 scenarios, 3 rounds
    python benchmarks/run.py --sizes 200000 --rounds 3
    python benchmarks/run.py --quick                  # CI smoke run: 400 scenarios, one round

Workload: the shipped rules (`rules/`) and a JSON Lines input of N scenarios drawn (seeded) from
every sample scenario (`samples/run/generate.py`: discounts on subscriptions and jobs, credits,
balances, cancellations, purchases). Each round runs, interleaved:

- the baseline, in this process: `RuleSet.decide` in a loop over up to 20,000 of the same
  scenarios already parsed into memory (validation and decision; nothing read or written);
- `billrules run --workers 1` and `--workers 2` over the file, each in a fresh process (so its
  peak memory is its own), reading, deciding and writing everything.

Reported per size: medians over rounds (and the spread, min-max) of scenarios per second
(rules loading excluded; pool start-up included), the ratio 2 workers / 1 worker, the ratio of
the run's time per scenario to the baseline's (wall and CPU), the CPU time of the whole run per
scenario and the cores it actually got (CPU / wall: on a shared machine 2 workers may get much
less than 2 cores), how much of the run some task waited for a core (Linux PSI `some`: other work
on the machine, or the run's own processes outnumbering the cores), the time per scenario by stage (read, parse, validate, decide, serialise,
write: CPU time summed over workers, divided by scenarios), and the peak resident memory of the
parent and of the largest worker (VmHWM). At the largest size only the
2-worker run is repeated when `--large-rounds` is 1 (to show memory stays flat, not to time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "samples" / "run"))

from generate import lines as scenario_lines  # noqa: E402

from engine.ruleset import load_rules  # noqa: E402

BASELINE_MAX = 20_000
MIB = 1024 * 1024


def write_input(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for line in scenario_lines(count):
            out.write(line + "\n")


def baseline(rules: Any, scenarios: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds per scenario of the in-memory `RuleSet.decide` loop: wall time, CPU time."""
    start, cpu = time.perf_counter(), time.process_time()
    for scenario in scenarios:
        rules.decide(scenario)
    return (time.perf_counter() - start) / len(scenarios), (time.process_time() - cpu) / len(scenarios)


def billing_run(source: Path, folder: Path, workers: int) -> dict[str, Any]:
    """One `billrules run` in a fresh process; its summary (JSON)."""
    summary = folder / f"summary-{workers}.json"
    command = [sys.executable, "-m", "engine", "run", "--rules", str(REPO / "rules"), "--input", str(source)]
    command += ["--output", str(folder / f"out-{workers}.jsonl"), "--errors", str(folder / f"errors-{workers}.jsonl")]
    command += ["--workers", str(workers), "--summary", str(summary), "--no-progress"]
    stalled, before, wall = stall_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter() - wall
    if result.returncode != 0:
        sys.exit(f"billrules run failed ({result.returncode}):\n{result.stderr}")
    data: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
    # CPU time of the run and its workers (waited for, so counted): rules loading and start-up included
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    data["cpu_us_per_scenario"] = cpu / data["scenarios"] * 1e6
    # cores the run actually got: on a shared machine, 2 workers may get far less than 2
    data["cores_used"] = cpu / wall
    # how much of the run some task (any: this run's, or other work on the machine) waited for a core
    data["waiting"] = (stall_seconds() - stalled) / wall if stalled >= 0 else float("nan")
    if not data["balanced"] or data["errors"]:
        sys.exit(f"the run lost or refused scenarios: {data}")
    return data


def stall_seconds() -> float:
    """Seconds some runnable task has waited for a CPU since boot (Linux PSI `some total`), or -1."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as f:
            return int(dict(part.split("=") for part in f.readline().split()[1:])["total"]) / 1e6
    except (OSError, KeyError, ValueError):
        return -1.0


def pressure() -> str:
    """How often runnable tasks waited for a CPU over the last minute (Linux PSI), or why unknown."""
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as f:
            fields = dict(part.split("=") for part in f.readline().split()[1:])
        return f"CPU pressure {float(fields['avg60']):.0f}% (tasks waiting for a core, last minute)"
    except (OSError, KeyError, ValueError):
        return "CPU pressure unknown"


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def measure(count: int, rounds: int, folder: Path, rules: Any, only_two: bool) -> dict[str, Any]:
    source = folder / f"in-{count}.jsonl"
    write_input(source, count)
    with source.open(encoding="utf-8") as f:
        sample = [json.loads(next(f)) for _ in range(min(count, BASELINE_MAX))]
    results: dict[str, list[Any]] = {"baseline": [], "1": [], "2": []}
    for _ in range(rounds):
        if not only_two:
            results["baseline"].append(baseline(rules, sample))
            results["1"].append(billing_run(source, folder, 1))
        results["2"].append(billing_run(source, folder, 2))
    if not only_two:
        one = (folder / "out-1.jsonl").read_bytes()
        if one != (folder / "out-2.jsonl").read_bytes():
            sys.exit("1 and 2 workers wrote different output")
    source.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000", help="comma-separated scenario counts")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per size (but the largest)")
    parser.add_argument("--large-rounds", type=int, default=1, help="rounds at the largest size (2 workers only if 1)")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 400 scenarios, one round")
    args = parser.parse_args()
    sizes = [400] if args.quick else [int(s) for s in args.sizes.split(",")]
    rounds = 1 if args.quick else args.rounds
    rules = load_rules(REPO / "rules").brief()  # the in-memory loop decides as a run does by default
    load = os.getloadavg()
    print(
        f"billing run benchmark: {os.cpu_count()} cores, load average {load[0]:.1f} and {pressure()} at start "
        "(a shared machine: figures are noisy; medians with min–max over interleaved rounds)\n"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="billrules-run-bench-") as tmp:
        for i, size in enumerate(sizes):
            largest = i == len(sizes) - 1 and len(sizes) > 1
            only_two = largest and args.large_rounds == 1
            n = args.large_rounds if largest else rounds
            rows.append((size, n, measure(size, n, Path(tmp), rules, only_two)))
    report(rows)
    print(f"\nat the end: load average {os.getloadavg()[0]:.1f}, {pressure()}")


def report(rows: list[tuple[int, int, dict[str, Any]]]) -> None:
    print(
        "| scenarios | rounds | workers | scenarios/s | 2 workers / 1 | run / in-memory loop, wall "
        "| CPU µs per scenario, all processes | run / in-memory loop, CPU | cores used | waiting for a core "
        "| parent MiB | largest worker MiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, n, r in rows:
        for workers in ("1", "2"):
            runs = r[workers]
            if not runs:
                continue
            rate = spread([s["scenarios_per_second"] for s in runs])
            ratio = versus = versus_cpu = "—"
            if workers == "2" and r["1"]:
                pairs = zip(r["1"], runs, strict=True)
                ratio = spread([b["scenarios_per_second"] / a["scenarios_per_second"] for a, b in pairs], "{:.2f}")
            if workers == "1" and r["baseline"]:
                pairs = list(zip(runs, r["baseline"], strict=True))
                versus = spread([s["elapsed_seconds"] / s["scenarios"] / wall for s, (wall, _) in pairs], "{:.2f}")
                versus_cpu = spread([s["cpu_us_per_scenario"] / 1e6 / cpu for s, (_, cpu) in pairs], "{:.2f}")
            cpu_used = spread([s["cpu_us_per_scenario"] for s in runs])
            parent = max(s["peak_memory_bytes"]["parent"] for s in runs) / MIB
            worker = max((s["peak_memory_bytes"]["workers"] or 0) for s in runs) / MIB
            print(
                f"| {size:,} | {n} | {workers} | {rate} | {ratio} | {versus} | {cpu_used} | {versus_cpu} "
                f"| {spread([s['cores_used'] for s in runs], '{:.2f}')} "
                f"| {spread([s['waiting'] * 100 for s in runs], '{:.0f} %')} | {parent:,.0f} | {worker:,.0f} |"
            )
    print()
    print("CPU time per scenario by stage, µs (median over rounds; summed over workers; start-up excluded):")
    print()
    stages = ("read", "parse", "validate", "decide", "serialise", "write")
    print("| scenarios | workers | " + " | ".join(stages) + " | in-memory loop (validate + decide) |")
    print("|---:|---:|" + "---:|" * (len(stages) + 1))
    for size, _, r in rows:
        for workers in ("1", "2"):
            runs = r[workers]
            if not runs:
                continue
            cells = [statistics.median(s["microseconds_per_scenario_by_stage"][k] for s in runs) for k in stages]
            base = "—"
            if r["baseline"] and workers == "1":
                base = f"{statistics.median(cpu for _, cpu in r['baseline']) * 1e6:,.1f}"
            print(f"| {size:,} | {workers} | " + " | ".join(f"{c:,.1f}" for c in cells) + f" | {base} |")


if __name__ == "__main__":
    main()
