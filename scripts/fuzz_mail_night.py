"""Collect a night of damaged mails beside one good return: look for faults while changing mail reading.

Why: mails are opened in the collect workers and their workbooks handed back to the main process, so a
damaged mail is met by every part of collect at once: the mail parsers, the worker limits, the hand-back,
the ledger. `tests/test_collect_hostile.py` collects a fixed draw of 120 `tests/mailfuzz.py` mutations on
every run; this script collects as many as you ask for in one night, with new seeds.

Usage:

    python scripts/fuzz_mail_night.py [--mails 2000] [--seed N]

A finding is printed: a mail with no row in the ledger (lost), a mail or workbook whose worker crashed or
stalled (`file-reader-crashed`: a fault a person cannot act on), a message with control characters or
longer than 1,200 characters, the good return not taken in, or a file whose fate or problems a second
collect with nothing new changed (mails read before are not opened again: their rows must stand as they
were). The workspace is kept for a look when something was found. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hostile  # noqa: E402
import mailfuzz  # noqa: E402
from promoter import drop, returned  # noqa: E402

from dxsheets.collect import collect  # noqa: E402
from dxsheets.generate import generate_forms  # noqa: E402
from dxsheets.ledger import Ledger  # noqa: E402
from dxsheets.status import status_report  # noqa: E402
from dxsheets.text import shown  # noqa: E402
from dxsheets.workspace import init_workspace  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mails", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="dxsheets-mail-night-")) / "ws"
    ws, _ = init_workspace(root)
    m = ws.masters()
    generate_forms(m, ws.secret(), ws.distribute)
    book = returned(ws.distribute, m.department("0101"))
    when = datetime(2026, 11, 20, 9, 0, tzinfo=hostile.JST)
    seeds = mailfuzz.seed_mails(root.parent / "seeds", book, when)
    sources = [(p.suffix, p.read_bytes()) for p in seeds]
    rng = random.Random(args.seed)
    names = []
    for i in range(args.mails):
        suffix, raw = rng.choice(sources)
        names.append(f"damaged/{i:05d}{suffix}")
        drop(ws.inbox, names[-1], mailfuzz.mutate(raw, rng))
    drop(ws.inbox, "0402.xlsx", returned(ws.distribute, m.department("0402")))

    started = time.perf_counter()
    result = collect(ws)
    took = time.perf_counter() - started
    with Ledger(ws.ledger_path) as ledger:
        rows = status_report(ledger, m)["files"]

    findings = []
    for name in names:
        own = [f for f in rows if f["path"] == name or f["path"].startswith(name + "/")]
        if not own:
            findings.append(f"lost: {name} has no row")
        for f in own:
            for p in f["problems"]:
                if p["code"] == "file-reader-crashed":
                    findings.append(f"crashed: {f['path']}: {p['message']}")
                elif shown(p["message"]) != p["message"] or len(p["message"]) >= 1_200:
                    findings.append(f"message: {f['path']}: {p['code']}")
    if result.departments.get("0402") != "answered":
        findings.append("the good return beside the mails was not taken in")

    again = collect(ws)  # nothing new: every mail is found read before, or known by its hash
    with Ledger(ws.ledger_path) as ledger:
        second = {f["path"]: f for f in status_report(ledger, m)["files"]}
    for f in rows:
        if second.get(f["path"]) != f:
            findings.append(f"second collect: {f['path']} changed")
    if again.examined:
        findings.append(f"second collect: {again.examined} content(s) examined again")

    codes = Counter(p["code"] for f in rows for p in f["problems"])
    print(f"seed {args.seed}: {args.mails:,} mails collected in {took:.1f} s")
    print("fates:", dict(Counter(f["status"] for f in rows)))
    print("codes:", ", ".join(f"{c} x{n}" for c, n in codes.most_common()))
    for finding in findings[:50]:
        print("FINDING", finding)
    if findings:
        print(f"{len(findings)} finding(s); the workspace is kept: {root}")
        return 1
    shutil.rmtree(root.parent)
    print("0 findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
