"""Builders for a corpus of bad and hostile files, made on demand by the tests.

Departments return workbooks into ``inbox/`` and nothing they send can be trusted: lock files, files that
are not what their extension says, half-copied files, password-protected files, legacy or OpenDocument
files renamed ``.xlsx``, "Strict Open XML" saves that openpyxl silently reads as empty, zip bombs, XML entity
attacks, mails with odd attachments, macro workbooks.  Each ``make_*`` function writes ONE such file and
returns its path, so no binary file is ever committed; ``build_corpus`` writes the small ones all at once.

Conventions shared by every builder:

* ``dest`` is either an existing directory -- the file then gets the realistic name a department's machine
  would give it (``~$回答.xlsx``, ``Thumbs.db``...) -- or the full path of the file to write (its parent
  folders are created).
* A builder that damages or wraps a real workbook takes ``source: bytes``, the bytes of a valid ``.xlsx``
  (``valid_xlsx_bytes()`` makes one; the project's own generated form can be passed instead).
* Content is deterministic (fixed seeds and timestamps) except where the format itself is random:
  encryption salts, MIME boundaries and Message-IDs.  File modification times are "now" (see ``age()``).

See /work/shared/LIBRARY-FACTS.md for what openpyxl, calamine and pandas do with each kind of file.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.parser
import email.policy
import io
import mimetypes
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal

import olefile

GIB = 1 << 30
MIB = 1 << 20

JST = dt.timezone(dt.timedelta(hours=9), "JST")

#: Fixed timestamp stamped into zip entries and document properties, so builds are reproducible.
FIXED_TIME = dt.datetime(2025, 4, 1, 9, 30, 0)

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"

CT_XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
CT_VBA_PROJECT = "application/vnd.ms-office.vbaProject"
REL_VBA_PROJECT = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"

MIME_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME_ODS = "application/vnd.oasis.opendocument.spreadsheet"

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
APPLEDOUBLE_MAGIC = bytes.fromhex("00051607")

#: Sample answers used wherever a builder needs content: (label, value) rows of a department's form.
SAMPLE_ROWS: list[tuple[str, str | int]] = [
    ("部署名", "総務課"),
    ("回答者", "山田 太郎"),
    ("職員数", 12),
    ("備考", "①テレワーク端末が不足しています"),
]


# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------


def _target(dest: Path, default_name: str) -> Path:
    """Resolve ``dest``: an existing directory gets ``default_name`` inside it, anything else is the path."""
    dest = Path(dest)
    if dest.is_dir():
        return dest / default_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


def _write(dest: Path, default_name: str, data: bytes) -> Path:
    path = _target(dest, default_name)
    path.write_bytes(data)
    return path


def valid_xlsx_bytes() -> bytes:
    """Return a small, real ``.xlsx`` written by xlsxwriter: one sheet ``回答`` with Japanese text.

    It has shared strings, styles, a theme and document properties, like an Excel-saved form, so every
    builder that damages a workbook has all the usual parts to work on.
    """
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    wb.set_properties({"title": "DX推進アンケート", "author": "DX推進室", "created": FIXED_TIME})
    ws = wb.add_worksheet("回答")
    bold = wb.add_format({"bold": True})
    ws.write_string(0, 0, "項目", bold)
    ws.write_string(0, 1, "回答", bold)
    for row, (label, value) in enumerate(SAMPLE_ROWS, start=1):
        ws.write_string(row, 0, label)
        if isinstance(value, int):
            ws.write_number(row, 1, value)
        else:
            ws.write_string(row, 1, value)
    wb.close()
    return buf.getvalue()


def _zip_parts(source: bytes) -> list[tuple[str, bytes]]:
    """All parts of a zip package, in their stored order."""
    with zipfile.ZipFile(io.BytesIO(source)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def _with_part_text(source: bytes, part: str, edit: Callable[[str], str]) -> list[tuple[str, bytes]]:
    """All parts of ``source``, with the UTF-8 text of ``part`` passed through ``edit``."""
    return [
        (name, edit(data.decode("utf-8")).encode("utf-8") if name == part else data)
        for name, data in _zip_parts(source)
    ]


def _write_package(path: Path, parts: Sequence[tuple[str, bytes]]) -> None:
    """Write parts as a normal deflated zip package (``[Content_Types].xml`` order kept as given)."""
    date_time = FIXED_TIME.timetuple()[:6]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def _first_worksheet(names: Sequence[str]) -> str:
    sheets = sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
    if not sheets:
        raise ValueError("source has no xl/worksheets/sheetN.xml part")
    return sheets[0]


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# --------------------------------------------------------------------------------------------------------
# 1. Office lock files and operating-system litter
# --------------------------------------------------------------------------------------------------------


def make_excel_owner_file(dest: Path, workbook_name: str = "回答.xlsx", user: str = "山田 太郎") -> Path:
    """Excel's owner ("lock") file ``~$回答.xlsx``, left next to a workbook someone has open.

    Imitates the 162-byte layout Excel writes: byte 0 is the length of the user name, then the name in the
    ANSI code page (cp932 on Japanese Windows) padded with spaces to offset 0x36, then the length again as a
    16-bit little-endian number, then the name in UTF-16LE padded with spaces to 162 bytes.  It is named
    ``.xlsx`` but is not a zip: a collector that globs ``*.xlsx`` picks it up, and it disappears as soon as
    the user closes Excel (or stays forever after a crash), so it must be skipped by name, never reported as
    a broken answer.
    """
    if len(user) > 53:
        raise ValueError("Excel keeps at most 53 characters of the user name")
    ansi = user.encode("cp932", errors="replace")[:53]
    data = bytes([len(user)]) + ansi.ljust(53, b" ")
    wide = user.encode("utf-16-le")
    data += struct.pack("<H", len(user)) + wide + b" \x00" * ((106 - len(wide)) // 2)
    assert len(data) == 162
    return _write(dest, "~$" + workbook_name, data)


def make_libreoffice_lock(
    dest: Path,
    workbook_name: str = "回答.xlsx",
    user: str = "山田 太郎",
    login: str = "yamada",
    host: str = "SOUMU-PC01",
    when: dt.datetime = FIXED_TIME,
) -> Path:
    """LibreOffice's lock file ``.~lock.回答.xlsx#``, present while the workbook is open in Calc.

    The content is one UTF-8 line ``full name,login,host,DD.MM.YYYY HH:MM,profile URL;``.  Hidden on Unix,
    visible on Windows shares; it ends in ``#``, so only a too-broad glob catches it -- but it also tells
    that the workbook next to it may be mid-save.
    """
    profile = f"file:///C:/Users/{login}/AppData/Roaming/LibreOffice/4;"
    text = f"{user},{login},{host},{when:%d.%m.%Y %H:%M},{profile}"
    return _write(dest, f".~lock.{workbook_name}#", text.encode("utf-8"))


def make_appledouble(dest: Path, workbook_name: str = "回答.xlsx") -> Path:
    """macOS AppleDouble companion ``._回答.xlsx`` (4,096 bytes, magic ``00 05 16 07``).

    macOS writes one next to every file it copies to a FAT/SMB/exFAT volume or into a zip, to carry the
    Finder info and resource fork.  It has the workbook's name plus ``._`` and the ``.xlsx`` extension, but
    is not a zip.  Layout: header (magic, version 2, filler ``Mac OS X``, 2 entries), a Finder-info entry
    (id 9, type ``XLSX`` creator ``XCEL``) padded to the usual size, and an empty resource fork (id 2).
    """
    header = APPLEDOUBLE_MAGIC + struct.pack(">I", 0x00020000) + b"Mac OS X".ljust(16, b" ")
    finder_off, finder_len = 50, 3760
    fork_off, fork_len = finder_off + finder_len, 286
    header += struct.pack(">H", 2)
    header += struct.pack(">III", 9, finder_off, finder_len)
    header += struct.pack(">III", 2, fork_off, fork_len)
    assert len(header) == finder_off
    finder = (b"XLSX" + b"XCEL" + b"\x00" * 24).ljust(finder_len, b"\x00")
    # An empty classic resource fork: 256-byte header/data area + 30-byte resource map.
    fork_header = struct.pack(">IIII", 0x100, 0x100, 0, 0x1E)
    fork = (fork_header + b"This resource fork intentionally left blank   ").ljust(0x100, b"\x00")
    fork += fork_header + struct.pack(">IHHHHH", 0, 0, 0, 0x1C, 0x1E, 0xFFFF)
    assert len(fork) == fork_len
    data = header + finder + fork
    assert len(data) == 4096
    return _write(dest, "._" + workbook_name, data)


def make_excel_temp(dest: Path, source: bytes | None = None) -> Path:
    """An Excel temporary file ``回答.tmp`` left in the folder by an interrupted save.

    Excel saves to a temporary file and renames it over the workbook; a crash or a full disk leaves the
    temporary behind.  Its content is usually a whole or partial workbook: here the first half of
    ``source`` (or of ``valid_xlsx_bytes()``), so it starts with ``PK`` yet is not a readable zip.
    """
    data = source if source is not None else valid_xlsx_bytes()
    return _write(dest, "回答.tmp", data[: len(data) // 2])


def make_thumbs_db(dest: Path) -> Path:
    """Windows Explorer's thumbnail cache ``Thumbs.db``: an OLE2 compound file with ``Catalog`` and ``1``.

    Explorer still drops it in folders on network shares.  It starts with the OLE2 magic ``D0 CF 11 E0``,
    the same as a legacy ``.xls`` or a password-protected ``.xlsx``: format detection by magic bytes alone
    would take it for one of those (msoffcrypto cannot open it).
    """
    entry_name = "回答.xlsx".encode("utf-16-le") + b"\x00\x00"
    entry = struct.pack("<II", 16 + len(entry_name), 1) + struct.pack("<Q", 0) + entry_name
    catalog = struct.pack("<HHIII", 16, 7, 1, 96, 96) + entry
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
    )
    thumb = struct.pack("<III", 12, 1, len(jpeg)) + jpeg
    return _write(dest, "Thumbs.db", _ole2_bytes([("Catalog", catalog), ("1", thumb)]))


@dataclass(frozen=True)
class MsgLink:
    """An attachment Outlook keeps as a link to the file (a OneDrive "share link"), not the file itself."""

    name: str
    url: str = "https://city-my.sharepoint.com/personal/yamada/Documents/回答.xlsx"


@dataclass(frozen=True)
class MsgMail:
    """A mail for :func:`make_outlook_msg`: its subject, when it was sent, and what is attached to it (a file
    as ``(name, bytes)``, or another mail forwarded as an attachment)."""

    subject: str = "【回答】DX推進アンケート（総務課）"
    sent: dt.datetime | None = None  # PidTagClientSubmitTime; None for a draft never sent
    # A file as (name, bytes) or (name, bytes, MIME type); a link; another mail forwarded as an attachment.
    attachments: Sequence[tuple[str, bytes] | tuple[str, bytes, str] | MsgLink | MsgMail] = ()
    unicode: bool = True  # False: 8-bit strings in cp932 (PT_STRING8), as older Outlook saved them


_CLSID_OUTLOOK_MESSAGE = bytes.fromhex("0B0D020000000000C000000000000046")  # {00020D0B-0000-0000-C000-...}
_PT_LONG, _PT_SYSTIME, _PT_BINARY = 0x0003, 0x0040, 0x0102


def _filetime(when: dt.datetime) -> int:
    """100-ns steps since 1601-01-01 UTC."""
    epoch = dt.datetime(1601, 1, 1, tzinfo=dt.UTC)
    return (when - epoch) // dt.timedelta(microseconds=1) * 10


def _msg_streams(mail: MsgMail, at: str, header: bytes) -> list[tuple[str, bytes]]:
    """The streams of one message storage at ``at`` ("" for the file's root), laid out as MS-OXMSG says."""
    string_type = 0x001F if mail.unicode else 0x001E

    def text(value: str) -> bytes:  # the stream holds no terminating null (MS-OXMSG 2.1.3)
        return value.encode("utf-16-le") if mail.unicode else value.encode("cp932")

    streams: list[tuple[str, bytes]] = []
    entries: list[bytes] = []  # __properties_version1.0: 16 bytes each (type, id, flags, value)

    def prop_string(folder: str, pid: int, value: str, props: list[bytes]) -> None:
        data = text(value)
        streams.append((f"{folder}__substg1.0_{pid:04X}{string_type:04X}", data))
        null = 2 if mail.unicode else 1  # the size counts the null the stream leaves out
        props.append(struct.pack("<HHIII", string_type, pid, 6, len(data) + null, 0))

    prop_string(at, 0x0037, mail.subject, entries)  # PidTagSubject
    prop_string(at, 0x001A, "IPM.Note", entries)  # PidTagMessageClass
    if mail.sent is not None:
        for pid in (0x0039, 0x0E06):  # PidTagClientSubmitTime, PidTagMessageDeliveryTime
            entries.append(struct.pack("<HHIQ", _PT_SYSTIME, pid, 6, _filetime(mail.sent)))
    # PidTagStoreSupportMask: STORE_UNICODE_OK says whether the strings are UTF-16 (001F) or 8-bit (001E).
    entries.append(struct.pack("<HHIII", _PT_LONG, 0x340D, 6, 0x40000 if mail.unicode else 0, 0))
    if not mail.unicode:
        entries.append(struct.pack("<HHIII", _PT_LONG, 0x3FFD, 6, 932, 0))  # PidTagMessageCodepage
    recip = f"{at}__recip_version1.0_#00000000/"
    recip_props: list[bytes] = []
    prop_string(recip, 0x3001, "DX推進課", recip_props)  # PidTagDisplayName
    prop_string(recip, 0x3003, "dx@city.example.lg.jp", recip_props)  # PidTagEmailAddress
    streams.append((f"{recip}__properties_version1.0", b"\x00" * 8 + b"".join(recip_props)))
    for number, attached in enumerate(mail.attachments):
        folder = f"{at}__attach_version1.0_#{number:08X}/"
        props = [struct.pack("<HHIII", _PT_LONG, 0x0E21, 6, number, 0)]  # PidTagAttachNumber
        if isinstance(attached, MsgMail):
            props.append(struct.pack("<HHIII", _PT_LONG, 0x3705, 6, 5, 0))  # afEmbeddedMessage
            prop_string(folder, 0x3001, attached.subject, props)
            inner = f"{folder}__substg1.0_3701000D/"
            streams += _msg_streams(attached, inner, b"\x00" * 24)
        elif isinstance(attached, MsgLink):
            props.append(struct.pack("<HHIII", _PT_LONG, 0x3705, 6, 7, 0))  # afByWebReference
            prop_string(folder, 0x3707, attached.name, props)  # PidTagAttachLongFilename
            prop_string(folder, 0x3001, attached.name, props)
            prop_string(folder, 0x370D, attached.url, props)  # PidTagAttachLongPathname
        else:
            name, data, *given = attached
            props.append(struct.pack("<HHIII", _PT_LONG, 0x3705, 6, 1, 0))  # afByValue
            streams.append((f"{folder}__substg1.0_37010102", data))  # PidTagAttachDataBinary
            props.append(struct.pack("<HHIII", _PT_BINARY, 0x3701, 6, len(data), 0))
            prop_string(folder, 0x3707, name, props)  # PidTagAttachLongFilename
            short = Path(name).stem[:6] + "~1" + Path(name).suffix[:4]
            prop_string(folder, 0x3704, short.upper(), props)  # PidTagAttachFilename: the 8.3 name
            prop_string(folder, 0x3001, name, props)  # PidTagDisplayName
            prop_string(folder, 0x3703, Path(name).suffix, props)  # PidTagAttachExtension
            mime = given[0] if given else mimetypes.guess_type(name)[0]
            if name.lower().endswith(".xlsx"):
                mime = MIME_XLSX
            if mime:
                prop_string(folder, 0x370E, mime, props)  # PidTagAttachMimeTag
        streams.append((f"{folder}__properties_version1.0", b"\x00" * 8 + b"".join(props)))
    # The header: reserved, next recipient and attachment ids, recipient and attachment counts (MS-OXMSG
    # 2.4.1); an attached message's has no last reserved 8 bytes.
    counts = struct.pack("<IIII", 1, len(mail.attachments), 1, len(mail.attachments))
    head = (b"\x00" * 8 + counts + header[24:]) if len(header) > 8 else header
    streams.append((f"{at}__properties_version1.0", head + b"".join(entries)))
    return streams


def outlook_msg_bytes(mail: MsgMail) -> bytes:
    """An Outlook ``.msg`` (MS-OXMSG) of ``mail``: an OLE2 compound file with the message's properties as
    streams, a recipient, the named-property map Outlook always writes, and each attachment in its own
    storage (a forwarded mail as a message storage of its own)."""
    streams = _msg_streams(mail, "", b"\x00" * 32)
    streams += [
        (f"__nameid_version1.0/__substg1.0_{n:04X}0102", b"") for n in (2, 3, 4)
    ]  # GUID, entry and string streams of the named properties: none used
    return _ole2_bytes(streams, root_clsid=_CLSID_OUTLOOK_MESSAGE)


def make_outlook_msg(
    dest: Path, subject: str = "【回答】DX推進アンケート（総務課）", mail: MsgMail | None = None
) -> Path:
    """A mail dragged out of Outlook into the folder: an Outlook ``.msg``, an OLE2 compound file like a
    legacy ``.xls`` (see :func:`outlook_msg_bytes`). Without ``mail``, one sent with no attachment."""
    mail = mail or MsgMail(subject, dt.datetime(2025, 4, 10, 8, 45, tzinfo=dt.UTC))
    return _write(dest, "回答メール.msg", outlook_msg_bytes(mail))


def make_msg_sector_loop(dest: Path, source: bytes) -> Path:
    """An Outlook ``.msg`` whose attachment's sector chain loops back on itself (sector 2 -> sector 1): a
    reader that follows chains without bounds never ends. olefile reads as many sectors as the declared
    size needs, so the attachment comes out garbled (its first two sectors over and over)."""
    assert len(source) >= 4096, "the attachment must lie in regular sectors"
    mail = MsgMail("RE: 回答", dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC), [("0401_市民課.xlsx", source)])
    data = bytearray(outlook_msg_bytes(mail))
    with olefile.OleFileIO(io.BytesIO(bytes(data))) as ole:
        first = ole.direntries[ole._find("__attach_version1.0_#00000000/__substg1.0_37010102")].isectStart
    fat_sector = struct.unpack_from("<I", data, 0x4C)[0]  # the first FAT sector, from the header's DIFAT

    def link(sector: int) -> int:
        return 512 + fat_sector * 512 + 4 * sector

    second = struct.unpack_from("<I", data, link(first))[0]
    struct.pack_into("<I", data, link(second), first)
    return _write(dest, "回答_壊れ.msg", bytes(data))


