"""Shared helpers for the benchmark scripts: synthetic masters at scale and memory readings."""

from __future__ import annotations

import resource
import sys
from dataclasses import replace
from pathlib import Path

from dxsheets import defaults
from dxsheets.domain import Department, Masters
from dxsheets.workspace import Workspace, init_workspace


def own_peak_mb() -> float:
    """Peak resident memory of this process since it started its program, in MB.

    On Linux getrusage's peak also counts what the parent held when it forked this process (a benchmark
    holding its test files); VmHWM in /proc is this program's own. Elsewhere: getrusage.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its largest finished child) in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    rss = resource.getrusage(who).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def scaled_masters(ws: Workspace, n: int) -> Masters:
    """The workspace's masters with `n` departments (a prefecture surveying its municipalities)."""
    base = ws.masters()
    bus = [f"第{i + 1}ブロック" for i in range(max(1, n // 40))]
    depts = tuple(
        Department(
            f"{i + 1:05d}", bus[i % len(bus)], f"自治体{i + 1:04d}課", "推進 太郎", f"dx{i}@example.lg.jp"
        )
        for i in range(n)
    )
    return replace(base, departments=depts, worklists={})


def workspace(root: Path) -> Workspace:
    ws, _ = init_workspace(root)
    return ws


__all__ = ["defaults", "own_peak_mb", "peak_rss_mb", "scaled_masters", "workspace"]
