"""The proto contract, compiled by protoc and used through the generated Python modules."""

from __future__ import annotations

import importlib
import importlib.resources
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.message import Message as ProtoMessage
from grpc_tools import protoc

from apigen.contracts.proto import emit_proto, proto_path
from apigen.ir import Api, Field, Message
from apigen.resolve import resolve
from apigen.spec.loader import load_spec, parse_spec

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
WELL_KNOWN = str(importlib.resources.files("grpc_tools") / "_proto")


class Compiled:
    """A spec's IR and the `_pb2` and `_pb2_grpc` modules protoc made of its proto file."""

    def __init__(self, api: Api, pb2: ModuleType, pb2_grpc: ModuleType) -> None:
        self.api, self.pb2, self.pb2_grpc = api, pb2, pb2_grpc

    def message_class(self, name: str) -> type[ProtoMessage]:
        cls: type[ProtoMessage] = getattr(self.pb2, name)
        return cls


@pytest.fixture(scope="module", params=SPECS, ids=[p.stem for p in SPECS])
def compiled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Compiled]:
    api = resolve(load_spec(request.param))
    root = tmp_path_factory.mktemp(api.name.snake)
    proto = root / proto_path(api)
    proto.parent.mkdir(parents=True)
    proto.write_text(emit_proto(api))
    include, out = root / "proto", root / "out"
    out.mkdir()
    args = [f"-I{include}", f"-I{WELL_KNOWN}", f"--python_out={out}", f"--grpc_python_out={out}"]
    assert protoc.main(["protoc", *args, proto.relative_to(include).as_posix()]) == 0
    package = api.name.snake
    assert package not in sys.modules, f"a module '{package}' shadows the generated package"
    sys.path.insert(0, str(out))
    try:
        module = f"{api.proto_package}.{api.name.snake}"
        yield Compiled(
            api,
            importlib.import_module(f"{module}_pb2"),
            importlib.import_module(f"{module}_pb2_grpc"),
        )
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def test_file_path_matches_package(compiled: Compiled) -> None:
    api = compiled.api
    assert compiled.pb2.DESCRIPTOR.package == api.proto_package
    assert compiled.pb2.DESCRIPTOR.name == proto_path(api).removeprefix("proto/")


def test_service_has_one_rpc_per_operation_and_event(compiled: Compiled) -> None:
    api = compiled.api
    service = compiled.pb2.DESCRIPTOR.services_by_name[f"{api.name.pascal}Service"]
    rpcs = [op.rpc for op in api.operations] + [event.rpc for event in api.events]
    assert [m.name for m in service.methods] == [rpc.name for rpc in rpcs]
    for rpc in rpcs:
        method = service.methods_by_name[rpc.name]
        assert (method.input_type.name, method.output_type.name) == (rpc.request, rpc.response)


def test_unary_and_server_streaming_rpcs(compiled: Compiled) -> None:
    api = compiled.api
    service = compiled.pb2.DESCRIPTOR.services_by_name[f"{api.name.pascal}Service"]
    streaming = {event.rpc.name for event in api.events}
    for method in service.methods:
        shape = descriptor_pb2.MethodDescriptorProto()
        method.CopyToProto(shape)
        assert not shape.client_streaming
        assert shape.server_streaming == (method.name in streaming)
    stub = getattr(compiled.pb2_grpc, f"{api.name.pascal}ServiceStub")(
        grpc.insecure_channel("127.0.0.1:1")
    )
    for event in api.events:
        assert isinstance(getattr(stub, event.rpc.name), grpc.UnaryStreamMultiCallable)
    for op in api.operations:
        assert isinstance(getattr(stub, op.rpc.name), grpc.UnaryUnaryMultiCallable)


def test_enums_start_at_unspecified_zero(compiled: Compiled) -> None:
    for enum in compiled.api.enums:
        proto_enum = compiled.pb2.DESCRIPTOR.enum_types_by_name[enum.name.pascal]
        assert proto_enum.values_by_number[0].name == enum.proto_zero
        assert enum.proto_zero.endswith("_UNSPECIFIED")
        numbers = {v.name: v.number for v in proto_enum.values if v.number}
        assert numbers == {v.proto_name: v.number for v in enum.values}


