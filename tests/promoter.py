"""Fill a generated 課題抽出シート the way a promoter would: through its defined names.

Uses openpyxl (as another tool would) so the tests exercise real files written by one library and read by
our own reader.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import range_boundaries

from dxsheets import forms as F
from dxsheets.domain import Department
from dxsheets.generate import form_path


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


def _dest(wb: openpyxl.Workbook, name: str) -> tuple[Any, int, int, int, int]:
    dn = wb.defined_names[name]
    sheet, ref = next(iter(dn.destinations))
    min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
    return wb[sheet], min_row, min_col, max_row, max_col


def _set(wb: openpyxl.Workbook, name: str, value: Any, row: int = 0, col: int = 0) -> None:
    ws, r1, c1, r2, c2 = _dest(wb, name)
    if r1 + row > r2 or c1 + col > c2:
        raise IndexError(f"{name} has no cell at ({row}, {col})")
    cell = ws.cell(r1 + row, c1 + col)
    cell.value = value
    if isinstance(value, date | datetime):
        cell.number_format = "yyyy/mm/dd"


def fill_workbook(src: bytes | Path, fill: Fill) -> bytes:
    """Return the bytes of `src` filled with `fill` through the defined names."""
    data = src.read_bytes() if isinstance(src, Path) else src
    wb = openpyxl.load_workbook(io.BytesIO(data))
    _set(wb, F.N_RESPONDENT, fill.respondent)
    _set(wb, F.N_CONTACT, fill.contact)
    _set(wb, F.N_ANSWER_DATE, fill.answer_date)
    _set(wb, F.N_Q1, fill.q1)
    for number, mark in fill.house.items():
        _set(wb, F.N_HOUSE, mark, number - 1)
    for i, row in enumerate(fill.q2):
        for c, v in enumerate(row):
            _set(wb, F.N_Q2, v, i, c)
    for i, row in enumerate(fill.q3):
        for c, v in enumerate(row):
            _set(wb, F.N_Q3, v, i, c)
    for name, value in fill.extra.items():
        _set(wb, name, value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def returned(distribute: Path, dept: Department, fill: Fill | None = None) -> bytes:
    """The generated sheet of `dept`, filled (by default with a good answer)."""
    return fill_workbook(form_path(distribute, dept), fill or Fill())


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
