"""The per-WG 仮説検証シート workbooks, read back with openpyxl (and recalculated by LibreOffice where present)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries
from scenario import INJECTIONS, Scenario, build_scenario, expected_issues, rows_of

from dxsheets import forms
from dxsheets import hypothesis as H
from dxsheets.ledger import Ledger

NOW = datetime(2026, 11, 21, 9, 30)
# The report's ⑦ example for デジタルデバイド解消WG: スマホ講座 164 講座 (2,429 名).
REPORT_RESULTS = (
    ("①総務省デジタル活用支援推進事業、企業との連携", 64, 979),
    ("②介護予防サポーターのICT能力向上を目的に開催", 39, 550),
    ("③市自主事業（全13公民館）の推進", 61, 900),
)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("hypothesis") / "ws")


@pytest.fixture(scope="module")
def books(scenario: Scenario) -> list[Path]:
    with Ledger(scenario.ws.ledger_path) as ledger:
        return H.write_hypothesis_books(scenario.ws, scenario.masters, ledger, scenario.ws.secret(), NOW)


def dest(wb: openpyxl.Workbook, name: str) -> tuple[Any, tuple[int, int, int, int]]:
    """The sheet and (min_col, min_row, max_col, max_row) a defined name points at."""
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet], range_boundaries(ref.replace("$", ""))


def value_of(wb: openpyxl.Workbook, name: str) -> Any:
    ws, (c, r, _, _) = dest(wb, name)
    return ws.cell(r, c).value


def test_one_book_per_wg(scenario: Scenario, books: list[Path]) -> None:
    wgs = scenario.masters.working_groups
    assert len(books) == 13
    assert [p.name for p in books] == [f"WG{w.number:02d}_{w.name}.xlsx" for w in wgs]
    assert all(p.parent == scenario.ws.hypothesis for p in books)
    assert not list(scenario.ws.hypothesis.glob(".*"))  # no temporary files left


def test_names_identity_and_prefilled_future(scenario: Scenario, books: list[Path]) -> None:
    secret = scenario.ws.secret()
    for wg, path in zip(scenario.masters.working_groups, books, strict=True):
        wb = openpyxl.load_workbook(path)
        names = {
            "HY_FORM_ID",
            "HY_FORM_VERSION",
            "HY_WG",
            "HY_TOKEN",
            *H.ITEM_NAMES,
            "HY_RESULTS",
            "HY_RESULTS_TOTAL",
        }
        assert names <= set(wb.defined_names)
        assert wb.sheetnames == ["仮説検証シート", "関連課題", "_meta"]
        assert wb["_meta"].sheet_state == "veryHidden"
        assert value_of(wb, "HY_FORM_ID") == "DXSHEETS-HYPO"
        assert value_of(wb, "HY_WG") == f"WG{wg.number:02d}"
        code = f"WG{wg.number:02d}"
        assert value_of(wb, "HY_TOKEN") == forms.make_token(secret, "DXSHEETS-HYPO", "R8-1", code)
        main = wb["仮説検証シート"]
        assert main["B2"].value == wg.name
        assert value_of(wb, "HY_FUTURE") == wg.vision
        # ① is pre-filled but still an input; the other items are empty inputs.
        for name in H.ITEM_NAMES:
            ws, (c, r, _, _) = dest(wb, name)
            assert ws.cell(r, c).protection.locked is False
            assert ws.cell(r, c).alignment.wrap_text
            if name != "HY_FUTURE":
                assert ws.cell(r, c).value is None
        labels = [main.cell(dest(wb, n)[1][1], 1).value for n in H.ITEM_NAMES]
        assert labels == [
            "①実現したい未来",
            "②背景・現状",
            "③課題",
            "④原因",
            "⑤解決策",
            "⑥得られる効果",
            "⑦今年度の取り組み",
            "⑧今後の展開（スケジュール）",
        ]


def test_sheet_protection_validation_and_print(books: list[Path]) -> None:
    wb = openpyxl.load_workbook(books[12])
    ws = wb["仮説検証シート"]
    assert ws.protection.sheet is True
    assert ws.protection.insertRows is False  # inserting rows stays allowed
    assert ws.page_setup.paperSize == 9
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    _, (c, r, _, _) = dest(wb, "HY_BACKGROUND")
    dv = rules[f"B{r}"]
    assert (dv.type, dv.operator, dv.formula1) == ("textLength", "lessThanOrEqual", "2000")
    assert "インターネット利用率" in dv.prompt
    _, (c1, r1, c2, r2) = dest(wb, "HY_RESULTS")
    assert (c2 - c1 + 1, r2 - r1 + 1 >= 5) == (3, True)
    counts = [v for v in rules.values() if v.type == "whole"]
    assert {str(v.sqref) for v in counts} == {f"C{r1}:C{r2}", f"D{r1}:D{r2}"}
    assert all((v.operator, v.formula1) == ("greaterThanOrEqual", "0") for v in counts)


def test_related_issues_per_wg(scenario: Scenario, books: list[Path]) -> None:
    expected = expected_issues(scenario)
    seen = []
    for wg, path in zip(scenario.masters.working_groups, books, strict=True):
        ws = openpyxl.load_workbook(path)["関連課題"]
        assert list(ws.tables) == ["T_Related"]
        assert ws.freeze_panes == "D2"
        rows = rows_of(ws)
        got = [
            (r["部"], r["課"], r["業務名"], r["現在(Before)"], r["デジタル化後(After)"], wg.name)
            for r in rows
        ]
        assert got == [e for e in expected if e[5] == wg.name]
        seen += got
        if wg.name == "窓口WG":
            assert rows[0]["ギャップ（設問3）"] == "窓口の人員配置が決まっていない\n端末が足りない"
            cell = ws["C2"]
            assert (cell.value, cell.data_type, cell.quotePrefix) == (INJECTIONS[1], "s", True)
    assert sorted(seen) == sorted(e for e in expected if e[5] != "未分類")  # each routed issue exactly once


def fill_results(path: Path, out: Path) -> tuple[str, str]:
    """Type the report's figures into HY_RESULTS through the defined name; return the two total formulas."""
    wb = openpyxl.load_workbook(path)
    ws, (c1, r1, _, _) = dest(wb, "HY_RESULTS")
    for i, row in enumerate(REPORT_RESULTS):
        for j, v in enumerate(row):
            ws.cell(r1 + i, c1 + j).value = v
    tws, (tc, tr, _, _) = dest(wb, "HY_RESULTS_TOTAL")
    formulas = (tws.cell(tr, tc).value, tws.cell(tr, tc + 1).value)
    wb.save(out)
    return formulas


