"""Regenerate `_parser.py`, the prebuilt criteria parser, from `grammar.lark`.

    python -m engine.criteria.generate_parser          # rewrite engine/criteria/_parser.py
    python -m engine.criteria.generate_parser --check  # exit 1 when _parser.py is out of date

The engine never builds a parser at run time: it ships the LALR parser that Lark's standalone
generator writes (parse tables as Python literals next to Lark's parsing runtime), so nothing is
built, cached or unpickled when `billrules` starts, and Lark is needed only here (the `test`
extra). `_parser.py` records the SHA-256 of the grammar it was generated from;
`tests/test_parser_generated.py` fails when the grammar changes without regenerating.

One edit is made to Lark's output: its trailing `import pickle, zlib, base64` is removed. Those
modules only serve Lark's compressed tables (not used: the tables are written as literals) and
`Lark.load`/the grammar cache (not reachable: the engine only calls `Lark_StandAlone()`), so
without them no code path of the generated module can unpickle anything.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
GRAMMAR = HERE / "grammar.lark"
TARGET = HERE / "_parser.py"
#: the options the criteria parser is built with (the standalone tool takes the same)
OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": True,
    "maybe_placeholders": True,
}
_UNSAFE_IMPORT = "import pickle, zlib, base64\n"
_DIGEST_LINE = re.compile(r"^# grammar sha256: ([0-9a-f]{64})$", re.MULTILINE)


def grammar_digest(grammar: Path = GRAMMAR) -> str:
    return hashlib.sha256(grammar.read_bytes()).hexdigest()


def embedded_digest(source: str) -> str | None:
    """The grammar digest recorded in a generated module's header."""
    match = _DIGEST_LINE.search(source)
    return match.group(1) if match else None


def generate(grammar: Path = GRAMMAR) -> str:
    """The source of the standalone parser module for `grammar`."""
    import lark
    from lark.tools.standalone import gen_standalone

    parser = lark.Lark(grammar.read_text(encoding="utf-8"), **OPTIONS)
    out = io.StringIO()
    gen_standalone(parser, out=out)  # type: ignore[no-untyped-call]
    body = out.getvalue()
    if body.count(_UNSAFE_IMPORT) != 1:  # pragma: no cover - a Lark release changed its output
        raise RuntimeError(f"Lark {lark.__version__}: expected one `{_UNSAFE_IMPORT.strip()}` line in its output")
    body = body.replace(_UNSAFE_IMPORT, "")
    options = ", ".join(f"{k}={v!r}" for k, v in OPTIONS.items())
    header = (
        "# GENERATED FILE - do not edit. Regenerate after changing grammar.lark:\n"
        "#     python -m engine.criteria.generate_parser\n"
        f"# Lark {lark.__version__} standalone LALR(1) parser ({options}).\n"
        "# Lark's runtime code below is under the Mozilla Public License 2.0 (see its notice).\n"
        f"# grammar sha256: {grammar_digest(grammar)}\n"
        "# ruff: noqa\n"
        "# mypy: ignore-errors\n"
        "# fmt: off\n"
    )
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check that _parser.py matches grammar.lark")
    args = parser.parse_args(argv)
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if embedded_digest(current) != grammar_digest():
            sys.stderr.write(f"{TARGET} is out of date: run `python -m engine.criteria.generate_parser`\n")
            return 1
        return 0
    TARGET.write_text(generate(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
