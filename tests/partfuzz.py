"""Damage a returned workbook the way a fuzzer does, part by part: the mutations that found the reader's
faults (a non-ASCII token, a 5,000-digit No., a shared-string index of -1, NaN read as a number, UTF-7
hiding markup, sheets sharing one part).

A zip's bytes flipped at random mostly break a checksum; these mutations keep the package well formed and
change what is inside it: one part's bytes, a value, an attribute, the declared encoding, the sheet list.
`mutate_zip` breaks the package itself (its headers, its compressed bytes, its part names), as the
coverage-guided fuzzer's zip patches did when they found a ZIP64 offset and an LZMA method that reached the
reader's last-resort handler.
Used by `tests/test_collect_hostile.py` (a fixed seed, every run) and by `scripts/fuzz_examine.py` (many
seeds). The coverage-guided (atheris) harnesses that found those faults are not in the repository.
"""

from __future__ import annotations

import io
import random
import re
import warnings
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
    """`parts` zipped, with a fixed time on each entry: a draw gives the same bytes on every run."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts:
            zf.writestr(zipfile.ZipInfo(name, (2026, 11, 27, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
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
    if kind == 4:
        return insert_token(data, rng, TOKENS)
    if kind == 5 and len(data) > 2:
        return repeat_or_cut(data, rng, span=2000, times=20)
    return flip_bytes(data, rng)  # (also when the mutation drawn found nothing to change)


def insert_token(data: bytes, rng: random.Random, tokens: list[bytes]) -> bytes:
    """One of `tokens` inserted anywhere."""
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(tokens) + data[at:]


def repeat_or_cut(data: bytes, rng: random.Random, span: int, times: int) -> bytes:
    """A slice of up to `span` bytes repeated up to `times` times, or cut out (a save that stopped)."""
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randint(1, span))
    return (
        data[:b] + data[a:b] * rng.randint(1, times) + data[b:] if rng.random() < 0.5 else data[:a] + data[b:]
    )


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four bytes set at random (none in empty data: a part cut to nothing by an earlier round)."""
    flipped = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if flipped:
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    return bytes(flipped)


def _escape(value: bytes) -> bytes:
    return value.replace(b"&", b"&amp;").replace(b"<", b"&lt;")


# Zip header fields a damaged or hand-made package gets wrong, by record: (offset, size, values to try).
# A random value is tried too. Methods: shrink, deflate64, bzip2, LZMA, AES; flags: encrypted, data
# descriptor, UTF-8 names, strong encryption; sizes and offsets: zero, past 2**31, 2**32 - 1 (the ZIP64 mark).
_METHODS = [0, 1, 9, 12, 14, 99, 0xFFFF]
_FLAGS = [0x0001, 0x0008, 0x0800, 0x0041, 0xFFFF]
_SIZES = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]
_HEADER_FIELDS: dict[bytes, list[tuple[int, int, list[int]]]] = {
    b"PK\x03\x04": [
        (4, 2, [0, 45, 0xFFFF]), (6, 2, _FLAGS), (8, 2, _METHODS), (14, 4, [0]), (18, 4, _SIZES),
        (22, 4, _SIZES), (26, 2, [0, 1, 0xFFFF]), (28, 2, [0, 4, 0xFFFF]),
    ],
    b"PK\x01\x02": [
        (6, 2, [0, 45, 0xFFFF]), (8, 2, _FLAGS), (10, 2, _METHODS), (16, 4, [0]), (20, 4, _SIZES),
        (24, 4, _SIZES), (28, 2, [0, 1, 0xFFFF]), (30, 2, [0, 4, 20, 0xFFFF]), (32, 2, [0xFFFF]),
        (42, 4, _SIZES),
    ],
    b"PK\x05\x06": [(8, 2, [0, 1, 0xFFFF]), (10, 2, [0, 1, 0xFFFF]), (12, 4, _SIZES), (16, 4, _SIZES), (20, 2, [1, 0xFFFF])],
}  # fmt: skip
_PART_NAMES = ["xl/worksheets/sheet9.xml", "mimetype", "xl/workbook.bin", "word/document.xml", "/"]


def mutate_zip(workbook: bytes, rng: random.Random) -> bytes:
    """`workbook` with its zip itself damaged: a header field patched, a bit of a part's compressed data
    flipped, or a part renamed, dropped or doubled (the package written again). What a broken copy, a
    hand-made or a hostile package holds."""
    kind = rng.randrange(5)
    if kind == 4:  # a bit of a part's compressed data (its inflating or its CRC fails)
        spots = [m.start() for m in re.finditer(re.escape(b"PK\x03\x04"), workbook)]
        at = rng.choice(spots)
        start = at + 30 + int.from_bytes(workbook[at + 26 : at + 28], "little")
        start += int.from_bytes(workbook[at + 28 : at + 30], "little")
        out = bytearray(workbook)
        out[min(len(out) - 1, start + rng.randrange(64))] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == 0:  # one field of one header record
        signature = rng.choice(list(_HEADER_FIELDS))
        spots = [m.start() for m in re.finditer(re.escape(signature), workbook)]
        if spots:
            at = rng.choice(spots)
            offset, size, values = rng.choice(_HEADER_FIELDS[signature])
            number = rng.choice(values) if rng.random() < 0.8 else rng.randrange(256**size)
            value = number.to_bytes(size, "little")
            out = bytearray(workbook)
            out[at + offset : at + offset + size] = value[: len(out) - at - offset]
            return bytes(out)
    parts = parts_of(workbook)
    i = rng.randrange(len(parts))
    name, data = parts[i]
    if kind == 1:  # a part's name spelled otherwise, or another part's
        parts[i] = (
            rng.choice([
                name.upper(), "/" + name, name.replace("/", "\\"), name.replace("/", "%2F"), name + "/",
                name.replace("xl/", "xl/../xl/"), rng.choice(_PART_NAMES),
            ]),
            data,
        )  # fmt: skip
    elif kind == 2:  # a part dropped
        del parts[i]
    else:  # a part twice (the later one wins in zipfile, the first in other readers)
        parts.insert(rng.randrange(len(parts) + 1), (name, rng.choice([data, b"", data[: len(data) // 2]])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: that is the point
        return package(parts)
