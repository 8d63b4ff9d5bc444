"""The compile pipeline: an ordered table of named stages from files to a checked rule set.

    load → kinds → schema → models → references → semantics → criteria

Each stage adds diagnostics and never stops the run: later stages only see documents that
passed the earlier ones, so one run reports every independent finding. Inputs are sorted so
results are deterministic.
"""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, Severity, closest, did_you_mean, sorted_diagnostics
from engine.load import (
    RULESET_FILE_NAMES,
    AliasBudget,
    Document,
    SourceFile,
    discover,
    display_path,
    dotted,
    load_file,
    register_rule_file,
)


@dataclass
class Compilation:
    """Everything the stages learn about one rule set."""

    root: Path
    files: list[SourceFile] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    valid: list[Document] = field(default_factory=list)
    catalog: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: Any = None
    criteria: Any = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    folder_unread: bool = False  # a folder of the rule set could not be read (BR100): its files are missing
    #: handed what the stages leave for the garbage (the criteria caches), instead of freeing it, when
    #: the process exits next (`billrules validate`: `engine.cli.exits.keep_until_exit`)
    keep: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not any(d.severity.value == "error" for d in self.diagnostics)

    def version_hash(self) -> str:
        """Content hash of the rule files: the `rules_version` stamped on every decision."""
        import hashlib

        digest = hashlib.sha256()
        for source in sorted(self.files, key=lambda s: s.path.relative_to(self.root).as_posix()):
            digest.update(source.path.relative_to(self.root).as_posix().encode())
            digest.update(b"\x00")
            digest.update(source.digest)  # of the bytes loaded: files are read once, with the size limit
        return digest.hexdigest()[:16]


def stage_load(c: Compilation) -> None:
    found = discover(c.root)
    c.diagnostics.extend(found.diagnostics)
    c.folder_unread = any(d.code == "BR100" for d in found.diagnostics)
    budget = AliasBudget()  # what aliases may add in all the files together, beside each file's own limit
    for path in found.files:
        source = load_file(path, budget)
        register_rule_file(source.display, Path(os.path.abspath(path)), c.root)  # (a link loop resolves nowhere)
        c.files.append(source)
        c.diagnostics.extend(source.diagnostics)
        c.documents.extend(source.documents)
        if source.whole and not (source.documents or source.diagnostics or source.dropped):
            c.diagnostics.append(_empty_file(source.display))


def _empty_file(file: str) -> Diagnostic:
    """BR121, a warning: a rule file that holds no document (empty, or only comments, `---` or
    `~`). A merge or an editor that truncated the file dropped every rule it held, and nothing else
    would say so (until 2026-12-03 it passed `validate` and the pre-commit hook in silence)."""
    return Diagnostic(
        file,
        1,
        1,
        "BR121",
        "the rule file holds no document: if it held rules, they are gone",
        "restore its documents, or delete the file",
        severity=Severity.WARNING,
    )


def _kind_not_text(kind: Any, kinds: list[str]) -> tuple[str, str]:
    """BR111's message and hint for a `kind:` that is not text (`kind: [term]`, `kind: true`): what
    it is, as schema.py's BR203 names a wrong type (until 2026-12-04 "unknown kind `['term']`", the
    value as Python writes it: `True`, `{'a': 'term'}`, `None`)."""
    if isinstance(kind, bool):
        what = "true/false"
    elif isinstance(kind, int | float):
        what = "a number"
    elif isinstance(kind, list):
        what = "a list"
    elif isinstance(kind, dict):
        what = "a mapping"
    else:  # (the loader gives text, numbers, true/false, lists and mappings; `null` is BR112)
        what = "nothing" if kind is None else f"a {type(kind).__name__}"
    inside = kind[0] if isinstance(kind, list) and len(kind) == 1 else None  # (`kind: [term]`)
    meant = (inside if inside in kinds else closest(inside, kinds)) if isinstance(inside, str) else None
    if meant is not None:
        hint = f"write the kind alone, without brackets: `kind: {meant}`"
    else:
        hint = f"use one of: {', '.join(kinds)}"
    return f"`kind` must be text, not {what}", hint


