"""The cancellation part of a decision, in words: per term, allowed or refused, the penalty, and
with `--explain` the computation step by step (the steps are reason records in the JSON)."""

from __future__ import annotations

from typing import Any, TextIO


def render_cancellation(cancellation: dict[str, Any], out: TextIO) -> None:
    verdict = "allowed" if cancellation["allowed"] else f"refused (possible from {cancellation.get('earliest')})"
    out.write(f"\ncancellation on {cancellation['date']}: {verdict}\n")
    for term in cancellation["terms"]:
        what = "plan" if term["for"] == "plan" else f"bundle {term['for']}"
        name = f"term {term['term']}" if term["term"] else "no term"
        out.write(f"  {what}, {name}: {term['outcome'].replace('_', ' ')}\n")
        if "commitment_end" in term:
            renewals = f", after {term['renewals']} renewal(s)" if term["renewals"] else ""
            out.write(f"    current term from {term['start']}, commitment ends {term['commitment_end']}{renewals}\n")
        penalty = term.get("penalty")
        if penalty is not None:
            tax = penalty["tax"] if penalty["tax"] is not None else f"by {penalty.get('tax_provider', 'the provider')}"
            waived = " (waived)" if penalty["waived"] else ""
            out.write(f"    penalty {penalty['fee']} + tax {tax} = {penalty['total']}{waived}, due {penalty['due']}\n")
            booking = [
                f"{k.replace('_', ' ')} {penalty[k]}" for k in ("invoice_line_type", "ledger_account") if k in penalty
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
