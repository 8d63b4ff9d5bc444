"""`billrules schema`: print the combined rule-file schema, one kind's schema, or write them all."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.exits import EXIT_OK, UsageError
from engine.cli.safe_text import printable


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser("schema", help="print or write the JSON Schemas")
    parser.add_argument("--write", metavar="DIR", help="write every schema file into DIR")
    parser.add_argument(
        "--kind", help="print one kind's fields as a table (default: the combined rule-file schema, as JSON)"
    )
    parser.add_argument("--json", action="store_true", help="with --kind: print the kind's raw JSON Schema")
    return parser


def run(args: argparse.Namespace) -> int:
    from engine.schemagen import COMBINED, all_schemas, render, write_schemas

    for option, value in (("--write", args.write), ("--kind", args.kind)):
        if value is not None and not value.strip():  # (an unset shell variable: the combined schema was printed)
            raise UsageError(f"{option} needs a value; it was given an empty one")
    if args.write:
        for option, given in (("--kind", args.kind is not None), ("--json", args.json)):
            if given:  # (ignored in silence until 2026-12-03)
                raise UsageError(
                    f"--write writes every schema file; {option} chooses what to print: give one or the other"
                )
        try:
            written = write_schemas(Path(args.write))
        except OSError as exc:
            raise UsageError(f"cannot write the schemas into {printable(args.write)}: {exc.strerror or exc}") from None
        for path in written:
            sys.stdout.write(f"wrote {printable(str(path))}\n")
        return EXIT_OK
    schemas = all_schemas()
    name = f"{args.kind}.schema.json" if args.kind else COMBINED
    if name not in schemas:
        kinds = sorted(n.removesuffix(".schema.json") for n in schemas if n != COMBINED)
        raise UsageError(f"unknown kind `{args.kind}`; choose one of: {', '.join(kinds)}")
    if args.kind and not args.json:
        from engine.schema_fields import render_table

        sys.stdout.write(render_table(args.kind, schemas[name]))  # our own schema: nothing to escape
        return EXIT_OK
    sys.stdout.write(render(schemas[name]))
    return EXIT_OK
