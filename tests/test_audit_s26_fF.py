"""Audit s26 fF: validate and decide paths that were quadratic (findings F4, F5, F6).

- F4: BR440 compared every pair of coupons of one template length (10,000 coupons: 83 s); now
  only templates that can spell one code are paired, and one template's coupons by a sweep over
  their ranges (`engine.coupons.overlapping`): the same diagnostics in the same order, and
  `overlap` is asked only about pairs that may share a code.
- F5: a cancellation in a renewal loop of N terms walked the whole loop each time it met a term
  of it again (`_skip_laps`, N² term look-ups per decision); the loop is walked once per chain.
- F6: each member of a reference cycle listed the whole cycle (N notes at N places), and each
  user of a chain of credit owners every link to its end: the output grew as N². A cycle of more
  than `CYCLE_LISTED` members is named in full once, at its first member, and at each other
  member by its own link; a BR412's notes show at most `_OwnerChains.SHOWN` links.
"""

from __future__ import annotations

import random
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import engine.coupons as coupons
from engine.coupons import CodeSpace, overlap, overlapping
from engine.decide.terms import _SHOWN, _skip_laps, commitment_end, current_term
from engine.models.catalog import Term
from engine.references import CYCLE_LISTED
from engine.validate import validate_paths
from engine.values import MONTH_DAYS, TimeUnit, add_months_keeping_month_end, is_month_end

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "rules", root)
    return root


def _write(root: Path, docs: list[str]) -> None:
    (root / "catalog" / "audit_s26_ff.yaml").write_text("---\n".join(docs), "utf-8")


# --- F4: coupon overlaps ----------------------------------------------------------------------------


def _coupon(code: str, template: str, start: int | str, quantity: int, charset: str = "numeric") -> str:
    start_text = f'"{start}"' if isinstance(start, str) else str(start)
    return (
        f'kind: coupon\ncode: {code}\nname: C\nprovider: X\ncharset: {charset}\ntemplate: "{template}"\n'
        f"quantity: {quantity}\nredemption_quantity: 1\nrange_start: {start_text}\nbundle: minus-20-bundle\n"
        "validity: {from: 2015-01-01, to: 2015-12-31}\n"
    )


def test_overlapping_coupons_get_the_diagnostics_they_got_before(rules: Path) -> None:
    _write(
        rules,
        [
            _coupon("ov-a", "OV-####", 0, 10),
            _coupon("ov-b", "OV-####", 5, 10),  # meets ov-a at OV-0005
            _coupon("ov-c", "OV-####", 20, 5),  # meets none
            _coupon("ov-d", "OV-1###", 0, 3),  # OV-1000…OV-1002: none of the OV-#### ranges above
            _coupon("ov-e", "OV-####", 999, 3),  # OV-0999…OV-1001: meets ov-d at OV-1000
            _coupon("ov-f", "OV-####", "00A0", 5, "alphanumeric"),  # OV-00A0…OV-00A4: no digits only
            _coupon("ov-g", "OV-####", "0000", 1, "alphanumeric"),  # OV-0000: meets ov-a
            _coupon("xx-a", "XX-####", 0, 10),
        ],
    )
    found = [
        (d.line, re.sub(r"\S*catalog/", "catalog/", d.message)) for d in validate_paths([rules]) if d.code == "BR440"
    ]
    file = "catalog/audit_s26_ff.yaml"
    # (what the rules got before 2026-12-04, compared with /work/main's engine; sorted by line)
    assert found == [
        (6, f"coupons `ov-a` and `ov-b` can both generate the code `OV-0005` (`ov-b` is at {file}:18:11)"),
        (6, f"coupons `ov-a` and `ov-g` can both generate the code `OV-0000` (`ov-g` is at {file}:78:11)"),
        (18, f"coupons `ov-a` and `ov-b` can both generate the code `OV-0005` (`ov-a` is at {file}:6:11)"),
        (42, f"coupons `ov-d` and `ov-e` can both generate the code `OV-1000` (`ov-e` is at {file}:54:11)"),
        (54, f"coupons `ov-d` and `ov-e` can both generate the code `OV-1000` (`ov-d` is at {file}:42:11)"),
        (78, f"coupons `ov-a` and `ov-g` can both generate the code `OV-0000` (`ov-a` is at {file}:6:11)"),
    ]


