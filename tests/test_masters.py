"""The DX office keeps its masters in Excel or CSV; a broken master stops with file, row and column."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dxsheets.cli import cli
from dxsheets.errors import MasterError
from dxsheets.masters import DEPARTMENTS, HOUSE, ROUND, WORKING_GROUPS, default_tables, load_masters
from dxsheets.workspace import Workspace


def write_csv(path: Path, rows: list[list[object]], encoding: str) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def test_defaults_are_the_report_wgs_and_a_sample_city(ws: Workspace) -> None:
    m = ws.masters()
    assert len(m.working_groups) == 13
    assert m.working_groups[0].name == "行政手続オンライン化WG"
    assert m.working_groups[0].vision == "3ない窓口（書かない、待たない、行かない）"
    assert m.working_groups[12].vision == "誰も取り残されない"
    assert len(m.house) == 13 and all(h.wg_number == h.number for h in m.house)
    assert 55 <= len(m.active_departments) <= 70
    assert 12 <= len({d.bu for d in m.departments}) <= 18
    assert m.round.year_label == "令和8年度"
    assert m.worklists["0401"][0] == "住民票の写し等の交付"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp932"])
def test_csv_masters_in_every_encoding_japanese_excel_saves(ws: Workspace, encoding: str) -> None:
    table = default_tables()[DEPARTMENTS]
    (ws.templates / "departments.xlsx").unlink()
    write_csv(ws.templates / "departments.csv", table, encoding)
    m = load_masters(ws.templates)
    assert m.department("0401").ka == "市民課"
    assert len(m.departments) == len(table) - 1


def test_department_code_typed_as_number_in_excel_is_read_as_text(ws: Workspace) -> None:
    table = default_tables()[DEPARTMENTS]
    (ws.templates / "departments.xlsx").unlink()
    (ws.templates / "worklists.xlsx").unlink()
    write_csv(
        ws.templates / "departments.csv", table[:1] + [[1501, "消防局", "消防総務課", "", "", "○"]], "utf-8"
    )
    assert load_masters(ws.templates).departments[0].code == "1501"


def _break(ws: Workspace, spec, mutate) -> None:
    table = [list(r) for r in default_tables()[spec]]
    mutate(table)
    (ws.templates / f"{spec.name}.xlsx").unlink()
    write_csv(ws.templates / f"{spec.name}.csv", table, "cp932")


CASES = [
    (
        "duplicate-code",
        DEPARTMENTS,
        lambda t: t.append(list(t[1])),
        "departments.csv 64行目「部署コード」列",
        "重複",
    ),
    (
        "missing-column",
        DEPARTMENTS,
        lambda t: [r.pop(2) for r in t],
        "departments.csv 1行目「課」列",
        "必須の列「課」",
    ),
    ("empty-cell", DEPARTMENTS, lambda t: t[3].__setitem__(1, ""), "departments.csv 4行目「部」列", "空欄"),
    (
        "bad-active",
        DEPARTMENTS,
        lambda t: t[2].__setitem__(5, "たぶん"),
        "departments.csv 3行目「有効」列",
        "たぶん",
    ),
    ("unknown-wg", HOUSE, lambda t: t[5].__setitem__(2, 14), "house.csv 6行目「関連WG番号」列", "WG番号 14"),
    (
        "wg-not-number",
        WORKING_GROUPS,
        lambda t: t[1].__setitem__(0, "一"),
        "working_groups.csv 2行目「番号」列",
        "番号として読めません",
    ),
    (
        "bad-date",
        ROUND,
        lambda t: t[4].__setitem__(1, "12月くらい"),
        "round.csv 5行目「値」列",
        "日付として読めません",
    ),
]


@pytest.mark.parametrize(("case", "spec", "mutate", "where", "what"), CASES, ids=[c[0] for c in CASES])
def test_broken_master_names_file_row_and_column(ws: Workspace, case, spec, mutate, where, what) -> None:
    _break(ws, spec, mutate)
    with pytest.raises(MasterError) as info:
        load_masters(ws.templates)
    assert where in str(info.value)
    assert what in str(info.value)
    result = CliRunner().invoke(cli, ["generate", "-w", str(ws.root)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and where in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_both_xlsx_and_csv_is_an_error(ws: Workspace) -> None:
    write_csv(ws.templates / "departments.csv", default_tables()[DEPARTMENTS], "utf-8")
    with pytest.raises(MasterError, match="両方"):
        load_masters(ws.templates)


def test_masters_edited_in_excel_are_read(ws: Workspace) -> None:
    import openpyxl

    path = ws.templates / "departments.xlsx"
    wb = openpyxl.load_workbook(path)
    sheet = wb.active
    sheet.append(["1799", "消防局", "救急課", "消防 花子", "q@example.jp", "○"])
    wb.save(path)
    assert load_masters(ws.templates).department("1799").ka == "救急課"


def test_workspace_without_templates_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", "-w", str(tmp_path)])
    assert result.exit_code == 1
    assert "ワークスペースではありません" in result.stderr


def test_a_folder_inside_a_workspace_points_to_it_and_no_workspace_is_made_in_its_inbox(
    ws: Workspace,
) -> None:
    (ws.inbox / "市民部").mkdir(parents=True)
    for folder in (ws.inbox / "市民部", ws.outbox):
        result = CliRunner().invoke(cli, ["status", "-w", str(folder)])
        assert result.exit_code == 1
        assert (
            f"このフォルダを含むワークスペース {ws.root} を `-w {ws.root}` で指定してください"
            in result.stderr
        )
    # A workspace made inside the inbox would have its masters and secret.key collected as returns.
    result = CliRunner().invoke(cli, ["init", str(ws.inbox / "新しい")])
    assert result.exit_code == 1
    assert "inbox/ か outbox/ の中です" in result.stderr
    assert not (ws.inbox / "新しい").exists()
    # Beside a workspace, init works as before.
    assert CliRunner().invoke(cli, ["init", str(ws.root.parent / "別")]).exit_code == 0


@pytest.mark.parametrize("date1904", [False, True])
def test_round_dates_typed_as_excel_dates_in_either_date_system(ws: Workspace, date1904: bool) -> None:
    import xlsxwriter

    path = ws.templates / "round.xlsx"
    wb = xlsxwriter.Workbook(path, {"date_1904": date1904})
    sheet = wb.add_worksheet("回次")
    day = wb.add_format({"num_format": "yyyy/mm/dd"})
    for r, row in enumerate(default_tables()[ROUND]):
        for c, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, c, datetime.combine(value, datetime.min.time()), day)
            else:
                sheet.write(r, c, value)
    wb.close()
    m = load_masters(ws.templates)
    assert (m.round.start, m.round.deadline) == (date(2026, 11, 2), date(2026, 12, 18))


def test_an_unreadable_excel_master_names_the_file(ws: Workspace) -> None:
    (ws.templates / "round.xlsx").write_bytes(b"PK\x03\x04 half a zip")
    with pytest.raises(MasterError, match="Excel ブックとして開けません") as info:
        load_masters(ws.templates)
    assert "round.xlsx" in str(info.value.path)
