"""The nightly run end to end (collect, then consolidate) for many returns: seconds per stage, peak memory.

Run: python benchmarks/bench_run.py            (1,000 returns)
     python benchmarks/bench_run.py --full     (1,000 and 10,000 returns; also --no-quick)

Baseline in the same run: the collect stage alone, so the cost of consolidating is seen as a share.
Target: peak memory under 1 GB at 10,000 returns (the summary is written with bounded memory).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_collect import make_returns
from common import peak_rss_mb, workspace

from dxsheets.pipeline import run
from dxsheets.simulate import write_many_departments


def one_size(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        ws = workspace(root)
        write_many_departments(root / "templates", n)
        masters = ws.masters()
        make_returns(ws, masters, n)
        t = time.perf_counter()
        result = run(ws, settle=0)
        total = time.perf_counter() - t
        assert result.collect.files["accepted"] == n
        summary_mb = result.consolidated.summary.stat().st_size / 1024**2
        print(f"\n== {n} returns")
        for stage, seconds in result.durations.items():
            print(f"{stage:<12} {seconds:8.1f} s  ({seconds / total:4.0%})")
        print(f"{'total':<12} {total:8.1f} s  ({n / total:.0f} returns/s)")
        print(f"summary      {summary_mb:8.1f} MB")
        print(
            f"peak memory  parent {peak_rss_mb():.0f} MB, largest worker {peak_rss_mb(children=True):.0f} MB"
            " (target < 1,024 MB)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="also 10,000 returns")
    ap.add_argument(
        "--quick",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="1,000 returns only (the default); --no-quick is --full",
    )
    args = ap.parse_args()
    one_size(args.files)
    if args.full or not args.quick:
        one_size(10_000)


if __name__ == "__main__":
    main()
