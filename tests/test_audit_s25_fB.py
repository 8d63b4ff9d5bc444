"""Audit m3 of the twenty-fifth session (2026-12-04), findings F2 and F4: hostile rule files.

- F2: `code: commit-12m` with its `c` the Cyrillic U+0441 was BR205 "`commit-12m` is not a code",
  and each correct reference `commit-12m` was BR302 "unknown term", with "did you mean
  `commit-12m`?" naming the Cyrillic one (a malformed code that renders as the correct one). The malformed code now
  stands for its ASCII look-alike (`engine.lookalikes.skeleton`), so the correct references are
  not reported; "did you mean" never names a malformed code; BR205 names the character.
- F4: a word where a number goes (`threshold: "twenty"`, `quantity: one`) or a currency that is
  not a code (`default_currency: "x"`) was "does not have the expected form" with the field's
  description as hint; it says "is not a number" / "is not a currency code" now, with an example.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.diagnostics import Diagnostic
from engine.lookalikes import lookalike_problems, skeleton
from engine.pipeline import compile_ruleset
from engine.references import meant_code

REPO = Path(__file__).resolve().parent.parent


def _rules(tmp_path: Path, *edits: tuple[str, str, str]) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    for file, old, new in edits:
        path = root / file
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


def _errors(root: Path) -> list[Diagnostic]:
    return [d for d in compile_ruleset(root).diagnostics if d.severity.value == "error"]


# --- F2: a code with a look-alike letter ------------------------------------------------------------


def test_skeleton_is_the_ascii_look_alike() -> None:
    assert skeleton("\u0441ommit-12m") == "commit-12m"  # Cyrillic es
    assert skeleton("install\u0430tion-fee") == "installation-fee"  # Cyrillic a
    assert skeleton("c\u03bfmm\u0456t-12m") == "commit-12m"  # Greek omicron, Cyrillic i
    assert skeleton("commit\u200b-12m") == "commit-12m"  # zero-width space
    assert skeleton("\uff43ommit\u201312m") == "commit-12m"  # fullwidth c, en dash
    assert skeleton("caf\u00e9") == "caf\u00e9"  # a letter of its own is kept
    assert meant_code("\u0441ommit-12m") == meant_code("commit-12m") == "commit12m"


def test_lookalike_problems_name_the_character() -> None:
    assert (
        lookalike_problems("\u0441ommit-12m")
        == "`\u0441` (U+0441 CYRILLIC SMALL LETTER ES) at character 1 looks like `c`"
    )
    assert lookalike_problems("commit\u200b-12m") == "U+200B ZERO WIDTH SPACE at character 7 is invisible"
    assert lookalike_problems("commit-12m") == ""


@pytest.mark.parametrize(
    ("file", "old", "new", "kind", "meant", "character"),
    [
        (
            "catalog/terms.yaml",
            "\ncode: commit-12m\n",
            "\ncode: \u0441ommit-12m\n",
            "term",
            "commit-12m",
            "`\u0441` (U+0441 CYRILLIC SMALL LETTER ES) at character 1 looks like `c`",
        ),
        (
            "catalog/products.yaml",
            "\ncode: installation-fee\n",
            "\ncode: install\u0430tion-fee\n",
            "product",
            "installation-fee",
            "`\u0430` (U+0430 CYRILLIC SMALL LETTER A) at character 8 looks like `a`",
        ),
        (
            "catalog/terms.yaml",
            "\ncode: commit-12m\n",
            '\ncode: "commit\\u200b-12m"\n',
            "term",
            "commit-12m",
            "U+200B ZERO WIDTH SPACE at character 7 is invisible",
        ),
    ],
)
def test_a_lookalike_code_is_one_error_naming_its_character(
    tmp_path: Path, file: str, old: str, new: str, kind: str, meant: str, character: str
) -> None:
    errors = _errors(_rules(tmp_path, (file, old, new)))
    assert [(Path(d.file).name, d.code) for d in errors] == [(Path(file).name, "BR205")]
    (error,) = errors
    assert character in error.message
    assert error.message.startswith("`") and "is not a code (in `code`): " in error.message
    assert error.hint == f"write it in ASCII: `code: {meant}`"
    assert not any(f"unknown {kind}" in d.message for d in errors)


def test_did_you_mean_never_names_a_malformed_code(tmp_path: Path) -> None:
    # a misspelt reference beside the malformed code: the suggestion is the code it looks like
    root = _rules(
        tmp_path,
        ("catalog/terms.yaml", "\ncode: commit-12m\n", "\ncode: \u0441ommit-12m\n"),
        ("catalog/plans.yaml", "term: commit-12m", "term: comit-12m"),
    )
    unknown = [d for d in _errors(root) if d.code == "BR302"]
    assert [(d.message, d.hint) for d in unknown] == [("unknown term `comit-12m`", "did you mean `commit-12m`?")]
    assert not any("\u0441ommit" in d.hint for d in _errors(root))


# --- F4: a word where a number or a currency code goes ----------------------------------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "message", "hint"),
    [
        (
            "credits/balance_policies.yaml",
            "  threshold: 20\n",
            '  threshold: "twenty"\n',
            "`twenty` is not a number (in `alerts.threshold`)",
            "write a number, e.g. `threshold: 20` (Alert threshold in credits)",
        ),
        (
            "credits/credits.yaml",
            "\nquantity: 1\n",
            "\nquantity: one\n",
            "`one` is not a number (in `quantity`)",
            "write a number, e.g. `quantity: 20` (Number of offers or amount granted (more than zero))",
        ),
        (
            "discounts/loyalty.yaml",
            "      more_than: 1\n",
            "      more_than: many\n",
            "`many` is not a number (in `criteria.billing_term.concurrent_usage.more_than`)",
            "write a number, e.g. `more_than: 20` (Holds when the value is greater than this)",
        ),
        (
            "discounts/loyalty.yaml",
            "      more_than: 1\n",
            '      more_than: "1,000"\n',
            "`1,000` is not a number (in `criteria.billing_term.concurrent_usage.more_than`)",
            "write it as a plain number: `more_than: 1000`",
        ),
        (
            "ruleset.yaml",
            "default_currency: EUR\n",
            'default_currency: "x"\n',
            "`x` is not a currency code (in `default_currency`)",
            "write a 3-letter ISO 4217 code, e.g. `default_currency: EUR`",
        ),
        (
            "ruleset.yaml",
            "default_currency: EUR\n",
            "default_currency: euro\n",
            "`euro` is not a currency code (in `default_currency`)",
            "did you mean `default_currency: EUR`? (a 3-letter ISO 4217 code, in capitals)",
        ),
    ],
)
def test_a_word_where_a_number_or_currency_goes_says_what_to_write(
    tmp_path: Path, file: str, old: str, new: str, message: str, hint: str
) -> None:
    errors = _errors(_rules(tmp_path, (file, old, new)))
    assert [(d.code, d.message, d.hint) for d in errors] == [("BR205", message, hint)]


def test_a_number_with_its_unit_still_says_to_write_it_alone(tmp_path: Path) -> None:
    errors = _errors(
        _rules(tmp_path, ("credits/balance_policies.yaml", "  threshold: 20\n", "  threshold: 20 credits\n"))
    )
    assert [(d.message, d.hint) for d in errors] == [
        (
            "`20 credits` is not a number (in `alerts.threshold`)",
            "write the number alone: `threshold: 20` (the unit is the field's own)",
        )
    ]
