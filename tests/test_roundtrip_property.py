"""Property: whatever a promoter types survives generate -> fill -> collect -> summary, exactly once."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from promoter import Fill, drop, returned

from dxsheets.collect import collect
from dxsheets.consolidate import write_summary
from dxsheets.generate import generate_forms
from dxsheets.ledger import Ledger
from dxsheets.text import clean
from dxsheets.workspace import init_workspace

WG_NAMES = ["行政手続オンライン化WG", "窓口WG", "デジタルデバイド解消WG", None]
# Japanese, Latin, digits, formula-looking leads, emoji and half-width katakana: what promoters paste;
# and what NFKC or XML change: ① ㈱, full-width and zero-width spaces, tabs, CR, quotes and markup
# characters, half-width voiced kana, variant kanji and one outside the BMP (𠮷).
ALPHABET = st.sampled_from(
    list("あいうえお漢字業務申請窓口ｱｲｳｴｵABCxyz0123456789=+-@（）、。!?😀 \n")
    + list("①㈱\u3000\t\u200b々ー～〜\r\"'<>&ｶﾞﾊﾟ髙﨑\U00020bb7")
)
# A leading "=" is a formula when typed (the formula rules cover that); +, - and @ leads stay text.
TEXT = st.text(ALPHABET, min_size=1, max_size=60).filter(
    lambda s: clean(s) != "" and not clean(s).startswith("=")
)


@st.composite
def answers(draw: st.DrawFn) -> list[tuple[str, str, str, str | None]]:
    names = draw(st.lists(TEXT, min_size=1, max_size=4, unique_by=clean))
    return [(n, draw(TEXT), draw(TEXT), draw(st.sampled_from(WG_NAMES))) for n in names]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=answers())
def test_random_answers_reach_the_summary_exactly(rows: list[tuple[str, str, str, str | None]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws, _ = init_workspace(Path(tmp) / "ws")
        masters = ws.masters()
        generate_forms(masters, ws.secret(), ws.distribute, codes=["0101", "0402"])
        drop(ws.inbox, "a.xlsx", returned(ws.distribute, masters.department("0101"), Fill(q2=rows, q3=[])))
        drop(ws.inbox, "b.xlsx", returned(ws.distribute, masters.department("0402")))
        result = collect(ws, jobs=1)
        assert result.departments["0101"] == "answered"
        with Ledger(ws.ledger_path) as ledger:
            path = write_summary(ws, masters, ledger, datetime(2026, 11, 21, 9, 0))
        sheet = openpyxl.load_workbook(path)["課題一覧"]
        header = [c.value for c in sheet[1]]
        col = {h: header.index(h) for h in header}
        got = [
            (r[col["業務名"]], r[col["現在(Before)"]], r[col["デジタル化後(After)"]], r[col["関連WG"]])
            for r in sheet.iter_rows(min_row=2, values_only=True)
            if r[col["課"]] == "未来政策課"
        ]
        want = [(clean(n), clean(b), clean(a), wg or "未分類") for n, b, a, wg in rows]
        assert got == want
        for r in sheet.iter_rows(min_row=2):
            for c in r:
                assert c.data_type != "f", "text from a returned file is never a formula"
