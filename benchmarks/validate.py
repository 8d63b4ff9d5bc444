"""Cold-start cost of `billrules validate rules/`: what a pre-commit hook pays on every commit.

Each run is a fresh process (interpreter start, imports, parser build, validation), timed from
outside. Also reported: the import time of the package alone, and the interpreter's own start as
the baseline measured in the same run.

    python benchmarks/validate.py [--runs 15] [RULES_DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _median_seconds(command: list[str], runs: int) -> tuple[float, int]:
    timings = []
    code = 0
    for _ in range(runs):
        start = time.perf_counter()
        code = subprocess.run(command, capture_output=True, check=False).returncode
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rules", nargs="?", default=str(REPO / "rules"))
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    python = sys.executable
    baseline, _ = _median_seconds([python, "-c", "pass"], args.runs)
    imports, _ = _median_seconds(
        [python, "-c", "import engine.validate, engine.pipeline, engine.schema, engine.models"], args.runs
    )
    validate, code = _median_seconds([python, "-m", "engine", "validate", args.rules], args.runs)
    files = sum(1 for _ in Path(args.rules).rglob("*.y*ml"))
    print(f"rule files: {files}   runs: {args.runs}   exit code of validate: {code}")
    print(f"{'interpreter start (baseline)':34} {baseline * 1000:7.1f} ms")
    print(f"{'start + import engine':34} {imports * 1000:7.1f} ms")
    print(
        f"{'billrules validate (cold)':34} {validate * 1000:7.1f} ms   ({validate / baseline:.1f}x interpreter start)"
    )
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
