"""`billrules schema --kind KIND`: a readable table of every field, references resolved."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest

from engine.cli.main import main
from engine.schema_fields import field_rows
from engine.schemagen import COMBINED, all_schemas

KINDS = sorted(n.removesuffix(".schema.json") for n in all_schemas() if n != COMBINED)


def run_cli(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(args)
    return code, out.getvalue()


def test_nested_fields_are_expanded_with_their_dotted_paths() -> None:
    code, out = run_cli(["schema", "--kind", "term"])
    assert code == 0
    assert "| penalty.fee | money | yes |  | 20.00 EUR | Maximum penalty fee, e.g. `150.00 EUR`. |" in out
    assert "| penalty.tax.rate | number |" in out
    assert "| exceptions[].outcome | one of `allowed`, `not_allowed`, `penalty` | yes |" in out
    assert "| penalty.grace_period_unit | one of `days`, `weeks`, `months`, `years` |  | days |" in out


def test_the_discount_table_names_types_as_analysts_write_them() -> None:
    _, out = run_cli(["schema", "--kind", "discount"])
    assert "| limit.per | duration | yes |  | 6 months |" in out
    assert "| validity.effective | date | yes |" in out
    assert "| cap | money |  |  | 20.00 EUR |" in out


@pytest.mark.parametrize("kind", KINDS)
def test_every_top_level_field_of_every_kind_has_a_row(kind: str) -> None:
    schema = all_schemas()[f"{kind}.schema.json"]
    paths = {row.path for row in field_rows(schema)}
    assert set(schema.get("properties", {})) <= paths
    required = {row.path for row in field_rows(schema) if row.required and "." not in row.path and "[" not in row.path}
    assert required == set(schema.get("required", []))


def test_json_keeps_the_raw_schema() -> None:
    code, out = run_cli(["schema", "--kind", "term", "--json"])
    assert code == 0
    assert json.loads(out)["$id"] == "term.schema.json"
