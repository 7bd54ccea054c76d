"""The summary workbook, read back with openpyxl as a DX staffer would see it.

A workspace is generated once per module; promoters return sheets (good ones, one with formula-looking
業務名, one with a missing respondent); collect fills the ledger; write_summary builds the workbook.
"""

from __future__ import annotations

import io
import os
import re
import time
import tracemalloc
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from scenario import INJECTIONS, Scenario, build_scenario, expected_issues, rows_of

from dxsheets import checks, consolidate
from dxsheets.consolidate import write_summary, write_text
from dxsheets.domain import Answers, Department, GapRow, IssueRow, Masters, Problem
from dxsheets.ledger import FileRow, Ledger
from dxsheets.text import EXCEL_MAX_TEXT
from dxsheets.workspace import Workspace, init_workspace

NOW = datetime(2026, 11, 21, 9, 30)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("consolidate") / "ws")


@pytest.fixture(scope="module")
def summary(scenario: Scenario) -> openpyxl.Workbook:
    with Ledger(scenario.ws.ledger_path) as ledger:
        path = write_summary(scenario.ws, scenario.masters, ledger, NOW)
    return openpyxl.load_workbook(path)


def scenario_path(s: Scenario) -> Path:
    return consolidate.summary_path(s.ws, s.masters)


def label_value(ws: Any, label: str) -> Any:
    for row in ws.iter_rows():
        if row[0].value == label:
            return row[1].value
    raise KeyError(label)


def test_sheets_in_order(summary: openpyxl.Workbook) -> None:
    assert summary.sheetnames == [
        "概要",
        "回答状況",
        "課題一覧",
        "ギャップ一覧",
        "市役所の家",
        "未分類",
        "チェック結果",
    ]


def test_overview_counts_and_rates(scenario: Scenario, summary: openpyxl.Workbook) -> None:
    ws = summary["概要"]
    n = len(scenario.depts)
    assert ws["B2"].value == NOW
    assert label_value(ws, "年度・回次ID") == "令和8年度（R8-1）"
    assert label_value(ws, "対象部署") == n
    assert label_value(ws, "回答済み") == 3
    assert label_value(ws, "要修正（回答に不備があり差し戻し）") == 1
    assert label_value(ws, "未回答") == n - 4
    assert label_value(ws, "回答率（回答済み ÷ 対象部署）") == pytest.approx(3 / n)
    assert label_value(ws, "課題の件数（設問2の行）") == 2 + 4 + 1
    assert label_value(ws, "関連WGが空欄の課題（未分類）") == 2

    # 部別: every 部 once, with its own counts and rate.
    head = next(r for r in ws.iter_rows() if r[0].value == "部" and r[5].value == "回答率")[0].row
    by_bu = {}
    for r in ws.iter_rows(min_row=head + 1, max_col=6, values_only=True):
        if r[0] is None:
            break
        by_bu[r[0]] = r[1:]
    expected_bu = Counter(d.bu for d in scenario.depts)
    assert {bu: v[0] for bu, v in by_bu.items()} == dict(expected_bu)
    answered_bu = Counter(d.bu for d in scenario.answered)
    for bu, (total, answered, fixing, silent, rate) in by_bu.items():
        assert answered == answered_bu.get(bu, 0)
        assert fixing == (1 if bu == scenario.fixing.bu else 0)
        assert answered + fixing + silent == total
        assert rate == pytest.approx(answered / total)

    # WG別: from the 関連WG the promoters chose; empty ones are 未分類.
    head = next(r for r in ws.iter_rows() if r[0].value == "WG" and r[1].value == "課題件数")[0].row
    by_wg = {}
    for r in ws.iter_rows(min_row=head + 1, max_col=2, values_only=True):
        if r[0] is None:
            break
        by_wg[r[0]] = r[1]
    assert list(by_wg)[:13] == [w.name for w in scenario.masters.working_groups]
    assert by_wg["未分類"] == 2
    assert by_wg["行政手続オンライン化WG"] == 1
    assert by_wg["財務・文書システムWG"] == 1
    assert by_wg["窓口WG"] == 1
    assert by_wg["BPR（RPA）推進WG"] == 1
    assert by_wg["デジタルデバイド解消WG"] == 1
    assert sum(by_wg.values()) == 7

    # 市役所の家: how many answered departments checked each item.
    head = next(r for r in ws.iter_rows() if r[0].value == "項目" and r[1].value == "部署数")[0].row
    house = [r for r in ws.iter_rows(min_row=head + 1, max_col=2, values_only=True) if r[0]]
    assert [h[0] for h in house] == [f"{i.number}. {i.text}" for i in scenario.masters.house]
    expected = Counter(n for f in scenario.fills.values() for n in f.house)
    assert [h[1] for h in house] == [expected.get(i.number, 0) for i in scenario.masters.house]


