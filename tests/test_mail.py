"""Opening saved mails: what the limits let through and what they refuse, how many directory entries
opening one lists, and how attachments are named."""

from __future__ import annotations

import base64
import email.policy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hostile
import pytest
from japanese_mail import STYLES, mail_with

from dxsheets import mail
from dxsheets.intake import open_mails, scan
from dxsheets.xlsxread import Limits

SENT = datetime(2026, 11, 20, 9, 0)


def long_japanese_name_headers(index: int) -> tuple[str, str]:
    """An attachment's headers as mailers write a long Japanese name: RFC 2231 pieces in
    Content-Disposition, with Outlook's size and dates, and encoded words in Content-Type."""
    name = f"令和8年度_DX推進_課題抽出シート_市民生活部_第{index}課_回答_最終版_修正済み.xlsx"
    pieces = [quote(name[i : i + 6].encode()) for i in range(0, len(name), 6)]  # whole characters each
    charset = ["UTF-8''"] + [""] * len(pieces)
    disposition = "attachment;" + ";".join(
        f"\r\n filename*{i}*={charset[i]}{piece}" for i, piece in enumerate(pieces)
    )
    disposition += ';\r\n size=123456; creation-date="Fri, 20 Nov 2026 09:00:00 GMT"'
    words = base64.b64encode(name.encode()).decode()
    return f'{hostile.MIME_XLSX};\r\n name="=?UTF-8?B?{words}?="', disposition


def test_a_mail_of_sixty_returns_with_long_japanese_names_is_read() -> None:
    raw = hostile.eml_with_headers([long_japanese_name_headers(i) for i in range(60)])
    found = mail.contents(raw, datetime.now(UTC))
    assert found is not None
    names = [a.name for a in found]
    assert (
        len(names) == 60
        and names[59] == "令和8年度_DX推進_課題抽出シート_市民生活部_第59課_回答_最終版_修正済み.xlsx"
    )


@pytest.mark.parametrize(
    ("content_type", "disposition"),
    [
        (hostile.MIME_XLSX, 'attachment; filename="' + "=?UTF-8?B?5Zue562U?= " * 300 + '"'),  # 6 KB
        (hostile.MIME_XLSX + ";" + ";".join(f" p{i}=v" for i in range(65)), "attachment"),
        ("application/octet-stream (" + "(" * 5000 + ")" * 5000 + ")", "attachment"),  # nested comments
    ],
    ids=["long", "parameters", "comments"],
)
def test_a_header_longer_than_any_mailer_writes_refuses_the_mail(content_type: str, disposition: str) -> None:
    raw = hostile.eml_with_headers([(content_type, disposition)])
    with pytest.raises(mail.HeaderTooLarge):
        list(mail.contents(raw, datetime.now(UTC)) or [])


def test_headers_each_within_limits_but_too_many_together_refuse_the_mail() -> None:
    params = ";".join(f" p{i}=v" for i in range(60))
    raw = hostile.eml_with_headers([(f"{hostile.MIME_XLSX};{params}", "attachment")] * 17)  # 1,020
    with pytest.raises(mail.HeaderTooLarge):
        list(mail.contents(raw, datetime.now(UTC)) or [])
    within = hostile.eml_with_headers([(f"{hostile.MIME_XLSX};{params}", "attachment")] * 16)  # 960
    assert len(list(mail.contents(within, datetime.now(UTC)) or [])) == 16


def walk_mail_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opener: tuple[Any, str], files: list
) -> tuple[list, int]:
    """Walk an inbox holding one mail of `files`, counting the calls of `opener` (module, name) made:
    (the arrivals, the calls)."""
    module, name = opener
    inbox = tmp_path / "inbox"
    hostile.age(hostile.make_eml(inbox / "添付多数.eml", files, SENT), 3600)
    calls = []
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return list(open_mails(scan(inbox, Limits()))), len(calls)


