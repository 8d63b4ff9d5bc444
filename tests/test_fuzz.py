"""Fuzz harness: mutants of the shipped rule files and samples never break the command's contract.

Every mutant (lines deleted, duplicated, swapped, re-indented; scalars replaced by odd values,
tags, anchors, huge numbers, control characters) is run through the real command line
(`billrules validate` for rule files, `billrules decide` for samples) and must:

- exit 0 or 1 — never 2, which is also how an `internal error` exits;
- write nothing to standard error for `validate`, and no `internal error` or traceback ever;
- give every diagnostic a file and a line (JSON report);
- finish within a generous time bound (a hang or an explosion fails, noise does not).

CI runs a few hundred examples, derandomised so that a run is reproducible. A long local
campaign draws fresh examples every time:

    FUZZ_EXAMPLES=100000 pytest tests/test_fuzz.py -x

A failing example is printed by hypothesis (the mutated file and its name) and kept in its
example database, so the next run tries it first.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RULE_FILES = sorted(p.relative_to(REPO / "rules") for p in (REPO / "rules").rglob("*.yaml"))
SAMPLES = sorted((REPO / "samples").rglob("*.yaml"))
CAMPAIGN = "FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
#: Far above any honest run (the shipped rule set validates in well under a second); only a
#: hang or an explosion reaches it.
TIME_BOUND_SECONDS = 20.0

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not CAMPAIGN,
    # Shrinking a mutant can take minutes; CI prints the unshrunk mutant, which is readable
    # enough. A local campaign shrinks.
    phases=list(Phase) if CAMPAIGN else [Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

ODD_SCALARS = [
    "",
    "~",
    "null",
    "[]",
    "{}",
    "-1",
    "0",
    "1e400",
    "-.inf",
    ".nan",
    "9" * 5000,
    "0x" + "f" * 5000,
    "0o" + "7" * 5000,
    "1" + "0" * 40 + " EUR",
    "1e26 EUR",
    "1E-10 EUR",
    "0.001 EUR",
    "-5.00 EUR",
    "10.00 XXX",
    "99999999999 days",
    "0 months",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31T23:59:59Z",
    "10000-01-01",
    "!!int abc",
    "!!int 1.5",
    "!!float x",
    "!!int",
    "!!bool maybe",
    "!!timestamp x",
    "!!binary aGk=",
    "!!set {a}",
    "!!python/object/apply:os.system [echo]",
    "!custom x",
    "&anchor x",
    "*undefined",
    "'unterminated",
    '"\\x00\\x1b[2J\\n"',
    "|",
    ">-",
    "{a: [b, {c: d}]}",
    "[" * 200 + "]" * 200,
    "yes",
    "on",
    "true",
    "\t",
    "a: b: c",
    "- x",
    "'\u2028\u0085'",
    "%YAML 1.3",
]


@st.composite
def mutants(draw: st.DrawFn, text: str) -> str:
    """`text` with 1 to 4 line-level mutations."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [draw(st.sampled_from(ODD_SCALARS))]
            continue
        at = draw(st.integers(0, len(lines) - 1))
        operation = draw(
            st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "scalar", "key", "insert", "bytes"])
        )
        line = lines[at]
        if operation == "delete":
            del lines[at]
        elif operation == "duplicate":
            lines.insert(at, line)
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
        elif operation == "indent":
            lines[at] = " " * draw(st.integers(1, 4)) + line
        elif operation == "dedent":
            lines[at] = line.lstrip()
        elif operation == "scalar" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(ODD_SCALARS))}"
        elif operation == "key" and ":" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines[at] = indent + draw(st.sampled_from(ODD_SCALARS)) + ":" + line.split(":", 1)[1]
        elif operation == "insert":
            lines.insert(at, draw(st.sampled_from(["---", "...", "%TAG ! tag:x,2000:", "%YAML 2.0", "? x", ": y"])))
        else:
            lines[at] = line + draw(st.text(max_size=8))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


def _run(args: list[str]) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - start


def _assert_contract(code: int, out: str, err: str, elapsed: float) -> None:
    assert code in (0, 1), f"exit {code}: {err}{out[-2000:]}"
    assert "internal error" not in err and "Traceback" not in err, err
    assert elapsed < TIME_BOUND_SECONDS, f"took {elapsed:.1f} s"


@pytest.fixture(scope="module")
def rules_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fuzz") / "rules"
    shutil.copytree(REPO / "rules", root)
    yield root


@FUZZ
@given(data=st.data(), name=st.sampled_from(RULE_FILES))
def test_mutated_rule_files_keep_the_contract(rules_copy: Path, data: st.DataObject, name: Path) -> None:
    path = rules_copy / name
    original = (REPO / "rules" / name).read_text(encoding="utf-8")
    path.write_text(data.draw(mutants(original), label="mutant"), encoding="utf-8", errors="surrogatepass")
    try:
        code, out, err, elapsed = _run(["validate", "--format", "json", "--max-diagnostics", "0", str(rules_copy)])
    finally:
        path.write_text(original, encoding="utf-8")
    _assert_contract(code, out, err, elapsed)
    assert err == ""
    report = json.loads(out)
    assert report["count"] == len(report["diagnostics"])
    assert (code == 1) == bool(report["diagnostics"])
    for diagnostic in report["diagnostics"]:
        assert diagnostic["file"] and diagnostic["line"] >= 1 and diagnostic["column"] >= 1, diagnostic
        assert diagnostic["code"].startswith("BR") and diagnostic["message"], diagnostic


@FUZZ
@given(data=st.data(), sample=st.sampled_from(SAMPLES))
def test_mutated_samples_keep_the_contract(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, sample: Path
) -> None:
    path = tmp_path_factory.mktemp("sample") / sample.name
    original = sample.read_text(encoding="utf-8")
    path.write_text(data.draw(mutants(original), label="mutant"), encoding="utf-8", errors="surrogatepass")
    for command in (["decide", "--json"], ["test"]):
        code, out, err, elapsed = _run([*command, "--rules", str(REPO / "rules"), str(path)])
        _assert_contract(code, out, err, elapsed)
        for line in err.splitlines():
            assert not line.startswith("billrules: error"), err


def test_the_mutator_changes_its_input() -> None:
    """Guard against a harness that fuzzes nothing: mutants differ from the original."""
    original = (REPO / "rules" / RULE_FILES[0]).read_text(encoding="utf-8")

    @settings(max_examples=30, derandomize=True, deadline=None)
    @given(mutants(original))
    def check(mutant: str) -> None:
        changed.append(mutant != original)

    changed: list[bool] = []
    check()
    assert sum(changed) >= 20
