"""Files/s of dxsheets.xlsxread.read_workbook against the bare-unzip floor and openpyxl.

Run: python benchmarks/read_floor.py [--files 300] [--rounds 3]

Builds small filled-form workbooks in memory with xlsxwriter (~200 cells of Japanese text and numbers,
two sheets, a defined name), then times each reader over all of them. The best of several rounds is
reported, timed in CPU seconds (process_time) because the machine is shared; compare ratios.
"""

from __future__ import annotations

import argparse
import io
import random
import time
import warnings
import zipfile
from collections.abc import Callable

import defusedxml.ElementTree
import openpyxl
import xlsxwriter

from dxsheets import xlsxread


def make_form(seed: int) -> bytes:
    """One small survey return: 40 rows x 5 columns, text-heavy, plus a settings sheet."""
    rnd = random.Random(seed)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("課題抽出シート")
    for row in range(40):
        ws.write_string(row, 0, f"項目{row} 担当課の業務内容について")
        ws.write_string(row, 1, "はい" if rnd.random() < 0.5 else "いいえ")
        ws.write_number(row, 2, rnd.randint(0, 1000))
        ws.write_string(row, 3, f"備考：{rnd.randint(0, 99999)} 件の申請を処理しています")
        ws.write_number(row, 4, rnd.random() * 100)
    wb.define_name("回答範囲", "='課題抽出シート'!$B$1:$E$40")
    wb.add_worksheet("設定").write_string(0, 0, "x")
    wb.close()
    return buf.getvalue()


def floor(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            zf.read(info)


def with_openpyxl(data: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        for _row in ws.iter_rows(values_only=True):
            pass


def with_defusedxml(data: bytes) -> None:
    """read_workbook as it would run if every tree parse went through defusedxml (pure-Python callbacks)."""
    original = xlsxread._c_fromstring
    xlsxread._c_fromstring = lambda text: defusedxml.ElementTree.fromstring(text, forbid_dtd=True)
    try:
        xlsxread.read_workbook(data)
    finally:
        xlsxread._c_fromstring = original


def best_rate(fn: Callable[[bytes], object], files: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for data in files:
            fn(data)
        best = min(best, time.process_time() - start)
    return len(files) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = [make_form(i) for i in range(args.files)]
    warnings.simplefilter("ignore")
    rates = {
        "floor (unzip, inflate every part)": best_rate(floor, files, args.rounds),
        "xlsxread.read_workbook": best_rate(xlsxread.read_workbook, files, args.rounds),
        "same, parsing with defusedxml": best_rate(with_defusedxml, files, args.rounds),
        "openpyxl.load_workbook + iter_rows": best_rate(with_openpyxl, files, 1),
    }
    for name, rate in rates.items():
        print(f"{name:40s} {rate:8.0f} files/s")
    ours = rates["xlsxread.read_workbook"]
    print(f"floor / ours = {rates['floor (unzip, inflate every part)'] / ours:.2f}x slower than the floor")
    print(f"ours / openpyxl = {ours / rates['openpyxl.load_workbook + iter_rows']:.1f}x faster than openpyxl")


if __name__ == "__main__":
    main()
