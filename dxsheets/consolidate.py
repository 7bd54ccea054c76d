"""The summary workbook the DX office opens in the morning: 課題抽出_集計_<年度>.xlsx, built from the ledger.

Sheets: 概要 (counts, rates and charts), 回答状況, 課題一覧, ギャップ一覧, 市役所の家, 未分類, チェック結果.
Everything that came from a returned file goes through `write_text`: always a string cell (never a formula,
URL or number), cleaned and cut to Excel's 32,767 characters, and with a quote-prefix style when it starts
with = + - @ so that editing the cell in Excel does not turn it into a formula either.

Memory and the writer. Every list sheet is a real Excel table (ListObject) with filters, and xlsxwriter's
`constant_memory` mode cannot add tables, so we write with xlsxwriter in its normal mode, which keeps the
cells of a workbook in memory until `close()`. Measured for 10,000 returns x 3 distinct issues (a 30,000-row
課題一覧, plus 10,000-row 回答状況, ギャップ一覧, 市役所の家 and チェック結果 sheets, in one workbook):
peak 265 MB traced by tracemalloc (`DXSHEETS_SLOW=1 pytest -s tests/test_consolidate.py -k memory`), process
peak RSS 346 MB of which 160 MB was there before (interpreter, the synthetic ledger); 16-21 s on 2 cores.
That is far below the ~600 MB at which a streaming writer (openpyxl write_only keeps a real table at ~76 MB)
would be worth its slower writes and a second code path. Rows are fed to the writer from generators, so the
gathered answers are the only other large thing held.

Both the current summary and a dated copy under history/ are written through `fsio.atomic_path`: a crash
leaves yesterday's files whole and no temporary file behind. The copy is the same package with only the
relative targets of its 原本 links rewritten one folder deeper, so they still open the archived originals.
"""

from __future__ import annotations

import math
import shutil
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from . import checks
from .collect import ANSWERED, NEEDS_FIXING, NOT_ANSWERED, department_statuses
from .domain import ERROR, WARNING, Answers, Department, GapRow, IssueRow, Masters
from .fsio import atomic_output, atomic_path, keep_edited, remove_stale_asides, safe_filename
from .ledger import FileRow, Ledger
from .status import DEPT_STATUS_JA, FILE_STATUS_JA
from .text import EXCEL_MAX_TEXT, excel_text
from .workspace import Workspace

FONT = "游ゴシック"
SUMMARY_STEM = "課題抽出_集計"
UNCLASSIFIED = "未分類"
SEVERITY_JA = {ERROR: "エラー", WARNING: "注意"}
CUT_CODE = "summary-text-cut"
CUT_MESSAGE = f"{EXCEL_MAX_TEXT:,}文字を超えるため、集計ブックでは末尾を省略しました。全文は元ファイルで確認してください。"
# A cell starting with one of these would become a formula when a person edits it in Excel.
FORMULA_STARTS = ("=", "+", "-", "@")

WORKBOOK_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    # Tables need the normal mode (see the module docstring for the memory measurement).
    "constant_memory": False,
    "default_format_properties": {"font_name": FONT, "font_size": 10},
}

S_OVERVIEW = "概要"
S_STATUS = "回答状況"
S_ISSUES = "課題一覧"
S_GAPS = "ギャップ一覧"
S_HOUSE = "市役所の家"
S_UNCLASSIFIED = "未分類"
S_CHECKS = "チェック結果"


# --- Writing untrusted text (the one place) -----------------------------------------------------------------


def write_text(
    ws: Worksheet, row: int, col: int, text: str | None, fmt: Any, quoted_fmt: Any, trusted: bool = False
) -> bool:
    """Write text that came from outside as a string cell that stays text, even when edited in Excel.

    Args:
        ws: the worksheet.
        row: 0-based row.
        col: 0-based column.
        text: the untrusted text (None is written as an empty cell).
        fmt: the cell's format.
        quoted_fmt: the same format with `quote_prefix`, used for text starting with = + - @.
        trusted: text from our own masters (names of 部, 課, WGs): not NFKC-normalised, so that
            「（外で働く）」 stays as the DX office wrote it; still a string, still quote-prefixed and cut.

    Returns:
        True when the text had to be cut to Excel's cell limit (the caller records a notice).
    """
    value, cut = _fit(text or "", trusted)
    if not value:
        ws.write_blank(row, col, None, fmt)
        return cut
    ws.write_string(row, col, value, quoted_fmt if value.startswith(FORMULA_STARTS) else fmt)
    return cut


def _fit(text: str, trusted: bool) -> tuple[str, bool]:
    """`text.excel_text`; masters text (already NFC, ours) is only cut, never NFKC-normalised."""
    if trusted and len(text) <= EXCEL_MAX_TEXT:
        return text, False
    return excel_text(text)


