"""`--html FILE` of `decide` and `diff`: the target is checked before any work, written atomically."""

from __future__ import annotations

from pathlib import Path

from engine.cli.exits import UsageError
from engine.cli.safe_text import printable
from engine.files import is_dir


def html_target(name: str) -> Path:
    """The HTML file to write; a usage error unless it names a file in an existing folder."""
    path = Path(name)
    if is_dir(path) or not is_dir(path.parent):
        raise UsageError(f"cannot write the HTML report to {printable(name)}: give a file in an existing folder")
    return path


def write_html(path: Path, page: str) -> None:
    """Write the report (temporary file in the same folder, then `os.replace`); a failure is a usage error."""
    from engine.report.html import write_atomically

    try:
        write_atomically(path, page)
    except OSError as exc:
        raise UsageError(f"cannot write {printable(str(path))}: {exc.strerror or exc}") from None
