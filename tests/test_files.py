"""Paths that are not ordinary files: each is a diagnostic naming the path, never a hang.

Symbolic link loops, devices, named pipes, sockets, unreadable folders and files, files that
vanish while the rule set is read, and links that lead out of the rule set. Commands run as the
installed script in a subprocess with a timeout, so a hang fails the test instead of stalling it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine.files
import engine.pipeline
from engine.files import FileProblem, read_limited, walk
from engine.load import display_path, find_ruleset_root, load_file
from engine.pipeline import compile_ruleset
from engine.validate import validate_paths

SEGMENT = "kind: segment\ncode: S\nname: Students\n"
RULES = Path(__file__).resolve().parent.parent / "rules"
TIMEOUT = 30


def billrules(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    script = shutil.which("billrules")
    assert script
    return subprocess.run([script, *args], capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, check=False)


def validate_json(*paths: str, cwd: Path | None = None) -> tuple[int, list[dict[str, Any]]]:
    result = billrules("validate", "--format", "json", *paths, cwd=cwd)
    assert result.stderr == ""
    return result.returncode, json.loads(result.stdout)["diagnostics"]


def found(diagnostics: list[dict[str, Any]]) -> list[tuple[str, int, int, str]]:
    return [(d["file"], d["line"], d["column"], d["code"]) for d in diagnostics]


# --- symbolic link loops ------------------------------------------------------------------------


def test_symbolic_link_loops_are_located_diagnostics(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"s.yaml": SEGMENT})
    os.symlink("b.yaml", root / "a.yaml")
    os.symlink("a.yaml", root / "b.yaml")
    os.symlink("self.yaml", root / "self.yaml")
    exit_code, diagnostics = validate_json(".")
    assert exit_code == 1
    assert found(diagnostics) == [("a.yaml", 1, 1, "BR100"), ("b.yaml", 1, 1, "BR100"), ("self.yaml", 1, 1, "BR100")]
    assert {d["message"] for d in diagnostics} == {
        "cannot read file: it is a symbolic link loop (the link leads back to itself)"
    }


def test_a_symbolic_link_loop_given_on_the_command_line_is_a_diagnostic(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"s.yaml": SEGMENT})
    os.symlink("loop.yaml", root / "loop.yaml")
    exit_code, diagnostics = validate_json("loop.yaml")
    assert (exit_code, found(diagnostics)) == (1, [("loop.yaml", 1, 1, "BR100")])
    outside = root.parent / f"{root.name}-loop.yaml"  # outside any rule set
    os.symlink(outside.name, outside)
    try:
        exit_code, diagnostics = validate_json(str(outside))
    finally:
        outside.unlink()  # pytest's clean-up of its temporary folder trips over a loop left there
    assert (exit_code, [d["code"] for d in diagnostics]) == (1, ["BR100"])


def test_folder_links_are_not_followed_so_loops_end(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"catalog/s.yaml": SEGMENT})
    for name in ("here", "there"):  # two links to the root: 2**40 paths if links were followed
        os.symlink(".", root / name)
        os.symlink("..", root / "catalog" / name)
    assert validate_json(".") == (0, [])
    assert validate_json("catalog") == (0, [])
    assert [s.path.name for s in compile_ruleset(root).files] == ["s.yaml", "ruleset.yaml"]


# --- devices, pipes and sockets -----------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_a_device_is_refused_by_validate_without_reading_it(tmp_path: Path) -> None:
    exit_code, diagnostics = validate_json("/dev/zero", cwd=tmp_path)
    assert exit_code == 1
    assert [(os.path.normpath(tmp_path / d["file"]), d["line"], d["column"], d["code"]) for d in diagnostics] == [
        ("/dev/zero", 1, 1, "BR100")
    ]
    assert diagnostics[0]["message"] == "cannot read file: it is a character device, not a regular file"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this system")
def test_a_device_is_refused_by_decide_without_reading_it(tmp_path: Path) -> None:
    result = billrules("decide", "--rules", str(RULES), "/dev/zero", cwd=tmp_path)
    assert result.returncode == 1
    shown = os.path.relpath("/dev/zero", tmp_path)
    assert result.stderr.startswith(
        f"{shown}:1:1: error[BR100] cannot read file: it is a character device, not a regular file\n"
    )
    assert result.stdout == ""


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"s.yaml": SEGMENT})
    os.mkfifo(root / "pipe.yaml")
    exit_code, diagnostics = validate_json(".")
    assert (exit_code, found(diagnostics)) == (1, [("pipe.yaml", 1, 1, "BR100")])
    assert diagnostics[0]["message"] == "cannot read file: it is a named pipe (FIFO), not a regular file"
    os.mkfifo(root.parent / f"{root.name}-scenario.yaml")
    result = billrules("decide", "--rules", str(RULES), f"{root.name}-scenario.yaml", cwd=root.parent)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(
        f"{root.name}-scenario.yaml:1:1: error[BR100] cannot read file: it is a named pipe (FIFO), not a regular file\n"
    )


def test_a_socket_is_refused(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"s.yaml": SEGMENT})
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock.yaml")  # relative: socket paths are limited to ~100 bytes
        exit_code, diagnostics = validate_json(".", cwd=root)
    assert (exit_code, found(diagnostics)) == (1, [("sock.yaml", 1, 1, "BR100")])
    assert diagnostics[0]["message"] == "cannot read file: it is a socket, not a regular file"


def test_a_pipe_swapped_in_after_the_check_is_refused_on_the_open_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kind is checked again with fstat: a path replaced between stat and open is not trusted."""
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    real_stat = os.stat

    def stat_(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        result = real_stat(path, *args, **kwargs)
        if os.fspath(path) != os.fspath(pipe):
            return result
        values = list(result)  # the path looked like a regular file when it was checked
        values[stat.ST_MODE] = stat.S_IFREG | 0o644
        return os.stat_result(values)

    monkeypatch.setattr(engine.files.os, "stat", stat_)
    with pytest.raises(FileProblem, match=r"it is a named pipe \(FIFO\), not a regular file"):
        read_limited(pipe, 100)


# --- sizes that lie -----------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="no /proc on this system")
def test_the_size_limit_holds_when_the_file_system_reports_no_size() -> None:
    """Files under /proc say they are empty and are not: the read stops at limit + 1 bytes."""
    assert os.stat("/proc/self/maps").st_size == 0
    with pytest.raises(FileProblem) as refused:
        read_limited(Path("/proc/self/maps"), 10)
    assert (refused.value.code, refused.value.message) == (
        "BR101",
        "file is too large (more than 10 bytes; the limit is 10)",
    )


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"a: 1\n" * 10)
    assert read_limited(path, 50) == b"a: 1\n" * 10
    with pytest.raises(FileProblem, match=r"file is too large \(50 bytes; the limit is 49\)"):
        read_limited(path, 49)


