"""What each hostile or broken file costs to refuse: seconds and peak Python memory, file by file.

Run: python benchmarks/bench_hostile.py

Builds the test corpus (tests/hostile.py) with the real bombs (a 3 GiB zip bomb, a 1 GiB shared string,
a lying zip directory), then examines each file the way a collect worker does. Baseline in the same run:
examining a good returned workbook. Target: every hostile file well under a second and bounded memory.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hostile  # noqa: E402
from common import workspace  # noqa: E402
from promoter import returned  # noqa: E402

from dxsheets.generate import generate_forms  # noqa: E402
from dxsheets.intake import examine  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp) / "ws")
        masters = ws.masters()
        generate_forms(masters, ws.secret(), ws.distribute, codes=["0101"])
        good = returned(ws.distribute, masters.department("0101"))
        corpus = hostile.build_corpus(Path(tmp) / "corpus", source=good, with_bombs=True)
        print(f"{'file':<22} {'bytes':>10} {'seconds':>8} {'peak MB':>8}  outcome")
        worst = 0.0
        for key, path in corpus.items():
            data = path.read_bytes() if path.suffix != ".eml" else b""
            if path.suffix == ".eml":
                continue  # mails are unpacked by the inbox walk; their attachments are files like these
            tracemalloc.start()
            t = time.perf_counter()
            e = examine(data, masters, ws.secret())
            seconds = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1] / 1024**2
            tracemalloc.stop()
            if key != "valid":
                worst = max(worst, seconds)
            codes = ",".join(p.code for p in e.problems) or "-"
            print(f"{key:<22} {len(data):>10,} {seconds:8.3f} {peak:8.1f}  {e.fate} {codes}")
        print(f"\nslowest hostile file: {worst:.3f} s (target well under 1 s)")


if __name__ == "__main__":
    main()
