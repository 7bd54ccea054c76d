"""Masters the DX office edits in Excel: departments, WGs, 市役所の家, work lists and round settings.

Each master is `templates/<name>.xlsx` or `templates/<name>.csv` (UTF-8 with or without BOM, or cp932 as
Japanese Excel saves it). A broken master stops with one message naming file, row and column.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from . import defaults
from .domain import Department, HouseItem, Masters, RoundSettings, WorkingGroup
from .errors import MasterError
from .fsio import atomic_write_bytes
from .xlsxread import WorkbookReadError, excel_serial_to_date, read_workbook


@dataclass(frozen=True)
class MasterSpec:
    name: str  # file base name in templates/
    sheet: str  # sheet title when we write it
    columns: tuple[str, ...]
    required: tuple[str, ...]
    optional: bool = False


DEPARTMENTS = MasterSpec(
    "departments",
    "部署一覧",
    ("部署コード", "部", "課", "DX推進員", "メールアドレス", "有効"),
    ("部署コード", "部", "課"),
)
WORKING_GROUPS = MasterSpec(
    "working_groups", "WG一覧", ("番号", "WG名", "目指す未来"), ("番号", "WG名", "目指す未来")
)
HOUSE = MasterSpec("house", "市役所の家", ("番号", "項目", "関連WG番号"), ("番号", "項目"))
WORKLISTS = MasterSpec(
    "worklists", "業務一覧", ("部署コード", "業務名"), ("部署コード", "業務名"), optional=True
)
ROUND = MasterSpec("round", "回次設定", ("項目", "値"), ("項目", "値"))
SPECS = (DEPARTMENTS, WORKING_GROUPS, HOUSE, WORKLISTS, ROUND)

_ROUND_KEYS = {
    "回次ID": "round_id",
    "年度": "year_label",
    "開始日": "start",
    "回答期限": "deadline",
    "問合せ先": "contact",
    "差出人": "sender",
}
_TRUE = {"○", "〇", "はい", "有効", "1", "TRUE", "true", "True", "yes", "Y", "y"}
_FALSE = {"×", "✕", "いいえ", "無効", "0", "FALSE", "false", "False", "no", "N", "n", ""}


@dataclass(frozen=True)
class Row:
    """One data row of a master, keyed by normalised column title, with its 1-based row number."""

    number: int
    values: dict[str, Any]
    date1904: bool = False  # the workbook counts date serials from 1904 (old Mac Excel)


def _norm(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    return unicodedata.normalize("NFC", str(value)).strip()


def _key(value: Any) -> str:
    """Codes, numbers and flags: NFKC so full-width digits typed in Japanese input mode still match."""
    return unicodedata.normalize("NFKC", _norm(value))


def master_path(templates: Path, spec: MasterSpec) -> Path | None:
    """The file holding a master, or None when an optional master is absent."""
    found = [p for p in (templates / f"{spec.name}.xlsx", templates / f"{spec.name}.csv") if p.exists()]
    if len(found) == 2:
        raise MasterError(
            str(found[1]),
            f"{found[0].name} と {found[1].name} の両方があります。使う方だけを残してください。",
        )
    if not found:
        if spec.optional:
            return None
        raise MasterError(
            str(templates / f"{spec.name}.xlsx"),
            "マスタがありません。`dxsheets init` で既定のマスタを作成してください。",
        )
    return found[0]


def _read_table(path: Path) -> tuple[list[list[Any]], bool]:
    """The first sheet's values as rows, and whether its date serials count from 1904."""
    if path.suffix.lower() == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp932")
            except UnicodeDecodeError:
                raise MasterError(
                    str(path), "文字コードを読めません。UTF-8 か Shift_JIS(cp932) の CSV で保存してください。"
                ) from None
        return [list(r) for r in csv.reader(io.StringIO(text))], False
    # Masters are our own office's files, but they go through the same guarded reader as returns: it is
    # also ~20x faster than openpyxl, which every command would otherwise pay on start.
    try:
        book = read_workbook(path.read_bytes())
    except OSError as exc:
        raise MasterError(
            str(path), f"ファイルを読めません（{exc.strerror or type(exc).__name__}）。"
        ) from None
    except WorkbookReadError as exc:
        raise MasterError(str(path), f"Excel ブックとして開けません（{exc.code}）。") from None
    sheet = next(iter(book.sheets.values()))
    if not sheet.cells:
        return [], book.date1904
    height = max(r for r, _ in sheet.cells)
    width = max(c for _, c in sheet.cells)
    table: list[list[Any]] = [[None] * width for _ in range(height)]
    for (r, c), cell in sheet.cells.items():
        table[r - 1][c - 1] = cell.value
    return table, book.date1904


