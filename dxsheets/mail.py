"""Saved mails, `.eml` and Outlook's `.msg`: the files a mail carries, and when each was sent.

A return reaches the inbox attached to a mail, or inside a mail within it: one forwarded as an attachment
(message/rfc822 in an `.eml`, an embedded message in a `.msg`), one attached as a file (an `.eml` or a
`.msg` file), or a body signed with S/MIME (multipart/signed; in a `.msg`, one `smime.p7m` attachment). Each
is opened, `MAX_FORWARD_DEPTH` levels deep, and the files in it are dated by the message that carried them.

What one mail file may cost is bounded as a whole, whatever it nests: budgets of MIME parts, lines, the
headers the parser parses, and compound-file entries, each counted in the raw bytes before the parse that
would spend it (Python's mail parser spends ~1 ms and some KB a part, microseconds a line, and worse than
linear time on a long header; olefile more than linear time in its entries). A mail past one is refused
in milliseconds, with a reason, not parsed for minutes. (Collect opens mails in its workers, whose CPU
and stall limits are the backstop for a slow path nobody has found yet.)
"""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.headerregistry import HeaderRegistry
from email.utils import parsedate_to_datetime
from typing import Any

from . import outlookmsg
from .mailnames import attachment_name
from .outlookmsg import Attachment
from .xlsxread import MAX_COMPOUND_ENTRIES, OLE_MAGIC, ZIP_MAGIC, TooManyParts, compound_file_entries

MAIL_SUFFIXES = (".eml", ".msg")
MAIL_CLOCK_SLACK = timedelta(hours=1)  # how far a mail's Date may run ahead of the time the mail was saved
MAX_FORWARD_DEPTH = 3  # mails within mails (forwarded, attached, signed bodies) are opened this deep
# MIME parts one mail may have, counted over everything it nests. A reply with its signature images and a
# quoted thread has a few dozen.
MAX_MAIL_PARTS = 500
# Lines one mail may have, with what it nests: the parser spends 0.5-2 us on each (5 million short lines,
# 15 MB, took 2.4 s). A mail carrying a 20 MB workbook has 370,000 lines of base64.
MAX_MAIL_LINES = 600_000
# The headers the reader parses (Python's header parser, slow and worse than linear: 0.2 ms a parameter,
# a minute for a 0.8 MB file name), bounded each and over everything one mail nests. A return's
# Content-Disposition with a long Japanese name in RFC 2231 pieces has ~1 KB and a dozen parameters.
_PARSED_HEADER_RE = re.compile(
    rb"^(content-type|content-disposition|content-transfer-encoding|content-id|date)[ \t]*:"
    rb"([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",  # the field with its continuation lines
    re.IGNORECASE | re.MULTILINE,
)
MAX_HEADER_BYTES, MAX_HEADER_PARAMS = 4096, 64  # each such header
MAX_MAIL_HEADER_BYTES, MAX_MAIL_HEADER_PARAMS = 65536, 1000  # all of them in one mail, with what it nests
_MAX_NESTING = 8  # multiparts within multiparts (signed, mixed, related) opened this many levels deep
_SMIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
_TNEF_MAGIC = b"\x78\x9f\x3e\x22"  # 0x223E9F78, little-endian: a TNEF stream (winmail.dat)


class TooManyLines(ValueError):
    """A mail of more lines than MAX_MAIL_LINES, counted over everything it nests."""


class HeaderTooLarge(ValueError):
    """A mail whose headers that describe its parts are far longer than any mail program writes."""


def is_mail(name: str) -> bool:
    """A saved mail by its name (`.eml`, or Outlook's `.msg`); whether it really is one, and which, its
    content decides when it is read."""
    return name.lower().endswith(MAIL_SUFFIXES)


def is_smime(mime: str, name: str) -> bool:
    """An S/MIME body that cannot be read here: encrypted, or signed with the content inside the signature."""
    return mime.lower() in _SMIME_TYPES or name.lower() == "smime.p7m"


def is_winmail_dat(mime: str, name: str, data: bytes) -> bool:
    """Outlook's TNEF attachment, by its type, its name or its signature."""
    return (
        mime.lower() in ("application/ms-tnef", "application/vnd.ms-tnef")
        or name.lower() == "winmail.dat"
        or data.startswith(_TNEF_MAGIC)
    )