def stage_kinds(c: Compilation) -> None:
    from engine.models import KINDS

    root_files = {display_path(c.root / name) for name in RULESET_FILE_NAMES}
    settings_docs = []
    for doc in c.documents:
        kind = doc.data.get("kind")
        if kind is None:
            c.diagnostics.append(
                doc.diagnostic(
                    (), "BR112", "document has no `kind:`", f"start it with `kind:` and one of: {', '.join(KINDS)}"
                )
            )
        elif not isinstance(kind, str):
            c.diagnostics.append(doc.diagnostic(("kind",), "BR111", *_kind_not_text(kind, list(KINDS))))
        elif kind not in KINDS:
            hint = did_you_mean(kind, KINDS) or f"use one of: {', '.join(KINDS)}"
            c.diagnostics.append(doc.diagnostic(("kind",), "BR111", f"unknown kind `{kind}`", hint))
        elif kind == "rule_set":
            if doc.file not in root_files:
                c.diagnostics.append(
                    doc.diagnostic(
                        ("kind",),
                        "BR113",
                        "a `rule_set` document belongs in the rule set's root `ruleset.yaml`",
                        "move it to ruleset.yaml at the root of the rule set",
                    )
                )
            else:
                settings_docs.append(doc)
                c.valid.append(doc)
        else:
            c.valid.append(doc)
    if not settings_docs and not any(d.code == "BR113" for d in c.diagnostics):
        ruleset_file = next(
            (s.display for s in c.files if s.path.name in RULESET_FILE_NAMES), display_path(c.root / "ruleset.yaml")
        )
        if not any(d.file == ruleset_file for d in c.diagnostics):
            c.diagnostics.append(
                Diagnostic(
                    ruleset_file,
                    1,
                    1,
                    "BR113",
                    "ruleset.yaml holds no `kind: rule_set` document",
                    "add `kind: rule_set` with code, name, version and default_currency",
                )
            )
    for extra in settings_docs[1:]:
        c.diagnostics.append(
            extra.diagnostic(
                ("kind",), "BR113", "a rule set has exactly one `rule_set` document", "merge the two documents"
            )
        )


def stage_schema(c: Compilation) -> None:
    from engine.schema import check_document

    passed = []
    for doc in c.valid:
        found = list(check_document(doc, doc.data["kind"]))
        c.diagnostics.extend(found)
        if not found:
            passed.append(doc)
    c.valid = passed


def stage_models(c: Compilation) -> None:
    from pydantic import ValidationError

    from engine.models import KINDS
    from engine.models._direct import validate
    from engine.models.errors import did_you_mean_of, field_errors
    from engine.semantics import Entry

    built = []
    for doc in c.valid:
        kind = doc.data["kind"]
        try:
            model = validate(KINDS[kind], doc.data)
        except ValidationError as exc:
            for error in field_errors(exc.errors(include_url=False), doc.data):
                path, (message, hint) = error.path, did_you_mean_of(error.message)
                where = dotted(path) or kind
                c.diagnostics.append(
                    doc.diagnostic(
                        path,
                        "BR207",
                        f"`{where}`: {message}",
                        hint or f"see `billrules schema --kind {kind}` for the expected form",
                    )
                )
            continue
        built.append(doc)
        if kind == "rule_set":
            c.settings = model
        else:
            c.catalog.setdefault(kind, {}).setdefault(doc.data["code"], Entry(model, doc))
    c.valid = built


def stage_references(c: Compilation) -> None:
    from engine.models import KINDS
    from engine.references import check_references, index_codes

    # (a code of an unknown kind is not a code of another kind: until 2026-12-03 a reference to the
    # term of a `kind: contract_term` was told "`commit-12m` is a contract_term, not a term")
    coded = [d for d in c.documents if d.kind in KINDS and d.kind != "rule_set"]
    index, duplicates = index_codes(coded)
    c.diagnostics.extend(duplicates)
    unsure = _kinds_unread(c.files)
    if c.folder_unread:  # its files may define any code (until 2026-12-03 each reference to one was
        unsure = frozenset({"*"})  # "unknown": 42 errors after one unreadable catalog/ folder)
    for kind, code, document in _misnamed(c.documents):
        if code is not None:
            index.setdefault((kind, code), document)
        else:
            unsure = (unsure or frozenset()) | {kind}
    elsewhere = set()
    for kind, code in _broken_defines(c):
        if code is not None:
            elsewhere.add((kind, code))
        else:
            unsure = (unsure or frozenset()) | {kind}
    c.diagnostics.extend(check_references(c.valid, index, unsure=unsure, elsewhere=elsewhere))


