"""Departments send their sheets back; the nightly collect checks each one and accounts for every file."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import hostile
import openpyxl
import pytest
from click.testing import CliRunner, Result
from openpyxl.workbook.defined_name import DefinedName
from promoter import Fill, copy_main_sheet, drop, fill_workbook, name_area, returned

from dxsheets import forms as F
from dxsheets import processes
from dxsheets.cli import cli
from dxsheets.collect import collect
from dxsheets.domain import Department
from dxsheets.feedback import feedback_path
from dxsheets.generate import build_form, form_path, jp_date
from dxsheets.intake import Arrival, Item
from dxsheets.ledger import Ledger
from dxsheets.outlookmsg import Attachment
from dxsheets.simulate import _saved_at, insert_rows
from dxsheets.workspace import Workspace
from dxsheets.xlsxread import Limits

JST = timezone(timedelta(hours=9))

# A test that changes the reader in this process reaches the workers only when they are forked from it.
needs_fork = pytest.mark.skipif(
    processes.START_METHOD != "fork", reason="changes the reader in this process: seen by forked workers only"
)


def inbox_fingerprint(inbox: Path) -> dict[str, tuple[str, float, int]]:
    return {
        p.relative_to(inbox).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime,
            p.stat().st_mode,
        )
        for p in inbox.rglob("*")
        if p.is_file()
    }


def status_json(ws: Workspace) -> dict:
    result = CliRunner().invoke(cli, ["status", "-w", str(ws.root), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def file_entry(report: dict, path: str) -> dict:
    return next(f for f in report["files"] if f["path"] == path)


def codes(entry: dict) -> list[tuple[str, str]]:
    return [(p["code"], p["severity"]) for p in entry["problems"]]


def test_a_good_return_is_accepted_archived_and_the_inbox_untouched(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "市民部/0401_市民課.xlsx", returned(generated.distribute, m.department("0401")))
    before = inbox_fingerprint(generated.inbox)
    result = CliRunner().invoke(cli, ["collect", "-w", str(generated.root)])
    assert result.exit_code == 0, result.output
    assert "回答済み 1" in result.stdout
    assert inbox_fingerprint(generated.inbox) == before
    report = status_json(generated)
    entry = file_entry(report, "市民部/0401_市民課.xlsx")
    assert entry["status"] == "accepted" and entry["department"] == "0401" and entry["problems"] == []
    assert {d["code"]: d["status"] for d in report["departments"]}["0401"] == "answered"
    assert sum(d["status"] == "not_answered" for d in report["departments"]) == 60
    with Ledger(generated.ledger_path) as ledger:
        row = ledger.file("市民部/0401_市民課.xlsx")
        assert row is not None and row.sha256
        archived = generated.outbox / row.archive
        assert hashlib.sha256(archived.read_bytes()).hexdigest() == row.sha256
        assert archived.stat().st_mode & 0o222 == 0  # read-only copy
        ((code, _, _, _, answers),) = ledger.submissions()
    assert code == "0401"
    assert answers["respondent"] == "山田 太郎"
    assert [q[2] for q in answers["q2"]] == ["住民票の写し等の交付", "会議資料の作成"]
    assert answers["house"] == {"1": True, "3": True}


def test_second_collect_with_nothing_new_parses_nothing(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    first = collect(generated)
    assert first.examined == 1 and first.new == ["a.xlsx"]
    second = collect(generated)
    assert second.examined == 0 and second.reused == 1 and second.new == []
    assert second.departments["0101"] == "answered"


RULE_CASES = [
    ("respondent-empty", Fill(respondent=None), [("required-missing", "error")]),
    ("respondent-too-long", Fill(respondent="山" * 51), [("text-too-long", "error")]),
    ("date-empty", Fill(answer_date=None), [("required-missing", "error")]),
    ("date-text", Fill(answer_date="来週"), [("date-invalid", "error")]),
    ("date-typed-as-text", Fill(answer_date="2026/11/20"), []),
    ("date-full-width", Fill(answer_date="２０２６年１１月２０日"), []),
    ("date-reiwa", Fill(answer_date="令和8年11月20日"), []),
    ("date-outside-round", Fill(answer_date=date(2025, 5, 1)), [("date-out-of-round", "warning")]),
    ("q1-empty", Fill(q1=None, q2=[], q3=[]), [("required-missing", "error")]),
    (
        "only-the-date-typed-is-not-a-blank-sheet",
        Fill(respondent=None, contact=None, q1=None, house={}, q2=[], q3=[]),
        [("required-missing", "error")] * 3,
    ),
    ("q1-pasted-past-dropdown", Fill(q1="はいはい"), [("q1-invalid", "error")]),
    ("q1-yes-without-q2", Fill(q2=[], q3=[]), [("q1-yes-without-q2", "error")]),
    ("q1-no-and-empty", Fill(q1="いいえ", q2=[], q3=[]), []),
    ("q1-no-with-rows", Fill(q1="いいえ"), [("q1-no-with-rows", "warning")]),
    ("house-pasted-value", Fill(house={2: "✓"}), [("house-invalid", "error")]),
    ("house-kanji-zero", Fill(house={2: "〇"}), []),
    (
        "wg-pasted-value",
        Fill(q2=[("窓口受付", "紙", "電子", "なんでもWG")], q3=[]),
        [("wg-invalid", "error")],
    ),
    ("wg-empty-is-unclassified", Fill(q2=[("窓口受付", "紙", "電子", None)], q3=[]), []),
    ("q2-no-name", Fill(q2=[(None, "紙", "電子", None)], q3=[]), [("q2-name-missing", "error")]),
    ("q2-no-before", Fill(q2=[("窓口受付", None, "電子", None)], q3=[]), [("q2-before-missing", "error")]),
    (
        "q2-no-after-no-gap",
        Fill(q2=[("窓口受付", "紙", None, None)], q3=[]),
        [("q2-after-without-gap", "error")],
    ),
    (
        "q2-no-after-with-gap",
        Fill(q2=[("窓口受付", "紙", None, None)], q3=[("窓口受付", "本人確認が対面前提")]),
        [],
    ),
    ("q3-not-in-q2", Fill(q3=[("別の業務", "予算がない")]), [("q3-name-not-in-q2", "warning")]),
    ("q3-no-gap", Fill(q3=[("会議資料の作成", None)]), [("q3-gap-missing", "error")]),
    ("q3-no-name", Fill(q3=[(None, "予算と人手が足りない")]), [("q3-name-missing", "error")]),
    ("formula-error", Fill(respondent="#DIV/0!"), [("formula-error", "error")]),
    (
        "q2-text-too-long",
        Fill(q2=[("窓口受付", "紙" * 1001, "電子", None)], q3=[]),
        [("text-too-long", "error")],
    ),
    (
        "q2-40000-chars",
        Fill(q2=[("窓口受付", "あ" * 40_000, "電子", None)], q3=[]),
        [("text-too-long", "error")],
    ),
    ("formula-uncached", Fill(respondent='=CONCAT("山","田")'), [("formula-uncached", "error")]),
]


def test_a_text_too_long_says_its_length_and_the_limit(generated: Workspace) -> None:
    dept = generated.masters().department("0402")
    fill = Fill(q2=[("窓口受付", "あ" * 1_001, "電子", None)], q3=[])
    drop(generated.inbox, "r.xlsx", returned(generated.distribute, dept, fill))
    collect(generated)
    (problem,) = file_entry(status_json(generated), "r.xlsx")["problems"]
    assert problem["message"].endswith("が1,001文字あります。1,000文字以内にしてください。")


def test_a_text_far_too_long_is_reported_by_what_was_read_and_kept_short(generated: Workspace) -> None:
    """A cell may hold 32,767 characters; the longest input takes 1,000. What is read of it is enough to
    report it and to edit it down in the feedback book, and no more is kept."""
    dept = generated.masters().department("0402")
    fill = Fill(q2=[("窓口受付", "あ" * 40_000, "電子", None)], q3=[])
    drop(generated.inbox, "r.xlsx", returned(generated.distribute, dept, fill))
    collect(generated)
    (problem,) = file_entry(status_json(generated), "r.xlsx")["problems"]
    assert problem["message"].endswith("が2,000文字を超えています。1,000文字以内にしてください。")
    with Ledger(generated.ledger_path) as ledger:
        row = ledger.file("r.xlsx")
        assert row is not None and row.sha256 is not None
        reading = ledger.current_reading(row.sha256)
    assert reading is not None and len(json.dumps(reading)) < 20_000
    book = openpyxl.load_workbook(feedback_path(generated.feedback, dept))
    assert "あ" * 2_000 in [c.value for row in book[F.MAIN_SHEET].iter_rows() for c in row]


def test_a_sheet_renamed_at_great_length_is_named_shortly_in_each_problem(generated: Workspace) -> None:
    """A sheet's name is repeated in every problem's place and message: kept to Excel's 31 characters."""
    dept = generated.masters().department("0402")
    fill = Fill(q2=[("窓口受付", "紙" * 1001, "電子", None)] * 10, q3=[])
    long = "".join(chr(0x4E00 + i % 20000) for i in range(5000))  # not Excel's, which allows 31
    parts = [
        (name, data.replace(F.MAIN_SHEET.encode(), long.encode()) if name == "xl/workbook.xml" else data)
        for name, data in hostile._zip_parts(returned(generated.distribute, dept, fill))
    ]
    hostile._write_package(generated.inbox / "r.xlsx", parts)
    hostile.age(generated.inbox / "r.xlsx", 3600)
    collect(generated)
    problems = file_entry(status_json(generated), "r.xlsx")["problems"]
    assert len(problems) == 10 and {p["code"] for p in problems} == {"text-too-long"}
    assert all(p["sheet"] == long[:31] + "…" and len(p["message"]) < 200 for p in problems)


@pytest.mark.parametrize(("case", "fill", "expected"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rules(generated: Workspace, case: str, fill: Fill, expected: list[tuple[str, str]]) -> None:
    m = generated.masters()
    dept = m.department("0402")
    drop(generated.inbox, "r.xlsx", returned(generated.distribute, dept, fill))
    result = collect(generated)
    entry = file_entry(status_json(generated), "r.xlsx")
    assert codes(entry) == expected
    for p in entry["problems"]:
        assert p["sheet"] == F.MAIN_SHEET and p["cell"], p  # every value problem has a place
        assert p["message"] and p["message"].isascii() is False  # Japanese, for the promoter
    has_error = any(s == "error" for _, s in expected)
    assert entry["status"] == ("rejected" if has_error else "accepted")
    assert result.departments["0402"] == ("needs_fixing" if has_error else "answered")
    assert feedback_path(generated.feedback, dept).exists() == has_error


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("来週", "来週"), ("２０２６年１３月４０日", "2026年13月40日"), (3_000_000, "3000000")],
)
def test_a_date_that_cannot_be_read_is_quoted_back(generated: Workspace, typed: object, shown: str) -> None:
    """The promoter sees what they typed, so they know which entry the message is about."""
    drop(
        generated.inbox,
        "d.xlsx",
        returned(generated.distribute, generated.masters().department("0402"), Fill(answer_date=typed)),
    )
    collect(generated)
    ((problem,),) = [file_entry(status_json(generated), "d.xlsx")["problems"]]
    assert problem["code"] == "date-invalid"
    assert f"の「{shown}」は日付として読めません" in problem["message"]


def test_text_typed_far_below_the_form_is_found_by_its_cell(generated: Workspace) -> None:
    """A promoter who typed a note in row 20,000 (beyond what a form can use) is told which cell."""
    wb = openpyxl.load_workbook(
        io.BytesIO(returned(generated.distribute, generated.masters().department("0402")))
    )
    wb[F.MAIN_SHEET]["C20000"] = "メモ"
    buf = io.BytesIO()
    wb.save(buf)
    drop(generated.inbox, "0402.xlsx", buf.getvalue())
    collect(generated)
    entry = file_entry(status_json(generated), "0402.xlsx")
    assert entry["status"] == "rejected" and codes(entry) == [("file-sheet-too-large", "error")]
    ((problem,),) = [entry["problems"]]
    assert problem["sheet"] == F.MAIN_SHEET  # the used range says how far, not which cell
    assert f"{F.MAIN_SHEET}の 20,000 行目まで入力や書式がある" in problem["message"]


def test_values_are_normalised(generated: Workspace) -> None:
    m = generated.masters()
    fill = Fill(
        respondent="ﾔﾏﾀﾞ ﾀﾛｳ",  # half-width katakana
        contact="内線１２３４",  # full-width digits
        q2=[
            ("窓口受付😀", "紙_x0007_で受付", "電子申請", "行政手続オンライン化WG"),
            (12345, "番号で管理", "自動化", None),
            (0.3, "計算結果で管理", "自動化", None),
        ],
        q3=[],
    )
    data = returned(generated.distribute, m.department("0101"), fill)
    drop(generated.inbox, "n.xlsx", _with_excel_digits(data, "<v>0.3</v>", "<v>0.30000000000000004</v>"))
    collect(generated)
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    assert ans["respondent"] == "ヤマダ タロウ"
    assert ans["contact"] == "内線1234"
    assert ans["q2"][0][2:5] == ["窓口受付😀", "紙で受付", "電子申請"]
    assert ans["q2"][1][2] == "12345"  # a number typed into a text cell stays text
    assert ans["q2"][2][2] == "0.3"  # as Excel shows it (15 significant digits)


def _with_excel_digits(data: bytes, old: str, new: str) -> bytes:
    """The workbook with a number in its sheets written to 17 digits, as Excel writes a result such as
    =0.1+0.2 (openpyxl and xlsxwriter write the shortest form, 0.3)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                part = part.replace(old.encode(), new.encode())
            dst.writestr(info.filename, part)
    return out.getvalue()


def _insert_rows_like_excel(data: bytes, at: int, count: int) -> bytes:
    """Insert `count` rows at offset `at` of the Q2 table, as Excel does, and type a work item into each."""
    return insert_rows(data, F.N_Q2, at, [[f"追加業務{i}", "紙", "電子", None] for i in range(count)])


def test_rows_inserted_inside_q2_are_all_read(generated: Workspace) -> None:
    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"), Fill(q3=[]))
    drop(generated.inbox, "ins.xlsx", _insert_rows_like_excel(data, 1, 3))
    collect(generated)
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    names = [q[2] for q in ans["q2"]]
    assert names == ["住民票の写し等の交付", "追加業務0", "追加業務1", "追加業務2", "会議資料の作成"]


def test_rows_inserted_under_the_tables_are_read_as_theirs_and_said(generated: Workspace) -> None:
    """Rows inserted under a table's last row do not grow its name (Excel, LibreOffice: see test_interop),
    yet are formatted as inputs: what is typed there is read as the table's, with a warning, not dropped."""
    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"), Fill(q3=[]))
    grown = _insert_rows_like_excel(data, F.MIN_Q2_ROWS, 2)  # under row 20 of Q2: its name stays
    wb = openpyxl.load_workbook(io.BytesIO(grown))
    sheet, ref = next(iter(wb.defined_names[F.N_Q3].destinations))
    under_q3 = int(ref.split(":")[1].lstrip("$BC")) + 1
    wb[sheet][f"B{under_q3}"] = "会議資料の作成"
    wb[sheet][f"C{under_q3}"] = "紙の決裁が残る"
    buf = io.BytesIO()
    wb.save(buf)
    drop(generated.inbox, "under.xlsx", buf.getvalue())
    result = collect(generated)
    entry = file_entry(status_json(generated), "under.xlsx")
    assert entry["status"] == "accepted", entry
    assert codes(entry) == [("rows-below-table", "warning")] * 2
    q2_note, q3_note = entry["problems"]
    assert q2_note["cell"] == "B50:E51"
    assert "設問2の表の下（課題抽出シート!B50:E51）に入力された行も、設問2の回答として" in q2_note["message"]
    assert q3_note["cell"] == f"B{under_q3}:C{under_q3}"
    assert result.departments["0101"] == "answered"
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    assert [q[2] for q in ans["q2"]] == ["住民票の写し等の交付", "会議資料の作成", "追加業務0", "追加業務1"]
    assert ans["q2"][2][1] == "課題抽出シート!B50"
    assert [g[2:] for g in ans["q3"]] == [["会議資料の作成", "紙の決裁が残る"]]