def test_a_mail_of_many_compound_files_opens_only_so_many_in_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telling an OLE2 attachment's format opens it, with the mail: 2,048 entries a mail, then the rest
    are taken in unopened (as possible legacy workbooks), each as a file of its own that costs only itself."""
    import olefile

    document = hostile._ole2_bytes([(f"s{i:04d}", b"x") for i in range(900)])  # ~900 entries each
    files = [(f"文書{i}.doc", document) for i in range(6)]
    arrivals, opened = walk_mail_of(tmp_path, monkeypatch, (olefile, "OleFileIO"), files)
    assert opened == 2  # 1,800 entries; the third would pass 2,048
    assert [a.path for a in arrivals] == [f"添付多数.eml/文書{i}.doc" for i in range(2, 6)]


def test_a_mail_of_many_zips_lists_only_so_many_entries_in_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    files = [(f"回答{i}.zip", hostile.zip_of_many_entries(500)) for i in range(25)]
    arrivals, listed = walk_mail_of(tmp_path, monkeypatch, (zipfile, "ZipFile"), files)
    assert listed == 20  # 10,000 entries; the 21st would pass them
    assert len(arrivals) == 25  # each a possible return, told apart by the workers


def test_a_mail_of_more_lines_than_a_large_return_has_is_refused_before_parsing() -> None:
    base64_lines = "UEsDBBQAAAAIAJmQd1vXU0FmqwAAABgBAAAQAAAAZG9jUHJvcHMvYXBwLnhtbI2QwQrCMAyG7z5F6X3\r\n"
    carried = hostile.eml_with_headers([(hostile.MIME_XLSX, "attachment; filename=回答.xlsx")])
    large = carried.replace(b"UEsDBA==", (base64_lines * 300_000).encode())  # a 17 MB workbook
    found = mail.contents(large, datetime.now(UTC))
    assert found is not None and [a.name for a in found] == ["回答.xlsx"]
    with pytest.raises(mail.TooManyLines):
        mail.contents(carried.replace(b"UEsDBA==", b"a\r\n" * 600_001), datetime.now(UTC))


def test_an_attachment_named_at_great_length_is_recorded_under_a_file_names_length(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    long_name = "回答" * 3000 + ".xlsx"
    mail_file = hostile.make_outlook_msg(
        inbox / "長い名前.msg",
        mail=hostile.MsgMail(
            "回答", SENT.replace(tzinfo=UTC), [(long_name, b"PK\x03\x04"), ("回答" * 3000 + ".pdf", b"%PDF")]
        ),
    )
    hostile.age(mail_file, 3600)
    (arrival,) = open_mails(scan(inbox, Limits()))
    name = arrival.path.split("/", 1)[1]
    assert len(name) == 255 and name.startswith("回答回答") and name.endswith("….xlsx")


def test_an_attachment_whose_name_the_header_parser_chokes_on_leaves_the_others_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python's header parser can raise on a damaged header (its own bugs included): that attachment is
    listed without a name, and the workbook beside it is read, rather than the whole mail refused."""
    real = mail.attachment_name

    def chokes(part: Any) -> str | None:
        if "壊れ" in str(part.get("Content-Disposition", "")):
            raise IndexError("list index out of range")  # as the parser's crashers do
        return real(part)

    monkeypatch.setattr(mail, "attachment_name", chokes)
    raw = hostile.eml_with_headers(
        [
            (hostile.MIME_XLSX, "attachment; filename=壊れ.xlsx"),
            (hostile.MIME_XLSX, "attachment; filename=回答.xlsx"),
        ]
    )
    found = mail.contents(raw, datetime.now(UTC))
    assert found is not None
    assert [a.name for a in found] == [None, "回答.xlsx"]


def _mails_of_every_shape(tmp_path: Path) -> dict[str, bytes]:
    """Mails as the tests build them: Japanese names in each spelling mailers use, long RFC 2231 names,
    forwarded and signed mails, mails within mails, damaged headers."""
    book = hostile.valid_xlsx_bytes()
    when = datetime(2026, 11, 20, 9, 0, tzinfo=hostile.JST)
    out = {f"name-{style}": mail_with(header) for style, header in STYLES.items()}
    out["sixty-long-names"] = hostile.eml_with_headers([long_japanese_name_headers(i) for i in range(60)])
    for style in ("rfc2231", "rfc2047"):
        out[f"eml-{style}"] = hostile.make_eml(
            tmp_path / f"{style}.eml", [("回答_総務課.xlsx", book)], when, filename_style=style
        ).read_bytes()
    out["signed"] = hostile.make_signed_eml(tmp_path / "s.eml", [("回答.xlsx", book)], when).read_bytes()
    out["encrypted"] = hostile.make_encrypted_eml(tmp_path / "e.eml", when).read_bytes()
    out["attached-mails"] = hostile.make_eml_many_attached_mails(tmp_path, mails=5, parts=3).read_bytes()
    # Found by fuzzing: a NUL in an RFC 2231 charset makes Python's parser raise, whatever the policy.
    out["rfc2231-charset-nul"] = (
        b'From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BB"\r\n\r\n--BB\r\n'
        b"Content-Type: application/vnd.ms-excel; filename*=shift_\x00jis''%89%F1.xlsx\r\n\r\nUEsDBA==\r\n"
        b"--BB--\r\n"
    )
    out["no-date"] = hostile.eml_with_headers([(hostile.MIME_XLSX, "attachment; filename=a.xlsx")], date="")
    return out


def _read(raw: bytes) -> list[tuple[Any, ...]] | str:
    try:
        found = mail.contents(raw, SENT.replace(tzinfo=UTC))
        if found is None:
            return "not a mail"
        return [(a.name, a.mime, a.data, a.sent, a.level, a.link) for a in found]
    except Exception as exc:
        return type(exc).__name__


def test_headers_parsed_once_read_every_mail_as_pythons_own_policy_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mails = _mails_of_every_shape(tmp_path)
    ours = {key: _read(raw) for key, raw in mails.items()}
    monkeypatch.setattr(mail, "_policy", lambda: email.policy.default)
    assert ours == {key: _read(raw) for key, raw in mails.items()}
    assert ours["name-outlook-iso-2022-jp"][0][0] == "回答①_市民課_山﨑ｶﾅ.xlsx"  # type: ignore[index]
    assert ours["rfc2231-charset-nul"] == "ValueError"  # told as a mail that cannot be read
