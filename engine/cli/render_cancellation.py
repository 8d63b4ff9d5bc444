"""The cancellation part of a decision, in words: per term, allowed or refused, the penalty, and
with `--explain` the computation step by step (the steps are reason records in the JSON)."""

from __future__ import annotations

from typing import Any, TextIO


def render_cancellation(cancellation: dict[str, Any], out: TextIO) -> None:
    earliest = cancellation.get("earliest")
    verdict = (
        "not judged"  # after the scenario's plan change: of a contract it does not describe
        if any(r["code"] == "after_plan_change" for r in cancellation.get("reasons", ()))
        else "allowed"
        if cancellation["allowed"]
        else f"refused (possible {'' if earliest.startswith('after ') else 'from '}{earliest})"
        if earliest is not None
        else "refused (no date found on which every term allows it)"
    )
    out.write(f"\ncancellation on {cancellation['date']}: {verdict}\n")
    for reason in cancellation.get("reasons", ()):
        out.write(f"  - {reason['text']}\n")
    for term in cancellation["terms"]:
        what = "plan" if term["for"] == "plan" else f"bundle {term['for']}"
        name = f"term {term['term']}" if term["term"] else "no term"
        out.write(f"  {what}, {name}: {term['outcome'].replace('_', ' ')}\n")
        if "commitment_end" in term:
            count = term["renewals"]  # ("after 1 renewal": until 2026-12-04 "1 renewal(s)")
            renewals = f", after {count} renewal{'' if count == 1 else 's'}" if count else ""
            out.write(f"    current term from {term['start']}, commitment ends {term['commitment_end']}{renewals}\n")
        remaining = term.get("remaining")
        if remaining is not None:
            if "days" in remaining:
                out.write(f"    {remaining['days']} of {remaining['of']} days remain\n")
            else:
                out.write(
                    f"    {remaining['cycles']} of {remaining['of']} {remaining['frequency']} billing cycles remain\n"
                )
        penalty = term.get("penalty")
        if penalty is not None:
            waived = " (waived)" if penalty["waived"] else ""
            charged = (
                ", not charged (the cancellation is refused)"
                if any(r["code"] == "not_charged" for r in term["reasons"])
                else f", due {penalty['due']}"
            )
            out.write(f"    penalty {penalty['fee']}{_tax(penalty)}{waived}{charged}\n")
            booking = [
                f"{k.replace('_', ' ')} {penalty[k]}"
                for k in ("invoice_line_type", "ledger_account")
                if penalty.get(k) is not None
            ]
            if booking:
                out.write(f"    {', '.join(booking)}\n")
        for reason in term["reasons"]:
            out.write(f"    - {reason['text']}\n")
        if term.get("steps"):
            out.write("    how:\n")
            for step in term["steps"]:
                out.write(f"      {step['text']}\n")
    for currency, total in cancellation["total"].items():
        out.write(f"  total due {currency}: {total}\n")


def _tax(penalty: dict[str, Any]) -> str:
    """The tax and total as the line shows them: the tax's amount, the provider's to come (a tax
    code: no total here, the provider's tax is not in it), or none at all."""
    if penalty["tax"] is not None:
        return f" + tax {penalty['tax']} = {penalty['total']}"
    if penalty.get("tax_code") is not None:
        return f" (tax {penalty['tax_code']} to be added by {penalty.get('tax_provider') or 'the tax provider'})"
    return f" (no tax) = {penalty['total']}"
