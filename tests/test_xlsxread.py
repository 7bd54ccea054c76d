"""Tests for dxsheets.xlsxread on files written by real libraries, and on hostile files crafted from them."""

from __future__ import annotations

import io
import random
import re
import struct
import time
import tracemalloc
import zipfile
import zlib
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import hostile
import openpyxl
import pytest
import xlsxwriter
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl.workbook.defined_name import DefinedName

from dxsheets import xlsxread
from dxsheets.xlsxread import (
    ERROR_CODES,
    FORMAT_EMPTY,
    FORMAT_ENCRYPTED,
    FORMAT_IRM,
    FORMAT_ODS,
    FORMAT_OTHER,
    FORMAT_XLS,
    FORMAT_XLSX,
    MAX_UNNAMED,
    Cell,
    Limits,
    WorkbookReadError,
    cell_name,
    col_letter,
    document_kind,
    excel_serial_to_date,
    parse_ref,
    read_workbook,
    sniff,
)

SML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{SML}">'
FORM = "課題抽出シート"
NO_RATIO = Limits(max_ratio=1e12)  # lets highly compressible hostile XML reach the parser

# --------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------


def rewrite_zip(data: bytes, parts: dict[str, bytes | None] | None = None, transform=None) -> bytes:
    """Copy a zip, replacing parts (None deletes) and/or passing every part through transform(name, bytes)."""
    parts = parts or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = parts.get(info.filename, src.read(info))
            if body is None:
                continue
            if transform is not None:
                body = transform(info.filename, body)
            dst.writestr(info.filename, body)
        for name, body in parts.items():
            if body is not None and name not in src.namelist():
                dst.writestr(name, body)
    return out.getvalue()


def part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def refusal(data: bytes, **kwargs) -> str:
    """Code of the WorkbookReadError raised by read_workbook (fails the test if it reads)."""
    with pytest.raises(WorkbookReadError) as info:
        read_workbook(data, **kwargs)
    assert info.value.code in ERROR_CODES
    return info.value.code


def sheet_xml(body: str) -> bytes:
    return (SHEET_HEAD + body + "</worksheet>").encode("utf-8")


def raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """Write a zip by hand: entries are (name, stored_or_raw_deflate_bytes, method, crc, declared_size).

    Needed for what zipfile will not write: a precompressed 3 GB stream, or sizes that lie.
    """
    out = bytearray()
    central = bytearray()
    for name, payload, method, crc, size in entries:
        raw_name = name.encode("utf-8")
        big = size >= 0xFFFFFFFF or len(payload) >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, size, len(payload)) if big else b""  # zip64: real sizes
        csize, usize = (0xFFFFFFFF, 0xFFFFFFFF) if big else (len(payload), size)
        # version, flags, method, time, date (1980-01-01), crc, sizes, name and extra lengths
        common = (method, 0, 0x21, crc, csize, usize, len(raw_name), len(extra))
        offset = len(out)
        out += struct.pack("<4sHH HHHIIIHH", b"PK\x03\x04", 45, 0, *common) + raw_name + extra + payload
        # ... then comment length, disk, internal and external attributes, local header offset
        central += struct.pack("<4sHHH HHHIIIHH HHHII", b"PK\x01\x02", 45, 45, 0, *common, 0, 0, 0, 0, offset)
        central += raw_name + extra
    count = len(entries)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + eocd)


