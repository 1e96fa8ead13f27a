"""apigen: one domain spec in, contracts and a working service in six API styles out."""

__version__ = "0.1.0"
