"""Text rendering of a decision's `purchase` part for `billrules decide` (the JSON carries the data).

Allowed or refused with every reason, each coupon code's outcome, the lines bought (gross, each
discount, net; rated products without a price), the price per currency, and the bundles'
discounts that did not apply, with why. The decision arrives
already escaped for the terminal (`decide_cmd._printable_tree`).
"""

from __future__ import annotations

from typing import Any, TextIO


def render_purchase(purchase: dict[str, Any], out: TextIO) -> None:
    verdict = "allowed" if purchase["allowed"] else "refused"
    # the plan in force, bought or the subscription's ("plan X" read as buying it beside "buys nothing")
    plan = f" (under plan {purchase['plan']})" if purchase.get("plan") else ""
    out.write(f"\npurchase{plan}: {verdict}\n")
    if purchase.get("user") is not None:  # a catalog purchase by a credit user (seed 001)
        out.write(
            f"  by {purchase['user']}: assigned to {purchase.get('assigned_to')}, billed to {purchase.get('billed_to')}\n"
        )
    for reason in purchase["reasons"]:
        out.write(f"  {reason['text']}\n")
    if purchase["coupons"]:
        out.write("coupons:\n")
        for coupon in purchase["coupons"]:
            of = f" ({coupon['coupon']})" if "coupon" in coupon else ""
            out.write(f"  {coupon['code']}{of}: {coupon['status']}\n")
            for reason in coupon["reasons"]:
                out.write(f"    {reason['text']}\n")
    out.write("lines:\n")
    for line in purchase["lines"]:
        out.write(f"  {line['product']} in {line['bundle']}\n")
        if line.get("priced") is False:
            for reason in line["reasons"]:
                out.write(f"    {reason['text']}\n")
            continue
        out.write(f"    {'gross':<34}{line['gross']:>16}\n")
        for take in line["discounts"]:
            out.write(f"    {take['code']:<34}{take['amount']:>16}\n")
        out.write(f"    {'net':<34}{line['net']:>16}\n")
    refused = "" if purchase["allowed"] else " (what it would cost: the purchase is refused)"
    for currency, total in purchase["price"].items():
        out.write(
            f"price {currency}: gross {total['gross']}, discount {total['discount']}, net {total['net']}{refused}\n"
        )
    said = [d for d in purchase.get("discounts", []) if d["status"] == "applied" and d["reasons"]]
    if said:  # what a cap or the zero floor cut from a discount that applied
        out.write("discounts of the bundles applied:\n")
        for discount in said:
            out.write(f"  {discount['code']}: {discount['status']} {discount.get('amount', '')}\n")
            for reason in discount["reasons"]:
                out.write(f"    {reason['text']}\n")
    unapplied = [d for d in purchase.get("discounts", []) if d["status"] != "applied"]
    if unapplied:  # the bundles' discounts that did not apply, and why (README: "says why")
        out.write("discounts of the bundles not applied:\n")
        for discount in unapplied:
            out.write(f"  {discount['code']}: {discount['status']}\n")
            for reason in discount["reasons"]:
                out.write(f"    {reason['text']}\n")
