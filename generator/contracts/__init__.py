"""Contract emitters: each a pure function of the IR to text."""
