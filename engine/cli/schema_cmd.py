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
    parser.add_argument("--kind", help="print the schema of one kind (default: the combined rule-file schema)")
    return parser


def run(args: argparse.Namespace) -> int:
    from engine.schemagen import COMBINED, all_schemas, render, write_schemas

    if args.write:
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
    sys.stdout.write(render(schemas[name]))
    return EXIT_OK
