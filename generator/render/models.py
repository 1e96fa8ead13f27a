"""Pydantic v2 models from the emitted OpenAPI document, by datamodel-code-generator.

The generator runs in-process, once, on the one document, without formatters (the
renderer formats every generated Python file in one batched ruff call at the end).
"""

from __future__ import annotations

import json
import warnings
from typing import Any


def render_models(openapi_text: str, header: str) -> str:
    """The `models.py` module for the schemas of an OpenAPI document."""
    # Imported here: the generator is heavy and only `generate` needs it.
    from datamodel_code_generator import InputFileType, generate
    from datamodel_code_generator._format_types import PythonVersion
    from datamodel_code_generator.enums import DataModelType, OpenAPIScope, StrictTypes

    document: dict[str, Any] = json.loads(openapi_text)
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
    return output
