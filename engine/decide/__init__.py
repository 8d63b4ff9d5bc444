"""Decisions: answer a scenario's questions with a compiled RuleSet.

Modules: `scenarios` (read and check scenario input), `money` (rounding), `discounts` (SPEC 3.2),
`decision` (the deterministic JSON shape).
"""
