"""Instructions per decision, counted by valgrind: a figure the machine's load does not move.

    python benchmarks/instructions.py                    # shipped rules and 400 generated definitions
    python benchmarks/instructions.py --definitions 0    # shipped rules only

On a shared machine the wall-clock figures of `benchmarks/decide.py` swing by a fifth from one run
to the next; the instructions a decision takes do not. Each rule set runs twice under
`valgrind --tool=cachegrind --cache-sim=no` (not installed with the project: `apt install
valgrind`): the sample lines decided (brief reasons, as a billing run decides, `decide_json` from
the JSON text) three times to warm what the rule set keeps, then once more in one run and four
times more in the other (`PYTHONHASHSEED=0`: sets and memos alike in every run). The difference of the two runs' totals over the three extra passes is
the instructions of one pass, so loading, warming up and the process's start cancel out. After
warming up, what the collector would find is collected and frozen, and the child leaves by
`os._exit`: until 2026-12-04 a full collection falling into the passes or not, and the
interpreter's exit freeing what the process made, moved the figure by up to 7 %. The
figure is of repeated lines, as `decide.py`'s "billrules" row (its "distinct scenarios" row meets
fewer kept results).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: run under valgrind: decide the sample lines `passes` times after three passes of warming up
_CHILD = """
import gc, os, sys, tempfile
from pathlib import Path
repo = Path(sys.argv[1]); definitions = int(sys.argv[2]); passes = int(sys.argv[3])
sys.path[:0] = [str(repo), str(repo / "benchmarks")]
import decide
from engine import load_rules
if definitions:
    from validate import generate_rules
    target = Path(tempfile.mkdtemp(prefix="billrules-instructions-")) / "rules"
    generate_rules(repo / "rules", target, definitions)
    rules = load_rules(target).brief()
else:
    rules = load_rules(repo / "rules").brief()
kept, _ = decide.decidable(rules, decide.sample_lines())
texts = [text for _, text in kept]
run = decide.engine(rules)
for _ in range(3):
    for text in texts:
        run(text)
gc.collect()  # what warming up left, collected and set aside: the passes' collections are theirs
gc.freeze()
for _ in range(passes):
    for text in texts:
        run(text)
print("lines", len(texts), flush=True)
os._exit(0)  # (the interpreter's exit frees what the process made: its cost varies from run to run)
"""


def instructions(definitions: int, passes: int) -> tuple[int, int]:
    """(instructions of the whole process, sample lines decided per pass)."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-c",
            _CHILD,
            str(REPO),
            str(definitions),
            str(passes),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same sets in the same order, run after run
    )
    total = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    lines = re.search(r"^lines (\d+)$", done.stdout, re.MULTILINE)
    if total is None or lines is None:
        raise SystemExit(f"valgrind gave no count:\n{done.stderr[-2000:]}")
    return int(total.group(1).replace(",", "")), int(lines.group(1))


def per_decision(definitions: int) -> tuple[int, int]:
    """Instructions of one decision (the mean over the sample lines), and the lines."""
    one, lines = instructions(definitions, 1)
    four, _ = instructions(definitions, 4)
    return (four - one) // (3 * lines), lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--definitions", type=int, default=400, help="generated discount definitions (0: the shipped rules only)"
    )
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    print("| rule set | sample lines | instructions per decision |")
    print("|---|---:|---:|")
    for count in sorted({0, args.definitions}):
        found, lines = per_decision(count)
        name = "shipped rules" if count == 0 else f"{count:,} generated definitions"
        print(f"| {name} | {lines} | {found:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
