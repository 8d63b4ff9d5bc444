"""Cold-start cost of `billrules validate`: what a pre-commit hook pays on every commit.

Two measurements in one run, each validate a fresh process, timed by its CPU time (user + system
of the child, from `os.wait4`: steadier than wall time on a shared machine):

1. **Cold start** on the shipped rules: interleaved rounds, each running the baseline process
   `python -c "import pydantic, ruamel.yaml, jsonschema, lark"` and then
   `python -m engine validate rules/`, so that both see the same machine load. Reported: median
   and range of each, the ratio of the medians, and the median and range of the per-round ratios.
   The budget (issue 8) is a ratio of at most 1.5.
2. **Scaling**: rule sets of 40, 400 and 4,000 discount definitions generated into a temporary
   folder from the shipped rules (every definition a variant of a shipped one, with distinct
   values, and a `when:` expression mixing maturity, money, durations, date windows, product
   quantifiers and usage windows on top of its sections), validated in fresh processes, with the
   CPU per stage of the pipeline measured in one more (in-process) run.

Before measuring, the engine's bytecode is compiled (`compileall`), as `pip install` does: a
checkout run with PYTHONDONTWRITEBYTECODE would otherwise compile every module on every start.

    python benchmarks/validate.py [--runs 15] [--sizes 40,400,4000] [--scale-runs 3] [RULES_DIR]
    python benchmarks/validate.py --quick      # CI smoke run: a few seconds
    python benchmarks/validate.py --runs 1 --sizes 4000 --keep /tmp/bench   # keeps /tmp/bench/rules-4000
    python -m cProfile -o /tmp/p.out -m engine validate /tmp/bench/rules-4000   # then pstats
"""

from __future__ import annotations

import argparse
import compileall
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BASELINE = "import pydantic, ruamel.yaml, jsonschema, lark"
BUDGET = 1.5
PER_FILE = 50  # generated definitions per rule file


