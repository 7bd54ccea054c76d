"""Collecting: inbox -> examine -> ledger, then the decisions across files and the feedback workbooks.

Every arrival gets a row in the ledger with its hash and fate; every taken-in file an immutable copy in
outbox/archive/. Unchanged contents are not examined again unless the rules or masters changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

from . import checks, mail
from .archive import store
from .domain import WARNING, Masters, Problem, file_reason
from .errors import WorkspaceError
from .feedback import feedback_path, write_feedback
from .fsio import ASIDE_MARK, keep_edited
from .intake import (
    ACCEPTED,
    DUPLICATE,
    IGNORED,
    OK,
    PENDING,
    REJECTED,
    SUPERSEDED,
    UNSUPPORTED,
    Arrival,
    Examined,
    Intake,
    Item,
    Taken,
    iso_utc,
    scan,
    take_in_all,
    unread,
    walk,
)
from .ledger import RULES_KEY_META, FileRow, Ledger
from .workspace import Workspace
from .xlsxread import Limits

ANSWERED, NEEDS_FIXING, NOT_ANSWERED = "answered", "needs_fixing", "not_answered"
PREVIOUS_USED = "pending-previous-used"  # the warning on a file read from its earlier content tonight
SAVED_ORDER = (
    "saved-order-doubtful"  # the warning on an answer chosen by file times its saved times contradict
)
# Saved mails handed to the workers at once are held to this size together (one larger mail goes alone):
# each comes back as its workbooks' contents, which the main process holds until it hands them out again.
MAIL_BYTES_IN_FLIGHT = 64 * 1024**2
STATUSES = (ACCEPTED, REJECTED, SUPERSEDED, DUPLICATE, UNSUPPORTED, IGNORED, PENDING)


@dataclass
class CollectResult:
    seen: int = 0
    new: list[str] = field(default_factory=list)  # taken in for the first time (pending files: when settled)
    changed: list[str] = field(default_factory=list)  # taken in before; changed since (or it waited)
    examined: int = 0
    reused: int = 0
    files: dict[str, int] = field(default_factory=dict)  # status -> count
    departments: dict[str, str] = field(
        default_factory=dict
    )  # code -> answered / needs_fixing / not_answered
    feedback: list[Path] = field(default_factory=list)
    unreadable_folders: list[str] = field(default_factory=list)  # inbox folders that could not be listed
    kept_previous: list[str] = field(default_factory=list)  # open or being saved: earlier content used
    vanished: int = 0  # files the last collect saw, when the inbox is now empty (a share dropped?)
    ledger_backup: Path | None = None  # the copy of the ledger taken before this collect changed it
    # Departments whose status is not what the last collect left: code -> (before, now). Said each night so
    # staff see what moved (a fix arrived, a new return with errors, a master edit that flipped many).
    moved: dict[str, tuple[str, str]] = field(default_factory=dict)
    rechecked: str | None = None  # "masters" or "rules": why every content was checked again tonight
    rechecked_absent: int = 0  # of them, returns no longer in the inbox, checked from their archive copies
    doubtful: list[str] = field(default_factory=list)  # answers whose saved times contradict the file times
    kept_edited: list[Path] = field(default_factory=list)  # feedback books people had saved into, moved aside
    seconds: float = 0.0


def rules_key(masters: Masters, secret: bytes) -> str:
    """Readings are valid for one rules version, one set of masters and one secret."""
    digest = hashlib.sha256(repr(masters).encode("utf-8") + b"\0" + secret).hexdigest()[:16]
    return f"{checks.RULES_VERSION}:{digest}"


_GONE_BEFORE_READ = (
    "読み取る前に inbox からなくなりました（移動・削除・コピーの取り消しなど）。内容は確認していません。"
)


def _why_rechecked(last: str | None, key: str) -> str | None:
    """Why every content is checked again tonight: "rules" (dxsheets was updated), "masters" (templates/
    or secret.key changed), or None (nothing changed, or the first collect)."""
    if last is None or last == key:
        return None
    return "rules" if last.split(":", 1)[0] != key.split(":", 1)[0] else "masters"


def collect(
    ws: Workspace,
    jobs: int | None = None,
    now: float | None = None,
    settle: float | None = None,
    limits: Limits | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CollectResult:
    """Take in everything in the inbox, record it in the ledger, decide fates, write feedback.

    Args:
        ws: the workspace.
        jobs: worker processes for examining (default: one per core).
        now: the current time (seconds since the epoch); tests pass their own.
        settle: files changed within this many seconds are left `pending` (default 60).
        limits: safety limits for reading workbooks.
        on_progress: called with (done, total) as each arrival is recorded; total is the number of files in
            the inbox, growing when a mail holds several workbooks.
    """
    started = time.perf_counter()
    masters = ws.masters()
    secret = ws.secret()
    limits = limits or Limits()
    key = rules_key(masters, secret)
    when = datetime.fromtimestamp(time.time() if now is None else now, UTC).isoformat(timespec="seconds")
    # The end of the deadline day, local time: a return sent after it is marked late (a warning).
    deadline = datetime.combine(masters.round.deadline + timedelta(days=1), dt_time()).astimezone()
    result = CollectResult()

    with Ledger(ws.ledger_path) as ledger:
        seen_last_time = ledger.present_count()
        _inbox_ready(ws, seen_last_time)
        # When progress is shown, a count of the files first (one stat each, nothing kept) gives it a total; a
        # mail with several workbooks adds to it as it is read. Unattended runs skip this second walk.
        expected = sum(1 for _ in walk(ws.inbox)) if on_progress else 0
        result.ledger_backup = ledger.back_up()  # before any change: a broken night costs only that night
        before = department_statuses(ledger, masters) if seen_last_time else {}  # first night: none
        result.rechecked = _why_rechecked(ledger.get_meta(RULES_KEY_META), key)
        intake = Intake(masters, secret, ws.archive, ledger.known_contents(key), limits)
        # Read from their earlier content last time: their new content is taken in tonight (few, if any).
        waited = ledger.paths_with_problem(PREVIOUS_USED)
        out = _Rows(ledger)
        waiting: dict[str, Arrival] = {}  # handed to the workers, not yet recorded
        # Mails read into attachment rows tonight: (path, size, mtime, sha256).
        mails_read: list[tuple[str, int, float, str]] = []
        opened: deque[Arrival] = deque()  # workbooks of the mails the workers opened, to be taken in
        mails_out = mail_bytes_out = 0  # mails handed to the workers to open, not yet back, and their size
        done = 0

        def progress() -> None:
            nonlocal done
            done += 1
            if on_progress:
                on_progress(done, max(expected, result.seen))

        def record(row: tuple[FileRow, list[Problem]]) -> None:
            out.add(row)
            progress()

        # Files that wait, whose earlier content is to be judged again by tonight's rules first.
        judged_again: list[tuple[Arrival, list[Problem], FileRow]] = []

        def waits(arrival: Arrival, problems: list[Problem], judge: bool = True) -> None:
            """Record a file that cannot be taken in tonight (being saved, open, locked, gone): with its
            earlier content's row when it had one, so its department keeps its answer meanwhile, else
            pending. On a night the rules changed, that content is first read again from its archive copy,
            by the workers, once the inbox has been taken in (`_judge_again`); `judge=False` after that."""
            prev = ledger.file(arrival.path)
            if judge and prev and prev.sha256 and prev.archive and not ledger.reading(prev.sha256, key):
                judged_again.append((arrival, problems, prev))
                return
            previous = _previous_content(ledger, arrival, prev, problems, key, when, deadline)
            if previous is None:
                record(_file_row(arrival, None, None, Examined(PENDING, problems), when))
                return
            result.kept_previous.append(arrival.path)
            record(previous)

        def seen(arrival: Arrival) -> None:
            """Count an arrival that gets a row of its own tonight (a mail read into its workbooks does not)."""
            result.seen += 1
            prev = ledger.file(arrival.path)
            if arrival.fate == PENDING:
                pass  # new or changed on the night it is taken in
            elif prev is None or (prev.status == PENDING and prev.sha256 is None):  # seen only waiting
                result.new.append(arrival.path)
            elif (prev.size, prev.mtime) != (arrival.size, arrival.mtime) or arrival.path in waited:
                result.changed.append(arrival.path)
            if any(p.code == "folder-unreadable" for p in arrival.problems):
                result.unreadable_folders.append(arrival.path)

        def held(arrival: Arrival, problems: list[Problem]) -> None:
            """A file that cannot be taken in tonight; a mail read before keeps its workbooks' fates."""
            arrival.fate = PENDING
            seen(arrival)
            if arrival.mail and ledger.has_parts(arrival.path):
                # Read before, being saved again (or locked): its attachments keep their fates meanwhile.
                ledger.note_parts_present(arrival.path)
                result.kept_previous.append(arrival.path)
                progress()
                return
            waits(arrival, problems)

        def to_take_in() -> Iterator[Item | None]:
            # The inbox is walked as the workers take files in: no list of every arrival is built. The
            # workbooks of a mail a worker opened are taken in first, as they come back.
            arrivals = scan(
                ws.inbox,
                limits,
                now=now,
                seen_before=ledger.sighting,
                **({"settle": settle} if settle is not None else {}),
            )
            arrival: Arrival | None = None
            while True:
                while opened:
                    yield from take(opened.popleft())
                arrival = arrival or next(arrivals, None)
                if arrival is None:
                    if not mails_out:
                        return
                    yield None  # the walk is done, a mail is still being opened: wait for it
                elif (
                    arrival.mail
                    and arrival.fate is None
                    and mail_bytes_out
                    and mail_bytes_out + arrival.size > MAIL_BYTES_IN_FLIGHT
                ):
                    yield None  # the mails being opened hold enough: this one waits for them
                else:
                    yield from take(arrival)
                    arrival = None

        def take(arrival: Arrival) -> Iterator[Item]:
            nonlocal mails_out, mail_bytes_out
            if arrival.fate == PENDING and arrival.opened:  # not taken in until it has settled
                held(arrival, arrival.problems)
                return
            if arrival.mail and arrival.fate is None:  # opened by a worker: its workbooks come back
                waiting[arrival.path] = arrival
                mails_out += 1
                mail_bytes_out += arrival.size
                yield Item(
                    arrival.path,
                    arrival.source,
                    suffix=Path(arrival.path).suffix,
                    mail_time=arrival.mtime,
                    mail_sha=ledger.opened_mail(arrival.path, arrival.size, arrival.mtime, key),
                )
                return
            seen(arrival)
            data, arrival.data = arrival.data, None  # held by the take-in alone from here
            if not arrival.opened:  # links and pipes never; an unlisted folder: pending, no hash
                unopened = Examined(arrival.fate or PENDING, arrival.problems)
                record(_file_row(arrival, None, None, unopened, when))
                return
            if arrival.fate is not None:  # decided from the name or size: archived without parsing
                kept = _keep_here(ws.archive, arrival, data)
                if kept is None:
                    waits(arrival, unread().problems)
                else:
                    sha, archived = kept
                    decided = Examined(arrival.fate, arrival.problems)
                    record(_file_row(arrival, sha, archived, decided, when))
                return
            waiting[arrival.path] = arrival
            yield Item(
                arrival.path, arrival.source if data is None else None, data, Path(arrival.path).suffix
            )

        def on_result(path: str, t: Taken) -> None:
            # Recorded as it comes in: nothing about a file is held in memory once its row is written.
            nonlocal mails_out, mail_bytes_out
            arrival = waiting.pop(path)
            if arrival.mail:
                mails_out -= 1
                mail_bytes_out -= arrival.size
                if t.attachments is not None:
                    assert t.sha256 is not None
                    mails_read.append((path, arrival.size, arrival.mtime, t.sha256))
                    opened.extend(t.attachments)
                    return
                if t.unchanged:  # read into its attachments' rows before: they stand as they are
                    kept = ledger.keep_parts(path, when)
                    result.seen += kept
                    result.reused += kept
                    for _ in range(kept):
                        progress()
                    if not kept:  # its rows are gone from the ledger (and so its record): opened after all
                        opened.append(arrival)
                    return
                if t.examined is not None and t.examined.fate == PENDING:
                    held(arrival, t.examined.problems)  # locked or gone when its turn came
                    return
                seen(arrival)
            e = t.examined
            if e is None:
                assert t.sha256 is not None
                result.reused += 1
                cached = ledger.reading(t.sha256, key)
                assert cached is not None, "known contents have a reading"
                e = Examined.from_json(cached, answers=False)
            elif t.reading is not None:
                assert t.sha256 is not None
                result.examined += 1
                out.readings.append((t.sha256, key, t.reading))
            if e.fate == PENDING:  # it could not be read (locked, moved) when its turn came
                waits(arrival, e.problems)
            else:
                record(_file_row(arrival, t.sha256, t.archive, e, when, deadline))

        take_in_all(to_take_in(), intake, jobs=jobs, on_result=on_result)
        if judged_again:  # recorded before anything absent is looked for: they are in the inbox
            _judge_again(ledger, ws, intake, key, jobs, [prev for _, _, prev in judged_again])
            for arrival, problems, _ in judged_again:
                waits(arrival, problems, judge=False)  # a reading under tonight's rules, or the newest
        if result.seen == 0:
            result.vanished = seen_last_time  # their rows and answers stay; said, so it is not missed
        out.flush()
        if result.rechecked:  # the rules changed: the returns no longer in the inbox are judged by them too
            _check_again_from_archive(ledger, ws, intake, key, deadline, jobs, result)
        with ledger.transaction():  # fates across files change together, or not at all
            # An inbox found empty (a share that did not connect) says nothing about what is in it.
            ledger.forget_placeholders([m[0] for m in mails_read], folders=not result.vanished)
            ledger.note_opened_mails(mails_read, key, PREVIOUS_USED)
            ledger.mark_absent(None if result.vanished else _GONE_BEFORE_READ)
            _decide(ledger, masters, key, result)
            ledger.set_meta(RULES_KEY_META, key)
        result.moved = {
            code: (before.get(code, NOT_ANSWERED), now)
            for code, now in result.departments.items()
            if before and before.get(code, NOT_ANSWERED) != now
        }
        today = datetime.fromtimestamp(time.time() if now is None else now).date()  # local
        result.feedback = _write_feedbacks(ws, ledger, masters, secret, result, today)
    result.seconds = time.perf_counter() - started
    return result


