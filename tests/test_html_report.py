"""The HTML reports (`decide --html`, `diff --html`) in a real headless browser (Chromium via Playwright).

The page must load without console errors, draw its charts (the expected number of bars, a
non-zero size), and show the numbers of the JSON decision: they are read back from the DOM.
Locally the tests skip when no Chromium is installed; with `CI` set they fail instead (`.ci/run`
installs Chromium), so CI always runs them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.cli.main import main

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"
SAMPLES = REPO / "samples"
#: Samples with every part the report draws: bill lines, a purchase with coupons, cancellation
#: terms with penalties, stacked levels, a balance and credits (shown as JSON), job lines.
DECIDED = [
    SAMPLES / "discounts" / "levels_stacked.yaml",
    SAMPLES / "discounts" / "complaint_requested_pending.yaml",
    SAMPLES / "discounts" / "installation_both.yaml",
    SAMPLES / "purchase" / "coupon_minus_20.yaml",
    SAMPLES / "purchase" / "refused_every_reason.yaml",
    SAMPLES / "cancellation" / "pro_rata_penalty.yaml",
    SAMPLES / "balance" / "seed_004_example.yaml",
    SAMPLES / "credits" / "closest_expiry_first.yaml",
]


def _chromium() -> str | None:
    for candidate in (os.environ.get("BILLRULES_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must run the browser tests (.ci/run installs Chromium and Playwright)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium here (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python driver playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """A report opened in the browser, with every console error and page error collected."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.errors: list[str] = []
        self.page = browser.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: self.errors.append(f"dialog: {d.message}"))
        self.page.on("request", lambda r: None if r.url.startswith("file:") else self.errors.append(r.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def eval(self, script: str) -> Any:
        return self.page.evaluate(script)


_READ_DECISIONS = """() => {
  function readLine(l) {
    const svg = l.querySelector('svg.waterfall'), box = svg ? svg.getBoundingClientRect() : null;
    return {
      line: l.dataset.line,
      gross: l.querySelector('tr.gross td.money')?.textContent ?? null,
      discounts: [...l.querySelectorAll('tr.discount')].map(r => [r.querySelector('th').textContent,
                                                                r.querySelector('td.money').textContent]),
      net: l.querySelector('tr.net td.money')?.textContent ?? null,
      bars: svg ? [...svg.querySelectorAll('rect.bar')].map(b => {
        const r = b.getBoundingClientRect(); return [b.classList[1], r.width, r.height]; }) : [],
      size: box ? [box.width, box.height] : [0, 0],
    };
  }
  return [...document.querySelectorAll('body > section.decision')].map(s => ({
    scenario: s.dataset.scenario,
    lines: [...s.querySelectorAll(':scope > .discounts > .line')].map(readLine),
    definitions: Object.fromEntries([...s.querySelectorAll(':scope > .discounts table.definitions tbody tr')]
        .map(r => [r.dataset.code, r.querySelector('td.status').textContent])),
    purchaseLines: [...s.querySelectorAll(':scope > .purchase > .line')].map(readLine),
    coupons: [...s.querySelectorAll(':scope > .purchase table.coupons tbody tr')]
        .map(r => [r.dataset.coupon, r.querySelector('td.status').textContent]),
    purchaseVerdict: s.querySelector(':scope > .purchase .verdict')?.textContent ?? null,
    cancellationTotal: [...s.querySelectorAll(':scope > .cancellation table.due td.money')].map(c => c.textContent),
    terms: [...s.querySelectorAll(':scope > .cancellation table.terms tbody tr')]
        .map(r => [r.dataset.term, r.querySelector('td.status').textContent]),
    others: [...s.querySelectorAll(':scope > .other h3')].map(h => h.textContent),
  }));
}"""


def _decide_json(paths: list[Path]) -> list[dict[str, Any]]:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["decide", "--rules", str(RULES), "--json", *map(str, paths)]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _check_line(shown: dict[str, Any], line: dict[str, Any]) -> None:
    assert shown["gross"] == line["gross"] and shown["net"] == line["net"]
    assert shown["discounts"] == [[t["code"], t["amount"]] for t in line["discounts"]]
    kinds = ["gross", *["discount"] * len(line["discounts"]), "net"]
    assert [b[0] for b in shown["bars"]] == kinds  # one bar per row of the waterfall
    assert all(width >= 1 and height > 0 for _, width, height in shown["bars"])
    assert shown["size"][0] > 100 and shown["size"][1] > 0


def test_decide_report_shows_the_decisions(browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    decisions = _decide_json(DECIDED)
    report = tmp_path / "decisions.html"
    assert main(["decide", "--rules", str(RULES), "--html", str(report), *map(str, DECIDED)]) == 0
    capsys.readouterr()
    page = Page(browser, report)
    shown = page.eval(_READ_DECISIONS)

    assert page.errors == []
    assert [s["scenario"] for s in shown] == [d["scenario"] for d in decisions]
    lines_drawn = 0
    for seen, decision in zip(shown, decisions, strict=True):
        discounts = decision.get("discounts")
        if discounts is not None:
            assert len(seen["lines"]) == len(discounts["lines"])
            for line_seen, line in zip(seen["lines"], discounts["lines"], strict=True):
                assert line_seen["line"] == line["line"]
                _check_line(line_seen, line)
                lines_drawn += 1
            assert seen["definitions"] == {d["code"]: d["status"] for d in discounts["definitions"]}
        purchase = decision.get("purchase")
        if purchase is not None:
            assert seen["purchaseVerdict"] == ("allowed" if purchase["allowed"] else "refused")
            assert seen["coupons"] == [[c["code"], c["status"]] for c in purchase["coupons"]]
            priced = [line for line in purchase["lines"] if line.get("priced") is not False]
            for line_seen, line in zip(seen["purchaseLines"], purchase["lines"], strict=True):
                if line in priced:
                    _check_line(line_seen, line)
                    lines_drawn += 1
        cancellation = decision.get("cancellation")
        if cancellation is not None:
            assert seen["cancellationTotal"] == list(cancellation["total"].values())
            assert seen["terms"] == [[t["term"] or "", t["outcome"]] for t in cancellation["terms"]]
        others = {
            k for k in decision if k not in ("scenario", "rules_version", "discounts", "purchase", "cancellation")
        }
        assert {h.lower() for h in seen["others"]} == others
    assert lines_drawn >= 8


def test_decide_report_cannot_be_injected(browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>\x1b[31m"\'&'
    text = (SAMPLES / "discounts" / "complaint_offered.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "hostile.yaml"
    scenario.write_text(text.replace("id: complaint-offered", f"id: {json.dumps(hostile)}", 1), encoding="utf-8")
    report = tmp_path / "hostile.html"
    assert main(["decide", "--rules", str(RULES), "--html", str(report), str(scenario)]) == 0
    capsys.readouterr()
    raw = report.read_text(encoding="utf-8")
    assert "<script" not in raw and "<img" not in raw and "\x1b" not in raw
    page = Page(browser, report)
    assert page.errors == []
    assert page.eval("document.querySelectorAll('img, script').length") == 0
    heading = page.eval("document.querySelector('section.decision h2 code').textContent")
    assert heading == hostile.replace("\x1b", "\\x1b")


def test_diff_report_shows_the_groups(browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = tmp_path / "rules"
    shutil.copytree(RULES, new)
    loyalty = new / "discounts" / "loyalty.yaml"
    text = loyalty.read_text(encoding="utf-8")
    at = text.index("billing_frequencies: [monthly, quarterly]", text.index("code: loyalty-5"))
    loyalty.write_text(text[:at] + "billing_frequencies: [quarterly]" + text[at + 41 :], encoding="utf-8")
    args = ["diff", "--rules", str(RULES), "--rules", str(new), "--input", str(SAMPLES)]
    assert main([*args, "--json"]) == 1
    expected = json.loads(capsys.readouterr().out)
    report = tmp_path / "diff.html"
    assert main([*args, "--html", str(report)]) == 1
    capsys.readouterr()

    page = Page(browser, report)
    groups = page.eval("""() => [...document.querySelectorAll('section.group')].map(g => ({
        label: g.querySelector('h3.label').textContent, count: +g.querySelector('.count').textContent,
        scenarios: [...g.querySelectorAll('table.scenarios tbody tr')].map(r => r.dataset.scenario)}))""")
    bars = page.eval("""() => { const svg = document.querySelector('svg.groups'), box = svg.getBoundingClientRect();
        return {size: [box.width, box.height], bars: [...svg.querySelectorAll('rect.bar')].map(b => {
          const r = b.getBoundingClientRect(); return [r.width, r.height]; })}; }""")
    counts = page.eval("""() => Object.fromEntries(['scenarios', 'changed', 'unchanged', 'undecided']
        .map(k => [k, +document.querySelector('.count-' + k).textContent]))""")
    money = page.eval("""() => [...document.querySelectorAll('body > table.money-moved tr')]
        .map(r => [r.dataset.measure, r.dataset.currency, r.querySelector('td').textContent])""")
    pairs = page.eval("document.querySelectorAll('details.decisions').length")

    assert page.errors == []
    assert expected["groups"]
    assert groups == [
        {"label": g["label"], "count": g["count"], "scenarios": [s["scenario"] for s in g["scenarios"]]}
        for g in expected["groups"]
    ]
    assert len(bars["bars"]) == len(expected["groups"])
    assert bars["size"][0] > 100 and bars["size"][1] > 0
    assert all(w >= 1 and h > 0 for w, h in bars["bars"])
    widest = max(w for w, _ in bars["bars"])
    assert bars["bars"][0][0] == widest  # the biggest group first, drawn longest
    assert counts == {k: expected[k] for k in counts}
    assert money == [[m, c, v] for m, amounts in expected["money"].items() for c, v in amounts.items()]
    assert pairs == expected["changed"]


def test_decide_report_lists_what_could_not_be_decided(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SPEC 6: never a partial silent result. A scenario that could not be decided is in the report
    too, with its problem (escaped), not only on stderr."""
    bad = tmp_path / "bad<x>.yaml"
    bad.write_text(
        "id: bad\nas_of: 2015-06-15T10:00:00Z\nsubscription: {code: S, start: 2015-01-01, products: [{product: nope}]}\n"
    )
    report = tmp_path / "report.html"
    code = main(
        [
            "decide",
            "--rules",
            str(RULES),
            "--html",
            str(report),
            str(SAMPLES / "discounts" / "levels_stacked.yaml"),
            str(bad),
        ]
    )
    capsys.readouterr()
    page = report.read_text(encoding="utf-8")
    assert code == 1
    assert 'data-scenario="levels-stacked"' in page
    assert "Not decided: 1 problem" in page and "unknown product `nope`" in page
    assert "bad<x>.yaml" not in page and "bad&lt;x&gt;.yaml" in page
