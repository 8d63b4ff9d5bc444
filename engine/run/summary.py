"""What a billing run did: counts that must balance, time, throughput, memory, the rules hash.

Written at the end of every run on stderr (for a person) and, with `--summary FILE`, as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.run.evaluate import Timings

MIB = 1024 * 1024


@dataclass
class Summary:
    input: str
    output: str
    errors_file: str | None
    rules_version: str
    executor: str  # "in-process", "processes" or "dask <address>"
    workers: int
    scenarios: int = 0  # scenarios read (non-blank lines or rows)
    decisions: int = 0  # decisions written
    errors: int = 0  # error records written (or reported on stderr without --errors)
    elapsed: float = 0.0
    stopped: str = ""  # why the run stopped before the end of its input, if it did
    timings: Timings = field(default_factory=Timings)
    parent_peak_bytes: int = 0
    workers_peak_bytes: int | None = None

    @property
    def balanced(self) -> bool:
        return self.scenarios == self.decisions + self.errors

    @property
    def throughput(self) -> float:
        return self.scenarios / self.elapsed if self.elapsed > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        per_scenario = {
            name: (seconds / self.scenarios * 1e6 if self.scenarios else 0.0)
            for name, seconds in self.timings.as_dict().items()
        }
        return {
            "input": self.input,
            "output": self.output,
            "errors_file": self.errors_file,
            "rules_version": self.rules_version,
            "executor": self.executor,
            "workers": self.workers,
            "scenarios": self.scenarios,
            "decisions": self.decisions,
            "errors": self.errors,
            "balanced": self.balanced,
            "complete": not self.stopped,
            "stopped": self.stopped or None,
            "elapsed_seconds": round(self.elapsed, 6),
            "scenarios_per_second": round(self.throughput, 1),
            "seconds_by_stage": self.timings.as_dict(),
            "microseconds_per_scenario_by_stage": {k: round(v, 2) for k, v in per_scenario.items()},
            "peak_memory_bytes": {"parent": self.parent_peak_bytes, "workers": self.workers_peak_bytes},
        }

    def text(self) -> str:
        """Three lines for a person (input-derived names are escaped by the caller)."""
        errors = f"{self.errors:,} error{'s' if self.errors != 1 else ''}"
        if self.errors_file:
            errors += f" (in {self.errors_file})"
        check = "every scenario accounted for" if self.balanced else "COUNTS DO NOT BALANCE"
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''} ({self.executor})"
        memory = f"peak memory {self.parent_peak_bytes / MIB:,.0f} MiB"
        if self.workers_peak_bytes:
            memory += f", workers {self.workers_peak_bytes / MIB:,.0f} MiB each at most"
        lines = [
            f"billrules run: {_count(self.scenarios, 'scenario')} in, {_count(self.decisions, 'decision')} out, "
            f"{errors}; {check}",
            f"  {self.elapsed:,.2f} s, {self.throughput:,.0f} scenarios/s, {workers}, {memory}",
            f"  rules {self.rules_version}",
        ]
        if self.stopped:
            lines.append(f"  stopped early: {self.stopped}")
        return "\n".join(lines) + "\n"


def _count(n: int, noun: str) -> str:
    """`1 scenario`, `2,000 scenarios`."""
    return f"{n:,} {noun}{'s' if n != 1 else ''}"
