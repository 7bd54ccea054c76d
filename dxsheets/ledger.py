"""The ledger: an SQLite database in outbox/ of every file ever seen, its fate, and the accepted answers.

One writer at a time (the workspace lock that run, collect and consolidate hold). The rollback journal,
not WAL: the workspace is often a shared-drive folder, and WAL needs every process that opens the database
on one machine (its index is shared memory), which a DX staffer's `status` on their own PC against the
nightly server's share would break. The writer commits in batches, so a reader waits at most a moment.
Collect copies the ledger to backup/ before it changes anything; a damaged ledger is told with the copy to
restore (`ledger_fault`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .domain import Problem, file_reason
from .errors import WorkspaceError

SCHEMA_VERSION = 2  # 2: own_status, own_reason
MIN_SQLITE = (3, 33, 0)
BACKUP_FOLDER = "backup"  # beside the ledger: outbox/backup/ledger-<YYYYmmdd-HHMMSS-micro>.sqlite3
BACKUPS_KEPT = 7  # a week of nights

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path        TEXT PRIMARY KEY,   -- relative to inbox; mail attachments as <mail>.eml/<name>
    size        INTEGER NOT NULL,
    mtime       REAL NOT NULL,
    sha256      TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    present     INTEGER NOT NULL DEFAULT 1,
    dept_code   TEXT,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    sent_at     TEXT,               -- best evidence of when it was sent
    evidence    TEXT,               -- mail-date | file-time
    saved_at    TEXT,               -- the workbook's own docProps modified time (cross-check)
    application TEXT,
    archive     TEXT,               -- path of the immutable copy relative to outbox
    own_status  TEXT,               -- its status and reason on its own: before the fates across files
    own_reason  TEXT                -- (superseded or duplicate) are settled again each night; schema 2
);
CREATE TABLE IF NOT EXISTS problems (
    path     TEXT NOT NULL REFERENCES files(path) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    code     TEXT NOT NULL,
    severity TEXT NOT NULL,
    sheet    TEXT NOT NULL,
    cell     TEXT NOT NULL,
    message  TEXT NOT NULL,
    field    TEXT NOT NULL,
    row      INTEGER,
    col      INTEGER,
    PRIMARY KEY (path, seq)
);
CREATE TABLE IF NOT EXISTS readings (      -- what examining a content found, cached by hash and rules
    sha256   TEXT NOT NULL,
    rules    TEXT NOT NULL,
    result   TEXT NOT NULL,                -- JSON
    PRIMARY KEY (sha256, rules)
);
CREATE TABLE IF NOT EXISTS submissions (   -- the accepted answer of each department (the latest return)
    dept_code   TEXT PRIMARY KEY,
    path        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    answers     TEXT NOT NULL              -- JSON
);
CREATE TABLE IF NOT EXISTS mails (        -- saved mails read into their attachments' rows, not opened
    path     TEXT PRIMARY KEY,             -- again while unchanged (same size, time, content and rules)
    size     INTEGER NOT NULL,
    mtime    REAL NOT NULL,
    sha256   TEXT NOT NULL,
    rules    TEXT NOT NULL,
    parts    TEXT NOT NULL                 -- JSON: the paths of the attachment rows it was read into
);
CREATE INDEX IF NOT EXISTS files_dept ON files(dept_code);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
"""


@dataclass
class FileRow:
    path: str
    size: int
    mtime: float
    sha256: str | None
    first_seen: str
    last_seen: str
    present: int
    dept_code: str | None
    status: str
    reason: str
    sent_at: str | None
    evidence: str | None
    saved_at: str | None
    application: str | None
    archive: str | None


FILE_COLUMNS = tuple(FileRow.__dataclass_fields__)

