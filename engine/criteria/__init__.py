"""The criteria language: parse → typed AST → type check → compile to Python evaluators.

Modules, in pipeline order: `grammar.lark` (the grammar; `_parser.py` is the LALR(1) parser
generated from it by `python -m engine.criteria.generate_parser`), `ast`, `parse`, `types`,
`environment` (the types of scenario fields), `check`, `sections` (desugaring of the seed's
criteria sections), `compile`, `explain`.
"""
