"""The rule-set root file (`ruleset.yaml`): settings every other file is checked against."""

# No `from __future__ import annotations` in the rule-file models: pydantic would evaluate every
# annotation string at import (typing.ForwardRef compiles each one), 3 ms of `billrules validate`.

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from engine.models.common import RuleDocument, Text
from engine.values import MAX_FRACTION_DIGITS


class Rounding(StrEnum):
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    HALF_DOWN = "half_down"
    UP = "up"
    DOWN = "down"
    CEILING = "ceiling"
    FLOOR = "floor"


class PrecedenceKey(StrEnum):
    ALLOCATION = "allocation"
    PRIORITY = "priority"
    EXPIRY = "expiry"
    TREE_DISTANCE = "tree_distance"
    ISSUE_DATE = "issue_date"
    ID = "id"


DEFAULT_PRECEDENCE = [
    PrecedenceKey.ALLOCATION,
    PrecedenceKey.EXPIRY,
    PrecedenceKey.TREE_DISTANCE,
    PrecedenceKey.ISSUE_DATE,
    PrecedenceKey.ID,
]


class RuleSetSettings(RuleDocument):
    """Name, version, currency and rounding of a rule set; lives at the root of its directory."""

    kind: Literal["rule_set"] = Field(description="Document kind.")
    version: Text = Field(description="Version label of the rule set.", examples=["2026.11"])
    default_currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.", examples=["EUR"])
    rounding: Rounding = Field(default=Rounding.HALF_UP, description="Rounding mode used once per line.")
    minor_units: dict[str, Annotated[int, Field(ge=0, le=MAX_FRACTION_DIGITS)]] = Field(
        default_factory=dict,
        description=f"Override minor units per currency (0 to {MAX_FRACTION_DIGITS} decimals), e.g. {{JPY: 0}}.",
    )
    credit_precedence: list[PrecedenceKey] = Field(
        default_factory=lambda: list(DEFAULT_PRECEDENCE),
        description="Order in which credits are drawn, as keys (allocation, priority, expiry, tree_distance, "
        "issue_date, id); each key once, ending with `id` so that the order is total.",
    )
