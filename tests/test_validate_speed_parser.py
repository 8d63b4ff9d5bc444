"""The lean criteria driver runs on tables shipped as plain data (`engine/criteria/_lalr_tables.py`).

They are `engine.criteria.lalr.describe` of the generated Lark parser; a cold `billrules validate`
then imports neither the generated module nor builds Lark's parser (it does for a syntax error,
whose message Lark words). `tests/test_criteria_cache.py` compares the driver's trees with Lark's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.criteria._lalr_tables import TABLES
from engine.criteria._parser import Lark_StandAlone
from engine.criteria.lalr import Driver, describe
from tests.test_cold_start import _after_validate

REPO = Path(__file__).resolve().parent.parent


def test_the_shipped_tables_are_those_of_the_generated_parser() -> None:
    assert describe(Lark_StandAlone()) == TABLES


def test_the_check_command_agrees() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "engine.criteria.lalr", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_drivers_from_the_tables_and_from_lark_parse_alike() -> None:
    shipped, built = Driver(TABLES), Driver.from_lark(Lark_StandAlone())
    text = 'any p in subscription.products where p.price >= 10.00 EUR and account.segments overlaps {"vip"}'
    assert repr(_shape(shipped.parse(text))) == repr(_shape(built.parse(text)))


def _shape(node: object) -> object:
    children = getattr(node, "children", None)
    if children is None:
        return (getattr(node, "type", None), getattr(node, "value", None), getattr(node, "start_pos", None))
    return (getattr(node, "data", None), node.start_pos, node.end_pos, [_shape(c) for c in children])  # type: ignore[attr-defined]


def test_a_clean_validate_does_not_import_the_generated_parser() -> None:
    assert _after_validate("'engine.criteria._parser' in sys.modules") == "False"