def test_text_typed_in_rows_inserted_under_other_inputs_is_said_not_to_be_read(generated: Workspace) -> None:
    """A second address typed in a row inserted under 連絡先, a ○ in one inserted under the checklist: no
    answer of one cell (or one per item) can take them, so each is said, with the text and where."""
    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"))
    data = insert_rows(data, F.N_CONTACT, 1, [["suzuki@city.example.lg.jp"]])
    data = insert_rows(data, F.N_HOUSE, len(m.house), [[F.HOUSE_MARK], [F.HOUSE_MARK]])
    drop(generated.inbox, "0101.xlsx", data)
    collect(generated)
    entry = file_entry(status_json(generated), "0101.xlsx")
    assert entry["status"] == "accepted", entry
    assert codes(entry) == [("typed-outside-input", "warning")] * 2
    contact, house = entry["problems"]
    assert contact["cell"] == "C8"
    assert (
        "連絡先の下に挿入された行（課題抽出シート!C8）に入力された「suzuki@city.example.lg.jp」は"
        in contact["message"]
    )
    assert "連絡先は入力欄（課題抽出シート!C7）に入力してください" in contact["message"]
    assert house["cell"] == "E26" and "（課題抽出シート!E26 ほか 1 セル）" in house["message"]
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    assert ans["contact"] == "内線 2345" and ans["house"] == {"1": True, "3": True}


def test_rows_inserted_inside_the_checklist_leave_each_mark_with_its_item(generated: Workspace) -> None:
    """The protection lets a promoter insert rows inside the 市役所の家 checklist too; its name grows over
    them. Read by the items' No., every ○ stays with its item; a ○ typed in an inserted row belongs to no
    item: said, not read. Rows inserted and left empty are no problem at all."""
    m = generated.masters()
    first, second = m.departments[0], m.departments[1]
    marked = insert_rows(returned(generated.distribute, first), F.N_HOUSE, 1, [[F.HOUSE_MARK], [None]])
    drop(generated.inbox, "marked.xlsx", marked)
    blank_rows = insert_rows(returned(generated.distribute, second), F.N_HOUSE, 2, [[None], [None], [None]])
    drop(generated.inbox, "blank_rows.xlsx", blank_rows)
    collect(generated)
    report = status_json(generated)
    entry = file_entry(report, "marked.xlsx")
    assert entry["status"] == "accepted", entry
    ((code, cell, message),) = [(p["code"], p["cell"], p["message"]) for p in entry["problems"]]
    assert (code, cell) == ("typed-outside-input", "E13")
    assert message.startswith("市役所の家の表の中に挿入された行（課題抽出シート!E13）に入力された「○」は")
    assert "番号（No）のある行の「該当（○）」欄で選んでください" in message
    blank_entry = file_entry(report, "blank_rows.xlsx")
    assert (blank_entry["status"], blank_entry["problems"]) == ("accepted", [])
    with Ledger(generated.ledger_path) as ledger:
        houses = {code: ans["house"] for code, _, _, _, ans in ledger.submissions()}
    assert houses == {first.code: {"1": True, "3": True}, second.code: {"1": True, "3": True}}


def test_notes_outside_the_inputs_are_said_not_to_be_read(generated: Workspace) -> None:
    """With the sheet's protection lifted (it has no password), a promoter may write anywhere: notes right
    of the tables and under the form, or on sheets they add, are no answers. Accepted, with one warning
    a sheet quoting the first note; the form's own labels never count as notes, and an added sheet too
    large to look through is said, not a reason to refuse the file."""
    m = generated.masters()
    wb = openpyxl.load_workbook(io.BytesIO(returned(generated.distribute, m.department("0101"))))
    main = wb[F.MAIN_SHEET]
    main["F6"] = "本人不在のため代理で回答"
    for row in range(100, 130):
        main[f"A{row}"] = f"メモ{row}"
    wb.create_sheet("作業用")["C3"] = 42
    wb.defined_names["作業範囲"] = DefinedName("作業範囲", attr_text="作業用!$C$3")  # a name of their own
    wb.create_sheet("Sheet1")  # added and left empty: nothing to say
    wb.create_sheet("台帳")["A20000"] = "末尾"  # past the reader's limits: said, and no reason to refuse
    buf = io.BytesIO()
    wb.save(buf)
    drop(generated.inbox, "notes.xlsx", buf.getvalue())
    collect(generated)
    entry = file_entry(status_json(generated), "notes.xlsx")
    assert entry["status"] == "accepted", entry
    problem, added, large = entry["problems"]
    assert (added["code"], added["sheet"], added["cell"]) == ("typed-outside-input", "作業用", "C3")
    assert added["message"].startswith("追加されたシート「作業用」（C3）に入力された「42」は")
    assert (large["code"], large["sheet"], large["cell"]) == ("typed-outside-input", "台帳", "")
    assert large["message"].startswith("追加されたシート「台帳」は大きすぎるため中身を確認しておらず")
    assert (problem["code"], problem["severity"], problem["cell"]) == ("typed-outside-input", "warning", "F6")
    assert problem["message"].startswith(
        f"入力欄の外（{F.MAIN_SHEET}!F6 ほか 30 セル）に入力された「本人不在のため代理で回答」は、"
        "回答として読み取っていません。"
    )


def test_rows_under_a_table_are_checked_like_its_own(generated: Workspace) -> None:
    """A row typed under Q2 with no Before is an error on that row, and the feedback workbook carries it
    inside its Q2 table, to be completed there."""
    m = generated.masters()
    wb = openpyxl.load_workbook(io.BytesIO(returned(generated.distribute, m.department("0101"))))
    wb[F.MAIN_SHEET]["B50"] = "追加の業務"  # the spacer row under Q2 (20 rows: B30:E49)
    buf = io.BytesIO()
    wb.save(buf)
    drop(generated.inbox, "under.xlsx", buf.getvalue())
    result = collect(generated)
    entry = file_entry(status_json(generated), "under.xlsx")
    assert entry["status"] == "rejected"
    assert ("q2-before-missing", "error") in codes(entry)
    (missing,) = [p for p in entry["problems"] if p["code"] == "q2-before-missing"]
    assert missing["cell"] == "C50"
    (path,) = result.feedback
    fb = openpyxl.load_workbook(path)
    sheet, ref = next(iter(fb.defined_names[F.N_Q2].destinations))
    first = int(ref.split(":")[0].lstrip("$B"))
    assert fb[sheet][f"B{first + 2}"].value == "追加の業務"  # third row, after the two answered


def test_rows_under_the_table_of_the_original_keep_it_read_beside_an_older_copy(generated: Workspace) -> None:
    """A copy kept as it was, then rows added under the original's Q2: the original is still the one
    read (a warning is no broken name), and the copy, which lacks the rows, is named as not read."""
    m = generated.masters()
    copied = copy_main_sheet(returned(generated.distribute, m.department("0101")))
    wb = openpyxl.load_workbook(io.BytesIO(copied))
    for col, value in zip("BCD", ("追加の業務", "紙で処理", "電子で処理"), strict=True):
        wb[F.MAIN_SHEET][f"{col}50"] = value
    buf = io.BytesIO()
    wb.save(buf)
    drop(generated.inbox, "0101.xlsx", buf.getvalue())
    collect(generated)
    entry = file_entry(status_json(generated), "0101.xlsx")
    assert codes(entry) == [("rows-below-table", "warning"), ("sheet-copy-ignored", "warning")]
    assert entry["problems"][1]["sheet"] == "課題抽出シート (2)"
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    assert [q[2] for q in ans["q2"]] == ["住民票の写し等の交付", "会議資料の作成", "追加の業務"]


def test_a_deleted_name_is_reported_and_not_merged(generated: Workspace) -> None:
    m = generated.masters()
    # 会議資料の作成 has no After: its reason is in Q3, whose name is then deleted.
    q2 = [("会議資料の作成", "紙に印刷して配布", None, "財務・文書システムWG")]
    fill = Fill(q2=q2, q3=[("会議資料の作成", "紙の決裁文化が残り、電子化に踏み切れない")])
    wb = openpyxl.load_workbook(io.BytesIO(returned(generated.distribute, m.department("0101"), fill)))
    del wb.defined_names[F.N_Q3]
    out = io.BytesIO()
    wb.save(out)
    drop(generated.inbox, "noname.xlsx", out.getvalue())
    collect(generated)
    entry = file_entry(status_json(generated), "noname.xlsx")
    # Only the missing name: Q3 is unknown, so no Q2 row is blamed for a gap it may well have given there.
    assert codes(entry) == [("name-missing", "error")]
    assert entry["status"] == "rejected"


def test_a_name_whose_rows_were_deleted_is_reported_as_broken(generated: Workspace) -> None:
    """Deleting every row of an input turns its name into #REF! in Excel: said, with what to do."""
    wb = openpyxl.load_workbook(
        io.BytesIO(returned(generated.distribute, generated.masters().department("0101")))
    )
    wb.defined_names[F.N_Q3].attr_text = f"'{F.MAIN_SHEET}'!#REF!"
    out = io.BytesIO()
    wb.save(out)
    drop(generated.inbox, "ref.xlsx", out.getvalue())
    result = collect(generated)
    entry = file_entry(status_json(generated), "ref.xlsx")
    assert codes(entry) == [("name-broken", "error")] and entry["status"] == "rejected"
    assert "シートや行・列の削除で消えた可能性があります" in entry["problems"][0]["message"]
    assert result.departments["0101"] == "needs_fixing"


def test_control_characters_in_what_a_message_quotes_are_left_out(generated: Workspace) -> None:
    """Found by fuzzing: a name's text (Excel's _x0000_ escape decodes to NUL) and a zip member's name were
    quoted as they were, control characters and all, into messages a person reads."""
    wb = openpyxl.load_workbook(
        io.BytesIO(returned(generated.distribute, generated.masters().department("0101")))
    )
    wb.defined_names[F.N_Q3].attr_text = "#REF!_x0000__x001B_[2J"
    out = io.BytesIO()
    wb.save(out)
    drop(generated.inbox, "ref.xlsx", out.getvalue())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("回答\x1b[2J\r.xlsx", b"PK")
    drop(generated.inbox, "回答.zip", archive.getvalue())
    collect(generated)
    report = status_json(generated)
    broken = file_entry(report, "ref.xlsx")["problems"][0]["message"]
    assert "参照先: #REF![2J）" in broken
    zipped = file_entry(report, "回答.zip")["problems"][0]["message"]
    assert "（中身: 回答[2J .xlsx）" in zipped


def test_a_copy_of_the_sheet_filled_in_place_of_the_deleted_original_is_read(generated: Workspace) -> None:
    """The promoter copied the sheet, answered in the copy and deleted the original: the workbook's names
    say #REF!, the copy's own names (Excel gave them to it) find every answer."""
    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"), Fill(respondent="コピー 花子"))
    drop(generated.inbox, "copied.xlsx", copy_main_sheet(data, original="delete"))
    result = collect(generated)
    entry = file_entry(status_json(generated), "copied.xlsx")
    assert entry["status"] == "accepted", entry
    assert codes(entry) == [("sheet-copy-used", "warning")]
    assert "「課題抽出シート (2)」から読み取りました" in entry["problems"][0]["message"]
    assert result.departments["0101"] == "answered"
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    assert ans["respondent"] == "コピー 花子"
    assert [q[2] for q in ans["q2"]] == ["住民票の写し等の交付", "会議資料の作成"]
    assert ans["q2"][0][1] == "課題抽出シート (2)!B30"  # where the row was found, for staff


def test_the_feedback_book_of_a_copy_lists_the_copy_as_the_place(generated: Workspace) -> None:
    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"), Fill(q1="多分"))
    drop(generated.inbox, "copied.xlsx", copy_main_sheet(data, original="delete"))
    (path,) = collect(generated).feedback
    listed = [row for row in openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True)]
    places = {row[2]: row[1] for row in listed if row[1] in ("確認", "要修正")}
    assert places == {"シート「課題抽出シート (2)」": "確認", "課題抽出シート (2)!E26": "要修正"}


def test_answers_in_a_copy_beside_the_blank_original_are_read_and_a_stale_copy_is_named(
    generated: Workspace,
) -> None:
    m = generated.masters()
    in_copy = copy_main_sheet(returned(generated.distribute, m.department("0101")), original="clear")
    drop(generated.inbox, "0101.xlsx", in_copy)
    # 0102 answered in the original after copying it half-way: the copy's answers differ and are not read.
    half = copy_main_sheet(returned(generated.distribute, m.department("0102"), Fill(q2=[], q3=[])))
    drop(generated.inbox, "0102.xlsx", fill_workbook(half, Fill()))
    # 0103 kept a copy of what it sent, answers and all: the same answers, nothing to say.
    drop(generated.inbox, "0103.xlsx", copy_main_sheet(returned(generated.distribute, m.department("0103"))))
    result = collect(generated)
    report = status_json(generated)

    assert codes(file_entry(report, "0101.xlsx")) == [("sheet-copy-used", "warning")]
    stale = file_entry(report, "0102.xlsx")
    assert stale["status"] == "accepted" and codes(stale) == [("sheet-copy-ignored", "warning")]
    assert stale["problems"][0]["sheet"] == "課題抽出シート (2)"
    assert "読み取ったのはシート「課題抽出シート」の回答です" in stale["problems"][0]["message"]
    assert codes(file_entry(report, "0103.xlsx")) == []
    assert {c: result.departments[c] for c in ("0101", "0102", "0103")} == dict.fromkeys(
        ("0101", "0102", "0103"), "answered"
    )
    with Ledger(generated.ledger_path) as ledger:
        q2 = {code: [q[2] for q in ans["q2"]] for code, _, _, _, ans in ledger.submissions()}
    assert q2["0101"] == q2["0102"] == ["住民票の写し等の交付", "会議資料の作成"]


def test_a_name_stretched_to_the_last_row_is_refused_without_reading_a_million_rows(
    generated: Workspace,
) -> None:
    m = generated.masters()
    wb = openpyxl.load_workbook(io.BytesIO(returned(generated.distribute, m.department("0101"))))
    sheet, area = next(iter(wb.defined_names[F.N_Q2].destinations))
    first = area.split(":")[0]
    wb.defined_names[F.N_Q2].attr_text = f"'{sheet}'!{first}:$E$1048576"
    out = io.BytesIO()
    wb.save(out)
    drop(generated.inbox, "stretched.xlsx", out.getvalue())
    drop(generated.inbox, "good.xlsx", returned(generated.distribute, m.department("0102")))
    result = collect(generated)  # before the limit, this one file took 14 s and 420 MB
    entry = file_entry(status_json(generated), "stretched.xlsx")
    shape = next(p for p in entry["problems"] if p["code"] == "name-shape")
    assert shape["cell"] == f"{first.replace('$', '')}:E1048576"
    # Q2 could not be read, so it is not judged empty: no "Q1=はい with no Q2 row", no "Q3 name not in Q2".
    assert codes(entry) == [("name-shape", "error")]
    assert "1,048,547行に広がっています" in shape["message"]
    assert entry["status"] == "rejected"
    assert result.departments["0102"] == "answered"


def test_a_file_posing_as_another_department_is_rejected(generated: Workspace) -> None:
    m = generated.masters()
    fake = returned(generated.distribute, m.department("0101"), Fill(extra={F.N_DEPT_CODE: "0402"}))
    drop(generated.inbox, "fake.xlsx", fake)
    result = collect(generated)
    entry = file_entry(status_json(generated), "fake.xlsx")
    assert codes(entry) == [("token-invalid", "error")]
    assert entry["department"] is None
    assert result.departments["0402"] == "not_answered" and result.departments["0101"] == "not_answered"


def test_an_identity_overwritten_with_a_long_text_is_quoted_by_its_start(generated: Workspace) -> None:
    """Found by fuzzing: a department code overwritten with 32,000 characters made a message as long."""
    m = generated.masters()
    long_code = returned(
        generated.distribute, m.department("0101"), Fill(extra={F.N_DEPT_CODE: "9" * 32_000})
    )
    drop(generated.inbox, "long.xlsx", long_code)
    collect(generated)
    ((problem),) = file_entry(status_json(generated), "long.xlsx")["problems"]
    assert problem["code"] == "dept-unknown"
    assert f"「{'9' * 40}…」は部署一覧にありません" in problem["message"] and len(problem["message"]) < 120