# --- permissions --------------------------------------------------------------------------------


def test_an_unreadable_folder_is_named(ruleset: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Root reads any folder, so the refusal is simulated where os.walk lists folders."""
    root = ruleset({"catalog/s.yaml": SEGMENT, "discounts/d.yaml": SEGMENT.replace("S\n", "T\n")})
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.path.basename(os.fspath(path)) == "discounts":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    expected = ("discounts", 1, 1, "BR100")
    diagnostics = compile_ruleset(root.resolve()).diagnostics
    assert [(d.file, d.line, d.column, d.code) for d in diagnostics] == [expected]
    assert diagnostics[0].message == "cannot read folder: permission denied; the files in it were not checked"
    assert [(d.file, d.line, d.column, d.code) for d in validate_paths([Path("discounts")])] == [expected]
    assert [(d.file, d.line, d.column, d.code) for d in validate_paths([Path(".")])] == [expected]


def test_an_unreadable_file_is_named(ruleset: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root = ruleset({"s.yaml": SEGMENT})
    real_open = os.open

    def refuse(path: Any, flags: int, *args: Any) -> int:
        if os.path.basename(os.fspath(path)) == "s.yaml":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(engine.files.os, "open", refuse)
    diagnostics = compile_ruleset(root.resolve()).diagnostics
    assert [(d.file, d.line, d.column, d.code, d.message) for d in diagnostics] == [
        ("s.yaml", 1, 1, "BR100", "cannot read file: permission denied")
    ]


def _without_root_file_access() -> None:
    """In the child, before exec: drop the capabilities that let root ignore file permissions.

    They leave the bounding set (prctl PR_CAPBSET_DROP), so the command run keeps uid 0 but
    reads and lists only what the permission bits allow.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_real_permissions_are_reported(ruleset: Callable[..., Path]) -> None:
    """chmod 000 for real; as root, the command runs without the capabilities that bypass it."""
    root = ruleset({"locked/s.yaml": SEGMENT, "secret.yaml": SEGMENT})
    (root / "locked").chmod(0o000)
    (root / "secret.yaml").chmod(0o000)
    script = shutil.which("billrules")
    assert script
    try:
        result = subprocess.run(
            [script, "validate", "--format", "json", "."],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            preexec_fn=_without_root_file_access if os.geteuid() == 0 else None,
            check=False,
        )
    except subprocess.SubprocessError as exc:  # pragma: no cover - a system that refuses to drop them
        pytest.skip(f"cannot drop root's file-access capabilities here: {exc}")
    finally:
        (root / "locked").chmod(0o755)
    assert result.stderr == ""
    diagnostics = json.loads(result.stdout)["diagnostics"]
    assert (result.returncode, found(diagnostics)) == (1, [("locked", 1, 1, "BR100"), ("secret.yaml", 1, 1, "BR100")])
    assert [d["message"] for d in diagnostics] == [
        "cannot read folder: permission denied; the files in it were not checked",
        "cannot read file: permission denied",
    ]


def _run_without_root_file_access(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("billrules")
    assert script
    return subprocess.run(
        [script, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        preexec_fn=_without_root_file_access if os.geteuid() == 0 else None,
        check=False,
    )


def test_a_file_in_a_folder_that_cannot_be_searched_is_a_diagnostic_for_every_command(tmp_path: Path) -> None:
    """A folder readable but not searchable (mode 644): `Path.exists` raises there; no command may crash."""
    sample = Path(__file__).resolve().parent.parent / "samples" / "discounts" / "complaint_requested_approved.yaml"
    (tmp_path / "locked").mkdir()
    shutil.copy(sample, tmp_path / "locked" / "s.yaml")
    (tmp_path / "locked").chmod(0o644)
    try:
        validate = _run_without_root_file_access("validate", "locked/s.yaml", cwd=tmp_path)
        decide = _run_without_root_file_access("decide", "--rules", str(RULES), "locked/s.yaml", cwd=tmp_path)
        test = _run_without_root_file_access("test", "--rules", str(RULES), ".", cwd=tmp_path)
    finally:
        (tmp_path / "locked").chmod(0o755)
    located = "locked/s.yaml:1:1: error[BR100] cannot read file: permission denied\n"
    assert (validate.returncode, validate.stderr, validate.stdout.startswith(located)) == (1, "", True)
    assert (decide.returncode, decide.stdout, decide.stderr.startswith(located)) == (1, "", True)
    assert (test.returncode, test.stderr, test.stdout.startswith(located)) == (1, "", True)
    assert test.stdout.endswith("0 passed, 1 failed\n")


def test_a_permission_error_above_a_file_does_not_stop_the_search_for_its_rule_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ruleset.yaml").write_text("", encoding="utf-8")
    (tmp_path / "a").mkdir()
    real_stat = os.stat

    def stat_(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if os.path.dirname(os.fspath(path)) == str(tmp_path / "a"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(engine.files.os, "stat", stat_)
    assert find_ruleset_root(tmp_path / "a" / "x.yaml") == tmp_path


# --- files that vanish ----------------------------------------------------------------------------


def test_a_file_deleted_between_listing_and_reading_is_named(
    ruleset: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ruleset({"a.yaml": SEGMENT, "b.yaml": SEGMENT.replace("S\n", "T\n")})
    real_discover = engine.pipeline.discover

    def discover_then_delete(folder: Path) -> Any:
        listing = real_discover(folder)
        (folder / "a.yaml").unlink()
        return listing

    monkeypatch.setattr(engine.pipeline, "discover", discover_then_delete)
    diagnostics = compile_ruleset(root.resolve()).diagnostics
    assert [(d.file, d.line, d.column, d.code, d.message) for d in diagnostics] == [
        (
            "a.yaml",
            1,
            1,
            "BR100",
            "cannot read file: it no longer exists (moved or deleted while billrules was running)",
        )
    ]


def test_a_dangling_link_is_named(ruleset: Callable[..., Path]) -> None:
    root = ruleset({"s.yaml": SEGMENT})
    os.symlink("missing.yaml", root / "gone.yaml")
    exit_code, diagnostics = validate_json(".")
    assert (exit_code, found(diagnostics)) == (1, [("gone.yaml", 1, 1, "BR100")])
    assert diagnostics[0]["message"] == "cannot read file: it is a symbolic link to a missing file"


# --- links that leave the rule set ----------------------------------------------------------------

SECRET = "# TOKEN=ghp_s3cr3t\nkind: segment\ncode: LEAK\nname: [unclosed secret text\n"


def test_a_link_leaving_the_rule_set_is_refused_and_not_read(ruleset: Callable[..., Path], tmp_path: Path) -> None:
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.yaml").write_text(SECRET, encoding="utf-8")
    root = ruleset({"s.yaml": SEGMENT})
    os.symlink(elsewhere / "secret.yaml", root / "linked.yaml")
    os.symlink(elsewhere, root / "shared")
    result = billrules("validate", ".", cwd=root)
    assert (result.returncode, result.stderr) == (1, "")
    assert "secret" not in result.stdout.replace(str(elsewhere / "secret.yaml"), "")
    assert "TOKEN" not in result.stdout  # its first line is not quoted under the diagnostic either
    exit_code, diagnostics = validate_json(".")
    assert (exit_code, found(diagnostics)) == (1, [("linked.yaml", 1, 1, "BR117"), ("shared", 1, 1, "BR117")])
    assert diagnostics[0]["message"] == (
        f"symbolic link leads outside the rule set (to {elsewhere / 'secret.yaml'}); it is not read"
    )
    assert diagnostics[1]["message"] == f"symbolic link leads outside the rule set (to {elsewhere}); it is not read"


def test_a_link_leaving_a_folder_outside_any_rule_set_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "secret.yaml").write_text(SECRET, encoding="utf-8")
    os.symlink(tmp_path / "secret.yaml", tmp_path / "loose" / "linked.yaml")
    monkeypatch.chdir(tmp_path / "loose")
    diagnostics = validate_paths([Path(".")])
    assert [(d.file, d.line, d.column, d.code, d.message) for d in diagnostics] == [
        (
            "linked.yaml",
            1,
            1,
            "BR117",
            f"symbolic link leads outside the folder being validated (to {tmp_path / 'secret.yaml'}); it is not read",
        )
    ]


def test_links_that_stay_inside_the_rule_set_are_read(ruleset: Callable[..., Path]) -> None:
    root = ruleset({".templates/students.yaml": SEGMENT, "catalog/p.yaml": "kind: unit\ncode: u\nname: U\n"})
    os.symlink("../.templates/students.yaml", root / "catalog" / "students.yaml")
    os.symlink("catalog", root / "also-catalog")  # a folder link inside: its files count once, by their own path
    compilation = compile_ruleset(root.resolve())
    assert compilation.diagnostics == []
    assert sorted(display_path(s.path) for s in compilation.files) == [
        "catalog/p.yaml",
        "catalog/students.yaml",
        "ruleset.yaml",
    ]
    assert validate_paths([Path("catalog")]) == []


def test_walk_lists_sorted_files_and_skips_hidden_ones(tmp_path: Path) -> None:
    for name in ("b/x.yaml", "a/y.yaml", ".hidden/z.yaml", "a/.w.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    result = walk(tmp_path, str)
    assert [p.relative_to(tmp_path).as_posix() for p in result.files] == ["a/y.yaml", "b/x.yaml"]
    assert [p.relative_to(tmp_path).as_posix() for p in result.folders] == ["a", "b"]
    assert (result.outside, result.diagnostics) == ([], [])


def test_load_file_reports_the_path_it_was_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkdir("folder.yaml")
    source = load_file(Path("folder.yaml"))
    assert [(d.file, d.line, d.column, d.code, d.message) for d in source.diagnostics] == [
        ("folder.yaml", 1, 1, "BR100", "cannot read file: it is a folder, not a regular file")
    ]
