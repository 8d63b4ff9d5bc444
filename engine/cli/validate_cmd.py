"""`billrules validate [PATH...]`: exit 0 clean, 1 findings, 2 usage error."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.exits import EXIT_FINDINGS, EXIT_OK, UsageError, keep_until_exit
from engine.cli.reporters import REPORTERS, add_report_options
from engine.cli.safe_text import printable
from engine.diagnostics import Diagnostic
from engine.files import is_dir, may_exist


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "validate", help="check rule files (schema, references, semantics)"
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="rule-set directories or files (default: the rule set in rules/, else the nearest ruleset.yaml)",
    )
    add_report_options(parser, formats=True)
    parser.add_argument("--verbose", "-v", action="store_true", help="say so when everything is clean")
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1), not only errors")
    parser.add_argument(
        "--ignore-outside",
        action="store_true",
        help="leave alone a file named that is in no rule set (instead of BR110): for a pre-commit hook, "
        "which passes every YAML file of the repository (but a rule document, `kind:`, is BR110 where no rule set is found)",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        action="extend",  # (given twice: both lists; until 2026-12-03 the last one alone)
        metavar="PATH",
        help="also check scenario files (YAML, JSON, JSON Lines) against the rule set, without deciding them",
    )
    parser.add_argument(
        "--rules",
        metavar="DIR",
        help="the rule set: validated when no PATH is given, and the one --scenarios are checked against "
        "(default: rules/, else the nearest ruleset.yaml)",
    )
    return parser


def default_rules() -> Path | None:
    """What `validate` checks when given nothing: the rule set in `rules/` (the project layout),
    else the nearest `ruleset.yaml` at or above the current folder, else None (a usage error: a
    CI job started in the wrong folder must not pass green)."""
    from engine.load import find_ruleset_root, holds_ruleset

    if holds_ruleset(Path("rules")):
        return Path("rules")
    return find_ruleset_root(Path.cwd())


def _orphaned_rules() -> Diagnostic | None:
    """A `rules/` folder holding YAML files but no `ruleset.yaml` (BR110), for a hook: without it
    every rule file is "outside" a rule set and `--ignore-outside` left them all alone, so a
    commit deleting `rules/ruleset.yaml` — or a repository that never had one — passed every
    check in silence (until 2026-12-02)."""
    from engine.files import walk
    from engine.load import display_path, holds_ruleset

    folder = Path("rules")
    if not is_dir(folder) or holds_ruleset(folder):
        return None
    # (a rule set inside it holds its own files: only those in none count)
    found = [f for f in walk(folder, display_path, prune=holds_ruleset).files if f.suffix.lower() in (".yaml", ".yml")]
    if not found:
        return None
    files = "1 YAML file" if len(found) == 1 else f"{len(found):,} YAML files"  # (until 2026-12-04 "file(s)")
    return Diagnostic(
        display_path(folder),
        1,
        1,
        "BR110",
        f"folder `rules/` holds {files} but no ruleset.yaml: they are in no rule set, and nothing in them was checked",
        "restore `rules/ruleset.yaml` (kind: rule_set), or name the rule set in the hook's `args:`",
    )


def deleted_rule_sets() -> list[Path]:
    """The `ruleset.yaml` files under the current folder that git tracks at `HEAD` and the work
    tree no longer has (a commit deleting one: pre-commit gives the hook no deleted file, and
    `git ls-files` lists it no more). Empty outside a git work tree, before the first commit, or
    without git."""
    import subprocess

    from engine.load import RULESET_FILE_NAMES

    patterns = [f"*{name}" for name in RULESET_FILE_NAMES]
    try:
        listed = subprocess.run(
            [
                "git",
                "diff",
                "--relative",
                "--no-renames",
                "--diff-filter=D",
                "--name-only",
                "-z",
                "HEAD",
                "--",
                *patterns,
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if listed.returncode != 0:
        return []
    files = [Path(name) for name in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if name]
    return sorted(f for f in files if f.name in RULESET_FILE_NAMES)


def _rule_documents(folder: Path) -> list[Path]:
    """The YAML files under `folder` holding a rule document (a top-level `kind:` of a rule kind),
    a rule set inside it excepted (it holds its own)."""
    from engine.files import walk
    from engine.load import YAML_SUFFIXES, _holds_rule_document, display_path, holds_ruleset

    found = walk(folder, display_path, prune=holds_ruleset).files
    return [f for f in found if f.name.endswith(YAML_SUFFIXES) and _holds_rule_document(f)]


def _left_without_rule_set(files: list[Path], reported: list[Path]) -> list[Diagnostic]:
    """BR110 for rule documents a hook's commit leaves in no rule set, wherever they are (until
    2026-12-03 only `rules/` was looked at, and a commit deleting `config/rules/ruleset.yaml`,
    with a broken rule file or not, passed): a folder whose `ruleset.yaml` is tracked at `HEAD`
    and deleted, that still holds rule documents. Folders in `reported` (`rules/`, told already)
    are left out. A loose rule document elsewhere (an example in `docs/`) is left alone, as README
    says of a YAML file in no rule set (a review of 2026-12-03: a per-file BR110 failed such
    commits, and every file outside git)."""
    from engine.load import display_path, find_ruleset_root

    found: list[Diagnostic] = []
    told = list(reported)
    for deleted in deleted_rule_sets():
        folder = deleted.parent
        if folder in told or not is_dir(folder) or find_ruleset_root(folder) is not None:
            continue  # (gone with it, restored, renamed to `.yml`, or inside another rule set)
        documents = _rule_documents(folder)
        if not documents:  # (the whole rule set deleted, or moved)
            continue
        told.append(folder)
        held = (
            "1 rule document" if len(documents) == 1 else f"{len(documents):,} rule documents"
        )  # (until 2026-12-04 "document(s)")
        found.append(
            Diagnostic(
                display_path(folder),
                1,
                1,
                "BR110",
                f"`{display_path(deleted)}` is deleted (git tracks it at HEAD), and folder `{display_path(folder)}` "
                f"still holds {held}: they are in no rule set, and nothing in them "
                "was checked",
                f"restore `{display_path(deleted)}` (kind: rule_set), delete the rule files too, or name the rule "
                "set in the hook's `args:`",
            )
        )
    return found


def repository_rule_sets() -> list[Path]:
    """The rule sets git tracks under the current folder (their `ruleset.yaml`), for a pre-commit
    hook run in a repository without `rules/`: a commit that only deletes a rule file of
    `config/rules/` passed without a word. Empty outside a git work tree or without git."""
    import subprocess

    from engine.load import RULESET_FILE_NAMES, holds_ruleset

    patterns = [f"*{name}" for name in RULESET_FILE_NAMES]
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", *patterns], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if listed.returncode != 0:
        return []
    files = [Path(name) for name in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if name]
    return sorted({f.parent for f in files if f.name in RULESET_FILE_NAMES and holds_ruleset(f.parent)})


def run(args: argparse.Namespace) -> int:
    from engine.validate import validate_paths

    rules = Path(args.rules) if args.rules is not None else default_rules()
    # a hook in a repository whose rule sets are elsewhere than `rules/`: the rule sets git tracks,
    # rather than nothing at all (a deletion, a CI file), and beside the files of one rule set the
    # commit touches (until 2026-12-02 a deletion in another went unseen) — unless the hook's args
    # name the rule set (a folder)
    named = any(is_dir(Path(p)) for p in args.paths)
    tracked = repository_rule_sets() if args.ignore_outside and rules is None and not named else []
    # (a folder named in the args is the rule set: `rules/` is then no rule set's to miss)
    orphaned = _orphaned_rules() if args.ignore_outside and rules is None and args.rules is None and not named else None
    # rule documents the commit leaves in no rule set, wherever they are: a `ruleset.yaml` it
    # deletes (tracked at HEAD), and the files it gives in no rule set (the files given are
    # looked at only when no rule set is found here: beside `rules/`, loose examples may be kept)
    left = (
        _left_without_rule_set(
            [Path(p) for p in args.paths] if rules is None else [],
            [Path("rules")] if orphaned is not None else [],
        )
        if args.ignore_outside and args.rules is None and not named
        else []
    )
    if rules is None and not args.paths and not args.scenarios and not tracked and orphaned is None and not left:
        if args.ignore_outside:  # a hook's commit in a repository without a rule set
            return EXIT_OK
        raise UsageError(
            "no rule set found: no `rules/` folder here and no ruleset.yaml in this or any parent folder "
            "(name the rule files or folder to validate, or use --rules DIR)"
        )
    paths = [Path(p) for p in args.paths] or ([rules] if rules is not None else [])
    if args.ignore_outside and args.paths and rules is not None:
        # a hook's commit: its files, and the rule set too (the same one most of the time, validated
        # once): a commit that deletes a rule file and stages a CI config must not pass
        paths.append(rules)
    paths += [root for root in tracked if root not in paths]
    missing = [printable(str(p)) for p in paths if not may_exist(p)]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    diagnostics = validate_paths(paths, outside=not args.ignore_outside, keep=keep_until_exit)
    # (the rule documents in no rule set first: nothing in them was checked)
    diagnostics = [*([orphaned] if orphaned is not None else []), *left, *diagnostics]
    if args.scenarios:
        from engine.cli.exits import unreadable_input
        from engine.cli.scenario_checks import check_scenario_paths

        # no rule set found anywhere: name the one the scenarios would use (`rules/`) in the error
        used = rules if rules is not None else Path("rules")
        # a rule set with errors is reported by both (the scenarios cannot be checked against it): once
        reported = {_identity(d) for d in diagnostics}
        # (`rules/` without its ruleset.yaml, said already: not twice)
        said = (orphaned.file, orphaned.code) if orphaned is not None else None
        try:
            checked = check_scenario_paths(str(used), args.scenarios)
        except OSError as exc:  # (an input whose read failed: named as the input's)
            raise unreadable_input(exc, args.scenarios) from exc
        diagnostics += [d for d in checked if _identity(d) not in reported and (d.file, d.code) != said]
    if diagnostics or args.format in ("json", "sarif"):
        reporter = REPORTERS[args.format](sys.stdout, args.max_diagnostics)
        reporter.add(diagnostics)
        reporter.close()
    elif args.verbose:
        sys.stdout.write("no problems found\n")
    failing = [d for d in diagnostics if args.strict or d.severity.value == "error"]
    return EXIT_FINDINGS if failing else EXIT_OK


def _identity(d: Diagnostic) -> tuple[Any, ...]:
    """What makes two diagnostics the same finding (the rule set's, found twice)."""
    return (d.file, d.line, d.column, d.code, d.message)
