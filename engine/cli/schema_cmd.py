"""`billrules schema`: print the combined rule-file schema, one kind's schema, or write them all."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.main import EXIT_OK, UsageError


def run_schema(args: argparse.Namespace) -> int:
    from engine.schemagen import COMBINED, all_schemas, render, write_schemas

    if args.write:
        for path in write_schemas(Path(args.write)):
            sys.stdout.write(f"wrote {path}\n")
        return EXIT_OK
    schemas = all_schemas()
    name = f"{args.kind}.schema.json" if args.kind else COMBINED
    if name not in schemas:
        kinds = sorted(n.removesuffix(".schema.json") for n in schemas if n != COMBINED)
        raise UsageError(f"unknown kind `{args.kind}`; choose one of: {', '.join(kinds)}")
    sys.stdout.write(render(schemas[name]))
    return EXIT_OK
