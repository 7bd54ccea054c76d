"""dxsheets' workbooks against a real LibreOffice: they open, print, survive a save, and come back readable.

Why: the promoters and DX staff open our files in Excel or LibreOffice, not in openpyxl.  A file that
openpyxl reads happily can still show a repair prompt, print badly, lose its dropdowns when saved, or come
back (as .ods or .xls) in a form collect must refuse politely.  These tests drive LibreOffice headless
(tests/libreoffice.py) to play both the reader and the promoter who types into the sheet.

Each soffice start costs ~2-3 s, so conversions are batched (one soffice for many files) and the filled
files are made once per module.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from libreoffice import fill_with_uno, requires_libreoffice, requires_uno, soffice_convert
from openpyxl.utils.cell import get_column_letter, range_boundaries
from promoter import Fill, drop, returned

from dxsheets import forms as F
from dxsheets.cli import cli
from dxsheets.collect import collect
from dxsheets.generate import form_path, generate_forms
from dxsheets.ledger import Ledger
from dxsheets.status import status_report
from dxsheets.workspace import Workspace, init_workspace

pytestmark = [pytest.mark.libreoffice, requires_libreoffice]

WORKLIST_DEPT = "0401"  # has a 業務一覧, so its Q2 業務名 column is a dropdown
PLAIN_DEPT = "0101"  # no 業務一覧: free text with a length check
UNO_DEPT = "0402"  # filled through LibreOffice
OTHER_DEPT = "0403"  # a plain good .xlsx next to the .ods / .xls returns
MIN_CHART_PDF_BYTES = 20_000  # a workbook whose charts were drawn; an empty page is a few KB


# --- helpers -----------------------------------------------------------------------------------------------


def convert_many(
    sources: Iterable[Path], fmt: str, outdir: Path, parallel: int = 1, timeout: float = 300
) -> dict[Path, Path]:
    """Convert many files with few soffice starts (the start is most of the cost); map source -> output.

    Sources are staged under unique names first, so two workbooks with the same file name (e.g. in two 部
    folders) cannot overwrite each other's output.  With `parallel` > 1 the files are split over that many
    soffice processes, each with its own throwaway profile.  Fails with soffice's output when a file is
    missing.
    """
    sources = [Path(s).resolve() for s in sources]
    stage = outdir / "_stage"
    stage.mkdir(parents=True, exist_ok=True)
    staged: dict[Path, Path] = {}
    for i, src in enumerate(sources):
        copy = stage / f"{i:03d}_{src.name}"
        shutil.copyfile(src, copy)
        staged[src] = copy
    copies = list(staged.values())
    batches = [copies[i::parallel] for i in range(min(parallel, len(copies)))]
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        logs = list(pool.map(lambda batch: _soffice_convert(batch, fmt, outdir, timeout), batches))
    out = {src: outdir / f"{copy.stem}.{fmt}" for src, copy in staged.items()}
    missing = [src.name for src, o in out.items() if not o.is_file() or o.stat().st_size == 0]
    assert not missing, f"soffice did not convert {missing} to {fmt}\n" + "\n".join(logs)
    return out


def _soffice_convert(files: list[Path], fmt: str, outdir: Path, timeout: float) -> str:
    """One soffice start converting `files`; returns its output for error messages."""
    _, _, stdout, stderr, _ = soffice_convert(files, fmt, outdir, timeout)
    return f"stdout: {stdout}\nstderr: {stderr}"


def assert_pdf(pdf: Path, min_bytes: int = 1000) -> None:
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF"), pdf
    assert len(data) >= min_bytes, f"{pdf.name}: only {len(data)} bytes"


def chart_titles(xlsx: Path) -> list[str]:
    """The title of each chart in an xlsx (empty string for an untitled chart)."""
    titles = []
    with zipfile.ZipFile(xlsx) as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)):
            xml = z.read(name).decode("utf-8")
            title = re.search(r"<c:title>(.*?)</c:title>", xml, re.S)  # the chart's own title comes first
            titles.append("".join(re.findall(r"<a:t>([^<]*)</a:t>", title.group(1))) if title else "")
    return titles


def pdf_text(pdf: Path) -> str | None:
    """The PDF's text without whitespace (pdftotext splits words oddly), or None without poppler-utils."""
    if shutil.which("pdftotext") is None:
        return None
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, timeout=60)
    return re.sub(r"\s+", "", done.stdout.decode("utf-8", "replace"))