def _messages(api: Api) -> list[tuple[str, Message]]:
    return [
        *((e.name.pascal, e.message) for e in api.entities),
        *((e.message.name.pascal, e.message) for e in api.events),
        *((op.rpc.request, op.input) for op in api.operations),
    ]


def test_message_fields_have_locked_numbers(compiled: Compiled) -> None:
    for name, message in _messages(compiled.api):
        proto = compiled.message_class(name).DESCRIPTOR
        assert [(f.name, f.number) for f in proto.fields] == [
            (f.proto_name, f.number) for f in message.fields
        ]
        for field in message.fields:
            proto_field = proto.fields_by_name[field.proto_name]
            assert proto_field.is_repeated == field.type.is_list
            if not field.type.is_list:
                assert proto_field.has_presence == (field.optional or field.type.name == "datetime")


def _fill(compiled: Compiled, target: ProtoMessage, field: Field) -> None:
    """Set `field` of `target` to a sample value of its type."""
    name, ref = field.proto_name, field.type
    if ref.name == "datetime":
        stamps = getattr(target, name)
        (stamps.add() if ref.is_list else stamps).FromSeconds(1_700_000_000)
        return
    if ref.kind == "enum":
        value: object = compiled.api.enum(ref.name).values[-1].number
    else:
        samples = {"int": -7, "float": 2.5, "bool": True, "bytes": b"\x00\xff"}
        value = samples.get(ref.name, f"sample {name} \u00e9")
    if ref.is_list:
        getattr(target, name).extend([value, value])
    else:
        setattr(target, name, value)


def test_messages_round_trip(compiled: Compiled) -> None:
    for name, message in _messages(compiled.api):
        cls = compiled.message_class(name)
        original = cls()
        for field in message.fields:
            _fill(compiled, original, field)
        decoded = cls.FromString(original.SerializeToString())
        assert decoded == original
        assert len(decoded.ListFields()) == len(message.fields)


def test_responses_wrap_outputs(compiled: Compiled) -> None:
    api = compiled.api
    for op in api.operations:
        fields = compiled.message_class(op.rpc.response).DESCRIPTOR.fields
        expected = {
            "none": [],
            "entity": [(op.rpc.response_field, 1, False)],
            "list": [(op.rpc.response_field, 1, True)],
            "page": [(op.rpc.response_field, 1, True), ("next_page_token", 2, False)],
        }[op.output.kind]
        assert [(f.name, f.number, f.is_repeated) for f in fields] == expected
        if fields:
            assert fields[0].message_type.name == api.entity(op.output.entity).name.pascal
    for event in api.events:
        request = compiled.message_class(event.rpc.request).DESCRIPTOR.fields_by_name
        assert request[event.key.proto_name].has_presence
        (wrapped,) = compiled.message_class(event.rpc.response).DESCRIPTOR.fields
        assert (wrapped.name, wrapped.message_type.name) == ("event", event.message.name.pascal)


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_emission_is_deterministic(path: Path) -> None:
    first, second = emit_proto(resolve(load_spec(path))), emit_proto(resolve(load_spec(path)))
    assert first == second
    assert first.endswith("}\n") and not first.endswith("\n\n")


def test_timestamp_imported_only_when_used() -> None:
    text = """
apigen: 1
name: notes
version: 2.1.0
entities:
  Note:
    description: A short note.
    fields: {id: id, body: string, tags: "[string]", stars: int?}
    operations: [get, delete]
"""
    api = resolve(parse_spec(text))
    proto = emit_proto(api)
    assert proto_path(api) == "proto/notes/v2/notes.proto"
    assert "package notes.v2;" in proto
    assert "import" not in proto
    assert "repeated string tags = 3;" in proto
    assert "optional int64 stars = 4;" in proto
    assert "message DeleteNoteResponse {}" in proto
    assert "service NotesService {" in proto
