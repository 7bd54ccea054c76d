"""The form contract: sheet names, defined names, columns, choices and limits — one place.

The writer (`generate.py`) lays inputs out with `Layout`; readers find inputs only through the defined names,
never by coordinates, so a promoter may insert rows inside a table and other tools can address the inputs.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cached_property

FORM_ID = "DXSHEETS-KADAI"
FORM_VERSION = "1"

MAIN_SHEET = "課題抽出シート"
LISTS_SHEET = "選択肢"  # hidden: dropdown sources
META_SHEET = "_meta"  # very hidden: identity
COVER_SHEET = "修正のお願い"  # a feedback book's first sheet: the list of problems

Q1_YES, Q1_NO = "はい", "いいえ"
Q1_CHOICES = (Q1_YES, Q1_NO)
HOUSE_MARK = "○"

MIN_Q2_ROWS = 20
MIN_Q3_ROWS = 10

# Text length limits (characters), enforced by validation in the sheet and again by the checks.
MAX_RESPONDENT = 50
MAX_CONTACT = 100
MAX_WORK_NAME = 100
MAX_TEXT = 1000

# Identity names (on the very hidden meta sheet).
N_FORM_ID = "DX_FORM_ID"
N_FORM_VERSION = "DX_FORM_VERSION"
N_ROUND = "DX_ROUND"
N_DEPT_CODE = "DX_DEPT_CODE"
N_TOKEN = "DX_TOKEN"
N_GENERATED = "DX_GENERATED"
# Inputs (on the main sheet).
N_DEPT_NAME = "DX_DEPT_NAME"
N_RESPONDENT = "DX_RESPONDENT"
N_CONTACT = "DX_CONTACT"
N_ANSWER_DATE = "DX_ANSWER_DATE"
N_HOUSE = "DX_HOUSE"
N_Q1 = "DX_Q1"
N_Q2 = "DX_Q2"
N_Q3 = "DX_Q3"

META_NAMES = (N_FORM_ID, N_FORM_VERSION, N_ROUND, N_DEPT_CODE, N_TOKEN, N_GENERATED)
SINGLE_NAMES = (N_DEPT_NAME, N_RESPONDENT, N_CONTACT, N_ANSWER_DATE, N_Q1)
# Every name on the main sheet, in the order they are read.
INPUT_NAMES = (*SINGLE_NAMES, N_HOUSE, N_Q2, N_Q3)

Q2_COLUMNS = ("業務名", "現在(Before)", "デジタル化後(After)", "関連WG")
Q3_COLUMNS = ("業務名", "ギャップの内容・理由")
Q2_NAME, Q2_BEFORE, Q2_AFTER, Q2_WG = range(4)
Q3_NAME, Q3_GAP = range(2)

# The most rows an input block may have in a returned sheet: promoters insert rows inside Q2 and Q3, never
# this many; a name stretched further (to the sheet's last row) is refused before its cells are read.
MAX_BLOCK_ROWS = 1_000

# Shapes a reader checks: (rows, columns); None = any number of rows (promoters may insert rows).
SHAPES: dict[str, tuple[int | None, int]] = {
    **{n: (1, 1) for n in META_NAMES},
    **{n: (1, 1) for n in SINGLE_NAMES},
    N_HOUSE: (None, 1),
    N_Q2: (None, len(Q2_COLUMNS)),
    N_Q3: (None, len(Q3_COLUMNS)),
}

# Every name a reader reads: all of a return's inputs live inside these ranges.
READ_NAMES = frozenset(SHAPES)

# The inputs a promoter types into, in the order they stand on the main sheet, each with the rows above it
# that belong to it (a table's title and column titles). The sheet's protection lets a promoter insert rows;
# inserted under an input's last row they are formatted like it, open to typing, but no name grows to
# cover them. What is typed there is looked for (see formread) from the rows under the input as far as the
# rows of the next input (NEXT_INPUT, when that input can be placed) or ROWS_BELOW rows: under a table it
# is read as the table's, under any other input it is said not to be read.
SHEET_ORDER: tuple[tuple[str, int], ...] = (
    (N_RESPONDENT, 0),
    (N_CONTACT, 0),
    (N_ANSWER_DATE, 0),
    (N_HOUSE, 2),
    (N_Q1, 0),
    (N_Q2, 2),
    (N_Q3, 2),
)
TABLES = (N_Q2, N_Q3)  # inputs whose rows under them are read as theirs
HEAD_ROWS = dict(SHEET_ORDER)
NEXT_INPUT: dict[str, str | None] = {
    name: (SHEET_ORDER[i + 1][0] if i + 1 < len(SHEET_ORDER) else None)
    for i, (name, _) in enumerate(SHEET_ORDER)
}
ROWS_BELOW = MAX_BLOCK_ROWS
READ_BELOW = dict.fromkeys(NEXT_INPUT, ROWS_BELOW)  # rows a reader keeps under each input

# Human labels for messages and feedback.
LABELS = {
    N_DEPT_NAME: "所属",
    N_RESPONDENT: "回答者氏名",
    N_CONTACT: "連絡先",
    N_ANSWER_DATE: "回答日",
    N_HOUSE: "市役所の家",
    N_Q1: "設問1",
    N_Q2: "設問2",
    N_Q3: "設問3",
}

INTRO = (
    "本シートは、これからの時代に目指すべき市役所の家（イメージ例）や、その実現に向けて今後提供を予定する環境や"
    "道具をお示ししながら、現在の業務をどのように変革できるか検討いただくために作成するものです。\n"
    "現在の業務側の課題をこれからの時代に目指すべき市役所の家に当てはめて検討していただき、"
    "該当する課題をチェックの上、項目にお答えください。"
)
Q1_TEXT = "1. 合致したり、適応できると考えられる業務が思い浮かびましたか？"
Q1_NOTE = "はい → 以下の設問2・3に回答してください　／　いいえ → 調査は終了です"
Q2_TEXT = "2. 該当する業務名及び内容（現在とデジタル化後）を記載してください"
Q3_TEXT = (
    "3. （業務は思い浮かんだものの課題を認識している場合や上記2で「デジタル化後」を記載できなかった場合）、"
    "ギャップ（隔たり）があると感じた内容や理由を記載してください"
)
HOUSE_TEXT = "■ 市役所の家：現在の業務が当てはまる項目の「該当」欄で「○」を選んでください"


def make_token(secret: bytes, form_id: str, round_id: str, dept_code: str) -> str:
    """Bind form, round and department so a file cannot silently pose as another department's."""
    msg = "\x1f".join((form_id, round_id, dept_code)).encode("utf-8")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:32]


