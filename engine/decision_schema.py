"""The JSON Schema of a decision, and of an expectation file (a scenario plus `expect:`).

Decisions are plain data built by the evaluators (`engine/decide/`), not pydantic models, so their
schema is written here, one small builder per part, and `tests/test_expectation_schema.py` proves
that every sample's decision (with and without `--explain`) validates against it with no unknown
key anywhere: the schema cannot drift from what the engine writes.

In an expectation the decision is partial (only what matters is written) and leaves are compared
as text (`tax_rate: 19` matches `"19"`), so nothing is required and every leaf admits any scalar;
but every mapping is closed (`additionalProperties: false`), so an editor marks a misspelt key
(`cancelation:`) the moment it is typed.
"""

from __future__ import annotations

from typing import Any

SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean", "null"]}
ANY_SCALAR: dict[str, Any] = {**SCALAR, "description": "A value, compared as text."}
CURRENCY = {"pattern": "^[A-Z]{3}$"}


def _obj(
    properties: dict[str, Any], description: str = "A part of the decision; only these keys exist."
) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False, "description": description}


def _list(
    items: Any, description: str = "A list; items are matched by their key (code, line, term, ...)."
) -> dict[str, Any]:
    return {"type": "array", "items": items, "description": description}


#: What the leaves mean, for editors' hover text; a name not listed gets the generic words.
_MEANING = {
    "code": "The code of the definition, coupon code or reason.",
    "status": "The definition's status (applied, offered, not_eligible, ...) or the coupon's (redeemed, "
    "not_redeemed, rejected).",
    "allowed": "Whether it is allowed (true/false).",
    "amount": "Money, e.g. `20.00 EUR`.",
    "gross": "Money before discounts.",
    "net": "Money after discounts.",
    "discount": "Money taken by discounts.",
    "total": "Money, the total.",
    "fee": "The penalty fee, rounded.",
    "tax": "The tax on the fee (null when left to the tax provider).",
    "due": "The date the penalty is due.",
    "earliest": "The earliest date the cancellation becomes possible.",
    "term": "The code of the term.",
    "for": "`plan`, or the bundle whose term this is.",
    "outcome": "no_term, commitment_over, allowed, not_allowed, penalty or waived.",
    "quantity": "A quantity, compared as text.",
    "request": "The consumption request's id.",
    "credit": "The credit's code.",
    "operand": "A negated group's condition as written (a step of kind `not`).",
    "operand_verdict": "That condition's verdict; the step's own is its negation.",
}


def _leaves(*names: str) -> dict[str, Any]:
    return {
        name: {**SCALAR, "description": _MEANING.get(name, f"The decision's `{name}`, compared as text.")}
        for name in names
    }


def _per_currency(value: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "propertyNames": CURRENCY,
        "additionalProperties": value,
        "description": "Per currency (`EUR: ...`).",
    }


SOURCE = _obj(_leaves("file", "line", "column"), "Where the deciding rule is written.")
REASON = _obj(
    {
        **_leaves("code", "text"),
        "facts": {
            "type": "object",
            "description": "The facts the rule compared: for a failing condition its `section`, the `condition` "
            "as written, `actual` (the scenario's value), `expected` (the rule's), `verdict`; compared key by key.",
        },
        "source": SOURCE,
    },
    "A reason record: a stable code, the facts compared, the rule's location; compare codes and facts, not text.",
)
REASONS = _list({"anyOf": [REASON, SCALAR]}, "Reasons: records (code, facts, source) or words.")
LINE = _obj(
    {
        **_leaves("line", "product", "bundle", "gross", "net", "priced"),
        "discounts": _list(_obj(_leaves("code", "amount"))),
        "reasons": REASONS,
    }
)
DEFINITION = _obj(
    {**_leaves("code", "type", "status", "amount", "requested"), "approvers": _list(ANY_SCALAR), "reasons": REASONS}
)
TOTALS = _per_currency(_obj(_leaves("gross", "discount", "net")))

