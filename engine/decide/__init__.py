"""Decisions: answer a scenario's questions with a compiled RuleSet.

Modules: `scenarios` (read and check scenario input), `money` (rounding), `discounts` (SPEC 3.2),
`decision` (the deterministic JSON shape). They run compiled by mypyc when the install built them
(`engine/native.py`); `native.choose` decides that before the first of them is imported.
"""

from engine import native

native.choose()
