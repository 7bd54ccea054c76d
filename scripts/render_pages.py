"""Render the first page of dxsheets' workbooks to PNG for the README (docs/img/).

Why: a reader of the README should see what a promoter and the DX office actually get (the blank 課題抽出シート,
the summary's 概要, a WG's 仮説検証シート) before installing anything, and a maintainer should see when a change
makes a printed page worse.  The pictures are made the way a user would see them printed: LibreOffice
headless exports each workbook to PDF, poppler's pdftoppm rasterises page 1.

Usage:

    python scripts/render_pages.py [--out docs/img]

Needs soffice (LibreOffice Calc), pdftoppm and a Japanese font; without a CJK font LibreOffice draws boxes
instead of Japanese, so the script refuses to run rather than write useless pictures.  On Debian/Ubuntu:

    apt-get install -y libreoffice-calc-nogui fonts-noto-cjk poppler-utils
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The one headless-soffice runner (own profile, process group killed after), shared with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from libreoffice import soffice_convert  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
APT_HINT = "apt-get install -y libreoffice-calc-nogui fonts-noto-cjk poppler-utils"
RESOLUTION = 80  # dpi: legible in a README, small in git
BLANK_DEPT = "0401"  # a department with a 業務一覧, so the sheet shows the work-list dropdown column


class RenderError(RuntimeError):
    """A missing tool or a failed conversion, with a message that says what to do."""


def find_tools() -> tuple[str, str]:
    """soffice and pdftoppm on PATH, and a Japanese font, or a RenderError saying which apt packages to add."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    pdftoppm = shutil.which("pdftoppm")
    missing = [
        name for name, path in (("soffice (LibreOffice)", soffice), ("pdftoppm", pdftoppm)) if not path
    ]
    if missing:
        raise RenderError(f"{' and '.join(missing)} not found on PATH. Install them with:\n    {APT_HINT}")
    if shutil.which("fc-list"):
        fonts = subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True, check=False).stdout
        if not fonts.strip():
            raise RenderError(
                "No Japanese font installed (`fc-list :lang=ja` is empty): the pages would show boxes instead "
                f"of Japanese. Install one with:\n    {APT_HINT}"
            )
    assert soffice is not None and pdftoppm is not None
    return soffice, pdftoppm


def has_consolidate() -> bool:
    """True when this dxsheets' CLI consolidates (then `dxsheets demo` writes summary/ and hypothesis/)."""
    from dxsheets.cli import cli

    return bool({"run", "consolidate"} & set(cli.commands))


def make_workspace(root: Path) -> Path:
    """A demo workspace: the full `dxsheets demo` when it consolidates, else init + generate (blank sheets)."""
    if has_consolidate():
        done = subprocess.run(
            [sys.executable, "-m", "dxsheets", "demo", str(root)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if done.returncode != 0:
            raise RenderError(
                f"`dxsheets demo {root}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return root / "outbox"
    from dxsheets.generate import generate_forms
    from dxsheets.workspace import init_workspace

    ws, _ = init_workspace(root)
    generate_forms(ws.masters(), ws.secret(), ws.distribute, codes=[BLANK_DEPT])
    return ws.outbox


def pick_workbooks(outbox: Path) -> dict[str, Path]:
    """PNG name -> workbook whose first page it shows; summary and hypothesis only when they exist."""
    picks: dict[str, Path] = {}
    blanks = sorted((outbox / "distribute").rglob("*.xlsx"))
    preferred = [p for p in blanks if p.name.startswith(f"{BLANK_DEPT}_")]
    if not (preferred or blanks):
        raise RenderError(f"no blank sheet was generated under {outbox / 'distribute'}")
    picks["blank-sheet"] = (preferred or blanks)[0]
    summaries = sorted((outbox / "summary").glob("*.xlsx"))  # not history/: dated copies of the same
    if summaries:
        picks["summary-overview"] = summaries[0]  # its first sheet is 概要, so page 1 is the overview
    hypotheses = sorted((outbox / "hypothesis").glob("*.xlsx"))
    if hypotheses:
        picks["hypothesis"] = hypotheses[0]
    return picks


def to_pdf(workbooks: dict[str, Path], workdir: Path) -> dict[str, Path]:
    """Export every workbook to PDF with one soffice start and a throwaway profile (never the user's own)."""
    stage = workdir / "stage"
    stage.mkdir()
    for key, src in workbooks.items():  # unique, ASCII names: the PNG names, whatever the sources are called
        shutil.copyfile(src, stage / f"{key}.xlsx")
    pdf_dir = workdir / "pdf"
    pdf_dir.mkdir()
    _, _, stdout, stderr, _ = soffice_convert(
        [stage / f"{key}.xlsx" for key in workbooks], "pdf", pdf_dir, 300
    )
    pdfs = {key: pdf_dir / f"{key}.pdf" for key in workbooks}
    missing = [key for key, pdf in pdfs.items() if not pdf.is_file() or pdf.stat().st_size == 0]
    if missing:
        raise RenderError(f"LibreOffice wrote no PDF for {missing}\nstdout: {stdout}\nstderr: {stderr}")
    return pdfs


def first_page_png(pdftoppm: str, pdf: Path, png: Path) -> None:
    """Page 1 of `pdf` as `png` (pdftoppm -singlefile appends .png to the prefix itself)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            str(RESOLUTION),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(png.with_suffix("")),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if not png.is_file():
        raise RenderError(f"pdftoppm wrote no {png}")


def render(out: Path) -> list[Path]:
    """Make a demo workspace in a temporary folder and write the PNGs to `out`; return their paths."""
    _, pdftoppm = find_tools()
    written = []
    with tempfile.TemporaryDirectory(prefix="dxsheets-render-") as tmp:
        work = Path(tmp)
        outbox = make_workspace(work / "ws")
        pdfs = to_pdf(pick_workbooks(outbox), work)
        for key, pdf in pdfs.items():
            png = out / f"{key}.png"
            first_page_png(pdftoppm, pdf, png)
            written.append(png)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "docs" / "img", help="folder for the PNGs (default: docs/img)"
    )
    args = parser.parse_args(argv)
    try:
        written = render(args.out)
    except RenderError as exc:
        print(f"render_pages: {exc}", file=sys.stderr)
        return 1
    for png in written:
        print(f"wrote {png} ({png.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