def _check_again_from_archive(
    ledger: Ledger,
    ws: Workspace,
    intake: Intake,
    key: str,
    deadline: datetime,
    jobs: int | None,
    result: CollectResult,
) -> None:
    """Check again, from their archive copies, the returns no longer in the inbox, on a night the rules
    changed: they still count, so they are judged by tonight's masters like the rest (a content already
    read under these rules is not parsed again). Their rows keep where and when they were seen; one whose
    copy cannot be read keeps its row as it was."""
    checked: list[tuple[FileRow, list[Problem]]] = []

    def on_read(row: FileRow, e: Examined) -> None:
        sent = datetime.fromisoformat(row.sent_at) if row.sent_at else datetime.fromtimestamp(row.mtime, UTC)
        copy = ws.outbox / (row.archive or "")
        arrival = Arrival(row.path, copy, row.size, row.mtime, sent, row.evidence or "file-time")
        new, problems = _file_row(arrival, row.sha256, row.archive, e, row.last_seen, deadline)
        checked.append((replace(new, first_seen=row.first_seen, present=0), problems))

    _read_archive_copies(ledger, ws, intake, key, jobs, ledger.examined_absent(), on_read)
    ledger.upsert_files(checked)  # not noted present: they are still not in the inbox
    result.rechecked_absent = len(checked)