def cpu_seconds(command: Sequence[str], cwd: Path | None = None) -> tuple[float, int]:
    """User + system CPU time of one child process, and its exit code."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def _spread(values: Sequence[float], scale: float = 1000.0, unit: str = "ms") -> str:
    return (
        f"{statistics.median(values) * scale:7.1f} {unit}  (range {min(values) * scale:.1f}-{max(values) * scale:.1f})"
    )


def cold_start(rules: Path, runs: int, warm_up: bool = True) -> bool:
    python = sys.executable
    validate = [python, "-m", "engine", "validate", str(rules)]
    if warm_up:  # the file cache, for both
        cpu_seconds([python, "-c", BASELINE])
        cpu_seconds(validate, cwd=REPO)
    code = 0
    baseline: list[float] = []
    timings: list[float] = []
    for _ in range(runs):
        baseline.append(cpu_seconds([python, "-c", BASELINE])[0])
        seconds, code = cpu_seconds(validate, cwd=REPO)
        timings.append(seconds)
    ratios = [v / b for v, b in zip(timings, baseline, strict=True)]
    ratio = statistics.median(timings) / statistics.median(baseline)
    files = sum(1 for _ in rules.rglob("*.y*ml"))
    print(f"## Cold start: {rules} ({files} rule files), {runs} interleaved rounds, CPU time (user+sys)\n")
    print(f"  baseline  python -c {BASELINE!r}: {_spread(baseline)}")
    print(f"  billrules validate (exit code {code}):{' ' * max(0, 23 - len(str(code)))}{_spread(timings)}")
    print(
        f"  ratio validate/baseline: {ratio:.2f} (median of rounds {statistics.median(ratios):.2f}, "
        f"range {min(ratios):.2f}-{max(ratios):.2f}); budget {BUDGET}\n"
    )
    return code == 0


# --- generated rule sets ------------------------------------------------------------------------------


def _when(i: int, classification: str) -> str:
    """A `when:` expression of several kinds of criteria, with a constant unique to definition `i`."""
    months, days = 1 + i % 36, 7 + i
    money = f"{1 + i // 100}.{i % 100:02d} EUR"
    day = (date(2015, 1, 1) + timedelta(days=i)).isoformat()
    if classification == "job":
        return [
            f'job.type == "installation" and any p in job.products where p.price >= {money}',
            f'not account.segments overlaps {{"delinquent", "fraud-watch"}} and account.due_in_days <= {days}',
            f"count(p in job.products where p.quantity >= {1 + i % 3}) >= 1 and as_of.date >= {day}",
        ][i % 3]
    return [
        f'subscription.maturity >= {months} months and account.classification in {{"Residential", "SME"}}'
        f" and subscription.age <= {days} days",
        f'any p in subscription.products where p.price >= {money} and p.type == "termed"',
        f'subscription.start between 2014-01-01 and {day} and not account.segments overlaps {{"delinquent"}}',
        f"uninterrupted(subscription, {days} days) >= {months} months or account.due_in_days between 0 and 30",
        f"count(u in usage where u.at.weekday == saturday and u.at.time >= {18 + i % 5}:00 within {days} days)"
        f" <= {1 + i % 9}",
        f"sum(subscription.products.price) * {5 + i % 20}% >= {money}"
        f" and subscription.binding_period <= {12 + i % 24} months",
        f'all p in subscription.products where p.bundle != "{_BUNDLES[i % len(_BUNDLES)]}"'
        f" and p.quantity <= {1 + i % 4} and p.price <= {money}",
    ][i % 7]


#: shipped bundles the generated conditions name (codes in expressions are checked against the catalog)
_BUNDLES = ("tv-essentials-bundle", "sports-bundle", "movies-bundle", "family-bundle", "multiroom-bundle")


def _variant(base: dict[str, Any], i: int, count: int) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    if i >= count:  # the first round keeps the shipped codes: bundles and coupons refer to them
        doc["code"] = f"{base['code']}-{i:05d}"
        doc["name"] = f"{base['name']} ({i})"
    amount = doc.get("amount", {})
    if amount.get("type") == "percentage" and "value" in amount:
        amount["value"] = 1 + i % 40
    criteria = doc.get("criteria")
    if criteria is None:
        return doc
    _vary_sections(criteria, i)
    if "when" in criteria:
        criteria["when"] = criteria["when"].replace("6 months", f"{1 + i % 24} months")
    else:
        criteria["when"] = _when(i, doc["classification"])
    return doc


SEGMENTS = ("late-installation", "delinquent", "acme-staff", "vip", "students", "fraud-watch")
CLASSIFICATIONS = ("Residential", "SME", "Business", "Government", "Wholesale")
FREQUENCIES = ("monthly", "bimonthly", "quarterly", "semi_annual", "yearly")


def _pick(pool: Sequence[str], i: int, size: int) -> list[str]:
    return [pool[(i + k * 3) % len(pool)] for k in range(size)]


def _vary_sections(criteria: dict[str, Any], i: int) -> None:
    """Different values in the sections (codes that exist in the shipped catalog, or free text)."""
    subscription = criteria.get("subscription", {})
    if subscription.get("maturity"):
        subscription["maturity"]["at_least"] = f"{1 + i % 36} months"
    if subscription.get("types"):
        subscription["types"] = [*subscription["types"], f"type-{i % 97}"]
    segments = criteria.get("segments", {})
    if segments.get("exclude"):
        include = set(segments.get("include", []))
        segments["exclude"] = sorted({s for s in _pick(SEGMENTS, i, 1 + i % 3) if s not in include}) or ["delinquent"]
    receivable = criteria.get("accounts_receivable", {})
    if receivable.get("classifications"):
        receivable["classifications"] = sorted(set(_pick(CLASSIFICATIONS, i, 1 + i % 3)))
    billing_term = criteria.get("billing_term", {})
    if billing_term.get("billing_frequencies"):
        billing_term["billing_frequencies"] = sorted(set(_pick(FREQUENCIES, i, 1 + i % 4)))
    usage = criteria.get("usage", {})
    if usage.get("devices"):
        usage["devices"] = [*usage["devices"], f"device-{i % 53}"]
    total = criteria.get("quantitative", {}).get("total_quantity")
    if total and "min" in total:
        total["min"] = 1 + i % 10


def generate_rules(shipped: Path, target: Path, definitions: int) -> None:
    """A copy of the shipped rule set whose discounts are `definitions` variants of the shipped ones."""
    from ruamel.yaml import YAML

    from engine.load import load_file

    shutil.copytree(shipped, target, ignore=shutil.ignore_patterns("discounts"))
    bases = [
        doc.data
        for path in sorted((shipped / "discounts").glob("*.yaml"))
        for doc in load_file(path).documents
        if doc.data.get("kind") == "discount"
    ]
    out = target / "discounts"
    out.mkdir()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    for start in range(0, definitions, PER_FILE):
        docs = [
            _variant(bases[i % len(bases)], i, len(bases)) for i in range(start, min(start + PER_FILE, definitions))
        ]
        with (out / f"generated-{start // PER_FILE:04d}.yaml").open("w", encoding="utf-8") as f:
            yaml.dump_all(docs, f)


#: the stages of `compile_ruleset`, timed one by one in a fresh process (as `validate` runs them)
_STAGES_CODE = """
import contextlib, json, sys, time
from pathlib import Path
start = time.process_time()
import engine.pipeline as pipeline
import engine.criteria.parse as parse
c = pipeline.Compilation(Path(sys.argv[1]).resolve())
times = {"imports": time.process_time() - start}
texts = []
if hasattr(parse, "_syntax_tree"):  # count the expressions parsed (each call) and distinct texts
    cached = parse._syntax_tree
    def counting(text):
        texts.append(text)
        return cached(text)
    counting.cache_clear, counting.cache_info = cached.cache_clear, cached.cache_info
    parse._syntax_tree = counting
