"""What a credit criterion sees: the consumption, the consumer and `as_of` (README "Credit criteria").

These models type the credit criteria (`engine.criteria.environment.credit_environment`), as the
scenario model types discount criteria; at decision time the allocator fills them from the
resolved consumption (`engine.decide.credits.Request`) once per consumption that meets a credit
with criteria, as plain records with the same fields (`records()`: building the pydantic models,
even unvalidated, cost 18 µs per consumption; these cost about 1 µs).
"""

# No `from __future__ import annotations`: see engine/models/credits.py.

from dataclasses import make_dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import Field

from engine.models.common import Code, Strict


class Consumption(Strict):
    id: Code = Field(description="Request id.")
    service: str | None = Field(
        default=None, description="The service consumed: as written, else the service of the credit type asked for."
    )
    product: Code | None = Field(default=None, description="The product consumed, if given.")
    credit_type: Code | None = Field(
        default=None, description="The credit type asked for (none when asked by service)."
    )
    quantity: Decimal = Field(description="The quantity consumed.")
    unit: str | None = Field(default=None, description="The unit written with the quantity, if any.")
    at: datetime = Field(description="When (`.weekday`, `.time`, `.date`, `.hour` are the local values as written).")
    method: str | None = Field(default=None, description="Usage attribute: how the service was used, if given.")
    device: str | None = Field(default=None, description="Usage attribute: the device used, if given.")
    source_category: str | None = Field(default=None, description="Usage attribute: the source category, if given.")
    destination_category: str | None = Field(
        default=None, description="Usage attribute: the destination category, if given."
    )


class Consumer(Strict):
    organisation: Code | None = Field(
        default=None,
        description="The consuming organisation: its tree is searched (a credit user's is their owner's organisation).",
    )
    parent: Code | None = Field(default=None, description="The consuming organisation's parent (none at the root).")
    organisations: list[Code] = Field(
        default_factory=list, description="The consuming organisation and every ancestor, nearest first."
    )
    user: Code | None = Field(default=None, description="The consuming user as written, if a user consumes.")
    owner: Code | None = Field(
        default=None, description="The user whose own credits are candidates: the credit owner, or the user."
    )


class CreditContext(Strict):
    as_of: datetime = Field(description="The scenario's billing date-time.")
    consumption: Consumption = Field(description="The consumption asking for credit.")
    consumer: Consumer = Field(description="Who consumes.")


@cache
def records() -> tuple[Any, Any, Any]:
    """Slotted run-time records (CreditContext, Consumption, Consumer) with the models' fields:
    the generated evaluator and the explainer read attributes only."""
    return tuple(  # type: ignore[return-value]
        make_dataclass(model.__name__, list(model.model_fields), slots=True, frozen=True)
        for model in (CreditContext, Consumption, Consumer)
    )
