"""Attachment names as Japanese mailers send them, for the tests: the name a promoter typed, spelled in
each way mailers put it into a Content-Disposition, and a mail carrying a workbook under it."""

from __future__ import annotations

import base64

NAME = "回答①_市民課_山﨑ｶﾅ.xlsx"  # a circled number, an IBM extension (﨑), half-width katakana


def cp50221(text: str) -> bytes:
    """ISO-2022-JP as Japanese Outlook writes it (CP50221), built from the JIS rows CP932 maps to."""
    out, mode = bytearray(), "ascii"
    for ch in text:
        sjis = ch.encode("cp932")  # IBM extensions come out as their NEC-selected twins, as Windows sends
        want = "ascii" if len(sjis) == 1 and sjis[0] < 0x80 else "kana" if len(sjis) == 1 else "jis"
        if want != mode:
            out += {"ascii": b"\x1b(B", "kana": b"\x1b(I", "jis": b"\x1b$B"}[want]
            mode = want
        if want == "jis":
            s1, s2 = sjis
            j1 = ((s1 - (0x70 if s1 < 0xA0 else 0xB0)) << 1) - (s2 < 0x9F)
            j2 = s2 - (0x1F if s2 < 0x9F else 0x7E) - (0x7F < s2 < 0x9F)
            out += bytes((j1, j2))
        else:
            out.append(sjis[0] - 0x80 if want == "kana" else sjis[0])
    if mode != "ascii":
        out += b"\x1b(B"
    return bytes(out)


def mail_with(disposition: bytes, workbook: bytes = b"PK\x03\x04") -> bytes:
    return (
        b"From: =?UTF-8?B?5biC5rCR6Kqy?= <shimin@city.example.jp>\r\nTo: dx@city.example.jp\r\n"
        b"Subject: =?UTF-8?B?5Zue562U?=\r\nDate: Tue, 24 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\n'
        b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n"
        b"Content-Disposition: "
        + disposition
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(workbook).replace(b"\n", b"\r\n")
        + b"--XX--\r\n"
    )


def encoded_word(data: bytes, charset: str) -> bytes:
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="


def percent(data: bytes) -> bytes:
    return "".join(f"%{b:02X}" for b in data).encode()


STYLES = {
    # Japanese Outlook: quoted encoded word, ISO-2022-JP label, CP50221 bytes (the NEC and IBM rows)
    "outlook-iso-2022-jp": b'attachment; filename="' + encoded_word(cp50221(NAME), "ISO-2022-JP") + b'"',
    # older mailers: "Shift_JIS" label on CP932 bytes
    "rfc2047-shift_jis": b'attachment; filename="' + encoded_word(NAME.encode("cp932"), "Shift_JIS") + b'"',
    "rfc2231-shift_jis": b"attachment; filename*=Shift_JIS''" + percent(NAME.encode("cp932")),
    # no label at all: raw 8-bit Shift_JIS, or UTF-8
    "raw-cp932": b'attachment; filename="' + NAME.encode("cp932") + b'"',
    "raw-utf-8": b'attachment; filename="' + NAME.encode("utf-8") + b'"',
    # an encoded word without quotes, which Python's parser drops
    "unquoted-rfc2047": b"attachment; filename=" + encoded_word(NAME.encode("utf-8"), "UTF-8"),
    # Thunderbird: RFC 2231 continuations in UTF-8 (Python's own reading is kept)
    "rfc2231-continued": b"attachment;\r\n filename*0*=UTF-8''"
    + percent(NAME.encode()[:12])
    + b";\r\n filename*1*="
    + percent(NAME.encode()[12:]),
}
