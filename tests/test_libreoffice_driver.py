"""Prove the LibreOffice test driver works: fill a protected form through UNO, convert it, read it back.

Why: later tests rely on tests/libreoffice.py to produce "returned forms" the way a real application writes
them.  These tests pin what the driver can do (set cells by defined name, insert rows so a name grows, enter a
formula, store xlsx) and what LibreOffice 7.4 does to the things dxsheets cares about (defined names,
validations, protection, very hidden sheets).  About 7 soffice starts, ~20-25 s in all.
"""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
import socket
import subprocess
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

try:
    from libreoffice import convert, fill_with_uno, requires_libreoffice, requires_uno, uno_python
except ImportError:  # tests/ became a package
    from tests.libreoffice import convert, fill_with_uno, requires_libreoffice, requires_uno, uno_python

pytestmark = [pytest.mark.libreoffice, requires_libreoffice]

SHEET = "回答"
HIDDEN = "Lists"


def build_form(path: Path, *, allow_insert_rows: bool = True) -> Path:
    """A small form shaped like dxsheets' output: protected sheet, unlocked inputs, defined names."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(SHEET)
    lists = wb.add_worksheet(HIDDEN)
    unlocked = wb.add_format({"locked": False, "border": 1})
    unlocked_date = wb.add_format({"locked": False, "border": 1, "num_format": "yyyy-mm-dd"})
    title = wb.add_format({"bold": True, "font_size": 14})

    ws.set_column("A:A", 24)
    ws.set_column("B:C", 18)
    ws.write_string("A1", "DX推進アンケート 回答者名", title)
    ws.write_blank("B1", None, unlocked)  # NAME_ONE
    ws.write_string("A2", "回答日（数式）")
    ws.write_blank("B2", None, unlocked_date)  # DATE_CELL
    ws.write_string("A3", "利用していますか（はい/いいえ）")
    ws.write_blank("B3", None, unlocked)  # CHOICE
    ws.data_validation("B3", {"validate": "list", "source": ["はい", "いいえ"]})
    ws.write_string("A4", "職員数")
    ws.write_blank("B4", None, unlocked)  # NUMBER_CELL
    ws.write_string("A5", "締切日（入力）")
    ws.write_blank("B5", None, unlocked)  # DATE_TYPED: no date format in the template
    for r in range(5):  # TABLE_A = A6:C10
        for c in range(3):
            ws.write_blank(5 + r, c, None, unlocked)
    ws.write_string("A12", "表の下の注記")
    if allow_insert_rows:
        ws.protect("", {"insert_rows": True})
    else:
        ws.protect("")
    lists.write_string("A1", "はい")
    lists.write_string("A2", "いいえ")
    lists.very_hidden()

    wb.define_name("NAME_ONE", f"='{SHEET}'!$B$1")
    wb.define_name("DATE_CELL", f"='{SHEET}'!$B$2")
    wb.define_name("CHOICE", f"='{SHEET}'!$B$3")
    wb.define_name("NUMBER_CELL", f"='{SHEET}'!$B$4")
    wb.define_name("DATE_TYPED", f"='{SHEET}'!$B$5")
    wb.define_name("TABLE_A", f"='{SHEET}'!$A$6:$C$10")
    wb.close()
    return path


def destination(wb: openpyxl.Workbook, name: str) -> tuple[str, str]:
    (dest,) = list(wb.defined_names[name].destinations)
    return dest


FILL_ACTIONS = [
    {"op": "set", "name": "NAME_ONE", "value": "山田 太郎"},
    {"op": "set", "name": "CHOICE", "value": "はい"},
    {"op": "set_number", "name": "NUMBER_CELL", "value": 42.5},
    {"op": "set_date", "name": "DATE_TYPED", "value": "2026-11-20"},
    {"op": "set", "name": "TABLE_A", "row": 0, "col": 1, "value": "先頭行"},
    {"op": "set", "name": "TABLE_A", "row": 4, "col": 2, "value": "最終行"},
    {"op": "insert_rows", "name": "TABLE_A", "at": 3, "count": 2},
    # offsets now refer to the grown range: row 3 is the first inserted row
    {"op": "set", "name": "TABLE_A", "row": 3, "col": 0, "value": "挿入行"},
    {"op": "formula", "name": "DATE_CELL", "formula": "=DATE(2026;11;20)"},
]


@pytest.fixture(scope="module")
def form(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_form(tmp_path_factory.mktemp("form") / "form.xlsx")


@pytest.fixture(scope="module")
def filled(form: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    if uno_python() is None:
        pytest.skip("LibreOffice UNO bridge not available")
    dest = tmp_path_factory.mktemp("filled") / "filled.xlsx"
    # A stale lock file as a killed LibreOffice of this user on this host leaves it must not stop the fill
    # (without the driver's no-lock-file profile the headless load returns None).
    stale_lock = form.with_name(f".~lock.{form.name}#")
    stamp = dt.datetime.now().strftime("%d.%m.%Y %H:%M")
    user, host = getpass.getuser(), socket.gethostname()
    stale_lock.write_text(f",{user},{host},{stamp},file:///tmp/lo-profile-gone;", encoding="utf-8")
    report = fill_with_uno(form, dest, FILL_ACTIONS)
    return dest, report


@requires_uno
def test_report_describes_each_action(filled: tuple[Path, dict]) -> None:
    _, report = filled
    assert report["ok"] is True
    assert len(report["results"]) == len(FILL_ACTIONS)
    insert = report["results"][6]
    assert insert["before"] == f"${SHEET}.$A$6:$C$10"
    assert insert["after"] == f"${SHEET}.$A$6:$C$12"
    assert insert["protected"] is True and insert["unprotected_to_insert"] is False
    formula = report["results"][8]
    assert formula["value"] == 46346 and formula["error"] == 0
    assert set(report["timings"]) >= {"start_and_connect", "load", "actions", "store", "shutdown", "total"}


@requires_uno
def test_values_land_in_named_cells(filled: tuple[Path, dict]) -> None:
    path, _ = filled
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    assert ws["B1"].value == "山田 太郎"
    assert ws["B3"].value == "はい"
    assert ws["B4"].value == 42.5
    assert ws["B5"].value == dt.datetime(2026, 11, 20)  # date serial + date format => a date to openpyxl
    assert ws["B5"].is_date
    assert ws["B6"].value == "先頭行"
    assert ws["A9"].value == "挿入行"  # written after the insert, at the grown range's row 3
    assert ws["C12"].value == "最終行"  # was C10, pushed down by the two new rows
    assert ws["A14"].value == "表の下の注記"  # was A12


@requires_uno
def test_inserting_rows_grows_the_defined_name(filled: tuple[Path, dict]) -> None:
    path, _ = filled
    wb = openpyxl.load_workbook(path)
    assert destination(wb, "TABLE_A") == (SHEET, "$A$6:$C$12")
    assert destination(wb, "NAME_ONE") == (SHEET, "$B$1")  # names above the insert do not move


@requires_uno
def test_formula_is_stored_with_a_cached_value(filled: tuple[Path, dict]) -> None:
    path, _ = filled
    formulas = openpyxl.load_workbook(path)[SHEET]
    values = openpyxl.load_workbook(path, data_only=True)[SHEET]
    assert formulas["B2"].value == "=DATE(2026,11,20)"  # xlsx stores ',' whatever UNO was given
    assert values["B2"].value in (dt.datetime(2026, 11, 20), 46346)


@requires_uno
def test_validation_protection_and_hidden_sheet_survive(filled: tuple[Path, dict]) -> None:
    path, _ = filled
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert any("B3" in str(dv.sqref) and dv.formula1 == '"はい,いいえ"' for dv in lists), lists
    assert ws.protection.sheet is True
    assert ws.protection.insertRows is False  # False = inserting rows stays allowed
    assert ws["B1"].protection.locked is False and ws["A1"].protection.locked is True
    assert ws["A9"].protection.locked is False  # inserted rows copy the (unlocked) format of the row above
    # LibreOffice 7.4 has no "very hidden": it writes state="hidden".  Accept either, report which.
    state = wb[HIDDEN].sheet_state
    print(f"very hidden sheet after LibreOffice round trip: {state}")
    assert state in ("hidden", "veryHidden")


@requires_uno
def test_insert_refused_where_protection_forbids_it(tmp_path: Path) -> None:
    form = build_form(tmp_path / "locked.xlsx", allow_insert_rows=False)
    action = {"op": "insert_rows", "name": "TABLE_A", "at": 2, "count": 1}
    with pytest.raises(RuntimeError, match="protected without the 'insert rows' permission"):
        fill_with_uno(form, tmp_path / "refused.xlsx", [action])

    report = fill_with_uno(form, tmp_path / "forced.xlsx", [{**action, "unprotect": True}])
    assert report["results"][0]["unprotected_to_insert"] is True
    wb = openpyxl.load_workbook(tmp_path / "forced.xlsx")
    assert destination(wb, "TABLE_A") == (SHEET, "$A$6:$C$11")
    assert wb[SHEET].protection.sheet is True  # protected again after the insert


@requires_uno
def test_errors_are_reported_clearly(form: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"action 1 .*no defined name 'NOPE'"):
        fill_with_uno(
            form,
            tmp_path / "x.xlsx",
            [
                {"op": "set", "name": "NAME_ONE", "value": "x"},
                {"op": "set", "name": "NOPE", "value": "x"},
            ],
        )
    assert not (tmp_path / "x.xlsx").exists()


def test_convert_to_pdf_renders_japanese(filled: tuple[Path, dict], tmp_path: Path) -> None:
    path, _ = filled
    pdf = convert(path, "pdf", tmp_path)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 1000
    if shutil.which("pdffonts"):  # a CJK font must be embedded, or Japanese shows as boxes
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert "CJK" in fonts, fonts
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    (png,) = tmp_path.glob("page*.png")
    assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("fmt", ["ods", "xls"])
def test_convert_to_other_formats(form: Path, tmp_path: Path, fmt: str) -> None:
    out = convert(form, fmt, tmp_path)
    assert out == tmp_path / f"form.{fmt}"
    assert out.stat().st_size > 0


def test_convert_failure_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.xlsx"
    bogus.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(RuntimeError, match="no bogus.pdf"):
        convert(bogus, "pdf", tmp_path / "out")
