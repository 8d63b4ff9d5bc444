"""The impact of a rule change (`billrules diff`), as data.

Every scenario of the input is decided under the old and the new rule set; the two decisions are
compared without `rules_version` (it always differs). A scenario whose decisions differ is
*changed* and lands in one group per thing that changed — a definition's status (`loyalty-5:
applied → not_eligible`), its amount or reasons under the same status, a coupon's status, a
cancellation term's outcome or penalty, a purchase's verdict or price, a part that appears or
disappears; a difference no finer rule explains lands in `<part>: changed`, so none is lost.
A scenario that cannot be decided under one or both rule sets (or cannot be read at all) lands
in a group of its own, with the diagnostics; it is never dropped.

Money moved is new - old, per currency, in three measures: the net totals of the `discounts`
part, the penalties due of the `cancellation` part, and the net price of the `purchase` part.
Money is Decimal throughout, parsed from the decision's text (`Money.written`).

Input (`scenario_inputs`): a folder of scenario files (YAML/JSON; `expect:` ignored, rule files
skipped; JSON Lines files in it are not read), a JSON Lines file given directly
(`.jsonl`/`.ndjson`, one scenario per line), or one scenario file.
The old rule set may be a git revision of the rules folder (`extract_git_rules`).
"""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic
from engine.values import Money

#: The money measures, in report order: (key, what it sums).
MEASURES = (
    ("discounts_net", "net of the discounts part"),
    ("cancellation_penalties", "penalties due on cancellation"),
    ("purchase_price", "net price of purchases"),
)
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
ABSENT = "(absent)"

MoneyByMeasure = dict[str, dict[str, Decimal]]


# --- input ---------------------------------------------------------------------------------------


@dataclass
class Input:
    """One scenario of the input: where it is written, and the model (or why there is none)."""

    file: str
    line: int
    scenario: Any = None
    document: Any = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    id: str | None = None  # an unreadable scenario's id, when its `id` reads (named in the report)


@dataclass
class Inputs:
    """What reading the input finds: the scenarios in order, rule files skipped, folder problems.

    `items` is read as it is consumed (a JSON Lines file a line at a time, a folder a file at a
    time), so a diff holds one scenario, never the whole input; `skipped` grows as the files are
    read, complete once `items` is exhausted (until 2026-12-04 the whole input was read into a list
    first: a diff of 50,000 lines that changed nothing took 386 MiB, now 53)."""

    items: Iterable[Input] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def scenario_inputs(path: Path) -> Inputs:
    """The scenarios under `path` (a folder, a JSON Lines file, or one YAML/JSON scenario file)."""
    from engine.files import is_dir, outside_link, walk
    from engine.load import display_path

    found = Inputs()
    problems: list[Diagnostic] = []
    if not is_dir(path):
        files = [path]
    else:
        listing = walk(path, display_path)
        # a folder's scenario files, as `billrules test` reads them; a JSON Lines file (a whole
        # billing run's input) is given directly, so a run's input beside the samples is not read twice
        files = [p for p in listing.files if p.suffix in SCENARIO_SUFFIXES]
        found.skipped += [  # `.YAML`: not read, as `test` reads none, but said so: a gate compares fewer
            f"{display_path(p)}: not read (scenario files end in `.yaml`, `.yml` or `.json`, in lower case)"
            for p in listing.files
            if p.suffix not in SCENARIO_SUFFIXES and p.suffix.lower() in SCENARIO_SUFFIXES
        ]
        problems = [
            *listing.diagnostics,
            *(outside_link(p, display_path(p), "the folder given") for p in listing.outside),
        ]
    found.items = _read_inputs(problems, files, found)
    return found


def _read_inputs(problems: list[Diagnostic], files: list[Path], found: Inputs) -> Iterator[Input]:
    """The folder's problems, then each file's scenarios, read as they are asked for."""
    for problem in problems:
        yield Input(problem.file, problem.line, diagnostics=[problem])
    for file in files:
        if file.suffix.lower() in JSON_LINES_SUFFIXES:
            yield from json_lines(file)
        else:
            yield from _read_documents(file, found)


def _read_documents(path: Path, found: Inputs) -> Iterator[Input]:
    from engine.decide.scenarios import read_scenarios
    from engine.files import is_parquet, parquet_scenarios
    from engine.load import display_path
    from engine.run.evaluate import readable_id

    if is_parquet(path):  # (a `.json` in a folder that is Parquet: one line, not "binary file")
        display = display_path(path)
        yield Input(display, 1, diagnostics=[parquet_scenarios(path, display)])
        return
    for item in read_scenarios(path):
        document = item.document
        data = document.data if document is not None else None
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            found.skipped.append(f"{display_path(path)}: a rule file (`kind: {data['kind']}`)")
            return
        file = document.file if document is not None else display_path(path)
        # (a document that is no mapping has no document: its diagnostic's line is its place)
        line = document.start.line if document is not None else item.diagnostics[0].line if item.diagnostics else 1
        yield Input(file, line, item.scenario, document, list(item.diagnostics), readable_id(data))