def make_ole_many_parts(dest: Path, parts: int = 3000) -> Path:
    """An OLE2 compound file of thousands of tiny streams, named like a legacy workbook: olefile takes
    seconds to open one (its cost grows faster than the number of entries), so it must be refused first."""
    return _write(dest, "回答_部品多数.xls", _ole2_bytes([(f"s{i:05d}", b"x") for i in range(parts)]))


def make_msg_many_attachments(dest: Path, attachments: int = 400) -> Path:
    """An Outlook ``.msg`` with hundreds of attachments (eight directory entries each: some 3,200)."""
    files = [(f"image{i:03d}.png", b"\x89PNG") for i in range(attachments)]
    mail = MsgMail("RE: 回答", dt.datetime(2026, 11, 20, tzinfo=dt.UTC), files)
    return _write(dest, "回答_添付多数.msg", outlook_msg_bytes(mail))


def make_msg_many_signed_bodies(dest: Path, bodies: int = 200, parts: int = 30) -> Path:
    """An Outlook ``.msg`` of hundreds of S/MIME signed bodies, each of a few dozen MIME parts: each body is
    within any one limit, but parsing them all would cost the walk a minute (~1 ms a part)."""
    entity = smime_signed_entity([(f"image{i:03d}.png", b"\x89PNG") for i in range(parts)])
    signed = [("smime.p7m", entity, "multipart/signed")] * bodies
    mail = MsgMail("RE: 回答", dt.datetime(2026, 11, 20, tzinfo=dt.UTC), signed)
    return _write(dest, "回答_署名多数.msg", outlook_msg_bytes(mail))


def make_eml_many_attached_mails(dest: Path, mails: int = 60, parts: int = 40) -> Path:
    """An ``.eml`` carrying dozens of ``.eml`` files (base64, so their parts hide from a count of the outer
    mail's lines), each of a few dozen parts."""
    inner = EmailMessage(policy=_MAIL_POLICY)
    inner["Subject"] = "転送"
    inner.set_content("本文")
    for i in range(parts):
        inner.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename=f"image{i:03d}.png")
    files = [(f"転送{i:02d}.eml", inner.as_bytes(policy=_MAIL_POLICY)) for i in range(mails)]
    return make_eml(dest / "回答_メール添付多数.eml", files, dt.datetime(2026, 11, 20, 9, 0))


def eml_with_headers(
    parts: Sequence[tuple[str, str]], date: str = "Fri, 20 Nov 2026 09:00:00 +0900"
) -> bytes:
    """An .eml whose attachments carry the given (Content-Type, Content-Disposition) values as written."""
    body = "".join(
        f"--XX\r\nContent-Type: {ct}\r\nContent-Disposition: {cd}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n"
        for ct, cd in parts
    )
    return (
        f"From: a@city.example.jp\r\nDate: {date}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
        f"回答です。\r\n{body}--XX--\r\n"
    ).encode()


def make_eml_many_lines(dest: Path, lines: int = 700_000) -> Path:
    """An .eml whose body is 700,000 one-letter lines (2 MB): Python's mail parser handles each line in
    Python, so 80 MB of them would cost about 13 s."""
    text = "回答です。\r\n" + "a\r\n" * lines
    raw = eml_with_headers([(MIME_XLSX, "attachment; filename=回答.xlsx")]).replace(
        "回答です。\r\n".encode(), text.encode(), 1
    )
    return _write(dest, "回答_行多数.eml", raw)


def make_eml_long_file_name(dest: Path) -> Path:
    """An .eml whose attachment's name is 40,000 encoded words (0.8 MB): Python's header parser, worse
    than linear, spent a minute on it."""
    name = " ".join(["=?UTF-8?B?5Zue562U?="] * 40_000)
    return _write(
        dest, "回答_長い名前.eml", eml_with_headers([(MIME_XLSX, f'attachment; filename="{name}"')])
    )


def make_eml_many_parameters(dest: Path) -> Path:
    """An .eml whose attachment's Content-Type has 20,000 parameters (0.2 MB): ten seconds to parse."""
    params = ";".join(f" p{i}=v" for i in range(20_000))
    return _write(
        dest, "回答_パラメータ多数.eml", eml_with_headers([(f"{MIME_XLSX};{params}", "attachment")])
    )


def make_desktop_ini(dest: Path) -> Path:
    """Windows folder settings ``desktop.ini`` (UTF-16LE with BOM, CRLF), hidden+system on the share.

    Appears when a department copies a whole folder; a collector must ignore it rather than report it.
    """
    text = "\r\n[.ShellClassInfo]\r\nLocalizedResourceName=@%SystemRoot%\\system32\\shell32.dll,-21770\r\n"
    return _write(dest, "desktop.ini", b"\xff\xfe" + text.encode("utf-16-le"))


# --------------------------------------------------------------------------------------------------------
# 2. Files that are not what their extension says
# --------------------------------------------------------------------------------------------------------


def make_zero_bytes(dest: Path) -> Path:
    """An empty ``.xlsx``: what a failed upload, a full disk or a copy interrupted at once leaves."""
    return _write(dest, "回答_空.xlsx", b"")


def make_csv_named_xlsx(dest: Path) -> Path:
    """A CSV in cp932 (Shift_JIS with NEC/IBM extensions, CRLF) saved with an ``.xlsx`` name.

    Typical of a business system's "Excel export" or of someone renaming a CSV to fit the form; contains
    ``①`` which exists in cp932 but not in strict Shift_JIS, so decoding it as ``shift_jis`` fails.
    """
    lines = ["項目,回答"] + [f"{label},{value}" for label, value in SAMPLE_ROWS]
    data = ("\r\n".join(lines) + "\r\n").encode("cp932")
    return _write(dest, "回答_csv.xlsx", data)


