"""The writer: the only code that writes to disk, and the one that keeps users' work safe.

A generation is first a plan, `{relative path: text}`, built in memory. The writer checks every
path stays inside the output folder, then applies it against the manifest of the previous run
(`.apigen/manifest.json`: every generated file and the hash of its text):

- a generated file is rewritten only if it is still what apigen wrote last time; one edited by
  hand (or a file apigen never wrote at that path) stops the run, naming it, unless `force`;
- a user-owned file (the service skeleton) is created once and never touched again;
- a file the spec no longer produces is removed only if unedited, and otherwise kept and named.

Nothing is written when the run stops. The same plan, compared instead of written, is
`apigen check`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

Plan = dict[str, str]

MANIFEST = ".apigen/manifest.json"
MANIFEST_FORMAT = 1


class UnsafePathError(ValueError):
    """A planned path that would escape the output folder."""


class HandEditedError(Exception):
    """Generated files that were edited by hand (or never generated), which a run would clobber."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        super().__init__(", ".join(paths))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _target(root: Path, relative: str) -> Path:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UnsafePathError(f"refusing to write '{relative}': it leaves {root}")
    return root.joinpath(*path.parts)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError):
        return None


def read_manifest(root: Path) -> dict[str, str]:
    """The generated files of the previous run and their hashes (empty before the first run)."""
    text = _read(root / MANIFEST)
    if text is None:
        return {}
    try:
        files = json.loads(text)["files"]
    except (ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def manifest_text(plan: Plan) -> str:
    files = {path: digest(text) for path, text in sorted(plan.items())}
    return json.dumps({"apigen": MANIFEST_FORMAT, "files": files}, indent=2) + "\n"


def write_plan(plan: Plan, root: Path) -> list[str]:
    """Write the plan under `root` as it is; return the paths whose text changed."""
    targets = {relative: _target(root, relative) for relative in sorted(plan)}
    changed = []
    for relative, target in targets.items():
        text = plan[relative]
        if _read(target) == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(relative)
    return changed


@dataclass
class Outcome:
    """What a run did, by relative path."""

    written: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _hand_edited(root: Path, relative: str, recorded: dict[str, str], text: str) -> bool:
    """On disk, differs from the plan, and is not what apigen wrote there last."""
    current = _read(_target(root, relative))
    if current is None or current == text:
        return False
    return recorded.get(relative) != digest(current)


def apply_plan(plan: Plan, user_files: Plan, root: Path, *, force: bool = False) -> Outcome:
    """Write a generation under `root`, keeping every line a user wrote (see the module doc)."""
    recorded = read_manifest(root)
    clobbered = [p for p in sorted(plan) if _hand_edited(root, p, recorded, plan[p])]
    if clobbered and not force:
        raise HandEditedError(clobbered)
    outcome = Outcome(written=write_plan(plan, root))
    for relative in sorted(user_files):
        target = _target(root, relative)
        if not target.exists():
            write_plan({relative: user_files[relative]}, root)
            outcome.created.append(relative)
    for relative in sorted(set(recorded) - set(plan)):
        target = _target(root, relative)
        current = _read(target)
        if current is None:
            continue
        if digest(current) == recorded[relative]:
            target.unlink()
            _remove_empty_parents(target.parent, root)
            outcome.removed.append(relative)
        else:
            outcome.kept.append(relative)
    write_plan({MANIFEST: manifest_text(plan)}, root)
    return outcome


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@dataclass(frozen=True)
class Drift:
    """A file that differs from what the spec produces: changed, edited, missing or stale."""

    path: str
    reason: str
    diff: str


def compare_plan(plan: Plan, root: Path, *, manifest: bool = True) -> list[Drift]:
    """Every difference between the plan (and its manifest) and the tree under `root`."""
    recorded = read_manifest(root) if manifest else {}
    expected = {**plan, MANIFEST: manifest_text(plan)} if manifest else plan
    drifts = []
    for relative in sorted(expected):
        current = _read(_target(root, relative))
        if current == expected[relative]:
            continue
        if current is None:
            reason = "missing"
        elif relative in recorded and recorded[relative] != digest(current):
            reason = "edited by hand"
        else:
            reason = "out of date"
        drifts.append(Drift(relative, reason, _diff(relative, current, expected[relative])))
    for relative in sorted(set(recorded) - set(plan)):
        current = _read(_target(root, relative))
        if current is not None:
            drifts.append(Drift(relative, "no longer generated", _diff(relative, current, "")))
    return drifts


def _diff(relative: str, current: str | None, expected: str) -> str:
    lines = difflib.unified_diff(
        (current or "").splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{relative} (on disk)" if current is not None else "/dev/null",
        tofile=f"{relative} (from the spec)",
        n=1,
    )
    return "".join(lines)