def _read_archive_copies(
    ledger: Ledger,
    ws: Workspace,
    intake: Intake,
    key: str,
    jobs: int | None,
    rows: Iterable[FileRow],
    on_read: Callable[[FileRow, Examined], None] | None = None,
) -> None:
    """Read the archive copies of the files `rows` in the workers, under the rules `key`, and store the new
    readings; `on_read` gets each row whose copy is what was archived, with its reading (no answers). A
    content already read under `key` is not parsed again; a copy missing or changed is passed over."""
    by_path = {row.path: row for row in rows}
    if not by_path:
        return
    readings: list[tuple[str, str, str]] = []

    def on_result(path: str, t: Taken) -> None:
        row, sha, e = by_path[path], t.sha256, t.examined
        if sha is None or sha != row.sha256 or (e is not None and e.fate == PENDING):
            return  # the copy is missing or not what was archived: nothing better to go on
        if t.attachments is not None:  # a mail that now gives workbooks: its row is no longer its fate
            return  # it stands until the mail is in the inbox to be read into them
        if e is None:  # already read under these rules (tonight, or before the rules last changed)
            cached = ledger.reading(sha, key)
            assert cached is not None, "known contents have a reading"
            e = Examined.from_json(cached, answers=False)
        elif t.reading is not None:
            readings.append((sha, key, t.reading))
        if on_read is not None:
            on_read(row, e)

    # A mail's copy is opened as a mail (its row is its own fate: no workbook, damaged, too large).
    items = (
        Item(
            row.path,
            ws.outbox / (row.archive or ""),
            None,
            Path(row.path).suffix,
            mail_time=row.mtime if mail.is_mail(row.path) else None,
        )
        for row in by_path.values()
    )
    take_in_all(items, intake, jobs=jobs, on_result=on_result)
    ledger.save_readings(readings)


