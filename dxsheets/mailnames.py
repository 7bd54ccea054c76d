"""Attachment names as Japanese mailers write them.

Python's mail parser decodes a name by the charset its label says. Japanese Windows mailers label Windows
code pages with the standard names: "Shift_JIS" for what is really CP932, and "ISO-2022-JP" for what is
really CP50221. Both carry characters the standard codecs refuse, and which Japanese file names often hold:
circled numbers (回答①.xlsx), NEC and IBM extensions (髙, 﨑). Some mailers send the name as raw 8-bit
Shift_JIS with no label at all. The parser then gives U+FFFD marks, or the encoded word itself
(`=?ISO-2022-JP?B?...?=`), or nothing, and staff cannot tell which file the ledger speaks of.

`attachment_name` reads the name from the raw header again when the parser's reading is damaged, decoding
by what the bytes really are.
"""

from __future__ import annotations

import email.header
import re
from email.message import Message
from urllib.parse import unquote_to_bytes

# Labels under which Japanese mailers send CP932 or CP50221 text.
_CP932_LABELS = {"shift_jis", "shift-jis", "sjis", "x-sjis", "windows-31j", "cp932", "ms_kanji", "ms932"}
_JIS_LABELS = {"iso-2022-jp", "iso2022_jp", "csiso2022jp", "iso-2022-jp-ms", "cp50220", "cp50221"}

_PARAM = re.compile(
    r"""(?:^|;)\s*(?P<key>(?:file)?name)(?:\*(?P<index>\d+))?(?P<ext>\*)?\s*=\s*
        (?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;\s]*))""",
    re.IGNORECASE | re.VERBOSE,
)


def attachment_name(part: Message) -> str | None:
    """The attachment's file name, decoded as Japanese mailers mean it; None when it has none."""
    name = part.get_filename()
    if name is not None and "\ufffd" not in name and "=?" not in name:
        return name
    for header in ("Content-Disposition", "Content-Type"):
        raw = _raw_header(part, header)
        found = _name_from_raw(raw) if raw else None
        if found:
            return found
    return name


def _raw_header(part: Message, header: str) -> str | None:
    """A header's value as it is in the mail, before the parser decoded it (8-bit bytes as surrogates)."""
    for key, value in part.raw_items():
        if key.lower() == header.lower():
            return str(value)
    return None


def _name_from_raw(raw: str) -> str | None:
    """The filename (Content-Disposition) or name (Content-Type) parameter of a raw header value."""
    found: dict[str, dict[int, tuple[bool, str]]] = {}
    for m in _PARAM.finditer(raw):
        value = m["quoted"] if m["quoted"] is not None else m["token"]
        value = re.sub(r"\\(.)", r"\1", value)
        index = int(m["index"]) if m["index"] is not None else 0
        found.setdefault(m["key"].lower(), {})[index] = (m["ext"] is not None, value)
    pieces = found.get("filename") or found.get("name")
    if not pieces:
        return None
    ordered = [pieces[i] for i in sorted(pieces)]
    if ordered[0][0]:  # RFC 2231: charset'language'percent-encoded, continued over *0*, *1*, ...
        charset, _, rest = ordered[0][1].partition("'")
        _, _, first = rest.partition("'")
        data = unquote_to_bytes(first) + b"".join(
            unquote_to_bytes(v) if ext else v.encode("utf-8", "surrogateescape") for ext, v in ordered[1:]
        )
        return _decode(data, charset) or None
    text = "".join(v for _, v in ordered)
    if "=?" in text:  # RFC 2047 encoded words, in quotes (not allowed, but what most mailers send)
        words = email.header.decode_header(text)
        return "".join(w if isinstance(w, str) else _decode(w, cs) for w, cs in words) or None
    # Raw 8-bit bytes: UTF-8 if they are, else Shift_JIS (CP932), the Japanese mailers' other habit.
    return _decode(text.encode("utf-8", "surrogateescape"), None) or None


def _decode(data: bytes, charset: str | None) -> str:
    label = (charset or "").strip().lower()
    if label in _JIS_LABELS or b"\x1b" in data:  # an escape byte: ISO-2022-JP, whatever the label
        return jis_to_cp932(data).decode("cp932", "replace")
    if label in _CP932_LABELS:
        return data.decode("cp932", "replace")
    if label:
        try:
            return data.decode(label)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp932", "replace")


def jis_to_cp932(data: bytes) -> bytes:
    """ISO-2022-JP as Windows writes it (CP50221: JIS X 0208 with the NEC and IBM rows) to CP932 bytes.

    Python's iso2022_jp codecs refuse those rows (①, 髙 ...); converting each JIS pair to its Shift_JIS
    pair keeps them, since CP932 holds them at the same places.
    """
    out = bytearray()
    mode = "ascii"
    i = 0
    while i < len(data):
        if data[i] == 0x1B and i + 2 < len(data):
            seq = data[i + 1 : i + 3]
            mode = {b"$@": "jis", b"$B": "jis", b"(I": "kana"}.get(bytes(seq), "ascii")
            i += 3
            continue
        b = data[i]
        if mode == "jis" and i + 1 < len(data) and 0x21 <= b <= 0x7E:
            j1, j2 = b, data[i + 1]
            s1 = (j1 + 0xE1) >> 1 if j1 <= 0x5E else (j1 + 0x161) >> 1
            s2 = j2 + (0x1F + (j2 >= 0x60) if j1 % 2 else 0x7E)
            out += bytes((s1 & 0xFF, s2 & 0xFF))
            i += 2
            continue
        out.append(b + 0x80 if mode == "kana" and 0x21 <= b <= 0x5F else b)
        i += 1
    return bytes(out)
