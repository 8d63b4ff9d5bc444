"""Coupon codes (SPEC 3.5, seed 003): generate them from a template, decode a code back.

A coupon's template marks each generated character with `#` (the marks need not be adjacent:
`AB-##-#` is fine). The codes are the numbers range start, range start + 1, ... (quantity of
them) written in the coupon's charset — decimal for `numeric`, base 36 (0-9 then A-Z) for
`alphanumeric` — zero-padded to the number of `#` marks and written into the marks from left
to right. `coupon_##`, numeric, quantity 5, range start 87 gives coupon_87 ... coupon_91.

The range start is written as the first code's characters: a number for numeric coupons, base-36
text for alphanumeric ones (`A000`; lower case is read as upper case). A YAML number on an
alphanumeric coupon is read as its digits (`range_start: 1000` starts at code ...1000), since
that is what an analyst sees in the file.

Matching a code is **case-sensitive**: the generated characters of an alphanumeric code are
upper case and the template's fixed text is compared exactly, so `acme-a00f` is not `ACME-A00F`
(the purchase names the near miss in its reason). Codes are identifiers printed on vouchers and
in e-mails; a shop front end may upper-case what customers type, the engine does not guess.

`CodeSpace.codes()` is a lazy iterator (a million codes stream), `CodeSpace.index()` decodes a
code in O(template length). `CouponIndex` finds a code's coupon among a rule set's coupons by
the template's length and fixed prefix, without enumerating any codes; `overlap()` decides
exactly (no enumeration either) whether two coupons can generate the same code.
"""

from __future__ import annotations

import heapq
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MARK = "#"

#: the most significant characters `CodeSpace.widened` reads in a run of marks written too long
_WIDEST = 40


def to_base(number: int, base: int, width: int = 1) -> str:
    """`number` written in `base` with the digits 0-9, A-Z, zero-padded to `width`."""
    digits = ""
    while True:
        number, rest = divmod(number, base)
        digits = BASE36[rest] + digits
        if number == 0:
            return digits.rjust(width, "0")


def base_of(charset: Any) -> int:
    """10 for `numeric`, 36 for `alphanumeric` (a Charset or its text)."""
    return 10 if getattr(charset, "value", charset) == "numeric" else 36


def range_start(value: int | str, base: int) -> int | None:
    """The range start's number, or None when it is not a value of the charset (negative, bad digit)."""
    if isinstance(value, int):
        if value < 0:
            return None
        if base == 10:
            return value
        value = str(value)  # an alphanumeric start written as a YAML number: its digits are the code's
    if not value.isascii():  # (before upper-casing: until 2026-12-03 `ß0` was read as `SS0`, `ﬁ0` as `FI0`)
        return None
    text = value.upper()
    if not text or any(ch not in BASE36[:base] for ch in text):
        return None
    return int(text, base)


@dataclass(frozen=True)
class TemplateProblem:
    """Why a coupon's template cannot hold its codes: the field to point at, message and hint."""

    field: str
    message: str
    hint: str


def template_problem(model: Any) -> TemplateProblem | None:
    """BR409: no `#` to fill, a range start outside the charset, or more codes than the marks hold."""
    positions = model.template.count(MARK)
    base = base_of(model.charset)
    if positions == 0:
        return TemplateProblem(
            "template",
            f"template `{model.template}` has no `#` position to fill",
            "mark each generated character with `#`, e.g. `coupon_##`",
        )
    start = range_start(model.range_start, base)
    if start is None:
        return TemplateProblem(
            "range_start",
            f"range start `{model.range_start}` is not {'an' if model.charset.value[0] in 'aeio' else 'a'} "
            f"{model.charset.value} value",
            "numeric coupons start at a whole number; alphanumeric ones at base-36 text such as `A0`",
        )
    last = start + model.quantity - 1
    if last >= base**positions:
        counted = "1 position" if positions == 1 else f"{positions} positions"  # (until 2026-12-04 "position(s)")
        return TemplateProblem(
            "template",
            f"template `{model.template}` has {counted}, too few for codes up to "
            f"{to_base(last, base)}{' in base 36' if base == 36 else ''} (range start {model.range_start}, "
            f"quantity {model.quantity})",  # (until 2026-12-03 base-36 `100` read as a hundred)
            f"add `#` positions to the template (at least {len(to_base(last, base))}) or lower the quantity",
        )
    return None


