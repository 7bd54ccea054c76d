"""The `dxsheets` command: a thin click shell over the library. Nothing imports this module."""

from __future__ import annotations

import functools
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import DxsheetsError
from .generate import generate_forms
from .workspace import init_workspace, open_workspace

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

    return wrapper  # type: ignore[return-value]


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


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
@reports_errors
def demo(directory: Path | None) -> None:
    """Run the whole job on the bundled defaults in a fresh workspace (temporary unless DIRECTORY).

    Example:

        dxsheets demo
    """
    root = directory or Path(tempfile.mkdtemp(prefix="dxsheets-demo-"))
    ws, _ = init_workspace(root)
    done = generate_forms(ws.masters(), ws.secret(), ws.distribute)
    click.echo(f"デモ用ワークスペース: {ws.root}")
    click.echo(f"配布用の課題抽出シート {len(done)} 件: {ws.distribute}")


def main() -> None:
    cli(prog_name="dxsheets")


if __name__ == "__main__":  # pragma: no cover
    main()
