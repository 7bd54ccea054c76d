"""Collect returns sent as saved mails (.eml), against the same returns saved as files, in the same run.

Run: python benchmarks/bench_mail.py              (1,000 returns; --files N, --repeat R)

Mails are opened in the workers, and each workbook found goes back to the main process to be handed to
the workers again as a file of its own: what a mail costs beyond its workbook is opening it and that
round trip. Three inboxes of the same returns are collected, interleaved, best of --repeat each:
  * files            - each return saved as .xlsx (what bench_collect measures);
  * mails            - each return attached to a mail of its own, saved as .eml (Japanese subject, sender
                       and file name, a short body, as a promoter's reply looks);
  * Outlook .msg     - the same, as Outlook saves a mail dragged out of it (a compound file, read with
                       olefile);
  * mails, stdlib policy - the same mails read with Python's own `email.policy.default`, which parses a
                       header again at every read (dxsheets now parses each header of a mail once;
                       the workers are forked after the policy is set, so they read with it).
Target: mailed returns (.eml and .msg) cost no more than twice the files.
Then a second collect of each inbox with nothing new: no mail is opened again (its hash is its last one).
"""

from __future__ import annotations

import argparse
import email.policy
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bench_collect import make_returns
from common import workspace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hostile  # noqa: E402

from dxsheets import mail  # noqa: E402
from dxsheets.collect import collect  # noqa: E402
from dxsheets.simulate import write_many_departments  # noqa: E402
from dxsheets.workspace import Workspace, open_workspace  # noqa: E402


def as_mails(ws: Workspace, outlook: bool = False) -> None:
    """Replace each return in the inbox by a mail carrying it (an .eml, or with `outlook` a .msg), dated and
    aged as a reply saved an hour ago."""
    old = time.time() - 3600
    sent = datetime(2026, 11, 20, 9, 0, tzinfo=hostile.JST)
    for path in sorted(ws.inbox.rglob("*.xlsx")):
        attached = [(f"{path.stem}_回答.xlsx", path.read_bytes())]
        if outlook:
            mail_file = path.with_suffix(".msg")
            mail_file.write_bytes(hostile.outlook_msg_bytes(hostile.MsgMail(sent=sent, attachments=attached)))
        else:
            mail_file = hostile.make_eml(path.with_suffix(".eml"), attached, sent)
        os.utime(mail_file, (old, old))
        path.unlink()


def timed(
    ws: Workspace, n: int, policy: Callable[[], email.policy.EmailPolicy] | None
) -> tuple[float, float]:
    """One first collect (empty outbox): (wall seconds, main-process CPU seconds)."""
    if ws.outbox.exists():
        ws.outbox.rename(ws.root.parent / f"outbox-{time.monotonic_ns()}")
    real = mail._policy
    if policy is not None:
        mail._policy = policy  # type: ignore[assignment]
    try:
        cpu, t = time.process_time(), time.perf_counter()
        result = collect(ws, settle=0)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    finally:
        mail._policy = real  # type: ignore[assignment]
    assert result.files["accepted"] == n, result.files
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.files
    with tempfile.TemporaryDirectory() as tmp:
        files_root, mails_root, msg_root = (Path(tmp) / kind / "ws" for kind in ("files", "mails", "msg"))
        ws = workspace(files_root)
        write_many_departments(files_root / "templates", n)
        make_returns(ws, ws.masters(), n)
        shutil.copytree(files_root, mails_root)
        shutil.copytree(files_root, msg_root)
        mails_ws, msg_ws = open_workspace(mails_root), open_workspace(msg_root)
        as_mails(mails_ws)
        as_mails(msg_ws, outlook=True)
        size = sum(p.stat().st_size for p in mails_ws.inbox.rglob("*.eml")) / n / 1024
        kinds: dict[str, tuple[Workspace, Callable[[], email.policy.EmailPolicy] | None]] = {
            "files": (open_workspace(files_root), None),
            "mails": (mails_ws, None),
            "mails, stdlib policy": (mails_ws, lambda: email.policy.default),
            "Outlook .msg": (msg_ws, None),
        }
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
        for _ in range(args.repeat):
            for kind, (w, policy) in kinds.items():
                runs[kind].append(timed(w, n, policy))
        best = {k: min(v) for k, v in runs.items()}
        print(f"\n== {n} returns (as mails: avg {size:.1f} KB an .eml)")
        for kind, (wall, cpu) in best.items():
            each = ", ".join(f"{w:.2f}" for w, _ in runs[kind])
            print(
                f"{kind:20} {n / wall:7.0f} returns/s  ({wall:.2f} s, main process CPU {cpu:.2f} s;"
                f" best of {args.repeat}: {each} s)"
            )
        files_wall = best["files"][0]
        print(f"mails to files      {best['mails'][0] / files_wall:.1f}x the time (target <= 2)")
        print(f"  stdlib policy     {best['mails, stdlib policy'][0] / files_wall:.1f}x the time")
        print(f"Outlook .msg        {best['Outlook .msg'][0] / files_wall:.1f}x the time (target <= 2)")
        # A second collect with nothing new opens no mail (each is hashed and found read before): the
        # outbox of the last first collect is kept, and collected again.
        again = {}
        for kind in ("files", "mails", "Outlook .msg"):
            w = kinds[kind][0]
            t = time.perf_counter()
            result = collect(w, settle=0)
            again[kind] = time.perf_counter() - t
            assert result.examined == 0 and result.reused == n, (kind, result.examined, result.reused)
        print(
            "second collect      "
            + ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in again.items())
            + " (nothing new: no workbook examined, no mail opened)"
        )


if __name__ == "__main__":
    main()
