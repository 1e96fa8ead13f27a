"""The reference example is exactly what the generator produces from its spec."""

from __future__ import annotations

from click.testing import CliRunner

from apigen.cli import main

from .conftest import ROOT


def test_booking_example_is_in_sync_with_its_spec() -> None:
    spec, out = ROOT / "specs" / "booking.yaml", ROOT / "examples" / "booking"
    result = CliRunner().invoke(main, ["check", str(spec), "--out", str(out)])
    assert result.exit_code == 0, (
        f"{result.output}\nexamples/booking drifted: run "
        "`apigen generate specs/booking.yaml --out examples/booking`"
    )
