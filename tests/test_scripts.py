"""The fuzzing scripts a maintainer runs while changing the reader or mail reading still run, and find
nothing in a short draw (a script that rots unnoticed is found only when it is needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=300
    )


def test_fuzz_examine_runs_a_short_draw_and_finds_nothing(tmp_path: Path) -> None:
    done = run("fuzz_examine.py", "--runs", "40", "--seed", "5", "--zip", "0.5", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "40 runs in" in done.stdout and "0 finding(s)" in done.stdout


def test_fuzz_mail_night_collects_a_short_night_and_finds_nothing() -> None:
    done = run("fuzz_mail_night.py", "--mails", "40", "--seed", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "40 mails collected" in done.stdout and "0 findings" in done.stdout
