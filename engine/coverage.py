"""Rule coverage for `billrules test --coverage`: what the expectation files exercised.

Per discount definition, the statuses its expectations' decisions gave it; per criteria
condition (a section of a definition's criteria, its `when:`, or a term's exception), whether
some expectation saw it hold and some saw it not hold — like `opa test --coverage`, a condition
seen only one way is a condition whose other side no test proves. Only scenarios with an
`expect:` section count: a plain scenario checks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.decide.decision import as_decided


@dataclass
class ConditionCoverage:
    owner: str  # e.g. "discount:loyalty-5", "term:commit-24m"
    section: str  # e.g. "billing_term", "when", "exceptions[0]"
    held: int = 0
    not_held: int = 0

    @property
    def both(self) -> bool:
        return self.held > 0 and self.not_held > 0


@dataclass
class Coverage:
    scenarios: int = 0
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)  # definition → status → count
    conditions: list[ConditionCoverage] = field(default_factory=list)
    _index: dict[tuple[str, int], ConditionCoverage] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, rules: Any) -> Coverage:
        """Every definition and condition of the rule set, none exercised yet."""
        coverage = cls()
        for code in rules.models("discount"):
            coverage.statuses[code] = {}
        program = rules.criteria
        for owner in sorted(program.by_owner):
            for i in program.by_owner[owner]:
                item = ConditionCoverage(owner, program.entries[i].section)
                coverage._index[(owner, i)] = item
                coverage.conditions.append(item)
        return coverage

    def record(self, rules: Any, scenario: Any, decision: dict[str, Any]) -> None:
        """Count one expectation's scenario: its definitions' statuses (of the bill and of a
        purchase's price) and the outcomes of the conditions its decision judged on: a definition's
        when it was decided on its criteria, a term's exceptions when the cancellation decided the
        term. Until 2026-12-02 every condition counted on every scenario (a credits scenario "saw"
        a term's exception not hold) and a purchase's statuses were left out."""
        self.scenarios += 1
        judged: set[str] = set()
        for part in (
            (decision.get("discounts") or {}).get("definitions", []),
            (decision.get("purchase") or {}).get("discounts", []),
        ):
            for item in part:
                seen = self.statuses.setdefault(item["code"], {})
                seen[item["status"]] = seen.get(item["status"], 0) + 1
        for item in (decision.get("discounts") or {}).get("definitions", []):
            if _on_its_criteria(item):
                judged.add(f"discount:{item['code']}")
        judged |= {f"term:{t['term']}" for t in (decision.get("cancellation") or {}).get("terms", []) if t.get("term")}
        program = rules.criteria
        owners = [owner for owner in program.by_owner if owner in judged]
        # a purchase's price judges its bundles' discounts on the scenario it is priced on (the
        # purchase's lines): counted there (until 2026-12-02 a discount the price applied showed
        # its condition "never held")
        priced = {
            f"discount:{item['code']}"
            for item in (decision.get("purchase") or {}).get("discounts", [])
            if isinstance(item, dict) and _on_its_criteria(item)
        }
        priced_owners = [owner for owner in program.by_owner if owner in priced]
        if not owners and not priced_owners:
            return
        decided = as_decided(rules, scenario)  # (the lines' catalog types and charges)
        if owners:
            self._count(program, owners, program.evaluate(decided))
        if priced_owners:
            from engine.decide.purchases import priced_scenario

            self._count(program, priced_owners, program.evaluate(priced_scenario(rules, decided)))

    def _count(self, program: Any, owners: list[str], results: Any) -> None:
        for owner in owners:
            for i in program.by_owner[owner]:
                condition = self._index[(owner, i)]
                if results[i]:
                    condition.held += 1
                else:
                    condition.not_held += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "scenarios": self.scenarios,
            "definitions": [
                {"code": code, "statuses": dict(sorted(seen.items()))} for code, seen in sorted(self.statuses.items())
            ],
            "conditions": [
                {"owner": c.owner, "section": c.section, "held": c.held, "not_held": c.not_held}
                for c in self.conditions
            ],
            "totals": self.totals(),
        }

    def totals(self) -> dict[str, int]:
        return {
            "definitions": len(self.statuses),
            "definitions_exercised": sum(1 for seen in self.statuses.values() if seen),
            "conditions": len(self.conditions),
            "conditions_held": sum(1 for c in self.conditions if c.held),
            "conditions_not_held": sum(1 for c in self.conditions if c.not_held),
            "conditions_both": sum(1 for c in self.conditions if c.both),
        }

    def render(self) -> str:
        """The coverage in words: per rule the statuses seen, under it each condition's two sides;
        a condition seen one way only is marked, as is a definition no expectation decided."""
        by_owner: dict[str, list[ConditionCoverage]] = {}
        for c in self.conditions:
            by_owner.setdefault(c.owner, []).append(c)
        owners = sorted({f"discount:{code}" for code in self.statuses} | set(by_owner))
        # ("1 expectation scenario", "2 expectation scenarios": until 2026-12-04 "scenario(s)")
        noun = "scenario" if self.scenarios == 1 else "scenarios"
        lines = [f"rule coverage ({self.scenarios} expectation {noun}):"]
        for owner in owners:
            kind, _, code = owner.partition(":")
            statuses = self.statuses.get(code, {})
            shown = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
            if kind == "discount" and not shown:
                shown = "never decided by an expectation"
            lines.append(f"  {owner}   {shown}".rstrip())
            for c in by_owner.get(owner, []):
                gap = "" if c.both else "   <- never held" if not c.held else "   <- never failed"
                lines.append(f"      {c.section:<24}held {_count(c.held):>5}   not held {_count(c.not_held):>5}{gap}")
        t = self.totals()
        lines.append(
            f"definitions decided: {t['definitions_exercised']}/{t['definitions']}; "
            f"conditions seen holding {t['conditions_held']}/{t['conditions']}, "
            f"not holding {t['conditions_not_held']}/{t['conditions']}, both {t['conditions_both']}/{t['conditions']}"
        )
        return "\n".join(lines) + "\n"


#: reasons that settle a definition before its criteria: they were not what decided it
_BEFORE_CRITERIA = frozenset({"wrong_subject", "state_not_effective"})


def _on_its_criteria(item: dict[str, Any]) -> bool:
    """Whether a definition was decided on its criteria: not settled by its state or dates
    (`not_effective`) or by the bill's subject (a job's definition on a subscription's bill); a
    bundle not held or no line it reduces still has its criteria judged and reported."""
    if item["status"] == "not_effective":
        return False
    codes = {r.get("code") for r in item.get("reasons", []) if isinstance(r, dict)}
    return not codes & _BEFORE_CRITERIA


def _count(n: int) -> str:
    return str(n) if n else "-"
