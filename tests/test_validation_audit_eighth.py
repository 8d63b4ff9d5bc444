"""Rule-file mistakes an audit of `billrules validate` (2026-12-01, eighth session) found accepted
in silence, each now a diagnostic at its place:

- a criteria list or section written empty, and `allowed_units: []`: a section holds when one of
  its entries does, so an empty one restricted nothing and the discount applied to every plan,
  segment or agent (BR206);
- a window of no time (`limit: {per: 0 days}`, a total `per: 0 days`, `within 0 days`): a limit
  never reached, a total never met (BR206, BR503);
- `between 5.00 USD and 10.00 EUR` (the same mix with `>` was BR503 already);
- an organisation or a unit that is its own parent (BR303; a chain of thousands is walked once);
- a file meant as a rule file that is not read: `.YAML`, `.json`, a hidden folder (BR119)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.validate import validate_paths

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    return root


def _replace(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def _found(root: Path) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in validate_paths([root])]


@pytest.mark.parametrize(
    ("file", "old", "new", "place"),
    [
        (
            "discounts/loyalty.yaml",
            "price_plans: [tv-essentials-24, tv-premium-12, triple-play-24]",
            "price_plans: []",
            "criteria.price_plans` is an empty list",
        ),
        ("discounts/loyalty.yaml", "    include: [acme-staff]", "    include: []", "criteria.segments.include"),
        (
            "discounts/loyalty.yaml",
            "  segments:\n    include: [acme-staff]\n    exclude: [fraud-watch]",
            "  segments: {}",
            "criteria.segments` is an empty section",
        ),
    ],
)
def test_an_empty_criteria_list_or_section_is_br206(rules: Path, file: str, old: str, new: str, place: str) -> None:
    _replace(rules, file, old, new)
    found = _found(rules)
    assert [code for code, _ in found] == ["BR206"], found
    assert place in found[0][1] and "restrict nothing" in found[0][1]


def test_an_empty_exclude_list_excludes_nothing_and_is_allowed(rules: Path) -> None:
    _replace(rules, "discounts/loyalty.yaml", "    exclude: [fraud-watch]", "    exclude: []")
    assert _found(rules) == []


def test_empty_allowed_units_are_br206(rules: Path) -> None:
    _replace(rules, "discounts/customer_care.yaml", "allowed_units: [customer-care]", "allowed_units: []")
    found = _found(rules)
    assert [code for code, _ in found] == ["BR206"], found
    assert "restricts no agent" in found[0][1]


def test_a_window_of_no_time_is_refused(rules: Path) -> None:
    _replace(rules, "discounts/customer_care.yaml", "per: 1 year", "per: 0 days")
    found = _found(rules)
    assert found == [("BR206", "a window of `0 days` counts nothing: the limit would never be reached")], found


def test_within_no_time_is_refused(rules: Path) -> None:
    (rules / "discounts" / "zero.yaml").write_text(
        "kind: discount\ncode: zero\nname: Zero\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: both\nstate: effective\namount: {type: percentage, value: 5}\n"
        "discounted_products:\n  - product_type: termed\nvalidity: {effective: 2015-01-01}\n"
        "criteria:\n  when: count(u in usage within 0 days) >= 1\n",
        "utf-8",
    )
    found = _found(rules)
    assert [code for code, _ in found] == ["BR503"] and "window of no time" in found[0][1], found


def test_between_bounds_of_two_currencies_are_br503(rules: Path) -> None:
    (rules / "discounts" / "mixed.yaml").write_text(
        "kind: discount\ncode: mixed\nname: Mixed\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 5}\n"
        "discounted_products:\n  - product_type: termed\nvalidity: {effective: 2015-01-01}\n"
        "criteria:\n  when: any p in subscription.products where p.price between 5.00 USD and 10.00 EUR\n",
        "utf-8",
    )
    found = _found(rules)
    assert found == [("BR503", "cannot compare money in USD with money in EUR using `between`")], found


@pytest.mark.parametrize(
    ("file", "code"), [("credits/organisations.yaml", "globex"), ("organisation/units.yaml", None)]
)
def test_an_organisation_or_unit_that_is_its_own_parent_is_a_cycle(rules: Path, file: str, code: str | None) -> None:
    path = rules / file
    text = path.read_text("utf-8")
    if code is None:  # the first unit with a parent names itself
        head, _, rest = text.partition("parent: ")
        own = head.rsplit("code: ", 1)[1].split("\n", 1)[0].strip()
        path.write_text(head + "parent: " + own + "\n" + rest.split("\n", 1)[1], "utf-8")
        code = own
    else:
        path.write_text(text.replace("code: globex\n", "code: globex\nparent: globex\n", 1), "utf-8")
    found = _found(rules)
    assert [c for c, _ in found] == ["BR303"], found
    assert found[0][1].endswith(f"cycle through `parent`: {code} → {code}")


def test_a_long_chain_of_organisations_is_walked_once(rules: Path) -> None:
    # 3,000 deep: each code was walked again from every start (minutes); a cycle at its end is found
    docs = [f"kind: organisation\ncode: o{i}\nname: O{i}\nparent: o{i + 1}" for i in range(3000)]
    docs.append("kind: organisation\ncode: o3000\nname: O3000\nparent: o2999")
    (rules / "credits" / "chain.yaml").write_text("\n---\n".join(docs) + "\n", "utf-8")
    found = _found(rules)
    assert sorted(found) == [
        ("BR303", "organisation cycle through `parent`: o2999 → o3000 → o2999"),
        ("BR303", "organisation cycle through `parent`: o2999 → o3000 → o2999"),
    ]


def test_files_meant_as_rule_files_that_are_not_read_are_br119(rules: Path) -> None:
    (rules / "catalog" / "more.YAML").write_text("kind: segment\ncode: vip\nname: VIP\n", "utf-8")
    found = validate_paths([rules])
    assert [(d.code, d.file.endswith("more.YAML")) for d in found] == [("BR119", True)], found
    (rules / "catalog" / "more.YAML").unlink()
    (rules / "catalog" / "more.json").write_text('{"kind": "segment"}\n', "utf-8")
    walked = validate_paths([rules])  # a JSON rule document in the folder: told (since 2026-12-03)
    assert [(d.code, d.file.endswith("more.json")) for d in walked] == [("BR119", True)]
    (rules / "catalog" / "notes.json").write_text('{"note": "no rule"}\n', "utf-8")
    assert [d.file.endswith("more.json") for d in validate_paths([rules])] == [True]  # (other files: left alone)
    named = validate_paths([rules / "catalog" / "more.json"])
    assert [(d.code, d.message) for d in named] == [
        ("BR119", "not read as a rule file: rule files are YAML, ending in `.yaml` or `.yml`")
    ]
    (rules / "catalog" / "more.json").unlink()
    (rules / ".drafts").mkdir()
    (rules / ".drafts" / "draft.yaml").write_text("kind: segment\ncode: vip\nname: VIP\n", "utf-8")
    assert validate_paths([rules]) == []  # drafts in a hidden folder are left out on purpose
    named = validate_paths([rules / ".drafts" / "draft.yaml"])
    assert [d.code for d in named] == ["BR119"] and "hidden folder `.drafts`" in named[0].message
    assert validate_paths([rules / ".drafts" / "draft.yaml"], outside=False) == []  # the pre-commit hook


# --- texts that can never match (the same audit) ---------------------------------------------------


@pytest.mark.parametrize(
    ("when", "message", "hint"),
    [
        (
            'subscription.billing_frequency == "montly"',
            "unknown billing frequency `montly` (compared with `subscription.billing_frequency`)",
            "did you mean `monthly`?",
        ),
        (
            'any p in subscription.products where p.type == "termd"',
            "unknown product type `termd` (compared with `p.type`)",
            "did you mean `termed`?",
        ),
    ],
)
def test_a_fixed_choice_compared_with_another_text_is_br302(rules: Path, when: str, message: str, hint: str) -> None:
    (rules / "discounts" / "typo.yaml").write_text(
        "kind: discount\ncode: typo\nname: Typo\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 5}\n"
        "discounted_products:\n  - product_type: termed\nvalidity: {effective: 2015-01-01}\n"
        f"criteria:\n  when: '{when}'\n",
        "utf-8",
    )
    found = validate_paths([rules])
    assert [(d.code, d.message, d.hint) for d in found] == [("BR302", message, hint)]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  services: [targeting-experience]",
            "  services: [targeting-experiense]",
            "unknown service `targeting-experiense`: no credit type pays for it",
        ),
        (
            "  services: [targeting-experience]",
            "  services: [network-offer]",
            "the credit's type `targeting-offer-7-tokens` pays for `targeting-experience`, which these services "
            "leave out: no consumption can meet it",
        ),
        (
            "  when: consumption.at.weekday in {monday, tuesday, wednesday, thursday, friday}",
            "  organisations: [globex-fr-lyn]",
            "unknown organisation `globex-fr-lyn`",
        ),
        (
            "  when: consumption.at.weekday in {monday, tuesday, wednesday, thursday, friday}",
            "  products: [tv-premum]",
            "unknown product `tv-premum`",
        ),
        (
            "  when: consumption.at.weekday in {monday, tuesday, wednesday, thursday, friday}",
            '  when: consumption.service == "network-ofer"',
            "unknown service `network-ofer` (compared with `consumption.service`)",
        ),
    ],
)
def test_a_credit_naming_what_no_consumption_can_be_is_refused(rules: Path, old: str, new: str, message: str) -> None:
    _replace(rules, "credits/credits.yaml", old, new)
    assert [d.message for d in validate_paths([rules])] == [message]


# --- currencies of a term's carriers, dates and sections that exclude each other ----------------------


def test_a_bundle_priced_in_another_currency_than_its_terms_fee_is_br415(rules: Path) -> None:
    # an EUR term given to the USD add-on: its cancellation was charged 100.00 EUR (the term's
    # other carriers are in EUR, so the term itself passed); and once `commit-12m` renews into
    # `rolling-12m`, 60.00 EUR (told since 2026-12-03)
    _replace(
        rules,
        "catalog/bundles.yaml",
        "  - product: additional-service\nterm: no-commitment\n",
        "  - product: additional-service\nterm: commit-12m\n",
    )
    found = validate_paths([rules])
    assert [(d.code, d.message) for d in found] == [
        (
            "BR415",
            "bundle `additional-service-bundle` is priced in USD, but its term `commit-12m` charges 100.00 EUR",
        ),
        (
            "BR415",
            "bundle `additional-service-bundle` is priced in USD, but its term `commit-12m` renews into "
            "`rolling-12m`, which charges 60.00 EUR",
        ),
    ], found


def test_a_duration_ending_before_the_definition_is_effective_is_br413(rules: Path) -> None:
    _replace(
        rules,
        "discounts/installation.yaml",
        "validity:\n  effective: 2015-01-01\ncriteria:\n  products:\n    - product: installation-fee\n  segments:",
        "validity:\n  effective: 2015-01-01\nduration: {until: 2014-06-30}\ncriteria:\n"
        "  products:\n    - product: installation-fee\n  segments:",
    )
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR413"] and "before the definition is effective" in found[0].message


def test_an_effectiveness_of_at_least_more_than_at_most_is_br413(rules: Path) -> None:
    _replace(
        rules,
        "discounts/loyalty.yaml",
        "      effective_for_at_least: 3 months\n",
        "      effective_for_at_least: 3 months\n      effective_for_at_most: 2 months\n",
    )
    found = validate_paths([rules])
    assert [(d.code, d.message) for d in found] == [
        ("BR413", "effective for at least 3 months and at most 2 months: no scenario can meet it")
    ]


def test_a_coupon_valid_only_while_its_bundle_is_not_is_br413(rules: Path) -> None:
    _replace(
        rules, "catalog/coupons.yaml", "validity: {from: 2015-06-01, to: 2015-12-31}", "validity: {from: 2016-01-01}"
    )
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR413"] and "every code would be rejected" in found[0].message


def test_a_job_discount_with_a_section_about_a_subscription_is_br403(rules: Path) -> None:
    _replace(
        rules,
        "discounts/installation.yaml",
        "criteria:\n  products:\n    - product: installation-fee\n  segments:",
        "criteria:\n  billing_term:\n    billing_frequencies: [monthly]\n  products:\n"
        "    - product: installation-fee\n  segments:",
    )
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR403"] and "a job has not" in found[0].message


def test_a_broken_document_causes_no_unknown_code_in_expressions(rules: Path) -> None:
    # a segment with a misspelt field: reported there, not also as "unknown segment" in a `when:`
    _replace(rules, "organisation/segments.yaml", "code: delinquent\n", "code: delinquent\nbogus: 1\n")
    found = validate_paths([rules])
    assert [d.code for d in found] == ["BR201"], found


# --- a review of the round's own changes ------------------------------------------------------------


def test_services_are_open_when_a_credit_type_names_none(rules: Path) -> None:
    # a consumption of a credit type without `service:` may name any service: a credit scoped to
    # `storage` (or a `when:` comparing it) was refused as naming an unknown service
    with (rules / "credits" / "credit_types.yaml").open("a", encoding="utf-8") as out:
        out.write("---\nkind: credit_type\ncode: storage-credits\nname: Storage\nmeasure: amount\n")
    with (rules / "credits" / "credits.yaml").open("a", encoding="utf-8") as out:
        out.write(
            "---\nkind: credit\ncode: storage-a\nname: Storage A\ntype: storage-credits\nquantity: 10\n"
            "usage_period: {from: 2015-01-01}\nholder: globex\nallocation: all_organisations\nissued: 2015-01-01\n"
            'scope: {services: [storage]}\ncriteria:\n  when: consumption.service == "storage"\n'
        )
    assert validate_paths([rules]) == []


def test_a_flexible_end_is_not_bound_by_the_default_until(rules: Path) -> None:
    # an agent's own `end` replaces the duration's `until`: not a duration that ends too early
    _replace(
        rules,
        "discounts/customer_care.yaml",
        "duration:\n  billing_periods: 1\n",
        "duration:\n  until: 2014-06-30\n  flexible_end: true\n",
    )
    assert [d.code for d in validate_paths([rules])] == []


def test_a_name_near_no_weekday_keeps_the_known_names_hint(rules: Path) -> None:
    (rules / "discounts" / "today.yaml").write_text(
        "kind: discount\ncode: today\nname: Today\ntype: auto_apply\nclassification: subscription\n"
        "applied_service_type: non_usage\nstate: effective\namount: {type: percentage, value: 5}\n"
        "discounted_products:\n  - product_type: termed\nvalidity: {effective: 2015-01-01}\n"
        "criteria:\n  when: subscription.start <= today - 12 months\n",
        "utf-8",
    )
    [found] = validate_paths([rules])
    assert found.message == "unknown field `today`" and found.hint.startswith("known names:")
