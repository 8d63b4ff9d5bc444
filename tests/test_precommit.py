"""The `.pre-commit-hooks.yaml` manifest works with the real pre-commit tool.

`pre-commit try-repo` installs this repository the way a rules repository's hook would, then
runs the hook on a temporary git repository of rule files: once clean (passes), once broken
(fails and shows the diagnostic).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RULESET = 'kind: rule_set\ncode: demo\nname: Demo\nversion: "1"\ndefault_currency: EUR\n'
PRODUCT = "kind: product\ncode: TV\nname: Main TV\ntype: termed\nprice: 20.00 EUR\nbilling_frequency: monthly\n"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("pre-commit") is None:
        pytest.fail("pre-commit is a test dependency: pip install -e '.[test]'")
    return tmp_path_factory.mktemp("pre-commit-home")


def _try_repo(rules_repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # (the hook's install leaves the decision modules Python: it runs `validate`, and compiling them,
    # a minute or two per install, is tested once, in tests/test_native.py's wheel)
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "BILLRULES_PURE": "1"}
    return subprocess.run(
        ["pre-commit", "try-repo", str(REPO), "billrules-validate", "--all-files", "--color", "never"],
        cwd=rules_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hook_passes_clean_rules_and_fails_broken_ones(tmp_path: Path, pre_commit_home: Path) -> None:
    rules = tmp_path / "rules-repo"
    (rules / "catalog").mkdir(parents=True)
    (rules / "ruleset.yaml").write_text(RULESET)
    (rules / "catalog" / "products.yaml").write_text(PRODUCT)
    _git(rules, "init", "-q")
    _git(rules, "add", ".")

    clean = _try_repo(rules, pre_commit_home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout

    (rules / "catalog" / "products.yaml").write_text(PRODUCT.replace("type: termed", "type: termd"))
    _git(rules, "add", ".")
    broken = _try_repo(rules, pre_commit_home)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Failed" in broken.stdout
    assert "catalog/products.yaml:4:7: error[BR204] `termd` is not a valid `type`" in broken.stdout
    assert "did you mean `termed`?" in broken.stdout


def test_hook_leaves_alone_the_yaml_files_that_are_not_rule_files(tmp_path: Path, pre_commit_home: Path) -> None:
    """A repository laid out like this project: the rule set in rules/, scenarios in samples/, a CI
    config at the root. pre-commit passes every YAML file; only the rule set's are rule files."""
    repo = tmp_path / "project"
    (repo / "rules" / "catalog").mkdir(parents=True)
    (repo / "rules" / "ruleset.yaml").write_text(RULESET)
    (repo / "rules" / "catalog" / "products.yaml").write_text(PRODUCT)
    (repo / "samples").mkdir()
    (repo / "samples" / "s.yaml").write_text("id: s\nas_of: 2015-01-01T00:00:00Z\n")
    (repo / ".pre-commit-config.yaml").write_text("repos: []\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    clean = _try_repo(repo, pre_commit_home)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (repo / "rules" / "catalog" / "products.yaml").write_text(PRODUCT.replace("type: termed", "type: termd"))
    _git(repo, "add", ".")
    broken = _try_repo(repo, pre_commit_home)
    assert broken.returncode == 1 and "rules/catalog/products.yaml:4:7: error[BR204]" in broken.stdout
    assert "BR110" not in broken.stdout


def test_hook_catches_a_commit_that_only_deletes_a_rule_file(tmp_path: Path, pre_commit_home: Path) -> None:
    # the bundle names product TV; deleting products.yaml passes no YAML file to the hook, which
    # then validates the rule set in rules/ and finds the broken reference
    repo = tmp_path / "repo"
    rules = repo / "rules"
    (rules / "catalog").mkdir(parents=True)
    (rules / "ruleset.yaml").write_text(RULESET)
    (rules / "catalog" / "products.yaml").write_text(PRODUCT)
    (rules / "catalog" / "bundles.yaml").write_text(
        "kind: bundle\ncode: B\nname: B\nvalidity: {from: 2015-01-01}\nproducts:\n  - product: TV\n"
    )
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    assert _try_repo(repo, pre_commit_home).returncode == 0
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "rules")
    _git(repo, "rm", "-q", "rules/catalog/products.yaml")
    env = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home), "NO_COLOR": "1", "BILLRULES_PURE": "1"}
    deleted = subprocess.run(
        ["pre-commit", "try-repo", str(REPO), "billrules-validate", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert deleted.returncode == 1, deleted.stdout + deleted.stderr
    assert "unknown product `TV`" in deleted.stdout
