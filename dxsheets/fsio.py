"""File-system helpers: atomic writes and names that are safe on Windows."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
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


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it replaces `final` in one step.

    A crash or an exception while writing leaves the previous `final` whole and no temporary file behind.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.stem[:40]}.", suffix=".tmp" + final.suffix, dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(final: Path, data: bytes) -> None:
    """Write `data` to `final` atomically (temp file, fsync, rename)."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
