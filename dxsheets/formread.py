"""Reading a returned workbook through the form contract's defined names, never by coordinates.

`read_form` turns a parsed workbook (`xlsxread.RawWorkbook`) into the input cells each name points at, with
their place in the returned file, plus structural problems (a name missing, broken or of the wrong shape).
Judging the values is `checks.py`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from . import forms as F
from .domain import ERROR, Problem
from .xlsxread import Cell, RawWorkbook, cell_name, parse_ref, sheet_label


class Value(NamedTuple):
    """One input cell as found: what it holds and where it is in the returned file (1-based row, column).

    A named tuple rather than a frozen dataclass: a form has ~120 of them and each file makes them anew; a
    frozen dataclass takes ~3x as long to build (it sets every field through `object.__setattr__`).
    """

    cell: Cell | None
    sheet: str
    row: int
    col: int

    @property
    def ref(self) -> str:
        """The cell's address, e.g. "C7" (worked out only when a message needs it)."""
        return cell_name(self.row, self.col)


@dataclass
class FormValues:
    meta: dict[str, Value] = field(default_factory=dict)
    singles: dict[str, Value] = field(default_factory=dict)
    house: list[Value] = field(default_factory=list)
    q2: list[list[Value]] = field(default_factory=list)
    q3: list[list[Value]] = field(default_factory=list)
    # Block names (house, Q2, Q3) that could not be read (missing, broken, misshapen): their list is empty
    # for want of a reading, not of answers (a stretched DX_Q2 is not "Q1=はい with no Q2 row").
    unread: set[str] = field(default_factory=set)


def _block(raw: RawWorkbook, name: str) -> tuple[list[list[Value]] | None, Problem | None]:
    refers = raw.defined_names.get(name)
    label = F.LABELS.get(name, name)
    if refers is None:
        return None, Problem(
            "name-missing",
            ERROR,
            f"入力欄「{label}」の目印（名前 {name}）が見つかりません。シートの作り直しや名前の削除をされた可能性があります。"
            "配布したシートに入力し直して送ってください。",
            field=name,
        )
    try:
        sheet, r1, c1, r2, c2 = parse_ref(refers)
    except ValueError:
        return None, Problem(
            "name-broken",
            ERROR,
            f"入力欄「{label}」の目印（名前 {name}）が壊れています（参照先: {refers[:60]}）。"
            "行や列の削除で消えた可能性があります。配布したシートに入力し直して送ってください。",
            field=name,
        )
    ws = raw.sheets.get(sheet)
    sheet = sheet_label(sheet)  # from here on it only names a place in messages
    if ws is None:
        return None, Problem(
            "name-broken",
            ERROR,
            f"入力欄「{label}」のあるシート「{sheet}」が見つかりません。配布したシートに入力し直して送ってください。",
            field=name,
        )
    height, width = r2 - r1 + 1, c2 - c1 + 1
    want_rows, want_cols = F.SHAPES[name]
    if (want_rows is not None and height != want_rows) or width != want_cols:
        return None, _shape_problem(
            name,
            sheet,
            (r1, c1, r2, c2),
            f"入力欄「{label}」の形が変わっています（{height}行×{width}列）。"
            "列の挿入・削除はせず、配布したシートに入力し直して送ってください。",
        )
    if height > F.MAX_BLOCK_ROWS:
        # Checked before any cell is looked at: a name stretched to the sheet's last row would otherwise
        # cost seconds and hundreds of MB of empty rows.
        return None, _shape_problem(
            name,
            sheet,
            (r1, c1, r2, c2),
            f"入力欄「{label}」が{height:,}行に広がっています（{F.MAX_BLOCK_ROWS:,}行まで）。"
            "行を大量に挿入したり範囲を広げたりせず、配布したシートに入力し直して送ってください。",
        )
    get = ws.cells.get
    rows = [[Value(get((r, c)), sheet, r, c) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]
    return rows, None


def _shape_problem(name: str, sheet: str, area: tuple[int, int, int, int], message: str) -> Problem:
    r1, c1, r2, c2 = area
    return Problem(
        "name-shape", ERROR, message, sheet=sheet, cell=f"{cell_name(r1, c1)}:{cell_name(r2, c2)}", field=name
    )


def read_form(raw: RawWorkbook) -> tuple[FormValues, list[Problem]]:
    """Collect every contract input; problems for names that are missing, broken or misshapen."""
    values = FormValues()
    problems: list[Problem] = []
    for name in F.META_NAMES:
        rows, problem = _block(raw, name)
        if rows is not None:
            values.meta[name] = rows[0][0]
        elif name != F.N_GENERATED and problem is not None:
            problems.append(problem)
    for name in F.SINGLE_NAMES:
        rows, problem = _block(raw, name)
        if rows is not None:
            values.singles[name] = rows[0][0]
        elif problem is not None:
            problems.append(problem)
    for name in (F.N_HOUSE, F.N_Q2, F.N_Q3):
        rows, problem = _block(raw, name)
        if problem is not None:
            problems.append(problem)
            values.unread.add(name)
            continue
        assert rows is not None
        if name == F.N_HOUSE:
            values.house = [r[0] for r in rows]
        elif name == F.N_Q2:
            values.q2 = rows
        else:
            values.q3 = rows
    return values, problems