def token_ok(secret: bytes, form_id: str, round_id: str, dept_code: str, token: str) -> bool:
    # compare_digest refuses str holding anything but ASCII; a token is hex, so such text is simply wrong.
    return token.isascii() and hmac.compare_digest(make_token(secret, form_id, round_id, dept_code), token)


@dataclass(frozen=True)
class Layout:
    """Where the writer puts each block on the main sheet (0-based rows; columns A..E = 0..4)."""

    n_house: int
    n_q2: int = MIN_Q2_ROWS
    n_q3: int = MIN_Q3_ROWS

    title: int = 0
    dept: int = 1
    deadline: int = 2
    intro: int = 3
    respondent: int = 5
    contact: int = 6
    answer_date: int = 7
    house_title: int = 9
    house_header: int = 10
    value_col: int = 2  # column C: the single answer cells
    house_col: int = 4  # column E: 該当
    q1_col: int = 4

    @cached_property
    def house_first(self) -> int:
        return self.house_header + 1

    @cached_property
    def q1(self) -> int:
        return self.house_first + self.n_house + 1

    @cached_property
    def q2_title(self) -> int:
        return self.q1 + 2

    @cached_property
    def q2_header(self) -> int:
        return self.q2_title + 1

    @cached_property
    def q2_first(self) -> int:
        return self.q2_header + 1

    @cached_property
    def q2_last(self) -> int:
        return self.q2_first + self.n_q2 - 1

    @cached_property
    def q3_title(self) -> int:
        return self.q2_last + 2

    @cached_property
    def q3_header(self) -> int:
        return self.q3_title + 1

    @cached_property
    def q3_first(self) -> int:
        return self.q3_header + 1

    @cached_property
    def q3_last(self) -> int:
        return self.q3_first + self.n_q3 - 1

    def single_cells(self) -> dict[str, tuple[int, int]]:
        return {
            N_DEPT_NAME: (self.dept, self.value_col),
            N_RESPONDENT: (self.respondent, self.value_col),
            N_CONTACT: (self.contact, self.value_col),
            N_ANSWER_DATE: (self.answer_date, self.value_col),
            N_Q1: (self.q1, self.q1_col),
        }

    def cell_of(self, name: str, row: int = 0, col: int = 0) -> tuple[int, int]:
        """The 0-based (row, column) of an input, for writing and for marking in feedback."""
        if name in self.single_cells():
            return self.single_cells()[name]
        if name == N_HOUSE:
            return (self.house_first + row, self.house_col)
        if name == N_Q2:
            return (self.q2_first + row, 1 + col)
        if name == N_Q3:
            return (self.q3_first + row, 1 + col)
        raise KeyError(name)


# Each row of the 市役所の家 checklist carries its item's No. (locked) this many columns left of its answer
# cell. Rows inserted inside the checklist grow its name but have no No.: read by their numbers, the
# answers stay with their items (see formread), so a reader keeps those columns too.
HOUSE_NO_LEFT = Layout.house_col
READ_LEFT = {N_HOUSE: HOUSE_NO_LEFT}
