"""Pydantic v2 models from the emitted OpenAPI document, by datamodel-code-generator.

The generator runs in-process, once, on the one document, without formatters (the
renderer formats every generated Python file in one batched ruff call at the end).

Dates, date-times and decimals travel as JSON strings of one form, but pydantic's lax mode
also reads `0` as 1970-01-01 and `1.5` as a decimal. So each such type in an annotation
becomes a text-checked alias (`DateTimeText`...) defined in the module: no silent coercion.
"""

from __future__ import annotations

import ast
import json
import warnings
from typing import Any

from ..contracts.openapi import DECIMAL_PATTERN

# The type datamodel-code-generator writes -> (its text-checked alias, the text form, named).
_TEXT_FORMS = {
    "AwareDatetime": (
        "DateTimeText",
        r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
        "an RFC 3339 date-time, e.g. 2030-05-17T09:00:00Z",
    ),
    "date": ("DateText", r"\d{4}-\d{2}-\d{2}", "an ISO 8601 date, e.g. 2030-05-17"),
    "Decimal": ("DecimalText", DECIMAL_PATTERN.strip("^$"), "a decimal string, e.g. 12.50"),
}

TEXT_TYPES = {"datetime": "DateTimeText", "date": "DateText", "Decimal": "DecimalText"}
"""The text-checked alias the generated models module defines for a parameter's type."""

_CHECK = '''
def _text_form(pattern: str, form: str) -> BeforeValidator:
    """Accept a string only in `pattern`'s form, and never a number."""
    matcher = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, int | float) or (isinstance(value, str) and not matcher.fullmatch(value)):
            raise ValueError(f"must be {form}")
        return value

    return BeforeValidator(check)
'''

_IMPORTS = """import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator
"""


def render_models(openapi_text: str, header: str) -> str:
    """The `models.py` module for the schemas of an OpenAPI document."""
    # Imported here: the generator is heavy and only `generate` needs it.
    from datamodel_code_generator import InputFileType, generate
    from datamodel_code_generator._format_types import PythonVersion
    from datamodel_code_generator.enums import DataModelType, OpenAPIScope, StrictTypes

    full: dict[str, Any] = json.loads(openapi_text)
    # Only the schemas make models: without the paths, the generator takes a tenth less time.
    document = {
        "openapi": full["openapi"],
        "info": full["info"],
        "paths": {},
        "components": {"schemas": full["components"]["schemas"]},
    }
    with warnings.catch_warnings():
        # e.g. "Pydantic does not take pattern on Decimal": the type itself validates it.
        warnings.simplefilter("ignore", UserWarning)
        output = generate(
            document,
            input_file_type=InputFileType.OpenAPI,
            output_model_type=DataModelType.PydanticV2BaseModel,
            target_python_version=PythonVersion.PY_311,
            openapi_scopes=[OpenAPIScope.Schemas],
            disable_timestamp=True,
            custom_file_header=header,
            formatters=[],
            use_standard_collections=True,
            use_union_operator=True,
            use_annotated=True,
            field_constraints=True,
            use_double_quotes=True,
            use_schema_description=True,
            use_field_description=True,
            use_subclass_enum=True,
            strict_nullable=True,
            set_default_enum_member=True,
            # No silent coercion: `false` is not `0`, `1` is not `"1"`.
            strict_types=[StrictTypes.str, StrictTypes.int, StrictTypes.bool],
        )
    if not isinstance(output, str):
        raise TypeError("datamodel-code-generator returned several modules; expected one")
    return _with_text_forms(output)


def _with_text_forms(source: str) -> str:
    """The module with the text-checked aliases, used for every date, date-time and decimal
    in a field's annotation (the REST adapter uses them for parameters too)."""
    tree = ast.parse(source)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    names = [
        name
        for cls in classes
        for statement in cls.body
        if isinstance(statement, ast.AnnAssign)
        for name in ast.walk(statement.annotation)
        if isinstance(name, ast.Name) and name.id in _TEXT_FORMS
    ]
    lines = source.splitlines(keepends=True)
    # Offsets are in UTF-8 bytes; replace from the end so earlier ones stay valid.
    for name in sorted(names, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        line = lines[name.lineno - 1].encode()
        alias = _TEXT_FORMS[name.id][0].encode()
        lines[name.lineno - 1] = (
            line[: name.col_offset] + alias + line[name.end_col_offset :]
        ).decode()
    aliases = [
        f'{alias} = Annotated[{base}, _text_form(r"{pattern}", "{form}")]\n'
        f'"""{base}, accepted only as {form}."""\n\n\n'
        for base, (alias, pattern, form) in _TEXT_FORMS.items()
    ]
    start = classes[0].lineno - 1 if classes else len(lines)
    future = next(i for i, line in enumerate(lines) if line.startswith("from __future__"))
    return "".join(
        [
            *lines[: future + 1],
            _IMPORTS,
            *lines[future + 1 : start],
            _CHECK,
            "\n\n",
            *aliases,
            *lines[start:],
        ]
    )
