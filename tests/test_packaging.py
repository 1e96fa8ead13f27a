"""The built wheel is complete: installed from it, apigen finds its templates and generates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import ROOT


def test_the_wheel_ships_the_templates_and_generates(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("apigen-*.whl")
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(installed)
    assert "apigen/templates/service/src/{{package}}/_generated/app.py.jinja" in names
    assert "apigen/templates/user/src/{{package}}/service.py.jinja" in names

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "specs" / "blog.yaml", project / "apigen.yaml")
    env = {**os.environ, "PYTHONPATH": str(installed)}
    script = "import apigen, sys; from apigen.cli import main; print(apigen.__file__); main()"
    done = subprocess.run(
        [sys.executable, "-c", script, "generate"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(installed))
    assert (project / "src/blog/_generated/app.py").is_file()
    assert (project / "src/blog/service.py").is_file()
