"""Blank issue-extraction workbooks (課題抽出シート), one per department, and their mail drafts.

Writes with xlsxwriter: data validation on every input, input help, conditional formatting, protection that
still lets a promoter insert rows, print setup, and the defined names of the form contract (`forms.py`).
The same writer makes the feedback workbook: a fresh sheet pre-filled with a department's answers and the
cells with problems marked.
"""

from __future__ import annotations

import functools
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from types import SimpleNamespace
from xml.sax.saxutils import escape

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from . import forms as F
from . import processes
from .domain import ERROR, Answers, Department, Masters, Problem
from .fsio import atomic_write_bytes, safe_filename

FONT = "游ゴシック"
WEEKDAYS = "月火水木金土日"


def jp_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日（{WEEKDAYS[d.weekday()]}）"


def form_path(distribute: Path, dept: Department) -> Path:
    """outbox/distribute/<部>/<code>_<課>.xlsx, with names safe on Windows."""
    return (
        distribute / safe_filename(dept.bu) / f"{safe_filename(dept.code, 20)}_{safe_filename(dept.ka)}.xlsx"
    )


@dataclass
class _Formats:
    title: object
    label: object
    locked_value: object
    input: object
    input_wrap: object
    input_wrap_text: object
    input_date: object
    header: object
    number: object
    section: object
    text_wrap: object
    note: object
    required: object
    greyed: object
    marked: object
    marked_text: object
    marked_date: object


def _formats(wb: Workbook) -> _Formats:
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
    border = {"border": 1, "border_color": "#808080"}
    mark = {"locked": False, "bg_color": "#FFC7CE", "border": 2, "border_color": "#C00000"}  # feedback

    def fmt(**kw: object) -> object:
        return wb.add_format({**base, **kw})

    return _Formats(
        title=fmt(bold=True, font_size=16, font_color="#1F3864"),
        label=fmt(bold=True, bg_color="#DDEBF7", **border),
        locked_value=fmt(bg_color="#F2F2F2", bold=True, **border),
        # Short text inputs are formatted as text ("@"): typed into General, "0312345678" becomes the
        # number 312345678 and "0123" 123, in Excel and LibreOffice alike, and no reader can undo that.
        # Not the long ones (up to 1,000 characters): Excel shows "####" for a text cell of more than 255.
        input=fmt(locked=False, num_format="@", **border),
        input_wrap=fmt(locked=False, text_wrap=True, valign="top", **border),
        input_wrap_text=fmt(locked=False, text_wrap=True, valign="top", num_format="@", **border),
        input_date=fmt(locked=False, num_format="yyyy/mm/dd", align="left", **border),
        header=fmt(
            bold=True, bg_color="#1F4E78", font_color="#FFFFFF", align="center", text_wrap=True, **border
        ),
        number=fmt(align="center", bg_color="#F2F2F2", **border),
        section=fmt(bold=True, font_size=11, text_wrap=True, bottom=2, bottom_color="#1F4E78"),
        text_wrap=fmt(text_wrap=True, valign="top"),
        note=fmt(font_color="#595959", italic=True),
        required={"bg_color": "#FFF2CC"},
        greyed={"bg_color": "#D9D9D9", "font_color": "#808080"},
        marked=fmt(text_wrap=True, valign="top", **mark),
        marked_text=fmt(text_wrap=True, valign="top", num_format="@", **mark),
        marked_date=fmt(num_format="yyyy/mm/dd", align="left", **mark),
    )


@functools.lru_cache(maxsize=4096)
def _prepared_formula(formula: str, expand: bool, use_future: bool) -> str:
    return Worksheet._prepare_formula(SimpleNamespace(use_future_functions=use_future), formula, expand)  # type: ignore[arg-type]


class _Worksheet(Worksheet):
    """A worksheet that remembers prepared formulas.

    xlsxwriter runs ~150 regular expressions over every validation and conditional-format formula, and
    ours are the same in every department's sheet: remembering them makes generating ~1.5x faster.
    `_prepare_formula` is a pure function of its arguments and `use_future_functions`.
    """

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        return _prepared_formula(formula, expand_future_functions, self.use_future_functions)


