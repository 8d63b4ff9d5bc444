"""The criteria language: parse (Lark) → typed AST → type check → compile to Python evaluators.

Modules, in pipeline order: `grammar.lark`, `ast`, `parse`, `types`, `environment` (the types of
scenario fields), `check`, `sections` (desugaring of the seed's criteria sections), `compile`,
`explain`.
"""
