"""User-owned files: created once by `apigen generate`, never overwritten, and checked.

The skeleton of `src/<package>/service.py` implements every operation with a
`NotImplementedError`; after that the file is the user's. `missing_methods` reads it back
(as text, never importing it) to name the operations it does not implement yet.
"""

from __future__ import annotations

import ast

from ..ir import Api
from ..writer import Plan
from .context import model_names, service_op, stdlib_types
from .environment import TEMPLATES, environment
from .format import format_python

USER_TEMPLATES = TEMPLATES / "user"


def service_module(api: Api) -> str:
    """The path of the user's service implementation."""
    return f"src/{api.name.snake}/service.py"


def render_user_files(api: Api) -> Plan:
    """The user-owned files of a new project, by path."""
    ops = [service_op(op) for op in api.operations]
    context = {
        "api": api,
        "ops": ops,
        "models": model_names(api, ops),
        "stdlib": stdlib_types(ops),
        "service_class": f"{api.name.pascal}Service",
        "implementation_class": api.name.pascal,
    }
    env = environment(USER_TEMPLATES)
    plan = {
        service_module(api): env.get_template("src/{{package}}/service.py.jinja").render(context)
    }
    return format_python(plan)


def service_methods(api: Api) -> dict[str, str]:
    """The signature of each method of the service interface, by method name."""
    return {s.method: s.signature for s in map(service_op, api.operations)}


def missing_methods(methods: dict[str, str], source: str) -> list[str]:
    """Signatures of the `methods` (see `service_methods`) no class in the user's service
    module implements yet.

    The implementation is the class defining the most of the methods; a module that does not
    parse (the user is mid-edit) or defines none is not judged.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    defined = [
        {n.name for n in node.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)}
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]
    best = max(defined, key=lambda names: len(names & methods.keys()), default=set())
    if not best & methods.keys():
        return []
    return [signature for method, signature in methods.items() if method not in best]