@dataclass(frozen=True)
class CodeSpace:
    """The codes of one coupon: template, base, first number and how many."""

    coupon: str
    template: str
    base: int
    start: int
    quantity: int

    @classmethod
    def of(cls, model: Any) -> CodeSpace | None:
        """The coupon's code space, or None for a coupon whose template has a problem (BR409)."""
        if template_problem(model) is not None:
            return None
        base = base_of(model.charset)
        start = range_start(model.range_start, base)
        assert start is not None  # template_problem checked it
        return cls(model.code, model.template, base, start, model.quantity)

    @property
    def width(self) -> int:
        return self.template.count(MARK)

    @property
    def prefix(self) -> str:
        """The fixed text before the first `#` (the index's key)."""
        return self.template.split(MARK, 1)[0]

    def code(self, index: int) -> str:
        """The code number `index` (0-based) of the coupon."""
        if not 0 <= index < self.quantity:
            raise IndexError(f"coupon `{self.coupon}` has {self.quantity} codes; no code #{index}")
        return self._fill(to_base(self.start + index, self.base, self.width))

    def codes(self) -> Iterator[str]:
        """Every code, in order, generated one at a time."""
        pattern = self.template.replace("{", "{{").replace("}", "}}").replace(MARK, "{}")
        width, base = self.width, self.base
        for number in range(self.start, self.start + self.quantity):
            digits = f"{number:0{width}d}" if base == 10 else to_base(number, base, width)
            yield pattern.format(*digits)

    def index(self, text: str) -> int | None:
        """The 0-based index of `text` among the coupon's codes, or None; O(template length)."""
        if len(text) != len(self.template):
            return None
        digits = []
        allowed = BASE36[: self.base]
        for fixed, char in zip(self.template, text, strict=True):
            if fixed == MARK:
                if char not in allowed:
                    return None
                digits.append(char)
            elif fixed != char:
                return None
        number = int("".join(digits), self.base) - self.start
        return number if 0 <= number < self.quantity else None

    def near(self, text: str) -> set[str]:
        """The codes `nearest` weighs for `text`: the first, the last and, for a text of the
        template's length, the code whose number is closest to the digits in its `#` positions."""
        found = {self.code(0), self.code(self.quantity - 1)}
        if len(text) == len(self.template):
            allowed = BASE36[: self.base]
            digits = "".join(c.upper() for fixed, c in zip(self.template, text, strict=True) if fixed == MARK)
            # (a character the charset lacks gives no number: until 2026-12-03 it was read as `0`, and
            # `coupon_8٩` was "near" `coupon_80`, so `coupon_87`)
            if all(d in allowed for d in digits):
                number = min(max(int(digits, self.base) - self.start, 0), self.quantity - 1)
                found.add(self.code(number))
        return found

    def shaped(self, text: str) -> tuple[int, str] | None:
        """For `text` written in the template's shape (its fixed text, in any case, and charset
        characters in the `#` positions) but outside the range: how far its number lies from the
        range, and the code at that end of it. None for a text of another shape."""
        if len(text) != len(self.template):
            return None
        allowed = BASE36[: self.base]
        digits = []
        for fixed, char in zip(self.template, text, strict=True):
            if fixed == MARK:
                if char.upper() not in allowed:
                    return None
                digits.append(char.upper())
            elif fixed.lower() != char.lower():
                return None
        number = int("".join(digits), self.base) - self.start
        index = min(max(number, 0), self.quantity - 1)
        return abs(number - index), self.code(index)

    def widened(self, text: str) -> tuple[int, str] | None:
        """`shaped` for a template whose `#` marks are one run (`X##`, `coupon_##`) and `text`
        written with more or fewer characters in that run (`X100` for `X95`…`X99`): how far its
        number lies from the range, and the code at that end of it. None for another shape, or for
        a run of more than `_WIDEST` characters past its leading zeros (no code is near that)."""
        head, _, rest = self.template.partition(MARK)
        tail = rest.lstrip(MARK)
        if MARK in tail or len(rest) - len(tail) + 1 != self.width:  # (marks not in one run)
            return None
        run = len(text) - len(head) - len(tail)
        if run < 1 or run == self.width:  # (a text of the template's length is `shaped`'s)
            return None
        if text[: len(head)].lower() != head.lower() or text[len(head) + run :].lower() != tail.lower():
            return None
        written = text[len(head) : len(head) + run].upper()
        allowed = BASE36[: self.base]
        if any(ch not in allowed for ch in written) or len(written.lstrip("0")) > _WIDEST:
            return None
        number = int(written.lstrip("0") or "0", self.base) - self.start  # (5,000 zeros: past int()'s limit)
        index = min(max(number, 0), self.quantity - 1)
        return abs(number - index), self.code(index)

    def _fill(self, digits: str) -> str:
        chars = iter(digits)
        return "".join(next(chars) if c == MARK else c for c in self.template)


