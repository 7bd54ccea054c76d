"""Safe, fast reader for untrusted .xlsx workbooks, built on zipfile and the stdlib XML parser.

Department returns are untrusted: they can be another format under an .xlsx name, half-copied, encrypted,
zip or XML bombs, or "Strict Open XML" saves that openpyxl silently reads as zero sheets. This module
decides the format from content, checks every size it can *before* inflating or parsing, and then reads
only what the survey loop needs: cell values (with formula/cache flags), sheet states, defined names and
a little document metadata. Every refusal is a :class:`WorkbookReadError` with a stable ``code``.

XML safety: every part is transcoded to UTF-8 and refused (code ``doctype``) if it contains ``<!DOCTYPE``
anywhere. Entity declarations and external entities can only live in a DTD, so with no DOCTYPE there is
nothing for an entity bomb or XXE to use: the stdlib C parser is then as safe as defusedxml, whose
pure-Python callbacks parse ~3x slower (the whole read ~2x; see ``benchmarks/read_floor.py``). Parts
larger than ``_TREE_MAX_BYTES`` are parsed incrementally with bounded memory.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import os
import posixpath
import pyexpat
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLPullParser
from xml.etree.ElementTree import fromstring as _c_fromstring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.ElementTree import fromstring as _defused_fromstring

# --------------------------------------------------------------------------------------------------------
# The XML parser. Every part is transcoded to UTF-8 and refused if it holds "<!DOCTYPE" before any parser
# sees it: entities can only be declared in a DOCTYPE, so nothing can expand. On top of that:
# * with expat >= 2.4.1 (billion-laughs and quadratic-blowup limits built in; external entities are never
#   fetched by ElementTree), the C parser is used: defusedxml's pure-Python parser makes whole reads ~2x
#   slower (benchmarks/read_floor.py) for no protection beyond the byte check;
# * with an older expat, or DXSHEETS_DEFUSEDXML=1, every parse goes through defusedxml (forbid_dtd=True).
# --------------------------------------------------------------------------------------------------------

EXPAT_HARDENED = pyexpat.version_info >= (2, 4, 1)
USE_DEFUSEDXML = os.environ.get("DXSHEETS_DEFUSEDXML") == "1" or not EXPAT_HARDENED


def _fromstring(data: bytes) -> Element:
    if USE_DEFUSEDXML:
        return _defused_fromstring(data, forbid_dtd=True)
    return _c_fromstring(data)


def _pull_parser() -> XMLPullParser:
    if USE_DEFUSEDXML:
        # The same defused expat parser that defusedxml's own iterparse hands to XMLPullParser.
        return XMLPullParser(
            ("start", "end"), _parser=DefusedXMLParser(target=TreeBuilder(), forbid_dtd=True)
        )
    return XMLPullParser(("start", "end"))


FORMAT_XLSX = "xlsx"
FORMAT_ENCRYPTED = "encrypted"
FORMAT_IRM = "irm"  # encrypted by a sensitivity label (rights management): no password opens it
FORMAT_XLS = "xls"
FORMAT_ODS = "ods"
FORMAT_EMPTY = "empty"
FORMAT_OTHER = "other"
FORMAT_MSG = "msg"  # an Outlook message saved by drag and drop (OLE2, like .xls)
FORMAT_ZIP = "zip"  # a zip archive holding files (workbooks, perhaps), not a workbook itself
FORMAT_XLSB = "xlsb"  # Excel binary workbook: an OPC package whose parts are BIFF12 records, not XML

ERROR_CODES = frozenset(
    {
        "empty-file",
        "not-a-workbook",
        "encrypted",
        "irm",
        "legacy-xls",
        "ods",
        "xlsb",
        "outlook-msg",
        "zip-archive",
        "truncated",
        "zip-bomb",
        "doctype",
        "xml-malformed",
        "missing-part",
        "sheet-too-large",
        "too-large-file",
    }
)

ZIP_MAGIC = b"PK\x03\x04"  # a zip: every Office Open XML file, OpenDocument, an archive
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: .xls, encrypted OOXML, .msg, .doc
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_STRICT_SML_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"

# Parts up to this size are parsed into a whole tree (fastest); larger ones are streamed so that a hostile
# part full of tiny elements cannot turn 50 MB of XML into gigabytes of Element objects.
_TREE_MAX_BYTES = 1024**2
_STREAM_CHUNK = 64 * 1024
_META_MAX_BYTES = 4 * 1024**2  # rels and docProps parts; no writer makes them anywhere near this big
_MAX_DEPTH = 64  # real OOXML nests < 15 deep
_MAX_FANOUT = 20_000  # children of one element we must keep whole (a row, a rich string)
_RATIO_MIN_BYTES = 1024**2  # small parts compress very well legitimately: only judge the ratio of big ones

# Excel's own grid: references beyond it are not references.
_EXCEL_MAX_ROW = 1_048_576
_EXCEL_MAX_COL = 16_384


@dataclass(frozen=True)
class Limits:
    """Refusal thresholds; the defaults are generous for a survey form and tiny for a bomb.

    ``max_total_cells`` (an addition to the original brief) caps cells across all parsed sheets, since
    ``max_cells`` alone is per sheet and a workbook may hold hundreds of sheets.
    """

    max_file_bytes: int = 20 * 1024**2
    max_entries: int = 500
    max_total_uncompressed: int = 100 * 1024**2  # sum of declared sizes in the zip directory
    max_part_uncompressed: int = 50 * 1024**2
    max_ratio: float = 200.0  # applied to entries larger than 1 MiB uncompressed
    max_row: int = 10_000  # any cell reference or <dimension> beyond -> refuse
    max_col: int = 200
    max_cells: int = 200_000  # per sheet
    # Markup tags in one sheet's or the workbook part's XML (a cell is one to three): each costs parsing time
    # even when it holds nothing (~3 us an empty formatted cell). A form's sheet has ~1,000; 100,000 parse
    # in ~0.3 s. 2,000,000 empty cells (4 MB zipped, within every other limit) took 7 s, a workbook part of
    # 3,000,000 junk elements (15 MB zipped) 5 s.
    max_part_tags: int = 100_000
    # Tags of all the sheets read, together (the sheets looked through for notes count apart): 200 sheets
    # sharing one part of 90,000 empty cells, each with a name of the form's, took 25 s in a 16 KB file.
    max_total_tags: int = 150_000
    max_text: int = 32_767  # longer cell text is cut (and Cell.truncated=True)
    max_total_cells: int = 1_000_000  # all parsed sheets together
    max_shared_strings: int = 100_000  # a form has a few hundred; 100,000 parse in ~0.3 s
    # A form has 14 defined names (8 more a copy of its sheet); workbooks that took in sheets from others for
    # years carry thousands of junk ones. 400,000 (1.1 MB zipped) took 1.4 s to read; 10,000 take ~35 ms.
    max_defined_names: int = 10_000
    # CPU time one file may take in a collect worker (Linux, macOS); then the worker is stopped.
    max_cpu_seconds: int = 60
    # Time the collect workers may go without finishing anything, on the clock; then they are stopped. The
    # backstop where no CPU limit stops a worker: Windows, or a worker blocked without using its CPU.
    max_stall_seconds: float = 120


DEFAULT_LIMITS = Limits()


class WorkbookReadError(Exception):
    """A file we refuse or cannot read.

    Attributes:
        code: Stable kebab-case reason, one of ``ERROR_CODES``; safe to branch on and to count.
        detail: English explanation for logs; wording may change.
        sheet, cell, where: Where in the workbook, when one place is to blame (a sheet used far beyond
            the grid limits): the sheet, the cell when it is known exactly, and ``where`` in words a person
            can act on ("課題抽出シート!C20000", "課題抽出シートの 20,000 行目"). Empty otherwise.
    """

    def __init__(self, code: str, detail: str, sheet: str = "", cell: str = "", where: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.sheet = sheet
        self.cell = cell
        self.where = where


@dataclass(slots=True)
class Cell:
    """One ``<c>`` element as stored in the sheet XML.

    ``value`` is str for shared/inline/formula strings, error texts (``#DIV/0!``) and ISO dates (``t="d"``),
    float for numbers, bool for booleans and None when the cell holds no value. ``kind`` is one of
    ``"s"``, ``"n"``, ``"b"``, ``"e"``, ``"d"``, ``"empty"``. ``cached`` is False only for a formula
    that was never calculated (no ``<v>``). A ``<c>`` with no content at all (a styled blank) is not kept.
    """

    value: str | float | bool | None
    kind: str
    formula: str | None = None
    cached: bool = True
    truncated: bool = False


@dataclass
class RawSheet:
    """A sheet's name, visibility and the cells present in its XML, keyed by 1-based ``(row, col)``.

    For a sheet read by names with ``outside=True``: ``outside`` lists the first cells holding something
    to the right of or below every name on the sheet (also in ``cells``), ``outside_count`` counts them all;
    on a sheet no name points at (``unnamed``: one a person added), its first cells holding something (see
    `MAX_UNNAMED`).
    """

    name: str
    state: str
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    outside: list[tuple[int, int]] = field(default_factory=list)
    outside_count: int = 0
    unnamed: bool = False


@dataclass
class RawWorkbook:
    """Everything :func:`read_workbook` extracts from one file."""

    sheets: dict[str, RawSheet]
    defined_names: dict[str, str]
    local_names: dict[tuple[str, str], str]
    date1904: bool
    strict: bool
    core_modified: datetime | None
    core_created: datetime | None
    application: str | None


# --------------------------------------------------------------------------------------------------------
# Small public helpers
# --------------------------------------------------------------------------------------------------------


def col_letter(col: int) -> str:
    """Return the Excel column letters for a 1-based column number.

    Args:
        col: Column number, 1 or more (1 -> "A", 27 -> "AA").

    Returns:
        The column letters.

    Raises:
        ValueError: If ``col`` is below 1.
    """
    if col < 1:
        raise ValueError(f"column must be >= 1, got {col}")
    letters = []
    while col:
        col, rem = divmod(col - 1, 26)
        letters.append(chr(65 + rem))
    return "".join(reversed(letters))


_MAX_SHEET_NAME = 31  # Excel's own limit on a sheet's name


def sheet_label(sheet: str) -> str:
    """A sheet's name as a message names a place in it: no longer than Excel allows one (a hostile
    workbook's can be megabytes, then repeated in every problem of thousands)."""
    return sheet if len(sheet) <= _MAX_SHEET_NAME else sheet[:_MAX_SHEET_NAME] + "…"


def cell_name(row: int, col: int) -> str:
    """Return the A1-style name of a cell, e.g. ``cell_name(3, 2) == "B3"``.

    Args:
        row: 1-based row.
        col: 1-based column.

    Returns:
        The cell name.

    Raises:
        ValueError: If ``row`` or ``col`` is below 1.
    """
    if row < 1:
        raise ValueError(f"row must be >= 1, got {row}")
    return f"{col_letter(col)}{row}"


_EPOCH_1900 = date(1899, 12, 30)  # serial 61 onwards; Excel counts a fictitious 1900-02-29 as serial 60
_EPOCH_1904 = date(1904, 1, 1)


def excel_serial_to_date(serial: float, date1904: bool = False) -> date:
    """Convert an Excel date serial to a date, dropping any time of day.

    Follows Excel: in the 1900 system serial 1 is 1900-01-01 and serial 60 is the non-existent
    1900-02-29 (kept for Lotus 1-2-3 compatibility); serial 0 is Excel's "1900-01-00", returned as
    1899-12-31. In the 1904 system serial 0 is 1904-01-01.

    Args:
        serial: The number stored in the cell.
        date1904: True if the workbook uses the 1904 date system (``RawWorkbook.date1904``).

    Returns:
        The calendar date.

    Raises:
        ValueError: For negative, non-finite or out-of-range serials, and for serial 60 in the 1900 system.
    """
    if not math.isfinite(serial) or serial < 0:
        raise ValueError(f"not a date serial: {serial!r}")
    days = int(serial)
    if date1904:
        base = _EPOCH_1904
    else:
        if days == 60:
            raise ValueError("serial 60 is 1900-02-29, a day that exists only in Excel")
        if days < 60:
            days += 1  # before the fictitious leap day the 1899-12-30 epoch is one day off
        base = _EPOCH_1900
    try:
        return base + timedelta(days=days)
    except OverflowError as exc:
        raise ValueError(f"date serial out of range: {serial!r}") from exc


_A1_PART = r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})"
_AREA_RE = re.compile(rf"{_A1_PART}(?::{_A1_PART})?")
# Characters that cannot appear in an unquoted sheet name of a plain reference; their presence means an
# external reference ([1]Sheet), a 3-D range (A:B), a formula or a union.
_UNQUOTED_SHEET_RE = re.compile(r"[^\[\]:'\"!(),;{}*?/\\\s=+&<>^-][^\[\]:'\"!(),;{}*?/\\\s=+&<>^]*")