# The cross-file decisions, answered inside SQLite so no file row is loaded into Python. Strings compare as
# in Python (BINARY collation compares UTF-8 bytes, which order as code points).
# Byte-identical contents, first seen first: rank 1 is the return, the others are its copies.
COPIES = """
    SELECT path, FIRST_VALUE(path) OVER w AS winner, ROW_NUMBER() OVER w AS rank
    FROM files WHERE sha256 IS NOT NULL AND sha256 != '' AND status NOT IN ('pending', 'ignored')
    WINDOW w AS (PARTITION BY sha256 ORDER BY first_seen, COALESCE(sent_at, ''), path)
"""
# Attributable returns of each department, newest first by (sent, saved_at, path): rank 1 is its answer.
# `sent` is when the content was last sent, over its byte-identical copies too: an earlier answer attached
# again unchanged ("please use my first file") is a duplicate of its first copy, and what was sent last
# (the files it outranks name that last copy as the one used).
# A blank sheet (`form-blank`) is not a return: sent after a real answer by mistake, it must not replace it.
RETURNS = """
    SELECT path, dept_code, status, sha256, sent_at, FIRST_VALUE(last_copy) OVER w AS winner,
        ROW_NUMBER() OVER w AS rank,
        -- how the answer outranks this return: 0 sent later, 1 sent at the same time (attached to one
        -- mail) but saved later, 2 sent and saved at the same time (then by name)
        CASE WHEN sent != FIRST_VALUE(sent) OVER w THEN 0
             WHEN COALESCE(saved_at, '') != FIRST_VALUE(COALESCE(saved_at, '')) OVER w THEN 1
             ELSE 2 END AS outranked_by
    FROM (
        SELECT path, dept_code, status, sha256, sent_at, saved_at,
            MAX(COALESCE(sent_at, '')) OVER copies AS sent, FIRST_VALUE(path) OVER copies AS last_copy
        FROM files WHERE sha256 IS NOT NULL AND status IN ('accepted', 'rejected', 'duplicate')
        WINDOW copies AS (
            PARTITION BY sha256 ORDER BY COALESCE(sent_at, '') DESC, path DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        )
    ) f
    WHERE dept_code IS NOT NULL AND dept_code != '' AND status IN ('accepted', 'rejected')
        AND NOT EXISTS (SELECT 1 FROM problems p WHERE p.path = f.path AND p.code = 'form-blank')
    WINDOW w AS (PARTITION BY dept_code ORDER BY sent DESC, COALESCE(saved_at, '') DESC, path DESC)
"""
LATEST = f"SELECT * FROM ({RETURNS}) WHERE rank = 1"
RULES_KEY_META = "rules_key"  # meta: the rules key (`collect.rules_key`) of the last collect
# Readings of one content, the one under the last collect's rules first, then the newest (one parameter:
# RULES_KEY_META).
_CURRENT_FIRST = "ORDER BY rules = (SELECT value FROM meta WHERE key = ?) DESC, rowid DESC"
_SETTLED_CODES = ("superseded", "duplicate")  # the statuses decided across files, each night anew
_SETTLED = str(_SETTLED_CODES)  # in SQL: ('superseded', 'duplicate')
# The rows of a mail's attachments, `<mail>/<name>` (`/` sorts just before `0`): an index range on path.
_PARTS = "path >= ? || '/' AND path < ? || '0'"


def _written_key(outbox: Path, path: Path) -> str:
    return f"written:{path.relative_to(outbox).as_posix()}"


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backups(ledger: Path) -> list[Path]:
    """The ledger's backup copies, oldest first."""
    return sorted((ledger.parent / BACKUP_FOLDER).glob("ledger-*.sqlite3"))


class LedgerError(WorkspaceError):
    """The ledger cannot be used: damaged, held by another program, or refused by the disk."""


