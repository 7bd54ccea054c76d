"""Where things live: a workspace folder with templates/, inbox/ and outbox/."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .domain import Masters
from .errors import WorkspaceError
from .masters import load_masters, write_default_masters

SECRET_FILE = "secret.key"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def distribute(self) -> Path:
        return self.outbox / "distribute"

    @property
    def summary(self) -> Path:
        return self.outbox / "summary"

    @property
    def hypothesis(self) -> Path:
        return self.outbox / "hypothesis"

    @property
    def feedback(self) -> Path:
        return self.outbox / "feedback"

    @property
    def archive(self) -> Path:
        return self.outbox / "archive"

    @property
    def logs(self) -> Path:
        return self.outbox / "logs"

    @property
    def ledger_path(self) -> Path:
        return self.outbox / "ledger.sqlite3"

    @property
    def lock_path(self) -> Path:
        return self.outbox / ".dxsheets.lock"

    @property
    def secret_path(self) -> Path:
        return self.templates / SECRET_FILE

    def secret(self) -> bytes:
        """The workspace secret tokens are made with. Never committed (templates/ contents are ignored)."""
        try:
            data = self.secret_path.read_bytes().strip()
        except FileNotFoundError:
            raise WorkspaceError(
                f"{self.secret_path} がありません。`dxsheets init` を実行してください"
                "（配布済みのシートがある場合は、元の secret.key を戻してください）。"
            ) from None
        if len(data) < 32:
            raise WorkspaceError(f"{self.secret_path} が短すぎます（32文字以上が必要です）。")
        return data

    def masters(self) -> Masters:
        return load_masters(self.templates)


def open_workspace(root: Path) -> Workspace:
    """A workspace that `init` has made.

    Raises:
        WorkspaceError: when the folder has no templates/.
    """
    ws = Workspace(root.resolve())
    if not ws.templates.is_dir():
        enclosing = _enclosing_workspace(ws.root)
        # -w pointed inside a workspace (its inbox, say): making one there would split the data.
        if enclosing is not None:
            raise WorkspaceError(
                f"{ws.root} はワークスペースではありません（templates/ がありません）。"
                f"このフォルダを含むワークスペース {enclosing} を `-w {enclosing}` で指定してください。"
            )
        raise WorkspaceError(
            f"{ws.root} はワークスペースではありません（templates/ がありません）。`dxsheets init {root}` で作成してください。"
        )
    # The inbox is not made here: collect makes it for a new workspace, and refuses a used one's that has gone.
    ws.outbox.mkdir(parents=True, exist_ok=True)
    return ws


def _enclosing_workspace(folder: Path) -> Path | None:
    """The nearest folder above `folder` that is a workspace (templates/ and a ledger or an inbox beside it)."""
    for parent in folder.parents:
        w = Workspace(parent)
        if w.templates.is_dir() and (w.ledger_path.is_file() or w.inbox.is_dir()):
            return parent
    return None


def init_workspace(root: Path) -> tuple[Workspace, list[Path]]:
    """Scaffold a workspace; never overwrites masters or the secret that are already there.

    Returns:
        The workspace and the files written.
    """
    ws = Workspace(root.resolve())
    enclosing = _enclosing_workspace(ws.root)
    if enclosing is not None:
        outer = Workspace(enclosing)
        if ws.root.is_relative_to(outer.inbox) or ws.root.is_relative_to(outer.outbox):
            # Its masters and secret.key would be collected as returns, or sit among outputs.
            raise WorkspaceError(
                f"{ws.root} はワークスペース {enclosing} の inbox/ か outbox/ の中です。"
                "ワークスペースは別の場所に作成してください。"
            )
    for d in (ws.templates, ws.inbox, ws.outbox):
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"{d} を作成できません: {exc.strerror}") from None
    written = write_default_masters(ws.templates)
    if not ws.secret_path.exists():
        fd = os.open(ws.secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        written.append(ws.secret_path)
    return ws, written