def contents(raw: bytes, file_time: datetime) -> Iterator[Attachment] | None:
    """The files a saved mail carries (an .eml file or an Outlook .msg), with those of the mails within it
    in their place, each with the time its message was sent (no later than `file_time`, when the mail was
    saved here, allows; else that of the message around it).

    Attachments are decoded one at a time, as they are looked at: memory does not hold them all at once.

    Returns:
        None when `raw` is no mail but a zip or an OLE2 file (a workbook, say) under a mail's name, which
        its content then decides.

    Raises:
        TooManyParts: the mail, with all it nests, has more parts than any mail sent back with a form; it
            may be raised while the attachments are being looked at.
        HeaderTooLarge: so do the headers describing its parts (their size or their parameters).
        TooManyLines: and its lines.
        Exception: a mail too damaged to read (olefile's OleFileError among others).
    """
    return _contents(raw, file_time, None, 0, _Budget())


class _HeadersParsedOnce(HeaderRegistry):
    """Python's header factory for `email.policy.default`, parsing each header of one mail once.

    With that policy every read of a header parses it again (and makes a new class for it), and the parser
    itself reads each part's Content-Type many times: a return mail took 2.9 ms to read, 0.9 ms with
    this. Header objects are immutable, so the readers of one mail can share them. A new one for each mail
    read: what it keeps lives as long as that mail's parse, and is bounded besides.
    """

    _classes: dict[tuple[type, type], type] = {}  # made for each header class of the registry (about 20)
    _KEPT = 256  # headers kept at most; a mail reads a few dozen

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], Any] = {}

    def __getitem__(self, name: str) -> type:
        cls = self.registry.get(name.lower(), self.default_class)
        key = (cls, self.base_class)
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = type("_" + cls.__name__, (cls, self.base_class), {})
        return made

    def __call__(self, name: str, value: str) -> Any:
        key = (name, value)
        header = self._parsed.get(key)
        if header is None:
            if len(self._parsed) >= self._KEPT:
                self._parsed.clear()
            header = self._parsed[key] = super().__call__(name, value)
        return header


def _policy() -> email.policy.EmailPolicy[email.message.EmailMessage]:
    """`email.policy.default`, reading each header of the mail it parses once."""
    return email.policy.default.clone(header_factory=_HeadersParsedOnce())


class _Budget:
    """What one mail file may still cost, over every mail it nests: MIME parts, lines and the headers the
    parser parses, of MIME text; directory entries, of Outlook messages."""

    def __init__(self) -> None:
        self.parts = MAX_MAIL_PARTS
        self.lines = MAX_MAIL_LINES
        self.entries = MAX_COMPOUND_ENTRIES
        self.header_bytes = MAX_MAIL_HEADER_BYTES
        self.header_params = MAX_MAIL_HEADER_PARAMS

    def spend_mime(self, raw: bytes) -> None:
        """Count MIME text before it is parsed. Parts by their boundary lines (quoted "--" lines count
        too). The headers the reader parses (the parser itself parses each part's Content-Type) wherever
        they are: a header quoted in a mail's text counts too, a few bytes."""
        self.parts -= raw.count(b"\n--")
        if self.parts < 0:
            raise TooManyParts(MAX_MAIL_PARTS)
        self.lines -= raw.count(b"\n")
        if self.lines < 0:
            raise TooManyLines(f"more than {MAX_MAIL_LINES:,} lines")
        for field in _PARSED_HEADER_RE.finditer(raw):
            value = field.group(2)
            size, params = len(value), value.count(b";")
            self.header_bytes -= size
            self.header_params -= params
            if size > MAX_HEADER_BYTES or params > MAX_HEADER_PARAMS:
                raise HeaderTooLarge(f"{field.group(1).decode()}: {size:,} bytes, {params:,} parameters")
            if self.header_bytes < 0 or self.header_params < 0:
                raise HeaderTooLarge("the headers of its parts, all together")

    def spend_entries(self, raw: bytes) -> None:
        self.entries -= compound_file_entries(raw) or 0  # None: too damaged to open, olefile says so
        if self.entries < 0:
            raise TooManyParts(MAX_COMPOUND_ENTRIES)


def _contents(
    raw: bytes, file_time: datetime, outer_sent: datetime | None, depth: int, budget: _Budget
) -> Iterator[Attachment] | None:
    if raw.startswith(OLE_MAGIC):
        budget.spend_entries(raw)
        try:  # a damaged one raises (OleFileError): under a mail's name, it is a damaged mail
            found = outlookmsg.read_attachments(
                raw, MAX_FORWARD_DEPTH - depth, file_time + MAIL_CLOCK_SLACK, outer_sent
            )
        except outlookmsg.NotAMessage:
            return None
        # Levels within this .msg, counted from the outermost mail file.
        return _opened((replace(a, level=depth + a.level) for a in found), file_time, budget)
    if raw.startswith(ZIP_MAGIC):
        return None
    budget.spend_mime(raw)
    msg = email.message_from_bytes(raw, policy=_policy())
    mail_sent = _mail_date(msg, file_time) or outer_sent
    parts = list(_attachments(msg, depth, mail_sent, file_time))
    if not parts and msg.get_content_type() in _SMIME_TYPES:
        # Encrypted (or opaque-signed) S/MIME: the whole body is the one "attachment".
        parts = [(msg, mail_sent, depth)]

    def each() -> Iterator[Attachment]:
        for part, sent, level in parts:
            yield Attachment(_name(part), part.get_content_type(), _payload(part), sent, level=level)

    return _opened(each(), file_time, budget)