def ledger_fault(path: Path, exc: sqlite3.Error) -> LedgerError:
    """One line for the DX staffer (Japanese): what is wrong with the ledger and what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    detail = " ".join(str(exc).split())[:200]  # one line: quick_check reports on several
    # A plain DatabaseError is our own, raised for what quick_check found.
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or type(exc) is sqlite3.DatabaseError:
        copies = backups(path)
        if copies:
            todo = (
                f"このファイルを別名に移し、最新の写し {copies[-1]} を {path.name} としてコピーしてから"
                "やり直してください。写しの後に届いたファイルは inbox/ から読み直します。"
            )
        else:
            todo = (
                "このファイルを別名に移してからやり直すと、inbox/ にあるファイルから作り直します"
                "（inbox/ からなくなったファイルの記録は戻りません）。"
            )
        return LedgerError(f"{path}: 台帳が壊れています（{detail}）。{todo}")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return LedgerError(
            f"{path}: 台帳を他のプログラムが使用中です（{detail}）。台帳を開いているプログラムを閉じて、やり直してください。"
        )
    if name.startswith("SQLITE_FULL"):
        return LedgerError(
            f"{path}: ディスクの空きがないため台帳に書き込めません。空きを作ってやり直してください。"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return LedgerError(
            f"{path}: 台帳を開けないか書き込めません（{detail}）。フォルダのアクセス権を確認してください。"
        )
    return LedgerError(f"{path}: 台帳を使えません（{detail}）。")


class Ledger:
    """A thin layer over the SQLite file; every method is one statement or one transaction."""

    def __init__(self, path: Path) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            # The decisions use window functions and UPDATE ... FROM (SQLite 3.33, 2020).
            raise WorkspaceError(
                f"SQLite {sqlite3.sqlite_version} is too old for the ledger: {'.'.join(map(str, MIN_SQLITE))}"
                " or newer is needed (Python 3.11+ from python.org bundles one; on Linux update libsqlite3)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self.db = sqlite3.connect(path, timeout=30)
            self.db.row_factory = sqlite3.Row
            # Damage is told before any work, with what to do; found later, it would stop a night half done.
            ((verdict,), *_) = self.db.execute("PRAGMA quick_check(1)").fetchall()
            if verdict != "ok":
                raise sqlite3.DatabaseError(verdict.splitlines()[-1])  # "Page 4: btreeInitPage() returns ..."
            # DELETE (the default) is set explicitly: it turns a ledger written in WAL by an earlier version back.
            self.db.execute("PRAGMA journal_mode=DELETE")
            self.db.execute("PRAGMA foreign_keys=ON")
            # One transaction: one sync to disk instead of one per table (7 ms on a new ledger), and no half
            # schema left behind by a crash.
            self.db.executescript(f"BEGIN;{SCHEMA}COMMIT;")
            self._migrate()
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS present (path TEXT PRIMARY KEY)")
            version = str(SCHEMA_VERSION)  # written only when it changes: opening alone writes nothing
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (version,))
            self.db.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version' AND value != ?", (version, version)
            )
            self.db.commit()
        except sqlite3.Error as exc:
            with contextlib.suppress(AttributeError):
                self.db.close()
            raise ledger_fault(path, exc) from None
        self._latest = f"({LATEST})"  # where the queries find each department's latest return

    def _migrate(self) -> None:
        """Bring a ledger written by an earlier version to this schema (inside the opening transaction)."""
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(files)")}
        if "own_status" not in columns:  # schema 1: a settled file's own fate is in its content's reading
            self.db.execute("ALTER TABLE files ADD COLUMN own_status TEXT")
            self.db.execute("ALTER TABLE files ADD COLUMN own_reason TEXT")
            self.db.execute(
                f"UPDATE files SET own_status = status, own_reason = reason WHERE status NOT IN {_SETTLED}"
            )
            # A settled file's own fate is its content's, under the last collect's rules; its own reason
            # is worded from its own problems (those of the settling taken out) as collect words it.
            settled = self.db.execute(
                f"""SELECT f.path, json_extract(r.result, '$.fate') FROM files f JOIN readings r
                    ON r.rowid = (SELECT rowid FROM readings WHERE sha256 = f.sha256 {_CURRENT_FIRST} LIMIT 1)
                    WHERE f.status IN {_SETTLED}""",
                (RULES_KEY_META,),
            ).fetchall()
            for path, fate in settled:
                status = "accepted" if fate == "ok" else fate
                own = [p for p in self.problems(path) if p.code not in _SETTLED_CODES]
                self.db.execute(
                    "UPDATE files SET own_status = ?, own_reason = ? WHERE path = ?",
                    (status, file_reason(status, own), path),
                )

    def back_up(self, keep: int = BACKUPS_KEPT) -> Path | None:
        """Copy the ledger as it is now to `backup/ledger-<local time>.sqlite3` beside it, keeping the newest
        `keep` copies; nothing when it records no file yet. Returns the copy.

        Collect calls this before it changes anything: a night that ends with a damaged ledger (a crash, a
        full disk, a share that dropped mid-write) loses no more than that night, which the next collect
        redoes from the inbox.
        """
        if self.db.execute("SELECT 1 FROM files LIMIT 1").fetchone() is None:
            return None
        folder = self.path.parent / BACKUP_FOLDER
        folder.mkdir(exist_ok=True)
        # Microseconds keep the names unique and in time order, which is how the oldest are found.
        dest = folder / f"ledger-{datetime.now():%Y%m%d-%H%M%S-%f}.sqlite3"
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            copy = sqlite3.connect(tmp)
            try:
                self.db.backup(copy)
            finally:
                copy.close()
            os.replace(tmp, dest)
        except BaseException:  # a full disk, an interrupted night: no half copy is left to mistake for one
            for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise
        for old in backups(self.path)[:-keep]:
            with contextlib.suppress(OSError):  # open elsewhere (Windows): removed on a later night
                old.unlink()
        return dest

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    @contextmanager
    def latest_fixed(self) -> Iterator[None]:
        """Rank the returns once for the queries of the latest returns run inside (`latest_returns`,
        `doubtful_orders`, `add_latest_submissions`), which would each rank every return again (~9 ms for
        1,000 files). Only while no status or `form-blank` problem changes: after the fates across files
        are settled. Inside the caller's transaction."""
        self.db.execute("DROP TABLE IF EXISTS temp.latest")
        self.db.execute(f"CREATE TEMP TABLE latest AS {LATEST}")
        self._latest = "temp.latest"
        try:
            yield
        finally:
            self._latest = f"({LATEST})"
            self.db.execute("DROP TABLE IF EXISTS temp.latest")

    # files ---------------------------------------------------------------------------------------------
    def files(self) -> list[FileRow]:
        rows = self.db.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM files ORDER BY path").fetchall()
        return [FileRow(*r) for r in rows]

    def file(self, path: str) -> FileRow | None:
        r = self.db.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM files WHERE path = ?", (path,)).fetchone()
        return FileRow(*r) if r else None

    def examined_absent(self) -> list[FileRow]:
        """Files not in the inbox tonight whose content was examined (they still count). Call once tonight's
        files are noted present."""
        cols = ", ".join(f"f.{c}" for c in FILE_COLUMNS)
        rows = self.db.execute(
            f"""SELECT {cols} FROM files f
                WHERE f.sha256 IS NOT NULL AND f.sha256 != '' AND f.archive IS NOT NULL
                  AND f.status NOT IN ('pending', 'ignored')
                  AND f.path NOT IN (SELECT path FROM temp.present)
                  AND EXISTS (SELECT 1 FROM readings r WHERE r.sha256 = f.sha256)
                ORDER BY f.path"""
        )
        return [FileRow(*r) for r in rows]

    def sighting(self, path: str) -> tuple[int | None, float] | None:
        """The (size, mtime) a file had when last seen, or None for a file never seen. A mail read into its
        attachments has rows only for them, which keep the mail's mtime (not its size): (None, mtime)."""
        r = self.db.execute("SELECT size, mtime FROM files WHERE path = ?", (path,)).fetchone()
        if r:
            return (r[0], r[1])
        r = self.db.execute(f"SELECT mtime FROM files WHERE {_PARTS} LIMIT 1", (path, path)).fetchone()
        return (None, r[0]) if r else None

    def has_parts(self, mail: str) -> bool:
        """Whether a mail was read into attachment rows (`<mail>/<name>`) before."""
        return (
            self.db.execute(f"SELECT 1 FROM files WHERE {_PARTS} LIMIT 1", (mail, mail)).fetchone()
            is not None
        )

    def note_parts_present(self, mail: str) -> None:
        """A mail seen but not read tonight (being saved again): its attachments are still in the inbox."""
        self.db.execute(
            f"INSERT OR IGNORE INTO temp.present SELECT path FROM files WHERE {_PARTS}", (mail, mail)
        )

    def opened_mail(self, mail: str, size: int, mtime: float, rules: str) -> str | None:
        """The SHA-256 of a mail read into its attachments' rows under `rules` when it had this size and
        time, or None: it is to be opened. A worker that finds the same content again does not open it
        (`keep_parts`)."""
        r = self.db.execute(
            "SELECT sha256 FROM mails WHERE path = ? AND size = ? AND mtime = ? AND rules = ?",
            (mail, size, mtime, rules),
        ).fetchone()
        return r[0] if r else None

    def keep_parts(self, mail: str, when: str) -> int:
        """A mail found unchanged (`opened_mail`): the rows it was read into stand as they are, seen tonight
        (`when`). Returns how many; 0 when they are gone from the ledger: the mail's record is forgotten,
        and it is to be opened."""
        parts = self.db.execute(
            """SELECT j.value FROM mails m, json_each(m.parts) j
               WHERE m.path = ? AND EXISTS (SELECT 1 FROM files f WHERE f.path = j.value)""",
            (mail,),
        ).fetchall()
        self.db.executemany(
            "UPDATE files SET last_seen = ?, present = 1 WHERE path = ?", [(when, p) for (p,) in parts]
        )
        self.db.executemany("INSERT OR IGNORE INTO temp.present VALUES (?)", parts)
        if not parts:
            self.db.execute("DELETE FROM mails WHERE path = ?", (mail,))
        return len(parts)

    def note_opened_mails(self, mails: list[tuple[str, int, float, str]], rules: str, waited: str) -> None:
        """Remember the (path, size, mtime, sha256) mails read into attachment rows tonight, with the rows
        they were read into: a mail is not opened again while unchanged. Not one with an attachment left
        pending or read from its earlier content (the problem code `waited`): it is opened again. Call
        after every row of the run is written and noted present."""
        for path, size, mtime, sha in mails:
            rows = self.db.execute(
                """SELECT f.path, f.status = 'pending'
                       OR EXISTS (SELECT 1 FROM problems p WHERE p.path = f.path AND p.code = ?)
                   FROM files f WHERE f.path >= ? || '/' AND f.path < ? || '0'
                       AND EXISTS (SELECT 1 FROM temp.present t WHERE t.path = f.path)
                   ORDER BY f.path""",
                (waited, path, path),
            ).fetchall()
            parts = [part for part, _ in rows]
            unsettled = any(flag for _, flag in rows)
            if parts and not unsettled:
                self.db.execute(
                    "INSERT OR REPLACE INTO mails VALUES (?, ?, ?, ?, ?, ?)",
                    (path, size, mtime, sha, rules, json.dumps(parts, ensure_ascii=False)),
                )
            else:
                self.db.execute("DELETE FROM mails WHERE path = ?", (path,))

    def forget_placeholders(self, mails: list[str], folders: bool = True) -> None:
        """Remove the rows that stood for what is now recorded file by file: the row of a mail read into its
        attachments tonight (it waited, could not be read, or had no workbook before it was saved again),
        and (with `folders`) the pending row of a folder that could not be listed and no longer is so
        (`<folder>/`). None of them was a department's return. Call after every row of the run is written
        and noted present."""
        self.db.executemany(
            "DELETE FROM files WHERE path = ? AND (dept_code IS NULL OR dept_code = '')",
            [(m,) for m in mails],
        )
        if folders:
            self.db.execute(
                """DELETE FROM files WHERE path LIKE '%/' AND status = 'pending' AND sha256 IS NULL
                   AND path NOT IN (SELECT path FROM temp.present)"""
            )

    def upsert_file(self, row: FileRow, problems: list[Problem]) -> None:
        self.upsert_files([(row, problems)])

    def upsert_files(self, rows: list[tuple[FileRow, list[Problem]]]) -> None:
        """Write file rows and replace their problems: a few statements for a whole batch of files. Each row
        is as the file is on its own: its status and reason are also kept as its own (`unsettle`)."""
        columns = (*FILE_COLUMNS, "own_status", "own_reason")
        cols = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        updates = ", ".join(f"{c}=excluded.{c}" for c in columns if c not in ("path", "first_seen"))
        self.db.executemany(
            f"INSERT INTO files ({cols}) VALUES ({marks}) ON CONFLICT(path) DO UPDATE SET {updates}",
            [(*(getattr(row, c) for c in FILE_COLUMNS), row.status, row.reason) for row, _ in rows],
        )
        self.db.executemany("DELETE FROM problems WHERE path = ?", [(row.path,) for row, _ in rows])
        self.db.executemany(
            "INSERT INTO problems VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (row.path, i, p.code, p.severity, p.sheet, p.cell, p.message, p.field, p.row, p.col)
                for row, problems in rows
                for i, p in enumerate(problems)
            ],
        )

    def note_present(self, paths: list[str]) -> None:
        """Remember paths seen in the inbox during this run (in SQLite, not in memory) for `mark_absent`."""
        self.db.executemany("INSERT OR IGNORE INTO temp.present VALUES (?)", [(p,) for p in paths])

    def mark_absent(self, gone_reason: str | None) -> None:
        """Files not noted present during this run are no longer in the inbox. One that was only ever seen
        pending (never read: moved or deleted while being copied) will not be looked at again: it becomes
        `ignored`, with `gone_reason` as its reason and its problem `file-gone-before-read` (info); not
        inside a folder that could not be listed tonight, nor at all when `gone_reason` is None (the
        whole inbox is missing: a share that did not connect)."""
        if gone_reason is not None:
            gone = """status = 'pending' AND sha256 IS NULL AND path NOT IN (SELECT path FROM temp.present)
                AND NOT EXISTS (SELECT 1 FROM temp.present f WHERE f.path LIKE '%/'
                                AND substr(files.path, 1, length(f.path)) = f.path)"""
            self.db.execute(f"DELETE FROM problems WHERE path IN (SELECT path FROM files WHERE {gone})")
            self.db.execute(
                f"""INSERT INTO problems
                    SELECT path, 0, 'file-gone-before-read', 'info', '', '', ?, '', NULL, NULL
                    FROM files WHERE {gone}""",
                (gone_reason,),
            )
            self.db.execute(f"UPDATE files SET status = 'ignored', reason = ? WHERE {gone}", (gone_reason,))
        self.db.execute(
            "UPDATE files SET present = 0 WHERE present = 1 AND path NOT IN (SELECT path FROM temp.present)"
        )

    def unsettle(self) -> None:
        """Give every file its own status and reason back, before the fates across files are settled again.

        Files recorded tonight have theirs already; this is for the others: a file no longer in the inbox
        (its content still counts) that lost to a copy or a later return may win now that the other has
        changed or been sent again. Left as it was, it would stay `duplicate` of a file that no longer
        outranks it, and its department would have no answer at all. Run inside the caller's transaction."""
        self.db.execute(f"DELETE FROM problems WHERE code IN {_SETTLED}")
        self.db.execute(
            f"""UPDATE files SET status = own_status, reason = own_reason
                WHERE status IN {_SETTLED} AND own_status IS NOT NULL"""
        )

    def mark_duplicates(self, reason: str, message: str) -> None:
        """Byte-identical contents: the first seen (by first_seen, sent_at, path) is the return, the others
        become `duplicate`. `{winner}` in `reason` and `message` is the first one's path."""
        self._settle(
            f"SELECT path, winner, 0 AS variant FROM ({COPIES}) WHERE rank > 1",
            "duplicate",
            [(reason, message)],
        )

    def mark_superseded(self, said: Sequence[tuple[str, str]]) -> None:
        """A department's attributable returns other than its latest become `superseded`. `said` holds the
        (reason, message) for a return outranked by one sent later, by one sent at the same time but
        saved later, and by one sent and saved at the same time (then taken by name); `{winner}` in them
        is the latest one's path."""
        if len(said) != 3:  # a variant without its words would leave its returns unsettled
            raise ValueError(f"mark_superseded needs 3 (reason, message) pairs, got {len(said)}")
        self._settle(
            f"SELECT path, winner, outranked_by AS variant FROM ({RETURNS}) WHERE rank > 1",
            "superseded",
            said,
        )

    def _settle(self, losers: str, status: str, said: Sequence[tuple[str, str]]) -> None:
        """Give every file of the query `losers` (path, winner, variant) `status`, its reason and its
        problem of that code (info, after its others) from `said[variant]` (reason, message). After
        `unsettle`, which took every earlier one away. Several statements: run it inside the caller's
        transaction."""
        self.db.execute("DROP TABLE IF EXISTS temp.losers")
        self.db.execute(
            f"""CREATE TEMP TABLE losers AS
                SELECT l.path, l.winner, l.variant,
                    (SELECT COALESCE(MAX(seq) + 1, 0) FROM problems p WHERE p.path = l.path) AS base
                FROM ({losers}) l"""
        )
        self.db.execute("DROP TABLE IF EXISTS temp.said")
        self.db.execute("CREATE TEMP TABLE said (variant INTEGER PRIMARY KEY, reason TEXT, message TEXT)")
        self.db.executemany("INSERT INTO temp.said VALUES (?, ?, ?)", [(i, *rm) for i, rm in enumerate(said)])
        self.db.execute(
            """UPDATE files SET status = ?, reason = replace(s.reason, '{winner}', l.winner)
               FROM temp.losers l JOIN temp.said s ON s.variant = l.variant WHERE files.path = l.path""",
            (status,),
        )
        self.db.execute(
            """INSERT INTO problems
               SELECT l.path, l.base, ?, 'info', '', '', replace(s.message, '{winner}', l.winner), '',
                   NULL, NULL
               FROM temp.losers l JOIN temp.said s ON s.variant = l.variant""",
            (status,),
        )
        self.db.execute("DROP TABLE temp.losers")
        self.db.execute("DROP TABLE temp.said")

    def doubtful_orders(self, slack_seconds: int) -> list[tuple[str, str, str]]:
        """Departments whose answer was chosen by file times that the workbooks' own saved times
        contradict: (the answer's path, the superseded return saved latest, its saved time), when that
        return was saved more than `slack_seconds` after the answer. Mail dates are trusted."""
        rows = self.db.execute(
            f"""SELECT w.path, l.path, l.saved_at FROM {self._latest} r
                JOIN files w ON w.path = r.path
                JOIN files l ON l.dept_code = w.dept_code AND l.status = 'superseded'
                WHERE w.evidence = 'file-time' AND w.saved_at IS NOT NULL AND l.saved_at IS NOT NULL
                  AND datetime(l.saved_at) > datetime(w.saved_at, ?)
                ORDER BY w.path, datetime(l.saved_at) DESC""",
            (f"+{slack_seconds} seconds",),
        ).fetchall()
        out: dict[str, tuple[str, str, str]] = {}
        for answer, other, saved in rows:
            out.setdefault(answer, (answer, other, saved))  # the one saved latest
        return list(out.values())

    def replace_flags(self, code: str, flags: dict[str, Problem]) -> set[str]:
        """Give these files this problem (one each, after their others), and no other file any of `code`.
        Returns every file whose problems changed. Run inside the caller's transaction."""
        touched = {
            r[0] for r in self.db.execute("SELECT DISTINCT path FROM problems WHERE code = ?", (code,))
        }
        self.db.execute("DELETE FROM problems WHERE code = ?", (code,))
        self.db.executemany(
            """INSERT INTO problems SELECT ?, COALESCE(MAX(seq) + 1, 0), ?, ?, ?, ?, ?, ?, ?, ?
               FROM problems WHERE path = ?""",
            [
                (path, p.code, p.severity, p.sheet, p.cell, p.message, p.field, p.row, p.col, path)
                for path, p in flags.items()
            ],
        )
        return touched | set(flags)

    def set_reason(self, path: str, reason: str) -> None:
        self.db.execute("UPDATE files SET reason = ? WHERE path = ?", (reason, path))

    def present_count(self) -> int:
        """How many files the last collect saw in the inbox."""
        return int(self.db.execute("SELECT COUNT(*) FROM files WHERE present = 1").fetchone()[0])

    def status_counts(self) -> dict[str, int]:
        """How many files have each status."""
        rows = self.db.execute("SELECT status, COUNT(*) FROM files GROUP BY status ORDER BY MIN(path)")
        return {r[0]: r[1] for r in rows}

    def latest_returns(self) -> dict[str, tuple[str, str]]:
        """Each department's latest attributable return (accepted or rejected) by (sent_at, saved_at, path):
        dept_code -> (path, status)."""
        return {
            r[0]: (r[1], r[2]) for r in self.db.execute(f"SELECT dept_code, path, status FROM {self._latest}")
        }

    def problems(self, path: str) -> list[Problem]:
        rows = self.db.execute(
            "SELECT code, severity, message, sheet, cell, field, row, col FROM problems WHERE path = ? ORDER BY seq",
            (path,),
        ).fetchall()
        return [Problem(*r) for r in rows]

    def paths_with_problem(self, code: str) -> frozenset[str]:
        """The files that carry a problem of this code."""
        return frozenset(r[0] for r in self.db.execute("SELECT path FROM problems WHERE code = ?", (code,)))

    def all_problems(self) -> dict[str, list[Problem]]:
        out: dict[str, list[Problem]] = {}
        for r in self.db.execute(
            "SELECT path, code, severity, message, sheet, cell, field, row, col FROM problems ORDER BY path, seq"
        ):
            out.setdefault(r[0], []).append(Problem(*r[1:]))
        return out

    # readings ------------------------------------------------------------------------------------------
    def reading(self, sha256: str, rules: str) -> dict | None:
        r = self.db.execute(
            "SELECT result FROM readings WHERE sha256 = ? AND rules = ?", (sha256, rules)
        ).fetchone()
        return json.loads(r[0]) if r else None

    def known_contents(self, rules: str) -> frozenset[str]:
        """Hashes of every content already examined under these rules: not examined again."""
        return frozenset(
            r[0] for r in self.db.execute("SELECT sha256 FROM readings WHERE rules = ?", (rules,))
        )

    def current_reading(self, sha256: str) -> dict | None:
        """A content's reading under the last collect's rules, else its newest under any (a file no longer
        in the inbox, unread since the rules changed). Not simply the newest: a content read under other
        masters since (a department left out for a night) is known again, unread, when they come back."""
        r = self.db.execute(
            f"SELECT result FROM readings WHERE sha256 = ? {_CURRENT_FIRST} LIMIT 1", (sha256, RULES_KEY_META)
        ).fetchone()
        return json.loads(r[0]) if r else None

    def save_readings(self, rows: list[tuple[str, str, str]]) -> None:
        """Store (sha256, rules, JSON text) readings."""
        self.db.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?)", rows)

    # submissions ---------------------------------------------------------------------------------------
    def replace_submissions(self, rows: list[tuple[str, str, str, str, dict]]) -> None:
        self.db.execute("DELETE FROM submissions")
        self.db.executemany(
            "INSERT INTO submissions VALUES (?, ?, ?, ?, ?)",
            [
                (code, path, sha, sent, json.dumps(ans, ensure_ascii=False))
                for code, path, sha, sent, ans in rows
            ],
        )

    def clear_submissions(self) -> None:
        self.db.execute("DELETE FROM submissions")

    def add_latest_submissions(self, rules: str) -> None:
        """Record every department's latest return, when accepted, as its answer. The answers are copied
        inside SQLite from the content's reading under `rules`, else its newest, never loaded into Python."""
        self.db.execute(
            f"""INSERT INTO submissions
                SELECT * FROM (
                    SELECT l.dept_code, l.path, l.sha256, COALESCE(l.sent_at, ''), (
                        SELECT json_extract(result, '$.answers') FROM readings r
                        WHERE r.sha256 = l.sha256 AND json_extract(result, '$.answers') IS NOT NULL
                        ORDER BY (rules = ?) DESC, rowid DESC LIMIT 1
                    ) AS answers
                    FROM {self._latest} l WHERE l.status = 'accepted' AND l.sha256 IS NOT NULL
                ) WHERE answers IS NOT NULL""",
            (rules,),
        )

    def submissions(self) -> list[tuple[str, str, str, str, dict]]:
        rows = self.db.execute(
            "SELECT dept_code, path, sha256, sent_at, answers FROM submissions ORDER BY dept_code"
        )
        return [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    # outputs people may edit -------------------------------------------------------------------------
    def note_written(self, outbox: Path, path: Path) -> None:
        """Remember the content dxsheets wrote at `path` (under `outbox`), to tell later whether someone
        has saved over it. Its own transaction."""
        with self.transaction():
            self.set_meta(_written_key(outbox, path), _file_sha256(path))

    def written_sha(self, outbox: Path, path: Path) -> str | None:
        """The SHA-256 of what dxsheets last wrote at `path`, or None when it has no record of writing it."""
        return self.get_meta(_written_key(outbox, path))

    def edited_since_written(self, outbox: Path, path: Path) -> bool:
        """True when `path` exists and is not what dxsheets last wrote there (someone saved it), or
        dxsheets never wrote it at all."""
        if not path.exists():
            return False
        return self.written_sha(outbox, path) != _file_sha256(path)

    def saved_over(self, outbox: Path, path: Path) -> bool:
        """True when dxsheets wrote `path` and someone has since saved other content into it (a file it
        has no record of writing is not said to be edited)."""
        recorded = self.written_sha(outbox, path)
        return recorded is not None and path.exists() and recorded != _file_sha256(path)

    def get_meta(self, key: str) -> str | None:
        r = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return r[0] if r else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