with getattr(pipeline, "_collector_paused", contextlib.nullcontext)():
    for name, _, stage in pipeline.STAGES:
        t = time.process_time()
        stage(c)
        times[name] = time.process_time() - t
times["expressions"] = len(c.criteria.entries) + len(c.criteria.credit_entries) if c.criteria else 0
times["parsed"] = len(texts) if texts else None
times["distinct"] = len(set(texts)) if texts else None
print(json.dumps(times))
"""
STAGE_COLUMNS = (
    ("load", ("load",)),
    ("schema", ("schema",)),
    ("models", ("kinds", "models")),
    ("references + semantics", ("references", "semantics")),
    ("criteria", ("criteria",)),
)


def scaling(shipped: Path, sizes: Sequence[int], runs: int, keep: Path | None = None) -> bool:
    python = sys.executable
    rows = []
    clean = True
    with tempfile.TemporaryDirectory(prefix="billrules-bench-") as tmp:
        for size in sizes:
            target = (keep or Path(tmp)) / f"rules-{size}"
            if keep is not None and target.exists():
                shutil.rmtree(target)
            generate_rules(shipped, target, size)
            timings = []
            code = 0
            for _ in range(runs):
                seconds, code = cpu_seconds([python, "-m", "engine", "validate", str(target)], cwd=REPO)
                timings.append(seconds)
            stages = json.loads(
                subprocess.run(
                    [python, "-c", _STAGES_CODE, str(target)], cwd=REPO, capture_output=True, text=True, check=True
                ).stdout
            )
            clean = clean and code == 0
            rows.append((size, timings, code, stages))
    print(f"## Scaling: generated rule sets, CPU time of a fresh `billrules validate` (median of {runs})\n")
    print(
        "| definitions | conditions | expressions parsed (distinct) | exit | validate CPU s | range s | ms per definition | growth |"
        + "".join(f" {name} s |" for name, _ in STAGE_COLUMNS)
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(STAGE_COLUMNS))
    previous: tuple[int, float] | None = None
    for size, timings, code, stages in rows:
        median = statistics.median(timings)
        growth = "" if previous is None else f"{median / previous[1]:.1f}x for {size / previous[0]:.0f}x"
        parsed = "" if stages["parsed"] is None else f"{stages['parsed']:,} ({stages['distinct']:,})"
        cells = "".join(f" {sum(stages[k] for k in keys):.2f} |" for _, keys in STAGE_COLUMNS)
        print(
            f"| {size:,} | {stages['expressions']:,} | {parsed} | {code} | {median:.2f} | {min(timings):.2f}-{max(timings):.2f} "
            f"| {median / size * 1000:.2f} | {growth} |{cells}"
        )
        previous = (size, median)
    print(
        "\nconditions: sections and `when:` expressions type-checked; expressions parsed: every entry of every "
        "section and every `when:` (distinct: the texts the parser saw, the others came from its cache). "
        "Stage columns: CPU of each stage in one more run, in-process.\n"
    )
    return clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("rules", nargs="?", default=str(REPO / "rules"))
    parser.add_argument("--runs", type=int, default=15, help="interleaved cold-start rounds (default 15)")
    parser.add_argument("--sizes", default="40,400,4000", help="generated definitions per rule set")
    parser.add_argument("--scale-runs", type=int, default=3, help="validate runs per generated rule set")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round, 40 definitions, 1 run, no warm-up")
    parser.add_argument(
        "--keep", metavar="DIR", type=Path, help="write the generated rule sets to DIR/rules-N (kept) for profiling"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.sizes, args.scale_runs = 1, "40", 1
    started = time.perf_counter()
    compileall.compile_dir(REPO / "engine", quiet=1)
    rules = Path(args.rules).resolve()
    ok = cold_start(rules, args.runs, warm_up=not args.quick)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    ok = scaling(rules, [int(s) for s in args.sizes.split(",")], args.scale_runs, args.keep) and ok
    print(f"({time.perf_counter() - started:.0f} s wall; python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
