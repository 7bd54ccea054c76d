"""One `collect` of a workspace, in a process that loads what `dxsheets collect` loads and nothing more.

Run by bench_collect.py (python benchmarks/collect_once.py <workspace>); prints one JSON line.

Kept apart from the benchmark script on purpose: that script imports openpyxl for its baseline, openpyxl
imports numpy when it is installed, and numpy starts OpenBLAS threads that took CPU from collect's workers
(3% of the samples under `perf record`; ~4% of collect's time). `dxsheets collect` loads neither.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import own_peak_mb, peak_rss_mb

from dxsheets.collect import collect
from dxsheets.workspace import open_workspace


def main() -> None:
    result = collect(open_workspace(Path(sys.argv[1])), settle=0)
    print(
        json.dumps(
            {
                "accepted": result.files["accepted"],
                "seconds": result.seconds,
                "parent_mb": own_peak_mb(),
                "worker_mb": peak_rss_mb(children=True),
                "modules": sorted(m for m in ("numpy", "pandas", "openpyxl") if m in sys.modules),
            }
        )
    )


if __name__ == "__main__":
    main()
