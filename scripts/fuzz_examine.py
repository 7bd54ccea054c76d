"""Damage the demo's returns part by part and examine each: look for faults while changing the reader.

Why: the reader's hostile-file faults so far (a crash on a non-ASCII token, a 16 KB file costing 25 s,
UTF-7 hiding markup from the tag count, a shared-string index of -1) were found by fuzzing, not by the
hostile corpus. `tests/test_collect_hostile.py` replays a fixed draw of the same mutations on every run;
this script draws as many as you ask for, with new seeds.

Usage:

    python scripts/fuzz_examine.py [--runs 20000] [--seed N] [--out /tmp/dxsheets-fuzz]

Each damaged return is examined in this process. A finding is saved as a workbook in --out and printed:
an exception (a collect would record only "reading crashed"), a refusal by the reader's last-resort
handler (an error nobody named, told as a malformed file), more than --slow seconds of CPU, or a problem
message holding control characters or longer than 1,200 characters. --zip sets the share of runs whose
zip itself is damaged too (header fields, compressed bytes, part names). Open a finding with
`python -c "from dxsheets.intake import examine; ..."` or drop it in a workspace's inbox; once fixed, it
belongs in a test of its own. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import partfuzz  # noqa: E402

from dxsheets.generate import generate_forms  # noqa: E402
from dxsheets.intake import OK, examine  # noqa: E402
from dxsheets.simulate import drop_returns, plan_returns  # noqa: E402
from dxsheets.text import shown  # noqa: E402
from dxsheets.workspace import init_workspace  # noqa: E402
from dxsheets.xlsxread import WorkbookReadError, read_workbook  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument(
        "--slow", type=float, default=1.0, help="CPU seconds a file may take before it is a finding"
    )
    ap.add_argument(
        "--zip",
        type=float,
        default=0.25,
        help="share of runs whose zip itself is damaged too (partfuzz.mutate_zip)",
    )
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "dxsheets-fuzz")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    ws, _ = init_workspace(Path(tempfile.mkdtemp(prefix="dxsheets-fuzz-ws-")))
    masters, secret = ws.masters(), ws.secret()
    generate_forms(masters, secret, ws.distribute)
    now = time.time()
    drop_returns(ws.inbox, plan_returns(masters, ws.distribute, now), now)
    sources = [p.read_bytes() for p in sorted(ws.inbox.rglob("*.xlsx")) if p.stat().st_size]
    sources = [s for s in sources if s.startswith(b"PK") and examine(s, masters, secret).fate == OK]
    print(
        f"seed {args.seed}: {args.runs:,} runs over {len(sources)} accepted demo returns; findings in {args.out}"
    )

    rng = random.Random(args.seed)
    found = 0
    started = time.time()
    for run in range(args.runs):
        data = partfuzz.mutate(rng.choice(sources), rng)
        if rng.random() < args.zip:
            data = partfuzz.mutate_zip(data, rng)
        what = ""
        cpu = time.process_time()
        try:
            examined = examine(data, masters, secret)
            examined.to_json()
            cpu = time.process_time() - cpu
            # Read again only when refused as malformed: the code the last-resort handler's refusals get.
            malformed = any(p.code == "file-xml-malformed" for p in examined.problems)
            last_resort = _last_resort(data) if malformed else None
        except Exception:
            what = "exception\n" + "".join(traceback.format_exc().splitlines(keepends=True)[-6:])
        else:
            odd = [p for p in examined.problems if shown(p.message) != p.message or len(p.message) > 1_200]
            if last_resort:
                what = f"refused by the reader's last-resort handler: {last_resort[:200]}"
            elif cpu > args.slow:
                what = f"slow: {cpu:.2f} s CPU, {examined.fate}, {[p.code for p in examined.problems][:3]}"
            elif odd:
                what = f"message: {odd[0].code} {shown(odd[0].message[:200])}"
        if what:
            found += 1
            path = args.out / f"seed{args.seed}-run{run}.xlsx"
            path.write_bytes(data)
            print(f"{path}: {what}")
    print(f"{args.runs:,} runs in {time.time() - started:.0f} s: {found} finding(s)")
    return 1 if found else 0


def _last_resort(data: bytes) -> str | None:
    """The detail of a refusal that reached `read_workbook`'s last-resort handler (an exception nobody named:
    the file is refused as malformed, without saying why), else None."""
    try:
        read_workbook(data)
    except WorkbookReadError as exc:
        return exc.detail if exc.detail.startswith("unexpected") else None
    return None


if __name__ == "__main__":
    sys.exit(main())