def _abs(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)


def _ref(sheet: str, r1: int, c1: int, r2: int | None = None, c2: int | None = None) -> str:
    ref = f"={quote_sheetname(sheet)}!{_abs(r1, c1)}"
    if r2 is not None and c2 is not None and (r2, c2) != (r1, c1):
        ref += f":{_abs(r2, c2)}"
    return ref


def build_form(
    masters: Masters,
    dept: Department,
    secret: bytes,
    generated_at: datetime,
    answers: Answers | None = None,
    problems: Sequence[Problem] = (),
    cover: Callable[[Workbook, object], None] | None = None,
) -> bytes:
    """Write one department's 課題抽出シート and return the .xlsx bytes.

    Args:
        masters: the workspace masters (WGs, 市役所の家, work lists, round).
        dept: the department the sheet is for; shown and locked, and bound into the token.
        secret: the workspace secret the token is made with.
        generated_at: written to the meta sheet.
        answers: answers to pre-fill (feedback); None for a blank sheet.
        problems: problems whose cells are marked red with a comment carrying the message (feedback).
        cover: called first with the workbook and its base format to add a leading sheet (feedback's list).
    """
    rnd = masters.round
    n_q2 = max(F.MIN_Q2_ROWS, len(answers.q2) + 5 if answers else 0)
    n_q3 = max(F.MIN_Q3_ROWS, len(answers.q3) + 5 if answers else 0)
    lay = F.Layout(n_house=len(masters.house), n_q2=n_q2, n_q3=n_q3)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_format_properties": {"font_name": FONT, "font_size": 10},
        },
    )
    wb.set_properties(
        {
            "title": f"課題抽出シート {rnd.year_label} {dept.name}",
            "subject": "DX推進員 課題抽出シート",
            "author": rnd.contact,
            "company": "dxsheets",
            "created": generated_at,
        }
    )
    fm = _formats(wb)
    if cover is not None:
        cover(wb, fm)
    ws = wb.add_worksheet(F.MAIN_SHEET, worksheet_class=_Worksheet)
    lists = wb.add_worksheet(F.LISTS_SHEET, worksheet_class=_Worksheet)
    meta = wb.add_worksheet(F.META_SHEET, worksheet_class=_Worksheet)
    marks = _comments(problems)

    _write_lists(lists, masters, dept)
    token = _PH_TOKEN if dept.code == _PH_CODE else F.make_token(secret, F.FORM_ID, rnd.round_id, dept.code)
    _write_meta(wb, meta, masters, dept, token, generated_at)
    _write_main(wb, ws, fm, lay, masters, dept, answers, marks)
    if cover is None:
        ws.activate()
    wb.close()
    return buf.getvalue()


def _comments(problems: Iterable[Problem]) -> dict[tuple[str, int, int], str]:
    """The comment of each marked input (name, row and column inside it): the messages of every problem
    placed there, errors first. A problem of a whole input (a note on rows under a table) marks its first
    cell, which may carry an error of its own: neither message may hide the other."""
    placed: dict[tuple[str, int, int], list[Problem]] = {}
    for p in problems:
        if p.field:
            placed.setdefault((p.field, p.row or 0, p.col or 0), []).append(p)
    return {
        key: "\n\n".join(dict.fromkeys(p.message for p in sorted(found, key=lambda p: p.severity != ERROR)))
        for key, found in placed.items()
    }


def _write_lists(lists: Worksheet, masters: Masters, dept: Department) -> None:
    for r, wg in enumerate(masters.working_groups):
        lists.write_string(r, 0, wg.name)
    for r, name in enumerate(masters.worklists.get(dept.code, ())):
        lists.write_string(r, 1, name)
    lists.write_string(0, 2, F.HOUSE_MARK)
    lists.set_column(0, 1, 40)
    lists.hide()


