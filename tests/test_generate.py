"""The DX office generates one blank 課題抽出シート per department and sends it out."""

from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.utils.cell import range_boundaries

from dxsheets import forms as F
from dxsheets.cli import cli
from dxsheets.fsio import safe_filename
from dxsheets.generate import form_path
from dxsheets.workspace import Workspace


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_generate_writes_one_workbook_per_active_department(ws: Workspace) -> None:
    code, out, _ = run("generate", "-w", str(ws.root))
    assert code == 0, out
    masters = ws.masters()
    files = sorted(ws.distribute.rglob("*.xlsx"))
    active = masters.active_departments
    assert len(files) == len(active) == 61
    assert "61 部署分" in out
    inactive = [d for d in masters.departments if not d.active]
    assert inactive and not form_path(ws.distribute, inactive[0]).exists()
    assert form_path(ws.distribute, masters.department("0401")).name == "0401_市民課.xlsx"


def _names(wb: openpyxl.Workbook) -> dict[str, tuple[str, tuple[int, int, int, int]]]:
    out = {}
    for name, dn in wb.defined_names.items():
        sheet, ref = next(iter(dn.destinations))
        out[name] = (sheet, range_boundaries(ref.replace("$", "")))
    return out


def test_form_contract_names_and_shapes(generated: Workspace) -> None:
    masters = generated.masters()
    wb = openpyxl.load_workbook(form_path(generated.distribute, masters.department("0401")))
    names = _names(wb)
    for name in F.META_NAMES:
        assert names[name][0] == F.META_SHEET
    for name in (*F.SINGLE_NAMES, F.N_HOUSE, F.N_Q2, F.N_Q3):
        assert names[name][0] == F.MAIN_SHEET

    def shape(name: str) -> tuple[int, int]:
        c1, r1, c2, r2 = names[name][1]
        return (r2 - r1 + 1, c2 - c1 + 1)

    for name in F.SINGLE_NAMES:
        assert shape(name) == (1, 1)
    assert shape(F.N_HOUSE) == (13, 1)
    assert shape(F.N_Q2) == (20, 4)
    assert shape(F.N_Q3) == (10, 2)
    main = wb[F.MAIN_SHEET]
    c1, r1, _, _ = names[F.N_DEPT_NAME][1]
    assert main.cell(r1, c1).value == "市民部 市民課"
    # Column headers of the tables sit right above the bodies.
    c1, r1, c2, _ = names[F.N_Q2][1]
    assert [main.cell(r1 - 1, c).value for c in range(c1, c2 + 1)] == list(F.Q2_COLUMNS)
    c1, r1, c2, _ = names[F.N_Q3][1]
    assert [main.cell(r1 - 1, c).value for c in range(c1, c2 + 1)] == list(F.Q3_COLUMNS)


def test_meta_sheet_is_very_hidden_and_token_binds_department(generated: Workspace) -> None:
    masters = generated.masters()
    dept = masters.department("0101")
    wb = openpyxl.load_workbook(form_path(generated.distribute, dept))
    meta = wb[F.META_SHEET]
    assert meta.sheet_state == "veryHidden"
    assert wb[F.LISTS_SHEET].sheet_state == "hidden"
    values = {meta.cell(r, 1).value: meta.cell(r, 2).value for r in range(1, 7)}
    assert values[F.N_FORM_ID] == F.FORM_ID
    assert values[F.N_FORM_VERSION] == F.FORM_VERSION
    assert values[F.N_ROUND] == masters.round.round_id
    assert values[F.N_DEPT_CODE] == "0101"
    assert values[F.N_TOKEN] == F.make_token(generated.secret(), F.FORM_ID, masters.round.round_id, "0101")
    assert values[F.N_TOKEN] != F.make_token(generated.secret(), F.FORM_ID, masters.round.round_id, "0102")


def _validations(ws) -> dict[str, object]:
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            out[rng.split(":")[0]] = dv
    return out