def _broken_defines(c: Compilation) -> Iterator[tuple[str, str | None]]:
    """(kind, code as `meant_code` gives it, or None for any) that broken documents may define, `*`
    for a kind that cannot be told: a document the loader refused (a duplicate key, a tag; the
    file's other documents are read), one whose `kind:` is missing or names no kind, and one whose
    code is malformed (`Commit 12m`). Their own diagnostics are the finding; until 2026-12-03 each
    reference to what they define was "unknown" as well, with a "did you mean" to another code."""
    from engine.models import KINDS
    from engine.references import meant_code
    from engine.values import CODE_PATTERN

    known = [k for k in KINDS if k != "rule_set"]
    code_form = re.compile(CODE_PATTERN)

    def kind_meant(kind: Any) -> str:
        if isinstance(kind, str) and kind in known:
            return kind
        if isinstance(kind, str) and kind != "rule_set":  # `terms`: a term; `contract_term`: any kind
            return closest(kind, known) or "*"
        return "*"

    for source in c.files:
        for kind, code in source.dropped:  # (neither written at its top level: it defines nothing)
            if kind != "rule_set" and (kind, code) != (None, None):
                yield kind_meant(kind), (meant_code(code) if code is not None else None)
    for document in c.documents:
        data, code = document.data, document.code
        if code is None or "code" not in data:
            continue  # (no code, or one written as a number: `_misnamed`)
        kind = data.get("kind")
        if kind in known:
            if not code_form.match(code):
                yield kind, meant_code(code)
        elif kind != "rule_set":
            yield "*", meant_code(code)


def _misnamed(documents: list[Document]) -> Iterator[tuple[str, str | None, Document]]:
    """(the kind meant, the code meant or None, the document) of each document whose `kind` or
    `code` could not be read (`kind: terms`, `knd: term`, `cdoe: commit-24m`, no code; `code: 123`
    stands for its text): its own diagnostic says why, and references to what it defines are not
    reported as well. Until 2026-12-02 they were, each "unknown term `commit-24m`" with a "did you mean" that
    would have changed a correct file."""
    from engine.models import KINDS

    known = [k for k in KINDS if k != "rule_set"]

    def meant(data: dict[str, Any], key: str) -> Any:
        """The value of `key`, or of a key misspelt for it (`knd`, `cdoe`)."""
        if key in data:
            return data[key]
        near = next((k for k in data if isinstance(k, str) and closest(k, [key]) is not None), None)
        return data[near] if near is not None else None

    for document in documents:
        data = document.data
        if not isinstance(data, dict) or (document.kind in known and document.code is not None):
            continue
        kind = meant(data, "kind")
        if isinstance(kind, str) and kind not in known and kind != "rule_set":
            kind = closest(kind, known)
        if kind not in known:
            continue
        code = meant(data, "code")
        # a code written as a number (`code: 123`) is its text; a missing one may stand for any code
        # of its kind: references to that kind are not reported unknown (its own diagnostic is the finding)
        if isinstance(code, int | float) and not isinstance(code, bool):
            code = str(code)
        yield kind, (code if isinstance(code, str) else None), document


#: a file not read as text at all (a pipe, a binary file, bad bytes) is not opened again
_NOT_TEXT = frozenset({"BR100", "BR101", "BR102", "BR103"})
_KIND_LINE = re.compile(r"""^(?:kind|"kind"|'kind')[ \t]*:[ \t]*["']?([A-Za-z_]+)""", re.MULTILINE)


def _kinds_unread(files: list[SourceFile]) -> frozenset[str] | None:
    """The kinds of document that files read only in part (a YAML syntax error, bad bytes) may
    define, as their `kind:` lines say, or None when every file was read whole. A reference to a
    code of such a kind is not reported unknown: the code may well be in the file's lost part (a
    syntax error in products.yaml made 61 "unknown product" errors in other files)."""
    kinds: set[str] = set()
    for source in files:
        if source.whole:  # (read to its end; a document it refused is in `source.dropped`)
            continue
        codes = {d.code for d in source.diagnostics}
        text = ""
        if not codes & _NOT_TEXT:  # read as text before (a syntax error): its `kind:` lines
            try:
                text = source.path.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                text = ""
        found = set(_KIND_LINE.findall(text))
        kinds |= found or {"*"}  # no `kind:` line to read: any kind
    return frozenset(kinds) if kinds else None