class CouponIndex:
    """Every coupon's code space, keyed by (code length, fixed prefix): decode without enumerating.

    Built once per rule set (`index_of(rules)` caches it on the RuleSet). A validated rule set has
    no two coupons sharing a code (BR440), so a code decodes to at most one coupon.
    """

    def __init__(self, spaces: Iterable[CodeSpace]) -> None:
        self.spaces = {s.coupon: s for s in spaces}
        self._by_shape: dict[tuple[int, str], list[CodeSpace]] = {}
        self._prefix_lengths: dict[int, list[int]] = {}
        for space in self.spaces.values():
            length, prefix = len(space.template), space.prefix
            self._by_shape.setdefault((length, prefix), []).append(space)
            lengths = self._prefix_lengths.setdefault(length, [])
            if len(prefix) not in lengths:
                lengths.append(len(prefix))

    def decode(self, text: str) -> tuple[CodeSpace, int] | None:
        """The coupon that generates `text` and the code's index, or None."""
        for width in self._prefix_lengths.get(len(text), ()):
            for space in self._by_shape.get((len(text), text[:width]), ()):
                index = space.index(text)
                if index is not None:
                    return space, index
        return None

    def nearest(self, text: str) -> str | None:
        """A code close to `text`, for a "did you mean" on an unknown code; bounded by the number
        of coupons (never enumerates their codes).

        A code differing only in case is found directly; a code in a coupon's shape whose number
        lies outside its range gets the code at the nearest end of the range (of the coupon whose
        range is nearest: `ROAM-004` → `ROAM-005` for codes 005…014; until 2026-12-02 similarity
        alone chose, and named `ROAM-014`); so does one written with more or fewer characters in a
        template's one run of marks (`X100` → `X99` for codes `X95`…`X99`; until 2026-12-03 another
        coupon's code, `AMT-002`). Otherwise each coupon offers at most
        three codes: its first and last, and, when `text` has the template's length, the code
        whose number is nearest to the one written in `text`'s `#` positions (none when one of
        them is a character the charset lacks); the candidate with the highest `difflib` similarity
        wins (ties: the larger code, as `difflib.get_close_matches` breaks them).

        A code written in full-width or other compatibility characters, or with digits of another
        script (`coupon_89` in full-width letters and digits, `coupon_8٩`), gets the code it spells
        (its NFKC form, those digits as ASCII, in any case) when that is a code, else no suggestion:
        until 2026-12-03 similarity named another customer's code (`coupon_91`, `coupon_87`).
        """
        if text != text.strip() and text.strip():  # ` coupon_90`, pasted with a space: the code it holds
            # (until 2026-12-03 the nearest end of a range, `coupon_91`)
            bare = text.strip()
            return bare if self.decode(bare) is not None else self.nearest(bare)
        visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        plain = _plain(visible)
        if plain != visible:
            return self._spelled(plain)
        if visible != text and visible:  # a zero-width space pasted inside `coupon_8​8`: the code it hides
            found = self.nearest(visible) if self.decode(visible) is None else visible
            if found is not None:
                return found
        folded = self._in_case(text)
        if folded is not None:
            return folded
        shaped = [near for space in self.spaces.values() if (near := space.shaped(text)) is not None]
        if shaped:  # a code of a coupon's shape, its number out of range: the nearest end of the range
            return min(shaped)[1]
        # the same with more or fewer characters in its run of marks (`X100` of `X95`…`X99` → `X99`;
        # until 2026-12-03 similarity chose among every coupon's codes, and named `AMT-002`)
        widened = [near for space in self.spaces.values() if (near := space.widened(text)) is not None]
        if widened:
            return min(widened)[1]
        import difflib

        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(text)
        best: tuple[float, str] | None = None
        for space in self.spaces.values():
            for candidate in space.near(text):
                matcher.set_seq1(candidate)
                scored = (matcher.ratio(), candidate)
                if best is None or scored > best:
                    best = scored
        return best[1] if best is not None else None

    def _spelled(self, text: str) -> str | None:
        """`text` when it is a code, or the code it is in another case; else None."""
        return text if self.decode(text) is not None else self._in_case(text)

    def _in_case(self, text: str) -> str | None:
        """The code `text` is in another case (`COUPON_88` → `coupon_88`), or None."""
        for variant in (text.upper(), text.lower()):
            for space in self.spaces.values():
                folded = _fold(space.template, variant)
                if folded is not None and space.index(folded) is not None:
                    return folded
        return None