def test_overview_charts_reference_the_cells_on_the_sheet(scenario: Scenario) -> None:
    """Three native bar charts, Japanese titles, series pointing at the 概要 tables (openpyxl drops charts)."""
    path = consolidate.summary_path(scenario.ws, scenario.masters)
    wb = openpyxl.load_workbook(path)
    sheet = wb["概要"]
    with zipfile.ZipFile(path) as z:
        charts = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        xml = [z.read(n).decode("utf-8") for n in charts]
    assert len(xml) == 3
    titles = ["部別の回答率", "WG別の課題件数", "市役所の家：チェックした部署数"]
    for body, title in zip(xml, titles, strict=True):
        assert '<c:barDir val="bar"/>' in body
        assert title in body
        refs = re.findall(r"<c:f>(.*?)</c:f>", body)
        cats, vals = refs[-2], refs[-1]
        for ref in (cats, vals):
            assert ref.startswith("概要!")
        # The categories are the labels written in column A next to the values.
        m = re.fullmatch(r"概要!\$A\$(\d+):\$A\$(\d+)", cats)
        assert m, cats
        first, last = int(m[1]), int(m[2])
        assert all(sheet.cell(r, 1).value for r in range(first, last + 1))
        col = re.fullmatch(r"概要!\$([A-Z])\$\d+:\$[A-Z]\$\d+", vals)[1]  # type: ignore[index]
        assert all(isinstance(sheet[f"{col}{r}"].value, int | float) for r in range(first, last + 1))


def test_status_sheet_lists_every_department(scenario: Scenario, summary: openpyxl.Workbook) -> None:
    ws = summary["回答状況"]
    rows = rows_of(ws)
    assert [r["部署コード"] for r in rows] == [d.code for d in scenario.depts]
    by_code = {r["部署コード"]: r for r in rows}
    for d in scenario.answered:
        r = by_code[d.code]
        assert r["状況"] == "回答済み"
        assert (r["部"], r["課"], r["DX推進員"]) == (d.bu, d.ka, d.promoter)
        assert r["回答者"] == "山田 太郎"
        assert r["設問2の件数"] == len(scenario.fills[d.code].q2)
        assert isinstance(r["受信日時"], datetime)
        assert r["原本"] == "原本"
    assert by_code[scenario.answered[2].code]["注意数"] == 1
    fixing = by_code[scenario.fixing.code]
    assert fixing["状況"] == "要修正"
    assert fixing["エラー数"] >= 1
    assert "回答者氏名" in fixing["備考"]
    silent = [r for r in rows if r["状況"] == "未回答"]
    assert len(silent) == len(scenario.depts) - 4
    assert all(r["受信日時"] == "" and r["原本"] == "" for r in silent)

    # The link opens the archived original, relative to the summary's folder.
    summary_dir = consolidate.summary_path(scenario.ws, scenario.masters).parent
    for row in ws.iter_rows(min_row=2):
        link = row[10].hyperlink
        if row[4].value == "回答済み":
            target = (summary_dir / link.target.replace("\\", "/")).resolve()
            assert target.is_file()
            assert target.is_relative_to(scenario.ws.archive)

    # A table with filters, frozen header, and the rows to chase coloured.
    assert list(ws.tables) == ["T_Status"]
    assert ws.tables["T_Status"].ref == f"A1:M{len(rows) + 1}"
    assert ws.freeze_panes == "D2"
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert {f.split("=")[-1] for r in rules for f in r.formula} == {'"未回答"', '"要修正"'}