def make_html_named_xlsx(dest: Path, encoding: str = "cp932") -> Path:
    """An HTML table in Excel's "Web page" dialect (``xmlns:x="urn:schemas-microsoft-com:office:excel"``).

    Many web systems export "Excel files" this way and Excel opens them after a warning, so users save them
    under an ``.xlsx`` name and send them on.  Written in ``encoding`` (Shift_JIS by default, as the
    Japanese systems that do this usually emit) with a matching ``<meta charset>``.
    """
    charset = "Shift_JIS" if encoding.lower() in ("cp932", "shift_jis", "sjis") else encoding
    rows = "".join(
        f"<tr><td>{_xml_escape(label)}</td><td>{_xml_escape(str(value))}</td></tr>\r\n"
        for label, value in SAMPLE_ROWS
    )
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"\r\n'
        'xmlns:x="urn:schemas-microsoft-com:office:excel"\r\n'
        'xmlns="http://www.w3.org/TR/REC-html40">\r\n<head>\r\n'
        f'<meta http-equiv=Content-Type content="text/html; charset={charset}">\r\n'
        '<meta name=ProgId content=Excel.Sheet>\r\n<meta name=Generator content="Microsoft Excel 15">\r\n'
        "<!--[if gte mso 9]><xml>\r\n <x:ExcelWorkbook>\r\n  <x:ExcelWorksheets>\r\n"
        "   <x:ExcelWorksheet>\r\n    <x:Name>回答</x:Name>\r\n   </x:ExcelWorksheet>\r\n"
        "  </x:ExcelWorksheets>\r\n </x:ExcelWorkbook>\r\n</xml><![endif]-->\r\n</head>\r\n<body>\r\n"
        f"<table border=0>\r\n<tr><td>項目</td><td>回答</td></tr>\r\n{rows}</table>\r\n</body>\r\n</html>\r\n"
    )
    return _write(dest, "回答_html.xlsx", html.encode(encoding))


def make_random_bytes(dest: Path, size: int = 4096, seed: int = 0) -> Path:
    """``size`` pseudo-random bytes named ``.xlsx``: a corrupted download or an encrypted-at-rest blob.

    Seeded, so reproducible; the first byte is forced off any zip/OLE2 magic so the file is never
    accidentally recognised.
    """
    data = bytearray(random.Random(seed).randbytes(size))
    if data[:2] == b"PK" or data[:4] == OLE2_MAGIC[:4]:
        data[0] ^= 0xFF
    return _write(dest, "回答_random.xlsx", bytes(data))


# --------------------------------------------------------------------------------------------------------
# 3. Truncated copies
# --------------------------------------------------------------------------------------------------------


