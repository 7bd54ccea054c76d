"""How dxsheets starts its worker processes (collect's readers and generate's writers), and stops stalled ones.

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
# Where a pool keeps its worker processes: private to concurrent.futures, so not relied on alone.
_POOL_PROCESSES = "_processes"


def pool(jobs: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> ProcessPoolExecutor:
    """A pool of `jobs` worker processes, each set up by `initializer(*initargs)`."""
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context(START_METHOD),
        initializer=initializer,
        initargs=initargs,
    )


def children() -> frozenset[int]:
    """The process ids of this process's live children: taken before a pool starts, for `stop`."""
    return frozenset(p.pid for p in multiprocessing.active_children() if p.pid is not None)


def stop(pool: ProcessPoolExecutor, before: frozenset[int]) -> int:
    """Kill a pool's worker processes, as if they had died: its futures then fail with BrokenProcessPool.
    Returns how many were killed.

    The pool's own record of its processes is private. Where a Python keeps it elsewhere, its workers are
    the children started since `before` (`children()`, taken before the pool started): dxsheets starts no
    other process while a pool runs. Without this, a stalled night would wait on its workers for ever.

    Not Python 3.14's `kill_workers()`: it also shuts the pool down and cancels the futures not yet
    started, which would then be neither read nor known to be innocent."""
    own = getattr(pool, _POOL_PROCESSES, None)
    if isinstance(own, dict):
        workers = list(own.values())
    else:
        workers = [p for p in multiprocessing.active_children() if p.pid not in before]
    for process in workers:
        process.kill()
    return len(workers)