def stage_semantics(c: Compilation) -> None:
    from engine.semantics import run_checks

    c.diagnostics.extend(run_checks(c.catalog))
    from engine.semantics import check_credit_precedence, check_currencies

    for doc in c.valid:
        if doc.kind == "rule_set":
            c.diagnostics.extend(check_credit_precedence(c.settings, doc))
            c.diagnostics.extend(check_currencies(c.settings, doc))
    from engine.money_checks import check_money
    from engine.reach_checks import check_reach

    c.diagnostics.extend(check_money(c.catalog, c.settings))
    c.diagnostics.extend(check_reach(c.catalog, c.settings))


def stage_criteria(c: Compilation) -> None:
    """Desugar sections, parse `when:` expressions, type-check, and compile them all at once.

    Discount criteria are typed against the scenario; the criteria of credit types and credits
    against one consumption and its consumer (`credit_environment`): the same language, the same
    diagnostics, one program with an entry point per context.

    Each distinct text is parsed once, and type-checked once per context: the same condition in
    many definitions (and sections that desugar to the same text) costs one parse and one check;
    a text of a shape met before (other literals in the same text) is made from that shape's
    template. Each entry keeps the typed template and its occurrence's locator: its spans are
    placed in the rule file (`engine.criteria.check.Placed`) only when its AST is read, for a
    diagnostic, an explanation or pickling; the compiler reads the template."""
    from engine.criteria.check import forget_texts

    try:
        _criteria(c)
    finally:
        forget_texts(c.keep)


def _criteria(c: Compilation) -> None:
    from engine.criteria.environment import credit_environment, scenario_environment
    from engine.criteria.parse import CriteriaError
    from engine.criteria.program import CriteriaProgram, Entry
    from engine.criteria.sections import desugar, desugar_credit

    env = scenario_environment()
    entries: list[Entry] = []
    for code in sorted(c.catalog.get("discount", {})):
        item = c.catalog["discount"][code]
        criteria = item.model.criteria
        if criteria is None:
            continue
        try:
            for condition in desugar(criteria, item.document, item.model.classification.value):
                try:
                    entries.append(Entry(f"discount:{code}", condition.section, condition.typed(env)))
                except CriteriaError as exc:
                    c.diagnostics.append(exc.diagnostic)
        except CriteriaError as exc:
            c.diagnostics.append(exc.diagnostic)
    entries += _term_exception_entries(c, env)
    credit_entries: list[Entry] = []
    credit_env = credit_environment()
    for kind in ("credit_type", "credit"):  # a type's criteria, then each credit's own
        for code in sorted(c.catalog.get(kind, {})):
            item = c.catalog[kind][code]
            if item.model.criteria is None:
                continue
            try:
                for condition in desugar_credit(item.model.criteria, item.document):
                    try:
                        node = condition.typed(credit_env)
                        credit_entries.append(Entry(f"{kind}:{code}", condition.section, node))
                    except CriteriaError as exc:
                        c.diagnostics.append(exc.diagnostic)
            except CriteriaError as exc:
                c.diagnostics.append(exc.diagnostic)
    c.diagnostics.extend(_codes_in_expressions([*entries, *credit_entries], _with_broken_codes(c)))
    c.diagnostics.extend(_other_subject_read(entries, c.catalog.get("discount", {})))
    c.diagnostics.extend(_inflexible_schemes(entries, c.catalog))
    c.diagnostics.extend(_folded_comments(c.documents))
    c.diagnostics.extend(_inverted_ranges([*entries, *credit_entries]))
    c.diagnostics.extend(_where_reaching_past([*entries, *credit_entries]))
    c.criteria = CriteriaProgram(entries, credit_entries)
    if c.ok:
        # generate the evaluator now: validate proves every criterion goes through the code
        # generator (Python compiles the generated source when the evaluator is first used)
        c.criteria.compile()


