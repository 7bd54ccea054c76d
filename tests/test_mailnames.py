"""Attachment names as Japanese mailers send them: the name in the ledger is the one the promoter gave."""

from __future__ import annotations

import email
import email.policy

import pytest
from japanese_mail import NAME, STYLES, mail_with
from promoter import drop, returned

from dxsheets.collect import collect
from dxsheets.mailnames import attachment_name, jis_to_cp932
from dxsheets.workspace import Workspace


def test_cp50221_rows_that_python_refuses_are_read() -> None:
    assert jis_to_cp932(b"\x1b$B-!\x1b(B").decode("cp932") == "①"
    assert jis_to_cp932(b"\x1b$B|b\x1b(B").decode("cp932") == "髙"  # NEC-selected IBM extension
    assert jis_to_cp932(b"a\x1b(I6E\x1b(Bz").decode("cp932") == "aｶﾅz"
    with pytest.raises(UnicodeDecodeError):
        b"\x1b$B-!\x1b(B".decode("iso2022_jp")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_attachment_names_come_out_as_the_promoter_typed_them(style: str) -> None:
    msg = email.message_from_bytes(mail_with(STYLES[style]), policy=email.policy.default)
    (part,) = msg.iter_attachments()
    assert attachment_name(part) == NAME


def test_a_mail_from_japanese_outlook_is_recorded_under_its_real_name(generated: Workspace) -> None:
    m = generated.masters()
    workbook = returned(generated.distribute, m.department("0401"))
    drop(generated.inbox, "mail/返信.eml", mail_with(STYLES["outlook-iso-2022-jp"], workbook))
    result = collect(generated)
    assert result.departments["0401"] == "answered"
    assert f"mail/返信.eml/{NAME}" in result.new
