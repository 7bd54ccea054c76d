"""Mails within mails, built at random: `.eml` and Outlook `.msg`, forwarded, attached as files, sent in
base64, signed with S/MIME, with and without dates, nested deeper than dxsheets opens.

Whatever the nesting, the mail reader finds every workbook lying within three mails of the file, in the
order a mail program lists them, each dated by the nearest mail around it that has a date, and none
deeper; and the inbox walk hands over each one's content as the mail reader found it.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import email.utils
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import hostile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dxsheets import mail
from dxsheets.intake import open_mails, scan
from dxsheets.xlsxread import Limits

_POLICY = email.policy.default.clone(linesep="\r\n")
_FIRST_DAY = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
_SAVED = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)  # when the outermost mail was saved into the inbox

# How a mail can carry another, by (its format, the other's format).
_WAYS = {
    ("eml", "eml"): ["forward", "file", "base64"],  # message/rfc822; an .eml file; rfc822 in base64
    ("eml", "msg"): ["file"],  # an Outlook .msg saved to disk and attached
    ("msg", "msg"): ["forward", "file"],  # an embedded message; a .msg file
    ("msg", "eml"): ["file"],  # an .eml file attached in Outlook
}


@dataclass
class Book:
    name: str = ""
    data: bytes = b""


@dataclass
class Mail:
    fmt: str  # "eml" or "msg"
    sent: dt.datetime | None  # None: no Date header, or an Outlook draft
    signed: bool  # S/MIME signed: attachments inside multipart/signed (an .msg: in its smime.p7m)
    items: list[tuple[str, Book | Mail]] = field(default_factory=list)  # (how it is carried, what)


def _eml_of_a_book() -> Mail:
    return Mail("eml", None, False, [("file", Book())])


@st.composite
def mails(draw: st.DrawFn, depth: int = 0) -> Mail:
    fmt = draw(st.sampled_from(["eml", "msg"]))
    minutes = st.integers(0, 29 * 24 * 60)
    sent = draw(st.none() | minutes.map(lambda m: _FIRST_DAY + dt.timedelta(minutes=m)))
    m = Mail(fmt, sent, draw(st.booleans()))
    for _ in range(draw(st.integers(0, 3))):
        if depth < 5 and draw(st.integers(0, 2)) == 0:
            inner = draw(mails(depth + 1))
            m.items.append((draw(st.sampled_from(_WAYS[fmt, inner.fmt])), inner))
        else:
            m.items.append(("file", Book()))
    return m


def _name_books(m: Mail, counter: list[int]) -> None:
    for _, item in m.items:
        if isinstance(item, Book):
            counter[0] += 1
            item.name = f"回答{counter[0]:02d}.xlsx"
            item.data = b"PK\x03\x04" + f"book {counter[0]}".encode() * 3
        else:
            _name_books(item, counter)


def _part(how: str, item: Book | Mail, index: int) -> email.message.EmailMessage:
    """One attachment of an .eml."""
    if isinstance(item, Book):
        part = email.message.EmailMessage(policy=_POLICY)
        part.set_content(item.data, "application", hostile.MIME_XLSX.split("/")[1], filename=item.name)
        return part
    data = _bytes(item)
    if how == "forward":
        part = email.message.EmailMessage(policy=_POLICY)
        part.set_content(email.message_from_bytes(data, policy=_POLICY), disposition="attachment")
        return part
    if how == "base64":  # message/rfc822 in base64, which RFC 2046 forbids and some mailers send
        text = base64.encodebytes(data).decode("ascii").replace("\n", "\r\n")
        raw = (
            "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=fwd.eml\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{text}"
        )
        parsed = email.message_from_bytes(raw.encode("ascii"), policy=_POLICY)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed
    name, (maintype, subtype) = (
        (f"転送{index}.eml", ("application", "octet-stream"))
        if item.fmt == "eml"
        else (f"転送{index}.msg", ("application", "vnd.ms-outlook"))
    )
    part = email.message.EmailMessage(policy=_POLICY)
    part.set_content(data, maintype, subtype, filename=name)
    return part


def _signed(parts: list[email.message.EmailMessage]) -> email.message.EmailMessage:
    """multipart/signed > (multipart/mixed of a body and `parts`, a detached signature)."""
    content = email.message.EmailMessage(policy=_POLICY)
    content.set_content("回答を送付します。")
    content.make_mixed()
    for part in parts:
        content.attach(part)
    signed = email.message.EmailMessage(policy=_POLICY)
    signed.make_mixed()
    signed.set_type("multipart/signed")
    signed.set_param("protocol", "application/pkcs7-signature")
    signed.attach(content)
    signature = email.message.EmailMessage(policy=_POLICY)
    signature.set_content(b"\x30\x82" + bytes(32), "application", "pkcs7-signature", filename="smime.p7s")
    signed.attach(signature)
    return signed


def _bytes(m: Mail) -> bytes:
    if m.fmt == "msg":
        return hostile.outlook_msg_bytes(_outlook(m))
    parts = [_part(how, item, i) for i, (how, item) in enumerate(m.items)]
    if m.signed:
        msg = _signed(parts)
    else:
        msg = email.message.EmailMessage(policy=_POLICY)
        msg.set_content("回答を送付します。")
        if parts:
            msg.make_mixed()
        for part in parts:
            msg.attach(part)
    msg["Subject"] = "回答"
    if m.sent is not None:
        msg["Date"] = email.utils.format_datetime(m.sent)
    return msg.as_bytes(policy=_POLICY)


def _outlook(m: Mail) -> hostile.MsgMail:
    attachments: list = []
    for i, (how, item) in enumerate(m.items):
        if isinstance(item, Book):
            attachments.append((item.name, item.data))
        elif how == "forward":
            attachments.append(_outlook(item))
        elif item.fmt == "eml":
            attachments.append((f"転送{i}.eml", _bytes(item), "message/rfc822"))
        else:
            attachments.append((f"転送{i}.msg", _bytes(item), "application/vnd.ms-outlook"))
    if m.signed:  # Outlook keeps a signed mail's whole MIME body in one attachment; mails in it as files
        entity = _signed([_part("file", item, i) for i, (_, item) in enumerate(m.items)])
        attachments = [("smime.p7m", entity.as_bytes(policy=_POLICY), "multipart/signed")]
    return hostile.MsgMail("回答", m.sent, attachments)


def expected(
    m: Mail, level: int = 0, outer: dt.datetime | None = None
) -> list[tuple[str, dt.datetime | None]]:
    """The books found, in order, with their dates: the contents of a mail `level` mails deep."""
    sent = m.sent or outer
    if m.fmt == "msg" and m.signed:  # its smime.p7m is one more mail deep
        level += 1
        if level > mail.MAX_FORWARD_DEPTH:
            return []
    found: list[tuple[str, dt.datetime | None]] = []
    for _, item in m.items:
        if isinstance(item, Book):
            found.append((item.name, sent))
        elif level < mail.MAX_FORWARD_DEPTH:
            found.extend(expected(item, level + 1, sent))
    return found


@settings(
    max_examples=int(os.environ.get("MAIL_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(root=mails())
# Four mails deep through a forward, a .msg file, its signed body and an .eml file: one too deep to open,
# however each is carried (a depth counted per way of carrying opened it).
@example(
    root=Mail(
        "eml",
        None,
        False,
        [
            (
                "forward",
                Mail("eml", None, False, [("file", Mail("msg", None, True, [("file", _eml_of_a_book())]))]),
            )
        ],
    )
)
# A forwarded mail without a date, in one with a date, in one with another: the nearest date counts.
@example(
    root=Mail(
        "eml",
        _FIRST_DAY,
        False,
        [("forward", Mail("eml", _FIRST_DAY + dt.timedelta(days=3), False, [("forward", _eml_of_a_book())]))],
    )
)
def test_every_workbook_within_three_mails_is_found_dated_and_numbered(tmp_path: Path, root: Mail) -> None:
    _name_books(root, [0])
    books = {}

    def collect_books(m: Mail) -> None:
        for _, item in m.items:
            if isinstance(item, Book):
                books[item.data] = item.name
            else:
                collect_books(item)

    collect_books(root)
    raw = _bytes(root)
    found = mail.contents(raw, _SAVED)
    assert found is not None
    listed = list(found)
    assert [(a.name, a.sent) for a in listed if a.data in books] == expected(root)
    # The inbox walk hands each workbook over with its content, read with the mail: it is not read again.
    inbox = tmp_path / "inbox"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir()
    path = inbox / f"受信.{root.fmt}"
    path.write_bytes(raw)
    hostile.age(path, 3600)
    walked = [a.data for a in open_mails(scan(inbox, Limits())) if a.data in books]
    assert walked == [a.data for a in listed if a.data in books]
