"""`python -m apigen`."""

from .cli import main

main()