def json_lines(path: Path) -> Iterator[Input]:
    """One Input per non-blank line of a JSON Lines file, streamed; a bad line is a diagnostic at its line."""
    from engine.decide.scenarios import json_line_records, validate_scenario
    from engine.load import display_path
    from engine.run.evaluate import readable_id

    display = display_path(path)
    for number, data, problem in json_line_records(path, display):
        if problem is not None:
            yield Input(display, number, diagnostics=[problem])
            continue
        checked = validate_scenario(data, None, display)
        diagnostics = [dataclasses.replace(d, line=number) for d in checked.diagnostics]
        yield Input(display, number, checked.scenario, None, diagnostics, readable_id(data))


# --- the old rule set from git -------------------------------------------------------------------

GIT_PREFIX = "git:"


class GitRevisionError(ValueError):
    """`git:REV:PATH` that does not name a folder in a revision of the repository (a usage error)."""


def extract_git_rules(spec: str, into: Path, cwd: Path | None = None) -> Path:
    """Extract the folder `PATH` at revision `REV` (`git:REV:PATH`) into `into`; returns `into`.

    Git is run without a shell and with arguments only (the revision is resolved first with
    `rev-parse --verify --end-of-options` into an object id, so it can never be read as an option), then the tree is
    `git archive`d and unpacked with tarfile's `data` filter (no links out, no devices).
    """
    rest = spec.removeprefix(GIT_PREFIX)
    revision, colon, folder = rest.rpartition(":")
    if not colon or not revision or not folder:
        raise GitRevisionError(f"`{spec}`: write `git:REVISION:FOLDER`, e.g. `git:HEAD~1:rules`")
    found = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}:{folder}"], cwd)
    tree_id = found.decode("ascii", "replace").strip() if found is not None else ""
    if not tree_id or not all(c in "0123456789abcdef" for c in tree_id):
        _not_found(spec, revision, cwd)
        raise GitRevisionError(
            f"`{spec}`: no folder `{folder}` at revision `{revision}` in this git repository "
            "(the folder is relative to the repository's top, or write `./FOLDER` for the current one)"
        )
    kind = _git(["cat-file", "-t", tree_id], cwd)
    if kind is None or kind.strip() != b"tree":
        raise GitRevisionError(f"`{spec}`: `{folder}` at revision `{revision}` is a file, not the rules folder")
    top = _git(["rev-parse", "--show-toplevel"], cwd)  # (git archive refuses some subfolders as its cwd)
    archive = _git(["archive", "--format=tar", tree_id], Path(top.decode().strip()) if top else cwd)
    if archive is None:  # pragma: no cover - rev-parse has just resolved the tree
        raise GitRevisionError(f"`{spec}`: git could not archive the folder")
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        try:
            tar.extractall(into, filter="data")
        except tarfile.FilterError as exc:  # a link out of the folder, a device: what `validate` does not read
            member = exc.tarinfo.name
            raise GitRevisionError(
                f"`{spec}`: `{member}` is a symbolic link leading outside the folder, or a special file: "
                "billrules does not read it (BR117); remove it from the rule set"
            ) from None
    return into


def _not_found(spec: str, revision: str, cwd: Path | None) -> None:
    """`REV:FOLDER` named no tree: raise when it is not the folder that is missing, but the repository
    (no git repository here) or the revision (until 2026-12-03 all three were "no folder at revision")."""
    if _git(["rev-parse", "--git-dir"], cwd) is None:
        here = Path(cwd) if cwd is not None else Path.cwd()
        raise GitRevisionError(
            f"`{spec}`: `{here}` is not in a git repository: `git:` takes the rules from the repository of "
            "the current folder (run billrules from inside it, or give the old rules as a folder)"
        )
    if _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{tree}}"], cwd) is None:
        raise GitRevisionError(
            f"`{spec}`: unknown revision `{revision}` in this git repository (write a branch, a tag or a "
            "commit it has, e.g. `HEAD~1`; `git log --oneline` lists the commits)"
        )


def _git(arguments: list[str], cwd: Path | None) -> bytes | None:
    """git's standard output, or None when git fails or is not installed."""
    environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, env=environment, check=False)
    except OSError as exc:
        raise GitRevisionError(f"cannot run git: {exc.strerror or exc}") from None
    return done.stdout if done.returncode == 0 else None


