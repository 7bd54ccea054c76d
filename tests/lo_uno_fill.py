#!/usr/bin/python3
"""Fill a workbook in a real LibreOffice Calc through UNO, the way a person would, and save it.

Why this exists: dxsheets must read forms that came back from real spreadsheet applications, not only
from openpyxl.  This script plays the respondent (or the promoter who inserts rows): it opens the form in
LibreOffice headless, types values into cells found through workbook DEFINED NAMES, inserts rows inside a
named range, enters formulas, and stores the result in the format LibreOffice would write.

It runs under Debian's system Python (``/usr/bin/python3``), the only interpreter that can ``import uno``;
the test suite (pyenv Python) drives it as a subprocess through ``tests/libreoffice.py``.  It deliberately
imports nothing from the project.

Protocol
  stdin   JSON ``{"src": path, "dest": path, "fmt": "xlsx"|"ods"|"xls", "actions": [...],
          "timeout": seconds, "pidfile": optional path}``
  stdout  JSON ``{"ok": true, "results": [...], "timings": {...}}`` on success (exit 0)
  stderr  JSON ``{"ok": false, "error": type, "message": text, ...}`` on failure (exit 1)

Actions (applied in order; row/col offsets refer to the named range as it is at that moment)
  {"op": "set", "name": N, "value": "text", "row": 0, "col": 0}   text via setString (a number via setValue,
                                                                  null clears the cell)
  {"op": "set_number", "name": N, "value": 12.5, ...}             setValue
  {"op": "set_date", "name": N, "value": "2026-11-20", ...}       date serial + a date number format
                                                                  (kept when the cell already has one)
  {"op": "formula", "name": N, "formula": "=DATE(2026;11;20)", ...}
        UNO setFormula takes English function names and ';' between arguments; ',' gives Err:525 (#NAME?),
        so an error result is refused unless "expect_error": true.
  {"op": "insert_rows", "name": N, "at": 3, "count": 2}
        inserts whole sheet rows before row offset ``at`` of the range (0 < at < height makes the name grow,
        as in Excel).  LibreOffice honours the sheet protection's "insert rows" permission; when the sheet
        forbids it the action fails, unless ``"unprotect": true`` (optional ``"password"``), which unprotects,
        inserts and protects again (LibreOffice's default protection options then replace the original ones).
  {"op": "type", "name": N, "value": "0123", ...}                typed as at the keyboard (through the view):
        the cell's number format decides what it becomes, as for a person (General: the number 123)
  {"op": "set_at", "sheet": S, "cell": "B50", "value": "text"}   types into a cell by its address, as a person
        can into any cell the sheet's protection leaves unlocked (a locked one fails)
  {"op": "copy_sheet", "sheet": S, "new": S2}                     copies sheet S as S2, placed after it (as
        "Move or Copy" does: the names pointing into S are copied as S2's own names)
  {"op": "remove_sheet", "sheet": S}                              deletes sheet S (names into it become #REF!)
  {"op": "insert_sheet", "new": S}                                adds an empty sheet S at the end (unprotected)
  {"op": "unprotect_sheet", "sheet": S, "password": ""}          lifts sheet S's protection, as Review >
        Unprotect Sheet does (the form's has no password): every cell can then be typed into
  The value actions take "sheet": S to use a name of sheet S's own instead of the workbook's; both sheet
  actions report every name afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

import uno  # noqa: I001  (provided by python3-uno; must come before the com.sun.star imports)
from com.sun.star.beans import PropertyValue  # noqa: E402
from com.sun.star.lang import Locale  # noqa: E402

FILTERS = {"xlsx": "Calc MS Excel 2007 XML", "ods": "calc8", "xls": "MS Excel 97"}
CONNECT_TIMEOUT = 30.0
EXCEL_EPOCH = dt.date(1899, 12, 30)
# com.sun.star.util.NumberFormat.DATE / DATETIME bits
NUMBER_FORMAT_DATE = 2
# com.sun.star.sheet.CellFlags VALUE | DATETIME | STRING | FORMULA
CLEAR_CONTENT_FLAGS = 1 | 2 | 4 | 16
NO_LOCK_FILES_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentOOoLockFile" oor:op="fuse">\
<value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentSystemFileLocking" oor:op="fuse">\
<value>false</value></prop></item>
</oor:items>
"""


class ActionError(Exception):
    """A spec or action that cannot be applied; reported with the action's index."""


def _prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


