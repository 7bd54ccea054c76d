"""Drive a real LibreOffice (headless) from the test suite.

Why: dxsheets' forms must survive a round trip through a real spreadsheet application (defined names that
grow when rows are inserted, validations, protection, hidden sheets, formulas with cached values). openpyxl
alone cannot tell us what an application does to a file; LibreOffice can, and it installs from Debian.

Two entry points:

* :func:`convert` runs ``soffice --convert-to`` (pdf, xlsx, ods, xls, csv) -- no scripting needed.
* :func:`fill_with_uno` types values into a workbook through UNO.  The UNO bridge only exists for Debian's
  system Python, so it runs ``tests/lo_uno_fill.py`` under ``/usr/bin/python3`` as a subprocess.

Every soffice start gets its own throwaway profile (``-env:UserInstallation``) so parallel test workers, or an
office left over from a crashed run, never share a profile lock; each run is a process group that is killed
and reaped at the end.  Expect ~2-3 s per soffice start.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
UNO_SCRIPT = Path(__file__).with_name("lo_uno_fill.py")
INSTALL_HINT = "apt-get install libreoffice-calc-nogui python3-uno"

# --convert-to arguments.  Explicit filters where the default is ambiguous or lossy: xlsx must be the
# "Excel 2007-365" filter, and csv is written as UTF-8 (charset 76) so Japanese text survives.
CONVERT_FILTERS: dict[str, str] = {
    "pdf": "pdf",
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "ods": "ods",
    "xls": "xls:MS Excel 97",
    "csv": "csv:Text - txt - csv (StarCalc):44,34,76,1",
}
UNO_FORMATS = ("xlsx", "ods", "xls")


def soffice_path() -> str | None:
    """The LibreOffice launcher on PATH, or None; tests skip (with a reason) rather than fail without it."""
    return shutil.which("soffice") or shutil.which("libreoffice")


@functools.cache
def uno_python() -> str | None:
    """``/usr/bin/python3`` when it can ``import uno`` (Debian's python3-uno), else None.

    Checked once per session by actually importing, because the file existing proves nothing.
    """
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return None
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, "-I", "-c", "import uno"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return SYSTEM_PYTHON if done.returncode == 0 else None


requires_libreoffice = pytest.mark.skipif(
    soffice_path() is None, reason=f"LibreOffice (soffice) not installed: {INSTALL_HINT}"
)
requires_uno = pytest.mark.skipif(
    soffice_path() is None or uno_python() is None,
    reason=f"LibreOffice UNO bridge not available (soffice plus /usr/bin/python3 with `import uno`): {INSTALL_HINT}",
)


# Profile setting: never write ".~lock.<name>#" next to documents.  A run killed mid-way would leave one, and
# LibreOffice then refuses (headless: silently) to open that file for editing in the next run.
NO_LOCK_FILES_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentOOoLockFile" oor:op="fuse">\
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentSystemFileLocking" oor:op="fuse">\
<value>false</value></prop></item>
</oor:items>
"""


def _new_profile() -> Path:
    """A throwaway LibreOffice user profile (unique per run), pre-seeded to not write lock files."""
    profile = Path(tempfile.gettempdir()) / f"lo-profile-{uuid.uuid4().hex}"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(NO_LOCK_FILES_XCU, encoding="utf-8")
    return profile


def _group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` (Linux /proc); empty where /proc is unavailable."""
    members = []
    proc_dir = Path("/proc")
    for entry in proc_dir.iterdir() if proc_dir.is_dir() else []:
        if entry.name.isdigit():
            try:
                # "pid (comm) state ppid pgrp ..."; comm may contain spaces, so split after the last ')'
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    members.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return members


def _kill_group(leader: subprocess.Popen[bytes] | int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group: soffice is a wrapper (oosplash) whose real office is a child.

    Members go first so their parent reaps them (killing all at once hands zombies to PID 1, which in a
    container may never reap them); then the leader.  Harmless when the group is already gone.
    """
    pgid = leader if isinstance(leader, int) else leader.pid
    members = [pid for pid in _group_members(pgid) if pid != pgid]
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    if members and not isinstance(leader, int):
        with contextlib.suppress(subprocess.TimeoutExpired):
            leader.wait(timeout=3)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def convert(src: Path, fmt: str, outdir: Path, timeout: float = 120) -> Path:
    """Convert ``src`` with ``soffice --headless --convert-to`` and return the written file.

    Raises RuntimeError (with soffice's stdout/stderr) when no non-empty output appears, because soffice
    itself exits 0 on most failures ("Error: source file could not be loaded").
    """
    soffice = soffice_path()
    if soffice is None:
        raise RuntimeError(f"LibreOffice (soffice) not installed: {INSTALL_HINT}")
    if fmt not in CONVERT_FILTERS:
        raise ValueError(f"fmt must be one of {sorted(CONVERT_FILTERS)}, got {fmt!r}")
    src = Path(src).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    out = outdir / f"{src.stem}.{fmt}"
    if out == src:
        raise ValueError(
            f"converting {src.name} to {fmt} in its own folder would overwrite it; use another outdir"
        )
    out.unlink(missing_ok=True)  # so a stale file cannot pass for this run's output

    timed_out, returncode, stdout, stderr, cmd = soffice_convert([src], fmt, outdir, timeout)
    if timed_out or not out.is_file() or out.stat().st_size == 0:
        what = f"timed out after {timeout} s" if timed_out else f"exit code {returncode}, no {out.name}"
        raise RuntimeError(
            f"soffice --convert-to {CONVERT_FILTERS[fmt]} {src.name}: {what}\n"
            f"command: {' '.join(cmd)}\n"
            f"stdout: {stdout.strip()}\n"
            f"stderr: {stderr.strip()}"
        )
    return out


def soffice_convert(
    files: list[Path], fmt: str, outdir: Path, timeout: float
) -> tuple[bool, int | None, str, str, list[str]]:
    """One headless soffice start converting `files` into `outdir`, with its own throwaway profile.

    Returns (timed out, exit code, stdout, stderr, command); the caller checks the output files, since
    soffice exits 0 even when it could not load a file.
    """
    soffice = soffice_path()
    if soffice is None:
        raise RuntimeError(f"LibreOffice (soffice) not installed: {INSTALL_HINT}")
    profile = _new_profile()
    cmd = [
        soffice,
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to",
        CONVERT_FILTERS[fmt],
        "--outdir",
        str(outdir),
        *map(str, files),
    ]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        stdout, stderr = proc.communicate()
    finally:
        _kill_group(proc)  # no-op normally; catches a soffice.bin that outlived its launcher
        shutil.rmtree(profile, ignore_errors=True)
    return (
        timed_out,
        proc.returncode,
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
        cmd,
    )


def fill_with_uno(
    src: Path, dest: Path, actions: list[dict[str, Any]], fmt: str = "xlsx", timeout: float = 120
) -> dict[str, Any]:
    """Open ``src`` in LibreOffice, apply ``actions`` through UNO, store ``dest`` in ``fmt``.

    Runs ``tests/lo_uno_fill.py`` under /usr/bin/python3 (see that file for the actions).  Returns its
    report -- per-action results (e.g. a named range's address before/after ``insert_rows``) and timings --
    and raises RuntimeError carrying the script's JSON error when anything fails.
    """
    python = uno_python()
    if python is None or soffice_path() is None:
        raise RuntimeError(f"LibreOffice UNO bridge not available: {INSTALL_HINT}")
    if fmt not in UNO_FORMATS:
        raise ValueError(f"fmt must be one of {UNO_FORMATS}, got {fmt!r}")
    src = Path(src).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    dest = Path(dest).resolve()

    with tempfile.TemporaryDirectory(prefix="lo-uno-") as tmp:
        pidfile = Path(tmp) / "soffice.pid"
        spec = {
            "src": str(src),
            "dest": str(dest),
            "fmt": fmt,
            "actions": actions,
            "timeout": timeout,
            "pidfile": str(pidfile),
        }
        proc = subprocess.Popen(
            [python, "-I", str(UNO_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            # The script enforces `timeout` on the office itself; the margin covers start-up and shutdown.
            stdout, stderr = proc.communicate(json.dumps(spec).encode("utf-8"), timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            _kill_group(proc, signal.SIGTERM)  # the script turns SIGTERM into a clean shutdown
            try:
                stdout, stderr = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                stdout, stderr = proc.communicate()
            with contextlib.suppress(ValueError, OSError):
                _kill_group(int(pidfile.read_text()))
            raise RuntimeError(
                f"UNO fill of {src.name} did not finish within {timeout + 30} s\n"
                f"stderr: {stderr.decode('utf-8', 'replace')[-3000:]}"
            ) from None

    if proc.returncode != 0:
        raise RuntimeError(_describe_failure(src, actions, proc.returncode, stdout, stderr))
    try:
        report: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"UNO fill of {src.name} printed no JSON report: {stdout[-2000:]!r}") from None
    if not dest.is_file():
        raise RuntimeError(f"UNO fill of {src.name} reported success but wrote no {dest}")
    return report


def _describe_failure(
    src: Path, actions: list[dict[str, Any]], code: int, stdout: bytes, stderr: bytes
) -> str:
    """Turn the script's JSON error (last JSON line on stderr) into a readable message."""
    text = stderr.decode("utf-8", "replace")
    error: dict[str, Any] | None = None
    for line in reversed(text.splitlines()):
        with contextlib.suppress(json.JSONDecodeError):
            candidate = json.loads(line)
            if isinstance(candidate, dict) and "error" in candidate:
                error = candidate
                break
    if error is None:
        return (
            f"UNO fill of {src.name} failed (exit {code})\nstdout: {stdout[-2000:]!r}\nstderr: {text[-3000:]}"
        )
    where = ""
    index = error.get("action_index")
    if isinstance(index, int) and 0 <= index < len(actions):
        where = f" at action {index} {json.dumps(actions[index], ensure_ascii=False)}"
    message = f"UNO fill of {src.name} failed{where}: {error['error']}: {error['message']}"
    if error.get("office_log"):
        message += f"\nsoffice log: {error['office_log'].strip()}"
    return message
