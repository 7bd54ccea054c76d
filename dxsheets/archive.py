"""The archive: an immutable (read-only) copy of every file taken in, named by its SHA-256."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".eml", ".msg")
_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
_made: set[Path] = set()  # folders known to exist in this process: saves a mkdir per file


def archive_name(sha256: str, suffix: str) -> str:
    """`<sha[:2]>/<sha><suffix>`, relative to the archive folder."""
    suffix = suffix.lower() if suffix.lower() in _SUFFIXES else ".bin"
    return f"{sha256[:2]}/{sha256}{suffix}"


def store(
    archive: Path, sha256: str, suffix: str, data: bytes | None = None, source: Path | None = None
) -> str:
    """Write the copy once (never overwritten), read-only, atomically; return its path relative to the outbox
    (the archive folder's parent), as the ledger records it.

    Give `data` when the content is in memory, else `source` to copy a file that is too large to load.
    """
    name = archive_name(sha256, suffix)
    dest = archive / name
    recorded = f"{archive.name}/{name}"
    if dest.exists():
        return recorded
    if dest.parent not in _made:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _made.add(dest.parent)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    if data is not None:
        # Created read-only from the start (the open descriptor may still write): one syscall fewer per file.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(tmp, flags, _READ_ONLY)
        except FileExistsError:  # left by a run that died mid-write with the same process id
            tmp.unlink()
            fd = os.open(tmp, flags, _READ_ONLY)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    else:
        assert source is not None
        shutil.copyfile(source, tmp)
        os.chmod(tmp, _READ_ONLY)
    os.replace(tmp, dest)
    return recorded
