"""The HTML report of `billrules decide --html FILE` and `billrules diff --html FILE`.

One self-contained file: inline CSS, charts as inline SVG computed here (no script at all), no
network, no external fonts; a Content-Security-Policy forbids loading anything, as a second line
of defence. Written with the standard library only (`html.escape` and f-strings): the pages are
small and fixed, a template library would add a dependency and no safety — every value goes
through `_text`, which escapes control characters (`printable`) and then HTML (`html.escape`,
quotes included, so the same function serves text and attribute values). No input can add markup.

A decision shows, per line, the discount waterfall (gross, each discount, net) as a chart and a
table; every definition with its status and reasons (words, or reason records whose `text` is
shown); the cancellation and purchase parts when present; other parts (balance, credits, trace)
as their JSON. A diff shows the counts, the money moved, a chart of the groups, each group with
its scenarios, and the old and new decisions of the changed scenarios.

Money stays Decimal: bar lengths are computed from `Money.written` amounts and written with two
decimals, never through float.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.cli.safe_text import json_safe, printable
from engine.diagnostics import Diagnostic
from engine.run.atomic import AtomicFile
from engine.values import Money

#: Width of the bar area of a chart, in pixels; rows are ROW pixels high.
BAR_AREA = Decimal(320)
LABEL_WIDTH = 260
VALUE_WIDTH = 110
ROW = 22
#: At most this many changed scenarios are shown with both decisions in a diff report (the ones
#: its report kept: `engine.diff.DECISION_PAIRS`, the same number).
MAX_DECISION_PAIRS = 100

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2430;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.25rem;border-bottom:2px solid #d6dbe3;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}h4{font-size:.95rem;margin:.8rem 0 .3rem;font-weight:600}
table{border-collapse:collapse;margin:.3rem 0 .8rem}th,td{border:1px solid #d6dbe3;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f8}td.money,th.money{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}
.meta{color:#5b6575}ul.reasons{margin:0;padding-left:1.1rem}
.status{font-weight:600;white-space:nowrap}.status-applied,.status-redeemed,.allowed{color:#11703a}
.status-rejected,.status-not_eligible,.status-limit_reached,.refused{color:#a3261b}
.status-offered,.status-pending_approval{color:#8a5a00}
svg text{font:12px system-ui,sans-serif;fill:#1d2430}
rect.gross{fill:#7d8fa9}rect.discount{fill:#e0893a}rect.net{fill:#2f7d4f}rect.group{fill:#4a6fa5}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}.pair>div{min-width:0;overflow-x:auto}
details{margin:.4rem 0}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
.group{border-left:4px solid #4a6fa5;padding-left:.8rem;margin:1rem 0}.group.undecided{border-color:#a3261b}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _text(value: Any) -> str:
    """Any value as safe HTML text or attribute value: controls made visible, then HTML-escaped."""
    return html.escape(printable(str(value)), quote=True)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n<h1>{_text(title)}</h1>\n{body}</body></html>\n"
    )


# --- decisions -----------------------------------------------------------------------------------


def decisions_page(
    decisions: list[dict[str, Any]], refused: Sequence[Diagnostic] = (), title: str = "billrules decisions"
) -> str:
    """The report of `decide --html`: every decision, in order, then what could not be decided
    (each problem at its file, line and column, as the command line reports it): never a report
    that is silently partial."""
    body = "".join(decision_section(d) for d in decisions)
    if refused:
        items = "".join(
            f"<li><code>{_text(f'{d.file}:{d.line}:{d.column}')}</code> {_text(d.code)} {_text(d.message)}"
            + (f' <span class="meta">({_text(d.hint)})</span>' if d.hint else "")
            + "</li>"
            for d in refused
        )
        problems = "1 problem" if len(refused) == 1 else f"{len(refused)} problems"  # (until 2026-12-04 "problem(s)")
        body += f'<section class="group undecided"><h2>Not decided: {problems}</h2><ul>{items}</ul></section>\n'
    return _page(title, body)


def decision_section(decision: dict[str, Any], heading: str = "h2") -> str:
    """One decision: the scenario, then each part it answers."""
    parts = [
        f'<section class="decision" data-scenario="{_text(decision.get("scenario", ""))}">',
        f"<{heading}>Scenario <code>{_text(decision.get('scenario', ''))}</code></{heading}>",
        f'<p class="meta">rules {_text(decision.get("rules_version", ""))}</p>',
    ]
    discounts = decision.get("discounts")
    if discounts is not None:
        parts.append(_discounts(discounts))
    cancellation = decision.get("cancellation")
    if cancellation is not None:
        parts.append(_cancellation(cancellation))
    purchase = decision.get("purchase")
    if purchase is not None:
        parts.append(_purchase(purchase))
    for name in decision:
        if name not in ("scenario", "rules_version", "discounts", "cancellation", "purchase"):
            parts.append(_as_json(name, decision[name]))
    parts.append("</section>\n")
    return "".join(parts)


def _discounts(discounts: dict[str, Any]) -> str:
    parts = ['<div class="part discounts"><h3>Discounts, per line</h3>']
    parts.extend(_line(line) for line in discounts["lines"])
    parts.append("<h3>Definitions</h3>")
    parts.append(_definitions(discounts["definitions"]))
    omitted = [f"{n} {status.replace('_', ' ')}" for status, n in discounts.get("omitted", {}).items() if n]
    if omitted:  # --applied-only: counted rather than listed
        parts.append(f'<p class="omitted">not listed: {_text(", ".join(omitted))}</p>')
    if "totals" in discounts:  # (`decide --only CODE`: that definition alone, no totals)
        parts.append(_totals(discounts["totals"], "totals"))
    parts.append("</div>")
    return "".join(parts)


def _line(line: dict[str, Any]) -> str:
    """One bill or purchase line: heading, the waterfall chart, the same numbers as a table."""
    name = line.get("line", line.get("product", ""))
    bundle = f" in <code>{_text(line['bundle'])}</code>" if line.get("bundle") else ""
    title = f"<code>{_text(line.get('product', ''))}</code>{bundle}"
    if "line" in line:  # a bill line is named by its field; a purchase line by its product
        title = f"<code>{_text(name)}</code>: {title}"
    head = f'<div class="line" data-line="{_text(name)}"><h4>{title}</h4>'
    if line.get("priced") is False or "gross" not in line:
        return f"{head}<p>not priced</p>{_reasons(line.get('reasons', []))}</div>"
    rows = [("gross", "gross", str(line["gross"]))]
    rows += [("discount", str(take["code"]), str(take["amount"])) for take in line["discounts"]]
    rows.append(("net", "net", str(line["net"])))
    table = "".join(
        f'<tr class="{kind}"><th>{_text(label)}</th><td class="money">{_text(amount)}</td></tr>'
        for kind, label, amount in rows
    )
    return f'{head}{waterfall(rows)}<table class="waterfall">{table}</table></div>'


def waterfall(rows: list[tuple[str, str, str]]) -> str:
    """An SVG waterfall: gross from zero, each discount hanging from what is left, net from zero.

    `rows` are (kind, label, money text); discounts are negative amounts (`-1.50 EUR`).
    """
    amounts = [Money.written(text).amount for _, _, text in rows]
    gross = amounts[0]
    scale = BAR_AREA / gross if gross > 0 else Decimal(0)
    left = Decimal(0) + gross
    bars = []
    for i, ((kind, label, text), amount) in enumerate(zip(rows, amounts, strict=True)):
        if kind == "discount":
            size = -amount
            start = left - size
            left = start
        else:
            size, start = amount, Decimal(0)
        x = LABEL_WIDTH + _px(max(start, Decimal(0)) * scale)
        width = max(_px(abs(size) * scale), Decimal(1))
        y = i * ROW + 3
        bars.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{_text(_clip(label))}</text>'
            f'<rect class="bar {kind}" x="{x}" y="{y}" width="{width}" height="{ROW - 6}">'
            f"<title>{_text(label)}: {_text(text)}</title></rect>"
            f'<text x="{LABEL_WIDTH + int(BAR_AREA) + 6}" y="{y + 13}">{_text(text)}</text>'
        )
    return _svg("waterfall", len(rows), "discount waterfall: gross, each discount, net", "".join(bars))


def _svg(kind: str, rows: int, label: str, content: str) -> str:
    width = LABEL_WIDTH + int(BAR_AREA) + VALUE_WIDTH
    height = rows * ROW + 6
    return (
        f'<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_text(label)}">{content}</svg>'
    )


def _px(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _clip(label: str, size: int = (LABEL_WIDTH - 12) // 7) -> str:
    """A chart label that fits its column (12 px text, about 7 px a character at the widest: 40
    characters ran past the left edge); the whole label is the bar's `<title>`."""
    return label if len(label) <= size else label[: size - 1] + "…"


