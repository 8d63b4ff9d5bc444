"""`billrules coupons CODE --rules DIR`: a coupon's generated codes, one per line, streamed.

The codes are written as they are generated (a coupon of a million codes starts printing at
once and runs in constant memory); a reader that stops early (`| head`) ends the command quietly
with exit 0. Exit 1 for an unknown coupon (with "did you mean") or a rule set with errors, 2 for
usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from itertools import islice
from typing import Any, TextIO

from engine.cli.exits import EXIT_FINDINGS, EXIT_OK, silence
from engine.cli.reporters import add_report_options
from engine.cli.safe_text import printable


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "coupons", help="print a coupon's generated codes, one per line"
    )
    parser.add_argument("coupon", metavar="CODE", help="the coupon's code (its `code:` in the rule files)")
    parser.add_argument(
        "--rules",
        default="rules",
        metavar="DIR",
        help="the rule set (its root folder; default: rules/, else the nearest ruleset.yaml above)",
    )
    add_report_options(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from engine.cli.decide_cmd import load_rules_or_report
    from engine.coupons import index_of

    rules = load_rules_or_report(args.rules, args.max_diagnostics)
    if rules is None:
        return EXIT_FINDINGS
    index = index_of(rules)
    space = index.spaces.get(args.coupon)
    if space is None:
        sys.stderr.write(f"billrules: no coupon `{printable(args.coupon)}` in {printable(args.rules)}\n")
        sys.stderr.write(f"  hint: {printable(_hint(args.coupon, index, rules))}\n")
        return EXIT_FINDINGS
    codes: Iterator[str] = space.codes()
    if printable(space.template) != space.template:  # the generated characters are always safe
        codes = (printable(code) for code in codes)
    _stream(codes, sys.stdout)  # a reader that stopped early is not a failure
    return EXIT_OK


def _hint(name: str, index: Any, rules: Any) -> str:
    from engine.decide.purchases import _named_coupon
    from engine.diagnostics import did_you_mean

    named = _named_coupon(rules, name)  # a coupon's name (`MINUS 20`), as purchases tell it (until 2026-12-02 not here)
    if named is not None:
        from engine.decide.decision import lookup
        from engine.decide.purchases import _folded

        coupon = named.facts["coupon"]
        written = lookup(rules, "coupon")[coupon].name
        as_named = " ".join(name.split()).casefold() == " ".join(written.split()).casefold()
        if not as_named and (_folded(name) == _folded(coupon) or _folded(name) != _folded(written)):
            return f"did you mean `{coupon}`?"  # the code, case or separators aside (`MINUS-20`)
        return f"`{name}` is the name of coupon `{coupon}`; list its codes with `billrules coupons {coupon}`"
    found = index.decode(name)
    if found is not None:
        space, number = found
        return (
            f"`{name}` is a generated code of coupon `{space.coupon}` (number {number + 1} of {space.quantity}); "
            f"list them with `billrules coupons {space.coupon}`"
        )
    known = sorted(index.spaces)
    return did_you_mean(name, known) or (
        f"the rule set's coupons: {', '.join(known)}" if known else "the rule set defines no coupon"
    )


def _stream(codes: Iterator[str], out: TextIO) -> bool:
    """Write every code; False when the reader went away (a closed pipe is not an error)."""
    try:
        while batch := list(islice(codes, 1024)):  # a few KB a write: prompt output, few system calls
            out.write("\n".join(batch) + "\n")
            out.flush()
    except BrokenPipeError:
        silence(out)
        return False
    return True
