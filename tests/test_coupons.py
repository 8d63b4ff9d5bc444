"""Coupon codes (SPEC 3.5, seed 003): generation, decoding, overlap (BR440), the `coupons` command."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.cli.main import main
from engine.coupons import CodeSpace, CouponIndex, overlap, range_start, template_problem, to_base
from engine.models.catalog import Coupon

REPO = Path(__file__).resolve().parent.parent
RULES = str(REPO / "rules")


def coupon(template: str, charset: str = "numeric", quantity: int = 5, start: int | str = 0, code: str = "c") -> Any:
    return Coupon.model_validate(
        {
            "kind": "coupon",
            "code": code,
            "name": code,
            "provider": "ACME",
            "charset": charset,
            "template": template,
            "quantity": quantity,
            "redemption_quantity": 1,
            "range_start": start,
            "bundle": "b",
            "validity": {"from": "2015-01-01"},
        }
    )


def space(*args: Any, **kwargs: Any) -> CodeSpace:
    found = CodeSpace.of(coupon(*args, **kwargs))
    assert found is not None
    return found


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


# worked examples -------------------------------------------------------------------------------


def test_seed_example_numeric_codes() -> None:
    minus_20 = space("coupon_##", "numeric", 5, 87)
    assert list(minus_20.codes()) == ["coupon_87", "coupon_88", "coupon_89", "coupon_90", "coupon_91"]
    assert minus_20.index("coupon_89") == 2
    assert minus_20.index("coupon_92") is None and minus_20.index("coupon_86") is None
    assert minus_20.index("COUPON_87") is None  # matching is case-sensitive


def test_alphanumeric_codes_count_in_base_36() -> None:
    welcome = space("ACME-####", "alphanumeric", 500, "A000")
    codes = list(welcome.codes())
    assert codes[:3] == ["ACME-A000", "ACME-A001", "ACME-A002"]
    assert codes[9:17] == [f"ACME-A00{c}" for c in "9ABCDEFG"]
    assert codes[35:37] == ["ACME-A00Z", "ACME-A010"]
    assert welcome.index("ACME-A00F") == 15 and welcome.code(15) == "ACME-A00F"
    assert welcome.index("ACME-a00F") is None


def test_numeric_codes_are_zero_padded_and_marks_need_not_be_adjacent() -> None:
    assert list(space("X#-#Y", "numeric", 3, 8).codes()) == ["X0-8Y", "X0-9Y", "X1-0Y"]


def test_range_start_is_the_first_codes_characters() -> None:
    assert range_start("a000", 36) == int("A000", 36)
    assert range_start(1000, 36) == int("1000", 36)  # a YAML number on an alphanumeric coupon: its digits
    assert range_start(87, 10) == 87
    assert range_start("8A", 10) is None and range_start(-1, 10) is None


def test_generation_is_lazy() -> None:
    # (the most codes a coupon may have: a quantity has at most 15 digits, since 2026-12-04)
    huge = space("H" + "#" * 15, "numeric", 10**15 - 1, 0)
    first = huge.codes()
    assert [next(first) for _ in range(2)] == ["H000000000000000", "H000000000000001"]
    assert huge.index("H999999999999998") == 10**15 - 2


def test_template_problems() -> None:
    assert template_problem(coupon("coupon")).message == "template `coupon` has no `#` position to fill"  # type: ignore[union-attr]
    too_small = template_problem(coupon("coupon_##", quantity=20, start=87))
    assert too_small is not None and "too few for codes up to 106" in too_small.message
    assert template_problem(coupon("c_##", "numeric", start="8Z")) is not None
    assert template_problem(coupon("c_##", "numeric", quantity=100, start=0)) is None


# properties ------------------------------------------------------------------------------------

_FIXED = st.sampled_from("AB1-z")


@st.composite
def coupons(draw: st.DrawFn, code: str = "c") -> CodeSpace:
    """A coupon that passes validation: a short template over a tiny alphabet (so pairs collide often)."""
    parts = draw(st.lists(st.one_of(_FIXED, st.just("#")), min_size=1, max_size=5))
    if "#" not in parts:
        parts.append("#")
    template = "".join(parts)
    charset = draw(st.sampled_from(["numeric", "alphanumeric"]))
    base = 10 if charset == "numeric" else 36
    room = base ** template.count("#")
    start = draw(st.integers(0, room - 1))
    quantity = draw(st.integers(1, min(room - start, 60)))
    return space(template, charset, quantity, start if base == 10 else to_base(start, 36), code)


@settings(max_examples=60, deadline=None)
@given(coupons())
def test_generation_is_injective_reproducible_and_decodes_back(s: CodeSpace) -> None:
    codes = list(s.codes())
    assert codes == list(s.codes()) == [s.code(i) for i in range(s.quantity)]
    assert len(set(codes)) == s.quantity
    index = CouponIndex([s])
    for i, code in enumerate(codes):
        assert len(code) == len(s.template)
        assert s.index(code) == i
        assert index.decode(code) == (s, i)


@settings(max_examples=150, deadline=None)
@given(coupons("a"), coupons("b"))
def test_overlap_is_exact_and_a_code_never_decodes_to_another_coupon(a: CodeSpace, b: CodeSpace) -> None:
    shared = overlap(a, b)
    common = set(a.codes()) & set(b.codes())
    if shared is None:  # the rule set validates: no code of one coupon decodes to the other
        assert not common
        index = CouponIndex([a, b])
        for s in (a, b):
            for i, code in enumerate(s.codes()):
                assert index.decode(code) == (s, i)
    else:  # BR440: the witness is the smallest code the two share
        assert shared == min(common)
        assert a.index(shared) is not None and b.index(shared) is not None


@settings(max_examples=150, deadline=None)
@given(coupons("a"), st.data())
def test_overlap_of_one_template_is_exact(a: CodeSpace, data: st.DataObject) -> None:
    # the same template and charset (one numbering) is decided by the ranges alone: the same as
    # the walk over the characters, checked against the codes themselves
    room = a.base ** a.template.count("#")
    start = data.draw(st.integers(0, room - 1))
    quantity = data.draw(st.integers(1, min(room - start, 60)))
    b = CodeSpace("b", a.template, a.base, start, quantity)
    common = set(a.codes()) & set(b.codes())
    assert overlap(a, b) == (min(common) if common else None)


def test_templates_that_cannot_spell_one_code_are_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    # campaigns of fixed texts differing in one character (SPRING0001-####, ...): 300 took 17 s
    from engine import coupons as module

    def walked(*args: Any) -> Any:
        raise AssertionError("walked")

    monkeypatch.setattr(module, "_Side", walked)
    spring = [CodeSpace(f"s{i}", f"SPRING{i:04d}-####", 10, 0, 100) for i in range(40)]
    assert all(overlap(x, y) is None for x in spring for y in spring if x is not y)
    assert overlap(CodeSpace("a", "AB-##", 10, 0, 10), CodeSpace("b", "AB-##", 10, 5, 10)) == "AB-05"
    assert overlap(CodeSpace("a", "A#", 10, 0, 10), CodeSpace("b", "AZ", 36, 0, 1)) is None  # Z is no digit


# BR409 and BR440 in rule files -----------------------------------------------------------------

BUNDLE = """\
kind: product
code: P
name: P
type: expense
price: 5.00 EUR
---
kind: bundle
code: B
name: B
validity: {from: 2015-01-01}
products: [{product: P}]
"""


def _coupon_yaml(code: str, template: str, quantity: int, start: int | str, charset: str = "numeric") -> str:
    return (
        f"---\nkind: coupon\ncode: {code}\nname: {code}\nprovider: ACME\ncharset: {charset}\ntemplate: '{template}'\n"
        f"quantity: {quantity}\nredemption_quantity: 1\nrange_start: {start}\nbundle: B\nvalidity: {{from: 2015-01-01}}\n"
    )


def test_overlapping_coupons_are_an_error_naming_both(ruleset: Callable[..., Path]) -> None:
    ruleset(
        {
            "coupons.yaml": BUNDLE
            + _coupon_yaml("spring", "SALE-##", 50, 10)
            + _coupon_yaml("summer", "SALE-##", 20, 55)
            + _coupon_yaml("autumn", "SALE-##", 10, 80)
        }
    )
    code, out, _ = run_cli(["validate", "."])
    assert code == 1
    assert (
        "coupons.yaml:30:11: error[BR440] coupons `spring` and `summer` can both generate the code `SALE-55` "
        "(`spring` is at coupons.yaml:18:11)"
    ) in out
    assert (  # at both places, each naming the other (each a CI annotation of its own)
        "coupons.yaml:18:11: error[BR440] coupons `spring` and `summer` can both generate the code `SALE-55` "
        "(`summer` is at coupons.yaml:30:11)"
    ) in out
    overlaps = [line for line in out.splitlines() if "BR440" in line]  # (BUNDLE's coupons grant no discount: BR433)
    assert not any("autumn" in line for line in overlaps) and len(overlaps) == 2


def test_alphanumeric_and_numeric_coupons_overlap_on_digit_codes(ruleset: Callable[..., Path]) -> None:
    ruleset(
        {"c.yaml": BUNDLE + _coupon_yaml("num", "X##", 100, 0) + _coupon_yaml("alnum", "X##", 40, "0Z", "alphanumeric")}
    )
    code, out, _ = run_cli(["validate", "."])
    assert code == 1 and "coupons `alnum` and `num` can both generate the code `X10`" in out


def test_template_without_marks_and_range_too_large(ruleset: Callable[..., Path]) -> None:
    ruleset({"c.yaml": BUNDLE + _coupon_yaml("none", "SALE", 5, 0) + _coupon_yaml("small", "S-#", 11, 0)})
    code, out, _ = run_cli(["validate", "."])
    assert code == 1
    assert "c.yaml:18:11: error[BR409] template `SALE` has no `#` position to fill" in out
    assert "c.yaml:30:11: error[BR409] template `S-#` has 1 position, too few for codes up to 10" in out


def test_a_range_start_is_read_as_written(ruleset: Callable[..., Path]) -> None:
    """A YAML integer not written as its digits is not taken for the number YAML makes of it:
    `0x10` starts an alphanumeric coupon at the base-36 text `0X10` (not at `16`), and is no
    numeric value; leading zeros of a numeric start are its digits."""
    ruleset(
        {
            "c.yaml": BUNDLE
            + _coupon_yaml("hexy", "H####", 3, "0x10", "alphanumeric")
            + _coupon_yaml("zeros", "Z####", 3, "0042")
        }
    )
    code, out, _ = run_cli(["coupons", "hexy", "--rules", "."])
    assert code == 0 and out.split() == ["H0X10", "H0X11", "H0X12"], out
    code, out, _ = run_cli(["coupons", "zeros", "--rules", "."])
    assert code == 0 and out.split() == ["Z0042", "Z0043", "Z0044"], out
    ruleset({"c.yaml": BUNDLE + _coupon_yaml("hexy", "H####", 3, "0x10")})
    code, out, _ = run_cli(["validate", "."])
    assert code == 1 and "error[BR409] range start `0x10` is not a numeric value" in out
    # YAML reads `5E2` as the number 500.0, its text lost: refused, not taken for 500 (EX0500 ...)
    for charset in ("alphanumeric", "numeric"):
        ruleset({"c.yaml": BUNDLE + _coupon_yaml("expo", "E####", 3, "5E2", charset)})
        code, out, _ = run_cli(["validate", "."])
        assert code == 1, out
        assert "`range_start`: reads as the number 500.0; write the range start in quotes" in out
    ruleset({"c.yaml": BUNDLE + _coupon_yaml("expo", "E####", 3, '"5E2"', "alphanumeric")})
    code, out, _ = run_cli(["coupons", "expo", "--rules", "."])
    assert code == 0 and out.split() == ["E05E2", "E05E3", "E05E4"], out


def test_shipped_coupons_do_not_overlap() -> None:
    a, b = space("coupon_##", "numeric", 5, 87), space("ACME-####", "alphanumeric", 500, "A000")
    assert overlap(a, b) is None


# the `coupons` command -------------------------------------------------------------------------


def test_coupons_command_prints_the_seed_codes() -> None:
    assert run_cli(["coupons", "minus-20", "--rules", RULES]) == (
        0,
        "coupon_87\ncoupon_88\ncoupon_89\ncoupon_90\ncoupon_91\n",
        "",
    )


def test_unknown_coupon_exits_1_with_did_you_mean() -> None:
    code, out, err = run_cli(["coupons", "minus20", "--rules", RULES])
    assert (code, out) == (1, "")
    assert "no coupon `minus20`" in err and "hint: did you mean `minus-20`?" in err
    code, _, err = run_cli(["coupons", "ACME-A00F", "--rules", RULES])
    assert code == 1 and "a generated code of coupon `welcome-sports` (number 16 of 500)" in err


def test_coupons_command_reports_a_broken_rule_set(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"c.yaml": BUNDLE + _coupon_yaml("none", "SALE", 5, 0)})
    code, out, err = run_cli(["coupons", "none", "--rules", str(root)])
    assert (code, out) == (1, "") and "error[BR409]" in err


def test_a_million_codes_stream_and_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    with (rules / "catalog" / "coupons.yaml").open("a", encoding="utf-8") as f:
        f.write(_coupon_yaml("million", "MIL-######", 1_000_000, 0).replace("bundle: B", "bundle: minus-20-bundle"))
    script = shutil.which("billrules")
    assert script is not None
    began = time.monotonic()
    process = subprocess.Popen(
        [script, "coupons", "million", "--rules", str(rules)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": ""},
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"MIL-000000\n"
    assert process.stdout.readline() == b"MIL-000001\n"
    process.stdout.close()  # the reader stops early, like `| head -2`
    assert process.wait(timeout=30) == 0
    assert process.stderr.read() == b""
    process.stderr.close()
    assert time.monotonic() - began < 20


# nearest: a few codes per coupon, never every code (issue 11) ------------------------------------

BIG = CouponIndex(
    [
        space("MEGA-#######", "numeric", 1_000_000, 1000, "mega"),
        space("coupon_##", "numeric", 5, 87, "minus-20"),
        space("ACME-####", "alphanumeric", 500, "A000", "acme"),
    ]
)


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [
        ("coupon_92", "coupon_91"),  # past the last code: the last
        ("coupon_07", "coupon_87"),  # before the first: the first
        ("mega-0001234", "MEGA-0001234"),  # case only
        ("MEGA-9999999", "MEGA-1000999"),  # past the last of a million
        # a character the charset lacks gives no number: the first code (until 2026-12-03 it read
        # as 0, `MEGA-0001234`, and `coupon_8٩` named `coupon_87`)
        ("MEGA-00x1234", "MEGA-0001000"),
        ("ACME-A0ZZ", "ACME-A0DV"),  # base 36: the last of 500 from A000
        ("zzz", "coupon_91"),  # nothing alike: difflib's tie-break, the larger code
        # in a coupon's shape, out of its range: the nearest end, not the most similar text (an
        # audit's 2026-12-02 finding: `ROAM-004` of 005…014 was told `ROAM-014`, 020 `ROAM-005`)
        ("coupon_86", "coupon_87"),
        ("coupon_08", "coupon_87"),
        ("coupon_99", "coupon_91"),
        ("COUPON_95", "coupon_91"),
        ("MEGA-0000999", "MEGA-0001000"),
        ("acme-zzzz", "ACME-A0DV"),
        ("coupon_8\u200b8", "coupon_88"),  # a zero-width space pasted inside a valid code: that code
    ],
)
def test_nearest_names_a_close_code_without_enumerating(typed: str, nearest: str) -> None:
    assert BIG.nearest(typed) == nearest


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="coupnACMEGA_-0123456789xZ", max_size=14))
def test_nearest_always_names_a_real_code(typed: str) -> None:
    found = BIG.nearest(typed)
    assert found is not None and BIG.decode(found) is not None
