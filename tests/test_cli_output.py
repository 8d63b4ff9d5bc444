"""The command line's output boundary: no input forges a report line, printing is bounded,
and the command modules depend on `exits`, not on `main` (no import cycle)."""

from __future__ import annotations

import ast
import io
import json
import os
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from urllib.parse import unquote

import pytest

from engine.cli.main import main
from engine.cli.safe_text import json_safe, printable

REPO = Path(__file__).resolve().parent.parent
FORGED = "x\nerror[BR000] forged.yaml:1:1: error[BR000] all is fine\x1b[2J\x85\u2028"  # no NUL: no file name holds one
DUPLICATE_PRODUCT = "kind: product\ncode: TV\nname: TV\ntype: expense\n"


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_printable_escapes_every_control_character() -> None:
    assert printable("a\nb\r\tc\x00\x1b[31m\x7f\x85\u2028é€") == "a\\nb\\r\\tc\\x00\\x1b[31m\\x7f\\x85\\u2028é€"
    assert printable("plain text: 20.00 EUR") == "plain text: 20.00 EUR"
    assert printable(b"caf\xff.yaml".decode("utf-8", "surrogateescape")) == "caf\\xff.yaml"
    assert json_safe(json.dumps("\x9b\u2029\udcff", ensure_ascii=False)) == '"\\u009b\\u2029\\udcff"'


def _only_expected_lines(output: str, fmt: str) -> None:
    """Every line of the report has the shape of its format: nothing injected."""
    for line in output.splitlines():
        assert "\x1b" not in line and "\x00" not in line and "\x85" not in line and "\u2028" not in line
        if fmt == "github":
            assert line.startswith("::error file=")
        if fmt == "text":
            assert not line.startswith("error[BR000]")


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_a_file_name_with_newline_and_control_characters_cannot_forge_a_line(
    fmt: str, ruleset: Callable[..., Path]
) -> None:
    ruleset({"a.yaml": DUPLICATE_PRODUCT, f"{FORGED}.yaml": DUPLICATE_PRODUCT})
    code, out, err = run_cli(["validate", "--format", fmt, "."])
    assert code == 1 and err == ""
    _only_expected_lines(out, fmt)
    if fmt in ("json", "sarif"):
        report = json.loads(out)  # still one valid document; the name survives exactly inside it
        files = (
            [d["file"] for d in report["diagnostics"]]
            if fmt == "json"
            else [
                unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], errors="surrogateescape")
                for r in report["runs"][0]["results"]
            ]
        )
        assert FORGED + ".yaml" in files
    if fmt == "text":
        assert (
            "x\\nerror[BR000] forged.yaml:1:1: error[BR000] all is fine\\x1b[2J\\x85\\u2028.yaml:2:7: error[BR301]"
            in out
        )
        assert out.count("\n") == len(out.splitlines())


def test_a_file_name_that_is_not_utf8_is_reported_not_a_crash(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"a.yaml": DUPLICATE_PRODUCT})
    Path(os.fsdecode(bytes(root) + b"/caf\xff.yaml")).write_text(DUPLICATE_PRODUCT, encoding="utf-8")
    for fmt in ("text", "json", "github", "sarif"):
        code, out, err = run_cli(["validate", "--format", fmt, "."])
        assert code == 1 and err == ""
        assert "caf\\xff.yaml" in out or "caf\\udcff.yaml" in out


def test_a_message_quoting_input_is_escaped_in_text(ruleset: Callable[..., Path]) -> None:
    ruleset({"bad.yaml": 'kind: product\ncode: TV\nname: TV\ntype: expense\n"pri\\nerror[BR000] ce": 1\n'})
    code, out, _ = run_cli(["validate", "."])
    assert code == 1
    assert "unknown property `pri\\nerror[BR000] ce` in product" in out
    assert not any(line.startswith("error[BR000]") for line in out.splitlines())


def test_usage_errors_escape_the_path() -> None:
    code, out, err = run_cli(["validate", "nope\nerror[BR999] forged"])
    assert code == 2 and out == ""
    assert err == "billrules: error: no such file or directory: nope\\nerror[BR999] forged\n"


def test_decide_escapes_scenario_text(tmp_path: Path) -> None:
    scenario = (REPO / "samples/discounts/complaint_cap.yaml").read_text(encoding="utf-8")
    first_id = next(line for line in scenario.splitlines() if line.startswith("id:"))
    forged = scenario.replace(first_id, 'id: "s1\\nscenario forged\\u001b[2J"', 1)
    path = tmp_path / "forged.yaml"
    path.write_text(forged, encoding="utf-8")
    code, out, err = run_cli(["decide", "--rules", str(REPO / "rules"), str(path)])
    assert code == 0, err
    assert out.startswith("scenario s1\\nscenario forged\\x1b[2J ")
    code, out, err = run_cli(["decide", "--json", "--rules", str(REPO / "rules"), str(path)])
    assert json.loads(out)["scenario"] == "s1\nscenario forged\x1b[2J" and "\x1b" not in out


