"""`validate`: find the rule sets behind the given paths and run the pipeline over each.

A file is checked in the context of its rule set (references cross files), so passing one file
validates the whole rule set that contains it and reports every finding of that rule set.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from engine.diagnostics import Diagnostic, sorted_diagnostics
from engine.load import RULESET_FILE_NAMES, YAML_SUFFIXES, display_path, find_ruleset_root, load_file, rule_files
from engine.pipeline import compile_ruleset


def _roots_under(directory: Path) -> set[Path]:
    roots = {
        p.parent.resolve() for name in RULESET_FILE_NAMES for p in directory.rglob(name) if not _hidden(p, directory)
    }
    above = find_ruleset_root(directory)
    if above is not None:
        roots.add(above.resolve())
    return roots


def _hidden(path: Path, base: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(base).parts[:-1])


def validate_paths(paths: Iterable[Path]) -> list[Diagnostic]:
    """Diagnostics for every rule set touched by `paths` (files or directories that exist)."""
    roots: set[Path] = set()
    orphans: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = _roots_under(path)
            roots |= found
            covered = {f.resolve() for root in found for f in rule_files(root)}
            orphans.extend(
                f
                for f in sorted(path.rglob("*"))
                if f.suffix in YAML_SUFFIXES and f.is_file() and not _hidden(f, path) and f.resolve() not in covered
            )
        else:
            root = find_ruleset_root(path)
            if root is None:
                orphans.append(path)
            else:
                roots.add(root.resolve())
    diagnostics: list[Diagnostic] = []
    for orphan in sorted(set(orphans)):
        source = load_file(orphan)
        diagnostics.extend(source.diagnostics)
        diagnostics.append(
            Diagnostic(
                display_path(orphan),
                1,
                1,
                "BR110",
                "file is not part of a rule set (no ruleset.yaml in this or any parent folder)",
                "add a ruleset.yaml (kind: rule_set) at the root of the rule files",
            )
        )
    for root in sorted(roots):
        diagnostics.extend(compile_ruleset(root).diagnostics)
    return sorted_diagnostics(diagnostics)