def _write_meta(
    wb: Workbook, meta: Worksheet, masters: Masters, dept: Department, token: str, generated_at: datetime
) -> None:
    rnd = masters.round
    values = {
        F.N_FORM_ID: F.FORM_ID,
        F.N_FORM_VERSION: F.FORM_VERSION,
        F.N_ROUND: rnd.round_id,
        F.N_DEPT_CODE: dept.code,
        F.N_TOKEN: token,
        F.N_GENERATED: generated_at.isoformat(timespec="seconds"),
    }
    for r, (name, value) in enumerate(values.items()):
        meta.write_string(r, 0, name)
        meta.write_string(r, 1, value)
        wb.define_name(name, _ref(F.META_SHEET, r, 1))
    meta.protect()
    meta.very_hidden()


def _write_main(
    wb: Workbook,
    ws: Worksheet,
    fm: _Formats,
    lay: F.Layout,
    masters: Masters,
    dept: Department,
    answers: Answers | None,
    marks: dict[tuple[str, int, int], str],
) -> None:
    rnd = masters.round
    ws.set_column(0, 0, 5)
    ws.set_column(1, 1, 28)
    ws.set_column(2, 3, 46)
    ws.set_column(4, 4, 26)
    ws.hide_gridlines(2)

    ws.set_row(lay.title, 30)
    ws.write_string(lay.title, 0, f"【DX推進員】課題抽出シート（{rnd.year_label}）", fm.title)
    ws.write_string(lay.dept, 1, "所属", fm.label)
    ws.merge_range(lay.dept, 2, lay.dept, 4, dept.name, fm.locked_value)
    ws.write_string(lay.deadline, 1, "回答期限", fm.label)
    ws.merge_range(
        lay.deadline, 2, lay.deadline, 4, f"{jp_date(rnd.deadline)}　問合せ先：{rnd.contact}", fm.locked_value
    )
    ws.set_row(lay.intro, 52)
    ws.merge_range(lay.intro, 0, lay.intro, 4, F.INTRO, fm.text_wrap)

    def value(name: str, row: int = 0, col: int = 0) -> object:
        if answers is None:
            return None
        return _answer_value(answers, name, row, col)

    def fmt_for(name: str, base: object, row: int = 0, col: int = 0) -> object:
        if (name, row, col) in marks:
            if base is fm.input_date:
                return fm.marked_date
            return fm.marked_text if base in (fm.input, fm.input_wrap_text) else fm.marked
        return base

    def put(name: str, row: int, col: int, r: int, c: int, base: object) -> None:
        v = value(name, row, col)
        f = fmt_for(name, base, row, col)
        if isinstance(v, date):
            ws.write_datetime(r, c, datetime(v.year, v.month, v.day), f)
        elif v not in (None, ""):
            ws.write_string(r, c, str(v), f)
        else:
            ws.write_blank(r, c, None, f)
        comment = marks.get((name, row, col))
        if comment is not None:  # a box as tall as its messages, so none is cut off from view
            tall = 1.6 * (comment.count("\n\n") + 1)
            ws.write_comment(r, c, comment, {"author": "DX推進課", "x_scale": 2.2, "y_scale": tall})

    # Respondent block.
    for name, r, label, base in (
        (F.N_RESPONDENT, lay.respondent, "回答者氏名", fm.input),
        (F.N_CONTACT, lay.contact, "連絡先（内線・メール）", fm.input),
        (F.N_ANSWER_DATE, lay.answer_date, "回答日", fm.input_date),
    ):
        ws.write_string(r, 1, label, fm.label)
        put(name, 0, 0, r, lay.value_col, base)
    ws.write_string(lay.answer_date, 3, "例：2026/11/20", fm.note)
    ws.data_validation(
        lay.respondent,
        2,
        lay.respondent,
        2,
        {
            "validate": "length",
            "criteria": "between",
            "minimum": 1,
            "maximum": F.MAX_RESPONDENT,
            "input_title": "回答者氏名",
            "input_message": f"回答した方の氏名を入力してください（{F.MAX_RESPONDENT}文字以内）。",
            "error_title": "回答者氏名",
            "error_message": f"{F.MAX_RESPONDENT}文字以内で入力してください。",
        },
    )
    ws.data_validation(
        lay.contact,
        2,
        lay.contact,
        2,
        {
            "validate": "length",
            "criteria": "between",
            "minimum": 1,
            "maximum": F.MAX_CONTACT,
            "input_title": "連絡先",
            "input_message": "内線番号またはメールアドレスを入力してください。",
            "error_title": "連絡先",
            "error_message": f"{F.MAX_CONTACT}文字以内で入力してください。",
        },
    )
    fy_end = rnd.fiscal_year_end
    ws.data_validation(
        lay.answer_date,
        2,
        lay.answer_date,
        2,
        {
            "validate": "date",
            "criteria": "between",
            "minimum": datetime(rnd.start.year, rnd.start.month, rnd.start.day),
            "maximum": datetime(fy_end.year, fy_end.month, fy_end.day),
            "input_title": "回答日",
            "input_message": f"回答した日を 2026/11/20 の形で入力してください（{rnd.start:%Y/%m/%d}〜{fy_end:%Y/%m/%d}）。",
            "error_title": "回答日",
            "error_message": f"{rnd.start:%Y/%m/%d}〜{fy_end:%Y/%m/%d} の日付を入力してください。",
        },
    )

    # 市役所の家 checklist.
    ws.merge_range(lay.house_title, 0, lay.house_title, 4, F.HOUSE_TEXT, fm.section)
    ws.write_string(lay.house_header, 0, "No", fm.header)
    ws.merge_range(
        lay.house_header, 1, lay.house_header, 2, "項目（これからの時代に目指すべき市役所の家）", fm.header
    )
    ws.write_string(lay.house_header, 3, "関連WG", fm.header)
    ws.write_string(lay.house_header, 4, "該当（○）", fm.header)
    wg_names = {w.number: w.name for w in masters.working_groups}
    for i, item in enumerate(masters.house):
        r = lay.house_first + i
        ws.write_number(r, 0, item.number, fm.number)
        ws.merge_range(r, 1, r, 2, item.text, fm.locked_value)
        ws.write_string(r, 3, wg_names.get(item.wg_number or 0, "—"), fm.locked_value)
        put(F.N_HOUSE, i, 0, r, lay.house_col, fm.input)
    h1, h2 = lay.house_first, lay.house_first + len(masters.house) - 1
    ws.data_validation(
        h1,
        lay.house_col,
        h2,
        lay.house_col,
        {
            "validate": "list",
            "source": _ref(F.LISTS_SHEET, 0, 2),
            "input_title": "市役所の家",
            "input_message": "当てはまる場合は「○」を選んでください。当てはまらなければ空欄のままにしてください。",
            "error_title": "市役所の家",
            "error_message": "「○」を選ぶか、空欄にしてください。",
        },
    )

    # Q1.
    ws.set_row(lay.q1, 30)
    ws.merge_range(lay.q1, 0, lay.q1, 3, F.Q1_TEXT, fm.section)
    put(F.N_Q1, 0, 0, lay.q1, lay.q1_col, fm.input)
    ws.data_validation(
        lay.q1,
        lay.q1_col,
        lay.q1,
        lay.q1_col,
        {
            "validate": "list",
            "source": list(F.Q1_CHOICES),
            "input_title": "設問1",
            "input_message": "「はい」か「いいえ」を選んでください。いいえの場合、調査はここで終了です。",
            "error_title": "設問1",
            "error_message": "「はい」か「いいえ」を選んでください。",
        },
    )
    ws.write_string(lay.q1 + 1, 0, F.Q1_NOTE, fm.note)
    q1_cell = _abs(lay.q1, lay.q1_col)

    def table(
        name: str,
        text: str,
        title_row: int,
        title_height: int,
        columns: tuple[str, ...],
        first: int,
        rows: int,
        long: tuple[int, ...],
    ) -> None:
        """A question, its column titles and its numbered input rows (the body is the defined name);
        `long` lists the columns of long text (General: see `_formats`), the others are text."""
        ws.set_row(title_row, title_height)
        ws.merge_range(title_row, 0, title_row, 4, text, fm.section)
        ws.write_string(first - 1, 0, "No", fm.header)
        for c, column in enumerate(columns):
            ws.write_string(first - 1, 1 + c, column, fm.header)
        for i in range(rows):
            ws.set_row(first + i, 36)
            ws.write_number(first + i, 0, i + 1, fm.number)
            for c in range(len(columns)):
                put(name, i, c, first + i, 1 + c, fm.input_wrap if c in long else fm.input_wrap_text)

    # Q2 table.
    table(
        F.N_Q2, F.Q2_TEXT, lay.q2_title, 30, F.Q2_COLUMNS, lay.q2_first, lay.n_q2, (F.Q2_BEFORE, F.Q2_AFTER)
    )
    q2 = (lay.q2_first, lay.q2_last)
    worklist = masters.worklists.get(dept.code, ())
    if worklist:
        ws.data_validation(
            q2[0],
            1,
            q2[1],
            1,
            {
                "validate": "list",
                "source": _ref(F.LISTS_SHEET, 0, 1, len(worklist) - 1, 1),
                "error_type": "information",
                "input_title": "業務名",
                "input_message": "一覧から選ぶか、一覧にない業務名を直接入力してください。",
                "error_title": "業務名",
                "error_message": "一覧にない業務名です。このままでよければ「OK」を押してください。",
            },
        )
    else:
        ws.data_validation(
            q2[0],
            1,
            q2[1],
            1,
            {
                "validate": "length",
                "criteria": "<=",
                "value": F.MAX_WORK_NAME,
                "input_title": "業務名",
                "input_message": f"業務名を入力してください（{F.MAX_WORK_NAME}文字以内）。",
                "error_title": "業務名",
                "error_message": f"{F.MAX_WORK_NAME}文字以内で入力してください。",
            },
        )
    for c, (title, help_text) in enumerate(
        (
            ("現在(Before)", "いまの業務のやり方を書いてください。"),
            (
                "デジタル化後(After)",
                "デジタル化した後の姿を書いてください。書けない場合は設問3にギャップを書いてください。",
            ),
        ),
        start=2,
    ):
        ws.data_validation(
            q2[0],
            c,
            q2[1],
            c,
            {
                "validate": "length",
                "criteria": "<=",
                "value": F.MAX_TEXT,
                "input_title": title,
                "input_message": f"{help_text}（{F.MAX_TEXT}文字以内）",
                "error_title": title,
                "error_message": f"{F.MAX_TEXT}文字以内で入力してください。",
            },
        )
    ws.data_validation(
        q2[0],
        4,
        q2[1],
        4,
        {
            "validate": "list",
            "source": _ref(F.LISTS_SHEET, 0, 0, len(masters.working_groups) - 1, 0),
            "input_title": "関連WG",
            "input_message": "この業務に関係するWGを一覧から選んでください。わからなければ空欄で構いません。",
            "error_title": "関連WG",
            "error_message": "一覧にあるWGを選んでください。",
        },
    )

    # Q3 table.
    table(F.N_Q3, F.Q3_TEXT, lay.q3_title, 44, F.Q3_COLUMNS, lay.q3_first, lay.n_q3, (F.Q3_GAP,))
    q3 = (lay.q3_first, lay.q3_last)
    ws.data_validation(
        q3[0],
        1,
        q3[1],
        1,
        {
            "validate": "list",
            "source": f"={_abs(q2[0], 1)}:{_abs(q2[1], 1)}",
            "error_type": "information",
            "input_title": "業務名",
            "input_message": "設問2に書いた業務名から選んでください。",
            "error_title": "業務名",
            "error_message": "設問2にない業務名です。設問2にも記入してください。",
        },
    )
    ws.data_validation(
        q3[0],
        2,
        q3[1],
        2,
        {
            "validate": "length",
            "criteria": "<=",
            "value": F.MAX_TEXT,
            "input_title": "ギャップの内容・理由",
            "input_message": f"隔たりがあると感じた内容や理由を書いてください（{F.MAX_TEXT}文字以内）。",
            "error_title": "ギャップの内容・理由",
            "error_message": f"{F.MAX_TEXT}文字以内で入力してください。",
        },
    )

    # Conditional formatting: required inputs still empty; Q2/Q3 greyed when Q1 is いいえ.
    required = wb.add_format(fm.required)
    greyed = wb.add_format(fm.greyed)
    for name in (F.N_RESPONDENT, F.N_CONTACT, F.N_ANSWER_DATE, F.N_Q1):
        r, c = lay.cell_of(name)
        ws.conditional_format(r, c, r, c, {"type": "blanks", "format": required})
    for first, last, ncols in ((q2[0], q2[1], 4), (q3[0], q3[1], 2)):
        ws.conditional_format(
            first,
            1,
            last,
            ncols,
            {"type": "formula", "criteria": f'={q1_cell}="{F.Q1_NO}"', "format": greyed},
        )
    first_name = _abs(q2[0], 1)
    ws.conditional_format(
        q2[0],
        1,
        q2[0],
        1,
        {
            "type": "formula",
            "criteria": f'=AND({q1_cell}="{F.Q1_YES}",COUNTA({first_name}:{_abs(q2[1], 1)})=0)',
            "format": required,
        },
    )

    # Defined names: the form contract.
    for name in F.SINGLE_NAMES:
        r, c = lay.cell_of(name)
        wb.define_name(name, _ref(F.MAIN_SHEET, r, c))
    wb.define_name(F.N_HOUSE, _ref(F.MAIN_SHEET, h1, lay.house_col, h2, lay.house_col))
    wb.define_name(F.N_Q2, _ref(F.MAIN_SHEET, q2[0], 1, q2[1], 4))
    wb.define_name(F.N_Q3, _ref(F.MAIN_SHEET, q3[0], 1, q3[1], 2))

    # Protection: only inputs are unlocked; rows can still be inserted and resized.
    ws.protect("", {"insert_rows": True, "format_rows": True, "format_columns": True})
    ws.set_selection(lay.respondent, lay.value_col, lay.respondent, lay.value_col)
    # A number typed into a text input (an extension, "0123") is text on purpose: no green corner marks.
    ws.ignore_errors({"number_stored_as_text": f"A1:E{lay.q3_last + 1 + F.ROWS_BELOW}"})

    # Print: A4 landscape, one page wide, title rows on every page.
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(lay.title, lay.dept)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.set_footer("&C&P / &N")
    ws.print_area(0, 0, lay.q3_last, 4)


