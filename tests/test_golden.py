"""Golden contracts of the booking spec: the exact text matters, so it is pinned.

After an intended change, refresh with `make golden` and review `git diff tests/golden`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apigen.pipeline import contract_files

from .conftest import ROOT, api_of

GOLDEN = Path(__file__).parent / "golden" / "booking"
REFRESH = os.environ.get("APIGEN_REFRESH_GOLDEN") == "1"
CONTRACTS = contract_files(api_of(ROOT / "specs" / "booking.yaml"))


@pytest.mark.parametrize("path", sorted(CONTRACTS))
def test_booking_contract_matches_golden(path: str) -> None:
    golden = GOLDEN / path
    if REFRESH:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(CONTRACTS[path], encoding="utf-8")
    assert golden.is_file(), f"no golden copy of {path}: run `make golden`"
    assert golden.read_text(encoding="utf-8") == CONTRACTS[path], (
        f"{path} differs from its golden copy; if the change is intended run `make golden`"
        " and review `git diff tests/golden`"
    )


def test_no_stale_golden_files() -> None:
    stale = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()} - set(CONTRACTS)
    assert not stale, f"golden files no contract produces: {sorted(stale)}; delete them"
