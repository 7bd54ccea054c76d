"""Reading a returned workbook through the form contract's defined names, never by coordinates.

`read_form` turns a parsed workbook (`xlsxread.RawWorkbook`) into the input cells each name points at, with
their place in the returned file, plus structural problems (a name missing, broken or of the wrong shape).
Judging the values is `checks.py`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from . import forms as F
from .domain import ERROR, WARNING, Problem
from .text import clean, quote
from .xlsxread import Cell, RawSheet, RawWorkbook, cell_name, parse_ref, sheet_label


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


def _block(
    raw: RawWorkbook, name: str, refers: str | None
) -> tuple[list[list[Value]] | None, Problem | None]:
    """The cells `name` refers to (`refers`, its definition; None when the workbook has none), row by row."""
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
            f"入力欄「{label}」の目印（名前 {name}）が壊れています（参照先: {quote(refers, 60)}）。"
            "シートや行・列の削除で消えた可能性があります。配布したシートに入力し直して送ってください。",
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
    """Collect every contract input; problems for names that are missing, broken or misshapen.

    The identity is read through the workbook's names. The inputs are read through the names as the main
    sheet's copies see them too: a sheet copied in Excel or LibreOffice takes along, as names of its own, the
    names that point into it, and a promoter who copied the sheet may have filled in the copy, or deleted
    the original (its names then say #REF!). See `_choose`.
    """
    values = FormValues()
    problems: list[Problem] = []
    for name in F.META_NAMES:
        rows, problem = _block(raw, name, raw.defined_names.get(name))
        if rows is not None:
            values.meta[name] = rows[0][0]
        elif name != F.N_GENERATED and problem is not None:
            problems.append(problem)
    views = [_inputs(raw, None)] + [_inputs(raw, sheet) for sheet in _copies(raw)]
    chosen, notes = _choose(views)
    notes += _written_outside(raw, views) + _added_sheets(raw)
    values.singles, values.house, values.q2, values.q3 = chosen.singles, chosen.house, chosen.q2, chosen.q3
    values.unread = chosen.unread
    return values, problems + chosen.problems + notes


@dataclass
class _View:
    """The inputs as read through the names seen from one scope: the workbook's, or a sheet's own names
    (falling back to the workbook's, as Excel resolves a name used on that sheet)."""

    scope: str | None
    singles: dict[str, Value] = field(default_factory=dict)
    house: list[Value] = field(default_factory=list)
    q2: list[list[Value]] = field(default_factory=list)
    q3: list[list[Value]] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)

    def cells(self) -> list[Value]:
        """Every input a promoter types into (the department's name is filled in by the form)."""
        singles = [v for n, v in self.singles.items() if n != F.N_DEPT_NAME]
        return singles + self.house + [v for block in (self.q2, self.q3) for row in block for v in row]

    def answers(self) -> tuple[object, ...]:
        return tuple(_entered(v.cell) for v in self.cells())

    @property
    def answered(self) -> bool:
        return any(_entered(v.cell) is not None for v in self.cells())

    @property
    def whole(self) -> bool:
        """Every input name found and in shape (warnings, such as rows read under a table, aside)."""
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def sheet(self) -> str:
        """The sheet most of the inputs were read from."""
        found = [v.sheet for v in self.cells()]
        return max(set(found), key=found.count) if found else sheet_label(self.scope or F.MAIN_SHEET)


def _entered(c: Cell | None) -> object:
    """What a promoter put in a cell, to compare: its value, or its formula; None for nothing."""
    if c is None:
        return None
    if c.formula is not None:
        return ("=", c.formula)
    if isinstance(c.value, str) and not c.value.strip():
        return None
    return c.value


# Copies of the main sheet looked at, in workbook order: a promoter makes one or two; a workbook of 400
# sheets that each carry the input names (4.6 s to read them all) has the rest left unread.
MAX_COPIES = 8


def _copies(raw: RawWorkbook) -> list[str]:
    """The sheets (in workbook order) with input names of their own: copies of the main sheet."""
    scopes = {sheet for sheet, name in raw.local_names if name in F.INPUT_NAMES}
    return [sheet for sheet in raw.sheets if sheet in scopes][:MAX_COPIES]


def _inputs(raw: RawWorkbook, scope: str | None) -> _View:
    view = _View(scope)
    refers = {name: _refers(raw, scope, name) for name in F.INPUT_NAMES}
    places = {name: _place(text) for name, text in refers.items()}  # once, for every input looked under
    for name in F.INPUT_NAMES:
        rows, problem = _block(raw, name, refers[name])
        if problem is not None:
            view.problems.append(problem)
        if rows is None:
            if name not in F.SINGLE_NAMES:
                view.unread.add(name)
            continue
        if name == F.N_HOUSE:
            inserted = _inserted_rows(raw, places[name], rows)
            typed = [rows[i] for i in inserted if _entered(rows[i][0].cell) is not None]
            if typed:
                view.problems.append(_inserted_problem(typed))
            rows = [row for i, row in enumerate(rows) if i not in inserted]
        if name in F.NEXT_INPUT:
            below = _rows_below(raw, places, name)
            if below and name in F.TABLES:
                view.problems.append(_below_problem(name, below))
                rows = rows + below
            elif below:
                view.problems.append(_not_read_problem(name, rows, below))
        if name in F.SINGLE_NAMES:
            view.singles[name] = rows[0][0]
        elif name == F.N_HOUSE:
            view.house = [r[0] for r in rows]
        elif name == F.N_Q2:
            view.q2 = rows
        else:
            view.q3 = rows
    return view


def _written_outside(raw: RawWorkbook, views: list[_View]) -> list[Problem]:
    """What was written right of or below the inputs of any sheet a view reads from, said once a sheet,
    whichever view is chosen. Only views whose input names are all intact tell: with one gone, its own
    rows would pass for something outside the others."""
    noted = [sheet for sheet in raw.sheets.values() if sheet.outside_count]
    if not noted:
        return []
    read_from = {v.sheet for view in views if view.whole for v in view.cells()}
    return [_outside_problem(sheet) for sheet in noted if sheet_label(sheet.name) in read_from]


# Sheets of the form (and of a feedback book) that are none of a promoter's doing.
_FORM_SHEETS = frozenset({F.MAIN_SHEET, F.LISTS_SHEET, F.META_SHEET, F.COVER_SHEET})


def _added_sheets(raw: RawWorkbook) -> list[Problem]:
    """What a promoter wrote on sheets they added to the book (no name points at them): not read, said."""
    return [
        _outside_problem(sheet, added=True)
        for sheet in raw.sheets.values()
        if sheet.unnamed and sheet.outside_count and sheet.name not in _FORM_SHEETS
    ]


def _outside_problem(sheet: RawSheet, added: bool = False) -> Problem:
    """Something written to the right of or below all of a sheet's inputs (protection lifted to do it), or
    on a sheet a promoter `added` to the book (looked through only to its second cell, or not at all when
    it is past the reader's limits)."""
    advice = f"回答は{F.MAIN_SHEET}の入力欄に入力し、補足があれば問合せ先へお知らせください。"
    if not sheet.outside:
        return Problem(
            "typed-outside-input",
            WARNING,
            f"追加されたシート「{sheet.name}」は大きすぎるため中身を確認しておらず、回答として読み取っていません。"
            + advice,
            sheet=sheet_label(sheet.name),
        )
    first = sheet.outside[0]
    if added:
        more = " など" if sheet.outside_count > 1 else ""
        where = f"追加されたシート「{sheet.name}」（{cell_name(*first)}{more}）"
    else:
        more = _more(sheet.outside_count)
        where = f"入力欄の外（{sheet_label(sheet.name)}!{cell_name(*first)}{more}）"
    return Problem(
        "typed-outside-input",
        WARNING,
        f"{where}に入力された「{as_shown(sheet.cells.get(first))[:30]}」は、回答として読み取っていません。"
        + advice,
        sheet=sheet_label(sheet.name),
        cell=cell_name(*first),
    )


_Place = tuple[str, int, int, int, int]  # sheet, first row, first column, last row, last column


def _place(refers: str | None) -> _Place | None:
    """Where a name's definition points (sheet, first row, first column, last row, last column), or None
    when it is missing or no plain range."""
    try:
        return parse_ref(refers or "")
    except ValueError:
        return None


def _more(count: int) -> str:
    """ " ほか N セル" after the first of `count` cells quoted in a message (nothing for one)."""
    return f" ほか {count - 1:,} セル" if count > 1 else ""


def _refers(raw: RawWorkbook, scope: str | None, name: str) -> str | None:
    """What `name` refers to as seen from sheet `scope` (its own name, else the workbook's)."""
    local = raw.local_names.get((scope, name)) if scope is not None else None
    return local if local is not None else raw.defined_names.get(name)


def _rows_below(raw: RawWorkbook, places: dict[str, _Place | None], name: str) -> list[list[Value]]:
    """The rows typed right under input `name`, in its columns, up to the last one holding something.

    A promoter who needs more rows than a table has inserts them under its last row (or one under 連絡先
    for a second address): Excel and LibreOffice format them like the input (unlocked) but do not grow
    its name, so without this what is typed there would be dropped without a word. Looked for as far as
    the rows of the next input (`F.NEXT_INPUT`: its title and column titles too; an input whose next one
    cannot be placed is not looked under, as those titles could pass for answers), another input's rows,
    or `F.ROWS_BELOW` rows. `places`: where each input's name points (`_place`).
    """
    place = places[name]
    ws = raw.sheets.get(place[0]) if place is not None else None
    if place is None or ws is None:
        return []
    sheet, _, c1, r2, c2 = place
    last = r2 + F.ROWS_BELOW
    for other, o in places.items():  # rows of another input (names overlapping in a hostile file) are its own
        if other == name or o is None:
            continue
        o_sheet, o_r1, o_c1, o_r2, o_c2 = o
        if o_sheet == sheet and o_r2 > r2 and o_c1 <= c2 and o_c2 >= c1:
            last = min(last, max(o_r1, r2 + 1) - 1)
    neighbour = F.NEXT_INPUT[name]
    if neighbour is not None:
        next_place = places[neighbour]
        if next_place is None or next_place[0] != sheet or next_place[1] <= r2:
            return []
        last = min(last, next_place[1] - F.HEAD_ROWS[neighbour] - 1)
    typed = [
        row
        for (row, col), cell in ws.cells.items()
        if r2 < row <= last and c1 <= col <= c2 and _entered(cell) is not None
    ]
    if not typed:
        return []
    label = sheet_label(sheet)
    get = ws.cells.get
    return [
        [Value(get((r, c)), label, r, c) for c in range(c1, c2 + 1)] for r in range(r2 + 1, max(typed) + 1)
    ]


def _inserted_rows(raw: RawWorkbook, place: _Place | None, rows: list[list[Value]]) -> set[int]:
    """The rows of the 市役所の家 checklist that a promoter inserted inside it (its name grew over them).

    The form numbers each item's row (`F.HOUSE_NO_LEFT` columns left of its answer); an inserted row has
    no number. When the numbered rows are 1, 2, 3... as the form wrote them, the others are the inserted
    ones, and the answers are read from the numbered rows; otherwise (no numbers to be seen, or numbers out
    of order) nothing is taken for inserted and the rows are read in order, as before. `place`: where
    the checklist's name points (`_place`).
    """
    ws = raw.sheets.get(place[0]) if place is not None else None
    if place is None or ws is None or place[2] <= F.HOUSE_NO_LEFT:
        return set()
    c1 = place[2]
    get = ws.cells.get
    numbers = [_item_number(get((row[0].row, c1 - F.HOUSE_NO_LEFT))) for row in rows]
    numbered = [n for n in numbers if n is not None]
    if not numbered or len(numbered) == len(numbers) or numbered != list(range(1, len(numbered) + 1)):
        return set()
    return {i for i, n in enumerate(numbers) if n is None}


def _item_number(c: Cell | None) -> int | None:
    """The number in a checklist row's No. cell, or None for an empty (or any other) cell."""
    if c is None:
        return None
    value = c.value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    text = value.strip() if isinstance(value, str) else ""
    # (a checklist has a dozen items: digits past 9 are no item's number, and past 4,300 int() refuses them)
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def _inserted_problem(typed: list[list[Value]]) -> Problem:
    """A mark typed in a row inserted inside the 市役所の家 checklist: it belongs to no item."""
    first = typed[0][0]
    label = F.LABELS[F.N_HOUSE]
    return Problem(
        "typed-outside-input",
        WARNING,
        f"{label}の表の中に挿入された行（{first.sheet}!{first.ref}{_more(len(typed))}）に入力された"
        f"「{as_shown(first.cell)[:30]}」は、どの項目の回答でもないため読み取っていません。"
        f"{label}は、番号（No）のある行の「該当（○）」欄で選んでください。",
        sheet=first.sheet,
        cell=first.ref,
        field=F.N_HOUSE,
    )


def _below_problem(name: str, rows: list[list[Value]]) -> Problem:
    first, last = rows[0][0], rows[-1][-1]
    label = F.LABELS[name]
    return Problem(
        "rows-below-table",
        WARNING,
        f"{label}の表の下（{first.sheet}!{first.ref}:{last.ref}）に入力された行も、{label}の回答として"
        f"読み取りました。{label}の行を増やすときは、表の最後の行より上に行を挿入してください。",
        sheet=first.sheet,
        cell=f"{first.ref}:{last.ref}",
        field=name,
    )


def as_shown(c: Cell | None) -> str:
    """A cell's value as a promoter sees it: its text, or a number as Excel shows it; a formula without a
    value, as typed."""
    if c is None:
        return ""
    if c.value is None and c.formula is not None:
        return clean("=" + c.formula)
    if isinstance(c.value, float):
        return f"{c.value:.15g}"
    return clean(str(c.value)) if c.value is not None else ""


def _not_read_problem(name: str, rows: list[list[Value]], below: list[list[Value]]) -> Problem:
    """Text typed in rows inserted under an input that holds one answer (or one per item): said, not read."""
    typed = [v for row in below for v in row if _entered(v.cell) is not None]
    first = typed[0]
    label = F.LABELS[name]
    shown = as_shown(first.cell)[:30]
    more = _more(len(typed))
    inputs = f"{rows[0][0].sheet}!{rows[0][0].ref}" + (f":{rows[-1][-1].ref}" if len(rows) > 1 else "")
    return Problem(
        "typed-outside-input",
        WARNING,
        f"{label}の下に挿入された行（{first.sheet}!{first.ref}{more}）に入力された「{shown}」は、"
        f"回答として読み取っていません。{label}は入力欄（{inputs}）に入力してください。",
        sheet=first.sheet,
        cell=first.ref,
        field=name,
    )


def _choose(views: list[_View]) -> tuple[_View, list[Problem]]:
    """The view to read the answers from, and warnings about the copies.

    The workbook's names are read unless they find no answers or are broken while one copy, and only one,
    does better (answered first, then intact): the promoter filled in the copy, or deleted the original.
    A copy holding other answers than those read is named in a warning, so nobody believes it was read.
    """
    main = views[0]
    if len(views) == 1:
        return main, []  # no copy: nothing to choose

    def rank(v: _View) -> tuple[bool, bool]:
        return v.answered, v.whole

    best = max(map(rank, views))
    chosen = main
    if rank(main) < best:
        top = [v for v in views[1:] if rank(v) == best]
        if len(top) == 1:
            chosen = top[0]
    notes = []
    if chosen is not main:
        notes.append(
            Problem(
                "sheet-copy-used",
                WARNING,
                f"課題抽出シートがコピーされていたため、回答はコピーしたシート「{chosen.sheet}」から読み取りました。"
                "読み取った回答が正しいか確認してください。",
                sheet=chosen.sheet,
            )
        )
    read = chosen.answers()
    for v in views:
        if v is not chosen and v.answered and v.answers() != read and v.sheet != chosen.sheet:
            notes.append(
                Problem(
                    "sheet-copy-ignored",
                    WARNING,
                    f"シート「{v.sheet}」にも回答が入力されていますが、読み取ったのはシート「{chosen.sheet}」の回答です。"
                    f"「{v.sheet}」の回答を使う場合は、その内容を「{chosen.sheet}」に入力し直して送ってください。",
                    sheet=v.sheet,
                )
            )
    return chosen, notes
