from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from dxsheets.domain import Masters
from dxsheets.generate import generate_forms
from dxsheets.workspace import Workspace, init_workspace

# The property tests (the nights machine, the round trip) run the same examples on every `pytest`, so CI
# passes or fails on the code, not on the draw. `HYPOTHESIS_PROFILE=explore` draws new ones: what to run
# while changing the product (with NIGHTS_EXAMPLES=500 for the machine); each failure it finds is kept
# in .hypothesis/ and replayed first next time, and belongs in a test of its own once fixed.
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace with the default masters."""
    workspace, _ = init_workspace(tmp_path / "ws")
    return workspace


@pytest.fixture
def masters(ws: Workspace) -> Masters:
    return ws.masters()


@pytest.fixture
def in_japan(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process runs on a computer set to Japan time (JST, UTC+9), like the city's PCs."""
    monkeypatch.setenv("TZ", "JST-9")  # POSIX form: needs no time zone database
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def open_in_excel(monkeypatch: pytest.MonkeyPatch) -> set[Path]:
    """The outputs someone has open in Excel: add paths to the returned set, clear it to close them.

    Windows refuses to replace an open workbook (PermissionError), on a share too; this machine does not,
    so the refusal is staged on `os.replace`, which every atomic write ends with.
    """
    real_replace, real_unlink = os.replace, os.unlink
    open_paths: set[Path] = set()

    def refuse_if_open(path: str | Path) -> None:
        if Path(path) in open_paths:
            raise PermissionError(13, "The process cannot access the file (it is open)", str(path))

    def replace(src: str | Path, dst: str | Path) -> None:
        refuse_if_open(dst)
        real_replace(src, dst)

    def unlink(path: str | Path, *args: object, **kwargs: object) -> None:
        refuse_if_open(path)  # Windows cannot delete an open file either
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "remove", unlink)
    return open_paths


@pytest.fixture
def generated(ws: Workspace, masters: Masters) -> Workspace:
    """A workspace whose blank sheets have been generated."""
    generate_forms(masters, ws.secret(), ws.distribute)
    return ws