def test_every_input_has_validation_and_only_inputs_are_unlocked(generated: Workspace) -> None:
    masters = generated.masters()
    wb = openpyxl.load_workbook(form_path(generated.distribute, masters.department("0401")))
    main = wb[F.MAIN_SHEET]
    names = _names(wb)
    dvs = _validations(main)
    inputs: set[tuple[int, int]] = set()
    for name in (F.N_RESPONDENT, F.N_CONTACT, F.N_ANSWER_DATE, F.N_Q1, F.N_HOUSE, F.N_Q2, F.N_Q3):
        c1, r1, c2, r2 = names[name][1]
        inputs |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
    # Every input cell is unlocked and covered by a validation; everything else written is locked.
    covered = set()
    for dv in main.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            covered |= {
                (r, c)
                for r in range(rng.min_row, rng.max_row + 1)
                for c in range(rng.min_col, rng.max_col + 1)
            }
    assert inputs <= covered
    for row in main.iter_rows():
        for cell in row:
            if (cell.row, cell.column) in inputs:
                assert cell.protection.locked is False, cell.coordinate
            elif cell.value is not None:
                assert cell.protection.locked is not False, cell.coordinate
    assert main.protection.sheet is True
    assert main.protection.insertRows is False  # False means "not forbidden": rows may be inserted
    # Q1: はい/いいえ, stop style.
    c1, r1, _, _ = names[F.N_Q1][1]
    q1 = dvs[main.cell(r1, c1).coordinate]
    assert q1.type == "list" and q1.formula1 == '"はい,いいえ"' and q1.errorStyle in (None, "stop")
    # 関連WG: from the hidden sheet range, stop style.
    c1, r1, c2, _ = names[F.N_Q2][1]
    wg = dvs[main.cell(r1, c2).coordinate]
    assert wg.type == "list" and wg.formula1.startswith(F.LISTS_SHEET) and wg.errorStyle in (None, "stop")
    lists = wb[F.LISTS_SHEET]
    assert [lists.cell(r, 1).value for r in range(1, 14)] == [w.name for w in masters.working_groups]
    # Q2 業務名: the department's work list, information style (free text still accepted).
    name_dv = dvs[main.cell(r1, c1).coordinate]
    assert name_dv.type == "list" and name_dv.errorStyle == "information"
    assert lists.cell(1, 2).value == "住民票の写し等の交付"
    # Q3 業務名 offered from the Q2 業務名 cells.
    c3, r3, _, _ = names[F.N_Q3][1]
    q3 = dvs[main.cell(r3, c3).coordinate]
    assert q3.type == "list" and f"$B${r1}" in q3.formula1
    # 回答日: a date within the round.
    c1, r1, _, _ = names[F.N_ANSWER_DATE][1]
    assert dvs[main.cell(r1, c1).coordinate].type == "date"
    assert all(dv.prompt for dv in main.data_validations.dataValidation), "every input has help"


def test_department_without_work_list_gets_length_limit_for_work_name(generated: Workspace) -> None:
    wb = openpyxl.load_workbook(form_path(generated.distribute, generated.masters().department("0101")))
    main = wb[F.MAIN_SHEET]
    c1, r1, _, _ = _names(wb)[F.N_Q2][1]
    dv = _validations(main)[main.cell(r1, c1).coordinate]
    assert dv.type == "textLength" and dv.formula1 == str(F.MAX_WORK_NAME)


def test_print_setup_and_conditional_formatting(generated: Workspace) -> None:
    wb = openpyxl.load_workbook(form_path(generated.distribute, generated.masters().department("0101")))
    main = wb[F.MAIN_SHEET]
    assert main.page_setup.orientation == "landscape"
    assert main.page_setup.paperSize == 9  # A4
    assert main.sheet_properties.pageSetUpPr.fitToPage
    assert main.page_setup.fitToWidth in (None, 1) and main.page_setup.fitToHeight == 0
    assert main.print_title_rows.replace("$", "") == "1:2"
    rules = [r for rng in main.conditional_formatting for r in rng.rules]
    formulas = " ".join(" ".join(r.formula or []) for r in rules)
    assert '="いいえ"' in formulas  # Q2/Q3 greyed when Q1 is いいえ
    assert any(r.type == "containsBlanks" for r in rules)  # required inputs still empty


def test_short_text_inputs_keep_what_is_typed_and_long_ones_stay_general(generated: Workspace) -> None:
    """Typed into a General cell, "0312345678" becomes 312345678; a text cell of more than 255 characters
    shows as #### in Excel. So the short inputs are text, the long ones General (see test_interop for the
    typing), and Excel is told not to mark the numbers kept as text."""
    path = form_path(generated.distribute, generated.masters().department("0101"))
    wb = openpyxl.load_workbook(path)
    main = wb[F.MAIN_SHEET]
    names = _names(wb)

    def fmt(name: str, col: int = 0) -> str:
        c1, r1, _, _ = names[name][1]
        return str(main.cell(r1, c1 + col).number_format)

    assert [fmt(n) for n in (F.N_RESPONDENT, F.N_CONTACT, F.N_Q1, F.N_HOUSE)] == ["@"] * 4
    assert [fmt(F.N_Q2, c) for c in range(4)] == ["@", "General", "General", "@"]
    assert [fmt(F.N_Q3, c) for c in range(2)] == ["@", "General"]
    assert fmt(F.N_ANSWER_DATE) == "yyyy/mm/dd"
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<ignoredError sqref="A1:E\d+" numberStoredAsText="1"/>', sheet)