def parse_ref(refers_to: str) -> tuple[str, int, int, int, int]:
    """Split a defined name's refers-to text into sheet and rectangle.

    Every return carries the same few references, so short ones are parsed once per process.

    Args:
        refers_to: e.g. ``"'My Sheet'!$B$3:$E$22"`` or ``"Sheet1!A1"`` (a leading ``=`` is tolerated).

    Returns:
        ``(sheet, first_row, first_col, last_row, last_col)``, 1-based, with first <= last.

    Raises:
        ValueError: For ``#REF!``, external or 3-D references, unions, whole rows/columns, formulas,
            constants, references without a sheet, and references outside Excel's grid.
    """
    if len(refers_to) <= 256:
        return _parse_ref_cached(refers_to)
    return _parse_ref(refers_to)


def _parse_ref(refers_to: str) -> tuple[str, int, int, int, int]:
    """The uncached work of :func:`parse_ref`."""
    text = refers_to.strip()
    if text.startswith("="):
        text = text[1:].lstrip()
    sheet, rest = _split_sheet(text)
    match = _AREA_RE.fullmatch(rest)
    if match is None:
        raise ValueError(f"not a single-area cell reference: {refers_to!r}")
    c1, r1, c2, r2 = match.groups()
    row1, col1 = int(r1), _letters_to_col(c1)
    row2, col2 = (int(r2), _letters_to_col(c2)) if c2 is not None else (row1, col1)
    for row, col in ((row1, col1), (row2, col2)):
        if not (1 <= row <= _EXCEL_MAX_ROW and 1 <= col <= _EXCEL_MAX_COL):
            raise ValueError(f"reference outside Excel's grid: {refers_to!r}")
    return sheet, min(row1, row2), min(col1, col2), max(row1, row2), max(col1, col2)


_parse_ref_cached = functools.lru_cache(maxsize=1024)(_parse_ref)


def _split_sheet(text: str) -> tuple[str, str]:
    """Split ``Sheet!A1`` / ``'It''s'!A1`` into the sheet name and the part after ``!``."""
    if text.startswith("'"):
        name_parts = []
        pos = 1
        while True:
            end = text.find("'", pos)
            if end < 0:
                raise ValueError(f"unterminated quoted sheet name: {text!r}")
            name_parts.append(text[pos:end])
            if text.startswith("''", end):  # '' inside quotes is one literal quote
                name_parts.append("'")
                pos = end + 2
                continue
            break
        sheet, after = "".join(name_parts), text[end + 1 :]
        if not sheet or not after.startswith("!"):
            raise ValueError(f"not a sheet reference: {text!r}")
        return sheet, after[1:]
    sheet, bang, rest = text.partition("!")
    if not bang or not _UNQUOTED_SHEET_RE.fullmatch(sheet):
        raise ValueError(f"not a sheet reference: {text!r}")
    if sheet.upper() == "#REF":  # Excel's mark of a deleted sheet ("#REF!$C$6"); a sheet so named is quoted
        raise ValueError(f"reference to a deleted sheet: {text!r}")
    return sheet, rest


def _letters_to_col(letters: str) -> int:
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    return col


# --------------------------------------------------------------------------------------------------------
# Format sniffing
# --------------------------------------------------------------------------------------------------------


# Bytes of central directory allowed per entry the reader allows: a workbook's part names are short, but
# a name may take up to a kilobyte.
_CD_BYTES_PER_ENTRY = 1024


