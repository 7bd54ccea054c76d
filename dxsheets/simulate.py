"""Simulated returns for `dxsheets demo`: promoters filling the sheets through the defined names.

Deterministic (seeded). Most departments answer well; some make the mistakes real promoters make, some
send twice, some by mail, a few files are broken or hostile, and some departments do not answer at all.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import get_column_letter, quote_sheetname, range_boundaries

from . import forms as F
from .domain import Masters
from .generate import form_path
from .masters import DEPARTMENTS

# (業務名, Before, After, WG name or "" , gap or "") — realistic items of a city hall.
WORK_BANK: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "住民票の写し等の交付",
        "窓口で申請書を手書きし、職員が端末に入力して交付している",
        "オンライン申請とコンビニ交付で来庁不要にする",
        "行政手続オンライン化WG",
        "",
    ),
    (
        "転入・転出の届出",
        "複数の窓口で同じ内容を何度も記入してもらっている",
        "書かない窓口で申請書を自動作成する",
        "窓口WG",
        "",
    ),
    (
        "会議資料の配布",
        "紙に印刷して会議室で配布している",
        "タブレットで共有し印刷をなくす",
        "財務・文書システムWG",
        "",
    ),
    (
        "支出命令の決裁",
        "紙の伺書に押印をもらい回付している",
        "",
        "財務・文書システムWG",
        "電子決裁システムが会計規則に対応しておらず、押印の廃止に規則改正が必要",
    ),
    (
        "施設の予約受付",
        "電話と窓口で受け付け、台帳に手書きしている",
        "予約システムで24時間受付・キャッシュレス決済",
        "業務システム（予約システム）WG",
        "",
    ),
    (
        "訪問記録の作成",
        "訪問後に庁舎へ戻って記録を入力している",
        "モバイル端末で現場から入力して完結させる",
        "コアネットワーク（外で働く）WG",
        "",
    ),
    (
        "ケース会議の調整",
        "関係機関と電話・FAXで日程を調整している",
        "専門職間で情報共有ツールを使い調整する",
        "業務システム（健康・福祉）WG",
        "",
    ),
    (
        "統計データの集計",
        "各課から Excel を集めて手作業で集計している",
        "データを共通基盤に集め自動で集計・公開する",
        "官民データ活用WG",
        "",
    ),
    ("定型メールの送信", "毎月同じ内容を手作業で送っている", "RPA で自動送信する", "BPR（RPA）推進WG", ""),
    (
        "申請書の入力",
        "紙の申請書を職員が基幹システムに転記している",
        "AI-OCR と RPA で自動入力する",
        "BPR（RPA）推進WG",
        "",
    ),
    (
        "本人確認",
        "窓口で身分証を目視確認している",
        "マイナンバーカードの公的個人認証で確認する",
        "マイナンバーカード普及・活用WG",
        "",
    ),
    (
        "スマホ教室の開催",
        "公民館ごとに紙のチラシで募集している",
        "地域の支援者と連携し継続的に開催する",
        "デジタルデバイド解消WG",
        "",
    ),
    (
        "自治会への連絡",
        "回覧板で紙の文書を回している",
        "",
        "地域社会のDX推進WG",
        "高齢の役員が多く、デジタルでの連絡に不安がある",
    ),
    (
        "定例会議の運営",
        "毎週全員が会議室に集まっている",
        "目的を見直し、必要な会議だけをオンラインで行う",
        "ミライズ策定WG",
        "",
    ),
    (
        "庁内の打合せ",
        "自席と会議室を行き来している",
        "場所を選ばずに打合せできる環境にする",
        "ABW（新議会棟）WG",
        "",
    ),
    (
        "窓口の混雑対応",
        "繁忙期は長い待ち時間が発生している",
        "",
        "",
        "どの業務をオンライン化すれば混雑が減るか分析できていない",
    ),
)

RESPONDENTS = ("山田 太郎", "佐藤 花子", "鈴木 一郎", "ﾀﾅｶ ｼﾞﾛｳ", "高橋 美咲", "伊藤 健", "渡辺 恵")


def _names(wb: openpyxl.Workbook, name: str) -> tuple[Any, int, int, int, int]:
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    c1, r1, c2, r2 = range_boundaries(ref.replace("$", ""))
    return wb[sheet], r1, c1, r2, c2


def fill(blank: bytes, values: dict[str, Any]) -> bytes:
    """Fill a generated sheet through its defined names (as Power Query, an RPA robot or a macro would).

    `values` maps a name to a value; for DX_HOUSE / DX_Q2 / DX_Q3 to a list of rows (lists of cell values).

    Raises:
        IndexError: when a value falls outside its name's range (the sheet has no such input).
    """
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    for name, value in values.items():
        ws, r1, c1, r2, c2 = _names(wb, name)
        rows = value if name in (F.N_HOUSE, F.N_Q2, F.N_Q3) else [[value]]
        if len(rows) > r2 - r1 + 1 or any(len(row) > c2 - c1 + 1 for row in rows):
            raise IndexError(f"{name} has {r2 - r1 + 1} x {c2 - c1 + 1} cells; {len(rows)} rows given")
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                cell = ws.cell(r1 + i, c1 + j)
                cell.value = v
                if isinstance(v, date):
                    cell.number_format = "yyyy/mm/dd"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def insert_rows(blank: bytes, name: str, at: int, rows: list[list[Any]]) -> bytes:
    """Insert ``len(rows)`` rows at row offset `at` of table `name` and type `rows` into them, as a promoter
    does in Excel: the names and merged cells below move down; the table's name grows when the rows go
    inside it (0 < at < its height), not when they go under its last row (at = its height).
    """
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    ws, r1, c1, _, _ = _names(wb, name)
    row, count = r1 + at, len(rows)
    merged = [m for m in ws.merged_cells.ranges if m.min_row >= row]
    for m in merged:  # openpyxl moves the cells but not the merges: Excel moves both
        ws.merged_cells.remove(m)
    ws.insert_rows(row, count)
    for m in merged:
        m.shift(0, count)
        ws.merged_cells.add(m)
    for defined in wb.defined_names.values():
        destinations = list(defined.destinations)
        if len(destinations) != 1 or destinations[0][0] != ws.title:
            continue
        left, top, right, bottom = range_boundaries(destinations[0][1].replace("$", ""))
        top, bottom = (top + count if top >= row else top), (bottom + count if bottom >= row else bottom)
        area = f"${get_column_letter(left)}${top}"
        if (top, left) != (bottom, right):
            area += f":${get_column_letter(right)}${bottom}"
        defined.attr_text = f"{quote_sheetname(ws.title)}!{area}"
    for i, values in enumerate(rows):
        for j, v in enumerate(values):
            ws.cell(row + i, c1 + j).value = v
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class Planned:
    path: str  # relative to the inbox
    data: bytes
    age_hours: float  # how long ago it arrived
    note: str


def _good(rng: random.Random, masters: Masters) -> dict[str, Any]:
    items = rng.sample(WORK_BANK, rng.randint(1, 4))
    start = masters.round.start
    return {
        F.N_RESPONDENT: rng.choice(RESPONDENTS),
        F.N_CONTACT: f"内線 {rng.randint(2000, 4999)}",
        F.N_ANSWER_DATE: start + timedelta(days=rng.randint(3, 20)),
        F.N_Q1: F.Q1_YES,
        F.N_HOUSE: [[F.HOUSE_MARK if rng.random() < 0.3 else None] for _ in masters.house],
        F.N_Q2: [[n, b, a, wg or None] for n, b, a, wg, _ in items],
        F.N_Q3: [[n, gap] for n, _, _, _, gap in items if gap],
    }


MISTAKES = (
    ("設問1に「多分」と貼り付け", {F.N_Q1: "多分"}),
    ("回答者が空欄", {F.N_RESPONDENT: None}),
    ("回答日が文字", {F.N_ANSWER_DATE: "来週"}),
    ("関連WGを手入力", {F.N_Q2: [["窓口受付", "紙で受付", "電子申請", "オンラインWG"]]}),
    ("After もギャップもない", {F.N_Q2: [["証明書の発行", "窓口で発行", None, None]], F.N_Q3: []}),
)


def plan_returns(masters: Masters, distribute: Path, now: float, seed: int = 2026) -> list[Planned]:
    """The inbox of one night: good, mistaken, re-sent, mailed, duplicated, broken and hostile files.

    Times are as a night's would be: each workbook was saved by its promoter some minutes before it arrived
    (or before its mail was sent), so the evidence `status` shows reads in order.
    """
    rng = random.Random(seed)
    clock = random.Random(seed + 1)  # times only: the answers stay those of `seed`
    depts = list(masters.active_departments)
    rng.shuffle(depts)
    answering, silent = depts[: len(depts) - 8], depts[len(depts) - 8 :]
    plans: list[Planned] = []

    def blank(d: Any) -> bytes:
        return form_path(distribute, d).read_bytes()

    def saved(data: bytes, age_hours: float) -> bytes:
        """`data` as saved by its promoter a little before it arrived `age_hours` ago."""
        arrived = datetime.fromtimestamp(now, UTC) - timedelta(hours=age_hours)
        return _saved_at(data, arrived - timedelta(minutes=clock.uniform(3, 90)))

    # Answering departments (by place) that insert rows: (input, row offset, rows typed, what it shows).
    inserts: dict[int, tuple[str, int, list[list[Any]], str]] = {
        len(MISTAKES) + 2: (  # more rows than the table has: inserted under its last row
            F.N_Q2,
            F.MIN_Q2_ROWS,
            [[n, b, a, wg or None] for n, b, a, wg, _ in WORK_BANK if a][-2:],
            "表の下に行を挿入して記入",
        ),
        len(MISTAKES) + 3: (F.N_HOUSE, 1, [[F.HOUSE_MARK]], "市役所の家の表の中に行を挿入"),  # a ○ no item's
    }
    for i, d in enumerate(answering):
        values = _good(rng, masters)
        folder = d.bu
        name = form_path(distribute, d).name
        if i < len(MISTAKES):
            note, change = MISTAKES[i]
            mistaken = saved(fill(blank(d), {**values, **change}), 30)
            plans.append(Planned(f"{folder}/{name}", mistaken, 30, f"誤り: {note}"))
            if i < 2:  # fixed and sent again later: the first becomes superseded
                fixed = saved(fill(blank(d), values), 5)
                plans.append(Planned(f"{folder}/再送_{name}", fixed, 5, "修正して再送"))
            continue
        if i % 9 == 0:  # sent some hours before a staffer saved the mail into the inbox
            sent = 20 + clock.uniform(1, 8)
            data = saved(fill(blank(d), values), sent)
            mail = _mail(d.name, name, data, datetime.fromtimestamp(now, UTC) - timedelta(hours=sent))
            plans.append(Planned(f"mail/{d.code}_回答.eml", mail, 20, "メールで返信"))
        elif i in inserts:  # rows inserted as the protection allows, and typed into
            age = rng.uniform(2, 60)
            table, at, rows, note = inserts[i]
            data = saved(insert_rows(fill(blank(d), values), table, at, rows), age)
            plans.append(Planned(f"{folder}/{name}", data, age, note))
        else:
            age = rng.uniform(2, 60)
            data = saved(fill(blank(d), values), age)
            plans.append(Planned(f"{folder}/{name}", data, age, "回答"))
        if i == len(MISTAKES) + 1:  # after answering, the blank sheet attached by mistake: the answer stands
            plans.append(
                Planned(
                    f"{folder}/空欄_{name}", saved(blank(d), 1), 1, "配布したままの空のシートを誤って送付"
                )
            )
        if i % 17 == 0:
            plans.append(Planned(f"共有/コピー_{name}", data, 1, "同じファイルを二重に保存（重複）"))
    plans += [
        Planned("共有/~$0101_未来政策課.xlsx", b"\x08yamada  " + b"\x00" * 153, 1, "Excel の一時ファイル"),
        Planned(
            "共有/回答一覧.xlsx",
            "部署,回答\r\n総務課,はい\r\n".encode("cp932"),
            3,
            "CSV を .xlsx と名付けたもの",
        ),
        Planned(
            "共有/途中まで.xlsx", plans[0].data[: len(plans[0].data) // 2], 3, "コピー途中で切れたファイル"
        ),
        Planned("共有/空.xlsx", b"", 3, "0 バイト"),
        Planned("共有/パスワード付き.xlsx", _encrypted(plans[1].data), 3, "パスワード保護"),
    ]
    _ = silent
    return plans


_CORE_MODIFIED = re.compile(rb"(<dcterms:modified\b[^>]*>)[^<]*(</dcterms:modified>)")


def _saved_at(data: bytes, when: datetime) -> bytes:
    """The workbook `data` with its saved time (docProps/core.xml) set to `when`, as Excel records it.

    openpyxl stamps every save with the present moment; a promoter's file carries the time they saved it.
    """
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            part = src.read(info)
            if info.filename == "docProps/core.xml":
                part, n = _CORE_MODIFIED.subn(rb"\g<1>" + stamp + rb"\g<2>", part)
                assert n == 1, "openpyxl writes one dcterms:modified"
            dst.writestr(info, part)
    return out.getvalue()


def _mail(dept_name: str, filename: str, data: bytes, sent: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{dept_name} <promoter@city.example.lg.jp>"
    msg["To"] = "DX推進課 <dx-suishin@city.example.lg.jp>"
    msg["Subject"] = f"Re: 【ご依頼】課題抽出シートのご回答について（{dept_name}）"
    msg["Date"] = format_datetime(sent)
    msg.set_content(f"DX推進課 御中\n\n{dept_name}です。課題抽出シートを送付します。\n")
    msg.add_attachment(
        data,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=filename,
    )
    return bytes(msg)


def _encrypted(data: bytes) -> bytes:
    import msoffcrypto.format.ooxml

    out = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(data)).encrypt("secret", out)
    return out.getvalue()


def drop_returns(inbox: Path, plans: list[Planned], now: float) -> None:
    """Put the planned files into the inbox with their arrival times (this is the only writer of a demo inbox)."""
    import os

    for p in plans:
        path = inbox / p.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(p.data)
        t = now - p.age_hours * 3600
        os.utime(path, (t, t))


def write_many_departments(templates: Path, n: int) -> None:
    """Replace a workspace's departments with `n` senders, 40 to a block, as a prefecture surveying its
    municipalities has (the scale benchmarks and tests run at). The city's work lists go too: they name
    the city's departments."""
    (templates / "departments.xlsx").unlink(missing_ok=True)
    (templates / "worklists.xlsx").unlink(missing_ok=True)
    with open(templates / "departments.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(DEPARTMENTS.columns)
        for i in range(n):
            w.writerow(
                [f"{i + 1:05d}", f"第{i // 40 + 1}ブロック", f"自治体{i + 1:05d}", "推進 太郎", "", "○"]
            )
