"""A night the DX office summarises, shared by the summary's and the hypothesis workbooks' tests.

Three departments answer (one with formula-looking 業務名 and unclassified rows, one with a 業務名 in 設問3
that 設問2 lacks), one needs fixing, the rest are silent; collect fills the ledger.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
from promoter import Fill, drop, returned

from dxsheets.collect import collect
from dxsheets.domain import Department, Masters
from dxsheets.generate import generate_forms
from dxsheets.workspace import Workspace, init_workspace

INJECTIONS = ("=1+1", "+SUM(A1)", "-2", "@cmd")


def _with_raw_text(data: bytes, replacements: dict[str, str]) -> bytes:
    """Replace placeholder cell values with text that openpyxl would otherwise store as a formula."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value in replacements:
                    cell.value = replacements[cell.value]
                    cell.data_type = "s"  # keep it a string, as a promoter's typed-as-text value would be
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclass
class Scenario:
    ws: Workspace
    masters: Masters
    depts: list[Department]
    answered: list[Department]
    fixing: Department
    fills: dict[str, Fill]


def build_scenario(root: Path) -> Scenario:
    """3 answered (one with formula-looking 業務名 and unclassified rows), 1 needs fixing, the rest silent."""
    ws, _ = init_workspace(root)
    masters = ws.masters()
    generate_forms(masters, ws.secret(), ws.distribute)
    depts = sorted(masters.active_departments, key=lambda d: d.code)
    good = Fill()
    tricky = Fill(
        house={2: "○", 3: "○", 13: "○"},
        q2=[
            ("INJ0", "窓口で受付", "オンラインで受付", ""),
            ("INJ1", "紙で集計", "自動で集計", "窓口WG"),
            ("INJ2", "電話で予約", "ネットで予約", ""),
            ("INJ3", "手で転記", "RPAで転記", "BPR（RPA）推進WG"),
        ],
        q3=[("INJ1", "窓口の人員配置が決まっていない"), ("INJ1", "端末が足りない")],
    )
    third = Fill(
        house={1: "○"},
        q2=[("スマホ講座の受付", "電話で受付", "", "デジタルデバイド解消WG")],
        q3=[("スマホ講座の受付", "高齢の方が電話を望む"), ("別の業務", "設問2にない業務名")],  # -> a warning
    )
    answered = [depts[0], depts[7], depts[20]]
    fixing = depts[30]
    fills = {answered[0].code: good, answered[1].code: tricky, answered[2].code: third}
    for d in answered:
        data = returned(ws.distribute, d, fills[d.code])
        if fills[d.code] is tricky:
            data = _with_raw_text(data, {f"INJ{i}": s for i, s in enumerate(INJECTIONS)})
        drop(ws.inbox, f"{d.code}.xlsx", data)
    drop(ws.inbox, f"mail/{fixing.code}.xlsx", returned(ws.distribute, fixing, Fill(respondent="")))
    collect(ws, now=time.time(), settle=0)
    fills[answered[1].code] = replace(
        tricky,
        q2=[(INJECTIONS[int(r[0][3])], *r[1:]) for r in tricky.q2],
        q3=[(INJECTIONS[int(r[0][3])], *r[1:]) for r in tricky.q3],
    )
    return Scenario(ws, masters, depts, answered, fixing, fills)


def rows_of(ws: Any) -> list[dict[str, Any]]:
    """The data rows of a sheet whose header is row 1, as dicts (empty cells as "")."""
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    return [
        {h: ("" if v is None else v) for h, v in zip(header, r, strict=True)} for r in values[1:] if any(r)
    ]


def expected_issues(s: Scenario) -> list[tuple[str, ...]]:
    out = []
    for d in s.answered:
        for name, before, after, wg in s.fills[d.code].q2:
            out.append((d.bu, d.ka, name, before, after, wg or "未分類"))
    return out