@dataclass
class Styles:
    """The formats of a dxsheets output workbook; text formats come in plain/quoted pairs for `write_text`."""

    title: Any
    section: Any
    label: Any
    header: Any
    text: Any
    text_q: Any
    wrap: Any
    wrap_q: Any
    integer: Any
    percent: Any
    time: Any
    link: Any
    note: Any


def make_styles(wb: Workbook) -> Styles:
    """Formats shared by the summary and the hypothesis workbooks."""
    base = {"font_name": FONT, "font_size": 10, "valign": "top"}
    border = {"border": 1, "border_color": "#A6A6A6"}

    def fmt(**kw: Any) -> Any:
        return wb.add_format({**base, **kw})

    return Styles(
        title=fmt(bold=True, font_size=16, font_color="#1F3864", valign="vcenter"),
        section=fmt(bold=True, font_size=12, font_color="#1F3864", bottom=2, bottom_color="#1F4E78"),
        label=fmt(bold=True, bg_color="#DDEBF7", **border),
        header=fmt(
            bold=True, bg_color="#1F4E78", font_color="#FFFFFF", text_wrap=True, valign="vcenter", **border
        ),
        text=fmt(**border),
        text_q=fmt(quote_prefix=True, **border),
        wrap=fmt(text_wrap=True, **border),
        wrap_q=fmt(text_wrap=True, quote_prefix=True, **border),
        integer=fmt(num_format="#,##0", **border),
        percent=fmt(num_format="0.0%", **border),
        time=fmt(num_format="yyyy/mm/dd hh:mm", align="left", **border),
        link=fmt(font_color="#0563C1", underline=1, **border),
        note=fmt(font_color="#595959", italic=True, valign="vcenter"),
    )


# --- What the ledger holds, gathered once -------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """An accepted Q2 item with its department, its source file and the same department's gaps for it."""

    dept: Department
    path: str
    row: IssueRow
    gaps: str  # the Q3 gap texts for the same 業務名, joined with newlines


@dataclass(frozen=True)
class Gap:
    dept: Department
    path: str
    row: GapRow


@dataclass
class Gathered:
    """Everything the summary shows, in a stable order (department code, then row index)."""

    departments: list[Department]  # active, by code
    statuses: dict[str, str]
    latest: dict[str, FileRow]  # code -> the file that decided the status
    answers: dict[str, Answers]  # code -> accepted answers (or, for 要修正, the rejected file's answers)
    accepted: dict[str, Answers]  # code -> accepted answers only
    paths: dict[str, str]  # code -> accepted file path
    issues: list[Issue]
    gaps: list[Gap]
    files: list[FileRow]
    by_code: dict[str, Department]  # every department of the masters (Masters.department() is a scan)
    problems: dict[str, list[Any]] = field(default_factory=dict)


def _dept_of(by_code: dict[str, Department], code: str) -> Department:
    # A department removed from the masters after answering still shows, by code.
    return by_code.get(code) or Department(code, "（部署一覧にない）", code, "", "", active=False)


def gather(masters: Masters, ledger: Ledger) -> Gathered:
    """Read the ledger once: statuses, accepted answers, the issues with their gaps, files and problems."""
    statuses = department_statuses(ledger, masters)
    by_code = {d.code: d for d in masters.departments}
    files = ledger.files()
    # Each department's latest return as collect decided it (one rule, in the ledger).
    by_path = {r.path: r for r in files}
    latest = {code: by_path[path] for code, (path, _status) in ledger.latest_returns().items()}
    accepted: dict[str, Answers] = {}
    paths: dict[str, str] = {}
    for code, path, _sha, _sent, answers_json in sorted(ledger.submissions(), key=lambda s: s[0]):
        accepted[code] = checks.answers_from_json(answers_json)
        paths[code] = path
    answers = dict(accepted)
    for code, status in statuses.items():
        row = latest.get(code)
        if status == NEEDS_FIXING and row is not None and row.sha256:
            reading = ledger.current_reading(row.sha256)
            if reading and reading.get("answers"):
                answers[code] = checks.answers_from_json(reading["answers"])
    issues: list[Issue] = []
    gaps: list[Gap] = []
    for code in sorted(accepted):
        ans, dept, path = accepted[code], _dept_of(by_code, code), paths[code]
        by_name: dict[str, list[str]] = {}
        for g in sorted(ans.q3, key=lambda g: g.index):
            gaps.append(Gap(dept, path, g))
            if g.gap:
                by_name.setdefault(g.name, []).append(g.gap)
        for q in sorted(ans.q2, key=lambda q: q.index):
            issues.append(Issue(dept, path, q, "\n".join(by_name.get(q.name, []))))
    return Gathered(
        departments=sorted(masters.active_departments, key=lambda d: d.code),
        statuses=statuses,
        latest=latest,
        answers=answers,
        accepted=accepted,
        paths=paths,
        issues=issues,
        gaps=gaps,
        files=files,
        by_code=by_code,
        problems=ledger.all_problems(),
    )


