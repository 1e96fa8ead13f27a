"""What the generated package holds depends on the spec: an API without events has no
webhook receiver, and what it has type-checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from apigen.pipeline import generate

from .conftest import ROOT
from .render_helpers import write


def test_an_api_without_events_gets_no_webhook_receiver(tmp_path: Path) -> None:
    text = (ROOT / "specs" / "inventory.yaml").read_text()
    events, errors = text.index("\nevents:"), text.index("\nerrors:")
    spec = tmp_path / "apigen.yaml"
    spec.write_text(text[:events] + text[errors:])
    generation = generate(spec)
    assert not any("webhook_receiver" in path for path in generation.plan)
    write({**generation.plan, **generation.user_files}, tmp_path)
    mypy = subprocess.run(
        [
            str(Path(sys.executable).parent / "mypy"),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--no-incremental",
            "-p",
            "inventory",
        ],
        cwd=tmp_path / "src",
        capture_output=True,
        text=True,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