class Office:
    """One private soffice process: own profile, own pipe, killed as a process group at the end.

    Why a process group: ``soffice`` is a wrapper (oosplash) that forks ``soffice.bin``; killing only the
    direct child would orphan the real office, which then keeps the profile locked.
    """

    def __init__(self, timeout: float) -> None:
        self.profile = Path(tempfile.gettempdir()) / f"lo-profile-{uuid.uuid4().hex}"
        self.pipe = f"dxsheets_{uuid.uuid4().hex}"
        self.log = tempfile.TemporaryFile(prefix="lo-uno-log-")  # noqa: SIM115 (closed in close())
        self.proc: subprocess.Popen[bytes] | None = None
        self.desktop = None
        self.ctx = None
        self.timed_out = False
        self._watchdog = threading.Timer(timeout, self._on_timeout)
        self._watchdog.daemon = True

    def start(self, pidfile: str | None) -> None:
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice is None:
            raise RuntimeError("soffice not found on PATH (apt-get install libreoffice-calc-nogui)")
        cmd = [
            soffice,
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={self.profile.as_uri()}",
            f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
        ]
        # A fresh profile that never writes ".~lock.<name>#" files: a killed run would otherwise leave one
        # next to the source, and the next headless load of that file silently returns None.
        user = self.profile / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(NO_LOCK_FILES_XCU, encoding="utf-8")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True
        )
        if pidfile:
            Path(pidfile).write_text(str(self.proc.pid))
        self._watchdog.start()

    def connect(self):
        """Wait until the office accepts UNO connections (fresh profiles take a few seconds)."""
        assert self.proc is not None
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        url = f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        give_up = time.monotonic() + CONNECT_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < give_up and not self.timed_out:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"soffice exited with code {self.proc.returncode} before accepting connections"
                )
            try:
                ctx = resolver.resolve(url)
                self.ctx = ctx
                self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
                return self.desktop
            except Exception as exc:  # NoConnectException until the pipe exists
                last = exc
                time.sleep(0.2)
        raise RuntimeError(f"soffice did not accept a UNO connection within {CONNECT_TIMEOUT:.0f} s: {last}")

    def _on_timeout(self) -> None:
        # Runs in the watchdog thread: killing the office makes any blocked UNO call fail in the main thread.
        self.timed_out = True
        self._kill(signal.SIGKILL)

    def _kill(self, sig: int) -> None:
        """Signal the whole group (oosplash's pid is its id); harmless once every member is gone.

        soffice.bin goes first so that oosplash, its parent, reaps it: killing both at once would hand a
        zombie to PID 1, which in a container may never reap it.
        """
        if self.proc is None:
            return
        members = [pid for pid in _group_members(self.proc.pid) if pid != self.proc.pid]
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        if members:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=3)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def log_tail(self, limit: int = 2000) -> str:
        try:
            self.log.seek(0)
            return self.log.read().decode("utf-8", "replace")[-limit:]
        except Exception:
            return ""

    def close(self) -> None:
        """Ask the office to quit, then make sure the whole process group is gone and reaped."""
        self._watchdog.cancel()
        if self.desktop is not None and not self.timed_out:
            # terminate() often raises DisposedException because the bridge dies with the office.
            with contextlib.suppress(Exception):
                self.desktop.terminate()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._kill(signal.SIGKILL)
                    self.proc.wait()
            # soffice.bin may outlive oosplash for a moment; the group id is the oosplash pid.
            self._kill(signal.SIGKILL)
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log.close()