def _with_broken_codes(c: Compilation) -> dict[str, dict[str, Any]]:
    """The catalog, with the codes of documents that failed a check (a segment with a misspelt
    field is reported there; the `when:` texts naming it are not "unknown" as well)."""
    from engine.lookalikes import skeleton

    found: dict[str, dict[str, Any]] = {kind: dict(entries) for kind, entries in c.catalog.items()}
    for document in c.documents:
        if document.kind is not None and isinstance(document.code, str):
            found.setdefault(document.kind, {}).setdefault(document.code, None)
            # and the ASCII code a look-alike letter stands for (`commit-12m` written with a Cyrillic `c`), as
            # the reference stage reads it (until 2026-12-04 a `when:` naming it was BR302)
            found[document.kind].setdefault(skeleton(document.code), None)
    for source in c.files:  # and of the documents the loader refused (a duplicate key, a tag)
        for kind, code in source.dropped:
            if kind is not None and code is not None:
                found.setdefault(kind, {}).setdefault(code, None)
    return found


def _codes_in_expressions(entries: list[Any], catalog: dict[str, dict[str, Any]]) -> list[Diagnostic]:
    """Codes written as text in `when:` expressions and term exceptions (sections' codes are YAML
    fields, checked by the reference stage)."""
    from engine.criteria.catalog_codes import known_texts, unknown_codes

    catalog = known_texts(catalog)
    find = _by_tree(lambda node: unknown_codes(node, catalog))
    return [
        d
        for entry in entries
        if entry.section == "when" or entry.section.startswith("exceptions[")
        for d in entry.findings(find)
    ]


def _by_tree(find: Callable[[Any], Iterable[Diagnostic]]) -> Callable[[Any], list[Diagnostic]]:
    """`find`, run once per tree (by identity; the tree is kept, so its identity is not reused):
    the entries of one text share its typed template (`Placed`), and each places the findings
    at its own spans (`Placed.findings`). The lints below read nothing but the tree."""
    seen: dict[int, tuple[Any, list[Diagnostic]]] = {}

    def once(tree: Any) -> list[Diagnostic]:
        known = seen.get(id(tree))
        if known is None or known[0] is not tree:
            known = seen[id(tree)] = (tree, list(find(tree)))
        return known[1]

    return once


def _inflexible_schemes(entries: list[Any], catalog: dict[str, dict[str, Any]]) -> list[Diagnostic]:
    """BR408 for a billing term scheme without flexible pricing that an ad hoc discount's `when:`
    names, at the scheme's text (SPEC 3.1, seed 002: "only billing term schemes with a 'Flexible
    Pricing' Discount Option can be specified"; the `billing_term.schemes` section is checked as
    written, by `semantics`). Named means required: `"monthly-24" == subscription.billing_term_scheme`
    as much as the other order; a scheme the condition only excludes (`!=`, `not in`, or `==` under
    a `not`) is not named (`catalog_codes.required_texts`). Until 2026-12-03 a pattern over the text
    found `==` and `in` written field first only, and refused `not … == "monthly-24"`; and a name
    bound to the scheme (`any s in {subscription.billing_term_scheme} where s == "monthly-24"`)
    named none, where now it names the scheme as the field does."""
    from engine.criteria import ast
    from engine.criteria.catalog_codes import required_texts
    from engine.models.discounts import DiscountType

    schemes = catalog.get("billing_term_scheme", {})
    rigid = {code for code, entry in schemes.items() if entry is not None and not entry.model.flexible_pricing}
    if not rigid:
        return []
    discounts = catalog.get("discount", {})

    def find(tree: ast.Node) -> Iterator[Diagnostic]:
        for text in required_texts(tree, "billing_term_scheme"):
            if text.value in rigid:
                span = text.span
                yield Diagnostic(
                    span.file,
                    span.line,
                    span.column,
                    "BR408",
                    f"billing term scheme `{text.value}` does not offer flexible pricing; an ad hoc discount may only name schemes that do",
                    f"set `flexible_pricing: true` on `{text.value}` or leave it out of `when`",
                    end_column=span.end_column,
                )

    found: list[Diagnostic] = []
    find_once = _by_tree(find)
    for entry in entries:
        if entry.section != "when" or not entry.owner.startswith("discount:"):
            continue
        item = discounts.get(entry.owner[len("discount:") :])
        if item is None or item.model.type is not DiscountType.AD_HOC:
            continue
        written = entry.tree.span.text
        if written and "billing_term_scheme" not in written:
            continue  # (the text never names the field)
        found += entry.findings(find_once)
    return found


#: a discount's classification → the scenario root its bills have not, and that root's record
_OTHER_SUBJECT = {"job": ("subscription", "Subscription"), "subscription": ("job", "Job")}