def test_generate_only_named_departments_and_unknown_code_is_usage_error(ws: Workspace) -> None:
    code, out, _ = run("generate", "-w", str(ws.root), "--dept", "0101", "--dept", "0402")
    assert code == 0
    assert len(list(ws.distribute.rglob("*.xlsx"))) == 2
    code, _, err = run("generate", "-w", str(ws.root), "--dept", "9999")
    assert code == 2
    assert "9999" in err


def test_eml_drafts_carry_the_workbook(ws: Workspace) -> None:
    code, _, _ = run("generate", "-w", str(ws.root), "--dept", "0401", "--eml")
    assert code == 0
    dept = ws.masters().department("0401")
    eml = form_path(ws.distribute, dept).with_suffix(".eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["X-Unsent"] == "1"
    assert dept.email in msg["To"]
    assert "課題抽出シート" in msg["Subject"] and "2026年12月18日" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    assert "回答期限" in body and dept.promoter in body
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "0401_市民課.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(att.get_payload(decode=True)))
    assert F.MAIN_SHEET in wb.sheetnames


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("市民課", "市民課"),
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j"),
        ("CON", "CON_"),
        ("nul.txt", "nul.txt_"),
        ("課. ", "課"),
        ("", "_"),
        ("あ" * 100, "あ" * 60),
    ],
)
def test_safe_filename(text: str, expected: str) -> None:
    assert safe_filename(text) == expected


def test_demo_generates_into_the_named_folder(tmp_path: Path) -> None:
    code, out, _ = run("demo", str(tmp_path / "demo"))
    assert code == 0, out
    assert len(list((tmp_path / "demo" / "outbox" / "distribute").rglob("*.xlsx"))) == 61


def test_stamped_sheet_is_the_sheet_xlsxwriter_builds(ws: Workspace) -> None:
    """Blank sheets are stamped from a per-run template for speed; they must equal a full build."""
    from datetime import datetime

    from dxsheets.generate import blank_form, build_form

    masters = ws.masters()
    at = datetime(2026, 11, 2, 9, 0)

    def seen(data: bytes) -> tuple[list[tuple[str, str, object]], dict[str, str], list[str]]:
        wb = openpyxl.load_workbook(io.BytesIO(data))
        cells = [
            (s.title, c.coordinate, c.value)
            for s in wb
            for row in s.iter_rows()
            for c in row
            if c.value is not None
        ]
        names = {n: d.attr_text for n, d in wb.defined_names.items()}
        return cells, names, [s.sheet_state for s in wb]

    for code in ("0101", "1703"):
        dept = masters.department(code)
        assert seen(blank_form(masters, dept, ws.secret(), at)) == seen(
            build_form(masters, dept, ws.secret(), at)
        )
    odd = type(dept)("9001", "総務部 & <会計>", '課"1"', "", "")
    assert seen(blank_form(masters, odd, ws.secret(), at)) == seen(build_form(masters, odd, ws.secret(), at))


def test_every_generated_workbook_carries_its_own_identity(generated: Workspace) -> None:
    masters = generated.masters()
    secret = generated.secret()
    for dept in masters.active_departments:
        wb = openpyxl.load_workbook(form_path(generated.distribute, dept), read_only=False)
        names = _names(wb)
        assert set(names) >= {*F.META_NAMES, *F.SINGLE_NAMES, F.N_HOUSE, F.N_Q2, F.N_Q3}, dept.code
        meta = wb[F.META_SHEET]
        values = {meta.cell(r, 1).value: meta.cell(r, 2).value for r in range(1, 7)}
        assert values[F.N_DEPT_CODE] == dept.code
        assert values[F.N_TOKEN] == F.make_token(secret, F.FORM_ID, masters.round.round_id, dept.code)
        sheet, (c1, r1, _, _) = names[F.N_DEPT_NAME]
        assert wb[sheet].cell(r1, c1).value == dept.name
        assert wb[F.MAIN_SHEET].protection.sheet is True


def test_a_sheet_open_in_excel_is_named_in_one_line_not_a_traceback(
    generated: Workspace, open_in_excel: set[Path]
) -> None:
    m = generated.masters()
    open_one = form_path(generated.distribute, m.department("0101"))
    assert open_one.exists()
    open_in_excel.add(open_one)
    code, out, err = run("generate", "-w", str(generated.root))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith(f"Error: {open_one}: 書き込めません")
    assert "閉じるか権限を確認して" in err and "Traceback" not in out + err