def make_truncated(dest: Path, source: bytes, fraction: float = 0.5) -> Path:
    """The first ``fraction`` of a real workbook: a copy interrupted half-way, or a file still arriving.

    The zip's central directory is at the end, so it is lost: ``zipfile`` raises ``BadZipFile``.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError("fraction must be in [0, 1)")
    return _write(dest, "回答_truncated.xlsx", source[: int(len(source) * fraction)])


# --------------------------------------------------------------------------------------------------------
# 4. Password-protected workbook
# --------------------------------------------------------------------------------------------------------


def make_encrypted(dest: Path, source: bytes, password: str = "pass") -> Path:
    """A password-protected ``.xlsx``, encrypted exactly as Excel does (ECMA-376 Agile, via msoffcrypto).

    The result is not a zip but an OLE2 compound file (``EncryptionInfo`` + ``EncryptedPackage``):
    openpyxl reports a misleading ``BadZipFile``; the department must be asked to remove the password.
    """
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(source)).encrypt(password, out)
    return _write(dest, "回答_password.xlsx", out.getvalue())


def _lp_utf16(text: str) -> bytes:
    """UNICODE-LP-P4 (MS-OFFCRYPTO 2.1.2): byte length, UTF-16LE, padded to 4 bytes."""
    raw = text.encode("utf-16-le")
    return struct.pack("<I", len(raw)) + raw + b"\x00" * (-len(raw) % 4)


def make_irm_protected(dest: Path, source: bytes) -> Path:
    """An ``.xlsx`` under a sensitivity label that encrypts (Azure Rights Management / IRM), laid out as
    Office writes one: the IRM data space of MS-OFFCRYPTO 2.2.1 (``\\x06DataSpaces`` with a
    ``DRMEncryptedTransform``) and the package in ``EncryptedPackage``, with no ``EncryptionInfo`` (the
    layout reported in nolze/msoffcrypto-tool#100). No password opens it: the city's rights-management
    server does, for the people the label allows. The license and the encrypted bytes are stand-ins.
    """
    versions = struct.pack("<HHHHHH", 1, 0, 1, 0, 1, 0)  # reader, updater, writer: 1.0
    entry = struct.pack("<II", 1, 0) + _lp_utf16("EncryptedPackage") + _lp_utf16("DRMEncryptedDataSpace")
    data_space_map = struct.pack("<II", 8, 1) + struct.pack("<I", len(entry) + 4) + entry
    transform_id = _lp_utf16("{C73DFACD-061F-43B0-8B64-0C620D2A8B50}")
    transform = struct.pack("<I", 1) + transform_id + _lp_utf16("Microsoft.Metadata.DRMTransform") + versions
    license_xml = '<XrML version="1.2"><BODY type="LICENSE">（市の権利管理サーバーが発行）</BODY></XrML>'
    xrml = license_xml.encode("utf-8")
    primary = (
        struct.pack("<I", len(transform) + 4)
        + transform
        + struct.pack("<I", 4)
        + struct.pack("<I", len(xrml))
        + xrml
        + b"\x00" * (-len(xrml) % 4)
    )
    scrambled = bytes(b ^ (i * 131 + 7) % 256 for i, b in enumerate(source))  # stands in for AES
    streams = [
        ("\x06DataSpaces/Version", _lp_utf16("Microsoft.Container.DataSpaces") + versions),
        ("\x06DataSpaces/DataSpaceMap", data_space_map),
        (
            "\x06DataSpaces/DataSpaceInfo/DRMEncryptedDataSpace",
            struct.pack("<II", 8, 1) + _lp_utf16("DRMEncryptedTransform"),
        ),
        ("\x06DataSpaces/TransformInfo/DRMEncryptedTransform/\x06Primary", primary),
        ("EncryptedPackage", struct.pack("<Q", len(source)) + scrambled),
    ]
    return _write(dest, "回答_秘密度ラベル.xlsx", _ole2_bytes(streams))


# --------------------------------------------------------------------------------------------------------
# 5. Legacy .xls renamed .xlsx (and a minimal OLE2 writer)
# --------------------------------------------------------------------------------------------------------

_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_CLSID_EXCEL97 = bytes.fromhex("2008020000000000C000000000000046")  # {00020820-0000-0000-C000-000000000046}


def _ole2_bytes(streams: Sequence[tuple[str, bytes]], root_clsid: bytes = b"\x00" * 16) -> bytes:
    """Build a version-3 OLE2 compound file (512-byte sectors) holding ``streams`` under the root storage;
    a name with "/" puts its stream in storages (``"\\x06DataSpaces/Version"``).

    Streams of 4,096 bytes or more go to regular sectors, smaller ones to the mini stream; each storage's
    children form a valid red-black tree (balanced, deepest level red).  Enough for olefile, msoffcrypto
    and spreadsheet readers; limited to ~6 MB (109 FAT sectors, no DIFAT sectors).
    """
    sector_size, mini_size, cutoff = 512, 64, 4096
    sectors: list[bytes] = []
    fat: list[int] = []

    def alloc(data: bytes) -> int:
        count = -(-len(data) // sector_size)
        if count == 0:
            return _ENDOFCHAIN
        start = len(sectors)
        for i in range(count):
            sectors.append(data[i * sector_size : (i + 1) * sector_size].ljust(sector_size, b"\x00"))
            fat.append(start + i + 1 if i < count - 1 else _ENDOFCHAIN)
        return start

    # Mini stream for the small streams.
    mini_stream = bytearray()
    mini_fat: list[int] = []
    starts: dict[str, int] = {}
    for name, data in streams:
        if len(data) >= cutoff:
            continue
        count = -(-len(data) // mini_size)
        if count == 0:
            starts[name] = _ENDOFCHAIN
            continue
        first = len(mini_fat)
        mini_fat.extend(first + i + 1 if i < count - 1 else _ENDOFCHAIN for i in range(count))
        mini_stream += data.ljust(count * mini_size, b"\x00")
        starts[name] = first
    for name, data in streams:
        if len(data) >= cutoff:
            starts[name] = alloc(data)
    mini_stream_start = alloc(bytes(mini_stream))
    mini_fat_bytes = b"".join(struct.pack("<I", x) for x in mini_fat)
    if mini_fat_bytes:
        pad = (-len(mini_fat_bytes)) % sector_size
        mini_fat_bytes += struct.pack("<I", _FREESECT) * (pad // 4)
    mini_fat_start = alloc(mini_fat_bytes)
    mini_fat_sectors = len(mini_fat_bytes) // sector_size

    # Directory: entry 0 is the root; then the storages a "/" in a stream's name implies, and the streams.
    nodes: list[tuple[str, int]] = []  # (path, kind: 1 storage, 2 stream)
    index: dict[str, int] = {}
    for name, _ in streams:
        parts = name.split("/")
        for n in range(1, len(parts)):
            storage = "/".join(parts[:n])
            if storage not in index:
                nodes.append((storage, 1))
                index[storage] = len(nodes)
        if name in index:
            raise ValueError(f"stream name used twice: {name!r}")
        nodes.append((name, 2))
        index[name] = len(nodes)
    siblings: dict[str, list[int]] = {}
    for i, (path, _) in enumerate(nodes, start=1):
        siblings.setdefault(path.rpartition("/")[0], []).append(i)
    left: dict[int, int] = {}
    right: dict[int, int] = {}
    red: set[int] = set()
    child: dict[str, int] = {}

    def leaf(i: int) -> str:
        return nodes[i - 1][0].rpartition("/")[2]

    for parent, ids in siblings.items():  # each storage's children form a valid red-black tree
        if len({leaf(i).upper() for i in ids}) != len(ids):
            raise ValueError("names must be unique within a storage (case-insensitively)")
        order = sorted(ids, key=lambda i: (len(leaf(i)), leaf(i).upper()))
        depth: dict[int, int] = {}

        def tree(lo: int, hi: int, d: int, order: list[int] = order, depth: dict[int, int] = depth) -> int:
            if lo >= hi:
                return _NOSTREAM
            mid = (lo + hi) // 2
            node = order[mid]
            depth[node] = d
            left[node] = tree(lo, mid, d + 1)
            right[node] = tree(mid + 1, hi, d + 1)
            return node

        child[parent] = tree(0, len(order), 0)
        max_depth = max(depth.values(), default=0)
        perfect = len(order) == 2 ** (max_depth + 1) - 1
        red |= {n for n, d in depth.items() if d == max_depth and not perfect and d > 0}

    def dir_entry(
        name: str, kind: int, color: int, lft: int, rgt: int, kid: int, start: int, size: int, clsid: bytes
    ) -> bytes:
        raw = name.encode("utf-16-le")
        if len(raw) > 62:
            raise ValueError(f"OLE2 names are at most 31 characters: {name!r}")
        return (
            raw.ljust(64, b"\x00")
            + struct.pack("<HBB", len(raw) + 2, kind, color)
            + struct.pack("<III", lft, rgt, kid)
            + clsid
            + struct.pack("<I", 0)
            + b"\x00" * 16
            + struct.pack("<IQ", start, size)
        )

    entries = [
        dir_entry(
            "Root Entry",
            5,
            1,
            _NOSTREAM,
            _NOSTREAM,
            child.get("", _NOSTREAM),
            mini_stream_start,
            len(mini_stream),
            root_clsid,
        )
    ]
    sizes = {name: len(data) for name, data in streams}
    for i, (path, kind) in enumerate(nodes, start=1):
        color = 0 if i in red else 1
        if kind == 1:
            entries.append(
                dir_entry(
                    leaf(i), 1, color, left[i], right[i], child.get(path, _NOSTREAM), 0, 0, b"\x00" * 16
                )
            )
        else:
            entries.append(
                dir_entry(
                    leaf(i), 2, color, left[i], right[i], _NOSTREAM, starts[path], sizes[path], b"\x00" * 16
                )
            )
    while len(entries) % 4:
        entries.append(
            b"\x00" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", *[_NOSTREAM] * 3) + b"\x00" * 48
        )
    dir_start = alloc(b"".join(entries))

    # FAT, placed after everything else; it must also cover its own sectors.
    n_fat = 1
    while len(sectors) + n_fat > n_fat * (sector_size // 4):
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound file too large for this minimal writer (needs DIFAT sectors)")
    fat_start = len(sectors)
    fat.extend([_FATSECT] * n_fat)
    fat.extend([_FREESECT] * (n_fat * (sector_size // 4) - len(fat)))
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    for i in range(n_fat):
        sectors.append(fat_bytes[i * sector_size : (i + 1) * sector_size])

    difat = [fat_start + i for i in range(n_fat)] + [_FREESECT] * (109 - n_fat)
    header = (
        OLE2_MAGIC
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack(
            "<IIIIIIIII",
            0,
            n_fat,
            dir_start,
            0,
            cutoff,
            mini_fat_start if mini_fat else _ENDOFCHAIN,
            mini_fat_sectors,
            _ENDOFCHAIN,
            0,
        )
        + b"".join(struct.pack("<I", x) for x in difat)
    )
    assert len(header) == 512
    return header + b"".join(sectors)


def _biff(record_type: int, payload: bytes) -> bytes:
    return struct.pack("<HH", record_type, len(payload)) + payload


def _biff_short_string(text: str) -> bytes:
    """ShortXLUnicodeString: 8-bit count, fHighByte=1, UTF-16LE characters."""
    return struct.pack("<BB", len(text), 1) + text.encode("utf-16-le")


def _biff_string(text: str) -> bytes:
    """XLUnicodeString: 16-bit count, fHighByte=1, UTF-16LE characters."""
    return struct.pack("<HB", len(text), 1) + text.encode("utf-16-le")


def _theme_zip() -> bytes:
    """A tiny zipped theme, as Excel embeds in the THEME record of every .xls it saves."""
    theme = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="Office Theme">'
        b"<a:themeElements/></a:theme>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("theme/theme/theme1.xml", theme)
    return buf.getvalue()


def xls_workbook_stream(rows: Sequence[tuple[str, str | int]] = SAMPLE_ROWS, theme: bool = True) -> bytes:
    """A minimal BIFF8 ``Workbook`` stream: one sheet ``回答`` holding ``rows`` (text in the SST).

    With ``theme=True`` a zipped theme is embedded the way Excel does it (THEME record), which makes
    ``zipfile.is_zipfile()`` return True for the whole .xls -- the trap noted in LIBRARY-FACTS.md.
    """
    strings: list[str] = []
    for label, value in rows:
        for item in (label, value):
            if isinstance(item, str) and item not in strings:
                strings.append(item)

    def globals_(sheet_offset: int) -> bytes:
        out = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x2775, 0x07CD, 0x000080C9, 0x00000206))
        out += _biff(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
        out += _biff(0x003D, struct.pack("<HHHHHHHHH", 0, 0, 0x4000, 0x2000, 0x38, 0, 0, 1, 0x258))  # WINDOW1
        out += _biff(
            0x0031,
            struct.pack("<HHHHHBBBB", 220, 0, 0x7FFF, 400, 0, 0, 0, 0x80, 0)
            + _biff_short_string("ＭＳ Ｐゴシック"),
        )  # FONT
        for i in range(16):  # 15 style XFs + 1 cell XF, all "General"
            style = 0xFFF5 if i < 15 else 0x0001
            out += _biff(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, style, 0x20, 0, 0, 0, 0, 0, 0x20C0))
        out += _biff(0x0293, struct.pack("<HBB", 0x8000, 0, 0xFF))  # STYLE: Normal
        if theme:
            blob = _theme_zip()
            out += _biff(0x0896, struct.pack("<HH8sI", 0x0896, 0, b"\x00" * 8, 0) + blob)
        out += _biff(0x0085, struct.pack("<IBB", sheet_offset, 0, 0) + _biff_short_string("回答"))
        sst = struct.pack("<II", len(strings), len(strings)) + b"".join(_biff_string(s) for s in strings)
        out += _biff(0x00FC, sst)
        out += _biff(0x000A, b"")  # EOF
        return out

    glob = globals_(0)
    glob = globals_(len(glob))  # BOUNDSHEET8 has a fixed size, so the second pass is exact

    sheet = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x2775, 0x07CD, 0x000080C9, 0x00000206))
    sheet += _biff(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, 2, 0))  # DIMENSIONS
    for r, (label, value) in enumerate(rows):
        for c, item in enumerate((label, value)):
            if isinstance(item, str):
                sheet += _biff(0x00FD, struct.pack("<HHHI", r, c, 15, strings.index(item)))  # LABELSST
            else:
                sheet += _biff(0x0203, struct.pack("<HHHd", r, c, 15, float(item)))  # NUMBER
    sheet += _biff(0x023E, struct.pack("<HHHHHHHHH", 0x06B6, 0, 0, 0x40, 0, 0, 0, 0, 0))  # WINDOW2
    sheet += _biff(0x000A, b"")
    stream = glob + sheet
    return stream.ljust(4096, b"\x00")  # Excel pads the Workbook stream to at least 4 KiB


def make_crafted_xls(dest: Path, theme: bool = True) -> Path:
    """A minimal but genuine legacy ``.xls`` crafted in Python (no LibreOffice needed).

    OLE2 compound file, root CLSID of Excel 97, one ``Workbook`` stream from ``xls_workbook_stream``.
    """
    data = _ole2_bytes([("Workbook", xls_workbook_stream(theme=theme))], root_clsid=_CLSID_EXCEL97)
    return _write(dest, "回答.xls", data)


def _soffice_convert(source: bytes, fmt: str, suffix: str = ".xlsx", timeout: float = 180) -> bytes:
    """Convert ``source`` with headless LibreOffice into ``fmt`` (e.g. ``xls``) and return the result."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        raise FileNotFoundError("soffice is not on PATH")
    with tempfile.TemporaryDirectory(prefix="hostile-soffice-") as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / f"src{suffix}"
        src.write_bytes(source)
        out = tmpdir / "out"
        profile = (tmpdir / "profile").as_uri()  # own profile: parallel runs must not share one
        subprocess.run(
            [
                exe,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                fmt,
                "--outdir",
                str(out),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        produced = out / f"src.{fmt}"
        if not produced.exists():
            raise RuntimeError(f"soffice produced no {fmt} file")
        return produced.read_bytes()


def make_xls_renamed_xlsx(dest: Path, source: bytes | None = None, use_soffice: bool | None = None) -> Path:
    """A legacy binary ``.xls`` (OLE2 with a ``Workbook`` stream) sent under an ``.xlsx`` name.

    People "Save As" the old form from an old template, or rename ``.xls`` to ``.xlsx`` to pass a check.
    With ``use_soffice`` None (default) a real LibreOffice-made .xls is produced when ``soffice`` is on PATH
    (converting ``source`` or ``valid_xlsx_bytes()``), else the crafted one; True/False forces a path.
    Note the crafted file embeds a zipped theme like Excel's own .xls files, so ``zipfile.is_zipfile()``
    says True for it; LibreOffice's .xls has no theme and says False.
    """
    if use_soffice is None:
        use_soffice = shutil.which("soffice") is not None
    if use_soffice:
        data = _soffice_convert(source if source is not None else valid_xlsx_bytes(), "xls")
    else:
        data = _ole2_bytes([("Workbook", xls_workbook_stream())], root_clsid=_CLSID_EXCEL97)
    return _write(dest, "回答_xls.xlsx", data)


# --------------------------------------------------------------------------------------------------------
# 6. OpenDocument spreadsheets
# --------------------------------------------------------------------------------------------------------


def ods_bytes(rows: Sequence[tuple[str, str | int]] = SAMPLE_ROWS) -> bytes:
    """A minimal valid OpenDocument spreadsheet: ``mimetype`` first and stored, manifest, content, styles.

    One table ``回答`` holding ``rows``; LibreOffice and calamine open it.
    """
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    ns = (
        f'xmlns:office="{office}" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"'
    )

    def cell(value: str | int) -> str:
        if isinstance(value, int):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        return f'<table:table-cell office:value-type="string"><text:p>{_xml_escape(value)}</text:p></table:table-cell>'

    table_rows = "".join(f"<table:table-row>{cell(a)}{cell(b)}</table:table-row>" for a, b in rows)
    decl = '<?xml version="1.0" encoding="UTF-8"?>\n'
    content = (
        f"{decl}<office:document-content {ns}><office:body><office:spreadsheet>"
        f'<table:table table:name="回答">{table_rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    styles = f"{decl}<office:document-styles {ns}/>"
    meta = (
        f"{decl}<office:document-meta {ns}><office:meta><meta:generator>dxsheets-tests</meta:generator>"
        "</office:meta></office:document-meta>"
    )
    mf = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
    manifest = (
        f'{decl}<manifest:manifest xmlns:manifest="{mf}" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{MIME_ODS}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
        '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buf = io.BytesIO()
    date_time = FIXED_TIME.timetuple()[:6]
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype", date_time), MIME_ODS, compress_type=zipfile.ZIP_STORED)
        for name, text in (
            ("content.xml", content),
            ("styles.xml", styles),
            ("meta.xml", meta),
            ("META-INF/manifest.xml", manifest),
        ):
            zf.writestr(zipfile.ZipInfo(name, date_time), text.encode(), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def make_ods(dest: Path) -> Path:
    """A genuine ``.ods`` from a department using LibreOffice: a zip, but with no ``[Content_Types].xml``."""
    return _write(dest, "回答.ods", ods_bytes())


def make_ods_named_xlsx(dest: Path) -> Path:
    """An OpenDocument spreadsheet saved under an ``.xlsx`` name.

    It passes a ``PK`` magic check and ``zipfile.is_zipfile()``; only the ``mimetype`` entry or the missing
    ``[Content_Types].xml`` tells it is not OOXML.  openpyxl fails on it, calamine goes by the extension.
    """
    return _write(dest, "回答_ods.xlsx", ods_bytes())


# --------------------------------------------------------------------------------------------------------
# 7. Strict Open XML
# --------------------------------------------------------------------------------------------------------

#: Transitional -> Strict namespace and relationship-type URIs (longest first: order matters).
STRICT_REWRITES: list[tuple[str, str]] = [
    (
        f"{NS_REL}/extended-properties",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties",
    ),
    (
        f"{NS_REL}/custom-properties",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/customProperties",
    ),
    (NS_REL, "http://purl.oclc.org/ooxml/officeDocument/relationships"),
    (NS_MAIN, "http://purl.oclc.org/ooxml/spreadsheetml/main"),
    ("http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"),
    ("http://schemas.openxmlformats.org/drawingml/2006/chart", "http://purl.oclc.org/ooxml/drawingml/chart"),
    (
        "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
        "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing",
    ),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
        "http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
    ),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
        "http://purl.oclc.org/ooxml/officeDocument/customProperties",
    ),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
        "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes",
    ),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/sharedTypes",
        "http://purl.oclc.org/ooxml/officeDocument/sharedTypes",
    ),
]


def make_strict_ooxml(dest: Path, source: bytes) -> Path:
    """The same workbook as saved with Excel's "Strict Open XML Spreadsheet" option.

    Every XML part's namespaces and relationship types are rewritten to the ``purl.oclc.org/ooxml`` URIs,
    and the workbook gets ``conformance="strict"``; package-level URIs (content types, package
    relationships, core properties) are the same in Strict and stay.  openpyxl then finds no sheets and
    only warns -- a silent empty result -- while calamine reads the values.
    """
    parts = []
    for name, data in _zip_parts(source):
        if name.endswith((".xml", ".rels")):
            text = data.decode("utf-8")
            for old, new in STRICT_REWRITES:
                text = text.replace(old, new)
            if name == "xl/workbook.xml":
                text = re.sub(r"<((?:\w+:)?workbook)\b", r'<\1 conformance="strict"', text, count=1)
            data = text.encode("utf-8")
        parts.append((name, data))
    path = _target(dest, "回答_strict.xlsx")
    _write_package(path, parts)
    return path


# --------------------------------------------------------------------------------------------------------
# 8. Zip bombs (streamed; a minimal raw zip writer so sizes and headers are under our control)
# --------------------------------------------------------------------------------------------------------


@dataclass
class _RawEntry:
    """One zip entry whose data is already compressed; ``declared_size`` lets the headers lie."""

    name: str
    chunks: Sequence[bytes]
    method: int
    crc: int
    file_size: int
    declared_size: int | None = None
    lie_in_local_header: bool = True
    raw_name: bytes | None = None  # the name's bytes as written, with no UTF-8 flag (cp932 from Windows)
    encrypted: bool = False  # chunks are ZipCrypto-encrypted (general purpose flag bit 0)
    declared_offset: int | None = None  # where the central directory says the entry starts (ZIP64: a lie)

    @property
    def compress_size(self) -> int:
        return sum(len(c) for c in self.chunks)


def _deflate_raw(data: bytes, level: int = 9) -> bytes:
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush(zlib.Z_FINISH)


def _small_entry(name: str, data: bytes) -> _RawEntry:
    return _RawEntry(name, [_deflate_raw(data)], zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data))


def _zipcrypto(data: bytes, password: bytes, crc: int, seed: int = 0) -> bytes:
    """Traditional PKWARE encryption ("ZipCrypto", APPNOTE 6.1) of an entry's compressed bytes, with its
    12-byte header: what Windows and most zip tools write for a password-protected zip (PPAP)."""

    def crc_byte(value: int, byte: int) -> int:
        return zlib.crc32(bytes([byte]), value ^ 0xFFFFFFFF) ^ 0xFFFFFFFF

    keys = [0x12345678, 0x23456789, 0x34567890]

    def update(byte: int) -> None:
        keys[0] = crc_byte(keys[0], byte)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc_byte(keys[2], keys[1] >> 24)

    for byte in password:
        update(byte)
    header = random.Random(seed).randbytes(11) + bytes([crc >> 24])
    out = bytearray()
    for byte in header + data:
        temp = (keys[2] | 2) & 0xFFFF
        out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(byte)
    return bytes(out)


def make_zip_archive(
    dest: Path,
    members: Sequence[tuple[str, bytes]],
    password: bytes | None = None,
    name: str = "回答.zip",
) -> Path:
    """Returns zipped for mail as Japanese Windows' "compressed folder" does: member names in cp932 without
    the UTF-8 flag; with ``password``, ZipCrypto-encrypted (a PPAP attachment whose password comes by a
    second mail).  A zip of files, not a workbook: the collector must ask for it to be unpacked."""
    entries = []
    for member, data in members:
        entry = _small_entry(member, data)
        entry.raw_name = member.encode("cp932")
        if password is not None:
            entry.chunks = [_zipcrypto(b"".join(entry.chunks), password, entry.crc)]
            entry.encrypted = True
        entries.append(entry)
    path = _target(dest, name)
    _write_raw_zip(path, entries)
    return path


def zip_archive_bytes(members: Sequence[tuple[str, bytes]], password: bytes | None = None) -> bytes:
    """The bytes of :func:`make_zip_archive` (to attach to a mail), written nowhere that stays."""
    with tempfile.TemporaryDirectory() as tmp:
        return make_zip_archive(Path(tmp), members, password).read_bytes()


def _dos_time(when: dt.datetime = FIXED_TIME) -> tuple[int, int]:
    time_ = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    date_ = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    return time_, date_


def _write_raw_zip(path: Path, entries: Sequence[_RawEntry], zip64: bool | None = None) -> None:
    """Write ``entries`` as a zip without data descriptors.

    ZIP64 extra fields and end records are written where a value does not fit 32 bits, or for every entry
    with ``zip64=True``.  Sizes come from ``declared_size`` when set (a lie), else the true ``file_size``.
    """
    mtime, mdate = _dos_time()
    limit = 0xFFFFFFFF
    central: list[bytes] = []
    with open(path, "wb") as f:
        for e in entries:
            offset = f.tell()
            size = e.file_size if e.declared_size is None else e.declared_size
            local_size = size if e.lie_in_local_header else e.file_size
            csize = e.compress_size
            big = bool(zip64) or max(size, local_size, csize) >= limit
            if e.declared_offset is not None:
                offset = e.declared_offset
            far = bool(zip64) or offset >= limit
            name = e.raw_name if e.raw_name is not None else e.name.encode("utf-8")
            flags = (0 if e.raw_name is not None or e.name.isascii() else 0x0800) | int(e.encrypted)
            version = 45 if (big or far) else 20
            local_extra = struct.pack("<HHQQ", 1, 16, local_size, csize) if big else b""
            f.write(
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    version,
                    flags,
                    e.method,
                    mtime,
                    mdate,
                    e.crc,
                    limit if big else csize,
                    limit if big else local_size,
                    len(name),
                    len(local_extra),
                )
            )
            f.write(name + local_extra)
            for chunk in e.chunks:
                f.write(chunk)
            fields = ([size, csize] if big else []) + ([offset] if far else [])
            cd_extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
            central.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    version,
                    version,
                    flags,
                    e.method,
                    mtime,
                    mdate,
                    e.crc,
                    limit if big else csize,
                    limit if big else size,
                    len(name),
                    len(cd_extra),
                    0,
                    0,
                    0,
                    0,
                    limit if far else offset,
                )
                + name
                + cd_extra
            )
        cd_offset = f.tell()
        cd = b"".join(central)
        f.write(cd)
        n = len(entries)
        if zip64 or cd_offset >= limit or len(cd) >= limit or n >= 0xFFFF:
            eocd64 = f.tell()
            f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(cd), cd_offset))
            f.write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        f.write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(n, 0xFFFF),
                min(n, 0xFFFF),
                min(len(cd), limit),
                min(cd_offset, limit),
                0,
            )
        )


