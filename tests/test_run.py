"""The nightly run for cron and Task Scheduler: one at a time, a log, clear exit codes; and the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from promoter import Fill, drop, returned

from dxsheets.cli import cli
from dxsheets.ledger import Ledger
from dxsheets.pipeline import workspace_lock
from dxsheets.workspace import Workspace


def test_run_collects_consolidates_and_logs(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    drop(generated.inbox, "b.xlsx", returned(generated.distribute, m.department("0102"), Fill(q1="多分")))
    drop(generated.inbox, "junk.xlsx", b"not a workbook")
    result = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    assert result.exit_code == 0, result.output  # rejected files are not a failed run
    assert "回答済み 1・要修正 1・未回答 59" in result.stdout
    (log_path,) = list(generated.logs.glob("run-*.json"))
    log = json.loads(log_path.read_text(encoding="utf-8"))
    assert log["files"]["accepted"] == 1 and log["files"]["rejected"] == 2
    assert sorted(log["new"]) == ["a.xlsx", "b.xlsx", "junk.xlsx"]
    assert set(log["durations_seconds"]) == {"collect", "consolidate"}
    assert (generated.outbox / log["summary"]).exists()
    assert len(log["hypothesis"]) == 13
    # A second night with one new file: the log says what is new.
    drop(generated.inbox, "c.xlsx", returned(generated.distribute, m.department("0103")))
    CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    logs = sorted(generated.logs.glob("run-*.json"), key=lambda p: p.stat().st_mtime_ns)
    assert len(logs) == 2, "every run keeps its own log"
    assert json.loads(logs[-1].read_text(encoding="utf-8"))["new"] == ["c.xlsx"]


def test_a_second_run_while_one_is_going_exits_at_once(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    lock = workspace_lock(generated)
    with lock:
        # A staffer's own collect or consolidate during the nightly run waits its turn too.
        for args in (["run"], ["collect"], ["consolidate"]):
            result = CliRunner().invoke(cli, [*args, "-w", str(generated.root)])
            assert result.exit_code == 3, (args, result.output)
            assert result.stderr.startswith("Error: 別の dxsheets が実行中です")
        # Reading is not writing: status answers while a run is going.
        assert CliRunner().invoke(cli, ["status", "-w", str(generated.root)]).exit_code == 0
    assert not generated.summary.exists()
    assert not generated.archive.exists(), "the refused collect took nothing in"


def test_a_broken_master_fails_the_run_with_one_line(generated: Workspace) -> None:
    (generated.templates / "round.xlsx").unlink()
    result = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "round.xlsx" in result.stderr
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(ws: Workspace) -> None:
    assert CliRunner().invoke(cli, ["run", "--no-such-option"]).exit_code == 2
    assert CliRunner().invoke(cli, ["collect", "--jobs", "0", "-w", str(ws.root)]).exit_code == 2


def test_demo_produces_summary_hypothesis_feedback_and_log(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "demo" / "outbox"
    summaries = list((out / "summary").glob("*.xlsx"))
    assert len(summaries) == 1
    wb = openpyxl.load_workbook(summaries[0])
    assert wb.sheetnames[0] == "概要"
    assert len(list((out / "hypothesis").glob("WG*.xlsx"))) == 13
    assert len(list((out / "feedback").glob("*_要修正.xlsx"))) == 3
    assert len(list((out / "logs").glob("run-*.json"))) == 1
    assert "回答済み 50・要修正 3・未回答 8" in result.stdout
    # As a night's files would be: each workbook was saved before it was sent, so the evidence reads in order.
    with Ledger(out / "ledger.sqlite3") as ledger:
        stamped = [(r.path, r.saved_at, r.sent_at) for r in ledger.files() if r.saved_at and r.sent_at]
    assert len(stamped) >= 55
    assert [row for row in stamped if datetime.fromisoformat(row[1]) >= datetime.fromisoformat(row[2])] == []
    # Rows inserted as the protection allows, under Q2 and inside the checklist: accepted, each said once.
    with Ledger(out / "ledger.sqlite3") as ledger:
        said = {(p.code, r.status) for r in ledger.files() for p in ledger.problems(r.path)}
    assert {("rows-below-table", "accepted"), ("typed-outside-input", "accepted")} <= said
    # Deterministic: a second demo elsewhere gives the same counts, and so does the README's example.
    again = CliRunner().invoke(cli, ["demo", str(tmp_path / "demo2")])
    counts = ("返送ファイル", "回収", "ファイル", "部署")
    assert [line for line in again.stdout.splitlines() if line.startswith(counts)] == [
        line for line in result.stdout.splitlines() if line.startswith(counts)
    ]
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("`dxsheets demo` creates", 1)[1].split("```", 2)[1]
    assert [line for line in example.splitlines() if line.startswith(counts)] == [
        line for line in result.stdout.splitlines() if line.startswith(counts)
    ]


def test_no_command_changes_moves_or_deletes_anything_in_the_inbox(generated: Workspace) -> None:
    import hashlib

    m = generated.masters()
    drop(generated.inbox, "a/0101.xlsx", returned(generated.distribute, m.department("0101")))
    drop(generated.inbox, "b.xlsx", returned(generated.distribute, m.department("0102"), Fill(q1="多分")))
    drop(generated.inbox, "~$b.xlsx", b"lock")
    drop(generated.inbox, "broken.xlsx", b"PK\x03\x04broken")

    def snapshot() -> dict[str, tuple[str, float, int]]:
        return {
            p.relative_to(generated.inbox).as_posix(): (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                p.stat().st_mtime,
                p.stat().st_mode,
            )
            for p in generated.inbox.rglob("*")
            if p.is_file()
        } | {"dirs": (str(sorted(p.as_posix() for p in generated.inbox.rglob("*"))), 0.0, 0)}

    before = snapshot()
    for args in (["collect"], ["status"], ["status", "--json"], ["consolidate"], ["run"], ["generate"]):
        result = CliRunner().invoke(cli, [*args, "-w", str(generated.root)])
        assert result.exit_code == 0, (args, result.output)
        assert snapshot() == before, args


def test_outputs_open_in_excel_are_published_beside_and_the_night_goes_on(
    generated: Workspace, open_in_excel: set[Path]
) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    drop(generated.inbox, "b.xlsx", returned(generated.distribute, m.department("0102"), Fill(q1="多分")))
    assert CliRunner().invoke(cli, ["run", "-w", str(generated.root)]).exit_code == 0
    (summary,) = generated.summary.glob("*.xlsx")  # history/ holds the dated copies
    feedback = next(generated.feedback.glob("*.xlsx"))
    book = next(generated.hypothesis.glob("*.xlsx"))
    before = {p: p.read_bytes() for p in (summary, feedback, book)}
    open_in_excel.update(before)  # the next morning they are open on the DX office's PCs
    drop(generated.inbox, "c.xlsx", returned(generated.distribute, m.department("0103")))
    result = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    assert result.exit_code == 0, result.output
    assert "別名で保存しました" in result.stderr and "閉じれば次回から元の名前で更新します" in result.stderr
    assert all(p.read_bytes() == data for p, data in before.items())  # the open files are untouched
    aside = sorted(p for p in generated.outbox.rglob("*使用中のため別名*.xlsx"))
    assert {p.parent for p in aside} == {summary.parent, feedback.parent, book.parent}
    new_summary = next(p for p in aside if p.parent == summary.parent)
    assert new_summary.name.startswith(summary.stem + "_使用中のため別名_")
    wb = openpyxl.load_workbook(new_summary, read_only=True)  # the new summary is whole, with c.xlsx in it
    assert "回答状況" in wb.sheetnames
    wb.close()
    (log_path,) = sorted(generated.logs.glob("run-*.json"), key=lambda p: p.stat().st_mtime_ns)[-1:]
    log = json.loads(log_path.read_text(encoding="utf-8"))
    assert sorted(log["written_aside"]) == sorted(str(p.relative_to(generated.outbox)) for p in aside)
    assert not list(generated.outbox.rglob(".*.tmp*")), "no temporary file is left behind"
    # Closed again: the next night writes them under their usual names.
    open_in_excel.clear()
    assert CliRunner().invoke(cli, ["run", "-w", str(generated.root)]).exit_code == 0
    assert summary.read_bytes() != before[summary]


def test_aside_copies_do_not_pile_up_night_after_night(
    generated: Workspace, open_in_excel: set[Path]
) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    run = ["run", "-w", str(generated.root)]
    assert CliRunner().invoke(cli, run).exit_code == 0
    (summary,) = generated.summary.glob("*.xlsx")
    book = sorted(generated.hypothesis.glob("*.xlsx"))[0]
    open_in_excel.update((summary, book))  # left open on a PC, night after night

    def asides(usual: Path) -> list[Path]:
        return sorted(usual.parent.glob(f"{usual.stem}_使用中のため別名_*.xlsx"))

    assert CliRunner().invoke(cli, run).exit_code == 0
    (first_summary,) = asides(summary)
    (first_book,) = asides(book)
    open_in_excel.add(first_summary)  # someone opened last night's copy too
    assert CliRunner().invoke(cli, run).exit_code == 0
    # The new copies replace the old ones; a copy that is itself open stays until it is closed.
    assert len(asides(summary)) == 2 and first_summary in asides(summary)
    (second_book,) = asides(book)
    assert second_book != first_book
    # A WG member types into tonight's copy of the hypothesis book: their work is never removed.
    wb = openpyxl.load_workbook(second_book)
    wb.worksheets[0]["B5"] = "講座を3回開く"
    wb.save(second_book)
    open_in_excel.clear()
    assert CliRunner().invoke(cli, run).exit_code == 0
    assert asides(summary) == [], "closed: the usual name is written and the copies go (history/ has each)"
    assert asides(book) == [second_book]


def test_a_full_disk_fails_the_run_with_one_line(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from dxsheets import pipeline

    def full(ws, *_args):
        raise OSError(errno.ENOSPC, "No space left on device", str(ws.logs / "run.json"))

    monkeypatch.setattr(pipeline, "_write_log", full)
    result = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "ディスクの空きがありません" in result.stderr
    assert "run.json" in result.stderr and "Traceback" not in result.output


def test_a_damaged_ledger_is_told_with_the_backup_to_restore_and_restoring_it_works(
    generated: Workspace,
) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    assert CliRunner().invoke(cli, ["run", "-w", str(generated.root)]).exit_code == 0
    # The next night backs the ledger up before changing it.
    drop(generated.inbox, "b.xlsx", returned(generated.distribute, m.department("0102")))
    assert CliRunner().invoke(cli, ["run", "-w", str(generated.root)]).exit_code == 0
    (backup,) = (generated.outbox / "backup").glob("ledger-*.sqlite3")
    newest = max(generated.logs.glob("run-*.json"), key=lambda p: p.stat().st_mtime_ns)
    assert json.loads(newest.read_text(encoding="utf-8"))["ledger_backup"] == f"backup/{backup.name}"
    # Then the ledger is damaged (a crash mid-write, a share that dropped): every command says so in one line.
    generated.ledger_path.write_bytes(b"\x00garbage" * 500)
    for args in (["status"], ["collect"], ["consolidate"], ["run"]):
        result = CliRunner().invoke(cli, [*args, "-w", str(generated.root)])
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
        assert "台帳が壊れています" in result.stderr and str(backup) in result.stderr
    # Done as the message says: the backup put back, and the next run reads what came after it again.
    generated.ledger_path.write_bytes(backup.read_bytes())
    assert CliRunner().invoke(cli, ["run", "-w", str(generated.root)]).exit_code == 0
    report = json.loads(CliRunner().invoke(cli, ["status", "--json", "-w", str(generated.root)]).stdout)
    assert {f["path"]: f["status"] for f in report["files"]} == {"a.xlsx": "accepted", "b.xlsx": "accepted"}


def test_without_a_backup_a_damaged_ledger_is_rebuilt_from_the_inbox(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    assert CliRunner().invoke(cli, ["collect", "-w", str(generated.root)]).exit_code == 0
    ledger = generated.ledger_path
    data = bytearray(ledger.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # pages overwritten; the first one, the header, is intact
    ledger.write_bytes(bytes(data))
    result = CliRunner().invoke(cli, ["status", "-w", str(generated.root)])
    assert result.exit_code == 1 and "台帳が壊れています" in result.stderr
    assert "inbox/ にあるファイルから作り直します" in result.stderr and result.stderr.count("\n") == 1
    ledger.rename(ledger.with_name("ledger-壊れた.sqlite3"))
    assert CliRunner().invoke(cli, ["collect", "-w", str(generated.root)]).exit_code == 0
    report = json.loads(CliRunner().invoke(cli, ["status", "--json", "-w", str(generated.root)]).stdout)
    assert [(f["path"], f["status"]) for f in report["files"]] == [("a.xlsx", "accepted")]


def test_a_week_of_ledger_backups_is_kept(generated: Workspace) -> None:
    from dxsheets.ledger import BACKUPS_KEPT, Ledger, backups

    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    CliRunner().invoke(cli, ["collect", "-w", str(generated.root)])
    with Ledger(generated.ledger_path) as ledger:
        made = [ledger.back_up() for _ in range(BACKUPS_KEPT + 3)]
    assert backups(generated.ledger_path) == made[-BACKUPS_KEPT:]
    with Ledger(made[-1]) as copy:
        assert [r.path for r in copy.files()] == ["a.xlsx"]


def test_output_redirected_in_a_code_page_without_a_name_still_prints(generated: Workspace) -> None:
    """Windows writes redirected output (Task Scheduler's log, `status > 状況.txt`) in cp932, which has no 𠮷."""
    m = generated.masters()
    drop(generated.inbox, "𠮷田_0101.xlsx", returned(generated.distribute, m.department("0101")))
    env = {**os.environ, "PYTHONIOENCODING": "cp932"}
    for args in (["run"], ["status"]):
        done = subprocess.run(
            [sys.executable, "-m", "dxsheets", *args, "-w", str(generated.root)],
            env=env,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode("cp932", "replace")
    out = done.stdout.decode("cp932")
    assert "[受理] \\U00020bb7田_0101.xlsx  部署 0101" in out


def test_a_backup_that_cannot_be_written_stops_the_night_before_any_change(
    generated: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))
    assert CliRunner().invoke(cli, ["run", "-w", str(generated.root)]).exit_code == 0
    before = generated.ledger_path.read_bytes()
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst).parent.name == "backup":
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    drop(generated.inbox, "b.xlsx", returned(generated.distribute, m.department("0102")))
    result = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
    assert result.exit_code == 1 and "ディスクの空きがありません" in result.stderr
    assert list((generated.outbox / "backup").iterdir()) == [], "no half copy is left behind"
    assert generated.ledger_path.read_bytes() == before, "nothing was changed without its backup"