# --- comparing two decisions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One thing that changed in a scenario's decision. Scenarios are grouped by `key`."""

    part: str  # the decision's part: discounts, purchase, cancellation, credits, balance, ...
    subject: str  # what changed: a definition code, `coupon CODE`, `term CODE (plan)`, or the part
    what: str  # status, amount, reasons, price, penalty, changed
    before: str = ""
    after: str = ""
    detail: str = ""  # per scenario: the values (`1.50 EUR → 1.80 EUR`); not part of the group
    #: the money this change alone moved (a definition's amount, a term's penalty); None: the
    #: scenario's whole money moved is counted for the group
    money: MoneyByMeasure | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.part, self.subject, self.what, self.before, self.after)

    @property
    def label(self) -> str:
        if self.what == "status":
            return f"{self.subject}: {self.before} → {self.after}"
        # (a term's penalty that changed: `penalty changed`, not `penalty, penalty changed`)
        state = f" {self.before}," if self.before and self.before != self.what else ""
        what = "" if self.what == "changed" else f" {self.what}"
        return f"{self.subject}:{state}{what} changed"


def comparable(decision: dict[str, Any]) -> dict[str, Any]:
    """The decision without `rules_version`, and its reasons without `source` (the rule file and line
    that decided: they differ with the rule set's folder and move with any edit above them)."""
    return {k: _without_sources(v) for k, v in decision.items() if k != "rules_version"}


def _without_sources(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_sources(v) for k, v in value.items() if not (k == "source" and isinstance(v, dict))}
    if isinstance(value, list):
        return [_without_sources(v) for v in value]
    return value


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """What differs between two decisions of one scenario (empty when they are the same)."""
    old, new = comparable(old), comparable(new)
    if old == new:
        return []
    found: list[Change] = []
    for part in _parts(old, new):
        before, after = old.get(part), new.get(part)
        if before == after:
            continue
        if before is None or after is None:
            state = ("present", ABSENT) if after is None else (ABSENT, "present")
            found.append(Change(part, part, "status", *state))
            continue
        compare = _PART_COMPARISONS.get(part)
        specific = compare(before, after) if compare is not None else []
        found.extend(specific or [Change(part, part, "changed")])
    return found


def _parts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [*old, *(k for k in new if k not in old)]


def _status_changes(
    part: str,
    prefix: str,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], str],
    measure: str | None = None,
) -> list[Change]:
    """Items matched by `key`: a status change, else an amount change, else a change of reasons.

    With `measure`, items are discount definitions: the money a change moved is minus the change
    of the definition's amount (what the customer pays), counted under that measure."""
    before = _keyed(old, key)
    after = _keyed(new, key)
    found = []
    for name in [*before, *(k for k in after if k not in before)]:
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        subject = f"{prefix}{name}"
        old_status = str(a.get("status")) if a is not None else ABSENT
        new_status = str(b.get("status")) if b is not None else ABSENT
        moved = _definition_money(a, b, measure) if measure is not None else None
        if old_status != new_status:
            detail = f"{_amount(a)} → {_amount(b)}" if _amount(a) != _amount(b) else ""
            found.append(Change(part, subject, "status", old_status, new_status, detail, moved))
        elif a is not None and b is not None and _amount(a) != _amount(b):
            detail = f"{_amount(a)} → {_amount(b)}"
            found.append(Change(part, subject, "amount", old_status, new_status, detail, moved))
        elif a is not None and b is not None and a.get("reasons") != b.get("reasons"):
            detail = _reasons_detail(a.get("reasons"), b.get("reasons"))
            found.append(Change(part, subject, "reasons", old_status, new_status, detail, moved))
        else:
            found.append(Change(part, subject, "changed", old_status, new_status, money=moved))
    return found


def _reasons_detail(old: Any, new: Any) -> str:
    """The reasons one side has and the other lacks, in words: `- a; + b`."""
    words = [[str(r.get("text", r)) if isinstance(r, dict) else str(r) for r in side or []] for side in (old, new)]
    gone = [f"- {w}" for w in words[0] if w not in words[1]]
    came = [f"+ {w}" for w in words[1] if w not in words[0]]
    return "; ".join([*gone, *came]) or "reworded facts"


def _amounts(item: dict[str, Any] | None) -> dict[str, Decimal]:
    """A definition's amount per currency (`1.50 EUR + 2.00 USD`); none when it has no amount."""
    if item is None or "amount" not in item:
        return {}
    found: dict[str, Decimal] = {}
    for text in str(item["amount"]).split(" + "):
        money = Money.written(text)
        found[money.currency] = found.get(money.currency, Decimal(0)) + money.amount
    return found