def _repeat_entry(
    name: str, head: bytes, chunk: bytes, tail: bytes, total: int, filler: bytes = b" "
) -> _RawEntry:
    """An entry inflating to exactly ``total`` bytes: head, chunk repeated, filler padding, tail.

    Each segment is deflated by its own compressor and ended with ``Z_FULL_FLUSH`` (byte-aligned, no
    back-references across segments), so the compressed chunk is computed once and its bytes repeated; the
    last segment ends the stream.  CRC-32 is accumulated by running ``zlib.crc32`` over the chunk n times.
    """
    body = total - len(head) - len(tail)
    if body < 0:
        raise ValueError("total smaller than head + tail")
    count, pad = divmod(body, len(chunk))

    def seg(data: bytes, mode: int) -> bytes:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        return comp.compress(data) + comp.flush(mode)

    head_z = seg(head, zlib.Z_FULL_FLUSH)
    chunk_z = seg(chunk, zlib.Z_FULL_FLUSH)
    tail_data = filler * (pad // len(filler)) + tail
    tail_z = seg(tail_data, zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail_data, crc)
    size = len(head) + count * len(chunk) + len(tail_data)
    assert size == total, (size, total)
    return _RawEntry(name, [head_z, *([chunk_z] * count), tail_z], zipfile.ZIP_DEFLATED, crc, size)


def _package_entries(sheet_entry: _RawEntry, shared_strings: _RawEntry | None = None) -> list[_RawEntry]:
    """Content types, relationships and workbook around a worksheet (and optional shared strings) entry."""
    decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    sst_ct = (
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT_SHARED_STRINGS}"/>'
        if shared_strings
        else ""
    )
    content_types = (
        f'{decl}<Types xmlns="{NS_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{CT_XLSX_MAIN}"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT_WORKSHEET}"/>{sst_ct}</Types>'
    )
    rels = (
        f'{decl}<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" '
        f'Type="{NS_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        f'{decl}<workbook xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheets>'
        '<sheet name="回答" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    sst_rel = (
        f'<Relationship Id="rId2" Type="{NS_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        if shared_strings
        else ""
    )
    wb_rels = (
        f'{decl}<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" '
        f'Type="{NS_REL}/worksheet" Target="worksheets/sheet1.xml"/>{sst_rel}</Relationships>'
    )
    entries = [
        _small_entry("[Content_Types].xml", content_types.encode()),
        _small_entry("_rels/.rels", rels.encode()),
        _small_entry("xl/workbook.xml", workbook.encode()),
        _small_entry("xl/_rels/workbook.xml.rels", wb_rels.encode()),
        sheet_entry,
    ]
    if shared_strings:
        entries.append(shared_strings)
    return entries


def zip_of_many_entries(entries: int) -> bytes:
    """A zip of `entries` empty stored files (ZIP64 past 65,535), laid out by hand: zipfile takes seconds
    to write as many."""
    local, central = bytearray(), bytearray()
    for i in range(entries):
        name = f"{i:06d}".encode()
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            len(name),
            0,
            0,
            0,
            0,
            0,
            len(local),
        )
        central += name
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
    at, size = len(local), len(central)
    tail = b""
    if entries > 0xFFFF:
        record = at + size
        tail = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, entries, entries, size, at)
        tail += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(entries, 0xFFFF), min(entries, 0xFFFF), size, at, 0)
    return bytes(local + central) + tail + end


def make_zip_many_entries(dest: Path, entries: int = 100_000) -> Path:
    """A "workbook" of 100,000 empty parts (8 MB): zipfile lists its directory for half a second before
    anything can count them; the end record says how many there are."""
    return _write(dest, "回答_部品多数.xlsx", zip_of_many_entries(entries))


def make_zip_bomb(
    dest: Path,
    gib: float = 3,
    content: Literal["rows", "whitespace"] = "rows",
    zip64: bool | None = None,
) -> Path:
    """A valid ``.xlsx`` whose ``xl/worksheets/sheet1.xml`` inflates to exactly ``gib`` GiB.

    ``content="rows"``: after a first row holding ``回答``, full rows of 16,384 numeric cells (``<c><v>1</v>
    </c>`` without ``r`` attributes, which the schema allows) -- ~13,000 rows per 3 GiB, inside the grid, so
    a reader building cells exhausts memory (LIBRARY-FACTS: calamine aborts the process, openpyxl grows for
    minutes).  Compresses ~470:1 (3 GiB -> ~7 MB).  ``content="whitespace"`` pads with blanks after the first
    row instead (~1000:1): costs inflate/parse time, not cells.  The zip directory honestly declares the size;
    ZIP64 records are used from 4 GiB on (or always with ``zip64=True``).  Built by streaming, in seconds.
    """
    decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    head = (
        f'{decl}<worksheet xmlns="{NS_MAIN}" xmlns:r="{NS_REL}"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>回答</t></is></c></row>'
    ).encode()
    tail = b"</sheetData></worksheet>"
    chunk = b"<row>" + b"<c><v>1</v></c>" * 16384 + b"</row>" if content == "rows" else b" " * MIB
    total = max(int(gib * GIB), len(head) + len(tail))
    sheet = _repeat_entry("xl/worksheets/sheet1.xml", head, chunk, tail, total)
    path = _target(dest, "回答_bomb.xlsx")
    _write_raw_zip(path, _package_entries(sheet), zip64=zip64)
    return path


def make_shared_string_bomb(dest: Path, gib: float = 1) -> Path:
    """A valid ``.xlsx`` whose only cell refers to ONE shared string of ``gib`` GiB (``A`` repeated).

    ~1 MB on disk per GiB.  openpyxl loads it whole (LIBRARY-FACTS: 18 s, 2.9 GB for 1 GiB), calamine panics.
    Real cells are limited to 32,767 characters, so any longer string is itself a sign of attack.
    """
    decl = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    head = f'{decl}<sst xmlns="{NS_MAIN}" count="1" uniqueCount="1"><si><t>'.encode()
    tail = b"</t></si></sst>"
    total = max(int(gib * GIB), len(head) + len(tail))
    sst = _repeat_entry("xl/sharedStrings.xml", head, b"A" * MIB, tail, total, filler=b"A")
    sheet = (
        f'{decl}<worksheet xmlns="{NS_MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    path = _target(dest, "回答_sst_bomb.xlsx")
    _write_raw_zip(path, _package_entries(_small_entry("xl/worksheets/sheet1.xml", sheet), sst))
    return path


def make_lying_sizes(
    dest: Path,
    source: bytes,
    part: str | None = None,
    inflated_mib: int = 64,
    where: Literal["both", "central"] = "both",
) -> Path:
    """``source`` with one part (first worksheet by default) that inflates to ``inflated_mib`` MiB while the
    zip headers declare its original small size.

    The part's real content is the original XML with blanks before ``</sheetData>`` (still valid XML); its
    CRC is the true one.  A guard that sums the *declared* uncompressed sizes is fooled; ``zipfile`` stops
    at the declared size and raises ``BadZipFile`` (CRC), while a reader that inflates the raw stream gets
    the whole amount.  ``where="central"`` lies only in the central directory (local header honest).
    """
    parts = _zip_parts(source)
    names = [n for n, _ in parts]
    part = part or _first_worksheet(names)
    if part not in names:
        raise KeyError(part)
    entries: list[_RawEntry] = []
    for name, data in parts:
        if name != part:
            entries.append(_small_entry(name, data))
            continue
        marker = b"</sheetData>" if b"</sheetData>" in data else data[-1:]
        idx = data.rindex(marker)
        entry = _repeat_entry(name, data[:idx], b" " * MIB, data[idx:], max(inflated_mib * MIB, len(data)))
        entry.declared_size = len(data)
        entry.lie_in_local_header = where == "both"
        entries.append(entry)
    path = _target(dest, "回答_lying_sizes.xlsx")
    _write_raw_zip(path, entries)
    return path


def make_far_offset(
    dest: Path, source: bytes, part: str = "xl/workbook.xml", offset: int = 2**64 - 2
) -> Path:
    """``source`` whose central directory places ``part`` at ``offset`` through a ZIP64 extra field: past
    2**63, where no file can seek (``zipfile`` raises ``OverflowError`` opening the part). Found by fuzzing
    the reader: the error reached its last-resort handler."""
    entries = [_small_entry(name, data) for name, data in _zip_parts(source)]
    for entry in entries:
        if entry.name == part:
            entry.declared_offset = offset
    path = _target(dest, "回答_far_offset.xlsx")
    _write_raw_zip(path, entries)
    return path


# --------------------------------------------------------------------------------------------------------
# 9. Dimension bomb
# --------------------------------------------------------------------------------------------------------


def make_dimension_bomb(dest: Path, source: bytes | None = None, claim: bool = True) -> Path:
    """A ~5 KB workbook with cells only at A1 and XFD1048576, and ``<dimension ref="A1:XFD1048576"/>``.

    A reader that allocates the used range (17 billion cells) dies: calamine aborts at once, openpyxl's
    ``iter_rows()`` hits MemoryError after minutes, read-only mode trusts the dimension.  With ``source``,
    that workbook's first sheet (a form's input sheet) gets the far cell and, unless ``claim`` is False
    (a far cell its writer did not count: ``回答_遠いセル.xlsx``), the dimension instead.
    """
    import xlsxwriter

    if source is not None:
        parts = _zip_parts(source)
        target = _first_worksheet([name for name, _ in parts])
        patched = []
        for name, part in parts:
            if name == target:
                if claim:  # xlsxwriter writes <dimension .../>, openpyxl <dimension ... />
                    part, claimed = re.subn(
                        rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', part, count=1
                    )
                    if not claimed:
                        raise AssertionError("the source sheet has no <dimension> to claim the range with")
                part = part.replace(
                    b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>', 1
                )
            patched.append((name, part))
        path = _target(dest, "回答_dimension.xlsx" if claim else "回答_遠いセル.xlsx")
        _write_package(path, patched)
        return path

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"created": FIXED_TIME})
    ws = wb.add_worksheet("回答")
    ws.write_string(0, 0, "回答")
    ws.write_number(1048575, 16383, 1)
    wb.close()
    data = buf.getvalue()
    if b'<dimension ref="A1:XFD1048576"/>' not in zipfile.ZipFile(io.BytesIO(data)).read(
        "xl/worksheets/sheet1.xml"
    ):
        raise AssertionError("xlsxwriter did not write the expected <dimension>")
    return _write(dest, "回答_dimension.xlsx", data)