def _plain(text: str) -> str:
    """`text` in NFKC (full-width letters and digits as ASCII ones), with the decimal digits of
    other scripts (`٩`, `९`) as ASCII ones too."""
    normal = unicodedata.normalize("NFKC", text)
    if normal.isascii():
        return normal
    return "".join(
        str(digit) if not ch.isascii() and (digit := unicodedata.decimal(ch, None)) is not None else ch for ch in normal
    )


def _fold(template: str, variant: str) -> str | None:
    """`variant` with the template's fixed text restored in the template's case (or None)."""
    if len(template) != len(variant):
        return None
    out = []
    for fixed, char in zip(template, variant, strict=True):
        if fixed == MARK:
            out.append(char.upper())
        elif fixed.lower() == char.lower():
            out.append(fixed)
        else:
            return None
    return "".join(out)


def index_of(rules: Any) -> CouponIndex:
    """The rule set's coupon index, built on first use and cached beside the RuleSet's fields."""
    cache = rules.__dict__.setdefault("_evaluators", {})  # frozen dataclass: cache beside the fields
    if "coupons" not in cache:
        spaces = (CodeSpace.of(model) for model in rules.models("coupon").values())
        cache["coupons"] = CouponIndex(s for s in spaces if s is not None)
    index: CouponIndex = cache["coupons"]
    return index


def _may_meet(a: CodeSpace, b: CodeSpace) -> bool:
    """Can two templates of one length spell one code, character by character? Two fixed characters
    must be equal, and a fixed one must be a digit of the other's charset where it has a mark: a
    quick test before `overlap`'s walk (300 campaign coupons `SPRING0001-####`, … took 17 s to
    validate, each pair walked)."""
    digits_a, digits_b = BASE36[: a.base], BASE36[: b.base]
    for x, y in zip(a.template, b.template, strict=True):
        if x == MARK:
            if y != MARK and y not in digits_a:
                return False
        elif y == MARK:
            if x not in digits_b:
                return False
        elif x != y:
            return False
    return True