def _previous_content(
    ledger: Ledger,
    arrival: Arrival,
    prev: FileRow | None,
    why: list[Problem],
    key: str,
    when: str,
    deadline: datetime,
) -> tuple[FileRow, list[Problem]] | None:
    """The row of a file that cannot be taken in tonight (open in Excel, being saved again, locked or moved
    when read; `why` says which) at a path whose earlier content (`prev`, its row) was read: that content
    keeps the fate tonight's rules give it, with a warning, until the new one can be read. (Tonight's
    rules: a department brought back into the survey tonight gets its return's answer.)

    Without this, a promoter who leaves their return open in Excel on the shared drive, or saves it again
    as the run starts, turns their department 未回答 and drops its answers from the summary for the night.
    The row takes the file's new size and time (so the next run sees whether it has settled) and the
    earlier content's hash, archive copy, sending time and reading: under the rules `key` (the caller has
    it read again first on a night they changed), else the newest. None when there is no such content.
    """
    if prev is None or prev.sha256 is None:
        return None
    found = ledger.reading(prev.sha256, key) or ledger.current_reading(prev.sha256)
    if found is None:
        return None
    e = Examined.from_json(found, answers=False)
    # Not a return of any department tonight (its department left out of the survey, say) stands in too,
    # with the fate tonight's rules give it: kept as the row's content, it is judged again on the night
    # the rules change (its department back in), not lost to a row that only waits.
    said = "".join(p.message for p in why)
    sent = datetime.fromisoformat(prev.sent_at) if prev.sent_at else arrival.sent_at
    e.problems = [
        *e.problems,
        Problem(
            PREVIOUS_USED,
            WARNING,
            f"{said}それまでは前回取り込んだ内容（{sent.astimezone():%Y/%m/%d %H:%M} 送信）を使っています。",
        ),
    ]
    earlier = replace(arrival, sent_at=sent, evidence=prev.evidence or arrival.evidence, problems=[])
    return _file_row(earlier, prev.sha256, prev.archive, e, when, deadline)