def _other_subject_read(entries: list[Any], discounts: dict[str, Any]) -> list[Diagnostic]:
    """BR403 for a discount's `when:` reading the other subject: a job discount's `subscription`
    (a job has none), a subscription discount's `job`. The value is missing on every bill the
    discount is asked about, so a condition reading it is unknown (the language has no test for a
    missing value). Where the `when` then can never hold (`_can_hold`), an error; where it still
    can (the read under an `or`, a `not` of a conjunction, inside a `count … where`), a warning:
    that part is dead. Sections about a subscription on a job discount are BR403 already
    (`semantics.check_never_met`)."""
    from engine.criteria import ast
    from engine.diagnostics import Severity

    def reads(classification: str) -> Callable[[ast.Node], Iterator[Diagnostic]]:
        name, record = _OTHER_SUBJECT[classification]

        def find(tree: ast.Node) -> Iterator[Diagnostic]:
            written = tree.span.text
            if written and name not in written:
                return  # (the text never names the other subject)
            found = [
                node
                for node in ast.walk(tree)
                if isinstance(node, ast.Name)
                and node.id == name
                and getattr(node, "type", None) is not None
                and node.type.record == record  # type: ignore[union-attr]
            ]
            if not found:
                return
            never = "T" not in _can_hold(tree, {id(n) for n in found})
            for node in found:
                span = node.span
                yield Diagnostic(
                    span.file,
                    span.line,
                    span.column,
                    "BR403",
                    f"a {classification} discount's `when` reads `{name}`, which its bills have not: "
                    + ("it never holds" if never else "that part of it never holds"),
                    f"remove the condition, or make the discount `classification: {name}`",
                    end_column=span.end_column,
                    severity=Severity.ERROR if never else Severity.WARNING,
                )

        return find

    found: list[Diagnostic] = []
    finders = {classification: _by_tree(reads(classification)) for classification in _OTHER_SUBJECT}
    for entry in entries:
        if entry.section != "when" or not entry.owner.startswith("discount:"):
            continue
        item = discounts.get(entry.owner[len("discount:") :])
        if item is None:
            continue
        classification = item.model.classification.value
        written = entry.tree.span.text  # (the template's, or the placed tree's: the whole text)
        if written and _OTHER_SUBJECT[classification][0] not in written:
            continue  # the text never names the other subject
        found += entry.findings(finders[classification])
    return found


#: the truth values a condition may take: true, false, unknown
_ANY = frozenset("TFU")


def _can_hold(tree: Any, missing: set[int]) -> frozenset[str]:
    """The truth values `tree` may take when the names `missing` (node ids) have no value, in the
    language's three-valued logic: a comparison reading one is unknown; `not`, `and`, `or` combine
    as they do at run time; a quantifier or an aggregate over a missing list is unknown, one whose
    `where` reads a missing name may be anything (a `count … where` skips the items it cannot
    answer), and so may anything else."""
    from engine.criteria import ast

    reading: set[int] = set()  # nodes whose value a missing name makes missing, children first
    order = ast.walk(tree)
    for node in reversed(order):
        if isinstance(node, ast.Quantifier | ast.Aggregate):
            inputs: tuple[Any, ...] = (node.collection,)  # (its `where` skips what it cannot answer)
        else:
            inputs = node.children
        if id(node) in missing or any(id(child) in reading for child in inputs):
            reading.add(id(node))
    values: dict[int, frozenset[str]] = {}
    for node in reversed(order):  # children before parents
        if id(node) not in reading:
            values[id(node)] = _ANY
        elif isinstance(node, ast.Not):
            values[id(node)] = _negated(values[id(node.operand)])
        elif isinstance(node, ast.BoolOp):
            parts = [values[id(operand)] for operand in node.operands]
            if node.op == "and":
                values[id(node)] = _and(parts)
            else:  # `a or b` is `not (not a and not b)`, in the three-valued logic too
                values[id(node)] = _negated(_and([_negated(part) for part in parts]))
        else:  # a comparison (or a value, a list) with a missing operand
            values[id(node)] = frozenset("U")
    return values[id(tree)]


def _and(parts: list[frozenset[str]]) -> frozenset[str]:
    out = set()
    if all("T" in p for p in parts):
        out.add("T")
    if any("F" in p for p in parts):
        out.add("F")
    if any("U" in p for p in parts) and all(p & {"T", "U"} for p in parts):
        out.add("U")
    return frozenset(out)