def overlap(a: CodeSpace, b: CodeSpace) -> str | None:
    """The smallest code both coupons generate, or None when their code sets are disjoint.

    Exact, without enumerating: a digit walk over the code's characters, left to right. Each
    coupon's number must stay within [first, last]; the walk keeps, per coupon, whether the
    digits so far still equal the first's (tight low) and the last's (tight high) — at most 16
    states per character. A backward pass marks the states that can still finish; the forward
    pass then picks the smallest character at each step, so the witness is deterministic.
    """
    if len(a.template) != len(b.template) or not _may_meet(a, b):
        return None
    if a.template == b.template and a.base == b.base:  # one numbering: the ranges meet or not
        first = max(a.start, b.start)
        return a.code(first - a.start) if first < min(a.start + a.quantity, b.start + b.quantity) else None
    sides = [_Side(a), _Side(b)]
    length = len(a.template)
    State = tuple[bool, bool, bool, bool]
    start: State = (True, True, True, True)

    def step(state: State, i: int, char: str) -> State | None:
        out: list[bool] = []
        for side, (low, high) in zip(sides, (state[:2], state[2:]), strict=True):
            moved = side.step(i, char, low, high)
            if moved is None:
                return None
            out.extend(moved)
        return (out[0], out[1], out[2], out[3])

    def chars(i: int) -> str:
        fixed = [s.space.template[i] for s in sides if s.space.template[i] != MARK]
        if fixed:
            return fixed[0]
        return BASE36[: min(a.base, b.base)]

    # backward: the states at position i from which the end can be reached
    can_finish: list[set[State]] = [set() for _ in range(length + 1)]
    can_finish[length] = {
        (x, y, z, w) for x in (True, False) for y in (True, False) for z in (True, False) for w in (True, False)
    }
    for i in range(length - 1, -1, -1):
        for state in can_finish[length]:
            if any((nxt := step(state, i, c)) is not None and nxt in can_finish[i + 1] for c in chars(i)):
                can_finish[i].add(state)
    if start not in can_finish[0]:
        return None
    state, witness = start, []
    for i in range(length):
        for c in chars(i):
            nxt = step(state, i, c)
            if nxt is not None and nxt in can_finish[i + 1]:
                state = nxt
                witness.append(c)
                break
    return "".join(witness)


def overlapping(spaces: Sequence[CodeSpace]) -> list[tuple[int, int, str]]:
    """Every pair of `spaces` (of one template length) that can generate one code, as (i, j, the
    smallest shared code, `overlap(spaces[j], spaces[i])`) with j < i, ordered by i then j: the
    pairs and order of comparing each coupon with every one before it, without comparing them all.

    The templates are split position by position by what they allow there (a fixed character,
    or a mark of the numeric or alphanumeric charset), so that only templates that `_may_meet`
    stay together; coupons of one template and one charset are then paired by a sweep over their
    ranges, and only templates that differ yet may meet are walked pair by pair (`overlap`).
    Until 2026-12-04 every pair was compared: 3,000 coupons took 5 to 13 s to validate, 10,000
    83 to 115 s."""
    found: list[tuple[int, int, str]] = []  # (only the pairs that share a code: memory as the output)
    if len(spaces) < 2:
        return []
    length = len(spaces[0].template)
    # work items: (position, one group of indices paired within it) or (position, two groups paired across)
    within: list[tuple[int, list[int]]] = [(0, list(range(len(spaces))))]
    across: list[tuple[int, list[int], list[int]]] = []
    while within or across:
        if within:
            p, group = within.pop()
            if p == length:
                _pair_leaf(spaces, group, found)
                continue
            fixed, numeric, alpha = _split(spaces, group, p)
            marks = numeric + alpha
            for char, members in fixed.items():
                if len(members) > 1:
                    within.append((p + 1, members))
                meet = marks if char in _DIGITS else alpha if char in BASE36 else []
                if meet:
                    across.append((p + 1, members, meet))
            if len(marks) > 1:
                within.append((p + 1, marks))
            continue
        p, left, right = across.pop()
        if p == length:
            _pair_each(spaces, ((i, j) for i in left for j in right), found)
            continue
        fixed_l, numeric_l, alpha_l = _split(spaces, left, p)
        fixed_r, numeric_r, alpha_r = _split(spaces, right, p)
        marks_l, marks_r = numeric_l + alpha_l, numeric_r + alpha_r
        for char, members in fixed_l.items():
            if char in fixed_r:
                across.append((p + 1, members, fixed_r[char]))
            meet = marks_r if char in _DIGITS else alpha_r if char in BASE36 else []
            if meet:
                across.append((p + 1, members, meet))
        for char, members in fixed_r.items():
            meet = marks_l if char in _DIGITS else alpha_l if char in BASE36 else []
            if meet:
                across.append((p + 1, meet, members))
        if marks_l and marks_r:
            across.append((p + 1, marks_l, marks_r))
    found.sort()
    return found


