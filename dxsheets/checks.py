"""The rules: from the inputs read through the names to normalised `Answers` and `Problem` values.

Every rule has a stable kebab-case code (listed in `RULES`), a severity and a Japanese message that tells a
promoter what is wrong, where, and what to do. error: the file is not merged and the department gets a
feedback workbook. warning: merged, and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from . import forms as F
from .domain import ERROR, WARNING, Answers, GapRow, IssueRow, Masters, Problem
from .formread import FormValues, Value, as_shown
from .text import clean, quote
from .xlsxread import Cell, excel_serial_to_date

# Bump when a rule changes: every file is then checked again on the next collect.
# 2: form-blank; documents file-unsupported-type. 3: date-invalid, form-unknown wording. 4: file-outlook-msg
# wording (a .msg is read as a mail now). 5: text-too-long says "more than 2,000" for a text cut when read.
# 6: the inputs are read from a copy of the main sheet when the original is blank or deleted (sheet-copy-*);
# rows typed right under the Q2 and Q3 tables are read as theirs (rows-below-table), under the other inputs
# said not to be read (typed-outside-input); text-too-long writes 1,001 with a thousands separator.
# 7: the 市役所の家 checklist is read by its items' No.: rows inserted inside it are not items
# (typed-outside-input when marked), where its grown name was name-shape before; a fraction in a text
# input is kept as Excel shows it (15 significant digits); what is written right of or below all the
# inputs (the sheet's protection lifted), or on a sheet a promoter added, is said not to be read
# (typed-outside-input).
RULES_VERSION = "7"

RULES: dict[str, str] = {
    # the file itself
    "file-empty": "空のファイル",
    "file-not-workbook": "Excel ブックではない（CSV・HTML・壊れたデータなど）",
    "file-encrypted": "パスワードで保護されている",
    "file-irm": "秘密度ラベル（権利管理）で暗号化されている",
    "file-legacy-xls": "古い .xls 形式（.xlsx で保存し直してもらう）",
    "file-ods": "OpenDocument (.ods) 形式（.xlsx で保存し直してもらう）",
    "file-xlsb": "Excel バイナリブック (.xlsb) 形式（.xlsx で保存し直してもらう）",
    "file-outlook-msg": "Outlook のメールだが名前が .msg で終わらない（名前を直してもらう）",
    "file-zip-archive": "ZIP 圧縮ファイル（パスワード付きを含む。展開してもらう）",
    "file-truncated": "途中で切れている（コピー中・添付の失敗）",
    "file-zip-bomb": "展開後の大きさが異常（zip 爆弾）",
    "file-doctype": "XML に DOCTYPE/実体宣言がある（安全のため拒否）",
    "file-xml-malformed": "中の XML が壊れている",
    "file-missing-part": "ブックの部品が欠けている",
    "file-sheet-too-large": "シートの使用範囲が異常に広い",
    "file-too-large": "ファイルが大きすぎる",
    "file-reader-crashed": "読み取り中に読み取り処理が異常終了した",
    "file-unsupported-type": "Excel ブックの代わりに送られた PDF・画像・Word・PowerPoint",
    "file-not-regular": "通常のファイルでない（リンク・名前付きパイプなど。開かない）",
    "folder-unreadable": "inbox 内のフォルダを読み取れない（アクセス権など）",
    "mail-no-workbook": "メールに Excel ブックの添付がない",
    "mail-unreadable": "メールファイルとして読めない（壊れている・保存やコピーが途中で止まった）",
    "mail-winmail-dat": "添付が winmail.dat（Outlook のリッチテキスト形式）で取り出せない",
    "mail-attachment-link": "添付がファイルではなくリンク（OneDrive などの共有リンク）",
    "mail-smime": "S/MIME で暗号化されたメール（添付を取り出せない）",
    "mail-too-many-parts": "メールの部品が多すぎる（中のメールも合わせて MIME 500、.msg の項目 2,048 超: 開かずに拒否）",
    "mail-header-too-large": "メールの添付を記述するヘッダーが異常に長い（1 つ 4 KB・区切り 64 個、合計 64 KB・1,000 個超: 開かずに拒否）",
    # identity and structure
    "form-unknown": "課題抽出シートではない",
    "form-version-unknown": "知らない様式の版",
    "round-mismatch": "別の回（前回など）のシート",
    "dept-unknown": "部署コードが部署一覧にない",
    "dept-inactive": "今回の調査対象でない部署",
    "token-invalid": "照合コードが部署と合わない（部署コードの書き換えなど）",
    "name-missing": "入力欄の名前（定義された名前）がない",
    "name-broken": "入力欄の名前の参照先が壊れている",
    "name-shape": "入力欄の名前の形（行数・列数）が違う",
    "sheet-copy-used": "シートがコピーされ、回答はコピーの方から読み取った（元のシートが空か削除されていた）",
    "sheet-copy-ignored": "コピーしたシートに、読み取った回答と違う回答がある（読み取っていない）",
    "rows-below-table": "設問2・3の表の下に挿入された行に入力がある（表の回答として読み取った）",
    "typed-outside-input": "入力欄の下や市役所の家の表の中に挿入された行、入力欄の外（右・下）、または追加されたシートに入力がある（読み取っていない）",
    # values
    "form-blank": "何も入力されていない（配布したままのシート。他の返送より後でも採用しない）",
    "required-missing": "必須の入力がない",
    "text-too-long": "文字数の上限を超えている",
    "date-invalid": "回答日が日付でない",
    "date-out-of-round": "回答日が今回の調査期間外",
    "q1-invalid": "設問1が「はい」「いいえ」以外",
    "house-invalid": "市役所の家の該当欄が「○」以外",
    "wg-invalid": "関連WGが一覧にない",
    "formula-uncached": "数式の結果が保存されていない",
    "formula-error": "数式がエラー（#DIV/0! など）",
    # across fields
    "q1-yes-without-q2": "設問1が「はい」なのに設問2が空",
    "q1-no-with-rows": "設問1が「いいえ」なのに設問2・3に記入がある",
    "q2-name-missing": "設問2の行に業務名がない",
    "q2-before-missing": "設問2の行に現在(Before)がない",
    "q2-after-without-gap": "設問2の行に After がなく、設問3にも同じ業務のギャップがない",
    "q3-name-missing": "設問3の行に業務名がない",
    "q3-gap-missing": "設問3の行にギャップの内容がない",
    "q3-name-not-in-q2": "設問3の業務名が設問2にない",
    # across files (decided by collect)
    "returned-late": "回答期限の後に届いた（集計には含める）",
    "superseded": "同じ部署から後に送られたファイルがある",
    "duplicate": "同じ内容のファイルが既にある",
    "pending": "コピー中または Excel で開いている",
    "ignored": "Office の一時ファイル・ロックファイル・システムファイル（読まない）",
    "file-gone-before-read": "読み取る前に inbox からなくなった（移動・削除・コピーの取り消し）",
    "saved-order-doubtful": "ファイルの時刻では最新だが、同じ部署の別の返送の方がブックの保存日時が新しい（要確認）",
    "pending-previous-used": "取り込み済みのファイルが開かれている・保存し直し中：落ち着くまで前回の内容を使う",
}

# For DX staff, not the promoter: not listed on a feedback workbook.
STAFF_ONLY = frozenset({"saved-order-doubtful"})

_HOUSE_MARKS = {"○", "〇", "◯"}
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?(?:[ T].*)?"),
    re.compile(r"(?:令和|R)(?P<ry>\d{1,2}|元)[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"),
)


@dataclass(frozen=True)
class Identity:
    form_id: str
    version: str
    round_id: str
    dept_code: str
    token: str


def _problem(
    code: str,
    severity: str,
    message: str,
    v: Value | None = None,
    field: str = "",
    row: int | None = None,
    col: int | None = None,
) -> Problem:
    return Problem(
        code,
        severity,
        message,
        sheet=v.sheet if v else "",
        cell=v.ref if v else "",
        field=field,
        row=row,
        col=col,
    )


def _where(v: Value) -> str:
    return f"{v.sheet}!{v.ref}"


_KEPT_TEXT = 2 * F.MAX_TEXT  # characters of a text cell read; the rest is not looked at


def _too_long(v: Value | None, text: str, limit: int) -> str:
    """How long a text too long is, and what to do: "1,001文字あります。1,000文字以内にしてください。" (its
    length, or "more than" what was read of it when it was cut)."""
    c = v.cell if v is not None else None
    cut = c is not None and isinstance(c.value, str) and len(c.value) > _KEPT_TEXT  # cut by the reader too
    length = f"{_KEPT_TEXT:,}文字を超えています" if cut else f"{len(text):,}文字あります"
    return f"{length}。{limit:,}文字以内にしてください。"


def _uncached(c: Cell) -> bool:
    """A formula never calculated: no <v>, or an empty <v/> as openpyxl writes."""
    return c.formula is not None and (not c.cached or c.kind == "empty")


class _Reader:
    """Turns cells into text or dates, recording formula problems on the way."""

    def __init__(self, date1904: bool) -> None:
        self.date1904 = date1904
        self.problems: list[Problem] = []

    def text(
        self, v: Value | None, label: str, field: str = "", row: int | None = None, col: int | None = None
    ) -> str:
        if v is None or v.cell is None:
            return ""
        c = v.cell
        if _uncached(c):
            self.problems.append(
                _problem(
                    "formula-uncached",
                    ERROR,
                    f"{label}（{_where(v)}）は数式ですが、計算結果が保存されていません。数式ではなく値を直接入力して保存してください。",
                    v,
                    field,
                    row,
                    col,
                )
            )
            return ""
        if c.kind == "e":
            self.problems.append(
                _problem(
                    "formula-error",
                    ERROR,
                    f"{label}（{_where(v)}）がエラー（{c.value}）になっています。値を直接入力してください。",
                    v,
                    field,
                    row,
                    col,
                )
            )
            return ""
        if c.value is None:
            return ""
        if isinstance(c.value, bool):
            return "TRUE" if c.value else "FALSE"
        if isinstance(c.value, float):
            # A number typed into a text cell stays the text the promoter saw: every digit of a whole
            # number (a phone or account number), else as Excel shows it (0.3, not 0.30000000000000004).
            return str(int(c.value)) if c.value.is_integer() else as_shown(c)
        # Cut before it is normalised: a form's longest input is 1,000 characters, and a cell may hold 32,767
        # (a few kilobytes of shared strings can fill thousands of cells with them: seconds and hundreds
        # of MB for nothing). What is kept is enough to report it and to edit it down in the feedback.
        return clean(str(c.value)[:_KEPT_TEXT])

    def date(self, v: Value | None, label: str, field: str) -> tuple[date | None, bool]:
        """(date, present): a date from a serial, an ISO cell or a typed string."""
        if v is None or v.cell is None or v.cell.value in (None, ""):
            if v is not None and v.cell is not None and v.cell.formula is not None:
                self.text(v, label, field)  # reports the uncached formula
                return None, True
            return None, False
        c = v.cell
        if _uncached(c):
            self.text(v, label, field)
            return None, True
        if isinstance(c.value, float) and not isinstance(c.value, bool):
            try:
                return excel_serial_to_date(c.value, self.date1904), True
            except (ValueError, OverflowError):
                return None, True
        text = self.text(v, label, field)
        return parse_date_text(text), True


def _typed(v: Value) -> str:
    """What a promoter sees in a cell that holds a value: its text, or a number as Excel shows it."""
    return as_shown(v.cell) if v.cell is not None and v.cell.value is not None else ""


def parse_date_text(text: str) -> date | None:
    for pat in _DATE_PATTERNS:
        m = pat.fullmatch(text)
        if not m:
            continue
        try:
            if "ry" in pat.groupindex:
                ry = 1 if m["ry"] == "元" else int(m["ry"])
                return date(2018 + ry, int(m["m"]), int(m["d"]))
            return date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            return None
    return None


def identity_of(values: FormValues) -> Identity | None:
    """The identity written on the meta sheet, or None when this is not one of our forms."""

    def meta(name: str) -> str:
        v = values.meta.get(name)
        if v is None or v.cell is None or v.cell.value is None:
            return ""
        value = v.cell.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return clean(str(value))

    if meta(F.N_FORM_ID) != F.FORM_ID:
        return None
    return Identity(
        meta(F.N_FORM_ID), meta(F.N_FORM_VERSION), meta(F.N_ROUND), meta(F.N_DEPT_CODE), meta(F.N_TOKEN)
    )


def check_identity(ident: Identity | None, masters: Masters, secret: bytes) -> list[Problem]:
    """Form, version, round, department and token. Any problem here means the file cannot be attributed."""
    rnd = masters.round
    if ident is None:
        return [
            Problem(
                "form-unknown",
                ERROR,
                "配布した課題抽出シートではありません（シートの識別情報が見つかりません）。新しいブックに"
                "貼り付けたものや、シートを別のブックにコピーしたものでは識別情報がなくなります。配布した"
                "ファイルそのものに入力して送ってください。",
            )
        ]
    if ident.version != F.FORM_VERSION:
        return [
            Problem(
                "form-version-unknown",
                ERROR,
                f"シートの版（{quote(ident.version, 40)}）が今回の様式（{F.FORM_VERSION}）と違います。今回配布したシートで回答してください。",
            )
        ]
    if ident.round_id != rnd.round_id:
        return [
            Problem(
                "round-mismatch",
                ERROR,
                f"別の回（{quote(ident.round_id, 40)}）のシートです。今回（{rnd.year_label}・{rnd.round_id}）配布したシートに入力して送ってください。",
            )
        ]
    dept = masters.department(ident.dept_code)
    signed = F.token_ok(secret, ident.form_id, ident.round_id, ident.dept_code, ident.token)
    if dept is None:
        # A sheet dxsheets signed for this code: the department left the list after it was distributed (a
        # reorganisation, a changed code), which DX staff fix in the masters; otherwise the code was edited.
        return [
            Problem(
                "dept-unknown",
                ERROR,
                f"部署コード「{quote(ident.dept_code, 40)}」の部署が部署一覧にありません。配布後に部署一覧から外れたか、"
                "部署コードが変わった可能性があります。DX推進課にお問い合わせください。"
                if signed
                else f"部署コード「{quote(ident.dept_code, 40)}」は部署一覧にありません。配布したシートをそのまま使ってください。",
            )
        ]
    if not signed:
        return [
            Problem(
                "token-invalid",
                ERROR,
                f"照合コードが部署（{dept.name}）と一致しません。シートの識別情報が書き換えられた可能性があります。"
                "自部署あてに配布したシートに入力して送ってください。",
            )
        ]
    if not dept.active:
        return [
            Problem(
                "dept-inactive",
                ERROR,
                f"{dept.name}（{dept.code}）は今回の調査対象ではありません。DX推進課にお問い合わせください。",
            )
        ]
    return []


def check_values(
    values: FormValues, masters: Masters, date1904: bool = False
) -> tuple[Answers, list[Problem]]:
    """Normalise every input and apply the value and cross-field rules."""
    rd = _Reader(date1904)
    problems: list[Problem] = []
    ans = Answers()
    rnd = masters.round
    s = values.singles

    def required_text(name: str, limit: int) -> str:
        label = F.LABELS[name]
        v = s.get(name)
        if v is None:
            return ""
        text = rd.text(v, label, name)
        if not text and not any(p.field == name for p in rd.problems):
            problems.append(
                _problem(
                    "required-missing",
                    ERROR,
                    f"{label}（{_where(v)}）が空欄です。入力してください。",
                    v,
                    name,
                )
            )
        elif len(text) > limit:
            problems.append(
                _problem(
                    "text-too-long",
                    ERROR,
                    f"{label}（{_where(v)}）が{_too_long(v, text, limit)}",
                    v,
                    name,
                )
            )
        return text

    ans.respondent = required_text(F.N_RESPONDENT, F.MAX_RESPONDENT)
    ans.contact = required_text(F.N_CONTACT, F.MAX_CONTACT)
    if F.N_DEPT_NAME in s:
        ans.dept_name = rd.text(s[F.N_DEPT_NAME], F.LABELS[F.N_DEPT_NAME])

    v = s.get(F.N_ANSWER_DATE)
    if v is not None:
        answer_date, present = rd.date(v, "回答日", F.N_ANSWER_DATE)
        if not present:
            problems.append(
                _problem(
                    "required-missing",
                    ERROR,
                    f"回答日（{_where(v)}）が空欄です。2026/11/20 の形で入力してください。",
                    v,
                    F.N_ANSWER_DATE,
                )
            )
        elif answer_date is None and not any(p.field == F.N_ANSWER_DATE for p in rd.problems):
            problems.append(
                _problem(
                    "date-invalid",
                    ERROR,
                    f"回答日（{_where(v)}）の「{_typed(v)[:20]}」は日付として読めません。"
                    "2026/11/20 の形で入力してください。",
                    v,
                    F.N_ANSWER_DATE,
                )
            )
        elif answer_date is not None and not (rnd.start <= answer_date <= rnd.fiscal_year_end):
            problems.append(
                _problem(
                    "date-out-of-round",
                    WARNING,
                    f"回答日（{_where(v)}）が {answer_date:%Y/%m/%d} で、今回の調査期間"
                    f"（{rnd.start:%Y/%m/%d}〜{rnd.fiscal_year_end:%Y/%m/%d}）の外です。日付を確認してください。",
                    v,
                    F.N_ANSWER_DATE,
                )
            )
        ans.answer_date = answer_date

    v = s.get(F.N_Q1)
    if v is not None:
        q1 = rd.text(v, "設問1", F.N_Q1)
        if not q1 and not any(p.field == F.N_Q1 for p in rd.problems):
            problems.append(
                _problem(
                    "required-missing",
                    ERROR,
                    f"設問1（{_where(v)}）が空欄です。「はい」か「いいえ」を選んでください。",
                    v,
                    F.N_Q1,
                )
            )
        elif q1 and q1 not in F.Q1_CHOICES:
            problems.append(
                _problem(
                    "q1-invalid",
                    ERROR,
                    f"設問1（{_where(v)}）の「{q1[:20]}」は選べない値です。「はい」か「いいえ」を選んでください。",
                    v,
                    F.N_Q1,
                )
            )
        ans.q1 = q1

    if values.house and len(values.house) != len(masters.house):
        problems.append(
            _problem(
                "name-shape",
                ERROR,
                f"市役所の家の項目数（{len(values.house)}）が今回の様式（{len(masters.house)}）と違います。今回配布したシートで回答してください。",
                values.house[0],
                F.N_HOUSE,
            )
        )
    else:
        for i, (item, hv) in enumerate(zip(masters.house, values.house, strict=False)):
            mark = rd.text(hv, f"市役所の家 {item.number}", F.N_HOUSE, i, 0)
            if mark in _HOUSE_MARKS:
                ans.house[item.number] = True
            elif mark:
                problems.append(
                    _problem(
                        "house-invalid",
                        ERROR,
                        f"市役所の家 {item.number}（{_where(hv)}）の「{mark[:20]}」は選べない値です。「○」を選ぶか空欄にしてください。",
                        hv,
                        F.N_HOUSE,
                        i,
                        0,
                    )
                )

    wg_names = {clean(w.name): w.name for w in masters.working_groups}
    for row in values.q2:
        label = f"設問2 {row[0].row if row else ''}行目"
        texts = [rd.text(c, label, F.N_Q2, len(ans.q2), i) for i, c in enumerate(row)]
        if not any(texts):
            continue
        i = len(ans.q2)
        # Problems raised while reading this row carry the compacted row index, so feedback marks them right.
        name, before, after, wg = texts
        limits = (F.MAX_WORK_NAME, F.MAX_TEXT, F.MAX_TEXT, 200)
        for col, (text, limit) in enumerate(zip(texts, limits, strict=True)):
            if len(text) > limit:
                problems.append(
                    _problem(
                        "text-too-long",
                        ERROR,
                        f"設問2の{F.Q2_COLUMNS[col]}（{_where(row[col])}）が{_too_long(row[col], text, limit)}",
                        row[col],
                        F.N_Q2,
                        i,
                        col,
                    )
                )
        if wg and wg not in wg_names:
            problems.append(
                _problem(
                    "wg-invalid",
                    ERROR,
                    f"設問2の関連WG（{_where(row[3])}）の「{wg[:30]}」は一覧にありません。一覧から選ぶか空欄にしてください。",
                    row[3],
                    F.N_Q2,
                    i,
                    3,
                )
            )
        if not name:
            problems.append(
                _problem(
                    "q2-name-missing",
                    ERROR,
                    f"設問2（{_where(row[0])}）に業務名がありません。業務名を入力してください。",
                    row[0],
                    F.N_Q2,
                    i,
                    0,
                )
            )
        if not before:
            problems.append(
                _problem(
                    "q2-before-missing",
                    ERROR,
                    f"設問2の「{name[:30]}」（{_where(row[1])}）に現在(Before)がありません。いまの業務のやり方を書いてください。",
                    row[1],
                    F.N_Q2,
                    i,
                    1,
                )
            )
        ans.q2.append(IssueRow(i, _where(row[0]), name, before, after, wg_names.get(wg, wg)))

    for row in values.q3:
        label = f"設問3 {row[0].row if row else ''}行目"
        texts = [rd.text(c, label, F.N_Q3, len(ans.q3), i) for i, c in enumerate(row)]
        if not any(texts):
            continue
        i = len(ans.q3)
        name, gap = texts
        for col, (text, limit) in enumerate(zip(texts, (F.MAX_WORK_NAME, F.MAX_TEXT), strict=True)):
            if len(text) > limit:
                problems.append(
                    _problem(
                        "text-too-long",
                        ERROR,
                        f"設問3の{F.Q3_COLUMNS[col]}（{_where(row[col])}）が{_too_long(row[col], text, limit)}",
                        row[col],
                        F.N_Q3,
                        i,
                        col,
                    )
                )
        if not name:
            problems.append(
                _problem(
                    "q3-name-missing",
                    ERROR,
                    f"設問3（{_where(row[0])}）に業務名がありません。設問2の業務名を選んでください。",
                    row[0],
                    F.N_Q3,
                    i,
                    0,
                )
            )
        if not gap:
            problems.append(
                _problem(
                    "q3-gap-missing",
                    ERROR,
                    f"設問3の「{name[:30]}」（{_where(row[1])}）にギャップの内容・理由がありません。",
                    row[1],
                    F.N_Q3,
                    i,
                    1,
                )
            )
        ans.q3.append(GapRow(i, _where(row[0]), name, gap))

    problems.extend(_cross_field(ans, values))
    problems = rd.problems + problems
    if _untouched(ans, values, problems):
        return ans, [_blank_problem(values)]
    return ans, problems


def _untouched(ans: Answers, values: FormValues, problems: list[Problem]) -> bool:
    """The sheet as distributed: no input holds anything (every problem is an empty required input)."""
    answered = ans.respondent or ans.contact or ans.answer_date or ans.q1 or ans.house or ans.q2 or ans.q3
    return not answered and not values.unread and all(p.code == "required-missing" for p in problems)


def _blank_problem(values: FormValues) -> Problem:
    """A blank return is not an answer: it is told once, and never supersedes a department's real return
    (a promoter who attached the blank sheet by mistake keeps the answer sent before)."""
    first = values.singles.get(F.N_RESPONDENT)
    return _problem(
        "form-blank",
        ERROR,
        "シートに何も入力されていません（配布したままの状態です）。別のファイルを添付していないか確かめ、"
        "入力して保存したシートを送ってください。",
        first,
        F.N_RESPONDENT if first else "",
    )


def _cross_field(ans: Answers, values: FormValues) -> list[Problem]:
    out: list[Problem] = []
    q1v = values.singles.get(F.N_Q1)
    # A block that could not be read is unknown, not empty: rules that compare it with another are not applied.
    q2_known, q3_known = F.N_Q2 not in values.unread, F.N_Q3 not in values.unread
    if ans.q1 == F.Q1_YES and not ans.q2 and q2_known:
        first = values.q2[0][0] if values.q2 else None
        out.append(
            _problem(
                "q1-yes-without-q2",
                ERROR,
                "設問1で「はい」を選んでいますが、設問2に業務が1件も書かれていません。業務を記入するか、設問1を「いいえ」にしてください。",
                first,
                F.N_Q2,
                0,
                0,
            )
        )
    if ans.q1 == F.Q1_NO and (ans.q2 or ans.q3):
        out.append(
            _problem(
                "q1-no-with-rows",
                WARNING,
                "設問1で「いいえ」を選んでいますが、設問2・3に記入があります。記入した内容も集計します。"
                "「はい」の誤りであれば設問1を直してください。",
                q1v,
                F.N_Q1,
            )
        )
    gap_names = {g.name for g in ans.q3 if g.name and g.gap}
    q2_names = {q.name for q in ans.q2 if q.name}
    for q in ans.q2:
        if q3_known and q.name and q.before and not q.after and q.name not in gap_names:
            row = values.q2[_raw_index(values.q2, q.cell)]
            out.append(
                _problem(
                    "q2-after-without-gap",
                    ERROR,
                    f"設問2の「{q.name[:30]}」（{_where(row[2])}）にデジタル化後(After)がありません。"
                    "After を書くか、書けない理由を設問3に同じ業務名で書いてください。",
                    row[2],
                    F.N_Q2,
                    q.index,
                    2,
                )
            )
    for g in ans.q3:
        if q2_known and g.name and g.name not in q2_names:
            row = values.q3[_raw_index(values.q3, g.cell)]
            out.append(
                _problem(
                    "q3-name-not-in-q2",
                    WARNING,
                    f"設問3の業務名「{g.name[:30]}」（{_where(row[0])}）が設問2にありません。設問2と同じ業務名にしてください。",
                    row[0],
                    F.N_Q3,
                    g.index,
                    0,
                )
            )
    return out


def _raw_index(rows: list[list[Value]], where: str) -> int:
    return next(i for i, r in enumerate(rows) if _where(r[0]) == where)


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == ERROR for p in problems)


def answers_to_json(ans: Answers) -> dict:
    return {
        "dept_code": ans.dept_code,
        "dept_name": ans.dept_name,
        "respondent": ans.respondent,
        "contact": ans.contact,
        "answer_date": ans.answer_date.isoformat() if ans.answer_date else None,
        "q1": ans.q1,
        "house": {str(k): v for k, v in ans.house.items()},
        "q2": [[q.index, q.cell, q.name, q.before, q.after, q.wg] for q in ans.q2],
        "q3": [[g.index, g.cell, g.name, g.gap] for g in ans.q3],
    }


def answers_from_json(d: dict) -> Answers:
    return Answers(
        dept_code=d["dept_code"],
        dept_name=d["dept_name"],
        respondent=d["respondent"],
        contact=d["contact"],
        answer_date=date.fromisoformat(d["answer_date"]) if d["answer_date"] else None,
        q1=d["q1"],
        house={int(k): v for k, v in d["house"].items()},
        q2=[IssueRow(*r) for r in d["q2"]],
        q3=[GapRow(*r) for r in d["q3"]],
    )