def test_garbage_in_the_token_or_an_items_number_is_answered_not_a_crash(generated: Workspace) -> None:
    """Found by fuzzing: Japanese typed over the hidden token (hmac refuses to compare non-ASCII text), and
    a checklist No. of 5,000 digits (past Python's int limit) each made the reading fail, which says only
    "the file may be broken". The token is simply wrong; the number is no item's."""
    m = generated.masters()
    renamed = returned(generated.distribute, m.department("0101"), Fill(extra={F.N_TOKEN: "照合コード"}))
    drop(generated.inbox, "token.xlsx", renamed)
    wb = openpyxl.load_workbook(io.BytesIO(returned(generated.distribute, m.department("0102"))))
    first_item = name_area(wb, F.N_HOUSE).split(":")[0]  # the 該当 cell of item 1; its No. is 4 columns left
    wb[F.MAIN_SHEET][first_item.replace("E", "A")] = "7" * 5000
    buf = io.BytesIO()
    wb.save(buf)
    drop(generated.inbox, "number.xlsx", buf.getvalue())
    collect(generated)
    report = status_json(generated)
    assert codes(file_entry(report, "token.xlsx")) == [("token-invalid", "error")]
    entry = file_entry(report, "number.xlsx")
    assert (entry["status"], entry["problems"]) == ("accepted", [])
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    assert ans["house"] == {"1": True, "3": True}


def test_a_sheet_copied_out_of_the_distributed_book_is_told_to_use_the_book(generated: Workspace) -> None:
    """Answers pasted into a new book, or the hidden identity sheet deleted: nothing ties the file to a
    department, so it is rejected, saying why and what to send instead."""
    data = returned(generated.distribute, generated.masters().department("0402"))
    pasted = openpyxl.Workbook()
    pasted.active.title = F.MAIN_SHEET
    for row in openpyxl.load_workbook(io.BytesIO(data))[F.MAIN_SHEET].iter_rows():
        for cell in row:
            if cell.value is not None:
                pasted.active[cell.coordinate] = cell.value
    stripped = openpyxl.load_workbook(io.BytesIO(data))
    del stripped[F.META_SHEET]
    for name, book in (("貼り付け.xlsx", pasted), ("識別なし.xlsx", stripped)):
        buf = io.BytesIO()
        book.save(buf)
        drop(generated.inbox, name, buf.getvalue())
    result = collect(generated)
    for name in ("貼り付け.xlsx", "識別なし.xlsx"):
        entry = file_entry(status_json(generated), name)
        assert entry["status"] == "rejected" and entry["department"] is None
        assert codes(entry) == [("form-unknown", "error")]
        assert "新しいブックに貼り付けたもの" in entry["problems"][0]["message"]
        assert "配布したファイルそのものに入力して" in entry["problems"][0]["message"]
    assert result.departments["0402"] == "not_answered"


def _signed_for(ws: Workspace, dept: Department) -> bytes:
    """A sheet dxsheets generated and signed for `dept`, filled in."""
    return fill_workbook(build_form(ws.masters(), dept, ws.secret(), datetime(2026, 11, 2, 9, 0)), Fill())


@pytest.mark.parametrize(
    ("case", "code", "said"),
    [
        pytest.param(case, code, said, id=case)
        for case, code, said in [
            ("version-edited", "form-version-unknown", "シートの版（9）が今回の様式（1）と違います"),
            (
                "left-the-list",
                "dept-unknown",
                "配布後に部署一覧から外れたか、部署コードが変わった可能性があります",
            ),
            (
                "code-edited",
                "dept-unknown",
                "部署コード「9901」は部署一覧にありません。配布したシートをそのまま",
            ),
            ("not-in-this-survey", "dept-inactive", "は今回の調査対象ではありません"),
        ]
    ],
)
def test_a_sheet_that_cannot_be_attributed_says_why(
    generated: Workspace, case: str, code: str, said: str
) -> None:
    """A department that left the list after the sheets went out is for DX staff to settle in the masters;
    a code edited by hand is for the promoter to undo. Neither file counts for any department."""
    m = generated.masters()
    data = {
        "version-edited": lambda: returned(
            generated.distribute, m.department("0101"), Fill(extra={F.N_FORM_VERSION: "9"})
        ),
        "left-the-list": lambda: _signed_for(generated, Department("9901", "旧組織部", "旧課", "", "")),
        "code-edited": lambda: returned(
            generated.distribute, m.department("0101"), Fill(extra={F.N_DEPT_CODE: "9901"})
        ),
        "not-in-this-survey": lambda: _signed_for(generated, next(d for d in m.departments if not d.active)),
    }[case]()
    drop(generated.inbox, "r.xlsx", data)
    result = collect(generated)
    entry = file_entry(status_json(generated), "r.xlsx")
    assert codes(entry) == [(code, "error")] and entry["status"] == "rejected"
    assert entry["department"] is None and said in entry["problems"][0]["message"]
    assert result.departments["0101"] == "not_answered"


@pytest.mark.parametrize(
    ("damage", "code", "said"),
    [
        pytest.param(
            {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row></worksheet>"},
            "file-xml-malformed",
            "壊れて",
            id="malformed-xml",
        ),
        pytest.param(
            {"xl/worksheets/sheet1.xml": None}, "file-missing-part", "欠けています", id="sheet-missing"
        ),
    ],
)
def test_a_damaged_workbook_is_rejected_with_what_to_do(
    generated: Workspace, damage: dict[str, bytes | None], code: str, said: str
) -> None:
    good = returned(generated.distribute, generated.masters().department("0101"))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = damage.get(info.filename, src.read(info))
            if part is not None:
                dst.writestr(info, part)
    drop(generated.inbox, "damaged.xlsx", out.getvalue())
    collect(generated)
    entry = file_entry(status_json(generated), "damaged.xlsx")
    assert codes(entry) == [(code, "error")] and entry["status"] == "rejected"
    assert (
        said in entry["problems"][0]["message"]
        and "保存し直して送ってください" in entry["problems"][0]["message"]
    )


def test_a_file_larger_than_any_form_is_refused_unread(generated: Workspace) -> None:
    drop(generated.inbox, "big.xlsx", returned(generated.distribute, generated.masters().department("0101")))
    collect(generated, limits=Limits(max_file_bytes=4096))
    entry = file_entry(status_json(generated), "big.xlsx")
    assert codes(entry) == [("file-too-large", "error")] and entry["status"] == "rejected"


def test_a_sheet_from_another_round_is_told_so(generated: Workspace) -> None:
    from dataclasses import replace

    m = generated.masters()
    old = replace(m, round=replace(m.round, round_id="R7-1", year_label="令和7年度"))
    data = build_form(old, m.department("0101"), generated.secret(), datetime(2025, 11, 1))
    drop(generated.inbox, "old.xlsx", fill_workbook(data, Fill()))
    collect(generated)
    entry = file_entry(status_json(generated), "old.xlsx")
    assert codes(entry) == [("round-mismatch", "error")]
    assert "R7-1" in entry["problems"][0]["message"]


def test_latest_return_wins_and_mail_date_is_the_evidence(generated: Workspace, tmp_path: Path) -> None:
    m = generated.masters()
    dept = m.department("0401")
    first = returned(generated.distribute, dept, Fill(respondent="最初"))
    second = returned(generated.distribute, dept, Fill(respondent="二回目"))
    # The saved copy is newer on disk, but the mail says the second answer was sent later.
    hostile.make_eml(
        generated.inbox / "mail" / "返信.eml",
        [("0401_市民課.xlsx", second)],
        datetime(2026, 11, 25, 10, 0, tzinfo=JST),
    )
    hostile.age(generated.inbox / "mail" / "返信.eml", 7200)
    drop(generated.inbox, "共有/0401_市民課.xlsx", first, age_seconds=3600)
    os.utime(generated.inbox / "共有/0401_市民課.xlsx", (datetime(2026, 11, 24, tzinfo=JST).timestamp(),) * 2)
    drop(generated.inbox, "共有/コピー.xlsx", first, age_seconds=3600)
    os.utime(generated.inbox / "共有/コピー.xlsx", (datetime(2026, 11, 24, 1, tzinfo=JST).timestamp(),) * 2)
    collect(generated)
    report = status_json(generated)
    mail = file_entry(report, "mail/返信.eml/0401_市民課.xlsx")
    assert mail["status"] == "accepted" and mail["evidence"] == "mail-date"
    assert mail["sent_at"].startswith("2026-11-25T01:00")
    assert file_entry(report, "共有/0401_市民課.xlsx")["status"] == "superseded"
    assert file_entry(report, "共有/コピー.xlsx")["status"] == "duplicate"
    with Ledger(generated.ledger_path) as ledger:
        ((_, path, _, _, ans),) = ledger.submissions()
    assert ans["respondent"] == "二回目" and path == "mail/返信.eml/0401_市民課.xlsx"


@pytest.mark.parametrize("same_saved_time", [False, True], ids=["saved-apart", "saved-together"])
def test_two_returns_of_one_department_in_one_mail(generated: Workspace, same_saved_time: bool) -> None:
    """A promoter attaches both their first try and their fix to one mail: sent at the same time, the one
    saved later is the answer, and the other says so rather than claim it was sent later. Saved at the
    same time too, the name decides, and staff are asked to make sure."""
    dept = generated.masters().department("0401")
    fixed = _saved_at(
        returned(generated.distribute, dept, Fill(respondent="修正後")),
        datetime(2026, 11, 24, 9, 30, tzinfo=JST),
    )
    first_at = datetime(2026, 11, 24, 9, 30 if same_saved_time else 9, tzinfo=JST)
    first = _saved_at(returned(generated.distribute, dept, Fill(respondent="修正前")), first_at)
    hostile.make_eml(
        generated.inbox / "返信.eml",
        [("b_0401_市民課.xlsx", fixed), ("a_0401_市民課.xlsx", first)],
        datetime(2026, 11, 24, 10, 0, tzinfo=JST),
    )
    hostile.age(generated.inbox / "返信.eml", 7200)
    collect(generated)
    report = status_json(generated)
    answer, other = (
        file_entry(report, "返信.eml/b_0401_市民課.xlsx"),
        file_entry(report, "返信.eml/a_0401_市民課.xlsx"),
    )
    assert answer["status"] == "accepted" and other["status"] == "superseded"
    if same_saved_time:
        assert other["reason"] == (
            "同時に送られ保存日時も同じ 返信.eml/b_0401_市民課.xlsx を名前の順で採用しました。"
            "どちらが最新か確かめてください。"
        )
    else:
        assert other["reason"] == (
            "同時に送られた 返信.eml/b_0401_市民課.xlsx の方がブックの保存日時が新しいため、"
            "そちらを採用しました。"
        )


def test_a_mailed_workbook_under_a_sensitivity_label_is_told_to_change_the_label(
    generated: Workspace, tmp_path: Path
) -> None:
    """Attached even without a workbook name (some mail gateways drop it), the protected file is
    recognised by its content and told what to do: not "remove the password", which it does not have."""
    source = returned(generated.distribute, generated.masters().department("0101"))
    protected = hostile.make_irm_protected(tmp_path, source).read_bytes()
    hostile.make_eml(
        generated.inbox / "返信.eml", [("添付ファイル", protected)], datetime(2026, 11, 24, tzinfo=JST)
    )
    hostile.age(generated.inbox / "返信.eml", 3600)
    collect(generated)
    entry = file_entry(status_json(generated), "返信.eml/添付ファイル")
    assert entry["status"] == "rejected" and codes(entry) == [("file-irm", "error")]
    assert "秘密度" in entry["problems"][0]["message"] and "パスワード" not in entry["problems"][0]["message"]


def test_a_blank_sheet_sent_after_an_answer_does_not_replace_it(generated: Workspace) -> None:
    """A promoter who attaches the blank sheet by mistake, after answering, keeps the answer sent before;
    a department that sent only the blank sheet has not answered. Each blank file says what it is, once."""
    from dxsheets.pipeline import consolidate

    m = generated.masters()
    answered, fixing, silent = m.department("0401"), m.department("0402"), m.department("0403")
    for dept, fill in ((answered, Fill(respondent="本回答")), (fixing, Fill(contact=None))):
        drop(generated.inbox, f"回答/{dept.code}.xlsx", returned(generated.distribute, dept, fill))
        os.utime(
            generated.inbox / f"回答/{dept.code}.xlsx", (datetime(2026, 11, 24, tzinfo=JST).timestamp(),) * 2
        )
    for dept in (answered, fixing, silent):
        blank = form_path(generated.distribute, dept).read_bytes()
        drop(generated.inbox, f"後から/{dept.code}.xlsx", blank)
        os.utime(
            generated.inbox / f"後から/{dept.code}.xlsx",
            (datetime(2026, 11, 25, tzinfo=JST).timestamp(),) * 2,
        )

    result = collect(generated)

    assert result.departments[answered.code] == "answered"
    assert result.departments[fixing.code] == "needs_fixing"
    assert result.departments[silent.code] == "not_answered"
    report = status_json(generated)
    for dept in (answered, fixing, silent):
        blank = file_entry(report, f"後から/{dept.code}.xlsx")
        assert blank["status"] == "rejected" and blank["department"] == dept.code
        assert codes(blank) == [("form-blank", "error")]
        assert "何も入力されていません" in blank["problems"][0]["message"]
    assert file_entry(report, "回答/0401.xlsx")["status"] == "accepted"
    assert file_entry(report, "回答/0402.xlsx")["status"] == "rejected"
    with Ledger(generated.ledger_path) as ledger:
        ((code, path, _, _, ans),) = ledger.submissions()
    assert (code, path, ans["respondent"]) == ("0401", "回答/0401.xlsx", "本回答")
    # The feedback is made from the return that has the errors, not from the blank sheet.
    assert [p.name for p in result.feedback] == [feedback_path(generated.feedback, fixing).name]
    assert not feedback_path(generated.feedback, silent).exists()

    summary = consolidate(generated).summary
    rows = {r[0].value: [c.value for c in r] for r in openpyxl.load_workbook(summary)["回答状況"].iter_rows()}
    assert rows[fixing.code][4] == "要修正" and rows[fixing.code][11] == "回答/0402.xlsx"
    assert rows[silent.code][4] == "未回答" and rows[silent.code][11] is None


def test_an_earlier_answer_sent_again_unchanged_is_the_latest(generated: Workspace) -> None:
    """Monday's answer, Tuesday's change, then on Wednesday "please use my first file": the very same file
    attached again. It is a copy of Monday's (duplicate), and it is what the department sent last."""
    dept = generated.masters().department("0401")
    first = returned(generated.distribute, dept, Fill(respondent="月曜"))
    days = {
        "月曜.xlsx": (first, 23),
        "火曜.xlsx": (returned(generated.distribute, dept, Fill(respondent="火曜")), 24),
    }
    days["水曜_再送.xlsx"] = (first, 25)
    for name, (data, day) in days.items():
        drop(generated.inbox, name, data)
        os.utime(generated.inbox / name, (datetime(2026, 11, day, 10, tzinfo=JST).timestamp(),) * 2)
    collect(generated)
    report = status_json(generated)
    tuesday = file_entry(report, "火曜.xlsx")
    assert (
        tuesday["status"] == "superseded"
        and "後から送られた 水曜_再送.xlsx を採用しました" in tuesday["reason"]
    )
    assert file_entry(report, "水曜_再送.xlsx")["status"] == "duplicate"
    with Ledger(generated.ledger_path) as ledger:
        ((_, path, _, _, ans),) = ledger.submissions()
    assert ans["respondent"] == "月曜" and path == "月曜.xlsx"


def test_a_copy_taken_out_of_the_inbox_still_holds_the_answer_when_the_other_is_saved_again(
    generated: Workspace,
) -> None:
    """Staff tidy the inbox (a copy saved from mail is moved out) and the promoter saves their file again,
    unchanged. The copy, now the earliest sent, is the department's answer again: the department stays
    answered. Its row had stayed `duplicate`, the file saved again became its duplicate, and the department
    turned 未回答 with its answers gone from the summary (found by tests/test_nights_property.py)."""
    data = returned(generated.distribute, generated.masters().department("0101"))
    drop(generated.inbox, "未来創造部/0101.xlsx", data, age_seconds=7200)
    drop(generated.inbox, "メール保存/0101_コピー.xlsx", data, age_seconds=3600)
    assert collect(generated).departments["0101"] == "answered"
    (generated.inbox / "メール保存/0101_コピー.xlsx").unlink()
    drop(generated.inbox, "未来創造部/0101.xlsx", data, age_seconds=120)
    result = collect(generated)
    assert result.departments["0101"] == "answered"
    report = status_json(generated)
    assert file_entry(report, "メール保存/0101_コピー.xlsx")["status"] == "accepted"
    assert file_entry(report, "未来創造部/0101.xlsx")["status"] == "duplicate"
    with Ledger(generated.ledger_path) as ledger:
        assert [s[0] for s in ledger.submissions()] == ["0101"]


def test_a_ledger_written_by_the_earlier_version_is_brought_up_to_date(generated: Workspace) -> None:
    """Schema 1 kept no file's own fate: a settled file gets it from its content's reading when opened."""
    import sqlite3

    data = returned(generated.distribute, generated.masters().department("0101"))
    drop(generated.inbox, "未来創造部/0101.xlsx", data, age_seconds=7200)
    drop(generated.inbox, "メール保存/0101_コピー.xlsx", data, age_seconds=3600)
    collect(generated)
    with sqlite3.connect(generated.ledger_path) as db:  # as the earlier version left it
        # The content was also read under earlier masters, which a WG rename had made it fail: the
        # reading of the last collect's rules is the one that holds.
        db.execute(
            """INSERT INTO readings SELECT sha256, 'earlier-rules', json_set(result, '$.fate', 'rejected')
               FROM readings"""
        )
        db.execute(  # and it had come after the deadline: its reason counts the warning
            """INSERT INTO problems VALUES ('メール保存/0101_コピー.xlsx', 9, 'returned-late', 'warning',
               '', '', '回答期限の後に届きました。', '', NULL, NULL)"""
        )
        db.execute("ALTER TABLE files DROP COLUMN own_status")
        db.execute("ALTER TABLE files DROP COLUMN own_reason")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    (generated.inbox / "メール保存/0101_コピー.xlsx").unlink()
    drop(generated.inbox, "未来創造部/0101.xlsx", data, age_seconds=120)
    assert collect(generated).departments["0101"] == "answered"
    with Ledger(generated.ledger_path) as ledger:
        assert ledger.get_meta("schema_version") == "2"
        copy = ledger.file("メール保存/0101_コピー.xlsx")
        assert copy is not None and (copy.status, copy.reason) == ("accepted", "受理（注意 1 件）")


def test_status_for_one_department_answers_a_promoter_on_the_phone(generated: Workspace) -> None:
    """ "Did you get our file?": its status, its files, and the files whose department could not be read
    but whose name says it is theirs."""
    m = generated.masters()
    kyodo = m.department("0402")
    drop(
        generated.inbox,
        "市民部/0402_市民協働課.xlsx",
        returned(generated.distribute, kyodo, Fill(contact=None)),
    )
    locked = generated.inbox / "市民部" / "0402_市民協働課_パスワード.xlsx"
    hostile.make_encrypted(locked, returned(generated.distribute, kyodo))
    hostile.age(locked, 3600)
    drop(generated.inbox, "市民部/0401_市民課.xlsx", returned(generated.distribute, m.department("0401")))
    collect(generated)

    def status(*args: str) -> Result:
        return CliRunner().invoke(cli, ["status", "-w", str(generated.root), *args])

    result = status("--dept", "0402")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "部署 0402 市民部 市民協働課: 要修正"
    assert lines[1] == "ファイル: 2 件"
    assert "0401_市民課" not in result.stdout
    assert "[不備] 市民部/0402_市民協働課.xlsx  部署 0402" in result.stdout
    assert "[不備] 市民部/0402_市民協働課_パスワード.xlsx" in result.stdout and "パスワード" in result.stdout
    narrowed = json.loads(status("--dept", "0402", "--json").stdout)
    assert [d["code"] for d in narrowed["departments"]] == ["0402"]
    assert [f["path"] for f in narrowed["files"]] == [
        "市民部/0402_市民協働課.xlsx",
        "市民部/0402_市民協働課_パスワード.xlsx",
    ]
    unknown = status("--dept", "9999")
    assert unknown.exit_code == 2 and "部署コード 9999 は部署一覧にありません" in unknown.stderr


def saved_at(data: bytes, when: datetime) -> bytes:
    """The workbook with its own saved time (docProps/core.xml dcterms:modified) set to `when`."""
    parts = hostile._zip_parts(data)
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, part in parts:
            if name == "docProps/core.xml":
                part = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    part,
                )
            zf.writestr(name, part)
    return out.getvalue()