def test_every_issue_once_with_its_gaps(scenario: Scenario, summary: openpyxl.Workbook) -> None:
    ws = summary["課題一覧"]
    rows = rows_of(ws)
    got = [
        (r["部"], r["課"], r["業務名"], r["現在(Before)"], r["デジタル化後(After)"], r["関連WG"])
        for r in rows
    ]
    assert got == expected_issues(scenario)  # each once, by department code then row
    by_name = {r["業務名"]: r for r in rows}
    assert by_name["+SUM(A1)"]["ギャップ（設問3）"] == "窓口の人員配置が決まっていない\n端末が足りない"
    assert by_name["スマホ講座の受付"]["ギャップ（設問3）"] == "高齢の方が電話を望む"
    assert by_name["会議資料の作成"]["ギャップ（設問3）"] == "紙の決裁文化が残り、電子化に踏み切れない"
    assert by_name["住民票の写し等の交付"]["ギャップ（設問3）"] == ""
    assert all(r["元ファイル"].endswith(".xlsx") and r["セル"].startswith("課題抽出シート!B") for r in rows)
    assert list(ws.tables) == ["T_Issues"]
    assert ws.tables["T_Issues"].autoFilter is not None
    assert ws.freeze_panes == "D2"
    assert ws["D2"].alignment.wrap_text
    assert ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9


def test_gaps_unclassified_house_sheets(scenario: Scenario, summary: openpyxl.Workbook) -> None:
    gaps = rows_of(summary["ギャップ一覧"])
    expected = [(d.bu, d.ka, n, g) for d in scenario.answered for n, g in scenario.fills[d.code].q3]
    assert [(r["部"], r["課"], r["業務名"], r["ギャップ（隔たり）の内容・理由"]) for r in gaps] == expected

    unclassified = rows_of(summary["未分類"])
    assert [r["業務名"] for r in unclassified] == ["=1+1", "-2"]
    assert "関連WG" not in unclassified[0]

    house = summary["市役所の家"]
    rows = list(house.iter_rows(values_only=True))
    items = scenario.masters.house
    assert rows[0][3:] == (*(f"{i.number}. {i.text}" for i in items), "合計")
    body, total = rows[1:-1], rows[-1]
    assert [r[0] for r in body] == [d.code for d in scenario.answered]
    for r, d in zip(body, scenario.answered, strict=True):
        marks = {i.number for i, v in zip(items, r[3:-1], strict=True) if v == "○"}
        assert marks == set(scenario.fills[d.code].house)
        assert r[-1] == len(marks)
    assert total[0] == "合計"
    assert house.tables["T_House"].totalsRowCount == 1
    # Plain-range formulas (LibreOffice shows Err:501 for structured references to these headers),
    # with cached values a reader sees without recalculating.
    assert total[3] == f"=COUNTA(D2:D{len(body) + 1})"
    cached = list(
        openpyxl.load_workbook(scenario_path(scenario), data_only=True)["市役所の家"].iter_rows(
            values_only=True
        )
    )[-1]
    counts = Counter(n for f in scenario.fills.values() for n in f.house)
    assert list(cached[3:]) == [counts.get(i.number, 0) for i in items] + [sum(counts.values())]


def test_check_results_list_errors_and_warnings(scenario: Scenario, summary: openpyxl.Workbook) -> None:
    rows = rows_of(summary["チェック結果"])
    fix = [r for r in rows if r["部署コード"] == scenario.fixing.code]
    assert any(r["区分"] == "エラー" and r["コード"] == "required-missing" for r in fix)
    assert all(r["ファイル"] == f"mail/{scenario.fixing.code}.xlsx" for r in fix)
    assert fix[0]["部署名"] == scenario.fixing.name
    assert fix[0]["場所"].startswith("課題抽出シート!C")
    warn = [r for r in rows if r["部署コード"] == scenario.answered[2].code]
    assert [(r["区分"], r["コード"]) for r in warn] == [("注意", "q3-name-not-in-q2")]
    assert {r["区分"] for r in rows} <= {"エラー", "注意"}


