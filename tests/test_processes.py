"""A night's collect, and generate, give the same results however their worker processes start.

On Linux dxsheets forks them (fast; see `dxsheets.processes`). Windows and macOS start them with `spawn`,
and Python 3.14 makes `forkserver` Linux's default: workers that import dxsheets afresh and receive the
masters pickled. These tests collect one night's inbox of good, bad and hostile files each way, and
generate a prefecture's sheets with forked and spawned workers.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import hostile
import pytest
from promoter import Fill, drop, returned

from dxsheets import intake, processes
from dxsheets.collect import collect
from dxsheets.domain import Problem
from dxsheets.generate import generate_forms
from dxsheets.intake import Examined
from dxsheets.ledger import Ledger
from dxsheets.simulate import write_many_departments
from dxsheets.status import status_report
from dxsheets.workspace import Workspace, open_workspace


def _night(ws: Workspace) -> None:
    """Returns of several departments, a rule broken, a mail, and the small hostile corpus."""
    m = ws.masters()
    for code in ("0101", "0201", "0301"):
        drop(ws.inbox, f"{code}.xlsx", returned(ws.distribute, m.department(code)))
    drop(ws.inbox, "0401.xlsx", returned(ws.distribute, m.department("0401"), Fill(q1="たぶん")))
    corpus = hostile.build_corpus(ws.inbox / "hostile", source=returned(ws.distribute, m.department("0501")))
    for key, path in corpus.items():
        if key != "half_written":
            hostile.age(path, 3600)
    for path in ws.inbox.glob("*.xlsx"):
        hostile.age(path, 600)


def _fates(ws: Workspace) -> dict[str, tuple[str, list[str]]]:
    with Ledger(ws.ledger_path) as ledger:
        report = status_report(ledger, ws.masters())
    return {f["path"]: (f["status"], [p["code"] for p in f["problems"]]) for f in report["files"]}


@pytest.fixture
def start_method() -> Iterator[None]:
    """Python's own default start method, put back after the test."""
    before = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(before, force=True)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_night_collected_by_workers_started_afresh_ends_as_with_forked_ones(
    generated: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    _night(generated)
    other = open_workspace(shutil.copytree(generated.root, tmp_path / "other", symlinks=True))

    collect(generated, jobs=2)
    monkeypatch.setattr(processes, "START_METHOD", method)
    collect(other, jobs=2)

    forked, started_afresh = _fates(generated), _fates(other)
    assert started_afresh == forked
    statuses = {status for status, _ in forked.values()}
    assert {"accepted", "rejected", "unsupported", "ignored", "pending"} <= statuses
    assert forked["0401.xlsx"] == ("rejected", ["q1-invalid"])
    assert "hostile/回答.eml/回答_総務課.xlsx" in forked  # a mail's attachment, read by the workers too


def test_on_linux_workers_are_forked_whatever_pythons_default(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch, start_method: None
) -> None:
    """Forked workers start in milliseconds with what the parent holds; workers started afresh took
    twice as long over a collect of 1,000 returns. A change made in this process before the collect
    reaches only forked workers, which is how this test tells them apart."""
    if sys.platform != "linux":
        pytest.skip("dxsheets forks its workers on Linux only")
    multiprocessing.set_start_method("forkserver", force=True)  # Python 3.14's default on Linux
    m = generated.masters()
    drop(generated.inbox, "0101.xlsx", returned(generated.distribute, m.department("0101")))

    def examine(data: bytes, *args: object, **kwargs: object) -> Examined:
        return Examined("rejected", [Problem("seen-by-a-forked-worker", "error", "")])

    monkeypatch.setattr(intake, "examine", examine)
    collect(generated, jobs=2)

    assert _fates(generated)["0101.xlsx"] == ("rejected", ["seen-by-a-forked-worker"])


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_sheets_generated_by_worker_processes_are_those_of_one_process(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    write_many_departments(ws.root / "templates", 240)  # a prefecture's senders
    masters, secret, at = ws.masters(), ws.secret(), datetime(2026, 11, 20, 9, 0)
    monkeypatch.setattr(processes, "START_METHOD", method)

    alone = generate_forms(masters, secret, tmp_path / "alone", jobs=1, now=at)
    together = generate_forms(masters, secret, tmp_path / "together", jobs=2, now=at)

    assert len(alone) == len(together) == 240
    assert _digests(tmp_path / "together") == _digests(tmp_path / "alone")