def test_answers_saved_from_mail_newest_first_are_flagged_for_staff(generated: Workspace) -> None:
    """Outlook lists mail newest first: a staffer saving the attachments in that order gives the older
    answer the later file time. The saved times inside the workbooks say otherwise: staff are told."""
    dept = generated.masters().department("0401")
    older = saved_at(
        returned(generated.distribute, dept, Fill(respondent="古い")), datetime(2026, 11, 20, 9, tzinfo=JST)
    )
    newer = saved_at(
        returned(generated.distribute, dept, Fill(respondent="新しい")),
        datetime(2026, 11, 24, 17, tzinfo=JST),
    )
    for name, data, minute in (("新しい方.xlsx", newer, 1), ("古い方.xlsx", older, 2)):  # saved in that order
        drop(generated.inbox, name, data)
        os.utime(generated.inbox / name, (datetime(2026, 11, 25, 9, minute, tzinfo=JST).timestamp(),) * 2)
    out = CliRunner().invoke(cli, ["collect", "-w", str(generated.root)]).stdout
    assert "届いた順（ファイルの時刻）とブックの保存日時が食い違う回答 1 件" in out and "古い方.xlsx" in out
    report = status_json(generated)
    used = file_entry(report, "古い方.xlsx")
    assert used["status"] == "accepted" and used["reason"] == "受理（注意 1 件）"
    assert codes(used) == [("saved-order-doubtful", "warning")]
    assert "新しい方.xlsx の方が新しい" in used["problems"][0]["message"]
    # The staffer saves the newest again: it is now sent last, and the warning goes.
    drop(generated.inbox, "新しい方_再保存.xlsx", newer)
    collect(generated)
    report = status_json(generated)
    assert file_entry(report, "古い方.xlsx")["status"] == "superseded"
    assert file_entry(report, "古い方.xlsx")["problems"] == []
    with Ledger(generated.ledger_path) as ledger:
        ((_, _, _, _, ans),) = ledger.submissions()
    assert ans["respondent"] == "新しい"


def test_the_saved_order_warning_is_for_staff_and_not_on_the_feedback(generated: Workspace) -> None:
    dept = generated.masters().department("0402")
    older = returned(generated.distribute, dept, Fill(contact=None))
    newer = returned(generated.distribute, dept)
    for name, data, day, minute in (("新.xlsx", newer, 24, 1), ("旧.xlsx", older, 20, 2)):
        drop(generated.inbox, name, saved_at(data, datetime(2026, 11, day, 9, tzinfo=JST)))
        os.utime(generated.inbox / name, (datetime(2026, 11, 25, 9, minute, tzinfo=JST).timestamp(),) * 2)
    result = collect(generated)
    assert result.departments["0402"] == "needs_fixing"
    assert ("saved-order-doubtful", "warning") in codes(file_entry(status_json(generated), "旧.xlsx"))
    cover = openpyxl.load_workbook(feedback_path(generated.feedback, dept))["修正のお願い"]
    listed = " ".join(str(c.value) for row in cover.iter_rows() for c in row if c.value)
    assert "連絡先" in listed and "保存日時" not in listed


def test_a_file_name_with_a_newline_stays_on_one_line_of_status(generated: Workspace) -> None:
    drop(
        generated.inbox,
        "回答\n(2).xlsx",
        returned(generated.distribute, generated.masters().department("0401")),
    )
    collect(generated)
    result = CliRunner().invoke(cli, ["status", "-w", str(generated.root)])
    assert "  [受理] 回答\\n(2).xlsx  部署 0401" in result.stdout.splitlines()[-1]
    assert (
        file_entry(status_json(generated), "回答\n(2).xlsx")["status"] == "accepted"
    )  # JSON: the name as is


