"""Shared fixtures: the specs under `specs/` and their IR."""

from __future__ import annotations

from pathlib import Path

from apigen.ir import Api
from apigen.resolve import resolve
from apigen.spec.loader import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def api_of(spec: Path) -> Api:
    """The IR of a spec, numbered as a new spec would be (no previous lock)."""
    return resolve(load_spec(spec))
