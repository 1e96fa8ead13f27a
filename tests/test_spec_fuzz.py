"""Fuzz the loader: any mutation of the reference spec gives a Spec or located diagnostics."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from apigen.diagnostics import SpecError
from apigen.spec.loader import parse_spec

BOOKING = (Path(__file__).parent.parent / "specs" / "booking.yaml").read_text(encoding="utf-8")
DATA = YAML(typ="safe").load(BOOKING)

Path_ = tuple[Any, ...]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["id", "Slot", "[Slot]", "Slot?", "int", "", "1.0.0", "list", "eq"])
)
keys = (
    st.text(min_size=1, max_size=12)
    | st.integers(0, 99)
    | st.sampled_from(["type", "values", "_", "-", "class", "message", "slot_id", "Slot", "list"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
junk = st.text(alphabet=st.sampled_from(list(":{}[]-?&*!|>'\"%@`#,\t\n \x00\ufeff")), min_size=1)


def _paths(node: Any, path: Path_ = ()) -> list[Path_]:
    """The path to every key of a mapping and every item of a list."""
    children = node.items() if isinstance(node, dict) else enumerate(node)
    found = []
    for key, value in children:
        found.append((*path, key))
        if isinstance(value, (dict, list)):
            found += _paths(value, (*path, key))
    return found


def _dump(data: Any) -> str:
    stream = io.StringIO()
    YAML(typ="safe").dump(data, stream)
    return stream.getvalue()


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """The booking spec with one to three random mutations, as YAML text."""
    kind = draw(st.sampled_from(["delete", "replace", "rename", "truncate", "junk"]))
    if kind == "truncate":
        return BOOKING[: draw(st.integers(0, len(BOOKING)))]
    if kind == "junk":
        at = draw(st.integers(0, len(BOOKING)))
        return BOOKING[:at] + draw(junk) + BOOKING[at:]
    data = copy.deepcopy(DATA)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data) or [()]))
        if not path:
            break
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if kind == "delete":
            del parent[key]
        elif kind == "replace" or isinstance(parent, list):
            parent[key] = draw(values)
        else:
            parent[draw(keys)] = parent.pop(key)
    return _dump(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_mutated_spec_loads_or_is_reported(text: str) -> None:
    try:
        parse_spec(text, "fuzz.yaml")
    except SpecError as error:
        assert error.diagnostics
        for diagnostic in error.diagnostics:
            assert diagnostic.file == "fuzz.yaml"
            assert diagnostic.line >= 1 and diagnostic.column >= 1, diagnostic
            assert diagnostic.message and diagnostic.fix, diagnostic