def _judge_again(
    ledger: Ledger, ws: Workspace, intake: Intake, key: str, jobs: int | None, rows: list[FileRow]
) -> None:
    """Read again, in the workers, the archive copies of earlier contents that stand in tonight for files
    that cannot be read (open in Excel on the night the rules changed), so they are judged by them. A copy
    that cannot be read leaves its content with the reading it had."""
    one_per_content = {row.sha256: row for row in rows}  # two waiting files of one content: read once
    _read_archive_copies(ledger, ws, intake, key, jobs, one_per_content.values())


def _inbox_ready(ws: Workspace, seen_last_time: int) -> None:
    """Make the inbox of a new workspace; refuse to go on when a used workspace's inbox has gone.

    An inbox that is not there is most often a shared folder that did not connect, or was renamed. Made
    anew and collected empty, the night would say "0 files" and nothing about why.

    Raises:
        WorkspaceError: the inbox is missing and files were collected from it before.
    """
    if ws.inbox.is_dir():
        return
    if seen_last_time and not ws.inbox.exists():
        raise WorkspaceError(
            f"inbox（{ws.inbox}）がありません。前回の回収では {seen_last_time} 件ありました。"
            "共有フォルダの接続やフォルダ名を確認してください。"
        )
    try:
        ws.inbox.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in its place, or a folder that cannot be made: said in one line
        raise WorkspaceError(f"inbox（{ws.inbox}）を作成できません（{exc.strerror or exc}）。") from None