def _negated(values: frozenset[str]) -> frozenset[str]:
    return frozenset({"T": "F", "F": "T", "U": "U"}[v] for v in values)


def _inverted_ranges(entries: list[Any]) -> list[Diagnostic]:
    """BR413 for a `between` written upside down in a `when:` or a term's exception (a section's
    range is checked as written, by `semantics.check_criteria_ranges`)."""
    from engine.criteria.bounds import inverted_between

    find = _by_tree(inverted_between)
    return [
        d
        for entry in entries
        if (entry.section == "when" or entry.section.startswith("exceptions["))
        and "between" in (entry.tree.span.text or "between")  # (the whole text: none, nothing to check)
        for d in entry.findings(find)
    ]


def _where_reaching_past(entries: list[Any]) -> list[Diagnostic]:
    """BR508 warnings for a condition swallowed by a `where`, BR509 for an item named as a fact of
    the scenario, BR510 for a set written empty, in a `when:` or a term's exception (`engine.criteria.lint`; the sections' own
    expressions are written by billrules)."""
    from engine.criteria.environment import credit_environment, scenario_environment
    from engine.criteria.lint import amounts_across_currencies, empty_sets, shadowed_roots, where_reaches_past

    def shadowing(roots: frozenset[str]) -> Callable[[Any], list[Diagnostic]]:
        return _by_tree(lambda tree: shadowed_roots(tree, roots))

    # per environment: its root names, and a pattern finding one bound by a quantifier (`any account in`)
    environments = {
        kind: (
            roots,
            re.compile(rf"\b({'|'.join(sorted(roots))})\s+in\b"),
            shadowing(roots),
        )
        for kind, roots in (
            ("discount", frozenset(scenario_environment().roots)),
            ("credit", frozenset(credit_environment().roots)),
        )
    }
    reaching, empty_found, amounts = (
        _by_tree(where_reaches_past),
        _by_tree(empty_sets),
        _by_tree(amounts_across_currencies),
    )
    where = re.compile(r"\bwhere\b")
    empty = re.compile(r"\{\s*\}")
    amount = re.compile(r"\.(?:\s|#[^\n]*)*amount\b")  # (`charge . amount` is the same field, a comment between too)
    found = []
    for entry in entries:
        if not (entry.section == "when" or entry.section.startswith("exceptions[")):
            continue
        _roots, bound, shadowed = environments[
            "credit" if entry.owner.startswith(("credit:", "credit_type:")) else "discount"
        ]
        text = entry.tree.span.text
        if not text or ("where" in text and where.search(text)):  # (`in` first: a scan of the text in C)
            found += entry.findings(reaching)
        if not text or bound.search(text):
            found += entry.findings(shadowed)
        if not text or empty.search(text):
            found += entry.findings(empty_found)
        if not text or amount.search(text):
            found += entry.findings(amounts)
    return found


def _folded_comments(documents: list[Any]) -> Iterator[Diagnostic]:
    """BR501 for a `#` comment in a `when:` that YAML folds into one line (a `>` block, a quoted or
    plain text over several lines) with expression lines after it: the comment runs to the end of
    the expression, and those lines are never read (until 2026-12-02 a typo there passed, and so
    did its condition). Only a literal block (`|`) keeps its line ends."""
    from engine.criteria.locate import _lines, text_locator

    for document in documents:
        for path, text in _when_texts(document):
            if document.styles.get(path) == "|":
                continue
            hash_at = _comment_start(text)
            if hash_at < 0:
                continue
            end = text.find("\n", hash_at)
            end = len(text) if end < 0 else end
            locate = text_locator(document, path, text)
            comment, last = locate(hash_at, hash_at + 1), locate(end - 1, end)
            lines = _lines(document.file)
            lost = [  # the file's lines (1-based) after the comment's that hold more than a comment
                number
                for number in range(comment.line + 1, min(last.line, len(lines)) + 1)
                if (written := lines[number - 1].strip()) and not written.startswith("#")
            ]
            if lost:
                yield Diagnostic(
                    comment.file,
                    comment.line,
                    comment.column,
                    "BR501",
                    "a `#` comment in a `when:` that YAML folds into one line runs to the end of the "
                    f"expression: line {lost[0]} and those after it are not read",
                    "write the expression as a literal block, `when: |` (each line then ends its "
                    "comment), or remove the comment",
                    end_column=comment.column + 1,
                )


