"""Typed models of every rule-file kind, and the registry from `kind:` to model."""

from __future__ import annotations

from pydantic import BaseModel

from engine.models.catalog import CATALOG_KINDS
from engine.models.credits import CREDIT_KINDS
from engine.models.discounts import Discount
from engine.models.ruleset import RuleSetSettings

#: Every document kind, in the order documentation lists them.
KINDS: dict[str, type[BaseModel]] = {
    model.model_fields["kind"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (RuleSetSettings, *CATALOG_KINDS, Discount, *CREDIT_KINDS)
}

__all__ = ["KINDS"]
