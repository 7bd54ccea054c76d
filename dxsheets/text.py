"""Cleaning text that came from outside: normalise before checking, and before writing it anywhere."""

from __future__ import annotations

import unicodedata

EXCEL_MAX_TEXT = 32_767
_KEEP = {"\n", "\t", "\u200d"}  # newlines and tabs are content; ZWJ holds emoji sequences together


def clean(text: str) -> str:
    """NFKC (half-width katakana, full-width digits), CRLF to LF, no control/format/surrogate characters, trimmed.

    Private-use characters (外字) are kept: they are content, and Excel stores them.

    A lone surrogate or U+FFFE is accepted by writers and then makes the written file unreadable, so they go.
    """
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    out = []
    for ch in text:
        if ch in _KEEP:
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Cf") or ch in ("\ufffe", "\uffff"):
            continue
        out.append(ch)
    return "".join(out).strip()


def excel_text(text: str, limit: int = EXCEL_MAX_TEXT) -> tuple[str, bool]:
    """Text fit for one Excel cell: cleaned and cut to Excel's limit. Returns (text, was_cut)."""
    text = clean(text)
    if len(text) <= limit:
        return text, False
    notice = "…（以下省略）"
    return text[: limit - len(notice)] + notice, True
