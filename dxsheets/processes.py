"""How dxsheets starts its worker processes: collect's readers and generate's writers.

On Linux they are forked, whatever Python's default. A forked worker starts in milliseconds with the
masters and every module already in memory. A worker started any other way runs a new interpreter,
imports dxsheets (and, through the main module, everything the command imports) and unpickles the masters:
measured on the benchmark's 1,000 returns, a collect took 1.0-1.4 s forked, 1.9-2.2 s with `forkserver`
(Python 3.14's default on Linux) and 1.8-2.6 s with `spawn`.

Forking is unsafe in a process with threads: a lock another thread holds stays held in the child.
dxsheets starts none. A pool that forks starts all its workers before its own threads, and joins those
when it closes. The system may take a moment more to end a joined thread: when the next pool forks within
it (after a worker died), Python 3.12 and later warn.

Elsewhere Python's default is kept: `spawn` on Windows and macOS, where fork is missing or unsafe.
The tests run a night's collect with `spawn` and `forkserver`, and generate with `spawn`, too.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

START_METHOD: str | None = "fork" if sys.platform == "linux" else None


def pool(jobs: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> ProcessPoolExecutor:
    """A pool of `jobs` worker processes, each set up by `initializer(*initargs)`."""
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context(START_METHOD),
        initializer=initializer,
        initargs=initargs,
    )