def test_status_tells_staff_in_local_time_which_return_counts_and_why(
    generated: Workspace, in_japan: None
) -> None:
    m = generated.masters()
    dept = m.department("0401")
    first = returned(generated.distribute, dept, Fill(respondent="最初"))
    drop(generated.inbox, "共有/0401_市民課.xlsx", first)
    os.utime(
        generated.inbox / "共有/0401_市民課.xlsx",
        (datetime(2026, 11, 24, 9, 30, tzinfo=JST).timestamp(),) * 2,
    )
    drop(generated.inbox, "共有/コピー.xlsx", first)
    os.utime(
        generated.inbox / "共有/コピー.xlsx", (datetime(2026, 11, 24, 10, 0, tzinfo=JST).timestamp(),) * 2
    )
    drop(
        generated.inbox,
        "再送/0401_市民課.xlsx",
        returned(generated.distribute, dept, Fill(respondent="二回目")),
    )
    os.utime(
        generated.inbox / "再送/0401_市民課.xlsx",
        (datetime(2026, 11, 25, 17, 45, tzinfo=JST).timestamp(),) * 2,
    )
    collect(generated)

    result = CliRunner().invoke(cli, ["status", "-w", str(generated.root)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # Times as the staffer's clock shows them, with what they rest on; then why each file has its fate.
    old = next(i for i, x in enumerate(lines) if x.startswith("  [差し替え済み] 共有/0401_市民課.xlsx"))
    assert "  部署 0401  送信 2026-11-24 09:30（ファイルの時刻）  ブック保存 " in lines[old]
    assert lines[old + 1] == "      後から送られた 再送/0401_市民課.xlsx を採用しました。"
    copy = next(i for i, x in enumerate(lines) if x.startswith("  [重複] 共有/コピー.xlsx"))
    assert "送信 2026-11-24 10:00（ファイルの時刻）" in lines[copy]
    assert lines[copy + 1] == "      共有/0401_市民課.xlsx と同じ内容です（重複）。"
    new = next(x for x in lines if x.startswith("  [受理] 再送/0401_市民課.xlsx"))
    assert "送信 2026-11-25 17:45（ファイルの時刻）" in new
    assert "+00:00" not in result.stdout and "file-time" not in result.stdout


def test_files_still_being_copied_or_open_are_pending(generated: Workspace) -> None:
    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"))
    (generated.inbox / "new.xlsx").write_bytes(data)  # just now
    drop(generated.inbox, "open.xlsx", data[:-10])
    drop(generated.inbox, "~$open.xlsx", b"\x08yamada  " + b"\x00" * 153)
    first = collect(generated)
    assert "new.xlsx" not in first.new, "new on the night it is taken in, not while it waits"
    report = status_json(generated)
    assert file_entry(report, "new.xlsx")["status"] == "pending"
    assert file_entry(report, "open.xlsx")["status"] == "pending"
    assert file_entry(report, "~$open.xlsx")["status"] == "ignored"
    # Next night the copy has settled: it is taken in.
    old = time.time() - 3600
    os.utime(generated.inbox / "new.xlsx", (old, old))
    result = collect(generated)
    assert file_entry(status_json(generated), "new.xlsx")["status"] == "accepted"
    assert result.new == ["new.xlsx"], "the run log lists the return the night it comes in"


def test_a_return_open_in_excel_or_saved_again_keeps_its_department_answered_until_it_settles(
    generated: Workspace,
) -> None:
    m = generated.masters()
    dept = m.department("0101")
    drop(generated.inbox, "未来創造部/0101_未来政策課.xlsx", returned(generated.distribute, dept))
    collect(generated)
    # The promoter opens their return on the shared drive and leaves Excel open overnight.
    drop(generated.inbox, "未来創造部/~$0101_未来政策課.xlsx", b"\x08yamada  " + b"\x00" * 153)
    result = collect(generated)
    assert result.departments["0101"] == "answered"
    assert result.kept_previous == ["未来創造部/0101_未来政策課.xlsx"]
    entry = file_entry(status_json(generated), "未来創造部/0101_未来政策課.xlsx")
    assert entry["status"] == "accepted"
    (warning,) = [p for p in entry["problems"] if p["code"] == "pending-previous-used"]
    assert "Excel 等で開かれています" in warning["message"] and "前回取り込んだ内容" in warning["message"]
    with Ledger(generated.ledger_path) as ledger:
        ((code, _, _, _, answers),) = ledger.submissions()
    assert code == "0101" and answers["respondent"] == Fill().respondent
    # They correct a name, save and close: the file is mid-save as the run starts, then settles.
    (generated.inbox / "未来創造部/~$0101_未来政策課.xlsx").unlink()
    corrected = returned(generated.distribute, dept, Fill(respondent="訂正 花子"))
    (generated.inbox / "未来創造部/0101_未来政策課.xlsx").write_bytes(corrected)  # just now
    night = CliRunner().invoke(cli, ["collect", "-w", str(generated.root)])
    assert "回答済み 1" in night.stdout
    assert (
        "前回取り込んだ内容を使ったファイル 1 件（次回読み直します）: 未来創造部/0101_未来政策課.xlsx"
        in night.stdout
    )
    with Ledger(generated.ledger_path) as ledger:
        assert ledger.submissions()[0][4]["respondent"] == Fill().respondent, "the earlier answer, still"
    settled = time.time() - 3600
    os.utime(generated.inbox / "未来創造部/0101_未来政策課.xlsx", (settled, settled))
    assert collect(generated).changed == ["未来創造部/0101_未来政策課.xlsx"], "the run log shows it came in"
    entry = file_entry(status_json(generated), "未来創造部/0101_未来政策課.xlsx")
    assert entry["status"] == "accepted" and entry["problems"] == []
    with Ledger(generated.ledger_path) as ledger:
        assert ledger.submissions()[0][4]["respondent"] == "訂正 花子"


def test_each_night_says_which_departments_moved_and_why_every_return_was_checked_again(
    generated: Workspace,
) -> None:
    m = generated.masters()
    shimin, kyodo = m.department("0401"), m.department("0402")
    drop(generated.inbox, "0401.xlsx", returned(generated.distribute, shimin))
    drop(generated.inbox, "0402.xlsx", returned(generated.distribute, kyodo, Fill(contact=None)), 7200)

    def cli_collect(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, "-w", str(generated.root)])
        assert result.exit_code == 0, result.output
        return result.stdout

    first = cli_collect("collect")
    assert (
        "状況が変わった" not in first and "チェックし直しました" not in first
    )  # the first night: all is new
    drop(generated.inbox, "0402_修正.xlsx", returned(generated.distribute, kyodo))
    assert "前回の回収から状況が変わった部署 1 件: 0402 市民協働課 要修正→回答済み" in cli_collect("collect")
    assert "状況が変わった" not in cli_collect("collect")  # nothing new: nothing moved

    # The DX office renames a WG in Excel while the sheets are out: the answers that chose it are now wrong.
    wb = openpyxl.load_workbook(generated.templates / "working_groups.xlsx")
    wb.active["B2"] = "行政手続デジタル化WG"
    wb.save(generated.templates / "working_groups.xlsx")
    out = cli_collect("run")
    assert "マスタか secret.key が前回の回収から変わったため、すべての返送をチェックし直しました" in out
    assert "inbox から移された" not in out  # both returns are still in the inbox
    assert "状況が変わった部署 2 件: 0401 市民課 回答済み→要修正, 0402 市民協働課 回答済み→要修正" in out
    log = json.loads(max(generated.logs.glob("run-*.json")).read_text(encoding="utf-8"))
    assert log["rechecked"] == "masters"
    assert log["departments_moved"] == [
        {"code": "0401", "from": "answered", "to": "needs_fixing"},
        {"code": "0402", "from": "answered", "to": "needs_fixing"},
    ]


def test_a_return_taken_out_of_the_inbox_is_checked_again_from_its_archive_copy(generated: Workspace) -> None:
    """Every return is checked again after a master changes, the ones staff have moved out of the inbox too:
    their content is in the archive, and they still count. Otherwise the summary would judge them by last
    week's WG list while the rest follow today's."""
    m = generated.masters()
    drop(generated.inbox, "済/0401_市民課.xlsx", returned(generated.distribute, m.department("0401")))
    assert collect(generated).departments["0401"] == "answered"
    (generated.inbox / "済/0401_市民課.xlsx").unlink()  # tidied away once read
    wb = openpyxl.load_workbook(generated.templates / "working_groups.xlsx")
    wb.active["B2"] = "行政手続デジタル化WG"  # the WG the answer chose is renamed
    wb.save(generated.templates / "working_groups.xlsx")
    out = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    assert "inbox から移された返送 1 件も、outbox/archive/ の保管コピーでチェックし直しました" in out.stdout
    log = json.loads(max(generated.logs.glob("run-*.json")).read_text(encoding="utf-8"))
    assert log["rechecked_absent"] == 1
    depts = {d["code"]: d["status"] for d in status_json(generated)["departments"]}
    assert depts["0401"] == "needs_fixing"
    entry = file_entry(status_json(generated), "済/0401_市民課.xlsx")
    assert entry["status"] == "rejected" and codes(entry) == [("wg-invalid", "error")]
    assert feedback_path(generated.feedback, m.department("0401")).exists()
    with Ledger(generated.ledger_path) as ledger:
        row = ledger.file("済/0401_市民課.xlsx")
        assert row is not None and row.present == 0  # still not in the inbox
    wb.active["B2"] = "行政手続オンライン化WG"  # renamed back: the answer stands again
    wb.save(generated.templates / "working_groups.xlsx")
    assert collect(generated).departments["0401"] == "answered"


def test_a_return_open_in_excel_on_the_night_the_masters_change_is_judged_by_the_new_masters(
    generated: Workspace,
) -> None:
    """Its earlier content stands while it is open, checked again under tonight's masters (found by
    tests/test_nights_property.py: it kept last week's verdict)."""
    m = generated.masters()
    drop(generated.inbox, "0401_市民課.xlsx", returned(generated.distribute, m.department("0401")))
    assert collect(generated).departments["0401"] == "answered"
    wb = openpyxl.load_workbook(generated.templates / "working_groups.xlsx")
    wb.active["B2"] = "行政手続デジタル化WG"
    wb.save(generated.templates / "working_groups.xlsx")
    drop(generated.inbox, "~$0401_市民課.xlsx", b"\x08yamada  " + b"\x00" * 153)  # opened in Excel
    assert collect(generated).departments["0401"] == "needs_fixing"
    entry = file_entry(status_json(generated), "0401_市民課.xlsx")
    assert [c for c, _ in codes(entry)] == ["wg-invalid", "pending-previous-used"]


def test_feedback_is_a_fresh_sheet_with_marks_and_fixed_it_is_valid(generated: Workspace) -> None:
    m = generated.masters()
    dept = m.department("0402")
    bad = Fill(q1="多分", q2=[("窓口受付", "紙", None, "なんでもWG")], q3=[])
    drop(generated.inbox, "bad.xlsx", returned(generated.distribute, dept, bad))
    collect(generated)
    path = feedback_path(generated.feedback, dept)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "修正のお願い"
    cover = wb["修正のお願い"]
    listed = [cover.cell(r, 4).value for r in range(5, cover.max_row + 1)]
    assert any("多分" in (t or "") for t in listed) and any("なんでもWG" in (t or "") for t in listed)
    main = wb[F.MAIN_SHEET]
    sheet, ref = next(iter(wb.defined_names[F.N_Q1].destinations))
    q1 = main[ref.replace("$", "")]
    assert q1.value == "多分"  # their answer, pre-filled
    assert q1.comment is not None and "はい" in q1.comment.text
    assert q1.fill.fgColor.rgb.endswith("FFC7CE")
    assert any(dv.type == "list" for dv in main.data_validations.dataValidation)  # dropdowns intact
    # The promoter fixes the marked cells and sends the feedback workbook back.
    fixed = fill_workbook(path, Fill(q2=[("窓口受付", "紙", "電子申請", "窓口WG")], q3=[]))
    drop(generated.inbox, "fixed.xlsx", fixed, age_seconds=60 * 5)
    result = collect(generated)
    fixed_entry = file_entry(status_json(generated), "fixed.xlsx")
    assert (fixed_entry["status"], fixed_entry["problems"]) == ("accepted", [])  # its cover sheet is ours
    assert result.departments["0402"] == "answered"
    assert not path.exists()  # feedback no longer needed


def test_a_feedback_comment_carries_every_problem_of_its_cell(generated: Workspace) -> None:
    """A ○ typed in a row inserted inside the checklist is a note on the whole checklist, marked on its
    first cell, where item 1's own error is marked too: the comment says both, the error first."""
    m = generated.masters()
    dept = m.department("0402")
    data = returned(generated.distribute, dept, Fill(house={1: "✓", 3: F.HOUSE_MARK}))
    drop(generated.inbox, "0402.xlsx", insert_rows(data, F.N_HOUSE, 1, [[F.HOUSE_MARK]]))
    collect(generated)
    wb = openpyxl.load_workbook(feedback_path(generated.feedback, dept))
    sheet, ref = next(iter(wb.defined_names[F.N_HOUSE].destinations))
    comment = wb[sheet][ref.replace("$", "").split(":")[0]].comment
    assert comment is not None
    error, note = comment.text.split("\n\n")
    assert "市役所の家 1" in error and "「✓」は選べない値です" in error
    assert note.startswith("市役所の家の表の中に挿入された行")


def test_only_feedback_books_dxsheets_wrote_unchanged_are_removed_when_no_longer_needed(
    generated: Workspace,
) -> None:
    m = generated.masters()
    shimin, kyodo = m.department("0401"), m.department("0402")
    for dept in (shimin, kyodo):
        drop(
            generated.inbox,
            f"{dept.code}.xlsx",
            returned(generated.distribute, dept, Fill(contact=None)),
            7200,
        )
    collect(generated)
    edited, untouched = feedback_path(generated.feedback, shimin), feedback_path(generated.feedback, kyodo)
    # A staffer keeps their own list here, and saves a promoter's corrected book over the feedback.
    own = generated.feedback / "送付状況.xlsx"
    openpyxl.Workbook().save(own)
    legacy = generated.feedback / "0403_市民窓口課_要修正.xlsx"  # written before dxsheets kept records
    openpyxl.Workbook().save(legacy)
    edited.write_bytes(returned(generated.distribute, shimin))
    for dept in (shimin, kyodo):  # both departments send their fixes: no feedback is needed any more
        drop(generated.inbox, f"{dept.code}_修正.xlsx", returned(generated.distribute, dept))
    result = collect(generated)
    assert result.departments["0401"] == result.departments["0402"] == "answered"
    assert not untouched.exists() and not legacy.exists()  # written by dxsheets and unchanged: gone
    assert own.exists() and edited.exists()  # not dxsheets' to remove


def test_a_feedback_book_saved_over_is_kept_aside_when_a_new_one_is_written(generated: Workspace) -> None:
    dept = generated.masters().department("0402")
    drop(generated.inbox, "0402.xlsx", returned(generated.distribute, dept, Fill(contact=None)))
    collect(generated)
    target = feedback_path(generated.feedback, dept)
    corrected = returned(generated.distribute, dept)  # a staffer saves the promoter's reply over it
    target.write_bytes(corrected)
    result = CliRunner().invoke(cli, ["collect", "-w", str(generated.root)])  # still needs fixing
    (kept,) = generated.feedback.glob("*_編集版_*.xlsx")
    assert kept.read_bytes() == corrected
    assert f"上書きせずに {kept.name} として残しました" in result.stdout
    assert openpyxl.load_workbook(target).sheetnames[0] == "修正のお願い"  # tonight's feedback
    collect(generated)
    assert len(list(generated.feedback.glob("*_編集版_*.xlsx"))) == 1  # kept, and not kept again


def test_feedback_after_the_deadline_asks_for_the_file_soon_not_by_a_past_date(generated: Workspace) -> None:
    m = generated.masters()
    dept = m.department("0402")
    drop(generated.inbox, "bad.xlsx", returned(generated.distribute, dept, Fill(contact=None)))
    path = feedback_path(generated.feedback, dept)

    def request() -> str:
        return openpyxl.load_workbook(path)["修正のお願い"]["A2"].value

    deadline = m.round.deadline
    collect(generated, now=datetime.combine(deadline, datetime.min.time()).replace(hour=23).timestamp())
    assert f"{jp_date(deadline)}までにこのファイルを送り返してください" in request()
    collect(generated, now=datetime.combine(deadline + timedelta(days=2), datetime.min.time()).timestamp())
    assert f"回答期限（{jp_date(deadline)}）を過ぎていますので、できるだけ早く" in request()
    assert "までにこのファイルを送り返して" not in request()


@needs_fork
def test_a_worker_that_dies_costs_only_its_file(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dxsheets import intake

    m = generated.masters()
    good = returned(generated.distribute, m.department("0101"))
    killer = good + b"KILL"  # a different content, recognised below (zips end in NUL bytes anyway)
    real = intake.examine

    def examine(data: bytes, *args, **kwargs):
        if data.endswith(b"KILL"):
            os._exit(134)  # what a native reader's abort looks like from outside
        return real(data, *args, **kwargs)

    monkeypatch.setattr(intake, "examine", examine)
    drop(generated.inbox, "a_good.xlsx", good)
    drop(generated.inbox, "b_killer.xlsx", killer)
    for i in range(5):
        drop(
            generated.inbox,
            f"c_{i}.xlsx",
            returned(generated.distribute, m.department(f"020{i + 1}")) if i < 4 else good + b" ",
        )
    collect(generated, jobs=2)
    report = status_json(generated)
    assert codes(file_entry(report, "b_killer.xlsx")) == [("file-reader-crashed", "error")]
    assert "読み取る処理が異常終了しました" in file_entry(report, "b_killer.xlsx")["problems"][0]["message"]
    assert file_entry(report, "a_good.xlsx")["status"] in ("accepted", "superseded"), file_entry(
        report, "a_good.xlsx"
    )["problems"]
    assert all(file_entry(report, f"c_{i}.xlsx")["status"] in ("accepted", "rejected") for i in range(5))


@needs_fork
def test_a_mailed_workbook_that_kills_its_worker_costs_only_itself_not_its_mail(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker opens the mail, but each workbook in it is taken in as a file of its own: when one breaks
    its worker, the workbook beside it in the same mail is still read, and the mail is not refused."""
    from dxsheets import intake

    m = generated.masters()
    good = returned(generated.distribute, m.department("0401"))
    killer = returned(generated.distribute, m.department("0402")) + b"KILL"
    real = intake.examine

    def examine(data: bytes, *args, **kwargs):
        if data.endswith(b"KILL"):
            os._exit(134)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(intake, "examine", examine)
    sent = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
    hostile.age(
        hostile.make_eml(generated.inbox / "部まとめ.eml", [("a.xlsx", good), ("b.xlsx", killer)], sent), 3600
    )
    drop(generated.inbox, "0101.xlsx", returned(generated.distribute, m.department("0101")))
    result = collect(generated, jobs=2)
    report = status_json(generated)
    assert file_entry(report, "部まとめ.eml/a.xlsx")["status"] == "accepted"
    assert codes(file_entry(report, "部まとめ.eml/b.xlsx")) == [("file-reader-crashed", "error")]
    assert not [f for f in report["files"] if f["path"] == "部まとめ.eml"]  # the mail itself was read
    assert result.departments["0401"] == result.departments["0101"] == "answered"


@needs_fork
@pytest.mark.skipif(os.name == "nt", reason="CPU limits are POSIX")
def test_a_file_that_keeps_a_reader_busy_costs_only_itself(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader caught in a loop on some file nobody has found yet: the worker is stopped once that file
    has used its CPU time, the file is recorded, and the night goes on."""
    from dxsheets import intake

    m = generated.masters()
    real = intake.examine

    def examine(data: bytes, *args, **kwargs):
        give_up = time.monotonic() + 20  # unstopped, the file is read after all and the test fails
        while data.endswith(b"LOOP") and time.monotonic() < give_up:
            pass
        return real(data, *args, **kwargs)

    monkeypatch.setattr(intake, "examine", examine)
    drop(generated.inbox, "a_loop.xlsx", returned(generated.distribute, m.department("0101")) + b"LOOP")
    drop(generated.inbox, "b_good.xlsx", returned(generated.distribute, m.department("0201")))
    collect(generated, jobs=1, limits=Limits(max_cpu_seconds=1))
    report = status_json(generated)
    assert codes(file_entry(report, "a_loop.xlsx")) == [("file-reader-crashed", "error")]
    assert file_entry(report, "b_good.xlsx")["status"] == "accepted"
    collect(generated, jobs=1)  # the main process, which read nothing, has no CPU limit of its own
    import resource

    assert resource.getrlimit(resource.RLIMIT_CPU)[0] == resource.RLIM_INFINITY


@needs_fork
@pytest.mark.parametrize("pool_record", ["kept", "elsewhere"])
def test_a_file_whose_reader_stalls_without_using_its_cpu_costs_only_itself(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch, pool_record: str
) -> None:
    """No CPU limit stops a worker that waits on something (or one on Windows, which has no CPU limits):
    once no worker has finished anything for the stall time, they are stopped, the files in flight are
    taken in again one at a time, the one that stalls is recorded, and the night goes on. The workers are
    found to be stopped also on a Python whose pool keeps its processes elsewhere than today's."""
    from dxsheets import intake, processes

    if pool_record == "elsewhere":
        monkeypatch.setattr(processes, "_POOL_PROCESSES", "_not_in_this_python")

    m = generated.masters()
    real = intake.examine

    def examine(data: bytes, *args, **kwargs):
        give_up = time.monotonic() + 30  # unstopped, the file is read after all and the test fails
        while data.endswith(b"STALL") and time.monotonic() < give_up:
            time.sleep(0.05)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(intake, "examine", examine)
    drop(generated.inbox, "a_stall.xlsx", returned(generated.distribute, m.department("0101")) + b"STALL")
    for i, code in enumerate(("0201", "0202", "0203")):
        drop(generated.inbox, f"b_good_{i}.xlsx", returned(generated.distribute, m.department(code)))
    started = time.monotonic()
    collect(generated, jobs=2, limits=Limits(max_stall_seconds=2))
    report = status_json(generated)
    assert codes(file_entry(report, "a_stall.xlsx")) == [("file-reader-crashed", "error")]
    message = file_entry(report, "a_stall.xlsx")["problems"][0]["message"]
    assert message.startswith("このファイルの読み取りが 2 秒たっても終わらなかったため、処理を止めました。")
    assert all(file_entry(report, f"b_good_{i}.xlsx")["status"] == "accepted" for i in range(3))
    assert time.monotonic() - started < 20


@needs_fork
def test_a_bug_in_a_rule_costs_only_its_file_not_its_batch(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dxsheets import intake

    m = generated.masters()
    real = intake.examine

    def examine(data: bytes, *args, **kwargs):
        if data.endswith(b"BUG"):
            raise ValueError("a rule that trips over an unexpected value")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(intake, "examine", examine)
    good = returned(generated.distribute, m.department("0101"))
    drop(generated.inbox, "a_bug.xlsx", good + b"BUG")
    drop(generated.inbox, "b_good.xlsx", returned(generated.distribute, m.department("0201")))
    collect(generated, jobs=1)  # one worker: both files travel in the same batch
    report = status_json(generated)
    assert codes(file_entry(report, "a_bug.xlsx")) == [("file-reader-crashed", "error")]
    assert file_entry(report, "b_good.xlsx")["status"] == "accepted"


def during_scan(monkeypatch: pytest.MonkeyPatch, act: Callable[[Arrival], None]) -> None:
    """Do `act` to each arrival as the inbox walk yields it, before collect takes it in: what someone
    else does to the inbox while the run goes."""
    from dxsheets import collect as collect_module

    real_scan = collect_module.scan

    def scan(inbox, *args, **kwargs):
        for arrival in real_scan(inbox, *args, **kwargs):
            act(arrival)
            yield arrival

    monkeypatch.setattr(collect_module, "scan", scan)


def test_a_file_moved_away_during_the_run_is_left_pending_then_forgotten(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = generated.masters()
    drop(generated.inbox, "moved.xlsx", returned(generated.distribute, m.department("0101")))
    drop(generated.inbox, "stays.xlsx", returned(generated.distribute, m.department("0201")))

    def move(arrival: Arrival) -> None:
        if arrival.path == "moved.xlsx":  # seen by the walk; the promoter's colleague tidies up
            arrival.source.rename(generated.root / "moved.xlsx")

    during_scan(monkeypatch, move)
    collect(generated)
    report = status_json(generated)
    moved = file_entry(report, "moved.xlsx")
    assert moved["status"] == "pending" and "次回" in moved["reason"]
    assert file_entry(report, "stays.xlsx")["status"] == "accepted"
    monkeypatch.undo()
    collect(generated)  # the next night it is gone: the ledger keeps the sighting, marked not present
    assert file_entry(status_json(generated), "moved.xlsx")["present"] is False


def test_a_return_after_the_deadline_is_merged_and_marked_late(generated: Workspace) -> None:
    m = generated.masters()
    data = returned(generated.distribute, m.department("0401"))
    hostile.make_eml(
        generated.inbox / "late.eml", [("0401_市民課.xlsx", data)], datetime(2026, 12, 21, 9, 0, tzinfo=JST)
    )
    saved = datetime(2026, 12, 21, 10, 0, tzinfo=JST).timestamp()  # saved here an hour after it was sent
    os.utime(generated.inbox / "late.eml", (saved, saved))
    result = collect(generated, now=saved + 86400)  # the night after
    entry = file_entry(status_json(generated), "late.eml/0401_市民課.xlsx")
    assert entry["status"] == "accepted" and codes(entry) == [("returned-late", "warning")]
    assert "2026/12/18" in entry["problems"][0]["message"]
    assert result.departments["0401"] == "answered"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="links and named pipes as on Linux and macOS shares")
def test_links_and_pipes_are_recorded_and_never_opened(generated: Workspace, tmp_path: Path) -> None:
    import signal

    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"))
    drop(generated.inbox, "0101_未来政策課.xlsx", data)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "0201_総務課.xlsx").write_bytes(returned(generated.distribute, m.department("0201")))
    links = {
        "link_in_inbox.xlsx": generated.inbox / "0101_未来政策課.xlsx",
        "link_out.xlsx": outside / "0201_総務課.xlsx",
        "link_to_folder": outside,  # a link to a folder is not walked into
    }
    for name, target in links.items():
        (generated.inbox / name).symlink_to(target)
    os.mkfifo(generated.inbox / "pipe.xlsx")  # opening it would wait for a writer forever
    old = time.time() - 3600
    os.utime(generated.inbox / "pipe.xlsx", (old, old))

    def hung(*_: object) -> None:
        raise TimeoutError("collect opened the named pipe")

    signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        result = collect(generated)
    finally:
        signal.alarm(0)
    report = status_json(generated)
    for name in (*links, "pipe.xlsx"):
        entry = file_entry(report, name)
        assert entry["status"] == "unsupported" and entry["sha256"] is None, entry
        assert codes(entry) == [("file-not-regular", "error")]
    assert "ファイルそのものを inbox に置いてください" in file_entry(report, "link_out.xlsx")["reason"]
    assert file_entry(report, "0101_未来政策課.xlsx")["status"] == "accepted"
    assert result.departments["0201"] == "not_answered"  # the return behind the link was not read
    assert not any(f["path"].startswith("link_to_folder/") for f in report["files"])
    archived = [p for p in generated.archive.rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in archived] == [data]  # only the real file was copied


def refuse_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """`folder` cannot be listed (access rights, a share that dropped). Root reads any folder whatever its
    mode, so the refusal is staged on `os.scandir`."""
    real_scandir = os.scandir

    def scandir(path):
        if str(path) == str(folder):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_a_folder_that_cannot_be_listed_is_reported_then_read(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = generated.masters()
    drop(generated.inbox, "市民部/0401_市民課.xlsx", returned(generated.distribute, m.department("0401")))
    drop(generated.inbox, "総務部/0201_総務課.xlsx", returned(generated.distribute, m.department("0201")))
    refuse_listing(monkeypatch, generated.inbox / "市民部")
    result = CliRunner().invoke(cli, ["collect", "-w", str(generated.root)])
    assert result.exit_code == 0, result.output
    assert "警告: inbox のフォルダ 1 件の中を読み取れず" in result.stderr and "市民部/" in result.stderr
    report = status_json(generated)
    folder = file_entry(report, "市民部/")
    assert folder["status"] == "pending" and codes(folder) == [("folder-unreadable", "warning")]
    assert "市民部" in folder["reason"] and "次回" in folder["reason"]
    assert file_entry(report, "総務部/0201_総務課.xlsx")["status"] == "accepted"
    # Access is given back: the next night reads the folder file by file, and nothing stays pending.
    monkeypatch.undo()
    result = collect(generated)
    report = status_json(generated)
    assert file_entry(report, "市民部/0401_市民課.xlsx")["status"] == "accepted"
    assert "市民部/" not in {f["path"] for f in report["files"]}
    assert result.files["pending"] == 0 and result.departments["0401"] == "answered"


def test_a_file_name_that_is_not_utf8_is_read_and_recorded_with_its_bytes_escaped(
    generated: Workspace,
) -> None:
    m = generated.masters()
    data = returned(generated.distribute, m.department("0401"))
    # As a share mounted with another code page, or a zip unpacked from Japanese Windows, shows it.
    raw = os.fsencode(generated.inbox / "市民部") + b"/" + "0401_市民課.xlsx".encode("cp932")
    os.makedirs(os.path.dirname(raw), exist_ok=True)
    try:
        with open(raw, "wb") as fh:
            fh.write(data)
    except OSError:
        pytest.skip("this file system takes UTF-8 names only")
    old = time.time() - 3600
    os.utime(raw, (old, old))
    drop(generated.inbox, "総務部/0201_総務課.xlsx", returned(generated.distribute, m.department("0201")))
    result = CliRunner().invoke(cli, ["collect", "-w", str(generated.root)])
    assert result.exit_code == 0, result.output
    escaped = "市民部/0401_\\x8es\\x96\\xaf\\x89\\xdb.xlsx"  # 市民課 in cp932, byte by byte
    entry = file_entry(status_json(generated), escaped)
    assert entry["status"] == "accepted" and entry["department"] == "0401"
    assert file_entry(status_json(generated), "総務部/0201_総務課.xlsx")["status"] == "accepted"
    again = collect(generated)  # the escaped name is the same every night: nothing is new
    assert again.new == [] and again.examined == 0


def test_a_file_gone_before_it_is_copied_costs_only_itself_and_a_mail_read_in_the_walk_is_kept(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = generated.masters()
    data = returned(generated.distribute, m.department("0101"))
    drop(generated.inbox, "~$0101.xlsx", b"\x08yamada  " + b"\x00" * 153)  # Excel closes the book now
    hostile.make_eml(
        generated.inbox / "mail/返信.eml", [("0101.xlsx", data)], datetime(2026, 11, 25, tzinfo=JST)
    )
    hostile.age(generated.inbox / "mail/返信.eml", 3600)  # tidied away by a colleague during the run
    drop(generated.inbox, "stays.xlsx", returned(generated.distribute, m.department("0201")))

    def remove(arrival: Arrival) -> None:
        if arrival.path in ("~$0101.xlsx", "mail/返信.eml/0101.xlsx"):
            arrival.source.unlink()  # seen by the walk, gone before it is hashed and copied

    during_scan(monkeypatch, remove)
    collect(generated)
    report = status_json(generated)
    entry = file_entry(report, "~$0101.xlsx")
    assert entry["status"] == "pending" and "次回" in entry["reason"], entry
    # The walk read the mail whole: its return was in hand before the mail went, and is taken in.
    assert file_entry(report, "mail/返信.eml/0101.xlsx")["status"] == "accepted"
    with Ledger(generated.ledger_path) as ledger:
        row = ledger.file("mail/返信.eml/0101.xlsx")
        assert row is not None and row.archive is not None
    assert (generated.outbox / row.archive).read_bytes() == data
    assert file_entry(report, "stays.xlsx")["status"] == "accepted"


def test_a_file_time_in_the_future_is_taken_in_on_the_next_night_if_unchanged(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "0401_市民課.xlsx", returned(generated.distribute, m.department("0401")))
    ahead = time.time() + 3 * 86400  # the sender's PC clock is three days ahead; the copy kept its time
    os.utime(generated.inbox / "0401_市民課.xlsx", (ahead, ahead))
    collect(generated)
    entry = file_entry(status_json(generated), "0401_市民課.xlsx")
    assert entry["status"] == "pending" and "未来" in entry["reason"] and "次回" in entry["reason"]
    collect(generated)  # unchanged since: not being written, whatever its time says
    assert file_entry(status_json(generated), "0401_市民課.xlsx")["status"] == "accepted"


def reply_from_0401(
    ws: Workspace, dated: datetime, fill: Fill | None = None, where: Path | None = None
) -> Path:
    """市民課 answers by mail: `返信.eml` in the inbox (or `where`), its return attached (a good one unless
    `fill`), the Date header `dated`."""
    return hostile.make_eml(
        where or ws.inbox / "返信.eml",
        [("0401_市民課.xlsx", returned(ws.distribute, ws.masters().department("0401"), fill))],
        dated,
    )


def resent_by_0401(ws: Workspace, on: datetime) -> None:
    """市民課 also saves a corrected answer straight into the inbox, `0401_再送.xlsx`, at `on`."""
    drop(
        ws.inbox,
        "0401_再送.xlsx",
        returned(ws.distribute, ws.masters().department("0401"), Fill(respondent="再送")),
    )
    os.utime(ws.inbox / "0401_再送.xlsx", (on.timestamp(),) * 2)


def test_a_mail_saved_just_before_collect_leaves_no_pending_row_once_read(generated: Workspace) -> None:
    """A mail still being saved waits as pending; read the next night, it is accounted for by its
    attachments, and nothing stays pending. Saved again later, its attachments keep their fates."""
    mail = reply_from_0401(generated, datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    collect(generated)  # saved seconds ago
    assert file_entry(status_json(generated), "返信.eml")["status"] == "pending"

    hostile.age(mail, 3600)
    result = collect(generated)
    report = status_json(generated)
    assert [f["path"] for f in report["files"]] == ["返信.eml/0401_市民課.xlsx"]
    assert file_entry(report, "返信.eml/0401_市民課.xlsx")["status"] == "accepted"
    assert result.files["pending"] == 0 and result.departments["0401"] == "answered"

    os.utime(mail)  # Outlook saves it again: for a minute it may be half written
    result = collect(generated)
    report = status_json(generated)
    attached = file_entry(report, "返信.eml/0401_市民課.xlsx")
    assert attached["status"] == "accepted" and attached["present"], attached  # still there, in the mail
    assert [f["path"] for f in report["files"]] == ["返信.eml/0401_市民課.xlsx"]
    assert result.kept_previous == ["返信.eml"] and result.departments["0401"] == "answered"


def test_a_file_gone_before_it_could_be_read_is_not_left_pending(generated: Workspace) -> None:
    """Dropped in the inbox root and moved into its department's folder within the minute: the first path
    was seen only while being copied. It keeps a row, saying what happened, and is not pending for ever."""
    m = generated.masters()
    data = returned(generated.distribute, m.department("0401"))
    drop(generated.inbox, "0401_市民課.xlsx", data, age_seconds=0)
    assert collect(generated).files["pending"] == 1
    (generated.inbox / "0401_市民課.xlsx").unlink()
    drop(generated.inbox, "市民部/0401_市民課.xlsx", data)
    result = collect(generated)
    report = status_json(generated)
    gone = file_entry(report, "0401_市民課.xlsx")
    assert gone["status"] == "ignored" and not gone["present"]
    assert "読み取る前に inbox からなくなりました" in gone["reason"]
    with Ledger(generated.ledger_path) as ledger:
        assert [p.code for p in ledger.problems("0401_市民課.xlsx")] == ["file-gone-before-read"]
    assert file_entry(report, "市民部/0401_市民課.xlsx")["status"] == "accepted"
    assert result.files["pending"] == 0 and result.departments["0401"] == "answered"


def test_a_waiting_file_not_seen_for_want_of_access_still_waits(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not seeing a file because its folder cannot be listed, or the whole share is missing, is not the
    file having gone: it stays pending."""
    m = generated.masters()
    drop(generated.inbox, "総務部/0201.xlsx", returned(generated.distribute, m.department("0201")), 0)
    drop(generated.inbox, "0401.xlsx", returned(generated.distribute, m.department("0401")))
    collect(generated)
    refuse_listing(monkeypatch, generated.inbox / "総務部")
    collect(generated)
    assert file_entry(status_json(generated), "総務部/0201.xlsx")["status"] == "pending"
    monkeypatch.undo()
    moved = generated.root / "inbox_aside"
    generated.inbox.rename(moved)
    generated.inbox.mkdir()  # the share mounted empty
    assert collect(generated).vanished  # said on stderr and in the run log
    assert file_entry(status_json(generated), "総務部/0201.xlsx")["status"] == "pending"
    assert file_entry(status_json(generated), "総務部/")["status"] == "pending"  # still unknown
    shutil.rmtree(generated.inbox)
    moved.rename(generated.inbox)
    old = time.time() - 3600
    os.utime(generated.inbox / "総務部/0201.xlsx", (old, old))
    collect(generated)
    assert file_entry(status_json(generated), "総務部/0201.xlsx")["status"] == "accepted"
    assert "総務部/" not in {f["path"] for f in status_json(generated)["files"]}


@needs_fork  # the worker that opens the mail must see it locked
def test_a_mail_locked_by_its_mail_program_waits_and_keeps_its_attachments(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = reply_from_0401(generated, datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    hostile.age(mail, 3600)
    real_read = Path.read_bytes

    def locked(self: Path) -> bytes:
        if self.name == mail.name:
            raise PermissionError(13, "Permission denied", str(self))  # Windows: open in the mail program
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", locked)
    result = collect(generated)  # first seen locked: it waits, it is not "not a mail"
    entry = file_entry(status_json(generated), "返信.eml")
    assert entry["status"] == "pending" and "次回" in entry["reason"]
    assert result.departments["0401"] == "not_answered"
    monkeypatch.undo()
    collect(generated)
    monkeypatch.setattr(Path, "read_bytes", locked)
    result = collect(generated)  # read before, locked tonight: its attachment keeps its fate
    report = status_json(generated)
    assert [f["path"] for f in report["files"]] == ["返信.eml/0401_市民課.xlsx"]
    assert file_entry(report, "返信.eml/0401_市民課.xlsx")["present"]
    assert result.kept_previous == ["返信.eml"] and result.departments["0401"] == "answered"


def test_a_mail_saved_again_with_the_workbook_it_lacked_is_recorded_by_its_attachment(
    generated: Workspace,
) -> None:
    mail = hostile.make_eml(generated.inbox / "返信.eml", [], datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    hostile.age(mail, 7200)
    collect(generated)
    assert codes(file_entry(status_json(generated), "返信.eml")) == [("mail-no-workbook", "error")]
    reply_from_0401(generated, datetime(2026, 11, 25, 11, 0, tzinfo=JST))  # sent again, with it attached
    hostile.age(mail, 3600)
    result = collect(generated)
    assert [f["path"] for f in status_json(generated)["files"]] == ["返信.eml/0401_市民課.xlsx"]
    assert result.departments["0401"] == "answered"


def test_a_mail_with_a_time_in_the_future_is_read_once_and_stays_read(generated: Workspace) -> None:
    mail = reply_from_0401(generated, datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    ahead = time.time() + 3 * 86400  # saved on a PC whose clock is three days ahead
    os.utime(mail, (ahead, ahead))
    collect(generated)
    assert file_entry(status_json(generated), "返信.eml")["status"] == "pending"
    for _night in range(3):  # unchanged since it was first seen: read, and not pending again
        result = collect(generated)
        report = status_json(generated)
        assert [f["path"] for f in report["files"]] == ["返信.eml/0401_市民課.xlsx"], report["files"]
        assert result.departments["0401"] == "answered"


def mailed_answer_loses_to_the_resend(ws: Workspace, path: str, evidence: str, sent_utc: str) -> None:
    """Collect: the mailed answer at `path`, timed by `evidence` at `sent_utc`, is superseded by 0401_再送."""
    collect(ws)
    report = status_json(ws)
    mailed = file_entry(report, path)
    assert mailed["evidence"] == evidence and mailed["sent_at"].startswith(sent_utc)
    assert mailed["status"] == "superseded"
    assert file_entry(report, "0401_再送.xlsx")["status"] == "accepted"


def test_a_mail_dated_after_it_was_saved_is_timed_by_its_file(generated: Workspace) -> None:
    # The mail's Date says 2031 (a wrong clock, or a forged header), yet the mail was saved here weeks ago:
    # it must not outrank the department's later return for years.
    mail = reply_from_0401(generated, datetime(2031, 1, 1, 9, 0, tzinfo=JST), Fill(respondent="最初"))
    os.utime(mail, (datetime(2026, 11, 20, tzinfo=JST).timestamp(),) * 2)
    resent_by_0401(generated, datetime(2026, 11, 24, tzinfo=JST))
    mailed_answer_loses_to_the_resend(generated, "返信.eml/0401_市民課.xlsx", "file-time", "2026-11-19T15:00")


def test_a_mail_forwarded_as_an_attachment_is_opened_and_dated_by_the_original(
    generated: Workspace,
) -> None:
    import email
    import email.policy
    from email.message import EmailMessage

    original = reply_from_0401(
        generated,
        datetime(2026, 11, 20, 9, 0, tzinfo=JST),
        Fill(respondent="転送された回答"),
        where=generated.root / "original.eml",
    )
    # A colleague forwards the department's mail to the DX office as an attachment, days later.
    outer = EmailMessage(policy=email.policy.default)
    outer["From"], outer["To"], outer["Subject"] = "a@city.example.jp", "dx@city.example.jp", "Fwd: 回答"
    outer["Date"] = "Thu, 26 Nov 2026 10:00:00 +0900"
    outer.set_content("転送します。")
    outer.add_attachment(email.message_from_bytes(original.read_bytes(), policy=email.policy.default))
    drop(generated.inbox, "転送.eml", bytes(outer))
    # Meanwhile the department sent a corrected answer directly, after the original but before the forward.
    resent_by_0401(generated, datetime(2026, 11, 23, tzinfo=JST))
    mailed_answer_loses_to_the_resend(generated, "転送.eml/0401_市民課.xlsx", "mail-date", "2026-11-20T00:00")


def test_a_mail_with_a_garbled_date_is_read_and_timed_by_its_file(generated: Workspace) -> None:
    mail = reply_from_0401(generated, datetime(2026, 11, 20, 9, 0, tzinfo=JST))
    text = mail.read_bytes()
    mail.write_bytes(re.sub(rb"(?m)^Date: .*$", b"Date: 2026/11/20 (Fri) 9:00 JST", text, count=1))
    hostile.age(mail, 3600)
    collect(generated)
    entry = file_entry(status_json(generated), "返信.eml/0401_市民課.xlsx")
    assert entry["status"] == "accepted" and entry["evidence"] == "file-time"


def outlook_reply_from_0401(
    ws: Workspace, sent: datetime | None, fill: Fill | None = None, *, unicode: bool = True
) -> hostile.MsgMail:
    """市民課's reply as Outlook keeps it: the return attached, with the signature image Outlook adds."""
    workbook = returned(ws.distribute, ws.masters().department("0401"), fill)
    attachments = [("0401_市民課.xlsx", workbook), ("image001.png", b"\x89PNG\r\n\x1a\n")]
    return hostile.MsgMail("RE: 【依頼】課題抽出シート", sent, attachments, unicode=unicode)


def test_a_mail_dragged_out_of_outlook_is_read_and_dated_like_a_saved_mail(generated: Workspace) -> None:
    """DX staff drag the reply from Outlook into the inbox (a .msg). Its workbook is taken in as the
    department's return, timed by when the mail was sent, so an answer sent after it wins even when it was
    saved into the inbox first; the signature image is no return and gets no row."""
    reply = outlook_reply_from_0401(
        generated, datetime(2026, 11, 20, 9, 0, tzinfo=JST), Fill(respondent="最初")
    )
    mail = hostile.make_outlook_msg(generated.inbox / "メール" / "RE 課題抽出シート.msg", mail=reply)
    hostile.age(mail, 3600)
    resent_by_0401(generated, datetime(2026, 11, 23, tzinfo=JST))
    before = inbox_fingerprint(generated.inbox)
    path = "メール/RE 課題抽出シート.msg/0401_市民課.xlsx"
    mailed_answer_loses_to_the_resend(generated, path, "mail-date", "2026-11-20T00:00")
    assert {f["path"] for f in status_json(generated)["files"]} == {path, "0401_再送.xlsx"}
    with Ledger(generated.ledger_path) as ledger:
        row = ledger.file(path)
        assert row is not None and row.archive
        archived = (generated.outbox / row.archive).read_bytes()
    workbook = reply.attachments[0]
    assert isinstance(workbook, tuple) and archived == workbook[1]  # the attachment, byte for byte
    assert inbox_fingerprint(generated.inbox) == before


def test_a_mail_forwarded_in_outlook_as_an_attachment_is_dated_by_the_original(generated: Workspace) -> None:
    original = outlook_reply_from_0401(generated, datetime(2026, 11, 20, 9, 0, tzinfo=JST))
    forward = hostile.MsgMail("FW: 回答", datetime(2026, 11, 26, 10, 0, tzinfo=JST), [original])
    hostile.age(hostile.make_outlook_msg(generated.inbox / "転送.msg", mail=forward), 3600)
    resent_by_0401(generated, datetime(2026, 11, 23, tzinfo=JST))
    mailed_answer_loses_to_the_resend(generated, "転送.msg/0401_市民課.xlsx", "mail-date", "2026-11-20T00:00")


def test_an_outlook_mail_sent_after_it_was_saved_is_timed_by_its_file(generated: Workspace) -> None:
    reply = outlook_reply_from_0401(generated, datetime(2031, 1, 1, 9, 0, tzinfo=JST))  # a wrong clock
    mail = hostile.make_outlook_msg(generated.inbox / "返信.msg", mail=reply)
    os.utime(mail, (datetime(2026, 11, 20, tzinfo=JST).timestamp(),) * 2)
    resent_by_0401(generated, datetime(2026, 11, 24, tzinfo=JST))
    mailed_answer_loses_to_the_resend(generated, "返信.msg/0401_市民課.xlsx", "file-time", "2026-11-19T15:00")


def test_an_outlook_draft_never_sent_is_timed_by_its_file(generated: Workspace) -> None:
    mail = hostile.make_outlook_msg(
        generated.inbox / "下書き.msg", mail=outlook_reply_from_0401(generated, None)
    )
    os.utime(mail, (datetime(2026, 11, 20, tzinfo=JST).timestamp(),) * 2)
    resent_by_0401(generated, datetime(2026, 11, 24, tzinfo=JST))
    mailed_answer_loses_to_the_resend(
        generated, "下書き.msg/0401_市民課.xlsx", "file-time", "2026-11-19T15:00"
    )


def test_an_older_outlook_mail_keeps_its_japanese_attachment_name(generated: Workspace) -> None:
    """Outlook 2002 and earlier saved names in the Windows code page (cp932), with ① and 﨑 in it."""
    workbook = returned(generated.distribute, generated.masters().department("0401"))
    mail = hostile.MsgMail(
        "回答", datetime(2026, 11, 20, 9, 0, tzinfo=JST), [("回答①_山﨑.xlsx", workbook)], unicode=False
    )
    hostile.age(hostile.make_outlook_msg(generated.inbox / "回答.msg", mail=mail), 3600)
    collect(generated)
    entry = file_entry(status_json(generated), "回答.msg/回答①_山﨑.xlsx")
    assert entry["status"] == "accepted" and entry["evidence"] == "mail-date"


def test_an_outlook_mail_without_a_workbook_or_damaged_is_told_and_the_rest_goes_on(
    generated: Workspace,
) -> None:
    no_workbook = hostile.MsgMail(
        "回答", datetime(2026, 11, 20, 9, 0, tzinfo=JST), [("回答.pdf", b"%PDF-1.7")]
    )
    hostile.age(hostile.make_outlook_msg(generated.inbox / "PDFだけ.msg", mail=no_workbook), 3600)
    whole = hostile.outlook_msg_bytes(outlook_reply_from_0401(generated, datetime(2026, 11, 20, tzinfo=JST)))
    drop(generated.inbox, "途中まで.msg", whole[: len(whole) // 2])  # half-copied from a USB stick
    hostile.age(generated.inbox / "途中まで.msg", 3600)
    # A workbook someone named .msg: its content decides what it is.
    drop(
        generated.inbox,
        "0401_市民課.msg",
        returned(generated.distribute, generated.masters().department("0401")),
    )
    hostile.age(generated.inbox / "0401_市民課.msg", 3600)
    result = CliRunner().invoke(cli, ["collect", "-w", str(generated.root)])
    assert result.exit_code == 0, result.output
    report = status_json(generated)
    pdf_only = file_entry(report, "PDFだけ.msg")
    assert pdf_only["status"] == "unsupported" and codes(pdf_only) == [("mail-no-workbook", "error")]
    assert "回答.pdf" in pdf_only["problems"][0]["message"]
    damaged = file_entry(report, "途中まで.msg")
    assert damaged["status"] == "rejected" and codes(damaged) == [("mail-unreadable", "error")]
    assert damaged["problems"][0]["message"].startswith("メールファイルとして読めません")
    assert file_entry(report, "0401_市民課.msg")["status"] == "accepted"


def test_an_outlook_mail_with_a_share_link_instead_of_the_sheet_is_told_to_attach_a_copy(
    generated: Workspace,
) -> None:
    """Outlook attaches a file kept on OneDrive as a share link unless told to attach a copy."""
    mail = hostile.MsgMail(
        "RE: 回答", datetime(2026, 11, 25, 10, 0, tzinfo=JST), [hostile.MsgLink("0401_市民課.xlsx")]
    )
    hostile.age(hostile.make_outlook_msg(generated.inbox / "リンク.msg", mail=mail), 3600)
    result = collect(generated)
    entry = file_entry(status_json(generated), "リンク.msg/0401_市民課.xlsx")
    assert entry["status"] == "unsupported" and codes(entry) == [("mail-attachment-link", "error")]
    assert "コピーとして添付" in entry["problems"][0]["message"]
    assert result.departments["0401"] == "not_answered"


def test_mails_signed_with_smime_are_read_and_encrypted_ones_are_told(generated: Workspace) -> None:
    """A signed mail keeps its attachments inside multipart/signed (an .eml), or inside one smime.p7m
    attachment (an Outlook .msg): the workbook is read from there. An encrypted one cannot be read here:
    staff are told so, not that nothing was attached."""
    m = generated.masters()
    sent = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
    hostile.make_signed_eml(
        generated.inbox / "署名.eml",
        [("0401_市民課.xlsx", returned(generated.distribute, m.department("0401")))],
        sent,
    )
    entity = hostile.smime_signed_entity(
        [("0402_市民協働課.xlsx", returned(generated.distribute, m.department("0402")))]
    )
    signed_msg = hostile.MsgMail("署名付き", sent, [("smime.p7m", entity, "multipart/signed")])
    hostile.make_outlook_msg(generated.inbox / "署名.msg", mail=signed_msg)
    hostile.make_encrypted_eml(generated.inbox / "暗号化.eml", sent)
    encrypted = hostile.MsgMail(
        "暗号化", sent, [("smime.p7m", b"\x30\x80" + bytes(600), "application/pkcs7-mime")]
    )
    hostile.make_outlook_msg(generated.inbox / "暗号化.msg", mail=encrypted)
    # A "signed body" that is itself an Outlook message: no S/MIME, and not opened (it could nest forever).
    nested = hostile.MsgMail(
        "入れ子", sent, [("smime.p7m", hostile.outlook_msg_bytes(signed_msg), "multipart/signed")]
    )
    hostile.make_outlook_msg(generated.inbox / "入れ子.msg", mail=nested)
    for path in generated.inbox.iterdir():
        hostile.age(path, 3600)
    result = collect(generated)
    report = status_json(generated)
    for path in ("署名.eml/0401_市民課.xlsx", "署名.msg/0402_市民協働課.xlsx"):
        entry = file_entry(report, path)
        assert entry["status"] == "accepted" and entry["evidence"] == "mail-date", entry
        assert entry["sent_at"].startswith("2026-11-25T01:00")
    assert result.departments["0401"] == result.departments["0402"] == "answered"
    for path in ("暗号化.eml/smime.p7m", "暗号化.msg/smime.p7m", "入れ子.msg/smime.p7m"):
        entry = file_entry(report, path)
        assert entry["status"] == "unsupported" and codes(entry) == [("mail-smime", "error")], entry
    assert "署名.eml/smime.p7s" not in {f["path"] for f in report["files"]}  # the signature: no return


def forwarded_as_a_file(ws: Workspace, how: str) -> str:
    """市民課's reply of 20 Nov, attached as a file to a mail a colleague sends on 26 Nov, as `how` says;
    the path its workbook is recorded under."""
    sent, forwarded = datetime(2026, 11, 20, 9, 0, tzinfo=JST), datetime(2026, 11, 26, 10, 0, tzinfo=JST)
    if how == "msg-in-eml":  # the Outlook mail, saved to disk, attached from a webmail
        reply = hostile.outlook_msg_bytes(outlook_reply_from_0401(ws, sent))
        hostile.make_eml(ws.inbox / "転送.eml", [("RE 課題抽出シート.msg", reply)], forwarded)
        return "転送.eml/0401_市民課.xlsx"
    original = reply_from_0401(ws, sent, where=ws.root / "original.eml").read_bytes()
    if how == "eml-in-eml-base64":  # message/rfc822 sent in base64, which RFC 2046 forbids
        mail = hostile.make_eml(ws.inbox / "転送.eml", [("返信.eml", original)], forwarded)
        assert b"Content-Type: message/rfc822" in mail.read_bytes()
        return "転送.eml/0401_市民課.xlsx"
    assert how == "eml-in-msg"  # a saved .eml attached to a mail in Outlook
    outer = hostile.MsgMail("FW: 回答", forwarded, [("返信.eml", original, "message/rfc822")])
    hostile.make_outlook_msg(ws.inbox / "転送.msg", mail=outer)
    return "転送.msg/0401_市民課.xlsx"


@pytest.mark.parametrize("how", ["msg-in-eml", "eml-in-eml-base64", "eml-in-msg"])
def test_a_mail_attached_as_a_file_is_opened_and_dated_by_itself(generated: Workspace, how: str) -> None:
    path = forwarded_as_a_file(generated, how)
    hostile.age(generated.inbox / path.split("/")[0], 3600)
    resent_by_0401(generated, datetime(2026, 11, 23, tzinfo=JST))
    mailed_answer_loses_to_the_resend(generated, path, "mail-date", "2026-11-20T00:00")


@needs_fork
def test_a_mail_of_many_workbooks_is_read_once_for_all_of_them(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A 部 sends its 課' returns in one mail: the worker that opens it hands each workbook back with its
    content, so the mail is parsed once a night (reading it once for each cost a mail of 450 tiny
    attachments two minutes; once more for all of them, half of the time 1,000 mailed returns took)."""
    from dxsheets import mail as mail_reading

    m = generated.masters()
    books = [(f"{c}.xlsx", returned(generated.distribute, m.department(c))) for c in ("0401", "0402", "0101")]
    hostile.age(hostile.make_eml(generated.inbox / "部まとめ.eml", books, datetime(2026, 11, 25)), 3600)
    reads = tmp_path / "reads"  # written by whichever worker reads the mail
    real = mail_reading.contents

    def counted(raw: bytes, file_time: datetime) -> Iterator[Attachment] | None:
        with reads.open("a") as log:
            log.write(f"{os.getpid()}\n")
        return real(raw, file_time)

    monkeypatch.setattr(mail_reading, "contents", counted)
    result = collect(generated)
    read_by = reads.read_text().split()
    assert len(read_by) == 1 and read_by != [str(os.getpid())]  # once, and not in the main process
    assert result.files["accepted"] == 3
    assert [result.departments[c] for c in ("0401", "0402", "0101")] == ["answered"] * 3


@needs_fork
def test_a_mail_read_before_is_not_opened_again_while_unchanged(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A collect with nothing new parses nothing, mails included: a mail read into its workbooks' rows
    is hashed, found the same, and its rows stand as they were. Saved again (a new file time), changed, or
    read under other masters, it is opened again; a workbook it no longer carries stays gone. A mail with
    no workbook keeps its fate by its hash, as a workbook does."""
    from dxsheets import mail as mail_reading

    m = generated.masters()
    books = {c: returned(generated.distribute, m.department(c)) for c in ("0401", "0402", "0101", "0201")}
    sent = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
    bundle = generated.inbox / "部まとめ.eml"
    hostile.age(
        hostile.make_eml(bundle, [(f"{c}.xlsx", books[c]) for c in ("0401", "0402", "0101")], sent), 3600
    )
    hostile.age(hostile.make_eml(generated.inbox / "0201.eml", [("0201.xlsx", books["0201"])], sent), 3600)
    hostile.age(hostile.make_eml(generated.inbox / "質問.eml", [("資料.pdf", b"%PDF-1.4\n")], sent), 3600)
    reads = tmp_path / "reads"  # a line for each mail a worker opens
    real = mail_reading.contents

    def counted(raw: bytes, file_time: datetime) -> Iterator[Attachment] | None:
        with reads.open("a") as log:
            log.write("opened\n")
        return real(raw, file_time)

    monkeypatch.setattr(mail_reading, "contents", counted)

    def opened_since(before: int) -> int:
        return len(reads.read_text().split()) - before

    first = collect(generated)
    assert opened_since(0) == 3 and first.files["accepted"] == 4 and first.files["unsupported"] == 1
    report = status_json(generated)
    assert codes(file_entry(report, "質問.eml")) == [("mail-no-workbook", "error")]

    again = collect(generated)
    assert opened_since(3) == 0  # nothing new: no mail parsed
    assert (again.seen, again.reused, again.examined) == (5, 5, 0)
    assert again.files == first.files and again.departments == first.departments
    assert status_json(generated) == report  # every fate, reason and problem as it was

    os.utime(bundle)  # saved again from the mail program, the same content
    hostile.age(bundle, 3600)
    collect(generated)
    assert opened_since(3) == 1  # a new file time: read again (it is the sent time of a mail without Date)

    # Sent again without 0101's workbook: opened, and the workbook it no longer carries stays gone after.
    hostile.age(hostile.make_eml(bundle, [(f"{c}.xlsx", books[c]) for c in ("0401", "0402")], sent), 3600)
    collect(generated)
    assert opened_since(4) == 1
    collect(generated)
    assert opened_since(5) == 0
    with Ledger(generated.ledger_path) as ledger:
        rows = {c: ledger.file(f"部まとめ.eml/{c}.xlsx") for c in ("0401", "0402", "0101")}
    assert {c: row.present for c, row in rows.items() if row} == {"0401": 1, "0402": 1, "0101": 0}

    # The DX office renames a WG: every mail is read again under the new masters.
    wb = openpyxl.load_workbook(generated.templates / "working_groups.xlsx")
    wb.active["B2"] = "行政手続デジタル化WG"
    wb.save(generated.templates / "working_groups.xlsx")
    collect(generated)
    assert opened_since(5) == 3

    # Being saved again tonight (its time is now): it waits, and the workbooks it carried when last read
    # keep their fates meanwhile; not the one it no longer carries.
    os.utime(bundle)
    collect(generated)
    assert opened_since(8) == 0
    with Ledger(generated.ledger_path) as ledger:
        rows = {c: ledger.file(f"部まとめ.eml/{c}.xlsx") for c in ("0401", "0402", "0101")}
    assert {c: row.present for c, row in rows.items() if row} == {"0401": 1, "0402": 1, "0101": 0}


def test_a_mail_without_a_workbook_keeps_its_fate_when_the_masters_change(generated: Workspace) -> None:
    """On a night the masters change, the returns away from the inbox and those being saved again are
    judged again from their archive copies. A mail's copy is a mail: it is opened as one, and keeps being
    told it has no workbook, not that it is no workbook."""
    sent = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
    away = hostile.age(
        hostile.make_eml(generated.inbox / "質問.eml", [("資料.pdf", b"%PDF-1.4\n")], sent), 3600
    )
    saving = hostile.age(
        hostile.make_eml(generated.inbox / "再送.eml", [("資料2.pdf", b"%PDF-1.4\n%%\n")], sent), 3600
    )
    collect(generated)
    first = status_json(generated)
    for name in ("質問.eml", "再送.eml"):
        assert file_entry(first, name)["status"] == "unsupported"
        assert codes(file_entry(first, name)) == [("mail-no-workbook", "error")]

    away.rename(generated.root / "質問.eml")  # filed away by the DX office
    os.utime(saving)  # being saved again as the night's collect starts
    wb = openpyxl.load_workbook(generated.templates / "working_groups.xlsx")
    wb.active["B2"] = "行政手続デジタル化WG"
    wb.save(generated.templates / "working_groups.xlsx")
    result = collect(generated)
    assert result.rechecked == "masters"
    report = status_json(generated)
    for name in ("質問.eml", "再送.eml"):
        entry = file_entry(report, name)
        assert entry["status"] == "unsupported", entry
        assert ("mail-no-workbook", "error") in codes(entry)
        assert ("file-not-workbook", "error") not in codes(entry)


@needs_fork
def test_a_mail_that_broke_a_worker_and_left_stands_when_the_masters_change(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mail whose reading killed its worker is recorded so. Filed away, then judged again on a night the
    masters change, its copy opens this time and gives a workbook: not taken in from outside the inbox,
    the mail's row stands as it was, and the night goes on."""
    from dxsheets import mail as mail_reading

    reply = hostile.age(reply_from_0401(generated, datetime(2026, 11, 25, 10, 0, tzinfo=JST)), 3600)
    drop(generated.inbox, "0101.xlsx", returned(generated.distribute, generated.masters().department("0101")))

    def dies(raw: bytes, file_time: datetime) -> None:
        os._exit(1)

    monkeypatch.setattr(mail_reading, "contents", dies)
    collect(generated)
    entry = file_entry(status_json(generated), "返信.eml")
    assert entry["status"] == "rejected" and codes(entry) == [("file-reader-crashed", "error")]
    monkeypatch.undo()

    reply.rename(generated.root / "返信.eml")
    wb = openpyxl.load_workbook(generated.templates / "working_groups.xlsx")
    wb.active["B2"] = "行政手続デジタル化WG"
    wb.save(generated.templates / "working_groups.xlsx")
    result = collect(generated)
    assert result.rechecked == "masters" and result.departments["0101"] != "not_answered"
    after = file_entry(status_json(generated), "返信.eml")
    assert after == {**entry, "present": False}


def test_mails_being_opened_at_once_are_held_to_a_size_together(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each mail a worker opens comes back as its workbooks' contents, which the main process holds until
    it hands them out again: the mails out at once are held to `MAIL_BYTES_IN_FLIGHT` together (a larger
    one goes alone), so a night of large mails does not pile up in memory."""
    from dxsheets import collect as collecting

    m = generated.masters()
    sent = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
    for code in ("0401", "0402", "0101"):
        book = returned(generated.distribute, m.department(code))
        hostile.age(hostile.make_eml(generated.inbox / f"{code}.eml", [(f"{code}.xlsx", book)], sent), 3600)
    handed: list[str | None] = []  # what the workers were given, in order: "mail", "book", or None (a wait)
    real = collecting.take_in_all

    def watched(items: Iterable[Item | None], *args: Any, **kwargs: Any) -> Any:
        def each() -> Iterator[Item | None]:
            for item in items:
                handed.append(None if item is None else "mail" if item.mail_time is not None else "book")
                yield item

        return real(each(), *args, **kwargs)

    monkeypatch.setattr(collecting, "take_in_all", watched)
    monkeypatch.setattr(collecting, "MAIL_BYTES_IN_FLIGHT", 1)  # every mail is larger: each goes alone
    result = collect(generated)
    assert result.files["accepted"] == 3
    mails = [i for i, kind in enumerate(handed) if kind == "mail"]
    assert len(mails) == 3
    # Between two mails handed out, the first one's workbook came back and was handed out too.
    assert all("book" in handed[a:b] for a, b in itertools.pairwise(mails))


@needs_fork
def test_a_mail_the_parser_cannot_finish_costs_only_itself(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mails are opened in the workers: a slow path in the mail parser nobody has found yet is stopped
    like a workbook's (on every system: no worker finished anything for the stall time), the mail is
    refused, and the rest of the inbox is taken in."""
    from dxsheets import mail as mail_reading

    reply_from_0401(generated, datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    hostile.age(generated.inbox / "返信.eml", 3600)
    for i, code in enumerate(("0101", "0201", "0202")):
        drop(
            generated.inbox, f"{i}.xlsx", returned(generated.distribute, generated.masters().department(code))
        )

    def endless(raw: bytes, file_time: datetime) -> None:
        started = time.monotonic()
        while time.monotonic() - started < 30:  # gives up, so that without the limit the test fails
            time.sleep(0.05)  # (not using its CPU: no CPU limit would stop it)
        raise AssertionError("the mail was read to the end")

    monkeypatch.setattr(mail_reading, "contents", endless)
    started = time.monotonic()
    result = collect(generated, jobs=2, limits=Limits(max_stall_seconds=2))
    entry = file_entry(status_json(generated), "返信.eml")
    assert entry["status"] == "rejected" and codes(entry) == [("file-reader-crashed", "error")]
    message = entry["problems"][0]["message"]
    assert message.startswith("このメールの読み取りが 2 秒たっても終わらなかったため、処理を止めました。")
    assert [result.departments[code] for code in ("0101", "0201", "0202")] == ["answered"] * 3
    assert time.monotonic() - started < 25


def test_status_shows_a_disguised_attachment_name_as_it_is(generated: Workspace) -> None:
    """ "回答\u202exslx.exe" shows as "回答exe.xlsx" in a terminal: staff see the override, not the disguise."""
    workbook = returned(generated.distribute, generated.masters().department("0401"))
    hostile.make_eml(generated.inbox / "返信.eml", [("回答\u202exslx.exe", workbook)], datetime(2026, 11, 25))
    hostile.age(generated.inbox / "返信.eml", 3600)
    collect(generated)
    out = CliRunner().invoke(cli, ["status", "-w", str(generated.root)]).output
    assert "返信.eml/回答\\u202exslx.exe" in out and "\u202e" not in out


def test_an_attached_mail_without_a_workbook_is_named_in_what_the_mail_carried(generated: Workspace) -> None:
    sent = datetime(2026, 11, 20, 9, 0, tzinfo=JST)
    notice = hostile.make_eml(generated.root / "notice.eml", [], sent).read_bytes()
    pdf_only = hostile.make_eml(generated.root / "pdf.eml", [("回答.pdf", b"%PDF-1.7")], sent).read_bytes()
    hostile.make_eml(generated.inbox / "転送.eml", [("お知らせ.eml", notice), ("PDF.eml", pdf_only)], sent)
    hostile.age(generated.inbox / "転送.eml", 3600)
    collect(generated)
    entry = file_entry(status_json(generated), "転送.eml")
    assert entry["status"] == "unsupported" and codes(entry) == [("mail-no-workbook", "error")]
    assert "（添付: お知らせ.eml、回答.pdf）" in entry["problems"][0]["message"]


def test_an_outlook_mail_whose_sectors_loop_costs_only_itself(generated: Workspace) -> None:
    workbook = returned(generated.distribute, generated.masters().department("0401"))
    hostile.age(hostile.make_msg_sector_loop(generated.inbox, workbook), 3600)
    reply_from_0401(generated, datetime(2026, 11, 25, 10, 0, tzinfo=JST))
    hostile.age(generated.inbox / "返信.eml", 3600)
    result = collect(generated)
    report = status_json(generated)
    looped = file_entry(report, "回答_壊れ.msg/0401_市民課.xlsx")  # read as far as its size says: garbled
    assert looped["status"] == "rejected" and looped["problems"][0]["code"].startswith("file-")
    assert file_entry(report, "返信.eml/0401_市民課.xlsx")["status"] == "accepted"
    assert result.departments["0401"] == "answered"


def test_a_mail_of_hundreds_of_parts_is_refused_unparsed_and_a_long_thread_is_not(
    generated: Workspace,
) -> None:
    workbook = returned(generated.distribute, generated.masters().department("0401"))
    images = [(f"image{i:03d}.png", b"\x89PNG\r\n") for i in range(600)]
    sent = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
    hostile.make_eml(generated.inbox / "部品多数.eml", [("0401_市民課.xlsx", workbook), *images], sent)
    # A reply quoting a long thread: Outlook's separators start lines with "--" too.
    thread = "\n".join(f"-----Original Message-----\n件名: RE: 回答 ({i})\n" for i in range(40))
    hostile.make_eml(generated.inbox / "返信.eml", [("0401_市民課.xlsx", workbook)], sent, body=thread)
    for name in ("部品多数.eml", "返信.eml"):
        hostile.age(generated.inbox / name, 3600)
    collect(generated)
    report = status_json(generated)
    many = file_entry(report, "部品多数.eml")
    assert many["status"] == "rejected" and codes(many) == [("mail-too-many-parts", "error")]
    assert "上限 500 個" in many["problems"][0]["message"]
    assert file_entry(report, "返信.eml/0401_市民課.xlsx")["status"] == "accepted"


def test_the_ledger_is_one_plain_file_fit_for_a_shared_drive(generated: Workspace) -> None:
    import sqlite3

    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    # A ledger written by an earlier version in WAL mode (which needs every reader on one machine).
    generated.ledger_path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(generated.ledger_path)
    assert old.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    old.close()
    collect(generated)
    beside = sorted(p.name for p in generated.ledger_path.parent.glob(generated.ledger_path.name + "*"))
    assert beside == [generated.ledger_path.name]  # no -wal or -shm file beside it
    db = sqlite3.connect(generated.ledger_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()
    assert file_entry(status_json(generated), "a.xlsx")["status"] == "accepted"


def test_an_inbox_that_cannot_be_listed_fails_the_run_instead_of_seeing_nothing(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    refuse_listing(monkeypatch, generated.inbox)
    result = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: inbox（")
    assert "読み取れません" in result.stderr and "アクセス権" in result.stderr


def test_an_inbox_that_has_gone_fails_the_run_and_an_emptied_one_is_warned_of(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    run = ["run", "-w", str(generated.root)]
    assert CliRunner().invoke(cli, run).exit_code == 0
    # The share did not connect: the inbox folder is not there. Nothing is made in its place, nothing changes.
    generated.inbox.rename(generated.root / "inbox-切断中")
    result = CliRunner().invoke(cli, run)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "inbox（" in result.stderr and "前回の回収では 1 件ありました" in result.stderr
    assert not generated.inbox.exists()
    # Mounted, but empty: the night goes on and says so; the answer stays.
    generated.inbox.mkdir()
    result = CliRunner().invoke(cli, run)
    assert result.exit_code == 0 and "警告: inbox が空です。前回の回収では 1 件ありました" in result.stderr
    assert "回答済み 1" in result.stdout
    newest = max(generated.logs.glob("run-*.json"), key=lambda p: p.stat().st_mtime_ns)
    assert json.loads(newest.read_text(encoding="utf-8"))["vanished"] == 1
    # Back: nothing more is said.
    (generated.inbox / "a.xlsx").write_bytes((generated.root / "inbox-切断中" / "a.xlsx").read_bytes())
    os.utime(generated.inbox / "a.xlsx", (time.time() - 3600,) * 2)
    result = CliRunner().invoke(cli, run)
    assert result.exit_code == 0 and "inbox が空です" not in result.stderr


def test_a_new_workspace_gets_its_inbox_made_by_collect(ws: Workspace) -> None:
    shutil.rmtree(ws.inbox)
    assert CliRunner().invoke(cli, ["collect", "-w", str(ws.root)]).exit_code == 0
    assert ws.inbox.is_dir()


@needs_fork
def test_a_return_locked_when_its_turn_comes_keeps_its_department_answered(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dxsheets import intake

    m = generated.masters()
    dept = m.department("0101")
    drop(generated.inbox, "0101.xlsx", returned(generated.distribute, dept))
    collect(generated)
    # Replaced by a corrected copy, which a sync client or a virus scanner holds when the worker reads it.
    drop(generated.inbox, "0101.xlsx", returned(generated.distribute, dept, Fill(respondent="訂正 花子")))
    real_keep = intake._keep
    monkeypatch.setattr(
        intake, "_keep", lambda item, i: None if item.key == "0101.xlsx" else real_keep(item, i)
    )
    result = collect(generated)
    assert result.departments["0101"] == "answered" and result.kept_previous == ["0101.xlsx"]
    entry = file_entry(status_json(generated), "0101.xlsx")
    (warning,) = [p for p in entry["problems"] if p["code"] == "pending-previous-used"]
    assert "読み取れませんでした" in warning["message"]
    monkeypatch.setattr(intake, "_keep", real_keep)
    assert collect(generated).changed == ["0101.xlsx"], "its new content came in tonight"
    with Ledger(generated.ledger_path) as ledger:
        assert ledger.submissions()[0][4]["respondent"] == "訂正 花子"


def test_why_every_return_is_checked_again() -> None:
    from dxsheets.collect import _why_rechecked

    assert _why_rechecked(None, "2:aaaa") is None  # the first collect
    assert _why_rechecked("2:aaaa", "2:aaaa") is None
    assert _why_rechecked("1:aaaa", "2:aaaa") == "rules"  # dxsheets updated
    assert _why_rechecked("2:aaaa", "2:bbbb") == "masters"  # templates/ or secret.key edited