def evaluate_sum(ws: Any, formula: str) -> float:
    """Evaluate '=SUM(C13:C18)' from its text over the sheet's values (empty cells count 0)."""
    m = re.fullmatch(r"=SUM\((\$?[A-Z]+\$?\d+):(\$?[A-Z]+\$?\d+)\)", formula)
    assert m, formula
    min_col, min_row, max_col, max_row = range_boundaries(f"{m[1]}:{m[2]}".replace("$", ""))
    return sum(
        ws.cell(r, c).value or 0 for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)
    )


def test_results_total_sums_the_report_figures(books: list[Path], tmp_path: Path) -> None:
    filled = tmp_path / "filled.xlsx"
    f_count, f_people = fill_results(books[12], filled)
    wb = openpyxl.load_workbook(filled)
    ws, (c1, r1, c2, r2) = dest(wb, "HY_RESULTS")
    # The total covers exactly the 回数 and 人数 columns of the results body.
    assert f_count == f"=SUM(C{r1}:C{r2})" and f_people == f"=SUM(D{r1}:D{r2})"
    assert evaluate_sum(ws, f_count) == 164
    assert evaluate_sum(ws, f_people) == 2429


def test_results_total_recalculated_by_libreoffice(books: list[Path], tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: the SUM was checked in Python only")
    filled = tmp_path / "filled.xlsx"
    fill_results(books[12], filled)
    out = tmp_path / "out"
    profile = Path(f"/tmp/lo-{uuid.uuid4().hex}")
    try:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "xlsx",
                "--outdir",
                str(out),
                str(filled),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    wb = openpyxl.load_workbook(io.BytesIO((out / "filled.xlsx").read_bytes()), data_only=True)
    ws, (tc, tr, _, _) = dest(wb, "HY_RESULTS_TOTAL")
    assert (ws.cell(tr, tc).value, ws.cell(tr, tc + 1).value) == (164, 2429)


def test_a_book_edited_by_wg_members_is_never_overwritten(tmp_path) -> None:
    """WG members type into their book; the next nightly run writes a fresh one beside it instead."""
    import openpyxl
    from click.testing import CliRunner

    from dxsheets.cli import cli
    from dxsheets.workspace import init_workspace

    ws, _ = init_workspace(tmp_path / "ws")
    assert CliRunner().invoke(cli, ["run", "-w", str(ws.root)]).exit_code == 0
    (book,) = [p for p in ws.hypothesis.glob("WG13_*.xlsx")]
    untouched = next(p for p in ws.hypothesis.glob("WG01_*.xlsx"))
    wb = openpyxl.load_workbook(book)
    sheet, ref = next(iter(wb.defined_names["HY_BACKGROUND"].destinations))
    wb[sheet][ref.replace("$", "")] = "WGで記入した背景"
    wb.save(book)
    edited = book.read_bytes()
    assert CliRunner().invoke(cli, ["run", "-w", str(ws.root)]).exit_code == 0
    assert book.read_bytes() == edited
    assert book.with_name(f"{book.stem}_最新.xlsx").exists()
    assert not untouched.with_name(f"{untouched.stem}_最新.xlsx").exists()