def _when_texts(document: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    """The `when:` texts of a document that hold a `#`, with their paths: a discount's, a credit
    type's or a credit's `criteria.when`, a term's `exceptions[i].when`."""
    data = document.data
    if not isinstance(data, dict):
        return
    criteria = data.get("criteria")
    if isinstance(criteria, dict) and isinstance(text := criteria.get("when"), str) and "#" in text:
        yield ("criteria", "when"), text
    exceptions = data.get("exceptions")
    if isinstance(exceptions, list):
        for i, exception in enumerate(exceptions):
            if isinstance(exception, dict) and isinstance(text := exception.get("when"), str) and "#" in text:
                yield ("exceptions", i, "when"), text


def _comment_start(text: str) -> int:
    """Where a criteria comment (`#` to the end of its line) starts outside quoted text, or -1."""
    quote, escaped = None, False
    for i, char in enumerate(text):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            return i
    return -1


def _term_exception_entries(c: Compilation, env: Any) -> list[Any]:
    """A term's `exceptions[i].when`, typed against the scenario like discount criteria; the
    entry's section is `exceptions[i]` so the cancellation decision can name the one that held."""
    from engine.criteria.check import check_placed
    from engine.criteria.locate import text_locator
    from engine.criteria.parse import CriteriaError, parse_located
    from engine.criteria.program import Entry

    entries = []
    for code in sorted(c.catalog.get("term", {})):
        item = c.catalog["term"][code]
        for i, exception in enumerate(item.model.exceptions):
            path = ("exceptions", i, "when")
            try:
                parsed = parse_located(exception.when, text_locator(item.document, path, exception.when))
                entries.append(Entry(f"term:{code}", f"exceptions[{i}]", check_placed(parsed, env)))
            except CriteriaError as exc:
                c.diagnostics.append(exc.diagnostic)
    return entries


#: (name, why it sits here, stage)
STAGES: tuple[tuple[str, str, Callable[[Compilation], None]], ...] = (
    ("load", "safe YAML with positions; everything later needs data and spans", stage_load),
    ("kinds", "every document says what it is before it can be checked as such", stage_kinds),
    ("schema", "the editors' contract, checked before any code trusts a field", stage_schema),
    ("models", "typed values (money, dates, durations) for the checks that follow", stage_models),
    ("references", "codes unique, references resolve, no cycles: the files form one rule set", stage_references),
    ("semantics", "business rules across documents, on resolved typed models", stage_semantics),
    ("criteria", "parse, type-check and compile every criterion (discounts, credits, terms)", stage_criteria),
)


def compile_ruleset(root: Path, keep: Callable[[Any], None] | None = None) -> Compilation:
    """The rule set at `root` through every stage. `keep`: see `Compilation.keep`."""
    from engine.values import in_engine_context

    compilation = Compilation(root, keep=keep)
    # in the engine's arithmetic: constants folded when compiling (a percentage's factor, a
    # negated amount) are kept in the rule set, and must not take the caller's precision
    with _collector_paused(), in_engine_context():
        for _name, _why, stage in STAGES:
            stage(compilation)
    compilation.diagnostics = sorted_diagnostics(compilation.diagnostics)
    return compilation


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the stages run.

    The stages allocate many small objects that live until the end (documents, spans, models,
    AST nodes) and make almost no reference cycles, yet each collection of the oldest generation
    walks every object alive, pydantic's and jsonschema's included: measured, collections took
    about 5 % of a cold `billrules validate` of the shipped rules and a fifth of the CPU of one
    over 4,000 discount definitions (2.0 of 9.9 s). Reference counting still frees everything as
    usual; cycles, if any, are collected by the collector's next full collection.

    Before the collector is back on, what the stages left alive is moved to its oldest
    generation (`gc.freeze()` then `gc.unfreeze()`): otherwise the first allocation after
    `gc.enable()` starts a collection of the youngest generation, which holds every object made
    during the pause (0.4 s of CPU at 4,000 definitions, for no garbage).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # into the permanent generation (resets the youngest generation's count) ...
        gc.unfreeze()  # ... and back, into the oldest one, without a collection
        gc.enable()