@pytest.mark.parametrize("text", INJECTIONS)
def test_formula_looking_text_stays_text(summary: openpyxl.Workbook, text: str) -> None:
    cells = [c for c in summary["課題一覧"]["C"] if c.value == text]
    assert len(cells) == 1
    cell = cells[0]
    assert cell.data_type == "s"
    assert cell.quotePrefix  # editing it in Excel does not make it a formula
    plain = summary["課題一覧"]["C2"]
    assert plain.value == "住民票の写し等の交付" and not plain.quotePrefix


def test_write_text_cuts_at_excel_limit() -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, **consolidate.WORKBOOK_OPTIONS})
    ws = wb.add_worksheet()
    plain, quoted = wb.add_format(), wb.add_format({"quote_prefix": True})
    assert write_text(ws, 0, 0, "=" + "あ" * 40_000, plain, quoted) is True
    assert write_text(ws, 1, 0, "ok\x00\u202e", plain, quoted) is False
    wb.close()
    sheet = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert len(sheet["A1"].value) == EXCEL_MAX_TEXT
    assert sheet["A1"].value.endswith("（以下省略）") and sheet["A1"].quotePrefix
    assert sheet["A2"].value == "ok"


def test_same_ledger_same_cells(scenario: Scenario, tmp_path: Path) -> None:
    path = consolidate.summary_path(scenario.ws, scenario.masters)
    with Ledger(scenario.ws.ledger_path) as ledger:
        write_summary(scenario.ws, scenario.masters, ledger, datetime(2026, 11, 22, 1, 0, 0))
        first = tmp_path / "first.xlsx"
        first.write_bytes(path.read_bytes())
        write_summary(scenario.ws, scenario.masters, ledger, datetime(2026, 11, 22, 1, 0, 7))

    def cells(p: Path) -> dict[tuple[str, str], Any]:
        wb = openpyxl.load_workbook(p)
        return {
            (ws.title, c.coordinate): c.value
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if not (ws.title == "概要" and c.coordinate == "B2")
        }

    assert cells(first) == cells(path)
    assert openpyxl.load_workbook(path)["概要"]["B2"].value == datetime(2026, 11, 22, 1, 0, 7)
    history = sorted(p.name for p in (path.parent / "history").glob("*.xlsx"))
    assert "課題抽出_集計_令和8年度_20261122-010000.xlsx" in history
    assert "課題抽出_集計_令和8年度_20261122-010007.xlsx" in history
    # The dated copy holds the same cells, and its links still reach the originals from one folder deeper.
    copy = path.parent / "history" / "課題抽出_集計_令和8年度_20261122-010007.xlsx"
    assert cells(copy) == cells(path)
    links = [c.hyperlink.target for c in openpyxl.load_workbook(copy)["回答状況"]["K"] if c.hyperlink]
    assert len(links) == 4
    assert all((copy.parent / t.replace("\\", "/")).resolve().is_file() for t in links)


