"""Loading and checking specs: YAML with positions, shape, meaning."""