def new_workspace(root: Path, codes: list[str]) -> Workspace:
    """A workspace with the default masters and the blank sheets of `codes` only (keeps generate fast)."""
    ws, _ = init_workspace(root)
    generate_forms(ws.masters(), ws.secret(), ws.distribute, codes=codes)
    return ws


def blank(ws: Workspace, code: str) -> Path:
    dept = ws.masters().department(code)
    assert dept is not None
    return form_path(ws.distribute, dept)


def shapes(wb: openpyxl.Workbook) -> dict[str, tuple[str, int, int, int, int]]:
    """Each DX_* name -> (sheet, first row, first column, rows, columns)."""
    out = {}
    for name, dn in wb.defined_names.items():
        if name.startswith("DX_"):
            ((sheet, ref),) = list(dn.destinations)
            c1, r1, c2, r2 = range_boundaries(ref.replace("$", ""))
            out[name] = (sheet, r1, c1, r2 - r1 + 1, c2 - c1 + 1)
    return out


# What the promoter types, through LibreOffice, addressed by defined name.
WG_A, WG_B = "窓口WG", "行政手続オンライン化WG"
Q2_ROWS = [
    ("窓口での証明書交付", "申請書に手書きし窓口で待つ", "スマホで申請しコンビニで受け取る", WG_A),
    ("転入届の受付", "紙の届出を職員が入力", "オンラインで事前に入力してもらう", WG_B),
]
Q3_ROW = ("転入届の受付", "本人確認の方法が決まっておらず、オンライン化に踏み切れない")


def answer_actions(q2_rows: list[tuple[str, ...]] = Q2_ROWS) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = [
        {"op": "set", "name": F.N_RESPONDENT, "value": "鈴木 花子"},
        {"op": "set", "name": F.N_CONTACT, "value": "内線 4321 suzuki@city.example.lg.jp"},
        {"op": "formula", "name": F.N_ANSWER_DATE, "formula": "=DATE(2026;11;20)"},
        {"op": "set", "name": F.N_Q1, "value": F.Q1_YES},
        {"op": "set", "name": F.N_HOUSE, "value": F.HOUSE_MARK, "row": 0},
    ]
    for r, row in enumerate(q2_rows):
        actions += [{"op": "set", "name": F.N_Q2, "row": r, "col": c, "value": v} for c, v in enumerate(row)]
    actions += [{"op": "set", "name": F.N_Q3, "row": 0, "col": c, "value": v} for c, v in enumerate(Q3_ROW)]
    return actions


INSERTED = [
    ("挿入1 住民票の郵送請求", "郵送で請求を受け手作業で処理", "オンライン決済で請求", WG_B),
    ("挿入2 窓口の呼出", "番号札を手で配る", "スマホに順番を通知", WG_A),
    ("挿入3 窓口の案内", "職員が口頭で案内", "案内表示を電子化", WG_A),
]


def insert_actions() -> list[dict[str, Any]]:
    """Two rows typed, three rows inserted between them, the new rows typed: expected order 0, new x3, 1."""
    actions = answer_actions()
    actions.append({"op": "insert_rows", "name": F.N_Q2, "at": 1, "count": len(INSERTED)})
    for i, row in enumerate(INSERTED, start=1):
        actions += [{"op": "set", "name": F.N_Q2, "row": i, "col": c, "value": v} for c, v in enumerate(row)]
    return actions


COPY = "課題抽出シート (2)"


def copy_actions() -> list[dict[str, Any]]:
    """Answer, copy the sheet, delete the original, then change one answer in the copy through its own name."""
    return [
        *answer_actions(),
        {"op": "copy_sheet", "sheet": F.MAIN_SHEET, "new": COPY},
        {"op": "remove_sheet", "sheet": F.MAIN_SHEET},
        {"op": "set", "name": F.N_RESPONDENT, "sheet": COPY, "value": "鈴木 次郎"},
    ]


BELOW_Q2 = ("住民票の郵送請求", "郵送で請求を受け手作業で処理", "オンライン決済で請求")
BELOW_Q3 = ("住民票の郵送請求", "決済手数料の負担先が決まっていない")
SECOND_ADDRESS = "suzuki@city.example.lg.jp"