DISCOUNTS = _obj(
    {
        "lines": _list(LINE),
        "definitions": _list(DEFINITION),
        "omitted": _obj(
            _leaves("not_effective", "not_eligible"),
            "With `--applied-only`: how many definitions of each status were counted, not listed.",
        ),
        "totals": TOTALS,
    },
    "Discounts on the bill: per line and per definition (matched by `line`/`product` and `code`).",
)
CREDITS = _obj(
    {
        "allocations": _list(_obj({**_leaves("request", "credit", "quantity", "rank"), "reasons": REASONS})),
        "refused": _list(_obj({**_leaves("request", "quantity"), "reasons": REASONS})),
        "remaining": _list(_obj(_leaves("credit", "type", "issued", "drawn", "remaining"))),
        "ledger": _list(_obj(_leaves("at", "request", "credit", "quantity", "remaining"))),
        "alerts": REASONS,
        "passed_over": _list(_obj({**_leaves("request"), "reasons": REASONS})),
        "purchases": _list(_obj(_leaves("purchase", "user", "credit", "assigned_to", "billed_to"))),
        "owners": _list(
            _obj(
                {
                    **_leaves("owner"),
                    "users": _list(_obj({**_leaves("user"), "drawn": _list(_obj(_leaves("credit_type", "quantity")))})),
                }
            )
        ),
        "why": _list(_obj({**_leaves("request"), "credits": _list(_obj({**_leaves("credit"), "verdict": REASON}))})),
    },
    "Credit precedence: which credits pay for each consumption.",
)
BALANCE = _obj(
    {
        **_leaves("policy", "opening", "closing"),
        "totals": _obj(_leaves("grants", "withdrawals", "debits", "refunds")),
        "ledger": _list(_obj(_leaves("at", "event", "type", "request", "reason", "quantity", "balance"))),
        "refused": _list(REASON),
        "alerts": _list(REASON),
        "debits": _list(
            _obj(
                {
                    **_leaves("request"),
                    "amount": {**SCALAR, "description": "The credits debited for the request."},
                    "refunded": {**SCALAR, "description": "Whether a refund returned them (true/false)."},
                }
            ),
            "Every request debited in this scenario or carried in (`balance.debits`), matched by `request`: "
            "the next scenario's `balance.debits`.",
        ),
    },
    "The credit balance after the scenario's events.",
)
PENALTY = _obj(
    _leaves(
        "maximum",
        "pro_rata",
        "share",
        "fee",
        "tax_rate",
        "tax",
        "tax_code",
        "tax_provider",
        "total",
        "due",
        "grace_period",
        "ledger_account",
        "invoice_line_type",
        "waived",
    )
)
TERM = _obj(
    {
        **_leaves("for", "term", "allowed", "outcome", "start", "commitment_end", "renewals", "earliest"),
        "remaining": _obj(_leaves("days", "cycles", "of", "frequency")),
        "penalty": PENALTY,
        "reasons": REASONS,
        "chain": _list(_obj(_leaves("term", "start", "end"))),
        "steps": _list(REASON),
    }
)
CANCELLATION = _obj(
    {
        **_leaves("date", "allowed", "earliest"),
        "reasons": REASONS,
        "terms": _list(TERM),
        "total": _per_currency(ANY_SCALAR),
    },
    "May the subscription be cancelled on the date, and what it costs (terms matched by `for` and `term`).",
)
PURCHASE = _obj(
    {
        **_leaves("allowed", "plan", "user", "assigned_to", "billed_to"),
        "reasons": REASONS,
        "coupons": _list(_obj({**_leaves("code", "coupon", "status", "bundle"), "reasons": REASONS})),
        "lines": _list(LINE),
        "price": TOTALS,
        "discounts": _list(DEFINITION),
    },
    "May the purchase be made, what each coupon code did, and the price.",
)

STEP = _obj(
    {
        **_leaves("condition", "verdict", "kind", "subject", "op", "since", "in_unit", "missing", "negated", "other"),
        **_leaves("collection", "matched", "count", "unknown", "where", "low", "high", "operand", "operand_verdict"),
        **_leaves("starts"),
        "after_interruption": _obj(
            _leaves("from", "to", "days", "ongoing"),
            "The interruption (rested or deactivated, days joined) that a span of uninterrupted time starts after.",
        ),
        "window": _obj(
            _leaves("after", "until"),
            "For an aggregate with `within`: the records it reads are those after `after`, up to and including `until`.",
        ),
        "actual": {"description": "The scenario's value (a list for a collection; null when missing)."},
        "expected": {"description": "What the rule compares it with, as written (a list for a set)."},
        "source": SOURCE,
    },
    "One condition of the trace: as written, its verdict (holds, does not hold, unknown), the values, where.",
)
TRACE = {
    "type": "object",
    "additionalProperties": _list(
        _obj({**_leaves("section", "holds"), "steps": _list(STEP)}),
        "Per criteria section of the definition: whether it holds, and its conditions.",
    ),
    "description": "The criterion-level trace (`--explain`), per owner (`discount:CODE`, `term:CODE`).",
}

DECISION_PROPERTIES: dict[str, Any] = {
    **_leaves("scenario", "rules_version"),
    "discounts": DISCOUNTS,
    "credits": CREDITS,
    "balance": BALANCE,
    "cancellation": CANCELLATION,
    "purchase": PURCHASE,
    "trace": TRACE,
}


def decision_schema() -> dict[str, Any]:
    """A decision's parts, closed at every level (what `billrules decide --json` writes)."""
    return _obj(DECISION_PROPERTIES, "The decision of one scenario.")


def expectation_schema(scenario: dict[str, Any]) -> dict[str, Any]:
    """A scenario file with an `expect:` section: the scenario schema plus `expect`."""
    schema = {key: value for key, value in scenario.items() if key != "$id"}
    schema["$id"] = "expectation.schema.json"
    schema["title"] = "billrules scenario with expected decision"
    schema["description"] = (
        "A scenario (see scenario.schema.json) and, under `expect:`, the parts of its decision that "
        "`billrules test` checks; only what is written is compared."
    )
    schema["properties"] = {
        **scenario["properties"],
        "expect": {
            **decision_schema(),
            "description": "The decision parts this scenario must produce (partial; leaves compared as text).",
        },
    }
    return schema
