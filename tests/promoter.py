"""Fill a generated 課題抽出シート the way a promoter would: through its defined names.

Uses dxsheets.simulate.fill (openpyxl, as another tool would), so the tests exercise real files written
by one library and read by our own reader.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import openpyxl
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.defined_name import DefinedName

from dxsheets import forms as F
from dxsheets.domain import Department
from dxsheets.generate import form_path
from dxsheets.simulate import fill as fill_through_names


@dataclass
class Fill:
    """What a promoter types. `q2` rows are (業務名, Before, After, 関連WG); `q3` rows (業務名, gap)."""

    respondent: Any = "山田 太郎"
    contact: Any = "内線 2345"
    answer_date: Any = date(2026, 11, 20)
    q1: Any = "はい"
    house: dict[int, Any] = field(default_factory=lambda: {1: "○", 3: "○"})
    q2: list[tuple[Any, ...]] = field(
        default_factory=lambda: [
            (
                "住民票の写し等の交付",
                "窓口で申請書に記入し、職員が入力して交付",
                "オンライン申請しコンビニで受け取る",
                "行政手続オンライン化WG",
            ),
            ("会議資料の作成", "紙に印刷して配布", "タブレットで共有し印刷しない", "財務・文書システムWG"),
        ]
    )
    q3: list[tuple[Any, ...]] = field(
        default_factory=lambda: [("会議資料の作成", "紙の決裁文化が残り、電子化に踏み切れない")]
    )
    extra: dict[str, Any] = field(
        default_factory=dict
    )  # name -> value for any other defined name (e.g. tampering)


def fill_workbook(src: bytes | Path, fill: Fill) -> bytes:
    """Return the bytes of `src` filled with `fill` through the defined names (dxsheets.simulate.fill)."""
    data = src.read_bytes() if isinstance(src, Path) else src
    house_rows = max(fill.house, default=0)
    values: dict[str, Any] = {
        F.N_RESPONDENT: fill.respondent,
        F.N_CONTACT: fill.contact,
        F.N_ANSWER_DATE: fill.answer_date,
        F.N_Q1: fill.q1,
        F.N_HOUSE: [[fill.house.get(n)] for n in range(1, house_rows + 1)],
        F.N_Q2: [list(row) for row in fill.q2],
        F.N_Q3: [list(row) for row in fill.q3],
        **fill.extra,
    }
    return fill_through_names(data, values)


def returned(distribute: Path, dept: Department, fill: Fill | None = None) -> bytes:
    """The generated sheet of `dept`, filled (by default with a good answer)."""
    return fill_workbook(form_path(distribute, dept), fill or Fill())


def copy_main_sheet(
    data: bytes, original: Literal["keep", "clear", "delete"] = "keep", copy_name: str = "課題抽出シート (2)"
) -> bytes:
    """Copy the main sheet within the book as Excel's "Move or Copy" does, then keep, clear or delete the
    original.

    Excel (and LibreOffice, see test_interop) gives the copy, as names of its own, the workbook's names that
    point into the copied sheet; deleting the original turns those workbook names into #REF!$C$6 and the
    like (LibreOffice: #REF!). "clear" empties the original's inputs, and the rows under its tables: the
    promoter answered in the copy and left the original blank.
    """
    wb = openpyxl.load_workbook(io.BytesIO(data))
    main = wb[F.MAIN_SHEET]
    copy = wb.copy_worksheet(main)
    copy.title = copy_name
    for name, defined in list(wb.defined_names.items()):
        ((sheet, ref),) = list(defined.destinations)
        if sheet != F.MAIN_SHEET:
            continue
        copy.defined_names[name] = DefinedName(name, attr_text=f"'{copy_name}'!{ref}")
        if original == "delete":
            defined.attr_text = f"#REF!{ref}"  # as Excel writes it (LibreOffice: "#REF!")
        elif original == "clear" and name != F.N_DEPT_NAME:
            for row in main[ref.replace("$", "")] if ":" in ref else ((main[ref.replace("$", "")],),):
                for cell in row:
                    cell.value = None
    if original == "clear":  # and the rows typed under the tables (see formread._rows_below)
        _, _, _, q2_last = range_boundaries(name_area(wb, F.N_Q2))
        _, q3_first, _, q3_last = range_boundaries(name_area(wb, F.N_Q3))
        for top, bottom in ((q2_last + 1, q3_first - F.HEAD_ROWS[F.N_Q3] - 1), (q3_last + 1, main.max_row)):
            for row in main.iter_rows(min_row=top, max_row=bottom, min_col=2, max_col=5):
                for cell in row:
                    if type(cell).__name__ != "MergedCell":
                        cell.value = None
    if original == "delete":
        wb.remove(main)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def name_area(wb: Any, name: str) -> str:
    """The cells a workbook-level name refers to, as "B30:E49"."""
    ((_, ref),) = list(wb.defined_names[name].destinations)
    return str(ref).replace("$", "")


def drop(inbox: Path, name: str, data: bytes, age_seconds: float = 3600) -> Path:
    """Put a returned file into the inbox, aged so it is not taken for a file still being copied."""
    import os
    import time

    path = inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    t = time.time() - age_seconds
    os.utime(path, (t, t))
    return path