def make_text_flood(dest: Path, source: bytes, rows: int = 1000, chars: int = 32_000) -> Path:
    """The source with ``DX_Q2`` grown to ``rows`` rows (the most a block may have), every cell of it one
    shared string of ``chars`` characters: 23 KB on disk, 128 million characters for a reader that takes
    each cell whole (387 MB of answers, 3.7 s, before dxsheets read 2,000 characters of a cell)."""
    import openpyxl
    from openpyxl.utils import column_index_from_string, get_column_letter
    from openpyxl.workbook.defined_name import DefinedName

    from dxsheets import forms

    wb = openpyxl.load_workbook(io.BytesIO(source))
    if forms.N_Q2 not in wb.defined_names:  # not a form: the block is made on its first sheet
        wb.defined_names[forms.N_Q2] = DefinedName(forms.N_Q2, attr_text=f"'{wb.sheetnames[0]}'!$B$2:$E$2")
    sheet, ref = next(iter(wb.defined_names[forms.N_Q2].destinations))
    first = ref.replace("$", "").split(":")[0]
    letters = re.match(r"[A-Z]+", first).group()  # type: ignore[union-attr]
    top, left = int(first[len(letters) :]), column_index_from_string(letters)
    right = get_column_letter(left + len(forms.Q2_COLUMNS) - 1)
    wb.defined_names[forms.N_Q2].attr_text = f"'{sheet}'!${letters}${top}:${right}${top + rows - 1}"
    for row in wb[sheet].iter_rows(min_row=top, max_row=top + rows - 1, min_col=left, max_col=left + 3):
        for cell in row:
            if type(cell).__name__ != "MergedCell":
                cell.value = "〓FLOOD〓"
    buf = io.BytesIO()
    wb.save(buf)
    sst = f'<sst xmlns="{NS_MAIN}" count="1" uniqueCount="1"><si><t>{"あ" * chars}</t></si></sst>'
    parts = []
    for name, data in _zip_parts(buf.getvalue()):
        if name == "xl/sharedStrings.xml":
            raise AssertionError("openpyxl wrote shared strings: the flood expects inline ones")
        if name.startswith("xl/worksheets/"):
            data = re.sub(
                rb'(<c r="[A-Z]+\d+"[^>]*?) t="inlineStr"><is><t>\xe3\x80\x93FLOOD\xe3\x80\x93</t></is></c>',
                rb'\1 t="s"><v>0</v></c>',
                data,
            )
        elif name == "[Content_Types].xml":
            data = data.replace(
                b"</Types>",
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
            )
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdFlood" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
            )
        parts.append((name, data))
    parts.append(("xl/sharedStrings.xml", sst.encode()))
    path = _target(dest, "回答_長文だらけ.xlsx")
    _write_package(path, parts)
    return path


def _empty_cells(first_row: int, rows: int, cols: int = 200) -> bytes:
    """``rows`` rows of ``cols`` formatted cells holding nothing (``<c r="A1" s="1"/>``), from ``first_row``."""
    letters = [_column_letters(c) for c in range(1, cols + 1)]
    return "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}" s="1"/>' for col in letters) + "</row>"
        for r in range(first_row, first_row + rows)
    ).encode()


def _column_letters(col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def make_formatted_flood(dest: Path, source: bytes) -> Path:
    """The source's first sheet padded, under its own rows, with 2,000,000 formatted empty cells (10,000 rows
    of 200: within the grid limits, no <dimension> to give it away). 4 MB on disk; reading it took 7 s
    before dxsheets counted a sheet's markup before parsing it."""
    parts = _zip_parts(source)
    sheet = _first_worksheet([name for name, _ in parts])
    padded = [
        (
            name,
            data.replace(b"</sheetData>", _empty_cells(101, 9_900) + b"</sheetData>")
            if name == sheet
            else data,
        )
        for name, data in parts
    ]
    path = _target(dest, "回答_書式だらけ.xlsx")
    _write_package(path, padded)
    return path


_WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def _with_sheets(
    source: bytes, sheets: str, targets: dict[str, str], added: list[tuple[str, bytes]], names: str = ""
) -> list[tuple[str, bytes]]:
    """The source's parts with ``sheets`` (``<sheet>`` entries) listed in its workbook part, the
    relationships they use (id: target, from ``xl/``), ``names`` (``<definedName>`` entries) and the
    ``added`` parts."""
    rels = "".join(
        f'<Relationship Id="{i}" Type="{_WORKSHEET_REL}" Target="{t}"/>' for i, t in targets.items()
    )
    parts = []
    for name, data in _zip_parts(source):
        if name == "xl/workbook.xml":
            data = data.replace(b"</sheets>", sheets.encode() + b"</sheets>")
            data = data.replace(b"</definedNames>", names.encode() + b"</definedNames>")
        elif name == "xl/_rels/workbook.xml.rels":
            data = data.replace(b"</Relationships>", rels.encode() + b"</Relationships>")
        parts.append((name, data))
    return parts + added


def make_added_sheets(dest: Path, source: bytes, sheets: int = 12) -> Path:
    """The source with ``sheets`` visible sheets added, each of 150,000 formatted empty cells and a note in
    A1: sheets a person added are looked through (eight of them), yet none may cost the time it would take
    to parse it, nor refuse the file."""
    body = '<row r="1"><c r="A1" t="inlineStr"><is><t>メモ</t></is></c></row>'.encode() + _empty_cells(2, 750)
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS_MAIN}"><sheetData>'.encode()
        + body
        + b"</sheetData></worksheet>"
    )
    parts = _with_sheets(
        source,
        "".join(f'<sheet name="追加{i}" sheetId="{900 + i}" r:id="rIdAdded{i}"/>' for i in range(sheets)),
        {f"rIdAdded{i}": f"worksheets/added{i}.xml" for i in range(sheets)},
        [(f"xl/worksheets/added{i}.xml", xml) for i in range(sheets)],
    )
    path = _target(dest, "回答_シート追加.xlsx")
    _write_package(path, parts)
    return path


def make_shared_sheet_part(dest: Path, source: bytes, sheets: int = 200) -> Path:
    """The source with ``sheets`` hidden sheets that all point at one part of 90,000 empty cells (990 KB,
    within the per-sheet limits), each with an input name of its own, so each is read. 16 KB on disk;
    reading it took 25 s before the sheets read were held to one tag budget together (found by fuzzing)."""
    heavy = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS_MAIN}"><sheetData><row r="1">'.encode()
        + b'<c r="A1"/>' * 90_000
        + b"</row></sheetData></worksheet>"
    )
    first = dict(_zip_parts(source))["xl/workbook.xml"].count(b"<sheet ")  # the new sheets' positions
    parts = _with_sheets(
        source,
        "".join(
            f'<sheet name="H{i}" sheetId="{900 + i}" state="hidden" r:id="rIdHeavy"/>' for i in range(sheets)
        ),
        {"rIdHeavy": "worksheets/heavy.xml"},
        [("xl/worksheets/heavy.xml", heavy)],
        "".join(
            f'<definedName name="DX_Q3" localSheetId="{first + i}">\'H{i}\'!$B$2:$C$11</definedName>'
            for i in range(sheets)
        ),
    )
    path = _target(dest, "回答_共有シート.xlsx")
    _write_package(path, parts)
    return path


