"""Entry point: parse arguments, dispatch to a command, and keep tracebacks from analysts.

Exit codes: 0 clean, 1 findings, 2 usage error (or an internal error, reported as such).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.cli.reporters import REPORTERS

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line mistake: reported as `error: …` with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="billrules", description="Billing rules engine: validate rule files and decide billing scenarios."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    validate = commands.add_parser("validate", help="check rule files (schema, references, semantics)")
    validate.add_argument(
        "paths", nargs="*", default=["."], metavar="PATH", help="rule-set directories or files (default: .)"
    )
    validate.add_argument("--format", choices=sorted(REPORTERS), default="text", help="output format (default: text)")
    validate.add_argument("--verbose", "-v", action="store_true", help="say so when everything is clean")
    decide = commands.add_parser("decide", help="decide one scenario file with a rule set")
    decide.add_argument("--rules", required=True, metavar="DIR", help="the rule set (its root folder)")
    decide.add_argument("scenario", metavar="SCENARIO", help="a scenario file (YAML or JSON)")
    decide.add_argument("--json", action="store_true", help="machine-readable output, one JSON object per scenario")
    decide.add_argument("--explain", action="store_true", help="add the criterion-level trace")
    test = commands.add_parser("test", help="run expectation files (a scenario plus the decision parts it expects)")
    test.add_argument(
        "paths", nargs="*", default=["samples"], metavar="PATH", help="expectation files or folders (default: samples)"
    )
    test.add_argument("--rules", default="rules", metavar="DIR", help="the rule set (default: rules)")
    schema = commands.add_parser("schema", help="print or write the JSON Schemas")
    schema.add_argument("--write", metavar="DIR", help="write every schema file into DIR")
    schema.add_argument("--kind", help="print the schema of one kind (default: the combined rule-file schema)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("a command is required (validate, decide, test, schema); see `billrules --help`")
        if args.command == "validate":
            from engine.cli.validate_cmd import run_validate

            return run_validate(args)
        if args.command == "test":
            from engine.cli.test_cmd import run_test

            return run_test(args)
        if args.command == "decide":
            from engine.cli.decide_cmd import run_decide

            return run_decide(args)
        from engine.cli.schema_cmd import run_schema

        return run_schema(args)
    except UsageError as exc:
        sys.stderr.write(f"billrules: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("billrules: interrupted\n")
        return 130
    except Exception as exc:  # the one boundary: never show an analyst a traceback
        sys.stderr.write(
            f"billrules: internal error: {type(exc).__name__}: {exc}\n  hint: this is a bug in billrules; please report it with the input that caused it\n"
        )
        return EXIT_USAGE


def entry_point() -> None:
    sys.exit(main())
