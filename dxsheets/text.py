"""Cleaning text that came from outside: normalise before checking, and before writing it anywhere."""

from __future__ import annotations

import re
import unicodedata

EXCEL_MAX_TEXT = 32_767

# Control (Cc), format (Cf) and surrogate (Cs) characters and the non-characters U+FFFE/U+FFFF, as of
# Unicode 15.1 (Python 3.13; 3.11 knows Unicode 14, which lacks the format controls U+13439-U+1343F),
# except newline, tab and ZWJ (which holds emoji sequences together). A fixed table, so a return reads the
# same whichever Python reads it. A lone surrogate or U+FFFE is accepted by writers and then makes the
# written file unreadable. Regenerate with the newest Python when `tests/test_text.py` says one is missing:
# [c for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs")].
_UNWANTED = re.compile(
    "[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\xad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2"
    "\\u180e\\u200b-\\u200c\\u200e-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ud800-\\udfff"
    "\\ufeff\\ufff9-\\ufffb\\ufffe-\\uffff\\U000110bd\\U000110cd\\U00013430-\\U0001343f"
    "\\U0001bca0-\\U0001bca3\\U0001d173-\\U0001d17a\\U000e0001\\U000e0020-\\U000e007f]"
)


def clean(text: str) -> str:
    """NFKC (half-width katakana, full-width digits), CRLF to LF, no control/format/surrogate characters, trimmed.

    Private-use characters (外字) are kept: they are content, and Excel stores them.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _UNWANTED.sub("", text).strip()


def quote(text: str, limit: int) -> str:
    """`text` as a message quotes it: cleaned, on one line, and cut to `limit` characters ("…" said so).
    What came from outside (a name's text, a file name inside a zip, a hidden cell overwritten with 32,000
    characters) may hold line breaks and control characters, and be of any length."""
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def excel_text(text: str, limit: int = EXCEL_MAX_TEXT) -> tuple[str, bool]:
    """Text fit for one Excel cell: cleaned and cut to Excel's limit. Returns (text, was_cut)."""
    text = clean(text)
    if len(text) <= limit:
        return text, False
    notice = "…（以下省略）"
    return text[: limit - len(notice)] + notice, True


def shown(text: str) -> str:
    """`text` on one line of terminal output, as it is, with nothing in it the terminal would act on:
    control, format and surrogate characters (a newline in a Linux file name; the bidirectional override
    that shows 「回答\u202exslx.exe」 as 「回答exe.xlsx」) as escapes."""
    return _UNWANTED.sub(_escape, text.replace("\t", "\\t").replace("\n", "\\n"))


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}"
