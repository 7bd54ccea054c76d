"""Checks that every builder in ``hostile.py`` really produces the file it claims to.

These tests are about the corpus, not about dxsheets: if a builder silently produced a harmless file, every
test that relies on it to prove dxsheets rejects hostile input would pass for the wrong reason.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import os
import re
import shutil
import struct
import time
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
from pathlib import Path

import defusedxml.common
import defusedxml.ElementTree
import msoffcrypto
import olefile
import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from dxsheets.xlsxread import MAX_COMPOUND_ENTRIES, compound_file_entries

try:
    import hostile as h
except ImportError:  # pragma: no cover - if tests/ ever becomes a package
    from tests import hostile as h

GIB = h.GIB
MIB = h.MIB


@pytest.fixture(scope="module")
def source() -> bytes:
    return h.valid_xlsx_bytes()


def _not_a_zip(path: Path) -> None:
    assert not zipfile.is_zipfile(path)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(path)


def _calamine_values(path: Path, suffix: str, tmp_path: Path) -> list[list[object]]:
    """Values of the first sheet read by calamine from a copy named with ``suffix`` (it trusts extensions)."""
    calamine = pytest.importorskip("python_calamine")
    copy = tmp_path / f"calamine_copy{suffix}"
    shutil.copyfile(path, copy)
    return calamine.CalamineWorkbook.from_path(str(copy)).get_sheet_by_index(0).to_python()


# ---------------------------------------------------------------------------------------------- basics


def test_valid_xlsx_bytes_is_a_real_japanese_workbook(source: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(source))
    assert wb.sheetnames == ["回答"]
    assert wb["回答"]["A2"].value == "部署名"
    assert wb["回答"]["B4"].value == 12
    assert "xl/sharedStrings.xml" in zipfile.ZipFile(io.BytesIO(source)).namelist()


def test_dest_directory_gets_realistic_name_and_file_path_is_used_as_is(tmp_path: Path) -> None:
    assert h.make_zero_bytes(tmp_path) == tmp_path / "回答_空.xlsx"
    target = tmp_path / "deep" / "er" / "x.xlsx"
    assert h.make_zero_bytes(target) == target
    assert target.exists()


# ------------------------------------------------------------------------------- 1. lock / system files


def test_excel_owner_file(tmp_path: Path) -> None:
    path = h.make_excel_owner_file(tmp_path, user="山田 太郎")
    data = path.read_bytes()
    assert path.name == "~$回答.xlsx"
    assert len(data) == 162
    assert data[0] == len("山田 太郎")
    assert data[1:].startswith("山田 太郎".encode("cp932"))
    assert struct.unpack_from("<H", data, 0x36)[0] == len("山田 太郎")
    assert data[0x38 : 0x38 + 10].decode("utf-16-le") == "山田 太郎"
    assert data.endswith(b" \x00")
    _not_a_zip(path)


def test_libreoffice_lock(tmp_path: Path) -> None:
    path = h.make_libreoffice_lock(tmp_path)
    assert path.name == ".~lock.回答.xlsx#"
    text = path.read_text("utf-8")
    assert text.endswith(";")
    name, login, host, when, profile = text[:-1].split(",")
    assert (name, login, host) == ("山田 太郎", "yamada", "SOUMU-PC01")
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", when)
    assert profile.startswith("file:///")


def test_appledouble(tmp_path: Path) -> None:
    path = h.make_appledouble(tmp_path)
    data = path.read_bytes()
    assert path.name == "._回答.xlsx"
    assert len(data) == 4096
    assert data[:4] == b"\x00\x05\x16\x07"
    assert struct.unpack_from(">I", data, 4)[0] == 0x00020000
    (count,) = struct.unpack_from(">H", data, 24)
    entries = [struct.unpack_from(">III", data, 26 + 12 * i) for i in range(count)]
    assert {e[0] for e in entries} == {2, 9}  # resource fork, Finder info
    assert all(off + length <= len(data) for _, off, length in entries)
    finder = next(e for e in entries if e[0] == 9)
    assert data[finder[1] : finder[1] + 8] == b"XLSXXCEL"
    _not_a_zip(path)


def test_excel_temp_starts_like_a_zip_but_is_not_one(tmp_path: Path, source: bytes) -> None:
    path = h.make_excel_temp(tmp_path, source)
    assert path.name == "回答.tmp"
    assert path.read_bytes().startswith(b"PK\x03\x04")
    _not_a_zip(path)


def test_thumbs_db_is_ole2_but_not_office(tmp_path: Path) -> None:
    path = h.make_thumbs_db(tmp_path)
    assert path.name == "Thumbs.db"
    assert path.read_bytes()[:8] == h.OLE2_MAGIC
    with olefile.OleFileIO(str(path)) as ole:
        assert sorted(ole.listdir()) == [["1"], ["Catalog"]]
        assert ole.openstream("1").read().find(b"\xff\xd8") > 0
    with open(path, "rb") as f, pytest.raises(msoffcrypto.exceptions.FileFormatError):
        msoffcrypto.OfficeFile(f)


def test_outlook_msg_is_ole2_with_a_message_property_stream(tmp_path: Path) -> None:
    path = h.make_outlook_msg(tmp_path)
    data = path.read_bytes()
    assert data.startswith(bytes.fromhex("D0CF11E0A1B11AE1"))  # the same magic as a legacy .xls
    with olefile.OleFileIO(path) as ole:
        assert ole.exists("__properties_version1.0") and not ole.exists("Workbook")
        assert ole.openstream("__substg1.0_0037001F").read().decode("utf-16-le").startswith("【回答】")


@pytest.mark.parametrize("unicode", [True, False], ids=["unicode", "cp932"])
def test_outlook_msg_is_what_an_independent_reader_sees(tmp_path: Path, source: bytes, unicode: bool) -> None:
    """extract-msg (an independent .msg reader, used by tests only) finds the subject, send time, each
    attachment with its name and bytes, the forwarded mail with its own time and attachment, and a share
    link attached instead of a file."""
    extract_msg = pytest.importorskip("extract_msg")
    sent = dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC)
    forwarded = h.MsgMail(
        "元の回答", dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.UTC), [("0201_総務課.xlsx", source)]
    )
    mail = h.MsgMail(
        "RE: 課題抽出シート",
        sent,
        [("0101_未来政策課.xlsx", source), forwarded, h.MsgLink("共有.xlsx")],
        unicode=unicode,
    )
    path = h.make_outlook_msg(tmp_path / "回答.msg", mail=mail)
    msg = extract_msg.openMsg(str(path))
    try:
        assert msg.subject == "RE: 課題抽出シート" and msg.date == sent
        first, second, link = msg.attachments
        assert first.longFilename == "0101_未来政策課.xlsx" and first.data == source
        inner = second.data
        assert inner.subject == "元の回答" and inner.date == forwarded.sent
        assert [(a.longFilename, a.data) for a in inner.attachments] == [("0201_総務課.xlsx", source)]
        assert type(link).__name__ == "WebAttachment" and link.longFilename == "共有.xlsx"
    finally:
        msg.close()


def test_compound_file_entries_are_counted_as_olefile_finds_them(tmp_path: Path, source: bytes) -> None:
    """The count taken from the header and FAT alone, before any reader opens the file, is what olefile
    loads; past the limit (a file of thousands of parts, or a directory chain that loops) it stops early."""
    files = [
        h.make_outlook_msg(tmp_path),
        h.make_encrypted(tmp_path, source),
        h.make_irm_protected(tmp_path, source),
        h.make_thumbs_db(tmp_path),
        h.make_crafted_xls(tmp_path),
        h.make_msg_many_attachments(tmp_path, attachments=40),
    ]
    for path in files:
        data = path.read_bytes()
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            assert compound_file_entries(data) == len(ole.direntries) <= MAX_COMPOUND_ENTRIES, path.name
    many = h.make_ole_many_parts(tmp_path).read_bytes()
    assert compound_file_entries(many) == MAX_COMPOUND_ENTRIES + 4  # one sector past the limit: stopped
    looped = bytearray(h.make_outlook_msg(tmp_path / "loop.msg").read_bytes())
    first_dir, fat_sector = (
        struct.unpack_from("<I", looped, 0x30)[0],
        struct.unpack_from("<I", looped, 0x4C)[0],
    )
    struct.pack_into("<I", looped, 512 + fat_sector * 512 + 4 * first_dir, first_dir)  # points at itself
    assert compound_file_entries(bytes(looped)) == MAX_COMPOUND_ENTRIES + 4
    assert compound_file_entries(many[:300]) is None  # not even a whole header


def test_a_compound_file_of_thousands_of_parts_is_refused_unopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dxsheets import outlookmsg
    from dxsheets.xlsxread import FORMAT_OTHER, TooManyParts, document_kind, sniff

    many = h.make_ole_many_parts(tmp_path).read_bytes()
    mail = h.make_msg_many_attachments(tmp_path).read_bytes()

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("opened with olefile")

    monkeypatch.setattr(olefile, "OleFileIO", never)
    assert sniff(many) == FORMAT_OTHER and document_kind(many) is None
    with pytest.raises(TooManyParts):
        outlookmsg.read_attachments(mail, max_depth=3)


def test_zip_archive_has_cp932_names_and_a_real_password(tmp_path: Path, source: bytes) -> None:
    plain = h.make_zip_archive(tmp_path, [("0401_市民課.xlsx", source)], name="a.zip")
    locked = h.make_zip_archive(tmp_path, [("0401_市民課.xlsx", source)], b"secret", name="b.zip")
    for path in (plain, locked):
        with zipfile.ZipFile(path) as zf:
            (info,) = zf.infolist()
            assert not info.flag_bits & 0x800  # no UTF-8 flag: the name is cp932, read by zipfile as cp437
            assert info.filename.encode("cp437").decode("cp932") == "0401_市民課.xlsx"
            assert "[Content_Types].xml" not in zf.namelist()  # a zip of a workbook, not a workbook
            if path is plain:
                assert zf.read(info) == source
            else:
                assert info.flag_bits & 0x1
                with pytest.raises(RuntimeError, match="password required"):
                    zf.read(info)
                with pytest.raises(RuntimeError, match="Bad password"):
                    zf.read(info, pwd=b"wrong")
                assert zf.read(info, pwd=b"secret") == source  # real ZipCrypto, as Windows writes


def test_desktop_ini(tmp_path: Path) -> None:
    path = h.make_desktop_ini(tmp_path)
    data = path.read_bytes()
    assert path.name == "desktop.ini"
    assert data[:2] == b"\xff\xfe"
    assert "[.ShellClassInfo]\r\n" in data.decode("utf-16")


# --------------------------------------------------------------------------- 2. not what they claim


def test_zero_bytes(tmp_path: Path) -> None:
    path = h.make_zero_bytes(tmp_path)
    assert path.stat().st_size == 0
    _not_a_zip(path)


def test_csv_named_xlsx_is_cp932_only(tmp_path: Path) -> None:
    path = h.make_csv_named_xlsx(tmp_path)
    data = path.read_bytes()
    assert path.suffix == ".xlsx"
    text = data.decode("cp932")
    assert text.splitlines()[0] == "項目,回答"
    assert "\r\n" in text and "①" in text
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")
    _not_a_zip(path)


def test_html_named_xlsx(tmp_path: Path) -> None:
    path = h.make_html_named_xlsx(tmp_path)
    text = path.read_bytes().decode("cp932")
    assert path.suffix == ".xlsx"
    assert 'xmlns:x="urn:schemas-microsoft-com:office:excel"' in text
    assert "charset=Shift_JIS" in text
    assert "<td>総務課</td>" in text
    _not_a_zip(path)


def test_random_bytes_is_reproducible_and_unrecognisable(tmp_path: Path) -> None:
    a = h.make_random_bytes(tmp_path / "a.xlsx", size=1000, seed=7).read_bytes()
    b = h.make_random_bytes(tmp_path / "b.xlsx", size=1000, seed=7).read_bytes()
    assert a == b and len(a) == 1000
    assert a[:2] != b"PK" and a[:4] != h.OLE2_MAGIC[:4]
    _not_a_zip(tmp_path / "a.xlsx")


# ------------------------------------------------------------------------------------------ 3. truncated


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_truncated_fails_zipfile(tmp_path: Path, source: bytes, fraction: float) -> None:
    path = h.make_truncated(tmp_path, source, fraction)
    data = path.read_bytes()
    assert len(data) == int(len(source) * fraction)
    assert source.startswith(data)
    _not_a_zip(path)


def test_truncated_rejects_a_whole_copy(tmp_path: Path, source: bytes) -> None:
    with pytest.raises(ValueError):
        h.make_truncated(tmp_path, source, 1.0)


# ------------------------------------------------------------------------------------------ 4. encrypted


def test_encrypted_is_real_agile_encrypted_ole2(tmp_path: Path, source: bytes) -> None:
    path = h.make_encrypted(tmp_path, source, password="秘密pass")
    assert path.read_bytes()[:8] == h.OLE2_MAGIC
    with olefile.OleFileIO(str(path)) as ole:
        streams = {"/".join(s) for s in ole.listdir()}
    assert {"EncryptionInfo", "EncryptedPackage"} <= streams
    _not_a_zip(path)
    with open(path, "rb") as f:
        office = msoffcrypto.OfficeFile(f)
        assert office.is_encrypted()
        office.load_key(password="秘密pass")
        out = io.BytesIO()
        office.decrypt(out)
    wb = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert wb["回答"]["B2"].value == "総務課"
    with open(path, "rb") as f:
        office = msoffcrypto.OfficeFile(f)
        office.load_key(password="wrong")
        with pytest.raises(msoffcrypto.exceptions.InvalidKeyError):
            office.decrypt(io.BytesIO())


def test_irm_protected_has_the_rights_management_data_space_and_no_password_parts(
    tmp_path: Path, source: bytes
) -> None:
    """Laid out as a sensitivity-labelled file Office saved: its data space says DRM, there is no
    EncryptionInfo, and msoffcrypto (which only knows passwords) does not recognise it."""
    path = h.make_irm_protected(tmp_path, source)
    assert path.read_bytes()[:8] == h.OLE2_MAGIC
    with olefile.OleFileIO(str(path)) as ole:
        streams = {"/".join(s) for s in ole.listdir()}
        assert ole.get_type("\x06DataSpaces/TransformInfo/DRMEncryptedTransform") == olefile.STGTY_STORAGE
    assert streams == {
        "\x06DataSpaces/Version",
        "\x06DataSpaces/DataSpaceMap",
        "\x06DataSpaces/DataSpaceInfo/DRMEncryptedDataSpace",
        "\x06DataSpaces/TransformInfo/DRMEncryptedTransform/\x06Primary",
        "EncryptedPackage",
    }
    _not_a_zip(path)
    with open(path, "rb") as f, pytest.raises(msoffcrypto.exceptions.FileFormatError):
        msoffcrypto.OfficeFile(f)


# --------------------------------------------------------------------------------------- 5. legacy .xls


def _check_xls(path: Path) -> None:
    assert path.read_bytes()[:8] == h.OLE2_MAGIC
    assert olefile.isOleFile(str(path))
    with olefile.OleFileIO(str(path)) as ole:
        assert ["Workbook"] in ole.listdir()
        stream = ole.openstream("Workbook").read()
    record, _, version, kind = struct.unpack_from("<HHHH", stream)
    assert (record, version, kind) == (0x0809, 0x0600, 0x0005)  # BIFF8 BOF, workbook globals
    with open(path, "rb") as f:
        assert msoffcrypto.OfficeFile(f).is_encrypted() is False  # OLE2, yet not encrypted


def test_crafted_xls_renamed_xlsx(tmp_path: Path) -> None:
    path = h.make_xls_renamed_xlsx(tmp_path, use_soffice=False)
    assert path.suffix == ".xlsx"
    _check_xls(path)
    with olefile.OleFileIO(str(path)) as ole:
        assert ole.root.clsid == "00020820-0000-0000-C000-000000000046"
    # Like Excel's own .xls files, it carries a zipped theme: is_zipfile() is fooled.
    assert zipfile.is_zipfile(path)
    assert "[Content_Types].xml" not in zipfile.ZipFile(path).namelist()
    assert not zipfile.is_zipfile(h.make_crafted_xls(tmp_path / "plain.xls", theme=False))
    values = _calamine_values(path, ".xls", tmp_path)
    assert values[0] == ["部署名", "総務課"]
    assert values[2] == ["職員数", 12]


@pytest.mark.libreoffice
def test_soffice_xls_renamed_xlsx(tmp_path: Path, source: bytes) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    path = h.make_xls_renamed_xlsx(tmp_path, source, use_soffice=True)
    _check_xls(path)
    assert _calamine_values(path, ".xls", tmp_path)[1] == ["部署名", "総務課"]


def test_ole2_writer_round_trips_many_streams() -> None:
    streams = [
        (f"S{i}", bytes([i]) * size) for i, size in enumerate([0, 1, 63, 64, 65, 4095, 4096, 9000, 70000])
    ]
    data = h._ole2_bytes(streams)
    with olefile.OleFileIO(data) as ole:
        assert sorted(ole.listdir()) == sorted([n] for n, _ in streams)
        for name, content in streams:
            assert ole.openstream(name).read() == content


# ---------------------------------------------------------------------------------------------- 6. ODS


def _check_ods(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype"
        assert first.compress_type == zipfile.ZIP_STORED
        assert first.extra == b""
        assert zf.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert {"content.xml", "META-INF/manifest.xml"} <= set(zf.namelist())
        assert "[Content_Types].xml" not in zf.namelist()
        ET.fromstring(zf.read("content.xml"))
        ET.fromstring(zf.read("META-INF/manifest.xml"))
    # The ODF convention that lets `file` recognise it: "mimetype" right after the 30-byte local header.
    assert path.read_bytes()[30:38] == b"mimetype"


def test_ods(tmp_path: Path) -> None:
    path = h.make_ods(tmp_path)
    assert path.name == "回答.ods"
    _check_ods(path)
    assert _calamine_values(path, ".ods", tmp_path)[0] == ["部署名", "総務課"]


def test_ods_named_xlsx(tmp_path: Path) -> None:
    path = h.make_ods_named_xlsx(tmp_path)
    assert path.suffix == ".xlsx"
    _check_ods(path)
    with pytest.raises(KeyError):
        openpyxl.load_workbook(path)


# ------------------------------------------------------------------------------------------- 7. Strict


def test_strict_ooxml_is_really_strict(tmp_path: Path, source: bytes) -> None:
    path = h.make_strict_ooxml(tmp_path, source)
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n).decode("utf-8") for n in zf.namelist()}
    every = "".join(parts.values())
    assert "http://schemas.openxmlformats.org/spreadsheetml/2006/main" not in every
    assert "http://schemas.openxmlformats.org/officeDocument/2006/" not in every
    assert "http://schemas.openxmlformats.org/drawingml/2006/main" not in every
    assert 'xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"' in parts["xl/workbook.xml"]
    assert 'conformance="strict"' in parts["xl/workbook.xml"]
    assert "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" in parts["_rels/.rels"]
    assert (
        "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties" in parts["_rels/.rels"]
    )
    assert "http://purl.oclc.org/ooxml/drawingml/main" in parts["xl/theme/theme1.xml"]
    # Package-level URIs are the same in Strict and must survive.
    assert "http://schemas.openxmlformats.org/package/2006/relationships" in parts["_rels/.rels"]
    for text in parts.values():
        ET.fromstring(text.encode("utf-8"))
    # The known silent failure: openpyxl finds no sheets (or fails), calamine still reads the values.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sheetnames = openpyxl.load_workbook(path).sheetnames
    except Exception:
        sheetnames = []
    assert sheetnames == []
    assert _calamine_values(path, ".xlsx", tmp_path)[1] == ["部署名", "総務課"]


# ---------------------------------------------------------------------------------------------- 8. bombs


def _inflate_entry(path: Path, name: str) -> tuple[int, bytes, bytes]:
    """Inflate one entry through zipfile (which checks the CRC at the end): size, first and last bytes."""
    total, head, tail = 0, b"", b""
    with zipfile.ZipFile(path) as zf, zf.open(name) as f:
        while block := f.read(16 * MIB):
            if not head:
                head = block[:4096]
            tail = (tail + block)[-4096:]
            total += len(block)
    return total, head, tail


def test_small_zip_bomb_is_a_valid_workbook(tmp_path: Path) -> None:
    path = h.make_zip_bomb(tmp_path, gib=1 / 512)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size == GIB // 512
        assert zf.testzip() is None  # CRCs of every entry are right
        xml = zf.read(info)
    assert len(xml) == GIB // 512
    root = ET.fromstring(xml)
    rows = root.find("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheetData")
    assert rows is not None and len(rows) == 9 and all(len(r) == 16384 for r in list(rows)[1:])
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb["回答"]["A1"].value == "回答"


@pytest.mark.parametrize("content", ["rows", "whitespace"])
def test_zip_bomb_forced_zip64_and_whitespace_variant(tmp_path: Path, content: str) -> None:
    path = h.make_zip_bomb(tmp_path / f"{content}.xlsx", gib=0.01, content=content, zip64=True)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        assert info.extra[:2] == b"\x01\x00"  # ZIP64 extended information
        assert info.file_size == int(0.01 * GIB)
        assert zf.read(info).endswith(b"</sheetData></worksheet>")


@pytest.fixture(scope="module")
def bomb_3gib(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    start = time.perf_counter()
    path = h.make_zip_bomb(tmp_path_factory.mktemp("bomb"), gib=3)
    return path, time.perf_counter() - start


@pytest.mark.slow
def test_zip_bomb_declares_3_gib_in_a_few_mb(bomb_3gib: tuple[Path, float]) -> None:
    path, seconds = bomb_3gib
    assert seconds < 60, f"3 GiB bomb took {seconds:.1f} s to build"
    with zipfile.ZipFile(path) as zf:
        declared = sum(i.file_size for i in zf.infolist())
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    assert declared > 2 * GIB
    assert info.file_size == 3 * GIB
    assert path.stat().st_size < 10 * MIB
    assert info.file_size / info.compress_size > 400


@pytest.mark.slow
def test_zip_bomb_really_inflates_to_3_gib_with_matching_crc(bomb_3gib: tuple[Path, float]) -> None:
    path, _ = bomb_3gib
    total, head, tail = _inflate_entry(path, "xl/worksheets/sheet1.xml")  # BadZipFile if the CRC were wrong
    assert total == 3 * GIB
    assert head.startswith(b'<?xml version="1.0"')
    assert b'<sheetData><row r="1">' in head
    assert tail.endswith(b"</sheetData></worksheet>")
    padding = tail[: -len(b"</sheetData></worksheet>")]
    assert padding.rstrip(b" ").endswith(b"</row>") or not padding.strip(b" ")  # blanks pad to exact size


@pytest.mark.slow
def test_zip_bomb_over_4_gib_uses_zip64(tmp_path: Path) -> None:
    path = h.make_zip_bomb(tmp_path, gib=4.5)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size == int(4.5 * GIB) > 0xFFFFFFFF
        assert info.extra[:2] == b"\x01\x00"
        with zf.open(info) as f:
            assert f.read(MIB).startswith(b'<?xml version="1.0"')
    assert path.stat().st_size < 16 * MIB


@pytest.mark.slow
def test_shared_string_bomb(tmp_path: Path) -> None:
    path = h.make_shared_string_bomb(tmp_path, gib=1)
    assert path.stat().st_size < 2 * MIB
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("xl/sharedStrings.xml").file_size == GIB
        sheet = zf.read("xl/worksheets/sheet1.xml")
    assert b'<c r="A1" t="s"><v>0</v></c>' in sheet
    total, head, tail = _inflate_entry(path, "xl/sharedStrings.xml")
    assert total == GIB
    assert head.endswith(b"A" * 100) and b'uniqueCount="1"><si><t>AAAA' in head
    assert tail.endswith(b"A</t></si></sst>")


def test_small_shared_string_bomb_loads(tmp_path: Path) -> None:
    path = h.make_shared_string_bomb(tmp_path, gib=1 / 1024)
    value = openpyxl.load_workbook(path)["回答"]["A1"].value
    assert len(value) > MIB - 200 and set(value) == {"A"}


@pytest.mark.parametrize("where", ["both", "central"])
def test_lying_sizes(tmp_path: Path, source: bytes, where: str) -> None:
    original = len(zipfile.ZipFile(io.BytesIO(source)).read("xl/worksheets/sheet1.xml"))
    path = h.make_lying_sizes(tmp_path / f"{where}.xlsx", source, inflated_mib=8, where=where)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size == original  # the directory's claim
        assert sum(i.file_size for i in zf.infolist()) < 64 * 1024
        with pytest.raises(zipfile.BadZipFile):
            zf.read(info)  # zipfile stops at the declared size, then the CRC does not match
        assert zf.read("xl/workbook.xml")  # the other parts are intact
    raw = path.read_bytes()
    offset = info.header_offset
    (local_size,) = struct.unpack_from("<I", raw, offset + 22)
    assert local_size == (original if where == "both" else 8 * MIB)
    name_len, extra_len = struct.unpack_from("<HH", raw, offset + 26)
    start = offset + 30 + name_len + extra_len
    real = zlib.decompress(raw[start : start + info.compress_size], -15)
    assert len(real) == 8 * MIB
    assert zlib.crc32(real) == info.CRC
    ET.fromstring(real)  # still well-formed XML once fully inflated


def test_far_offset_places_one_part_past_any_seek(tmp_path: Path, source: bytes) -> None:
    path = h.make_far_offset(tmp_path / "far.xlsx", source)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf:  # the directory itself reads
        info = zf.getinfo("xl/workbook.xml")
        assert info.header_offset == 2**64 - 2
        with pytest.raises(OverflowError):  # seeking in memory (a file on disk: ValueError)
            zf.read(info)
        assert zf.read("[Content_Types].xml")  # the other parts are intact


def test_dimension_bomb(tmp_path: Path) -> None:
    path = h.make_dimension_bomb(tmp_path)
    assert path.stat().st_size < 10_000
    with zipfile.ZipFile(path) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:XFD1048576"/>' in sheet
    assert re.findall(r'<c r="([A-Z]+\d+)"', sheet) == ["A1", "XFD1048576"]
    ws = openpyxl.load_workbook(path, read_only=True)["回答"]
    assert (ws.max_row, ws.max_column) == (1048576, 16384)  # never iterate it


def test_stretched_name(tmp_path: Path, source: bytes) -> None:
    path = h.make_stretched_name(tmp_path, source)
    assert path.stat().st_size < 10_000
    wb = openpyxl.load_workbook(path)
    assert wb.defined_names["DX_Q2"].attr_text == "'回答'!$A$2:$B$1048576"
    assert wb["回答"]["B2"].value == "総務課"  # the values are untouched


def test_stretched_name_keeps_the_start_of_an_existing_name(tmp_path: Path) -> None:
    named = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active.title = "課題抽出シート"
    wb.defined_names["DX_Q2"] = DefinedName("DX_Q2", attr_text="'課題抽出シート'!$B$30:$E$59")
    wb.save(named)
    path = h.make_stretched_name(tmp_path, named.getvalue())
    assert (
        openpyxl.load_workbook(path).defined_names["DX_Q2"].attr_text == "'課題抽出シート'!$B$30:$E$1048576"
    )


# ------------------------------------------------------------------------------------------- 10. XML


def test_billion_laughs(tmp_path: Path, source: bytes) -> None:
    path = h.make_billion_laughs(tmp_path, source)
    with zipfile.ZipFile(path) as zf:
        sst = zf.read("xl/sharedStrings.xml")
        assert zf.read("xl/workbook.xml") == zipfile.ZipFile(io.BytesIO(source)).read("xl/workbook.xml")
    text = sst.decode()
    assert text.index("<!DOCTYPE sst [") < text.index("<sst ")
    entities = dict(re.findall(r'<!ENTITY (\w+) "([^"]*)">', text))
    assert len(entities) == 10 and "<t>&lol9;</t>" in text

    sizes: dict[str, int] = {}  # expanded length of each entity, computed bottom-up (never expanded!)
    for name, body in entities.items():
        refs = re.findall(r"&(\w+);", body)
        sizes[name] = len(re.sub(r"&\w+;", "", body)) + sum(sizes[r] for r in refs)
    assert sizes["lol9"] == 3 * 10**9
    assert len(sst) < 2000
    with pytest.raises(defusedxml.common.EntitiesForbidden):
        defusedxml.ElementTree.fromstring(sst)
    import pyexpat

    if pyexpat.version_info >= (2, 4, 0):  # older expat has no amplification limit: do not try it there
        with pytest.raises(ET.ParseError, match="amplification"):
            ET.fromstring(sst)
    with pytest.raises(ValueError):
        openpyxl.load_workbook(path)  # openpyxl uses defusedxml when installed


def test_external_entity(tmp_path: Path, source: bytes) -> None:
    path = h.make_external_entity(tmp_path, source)
    sst = zipfile.ZipFile(path).read("xl/sharedStrings.xml")
    assert b'<!ENTITY xxe SYSTEM "file:///etc/passwd">' in sst
    assert b"<t>&xxe;</t>" in sst
    with pytest.raises(defusedxml.common.EntitiesForbidden):
        defusedxml.ElementTree.fromstring(sst)
    try:
        parsed = ET.tostring(ET.fromstring(sst))
    except ET.ParseError:
        parsed = b""
    assert b"root:" not in parsed


# ------------------------------------------------------------------------------------------ 11. mail


WHEN = dt.datetime(2025, 4, 10, 17, 45, tzinfo=h.JST)


def _parse(path: Path) -> email.message.EmailMessage:
    raw = path.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout, as on the wire
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998  # the RFC 5322 hard limit
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    assert not msg.defects
    return msg


@pytest.mark.parametrize("style", ["rfc2231", "rfc2047"])
def test_eml_with_japanese_attachments(tmp_path: Path, source: bytes, style: str) -> None:
    long_name = "【総務課】DX推進アンケート回答_令和7年度_最終版.xlsx"
    path = h.make_eml(tmp_path, [(long_name, source), ("回答.xlsx", source)], WHEN, filename_style=style)
    assert path.name == "回答.eml"
    raw = path.read_text("ascii")
    if style == "rfc2231":
        assert "filename*0*=UTF-8''%E3%80%90" in raw
        assert "filename*=UTF-8''%E5%9B%9E%E7%AD%94.xlsx" in raw
    else:
        assert 'filename="=?UTF-8?B?' in raw
    msg = _parse(path)
    assert msg["Subject"] == "【回答】DX推進アンケート（総務課）"
    assert msg["Date"].datetime == WHEN
    assert msg["From"].addresses[0].display_name == "総務課 山田 太郎"
    assert "総務課の山田です" in msg.get_body(("plain",)).get_content()
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == [long_name, "回答.xlsx"]
    assert all(a.get_content_type() == h.MIME_XLSX for a in attachments)
    assert all(a.get_content() == source for a in attachments)


def test_eml_without_attachment(tmp_path: Path) -> None:
    msg = _parse(h.make_eml(tmp_path / "forgot.eml", [], dt.datetime(2025, 4, 10, 9, 0)))
    assert not msg.is_multipart()
    assert list(msg.iter_attachments()) == []
    assert msg["Date"].datetime == dt.datetime(2025, 4, 10, 9, 0, tzinfo=h.JST)  # naive = JST
    assert "（添付なし）" in msg.get_content()


def test_eml_with_hostile_attachments(tmp_path: Path) -> None:
    lock = h.make_excel_owner_file(tmp_path).read_bytes()
    bomb = h.make_zip_bomb(tmp_path / "bomb.xlsx", gib=1 / 256).read_bytes()
    path = h.make_eml(tmp_path / "hostile.eml", [("~$回答.xlsx", lock), ("回答.xlsx", bomb)], WHEN)
    attachments = list(_parse(path).iter_attachments())
    assert [(a.get_filename(), a.get_content()) for a in attachments] == [
        ("~$回答.xlsx", lock),
        ("回答.xlsx", bomb),
    ]
    with zipfile.ZipFile(io.BytesIO(attachments[1].get_content())) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size == GIB // 256


# ---------------------------------------------------------------------------------------- 12. macros


def test_macro_xlsm(tmp_path: Path, source: bytes) -> None:
    path = h.make_macro_xlsm(tmp_path, source)
    assert path.name == "回答.xlsm"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        types = zf.read("[Content_Types].xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        vba = zf.read("xl/vbaProject.bin")
    assert (
        'PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"'
        in types
    )
    assert h.CT_XLSX_MAIN not in types
    assert 'Extension="bin" ContentType="application/vnd.ms-office.vbaProject"' in types
    assert (
        'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"'
        in rels
    )
    assert len(set(re.findall(r'Id="([^"]+)"', rels))) == rels.count("<Relationship ")
    assert len(vba) == 2048 and vba[:8] != h.OLE2_MAGIC
    for keep_vba in (False, True):
        wb = openpyxl.load_workbook(path, keep_vba=keep_vba)
        assert wb["回答"]["B2"].value == "総務課"
        if wb.vba_archive is not None:
            # openpyxl keeps the macros in an in-memory zip it never closes; left to the garbage collector,
            # it is finalised after its buffer and warns (PytestUnraisableExceptionWarning) in a later test.
            wb.vba_archive.close()


# -------------------------------------------------------------------------------- 13. still being copied


def test_half_written_then_aged_then_finished(tmp_path: Path, source: bytes) -> None:
    path = h.make_half_written(tmp_path, source)
    assert abs(path.stat().st_mtime - time.time()) < 5
    assert path.stat().st_size == len(source) // 2
    _not_a_zip(path)
    assert h.age(path, 600) == path
    assert 595 < time.time() - path.stat().st_mtime < 605
    assert abs(os.stat(path).st_atime - path.stat().st_mtime) < 1
    h.finish_writing(path, source)
    assert path.read_bytes() == source
    assert abs(path.stat().st_mtime - time.time()) < 5
    assert openpyxl.load_workbook(path)["回答"]["B2"].value == "総務課"


# ------------------------------------------------------------------------------------------- corpus


def test_build_corpus_writes_every_small_file(tmp_path: Path, source: bytes) -> None:
    corpus = h.build_corpus(tmp_path, source)
    assert len(corpus) == len(set(corpus.values())) >= 28
    assert all(p.exists() and p.parent == tmp_path for p in corpus.values())
    assert corpus["valid"].read_bytes() == source
    assert {p.name for p in tmp_path.iterdir()} == {p.name for p in corpus.values()}
