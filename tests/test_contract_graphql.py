"""The GraphQL contract: it builds with graphql-core and real queries validate against it."""

from __future__ import annotations

import graphql
import pytest

from apigen.contracts.graphql import emit_graphql
from apigen.ir import Api, Operation

from .conftest import ROOT, SPECS, api_of


def _schema(api: Api) -> graphql.GraphQLSchema:
    return graphql.build_schema(emit_graphql(api))


def _errors(schema: graphql.GraphQLSchema, query: str) -> list[str]:
    return [e.message for e in graphql.validate(schema, graphql.parse(query))]


def _selection(schema: graphql.GraphQLSchema, type_name: str) -> str:
    """Every scalar and enum field of an object type, selected."""
    type_ = schema.get_type(type_name)
    assert isinstance(type_, graphql.GraphQLObjectType)
    return " ".join(
        name
        for name, field in type_.fields.items()
        if graphql.is_leaf_type(graphql.get_named_type(field.type))
    )


def _ref_selection(api: Api, schema: graphql.GraphQLSchema, entity: str) -> str:
    """The leaf fields of an entity plus each reference resolved to its target's ids."""
    refs = [f for f in api.entity(entity).message.fields if f.type.is_ref]
    resolved = " ".join(f"{f.name.camel} {{ id }}" for f in refs)
    return f"{_selection(schema, api.entity(entity).name.pascal)} {resolved}"


def _default(arg: graphql.GraphQLArgument) -> object:
    """An argument's default value (graphql-core keeps the SDL's as an AST node)."""
    assert arg.ast_node and arg.ast_node.default_value
    return graphql.value_from_ast(arg.ast_node.default_value, arg.type)


def _first(api: Api, kind: str) -> Operation | None:
    return next((op for op in api.operations if op.kind == kind), None)


@pytest.fixture(params=SPECS, ids=[spec.stem for spec in SPECS])
def api(request: pytest.FixtureRequest) -> Api:
    return api_of(request.param)


def test_emitted_schema_builds_and_is_deterministic(api: Api) -> None:
    text = emit_graphql(api)
    assert text == emit_graphql(api)
    assert text.endswith("\n") and not text.endswith("\n\n")
    schema = graphql.build_schema(text)
    assert graphql.validate_schema(schema) == []
    assert schema.description and "errors[].extensions.code" in schema.description
    for error in api.errors:
        assert f"`{error.graphql_code}`: {error.message}" in schema.description


def test_list_query_with_paging_filters_and_resolved_references(api: Api) -> None:
    schema = _schema(api)
    op = _first(api, "list")
    if op is None:
        pytest.skip("no list operation")
    assert op.output.entity
    fields = _ref_selection(api, schema, op.output.entity)
    query = f"""
        query Page($after: String) {{
          {op.graphql.field}(first: 5, after: $after) {{
            edges {{ cursor node {{ {fields} }} }}
            nodes {{ id }}
            pageInfo {{ hasNextPage endCursor }}
          }}
        }}
    """
    assert _errors(schema, query) == []
    field = schema.query_type.fields[op.graphql.field] if schema.query_type else None
    assert field is not None
    assert _default(field.args["first"]) == 20
    assert str(field.args["first"].type) == "Int"
    assert str(field.args["after"].type) == "String"
    assert all(graphql.is_nullable_type(arg.type) for arg in field.args.values())


def test_get_query(api: Api) -> None:
    schema = _schema(api)
    op = _first(api, "get")
    if op is None:
        pytest.skip("no get operation")
    assert op.output.entity
    query = f"""
        query One($id: ID!) {{
          {op.graphql.field}(id: $id) {{ {_ref_selection(api, schema, op.output.entity)} }}
        }}
    """
    assert _errors(schema, query) == []


def test_mutation_with_input_variables(api: Api) -> None:
    schema = _schema(api)
    op = next((op for op in api.operations if op.graphql.input_type), None)
    if op is None:
        pytest.skip("no mutation with an input type")
    key = "idempotencyKey: $key" if op.idempotent else ""
    declared_key = ", $key: String" if op.idempotent else ""
    id_arg = "id: $id, " if op.kind == "update" else ""
    declared_id = "$id: ID!, " if op.kind == "update" else ""
    query = f"""
        mutation Change({declared_id}$input: {op.graphql.input_type}!{declared_key}) {{
          {op.graphql.field}({id_arg}input: $input {key}) {{ __typename }}
        }}
    """
    assert _errors(schema, query) == []


