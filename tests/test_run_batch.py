"""`engine.run.decide_records`: scenarios held in memory decided in order, as a billing run
decides them (the same bytes), in this process or a pool, lazily."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine.ruleset import RuleSet, load_rules
from engine.run import Outcome, RunOptions, decide_records, run

REPO = Path(__file__).resolve().parent.parent
NIGHTLY = REPO / "samples" / "run" / "nightly.jsonl"


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(REPO / "rules").brief()


@pytest.fixture(scope="module")
def lines() -> list[str]:
    """80 scenarios of the shipped input, a bad line, one that asks nothing and a blank one among them."""
    found = NIGHTLY.read_text(encoding="utf-8").splitlines()[:80]
    found[5] = '{"id": "broken", '
    found[20] = '{"id": "z", "as_of": "2015-07-01T00:00:00Z"}'  # asks nothing: BR604
    found[41] = "   "
    return found


@pytest.fixture(scope="module")
def the_run(rules: RuleSet, lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    folder = tmp_path_factory.mktemp("run")
    source = folder / "in.jsonl"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    output, errors = folder / "out.jsonl", folder / "errors.jsonl"
    run(rules, RunOptions(str(source), str(output), errors=str(errors), workers=1, progress=False))
    return {
        "decisions": output.read_text(encoding="utf-8").splitlines(),
        "errors": errors.read_text(encoding="utf-8").splitlines(),
    }


def _split(found: list[Outcome]) -> tuple[list[str], list[str]]:
    return [o.text for o in found if o.kind == "decision"], [o.text for o in found if o.kind == "error"]


@pytest.mark.parametrize(("workers", "chunk_size"), [(1, 500), (1, 3), (2, 7)])
def test_the_outcomes_are_a_run_s_bytes_in_input_order(
    rules: RuleSet, lines: list[str], the_run: dict[str, list[str]], workers: int, chunk_size: int
) -> None:
    found = list(decide_records(rules, lines, workers=workers, chunk_size=chunk_size))
    decisions, errors = _split(found)
    assert decisions == the_run["decisions"]
    assert errors == the_run["errors"]
    assert [o.line for o in found] == [n for n in range(1, 81) if n != 42]  # every scenario; not the blank line
    assert [(o.line, o.kind) for o in found if o.kind == "error"] == [(6, "error"), (21, "error")]
    refused = json.loads(found[5].text)
    assert (refused["line"], refused["diagnostics"][0]["code"]) == (6, "BR601")
    assert found[20].scenario == "z" and "BR604" in found[20].text


def test_mappings_text_and_bytes_are_decided_alike(rules: RuleSet, lines: list[str]) -> None:
    good = [line for i, line in enumerate(lines) if i not in (5, 20, 41)][:10]
    assert len(good) == 10
    as_text = [o.text for o in decide_records(rules, good)]
    assert [o.text for o in decide_records(rules, [orjson.loads(line) for line in good])] == as_text
    assert [o.text for o in decide_records(rules, [line.encode() for line in good])] == as_text
    assert as_text == [rules.decide_json(orjson.loads(line)) for line in good]


def test_records_are_read_a_chunk_at_a_time(rules: RuleSet, lines: list[str]) -> None:
    """An endless source streams: the first outcomes come before the source ends."""
    taken: list[int] = []

    def endless() -> Iterator[str]:
        for number, line in enumerate(itertools.cycle(lines[:4]), start=1):
            taken.append(number)
            yield line

    first = list(itertools.islice(decide_records(rules, endless(), chunk_size=10), 25))
    assert [o.line for o in first] == list(range(1, 26))
    assert len(taken) == 30  # three chunks read, not the whole source


@pytest.mark.parametrize(
    ("records", "options", "error", "words"),
    [
        ([], {"workers": 0}, ValueError, "workers must be a whole number of at least 1, not 0"),
        ([], {"workers": True}, ValueError, "not True"),
        ([], {"chunk_size": 0}, ValueError, "chunk_size must be a whole number of at least 1"),
        ('{"id": "a"}', {}, TypeError, "not one text"),
        (b'{"id": "a"}', {}, TypeError, "not one text"),
    ],
)
def test_bad_arguments_are_refused_at_the_call(
    rules: RuleSet, records: Any, options: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        decide_records(rules, records, **options)


def test_no_records_give_no_outcomes(rules: RuleSet) -> None:
    assert list(decide_records(rules, [])) == []
    assert list(decide_records(rules, ["", "  "])) == []


def test_records_of_other_kinds_are_decided_or_refused_alone(rules: RuleSet, lines: list[str]) -> None:
    """README: "a bad scenario an error record, never an exception". A record that was neither a
    dict nor text raised `AttributeError` from the line reader, and the batch was lost."""
    import collections
    import types

    good = orjson.loads(lines[0])
    records: list[Any] = [
        None,
        5,
        [good],
        collections.UserDict(good),
        types.MappingProxyType(good),
        bytearray(lines[0].encode()),
        memoryview(lines[0].encode()),
        good,
    ]
    found = list(decide_records(rules, records))
    assert [o.line for o in found] == list(range(1, 9))
    expected = rules.decide_json(good)
    assert [o.text for o in found[3:]] == [expected] * 5
    refused = [json.loads(o.text)["diagnostics"][0] for o in found[:3]]
    assert [(r["code"], r["message"]) for r in refused] == [
        ("BR601", "the record is nothing (None), not a scenario"),
        ("BR601", "the record is a number, not a scenario"),  # (until 2026-12-04 "a int")
        ("BR601", "the record is a list, not a scenario"),
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_source_that_fails_gives_what_it_gave_then_its_error(rules: RuleSet, lines: list[str], workers: int) -> None:
    """With workers, the chunks in flight when the source raised were dropped: 0 outcomes where
    one worker gave 20, then the error."""

    def failing() -> Iterator[str]:
        yield from lines[:23]
        raise OSError("the source broke")

    found: list[Outcome] = []
    with pytest.raises(OSError, match="the source broke"):
        for outcome in decide_records(rules, failing(), workers=workers, chunk_size=10):
            found.append(outcome)
    assert [o.line for o in found] == [n for n in range(1, 21)]
    assert [o.text for o in found] == [o.text for o in decide_records(rules, lines[:20])]


def test_a_record_a_worker_cannot_be_sent_is_decided_here(rules: RuleSet, lines: list[str]) -> None:
    """A mapping holding a function cannot be pickled for a worker: the pool's pickling raised and
    every outcome in flight was lost; one worker refuses it at its field (BR602)."""
    records: list[Any] = [*lines[:12], {**orjson.loads(lines[0]), "id": lambda: 1}, *lines[12:20]]
    one = [o.text for o in decide_records(rules, records, chunk_size=5)]
    two = [o.text for o in decide_records(rules, records, workers=2, chunk_size=5)]
    assert two == one
    assert len(one) == 21 and json.loads(one[12])["diagnostics"][0]["code"] == "BR602"
