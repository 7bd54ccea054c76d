"""The `dxsheets` command: a thin click shell over the library. Nothing imports this module."""

from __future__ import annotations

import errno
import functools
import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .collect import CollectResult
from .collect import collect as collect_inbox
from .domain import Masters
from .errors import DxsheetsError
from .fsio import is_aside
from .generate import generate_forms
from .ledger import Ledger, ledger_fault
from .pipeline import Consolidated, RunResult, exclusive
from .pipeline import consolidate as consolidate_outputs
from .pipeline import run as run_pipeline
from .status import DEPT_STATUS_JA, FILE_STATUS_JA, for_department, status_lines, status_report
from .text import shown
from .workspace import Workspace, init_workspace, open_workspace

F = TypeVar("F", bound=Callable[..., Any])


def workspace_option(fn: F) -> F:
    return click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="ワークスペースのフォルダ (templates/ inbox/ outbox/ があるところ).",
    )(fn)


def reports_errors(fn: F) -> F:
    """Turn dxsheets faults into one `Error: ...` line and the fault's exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DxsheetsError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError as exc:
            if not _reader_gone(sys.stdout):
                click.echo(f"Error: {os_error_message(exc)}", err=True)
            # `dxsheets status | head`: the reader has what it wanted. No message, and nothing more written
            # (Python would otherwise report the failed flush of stdout at exit).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:  # the file system refused: say which file and what to do, not a traceback
            click.echo(f"Error: {os_error_message(exc)}", err=True)
            sys.exit(1)
        except sqlite3.Error as exc:  # the ledger failed mid-command (a full disk, a lock held too long)
            ledger = Workspace(kwargs.get("workspace") or Path(".")).ledger_path
            click.echo(f"Error: {ledger_fault(ledger, exc)}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _reader_gone(stream: Any) -> bool:
    """Whether the pipe `stream` writes to has lost its reader (POSIX: poll says so without writing)."""
    try:
        import select

        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or not a real file
        return False


def _dept_label(masters: Masters | None, code: str) -> str:
    """ "市民課 " for a department the masters know, else nothing (the code alone is shown)."""
    dept = masters.department(code) if masters else None
    return f"{dept.ka} " if dept else ""


def _some(paths: list[str], count: int = 5) -> str:
    """A few paths for one line of output, shown as they are; the run log has them all."""
    more = f" ほか {len(paths) - count} 件" if len(paths) > count else ""
    return ", ".join(shown(p) for p in paths[:count]) + more


def os_error_message(exc: OSError) -> str:
    """One line for a refusal of the file system (Japanese, for the DX staffer)."""
    where = f"{exc.filename}: " if exc.filename else ""
    if isinstance(exc, PermissionError):
        return (
            f"{where}書き込めません（Excel などで開かれているか、アクセス権がありません）。"
            "閉じるか権限を確認して、やり直してください。"
        )
    if exc.errno == errno.ENOSPC:
        return f"{where}ディスクの空きがありません。空きを作ってやり直してください。"
    return f"{where}ファイル操作に失敗しました（{exc.strerror or type(exc).__name__}）。"


@click.group()
@click.version_option(__version__, prog_name="dxsheets")
def cli() -> None:
    """dxsheets: 課題抽出シートの配布・回収・チェック・集計を Excel で回します.

    generate -> (departments answer) -> collect -> consolidate, or `run` nightly.
    """


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@reports_errors
def init(directory: Path) -> None:
    """Create a workspace with the default masters (existing files are kept).

    Example:

        dxsheets init ./dx2026
    """
    ws, written = init_workspace(directory)
    for path in written:
        click.echo(f"作成: {path.relative_to(ws.root)}")
    click.echo(f"ワークスペース: {ws.root}（マスタは templates/ を Excel で編集してください）")


@cli.command()
@workspace_option
@click.option("--dept", "depts", multiple=True, metavar="CODE", help="この部署コードだけ作る（繰り返し可）.")
@click.option("--eml", is_flag=True, help="部署ごとに未送信のメール下書き (.eml) も作る.")
@reports_errors
def generate(workspace: Path, depts: tuple[str, ...], eml: bool) -> None:
    """Write one blank 課題抽出シート per active department to outbox/distribute/.

    Example:

        dxsheets generate --eml
    """
    ws = open_workspace(workspace)
    masters = ws.masters()
    unknown = [c for c in depts if masters.department(c) is None]
    if unknown:
        raise click.UsageError(f"部署コード {', '.join(unknown)} は部署一覧にありません。")
    done = generate_forms(masters, ws.secret(), ws.distribute, codes=depts or None, eml=eml)
    click.echo(f"{len(done)} 部署分の課題抽出シートを作成しました: {ws.distribute}")
    if eml:
        click.echo("メール下書き (.eml) も同じフォルダにあります（未送信の下書きとして開きます）。")


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="機械可読な JSON で出力する.")(fn)


def _progress(label: str) -> Callable[[int, int], None] | None:
    """A progress bar on a terminal; nothing under cron or Task Scheduler."""
    if not sys.stderr.isatty():
        return None
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.length = total  # grows when a mail holds several workbooks
        bar.update(1)
        if done >= total:
            bar.__exit__(None, None, None)

    return update


_RECHECKED_JA = {
    "masters": "templates/ のマスタか secret.key が前回の回収から変わったため、すべての返送をチェックし直しました。",
    "rules": "dxsheets の更新でチェックの規則が変わったため、すべての返送をチェックし直しました。",
}


def echo_collect(result: CollectResult, masters: Masters | None = None) -> None:
    files = ", ".join(f"{FILE_STATUS_JA[k]} {v}" for k, v in result.files.items() if v)
    depts = {k: sum(1 for s in result.departments.values() if s == k) for k in DEPT_STATUS_JA}
    click.echo(
        f"回収: {result.seen} 件（新規 {len(result.new)}・変更 {len(result.changed)}・読取 {result.examined}"
        f"・前回の結果を再利用 {result.reused}）"
    )
    click.echo(f"ファイル: {files or 'なし'}")
    click.echo("部署: " + "・".join(f"{DEPT_STATUS_JA[k]} {v}" for k, v in depts.items()))
    if result.rechecked:
        click.echo(_RECHECKED_JA[result.rechecked])
    if result.rechecked_absent:
        click.echo(
            f"inbox から移された返送 {result.rechecked_absent} 件も、outbox/archive/ の保管コピーで"
            "チェックし直しました（回答として数えています）。"
        )
    if result.moved:
        moves = [
            f"{code} {_dept_label(masters, code)}{DEPT_STATUS_JA[was]}→{DEPT_STATUS_JA[now]}"
            for code, (was, now) in sorted(result.moved.items())
        ]
        click.echo(f"前回の回収から状況が変わった部署 {len(moves)} 件: {_some(moves, 10)}")
    if result.feedback:
        click.echo(f"修正依頼のブック {len(result.feedback)} 件: {result.feedback[0].parent}")
    echo_aside(result.feedback)
    echo_kept_edited(result.kept_edited)
    if result.doubtful:
        click.echo(
            f"注意: 届いた順（ファイルの時刻）とブックの保存日時が食い違う回答 {len(result.doubtful)} 件"
            f"（どちらが最新か status で確認してください）: {_some(result.doubtful)}"
        )
    if result.kept_previous:
        click.echo(
            f"開かれているか保存中のため、前回取り込んだ内容を使ったファイル {len(result.kept_previous)} 件"
            f"（次回読み直します）: {_some(result.kept_previous)}"
        )
    if result.vanished:
        click.echo(
            f"警告: inbox が空です。前回の回収では {result.vanished} 件ありました。共有フォルダの接続を確認してください"
            "（記録と回答はそのまま残しています）。",
            err=True,
        )
    if result.unreadable_folders:
        click.echo(
            f"警告: inbox のフォルダ {len(result.unreadable_folders)} 件の中を読み取れず、回収していません"
            f"（アクセス権を確認してください）: {_some(result.unreadable_folders, 20)}",
            err=True,
        )


@cli.command()
@workspace_option
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=None, help="読み取りに使うプロセス数（既定: コア数）."
)
@reports_errors
def collect(workspace: Path, jobs: int | None) -> None:
    """Take in every file in inbox/ (any depth, .eml attachments too), check it and record it in the ledger.

    inbox/ is never modified. Departments whose latest return has errors get a feedback workbook in
    outbox/feedback/.

    Example:

        dxsheets collect
    """
    ws = open_workspace(workspace)
    with exclusive(ws):
        result = collect_inbox(ws, jobs=jobs, on_progress=_progress("読取"))
    echo_collect(result, ws.masters())


@cli.command()
@workspace_option
@json_option
@click.option(
    "--dept",
    metavar="CODE",
    default=None,
    help="この部署だけ: 状況と、その部署のファイル（部署を読み取れなかったファイルは名前に部署コードか課名を含むもの）.",
)
@reports_errors
def status(workspace: Path, as_json: bool, dept: str | None) -> None:
    """Show per department answered / not answered / needs fixing, and per file its fate and problems.

    Examples:

        dxsheets status --json

        dxsheets status --dept 0402
    """
    ws = open_workspace(workspace)
    masters = ws.masters()
    one = masters.department(dept) if dept is not None else None
    if dept is not None and one is None:
        raise click.UsageError(f"部署コード {dept} は部署一覧にありません。")
    with Ledger(ws.ledger_path) as ledger:
        report = status_report(ledger, masters)
    if one is not None:
        report = for_department(report, one)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    click.echo("\n".join(status_lines(report)))


@cli.command()
@workspace_option
@reports_errors
def consolidate(workspace: Path) -> None:
    """Write the summary workbook and one hypothesis workbook per WG from the ledger.

    Example:

        dxsheets consolidate
    """
    ws = open_workspace(workspace)
    with exclusive(ws):
        done = consolidate_outputs(ws)
    echo_consolidated(ws, done)


def echo_consolidated(ws: Any, done: Consolidated) -> None:
    click.echo(f"集計: {done.summary}")
    echo_kept_edited(done.kept_edited)
    click.echo(f"仮説検証シート {len(done.hypothesis)} 件: {ws.hypothesis}")
    echo_aside(done.written)


def echo_kept_edited(kept: list[Path]) -> None:
    """Say which outputs people had saved into were moved aside before being written again."""
    for path in kept:
        click.echo(f"書き込みがあったため、上書きせずに {path.name} として残しました。")


def echo_aside(written: list[Path]) -> None:
    """Warn about outputs published beside their usual name because that file was open in Excel."""
    aside = [p for p in written if is_aside(p)]
    if aside:
        click.echo(
            f"警告: Excel などで開かれていて上書きできなかったため、{len(aside)} 件を別名で保存しました"
            f"（閉じれば次回から元の名前で更新します）: {', '.join(p.name for p in aside)}",
            err=True,
        )


def echo_run(ws: Any, result: RunResult) -> None:
    echo_collect(result.collect, ws.masters())
    echo_consolidated(ws, result.consolidated)
    click.echo(f"実行ログ: {result.log}")


@cli.command(name="run")
@workspace_option
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=None, help="読み取りに使うプロセス数（既定: コア数）."
)
@click.option("--verbose", is_flag=True, help="予期しないエラーのトレースバックを表示する.")
@reports_errors
def run_cmd(workspace: Path, jobs: int | None, verbose: bool) -> None:
    """The nightly job: collect, then consolidate. One run at a time; a JSON log in outbox/logs/.

    Exit codes: 0 finished (even with rejected files), 1 the run failed, 2 usage, 3 another run is going.

    Example (cron, every night at 2:00, in Japan time whatever the server's time zone; Windows Task
    Scheduler: see the README):

    \b
        0 2 * * * cd /srv/dx2026 && TZ=JST-9 /srv/dx2026/.venv/bin/dxsheets run >> outbox/logs/cron.txt 2>&1
    """
    ws = open_workspace(workspace)
    try:
        result = run_pipeline(ws, jobs=jobs, on_progress=_progress("読取"))
    except DxsheetsError:
        raise
    except sqlite3.Error as exc:
        raise ledger_fault(ws.ledger_path, exc) from None
    except Exception as exc:  # an unexpected fault: one clear line, the traceback only when asked
        if verbose:
            raise
        message = (
            os_error_message(exc)
            if isinstance(exc, OSError)
            else f"実行に失敗しました（{type(exc).__name__}: {exc}）。--verbose で詳細を表示します。"
        )
        click.echo(f"Error: {message}", err=True)
        sys.exit(1)
    echo_run(ws, result)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
@reports_errors
def demo(directory: Path | None) -> None:
    """The whole job on the bundled defaults, in a fresh workspace (temporary unless DIRECTORY).

    Generates the blank sheets, simulates a night of returns (good answers, mistakes, re-sent, mailed,
    duplicated, broken and hostile files; seeded, so the same every time), runs the nightly job and
    says where everything is.

    Example:

        dxsheets demo
    """
    import time

    from .simulate import drop_returns, plan_returns

    root = directory or Path(tempfile.mkdtemp(prefix="dxsheets-demo-"))
    ws, _ = init_workspace(root)
    masters = ws.masters()
    done = generate_forms(masters, ws.secret(), ws.distribute)
    click.echo(f"デモ用ワークスペース: {ws.root}")
    click.echo(f"配布用の課題抽出シート {len(done)} 件: {ws.distribute}")
    now = time.time()
    plans = plan_returns(masters, ws.distribute, now)
    drop_returns(ws.inbox, plans, now)
    click.echo(
        f"返送ファイル {len(plans)} 件を inbox/ に置きました（誤り・再送・重複・壊れたファイルを含む）。"
    )
    result = run_pipeline(ws, on_progress=_progress("読取"))
    echo_run(ws, result)
    click.echo(f"修正依頼: {ws.feedback}")


def main() -> None:
    _never_fail_on_output()
    cli(prog_name="dxsheets")


def _never_fail_on_output() -> None:
    """Print what the console's encoding cannot hold as escapes instead of failing.

    On Windows, output redirected to a file (Task Scheduler's `>> task.txt`, `status > 状況.txt`) is in the
    ANSI code page, cp932, which lacks characters that Japanese names use (𠮷田) and emoji: one such file
    name in the inbox made `status` end in a traceback. It prints as `\\U00020bb7田` instead.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # absent when a test or a tool replaced it
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":  # pragma: no cover
    main()
