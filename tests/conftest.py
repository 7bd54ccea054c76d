from __future__ import annotations

from pathlib import Path

import pytest

from dxsheets.domain import Masters
from dxsheets.generate import generate_forms
from dxsheets.workspace import Workspace, init_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A fresh workspace with the default masters."""
    workspace, _ = init_workspace(tmp_path / "ws")
    return workspace


@pytest.fixture
def masters(ws: Workspace) -> Masters:
    return ws.masters()


@pytest.fixture
def generated(ws: Workspace, masters: Masters) -> Workspace:
    """A workspace whose blank sheets have been generated."""
    generate_forms(masters, ws.secret(), ws.distribute)
    return ws