def read_rows(path: Path, spec: MasterSpec) -> list[Row]:
    """Read a master's data rows; the header row must carry every required column title."""
    table, date1904 = _read_table(path)
    while table and all(_norm(v) == "" for v in table[0]):
        table.pop(0)
    if not table:
        raise MasterError(
            str(path), f"見出し行がありません。1行目に {'・'.join(spec.columns)} を入れてください。"
        )
    header = [_norm(v) for v in table[0]]
    for col in spec.required:
        if col not in header:
            raise MasterError(
                str(path),
                f"必須の列「{col}」がありません（見出し行: {'・'.join(h for h in header if h)}）。",
                1,
                col,
            )
    index = {h: i for i, h in enumerate(header) if h}
    rows = []
    for n, raw in enumerate(table[1:], start=2):
        if all(_norm(v) == "" for v in raw):
            continue
        values = {h: (raw[i] if i < len(raw) else None) for h, i in index.items()}
        for col in spec.required:
            if _norm(values.get(col)) == "":
                raise MasterError(str(path), "空欄です。値を入れるか、行ごと削除してください。", n, col)
        rows.append(Row(n, values, date1904))
    return rows


def _parse_date(value: Any, path: Path, row: int, column: str, date1904: bool = False) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and 1 <= value < 2_958_466:  # a date cell: Excel's serial day number
        try:
            return excel_serial_to_date(value, date1904)
        except ValueError:
            pass  # serial 60, Excel's 1900-02-29: told below like any unreadable date
    text = _key(value)
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise MasterError(
        str(path), f"日付として読めません: 「{text}」。2026/12/18 の形で入れてください。", row, column
    )


def _load_departments(path: Path) -> tuple[Department, ...]:
    seen: dict[str, int] = {}
    out = []
    for r in read_rows(path, DEPARTMENTS):
        code = _key(r.values["部署コード"])
        if code in seen:
            raise MasterError(
                str(path),
                f"部署コード「{code}」が重複しています（{seen[code]}行目と同じ）。",
                r.number,
                "部署コード",
            )
        seen[code] = r.number
        flag = _key(r.values.get("有効", "○")) if "有効" in r.values else "○"
        if flag not in _TRUE and flag not in _FALSE:
            raise MasterError(
                str(path),
                f"「{flag}」は有効/無効として読めません。○ か × を入れてください。",
                r.number,
                "有効",
            )
        out.append(
            Department(
                code=code,
                bu=_norm(r.values["部"]),
                ka=_norm(r.values["課"]),
                promoter=_norm(r.values.get("DX推進員")),
                email=_norm(r.values.get("メールアドレス")),
                active=flag in _TRUE or ("有効" not in r.values),
            )
        )
    if not out:
        raise MasterError(str(path), "部署が1件もありません。")
    return tuple(out)


def _int(value: Any, path: Path, row: int, column: str) -> int:
    text = _key(value)
    if not text.isdigit():
        raise MasterError(
            str(path), f"「{text}」は番号として読めません。1 以上の整数を入れてください。", row, column
        )
    return int(text)


