"""Benchmarks run in CI only as tiny smoke runs: they must work, their figures are not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_validate_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "validate.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ratio validate/baseline" in result.stdout
    assert "| 40 | " in result.stdout  # the generated rule set validated clean (exit 0 above)


def test_criteria_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "criteria.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| engine" in result.stdout and "billrules (generated)" in result.stdout


def test_credits_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "credits.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # exit 1 if the two allocators differ
    assert "| depth | candidates per org |" in result.stdout and "| 3 | 100 |" in result.stdout


def test_decide_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "decide.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # exit 1 if a sample is refused by the rules
    assert "## Shipped rules:" in result.stdout and "| purchase | " in result.stdout
    assert "| **billrules** |" in result.stdout and "| discounts | " in result.stdout
    assert "Generated rule set, 40 discount definitions" in result.stdout


def test_run_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # exits non-zero if a run loses a scenario
    assert "| 400 | 1 | 1 |" in result.stdout and "| 400 | 1 | 2 |" in result.stdout
    assert "| read | parse | validate | decide | serialise | write |" in result.stdout


def test_instructions_benchmark_counts_a_pass_or_says_valgrind_is_missing() -> None:
    """`benchmarks/instructions.py` needs valgrind (not a dependency of the project): with it, a
    positive count per decision of the shipped rules; without it, exit 2 and the way to install it."""
    import shutil

    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "instructions.py"), "--definitions", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if shutil.which("valgrind") is None:
        assert result.returncode == 2 and "apt install valgrind" in result.stderr
        return
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("| shipped rules"))
    assert int(row.rsplit("|", 2)[1].strip().replace(",", "")) > 0
