"""Shared fixtures: the specs under `specs/` and their IR."""

from __future__ import annotations

from pathlib import Path

import pytest

from apigen.ir import Api
from apigen.resolve import resolve
from apigen.spec.loader import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def api_of(spec: Path) -> Api:
    """The IR of a spec, numbered as a new spec would be (no previous lock)."""
    return resolve(load_spec(spec))


@pytest.fixture(autouse=True)
def private_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own apigen check cache (`$XDG_CACHE_HOME/apigen`) and its own working
    folder, where a service's default SQLite database (`booking.db`) lands."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
