"""Code renderers: the IR and contracts into Python files, through Jinja templates."""