def test_subscription_per_event_keyed_and_unkeyed(api: Api) -> None:
    schema = _schema(api)
    if not api.events:
        assert schema.subscription_type is None
        return
    assert schema.subscription_type is not None
    for event in api.events:
        key = event.key.graphql_name
        selection = _selection(schema, event.message.name.pascal)
        for args in (f"({key}: $key)", ""):
            declared = (
                f"($key: {schema.subscription_type.fields[event.graphql_field].args[key].type})"
            )
            query = f"""
                subscription Watch{declared if args else ""} {{
                  {event.graphql_field}{args} {{ {selection} }}
                }}
            """
            assert _errors(schema, query) == []


def test_unknown_field_is_a_validation_error(api: Api) -> None:
    schema = _schema(api)
    op = _first(api, "get") or api.operations[0]
    errors = _errors(schema, f"{{ {op.graphql.field}Nope {{ id }} }}")
    assert errors and "Cannot query field" in errors[0]


def test_every_operation_is_a_root_field_listing_its_error_codes(api: Api) -> None:
    schema = _schema(api)
    for op in api.operations:
        root = schema.query_type if op.graphql.root == "Query" else schema.mutation_type
        assert root is not None
        field = root.fields[op.graphql.field]
        assert str(field.type) == op.graphql.result_type
        assert field.description
        for code in op.errors:
            assert f"`{api.error(code).graphql_code}`" in field.description
    assert (schema.mutation_type is None) == all(
        op.graphql.root == "Query" for op in api.operations
    )


def test_update_inputs_have_no_defaults(api: Api) -> None:
    """An omitted field of an update stays unchanged, so no default may fill it in."""
    schema = _schema(api)
    for op in api.operations:
        if op.kind == "update" and op.graphql.input_type:
            type_ = schema.get_type(op.graphql.input_type)
            assert isinstance(type_, graphql.GraphQLInputObjectType)
            assert "id" not in type_.fields
            for field in type_.fields.values():
                assert field.ast_node and field.ast_node.default_value is None
                assert graphql.is_nullable_type(field.type)


def test_enums_are_upper_case(api: Api) -> None:
    schema = _schema(api)
    for enum in api.enums:
        type_ = schema.get_type(enum.name.pascal)
        assert isinstance(type_, graphql.GraphQLEnumType)
        assert list(type_.values) == [v.graphql_name for v in enum.values]
        assert all(name == name.upper() for name in type_.values)


def test_booking_shape() -> None:
    schema = _schema(api_of(ROOT / "specs" / "booking.yaml"))

    def field(type_name: str, name: str) -> graphql.GraphQLField | graphql.GraphQLInputField:
        type_ = schema.get_type(type_name)
        assert isinstance(type_, graphql.GraphQLObjectType | graphql.GraphQLInputObjectType)
        return type_.fields[name]

    assert str(field("Appointment", "slotId").type) == "ID!"
    assert str(field("Appointment", "slot").type) == "Slot!"
    assert str(field("Appointment", "reason").type) == "String"
    assert str(field("Appointment", "status").type) == "AppointmentStatus!"
    assert str(field("Slot", "startsAt").type) == "DateTime!"
    assert str(field("AppointmentConnection", "edges").type) == "[AppointmentEdge!]!"
    assert str(field("AppointmentEdge", "node").type) == "Appointment!"
    assert str(field("PageInfo", "endCursor").type) == "String"
    assert str(field("BookAppointmentInput", "slotId").type) == "ID!"
    assert field("BookAppointmentInput", "reason").description == "At most 500 characters."
    assert str(field("AppointmentStatusChanged", "newStatus").type) == "AppointmentStatus!"
    status = schema.get_type("AppointmentStatus")
    assert isinstance(status, graphql.GraphQLEnumType)
    assert list(status.values) == ["CONFIRMED", "CANCELLED", "COMPLETED", "NO_SHOW"]

    assert schema.query_type and schema.mutation_type and schema.subscription_type
    appointments = schema.query_type.fields["appointments"]
    assert str(appointments.type) == "AppointmentConnection!"
    assert _default(appointments.args["first"]) == 20
    assert {"patientId", "providerId", "status"} <= set(appointments.args)
    assert str(schema.query_type.fields["appointment"].type) == "Appointment"
    assert str(schema.query_type.fields["appointment"].args["id"].type) == "ID!"
    book = schema.mutation_type.fields["bookAppointment"]
    assert {name: str(arg.type) for name, arg in book.args.items()} == {
        "input": "BookAppointmentInput!",
        "idempotencyKey": "String",
    }
    assert book.description and "`SLOT_UNAVAILABLE`" in book.description
    watch = schema.subscription_type.fields["appointmentStatusChanged"]
    assert str(watch.type) == "AppointmentStatusChanged!"
    assert str(watch.args["appointmentId"].type) == "ID"

    date_time = schema.get_type("DateTime")
    assert isinstance(date_time, graphql.GraphQLScalarType)
    assert date_time.specified_by_url and "rfc3339" in date_time.specified_by_url
    assert schema.get_type("Decimal") is None