def _brute(spaces: list[CodeSpace]) -> list[tuple[int, int, str]]:
    """The pairs as every coupon compared with each before it found them (before 2026-12-04)."""
    return [
        (i, j, shared)
        for i in range(len(spaces))
        for j in range(i)
        if (shared := overlap(spaces[j], spaces[i])) is not None
    ]


@pytest.mark.parametrize("seed", range(6))
def test_the_pairs_found_are_those_of_comparing_every_pair_in_the_same_order(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(300):
        length = rnd.randint(1, 4)
        spaces = []
        for k in range(rnd.randint(0, 9)):
            template = "".join(rnd.choice("##1Aa-0") for _ in range(length))
            if "#" not in template:
                template = "#" + template[1:]
            base = rnd.choice([10, 36])
            room = base ** template.count("#")
            start = rnd.randrange(room)
            spaces.append(CodeSpace(f"c{k}", template, base, start, rnd.randint(1, max(1, min(room - start, 40)))))
        assert overlapping(spaces) == _brute(spaces), spaces


def test_validate_asks_overlap_only_about_coupons_that_may_share_a_code(
    rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 150 coupons of one template with ranges apart, 150 of their own fixed prefix, and one
    # coupon meeting two of the first: until 2026-12-04 each of the 301 was compared with every
    # one before it (45,150 walks), now only the 2 pairs that share a code are
    docs = [_coupon(f"one-{i:03d}", "OV-#####", i * 10, 10) for i in range(150)]
    docs += [_coupon(f"own-{i:03d}", f"P{i:03d}-####", 0, 100) for i in range(150)]
    docs.append(_coupon("late", "OV-#####", 505, 10))
    _write(rules, docs)
    asked: list[tuple[str, str]] = []
    real = coupons.overlap

    def counted(a: CodeSpace, b: CodeSpace) -> str | None:
        asked.append((a.coupon, b.coupon))
        return real(a, b)

    monkeypatch.setattr(coupons, "overlap", counted)
    found = [d.message for d in validate_paths([rules]) if d.code == "BR440"]
    assert sorted(asked) == [("late", "one-050"), ("late", "one-051")]
    assert len(found) == 4 and all("`OV-00505`" in m or "`OV-00510`" in m for m in found), found


# --- F5: renewal loops ------------------------------------------------------------------------------


def _term(code: str, period: int, unit: str, renewal: str | None) -> Term:
    return Term.model_validate(
        {
            "kind": "term",
            "code": code,
            "name": code,
            "period": period,
            "unit": unit,
            "basis": "calendar",
            "early_cancellation": "not_allowed",
            **({"renewal_term": renewal} if renewal else {}),
        }
    )


class _Counted(dict[str, Term]):
    """Terms that count how often they are looked up."""

    lookups = 0

    def __getitem__(self, key: str) -> Term:
        self.lookups += 1
        return super().__getitem__(key)


def _naive(terms: dict[str, Term], first: str, start: date, on: date) -> tuple[str, date, date, int]:
    code, renewals = first, 0
    while True:
        end = commitment_end(terms[code], start)
        if on <= end or terms[code].renewal_term is None:
            return code, start, end, renewals
        code, start, renewals = terms[code].renewal_term or "", end, renewals + 1


@pytest.mark.parametrize("unit", ["days", "weeks", "months"])
def test_a_loop_of_many_terms_is_walked_once_per_cancellation(unit: str) -> None:
    n = 300
    terms = _Counted(
        {f"t{i}": _term(f"t{i}", 1 + i % 2, unit, f"t{(i + 1) % n}") for i in range(n)}
    )  # (t0 → t1 → … → t299 → t0)
    start = date(2015, 1, 15)
    on = start + timedelta(days={"days": 20 * n, "weeks": 100 * n, "months": 400 * n}[unit])
    chain, renewals = current_term(terms, "t0", start, on)
    # until 2026-12-04 each term met again walked the whole loop: about 5 * 300 * 300 look-ups
    assert terms.lookups <= 12 * n, terms.lookups
    last = chain[-1]
    assert (last.term, last.start, last.end, renewals) == _naive(dict(terms), "t0", start, on)


@pytest.mark.parametrize("day", [1, 27, 28, 29, 30, 31])
@pytest.mark.parametrize("periods", [(1, 2, 3), (1,), (5, 7), (12, 1, 1), (2, 2, 2, 2, 2, 2, 1)])
def test_skipped_laps_of_months_end_where_walking_ends(day: int, periods: tuple[int, ...]) -> None:
    codes = [f"m{i}" for i in range(len(periods))]
    terms = {
        c: _term(c, p, "months", codes[(i + 1) % len(codes)])
        for i, (c, p) in enumerate(zip(codes, periods, strict=True))
    }
    for month in (1, 2, 3, 8, 12):
        start = date(2015, month, min(day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else day))
        for years in (3, 11, 40):
            on = start + timedelta(days=365 * years + 17)
            chain, renewals = current_term(terms, codes[0], start, on)
            last = chain[-1]
            assert (last.term, last.start, last.end, renewals) == _naive(terms, codes[0], start, on)


def _old_skip_laps(terms: dict[str, Term], code: str, lap_start: date, start: date, on: date) -> tuple[date, int]:
    """`_skip_laps` as it was before 2026-12-04 (the loop walked from `code` at each call)."""
    units, offsets, months = set(), [], 0
    current: str | None = code
    while True:
        term = terms[current or ""]
        units.add(term.unit)
        offsets.append(months)
        months += term.period * (12 if term.unit is TimeUnit.YEARS else 1)
        current = term.renewal_term
        if current == code or current is None:
            break
    if units <= {TimeUnit.DAYS, TimeUnit.WEEKS}:
        length = (start - lap_start).days
        laps = (on - start).days // length - 1 - _SHOWN
        if laps <= 0:
            return start, 0
        return date.fromordinal(start.toordinal() + laps * length), laps
    if not units <= {TimeUnit.MONTHS, TimeUnit.YEARS}:
        return start, 0
    if not is_month_end(start):
        visited = {(start.month - 1 + lap * months + offset) % 12 for lap in range(12) for offset in offsets}
        if start.day >= min(MONTH_DAYS[month] for month in visited):
            return start, 0
    laps = ((on.year - start.year) * 12 + on.month - start.month) // months - 1 - _SHOWN
    if laps <= 0:
        return start, 0
    return add_months_keeping_month_end(start, laps * months), laps


@pytest.mark.parametrize("seed", range(4))
def test_a_loop_walked_once_skips_as_the_loop_walked_from_each_term_did(seed: int) -> None:
    # the loop is kept as walked from the first term met again; asked from another term of it,
    # the months its stretches start in are the same set moved round
    rnd = random.Random(seed)
    for _ in range(400):
        size = rnd.randint(1, 5)
        codes = [f"l{i}" for i in range(size)]
        unit = rnd.choice(["months", "years", "mixed"])
        terms = {
            c: _term(
                c,
                rnd.randint(1, 13),
                rnd.choice(["months", "years"]) if unit == "mixed" else unit,
                codes[(i + 1) % size],
            )
            for i, c in enumerate(codes)
        }
        loops: dict[str, Any] = {}
        first = rnd.choice(codes)
        _skip_laps(terms, first, date(2000, 1, 1), date(2001, 1, 1), date(2001, 1, 2), loops=loops)
        for code in codes:
            start = date(2010, rnd.randint(1, 12), 1) + timedelta(days=rnd.randint(0, 30))
            on = start + timedelta(days=rnd.randint(0, 20000))
            lap_start = date(2009, 1, 1)
            assert _skip_laps(terms, code, lap_start, start, on, loops=loops) == _old_skip_laps(
                terms, code, lap_start, start, on
            ), (terms, code, start, on)


# --- F6: cycles and chains --------------------------------------------------------------------------


def test_a_long_cycle_is_named_in_full_once_and_at_each_member_by_its_link(rules: Path) -> None:
    n = 30
    _write(rules, [f"kind: organisation\ncode: cy-{i:02d}\nname: C\nparent: cy-{(i + 1) % n:02d}\n" for i in range(n)])
    cycles = [d for d in validate_paths([rules]) if d.code == "BR303"]
    assert len(cycles) == n  # at every place of the cycle (README), so a CI annotation lands on each
    full = [d for d in cycles if d.detail]
    assert [d.message for d in full] == [
        "organisation cycle through `parent`: " + " → ".join([*(f"cy-{i:02d}" for i in range(n)), "cy-00"])
    ]
    assert len(full[0].detail) == n and full[0].line == 4
    # until 2026-12-04 every member listed the whole cycle: 30 * 30 notes
    assert sum(len(d.detail) for d in cycles) == n
    others = sorted((d.line, re.sub(r"\S*catalog/", "catalog/", d.message), d.hint) for d in cycles if not d.detail)
    assert others[0] == (
        9,
        "organisation cycle through `parent`: `cy-01` → `cy-02` is one of the 30 links of the cycle through "
        "`cy-00` (named in full at catalog/audit_s26_ff.yaml:4:9)",
        "break the cycle: one of its 30 organisations must not point back",
    )


def test_a_short_cycle_is_still_named_in_full_at_each_member(rules: Path) -> None:
    n = CYCLE_LISTED
    _write(rules, [f"kind: unit\ncode: cy-{i:02d}\nname: C\nparent: cy-{(i + 1) % n:02d}\n" for i in range(n)])
    cycles = [d for d in validate_paths([rules]) if d.code == "BR303"]
    assert len(cycles) == n and {len(d.detail) for d in cycles} == {n}
    assert {d.message for d in cycles} == {
        "unit cycle through `parent`: " + " → ".join([*(f"cy-{i:02d}" for i in range(n)), "cy-00"])
    }


def test_a_cycle_of_credit_owners_is_br303_only_and_linear(rules: Path) -> None:
    n = 40
    _write(rules, [f"kind: user\ncode: cu-{i:02d}\nname: U\ncredit_owner: cu-{(i + 1) % n:02d}\n" for i in range(n)])
    found = validate_paths([rules])
    assert not [d for d in found if d.code == "BR412"]
    cycles = [d for d in found if d.code == "BR303"]
    assert len(cycles) == n and sum(len(d.detail) for d in cycles) == n


def _links(d: Any) -> list[str]:
    return [note.split(" at ")[0] for note in d.detail]


def test_a_long_chain_of_credit_owners_shows_its_first_links_and_its_last(rules: Path) -> None:
    n = 40  # ch-00 → ch-01 → … → ch-39, who owns their own credits
    _write(
        rules,
        [
            f"kind: user\ncode: ch-{i:02d}\nname: U\n" + (f"credit_owner: ch-{i + 1:02d}\n" if i + 1 < n else "")
            for i in range(n)
        ],
    )
    found = {d.line: d for d in validate_paths([rules]) if d.code == "BR412"}
    assert len(found) == n - 1  # every link but the last one's user's, as before
    first = found[4]
    assert first.message == "credit owner `ch-01` uses the credits of `ch-02`; an owner must own their own credits"
    assert first.hint == "remove `ch-01`'s `credit_owner:`, or set this one to `ch-39` directly"
    # until 2026-12-04 all 39 links to the end, at each of the 39 users (780 notes)
    assert _links(first) == [
        *(f"link: `ch-{i:02d}` → `ch-{i + 1:02d}`" for i in range(9)),
        "… 29 more links …",
        "link: `ch-38` → `ch-39`",
    ]
    near_end = [d for d in found.values() if d.message.startswith("`ch-36` is")]
    assert [_links(d) for d in near_end] == [
        ["link: `ch-36` → `ch-37`", "link: `ch-37` → `ch-38`", "link: `ch-38` → `ch-39`"]
    ]
    assert sum(len(d.detail) for d in found.values()) <= 11 * n
