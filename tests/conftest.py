"""Shared fixtures: temporary rule sets written from YAML text."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

RULESET = """\
kind: rule_set
code: test
name: Test rules
version: "1"
default_currency: EUR
"""


@pytest.fixture
def ruleset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Write `{name: yaml}` files into a fresh rule set and chdir there (paths print relative)."""
    monkeypatch.chdir(tmp_path)

    def make(files: dict[str, str | bytes], *, with_root: bool = True) -> Path:
        if with_root:
            (tmp_path / "ruleset.yaml").write_text(RULESET, encoding="utf-8")
        for name, content in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content), encoding="utf-8")
        return tmp_path

    return make
