"""Currencies come from CLDR (babel), shipped as a generated table the engine reads without babel."""

from __future__ import annotations

import subprocess
import sys

from engine.generate_currencies import main as regenerate
from engine.values import MINOR_UNITS, currency_problem


def test_the_shipped_table_matches_the_installed_cldr_data() -> None:
    assert regenerate(["--check"]) == 0


def test_minor_units_of_well_known_currencies() -> None:
    assert (MINOR_UNITS["EUR"], MINOR_UNITS["USD"], MINOR_UNITS["JPY"], MINOR_UNITS["BHD"]) == (2, 2, 0, 3)
    assert len(MINOR_UNITS) > 250


def test_an_unknown_currency_is_named_with_the_nearest_real_one() -> None:
    assert currency_problem("EUR") is None
    assert currency_problem("EUX") == "`EUX` is not an ISO 4217 currency; did you mean `EUR`?"
    assert currency_problem("GPB") == "`GPB` is not an ISO 4217 currency; did you mean `GBP`?"
    assert currency_problem("QQQ") is not None and "did you mean" not in (currency_problem("QQQ") or "")
    assert currency_problem("CRD", extra=("CRD",)) is None  # a rule set's own unit, declared in minor_units


def test_the_engine_does_not_import_babel() -> None:
    code = "import sys, engine.values, engine.cli.main; print('babel' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