def _answer_value(answers: Answers, name: str, row: int, col: int) -> object:
    if name == F.N_RESPONDENT:
        return answers.respondent
    if name == F.N_CONTACT:
        return answers.contact
    if name == F.N_ANSWER_DATE:
        return answers.answer_date
    if name == F.N_Q1:
        return answers.q1
    if name == F.N_HOUSE:
        return F.HOUSE_MARK if answers.house.get(row + 1) else None
    if name == F.N_Q2 and row < len(answers.q2):
        q = answers.q2[row]
        return (q.name, q.before, q.after, q.wg)[col]
    if name == F.N_Q3 and row < len(answers.q3):
        g = answers.q3[row]
        return (g.name, g.gap)[col]
    return None


# --- Stamping: the same sheet for many departments ----------------------------------------------------------
#
# Departments without a work list get byte-for-byte the same workbook except for four strings (部, 課, code,
# token). Building it once per run and replacing those strings in the stored XML is ~10x faster than running
# xlsxwriter for each of 1,741 senders. Placeholders use 〓 (geta), which no department or token contains.

_PH_BU, _PH_KA, _PH_CODE, _PH_TOKEN = "〓BU〓", "〓KA〓", "〓CODE〓", "〓TOKEN〓"
_templates: dict[tuple[object, ...], list[tuple[zipfile.ZipInfo, bytes]]] = {}


