"""The inbox: walking it, telling what each file is, and examining workbooks safely.

Nothing here writes to the inbox. Files are read into memory (bounded), their format decided from content,
and parsed in worker processes with a memory cap, so a hostile file can cost a worker, never the run.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from . import checks
from .archive import store
from .domain import ERROR, Answers, Masters, Problem
from .formread import read_form
from .xlsxread import (
    FORMAT_EMPTY,
    FORMAT_ENCRYPTED,
    FORMAT_ODS,
    FORMAT_XLS,
    FORMAT_XLSX,
    Limits,
    RawWorkbook,
    WorkbookReadError,
    read_workbook,
    sniff,
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

    path: str  # relative to the inbox, '/'-separated; attachments as "<mail>.eml/<attachment name>"
    source: Path
    size: int
    mtime: float
    sent_at: datetime  # the best evidence of when it was sent
    evidence: str  # "mail-date" or "file-time"
    member: int | None = None  # for a mail attachment: its position among the mail's attachments
    fate: str | None = None  # decided without parsing: ignored / pending / unsupported / rejected
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Examined:
    """What examining one workbook found."""

    fate: str  # OK, REJECTED or UNSUPPORTED
    problems: list[Problem]
    dept_code: str | None = None
    answers: Answers | None = None
    saved_at: datetime | None = None
    application: str | None = None


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


def _is_open_elsewhere(path: Path) -> bool:
    """Excel keeps `~$name` (long names: first two characters replaced) beside a workbook while it is open."""
    name = path.name
    return any((path.parent / c).exists() for c in (f"~${name}", f"~${name[2:]}", f".~lock.{name}#"))


def _problem(code: str, message: str, severity: str = ERROR) -> Problem:
    return Problem(code, severity, message)


def walk(inbox: Path) -> Iterator[Path]:
    """Every regular file below the inbox, in a stable order; links are not followed out of it."""
    for dirpath, dirnames, filenames in os.walk(inbox):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def scan(
    inbox: Path, limits: Limits, now: float | None = None, settle: float = SETTLE_SECONDS
) -> list[Arrival]:
    """Every arrival in the inbox: files, and the workbooks attached to .eml files.

    Lock and system files are `ignored`; files changed within `settle` seconds or open in Excel are `pending`.
    """
    now = time.time() if now is None else now
    out: list[Arrival] = []
    for path in walk(inbox):
        rel = path.relative_to(inbox).as_posix()
        try:
            st = path.stat()
        except OSError:
            continue  # vanished between walk and stat: the next run sees it or its absence
        sent = datetime.fromtimestamp(st.st_mtime, UTC)
        arrival = Arrival(rel, path, st.st_size, st.st_mtime, sent, "file-time")
        out.append(arrival)
        reason = _system_reason(path.name)
        if reason:
            arrival.fate = IGNORED
            arrival.problems.append(_problem("ignored", reason, "info"))
            continue
        if now - st.st_mtime < settle:
            arrival.fate = PENDING
            arrival.problems.append(
                _problem("pending", "コピー中または保存直後のファイルです。次回の回収で確認します。", "info")
            )
            continue
        if _is_open_elsewhere(path):
            arrival.fate = PENDING
            arrival.problems.append(
                _problem(
                    "pending",
                    "Excel 等で開かれています（ロックファイルあり）。閉じた後の回収で確認します。",
                    "info",
                )
            )
            continue
        if st.st_size > limits.max_file_bytes * (4 if path.suffix.lower() == ".eml" else 1):
            arrival.fate = REJECTED
            arrival.problems.append(
                _problem(
                    "file-too-large",
                    f"ファイルが大きすぎます（{st.st_size / 1024**2:.1f} MB）。課題抽出シートは通常 1 MB 未満です。"
                    "画像などを貼り付けていないか確認し、配布したシートで送り直してください。",
                )
            )
            continue
        if path.suffix.lower() == ".eml":
            out.pop()
            out.extend(_mail_arrivals(path, rel, st, limits))
    return out


def attachment_bytes(mail: Path, member: int) -> bytes:
    """The content of a mail's `member`-th attachment (as numbered by the inbox walk)."""
    msg = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    part = list(msg.iter_attachments())[member]
    return _payload(part)


