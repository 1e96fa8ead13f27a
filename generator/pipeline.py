"""The pipeline, in one direction: load -> resolve -> emit contracts -> render code -> plan.

Nothing here writes; `apigen generate` hands the plan to the writer, `apigen check`
compares it with the tree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .contracts.graphql import emit_graphql
from .contracts.openapi import emit_openapi
from .contracts.proto import emit_proto, proto_path
from .diagnostics import Diagnostic, SpecError
from .ir import Api
from .lock import Lock, lock_path
from .render.service import render_service
from .render.user_files import render_user_files
from .resolve import resolve
from .spec.loader import load_spec
from .writer import Plan


def read_lock(path: Path) -> Lock:
    """The previous lock, or an empty one for a new spec; a corrupt lock is a located error."""
    if not path.is_file():
        return Lock()
    try:
        return Lock.parse(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError) as error:
        raise SpecError(
            [
                Diagnostic(
                    "bad-lock",
                    (),
                    f"the lock file is not valid ({error})",
                    "restore it from version control; deleting it renumbers every proto field",
                    str(path),
                    1,
                    1,
                )
            ]
        ) from None


def contract_files(api: Api) -> Plan:
    """The three contracts of an API, by their path in the output folder."""
    return {
        "contracts/openapi.json": emit_openapi(api),
        "contracts/schema.graphql": emit_graphql(api),
        f"contracts/{proto_path(api)}": emit_proto(api),
    }


@dataclass(frozen=True)
class Generation:
    """What one spec generates: its IR, the generated files, the user-owned files (created
    once, never overwritten) and the lock."""

    api: Api
    plan: Plan
    user_files: Plan
    lock_path: Path
    lock_text: str


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector, run less often: the pipeline allocates millions of
    objects that live to its end, and the default thresholds scan them again and again (8% of
    the time on a large spec). datamodel-code-generator does the same while it runs."""
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def generate(spec_path: Path) -> Generation:
    """Run the pipeline on a spec file; raise SpecError with every problem of the spec."""
    with _fewer_collections():
        spec = load_spec(spec_path)
        lock_file = lock_path(spec_path)
        api = resolve(spec, read_lock(lock_file))
        contracts = contract_files(api)
        plan = {**contracts, **render_service(api, contracts)}
        return Generation(
            api, dict(sorted(plan.items())), render_user_files(api), lock_file, api.lock.dumps()
        )
