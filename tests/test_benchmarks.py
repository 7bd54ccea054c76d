"""The benchmark scripts still run and print the figures the README quotes, at a size small enough for every
test run. Their speed is not judged here (see README, "Benchmarks"): a script that rots unnoticed is found
only when a maintainer needs its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("script", "args", "says"),
    [
        ("bench_generate.py", ["--departments", "20"], ["2 processes", "workbooks/s", "target"]),
        # --settle-s 0: never waits for the disk; the collect's process is checked to load no openpyxl/numpy.
        (
            "bench_collect.py",
            ["--files", "30", "--repeat", "1", "--settle-s", "0"],
            ["ratio vs openpyxl", "ratio to floor", "peak memory of collect"],
        ),
        (
            "bench_mail.py",
            ["--files", "20", "--repeat", "1"],
            ["mails to files", "Outlook .msg", "second collect"],
        ),
        ("bench_run.py", ["--files", "20"], ["consolidate", "total", "peak memory"]),
        ("bench_hostile.py", [], ["slowest hostile file"]),
        ("read_floor.py", ["--files", "10", "--rounds", "1"], ["floor / ours"]),
    ],
)
def test_a_benchmark_runs_and_prints_its_figures(script: str, args: list[str], says: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=BENCHMARKS,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for words in says:
        assert words in done.stdout, (words, done.stdout)