def _definitions(definitions: list[dict[str, Any]]) -> str:
    rows = "".join(
        f'<tr data-code="{_text(d["code"])}"><td class="code"><code>{_text(d["code"])}</code></td>'
        f'<td class="type">{_text(d.get("type", ""))}</td>'
        f'<td class="status status-{_text(d["status"])}">{_text(d["status"])}</td>'
        f'<td class="money amount">{_text(d.get("amount", ""))}{_requested(d)}</td>'
        f'<td class="reasons">{_reasons(d.get("reasons", []))}{_approvers(d)}</td></tr>'
        for d in definitions
    )
    return (
        '<table class="definitions"><thead><tr><th>definition</th><th>type</th><th>status</th>'
        f'<th class="money">amount</th><th>reasons</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _requested(definition: dict[str, Any]) -> str:
    """The value an ad hoc request asked for, under the amount it gave (50 % asked, 20.00 EUR taken)."""
    requested = definition.get("requested")
    return f'<br><span class="meta requested">requested {_text(requested)}</span>' if requested is not None else ""


def _approvers(definition: dict[str, Any]) -> str:
    approvers = definition.get("approvers")
    if not approvers:
        return ""
    return f"<p>approvers: {', '.join(_text(a) for a in approvers)}</p>"


def _reasons(reasons: list[Any]) -> str:
    """Reasons as a list: words as they are, records by their `text` (the code as a tooltip)."""
    if not reasons:
        return ""
    items = []
    for reason in reasons:
        if isinstance(reason, dict):
            items.append(f'<li title="{_text(reason.get("code", ""))}">{_text(reason.get("text", ""))}</li>')
        else:
            items.append(f"<li>{_text(reason)}</li>")
    return f'<ul class="reasons">{"".join(items)}</ul>'


def _totals(totals: dict[str, Any], kind: str) -> str:
    rows = "".join(
        f'<tr data-currency="{_text(c)}"><th>{_text(c)}</th><td class="money gross">{_text(t["gross"])}</td>'
        f'<td class="money discount">{_text(t["discount"])}</td><td class="money net">{_text(t["net"])}</td></tr>'
        for c, t in totals.items()
    )
    return (
        f'<table class="{kind}"><thead><tr><th>currency</th><th class="money">gross</th>'
        f'<th class="money">discount</th><th class="money">net</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _verdict(allowed: Any) -> str:
    word = "allowed" if allowed else "refused"
    return f'<span class="verdict {word}">{word}</span>'


def _cancellation(cancellation: dict[str, Any]) -> str:
    earliest = f" (possible from {_text(cancellation['earliest'])})" if cancellation.get("earliest") else ""
    reasons = cancellation.get("reasons", [])
    verdict = (
        '<span class="verdict">not judged</span>'  # after the scenario's plan change (as the text says)
        if any(isinstance(r, dict) and r.get("code") == "after_plan_change" for r in reasons)
        else _verdict(cancellation["allowed"])
    )
    parts = [
        '<div class="part cancellation"><h3>Cancellation</h3>',
        f"<p>on {_text(cancellation.get('date', ''))}: {verdict}{earliest}</p>",
        # the part's own reasons (no common date, after a plan change), as the text lists them
        # (until 2026-12-03 not shown)
        _reasons(reasons),
        '<table class="terms"><thead><tr><th>for</th><th>term</th><th>outcome</th><th class="money">fee</th>'
        '<th class="money">tax</th><th class="money">total</th><th>due</th><th>reasons</th></tr></thead><tbody>',
    ]
    for term in cancellation["terms"]:
        penalty = term.get("penalty") or {}
        waived = " (waived)" if penalty.get("waived") else ""
        # a term's penalty the refused cancellation does not charge: said so, as the text says it
        # (until 2026-12-02 it looked due, its due date beside it)
        not_charged = any(isinstance(r, dict) and r.get("code") == "not_charged" for r in term.get("reasons", []))
        if not_charged:
            waived += " (not charged: the cancellation is refused)"
        parts.append(
            f'<tr data-term="{_text(term.get("term") or "")}"><td>{_text(term.get("for", ""))}</td>'
            f"<td><code>{_text(term.get('term') or 'no term')}</code></td>"
            f'<td class="status">{_text(term.get("outcome", ""))}</td>'
            f'<td class="money">{_text(penalty.get("fee", ""))}</td>'
            f'<td class="money">{_text(penalty.get("tax") or "")}</td>'
            f'<td class="money total">{_text(penalty.get("total", ""))}{waived}</td>'
            f"<td>{'' if not_charged else _text(penalty.get('due', ''))}</td><td>{_reasons(term.get('reasons', []))}"
            f"{_steps(term.get('steps'))}</td></tr>"
        )
    parts.append("</tbody></table>")
    due = "".join(
        f'<tr><th>{_text(c)}</th><td class="money">{_text(v)}</td></tr>'
        for c, v in cancellation.get("total", {}).items()
    )
    if due:
        parts.append(f'<table class="due"><thead><tr><th colspan="2">total due</th></tr></thead>{due}</table>')
    parts.append("</div>")
    return "".join(parts)


def _steps(steps: Any) -> str:
    if not steps:
        return ""
    return f"<details><summary>how</summary>{_reasons(steps)}</details>"


def _purchase(purchase: dict[str, Any]) -> str:
    plan = f" (plan <code>{_text(purchase['plan'])}</code>)" if purchase.get("plan") else ""
    parts = [
        '<div class="part purchase"><h3>Purchase</h3>',
        f"<p>purchase{plan}: {_verdict(purchase['allowed'])}</p>",
        _reasons(purchase.get("reasons", [])),
    ]
    coupons = purchase.get("coupons", [])
    if coupons:
        rows = "".join(
            f'<tr data-coupon="{_text(c["code"])}"><td><code>{_text(c["code"])}</code></td>'
            f"<td>{_text(c.get('coupon', ''))}</td>"
            f'<td class="status status-{_text(c["status"])}">{_text(c["status"])}</td>'
            f"<td>{_reasons(c.get('reasons', []))}</td></tr>"
            for c in coupons
        )
        parts.append(
            '<h4>Coupons</h4><table class="coupons"><thead><tr><th>code</th><th>coupon</th><th>status</th>'
            f"<th>reasons</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    parts.append("<h4>Lines</h4>")
    parts.extend(_line(line) for line in purchase.get("lines", []))
    parts.append("<h4>Price</h4>")
    parts.append(_totals(purchase.get("price", {}), "price"))
    if purchase.get("discounts"):
        parts.append("<h4>Discounts of the purchase</h4>")
        parts.append(_definitions(purchase["discounts"]))
    parts.append("</div>")
    return "".join(parts)


def _as_json(name: str, value: Any) -> str:
    # json escapes the C0 controls; `json_safe` the rest (DEL, C1, lone surrogates), so the block stays JSON
    lines = json_safe(json.dumps(value, ensure_ascii=False, indent=1)).split("\n")
    text = "\n".join(_text(line) for line in lines)
    return (
        f'<div class="part other"><h3>{_text(name.capitalize())}</h3>'
        f"<details><summary>the {_text(name)} part, as JSON</summary><pre>{text}</pre></details></div>"
    )


# --- diffs ---------------------------------------------------------------------------------------


def diff_page(report: Any, title: str = "billrules diff") -> str:
    """The report of `diff --html`: counts, money moved, groups (chart and lists), decision pairs."""
    data = report.to_json()
    groups = data["groups"]
    parts = [
        '<div class="summary"><table class="counts"><tbody>',
        f"<tr><th>old rules</th><td><code>{_text(data['old']['rules'])}</code> "
        f'<span class="meta">{_text(data["old"]["rules_version"])}</span></td></tr>',
        f"<tr><th>new rules</th><td><code>{_text(data['new']['rules'])}</code> "
        f'<span class="meta">{_text(data["new"]["rules_version"])}</span></td></tr>',
    ]
    for key in ("scenarios", "changed", "unchanged", "undecided"):
        parts.append(f'<tr><th>{key}</th><td class="money count-{key}">{_text(data[key])}</td></tr>')
    parts.append("</tbody></table></div>")
    if not data["scenarios"]:  # exit 1, as in the text report: a gate must not pass on nothing compared
        parts.append('<p class="refused">no scenario found: nothing was compared</p>')
    parts.append("<h2>Money moved (new - old)</h2>")
    parts.append(_money_table(data["money"]) or "<p>none</p>")
    parts.append(f"<h2>Groups ({len(groups)})</h2>")
    if groups:
        parts.append(_groups_chart(groups))
    parts.extend(_group(g) for g in groups)
    if report.changed:  # (the report keeps the first changed scenarios' decisions: `pairs`)
        shown = report.pairs[:MAX_DECISION_PAIRS]
        more = report.changed - len(shown)
        parts.append(f"<h2>Changed scenarios: old and new decisions ({len(shown)})</h2>")
        if more:
            parts.append(
                f"<p>{more} more changed scenario{'' if more == 1 else 's'} not shown: <code>--json</code> lists every one, and "
                "<code>billrules decide --json</code> under each rule set shows its two decisions.</p>"
            )
        for item in shown:
            parts.append(
                f'<details class="decisions" data-scenario="{_text(item.scenario or "")}">'
                f"<summary><code>{_text(item.scenario or '')}</code> "
                f"{_text(item.file)}:{item.line}</summary>"
                f'<div class="pair"><div><h3>old</h3>{decision_section(item.old, "h4")}</div>'
                f"<div><h3>new</h3>{decision_section(item.new, 'h4')}</div></div></details>"
            )
    if data["skipped"]:
        parts.append("<h2>Skipped</h2><ul>" + "".join(f"<li>{_text(s)}</li>" for s in data["skipped"]) + "</ul>")
    return _page(title, "".join(parts))


_MEASURE_NAMES = {
    "discounts_net": "net of the discounts part",
    "cancellation_penalties": "penalties due on cancellation",
    "purchase_price": "net price of purchases",
}


def _money_table(money: dict[str, dict[str, str]]) -> str:
    rows = "".join(
        f'<tr data-measure="{_text(m)}" data-currency="{_text(c)}"><th>{_text(_MEASURE_NAMES.get(m, m))}</th>'
        f'<td class="money">{_text(v)}</td></tr>'
        for m, amounts in money.items()
        for c, v in amounts.items()
    )
    return f'<table class="money-moved"><tbody>{rows}</tbody></table>' if rows else ""


def _groups_chart(groups: list[dict[str, Any]]) -> str:
    """One bar per group, its length the group's number of scenarios."""
    most = max(g["count"] for g in groups)
    bars = []
    for i, group in enumerate(groups):
        width = max(_px(BAR_AREA * group["count"] / most), Decimal(1))
        y = i * ROW + 3
        bars.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{_text(_clip(group["label"]))}</text>'
            f'<rect class="bar group" x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{ROW - 6}">'
            f"<title>{_text(group['label'])}: {group['count']}</title></rect>"
            f'<text x="{LABEL_WIDTH + int(BAR_AREA) + 6}" y="{y + 13}">{group["count"]}</text>'
        )
    return _svg("groups", len(groups), "scenarios per group", "".join(bars))


def _group(group: dict[str, Any]) -> str:
    undecided = group["kind"] == "undecided"
    noun = "scenario" if group["count"] == 1 else "scenarios"  # (until 2026-12-04 "scenario(s)")
    rows = []
    for s in group["scenarios"]:
        problems = "".join(
            f"<li>{_text(p['rules'])}: <code>{_text(p['code'])}</code> {_text(p['message'])} "
            f'<span class="meta">{_text(p["file"])}:{_text(p["line"])}</span>'
            + (f'<br><span class="meta">hint: {_text(p["hint"])}</span>' if p.get("hint") else "")
            + "</li>"
            for p in s.get("problems", [])
        )
        rows.append(
            f'<tr data-scenario="{_text(s["scenario"] or "")}"><td><code>{_text(s["scenario"] or "(no id)")}</code></td>'
            f"<td>{_text(s['file'])}:{_text(s['line'])}</td>"
            f"<td>{_text(s.get('detail', ''))}{f'<ul>{problems}</ul>' if problems else ''}</td></tr>"
        )
    return (
        f'<section class="group{" undecided" if undecided else ""}" data-count="{group["count"]}">'
        f'<h3 class="label">{_text(group["label"])}</h3>'
        f'<p><span class="count">{group["count"]}</span> {noun}</p>{_money_table(group["money"])}'
        '<table class="scenarios"><thead><tr><th>scenario</th><th>where</th><th>what</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>\n"
    )


# --- writing -------------------------------------------------------------------------------------


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and `os.replace`, so a
    reader never sees half a report; the file gets the permissions the umask gives a new file (a
    link is written through, a pipe or a device written to directly: `AtomicFile`)."""
    with AtomicFile(path) as out:
        out.file.write(text.encode("utf-8"))