def make_utf7_sheet(dest: Path, source: bytes, cells: int = 60_000) -> Path:
    """The source's first sheet declared UTF-7, every "<" spelled "+ADw-", with ``cells`` empty cells more:
    a count of "<" on the bytes saw one tag (found by fuzzing: 4,000,000 such cells took 5 s). A package's
    XML is UTF-8 or UTF-16 only."""
    parts = _zip_parts(source)
    sheet = _first_worksheet([name for name, _ in parts])
    out = []
    for name, data in parts:
        if name == sheet:
            body = re.sub(rb"^<\?xml[^>]*\?>", b"", data).replace(
                b"</sheetData>", _empty_cells(101, cells // 200) + b"</sheetData>"
            )
            data = b'<?xml version="1.0" encoding="utf-7"?>' + body.replace(b"<", b"+ADw-")
        out.append((name, data))
    path = _target(dest, "回答_UTF7.xlsx")
    _write_package(path, out)
    return path


def make_junk_names(dest: Path, source: bytes, names: int = 400_000) -> Path:
    """The source's workbook part carrying ``names`` more defined names, as workbooks that took in sheets from
    others for years do: 1.1 MB on disk, 1.4 s to read before dxsheets counted them first."""
    junk = "".join(f'<definedName name="旧名前{i}">課題抽出シート!$A$1</definedName>' for i in range(names))
    parts = [
        (
            name,
            data.replace(b"</definedNames>", junk.encode() + b"</definedNames>")
            if name == "xl/workbook.xml"
            else data,
        )
        for name, data in _zip_parts(source)
    ]
    path = _target(dest, "回答_名前だらけ.xlsx")
    _write_package(path, parts)
    return path


def make_junk_workbook_part(dest: Path, source: bytes, elements: int = 1_000_000) -> Path:
    """The source's workbook part swollen with ``elements`` unknown elements, each with a random attribute
    so that the zip ratio guard does not catch it (5 MB on disk): 1.7 s to read before dxsheets counted a
    part's tags first (3,000,000 of them, 15 MB, took 5 s)."""
    rnd = random.Random(5)
    junk = b"".join(b"<x v='%d'/>" % rnd.getrandbits(40) for _ in range(elements))
    parts = [
        (name, data.replace(b"</workbook>", junk + b"</workbook>") if name == "xl/workbook.xml" else data)
        for name, data in _zip_parts(source)
    ]
    path = _target(dest, "回答_ブック部分肥大.xlsx")
    _write_package(path, parts)
    return path


def make_many_copies(dest: Path, source: bytes, copies: int = 400) -> Path:
    """The source with ``copies`` more sheets, each carrying the input names as its own (as Excel's "Move
    or Copy" gives a copied sheet), stretched to the most rows a block may have, and a word typed in each.

    196 KB on disk. Reading the inputs as every copy sees them took 4.6 s (3 million cells looked up) before
    dxsheets looked at no more than the first eight copies.
    """
    import openpyxl
    from openpyxl.workbook.defined_name import DefinedName

    from dxsheets import forms

    wb = openpyxl.load_workbook(io.BytesIO(source))
    rows = forms.MAX_BLOCK_ROWS
    areas = {
        forms.N_RESPONDENT: "$B$2",
        forms.N_HOUSE: f"$E$2:$E${rows + 1}",
        forms.N_Q2: f"$B$2:$E${rows + 1}",
        forms.N_Q3: f"$B$2:$C${rows + 1}",
    }
    for i in range(copies):
        title = f"コピー{i + 1}"
        sheet = wb.create_sheet(title)
        sheet["B2"] = "コピー"
        for name, area in areas.items():
            sheet.defined_names[name] = DefinedName(name, attr_text=f"'{title}'!{area}")
    buf = io.BytesIO()
    wb.save(buf)
    return _write(dest, "回答_コピーだらけ.xlsx", buf.getvalue())


def make_stretched_name(dest: Path, source: bytes, name: str = "DX_Q2") -> Path:
    """The source with the defined name ``name`` stretched down to row 1,048,576 (its end row replaced).

    Only the workbook part changes; the file stays small and valid. A reader that builds the named range
    cell by cell makes 4 million empty cells for it (14 s and 420 MB for one form before dxsheets refused
    such names). A source without that name gets one on its first sheet, ``$A$2:$B$1048576``.
    """
    pattern = re.compile(
        rf'(<definedName\b[^>]*\bname="{re.escape(name)}"[^>]*>[^<]*?:\$?[A-Z]{{1,3}}\$?)\d+<'
    )

    def stretch(text: str) -> str:
        text, count = pattern.subn(r"\g<1>1048576<", text, count=1)
        if count:
            return text
        sheet = re.search(r'<sheet\b[^>]*\bname="([^"]+)"', text)
        if sheet is None or "</sheets>" not in text:
            raise ValueError("source has no sheet to name a range on")
        ref = f"<definedName name=\"{name}\">'{sheet.group(1)}'!$A$2:$B$1048576</definedName>"
        if "</definedNames>" in text:
            return text.replace("</definedNames>", ref + "</definedNames>", 1)
        return text.replace("</sheets>", f"</sheets><definedNames>{ref}</definedNames>", 1)

    patched = _with_part_text(source, "xl/workbook.xml", stretch)
    path = _target(dest, "回答_stretched_name.xlsx")
    _write_package(path, patched)
    return path


# --------------------------------------------------------------------------------------------------------
# 10. XML entity attacks
# --------------------------------------------------------------------------------------------------------


def _inject_doctype(source: bytes, doctype_body: str, reference: str, default_name: str, dest: Path) -> Path:
    names = [n for n, _ in _zip_parts(source)]
    target = "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in names else _first_worksheet(names)

    def inject(text: str) -> str:
        m = re.search(r"<([\w:]+)[\s>/]", re.sub(r"^<\?xml[^>]*\?>", "", text).lstrip())
        if m is None:
            raise ValueError(f"no root element in {target}")
        doctype = f"<!DOCTYPE {m.group(1)} [\n{doctype_body}\n]>\n"
        decl = re.match(r"<\?xml[^>]*\?>\s*", text)
        pos = decl.end() if decl else 0
        text = text[:pos] + doctype + text[pos:]
        text, n = re.subn(r"(<(?:\w+:)?[tv](?:\s[^>]*)?>)[^<]*(</)", rf"\g<1>{reference}\g<2>", text, count=1)
        if n == 0:
            raise ValueError(f"no <t> or <v> element in {target} to carry the entity")
        return text

    path = _target(dest, default_name)
    _write_package(path, _with_part_text(source, target, inject))
    return path


def make_billion_laughs(dest: Path, source: bytes, levels: int = 10) -> Path:
    """``source`` with a "billion laughs" DOCTYPE in ``xl/sharedStrings.xml`` (else the first worksheet).

    ``lol0 = "lol"`` and each ``lolN`` is ten ``lol(N-1)``; the first string becomes ``&lol9;`` -- 3 GB of
    text from ~1 KB.  No workbook from Excel, LibreOffice, openpyxl or xlsxwriter has a DOCTYPE, so refusing
    one is safe; defusedxml refuses it, expat >= 2.4 stops it by its amplification limit.
    """
    lines = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        lines.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    return _inject_doctype(source, "\n".join(lines), f"&lol{levels - 1};", "回答_laughs.xlsx", dest)


def make_external_entity(dest: Path, source: bytes, url: str = "file:///etc/passwd") -> Path:
    """``source`` whose first shared string is an external entity ``SYSTEM "file:///etc/passwd"`` (XXE).

    A parser that resolves external entities would copy the server's file into the consolidated output.
    """
    return _inject_doctype(source, f'<!ENTITY xxe SYSTEM "{url}">', "&xxe;", "回答_xxe.xlsx", dest)


# --------------------------------------------------------------------------------------------------------
# 11. Mail messages
# --------------------------------------------------------------------------------------------------------


_MAIL_POLICY = email.policy.default.clone(refold_source="none", linesep="\r\n")


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 ``=?UTF-8?B?...?=`` words of at most 36 UTF-8 bytes each, never splitting a character."""
    words, piece = [], ""
    for ch in text:
        if len((piece + ch).encode("utf-8")) > 36:
            words.append(piece)
            piece = ""
        piece += ch
    words.append(piece)
    return ["=?UTF-8?B?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words if w]


def _rfc2231_params(param: str, text: str) -> list[str]:
    """RFC 2231 ``param*0*=UTF-8''%E5...`` continuation segments (one when short), split between escapes."""
    quoted = urllib.parse.quote(text, safe="")
    segments, current = [], ""
    for token in re.findall(r"%[0-9A-F]{2}|.", quoted):
        if len(current) + len(token) > 54:
            segments.append(current)
            current = ""
        current += token
    segments.append(current)
    if len(segments) == 1:
        return [f"{param}*=UTF-8''{segments[0]}"]
    return [f"{param}*{i}*={'UTF-8' + chr(39) * 2 if i == 0 else ''}{seg}" for i, seg in enumerate(segments)]


def _attachment_part(name: str, data: bytes, style: Literal["rfc2231", "rfc2047"]) -> EmailMessage:
    """One attachment with hand-folded headers in the style real mail programs write.

    ``rfc2231`` (Thunderbird): ``Content-Type: ...; name="=?UTF-8?B?...?="`` and ``Content-Disposition:
    attachment; filename*0*=UTF-8''%E5%9B%9E...`` continuations.  ``rfc2047`` (Outlook, older Japanese
    mailers): both parameters as quoted encoded-words, which RFC 2047 forbids but everyone sends.
    (The headers are written by hand because Python's own folder mangles a long Content-Type that carries
    a non-ASCII parameter.)
    """
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name.lower().endswith(".xlsx"):
        mime = MIME_XLSX
    elif name.lower() == "winmail.dat":
        mime = "application/ms-tnef"
    quoted_words = '"' + "\r\n ".join(_encoded_words(name)) + '"'
    if style == "rfc2231":
        disposition = ";\r\n ".join(["attachment", *_rfc2231_params("filename", name)])
    else:
        disposition = f"attachment;\r\n filename={quoted_words}"
    body = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
    raw = (
        f"Content-Type: {mime};\r\n name={quoted_words}\r\n"
        f"Content-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{body}"
    )
    part = email.parser.BytesParser(policy=_MAIL_POLICY).parsebytes(raw.encode("ascii"))
    assert isinstance(part, EmailMessage)
    return part


TNEF_SIGNATURE = 0x223E9F78


def winmail_dat_bytes(attachments: Sequence[tuple[str, bytes]]) -> bytes:
    """A TNEF stream (winmail.dat), as Outlook sends a rich-text mail outside Exchange: the files are inside
    it (attAttachTitle + attAttachData per file), not attachments of the mail.  Attribute layout per
    MS-OXTNEF: level (1 byte), id (4), length (4), data, checksum (2, sum of the data bytes)."""

    def attr(level: int, attr_id: int, data: bytes) -> bytes:
        return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", TNEF_SIGNATURE, 0x0001)
    out += attr(1, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += attr(1, 0x00069007, struct.pack("<II", 932, 0))  # attOemCodepage: Japanese Windows
    for name, data in attachments:
        out += attr(2, 0x00069002, struct.pack("<HIIIH", 1, 0xFFFFFFFF, 0, 0, 0)[:14])  # attAttachRendData
        out += attr(2, 0x00018010, name.encode("cp932") + b"\0")  # attAttachTitle
        out += attr(2, 0x0006800F, data)  # attAttachData
    return out


def make_eml(
    dest: Path,
    attachments: Sequence[tuple[str, bytes]],
    date: dt.datetime,
    subject: str = "【回答】DX推進アンケート（総務課）",
    sender: str = "総務課 山田 太郎 <yamada@city.example.jp>",
    to: str = "DX推進室 <dx-suishin@city.example.jp>",
    body: str | None = None,
    filename_style: Literal["rfc2231", "rfc2047"] = "rfc2231",
) -> Path:
    """A real RFC 5322 message (``email.message.EmailMessage``) as a department sends its answer back.

    Japanese subject, sender name and body (UTF-8, base64); ``date`` goes into the Date header (a naive
    datetime is taken as JST).  Each ``(filename, bytes)`` attachment gets a content type from its name and
    a Japanese file name encoded as mail programs do -- see ``_attachment_part``: RFC 2231 ``filename*``
    (default) or quoted RFC 2047 encoded-words.  Pass no attachments for "forgot to attach" (the message is
    then a single text/plain part), or the bytes of a lock file or a zip bomb for a hostile attachment.
    """
    if date.tzinfo is None:
        date = date.replace(tzinfo=JST)
    msg = EmailMessage(policy=_MAIL_POLICY)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_msgid(idstring="dxsheets", domain="city.example.jp")
    if body is None:
        names = "、".join(name for name, _ in attachments) or "（添付なし）"
        body = (
            f"DX推進室 御中\n\nお世話になっております。総務課の山田です。\n"
            f"アンケートの回答を送付いたします。\n添付：{names}\n\nよろしくお願いいたします。\n"
        )
    msg.set_content(body)
    if attachments:
        msg.make_mixed()
        for name, data in attachments:
            msg.attach(_attachment_part(name, data, filename_style))
    return _write(dest, "回答.eml", msg.as_bytes(policy=_MAIL_POLICY))


def smime_signed_entity(attachments: Sequence[tuple[str, bytes]], body: str = "回答を送付します。") -> bytes:
    """The MIME entity of a mail signed with S/MIME (RFC 8551 ``multipart/signed``): the content (a body
    and the attachments, ``multipart/mixed``) and a detached signature ``smime.p7s``. The signature bytes
    are not a real signature: the collector reads signed mails, it does not verify them."""
    content = EmailMessage(policy=_MAIL_POLICY)
    content.set_content(body)
    content.make_mixed()
    for name, data in attachments:
        content.attach(_attachment_part(name, data, "rfc2231"))
    signed = EmailMessage(policy=_MAIL_POLICY)
    signed.make_mixed()
    signed.set_type("multipart/signed")
    signed.set_param("protocol", "application/pkcs7-signature")
    signed.set_param("micalg", "sha-256")
    signed.attach(content)
    signature = EmailMessage(policy=_MAIL_POLICY)
    signature.set_content(
        b"\x30\x82\x05\x00" + bytes(range(64)),
        maintype="application",
        subtype="pkcs7-signature",
        disposition="attachment",
        filename="smime.p7s",
    )
    signed.attach(signature)
    return signed.as_bytes(policy=_MAIL_POLICY)


def make_signed_eml(dest: Path, attachments: Sequence[tuple[str, bytes]], date: dt.datetime) -> Path:
    """An .eml signed with S/MIME: its attachments sit in multipart/signed > multipart/mixed."""
    msg = email.message_from_bytes(smime_signed_entity(attachments), policy=_MAIL_POLICY)
    msg["From"] = "総務課 山田 太郎 <yamada@city.example.jp>"
    msg["To"] = "DX推進室 <dx-suishin@city.example.jp>"
    msg["Subject"] = "【回答】DX推進アンケート（署名付き）"
    msg["Date"] = format_datetime(date if date.tzinfo else date.replace(tzinfo=JST))
    return _write(dest, "回答_署名.eml", msg.as_bytes(policy=_MAIL_POLICY))


def make_encrypted_eml(dest: Path, date: dt.datetime) -> Path:
    """An .eml encrypted with S/MIME: the whole body is one ``application/pkcs7-mime`` (enveloped-data)
    part, ``smime.p7m``, which nobody without the recipient's key can read."""
    msg = EmailMessage(policy=_MAIL_POLICY)
    msg["From"] = "総務課 山田 太郎 <yamada@city.example.jp>"
    msg["To"] = "DX推進室 <dx-suishin@city.example.jp>"
    msg["Subject"] = "【回答】DX推進アンケート（暗号化）"
    msg["Date"] = format_datetime(date if date.tzinfo else date.replace(tzinfo=JST))
    msg.set_content(
        b"\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03" + random.Random(0).randbytes(2048),
        maintype="application",
        subtype="pkcs7-mime",
        disposition="attachment",
        filename="smime.p7m",
        params={"smime-type": "enveloped-data"},
    )
    return _write(dest, "回答_暗号化.eml", msg.as_bytes(policy=_MAIL_POLICY))


# --------------------------------------------------------------------------------------------------------
# 12. Macro-enabled workbook
# --------------------------------------------------------------------------------------------------------


def make_macro_xlsm(dest: Path, source: bytes, seed: int = 0) -> Path:
    """``source`` turned into a macro-enabled ``.xlsm``: macro workbook content type, a ``vbaProject.bin``.

    The ``xl/vbaProject.bin`` is 2 KiB of seeded random bytes -- harmless, never runnable -- wired in with
    its content type and relationship, so the package stays readable (openpyxl opens it).  Departments do
    send .xlsm; the collector should read values and never keep or run the macros.
    """
    parts = _zip_parts(source)
    out: list[tuple[str, bytes]] = []
    for name, data in parts:
        if name == "[Content_Types].xml":
            text = data.decode("utf-8").replace(CT_XLSX_MAIN, CT_XLSM_MAIN)
            if 'Extension="bin"' not in text:
                text = text.replace(
                    "</Types>", f'<Default Extension="bin" ContentType="{CT_VBA_PROJECT}"/></Types>'
                )
            data = text.encode("utf-8")
        elif name == "xl/_rels/workbook.xml.rels":
            text = data.decode("utf-8")
            ids = set(re.findall(r'Id="([^"]+)"', text))
            rid = next(f"rId{i}" for i in range(1, len(ids) + 2) if f"rId{i}" not in ids)
            text = text.replace(
                "</Relationships>",
                f'<Relationship Id="{rid}" Type="{REL_VBA_PROJECT}" Target="vbaProject.bin"/></Relationships>',
            )
            data = text.encode("utf-8")
        out.append((name, data))
    out.append(("xl/vbaProject.bin", random.Random(seed).randbytes(2048)))
    path = _target(dest, "回答.xlsm")
    _write_package(path, out)
    return path


# --------------------------------------------------------------------------------------------------------
# 13. Files still being written
# --------------------------------------------------------------------------------------------------------


def make_half_written(dest: Path, source: bytes) -> Path:
    """The first half of ``source`` with mtime = now: a file a department is still copying into ``inbox/``.

    It opens as ``BadZipFile`` now but would be fine a moment later; a collector must wait until size and
    mtime are stable (use ``age()`` to make it look old, ``finish_writing()`` to complete it).
    """
    path = _write(dest, "回答_copying.xlsx", source[: len(source) // 2])
    os.utime(path, None)
    return path


def finish_writing(path: Path, source: bytes) -> Path:
    """Complete a file made by ``make_half_written`` (writes the rest; mtime = now)."""
    with open(path, "ab") as f:
        f.write(source[path.stat().st_size :])
    os.utime(path, None)
    return path


def age(path: Path, seconds: float) -> Path:
    """Set ``path``'s access and modification times to ``seconds`` ago (``os.utime``); returns ``path``."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))
    return path


# --------------------------------------------------------------------------------------------------------
# The whole (small) corpus at once
# --------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------
# documents sent instead of the workbook
# --------------------------------------------------------------------------------------------------------


def pdf_bytes(text: str = "Kadai chushutsu sheet") -> bytes:
    """A real one-page PDF 1.4 (catalog, pages, page, content stream, Helvetica; exact xref offsets): what
    "印刷 > Microsoft Print to PDF" or Excel's "PDF で保存" gives a department to send instead."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bytes(width: int = 8, height: int = 4) -> bytes:
    """A real PNG (IHDR, one zlib IDAT of grey rows, IEND, with CRCs): a screenshot of the filled sheet."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([0x80]) * width for _ in range(height))  # filter 0, 8-bit grey
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def docx_bytes(text: str = "課題抽出シートの回答") -> bytes:
    """A minimal real Word document (.docx: content types, package relationship, one paragraph): the answers
    pasted into Word. Its zip has ``[Content_Types].xml`` like a workbook, but ``word/`` instead of ``xl/``."""
    ns_w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    ct_doc = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    parts = [
        (
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{NS_CT}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/word/document.xml" ContentType="{ct_doc}"/></Types>',
        ),
        (
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{NS_REL}/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        ),
        (
            "word/document.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{ns_w}">'
            f"<w:body><w:p><w:r><w:t>{_xml_escape(text)}</w:t></w:r></w:p></w:body></w:document>",
        ),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in parts:
            zf.writestr(zipfile.ZipInfo(name, FIXED_TIME.timetuple()[:6]), xml.encode("utf-8"))
    return buf.getvalue()


def doc_bytes() -> bytes:
    """A legacy Word document's container (.doc): OLE2, like .xls, with ``WordDocument`` and ``1Table``
    streams (a FIB header's magic 0xA5EC first) instead of ``Workbook``."""
    fib = struct.pack("<HH", 0xA5EC, 0x00C1).ljust(1472, b"\x00")
    return _ole2_bytes([("WordDocument", fib), ("1Table", b"\x00" * 512)])


def xlsb_bytes() -> bytes:
    """An Excel binary workbook's package (.xlsb, "Excel バイナリブック"): the content types and part names
    Excel writes, with BIFF12 records (BrtBeginBook/BrtEndBook, BrtBeginSheet/BrtEndSheet) instead of XML."""
    ct_main = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"
    ct_sheet = "application/vnd.ms-excel.worksheet"
    parts = [
        (
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{NS_CT}">'
            '<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Override PartName="/xl/workbook.bin" ContentType="{ct_main}"/>'
            f'<Override PartName="/xl/worksheets/sheet1.bin" ContentType="{ct_sheet}"/></Types>',
        ),
        (
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{NS_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{NS_REL}/officeDocument" Target="xl/workbook.bin"/>'
            "</Relationships>",
        ),
        ("xl/workbook.bin", b"\x83\x01\x00\x84\x01\x00"),
        ("xl/worksheets/sheet1.bin", b"\x81\x01\x00\x82\x01\x00"),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, part in parts:
            data = part.encode("utf-8") if isinstance(part, str) else part
            zf.writestr(zipfile.ZipInfo(name, FIXED_TIME.timetuple()[:6]), data)
    return buf.getvalue()


def make_xlsb(dest: Path) -> Path:
    return _write(dest, "回答.xlsb", xlsb_bytes())


def make_pdf_instead(dest: Path) -> Path:
    return _write(dest, "回答.pdf", pdf_bytes())


def make_screenshot_instead(dest: Path) -> Path:
    return _write(dest, "回答_画面.png", png_bytes())


def make_docx_instead(dest: Path) -> Path:
    return _write(dest, "回答.docx", docx_bytes())


def make_doc_named_xlsx(dest: Path) -> Path:
    """A Word .doc renamed .xlsx: OLE2 like an encrypted or legacy workbook, yet neither."""
    return _write(dest, "回答_word.xlsx", doc_bytes())


def build_corpus(directory: Path, source: bytes | None = None, with_bombs: bool = False) -> dict[str, Path]:
    """Write every small hostile file into ``directory`` and return ``{builder key: path}``.

    ``source`` is the valid workbook to damage (default ``valid_xlsx_bytes()``).  The legacy .xls is the
    crafted one (no LibreOffice).  The zip bombs are included small (10 MiB declared) unless ``with_bombs``,
    which makes the real 3 GiB / 1 GiB ones (a few seconds and ~8 MB on disk).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    src = source if source is not None else valid_xlsx_bytes()
    bomb_gib = 3 if with_bombs else 10 / 1024
    sst_gib = 1 if with_bombs else 10 / 1024
    when = dt.datetime(2025, 4, 10, 17, 45, tzinfo=JST)
    corpus = {
        "valid": _write(directory, "回答_正常.xlsx", src),
        "excel_owner_file": make_excel_owner_file(directory),
        "libreoffice_lock": make_libreoffice_lock(directory),
        "appledouble": make_appledouble(directory),
        "excel_temp": make_excel_temp(directory, src),
        "thumbs_db": make_thumbs_db(directory),
        "outlook_msg": make_outlook_msg(directory),
        "zip_archive": make_zip_archive(directory, [("0401_市民課.xlsx", src)], name="回答.zip"),
        "zip_archive_password": make_zip_archive(
            directory,
            [("0401_市民課.xlsx", src), ("説明.txt", b"")],
            b"secret",
            name="回答_パスワード付き.zip",
        ),
        "desktop_ini": make_desktop_ini(directory),
        "zero_bytes": make_zero_bytes(directory),
        "csv_named_xlsx": make_csv_named_xlsx(directory),
        "html_named_xlsx": make_html_named_xlsx(directory),
        "random_bytes": make_random_bytes(directory),
        "truncated": make_truncated(directory, src),
        "encrypted": make_encrypted(directory, src),
        "irm_protected": make_irm_protected(directory, src),
        "xls_renamed_xlsx": make_xls_renamed_xlsx(directory, use_soffice=False),
        "ods": make_ods(directory),
        "ods_named_xlsx": make_ods_named_xlsx(directory),
        "strict_ooxml": make_strict_ooxml(directory, src),
        "zip_bomb": make_zip_bomb(directory, gib=bomb_gib),
        "zip_many_entries": make_zip_many_entries(directory),
        "shared_string_bomb": make_shared_string_bomb(directory, gib=sst_gib),
        "lying_sizes": make_lying_sizes(directory, src),
        "far_offset": make_far_offset(directory, src),
        "dimension_bomb": make_dimension_bomb(directory, src),
        "far_cell": make_dimension_bomb(directory, src, claim=False),
        "stretched_name": make_stretched_name(directory, src),
        "billion_laughs": make_billion_laughs(directory, src),
        "external_entity": make_external_entity(directory, src),
        "macro_xlsm": make_macro_xlsm(directory, src),
        "half_written": make_half_written(directory, src),
        "eml": make_eml(directory / "回答.eml", [("回答_総務課.xlsx", src)], when),
        "eml_no_attachment": make_eml(directory / "回答_添付なし.eml", [], when),
        "eml_zip_attachment": make_eml(
            directory / "回答_zip添付.eml",
            [("回答.zip", zip_archive_bytes([("回答.xlsx", src)], b"pw"))],
            when,
        ),
        "eml_winmail_dat": make_eml(
            directory / "回答_リッチテキスト.eml",
            [("winmail.dat", winmail_dat_bytes([("回答_総務課.xlsx", src)]))],
            when,
        ),
        "xlsb": make_xlsb(directory),
        # Named .eml, yet an Outlook .msg and a workbook: the content decides, not the name.
        "msg_named_eml": _write(
            directory / "回答メール_msg.eml", "", make_outlook_msg(directory).read_bytes()
        ),
        "xlsx_named_eml": _write(directory / "回答_xlsx.eml", "", src),
        "msg_sector_loop": make_msg_sector_loop(directory, src),
        "ole_many_parts": make_ole_many_parts(directory),
        "msg_many_attachments": make_msg_many_attachments(directory),
        "msg_many_signed_bodies": make_msg_many_signed_bodies(directory),
        "eml_many_attached_mails": make_eml_many_attached_mails(directory),
        "eml_long_file_name": make_eml_long_file_name(directory),
        "eml_many_lines": make_eml_many_lines(directory),
        "eml_many_parameters": make_eml_many_parameters(directory),
        # An Outlook mail named as a workbook: told to name it .msg, which is read as a mail.
        "msg_named_xlsx": _write(
            directory / "回答メール.xlsx", "", outlook_msg_bytes(MsgMail("RE: 回答（名前違い）"))
        ),
        "pdf_instead": make_pdf_instead(directory),
        "screenshot_instead": make_screenshot_instead(directory),
        "docx_instead": make_docx_instead(directory),
        "doc_named_xlsx": make_doc_named_xlsx(directory),
        "eml_pdf_only": make_eml(directory / "回答_PDF添付.eml", [("回答.pdf", pdf_bytes())], when),
        "eml_lock_attachment": make_eml(
            directory / "回答_ロック.eml",
            [("~$回答.xlsx", make_excel_owner_file(directory).read_bytes())],
            when,
        ),
    }
    corpus["text_flood"] = make_text_flood(directory, src)
    corpus["many_copies"] = make_many_copies(directory, src)
    corpus["formatted_flood"] = make_formatted_flood(directory, src)
    corpus["added_sheets"] = make_added_sheets(directory, src)
    corpus["junk_names"] = make_junk_names(directory, src)
    corpus["shared_sheet_part"] = make_shared_sheet_part(directory, src)
    corpus["utf7_sheet"] = make_utf7_sheet(directory, src)
    corpus["junk_workbook_part"] = make_junk_workbook_part(directory, src)
    return corpus
