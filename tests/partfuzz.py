"""Damage a returned workbook the way a fuzzer does, part by part: the mutations that found the reader's
faults (a non-ASCII token, a 5,000-digit No., a shared-string index of -1, NaN read as a number, UTF-7
hiding markup, sheets sharing one part).

A zip's bytes flipped at random mostly break a checksum; these mutations keep the package well formed and
change what is inside it: one part's bytes, a value, an attribute, the declared encoding, the sheet list.
Used by `tests/test_collect_hostile.py` (a fixed seed, every run) and by `scripts/fuzz_examine.py` (many
seeds, or coverage-guided with atheris).
"""

from __future__ import annotations

import io
import random
import re
import zipfile

# Values a cell, a name or an index may be overwritten with: each once broke, or could break, a reader.
WEIRD_VALUES = [
    "-1", "+0", "NaN", "-inf", "1e999", "1_000", "9" * 5000, "0x1F", " 7 ", "",
    "照合コード", "ｱｲｳ", "１２３", "_x0000_", "_xD800_", "#REF!", "=1+1", "\u202e", "A" * 40_000,
]  # fmt: skip
WEIRD_REFS = ["A0", "XFE1", "A1048577", "0", "", "$A$1:$XFD$1048576", "B2:A1", "a1", "A99999999999"]
WEIRD_ENCODINGS = ["utf-7", "UTF-16", "punycode", "idna", "ISO-8859-1", "x" * 45, "utf-8", "undefined"]
TOKENS = [
    b"<c/>", b'<c r="A1" t="s"><v>0</v></c>', b'<c t="inlineStr"><is><t>x</t></is></c>', b"<v>1</v>",
    b"<f>SUM(A1)</f>", b'<row r="3">', b"</row>", b"<![CDATA[x]]>", b"<!-- x -->", b"&amp;", b"&#1;",
    b'<definedName name="DX_Q2">', b"</definedName>", b'xmlns:x="urn:x"', b"<x:c/>", b"\xff\xfe", b"\x00",
]  # fmt: skip

_TEXT_RE = re.compile(rb"<(v|t|definedName)\b([^>]*)>([^<]*)</\1>")
_ATTR_RE = re.compile(rb'\b(r|ref|localSheetId|sheetId|count|uniqueCount|s)="([^"]*)"')
_DECL_RE = re.compile(rb"^(?:\xef\xbb\xbf)?<\?xml[^>]*\?>")


def parts_of(workbook: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def package(parts: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            zf.writestr(name, data)
    return buf.getvalue()


def mutate(workbook: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """`workbook` with 1 to `rounds` of its parts damaged, still a well-formed zip."""
    parts = parts_of(workbook)
    xml = [i for i, (name, _) in enumerate(parts) if name.endswith((".xml", ".rels"))]
    # Mostly the parts that hold what is read: the sheets, the strings, the names.
    read = [i for i in xml if parts[i][0].startswith(("xl/worksheets/", "xl/sharedStrings", "xl/workbook"))]
    for _ in range(rng.randint(1, rounds)):
        i = rng.choice(read if read and rng.random() < 0.8 else xml)
        name, data = parts[i]
        parts[i] = (name, _mutate_part(name, data, rng))
    return package(parts)


def _mutate_part(name: str, data: bytes, rng: random.Random) -> bytes:
    kind = rng.choices(range(7), weights=(35, 20, 8, 7, 10, 10, 10))[0]
    if kind == 0:  # a value: cell, inline or shared string, defined name
        spots = list(_TEXT_RE.finditer(data))
        if spots:
            m = rng.choice(spots)
            value = rng.choice(WEIRD_VALUES).encode()
            return data[: m.start(3)] + _escape(value) + data[m.end(3) :]
    if kind == 1:  # an attribute: a cell's reference, a dimension, a name's scope, a style
        spots = list(_ATTR_RE.finditer(data))
        if spots:
            m = rng.choice(spots)
            value = rng.choice(WEIRD_REFS + ["-1", "4294967296", "1" * 400]).encode()
            return data[: m.start(2)] + value + data[m.end(2) :]
    if kind == 2:  # the declared encoding, the bytes left as they are (or transcoded, for UTF-16)
        encoding = rng.choice(WEIRD_ENCODINGS)
        body = _DECL_RE.sub(b"", data)
        decl = f'<?xml version="1.0" encoding="{encoding}"?>'
        if encoding == "UTF-16":
            return (decl + body.decode("utf-8", "replace")).encode("utf-16")
        return decl.encode() + body
    if kind == 3 and name == "xl/workbook.xml":  # sheets sharing a part, named in another's scope
        sheets = re.findall(rb"<sheet [^>]*/>", data)
        if sheets:
            extra = b"".join(
                re.sub(rb'name="[^"]*"', b'name="S%d"' % n, rng.choice(sheets))
                for n in range(rng.randint(1, 30))
            )
            return data.replace(b"</sheets>", extra + b"</sheets>", 1)
    if kind == 4:  # a token inserted anywhere
        at = rng.randrange(len(data) + 1)
        return data[:at] + rng.choice(TOKENS) + data[at:]
    if kind == 5 and len(data) > 2:  # a slice repeated, or cut out
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.randint(1, 2000))
        return (
            data[:b] + data[a:b] * rng.randint(1, 20) + data[b:]
            if rng.random() < 0.5
            else data[:a] + data[b:]
        )
    flipped = bytearray(data)  # bytes flipped (also when the mutation drawn found nothing to change)
    for _ in range(rng.randint(1, 4)):
        flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    return bytes(flipped)


def _escape(value: bytes) -> bytes:
    return value.replace(b"&", b"&amp;").replace(b"<", b"&lt;")
