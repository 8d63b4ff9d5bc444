"""Stable diagnostic codes: one line each on what the finding means.

The codes are part of the product's interface (SARIF rule ids, CI filters): never renumber.
"""

from __future__ import annotations

CODES: dict[str, tuple[str, str]] = {
    # load (safe YAML)
    "BR100": ("file-unreadable", "The file could not be read."),
    "BR101": ("file-too-large", "The file exceeds the size limit for rule files."),
    "BR102": (
        "binary-file",
        "The file is binary, not YAML text; or UTF-16/UTF-32 text, with the `iconv` command that makes it UTF-8.",
    ),
    "BR103": ("invalid-utf8", "The file is not valid UTF-8."),
    "BR104": ("yaml-syntax", "The file is not valid YAML."),
    "BR105": ("duplicate-key", "A mapping defines the same key twice; one value would be lost."),
    "BR106": ("forbidden-tag", "A YAML tag that could construct objects; rule files hold plain data."),
    "BR107": ("too-deep", "Nesting deeper than the limit."),
    "BR108": (
        "too-many-values",
        "The document expands to too many values (alias bomb), or the aliases of the file, or of the rule set, add too many.",
    ),
    "BR109": ("not-a-mapping", "A document is not a mapping with `kind:` and `code:`."),
    "BR114": ("tag-mismatch", "A core YAML tag on a value of another type (`!!int abc`, `!!map` on a list)."),
    "BR115": ("yaml-directive", "A `%YAML` directive other than 1.1 or 1.2, a `%TAG` directive, or an unknown one."),
    "BR116": ("integer-too-long", "An integer with more digits than the limit (4,300)."),
    "BR117": ("link-outside", "A symbolic link that leads outside the rule set (or the folder validated); not read."),
    "BR118": ("duplicate-anchor", "An anchor defined twice in a document; an alias would silently use the later one."),
    "BR119": (
        "not-a-rule-file",
        "A file in a rule set meant as a rule file (or named on the command line) that is not read: "
        "a `.YAML` or `.json` suffix, a hidden folder.",
    ),
    "BR120": (
        "inexact-number",
        "A number with more digits than a binary number holds: the value read would not be the one written.",
    ),
    "BR121": ("empty-rule-file", "A rule file that holds no document (a warning: a truncated file loses its rules)."),
    # rule-set structure
    "BR110": ("no-ruleset", "The file is not inside a rule set (no ruleset.yaml above it)."),
    "BR111": ("unknown-kind", "`kind:` names no known document kind."),
    "BR112": ("missing-kind", "A document has no `kind:`."),
    "BR113": ("ruleset-settings", "The rule set's root ruleset.yaml must hold exactly one `kind: rule_set` document."),
    # schema
    "BR201": ("unknown-property", "A property the kind does not have (often a typo)."),
    "BR202": ("missing-property", "A required property is missing."),
    "BR203": ("wrong-type", "A value of the wrong type."),
    "BR204": ("invalid-choice", "A value outside the allowed choices."),
    "BR205": ("invalid-format", "Money, duration, code or date written in the wrong form."),
    "BR206": ("schema-violation", "Any other JSON Schema violation (ranges, lengths)."),
    "BR207": ("invalid-value", "A value the typed model refuses (e.g. an unknown currency, a time of day past 23:59)."),
    # references
    "BR301": ("duplicate-code", "Two documents of one kind share a code."),
    "BR302": ("unknown-reference", "A reference to a code that is not defined."),
    "BR303": ("reference-cycle", "Parent or credit-owner references form a cycle."),
    "BR304": ("ambiguous-reference", "A credit's holder names both an organisation and a user."),
    # semantics
    "BR401": ("segment-included-and-excluded", "A segment is both included and excluded."),
    "BR402": (
        "product-type-not-discountable",
        "Only termed, usage and expense products may be listed (only termed products as `termed_services`).",
    ),
    "BR403": (
        "section-not-allowed",
        "A criteria section, or a discounted product, the applied service type does not allow.",
    ),
    "BR404": ("value-or-range", "Ad hoc discounts need a range, auto apply discounts a value."),
    "BR405": (
        "invalid-amount",
        "A discount value of the wrong sort or an inverted range, or a negative cap, fee or price.",
    ),
    "BR406": ("level-or-unit", "`level` is for percentages only; `unit` is for (and required by) free periods."),
    "BR407": (
        "compatible-bundles-empty",
        "`compatible_bundles_only` with an empty list, or one of the plan's own bundles only (never bought as add-ons).",
    ),
    "BR408": ("scheme-not-flexible", "An ad hoc discount names a scheme without flexible pricing."),
    "BR409": ("coupon-template", "A coupon template cannot hold its code range."),
    "BR410": ("zero-commitment", "A term with a zero commitment period."),
    "BR411": (
        "penalty-settings",
        "Penalty settings missing, or present where no penalty uses them (without `early_cancellation: penalty` and without an exception with `outcome: penalty`); a section fee that every penalty exception overrides is a warning.",
    ),
    "BR412": (
        "credit-owner-chain",
        "A credit owner who uses someone else's credits, or a credit held by a credit user (their owner holds it).",
    ),
    "BR413": (
        "inverted-range",
        "A date range that ends before it starts, a criteria range no scenario can meet, or a bundle, plan, "
        "discount or credit that can never be reached.",
    ),
    "BR414": ("termed-without-frequency", "A termed product without a billing frequency."),
    "BR415": (
        "currency-mismatch",
        "Money in two currencies where one is needed (a cap, amount or fee in another currency than its products).",
    ),
    "BR416": (
        "ad-hoc-only",
        "Agent settings (approval, allowed units) on an auto apply discount, or approval without approvers.",
    ),
    "BR417": (
        "bundle-not-flexible",
        "A product (or product type) restricted to a bundle that is not flexible or does not contain it (or none of the type).",
    ),
    "BR418": (
        "duration",
        "A discount duration with not exactly one end, flexible dates on auto apply, "
        "or a restriction (`latest_start`, `max_length`) without its flexible option.",
    ),
    "BR419": ("product-or-type", "A product entry needs exactly one of `product` and `product_type`."),
    "BR420": (
        "credit-type-rules",
        (
            "A credit that contradicts its type (sharing, expiry, a count of offers that is not a whole number, "
            "a scenario credit's quantity left below zero where the type allows no overdraft)."
        ),
    ),
    "BR421": (
        "credit-precedence",
        "A declared credit precedence that is not total (a key twice, or not ending with `id`); "
        "a credit's `priority` that orders nothing (a warning).",
    ),
    "BR422": (
        "money-precision",
        "A cap, fee, discount amount or per-period price finer than its currency's minor unit (`20.001 EUR`).",
    ),
    "BR423": (
        "percentage-fraction",
        "A percentage between 0 and 1 (`0.15`), almost certainly a fraction where a percent was meant (a warning).",
    ),
    "BR424": ("empty-bundle", "A bundle with neither a product nor a discount (seed 003: one is required)."),
    "BR425": (
        "service-units",
        "Credit types paying for one service count in different units (a consumption of the service is one list).",
    ),
    "BR426": ("product-listed-twice", "A bundle lists the same product twice."),
    "BR427": (
        "bundle-listed-twice",
        "A plan lists the same bundle twice in `bundles` or `compatible_bundles` (a warning).",
    ),
    "BR428": (
        "listed-twice",
        "A discount lists the same entry twice in `discounted_products`, `allowed_units` or its approvers (a warning).",
    ),
    "BR429": (
        "cap-below-amount",
        "An amount discount whose value, or range's top, is above its own cap (a warning).",
    ),
    "BR430": (
        "alert-threshold-missing",
        "Balance alerts enabled without a threshold, or a threshold given with `enabled` left out.",
    ),
    "BR431": (
        "alert-threshold-useless",
        "A balance alert threshold that never alerts (at or below zero without overdraft) or repeats the below-zero alert (0).",
    ),
    "BR432": (
        "term-twice",
        "A plan with a term whose own bundle carries a term too: a cancellation charges both (a warning).",
    ),
    "BR433": (
        "coupon-without-discount",
        "A coupon whose bundle grants no discount: a redeemed code sells the bundle at full price (a warning).",
    ),
    "BR434": (
        "frequency-one-time",
        "A billing frequency on a one-time product: it is never used (a warning).",
    ),
    "BR435": (
        "due-both-ways",
        "A due condition with both `due_in_days` and `due_days_ago` (seed 002: one of the two ways).",
    ),
    "BR440": ("coupon-overlap", "Two coupons that can generate the same code (a code must name one coupon)."),
    # criteria language
    "BR501": ("criteria-syntax", "A criterion that does not parse."),
    "BR502": ("unknown-field", "A field the scenario does not have (often a typo)."),
    "BR503": ("type-mismatch", "Values of types that cannot be combined or compared."),
    "BR504": ("criteria-too-complex", "A criterion too long or nested too deeply."),
    "BR505": (
        "invalid-literal",
        "A date, date-time or time that does not exist, a number or duration beyond the limits, "
        "or date arithmetic on literals that leaves the calendar.",
    ),
    "BR507": ("not-a-condition", "A criterion that is not true/false."),
    "BR508": (
        "where-reaches-past",
        "A condition after a quantifier's `where` that does not read its item: tested for each item, "
        "not once beside it (a warning).",
    ),
    "BR509": (
        "shadowed-name",
        "A quantifier's item named as a fact of the scenario (`any account in …`): the fact is hidden "
        "inside it (a warning).",
    ),
    "BR510": (
        "empty-set",
        "A set written empty (`x in {}`): the condition holds always or never, whatever the scenario (a warning).",
    ),
    "BR511": (
        "amounts-across-currencies",
        "A sum, min or max of the `.amount` of money with no `where` on its currency: amounts of every "
        "currency added as plain numbers (a warning).",
    ),
    # scenarios and expectations
    "BR601": ("scenario-shape", "A scenario file without a scenario mapping."),
    "BR602": ("scenario-field", "A scenario field that is unknown, missing or of the wrong form."),
    "BR603": ("scenario-facts", "Scenario facts the rules cannot use (unknown product, no price, currency)."),
    "BR604": (
        "question-unanswered",
        "A scenario asks a question no decision of the engine answers (yet), or none at all, "
        "or bills a subscription and a job at once, or gives a part no decision it asks reads.",
    ),
    "BR605": (
        "credit-facts",
        "A consumption or credit purchase naming an unknown organisation, user, credit type or service, "
        "a user outside the organisation given, a credit type that pays for another service than the one "
        "named, or an id used twice.",
    ),
    "BR606": (
        "consumption-unit",
        "A consumption in another unit than its credit type's, or a count of offers that is not a whole number.",
    ),
    "BR607": (
        "bill-without-period",
        "A bill with a discount history but no `billing_period` (a warning of `validate --scenarios`): the bill is the day of `as_of` alone.",
    ),
    "BR610": ("unknown-balance-policy", "A scenario's balance names a balance policy the rules do not define."),
    "BR611": (
        "balance-event",
        (
            "A balance event missing what its type needs (amount, request, refund reason) or carrying what it must "
            "not, or a debit carried in (`balance.debits`) listed twice or of 0 or below."
        ),
    ),
    "BR612": ("duplicate-balance-event", "Two balance events of a scenario share an id."),
    "BR615": (
        "cancellation-date",
        "A cancellation dated before the subscription (or the add-on cancelled) starts, or without a subscription.",
    ),
    "BR616": (
        "cancellation-facts",
        "A cancellation naming an unknown plan or bundle, an add-on the subscription does not hold, "
        "an add-on twice or a bundle of the plan as an add-on, "
        "or missing the billing frequency a term counted in billing cycles needs.",
    ),
    "BR620": (
        "purchase-plan",
        "A purchase naming an unknown plan (or a subscription's plan that is unknown).",
    ),
    "BR621": ("purchase-add-on", "A purchase naming an unknown add-on bundle, or the same add-on twice."),
    "BR622": (
        "payment-method",
        "A purchase of add-ons on their own (no plan in effect) paid by a payment method that no plan of the rules supports.",
    ),
    "BR623": (
        "purchase-product",
        "A chosen product, or its bundle, unknown to the rules, or the same product chosen twice in a bundle.",
    ),
    "BR624": (
        "coupon-redemption",
        "An earlier redemption (`purchase.coupon_redemptions`) of a code that no coupon of the rules generates.",
    ),
    "BR701": ("expectation-mismatch", "A decision differs from the expectation written next to it."),
}
