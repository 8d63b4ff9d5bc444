"""billrules: a billing rules engine configured from declarative YAML rule files.

Public API::

    from engine import load_rules
    rules = load_rules("rules/")          # RuleSetError with every diagnostic if the rules are bad

The names below are imported lazily so that `billrules validate` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.diagnostics import Diagnostic, Severity
    from engine.ruleset import RuleSet, RuleSetError, load_rules
    from engine.validate import validate_paths

__all__ = ["Diagnostic", "RuleSet", "RuleSetError", "Severity", "load_rules", "validate_paths"]

_HOMES = {
    "Diagnostic": "engine.diagnostics",
    "Severity": "engine.diagnostics",
    "RuleSet": "engine.ruleset",
    "RuleSetError": "engine.ruleset",
    "load_rules": "engine.ruleset",
    "validate_paths": "engine.validate",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