def zip_directory_size(data: bytes) -> tuple[int, int] | None:
    """(entries, bytes) of the zip's central directory, as its end record says (ZIP64 too), without
    listing it; None when there is no readable end record (zipfile then refuses the file on its own)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))  # the comment is at most 64 KB
    if end < 0 or end + 22 > len(data):
        return None
    entries, size = struct.unpack_from("<HI", data, end + 10)
    if entries == 0xFFFF or size == 0xFFFFFFFF:  # ZIP64: the locator, 20 bytes before, says where
        locator = end - 20
        if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
            (record,) = struct.unpack_from("<Q", data, locator + 8)
            if record + 56 <= len(data) and data[record : record + 4] == b"PK\x06\x06":
                entries, size = struct.unpack_from("<QQ", data, record + 32)
    return entries, size


def zip_directory_too_large(data: bytes, max_entries: int) -> bool:
    """True when the zip's end record says its directory holds more than `max_entries` entries, or more
    bytes than that many could take: zipfile lists the whole directory before anything can be refused
    (1.2 s for 200,000 empty entries in 17 MB)."""
    found = zip_directory_size(data)
    return found is not None and (found[0] > max_entries or found[1] > max_entries * _CD_BYTES_PER_ENTRY)


def sniff(data: bytes) -> str:
    """Decide a file's format from its content (magic bytes and zip directory), never from its name.

    An OLE2 compound file is ``encrypted`` (password-protected OOXML, or an .xls with a FILEPASS record),
    ``irm`` (encrypted by a sensitivity label: Information Rights Management, not a password), ``xls``
    (a BIFF workbook, or an OLE2 file too damaged to inspect), ``msg`` (an Outlook message) or
    ``other`` (e.g. a .doc). A zip is
    ``ods`` (OpenDocument spreadsheet mimetype), ``xlsb`` (Excel's binary save: ``xl/workbook.bin``),
    ``xlsx`` (has ``[Content_Types].xml``; also any zip whose
    directory is unreadable, typically a half-copied workbook, or too large to list, which the reader
    refuses as a zip bomb), ``other`` (a workbook's parts without
    their content types) or ``zip`` (an archive of files: returns zipped for mail, perhaps with a password).

    Args:
        data: The whole file.

    Returns:
        One of the ``FORMAT_*`` constants.
    """
    if not data:
        return FORMAT_EMPTY
    if data.startswith(OLE_MAGIC):
        return _sniff_ole(data)
    if not data.startswith(ZIP_MAGIC):
        return FORMAT_OTHER
    if zip_directory_too_large(data, DEFAULT_LIMITS.max_entries):
        return FORMAT_XLSX
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception:  # any failure to read the directory means an incomplete zip
        return FORMAT_ODS if _first_zip_entry_is_ods_mimetype(data) else FORMAT_XLSX
    with zf:
        return _sniff_zip(zf, _zip_entries(zf))


def _zip_entries(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Entries by normalised name: OPC part names compare case-insensitively, and some writers use "\\"."""
    return {info.filename.replace("\\", "/").lower(): info for info in zf.infolist()}


def _sniff_zip(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> str:
    """Classify an opened zip; reads at most a few bytes of the ``mimetype`` entry."""
    mimetype = infos.get("mimetype")
    if mimetype is not None and mimetype.file_size <= 256:
        try:
            with zf.open(mimetype) as fh:
                if fh.read(257).strip() == _ODS_MIMETYPE:
                    return FORMAT_ODS
        except Exception:  # a damaged mimetype entry just means "not ODS"
            pass
    if "[content_types].xml" in infos:
        if "xl/workbook.bin" in infos and "xl/workbook.xml" not in infos:
            return FORMAT_XLSB
        if _ooxml_document(infos):  # a Word or PowerPoint file is an Office Open XML package too
            return FORMAT_OTHER
        return FORMAT_XLSX
    if any(name.startswith(("xl/", "_rels/", "docprops/")) for name in infos):
        return FORMAT_OTHER  # the parts of a workbook without its content types: a damaged one
    return FORMAT_ZIP


# Documents people send instead of the workbook (printed to PDF, photographed, pasted into Word), by their
# signatures: kind -> leading bytes.
_DOCUMENT_MAGIC = {
    "pdf": (b"%PDF-",),
    "image": (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*"),
    "word": (b"{\\rtf",),  # rich text, as Word saves it
}


def _ooxml_document(names: Iterable[str]) -> str | None:
    """``word`` or ``powerpoint`` for an Office Open XML package of that kind (by its part names, lower
    case), None for a workbook or anything else."""
    names = list(names)
    if any(n.startswith("xl/") for n in names):
        return None
    if any(n.startswith("word/") for n in names):
        return "word"
    if any(n.startswith("ppt/") for n in names):
        return "powerpoint"
    return None


def document_kind(data: bytes) -> str | None:
    """What a file that is not a workbook is, when it is a document people commonly send instead:
    ``pdf``, ``image`` (JPEG, PNG, GIF, TIFF, HEIC), ``word`` (.docx, .doc, .rtf) or ``powerpoint``
    (.pptx, .ppt). None for anything else. Reads only signatures and zip or OLE2 directories."""
    for kind, magics in _DOCUMENT_MAGIC.items():
        if data.startswith(magics):
            return kind
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):  # iPhone photos
        return "image"
    if data.startswith(ZIP_MAGIC):
        if zip_directory_too_large(data, DEFAULT_LIMITS.max_entries):
            return None
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return _ooxml_document(_zip_entries(zf))
        except Exception:
            return None
    if data.startswith(OLE_MAGIC):
        try:
            with open_compound_file(data) as ole:
                if ole.exists("WordDocument"):
                    return "word"
                if ole.exists("PowerPoint Document"):
                    return "powerpoint"
        except Exception:
            return None
    return None


def _first_zip_entry_is_ods_mimetype(data: bytes) -> bool:
    """Read the first local file header by hand, for zips whose central directory is missing."""
    if len(data) < 30:
        return False
    name_len, extra_len = struct.unpack_from("<HH", data, 26)
    method = struct.unpack_from("<H", data, 8)[0]
    start = 30 + name_len + extra_len
    return (
        method == 0
        and data[30 : 30 + name_len] == b"mimetype"
        and data[start : start + len(_ODS_MIMETYPE)] == _ODS_MIMETYPE
    )


# Marks of the rights-management (IRM) data space, MS-OFFCRYPTO 2.2.1: Office 2007+ files keep the package
# in EncryptedPackage under a DRMEncryptedTransform, with no EncryptionInfo (which every password-encrypted
# package has); Office 2003 files keep it in "\x09DRMContent".
_IRM_PARTS = (
    "\x06DataSpaces/TransformInfo/DRMEncryptedTransform",
    "\x06DataSpaces/DataSpaceInfo/DRMEncryptedDataSpace",
    "\x09DRMContent",
)


# Directory entries an OLE2 compound file may have before it is opened. A legacy .xls or an encrypted
# workbook has a dozen or so, an Outlook mail ~10 per attachment; olefile's cost grows faster than the
# entries (1 s for 8,000), so a file made of tens of thousands would stall whoever opens it.
MAX_COMPOUND_ENTRIES = 2048
_CFB_ENDOFCHAIN = 0xFFFFFFFE


def compound_file_entries(data: bytes) -> int | None:
    """How many directory entries the OLE2 compound file in `data` has, from its header and FAT alone
    (MS-CFB 2.2, 2.5, 2.6): the directory's sector chain is followed, at most until it holds more than
    MAX_COMPOUND_ENTRIES entries (a chain that loops back does). None for a header or chain too damaged to follow,
    which the reader then refuses on its own."""

    def u32(offset: int) -> int | None:
        return int.from_bytes(data[offset : offset + 4], "little") if offset + 4 <= len(data) else None

    if len(data) < 512 or data[0x1E:0x20] not in (b"\x09\x00", b"\x0c\x00"):
        return None
    size = 512 if data[0x1E] == 9 else 4096
    per_sector = size // 4
    n_fat, sector, difat, n_difat = u32(0x2C) or 0, u32(0x30), u32(0x44), u32(0x48) or 0
    fat_sectors = [u32(0x4C + 4 * i) for i in range(min(n_fat, 109))]
    for _ in range(min(n_difat, len(data) // size)):  # the DIFAT chain: more FAT sector numbers
        if difat is None or difat >= _CFB_ENDOFCHAIN - 5 or len(fat_sectors) >= n_fat:
            break
        base = (difat + 1) * size
        fat_sectors += [u32(base + 4 * i) for i in range(per_sector - 1)]
        difat = u32(base + size - 4)
    sectors = 0
    while sector is not None and sector != _CFB_ENDOFCHAIN:
        sectors += 1
        if sectors * size // 128 > MAX_COMPOUND_ENTRIES:
            break  # too many already (or a loop): no need to follow it further
        fat = fat_sectors[sector // per_sector] if sector // per_sector < len(fat_sectors) else None
        if fat is None or (sector + 1) * size >= len(data) + size:
            return None
        sector = u32((fat + 1) * size + 4 * (sector % per_sector))
    return None if sector is None else sectors * size // 128


class TooManyParts(ValueError):
    """A file with more parts than any return needs (a compound file's directory entries beyond
    MAX_COMPOUND_ENTRIES, a mail's MIME parts): not opened."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} parts")
        self.limit = limit


def open_compound_file(data: bytes) -> Any:
    """olefile's OleFileIO over `data`, once its directory is known to be small enough to open: raises
    TooManyParts otherwise (and olefile's errors for a file too damaged to open)."""
    entries = compound_file_entries(data)
    if entries is not None and entries > MAX_COMPOUND_ENTRIES:
        raise TooManyParts(MAX_COMPOUND_ENTRIES)
    import olefile  # local import: only OLE2 inputs pay for it

    return olefile.OleFileIO(io.BytesIO(data))


def _sniff_ole(data: bytes) -> str:
    """Tell a password-protected or rights-managed workbook from a legacy .xls (or another OLE2 document)."""
    import msoffcrypto  # local imports: only OLE2 inputs pay for them

    from .outlookmsg import is_message

    try:
        with open_compound_file(data) as ole:
            has_info = ole.exists("EncryptionInfo")
            if any(ole.exists(part) for part in _IRM_PARTS) or (
                ole.exists("EncryptedPackage") and not has_info
            ):
                return FORMAT_IRM
            if has_info or ole.exists("EncryptedPackage"):
                return FORMAT_ENCRYPTED
            if ole.exists("Book"):  # BIFF5 (Excel 95): msoffcrypto cannot inspect it
                return FORMAT_XLS
            if is_message(ole):
                return FORMAT_MSG
            if not ole.exists("Workbook"):
                return FORMAT_OTHER
    except TooManyParts:
        return FORMAT_OTHER  # no workbook has this many parts
    except Exception:  # a damaged compound file is most likely an old .xls
        return FORMAT_XLS
    try:
        encrypted = msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted()
    except Exception:  # a damaged BIFF stream: still an .xls to the user
        encrypted = False
    return FORMAT_ENCRYPTED if encrypted else FORMAT_XLS


_REFUSAL_BY_FORMAT = {
    FORMAT_EMPTY: ("empty-file", "the file is empty"),
    FORMAT_ENCRYPTED: ("encrypted", "password-protected workbook (OLE2 container with encrypted package)"),
    FORMAT_IRM: ("irm", "workbook encrypted by a sensitivity label (rights management), not a password"),
    FORMAT_XLS: ("legacy-xls", "legacy binary .xls workbook (OLE2 compound file)"),
    FORMAT_ODS: ("ods", "OpenDocument spreadsheet, not an Office Open XML workbook"),
    FORMAT_XLSB: ("xlsb", "Excel binary workbook (.xlsb), not an XML workbook"),
    FORMAT_OTHER: ("not-a-workbook", "content is not an xlsx workbook"),
    FORMAT_MSG: ("outlook-msg", "Outlook message (.msg), not a workbook"),
    FORMAT_ZIP: ("zip-archive", "a zip archive of files, not a workbook"),
}


def refusal(fmt: str) -> WorkbookReadError:
    """The refusal of a file whose format (from :func:`sniff`) is not a workbook we read."""
    return WorkbookReadError(*_REFUSAL_BY_FORMAT[fmt])


# --------------------------------------------------------------------------------------------------------
# Zip package access with guards
# --------------------------------------------------------------------------------------------------------

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    KeyError,
    ValueError,
    IndexError,
    OverflowError,  # a ZIP64 offset past 2**63: seeking there
    struct.error,
)


class _Package:
    """An opened, size-checked zip with case-insensitive part lookup and bounded reads."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.limits = limits
        self.data = data
        if zip_directory_too_large(data, limits.max_entries):
            raise WorkbookReadError("zip-bomb", f"zip directory of more than {limits.max_entries} entries")
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except _ZIP_ERRORS as exc:
            raise WorkbookReadError("truncated", f"zip directory unreadable ({exc})") from exc
        except (NotImplementedError, RuntimeError) as exc:
            raise WorkbookReadError("not-a-workbook", f"unsupported zip ({exc})") from exc
        _guard_zip(infos, limits)
        self.entries = _zip_entries(self.zf)

    def find(self, part: str) -> str | None:
        """Return the lookup key of ``part`` if present (tolerating case and %-escapes), else None."""
        key = part.lstrip("/").lower()
        if key in self.entries:
            return key
        unquoted = unquote(key)
        return unquoted if unquoted in self.entries else None

    def read(self, part: str) -> bytes:
        """Inflate one part; never more than its declared size (already checked against the limits) + 1."""
        key = self.find(part)
        if key is None:
            raise WorkbookReadError("missing-part", f"part {part!r} is not in the package")
        info = self.entries[key]
        limit = self.limits.max_part_uncompressed
        direct = self._inflate_direct(info)
        if direct is not None:
            return direct
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # The only two a workbook's writers use; zipfile's others (bzip2, LZMA) fail in their own ways.
            raise WorkbookReadError(
                "not-a-workbook", f"{part!r} uses zip compression method {info.compress_type}"
            )
        try:
            with self.zf.open(info) as fh:
                # Asking for no more than declared (already within limits) + 1 bounds the inflater's output
                # buffer too: a part that lies about its size never gets to inflate further than that.
                data = fh.read(min(info.file_size, limit) + 1)
        except _ZIP_ERRORS as exc:
            raise WorkbookReadError("truncated", f"cannot inflate {part!r} ({exc})") from exc
        except (NotImplementedError, RuntimeError) as exc:
            # unsupported compression method or a password-protected zip entry: not something Excel wrote
            raise WorkbookReadError("not-a-workbook", f"cannot inflate {part!r} ({exc})") from exc
        if len(data) > limit:
            raise WorkbookReadError("zip-bomb", f"part {part!r} inflates beyond {limit} bytes")
        return data

    def _inflate_direct(self, info: zipfile.ZipInfo) -> bytes | None:
        """A plain stored or deflated part inflated straight from the file's bytes, or None for anything
        else (zipfile then reads it, and says what is wrong).

        The same checks as zipfile (local header and name, declared size, CRC), without its file-object
        layers, which cost as much as the inflating itself for a form's small parts. Never inflates more
        than the declared size (already within the limits).
        """
        if (
            info.flag_bits & 0x1
            or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
            or info.file_size == 0  # (zlib takes a max_length of 0 as "no limit")
        ):
            return None
        data, at = self.data, info.header_offset
        header = data[at : at + 30]
        if len(header) < 30 or header[:4] != ZIP_MAGIC:
            return None
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        raw_name = data[at + 30 : at + 30 + name_len]
        try:
            name = raw_name.decode("utf-8" if info.flag_bits & 0x800 else "cp437")
        except UnicodeDecodeError:
            return None
        if name != info.orig_filename:
            return None
        start = at + 30 + name_len + extra_len
        stored = memoryview(data)[start : start + info.compress_size]
        if len(stored) < info.compress_size:
            return None
        if info.compress_type == zipfile.ZIP_STORED:
            out = bytes(stored[: info.file_size])
        else:
            try:
                out = zlib.decompressobj(-15).decompress(stored, info.file_size)
            except zlib.error:
                return None
        if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
            return None
        return out

    def xml(self, part: str) -> Element:
        """Read and parse a part that is small enough to hold as a tree."""
        return _parse_tree(self.read(part), part)


def _guard_zip(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse on declared sizes alone, before anything is inflated."""
    if len(infos) > limits.max_entries:
        raise WorkbookReadError("zip-bomb", f"{len(infos)} zip entries (limit {limits.max_entries})")
    total = 0
    for info in infos:
        size = info.file_size
        if size > limits.max_part_uncompressed:
            raise WorkbookReadError(
                "zip-bomb", f"{info.filename!r} declares {size} bytes (limit {limits.max_part_uncompressed})"
            )
        if size > _RATIO_MIN_BYTES and size > limits.max_ratio * max(info.compress_size, 1):
            raise WorkbookReadError(
                "zip-bomb", f"{info.filename!r} compression ratio {size / max(info.compress_size, 1):.0f}"
            )
        total += size
    if total > limits.max_total_uncompressed:
        raise WorkbookReadError(
            "zip-bomb", f"parts declare {total} bytes in total (limit {limits.max_total_uncompressed})"
        )


# --------------------------------------------------------------------------------------------------------
# XML: safety checks and parsing
# --------------------------------------------------------------------------------------------------------

_XML_DECL_RE = re.compile(rb"<\?xml[^>]{0,200}?\?>")
_XML_ENCODING_RE = re.compile(rb"""encoding\s*=\s*["']([^"']{0,60})["']""")
_UTF8_NAMES = frozenset({b"utf-8", b"utf8"})
_UTF16_NAMES = frozenset({b"utf-16", b"utf16"})


def _to_safe_utf8(data: bytes, part: str) -> bytes:
    """Return the part as UTF-8 without a DOCTYPE, or refuse it.

    A package's XML is UTF-8 or UTF-16 (ECMA-376 Part 2, 8.1.4): a part declaring any other encoding is
    refused. Others would hide markup from every count made on the bytes (UTF-7 spells "<" as "+ADw-":
    4,000,000 elements passed as one tag and took 5 s to parse) or break the codec (punycode). UTF-16 is
    transcoded, so every count and the DOCTYPE check below see UTF-8, where a document type declaration
    can only be spelled with the bytes ``<!DOCTYPE``. Callers that count on the bytes before parsing
    run it first and tell the parsers so (``checked=True``); the parsers run it otherwise.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    encoding: str | None = None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif data[:2] == b"<\x00":
        encoding = "utf-16-le"
    elif data[:2] == b"\x00<":
        encoding = "utf-16-be"
    else:
        decl = _XML_DECL_RE.match(data)
        # A declaration padded past what is looked at would still be read by the parser.
        if decl is None and data.startswith(b"<?xml"):
            raise WorkbookReadError("xml-malformed", f"{part!r}: an XML declaration of more than 200 bytes")
        if decl is not None and b"encoding" in decl.group():
            enc_match = _XML_ENCODING_RE.search(decl.group())
            name = enc_match.group(1).lower() if enc_match else b""
            if name in _UTF16_NAMES:
                encoding = "utf-16"
            elif name not in _UTF8_NAMES:
                shown = (enc_match.group(1) if enc_match else decl.group())[:60].decode("ascii", "replace")
                raise WorkbookReadError(
                    "xml-malformed",
                    f"{part!r} declares the encoding {shown!r}: a workbook's are UTF-8 or UTF-16",
                )
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeError as exc:
            raise WorkbookReadError("xml-malformed", f"{part!r}: undecodable as {encoding} ({exc})") from exc
        # The declaration would now lie about the encoding: drop it (the parser then assumes UTF-8).
        text = text.lstrip("\ufeff")
        if text.startswith("<?xml"):
            end = text.find("?>")
            text = text[end + 2 :] if end >= 0 else text
        data = text.encode("utf-8", "surrogatepass")
    if b"<!DOCTYPE" in data:  # (XML is case-sensitive: expat rejects any other spelling itself)
        raise WorkbookReadError("doctype", f"{part!r} contains a document type declaration")
    return data


def _parse_tree(data: bytes, part: str, checked: bool = False) -> Element:
    """Parse a whole part into a tree, after the DOCTYPE check (done already if `checked`: `data` is what
    `_to_safe_utf8` returned); only for parts of bounded size."""
    if len(data) > _META_MAX_BYTES:
        # Metadata parts (workbook, rels, docProps) of this size are not from a real writer.
        raise WorkbookReadError("zip-bomb", f"{part!r} is {len(data)} bytes, too large for its role")
    if not checked:
        data = _to_safe_utf8(data, part)
    try:
        return _fromstring(data)
    except DefusedXmlException as exc:  # cannot happen after the byte check above; kept as a second guard
        raise WorkbookReadError("doctype", f"{part!r}: {exc!r}") from exc
    except (ParseError, ValueError, UnicodeError, LookupError) as exc:
        raise WorkbookReadError("xml-malformed", f"{part!r}: {exc}") from exc


def _iter_stream(
    data: bytes, part: str, clear_depth: int, checked: bool = False
) -> Iterator[tuple[str, Element, int]]:
    """Yield ``(event, element, depth)`` for a big part, keeping memory bounded.

    After each chunk, still-open elements at depth <= ``clear_depth`` drop their finished children (the
    caller has handled those at their "end" events); deeper open elements must stay whole, so they are
    refused past ``_MAX_FANOUT`` children. Nesting is refused past ``_MAX_DEPTH``. `checked`: as for
    :func:`_parse_tree`.
    """
    if not checked:
        data = _to_safe_utf8(data, part)
    parser: Any = _pull_parser()
    stack: list[Element] = []
    chunks = (data[pos : pos + _STREAM_CHUNK] for pos in range(0, len(data), _STREAM_CHUNK))
    try:
        for chunk in itertools.chain(chunks, [None]):
            if chunk is None:
                parser.close()  # flushes the last events and reports an unclosed document
            else:
                parser.feed(chunk)
            for event, elem in parser.read_events():
                if event == "start":
                    stack.append(elem)
                    if len(stack) > _MAX_DEPTH:
                        raise WorkbookReadError("xml-malformed", f"{part!r} nests deeper than {_MAX_DEPTH}")
                    yield "start", elem, len(stack)
                else:
                    yield "end", elem, len(stack)
                    stack.pop()
            for depth, elem in enumerate(stack, 1):
                if depth <= clear_depth:
                    elem.clear()
                elif len(elem) > _MAX_FANOUT:
                    raise WorkbookReadError(
                        "sheet-too-large", f"{part!r}: an element has more than {_MAX_FANOUT} children"
                    )
    except DefusedXmlException as exc:
        raise WorkbookReadError("doctype", f"{part!r}: {exc!r}") from exc
    except ParseError as exc:
        raise WorkbookReadError("xml-malformed", f"{part!r}: {exc}") from exc


def _xml_events(
    data: bytes, part: str, clear_depth: int, checked: bool = False
) -> Iterator[tuple[str, Element, int]]:
    """Like :func:`_iter_stream`, but small parts are parsed whole (several times faster) and walked."""
    if len(data) > _TREE_MAX_BYTES:
        return _iter_stream(data, part, clear_depth, checked)
    return _walk(_parse_tree(data, part, checked), part, 1)


def _walk(elem: Element, part: str, depth: int) -> Iterator[tuple[str, Element, int]]:
    if depth > _MAX_DEPTH:
        raise WorkbookReadError("xml-malformed", f"{part!r} nests deeper than {_MAX_DEPTH}")
    yield "start", elem, depth
    for child in elem:
        yield from _walk(child, part, depth + 1)
    yield "end", elem, depth


_LOCAL_NAMES: dict[str, str] = {}
_T = TypeVar("_T")


def _local(tag: str) -> str:
    """Local name of an ElementTree tag (``{ns}name`` -> ``name``), so Transitional and Strict both match."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rpartition("}")[2]
        if len(_LOCAL_NAMES) < 4096:  # hostile files can invent tags: keep the cache bounded
            _LOCAL_NAMES[tag] = name
    return name


def _children(elem: Element, name: str) -> Iterator[Element]:
    """Direct children with the given local name."""
    return (child for child in elem if _local(child.tag) == name)


def _child(elem: Element, name: str) -> Element | None:
    return next(_children(elem, name), None)


def _attr(elem: Element, name: str) -> str | None:
    """Attribute by local name in any namespace (``r:id`` is Transitional or Strict)."""
    value = elem.get(name)
    if value is not None:
        return value
    suffix = "}" + name
    for key, val in elem.attrib.items():
        if key.endswith(suffix):
            return val
    return None


# --------------------------------------------------------------------------------------------------------
# Strings
# --------------------------------------------------------------------------------------------------------

_XESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """Decode Excel's ``_xHHHH_`` escapes (``_x000D_`` is CR; ``_x005F_`` protects a literal ``_x``)."""
    if "_x" not in text:
        return text
    text = _XESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        # Escaped UTF-16 halves: pair them up; lone ones become U+FFFD rather than poison later writers.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _rich_text(elem: Element) -> str:
    """Text of an ``<si>`` or ``<is>``: its ``<t>`` or the ``<t>`` of its runs; phonetic ``<rPh>`` is skipped."""
    if len(elem) == 1:  # the common case: one plain <t>
        only = elem[0]
        if _local(only.tag) == "t":
            return _unescape(only.text or "")
    parts = []
    for child in elem:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            for sub in child:
                if _local(sub.tag) == "t":
                    parts.append(sub.text or "")
    return _unescape("".join(parts))


def _parse_shared_strings(data: bytes, part: str, max_strings: int) -> list[str]:
    # Counted before parsing: 780,000 short strings in an 18 MB file cost 2.6 s and 250 MB to parse, and a
    # form has a few hundred. Exact for the unprefixed elements every writer uses; a prefixed "x:si" is
    # counted with its end tag, twice.
    data = _to_safe_utf8(data, part)  # (in UTF-16, "<si>" is spelled with other bytes)
    approx = data.count(b"<si>") + data.count(b"<si ") + data.count(b"<si/>") + data.count(b":si>")
    if approx > max_strings:
        raise WorkbookReadError("too-large-file", f"{part!r}: more than {max_strings:,} shared strings")
    if len(data) <= _TREE_MAX_BYTES:
        root = _parse_tree(data, part, checked=True)
        return [_rich_text(si) for si in root if _local(si.tag) == "si"]
    strings = []
    for event, elem, depth in _iter_stream(data, part, clear_depth=1, checked=True):
        if event == "end" and depth == 2 and _local(elem.tag) == "si":
            strings.append(_rich_text(elem))
    return strings


# --------------------------------------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------------------------------------

_CELL_REF_RE = re.compile(r"([A-Za-z]{1,3})([0-9]{1,10})")  # long rows parse, then fail the limits
_CELL_REF_CACHE: dict[str, tuple[int, int]] = {}


def _cell_ref(ref: str) -> tuple[int, int]:
    """``"B3"`` -> ``(3, 2)``; cached because the same few hundred refs recur in every form."""
    hit = _CELL_REF_CACHE.get(ref)
    if hit is not None:
        return hit
    match = _CELL_REF_RE.fullmatch(ref)
    if match is None or match.group(2).lstrip("0") == "":
        raise WorkbookReadError("xml-malformed", f"bad cell reference {ref[:40]!r}")
    result = (int(match.group(2)), _letters_to_col(match.group(1)))
    if len(_CELL_REF_CACHE) < 65_536:
        _CELL_REF_CACHE[ref] = result
    return result


def _to_float(text: str) -> float | None:
    """The number an Excel `<v>` spells; None for what Python's float() alone takes: "nan", "inf", "1e999"
    (too large: infinite) and "1_000"."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number - number == 0.0 and "_" not in text else None


def _to_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


# Cells outside a sheet's names decoded for `RawSheet.outside`; the rest are only counted. Visible sheets no
# name points at looked through for them (a workbook of 400 sheets has the rest left unread), each only
# until its first two cells holding something: that it holds something, and what, is all there is to say.
MAX_OUTSIDE = 20
MAX_UNNAMED = 8
_UNNAMED_ENOUGH = 2


class _Enough(Exception):
    """Raised by a sheet builder that has noted all it needs."""


class _SheetBuilder:
    """Turns ``<row>`` elements into cells, enforcing the grid and cell-count limits as it goes."""

    def __init__(
        self,
        part: str,
        shared: Callable[[], list[str]],
        limits: Limits,
        used_cells: int,
        only: frozenset[tuple[int, int]] | None = None,
        sheet: str = "",
        beyond: tuple[int, int] | None = None,
        enough: int | None = None,
        used_tags: int = 0,
    ) -> None:
        self.part = part
        self.sheet = sheet_label(sheet)  # its name, for a refusal a person can act on
        self.only = only  # the (row, column) of the cells to keep; None keeps all
        # (last row, last column) of the names: cells holding something past either are noted (`outside`)
        self.beyond = beyond
        self.outside: list[tuple[int, int]] = []
        self.outside_count = 0
        self.enough = enough  # noted cells after which the sheet is not read further
        self.shared = shared
        self.limits = limits
        self.used_cells = used_cells  # cells already taken by earlier sheets of this workbook
        self.used_tags = used_tags  # tags of markup in the earlier sheets read (see `Limits.max_total_tags`)
        self.tags = 0  # this sheet's, once it is let through to the parser
        self.cells: dict[tuple[int, int], Cell] = {}
        self.last_row = 0
        self.table: list[str] | None = None  # the shared strings, fetched on first use
        self.max_text = limits.max_text

    def too_large(
        self, what: str, at: tuple[int, int] | None = None, exact: bool = False
    ) -> WorkbookReadError:
        """The refusal of this sheet; `at` is the (row, column) beyond the limits, `exact` when a cell is
        there (a `<dimension>` only claims a range: its row or column is named instead)."""
        lim = self.limits
        cell = where = ""
        if at is not None:
            row, col = at
            if exact:
                cell = cell_name(row, col)
                where = f"{self.sheet}!{cell}"
            else:
                where = (
                    f"{self.sheet}の {row:,} 行目"
                    if row > lim.max_row
                    else f"{self.sheet}の {col_letter(col)} 列"
                )
        return WorkbookReadError(
            "sheet-too-large",
            f"{self.part!r}: {what} (limits: {lim.max_row} rows, {lim.max_col} columns, "
            f"{lim.max_cells} cells per sheet, {lim.max_total_cells} in all)",
            self.sheet,
            cell,
            where,
        )

    def dimension(self, ref: str | None) -> None:
        """Refuse a sheet whose declared used range already exceeds the limits."""
        if not ref:
            return
        for corner in ref.replace("$", "").split(":"):
            try:
                row, col = _cell_ref(corner)
            except WorkbookReadError:
                return  # only a hint: a garbled one is ignored, the cells themselves are checked
            if row > self.limits.max_row or col > self.limits.max_col:
                raise self.too_large(f"<dimension ref={ref[:40]!r}>", (row, col))

    def row(self, row_el: Element) -> None:
        """Add the cells of one ``<row>``; this loop is the reader's hot path, hence the local aliases."""
        r_attr = row_el.get("r")
        if r_attr is None:
            row_num = self.last_row + 1  # r is optional: rows then follow one another
        else:
            parsed_num = _to_int(r_attr)
            if parsed_num is None or parsed_num < 1:
                raise WorkbookReadError("xml-malformed", f"{self.part!r}: bad row number {r_attr[:20]!r}")
            row_num = parsed_num
        self.last_row = row_num
        lim = self.limits
        max_row, max_col, max_text = lim.max_row, lim.max_col, lim.max_text
        cells = self.cells
        local_get = _LOCAL_NAMES.get
        ref_get = _CELL_REF_CACHE.get
        only = self.only
        # Past these, a skipped cell holding something is noted (never, without `beyond`).
        last_row, last_col = self.beyond or (_EXCEL_MAX_ROW, _EXCEL_MAX_COL)
        col = 0
        for c_el in row_el:
            tag = c_el.tag
            if (local_get(tag) or _local(tag)) != "c":
                continue
            ref = c_el.get("r")
            if ref is None:
                col += 1  # r is optional on cells too: count columns ourselves
                cell_row = row_num
                at = (cell_row, col)
            else:
                at = ref_get(ref) or _cell_ref(ref)
                cell_row, col = at
                self.last_row = cell_row
            if cell_row > max_row or col > max_col:
                raise self.too_large(f"cell {cell_name(cell_row, col)}", (cell_row, col), exact=True)
            if only is not None and at not in only:
                if cell_row <= last_row and col <= last_col:
                    continue  # outside every wanted range: labels and headings of a form
                if len(c_el) == 0 and c_el.get("t") != "inlineStr":
                    continue
                if self.outside_count == self.enough:
                    raise _Enough
                self.outside_count += 1  # past every name: something a person put outside the form
                if self.outside_count > MAX_OUTSIDE:
                    continue
                self.outside.append(at)
            # A styled cell with nothing in it (every blank input of a form) holds no value: skip it.
            n_children = len(c_el)
            if n_children == 0 and c_el.get("t") != "inlineStr":
                continue
            # Inlined fast path for the bulk of any form: one <v> holding a shared-string index or a number.
            if n_children == 1:
                v_el = c_el[0]
                tag = v_el.tag
                v_text = v_el.text
                if v_text and (local_get(tag) or _local(tag)) == "v":
                    t = c_el.get("t")
                    if t == "s":
                        value = self.shared_string(v_text)
                        if len(value) <= max_text:
                            cells[at] = Cell(value, "s")
                            continue
                    elif t is None or t == "n":
                        number = _to_float(v_text)
                        if number is not None:
                            cells[at] = Cell(number, "n")
                            continue
            cells[at] = self.cell(c_el)
        if len(cells) > lim.max_cells or len(cells) + self.used_cells > lim.max_total_cells:
            raise self.too_large(f"more than {len(cells)} cells")

    def cell(self, c_el: Element) -> Cell:
        """Decode any ``<c>``; see :class:`Cell` for the mapping of ``t`` to value and kind."""
        v_text = formula = inline = None
        for child in c_el:
            name = _local(child.tag)
            if name == "v":
                v_text = child.text or ""
            elif name == "f":
                formula = _unescape(child.text or "")  # shared-formula followers carry no text
            elif name == "is":
                inline = child
        t = c_el.get("t")
        value: str | float | bool | None
        if t == "s":
            value, kind = (self.shared_string(v_text), "s") if v_text else (None, "empty")
        elif t is None or t == "n":
            number = _to_float(v_text) if v_text else None
            if number is not None:
                value, kind = number, "n"
            elif v_text and v_text.strip():
                # A non-numeric "number" is no Excel output; keep the text so a validator sees it, not a guess.
                value, kind = _unescape(v_text), "s"
            else:
                value, kind = None, "empty"
        elif t == "inlineStr":
            value, kind = (_rich_text(inline), "s") if inline is not None else (None, "empty")
        elif t == "str":
            value, kind = (_unescape(v_text), "s") if v_text is not None else (None, "empty")
        elif t == "b":
            value, kind = (v_text.strip().lower() in ("1", "true"), "b") if v_text else (None, "empty")
        elif t in ("e", "d"):
            value, kind = (v_text, t) if v_text else (None, "empty")
        else:  # an unknown type: keep whatever text there is rather than drop it
            value, kind = (_unescape(v_text), "s") if v_text else (None, "empty")
        # A formula is "cached" when it carries a result. openpyxl writes an empty <v/> for a formula it
        # never calculated; only a string result (t="str") can legitimately be empty.
        cached = (
            formula is None or inline is not None or (v_text is not None and (v_text != "" or t == "str"))
        )
        if isinstance(value, str) and len(value) > self.max_text:
            return Cell(value[: self.max_text], kind, formula, cached, True)
        return Cell(value, kind, formula, cached)

    def shared_string(self, index_text: str) -> str:
        """The shared string that a ``t="s"`` cell's ``<v>`` points to."""
        table = self.table
        if table is None:
            table = self.table = self.shared()
        index = index_text.strip()
        try:
            if not (index.isascii() and index.isdigit()):  # int() takes "-1", which Python reads from the end
                raise ValueError(index)
            return table[int(index)]
        except (ValueError, IndexError):
            raise WorkbookReadError(
                "xml-malformed", f"{self.part!r}: shared string index {index_text[:20]!r} out of range"
            ) from None


_ROOT_TAG_RE = re.compile(rb"<(?![?!])([^\s/>]{1,100})")
_SHEET_DATA_END_RE = re.compile(rb"</(?:[A-Za-z_][\w.-]{0,40}:)?sheetData\s*>")


def _through_sheet_data(data: bytes) -> bytes:
    """The sheet part cut after ``</sheetData>`` and closed, or the part itself if it cannot be cut.

    Values live in ``<dimension>`` and ``<sheetData>``; what follows (validations, conditional formats,
    page setup) is ~40% of a form's sheet XML and is never read, so it is not parsed either. A literal
    ``</sheetData>`` can only occur as markup or inside a comment or CDATA section; cutting inside one of
    those leaves it unclosed, the cut document fails to parse, and the caller parses the whole part.
    """
    end = _SHEET_DATA_END_RE.search(data)
    root = _ROOT_TAG_RE.search(data)
    if end is None or root is None or root.start() > end.start():
        return data
    return data[: end.end()] + b"</" + root.group(1) + b">"


def _parse_sheet(builder: _SheetBuilder, data: bytes) -> None:
    part = builder.part
    data = _to_safe_utf8(data, part)  # counted as the parser will see it
    tags = data.count(b"<")  # (a literal "<" in text is escaped: every one opens markup)
    lim = builder.limits
    if tags > lim.max_part_tags:
        raise builder.too_large(f"{tags:,} tags of markup (limit {lim.max_part_tags:,})")
    if tags + builder.used_tags > lim.max_total_tags:
        raise builder.too_large(
            f"{tags:,} tags of markup, {tags + builder.used_tags:,} with the sheets read before it"
            f" (limit {lim.max_total_tags:,})"
        )
    builder.tags = tags
    if len(data) <= _TREE_MAX_BYTES:
        cut = _through_sheet_data(data)
        try:
            root = _parse_tree(cut, part, checked=True)  # (the cut adds only a closing tag)
        except WorkbookReadError:
            if cut is data:
                raise
            # Whatever is wrong, the whole part says it (or reads).
            root = _parse_tree(data, part, checked=True)
        for child in root:
            name = _local(child.tag)
            if name == "dimension":
                builder.dimension(child.get("ref"))
            elif name == "sheetData":
                for row_el in child:
                    if _local(row_el.tag) == "row":
                        builder.row(row_el)
        return
    # worksheet (1) > sheetData (2) > row (3) > c (4): rows are handled whole at their end, so clearing
    # depths 1-2 after each chunk drops finished rows and any other bulky top-level content.
    for event, elem, depth in _iter_stream(data, part, clear_depth=2, checked=True):
        if event == "start":
            if depth == 2 and _local(elem.tag) == "dimension":
                builder.dimension(elem.get("ref"))  # at "start": attributes are complete, and it is early
        elif depth == 3 and _local(elem.tag) == "row":
            builder.row(elem)


# --------------------------------------------------------------------------------------------------------
# Package structure
# --------------------------------------------------------------------------------------------------------


@dataclass
class _Rel:
    type: str
    target: str  # resolved part name, without leading "/"


def _rels_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve_target(source_part: str, target: str) -> str:
    """Part name of a relationship target: absolute ("/xl/...") or relative to the source part's folder."""
    target = target.replace("\\", "/")
    if target.startswith("/"):
        path = target.lstrip("/")
    else:
        folder = source_part.rpartition("/")[0]
        path = f"{folder}/{target}" if folder else target
    if "./" in path or "//" in path:  # rare: "../worksheets/x.xml"; normpath is slow for the common case
        path = posixpath.normpath(path)
    return path


_MEMO_MAX_BYTES = 64 * 1024


def _memo(parse: Callable[[bytes, str], _T]) -> Callable[[bytes, str], _T]:
    """Remember what small structural parts parse to, by their exact bytes.

    Every return comes from the same generated form, so its workbook part, relationships and application
    properties are usually byte for byte those of the last one: parsing them again would cost ~0.5 ms a
    file for nothing. Only successful parses of parts up to 64 KB are kept (a refusal raises, and is never
    cached), at most 64. Callers must treat the result as read-only.
    """
    cached = functools.lru_cache(maxsize=64)(parse)

    def parse_memo(data: bytes, part: str) -> _T:
        return cached(data, part) if len(data) <= _MEMO_MAX_BYTES else parse(data, part)

    return parse_memo


def _read_rels(pkg: _Package, source_part: str) -> dict[str, _Rel]:
    """Relationships of a part (``""`` for the package), keyed by Id; internal targets only."""
    rels_name = _rels_part(source_part) if source_part else "_rels/.rels"
    if pkg.find(rels_name) is None:
        return {}
    return _parse_rels(pkg.read(rels_name), source_part)


@_memo
def _parse_rels(data: bytes, source_part: str) -> dict[str, _Rel]:
    rels = {}
    for rel in _children(
        _parse_tree(data, _rels_part(source_part) if source_part else "_rels/.rels"), "Relationship"
    ):
        if (rel.get("TargetMode") or "").lower() == "external":
            continue
        rel_id, rel_type, target = rel.get("Id"), rel.get("Type") or "", rel.get("Target")
        if rel_id is None or not target:
            continue
        rels[rel_id] = _Rel(rel_type, _resolve_target(source_part, target))
    return rels


def _rel_of_type(rels: dict[str, _Rel], suffix: str) -> str | None:
    """Target of the first relationship whose Type ends with ``suffix`` (Strict and Transitional URIs differ)."""
    return next((rel.target for rel in rels.values() if rel.type.endswith(suffix)), None)


def _parse_w3cdtf(text: str | None) -> datetime | None:
    """Parse a docProps date tolerantly; naive values are taken as UTC; garbage gives None."""
    if not text or not text.strip():
        return None
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in ("%Y-%m", "%Y"):
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            return None
    assert parsed is not None
    try:
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


@dataclass
class _SheetEntry:
    name: str
    state: str
    rel_id: str | None


def _read_doc_props(pkg: _Package, package_rels: dict[str, _Rel]) -> tuple[datetime | None, datetime | None]:
    core_part = _rel_of_type(package_rels, "/core-properties") or "docProps/core.xml"
    created = modified = None
    if pkg.find(core_part) is not None:
        for child in pkg.xml(core_part):
            name = _local(child.tag)
            if name == "modified":
                modified = _parse_w3cdtf(child.text)
            elif name == "created":
                created = _parse_w3cdtf(child.text)
    return created, modified


def _read_application(pkg: _Package, package_rels: dict[str, _Rel]) -> str | None:
    app_part = _rel_of_type(package_rels, "/extended-properties") or "docProps/app.xml"
    if pkg.find(app_part) is None:
        return None
    return _application(pkg.read(app_part), app_part)


@_memo
def _application(data: bytes, part: str) -> str | None:
    app = _child(_parse_tree(data, part), "Application")
    text = (app.text or "").strip() if app is not None else ""
    # A program's name ("Microsoft Excel", "LibreOffice/7.6..."), kept in the ledger for each file: bounded.
    return text[:_MAX_APPLICATION] or None


_MAX_APPLICATION = 200


_SHEET_STATES = {"visible": "visible", "hidden": "hidden", "veryhidden": "veryHidden"}


# Cells listed one by one for a `names=` read, all sheets together; sheets whose ranges would go past
# that are read whole instead.
_MAX_LISTED_CELLS = 65_536


_Cells = dict[str, frozenset[tuple[int, int]] | None]
_Bounds = dict[str, tuple[int, int]]


def _named_cells(
    info: _WorkbookInfo, names: Collection[str], below: Mapping[str, int], left: Mapping[str, int]
) -> tuple[_Cells, _Bounds]:
    """For every sheet that one of `names` refers to: the (row, column) of each cell inside those ranges
    (stretched down by `below` rows, and with the column `left` columns to their left, for the names those
    give), or None when they cover too many to list (that sheet is then read whole); and the last row and
    column of those ranges on each sheet (not stretched).

    A name counts whether it is workbook-level or local to a sheet; names that are not a plain single-area
    reference (#REF!, whole rows, formulas) point at nothing. Callers must treat the result as read-only:
    returns of one form share their references, so the answer is remembered.
    """
    refs = tuple(
        (text, below.get(name, 0), left.get(name, 0))
        for name, local_id, text in info.names
        if name in names and (local_id is None or 0 <= local_id < len(info.entries))
    )
    if len(refs) <= 64 and sum(len(text) for text, _, _ in refs) <= 4096:
        return _cells_of_refs_memo(refs)
    return _cells_of_refs(refs)


def _cells_of_refs(refs: tuple[tuple[str, int, int], ...]) -> tuple[_Cells, _Bounds]:
    areas: dict[str, list[tuple[int, int, int, int]]] = {}
    bounds: _Bounds = {}
    for text, rows_below, cols_left in refs:
        try:
            sheet, r1, c1, r2, c2 = parse_ref(text)
        except ValueError:
            continue
        last_row, last_col = bounds.get(sheet, (0, 0))
        bounds[sheet] = (max(last_row, r2), max(last_col, c2))
        rects = areas.setdefault(sheet, [])
        rects.append((r1, c1, min(r2 + rows_below, _EXCEL_MAX_ROW), c2))
        if cols_left and c1 - cols_left >= 1:
            rects.append((r1, c1 - cols_left, r2, c1 - cols_left))
    cells: _Cells = {}
    budget = _MAX_LISTED_CELLS  # for all sheets together: hostile files may repeat names on many sheets
    for sheet, rects in areas.items():
        area = sum((r2 - r1 + 1) * (c2 - c1 + 1) for r1, c1, r2, c2 in rects)
        if area > budget:
            cells[sheet] = None
            continue
        budget -= area
        cells[sheet] = frozenset(
            (r, c) for r1, c1, r2, c2 in rects for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
        )
    return cells, bounds


_cells_of_refs_memo = functools.lru_cache(maxsize=64)(_cells_of_refs)


def _read(
    data: bytes,
    limits: Limits,
    selected: Collection[str] | None,
    names: Collection[str] | None,
    below: Mapping[str, int],
    left: Mapping[str, int],
    outside: bool,
) -> RawWorkbook:
    pkg = _Package(data, limits)
    with pkg.zf:
        fmt = _sniff_zip(pkg.zf, pkg.entries)
        if fmt != FORMAT_XLSX:
            raise refusal(fmt)
        package_rels = _read_rels(pkg, "")
        wb_part = _rel_of_type(package_rels, "/officeDocument") or "xl/workbook.xml"
        if pkg.find(wb_part) is None:
            raise WorkbookReadError("missing-part", f"no workbook part ({wb_part!r})")
        if not wb_part.lower().endswith(".xml"):
            raise WorkbookReadError("not-a-workbook", f"main part {wb_part!r} is not XML (xlsb?)")
        wb_data = _to_safe_utf8(pkg.read(wb_part), wb_part)  # counted as the parser will see it
        # (each name is a start and an end tag; the list around them two more)
        if wb_data.count(b"definedName") // 2 > limits.max_defined_names + 1:
            raise WorkbookReadError(
                "too-large-file", f"more than {limits.max_defined_names:,} defined names in {wb_part!r}"
            )
        if wb_data.count(b"<") > limits.max_part_tags:
            raise WorkbookReadError("too-large-file", f"{wb_part!r}: more than {limits.max_part_tags:,} tags")
        info = _read_workbook_xml(wb_data, wb_part)
        entries = info.entries
        named, bounds = _named_cells(info, names, below, left) if names is not None else (None, {})
        wanted = named.keys() if named is not None else selected
        wb_rels = _read_rels(pkg, wb_part)
        sst_part = _rel_of_type(wb_rels, "/sharedStrings")
        shared_cache: list[list[str]] = []

        def shared() -> list[str]:
            # Parsed on first use: a workbook whose selected sheets hold no shared strings never pays.
            if not shared_cache:
                if sst_part is None or pkg.find(sst_part) is None:
                    raise WorkbookReadError("missing-part", "cells use shared strings but there is no table")
                shared_cache.append(
                    _parse_shared_strings(pkg.read(sst_part), sst_part, limits.max_shared_strings)
                )
            return shared_cache[0]

        sheets: dict[str, RawSheet] = {}
        used_cells = used_tags = 0
        unnamed = unnamed_tags = 0  # visible sheets no name points at, looked through for `outside`
        for entry in entries:
            rel = wb_rels.get(entry.rel_id) if entry.rel_id else None
            if rel is None or pkg.find(rel.target) is None:
                where = rel.target if rel else f"relationship {entry.rel_id!r}"
                raise WorkbookReadError("missing-part", f"sheet {entry.name!r}: {where} is missing")
            sheet = sheets[entry.name] = RawSheet(entry.name, entry.state, {})
            if not rel.type.endswith("/worksheet"):
                continue  # chart-, dialog- and macro-sheets are listed for completeness: no cells we read
            if wanted is None or entry.name in wanted:
                only = named.get(entry.name) if named is not None else None
                beyond = bounds.get(entry.name) if outside and only is not None else None
                builder = _SheetBuilder(
                    rel.target, shared, limits, used_cells, only, entry.name, beyond, used_tags=used_tags
                )
                _parse_sheet(builder, pkg.read(rel.target))
                sheet.cells = builder.cells
                sheet.outside, sheet.outside_count = builder.outside, builder.outside_count
                used_cells += len(builder.cells)
                used_tags += builder.tags
            elif outside and named is not None and entry.state == "visible" and unnamed < MAX_UNNAMED:
                unnamed += 1  # a sheet a person added: all of it lies outside every name
                sheet.unnamed = True
                builder = _SheetBuilder(
                    rel.target,
                    shared,
                    limits,
                    used_cells=0,
                    only=frozenset(),
                    sheet=entry.name,
                    beyond=(0, 0),
                    enough=_UNNAMED_ENOUGH,
                    used_tags=unnamed_tags,
                )
                _look_through(sheet, builder, pkg.read(rel.target))
                unnamed_tags += builder.tags

        sheet_names = [entry.name for entry in entries]
        defined: dict[str, str] = {}
        local: dict[tuple[str, str], str] = {}
        for name, local_id, text in info.names:
            if local_id is None:
                defined[name] = text
            elif 0 <= local_id < len(sheet_names):
                local[(sheet_names[local_id], name)] = text
        created, modified = _read_doc_props(pkg, package_rels)
        return RawWorkbook(
            sheets=sheets,
            defined_names=defined,
            local_names=local,
            date1904=info.date1904,
            strict=info.strict,
            core_modified=modified,
            core_created=created,
            application=_read_application(pkg, package_rels),
        )


def _look_through(sheet: RawSheet, builder: _SheetBuilder, data: bytes) -> None:
    """Note the first cells holding something on a sheet no name points at. Its size is none of the form's
    business: a sheet past the limits is noted as holding something (`outside_count` 1, no cell), not
    refused."""
    try:
        _parse_sheet(builder, data)
    except _Enough:
        pass
    except WorkbookReadError as exc:
        if exc.code != "sheet-too-large":
            raise
        builder.outside_count = max(builder.outside_count, 1)
    sheet.cells = builder.cells
    sheet.outside, sheet.outside_count = builder.outside, builder.outside_count


@dataclass
class _WorkbookInfo:
    entries: list[_SheetEntry] = field(default_factory=list)
    names: list[tuple[str, int | None, str]] = field(default_factory=list)  # (name, localSheetId, text)
    date1904: bool = False
    strict: bool = False


@_memo
def _read_workbook_xml(data: bytes, part: str) -> _WorkbookInfo:
    """Sheets (in order), defined names, the 1904 flag and the Strict flag from the workbook part, as
    `_to_safe_utf8` returned it (the caller counts names and tags on those bytes first).

    Streamed: some real workbooks carry thousands of junk defined names copied from others (more than
    `Limits.max_defined_names` are refused before this parse).
    """
    info = _WorkbookInfo()
    seen: set[str] = set()
    # workbook (1) > sheets / definedNames / workbookPr (2) > sheet / definedName (3)
    for event, elem, depth in _xml_events(data, part, clear_depth=2, checked=True):
        name = _local(elem.tag)
        if event == "start":
            # Attributes are complete at "start"; an element still open at a chunk boundary may be cleared.
            if depth == 1:
                if name != "workbook":
                    raise WorkbookReadError("not-a-workbook", f"main part is <{name[:40]}>, not a workbook")
                info.strict = elem.tag.startswith("{" + _STRICT_SML_NS + "}")
            elif depth == 2 and name == "workbookPr":
                info.date1904 = (elem.get("date1904") or "").strip().lower() in ("1", "true")
        elif depth == 3 and name == "sheet":
            sheet_name = elem.get("name")
            if not sheet_name:
                raise WorkbookReadError("xml-malformed", "a <sheet> has no name")
            if sheet_name in seen:
                raise WorkbookReadError("xml-malformed", f"duplicate sheet name {sheet_name!r}")
            seen.add(sheet_name)
            state = _SHEET_STATES.get((elem.get("state") or "visible").lower(), "visible")
            info.entries.append(_SheetEntry(sheet_name, state, _attr(elem, "id")))
        elif depth == 3 and name == "definedName":
            _add_defined_name(info, elem)
    if not info.entries:
        raise WorkbookReadError("missing-part", "the workbook lists no sheets")
    return info


def _add_defined_name(info: _WorkbookInfo, elem: Element) -> None:
    name = elem.get("name")
    if not name:
        return
    local_id = elem.get("localSheetId")
    try:
        sheet_index = int(local_id) if local_id is not None else None
    except ValueError:
        return  # a scope we cannot place is dropped rather than misattributed
    info.names.append((name, sheet_index, _unescape(elem.text or "")))


def read_workbook(
    data: bytes,
    limits: Limits = DEFAULT_LIMITS,
    sheets: Collection[str] | None = None,
    names: Collection[str] | None = None,
    below: Mapping[str, int] | None = None,
    left: Mapping[str, int] | None = None,
    outside: bool = False,
) -> RawWorkbook:
    """Check an untrusted file, then read its sheets, names and metadata.

    Guards run before anything is inflated (file size, zip entry count, declared sizes, ratios); each part
    is then read with a bounded inflate and checked for DOCTYPE before parsing; cells are checked against
    the grid and count limits as they are read.

    Args:
        data: The whole file.
        limits: Refusal thresholds.
        sheets: Names of the sheets to parse; None parses all. Other sheets are still listed (name, state)
            with no cells. A single str is taken as one name.
        names: Defined names (workbook-level or local): when given, only the cells inside the ranges they
            refer to are kept, and only their sheets are parsed (instead of ``sheets``). Every cell is
            still checked against the limits; the other cells are just not decoded. All of a form's
            inputs live inside its names, so a return is read this way.
        below: For some of ``names``: how many rows under each range to keep as well, in its columns (what
            a person typed right under a table, in rows inserted below it, which do not grow its name).
        left: For some of ``names``: the column that many columns left of each range to keep as well, in
            its rows (the No. that says which item each row of a checklist is, when rows were inserted).
        outside: With ``names``: also note what each of their sheets holds to the right of or below all
            the names on it, and what the first `MAX_UNNAMED` visible sheets that no name points at hold
            (`RawSheet.outside`): what a person wrote outside a form's inputs, or on a sheet they added.

    Returns:
        The workbook's raw content.

    Raises:
        WorkbookReadError: For every file refused or unreadable; never another exception type for bad input.
    """
    if not data:
        raise refusal(FORMAT_EMPTY)
    if len(data) > limits.max_file_bytes:
        raise WorkbookReadError("too-large-file", f"{len(data)} bytes (limit {limits.max_file_bytes})")
    if isinstance(sheets, str):
        sheets = {sheets}
    if sheets is not None and names is not None:
        raise ValueError("give sheets or names, not both")
    if not data.startswith(ZIP_MAGIC):
        raise refusal(sniff(data) if data.startswith(OLE_MAGIC) else FORMAT_OTHER)
    try:
        return _read(data, limits, sheets, names, below or {}, left or {}, outside)
    except WorkbookReadError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise WorkbookReadError(
            "sheet-too-large", f"out of resources reading the file ({type(exc).__name__})"
        ) from exc
    except Exception as exc:  # last line of defence: untrusted input must not leak odd types
        raise WorkbookReadError("xml-malformed", f"unexpected {type(exc).__name__}: {exc}") from exc