def _load_wgs(path: Path) -> tuple[WorkingGroup, ...]:
    out: list[WorkingGroup] = []
    seen: dict[int, int] = {}
    names: dict[str, int] = {}
    for r in read_rows(path, WORKING_GROUPS):
        number = _int(r.values["番号"], path, r.number, "番号")
        name = _norm(r.values["WG名"])
        if number in seen:
            raise MasterError(
                str(path), f"WG番号 {number} が重複しています（{seen[number]}行目と同じ）。", r.number, "番号"
            )
        if name in names:
            raise MasterError(
                str(path), f"WG名「{name}」が重複しています（{names[name]}行目と同じ）。", r.number, "WG名"
            )
        seen[number] = names[name] = r.number
        out.append(WorkingGroup(number, name, _norm(r.values["目指す未来"])))
    if not out:
        raise MasterError(str(path), "WGが1件もありません。")
    return tuple(sorted(out, key=lambda w: w.number))


def _load_house(path: Path, wgs: Sequence[WorkingGroup]) -> tuple[HouseItem, ...]:
    numbers = {w.number for w in wgs}
    out: list[HouseItem] = []
    seen: dict[int, int] = {}
    for r in read_rows(path, HOUSE):
        number = _int(r.values["番号"], path, r.number, "番号")
        if number in seen:
            raise MasterError(
                str(path), f"番号 {number} が重複しています（{seen[number]}行目と同じ）。", r.number, "番号"
            )
        seen[number] = r.number
        wg_text = _key(r.values.get("関連WG番号"))
        wg: int | None = None
        if wg_text:
            wg = _int(wg_text, path, r.number, "関連WG番号")
            if wg not in numbers:
                raise MasterError(
                    str(path),
                    f"WG番号 {wg} は WG一覧（working_groups）にありません。",
                    r.number,
                    "関連WG番号",
                )
        out.append(HouseItem(number, _norm(r.values["項目"]), wg))
    if not out:
        raise MasterError(str(path), "市役所の家の項目が1件もありません。")
    return tuple(sorted(out, key=lambda h: h.number))


def _load_worklists(path: Path | None, departments: Sequence[Department]) -> dict[str, tuple[str, ...]]:
    if path is None:
        return {}
    codes = {d.code for d in departments}
    lists: dict[str, list[str]] = {}
    for r in read_rows(path, WORKLISTS):
        code = _key(r.values["部署コード"])
        if code not in codes:
            raise MasterError(
                str(path),
                f"部署コード「{code}」は部署一覧（departments）にありません。",
                r.number,
                "部署コード",
            )
        name = _norm(r.values["業務名"])
        if name not in lists.setdefault(code, []):
            lists[code].append(name)
    return {k: tuple(v) for k, v in lists.items()}


def _load_round(path: Path) -> RoundSettings:
    found: dict[str, tuple[int, Any, bool]] = {}
    for r in read_rows(path, ROUND):
        key = _key(r.values["項目"])
        if key not in _ROUND_KEYS:
            raise MasterError(
                str(path),
                f"項目「{key}」は使えません。使える項目: {'・'.join(_ROUND_KEYS)}。",
                r.number,
                "項目",
            )
        found[key] = (r.number, r.values["値"], r.date1904)
    missing = [k for k in _ROUND_KEYS if k not in found]
    if missing:
        raise MasterError(str(path), f"項目「{'・'.join(missing)}」の行がありません。", None, "項目")
    start = _parse_date(found["開始日"][1], path, found["開始日"][0], "値", found["開始日"][2])
    deadline = _parse_date(found["回答期限"][1], path, found["回答期限"][0], "値", found["回答期限"][2])
    if deadline < start:
        raise MasterError(str(path), "回答期限が開始日より前です。", found["回答期限"][0], "値")
    return RoundSettings(
        round_id=_norm(found["回次ID"][1]),
        year_label=_norm(found["年度"][1]),
        start=start,
        deadline=deadline,
        contact=_norm(found["問合せ先"][1]),
        sender=_norm(found["差出人"][1]),
    )


