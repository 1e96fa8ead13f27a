"""The writer: the only code that writes to disk.

A generation is first a plan, `{relative path: text}`, built in memory; the writer checks
every path stays inside the output folder, then writes only the files whose text changed.
The same plan, compared instead of written, is `apigen check`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

Plan = dict[str, str]


class UnsafePathError(ValueError):
    """A planned path that would escape the output folder."""


def _target(root: Path, relative: str) -> Path:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UnsafePathError(f"refusing to write '{relative}': it leaves {root}")
    return root.joinpath(*path.parts)


@dataclass(frozen=True)
class Drift:
    """A planned file whose text on disk differs (or is missing)."""

    path: str
    diff: str


def write_plan(plan: Plan, root: Path) -> list[str]:
    """Write the plan under `root`; return the paths whose text changed."""
    targets = {relative: _target(root, relative) for relative in sorted(plan)}
    changed = []
    for relative, target in targets.items():
        text = plan[relative]
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(relative)
    return changed


def compare_plan(plan: Plan, root: Path) -> list[Drift]:
    """The planned files that differ from what is on disk under `root`, with a unified diff."""
    drifts = []
    for relative in sorted(plan):
        target = _target(root, relative)
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != plan[relative]:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                plan[relative].splitlines(keepends=True),
                fromfile=f"{relative} (on disk)" if target.is_file() else "/dev/null",
                tofile=f"{relative} (from the spec)",
                n=1,
            )
            drifts.append(Drift(relative, "".join(diff)))
    return drifts
