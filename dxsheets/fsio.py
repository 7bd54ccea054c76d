"""File-system helpers: atomic writes and names that are safe on Windows."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def safe_filename(text: str, max_length: int = 60) -> str:
    """Turn a department or WG name into a file-name part Windows, macOS and Linux all accept.

    Forbidden characters become '_', trailing dots and spaces go (Windows drops them silently), reserved
    device names (CON, NUL, COM1 ...) get a '_' suffix and the length is bounded so deep shared-drive paths
    stay under Windows' limits.
    """
    name = unicodedata.normalize("NFC", text)
    name = _FORBIDDEN.sub("_", name).strip().rstrip(". ")
    name = name[:max_length].rstrip(". ")
    if not name:
        name = "_"
    if name.split(".")[0].upper() in _RESERVED:
        name += "_"
    return name


# Written into the name of an output that could not replace its predecessor because that one is open.
ASIDE_MARK = "使用中のため別名"
# Written into the name an output is moved to when people saved their own edits into it.
EDITED_MARK = "編集版"


def keep_edited(final: Path) -> Path | None:
    """Move `final`, which people have saved their own edits into, to `<stem>_編集版_<YYYYmmdd-HHMMSS>`
    beside it, so the fresh output can take the usual name without losing their work. None when it
    cannot be moved (open in Excel: the fresh output then goes beside it, see `atomic_output`)."""
    target = _marked_path(final, EDITED_MARK)
    try:
        os.replace(final, target)
    except OSError:
        return None
    return target


@dataclass
class Output:
    """An output being written: the temporary file to write, and where its content went once published."""

    tmp: Path
    path: Path  # the final path, or a name beside it when the final file was open (see `atomic_output`)


@contextlib.contextmanager
def atomic_output(final: Path, aside_if_open: bool = False) -> Iterator[Output]:
    """Yield an `Output` whose `tmp` is written; on success it replaces `final` in one step.

    A crash or an exception while writing leaves the previous `final` whole and no temporary file behind.
    With `aside_if_open`, when `final` cannot be replaced because it is open (Windows refuses to replace a
    workbook that Excel has open, on a share too), the content is published beside it as
    `<stem>_使用中のため別名_<YYYYmmdd-HHMMSS><suffix>` and `path` says so, instead of failing the run.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.stem[:40]}.", suffix=".tmp" + final.suffix, dir=final.parent
    )
    os.close(fd)
    out = Output(Path(tmp_name), final)
    try:
        yield out
        with open(out.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.replace(out.tmp, final)
        except PermissionError:
            if not (aside_if_open and final.exists()):
                raise  # not an open file: the folder itself refuses, which a name beside it cannot fix
            out.path = _marked_path(final, ASIDE_MARK)
            os.replace(out.tmp, out.path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            out.tmp.unlink()


def _marked_path(final: Path, mark: str) -> Path:
    """A free name beside `final`: `<stem>_<mark>_<YYYYmmdd-HHMMSS>[-n]<suffix>`."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = final.with_name(f"{final.stem}_{mark}_{stamp}{final.suffix}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = final.with_name(f"{final.stem}_{mark}_{stamp}-{n}{final.suffix}")
    return candidate


def aside_copies(final: Path) -> list[Path]:
    """The copies published beside `final` on earlier nights because it was open, oldest first."""
    if not final.parent.is_dir():
        return []
    return sorted(final.parent.glob(f"{glob_escape(final.stem)}_{ASIDE_MARK}_*{final.suffix}"))


def remove_stale_asides(final: Path, published: Path, keep: Callable[[Path], bool] = lambda _: False) -> None:
    """Remove the aside copies of `final` other than `published` (this run's), except those `keep` says.

    Run after publishing: the newest content is in `published`, so an earlier aside copy only clutters the
    folder (one a night while someone leaves the usual file open). One that is open itself stays; it goes on
    a later night.
    """
    for old in aside_copies(final):
        if old != published and not keep(old):
            with contextlib.suppress(OSError):
                old.unlink()


def glob_escape(text: str) -> str:
    """`text` matched literally by Path.glob ([, ], * and ? in a department or WG name)."""
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def is_aside(path: Path) -> bool:
    """True for an output published beside its usual name because that file was open."""
    return f"_{ASIDE_MARK}_" in path.name


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it replaces `final` in one step.

    A crash or an exception while writing leaves the previous `final` whole and no temporary file behind.
    """
    with atomic_output(final) as out:
        yield out.tmp


def atomic_write_bytes(final: Path, data: bytes, aside_if_open: bool = False) -> Path:
    """Write `data` to `final` atomically (temp file, fsync, rename); return where it went (see
    `atomic_output` for `aside_if_open`)."""
    with atomic_output(final, aside_if_open) as out:
        out.tmp.write_bytes(data)
    return out.path
