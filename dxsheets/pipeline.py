"""The nightly run: collect, then consolidate, one run at a time, with a JSON run log.

Made for cron and Windows Task Scheduler: a second run while one is going exits at once (AlreadyRunning),
and every run leaves `outbox/logs/run-<time>.json` with counts, new and changed files and stage durations.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .collect import CollectResult, collect
from .errors import AlreadyRunning
from .fsio import atomic_write_bytes, is_aside
from .ledger import Ledger
from .workspace import Workspace


def workspace_lock(ws: Workspace) -> FileLock:
    """The lock one run holds; portable (Windows too) through the filelock package."""
    ws.outbox.mkdir(parents=True, exist_ok=True)
    return FileLock(str(ws.lock_path), timeout=0)


@contextmanager
def exclusive(ws: Workspace) -> Iterator[None]:
    """Hold the workspace lock for one command that writes the ledger or the outputs (run, collect,
    consolidate): a staffer's `collect` while the nightly run is going exits at once instead of interleaving.

    Raises:
        AlreadyRunning: another command holds the lock.
    """
    lock = workspace_lock(ws)
    try:
        lock.acquire()
    except Timeout:
        raise AlreadyRunning(
            f"別の dxsheets が実行中です（{ws.lock_path}）。終わってから実行してください。"
        ) from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class Consolidated:
    summary: Path
    hypothesis: list[Path]
    kept_edited: list[Path] = field(default_factory=list)  # the summary staff had saved into, moved aside

    @property
    def written(self) -> list[Path]:
        """The workbooks consolidate wrote: the summary, then the hypothesis books."""
        return [self.summary, *self.hypothesis]


@dataclass
class RunResult:
    collect: CollectResult
    consolidated: Consolidated
    log: Path | None = None
    durations: dict[str, float] = field(default_factory=dict)


def consolidate(ws: Workspace, now: datetime | None = None) -> Consolidated:
    """Write the summary workbook and the per-WG hypothesis workbooks from the ledger."""
    from .consolidate import publish_summary
    from .hypothesis import write_hypothesis_books

    now = now or datetime.now()
    masters = ws.masters()
    with Ledger(ws.ledger_path) as ledger:
        summary, kept = publish_summary(ws, masters, ledger, now)
        books = write_hypothesis_books(ws, masters, ledger, ws.secret(), now)
    return Consolidated(summary, books, [kept] if kept else [])


def run(
    ws: Workspace,
    jobs: int | None = None,
    settle: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """collect -> consolidate under the workspace lock, then write the run log.

    Raises:
        AlreadyRunning: another run holds the lock.
    """
    with exclusive(ws):
        started = datetime.now()
        t0 = time.perf_counter()
        collected = collect(ws, jobs=jobs, settle=settle, on_progress=on_progress)
        t1 = time.perf_counter()
        done = consolidate(ws, started)
        t2 = time.perf_counter()
        result = RunResult(collected, done, durations={"collect": t1 - t0, "consolidate": t2 - t1})
        result.log = _write_log(ws, started, result)
        return result


def _write_log(ws: Workspace, started: datetime, result: RunResult) -> Path:
    c, done = result.collect, result.consolidated
    depts: dict[str, int] = {}
    for status in c.departments.values():
        depts[status] = depts.get(status, 0) + 1
    log: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now().isoformat(timespec="seconds"),
        "files": c.files,
        "departments": depts,
        "departments_moved": [  # status not what the last collect left
            {"code": code, "from": was, "to": now} for code, (was, now) in sorted(c.moved.items())
        ],
        "rechecked": c.rechecked,
        "rechecked_absent": c.rechecked_absent,
        "seen": c.seen,
        "examined": c.examined,
        "reused": c.reused,
        "new": c.new,
        "changed": c.changed,
        "feedback": [str(p.relative_to(ws.outbox)) for p in c.feedback],
        "unreadable_folders": c.unreadable_folders,
        "kept_previous": c.kept_previous,
        "saved_order_doubtful": c.doubtful,
        "vanished": c.vanished,
        "ledger_backup": str(c.ledger_backup.relative_to(ws.outbox)) if c.ledger_backup else None,
        "written_aside": [  # outputs open in Excel at the time, published beside their usual name
            str(p.relative_to(ws.outbox)) for p in (*c.feedback, *done.written) if is_aside(p)
        ],
        "summary": str(done.summary.relative_to(ws.outbox)),
        "kept_edited": [  # outputs people had saved into, moved aside before they were written again
            str(p.relative_to(ws.outbox)) for p in (*c.kept_edited, *done.kept_edited)
        ],
        "hypothesis": [str(p.relative_to(ws.outbox)) for p in done.hypothesis],
        "durations_seconds": {k: round(v, 3) for k, v in result.durations.items()},
    }
    path = ws.logs / f"run-{started:%Y%m%d-%H%M%S}.json"
    n = 1
    while path.exists():  # two runs within one second: keep both logs
        n += 1
        path = ws.logs / f"run-{started:%Y%m%d-%H%M%S}-{n}.json"
    atomic_write_bytes(path, json.dumps(log, ensure_ascii=False, indent=2).encode("utf-8"))
    return path