def below_actions(lay: F.Layout) -> list[dict[str, Any]]:
    """Answer, then insert two rows under Q2's last row and one under Q3's, and type into them by address."""
    q2_under = lay.q2_last + 2  # the 1-based row under Q2's last
    q3_under = lay.q3_last + 2 + 2  # under Q3's last, once Q2's two rows are in
    actions = [
        *answer_actions(),
        {"op": "insert_rows", "name": F.N_Q2, "at": lay.n_q2, "count": 2},
        {"op": "insert_rows", "name": F.N_Q3, "at": lay.n_q3, "count": 1},
    ]
    for cells, row in ((BELOW_Q2, q2_under + 1), (BELOW_Q3, q3_under)):
        for col, value in zip("BCDE", cells, strict=False):
            actions.append({"op": "set_at", "sheet": F.MAIN_SHEET, "cell": f"{col}{row}", "value": value})
    # Last (everything below moves down a row): a second address under 連絡先, which no answer takes.
    contact = lay.contact + 1  # 1-based
    actions.append({"op": "insert_rows", "name": F.N_CONTACT, "at": 1, "count": 1})
    actions.append(
        {"op": "set_at", "sheet": F.MAIN_SHEET, "cell": f"C{contact + 1}", "value": SECOND_ADDRESS}
    )
    return actions


TYPED_CONTACT = "0312345678"
TYPED_ROW = ("0123", "窓口で受付", "4/1")  # 業務名 as typed; "4/1" in a long-text column becomes a date
LONG_TEXT = "窓口で受け付けた申請書を、担当者が基幹システムに手で入力している。" * 10  # 330 characters


def typed_actions() -> list[dict[str, Any]]:
    """Answer, then type at the keyboard what a General cell would turn into numbers and dates."""
    typed = [{"op": "type", "name": F.N_CONTACT, "value": TYPED_CONTACT}]
    typed += [{"op": "type", "name": F.N_Q2, "row": 2, "col": c, "value": v} for c, v in enumerate(TYPED_ROW)]
    typed.append({"op": "type", "name": F.N_Q3, "row": 1, "col": 0, "value": "0123"})
    typed.append({"op": "type", "name": F.N_Q3, "row": 1, "col": 1, "value": LONG_TEXT})
    return [*answer_actions(), *typed]


def house_actions(lay: F.Layout) -> list[dict[str, Any]]:
    """Answer (items 1 and 3 marked), insert a row inside the checklist after item 1, type ○ into it."""
    inserted = lay.house_first + 2  # 1-based: the row after item 1's
    return [
        *answer_actions(),
        {"op": "set", "name": F.N_HOUSE, "value": F.HOUSE_MARK, "row": 2},
        {"op": "insert_rows", "name": F.N_HOUSE, "at": 1, "count": 1},
        {"op": "set_at", "sheet": F.MAIN_SHEET, "cell": f"E{inserted}", "value": F.HOUSE_MARK},
    ]


NOTE = "詳細は別途メールでお送りします"


def unprotected_actions() -> list[dict[str, Any]]:
    """Answer, lift the sheet's protection (it has no password), write a note right of Q2 and one far below;
    add a sheet of notes, and an empty one."""
    return [
        *answer_actions(),
        {"op": "unprotect_sheet", "sheet": F.MAIN_SHEET},
        {"op": "set_at", "sheet": F.MAIN_SHEET, "cell": "G31", "value": NOTE},
        {"op": "set_at", "sheet": F.MAIN_SHEET, "cell": "A80", "value": "以上"},
        {"op": "insert_sheet", "new": "メモ"},
        {"op": "set_at", "sheet": "メモ", "cell": "B2", "value": "来年度も継続して検討"},
        {"op": "insert_sheet", "new": "Sheet2"},
    ]


def file_entry(ws: Workspace, path: str) -> dict[str, Any]:
    with Ledger(ws.ledger_path) as ledger:
        report = status_report(ledger, ws.masters())
    return next(f for f in report["files"] if f["path"] == path)


def submission(ws: Workspace, code: str) -> dict[str, Any]:
    with Ledger(ws.ledger_path) as ledger:
        found = [answers for c, _, _, _, answers in ledger.submissions() if c == code]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def uno_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return new_workspace(tmp_path_factory.mktemp("uno") / "ws", [UNO_DEPT, OTHER_DEPT])


