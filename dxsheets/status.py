"""What the ledger says: per department answered / not answered / needs fixing, per file its fate.

`status_report` returns the public JSON contract of `dxsheets status --json` (documented in the README).
"""

from __future__ import annotations

from typing import Any

from .collect import ANSWERED, NEEDS_FIXING, NOT_ANSWERED, department_statuses
from .domain import Masters
from .ledger import Ledger

DEPT_STATUS_JA = {ANSWERED: "回答済み", NEEDS_FIXING: "要修正", NOT_ANSWERED: "未回答"}
FILE_STATUS_JA = {
    "accepted": "受理",
    "rejected": "不備",
    "superseded": "差し替え済み",
    "duplicate": "重複",
    "unsupported": "形式対象外",
    "ignored": "対象外（一時ファイル等）",
    "pending": "保留（コピー中等）",
}


def status_report(ledger: Ledger, masters: Masters) -> dict[str, Any]:
    """The status JSON: departments and files, each file with its problems."""
    statuses = department_statuses(ledger, masters)
    problems = ledger.all_problems()
    return {
        "departments": [
            {"code": d.code, "name": d.name, "status": statuses[d.code]} for d in masters.active_departments
        ],
        "files": [
            {
                "path": r.path,
                "status": r.status,
                "department": r.dept_code,
                "reason": r.reason,
                "sent_at": r.sent_at,
                "evidence": r.evidence,
                "saved_at": r.saved_at,
                "sha256": r.sha256,
                "present": bool(r.present),
                "problems": [
                    p.as_dict() for p in problems.get(r.path, []) if p.severity in ("error", "warning")
                ],
            }
            for r in ledger.files()
        ],
    }