def stored_entries(data: bytes, skip: set[str]) -> list[tuple[str, bytes, int, int, int]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [
            (i.filename, zf.read(i), 0, zlib.crc32(zf.read(i)), i.file_size)
            for i in zf.infolist()
            if i.filename not in skip
        ]


def repeated_deflate(prefix: bytes, chunk: bytes, count: int, suffix: bytes) -> tuple[bytes, int, int]:
    """Raw deflate of prefix + chunk*count + suffix without doing the work count times.

    After Z_FULL_FLUSH the compressor keeps no history, so one compressed chunk can be repeated verbatim.
    Returns (raw_deflate, crc32, uncompressed_size).
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.compress(suffix) + comp.flush()
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    return head + block * count + tail, crc, len(prefix) + len(chunk) * count + len(suffix)


_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def ole2(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (CFB v3) holding the given streams (olefile can only read them)."""
    sector = 512
    # streams of 4096+ bytes live in regular sectors, so no mini stream is needed
    datas = [data.ljust(max(4096, -(-len(data) // sector) * sector), b"\0") for data in streams.values()]
    fat, starts = [_FATSECT, _END], []
    for data in datas:
        starts.append(len(fat))
        fat.extend(range(len(fat) + 1, len(fat) + len(data) // sector))
        fat.append(_END)
    fat_sector = struct.pack("<128I", *(fat + [_FREE] * (128 - len(fat))))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(raw), kind, 1, _NOSTREAM, right, child)
            + b"\0" * 16
            + struct.pack("<IQQIQ", 0, 0, 0, start, size)
        )

    names = list(streams)
    dirs = [entry("Root Entry", 5, 1, _NOSTREAM, _END, 0)]
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else _NOSTREAM
        dirs.append(entry(name, 2, _NOSTREAM, right, starts[i], len(datas[i])))
    unused = b"\0" * 64 + struct.pack("<HBBIII", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM) + b"\0" * 48
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<109I", 0, *([_FREE] * 108))
    )
    return header + fat_sector + b"".join(dirs) + unused * (4 - len(dirs)) + b"".join(datas)


def biff8_workbook_stream(encrypted: bool) -> bytes:
    """BOF, optionally FILEPASS (RC4), EOF: enough for msoffcrypto to judge encryption."""
    bof = struct.pack("<HH", 0x0809, 16) + struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6)
    filepass = struct.pack("<HH", 0x002F, 54) + struct.pack("<HHH", 1, 1, 1) + b"\x11" * 48
    eof = struct.pack("<HH", 0x000A, 0)
    return bof + (filepass if encrypted else b"") + eof


# --------------------------------------------------------------------------------------------------------
# Real workbooks
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xw_book(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("xw") / "回答.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": datetime(2026, 11, 20, 9, 12, 0)})
    ws = wb.add_worksheet(FORM)
    ws.write_string("A1", "課題抽出シート（回答）")
    ws.write_string("B3", "窓口業務の待ち時間")
    ws.write_number("C3", 42)
    ws.write_number("C4", 1.5)
    ws.write_datetime("D3", datetime(2026, 4, 1), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_boolean("E3", True)
    ws.write_formula("F3", "=C3*2")
    ws.write_string("B4", "改行\nあり")
    ws.write_string("B5", "=not a formula")
    ws.write_string("B6", "ctl\x01char")  # stored as _x0001_
    ws.write_string("B7", "_x0041_")  # stored as _x005F_x0041_: must come back literally
    ws.write_blank("B8", None, wb.add_format({"bold": True}))
    hidden = wb.add_worksheet("隠し")
    hidden.write_string("A1", "非表示の値")
    hidden.hide()
    very = wb.add_worksheet("設定")
    very.write_number("A1", 7)
    very.very_hidden()
    wb.define_name("回答範囲", f"='{FORM}'!$B$3:$E$22")
    wb.define_name(f"'{FORM}'!ローカル名", f"='{FORM}'!$A$1")
    wb.close()
    return path.read_bytes()


@pytest.fixture(scope="module")
def opx_book(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("opx") / "回答.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "回答"
    ws["A1"] = "東京都千代田区"
    ws["B1"] = 3
    ws["C1"] = "=B1*2"
    ws["D1"] = True
    ws["E1"] = date(2026, 4, 1)
    hidden = wb.create_sheet("控え")
    hidden["A1"] = "x"
    hidden.sheet_state = "veryHidden"
    wb.defined_names["担当者"] = DefinedName("担当者", attr_text="'回答'!$A$1")
    ws.defined_names["局所"] = DefinedName("局所", attr_text="'回答'!$B$1:$C$1")
    wb.save(path)
    return path.read_bytes()


def test_xlsxwriter_book_reads_values_states_and_names(xw_book: bytes) -> None:
    assert sniff(xw_book) == FORMAT_XLSX
    wb = read_workbook(xw_book)
    assert list(wb.sheets) == [FORM, "隠し", "設定"]
    assert [s.state for s in wb.sheets.values()] == ["visible", "hidden", "veryHidden"]
    cells = wb.sheets[FORM].cells
    assert cells[(1, 1)] == Cell("課題抽出シート（回答）", "s")
    assert cells[(3, 2)] == Cell("窓口業務の待ち時間", "s")
    assert cells[(3, 3)] == Cell(42.0, "n")
    assert cells[(4, 3)] == Cell(1.5, "n")
    assert cells[(3, 4)].kind == "n"
    assert excel_serial_to_date(cells[(3, 4)].value) == date(2026, 4, 1)
    assert cells[(3, 5)] == Cell(True, "b")
    # xlsxwriter stores 0 as the result until Excel recalculates: cached, but only a placeholder
    assert cells[(3, 6)] == Cell(0.0, "n", formula="C3*2", cached=True)
    assert cells[(4, 2)].value == "改行\nあり"
    assert cells[(5, 2)] == Cell("=not a formula", "s")
    assert cells[(6, 2)].value == "ctl\x01char"
    assert cells[(7, 2)].value == "_x0041_"
    assert (8, 2) not in cells  # a styled blank holds no value: not kept
    assert wb.sheets["隠し"].cells == {(1, 1): Cell("非表示の値", "s")}
    assert wb.sheets["設定"].cells == {(1, 1): Cell(7.0, "n")}
    assert wb.defined_names == {"回答範囲": f"'{FORM}'!$B$3:$E$22"}
    assert wb.local_names == {(FORM, "ローカル名"): f"'{FORM}'!$A$1"}
    assert parse_ref(wb.defined_names["回答範囲"]) == (FORM, 3, 2, 22, 5)
    assert (wb.date1904, wb.strict) == (False, False)
    assert wb.core_created == datetime(2026, 11, 20, 9, 12, tzinfo=UTC)
    assert wb.core_modified == datetime(2026, 11, 20, 9, 12, tzinfo=UTC)
    assert wb.application == "Microsoft Excel"


def test_openpyxl_book_inline_strings_and_uncached_formula(opx_book: bytes) -> None:
    assert b't="inlineStr"' in part(opx_book, "xl/worksheets/sheet1.xml")
    wb = read_workbook(opx_book)
    cells = wb.sheets["回答"].cells
    assert cells[(1, 1)] == Cell("東京都千代田区", "s")
    assert cells[(1, 2)] == Cell(3.0, "n")
    # openpyxl never calculates: the formula has an empty <v/>, which is "not cached", not a value
    assert cells[(1, 3)] == Cell(None, "empty", formula="B1*2", cached=False)
    assert cells[(1, 4)] == Cell(True, "b")
    assert excel_serial_to_date(cells[(1, 5)].value) == date(2026, 4, 1)
    assert wb.sheets["控え"].state == "veryHidden"
    assert wb.defined_names == {"担当者": "'回答'!$A$1"}
    assert wb.local_names == {("回答", "局所"): "'回答'!$B$1:$C$1"}
    assert wb.application is not None and "Openpyxl" in wb.application
    assert wb.core_created is not None and wb.core_created.tzinfo is not None


def test_sheets_filter_parses_only_named_sheets(xw_book: bytes) -> None:
    wb = read_workbook(xw_book, sheets={"隠し"})
    assert list(wb.sheets) == [FORM, "隠し", "設定"]
    assert wb.sheets[FORM].cells == {} and wb.sheets["設定"].cells == {}
    assert wb.sheets["隠し"].cells[(1, 1)].value == "非表示の値"
    assert read_workbook(xw_book, sheets="隠し").sheets["隠し"].cells  # a lone str is one name


def test_date1904_flag(tmp_path) -> None:
    path = tmp_path / "d1904.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"date_1904": True})
    wb.add_worksheet().write_datetime("A1", datetime(2026, 4, 1), wb.add_format({"num_format": "yyyy-mm-dd"}))
    wb.close()
    book = read_workbook(path.read_bytes())
    assert book.date1904 is True
    serial = book.sheets["Sheet1"].cells[(1, 1)].value
    assert excel_serial_to_date(serial, date1904=True) == date(2026, 4, 1)


def test_phonetic_runs_are_excluded_and_rich_text_joined(tmp_path) -> None:
    path = tmp_path / "furigana.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("名簿")
    ws.write_string("A1", "placeholder 0")
    ws.write_string("A2", "placeholder 1")
    wb.close()
    # What Japanese Excel writes for typed-in kanji: the reading (furigana) in <rPh> next to the text.
    sst = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="{SML}" count="2" uniqueCount="2">
<si><t>東京都</t><rPh sb="0" eb="3"><t>トウキョウト</t></rPh><phoneticPr fontId="1"/></si>
<si><r><rPr><b/><sz val="11"/></rPr><t>窓口</t></r><r><t xml:space="preserve"> 業務_x000D_</t></r>
<rPh sb="0" eb="2"><t>マドグチ</t></rPh><rPh sb="3" eb="5"><t>ギョウム</t></rPh><phoneticPr fontId="1" type="Hiragana"/></si>
</sst>"""
    data = rewrite_zip(path.read_bytes(), {"xl/sharedStrings.xml": sst.encode()})
    cells = read_workbook(data).sheets["名簿"].cells
    assert cells[(1, 1)].value == "東京都"
    assert cells[(2, 1)].value == "窓口 業務\r"


def strictify(name: str, body: bytes) -> bytes:
    if not name.endswith((".xml", ".rels")):
        return body
    body = body.replace(SML.encode(), b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    # both the r: namespace and every relationship Type URI live under this prefix
    return body.replace(
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        b"http://purl.oclc.org/ooxml/officeDocument/relationships",
    )


def test_strict_open_xml_reads(xw_book: bytes) -> None:
    strict = rewrite_zip(xw_book, transform=strictify)
    assert b"purl.oclc.org" in part(strict, "xl/_rels/workbook.xml.rels")
    plain, wb = read_workbook(xw_book), read_workbook(strict)
    assert wb.strict is True
    assert [(s.name, s.state, s.cells) for s in wb.sheets.values()] == [
        (s.name, s.state, s.cells) for s in plain.sheets.values()
    ]
    assert wb.defined_names == plain.defined_names


def test_absolute_targets_and_odd_part_names(xw_book: bytes) -> None:
    rels = part(xw_book, "xl/_rels/workbook.xml.rels").replace(
        b'Target="worksheets/', b'Target="/xl/worksheets/'
    )
    data = rewrite_zip(xw_book, {"xl/_rels/workbook.xml.rels": rels})
    assert read_workbook(data).sheets[FORM].cells[(3, 3)].value == 42.0
    rels = part(xw_book, "xl/_rels/workbook.xml.rels").replace(
        b"worksheets/sheet1.xml", b"../xl/Worksheets/SHEET1.xml"
    )
    data = rewrite_zip(xw_book, {"xl/_rels/workbook.xml.rels": rels})
    assert read_workbook(data).sheets[FORM].cells[(3, 3)].value == 42.0


def test_cells_without_refs_and_every_type(xw_book: bytes) -> None:
    body = (
        '<dimension ref="A1:F3"/><sheetData>'
        '<row><c t="e"><v>#DIV/0!</v></c><c t="d"><v>2026-04-01T00:00:00</v></c><c t="str"><f>A1&amp;""</f><v></v></c>'
        '<c t="inlineStr"><is><r><t>ab</t></r><r><t>c</t></r><rPh><t>x</t></rPh></is></c></row>'
        '<row r="3"><c><f t="shared" si="0"/><v>4</v></c><c r="E3" t="n"><v>abc</v></c><c><v>1e3</v></c></row>'
        '<row><c/><c t="s"><f>A1</f></c></row>'
        "</sheetData>"
    )
    data = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    cells = read_workbook(data).sheets[FORM].cells
    assert cells[(1, 1)] == Cell("#DIV/0!", "e")
    assert cells[(1, 2)] == Cell("2026-04-01T00:00:00", "d")
    assert cells[(1, 3)] == Cell("", "s", formula='A1&""', cached=True)
    assert cells[(1, 4)] == Cell("abc", "s")
    assert cells[(3, 1)] == Cell(4.0, "n", formula="", cached=True)
    assert cells[(3, 5)] == Cell("abc", "s")  # a "number" that is not one stays visible as text
    assert cells[(3, 6)] == Cell(1000.0, "n")
    assert (4, 1) not in cells  # a styled blank holds no value: not kept
    assert cells[(4, 2)] == Cell(None, "empty", formula="A1", cached=False)


def test_numbers_only_python_reads_are_kept_as_the_text_they_are(xw_book: bytes) -> None:
    """float() takes "NaN", "inf" and "1_000"; Excel writes none of them. Found by fuzzing: a respondent
    read as "nan", a contact as "1000"."""
    spelled = ["NaN", "-inf", "Infinity", "1_000", "1e999", "12.5", " 7 "]
    row = "".join(f'<c r="{chr(65 + i)}1"><v>{text}</v></c>' for i, text in enumerate(spelled))
    data = rewrite_zip(
        xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(f'<sheetData><row r="1">{row}</row></sheetData>')}
    )
    cells = read_workbook(data).sheets[FORM].cells
    assert [cells[(1, i + 1)] for i in range(len(spelled))] == [
        *(Cell(text, "s") for text in spelled[:5]),
        Cell(12.5, "n"),
        Cell(7.0, "n"),
    ]


def test_long_text_is_cut(xw_book: bytes) -> None:
    long_text = "あ" * 40_000
    body = f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{long_text}</t></is></c></row></sheetData>'
    data = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    cell = read_workbook(data).sheets[FORM].cells[(1, 1)]
    assert cell.truncated and cell.value == "あ" * 32_767


def test_utf16_part_is_transcoded(xw_book: bytes) -> None:
    text = part(xw_book, "xl/sharedStrings.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    data = rewrite_zip(xw_book, {"xl/sharedStrings.xml": text.encode("utf-16")})
    assert read_workbook(data).sheets[FORM].cells[(3, 2)].value == "窓口業務の待ち時間"


@pytest.mark.parametrize("defused", [False, True], ids=["c-parser", "defusedxml"])
@pytest.mark.parametrize("fixture", ["xw_book", "opx_book"])
def test_streaming_path_matches_tree_path(
    fixture: str, defused: bool, request: pytest.FixtureRequest, monkeypatch
) -> None:
    data = request.getfixturevalue(fixture)
    expected = read_workbook(data)
    monkeypatch.setattr(xlsxread, "USE_DEFUSEDXML", defused)
    assert read_workbook(data) == expected
    # Every part streamed, in chunks so small that elements straddle chunk boundaries everywhere.
    monkeypatch.setattr(xlsxread, "_TREE_MAX_BYTES", 0)
    monkeypatch.setattr(xlsxread, "_STREAM_CHUNK", 7)
    assert read_workbook(data) == expected


def test_big_sheet_is_streamed(xw_book: bytes, monkeypatch) -> None:
    rows = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{col_letter(c)}{r}" t="inlineStr"><is><t>行{r}列{c}</t></is></c>' for c in range(1, 9)
        )
        + f'<c r="I{r}"><v>{r * 0.5}</v></c><c r="J{r}"><f>I{r}*2</f></c></row>'
        for r in range(1, 2501)
    )
    data = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(f"<sheetData>{rows}</sheetData>")})
    assert len(part(data, "xl/worksheets/sheet1.xml")) > xlsxread._TREE_MAX_BYTES
    many_tags = Limits(max_part_tags=1_000_000)  # 145,005: past the default, which would refuse it unread
    assert refusal(data) == "sheet-too-large"
    streamed = read_workbook(data, many_tags).sheets[FORM].cells
    assert len(streamed) == 25_000
    assert streamed[(2500, 2)] == Cell("行2500列2", "s")
    assert streamed[(2500, 10)] == Cell(None, "empty", formula="I2500*2", cached=False)
    monkeypatch.setattr(xlsxread, "_TREE_MAX_BYTES", 100 * 1024**2)
    assert read_workbook(data, many_tags).sheets[FORM].cells == streamed


# --------------------------------------------------------------------------------------------------------
# Formats and refusals
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fmt", "code"),
    [
        (b"", FORMAT_EMPTY, "empty-file"),
        ("氏名,所属\n山田,総務課\n".encode("cp932"), FORMAT_OTHER, "not-a-workbook"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>", FORMAT_OTHER, "not-a-workbook"),
        (random.Random(7).randbytes(4096), FORMAT_OTHER, "not-a-workbook"),
        (b"PK\x05\x06" + b"\0" * 18, FORMAT_OTHER, "not-a-workbook"),  # empty zip: no local header magic
    ],
    ids=["empty", "csv", "html", "random", "empty-zip"],
)
def test_not_workbooks(data: bytes, fmt: str, code: str) -> None:
    assert sniff(data) == fmt
    assert refusal(data) == code


def test_documents_sent_instead_of_a_workbook_are_named(xw_book: bytes) -> None:
    import hostile

    docx = hostile.docx_bytes()
    pptx = _renamed_parts(docx, "word/", "ppt/")
    cases = {
        "pdf": hostile.pdf_bytes(),
        "image": hostile.png_bytes(),
        "word": docx,
        "powerpoint": pptx,
    }
    for kind, data in cases.items():
        assert document_kind(data) == kind
        assert sniff(data) == FORMAT_OTHER, kind  # never taken for a workbook, even a .docx package
    assert document_kind(hostile.doc_bytes()) == "word"
    assert sniff(hostile.xlsb_bytes()) == xlsxread.FORMAT_XLSB  # a workbook, in Excel's binary save
    assert document_kind(hostile.xlsb_bytes()) is None
    assert document_kind(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00") == "image"  # a phone or camera JPEG
    assert document_kind(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") == "image"  # an iPhone photo
    assert document_kind(b"{\\rtf1\\ansi ...}") == "word"
    # Workbooks and plain text are not documents of these kinds.
    for data in (
        xw_book,
        "BMI,氏名\n22,山田\n".encode("cp932"),
        b"",
        b"%PD",
        hostile.zip_archive_bytes([("a.txt", b"x")]),
    ):
        assert document_kind(data) is None


def _renamed_parts(package: bytes, old: str, new: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename.replace(old, new), src.read(info).replace(old.encode(), new.encode()))
    return out.getvalue()


def test_truncated_copy(xw_book: bytes) -> None:
    half = xw_book[: len(xw_book) // 2]
    assert sniff(half) == FORMAT_XLSX  # what it was meant to be; read_workbook says what is wrong
    assert refusal(half) == "truncated"


def test_a_part_placed_past_any_seek_is_a_broken_zip_not_a_crash(xw_book: bytes, tmp_path: Path) -> None:
    """Fuzzing found it: a ZIP64 offset past 2**63 made zipfile raise OverflowError."""
    for part in ("xl/workbook.xml", "xl/worksheets/sheet1.xml"):
        far = hostile.make_far_offset(tmp_path / "far.xlsx", xw_book, part).read_bytes()
        with pytest.raises(WorkbookReadError) as info:
            read_workbook(far)
        assert info.value.code == "truncated"
        assert part in info.value.detail


def test_corrupted_deflate_data(xw_book: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(xw_book)) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    damaged = bytearray(xw_book)
    for i in range(start + 10, start + 40):
        damaged[i] ^= 0x5A
    assert refusal(bytes(damaged)) == "truncated"


def test_password_protected_workbook(xw_book: bytes) -> None:
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(xw_book)).encrypt("秘密pass", out)
    data = out.getvalue()
    assert data.startswith(b"\xd0\xcf\x11\xe0")
    assert sniff(data) == FORMAT_ENCRYPTED
    assert refusal(data) == "encrypted"


def test_a_workbook_encrypted_by_a_sensitivity_label_is_told_from_a_password(
    xw_book: bytes, tmp_path: Path
) -> None:
    data = hostile.make_irm_protected(tmp_path, xw_book).read_bytes()
    assert sniff(data) == FORMAT_IRM
    assert refusal(data) == "irm"
    # Office 2003's rights management keeps the package in another stream, with no EncryptedPackage.
    assert sniff(ole2({"\x09DRMContent": b"\x00" * 64})) == FORMAT_IRM


def test_legacy_xls_and_encrypted_xls() -> None:
    plain = ole2({"Workbook": biff8_workbook_stream(encrypted=False)})
    assert sniff(plain) == FORMAT_XLS
    assert refusal(plain) == "legacy-xls"
    rc4 = ole2({"Workbook": biff8_workbook_stream(encrypted=True)})
    assert sniff(rc4) == FORMAT_ENCRYPTED
    assert refusal(rc4) == "encrypted"
    assert sniff(ole2({"WordDocument": b"x" * 10})) == FORMAT_OTHER  # a .doc renamed .xlsx
    damaged = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100
    assert sniff(damaged) == FORMAT_XLS  # too damaged to inspect: still "old Excel" to the user
    rnd = random.Random(11)
    for _ in range(100):  # damaged compound files are refused, never crash the caller
        data = bytearray(plain)
        for _ in range(4):
            data[rnd.randrange(8, 1024)] = rnd.randrange(256)
        assert refusal(bytes(data)) in ("legacy-xls", "encrypted", "not-a-workbook")


def test_ods_zip() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    data = out.getvalue()
    assert sniff(data) == FORMAT_ODS
    assert refusal(data) == "ods"
    assert sniff(data[:100]) == FORMAT_ODS  # even half-copied


def test_other_office_zip_is_not_a_workbook() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="word/document.xml"/></Relationships>',
        )
        zf.writestr("word/document.xml", "<w:document xmlns:w='urn:w'/>")
    assert refusal(out.getvalue()) == "not-a-workbook"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>"""

XXE = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&x;</t></si></sst>"""


@pytest.mark.parametrize(
    "payload",
    [
        BILLION_LAUGHS.encode(),
        XXE.encode(),
        BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"),
        (
            "<!-- " + "x" * 20_000 + " -->" + BILLION_LAUGHS.split("?>", 1)[1]
        ).encode(),  # DOCTYPE past the first KB
    ],
    ids=["billion-laughs", "xxe", "utf16", "late-doctype"],
)
def test_doctype_is_refused(xw_book: bytes, payload: bytes) -> None:
    assert refusal(rewrite_zip(xw_book, {"xl/sharedStrings.xml": payload})) == "doctype"


def test_undeclared_entity_is_malformed_not_expanded(xw_book: bytes) -> None:
    sst = f'<sst xmlns="{SML}"><si><t>&lol9;</t></si></sst>'.encode()
    assert refusal(rewrite_zip(xw_book, {"xl/sharedStrings.xml": sst})) == "xml-malformed"


@pytest.fixture(scope="module")
def three_gb_bomb(xw_book: bytes) -> bytes:
    """A workbook whose sheet part really inflates to 3 GiB of XML (about 3 MB on disk)."""
    prefix = f'<?xml version="1.0"?><worksheet xmlns="{SML}"><sheetData><row r="1">'.encode()
    chunk = b"<c/>" * (1024 * 1024)  # 4 MiB
    raw, crc, size = repeated_deflate(prefix, chunk, 768, b"</row></sheetData></worksheet>")
    name = "xl/worksheets/sheet1.xml"
    return raw_zip([*stored_entries(xw_book, {name}), (name, raw, 8, crc, size)])


@pytest.mark.slow
def test_declared_3gb_part_is_refused_before_inflating(three_gb_bomb: bytes) -> None:
    assert len(three_gb_bomb) < 5 * 1024**2
    with zipfile.ZipFile(io.BytesIO(three_gb_bomb)) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 3 * 10**9
    start = time.perf_counter()
    assert refusal(three_gb_bomb) == "zip-bomb"
    assert time.perf_counter() - start < 1.0


def test_declared_size_lie_is_refused_without_inflating(xw_book: bytes) -> None:
    name = "xl/worksheets/sheet1.xml"
    prefix = f'<?xml version="1.0"?><worksheet xmlns="{SML}"><sheetData>'.encode()
    raw, crc, size = repeated_deflate(prefix, b" " * (4 * 1024 * 1024), 25, b"</sheetData></worksheet>")
    # Sanity: the stream really inflates far beyond what it declares.
    inflater = zlib.decompressobj(-15)
    assert len(inflater.decompress(raw, 64 * 1024**2)) == 64 * 1024**2
    lying = raw_zip([*stored_entries(xw_book, {name}), (name, raw, 8, crc, 5000)])
    tracemalloc.start()
    start = time.perf_counter()
    try:
        code = refusal(lying)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # zipfile stops at the declared size; the CRC of what it read then does not match
    assert code == "truncated"
    assert time.perf_counter() - start < 2.0
    assert peak < 20 * 1024**2


def test_high_ratio_part_is_refused(xw_book: bytes) -> None:
    filler = sheet_xml("<sheetData>" + " " * (3 * 1024 * 1024) + "</sheetData>")
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": filler})) == "zip-bomb"


def test_too_many_entries_and_total_size(xw_book: bytes) -> None:
    many = rewrite_zip(xw_book, {f"junk/{i}.bin": b"x" for i in range(501)})
    assert refusal(many) == "zip-bomb"
    assert refusal(xw_book, limits=Limits(max_total_uncompressed=10_000)) == "zip-bomb"
    assert refusal(xw_book, limits=Limits(max_part_uncompressed=2_000)) == "zip-bomb"


def test_too_large_file(xw_book: bytes) -> None:
    assert refusal(xw_book, limits=Limits(max_file_bytes=1000)) == "too-large-file"


def test_far_cell_is_refused_quickly(xw_book: bytes) -> None:
    body = (
        '<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    )
    data = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    start = time.perf_counter()
    assert refusal(data) == "sheet-too-large"
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("body", "cell", "where"),
    [
        ('<row r="20000"><c r="C20000"><v>1</v></c></row>', "C20000", f"{FORM}!C20000"),  # no dimension
        ('<row r="2"><c r="GT2"><v>1</v></c></row>', "GT2", f"{FORM}!GT2"),
    ],
)
def test_a_far_cell_is_named_where_a_person_can_find_it(
    xw_book: bytes, body: str, cell: str, where: str
) -> None:
    data = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(f"<sheetData>{body}</sheetData>")})
    with pytest.raises(WorkbookReadError) as info:
        read_workbook(data)
    assert (info.value.sheet, info.value.cell, info.value.where) == (FORM, cell, where)


@pytest.mark.parametrize(
    ("ref", "where"), [("A1:E20000", f"{FORM}の 20,000 行目"), ("A1:GT5", f"{FORM}の GT 列")]
)
def test_a_used_range_too_wide_is_named_by_its_row_or_column(xw_book: bytes, ref: str, where: str) -> None:
    body = f'<dimension ref="{ref}"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'
    with pytest.raises(WorkbookReadError) as info:
        read_workbook(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)}))
    assert (info.value.sheet, info.value.cell, info.value.where) == (FORM, "", where)  # no cell is sure


@pytest.mark.parametrize("ref", ["A1:XFD1048576", "A1:A99999999", "$A$1:$GS$10001"])
def test_huge_dimension_is_refused(xw_book: bytes, ref: str) -> None:
    body = f'<dimension ref="{ref}"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})) == "sheet-too-large"


def test_empty_formatted_rows_beyond_the_limit_are_ignored(xw_book: bytes) -> None:
    # Row formatting (height, hidden) to the bottom of the grid holds no cells: nothing to refuse.
    body = (
        '<sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        '<row r="500000" hidden="1"/><row r="1048576" ht="0" customHeight="1"/></sheetData>'
    )
    data = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    assert read_workbook(data).sheets[FORM].cells == {(1, 1): Cell(1.0, "n")}


def test_cell_count_limits(xw_book: bytes) -> None:
    assert refusal(xw_book, limits=Limits(max_cells=5)) == "sheet-too-large"
    assert refusal(xw_book, limits=Limits(max_total_cells=12)) == "sheet-too-large"
    assert refusal(xw_book, limits=Limits(max_col=3)) == "sheet-too-large"
    # rows without r still count: the 10,001st row is beyond max_row
    body = "<sheetData>" + "<row><c><v>1</v></c></row>" * 10_001 + "</sheetData>"
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})) == "sheet-too-large"


def test_flat_element_flood_is_refused_with_bounded_memory(xw_book: bytes) -> None:
    # 2 MB of empty cells in one row: streamed (over _TREE_MAX_BYTES), refused on the column limit
    body = '<sheetData><row r="1">' + "<c/>" * 500_000 + "</row></sheetData>"
    data = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    assert refusal(data) == "zip-bomb"  # it compresses too well to get this far by default
    tracemalloc.start()
    try:
        code = refusal(data, limits=NO_RATIO)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == "sheet-too-large"
    assert peak < 40 * 1024**2


def test_deep_nesting_is_malformed(xw_book: bytes) -> None:
    # A big part is streamed, and its nesting is refused early (a small part's tree is bounded by its size).
    depth = 300_000
    body = "<sheetData>" + "<x>" * depth + "</x>" * depth + "</sheetData>"
    deep = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet_xml(body)})
    assert refusal(deep, limits=NO_RATIO) == "sheet-too-large"  # 600,000 tags: refused unparsed
    assert (
        refusal(deep, limits=replace(NO_RATIO, max_part_tags=10**6, max_total_tags=10**6)) == "xml-malformed"
    )
    deep_workbook = part(xw_book, "xl/workbook.xml").replace(
        b"<sheets>", b"<a>" * 100 + b"</a>" * 100 + b"<sheets>"
    )
    assert refusal(rewrite_zip(xw_book, {"xl/workbook.xml": deep_workbook})) == "xml-malformed"


def test_malformed_xml(xw_book: bytes) -> None:
    cut = part(xw_book, "xl/worksheets/sheet1.xml")[:300]
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": cut})) == "xml-malformed"
    bad_ref = sheet_xml('<sheetData><row r="1"><c r="1A"><v>1</v></c></row></sheetData>')
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": bad_ref})) == "xml-malformed"
    for index in ("99", "-1", "+0", "1.0"):  # (a negative index was read from the end of the table)
        bad_index = sheet_xml(f'<sheetData><row r="1"><c r="A1" t="s"><v>{index}</v></c></row></sheetData>')
        damaged = rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": bad_index})
        assert refusal(damaged) == "xml-malformed", index


def test_missing_parts(xw_book: bytes) -> None:
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet2.xml": None})) == "missing-part"
    # even when that sheet is not asked for: the file is damaged and the caller should know
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet2.xml": None}), sheets=[FORM]) == "missing-part"
    assert refusal(rewrite_zip(xw_book, {"xl/workbook.xml": None})) == "missing-part"
    assert refusal(rewrite_zip(xw_book, {"xl/sharedStrings.xml": None})) == "missing-part"


def test_damage_never_raises_anything_else(xw_book: bytes, opx_book: bytes) -> None:
    rnd = random.Random(2026)
    unexpected = []
    for base in (xw_book, opx_book):
        for _ in range(150):
            data = bytearray(base)
            for _ in range(rnd.randint(1, 8)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
            try:
                read_workbook(bytes(data))
            except WorkbookReadError as exc:
                assert exc.code in ERROR_CODES
                if exc.detail.startswith("unexpected"):  # reached the catch-all: a case we did not map
                    unexpected.append(exc.detail)
        for cut in range(0, len(base), max(1, len(base) // 60)):
            with pytest.raises(WorkbookReadError):
                read_workbook(base[:cut])
    assert unexpected == []


# --------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'My Sheet'!$B$3:$E$22", ("My Sheet", 3, 2, 22, 5)),
        ("Sheet1!$A$1", ("Sheet1", 1, 1, 1, 1)),
        ("Sheet1!A1:B2", ("Sheet1", 1, 1, 2, 2)),
        ("='It''s ok'!$C$5", ("It's ok", 5, 3, 5, 3)),
        (f"'{FORM}'!$B$30:$E$49", (FORM, 30, 2, 49, 5)),
        (f"{FORM}!$B$30", (FORM, 30, 2, 30, 2)),
        ("'a!b'!$E$22:$B$3", ("a!b", 3, 2, 22, 5)),
    ],
)
def test_parse_ref(text: str, expected: tuple) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "#REF!",
        "#REF!$C$6",  # Excel, once the sheet was deleted
        "=#ref!$B$30:$E$49",
        "Sheet1!#REF!",
        "'My Sheet'!#REF!",
        "Sheet1!$A$1,Sheet1!$B$2",
        "SUM(Sheet1!A1:A3)",
        "[1]Sheet1!$A$1",
        "Sheet1:Sheet3!$A$1",
        "$A$1",
        "Sheet1!$A:$A",
        "Sheet1!$XFE$1",
        "'unterminated!$A$1",
        "''!A1",
        "0.08",
    ],
)
def test_parse_ref_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ref(text)


def test_cell_names() -> None:
    assert [col_letter(c) for c in (1, 26, 27, 52, 703, 16384)] == ["A", "Z", "AA", "AZ", "AAA", "XFD"]
    assert cell_name(3, 2) == "B3"
    with pytest.raises(ValueError):
        col_letter(0)


def test_excel_serial_to_date() -> None:
    assert excel_serial_to_date(1) == date(1900, 1, 1)
    assert excel_serial_to_date(59) == date(1900, 2, 28)
    assert excel_serial_to_date(61) == date(1900, 3, 1)
    assert excel_serial_to_date(46113.75) == date(2026, 4, 1)
    assert excel_serial_to_date(0, date1904=True) == date(1904, 1, 1)
    for bad in (60, -1, float("nan"), float("inf"), 1e10):
        with pytest.raises(ValueError):
            excel_serial_to_date(bad)


def test_core_dates_are_parsed_tolerantly(xw_book: bytes) -> None:
    core = part(xw_book, "docProps/core.xml")
    for text, expected in [
        (b"2026-11-20T18:12:00+09:00", datetime(2026, 11, 20, 9, 12, tzinfo=UTC)),
        (b"2026-11-20T09:12:00.123Z", datetime(2026, 11, 20, 9, 12, 0, 123000, tzinfo=UTC)),
        (b"2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        (b"yesterday", None),
    ]:
        patched = core.replace(b"2026-11-20T09:12:00Z</dcterms:modified>", text + b"</dcterms:modified>")
        assert read_workbook(rewrite_zip(xw_book, {"docProps/core.xml": patched})).core_modified == expected
    bare = rewrite_zip(xw_book, {"docProps/core.xml": None, "docProps/app.xml": None})
    wb = read_workbook(bare)
    assert (wb.core_created, wb.core_modified, wb.application) == (None, None, None)


@pytest.mark.parametrize("payload", [BILLION_LAUGHS.encode(), XXE.encode()], ids=["billion-laughs", "xxe"])
def test_defusedxml_parser_when_forced(
    xw_book: bytes, payload: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an old expat, or DXSHEETS_DEFUSEDXML=1, every parse goes through defusedxml: same results."""
    from defusedxml import DTDForbidden

    monkeypatch.setattr(xlsxread, "USE_DEFUSEDXML", True)
    raw = read_workbook(xw_book)
    assert raw.sheets and raw.defined_names
    assert refusal(rewrite_zip(xw_book, {"xl/sharedStrings.xml": payload})) == "doctype"
    # Even past the byte check, the parser itself refuses the DTD.
    with pytest.raises(DTDForbidden):
        xlsxread._fromstring(payload)


def test_the_platform_expat_is_hardened() -> None:
    """The fast path relies on expat's own billion-laughs limits (2.4.1+); CI would show an older one here."""
    import pyexpat

    assert (pyexpat.version_info >= (2, 4, 1)) == xlsxread.EXPAT_HARDENED


def _named_book() -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    entry = wb.add_worksheet("入力")
    for r in range(3):
        for c in range(3):
            entry.write_string(r, c, f"{r + 1},{c + 1}")
    entry.write_number("H9", 9)
    for name in ("範囲外", "参照先", "印刷", "選択肢"):
        wb.add_worksheet(name).write_string("A1", f"{name}の値")
    wb.get_worksheet_by_name("参照先").write_number("B2", 2)
    wb.define_name("回答", "='入力'!$A$1:$B$2")
    wb.define_name("ほか", "='入力'!$C$3")  # not asked for
    wb.define_name("'範囲外'!ローカル", "='参照先'!$A$1")  # local to one sheet, pointing at another
    wb.define_name("壊れた", "=#REF!")
    wb.define_name("'印刷'!Print_Titles", "='印刷'!$1:$2")  # whole rows: not a cell range
    wb.define_name("定数", "=0.08")
    wb.close()
    return buf.getvalue()


def test_reading_by_names_keeps_exactly_the_cells_inside_them() -> None:
    data = _named_book()
    asked = {"回答", "ローカル", "壊れた", "Print_Titles", "定数", "無い名前"}
    book = read_workbook(data, names=asked)
    everything = read_workbook(data)
    assert list(book.sheets) == ["入力", "範囲外", "参照先", "印刷", "選択肢"]  # every sheet still listed
    assert book.sheets["入力"].cells == {
        (1, 1): Cell("1,1", "s"),
        (1, 2): Cell("1,2", "s"),
        (2, 1): Cell("2,1", "s"),
        (2, 2): Cell("2,2", "s"),
    }
    assert book.sheets["参照先"].cells == {(1, 1): Cell("参照先の値", "s")}
    assert all(not book.sheets[n].cells for n in ("範囲外", "印刷", "選択肢"))
    assert book.defined_names == everything.defined_names and book.local_names == everything.local_names
    with pytest.raises(ValueError):
        read_workbook(data, sheets={"入力"}, names=asked)


def test_rows_under_a_name_are_kept_when_asked() -> None:
    """`below` keeps that many rows under a name's range, in its columns: what was typed in rows inserted
    under a table (which do not grow its name)."""
    data = _named_book()
    book = read_workbook(data, names={"回答"}, below={"回答": 1, "ほか": 5})
    assert set(book.sheets["入力"].cells) == {(r, c) for r in (1, 2, 3) for c in (1, 2)}
    assert book.sheets["入力"].cells[(3, 2)] == Cell("3,2", "s")
    # Clipped to the grid, not refused; too many cells to list, so the sheet is read whole, as for a wide name.
    far = read_workbook(data, names={"回答"}, below={"回答": 1_048_575})
    assert far.sheets["入力"].cells == read_workbook(data).sheets["入力"].cells


def test_a_column_left_of_a_name_is_kept_when_asked() -> None:
    """`left` keeps the column that many columns left of a name's range, in its rows (the No. of each
    checklist row), and nothing between."""
    data = _named_book()
    book = read_workbook(data, names={"ほか"}, left={"ほか": 2, "回答": 5})
    assert book.sheets["入力"].cells == {(3, 1): Cell("3,1", "s"), (3, 3): Cell("3,3", "s")}
    beyond = read_workbook(data, names={"ほか"}, left={"ほか": 3})  # no such column: the name alone
    assert beyond.sheets["入力"].cells == {(3, 3): Cell("3,3", "s")}


def test_what_lies_right_of_or_below_every_name_is_noted_when_asked() -> None:
    """`outside` notes the cells holding something past the last row or column of a sheet's names (what a
    person wrote outside a form's inputs): the first ones decoded, all of them counted; the cells between
    the names (a form's labels) are not."""
    data = _named_book()  # 入力: A1:C3 filled and H9; 回答 = A1:B2, ほか = C3
    plain = read_workbook(data, names={"回答"})
    assert (plain.sheets["入力"].outside, plain.sheets["入力"].outside_count) == ([], 0)
    book = read_workbook(data, names={"回答", "ほか"}, outside=True)
    sheet = book.sheets["入力"]
    assert (sheet.outside, sheet.outside_count) == ([(9, 8)], 1)
    assert sheet.cells[(9, 8)] == Cell(9.0, "n")
    narrow = read_workbook(data, names={"回答"}, outside=True).sheets["入力"]
    assert narrow.outside_count == 6  # C1, C2, A3, B3, C3 and H9: past row 2 or column B
    assert narrow.outside == [(1, 3), (2, 3), (3, 1), (3, 2), (3, 3), (9, 8)]


def test_sheets_no_asked_name_points_at_are_looked_through_when_asked() -> None:
    """With `outside`, a visible sheet that none of the names points at (one a person added) is all outside:
    its first two cells are noted, and one past the limits is noted, not refused. Hidden sheets (a form's
    lists) are not looked at, nor more than MAX_UNNAMED."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.add_worksheet("入力").write_string("A1", "回答")
    hidden = wb.add_worksheet("選択肢")
    hidden.write_string("A1", "はい")
    hidden.hide()
    many = wb.add_worksheet("一覧")  # looked through to its second cell only
    for row in range(5000):
        many.write_number(row, 0, row)
    wb.add_worksheet("大きい").write_string(20_000, 0, "末尾")  # past the limits: noted, not refused
    for i in range(MAX_UNNAMED):
        wb.add_worksheet(f"メモ{i}").write_string("B2", f"メモ{i}の内容")
    wb.define_name("回答", "='入力'!$A$1")
    wb.close()
    sheets = read_workbook(buf.getvalue(), names={"回答"}, outside=True).sheets
    assert sheets["入力"].outside_count == 0
    assert (sheets["選択肢"].cells, sheets["選択肢"].outside_count) == ({}, 0)
    noted = {name: (s.outside, s.outside_count, s.cells) for name, s in sheets.items() if s.outside_count}
    assert noted == {
        "一覧": ([(1, 1), (2, 1)], 2, {(1, 1): Cell(0.0, "n"), (2, 1): Cell(1.0, "n")}),
        "大きい": ([], 1, {}),
        **{f"メモ{i}": ([(2, 2)], 1, {(2, 2): Cell(f"メモ{i}の内容", "s")}) for i in range(MAX_UNNAMED - 2)},
    }
    assert read_workbook(buf.getvalue(), names={"回答"}).sheets["メモ0"].cells == {}


def test_a_workbook_of_too_many_defined_names_or_tags_is_refused_before_parsing() -> None:
    data = _named_book()  # six names of its own
    assert read_workbook(data, limits=Limits(max_defined_names=6)).defined_names
    assert refusal(data, limits=Limits(max_defined_names=5)) == "too-large-file"
    book = part(data, "xl/workbook.xml")
    junk = rewrite_zip(
        data, {"xl/workbook.xml": book.replace(b"</workbook>", b"<x/>" * 500 + b"</workbook>")}
    )
    assert read_workbook(junk, limits=Limits(max_part_tags=1_000)).defined_names
    assert refusal(junk, limits=Limits(max_part_tags=400)) == "too-large-file"  # its sheets have < 100


def _sheet_in(encoding: str, body: str) -> bytes:
    return sheet_xml(body).replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode())


@pytest.mark.parametrize(
    ("declared", "payload"),
    [
        # UTF-7 spells "<" as "+ADw-": 4,000,000 cells passed the tag count as one tag and took 5 s.
        (
            "utf-7",
            _sheet_in("utf-7", "<sheetData>" + "<c/>" * 50 + "</sheetData>").replace(b"<c/>", b"+ADw-c/>"),
        ),
        (
            "ISO-8859-1",
            BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="ISO-8859-1"').encode(),
        ),
        ("punycode", _sheet_in("punycode", "<sheetData/>")),  # its codec raises a bare UnicodeError
        ("x" * 41, _sheet_in("x" * 41, "<sheetData/>")),  # (longer than the names once looked for)
        ("", b'<?xml version="1.0"' + b" " * 300 + b'encoding="utf-7"?><worksheet/>'),  # padded out of sight
    ],
    ids=["utf-7", "latin-1", "punycode", "long-name", "padded-declaration"],
)
def test_a_part_in_any_encoding_but_utf8_or_utf16_is_refused(
    xw_book: bytes, declared: str, payload: bytes
) -> None:
    """ECMA-376 Part 2 (8.1.4): a package's XML is UTF-8 or UTF-16. Every count made on a part's bytes
    before parsing (tags, names, strings) holds only for those."""
    for name in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
        with pytest.raises(WorkbookReadError) as caught:
            read_workbook(rewrite_zip(xw_book, {name: payload}))
        detail = caught.value.detail
        assert caught.value.code == "xml-malformed" and not detail.startswith("unexpected"), detail
        assert declared in detail if declared else "XML declaration of more than 200 bytes" in detail


def test_utf16_parts_are_counted_as_the_parser_sees_them(xw_book: bytes) -> None:
    """In UTF-16 "<si>" and "definedName" are spelled with other bytes: 1,250,000 strings took 5.8 s."""
    strings = '<?xml version="1.0" encoding="UTF-16"?><sst xmlns="{}">{}</sst>'.format(
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main", "<si><t>x</t></si>" * 101
    )
    sst = rewrite_zip(xw_book, {"xl/sharedStrings.xml": strings.encode("utf-16")})
    assert refusal(sst, limits=Limits(max_shared_strings=100)) == "too-large-file"
    assert read_workbook(sst, limits=Limits(max_shared_strings=101))
    book = part(xw_book, "xl/workbook.xml").decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    named = rewrite_zip(xw_book, {"xl/workbook.xml": book.encode("utf-16")})
    assert read_workbook(named).defined_names
    assert refusal(named, limits=Limits(max_defined_names=1)) == "too-large-file"


def test_sheets_read_are_held_to_a_tag_budget_together(xw_book: bytes) -> None:
    """Each sheet within the per-sheet limit, many together are not: 200 sheet entries sharing one part
    of 90,000 empty cells, each named, took 25 s to read. Sheets only looked through count apart: an
    added sheet never uses up what the form's own sheets may take."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    bold = wb.add_format({"bold": True})
    for i in range(3):
        ws = wb.add_worksheet(f"S{i}")
        ws.write_number("A1", i)
        for row in range(1, 200):
            ws.write_blank(row, 0, None, bold)  # formatted, empty: markup the parser goes through
        wb.define_name(f"回答{i}", f"=S{i}!$A$1")
    wb.close()
    data = buf.getvalue()
    tags = [part(data, f"xl/worksheets/sheet{i + 1}.xml").count(b"<") for i in range(3)]
    names = {"回答0", "回答1", "回答2"}
    assert (
        len(read_workbook(data, names=names, limits=Limits(max_total_tags=sum(tags))).sheets["S2"].cells) == 1
    )
    with pytest.raises(WorkbookReadError) as caught:
        read_workbook(data, names=names, limits=Limits(max_total_tags=sum(tags) - 1))
    assert (caught.value.code, caught.value.sheet) == ("sheet-too-large", "S2")
    # Only S0 asked for: S1 and S2 are looked through, within a budget of their own. S1 fits in it (it
    # would not in what S0 left), S2 does not: said to be too large to look through, no cell quoted.
    looked = read_workbook(data, names={"回答0"}, outside=True, limits=Limits(max_total_tags=tags[0]))
    assert tags[1] == tags[0] and looked.sheets["S0"].cells
    assert (looked.sheets["S1"].outside, looked.sheets["S1"].outside_count) == ([(1, 1)], 1)
    assert (looked.sheets["S2"].outside, looked.sheets["S2"].outside_count) == ([], 1)


def test_parts_in_other_zip_methods_or_past_the_file_are_refused_by_name(xw_book: bytes) -> None:
    lzma = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xw_book)) as src, zipfile.ZipFile(lzma, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_LZMA)
    with pytest.raises(WorkbookReadError) as caught:
        read_workbook(lzma.getvalue())
    assert caught.value.code == "not-a-workbook" and "compression method 14" in caught.value.detail


def test_cells_outside_the_names_are_still_held_to_the_limits() -> None:
    data = _named_book()
    assert read_workbook(data, names={"回答"}, limits=Limits(max_col=8, max_row=9)).sheets["入力"].cells
    # H9 is outside every name asked for, yet a sheet reaching past the limits is refused all the same.
    assert refusal(data, names={"回答"}, limits=Limits(max_col=7)) == "sheet-too-large"
    assert refusal(data, names={"回答"}, limits=Limits(max_row=8)) == "sheet-too-large"


def test_a_name_too_wide_to_list_reads_its_sheet_whole() -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("入力")
    ws.write_string("A1", "見出し")
    ws.write_number("C5000", 5)
    wb.define_name("広い", "='入力'!$B$1:$Z$9000")  # 225,000 cells: more than are listed one by one
    wb.close()
    book = read_workbook(buf.getvalue(), names={"広い"})
    assert book.sheets["入力"].cells == {(1, 1): Cell("見出し", "s"), (5000, 3): Cell(5.0, "n")}


def test_cells_listed_for_names_are_bounded_across_sheets() -> None:
    # One name, local to three sheets, 30,000 cells each: two are listed (60,000 of the 65,536 allowed),
    # the sheet of the last name in the workbook part is read whole rather than listing past the bound.
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    for s in ("一", "二", "三"):
        ws = wb.add_worksheet(s)
        ws.write_number("A1", 1)
        ws.write_number("Z1", 26)
        wb.define_name(f"'{s}'!範囲", f"='{s}'!$A$1:$O$2000")
    wb.close()
    book = read_workbook(buf.getvalue(), names={"範囲"})
    assert book.sheets["一"].cells == book.sheets["三"].cells == {(1, 1): Cell(1.0, "n")}
    assert book.sheets["二"].cells == {(1, 1): Cell(1.0, "n"), (1, 26): Cell(26.0, "n")}  # named last


def test_a_returned_form_is_read_through_its_names_alone(generated) -> None:
    from promoter import returned

    from dxsheets import forms as F
    from dxsheets.formread import read_form

    data = returned(generated.distribute, generated.masters().active_departments[0])
    book = read_workbook(data, names=F.READ_NAMES)
    everything = read_workbook(data)
    assert {n for n, s in book.sheets.items() if s.cells} == {F.MAIN_SHEET, F.META_SHEET}
    assert book.sheets[F.LISTS_SHEET].cells == {}  # the 選択肢 sheet: no input lives there
    main = book.sheets[F.MAIN_SHEET].cells
    assert 0 < len(main) < len(everything.sheets[F.MAIN_SHEET].cells)  # labels and headings are skipped
    assert all(everything.sheets[F.MAIN_SHEET].cells[at] == cell for at, cell in main.items())
    assert read_form(book) == read_form(everything)


def test_remembered_structure_parts_never_leak_between_files(xw_book: bytes) -> None:
    # The workbook part and relationships are remembered by their exact bytes: the same bytes read the
    # same, other bytes are parsed afresh, and a refusal is never remembered as a success.
    first = read_workbook(xw_book)
    assert read_workbook(xw_book) == first
    wb_xml = part(xw_book, "xl/workbook.xml")
    renamed = rewrite_zip(
        xw_book, {"xl/workbook.xml": wb_xml.replace('name="隠し"'.encode(), 'name="別名"'.encode())}
    )
    assert "別名" in read_workbook(renamed).sheets and "別名" not in first.sheets
    doctype = wb_xml.replace(b"<workbook", b'<!DOCTYPE w [<!ENTITY e "x">]><workbook', 1)
    assert refusal(rewrite_zip(xw_book, {"xl/workbook.xml": doctype})) == "doctype"
    assert refusal(rewrite_zip(xw_book, {"xl/workbook.xml": doctype})) == "doctype"  # still refused
    assert read_workbook(xw_book) == first


SEVEN = {(1, 1): Cell(7.0, "n")}


@pytest.mark.parametrize(
    ("sheet", "expected"),
    [
        # "</sheetData>" in a comment or a CDATA section before the real end: the reader is not fooled.
        (
            sheet_xml('<!-- </sheetData> --><sheetData><row r="1"><c r="A1"><v>7</v></c></row></sheetData>'),
            SEVEN,
        ),
        (
            sheet_xml(
                '<sheetData><row r="1"><c r="A1"><v>7</v></c><c r="B1" t="inlineStr"><is><t><![CDATA[</sheetData>]]>'
                "</t></is></c></row></sheetData>"
            ),
            {**SEVEN, (1, 2): Cell("</sheetData>", "s")},
        ),
        # a prefixed root and sheet data, with the parts after it as Excel writes them
        (
            (
                f'<x:worksheet xmlns:x="{SML}"><x:dimension ref="A1"/><x:sheetData><x:row r="1"><x:c r="A1">'
                '<x:v>7</x:v></x:c></x:row></x:sheetData><x:pageMargins left="0.7"/></x:worksheet>'
            ).encode(),
            SEVEN,
        ),
    ],
)
def test_values_are_read_from_the_sheet_data_however_it_is_spelled(
    xw_book: bytes, sheet: bytes, expected: dict
) -> None:
    cells = read_workbook(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": sheet})).sheets[FORM].cells
    assert cells == expected


def test_a_sheet_broken_before_its_values_end_is_still_refused(xw_book: bytes) -> None:
    broken = sheet_xml('<sheetData><row r="1"><c r="A1"><v>7</v></row></sheetData>')  # </c> missing
    assert refusal(rewrite_zip(xw_book, {"xl/worksheets/sheet1.xml": broken})) == "xml-malformed"


def test_parts_are_inflated_with_their_size_and_checksum_checked(xw_book: bytes) -> None:
    expected = read_workbook(xw_book)
    # The same parts stored instead of deflated read the same.
    stored = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xw_book)) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    assert read_workbook(stored.getvalue()) == expected
    # A sheet whose stored bytes were damaged in transit (same sizes, wrong content) is refused.
    with zipfile.ZipFile(io.BytesIO(stored.getvalue())) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    damaged = bytearray(stored.getvalue())
    damaged[start + 200] ^= 0x01
    assert refusal(bytes(damaged)) == "truncated"


@pytest.mark.parametrize("entries", [600, 70_000], ids=["zip", "zip64"])
def test_a_zip_of_too_many_parts_is_refused_from_its_end_record_before_zipfile_lists_them(
    monkeypatch: pytest.MonkeyPatch, entries: int
) -> None:
    data = hostile.zip_of_many_entries(entries)
    assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == entries  # a zip any reader lists

    def listing(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipfile listed the directory")

    monkeypatch.setattr(zipfile, "ZipFile", listing)
    with pytest.raises(WorkbookReadError) as refused:
        read_workbook(data, Limits())
    assert refused.value.code == "zip-bomb"
    assert xlsxread.sniff(data) == xlsxread.FORMAT_XLSX  # then refused by the reader, as above
    assert xlsxread.document_kind(data) is None


def test_a_zip_within_the_entry_limit_is_listed_as_before() -> None:
    assert not xlsxread.zip_directory_too_large(hostile.zip_of_many_entries(500), 500)
    assert xlsxread.zip_directory_too_large(hostile.zip_of_many_entries(501), 500)


def test_the_application_a_workbook_names_is_kept_to_a_programs_length(xw_book: bytes) -> None:
    app = part(xw_book, "docProps/app.xml")
    long = re.sub(
        rb"<Application>[^<]*</Application>", b"<Application>" + b"X" * 100_000 + b"</Application>", app
    )
    assert long != app
    assert read_workbook(rewrite_zip(xw_book, {"docProps/app.xml": long})).application == "X" * 200


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_a_shared_string_table_of_more_strings_than_a_form_holds_is_refused_before_parsing(
    tmp_path: Path, prefix: str
) -> None:
    """780,000 short strings in an 18 MB workbook cost 2.6 s and 250 MB to parse; a form has hundreds."""
    path = tmp_path / "many.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("名簿").write_string("A1", "placeholder")
    wb.close()

    def table(n: int) -> bytes:
        items = "".join(f"<{prefix}si><{prefix}t>文字列{i}</{prefix}t></{prefix}si>" for i in range(n))
        xmlns = f'xmlns:x="{SML}"' if prefix else f'xmlns="{SML}"'
        return f'<{prefix}sst {xmlns} count="{n}" uniqueCount="{n}">{items}</{prefix}sst>'.encode()

    limits = Limits(max_shared_strings=100)
    within = rewrite_zip(path.read_bytes(), {"xl/sharedStrings.xml": table(50 if prefix else 100)})
    assert read_workbook(within, limits).sheets["名簿"].cells[(1, 1)].value == "文字列0"
    beyond = rewrite_zip(path.read_bytes(), {"xl/sharedStrings.xml": table(101)})
    assert refusal(beyond, limits=limits) == "too-large-file"
