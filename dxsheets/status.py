"""What the ledger says: per department answered / not answered / needs fixing, per file its fate.

`status_report` returns the public JSON contract of `dxsheets status --json` (documented in the README).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .collect import ANSWERED, NEEDS_FIXING, NOT_ANSWERED, department_statuses
from .domain import Department, Masters
from .ledger import Ledger
from .text import shown

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
EVIDENCE_JA = {"mail-date": "メールの日付", "file-time": "ファイルの時刻"}
SEVERITY_JA = {"error": "エラー", "warning": "注意"}


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


def for_department(report: dict[str, Any], dept: Department) -> dict[str, Any]:
    """The report narrowed to one department, for a promoter on the phone asking whether their file came:
    its status, its files, and the files no department could be read from whose path names it (its code
    or its 課, e.g. a password-protected `市民部/0402_市民協働課.xlsx`). Same shape as the whole report."""

    def named(path: str) -> bool:
        return dept.code in path or (bool(dept.ka) and dept.ka in path)

    return {
        "departments": [d for d in report["departments"] if d["code"] == dept.code],
        "files": [
            f
            for f in report["files"]
            if f["department"] == dept.code or (not f["department"] and named(f["path"]))
        ],
    }


def status_lines(report: dict[str, Any]) -> list[str]:
    """The report as DX staff read it at their desk: Japanese labels, local times, and the reason for every
    fate that is not plain (which file replaced this one, what this one duplicates, why it waits)."""
    counts: dict[str, int] = {}
    for d in report["departments"]:
        counts[d["status"]] = counts.get(d["status"], 0) + 1
    if len(report["departments"]) == 1:  # narrowed to one department (`status --dept`)
        (d,) = report["departments"]
        lines = [f"部署 {d['code']} {d['name']}: {DEPT_STATUS_JA[d['status']]}"]
    else:
        lines = ["部署: " + "・".join(f"{DEPT_STATUS_JA[k]} {counts.get(k, 0)}" for k in DEPT_STATUS_JA)]
        lines += [
            f"  {DEPT_STATUS_JA[d['status']]:　<4} {d['code']} {d['name']}"
            for d in report["departments"]
            if d["status"] != ANSWERED
        ]
    lines.append(f"ファイル: {len(report['files'])} 件")
    for f in report["files"]:
        head = f"  [{FILE_STATUS_JA.get(f['status'], f['status'])}] {shown(f['path'])}"
        if f["department"]:
            head += f"  部署 {f['department']}"
        if f["sent_at"]:
            head += f"  送信 {_local_time(f['sent_at'])}（{EVIDENCE_JA.get(f['evidence'], f['evidence'])}）"
        if f["saved_at"]:
            head += f"  ブック保存 {_local_time(f['saved_at'])}"
        if not f["present"]:
            head += "  （inbox から削除済み）"
        lines.append(head)
        # An accepted file's reason only counts its warnings, and a rejected file's repeats its first error:
        # the problems below say both. Every other fate is explained by its reason alone.
        if f["reason"] and not (f["status"] == "accepted" or (f["status"] == "rejected" and f["problems"])):
            lines.append(f"      {f['reason']}")
        for p in f["problems"]:
            place = f"{p['sheet']}!{p['cell']}" if p["cell"] else "ファイル"
            lines.append(
                f"      {SEVERITY_JA.get(p['severity'], p['severity'])} {p['code']} {place}: {p['message']}"
            )
    return lines


def _local_time(iso: str) -> str:
    """An ISO time from the ledger (UTC) as this computer's local time, to the minute."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso
