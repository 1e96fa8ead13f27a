"""Code renderers: the IR and contracts into Python files, through Jinja templates."""

from .service import render_service

__all__ = ["render_service"]