def load_masters(templates: Path) -> Masters:
    """Read and cross-check every master in `templates/`.

    Raises:
        MasterError: naming the file, row and column of the first problem found.
    """
    departments = _load_departments(_required(templates, DEPARTMENTS))
    wgs = _load_wgs(_required(templates, WORKING_GROUPS))
    house = _load_house(_required(templates, HOUSE), wgs)
    worklists = _load_worklists(master_path(templates, WORKLISTS), departments)
    round_ = _load_round(_required(templates, ROUND))
    return Masters(departments, wgs, house, worklists, round_)


def _required(templates: Path, spec: MasterSpec) -> Path:
    path = master_path(templates, spec)
    assert path is not None  # only optional masters may be absent
    return path


def default_tables() -> dict[MasterSpec, list[list[Any]]]:
    """The default masters as tables (header first), as `init` writes them."""
    r = defaults.ROUND
    return {
        DEPARTMENTS: [list(DEPARTMENTS.columns)]
        + [[d.code, d.bu, d.ka, d.promoter, d.email, "○" if d.active else "×"] for d in defaults.DEPARTMENTS],
        WORKING_GROUPS: [list(WORKING_GROUPS.columns)]
        + [[w.number, w.name, w.vision] for w in defaults.WORKING_GROUPS],
        HOUSE: [list(HOUSE.columns)] + [[h.number, h.text, h.wg_number] for h in defaults.HOUSE],
        WORKLISTS: [list(WORKLISTS.columns)]
        + [[code, name] for code, names in defaults.WORKLISTS.items() for name in names],
        ROUND: [
            list(ROUND.columns),
            ["回次ID", r.round_id],
            ["年度", r.year_label],
            ["開始日", r.start],
            ["回答期限", r.deadline],
            ["問合せ先", r.contact],
            ["差出人", r.sender],
        ],
    }


def write_master_xlsx(path: Path, spec: MasterSpec, table: list[list[Any]]) -> None:
    """Write one master as an Excel table the DX office can filter and edit (codes kept as text)."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    ws = wb.add_worksheet(spec.sheet)
    text = wb.add_format({"num_format": "@", "font_name": "游ゴシック"})
    datefmt = wb.add_format({"num_format": "yyyy/mm/dd", "font_name": "游ゴシック", "align": "left"})
    header, body = table[0], table[1:]
    for c, title in enumerate(header):
        width = max(
            [len(str(title)) * 2 + 4] + [min(60, len(str(row[c])) * 2 + 2) for row in body if c < len(row)]
        )
        ws.set_column(c, c, width, text)
    for r, row in enumerate(body, start=1):
        for c, v in enumerate(row):
            if isinstance(v, date):
                ws.write_datetime(r, c, datetime(v.year, v.month, v.day), datefmt)
            elif isinstance(v, int | float):
                ws.write_number(r, c, v)
            elif v is None:
                ws.write_blank(r, c, None, text)
            else:
                ws.write_string(r, c, str(v), text)
    ws.add_table(
        0,
        0,
        max(1, len(body)),
        len(header) - 1,
        {
            "columns": [{"header": h} for h in header],
            "style": "Table Style Medium 2",
            "name": f"T_{spec.name}",
        },
    )
    ws.freeze_panes(1, 0)
    wb.close()
    atomic_write_bytes(path, buf.getvalue())


def write_default_masters(templates: Path, overwrite: bool = False) -> list[Path]:
    """Write every default master that is not already there; return the paths written."""
    written = []
    for spec, table in default_tables().items():
        path = templates / f"{spec.name}.xlsx"
        if not overwrite and (path.exists() or (templates / f"{spec.name}.csv").exists()):
            continue
        write_master_xlsx(path, spec, table)
        written.append(path)
    return written
