"""Hostile YAML gives a diagnostic and exit 1: never a traceback, never a hang.

Each case runs the installed `billrules` script in a subprocess with a timeout, so a hang fails
the test instead of stalling the suite, and stderr must stay empty (no traceback).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

LAUGHS = (
    "\n".join(
        [
            "kind: product",
            "code: LOL",
            "name: lol",
            "type: expense",
            'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        ]
        + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    )
    + "\n"
)


def validate(root: Path) -> tuple[int, list[dict[str, object]], str]:
    script = shutil.which("billrules")
    assert script
    result = subprocess.run(
        [script, "validate", "--format", "json", str(root)], capture_output=True, text=True, timeout=60
    )
    diagnostics = json.loads(result.stdout)["diagnostics"] if result.stdout else []
    return result.returncode, diagnostics, result.stderr


CASES: dict[str, tuple[Callable[[], str | bytes], str, str]] = {
    "alias bomb": (lambda: LAUGHS, "BR108", "expands to more than 100,000 values"),
    "10 MB file": (
        lambda: "kind: segment\ncode: S\nname: S\n" + "# padding\n" * 1_100_000,
        "BR101",
        "file is too large",
    ),
    "10,000-deep flow nesting": (
        lambda: "kind: segment\ncode: S\nname: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "BR107",
        "nesting is too deep",
    ),
    # the C parser would crash on this one; the loader must route it to the pure parser
    "100,000-deep flow nesting": (
        lambda: "kind: segment\ncode: S\nname: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "BR107",
        "nesting is too deep",
    ),
    # block nesting needs an indent per level: 1,500 levels is what fits under the size limit
    "1,500-deep block nesting": (
        lambda: (
            "kind: segment\ncode: S\nname:\n"
            + "".join(" " * i + f"k{i}:\n" for i in range(1, 1_500))
            + " " * 1_500
            + "x: 1\n"
        ),
        "BR107",
        "nesting is too deep",
    ),
    "python object tag": (
        lambda: 'kind: segment\ncode: !!python/object/apply:os.system ["touch pwned"]\nname: S\n',
        "BR106",
        "is not allowed in rule files",
    ),
    "python name tag": (
        lambda: "kind: segment\ncode: S\nname: !!python/name:os.system\n",
        "BR106",
        "is not allowed in rule files",
    ),
    "duplicate keys": (lambda: "kind: segment\ncode: S\nname: S\nname: T\n", "BR105", "duplicate key `name`"),
    "invalid UTF-8": (lambda: b"kind: segment\ncode: S\nname: \xff\xfe\n", "BR103", "invalid UTF-8"),
    "binary file": (lambda: bytes(range(256)) * 40, "BR102", "binary file"),
    "control characters": (lambda: "kind: segment\ncode: S\nname: a\x07b\n", "BR104", "YAML syntax error"),
    "unclosed quote": (lambda: 'kind: segment\ncode: "S\n', "BR104", "YAML syntax error"),
    "undefined alias": (lambda: "kind: segment\ncode: *nothing\n", "BR104", "YAML syntax error"),
    # refused at its 100,001st value, before the other 900,000 are parsed
    "a million numbers in 2 MiB": (lambda: "[" + "1," * 999_999 + "1]", "BR108", "expands to more than 100,000 values"),
    "tag on a value of another type": (
        lambda: "kind: segment\ncode: S\nname: !!int abc\n",
        "BR114",
        "is not an integer",
    ),
    "empty integer": (lambda: "kind: segment\ncode: S\nname: !!int\n", "BR114", "an empty value is not an integer"),
    "timestamp tag": (lambda: "kind: segment\ncode: S\nname: !!timestamp x\n", "BR106", "not allowed"),
    "YAML 1.3": (lambda: "%YAML 1.3\n---\nkind: segment\n", "BR115", "YAML version `1.3` is not supported"),
    "TAG directive": (lambda: "%TAG !e! tag:e.com,2026:\n---\nkind: segment\n", "BR115", "`%TAG` directives"),
    "integer of 5,000 digits": (lambda: "kind: segment\ncode: S\nname: " + "9" * 5000 + "\n", "BR116", "too long"),
    "hex integer of 4,000 digits": (
        lambda: "kind: segment\ncode: S\nname: 0x" + "f" * 4000 + "\n",
        "BR116",
        "too long",
    ),
    "reused anchor (a ruamel warning)": (lambda: "kind: segment\ncode: &x S\nname: &x T\n", "BR118", "defined twice"),
    # libyaml refuses it; ruamel's pure parser failed with chr()'s ValueError ("internal error")
    "escape past U+10FFFF": (
        lambda: 'kind: segment\ncode: S\nname: "\\U00110000"\n',
        "BR104",
        "the escape `\\U00110000` is beyond the last Unicode character",
    ),
    "escape far past U+10FFFF (OverflowError)": (
        lambda: 'kind: segment\ncode: S\nname: "\\UFFFFFFFF"\n',
        "BR104",
        "beyond the last Unicode character",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_a_diagnostic(name: str, ruleset: Callable[..., Path]) -> None:
    make, code, message = CASES[name]
    root = ruleset({"hostile.yaml": make()})
    exit_code, diagnostics, stderr = validate(root)
    assert stderr == ""
    assert exit_code == 1
    assert [d["code"] for d in diagnostics] == [code], diagnostics
    assert message in str(diagnostics[0]["message"])
    assert diagnostics[0]["hint"]
    assert not (root / "pwned").exists()


def test_unreadable_file(ruleset: Callable[..., Path]) -> None:
    root = ruleset({})
    (root / "gone.yaml").symlink_to(root / "missing-target.yaml")
    exit_code, diagnostics, stderr = validate(root)
    assert (exit_code, stderr) == (1, "")
    assert diagnostics[0]["code"] == "BR100" and "cannot read file" in str(diagnostics[0]["message"])


def test_merge_keys_and_anchors_are_supported_and_explicit_keys_win(ruleset: Callable[..., Path]) -> None:
    root = ruleset(
        {
            "p.yaml": """\
        kind: product
        code: FEE
        <<: {name: &name Fee, type: expense, price: 5.00 EUR}
        type: usage
        description: *name
        """
        }
    )
    assert validate(root)[:2] == (0, [])
    from engine.load import load_file

    document = load_file(root / "p.yaml").documents[0]
    assert document.data == {
        "kind": "product",
        "code": "FEE",
        "type": "usage",
        "name": "Fee",
        "price": "5.00 EUR",
        "description": "Fee",
    }


def test_yaml_12_keeps_yes_and_no_as_text(ruleset: Callable[..., Path]) -> None:
    from engine.load import load_file

    root = ruleset({"s.yaml": "kind: segment\ncode: NO\nname: yes\n"})
    assert load_file(root / "s.yaml").documents[0].data == {"kind": "segment", "code": "NO", "name": "yes"}


def test_yaml_12_flow_mappings_with_times_load_like_the_pure_parser(ruleset: Callable[..., Path]) -> None:
    """libyaml refuses `{at: 10:00}`; the loader must still accept what YAML 1.2 accepts."""
    from engine.load import load_file

    root = ruleset(
        {"s.yaml": "kind: segment\ncode: S\nname: S\ndescription: {at: 2015-09-03T10:00:00+02:00, from: 22:00}\n"}
    )
    source = load_file(root / "s.yaml")
    assert source.diagnostics == []
    assert source.documents[0].data["description"] == {"at": "2015-09-03T10:00:00+02:00", "from": "22:00"}
