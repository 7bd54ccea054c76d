"""Property: whatever rows a promoter adds the ways the sheet allows, and however the sheet is copied, every
typed Q2 row is read once, in the order it stands on the sheet.

The ways: rows typed into the table, rows inserted inside it (its name grows), rows inserted under its
last row (its name does not: see formread._rows_below), and the sheet copied within the book, the
original then kept, cleared or deleted (see formread._choose). Rows inserted inside the 市役所の家
checklist, blank or marked, leave every ○ with its item (see formread._inserted_rows). A note written
beside the inputs (the protection lifted) is said once for each sheet it stands on, never read. Excel and LibreOffice do each of these
(test_interop shows them in LibreOffice); `simulate.insert_rows` and `promoter.copy_main_sheet` do them here
as Excel does.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from promoter import copy_main_sheet

from dxsheets import forms as F
from dxsheets.domain import Masters
from dxsheets.generate import form_path, generate_forms
from dxsheets.intake import OK, examine
from dxsheets.simulate import fill, insert_rows
from dxsheets.workspace import init_workspace

ORIGINAL = st.sampled_from([None, "keep", "clear", "delete"])  # None: not copied


@dataclass(frozen=True)
class Blank:
    masters: Masters
    secret: bytes
    data: bytes


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Blank:
    """One department's blank sheet, generated once for every example."""
    ws, _ = init_workspace(tmp_path_factory.mktemp("layout") / "ws")
    masters = ws.masters()
    dept = masters.department("0101")
    assert dept is not None
    generate_forms(masters, ws.secret(), ws.distribute, codes=[dept.code])
    return Blank(masters, ws.secret(), form_path(ws.distribute, dept).read_bytes())


def with_note(data: bytes) -> bytes:
    """A note written right of the tables, as a promoter may once the protection (no password) is lifted."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb[F.MAIN_SHEET]["G5"] = "詳細は別途連絡します"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row(n: int) -> list[str | None]:
    return [f"業務{n}", "紙で処理", "電子で処理", None]


@settings(
    max_examples=int(os.environ.get("LAYOUT_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    typed=st.integers(1, F.MIN_Q2_ROWS),
    inside=st.lists(st.tuples(st.integers(1, F.MIN_Q2_ROWS - 1), st.integers(1, 3)), max_size=2),
    under=st.integers(0, 3),
    original=ORIGINAL,
    marked=st.sets(st.integers(1, 12), max_size=4),
    in_house=st.lists(st.tuples(st.integers(1, 12), st.booleans()), max_size=2),
    note=st.booleans(),
)
def test_every_typed_row_is_read_once_in_sheet_order(
    blank: Blank,
    typed: int,
    inside: list[tuple[int, int]],
    under: int,
    original: str | None,
    marked: set[int],
    in_house: list[tuple[int, bool]],
    note: bool,
) -> None:
    answers = {
        F.N_RESPONDENT: "山田 太郎",
        F.N_CONTACT: "内線 2345",
        F.N_ANSWER_DATE: date(2026, 11, 20),
        F.N_Q1: F.Q1_YES,
        F.N_Q2: [row(n) for n in range(typed)],
        F.N_HOUSE: [[F.HOUSE_MARK if n in marked else None] for n in range(1, 13)],
    }
    data = fill(blank.data, answers)
    for at, mark in in_house:  # a row inside the checklist, left blank or marked: no item's
        data = insert_rows(data, F.N_HOUSE, at, [[F.HOUSE_MARK if mark else None]])
    # The table's rows, top to bottom, as the promoter sees them: each insertion goes into this list.
    order: list[str | None] = [f"業務{n}" for n in range(typed)] + [None] * (F.MIN_Q2_ROWS - typed)
    made = typed
    for at, count in inside:
        rows = [row(made + k) for k in range(count)]
        data = insert_rows(data, F.N_Q2, at, rows)
        order[at:at] = [r[0] for r in rows]
        made += count
    if under:
        rows = [row(made + k) for k in range(under)]
        data = insert_rows(data, F.N_Q2, len(order), rows)
        order += [r[0] for r in rows]
    if note:
        data = with_note(data)
    if original is not None:
        data = copy_main_sheet(data, original=original)  # type: ignore[arg-type]

    e = examine(data, blank.masters, blank.secret)

    assert e.fate == OK and e.answers is not None, e.problems
    assert [q.name for q in e.answers.q2] == [name for name in order if name is not None]
    codes = [p.code for p in e.problems]
    assert codes.count("rows-below-table") == (1 if under else 0)
    assert sorted(e.answers.house) == sorted(marked)
    notes = 0 if not note else 1 if original in (None, "delete") else 2  # the copy carries it too
    marks = 1 if any(mark for _, mark in in_house) else 0
    assert codes.count("typed-outside-input") == notes + marks
    assert ("sheet-copy-used" in codes) == (original in ("clear", "delete"))
    assert "sheet-copy-ignored" not in codes
