"""Feedback for a department whose return has errors: a fresh sheet with their answers and the bad cells marked.

It is generated anew (dropdowns and protection intact, never a re-save of their file), so once fixed it is
a valid return in its own right.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from . import forms as F
from .checks import STAFF_ONLY
from .domain import ERROR, Answers, Department, Masters, Problem
from .fsio import atomic_write_bytes, safe_filename
from .generate import FONT, build_form, jp_date
from .text import excel_text

SEVERITY_JA = {ERROR: "要修正", "warning": "確認", "info": "情報"}


def feedback_path(feedback: Path, dept: Department) -> Path:
    return feedback / f"{safe_filename(dept.code, 20)}_{safe_filename(dept.ka)}_要修正.xlsx"


def write_feedback(
    feedback: Path,
    masters: Masters,
    dept: Department,
    secret: bytes,
    answers: Answers,
    problems: list[Problem],
    source: str,
    today: date | None = None,
) -> Path:
    """Write `outbox/feedback/<code>_<課>_要修正.xlsx` and return its path. `today` (local) decides whether
    the cover asks for the file back by the deadline or, once it has passed, as soon as possible."""
    shown = [p for p in problems if p.severity in (ERROR, "warning") and p.code not in STAFF_ONLY]
    deadline = masters.round.deadline
    if (today or date.today()) <= deadline:
        when = f"{jp_date(deadline)}までにこのファイルを送り返してください。"
    else:
        when = f"回答期限（{jp_date(deadline)}）を過ぎていますので、できるだけ早くこのファイルを送り返してください。"

    def cover(wb: Any, fm: Any) -> None:
        ws = wb.add_worksheet(F.COVER_SHEET)
        title = wb.add_format({"font_name": FONT, "bold": True, "font_size": 14, "font_color": "#C00000"})
        text = wb.add_format({"font_name": FONT, "text_wrap": True, "valign": "top", "border": 1})
        head = wb.add_format(
            {
                "font_name": FONT,
                "bold": True,
                "bg_color": "#1F4E78",
                "font_color": "#FFFFFF",
                "border": 1,
                "align": "center",
            }
        )
        err = wb.add_format(
            {
                "font_name": FONT,
                "bold": True,
                "font_color": "#C00000",
                "border": 1,
                "align": "center",
                "valign": "top",
            }
        )
        warn = wb.add_format(
            {
                "font_name": FONT,
                "bold": True,
                "font_color": "#9C5700",
                "border": 1,
                "align": "center",
                "valign": "top",
            }
        )
        note = wb.add_format({"font_name": FONT, "text_wrap": True, "valign": "top"})
        ws.set_column(0, 0, 5)
        ws.set_column(1, 1, 10)
        ws.set_column(2, 2, 26)
        ws.set_column(3, 3, 90)
        ws.write_string(
            0, 0, f"【修正のお願い】{dept.name}　課題抽出シート（{masters.round.year_label}）", title
        )
        ws.merge_range(
            1,
            0,
            1,
            3,
            f"お送りいただいたファイル（{source}）に、直していただきたい箇所がありました。"
            f"次のシート「課題抽出シート」にご回答を写してあります。赤い枠のセルを直して、{when}"
            f"（問合せ先：{masters.round.contact}）",
            note,
        )
        ws.set_row(1, 48)
        for c, h in enumerate(("No", "区分", "場所（お送りいただいたファイル）", "内容")):
            ws.write_string(3, c, h, head)
        for i, p in enumerate(shown, start=1):
            r = 3 + i
            ws.write_number(r, 0, i, text)
            ws.write_string(
                r, 1, SEVERITY_JA.get(p.severity, p.severity), err if p.severity == ERROR else warn
            )
            ws.write_string(r, 2, _place(p), text)
            ws.write_string(r, 3, excel_text(p.message)[0], text)
        ws.freeze_panes(4, 0)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.protect("", {"format_rows": True, "format_columns": True})

    data = build_form(
        masters,
        dept,
        secret,
        datetime.now().replace(microsecond=0),
        answers=answers,
        problems=shown,
        cover=cover,
    )
    return atomic_write_bytes(feedback_path(feedback, dept), data, aside_if_open=True)


def _place(p: Problem) -> str:
    """Where a problem is, as the feedback book lists it: a cell, a whole sheet, or the whole file."""
    if p.cell:
        return f"{p.sheet}!{p.cell}"
    return f"シート「{p.sheet}」" if p.sheet else "ファイル全体"
