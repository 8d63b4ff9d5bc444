"""`billrules validate [PATH...]`: exit 0 clean, 1 findings, 2 usage error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.cli.main import EXIT_FINDINGS, EXIT_OK, UsageError
from engine.cli.reporters import REPORTERS


def run_validate(args: argparse.Namespace) -> int:
    from engine.validate import validate_paths

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    diagnostics = validate_paths(paths)
    if diagnostics or args.format in ("json", "sarif"):
        REPORTERS[args.format](diagnostics, sys.stdout)
    elif args.verbose:
        sys.stdout.write("no problems found\n")
    return EXIT_FINDINGS if diagnostics else EXIT_OK