@pytest.fixture(scope="module")
def uno_files(uno_ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The UNO dept's blank sheet filled in LibreOffice and stored as xlsx, xlsx after inserts, ods, xls."""
    out = tmp_path_factory.mktemp("uno-out")
    src = blank(uno_ws, UNO_DEPT)
    jobs = {
        "xlsx": (answer_actions(), "xlsx"),
        "inserted": (insert_actions(), "xlsx"),
        "ods": (answer_actions(), "ods"),
        "xls": (answer_actions(), "xls"),
        "copied": (copy_actions(), "xlsx"),
        "below": (below_actions(F.Layout(n_house=len(uno_ws.masters().house))), "xlsx"),
        "typed": (typed_actions(), "xlsx"),
        "house": (house_actions(F.Layout(n_house=len(uno_ws.masters().house))), "xlsx"),
        "unprotected": (unprotected_actions(), "xlsx"),
    }

    def fill(key: str) -> Path:
        actions, fmt = jobs[key]
        dest = out / f"{key}.{fmt}"
        try:
            report = fill_with_uno(src, dest, actions, fmt=fmt)
        except RuntimeError:
            # An office that does not come up in time on a loaded 2-core machine: one more start. A real
            # fault fails again, with the driver's full message.
            report = fill_with_uno(src, dest, actions, fmt=fmt)
        assert report["ok"] is True
        return dest

    with ThreadPoolExecutor(max_workers=2) as pool:  # each fill is its own office with its own profile
        return dict(zip(jobs, pool.map(fill, jobs), strict=True))


# --- 1. PDF ------------------------------------------------------------------------------------------------


def test_blank_sheets_and_feedback_workbook_convert_to_pdf(tmp_path: Path) -> None:
    """Blank sheets (with and without a 業務一覧 dropdown) and a feedback workbook all print to PDF."""
    ws = new_workspace(tmp_path / "ws", [WORKLIST_DEPT, PLAIN_DEPT, UNO_DEPT])
    bad = Fill(q1="多分", q2=[("窓口受付", "紙", None, "なんでもWG")], q3=[])
    drop(ws.inbox, "bad.xlsx", returned(ws.distribute, ws.masters().department(UNO_DEPT), bad))
    result = collect(ws, jobs=1)
    assert len(result.feedback) == 1 and result.feedback[0].parent == ws.feedback

    sources = [blank(ws, WORKLIST_DEPT), blank(ws, PLAIN_DEPT), *result.feedback]
    pdfs = convert_many(sources, "pdf", tmp_path / "pdf")
    for pdf in pdfs.values():
        assert_pdf(pdf, min_bytes=10_000)
    if shutil.which("pdffonts"):  # Japanese must be drawn with a CJK font, not boxes
        fonts = subprocess.run(
            ["pdffonts", str(pdfs[blank(ws, WORKLIST_DEPT)])], capture_output=True, text=True, check=True
        ).stdout
        assert "CJK" in fonts, fonts


# --- 2. A save in LibreOffice keeps the form contract -----------------------------------------------------


def test_blank_sheet_saved_by_libreoffice_keeps_names_validations_protection(tmp_path: Path) -> None:
    """What a promoter's LibreOffice writes back must still carry everything collect relies on."""
    ws = new_workspace(tmp_path / "ws", [WORKLIST_DEPT])
    src = blank(ws, WORKLIST_DEPT)
    saved = convert_many([src], "xlsx", tmp_path / "xlsx")[src.resolve()]
    before, after = openpyxl.load_workbook(src), openpyxl.load_workbook(saved)

    expected = shapes(before)
    assert set(expected) >= {*F.META_NAMES, *F.SINGLE_NAMES, F.N_HOUSE, F.N_Q2, F.N_Q3}
    assert shapes(after) == expected

    main = after[F.MAIN_SHEET]
    dvs = main.data_validations.dataValidation
    _, q1_ref = next(iter(after.defined_names[F.N_Q1].destinations))
    q1 = [dv for dv in dvs if dv.type == "list" and q1_ref.replace("$", "") in str(dv.sqref)]
    assert q1 and q1[0].formula1 == f'"{F.Q1_YES},{F.Q1_NO}"', [(d.sqref, d.formula1) for d in dvs]
    n_wg = len(ws.masters().working_groups)
    _, q2_row, q2_col, q2_rows, _ = expected[F.N_Q2]
    wg_col = get_column_letter(q2_col + F.Q2_WG)
    wg_range = f"{wg_col}{q2_row}:{wg_col}{q2_row + q2_rows - 1}"
    wg = [dv for dv in dvs if dv.type == "list" and str(dv.sqref) == wg_range]
    assert wg, [(d.sqref, d.formula1) for d in dvs]
    assert wg[0].formula1.replace("'", "") == f"{F.LISTS_SHEET}!$A$1:$A${n_wg}"
    assert wg[0].prompt and "WG" in wg[0].prompt  # the input help survives too
    assert len(dvs) == len(before[F.MAIN_SHEET].data_validations.dataValidation)

    assert main.protection.sheet is True
    assert main.protection.insertRows is False  # False = inserting rows stays allowed
    assert after[F.META_SHEET].sheet_state != "visible"  # LibreOffice writes very hidden as hidden
    assert after[F.LISTS_SHEET].sheet_state != "visible"


# --- 3. Filled through LibreOffice, collected ---------------------------------------------------------------


@requires_uno
def test_sheet_filled_in_libreoffice_is_accepted_with_what_was_typed(
    uno_ws: Workspace, uno_files: dict[str, Path]
) -> None:
    """Typed cells, a DATE() formula (stored with its cached value) and dropdown values all read back."""
    drop(uno_ws.inbox, "uno/filled.xlsx", uno_files["xlsx"].read_bytes())
    collect(uno_ws, jobs=1)
    entry = file_entry(uno_ws, "uno/filled.xlsx")
    assert entry["status"] == "accepted", entry
    answers = submission(uno_ws, UNO_DEPT)
    assert answers["respondent"] == "鈴木 花子"
    assert answers["contact"] == "内線 4321 suzuki@city.example.lg.jp"
    assert answers["answer_date"] == "2026-11-20"
    assert answers["q1"] == F.Q1_YES
    assert answers["house"] == {"1": True}
    assert [tuple(q[2:]) for q in answers["q2"]] == Q2_ROWS
    assert [tuple(g[2:]) for g in answers["q3"]] == [Q3_ROW]


@requires_uno
def test_rows_inserted_in_libreoffice_are_all_read_in_order(
    uno_ws: Workspace, uno_files: dict[str, Path]
) -> None:
    """The promoter inserts rows inside Q2 (allowed by the protection); DX_Q2 grows and every row is read."""
    # Arrived later than the first return (an explicit time: two drops within a second would tie).
    drop(uno_ws.inbox, "uno/inserted.xlsx", uno_files["inserted"].read_bytes(), age_seconds=1800)
    collect(uno_ws, jobs=1)
    entry = file_entry(uno_ws, "uno/inserted.xlsx")
    assert entry["status"] == "accepted", entry
    wb = openpyxl.load_workbook(uno_files["inserted"])
    assert shapes(wb)[F.N_Q2][3] == F.MIN_Q2_ROWS + len(INSERTED)
    answers = submission(uno_ws, UNO_DEPT)  # this later-saved return supersedes the other
    assert [tuple(q[2:]) for q in answers["q2"]] == [Q2_ROWS[0], *INSERTED, Q2_ROWS[1]]
    assert answers["answer_date"] == "2026-11-20"


@requires_uno
def test_a_sheet_copied_in_libreoffice_and_the_original_deleted_is_read_from_the_copy(
    uno_ws: Workspace, uno_files: dict[str, Path]
) -> None:
    """LibreOffice, like Excel, gives the copy its own names and turns the workbook's into #REF! when the
    original goes: the answers are read through the copy's names, with a warning that says so."""
    with zipfile.ZipFile(uno_files["copied"]) as z:
        book = z.read("xl/workbook.xml").decode("utf-8")
    assert f'<sheet name="{F.MAIN_SHEET}"' not in book and ">#REF!</definedName>" in book
    # Sent after the department's other returns (an explicit time: they may be in this inbox already).
    drop(uno_ws.inbox, "uno/copied.xlsx", uno_files["copied"].read_bytes(), age_seconds=900)
    collect(uno_ws, jobs=1)
    entry = file_entry(uno_ws, "uno/copied.xlsx")
    assert entry["status"] == "accepted", entry
    assert [p["code"] for p in entry["problems"]] == ["sheet-copy-used"]
    answers = submission(uno_ws, UNO_DEPT)
    assert answers["respondent"] == "鈴木 次郎"
    assert answers["answer_date"] == "2026-11-20"
    assert [tuple(q[2:]) for q in answers["q2"]] == Q2_ROWS
    assert [tuple(g[2:]) for g in answers["q3"]] == [Q3_ROW]


@requires_uno
def test_rows_inserted_under_the_tables_in_libreoffice_are_read_as_theirs(
    uno_ws: Workspace, uno_files: dict[str, Path]
) -> None:
    """LibreOffice lets a promoter insert rows under a table's last row and type there (the new cells are
    unlocked like the table's) but does not grow the table's name: those rows are read, and said. A row
    inserted under 連絡先 is typed into the same way: said, not read."""
    wb = openpyxl.load_workbook(uno_files["below"])
    assert shapes(wb)[F.N_Q2][3] == F.MIN_Q2_ROWS  # the name did not grow
    drop(uno_ws.inbox, "uno/below.xlsx", uno_files["below"].read_bytes(), age_seconds=600)
    collect(uno_ws, jobs=1)
    entry = file_entry(uno_ws, "uno/below.xlsx")
    assert entry["status"] == "accepted", entry
    codes = [p["code"] for p in entry["problems"]]
    assert codes == ["typed-outside-input", "rows-below-table", "rows-below-table"]
    assert SECOND_ADDRESS in entry["problems"][0]["message"]
    answers = submission(uno_ws, UNO_DEPT)
    assert [tuple(q[2:5]) for q in answers["q2"]] == [row[:3] for row in Q2_ROWS] + [BELOW_Q2]
    assert [tuple(g[2:]) for g in answers["q3"]] == [Q3_ROW, BELOW_Q3]


@requires_uno
def test_what_is_typed_into_a_text_input_is_kept_as_typed(
    uno_ws: Workspace, uno_files: dict[str, Path]
) -> None:
    """Typed at the keyboard into a General cell, "0312345678" becomes the number 312345678 and "0123"
    123, in LibreOffice as in Excel, and nothing read afterwards can undo it. The short text inputs are
    formatted as text, so they keep what was typed; the long ones stay General (Excel shows a text cell of
    more than 255 characters as ####), where "4/1" typed alone still becomes a date."""
    drop(uno_ws.inbox, "uno/typed.xlsx", uno_files["typed"].read_bytes(), age_seconds=300)
    collect(uno_ws, jobs=1)
    entry = file_entry(uno_ws, "uno/typed.xlsx")
    assert entry["status"] == "accepted", entry
    answers = submission(uno_ws, UNO_DEPT)
    assert answers["contact"] == TYPED_CONTACT
    ((name, before, after),) = [tuple(q[2:5]) for q in answers["q2"][2:]]
    assert (name, before) == TYPED_ROW[:2] and after == "46113"  # 2026-04-01, as a number: General
    assert [tuple(g[2:]) for g in answers["q3"][1:]] == [("0123", LONG_TEXT)]


@requires_uno
def test_rows_inserted_inside_the_checklist_in_libreoffice_leave_each_mark_with_its_item(
    uno_ws: Workspace, uno_files: dict[str, Path]
) -> None:
    """LibreOffice lets a promoter insert a row inside the 市役所の家 checklist and type ○ into it (the new
    cell is unlocked like the others); the checklist's name grows over it. Read by the items' No., the
    marks stay with items 1 and 3; the ○ in the inserted row is said, not read."""
    lay = F.Layout(n_house=len(uno_ws.masters().house))
    wb = openpyxl.load_workbook(uno_files["house"])
    assert shapes(wb)[F.N_HOUSE][3] == lay.n_house + 1  # the name grew
    drop(uno_ws.inbox, "uno/house.xlsx", uno_files["house"].read_bytes(), age_seconds=120)
    collect(uno_ws, jobs=1)
    entry = file_entry(uno_ws, "uno/house.xlsx")
    assert entry["status"] == "accepted", entry
    assert [(p["code"], p["cell"]) for p in entry["problems"]] == [
        ("typed-outside-input", f"E{lay.house_first + 2}")
    ]
    assert submission(uno_ws, UNO_DEPT)["house"] == {"1": True, "3": True}


@requires_uno
def test_notes_written_outside_the_inputs_after_unprotecting_are_said_not_to_be_read(
    uno_ws: Workspace, uno_files: dict[str, Path]
) -> None:
    """The sheet's protection has no password: a promoter can lift it in LibreOffice (or Excel) and write a
    note anywhere, or on a sheet of their own. A note right of the tables, under the whole form or on an
    added sheet is no answer: the file is accepted, and a warning quotes the first note of each sheet and
    counts the rest, so nobody believes it was read. An empty added sheet says nothing."""
    drop(uno_ws.inbox, "uno/unprotected.xlsx", uno_files["unprotected"].read_bytes(), age_seconds=60)
    collect(uno_ws, jobs=1)
    entry = file_entry(uno_ws, "uno/unprotected.xlsx")
    assert entry["status"] == "accepted", entry
    beside, added = entry["problems"]
    assert (beside["code"], beside["severity"], beside["cell"]) == ("typed-outside-input", "warning", "G31")
    assert f"入力欄の外（{F.MAIN_SHEET}!G31 ほか 1 セル）に入力された「{NOTE}」は" in beside["message"]
    assert (added["code"], added["sheet"], added["cell"]) == ("typed-outside-input", "メモ", "B2")
    assert "追加されたシート「メモ」（B2）に入力された「来年度も継続して検討」は" in added["message"]
    assert [tuple(q[2:]) for q in submission(uno_ws, UNO_DEPT)["q2"]] == Q2_ROWS


# --- 4. .ods and .xls are refused politely, and the run goes on ------------------------------------------------


@requires_uno
def test_ods_and_xls_saves_are_unsupported_with_a_save_as_xlsx_message(
    uno_files: dict[str, Path], tmp_path: Path
) -> None:
    ws = new_workspace(tmp_path / "ws", [UNO_DEPT, OTHER_DEPT])
    drop(ws.inbox, "回答.ods", uno_files["ods"].read_bytes())
    drop(ws.inbox, "回答.xls", uno_files["xls"].read_bytes())
    drop(ws.inbox, "good.xlsx", returned(ws.distribute, ws.masters().department(OTHER_DEPT)))
    result = collect(ws, jobs=1)

    for path, code in (("回答.ods", "file-ods"), ("回答.xls", "file-legacy-xls")):
        entry = file_entry(ws, path)
        assert entry["status"] == "unsupported", entry
        assert [p["code"] for p in entry["problems"]] == [code]
        assert "xlsx" in entry["problems"][0]["message"]
    assert file_entry(ws, "good.xlsx")["status"] == "accepted"
    assert result.departments[OTHER_DEPT] == "answered"
    assert result.departments[UNO_DEPT] == "not_answered"


# --- 5. Everything the demo writes opens and prints -----------------------------------------------------------


def test_demo_outbox_workbooks_convert_to_pdf(tmp_path: Path) -> None:
    """No repair prompt / no broken chart (via conversion): every workbook the demo writes prints to PDF.

    LibreOffice refuses (no output) what it cannot load, so a successful conversion of each file is the
    closest headless stand-in for "opens without a repair prompt"; a workbook with charts must give a PDF of
    real size (the charts were drawn, not dropped).
    """
    root = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(root)])
    assert result.exit_code == 0, result.output
    outbox = root / "outbox"
    distributed = sorted((outbox / "distribute").rglob("*.xlsx"))
    assert distributed, "the demo wrote no blank sheets"
    sources = [distributed[0]]
    for folder in ("summary", "hypothesis", "feedback"):
        sources += sorted((outbox / folder).glob("*.xlsx"))  # not summary/history/: copies of the summary
    pdfs = convert_many(sources, "pdf", tmp_path / "pdf", parallel=2)
    for src, pdf in pdfs.items():
        titles = chart_titles(src)
        assert_pdf(pdf, min_bytes=MIN_CHART_PDF_BYTES if titles else 1000)
        text = pdf_text(pdf)
        if text is not None:  # a drawn chart prints its title; a dropped or broken one prints nothing
            missing = [t for t in titles if t and re.sub(r"\s+", "", t) not in text]
            assert not missing, f"{src.name}: chart titles not in the PDF: {missing}"