_DIGITS = BASE36[:10]


def _split(spaces: Sequence[CodeSpace], group: list[int], p: int) -> tuple[dict[str, list[int]], list[int], list[int]]:
    """`group` by what its templates allow at position `p`: each fixed character, a numeric mark,
    an alphanumeric mark."""
    fixed: dict[str, list[int]] = {}
    numeric: list[int] = []
    alpha: list[int] = []
    for i in group:
        space = spaces[i]
        char = space.template[p]
        if char != MARK:
            fixed.setdefault(char, []).append(i)
        elif space.base == 10:
            numeric.append(i)
        else:
            alpha.append(i)
    return fixed, numeric, alpha


def _pair_leaf(spaces: Sequence[CodeSpace], group: list[int], found: list[tuple[int, int, str]]) -> None:
    """The pairs of `group` (one template text, every pair may meet) whose codes may be shared:
    within one charset those whose ranges meet (a sweep by range start), across charsets every pair."""
    by_base: dict[int, list[int]] = {}
    for i in group:
        by_base.setdefault(spaces[i].base, []).append(i)
    bases = list(by_base.values())
    for members in bases:
        ranked = sorted(members, key=lambda i: (spaces[i].start, i))
        running: list[tuple[int, int]] = []  # (end, index) of the ranges begun and not yet ended
        for i in ranked:
            start = spaces[i].start
            while running and running[0][0] <= start:
                heapq.heappop(running)
            _pair_each(spaces, ((i, j) for _, j in running), found)  # (each shares a code)
            heapq.heappush(running, (start + spaces[i].quantity, i))
    for k, members in enumerate(bases):
        for others in bases[k + 1 :]:
            _pair_each(spaces, ((i, j) for i in members for j in others), found)


def _pair_each(
    spaces: Sequence[CodeSpace], pairs: Iterable[tuple[int, int]], found: list[tuple[int, int, str]]
) -> None:
    """Each pair that shares a code, as (later index, earlier index, `overlap(earlier, later)`)."""
    for a, b in pairs:
        i, j = (a, b) if a > b else (b, a)
        code = overlap(spaces[j], spaces[i])
        if code is not None:
            found.append((i, j, code))


class _Side:
    """One coupon in the overlap walk: its digit positions and the first and last numbers' digits."""

    def __init__(self, space: CodeSpace) -> None:
        self.space = space
        self.slot: dict[int, int] = {}  # template position -> digit number
        for i, c in enumerate(space.template):
            if c == MARK:
                self.slot[i] = len(self.slot)
        width = len(self.slot)
        self.low = to_base(space.start, space.base, width)
        self.high = to_base(space.start + space.quantity - 1, space.base, width)

    def step(self, i: int, char: str, low: bool, high: bool) -> tuple[bool, bool] | None:
        """The (tight low, tight high) flags after writing `char` at position `i`, or None if impossible."""
        k = self.slot.get(i)
        if k is None:
            return (low, high) if char == self.space.template[i] else None
        if char not in BASE36[: self.space.base]:
            return None
        if low and char < self.low[k]:  # BASE36 order is character order
            return None
        if high and char > self.high[k]:
            return None
        return (low and char == self.low[k], high and char == self.high[k])