def _payload(part: Any) -> bytes:
    """An attachment's decoded bytes (b"" when it cannot be decoded)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def _mail_arrivals(path: Path, rel: str, st: os.stat_result, limits: Limits) -> list[Arrival]:
    file_time = datetime.fromtimestamp(st.st_mtime, UTC)
    container = Arrival(rel, path, st.st_size, st.st_mtime, file_time, "file-time")
    try:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        date_header = msg.get("Date")
        sent = parsedate_to_datetime(str(date_header)) if date_header else None
        if sent is not None and sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        attachments = list(msg.iter_attachments())
    except Exception as exc:  # a mail file can be damaged in more ways than the parser names
        container.fate = REJECTED
        container.problems.append(
            _problem("file-not-workbook", f"メールファイルとして読めません（{type(exc).__name__}）。")
        )
        return [container]
    out: list[Arrival] = []
    seen: dict[str, int] = {}
    for index, part in enumerate(attachments):
        name = part.get_filename() or "無題"
        name = name.replace("/", "_").replace("\\", "_")
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{seen[name]}_{name}"
        data = _payload(part)
        suffix = Path(name).suffix.lower()
        kind = sniff(data)
        if suffix not in WORKBOOK_SUFFIXES and kind not in (
            FORMAT_XLSX,
            FORMAT_XLS,
            FORMAT_ENCRYPTED,
            FORMAT_ODS,
        ):
            continue  # signature images, PDFs: not a return, and the mail itself is in the ledger below
        # The content is not kept: it is read again from the mail when it is taken in, so memory does not
        # grow with the number of mails in the inbox.
        a = Arrival(
            f"{rel}/{name}",
            path,
            len(data),
            st.st_mtime,
            sent or file_time,
            "mail-date" if sent else "file-time",
            member=index,
        )
        reason = _system_reason(name)
        if reason:
            a.fate = IGNORED
            a.problems.append(_problem("ignored", reason, "info"))
        out.append(a)
    if not out:
        container.fate = UNSUPPORTED
        container.problems.append(
            _problem(
                "mail-no-workbook",
                "メールに Excel ブックの添付がありません。課題抽出シートを添付して送り直してください。",
            )
        )
        return [container]
    return out


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
    "legacy-xls": (
        "file-legacy-xls",
        "古い Excel 形式（.xls）です。配布したシートを「Excel ブック（*.xlsx）」形式で保存して送ってください。",
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
    return Problem(code, ERROR, message)


def examine(data: bytes, masters: Masters, secret: bytes, limits: Limits | None = None) -> Examined:
    """Everything dxsheets checks about one returned workbook, from bytes to answers and problems."""
    limits = limits or Limits()
    if data.startswith(b"PK\x03\x04"):
        # The common case, a zip: read it straight away (sniffing would open the zip a second time) and
        # look closer only when it is not a workbook, to tell an OpenDocument file from a broken one.
        try:
            raw = read_workbook(data, limits)
        except WorkbookReadError as exc:
            if sniff(data) == FORMAT_ODS:
                code, message = _READ_MESSAGES["ods"]
                return Examined(UNSUPPORTED, [Problem(code, ERROR, message)])
            return Examined(REJECTED, [_read_problem(exc)])
        return _examine_form(raw, masters, secret)
    kind = sniff(data)
    if kind == FORMAT_EMPTY:
        return Examined(REJECTED, [Problem("file-empty", ERROR, _READ_MESSAGES["empty-file"][1])])
    if kind in (FORMAT_XLS, FORMAT_ODS):
        code, message = _READ_MESSAGES["legacy-xls" if kind == FORMAT_XLS else "ods"]
        return Examined(UNSUPPORTED, [Problem(code, ERROR, message)])
    if kind == FORMAT_ENCRYPTED:
        return Examined(REJECTED, [Problem("file-encrypted", ERROR, _READ_MESSAGES["encrypted"][1])])
    if kind != FORMAT_XLSX:
        return Examined(REJECTED, [Problem("file-not-workbook", ERROR, _READ_MESSAGES["not-a-workbook"][1])])
    try:
        raw = read_workbook(data, limits)
    except WorkbookReadError as exc:
        return Examined(REJECTED, [_read_problem(exc)])
    return _examine_form(raw, masters, secret)


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
    """One workbook to take in: a file the worker reads, or bytes already in memory (a mail attachment)."""

    key: str
    path: Path | None = None
    data: bytes | None = None
    suffix: str = ".xlsx"


@dataclass
class Taken:
    sha256: str
    archive: str  # relative to the outbox, e.g. archive/ab/ab12….xlsx
    examined: Examined | None  # None: the content was examined before (the ledger has the reading)


def take_in(item: Item, intake: Intake) -> Taken:
    """Read, hash, archive and (unless known) examine one workbook. Runs in a worker process."""
    data = item.data if item.data is not None else item.path.read_bytes()  # type: ignore[union-attr]
    sha = hashlib.sha256(data).hexdigest()
    archived = store(intake.archive, sha, item.suffix, data=data)
    if sha in intake.known:
        return Taken(sha, archived, None)
    try:
        return Taken(sha, archived, examine(data, intake.masters, intake.secret, intake.limits))
    except MemoryError:
        return Taken(
            sha,
            archived,
            Examined(REJECTED, [Problem("file-zip-bomb", ERROR, _READ_MESSAGES["zip-bomb"][1])]),
        )


_intake: Intake | None = None


def _init_worker(intake: Intake) -> None:
    global _intake
    _intake = intake
    _limit_worker_memory()


def _task(item: Item) -> tuple[str, Taken]:
    assert _intake is not None
    return item.key, take_in(item, _intake)


def _crashed(item: Item, intake: Intake) -> Taken:
    """The record of a file whose reading killed a worker: hashed and archived here, without parsing it."""
    data = item.data if item.data is not None else item.path.read_bytes()  # type: ignore[union-attr]
    sha = hashlib.sha256(data).hexdigest()
    return Taken(
        sha,
        store(intake.archive, sha, item.suffix, data=data),
        Examined(
            REJECTED,
            [
                Problem(
                    "file-reader-crashed",
                    ERROR,
                    "このファイルを読み取る処理が異常終了しました。ファイルが壊れている可能性があります。"
                    "Excel で開けるか確認し、配布したシートに入力して送り直してください。",
                )
            ],
        ),
    )


def take_in_all(
    items: Iterable[Item],
    intake: Intake,
    jobs: int | None = None,
    on_result: Callable[[str, Taken], None] | None = None,
) -> dict[str, Taken]:
    """Take in workbooks in worker processes; a worker that dies costs only the file it was reading.

    Reading, hashing, archiving and examining all happen in the workers, so they run on every core. `items`
    is consumed lazily with a bounded number in flight, so memory stays flat however many files there are.
    When the pool breaks, the files in flight are taken in again one per fresh worker: the one that kills a
    worker is recorded as `file-reader-crashed`, the others are read normally.

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
    source = iter(items)
    suspects: list[Item] = []
    while True:
        in_flight_when_broken, exhausted = _run_pool(source, intake, jobs, done)
        suspects.extend(in_flight_when_broken)
        if exhausted:
            break
    for item in suspects:
        if _run_pool(iter([item]), intake, 1, done)[0]:
            done(item.key, _crashed(item, intake))
    return results


def _run_pool(
    source: Iterator[Item], intake: Intake, jobs: int, done: Callable[[str, Taken], None]
) -> tuple[list[Item], bool]:
    """Feed `source` through one pool. Returns (items in flight when the pool broke, source exhausted)."""
    window = jobs * 8
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker, initargs=(intake,)) as pool:
        flight: dict[Future[tuple[str, Taken]], Item] = {}
        exhausted = False
        while True:
            while not exhausted and len(flight) < window:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                try:
                    flight[pool.submit(_task, item)] = item
                except BrokenProcessPool:  # a worker died since the last wait: this item never ran
                    return [item, *flight.values()], False
            if not flight:
                return [], exhausted
            finished, _ = wait(flight, return_when=FIRST_COMPLETED)
            for fut in finished:
                item = flight.pop(fut)
                try:
                    key, taken = fut.result()
                except BrokenProcessPool:
                    broken = [item, *flight.values()]
                    for other in flight:
                        other.cancel()
                    return broken, exhausted
                except Exception:  # a bug in a rule must not lose the file: it is recorded as unreadable
                    done(item.key, _crashed(item, intake))
                else:
                    done(key, taken)
