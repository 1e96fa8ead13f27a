"""Proto numbers across three versions of a spec: stable, reserved when removed, never reused."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from apigen.contracts.proto import emit_proto, proto_path
from apigen.ir import Api
from apigen.lock import Lock
from apigen.resolve import resolve
from apigen.spec.loader import parse_spec

SPEC = """
apigen: 1
name: shop
version: 1.0.0
enums:
  Colour: [{colours}]
entities:
  Item:
    fields: {{{fields}}}
    operations: [get]
"""
# v2 reorders, drops `price` and `green`, adds `stock` and `yellow`;
# v3 brings `price` and `green` back and adds `weight` and `purple`.
VERSIONS = [
    ("id: id, name: string, price: float, colour: Colour", "red, green, blue"),
    ("colour: Colour, stock: int, name: string, id: id", "blue, red, yellow"),
    (
        "weight: float, id: id, name: string, price: float, colour: Colour, stock: int",
        "purple, red, green, blue, yellow",
    ),
]


def _build() -> list[Api]:
    """The three versions, each resolved against the previous one's lock read back from text."""
    apis: list[Api] = []
    lock: Lock | None = None
    for fields, colours in VERSIONS:
        api = resolve(parse_spec(SPEC.format(fields=fields, colours=colours)), lock)
        text = api.lock.dumps()
        lock = Lock.parse(text)
        assert lock == api.lock and lock.dumps() == text
        apis.append(api)
    return apis


def _numbers(api: Api) -> tuple[dict[str, int], dict[str, int]]:
    item, colour = api.entity("Item").message, api.enum("Colour")
    return {f.proto_name: f.number for f in item.fields}, {v.value: v.number for v in colour.values}


def _compile(api: Api, tmp_path: Path) -> descriptor_pb2.FileDescriptorProto:
    proto = tmp_path / proto_path(api)
    proto.parent.mkdir(parents=True, exist_ok=True)
    proto.write_text(emit_proto(api))
    out = tmp_path / "shop.pb"
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    include = tmp_path / "proto"
    args = [f"-I{include}", f"-I{well_known}", f"--descriptor_set_out={out}"]
    assert protoc.main(["protoc", *args, proto.relative_to(include).as_posix()]) == 0
    (file,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return file


def test_first_version_numbers_in_spec_order() -> None:
    v1, _, _ = _build()
    assert _numbers(v1) == (
        {"id": 1, "name": 2, "price": 3, "colour": 4},
        {"red": 1, "green": 2, "blue": 3},
    )


def test_reorder_keeps_numbers_and_removal_reserves() -> None:
    _, v2, _ = _build()
    fields, colours = _numbers(v2)
    assert fields == {"colour": 4, "stock": 5, "name": 2, "id": 1}
    assert colours == {"blue": 3, "red": 1, "yellow": 4}
    item, colour = v2.entity("Item").message, v2.enum("Colour")
    assert (item.reserved_numbers, item.reserved_names) == ((3,), ("price",))
    assert (colour.reserved_numbers, colour.reserved_names) == ((2,), ("COLOUR_GREEN",))
    text = emit_proto(v2)
    assert 'reserved 3;\n  reserved "price";' in text
    assert 'reserved 2;\n  reserved "COLOUR_GREEN";' in text


def test_readded_names_get_old_numbers_and_new_names_fresh_ones() -> None:
    _, _, v3 = _build()
    fields, colours = _numbers(v3)
    assert fields == {"weight": 6, "id": 1, "name": 2, "price": 3, "colour": 4, "stock": 5}
    assert colours == {"purple": 5, "red": 1, "green": 2, "blue": 3, "yellow": 4}
    assert v3.entity("Item").message.reserved_numbers == ()
    assert v3.enum("Colour").reserved_numbers == ()
    assert "reserved" not in emit_proto(v3)


def test_reserved_reach_protoc(tmp_path: Path) -> None:
    for index, api in enumerate(_build()):
        file = _compile(api, tmp_path / f"v{index + 1}")
        (item,) = [m for m in file.message_type if m.name == "Item"]
        (colour,) = file.enum_type
        message = api.entity("Item").message
        assert [r.start for r in item.reserved_range] == list(message.reserved_numbers)
        assert list(item.reserved_name) == list(message.reserved_names)
        assert [r.start for r in colour.reserved_range] == list(api.enum("Colour").reserved_numbers)
        assert [(f.name, f.number) for f in item.field] == [
            (f.proto_name, f.number) for f in message.fields
        ]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"apigen": 2}',
        '{"apigen": 1, "messages": []}',
        '{"apigen": 1, "messages": {"Item": {"fields": {"id": 1, "name": 1}}}}',
        '{"apigen": 1, "messages": {"Item": {"fields": {"id": 1}, "reserved": {"x": 1}}}}',
        '{"apigen": 1, "messages": {"Item": {"fields": {"id": 0}}}}',
        '{"apigen": 1, "messages": {"Item": {"fields": {"id": "1"}}}}',
        '{"apigen": 1, "messages": {"Item": {"fields": {"id": true}}}}',
        '{"apigen": 1, "enums": {"Colour": "red"}}',
        '{"apigen": 1, "enums": {"Colour": {"fields": [1, 2]}}}',
    ],
)
def test_corrupt_lock_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        Lock.parse(text)


COMEBACK = """
apigen: 1
name: shop
version: 1.0.0
{enums}
entities:
  Item:
    fields: {{id: id, name: string}}
    operations: [get]
{tag}
"""
TAG = """  Tag:
    fields: {fields}
    operations: [get]"""


def test_removed_message_and_enum_keep_their_numbers_for_a_comeback() -> None:
    versions = [
        (
            "enums:\n  Size: [small, large]",
            TAG.format(fields="{id: id, label: string, size: Size}"),
        ),
        ("", ""),
        (
            "enums:\n  Size: [large, huge, small]",
            TAG.format(fields="{size: Size, id: id, note: string, label: string}"),
        ),
    ]
    lock: Lock | None = None
    apis: list[Api] = []
    for enums, tag in versions:
        api = resolve(parse_spec(COMEBACK.format(enums=enums, tag=tag)), lock)
        lock = Lock.parse(api.lock.dumps())
        apis.append(api)
    v1, v2, v3 = apis
    assert "Tag" not in emit_proto(v2) and "Size" not in emit_proto(v2)
    assert v2.lock.messages["Tag"].live == {}
    assert v2.lock.messages["Tag"].reserved == v1.lock.messages["Tag"].live
    assert v2.lock.enums["Size"].reserved == {"small": 1, "large": 2}
    tag = {f.proto_name: f.number for f in v3.entity("Tag").message.fields}
    assert tag == {"size": 3, "id": 1, "note": 4, "label": 2}
    assert {v.value: v.number for v in v3.enum("Size").values} == {
        "large": 2,
        "huge": 3,
        "small": 1,
    }
