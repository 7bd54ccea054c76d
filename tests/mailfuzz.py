"""Damage a saved mail the way a fuzzer does: what a mail program, a half-finished save or a hostile sender
can make of a reply carrying a return.

A mail that makes the reader raise must end as a fate of that mail alone, with a reason a person can
read (a worker that dies or stalls on one costs only that mail, but says less about why). Unlike
`partfuzz`, which keeps a workbook's zip whole, these mutations damage the mail's own text: header
values (the parameters Python's header parser chokes on, the dates, the encodings), boundaries, base64
bodies, nesting; and, for an Outlook `.msg` (a compound file), slices and bytes. Used by
`tests/test_collect_hostile.py` on a fixed draw.
"""

from __future__ import annotations

import random
import re
from datetime import datetime
from pathlib import Path

import hostile
from partfuzz import flip_bytes, insert_token, repeat_or_cut

# Header values, each one that broke, or could break, a mail reader.
WEIRD_HEADERS = {
    b"content-type": [
        b'multipart/mixed; boundary=""',
        b"multipart/mixed",
        b'multipart/signed; protocol="application/pkcs7-signature"; boundary="BB"',
        b"application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
        b"message/rfc822",
        b'text/plain; charset="x-unknown"',
        b"application/vnd.ms-excel; filename*=shift_\x00jis''%89%F1.xlsx",
        b'application/octet-stream; name="=?ISO-2022-JP?B?GyRCMnNFeiEjGyhC?="',
        b"application/octet-stream; name*0*=UTF-8''%E5; name*2*=%9B; name*1=\"",
        b"; ; ;",
        b"",
    ],
    b"content-disposition": [
        b'attachment; filename="' + b"a" * 3000 + b'.xlsx"',
        b"attachment; filename*=UTF-8''%FF%FE.xlsx",
        b"attachment; filename*=''",
        b'attachment; filename="=?UTF-8?B?5Zue562U?=',
        b"attachment; filename*0*=UTF-8''%E5%9B; filename*0=x",
        b"inline",
        b'attachment; filename="..\\..\\evil.xlsx"',
        b'attachment; filename="\x1b[31m' + "\u202e".encode() + b'.xlsx"',
    ],
    b"content-transfer-encoding": [b"base64", b"quoted-printable", b"x-uuencode", b"8bit", b"", b"base64x"],
    b"date": [
        b"Fri, 99 Nov 2026 25:61:00 +9999",
        b"Thu, 26 Nov 6521 19:37:29 +0900",
        b"yesterday",
        b"",
        b"Mon, 1 Jan 1900 00:00:00 -0000",
    ],
    b"subject": [b"=?UTF-8?B?" + b"5" * 2000 + b"?=", b"=?x?Q?=FF?=", b""],
}
TOKENS = [b"\r\n", b"\r\n\r\n", b"--", b"\x00", b"=?", b"?=", b"\xff", b"--BB--\r\n", b";", b'"']

_HEADER_RE = re.compile(rb"^(content-type|content-disposition|content-transfer-encoding|date|subject)[ \t]*:"
                        rb"[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.IGNORECASE | re.MULTILINE)  # fmt: skip
_BOUNDARY_RE = re.compile(rb"^--[^\r\n]*$", re.MULTILINE)
_BASE64_LINE_RE = re.compile(rb"^[A-Za-z0-9+/]{60,}={0,2}\r?$", re.MULTILINE)


def seed_mails(folder: Path, book: bytes, sent: datetime) -> list[Path]:
    """The mails damaged from: a reply carrying `book` as a plain `.eml`, one with an image too and its
    name as an RFC 2047 encoded word, one signed with S/MIME, and an Outlook `.msg`; written to `folder`."""
    return [
        hostile.make_eml(folder / "a.eml", [("0101_回答.xlsx", book)], sent),
        hostile.make_eml(
            folder / "b.eml",
            [("回答.xlsx", book), ("写真.png", hostile.png_bytes())],
            sent,
            filename_style="rfc2047",
        ),
        hostile.make_signed_eml(folder / "s.eml", [("回答.xlsx", book)], sent),
        hostile.make_outlook_msg(
            folder / "o.msg", mail=hostile.MsgMail(sent=sent, attachments=[("回答.xlsx", book)])
        ),
    ]


def mutate(raw: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """`raw` (an .eml's or a .msg's bytes) with 1 to `rounds` mutations."""
    for _ in range(rng.randint(1, rounds)):
        raw = _mutate_once(raw, rng)
    return raw


def _mutate_once(raw: bytes, rng: random.Random) -> bytes:
    is_msg = raw.startswith(b"\xd0\xcf\x11\xe0")
    kind = rng.choices(
        range(7), weights=(0, 0, 0, 0, 20, 20, 20) if is_msg else (35, 15, 10, 10, 10, 10, 10)
    )[0]
    if kind == 0:  # a header's value
        spots = list(_HEADER_RE.finditer(raw))
        if spots:
            m = rng.choice(spots)
            value = rng.choice(WEIRD_HEADERS[m.group(1).lower()])
            return raw[: m.start()] + m.group(1) + b": " + value + raw[m.end() :]
    if kind == 1:  # a boundary line dropped, doubled or changed
        spots = list(_BOUNDARY_RE.finditer(raw))
        if spots:
            m = rng.choice(spots)
            line = m.group(0)
            new = rng.choice([b"", line + b"\r\n" + line, line.rstrip(b"\r") + b"--", b"--", line[:-3]])
            return raw[: m.start()] + new + raw[m.end() :]
    if kind == 2:  # a base64 line damaged
        spots = list(_BASE64_LINE_RE.finditer(raw))
        if spots:
            m = rng.choice(spots)
            line = bytearray(m.group(0))
            line[rng.randrange(len(line))] = rng.choice(b"*=!\x00 ")
            return raw[: m.start()] + bytes(line) + raw[m.end() :]
    if kind == 3:  # the whole mail forwarded in another, some levels deep
        for _ in range(rng.randint(1, 5)):
            raw = (
                b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="FW"\r\n\r\n--FW\r\n'
                b"Content-Type: message/rfc822\r\n\r\n" + raw + b"\r\n--FW--\r\n"
            )
        return raw
    if kind == 4 and raw:
        return insert_token(raw, rng, TOKENS)
    if kind == 5 and len(raw) > 2:
        return repeat_or_cut(raw, rng, span=4000, times=10)
    return flip_bytes(raw, rng)  # (also when the mutation drawn found nothing to change)
