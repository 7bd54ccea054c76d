"""Program faults: a small hierarchy the CLI turns into one clear line and an exit code.

Problems found in returned workbooks are *not* exceptions: they are `Problem` values (see `domain.py`).
"""

from __future__ import annotations


class DxsheetsError(Exception):
    """Base of every fault dxsheets reports to the person running it."""

    exit_code = 1


class WorkspaceError(DxsheetsError):
    """The workspace is missing, incomplete or not writable."""


class MasterError(DxsheetsError):
    """A master file (departments, WGs, 市役所の家, work lists, round) is broken."""

    def __init__(self, path: str, message: str, row: int | None = None, column: str | None = None) -> None:
        self.path = path
        self.row = row
        self.column = column
        self.message = message
        where = path
        if row is not None:
            where += f" {row}行目"
        if column:
            where += f"「{column}」列"
        super().__init__(f"{where}: {message}")


class AlreadyRunning(DxsheetsError):
    """Another dxsheets run holds the workspace lock."""

    exit_code = 3
