"""One batched ruff pass over every generated Python file: sort imports, then format."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Explicit settings (and `--isolated`) so the output is the same on every machine,
# whatever ruff configuration surrounds the output folder.
_SETTINGS = ["--isolated", "--line-length", "100", "--target-version", "py311"]


def ruff_binary() -> str:
    """ruff beside this Python (a virtualenv's), else the one on PATH."""
    found = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if found is None:
        raise RuntimeError("ruff is needed to format generated code: pip install ruff")
    return found


class RuffJob:
    """ruff on files written under `root`, in three steps: the constructor writes the files,
    `run()` runs ruff, `result()` reads them back formatted.

    `run()` does no file I/O, so a helper thread can run it while this one works: a thread
    that only waits on subprocesses does not hold up in-process work for the GIL.
    """

    def __init__(self, files: dict[str, str], root: Path) -> None:
        self.files = files
        self.root = root
        for relative, text in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")

    def run(self) -> None:
        if not self.files:
            return
        ruff = ruff_binary()
        check = [ruff, "check", *_SETTINGS, "--select", "I,F401", "--fix", "--exit-zero", "--quiet"]
        for command in (check, [ruff, "format", *_SETTINGS]):
            done = subprocess.run([*command, "."], cwd=self.root, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"ruff failed on generated code:\n{done.stderr or done.stdout}")

    def result(self) -> dict[str, str]:
        return {relative: (self.root / relative).read_text("utf-8") for relative in self.files}


def format_python(files: dict[str, str]) -> dict[str, str]:
    """The files, import-sorted and formatted by ruff, in two calls for all of them."""
    with tempfile.TemporaryDirectory(prefix="apigen-format-") as folder:
        job = RuffJob(files, Path(folder))
        job.run()
        return job.result()