def _definition_money(a: dict[str, Any] | None, b: dict[str, Any] | None, measure: str) -> MoneyByMeasure:
    before, after = _amounts(a), _amounts(b)
    moved = {c: before.get(c, Decimal(0)) - after.get(c, Decimal(0)) for c in sorted({*before, *after})}
    return {measure: {c: v for c, v in moved.items() if v}}


def _keyed(items: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, dict[str, Any]]:
    """Items by key; a key met again gets `#2`, `#3` (a coupon code entered twice)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name = key(item)
        unique, n = name, 1
        while unique in out:
            n += 1
            unique = f"{name} #{n}"
        out[unique] = item
    return out


def _amount(item: dict[str, Any] | None) -> str:
    if item is None:
        return "(none)"
    return str(item.get("amount", "(none)"))


def _discounts(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    found = _status_changes(
        "discounts", "", old["definitions"], new["definitions"], lambda d: str(d["code"]), "discounts_net"
    )
    # a bill whose gross moved is in the gross group, with or without a definition's change (until
    # 2026-12-02 one with no definition changed was in `discounts: lines changed`, which counted
    # its whole change, and the definitions' groups and the gross group did not add up)
    if gross := _gross_change("discounts", "discounts", old["totals"], new["totals"], "discounts_net"):
        found.append(gross)
    elif not found and (old["lines"] != new["lines"] or old["totals"] != new["totals"]):
        found.append(Change("discounts", "discounts", "lines", detail=_totals_detail(old["totals"], new["totals"])))
    return found


def _gross_change(part: str, subject: str, old: dict[str, Any], new: dict[str, Any], measure: str) -> Change | None:
    """The change of the bill's gross, beside the definitions' changes (a price raised with the
    discounts that follow it): its own group, so that the groups add up to the net moved (until
    2026-12-02 a list price raised on 982 bills moved their net by +1,971.15 EUR, and no group
    held the rise: the groups added up to -88.85 EUR). None when the gross did not change."""
    moved: dict[str, Decimal] = {}
    for currency in sorted({*old, *new}):
        before = Money.written(old[currency]["gross"]).amount if currency in old else Decimal(0)
        after = Money.written(new[currency]["gross"]).amount if currency in new else Decimal(0)
        if after != before:
            moved[currency] = after - before
    if not moved:
        return None
    detail = ", ".join(
        f"gross {old.get(c, {}).get('gross', '(none)')} → {new.get(c, {}).get('gross', '(none)')}" for c in moved
    )
    return Change(part, subject, "gross", detail=detail, money={measure: moved})


def _totals_detail(old: dict[str, Any], new: dict[str, Any]) -> str:
    return ", ".join(
        f"net {old.get(c, {}).get('net', '(none)')} → {new.get(c, {}).get('net', '(none)')}"
        for c in sorted({*old, *new})
        if old.get(c) != new.get(c)
    )


def _verdict(allowed: Any) -> str:
    return "allowed" if allowed else "refused"


def _purchase(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    found = []
    # the reasons gone and come, so the cause is named (until 2026-12-02 no detail: a plan's payment
    # methods narrowed refused 195 purchases, and `payment_method_not_supported` was nowhere)
    detail = _reasons_detail(old["reasons"], new["reasons"]) if old["reasons"] != new["reasons"] else ""
    if old["allowed"] != new["allowed"]:
        verdicts = (_verdict(old["allowed"]), _verdict(new["allowed"]))
        found.append(Change("purchase", "purchase", "status", *verdicts, detail=detail))
    elif old["reasons"] != new["reasons"]:
        verdicts = (_verdict(old["allowed"]), _verdict(new["allowed"]))
        found.append(Change("purchase", "purchase", "reasons", *verdicts, detail=detail))
    # a code's change moves no money of its own: the discounts its bundle grants do, in their own
    # groups (until 2026-12-02 it counted the whole change, and a price raised beside it had no group)
    found += [
        dataclasses.replace(change, money={})
        for change in _status_changes("purchase", "coupon ", old["coupons"], new["coupons"], lambda c: str(c["code"]))
    ]
    # a refused purchase's price is not charged (`money_measures`): its discounts and its gross move
    # money only when it is allowed under both rule sets; otherwise the verdict's change counts the
    # whole change (allowed → refused: the price gone), or nothing moved (refused under both)
    charged = bool(old["allowed"]) and bool(new["allowed"])
    priced = _status_changes(
        "purchase",
        "purchase discount ",
        old["discounts"],
        new["discounts"],
        lambda d: str(d["code"]),
        "purchase_price" if charged else None,
    )
    # refused under both, its price is not charged, and its groups say so, as a refused
    # cancellation's penalty's do (until 2026-12-03 `purchase: price changed`, `193.99 EUR →
    # 195.99 EUR`, read as money moved where none did)
    refused = not old["allowed"] and not new["allowed"]
    found += priced if charged else [_not_charged(change, refused) for change in priced]
    # (the gross group only beside changes that count their own money: the others count the
    # whole change; alone, a gross that moved is the gross group, as a bill's is)
    if (
        charged
        and all(change.money is not None for change in found)
        and (gross := _gross_change("purchase", "purchase", old["price"], new["price"], "purchase_price"))
    ):
        found.append(gross)
    elif not found and (old["lines"] != new["lines"] or old["price"] != new["price"]):
        verdict = NOT_CHARGED if refused else ""
        detail = _totals_detail(old["price"], new["price"])
        found.append(Change("purchase", "purchase", "price", verdict, verdict, detail))
    return found


#: a purchase refused under both rule sets, whose price is not charged (`purchase: refused (not
#: charged), price changed`)
NOT_CHARGED = "refused (not charged)"


def _not_charged(change: Change, refused: bool) -> Change:
    """A purchase discount's change where the price is not charged under one rule set at least: no
    money of its own; refused under both, an `applied` status says it is not charged (`applied
    (not charged), amount changed`)."""
    if not refused:
        return dataclasses.replace(change, money={})
    before, after = (f"{s} (not charged)" if s == "applied" else s for s in (change.before, change.after))
    return dataclasses.replace(change, before=before, after=after, money={})


def _cancellation(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    found = []
    if old["allowed"] != new["allowed"]:
        found.append(
            Change("cancellation", "cancellation", "status", _verdict(old["allowed"]), _verdict(new["allowed"]))
        )
    before = _keyed(old["terms"], _term_key)
    after = _keyed(new["terms"], _term_key)
    for name in [*before, *(k for k in after if k not in before)]:
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        subject = f"term {name}"
        old_outcome = _outcome(a, old["allowed"])
        new_outcome = _outcome(b, new["allowed"])
        detail = f"{_penalty(a)} → {_penalty(b)}" if _penalty(a) != _penalty(b) else _penalty_terms(a, b)
        moved = _penalty_money(a if old["allowed"] else None, b if new["allowed"] else None)
        if old_outcome != new_outcome:
            found.append(Change("cancellation", subject, "status", old_outcome, new_outcome, detail, moved))
        elif detail:
            found.append(Change("cancellation", subject, "penalty", old_outcome, new_outcome, detail, moved))
        elif a is not None and b is not None and a.get("reasons") != b.get("reasons"):
            found.append(Change("cancellation", subject, "reasons", old_outcome, new_outcome, money=moved))
        else:
            found.append(Change("cancellation", subject, "changed", old_outcome, new_outcome, money=moved))
    return found


def _outcome(term: dict[str, Any] | None, allowed: bool) -> str:
    """A term's outcome as a group names it: a penalty under a refused cancellation is "penalty (not
    charged)", grouped apart from penalties charged (until 2026-12-02 its change sat among them, and
    a group's rows did not add up to its money)."""
    if term is None:
        return ABSENT
    outcome = str(term["outcome"])
    return f"{outcome} (not charged)" if outcome == "penalty" and not allowed else outcome