def _group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` (Linux /proc); empty where /proc is unavailable."""
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                # pid (comm) state ppid pgrp ...; comm may contain spaces, so split after the last ')'
                if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                    members.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return members


def _named_range(doc, name: str, sheet: str | None = None):
    """A workbook-level name, or with `sheet` the name of that sheet's own (a copied sheet's)."""
    ranges = doc.Sheets.getByName(sheet).NamedRanges if sheet else doc.NamedRanges
    if not ranges.hasByName(name):
        raise ActionError(f"no defined name {name!r}; the workbook has {sorted(ranges.getElementNames())}")
    named = ranges.getByName(name)
    cells = named.getReferredCells()
    if cells is None:
        raise ActionError(f"defined name {name!r} ({named.getContent()}) does not refer to cells")
    return named, cells


def _target_cell(doc, action: dict):
    named, cells = _named_range(doc, action["name"], action.get("sheet"))
    row, col = int(action.get("row", 0)), int(action.get("col", 0))
    addr = cells.getRangeAddress()
    height, width = addr.EndRow - addr.StartRow + 1, addr.EndColumn - addr.StartColumn + 1
    if not (0 <= row < height and 0 <= col < width):
        raise ActionError(f"offset ({row}, {col}) is outside {action['name']} = {named.getContent()}")
    return named, cells.getCellByPosition(col, row)


def _sheet_of(doc, cells):
    return doc.Sheets.getByIndex(cells.getRangeAddress().Sheet)


def _apply(doc, action: dict) -> dict:
    op = action.get("op")
    if op in ("set", "set_number", "set_date", "formula", "type"):
        named, cell = _target_cell(doc, action)
        result: dict = {"op": op, "name": action["name"], "cell": cell.AbsoluteName}
        if op == "set":
            value = action.get("value")
            if value is None:
                cell.clearContents(CLEAR_CONTENT_FLAGS)
            elif isinstance(value, str):
                cell.setString(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                cell.setValue(value)
            else:
                raise ActionError(f"set: unsupported value {value!r}")
        elif op == "type":
            # As typed at the keyboard (the view's input line, not the cell API, which ignores the format):
            # the cell's number format decides (General makes "0123" the number 123 and "4/1" a date; Text
            # keeps them as typed).
            assert _OFFICE is not None and _OFFICE.ctx is not None, "type needs the office run() started"
            controller = doc.getCurrentController()
            controller.select(cell)
            ctx = _OFFICE.ctx
            helper = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
            helper.executeDispatch(
                controller.getFrame(), ".uno:EnterString", "", 0, (_prop("StringName", str(action["value"])),)
            )
            result["type"] = cell.getType().value
            result["string"] = cell.getString()
        elif op == "set_number":
            value = action.get("value")
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ActionError(f"set_number needs a number, got {value!r}")
            cell.setValue(value)
        elif op == "set_date":
            day = dt.date.fromisoformat(str(action.get("value")))
            cell.setValue((day - EXCEL_EPOCH).days)
            formats = doc.NumberFormats
            current = formats.getByKey(cell.NumberFormat)
            if not current.Type & NUMBER_FORMAT_DATE:
                pattern = action.get("format", "YYYY-MM-DD")
                key = formats.queryKey(pattern, Locale(), False)
                if key == -1:
                    key = formats.addNew(pattern, Locale())
                cell.NumberFormat = key
            result["serial"] = cell.getValue()
        else:
            formula = action.get("formula")
            if not isinstance(formula, str) or not formula.startswith("="):
                raise ActionError(f"formula must be a string starting with '=', got {formula!r}")
            cell.setFormula(formula)
            error = cell.getError()
            result.update(value=cell.getValue(), error=error, stored=cell.getFormula())
            if error and not action.get("expect_error"):
                raise ActionError(
                    f"formula {formula!r} evaluates to Err:{error} in LibreOffice; UNO setFormula wants English "
                    "function names with ';' between arguments (Err:525 = #NAME?, usually ',' separators)"
                )
        return result

    if op == "insert_rows":
        named, cells = _named_range(doc, action["name"])
        at, count = int(action["at"]), int(action.get("count", 1))
        if count < 1:
            raise ActionError("insert_rows: count must be >= 1")
        addr = cells.getRangeAddress()
        sheet = _sheet_of(doc, cells)
        before = named.getContent()
        rows = sheet.getRows()
        unprotected = False
        try:
            rows.insertByIndex(addr.StartRow + at, count)
        except Exception as exc:
            if not sheet.isProtected():
                raise
            if not action.get("unprotect"):
                raise ActionError(
                    f"sheet {sheet.Name!r} is protected without the 'insert rows' permission; "
                    'pass "unprotect": true to force it'
                ) from exc
            password = action.get("password", "")
            sheet.unprotect(password)
            try:
                rows.insertByIndex(addr.StartRow + at, count)
            finally:
                sheet.protect(password)
            unprotected = True
        return {
            "op": op,
            "name": action["name"],
            "before": before,
            "after": named.getContent(),
            "protected": bool(sheet.isProtected()),
            "unprotected_to_insert": unprotected,
        }

    if op == "set_at":
        sheet = doc.Sheets.getByName(action["sheet"])
        cell = sheet.getCellRangeByName(action["cell"])
        locked = bool(cell.CellProtection.IsLocked)
        if sheet.isProtected() and locked:
            raise ActionError(f"set_at: {action['sheet']}!{action['cell']} is locked on a protected sheet")
        cell.setString(str(action["value"]))
        return {"op": op, "cell": cell.AbsoluteName, "locked": locked}

    if op == "copy_sheet":
        sheets = doc.Sheets
        names = list(sheets.getElementNames())
        source, copy = action["sheet"], action["new"]
        if source not in names:
            raise ActionError(f"copy_sheet: no sheet {source!r} (sheets: {names})")
        sheets.copyByName(source, copy, names.index(source) + 1)
        return {"op": op, "sheet": source, "new": copy, "names": _names_report(doc)}

    if op == "remove_sheet":
        doc.Sheets.removeByName(action["sheet"])
        return {"op": op, "sheet": action["sheet"], "names": _names_report(doc)}

    if op == "insert_sheet":
        sheets = doc.Sheets
        sheets.insertNewByName(action["new"], sheets.getCount())
        return {"op": op, "new": action["new"]}

    if op == "unprotect_sheet":
        sheet = doc.Sheets.getByName(action["sheet"])
        sheet.unprotect(action.get("password", ""))  # a wrong password raises
        return {"op": op, "sheet": action["sheet"], "protected": bool(sheet.isProtected())}

    raise ActionError(f"unknown op {op!r}")


def _names_report(doc) -> dict:
    """Every defined name as LibreOffice holds it now: workbook-level ones, and those local to each sheet."""
    report = {"": {n: doc.NamedRanges.getByName(n).getContent() for n in doc.NamedRanges.getElementNames()}}
    for index in range(doc.Sheets.getCount()):
        sheet = doc.Sheets.getByIndex(index)
        local = getattr(sheet, "NamedRanges", None)
        if local is not None and local.getElementNames():
            report[sheet.Name] = {n: local.getByName(n).getContent() for n in local.getElementNames()}
    return report


_OFFICE: Office | None = None  # the office of this run (the "type" action dispatches through it)


def run(spec: dict) -> dict:
    src = Path(spec["src"]).resolve()
    dest = Path(spec["dest"]).resolve()
    fmt = spec.get("fmt", "xlsx")
    if fmt not in FILTERS:
        raise ActionError(f"fmt must be one of {sorted(FILTERS)}, got {fmt!r}")
    if not src.is_file():
        raise ActionError(f"source file not found: {src}")
    actions = spec.get("actions", [])
    timings: dict[str, float] = {}
    results: list[dict] = []
    global _OFFICE
    office = _OFFICE = Office(float(spec.get("timeout", 120)))
    t0 = time.monotonic()
    try:
        office.start(spec.get("pidfile"))
        desktop = office.connect()
        timings["start_and_connect"] = time.monotonic() - t0
        t = time.monotonic()
        doc = desktop.loadComponentFromURL(src.as_uri(), "_blank", 0, (_prop("Hidden", True),))
        if doc is None:
            raise RuntimeError(f"LibreOffice could not load {src} (not a file format it opens?)")
        timings["load"] = time.monotonic() - t
        try:
            t = time.monotonic()
            for index, action in enumerate(actions):
                try:
                    results.append(_apply(doc, action))
                except Exception as exc:
                    exc.action_index = index  # type: ignore[attr-defined]
                    raise
            timings["actions"] = time.monotonic() - t
            t = time.monotonic()
            dest.parent.mkdir(parents=True, exist_ok=True)
            doc.storeToURL(dest.as_uri(), (_prop("FilterName", FILTERS[fmt]), _prop("Overwrite", True)))
            timings["store"] = time.monotonic() - t
        finally:
            with contextlib.suppress(Exception):
                doc.close(True)
    except Exception as exc:
        if office.timed_out:
            raise TimeoutError(f"LibreOffice did not finish within {spec.get('timeout', 120)} s") from exc
        exc.office_log = office.log_tail()  # type: ignore[attr-defined]
        raise
    finally:
        t = time.monotonic()
        office.close()
        timings["shutdown"] = time.monotonic() - t
        timings["total"] = time.monotonic() - t0
    if office.timed_out:  # the watchdog fired after the last UNO call: the output cannot be trusted
        raise TimeoutError(f"LibreOffice did not finish within {spec.get('timeout', 120)} s")
    if not dest.is_file():
        raise RuntimeError(f"LibreOffice reported success but {dest} was not written")
    return {"ok": True, "dest": str(dest), "results": results, "timings": timings}


def main() -> int:
    # A polite SIGTERM from the parent becomes an exception so the finally blocks stop soffice.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    try:
        spec = json.load(sys.stdin)
        report = run(spec)
    except BaseException as exc:
        error = {
            "ok": False,
            "error": type(exc).__name__,
            "message": str(exc),
            "action_index": getattr(exc, "action_index", None),
            "office_log": getattr(exc, "office_log", ""),
            "traceback": traceback.format_exc(limit=5),
        }
        print(json.dumps(error, ensure_ascii=False), file=sys.stderr)
        return 1
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