def test_output_piped_into_a_reader_that_stops_early_ends_quietly(ws: Workspace) -> None:
    """`dxsheets status | head`: once the reader has gone, no traceback and no error line on the terminal."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dxsheets", "status", "-w", str(ws.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.decode() == ""


def test_notes_staff_saved_into_the_summary_are_kept_aside_not_overwritten(generated: Workspace) -> None:
    m = generated.masters()
    drop(generated.inbox, "a.xlsx", returned(generated.distribute, m.department("0101")))

    def run() -> str:
        result = CliRunner().invoke(cli, ["run", "-w", str(generated.root)])
        assert result.exit_code == 0, result.output
        return result.stdout

    run()
    (summary,) = generated.outbox.glob("summary/*.xlsx")
    wb = openpyxl.load_workbook(summary)
    wb["回答状況"]["N2"] = "電話で督促済み"  # a staffer's note, saved into the morning's summary
    wb.save(summary)
    drop(generated.inbox, "b.xlsx", returned(generated.distribute, m.department("0102")))
    out = run()
    (kept,) = generated.outbox.glob("summary/*_編集版_*.xlsx")
    assert f"上書きせずに {kept.name} として残しました" in out
    assert openpyxl.load_workbook(kept)["回答状況"]["N2"].value == "電話で督促済み"
    fresh = openpyxl.load_workbook(summary)["回答状況"]
    assert fresh["N2"].value is None and fresh["E3"].value == "回答済み"  # tonight's, with 0102 answered
    (log_line,) = [line for line in out.splitlines() if line.startswith("実行ログ: ")]
    log = json.loads(Path(log_line.removeprefix("実行ログ: ")).read_text(encoding="utf-8"))  # this night's
    assert log["kept_edited"] == [f"summary/{kept.name}"]
    assert "残しました" not in run()  # not edited since: simply rewritten
    assert len(list(generated.outbox.glob("summary/*_編集版_*.xlsx"))) == 1