def _template(masters: Masters, generated_at: datetime) -> list[tuple[zipfile.ZipInfo, bytes]]:
    key = (masters.working_groups, masters.house, masters.round, generated_at)
    if key not in _templates:
        ph = Department(_PH_CODE, _PH_BU, _PH_KA, "", "")
        data = build_form(masters, ph, b"", generated_at)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _templates.clear()
            _templates[key] = [(info, zf.read(info)) for info in zf.infolist()]
    return _templates[key]


def blank_form(masters: Masters, dept: Department, secret: bytes, generated_at: datetime) -> bytes:
    """The blank sheet of `dept`: the same as `build_form`, stamped from a per-run template when possible."""
    if masters.worklists.get(dept.code):
        return build_form(masters, dept, secret, generated_at)
    token = F.make_token(secret, F.FORM_ID, masters.round.round_id, dept.code)
    swaps = [(_PH_BU, dept.bu), (_PH_KA, dept.ka), (_PH_CODE, dept.code), (_PH_TOKEN, token)]
    swaps_xml = [(escape(a).encode(), escape(b).encode()) for a, b in swaps]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, part in _template(masters, generated_at):
            if info.filename in ("xl/sharedStrings.xml", "docProps/core.xml"):
                for old, new in swaps_xml:
                    part = part.replace(old, new)
            zf.writestr(info, part, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


# --- Distributing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    dept: Department
    workbook: Path
    eml: Path | None


_job: tuple[Masters, bytes, datetime, Path, bool] | None = None


def _init_job(masters: Masters, secret: bytes, at: datetime, distribute: Path, eml: bool) -> None:
    """Worker set-up: the masters travel once per worker, not once per department."""
    global _job
    _job = (masters, secret, at, distribute, eml)


def _write_one(dept: Department) -> Generated:
    assert _job is not None
    masters, secret, at, distribute, eml = _job
    data = blank_form(masters, dept, secret, at)
    path = form_path(distribute, dept)
    atomic_write_bytes(path, data)
    eml_path = None
    if eml:
        eml_path = path.with_suffix(".eml")
        atomic_write_bytes(eml_path, draft_mail(masters, dept, path.name, data))
    return Generated(dept, path, eml_path)


def generate_forms(
    masters: Masters,
    secret: bytes,
    distribute: Path,
    codes: Iterable[str] | None = None,
    eml: bool = False,
    jobs: int | None = None,
    now: datetime | None = None,
) -> list[Generated]:
    """Write a blank workbook (and optionally a mail draft) for every active department, or those in `codes`.

    Large runs use one worker process per core; small runs stay in-process.
    """
    at = (now or datetime.now()).replace(microsecond=0)
    depts = list(masters.active_departments)
    if codes is not None:
        wanted = set(codes)
        depts = [d for d in depts if d.code in wanted]
    args = (masters, secret, at, distribute, eml)
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(depts) < 200:
        _init_job(*args)
        return [_write_one(d) for d in depts]
    with processes.pool(jobs, _init_job, args) as pool:
        return list(pool.map(_write_one, depts, chunksize=max(1, len(depts) // (jobs * 8))))


def draft_mail(masters: Masters, dept: Department, filename: str, workbook: bytes) -> bytes:
    """An unsent .eml draft (X-Unsent: 1 makes Outlook open it for editing) with the workbook attached."""
    rnd = masters.round
    msg = EmailMessage()
    msg["From"] = formataddr(("DX推進課", rnd.sender))
    if dept.email:
        msg["To"] = formataddr((f"{dept.name} {dept.promoter}".strip(), dept.email))
    msg["Subject"] = (
        f"【ご依頼】{rnd.year_label} DX推進員 課題抽出シートのご回答について（{jp_date(rnd.deadline)}まで）"
    )
    msg["Date"] = formatdate(localtime=True)
    msg["X-Unsent"] = "1"
    msg.set_content(
        f"{dept.name}\n{dept.promoter} 様\n\n"
        "いつもお世話になっております。DX推進課です。\n"
        f"{rnd.year_label}のDX推進員活動として、添付の「課題抽出シート」へのご回答をお願いします。\n\n"
        f"■ 回答期限：{jp_date(rnd.deadline)}\n"
        "■ 回答方法：添付のファイルに入力し、ファイル名を変えずにこのメールへの返信で送ってください。\n"
        "　・黄色のセルは必須です。設問1が「いいえ」の場合は設問2・3は不要です。\n"
        "　・シートの行は挿入できます。シート名や見出しは変更しないでください。\n\n"
        f"■ 問合せ先：{rnd.contact}\n"
    )
    msg.add_attachment(
        workbook,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=filename,
    )
    return bytes(msg)
