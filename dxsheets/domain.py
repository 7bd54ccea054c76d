"""Plain dataclasses for the domain: who is surveyed, what they answered, what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class WorkingGroup:
    number: int
    name: str
    vision: str  # 目指す未来

    @property
    def label(self) -> str:
        return f"WG{self.number:02d} {self.name}"


@dataclass(frozen=True)
class HouseItem:
    """One item of the 市役所の家 checklist, routed to a WG (or to none)."""

    number: int
    text: str
    wg_number: int | None


@dataclass(frozen=True)
class Department:
    code: str
    bu: str  # 部
    ka: str  # 課
    promoter: str  # DX推進員
    email: str
    active: bool = True

    @property
    def name(self) -> str:
        return f"{self.bu} {self.ka}"


@dataclass(frozen=True)
class RoundSettings:
    round_id: str  # 回次ID, bound into every token
    year_label: str  # 年度 such as 令和8年度
    start: date  # 開始日: earliest valid 回答日
    deadline: date  # 回答期限
    contact: str  # 問合せ先 shown on the form and in mails
    sender: str  # 差出人 mail address for the drafts

    @property
    def fiscal_year_end(self) -> date:
        year = self.start.year + (1 if self.start.month >= 4 else 0)
        return date(year, 3, 31)


@dataclass(frozen=True)
class Masters:
    departments: tuple[Department, ...]
    working_groups: tuple[WorkingGroup, ...]
    house: tuple[HouseItem, ...]
    worklists: dict[str, tuple[str, ...]]
    round: RoundSettings

    def department(self, code: str) -> Department | None:
        return self._by_code.get(code)

    @cached_property
    def _by_code(self) -> dict[str, Department]:
        # Looked up once per returned file: with a prefecture's thousands of departments a scan adds up.
        return {d.code: d for d in self.departments}

    def wg_by_name(self, name: str) -> WorkingGroup | None:
        return next((w for w in self.working_groups if w.name == name), None)

    @property
    def active_departments(self) -> tuple[Department, ...]:
        return tuple(d for d in self.departments if d.active)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a returned file, with a stable code and a place a promoter can find.

    `field`, `row` and `col` locate the input logically (defined name, 0-based row and column inside it) so
    the feedback workbook can mark the same input in a freshly generated sheet.
    """

    code: str
    severity: str
    message: str
    sheet: str = ""
    cell: str = ""
    field: str = ""
    row: int | None = None
    col: int | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "sheet": self.sheet,
            "cell": self.cell,
            "message": self.message,
        }


def file_reason(status: str, problems: list[Problem]) -> str:
    """The one line that says why a file has its own status (status lists, the ledger): 受理 with its
    warnings counted, else its first error (and how many more), else its first problem."""
    errors = [p for p in problems if p.severity == ERROR]
    warnings = [p for p in problems if p.severity == WARNING]
    if status == "accepted":
        return "受理" + (f"（注意 {len(warnings)} 件）" if warnings else "")
    if errors:
        return errors[0].message + (f"（ほか {len(errors) - 1} 件）" if len(errors) > 1 else "")
    return problems[0].message if problems else ""


@dataclass(frozen=True)
class IssueRow:
    """A Q2 row: one piece of work, now and after digitalisation."""

    index: int  # 0-based row inside DX_Q2
    cell: str  # where it was in the returned file, e.g. 課題抽出シート!B31
    name: str
    before: str
    after: str
    wg: str


@dataclass(frozen=True)
class GapRow:
    index: int
    cell: str
    name: str
    gap: str


@dataclass
class Answers:
    """Everything a promoter answered, normalised, as read through the defined names."""

    dept_code: str = ""
    dept_name: str = ""
    respondent: str = ""
    contact: str = ""
    answer_date: date | None = None
    q1: str = ""
    house: dict[int, bool] = field(default_factory=dict)  # house item number -> checked
    q2: list[IssueRow] = field(default_factory=list)
    q3: list[GapRow] = field(default_factory=list)