def accepted_issues(masters: Masters, ledger: Ledger) -> list[Issue]:
    """Every accepted Q2 item with its gaps, by department code then row (for the hypothesis books)."""
    return gather(masters, ledger).issues


# --- List sheets as Excel tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    kind: str = "text"  # text | wrap | int | percent | time | link
    trusted: bool = False  # text from the masters (see write_text)


@dataclass(frozen=True)
class Cut:
    """A text cut to Excel's limit while writing: reported on チェック結果."""

    sheet: str
    cell: str
    path: str
    dept: Department | None


Row = tuple[Sequence[Any], str, Department | None]  # cell values, source file path, department


def print_setup(ws: Worksheet, header_rows: tuple[int, int] | None, landscape: bool = True) -> None:
    """A4, one page wide, header rows on every page, page numbers."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    if header_rows is not None:
        ws.repeat_rows(*header_rows)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.set_footer("&C&P / &N")


def _lines(text: Any, width: float) -> int:
    """Roughly how many lines wrapped text takes in a column `width` characters wide (Japanese ~1.8)."""
    if not text or not isinstance(text, str):
        return 1
    per_line = max(1.0, width)
    return sum(
        math.ceil(max(1, len(line) * (1 if line.isascii() else 1.8)) / per_line) for line in text.split("\n")
    )


def write_table_sheet(
    wb: Workbook,
    st: Styles,
    name: str,
    table_name: str,
    columns: Sequence[Column],
    rows: Iterable[Row],
    cuts: list[Cut],
    freeze_cols: int = 0,
    link_text: str = "原本",
) -> tuple[Worksheet, int]:
    """A sheet holding one Excel table (header in row 1, filters, frozen header, print setup).

    Returns:
        The worksheet and the number of data rows written.
    """
    ws = wb.add_worksheet(name)
    for c, col in enumerate(columns):
        ws.set_column(c, c, col.width)
    n = 0
    for r, (values, path, dept) in enumerate(rows, start=1):
        n = r
        lines = max(
            (_lines(v, col.width) for col, v in zip(columns, values, strict=True) if col.kind == "wrap"),
            default=1,
        )
        if lines > 1:
            # LibreOffice does not grow rows for wrapped text on opening a file, so the height is set here.
            ws.set_row(r, min(409, 14 * lines))
        for c, (col, v) in enumerate(zip(columns, values, strict=True)):
            if v is None or v == "":
                ws.write_blank(r, c, None, st.wrap if col.kind == "wrap" else st.text)
            elif col.kind == "int":
                ws.write_number(r, c, v, st.integer)
            elif col.kind == "percent":
                ws.write_number(r, c, v, st.percent)
            elif col.kind == "time":
                ws.write_datetime(r, c, v, st.time)
            elif col.kind == "link":
                ws.write_url(r, c, v, st.link, string=link_text, tip="保存した原本を開きます")
            else:
                wrap = col.kind == "wrap"
                fmt, quoted = (st.wrap, st.wrap_q) if wrap else (st.text, st.text_q)
                if write_text(ws, r, c, v, fmt, quoted, col.trusted):
                    cuts.append(Cut(name, xl_rowcol_to_cell(r, c), path, dept))
    # A table needs one data row; an empty one shows the headers and filters all the same.
    last = max(n, 1)
    ws.add_table(
        0,
        0,
        last,
        len(columns) - 1,
        {
            "name": table_name,
            "style": "Table Style Medium 2",
            "columns": [{"header": col.header, "header_format": st.header} for col in columns],
        },
    )
    ws.set_row(0, 30)
    ws.freeze_panes(1, freeze_cols)
    print_setup(ws, (0, 0))
    return ws, n


# --- The summary ------------------------------------------------------------------------------------------


def summary_path(ws: Workspace, masters: Masters) -> Path:
    return ws.summary / f"{SUMMARY_STEM}_{safe_filename(masters.round.year_label)}.xlsx"


def _local(dt: datetime) -> datetime:
    """Naive local time for an Excel cell (Excel has no time zones)."""
    return dt.astimezone().replace(tzinfo=None) if dt.tzinfo else dt


def _sent_local(sent_at: str | None) -> datetime | None:
    if not sent_at:
        return None
    try:
        return _local(datetime.fromisoformat(sent_at))
    except ValueError:
        return None


def publish_summary(
    ws: Workspace, masters: Masters, ledger: Ledger, now: datetime
) -> tuple[Path, Path | None]:
    """`write_summary`, keeping what DX staff typed into the summary: when the current one is not what
    dxsheets last wrote (someone saved notes or colours into it), it is first moved aside as
    `…_編集版_<time>.xlsx`. Returns the summary written and that copy (or None)."""
    main = summary_path(ws, masters)
    kept = None
    if ledger.saved_over(ws.outbox, main):
        kept = keep_edited(main)
    path = write_summary(ws, masters, ledger, now)
    ledger.note_written(ws.outbox, path)
    return path, kept


def write_summary(ws: Workspace, masters: Masters, ledger: Ledger, now: datetime) -> Path:
    """Write outbox/summary/課題抽出_集計_<年度>.xlsx and a dated copy under history/.

    Args:
        ws: the workspace.
        masters: the masters (departments, WGs, 市役所の家, round).
        ledger: the ledger collect filled.
        now: the as-of time shown on 概要 and used in the history file name.

    Returns:
        The path of the current summary.
    """
    data = gather(masters, ledger)
    local_now = _local(now).replace(microsecond=0)
    main = summary_path(ws, masters)
    history = main.parent / "history" / f"{main.stem}_{local_now:%Y%m%d-%H%M%S}.xlsx"
    # The dated copy is written first: when the current summary is open in Excel, the new one still
    # lands (beside it, see `atomic_output`) and history has it under its usual name.
    with atomic_output(main, aside_if_open=True) as out:
        _write_workbook(out.tmp, masters, data, local_now, ARCHIVE_LINK)
        # The dated copy is the same workbook with its links to the originals one folder deeper.
        with atomic_path(history) as tmp_history:
            _copy_relinked(out.tmp, tmp_history)
    # Each is also in history/ under its own date; one that staff saved notes into stays.
    remove_stale_asides(main, out.path, keep=lambda old: ledger.saved_over(ws.outbox, old))
    return out.path


ARCHIVE_LINK = "../"  # from outbox/summary/ to outbox/ (archive paths in the ledger are relative to outbox)


def _copy_relinked(src: Path, dst: Path) -> None:
    """Copy a summary into history/, rewriting only the relative targets of its links to archived originals."""
    # xlsxwriter stores "external:../archive/..." as Target="..\archive\..." in the sheets' relationships.
    old, new = b'Target="..\\archive\\', b'Target="..\\..\\archive\\'
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if item.filename.startswith("xl/worksheets/_rels/"):
                zout.writestr(item, zin.read(item.filename).replace(old, new))
            else:
                with zin.open(item) as fin, zout.open(item, "w") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)


def _write_workbook(path: Path, masters: Masters, data: Gathered, now: datetime, link_prefix: str) -> None:
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    wb.set_properties(
        {
            "title": f"課題抽出 集計 {masters.round.year_label}",
            "subject": "DX推進員 課題抽出シートの集計",
            "company": "dxsheets",
            "created": now,
        }
    )
    st = make_styles(wb)
    cuts: list[Cut] = []
    _write_overview(wb, st, masters, data, now)
    _write_status(wb, st, data, cuts, link_prefix)
    write_table_sheet(
        wb, st, S_ISSUES, "T_Issues", ISSUE_COLUMNS, _issue_rows(data.issues), cuts, freeze_cols=3
    )
    write_table_sheet(wb, st, S_GAPS, "T_Gaps", GAP_COLUMNS, _gap_rows(data.gaps), cuts, freeze_cols=3)
    _write_house(wb, st, masters, data)
    unclassified = (i for i in data.issues if not i.row.wg)
    write_table_sheet(
        wb,
        st,
        S_UNCLASSIFIED,
        "T_Unclassified",
        UNCLASSIFIED_COLUMNS,
        _unclassified_rows(unclassified),
        cuts,
        freeze_cols=3,
    )
    _write_checks(wb, st, masters, data, cuts)
    wb.worksheets()[0].activate()
    wb.close()


ISSUE_COLUMNS = (
    Column("部", 14, "wrap", trusted=True),
    Column("課", 16, "wrap", trusted=True),
    Column("業務名", 24, "wrap"),
    Column("現在(Before)", 42, "wrap"),
    Column("デジタル化後(After)", 42, "wrap"),
    Column("関連WG", 22, "wrap", trusted=True),
    Column("ギャップ（設問3）", 42, "wrap"),
    Column("元ファイル", 30, "wrap"),
    Column("セル", 18),
)
GAP_COLUMNS = (
    Column("部", 14, "wrap", trusted=True),
    Column("課", 16, "wrap", trusted=True),
    Column("業務名", 28, "wrap"),
    Column("ギャップ（隔たり）の内容・理由", 70, "wrap"),
    Column("元ファイル", 30, "wrap"),
    Column("セル", 18),
)
UNCLASSIFIED_COLUMNS = tuple(c for c in ISSUE_COLUMNS if c.header != "関連WG")


def _issue_rows(issues: Iterable[Issue]) -> Iterator[Row]:
    for i in issues:
        q = i.row
        values = (
            i.dept.bu,
            i.dept.ka,
            q.name,
            q.before,
            q.after,
            q.wg or UNCLASSIFIED,
            i.gaps,
            i.path,
            q.cell,
        )
        yield values, i.path, i.dept


def _unclassified_rows(issues: Iterable[Issue]) -> Iterator[Row]:
    for i in issues:
        q = i.row
        yield (i.dept.bu, i.dept.ka, q.name, q.before, q.after, i.gaps, i.path, q.cell), i.path, i.dept


def _gap_rows(gaps: Iterable[Gap]) -> Iterator[Row]:
    for g in gaps:
        yield (g.dept.bu, g.dept.ka, g.row.name, g.row.gap, g.path, g.row.cell), g.path, g.dept


# --- 概要 -------------------------------------------------------------------------------------------------------


@dataclass
class Overview:
    """The counts shown on 概要 (also handy for tests and the CLI)."""

    targeted: int
    answered: int
    needs_fixing: int
    not_answered: int
    by_bu: list[tuple[str, int, int, int, int]]  # 部, targeted, answered, needs fixing, not answered
    by_wg: list[tuple[str, int]]  # WG name (or 未分類), Q2 items
    house: list[tuple[str, int]]  # "<no>. <text>", departments that checked it

    @property
    def rate(self) -> float:
        return self.answered / self.targeted if self.targeted else 0.0


def overview(masters: Masters, data: Gathered) -> Overview:
    """Count departments by status (overall and per 部), Q2 items per WG and 市役所の家 checks."""
    counts = dict.fromkeys((ANSWERED, NEEDS_FIXING, NOT_ANSWERED), 0)
    by_bu: dict[str, list[int]] = {}
    index = {ANSWERED: 1, NEEDS_FIXING: 2, NOT_ANSWERED: 3}
    for d in data.departments:
        status = data.statuses.get(d.code, NOT_ANSWERED)
        counts[status] += 1
        row = by_bu.setdefault(d.bu, [0, 0, 0, 0])
        row[0] += 1
        row[index[status]] += 1
    wg_counts = {w.name: 0 for w in sorted(masters.working_groups, key=lambda w: w.number)}
    unclassified = 0
    for i in data.issues:
        if not i.row.wg:
            unclassified += 1
        else:
            wg_counts[i.row.wg] = wg_counts.get(i.row.wg, 0) + 1
    house = []
    for item in masters.house:
        n = sum(1 for ans in data.accepted.values() if ans.house.get(item.number))
        house.append((f"{item.number}. {item.text}", n))
    return Overview(
        targeted=len(data.departments),
        answered=counts[ANSWERED],
        needs_fixing=counts[NEEDS_FIXING],
        not_answered=counts[NOT_ANSWERED],
        by_bu=[(bu, v[0], v[1], v[2], v[3]) for bu, v in by_bu.items()],
        by_wg=[*wg_counts.items(), (UNCLASSIFIED, unclassified)],
        house=house,
    )


_ROW_PX = 20  # default row height in pixels, to keep charts from overlapping the next block


def _bar_chart(
    wb: Workbook,
    title: str,
    axis: str,
    sheet: str,
    first: int,
    last: int,
    cat_col: int,
    val_col: int,
    color: str,
    percent: bool = False,
    top: int = 0,
) -> tuple[Any, int]:
    """A horizontal bar chart over the table cells just written; returns it and its height in pixels."""
    chart = wb.add_chart({"type": "bar"})
    font = {"name": FONT, "size": 9}
    chart.add_series(
        {
            "name": title,
            "categories": [sheet, first, cat_col, last, cat_col],
            "values": [sheet, first, val_col, last, val_col],
            "fill": {"color": color},
            "gap": 60,
            "data_labels": {"value": True, "font": font, **({"num_format": "0%"} if percent else {})},
        }
    )
    chart.set_title({"name": title, "name_font": {"name": FONT, "size": 12, "bold": True}})
    x_axis: dict[str, Any] = {"name": axis, "name_font": {"name": FONT, "size": 9}, "num_font": font}
    if percent:
        x_axis.update({"min": 0, "max": 1, "num_format": "0%", "major_unit": 0.25})
    else:
        # Counts: whole-number ticks (never 0.5 departments), about five of them.
        x_axis.update({"min": 0, "num_format": "0", "major_unit": max(1, -(-top // 5))})
    chart.set_x_axis(x_axis)
    # Categories top to bottom in the order of the table.
    chart.set_y_axis({"num_font": font, "reverse": True})
    chart.set_legend({"none": True})
    chart.set_chartarea({"border": {"none": True}})
    height = max(260, 90 + 26 * (last - first + 1))
    chart.set_size({"width": 640, "height": height})
    return chart, height


def _write_overview(wb: Workbook, st: Styles, masters: Masters, data: Gathered, now: datetime) -> None:
    ov = overview(masters, data)
    ws = wb.add_worksheet(S_OVERVIEW)
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 44)
    ws.set_column(1, 1, 17)  # also holds the as-of date and time
    ws.set_column(2, 5, 11)
    ws.set_column(6, 6, 2)
    date_fmt = wb.add_format(
        {
            "font_name": FONT,
            "font_size": 10,
            "num_format": "yyyy/mm/dd hh:mm",
            "align": "left",
            "border": 1,
            "border_color": "#A6A6A6",
        }
    )
    rnd = masters.round
    ws.set_row(0, 28)
    ws.write_string(0, 0, f"DX推進員 課題抽出シート 集計（{rnd.year_label}）", st.title)
    ws.write_string(1, 0, "集計時点", st.label)
    ws.write_datetime(1, 1, now, date_fmt)
    ws.write_string(2, 0, "年度・回次ID", st.label)
    write_text(ws, 2, 1, f"{rnd.year_label}（{rnd.round_id}）", st.text, st.text_q, trusted=True)

    r = 4
    ws.write_string(r, 0, "回答状況", st.section)
    ws.write_string(r + 1, 0, "区分", st.header)
    ws.write_string(r + 1, 1, "部署数", st.header)
    ws.write_string(r + 1, 2, "割合", st.header)
    t = ov.targeted or 1
    for i, (label, n) in enumerate(
        (
            ("対象部署", ov.targeted),
            ("回答済み", ov.answered),
            ("要修正（回答に不備があり差し戻し）", ov.needs_fixing),
            ("未回答", ov.not_answered),
        ),
        start=r + 2,
    ):
        ws.write_string(i, 0, label, st.label)
        ws.write_number(i, 1, n, st.integer)
        ws.write_number(i, 2, n / t if ov.targeted else 0, st.percent)
    r += 6
    ws.write_string(r, 0, "回答率（回答済み ÷ 対象部署）", st.label)
    ws.write_number(r, 1, ov.rate, st.percent)
    ws.write_string(r + 1, 0, "課題の件数（設問2の行）", st.label)
    ws.write_number(r + 1, 1, len(data.issues), st.integer)
    ws.write_string(r + 2, 0, "ギャップの件数（設問3の行）", st.label)
    ws.write_number(r + 2, 1, len(data.gaps), st.integer)
    ws.write_string(r + 3, 0, "関連WGが空欄の課題（未分類）", st.label)
    ws.write_number(r + 3, 1, sum(1 for i in data.issues if not i.row.wg), st.integer)
    r += 6

    # 部別の回答率.
    ws.write_string(r, 0, "部別の回答状況", st.section)
    head = r + 1
    for c, h in enumerate(("部", "対象", "回答済み", "要修正", "未回答", "回答率")):
        ws.write_string(head, c, h, st.header)
    for i, (bu, n, a, f, u) in enumerate(ov.by_bu, start=head + 1):
        write_text(ws, i, 0, bu, st.text, st.text_q, trusted=True)
        for c, v in enumerate((n, a, f, u), start=1):
            ws.write_number(i, c, v, st.integer)
        ws.write_number(i, 5, a / n if n else 0, st.percent)
    first, last = head + 1, head + max(len(ov.by_bu), 1)
    chart, height = _bar_chart(wb, "部別の回答率", "回答率", S_OVERVIEW, first, last, 0, 5, "#2E75B6", True)
    ws.insert_chart(r, 7, chart, {"x_offset": 4, "y_offset": 4})
    r = max(last, r + height // _ROW_PX) + 3

    def count_block(
        r: int,
        section: str,
        header: tuple[str, str],
        rows: list[tuple[str, int]],
        wrap: bool,
        chart_title: str,
        axis: str,
        color: str,
    ) -> int:
        """A section title, a two-column count table and its bar chart beside it; returns the next free row."""
        ws.write_string(r, 0, section, st.section)
        head = r + 1
        ws.write_string(head, 0, header[0], st.header)
        ws.write_string(head, 1, header[1], st.header)
        for i, (label, n) in enumerate(rows, start=head + 1):
            write_text(
                ws, i, 0, label, st.wrap if wrap else st.text, st.wrap_q if wrap else st.text_q, trusted=True
            )
            ws.write_number(i, 1, n, st.integer)
        first, last = head + 1, head + max(len(rows), 1)
        chart, height = _bar_chart(
            wb,
            chart_title,
            axis,
            S_OVERVIEW,
            first,
            last,
            0,
            1,
            color,
            top=max((n for _, n in rows), default=0),
        )
        ws.insert_chart(r, 7, chart, {"x_offset": 4, "y_offset": 4})
        return max(last, r + height // _ROW_PX)

    # Each chart block starts a printed page, so no chart is cut by a page break.
    breaks = [r]
    r = (
        count_block(
            r,
            "WG別の課題件数（設問2の関連WG）",
            ("WG", "課題件数"),
            list(ov.by_wg),
            False,
            "WG別の課題件数",
            "件数",
            "#548235",
        )
        + 3
    )
    breaks.append(r)
    r = (
        count_block(
            r,
            "市役所の家：チェックした部署数（回答済みの部署）",
            ("項目", "部署数"),
            list(ov.house),
            True,
            "市役所の家：チェックした部署数",
            "部署数",
            "#C55A11",
        )
        + 1
    )

    print_setup(ws, None)
    ws.set_h_pagebreaks(breaks)
    ws.print_area(0, 0, r, 17)


# --- 回答状況 -----------------------------------------------------------------------------------------------------

STATUS_COLUMNS = (
    Column("部署コード", 11),
    Column("部", 16, "wrap", trusted=True),
    Column("課", 18, "wrap", trusted=True),
    Column("DX推進員", 14, "wrap", trusted=True),
    Column("状況", 10),
    Column("受信日時", 17, "time"),
    Column("回答者", 14, "wrap"),
    Column("設問2の件数", 10, "int"),
    Column("エラー数", 9, "int"),
    Column("注意数", 9, "int"),
    Column("原本", 8, "link"),
    Column("ファイル", 34, "wrap"),
    Column("備考", 40, "wrap"),
)


def _status_rows(data: Gathered, link_prefix: str) -> Iterator[Row]:
    for d in data.departments:
        status = data.statuses.get(d.code, NOT_ANSWERED)
        row = data.latest.get(d.code) if status != NOT_ANSWERED else None
        ans = data.answers.get(d.code) if status != NOT_ANSWERED else None
        probs = data.problems.get(row.path, []) if row else []
        values = (
            d.code,
            d.bu,
            d.ka,
            d.promoter,
            DEPT_STATUS_JA[status],
            _sent_local(row.sent_at) if row else None,
            ans.respondent if ans else "",
            len(ans.q2) if ans and status == ANSWERED else None,
            sum(p.severity == ERROR for p in probs) if row else None,
            sum(p.severity == WARNING for p in probs) if row else None,
            f"external:{link_prefix}{row.archive}" if row and row.archive else None,
            row.path if row else "",
            row.reason if row else "",
        )
        yield values, row.path if row else "", d


def _write_status(wb: Workbook, st: Styles, data: Gathered, cuts: list[Cut], link_prefix: str) -> None:
    ws, n = write_table_sheet(
        wb, st, S_STATUS, "T_Status", STATUS_COLUMNS, _status_rows(data, link_prefix), cuts, freeze_cols=3
    )
    if n:
        # Rows that need chasing stand out, and keep standing out when the table is sorted or filtered.
        col = xl_rowcol_to_cell(1, 4, col_abs=True)
        last_col = len(STATUS_COLUMNS) - 1
        for label, color in (("未回答", "#FFEB9C"), ("要修正", "#FFC7CE")):
            ws.conditional_format(
                1,
                0,
                n,
                last_col,
                {
                    "type": "formula",
                    "criteria": f'={col}="{label}"',
                    "format": wb.add_format({"bg_color": color}),
                },
            )


# --- 市役所の家 ---------------------------------------------------------------------------------------------------


def _col_range(col: int, last_row: int) -> str:
    return f"{xl_rowcol_to_cell(1, col)}:{xl_rowcol_to_cell(last_row, col)}"


def _write_house(wb: Workbook, st: Styles, masters: Masters, data: Gathered) -> None:
    """Department x item matrix of ○ with totals; a table whose total row counts the marks per item."""
    ws = wb.add_worksheet(S_HOUSE)
    items = list(masters.house)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 2, 16)
    ws.set_column(3, 3 + len(items), 10)
    center = wb.add_format(
        {"font_name": FONT, "font_size": 11, "align": "center", "border": 1, "border_color": "#A6A6A6"}
    )
    codes = sorted(data.accepted)
    row = 0
    totals = [0] * len(items)
    for row, code in enumerate(codes, start=1):
        dept, ans = _dept_of(data.by_code, code), data.accepted[code]
        ws.write_string(row, 0, code, st.text)
        write_text(ws, row, 1, dept.bu, st.wrap, st.wrap_q, trusted=True)
        write_text(ws, row, 2, dept.ka, st.wrap, st.wrap_q, trusted=True)
        for c, item in enumerate(items):
            if ans.house.get(item.number):
                ws.write_string(row, 3 + c, "○", center)
                totals[c] += 1
            else:
                ws.write_blank(row, 3 + c, None, center)
        ws.write_number(row, 3 + len(items), sum(bool(ans.house.get(i.number)) for i in items), st.integer)
    last = max(row, 1) + 1  # the total row
    columns: list[dict[str, Any]] = [
        {"header": "部署コード", "header_format": st.header, "total_string": "合計"},
        {"header": "部", "header_format": st.header},
        {"header": "課", "header_format": st.header},
    ]
    headers_seen: set[str] = set()
    for c, item in enumerate(items):
        header = f"{item.number}. {item.text}"
        # Table headers must be unique; item texts normally are, numbers make sure.
        header = header if header not in headers_seen else f"{header} ({c + 1})"
        headers_seen.add(header)
        columns.append(
            {
                "header": header,
                "header_format": st.header,
                # A plain range, not a structured reference: item texts hold 、（）. that LibreOffice
                # cannot parse inside [column] names (Err:501/507 in the total row).
                "total_function": f"COUNTA({_col_range(3 + c, last - 1)})",
                "total_value": totals[c],
            }
        )
    columns.append(
        {
            "header": "合計",
            "header_format": st.header,
            "total_function": f"SUM({_col_range(3 + len(items), last - 1)})",
            "total_value": sum(totals),
        }
    )
    ws.add_table(
        0,
        0,
        last,
        len(columns) - 1,
        {"name": "T_House", "style": "Table Style Medium 2", "total_row": True, "columns": columns},
    )
    ws.set_row(0, 96)
    ws.freeze_panes(1, 3)
    print_setup(ws, (0, 0))


# --- チェック結果 ----------------------------------------------------------------------------------------------------

CHECK_COLUMNS = (
    Column("ファイル", 34, "wrap"),
    Column("部署コード", 11),
    Column("部署名", 24, "wrap", trusted=True),
    Column("ファイルの扱い", 12),
    Column("区分", 8),
    Column("コード", 22),
    Column("場所", 24, "wrap"),
    Column("内容", 70, "wrap"),
)


def _place(sheet: str, cell: str) -> str:
    if sheet and cell and "!" not in cell:
        return f"{sheet}!{cell}"
    return cell or sheet


def _check_rows(masters: Masters, data: Gathered, cuts: list[Cut]) -> Iterator[Row]:
    for f in data.files:
        dept = data.by_code.get(f.dept_code) if f.dept_code else None
        for p in data.problems.get(f.path, []):
            if p.severity not in SEVERITY_JA:
                continue
            values = (
                f.path,
                f.dept_code or "",
                dept.name if dept else "",
                FILE_STATUS_JA.get(f.status, f.status),
                SEVERITY_JA[p.severity],
                p.code,
                _place(p.sheet, p.cell),
                p.message,
            )
            yield values, f.path, dept
    for cut in cuts:
        values = (
            cut.path,
            cut.dept.code if cut.dept else "",
            cut.dept.name if cut.dept else "",
            "集計",
            SEVERITY_JA[WARNING],
            CUT_CODE,
            f"{cut.sheet}!{cut.cell}",
            CUT_MESSAGE,
        )
        yield values, cut.path, cut.dept


def _write_checks(wb: Workbook, st: Styles, masters: Masters, data: Gathered, cuts: list[Cut]) -> None:
    # Cuts found on this sheet itself cannot be listed on it; they are few (messages are ours, paths short).
    ws, n = write_table_sheet(
        wb, st, S_CHECKS, "T_Checks", CHECK_COLUMNS, _check_rows(masters, data, list(cuts)), [], freeze_cols=1
    )
    if n:
        col = xl_rowcol_to_cell(1, 4, col_abs=True)
        ws.conditional_format(
            1,
            0,
            n,
            len(CHECK_COLUMNS) - 1,
            {
                "type": "formula",
                "criteria": f'={col}="エラー"',
                "format": wb.add_format({"font_color": "#C00000"}),
            },
        )