def _keep_here(archive: Path, arrival: Arrival, data: bytes | None) -> tuple[str, str] | None:
    """Hash and archive, in the parent, a file whose fate needs no parsing: (sha256, archive path), or None
    when it cannot be read any more (gone or locked since the walk: an Excel owner file as Excel closes).

    A failure to write the archive is the run's, not the file's: it is raised.
    """
    try:
        sha = hashlib.sha256(data).hexdigest() if data is not None else _hash_file(arrival.source)
    except OSError:
        return None
    try:
        return sha, store(archive, sha, Path(arrival.path).suffix, data, arrival.source)
    except FileNotFoundError:
        if data is None and not arrival.source.exists():
            return None  # gone between hashing and copying
        raise


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Rows:
    """File rows and readings on their way to the ledger, written in batches (few statements per file) and
    committed every `COMMIT_EVERY` files: memory stays flat, and the work done survives a crash."""

    BATCH = 100
    COMMIT_EVERY = 500

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.rows: list[tuple[FileRow, list[Problem]]] = []
        self.readings: list[tuple[str, str, str]] = []
        self.written = 0

    def add(self, row: tuple[FileRow, list[Problem]]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        self.ledger.save_readings(self.readings)
        self.ledger.upsert_files(self.rows)
        self.ledger.note_present([row.path for row, _ in self.rows])
        before, self.written = self.written, self.written + len(self.rows)
        self.rows, self.readings = [], []
        if self.written // self.COMMIT_EVERY > before // self.COMMIT_EVERY:
            self.ledger.db.commit()


def _file_row(
    arrival: Arrival,
    sha: str | None,
    archived: str | None,
    e: Examined,
    when: str,
    deadline: datetime | None = None,
) -> tuple[FileRow, list[Problem]]:
    """One arrival's row and problems as this run found it (fates across files come after)."""
    status = {OK: ACCEPTED}.get(e.fate, e.fate)
    problems = e.problems
    if e.dept_code and deadline is not None and arrival.sent_at > deadline:
        # Lateness belongs to the arrival, not the content: it is added here, never cached with the reading.
        sent = arrival.sent_at.astimezone().strftime("%Y/%m/%d %H:%M")
        problems = [
            *problems,
            Problem(
                "returned-late",
                WARNING,
                f"回答期限（{deadline - timedelta(seconds=1):%Y/%m/%d}）の後に届きました（{sent}）。内容は集計に含めています。",
            ),
        ]
    return (
        FileRow(
            arrival.path,
            arrival.size,
            arrival.mtime,
            sha,
            when,
            when,
            1,
            e.dept_code,
            status,
            file_reason(status, problems),
            iso_utc(arrival.sent_at),
            arrival.evidence,
            iso_utc(e.saved_at),
            e.application,
            archived,
        ),
        problems,
    )


def _decide(ledger: Ledger, masters: Masters, key: str, result: CollectResult) -> None:
    """Settle fates across files: duplicates, and the latest return per department (in SQL: no file row is
    loaded here, however many there are)."""
    ledger.unsettle()  # decided afresh from every file's own fate, the ones not in the inbox tonight too
    # Byte-identical copies: the first seen is the return, the others are duplicates.
    ledger.mark_duplicates("{winner} と同じ内容です（重複）。", "{winner} と同じ内容のファイルです。")
    # The latest attributable return of each department is its answer; earlier ones are superseded.
    ledger.mark_superseded(_OUTRANKED)
    with ledger.latest_fixed():  # the statuses are settled: the latest returns are ranked once for all three
        result.doubtful = _cross_check_saved_times(ledger)
        ledger.clear_submissions()
        # Copied inside SQLite from the readings: no answers are loaded into memory here.
        ledger.add_latest_submissions(key)
        result.departments = department_statuses(ledger, masters)
    result.files = dict.fromkeys(STATUSES, 0) | ledger.status_counts()


# What a superseded return is told, by how the answer outranks it (see `Ledger.mark_superseded`): sent
# later; sent at the same time (attached to one mail) but saved later; sent and saved at the same time.
_OUTRANKED = (
    ("後から送られた {winner} を採用しました。", "同じ部署から後に送られた {winner} を採用しました。"),
    (
        "同時に送られた {winner} の方がブックの保存日時が新しいため、そちらを採用しました。",
        "同じ部署から同時に（同じメールに添付されるなどして）送られた {winner} の方が、ブックの保存日時が"
        "新しいため、そちらを採用しました。",
    ),
    (
        "同時に送られ保存日時も同じ {winner} を名前の順で採用しました。どちらが最新か確かめてください。",
        "同じ部署から同時に送られた {winner} とブックの保存日時も同じため、名前の順で後の方を採用"
        "しました。どちらが最新か確かめ、最新の方をもう一度 inbox に保存してください。",
    ),
)

SAVED_ORDER_SLACK = 60  # seconds: saved times closer than this are not taken to contradict file times


def _cross_check_saved_times(ledger: Ledger) -> list[str]:
    """The cross-check of file times: a department's answer chosen by file time while another of its
    returns says, by the workbook's own saved time, it was saved later. Saving mail attachments newest
    first (Outlook's order) gives the older one the later file time. Told to staff as a warning."""
    flags = {}
    for answer, other, saved in ledger.doubtful_orders(SAVED_ORDER_SLACK):
        when = datetime.fromisoformat(saved).astimezone()
        flags[answer] = Problem(
            SAVED_ORDER,
            WARNING,
            f"届いた順（ファイルの時刻）ではこのファイルを採用しましたが、ブックの保存日時は {other} の方が新しい"
            f"（{when:%Y/%m/%d %H:%M}）です。メールの添付を新しい順に保存すると、このように順が入れ替わります。"
            "どちらが最新か確かめ、最新の方をもう一度 inbox に保存してください（保存した時刻で最新になります）。",
        )
    for path in ledger.replace_flags(SAVED_ORDER, flags):
        row = ledger.file(path)
        if row is not None and row.status == ACCEPTED:  # its reason counts its warnings
            ledger.set_reason(path, file_reason(ACCEPTED, ledger.problems(path)))
    return sorted(flags)


def department_statuses(ledger: Ledger, masters: Masters) -> dict[str, str]:
    """Each active department's status from the files' fates: its latest attributable return decides."""
    latest = ledger.latest_returns()
    out = {}
    for d in masters.active_departments:
        status = latest[d.code][1] if d.code in latest else None
        out[d.code] = ANSWERED if status == ACCEPTED else NEEDS_FIXING if status == REJECTED else NOT_ANSWERED
    return out


def _reading_of(ledger: Ledger, row: FileRow) -> Examined | None:
    """The reading of a file's content: under the current rules, else the newest (a file moved away keeps
    its answer)."""
    if row.sha256 is None:
        return None
    found = ledger.current_reading(row.sha256)
    return Examined.from_json(found) if found is not None else None


def _write_feedbacks(
    ws: Workspace, ledger: Ledger, masters: Masters, secret: bytes, result: CollectResult, today: date
) -> list[Path]:
    """A feedback workbook for each department whose latest return has errors; stale ones are removed."""
    written: list[Path] = []
    wanted: set[Path] = set()
    # A department needs fixing when its latest return is rejected: that return is the one to correct.
    latest_returns = ledger.latest_returns() if NEEDS_FIXING in result.departments.values() else {}
    for code, status in result.departments.items():
        if status != NEEDS_FIXING:
            continue
        dept = masters.department(code)
        found = latest_returns.get(code)
        latest = ledger.file(found[0]) if found else None
        if dept is None or latest is None:
            continue
        e = _reading_of(ledger, latest)
        if e is None or e.answers is None:
            continue
        usual = feedback_path(ws.feedback, dept)
        if ledger.saved_over(ws.outbox, usual):
            # Someone saved into tonight's target (a corrected book saved here by mistake): kept aside.
            kept = keep_edited(usual)
            if kept is not None:
                result.kept_edited.append(kept)
        path = write_feedback(
            ws.feedback, masters, dept, secret, e.answers, ledger.problems(latest.path), latest.path, today
        )
        ledger.note_written(ws.outbox, path)
        written.append(path)
        wanted.update((path, usual))  # the usual one too, when open in Excel
    if ws.feedback.exists():
        for old in ws.feedback.glob("*.xlsx"):
            if old not in wanted and _ours_unchanged(ledger, ws, old):
                # One still open in Excel cannot go (Windows); it goes on a later night.
                with contextlib.suppress(PermissionError):
                    old.unlink()
    return written


_FEEDBACK_NAME = re.compile(rf".+_要修正(_{ASIDE_MARK}_.+)?\.xlsx")


def _ours_unchanged(ledger: Ledger, ws: Workspace, path: Path) -> bool:
    """A feedback book dxsheets wrote and nobody has saved over, so it may go once no longer needed. A
    staffer's own file in feedback/, or a returned book saved there by mistake, stays. One written before
    dxsheets recorded what it wrote is known by its name."""
    if ledger.written_sha(ws.outbox, path) is None:
        return _FEEDBACK_NAME.fullmatch(path.name) is not None
    return not ledger.saved_over(ws.outbox, path)
