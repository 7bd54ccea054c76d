"""Property: over any sequence of nights, whatever arrives, is sent again or is taken away, every file is
accounted for and each department's status is that of the last return it sent.

A state machine drops returns (good, with an error, the blank sheet; as files, in mails, two to a
mail; two saved from mails newest first), copies of earlier files sent again later, files and mails
saved over, junk, workbooks opened and closed in Excel (its owner file beside them), files filed into a
folder and deletions from the inbox, a WG renamed, a department left out and the deadline moved in the masters (and back), and runs
`collect` at random points. After every night it checks what a DX staffer relies on:
* every file in the inbox has a fate and a reason, none is left pending unless it is open in Excel,
  files taken away keep their rows, and the inbox is exactly as it was before the run;
* every file read has its archive copy, byte for byte;
* each department is answered / needs fixing / not answered as the last content it sent says, where a
  content counts as sent when its last copy was (a blank sheet is never a return; of two sent in one
  mail, the one saved later), with exactly one
  `accepted` file for an answered department and none for one that needs fixing;
* the summary (`consolidate.gather`) shows the same statuses, and the answers of that last content;
* a feedback book exists for exactly the departments that need fixing, holding the answers of the
  return to fix and, read back as a return, the same errors;
* an answer chosen by file time carries the saved-order warning exactly while a return of its department
  that it outdated says, by its workbook's saved time, that it was saved later (a "good-late" return:
  saved after every other, as when mail attachments are saved newest first), and an accepted file's
  reason counts its warnings;
* a return read is marked late exactly when it was sent after the deadline in tonight's masters.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import openpyxl
from hostile import MsgMail, make_eml, make_outlook_msg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from promoter import Fill, returned

from dxsheets.collect import SAVED_ORDER, SAVED_ORDER_SLACK, collect
from dxsheets.consolidate import gather
from dxsheets.domain import Problem
from dxsheets.feedback import feedback_path
from dxsheets.generate import form_path, generate_forms
from dxsheets.intake import examine
from dxsheets.ledger import FileRow, Ledger
from dxsheets.simulate import _saved_at
from dxsheets.workspace import init_workspace

DEPTS = ("0101", "0102", "0103")
KINDS = ("good", "good-again", "good-late", "with-error", "blank")
JUNK = (b"", "部署,回答\r\n総務課,はい\r\n".encode("cp932"), b"PK\x03\x04 half a zip")
RESPONDENT = {
    "good": "山田 太郎",
    "good-again": "二回目 次郎",
    "good-late": "山田 太郎",
    "with-error": "山田 太郎",
}  # as the returns say
GOOD = ("good", "good-again", "good-late")
DEADLINE = date(2026, 12, 18)  # the bundled round's
# The returns' saved times (docProps): long before any file time of the machine, except "good-late"'s,
# after all of them.
SAVED_EARLY = datetime.now(UTC) - timedelta(days=30)
SAVED_LATE = datetime.now(UTC) - timedelta(days=1)
FATES = {"accepted", "rejected", "superseded", "duplicate", "unsupported", "ignored", "pending"}


@dataclass(frozen=True)
class Returns:
    secret: bytes
    data: dict[tuple[str, str], bytes]  # (department, kind) -> workbook bytes


@functools.cache
def returns() -> Returns:
    """Each department's returns, filled once: every example's workspace is given the same secret."""
    with tempfile.TemporaryDirectory() as tmp:
        ws, _ = init_workspace(Path(tmp) / "ws")
        masters = ws.masters()
        generate_forms(masters, ws.secret(), ws.distribute, codes=DEPTS)
        data = {}
        for code in DEPTS:
            dept = masters.department(code)
            good = returned(ws.distribute, dept)
            data[(code, "good")] = _saved_at(good, SAVED_EARLY)
            data[(code, "good-late")] = _saved_at(good, SAVED_LATE)  # the same answers, saved later
            again = returned(ws.distribute, dept, Fill(respondent="二回目 次郎"))
            data[(code, "good-again")] = _saved_at(again, SAVED_EARLY)
            data[(code, "with-error")] = _saved_at(
                returned(ws.distribute, dept, Fill(q1="多分")), SAVED_EARLY
            )
            data[(code, "blank")] = form_path(ws.distribute, dept).read_bytes()
        return Returns(ws.secret(), data)


@dataclass(frozen=True)
class Sent:
    dept: str | None  # None: junk
    kind: str
    sha256: str
    at: float  # when it was sent: the mail's Date, or the file time
    disk: str  # the file in the inbox (a mail's attachments share its file)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


class Nights(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.ws, _ = init_workspace(Path(self.tmp.name) / "ws")
        self.ws.secret_path.write_bytes(returns().secret)
        self.clock = time.time() - 10 * 86400  # file times: well settled, in the order sent
        self.present: dict[str, Sent] = {}  # in the inbox now, by ledger path
        self.read: dict[str, Sent] = {}  # read by a collect (taken away or replaced since, perhaps)
        self.seen: set[str] = set()  # in the inbox on some night: read, or waiting (open in Excel)
        self.contents: dict[str, bytes] = {}
        self.locks: dict[str, str] = {}  # a workbook open in Excel -> its owner file (~$name)
        self.renamed = False  # the WG the good answers chose has been renamed in the masters
        self.left_out = False  # 0103 is marked × (not in this survey) in the masters
        self.early_deadline = False  # the deadline is moved before the first return was sent
        self.first_clock = self.clock
        self.n = 0

    def teardown(self) -> None:
        self.tmp.cleanup()

    def _name(self, dept: str | None, kind: str, suffix: str = ".xlsx") -> str:
        self.n += 1
        self.clock += 100
        folder = ("共有", "市民部/再送", "mail")[self.n % 3]
        return f"{folder}/{self.n:03d}_{dept or 'junk'}_{kind}{suffix}"

    def _write(self, rel: str, data: bytes, dept: str | None, kind: str) -> None:
        path = self.ws.inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (self.clock, self.clock))
        sha = hashlib.sha256(data).hexdigest()
        self.contents[sha] = data
        self.present[rel] = Sent(dept, kind, sha, self.clock, rel)

    @rule(dept=st.sampled_from(DEPTS), kind=st.sampled_from(KINDS))
    def send(self, dept: str, kind: str) -> None:
        self._write(self._name(dept, kind), returns().data[(dept, kind)], dept, kind)

    @rule(dept=st.sampled_from(DEPTS), older=st.sampled_from(("good", "good-again", "with-error")))
    def save_attachments_newest_first(self, dept: str, older: str) -> None:
        """A staffer saves a department's two mailed returns into the inbox, the newer one first: the older
        one gets the later file time, and only the workbooks' saved times tell the truth."""
        self._write(self._name(dept, "good-late"), returns().data[(dept, "good-late")], dept, "good-late")
        self._write(self._name(dept, older), returns().data[(dept, older)], dept, older)

    @rule(dept=st.sampled_from(DEPTS), kind=st.sampled_from(KINDS), suffix=st.sampled_from((".eml", ".msg")))
    def send_by_mail(self, dept: str, kind: str, suffix: str) -> None:
        """A mail saved into the inbox a little after it was sent (an .eml file, or dragged out of Outlook
        as .msg): dated by when it was sent."""
        self._mail(self._name(dept, kind, suffix), dept, kind)

    @rule(
        first=st.tuples(st.sampled_from(DEPTS), st.sampled_from(KINDS)),
        second=st.tuples(st.sampled_from(DEPTS), st.sampled_from(KINDS)),
    )
    def send_a_batch_by_mail(self, first: tuple[str, str], second: tuple[str, str]) -> None:
        """A 部's clerk mails two of its 課' sheets at once (or a promoter two tries of theirs: sent
        together, the one saved later is the answer)."""
        self._mail(self._name(first[0], "batch", ".eml"), *first, also=second)

    def _mail(self, mail: str, dept: str, kind: str, also: tuple[str, str] | None = None) -> None:
        sent = datetime.fromtimestamp(int(self.clock), UTC)
        attached = [
            (f"{d}_{k}{'_2' if i else ''}.xlsx", d, k)
            for i, (d, k) in enumerate([(dept, kind), *([also] if also else [])])
        ]
        files = [(name, returns().data[(d, k)]) for name, d, k in attached]
        if mail.endswith(".msg"):
            make_outlook_msg(self.ws.inbox / mail, mail=MsgMail("RE: 回答", sent, files))
        else:
            make_eml(self.ws.inbox / mail, files, sent)
        os.utime(self.ws.inbox / mail, (self.clock + 50, self.clock + 50))
        for name, d, k in attached:
            data = returns().data[(d, k)]
            sha = hashlib.sha256(data).hexdigest()
            self.contents[sha] = data
            self.present[f"{mail}/{name}"] = Sent(d, k, sha, sent.timestamp(), mail)

    def _mails(self) -> list[str]:
        return sorted({s.disk for rel, s in self.present.items() if rel != s.disk})

    @precondition(lambda self: self._mails())
    @rule(data=st.data(), dept=st.sampled_from(DEPTS), kind=st.sampled_from(KINDS))
    def save_a_mail_over(self, data: st.DataObject, dept: str, kind: str) -> None:
        """A mail file in the inbox replaced by another mail under the same name (what it attached
        before is no longer in the inbox, but was sent all the same)."""
        mail = data.draw(st.sampled_from(self._mails()))
        self.present = {rel: s for rel, s in self.present.items() if s.disk != mail}
        self.clock += 100
        self._mail(mail, dept, kind)

    @precondition(lambda self: self.present)
    @rule(data=st.data())
    def send_a_file_again(self, data: st.DataObject) -> None:
        """The same bytes again, later, under another name ("please use this one")."""
        earlier = self.present[data.draw(st.sampled_from(sorted(self.present)))]
        self._write(
            self._name(earlier.dept, earlier.kind), self.contents[earlier.sha256], earlier.dept, earlier.kind
        )

    def _saved_files(self) -> list[str]:
        """Files in the inbox a person saved (not mails, not Excel's owner files)."""
        return sorted(rel for rel, s in self.present.items() if rel == s.disk and s.kind != "lock")

    @precondition(lambda self: self._saved_files())
    @rule(data=st.data(), dept=st.sampled_from(DEPTS), kind=st.sampled_from(KINDS))
    def save_over_a_file(self, data: st.DataObject, dept: str, kind: str) -> None:
        """A file in the inbox replaced by another under the same name (saved again from Excel)."""
        rel = data.draw(st.sampled_from(self._saved_files()))
        self.clock += 100
        self._write(rel, returns().data[(dept, kind)], dept, kind)

    @rule(junk=st.sampled_from(JUNK))
    def send_junk(self, junk: bytes) -> None:
        self._write(self._name(None, "junk"), junk, None, "junk")

    @precondition(lambda self: self.present)
    @rule(data=st.data())
    def take_a_file_away(self, data: st.DataObject) -> None:
        self._take_away(self.present[data.draw(st.sampled_from(sorted(self.present)))].disk)

    def _take_away(self, disk: str) -> None:
        (self.ws.inbox / disk).unlink()
        self.present = {rel: s for rel, s in self.present.items() if s.disk != disk}
        self.locks = {rel: lock for rel, lock in self.locks.items() if lock in self.present}

    @precondition(lambda self: self._closed_workbooks())
    @rule(data=st.data())
    def move_a_file_into_a_folder(self, data: st.DataObject) -> None:
        """A staffer files a return into a 済 folder: the same bytes and file time under a new path."""
        rel = data.draw(st.sampled_from(self._closed_workbooks()))
        moved = f"済/{rel}"
        (self.ws.inbox / moved).parent.mkdir(parents=True, exist_ok=True)
        (self.ws.inbox / rel).rename(self.ws.inbox / moved)
        sent = self.present.pop(rel)
        self.present[moved] = Sent(sent.dept, sent.kind, sent.sha256, sent.at, moved)

    def _closed_workbooks(self) -> list[str]:
        return [rel for rel in self._saved_files() if rel not in self.locks]

    @precondition(lambda self: self._closed_workbooks())
    @rule(data=st.data())
    def open_in_excel(self, data: st.DataObject) -> None:
        """A promoter opens their file on the shared drive: Excel keeps `~$<name>` beside it meanwhile."""
        self._open(data.draw(st.sampled_from(self._closed_workbooks())))

    def _open(self, rel: str) -> None:
        folder, name = rel.rsplit("/", 1)
        self.locks[rel] = f"{folder}/~${name}"
        self._write(self.locks[rel], b"\x08yamada  " + b"\x00" * 153, None, "lock")

    @precondition(lambda self: self.locks)
    @rule(data=st.data())
    def close_in_excel(self, data: st.DataObject) -> None:
        lock = self.locks.pop(data.draw(st.sampled_from(sorted(self.locks))))
        (self.ws.inbox / lock).unlink()
        del self.present[lock]

    @rule()
    def rename_a_wg(self) -> None:
        """The DX office renames (or renames back) the WG the good answers chose: while renamed, those
        answers are `wg-invalid`, the ones no longer in the inbox too."""
        self.renamed = not self.renamed
        path = self.ws.templates / "working_groups.xlsx"
        wb = openpyxl.load_workbook(path)
        wb.active["B2"] = "行政手続デジタル化WG" if self.renamed else "行政手続オンライン化WG"
        wb.save(path)

    @rule()
    def leave_out_a_department(self) -> None:
        """The DX office marks 0103 × (not in this survey), or back ○: while left out, its returns are
        `dept-inactive` and it has no status; back in, every return it sent counts again."""
        self.left_out = not self.left_out
        path = self.ws.templates / "departments.xlsx"
        wb = openpyxl.load_workbook(path)
        row = next(r for r in wb.active.iter_rows(min_row=2) if r[0].value == "0103")
        row[5].value = "×" if self.left_out else "○"
        wb.save(path)

    @rule()
    def move_the_deadline(self) -> None:
        """The DX office moves the deadline before the first return was sent (or back): every return, the
        ones no longer in the inbox too, is marked late, and none is refused for it."""
        self.early_deadline = not self.early_deadline
        path = self.ws.templates / "round.xlsx"
        wb = openpyxl.load_workbook(path)
        row = next(r for r in wb.active.iter_rows(min_row=2) if r[0].value == "回答期限")
        early = datetime.fromtimestamp(self.first_clock).date() - timedelta(days=1)
        row[1].value = datetime.combine(early if self.early_deadline else DEADLINE, dt_time())
        wb.save(path)

    @rule()
    def another_night(self) -> None:
        """Hypothesis picks rules evenly: this second way to a night makes nights (where everything is
        checked) twice as common among the many ways files arrive."""
        self.night()

    @rule()
    def night(self) -> None:
        before = _hashes(self.ws.inbox)
        result = collect(self.ws, jobs=1)
        assert _hashes(self.ws.inbox) == before, "inbox/ is read-only to dxsheets"
        # A workbook open in Excel is not read: its earlier content (if any) stands until it is closed.
        open_now = {rel for rel, lock in self.locks.items() if rel in self.present}
        self.read.update({rel: s for rel, s in self.present.items() if rel not in open_now})
        with Ledger(self.ws.ledger_path) as ledger:
            rows = {r.path: r for r in ledger.files()}
            masters = self.ws.masters()
            summary = gather(masters, ledger)  # what the morning's summary shows
            problems = ledger.all_problems()
            latest = ledger.latest_returns()
        for rel in self.present:
            row = rows[rel]
            assert row.status in FATES and row.reason and row.present == 1, row
            assert row.status != "pending" or rel in open_now, row
        self.seen |= set(self.present)
        for rel in self.seen - set(self.present):
            assert rows[rel].present == 0, rel  # taken away: the row stays, marked absent
            if rel not in self.read:  # it went before it could ever be read: said once the inbox has files
                # (an inbox found empty may be a share that did not connect: nothing is concluded from it)
                assert rows[rel].status in (("ignored",) if self.present else ("ignored", "pending")), rows[
                    rel
                ]
        assert set(rows) == self.seen
        for row in rows.values():
            if row.sha256 and row.archive:
                copy = self.ws.outbox / row.archive
                assert hashlib.sha256(copy.read_bytes()).hexdigest() == row.sha256, row.path
        for dept in DEPTS:
            if dept == "0103" and self.left_out:
                assert dept not in result.departments
                assert not [r for r in rows.values() if r.dept_code == dept and r.status == "accepted"]
                continue
            kinds = self._answer_kinds(dept)
            expected = result.departments[dept]
            assert expected in {self._status_of(k) for k in kinds}, (dept, kinds, self._history(dept))
            accepted = [r for r in rows.values() if r.dept_code == dept and r.status == "accepted"]
            assert len(accepted) == (1 if expected == "answered" else 0), (dept, accepted)
            assert summary.statuses[dept] == expected
            # A feedback book for exactly the departments that need to fix something.
            assert feedback_path(self.ws.feedback, masters.department(dept)).exists() == (
                expected == "needs_fixing"
            )
            if expected == "needs_fixing":  # the book holds that return's answers, and says the same
                book = examine(
                    feedback_path(self.ws.feedback, masters.department(dept)).read_bytes(),
                    masters,
                    returns().secret,
                )
                assert book.answers is not None
                fixing = {RESPONDENT[k] for k in kinds if k and self._status_of(k) == "needs_fixing"}
                assert book.answers.respondent in fixing, (dept, kinds)
                errors = {p.code for p in problems[latest[dept][0]] if p.severity == "error"}
                assert {p.code for p in book.problems if p.severity == "error"} == errors, (dept, kinds)
            if expected == "answered":  # the summary shows the answers of the content sent last
                answered = {RESPONDENT[k] for k in kinds if self._status_of(k) == "answered"}
                assert summary.accepted[dept].respondent in answered, (dept, kinds)
            else:
                assert dept not in summary.accepted
        self._check_saved_order(rows, problems)
        # Late is by the deadline in tonight's masters, for every return read, in the inbox or not.
        end = datetime.combine(masters.round.deadline + timedelta(days=1), dt_time()).astimezone()
        for row in rows.values():
            if row.dept_code and row.sent_at and row.status not in ("pending", "ignored"):
                late = any(p.code == "returned-late" for p in problems.get(row.path, []))
                assert late == (datetime.fromisoformat(row.sent_at) > end), (row, end)

    def _check_saved_order(self, rows: dict[str, FileRow], problems: dict[str, list[Problem]]) -> None:
        """The saved-order warning is on an answer chosen by file time exactly while a return of its
        department that it outdated was saved later; an accepted file's reason counts its warnings."""
        for row in rows.values():
            mine = problems.get(row.path, [])
            flagged = any(p.code == SAVED_ORDER for p in mine)
            if row.status == "accepted":
                warnings = sum(p.severity == "warning" for p in mine)
                assert row.reason == "受理" + (f"（注意 {warnings} 件）" if warnings else ""), (row, mine)
                saved_later = [
                    other.path
                    for other in rows.values()
                    if other.dept_code == row.dept_code
                    and other.status == "superseded"
                    and row.saved_at
                    and other.saved_at
                    and datetime.fromisoformat(other.saved_at)
                    > datetime.fromisoformat(row.saved_at) + timedelta(seconds=SAVED_ORDER_SLACK)
                ]
                expected = row.evidence == "file-time" and bool(saved_later)
                assert flagged == expected, (row, saved_later, self._history(row.dept_code or ""))
            elif row.status != "rejected":  # only an answer (accepted, or rejected and latest) is flagged
                assert not flagged, (row, mine)

    def _answer_kinds(self, dept: str) -> set[str | None]:
        """The kind of the last content this department sent ({None}: none); a content is sent when its
        last copy was, and a blank sheet is not a return. Contents sent together (one mail) are told
        apart by their saved times: "good-late" is saved after the others, which tie (then the names
        decide, which this model does not follow: any of them)."""
        last_sent: dict[str, tuple[float, str]] = {}
        for s in self.read.values():
            if s.dept == dept and s.kind != "blank":
                last_sent[s.sha256] = max(last_sent.get(s.sha256, (0.0, "")), (s.at, s.kind))
        if not last_sent:
            return {None}
        latest = max(at for at, _ in last_sent.values())
        tied = {kind for at, kind in last_sent.values() if at == latest}
        return {"good-late"} if "good-late" in tied else set(tied)

    def _status_of(self, kind: str | None) -> str:
        """The status a department's answer of this kind gives it."""
        if kind is None:
            return "not_answered"
        wrong = kind == "with-error" or (self.renamed and kind in GOOD)
        return "needs_fixing" if wrong else "answered"

    def _history(self, dept: str) -> list[tuple[str, str, float]]:
        return sorted(
            ((rel, s.kind, s.at) for rel, s in self.read.items() if s.dept == dept), key=lambda t: t[2]
        )


