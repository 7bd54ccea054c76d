"""The inbox: walking it, telling what each file is, and examining workbooks safely.

Nothing here writes to the inbox. Files are read into memory (bounded), their format decided from content,
and parsed in worker processes with a memory cap, so a hostile file can cost a worker, never the run.
Saved mails are opened in the workers too, by `mail`, whose limits bound what one mail costs; the
workbooks found in one go back to the parent, which hands each to the workers as a file of its own.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import itertools
import json
import os
import stat
import sys
import time
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import checks, mail, processes
from . import forms as F
from .archive import store
from .domain import ERROR, WARNING, Answers, Masters, Problem
from .errors import WorkspaceError
from .formread import read_form
from .text import quote
from .xlsxread import (
    FORMAT_ENCRYPTED,
    FORMAT_IRM,
    FORMAT_MSG,
    FORMAT_ODS,
    FORMAT_XLS,
    FORMAT_XLSB,
    FORMAT_XLSX,
    FORMAT_ZIP,
    MAX_COMPOUND_ENTRIES,
    OLE_MAGIC,
    ZIP_MAGIC,
    Limits,
    RawWorkbook,
    TooManyParts,
    WorkbookReadError,
    compound_file_entries,
    document_kind,
    read_workbook,
    refusal,
    sniff,
    zip_directory_size,
)

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
SETTLE_SECONDS = 60.0
WORKER_MEMORY_BYTES = 2 * 1024**3

# Fates a file can have in the ledger.
ACCEPTED, REJECTED, SUPERSEDED, DUPLICATE = "accepted", "rejected", "superseded", "duplicate"
UNSUPPORTED, IGNORED, PENDING = "unsupported", "ignored", "pending"
OK = "ok"  # examined without errors; collect decides accepted / superseded / duplicate


@dataclass
class Arrival:
    """A file that reached the inbox, or a workbook attached to a mail there."""

    path: str  # relative to the inbox, '/'-separated; attachments as "<mail>.eml/<attachment name>" (or .msg)
    source: Path
    size: int
    mtime: float
    sent_at: datetime  # the best evidence of when it was sent
    evidence: str  # "mail-date" or "file-time"
    # A mail attachment's content, read with its mail by a worker (None for a file): held only until it
    # is taken in, so a mail is parsed once a night.
    data: bytes | None = field(default=None, repr=False)
    fate: str | None = None  # decided without parsing: ignored / pending / unsupported / rejected
    problems: list[Problem] = field(default_factory=list)
    opened: bool = True  # False for what is never read, hashed or archived: links, pipes, unlisted folders
    # A saved mail (by its name): when it is to be read (no fate), a worker opens it (`open_mail`).
    mail: bool = False


@dataclass
class Examined:
    """What examining one workbook found."""

    fate: str  # OK, REJECTED or UNSUPPORTED
    problems: list[Problem]
    dept_code: str | None = None
    answers: Answers | None = None
    saved_at: datetime | None = None
    application: str | None = None

    def to_json(self) -> str:
        """The reading as the ledger stores it (JSON text)."""
        return json.dumps(
            {
                "fate": self.fate,
                "problems": [asdict(p) for p in self.problems],
                "dept_code": self.dept_code,
                "answers": checks.answers_to_json(self.answers) if self.answers else None,
                "saved_at": iso_utc(self.saved_at),
                "application": self.application,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, d: dict, answers: bool = True) -> Examined:
        """A stored reading; `answers=False` skips building the answers when only the fate is needed."""
        return cls(
            d["fate"],
            [Problem(**p) for p in d["problems"]],
            d["dept_code"],
            checks.answers_from_json(d["answers"]) if answers and d["answers"] else None,
            datetime.fromisoformat(d["saved_at"]) if d["saved_at"] else None,
            d["application"],
        )

    def without_answers(self) -> Examined:
        return Examined(self.fate, self.problems, self.dept_code, None, self.saved_at, self.application)


def iso_utc(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def _system_reason(name: str) -> str | None:
    lower = name.lower()
    if name.startswith("~$"):
        return "Excel が開いている間に作る一時ファイル（所有者ファイル）です。"
    if name.startswith(".~lock.") and name.endswith("#"):
        return "LibreOffice が開いている間に作るロックファイルです。"
    if name.startswith("._"):
        return "macOS が作る付随ファイル（AppleDouble）です。"
    if lower.endswith(".tmp") or lower in ("thumbs.db", "desktop.ini", ".ds_store"):
        return "OS やアプリケーションが作る一時・管理ファイルです。"
    return None


def _is_open_elsewhere(name: str, siblings: Collection[str]) -> bool:
    """Excel keeps `~$name` (long names: first two characters replaced) beside a workbook while it is open."""
    return any(c in siblings for c in (f"~${name}", f"~${name[2:]}", f".~lock.{name}#"))


def _problem(code: str, message: str, severity: str = ERROR) -> Problem:
    return Problem(code, severity, message)


def walk(inbox: Path) -> Iterator[tuple[Path, os.stat_result | None, frozenset[str]]]:
    """Everything below the inbox that is not a folder, in a stable order, with its own stat (`lstat`) and
    the names beside it; and every folder that cannot be listed, with None for its stat.

    Links are not followed (a link to a folder is an entry like a link to a file), so the walk never
    leaves the inbox. One directory listing per folder serves the lock-file check too, so a file costs one
    stat, however many checks it goes through.
    """

    def entries(folder: str) -> list[os.DirEntry[str]] | None:
        try:
            with os.scandir(folder) as it:
                return sorted(it, key=lambda e: e.name)
        except FileNotFoundError:
            return []  # vanished since it was listed: the next run sees what is there then
        except OSError as exc:
            if folder == str(inbox):  # nothing at all can be told: the run fails, it does not see 0 files
                raise WorkspaceError(
                    f"inbox（{inbox}）の中を読み取れません（{exc.strerror or type(exc).__name__}）。"
                    "アクセス権や共有フォルダの接続を確認してください。"
                ) from None
            return None  # cannot be listed (access rights, a broken network share): reported, not skipped

    stack = [str(inbox)]
    while stack:
        folder = stack.pop()
        listed = entries(folder)
        if listed is None:
            yield Path(folder), None, frozenset()
            continue
        names = frozenset(e.name for e in listed)
        subfolders = []
        for entry in listed:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                else:
                    yield Path(entry.path), entry.stat(follow_symlinks=False), names
            except OSError:
                continue  # vanished between listing and stat
        stack.extend(reversed(subfolders))


def scan(
    inbox: Path,
    limits: Limits,
    now: float | None = None,
    settle: float = SETTLE_SECONDS,
    seen_before: Callable[[str], tuple[int | None, float] | None] | None = None,
) -> Iterator[Arrival]:
    """Every arrival in the inbox, one at a time as the walk finds it. None is kept here, so memory does not
    grow with the number of files. A saved mail (.eml, .msg) comes unopened, marked `mail`; when it is
    to be read (no fate yet), `open_mail` (in a worker, or `open_mails` here) makes its attachments
    arrivals.

    Lock and system files are `ignored`; files changed within `settle` seconds or open in Excel are `pending`.
    A file time in the future (a clock ahead on the sender's PC or the file server) tells nothing about
    writing: such a file is `pending` when first seen and taken in once `seen_before(path)` (the ledger's
    last (size, mtime)) shows it unchanged.
    """
    now = time.time() if now is None else now
    root = len(str(inbox)) + 1
    for path, st, siblings in walk(inbox):
        rel = recordable(str(path)[root:].replace(os.sep, "/"))
        if st is None:
            yield _unlisted_folder(rel, path, now)
            continue
        sent = datetime.fromtimestamp(st.st_mtime, UTC)
        arrival = Arrival(rel, path, st.st_size, st.st_mtime, sent, "file-time", mail=mail.is_mail(path.name))
        if not stat.S_ISREG(st.st_mode):
            # Never opened: a link may point outside the inbox, and a pipe would block the run.
            arrival.fate, arrival.opened = UNSUPPORTED, False
            arrival.problems.append(_not_a_file_problem(st))
            yield arrival
            continue
        reason = _system_reason(path.name)
        if reason:
            arrival.fate = IGNORED
            arrival.problems.append(_problem("ignored", reason, "info"))
            yield arrival
            continue
        unsettled = _unsettled(rel, st, now, settle, seen_before)
        if unsettled:
            arrival.fate = PENDING
            arrival.problems.append(_problem("pending", unsettled, "info"))
            yield arrival
            continue
        if _is_open_elsewhere(path.name, siblings):
            arrival.fate = PENDING
            arrival.problems.append(
                _problem(
                    "pending",
                    "Excel 等で開かれています（ロックファイルあり）。閉じた後の回収で確認します。",
                    "info",
                )
            )
            yield arrival
            continue
        if st.st_size > limits.max_file_bytes * (4 if mail.is_mail(path.name) else 1):
            arrival.fate = REJECTED
            arrival.problems.append(
                _problem(
                    "file-too-large",
                    f"ファイルが大きすぎます（{st.st_size / 1024**2:.1f} MB）。課題抽出シートは通常 1 MB 未満です。"
                    "画像などを貼り付けていないか確認し、配布したシートで送り直してください。",
                )
            )
            yield arrival
            continue
        yield arrival


def _unsettled(
    rel: str,
    st: os.stat_result,
    now: float,
    settle: float,
    seen_before: Callable[[str], tuple[int | None, float] | None] | None,
) -> str | None:
    """Why a file may still be being written (its reason for `pending`), or None when it has settled."""
    if now - st.st_mtime >= settle:
        return None
    if st.st_mtime - now <= settle:
        return "コピー中または保存直後のファイルです。次回の回収で確認します。"
    seen = seen_before(rel) if seen_before is not None else None
    if seen is not None and seen[1] == st.st_mtime and seen[0] in (None, st.st_size):
        return None  # a time in the future, but unchanged since the last run: not being written
    when = datetime.fromtimestamp(st.st_mtime).astimezone()
    return (
        f"ファイルの更新日時が未来（{when:%Y/%m/%d %H:%M}）です（PC やサーバーの時計のずれ）。"
        "次回の回収で変わっていなければ取り込みます。"
    )


def recordable(name: str) -> str:
    """A name as the ledger, status and logs can store it (UTF-8).

    A name that is not UTF-8 on disk (a share mounted with another code page, a zip unpacked from Japanese
    Windows) reaches Python with its undecodable bytes as lone surrogates, which no UTF-8 writer takes:
    they are kept as ``\\xNN`` escapes, so the file is still read and recorded, and the name shows which
    bytes it has.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone UTF-16 surrogate, which Windows file names may hold
            return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return name


def _unlisted_folder(rel: str, path: Path, now: float) -> Arrival:
    """A folder whose content cannot be listed: recorded (as `<folder>/`, pending) so it is not unseen."""
    arrival = Arrival(rel + "/", path, 0, 0.0, datetime.fromtimestamp(now, UTC), "file-time")
    arrival.fate, arrival.opened = PENDING, False
    arrival.problems.append(
        _problem(
            "folder-unreadable",
            f"inbox のフォルダ「{rel}」の中を読み取れません（アクセス権やネットワークの切断など）。"
            "中のファイルは回収されていません。読み取れるようにすると、次回の回収で確認します。",
            WARNING,
        )
    )
    return arrival


def _not_a_file_problem(st: os.stat_result) -> Problem:
    if stat.S_ISLNK(st.st_mode):
        return _problem(
            "file-not-regular",
            "リンク（シンボリックリンク）です。リンク先は読みに行きません。ファイルそのものを inbox に置いてください。",
        )
    return _problem(
        "file-not-regular",
        "通常のファイルではありません（名前付きパイプ・デバイスなど）。読み取りません。返送されたファイルを置いてください。",
    )


# What a mail attachment is recorded as, whatever its name: a zipped return (with its password in another mail)
# too, to be told to unpack it.
_MAILED_RETURN_FORMATS = (
    FORMAT_XLSX,
    FORMAT_XLS,
    FORMAT_ENCRYPTED,
    FORMAT_IRM,
    FORMAT_ODS,
    FORMAT_XLSB,
    FORMAT_ZIP,
)
# Attachments that carry a return in a form it cannot be taken from, and what the promoter is told.
_CANNOT_TAKE = {
    # Outlook's rich text: the files travel inside winmail.dat, not as attachments.
    "winmail": (
        "mail-winmail-dat",
        "添付が winmail.dat になっていて、課題抽出シートを取り出せません（Outlook のリッチテキスト形式で"
        "送られたメール）。メールの形式を HTML かテキストにして、シートを添付し直して送ってください。",
    ),
    "smime": (
        "mail-smime",
        "S/MIME で暗号化された（または署名の中に本文を包んだ）メールのため、添付の課題抽出シートを"
        "取り出せません。暗号化せずに送り直してもらうか、メールソフトで開いて添付のシートを保存し、"
        "inbox に置いてください。",
    ),
    # Outlook attached a link to the file (a OneDrive or SharePoint share link), not the file.
    "link": (
        "mail-attachment-link",
        "添付がファイルではなくリンク（OneDrive などの共有リンク）になっていて、課題抽出シートを"
        "取り出せません。Outlook で添付するときに「コピーとして添付」を選び、シートそのものを"
        "添付して送り直してください。",
    ),
}


def open_mails(arrivals: Iterable[Arrival]) -> Iterator[Arrival]:
    """`arrivals` with every mail to be read replaced by what `open_mail` makes of it, in this process:
    what collect records, for tools and tests (collect opens mails in its workers)."""
    for arrival in arrivals:
        if not arrival.mail or arrival.fate is not None:
            yield arrival
            continue
        try:
            raw = arrival.source.read_bytes()
        except OSError:
            arrival.fate = PENDING
            arrival.problems.extend(unread().problems)
            yield arrival
            continue
        opened = open_mail(raw, arrival.path, arrival.source, arrival.mtime)
        if isinstance(opened, list):
            yield from opened
            continue
        if opened is not None:
            arrival.fate, arrival.problems = opened.fate, opened.problems
        arrival.mail = False
        yield arrival


def open_mail(raw: bytes, rel: str, source: Path, mtime: float) -> list[Arrival] | Examined | None:
    """Open a saved mail (`raw`, the file `rel` in the inbox, at `source`, last modified at `mtime`).

    Returns:
        the arrivals of its attachments that are (or carry) a return, each with its content; or the mail's
        own fate when none is taken from it (damaged, too large, no workbook attached); or None when it is
        no mail at all but a zip or an OLE2 file (a workbook named .eml): its content decides, as a file.
    """
    try:
        found = mail.contents(raw, datetime.fromtimestamp(mtime, UTC))
        if found is None:
            return None
        # Read as they are listed: a mail within this one is opened, and counted, when its turn comes.
        out, skipped = _attachment_arrivals(found, source, rel, mtime)
    except (TooManyParts, mail.TooManyLines, mail.HeaderTooLarge) as exc:
        return Examined(REJECTED, [_too_large_mail(exc)])
    except Exception as exc:  # a mail file can be damaged in more ways than the parsers name
        return Examined(REJECTED, [_unreadable_mail(exc)])
    if not out:
        return Examined(
            UNSUPPORTED,
            [
                _problem(
                    "mail-no-workbook",
                    f"メールに Excel ブックの添付がありません{_attached(skipped)}。"
                    "課題抽出シート（Excel ブック）を添付して送り直してください。",
                )
            ],
        )
    return out


_MAX_ZIP_ENTRIES_LISTED = 10_000  # ~40 ms of zipfile


def _attachment_arrivals(
    found: Iterable[mail.Attachment], path: Path, rel: str, mtime: float
) -> tuple[list[Arrival], list[str]]:
    """The arrivals of a mail's attachments that are (or carry) a return, and the names of the others."""
    file_time = datetime.fromtimestamp(mtime, UTC)
    out: list[Arrival] = []
    skipped: list[str] = []
    seen: dict[str, int] = {}
    # Telling an attachment's format lists its directory (olefile: 0.06 s for 2,000 OLE2 entries; zipfile:
    # 2 ms for 500 zip entries): up to so many entries a mail; past them the rest are taken in as possible
    # workbooks, unopened, each read as a file of its own (where a hostile one costs only itself).
    ole_entries, zip_entries = MAX_COMPOUND_ENTRIES, _MAX_ZIP_ENTRIES_LISTED
    for attached in found:
        name = _bounded((attached.name or "無題").replace("/", "_").replace("\\", "_"))
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{seen[name]}_{name}"
        data = attached.data
        suffix = Path(name).suffix.lower()
        if data.startswith(OLE_MAGIC):
            ole_entries -= compound_file_entries(data) or 0
            kind = FORMAT_XLS if ole_entries < 0 else sniff(data)
        elif data.startswith(ZIP_MAGIC):
            zip_entries -= (zip_directory_size(data) or (0, 0))[0]
            kind = FORMAT_XLSX if zip_entries < 0 else sniff(data)
        else:
            kind = sniff(data)
        winmail = mail.is_winmail_dat(attached.mime, name, data)
        smime = mail.is_smime(attached.mime, name)
        if not (winmail or smime or suffix in WORKBOOK_SUFFIXES or kind in _MAILED_RETURN_FORMATS):
            skipped.append(name)
            continue  # signature images, PDFs: not a return, and the mail itself is in the ledger below
        sent = attached.sent
        a = Arrival(
            f"{rel}/{name}",
            path,
            len(data),
            mtime,
            sent or file_time,
            "mail-date" if sent else "file-time",
            data=data,
        )
        reason = _system_reason(name)
        cannot = "winmail" if winmail else "smime" if smime else "link" if attached.link else None
        if cannot:
            # Recorded (and archived) so the return is not taken for a mail sent without one.
            a.fate = UNSUPPORTED
            a.problems.append(_problem(*_CANNOT_TAKE[cannot]))
        elif reason:
            a.fate = IGNORED
            a.problems.append(_problem("ignored", reason, "info"))
        out.append(a)
    return out, skipped


def _too_large_mail(exc: Exception) -> Problem:
    """A mail refused before it was parsed, by what it has too much of."""
    if isinstance(exc, TooManyParts):
        code, what = (
            "mail-too-many-parts",
            f"メールの部品（添付やその中身）が多すぎる（上限 {exc.limit:,} 個）",
        )
    elif isinstance(exc, mail.TooManyLines):
        code, what = "file-too-large", f"メールが大きすぎる（{mail.MAX_MAIL_LINES:,} 行超）"
    else:
        code, what = "mail-header-too-large", "メールの添付の名前や種類を書いた部分（ヘッダー）が異常に長い"
    return _problem(
        code,
        f"{what}ため開きません。課題抽出シートだけを添付して送り直してもらうか、添付のシートを保存して"
        " inbox に置いてください。",
    )


_MAX_NAME = 255  # characters of an attachment's name, as of a Windows file name


def _bounded(name: str) -> str:
    """An attachment's name as long as a file name can be, its suffix kept: a mail can name one with half
    a million characters, which would become a path in the ledger, the status and the summary."""
    if len(name) <= _MAX_NAME:
        return name
    suffix = Path(name).suffix[:16]
    return name[: _MAX_NAME - len(suffix) - 1] + "…" + suffix


def _unreadable_mail(exc: Exception) -> Problem:
    return _problem(
        "mail-unreadable",
        "メールファイルとして読めません。壊れているか、コピーが途中で止まった可能性があります。"
        f"メールソフトから保存し直して inbox に置いてください。（技術情報: {type(exc).__name__}）",
    )


def _attached(names: list[str]) -> str:
    """What a mail without a workbook did carry, for its message: "（添付: 回答.pdf、写真.jpg）"."""
    if not names:
        return ""
    shown = "、".join(n[:40] for n in names[:3])
    return f"（添付: {shown}{' ほか' if len(names) > 3 else ''}）"


# --- examining a workbook (runs in worker processes) -------------------------------------------------------

_READ_MESSAGES = {
    "empty-file": ("file-empty", "ファイルが空（0 バイト）です。保存し直して送ってください。"),
    "not-a-workbook": (
        "file-not-workbook",
        "Excel ブック（.xlsx）ではありません。CSV や HTML、壊れたファイルの可能性があります。配布したシートに入力して .xlsx で保存し送ってください。",
    ),
    "encrypted": (
        "file-encrypted",
        "パスワードで保護されているため開けません。パスワードを外して保存し直し、送ってください。",
    ),
    "irm": (
        "file-irm",
        "秘密度ラベル（権利管理による暗号化）で保護されているため開けません。Excel の［ホーム］→［秘密度］で"
        "暗号化しないラベルに変えて保存し直し、送ってください。変えられないときは情報システムの担当に"
        "相談してください。",
    ),
    "legacy-xls": (
        "file-legacy-xls",
        "古い Excel 形式（.xls）です。配布したシートを「Excel ブック（*.xlsx）」形式で保存して送ってください。",
    ),
    "outlook-msg": (
        "file-outlook-msg",
        "Outlook のメール（.msg）ですが、ファイル名が .msg で終わっていないため開きませんでした。"
        "名前の末尾を .msg に変えるか、添付の課題抽出シート（Excel ブック）を保存して inbox に置いてください。",
    ),
    "xlsb": (
        "file-xlsb",
        "Excel バイナリブック（.xlsb）形式です。配布したシートを「Excel ブック（*.xlsx）」形式で保存して送ってください。",
    ),
    "ods": (
        "file-ods",
        "OpenDocument 形式（.ods）です。LibreOffice の「名前を付けて保存」で「Excel 2007-365 (.xlsx)」を選んで保存し、送ってください。",
    ),
    "truncated": (
        "file-truncated",
        "ファイルが途中で切れています（コピーや添付の途中など）。もう一度保存して送り直してください。",
    ),
    "zip-bomb": (
        "file-zip-bomb",
        "展開すると異常に大きくなるファイルのため、安全のため読み込みませんでした。配布したシートに入力して送り直してください。",
    ),
    "doctype": (
        "file-doctype",
        "ファイル内に通常の Excel が作らない記述（DOCTYPE）があるため、安全のため読み込みませんでした。配布したシートに入力して送り直してください。",
    ),
    "xml-malformed": (
        "file-xml-malformed",
        "ファイルの中身が壊れています。Excel で開けるか確認し、保存し直して送ってください。",
    ),
    "missing-part": (
        "file-missing-part",
        "ブックの一部（シートなど）が欠けています。Excel で開けるか確認し、保存し直して送ってください。",
    ),
    "sheet-too-large": (
        "file-sheet-too-large",
        "シートの使用範囲が異常に広い（遠くのセルに入力がある）ため読み込みませんでした。不要なセルを削除して保存し直してください。",
    ),
    "too-large-file": ("file-too-large", "ファイルが大きすぎます。配布したシートで送り直してください。"),
}


def _read_problem(exc: WorkbookReadError) -> Problem:
    code, message = _READ_MESSAGES.get(exc.code, ("file-not-workbook", "ファイルを読み込めませんでした。"))
    if exc.code == "sheet-too-large" and exc.where:  # say where, so it can be found and cleared
        message = (
            f"シートの使用範囲が異常に広い（{exc.where}まで入力や書式がある）ため読み込みませんでした。"
            "そこまでの不要な行・列を削除して保存し直してください。"
        )
    elif exc.code == "sheet-too-large" and exc.sheet:  # too many cells, however near
        message = (
            f"シート「{exc.sheet}」のセル（書式だけを設定したものを含む）が多すぎるため読み込みませんでした。"
            "不要な行・列を削除して保存し直してください。"
        )
    return Problem(code, ERROR, message, exc.sheet, exc.cell)


# Formats that are not read but answered with what to send instead (fate `unsupported`), by message key.
_UNSUPPORTED_FORMATS = {
    FORMAT_XLS: "legacy-xls",
    FORMAT_ODS: "ods",
    FORMAT_XLSB: "xlsb",
    FORMAT_MSG: "outlook-msg",
}


def examine(data: bytes, masters: Masters, secret: bytes, limits: Limits | None = None) -> Examined:
    """Everything dxsheets checks about one returned workbook, from bytes to answers and problems."""
    limits = limits or Limits()
    if data.startswith(ZIP_MAGIC):
        # The common case, a zip: read it straight away (sniffing would open the zip a second time) and
        # look closer only when it is not a workbook, to tell an OpenDocument file from a broken one.
        try:
            raw = read_workbook(
                data, limits, names=F.READ_NAMES, below=F.READ_BELOW, left=F.READ_LEFT, outside=True
            )
        except WorkbookReadError as exc:
            if exc.code == "zip-archive":
                return Examined(UNSUPPORTED, [_zip_archive_problem(data)])
            kind = sniff(data)
            if kind in _UNSUPPORTED_FORMATS:  # a spreadsheet we do not read: OpenDocument, Excel binary
                return _unsupported_format(kind)
            document = document_kind(data)
            if document is not None:
                return Examined(UNSUPPORTED, [_document_problem(document)])
            return Examined(REJECTED, [_read_problem(exc)])
        return _examine_form(raw, masters, secret)
    document = document_kind(data)
    if document is not None:
        return Examined(UNSUPPORTED, [_document_problem(document)])
    kind = sniff(data)
    if kind in _UNSUPPORTED_FORMATS:
        return _unsupported_format(kind)
    # Not a zip, so no workbook we read: empty, under a password or a sensitivity label, or something else.
    return Examined(REJECTED, [_read_problem(refusal(kind))])


def _unsupported_format(kind: str) -> Examined:
    """A spreadsheet format dxsheets does not read, answered with what to send instead."""
    code, message = _READ_MESSAGES[_UNSUPPORTED_FORMATS[kind]]
    return Examined(UNSUPPORTED, [Problem(code, ERROR, message)])


_DOCUMENT_NAMES = {
    "pdf": "PDF ファイル",
    "image": "画像ファイル（写真・画面のコピーなど）",
    "word": "Word の文書",
    "powerpoint": "PowerPoint の資料",
}


def _document_problem(kind: str) -> Problem:
    """A document sent instead of the workbook: say what it is, and that only the workbook can be read."""
    return Problem(
        "file-unsupported-type",
        ERROR,
        f"{_DOCUMENT_NAMES[kind]}です。Excel ブックではないため、回答を読み取れません。印刷・PDF 化・写真・"
        "貼り付けをしたものではなく、配布した課題抽出シート（Excel）に入力して、.xlsx のまま送ってください。",
    )


def _zip_archive_problem(data: bytes) -> Problem:
    """Ask for a zip archive to be unpacked, naming what it holds (names only: nothing is extracted)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        infos = []
    names = [_zip_member_name(i) for i in infos[:3]]
    held = f"（中身: {'、'.join(names)}{' ほか' if len(infos) > 3 else ''}）" if names else ""
    locked = any(i.flag_bits & 0x1 for i in infos)
    return Problem(
        "file-zip-archive",
        ERROR,
        ("パスワード付きの " if locked else "")
        + f"ZIP 圧縮ファイルです{held}。展開して、中の課題抽出シート（Excel ブック）を inbox に置いてください。",
    )


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its sender saw it: Japanese Windows writes names in cp932 without saying so."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("cp932")
    return quote(name.rsplit("/", 1)[-1], 60)


def _examine_form(raw: RawWorkbook, masters: Masters, secret: bytes) -> Examined:
    values, structural = read_form(raw)
    ident = checks.identity_of(values)
    identity_problems = checks.check_identity(ident, masters, secret)
    if identity_problems:
        return Examined(REJECTED, identity_problems, saved_at=raw.core_modified, application=raw.application)
    assert ident is not None
    answers, problems = checks.check_values(values, masters, raw.date1904)
    answers.dept_code = ident.dept_code
    problems = structural + problems
    fate = REJECTED if checks.has_errors(problems) else OK
    return Examined(fate, problems, ident.dept_code, answers, raw.core_modified, raw.application)


def _limit_worker_memory() -> None:
    if sys.platform.startswith("linux"):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))


def _allow_cpu(seconds: int) -> None:
    """Let this worker's CPU time grow by `seconds` from now, no more: past that the kernel stops it
    (SIGXCPU), which costs only the file it was reading, recorded as `file-reader-crashed` (see
    take_in_all). Set before each file, so it bounds one file, not the worker's life: no file known takes
    a tenth of a second, but a reader caught in a loop nobody has found yet must not hold the night."""
    if sys.platform == "win32":
        return
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime) + 1 + seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


@dataclass(frozen=True)
class Intake:
    """What every worker needs, sent once per worker rather than once per file."""

    masters: Masters
    secret: bytes
    archive: Path
    known: frozenset[str] = frozenset()  # contents already examined under the current rules and masters
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Item:
    """One workbook to take in: a file the worker reads, or bytes already in memory (a mail attachment);
    or a saved mail to open."""

    key: str
    path: Path | None = None
    data: bytes | None = None
    suffix: str = ".xlsx"
    mail_time: float | None = None  # a saved mail: its file time (see `open_mail`)
    # A saved mail read into its attachments' rows before: that content's SHA-256 (`Ledger.opened_mail`).
    # Found again, it is not opened.
    mail_sha: str | None = None


@dataclass
class Taken:
    """One workbook taken in, as a worker sends it back: small, so the parent does little per file. Or a
    mail opened: its attachments, which the parent hands back to the workers one by one."""

    sha256: str | None  # None: the file could not be read at all (moved away mid-run): left pending
    archive: str | None  # relative to the outbox, e.g. archive/ab/ab12….xlsx
    examined: Examined | None  # without answers; None: the content was examined before (see the ledger)
    reading: str | None = None  # a new reading as the ledger stores it (JSON, with the answers)
    attachments: list[Arrival] | None = None  # a mail's workbooks, with their content (see `open_mail`)
    unchanged: bool = False  # a mail whose content is its `Item.mail_sha`: not opened, its rows stand


# What the one who sent it can do about a file (a mail) whose reading a worker did not survive.
_CRASHED_ADVICE = "ファイルが壊れている可能性があります。Excel で開けるか確認し、配布したシートに入力して送り直してください。"
_CRASHED_MAIL_ADVICE = "メールが壊れているか、異常な作りの可能性があります。添付の課題抽出シートを保存して inbox に置いてください。"
_CRASHED = Problem(
    "file-reader-crashed", ERROR, "このファイルを読み取る処理が異常終了しました。" + _CRASHED_ADVICE
)


def _keep(item: Item, intake: Intake) -> tuple[bytes, str, str] | None:
    """Read, hash and archive one workbook: (content, sha256, archive path), or None if it cannot be read."""
    try:
        data = item.data if item.data is not None else item.path.read_bytes()  # type: ignore[union-attr]
    except OSError:
        return None  # seen by the walk, gone or locked when read
    sha = hashlib.sha256(data).hexdigest()
    return data, sha, store(intake.archive, sha, item.suffix, data=data)


def unread() -> Examined:
    """A file seen by the walk but gone, locked or changed when it was to be read: the next run sees it
    again (or its absence)."""
    return Examined(
        PENDING,
        [
            Problem(
                "pending",
                "info",
                "ファイルを読み取れませんでした（移動・コピーの途中など）。次回の回収で確認します。",
            )
        ],
    )


def _unreadable() -> Taken:
    return Taken(None, None, unread())


def take_in(item: Item, intake: Intake) -> Taken:
    """Read, hash, archive and (unless known) examine one workbook. Runs in a worker process.

    Examining is serialised here, in the worker: the parent only stores the JSON text and the fate.
    """
    if item.mail_time is not None:
        return _open_mail_item(item, intake)
    kept = _keep(item, intake)
    if kept is None:
        return _unreadable()
    data, sha, archived = kept
    if sha in intake.known:
        return Taken(sha, archived, None)
    try:
        e = examine(data, intake.masters, intake.secret, intake.limits)
    except MemoryError:
        e = Examined(REJECTED, [Problem("file-zip-bomb", ERROR, _READ_MESSAGES["zip-bomb"][1])])
    except Exception:  # a bug in a rule must not lose the file, nor the other files of its batch
        e = Examined(REJECTED, [_CRASHED])
    return Taken(sha, archived, e.without_answers(), e.to_json())


def _open_mail_item(item: Item, intake: Intake) -> Taken:
    """Open a saved mail in a worker, where its time, memory and a crash of its parser are bounded as a
    workbook's are. Its workbooks go back to the parent (`Taken.attachments`), each to be taken in as a
    file of its own; a mail none is taken from is hashed and archived with its fate."""
    assert item.path is not None and item.mail_time is not None
    try:
        raw = item.path.read_bytes()
    except OSError:
        return _unreadable()
    sha = hashlib.sha256(raw).hexdigest()
    if sha == item.mail_sha:  # read into its attachments' rows before, and unchanged since
        return Taken(sha, None, None, unchanged=True)
    if sha in intake.known:  # it broke a worker before (`_crashed`): its fate stands, not read again
        return Taken(sha, store(intake.archive, sha, item.suffix, data=raw), None)
    opened = open_mail(raw, item.key, item.path, item.mail_time)
    if opened is None:  # no mail: a workbook named .eml or .msg, taken in as what its content is
        return take_in(Item(item.key, None, raw, item.suffix), intake)
    if isinstance(opened, list):
        return Taken(sha, None, None, attachments=opened)
    # Its fate (damaged, too large, no workbook) is its content's, stored as a reading: not opened again.
    return Taken(sha, store(intake.archive, sha, item.suffix, data=raw), opened, opened.to_json())


_intake: Intake | None = None
_WORKER_GC_THRESHOLD = 50_000  # allocations between young collections (Python's default: 700)


def _init_worker(intake: Intake) -> None:
    global _intake
    _intake = intake
    _limit_worker_memory()
    if sys.platform != "win32":  # a worker stopped for its CPU time leaves no core file behind
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # What the worker inherited from the parent (modules, masters) lives as long as the worker: frozen, the
    # cycle collector never walks it again (nor writes to its pages, which the fork shares). Reading makes
    # almost no reference cycles, so collections can be rarer too; refcounting frees each file's objects.
    gc.freeze()
    gc.set_threshold(_WORKER_GC_THRESHOLD, 50, 1000)


def _task(items: list[Item]) -> list[tuple[str, Taken]]:
    assert _intake is not None
    done = []
    for item in items:
        _allow_cpu(_intake.limits.max_cpu_seconds)  # here, in a worker only: never in the main process
        done.append((item.key, take_in(item, _intake)))
    return done


def _crashed(item: Item, intake: Intake, stalled: bool = False) -> Taken:
    """The record of a file whose reading killed a worker, or (`stalled`) made it stop finishing anything
    for `limits.max_stall_seconds`: hashed and archived here, without parsing it."""
    kept = _keep(item, intake)
    if kept is None:
        return _unreadable()
    _, sha, archived = kept
    what, advice = (
        ("ファイル", _CRASHED_ADVICE) if item.mail_time is None else ("メール", _CRASHED_MAIL_ADVICE)
    )
    if stalled:
        seconds = intake.limits.max_stall_seconds
        happened = f"この{what}の読み取りが {seconds:g} 秒たっても終わらなかったため、処理を止めました。"
    else:
        happened = f"この{what}を読み取る処理が異常終了しました。"
    e = Examined(REJECTED, [Problem("file-reader-crashed", ERROR, happened + advice)])
    return Taken(sha, archived, e, e.to_json())


# Files go to the workers in batches: one message per batch instead of per file keeps the parent's share of
# the work small (it shares the cores with the workers).
BATCH = 16


def take_in_all(
    items: Iterable[Item | None],
    intake: Intake,
    jobs: int | None = None,
    on_result: Callable[[str, Taken], None] | None = None,
    batch: int = BATCH,
) -> dict[str, Taken]:
    """Take in workbooks in worker processes; a worker that dies costs only the file it was reading.

    Reading, hashing, archiving, examining and serialising all happen in the workers, so they run on every
    core. `items` is consumed lazily with a bounded number in flight, so memory stays flat however many
    files there are. When the pool breaks (a worker died, or all of them were stopped after
    `limits.max_stall_seconds` without finishing anything), the files in flight are taken in again one at
    a time in a fresh worker: the one that breaks it is recorded as `file-reader-crashed`, the others are
    read normally.

    `items` may yield None: nothing to send until a result in flight comes in (a mail being opened, whose
    workbooks `on_result` adds to what `items` yields next).

    Returns:
        Every result by key, unless `on_result` is given: then each goes to it and none is kept.
    """
    results: dict[str, Taken] = {}

    def done(key: str, taken: Taken) -> None:
        if on_result:
            on_result(key, taken)  # the caller records it: nothing is kept here, memory stays flat
        else:
            results[key] = taken

    jobs = max(1, jobs or os.cpu_count() or 1)
    source: Iterator[Item | None] = iter(items)
    while True:
        end = _run_pool(source, intake, jobs, batch, done)
        # At once, before the rest: a mail among them is what `items` may be waiting for.
        _one_at_a_time(end.broken, intake, done)
        source = itertools.chain(end.unsent, source)
        if end.exhausted and not end.unsent:
            break
    return results


def _one_at_a_time(suspects: list[Item], intake: Intake, done: Callable[[str, Taken], None]) -> None:
    """Take in the files in flight when a pool broke, one at a time: when the pool breaks now, the file
    in flight is the culprit."""
    queue: Iterator[Item | None] = iter(suspects)
    while True:
        end = _run_pool(queue, intake, 1, 1, done, window=1)
        for item in end.broken:
            done(item.key, _crashed(item, intake, end.stalled))
        queue = itertools.chain(end.unsent, queue)  # never sent: not a culprit, it runs in the next pool
        if end.exhausted and not end.unsent:
            break


def _next_batch(source: Iterator[Item | None], batch: int) -> tuple[list[Item], bool]:
    """Up to `batch` items from `source`: (the items, whether it said to wait for a result)."""
    chunk: list[Item] = []
    for item in source:
        if item is None:
            return chunk, True
        chunk.append(item)
        if len(chunk) == batch:
            return chunk, False
    return chunk, False


@dataclass
class _PoolEnd:
    """How a pool's run ended."""

    broken: list[Item]  # in flight when the pool broke (a worker died or was stopped)
    unsent: list[Item]  # taken from the source but never sent
    exhausted: bool  # the source has nothing more
    stalled: bool = False  # it broke because its workers were stopped, nothing having finished in time


def _run_pool(
    source: Iterator[Item | None],
    intake: Intake,
    jobs: int,
    batch: int,
    done: Callable[[str, Taken], None],
    window: int | None = None,
) -> _PoolEnd:
    """Feed `source` through one pool in batches (None from it: wait for a result before asking again)."""
    window = window or jobs * 4  # batches in flight: enough to keep every worker busy, bounded memory
    before = processes.children()  # told from the pool's workers, should they have to be stopped
    with processes.pool(jobs, _init_worker, (intake,)) as pool:
        flight: dict[Future[list[tuple[str, Taken]]], list[Item]] = {}
        exhausted = stalled = False
        while True:
            while not exhausted and len(flight) < window:
                chunk, waits = _next_batch(source, batch)
                exhausted = not chunk and not waits
                if chunk:
                    try:
                        flight[pool.submit(_task, chunk)] = chunk
                    except BrokenProcessPool:  # a worker died since the last wait: this batch never ran
                        return _PoolEnd([i for c in flight.values() for i in c], chunk, False)
                if waits:
                    break
            if not flight:
                if not exhausted:  # waiting for a result when none can come: a bug of the caller's
                    raise RuntimeError("take_in_all: items wait for a result with nothing in flight")
                return _PoolEnd([], [], exhausted)
            finished, _ = wait(flight, timeout=intake.limits.max_stall_seconds, return_when=FIRST_COMPLETED)
            if not finished:  # nothing finished for the stall time: the workers still busy are stuck.
                # Stopping them breaks the pool, which is handled below as a worker's death.
                processes.stop(pool, before)
                stalled = True
                finished, _ = wait(flight, return_when=FIRST_COMPLETED)
            for fut in finished:
                chunk = flight.pop(fut)
                try:
                    taken = fut.result()
                except BrokenProcessPool:
                    broken = [*chunk, *(i for c in flight.values() for i in c)]
                    for other in flight:
                        other.cancel()
                    return _PoolEnd(broken, [], exhausted, stalled)
                except (
                    Exception
                ):  # not from examining (caught in the worker): e.g. a result that fails to pickle
                    for item in chunk:
                        done(item.key, _crashed(item, intake))
                else:
                    for key, t in taken:
                        done(key, t)
