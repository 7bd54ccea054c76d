"""Generate blank 課題抽出シート for many departments: workbooks/s and peak memory.

Run: python benchmarks/bench_generate.py [--departments 1000]

Baseline in the same run: the same workbooks written in one process (jobs=1). Target: >= 100 workbooks/s
with both cores on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from common import peak_rss_mb, scaled_masters, workspace

from dxsheets.generate import generate_forms


def timed(masters, secret, out: Path, jobs: int) -> float:
    t = time.perf_counter()
    done = generate_forms(masters, secret, out, jobs=jobs)
    elapsed = time.perf_counter() - t
    assert len(done) == len(masters.active_departments)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--departments", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = workspace(Path(tmp) / "ws")
        masters = scaled_masters(ws, args.departments)
        secret = ws.secret()
        n = args.departments
        cores = os.cpu_count() or 1
        one = timed(masters, secret, Path(tmp) / "one", jobs=1)
        both = timed(masters, secret, Path(tmp) / "all", jobs=cores)
        size = sum(p.stat().st_size for p in (Path(tmp) / "all").rglob("*.xlsx")) / n
    print(f"departments            {n}")
    print(f"one process            {n / one:8.1f} workbooks/s  ({one:.2f} s)")
    print(f"{cores} processes            {n / both:8.1f} workbooks/s  ({both:.2f} s)  x{one / both:.2f}")
    print(f"average workbook       {size / 1024:8.1f} KB")
    print(
        f"peak memory            parent {peak_rss_mb():.0f} MB, largest worker {peak_rss_mb(children=True):.0f} MB"
    )
    target = 100
    verdict = "meets" if n / both >= target else "MISSES"
    print(f"target                 >= {target} workbooks/s: {verdict}")


if __name__ == "__main__":
    main()
