"""One 仮説検証シート workbook per WG: outbox/hypothesis/WG<nn>_<WG名>.xlsx.

The sheet follows the report's example (デジタルデバイド解消WG): the WG name, then eight items as
"項目 | 内容" rows, ① pre-filled with the WG's 目指す未来, and under ⑦ a results table (取組 | 回数 | 人数)
whose 合計 row sums itself, like the report's スマホ講座 64+39+61 = 164 講座 (979+550+900 = 2,429 名).
Every input is reachable through an `HY_` defined name, as the issue-extraction sheet's inputs are through
`DX_` names, so that a later reader (or Power Query, or a robot) never depends on coordinates.
A second sheet, 関連課題, lists the accepted issues routed to the WG.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from . import forms
from .consolidate import (
    CUT_MESSAGE,
    FONT,
    ISSUE_COLUMNS,
    WORKBOOK_OPTIONS,
    Cut,
    Issue,
    Row,
    gather,
    make_styles,
    print_setup,
    write_table_sheet,
    write_text,
)
from .domain import Masters, WorkingGroup
from .fsio import atomic_output, remove_stale_asides, safe_filename
from .ledger import Ledger
from .workspace import Workspace

FORM_ID = "DXSHEETS-HYPO"
FORM_VERSION = "1"
MAIN_SHEET = "仮説検証シート"
ISSUES_SHEET = "関連課題"
META_SHEET = "_meta"

MAX_ITEM_TEXT = 2000
MAX_ACTION_NAME = 200
RESULT_ROWS = 6  # input rows of the ⑦ results table; more can be inserted (the sheet allows row insertion)

N_FORM_ID = "HY_FORM_ID"
N_FORM_VERSION = "HY_FORM_VERSION"
N_ROUND = "HY_ROUND"
N_WG = "HY_WG"
N_TOKEN = "HY_TOKEN"
N_GENERATED = "HY_GENERATED"
N_RESULTS = "HY_RESULTS"
N_RESULTS_TOTAL = "HY_RESULTS_TOTAL"

# The eight items: defined name, label, input help (from the report's own example wording), row height (pt).
ITEMS: tuple[tuple[str, str, str, float], ...] = (
    (
        "HY_FUTURE",
        "①実現したい未来",
        "WGが実現したい未来の姿を書いてください。WGの「目指す未来」を入れてあります。書き換えて構いません。"
        "（例）年齢、性別、障害の有無等にかかわらず、誰も取り残されない形で、市民にデジタル化の恩恵を広く行き渡らせること。",
        70,
    ),
    (
        "HY_BACKGROUND",
        "②背景・現状",
        "取り組む理由となる背景や現状を、数字や事実で書いてください。"
        "（例）個人のインターネット利用率は約9割。その一方で、利用目的は情報検索やメールの送受信などに留まっている。",
        90,
    ),
    (
        "HY_PROBLEM",
        "③課題",
        "実現したい未来と現状の間にある課題を書いてください。"
        "（例）インターネット環境には親しんでいるものの、その活用に関する理解やスキルが十分でない。",
        70,
    ),
    (
        "HY_CAUSE",
        "④原因",
        "課題が生じている原因を書いてください。（例）①利便性を感じていない（面倒、難しいなど）②利用環境がない（学ぶ機会がないなど）",
        80,
    ),
    (
        "HY_SOLUTION",
        "⑤解決策",
        "原因を解消する解決策（仮説）を書いてください。（例）希望する市民が身近な場所で相談や学習を行える環境を構築する。",
        70,
    ),
    (
        "HY_EFFECT",
        "⑥得られる効果",
        "解決策で得られる効果（予測）を書いてください。（例）生活の利便性向上、多様な選択肢提供、地域内でのコミュニケーションの補完",
        70,
    ),
    (
        "HY_ACTIONS",
        "⑦今年度の取り組み",
        "今年度に行った取り組みを書いてください。回数や人数は下の実績表に入力すると合計が出ます。"
        "（例）市内全域でスマホ講座を実施",
        80,
    ),
    (
        "HY_PLAN",
        "⑧今後の展開（スケジュール）",
        "今後の展開と時期を書いてください。（例）学びを地域で循環させる持続可能な仕組みづくり（来年度）",
        90,
    ),
)
ITEM_NAMES = tuple(name for name, *_ in ITEMS)

# The summary's 課題一覧 columns without those a WG's own list does not need.
RELATED_COLUMNS = tuple(c for c in ISSUE_COLUMNS if c.header not in ("関連WG", "元ファイル", "セル"))


def wg_code(wg: WorkingGroup) -> str:
    return f"WG{wg.number:02d}"


def hypothesis_path(ws: Workspace, wg: WorkingGroup) -> Path:
    return ws.hypothesis / f"{wg_code(wg)}_{safe_filename(wg.name)}.xlsx"


def write_hypothesis_books(
    ws: Workspace, masters: Masters, ledger: Ledger, secret: bytes, now: datetime
) -> list[Path]:
    """Write one 仮説検証シート workbook per WG, each with the accepted issues routed to it.

    Args:
        ws: the workspace.
        masters: the masters (WGs, round).
        ledger: the ledger collect filled.
        secret: the workspace secret; binds each workbook to its WG and round through HY_TOKEN.
        now: written to the meta sheet and the document properties.

    Returns:
        The paths written, in WG number order.
    """
    issues = gather(masters, ledger).issues
    by_wg: dict[str, list[Issue]] = {}
    for issue in issues:
        by_wg.setdefault(issue.row.wg, []).append(issue)
    at = (now.astimezone().replace(tzinfo=None) if now.tzinfo else now).replace(microsecond=0)
    written = []
    for wg in sorted(masters.working_groups, key=lambda w: w.number):
        target = hypothesis_path(ws, wg)
        if ledger.edited_since_written(ws.outbox, target):
            # WG members have typed into this copy: never overwrite their work. The fresh book goes beside it.
            target = target.with_name(f"{target.stem}_最新.xlsx")
        with atomic_output(target, aside_if_open=True) as out:
            _write_book(out.tmp, masters, wg, by_wg.get(wg.name, []), secret, at)
        path = out.path  # beside its usual name when that book is open in Excel
        ledger.note_written(ws.outbox, path)
        # Earlier aside copies go, unless WG members have typed into one.
        remove_stale_asides(target, path, keep=lambda old: ledger.edited_since_written(ws.outbox, old))
        written.append(path)
    return written


def _abs_ref(sheet: str, r1: int, c1: int, r2: int | None = None, c2: int | None = None) -> str:
    ref = f"={quote_sheetname(sheet)}!{xl_rowcol_to_cell(r1, c1, True, True)}"
    if r2 is not None and c2 is not None:
        ref += f":{xl_rowcol_to_cell(r2, c2, True, True)}"
    return ref


def _write_book(
    path: Path, masters: Masters, wg: WorkingGroup, issues: list[Issue], secret: bytes, now: datetime
) -> None:
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    wb.set_properties(
        {
            "title": f"仮説検証シート {masters.round.year_label} {wg.name}",
            "subject": "DX推進員 仮説検証シート",
            "company": "dxsheets",
            "created": now,
        }
    )
    main = wb.add_worksheet(MAIN_SHEET)
    _write_main(wb, main, masters, wg)
    st = make_styles(wb)
    cuts: list[Cut] = []
    related, _ = write_table_sheet(
        wb, st, ISSUES_SHEET, "T_Related", RELATED_COLUMNS, _related_rows(issues), cuts, freeze_cols=3
    )
    for cut in cuts:
        related.write_comment(cut.cell, CUT_MESSAGE)
    _write_meta(wb, masters, wg, secret, now)
    main.activate()
    wb.close()


def _related_rows(issues: list[Issue]) -> Iterator[Row]:
    for i in issues:
        q = i.row
        yield (i.dept.bu, i.dept.ka, q.name, q.before, q.after, i.gaps), i.path, i.dept


def _write_meta(wb: Workbook, masters: Masters, wg: WorkingGroup, secret: bytes, now: datetime) -> None:
    meta = wb.add_worksheet(META_SHEET)
    rnd = masters.round
    values = {
        N_FORM_ID: FORM_ID,
        N_FORM_VERSION: FORM_VERSION,
        N_ROUND: rnd.round_id,
        N_WG: wg_code(wg),
        N_TOKEN: forms.make_token(secret, FORM_ID, rnd.round_id, wg_code(wg)),
        N_GENERATED: now.isoformat(timespec="seconds"),
    }
    for r, (name, value) in enumerate(values.items()):
        meta.write_string(r, 0, name)
        meta.write_string(r, 1, value)
        wb.define_name(name, _abs_ref(META_SHEET, r, 1))
    meta.protect()
    meta.very_hidden()


def _write_main(wb: Workbook, ws: Worksheet, masters: Masters, wg: WorkingGroup) -> None:
    base = {"font_name": FONT, "font_size": 10, "valign": "top"}
    border = {"border": 1, "border_color": "#808080"}

    def fmt(**kw: Any) -> Any:
        return wb.add_format({**base, **kw})

    title = fmt(bold=True, font_size=16, font_color="#1F3864", valign="vcenter")
    label = fmt(bold=True, bg_color="#DDEBF7", text_wrap=True, **border)
    locked = fmt(bold=True, bg_color="#F2F2F2", valign="vcenter", **border)
    header = fmt(
        bold=True, bg_color="#1F4E78", font_color="#FFFFFF", align="center", valign="vcenter", **border
    )
    note = fmt(font_color="#595959", text_wrap=True, valign="vcenter")
    item_input = fmt(locked=False, text_wrap=True, **border)
    item_input_q = fmt(locked=False, text_wrap=True, quote_prefix=True, **border)
    action_input = fmt(locked=False, text_wrap=True, valign="vcenter", **border)
    count_input = fmt(locked=False, num_format="#,##0", valign="vcenter", **border)
    total_label = fmt(bold=True, bg_color="#F2F2F2", align="right", valign="vcenter", **border)
    total = fmt(bold=True, bg_color="#F2F2F2", num_format="#,##0", valign="vcenter", **border)

    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 3, 12)
    ws.hide_gridlines(2)

    ws.set_row(0, 30)
    ws.write_string(0, 0, f"仮説検証シート（{masters.round.year_label}）", title)
    ws.write_string(1, 0, "WG名", label)
    ws.merge_range(1, 1, 1, 3, "", locked)
    write_text(ws, 1, 1, wg.name, locked, locked, trusted=True)
    ws.set_row(2, 30)
    ws.merge_range(
        2,
        0,
        2,
        3,
        "白いセルに入力してください。①にはWGの「目指す未来」を入れてあります（書き換えできます）。"
        "⑦の実績表は行を挿入して増やせます。",
        note,
    )
    ws.write_string(3, 0, "項目", header)
    ws.merge_range(3, 1, 3, 3, "内容", header)

    r = 4
    for name, item_label, help_text, height in ITEMS:
        ws.set_row(r, height)
        ws.write_string(r, 0, item_label, label)
        ws.merge_range(r, 1, r, 3, "", item_input)
        if name == "HY_FUTURE":
            write_text(ws, r, 1, wg.vision, item_input, item_input_q, trusted=True)
        ws.data_validation(
            r,
            1,
            r,
            1,
            {
                "validate": "length",
                "criteria": "<=",
                "value": MAX_ITEM_TEXT,
                "ignore_blank": True,
                "input_title": item_label[:32],
                "input_message": help_text[:255],
                "error_title": item_label[:32],
                "error_message": f"{MAX_ITEM_TEXT:,}文字以内で入力してください。",
            },
        )
        wb.define_name(name, _abs_ref(MAIN_SHEET, r, 1))
        r += 1
        if name == "HY_ACTIONS":
            r = _write_results(wb, ws, r, label, header, action_input, count_input, total_label, total)

    ws.protect("", {"insert_rows": True, "format_rows": True, "format_columns": True})
    ws.set_selection(5, 1, 5, 1)
    print_setup(ws, (0, 1), landscape=False)
    ws.print_area(0, 0, r - 1, 3)


def _write_results(
    wb: Workbook,
    ws: Worksheet,
    r: int,
    label: Any,
    header: Any,
    action_input: Any,
    count_input: Any,
    total_label: Any,
    total: Any,
) -> int:
    """The ⑦ results table (取組 | 回数 | 人数) with a 合計 row; returns the next free row."""
    ws.write_string(r, 0, "⑦の実績", label)
    for c, h in enumerate(("取組", "回数", "人数"), start=1):
        ws.write_string(r, c, h, header)
    first = r + 1
    last = first + RESULT_ROWS - 1
    for i in range(first, last + 1):
        ws.set_row(i, 30)
        ws.write_blank(i, 0, None, label)
        ws.write_blank(i, 1, None, action_input)
        ws.write_blank(i, 2, None, count_input)
        ws.write_blank(i, 3, None, count_input)
    ws.data_validation(
        first,
        1,
        last,
        1,
        {
            "validate": "length",
            "criteria": "<=",
            "value": MAX_ACTION_NAME,
            "ignore_blank": True,
            "input_title": "取組",
            "input_message": "取組の名前を書いてください。（例）市自主事業（全13公民館）の推進",
            "error_title": "取組",
            "error_message": f"{MAX_ACTION_NAME}文字以内で入力してください。",
        },
    )
    for c, what, example in (
        (2, "回数", "講座などの実施回数（例：64）"),
        (3, "人数", "参加した人数（例：979）"),
    ):
        ws.data_validation(
            first,
            c,
            last,
            c,
            {
                "validate": "integer",
                "criteria": ">=",
                "value": 0,
                "ignore_blank": True,
                "input_title": what,
                "input_message": f"{example}を0以上の整数で入力してください。",
                "error_title": what,
                "error_message": "0以上の整数を入力してください。",
            },
        )
    tr = last + 1
    ws.set_row(tr, 24)
    ws.write_blank(tr, 0, None, label)
    ws.write_string(tr, 1, "合計", total_label)
    for c in (2, 3):
        # A plain SUM over the input rows: rows inserted inside the table extend it in Excel and LibreOffice.
        rng = f"{xl_rowcol_to_cell(first, c)}:{xl_rowcol_to_cell(last, c)}"
        ws.write_formula(tr, c, f"=SUM({rng})", total, 0)
    wb.define_name(N_RESULTS, _abs_ref(MAIN_SHEET, first, 1, last, 3))
    wb.define_name(N_RESULTS_TOTAL, _abs_ref(MAIN_SHEET, tr, 2, tr, 3))
    return tr + 1