def _penalty_money(a: dict[str, Any] | None, b: dict[str, Any] | None) -> MoneyByMeasure:
    """The change of a term's penalty due (a waived penalty, or any of a refused cancellation, is not due)."""
    moved: dict[str, Decimal] = {}
    for term, sign in ((a, -1), (b, 1)):
        penalty = term.get("penalty") if term is not None else None
        if isinstance(penalty, dict) and not penalty.get("waived"):
            money = Money.written(str(penalty["total"]))
            moved[money.currency] = moved.get(money.currency, Decimal(0)) + sign * money.amount
    return {"cancellation_penalties": {c: v for c, v in moved.items() if v}}


def _term_key(term: dict[str, Any]) -> str:
    return f"{term.get('term') or '(none)'} ({term.get('for')})"


def _penalty_terms(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    """What else of a penalty changed when its total did not (`maximum 240.00 EUR → 300.00 EUR`:
    a penalty capped by the share; until 2026-12-02 such a change had no detail)."""
    was = a.get("penalty") if a is not None else None
    now = b.get("penalty") if b is not None else None
    if not isinstance(was, dict) or not isinstance(now, dict):
        return ""
    return ", ".join(
        f"{k} {was.get(k)} → {now.get(k)}" for k in dict.fromkeys([*was, *now]) if was.get(k) != now.get(k)
    )


def _penalty(term: dict[str, Any] | None) -> str:
    penalty = term.get("penalty") if term is not None else None
    return str(penalty["total"]) if isinstance(penalty, dict) else "(no penalty)"


def _credits(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Which credits each request drew (`REQ-1: own 3, shared 1 → shared 4`), and the requests
    refused; what else changed in the part (remaining, ledger, alerts) follows from those or is
    `credits: changed`."""
    found = []
    drawn = [_drawn(old), _drawn(new)]
    moved = [
        f"{request}: {', '.join(drawn[0].get(request, [])) or '(none)'} → {', '.join(drawn[1].get(request, [])) or '(none)'}"
        for request in [*drawn[0], *(r for r in drawn[1] if r not in drawn[0])]
        if drawn[0].get(request) != drawn[1].get(request)
    ]
    if moved:
        found.append(Change("credits", "credits", "allocations", detail="; ".join(moved)))
    refused = [{str(r.get("request")) for r in part.get("refused", [])} for part in (old, new)]
    if refused[0] != refused[1]:
        detail = ", ".join(
            [*(f"+{r}" for r in sorted(refused[1] - refused[0])), *(f"-{r}" for r in sorted(refused[0] - refused[1]))]
        )
        found.append(Change("credits", "credits", "refusals", detail=detail))
    return found


def _drawn(part: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for allocation in part.get("allocations", []):
        out.setdefault(str(allocation.get("request")), []).append(
            f"{allocation.get('credit')} {allocation.get('quantity')}"
        )
    return out


def _balance(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """A balance's change, said: its closing balance, the alerts raised and the events refused
    (until 2026-12-02 "balance: changed" alone)."""
    parts = []
    if old.get("closing") != new.get("closing"):
        parts.append(f"closing {old.get('closing')} → {new.get('closing')}")
    for key, name in (("alerts", "alerts"), ("refused", "refused")):
        was = [_said_event(r) for r in old.get(key, [])]
        now = [_said_event(r) for r in new.get(key, [])]
        if was != now:
            gone = [r for r in was if r not in now]
            came = [r for r in now if r not in was]
            parts.append(f"{name}: " + ", ".join([*(f"+{r}" for r in came), *(f"-{r}" for r in gone)] or ["reworded"]))
        elif old.get(key, []) != new.get(key, []):  # the same events, said otherwise (a threshold of 20 → 50)
            texts = [
                f"{_text(a)} → {_text(b)}" for a, b in zip(old.get(key, []), new.get(key, []), strict=False) if a != b
            ]
            parts.append(f"{name}: " + "; ".join(texts))
    if not parts:
        return []
    return [Change("balance", "balance", "changed", detail="; ".join(parts))]


def _text(reason: Any) -> str:
    return str(reason.get("text", reason)) if isinstance(reason, dict) else str(reason)


def _said_event(reason: Any) -> str:
    facts = reason.get("facts", {}) if isinstance(reason, dict) else {}
    return f"{reason.get('code') if isinstance(reason, dict) else reason} at {facts.get('event', '?')}"


_PART_COMPARISONS: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[Change]]] = {
    "discounts": _discounts,
    "purchase": _purchase,
    "cancellation": _cancellation,
    "credits": _credits,
    "balance": _balance,
}


# --- money ---------------------------------------------------------------------------------------


def money_measures(decision: dict[str, Any]) -> MoneyByMeasure:
    """The decision's money per measure and currency (see MEASURES)."""
    found: MoneyByMeasure = {}
    discounts = decision.get("discounts")
    if discounts is not None:
        found["discounts_net"] = {c: Money.written(t["net"]).amount for c, t in discounts["totals"].items()}
    cancellation = decision.get("cancellation")
    penalties: dict[str, Decimal] = {}
    if cancellation is not None:
        penalties = {c: Money.written(v).amount for c, v in cancellation["total"].items()}
    purchase = decision.get("purchase")
    if purchase is not None and purchase.get("allowed"):  # (a refused purchase's price is not charged,
        # as a refused cancellation's penalty is not: until 2026-12-02 it counted as money moved)
        found["purchase_price"] = {c: Money.written(t["net"]).amount for c, t in purchase["price"].items()}
        # a change of plan's penalties, which end the old contract as a cancellation would (a
        # cancellation after it is not judged): until 2026-12-03 not counted, so a change of plan
        # allowed by the new rules read as penalties gone (the review of 2026-12-03)
        for reason in purchase.get("reasons", ()):
            total = reason.get("facts", {}).get("total") if reason.get("code") == "plan_change_penalty" else None
            if total:
                money = Money.written(total)
                penalties[money.currency] = penalties.get(money.currency, Decimal(0)) + money.amount
    if cancellation is not None or penalties:
        found["cancellation_penalties"] = penalties
    return found


def money_moved(old: dict[str, Any], new: dict[str, Any]) -> MoneyByMeasure:
    """new - old per measure and currency; only what moved."""
    before, after = money_measures(old), money_measures(new)
    moved: MoneyByMeasure = {}
    for measure, _ in MEASURES:
        a, b = before.get(measure, {}), after.get(measure, {})
        for currency in sorted({*a, *b}):
            delta = b.get(currency, Decimal(0)) - a.get(currency, Decimal(0))
            if delta:
                moved.setdefault(measure, {})[currency] = delta
    return moved


def add_money(total: MoneyByMeasure, more: MoneyByMeasure) -> None:
    for measure, amounts in more.items():
        into = total.setdefault(measure, {})
        for currency, amount in amounts.items():
            into[currency] = into.get(currency, Decimal(0)) + amount


def money_json(money: MoneyByMeasure) -> dict[str, dict[str, str]]:
    """Money moved as text, signed (`+1.50 EUR`, `-0.30 EUR`), in MEASURES order."""
    return {
        measure: {c: signed(a, c) for c, a in sorted(money[measure].items())}
        for measure, _ in MEASURES
        if money.get(measure)
    }


def signed(amount: Decimal, currency: str) -> str:
    text = str(Money(amount, currency))
    return text if text.startswith("-") else f"+{text}"


# --- the whole comparison ------------------------------------------------------------------------


@dataclass
class ScenarioDiff:
    """One scenario that changed or could not be decided."""

    scenario: str | None
    file: str
    line: int
    changes: list[Change] = field(default_factory=list)
    money: MoneyByMeasure = field(default_factory=dict)
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    problems: list[tuple[str, Diagnostic]] = field(default_factory=list)  # (old|new|input, diagnostic)

    def to_json(self, change: Change | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"scenario": self.scenario, "file": self.file, "line": self.line}
        if change is not None and change.detail:
            out["detail"] = change.detail
        if self.problems:
            out["problems"] = [
                {
                    "rules": side,
                    "code": d.code,
                    "message": d.message,
                    **({"hint": d.hint} if d.hint else {}),  # ("did you mean …": dropped until 2026-12-02)
                    "file": d.file,
                    "line": d.line,
                    "column": d.column,
                }
                for side, d in self.problems
            ]
        return out


#: Groups of scenarios that could not be decided: key → label.
UNDECIDED = {
    "input": "cannot be read as a scenario (decided under neither rule set)",
    "old": "cannot be decided under the old rules only",
    "new": "cannot be decided under the new rules only",
    "both": "cannot be decided under either rule set",
}


@dataclass
class Group:
    key: tuple[str, ...]
    label: str
    part: str
    undecided: bool = False
    #: the JSON of the scenarios kept for the report (`ScenarioDiff.to_json`, what is printed of
    #: them): every one, or the first `listed` (DiffReport.listed)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    money: MoneyByMeasure = field(default_factory=dict)
    count: int = 0  # the scenarios in the group, kept or not

    def add(self, item: ScenarioDiff, change: Change | None, listed: int) -> None:
        self.count += 1
        if not listed or len(self.scenarios) < listed:
            self.scenarios.append(item.to_json(change))

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "part": self.part,
            "kind": "undecided" if self.undecided else "changed",
            "count": self.count,
            "money": money_json(self.money),
            "scenarios": self.scenarios,
        }


@dataclass
class DiffReport:
    """The comparison, gathered a scenario at a time (`add_changed`, `add_undecided`): counts, money
    moved and groups.

    Each group keeps its first `listed` scenarios (0: every one, as `--json` and `--html` list
    them; the text report lists `--per-group`), and `pairs` the first changed scenarios with both
    decisions (the HTML page shows them); the other scenarios are counted, not held (until
    2026-12-04 every changed scenario was held with both its decisions: 50,000 lines, 2.4 GiB)."""

    old_rules: str
    new_rules: str
    old_version: str
    new_version: str
    scenarios: int = 0
    changed: int = 0
    undecided: int = 0
    #: of the changed scenarios, those whose money moved (a bill, a penalty, a price): "which bills
    #: change", where `changed` counts a reason reworded too (an operator audit asked it)
    money_changed: int = 0
    skipped: list[str] = field(default_factory=list)
    money: MoneyByMeasure = field(default_factory=dict)
    listed: int = 0
    pairs: list[ScenarioDiff] = field(default_factory=list)
    changed_groups: dict[tuple[str, ...], Group] = field(default_factory=dict, repr=False)
    undecided_groups: dict[tuple[str, ...], Group] = field(default_factory=dict, repr=False)

    @property
    def unchanged(self) -> int:
        return self.scenarios - self.changed - self.undecided

    @property
    def clean(self) -> bool:
        """Nothing changed and every scenario was decided under both rule sets; a diff of no
        scenario is not clean (a CI gate pointed at the wrong folder must not pass on nothing)."""
        return self.scenarios > 0 and not self.changed and not self.undecided

    def add_changed(self, item: ScenarioDiff) -> None:
        """A changed scenario: counted, its money added, listed in one group per thing that changed."""
        self.changed += 1
        if any(any(v for v in m.values()) for m in item.money.values()):
            self.money_changed += 1
        add_money(self.money, item.money)
        seen: set[tuple[str, ...]] = set()
        for change in item.changes:
            if change.key in seen:
                continue
            seen.add(change.key)
            group = self.changed_groups.setdefault(change.key, Group(change.key, change.label, change.part))
            group.add(item, change, self.listed)
            add_money(group.money, item.money if change.money is None else change.money)

    def add_undecided(self, item: ScenarioDiff) -> None:
        """A scenario not decided under one rule set or both, or not read: in the group of its sides."""
        self.undecided += 1
        sides = {side for side, _ in item.problems}
        side = "input" if "input" in sides else "both" if sides == {"old", "new"} else next(iter(sides))
        key = ("undecided", side)
        self.undecided_groups.setdefault(key, Group(key, UNDECIDED[side], "undecided", True)).add(
            item, None, self.listed
        )

    def groups(self) -> list[Group]:
        """Changed groups (most scenarios first, then by label), then the undecided groups."""
        order = {k: i for i, k in enumerate(UNDECIDED)}
        return [
            *sorted(self.changed_groups.values(), key=lambda g: (-g.count, g.label)),
            *sorted(self.undecided_groups.values(), key=lambda g: order[g.key[1]]),
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "old": {"rules": self.old_rules, "rules_version": self.old_version},
            "new": {"rules": self.new_rules, "rules_version": self.new_version},
            "scenarios": self.scenarios,
            "changed": self.changed,
            "money_changed": self.money_changed,
            "unchanged": self.unchanged,
            "undecided": self.undecided,
            "money": money_json(self.money),
            "groups": [g.to_json() for g in self.groups()],
            "skipped": self.skipped,
        }


Decider = Callable[[Any, Input], tuple[dict[str, Any] | None, list[Diagnostic]]]


def decide_input(rules: Any, item: Input) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """The decision, or the diagnostics of a scenario that cannot be decided under `rules`."""
    from engine.cli.decide_cmd import scenario_error_diagnostics
    from engine.decide.decision import decide
    from engine.decide.scenarios import ScenarioError

    try:
        return decide(rules, item.scenario), []
    except ScenarioError as exc:
        found = scenario_error_diagnostics(item.document, item.file, exc)
        if item.document is None:  # a JSON line: at its line (they said line 1), as `run` writes it
            found = [dataclasses.replace(d, line=item.line) for d in found]
        return None, found


#: Changed scenarios a report keeps with both decisions unless told otherwise (the HTML page's
#: `engine.report.html.MAX_DECISION_PAIRS`).
DECISION_PAIRS = 100


def diff(
    old_rules: Any,
    new_rules: Any,
    inputs: Inputs,
    names: tuple[str, str],
    decide: Decider = decide_input,
    *,
    listed: int = 0,
    pairs: int = DECISION_PAIRS,
) -> DiffReport:
    """Decide every input under both rule sets and collect what changed, a scenario at a time as
    the input is read. `listed`: the scenarios each group keeps (0: all); `pairs`: the changed
    scenarios kept with both decisions (the first ones); the others are counted, not held."""
    report = DiffReport(names[0], names[1], old_rules.rules_version, new_rules.rules_version, listed=listed)
    for item in inputs.items:
        report.scenarios += 1
        name = getattr(item.scenario, "id", None) or item.id  # (until 2026-12-02 "(no id)" for an unreadable one)
        entry = ScenarioDiff(name, item.file, item.line)
        if item.diagnostics or item.scenario is None:
            entry.problems = [("input", d) for d in item.diagnostics]
            report.add_undecided(entry)
            continue
        old, old_problems = decide(old_rules, item)
        new, new_problems = decide(new_rules, item)
        entry.problems = [("old", d) for d in old_problems] + [("new", d) for d in new_problems]
        if old is None or new is None:
            report.add_undecided(entry)
            continue
        entry.changes = changes(old, new)
        if entry.changes:
            entry.money = money_moved(old, new)
            if len(report.pairs) < pairs:
                entry.old, entry.new = old, new
                report.pairs.append(entry)
            report.add_changed(entry)
    report.skipped = list(inputs.skipped)  # (complete now that every file is read)
    return report
