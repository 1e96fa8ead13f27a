"""What apigen keeps across runs, outside any project (`cache_dir()`), and the sync cache.

The sync cache lets `apigen check` and `apigen generate` skip the pipeline when nothing that
produces the files changed. After a run that left a tree in sync, it records a fingerprint of
every input (the spec, its lock, apigen's own code and templates), the manifest of the tree
and the user-owned files it created. A later run whose fingerprint and manifest match, whose
files still hash as the manifest says and whose user-owned files still exist, has nothing to
do. A fresh clone, such as CI's, always takes the full path.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .writer import MANIFEST, digest, read_manifest

PACKAGE = Path(__file__).resolve().parent
SOURCES = (PACKAGE, PACKAGE.parent / "templates")


def cache_dir() -> Path:
    """Where apigen keeps what it reuses across runs: `$APIGEN_CACHE`, else
    `$XDG_CACHE_HOME/apigen` (default `~/.cache/apigen`)."""
    if configured := os.environ.get("APIGEN_CACHE"):
        return Path(configured).resolve()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").resolve() / "apigen"


def _cache_file(root: Path) -> Path:
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]
    return cache_dir() / f"{key}.json"


def fingerprint(spec: Path, lock: Path) -> str:
    """A hash of everything that determines the generated files."""
    sha = hashlib.sha256()
    files = [spec, lock]
    for source in SOURCES:
        files += sorted(
            p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for path in files:
        sha.update(str(path).encode())
        sha.update(path.read_bytes() if path.is_file() else b"\0missing")
    return sha.hexdigest()


@dataclass(frozen=True)
class TreeState:
    """What the cache keeps of a tree in sync beside its manifest: its user-owned files, and
    the methods its service module implements (name -> signature), for `generate`'s hints."""

    user_files: tuple[str, ...]
    service_module: str
    methods: dict[str, str]


def remember(root: Path, inputs: str, state: TreeState) -> None:
    """Record that the tree under `root` is in sync with inputs of this fingerprint."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return
    record = {
        "inputs": inputs,
        "manifest": digest(manifest.read_text("utf-8")),
        "state": asdict(state),
    }
    target = _cache_file(root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record), encoding="utf-8")
    except OSError:
        pass  # a cache that cannot be written only costs time


def known_in_sync(root: Path, inputs: str) -> TreeState | None:
    """The tree's state when the cache vouches for it (same inputs, same manifest, unedited
    files, the user-owned files in place), else None."""
    try:
        record = json.loads(_cache_file(root).read_text(encoding="utf-8"))
        manifest = (root / MANIFEST).read_text(encoding="utf-8")
        state = TreeState(**record["state"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if record.get("inputs") != inputs or record.get("manifest") != digest(manifest):
        return None
    if not all((root / relative).is_file() for relative in state.user_files):
        return None
    for relative, expected in read_manifest(root).items():
        try:
            if digest((root / relative).read_text(encoding="utf-8")) != expected:
                return None
        except (OSError, UnicodeDecodeError):
            return None
    return state
