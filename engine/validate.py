"""`validate`: find the rule sets behind the given paths and run the pipeline over each.

A file is checked in the context of its rule set (references cross files), so passing one file
validates the whole rule set that contains it and reports every finding of that rule set.
Folders are walked without following links to folders (a link loop cannot make the walk
endless); unreadable folders and links leading out of the folder are reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from engine.diagnostics import Diagnostic, sorted_diagnostics
from engine.files import is_dir, outside_link, walk
from engine.load import (
    RULESET_FILE_NAMES,
    YAML_SUFFIXES,
    display_path,
    find_ruleset_root,
    holds_ruleset,
    load_file,
    not_read,
    rule_files,
)
from engine.pipeline import compile_ruleset


def _real(path: Path) -> Path:
    """The path with links resolved; unlike `Path.resolve` (Python 3.11), never raises on a link loop."""
    return Path(os.path.realpath(path))


def _scan(directory: Path, diagnostics: list[Diagnostic]) -> tuple[set[Path], list[Path]]:
    """Rule-set roots at, under and above `directory`, and YAML files under it that none of them covers."""
    found = walk(directory, display_path)
    diagnostics.extend(found.diagnostics)
    roots = {_real(folder) for folder in (directory, *found.folders) if holds_ruleset(folder)}
    above = find_ruleset_root(directory)
    if above is not None:
        roots.add(_real(above))
    covered = {_real(f) for root in roots for f in rule_files(root)}
    orphans = [f for f in found.files if f.name.endswith(YAML_SUFFIXES) and _real(f) not in covered]
    # a link inside a rule set is judged by that rule set's own walk; the others lead out of the folder given
    diagnostics.extend(
        outside_link(link, display_path(link), "the folder being validated")
        for link in found.outside
        if not any(_real(link.parent).is_relative_to(root) for root in roots)
    )
    return roots, orphans


def _left_out(path: Path, root: Path, named: bool) -> str | None:
    """Why a file named inside a rule set is not one of its rule files, or None when it is. A file
    in a hidden folder is left out on purpose (drafts), so only when named on the command line
    (`named`), not when a pre-commit hook passes every YAML file of the repository."""
    if not path.name.endswith(YAML_SUFFIXES):
        if path.name.lower().endswith(YAML_SUFFIXES):
            return None  # reported by the walk of the rule set (`engine.load.discover`)
        return "rule files are YAML, ending in `.yaml` or `.yml`"
    try:
        parts = _real(path).relative_to(_real(root)).parts[:-1]
    except ValueError:  # (a link from elsewhere)
        return None
    hidden = next((part for part in parts if part.startswith(".")), None)
    if hidden is not None and named:
        return f"it is in the hidden folder `{hidden}`, which the rule set does not read"
    return None


def validate_paths(
    paths: Iterable[Path], *, outside: bool = True, keep: Callable[[Any], None] | None = None
) -> list[Diagnostic]:
    """Diagnostics for every rule set touched by `paths` (files, folders, or anything else that exists).

    A file named that lies in no rule set is BR110, unless `outside` is False: then it is left
    alone (a pre-commit hook passes every YAML file of a repository: scenarios, CI configs).
    `keep`, if given, is handed each compiled rule set (the command line keeps them until the
    process exits, rather than pay for freeing them: `engine.cli.exits.keep_until_exit`)."""
    roots: set[Path] = set()
    orphans: list[Path] = []
    diagnostics: list[Diagnostic] = []
    for path in paths:
        if is_dir(path):
            reported = len(diagnostics)
            found, loose = _scan(path, diagnostics)
            roots |= found
            orphans.extend(loose)
            if not found and not loose and len(diagnostics) == reported:  # nothing here: not "no problems"
                diagnostics.append(
                    Diagnostic(
                        display_path(path),
                        1,
                        1,
                        "BR110",
                        "no rule set here (no ruleset.yaml in this folder, under it or above it, and no YAML file)",
                        "point to the folder that holds ruleset.yaml",
                    )
                )
        else:
            root = find_ruleset_root(path)
            if root is None:
                if outside:
                    orphans.append(path)
            else:
                roots.add(_real(root))
                why = _left_out(path, root, outside)
                if why is not None:
                    hidden = "hidden folder" in why
                    hint = "move it into the rule set's folders to have it read" if hidden else None
                    diagnostics.append(not_read(path, why, hint))
    folders_named: set[Path] = set()
    for orphan in sorted(set(orphans)):
        named = _ruleset_folder_above(orphan)
        if named is not None:  # one finding for the folder, not one per file under it
            if named not in folders_named:
                folders_named.add(named)
                diagnostics.append(
                    Diagnostic(
                        display_path(named),
                        1,
                        1,
                        "BR110",
                        f"`{named.name}` is a folder: a rule set's root holds a file of that name "
                        "(kind: rule_set), so the files under it are in no rule set",
                        f"make `{named.name}` a file holding the rule set's `kind: rule_set` document",
                    )
                )
            continue
        if orphan.suffix in (".jsonl", ".ndjson"):  # scenarios, one a line: not a rule file at all
            diagnostics.append(
                Diagnostic(
                    display_path(orphan),
                    1,
                    1,
                    "BR110",
                    "a JSON Lines file holds scenarios, not rules",
                    f"check its scenarios with `billrules validate --scenarios {display_path(orphan)}`",
                )
            )
            continue
        source = load_file(orphan)
        diagnostics.extend(source.diagnostics)
        if any(d.code in ("BR100", "BR101") for d in source.diagnostics):
            continue  # not a file billrules could read: that is the finding, not where it lies
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
        compilation = compile_ruleset(root, keep)
        # a file named on the command line and not read is told once, as named (the folder walk
        # tells a `.json` or hidden rule document too, since 2026-12-03)
        told = {(d.file, d.code) for d in diagnostics if d.code == "BR119"}
        diagnostics.extend(d for d in compilation.diagnostics if (d.file, d.code) not in told)
        if keep is not None:
            keep(compilation)
    return sorted_diagnostics(diagnostics)


def _ruleset_folder_above(path: Path) -> Path | None:
    """A folder named `ruleset.yaml` (or `.yml`) beside `path` or above it: meant as the rule set's
    root file (until 2026-12-02 each file under it was told "no ruleset.yaml in this or any parent
    folder", beside the folder of that name)."""
    directory = Path(os.path.abspath(path if is_dir(path) else path.parent))
    for candidate in (directory, *directory.parents):
        for name in RULESET_FILE_NAMES:
            if is_dir(candidate / name):
                found = candidate / name
                return found if path.is_absolute() else Path(os.path.relpath(found))
    return None
