"""Outlook messages (`.msg`, MS-OXMSG): the files attached to one and when it was sent, read with olefile.

A mail dragged out of Outlook into a folder is saved as `.msg`: an OLE2 compound file in which each property
of the message is a stream named `__substg1.0_<id><type>` (strings, binary data) or an entry of the
`__properties_version1.0` stream (numbers, times). Each attachment is a storage `__attach_version1.0_#<n>`
with its data in `__substg1.0_37010102`; a mail attached to it (forwarded as an attachment) is a message
storage of its own, `__substg1.0_3701000D`, read the same way.

olefile reads the compound file: it is pure Python, bounds every sector chain by the file's own size (a
hostile file cannot loop it), and is installed already, with msoffcrypto-tool. Only what the collector needs
is read: attachment names, their bytes and MIME types, and each message's send time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import olefile

from .xlsxread import open_compound_file

# Property types (MS-OXCDATA 2.11.1) and the properties read (MS-OXPROPS).
_PT_LONG, _PT_SYSTIME = 0x0003, 0x0040
_PT_STRING8, _PT_UNICODE = 0x001E, 0x001F
_PID_CLIENT_SUBMIT_TIME = 0x0039  # when the sender sent it: a mail's Date header
_PID_MESSAGE_DELIVERY_TIME = 0x0E06  # when it arrived, for a message without a submit time
_PID_MESSAGE_CODEPAGE = 0x3FFD  # the code page of 8-bit strings
_PID_DISPLAY_NAME = 0x3001
_PID_ATTACH_FILENAME = 0x3704  # the short (8.3) name
_PID_ATTACH_METHOD = 0x3705
_PID_ATTACH_LONG_FILENAME = 0x3707
_PID_ATTACH_MIME_TAG = 0x370E
_ATTACH_EMBEDDED_MESSAGE = 5  # afEmbeddedMsg: a mail attached to the mail
# afByReference, afByReferenceOnly, afByWebReference (MS-OXCMSG 2.2.2.9): a path or a link (a OneDrive or
# SharePoint "share link", which Outlook may attach instead of a copy), not the file's bytes.
_ATTACH_BY_REFERENCE = (2, 3, 4, 7)

_PROPERTIES = "__properties_version1.0"
_ATTACH_PREFIX = "__attach_version1.0_#"
_ATTACH_DATA = "__substg1.0_37010102"
_EMBEDDED = "__substg1.0_3701000D"
# The fixed header before the property entries: the message itself, a message attached to it, an attachment.
_HEADER_TOP, _HEADER_EMBEDDED, _HEADER_ATTACHMENT = 32, 24, 8
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_DEFAULT_CODEPAGE = "cp932"  # 8-bit strings of a message that names no code page: Japanese Windows


class NotAMessage(ValueError):
    """A compound file that is no Outlook message."""


@dataclass(frozen=True)
class Attachment:
    """One file attached to the message or to a mail attached to it."""

    name: str | None  # the long file name, else the short one, else its display name
    mime: str  # its MIME type as Outlook recorded it ("" when it did not)
    data: bytes  # b"" for an attachment with no bytes of its own (a link, an embedded object)
    sent: datetime | None  # when the message carrying it was sent (UTC), when it says
    link: bool = False  # attached as a link or a path to the file, not the file itself
    level: int = 0  # how many mails deep in the file it is: 0 attached to the mail, 1 to a mail in it, ...


def is_message(ole: olefile.OleFileIO) -> bool:
    """True for the storage of an Outlook message: every one has a property stream (MS-OXMSG 2.4)."""
    return bool(ole.exists(_PROPERTIES))


def read_attachments(
    data: bytes, max_depth: int, not_after: datetime | None = None, outer_sent: datetime | None = None
) -> list[Attachment]:
    """Every attachment of the message in `data`, in Outlook's order; those of an attached mail in its place
    (mails attached to mails are opened `max_depth` levels deep; deeper, one is listed as an attachment).

    A send time later than `not_after` (the sender's clock, or a damaged property) counts as none: the
    time of the message carrying that one is used instead, as for a mail without a time, and for the
    message in `data`, `outer_sent` (the time of a mail that carries it as a file), if any.
    Raises olefile's OleFileError (an OSError) for a damaged compound file, NotAMessage for a whole one
    that is something else (a legacy workbook, say), and xlsxread's TooManyParts, before opening it, for one
    with more parts than any mail sent back with a form (olefile's cost grows faster than their number).
    """
    with open_compound_file(data) as ole:
        if not is_message(ole):
            raise NotAMessage("an OLE2 compound file without a message's property stream")
        reader = _Reader(ole, max_depth, not_after)
        return reader.attachments([], _HEADER_TOP, outer_sent, 0)


class _Reader:
    def __init__(self, ole: olefile.OleFileIO, max_depth: int, not_after: datetime | None) -> None:
        self.ole = ole
        self.max_depth = max_depth
        self.not_after = not_after
        # Every storage's child storages, listed once (a hostile file may hold thousands of them).
        self.storages: dict[tuple[str, ...], list[str]] = {}
        for path in ole.listdir(streams=False, storages=True):
            self.storages.setdefault(tuple(path[:-1]), []).append(path[-1])

    def children(self, at: list[str]) -> list[str]:
        """The names of the storages directly in the one at `at`, in name order."""
        return sorted(self.storages.get(tuple(at), []))

    def attachments(
        self, at: list[str], header: int, outer_sent: datetime | None, depth: int
    ) -> list[Attachment]:
        """The attachments of the message stored at `at` (a path of storage names; [] is the root)."""
        ole = self.ole
        props = _properties(ole, at, header)
        # A forwarded mail's files were sent when it was, not when it was forwarded; else the outer time.
        sent = self.sent(props, _PID_CLIENT_SUBMIT_TIME) or self.sent(props, _PID_MESSAGE_DELIVERY_TIME)
        sent = sent or outer_sent
        codepage = _codepage(props)
        found: list[Attachment] = []
        for child in self.children(at):
            if not child.lower().startswith(_ATTACH_PREFIX.lower()):
                continue  # recipients, named properties
            here = [*at, child]
            name = (
                _string(ole, here, _PID_ATTACH_LONG_FILENAME, codepage)
                or _string(ole, here, _PID_ATTACH_FILENAME, codepage)
                or _string(ole, here, _PID_DISPLAY_NAME, codepage)
            )
            mime = _string(ole, here, _PID_ATTACH_MIME_TAG, codepage) or ""
            method = _long(_properties(ole, here, _HEADER_ATTACHMENT), _PID_ATTACH_METHOD)
            inner = [c for c in self.children(here) if c.lower() == _EMBEDDED.lower()]
            if method == _ATTACH_EMBEDDED_MESSAGE and inner:
                if depth < self.max_depth:
                    found.extend(self.attachments([*here, inner[0]], _HEADER_EMBEDDED, sent, depth + 1))
                else:  # too deep to open: listed by its name, as an attachment that is no workbook
                    found.append(Attachment(name, "message/rfc822", b"", sent, level=depth))
                continue
            if method in _ATTACH_BY_REFERENCE:
                found.append(Attachment(name, mime, b"", sent, link=True, level=depth))
                continue
            stream = "/".join([*here, _ATTACH_DATA])
            payload = ole.openstream(stream).read() if ole.get_type(stream) == olefile.STGTY_STREAM else b""
            found.append(Attachment(name, mime, payload, sent, level=depth))
        return found

    def sent(self, props: dict[int, tuple[int, bytes]], pid: int) -> datetime | None:
        when = _time(props, pid)
        return None if when is None or (self.not_after and when > self.not_after) else when


def _properties(ole: olefile.OleFileIO, at: list[str], header: int) -> dict[int, tuple[int, bytes]]:
    """The fixed-size properties of a storage: property id -> (type, its 8 value bytes)."""
    path = "/".join([*at, _PROPERTIES])
    if ole.get_type(path) != olefile.STGTY_STREAM:
        return {}
    raw = ole.openstream(path).read()
    props: dict[int, tuple[int, bytes]] = {}
    for offset in range(header, len(raw) - 15, 16):  # entries of 16 bytes: type, id, flags, value
        ptype, pid, _flags, value = struct.unpack_from("<HHI8s", raw, offset)
        props[pid] = (ptype, value)
    return props


def _time(props: dict[int, tuple[int, bytes]], pid: int) -> datetime | None:
    """A PT_SYSTIME property (a FILETIME: 100-ns steps since 1601, UTC); None when absent or impossible."""
    ptype, value = props.get(pid, (0, b""))
    if ptype != _PT_SYSTIME:
        return None
    ticks = int.from_bytes(value, "little")
    try:
        when = _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None
    return when if when.year >= 1980 else None  # zero, or a date no mail was sent on


def _long(props: dict[int, tuple[int, bytes]], pid: int) -> int | None:
    ptype, value = props.get(pid, (0, b""))
    return int.from_bytes(value[:4], "little") if ptype == _PT_LONG else None


def _codepage(props: dict[int, tuple[int, bytes]]) -> str:
    """The codec of the message's 8-bit strings (older Outlook saves), Japanese Windows' when unnamed."""
    number = _long(props, _PID_MESSAGE_CODEPAGE)
    if number is None:
        return _DEFAULT_CODEPAGE
    name = "utf-8" if number == 65001 else f"cp{number}"
    try:
        "".encode(name)
    except LookupError:
        return _DEFAULT_CODEPAGE
    return name


def _string(ole: olefile.OleFileIO, at: list[str], pid: int, codepage: str) -> str | None:
    """A string property of a storage (UTF-16LE, or 8-bit in `codepage`); None when absent or empty."""
    for ptype, codec in ((_PT_UNICODE, "utf-16-le"), (_PT_STRING8, codepage)):
        path = "/".join([*at, f"__substg1.0_{pid:04X}{ptype:04X}"])
        if ole.get_type(path) == olefile.STGTY_STREAM:
            text = ole.openstream(path).read().decode(codec, errors="replace").split("\x00", 1)[0]
            return text or None
    return None
