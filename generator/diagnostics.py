"""Diagnostics: located problems in a spec, reported all at once.

Every problem is a value with a stable code, the path in the spec, what is wrong and the fix.
The loader fills in `file:line:col` from the YAML positions before anything is printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

SpecPath = tuple[str | int, ...]


def render_path(path: SpecPath) -> str:
    """`("entities", "Slot", "operations", 2)` -> `entities.Slot.operations[2]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(spec)"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where it is, what is wrong, and how to fix it."""

    code: str
    path: SpecPath
    message: str
    fix: str
    file: str = ""
    line: int = 0
    column: int = 0

    def located(
        self, file: str, line: int, column: int, path: SpecPath | None = None
    ) -> Diagnostic:
        """The diagnostic at a place in a file, its path optionally as written there."""
        return replace(
            self, file=file, line=line, column=column, path=self.path if path is None else path
        )

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: " if self.file else ""
        return f"{where}{render_path(self.path)}: {self.message}; {self.fix} [{self.code}]"

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": render_path(self.path),
            "message": self.message,
            "fix": self.fix,
        }


class SpecError(Exception):
    """A spec that cannot be used, with every problem found in it."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.column, d.code))
        super().__init__("\n".join(str(d) for d in self.diagnostics))