def _opened(found: Iterable[Attachment], file_time: datetime, budget: _Budget) -> Iterator[Attachment]:
    """`found`, with each attachment that is itself a mail replaced by what that mail carries (dated by it,
    else by the mail carrying it), when it lies less than MAX_FORWARD_DEPTH mails deep. One that cannot be
    read, or carries nothing, stays as it is: a file that is no workbook, named among what the mail
    carried."""
    for attached in found:
        inner = None
        if attached.level < MAX_FORWARD_DEPTH and _is_mail_within(attached):
            try:
                inner = _contents(attached.data, file_time, attached.sent, attached.level + 1, budget)
            except (TooManyParts, HeaderTooLarge, TooManyLines):
                raise  # the whole mail is refused, not only this part of it
            except Exception:
                inner = None
        first = next(inner, None) if inner is not None else None
        if inner is None or first is None:
            yield attached
            continue
        yield first
        yield from inner


def _is_mail_within(attached: Attachment) -> bool:
    """A mail attached as a file (`.eml`, Outlook `.msg`) or a signed body (multipart/signed). An OLE2 file
    is opened as a mail only when named or typed as one: a `smime.p7m` or an `.xls` holding one is not."""
    data, mime, name = attached.data, attached.mime.lower(), (attached.name or "").lower()
    if not data or data.startswith(ZIP_MAGIC):
        return False
    if data.startswith(OLE_MAGIC):
        return name.endswith(".msg") or mime == "application/vnd.ms-outlook"
    return mime in ("multipart/signed", "message/rfc822") or name.endswith(".eml")


def _attachments(
    msg: Any, depth: int, sent: datetime | None, file_time: datetime, nesting: int = 0
) -> Iterator[tuple[Any, datetime | None, int]]:
    """Every attachment of `msg` (sent at `sent`, `depth` mails deep in the file) as (part, when the message
    it is attached to was sent, how many mails deep that message lies).

    A mail forwarded as an attachment (message/rfc822) is opened: a workbook in it was sent when that mail
    was, not when it was forwarded (when it has no date, the mail carrying it gives one). So is a multipart
    within the body: a mail signed with S/MIME keeps its attachments in multipart/signed > multipart/mixed,
    and some mailers nest multipart/mixed.
    """
    for part in msg.iter_attachments():
        if part.get_content_type() == "message/rfc822" and depth < MAX_FORWARD_DEPTH:
            inner = part.get_content()
            # Encoded in base64, its text was taken for a message: listed, and opened from its bytes.
            if isinstance(inner, email.message.Message) and not _base64_message(part):
                yield from _attachments(inner, depth + 1, _mail_date(inner, file_time) or sent, file_time)
                continue
        if part.get_content_maintype() == "multipart" and nesting < _MAX_NESTING:
            yield from _attachments(part, depth, sent, file_time, nesting + 1)
            continue
        yield part, sent, depth


def _mail_date(msg: Any, file_time: datetime) -> datetime | None:
    """A message's Date, or None when it is missing, unreadable, or later than the mail was saved here."""
    try:
        header = msg.get("Date")
        sent = parsedate_to_datetime(str(header)) if header else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # only evidence: a garbled date leaves the file time, not an unreadable mail
    if sent is not None and sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    if sent is not None and sent > file_time + MAIL_CLOCK_SLACK:
        return None  # "sent" after the mail was saved here: the sender's clock or the header is wrong
    return sent


def _name(part: Any) -> str | None:
    """An attachment's file name (None when it has none, or when its header is too damaged for Python's
    header parser, which can raise on some: the attachment is still listed, and its neighbours read)."""
    try:
        return attachment_name(part)
    except Exception:
        return None


def _payload(part: Any) -> bytes:
    """An attachment's decoded bytes (b"" when it cannot be decoded)."""
    try:
        if _base64_message(part):
            # RFC 2046 allows a message/rfc822 part no encoding, yet some mailers send one in base64:
            # Python's parser then takes the encoded text for a message without headers, its body.
            text = part.get_payload(0).get_payload()
            return base64.b64decode(text) if isinstance(text, str) else b""
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def _base64_message(part: Any) -> bool:
    return bool(
        part.get_content_type() == "message/rfc822"
        and str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64"
    )