Nights.TestCase.settings = settings(
    max_examples=int(os.environ.get("NIGHTS_EXAMPLES", "25")),
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_nights = Nights.TestCase


def test_the_returns_are_what_they_claim() -> None:
    """The machine's inputs: good returns, one with an error, the blank sheet, and saved times that tell
    "good-late" from the others (guards the model)."""
    with tempfile.TemporaryDirectory() as tmp:
        ws, _ = init_workspace(Path(tmp) / "ws")
        ws.secret_path.write_bytes(returns().secret)
        for i, kind in enumerate(KINDS):  # sent in this order: the one with an error after the good ones
            (ws.inbox / f"{kind}.xlsx").write_bytes(returns().data[("0101", kind)])
            os.utime(ws.inbox / f"{kind}.xlsx", (time.time() - 3600 + 60 * i,) * 2)
        collect(ws, jobs=1)
        with Ledger(ws.ledger_path) as ledger:
            fates = {r.path: (r.status, [p.code for p in ledger.problems(r.path)]) for r in ledger.files()}
            saved = {r.path: r.saved_at for r in ledger.files()}
    # The latest return, which the good-late one (saved after it) makes doubtful.
    assert fates["with-error.xlsx"] == ("rejected", ["q1-invalid", SAVED_ORDER])
    assert fates["blank.xlsx"] == ("rejected", ["form-blank"])
    for good in GOOD:
        assert fates[f"{good}.xlsx"] == ("superseded", ["superseded"])
    assert (
        saved["good.xlsx"] == saved["good-again.xlsx"] == saved["with-error.xlsx"] < saved["good-late.xlsx"]
    )


def test_a_doubtful_answer_taken_away_then_outdated_loses_its_warning() -> None:
    """One path the machine rarely takes, played out: the saved-order warning leaves an answer that is
    no longer in the inbox (so never recorded again) once a later return outdates it."""
    nights = Nights()
    try:
        nights.save_attachments_newest_first("0101", "good")
        nights.night()
        (answer,) = (rel for rel, s in nights.present.items() if s.kind == "good")
        nights._take_away(answer)  # tidied away once read
        nights.send("0101", "good-again")
        nights.night()  # checks: outdated, it carries no warning; the new answer does
        with Ledger(nights.ws.ledger_path) as ledger:
            assert [p.code for p in ledger.problems(answer)] == ["superseded"]
    finally:
        nights.teardown()


def test_a_department_left_out_for_a_night_gets_its_feedback_book_back() -> None:
    """Found by the machine: a department marked × for a night and back, whose answer needs fixing, had
    no feedback book, nor its answers in the summary. Its content was read while it was out (no answers
    kept for a department not in the survey); back in, the reading from before was known again, unread,
    but the newest one (from the night it was out) was the one used."""
    nights = Nights()
    try:
        nights.send("0103", "good")
        nights.rename_a_wg()  # its WG renamed: the answer needs fixing
        nights.night()
        nights.leave_out_a_department()
        nights.night()
        nights.leave_out_a_department()  # back in
        nights.night()  # checks: a feedback book for 0103, and the summary's data holds its answers
        with Ledger(nights.ws.ledger_path) as ledger:
            summary = gather(nights.ws.masters(), ledger)
        assert (
            summary.statuses["0103"] == "needs_fixing" and summary.answers["0103"].respondent == "山田 太郎"
        )
    finally:
        nights.teardown()


def test_a_return_taken_away_is_marked_late_when_the_deadline_moves_before_it() -> None:
    """One path the machine rarely takes, played out: a return no longer in the inbox is judged by the
    moved deadline too (checked again from its archive copy), like the ones still there."""
    nights = Nights()
    try:
        nights.send("0101", "good")
        nights.send("0102", "good")
        nights.night()
        (gone,) = (rel for rel, s in nights.present.items() if s.dept == "0101")
        nights._take_away(gone)
        nights.move_the_deadline()
        nights.night()  # checks: both returns marked late
        with Ledger(nights.ws.ledger_path) as ledger:
            assert [p.code for p in ledger.problems(gone)] == ["returned-late"]
    finally:
        nights.teardown()


def test_a_return_open_in_excel_on_the_night_its_department_comes_back_stands_in() -> None:
    """Found by the machine (in CI): a department marked × sends its return, is brought back (○), and
    that night the file is open in Excel. Its earlier content was not any department's return (a
    department left out has none), so it did not stand in and the department was 未回答 for the night;
    judged by tonight's masters, it is 0103's answer."""
    nights = Nights()
    try:
        nights.send("0103", "good")
        nights.leave_out_a_department()
        nights.night()
        nights.leave_out_a_department()  # back in
        (rel,) = nights.present
        nights._open(rel)  # in Excel
        nights.night()  # checks: 0103 answered, by the content it sent
        with Ledger(nights.ws.ledger_path) as ledger:
            assert [p.code for p in ledger.problems(rel)] == ["pending-previous-used"]
    finally:
        nights.teardown()


def test_returns_open_in_excel_while_their_department_is_left_out_stand_in_when_it_comes_back() -> None:
    """Found by the machine (exploring): 0103 is marked × and its two returns arrive; they are opened in
    Excel and stay open for nights. On the night they were first found open, their earlier content was no
    department's return (0103 left out), so the rows only waited and forgot that content; brought back,
    0103 was 未回答 though both returns were in the archive. The content stands in whatever its fate, so
    it is judged again when the department comes back."""
    nights = Nights()
    try:
        nights.leave_out_a_department()
        nights.save_attachments_newest_first("0103", "good")
        nights.night()
        for rel in nights._closed_workbooks():
            nights._open(rel)
        nights.night()  # checks: left out, no status, nothing accepted
        nights.leave_out_a_department()  # back in, both still open
        nights.night()  # checks: 0103 answered, by the content it sent
    finally:
        nights.teardown()
