"""Text from returned files is normalised before it is checked or written anywhere."""

from __future__ import annotations

import unicodedata

import pytest

from dxsheets.text import clean, excel_text, quote, shown


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),  # half-width katakana
        ("内線１２３４", "内線1234"),  # full-width digits
        ("  前後の空白　", "前後の空白"),
        ("行1\r\n行2\r行3", "行1\n行2\n行3"),
        ("ベル\x07と\x00NUL", "ベルとNUL"),
        ("ゼロ幅\u200bスペース\ufeff", "ゼロ幅スペース"),
        ("孤立\ud800サロゲート", "孤立サロゲート"),
        ("非文字\ufffe", "非文字"),
        ("家族👨\u200d👩\u200d👧", "家族👨\u200d👩\u200d👧"),  # ZWJ sequences survive
        ("外字\ue000", "外字\ue000"),  # private use (外字) is content
        ("タブ\tも改行\nも", "タブ\tも改行\nも"),
    ],
)
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_removes_every_control_format_and_surrogate_character() -> None:
    for cp in range(0x110000):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in "\n\r\t\u200d":  # CR becomes LF
            assert clean(f"a{ch}b") == "ab", hex(cp)


def test_excel_text_cuts_to_excels_limit_with_a_notice() -> None:
    text, cut = excel_text("あ" * 40_000)
    assert cut and len(text) == 32_767 and text.endswith("（以下省略）")
    assert excel_text("短い") == ("短い", False)


def test_shown_keeps_a_name_on_one_line_and_shows_what_would_disguise_it() -> None:
    # A newline in a Linux file name; the right-to-left override that shows "回答\u202exslx.exe" as
    # "回答exe.xlsx"; a C1 control; a non-character. Emoji with their joiner stay as they are.
    assert shown("回答\u202exslx.exe") == "回答\\u202exslx.exe"
    assert shown("a\nb\tc\r\x85\ufffe") == "a\\nb\\tc\\x0d\\x85\\ufffe"
    assert shown("回答😀\u200d👍.xlsx") == "回答😀\u200d👍.xlsx"


def test_quote_puts_outside_text_on_one_short_line() -> None:
    assert quote("回答\x1b[2J\r\n.xlsx", 60) == "回答[2J .xlsx"
    assert quote("9" * 32_000, 40) == "9" * 40 + "…"
    assert quote("0101", 40) == "0101"
