"""What each hostile or broken file costs to refuse: seconds and peak Python memory, file by file.

Run: python benchmarks/bench_hostile.py

Builds the test corpus (tests/hostile.py) with the real bombs (a 3 GiB zip bomb, a 1 GiB shared string,
a lying zip directory), then examines each file the way a collect worker does; a saved mail (.eml, .msg)
is opened the way a collect worker opens it (`open_mails`: its attachments listed and told apart).
Baseline in the same run: examining a good returned workbook. Target: every hostile file well under a
second and bounded memory.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hostile  # noqa: E402
from common import workspace  # noqa: E402
from promoter import returned  # noqa: E402

from dxsheets.generate import generate_forms  # noqa: E402
from dxsheets.intake import examine, open_mails, scan  # noqa: E402
from dxsheets.mail import is_mail  # noqa: E402
from dxsheets.xlsxread import Limits  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp) / "ws")
        masters = ws.masters()
        generate_forms(masters, ws.secret(), ws.distribute, codes=["0101"])
        good = returned(ws.distribute, masters.department("0101"))
        corpus = hostile.build_corpus(Path(tmp) / "corpus", source=good, with_bombs=True)
        print(f"{'file':<22} {'bytes':>10} {'seconds':>8} {'peak MB':>8}  outcome")
        worst = 0.0

        def outcome_of(path: Path) -> str:
            if is_mail(path.name):
                return read_mail(path, Path(tmp) / "mail")
            e = examine(path.read_bytes(), masters, ws.secret())
            return f"{e.fate} {codes(e.problems)}"

        for key, path in corpus.items():
            size = path.stat().st_size
            # Timed, then read again for its peak memory: tracing every allocation slows the reading
            # (five times, for a mail parsed in Python), so the two are not measured in one pass.
            t = time.perf_counter()
            outcome = outcome_of(path)
            seconds = time.perf_counter() - t
            tracemalloc.start()
            outcome_of(path)
            peak = tracemalloc.get_traced_memory()[1] / 1024**2
            tracemalloc.stop()
            if key != "valid":
                worst = max(worst, seconds)
            print(f"{key:<22} {size:>10,} {seconds:8.3f} {peak:8.1f}  {outcome}")
        print(f"\nslowest hostile file: {worst:.3f} s (target well under 1 s)")


def codes(problems: list) -> str:
    """The problems' codes, each once with its count: "text-too-long x4016,wg-invalid x999"."""
    counted = Counter(p.code for p in problems)
    return ",".join(code if n == 1 else f"{code} x{n}" for code, n in counted.items()) or "-"


def read_mail(path: Path, inbox: Path) -> str:
    """Walk an inbox holding only this mail: what the walk makes of it (its attachments, or the mail)."""
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir()
    shutil.copyfile(path, inbox / path.name)
    arrivals = list(open_mails(scan(inbox, Limits(), now=time.time() + 3600)))  # settled: read, not pending
    return "mail: " + "; ".join(
        f"{a.path.split('/', 1)[-1]} {a.fate or 'to examine'} {codes(a.problems)}" for a in arrivals
    )


if __name__ == "__main__":
    main()