MANY_ERRORS = "".join(f"kind: product\ncode: P{i}\nname: P\ntype: expense\nbad{i}: 1\n---\n" for i in range(30))


@pytest.mark.parametrize(
    ("limit", "shown"),
    [(["--max-diagnostics", "5"], 5), ([], 30), (["--max-diagnostics", "0"], 30)],
)
def test_max_diagnostics_bounds_text_and_counts_the_rest(
    limit: list[str], shown: int, ruleset: Callable[..., Path]
) -> None:
    ruleset({"many.yaml": MANY_ERRORS})
    code, out, _ = run_cli(["validate", *limit, "."])
    assert code == 1
    assert out.count("error[BR201]") == shown
    assert out.endswith("30 problems in 1 file\n")
    if shown < 30:
        assert f"… {30 - shown} more problems not shown (the limit is {shown}; see --max-diagnostics)\n" in out
    else:
        assert "not shown" not in out


def test_max_diagnostics_default_is_1000(ruleset: Callable[..., Path]) -> None:
    ruleset(
        {"many.yaml": "".join(f"kind: product\ncode: P{i}\nname: P\ntype: expense\nbad: 1\n---\n" for i in range(1200))}
    )
    code, out, _ = run_cli(["validate", "--format", "github", "."])
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 1001
    assert (
        lines[-1]
        == "::warning title=billrules::200 more problems not shown (the limit is 1,000; see --max-diagnostics)"
    )


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_max_diagnostics_in_documents(fmt: str, ruleset: Callable[..., Path]) -> None:
    ruleset({"many.yaml": MANY_ERRORS})
    code, out, _ = run_cli(["validate", "--format", fmt, "--max-diagnostics", "4", "."])
    report = json.loads(out)
    assert code == 1
    if fmt == "json":
        assert (len(report["diagnostics"]), report["count"], report["omitted"]) == (4, 30, 26)
    else:
        run = report["runs"][0]
        assert len(run["results"]) == 4 and run["properties"] == {"total": 30, "omitted": 26}


def test_max_diagnostics_must_be_a_whole_number() -> None:
    code, _, err = run_cli(["validate", "--max-diagnostics", "-1", "."])
    assert code == 2 and "--max-diagnostics: expected a whole number ≥ 0, got '-1'" in err


def test_decide_stream_of_bad_scenarios_is_one_bounded_report(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "".join(f"id: s{i}\nas_of: 2026-01-01T00:00:00Z\nbogus: {i}\n---\n" for i in range(50)), encoding="utf-8"
    )
    code, out, err = run_cli(["decide", "--max-diagnostics", "3", "--rules", str(REPO / "rules"), str(path)])
    assert code == 1 and out == ""
    assert err.count("error[BR602]") == 3
    assert err.endswith("… 47 more problems not shown (the limit is 3; see --max-diagnostics)\n50 problems in 1 file\n")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_command_modules_do_not_import_main() -> None:
    cli = REPO / "engine" / "cli"
    graph = {
        f"engine.cli.{p.stem}": _imports(p) & {f"engine.cli.{q.stem}" for q in cli.glob("*.py")}
        for p in cli.glob("*.py")
    }
    assert "engine.cli.main" not in set().union(*(deps for name, deps in graph.items() if name != "engine.cli.main"))

    def reaches(start: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            dep == target or (dep not in seen and reaches(dep, target, seen | {dep})) for dep in graph.get(start, ())
        )

    assert not [name for name in graph if reaches(name, name)], "import cycle in engine/cli"


def test_a_library_warning_becomes_one_escaped_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    import engine.validate

    def warn(paths: object, **options: object) -> list[object]:
        warnings.warn("odd\nerror[BR000] forged", UserWarning, stacklevel=1)
        return []

    monkeypatch.setattr(engine.validate, "validate_paths", warn)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code, out, err = run_cli(["validate", str(REPO / "rules")])
    assert (code, out) == (0, "")
    assert err == "billrules: warning: odd\\nerror[BR000] forged (UserWarning)\n"


@pytest.mark.parametrize(
    "args",
    [
        ["decide", "--rules", "rules", "--json", "samples/discounts/complaint_offered.yaml"],
        ["validate", "--verbose", "rules"],
        ["test", "--rules", "rules", "samples/discounts"],
        ["run", "--rules", "rules", "--input", "samples/run/nightly.jsonl", "--output", "-", "--workers", "1"],
    ],
)
def test_a_reader_that_closed_stdout_ends_the_command_quietly(args: list[str]) -> None:
    """`billrules … | head` whose reader is gone: exit 141 as SIGPIPE would, no 'internal error'."""
    import shutil
    import subprocess

    script = shutil.which("billrules")
    assert script is not None
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: every write fails
    try:
        done = subprocess.run([script, *args], stdout=write_end, stderr=subprocess.PIPE, cwd=REPO, timeout=60)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, b"")
