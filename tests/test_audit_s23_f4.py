"""Audit s23 (a2), fixer f4: the pre-commit hook and a rule set deleted outside `rules/` (F7), a
refused purchase's price change in `diff` (F1), a Parquet file given where scenario files are read
(F2)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.diff import changes

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "rules"


def _billrules(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=cwd, check=False)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=a@b", "-c", "user.name=n", *args], cwd=cwd, check=True, capture_output=True
    )


# --- F7: a commit deleting a rule set's ruleset.yaml outside `rules/` --------------------------------


def _repository(tmp_path: Path) -> Path:
    """A repository with its rule set in config/rules (no `rules/`), committed clean."""
    shutil.copytree(RULES, tmp_path / "config" / "rules")
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "config.yaml").write_text("name: z\n", encoding="utf-8")
    _git("init", "-q", cwd=tmp_path)
    _git("add", "-A", cwd=tmp_path)
    _git("commit", "-qm", "rules", cwd=tmp_path)
    assert _billrules("validate", "--ignore-outside", cwd=tmp_path).returncode == 0
    return tmp_path


def _break_loyalty(repo: Path) -> str:
    path = repo / "config" / "rules" / "discounts" / "loyalty.yaml"
    text = path.read_text(encoding="utf-8")
    assert "  - product: fibre-100\n" in text
    path.write_text(text.replace("  - product: fibre-100\n", "  - product: fibre-10O\n", 1), encoding="utf-8")
    _git("add", "config/rules/discounts/loyalty.yaml", cwd=repo)
    return "config/rules/discounts/loyalty.yaml"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_commit_deleting_a_ruleset_yaml_outside_rules_fails_the_hook(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    _git("rm", "-q", "config/rules/ruleset.yaml", cwd=repo)
    # the deletion alone (pre-commit gives no file), and with a broken rule file: both passed, exit 0
    for given in ((), (_break_loyalty(repo),)):
        done = _billrules("validate", "--ignore-outside", *given, cwd=repo)
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stdout.startswith("config/rules:1:1: error[BR110] `config/rules/ruleset.yaml` is deleted")
        documents = len([f for f in (repo / "config/rules").rglob("*.yaml") if f.name != "ruleset.yaml"])
        assert f"still holds {documents:,} rule document{'' if documents == 1 else 's'}" in done.stdout
        assert done.stdout.count("BR110") == 1  # one finding for the folder, not one a file
    # a hook whose args name the rule set is left as documented: that rule set is validated
    (repo / "other").mkdir()
    shutil.copytree(RULES, repo / "other" / "rules")
    assert _billrules("validate", "--ignore-outside", "other/rules", cwd=repo).returncode == 0


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_rule_set_deleted_or_moved_whole_passes(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    _git("mv", "config/rules", "rules2", cwd=repo)  # moved: the tracked rule set is validated
    assert _billrules("validate", "--ignore-outside", cwd=repo).returncode == 0
    _git("rm", "-r", "-q", "-f", "rules2", cwd=repo)  # deleted whole
    done = _billrules("validate", "--ignore-outside", "ci/config.yaml", cwd=repo)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_loose_rule_document_in_no_rule_set_is_left_alone(tmp_path: Path) -> None:
    """An example rule document in `docs/` (no rule set) passes the hook, as README says of a
    YAML file in no rule set (the review of 2026-12-03 undid a per-file BR110 that failed it)."""
    repo = _repository(tmp_path)
    (repo / "docs").mkdir()
    (repo / "docs/example-discount.yaml").write_text("kind: discount\ncode: example\n", encoding="utf-8")
    done = _billrules("validate", "--ignore-outside", "docs/example-discount.yaml", "ci/config.yaml", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr


# --- F1: a refused purchase's price is not charged, and its group says so ----------------------------


def test_a_refused_purchases_price_change_says_it_is_not_charged(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(RULES, old)
    shutil.copytree(RULES, new)
    products = new / "catalog" / "products.yaml"
    text = products.read_text(encoding="utf-8")
    assert "price: 29.99 EUR\n" in text
    products.write_text(text.replace("price: 29.99 EUR\n", "price: 31.99 EUR\n", 1), encoding="utf-8")
    scenario = REPO / "samples" / "purchase" / "plan_withdrawn.yaml"
    done = _billrules("diff", "--rules", str(old), "--rules", str(new), "--input", str(scenario), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "purchase: refused (not charged), price changed — 1 scenario\n" in done.stdout
    assert "purchase: price changed" not in done.stdout
    assert "net price of purchases" not in done.stdout  # no money moved


def _purchase(allowed: bool, amount: str) -> dict[str, object]:
    return {
        "purchase": {
            "allowed": allowed,
            "reasons": [],
            "coupons": [],
            "discounts": [{"code": "d", "status": "applied", "amount": amount}],
            "lines": [],
            "price": {"EUR": {"gross": "10.00 EUR", "discount": amount, "net": "9.00 EUR"}},
        }
    }


def test_a_refused_purchases_discount_change_says_it_is_not_charged() -> None:
    found = changes(_purchase(False, "1.00 EUR"), _purchase(False, "1.20 EUR"))
    assert [c.label for c in found] == ["purchase discount d: applied (not charged), amount changed"]
    assert found[0].money == {}
    # charged under both: as before
    found = changes(_purchase(True, "1.00 EUR"), _purchase(True, "1.20 EUR"))
    assert next(c.label for c in found) == "purchase discount d: applied, amount changed"


# --- F2: a Parquet file given as scenarios -----------------------------------------------------------


def _parquet(path: Path) -> Path:
    path.write_bytes(b"PAR1" + bytes(range(256)) + b"\x00\x00\x00\x00PAR1")
    return path


@pytest.mark.parametrize(
    "command",
    [("decide", "--rules", "RULES"), ("test", "--rules", "RULES"), ("validate", "--rules", "RULES", "--scenarios")],
)
def test_a_parquet_file_is_told_as_parquet_with_the_run_that_reads_it(tmp_path: Path, command: tuple[str, ...]) -> None:
    _parquet(tmp_path / "night.parquet")
    args = [str(RULES) if a == "RULES" else a for a in command]
    done = _billrules(*args, "night.parquet", cwd=tmp_path)
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "night.parquet:1:1: error[BR102] a Parquet file (it starts with `PAR1`), not a scenario file" in out
    assert (
        "hint: Parquet scenarios are decided by `billrules run --input night.parquet --output decisions.parquet`" in out
    )
    assert "binary file" not in out


def test_diff_given_a_parquet_file_is_a_usage_error_naming_run(tmp_path: Path) -> None:
    _parquet(tmp_path / "night.pq")
    done = _billrules("diff", "--rules", str(RULES), "--rules", str(RULES), "--input", "night.pq", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "is a Parquet file (it starts with `PAR1`)" in done.stderr
    assert "`billrules run --input night.pq --output decisions.parquet`" in done.stderr
    # one that does not say Parquet by its name, in a folder: `--format parquet` in the hint
    (tmp_path / "in").mkdir()
    _parquet(tmp_path / "in" / "x.json")
    done = _billrules("diff", "--rules", str(RULES), "--rules", str(RULES), "--input", "in", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "BR102 a Parquet file" in done.stdout
        and "--input in/x.json --format parquet --output decisions.parquet`" in done.stdout
    )
