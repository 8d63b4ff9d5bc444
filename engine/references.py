"""Stage 5 — references: codes are unique per kind, every reference resolves, no cycles.

Works on the plain data of documents that passed the schema, so one broken document never hides
the references of the others. Renewal chains of terms may loop on purpose (SPEC 3.4) and are not
cycles in this sense; organisation trees, unit trees and credit-owner chains may not.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Container, Iterator
from dataclasses import dataclass
from typing import Any

from engine.diagnostics import Diagnostic, did_you_mean
from engine.load import Document, JsonPath
from engine.lookalikes import skeleton
from engine.values import CODE_PATTERN

#: (kind of the referring document, path pattern with `*` for list items, kind referred to)
REFERENCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("bundle", ("products", "*", "product"), "product"),
    ("bundle", ("discounts", "*"), "discount"),
    ("bundle", ("term",), "term"),
    ("plan", ("bundles", "*"), "bundle"),
    ("plan", ("term",), "term"),
    ("plan", ("compatible_bundles", "*"), "bundle"),
    ("term", ("renewal_term",), "term"),
    ("coupon", ("bundle",), "bundle"),
    ("discount", ("discounted_products", "*", "product"), "product"),
    ("discount", ("discounted_products", "*", "bundle"), "bundle"),
    ("discount", ("criteria", "billing_term", "schemes", "*"), "billing_term_scheme"),
    ("discount", ("criteria", "segments", "include", "*"), "segment"),
    ("discount", ("criteria", "segments", "exclude", "*"), "segment"),
    ("discount", ("criteria", "price_plans", "*"), "plan"),
    ("discount", ("criteria", "products", "*", "product"), "product"),
    ("discount", ("criteria", "products", "*", "bundle"), "bundle"),
    ("discount", ("criteria", "usage_service", "termed_services", "*"), "product"),
    ("discount", ("approval", "users", "*"), "user"),
    ("discount", ("approval", "units", "*"), "unit"),
    ("discount", ("allowed_units", "*"), "unit"),
    ("credit", ("type",), "credit_type"),
    ("credit", ("holder",), "organisation"),
    ("credit", ("scope", "products", "*"), "product"),
    ("credit", ("criteria", "products", "*"), "product"),
    ("credit", ("criteria", "organisations", "*"), "organisation"),
    ("credit_type", ("criteria", "products", "*"), "product"),
    ("credit_type", ("criteria", "organisations", "*"), "organisation"),
    ("credit_type", ("overdraft_policy",), "balance_policy"),
    ("organisation", ("parent",), "organisation"),
    ("unit", ("parent",), "unit"),
    ("user", ("organisation",), "organisation"),
    ("user", ("units", "*"), "unit"),
    ("user", ("credit_owner",), "user"),
)

#: Parent-like references that must not form cycles: (kind, field).
#: kinds a rule set may leave undeclared: with no document of the kind, any code of it is taken
#: (an acceptance test's own rules name `"Delinquent"` without a `kind: segment`; SPEC lists
#: neither kind among the rule files; until 2026-12-02 such a code was BR302, in the rules and in
#: scenarios); with one, every code must be declared (a typo never matched)
OPEN_KINDS = ("segment", "unit")

ACYCLIC = (("organisation", "parent"), ("unit", "parent"), ("user", "credit_owner"))


@dataclass(frozen=True)
class Reference:
    document: Document
    path: JsonPath
    target_kind: str
    code: str


def walk_pattern(data: Any, pattern: tuple[str, ...], path: JsonPath = ()) -> list[tuple[JsonPath, Any]]:
    """The (path, value) pairs that `pattern` reaches in `data`, in document order: a key steps
    into a mapping that has it, `*` into every item of a list."""
    level = [(path, data)]
    for head in pattern:
        if not level:
            break
        deeper: list[tuple[JsonPath, Any]] = []
        if head == "*":
            for where, value in level:
                if isinstance(value, list):
                    deeper.extend(((*where, i), item) for i, item in enumerate(value))
        else:
            for where, value in level:
                if isinstance(value, dict) and head in value:
                    deeper.append(((*where, head), value[head]))
        level = deeper
    return level


#: REFERENCES by the kind that holds them, in their order
_BY_KIND: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _kind, _pattern, _target in REFERENCES:
    _BY_KIND.setdefault(_kind, []).append((_pattern, _target))


def references_of(document: Document, known: Container[tuple[str, str]] = ()) -> Iterator[Reference]:
    """The document's references, in the order of `REFERENCES` then of the document; those whose
    (kind, code) is in `known` are left out."""
    for pattern, target in _BY_KIND.get(document.kind or "", ()):
        for path, value in walk_pattern(document.data, pattern):
            if isinstance(value, str) and (target, value) not in known:
                yield Reference(document, path, target, value)


def index_codes(documents: list[Document]) -> tuple[dict[tuple[str, str], Document], list[Diagnostic]]:
    """Map (kind, code) → document; a duplicate is reported at both places, each naming the other."""
    index: dict[tuple[str, str], Document] = {}
    diagnostics = []
    for document in documents:
        kind, code = document.kind, document.code
        if kind is None or code is None:
            continue
        first = index.get((kind, code))
        if first is None:
            index[(kind, code)] = document
            continue
        span, here = first.locate(("code",)), document.locate(("code",))
        hint = f"give one of the two {kind}s another code"
        diagnostics.append(
            document.diagnostic(
                ("code",),
                "BR301",
                f"duplicate {kind} code `{code}` (first defined at {first.file}:{span.line}:{span.column})",
                hint,
            )
        )
        # at the first place too: a CI annotation lands on both files, whichever one a change touched
        diagnostics.append(
            first.diagnostic(
                ("code",),
                "BR301",
                f"duplicate {kind} code `{code}` (defined again at {document.file}:{here.line}:{here.column})",
                hint,
            )
        )
    return index, diagnostics


_NOT_IN_CODES = re.compile(r"[^a-z0-9]+")


def meant_code(code: str) -> str:
    """A code as a broken document may have meant it: `Commit 12m`, `"commit-12m "` and
    `commit_12m` all stand for `commit-12m` (see `check_references`' `elsewhere`), and so does
    `commit-12m` with its `c` the Cyrillic U+0441, or with a zero-width space: its ASCII look-alike, `skeleton`
    (until 2026-12-04 the letter was dropped, `ommit12m`, and each correct reference was unknown)."""
    return _NOT_IN_CODES.sub("", skeleton(code).lower())


def check_references(
    documents: list[Document],
    index: dict[tuple[str, str], Document],
    unsure: frozenset[str] | None = None,
    elsewhere: Collection[tuple[str, str]] = (),
) -> Iterator[Diagnostic]:
    """BR302 for each reference to a code no document defines (but to a kind in `unsure`, which
    a file read only in part may define: `*` for any kind; and but to a code that a broken
    document may define, in `elsewhere` as (kind or `*`, `meant_code(code)`): a document refused
    by the loader, of an unknown kind or none, or with a malformed code), and the reference cycles."""
    codes_by_kind: dict[str, list[str]] = {}
    kinds_by_code: dict[str, list[str]] = {}
    for kind, code in index:
        codes_by_kind.setdefault(kind, []).append(code)
        kinds_by_code.setdefault(code, []).append(kind)
    suggesters: dict[tuple[str, bool], _Suggestions] = {}
    suggestable: dict[str, list[str]] = {}
    for document in documents:
        holder = document.data.get("holder") if document.kind == "credit" else None
        if isinstance(holder, str) and ("user", holder) in index and ("organisation", holder) in index:
            yield _ambiguous_holder(document, holder, index)  # an organisation or a user (seed 001): never both
        for ref in references_of(document, index):
            if ref.target_kind == "user" and ref.path == ("credit_owner",) and ref.code == document.code:
                continue
            if ref.path == ("holder",) and ("user", ref.code) in index:
                continue  # a credit's holder is an organisation or a user (a credit owner, seed 001)
            if unsure is not None and (ref.target_kind in unsure or "*" in unsure):
                continue  # may be defined in a file read only in part: its error is the finding
            if elsewhere and (
                (ref.target_kind, meant_code(ref.code)) in elsewhere or ("*", meant_code(ref.code)) in elsewhere
            ):
                continue  # a broken document may define it: its own error is the finding (until 2026-12-03 not)
            if ref.target_kind in OPEN_KINDS and ref.target_kind not in codes_by_kind:
                continue  # none declared: free text (`engine.criteria.catalog_codes.OPEN_KINDS`)
            other_kinds = sorted(kinds_by_code.get(ref.code, ()))
            holder = ref.path == ("holder",)  # (an organisation, or a user: a credit owner)
            what = "organisation or user" if holder else ref.target_kind
            names = suggestable.get(ref.target_kind)
            if names is None:
                names = suggestable[ref.target_kind] = _suggestable(codes_by_kind.get(ref.target_kind, []))
            # the code as written, of another kind (a unit under `users:`), before a near name of this
            # kind (until 2026-12-02 `users: [retention-team]` was told "did you mean `rita.retention`?")
            hint = f"`{ref.code}` is a {other_kinds[0]}, not a {what}" if other_kinds else ""
            if not hint:
                suggest = suggesters.get((ref.target_kind, holder))
                if suggest is None:
                    suggest = suggesters[(ref.target_kind, holder)] = _Suggestions(
                        [*names, *_suggestable(codes_by_kind.get("user", []))] if holder else names
                    )
                hint = suggest(ref.code)
            if not hint:
                hint = f"define a {what} with code `{ref.code}` or fix the reference"
            yield document.diagnostic(ref.path, "BR302", f"unknown {what} `{ref.code}`", hint)
    yield from _cycles(index)


_CODE_FORM = re.compile(CODE_PATTERN)


def _suggestable(codes: list[str]) -> list[str]:
    """The codes "did you mean" may name: each well-formed code, and for a malformed one (BR205 of
    its own) the ASCII code it looks like when that is well formed (`commit-12m` for
    `commit-12m` with its `c` the Cyrillic U+0441), never the malformed code itself (until 2026-12-04
    a correct `commit-12m` was told "did you mean" the Cyrillic one, which renders the same and is refused)."""
    kept = []
    for code in codes:
        if not _CODE_FORM.match(code):
            code = skeleton(code)
            if not _CODE_FORM.match(code):
                continue
        kept.append(code)
    return kept


class _Suggestions:
    """`did_you_mean` among one kind's codes, for each misspelt reference to the kind: each code
    once, and among thousands of codes, first among those one letter removed from the reference
    or from it (a letter typed wrong, left out, added or swapped), found in a table of the codes
    with each of their letters left out; then among the codes of about its length and those
    sharing its first or last word (`did_you_mean`'s word more or less), for the first `FAR`
    references only: after them, only a code one letter away is suggested, so that a rule set of
    thousands of references to nothing alike stays quick. Until 2026-12-03 every reference
    compared itself with every code: 1,000 misspelt references to 1,000 products took 30 s,
    3,000 to 3,000 289 s."""

    #: up to this many codes, `did_you_mean` compares with each (as fast as the table)
    FEW = 100
    #: how many references not one letter from a code are compared with the codes of about their length
    FAR = 100

    def __init__(self, codes: list[str]) -> None:
        self.codes = sorted(set(codes))
        self.hints: dict[str, str] = {}
        self.near: dict[str, list[str]] | None = None
        self.words: dict[tuple[int, str], list[str]] = {}
        self.far = 0

    def __call__(self, code: str) -> str:
        hint = self.hints.get(code)
        if hint is None:
            hint = self.hints[code] = self._hint(code)
        return hint

    def _hint(self, code: str) -> str:
        if len(self.codes) <= self.FEW:
            return did_you_mean(code, self.codes)
        if self.near is None:
            self.near = {}
            for known in self.codes:
                for shorter in _one_left_out(known):
                    self.near.setdefault(shorter, []).append(known)
                words = _words(known)
                self.words.setdefault((0, words[0]), []).append(known)
                self.words.setdefault((-1, words[-1]), []).append(known)
        close = {known for shorter in _one_left_out(code) for known in self.near.get(shorter, ())}
        hint = did_you_mean(code, close) if close else ""
        if hint or self.far >= self.FAR:
            return hint
        self.far += 1
        # farther: the codes of about its length (a suggestion is at most a third of its letters
        # away), and those with its first or last word (a word more or less)
        allowed = max(2, len(code) // 3)
        words = _words(code)
        alike = {known for known in self.codes if abs(len(known) - len(code)) <= allowed}
        alike.update(self.words.get((0, words[0]), ()), self.words.get((-1, words[-1]), ()))
        return did_you_mean(code, alike)


def _words(code: str) -> list[str]:
    """The words of a code, as `did_you_mean` splits them (at `_`, `-`, `.`; lower case)."""
    return re.split(r"[_.-]", code.lower())


def _one_left_out(code: str) -> set[str]:
    """`code`, and `code` with each of its letters left out in turn."""
    return {code, *(code[:i] + code[i + 1 :] for i in range(len(code)))}


def _ambiguous_holder(document: Document, code: str, index: dict[tuple[str, str], Document]) -> Diagnostic:
    """BR304: a credit's `holder` that is both an organisation's code and a user's (codes are
    unique per kind): the credit would go to one of them in silence (SPEC 3: a reference points
    to both places involved)."""
    places = []
    for kind in ("organisation", "user"):
        defined = index[(kind, code)]
        places.append(f"{kind} at {defined.file}:{defined.locate(('code',)).line}")
    return document.diagnostic(
        ("holder",),
        "BR304",
        f"holder `{code}` is both an organisation and a user ({'; '.join(places)}): the credit's holder is unclear",
        "give the organisation or the user another code, and name the one that holds the credit",
    )


#: a cycle of up to this many members is named in full at each of them; a longer one in full at
#: its first member, and at each other member by its own link (`_cycles`)
CYCLE_LISTED = 10


def _cycles(index: dict[tuple[str, str], Document]) -> Iterator[Diagnostic]:
    """BR303 at every place of each cycle. A user naming themselves as credit owner names none
    (SPEC 3.6); an organisation or a unit that is its own parent is a cycle of one. Each code is
    walked once (a chain of thousands of organisations took minutes, walked again from each).

    A cycle of up to `CYCLE_LISTED` members is named in full at each of them, with a note per
    link; a longer one in full at its first member (the smallest code) only, and at each other
    member by its own link, the cycle's length and where it is named in full: until 2026-12-04
    each of N members listed all N links, and a cycle of 1,000 organisations wrote 100 MB."""
    for kind, field in ACYCLIC:
        parent_of = {
            code: doc.data[field]
            for (k, code), doc in index.items()
            if k == kind and isinstance(doc.data.get(field), str) and (doc.data[field] != code or kind != "user")
        }
        walked: set[str] = set()
        for start in sorted(parent_of):
            chain: list[str] = []
            place: dict[str, int] = {}  # the codes of this walk, by position
            node = start
            while node in parent_of and node not in walked:
                walked.add(node)
                place[node] = len(chain)
                chain.append(node)
                node = parent_of[node]
            if node not in place:  # ends at a root, or joins a chain walked before
                continue
            loop = chain[place[node] :]
            first = min(loop)
            loop = loop[loop.index(first) :] + loop[: loop.index(first)]
            detail = tuple(
                f"{index[(kind, c)].file}:{index[(kind, c)].locate((field,)).line}: {kind} `{c}` → `{parent_of[c]}`"
                for c in loop
            )
            hint = f"break the cycle: one of these {kind}s must not point back"
            message = f"{kind} cycle through `{field}`: {' → '.join([*loop, first])}"
            if len(loop) <= CYCLE_LISTED:
                for member in loop:  # at every place of the cycle (each is a CI annotation of its own)
                    yield index[(kind, member)].diagnostic((field,), "BR303", message, hint, detail=detail)
                continue
            named = index[(kind, first)]
            yield named.diagnostic((field,), "BR303", message, hint, detail=detail)
            where = named.locate((field,))
            for member in loop[1:]:  # at every other place by its own link (a CI annotation of its own)
                yield index[(kind, member)].diagnostic(
                    (field,),
                    "BR303",
                    f"{kind} cycle through `{field}`: `{member}` → `{parent_of[member]}` is one of the "
                    f"{len(loop):,} links of the cycle through `{first}` (named in full at "
                    f"{named.file}:{where.line}:{where.column})",
                    f"break the cycle: one of its {len(loop):,} {kind}s must not point back",
                )