def test_crash_while_writing_keeps_yesterdays_summary(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = consolidate.summary_path(scenario.ws, scenario.masters)
    with Ledger(scenario.ws.ledger_path) as ledger:
        write_summary(scenario.ws, scenario.masters, ledger, datetime(2026, 11, 23, 1, 0))
        before = path.read_bytes()

        def boom(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("disk full (simulated)")

        monkeypatch.setattr(consolidate, "_write_house", boom)  # midway: after 概要..ギャップ一覧
        with pytest.raises(RuntimeError, match="simulated"):
            write_summary(scenario.ws, scenario.masters, ledger, datetime(2026, 11, 24, 1, 0))
    assert path.read_bytes() == before
    leftovers = [p for p in path.parent.rglob("*") if p.is_file() and ".tmp" in p.name]
    assert leftovers == []
    assert not (path.parent / "history" / "課題抽出_集計_令和8年度_20261124-010000.xlsx").exists()


# --- Scale ---------------------------------------------------------------------------------------------------


def synthetic_ledger(ws: Workspace, masters: Masters, n_depts: int, items: int = 3) -> Masters:
    """A ledger of `n_depts` accepted returns with `items` Q2 rows and one Q3 row each; returns the masters."""
    depts = tuple(
        Department(f"D{i:05d}", f"第{i % 40:02d}部", f"第{i:05d}課", f"推進員{i}", "") for i in range(n_depts)
    )
    masters = replace(masters, departments=depts)
    wgs = [w.name for w in masters.working_groups] + [""]
    text = "現在は紙の申請書を窓口で受け付け、職員が基幹システムに手で入力している。" * 3
    with Ledger(ws.ledger_path) as ledger, ledger.transaction():
        subs = []
        for i, d in enumerate(depts):
            path = f"returns/{d.code}.xlsx"
            sha = f"{i:064x}"
            ledger.upsert_file(
                FileRow(
                    path,
                    1000,
                    0.0,
                    sha,
                    "2026-11-20T00:00:00+00:00",
                    "2026-11-20T00:00:00+00:00",
                    1,
                    d.code,
                    "accepted",
                    "受理",
                    "2026-11-20T00:00:00+00:00",
                    "file-time",
                    None,
                    None,
                    f"archive/{sha[:2]}/{sha}.xlsx",
                ),
                [
                    Problem(
                        "q3-name-not-in-q2",
                        "warning",
                        "設問3の業務名が設問2にありません。",
                        "課題抽出シート",
                        "B60",
                    )
                ],
            )
            ans = Answers(
                dept_code=d.code,
                dept_name=d.name,
                respondent=f"回答者{i}",
                contact="内線",
                answer_date=date(2026, 11, 20),
                q1="はい",
                house={1: True, (i % 13) + 1: True},
                q2=[
                    IssueRow(
                        k,
                        f"課題抽出シート!B{31 + k}",
                        f"業務{i}-{k}",
                        f"{text}（{i}-{k}）",
                        f"{text}（後{i}-{k}）",
                        wgs[(i + k) % len(wgs)],
                    )
                    for k in range(items)
                ],
                q3=[
                    GapRow(0, "課題抽出シート!B55", f"業務{i}-0", f"{text}（隔{i}）")
                ],  # distinct texts, as in real returns
            )
            subs.append((d.code, path, sha, "2026-11-20T00:00:00+00:00", checks.answers_to_json(ans)))
        ledger.replace_submissions(subs)
    return masters


def test_long_text_is_cut_and_reported(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path / "ws")
    masters = synthetic_ledger(ws, ws.masters(), 2, items=1)
    with Ledger(ws.ledger_path) as ledger:
        subs = ledger.submissions()
        ans = checks.answers_from_json(subs[0][4])
        # Many long gaps for one 業務名 join to more than one cell can hold.
        ans.q3 = [GapRow(k, f"課題抽出シート!B{55 + k}", ans.q2[0].name, "あ" * 1000) for k in range(40)]
        ledger.replace_submissions(
            [(subs[0][0], subs[0][1], subs[0][2], subs[0][3], checks.answers_to_json(ans)), subs[1]]
        )
        ledger.db.commit()
        path = write_summary(ws, masters, ledger, NOW)
    wb = openpyxl.load_workbook(path)
    cell = wb["課題一覧"]["G2"]
    assert len(cell.value) == EXCEL_MAX_TEXT and cell.value.endswith("（以下省略）")
    cut = [r for r in rows_of(wb["チェック結果"]) if r["コード"] == "summary-text-cut"]
    assert [(r["場所"], r["区分"], r["部署コード"]) for r in cut] == [("課題一覧!G2", "注意", "D00000")]


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("DXSHEETS_SLOW"), reason="scale test: set DXSHEETS_SLOW=1 to run (~1 min)"
)
def test_memory_30000_issue_rows(tmp_path: Path) -> None:
    """10,000 returns x 3 issues: peak Python memory of write_summary stays well under 1 GB."""
    ws, _ = init_workspace(tmp_path / "ws")
    masters = synthetic_ledger(ws, ws.masters(), 10_000, items=3)
    with Ledger(ws.ledger_path) as ledger:
        tracemalloc.start()
        started = time.perf_counter()
        path = write_summary(ws, masters, ledger, datetime.now(UTC))
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(
        f"\nwrite_summary, 30,000 issue rows: peak {peak / 2**20:.0f} MB (tracemalloc), {seconds:.1f} s, "
        f"{path.stat().st_size / 2**20:.1f} MB file"
    )
    assert peak < 600 * 2**20
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb["課題一覧"].max_row == 30_001
